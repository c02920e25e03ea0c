/* mediadb_test.c: the hub's media database -- file rows through the codec
 * (every field, no padding, exact length), rows written before the codec
 * (the raw hub_mfile_t of version 1, built here with a frozen copy of its
 * struct) still read and rewritten in the codec, rows that read as neither
 * counted and named rather than skipped, a walk whose pages break half way
 * returning the error, and bitmaps, receipts and the cursor. */
#include "mediadb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lmdbtest.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char dir[512];
    hub_mdb_t *d;
} fx_t;

static int fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    testutil_tmpdir(fx->dir, sizeof fx->dir, "mediadb");
    assert_int_equal(hub_mdb_open(fx->dir, &fx->d), FT_OK);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    fx_t *fx = *state;
    hub_mdb_destroy(&fx->d);
    hub_mdb_destroy(&fx->d); /* safe twice */
    testutil_rmrf(fx->dir);
    free(fx);
    return 0;
}

static void file_id(uint8_t id[MEDIA_FILE_ID_BYTES], unsigned n)
{
    memset(id, 0x6b, MEDIA_FILE_ID_BYTES);
    id[15] = (uint8_t)n;
}

/* A row with every field set, none to a value another field has. */
static hub_mfile_t row_of(unsigned n, uint32_t state)
{
    hub_mfile_t f;
    memset(&f, 0, sizeof f);
    f.version = 2;
    f.state = state;
    file_id(f.file_id, n);
    memset(f.device, 0xD0 + (int)n, sizeof f.device);
    f.epoch = 0x0102030405060708ULL + n;
    f.seq = 77 + n;
    f.size = ((uint64_t)5 << 32) + n;
    f.chunk_size = MEDIA_CHUNK_SIZE;
    f.n_chunks = 5 * 1024 + n;
    f.held = 3 + n;
    f.bad = 1;
    f.dup_chunks = 9;
    f.indexed_ms = -1;
    f.first_ms = 1700000000000LL + n;
    f.last_ms = 1700000000999LL + n;
    f.completed_ms = state == HMF_COMPLETE ? 1700000001000LL : 0;
    memset(f.merkle_root, 0x11 * (int)n, sizeof f.merkle_root);
    memset(f.content_hash, 0x22 + (int)n, sizeof f.content_hash);
    return f;
}

static void put_rows(fx_t *fx, unsigned from, unsigned to)
{
    MDB_txn *txn = NULL;
    assert_int_equal(hub_mdb_begin(fx->d, true, &txn), FT_OK);
    for (unsigned n = from; n <= to; n++) {
        hub_mfile_t f = row_of(n, n % 2 ? HMF_PULLING : HMF_COMPLETE);
        assert_int_equal(hub_mdb_file_write(fx->d, txn, &f), FT_OK);
    }
    assert_int_equal(hub_mdb_commit(fx->d, txn), FT_OK);
}

/* Puts raw bytes under a file ID in `files`, as an older hub (or damage)
 * left them. */
