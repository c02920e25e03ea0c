/* mstore_test.c: the edge's media store -- chunks put and read back byte for
 * byte (mstore_chunk_read's pread path from the data file, checked with
 * mstore_chunk_preads, also after values moved, were deleted and their pages
 * reused), file, progress (version 1 raw rows still read), inbox, content
 * and meta rows (and rows of the wrong size: FT_ECORRUPT), free bytes and
 * pruning (by the log's clock). */
#include "mstore.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "entry.h"
#include "hlc.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAP_BYTES ((size_t)256 << 20)
#define MIB ((size_t)1 << 20)

/* Per-test fixture: a state dir, keys, an open log and its media store. */
typedef struct {
    char dir[512];
    keys_t keys;
    devlog_t *log;
    mstore_t *m;
    uint64_t now_ms; /* the log's clock when not 0 (fx_reopen_with_clock) */
} fx_t;

static uint64_t fake_clock(void *ctx)
{
    return *(const uint64_t *)ctx;
}

static void fx_open(fx_t *fx)
{
    devlog_opts_t o = {.map_size = MAP_BYTES};
    if (fx->now_ms) {
        o.clock = fake_clock;
        o.clock_ctx = &fx->now_ms;
    }
    assert_int_equal(devlog_open(fx->dir, &fx->keys, &o, &fx->log), FT_OK);
    assert_int_equal(mstore_open(fx->log, &fx->m), FT_OK);
    assert_non_null(fx->m);
    assert_ptr_equal(mstore_log(fx->m), fx->log);
    assert_ptr_equal(mstore_env(fx->m), devlog_env(fx->log));
}

static void fx_close(fx_t *fx)
{
    mstore_destroy(&fx->m);
    assert_null(fx->m);
    devlog_destroy(&fx->log);
}

static int fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    testutil_tmpdir(fx->dir, sizeof fx->dir, "mstore");
    assert_int_equal(keys_generate(&fx->keys, false), FT_OK);
    fx_open(fx);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    fx_t *fx = *state;
    fx_close(fx);
    mstore_destroy(&fx->m); /* safe twice */
    testutil_rmrf(fx->dir);
    free(fx);
    return 0;
}

/* File IDs: file n is 0x5a... with n in its last two bytes, so that files
 * 1 and 2 are neighbours in the chunk database. */
static void file_id(uint8_t id[MEDIA_FILE_ID_BYTES], unsigned n)
{
    memset(id, 0x5a, MEDIA_FILE_ID_BYTES);
    id[14] = (uint8_t)(n >> 8);
    id[15] = (uint8_t)n;
}

/* The bytes chunk (file, index) holds in version salt: a pseudo-random
 * stream that differs for every file, index, salt and length. */
static void fill(uint8_t *buf, size_t len, unsigned file, uint32_t index, unsigned salt)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)file << 40) ^ ((uint64_t)index << 8) ^
                 ((uint64_t)salt << 56) ^ ((uint64_t)len * 0xbf58476d1ce4e5b9ULL);
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)(x >> 24);
    }
}

static MDB_txn *txn_begin(fx_t *fx, unsigned flags)
{
    MDB_txn *txn = NULL;
    assert_int_equal(mdb_txn_begin(mstore_env(fx->m), NULL, flags, &txn), 0);
    return txn;
}

static void txn_commit(MDB_txn *txn)
{
    assert_int_equal(mdb_txn_commit(txn), 0);
}

static void put_chunk(fx_t *fx, MDB_txn *txn, unsigned file, uint32_t index, size_t len,
                      unsigned salt)
{
    uint8_t id[MEDIA_FILE_ID_BYTES];
    file_id(id, file);
    uint8_t *data = malloc(len);
    assert_non_null(data);
    fill(data, len, file, index, salt);
    assert_int_equal(mstore_chunk_put(fx->m, txn, id, index, data, len), FT_OK);
    free(data);
}

/* Reads chunk (file, index) with mstore_chunk_read in txn into a buffer
 * with room to spare, and checks it is (len, salt) byte for byte, that
 * nothing after it in the buffer was touched, and whether it was read with
 * pread (by_pread). */
static void check_read_in(fx_t *fx, MDB_txn *txn, unsigned file, uint32_t index, size_t len,
                          unsigned salt, bool by_pread)
{
    uint8_t id[MEDIA_FILE_ID_BYTES];
    file_id(id, file);
    const size_t spare = 64;
    uint8_t *want = malloc(len), *buf = malloc(len + spare);
    assert_non_null(want);
    assert_non_null(buf);
    fill(want, len, file, index, salt);
    memset(buf, 0xEE, len + spare);
    uint64_t before = mstore_chunk_preads(fx->m);
    size_t got = 0;
    assert_int_equal(mstore_chunk_read(fx->m, txn, id, index, buf, len + spare, &got), FT_OK);
    assert_int_equal(got, len);
    assert_memory_equal(buf, want, len);
    for (size_t i = 0; i < spare; i++) {
        assert_int_equal(buf[len + i], 0xEE);
    }
    assert_int_equal(mstore_chunk_preads(fx->m) - before, by_pread ? 1 : 0);
    /* The borrowed view agrees. */
    const uint8_t *data = NULL;
    got = 0;
    assert_int_equal(mstore_chunk_get(fx->m, txn, id, index, &data, &got), FT_OK);
    assert_int_equal(got, len);
    assert_memory_equal(data, want, len);
    free(want);
    free(buf);
}

/* check_read_in in a read-only transaction of its own: committed chunks
 * are always read with pread. */
static void check_read(fx_t *fx, unsigned file, uint32_t index, size_t len, unsigned salt)
{
    MDB_txn *txn = txn_begin(fx, MDB_RDONLY);
    check_read_in(fx, txn, file, index, len, salt, true);
    mdb_txn_abort(txn);
}

/* Where chunk (file, index) sits in the map now (0 if absent). */
static uintptr_t chunk_addr(fx_t *fx, unsigned file, uint32_t index)
{
    uint8_t id[MEDIA_FILE_ID_BYTES];
    file_id(id, file);
    MDB_txn *txn = txn_begin(fx, MDB_RDONLY);
    const uint8_t *data = NULL;
    size_t len = 0;
    int err = mstore_chunk_get(fx->m, txn, id, index, &data, &len);
    mdb_txn_abort(txn);
    return err == FT_OK ? (uintptr_t)data : 0;
}

static const size_t sizes[] = {16,   17,   100,        2000,   4080, 4096,
                               4097, 8192, 65536 + 16, 300000, MIB,  MIB + 16};
#define N_SIZES (sizeof sizes / sizeof sizes[0])
static const uint32_t indexes[] = {0, 1, 2, 7, 1000, 65536, 0x7fffffffu, 0xfffffffeu, 0xffffffffu};
#define N_INDEXES (sizeof indexes / sizeof indexes[0])

/* Chunk (f, i) of the round-trip set: its size. */
static size_t rt_len(unsigned f, size_t i)
{
    return sizes[(i + 5 * f) % N_SIZES];
}

static void chunks_of_16_bytes_to_1_mib_16_read_back_byte_for_byte_by_pread(void **state)
{
    fx_t *fx = *state;
    MDB_txn *txn = txn_begin(fx, 0);
    for (unsigned f = 1; f <= 3; f++) {
        for (size_t i = 0; i < N_INDEXES; i++) {
            put_chunk(fx, txn, f, indexes[i], rt_len(f, i), 1);
        }
    }
    /* Every size at least once. */
    for (size_t s = 0; s < N_SIZES; s++) {
        put_chunk(fx, txn, 4, (uint32_t)s, sizes[s], 1);
    }
    txn_commit(txn);
    assert_int_equal(mstore_chunk_preads(fx->m), 0);
    for (unsigned f = 1; f <= 3; f++) {
        for (size_t i = 0; i < N_INDEXES; i++) {
            check_read(fx, f, indexes[i], rt_len(f, i), 1);
        }
    }
    for (size_t s = 0; s < N_SIZES; s++) {
        check_read(fx, 4, (uint32_t)s, sizes[s], 1);
    }
    assert_int_equal(mstore_chunk_preads(fx->m), 3 * N_INDEXES + N_SIZES);
    /* Many reads in one transaction. */
    txn = txn_begin(fx, MDB_RDONLY);
    for (size_t s = 0; s < N_SIZES; s++) {
        check_read_in(fx, txn, 4, (uint32_t)s, sizes[s], 1, true);
    }
    mdb_txn_abort(txn);
}

