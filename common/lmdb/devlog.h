/* devlog.h: a device's append-only, signed, hash-chained log on LMDB.
 *
 * The unit of sync and of proof (docs/log.md). One LMDB environment per
 * state directory holds:
 *   log      u64be seq -> stored value (below)
 *   meta     "device" (10-byte ID), "epoch", "head_seq", "head_hash", "hlc";
 *            with at-rest encryption also "at_rest_from", "bucket_floor",
 *            "legacy_pruned", "pruned_upto"
 *   ids      record `id` -> u64be seq || 32-byte content hash (import idempotency)
 *   buckets  u64be bucket id -> first seq, last seq, newest hlc, pruned ms
 *            (at-rest encryption only)
 * Other modules (media chunks, receipts) open further databases in the same
 * environment (devlog_env) and may write in the same transaction as an
 * append (devlog_txn_mdb), so a manifest and its chunks commit together.
 *
 * Stored values (the first byte tells them apart; docs/log.md "At rest"):
 *   0x0a  a SignedEntry exactly as sealed: logs without at-rest encryption
 *         (the hub's own log) and entries written before it was turned on
 *   0xE1  sealed: bucket u64be | nonce[24] | XChaCha20-Poly1305(SignedEntry),
 *         associated data = domain, device, epoch, seq, bucket
 *   0xD1  pruned stub: seq u64be | entry hash[32] | signature[64]
 * Callers never see the difference for entries that are there: devlog_iter,
 * devlog_get and devlog_verify hand out (and check) the signed bytes exactly
 * as sealed. Pruned entries are skipped by devlog_iter, FT_EPRUNED for
 * devlog_get, listed by devlog_iter_all and checked by devlog_verify by
 * their signature over the stored hash and the chain link after them.
 *
 * At-rest encryption (devlog_opts_t.at_rest; the edge turns it on, the hub
 * does not): each entry is encrypted under the key of its bucket, one bucket
 * per UTC day of the entry's hybrid clock (never a bucket id at or below
 * bucket_floor, the highest dropped one, so a clock set back never reopens a
 * dropped bucket). Bucket keys live outside LMDB in DIR/bucket.keys (mode
 * 0600, rewritten with temp file + fsync + rename + fsync of the directory,
 * read-modify-write under flock(DIR/bucket.keys.lock)), because LMDB never
 * wipes freed pages: dropping a key is what makes a pruned bucket's old
 * ciphertext unreadable (crypto-shredding). A key is durable before the
 * first entry under it commits. Once on, a log stays encrypted: every later
 * open encrypts, whatever opts say.
 *
 * Pruning (devlog_prune): buckets whose entries a receipt covers and whose
 * newest entry is older than a cutoff become stubs (committed first), then
 * their keys are dropped from the key file (under the LMDB write lock, so no
 * appender is between making a key and committing under it). Entries
 * written in plaintext before at-rest began are pruned entry by entry. The
 * pruned entries are always a prefix 1..pruned_upto of the log.
 *
 * Lock order: LMDB write transaction, then the key cache mutex, then the
 * key file's flock. Nothing takes them the other way round.
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
    bool at_rest;          /* encrypt entries at rest under bucket keys (the edge); a log
                              that has it on keeps it on whatever this says */
} devlog_opts_t;

/* Outcome of devlog_verify. */
typedef struct {
    uint64_t checked;    /* entries that verified (pruned ones included) */
    uint64_t head_seq;   /* head according to meta */
    uint64_t bad_seq;    /* first bad seq, 0 if none */
    int err;             /* FT_OK, FT_EGAP, FT_EBADSIG, FT_ECHAIN, FT_ECORRUPT, ... */
    char detail[160];    /* a sentence about bad_seq */
    uint64_t pruned;     /* of checked: pruned entries (hash and signature only) */
    uint64_t pruned_max; /* highest pruned seq checked, 0 if none */
} devlog_report_t;

