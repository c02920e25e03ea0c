/* ft_mtool: test helper that looks into (and damages) an edge's media store
 * and the hub's media database.
 *   ft_mtool DBDIR flip FILE_ID_HEX INDEX   flips one byte of a stored chunk
 *   ft_mtool DBDIR count DBI                prints the number of rows in DBI
 *   ft_mtool MEDIADB setstate FILE_ID_HEX N sets the state of a hub file row
 *                                           (either row format: the raw
 *                                           struct of version 1, or 'F' 2)
 * Used only by the scripts in tests/media; it opens the LMDB environment directly. */
#include <lmdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "ft_mtool: %s: %s\n", what, mdb_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: ft_mtool DBDIR flip FILE_ID INDEX | count DBI\n");
        return 2;
    }
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    int rc = mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 32);
    mdb_env_set_mapsize(env, (size_t)65536 << 20);
    if ((rc = mdb_env_open(env, argv[1], MDB_NOTLS, 0600)) != 0) {
        return fail("open", rc);
    }
    /* count only reads: a read-only transaction, so that it never waits for
     * a writer (an ingest holds the write lock while it reads its file). */
    bool counting = strcmp(argv[2], "count") == 0;
    if ((rc = mdb_txn_begin(env, NULL, counting ? MDB_RDONLY : 0, &txn)) != 0) {
        return fail("begin", rc);
    }
    if (counting) {
        MDB_stat st;
        if ((rc = mdb_dbi_open(txn, argv[3], 0, &dbi)) != 0 || (rc = mdb_stat(txn, dbi, &st))) {
            return fail("stat", rc);
        }
        printf("%zu\n", st.ms_entries);
        mdb_txn_abort(txn);
        mdb_env_close(env);
        return 0;
    }
    bool setstate = strcmp(argv[2], "setstate") == 0;
    if ((strcmp(argv[2], "flip") != 0 && !setstate) || argc != 5 || strlen(argv[3]) != 32) {
        return 2;
    }
    unsigned char key[20];
    for (int i = 0; i < 16; i++) {
        unsigned v;
        sscanf(argv[3] + 2 * i, "%2x", &v);
        key[i] = (unsigned char)v;
    }
    unsigned long idx = strtoul(argv[4], NULL, 10);
    if (setstate) {
        if ((rc = mdb_dbi_open(txn, "files", 0, &dbi)) != 0) {
            return fail("dbi", rc);
        }
        MDB_val k = {16, key}, v;
        if ((rc = mdb_get(txn, dbi, &k, &v)) != 0) {
            return fail("get", rc);
        }
        unsigned char *row = malloc(v.mv_size);
        memcpy(row, v.mv_data, v.mv_size);
        if (v.mv_size >= 3 && row[0] == 'F' && row[1] == 2) {
            row[2] = (unsigned char)idx; /* the codec: magic, version, state */
        } else if (v.mv_size == 184) {
            unsigned s = (unsigned)idx; /* version 1: u32 version, u32 state, host order */
            memcpy(row + 4, &s, 4);
        } else {
            fprintf(stderr, "ft_mtool: a file row of %zu bytes is neither format\n", v.mv_size);
            return 1;
        }
        MDB_val nv = {v.mv_size, row};
        if ((rc = mdb_put(txn, dbi, &k, &nv, 0)) != 0 || (rc = mdb_txn_commit(txn)) != 0) {
            return fail("put", rc);
        }
        free(row);
        mdb_env_close(env);
        printf("file row state set to %lu\n", idx);
        return 0;
    }
    key[16] = (unsigned char)(idx >> 24);
    key[17] = (unsigned char)(idx >> 16);
    key[18] = (unsigned char)(idx >> 8);
    key[19] = (unsigned char)idx;
    if ((rc = mdb_dbi_open(txn, "mchunks", 0, &dbi)) != 0) {
        return fail("dbi", rc);
    }
    MDB_val k = {sizeof key, key}, v;
    if ((rc = mdb_get(txn, dbi, &k, &v)) != 0) {
        return fail("get", rc);
    }
    unsigned char *copy = malloc(v.mv_size);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[v.mv_size / 2] ^= 0x5a;
    MDB_val nv = {v.mv_size, copy};
    if ((rc = mdb_put(txn, dbi, &k, &nv, 0)) != 0 || (rc = mdb_txn_commit(txn)) != 0) {
        return fail("put", rc);
    }
    free(copy);
    mdb_env_close(env);
    printf("flipped a byte of chunk %lu\n", idx);
    return 0;
}