static void absent_chunks_are_not_found_and_a_small_buffer_is_refused(void **state)
{
    fx_t *fx = *state;
    MDB_txn *txn = txn_begin(fx, 0);
    put_chunk(fx, txn, 1, 0, 100, 1);
    put_chunk(fx, txn, 1, 2, MIB + 16, 1);
    put_chunk(fx, txn, 3, 1, 100, 1);
    txn_commit(txn);

    uint8_t id[MEDIA_FILE_ID_BYTES], buf[256];
    const uint8_t *data = NULL;
    size_t len = 0;
    txn = txn_begin(fx, MDB_RDONLY);
    /* Absent index of a file that has chunks; a file in between; a file
     * past the last one. */
    file_id(id, 1);
    assert_int_equal(mstore_chunk_read(fx->m, txn, id, 1, buf, sizeof buf, &len), FT_ENOTFOUND);
    assert_int_equal(mstore_chunk_read(fx->m, txn, id, 3, buf, sizeof buf, &len), FT_ENOTFOUND);
    assert_int_equal(mstore_chunk_get(fx->m, txn, id, 1, &data, &len), FT_ENOTFOUND);
    file_id(id, 2);
    assert_int_equal(mstore_chunk_read(fx->m, txn, id, 0, buf, sizeof buf, &len), FT_ENOTFOUND);
    assert_int_equal(mstore_chunk_read(fx->m, txn, id, 1, buf, sizeof buf, &len), FT_ENOTFOUND);
    assert_int_equal(mstore_chunk_get(fx->m, txn, id, 0, &data, &len), FT_ENOTFOUND);
    file_id(id, 9);
    assert_int_equal(mstore_chunk_read(fx->m, txn, id, 0, buf, sizeof buf, &len), FT_ENOTFOUND);

    /* cap one byte short, and 0: FT_EINVAL and the buffer untouched. */
    file_id(id, 1);
    memset(buf, 0xEE, sizeof buf);
    assert_int_equal(mstore_chunk_read(fx->m, txn, id, 0, buf, 99, &len), FT_EINVAL);
    assert_int_equal(mstore_chunk_read(fx->m, txn, id, 0, buf, 0, &len), FT_EINVAL);
    for (size_t i = 0; i < sizeof buf; i++) {
        assert_int_equal(buf[i], 0xEE);
    }
    uint8_t *big = malloc(MIB + 16);
    assert_non_null(big);
    memset(big, 0xEE, MIB + 16);
    assert_int_equal(mstore_chunk_read(fx->m, txn, id, 2, big, MIB + 15, &len), FT_EINVAL);
    /* Nor is *len, by a refused or a missing chunk. */
    len = 12345;
    assert_int_equal(mstore_chunk_read(fx->m, txn, id, 0, buf, 99, &len), FT_EINVAL);
    assert_int_equal(len, 12345);
    assert_int_equal(mstore_chunk_read(fx->m, txn, id, 2, big, MIB + 15, &len), FT_EINVAL);
    assert_int_equal(len, 12345);
    assert_int_equal(mstore_chunk_read(fx->m, txn, id, 1, buf, sizeof buf, &len), FT_ENOTFOUND);
    assert_int_equal(len, 12345);
    for (size_t i = 0; i < MIB + 16; i++) {
        if (big[i] != 0xEE) {
            fail_msg("byte %zu written by a refused read", i);
        }
    }
    free(big);
    assert_int_equal(mstore_chunk_preads(fx->m), 0);
    /* cap exactly the length is enough. */
    check_read_in(fx, txn, 1, 0, 100, 1, true);
    check_read_in(fx, txn, 1, 2, MIB + 16, 1, true);
    mdb_txn_abort(txn);
}

/* Small chunks live inside leaf pages, which LMDB copies to new pages
 * whenever they change: reads must follow them. */
static void reads_stay_right_after_many_more_chunks_moved_the_values(void **state)
{
    fx_t *fx = *state;
    enum { N = 600 };
    uintptr_t *addr = calloc(N, sizeof *addr);
    assert_non_null(addr);
    /* File 1: even indexes, small and large. */
    MDB_txn *txn = txn_begin(fx, 0);
    for (uint32_t i = 0; i < N; i += 2) {
        put_chunk(fx, txn, 1, i, i % 50 == 0 ? 70000 + i : 16 + (i * 37) % 1900, 1);
    }
    txn_commit(txn);
    for (uint32_t i = 0; i < N; i += 2) {
        check_read(fx, 1, i, i % 50 == 0 ? 70000 + i : 16 + (i * 37) % 1900, 1);
        addr[i] = chunk_addr(fx, 1, i);
    }
    /* Many more: the odd indexes in between (leaf pages split and copied),
     * other files, and every tenth even chunk rewritten with new content
     * and a new length; in many transactions. */
    for (uint32_t i = 1; i < N; i += 2) {
        if (i % 20 == 1) {
            if (i > 1) {
                txn_commit(txn);
            }
            txn = txn_begin(fx, 0);
        }
        put_chunk(fx, txn, 1, i, 16 + (i * 53) % 3000, 2);
        put_chunk(fx, txn, 2, i, 16 + (i * 11) % 500, 2);
        if ((i - 1) % 10 == 0) {
            put_chunk(fx, txn, 1, i - 1, 16 + (i * 7) % 2500, 3);
        }
    }
    txn_commit(txn);
    unsigned moved = 0;
    uint64_t before = mstore_chunk_preads(fx->m);
    for (uint32_t i = 0; i < N; i++) {
        if (i % 2) {
            check_read(fx, 1, i, 16 + (i * 53) % 3000, 2);
            check_read(fx, 2, i, 16 + (i * 11) % 500, 2);
        } else if (i % 10 == 0) {
            check_read(fx, 1, i, 16 + ((i + 1) * 7) % 2500, 3);
        } else {
            check_read(fx, 1, i, i % 50 == 0 ? 70000 + i : 16 + (i * 37) % 1900, 1);
        }
        if (i % 2 == 0 && chunk_addr(fx, 1, i) != addr[i]) {
            moved++;
        }
    }
    assert_int_equal(mstore_chunk_preads(fx->m) - before, N + N / 2);
    /* The test means something only if values did move. */
    assert_true(moved > N / 4);
    free(addr);
}

/* Deleted chunks' pages are reused by later chunks: reads give the new
 * chunks' bytes, never the old. */
static void reads_stay_right_after_deletes_and_new_chunks_in_their_place(void **state)
{
    fx_t *fx = *state;
    enum { N = 40 };
    static const size_t lens[] = {16, 3000, 70000, MIB + 16};
    MDB_txn *txn = txn_begin(fx, 0);
    uint64_t stored = 0;
    for (unsigned f = 1; f <= 3; f++) {
        for (uint32_t i = 0; i < N; i++) {
            put_chunk(fx, txn, f, i, lens[i % 4] + f, 1);
            if (f == 2) {
                stored += lens[i % 4] + f;
            }
        }
    }
    txn_commit(txn);
    uintptr_t old_lo = UINTPTR_MAX, old_hi = 0;
    for (uint32_t i = 0; i < N; i++) {
        uintptr_t a = chunk_addr(fx, 2, i);
        old_lo = a < old_lo ? a : old_lo;
        old_hi = a > old_hi ? a : old_hi;
    }

    uint8_t id[MEDIA_FILE_ID_BYTES];
    file_id(id, 2);
    uint64_t bytes = 0;
    txn = txn_begin(fx, 0);
    assert_int_equal(mstore_chunks_delete(fx->m, txn, id, &bytes), FT_OK);
    txn_commit(txn);
    assert_int_equal(bytes, stored);
    txn = txn_begin(fx, MDB_RDONLY);
    uint8_t buf[64];
    size_t len = 0;
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(mstore_chunk_read(fx->m, txn, id, i, buf, sizeof buf, &len), FT_ENOTFOUND);
    }
    mdb_txn_abort(txn);

    /* New chunks, in two transactions (LMDB reuses a transaction's freed
     * pages once no reader can see them). */
    for (unsigned round = 0; round < 2; round++) {
        txn = txn_begin(fx, 0);
        for (uint32_t i = 0; i < N; i++) {
            put_chunk(fx, txn, 4 + round, i, lens[(i + 1) % 4] + round, 4);
        }
        txn_commit(txn);
    }
    unsigned reused = 0;
    for (unsigned round = 0; round < 2; round++) {
        for (uint32_t i = 0; i < N; i++) {
            check_read(fx, 4 + round, i, lens[(i + 1) % 4] + round, 4);
            uintptr_t a = chunk_addr(fx, 4 + round, i);
            reused += a >= old_lo && a <= old_hi;
        }
    }
    for (unsigned f = 1; f <= 3; f += 2) {
        for (uint32_t i = 0; i < N; i++) {
            check_read(fx, f, i, lens[i % 4] + f, 1);
        }
    }
    /* The new chunks did land where the deleted ones were. */
    assert_true(reused > 0);
}

