/* entry.h: sealing and checking one device-log entry. THIS is where a log
 * entry is signed (entry_seal) and where a signature and chain link are
 * checked (entry_check), by the edge's own verify and by the hub alike.
 *
 * Layout (proto/entry.proto): SignedEntry { entry: bytes, signature: bytes }.
 *   entry_hash = BLAKE2b-256( "fieldtrail/entry/v1\0" || entry bytes )
 *   signature  = Ed25519( signer's secret key, entry_hash )
 * The entry bytes are serialized once by entry_seal; those exact bytes are
 * stored, sent, hashed and verified. Never re-encode a decoded Entry.
 * Chain: entry N's prev_hash = entry_hash of entry N-1; entry 1 has 32 zero
 * bytes. Seqs are dense from 1 within an epoch.
 */
#ifndef FT_ENTRY_H
#define FT_ENTRY_H

#include "error.h"
#include "keys.h"
#include "entry.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENTRY_HASH_BYTES 32
#define ENTRY_SIG_BYTES 64
/* Upper bound on one sealed entry; larger input is refused as malformed. */
#define ENTRY_MAX_BYTES (1u << 20)

/* A decoded SignedEntry: borrowed views into `raw`, valid until entry_view_free. */
typedef struct {
    Ft__SignedEntry *signed_entry;  /* outer message */
    Ft__Entry *entry;               /* decoded inner Entry */
    uint8_t hash[ENTRY_HASH_BYTES]; /* entry_hash of the inner bytes */
    bool in_arena;                  /* decoded into an entry_arena_t */
} entry_view_t;

/* Memory that entries are decoded into one after the other (the case
 * index reads every stored entry once): a decode takes its messages from
 * it instead of one malloc per field, and entry_arena_reset returns them
 * all at once instead of one free each. Start from {0}. */
typedef struct {
    uint8_t *buf;     /* the current block */
    size_t used, cap; /* bytes of it taken, its size */
    void **spill;     /* earlier blocks and large allocations */
    size_t n_spill, spill_cap;
    bool oom; /* an allocation failed */
} entry_arena_t;

/* Position a verifier expects the next entry at. */
typedef struct {
    uint8_t device[DEVID_BYTES];         /* device ID the entry must carry */
    uint64_t epoch;                      /* epoch it must carry */
    uint64_t seq;                        /* seq it must carry */
    uint8_t prev_hash[ENTRY_HASH_BYTES]; /* hash it must chain to */
} entry_pos_t;

/* Domain-separated hash of serialized Entry bytes. */
void entry_hash(const uint8_t *entry_bytes, size_t len, uint8_t out[ENTRY_HASH_BYTES]);

/* Serializes e, signs it with k and returns the SignedEntry bytes in *out
 * (caller frees) and the entry hash. FT_OK, FT_ENOMEM, FT_ECRYPTO. */
int entry_seal(const Ft__Entry *e, const keys_t *k, uint8_t **out, size_t *out_len,
               uint8_t hash[ENTRY_HASH_BYTES]) FT_MUST_CHECK;

/* Decodes SignedEntry bytes. FT_ECORRUPT if either layer does not decode or a
 * length is wrong (device, prev_hash, signature), FT_EINVAL if too large. */
int entry_open(const uint8_t *raw, size_t len, entry_view_t *v) FT_MUST_CHECK;
/* As entry_open, without hashing (v->hash is zero): for a reader of entries
 * verified when they were stored that neither checks nor names them by
 * their hash (the case index takes in every stored entry once). */
int entry_decode(const uint8_t *raw, size_t len, entry_view_t *v) FT_MUST_CHECK;
/* As entry_decode, into a: v stays valid until a is reset or freed
 * (entry_view_free on it only forgets it). */
int entry_decode_in(entry_arena_t *a, const uint8_t *raw, size_t len,
                    entry_view_t *v) FT_MUST_CHECK;
/* Makes everything decoded into a free (keeps one block for the next). */
void entry_arena_reset(entry_arena_t *a);
void entry_arena_free(entry_arena_t *a);
void entry_view_free(entry_view_t *v);

/* Checks a decoded entry against the signer's key and the expected position:
 * FT_ESIGNER (device field is not the expected device), FT_EBADSIG,
 * FT_EPROTO (wrong epoch), FT_EGAP (seq is not pos->seq), FT_ECHAIN. The
 * signature is checked first so that a forged entry is named as such. */
int entry_check(const entry_view_t *v, const uint8_t sign_pk[32],
                const entry_pos_t *pos) FT_MUST_CHECK;

/* The two halves of entry_check, for a verifier that checks many entries'
 * signatures at once on several threads (hub/store/verify.c):
 * entry_sig_ok is the signature check alone (true if it verifies with
 * sign_pk); entry_check_sig is entry_check with that answer given, the
 * same checks in the same order. entry_check(v, pk, pos) ==
 * entry_check_sig(v, entry_sig_ok(v, pk), pos). */
bool entry_sig_ok(const entry_view_t *v, const uint8_t sign_pk[32]);
int entry_check_sig(const entry_view_t *v, bool sig_ok, const entry_pos_t *pos) FT_MUST_CHECK;

/* Advances pos past a checked entry. */
void entry_pos_advance(entry_pos_t *pos, const entry_view_t *v);

/* The body kind's name ("record", "media", "event", ...), static. */
const char *entry_body_kind(const Ft__Body *b);

/* Alert events in the hub log (docs/alerts.md "Evaluation"). A hub log
 * holds them in two forms, and every reader reads both through these:
 *   AlertEvent  (Body.alert, "alert")   one event per entry: logs written
 *                                       before batches, and test tools;
 *   AlertEvents (Body.alerts, "alerts") the events of one evaluation batch,
 *                                       in order, at most
 *                                       ALERT_BATCH_MAX_EVENTS of them and
 *                                       about ALERT_BATCH_MAX_BYTES.
 * An event is addressed by (entry seq, index in the entry); the index of
 * the single event of an AlertEvent entry is 0. */
#define ALERT_BATCH_MAX_EVENTS 512
#define ALERT_BATCH_MAX_BYTES (256u << 10)

/* The number of alert events body holds: 1 for an AlertEvent, the events of
 * an AlertEvents, 0 for every other body (and NULL). */
size_t entry_alert_count(const Ft__Body *b);
/* Alert event i (< entry_alert_count) of body b, borrowed from b. */
const Ft__AlertEvent *entry_alert_at(const Ft__Body *b, size_t i);
/* How many of the n events from events[0] on go into the next AlertEvents
 * entry: at least 1 (when n > 0), at most max_events, and no more than fit
 * in max_bytes of encoded events (a single event larger than max_bytes goes
 * alone; ENTRY_MAX_BYTES still bounds its entry). */
size_t entry_alert_batch_take(Ft__AlertEvent *const *events, size_t n, size_t max_events,
                              size_t max_bytes);

#endif
