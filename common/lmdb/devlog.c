/* devlog.c: the device log (see devlog.h for layout and the state machine).
 *
 * Invariants kept by every committed transaction:
 *   - log holds seq 1..head_seq, each entry's seq field equals its key;
 *   - entry N's prev_hash is the entry hash of entry N-1 (zeros for N = 1);
 *   - meta.head_hash is the entry hash of entry head_seq;
 *   - meta.hlc >= the hlc of every entry (so restarts never go backwards).
 * With at-rest encryption also:
 *   - every sealed value's bucket has a row in buckets, whose first..last
 *     seq range holds it, and (unless the row is pruned) a key in the key
 *     file that was durable before the value committed;
 *   - bucket ids grow with seq and are > bucket_floor for every live row;
 *   - stubs are exactly seq 1..pruned_upto; a pruned row's key is dropped
 *     from the key file at the latest by the next devlog_prune.
 * devlog_verify checks the first three from the stored bytes alone.
 */
#include "devlog.h"
#include "fsutil.h"
#include "hlc.h"
#include "lmdbx.h"
#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define VAL_PLAIN 0x0a  /* SignedEntry: protobuf field 1, length-delimited */
#define VAL_SEALED 0xE1 /* marker | bucket | nonce | ciphertext || tag */
#define VAL_STUB 0xD1   /* marker | seq | hash | signature */
#define SEALED_HEAD (1 + 8 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
#define SEALED_MIN (SEALED_HEAD + crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define STUB_BYTES (1 + 8 + ENTRY_HASH_BYTES + ENTRY_SIG_BYTES)
#define BUCKET_KEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define BUCKET_MS 86400000ULL
#define ROW_BYTES 32 /* first seq, last seq, newest hlc, pruned ms (0: kept) */
/* Key file: magic, version, floor, count, count x (bucket, key), BLAKE2b-256. */
#define KF_MAGIC "FTLOGKEY"
#define KF_HEAD (8 + 4 + 8 + 4)
#define KF_ITEM (8 + BUCKET_KEY_BYTES)
#define KF_MAX_KEYS 100000

static const char val_domain[] = "fieldtrail/logval/v1"; /* associated data, with its NUL */
static const char kf_domain[] = "fieldtrail/logkeys/v1"; /* key file checksum, with its NUL */

/* One bucket key in memory. */
typedef struct {
    uint64_t bucket;
    uint8_t key[BUCKET_KEY_BYTES];
} bkey_t;

struct devlog_t {
    MDB_env *env;                /* the state directory's environment */
    MDB_dbi log_dbi;             /* seq -> stored value */
    MDB_dbi meta_dbi;            /* head, epoch, device, hlc, at-rest state */
    MDB_dbi ids_dbi;             /* record id -> seq || content hash */
    MDB_dbi buckets_dbi;         /* bucket -> row (at rest only) */
    keys_t keys;                 /* signer (wiped on destroy) */
    uint8_t device[DEVID_BYTES]; /* this log's device ID */
    uint64_t epoch;              /* chosen at creation */
    devlog_clock_fn clock;       /* wall clock */
    void *clock_ctx;             /* its context */
    bool at_rest;                /* entries are encrypted at rest */
    char keys_path[4200];        /* DIR/bucket.keys */
    char lock_path[4200];        /* DIR/bucket.keys.lock */
    pthread_mutex_t mu;          /* guards the key cache (run's threads share the log) */
    bool mu_init;
    bkey_t *bk;        /* cached bucket keys (wiped when dropped or freed) */
    size_t n_bk;       /* how many */
    uint64_t bk_floor; /* the key file's floor as last loaded */
};

struct devlog_txn_t {
    devlog_t *log;                       /* owner */
    MDB_txn *txn;                        /* the write transaction */
    uint64_t head_seq;                   /* head as of this txn */
    uint8_t head_hash[ENTRY_HASH_BYTES]; /* hash of head */
    hlc_t hlc;                           /* clock as of this txn */
    bool dirty;                          /* an append failed: abort only */
    uint64_t floor;                      /* bucket_floor as of this txn (at rest) */
    bool have_row;                       /* row holds the newest bucket's row */
    uint64_t row_bucket;                 /* that bucket */
    uint64_t row[4];                     /* first, last, newest hlc, pruned ms */
};

/* A growable buffer for decrypted entries; wiped before it is freed. */
typedef struct {
    uint8_t *p;
    size_t cap;
} plainbuf_t;

static void plainbuf_free(plainbuf_t *b)
{
    if (b->p) {
        sodium_memzero(b->p, b->cap);
        free(b->p);
    }
    b->p = NULL;
    b->cap = 0;
}

static int plainbuf_reserve(plainbuf_t *b, size_t n)
{
    if (b->cap >= n) {
        return FT_OK;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < n) {
        cap *= 2;
    }
    uint8_t *p = malloc(cap);
    if (!p) {
        return FT_ENOMEM;
    }
    plainbuf_free(b);
    b->p = p;
    b->cap = cap;
    return FT_OK;
}

static uint64_t system_clock(void *ctx)
{
    (void)ctx;
    return hlc_wall_ms();
}

uint64_t devlog_wall_ms(devlog_t *log)
{
    return log->clock(log->clock_ctx);
}

uint64_t devlog_bucket_of_ms(uint64_t unix_ms)
{
    return unix_ms / BUCKET_MS;
}

/* ---- bucket keys: the key file and the cache --------------------------- */

static void bkeys_free(bkey_t **v, size_t *n)
{
    if (*v) {
        sodium_memzero(*v, *n * sizeof **v);
        free(*v);
    }
    *v = NULL;
    *n = 0;
}

/* Parses key file bytes. FT_OK, FT_ECORRUPT, FT_ENOMEM. */
static int keyfile_parse(const uint8_t *buf, size_t len, bkey_t **out, size_t *n_out,
                         uint64_t *floor)
{
    *out = NULL;
    *n_out = 0;
    if (len < KF_HEAD + ENTRY_HASH_BYTES || memcmp(buf, KF_MAGIC, 8) != 0 ||
        lmdbx_get_u64(buf + 8) >> 32 != 1) {
        return FT_ECORRUPT;
    }
    uint64_t n = lmdbx_get_u64(buf + 16) & 0xffffffffULL;
    if (n > KF_MAX_KEYS || len != KF_HEAD + n * KF_ITEM + ENTRY_HASH_BYTES) {
        return FT_ECORRUPT;
    }
    uint8_t sum[ENTRY_HASH_BYTES];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof sum);
    crypto_generichash_update(&st, (const uint8_t *)kf_domain, sizeof kf_domain);
    crypto_generichash_update(&st, buf, len - sizeof sum);
    crypto_generichash_final(&st, sum, sizeof sum);
    if (sodium_memcmp(sum, buf + len - sizeof sum, sizeof sum) != 0) {
        return FT_ECORRUPT;
    }
    /* floor: bytes 12..19 (after the 4-byte version). */
    *floor = lmdbx_get_u64(buf + 12);
    bkey_t *v = NULL;
    if (n > 0) {
        v = malloc(n * sizeof *v);
        if (!v) {
            return FT_ENOMEM;
        }
    }
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *item = buf + KF_HEAD + i * KF_ITEM;
        v[i].bucket = lmdbx_get_u64(item);
        memcpy(v[i].key, item + 8, BUCKET_KEY_BYTES);
    }
    *out = v;
    *n_out = (size_t)n;
    return FT_OK;
}

/* Reads the key file. FT_ENOTFOUND if there is none. */
static int keyfile_read(const devlog_t *log, bkey_t **out, size_t *n, uint64_t *floor)
{
    char *buf = NULL;
    size_t len = 0;
    *out = NULL;
    *n = 0;
    *floor = 0;
    int err = fsutil_read_all(log->keys_path, &buf, &len);
    if (err != FT_OK) {
        return err;
    }
    err = keyfile_parse((const uint8_t *)buf, len, out, n, floor);
    sodium_memzero(buf, len);
    free(buf);
    return err;
}

