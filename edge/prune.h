/* prune.h: what a stolen unit reveals: pruning records on the edge.
 *
 * The device log is encrypted at rest under per-day bucket keys
 * (common/lmdb/devlog.h, docs/log.md "At rest"). Records the hub's signed
 * receipt covers and that are older than records.keep_days (edge.conf,
 * default 90, 0 keeps them for ever; by the log's clock, devlog_wall_ms)
 * are pruned to what the chain needs: each entry becomes a stub of its hash
 * and signature, and its bucket's key is dropped from db/bucket.keys, so
 * the old ciphertext LMDB leaves in free pages can no longer be read.
 *
 *   receipt   the highest stored receipt of this epoch, its signature
 *             checked with the hub's receipt key (edge_sync_last_receipt)
 *   cutoff    now - keep_days; a bucket goes when its newest entry is at or
 *             before it and the receipt covers all of its entries
 * Entries no receipt covers are never pruned. `run` prunes at start and
 * hourly (edge/sync.c), `fieldtrail-edge prune` on demand; `verify` checks
 * that the receipt covers every stub (edge_prune_check). `compact` rewrites
 * the database without free pages, for plaintext entries written before
 * at-rest encryption (they leave text in free pages after pruning).
 */
#ifndef FT_EDGE_PRUNE_H
#define FT_EDGE_PRUNE_H

#include "devlog.h"
#include "edge.h"

#include <stdbool.h>
#include <stdint.h>

#define EDGE_RECORDS_DEFAULT_KEEP_DAYS 90
#define EDGE_RECORDS_MAX_KEEP_DAYS 36500

/* records.keep_days (flag > edge.conf > default) in ms, 0 = keep for ever.
 * Returns 0, or 2 after printing why the value is bad. */
int edge_records_keep(edge_ctx_t *ctx, const char *flag, uint64_t *keep_ms);

/* What one pruning pass did. */
typedef struct {
    bool has_receipt;     /* a receipt that checks out is stored */
    uint64_t receipt_seq; /* it covers 1..receipt_seq */
    uint64_t cutoff_ms;   /* entries at or before this are old enough */
    devlog_prune_t p;     /* what devlog_prune did */
    char why[200];        /* when nothing could be pruned: why not */
} edge_prune_result_t;

/* Prunes what the highest receipt covers and keep_ms allows. FT_OK (also
 * when nothing could be pruned: out->why), or the error of the receipt or
 * of devlog_prune (out->p.detail says which entry did not verify). */
int edge_prune_records(devlog_t *log, uint64_t keep_ms, edge_prune_result_t *out) FT_MUST_CHECK;
/* edge_prune_records for the `run` daemon: says what it did in the log. */
void edge_prune_log(devlog_t *log, uint64_t keep_ms);

/* For `verify`: the highest receipt checks out, covers every pruned entry
 * of r (r->pruned_max) and its hash is this log's entry at its upto_seq.
 * FT_OK (also when nothing is pruned), else an error and a sentence in
 * detail. *receipt_seq (may be NULL) gets the receipt's upto_seq. */
int edge_prune_check(devlog_t *log, const devlog_report_t *r, uint64_t *receipt_seq, char *detail,
                     size_t n) FT_MUST_CHECK;

/* `fieldtrail-edge prune` and `fieldtrail-edge compact` (edge/prune.c). */
int edge_cmd_prune(int argc, char **argv);
int edge_cmd_compact(int argc, char **argv);

#endif
