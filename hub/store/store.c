/* store.c: the hub store on LMDB (tables and invariants in store.h).
 *
 * Rows other than raw entries and receipts are a small versioned binary
 * layout written by the row_* helpers below: a version byte, then fixed
 * fields big-endian, strings as u16 length + bytes. A row that does not
 * decode is FT_ECORRUPT, never a crash. Walks go through lmdbx_scan
 * (common/lmdb/lmdbx.h): a key of the wrong length inside a walk's range is
 * FT_ECORRUPT as well, and a cursor that fails is its error, never the end.
 */
#include "store.h"
#include "lmdbx.h"
#include "row.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_VERSION 1
#define KEY_DEV_EPOCH (DEVID_BYTES + 8)
#define KEY_DEV_EPOCH_SEQ (DEVID_BYTES + 16)

struct store_t {
    MDB_env *env;
    MDB_dbi devices, bykey, status, heads, entries, arrival, receipts, integrity, integ_seen,
        refusals, meta;
};

struct store_txn_t {
    store_t *s;
    MDB_txn *txn;
    bool write;
};

/* ---- row encoding ---------------------------------------------------- */

/* ---- keys ------------------------------------------------------------ */

static void key_dev_epoch(uint8_t k[KEY_DEV_EPOCH], const uint8_t dev[DEVID_BYTES], uint64_t epoch)
{
    memcpy(k, dev, DEVID_BYTES);
    lmdbx_put_u64(k + DEVID_BYTES, epoch);
}

static void key_dev_epoch_seq(uint8_t k[KEY_DEV_EPOCH_SEQ], const uint8_t dev[DEVID_BYTES],
                              uint64_t epoch, uint64_t seq)
{
    key_dev_epoch(k, dev, epoch);
    lmdbx_put_u64(k + KEY_DEV_EPOCH, seq);
}

/* ---- open / transactions --------------------------------------------- */

int store_open(const char *dir, size_t map_size, store_t **out)
{
    *out = NULL;
    store_t *s = calloc(1, sizeof *s);
    if (!s) {
        return FT_ENOMEM;
    }
    int err = lmdbx_open(dir, map_size ? map_size : STORE_DEFAULT_MAP_SIZE, 32, &s->env);
    if (err != FT_OK) {
        free(s);
        return err;
    }
    int dead = 0;
    mdb_reader_check(s->env, &dead); /* slots of killed processes */
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    struct {
        const char *name;
        MDB_dbi *dbi;
    } dbs[] = {
        {"devices", &s->devices},   {"bykey", &s->bykey},         {"status", &s->status},
        {"heads", &s->heads},       {"entries", &s->entries},     {"arrival", &s->arrival},
        {"receipts", &s->receipts}, {"integrity", &s->integrity}, {"integ_seen", &s->integ_seen},
        {"refusals", &s->refusals}, {"meta", &s->meta},
    };
    for (size_t i = 0; rc == MDB_SUCCESS && i < sizeof dbs / sizeof dbs[0]; i++) {
        rc = mdb_dbi_open(txn, dbs[i].name, MDB_CREATE, dbs[i].dbi);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_txn_commit(txn);
    } else if (txn) {
        mdb_txn_abort(txn);
    }
    if (rc != MDB_SUCCESS) {
        mdb_env_close(s->env);
        free(s);
        return lmdbx_err(rc);
    }
    *out = s;
    return FT_OK;
}

void store_destroy(store_t **s_p)
{
    store_t *s = *s_p;
    if (!s) {
        return;
    }
    mdb_env_close(s->env);
    free(s);
    *s_p = NULL;
}

int store_begin(store_t *s, bool write, store_txn_t **out)
{
    *out = NULL;
    store_txn_t *t = calloc(1, sizeof *t);
    if (!t) {
        return FT_ENOMEM;
    }
    int rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (rc != MDB_SUCCESS) {
        free(t);
        return lmdbx_err(rc);
    }
    t->s = s;
    t->write = write;
    *out = t;
    return FT_OK;
}

int store_commit(store_txn_t **t_p)
{
    store_txn_t *t = *t_p;
    *t_p = NULL;
    int err = FT_OK;
    if (t->write) {
        err = lmdbx_env_err(t->s->env, mdb_txn_commit(t->txn)); /* full disk: FT_EFULL */
    } else {
        mdb_txn_abort(t->txn);
    }
    free(t);
    return err;
}