/* Writes the key file crash-safely (temp, fsync, rename, fsync dir), 0600. */
static int keyfile_write(const devlog_t *log, const bkey_t *v, size_t n, uint64_t floor)
{
    size_t len = KF_HEAD + n * KF_ITEM + ENTRY_HASH_BYTES;
    uint8_t *buf = malloc(len);
    if (!buf) {
        return FT_ENOMEM;
    }
    memcpy(buf, KF_MAGIC, 8);
    uint8_t b8[8];
    lmdbx_put_u64(b8, 1);
    memcpy(buf + 8, b8 + 4, 4); /* version 1, u32be */
    lmdbx_put_u64(buf + 12, floor);
    lmdbx_put_u64(b8, n);
    memcpy(buf + 20, b8 + 4, 4); /* count, u32be */
    for (size_t i = 0; i < n; i++) {
        uint8_t *item = buf + KF_HEAD + i * KF_ITEM;
        lmdbx_put_u64(item, v[i].bucket);
        memcpy(item + 8, v[i].key, BUCKET_KEY_BYTES);
    }
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, ENTRY_HASH_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)kf_domain, sizeof kf_domain);
    crypto_generichash_update(&st, buf, len - ENTRY_HASH_BYTES);
    crypto_generichash_final(&st, buf + len - ENTRY_HASH_BYTES, ENTRY_HASH_BYTES);
    int err = fsutil_write_atomic(log->keys_path, buf, len, 0600);
    sodium_memzero(buf, len);
    free(buf);
    return err;
}

/* Takes the key file's lock (flock, exclusive): *fd to keyfile_unlock. */
static int keyfile_lock(const devlog_t *log, int *fd)
{
    *fd = open(log->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0) {
        return errno == ENOSPC ? FT_EFULL : FT_EIO;
    }
    while (flock(*fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            close(*fd);
            *fd = -1;
            return FT_EIO;
        }
    }
    return FT_OK;
}

static void keyfile_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

/* Replaces the cache with what the key file holds. Call with mu held. */
static int cache_reload(devlog_t *log)
{
    bkey_t *v = NULL;
    size_t n = 0;
    uint64_t floor = 0;
    int err = keyfile_read(log, &v, &n, &floor);
    if (err != FT_OK) {
        return err;
    }
    bkeys_free(&log->bk, &log->n_bk);
    log->bk = v;
    log->n_bk = n;
    log->bk_floor = floor;
    return FT_OK;
}

/* Looks bucket up in the cache. Call with mu held. */
static const bkey_t *cache_find(const devlog_t *log, uint64_t bucket)
{
    for (size_t i = 0; i < log->n_bk; i++) {
        if (log->bk[i].bucket == bucket) {
            return &log->bk[i];
        }
    }
    return NULL;
}

/* Copies bucket's key into key: from the cache, else the key file. FT_OK;
 * FT_EAGAIN if the bucket's key was dropped (a prune since the caller's
 * snapshot: read again); FT_EKEY if it is not there although it should be. */
static int bucket_key(devlog_t *log, uint64_t bucket, uint8_t key[BUCKET_KEY_BYTES])
{
    pthread_mutex_lock(&log->mu);
    const bkey_t *k = cache_find(log, bucket);
    int err = FT_OK;
    if (!k) {
        err = cache_reload(log);
        k = err == FT_OK ? cache_find(log, bucket) : NULL;
    }
    if (k) {
        memcpy(key, k->key, BUCKET_KEY_BYTES);
        err = FT_OK;
    } else if (err == FT_OK || err == FT_ENOTFOUND) {
        err = bucket <= log->bk_floor ? FT_EAGAIN : FT_EKEY;
    }
    pthread_mutex_unlock(&log->mu);
    return err;
}

/* The key of a bucket no committed entry uses yet: found in the key file,
 * or made, written durably and then cached. Called inside the write txn
 * (which keeps every other appender and pruner out), under the flock, so
 * two processes never make two keys for one bucket or lose one. */
static int bucket_key_make(devlog_t *log, uint64_t bucket, uint64_t log_floor,
                           uint8_t key[BUCKET_KEY_BYTES])
{
    int fd = -1;
    bkey_t *v = NULL;
    size_t n = 0;
    uint64_t floor = 0;
    pthread_mutex_lock(&log->mu);
    int err = keyfile_lock(log, &fd);
    if (err == FT_OK) {
        err = keyfile_read(log, &v, &n, &floor);
    }
    if (err == FT_ENOTFOUND) {
        err = FT_OK;
    }
    if (err != FT_OK) {
        goto done;
    }
    if (bucket <= floor) {
        err = FT_ECORRUPT; /* the log's floor is behind the key file's */
        goto done;
    }
    if (log_floor > floor) {
        floor = log_floor; /* e.g. a key file made again after all its keys were dropped */
    }
    bool found = false;
    for (size_t i = 0; i < n && !found; i++) {
        if (v[i].bucket == bucket) {
            memcpy(key, v[i].key, BUCKET_KEY_BYTES);
            found = true;
        }
    }
    if (!found) {
        bkey_t *grown = malloc((n + 1) * sizeof *grown);
        if (!grown) {
            err = FT_ENOMEM;
            goto done;
        }
        if (n > 0) {
            memcpy(grown, v, n * sizeof *grown);
        }
        size_t kept = n;
        bkeys_free(&v, &n);
        v = grown;
        n = kept + 1;
        v[kept].bucket = bucket;
        crypto_aead_xchacha20poly1305_ietf_keygen(v[kept].key);
        err = keyfile_write(log, v, n, floor);
        if (err != FT_OK) {
            goto done;
        }
        memcpy(key, v[kept].key, BUCKET_KEY_BYTES);
    }
    bkeys_free(&log->bk, &log->n_bk);
    log->bk = v;
    log->n_bk = n;
    log->bk_floor = floor;
    v = NULL;
    n = 0;
done:
    bkeys_free(&v, &n);
    keyfile_unlock(fd);
    pthread_mutex_unlock(&log->mu);
    return err;
}

/* Creates meta for a new log, or checks that an existing one is ours. */
static int init_meta(devlog_t *log, MDB_txn *txn)
{
    uint8_t stored[DEVID_BYTES];
    int err = lmdbx_get_meta(txn, log->meta_dbi, "device", stored, sizeof stored);
    if (err == FT_OK) {
        if (memcmp(stored, log->device, DEVID_BYTES) != 0) {
            return FT_EKEY;
        }
        return lmdbx_get_meta_u64(txn, log->meta_dbi, "epoch", &log->epoch);
    }
    if (err != FT_ENOTFOUND) {
        return err;
    }
    do {
        randombytes_buf(&log->epoch, sizeof log->epoch);
        log->epoch &= (1ULL << 53) - 1; /* exact in JSON readers that use doubles */
    } while (log->epoch == 0);
    uint8_t zero[ENTRY_HASH_BYTES] = {0};
    err = lmdbx_put_meta(txn, log->meta_dbi, "device", log->device, DEVID_BYTES);
    if (err == FT_OK) {
        err = lmdbx_put_meta_u64(txn, log->meta_dbi, "epoch", log->epoch);
    }
    if (err == FT_OK) {
        err = lmdbx_put_meta_u64(txn, log->meta_dbi, "head_seq", 0);
    }
    if (err == FT_OK) {
        err = lmdbx_put_meta(txn, log->meta_dbi, "head_hash", zero, sizeof zero);
    }
    if (err == FT_OK) {
        err = lmdbx_put_meta_u64(txn, log->meta_dbi, "hlc", 0);
    }
    return err;
}

/* Turns at-rest encryption on for a log that does not have it yet: entries
 * up to the head stay plaintext ("at_rest_from" is the first sealed seq). */
static int rest_enable(devlog_t *log, MDB_txn *txn)
{
    uint64_t head = 0;
    int err = lmdbx_get_meta_u64(txn, log->meta_dbi, "head_seq", &head);
    if (err == FT_OK) {
        err = lmdbx_put_meta_u64(txn, log->meta_dbi, "at_rest_from", head + 1);
    }
    if (err == FT_OK) {
        err = lmdbx_put_meta_u64(txn, log->meta_dbi, "bucket_floor", 0);
    }
    if (err == FT_OK) {
        err = lmdbx_put_meta_u64(txn, log->meta_dbi, "legacy_pruned", 0);
    }
    if (err == FT_OK) {
        err = lmdbx_put_meta_u64(txn, log->meta_dbi, "pruned_upto", 0);
    }
    return err;
}

/* A bucket row whose entries are kept (not pruned): its key is needed. */
static bool bucket_kept(const MDB_val *v)
{
    return v->mv_size == ROW_BYTES && lmdbx_get_u64((const uint8_t *)v->mv_data + 24) == 0;
}

static int kept_row_found(void *ctx, const lmdbx_row_t *row)
{
    (void)ctx;
    return bucket_kept(&row->val) ? 1 : 0;
}

