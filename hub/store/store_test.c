/* store_test.c: the hub store keeps its tables and invariants: rows round
 * trip, transport keys are unique, entries append densely, the arrival
 * cursor gives new entries in commit order, events are recorded once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char dir[512];
    store_t *s;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    testutil_tmpdir(fx->dir, sizeof fx->dir, "store_test");
    assert_int_equal(store_open(fx->dir, 64 << 20, &fx->s), FT_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    store_destroy(&fx->s);
    store_destroy(&fx->s); /* twice is safe */
    testutil_rmrf(fx->dir);
    free(fx);
    return 0;
}

static store_device_t device(uint8_t tag)
{
    store_device_t d = {0};
    memset(d.device, tag, DEVID_BYTES);
    memset(d.sign_pk, tag + 1, 32);
    memset(d.transport_pk, tag + 2, 32);
    snprintf(d.unit, sizeof d.unit, "南大港产业园区自然资源所");
    snprintf(d.vehicle, sizeof d.vehicle, "冀J-ZF0%d", tag);
    d.enrolled_ms = 1000 + tag;
    return d;
}

static void device_rows_round_trip_and_keys_are_unique(void **state)
{
    fx_t *fx = *state;
    store_txn_t *t = NULL;
    store_device_t a = device(1), b = device(5), got;
    assert_int_equal(store_begin(fx->s, true, &t), FT_OK);
    assert_int_equal(store_device_put(t, &a), FT_OK);
    assert_int_equal(store_device_put(t, &b), FT_OK);
    b.transport_pk[0] = a.transport_pk[0];
    memcpy(b.transport_pk, a.transport_pk, 32);
    assert_int_equal(store_device_put(t, &b), FT_EEXIST);
    assert_int_equal(store_commit(&t), FT_OK);

    assert_int_equal(store_begin(fx->s, false, &t), FT_OK);
    assert_int_equal(store_device_get(t, a.device, &got), FT_OK);
    assert_string_equal(got.unit, a.unit);
    assert_string_equal(got.vehicle, a.vehicle);
    assert_memory_equal(got.sign_pk, a.sign_pk, 32);
    assert_int_equal(got.enrolled_ms, a.enrolled_ms);
    uint8_t owner[DEVID_BYTES];
    assert_int_equal(store_device_by_transport(t, a.transport_pk, owner), FT_OK);
    assert_memory_equal(owner, a.device, DEVID_BYTES);
    uint8_t nobody[DEVID_BYTES] = {9};
    assert_int_equal(store_device_get(t, nobody, &got), FT_ENOTFOUND);
    store_abort(&t);
}

static void status_round_trips_and_defaults_to_zero(void **state)
{
    fx_t *fx = *state;
    uint8_t dev[DEVID_BYTES] = {3};
    store_txn_t *t = NULL;
    store_status_t st;
    assert_int_equal(store_begin(fx->s, true, &t), FT_OK);
    assert_int_equal(store_status_get(t, dev, &st), FT_OK);
    assert_int_equal(st.last_seen_ms, 0);
    st.has_clock_offset = true;
    st.clock_offset_ms = -1234;
    st.edge_head_seq = 77;
    st.accepted = 5;
    snprintf(st.last_error, sizeof st.last_error, "bad_signature: entry 3");
    memset(st.endpoint_mismatch, 'e', sizeof st.endpoint_mismatch - 1); /* the longest */
    st.endpoint_mismatch[sizeof st.endpoint_mismatch - 1] = '\0';
    st.endpoint_report_ms = 4242;
    assert_int_equal(store_status_put(t, dev, &st), FT_OK);
    assert_int_equal(store_commit(&t), FT_OK);
    assert_int_equal(store_begin(fx->s, false, &t), FT_OK);
    store_status_t got;
    assert_int_equal(store_status_get(t, dev, &got), FT_OK);
    assert_true(got.has_clock_offset);
    assert_int_equal(got.clock_offset_ms, -1234);
    assert_int_equal(got.edge_head_seq, 77);
    assert_string_equal(got.last_error, st.last_error);
    assert_string_equal(got.endpoint_mismatch, st.endpoint_mismatch);
    assert_int_equal(got.endpoint_report_ms, 4242);
    store_abort(&t);
}