void store_abort(store_txn_t **t_p)
{
    store_txn_t *t = *t_p;
    if (!t) {
        return;
    }
    mdb_txn_abort(t->txn);
    free(t);
    *t_p = NULL;
}

/* mdb_get with an ft_err result. */
static int get(store_txn_t *t, MDB_dbi dbi, const void *key, size_t klen, MDB_val *v)
{
    MDB_val k = {klen, (void *)key};
    return lmdbx_err(mdb_get(t->txn, dbi, &k, v));
}

static int put(store_txn_t *t, MDB_dbi dbi, const void *key, size_t klen, const void *val,
               size_t vlen, unsigned flags)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    return lmdbx_err(mdb_put(t->txn, dbi, &k, &v, flags));
}

/* ---- devices --------------------------------------------------------- */

static int device_decode(const MDB_val *v, const uint8_t *key, store_device_t *d)
{
    memset(d, 0, sizeof *d);
    row_r_t r = {v->mv_data, v->mv_size, 0, false};
    if (row_get_u8(&r) != ROW_VERSION) {
        return FT_ECORRUPT;
    }
    memcpy(d->device, key, DEVID_BYTES);
    row_get(&r, d->sign_pk, 32);
    row_get(&r, d->transport_pk, 32);
    d->revoked = row_get_u8(&r) != 0;
    d->enrolled_ms = (int64_t)row_get_u64(&r);
    d->revoked_ms = (int64_t)row_get_u64(&r);
    row_get_str(&r, d->unit, sizeof d->unit);
    row_get_str(&r, d->vehicle, sizeof d->vehicle);
    return r.bad ? FT_ECORRUPT : FT_OK;
}

int store_device_get(store_txn_t *t, const uint8_t device[DEVID_BYTES], store_device_t *out)
{
    MDB_val v;
    int err = get(t, t->s->devices, device, DEVID_BYTES, &v);
    if (err != FT_OK) {
        return err;
    }
    return device_decode(&v, device, out);
}

int store_device_by_transport(store_txn_t *t, const uint8_t transport_pk[32],
                              uint8_t device[DEVID_BYTES])
{
    MDB_val v;
    int err = get(t, t->s->bykey, transport_pk, 32, &v);
    if (err != FT_OK) {
        return err;
    }
    if (v.mv_size != DEVID_BYTES) {
        return FT_ECORRUPT;
    }
    memcpy(device, v.mv_data, DEVID_BYTES);
    return FT_OK;
}

int store_device_put(store_txn_t *t, const store_device_t *d)
{
    uint8_t owner[DEVID_BYTES];
    int err = store_device_by_transport(t, d->transport_pk, owner);
    if (err == FT_OK && memcmp(owner, d->device, DEVID_BYTES) != 0) {
        return FT_EEXIST;
    }
    if (err != FT_OK && err != FT_ENOTFOUND) {
        return err;
    }
    uint8_t buf[2 * STORE_NAME_MAX + 128];
    row_w_t w = {buf, 0, sizeof buf, false};
    row_put_u8(&w, ROW_VERSION);
    row_put(&w, d->sign_pk, 32);
    row_put(&w, d->transport_pk, 32);
    row_put_u8(&w, d->revoked ? 1 : 0);
    row_put_u64(&w, (uint64_t)d->enrolled_ms);
    row_put_u64(&w, (uint64_t)d->revoked_ms);
    row_put_str(&w, d->unit, sizeof d->unit);
    row_put_str(&w, d->vehicle, sizeof d->vehicle);
    if (w.overflow) {
        return FT_EINVAL;
    }
    err = put(t, t->s->devices, d->device, DEVID_BYTES, buf, w.len, 0);
    if (err == FT_OK) {
        err = put(t, t->s->bykey, d->transport_pk, 32, d->device, DEVID_BYTES, 0);
    }
    return err;
}

typedef struct {
    store_device_fn fn;
    void *ctx;
} device_scan_t;

static int device_row(void *ctx, const lmdbx_row_t *row)
{
    const device_scan_t *s = ctx;
    store_device_t d;
    if (row->key.mv_size != DEVID_BYTES ||
        device_decode(&row->val, row->key.mv_data, &d) != FT_OK) {
        return FT_ECORRUPT;
    }
    return s->fn(s->ctx, &d);
}