/* The file of bucket keys in a log directory, and its lock file. */
#define DEVLOG_KEYS_FILE "bucket.keys"
#define DEVLOG_KEYS_LOCK "bucket.keys.lock"

/* Opens or creates the log in dir (an LMDB directory). A new log picks a
 * random epoch. FT_EKEY if the log belongs to other keys; FT_ENOTFOUND if
 * the log is encrypted at rest and dir/bucket.keys is missing (entries
 * under it could not be read: the log is not opened); FT_ECORRUPT if that
 * file is damaged. keys is copied. */
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
/* Appends one AuditEvent (who did what, to what; detail may be NULL) in t,
 * or in a transaction of its own (devlog_append1_audit). The strings are
 * copied into the entry; seq_out may be NULL. */
int devlog_append_audit(devlog_txn_t *t, const char *user, const char *action, const char *target,
                        const char *detail, uint64_t *seq_out) FT_MUST_CHECK;
int devlog_append1_audit(devlog_t *log, const char *user, const char *action, const char *target,
                         const char *detail, uint64_t *seq_out) FT_MUST_CHECK;

/* Called for each stored entry; the bytes are valid only during the call.
 * Return non-zero to stop (devlog_iter then returns that value). */
typedef int (*devlog_iter_fn)(void *ctx, uint64_t seq, const uint8_t *raw, size_t len);
/* Visits stored entries with from <= seq <= to (to 0 = to the end), with the
 * signed bytes exactly as sealed (decrypted if stored encrypted). Pruned
 * entries are skipped; an entry whose stored value cannot be read (altered
 * ciphertext, unknown format) is passed with len 0, which entry_open
 * refuses as corrupt. */
int devlog_iter(devlog_t *log, uint64_t from, uint64_t to, devlog_iter_fn fn, void *ctx);

/* What devlog_iter_all gives for one stored entry. */
typedef enum {
    DEVLOG_ENTRY = 1,      /* raw/len: the signed bytes exactly as sealed */
    DEVLOG_PRUNED = 2,     /* hash/signature: what a stub keeps */
    DEVLOG_UNREADABLE = 3, /* err and why: the stored value does not decode or decrypt */
} devlog_item_state;
typedef struct {
    uint64_t seq;
    devlog_item_state state;
    const uint8_t *raw;       /* DEVLOG_ENTRY */
    size_t len;               /* DEVLOG_ENTRY */
    const uint8_t *hash;      /* DEVLOG_PRUNED: the stored entry hash (32 bytes) */
    const uint8_t *signature; /* DEVLOG_PRUNED: the stored signature (64 bytes) */
    int err;                  /* DEVLOG_UNREADABLE: FT_ECORRUPT, FT_EKEY, FT_EAGAIN */
    const char *why;          /* DEVLOG_UNREADABLE: a phrase ("does not decrypt ...") */
} devlog_item_t;
/* Called for each stored entry; everything is valid only during the call. */
typedef int (*devlog_item_fn)(void *ctx, const devlog_item_t *it);
/* As devlog_iter, but every stored entry, pruned and unreadable ones too. */
int devlog_iter_all(devlog_t *log, uint64_t from, uint64_t to, devlog_item_fn fn, void *ctx);

/* Copies one stored entry's signed bytes (caller frees *raw). FT_ENOTFOUND
 * if absent, FT_EPRUNED if only its stub is kept, FT_ECORRUPT if the stored
 * value does not decode or decrypt. */
int devlog_get(devlog_t *log, uint64_t seq, uint8_t **raw, size_t *len) FT_MUST_CHECK;
/* The entry hash of seq, kept or pruned (seq 0: 32 zero bytes). Errors as
 * devlog_get, except that pruned entries have a hash. */
int devlog_get_hash(devlog_t *log, uint64_t seq, uint8_t hash[ENTRY_HASH_BYTES]) FT_MUST_CHECK;

