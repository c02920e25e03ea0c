/* store.h: the hub's storage: enrolments, verified device-log entries,
 * heads, sync status, receipts issued, integrity events and refused keys.
 *
 * The interface hides LMDB (store.c is the embedded implementation; a larger
 * deployment moves these tables to PostgreSQL, docs/architecture.md "Growing past one
 * hub"). Callers work inside a transaction (store_begin / store_commit /
 * store_abort); a write transaction is durable when store_commit returns, and
 * several processes (the daemon, `enroll`, `revoke`) may use one store at
 * once: writers are serialised.
 *
 * Tables (keys are big-endian so ranges iterate in numeric order):
 *   devices     device(10)                 -> enrolment row
 *   bykey       transport key(32)          -> device(10)            (ZAP lookup)
 *   status      device(10)                 -> sync status row
 *   heads       device|epoch (18)          -> seq(8) | entry hash(32)
 *   entries     device|epoch|seq (26)      -> raw SignedEntry bytes, as received
 *   arrival     arrival no.(8)             -> device|epoch|seq       (order of commit)
 *   receipts    device|epoch|upto_seq (26) -> SignedReceipt bytes issued
 *   integrity   event id(8)                -> integrity event row
 *   integ_seen  device|epoch|seq|reason    -> event id               (one event per fault)
 *   refusals    transport key(32)          -> refusal row            (unknown keys at ZAP)
 *   meta        name                       -> value (next arrival no., next event id)
 *
 * Invariants kept by every committed transaction (store_entry_append is the
 * only writer of entries, heads and arrival):
 *   - for each device and epoch, entries hold seq 1..head.seq, dense;
 *   - heads[device|epoch].hash is the entry hash of entry head.seq;
 *   - every entry has exactly one arrival number, and arrival numbers grow in
 *     commit order (the gap engine reads new entries after its cursor).
 * Verification (signature, chain) happens before, in hub/store/verify.c.
 *
 * Borrowed pointers returned by a get stay valid until the transaction ends
 * or the next write in it.
 */
#ifndef FT_HUB_STORE_H
#define FT_HUB_STORE_H

#include "entry.h"
#include "error.h"
#include "keys.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_DEFAULT_MAP_SIZE ((size_t)4 << 30)
#define STORE_NAME_MAX 256  /* unit and vehicle names, bytes incl. NUL */
#define STORE_TEXT_MAX 512  /* error and detail texts, bytes incl. NUL */
#define STORE_REASON_MAX 32 /* integrity reason tokens */

typedef struct store_t store_t;
typedef struct store_txn_t store_txn_t;

/* An enrolled device. */
typedef struct {
    uint8_t device[DEVID_BYTES];  /* device ID (hash of sign_pk) */
    uint8_t sign_pk[32];          /* Ed25519: verifies its entries */
    uint8_t transport_pk[32];     /* Curve25519: admitted by ZAP */
    char unit[STORE_NAME_MAX];    /* enforcement unit */
    char vehicle[STORE_NAME_MAX]; /* vehicle or workstation */
    bool revoked;                 /* refused at ZAP and per batch */
    int64_t enrolled_ms;          /* when enrolled (hub clock) */
    int64_t revoked_ms;           /* when revoked, 0 if not */
} store_device_t;

/* What the hub knows about a device's sync (all zero for a new device). */
typedef struct {
    int64_t last_seen_ms;            /* last message received from it */
    int64_t last_hello_ms;           /* last handshake (Hello) */
    bool has_clock_offset;           /* clock_offset_ms was measured */
    int64_t clock_offset_ms;         /* hub wall clock minus edge wall clock at Hello */
    uint64_t edge_epoch;             /* epoch the edge last reported */
    uint64_t edge_head_seq;          /* head the edge last reported (Hello or Batch) */
    uint64_t batches;                /* batches received */
    uint64_t accepted;               /* entries stored */
    uint64_t duplicates;             /* entries received again, same bytes, skipped */
    uint64_t rejected;               /* batches refused (integrity or revoked) */
    uint64_t refusals;               /* connections refused at the handshake (ZAP) */
    int64_t last_error_ms;           /* when last_error happened, 0 if never */
    char last_error[STORE_TEXT_MAX]; /* last refusal, operator's words */
    int64_t edge_report_ms;          /* when the edge reported edge_head_seq */
    int64_t synced_ms;               /* last time the hub held all the edge reported */
    /* What the edge last reported of the hub's endpoints after a Welcome
     * (wire.proto Batch.endpoint_mismatch): its own words for a media.hub
     * that disagrees with the port the hub announces, "" when they agree or
     * the edge never said (older edges); endpoint_report_ms when it said. */
    char endpoint_mismatch[STORE_TEXT_MAX];
    int64_t endpoint_report_ms;
} store_status_t;

