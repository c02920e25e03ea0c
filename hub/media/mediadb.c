/* mediadb.c: the hub's media database (see mediadb.h): LMDB tables, the file
 * row codec and the reader of the raw rows written before it. */
#include "mediadb.h"
#include "fsutil.h"
#include "row.h"

#include <stdlib.h>
#include <string.h>

#define MEDIA_MDB_MAP ((size_t)1 << 30)

struct hub_mdb_t {
    MDB_env *env;
    MDB_dbi files, held, bad, rcpt, meta;
};

/* ---- the file row ---------------------------------------------------------- */

#define MFILE_MAGIC 0x46 /* 'F': never the first byte of a version 1 row (its u32 version) */
#define MFILE_VERSION 2

/* File rows as version 1 wrote them: hub_mfile_t of that time, raw, in the
 * host's layout (padding after device included). Frozen: never change it. */
typedef struct {
    uint32_t version; /* 1 */
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
} mfile_v1_t;

#if defined(__x86_64__) || defined(__aarch64__)
_Static_assert(sizeof(mfile_v1_t) == 184, "version 1 file rows are 184 bytes");
_Static_assert(offsetof(mfile_v1_t, epoch) == 40, "version 1: epoch after 6 bytes of padding");
_Static_assert(offsetof(mfile_v1_t, content_hash) == 152, "version 1 layout");
#endif

size_t hub_mfile_encode(const hub_mfile_t *f, uint8_t *buf, size_t cap)
{
    row_w_t w = {.buf = buf, .cap = cap};
    row_put_u8(&w, MFILE_MAGIC);
    row_put_u8(&w, MFILE_VERSION);
    row_put_u8(&w, (uint8_t)f->state);
    row_put(&w, f->file_id, MEDIA_FILE_ID_BYTES);
    row_put(&w, f->device, DEVID_BYTES);
    row_put_u64(&w, f->epoch);
    row_put_u64(&w, f->seq);
    row_put_u64(&w, f->size);
    row_put_u32(&w, f->chunk_size);
    row_put_u32(&w, f->n_chunks);
    row_put_u32(&w, f->held);
    row_put_u32(&w, f->bad);
    row_put_u64(&w, f->dup_chunks);
    row_put_i64(&w, f->indexed_ms);
    row_put_i64(&w, f->first_ms);
    row_put_i64(&w, f->last_ms);
    row_put_i64(&w, f->completed_ms);
    row_put(&w, f->merkle_root, MEDIA_HASH_BYTES);
    row_put(&w, f->content_hash, MEDIA_HASH_BYTES);
    return w.overflow ? 0 : w.len;
}

static bool state_ok(uint32_t state)
{
    return state >= HMF_PULLING && state <= HMF_FAILED;
}

int hub_mfile_decode(const uint8_t *v, size_t n, hub_mfile_t *out)
{
    hub_mfile_t f;
    memset(&f, 0, sizeof f);
    if (n == sizeof(mfile_v1_t) && v[0] != MFILE_MAGIC) {
        mfile_v1_t o;
        memcpy(&o, v, sizeof o);
        if (o.version != 1) {
            return FT_ECORRUPT;
        }
        f.version = 1;
        f.state = o.state;
        memcpy(f.file_id, o.file_id, sizeof f.file_id);
        memcpy(f.device, o.device, sizeof f.device);
        f.epoch = o.epoch;
        f.seq = o.seq;
        f.size = o.size;
        f.chunk_size = o.chunk_size;
        f.n_chunks = o.n_chunks;
        f.held = o.held;
        f.bad = o.bad;
        f.dup_chunks = o.dup_chunks;
        f.indexed_ms = o.indexed_ms;
        f.first_ms = o.first_ms;
        f.last_ms = o.last_ms;
        f.completed_ms = o.completed_ms;
        memcpy(f.merkle_root, o.merkle_root, sizeof f.merkle_root);
        memcpy(f.content_hash, o.content_hash, sizeof f.content_hash);
    } else {
        row_r_t r = {.p = v, .len = n};
        uint8_t magic = row_get_u8(&r), version = row_get_u8(&r);
        if (magic != MFILE_MAGIC || version != MFILE_VERSION) {
            return FT_ECORRUPT;
        }
        f.version = version;
        f.state = row_get_u8(&r);
        row_get(&r, f.file_id, MEDIA_FILE_ID_BYTES);
        row_get(&r, f.device, DEVID_BYTES);
        f.epoch = row_get_u64(&r);
        f.seq = row_get_u64(&r);
        f.size = row_get_u64(&r);
        f.chunk_size = row_get_u32(&r);
        f.n_chunks = row_get_u32(&r);
        f.held = row_get_u32(&r);
        f.bad = row_get_u32(&r);
        f.dup_chunks = row_get_u64(&r);
        f.indexed_ms = row_get_i64(&r);
        f.first_ms = row_get_i64(&r);
        f.last_ms = row_get_i64(&r);
        f.completed_ms = row_get_i64(&r);
        row_get(&r, f.merkle_root, MEDIA_HASH_BYTES);
        row_get(&r, f.content_hash, MEDIA_HASH_BYTES);
        if (r.bad || r.off != r.len) {
            return FT_ECORRUPT;
        }
    }
    if (!state_ok(f.state)) {
        return FT_ECORRUPT;
    }
    *out = f;
    return FT_OK;
}