/* A chunk put in a write transaction is not in the data file until the
 * commit: read there, it is copied from memory, not pread. */
static void chunks_read_inside_a_write_txn_are_right(void **state)
{
    fx_t *fx = *state;
    MDB_txn *txn = txn_begin(fx, 0);
    put_chunk(fx, txn, 1, 0, 5000, 1);
    put_chunk(fx, txn, 1, 1, MIB + 16, 1);
    check_read_in(fx, txn, 1, 0, 5000, 1, false);
    check_read_in(fx, txn, 1, 1, MIB + 16, 1, false);
    txn_commit(txn);

    txn = txn_begin(fx, 0);
    /* Committed and untouched: from the file. */
    check_read_in(fx, txn, 1, 1, MIB + 16, 1, true);
    /* Rewritten in this txn: the new bytes, from memory. */
    put_chunk(fx, txn, 1, 1, MIB + 16, 2);
    check_read_in(fx, txn, 1, 1, MIB + 16, 2, false);
    put_chunk(fx, txn, 1, 0, 4000, 2);
    check_read_in(fx, txn, 1, 0, 4000, 2, false);
    mdb_txn_abort(txn);
    check_read(fx, 1, 0, 5000, 1);
    check_read(fx, 1, 1, MIB + 16, 1);
}

/* A new store (after a restart: the data file mapped again) finds the map. */
static void chunks_read_by_pread_after_reopening(void **state)
{
    fx_t *fx = *state;
    MDB_txn *txn = txn_begin(fx, 0);
    for (uint32_t i = 0; i < 8; i++) {
        put_chunk(fx, txn, 7, i, sizes[i + 4], 1);
    }
    txn_commit(txn);
    check_read(fx, 7, 0, sizes[4], 1);
    fx_close(fx);
    fx_open(fx);
    assert_int_equal(mstore_chunk_preads(fx->m), 0);
    for (uint32_t i = 0; i < 8; i++) {
        check_read(fx, 7, i, sizes[i + 4], 1);
    }
    assert_int_equal(mstore_chunk_preads(fx->m), 8);
}

static void deleting_a_files_chunks_leaves_its_neighbours(void **state)
{
    fx_t *fx = *state;
    MDB_txn *txn = txn_begin(fx, 0);
    for (unsigned f = 1; f <= 3; f++) {
        for (size_t i = 0; i < N_INDEXES; i++) {
            put_chunk(fx, txn, f, indexes[i], 100 + i, 1);
        }
    }
    put_chunk(fx, txn, 0xffff, 0xffffffffu, 50, 1);
    txn_commit(txn);

    uint8_t id[MEDIA_FILE_ID_BYTES];
    uint64_t bytes = 1234;
    txn = txn_begin(fx, 0);
    file_id(id, 2);
    assert_int_equal(mstore_chunks_delete(fx->m, txn, id, &bytes), FT_OK);
    uint64_t want = 0;
    for (size_t i = 0; i < N_INDEXES; i++) {
        want += 100 + i;
    }
    assert_int_equal(bytes, want);
    /* Again, and a file with no chunks: nothing to free. */
    assert_int_equal(mstore_chunks_delete(fx->m, txn, id, &bytes), FT_OK);
    assert_int_equal(bytes, 0);
    file_id(id, 9);
    bytes = 1234;
    assert_int_equal(mstore_chunks_delete(fx->m, txn, id, &bytes), FT_OK);
    assert_int_equal(bytes, 0);
    /* The last possible key; bytes may be NULL. */
    file_id(id, 0xffff);
    assert_int_equal(mstore_chunks_delete(fx->m, txn, id, NULL), FT_OK);
    txn_commit(txn);

    txn = txn_begin(fx, MDB_RDONLY);
    const uint8_t *data = NULL;
    size_t len = 0;
    for (size_t i = 0; i < N_INDEXES; i++) {
        check_read_in(fx, txn, 1, indexes[i], 100 + i, 1, true);
        check_read_in(fx, txn, 3, indexes[i], 100 + i, 1, true);
        file_id(id, 2);
        assert_int_equal(mstore_chunk_get(fx->m, txn, id, indexes[i], &data, &len), FT_ENOTFOUND);
    }
    file_id(id, 0xffff);
    assert_int_equal(mstore_chunk_get(fx->m, txn, id, 0xffffffffu, &data, &len), FT_ENOTFOUND);
    mdb_txn_abort(txn);
}

static mstore_file_t file_row(unsigned n, uint32_t state, int64_t ingested_ms)
{
    mstore_file_t f;
    memset(&f, 0, sizeof f);
    f.version = 2;
    f.state = state;
    file_id(f.file_id, n);
    f.size = 1000ULL * n;
    f.chunk_size = MEDIA_CHUNK_SIZE;
    f.n_chunks = n;
    f.manifest_seq = 10 + n;
    f.ingested_ms = ingested_ms;
    memset(f.merkle_root, (int)n, sizeof f.merkle_root);
    memset(f.content_hash, (int)(n + 1), sizeof f.content_hash);
    snprintf(f.name, sizeof f.name, "clip-%u.mp4", n);
    snprintf(f.recorder, sizeof f.recorder, "BWC-%04u", n);
    f.receipt_len = 3;
    memcpy(f.receipt, "abc", 3);
    return f;
}

typedef struct {
    unsigned n, stop_at;
    uint8_t seen[8][MEDIA_FILE_ID_BYTES];
} file_visit_t;

static int visit_file(void *ctx, const mstore_file_t *f)
{
    file_visit_t *v = ctx;
    if (v->n < 8) {
        memcpy(v->seen[v->n], f->file_id, MEDIA_FILE_ID_BYTES);
    }
    v->n++;
    return v->n == v->stop_at ? 42 : 0;
}

