/* entry_test.c: sealing and checking single entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bodyjson.h"
#include "entry.h"

#include <sodium.h>

#include <stdlib.h>
#include <string.h>

/* Seals a device event at (epoch, seq) chained to prev. */
static uint8_t *seal_detail(const keys_t *k, uint64_t epoch, uint64_t seq, const uint8_t *prev,
                            const char *detail, size_t *len, uint8_t hash[32]);

static uint8_t *seal_event(const keys_t *k, uint64_t epoch, uint64_t seq, const uint8_t *prev,
                           size_t *len, uint8_t hash[32])
{
    return seal_detail(k, epoch, seq, prev, "test", len, hash);
}

static uint8_t *seal_detail(const keys_t *k, uint64_t epoch, uint64_t seq, const uint8_t *prev,
                            const char *detail, size_t *len, uint8_t hash[32])
{
    uint8_t id[DEVID_BYTES];
    devid_from_pk(k->sign_pk, id);
    Ft__DeviceEvent ev = FT__DEVICE_EVENT__INIT;
    ev.kind = FT__DEVICE_EVENT_KIND__DEVICE_STARTED;
    ev.detail = (char *)detail;
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

/* entry_decode: the same entry as entry_open, without its hash; what
 * entry_open refuses it refuses. */
static void decoding_without_the_hash_gives_the_same_entry(void **state)
{
    (void)state;
    keys_t k;
    assert_int_equal(keys_generate(&k, false), FT_OK);
    uint8_t zero[32] = {0}, hash[32];
    size_t len;
    uint8_t *raw = seal_event(&k, 7, 3, zero, &len, hash);
    entry_view_t a, b;
    assert_int_equal(entry_open(raw, len, &a), FT_OK);
    assert_int_equal(entry_decode(raw, len, &b), FT_OK);
    assert_memory_equal(b.hash, zero, 32);
    assert_int_equal(b.entry->seq, a.entry->seq);
    assert_int_equal(b.entry->epoch, a.entry->epoch);
    assert_memory_equal(b.entry->device.data, a.entry->device.data, DEVID_BYTES);
    assert_string_equal(entry_body_kind(b.entry->body), entry_body_kind(a.entry->body));
    entry_view_free(&a);
    entry_view_free(&b);
    for (size_t cut = 0; cut < len; cut++) {
        assert_int_equal(entry_decode(raw, cut, &b), FT_ECORRUPT);
    }
    assert_int_equal(entry_decode(raw, ENTRY_MAX_BYTES + 1, &b), FT_EINVAL);
    free(raw);
}

/* Entries decoded one after the other into an arena, small and large (a
 * large one on its own, many small ones over several blocks): each the
 * entry entry_open gives; a reset makes room again; a corrupt one is
 * refused as by entry_open. */
static void entries_decoded_into_an_arena(void **state)
{
    (void)state;
    keys_t k;
    assert_int_equal(keys_generate(&k, false), FT_OK);
    uint8_t zero[32] = {0}, hash[32];
    static char big[100000];
    memset(big, 'b', sizeof big - 1);
    entry_arena_t a = {0};
    for (int round = 0; round < 2; round++) {
        entry_view_t views[300];
        uint8_t *raws[300];
        for (uint64_t i = 0; i < 300; i++) {
            char detail[64];
            snprintf(detail, sizeof detail, "event %llu", (unsigned long long)i);
            size_t len;
            raws[i] = seal_detail(&k, 7, i + 1, zero, i % 100 == 5 ? big : detail, &len, hash);
            assert_int_equal(entry_decode_in(&a, raws[i], len, &views[i]), FT_OK);
            assert_true(views[i].in_arena);
        }
        /* all still valid until the reset */
        for (uint64_t i = 0; i < 300; i++) {
            assert_int_equal(views[i].entry->seq, i + 1);
            const char *d = views[i].entry->body->event->detail;
            if (i % 100 == 5) {
                assert_int_equal(strlen(d), sizeof big - 1);
            } else {
                char want[64];
                snprintf(want, sizeof want, "event %llu", (unsigned long long)i);
                assert_string_equal(d, want);
            }
            entry_view_free(&views[i]);
            assert_null(views[i].entry);
            free(raws[i]);
        }
        assert_true(a.n_spill > 0);
        entry_arena_reset(&a);
        assert_int_equal(a.n_spill, 0);
        assert_int_equal(a.used, 0);
    }
    size_t len;
    uint8_t *raw = seal_event(&k, 7, 1, zero, &len, hash);
    entry_view_t v;
    for (size_t cut = 0; cut < len; cut++) {
        assert_int_equal(entry_decode_in(&a, raw, cut, &v), FT_ECORRUPT);
    }
    assert_int_equal(entry_decode_in(&a, raw, ENTRY_MAX_BYTES + 1, &v), FT_EINVAL);
    free(raw);
    entry_arena_free(&a);
    assert_null(a.buf);
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

/* A batch of alert events (AlertEvents) sealed, opened and read back with
 * the readers' accessors, event by event in order; the old single-event
 * form reads as a batch of one; other bodies hold none; bodyjson and the
 * one-line summary show the batch. */
static void alert_events_read_in_both_forms(void **state)
{
    (void)state;
    keys_t k;
    assert_int_equal(keys_generate(&k, false), FT_OK);
    uint8_t id[DEVID_BYTES];
    devid_from_pk(k.sign_pk, id);
    Ft__AlertEvent ae[3];
    Ft__AlertEvent *ptr[3];
    const char *ids[3] = {"a1", "a2", "a3"}, *states[3] = {"open", "resolved", "justified"};
    for (int i = 0; i < 3; i++) {
        ft__alert_event__init(&ae[i]);
        ae[i].alert_id = (char *)ids[i];
        ae[i].rule = "5";
        ae[i].state = (char *)states[i];
        ae[i].case_id = i == 1 ? NULL : "C-9";
        ae[i].detail_json = "{}";
        ptr[i] = &ae[i];
    }
    Ft__AlertEvents batch = FT__ALERT_EVENTS__INIT;
    batch.n_events = 3;
    batch.events = ptr;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_ALERTS;
    body.alerts = &batch;
    uint8_t prev[32] = {0}, hash[32];
    Ft__Entry e = FT__ENTRY__INIT;
    e.device.data = id;
    e.device.len = DEVID_BYTES;
    e.epoch = 1;
    e.seq = 1;
    e.hlc = 42;
    e.prev_hash.data = prev;
    e.prev_hash.len = 32;
    e.body = &body;
    uint8_t *raw = NULL;
    size_t len = 0;
    assert_int_equal(entry_seal(&e, &k, &raw, &len, hash), FT_OK);
    entry_view_t v;
    assert_int_equal(entry_open(raw, len, &v), FT_OK);
    entry_pos_t pos = pos_for(&k, 1, 1, prev);
    assert_int_equal(entry_check(&v, k.sign_pk, &pos), FT_OK);
    const Ft__Body *b = v.entry->body;
    assert_string_equal(entry_body_kind(b), "alerts");
    assert_int_equal(entry_alert_count(b), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(entry_alert_at(b, i)->alert_id, ids[i]);
        assert_string_equal(entry_alert_at(b, i)->state, states[i]);
    }
    assert_null(entry_alert_at(b, 3));
    json_t *j = body_to_json(b);
    assert_int_equal(json_array_size(json_object_get(j, "events")), 3);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "events"), 2), "state")),
                        "justified");
    assert_null(json_object_get(json_array_get(json_object_get(j, "events"), 1), "case"));
    json_decref(j);
    char line[128];
    body_summary(b, line, sizeof line);
    assert_string_equal(line, "alerts: 3 events");
    entry_view_free(&v);
    free(raw);
    /* the form before batches: one event */
    Ft__Body one = FT__BODY__INIT;
    one.kind_case = FT__BODY__KIND_ALERT;
    one.alert = &ae[1];
    assert_int_equal(entry_alert_count(&one), 1);
    assert_ptr_equal(entry_alert_at(&one, 0), &ae[1]);
    assert_null(entry_alert_at(&one, 1));
    /* every other body: none */
    Ft__DeviceEvent dev = FT__DEVICE_EVENT__INIT;
    Ft__Body other = FT__BODY__INIT;
    other.kind_case = FT__BODY__KIND_EVENT;
    other.event = &dev;
    assert_int_equal(entry_alert_count(&other), 0);
    assert_null(entry_alert_at(&other, 0));
    assert_int_equal(entry_alert_count(NULL), 0);
    Ft__AlertEvents empty = FT__ALERT_EVENTS__INIT;
    Ft__Body none = FT__BODY__INIT;
    none.kind_case = FT__BODY__KIND_ALERTS;
    none.alerts = &empty;
    assert_int_equal(entry_alert_count(&none), 0);
}

