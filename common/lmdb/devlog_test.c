/* devlog_test.c: the signed, chained device log on LMDB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "devlog.h"
#include "fsutil.h"
#include "hlc.h"
#include "lmdbx.h"
#include "record.h"
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Flips a byte (at offset, or the middle if offset is -1) of the stored
 * value of seq, or deletes it, in a raw LMDB write txn. */
static void tamper_at(devlog_t *log, uint64_t seq, int delete_it, long offset)
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
        copy[offset < 0 ? v.mv_size / 2 : (size_t)offset] ^= 0x40;
        MDB_val nv = {v.mv_size, copy};
        assert_int_equal(mdb_put(txn, dbi, &k, &nv, 0), 0);
        free(copy);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
}

static void tamper(devlog_t *log, uint64_t seq, int delete_it)
{
    tamper_at(log, seq, delete_it, -1);
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

/* ---- at-rest encryption, pruning, compaction ----------------------------- */

#define DAY_MS 86400000ULL
static const char party_name[] = "PARTY-MARKER-张某某";

/* Reopens the fixture's log with at-rest encryption on. */
static void reopen_at_rest(fx_t *fx)
{
    devlog_destroy(&fx->log);
    devlog_opts_t o = {.clock = fake_clock, .clock_ctx = &fx->now, .at_rest = true};
    assert_int_equal(devlog_open(fx->dir, &fx->keys, &o, &fx->log), FT_OK);
}

/* Appends n records naming party_name, each in its own transaction. */
static void append_records(devlog_t *log, int n)
{
    Ft__Record rec = FT__RECORD__INIT;
    rec.type = FT__RECORD_TYPE__COMPLAINT_REGISTERED;
    rec.case_id = "NDG-2026-031";
    rec.party = (char *)party_name;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_RECORD;
    body.record = &rec;
    for (int i = 0; i < n; i++) {
        assert_int_equal(devlog_append1(log, &body, NULL), FT_OK);
    }
}

/* True if the file dir/name holds needle anywhere. */
static bool file_has(const char *dir, const char *name, const char *needle)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        return false;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    assert_non_null(buf);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    bool found = memmem(buf, got, needle, strlen(needle)) != NULL;
    free(buf);
    return found;
}

/* The party of the record stored at seq. */
static void assert_party_at(devlog_t *log, uint64_t seq)
{
    uint8_t *raw;
    size_t len;
    assert_int_equal(devlog_get(log, seq, &raw, &len), FT_OK);
    entry_view_t v;
    assert_int_equal(entry_open(raw, len, &v), FT_OK);
    assert_int_equal(v.entry->seq, seq);
    assert_string_equal(v.entry->body->record->party, party_name);
    entry_view_free(&v);
    free(raw);
}

static void verify_ok(devlog_t *log, uint64_t checked, uint64_t pruned)
{
    devlog_report_t r;
    assert_int_equal(devlog_verify(log, 1, &r), FT_OK);
    if (r.err != FT_OK) {
        fail_msg("verify: %s", r.detail);
    }
    assert_int_equal(r.checked, checked);
    assert_int_equal(r.pruned, pruned);
    assert_int_equal(r.pruned_max, pruned);
}

/* Counts what devlog_iter and devlog_iter_all give. */
typedef struct {
    unsigned entries, pruned, unreadable, iter;
} counts_t;

static int count_item(void *ctx, const devlog_item_t *it)
{
    counts_t *c = ctx;
    c->entries += it->state == DEVLOG_ENTRY;
    c->pruned += it->state == DEVLOG_PRUNED;
    c->unreadable += it->state == DEVLOG_UNREADABLE;
    return 0;
}

static int count_raw(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    (void)seq;
    counts_t *c = ctx;
    entry_view_t v;
    assert_int_equal(entry_open(raw, len, &v), FT_OK);
    entry_view_free(&v);
    c->iter++;
    return 0;
}

static counts_t count_all(devlog_t *log)
{
    counts_t c = {0};
    assert_int_equal(devlog_iter_all(log, 1, 0, count_item, &c), FT_OK);
    assert_int_equal(devlog_iter(log, 1, 0, count_raw, &c), FT_OK);
    return c;
}

