/* ft_rowtool: test helper that turns the file rows of a state directory back
 * into the rows of version 1 -- the raw C structs the hub's media database
 * and the edge's media store wrote before the row codec -- so that a test
 * can check that what today's state directories hold is still read.
 *   ft_rowtool DBDIR files    hub: STATE/mediadb, every file row
 *   ft_rowtool DBDIR mfiles   edge: STATE/db, every file row
 * prints how many rows it rewrote. The structs below are frozen copies of
 * hub_mfile_t (hub/media/mediapull.h) and mstore_file_t (edge/mstore.h) as
 * they were at version 1, kept here on their own (not shared with the
 * decoders), so that a decoder that drifts from them fails the test
 * (tests/media/rows_of_version_1.sh). */
#include "mediadb.h"
#include "mstore.h"

#include <lmdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* hub_mfile_t, version 1. */
typedef struct {
    uint32_t version; /* 1 */
    uint32_t state;   /* hmf_state */
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    uint8_t device[DEVID_BYTES];
    uint64_t epoch, seq; /* the manifest entry in the store */
    uint64_t size;
    uint32_t chunk_size, n_chunks;
    uint32_t held, bad;  /* chunks held / refused */
    uint64_t dup_chunks; /* chunks received again after they were held */
    int64_t indexed_ms, first_ms, last_ms, completed_ms;
    uint8_t merkle_root[MEDIA_HASH_BYTES];
    uint8_t content_hash[MEDIA_HASH_BYTES];
} hub_mfile_v1_t;

/* mstore_file_t, version 1. */
typedef struct {
    uint32_t version; /* 1 */
    uint32_t state;   /* mfile_state */
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    uint64_t size;         /* plaintext bytes */
    uint32_t chunk_size;   /* plaintext bytes per chunk */
    uint32_t n_chunks;     /* chunks stored */
    uint64_t manifest_seq; /* its manifest entry in the log */
    int64_t ingested_ms, acked_ms, pruned_ms;
    uint64_t served; /* chunks sent to the hub (all attempts) */
    int64_t first_served_ms, last_served_ms;
    uint8_t merkle_root[MEDIA_HASH_BYTES];
    uint8_t content_hash[MEDIA_HASH_BYTES];
    char name[128];    /* inbox file name */
    char recorder[64]; /* recorder number */
    uint32_t receipt_len;
    uint8_t receipt[MSTORE_RECEIPT_MAX]; /* SignedMediaReceipt bytes */
} mstore_file_v1_t;

static size_t hub_v1(const uint8_t *v, size_t n, uint8_t *out)
{
    hub_mfile_t f;
    if (hub_mfile_decode(v, n, &f) != FT_OK) {
        return 0;
    }
    hub_mfile_v1_t o;
    memset(&o, 0xEE, sizeof o); /* padding bytes as they happened to be */
    o.version = 1;
    o.state = f.state;
    memcpy(o.file_id, f.file_id, sizeof o.file_id);
    memcpy(o.device, f.device, sizeof o.device);
    o.epoch = f.epoch;
    o.seq = f.seq;
    o.size = f.size;
    o.chunk_size = f.chunk_size;
    o.n_chunks = f.n_chunks;
    o.held = f.held;
    o.bad = f.bad;
    o.dup_chunks = f.dup_chunks;
    o.indexed_ms = f.indexed_ms;
    o.first_ms = f.first_ms;
    o.last_ms = f.last_ms;
    o.completed_ms = f.completed_ms;
    memcpy(o.merkle_root, f.merkle_root, sizeof o.merkle_root);
    memcpy(o.content_hash, f.content_hash, sizeof o.content_hash);
    memcpy(out, &o, sizeof o);
    return sizeof o;
}

static size_t edge_v1(const uint8_t *v, size_t n, uint8_t *out)
{
    mstore_file_t f;
    if (mstore_file_decode(v, n, &f) != FT_OK) {
        return 0;
    }
    mstore_file_v1_t o;
    memset(&o, 0, sizeof o); /* as the edge made them: from a zeroed struct */
    o.version = 1;
    o.state = f.state;
    memcpy(o.file_id, f.file_id, sizeof o.file_id);
    o.size = f.size;
    o.chunk_size = f.chunk_size;
    o.n_chunks = f.n_chunks;
    o.manifest_seq = f.manifest_seq;
    o.ingested_ms = f.ingested_ms;
    o.acked_ms = f.acked_ms;
    o.pruned_ms = f.pruned_ms;
    o.served = f.served;
    o.first_served_ms = f.first_served_ms;
    o.last_served_ms = f.last_served_ms;
    memcpy(o.merkle_root, f.merkle_root, sizeof o.merkle_root);
    memcpy(o.content_hash, f.content_hash, sizeof o.content_hash);
    memcpy(o.name, f.name, sizeof o.name);
    memcpy(o.recorder, f.recorder, sizeof o.recorder);
    o.receipt_len = f.receipt_len;
    memcpy(o.receipt, f.receipt, f.receipt_len);
    memcpy(out, &o, sizeof o);
    return sizeof o;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[2], "files") != 0 && strcmp(argv[2], "mfiles") != 0)) {
        fprintf(stderr, "usage: ft_rowtool DBDIR files|mfiles\n");
        return 2;
    }
    bool hub = strcmp(argv[2], "files") == 0;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    int rc = mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 32);
    mdb_env_set_mapsize(env, (size_t)65536 << 20);
    if ((rc = mdb_env_open(env, argv[1], MDB_NOTLS, 0600)) != 0 ||
        (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
        (rc = mdb_dbi_open(txn, argv[2], 0, &dbi)) != 0 ||
        (rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
        fprintf(stderr, "ft_rowtool: %s: %s\n", argv[1], mdb_strerror(rc));
        return 1;
    }
    /* Collected first, rewritten after: no put under a moving cursor. */
    struct {
        uint8_t key[16];
        uint8_t row[1024];
        size_t len;
    } *rows = NULL;
    size_t n = 0, bad = 0;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        rows = realloc(rows, (n + 1) * sizeof *rows);
        if (!rows || k.mv_size != 16) {
            return 1;
        }
        memcpy(rows[n].key, k.mv_data, 16);
        rows[n].len = hub ? hub_v1(v.mv_data, v.mv_size, rows[n].row)
                          : edge_v1(v.mv_data, v.mv_size, rows[n].row);
        bad += rows[n].len == 0;
        n++;
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND || bad) {
        fprintf(stderr, "ft_rowtool: %zu rows that do not decode (%s)\n", bad, mdb_strerror(rc));
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        MDB_val key = {16, rows[i].key}, val = {rows[i].len, rows[i].row};
        if ((rc = mdb_put(txn, dbi, &key, &val, 0)) != 0) {
            fprintf(stderr, "ft_rowtool: put: %s\n", mdb_strerror(rc));
            return 1;
        }
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
        fprintf(stderr, "ft_rowtool: commit: %s\n", mdb_strerror(rc));
        return 1;
    }
    mdb_env_close(env);
    free(rows);
    printf("%zu\n", n);
    return 0;
}
