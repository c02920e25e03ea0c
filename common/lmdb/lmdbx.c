/* lmdbx.c: LMDB environment opening, error mapping and scans (see lmdbx.h). */
#include "lmdbx.h"
#include "fsutil.h"
#include "keys.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/statvfs.h>

int lmdbx_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return FT_OK;
    case MDB_NOTFOUND:
        return FT_ENOTFOUND;
    case MDB_KEYEXIST:
        return FT_EEXIST;
    case MDB_MAP_FULL:
    case ENOSPC:
    case EDQUOT:
        return FT_EFULL;
    case ENOMEM:
        return FT_ENOMEM;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        return FT_ECORRUPT;
    default:
        return FT_EIO;
    }
}

int lmdbx_env_err(MDB_env *env, int rc)
{
    int err = lmdbx_err(rc);
    const char *path = NULL;
    struct statvfs vfs;
    if (err == FT_EIO && env && mdb_env_get_path(env, &path) == MDB_SUCCESS && path &&
        statvfs(path, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < (1u << 20)) {
        return FT_EFULL;
    }
    return err;
}

int lmdbx_open(const char *dir, size_t map_size, unsigned max_dbs, MDB_env **env)
{
    *env = NULL;
    int err = fsutil_mkdirs(dir, 0700);
    if (err != FT_OK) {
        return err;
    }
    MDB_env *e = NULL;
    int rc = mdb_env_create(&e);
    if (rc != MDB_SUCCESS) {
        return lmdbx_err(rc);
    }
    rc = mdb_env_set_maxdbs(e, max_dbs);
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_mapsize(e, map_size);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_maxreaders(e, 126);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_open(e, dir, MDB_NOTLS, 0600);
    }
    if (rc != MDB_SUCCESS) {
        mdb_env_close(e);
        return lmdbx_err(rc);
    }
    *env = e;
    return FT_OK;
}

void lmdbx_put_u64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

uint64_t lmdbx_get_u64(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | in[i];
    }
    return v;
}

int lmdbx_get_meta(MDB_txn *txn, MDB_dbi dbi, const char *key, void *out, size_t n)
{
    MDB_val k = {strlen(key), (void *)key}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc != MDB_SUCCESS) {
        return lmdbx_err(rc);
    }
    if (v.mv_size != n) {
        return FT_ECORRUPT;
    }
    memcpy(out, v.mv_data, n);
    return FT_OK;
}

int lmdbx_put_meta(MDB_txn *txn, MDB_dbi dbi, const char *key, const void *val, size_t n)
{
    MDB_val k = {strlen(key), (void *)key}, v = {n, (void *)val};
    return lmdbx_err(mdb_put(txn, dbi, &k, &v, 0));
}

int lmdbx_get_meta_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *out)
{
    uint8_t b[8];
    int err = lmdbx_get_meta(txn, dbi, key, b, sizeof b);
    if (err == FT_OK) {
        *out = lmdbx_get_u64(b);
    }
    return err;
}

int lmdbx_put_meta_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t v)
{
    uint8_t b[8];
    lmdbx_put_u64(b, v);
    return lmdbx_put_meta(txn, dbi, key, b, sizeof b);
}

/* ---- scans -------------------------------------------------------------- */

/* LMDB's default key order: bytewise, then the shorter first. */
static int key_cmp(const MDB_val *a, const MDB_val *b)
{
    size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
    int c = n ? memcmp(a->mv_data, b->mv_data, n) : 0;
    if (c) {
        return c;
    }
    return (a->mv_size > b->mv_size) - (a->mv_size < b->mv_size);
}

static bool has_prefix(const MDB_val *k, const MDB_val *prefix)
{
    return !prefix || (k->mv_size >= prefix->mv_size &&
                       memcmp(k->mv_data, prefix->mv_data, prefix->mv_size) == 0);
}

/* Positions cur at the first row of the range (forward). */
static int seek_first(MDB_cursor *cur, const MDB_val *start, const MDB_val *prefix, MDB_val *k,
                      MDB_val *v)
{
    const MDB_val *seek = start;
    if (prefix && (!seek || key_cmp(seek, prefix) < 0)) {
        seek = prefix;
    }
    if (!seek || seek->mv_size == 0) {
        return mdb_cursor_get(cur, k, v, MDB_FIRST);
    }
    *k = *seek;
    return mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
}

/* Positions cur at the last row at or before bound (inclusive: the row
 * equal to bound is taken, else the one before it). */
