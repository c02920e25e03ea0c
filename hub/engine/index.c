/* index.c: the case index on LMDB (tables and the corrected-time rule in
 * index.h).
 *
 * Invariants kept by every committed transaction (index_add_entry is the
 * only writer of items and the by-* tables):
 *   - every entry with arrival <= cursor has an items row, and every
 *     secondary row (case_items, act_*, med_*, cited, checkouts, rec_id)
 *     names an items row;
 *   - med_officer holds a media item under its listed officer, else under
 *     the officer its recorder's checkouts resolve to at its capture start;
 *   - max spans in meta are >= the window of every activity / media item, so
 *     "overlaps [a, b]" can be answered by scanning starts in
 *     [a - max span, b];
 *   - a unit whose inputs changed since its last evaluation is in dirty.
 */
#include "index.h"
#include "compact.h"
#include "gapinput.h"
#include "hlc.h"
#include "lmdbx.h"
#include "record.h"
#include "row.h"
#include "utf8.h"
#include "window.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Item rows: version 1 (index layouts 1 and 2) holds no compact form;
 * version 2 ends in one for records (compact.h). */
#define ROW_VERSION_PLAIN 1
#define ROW_VERSION 2

struct index_t {
    MDB_env *env;
    MDB_dbi items, case_items, act_officer, act_recorder, med_officer, med_recorder, med_id, cited,
        checkouts, rec_id, idents, deadlines, unit_due, dirty, devseen, meta, unit_alerts;
    bool lazy_meta; /* index_lazy_meta: sync the meta page at index_destroy */
};

/* Layout of the tables: 2 added idents (filled from items when an index of
 * layout 1 is opened); 3 added the compact form of each record to its items
 * row (filled from the store by index_upgrade, which the engine runs when it
 * opens the index). */
#define INDEX_LAYOUT 3
#define INDEX_LAYOUT_IDENTS 2

/* Units this transaction marked dirty and has not taken since: marking one
 * again is no write (a case is marked by each of its records). Direct
 * mapped by a hash of the unit; a slot holds the last unit that fell in. */
#define DIRTY_SEEN_SLOTS 64

typedef struct {
    uint16_t n; /* 0: empty */
    uint8_t b[INDEX_UNIT_MAX];
} dirty_seen_t;

struct index_txn_t {
    index_t *idx;
    MDB_txn *txn;
    dirty_seen_t *seen; /* DIRTY_SEEN_SLOTS, made at the first mark */
};

/* ---- small helpers ---------------------------------------------------- */

void index_ref_make(uint8_t ref[INDEX_REF_BYTES], const uint8_t device[DEVID_BYTES], uint64_t epoch,
                    uint64_t seq)
{
    memcpy(ref, device, DEVID_BYTES);
    lmdbx_put_u64(ref + DEVID_BYTES, epoch);
    lmdbx_put_u64(ref + DEVID_BYTES + 8, seq);
}

void index_ref_text(const uint8_t ref[INDEX_REF_BYTES], char out[INDEX_REF_TEXT])
{
    char id[DEVID_TEXT_SIZE];
    devid_format(ref, id);
    snprintf(out, INDEX_REF_TEXT, "%s/%llu/%llu", id,
             (unsigned long long)lmdbx_get_u64(ref + DEVID_BYTES),
             (unsigned long long)lmdbx_get_u64(ref + DEVID_BYTES + 8));
}

int index_ref_parse(const char *text, uint8_t ref[INDEX_REF_BYTES])
{
    char dev[64];
    unsigned long long epoch = 0, seq = 0;
    const char *slash = strchr(text, '/');
    if (!slash || (size_t)(slash - text) >= sizeof dev) {
        return FT_EINVAL;
    }
    memcpy(dev, text, (size_t)(slash - text));
    dev[slash - text] = '\0';
    uint8_t device[DEVID_BYTES];
    if (devid_parse(dev, device) != FT_OK || sscanf(slash + 1, "%llu/%llu", &epoch, &seq) != 2) {
        return FT_EINVAL;
    }
    index_ref_make(ref, device, epoch, seq);
    return FT_OK;
}

void index_unit_case(index_unit_t *u, const char *case_id)
{
    size_t n = strnlen(case_id, INDEX_UNIT_MAX - 1);
    u->b[0] = 'C';
    memcpy(u->b + 1, case_id, n);
    u->n = n + 1;
}

void index_unit_ref(index_unit_t *u, char tag, const uint8_t ref[INDEX_REF_BYTES])
{
    u->b[0] = (uint8_t)tag;
    memcpy(u->b + 1, ref, INDEX_REF_BYTES);
    u->n = 1 + INDEX_REF_BYTES;
}

void index_unit_device(index_unit_t *u, const uint8_t device[DEVID_BYTES])
{
    u->b[0] = 'D';
    memcpy(u->b + 1, device, DEVID_BYTES);
    u->n = 1 + DEVID_BYTES;
}

void index_unit_silence(index_unit_t *u, const uint8_t device[DEVID_BYTES])
{
    u->b[0] = 'S';
    memcpy(u->b + 1, device, DEVID_BYTES);
    u->n = 1 + DEVID_BYTES;
}

void index_unit_integrity(index_unit_t *u, uint64_t id)
{
    u->b[0] = 'I';
    lmdbx_put_u64(u->b + 1, id);
    u->n = 9;
}

/* ---- rows ------------------------------------------------------------- */

/* Row versions: 1 without a compact form, 2 with one (possibly empty). */
static void item_encode(row_w_t *w, const index_item_t *it, const uint8_t *compact, size_t cn)
{
    uint8_t head[4] = {ROW_VERSION, (uint8_t)it->kind, (uint8_t)it->rtype,
                       (uint8_t)((it->activity ? 1 : 0) | (it->officer_listed ? 2 : 0))};
    row_put(w, head, sizeof head);
    row_put_i64(w, it->offset_ms);
    row_put_i64(w, it->time_ms);
    row_put_i64(w, it->start_ms);
    row_put_i64(w, it->end_ms);
    row_put_i64(w, it->logged_ms);
    row_put_i64(w, (int64_t)it->arrival);
    row_put_str(w, it->case_id, INDEX_STR);
    row_put_str(w, it->id, INDEX_STR);
    row_put_str(w, it->amends, INDEX_STR);
    row_put_str(w, it->media_id, INDEX_STR);
    row_put_str(w, it->officer, INDEX_STR);
    row_put_str(w, it->recorder, INDEX_STR);
    row_put_str(w, it->unit, INDEX_STR);
    row_put_u8(w, compact && cn ? 1 : 0);
    if (compact && cn) {
        row_put_u32(w, (uint32_t)cn);
        row_put(w, compact, cn);
    }
}

/* *compact / *cn: the row's compact form (NULL / 0 if none; points into p). */
static int item_decode(const uint8_t ref[INDEX_REF_BYTES], const void *p, size_t len,
                       index_item_t *it, const uint8_t **compact, size_t *cn)
{
    row_r_t r = {p, len, 0, false};
    memset(it, 0, sizeof *it);
    memcpy(it->ref, ref, INDEX_REF_BYTES);
    if (compact) {
        *compact = NULL;
        *cn = 0;
    }
    const uint8_t *head = row_take(&r, 4);
    if (!head || (head[0] != ROW_VERSION && head[0] != ROW_VERSION_PLAIN)) {
        return FT_ECORRUPT;
    }
    it->kind = (index_kind)head[1];
    it->rtype = head[2];
    it->activity = head[3] & 1;
    it->officer_listed = (head[3] & 2) != 0;
    it->offset_ms = row_get_i64(&r);
    it->time_ms = row_get_i64(&r);
    it->start_ms = row_get_i64(&r);
    it->end_ms = row_get_i64(&r);
    it->logged_ms = row_get_i64(&r);
    it->arrival = (uint64_t)row_get_i64(&r);
    row_get_str(&r, it->case_id, INDEX_STR);
    row_get_str(&r, it->id, INDEX_STR);
    row_get_str(&r, it->amends, INDEX_STR);
    row_get_str(&r, it->media_id, INDEX_STR);
    row_get_str(&r, it->officer, INDEX_STR);
    row_get_str(&r, it->recorder, INDEX_STR);
    row_get_str(&r, it->unit, INDEX_STR);
    if (head[0] == ROW_VERSION && row_get_u8(&r)) {
        uint32_t n = row_get_u32(&r);
        const uint8_t *c = row_take(&r, n);
        if (c && compact) {
            *compact = c;
            *cn = n;
        }
    }
    return r.bad ? FT_ECORRUPT : FT_OK;
}

