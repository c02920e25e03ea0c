/* devlog.c: the device log (see devlog.h for layout and the state machine).
 *
 * Invariants kept by every committed transaction:
 *   - log holds seq 1..head_seq, each entry's seq field equals its key;
 *   - entry N's prev_hash is the entry hash of entry N-1 (zeros for N = 1);
 *   - meta.head_hash is the entry hash of entry head_seq;
 *   - meta.hlc >= the hlc of every entry (so restarts never go backwards).
 * devlog_verify checks the first three from the stored bytes alone.
 */
#include "devlog.h"
#include "hlc.h"
#include "lmdbx.h"
#include "record.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct devlog_t {
    MDB_env *env;                /* the state directory's environment */
    MDB_dbi log_dbi;             /* seq -> SignedEntry */
    MDB_dbi meta_dbi;            /* head, epoch, device, hlc */
    MDB_dbi ids_dbi;             /* record id -> seq || content hash */
    keys_t keys;                 /* signer (wiped on destroy) */
    uint8_t device[DEVID_BYTES]; /* this log's device ID */
    uint64_t epoch;              /* chosen at creation */
    devlog_clock_fn clock;       /* wall clock */
    void *clock_ctx;             /* its context */
};

struct devlog_txn_t {
    devlog_t *log;                       /* owner */
    MDB_txn *txn;                        /* the write transaction */
    uint64_t head_seq;                   /* head as of this txn */
    uint8_t head_hash[ENTRY_HASH_BYTES]; /* hash of head */
    hlc_t hlc;                           /* clock as of this txn */
    bool dirty;                          /* an append failed: abort only */
};

static uint64_t system_clock(void *ctx)
{
    (void)ctx;
    return hlc_wall_ms();
}

uint64_t devlog_wall_ms(devlog_t *log)
{
    return log->clock(log->clock_ctx);
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
    log->keys = *keys;
    devid_from_pk(keys->sign_pk, log->device);
    log->clock = opts && opts->clock ? opts->clock : system_clock;
    log->clock_ctx = opts ? opts->clock_ctx : NULL;
    size_t map = opts && opts->map_size ? opts->map_size : DEVLOG_DEFAULT_MAP_SIZE;
    int err = lmdbx_open(dir, map, 16, &log->env);
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
        free(sealed);
        return FT_EINVAL;
    }
    uint8_t key[8];
    lmdbx_put_u64(key, e.seq);
    MDB_val k = {sizeof key, key}, v = {sealed_len, sealed};
    err = lmdbx_err(mdb_put(t->txn, log->log_dbi, &k, &v, MDB_NOOVERWRITE | MDB_APPEND));
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

int devlog_iter(devlog_t *log, uint64_t from, uint64_t to, devlog_iter_fn fn, void *ctx)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    int rc = mdb_txn_begin(log->env, NULL, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS) {
        return lmdbx_err(rc);
    }
    rc = mdb_cursor_open(txn, log->log_dbi, &cur);
    if (rc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        return lmdbx_err(rc);
    }
    uint8_t key[8];
    lmdbx_put_u64(key, from);
    MDB_val k = {sizeof key, key}, v;
    int result = FT_OK;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8) {
            result = FT_ECORRUPT;
            break;
        }
        uint64_t seq = lmdbx_get_u64(k.mv_data);
        if (to && seq > to) {
            break;
        }
        result = fn(ctx, seq, v.mv_data, v.mv_size);
        if (result != 0) {
            break;
        }
    }
    if (result == FT_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        result = lmdbx_err(rc);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return result;
}

int devlog_get(devlog_t *log, uint64_t seq, uint8_t **raw, size_t *len)
{
    *raw = NULL;
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(log->env, NULL, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS) {
        return lmdbx_err(rc);
    }
    uint8_t key[8];
    lmdbx_put_u64(key, seq);
    MDB_val k = {sizeof key, key}, v;
    int err = lmdbx_err(mdb_get(txn, log->log_dbi, &k, &v));
    if (err == FT_OK) {
        *raw = malloc(v.mv_size ? v.mv_size : 1);
        if (!*raw) {
            err = FT_ENOMEM;
        } else {
            memcpy(*raw, v.mv_data, v.mv_size);
            *len = v.mv_size;
        }
    }
    mdb_txn_abort(txn);
    return err;
}

/* State of a verification walk. */
typedef struct {
    devlog_t *log;
    entry_pos_t pos;
    devlog_report_t *r;
} verify_walk_t;

static int verify_one(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    verify_walk_t *w = ctx;
    devlog_report_t *r = w->r;
    if (seq != w->pos.seq) {
        r->bad_seq = w->pos.seq;
        r->err = FT_EGAP;
        snprintf(r->detail, sizeof r->detail, "entry %llu is missing (next stored is %llu)",
                 (unsigned long long)w->pos.seq, (unsigned long long)seq);
        return 1;
    }
    entry_view_t v;
    int err = entry_open(raw, len, &v);
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

int devlog_verify(devlog_t *log, uint64_t from, devlog_report_t *r)
{
    memset(r, 0, sizeof *r);
    if (from == 0) {
        from = 1;
    }
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
        uint8_t *prev = NULL;
        size_t prev_len = 0;
        err = devlog_get(log, from - 1, &prev, &prev_len);
        if (err != FT_OK) {
            return err;
        }
        entry_view_t v;
        err = entry_open(prev, prev_len, &v);
        free(prev);
        if (err != FT_OK) {
            return err;
        }
        memcpy(w.pos.prev_hash, v.hash, ENTRY_HASH_BYTES);
        entry_view_free(&v);
    }
    err = devlog_iter(log, from, 0, verify_one, &w);
    if (err < 0) {
        return err;
    }
    if (r->err == FT_OK && w.pos.seq <= r->head_seq) {
        r->bad_seq = w.pos.seq;
        r->err = FT_EGAP;
        snprintf(r->detail, sizeof r->detail, "entries %llu..%llu are missing",
                 (unsigned long long)w.pos.seq, (unsigned long long)r->head_seq);
    } else if (r->err == FT_OK && r->head_seq > 0 &&
               memcmp(w.pos.prev_hash, head_hash, ENTRY_HASH_BYTES) != 0) {
        r->bad_seq = r->head_seq;
        r->err = FT_ECHAIN;
        snprintf(r->detail, sizeof r->detail, "entry %llu does not match the recorded head",
                 (unsigned long long)r->head_seq);
    }
    return FT_OK;
}
