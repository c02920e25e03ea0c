/* ingest.h: media ingest on the edge: one recorder file -> encrypted chunks
 * in LMDB + a signed manifest in the device log (docs/media.md). Which files
 * are taken from the inbox, when, and when they are removed is edge/inbox.h.
 *
 * Ingest of one open file (ingest_fd), as a state machine over its progress
 * row (edge/mstore.h), keyed by the file's (device, inode):
 *   no row          -> new file ID and key; INGESTING row committed (start)
 *   INGESTING, same size+mtime+path -> resume at chunks_done with the stored key
 *   INGESTING, file changed         -> its chunks deleted, start again
 *   DONE, file changed since        -> start again; the new manifest names the
 *                                      DONE one as superseded (a file taken
 *                                      before its writer had finished)
 *   chunks in batches of INGEST_BATCH, each batch committed with chunks_done
 *   last batch + manifest + file row + content index + DONE row (key wiped)
 *                   -> one transaction (devlog_begin / devlog_commit), made
 *                      only if fstat on the descriptor still shows the size,
 *                      mtime and inode the chunks were read at, and no other
 *                      process holds the file open for writing; else
 *                      FT_EAGAIN and nothing of the manifest is written
 *   DONE            -> the caller removes the source (inbox.c) and the row
 * Content already ingested (same content hash) is not stored again: the
 * chunks written for it are deleted and the file is reported a duplicate.
 *
 * Storage full (LMDB map or disk, or less than MSTORE_HEADROOM left): acked
 * files are pruned first; if that is not enough, a `storage_full` device
 * event is appended in its own small transaction (the headroom is kept for
 * it), ingest returns FT_EFULL and nothing is lost: the next attempt
 * resumes. The first success after that appends `storage_ok`.
 *
 * Metadata: officer from the sidecar, else the recorder_checkout covering
 * the capture time (from the local log); capture time from the sidecar, else
 * the MP4/MOV `mvhd` creation time and duration, else the file's mtime; the
 * manifest records the source of each (ValueSource). Text is kept whole up
 * to INGEST_TEXT_MAX bytes and never cut inside a UTF-8 character.
 */
#ifndef FT_EDGE_INGEST_H
#define FT_EDGE_INGEST_H

#include "mstore.h"

#include <jansson.h>

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* Chunks per committed batch (bounds the work lost to a crash). */
#define INGEST_BATCH 16
/* A file whose size and mtime have not changed this long may be taken. */
#define INGEST_DEFAULT_STABLE_MS 2000
/* A file taken on that guess stays in the inbox until it has not changed for
 * this long (a slow USB copy may stall and go on): see edge/inbox.h. */
#define INGEST_DEFAULT_SETTLE_MS 30000
#define INGEST_DEFAULT_KEEP_DAYS 30
/* Longest sidecar text kept (case, cause, party, officer). */
#define INGEST_TEXT_MAX 4096
/* Largest sidecar read. */
#define INGEST_SIDECAR_MAX 65536

typedef struct ingest_t ingest_t;

typedef struct {
    const char *unit;            /* unit for manifests (edge.conf `unit`), may be NULL */
    uint32_t chunk_size;         /* 0 = MEDIA_CHUNK_SIZE */
    uint8_t archive_pk[32];      /* the hub's archive key: file keys are sealed to it */
    unsigned stable_ms;          /* completion by stable size; 0 = default */
    unsigned settle_ms;          /* removal after a stable-size guess; 0 = default */
    uint64_t keep_ms;            /* prune acked files older than this; 0 = never by age */
    volatile sig_atomic_t *stop; /* stop between batches when set (may be NULL) */
} ingest_opts_t;

/* What became of one file. */
typedef enum {
    INGEST_STORED = 1,    /* chunks and manifest committed */
    INGEST_DUPLICATE = 2, /* same content was ingested before */
} ingest_outcome;

typedef struct {
    ingest_outcome outcome;
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    uint64_t size;
    uint64_t manifest_seq;
    bool resumed;    /* continued an earlier, interrupted ingest */
    bool superseded; /* the manifest replaces an earlier one of this file */
} ingest_result_t;