/* Prunes with a receipt for upto (its hash read from the log). */
static int prune_upto(devlog_t *log, uint64_t upto, uint64_t cutoff_ms, devlog_prune_t *out)
{
    uint8_t hash[ENTRY_HASH_BYTES];
    assert_int_equal(devlog_get_hash(log, upto, hash), FT_OK);
    return devlog_prune(log, upto, hash, cutoff_ms, out);
}

static void at_rest_round_trip_leaves_no_plaintext(void **state)
{
    fx_t *fx = *state;
    reopen_at_rest(fx);
    append_records(fx->log, 5);
    append_events(fx->log, 3);
    for (uint64_t seq = 1; seq <= 5; seq++) {
        assert_party_at(fx->log, seq);
    }
    counts_t c = count_all(fx->log);
    assert_int_equal(c.entries, 8);
    assert_int_equal(c.iter, 8);
    verify_ok(fx->log, 8, 0);
    assert_false(file_has(fx->dir, "data.mdb", party_name));
    assert_false(file_has(fx->dir, "data.mdb", "BWC-0001"));
    /* The bytes handed out hash to the head the log recorded. */
    uint8_t head_hash[32], hash[32];
    uint64_t head;
    assert_int_equal(devlog_head(fx->log, &head, head_hash), FT_OK);
    assert_int_equal(devlog_get_hash(fx->log, head, hash), FT_OK);
    assert_memory_equal(hash, head_hash, 32);
    char path[600];
    snprintf(path, sizeof path, "%s/%s", fx->dir, DEVLOG_KEYS_FILE);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    devlog_rest_t rs;
    assert_int_equal(devlog_rest_stats(fx->log, &rs), FT_OK);
    assert_true(rs.enabled);
    assert_int_equal(rs.plain_upto, 0);
    assert_int_equal(rs.keys_in_file, 1);
    assert_int_equal(rs.buckets_kept, 1);
}

static void plaintext_log_is_unchanged_without_at_rest(void **state)
{
    fx_t *fx = *state;
    append_records(fx->log, 2);
    assert_true(file_has(fx->dir, "data.mdb", party_name));
    char path[600];
    snprintf(path, sizeof path, "%s/%s", fx->dir, DEVLOG_KEYS_FILE);
    assert_false(fsutil_exists(path));
    uint8_t *raw;
    size_t len;
    assert_int_equal(devlog_get(fx->log, 1, &raw, &len), FT_OK);
    assert_int_equal(raw[0], 0x0a);
    free(raw);
    devlog_rest_t rs;
    assert_int_equal(devlog_rest_stats(fx->log, &rs), FT_OK);
    assert_false(rs.enabled);
    devlog_prune_t pr;
    assert_int_equal(prune_upto(fx->log, 2, fx->now, &pr), FT_EINVAL);
}

static void old_plaintext_entries_still_read(void **state)
{
    fx_t *fx = *state;
    append_records(fx->log, 3); /* written by a version without at-rest */
    reopen_at_rest(fx);
    append_records(fx->log, 2);
    for (uint64_t seq = 1; seq <= 5; seq++) {
        assert_party_at(fx->log, seq);
    }
    verify_ok(fx->log, 5, 0);
    devlog_rest_t rs;
    assert_int_equal(devlog_rest_stats(fx->log, &rs), FT_OK);
    assert_int_equal(rs.plain_upto, 3);
    /* Once on, at-rest stays on even if a later open does not ask for it. */
    devlog_destroy(&fx->log);
    assert_int_equal(devlog_open(fx->dir, &fx->keys, NULL, &fx->log), FT_OK);
    append_records(fx->log, 1);
    assert_party_at(fx->log, 6);
    assert_int_equal(devlog_rest_stats(fx->log, &rs), FT_OK);
    assert_true(rs.enabled);
    verify_ok(fx->log, 6, 0);
}

