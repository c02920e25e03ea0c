/* lmdbx.c: LMDB environment opening and error mapping. */
#include "lmdbx.h"
#include "fsutil.h"

#include <errno.h>
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