int store_device_iter(store_txn_t *t, store_device_fn fn, void *ctx)
{
    device_scan_t s = {fn, ctx};
    return lmdbx_scan(t->txn, t->s->devices, NULL, NULL, device_row, &s);
}

/* ---- status ---------------------------------------------------------- */

int store_status_get(store_txn_t *t, const uint8_t device[DEVID_BYTES], store_status_t *out)
{
    memset(out, 0, sizeof *out);
    MDB_val v;
    int err = get(t, t->s->status, device, DEVID_BYTES, &v);
    if (err == FT_ENOTFOUND) {
        return FT_OK;
    }
    if (err != FT_OK) {
        return err;
    }
    row_r_t r = {v.mv_data, v.mv_size, 0, false};
    if (row_get_u8(&r) != ROW_VERSION) {
        return FT_ECORRUPT;
    }
    out->last_seen_ms = (int64_t)row_get_u64(&r);
    out->last_hello_ms = (int64_t)row_get_u64(&r);
    out->has_clock_offset = row_get_u8(&r) != 0;
    out->clock_offset_ms = (int64_t)row_get_u64(&r);
    out->edge_epoch = row_get_u64(&r);
    out->edge_head_seq = row_get_u64(&r);
    out->batches = row_get_u64(&r);
    out->accepted = row_get_u64(&r);
    out->duplicates = row_get_u64(&r);
    out->rejected = row_get_u64(&r);
    out->refusals = row_get_u64(&r);
    out->last_error_ms = (int64_t)row_get_u64(&r);
    row_get_str(&r, out->last_error, sizeof out->last_error);
    if (!r.bad && r.off < r.len) { /* rows written before these were kept lack them */
        out->edge_report_ms = (int64_t)row_get_u64(&r);
        out->synced_ms = (int64_t)row_get_u64(&r);
    }
    if (!r.bad && r.off < r.len) { /* rows written before the endpoint report lack it */
        out->endpoint_report_ms = (int64_t)row_get_u64(&r);
        row_get_str(&r, out->endpoint_mismatch, sizeof out->endpoint_mismatch);
    }
    return r.bad ? FT_ECORRUPT : FT_OK;
}

int store_status_put(store_txn_t *t, const uint8_t device[DEVID_BYTES], const store_status_t *st)
{
    uint8_t buf[2 * STORE_TEXT_MAX + 200];
    row_w_t w = {buf, 0, sizeof buf, false};
    row_put_u8(&w, ROW_VERSION);
    row_put_u64(&w, (uint64_t)st->last_seen_ms);
    row_put_u64(&w, (uint64_t)st->last_hello_ms);
    row_put_u8(&w, st->has_clock_offset ? 1 : 0);
    row_put_u64(&w, (uint64_t)st->clock_offset_ms);
    row_put_u64(&w, st->edge_epoch);
    row_put_u64(&w, st->edge_head_seq);
    row_put_u64(&w, st->batches);
    row_put_u64(&w, st->accepted);
    row_put_u64(&w, st->duplicates);
    row_put_u64(&w, st->rejected);
    row_put_u64(&w, st->refusals);
    row_put_u64(&w, (uint64_t)st->last_error_ms);
    row_put_str(&w, st->last_error, sizeof st->last_error);
    row_put_u64(&w, (uint64_t)st->edge_report_ms);
    row_put_u64(&w, (uint64_t)st->synced_ms);
    row_put_u64(&w, (uint64_t)st->endpoint_report_ms);
    row_put_str(&w, st->endpoint_mismatch, sizeof st->endpoint_mismatch);
    if (w.overflow) {
        return FT_EINVAL;
    }
    return put(t, t->s->status, device, DEVID_BYTES, buf, w.len, 0);
}

/* ---- heads and entries ----------------------------------------------- */

static int head_decode(const MDB_val *v, store_head_t *out)
{
    if (v->mv_size != 8 + ENTRY_HASH_BYTES) {
        return FT_ECORRUPT;
    }
    out->seq = lmdbx_get_u64(v->mv_data);
    memcpy(out->hash, (const uint8_t *)v->mv_data + 8, ENTRY_HASH_BYTES);
    return FT_OK;
}

