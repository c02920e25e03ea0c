/* mediadb.h: the hub's media database, STATE/mediadb: what the hub knows
 * about each media file it pulls or holds. The puller (mediapull.c) writes
 * it; `media list`, `media get`, `status`, retention and case bundles read
 * it. It needs LMDB and the row codec only: a reader does not link the
 * puller or ZeroMQ (library ft_mediadb).
 *
 * One LMDB environment, STATE/mediadb:
 *   files   file_id(16) -> file row (hub_mfile_t, below)
 *   held    file_id(16) -> bitmap of chunks held (bit i = chunk i durable)
 *   bad     file_id(16) -> bitmap of chunks refused (hash mismatch, missing)
 *   rcpt    file_id(16) -> SignedMediaReceipt bytes sent
 *   meta    "cursor" -> u64be arrival number of the last store entry indexed
 *
 * File rows (docs/media.md "The media database") go through the row codec
 * (common/lmdb/row.h): 'F', version 2, then every field in a fixed order,
 * big-endian, no padding. Rows written before the codec (version 1: the raw
 * hub_mfile_t of that time, 184 bytes on a 64-bit machine, padding
 * included) are still read, through a frozen copy of that struct in
 * mediadb.c; a row is rewritten in the codec the next time it changes. A
 * row that is neither is FT_ECORRUPT: never skipped in silence. A walk
 * (hub_mdb_iter) visits every row it can read, counts the others and then
 * returns FT_ECORRUPT naming the first one's key (lmdbx_unread_t); callers
 * say how many rows could not be read.
 *
 * File state machine (hub_mfile_t.state):
 *   PULLING  --all chunks held, content hash checks--> COMPLETE (receipt sent)
 *   PULLING  --all chunks held or refused, some refused--> DAMAGED (no receipt:
 *                the edge keeps its copy; integrity events recorded)
 *   PULLING  --decrypted content does not match its hash--> FAILED
 */
#ifndef FT_HUB_MEDIADB_H
#define FT_HUB_MEDIADB_H

#include "error.h"
#include "keys.h"
#include "lmdbx.h"
#include "media.h" /* common/media.h */

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    HMF_PULLING = 1,
    HMF_COMPLETE = 2,
    HMF_DAMAGED = 3,
    HMF_FAILED = 4,
} hmf_state;

/* What the hub keeps about one media file. */
typedef struct {
    uint32_t version; /* as read: 1 (a raw row from before the codec) or 2; written as 2 */
    uint32_t state;   /* hmf_state */
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    uint8_t device[DEVID_BYTES];
    uint64_t epoch, seq; /* the manifest entry in the store */
    uint64_t size;
    uint32_t chunk_size, n_chunks;
    uint32_t held, bad;  /* chunks held / refused */
    uint64_t dup_chunks; /* chunks received again after they were held */
    int64_t indexed_ms, first_ms, last_ms, completed_ms;
    uint8_t merkle_root[MEDIA_HASH_BYTES];
    uint8_t content_hash[MEDIA_HASH_BYTES];
} hub_mfile_t;

/* The longest file row the codec writes. */
#define HUB_MFILE_ROW_MAX 200

/* The file row's bytes: its length, or 0 if cap is too small. */
size_t hub_mfile_encode(const hub_mfile_t *f, uint8_t *buf, size_t cap);
/* A stored file row of either version into *out. FT_OK or FT_ECORRUPT (out
 * untouched). */
int hub_mfile_decode(const uint8_t *v, size_t n, hub_mfile_t *out) FT_MUST_CHECK;

typedef struct hub_mdb_t hub_mdb_t;

/* Opens (creating) STATE/mediadb. FT_OK, FT_EINVAL (path too long), or the
 * error of LMDB. */
int hub_mdb_open(const char *state, hub_mdb_t **out) FT_MUST_CHECK;
/* Closes; NULLs *d_p; safe on NULL. */
void hub_mdb_destroy(hub_mdb_t **d_p);

/* Transactions, for writers that commit several rows at once. */
int hub_mdb_begin(hub_mdb_t *d, bool write, MDB_txn **out) FT_MUST_CHECK;
/* Commits; the transaction ends even when the commit fails. A full disk is
 * FT_EFULL (lmdbx_env_err). */
int hub_mdb_commit(hub_mdb_t *d, MDB_txn *txn) FT_MUST_CHECK;

/* A file row, in txn: FT_OK, FT_ENOTFOUND, FT_ECORRUPT, or LMDB's error. */
int hub_mdb_file_read(hub_mdb_t *d, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                      hub_mfile_t *out) FT_MUST_CHECK;
int hub_mdb_file_write(hub_mdb_t *d, MDB_txn *txn, const hub_mfile_t *f) FT_MUST_CHECK;

typedef enum { HUB_MDB_HELD = 1, HUB_MDB_BAD = 2 } hub_mdb_bitmap;
/* A file's bitmap into out[n] (zeros when there is none; a shorter stored
 * bitmap is padded with zeros). */
int hub_mdb_bitmap_read(hub_mdb_t *d, MDB_txn *txn, hub_mdb_bitmap which,
                        const uint8_t file_id[MEDIA_FILE_ID_BYTES], uint8_t *out,
                        size_t n) FT_MUST_CHECK;
int hub_mdb_bitmap_write(hub_mdb_t *d, MDB_txn *txn, hub_mdb_bitmap which,
                         const uint8_t file_id[MEDIA_FILE_ID_BYTES], const uint8_t *bits,
                         size_t n) FT_MUST_CHECK;

/* The receipt sent for a file (LMDB's memory, valid in txn): FT_OK or
 * FT_ENOTFOUND. */
int hub_mdb_receipt_read(hub_mdb_t *d, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                         const uint8_t **raw, size_t *len) FT_MUST_CHECK;
int hub_mdb_receipt_write(hub_mdb_t *d, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                          const uint8_t *raw, size_t len) FT_MUST_CHECK;

/* The arrival number of the last store entry indexed (0: none yet). */
int hub_mdb_cursor_read(hub_mdb_t *d, MDB_txn *txn, uint64_t *arrival) FT_MUST_CHECK;
int hub_mdb_cursor_write(hub_mdb_t *d, MDB_txn *txn, uint64_t arrival) FT_MUST_CHECK;

/* Visits every file row in file ID order, in a read transaction of its own.
 * fn returns 0 to go on; anything else stops the walk and is returned. A
 * row that does not decode is not visited: it is counted in *unread (may be
 * NULL) and, once every other row was visited, the walk returns
 * FT_ECORRUPT. A failing cursor is its error, never FT_OK. */
typedef int (*hub_mfile_fn)(void *ctx, const hub_mfile_t *f);
int hub_mdb_iter(hub_mdb_t *d, hub_mfile_fn fn, void *ctx, lmdbx_unread_t *unread) FT_MUST_CHECK;
/* One file row, in a read transaction of its own. */
int hub_mdb_get(hub_mdb_t *d, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                hub_mfile_t *out) FT_MUST_CHECK;

#endif
