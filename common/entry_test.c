/* entry_test.c: sealing and checking single entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "entry.h"

#include <sodium.h>

#include <stdlib.h>
#include <string.h>

/* Seals a device event at (epoch, seq) chained to prev. */
static uint8_t *seal_event(const keys_t *k, uint64_t epoch, uint64_t seq, const uint8_t *prev,
                           size_t *len, uint8_t hash[32])
{
    uint8_t id[DEVID_BYTES];
    devid_from_pk(k->sign_pk, id);
    Ft__DeviceEvent ev = FT__DEVICE_EVENT__INIT;
    ev.kind = FT__DEVICE_EVENT_KIND__DEVICE_STARTED;
    ev.detail = "test";
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_EVENT;
    body.event = &ev;
    Ft__Entry e = FT__ENTRY__INIT;
    e.device.data = id;
    e.device.len = DEVID_BYTES;
    e.epoch = epoch;
    e.seq = seq;
    e.hlc = 42;
    e.prev_hash.data = (uint8_t *)prev;
    e.prev_hash.len = 32;
    e.body = &body;
    uint8_t *out = NULL;
    assert_int_equal(entry_seal(&e, k, &out, len, hash), FT_OK);
    return out;
}

static entry_pos_t pos_for(const keys_t *k, uint64_t epoch, uint64_t seq, const uint8_t *prev)
{
    entry_pos_t p;
    devid_from_pk(k->sign_pk, p.device);
    p.epoch = epoch;
    p.seq = seq;
    memcpy(p.prev_hash, prev, 32);
    return p;
}

static void sealed_entry_opens_and_checks(void **state)
{
    (void)state;
    keys_t k;
    assert_int_equal(keys_generate(&k, false), FT_OK);
    uint8_t zero[32] = {0}, hash[32];
    size_t len;
    uint8_t *raw = seal_event(&k, 7, 1, zero, &len, hash);
    entry_view_t v;
    assert_int_equal(entry_open(raw, len, &v), FT_OK);
    assert_memory_equal(v.hash, hash, 32);
    entry_pos_t pos = pos_for(&k, 7, 1, zero);
    assert_int_equal(entry_check(&v, k.sign_pk, &pos), FT_OK);
    assert_string_equal(entry_body_kind(v.entry->body), "event");
    entry_pos_advance(&pos, &v);
    assert_int_equal(pos.seq, 2);
    assert_memory_equal(pos.prev_hash, hash, 32);
    entry_view_free(&v);
    free(raw);
}

static void each_flipped_byte_is_detected(void **state)
{
    (void)state;
    keys_t k;
    assert_int_equal(keys_generate(&k, false), FT_OK);
    uint8_t zero[32] = {0}, hash[32];
    size_t len;
    uint8_t *raw = seal_event(&k, 7, 1, zero, &len, hash);
    entry_pos_t pos = pos_for(&k, 7, 1, zero);
    for (size_t i = 0; i < len; i++) {
        raw[i] ^= 0x01;
        entry_view_t v;
        int err = entry_open(raw, len, &v);
        if (err == FT_OK) {
            err = entry_check(&v, k.sign_pk, &pos);
            entry_view_free(&v);
        }
        assert_int_not_equal(err, FT_OK);
        raw[i] ^= 0x01;
    }
    free(raw);
}

static void entry_signed_by_other_key_is_bad_signature(void **state)
{
    (void)state;
    keys_t k, other;
    assert_int_equal(keys_generate(&k, false), FT_OK);
    assert_int_equal(keys_generate(&other, false), FT_OK);
    uint8_t zero[32] = {0}, hash[32];
    size_t len;
    uint8_t *raw = seal_event(&k, 7, 1, zero, &len, hash);
    entry_view_t v;
    assert_int_equal(entry_open(raw, len, &v), FT_OK);
    entry_pos_t pos = pos_for(&k, 7, 1, zero);
    assert_int_equal(entry_check(&v, other.sign_pk, &pos), FT_EBADSIG);
    entry_pos_t wrong_device = pos_for(&other, 7, 1, zero);
    assert_int_equal(entry_check(&v, k.sign_pk, &wrong_device), FT_ESIGNER);
    entry_view_free(&v);
    free(raw);
}

static void wrong_position_is_named(void **state)
{
    (void)state;
    keys_t k;
    assert_int_equal(keys_generate(&k, false), FT_OK);
    uint8_t zero[32] = {0}, other[32], hash[32];
    memset(other, 9, sizeof other);
    size_t len;
    uint8_t *raw = seal_event(&k, 7, 2, zero, &len, hash);
    entry_view_t v;
    assert_int_equal(entry_open(raw, len, &v), FT_OK);
    entry_pos_t gap = pos_for(&k, 7, 1, zero);
    assert_int_equal(entry_check(&v, k.sign_pk, &gap), FT_EGAP);
    entry_pos_t chain = pos_for(&k, 7, 2, other);
    assert_int_equal(entry_check(&v, k.sign_pk, &chain), FT_ECHAIN);
    entry_pos_t epoch = pos_for(&k, 8, 2, zero);
    assert_int_equal(entry_check(&v, k.sign_pk, &epoch), FT_EPROTO);
    entry_view_free(&v);
    free(raw);
}

static void garbage_and_truncation_are_corrupt(void **state)
{
    (void)state;
    keys_t k;
    assert_int_equal(keys_generate(&k, false), FT_OK);
    uint8_t zero[32] = {0}, hash[32];
    size_t len;
    uint8_t *raw = seal_event(&k, 7, 1, zero, &len, hash);
    entry_view_t v;
    for (size_t cut = 0; cut < len; cut++) {
        int err = entry_open(raw, cut, &v);
        if (err == FT_OK) {
            entry_view_free(&v);
        }
        assert_int_equal(err, FT_ECORRUPT);
    }
    uint8_t junk[64];
    memset(junk, 0xff, sizeof junk);
    assert_int_equal(entry_open(junk, sizeof junk, &v), FT_ECORRUPT);
    free(raw);
}

static void domain_separation_changes_hash(void **state)
{
    (void)state;
    uint8_t a[32], b[32], plain[32];
    const uint8_t msg[] = "abc";
    entry_hash(msg, 3, a);
    entry_hash(msg, 2, b);
    assert_memory_not_equal(a, b, 32);
    crypto_generichash(plain, 32, msg, 3, NULL, 0);
    assert_memory_not_equal(a, plain, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sealed_entry_opens_and_checks),
        cmocka_unit_test(each_flipped_byte_is_detected),
        cmocka_unit_test(entry_signed_by_other_key_is_bad_signature),
        cmocka_unit_test(wrong_position_is_named),
        cmocka_unit_test(garbage_and_truncation_are_corrupt),
        cmocka_unit_test(domain_separation_changes_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
