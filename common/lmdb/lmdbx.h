/* lmdbx.h: the thin LMDB layer both sides use: opening an environment with
 * the project's settings, mapping LMDB errors to ft_err, big-endian u64 keys.
 *
 * Environments are opened with durable commits (no MDB_NOSYNC): when a
 * commit returns, the data is on disk. MDB_MAP_FULL and ENOSPC both map to
 * FT_EFULL so callers can pause and say "storage full".
 */
#ifndef FT_LMDBX_H
#define FT_LMDBX_H

#include "error.h"

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

/* Opens (creating if needed) an environment in directory dir. */
int lmdbx_open(const char *dir, size_t map_size, unsigned max_dbs, MDB_env **env) FT_MUST_CHECK;
/* Maps an LMDB or errno code to ft_err. */
int lmdbx_err(int rc);
/* As lmdbx_err for a failure in env, except that an EIO while the file
 * system holding env has (almost) no free space is FT_EFULL: on a full disk
 * LMDB's short write shows up as EIO, not ENOSPC. */
int lmdbx_env_err(MDB_env *env, int rc);
/* Big-endian encoding so that LMDB's byte order is numeric order. */
void lmdbx_put_u64(uint8_t out[8], uint64_t v);
uint64_t lmdbx_get_u64(const uint8_t in[8]);
/* Reads a u64 value stored under a string key in dbi; FT_ENOTFOUND if absent. */
int lmdbx_get_meta_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *out) FT_MUST_CHECK;
/* Stores a u64 under a string key. */
int lmdbx_put_meta_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t v) FT_MUST_CHECK;
/* Reads/stores a fixed-size blob under a string key. */
int lmdbx_get_meta(MDB_txn *txn, MDB_dbi dbi, const char *key, void *out, size_t n) FT_MUST_CHECK;
int lmdbx_put_meta(MDB_txn *txn, MDB_dbi dbi, const char *key, const void *v,
                   size_t n) FT_MUST_CHECK;

#endif
