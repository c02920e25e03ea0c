/* bundlefmt_test.c: frames, manifest signatures, safe paths and the ustar
 * writer and reader of the bundle format (bundlefmt.h). */
#include "bundlefmt.h"
#include "fsutil.h"
#include "testutil.h"

#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_frames_round_trip_and_truncation_is_corrupt(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(bframe_write(f, (const uint8_t *)"abc", 3), FT_OK);
    assert_int_equal(bframe_write(f, (const uint8_t *)"", 0), FT_OK);
    assert_int_equal(bframe_write(f, (const uint8_t *)"hello", 5), FT_OK);
    fclose(f);
    assert_int_equal(len, 4 + 3 + 4 + 4 + 5);
    bframe_reader_t r = {.p = (const uint8_t *)buf, .n = len};
    const uint8_t *p;
    size_t n;
    assert_int_equal(bframe_next(&r, &p, &n), 1);
    assert_memory_equal(p, "abc", 3);
    assert_int_equal(bframe_next(&r, &p, &n), 1);
    assert_int_equal(n, 0);
    assert_int_equal(bframe_next(&r, &p, &n), 1);
    assert_int_equal(n, 5);
    assert_int_equal(bframe_next(&r, &p, &n), 0);
    bframe_reader_t t = {.p = (const uint8_t *)buf, .n = len - 1};
    assert_int_equal(bframe_next(&t, &p, &n), 1);
    assert_int_equal(bframe_next(&t, &p, &n), 1);
    assert_int_equal(bframe_next(&t, &p, &n), FT_ECORRUPT);
    free(buf);
}

static void test_manifest_signature_fails_on_any_change(void **state)
{
    (void)state;
    uint8_t pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    const char *m = "{\"format\":\"fieldtrail-bundle/1\"}";
    char sig[BUNDLE_SIG_HEX];
    assert_int_equal(bundle_sign(BUNDLE_DOMAIN, (const uint8_t *)m, strlen(m), sk, sig), FT_OK);
    assert_int_equal(
        bundle_sig_check(BUNDLE_DOMAIN, (const uint8_t *)m, strlen(m), pk, sig, strlen(sig)),
        FT_OK);
    char with_nl[BUNDLE_SIG_HEX + 2];
    snprintf(with_nl, sizeof with_nl, "%s\n", sig);
    assert_int_equal(bundle_sig_check(BUNDLE_DOMAIN, (const uint8_t *)m, strlen(m), pk, with_nl,
                                      strlen(with_nl)),
                     FT_OK);
    const char *m2 = "{\"format\":\"fieldtrail-bundle/2\"}";
    assert_int_equal(
        bundle_sig_check(BUNDLE_DOMAIN, (const uint8_t *)m2, strlen(m2), pk, sig, strlen(sig)),
        FT_EBADSIG);
    /* A bundle signature is no archive signature (domain separation). */
    assert_int_equal(
        bundle_sig_check(ARCHIVE_DOMAIN, (const uint8_t *)m, strlen(m), pk, sig, strlen(sig)),
        FT_EBADSIG);
    assert_int_equal(bundle_sig_check(BUNDLE_DOMAIN, (const uint8_t *)m, strlen(m), pk, "zz", 2),
                     FT_EINVAL);
}

static void test_only_safe_relative_paths_are_accepted(void **state)
{
    (void)state;
    assert_true(bundle_path_ok("logs/A-1.log"));
    assert_true(bundle_path_ok("media/ab.mp4"));
    assert_true(bundle_path_ok("cases/南大港-031/bundle.json"));
    assert_false(bundle_path_ok(""));
    assert_false(bundle_path_ok("/etc/passwd"));
    assert_false(bundle_path_ok("../x"));
    assert_false(bundle_path_ok("a/../x"));
    assert_false(bundle_path_ok("a//x"));
    assert_false(bundle_path_ok("a/./x"));
    assert_false(bundle_path_ok("a/"));
    assert_false(bundle_path_ok("a\nb"));
}

static void write_file(const char *dir, const char *rel, const char *text)
{
    char path[1024], d[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    snprintf(d, sizeof d, "%s", path);
    *strrchr(d, '/') = '\0';
    assert_int_equal(fsutil_mkdirs(d, 0755), FT_OK);
    assert_int_equal(fsutil_write_atomic(path, text, strlen(text), 0644), FT_OK);
}

static void test_tar_written_reads_back_like_the_directory(void **state)
{
    (void)state;
    char dir[512], tar[600];
    testutil_tmpdir(dir, sizeof dir, "bundlefmt");
    write_file(dir, "bundle.json", "{}");
    write_file(dir, "logs/one.log", "0123456789");
    char longname[300];
    snprintf(longname, sizeof longname, "media/%0120d/clip.mp4", 7);
    write_file(dir, longname, "video bytes");
    write_file(dir, "empty.txt", "");
    snprintf(tar, sizeof tar, "%s.tar", dir);
    const char *names[] = {"bundle.json", "logs/one.log", longname, "empty.txt"};
    assert_int_equal(btar_write(tar, dir, names, 4), FT_OK);
    bsrc_t *a = NULL, *b = NULL;
    assert_int_equal(bsrc_open(dir, &a), FT_OK);
    assert_int_equal(bsrc_open(tar, &b), FT_OK);
    assert_int_equal(bsrc_count(a), 4);
    assert_int_equal(bsrc_count(b), 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(bsrc_name(a, i), bsrc_name(b, i));
        assert_int_equal(bsrc_size(a, i), bsrc_size(b, i));
        uint8_t ha[32], hb[32];
        assert_int_equal(bsrc_hash(a, i, ha), FT_OK);
        assert_int_equal(bsrc_hash(b, i, hb), FT_OK);
        assert_memory_equal(ha, hb, 32);
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(bsrc_read(b, "logs/one.log", &buf, &len), FT_OK);
    assert_int_equal(len, 10);
    assert_memory_equal(buf, "0123456789", 10);
    free(buf);
    assert_int_equal(bsrc_read(b, "nope", &buf, &len), FT_ENOTFOUND);
    bsrc_destroy(&a);
    bsrc_destroy(&b);
    bsrc_destroy(&b);
    /* A damaged header is refused. */
    FILE *f = fopen(tar, "r+b");
    assert_non_null(f);
    fseek(f, 10, SEEK_SET);
    fputc('X', f);
    fclose(f);
    assert_int_equal(bsrc_open(tar, &b), FT_ECORRUPT);
    testutil_rmrf(dir);
    remove(tar);
}

int main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_round_trip_and_truncation_is_corrupt),
        cmocka_unit_test(test_manifest_signature_fails_on_any_change),
        cmocka_unit_test(test_only_safe_relative_paths_are_accepted),
        cmocka_unit_test(test_tar_written_reads_back_like_the_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