static int item_put_compact(index_txn_t *t, const index_item_t *it, const uint8_t *compact,
                            size_t cn)
{
    uint8_t stack[8 * INDEX_STR + 256];
    row_w_t w = {stack, 0, sizeof stack, false};
    item_encode(&w, it, compact, cn);
    uint8_t *heap = NULL;
    if (w.overflow) {
        heap = malloc(w.len);
        if (!heap) {
            return FT_ENOMEM;
        }
        w = (row_w_t){heap, 0, w.len, false};
        item_encode(&w, it, compact, cn);
    }
    MDB_val k = {INDEX_REF_BYTES, (void *)it->ref}, v = {w.len, w.buf};
    int err = w.overflow ? FT_EINVAL : lmdbx_err(mdb_put(t->txn, t->idx->items, &k, &v, 0));
    free(heap);
    return err;
}

static int item_put(index_txn_t *t, const index_item_t *it)
{
    return item_put_compact(t, it, NULL, 0);
}

int index_item_get(index_txn_t *t, const uint8_t ref[INDEX_REF_BYTES], index_item_t *out)
{
    MDB_val k = {INDEX_REF_BYTES, (void *)ref}, v;
    int rc = mdb_get(t->txn, t->idx->items, &k, &v);
    if (rc != MDB_SUCCESS) {
        return lmdbx_err(rc);
    }
    return item_decode(ref, v.mv_data, v.mv_size, out, NULL, NULL);
}

int index_item_get_compact(index_txn_t *t, const uint8_t ref[INDEX_REF_BYTES], index_item_t *out,
                           Ft__Record **rec)
{
    *rec = NULL;
    MDB_val k = {INDEX_REF_BYTES, (void *)ref}, v;
    int rc = mdb_get(t->txn, t->idx->items, &k, &v);
    if (rc != MDB_SUCCESS) {
        return lmdbx_err(rc);
    }
    const uint8_t *c = NULL;
    size_t cn = 0;
    int err = item_decode(ref, v.mv_data, v.mv_size, out, &c, &cn);
    if (err == FT_OK && c && out->kind == INDEX_RECORD) {
        err = compact_decode(c, cn, rec);
    }
    return err;
}

/* ---- open / transactions ---------------------------------------------- */

/* idents key: unit \0 id \0 ref, for a record of no case with an id (the
 * witnesses of one caseless record, identity.h). 0 if it does not fit. */
static size_t ident_key(uint8_t *k, size_t cap, const char *unit, const char *id,
                        const uint8_t *ref)
{
    size_t un = strlen(unit), in = strlen(id);
    size_t n = un + 1 + in + 1 + (ref ? INDEX_REF_BYTES : 0);
    if (in == 0 || n > cap || n > 500) {
        return 0;
    }
    memcpy(k, unit, un + 1);
    memcpy(k + un + 1, id, in + 1);
    if (ref) {
        memcpy(k + un + 1 + in + 1, ref, INDEX_REF_BYTES);
    }
    return n;
}

/* Brings an index of an older layout up to INDEX_LAYOUT in txn. */
static int upgrade_layout(index_t *idx, MDB_txn *txn)
{
    uint64_t layout = 0;
    if (lmdbx_get_meta_u64(txn, idx->meta, "layout", &layout) == FT_OK &&
        layout >= INDEX_LAYOUT_IDENTS) {
        return FT_OK;
    }
    MDB_stat ms;
    if (layout == 0 && mdb_stat(txn, idx->items, &ms) == MDB_SUCCESS && ms.ms_entries == 0) {
        /* A new index: every row it gets is of the current layout. */
        return lmdbx_put_meta_u64(txn, idx->meta, "layout", INDEX_LAYOUT);
    }
    /* Layout 1 had no idents: fill it from the items of caseless records. */
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, idx->items, &cur);
    MDB_val k, v;
    int err = FT_OK;
    for (rc = rc == MDB_SUCCESS ? mdb_cursor_get(cur, &k, &v, MDB_FIRST) : rc;
         rc == MDB_SUCCESS && err == FT_OK; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        index_item_t it;
        if (k.mv_size != INDEX_REF_BYTES ||
            item_decode(k.mv_data, v.mv_data, v.mv_size, &it, NULL, NULL) != FT_OK ||
            it.kind != INDEX_RECORD || it.case_id[0] || !it.id[0]) {
            continue;
        }
        uint8_t key[512];
        size_t kn = ident_key(key, sizeof key, it.unit, it.id, it.ref);
        if (kn) {
            MDB_val ik = {kn, key}, iv = {0, ""};
            err = lmdbx_err(mdb_put(txn, idx->idents, &ik, &iv, 0));
        }
    }
    if (cur) {
        mdb_cursor_close(cur);
    }
    if (err == FT_OK && rc != MDB_NOTFOUND && rc != MDB_SUCCESS) {
        err = lmdbx_err(rc);
    }
    if (err == FT_OK) {
        err = lmdbx_put_meta_u64(txn, idx->meta, "layout", INDEX_LAYOUT_IDENTS);
    }
    return err;
}

int index_open(const char *dir, size_t map_size, index_t **out)
{
    *out = NULL;
    index_t *idx = calloc(1, sizeof *idx);
    if (!idx) {
        return FT_ENOMEM;
    }
    int err = lmdbx_open(dir, map_size ? map_size : INDEX_DEFAULT_MAP_SIZE, 32, &idx->env);
    if (err != FT_OK) {
        free(idx);
        return err;
    }
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(idx->env, NULL, 0, &txn);
    struct {
        const char *name;
        MDB_dbi *dbi;
    } dbs[] = {
        {"items", &idx->items},
        {"case_items", &idx->case_items},
        {"act_officer", &idx->act_officer},
        {"act_recorder", &idx->act_recorder},
        {"med_officer", &idx->med_officer},
        {"med_recorder", &idx->med_recorder},
        {"med_id", &idx->med_id},
        {"cited", &idx->cited},
        {"checkouts", &idx->checkouts},
        {"rec_id", &idx->rec_id},
        {"idents", &idx->idents},
        {"deadlines", &idx->deadlines},
        {"unit_due", &idx->unit_due},
        {"dirty", &idx->dirty},
        {"devseen", &idx->devseen},
        {"meta", &idx->meta},
        {"unit_alerts", &idx->unit_alerts},
    };
    for (size_t i = 0; rc == MDB_SUCCESS && i < sizeof dbs / sizeof dbs[0]; i++) {
        rc = mdb_dbi_open(txn, dbs[i].name, MDB_CREATE, dbs[i].dbi);
    }
    err = lmdbx_err(rc);
    if (err == FT_OK) {
        err = upgrade_layout(idx, txn);
    }
    if (err == FT_OK) {
        err = lmdbx_err(mdb_txn_commit(txn));
    } else if (txn) {
        mdb_txn_abort(txn);
    }
    if (err != FT_OK) {
        index_destroy(&idx);
        return err;
    }
    *out = idx;
    return FT_OK;
}

/* ---- layout 3: the compact form of every record ------------------------- */

#define UPGRADE_BATCH 4096

/* Up to UPGRADE_BATCH refs of record rows without a compact form, after
 * `after` (NULL: from the first row). */