static void file_rows_round_trip_and_are_visited_in_id_order(void **state)
{
    fx_t *fx = *state;
    MDB_txn *txn = txn_begin(fx, 0);
    mstore_file_t got;
    uint8_t id[MEDIA_FILE_ID_BYTES];
    file_id(id, 1);
    assert_int_equal(mstore_file_get(fx->m, txn, id, &got), FT_ENOTFOUND);
    for (unsigned n = 3; n >= 1; n--) {
        mstore_file_t f = file_row(n, MFILE_STORED, 1000 + n);
        assert_int_equal(mstore_file_put(fx->m, txn, &f), FT_OK);
    }
    txn_commit(txn);

    txn = txn_begin(fx, 0);
    for (unsigned n = 1; n <= 3; n++) {
        mstore_file_t want = file_row(n, MFILE_STORED, 1000 + n);
        file_id(id, n);
        assert_int_equal(mstore_file_get(fx->m, txn, id, &got), FT_OK);
        assert_memory_equal(&got, &want, sizeof got);
    }
    /* Overwritten in place. */
    mstore_file_t f = file_row(2, MFILE_ACKED, 1002);
    f.acked_ms = 5000;
    assert_int_equal(mstore_file_put(fx->m, txn, &f), FT_OK);
    txn_commit(txn);

    txn = txn_begin(fx, MDB_RDONLY);
    file_id(id, 2);
    assert_int_equal(mstore_file_get(fx->m, txn, id, &got), FT_OK);
    assert_int_equal(got.state, MFILE_ACKED);
    assert_int_equal(got.acked_ms, 5000);
    file_id(id, 4);
    assert_int_equal(mstore_file_get(fx->m, txn, id, &got), FT_ENOTFOUND);

    file_visit_t v = {0};
    assert_int_equal(mstore_file_iter(fx->m, txn, visit_file, &v, NULL), FT_OK);
    assert_int_equal(v.n, 3);
    for (unsigned n = 1; n <= 3; n++) {
        file_id(id, n);
        assert_memory_equal(v.seen[n - 1], id, MEDIA_FILE_ID_BYTES);
    }
    /* A non-zero return stops the walk and is returned. */
    memset(&v, 0, sizeof v);
    v.stop_at = 2;
    assert_int_equal(mstore_file_iter(fx->m, txn, visit_file, &v, NULL), 42);
    assert_int_equal(v.n, 2);
    mdb_txn_abort(txn);
}

typedef struct {
    unsigned n;
    uint64_t ino[8];
    bool key_zero[8];
} prog_visit_t;

static int visit_prog(void *ctx, const mstore_progress_t *p)
{
    prog_visit_t *v = ctx;
    if (v->n < 8) {
        uint8_t zero[MEDIA_KEY_BYTES] = {0};
        v->ino[v->n] = p->ino;
        v->key_zero[v->n] = memcmp(p->key, zero, sizeof zero) == 0;
    }
    v->n++;
    return 0;
}

static void progress_rows_round_trip_by_dev_and_inode(void **state)
{
    fx_t *fx = *state;
    MDB_txn *txn = txn_begin(fx, 0);
    mstore_progress_t p, got;
    assert_int_equal(mstore_progress_get(fx->m, txn, 1, 2, &got), FT_ENOTFOUND);
    for (uint64_t ino = 3; ino >= 1; ino--) {
        memset(&p, 0, sizeof p);
        p.version = 1;
        p.state = ino == 2 ? MPROG_DONE : MPROG_INGESTING;
        p.dev = 0x0801;
        p.ino = ino;
        p.size = 123456789 * ino;
        p.mtime_ns = -5;
        file_id(p.file_id, (unsigned)ino);
        if (ino != 2) {
            memset(p.key, 0x11 * (int)ino, sizeof p.key);
        }
        p.chunk_size = MEDIA_CHUNK_MIN;
        p.chunks_done = (uint32_t)ino;
        snprintf(p.path, sizeof p.path, "/inbox/clip-%llu.mp4", (unsigned long long)ino);
        assert_int_equal(mstore_progress_put(fx->m, txn, &p), FT_OK);
    }
    txn_commit(txn);

    txn = txn_begin(fx, 0);
    assert_int_equal(mstore_progress_get(fx->m, txn, 0x0801, 1, &got), FT_OK);
    assert_int_equal(got.ino, 1);
    assert_int_equal(got.state, MPROG_INGESTING);
    assert_int_equal(got.size, 123456789);
    assert_int_equal(got.mtime_ns, -5);
    assert_int_equal(got.key[31], 0x11);
    assert_string_equal(got.path, "/inbox/clip-1.mp4");
    /* Same inode on another device; dev and inode swapped: not found. */
    assert_int_equal(mstore_progress_get(fx->m, txn, 0x0802, 1, &got), FT_ENOTFOUND);
    assert_int_equal(mstore_progress_get(fx->m, txn, 1, 0x0801, &got), FT_ENOTFOUND);

    prog_visit_t v = {0};
    assert_int_equal(mstore_progress_iter(fx->m, txn, visit_prog, &v, NULL), FT_OK);
    assert_int_equal(v.n, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(v.ino[i], i + 1);
        assert_int_equal(v.key_zero[i], i == 1);
    }
    /* Deleting: the row goes; deleting an absent row is no error. */
    assert_int_equal(mstore_progress_del(fx->m, txn, 0x0801, 2), FT_OK);
    assert_int_equal(mstore_progress_get(fx->m, txn, 0x0801, 2, &got), FT_ENOTFOUND);
    assert_int_equal(mstore_progress_del(fx->m, txn, 0x0801, 2), FT_OK);
    assert_int_equal(mstore_progress_del(fx->m, txn, 9, 9), FT_OK);
    txn_commit(txn);

    txn = txn_begin(fx, MDB_RDONLY);
    memset(&v, 0, sizeof v);
    assert_int_equal(mstore_progress_iter(fx->m, txn, visit_prog, &v, NULL), FT_OK);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.ino[0], 1);
    assert_int_equal(v.ino[1], 3);
    mdb_txn_abort(txn);
}

/* Progress rows as version 1 wrote them (the raw C struct of that time) are
 * still read: an ingest interrupted before the upgrade resumes after it. */
typedef struct {
    uint32_t version;
    uint32_t state;
    uint64_t dev, ino, size;
    int64_t mtime_ns;
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    uint8_t key[MEDIA_KEY_BYTES];
    uint32_t chunk_size;
    uint32_t chunks_done;
    int64_t started_ms;
    char path[1024];
} progress_v1_t;

static void progress_rows_of_version_1_are_still_read(void **state)
{
    fx_t *fx = *state;
    progress_v1_t o;
    memset(&o, 0, sizeof o);
    o.version = 1;
    o.state = MPROG_INGESTING;
    o.dev = 0x0801;
    o.ino = 77;
    o.size = 5 * MIB;
    o.mtime_ns = 1234567890123456789LL;
    file_id(o.file_id, 9);
    memset(o.key, 0x5A, sizeof o.key);
    o.chunk_size = MEDIA_CHUNK_MIN;
    o.chunks_done = 32;
    o.started_ms = 1700000000000LL;
    snprintf(o.path, sizeof o.path, "/inbox/BC-1/old.mp4");
    uint8_t pk[16] = {0, 0, 0, 0, 0, 0, 0x08, 0x01, 0, 0, 0, 0, 0, 0, 0, 77};
    MDB_txn *txn = txn_begin(fx, 0);
    MDB_dbi dbi;
    assert_int_equal(mdb_dbi_open(txn, "mprogress", 0, &dbi), 0);
    MDB_val k = {sizeof pk, pk}, v = {sizeof o, &o};
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    txn_commit(txn);

    txn = txn_begin(fx, 0);
    mstore_progress_t p;
    assert_int_equal(mstore_progress_get(fx->m, txn, 0x0801, 77, &p), FT_OK);
    assert_int_equal(p.version, 1);
    assert_int_equal(p.state, MPROG_INGESTING);
    assert_int_equal(p.size, 5 * MIB);
    assert_true(p.mtime_ns == 1234567890123456789LL);
    assert_memory_equal(p.file_id, o.file_id, sizeof o.file_id);
    assert_int_equal(p.key[0], 0x5A);
    assert_int_equal(p.chunk_size, MEDIA_CHUNK_MIN);
    assert_int_equal(p.chunks_done, 32);
    assert_true(p.started_ms == 1700000000000LL);
    assert_string_equal(p.path, "/inbox/BC-1/old.mp4");
    assert_false(p.has_supersedes);
    /* Written back, it is a version 2 row that reads the same. */
    p.chunks_done = 48;
    assert_int_equal(mstore_progress_put(fx->m, txn, &p), FT_OK);
    mstore_progress_t q;
    assert_int_equal(mstore_progress_get(fx->m, txn, 0x0801, 77, &q), FT_OK);
    assert_int_equal(q.version, 2);
    assert_int_equal(q.chunks_done, 48);
    assert_int_equal(q.key[31], 0x5A);
    assert_string_equal(q.path, "/inbox/BC-1/old.mp4");
    prog_visit_t pv = {0};
    assert_int_equal(mstore_progress_iter(fx->m, txn, visit_prog, &pv, NULL), FT_OK);
    assert_int_equal(pv.n, 1);
    txn_commit(txn);
}