int store_head_get(store_txn_t *t, const uint8_t device[DEVID_BYTES], uint64_t epoch,
                   store_head_t *out)
{
    memset(out, 0, sizeof *out);
    uint8_t key[KEY_DEV_EPOCH];
    key_dev_epoch(key, device, epoch);
    MDB_val v;
    int err = get(t, t->s->heads, key, sizeof key, &v);
    if (err == FT_ENOTFOUND) {
        return FT_OK;
    }
    if (err != FT_OK) {
        return err;
    }
    return head_decode(&v, out);
}

typedef struct {
    store_head_fn fn;
    void *ctx;
} head_scan_t;

static int head_row(void *ctx, const lmdbx_row_t *row)
{
    const head_scan_t *s = ctx;
    store_head_t h;
    if (row->key.mv_size != KEY_DEV_EPOCH || head_decode(&row->val, &h) != FT_OK) {
        return FT_ECORRUPT;
    }
    return s->fn(s->ctx, lmdbx_get_u64((const uint8_t *)row->key.mv_data + DEVID_BYTES), &h);
}

int store_heads_iter(store_txn_t *t, const uint8_t device[DEVID_BYTES], store_head_fn fn, void *ctx)
{
    head_scan_t s = {fn, ctx};
    MDB_val prefix = {DEVID_BYTES, (void *)device};
    return lmdbx_scan(t->txn, t->s->heads, NULL, &prefix, head_row, &s);
}

int store_entry_get(store_txn_t *t, const uint8_t device[DEVID_BYTES], uint64_t epoch, uint64_t seq,
                    const uint8_t **raw, size_t *len)
{
    uint8_t key[KEY_DEV_EPOCH_SEQ];
    key_dev_epoch_seq(key, device, epoch, seq);
    MDB_val v;
    int err = get(t, t->s->entries, key, sizeof key, &v);
    if (err == FT_OK) {
        *raw = v.mv_data;
        *len = v.mv_size;
    }
    return err;
}

/* Next value of a counter in meta (starting at 1), stored back. */
static int next_counter(store_txn_t *t, const char *name, uint64_t *out)
{
    uint64_t v = 0;
    int err = lmdbx_get_meta_u64(t->txn, t->s->meta, name, &v);
    if (err != FT_OK && err != FT_ENOTFOUND) {
        return err;
    }
    v++;
    err = lmdbx_put_meta_u64(t->txn, t->s->meta, name, v);
    if (err == FT_OK) {
        *out = v;
    }
    return err;
}

int store_entry_append(store_txn_t *t, const uint8_t device[DEVID_BYTES], uint64_t epoch,
                       uint64_t seq, const uint8_t hash[ENTRY_HASH_BYTES], const uint8_t *raw,
                       size_t len)
{
    store_head_t head;
    int err = store_head_get(t, device, epoch, &head);
    if (err != FT_OK) {
        return err;
    }
    if (seq != head.seq + 1) {
        return FT_EGAP;
    }
    uint8_t key[KEY_DEV_EPOCH_SEQ];
    key_dev_epoch_seq(key, device, epoch, seq);
    err = put(t, t->s->entries, key, sizeof key, raw, len, MDB_NOOVERWRITE);
    uint64_t arrival = 0;
    if (err == FT_OK) {
        err = next_counter(t, "arrival", &arrival);
    }
    if (err == FT_OK) {
        uint8_t ak[8];
        lmdbx_put_u64(ak, arrival);
        err = put(t, t->s->arrival, ak, sizeof ak, key, sizeof key, MDB_APPEND);
    }
    if (err == FT_OK) {
        uint8_t hk[KEY_DEV_EPOCH], hv[8 + ENTRY_HASH_BYTES];
        key_dev_epoch(hk, device, epoch);
        lmdbx_put_u64(hv, seq);
        memcpy(hv + 8, hash, ENTRY_HASH_BYTES);
        err = put(t, t->s->heads, hk, sizeof hk, hv, sizeof hv, 0);
    }
    return err;
}

typedef struct {
    store_entry_fn fn;
    void *ctx;
    store_txn_t *t;
    uint64_t epoch;
} entry_scan_t;

static int device_entry_row(void *ctx, const lmdbx_row_t *row)
{
    const entry_scan_t *s = ctx;
    if (row->key.mv_size != KEY_DEV_EPOCH_SEQ) {
        return FT_ECORRUPT;
    }
    store_entry_t e = {.device = row->key.mv_data,
                       .epoch = s->epoch,
                       .seq = lmdbx_get_u64((const uint8_t *)row->key.mv_data + KEY_DEV_EPOCH),
                       .raw = row->val.mv_data,
                       .len = row->val.mv_size};
    return s->fn(s->ctx, &e);
}