/* A batch is cut at max_events, or before the event that would pass
 * max_bytes; never into nothing (a single event too large goes alone); and
 * the defaults keep an entry far under ENTRY_MAX_BYTES. */
static void alert_batches_are_bounded(void **state)
{
    (void)state;
    enum { N = 1200 };
    static Ft__AlertEvent ae[N];
    static Ft__AlertEvent *ptr[N];
    static char detail[N][200];
    for (size_t i = 0; i < N; i++) {
        ft__alert_event__init(&ae[i]);
        ae[i].alert_id = "0123456789abcdef";
        ae[i].rule = "1";
        ae[i].state = "open";
        memset(detail[i], 'x', sizeof detail[i] - 1);
        detail[i][sizeof detail[i] - 1] = '\0';
        ae[i].detail_json = detail[i];
        ptr[i] = &ae[i];
    }
    assert_int_equal(entry_alert_batch_take(ptr, 0, 10, 1000), 0);
    assert_int_equal(entry_alert_batch_take(ptr, 5, 10, 1u << 20), 5);
    assert_int_equal(entry_alert_batch_take(ptr, N, 10, 1u << 20), 10);
    size_t one = ft__alert_event__get_packed_size(&ae[0]);
    size_t k = entry_alert_batch_take(ptr, N, N, 3 * one + 40);
    assert_int_equal(k, 3);
    assert_int_equal(entry_alert_batch_take(ptr, N, N, 10), 1); /* too large alone: alone */
    /* the defaults, over N events: every piece within both bounds, all taken in order */
    size_t done = 0, pieces = 0;
    while (done < N) {
        size_t t = entry_alert_batch_take(ptr + done, N - done, ALERT_BATCH_MAX_EVENTS,
                                          ALERT_BATCH_MAX_BYTES);
        assert_true(t >= 1 && t <= ALERT_BATCH_MAX_EVENTS);
        Ft__AlertEvents b = FT__ALERT_EVENTS__INIT;
        b.n_events = t;
        b.events = ptr + done;
        assert_true(ft__alert_events__get_packed_size(&b) <= ALERT_BATCH_MAX_BYTES);
        done += t;
        pieces++;
    }
    assert_int_equal(done, N);
    assert_true(pieces >= 3);
    assert_true(ALERT_BATCH_MAX_BYTES < ENTRY_MAX_BYTES / 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sealed_entry_opens_and_checks),
        cmocka_unit_test(decoding_without_the_hash_gives_the_same_entry),
        cmocka_unit_test(entries_decoded_into_an_arena),
        cmocka_unit_test(each_flipped_byte_is_detected),
        cmocka_unit_test(entry_signed_by_other_key_is_bad_signature),
        cmocka_unit_test(wrong_position_is_named),
        cmocka_unit_test(garbage_and_truncation_are_corrupt),
        cmocka_unit_test(domain_separation_changes_hash),
        cmocka_unit_test(alert_events_read_in_both_forms),
        cmocka_unit_test(alert_batches_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