static int upgrade_scan(MDB_txn *txn, MDB_dbi items, const uint8_t *after, uint8_t *refs, size_t *n,
                        bool *more)
{
    *n = 0;
    *more = false;
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, items, &cur);
    MDB_val k = {after ? INDEX_REF_BYTES : 0, (void *)after}, v;
    if (rc == MDB_SUCCESS) {
        rc = mdb_cursor_get(cur, &k, &v, after ? MDB_SET_RANGE : MDB_FIRST);
    }
    for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (after && k.mv_size == INDEX_REF_BYTES &&
            memcmp(k.mv_data, after, INDEX_REF_BYTES) == 0) {
            continue;
        }
        if (*n == UPGRADE_BATCH) {
            *more = true;
            break;
        }
        const uint8_t *row = v.mv_data;
        /* A record row of version 1: the ones to fill. */
        if (k.mv_size == INDEX_REF_BYTES && v.mv_size >= 2 && row[0] == ROW_VERSION_PLAIN &&
            row[1] == INDEX_RECORD) {
            memcpy(refs + *n * INDEX_REF_BYTES, k.mv_data, INDEX_REF_BYTES);
            (*n)++;
        }
    }
    if (cur) {
        mdb_cursor_close(cur);
    }
    return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? FT_OK : lmdbx_err(rc);
}

/* Rewrites one record row with the compact form of its stored record. An
 * entry the store no longer holds keeps its row as it is (the engine then
 * reads the record the way it always did, and finds what it found before). */
static int upgrade_one(index_txn_t *t, store_txn_t *st, const uint8_t *ref, uint8_t *buf,
                       size_t *done)
{
    index_item_t *it = malloc(sizeof *it);
    if (!it) {
        return FT_ENOMEM;
    }
    int err = index_item_get(t, ref, it);
    const uint8_t *raw = NULL;
    size_t len = 0;
    if (err == FT_OK &&
        store_entry_get(st, ref, lmdbx_get_u64(ref + DEVID_BYTES),
                        lmdbx_get_u64(ref + DEVID_BYTES + 8), &raw, &len) == FT_OK) {
        entry_view_t v;
        if (entry_open(raw, len, &v) == FT_OK) {
            const Ft__Body *b = v.entry->body;
            if (b && b->kind_case == FT__BODY__KIND_RECORD && b->record) {
                size_t cn = compact_encode(b->record, buf, COMPACT_MAX_BYTES);
                err = item_put_compact(t, it, buf, cn);
                (*done)++;
            }
            entry_view_free(&v);
        }
    }
    free(it);
    return err;
}

int index_upgrade(index_t *idx, store_t *store, index_upgrade_fn note, void *ctx)
{
    index_txn_t *t = NULL;
    int err = index_begin(idx, false, &t);
    uint64_t layout = 0;
    if (err == FT_OK && lmdbx_get_meta_u64(t->txn, idx->meta, "layout", &layout) == FT_OK &&
        layout >= INDEX_LAYOUT) {
        index_abort(&t);
        return FT_OK;
    }
    index_abort(&t);
    if (err != FT_OK) {
        return err;
    }
    if (layout > 0 && note) {
        note(ctx, layout, INDEX_LAYOUT, 0, false);
    }
    uint8_t *refs = malloc(UPGRADE_BATCH * INDEX_REF_BYTES);
    uint8_t *buf = malloc(COMPACT_MAX_BYTES);
    uint8_t last[INDEX_REF_BYTES];
    bool started = false, more = true;
    size_t total = 0;
    err = refs && buf ? FT_OK : FT_ENOMEM;
    /* One write transaction per batch: an upgrade cut short resumes where
     * it stopped (rows already filled are version 2). */
    while (err == FT_OK && more) {
        size_t n = 0;
        store_txn_t *st = NULL;
        err = index_begin(idx, true, &t);
        if (err == FT_OK) {
            err = upgrade_scan(t->txn, idx->items, started ? last : NULL, refs, &n, &more);
        }
        if (err == FT_OK && n) {
            err = store_begin(store, false, &st);
        }
        for (size_t i = 0; err == FT_OK && i < n; i++) {
            err = upgrade_one(t, st, refs + i * INDEX_REF_BYTES, buf, &total);
        }
        store_abort(&st);
        if (err == FT_OK && !more) {
            err = lmdbx_put_meta_u64(t->txn, idx->meta, "layout", INDEX_LAYOUT);
        }
        if (err == FT_OK) {
            err = index_commit(&t);
        }
        index_abort(&t);
        if (n) {
            memcpy(last, refs + (n - 1) * INDEX_REF_BYTES, INDEX_REF_BYTES);
            started = true;
        }
    }
    free(refs);
    free(buf);
    if (err == FT_OK && layout > 0 && note) {
        note(ctx, layout, INDEX_LAYOUT, total, true);
    }
    return err;
}

void index_destroy(index_t **idx_p)
{
    index_t *idx = *idx_p;
    if (!idx) {
        return;
    }
    if (idx->env) {
        if (idx->lazy_meta) {
            (void)mdb_env_sync(idx->env, 1); /* the last commit's meta page */
        }
        mdb_env_close(idx->env);
    }
    free(idx);
    *idx_p = NULL;
}

int index_lazy_meta(index_t *idx)
{
    int err = lmdbx_err(mdb_env_set_flags(idx->env, MDB_NOMETASYNC, 1));
    idx->lazy_meta = err == FT_OK;
    return err;
}

MDB_env *index_env(index_t *idx)
{
    return idx->env;
}

int index_begin(index_t *idx, bool write, index_txn_t **out)
{
    *out = NULL;
    index_txn_t *t = calloc(1, sizeof *t);
    if (!t) {
        return FT_ENOMEM;
    }
    t->idx = idx;
    int rc = mdb_txn_begin(idx->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (rc != MDB_SUCCESS) {
        free(t);
        return lmdbx_err(rc);
    }
    *out = t;
    return FT_OK;
}

int index_commit(index_txn_t **t_p)
{
    index_txn_t *t = *t_p;
    *t_p = NULL;
    int err = lmdbx_env_err(t->idx->env, mdb_txn_commit(t->txn)); /* full disk: FT_EFULL */
    free(t->seen);
    free(t);
    return err;
}

void index_abort(index_txn_t **t_p)
{
    index_txn_t *t = *t_p;
    if (!t) {
        return;
    }
    mdb_txn_abort(t->txn);
    free(t->seen);
    free(t);
    *t_p = NULL;
}

MDB_txn *index_txn_mdb(index_txn_t *t)
{
    return t->txn;
}

/* ---- meta ------------------------------------------------------------- */

static uint64_t meta_u64(index_txn_t *t, const char *key)
{
    uint64_t v = 0;
    if (lmdbx_get_meta_u64(t->txn, t->idx->meta, key, &v) != FT_OK) {
        return 0;
    }
    return v;
}

/* A u64 of meta (0 when absent); a value that cannot be read is its error. */
static int meta_get(index_txn_t *t, const char *key, uint64_t *v)
{
    *v = 0;
    int err = lmdbx_get_meta_u64(t->txn, t->idx->meta, key, v);
    if (err == FT_ENOTFOUND) {
        *v = 0;
        return FT_OK;
    }
    return err;
}

int index_cursor(index_txn_t *t, uint64_t *arrival, uint64_t *integrity)
{
    *integrity = 0;
    int err = meta_get(t, "cursor", arrival);
    if (err == FT_OK) {
        err = meta_get(t, "integrity", integrity);
    }
    return err;
}

int index_set_cursor(index_txn_t *t, uint64_t arrival, uint64_t integrity)
{
    int err = lmdbx_put_meta_u64(t->txn, t->idx->meta, "cursor", arrival);
    if (err == FT_OK) {
        err = lmdbx_put_meta_u64(t->txn, t->idx->meta, "integrity", integrity);
    }
    return err;
}

uint64_t index_named_cursor(index_txn_t *t, const char *name)
{
    return meta_u64(t, name);
}

int index_set_named_cursor(index_txn_t *t, const char *name, uint64_t v)
{
    return lmdbx_put_meta_u64(t->txn, t->idx->meta, name, v);
}

static int grow_span(index_txn_t *t, const char *key, int64_t span)
{
    if (span <= 0 || (uint64_t)span <= meta_u64(t, key)) {
        return FT_OK;
    }
    return lmdbx_put_meta_u64(t->txn, t->idx->meta, key, (uint64_t)span);
}

/* ---- secondary keys ---------------------------------------------------- */

/* name \0 time(8) ref(26) into k; the length, 0 if name is too long. */
static size_t name_time_key(uint8_t *k, size_t cap, const char *name, int64_t ms,
                            const uint8_t *ref)
{
    size_t n = strlen(name);
    if (n + 1 + 8 + INDEX_REF_BYTES > cap || n > 400) {
        return 0;
    }
    memcpy(k, name, n);
    k[n] = '\0';
    row_i64_to_be(k + n + 1, ms);
    if (ref) {
        memcpy(k + n + 9, ref, INDEX_REF_BYTES);
        return n + 9 + INDEX_REF_BYTES;
    }
    return n + 9;
}

/* case \0 ref(26) into k (512 bytes); 0 if the case ID is too long. */
static size_t case_key(uint8_t *k, const char *case_id, const uint8_t *ref)
{
    size_t n = strlen(case_id);
    if (n > 400) {
        return 0;
    }
    memcpy(k, case_id, n);
    k[n] = '\0';
    if (ref) {
        memcpy(k + n + 1, ref, INDEX_REF_BYTES);
        return n + 1 + INDEX_REF_BYTES;
    }
    return n + 1;
}

static int put_key(index_txn_t *t, MDB_dbi dbi, const void *k, size_t kn, const void *v, size_t vn)
{
    if (kn == 0) {
        return FT_OK; /* name too long to index: left out */
    }
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};
    return lmdbx_err(mdb_put(t->txn, dbi, &key, &val, 0));
}