static void put_raw(fx_t *fx, unsigned n, const void *v, size_t len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/mediadb", fx->dir);
    MDB_env *env = NULL;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_set_mapsize(env, (size_t)1 << 30), 0);
    assert_int_equal(mdb_env_open(env, path, MDB_NOTLS, 0600), 0);
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "files", 0, &dbi), 0);
    uint8_t id[MEDIA_FILE_ID_BYTES];
    file_id(id, n);
    MDB_val k = {sizeof id, id}, d = {len, (void *)v};
    assert_int_equal(mdb_put(txn, dbi, &k, &d, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

typedef struct {
    unsigned n;
    hub_mfile_t rows[64];
} seen_t;

static int visit(void *ctx, const hub_mfile_t *f)
{
    seen_t *s = ctx;
    if (s->n < 64) {
        s->rows[s->n] = *f;
    }
    s->n++;
    return 0;
}

static void file_rows_round_trip_through_the_codec(void **state)
{
    fx_t *fx = *state;
    hub_mfile_t f = row_of(3, HMF_DAMAGED), got;
    uint8_t buf[HUB_MFILE_ROW_MAX];
    size_t n = hub_mfile_encode(&f, buf, sizeof buf);
    /* magic, version, state, IDs, 3 u64, 4 u32, u64, 4 i64, 2 hashes: no padding */
    assert_int_equal(n, 3 + 16 + 10 + 24 + 16 + 8 + 32 + 64);
    assert_int_equal(buf[0], 'F');
    assert_int_equal(buf[1], 2);
    assert_int_equal(hub_mfile_encode(&f, buf, n - 1), 0);
    memset(&got, 0xAB, sizeof got);
    assert_int_equal(hub_mfile_decode(buf, n, &got), FT_OK);
    assert_memory_equal(&got, &f, sizeof got);
    /* A byte short, a byte long, another version, an unknown state: corrupt. */
    assert_int_equal(hub_mfile_decode(buf, n - 1, &got), FT_ECORRUPT);
    uint8_t longer[HUB_MFILE_ROW_MAX + 1];
    memcpy(longer, buf, n);
    longer[n] = 0;
    assert_int_equal(hub_mfile_decode(longer, n + 1, &got), FT_ECORRUPT);
    buf[1] = 3;
    assert_int_equal(hub_mfile_decode(buf, n, &got), FT_ECORRUPT);
    buf[1] = 2;
    buf[2] = 9;
    assert_int_equal(hub_mfile_decode(buf, n, &got), FT_ECORRUPT);

    put_rows(fx, 1, 4);
    for (unsigned i = 1; i <= 4; i++) {
        hub_mfile_t want = row_of(i, i % 2 ? HMF_PULLING : HMF_COMPLETE);
        assert_int_equal(hub_mdb_get(fx->d, want.file_id, &got), FT_OK);
        assert_memory_equal(&got, &want, sizeof got);
    }
    uint8_t id[MEDIA_FILE_ID_BYTES];
    file_id(id, 9);
    assert_int_equal(hub_mdb_get(fx->d, id, &got), FT_ENOTFOUND);
    seen_t s = {0};
    lmdbx_unread_t unread = {0};
    assert_int_equal(hub_mdb_iter(fx->d, visit, &s, &unread), FT_OK);
    assert_int_equal(s.n, 4);
    assert_int_equal(unread.n, 0);
    assert_int_equal(s.rows[3].seq, 81);
}

/* hub_mfile_t as version 1 stored it (the frozen copy in mediadb.c). */
typedef struct {
    uint32_t version;
    uint32_t state;
    uint8_t file_id[16];
    uint8_t device[10];
    uint64_t epoch, seq;
    uint64_t size;
    uint32_t chunk_size, n_chunks;
    uint32_t held, bad;
    uint64_t dup_chunks;
    int64_t indexed_ms, first_ms, last_ms, completed_ms;
    uint8_t merkle_root[32];
    uint8_t content_hash[32];
} v1_t;

static v1_t v1_of(const hub_mfile_t *f)
{
    v1_t o;
    memset(&o, 0x5C, sizeof o); /* padding as it happened to be: not zero */
    o.version = 1;
    o.state = f->state;
    memcpy(o.file_id, f->file_id, 16);
    memcpy(o.device, f->device, 10);
    o.epoch = f->epoch;
    o.seq = f->seq;
    o.size = f->size;
    o.chunk_size = f->chunk_size;
    o.n_chunks = f->n_chunks;
    o.held = f->held;
    o.bad = f->bad;
    o.dup_chunks = f->dup_chunks;
    o.indexed_ms = f->indexed_ms;
    o.first_ms = f->first_ms;
    o.last_ms = f->last_ms;
    o.completed_ms = f->completed_ms;
    memcpy(o.merkle_root, f->merkle_root, 32);
    memcpy(o.content_hash, f->content_hash, 32);
    return o;
}

static void rows_of_version_1_are_read_and_rewritten_in_the_codec(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(sizeof(v1_t), 184);
    put_rows(fx, 1, 1);
    hub_mdb_destroy(&fx->d);
    hub_mfile_t old = row_of(2, HMF_PULLING), done = row_of(3, HMF_COMPLETE);
    v1_t o2 = v1_of(&old), o3 = v1_of(&done);
    put_raw(fx, 2, &o2, sizeof o2);
    put_raw(fx, 3, &o3, sizeof o3);
    assert_int_equal(hub_mdb_open(fx->dir, &fx->d), FT_OK);

    hub_mfile_t got;
    assert_int_equal(hub_mdb_get(fx->d, old.file_id, &got), FT_OK);
    assert_int_equal(got.version, 1);
    got.version = 2;
    assert_memory_equal(&got, &old, sizeof got);
    seen_t s = {0};
    lmdbx_unread_t unread = {0};
    assert_int_equal(hub_mdb_iter(fx->d, visit, &s, &unread), FT_OK);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.rows[0].version, 2);
    assert_int_equal(s.rows[1].version, 1);
    assert_int_equal(s.rows[2].version, 1);
    assert_int_equal(s.rows[2].state, HMF_COMPLETE);
    assert_true(s.rows[2].completed_ms == done.completed_ms);

    /* Written back (the puller's next checkpoint), the row is in the codec
     * and reads the same. */
    MDB_txn *txn = NULL;
    assert_int_equal(hub_mdb_begin(fx->d, true, &txn), FT_OK);
    assert_int_equal(hub_mdb_file_read(fx->d, txn, old.file_id, &got), FT_OK);
    got.held++;
    assert_int_equal(hub_mdb_file_write(fx->d, txn, &got), FT_OK);
    assert_int_equal(hub_mdb_commit(fx->d, txn), FT_OK);
    assert_int_equal(hub_mdb_get(fx->d, old.file_id, &got), FT_OK);
    assert_int_equal(got.version, 2);
    assert_int_equal(got.held, old.held + 1);

    /* A version 1 row that says another version is not one. */
    o2.version = 7;
    hub_mdb_destroy(&fx->d);
    put_raw(fx, 4, &o2, sizeof o2);
    assert_int_equal(hub_mdb_open(fx->dir, &fx->d), FT_OK);
    uint8_t id4[MEDIA_FILE_ID_BYTES];
    file_id(id4, 4);
    assert_int_equal(hub_mdb_get(fx->d, id4, &got), FT_ECORRUPT);
}

/* Before the codec, a row of any other size was skipped without a word:
 * gone from resume, `media list` and retention. Now it is counted and named,
 * every other row is still visited, and the walk ends with FT_ECORRUPT. */
static void rows_that_read_as_neither_are_counted_and_named_never_skipped(void **state)
{
    fx_t *fx = *state;
    put_rows(fx, 1, 5);
    hub_mdb_destroy(&fx->d);
    uint8_t junk[183];
    memset(junk, 1, sizeof junk);
    put_raw(fx, 2, junk, sizeof junk); /* one byte short of version 1 */
    hub_mfile_t f = row_of(4, HMF_PULLING);
    uint8_t buf[HUB_MFILE_ROW_MAX + 8];
    size_t n = hub_mfile_encode(&f, buf, sizeof buf);
    buf[n] = 0;
    put_raw(fx, 4, buf, n + 1); /* a codec row with a byte too many */
    assert_int_equal(hub_mdb_open(fx->dir, &fx->d), FT_OK);

    seen_t s = {0};
    lmdbx_unread_t unread = {0};
    assert_int_equal(hub_mdb_iter(fx->d, visit, &s, &unread), FT_ECORRUPT);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.rows[0].file_id[15], 1);
    assert_int_equal(s.rows[1].file_id[15], 3);
    assert_int_equal(s.rows[2].file_id[15], 5);
    assert_int_equal(unread.n, 2);
    assert_string_equal(unread.first_key, "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b02");
    /* Without a place to name them, the walk says the same. */
    s.n = 0;
    assert_int_equal(hub_mdb_iter(fx->d, visit, &s, NULL), FT_ECORRUPT);
    assert_int_equal(s.n, 3);
    hub_mfile_t got;
    memset(&got, 0xAB, sizeof got);
    uint8_t id[MEDIA_FILE_ID_BYTES];
    file_id(id, 2);
    assert_int_equal(hub_mdb_get(fx->d, id, &got), FT_ECORRUPT);
    assert_int_equal(got.version, 0xABABABABu);
}