/* True if buckets has a row whose entries are kept (their key is needed). */
static int rest_has_kept_rows(devlog_t *log, MDB_txn *txn, bool *kept)
{
    int rc = lmdbx_scan(txn, log->buckets_dbi, NULL, NULL, kept_row_found, NULL);
    *kept = rc == 1;
    return rc == 1 ? FT_OK : rc;
}

/* Sets up at-rest state in the opening transaction: turns it on if asked,
 * opens buckets, checks that the key file is there when a key is needed. */
static int rest_open(devlog_t *log, MDB_txn *txn, bool want)
{
    uint64_t from = 0;
    int err = lmdbx_get_meta_u64(txn, log->meta_dbi, "at_rest_from", &from);
    if (err == FT_ENOTFOUND && want) {
        err = rest_enable(log, txn);
    } else if (err == FT_ENOTFOUND) {
        return FT_OK; /* plaintext log (the hub) */
    }
    if (err != FT_OK) {
        return err;
    }
    log->at_rest = true;
    err = lmdbx_err(mdb_dbi_open(txn, "buckets", MDB_CREATE, &log->buckets_dbi));
    if (err != FT_OK) {
        return err;
    }
    pthread_mutex_lock(&log->mu);
    err = cache_reload(log);
    pthread_mutex_unlock(&log->mu);
    if (err == FT_ENOTFOUND) {
        bool kept = false;
        err = rest_has_kept_rows(log, txn, &kept);
        if (err == FT_OK && kept) {
            err = FT_ENOTFOUND; /* the keys of kept entries are gone */
        }
    }
    return err;
}

int devlog_open(const char *dir, const keys_t *keys, const devlog_opts_t *opts, devlog_t **out)
{
    *out = NULL;
    if (sodium_init() < 0) {
        return FT_ECRYPTO;
    }
    devlog_t *log = calloc(1, sizeof *log);
    if (!log) {
        return FT_ENOMEM;
    }
    if (pthread_mutex_init(&log->mu, NULL) != 0) {
        free(log);
        return FT_ENOMEM;
    }
    log->mu_init = true;
    log->keys = *keys;
    devid_from_pk(keys->sign_pk, log->device);
    log->clock = opts && opts->clock ? opts->clock : system_clock;
    log->clock_ctx = opts ? opts->clock_ctx : NULL;
    int err = fsutil_join(log->keys_path, sizeof log->keys_path, dir, DEVLOG_KEYS_FILE);
    if (err == FT_OK) {
        err = fsutil_join(log->lock_path, sizeof log->lock_path, dir, DEVLOG_KEYS_LOCK);
    }
    if (err != FT_OK) {
        goto fail;
    }
    size_t map = opts && opts->map_size ? opts->map_size : DEVLOG_DEFAULT_MAP_SIZE;
    err = lmdbx_open(dir, map, 16, &log->env);
    if (err != FT_OK) {
        goto fail;
    }
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(log->env, NULL, 0, &txn);
    if (rc != MDB_SUCCESS) {
        err = lmdbx_err(rc);
        goto fail;
    }
    rc = mdb_dbi_open(txn, "log", MDB_CREATE, &log->log_dbi);
    if (rc == MDB_SUCCESS) {
        rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &log->meta_dbi);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_dbi_open(txn, "ids", MDB_CREATE, &log->ids_dbi);
    }
    if (rc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        err = lmdbx_err(rc);
        goto fail;
    }
    err = init_meta(log, txn);
    if (err == FT_OK) {
        err = rest_open(log, txn, opts && opts->at_rest);
    }
    if (err != FT_OK) {
        mdb_txn_abort(txn);
        goto fail;
    }
    rc = mdb_txn_commit(txn);
    if (rc != MDB_SUCCESS) {
        err = lmdbx_err(rc);
        goto fail;
    }
    *out = log;
    return FT_OK;
fail:
    devlog_destroy(&log);
    return err;
}

void devlog_destroy(devlog_t **log_p)
{
    devlog_t *log = *log_p;
    if (!log) {
        return;
    }
    if (log->env) {
        mdb_env_close(log->env);
    }
    keys_wipe(&log->keys);
    bkeys_free(&log->bk, &log->n_bk);
    if (log->mu_init) {
        pthread_mutex_destroy(&log->mu);
    }
    free(log);
    *log_p = NULL;
}

MDB_env *devlog_env(devlog_t *log)
{
    return log->env;
}

const uint8_t *devlog_device(const devlog_t *log)
{
    return log->device;
}

uint64_t devlog_epoch(const devlog_t *log)
{
    return log->epoch;
}

/* Reads head and clock from meta in txn. */
static int read_head(devlog_t *log, MDB_txn *txn, uint64_t *seq, uint8_t hash[ENTRY_HASH_BYTES],
                     uint64_t *hlc)
{
    int err = lmdbx_get_meta_u64(txn, log->meta_dbi, "head_seq", seq);
    if (err == FT_OK) {
        err = lmdbx_get_meta(txn, log->meta_dbi, "head_hash", hash, ENTRY_HASH_BYTES);
    }
    if (err == FT_OK && hlc) {
        err = lmdbx_get_meta_u64(txn, log->meta_dbi, "hlc", hlc);
    }
    return err;
}

int devlog_head(devlog_t *log, uint64_t *seq, uint8_t hash[ENTRY_HASH_BYTES])
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(log->env, NULL, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS) {
        return lmdbx_err(rc);
    }
    uint8_t scratch[ENTRY_HASH_BYTES];
    int err = read_head(log, txn, seq, hash ? hash : scratch, NULL);
    mdb_txn_abort(txn);
    return err;
}

/* Reads the newest bucket row and the floor into t (at rest). */
static int rest_begin(devlog_txn_t *t)
{
    devlog_t *log = t->log;
    int err = lmdbx_get_meta_u64(t->txn, log->meta_dbi, "bucket_floor", &t->floor);
    if (err != FT_OK) {
        return err;
    }
    MDB_val k, v;
    err = lmdbx_last(t->txn, log->buckets_dbi, NULL, NULL, &k, &v);
    if (err == FT_OK) {
        if (k.mv_size != 8 || v.mv_size != ROW_BYTES) {
            return FT_ECORRUPT;
        }
        t->have_row = true;
        t->row_bucket = lmdbx_get_u64(k.mv_data);
        for (int i = 0; i < 4; i++) {
            t->row[i] = lmdbx_get_u64((const uint8_t *)v.mv_data + 8 * i);
        }
    } else if (err != FT_ENOTFOUND) {
        return err;
    }
    /* Keys of buckets another process dropped leave this process's cache too. */
    pthread_mutex_lock(&log->mu);
    size_t keep = 0;
    for (size_t i = 0; i < log->n_bk; i++) {
        if (log->bk[i].bucket > t->floor) {
            log->bk[keep++] = log->bk[i];
        }
    }
    if (keep < log->n_bk) {
        sodium_memzero(log->bk + keep, (log->n_bk - keep) * sizeof *log->bk);
        log->n_bk = keep;
    }
    pthread_mutex_unlock(&log->mu);
    return FT_OK;
}

int devlog_begin(devlog_t *log, devlog_txn_t **out)
{
    *out = NULL;
    devlog_txn_t *t = calloc(1, sizeof *t);
    if (!t) {
        return FT_ENOMEM;
    }
    t->log = log;
    int rc = mdb_txn_begin(log->env, NULL, 0, &t->txn);
    if (rc != MDB_SUCCESS) {
        free(t);
        return lmdbx_err(rc);
    }
    uint64_t hlc = 0;
    int err = read_head(log, t->txn, &t->head_seq, t->head_hash, &hlc);
    if (err == FT_OK && log->at_rest) {
        err = rest_begin(t);
    }
    if (err != FT_OK) {
        mdb_txn_abort(t->txn);
        free(t);
        return err;
    }
    hlc_init(&t->hlc, hlc);
    *out = t;
    return FT_OK;
}

MDB_txn *devlog_txn_mdb(devlog_txn_t *t)
{
    return t->txn;
}

/* Associated data of a sealed value: domain, device, epoch, seq, bucket. */
static void sealed_ad(const devlog_t *log, uint64_t seq, uint64_t bucket,
                      uint8_t ad[sizeof val_domain + DEVID_BYTES + 24])
{
    memcpy(ad, val_domain, sizeof val_domain);
    uint8_t *p = ad + sizeof val_domain;
    memcpy(p, log->device, DEVID_BYTES);
    lmdbx_put_u64(p + DEVID_BYTES, log->epoch);
    lmdbx_put_u64(p + DEVID_BYTES + 8, seq);
    lmdbx_put_u64(p + DEVID_BYTES + 16, bucket);
}

