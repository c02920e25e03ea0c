/* msync.h: the edge's media side of `fieldtrail-edge run`: the inbox
 * watcher (edge/ingest.h) and the chunk server the hub pulls from.
 *
 * Chunk server: a DEALER with CurveZMQ connects to the hub's media endpoint
 * (`media.hub`, default: the `hub` endpoint's port + 2, i.e. 7402 beside
 * 7400). After every handshake it sends MediaHello with the files it holds
 * without a completion receipt; then it only answers: ChunkRequest ->
 * ChunkData (the stored bytes, or `missing`); SignedMediaReceipt -> checked
 * with the hub's signing key (from MediaWelcome) and stored in the file's
 * row, which makes the file prunable (edge/mstore.h). It never pushes, so
 * the hub decides the window and the order (log entries first).
 *
 * Threads: `run` keeps log sync in its main thread; edge_media_start adds
 * one thread for the watcher and one for the chunk server. They share the
 * device log's LMDB environment (opened MDB_NOTLS; LMDB serialises writers).
 */
#ifndef FT_EDGE_MSYNC_H
#define FT_EDGE_MSYNC_H

#include "edge.h"
#include "ingest.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>

/* Media settings of an edge (flag > edge.conf > default). */
typedef struct {
    ingest_opts_t ingest;  /* chunk size, unit, archive key, stable_ms, keep_ms */
    bool has_archive;      /* archive_key was configured */
    char inbox[4096];      /* `inbox`, default STATE/inbox */
    char endpoint[512];    /* the hub's media endpoint: `media.hub`, else "" until the
                              hub's Welcome names its port (edge_media_hub_ports) */
    bool configured;       /* endpoint is `media.hub` from edge.conf (not the hub's word) */
    bool has_hub_key;      /* hub_key was configured */
    uint8_t hub_key[32];   /* the hub's transport key */
    unsigned trace_served; /* log every chunk served (tests count re-sends) */
} edge_media_settings_t;

/* Reads the settings; prints the reason and returns 2 on a bad value. */
int edge_media_settings(edge_ctx_t *ctx, const char *archive_flag, edge_media_settings_t *out);

typedef struct edge_media_t edge_media_t;

/* Starts the watcher and (with a hub) the chunk server threads. ctx and
 * stop are borrowed until edge_media_stop. Returns 0, or 1 after printing
 * why. */
int edge_media_start(edge_ctx_t *ctx, volatile sig_atomic_t *stop, edge_media_t **out);
/* Sets stop if not set, joins the threads, frees. Safe on NULL. */
void edge_media_stop(edge_media_t **m_p);
/* What the hub's Welcome on the sync link said (docs/protocol.md "Welcome"):
 * its media port and data path port (0: not said). Without `media.hub`, the
 * media link starts now, to media_port on the host sync_endpoint names (a
 * hub too old to say: the sync port + 2, as such hubs listen, said in the
 * log). With `media.hub` naming another port, the mismatch is logged once
 * and written into mismatch (cap bytes) in operator's words (what edge.conf
 * says, what the hub announced, which the edge uses); "" otherwise.
 * Called on the thread that runs edge_media_stop; em may be NULL. */
void edge_media_hub_ports(edge_media_t *em, const char *sync_endpoint, uint32_t media_port,
                          uint32_t data_port, char *mismatch, size_t cap);

/* Media part of `status`: {"files":..., "pending":..., "bytes_pending":...,
 * "storage":{...}, "ingesting":[...], "transfers":[...]} */
json_t *edge_media_status_json(devlog_t *log);
void edge_media_status_print(devlog_t *log, FILE *out);

/* `fieldtrail-edge ingest` (edge/cmd_ingest.c). */
int edge_cmd_ingest(int argc, char **argv);

#endif
