/* mediapull.h: the hub's side of media transfer: it finds manifests among the
 * stored log entries, pulls the chunks it lacks from each edge, verifies,
 * keeps them, and on completion decrypts, checks, publishes to the blob
 * store and sends a signed completion receipt (docs/media.md).
 *
 * Runs in its own thread of `fieldtrail-hub run` (hub_media_start) with its
 * own ZeroMQ context, ZAP handler (hub/sync/zap.c, same enrolment rules) and
 * ROUTER on the media endpoint (default: port 7402 on every interface).
 *
 * Its own LMDB environment STATE/mediadb holds:
 *   files   file_id(16) -> hub_mfile_t
 *   held    file_id(16) -> bitmap of chunks held (bit i = chunk i durable)
 *   bad     file_id(16) -> bitmap of chunks refused (hash mismatch, missing)
 *   rcpt    file_id(16) -> SignedMediaReceipt bytes sent
 *   meta    "cursor" -> arrival number of the last store entry indexed
 * Chunks themselves go to the blob store's partial for the file (at offset
 * index * (chunk_size + 16)); a chunk counts as held only after its bytes
 * were fdatasync'ed AND the bitmap committed, so a resume never asks again
 * for a committed chunk.
 *
 * File state machine (hub_mfile_t.state):
 *   PULLING  --all chunks held, content hash checks--> COMPLETE (receipt sent)
 *   PULLING  --all chunks held or refused, some refused--> DAMAGED (no receipt:
 *                the edge keeps its copy; integrity events recorded)
 *   PULLING  --decrypted content does not match its hash--> FAILED
 *
 * Durability: received chunks go into the file's partial at once and are
 * made durable at checkpoints (mediapull.c, MEDIA_CKPT_*); a restarted hub
 * finds chunks written after its last checkpoint by their hashes.
 *
 * Flow control per edge session: at most `window` requests in flight; the
 * loop hands out requests round-robin across edges (fair); an edge whose log
 * the hub has not fully received yet gets no requests (log first).
 */
#ifndef FT_HUB_MEDIAPULL_H
#define FT_HUB_MEDIAPULL_H

#include "devlog.h"
#include "keys.h"
#include "media.h" /* common/media.h */
#include "store.h"

#include <jansson.h>
#include <lmdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define HUB_MEDIA_DEFAULT_LISTEN "tcp://*:7402"
#define HUB_MEDIA_DEFAULT_WINDOW 1
#define HUB_MEDIA_DEFAULT_GLOBAL 32

typedef enum {
    HMF_PULLING = 1,
    HMF_COMPLETE = 2,
    HMF_DAMAGED = 3,
    HMF_FAILED = 4,
} hmf_state;

/* What the hub keeps about one media file. */
typedef struct {
    uint32_t version; /* 1 */
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

typedef struct {
    const char *listen; /* default HUB_MEDIA_DEFAULT_LISTEN */
    /* The chunk data path (docs/media.md "Data path"): NULL for
     * listen's port + 1, "off" for none (every chunk on the CurveZMQ link). */
    const char *data_listen;
    /* The data path's port as edges reach it (a port forwarded by the
     * office's firewall); 0: the port bound. */
    unsigned data_advertise;
    unsigned window; /* requests in flight per edge */
    unsigned global; /* requests in flight across edges */
} hub_media_opts_t;

typedef struct hub_media_t hub_media_t;

/* Opens STATE/mediadb and the blob store, binds the media endpoint and starts
 * the thread. Everything passed is borrowed until hub_media_stop. FT_OK,
 * FT_EIO (bind failed: logged), FT_ENOMEM. */
int hub_media_start(const char *state, store_t *store, devlog_t *hublog, const keys_t *keys,
                    const hub_media_opts_t *opts, volatile sig_atomic_t *stop,
                    hub_media_t **out) FT_MUST_CHECK;
/* Wakes the puller to look at the store now (new manifests, logs complete):
 * called by the sync loop after it commits (hub_sync_on_commit). hm is a
 * hub_media_t; thread-safe, never blocks. */
void hub_media_wake(void *hm);
/* Joins the thread (after *stop was set) and frees. Safe on NULL. */
void hub_media_stop(hub_media_t **m_p);

/* Read access for commands: opens STATE/mediadb read-only-ish. */
typedef struct hub_mdb_t hub_mdb_t;
int hub_mdb_open(const char *state, hub_mdb_t **out) FT_MUST_CHECK;
void hub_mdb_destroy(hub_mdb_t **d_p);
typedef int (*hub_mfile_fn)(void *ctx, const hub_mfile_t *f);
int hub_mdb_iter(hub_mdb_t *d, hub_mfile_fn fn, void *ctx);
int hub_mdb_get(hub_mdb_t *d, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                hub_mfile_t *out) FT_MUST_CHECK;

/* The running puller's state from STATE/media.status: {"pid", "state":
 * "running"|"paused"|"stopped" (no hub runs), "since_ms" (paused since),
 * "checked_ms", "retry_s", "free_bytes" (blob store's disk, -1 unknown),
 * "error", "reason", "data_port" (0: no data path), "data_reasked",
 * "data_dropped"}; NULL when there is no such file (no hub ran yet). */
json_t *hub_media_pulling_json(const char *state);

/* Media part of `fieldtrail-hub status`. */
json_t *hub_media_status_json(const char *state);
void hub_media_status_print(const char *state, FILE *out);

#endif