static int stop_at_second(void *ctx, const hub_mfile_t *f)
{
    (void)f;
    return ++*(unsigned *)ctx == 2 ? 42 : 0;
}

static void the_callbacks_value_stops_the_walk(void **state)
{
    fx_t *fx = *state;
    put_rows(fx, 1, 3);
    unsigned n = 0;
    assert_int_equal(hub_mdb_iter(fx->d, stop_at_second, &n, NULL), 42);
    assert_int_equal(n, 2);
}

/* A walk whose pages cannot be read returns the error: it used to end as
 * if the rows after the bad page did not exist. */
static void a_walk_that_cannot_read_its_pages_returns_the_error(void **state)
{
    fx_t *fx = *state;
    for (unsigned k = 0; k < 8; k++) {
        MDB_txn *txn = NULL;
        assert_int_equal(hub_mdb_begin(fx->d, true, &txn), FT_OK);
        for (unsigned n = 0; n < 250; n++) {
            hub_mfile_t f = row_of(n, HMF_COMPLETE);
            f.file_id[14] = (uint8_t)k;
            assert_int_equal(hub_mdb_file_write(fx->d, txn, &f), FT_OK);
        }
        assert_int_equal(hub_mdb_commit(fx->d, txn), FT_OK);
    }
    seen_t s = {0};
    assert_int_equal(hub_mdb_iter(fx->d, visit, &s, NULL), FT_OK);
    assert_int_equal(s.n, 2000);
    hub_mdb_destroy(&fx->d);
    char path[600];
    snprintf(path, sizeof path, "%s/mediadb", fx->dir);
    assert_true(lmdbtest_break_branches(path) > 0);
    assert_int_equal(hub_mdb_open(fx->dir, &fx->d), FT_OK);
    s.n = 0;
    lmdbx_unread_t unread = {0};
    int err = hub_mdb_iter(fx->d, visit, &s, &unread);
    assert_int_not_equal(err, FT_OK);
    assert_true(s.n < 2000);
    assert_int_equal(unread.n, 0); /* no row was unreadable: the walk itself failed */
}

