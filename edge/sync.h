/* sync.h: the edge's sync client: sends the device log to the hub.
 *
 * A DEALER connects to the hub's ROUTER with CurveZMQ (the edge's transport
 * keys, the hub's public key from `hub_key`) and keeps syncing through
 * anything the link does: ZeroMQ reconnects with back-off, a socket monitor
 * says when a handshake succeeded (then the edge says Hello again) or was
 * refused (not enrolled or revoked), heartbeats find dead links. It only
 * reads the log (new entries are found by polling the head), so imports and
 * records by other processes never wait for it. Receipts the hub signs are
 * checked and kept in the "receipts" database of the edge's LMDB
 * environment (key epoch|upto_seq, value the SignedReceipt bytes); what the
 * link last did is kept in the "sync" database, for `status`. The highest
 * receipt is also what lets records be pruned (edge/prune.h).
 *
 * The protocol and the client's state machine are in docs/protocol.md.
 */
#ifndef FT_EDGE_SYNC_H
#define FT_EDGE_SYNC_H

#include "devlog.h"
#include "keys.h"
#include "wire.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define EDGE_SYNC_DEFAULT_WINDOW 4
#define EDGE_SYNC_DEFAULT_BATCH 256
#define EDGE_SYNC_DEFAULT_BATCH_BYTES (1u << 20)
#define EDGE_SYNC_DEFAULT_HEARTBEAT_MS 2000
#define EDGE_SYNC_DEFAULT_RETRY_MS 30000
#define EDGE_SYNC_DEFAULT_RECONNECT_MAX_MS 5000
#define EDGE_SYNC_PRUNE_EVERY_MS 3600000 /* `run` prunes records this often (and at start) */

typedef struct edge_sync_t edge_sync_t;

/* How the client behaves; zero fields take the defaults above. */
typedef struct {
    const char *endpoint;      /* the hub, tcp://HOST:PORT */
    uint8_t hub_key[32];       /* the hub's transport public key */
    unsigned window;           /* batches sent and not yet acknowledged */
    unsigned batch_entries;    /* entries per batch (the hub may lower it) */
    unsigned batch_bytes;      /* entry bytes per batch (the hub may lower it) */
    unsigned heartbeat_ms;     /* ping when idle this long */
    unsigned retry_ms;         /* pause after the hub refused something */
    unsigned reconnect_max_ms; /* upper bound of the reconnect back-off */
    bool until_synced;         /* stop once the hub acknowledged the whole log */
    unsigned timeout_s;        /* with until_synced: give up after this long (0 = never) */
    uint64_t records_keep_ms;  /* prune receipted records older than this (0 = never) */
    unsigned prune_every_ms;   /* how often (0 = EDGE_SYNC_PRUNE_EVERY_MS) */
    /* Told the ports each Welcome names (media, data path; 0: not said),
     * with the sync endpoint; may be NULL. It writes into mismatch (cap
     * bytes) what disagrees with them in operator's words, "" when nothing
     * does: kept for `status` and reported to the hub (Batch
     * endpoint_mismatch, docs/protocol.md "Welcome"). */
    void (*on_ports)(void *ctx, const char *endpoint, uint32_t media_port, uint32_t data_port,
                     char *mismatch, size_t cap);
    void *ports_ctx;
    const char *state; /* where the hub's rule pack is kept (edge/ui/packfile.h); NULL:
                          not kept */
} edge_sync_opts_t;

/* What `status` shows about sync, read from the state directory. */
typedef struct {
    bool has_receipt;        /* a receipt for the current epoch is stored */
    uint64_t receipt_seq;    /* its upto_seq */
    int64_t receipt_hub_ms;  /* its hub_time_ms */
    char link[24];           /* last known link state: connected, disconnected, refused,
                                halted, or "" if `run` never ran */
    int64_t link_ms;         /* since when */
    int64_t last_contact_ms; /* last message from the hub */
    char last_error[512];    /* last refusal or failure, "" if none */
    int64_t last_error_ms;
    int64_t clock_offset_ms; /* hub minus edge, from the last Welcome */
    bool has_clock_offset;
    int64_t daemon_pid;  /* pid of the last `run`, 0 if none */
    bool daemon_running; /* that pid is alive */
    /* what `run` made of the hub's endpoints at the last Welcome: a mismatch
     * in operator's words, "" if none (or never looked at) */
    char endpoint_mismatch[512];
    int64_t endpoint_ms; /* when it was looked at, 0 never */
    bool has_hub_key;    /* the hub's signing key is known (from a Welcome) */
    uint8_t hub_key[32]; /* it: checks receipts and the hub's rule pack */
} edge_sync_status_t;

/* Prepares the client (opens the receipts and sync databases, creates the
 * sockets; connects lazily). log and keys are borrowed. FT_OK, FT_EIO,
 * FT_ENOMEM. */
int edge_sync_new(devlog_t *log, const keys_t *keys, const edge_sync_opts_t *opts,
                  edge_sync_t **out) FT_MUST_CHECK;
void edge_sync_destroy(edge_sync_t **s_p);

/* Syncs until *stop is set (FT_OK), or with until_synced until everything is
 * acknowledged (FT_OK) or the timeout passed (FT_ETIMEOUT). */
int edge_sync_run(edge_sync_t *s, volatile sig_atomic_t *stop) FT_MUST_CHECK;

/* Entries the hub acknowledged with a stored receipt, for the current epoch. */
uint64_t edge_sync_acked(const edge_sync_t *s);

/* Reads the sync status of the log's state directory (no daemon needed). */
int edge_sync_read_status(devlog_t *log, edge_sync_status_t *st) FT_MUST_CHECK;

/* The highest stored receipt of the log's epoch, its signature checked with
 * the hub's receipt key it was verified with when stored ("receipt_pk" in the
 * sync database; "hub_sign_pk" for receipts stored before that): FT_OK; FT_ENOTFOUND if there
 * is none; FT_EKEY if the hub's key is not known; FT_EBADSIG or FT_ESIGNER
 * if the stored receipt does not check out. */
int edge_sync_last_receipt(devlog_t *log, wire_receipt_t *r) FT_MUST_CHECK;

/* `fieldtrail-edge run` (edge/cmd_run.c). */
int edge_cmd_run(int argc, char **argv);

#endif