static int collect(void *ctx, const store_entry_t *e)
{
    uint64_t *log = ctx;
    log[++log[0]] = e->seq | (e->arrival << 32) | ((uint64_t)e->device[0] << 56);
    return 0;
}

static void entries_append_densely_and_arrive_in_order(void **state)
{
    fx_t *fx = *state;
    uint8_t a[DEVID_BYTES] = {1}, b[DEVID_BYTES] = {2}, h[32] = {0};
    store_txn_t *t = NULL;
    assert_int_equal(store_begin(fx->s, true, &t), FT_OK);
    assert_int_equal(store_entry_append(t, a, 7, 2, h, (const uint8_t *)"x", 1), FT_EGAP);
    assert_int_equal(store_entry_append(t, a, 7, 1, h, (const uint8_t *)"a1", 2), FT_OK);
    assert_int_equal(store_entry_append(t, b, 7, 1, h, (const uint8_t *)"b1", 2), FT_OK);
    assert_int_equal(store_entry_append(t, a, 7, 2, h, (const uint8_t *)"a2", 2), FT_OK);
    assert_int_equal(store_entry_append(t, a, 7, 2, h, (const uint8_t *)"a2", 2), FT_EGAP);
    assert_int_equal(store_commit(&t), FT_OK);

    uint64_t log[16] = {0};
    assert_int_equal(store_entries_since(fx->s, 0, collect, log), FT_OK);
    assert_int_equal(log[0], 3);
    assert_int_equal(log[1], 1 | (1ull << 32) | (1ull << 56));
    assert_int_equal(log[2], 1 | (2ull << 32) | (2ull << 56));
    assert_int_equal(log[3], 2 | (3ull << 32) | (1ull << 56));
    memset(log, 0, sizeof log);
    assert_int_equal(store_entries_since(fx->s, 2, collect, log), FT_OK);
    assert_int_equal(log[0], 1);

    assert_int_equal(store_begin(fx->s, false, &t), FT_OK);
    store_head_t head;
    assert_int_equal(store_head_get(t, a, 7, &head), FT_OK);
    assert_int_equal(head.seq, 2);
    assert_int_equal(store_head_get(t, a, 8, &head), FT_OK);
    assert_int_equal(head.seq, 0);
    uint64_t n = 0, last = 0;
    assert_int_equal(store_entry_count(t, &n, &last), FT_OK);
    assert_int_equal(n, 3);
    assert_int_equal(last, 3);
    const uint8_t *raw;
    size_t len;
    assert_int_equal(store_entry_get(t, a, 7, 2, &raw, &len), FT_OK);
    assert_int_equal(len, 2);
    assert_memory_equal(raw, "a2", 2);
    memset(log, 0, sizeof log);
    assert_int_equal(store_device_entries_iter(t, a, 7, 1, collect, log), FT_OK);
    assert_int_equal(log[0], 2);
    store_abort(&t);
}

static void aborted_append_leaves_nothing(void **state)
{
    fx_t *fx = *state;
    uint8_t a[DEVID_BYTES] = {1}, h[32] = {0};
    store_txn_t *t = NULL;
    assert_int_equal(store_begin(fx->s, true, &t), FT_OK);
    assert_int_equal(store_entry_append(t, a, 7, 1, h, (const uint8_t *)"a1", 2), FT_OK);
    store_abort(&t);
    store_abort(&t);
    assert_int_equal(store_begin(fx->s, false, &t), FT_OK);
    uint64_t n = 9, last = 9;
    assert_int_equal(store_entry_count(t, &n, &last), FT_OK);
    assert_int_equal(n, 0);
    assert_int_equal(last, 0);
    store_abort(&t);
}

static int event_one(void *ctx, const store_integrity_t *ev)
{
    store_integrity_t *out = ctx;
    out[0].id++;
    out[out[0].id] = *ev;
    return 0;
}