static int put_row(devlog_txn_t *t)
{
    uint8_t key[8], val[ROW_BYTES];
    lmdbx_put_u64(key, t->row_bucket);
    for (int i = 0; i < 4; i++) {
        lmdbx_put_u64(val + 8 * i, t->row[i]);
    }
    MDB_val k = {sizeof key, key}, v = {sizeof val, val};
    return lmdbx_err(mdb_put(t->txn, t->log->buckets_dbi, &k, &v, 0));
}

/* Stores sealed entry bytes at seq: as they are, or encrypted under the
 * bucket of hlc (making the bucket's key, durably, if it is the first entry
 * of the bucket) with the bucket's row updated. */
static int store_entry(devlog_txn_t *t, uint64_t seq, uint64_t hlc, const uint8_t *sealed,
                       size_t len)
{
    devlog_t *log = t->log;
    uint8_t key[8];
    lmdbx_put_u64(key, seq);
    MDB_val k = {sizeof key, key};
    if (!log->at_rest) {
        MDB_val v = {len, (void *)sealed};
        return lmdbx_err(mdb_put(t->txn, log->log_dbi, &k, &v, MDB_NOOVERWRITE | MDB_APPEND));
    }
    uint64_t bucket = devlog_bucket_of_ms(hlc_ms(hlc));
    if (bucket <= t->floor) {
        bucket = t->floor + 1; /* the clock is back in a dropped bucket's day */
    }
    if (t->have_row && bucket < t->row_bucket) {
        bucket = t->row_bucket;
    }
    uint8_t bkey[BUCKET_KEY_BYTES];
    bool new_row = !t->have_row || bucket != t->row_bucket || t->row[3] != 0;
    int err =
        new_row ? bucket_key_make(log, bucket, t->floor, bkey) : bucket_key(log, bucket, bkey);
    if (err != FT_OK) {
        return err;
    }
    MDB_val v = {SEALED_MIN + len, NULL};
    err = lmdbx_err(
        mdb_put(t->txn, log->log_dbi, &k, &v, MDB_NOOVERWRITE | MDB_APPEND | MDB_RESERVE));
    if (err == FT_OK) {
        uint8_t *out = v.mv_data;
        out[0] = VAL_SEALED;
        lmdbx_put_u64(out + 1, bucket);
        randombytes_buf(out + 9, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
        uint8_t ad[sizeof val_domain + DEVID_BYTES + 24];
        sealed_ad(log, seq, bucket, ad);
        crypto_aead_xchacha20poly1305_ietf_encrypt(out + SEALED_HEAD, NULL, sealed, len, ad,
                                                   sizeof ad, NULL, out + 9, bkey);
    }
    sodium_memzero(bkey, sizeof bkey);
    if (err != FT_OK) {
        return err;
    }
    if (new_row) {
        t->have_row = true;
        t->row_bucket = bucket;
        t->row[0] = seq;
        t->row[3] = 0;
    }
    t->row[1] = seq;
    t->row[2] = hlc;
    return put_row(t);
}

int devlog_append(devlog_txn_t *t, const Ft__Body *body, uint64_t *seq_out)
{
    if (t->dirty) {
        return FT_EINVAL;
    }
    devlog_t *log = t->log;
    Ft__Entry e = FT__ENTRY__INIT;
    e.device.data = log->device;
    e.device.len = DEVID_BYTES;
    e.epoch = log->epoch;
    e.seq = t->head_seq + 1;
    e.hlc = hlc_tick(&t->hlc, log->clock(log->clock_ctx));
    e.prev_hash.data = t->head_hash;
    e.prev_hash.len = ENTRY_HASH_BYTES;
    e.body = (Ft__Body *)body;

    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    uint8_t hash[ENTRY_HASH_BYTES];
    int err = entry_seal(&e, &log->keys, &sealed, &sealed_len, hash);
    if (err != FT_OK) {
        return err;
    }
    if (sealed_len > ENTRY_MAX_BYTES) {
        sodium_memzero(sealed, sealed_len);
        free(sealed);
        return FT_EINVAL;
    }
    err = store_entry(t, e.seq, e.hlc, sealed, sealed_len);
    sodium_memzero(sealed, sealed_len);
    free(sealed);
    if (err == FT_OK) {
        err = lmdbx_put_meta_u64(t->txn, log->meta_dbi, "head_seq", e.seq);
    }
    if (err == FT_OK) {
        err = lmdbx_put_meta(t->txn, log->meta_dbi, "head_hash", hash, sizeof hash);
    }
    if (err == FT_OK) {
        err = lmdbx_put_meta_u64(t->txn, log->meta_dbi, "hlc", t->hlc.last);
    }
    if (err != FT_OK) {
        t->dirty = true;
        return err;
    }
    t->head_seq = e.seq;
    memcpy(t->head_hash, hash, sizeof hash);
    if (seq_out) {
        *seq_out = e.seq;
    }
    return FT_OK;
}

int devlog_record_hash(const Ft__Record *rec, uint8_t out[32])
{
    json_t *j = record_to_json(rec);
    if (!j) {
        return FT_ENOMEM;
    }
    char *text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(j);
    if (!text) {
        return FT_ENOMEM;
    }
    crypto_generichash(out, 32, (const uint8_t *)text, strlen(text), NULL, 0);
    free(text);
    return FT_OK;
}

int devlog_append_record(devlog_txn_t *t, const Ft__Record *rec, uint64_t *seq_out)
{
    uint8_t hash[32];
    if (rec->id && rec->id[0]) {
        int err = devlog_record_hash(rec, hash);
        if (err != FT_OK) {
            return err;
        }
    }
    return devlog_append_record_as(t, rec, hash, seq_out);
}

int devlog_append_record_as(devlog_txn_t *t, const Ft__Record *rec, const uint8_t hash[32],
                            uint64_t *seq_out)
{
    if (t->dirty) {
        return FT_EINVAL;
    }
    bool has_id = rec->id && rec->id[0];
    MDB_val k = {0}, v;
    if (has_id) {
        k.mv_size = strlen(rec->id);
        k.mv_data = rec->id;
        int rc = mdb_get(t->txn, t->log->ids_dbi, &k, &v);
        if (rc == MDB_SUCCESS) {
            if (v.mv_size == 40 && memcmp((uint8_t *)v.mv_data + 8, hash, 32) == 0) {
                if (seq_out) {
                    *seq_out = lmdbx_get_u64(v.mv_data);
                }
                return FT_EEXIST;
            }
            return FT_EDUP;
        }
        if (rc != MDB_NOTFOUND) {
            return lmdbx_err(rc);
        }
        if (k.mv_size > 511) { /* LMDB's default maximum key size */
            return FT_EINVAL;
        }
    }
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_RECORD;
    body.record = (Ft__Record *)rec;
    uint64_t seq = 0;
    int err = devlog_append(t, &body, &seq);
    if (err != FT_OK || !has_id) {
        if (err == FT_OK && seq_out) {
            *seq_out = seq;
        }
        return err;
    }
    uint8_t val[40];
    lmdbx_put_u64(val, seq);
    memcpy(val + 8, hash, 32);
    v.mv_size = sizeof val;
    v.mv_data = val;
    err = lmdbx_err(mdb_put(t->txn, t->log->ids_dbi, &k, &v, 0));
    if (err != FT_OK) {
        t->dirty = true;
        return err;
    }
    if (seq_out) {
        *seq_out = seq;
    }
    return FT_OK;
}

int devlog_commit(devlog_txn_t **t_p)
{
    devlog_txn_t *t = *t_p;
    *t_p = NULL;
    if (t->dirty) {
        mdb_txn_abort(t->txn);
        free(t);
        return FT_EINVAL;
    }
    int err = lmdbx_env_err(t->log->env, mdb_txn_commit(t->txn));
    free(t);
    return err;
}

void devlog_abort(devlog_txn_t **t_p)
{
    devlog_txn_t *t = *t_p;
    if (!t) {
        return;
    }
    mdb_txn_abort(t->txn);
    free(t);
    *t_p = NULL;
}

int devlog_append1(devlog_t *log, const Ft__Body *body, uint64_t *seq_out)
{
    devlog_txn_t *t = NULL;
    int err = devlog_begin(log, &t);
    if (err != FT_OK) {
        return err;
    }
    err = devlog_append(t, body, seq_out);
    if (err != FT_OK) {
        devlog_abort(&t);
        return err;
    }
    return devlog_commit(&t);
}

/* The body of one AuditEvent; a and body are filled, the strings borrowed. */
static void audit_body(Ft__AuditEvent *a, Ft__Body *body, const char *user, const char *action,
                       const char *target, const char *detail)
{
    ft__audit_event__init(a);
    a->user = (char *)user;
    a->action = (char *)action;
    a->target = (char *)target;
    a->detail = (char *)detail;
    ft__body__init(body);
    body->kind_case = FT__BODY__KIND_AUDIT;
    body->audit = a;
}

int devlog_append_audit(devlog_txn_t *t, const char *user, const char *action, const char *target,
                        const char *detail, uint64_t *seq_out)
{
    Ft__AuditEvent a;
    Ft__Body body;
    audit_body(&a, &body, user, action, target, detail);
    return devlog_append(t, &body, seq_out);
}

int devlog_append1_audit(devlog_t *log, const char *user, const char *action, const char *target,
                         const char *detail, uint64_t *seq_out)
{
    Ft__AuditEvent a;
    Ft__Body body;
    audit_body(&a, &body, user, action, target, detail);
    return devlog_append1(log, &body, seq_out);
}

/* ---- reading stored values --------------------------------------------- */

static const uint8_t empty_entry[1] = {0};

/* Sets it to an unreadable value. */
static void item_bad(devlog_item_t *it, int err, const char *why)
{
    it->state = DEVLOG_UNREADABLE;
    it->err = err;
    it->why = why;
}

/* Decodes the value v stored at seq (in txn) into it; a sealed value is
 * decrypted into buf. Never fails itself: what cannot be read is
 * DEVLOG_UNREADABLE, except FT_ENOMEM (returned). */
static int value_open(devlog_t *log, MDB_txn *txn, uint64_t seq, const MDB_val *v, plainbuf_t *buf,
                      devlog_item_t *it)
{
    memset(it, 0, sizeof *it);
    it->seq = seq;
    const uint8_t *p = v->mv_data;
    if (!log->at_rest || (v->mv_size > 0 && p[0] == VAL_PLAIN)) {
        it->state = DEVLOG_ENTRY; /* checked by entry_open, as always */
        it->raw = v->mv_size ? p : empty_entry;
        it->len = v->mv_size;
        return FT_OK;
    }
    if (v->mv_size == 0) {
        item_bad(it, FT_ECORRUPT, "the stored value is empty (stored data altered)");
        return FT_OK;
    }
    if (p[0] == VAL_STUB) {
        if (v->mv_size != STUB_BYTES) {
            item_bad(it, FT_ECORRUPT, "its pruned stub has the wrong length (stored data altered)");
        } else if (lmdbx_get_u64(p + 1) != seq) {
            item_bad(it, FT_ECORRUPT, "its pruned stub names another seq (stored data altered)");
        } else {
            it->state = DEVLOG_PRUNED;
            it->hash = p + 9;
            it->signature = p + 9 + ENTRY_HASH_BYTES;
        }
        return FT_OK;
    }
    if (p[0] != VAL_SEALED) {
        item_bad(it, FT_ECORRUPT, "its stored value has an unknown format (stored data altered)");
        return FT_OK;
    }
    if (v->mv_size < SEALED_MIN || v->mv_size - SEALED_MIN > ENTRY_MAX_BYTES) {
        item_bad(it, FT_ECORRUPT, "its sealed value has the wrong length (stored data altered)");
        return FT_OK;
    }
    uint64_t bucket = lmdbx_get_u64(p + 1);
    uint8_t bk[8];
    lmdbx_put_u64(bk, bucket);
    MDB_val rk = {sizeof bk, bk}, rv;
    if (mdb_get(txn, log->buckets_dbi, &rk, &rv) != MDB_SUCCESS || rv.mv_size != ROW_BYTES ||
        lmdbx_get_u64(rv.mv_data) > seq || lmdbx_get_u64((const uint8_t *)rv.mv_data + 8) < seq) {
        item_bad(it, FT_ECORRUPT, "it names a bucket that does not hold it (stored data altered)");
        return FT_OK;
    }
    uint8_t key[BUCKET_KEY_BYTES];
    int err = bucket_key(log, bucket, key);
    if (err == FT_EAGAIN) {
        item_bad(it, FT_EAGAIN, "its bucket was pruned meanwhile; read it again");
        return FT_OK;
    }
    if (err != FT_OK) {
        item_bad(it, err == FT_ENOMEM ? FT_ENOMEM : FT_EKEY,
                 "its bucket key is missing from " DEVLOG_KEYS_FILE);
        return err == FT_ENOMEM ? err : FT_OK;
    }
    size_t n = v->mv_size - SEALED_MIN;
    err = plainbuf_reserve(buf, n ? n : 1);
    if (err != FT_OK) {
        sodium_memzero(key, sizeof key);
        return err;
    }
    uint8_t ad[sizeof val_domain + DEVID_BYTES + 24];
    sealed_ad(log, seq, bucket, ad);
    unsigned long long out_len = 0;
    int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(buf->p, &out_len, NULL, p + SEALED_HEAD,
                                                        v->mv_size - SEALED_HEAD, ad, sizeof ad,
                                                        p + 9, key);
    sodium_memzero(key, sizeof key);
    if (rc != 0) {
        item_bad(it, FT_ECORRUPT, "it does not decrypt with its bucket key (stored data altered)");
        return FT_OK;
    }
    it->state = DEVLOG_ENTRY;
    it->raw = buf->p;
    it->len = (size_t)out_len;
    return FT_OK;
}

/* The entry hash an item stands for. FT_OK, or why not. */
static int item_hash(const devlog_item_t *it, uint8_t hash[ENTRY_HASH_BYTES])
{
    if (it->state == DEVLOG_PRUNED) {
        memcpy(hash, it->hash, ENTRY_HASH_BYTES);
        return FT_OK;
    }
    if (it->state != DEVLOG_ENTRY) {
        return it->err;
    }
    entry_view_t v;
    int err = entry_open(it->raw, it->len, &v);
    if (err == FT_OK) {
        memcpy(hash, v.hash, ENTRY_HASH_BYTES);
        entry_view_free(&v);
    }
    return err;
}

/* Opens the value of seq in txn. FT_ENOTFOUND if absent. */
static int item_at(devlog_t *log, MDB_txn *txn, uint64_t seq, plainbuf_t *buf, devlog_item_t *it)
{
    uint8_t key[8];
    lmdbx_put_u64(key, seq);
    MDB_val k = {sizeof key, key}, v;
    int err = lmdbx_err(mdb_get(txn, log->log_dbi, &k, &v));
    if (err == FT_OK) {
        err = value_open(log, txn, seq, &v, buf, it);
    }
    return err;
}

/* devlog_iter_all's walk: the caller's callback, the range's end. */
typedef struct {
    devlog_t *log;
    MDB_txn *txn;
    uint64_t to;
    bool past_to; /* the walk stopped at the end of the range */
    plainbuf_t buf;
    devlog_item_fn fn;
    void *ctx;
} iter_walk_t;

static int iter_row(void *ctx, const lmdbx_row_t *row)
{
    iter_walk_t *w = ctx;
    if (row->key.mv_size != 8) {
        return FT_ECORRUPT;
    }
    uint64_t seq = lmdbx_get_u64(row->key.mv_data);
    if (w->to && seq > w->to) {
        w->past_to = true;
        return 1;
    }
    devlog_item_t it;
    int result = value_open(w->log, w->txn, seq, &row->val, &w->buf, &it);
    if (result == FT_OK) {
        result = w->fn(w->ctx, &it);
    }
    return result;
}

int devlog_iter_all(devlog_t *log, uint64_t from, uint64_t to, devlog_item_fn fn, void *ctx)
{
    iter_walk_t w = {.log = log, .to = to, .fn = fn, .ctx = ctx};
    int rc = mdb_txn_begin(log->env, NULL, MDB_RDONLY, &w.txn);
    if (rc != MDB_SUCCESS) {
        return lmdbx_err(rc);
    }
    uint8_t key[8];
    lmdbx_put_u64(key, from);
    MDB_val k = {sizeof key, key};
    int result = lmdbx_scan(w.txn, log->log_dbi, &k, NULL, iter_row, &w);
    if (w.past_to) {
        result = FT_OK;
    }
    mdb_txn_abort(w.txn);
    plainbuf_free(&w.buf);
    return result;
}

/* devlog_iter's callback and context, adapted to items. */
typedef struct {
    devlog_iter_fn fn;
    void *ctx;
} iter_adapt_t;

static int iter_adapt(void *ctx, const devlog_item_t *it)
{
    iter_adapt_t *a = ctx;
    if (it->state == DEVLOG_PRUNED) {
        return 0;
    }
    if (it->state == DEVLOG_UNREADABLE) {
        return a->fn(a->ctx, it->seq, empty_entry, 0);
    }
    return a->fn(a->ctx, it->seq, it->raw, it->len);
}

int devlog_iter(devlog_t *log, uint64_t from, uint64_t to, devlog_iter_fn fn, void *ctx)
{
    iter_adapt_t a = {fn, ctx};
    return devlog_iter_all(log, from, to, iter_adapt, &a);
}

int devlog_get(devlog_t *log, uint64_t seq, uint8_t **raw, size_t *len)
{
    *raw = NULL;
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(log->env, NULL, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS) {
        return lmdbx_err(rc);
    }
    plainbuf_t buf = {0};
    devlog_item_t it;
    int err = item_at(log, txn, seq, &buf, &it);
    if (err == FT_OK && it.state == DEVLOG_PRUNED) {
        err = FT_EPRUNED;
    } else if (err == FT_OK && it.state == DEVLOG_UNREADABLE) {
        err = it.err;
    } else if (err == FT_OK) {
        *raw = malloc(it.len ? it.len : 1);
        if (!*raw) {
            err = FT_ENOMEM;
        } else {
            memcpy(*raw, it.raw, it.len);
            *len = it.len;
        }
    }
    mdb_txn_abort(txn);
    plainbuf_free(&buf);
    return err;
}

int devlog_get_hash(devlog_t *log, uint64_t seq, uint8_t hash[ENTRY_HASH_BYTES])
{
    if (seq == 0) {
        memset(hash, 0, ENTRY_HASH_BYTES);
        return FT_OK;
    }
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(log->env, NULL, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS) {
        return lmdbx_err(rc);
    }
    plainbuf_t buf = {0};
    devlog_item_t it;
    int err = item_at(log, txn, seq, &buf, &it);
    if (err == FT_OK) {
        err = item_hash(&it, hash);
    }
    mdb_txn_abort(txn);
    plainbuf_free(&buf);
    return err;
}

/* State of a verification walk. */
typedef struct {
    devlog_t *log;
    entry_pos_t pos;
    devlog_report_t *r;
    bool again; /* a bucket was pruned under the walk: walk again */
} verify_walk_t;

static int verify_one(void *ctx, const devlog_item_t *it)
{
    verify_walk_t *w = ctx;
    devlog_report_t *r = w->r;
    uint64_t seq = it->seq;
    if (seq != w->pos.seq) {
        r->bad_seq = w->pos.seq;
        r->err = FT_EGAP;
        snprintf(r->detail, sizeof r->detail, "entry %llu is missing (next stored is %llu)",
                 (unsigned long long)w->pos.seq, (unsigned long long)seq);
        return 1;
    }
    if (it->state == DEVLOG_UNREADABLE) {
        if (it->err == FT_EAGAIN) {
            w->again = true;
            return 1;
        }
        r->bad_seq = seq;
        r->err = it->err;
        snprintf(r->detail, sizeof r->detail, "entry %llu: %s", (unsigned long long)seq, it->why);
        return 1;
    }
    if (it->state == DEVLOG_PRUNED) {
        if (crypto_sign_ed25519_verify_detached(it->signature, it->hash, ENTRY_HASH_BYTES,
                                                w->log->keys.sign_pk) != 0) {
            r->bad_seq = seq;
            r->err = FT_EBADSIG;
            snprintf(r->detail, sizeof r->detail,
                     "entry %llu (pruned): stored data altered: its signature does not verify "
                     "over its stored hash",
                     (unsigned long long)seq);
            return 1;
        }
        w->pos.seq = seq + 1;
        memcpy(w->pos.prev_hash, it->hash, ENTRY_HASH_BYTES);
        r->checked++;
        r->pruned++;
        r->pruned_max = seq;
        return 0;
    }
    entry_view_t v;
    int err = entry_open(it->raw, it->len, &v);
    if (err == FT_OK) {
        err = entry_check(&v, w->log->keys.sign_pk, &w->pos);
    }
    if (err != FT_OK) {
        r->bad_seq = seq;
        r->err = err;
        snprintf(r->detail, sizeof r->detail, "entry %llu: %s", (unsigned long long)seq,
                 ft_strerror(err));
        entry_view_free(&v);
        return 1;
    }
    entry_pos_advance(&w->pos, &v);
    entry_view_free(&v);
    r->checked++;
    return 0;
}

/* One walk of devlog_verify. */
static int verify_walk(devlog_t *log, uint64_t from, devlog_report_t *r, bool *again)
{
    memset(r, 0, sizeof *r);
    *again = false;
    uint8_t head_hash[ENTRY_HASH_BYTES];
    int err = devlog_head(log, &r->head_seq, head_hash);
    if (err != FT_OK) {
        return err;
    }
    verify_walk_t w = {.log = log, .r = r};
    memcpy(w.pos.device, log->device, DEVID_BYTES);
    w.pos.epoch = log->epoch;
    w.pos.seq = from;
    if (from > 1) {
        err = devlog_get_hash(log, from - 1, w.pos.prev_hash);
        if (err == FT_EAGAIN) {
            *again = true;
            return FT_OK;
        }
        if (err != FT_OK) {
            return err;
        }
    }
    err = devlog_iter_all(log, from, 0, verify_one, &w);
    if (err < 0) {
        return err;
    }
    *again = w.again;
    if (r->err == FT_OK && !w.again && w.pos.seq <= r->head_seq) {
        r->bad_seq = w.pos.seq;
        r->err = FT_EGAP;
        snprintf(r->detail, sizeof r->detail, "entries %llu..%llu are missing",
                 (unsigned long long)w.pos.seq, (unsigned long long)r->head_seq);
    } else if (r->err == FT_OK && !w.again && r->head_seq > 0 &&
               memcmp(w.pos.prev_hash, head_hash, ENTRY_HASH_BYTES) != 0) {
        r->bad_seq = r->head_seq;
        r->err = FT_ECHAIN;
        snprintf(r->detail, sizeof r->detail, "entry %llu does not match the recorded head",
                 (unsigned long long)r->head_seq);
    }
    return FT_OK;
}

int devlog_verify(devlog_t *log, uint64_t from, devlog_report_t *r)
{
    if (from == 0) {
        from = 1;
    }
    bool again = true;
    int err = FT_OK;
    for (int i = 0; i < 3 && again && err == FT_OK; i++) {
        err = verify_walk(log, from, r, &again);
    }
    if (err == FT_OK && again) {
        r->err = FT_EAGAIN;
        snprintf(r->detail, sizeof r->detail, "the log was being pruned throughout; verify again");
    }
    return err;
}

/* ---- pruning ----------------------------------------------------------- */

/* State of one devlog_prune. */
typedef struct {
    devlog_t *log;
    MDB_txn *txn;
    plainbuf_t buf;
    entry_pos_t pos; /* the next entry to prune must be here */
    uint64_t cutoff_ms;
    devlog_prune_t *out;
} prune_walk_t;

/* Checks the entry at w->pos.seq (its item it) and replaces it by its stub.
 * hlc_ms_out (may be NULL) gets the entry's hlc time. */
static int prune_one(prune_walk_t *w, const devlog_item_t *it, uint64_t *hlc_ms_out)
{
    devlog_prune_t *out = w->out;
    uint64_t seq = w->pos.seq;
    if (it->state != DEVLOG_ENTRY) {
        out->bad_seq = seq;
        snprintf(out->detail, sizeof out->detail, "entry %llu: %s; nothing pruned",
                 (unsigned long long)seq,
                 it->state == DEVLOG_PRUNED ? "already pruned out of order" : it->why);
        return it->state == DEVLOG_PRUNED ? FT_ECORRUPT : it->err;
    }
    entry_view_t v;
    int err = entry_open(it->raw, it->len, &v);
    if (err == FT_OK) {
        err = entry_check(&v, w->log->keys.sign_pk, &w->pos);
    }
    if (err != FT_OK) {
        out->bad_seq = seq;
        snprintf(out->detail, sizeof out->detail,
                 "entry %llu does not verify (%s); nothing pruned: run `verify`",
                 (unsigned long long)seq, ft_strerror(err));
        entry_view_free(&v);
        return err;
    }
    if (hlc_ms_out) {
        *hlc_ms_out = hlc_ms(v.entry->hlc);
    }
    uint8_t stub[STUB_BYTES];
    stub[0] = VAL_STUB;
    lmdbx_put_u64(stub + 1, seq);
    memcpy(stub + 9, v.hash, ENTRY_HASH_BYTES);
    memcpy(stub + 9 + ENTRY_HASH_BYTES, v.signed_entry->signature.data, ENTRY_SIG_BYTES);
    entry_pos_advance(&w->pos, &v);
    entry_view_free(&v);
    uint8_t key[8];
    lmdbx_put_u64(key, seq);
    MDB_val k = {sizeof key, key}, sv = {sizeof stub, stub};
    err = lmdbx_err(mdb_put(w->txn, w->log->log_dbi, &k, &sv, 0));
    if (err == FT_OK) {
        out->pruned++;
        if (!out->first) {
            out->first = seq;
        }
        out->last = seq;
    }
    return err;
}

/* Entries written in plaintext before at-rest began, one by one while old
 * enough. *done: all of them are pruned (or none exist). */
static int prune_plain(prune_walk_t *w, uint64_t plain_upto, uint64_t upto_seq, bool *done)
{
    *done = w->pos.seq > plain_upto;
    while (w->pos.seq <= plain_upto && w->pos.seq <= upto_seq) {
        devlog_item_t it;
        int err = item_at(w->log, w->txn, w->pos.seq, &w->buf, &it);
        if (err != FT_OK) {
            return err;
        }
        if (it.state == DEVLOG_ENTRY) {
            entry_view_t v;
            if (entry_open(it.raw, it.len, &v) == FT_OK) {
                bool young = hlc_ms(v.entry->hlc) > w->cutoff_ms;
                entry_view_free(&v);
                if (young) {
                    return FT_OK;
                }
            }
        }
        err = prune_one(w, &it, NULL);
        if (err != FT_OK) {
            return err;
        }
    }
    *done = w->pos.seq > plain_upto;
    return FT_OK;
}

/* Buckets, oldest first, while covered and old enough. */
static int prune_buckets(prune_walk_t *w, uint64_t upto_seq, uint64_t *floor)
{
    devlog_t *log = w->log;
    MDB_cursor *cur = NULL;
    int err = lmdbx_err(mdb_cursor_open(w->txn, log->buckets_dbi, &cur));
    if (err != FT_OK) {
        return err;
    }
    uint8_t start[8];
    lmdbx_put_u64(start, *floor + 1);
    MDB_val k = {sizeof start, start}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == MDB_SUCCESS && err == FT_OK) {
        if (k.mv_size != 8 || v.mv_size != ROW_BYTES) {
            err = FT_ECORRUPT;
            break;
        }
        uint64_t bucket = lmdbx_get_u64(k.mv_data), row[4];
        for (int i = 0; i < 4; i++) {
            row[i] = lmdbx_get_u64((const uint8_t *)v.mv_data + 8 * i);
        }
        if (row[3] != 0) {
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT); /* pruned, floor not yet past it */
            continue;
        }
        if (row[1] > upto_seq || hlc_ms(row[2]) > w->cutoff_ms) {
            break; /* later buckets are newer and hold later entries */
        }
        if (row[0] != w->pos.seq || row[1] < row[0]) {
            w->out->bad_seq = w->pos.seq;
            snprintf(w->out->detail, sizeof w->out->detail,
                     "bucket %llu holds entries %llu..%llu, but entry %llu is next to prune; "
                     "nothing pruned",
                     (unsigned long long)bucket, (unsigned long long)row[0],
                     (unsigned long long)row[1], (unsigned long long)w->pos.seq);
            err = FT_ECORRUPT;
            break;
        }
        while (err == FT_OK && w->pos.seq <= row[1]) {
            devlog_item_t it;
            err = item_at(log, w->txn, w->pos.seq, &w->buf, &it);
            if (err == FT_OK) {
                err = prune_one(w, &it, NULL);
            }
        }
        if (err != FT_OK) {
            break;
        }
        /* The cursor's place may have moved with the puts: write by key. */
        uint8_t bk[8], val[ROW_BYTES];
        lmdbx_put_u64(bk, bucket);
        row[3] = log->clock(log->clock_ctx);
        if (row[3] == 0) {
            row[3] = 1;
        }
        for (int i = 0; i < 4; i++) {
            lmdbx_put_u64(val + 8 * i, row[i]);
        }
        MDB_val rk = {sizeof bk, bk}, rv = {sizeof val, val};
        err = lmdbx_err(mdb_put(w->txn, log->buckets_dbi, &rk, &rv, 0));
        if (err != FT_OK) {
            break;
        }
        *floor = bucket;
        w->out->buckets++;
        k.mv_size = sizeof start;
        lmdbx_put_u64(start, bucket + 1);
        k.mv_data = start;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    }
    if (err == FT_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        err = lmdbx_err(rc);
    }
    mdb_cursor_close(cur);
    return err;
}