/* Verifies from..head: every seq present, decodes (decrypts), signed by
 * this device, right epoch and seq, chained. A pruned entry: its stub names
 * its own seq, its signature verifies over its stored hash with this
 * device's key, and the entry after it links to that hash (what the entries
 * before it linked to is gone with their bytes). Whether a receipt covers
 * the pruned entries is the caller's to check (r->pruned_max). Stops at the
 * first bad seq. Returns FT_OK if the walk ran (the verdict is in r), or an
 * I/O error. */
int devlog_verify(devlog_t *log, uint64_t from, devlog_report_t *r) FT_MUST_CHECK;

/* What at-rest encryption and pruning hold now (devlog_rest_stats). */
typedef struct {
    bool enabled;          /* the log is encrypted at rest */
    uint64_t plain_upto;   /* entries 1..plain_upto were written before, in plaintext */
    uint64_t pruned_upto;  /* entries 1..pruned_upto are pruned (stubs) */
    uint64_t bucket_floor; /* highest dropped bucket id (never used again) */
    uint64_t buckets_kept; /* buckets whose entries are kept (key in the file) */
    uint64_t keys_in_file; /* keys in the key file now */
} devlog_rest_t;
int devlog_rest_stats(devlog_t *log, devlog_rest_t *st) FT_MUST_CHECK;

/* The UTC day a wall time falls in: the bucket id of entries at that time. */
uint64_t devlog_bucket_of_ms(uint64_t unix_ms);

/* Outcome of devlog_prune. */
typedef struct {
    uint64_t pruned;       /* entries turned into stubs by this call */
    uint64_t first, last;  /* their seqs (0 if none) */
    uint64_t buckets;      /* buckets pruned by this call */
    uint64_t keys_dropped; /* keys dropped from the key file by this call (pruned
                              buckets, also of an earlier call that stopped short,
                              and keys no entry was ever committed under) */
    uint64_t bad_seq;      /* an entry that did not verify: nothing of its bucket pruned */
    char detail[160];      /* a sentence about bad_seq or the receipt */
} devlog_prune_t;
/* Prunes what a receipt covers: entries 1..upto_seq (upto_hash must be the
 * entry hash of upto_seq, or FT_ECHAIN and nothing happens) whose bucket's
 * newest entry (or, for entries from before at-rest, the entry itself) has
 * an hlc time at or before cutoff_ms. Each such entry is checked (decrypts,
 * signature, seq, chain) and replaced by its stub, in one transaction; then
 * the keys of pruned buckets are dropped from the key file. A bucket holding
 * any entry above upto_seq is kept whole. FT_EINVAL if the log is not
 * encrypted at rest; FT_ECORRUPT/FT_EBADSIG/FT_ECHAIN if an entry to prune
 * does not verify (out->bad_seq, out->detail; nothing is pruned). */
int devlog_prune(devlog_t *log, uint64_t upto_seq, const uint8_t upto_hash[ENTRY_HASH_BYTES],
                 uint64_t cutoff_ms, devlog_prune_t *out) FT_MUST_CHECK;

/* Outcome of devlog_compact. */
typedef struct {
    uint64_t before, after; /* bytes of data.mdb */
} devlog_compact_t;
/* Rewrites dir/data.mdb without free pages (what deleted and overwritten
 * values, e.g. plaintext entries pruned after at-rest was turned on, leave
 * behind) and swaps the copy in. The log must not be open, in this process
 * or any other: FT_EAGAIN if another process has the environment open or
 * wrote to it during the copy (nothing is changed then). */
int devlog_compact(const char *dir, devlog_compact_t *out) FT_MUST_CHECK;

/* Content hash of a record as used for `id` idempotency: BLAKE2b-256 of its
 * canonical JSON (sorted keys, compact). FT_OK or FT_ENOMEM. */
int devlog_record_hash(const Ft__Record *rec, uint8_t out[32]) FT_MUST_CHECK;

#endif