static void integrity_events_are_recorded_once_with_evidence(void **state)
{
    fx_t *fx = *state;
    uint8_t a[DEVID_BYTES] = {1};
    store_txn_t *t = NULL;
    uint64_t id = 0;
    assert_int_equal(store_begin(fx->s, true, &t), FT_OK);
    assert_int_equal(store_integrity_seen(t, a, 7, 3, "bad_signature", &id), FT_ENOTFOUND);
    store_integrity_t ev = {.time_ms = 5,
                            .epoch = 7,
                            .seq = 3,
                            .hublog_seq = 11,
                            .evidence = (const uint8_t *)"evil",
                            .evidence_len = 4};
    memcpy(ev.device, a, DEVID_BYTES);
    snprintf(ev.reason, sizeof ev.reason, "bad_signature");
    snprintf(ev.detail, sizeof ev.detail, "entry 3 altered");
    assert_int_equal(store_integrity_add(t, &ev, &id), FT_OK);
    assert_int_equal(id, 1);
    assert_int_equal(store_integrity_seen(t, a, 7, 3, "bad_signature", &id), FT_OK);
    assert_int_equal(id, 1);
    assert_int_equal(store_integrity_seen(t, a, 7, 3, "broken_chain", &id), FT_ENOTFOUND);
    assert_int_equal(store_commit(&t), FT_OK);

    store_integrity_t got[4];
    memset(got, 0, sizeof got);
    assert_int_equal(store_begin(fx->s, false, &t), FT_OK);
    assert_int_equal(store_integrity_iter(t, 0, event_one, got), FT_OK);
    assert_int_equal(got[0].id, 1);
    assert_string_equal(got[1].reason, "bad_signature");
    assert_int_equal(got[1].hublog_seq, 11);
    assert_int_equal(got[1].evidence_len, 4);
    memset(got, 0, sizeof got);
    assert_int_equal(store_integrity_iter(t, 1, event_one, got), FT_OK);
    assert_int_equal(got[0].id, 0);
    store_abort(&t);
}

static int refusal_one(void *ctx, const store_refusal_t *r)
{
    *(store_refusal_t *)ctx = *r;
    return 0;
}

static void refusals_count_repeats(void **state)
{
    fx_t *fx = *state;
    uint8_t key[32] = {4};
    store_txn_t *t = NULL;
    assert_int_equal(store_begin(fx->s, true, &t), FT_OK);
    assert_int_equal(store_refusal_note(t, key, "unknown_key", "127.0.0.1", 100), FT_OK);
    assert_int_equal(store_refusal_note(t, key, "unknown_key", "127.0.0.1", 200), FT_OK);
    assert_int_equal(store_commit(&t), FT_OK);
    store_refusal_t r;
    assert_int_equal(store_begin(fx->s, false, &t), FT_OK);
    assert_int_equal(store_refusal_iter(t, refusal_one, &r), FT_OK);
    store_abort(&t);
    assert_int_equal(r.count, 2);
    assert_int_equal(r.first_ms, 100);
    assert_int_equal(r.last_ms, 200);
    assert_string_equal(r.address, "127.0.0.1");
}

static void receipts_are_kept_by_position(void **state)
{
    fx_t *fx = *state;
    uint8_t a[DEVID_BYTES] = {1};
    store_txn_t *t = NULL;
    assert_int_equal(store_begin(fx->s, true, &t), FT_OK);
    assert_int_equal(store_receipt_put(t, a, 7, 10, (const uint8_t *)"r10", 3), FT_OK);
    const uint8_t *raw;
    size_t len;
    assert_int_equal(store_receipt_get(t, a, 7, 10, &raw, &len), FT_OK);
    assert_memory_equal(raw, "r10", 3);
    assert_int_equal(store_receipt_get(t, a, 7, 11, &raw, &len), FT_ENOTFOUND);
    assert_int_equal(store_commit(&t), FT_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(device_rows_round_trip_and_keys_are_unique, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(status_round_trips_and_defaults_to_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(entries_append_densely_and_arrive_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(aborted_append_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(integrity_events_are_recorded_once_with_evidence, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(refusals_count_repeats, setup, teardown),
        cmocka_unit_test_setup_teardown(receipts_are_kept_by_position, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
