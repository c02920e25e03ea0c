/* devlog.h: a device's append-only, signed, hash-chained log on LMDB.
 *
 * The unit of sync and of proof (docs/log.md). One LMDB environment per
 * state directory holds:
 *   log   u64be seq -> SignedEntry bytes (exactly as sealed; never rewritten)
 *   meta  "device" (10-byte ID), "epoch", "head_seq", "head_hash", "hlc"
 *   ids   record `id` -> u64be seq || 32-byte content hash (import idempotency)
 * Other modules (media chunks, receipts) open further databases in the same
 * environment (devlog_env) and may write in the same transaction as an
 * append (devlog_txn_mdb), so a manifest and its chunks commit together.
 *
 * Transaction state machine:
 *   devlog_begin     -> open write txn; reads head and clock from meta (not
 *                       from memory, so several processes can append safely:
 *                       LMDB serialises writers)
 *   devlog_append*   -> seal entry (entry_seal), put it, advance head + hlc
 *   devlog_commit    -> durable commit; or devlog_abort -> nothing happened
 * An error inside a transaction (e.g. FT_EFULL) leaves it only abortable; the
 * log on disk is untouched and still verifies.
 */
#ifndef FT_DEVLOG_H
#define FT_DEVLOG_H

#include "entry.h"
#include "error.h"
#include "keys.h"

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEVLOG_DEFAULT_MAP_SIZE ((size_t)1 << 30)

typedef struct devlog_t devlog_t;
typedef struct devlog_txn_t devlog_txn_t;

/* Wall clock source in Unix ms; injectable for tests. */
typedef uint64_t (*devlog_clock_fn)(void *ctx);

typedef struct {
    size_t map_size;       /* LMDB map size in bytes; 0 = DEVLOG_DEFAULT_MAP_SIZE */
    devlog_clock_fn clock; /* NULL = the system clock */
    void *clock_ctx;       /* passed to clock */
} devlog_opts_t;

/* Outcome of devlog_verify. */
typedef struct {
    uint64_t checked;  /* entries that verified */
    uint64_t head_seq; /* head according to meta */
    uint64_t bad_seq;  /* first bad seq, 0 if none */
    int err;           /* FT_OK, FT_EGAP, FT_EBADSIG, FT_ECHAIN, FT_ECORRUPT, ... */
    char detail[160];  /* a sentence about bad_seq */
} devlog_report_t;

/* Opens or creates the log in dir (an LMDB directory). A new log picks a
 * random epoch. FT_EKEY if the log belongs to other keys. keys is copied. */
int devlog_open(const char *dir, const keys_t *keys, const devlog_opts_t *opts,
                devlog_t **out) FT_MUST_CHECK;
/* Closes the log; NULLs *log_p; safe on NULL. */
void devlog_destroy(devlog_t **log_p);

MDB_env *devlog_env(devlog_t *log);
const uint8_t *devlog_device(const devlog_t *log);
uint64_t devlog_epoch(const devlog_t *log);
/* Current head (seq 0 and zero hash for an empty log). */
int devlog_head(devlog_t *log, uint64_t *seq, uint8_t hash[ENTRY_HASH_BYTES]) FT_MUST_CHECK;
/* Wall time in ms by the log's clock. */
uint64_t devlog_wall_ms(devlog_t *log);

int devlog_begin(devlog_t *log, devlog_txn_t **out) FT_MUST_CHECK;
/* The LMDB transaction, for writing other databases atomically with appends. */
MDB_txn *devlog_txn_mdb(devlog_txn_t *t);
/* Appends one entry with this body. *seq_out (may be NULL) gets its seq. */
int devlog_append(devlog_txn_t *t, const Ft__Body *body, uint64_t *seq_out) FT_MUST_CHECK;
/* Appends a record, honouring its `id`: FT_EEXIST if a record with this id
 * and the same content is already in the log (a no-op), FT_EDUP if the id is
 * taken by different content (nothing appended). */
int devlog_append_record(devlog_txn_t *t, const Ft__Record *rec, uint64_t *seq_out) FT_MUST_CHECK;
/* As devlog_append_record, but the `id` index compares content_hash (a
 * devlog_record_hash of the record as the sender sent it) instead of the
 * hash of rec, so that defaults the edge fills in never make a re-import
 * look like a conflict. */
int devlog_append_record_as(devlog_txn_t *t, const Ft__Record *rec, const uint8_t content_hash[32],
                            uint64_t *seq_out) FT_MUST_CHECK;
/* Durable commit; frees t and NULLs *t_p. On error nothing was written. */
int devlog_commit(devlog_txn_t **t_p) FT_MUST_CHECK;
/* Discards the transaction; NULLs *t_p; safe on NULL. */
void devlog_abort(devlog_txn_t **t_p);

/* One-shot append in its own transaction. */
int devlog_append1(devlog_t *log, const Ft__Body *body, uint64_t *seq_out) FT_MUST_CHECK;

/* Called for each stored entry; the bytes are valid only during the call.
 * Return non-zero to stop (devlog_iter then returns that value). */
typedef int (*devlog_iter_fn)(void *ctx, uint64_t seq, const uint8_t *raw, size_t len);
/* Visits stored entries with from <= seq <= to (to 0 = to the end). */
int devlog_iter(devlog_t *log, uint64_t from, uint64_t to, devlog_iter_fn fn, void *ctx);
/* Copies one stored entry (caller frees *raw). FT_ENOTFOUND if absent. */
int devlog_get(devlog_t *log, uint64_t seq, uint8_t **raw, size_t *len) FT_MUST_CHECK;

/* Verifies from..head: every seq present, decodes, signed by this device,
 * right epoch and seq, chained. Stops at the first bad seq. Returns FT_OK if
 * the walk ran (the verdict is in r), or an I/O error. */
int devlog_verify(devlog_t *log, uint64_t from, devlog_report_t *r) FT_MUST_CHECK;

/* Content hash of a record as used for `id` idempotency: BLAKE2b-256 of its
 * canonical JSON (sorted keys, compact). FT_OK or FT_ENOMEM. */
int devlog_record_hash(const Ft__Record *rec, uint8_t out[32]) FT_MUST_CHECK;

#endif