/* The fields version 2 added: a DONE row's outcome, the writer's word, when
 * it committed, and the manifest it supersedes. */
static void progress_rows_keep_supersedes_and_the_done_facts(void **state)
{
    fx_t *fx = *state;
    mstore_progress_t p, got;
    memset(&p, 0, sizeof p);
    p.state = MPROG_DONE;
    p.dev = 3;
    p.ino = 4;
    p.size = 4000000;
    p.mtime_ns = -1;
    file_id(p.file_id, 1);
    p.chunk_size = MEDIA_CHUNK_SIZE;
    p.chunks_done = 4;
    p.started_ms = 10;
    p.done_ms = 20;
    p.stored = true;
    p.declared = false;
    p.has_supersedes = true;
    file_id(p.supersedes, 2);
    memset(p.path, 'x', sizeof p.path - 1); /* the longest path fits */
    MDB_txn *txn = txn_begin(fx, 0);
    assert_int_equal(mstore_progress_put(fx->m, txn, &p), FT_OK);
    assert_int_equal(mstore_progress_get(fx->m, txn, 3, 4, &got), FT_OK);
    assert_true(got.stored);
    assert_false(got.declared);
    assert_true(got.has_supersedes);
    assert_memory_equal(got.supersedes, p.supersedes, MEDIA_FILE_ID_BYTES);
    assert_true(got.done_ms == 20);
    assert_true(got.mtime_ns == -1);
    assert_int_equal(strlen(got.path), sizeof p.path - 1);
    p.stored = false;
    p.declared = true;
    p.has_supersedes = false;
    assert_int_equal(mstore_progress_put(fx->m, txn, &p), FT_OK);
    assert_int_equal(mstore_progress_get(fx->m, txn, 3, 4, &got), FT_OK);
    assert_false(got.stored);
    assert_true(got.declared);
    assert_false(got.has_supersedes);
    txn_commit(txn);
}

typedef struct {
    unsigned n;
    char paths[4][64];
} inbox_visit_t;

static int visit_inbox(void *ctx, const mstore_inbox_t *r)
{
    inbox_visit_t *v = ctx;
    if (v->n < 4) {
        snprintf(v->paths[v->n], sizeof v->paths[0], "%.63s", r->path);
    }
    v->n++;
    return 0;
}

/* Inbox rows are keyed by (dev, inode, path): two names of one inode are
 * two rows, and a row is found only by its own path. */
static void inbox_rows_round_trip_by_inode_and_path(void **state)
{
    fx_t *fx = *state;
    MDB_txn *txn = txn_begin(fx, 0);
    mstore_inbox_t r, got;
    memset(&r, 0, sizeof r);
    r.kind = MINBOX_FAILED;
    r.dev = 1;
    r.ino = 2;
    r.size = 3;
    r.mtime_ns = 4;
    r.first_ms = 5;
    r.last_ms = 6;
    r.next_ms = 7;
    r.tries = 8;
    snprintf(r.recorder, sizeof r.recorder, "BC-1");
    snprintf(r.reason, sizeof r.reason, "it cannot be opened: Permission denied");
    snprintf(r.path, sizeof r.path, "/inbox/BC-1/a.mp4");
    assert_int_equal(mstore_inbox_put(fx->m, txn, &r), FT_OK);
    r.kind = MINBOX_REFUSED;
    snprintf(r.path, sizeof r.path, "/inbox/BC-1/b.mp4");
    assert_int_equal(mstore_inbox_put(fx->m, txn, &r), FT_OK);
    txn_commit(txn);

    txn = txn_begin(fx, 0);
    assert_int_equal(mstore_inbox_get(fx->m, txn, 1, 2, "/inbox/BC-1/a.mp4", &got), FT_OK);
    assert_int_equal(got.kind, MINBOX_FAILED);
    assert_int_equal(got.tries, 8);
    assert_true(got.next_ms == 7);
    assert_string_equal(got.recorder, "BC-1");
    assert_string_equal(got.reason, "it cannot be opened: Permission denied");
    assert_int_equal(mstore_inbox_get(fx->m, txn, 1, 2, "/inbox/BC-1/b.mp4", &got), FT_OK);
    assert_int_equal(got.kind, MINBOX_REFUSED);
    assert_int_equal(mstore_inbox_get(fx->m, txn, 1, 2, "/inbox/BC-1/c.mp4", &got), FT_ENOTFOUND);
    assert_int_equal(mstore_inbox_get(fx->m, txn, 1, 3, "/inbox/BC-1/a.mp4", &got), FT_ENOTFOUND);
    inbox_visit_t v = {0};
    assert_int_equal(mstore_inbox_iter(fx->m, txn, visit_inbox, &v, NULL), FT_OK);
    assert_int_equal(v.n, 2);
    assert_int_equal(mstore_inbox_del(fx->m, txn, 1, 2, "/inbox/BC-1/a.mp4"), FT_OK);
    assert_int_equal(mstore_inbox_del(fx->m, txn, 1, 2, "/inbox/BC-1/a.mp4"), FT_OK);
    memset(&v, 0, sizeof v);
    assert_int_equal(mstore_inbox_iter(fx->m, txn, visit_inbox, &v, NULL), FT_OK);
    assert_int_equal(v.n, 1);
    assert_string_equal(v.paths[0], "/inbox/BC-1/b.mp4");
    txn_commit(txn);
}

static void content_index_and_meta_values_round_trip(void **state)
{
    fx_t *fx = *state;
    uint8_t hash[MEDIA_HASH_BYTES], id[MEDIA_FILE_ID_BYTES], got[MEDIA_FILE_ID_BYTES];
    memset(hash, 0xC3, sizeof hash);
    file_id(id, 5);
    MDB_txn *txn = txn_begin(fx, 0);
    assert_int_equal(mstore_content_get(fx->m, txn, hash, got), FT_ENOTFOUND);
    assert_int_equal(mstore_content_put(fx->m, txn, hash, id), FT_OK);
    uint8_t pk[32], pk_got[32];
    memset(pk, 0x77, sizeof pk);
    assert_int_equal(mstore_meta_get(fx->m, txn, "hub_sign_pk", pk_got, sizeof pk_got),
                     FT_ENOTFOUND);
    assert_int_equal(mstore_meta_put(fx->m, txn, "hub_sign_pk", pk, sizeof pk), FT_OK);
    uint32_t small = 0xdeadbeef;
    assert_int_equal(mstore_meta_put(fx->m, txn, "hub", &small, sizeof small), FT_OK);
    txn_commit(txn);

    txn = txn_begin(fx, MDB_RDONLY);
    assert_int_equal(mstore_content_get(fx->m, txn, hash, got), FT_OK);
    assert_memory_equal(got, id, sizeof id);
    hash[31] ^= 1;
    assert_int_equal(mstore_content_get(fx->m, txn, hash, got), FT_ENOTFOUND);
    assert_int_equal(mstore_meta_get(fx->m, txn, "hub_sign_pk", pk_got, sizeof pk_got), FT_OK);
    assert_memory_equal(pk_got, pk, sizeof pk);
    /* A name that is a prefix of another is its own value. */
    uint32_t small_got = 0;
    assert_int_equal(mstore_meta_get(fx->m, txn, "hub", &small_got, sizeof small_got), FT_OK);
    assert_int_equal(small_got, 0xdeadbeef);
    /* A stored value of another size is not copied. */
    uint8_t wrong[16];
    assert_int_not_equal(mstore_meta_get(fx->m, txn, "hub_sign_pk", wrong, sizeof wrong), FT_OK);
    mdb_txn_abort(txn);
}