static void pruning_makes_stubs_and_verify_passes(void **state)
{
    fx_t *fx = *state;
    reopen_at_rest(fx);
    uint64_t day0 = fx->now;
    append_records(fx->log, 5); /* bucket day 0: 1..5 */
    fx->now += DAY_MS;
    append_records(fx->log, 5); /* day 1: 6..10 */
    fx->now += DAY_MS;
    append_records(fx->log, 2); /* day 2: 11..12 */
    fx->now = day0 + 100 * DAY_MS;
    devlog_prune_t pr;
    /* A receipt in the middle of day 1: only day 0 goes. */
    assert_int_equal(prune_upto(fx->log, 7, fx->now - 90 * DAY_MS, &pr), FT_OK);
    assert_int_equal(pr.pruned, 5);
    assert_int_equal(pr.first, 1);
    assert_int_equal(pr.last, 5);
    assert_int_equal(pr.buckets, 1);
    assert_int_equal(pr.keys_dropped, 1);
    verify_ok(fx->log, 12, 5);
    /* A receipt for 10: day 1 goes too, day 2 (not receipted) stays. */
    assert_int_equal(prune_upto(fx->log, 10, fx->now - 90 * DAY_MS, &pr), FT_OK);
    assert_int_equal(pr.pruned, 5);
    assert_int_equal(pr.first, 6);
    verify_ok(fx->log, 12, 10);
    uint8_t *raw;
    size_t len;
    assert_int_equal(devlog_get(fx->log, 3, &raw, &len), FT_EPRUNED);
    assert_party_at(fx->log, 11);
    counts_t c = count_all(fx->log);
    assert_int_equal(c.pruned, 10);
    assert_int_equal(c.entries, 2);
    assert_int_equal(c.iter, 2);
    devlog_rest_t rs;
    assert_int_equal(devlog_rest_stats(fx->log, &rs), FT_OK);
    assert_int_equal(rs.pruned_upto, 10);
    assert_int_equal(rs.keys_in_file, 1);
    assert_int_equal(rs.buckets_kept, 1);
    assert_int_equal(rs.bucket_floor, devlog_bucket_of_ms(day0 + DAY_MS));
    /* Nothing younger than the cutoff goes, even if receipted. */
    append_records(fx->log, 1); /* day 100: 13 */
    assert_int_equal(prune_upto(fx->log, 13, fx->now - 90 * DAY_MS, &pr), FT_OK);
    assert_int_equal(pr.pruned, 2); /* day 2 */
    assert_party_at(fx->log, 13);
    verify_ok(fx->log, 13, 12);
    /* Pruning again changes nothing. */
    assert_int_equal(prune_upto(fx->log, 13, fx->now - 90 * DAY_MS, &pr), FT_OK);
    assert_int_equal(pr.pruned, 0);
    assert_int_equal(pr.keys_dropped, 0);
    /* The entry after the stubs still links to the last stub's hash; the
     * log reopens and goes on. */
    devlog_destroy(&fx->log);
    reopen_at_rest(fx);
    append_records(fx->log, 1);
    verify_ok(fx->log, 14, 12);
}

static void receipt_that_does_not_match_prunes_nothing(void **state)
{
    fx_t *fx = *state;
    reopen_at_rest(fx);
    append_records(fx->log, 4);
    fx->now += 100 * DAY_MS;
    uint8_t wrong[ENTRY_HASH_BYTES];
    assert_int_equal(devlog_get_hash(fx->log, 3, wrong), FT_OK);
    devlog_prune_t pr;
    assert_int_equal(devlog_prune(fx->log, 4, wrong, fx->now, &pr), FT_ECHAIN);
    assert_int_equal(pr.pruned, 0);
    assert_non_null(strstr(pr.detail, "receipt"));
    assert_int_equal(devlog_prune(fx->log, 9, wrong, fx->now, &pr), FT_ECHAIN);
    verify_ok(fx->log, 4, 0);
    assert_party_at(fx->log, 1);
}

