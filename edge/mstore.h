/* mstore.h: the edge's media store: encrypted chunks and per-file state in
 * the device log's LMDB environment (docs/media.md).
 *
 * Databases (opened in devlog_env, so a manifest entry and the rows it
 * describes commit in one transaction):
 *   mchunks    file_id(16) | u32be index   -> stored chunk (ciphertext || tag)
 *   mfiles     file_id(16)                 -> file row (mstore_file_t; one per ingested file)
 *   mprogress  u64be dev | u64be inode     -> progress row (ingest in progress / done)
 *   mcontent   content hash(32)            -> file_id (never ingest the same content twice)
 *   mmeta      name                        -> value ("hub_sign_pk")
 *   minbox     u64be dev | u64be inode | path hash(16)
 *                                          -> inbox problem row (refused or failed path)
 * Never one LMDB value per file: a file is n_chunks values of chunk_size.
 *
 * File state machine:
 *   (none) --ingest_file: final txn with the manifest--> STORED
 *   STORED --signed completion receipt (msync)--> ACKED    mstore_file_ack
 *   ACKED  --space needed or keep_days passed--> PRUNED    mstore_prune
 * Only ACKED files are ever pruned (Art. 24(5)).
 *
 * The progress row holds the file key in plaintext while a file is being
 * ingested (so a crash resumes with the same key); the final transaction
 * replaces it with a DONE row that holds no key. A crash mid-ingest thus
 * leaves that one key on disk until the resume finishes.
 *
 * File, progress and inbox rows go through the row codec (common/lmdb/row.h):
 * a magic byte ('M' file, 'P' progress, 'I' inbox) and a version, fields in
 * a fixed order, big-endian, strings with their length: nothing depends on
 * how the compiler lays out a struct. File and progress rows written before
 * the codec (version 1, the raw C struct of that time, padding included)
 * are still read through a frozen copy of that struct; a row is rewritten in
 * the codec the next time it changes (docs/media.md "Row formats").
 *
 * Walks (mstore_*_iter) visit every row that decodes. One that does not is
 * never skipped in silence: it is counted and named in *unread and, once
 * every other row was visited, the walk returns FT_ECORRUPT. Callers go on
 * with what they could read and say what they could not
 * (mstore_unread_report). A cursor that fails is its error, never FT_OK.
 */
#ifndef FT_EDGE_MSTORE_H
#define FT_EDGE_MSTORE_H

#include "devlog.h"
#include "lmdbx.h"
#include "media.h"

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

/* Space kept free for log entries, receipts and the storage_full event. */
#define MSTORE_HEADROOM ((uint64_t)8 << 20)
#define MSTORE_RECEIPT_MAX 512

typedef enum {
    MFILE_STORED = 1, /* chunks held, the hub has not confirmed the file */
    MFILE_ACKED = 2,  /* the hub's signed completion receipt is stored */
    MFILE_PRUNED = 3, /* chunks deleted after the receipt */
} mfile_state;

/* What the edge keeps about one ingested file. */
typedef struct {
    uint32_t version; /* as read: 1 (a raw row from before the codec) or 2; written as 2 */
    uint32_t state;   /* mfile_state */
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    uint64_t size;         /* plaintext bytes */
    uint32_t chunk_size;   /* plaintext bytes per chunk */
    uint32_t n_chunks;     /* chunks stored */
    uint64_t manifest_seq; /* its manifest entry in the log */
    int64_t ingested_ms, acked_ms, pruned_ms;
    uint64_t served; /* chunks sent to the hub (all attempts) */
    int64_t first_served_ms, last_served_ms;
    uint8_t merkle_root[MEDIA_HASH_BYTES];
    uint8_t content_hash[MEDIA_HASH_BYTES];
    char name[128];    /* inbox file name */
    char recorder[64]; /* recorder number */
    uint32_t receipt_len;
    uint8_t receipt[MSTORE_RECEIPT_MAX]; /* SignedMediaReceipt bytes */
} mstore_file_t;

typedef enum { MPROG_INGESTING = 1, MPROG_DONE = 2 } mprog_state;