static int del_key(index_txn_t *t, MDB_dbi dbi, const void *k, size_t kn)
{
    if (kn == 0) {
        return FT_OK;
    }
    MDB_val key = {kn, (void *)k};
    int rc = mdb_del(t->txn, dbi, &key, NULL);
    return rc == MDB_NOTFOUND ? FT_OK : lmdbx_err(rc);
}

/* Visits name-time keys of `name` with time in [from, to]; fn gets the ref. */
typedef int (*ref_fn)(index_txn_t *t, void *ctx, const uint8_t *ref, int64_t ms, const MDB_val *v);

typedef struct {
    index_txn_t *t;
    size_t prefix;
    int64_t to;
    ref_fn fn;
    void *ctx;
    bool ended; /* the scan stopped at the end of its range */
} name_time_t;

static int name_time_row(void *ctx, const lmdbx_row_t *row)
{
    name_time_t *w = ctx;
    const uint8_t *kb = row->key.mv_data;
    if (row->key.mv_size != w->prefix + 8 + INDEX_REF_BYTES ||
        row_i64_from_be(kb + w->prefix) > w->to) {
        w->ended = true;
        return 1;
    }
    return w->fn(w->t, w->ctx, kb + w->prefix + 8, row_i64_from_be(kb + w->prefix), &row->val);
}

static int scan_name_time(index_txn_t *t, MDB_dbi dbi, const char *name, int64_t from, int64_t to,
                          ref_fn fn, void *ctx)
{
    uint8_t start[512];
    size_t sn = name_time_key(start, sizeof start, name, from, NULL);
    if (sn == 0) {
        return FT_OK;
    }
    name_time_t w = {t, strlen(name) + 1, to, fn, ctx, false};
    MDB_val k = {sn, start}, p = {w.prefix, start};
    int result = lmdbx_scan(t->txn, dbi, &k, &p, name_time_row, &w);
    return w.ended ? FT_OK : result;
}

/* ---- dirty units and deadlines ----------------------------------------- */

static size_t seen_slot(const index_unit_t *u)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < u->n; i++) {
        h = (h ^ u->b[i]) * 16777619u;
    }
    return h % DIRTY_SEEN_SLOTS;
}

int index_mark_dirty(index_txn_t *t, const index_unit_t *u)
{
    if (!t->seen) {
        t->seen = calloc(DIRTY_SEEN_SLOTS, sizeof *t->seen); /* none: no memo */
    }
    dirty_seen_t *slot = t->seen ? &t->seen[seen_slot(u)] : NULL;
    if (slot && slot->n == u->n && memcmp(slot->b, u->b, u->n) == 0) {
        return FT_OK; /* marked in this transaction and not taken since */
    }
    MDB_val k = {u->n, (void *)u->b}, v = {0, ""};
    int err = lmdbx_err(mdb_put(t->txn, t->idx->dirty, &k, &v, 0));
    if (err == FT_OK && slot) {
        slot->n = (uint16_t)u->n;
        memcpy(slot->b, u->b, u->n);
    }
    return err;
}

typedef struct {
    index_unit_t *out;
    size_t max, *n;
    bool full; /* max units taken */
} take_t;

static int take_dirty_row(void *ctx, const lmdbx_row_t *row)
{
    take_t *w = ctx;
    if (*w->n >= w->max) {
        w->full = true;
        return 1;
    }
    if (row->key.mv_size > INDEX_UNIT_MAX) {
        return FT_ECORRUPT;
    }
    memcpy(w->out[*w->n].b, row->key.mv_data, row->key.mv_size);
    w->out[*w->n].n = row->key.mv_size;
    (*w->n)++;
    return lmdbx_row_del(row);
}

int index_take_dirty(index_txn_t *t, index_unit_t *out, size_t max, size_t *n)
{
    *n = 0;
    if (t->seen) { /* taken units are no longer marked */
        memset(t->seen, 0, DIRTY_SEEN_SLOTS * sizeof *t->seen);
    }
    take_t w = {out, max, n, false};
    int err = lmdbx_scan(t->txn, t->idx->dirty, NULL, NULL, take_dirty_row, &w);
    return w.full ? FT_OK : err;
}

int index_set_deadline(index_txn_t *t, const index_unit_t *u, int64_t due_ms)
{
    MDB_val k = {u->n, (void *)u->b}, v;
    uint8_t dk[8 + INDEX_UNIT_MAX];
    int rc = mdb_get(t->txn, t->idx->unit_due, &k, &v);
    if (rc == MDB_SUCCESS && v.mv_size == 8) {
        if (row_i64_from_be(v.mv_data) == due_ms) {
            return FT_OK;
        }
        memcpy(dk, v.mv_data, 8);
        memcpy(dk + 8, u->b, u->n);
        int err = del_key(t, t->idx->deadlines, dk, 8 + u->n);
        if (err == FT_OK) {
            err = del_key(t, t->idx->unit_due, u->b, u->n);
        }
        if (err != FT_OK) {
            return err;
        }
    } else if (rc != MDB_NOTFOUND && rc != MDB_SUCCESS) {
        return lmdbx_err(rc);
    }
    if (due_ms == INT64_MAX) {
        return FT_OK;
    }
    row_i64_to_be(dk, due_ms);
    memcpy(dk + 8, u->b, u->n);
    int err = put_key(t, t->idx->deadlines, dk, 8 + u->n, "", 0);
    if (err == FT_OK) {
        err = put_key(t, t->idx->unit_due, u->b, u->n, dk, 8);
    }
    return err;
}

typedef struct {
    index_txn_t *t;
    int64_t now_ms;
    size_t *n;
    bool later; /* the next deadline is after now */
} due_t;

static int due_row(void *ctx, const lmdbx_row_t *row)
{
    due_t *w = ctx;
    if (row->key.mv_size < 9 || row->key.mv_size > 8 + INDEX_UNIT_MAX) {
        return FT_ECORRUPT;
    }
    if (row_i64_from_be(row->key.mv_data) > w->now_ms) {
        w->later = true;
        return 1;
    }
    index_unit_t u;
    u.n = row->key.mv_size - 8;
    memcpy(u.b, (const uint8_t *)row->key.mv_data + 8, u.n);
    int err = lmdbx_row_del(row);
    if (err == FT_OK) {
        err = del_key(w->t, w->t->idx->unit_due, u.b, u.n);
    }
    if (err == FT_OK) {
        err = index_mark_dirty(w->t, &u);
    }
    if (err == FT_OK) {
        (*w->n)++;
    }
    return err;
}

int index_due(index_txn_t *t, int64_t now_ms, size_t *n)
{
    *n = 0;
    due_t w = {t, now_ms, n, false};
    int err = lmdbx_scan(t->txn, t->idx->deadlines, NULL, NULL, due_row, &w);
    return w.later ? FT_OK : err;
}