int store_device_entries_iter(store_txn_t *t, const uint8_t device[DEVID_BYTES], uint64_t epoch,
                              uint64_t from, store_entry_fn fn, void *ctx)
{
    uint8_t start[KEY_DEV_EPOCH_SEQ];
    key_dev_epoch_seq(start, device, epoch, from);
    MDB_val k = {sizeof start, start}, prefix = {KEY_DEV_EPOCH, start};
    entry_scan_t s = {fn, ctx, t, epoch};
    return lmdbx_scan(t->txn, t->s->entries, &k, &prefix, device_entry_row, &s);
}

/* A row of arrival: arrival number -> key of the entry. */
static int arrival_row(void *ctx, const lmdbx_row_t *row)
{
    const entry_scan_t *s = ctx;
    if (row->key.mv_size != 8 || row->val.mv_size != KEY_DEV_EPOCH_SEQ) {
        return FT_ECORRUPT;
    }
    MDB_val ev;
    MDB_val ek = row->val;
    int rc = mdb_get(s->t->txn, s->t->s->entries, &ek, &ev);
    if (rc != MDB_SUCCESS) {
        return rc == MDB_NOTFOUND ? FT_ECORRUPT : lmdbx_err(rc);
    }
    const uint8_t *key = row->val.mv_data;
    store_entry_t e = {.arrival = lmdbx_get_u64(row->key.mv_data),
                       .device = key,
                       .epoch = lmdbx_get_u64(key + DEVID_BYTES),
                       .seq = lmdbx_get_u64(key + KEY_DEV_EPOCH),
                       .raw = ev.mv_data,
                       .len = ev.mv_size};
    return s->fn(s->ctx, &e);
}

int store_entries_since(store_t *s, uint64_t after, store_entry_fn fn, void *ctx)
{
    store_txn_t *t = NULL;
    int err = store_begin(s, false, &t);
    if (err != FT_OK) {
        return err;
    }
    uint8_t start[8];
    lmdbx_put_u64(start, after + 1);
    MDB_val k = {sizeof start, start};
    entry_scan_t sc = {fn, ctx, t, 0};
    int result = lmdbx_scan(t->txn, s->arrival, &k, NULL, arrival_row, &sc);
    store_abort(&t);
    return result;
}

int store_entry_count(store_txn_t *t, uint64_t *count, uint64_t *last_arrival)
{
    MDB_stat st;
    int rc = mdb_stat(t->txn, t->s->entries, &st);
    if (rc != MDB_SUCCESS) {
        return lmdbx_err(rc);
    }
    *count = st.ms_entries;
    uint64_t v = 0;
    int err = lmdbx_get_meta_u64(t->txn, t->s->meta, "arrival", &v);
    if (err != FT_OK && err != FT_ENOTFOUND) {
        return err;
    }
    *last_arrival = v;
    return FT_OK;
}

/* ---- receipts -------------------------------------------------------- */

int store_receipt_get(store_txn_t *t, const uint8_t device[DEVID_BYTES], uint64_t epoch,
                      uint64_t upto_seq, const uint8_t **raw, size_t *len)
{
    uint8_t key[KEY_DEV_EPOCH_SEQ];
    key_dev_epoch_seq(key, device, epoch, upto_seq);
    MDB_val v;
    int err = get(t, t->s->receipts, key, sizeof key, &v);
    if (err == FT_OK) {
        *raw = v.mv_data;
        *len = v.mv_size;
    }
    return err;
}

int store_receipt_put(store_txn_t *t, const uint8_t device[DEVID_BYTES], uint64_t epoch,
                      uint64_t upto_seq, const uint8_t *raw, size_t len)
{
    uint8_t key[KEY_DEV_EPOCH_SEQ];
    key_dev_epoch_seq(key, device, epoch, upto_seq);
    return put(t, t->s->receipts, key, sizeof key, raw, len, 0);
}

/* ---- integrity events ------------------------------------------------ */

