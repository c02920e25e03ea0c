/* sync.h: the hub's side of log sync: the ROUTER loop.
 *
 * One thread serves every edge: a ROUTER socket with CURVE (server), the ZAP
 * handler (hub/sync/zap.c) and the store. Per message it learns the device from
 * the connection (ZAP User-Id) and never from the message, and answers:
 *   Hello  -> Welcome (what the hub holds) after recording the clock offset
 *             and the device's status in the group's write transaction (no
 *             commit of its own: the status is not a receipt; the Welcome
 *             leaves after the group's commit, in order; sync.c on_hello)
 *   Batch  -> verify_batch_pool (hub/store/verify.c: signatures on every core)
 *             in the group's write transaction; commit; THEN the signed
 *             Receipt; then an Error if an entry was refused
 * Group commit and fair share: the loop takes what is pending on the socket
 * into a queue per device and serves the devices by deficit round robin
 * (hub/sync/fair.h): each turn at most 16 entries, a batch spanning turns
 * and groups; a group (up to group_entries entries) is one durable
 * transaction (one fsync), and its answers, one receipt per device for the
 * prefix committed, leave only after that commit.
 *   Ping   -> Pong
 * The protocol and its state machine are in docs/protocol.md.
 */
#ifndef FT_HUB_SYNC_H
#define FT_HUB_SYNC_H

#include "devlog.h"
#include "keys.h"
#include "store.h"

#include <signal.h>
#include <stdint.h>

#define HUB_DEFAULT_LISTEN "tcp://*:7400"
#define HUB_DEFAULT_MAX_BATCH_ENTRIES 512
#define HUB_DEFAULT_MAX_BATCH_BYTES (4u << 20)
/* Connections the sync port keeps open at most, and of them at most how
 * many still unauthenticated (common/zmq/zguard.h). */
#define HUB_DEFAULT_MAX_CONNECTIONS 256
#define HUB_DEFAULT_MAX_HANDSHAKING 32
/* Entries a group commit takes before it commits (one fsync per group). */
#define HUB_DEFAULT_GROUP_ENTRIES 4096

typedef struct hub_sync_t hub_sync_t;

/* Settings of the sync loop. */
typedef struct {
    const char *listen;         /* ZeroMQ endpoint to bind, e.g. HUB_DEFAULT_LISTEN */
    uint32_t max_batch_entries; /* told to edges in Welcome; larger batches are refused */
    uint32_t max_batch_bytes;   /* the same for the bytes of a batch's entries */
    const char *state;          /* state directory (optional): a write that fails with an I/O error
                                 * while its disk is full is reported as storage full */
    uint32_t max_connections;   /* 0 = HUB_DEFAULT_MAX_CONNECTIONS */
    uint32_t max_handshaking;   /* 0 = HUB_DEFAULT_MAX_HANDSHAKING */
    uint32_t group_entries;     /* a group commits once it holds this many entries;
                                 * 0 = HUB_DEFAULT_GROUP_ENTRIES */
    uint32_t verify_threads;    /* threads checking a batch's signatures, the loop's own
                                 * included; 0 = one per online CPU */
    const char *rule_pack;      /* the text of the rule pack the hub judges by (borrowed,
                                 * optional): sent, signed, in every Welcome so that the
                                 * vehicles' screens judge by it too (docs/vehicle.md) */
} hub_sync_opts_t;

/* The largest message the sync port accepts with these limits: a batch of
 * max_batch_entries entries and max_batch_bytes bytes (or one entry of
 * ENTRY_MAX_BYTES, which an edge sends alone), its framing and CurveZMQ's. */
int64_t hub_sync_max_msg(uint32_t max_batch_entries, uint32_t max_batch_bytes);
/* The media and data ports every Welcome names (0: none); set before
 * hub_sync_run. */
void hub_sync_set_ports(hub_sync_t *s, uint32_t media_port, uint32_t data_port);

/* Creates the ZeroMQ context, the ZAP handler and the bound ROUTER. store,
 * hublog and keys are borrowed and must outlive the loop. FT_OK, FT_EIO
 * (bind failed: the message is logged), FT_ENOMEM. */
int hub_sync_new(store_t *store, devlog_t *hublog, const keys_t *keys, const hub_sync_opts_t *opts,
                 hub_sync_t **out) FT_MUST_CHECK;
void hub_sync_destroy(hub_sync_t **s_p);

/* fn(ctx) is called (from the sync loop's thread) after every commit that
 * may let media through: a device's Hello, a batch of entries stored. fn
 * must be quick and thread-safe (hub_media_wake). */
void hub_sync_on_commit(hub_sync_t *s, void (*fn)(void *ctx), void *ctx);

/* Serves until *stop becomes non-zero (set it from a signal handler).
 * FT_OK on a clean stop, or the error that ended the loop. */
int hub_sync_run(hub_sync_t *s, volatile sig_atomic_t *stop) FT_MUST_CHECK;

#endif
