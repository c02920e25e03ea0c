/* packfile_test.c: the hub's rule pack as the vehicle keeps it
 * (edge/ui/packfile.h): kept only when the hub's signature verifies, read
 * back byte for byte, refused once a byte of it is changed or when another
 * key signed it, and not rewritten when the same pack comes again; a pack
 * that comes tampered, unsigned, empty or too large, or that cannot be
 * written, is refused with a reason and the one kept before stays, byte for
 * byte, with no temporary file left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fsutil.h"
#include "packfile.h"
#include "testutil.h"
#include "wire.h"

#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char PACK[] = "rule: 13\nkind: readiness\napplies to: recorder_checkout\n"
                           "min battery: 50%\nmin free mb: 1024\narticle: 12\nseverity: medium\n"
                           "zh: 电量不足\nen: battery low\n";

static void kept_read_tampered_and_other_key(void **state)
{
    (void)state;
    char dir[512];
    testutil_tmpdir(dir, sizeof dir, "packfile");
    uint8_t pk[32], sk[64], pk2[32], sk2[64], sig[64];
    crypto_sign_keypair(pk, sk);
    crypto_sign_keypair(pk2, sk2);
    assert_int_equal(wire_pack_sign((const uint8_t *)PACK, strlen(PACK), sk, sig), FT_OK);
    char *text = NULL;
    assert_int_equal(packfile_read(dir, pk, &text), FT_ENOTFOUND);
    bool changed = false;
    char why[512];
    /* a signature by another key: nothing kept */
    assert_int_equal(packfile_store(dir, (const uint8_t *)PACK, strlen(PACK), sig, pk2, &changed,
                                    why, sizeof why),
                     FT_EBADSIG);
    assert_int_equal(packfile_read(dir, pk, &text), FT_ENOTFOUND);
    assert_int_equal(packfile_store(dir, (const uint8_t *)PACK, strlen(PACK), sig, pk, &changed,
                                    why, sizeof why),
                     FT_OK);
    assert_true(changed);
    assert_int_equal(packfile_store(dir, (const uint8_t *)PACK, strlen(PACK), sig, pk, &changed,
                                    why, sizeof why),
                     FT_OK);
    assert_false(changed);
    assert_int_equal(packfile_read(dir, pk, &text), FT_OK);
    assert_string_equal(text, PACK);
    free(text);
    /* the hub the link knows now has another key: not used */
    assert_int_equal(packfile_read(dir, pk2, &text), FT_EBADSIG);
    /* one byte changed: not used */
    char path[600], *buf = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", dir, PACKFILE_NAME);
    assert_int_equal(fsutil_read_all(path, &buf, &len), FT_OK);
    char *at = strstr(buf, "50%");
    assert_non_null(at);
    at[0] = '1';
    assert_int_equal(fsutil_write_atomic(path, buf, len, 0600), FT_OK);
    assert_int_equal(packfile_read(dir, pk, &text), FT_EBADSIG);
    assert_int_equal(fsutil_write_atomic(path, "rule: 1\n", 8, 0600), FT_OK);
    assert_int_equal(packfile_read(dir, pk, &text), FT_ECORRUPT);
    free(buf);
    testutil_rmrf(dir);
}

/* The kept file's bytes (caller frees). */
static char *kept(const char *dir, size_t *len)
{
    char path[600], *buf = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, PACKFILE_NAME);
    assert_int_equal(fsutil_read_all(path, &buf, len), FT_OK);
    return buf;
}

/* Only the kept file is in dir: no temporary file left. */
static void only_the_file(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        assert_string_equal(e->d_name, PACKFILE_NAME);
        n++;
    }
    closedir(d);
    assert_int_equal(n, 1);
}

/* After a good pack, every refused one leaves it as it was, says why, and
 * what stays in use; a newer signed pack replaces it whole, mode 0600. */