typedef struct {
    index_txn_t *t;
    size_t *n;
    char last_case[INDEX_STR];
    bool have_last;
} mark_all_t;

static int mark_all_row(void *ctx, const lmdbx_row_t *row)
{
    mark_all_t *w = ctx;
    index_item_t it;
    if (row->key.mv_size != INDEX_REF_BYTES) {
        return 0;
    }
    int err = item_decode(row->key.mv_data, row->val.mv_data, row->val.mv_size, &it, NULL, NULL);
    if (err != FT_OK) {
        return err;
    }
    index_unit_t u;
    if (it.kind == INDEX_MEDIA) {
        index_unit_ref(&u, 'M', it.ref);
    } else if (it.kind == INDEX_RECORD && it.case_id[0]) {
        if (w->have_last && strcmp(w->last_case, it.case_id) == 0) {
            return 0;
        }
        snprintf(w->last_case, sizeof w->last_case, "%s", it.case_id);
        w->have_last = true;
        index_unit_case(&u, it.case_id);
    } else if (it.kind == INDEX_RECORD) {
        index_unit_ref(&u, 'R', it.ref);
    } else {
        return 0;
    }
    err = index_mark_dirty(w->t, &u);
    if (err == FT_OK) {
        (*w->n)++;
    }
    return err;
}

int index_mark_all(index_txn_t *t, size_t *n)
{
    *n = 0;
    mark_all_t w = {.t = t, .n = n};
    return lmdbx_scan(t->txn, t->idx->items, NULL, NULL, mark_all_row, &w);
}

int index_devseen_get(index_txn_t *t, const uint8_t device[DEVID_BYTES], int64_t *hello_ms)
{
    *hello_ms = 0;
    MDB_val k = {DEVID_BYTES, (void *)device}, v;
    int rc = mdb_get(t->txn, t->idx->devseen, &k, &v);
    if (rc == MDB_SUCCESS && v.mv_size == 8) {
        *hello_ms = row_i64_from_be(v.mv_data);
        return FT_OK;
    }
    return rc == MDB_NOTFOUND ? FT_OK : lmdbx_err(rc);
}

int index_devseen_put(index_txn_t *t, const uint8_t device[DEVID_BYTES], int64_t hello_ms)
{
    uint8_t b[8];
    row_i64_to_be(b, hello_ms);
    return put_key(t, t->idx->devseen, device, DEVID_BYTES, b, 8);
}

/* ---- marking what an entry changes -------------------------------------- */

/* Marks the unit an activity / record ref belongs to. */
static int mark_record_unit(index_txn_t *t, const uint8_t *ref)
{
    index_item_t it;
    int err = index_item_get(t, ref, &it);
    if (err == FT_ENOTFOUND) {
        return FT_OK;
    }
    if (err != FT_OK) {
        return err;
    }
    index_unit_t u;
    if (it.case_id[0]) {
        index_unit_case(&u, it.case_id);
    } else {
        index_unit_ref(&u, 'R', it.ref);
    }
    return index_mark_dirty(t, &u);
}

/* Overlap filter for scans: ctx holds the window. */
typedef struct {
    int64_t a, b;   /* window */
    bool media;     /* the refs are media (mark 'M') or records */
    bool found;     /* for existence checks */
    uint8_t **refs; /* for candidate collection */
    size_t *n, *cap;
} overlap_t;

static int mark_if_overlaps(index_txn_t *t, void *ctx, const uint8_t *ref, int64_t ms,
                            const MDB_val *v)
{
    (void)ms;
    (void)v;
    overlap_t *o = ctx;
    index_item_t it;
    int err = index_item_get(t, ref, &it);
    if (err != FT_OK) {
        return err == FT_ENOTFOUND ? FT_OK : err;
    }
    if (it.start_ms > o->b || it.end_ms < o->a) {
        return FT_OK;
    }
    if (o->media) {
        index_unit_t u;
        index_unit_ref(&u, 'M', ref);
        return index_mark_dirty(t, &u);
    }
    return mark_record_unit(t, ref);
}

static int mark_overlapping(index_txn_t *t, MDB_dbi dbi, const char *span_key, const char *name,
                            int64_t a, int64_t b, bool media)
{
    if (!name || !*name) {
        return FT_OK;
    }
    overlap_t o = {.a = a, .b = b, .media = media};
    int64_t span = (int64_t)meta_u64(t, span_key);
    return scan_name_time(t, dbi, name, a - span, b, mark_if_overlaps, &o);
}

/* A cited row (media ID \0 ref) of the prefix being scanned. */
typedef struct {
    index_txn_t *t;
    size_t prefix;
    bool ended; /* a key of another length ended the scan */
} citers_t;

static int mark_citer_row(void *ctx, const lmdbx_row_t *row)
{
    citers_t *w = ctx;
    if (row->key.mv_size != w->prefix + INDEX_REF_BYTES) {
        w->ended = true;
        return 1;
    }
    return mark_record_unit(w->t, (const uint8_t *)row->key.mv_data + w->prefix);
}

/* Marks the units of records citing media_id. */
static int mark_citers(index_txn_t *t, const char *media_id)
{
    size_t n = strlen(media_id);
    if (n == 0 || n > 400) {
        return FT_OK;
    }
    uint8_t start[512];
    memcpy(start, media_id, n);
    start[n] = '\0';
    citers_t w = {t, n + 1, false};
    MDB_val p = {n + 1, start};
    int err = lmdbx_scan(t->txn, t->idx->cited, NULL, &p, mark_citer_row, &w);
    return w.ended ? FT_OK : err;
}

/* ---- recorder -> officer ------------------------------------------------ */

typedef struct {
    char officer[INDEX_STR];
    bool any;
} resolve_t;

static int take_checkout(index_txn_t *t, void *ctx, const uint8_t *ref, int64_t ms,
                         const MDB_val *v)
{
    (void)t;
    (void)ref;
    (void)ms;
    resolve_t *r = ctx;
    r->any = true;
    const uint8_t *p = v->mv_data;
    if (v->mv_size < 1 || p[0] != 1) {
        r->officer[0] = '\0'; /* a return */
        return FT_OK;
    }
    size_t n = v->mv_size - 1 < INDEX_STR - 1 ? v->mv_size - 1 : INDEX_STR - 1;
    memcpy(r->officer, p + 1, n);
    r->officer[n] = '\0';
    return FT_OK;
}

/* The officer who had recorder checked out at ms ("" if none): the last
 * checkout or return at or before ms, found by one seek and one step back. */
static int resolve_officer(index_txn_t *t, const char *recorder, int64_t ms, char *out)
{
    out[0] = '\0';
    uint8_t k[512];
    size_t prefix = strlen(recorder) + 1;
    size_t kn = ms == INT64_MAX ? 0 : name_time_key(k, sizeof k, recorder, ms + 1, NULL);
    if (!recorder[0] || kn == 0) {
        return FT_OK;
    }
    /* The last key of the recorder before time ms + 1 (no key equals k:
     * every key has a ref after the time). */
    MDB_val start = {kn, k}, p = {prefix, k}, key, v;
    int err = lmdbx_last(t->txn, t->idx->checkouts, &start, &p, &key, &v);
    if (err == FT_OK && key.mv_size == prefix + 8 + INDEX_REF_BYTES) {
        resolve_t r = {.officer = ""};
        err = take_checkout(t, &r, NULL, 0, &v);
        snprintf(out, INDEX_STR, "%s", r.officer);
    }
    return err == FT_ENOTFOUND ? FT_OK : err;
}

/* Re-resolves media of recorder captured at or after from_ms. */
typedef struct {
    int64_t from;
} reresolve_t;