/* Where a device's log stands at the hub for one epoch. */
typedef struct {
    uint64_t seq;                   /* highest seq held; 0 = none */
    uint8_t hash[ENTRY_HASH_BYTES]; /* its entry hash (zeros if none) */
} store_head_t;

/* A refused entry: evidence of alteration, forgery or loss (Art. 24(2)). */
typedef struct {
    uint64_t id;                   /* event id, from 1, in order of recording */
    int64_t time_ms;               /* hub clock */
    uint8_t device[DEVID_BYTES];   /* device whose connection carried it */
    char reason[STORE_REASON_MAX]; /* bad_signature, broken_chain, missing_seq, ... */
    uint64_t epoch;                /* as claimed by the entry (0 if unreadable) */
    uint64_t seq;                  /* as claimed by the entry (0 if unreadable) */
    char detail[STORE_TEXT_MAX];   /* a sentence */
    uint64_t hublog_seq;           /* its entry in the hub's own log, 0 if none */
    const uint8_t *evidence;       /* raw bytes refused (borrowed) */
    size_t evidence_len;
} store_integrity_t;

/* An unknown transport key that tried to connect. */
typedef struct {
    uint8_t transport_pk[32];
    int64_t first_ms, last_ms;
    uint64_t count;
    char reason[STORE_REASON_MAX]; /* "unknown_key" */
    char address[64];              /* peer address as ZAP saw it */
} store_refusal_t;

/* One stored entry, for iteration (raw is borrowed for the callback). */
typedef struct {
    uint64_t arrival;      /* arrival number (0 when iterating by device) */
    const uint8_t *device; /* DEVID_BYTES */
    uint64_t epoch, seq;
    const uint8_t *raw; /* SignedEntry bytes */
    size_t len;
} store_entry_t;

/* Opens or creates the store in dir. map_size 0 = STORE_DEFAULT_MAP_SIZE.
 * FT_OK, FT_EIO, FT_ENOMEM, FT_ECORRUPT. */
int store_open(const char *dir, size_t map_size, store_t **out) FT_MUST_CHECK;
/* Closes; NULLs *s_p; safe on NULL. */
void store_destroy(store_t **s_p);

/* Starts a transaction (write = true for one that changes anything). */
int store_begin(store_t *s, bool write, store_txn_t **out) FT_MUST_CHECK;
/* Durable commit (read transactions just end). Frees and NULLs *t_p. On error
 * nothing was written. FT_OK, FT_EFULL, FT_EIO. */
int store_commit(store_txn_t **t_p) FT_MUST_CHECK;
/* Discards; NULLs *t_p; safe on NULL. */
void store_abort(store_txn_t **t_p);

/* Devices. get: FT_OK or FT_ENOTFOUND. put writes the row and the transport
 * key index; FT_EEXIST if the transport key belongs to another device. */
int store_device_get(store_txn_t *t, const uint8_t device[DEVID_BYTES],
                     store_device_t *out) FT_MUST_CHECK;
int store_device_by_transport(store_txn_t *t, const uint8_t transport_pk[32],
                              uint8_t device[DEVID_BYTES]) FT_MUST_CHECK;
int store_device_put(store_txn_t *t, const store_device_t *d) FT_MUST_CHECK;
/* Visits every enrolled device in ID order; non-zero from fn stops and is returned. */
typedef int (*store_device_fn)(void *ctx, const store_device_t *d);
int store_device_iter(store_txn_t *t, store_device_fn fn, void *ctx);

/* Status: get gives a zeroed row and FT_OK when none was stored yet. */
int store_status_get(store_txn_t *t, const uint8_t device[DEVID_BYTES],
                     store_status_t *out) FT_MUST_CHECK;
int store_status_put(store_txn_t *t, const uint8_t device[DEVID_BYTES],
                     const store_status_t *st) FT_MUST_CHECK;

/* Head of a device's epoch (seq 0 when nothing is held). */
int store_head_get(store_txn_t *t, const uint8_t device[DEVID_BYTES], uint64_t epoch,
                   store_head_t *out) FT_MUST_CHECK;
