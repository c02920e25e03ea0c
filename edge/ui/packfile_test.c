/* packfile_test.c: the hub's rule pack as the vehicle keeps it
 * (edge/ui/packfile.h): kept only when the hub's signature verifies, read
 * back byte for byte, refused once a byte of it is changed or when another
 * key signed it, and not rewritten when the same pack comes again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fsutil.h"
#include "packfile.h"
#include "testutil.h"
#include "wire.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    /* a signature by another key: nothing kept */
    assert_int_equal(packfile_store(dir, (const uint8_t *)PACK, strlen(PACK), sig, pk2, &changed),
                     FT_EBADSIG);
    assert_int_equal(packfile_read(dir, pk, &text), FT_ENOTFOUND);
    assert_int_equal(packfile_store(dir, (const uint8_t *)PACK, strlen(PACK), sig, pk, &changed),
                     FT_OK);
    assert_true(changed);
    assert_int_equal(packfile_store(dir, (const uint8_t *)PACK, strlen(PACK), sig, pk, &changed),
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kept_read_tampered_and_other_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