/* What the caller knows of a file beyond its bytes. */
typedef struct {
    const char *path;      /* its path (progress row, messages); the manifest gets its base name */
    const char *recorder;  /* recorder number, may be NULL */
    const json_t *sidecar; /* parsed sidecar object (borrowed), or NULL */
    bool declared;         /* the writer said it is complete (kept in the DONE row) */
} ingest_src_t;

/* Called after each committed batch. */
typedef void (*ingest_progress_fn)(void *ctx, const char *name, uint64_t done, uint64_t total);

/* m is borrowed. FT_OK or FT_ENOMEM. */
int ingest_new(mstore_t *m, const ingest_opts_t *opts, ingest_t **out) FT_MUST_CHECK;
void ingest_destroy(ingest_t **in_p);
void ingest_set_progress(ingest_t *in, ingest_progress_fn fn, void *ctx);

/* Ingests the regular file open (read-only) on fd. FT_OK (see res),
 * FT_EAGAIN (the file changed or was opened for writing while it was read:
 * nothing of the manifest written; try again once it is complete), FT_EFULL
 * (paused: storage full, event logged), FT_EINVAL (not a regular file, too
 * large), FT_EIO (a read failed), FT_ECRYPTO, FT_ETIMEOUT (stopped). The
 * source is never removed here. */
int ingest_fd(ingest_t *in, int fd, const ingest_src_t *src, ingest_result_t *res) FT_MUST_CHECK;

/* Opens path (never following a symbolic link: FT_EINVAL) with its sidecar
 * PATH.json, ingests it (ingest_fd, declared) and with remove_source removes
 * the file, sidecar and marker afterwards. For `fieldtrail-edge ingest FILE`. */
int ingest_file(ingest_t *in, const char *path, const char *recorder, bool remove_source,
                ingest_result_t *res) FT_MUST_CHECK;

/* Reads and parses the sidecar `name` in the directory dfd without
 * following a link. FT_OK (*out: a JSON object, caller decrefs),
 * FT_ENOTFOUND (none), FT_EAGAIN (not a complete JSON object yet: it may
 * still be being written), FT_EINVAL (refused: a symbolic link, not a
 * regular file, hard-linked, too large), FT_EIO, FT_ENOMEM; why says it in
 * words. */
int ingest_read_sidecar(int dfd, const char *name, json_t **out, char *why,
                        size_t why_len) FT_MUST_CHECK;

/* Whether a process other than this one has the file open for writing, by
 * the kernel's word: a read lease (fcntl F_SETLEASE) is refused while any
 * writer holds it. UNKNOWN where leases are not allowed (another owner
 * without CAP_LEASE, a network file system). */
typedef enum {
    INGEST_WRITER_NONE = 0,
    INGEST_WRITER_OPEN = 1,
    INGEST_WRITER_UNKNOWN = 2
} ingest_writer;
ingest_writer ingest_writer_probe(int fd);

/* Appends a device event (ingest_refused, ingest_failed, ...) in its own
 * transaction. */
int ingest_log_event(ingest_t *in, Ft__DeviceEventKind kind, const char *recorder,
                     const char *detail) FT_MUST_CHECK;
mstore_t *ingest_mstore(ingest_t *in);
const ingest_opts_t *ingest_opts(const ingest_t *in);

/* Frees what interrupted ingests left behind when their source file is gone
 * (removed or replaced before the ingest finished): the partial chunks and
 * the progress row. Each abandoned ingest is logged and written to the device
 * log as an ingest_failed event, so the office learns footage went missing
 * before it was secured. *n_swept (may be NULL) counts them. Runs at the start
 * of every inbox pass (root: the inbox, to name the recorder; may be NULL).
 * A DONE row whose source is gone only loses its row. */
int ingest_sweep(ingest_t *in, const char *root, unsigned *n_swept) FT_MUST_CHECK;

/* True while ingest is paused by full storage. */
bool ingest_is_full(const ingest_t *in);

#endif
