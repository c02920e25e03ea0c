/* devlog_test.c: the signed, chained device log on LMDB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "devlog.h"
#include "hlc.h"
#include "lmdbx.h"
#include "record.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A settable wall clock for tests. */
static uint64_t fake_clock(void *ctx)
{
    return *(uint64_t *)ctx;
}

/* Per-test fixture: a state dir, keys and an open log. */
typedef struct {
    char dir[512];
    keys_t keys;
    devlog_t *log;
    uint64_t now;
} fx_t;

static int fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    testutil_tmpdir(fx->dir, sizeof fx->dir, "devlog");
    assert_int_equal(keys_generate(&fx->keys, false), FT_OK);
    fx->now = 1767225600000ULL; /* 2026-01-01 */
    devlog_opts_t o = {.clock = fake_clock, .clock_ctx = &fx->now};
    assert_int_equal(devlog_open(fx->dir, &fx->keys, &o, &fx->log), FT_OK);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    fx_t *fx = *state;
    devlog_destroy(&fx->log);
    testutil_rmrf(fx->dir);
    free(fx);
    return 0;
}

static void append_events(devlog_t *log, int n)
{
    Ft__DeviceEvent ev = FT__DEVICE_EVENT__INIT;
    ev.kind = FT__DEVICE_EVENT_KIND__BATTERY_LOW;
    ev.recorder = "BWC-0001";
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_EVENT;
    body.event = &ev;
    devlog_txn_t *t = NULL;
    assert_int_equal(devlog_begin(log, &t), FT_OK);
    for (int i = 0; i < n; i++) {
        assert_int_equal(devlog_append(t, &body, NULL), FT_OK);
    }
    assert_int_equal(devlog_commit(&t), FT_OK);
}

/* Applies fn to the stored bytes of seq inside a raw LMDB write txn. */
static void tamper(devlog_t *log, uint64_t seq, int delete_it)
{
    MDB_env *env = devlog_env(log);
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "log", 0, &dbi), 0);
    uint8_t key[8];
    lmdbx_put_u64(key, seq);
    MDB_val k = {8, key}, v;
    if (delete_it) {
        assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
    } else {
        assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
        uint8_t *copy = malloc(v.mv_size);
        memcpy(copy, v.mv_data, v.mv_size);
        copy[v.mv_size / 2] ^= 0x40;
        MDB_val nv = {v.mv_size, copy};
        assert_int_equal(mdb_put(txn, dbi, &k, &nv, 0), 0);
        free(copy);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
}

static void appended_entries_verify(void **state)
{
    fx_t *fx = *state;
    append_events(fx->log, 50);
    devlog_report_t r;
    assert_int_equal(devlog_verify(fx->log, 1, &r), FT_OK);
    assert_int_equal(r.err, FT_OK);
    assert_int_equal(r.checked, 50);
    assert_int_equal(r.head_seq, 50);
    assert_int_equal(devlog_verify(fx->log, 30, &r), FT_OK);
    assert_int_equal(r.err, FT_OK);
    assert_int_equal(r.checked, 21);
}

static void flipped_byte_names_its_seq(void **state)
{
    fx_t *fx = *state;
    append_events(fx->log, 20);
    tamper(fx->log, 13, 0);
    devlog_report_t r;
    assert_int_equal(devlog_verify(fx->log, 1, &r), FT_OK);
    assert_int_not_equal(r.err, FT_OK);
    assert_int_equal(r.bad_seq, 13);
    assert_int_equal(r.checked, 12);
}

static void deleted_entry_is_reported_missing(void **state)
{
    fx_t *fx = *state;
    append_events(fx->log, 20);
    tamper(fx->log, 7, 1);
    devlog_report_t r;
    assert_int_equal(devlog_verify(fx->log, 1, &r), FT_OK);
    assert_int_equal(r.err, FT_EGAP);
    assert_int_equal(r.bad_seq, 7);
}

static void deleted_last_entry_is_reported_missing(void **state)
{
    fx_t *fx = *state;
    append_events(fx->log, 5);
    tamper(fx->log, 5, 1);
    devlog_report_t r;
    assert_int_equal(devlog_verify(fx->log, 1, &r), FT_OK);
    assert_int_equal(r.err, FT_EGAP);
    assert_int_equal(r.bad_seq, 5);
}

/* Reads the hlc of a stored entry. */
static uint64_t hlc_of(devlog_t *log, uint64_t seq)
{
    uint8_t *raw;
    size_t len;
    assert_int_equal(devlog_get(log, seq, &raw, &len), FT_OK);
    entry_view_t v;
    assert_int_equal(entry_open(raw, len, &v), FT_OK);
    uint64_t h = v.entry->hlc;
    entry_view_free(&v);
    free(raw);
    return h;
}

static void hlc_survives_restart_with_clock_set_back(void **state)
{
    fx_t *fx = *state;
    append_events(fx->log, 3);
    uint64_t before = hlc_of(fx->log, 3);
    devlog_destroy(&fx->log);
    fx->now -= 86400000ULL; /* the system clock is set back one day */
    devlog_opts_t o = {.clock = fake_clock, .clock_ctx = &fx->now};
    assert_int_equal(devlog_open(fx->dir, &fx->keys, &o, &fx->log), FT_OK);
    append_events(fx->log, 2);
    assert_true(hlc_of(fx->log, 4) > before);
    assert_true(hlc_of(fx->log, 5) > hlc_of(fx->log, 4));
}

