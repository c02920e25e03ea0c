/* mediapull.h: the hub's side of media transfer: it finds manifests among the
 * stored log entries, pulls the chunks it lacks from each edge, verifies,
 * keeps them, and on completion decrypts, checks, publishes to the blob
 * store and sends a signed completion receipt (docs/media.md).
 *
 * Runs in its own thread of `fieldtrail-hub run` (hub_media_start) with its
 * own ZeroMQ context, ZAP handler (hub/sync/zap.c, same enrolment rules) and
 * ROUTER on the media endpoint (default: port 7402 on every interface).
 *
 * What it knows about each file is in the media database (mediadb.h: file
 * rows, held and refused bitmaps, receipts; the file state machine is
 * there). Chunks themselves go to the blob store's partial for the file (at
 * offset index * (chunk_size + 16)); a chunk counts as held only after its
 * bytes were fdatasync'ed AND the bitmap committed, so a resume never asks
 * again for a committed chunk.
 *
 * Finishing a file (all chunks held): the content check's completion pass
 * (mediacheck.h, mcheck_complete) decrypts what was not checked as it
 * arrived and checks the content hash. Only what the device signed not
 * holding together -- a chunk that still matches its signed hash but does
 * not decrypt under the sealed file key, or content that differs from its
 * signed hash -- marks the file FAILED and records an integrity event. A
 * file key that the hub's archive key does not open (the hub's key file, or
 * the archive key the edge was given, is wrong) holds that file back: it
 * stays PULLING with every chunk, the error says so once (and `status`:
 * media HELD), it is tried again every MEDIA_RETRY_MS and finishes once the
 * key is right; other files go on. A local fault -- a chunk that cannot be
 * read back, or that the hub's storage changed since it was checked, no
 * memory, publishing or storing the receipt -- pauses pulling with what is
 * wrong and is retried (as for a full disk). Neither is taken for tampering.
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
#include "mediadb.h"
#include "mediastatus.h"
#include "store.h"

#include <jansson.h>
#include <lmdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define HUB_MEDIA_DEFAULT_LISTEN "tcp://*:7402"
#define HUB_MEDIA_DEFAULT_WINDOW 1
#define HUB_MEDIA_DEFAULT_GLOBAL 32
/* Connection caps of the media port and of the data path, each (docs/
 * operations.md "Exposed ports"): open connections, and of them not yet
 * authenticated (a CurveZMQ handshake on the media port; on the data path a
 * first message with a current token and a valid MAC). Before it proves
 * itself a connection can make libzmq hold at most one message of
 * MWIRE_MAX_MSG_BYTES (8 MiB), so the second cap bounds that memory. */
#define HUB_MEDIA_DEFAULT_MAX_CONNECTIONS 256
#define HUB_MEDIA_DEFAULT_MAX_HANDSHAKING 4
/* A data-path connection must send its DataHello within this time. */
#define HUB_MEDIA_DATA_AUTH_MS 5000

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
    /* Where blobs go (NULL: the directory store). With object storage a
     * file's receipt waits until the store confirmed its blob. */
    const struct blobstore_conf_t *blobs;
    unsigned max_connections; /* per port; 0 = HUB_MEDIA_DEFAULT_MAX_CONNECTIONS */
    unsigned max_handshaking; /* per port; 0 = HUB_MEDIA_DEFAULT_MAX_HANDSHAKING */
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
/* The ports edges are told in the sync welcome (docs/protocol.md
 * "Welcome"): the media endpoint's bound port, and the chunk data path's
 * as edges reach it (0: none). NULL: both 0. */
void hub_media_ports(const hub_media_t *hm, uint32_t *media_port, uint32_t *data_port);
/* Joins the thread (after *stop was set) and frees. Safe on NULL. */
void hub_media_stop(hub_media_t **m_p);

/* Media part of `fieldtrail-hub status`. */
json_t *hub_media_status_json(const char *state);
void hub_media_status_print(const char *state, FILE *out);

#endif