/* Key of integ_seen: device|epoch|seq|reason. */
static size_t seen_key(uint8_t *k, const uint8_t device[DEVID_BYTES], uint64_t epoch, uint64_t seq,
                       const char *reason)
{
    key_dev_epoch_seq(k, device, epoch, seq);
    size_t n = strnlen(reason, STORE_REASON_MAX - 1);
    memcpy(k + KEY_DEV_EPOCH_SEQ, reason, n);
    return KEY_DEV_EPOCH_SEQ + n;
}

int store_integrity_seen(store_txn_t *t, const uint8_t device[DEVID_BYTES], uint64_t epoch,
                         uint64_t seq, const char *reason, uint64_t *id)
{
    uint8_t k[KEY_DEV_EPOCH_SEQ + STORE_REASON_MAX];
    size_t kl = seen_key(k, device, epoch, seq, reason);
    MDB_val v;
    int err = get(t, t->s->integ_seen, k, kl, &v);
    if (err != FT_OK) {
        return err;
    }
    if (v.mv_size != 8) {
        return FT_ECORRUPT;
    }
    *id = lmdbx_get_u64(v.mv_data);
    return FT_OK;
}

int store_integrity_add(store_txn_t *t, const store_integrity_t *ev, uint64_t *id)
{
    uint64_t n = 0;
    int err = next_counter(t, "integrity", &n);
    if (err != FT_OK) {
        return err;
    }
    size_t cap = 2 * STORE_TEXT_MAX + 128 + ev->evidence_len;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        return FT_ENOMEM;
    }
    row_w_t w = {buf, 0, cap, false};
    row_put_u8(&w, ROW_VERSION);
    row_put_u64(&w, (uint64_t)ev->time_ms);
    row_put(&w, ev->device, DEVID_BYTES);
    row_put_str(&w, ev->reason, sizeof ev->reason);
    row_put_u64(&w, ev->epoch);
    row_put_u64(&w, ev->seq);
    row_put_str(&w, ev->detail, sizeof ev->detail);
    row_put_u64(&w, ev->hublog_seq);
    row_put_u64(&w, ev->evidence_len);
    if (ev->evidence_len) {
        row_put(&w, ev->evidence, ev->evidence_len);
    }
    uint8_t key[8];
    lmdbx_put_u64(key, n);
    err = w.overflow ? FT_EINVAL : put(t, t->s->integrity, key, sizeof key, buf, w.len, 0);
    free(buf);
    if (err == FT_OK) {
        uint8_t k[KEY_DEV_EPOCH_SEQ + STORE_REASON_MAX];
        size_t kl = seen_key(k, ev->device, ev->epoch, ev->seq, ev->reason);
        err = put(t, t->s->integ_seen, k, kl, key, sizeof key, 0);
    }
    if (err == FT_OK) {
        *id = n;
    }
    return err;
}

static int integrity_decode(const MDB_val *k, const MDB_val *v, store_integrity_t *ev)
{
    memset(ev, 0, sizeof *ev);
    if (k->mv_size != 8) {
        return FT_ECORRUPT;
    }
    ev->id = lmdbx_get_u64(k->mv_data);
    row_r_t r = {v->mv_data, v->mv_size, 0, false};
    if (row_get_u8(&r) != ROW_VERSION) {
        return FT_ECORRUPT;
    }
    ev->time_ms = (int64_t)row_get_u64(&r);
    row_get(&r, ev->device, DEVID_BYTES);
    row_get_str(&r, ev->reason, sizeof ev->reason);
    ev->epoch = row_get_u64(&r);
    ev->seq = row_get_u64(&r);
    row_get_str(&r, ev->detail, sizeof ev->detail);
    ev->hublog_seq = row_get_u64(&r);
    uint64_t n = row_get_u64(&r);
    if (r.bad || n > r.len - r.off) {
        return FT_ECORRUPT;
    }
    ev->evidence = r.p + r.off;
    ev->evidence_len = (size_t)n;
    return FT_OK;
}

typedef struct {
    store_integrity_fn fn;
    void *ctx;
} integrity_scan_t;

static int integrity_row(void *ctx, const lmdbx_row_t *row)
{
    const integrity_scan_t *s = ctx;
    store_integrity_t ev;
    if (integrity_decode(&row->key, &row->val, &ev) != FT_OK) {
        return FT_ECORRUPT;
    }
    return s->fn(s->ctx, &ev);
}