/* Drops from the key file every key no kept entry needs: buckets at or
 * below the floor, and keys made for a bucket older than the newest one
 * that no committed entry uses (a transaction that was aborted). Runs in a
 * write transaction, so that no appender is between making a key and
 * committing under it. */
static int sweep_keys(devlog_t *log, uint64_t *dropped)
{
    *dropped = 0;
    MDB_txn *txn = NULL;
    int err = lmdbx_err(mdb_txn_begin(log->env, NULL, 0, &txn));
    if (err != FT_OK) {
        return err;
    }
    uint64_t floor = 0, newest = 0;
    err = lmdbx_get_meta_u64(txn, log->meta_dbi, "bucket_floor", &floor);
    if (err == FT_OK) {
        MDB_val k;
        err = lmdbx_last(txn, log->buckets_dbi, NULL, NULL, &k, NULL);
        if (err == FT_OK && k.mv_size == 8) {
            newest = lmdbx_get_u64(k.mv_data);
        } else if (err == FT_ENOTFOUND) {
            err = FT_OK;
        }
    }
    int fd = -1;
    bkey_t *v = NULL;
    size_t n = 0;
    uint64_t file_floor = 0;
    pthread_mutex_lock(&log->mu);
    if (err == FT_OK) {
        err = keyfile_lock(log, &fd);
    }
    if (err == FT_OK) {
        err = keyfile_read(log, &v, &n, &file_floor);
    }
    if (err == FT_ENOTFOUND) {
        err = FT_OK; /* no key ever made */
        goto done;
    }
    if (err != FT_OK) {
        goto done;
    }
    size_t keep = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t bk[8];
        lmdbx_put_u64(bk, v[i].bucket);
        MDB_val rk = {sizeof bk, bk}, rv;
        bool orphan = v[i].bucket < newest && mdb_get(txn, log->buckets_dbi, &rk, &rv) != 0;
        if (v[i].bucket > floor && !orphan) {
            v[keep++] = v[i];
        }
    }
    if (keep < n || floor > file_floor) {
        sodium_memzero(v + keep, (n - keep) * sizeof *v);
        err = keyfile_write(log, v, keep, floor > file_floor ? floor : file_floor);
        if (err == FT_OK) {
            *dropped = n - keep;
        }
    }
    n = keep;
    if (err == FT_OK) {
        bkeys_free(&log->bk, &log->n_bk);
        log->bk = v;
        log->n_bk = n;
        log->bk_floor = floor > file_floor ? floor : file_floor;
        v = NULL;
        n = 0;
    }