/* Visits every epoch held for a device, in epoch order. */
typedef int (*store_head_fn)(void *ctx, uint64_t epoch, const store_head_t *h);
int store_heads_iter(store_txn_t *t, const uint8_t device[DEVID_BYTES], store_head_fn fn,
                     void *ctx);

/* The stored bytes at (device, epoch, seq), borrowed. FT_OK or FT_ENOTFOUND. */
int store_entry_get(store_txn_t *t, const uint8_t device[DEVID_BYTES], uint64_t epoch, uint64_t seq,
                    const uint8_t **raw, size_t *len) FT_MUST_CHECK;
/* Appends a verified entry: seq must be head.seq + 1 (else FT_EGAP); stores
 * the bytes, gives it the next arrival number and advances the head to
 * (seq, hash). */
int store_entry_append(store_txn_t *t, const uint8_t device[DEVID_BYTES], uint64_t epoch,
                       uint64_t seq, const uint8_t hash[ENTRY_HASH_BYTES], const uint8_t *raw,
                       size_t len) FT_MUST_CHECK;
/* Visits a device's entries of one epoch from seq `from`, in seq order. */
typedef int (*store_entry_fn)(void *ctx, const store_entry_t *e);
int store_device_entries_iter(store_txn_t *t, const uint8_t device[DEVID_BYTES], uint64_t epoch,
                              uint64_t from, store_entry_fn fn, void *ctx);
/* For the gap engine: visits every entry whose arrival number is greater than
 * `after` (0 = from the start), in arrival order, in one read snapshot. */
int store_entries_since(store_t *s, uint64_t after, store_entry_fn fn, void *ctx);
/* Number of entries stored (all devices) and the last arrival number. */
int store_entry_count(store_txn_t *t, uint64_t *count, uint64_t *last_arrival) FT_MUST_CHECK;

/* Receipts issued, by (device, epoch, upto_seq). get: borrowed, FT_ENOTFOUND. */
int store_receipt_get(store_txn_t *t, const uint8_t device[DEVID_BYTES], uint64_t epoch,
                      uint64_t upto_seq, const uint8_t **raw, size_t *len) FT_MUST_CHECK;
int store_receipt_put(store_txn_t *t, const uint8_t device[DEVID_BYTES], uint64_t epoch,
                      uint64_t upto_seq, const uint8_t *raw, size_t len) FT_MUST_CHECK;

/* Integrity events. seen: FT_OK and *id if this (device, epoch, seq, reason)
 * was already recorded, FT_ENOTFOUND if not. add assigns ev->id (ignoring
 * the given one) and returns it in *id. */
int store_integrity_seen(store_txn_t *t, const uint8_t device[DEVID_BYTES], uint64_t epoch,
                         uint64_t seq, const char *reason, uint64_t *id) FT_MUST_CHECK;
int store_integrity_add(store_txn_t *t, const store_integrity_t *ev, uint64_t *id) FT_MUST_CHECK;
/* Visits events with id > after, in id order. */
typedef int (*store_integrity_fn)(void *ctx, const store_integrity_t *ev);
int store_integrity_iter(store_txn_t *t, uint64_t after, store_integrity_fn fn, void *ctx);

/* Keys the refusals table holds at most; past it, refusals of further keys
 * are added to one row whose key is 32 bytes 0xFF (reason
 * STORE_REFUSAL_OTHERS), so a flood of fresh keys cannot grow the store. */
#define STORE_REFUSALS_MAX 1024
#define STORE_REFUSAL_OTHERS "other_keys"
/* Notes a refused unknown transport key (counts repeats). */
int store_refusal_note(store_txn_t *t, const uint8_t transport_pk[32], const char *reason,
                       const char *address, int64_t now_ms) FT_MUST_CHECK;
/* Adds count refusals of a key seen from first_ms to last_ms (the batched
 * form the sync loop's ledger writes). */
int store_refusal_add(store_txn_t *t, const uint8_t transport_pk[32], const char *reason,
                      const char *address, int64_t first_ms, int64_t last_ms,
                      uint64_t count) FT_MUST_CHECK;
typedef int (*store_refusal_fn)(void *ctx, const store_refusal_t *r);
int store_refusal_iter(store_txn_t *t, store_refusal_fn fn, void *ctx);

#endif
