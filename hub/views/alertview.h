/* alertview.h: gap alerts as the hub's own log tells them: what the
 * dashboard's alert pages, case timelines, compliance and /metrics show.
 *
 * The view is built from the hub log, the record of what happened at the
 * hub, not from the gap engine's internal tables (docs/api.md "Alerts"):
 *   - an alert event (alert_id, rule, state, case_id, detail_json: the
 *     engine's event with the alert row, docs/alerts.md), of an AlertEvent
 *     entry or in order of an AlertEvents entry (one evaluation batch,
 *     common/entry.h), is one step of the alert's history, and the fields
 *     of its row are taken from it;
 *   - a `justification` record (fields alert, reason; signed by the hub when
 *     a supervisor entered it at the dashboard) justifies the alert it
 *     names, or is held until that alert opens.
 * What each of them does to the alert's state is alert_transition's
 * (hub/gaps/alertstate.h), the same function the gap engine asks: the first
 * justification counts, justified is final (later engine events are kept in
 * the history only), integrity alerts never resolve. History is never
 * rewritten; the view is rebuilt from the log at start and fed every new
 * entry (the web server's watcher, hub/web/http.c).
 *
 * An alert as the view keeps it: the engine's row (id, rule, kind, article
 * as text, severity, case, unit, subject, records, message_zh, message_en,
 * detail, why, ...) plus state, opened_at/_ms, changed_at/_ms, history
 * [{state, at, at_ms, seq, by?, reason?}] and justification.
 *
 * Threads: one mutex. Feeding reads the catalog (the unit of a case) before
 * taking it, and nothing else is taken under it: a reader may hold the
 * catalog's read lock around alertview_each (lock order: catalog, view).
 */
#ifndef FT_HUB_ALERTVIEW_H
#define FT_HUB_ALERTVIEW_H

#include "catalog.h"
#include "entry.pb-c.h"
#include "error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct alertview_t alertview_t;

int alertview_new(alertview_t **out) FT_MUST_CHECK;
/* Frees; NULLs *v_p; safe on NULL. */
void alertview_destroy(alertview_t **v_p);

/* Feeds hub-log entry seq (e, decoded): an AlertEvent, each event of an
 * AlertEvents batch in order (common/entry.h), or a justification. The
 * catalog (may be NULL) names the unit of a case for alerts that name none.
 * True if it changed an alert; then *changed is an array of copies of the
 * alerts it changed as each was right after its change, in order (caller
 * decrefs; NULL out of memory). Entries of other kinds change nothing. */
bool alertview_feed(alertview_t *v, catalog_t *cat, uint64_t seq, const Ft__Entry *e,
                    json_t **changed);

/* Visits every alert (open_only: those open now), in no set order; the
 * alert is borrowed and valid during the call only; fn must not call into
 * the view. */
typedef void (*alertview_fn)(void *ctx, const json_t *alert);
void alertview_each(alertview_t *v, bool open_only, alertview_fn fn, void *ctx);
/* A copy of one alert with its history (caller decrefs), or NULL. */
json_t *alertview_get(alertview_t *v, const char *id);

/* The unit of a case as its records say (the first record with a unit), or
 * "" (borrowed from the catalog: call under catalog_read). */
const char *alertview_case_unit(const catalog_t *c, const char *case_id);

#endif