done:
    bkeys_free(&v, &n);
    keyfile_unlock(fd);
    pthread_mutex_unlock(&log->mu);
    mdb_txn_abort(txn);
    return err;
}

int devlog_prune(devlog_t *log, uint64_t upto_seq, const uint8_t upto_hash[ENTRY_HASH_BYTES],
                 uint64_t cutoff_ms, devlog_prune_t *out)
{
    memset(out, 0, sizeof *out);
    if (!log->at_rest) {
        return FT_EINVAL;
    }
    devlog_txn_t *t = NULL;
    int err = devlog_begin(log, &t);
    if (err != FT_OK) {
        return err;
    }
    prune_walk_t w = {.log = log, .txn = t->txn, .cutoff_ms = cutoff_ms, .out = out};
    uint64_t plain_from = 0, pruned_upto = 0, floor = t->floor;
    err = lmdbx_get_meta_u64(t->txn, log->meta_dbi, "at_rest_from", &plain_from);
    if (err == FT_OK) {
        err = lmdbx_get_meta_u64(t->txn, log->meta_dbi, "pruned_upto", &pruned_upto);
    }
    if (err != FT_OK) {
        goto done;
    }
    if (upto_seq > t->head_seq) {
        snprintf(out->detail, sizeof out->detail,
                 "the receipt covers entry %llu but the log ends at %llu; nothing pruned",
                 (unsigned long long)upto_seq, (unsigned long long)t->head_seq);
        err = FT_ECHAIN;
        goto done;
    }
    if (upto_seq > 0) {
        devlog_item_t it;
        uint8_t hash[ENTRY_HASH_BYTES];
        err = item_at(log, t->txn, upto_seq, &w.buf, &it);
        if (err == FT_OK) {
            err = item_hash(&it, hash);
        }
        if (err == FT_OK && sodium_memcmp(hash, upto_hash, ENTRY_HASH_BYTES) != 0) {
            err = FT_ECHAIN;
        }
        if (err != FT_OK) {
            out->bad_seq = upto_seq;
            snprintf(out->detail, sizeof out->detail,
                     "the receipt's hash of entry %llu is not this log's (%s); nothing pruned",
                     (unsigned long long)upto_seq, ft_strerror(err));
            goto done;
        }
    }
    memcpy(w.pos.device, log->device, DEVID_BYTES);
    w.pos.epoch = log->epoch;
    w.pos.seq = pruned_upto + 1;
    if (pruned_upto > 0) {
        devlog_item_t it;
        err = item_at(log, t->txn, pruned_upto, &w.buf, &it);
        if (err == FT_OK) {
            err = item_hash(&it, w.pos.prev_hash);
        }
        if (err != FT_OK) {
            goto done;
        }
    }
    bool plain_done = false;
    err = prune_plain(&w, plain_from - 1, upto_seq, &plain_done);
    if (err == FT_OK && plain_done) {
        err = prune_buckets(&w, upto_seq, &floor);
    }
    if (err == FT_OK && out->pruned > 0) {
        err = lmdbx_put_meta_u64(t->txn, log->meta_dbi, "pruned_upto", w.pos.seq - 1);
    }
    if (err == FT_OK && floor != t->floor) {
        err = lmdbx_put_meta_u64(t->txn, log->meta_dbi, "bucket_floor", floor);
    }
    if (err == FT_OK) {
        err = devlog_commit(&t);
    }
done:
    devlog_abort(&t);
    plainbuf_free(&w.buf);
    if (err != FT_OK) {
        out->pruned = out->buckets = out->first = out->last = 0;
        return err;
    }
    /* The stubs are durable: now the keys go (also those an earlier call
     * could not drop). */
    return sweep_keys(log, &out->keys_dropped);
}