static void flipped_byte_in_ciphertext_or_stub_is_reported(void **state)
{
    fx_t *fx = *state;
    reopen_at_rest(fx);
    append_records(fx->log, 6);
    devlog_report_t r;
    /* Ciphertext (middle), the nonce (byte 12) and the bucket id (byte 3). */
    long offsets[] = {-1, 12, 3, 0};
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        tamper_at(fx->log, 4, 0, offsets[i]);
        assert_int_equal(devlog_verify(fx->log, 1, &r), FT_OK);
        assert_int_equal(r.bad_seq, 4);
        assert_int_equal(r.err, FT_ECORRUPT);
        assert_int_equal(r.checked, 3);
        assert_non_null(strstr(r.detail, "stored data altered"));
        assert_non_null(strstr(r.detail, "entry 4"));
        /* Pruning refuses to go past it. */
        devlog_prune_t pr;
        uint8_t hash[32];
        assert_int_equal(devlog_get_hash(fx->log, 6, hash), FT_OK);
        assert_int_not_equal(devlog_prune(fx->log, 6, hash, fx->now + DAY_MS, &pr), FT_OK);
        assert_int_equal(pr.bad_seq, 4);
        assert_int_equal(pr.pruned, 0);
        tamper_at(fx->log, 4, 0, offsets[i]); /* flipped back */
        verify_ok(fx->log, 6, 0);
    }
    fx->now += 100 * DAY_MS;
    devlog_prune_t pr;
    assert_int_equal(prune_upto(fx->log, 6, fx->now - 90 * DAY_MS, &pr), FT_OK);
    assert_int_equal(pr.pruned, 6);
    /* A stub: its signature, its hash, its seq. */
    long stub_offsets[] = {9 + 32 + 10, 9 + 5, 8};
    const int want[] = {FT_EBADSIG, FT_EBADSIG, FT_ECORRUPT};
    for (size_t i = 0; i < 3; i++) {
        tamper_at(fx->log, 2, 0, stub_offsets[i]);
        assert_int_equal(devlog_verify(fx->log, 1, &r), FT_OK);
        assert_int_equal(r.bad_seq, 2);
        assert_int_equal(r.err, want[i]);
        assert_non_null(strstr(r.detail, "stored data altered"));
        tamper_at(fx->log, 2, 0, stub_offsets[i]);
    }
    /* The last stub's hash altered: its own signature catches it. The
     * entry after a stub must link to its hash: */
    append_records(fx->log, 1);
    verify_ok(fx->log, 7, 6);
    tamper_at(fx->log, 6, 0, 9 + 1);
    assert_int_equal(devlog_verify(fx->log, 1, &r), FT_OK);
    assert_int_equal(r.bad_seq, 6);
    tamper_at(fx->log, 6, 0, 9 + 1);
    verify_ok(fx->log, 7, 6);
}

static void bucket_keys_survive_reopen(void **state)
{
    fx_t *fx = *state;
    reopen_at_rest(fx);
    append_records(fx->log, 2);
    fx->now += DAY_MS;
    append_records(fx->log, 2);
    devlog_destroy(&fx->log);
    assert_int_equal(devlog_open(fx->dir, &fx->keys, NULL, &fx->log), FT_OK);
    for (uint64_t seq = 1; seq <= 4; seq++) {
        assert_party_at(fx->log, seq);
    }
    devlog_rest_t rs;
    assert_int_equal(devlog_rest_stats(fx->log, &rs), FT_OK);
    assert_int_equal(rs.keys_in_file, 2);
    /* Without its key file the log refuses to open rather than lose them. */
    devlog_destroy(&fx->log);
    char path[600], moved[620];
    snprintf(path, sizeof path, "%s/%s", fx->dir, DEVLOG_KEYS_FILE);
    snprintf(moved, sizeof moved, "%s.moved", path);
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(devlog_open(fx->dir, &fx->keys, NULL, &fx->log), FT_ENOTFOUND);
    /* A damaged key file is named as such. */
    FILE *f = fopen(path, "wb");
    fputs("FTLOGKEY but not really", f);
    fclose(f);
    assert_int_equal(devlog_open(fx->dir, &fx->keys, NULL, &fx->log), FT_ECORRUPT);
    assert_int_equal(rename(moved, path), 0);
    assert_int_equal(devlog_open(fx->dir, &fx->keys, NULL, &fx->log), FT_OK);
    verify_ok(fx->log, 4, 0);
}

