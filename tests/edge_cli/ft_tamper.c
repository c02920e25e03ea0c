/* ft_tamper.c: damages one stored device-log entry, for the edge CLI tests.
 *
 * Acts directly on the LMDB environment of a state directory (STATE/db),
 * database "log", key = 8-byte big-endian seq, value = the stored entry as
 * common/lmdb/devlog.h describes it (on the edge: encrypted at rest, or a pruned
 * entry's stub; a SignedEntry in plaintext in logs written before that). It
 * plays the part of someone editing the database behind the program's back,
 * so it deliberately does not use common/: a test that went through devlog
 * could not tamper with it.
 *
 *   ft_tamper DBDIR len SEQ            prints the stored entry's length
 *   ft_tamper DBDIR flip SEQ OFFSET    XORs the byte at OFFSET with 0xff
 *                                      (flipping the same byte again undoes it)
 *   ft_tamper DBDIR delete SEQ         removes the entry, leaving meta alone
 *
 * Exit status: 0 done, 1 failure (no such entry, offset out of range, LMDB
 * error; the reason is on stderr), 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses a whole unsigned decimal number; 0 on success. */
static int parse_u64(const char *text, uint64_t *out)
{
    if (!text || text[0] < '0' || text[0] > '9') {
        return -1;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0') {
        return -1;
    }
    *out = v;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: ft_tamper DBDIR len SEQ\n"
                    "       ft_tamper DBDIR flip SEQ OFFSET\n"
                    "       ft_tamper DBDIR delete SEQ\n");
}

/* Performs op on entry seq in the open write transaction; 0 or 1. */
static int tamper(MDB_txn *txn, MDB_dbi dbi, const char *op, uint64_t seq, uint64_t offset)
{
    uint8_t key[8];
    for (int i = 7; i >= 0; i--) {
        key[i] = (uint8_t)(seq >> (8 * (7 - i)));
    }
    MDB_val k = {sizeof key, key}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
        fprintf(stderr, "ft_tamper: no entry %" PRIu64 " in the log\n", seq);
        return 1;
    }
    if (rc != MDB_SUCCESS) {
        fprintf(stderr, "ft_tamper: reading entry %" PRIu64 ": %s\n", seq, mdb_strerror(rc));
        return 1;
    }
    if (strcmp(op, "len") == 0) {
        printf("%zu\n", v.mv_size);
        return 0;
    }
    if (strcmp(op, "delete") == 0) {
        rc = mdb_del(txn, dbi, &k, NULL);
    } else {
        if (offset >= v.mv_size) {
            fprintf(stderr, "ft_tamper: offset %" PRIu64 " is past entry %" PRIu64 " (%zu bytes)\n",
                    offset, seq, v.mv_size);
            return 1;
        }
        uint8_t *copy = malloc(v.mv_size);
        if (!copy) {
            fprintf(stderr, "ft_tamper: out of memory\n");
            return 1;
        }
        memcpy(copy, v.mv_data, v.mv_size);
        copy[offset] ^= 0xff;
        MDB_val nv = {v.mv_size, copy};
        rc = mdb_put(txn, dbi, &k, &nv, 0);
        free(copy);
    }
    if (rc != MDB_SUCCESS) {
        fprintf(stderr, "ft_tamper: %s entry %" PRIu64 ": %s\n", op, seq, mdb_strerror(rc));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t seq = 0, offset = 0;
    if (argc < 4 || parse_u64(argv[3], &seq) != 0) {
        usage();
        return 2;
    }
    const char *op = argv[2];
    int flip = strcmp(op, "flip") == 0;
    if ((flip && (argc != 5 || parse_u64(argv[4], &offset) != 0)) ||
        (!flip && (argc != 4 || (strcmp(op, "len") != 0 && strcmp(op, "delete") != 0)))) {
        usage();
        return 2;
    }
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    int status = 1;
    int rc = mdb_env_create(&env);
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_maxdbs(env, 16);
    }
    if (rc == MDB_SUCCESS) {
        /* No map size is set: LMDB takes the one recorded in the environment. */
        rc = mdb_env_open(env, argv[1], MDB_NOTLS, 0600);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_dbi_open(txn, "log", 0, &dbi);
    }
    if (rc != MDB_SUCCESS) {
        fprintf(stderr, "ft_tamper: cannot open the log in %s: %s\n", argv[1], mdb_strerror(rc));
        goto done;
    }
    status = tamper(txn, dbi, op, seq, offset);
    if (status == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
        if (rc != MDB_SUCCESS) {
            fprintf(stderr, "ft_tamper: commit: %s\n", mdb_strerror(rc));
            status = 1;
        }
    }
done:
    if (txn) {
        mdb_txn_abort(txn);
    }
    if (env) {
        mdb_env_close(env);
    }
    return status;
}
