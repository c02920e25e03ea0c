/* vehview.h: the vehicle's view of its own log, for its screen: the
 * records, clips, recorders and cases it holds, judged by the gap rules as
 * the hub judges them (hub/gaps/gapinput.h builds the cases exactly as the
 * hub's engine does: the same alerts, with the same IDs, for records and
 * media that are all on this vehicle).
 *
 * The view keeps every readable entry of the log decoded in memory and
 * follows the log: each call first reads the entries appended since
 * (vehview_update), by this process or another (`import`, `record`, the
 * inbox watcher), and forgets entries pruned meanwhile (their text must not
 * outlive their keys, docs/log.md "At rest"). The gap engine's input is
 * rebuilt only when the entries changed. Calls are serialised by the
 * view's own mutex (the server answers each connection on its own thread).
 *
 * Times in the JSON are Unix milliseconds (the screen shows them in the
 * tablet's local time); records are as record_to_json writes them.
 */
#ifndef FT_EDGE_VEHVIEW_H
#define FT_EDGE_VEHVIEW_H

#include "devlog.h"
#include "rules.h"

#include <jansson.h>

typedef struct vehview_t vehview_t;

/* A view of log (borrowed, must outlive it); unit is edge.conf's (may be
 * NULL). FT_OK or FT_ENOMEM. */
int vehview_new(devlog_t *log, const char *unit, vehview_t **out) FT_MUST_CHECK;
void vehview_destroy(vehview_t **v_p);

/* Reads what the log gained (and drops what was pruned) since the last
 * call. FT_OK or the log's error. */
int vehview_update(vehview_t *v) FT_MUST_CHECK;

/* The day [from_ms, to_ms) at now_ms (NULL when memory runs out):
 *   {"recorders": [{recorder, officer, since_ms, checkout_id, checkout_ref,
 *                   battery_pct, free_mb, status_ms, battery_low, storage_low,
 *                   min_battery, min_free_mb, alert}],   checked out now
 *    "activities": [record + coverage],  activities whose window meets the day
 *    "records": [record],                other records of the day
 *    "clips": [clip],                    clips captured in the day
 *    "alerts": [alert],                  what the day's units raise now
 *    "known_recorders": [text]}          every recorder the log names */
json_t *vehview_today(vehview_t *v, const rulepack_t *pack, int64_t from_ms, int64_t to_ms,
                      int64_t now_ms);
/* Cases, the most recently touched first, at most max:
 * [{case, last_ms, records, clips, cause, party}]. */
json_t *vehview_cases(vehview_t *v, size_t max);
/* Clips whose capture meets [from_ms, to_ms) (to_ms 0: no end), newest
 * first: [clip]. A clip: {media_id, ref, seq, recorder, officer,
 * officer_source ("manifest"|"checkout"|null), start_ms, end_ms, case,
 * file_name, kind, size, time_source}. */
json_t *vehview_clips(vehview_t *v, int64_t from_ms, int64_t to_ms);
/* One case at now_ms: {"case", "cause", "party", "records": [record +
 * coverage + missing + alerts], "clips": [clip], "alerts": [alert],
 * "pending": [duty]}; NULL when the log holds nothing of it (*found false)
 * or memory runs out. A record: {ref, seq, type, id, case, time_ms,
 * start_ms, end_ms, activity, record, amended_by}; an alert: {id, rule,
 * kind, article, severity, case, subject, records, record_ids, media_ids,
 * detail, message_zh, message_en, due_ms}. */
json_t *vehview_case(vehview_t *v, const rulepack_t *pack, const char *case_id, int64_t now_ms,
                     bool *found);
/* The record with this `id` (the latest entry holding it), for a
 * correction: {ref, seq, record, amended_by}, or NULL. */
json_t *vehview_record(vehview_t *v, const char *id);
/* What the unit of the entry seq raises at now_ms (its case, or itself when
 * caseless): [alert]; [] for an entry that is no record. */
json_t *vehview_unit_alerts(vehview_t *v, const rulepack_t *pack, uint64_t seq, int64_t now_ms);
/* The officers named by the record with this id ([] if none), for a
 * correction that keeps them. */
json_t *vehview_record_officers(vehview_t *v, const char *id);

#endif
