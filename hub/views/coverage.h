/* coverage.h: how much of each activity's window media covers, for many
 * activities at once (the compliance report, hub/web/api/api_reports.c),
 * and which clips cover an activity of a case (the case view,
 * hub/web/api/api_cases.c).
 *
 * Nothing here decides what links or covers: every clip is put to the gap
 * engine's own rule, gaps_clip_covers (hub/gaps/gaps.h: cited by media ID,
 * or the same officer or recorder and an overlapping half-open window), with
 * the record and the clip as the engine sees them (cat_link_t in catalog.h:
 * the engine's times, text cut as its index cuts it) and the clip's officer,
 * when its manifest names none, resolved from the recorder checkouts by
 * gapinput_checkout_officer (hub/gaps/gapinput.h), as the engine's index
 * resolves it. The covered time is the union of the covered spans, as
 * gaps_covered_ms sums it: coverage_test checks on random catalogs that
 * both give the same figure for every activity.
 *
 * coverage_index_new files every clip under each of its keys (media ID, its
 * officer, its recorder), sorted by start: O(P log P) for P keys over all
 * clips. A query reads, for each key of the record, only the clips that can
 * overlap its window: those starting in [window start - the longest clip
 * under that key, window end), and asks gaps_clip_covers of each. Before,
 * each activity scanned every clip, O(activities x clips) per report
 * (bench/coverage_bench.c compares both).
 *
 * The index points into the items; it is valid while they are (for the
 * catalog: until catalog_done). Not thread-safe: one index per request.
 */
#ifndef FT_HUB_COVERAGE_H
#define FT_HUB_COVERAGE_H

#include "catalog.h"
#include "error.h"
#include "gaps.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct coverage_index_t coverage_index_t;

/* A clip as the gap engine sees it. */
typedef struct {
    const cat_item_t *item; /* the catalog's media item */
    gap_media_t g;          /* points into item (and the checkout it resolved to) */
} coverage_clip_t;

/* Indexes the CAT_MEDIA items among items[0..n). FT_ENOMEM. */
int coverage_index_new(const cat_item_t *items, size_t n, coverage_index_t **out) FT_MUST_CHECK;
void coverage_index_free(coverage_index_t **ix_p);

/* Milliseconds of rec's window (its engine window, rec->link) covered by
 * the clips linked to it (0 for an empty window). FT_ENOMEM is reported
 * as -1. */
int64_t coverage_ms(coverage_index_t *ix, const cat_item_t *rec);

/* What linking reads of a catalog record (its cat_link_t). */
gap_activity_t coverage_activity(const cat_item_t *rec);

/* gaps_clip_covers for a catalog record and a clip: whether the clip links
 * to rec, and (span not NULL) the part of rec's window it covers. */
bool coverage_clip_covers(const cat_item_t *rec, const coverage_clip_t *clip, gap_span_t *span);

/* The clips among items[0..n) linked to at least one activity record of
 * case_id, in catalog order (*out malloc'd, NULL when none; caller frees;
 * they point into items). One pass over the items for the case's
 * activities and the checkouts, then only the clips that can be linked
 * (cited by ID, or overlapping the span of the case's activities) are put
 * to each of them. FT_ENOMEM. */
int coverage_case_clips(const cat_item_t *items, size_t n, const char *case_id,
                        coverage_clip_t **out, size_t *n_out) FT_MUST_CHECK;

#endif
