/* keys_test.c: key files, key consistency checks, device ID text form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fsutil.h"
#include "keys.h"
#include "testutil.h"

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void keys_saved_then_loaded_are_identical(void **state)
{
    (void)state;
    char dir[512], path[600];
    testutil_tmpdir(dir, sizeof dir, "keys");
    snprintf(path, sizeof path, "%s/device.key", dir);
    keys_t a, b;
    assert_int_equal(keys_generate(&a, true), FT_OK);
    assert_int_equal(keys_save(&a, path), FT_OK);
    assert_int_equal(keys_load(&b, path), FT_OK);
    assert_memory_equal(&a, &b, sizeof a);
    testutil_rmrf(dir);
}

static void secret_key_file_has_mode_0600(void **state)
{
    (void)state;
    char dir[512], path[600];
    testutil_tmpdir(dir, sizeof dir, "keys");
    snprintf(path, sizeof path, "%s/device.key", dir);
    keys_t a;
    assert_int_equal(keys_generate(&a, false), FT_OK);
    assert_int_equal(keys_save(&a, path), FT_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    testutil_rmrf(dir);
}

static void public_file_holds_no_secret(void **state)
{
    (void)state;
    char dir[512], path[600];
    testutil_tmpdir(dir, sizeof dir, "keys");
    snprintf(path, sizeof path, "%s/device.pub", dir);
    keys_t a, b;
    assert_int_equal(keys_generate(&a, false), FT_OK);
    assert_int_equal(keys_save_public(&a, path), FT_OK);
    char *text = NULL;
    assert_int_equal(fsutil_read_all(path, &text, NULL), FT_OK);
    assert_null(strstr(text, "secret ="));
    free(text);
    assert_int_equal(keys_load(&b, path), FT_EKEY);
    testutil_rmrf(dir);
}

static void mismatched_public_key_is_refused(void **state)
{
    (void)state;
    char dir[512], path[600];
    testutil_tmpdir(dir, sizeof dir, "keys");
    snprintf(path, sizeof path, "%s/device.key", dir);
    keys_t a, other, b;
    assert_int_equal(keys_generate(&a, false), FT_OK);
    assert_int_equal(keys_generate(&other, false), FT_OK);
    memcpy(a.sign_pk, other.sign_pk, 32);
    assert_int_equal(keys_save(&a, path), FT_OK);
    assert_int_equal(keys_load(&b, path), FT_EKEY);
    testutil_rmrf(dir);
}

static void missing_key_file_is_not_found(void **state)
{
    (void)state;
    keys_t b;
    assert_int_equal(keys_load(&b, "/nonexistent/fieldtrail/device.key"), FT_ENOTFOUND);
}

static void device_id_text_round_trips_and_forgives_case(void **state)
{
    (void)state;
    keys_t a;
    assert_int_equal(keys_generate(&a, false), FT_OK);
    uint8_t id[DEVID_BYTES], back[DEVID_BYTES];
    char text[DEVID_TEXT_SIZE];
    devid_from_pk(a.sign_pk, id);
    devid_format(id, text);
    assert_int_equal(strlen(text), 24);
    assert_int_equal(text[4], '-');
    assert_int_equal(devid_parse(text, back), FT_OK);
    assert_memory_equal(id, back, DEVID_BYTES);
    for (char *p = text; *p; p++) {
        if (*p >= 'A' && *p <= 'Z') {
            *p = (char)(*p - 'A' + 'a');
        }
    }
    assert_int_equal(devid_parse(text, back), FT_OK);
    assert_memory_equal(id, back, DEVID_BYTES);
}

static void mistyped_device_id_fails_checksum(void **state)
{
    (void)state;
    int caught = 0;
    for (int trial = 0; trial < 50; trial++) {
        keys_t a;
        assert_int_equal(keys_generate(&a, false), FT_OK);
        uint8_t id[DEVID_BYTES], back[DEVID_BYTES];
        char text[DEVID_TEXT_SIZE];
        devid_from_pk(a.sign_pk, id);
        devid_format(id, text);
        text[0] = text[0] == 'X' ? 'Y' : 'X';
        if (devid_parse(text, back) == FT_EINVAL) {
            caught++;
        }
    }
    assert_true(caught >= 49); /* 20 check bits: a miss is ~1 in a million */
    uint8_t back[DEVID_BYTES];
    assert_int_equal(devid_parse("ABCD-EFGH", back), FT_EINVAL);
    assert_int_equal(devid_parse("ABCD-EFGH-JKMN-PQRS-TVW!", back), FT_EINVAL);
}

/* The check symbols of IDs that share a slot of the kept ones (same first
 * and last byte), formatted in turn and again: each as computed afresh. */
static void device_ids_sharing_a_kept_slot_keep_their_own_check(void **state)
{
    (void)state;
    static const char crock[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < 40; k++) {
            uint8_t id[DEVID_BYTES], back[DEVID_BYTES];
            randombytes_buf(id, sizeof id);
            id[0] = 0x11;
            id[DEVID_BYTES - 1] = 0x22;
            id[4] = (uint8_t)k; /* differs only inside */
            char text[DEVID_TEXT_SIZE], again[DEVID_TEXT_SIZE];
            devid_format(id, text);
            devid_format(id, again);
            assert_string_equal(text, again);
            uint8_t h[16];
            crypto_generichash(h, sizeof h, id, DEVID_BYTES, (const uint8_t *)"ftchk", 5);
            uint32_t v = ((uint32_t)h[0] << 12) | ((uint32_t)h[1] << 4) | (h[2] >> 4);
            char want[5] = {crock[(v >> 15) & 31], crock[(v >> 10) & 31], crock[(v >> 5) & 31],
                            crock[v & 31], 0};
            assert_memory_equal(text + 20, want, 4);
            assert_int_equal(devid_parse(text, back), FT_OK);
            assert_memory_equal(id, back, DEVID_BYTES);
            text[20] = text[20] == 'X' ? 'Y' : 'X'; /* a wrong check symbol */
            assert_int_equal(devid_parse(text, back), FT_EINVAL);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_saved_then_loaded_are_identical),
        cmocka_unit_test(secret_key_file_has_mode_0600),
        cmocka_unit_test(public_file_holds_no_secret),
        cmocka_unit_test(mismatched_public_key_is_refused),
        cmocka_unit_test(missing_key_file_is_not_found),
        cmocka_unit_test(device_id_text_round_trips_and_forgives_case),
        cmocka_unit_test(mistyped_device_id_fails_checksum),
        cmocka_unit_test(device_ids_sharing_a_kept_slot_keep_their_own_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