static int reresolve_one(index_txn_t *t, void *ctx, const uint8_t *ref, int64_t ms,
                         const MDB_val *v)
{
    (void)ctx;
    (void)v;
    index_item_t it;
    int err = index_item_get(t, ref, &it);
    if (err != FT_OK) {
        return err == FT_ENOTFOUND ? FT_OK : err;
    }
    if (it.officer_listed) {
        return FT_OK;
    }
    char officer[INDEX_STR];
    err = resolve_officer(t, it.recorder, it.start_ms, officer);
    if (err != FT_OK || strcmp(officer, it.officer) == 0) {
        return err;
    }
    uint8_t k[512];
    size_t kn = name_time_key(k, sizeof k, it.officer, it.start_ms, it.ref);
    if (it.officer[0]) {
        err = del_key(t, t->idx->med_officer, k, kn);
        if (err == FT_OK) {
            err = mark_overlapping(t, t->idx->act_officer, "act_span", it.officer, it.start_ms,
                                   it.end_ms, false);
        }
    }
    snprintf(it.officer, sizeof it.officer, "%s", officer);
    if (err == FT_OK) {
        err = item_put(t, &it);
    }
    if (err == FT_OK && officer[0]) {
        kn = name_time_key(k, sizeof k, officer, it.start_ms, it.ref);
        err = put_key(t, t->idx->med_officer, k, kn, "", 0);
        if (err == FT_OK) {
            err = mark_overlapping(t, t->idx->act_officer, "act_span", officer, it.start_ms,
                                   it.end_ms, false);
        }
    }
    if (err == FT_OK) {
        index_unit_t u;
        index_unit_ref(&u, 'M', it.ref);
        err = index_mark_dirty(t, &u);
    }
    (void)ms;
    return err;
}

/* ---- what each unit raised last ------------------------------------------ */

int index_unit_digest(index_txn_t *t, const index_unit_t *u, uint8_t out[INDEX_DIGEST_BYTES],
                      bool *found)
{
    *found = false;
    MDB_val k = {u->n, (void *)u->b}, v;
    int rc = mdb_get(t->txn, t->idx->unit_alerts, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return FT_OK;
    }
    if (rc != MDB_SUCCESS) {
        return lmdbx_err(rc);
    }
    if (v.mv_size != INDEX_DIGEST_BYTES) {
        return FT_OK; /* not one of ours: the unit is judged in full */
    }
    memcpy(out, v.mv_data, INDEX_DIGEST_BYTES);
    *found = true;
    return FT_OK;
}

int index_set_unit_digest(index_txn_t *t, const index_unit_t *u,
                          const uint8_t digest[INDEX_DIGEST_BYTES])
{
    MDB_val k = {u->n, (void *)u->b}, v = {INDEX_DIGEST_BYTES, (void *)digest};
    return lmdbx_err(mdb_put(t->txn, t->idx->unit_alerts, &k, &v, 0));
}

/* ---- taking entries in ---------------------------------------------------- */

static const char *field_text(const Ft__Record *rec, const char *key)
{
    const Ft__FieldValue *v = record_field(rec, key);
    if (v && v->value_case == FT__FIELD_VALUE__VALUE_TEXT && v->text) {
        return v->text;
    }
    return "";
}

/* Never cut inside a character (utf8.h); text that fits is kept as it is. */
static void copy(char *dst, const char *src)
{
    utf8_copy(dst, INDEX_STR, src);
}

static int add_record(index_txn_t *t, index_item_t *it, const Ft__Record *rec, char *justify,
                      size_t justify_len)
{
    index_t *idx = t->idx;
    int64_t off = it->offset_ms;
    it->kind = INDEX_RECORD;
    it->rtype = (int)rec->type;
    it->activity = record_type_is_activity(rec->type);
    copy(it->case_id, rec->case_id);
    copy(it->id, rec->id);
    copy(it->amends, rec->amends);
    copy(it->unit, rec->unit && rec->unit[0] ? rec->unit : it->unit);
    gapinput_record_times(rec, it->logged_ms, off, &it->start_ms, &it->end_ms, &it->time_ms);
    if (rec->type == FT__RECORD_TYPE__RECORDER_CHECKOUT ||
        rec->type == FT__RECORD_TYPE__RECORDER_RETURN) {
        copy(it->recorder, field_text(rec, "recorder"));
        copy(it->officer, field_text(rec, "officer"));
    }
    uint8_t *compact = malloc(COMPACT_MAX_BYTES);
    if (!compact) {
        return FT_ENOMEM;
    }
    size_t cn = compact_encode(rec, compact, COMPACT_MAX_BYTES);
    int err = item_put_compact(t, it, compact, cn);
    free(compact);
    uint8_t k[512];
    size_t kn;
    if (err == FT_OK && it->case_id[0]) {
        index_unit_t u;
        index_unit_case(&u, it->case_id);
        uint8_t kind = INDEX_RECORD;
        err = put_key(t, idx->case_items, k, case_key(k, it->case_id, it->ref), &kind, 1);
        if (err == FT_OK) {
            err = index_mark_dirty(t, &u);
        }
    } else if (err == FT_OK) {
        index_unit_t u;
        index_unit_ref(&u, 'R', it->ref);
        err = index_mark_dirty(t, &u);
        /* A caseless record with an id: its witnesses on other devices are
         * one record (identity.h); each of their units is judged again. */
        kn = ident_key(k, sizeof k, it->unit, it->id, it->ref);
        if (err == FT_OK && kn) {
            err = put_key(t, idx->idents, k, kn, "", 0);
        }
        uint8_t *wrefs = NULL;
        size_t wn = 0;
        if (err == FT_OK && kn) {
            err = index_identity_refs(t, it->unit, it->id, &wrefs, &wn);
        }
        for (size_t i = 0; err == FT_OK && i < wn; i++) {
            index_unit_ref(&u, 'R', wrefs + i * INDEX_REF_BYTES);
            err = index_mark_dirty(t, &u);
        }
        free(wrefs);
    }
    if (err == FT_OK && it->id[0] && strlen(it->id) < 500) {
        MDB_val key = {strlen(it->id), it->id}, val = {INDEX_REF_BYTES, it->ref};
        int rc = mdb_put(t->txn, idx->rec_id, &key, &val, MDB_NOOVERWRITE);
        err = rc == MDB_KEYEXIST ? FT_OK : lmdbx_err(rc);
    }
    if (err == FT_OK && it->activity) {
        err = grow_span(t, "act_span", it->end_ms - it->start_ms);
        for (size_t i = 0; err == FT_OK && i < rec->n_officers; i++) {
            kn = name_time_key(k, sizeof k, rec->officers[i], it->start_ms, it->ref);
            err = put_key(t, idx->act_officer, k, kn, "", 0);
            if (err == FT_OK) {
                err = mark_overlapping(t, idx->med_officer, "med_span", rec->officers[i],
                                       it->start_ms, it->end_ms, true);
            }
        }
        for (size_t i = 0; err == FT_OK && i < rec->n_recorders; i++) {
            kn = name_time_key(k, sizeof k, rec->recorders[i], it->start_ms, it->ref);
            err = put_key(t, idx->act_recorder, k, kn, "", 0);
            if (err == FT_OK) {
                err = mark_overlapping(t, idx->med_recorder, "med_span", rec->recorders[i],
                                       it->start_ms, it->end_ms, true);
            }
        }
    }
    for (size_t i = 0; err == FT_OK && i < rec->n_media; i++) {
        size_t n = strlen(rec->media[i]);
        if (n == 0 || n > 400) {
            continue;
        }
        memcpy(k, rec->media[i], n);
        k[n] = '\0';
        memcpy(k + n + 1, it->ref, INDEX_REF_BYTES);
        err = put_key(t, idx->cited, k, n + 1 + INDEX_REF_BYTES, "", 0);
        MDB_val key = {n, rec->media[i]}, val;
        if (err == FT_OK && mdb_get(t->txn, idx->med_id, &key, &val) == MDB_SUCCESS &&
            val.mv_size == INDEX_REF_BYTES) {
            index_unit_t u;
            index_unit_ref(&u, 'M', val.mv_data);
            err = index_mark_dirty(t, &u);
        }
    }
    if (err == FT_OK && it->recorder[0]) { /* checkout or return */
        uint8_t val[1 + INDEX_STR];
        val[0] = rec->type == FT__RECORD_TYPE__RECORDER_CHECKOUT ? 1 : 2;
        size_t on = strlen(it->officer);
        memcpy(val + 1, it->officer, on);
        kn = name_time_key(k, sizeof k, it->recorder, it->time_ms, it->ref);
        err = put_key(t, idx->checkouts, k, kn, val, 1 + on);
        if (err == FT_OK) {
            int64_t span = (int64_t)meta_u64(t, "med_span");
            reresolve_t rr = {.from = it->time_ms};
            err = scan_name_time(t, idx->med_recorder, it->recorder, it->time_ms - span, INT64_MAX,
                                 reresolve_one, &rr);
        }
    }
    if (err == FT_OK && rec->type == FT__RECORD_TYPE__JUSTIFICATION) {
        utf8_copy(justify, justify_len, field_text(rec, "alert"));
    }
    return err;
}

