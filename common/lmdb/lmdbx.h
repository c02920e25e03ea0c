/* lmdbx.h: the thin LMDB layer both sides use: opening an environment with
 * the project's settings, mapping LMDB errors to ft_err, big-endian u64 keys,
 * and the one cursor walk over a range of keys (lmdbx_scan).
 *
 * Environments are opened with durable commits (no MDB_NOSYNC): when a
 * commit returns, the data is on disk. MDB_MAP_FULL and ENOSPC both map to
 * FT_EFULL so callers can pause and say "storage full".
 *
 * Scans. Every walk over rows goes through lmdbx_scan / lmdbx_scan_back, so
 * that the rules are written once:
 *   - range: the rows whose key is at or after `start` (lmdbx_scan_back: at
 *     or before) and begins with `prefix`, in key order (back: reverse key
 *     order). Either may be NULL: no start is the first (last) row of the
 *     prefix, no prefix is every key. Keys sort bytewise (the databases of
 *     this project use LMDB's default order), so the rows of a prefix are
 *     contiguous and the scan ends at the first key without it;
 *   - stop: the callback returns 0 to go on; any other value stops the scan
 *     and is returned as it is (a positive "found", or a negative ft_err);
 *   - errors: a cursor that cannot be opened or moved is an ft_err, never
 *     FT_OK: a scan that returns FT_OK has seen every row of its range;
 *   - writes: in a write transaction the callback may write other
 *     databases, and may delete the row it is given (lmdbx_row_del), after
 *     which the scan goes on with the row after it; it must not otherwise
 *     write the database being scanned.
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

/* Rows a walk could not read. A walk over the rows of a kind (media files,
 * progress rows...) goes on past a row that does not decode, so that one bad
 * row does not hide the others, and ends with FT_ECORRUPT; this says how many
 * there were and names the first by its key. */
typedef struct {
    uint64_t n;                 /* rows that could not be read */
    char first_key[2 * 32 + 4]; /* the first one's key in hex ("..." after 32 bytes) */
} lmdbx_unread_t;
/* Counts a row that could not be read; u may be NULL. */
void lmdbx_unread_note(lmdbx_unread_t *u, const MDB_val *key);

/* The row a scan hands to its callback. key and val are LMDB's memory:
 * valid until the transaction writes or ends. */
typedef struct {
    MDB_val key, val;
    MDB_cursor *cur; /* the scan's cursor (lmdbx_row_del) */
} lmdbx_row_t;

/* 0: go on; anything else stops the scan, which returns it. */
typedef int (*lmdbx_scan_fn)(void *ctx, const lmdbx_row_t *row);

/* Visits, in key order, the rows of dbi whose key is >= start and begins
 * with prefix (NULL: no bound). FT_OK when the range was walked to its end,
 * fn's non-zero value when it stopped the scan, or the ft_err of a cursor
 * that failed. */
int lmdbx_scan(MDB_txn *txn, MDB_dbi dbi, const MDB_val *start, const MDB_val *prefix,
               lmdbx_scan_fn fn, void *ctx) FT_MUST_CHECK;
/* As lmdbx_scan, from the last key <= start (NULL: the last of the prefix)
 * backwards, while the key begins with prefix. */
int lmdbx_scan_back(MDB_txn *txn, MDB_dbi dbi, const MDB_val *start, const MDB_val *prefix,
                    lmdbx_scan_fn fn, void *ctx) FT_MUST_CHECK;
/* The first row lmdbx_scan_back would visit: the last row at or before
 * start (NULL: any) whose key begins with prefix (NULL: any), into key and
 * val (either may be NULL; LMDB's memory, as in a scan). FT_OK,
 * FT_ENOTFOUND when the range is empty, or the ft_err of the cursor. */
int lmdbx_last(MDB_txn *txn, MDB_dbi dbi, const MDB_val *start, const MDB_val *prefix, MDB_val *key,
               MDB_val *val) FT_MUST_CHECK;
/* Deletes the row fn was given, in a write transaction; the scan then goes
 * on with the next row. FT_OK or the ft_err of LMDB's refusal. */
int lmdbx_row_del(const lmdbx_row_t *row) FT_MUST_CHECK;

#endif
