/* verify.h: THIS is where the hub verifies the entries an edge sends.
 *
 * verify_batch takes the raw entries of one Batch, the device that the
 * connection authenticated as (ZAP User-Id, never a field of the message),
 * and an open write transaction of the store. It checks, entry by entry:
 *   1. the device is enrolled and not revoked            (else FT_EREVOKED / FT_ESIGNER)
 *   2. the entry decodes (entry_open)                    malformed
 *   3. its device field is the authenticated device      wrong_signer / unenrolled_signer
 *   4. at a seq the hub already holds: same bytes -> skipped as a duplicate;
 *      different bytes -> bad_signature if not signed by the device, else
 *      equivocation (the device signed two entries for one position)
 *   5. otherwise entry_check against the enrolled signing key and the stored
 *      head of that epoch: signature (bad_signature), dense seq (missing_seq),
 *      chain (broken_chain)
 * and stores every entry up to the first bad one (store_entry_append). It
 * stops at the first bad entry: that entry and everything after it in the
 * batch are not stored. Committing the transaction is the caller's job (and
 * only then may a receipt be sent); recording the integrity event is too
 * (hub/sync/sync.c), so that this module stays free of I/O besides the store.
 */
#ifndef FT_HUB_VERIFY_H
#define FT_HUB_VERIFY_H

#include "store.h"
#include "wire.h"
#include "workpool.h"

#include <stddef.h>
#include <stdint.h>

/* Integrity reasons (the tokens stored and sent; the gap engine reads them). */
#define VERIFY_BAD_SIGNATURE "bad_signature"
#define VERIFY_BROKEN_CHAIN "broken_chain"
#define VERIFY_MISSING_SEQ "missing_seq"
#define VERIFY_WRONG_SIGNER "wrong_signer"
#define VERIFY_UNENROLLED_SIGNER "unenrolled_signer"
#define VERIFY_EQUIVOCATION "equivocation"
#define VERIFY_MALFORMED "malformed"

/* The verdict on one batch. */
typedef struct {
    int err;                     /* FT_OK if every entry was accepted or a duplicate */
    const char *reason;          /* integrity reason (static) when the refusal is an
                                    integrity event; NULL for FT_OK and for refusals of
                                    the connection itself (revoked, not enrolled) */
    size_t bad_index;            /* index in the batch of the refused entry */
    uint64_t bad_epoch, bad_seq; /* what the refused entry claims (0 if unreadable) */
    char detail[STORE_TEXT_MAX]; /* a sentence for the operator and the event */
    size_t accepted;             /* entries newly stored */
    size_t duplicates;           /* entries already held with the same bytes */
    uint64_t epoch;              /* epoch of the last good entry (0 if none) */
    store_head_t head;           /* the hub's head of that epoch after the batch */
} verify_result_t;

/* Verifies and stores a batch (see the top of this file). Returns FT_OK when
 * the verdict is in r (r->err may still be a refusal), or a storage error
 * (FT_EIO, FT_EFULL, ...) after which the transaction must be aborted. */
int verify_batch(store_txn_t *t, const uint8_t device[DEVID_BYTES], const wire_bytes_t *entries,
                 size_t n, verify_result_t *r) FT_MUST_CHECK;

/* verify_batch with the decoding, hashing and signature checks of the
 * batch's entries spread over pool's threads (hub/store/workpool.h; NULL =
 * the calling thread alone). The verdict is the same as verify_batch's for
 * any batch: those checks are a first pass that touches neither the store
 * nor another entry; the position, duplicate, chain checks and the stores
 * follow in batch order on the calling thread, and a forged signature
 * anywhere is refused as bad_signature at its index with nothing after it
 * stored. */
int verify_batch_pool(store_txn_t *t, const uint8_t device[DEVID_BYTES],
                      const wire_bytes_t *entries, size_t n, workpool_t *pool,
                      verify_result_t *r) FT_MUST_CHECK;

#endif