/* A manifest that supersedes an earlier one (docs/media.md: the edge took a
 * file before its writer had finished, then ingested it again in full)
 * takes its place: the earlier item leaves the case, officer and recorder
 * tables and becomes INDEX_OTHER, so coverage, the unlinked-media rule and
 * timelines count one clip; its media ID now names the new item. Only an
 * item of the same device and epoch is replaced: a device cannot hide
 * another's clip. The earlier manifest always arrives first (same log). */
static int supersede_media(index_txn_t *t, const index_item_t *it, const Ft__MediaManifest *m)
{
    index_t *idx = t->idx;
    if (m->supersedes.len == 0 || m->supersedes.len > 64) {
        return FT_OK;
    }
    char hex[129];
    hex_encode(m->supersedes.data, m->supersedes.len, hex);
    MDB_val key = {strlen(hex), hex}, val;
    int rc = mdb_get(t->txn, idx->med_id, &key, &val);
    if (rc == MDB_NOTFOUND) {
        return FT_OK;
    }
    if (rc != MDB_SUCCESS) {
        return lmdbx_err(rc);
    }
    if (val.mv_size != INDEX_REF_BYTES || memcmp(val.mv_data, it->ref, DEVID_BYTES + 8) != 0 ||
        memcmp(val.mv_data, it->ref, INDEX_REF_BYTES) == 0) {
        return FT_OK;
    }
    index_item_t *old = calloc(1, sizeof *old);
    if (!old) {
        return FT_ENOMEM;
    }
    int err = index_item_get(t, val.mv_data, old);
    if (err != FT_OK || old->kind != INDEX_MEDIA) {
        free(old);
        return err == FT_ENOTFOUND ? FT_OK : err;
    }
    uint8_t k[512];
    size_t kn;
    if (old->case_id[0]) {
        err = del_key(t, idx->case_items, k, case_key(k, old->case_id, old->ref));
        if (err == FT_OK) {
            index_unit_t u;
            index_unit_case(&u, old->case_id);
            err = index_mark_dirty(t, &u);
        }
    }
    if (err == FT_OK && old->officer[0]) {
        kn = name_time_key(k, sizeof k, old->officer, old->start_ms, old->ref);
        err = del_key(t, idx->med_officer, k, kn);
    }
    if (err == FT_OK && old->recorder[0]) {
        kn = name_time_key(k, sizeof k, old->recorder, old->start_ms, old->ref);
        err = del_key(t, idx->med_recorder, k, kn);
    }
    if (err == FT_OK) {
        err = mark_overlapping(t, idx->act_officer, "act_span", old->officer, old->start_ms,
                               old->end_ms, false);
    }
    if (err == FT_OK) {
        err = mark_overlapping(t, idx->act_recorder, "act_span", old->recorder, old->start_ms,
                               old->end_ms, false);
    }
    if (err == FT_OK) {
        index_unit_t u;
        index_unit_ref(&u, 'M', old->ref);
        err = index_mark_dirty(t, &u);
    }
    if (err == FT_OK) {
        old->kind = INDEX_OTHER;
        err = item_put(t, old);
    }
    if (err == FT_OK) {
        MDB_val nv = {INDEX_REF_BYTES, (void *)it->ref};
        err = lmdbx_err(mdb_put(t->txn, idx->med_id, &key, &nv, 0));
    }
    free(old);
    return err;
}

static int add_media(index_txn_t *t, index_item_t *it, const Ft__MediaManifest *m)
{
    index_t *idx = t->idx;
    int64_t off = it->offset_ms;
    it->kind = INDEX_MEDIA;
    if (m->file_id.len > 0 && m->file_id.len <= 64) {
        char hex[129];
        hex_encode(m->file_id.data, m->file_id.len, hex);
        copy(it->media_id, hex);
    } else {
        index_ref_text(it->ref, it->media_id);
    }
    copy(it->case_id, m->case_id);
    copy(it->recorder, m->recorder);
    copy(it->unit, m->unit && m->unit[0] ? m->unit : it->unit);
    copy(it->id, m->file_name);
    gapinput_media_times(m, it->logged_ms, off, &it->start_ms, &it->end_ms);
    it->time_ms = it->start_ms;
    int err = FT_OK;
    if (m->officer && m->officer[0]) {
        it->officer_listed = true;
        copy(it->officer, m->officer);
    } else {
        err = resolve_officer(t, it->recorder, it->start_ms, it->officer);
    }
    if (err == FT_OK) {
        err = item_put(t, it);
    }
    if (err == FT_OK) {
        err = grow_span(t, "med_span", it->end_ms - it->start_ms);
    }
    uint8_t k[512];
    size_t kn;
    if (err == FT_OK && it->case_id[0]) {
        uint8_t kind = INDEX_MEDIA;
        err = put_key(t, idx->case_items, k, case_key(k, it->case_id, it->ref), &kind, 1);
    }
    if (err == FT_OK && it->officer[0]) {
        kn = name_time_key(k, sizeof k, it->officer, it->start_ms, it->ref);
        err = put_key(t, idx->med_officer, k, kn, "", 0);
    }
    if (err == FT_OK && it->recorder[0]) {
        kn = name_time_key(k, sizeof k, it->recorder, it->start_ms, it->ref);
        err = put_key(t, idx->med_recorder, k, kn, "", 0);
    }
    if (err == FT_OK && strlen(it->media_id) < 500) {
        MDB_val key = {strlen(it->media_id), it->media_id}, val = {INDEX_REF_BYTES, it->ref};
        int rc = mdb_put(t->txn, idx->med_id, &key, &val, MDB_NOOVERWRITE);
        err = rc == MDB_KEYEXIST ? FT_OK : lmdbx_err(rc);
    }
    if (err == FT_OK) {
        index_unit_t u;
        index_unit_ref(&u, 'M', it->ref);
        err = index_mark_dirty(t, &u);
    }
    if (err == FT_OK) {
        err = mark_overlapping(t, idx->act_officer, "act_span", it->officer, it->start_ms,
                               it->end_ms, false);
    }
    if (err == FT_OK) {
        err = mark_overlapping(t, idx->act_recorder, "act_span", it->recorder, it->start_ms,
                               it->end_ms, false);
    }
    if (err == FT_OK) {
        err = mark_citers(t, it->media_id);
    }
    if (err == FT_OK && m->has_supersedes) {
        err = supersede_media(t, it, m);
    }
    return err;
}

int index_add_entry(index_txn_t *t, const store_entry_t *e, const entry_view_t *v,
                    int64_t offset_ms, const char *device_unit, char *justify_alert,
                    size_t justify_len)
{
    justify_alert[0] = '\0';
    index_item_t *it = calloc(1, sizeof *it);
    if (!it) {
        return FT_ENOMEM;
    }
    index_ref_make(it->ref, e->device, e->epoch, e->seq);
    it->arrival = e->arrival;
    it->offset_ms = offset_ms;
    it->logged_ms = (int64_t)hlc_ms(v->entry->hlc);
    copy(it->unit, device_unit);
    const Ft__Body *b = v->entry->body;
    int err;
    if (b && b->kind_case == FT__BODY__KIND_RECORD && b->record) {
        err = add_record(t, it, b->record, justify_alert, justify_len);
    } else if (b && b->kind_case == FT__BODY__KIND_MEDIA && b->media) {
        err = add_media(t, it, b->media);
    } else {
        it->kind = INDEX_OTHER;
        it->time_ms = it->start_ms = it->end_ms = it->logged_ms + offset_ms;
        err = item_put(t, it);
    }
    free(it);
    return err;
}

