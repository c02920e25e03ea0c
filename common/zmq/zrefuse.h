/* zrefuse.h: refused handshakes counted cheaply (docs/operations.md
 * "Refused connections").
 *
 * A ZAP handler refuses in the thread that serves it (for the sync port,
 * the sync loop): it must not write a durable record per attempt, nor a
 * log line, or whoever holds the hub's public key slows every vehicle's
 * sync with handshakes of his own. zrefuse_note only counts, per client key,
 * in a table of ZREFUSE_MAX_KEYS rows (keys beyond it are counted together
 * as "others"); a thread of the ledger's own hands the counts to a flush
 * callback every flush_ms (the caller writes them in one transaction) and,
 * every audit_ms, says that the window closed (the caller writes one
 * aggregated audit entry), so a flood costs one commit every flush_ms and
 * one audit entry a window, whatever its rate.
 *
 * Logging: zrefuse_note says whether the caller may log this refusal (the
 * first of a key the table holds, at most ZREFUSE_LOG_PER_MIN a minute); the
 * ledger itself logs one summary line per audit window in which some were
 * not logged.
 */
#ifndef FT_ZREFUSE_H
#define FT_ZREFUSE_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZREFUSE_MAX_KEYS 256
#define ZREFUSE_LOG_PER_MIN 10

/* Refusals of one client key. */
typedef struct {
    uint8_t key[32];  /* the CURVE client key (zeros: none, e.g. another mechanism) */
    char reason[32];  /* the caller's token: "unknown_key", "revoked", "not_allowed" */
    char address[64]; /* the last peer address */
    uint64_t count;   /* since the last flush */
    uint64_t window;  /* since the last audit window closed */
    uint64_t total;   /* since start */
    int64_t first_ms; /* wall clock: first refusal since the last flush */
    int64_t last_ms;  /* wall clock: the last one */
} zrefusal_t;

/* Called from the ledger's thread: rows with count > 0 (or, when audit is
 * true, window > 0), and what the table could not hold. */
typedef void (*zrefuse_flush_fn)(void *ctx, const zrefusal_t *rows, size_t n,
                                 const zrefusal_t *others, bool audit);

typedef struct {
    const char *name; /* for the log: "sync", "alerts" */
    int64_t flush_ms; /* 0 = 2000 */
    int64_t audit_ms; /* 0 = 60000 */
    zrefuse_flush_fn flush;
    void *ctx;
} zrefuse_opts_t;

typedef struct zrefuse_t zrefuse_t;

int zrefuse_new(const zrefuse_opts_t *o, zrefuse_t **out) FT_MUST_CHECK;
/* Stops the thread after a last flush (with audit). Safe on NULL. */
void zrefuse_destroy(zrefuse_t **r_p);
/* Counts one refusal (any thread). key may be NULL. True if the caller may
 * log it. */
bool zrefuse_note(zrefuse_t *r, const uint8_t *key, const char *reason, const char *address,
                  int64_t now_ms);
/* Refusals since start (all keys). */
uint64_t zrefuse_total(zrefuse_t *r);
/* The detail of the audit entry of one window (rows and others as a flush
 * with audit gets them), UTF-8 whole, at most len - 1 bytes: "HEAD: [reason ]
 * key <16 hex>… N× from ADDR; … and N more from K other key(s)", each row's
 * reason shown when with_reason. False (and out empty) when the window
 * refused nothing. */
bool zrefuse_audit_detail(char *out, size_t len, const char *head, bool with_reason,
                          const zrefusal_t *rows, size_t n, const zrefusal_t *others);

#endif