static int seek_at_or_before(MDB_cursor *cur, const MDB_val *bound, bool inclusive, MDB_val *k,
                             MDB_val *v)
{
    *k = *bound;
    int rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND) {
        return mdb_cursor_get(cur, k, v, MDB_LAST);
    }
    if (rc == MDB_SUCCESS && (!inclusive || key_cmp(k, bound) != 0)) {
        rc = mdb_cursor_get(cur, k, v, MDB_PREV);
    }
    return rc;
}

/* Positions cur at the first row of the range (backward). */
static int seek_last(MDB_cursor *cur, const MDB_val *start, const MDB_val *prefix, MDB_val *k,
                     MDB_val *v)
{
    /* The first key after every key of the prefix: the prefix with its
     * last byte that is not 0xff incremented and what follows cut. */
    uint8_t after[512];
    MDB_val end = {0, after};
    bool has_end = false;
    if (prefix && prefix->mv_size > 0) {
        size_t n = prefix->mv_size;
        const uint8_t *p = prefix->mv_data;
        while (n > 0 && p[n - 1] == 0xff) {
            n--;
        }
        if (n > 0) {
            memcpy(after, p, n);
            after[n - 1]++;
            end.mv_size = n;
            has_end = true;
        }
    }
    if (start && start->mv_size > 0 && (!has_end || key_cmp(start, &end) < 0)) {
        return seek_at_or_before(cur, start, true, k, v);
    }
    if (has_end) {
        return seek_at_or_before(cur, &end, false, k, v);
    }
    return mdb_cursor_get(cur, k, v, MDB_LAST);
}

static int scan(MDB_txn *txn, MDB_dbi dbi, const MDB_val *start, const MDB_val *prefix, bool back,
                lmdbx_scan_fn fn, void *ctx)
{
    if (prefix && prefix->mv_size == 0) {
        prefix = NULL;
    }
    if (prefix && prefix->mv_size >= 512) {
        return FT_OK; /* longer than any LMDB key: no row has it */
    }
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != MDB_SUCCESS) {
        return lmdbx_err(rc);
    }
    MDB_val k, v;
    rc = back ? seek_last(cur, start, prefix, &k, &v) : seek_first(cur, start, prefix, &k, &v);
    int result = FT_OK;
    while (rc == MDB_SUCCESS && has_prefix(&k, prefix)) {
        lmdbx_row_t row = {k, v, cur};
        result = fn(ctx, &row);
        if (result != 0) {
            break;
        }
        rc = mdb_cursor_get(cur, &k, &v, back ? MDB_PREV : MDB_NEXT);
    }
    if (result == FT_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        result = lmdbx_err(rc);
    }
    mdb_cursor_close(cur);
    return result;
}

int lmdbx_scan(MDB_txn *txn, MDB_dbi dbi, const MDB_val *start, const MDB_val *prefix,
               lmdbx_scan_fn fn, void *ctx)
{
    return scan(txn, dbi, start, prefix, false, fn, ctx);
}

int lmdbx_scan_back(MDB_txn *txn, MDB_dbi dbi, const MDB_val *start, const MDB_val *prefix,
                    lmdbx_scan_fn fn, void *ctx)
{
    return scan(txn, dbi, start, prefix, true, fn, ctx);
}

static int take_row(void *ctx, const lmdbx_row_t *row)
{
    *(lmdbx_row_t *)ctx = *row;
    return 1;
}

int lmdbx_last(MDB_txn *txn, MDB_dbi dbi, const MDB_val *start, const MDB_val *prefix, MDB_val *key,
               MDB_val *val)
{
    lmdbx_row_t row;
    int rc = scan(txn, dbi, start, prefix, true, take_row, &row);
    if (rc == 1) {
        if (key) {
            *key = row.key;
        }
        if (val) {
            *val = row.val;
        }
        return FT_OK;
    }
    return rc == FT_OK ? FT_ENOTFOUND : rc;
}

int lmdbx_row_del(const lmdbx_row_t *row)
{
    return lmdbx_err(mdb_cursor_del(row->cur, 0));
}

void lmdbx_unread_note(lmdbx_unread_t *u, const MDB_val *key)
{
    if (!u) {
        return;
    }
    if (u->n++ == 0) {
        size_t n = key->mv_size < 32 ? key->mv_size : 32;
        hex_encode(key->mv_data, n, u->first_key);
        if (key->mv_size > n) {
            memcpy(u->first_key + 2 * n, "...", 4);
        }
    }
}