int store_integrity_iter(store_txn_t *t, uint64_t after, store_integrity_fn fn, void *ctx)
{
    uint8_t start[8];
    lmdbx_put_u64(start, after + 1);
    MDB_val k = {sizeof start, start};
    integrity_scan_t s = {fn, ctx};
    return lmdbx_scan(t->txn, t->s->integrity, &k, NULL, integrity_row, &s);
}

/* ---- refused keys ---------------------------------------------------- */

static int refusal_decode(const MDB_val *k, const MDB_val *v, store_refusal_t *out)
{
    memset(out, 0, sizeof *out);
    if (k->mv_size != 32) {
        return FT_ECORRUPT;
    }
    memcpy(out->transport_pk, k->mv_data, 32);
    row_r_t r = {v->mv_data, v->mv_size, 0, false};
    if (row_get_u8(&r) != ROW_VERSION) {
        return FT_ECORRUPT;
    }
    out->first_ms = (int64_t)row_get_u64(&r);
    out->last_ms = (int64_t)row_get_u64(&r);
    out->count = row_get_u64(&r);
    row_get_str(&r, out->reason, sizeof out->reason);
    row_get_str(&r, out->address, sizeof out->address);
    return r.bad ? FT_ECORRUPT : FT_OK;
}

int store_refusal_note(store_txn_t *t, const uint8_t transport_pk[32], const char *reason,
                       const char *address, int64_t now_ms)
{
    return store_refusal_add(t, transport_pk, reason, address, now_ms, now_ms, 1);
}

int store_refusal_add(store_txn_t *t, const uint8_t transport_pk[32], const char *reason,
                      const char *address, int64_t first_ms, int64_t last_ms, uint64_t count)
{
    static const uint8_t others[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                       0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                       0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                       0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    store_refusal_t rf;
    MDB_val v;
    int err = get(t, t->s->refusals, transport_pk, 32, &v);
    if (err == FT_ENOTFOUND) {
        /* A bounded table: past STORE_REFUSALS_MAX keys, one row counts the rest. */
        MDB_stat ms;
        int rc = mdb_stat(t->txn, t->s->refusals, &ms);
        if (rc != MDB_SUCCESS) {
            return lmdbx_err(rc);
        }
        if (ms.ms_entries >= STORE_REFUSALS_MAX && memcmp(transport_pk, others, 32) != 0) {
            transport_pk = others;
            reason = STORE_REFUSAL_OTHERS;
            err = get(t, t->s->refusals, transport_pk, 32, &v);
        }
    }
    MDB_val k = {32, (void *)transport_pk};
    if (err == FT_OK) {
        err = refusal_decode(&k, &v, &rf);
    } else if (err == FT_ENOTFOUND) {
        memset(&rf, 0, sizeof rf);
        rf.first_ms = first_ms;
        err = FT_OK;
    }
    if (err != FT_OK) {
        return err;
    }
    if (last_ms > rf.last_ms) {
        rf.last_ms = last_ms;
    }
    rf.count += count;
    utf8_copy(rf.reason, sizeof rf.reason, reason);
    utf8_copy(rf.address, sizeof rf.address, address);
    uint8_t buf[256];
    row_w_t w = {buf, 0, sizeof buf, false};
    row_put_u8(&w, ROW_VERSION);
    row_put_u64(&w, (uint64_t)rf.first_ms);
    row_put_u64(&w, (uint64_t)rf.last_ms);
    row_put_u64(&w, rf.count);
    row_put_str(&w, rf.reason, sizeof rf.reason);
    row_put_str(&w, rf.address, sizeof rf.address);
    if (w.overflow) {
        return FT_EINVAL;
    }
    return put(t, t->s->refusals, transport_pk, 32, buf, w.len, 0);
}

typedef struct {
    store_refusal_fn fn;
    void *ctx;
} refusal_scan_t;

static int refusal_row(void *ctx, const lmdbx_row_t *row)
{
    const refusal_scan_t *s = ctx;
    store_refusal_t rf;
    if (refusal_decode(&row->key, &row->val, &rf) != FT_OK) {
        return FT_ECORRUPT;
    }
    return s->fn(s->ctx, &rf);
}

int store_refusal_iter(store_txn_t *t, store_refusal_fn fn, void *ctx)
{
    refusal_scan_t s = {fn, ctx};
    return lmdbx_scan(t->txn, t->s->refusals, NULL, NULL, refusal_row, &s);
}