static void free_bytes_fall_with_chunks_and_rise_when_they_are_deleted(void **state)
{
    fx_t *fx = *state;
    uint64_t free0 = 0, map = 0, free1 = 0, free2 = 0;
    assert_int_equal(mstore_free_bytes(fx->m, &free0, &map), FT_OK);
    assert_int_equal(map, MAP_BYTES);
    assert_true(free0 <= map);
    assert_true(free0 > map - MIB);

    MDB_txn *txn = txn_begin(fx, 0);
    for (uint32_t i = 0; i < 16; i++) {
        put_chunk(fx, txn, 1, i, MIB + 16, 1);
    }
    txn_commit(txn);
    assert_int_equal(mstore_free_bytes(fx->m, &free1, NULL), FT_OK);
    assert_true(free1 <= free0 - 16 * MIB);
    assert_true(free1 > free0 - 18 * MIB);

    uint8_t id[MEDIA_FILE_ID_BYTES];
    file_id(id, 1);
    txn = txn_begin(fx, 0);
    assert_int_equal(mstore_chunks_delete(fx->m, txn, id, NULL), FT_OK);
    txn_commit(txn);
    assert_int_equal(mstore_free_bytes(fx->m, &free2, &map), FT_OK);
    assert_int_equal(map, MAP_BYTES);
    assert_true(free2 >= free1 + 16 * MIB);
    assert_true(free2 <= free0);
}

/* Stores file n with nch chunks of len bytes in state st. */
static void store_file(fx_t *fx, unsigned n, uint32_t st, int64_t ingested_ms, uint32_t nch,
                       size_t len)
{
    MDB_txn *txn = txn_begin(fx, 0);
    for (uint32_t i = 0; i < nch; i++) {
        put_chunk(fx, txn, n, i, len, 1);
    }
    mstore_file_t f = file_row(n, st, ingested_ms);
    f.n_chunks = nch;
    assert_int_equal(mstore_file_put(fx->m, txn, &f), FT_OK);
    txn_commit(txn);
}

static uint32_t file_state(fx_t *fx, unsigned n, uint32_t *nch)
{
    uint8_t id[MEDIA_FILE_ID_BYTES];
    file_id(id, n);
    MDB_txn *txn = txn_begin(fx, MDB_RDONLY);
    mstore_file_t f;
    assert_int_equal(mstore_file_get(fx->m, txn, id, &f), FT_OK);
    *nch = 0;
    const uint8_t *data;
    size_t len;
    while (mstore_chunk_get(fx->m, txn, id, *nch, &data, &len) == FT_OK) {
        (*nch)++;
    }
    mdb_txn_abort(txn);
    if (f.state == MFILE_PRUNED) {
        assert_true(f.pruned_ms > 0);
    }
    return f.state;
}

/* The log entries after seq from are media_pruned events, n of them. */
static void assert_pruned_events(fx_t *fx, uint64_t from, unsigned n)
{
    uint64_t head = 0;
    uint8_t hash[ENTRY_HASH_BYTES];
    assert_int_equal(devlog_head(fx->log, &head, hash), FT_OK);
    assert_int_equal(head - from, n);
    for (uint64_t s = from + 1; s <= head; s++) {
        uint8_t *raw = NULL;
        size_t len = 0;
        assert_int_equal(devlog_get(fx->log, s, &raw, &len), FT_OK);
        entry_view_t v;
        assert_int_equal(entry_open(raw, len, &v), FT_OK);
        assert_int_equal(v.entry->body->kind_case, FT__BODY__KIND_EVENT);
        assert_int_equal(v.entry->body->event->kind, FT__DEVICE_EVENT_KIND__MEDIA_PRUNED);
        entry_view_free(&v);
        free(raw);
    }
}

static void prune_takes_only_acked_files_old_ones_then_oldest_first_for_space(void **state)
{
    fx_t *fx = *state;
    const int64_t now = (int64_t)hlc_wall_ms(), day = 86400000;
    /* 1: stored long ago (never pruned); 2: acked long ago; 3, 4, 5: acked
     * recently, oldest first. */
    store_file(fx, 1, MFILE_STORED, now - 30 * day, 2, 300000);
    store_file(fx, 2, MFILE_ACKED, now - 20 * day, 2, 300000);
    store_file(fx, 3, MFILE_ACKED, now - 3000, 4, MIB);
    store_file(fx, 4, MFILE_ACKED, now - 2000, 4, MIB);
    store_file(fx, 5, MFILE_ACKED, now - 1000, 4, MIB);
    uint64_t head = 0;
    uint8_t hash[ENTRY_HASH_BYTES];
    assert_int_equal(devlog_head(fx->log, &head, hash), FT_OK);

    /* Nothing asked: nothing pruned. */
    unsigned pruned = 99;
    assert_int_equal(mstore_prune(fx->m, 0, 0, &pruned), FT_OK);
    assert_int_equal(pruned, 0);
    /* Kept 10 days: only the old acked file goes. */
    assert_int_equal(mstore_prune(fx->m, 10 * (uint64_t)day, 0, &pruned), FT_OK);
    assert_int_equal(pruned, 1);
    assert_pruned_events(fx, head, 1);
    head++;
    uint32_t nch = 0;
    assert_int_equal(file_state(fx, 1, &nch), MFILE_STORED);
    assert_int_equal(nch, 2);
    assert_int_equal(file_state(fx, 2, &nch), MFILE_PRUNED);
    assert_int_equal(nch, 0);
    /* Space for just over what is free: the oldest acked file goes. */
    uint64_t free_bytes = 0;
    assert_int_equal(mstore_free_bytes(fx->m, &free_bytes, NULL), FT_OK);
    assert_int_equal(mstore_prune(fx->m, 10 * (uint64_t)day, free_bytes + 1, &pruned), FT_OK);
    assert_int_equal(pruned, 1);
    assert_pruned_events(fx, head, 1);
    head++;
    assert_int_equal(file_state(fx, 3, &nch), MFILE_PRUNED);
    assert_int_equal(file_state(fx, 4, &nch), MFILE_ACKED);
    assert_int_equal(nch, 4);
    /* More than can ever be free: every acked file, never the stored one;
     * pruned may be NULL. */
    assert_int_equal(mstore_prune(fx->m, 0, (uint64_t)MAP_BYTES * 2, NULL), FT_OK);
    assert_pruned_events(fx, head, 2);
    assert_int_equal(file_state(fx, 4, &nch), MFILE_PRUNED);
    assert_int_equal(file_state(fx, 5, &nch), MFILE_PRUNED);
    assert_int_equal(file_state(fx, 1, &nch), MFILE_STORED);
    assert_int_equal(nch, 2);
    check_read(fx, 1, 1, 300000, 1);
    /* Pruned files are not pruned again. */
    assert_int_equal(mstore_prune(fx->m, 1, (uint64_t)MAP_BYTES * 2, &pruned), FT_OK);
    assert_int_equal(pruned, 0);
}

/* A reserved chunk, filled in place before the commit, reads back like a
 * put one (by pread after the commit, through the view inside the txn). */
static void reserved_chunks_filled_in_place_read_back_like_put_ones(void **state)
{
    fx_t *fx = *state;
    static const size_t lens[] = {0, 16, 4097, MIB + 16};
    enum { N = sizeof lens / sizeof lens[0] };
    uint8_t id[MEDIA_FILE_ID_BYTES];
    file_id(id, 1);
    MDB_txn *txn = txn_begin(fx, 0);
    for (uint32_t i = 0; i < N; i++) {
        uint8_t *dst = NULL;
        assert_int_equal(mstore_chunk_reserve(fx->m, txn, id, i, lens[i], &dst), FT_OK);
        assert_true(lens[i] == 0 || dst != NULL);
        fill(dst, lens[i], 1, i, 3);
    }
    /* Reserving again replaces the value. */
    uint8_t *dst = NULL;
    assert_int_equal(mstore_chunk_reserve(fx->m, txn, id, 1, 300000, &dst), FT_OK);
    fill(dst, 300000, 1, 1, 4);
    check_read_in(fx, txn, 1, 2, lens[2], 3, false);
    txn_commit(txn);
    for (uint32_t i = 0; i < N; i++) {
        if (i == 1) {
            check_read(fx, 1, 1, 300000, 4);
        } else if (lens[i] > 0) {
            check_read(fx, 1, i, lens[i], 3);
        }
    }
}