static void clock_set_back_never_reopens_a_dropped_bucket(void **state)
{
    fx_t *fx = *state;
    reopen_at_rest(fx);
    uint64_t day0 = fx->now;
    append_records(fx->log, 3);
    fx->now = day0 + 100 * DAY_MS;
    devlog_prune_t pr;
    assert_int_equal(prune_upto(fx->log, 3, fx->now - 90 * DAY_MS, &pr), FT_OK);
    assert_int_equal(pr.pruned, 3);
    /* The clock goes back to day 0: the hybrid clock stalls there, but the
     * entries go into a new bucket with a new key. */
    fx->now = day0;
    append_records(fx->log, 2);
    assert_party_at(fx->log, 4);
    assert_party_at(fx->log, 5);
    devlog_rest_t rs;
    assert_int_equal(devlog_rest_stats(fx->log, &rs), FT_OK);
    assert_int_equal(rs.bucket_floor, devlog_bucket_of_ms(day0));
    assert_int_equal(rs.keys_in_file, 1);
    verify_ok(fx->log, 5, 3);
    /* And after a restart too. */
    reopen_at_rest(fx);
    append_records(fx->log, 1);
    verify_ok(fx->log, 6, 3);
    fx->now = day0 + 200 * DAY_MS;
    assert_int_equal(prune_upto(fx->log, 6, fx->now - 90 * DAY_MS, &pr), FT_OK);
    assert_int_equal(pr.pruned, 3);
    verify_ok(fx->log, 6, 6);
    assert_int_equal(devlog_rest_stats(fx->log, &rs), FT_OK);
    assert_int_equal(rs.keys_in_file, 0);
}

/* A child process: opens the log, waits for the go byte, appends n records
 * one transaction each, exits 0 if all went well. */
static void child_appends(fx_t *fx, int go_fd, int n)
{
    devlog_t *log = NULL;
    devlog_opts_t o = {.clock = fake_clock, .clock_ctx = &fx->now, .at_rest = true};
    if (devlog_open(fx->dir, &fx->keys, &o, &log) != FT_OK) {
        _exit(2);
    }
    char go;
    if (read(go_fd, &go, 1) != 1) {
        _exit(3);
    }
    Ft__Record rec = FT__RECORD__INIT;
    rec.type = FT__RECORD_TYPE__PATROL;
    rec.party = (char *)party_name;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_RECORD;
    body.record = &rec;
    for (int i = 0; i < n; i++) {
        if (devlog_append1(log, &body, NULL) != FT_OK) {
            _exit(4);
        }
    }
    devlog_destroy(&log);
    _exit(0);
}

static void two_processes_on_one_day_share_one_key(void **state)
{
    fx_t *fx = *state;
    /* A log that has at-rest on but no key yet: both race to make it. */
    reopen_at_rest(fx);
    devlog_destroy(&fx->log);
    for (int round = 0; round < 3; round++) {
        int go[2];
        assert_int_equal(pipe(go), 0);
        pid_t kids[2];
        for (int i = 0; i < 2; i++) {
            kids[i] = fork();
            assert_true(kids[i] >= 0);
            if (kids[i] == 0) {
                close(go[1]);
                child_appends(fx, go[0], 40);
            }
        }
        close(go[0]);
        assert_int_equal(write(go[1], "gg", 2), 2);
        close(go[1]);
        for (int i = 0; i < 2; i++) {
            int status = 0;
            assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
            assert_true(WIFEXITED(status));
            assert_int_equal(WEXITSTATUS(status), 0);
        }
        fx->now += DAY_MS; /* the next round races for the next day's key */
    }
    devlog_opts_t o = {.clock = fake_clock, .clock_ctx = &fx->now};
    assert_int_equal(devlog_open(fx->dir, &fx->keys, &o, &fx->log), FT_OK);
    devlog_rest_t rs;
    assert_int_equal(devlog_rest_stats(fx->log, &rs), FT_OK);
    assert_int_equal(rs.keys_in_file, 3);
    assert_int_equal(rs.buckets_kept, 3);
    verify_ok(fx->log, 240, 0);
    counts_t c = count_all(fx->log);
    assert_int_equal(c.entries, 240);
}