static void reopened_log_keeps_epoch_and_head(void **state)
{
    fx_t *fx = *state;
    append_events(fx->log, 4);
    uint64_t epoch = devlog_epoch(fx->log);
    assert_true(epoch != 0);
    devlog_destroy(&fx->log);
    assert_int_equal(devlog_open(fx->dir, &fx->keys, NULL, &fx->log), FT_OK);
    assert_int_equal(devlog_epoch(fx->log), epoch);
    uint64_t head;
    assert_int_equal(devlog_head(fx->log, &head, NULL), FT_OK);
    assert_int_equal(head, 4);
}

static void log_refuses_other_keys(void **state)
{
    fx_t *fx = *state;
    devlog_destroy(&fx->log);
    keys_t other;
    assert_int_equal(keys_generate(&other, false), FT_OK);
    assert_int_equal(devlog_open(fx->dir, &other, NULL, &fx->log), FT_EKEY);
    assert_null(fx->log);
}

static Ft__Record *parse(const char *line)
{
    Ft__Record *rec = NULL;
    char err[256];
    assert_int_equal(record_from_line(line, strlen(line), &rec, err, sizeof err), FT_OK);
    return rec;
}

static void same_record_id_twice_is_a_no_op(void **state)
{
    fx_t *fx = *state;
    Ft__Record *a = parse("{\"type\":\"decision\",\"id\":\"r1\",\"case\":\"C1\","
                          "\"fields\":{\"decision_no\":\"D-1\",\"reasons\":\"x\"}}");
    Ft__Record *b = parse("{\"type\":\"decision\",\"id\":\"r1\",\"case\":\"C1\","
                          "\"fields\":{\"decision_no\":\"D-2\",\"reasons\":\"x\"}}");
    devlog_txn_t *t;
    uint64_t seq = 0, again = 0;
    assert_int_equal(devlog_begin(fx->log, &t), FT_OK);
    assert_int_equal(devlog_append_record(t, a, &seq), FT_OK);
    assert_int_equal(devlog_commit(&t), FT_OK);
    assert_int_equal(devlog_begin(fx->log, &t), FT_OK);
    assert_int_equal(devlog_append_record(t, a, &again), FT_EEXIST);
    assert_int_equal(again, seq);
    assert_int_equal(devlog_append_record(t, b, NULL), FT_EDUP);
    assert_int_equal(devlog_commit(&t), FT_OK);
    uint64_t head;
    assert_int_equal(devlog_head(fx->log, &head, NULL), FT_OK);
    assert_int_equal(head, 1);
    record_free(&a);
    record_free(&b);
}

static void map_full_is_clear_and_log_stays_verifiable(void **state)
{
    fx_t *fx = *state;
    devlog_destroy(&fx->log);
    testutil_rmrf(fx->dir);
    devlog_opts_t o = {.map_size = 256 * 1024, .clock = fake_clock, .clock_ctx = &fx->now};
    assert_int_equal(devlog_open(fx->dir, &fx->keys, &o, &fx->log), FT_OK);
    char big[4000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    Ft__DeviceEvent ev = FT__DEVICE_EVENT__INIT;
    ev.kind = FT__DEVICE_EVENT_KIND__INGEST_FAILED;
    ev.detail = big;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_EVENT;
    body.event = &ev;
    int err = FT_OK;
    uint64_t committed = 0;
    for (int i = 0; i < 1000 && err == FT_OK; i++) {
        err = devlog_append1(fx->log, &body, NULL);
        if (err == FT_OK) {
            committed++;
        }
    }
    assert_int_equal(err, FT_EFULL);
    assert_non_null(strstr(ft_strerror(err), "full"));
    assert_true(committed > 10);
    devlog_report_t r;
    assert_int_equal(devlog_verify(fx->log, 1, &r), FT_OK);
    assert_int_equal(r.err, FT_OK);
    assert_int_equal(r.checked, committed);
    /* A small entry may still fit; the log must stay consistent either way. */
    ev.detail = "small";
    int small = devlog_append1(fx->log, &body, NULL);
    assert_true(small == FT_OK || small == FT_EFULL);
    assert_int_equal(devlog_verify(fx->log, 1, &r), FT_OK);
    assert_int_equal(r.err, FT_OK);
}

static void aborted_transaction_leaves_nothing(void **state)
{
    fx_t *fx = *state;
    append_events(fx->log, 2);
    Ft__DeviceEvent ev = FT__DEVICE_EVENT__INIT;
    ev.kind = FT__DEVICE_EVENT_KIND__CLOCK_CHANGED;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_EVENT;
    body.event = &ev;
    devlog_txn_t *t;
    assert_int_equal(devlog_begin(fx->log, &t), FT_OK);
    assert_int_equal(devlog_append(t, &body, NULL), FT_OK);
    devlog_abort(&t);
    assert_null(t);
    uint64_t head;
    assert_int_equal(devlog_head(fx->log, &head, NULL), FT_OK);
    assert_int_equal(head, 2);
    append_events(fx->log, 1);
    devlog_report_t r;
    assert_int_equal(devlog_verify(fx->log, 1, &r), FT_OK);
    assert_int_equal(r.err, FT_OK);
    assert_int_equal(r.checked, 3);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(appended_entries_verify),
        T(flipped_byte_names_its_seq),
        T(deleted_entry_is_reported_missing),
        T(deleted_last_entry_is_reported_missing),
        T(hlc_survives_restart_with_clock_set_back),
        T(reopened_log_keeps_epoch_and_head),
        T(log_refuses_other_keys),
        T(same_record_id_twice_is_a_no_op),
        T(map_full_is_clear_and_log_stays_verifiable),
        T(aborted_transaction_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
