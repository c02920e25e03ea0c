/* coverage.h: how much of each activity's window media covers, for many
 * activities at once (the compliance report, hub/web/api/api_reports.c).
 *
 * Windows are half-open, [start, end), and "overlaps" and "covers" are those
 * of common/window.h, the same the gap rules use (hub/gaps/gaps.c): a clip
 * that only touches an activity's window neither links to it nor covers it.
 * A clip counts for an activity record when it is linked to it and overlaps
 * its window. Linked: the record cites the clip's media ID, or the two share
 * an officer, or they share a recorder (tokens of the catalog's ", "-joined
 * lists, compared whole: "o1" is not "o10"). The covered time is the union of
 * the overlaps, so clips that overlap each other count once.
 *
 * coverage_index_new files every clip under each of its keys (media ID,
 * officers, recorders), sorted by start: O(P log P) for P keys over all
 * clips. A query reads, for each key of the record, only the clips that can
 * overlap its window: those starting in [window start - the longest clip
 * under that key, window end). Before, each activity scanned every clip,
 * O(activities x clips) per report (bench/coverage_bench.c compares both).
 *
 * The index points into the items; it is valid while they are (for the
 * catalog: until catalog_done). Not thread-safe: one index per request.
 */
#ifndef FT_HUB_COVERAGE_H
#define FT_HUB_COVERAGE_H

#include "catalog.h"
#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct coverage_index_t coverage_index_t;

/* Indexes the CAT_MEDIA items among items[0..n). FT_ENOMEM. */
int coverage_index_new(const cat_item_t *items, size_t n, coverage_index_t **out) FT_MUST_CHECK;
void coverage_index_free(coverage_index_t **ix_p);

/* Milliseconds of rec's window [start_ms, end_ms) covered by linked clips
 * (0 for an empty window). FT_ENOMEM is reported as -1. */
int64_t coverage_ms(coverage_index_t *ix, const cat_item_t *rec);

/* Whether clip m is linked to activity record rec, for one pair: rec cites
 * m's media ID (whatever their times), or they share an officer or a
 * recorder and m overlaps rec's window. */
bool coverage_links(const cat_item_t *rec, const cat_item_t *m);

/* The clips among items[0..n) linked to at least one activity record of
 * case_id, in catalog order (*out: pointers into items, malloc'd, NULL when
 * none; caller frees). One pass over the items, then only the clips that can
 * be linked (cited by ID, or overlapping the span of the case's activities)
 * are compared with each of them: a case view no longer compares every clip
 * with every item. FT_ENOMEM. */
int coverage_case_clips(const cat_item_t *items, size_t n, const char *case_id,
                        const cat_item_t ***out, size_t *n_out) FT_MUST_CHECK;

#endif