/* ---- the database ------------------------------------------------------------ */

int hub_mdb_open(const char *state, hub_mdb_t **out)
{
    *out = NULL;
    char path[4200];
    if (fsutil_join(path, sizeof path, state, "mediadb") != FT_OK) {
        return FT_EINVAL;
    }
    hub_mdb_t *d = calloc(1, sizeof *d);
    if (!d) {
        return FT_ENOMEM;
    }
    int err = lmdbx_open(path, MEDIA_MDB_MAP, 8, &d->env);
    if (err != FT_OK) {
        free(d);
        return err;
    }
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(d->env, NULL, 0, &txn);
    struct {
        const char *name;
        MDB_dbi *dbi;
    } dbs[] = {
        {"files", &d->files}, {"held", &d->held}, {"bad", &d->bad},
        {"rcpt", &d->rcpt},   {"meta", &d->meta},
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
        mdb_env_close(d->env);
        free(d);
        return lmdbx_err(rc);
    }
    *out = d;
    return FT_OK;
}

void hub_mdb_destroy(hub_mdb_t **d_p)
{
    hub_mdb_t *d = *d_p;
    if (!d) {
        return;
    }
    mdb_env_close(d->env);
    free(d);
    *d_p = NULL;
}

int hub_mdb_begin(hub_mdb_t *d, bool write, MDB_txn **out)
{
    *out = NULL;
    return lmdbx_err(mdb_txn_begin(d->env, NULL, write ? 0 : MDB_RDONLY, out));
}

int hub_mdb_commit(hub_mdb_t *d, MDB_txn *txn)
{
    /* mdb_txn_commit ends the transaction even when it fails: aborting it
     * again would free the environment's write transaction (LMDB 0.9). */
    return lmdbx_env_err(d->env, mdb_txn_commit(txn));
}

static int put_val(MDB_txn *txn, MDB_dbi dbi, const uint8_t *file_id, const void *v, size_t n)
{
    MDB_val k = {MEDIA_FILE_ID_BYTES, (void *)file_id}, val = {n, (void *)v};
    return lmdbx_err(mdb_put(txn, dbi, &k, &val, 0));
}

static int get_val(MDB_txn *txn, MDB_dbi dbi, const uint8_t *file_id, MDB_val *v)
{
    MDB_val k = {MEDIA_FILE_ID_BYTES, (void *)file_id};
    return lmdbx_err(mdb_get(txn, dbi, &k, v));
}

int hub_mdb_file_read(hub_mdb_t *d, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                      hub_mfile_t *out)
{
    MDB_val v;
    int err = get_val(txn, d->files, file_id, &v);
    if (err == FT_OK) {
        err = hub_mfile_decode(v.mv_data, v.mv_size, out);
    }
    return err;
}