static void pruned_plaintext_goes_from_the_file_with_compact(void **state)
{
    fx_t *fx = *state;
    append_records(fx->log, 4); /* before at-rest: plaintext in data.mdb */
    assert_true(file_has(fx->dir, "data.mdb", party_name));
    reopen_at_rest(fx);
    fx->now += 100 * DAY_MS;
    append_records(fx->log, 1);
    devlog_prune_t pr;
    assert_int_equal(prune_upto(fx->log, 5, fx->now - 90 * DAY_MS, &pr), FT_OK);
    assert_int_equal(pr.pruned, 4); /* the plaintext ones; 5 is too young */
    verify_ok(fx->log, 5, 4);
    devlog_destroy(&fx->log);
    /* LMDB never wipes freed pages: the old plaintext is still in the file
     * (documented in docs/log.md), which is what compact is for. */
    assert_true(file_has(fx->dir, "data.mdb", party_name));
    /* Compacting refuses while the log is open elsewhere (a child holds it). */
    int ready[2], done[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(done), 0);
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        devlog_t *log = NULL;
        char c = 'r';
        if (devlog_open(fx->dir, &fx->keys, NULL, &log) != FT_OK || write(ready[1], &c, 1) != 1 ||
            read(done[0], &c, 1) != 1) {
            _exit(1);
        }
        devlog_destroy(&log);
        _exit(0);
    }
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    devlog_compact_t cr;
    assert_int_equal(devlog_compact(fx->dir, &cr), FT_EAGAIN);
    assert_int_equal(write(done[1], "d", 1), 1);
    int status = 0;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_int_equal(WEXITSTATUS(status), 0);
    close(ready[0]);
    close(ready[1]);
    close(done[0]);
    close(done[1]);
    assert_int_equal(devlog_compact(fx->dir, &cr), FT_OK);
    assert_true(cr.after > 0);
    assert_true(cr.after <= cr.before);
    assert_false(file_has(fx->dir, "data.mdb", party_name));
    reopen_at_rest(fx);
    verify_ok(fx->log, 5, 4);
    assert_party_at(fx->log, 5);
}

/* devlog_append1_audit and devlog_append_audit write the AuditEvent they are
 * given, in order, and the log still verifies. */
static void audit_entries_say_who_did_what(void **state)
{
    fx_t *fx = *state;
    uint64_t s1 = 0, s2 = 0;
    assert_int_equal(
        devlog_append1_audit(fx->log, "cli:ops", "user_add", "wang", "{\"role\":\"staff\"}", &s1),
        FT_OK);
    devlog_txn_t *t = NULL;
    assert_int_equal(devlog_begin(fx->log, &t), FT_OK);
    assert_int_equal(devlog_append_audit(t, "-", "connection_refused", "sync", NULL, &s2), FT_OK);
    assert_int_equal(devlog_commit(&t), FT_OK);
    assert_int_equal(s2, s1 + 1);
    const char *want[2][4] = {{"cli:ops", "user_add", "wang", "{\"role\":\"staff\"}"},
                              {"-", "connection_refused", "sync", NULL}};
    for (int i = 0; i < 2; i++) {
        uint8_t *raw;
        size_t len;
        assert_int_equal(devlog_get(fx->log, s1 + (uint64_t)i, &raw, &len), FT_OK);
        entry_view_t v;
        assert_int_equal(entry_open(raw, len, &v), FT_OK);
        assert_int_equal(v.entry->body->kind_case, FT__BODY__KIND_AUDIT);
        const Ft__AuditEvent *a = v.entry->body->audit;
        assert_string_equal(a->user, want[i][0]);
        assert_string_equal(a->action, want[i][1]);
        assert_string_equal(a->target, want[i][2]);
        if (want[i][3]) {
            assert_string_equal(a->detail, want[i][3]);
        } else {
            assert_null(a->detail);
        }
        entry_view_free(&v);
        free(raw);
    }
    verify_ok(fx->log, s2, 0);
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
        T(at_rest_round_trip_leaves_no_plaintext),
        T(plaintext_log_is_unchanged_without_at_rest),
        T(old_plaintext_entries_still_read),
        T(pruning_makes_stubs_and_verify_passes),
        T(receipt_that_does_not_match_prunes_nothing),
        T(flipped_byte_in_ciphertext_or_stub_is_reported),
        T(bucket_keys_survive_reopen),
        T(clock_set_back_never_reopens_a_dropped_bucket),
        T(two_processes_on_one_day_share_one_key),
        T(pruned_plaintext_goes_from_the_file_with_compact),
        T(audit_entries_say_who_did_what),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