/* Puts a raw value of len bytes under key in the named database. */
static void put_raw(fx_t *fx, const char *db, const void *key, size_t klen, size_t len)
{
    MDB_txn *txn = txn_begin(fx, 0);
    MDB_dbi dbi;
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    uint8_t *v = calloc(1, len);
    assert_non_null(v);
    MDB_val k = {klen, (void *)key}, d = {len, v};
    assert_int_equal(mdb_put(txn, dbi, &k, &d, 0), 0);
    free(v);
    txn_commit(txn);
}

static void rows_of_another_size_are_ecorrupt_and_leave_the_output_alone(void **state)
{
    fx_t *fx = *state;
    uint8_t id[MEDIA_FILE_ID_BYTES];
    file_id(id, 7);
    put_raw(fx, "mfiles", id, sizeof id, sizeof(mstore_file_t) - 1);
    uint8_t pk[16] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2}; /* dev 1, ino 2 */
    put_raw(fx, "mprogress", pk, sizeof pk, sizeof(mstore_progress_t) + 8);
    uint8_t hash[MEDIA_HASH_BYTES];
    memset(hash, 0x3C, sizeof hash);
    put_raw(fx, "mcontent", hash, sizeof hash, MEDIA_FILE_ID_BYTES + 1);
    put_raw(fx, "mmeta", "storage_full", strlen("storage_full"), 2);

    MDB_txn *txn = txn_begin(fx, MDB_RDONLY);
    mstore_file_t f;
    memset(&f, 0xAB, sizeof f);
    assert_int_equal(mstore_file_get(fx->m, txn, id, &f), FT_ECORRUPT);
    assert_int_equal(f.version, 0xABABABABu);
    mstore_progress_t p;
    memset(&p, 0xAB, sizeof p);
    assert_int_equal(mstore_progress_get(fx->m, txn, 1, 2, &p), FT_ECORRUPT);
    assert_int_equal(p.version, 0xABABABABu);
    uint8_t got[MEDIA_FILE_ID_BYTES];
    memset(got, 0xAB, sizeof got);
    assert_int_equal(mstore_content_get(fx->m, txn, hash, got), FT_ECORRUPT);
    assert_int_equal(got[0], 0xAB);
    uint8_t v = 0xAB;
    assert_int_equal(mstore_meta_get(fx->m, txn, "storage_full", &v, 1), FT_ECORRUPT);
    assert_int_equal(v, 0xAB);
    /* The walks do not skip such rows in silence: they are counted and
     * named, and the walk ends with FT_ECORRUPT. */
    file_visit_t fv = {0};
    lmdbx_unread_t unread = {0};
    assert_int_equal(mstore_file_iter(fx->m, txn, visit_file, &fv, &unread), FT_ECORRUPT);
    assert_int_equal(fv.n, 0);
    assert_int_equal(unread.n, 1);
    assert_string_equal(unread.first_key, "5a5a5a5a5a5a5a5a5a5a5a5a5a5a0007");
    prog_visit_t pv = {0};
    memset(&unread, 0, sizeof unread);
    assert_int_equal(mstore_progress_iter(fx->m, txn, visit_prog, &pv, &unread), FT_ECORRUPT);
    assert_int_equal(pv.n, 0);
    assert_int_equal(unread.n, 1);
    assert_string_equal(unread.first_key, "00000000000000010000000000000002");
    mdb_txn_abort(txn);
}

/* File rows as version 1 wrote them: mstore_file_t of that time, raw (the
 * frozen copy in mstore.c). */
typedef struct {
    uint32_t version;
    uint32_t state;
    uint8_t file_id[16];
    uint64_t size;
    uint32_t chunk_size;
    uint32_t n_chunks;
    uint64_t manifest_seq;
    int64_t ingested_ms, acked_ms, pruned_ms;
    uint64_t served;
    int64_t first_served_ms, last_served_ms;
    uint8_t merkle_root[32];
    uint8_t content_hash[32];
    char name[128];
    char recorder[64];
    uint32_t receipt_len;
    uint8_t receipt[512];
} file_v1_t;

static file_v1_t file_v1_of(const mstore_file_t *f)
{
    file_v1_t o;
    memset(&o, 0x7E, sizeof o); /* what padding and unused bytes happened to hold */
    o.version = 1;
    o.state = f->state;
    memcpy(o.file_id, f->file_id, 16);
    o.size = f->size;
    o.chunk_size = f->chunk_size;
    o.n_chunks = f->n_chunks;
    o.manifest_seq = f->manifest_seq;
    o.ingested_ms = f->ingested_ms;
    o.acked_ms = f->acked_ms;
    o.pruned_ms = f->pruned_ms;
    o.served = f->served;
    o.first_served_ms = f->first_served_ms;
    o.last_served_ms = f->last_served_ms;
    memcpy(o.merkle_root, f->merkle_root, 32);
    memcpy(o.content_hash, f->content_hash, 32);
    memcpy(o.name, f->name, sizeof o.name);
    memcpy(o.recorder, f->recorder, sizeof o.recorder);
    o.receipt_len = f->receipt_len;
    memcpy(o.receipt, f->receipt, f->receipt_len);
    return o;
}

static void file_rows_of_version_1_are_still_read_and_written_back_in_the_codec(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(sizeof(file_v1_t), 872);
    mstore_file_t want = file_row(5, MFILE_ACKED, 1700000000000LL);
    want.acked_ms = 1700000005000LL;
    want.served = 17;
    want.first_served_ms = 1700000001000LL;
    want.last_served_ms = 1700000004000LL;
    want.receipt_len = MSTORE_RECEIPT_MAX;
    memset(want.receipt, 0xC3, MSTORE_RECEIPT_MAX);
    file_v1_t o = file_v1_of(&want);
    MDB_txn *txn = txn_begin(fx, 0);
    MDB_dbi dbi;
    assert_int_equal(mdb_dbi_open(txn, "mfiles", 0, &dbi), 0);
    MDB_val k = {MEDIA_FILE_ID_BYTES, o.file_id}, v = {sizeof o, &o};
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    txn_commit(txn);

    txn = txn_begin(fx, 0);
    mstore_file_t got;
    assert_int_equal(mstore_file_get(fx->m, txn, want.file_id, &got), FT_OK);
    assert_int_equal(got.version, 1);
    got.version = 2;
    assert_memory_equal(&got, &want, sizeof got);
    file_visit_t fv = {0};
    lmdbx_unread_t unread = {0};
    assert_int_equal(mstore_file_iter(fx->m, txn, visit_file, &fv, &unread), FT_OK);
    assert_int_equal(fv.n, 1);
    assert_int_equal(unread.n, 0);
    /* Written back, it is a row of the codec, shorter, that reads the same. */
    assert_int_equal(mstore_file_put(fx->m, txn, &got), FT_OK);
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    assert_true(v.mv_size < sizeof o);
    assert_int_equal(((const uint8_t *)v.mv_data)[0], 'M');
    mstore_file_t again;
    assert_int_equal(mstore_file_get(fx->m, txn, want.file_id, &again), FT_OK);
    assert_int_equal(again.version, 2);
    again.version = 2;
    assert_memory_equal(&again, &want, sizeof again);
    txn_commit(txn);

    /* A version 1 row whose name fills its field without a terminator, or
     * whose receipt is longer than its field, is not one. */
    memset(o.name, 'n', sizeof o.name);
    assert_int_equal(mstore_file_decode((const uint8_t *)&o, sizeof o, &got), FT_ECORRUPT);
    o = file_v1_of(&want);
    o.receipt_len = MSTORE_RECEIPT_MAX + 1;
    assert_int_equal(mstore_file_decode((const uint8_t *)&o, sizeof o, &got), FT_ECORRUPT);
}

