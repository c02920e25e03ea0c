/* engine.h: evaluation: keeps the case index and the alerts current.
 *
 * One step (engine_step) at an explicit evaluation time `now`:
 *   1. tail the store after the index's cursor, in batches: take each entry
 *      into the index (index_add_entry marks the units it changes dirty),
 *      apply justifications, advance the cursor; a device whose applied
 *      clock offset (index.h) differs from the one last logged gets a
 *      ClockOffset entry in the hub log (from this entry's arrival on), for
 *      the provincial node (docs/province.md "Clock offsets"); -> catch_up
 *   2. integrity events after the integrity cursor become critical alerts
 *      citing the integrity rule (Art. 24(2));            -> integrity
 *   3. each device whose clock offset was measured again is judged by the
 *      clock rule;                                         -> clocks
 *   4. units whose deadline is <= now become dirty (index_due);
 *   5. every dirty unit is evaluated with gaps.c at now and its alerts are
 *      made equal to what it raises (alerts_apply); its next deadline is
 *      stored.                                             -> evaluate_dirty
 * Each batch commits once: the alert events it made are appended to the
 * hub's own log first (one devlog transaction; one AlertEvents entry holds
 * them all, or several in order above the bounds of common/entry.h), then
 * the index transaction commits (one disk sync, its meta page synced by the
 * next commit: index_lazy_meta, docs/alerts.md "Durability of the index"),
 * then the events go to the sink (delivery). A crash between the two commits
 * repeats the batch: its events may then be in the hub log twice, never
 * missing.
 *
 * Because a unit's alerts are a pure function of its inputs and `now`
 * (gaps.h), evaluating only dirty and due units gives the same alerts as
 * marking every unit dirty (engine_full); hub/engine/engine_test.c checks that on
 * random histories.
 *
 * Threads: an engine is used by one thread. It opens its own store read
 * transactions (store_entries_since, store_begin(false)) and its own write
 * transactions on the index and the hub log, so it never waits for sync
 * beyond LMDB's writer lock of the hub log.
 */
#ifndef FT_HUB_ENGINE_H
#define FT_HUB_ENGINE_H

#include "alerts.h"
#include "devlog.h"
#include "gaps.h"
#include "identity.h"
#include "index.h"
#include "rules.h"
#include "store.h"

#include <jansson.h>

typedef struct engine_t engine_t;

/* Receives each alert event after it committed (borrowed). */
typedef void (*engine_sink_fn)(void *ctx, const json_t *event);

typedef struct {
    store_t *store;         /* the hub store (borrowed) */
    devlog_t *hublog;       /* the hub's own log, or NULL (tests, benchmark) */
    const rulepack_t *pack; /* the rules (borrowed) */
    engine_sink_fn sink;    /* may be NULL */
    void *sink_ctx;         /* passed to sink */
    size_t batch;           /* entries per index transaction (0 = 2048) */
    /* alert events per hub-log entry at most (0 = ALERT_BATCH_MAX_EVENTS,
     * common/entry.h; tests set fewer to see a batch split) */
    size_t events_per_entry;
} engine_opts_t;

/* What one step did. */
typedef struct {
    uint64_t entries; /* entries taken into the index */
    uint64_t units;   /* units evaluated */
    uint64_t events;  /* alert events made */
    uint64_t due;     /* units whose deadline passed */
} engine_stats_t;

/* Opens the index in index_dir (map_size 0 = default). */
int engine_new(const char *index_dir, size_t map_size, const engine_opts_t *opts,
               engine_t **out) FT_MUST_CHECK;
void engine_destroy(engine_t **e_p);
index_t *engine_index(engine_t *e);
alerts_t *engine_alerts(engine_t *e);

/* One step at now_ms (above). Adds to *st when st is not NULL. */
int engine_step(engine_t *e, int64_t now_ms, engine_stats_t *st) FT_MUST_CHECK;
/* Steps 1-3 only (catch the index up, no evaluation). */
int engine_catch_up(engine_t *e, int64_t now_ms, engine_stats_t *st) FT_MUST_CHECK;
/* Marks every unit dirty, then steps: a full re-evaluation. */
int engine_full(engine_t *e, int64_t now_ms, engine_stats_t *st) FT_MUST_CHECK;

/* A case (or one caseless record) as loaded from the index and the store,
 * for evaluation and timelines. All pointers are owned by the view.
 *
 * Records are one per identity (hub/gaps/identity.h): recs[0, c.n_records)
 * are what is evaluated, shown and counted (a record of its own, or the
 * primary of its identity); recs[c.n_records, n_all) are the other entries
 * of those identities, kept for timelines and exports: witnesses (the same
 * record from another device) and conflicting versions. roles[i] and
 * primary[i] say which, for every i < n_all. */
typedef struct {
    gap_case_t c;              /* what gaps.c evaluates */
    gap_record_t *recs;        /* c.records, then the other entries */
    index_item_t *rec_items;   /* index rows of recs, same order */
    entry_view_t *views;       /* decoded entries of recs */
    size_t n_all;              /* records loaded: evaluated + witnesses + conflicting */
    ident_role *roles;         /* per record: alone, primary, witness, conflict */
    size_t *primary;           /* per record: index of its identity's primary */
    gap_conflict_t *conflicts; /* c.conflicts */
    char (*conflict_keys)[IDENT_KEY_MAX];
    gap_media_t *media;                  /* c.media: candidates that may document the records */
    index_item_t *media_items;           /* index rows of media, same order */
    char (*ref_texts)[INDEX_REF_TEXT];   /* refs of recs */
    char (*media_texts)[INDEX_REF_TEXT]; /* refs of media */
    char case_id[INDEX_STR];
    Ft__Record **compact; /* records made from the index's compact form (owned) */
    size_t n_compact;
} case_view_t;

/* Loads case_id (or, with case_id NULL, the one record `ref`, with the
 * witnesses of its identity: when it is not the primary, nothing of it is
 * evaluated and c.n_records is 0). */
int case_view_load(index_txn_t *it, store_txn_t *st, const char *case_id, const uint8_t *ref,
                   case_view_t *v) FT_MUST_CHECK;
/* The same as the gap engine loads it: each record from its compact form
 * in the index (compact.h) where the index holds one, else from the store;
 * views[i] is then empty (entry NULL) and recs[i].rec holds only what the
 * rules read. Gives the rules the same case as case_view_load (engine_test.c). */
int case_view_load_compact(index_txn_t *it, store_txn_t *st, const char *case_id,
                           const uint8_t *ref, case_view_t *v) FT_MUST_CHECK;
void case_view_free(case_view_t *v);
/* The entries of record i's identity as ref texts (i < c.n_records): i
 * itself first, then its witnesses on other devices (a JSON array, caller
 * decrefs; NULL when memory runs out). */
json_t *case_view_witnesses(const case_view_t *v, size_t i);
/* The entries whose version of record i's id has other content (conflicting
 * versions, each an integrity alert): a JSON array, possibly empty. */
json_t *case_view_conflicting(const case_view_t *v, size_t i);
/* True if media item m of the view (v->media[m]) belongs to the case: it
 * names the case, or it links to one of the case's records
 * (gaps_media_links). The one answer the timeline, retention and bundles
 * give (casemedia.c). */
bool case_view_media_in_case(const case_view_t *v, size_t m);

#endif