/* An ingest in progress (or finished, until its inbox file is removed). */
typedef struct {
    uint32_t version; /* as read: 1 (raw struct) or 2 (codec); written as 2 */
    uint32_t state;   /* mprog_state */
    uint64_t dev, ino, size;
    int64_t mtime_ns;
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    uint8_t key[MEDIA_KEY_BYTES]; /* zero once DONE */
    uint32_t chunk_size;
    uint32_t chunks_done;
    int64_t started_ms;
    int64_t done_ms;     /* DONE: when the final transaction committed */
    bool stored;         /* DONE: stored as file_id (false: a duplicate of it) */
    bool declared;       /* the writer said the file is complete (marker, sidecar, rename) */
    bool has_supersedes; /* this ingest replaces an earlier, shorter manifest */
    uint8_t supersedes[MEDIA_FILE_ID_BYTES]; /* that manifest's file ID */
    char path[1024];
} mstore_progress_t;

typedef enum {
    MINBOX_REFUSED = 1, /* never taken: not a regular file, a link, outside the rules */
    MINBOX_FAILED = 2,  /* a regular file whose ingest failed (tried again with back-off) */
} minbox_kind;

/* A path of the inbox the edge refused or failed to ingest: one signed event
 * was logged for it, and `status` lists it until the path goes away. */
typedef struct {
    uint32_t kind; /* minbox_kind */
    uint64_t dev, ino, size;
    int64_t mtime_ns;
    int64_t first_ms; /* first seen refused / failing */
    int64_t last_ms;  /* last attempt */
    int64_t next_ms;  /* FAILED: next attempt not before */
    uint32_t tries;   /* FAILED: attempts so far */
    char recorder[64];
    char reason[256];
    char path[1024];
} mstore_inbox_t;

typedef struct mstore_t mstore_t;

/* Opens the databases in log's environment. FT_OK, FT_EIO. */
int mstore_open(devlog_t *log, mstore_t **out) FT_MUST_CHECK;
void mstore_destroy(mstore_t **m_p);
devlog_t *mstore_log(mstore_t *m);
MDB_env *mstore_env(mstore_t *m);

/* Free bytes in the LMDB map: unused pages past the last one + pages on the
 * free list. An estimate, not a promise of what the next write transaction
 * can use: free-list pages that an open read transaction still needs are
 * counted although LMDB cannot reuse them yet, and the free list (read in a
 * snapshot of its own) and the last page (from the newest commit) may come
 * from different commits when another transaction commits meanwhile. */
int mstore_free_bytes(mstore_t *m, uint64_t *free_bytes, uint64_t *map_bytes) FT_MUST_CHECK;

/* Copies chunk index of file_id into buf (cap bytes; *len: its length).
 * Read with pread(2) from the data file at the value's place in the map
 * rather than through the map: on a vehicle unit (and in virtual machines)
 * first touches of mapped pages cost more than the copy itself; copied
 * through the map if that read fails. FT_OK, FT_ENOTFOUND, FT_EINVAL (cap
 * too small), or another error of the lookup; on any error neither buf nor
 * *len is touched. */
int mstore_chunk_read(mstore_t *m, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                      uint32_t index, uint8_t *buf, size_t cap, size_t *len) FT_MUST_CHECK;
/* Reads mstore_chunk_read served with pread(2) so far (for tests and
 * diagnostics). */
uint64_t mstore_chunk_preads(const mstore_t *m);
/* Chunks, in txn. get: borrowed until the txn ends. */
int mstore_chunk_put(mstore_t *m, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                     uint32_t index, const uint8_t *data, size_t len) FT_MUST_CHECK;
int mstore_chunk_get(mstore_t *m, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                     uint32_t index, const uint8_t **data, size_t *len) FT_MUST_CHECK;
/* Makes room for chunk index of len bytes in txn and gives its place in
 * *dst (LMDB's MDB_RESERVE), for the caller to fill before the txn ends:
 * ingest encrypts straight into it instead of into a buffer that
 * mstore_chunk_put would copy. */
int mstore_chunk_reserve(mstore_t *m, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                         uint32_t index, size_t len, uint8_t **dst) FT_MUST_CHECK;
/* Deletes every chunk of a file; *bytes (may be NULL) gets what was freed. */
int mstore_chunks_delete(mstore_t *m, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                         uint64_t *bytes) FT_MUST_CHECK;

/* The get functions below return FT_OK, FT_ENOTFOUND, FT_ECORRUPT when the
 * stored row does not decode (a damaged or foreign row, or for the fixed-size
 * ones a row of another size; *out is not touched), or another error of the
 * lookup. The walks return fn's non-zero value when it stops them, and
 * otherwise as said at the top. */