static void file_rows_of_the_codec_keep_every_field_and_refuse_a_wrong_length(void **state)
{
    (void)state;
    mstore_file_t f = file_row(9, MFILE_PRUNED, -3);
    f.pruned_ms = INT64_MAX;
    memset(f.name, 0, sizeof f.name);
    memset(f.name, 'x', sizeof f.name - 1); /* the longest name fits */
    snprintf(f.recorder, sizeof f.recorder, "记录仪-BWC-0009");
    f.receipt_len = 0; /* nothing past receipt_len is kept */
    memset(f.receipt, 0, sizeof f.receipt);
    uint8_t buf[MSTORE_FILE_ROW_MAX + 1];
    size_t n = mstore_file_encode(&f, buf, sizeof buf);
    assert_true(n > 0 && n <= MSTORE_FILE_ROW_MAX);
    assert_int_equal(mstore_file_encode(&f, buf, n - 1), 0);
    mstore_file_t got;
    assert_int_equal(mstore_file_decode(buf, n, &got), FT_OK);
    assert_memory_equal(&got, &f, sizeof got);
    assert_int_equal(mstore_file_decode(buf, n - 1, &got), FT_ECORRUPT);
    buf[n] = 0;
    assert_int_equal(mstore_file_decode(buf, n + 1, &got), FT_ECORRUPT);
    buf[1] = 1; /* a version the codec never wrote */
    assert_int_equal(mstore_file_decode(buf, n, &got), FT_ECORRUPT);
    f.receipt_len = MSTORE_RECEIPT_MAX + 1;
    assert_int_equal(mstore_file_encode(&f, buf, sizeof buf), 0);
}

/* The documented limit of mstore_free_bytes: pages freed while a read
 * transaction still holds them count as free already. */
static void free_bytes_count_freed_pages_an_open_reader_still_holds(void **state)
{
    fx_t *fx = *state;
    MDB_txn *txn = txn_begin(fx, 0);
    for (uint32_t i = 0; i < 8; i++) {
        put_chunk(fx, txn, 1, i, MIB + 16, 1);
    }
    txn_commit(txn);
    uint64_t before = 0, after = 0;
    assert_int_equal(mstore_free_bytes(fx->m, &before, NULL), FT_OK);
    MDB_txn *reader = txn_begin(fx, MDB_RDONLY);
    uint8_t id[MEDIA_FILE_ID_BYTES];
    file_id(id, 1);
    txn = txn_begin(fx, 0);
    assert_int_equal(mstore_chunks_delete(fx->m, txn, id, NULL), FT_OK);
    txn_commit(txn);
    assert_int_equal(mstore_free_bytes(fx->m, &after, NULL), FT_OK);
    assert_true(after >= before + 8 * MIB);
    /* The reader still sees the chunks whose pages were counted free. */
    const uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(mstore_chunk_get(fx->m, reader, id, 7, &data, &len), FT_OK);
    assert_int_equal(len, MIB + 16);
    mdb_txn_abort(reader);
}

/* Closes the fixture's log and opens it again with its clock at now_ms. */
static void fx_reopen_with_clock(fx_t *fx, uint64_t now_ms)
{
    fx_close(fx);
    fx->now_ms = now_ms;
    fx_open(fx);
}

static void prune_ages_files_by_the_logs_clock(void **state)
{
    fx_t *fx = *state;
    const int64_t day = 86400000;
    /* The log's clock 100 days ahead of the system's: by the log's clock,
     * file 1 was ingested 20 days ago, file 2 five days ago (by the system
     * clock both lie in the future). */
    const uint64_t now = hlc_wall_ms() + 100 * (uint64_t)day;
    fx_reopen_with_clock(fx, now);
    store_file(fx, 1, MFILE_ACKED, (int64_t)now - 20 * day, 2, 300000);
    store_file(fx, 2, MFILE_ACKED, (int64_t)now - 5 * day, 2, 300000);
    unsigned pruned = 0;
    assert_int_equal(mstore_prune(fx->m, 10 * (uint64_t)day, 0, &pruned), FT_OK);
    assert_int_equal(pruned, 1);
    uint32_t nch = 0;
    assert_int_equal(file_state(fx, 1, &nch), MFILE_PRUNED);
    assert_int_equal(file_state(fx, 2, &nch), MFILE_ACKED);
    uint8_t id[MEDIA_FILE_ID_BYTES];
    file_id(id, 1);
    MDB_txn *txn = txn_begin(fx, MDB_RDONLY);
    mstore_file_t f;
    assert_int_equal(mstore_file_get(fx->m, txn, id, &f), FT_OK);
    assert_int_equal(f.pruned_ms, (int64_t)now);
    mdb_txn_abort(txn);
    /* The clock moves on 6 days: file 2 is old enough now. */
    fx->now_ms = now + 6 * (uint64_t)day;
    assert_int_equal(mstore_prune(fx->m, 10 * (uint64_t)day, 0, &pruned), FT_OK);
    assert_int_equal(pruned, 1);
    assert_int_equal(file_state(fx, 2, &nch), MFILE_PRUNED);
}

/* An ACKED file whose row is of version 1 (the raw struct of before the
 * codec) is pruned like any other: its chunks go, its row says PRUNED (in
 * the codec now), a media_pruned event is logged. */
static void a_file_row_of_version_1_is_pruned(void **state)
{
    fx_t *fx = *state;
    const int64_t day = 86400000;
    const uint64_t now = hlc_wall_ms();
    fx_reopen_with_clock(fx, now);
    store_file(fx, 6, MFILE_ACKED, (int64_t)now - 20 * day, 3, 1000);
    uint8_t id[MEDIA_FILE_ID_BYTES];
    file_id(id, 6);
    MDB_txn *txn = txn_begin(fx, 0);
    mstore_file_t f;
    assert_int_equal(mstore_file_get(fx->m, txn, id, &f), FT_OK);
    file_v1_t o = file_v1_of(&f);
    MDB_dbi dbi;
    assert_int_equal(mdb_dbi_open(txn, "mfiles", 0, &dbi), 0);
    MDB_val k = {MEDIA_FILE_ID_BYTES, id}, v = {sizeof o, &o};
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    txn_commit(txn);
    uint64_t head = 0;
    uint8_t hash[ENTRY_HASH_BYTES];
    assert_int_equal(devlog_head(fx->log, &head, hash), FT_OK);

    unsigned pruned = 0;
    assert_int_equal(mstore_prune(fx->m, 10 * (uint64_t)day, 0, &pruned), FT_OK);
    assert_int_equal(pruned, 1);
    uint32_t nch = 9;
    assert_int_equal(file_state(fx, 6, &nch), MFILE_PRUNED);
    assert_int_equal(nch, 0);
    assert_pruned_events(fx, head, 1);
    txn = txn_begin(fx, MDB_RDONLY);
    assert_int_equal(mstore_file_get(fx->m, txn, id, &f), FT_OK);
    assert_int_equal(f.version, 2);
    assert_true(f.pruned_ms == (int64_t)now);
    assert_string_equal(f.name, "clip-6.mp4");
    mdb_txn_abort(txn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            chunks_of_16_bytes_to_1_mib_16_read_back_byte_for_byte_by_pread, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(absent_chunks_are_not_found_and_a_small_buffer_is_refused,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(reads_stay_right_after_many_more_chunks_moved_the_values,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            reads_stay_right_after_deletes_and_new_chunks_in_their_place, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(chunks_read_inside_a_write_txn_are_right, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(chunks_read_by_pread_after_reopening, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(deleting_a_files_chunks_leaves_its_neighbours, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(file_rows_round_trip_and_are_visited_in_id_order, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(progress_rows_of_version_1_are_still_read, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(
            file_rows_of_version_1_are_still_read_and_written_back_in_the_codec, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            file_rows_of_the_codec_keep_every_field_and_refuse_a_wrong_length, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(progress_rows_keep_supersedes_and_the_done_facts, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(inbox_rows_round_trip_by_inode_and_path, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(progress_rows_round_trip_by_dev_and_inode, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(content_index_and_meta_values_round_trip, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(free_bytes_fall_with_chunks_and_rise_when_they_are_deleted,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            prune_takes_only_acked_files_old_ones_then_oldest_first_for_space, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(
            rows_of_another_size_are_ecorrupt_and_leave_the_output_alone, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(free_bytes_count_freed_pages_an_open_reader_still_holds,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(prune_ages_files_by_the_logs_clock, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(a_file_row_of_version_1_is_pruned, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(reserved_chunks_filled_in_place_read_back_like_put_ones,
                                        fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