static int count_kept_row(void *ctx, const lmdbx_row_t *row)
{
    if (bucket_kept(&row->val)) {
        (*(uint64_t *)ctx)++;
    }
    return 0;
}

int devlog_rest_stats(devlog_t *log, devlog_rest_t *st)
{
    memset(st, 0, sizeof *st);
    if (!log->at_rest) {
        return FT_OK;
    }
    st->enabled = true;
    MDB_txn *txn = NULL;
    int err = lmdbx_err(mdb_txn_begin(log->env, NULL, MDB_RDONLY, &txn));
    if (err != FT_OK) {
        return err;
    }
    uint64_t from = 0;
    err = lmdbx_get_meta_u64(txn, log->meta_dbi, "at_rest_from", &from);
    if (err == FT_OK) {
        st->plain_upto = from - 1;
        err = lmdbx_get_meta_u64(txn, log->meta_dbi, "pruned_upto", &st->pruned_upto);
    }
    if (err == FT_OK) {
        err = lmdbx_get_meta_u64(txn, log->meta_dbi, "bucket_floor", &st->bucket_floor);
    }
    if (err == FT_OK) {
        err = lmdbx_scan(txn, log->buckets_dbi, NULL, NULL, count_kept_row, &st->buckets_kept);
    }
    mdb_txn_abort(txn);
    if (err == FT_OK) {
        bkey_t *v = NULL;
        size_t n = 0;
        uint64_t floor = 0;
        int kerr = keyfile_read(log, &v, &n, &floor);
        if (kerr == FT_OK) {
            st->keys_in_file = n;
        } else if (kerr != FT_ENOTFOUND) {
            err = kerr;
        }
        bkeys_free(&v, &n);
    }
    return err;
}