static void bitmaps_receipts_and_the_cursor_round_trip(void **state)
{
    fx_t *fx = *state;
    uint8_t id[MEDIA_FILE_ID_BYTES], bits[4] = {0xff, 0x01, 0x80, 0x00}, got[6];
    file_id(id, 1);
    MDB_txn *txn = NULL;
    assert_int_equal(hub_mdb_begin(fx->d, true, &txn), FT_OK);
    memset(got, 0xAB, sizeof got);
    assert_int_equal(hub_mdb_bitmap_read(fx->d, txn, HUB_MDB_HELD, id, got, sizeof got), FT_OK);
    assert_memory_equal(got, "\0\0\0\0\0\0", 6);
    assert_int_equal(hub_mdb_bitmap_write(fx->d, txn, HUB_MDB_HELD, id, bits, 3), FT_OK);
    assert_int_equal(hub_mdb_bitmap_write(fx->d, txn, HUB_MDB_BAD, id, bits + 1, 1), FT_OK);
    uint64_t cur = 5;
    assert_int_equal(hub_mdb_cursor_read(fx->d, txn, &cur), FT_OK);
    assert_int_equal(cur, 0);
    assert_int_equal(hub_mdb_cursor_write(fx->d, txn, 1234567), FT_OK);
    const uint8_t *raw = NULL;
    size_t len = 0;
    assert_int_equal(hub_mdb_receipt_read(fx->d, txn, id, &raw, &len), FT_ENOTFOUND);
    assert_int_equal(hub_mdb_receipt_write(fx->d, txn, id, (const uint8_t *)"receipt", 7), FT_OK);
    assert_int_equal(hub_mdb_commit(fx->d, txn), FT_OK);

    assert_int_equal(hub_mdb_begin(fx->d, false, &txn), FT_OK);
    assert_int_equal(hub_mdb_bitmap_read(fx->d, txn, HUB_MDB_HELD, id, got, sizeof got), FT_OK);
    assert_memory_equal(got, "\xff\x01\x80\0\0\0", 6); /* a shorter bitmap: zeros after */
    assert_int_equal(hub_mdb_bitmap_read(fx->d, txn, HUB_MDB_BAD, id, got, 1), FT_OK);
    assert_int_equal(got[0], 0x01);
    assert_int_equal(hub_mdb_cursor_read(fx->d, txn, &cur), FT_OK);
    assert_int_equal(cur, 1234567);
    assert_int_equal(hub_mdb_receipt_read(fx->d, txn, id, &raw, &len), FT_OK);
    assert_int_equal(len, 7);
    assert_memory_equal(raw, "receipt", 7);
    mdb_txn_abort(txn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(file_rows_round_trip_through_the_codec, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(rows_of_version_1_are_read_and_rewritten_in_the_codec,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            rows_that_read_as_neither_are_counted_and_named_never_skipped, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(the_callbacks_value_stops_the_walk, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(a_walk_that_cannot_read_its_pages_returns_the_error,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(bitmaps_receipts_and_the_cursor_round_trip, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