/* File rows, and their codec (for tests and tools). */
#define MSTORE_FILE_ROW_MAX 1024
int mstore_file_get(mstore_t *m, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                    mstore_file_t *out) FT_MUST_CHECK;
int mstore_file_put(mstore_t *m, MDB_txn *txn, const mstore_file_t *f) FT_MUST_CHECK;
typedef int (*mstore_file_fn)(void *ctx, const mstore_file_t *f);
int mstore_file_iter(mstore_t *m, MDB_txn *txn, mstore_file_fn fn, void *ctx,
                     lmdbx_unread_t *unread) FT_MUST_CHECK;
/* The row's bytes: its length, or 0 if it does not fit in cap (or its
 * receipt is longer than MSTORE_RECEIPT_MAX). */
size_t mstore_file_encode(const mstore_file_t *f, uint8_t *buf, size_t cap);
/* A stored file row of either version. FT_OK or FT_ECORRUPT (out untouched). */
int mstore_file_decode(const uint8_t *v, size_t n, mstore_file_t *out) FT_MUST_CHECK;

/* Progress rows, keyed by (dev, ino). */
int mstore_progress_get(mstore_t *m, MDB_txn *txn, uint64_t dev, uint64_t ino,
                        mstore_progress_t *out) FT_MUST_CHECK;
int mstore_progress_put(mstore_t *m, MDB_txn *txn, const mstore_progress_t *p) FT_MUST_CHECK;
int mstore_progress_del(mstore_t *m, MDB_txn *txn, uint64_t dev, uint64_t ino) FT_MUST_CHECK;
typedef int (*mstore_progress_fn)(void *ctx, const mstore_progress_t *p);
int mstore_progress_iter(mstore_t *m, MDB_txn *txn, mstore_progress_fn fn, void *ctx,
                         lmdbx_unread_t *unread) FT_MUST_CHECK;

/* Inbox problem rows, keyed by (dev, ino, path). */
int mstore_inbox_get(mstore_t *m, MDB_txn *txn, uint64_t dev, uint64_t ino, const char *path,
                     mstore_inbox_t *out) FT_MUST_CHECK;
int mstore_inbox_put(mstore_t *m, MDB_txn *txn, const mstore_inbox_t *r) FT_MUST_CHECK;
int mstore_inbox_del(mstore_t *m, MDB_txn *txn, uint64_t dev, uint64_t ino,
                     const char *path) FT_MUST_CHECK;
typedef int (*mstore_inbox_fn)(void *ctx, const mstore_inbox_t *r);
int mstore_inbox_iter(mstore_t *m, MDB_txn *txn, mstore_inbox_fn fn, void *ctx,
                      lmdbx_unread_t *unread) FT_MUST_CHECK;

/* Logs, once for each new count or first key, the rows of a kind a walk could
 * not read (an error naming the first one's key). */
typedef enum { MSTORE_ROWS_FILE = 0, MSTORE_ROWS_PROGRESS = 1, MSTORE_ROWS_INBOX = 2 } mstore_rows;
void mstore_unread_report(mstore_t *m, mstore_rows kind, const lmdbx_unread_t *u);

/* Content index. get: file_id filled on FT_OK. */
int mstore_content_get(mstore_t *m, MDB_txn *txn, const uint8_t hash[MEDIA_HASH_BYTES],
                       uint8_t file_id[MEDIA_FILE_ID_BYTES]) FT_MUST_CHECK;
int mstore_content_put(mstore_t *m, MDB_txn *txn, const uint8_t hash[MEDIA_HASH_BYTES],
                       const uint8_t file_id[MEDIA_FILE_ID_BYTES]) FT_MUST_CHECK;

/* Small named values. get: FT_ECORRUPT also when the stored value is not
 * n bytes. */
int mstore_meta_get(mstore_t *m, MDB_txn *txn, const char *name, void *out, size_t n) FT_MUST_CHECK;
int mstore_meta_put(mstore_t *m, MDB_txn *txn, const char *name, const void *v,
                    size_t n) FT_MUST_CHECK;

/* Prunes ACKED files: every one whose ingest is older than keep_ms (0 = no
 * age limit), and, oldest first, more until need_bytes are free (0 = none
 * needed). A file row that cannot be read is never pruned; it is reported
 * (mstore_unread_report) and the others are pruned. Ages and pruned_ms go by the log's clock
 * (devlog_wall_ms). Appends one media_pruned event per pruned file in the same transaction. *pruned
 * (may be NULL) gets the number of files pruned. */
int mstore_prune(mstore_t *m, uint64_t keep_ms, uint64_t need_bytes,
                 unsigned *pruned) FT_MUST_CHECK;

#endif