/* ---- compaction -------------------------------------------------------- */

/* FT_EAGAIN if another process has the environment in dir open: every
 * process that opens it holds a shared fcntl lock on byte 0 of lock.mdb
 * (LMDB's own liveness check). Only safe while this process does not have
 * the environment open (closing this fd drops its locks). */
static int env_in_use(const char *dir)
{
    char path[4200];
    int err = fsutil_join(path, sizeof path, dir, "lock.mdb");
    if (err != FT_OK) {
        return err;
    }
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? FT_OK : FT_EIO;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    int rc = fcntl(fd, F_GETLK, &fl);
    close(fd);
    if (rc != 0) {
        return FT_EIO;
    }
    return fl.l_type == F_UNLCK ? FT_OK : FT_EAGAIN;
}

/* Opens the environment in dir as it is (map size as recorded). */
static int env_open_as_is(const char *dir, unsigned flags, MDB_env **env)
{
    int rc = mdb_env_create(env);
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_maxdbs(*env, 16);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_open(*env, dir, MDB_NOTLS | flags, 0600);
    }
    if (rc != MDB_SUCCESS && *env) {
        mdb_env_close(*env);
        *env = NULL;
    }
    return lmdbx_err(rc);
}

/* Last committed transaction id of the environment in dir. */
static int env_last_txn(const char *dir, size_t *txnid)
{
    MDB_env *env = NULL;
    int err = env_open_as_is(dir, MDB_RDONLY, &env);
    if (err == FT_OK) {
        MDB_envinfo info;
        err = lmdbx_err(mdb_env_info(env, &info));
        *txnid = info.me_last_txnid;
        mdb_env_close(env);
    }
    return err;
}

static uint64_t file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int devlog_compact(const char *dir, devlog_compact_t *out)
{
    memset(out, 0, sizeof *out);
    char data[4200], tmpdir[4200], copy[4300];
    int err = fsutil_join(data, sizeof data, dir, "data.mdb");
    if (err == FT_OK) {
        err = fsutil_join(tmpdir, sizeof tmpdir, dir, "compact.tmp");
    }
    if (err == FT_OK) {
        err = fsutil_join(copy, sizeof copy, tmpdir, "data.mdb");
    }
    if (err != FT_OK) {
        return err;
    }
    if (!fsutil_exists(data)) {
        return FT_ENOTFOUND;
    }
    out->before = file_bytes(data);
    err = env_in_use(dir);
    size_t txn_before = 0, txn_after = 0;
    if (err == FT_OK) {
        err = env_last_txn(dir, &txn_before);
    }
    if (err != FT_OK) {
        return err;
    }
    unlink(copy);
    rmdir(tmpdir);
    if (mkdir(tmpdir, 0700) != 0) {
        return errno == ENOSPC ? FT_EFULL : FT_EIO;
    }
    MDB_env *env = NULL;
    err = env_open_as_is(dir, 0, &env);
    if (err == FT_OK) {
        err = lmdbx_env_err(env, mdb_env_copy2(env, tmpdir, MDB_CP_COMPACT));
        mdb_env_close(env);
    }
    int fd = -1;
    if (err == FT_OK) {
        fd = open(copy, O_RDONLY | O_CLOEXEC);
        err = fd >= 0 && fsync(fd) == 0 ? FT_OK : FT_EIO;
    }
    if (fd >= 0) {
        close(fd);
    }
    /* Nobody opened it meanwhile, nobody wrote during the copy. */
    if (err == FT_OK) {
        err = env_in_use(dir);
    }
    if (err == FT_OK) {
        err = env_last_txn(dir, &txn_after);
    }
    if (err == FT_OK && txn_after != txn_before) {
        err = FT_EAGAIN;
    }
    if (err == FT_OK) {
        err = env_in_use(dir);
    }
    if (err == FT_OK && rename(copy, data) != 0) {
        err = FT_EIO;
    }
    if (err == FT_OK) {
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        err = fd >= 0 && fsync(fd) == 0 ? FT_OK : FT_EIO;
        if (fd >= 0) {
            close(fd);
        }
        out->after = file_bytes(data);
    }
    unlink(copy);
    rmdir(tmpdir);
    return err;
}