/* ---- queries ----------------------------------------------------------- */

/* The refs that end the keys of dbi starting with prefix[0..pn) (keys of
 * exactly pn + INDEX_REF_BYTES bytes; a longer name that starts like this
 * one is passed over). */
typedef struct {
    size_t pn;
    uint8_t **refs;
    size_t *n, cap;
} prefix_refs_t;

static int prefix_ref_row(void *ctx, const lmdbx_row_t *row)
{
    prefix_refs_t *w = ctx;
    if (row->key.mv_size != w->pn + INDEX_REF_BYTES) {
        return 0;
    }
    if (*w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 32;
        uint8_t *bigger = realloc(*w->refs, cap * INDEX_REF_BYTES);
        if (!bigger) {
            return FT_ENOMEM;
        }
        *w->refs = bigger;
        w->cap = cap;
    }
    memcpy(*w->refs + *w->n * INDEX_REF_BYTES, (const uint8_t *)row->key.mv_data + w->pn,
           INDEX_REF_BYTES);
    (*w->n)++;
    return 0;
}

static int prefix_refs(index_txn_t *t, MDB_dbi dbi, const uint8_t *prefix, size_t pn,
                       uint8_t **refs, size_t *n)
{
    *refs = NULL;
    *n = 0;
    if (pn == 0) {
        return FT_OK;
    }
    prefix_refs_t w = {pn, refs, n, 0};
    MDB_val p = {pn, (void *)prefix};
    int err = lmdbx_scan(t->txn, dbi, NULL, &p, prefix_ref_row, &w);
    if (err != FT_OK) {
        free(*refs);
        *refs = NULL;
        *n = 0;
    }
    return err;
}

int index_case_refs(index_txn_t *t, const char *case_id, uint8_t **refs, size_t *n)
{
    uint8_t start[512];
    return prefix_refs(t, t->idx->case_items, start, case_key(start, case_id, NULL), refs, n);
}

int index_identity_refs(index_txn_t *t, const char *unit, const char *id, uint8_t **refs, size_t *n)
{
    uint8_t start[512];
    return prefix_refs(t, t->idx->idents, start, ident_key(start, sizeof start, unit, id, NULL),
                       refs, n);
}

static int add_ref(uint8_t **refs, size_t *n, size_t *cap, const uint8_t *ref)
{
    for (size_t i = 0; i < *n; i++) {
        if (memcmp(*refs + i * INDEX_REF_BYTES, ref, INDEX_REF_BYTES) == 0) {
            return FT_OK;
        }
    }
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        uint8_t *bigger = realloc(*refs, c * INDEX_REF_BYTES);
        if (!bigger) {
            return FT_ENOMEM;
        }
        *refs = bigger;
        *cap = c;
    }
    memcpy(*refs + *n * INDEX_REF_BYTES, ref, INDEX_REF_BYTES);
    (*n)++;
    return FT_OK;
}

static int collect_if_overlaps(index_txn_t *t, void *ctx, const uint8_t *ref, int64_t ms,
                               const MDB_val *v)
{
    (void)v;
    (void)t;
    (void)ms;
    overlap_t *o = ctx;
    return add_ref(o->refs, o->n, o->cap, ref);
}

int index_media_candidates(index_txn_t *t, const gap_record_t *recs, size_t n_recs, uint8_t **refs,
                           size_t *n, size_t *cap)
{
    int64_t span = (int64_t)meta_u64(t, "med_span");
    int err = FT_OK;
    for (size_t i = 0; err == FT_OK && i < n_recs; i++) {
        const Ft__Record *rec = recs[i].rec;
        for (size_t j = 0; err == FT_OK && j < rec->n_media; j++) {
            MDB_val key = {strlen(rec->media[j]), rec->media[j]}, val;
            if (key.mv_size && key.mv_size < 500 &&
                mdb_get(t->txn, t->idx->med_id, &key, &val) == MDB_SUCCESS &&
                val.mv_size == INDEX_REF_BYTES) {
                err = add_ref(refs, n, cap, val.mv_data);
            }
        }
        if (!record_type_is_activity(rec->type)) {
            continue;
        }
        overlap_t o = {.refs = refs, .n = n, .cap = cap};
        for (size_t j = 0; err == FT_OK && j < rec->n_officers; j++) {
            err = scan_name_time(t, t->idx->med_officer, rec->officers[j], recs[i].start_ms - span,
                                 recs[i].end_ms, collect_if_overlaps, &o);
        }
        for (size_t j = 0; err == FT_OK && j < rec->n_recorders; j++) {
            err = scan_name_time(t, t->idx->med_recorder, rec->recorders[j],
                                 recs[i].start_ms - span, recs[i].end_ms, collect_if_overlaps, &o);
        }
    }
    return err;
}

static int found_if_overlaps(index_txn_t *t, void *ctx, const uint8_t *ref, int64_t ms,
                             const MDB_val *v)
{
    (void)v;
    (void)ms;
    overlap_t *o = ctx;
    index_item_t it;
    int err = index_item_get(t, ref, &it);
    if (err != FT_OK) {
        return err == FT_ENOTFOUND ? FT_OK : err;
    }
    if (window_overlaps(it.start_ms, it.end_ms, o->a, o->b)) { /* as gaps_media_links */
        o->found = true;
        return 1;
    }
    return FT_OK;
}

/* 1 when the first row of the scanned prefix has the length of a cited row,
 * 2 when it has another. */
static int first_cited_row(void *ctx, const lmdbx_row_t *row)
{
    return row->key.mv_size == *(const size_t *)ctx ? 1 : 2;
}

int index_media_linked(index_txn_t *t, const index_item_t *m, bool *linked)
{
    *linked = m->case_id[0] != '\0';
    if (*linked) {
        return FT_OK;
    }
    size_t n = strlen(m->media_id);
    if (n > 0 && n <= 400) {
        uint8_t start[512];
        memcpy(start, m->media_id, n);
        start[n] = '\0';
        /* The first cited row of the media ID decides, as one seek did. */
        MDB_val p = {n + 1, start};
        size_t want = n + 1 + INDEX_REF_BYTES;
        int found = lmdbx_scan(t->txn, t->idx->cited, NULL, &p, first_cited_row, &want);
        if (found < 0) {
            return found;
        }
        *linked = found == 1;
        if (*linked) {
            return FT_OK;
        }
    }
    int64_t span = (int64_t)meta_u64(t, "act_span");
    overlap_t o = {.a = m->start_ms, .b = m->end_ms};
    int err = FT_OK;
    if (m->officer[0]) {
        err = scan_name_time(t, t->idx->act_officer, m->officer, m->start_ms - span, m->end_ms,
                             found_if_overlaps, &o);
    }
    if (err >= 0 && !o.found && m->recorder[0]) {
        err = scan_name_time(t, t->idx->act_recorder, m->recorder, m->start_ms - span, m->end_ms,
                             found_if_overlaps, &o);
    }
    *linked = o.found;
    return err < 0 ? err : FT_OK;
}

typedef struct {
    index_case_fn fn;
    void *ctx;
    char last[INDEX_STR];
    bool have;
} cases_t;

static int case_row(void *ctx, const lmdbx_row_t *row)
{
    cases_t *w = ctx;
    if (row->key.mv_size < 1 + INDEX_REF_BYTES) {
        return 0;
    }
    size_t cn = row->key.mv_size - 1 - INDEX_REF_BYTES;
    if (cn >= INDEX_STR) {
        return 0;
    }
    char c[INDEX_STR];
    memcpy(c, row->key.mv_data, cn);
    c[cn] = '\0';
    if (w->have && strcmp(c, w->last) == 0) {
        return 0;
    }
    memcpy(w->last, c, cn + 1);
    w->have = true;
    return w->fn(w->ctx, c);
}

/* Every case once, in key order; a read error is returned, never the end. */
int index_cases_iter(index_txn_t *t, index_case_fn fn, void *ctx)
{
    cases_t w = {.fn = fn, .ctx = ctx};
    return lmdbx_scan(t->txn, t->idx->case_items, NULL, NULL, case_row, &w);
}
