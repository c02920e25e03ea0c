/* ingest.h: media ingest on the edge: a recorder's file -> encrypted chunks
 * in LMDB + a signed manifest in the device log (docs/media.md).
 *
 * Ingest of one file (ingest_file), as a state machine over its progress row
 * (edge/mstore.h), keyed by the file's (device, inode):
 *   no row          -> new file ID and key; INGESTING row committed (start)
 *   INGESTING, same size+mtime -> resume at chunks_done with the stored key
 *   INGESTING, file changed    -> its chunks deleted, start again
 *   chunks in batches of INGEST_BATCH, each batch committed with chunks_done
 *   last batch + manifest + file row + content index + DONE row (key wiped)
 *                   -> one transaction (devlog_begin / devlog_commit)
 *   DONE            -> the inbox file (and its sidecar and marker) removed,
 *                      then the row deleted
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
 * manifest records the source of each (ValueSource).
 */
#ifndef FT_EDGE_INGEST_H
#define FT_EDGE_INGEST_H

#include "mstore.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* Chunks per committed batch (bounds the work lost to a crash). */
#define INGEST_BATCH 16
/* A file whose size and mtime have not changed this long is complete. */
#define INGEST_DEFAULT_STABLE_MS 2000
#define INGEST_DEFAULT_KEEP_DAYS 30

typedef struct ingest_t ingest_t;

typedef struct {
    const char *unit;            /* unit for manifests (edge.conf `unit`), may be NULL */
    uint32_t chunk_size;         /* 0 = MEDIA_CHUNK_SIZE */
    uint8_t archive_pk[32];      /* the hub's archive key: file keys are sealed to it */
    unsigned stable_ms;          /* completion by stable size; 0 = default */
    uint64_t keep_ms;            /* prune acked files older than this; 0 = never by age */
    volatile sig_atomic_t *stop; /* stop between batches when set (may be NULL) */
} ingest_opts_t;

/* What became of one file. */
typedef enum {
    INGEST_STORED = 1,    /* chunks and manifest committed */
    INGEST_DUPLICATE = 2, /* same content was ingested before */
    INGEST_SKIPPED = 3,   /* not complete yet (inbox scan) */
} ingest_outcome;

typedef struct {
    ingest_outcome outcome;
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    uint64_t size;
    uint64_t manifest_seq;
    bool resumed; /* continued an earlier, interrupted ingest */
} ingest_result_t;

/* Called after each committed batch. */
typedef void (*ingest_progress_fn)(void *ctx, const char *name, uint64_t done, uint64_t total);

/* m is borrowed. FT_OK or FT_ENOMEM. */
int ingest_new(mstore_t *m, const ingest_opts_t *opts, ingest_t **out) FT_MUST_CHECK;
void ingest_destroy(ingest_t **in_p);
void ingest_set_progress(ingest_t *in, ingest_progress_fn fn, void *ctx);

/* Ingests one file for a recorder; with remove_source the file, its sidecar
 * and marker are removed after the commit. FT_OK (see res), FT_EFULL
 * (paused: storage full, event logged), FT_EINVAL (not a regular file,
 * too large), FT_EIO, FT_ENOTFOUND, FT_ECRYPTO, FT_ETIMEOUT (stopped). */
int ingest_file(ingest_t *in, const char *path, const char *recorder, bool remove_source,
                ingest_result_t *res) FT_MUST_CHECK;

/* Frees what interrupted ingests left behind when their source file is gone
 * (removed or replaced before the ingest finished): the partial chunks and
 * the progress row. Each abandoned ingest is logged and written to the device
 * log as an ingest_failed event, so the office learns footage went missing
 * before it was secured. *n_swept (may be NULL) counts them. Runs at the start
 * of every inbox pass. */
int ingest_sweep(ingest_t *in, unsigned *n_swept) FT_MUST_CHECK;

/* One pass over inbox/<recorder>/: ingests every complete file (sidecar or
 * `.done` marker, or unchanged for stable_ms) and removes it. *n_stored
 * (may be NULL) counts files stored. FT_OK, FT_EFULL (stopped: storage
 * full), or the first other error (the rest of the pass still runs). */
int ingest_scan_inbox(ingest_t *in, const char *inbox, unsigned *n_stored) FT_MUST_CHECK;

/* Watches inbox with inotify and scans it at start and after changes (and
 * every few seconds) until *stop; when storage is full, retries by itself
 * as pruning frees space. FT_OK on stop. */
int ingest_watch(ingest_t *in, const char *inbox, volatile sig_atomic_t *stop) FT_MUST_CHECK;

/* True while ingest is paused by full storage. */
bool ingest_is_full(const ingest_t *in);

#endif