int hub_mdb_file_write(hub_mdb_t *d, MDB_txn *txn, const hub_mfile_t *f)
{
    uint8_t buf[HUB_MFILE_ROW_MAX];
    size_t n = hub_mfile_encode(f, buf, sizeof buf);
    return n ? put_val(txn, d->files, f->file_id, buf, n) : FT_EINVAL;
}

static MDB_dbi bitmap_dbi(const hub_mdb_t *d, hub_mdb_bitmap which)
{
    return which == HUB_MDB_HELD ? d->held : d->bad;
}

int hub_mdb_bitmap_read(hub_mdb_t *d, MDB_txn *txn, hub_mdb_bitmap which,
                        const uint8_t file_id[MEDIA_FILE_ID_BYTES], uint8_t *out, size_t n)
{
    memset(out, 0, n);
    MDB_val v;
    int err = get_val(txn, bitmap_dbi(d, which), file_id, &v);
    if (err == FT_ENOTFOUND) {
        return FT_OK;
    }
    if (err == FT_OK) {
        memcpy(out, v.mv_data, v.mv_size < n ? v.mv_size : n);
    }
    return err;
}

int hub_mdb_bitmap_write(hub_mdb_t *d, MDB_txn *txn, hub_mdb_bitmap which,
                         const uint8_t file_id[MEDIA_FILE_ID_BYTES], const uint8_t *bits, size_t n)
{
    return put_val(txn, bitmap_dbi(d, which), file_id, bits, n);
}

int hub_mdb_receipt_read(hub_mdb_t *d, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                         const uint8_t **raw, size_t *len)
{
    MDB_val v;
    int err = get_val(txn, d->rcpt, file_id, &v);
    if (err == FT_OK) {
        *raw = v.mv_data;
        *len = v.mv_size;
    }
    return err;
}

int hub_mdb_receipt_write(hub_mdb_t *d, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                          const uint8_t *raw, size_t len)
{
    return put_val(txn, d->rcpt, file_id, raw, len);
}

int hub_mdb_cursor_read(hub_mdb_t *d, MDB_txn *txn, uint64_t *arrival)
{
    *arrival = 0;
    int err = lmdbx_get_meta_u64(txn, d->meta, "cursor", arrival);
    return err == FT_ENOTFOUND ? FT_OK : err;
}

int hub_mdb_cursor_write(hub_mdb_t *d, MDB_txn *txn, uint64_t arrival)
{
    return lmdbx_put_meta_u64(txn, d->meta, "cursor", arrival);
}

typedef struct {
    hub_mfile_fn fn;
    void *ctx;
    lmdbx_unread_t *unread;
    uint64_t bad;
} walk_t;

static int file_row(void *ctx, const lmdbx_row_t *row)
{
    walk_t *w = ctx;
    hub_mfile_t f;
    if (row->key.mv_size != MEDIA_FILE_ID_BYTES ||
        hub_mfile_decode(row->val.mv_data, row->val.mv_size, &f) != FT_OK ||
        memcmp(f.file_id, row->key.mv_data, MEDIA_FILE_ID_BYTES) != 0) {
        w->bad++;
        lmdbx_unread_note(w->unread, &row->key);
        return 0;
    }
    return w->fn(w->ctx, &f);
}

int hub_mdb_iter(hub_mdb_t *d, hub_mfile_fn fn, void *ctx, lmdbx_unread_t *unread)
{
    MDB_txn *txn = NULL;
    int err = hub_mdb_begin(d, false, &txn);
    if (err != FT_OK) {
        return err;
    }
    walk_t w = {fn, ctx, unread, 0};
    err = lmdbx_scan(txn, d->files, NULL, NULL, file_row, &w);
    mdb_txn_abort(txn);
    return err == FT_OK && w.bad ? FT_ECORRUPT : err;
}

int hub_mdb_get(hub_mdb_t *d, const uint8_t file_id[MEDIA_FILE_ID_BYTES], hub_mfile_t *out)
{
    MDB_txn *txn = NULL;
    int err = hub_mdb_begin(d, false, &txn);
    if (err != FT_OK) {
        return err;
    }
    err = hub_mdb_file_read(d, txn, file_id, out);
    mdb_txn_abort(txn);
    return err;
}