static void refused_packs_keep_the_previous_one(void **state)
{
    (void)state;
    char dir[512];
    testutil_tmpdir(dir, sizeof dir, "packfile-keep");
    uint8_t pk[32], sk[64], pk2[32], sk2[64], sig[64], sig2[64];
    crypto_sign_keypair(pk, sk);
    crypto_sign_keypair(pk2, sk2);
    const uint8_t *text = (const uint8_t *)PACK;
    size_t len = strlen(PACK);
    assert_int_equal(wire_pack_sign(text, len, sk, sig), FT_OK);
    bool changed = false;
    char why[512];
    assert_int_equal(packfile_store(dir, text, len, sig, pk, &changed, why, sizeof why), FT_OK);
    assert_true(changed);
    assert_string_equal(why, "");
    size_t before_len = 0;
    char *before = kept(dir, &before_len);
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, PACKFILE_NAME);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* tampered on the way: one byte of the text changed */
    char *bad = strdup(PACK);
    assert_non_null(bad);
    *strstr(bad, "50%") = '1';
    assert_int_equal(
        packfile_store(dir, (const uint8_t *)bad, len, sig, pk, &changed, why, sizeof why),
        FT_EBADSIG);
    assert_false(changed);
    assert_non_null(strstr(why, "the hub's rule pack is not kept"));
    assert_non_null(strstr(why, "signature does not verify"));
    assert_non_null(strstr(why, "the pack kept before"));
    /* a signature by another hub's key, over the changed text */
    assert_int_equal(wire_pack_sign((const uint8_t *)bad, len, sk2, sig2), FT_OK);
    assert_int_equal(
        packfile_store(dir, (const uint8_t *)bad, len, sig2, pk, &changed, why, sizeof why),
        FT_EBADSIG);
    /* unsigned */
    assert_int_equal(
        packfile_store(dir, (const uint8_t *)bad, len, NULL, pk, &changed, why, sizeof why),
        FT_EBADSIG);
    assert_non_null(strstr(why, "without the hub's signature"));
    /* an all-zero signature is no signature either */
    uint8_t zero[64] = {0};
    assert_int_equal(
        packfile_store(dir, (const uint8_t *)bad, len, zero, pk, &changed, why, sizeof why),
        FT_EBADSIG);
    /* empty, and too large (even if signed) */
    assert_int_equal(wire_pack_sign(text, 0, sk, sig2), FT_OK);
    assert_int_equal(packfile_store(dir, text, 0, sig2, pk, &changed, why, sizeof why), FT_EINVAL);
    assert_non_null(strstr(why, "empty"));
    size_t big_len = WIRE_MAX_RULE_PACK + 1;
    uint8_t *big = malloc(big_len);
    assert_non_null(big);
    memset(big, '#', big_len);
    assert_int_equal(wire_pack_sign(big, big_len, sk, sig2), FT_OK);
    assert_int_equal(packfile_store(dir, big, big_len, sig2, pk, &changed, why, sizeof why),
                     FT_EINVAL);
    assert_non_null(strstr(why, "larger than"));
    free(big);
    size_t now_len = 0;
    char *now = kept(dir, &now_len);
    assert_int_equal(now_len, before_len);
    assert_memory_equal(now, before, before_len);
    free(now);
    only_the_file(dir);

    /* a write that fails (its temporary file's name is taken by a
     * directory): the previous pack stays whole */
    static const char NEWER[] = "rule: 13\nkind: readiness\napplies to: recorder_checkout\n"
                                "min battery: 60%\nmin free mb: 1024\narticle: 12\n"
                                "severity: medium\nzh: 电量不足\nen: battery low\n";
    uint8_t sig3[64];
    assert_int_equal(wire_pack_sign((const uint8_t *)NEWER, strlen(NEWER), sk, sig3), FT_OK);
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    assert_int_equal(mkdir(tmp, 0700), 0);
    assert_int_not_equal(packfile_store(dir, (const uint8_t *)NEWER, strlen(NEWER), sig3, pk,
                                        &changed, why, sizeof why),
                         FT_OK);
    assert_false(changed);
    assert_non_null(strstr(why, "cannot write"));
    assert_int_equal(rmdir(tmp), 0);
    now = kept(dir, &now_len);
    assert_int_equal(now_len, before_len);
    assert_memory_equal(now, before, before_len);
    free(now);
    only_the_file(dir);

    /* a newer signed pack replaces it whole */
    assert_int_equal(packfile_store(dir, (const uint8_t *)NEWER, strlen(NEWER), sig3, pk, &changed,
                                    why, sizeof why),
                     FT_OK);
    assert_true(changed);
    char *got = NULL;
    assert_int_equal(packfile_read(dir, pk, &got), FT_OK);
    assert_string_equal(got, NEWER);
    free(got);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    only_the_file(dir);
    free(bad);
    free(before);
    testutil_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kept_read_tampered_and_other_key),
        cmocka_unit_test(refused_packs_keep_the_previous_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
