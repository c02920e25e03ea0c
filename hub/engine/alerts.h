/* alerts.h: alert state and its history.
 *
 * An alert is what the gap engine raised for one subject (gaps.h: its ID is a
 * stable hash of rule, case and subject). Its state machine is
 * alert_transition (hub/gaps/alertstate.h); here it is driven by:
 *
 *   (none)    --raised--------------------> open        alerts_apply
 *   (none)    --raised, already justified-> open, then justified (two events)
 *   open      --no longer raised----------> resolved    alerts_apply
 *                                           (not an integrity alert)
 *   resolved  --raised again--------------> open        alerts_apply
 *   open, resolved --justification record-> justified   alerts_justify
 *   justified: final; a later raise or resolve changes nothing.
 *
 * Every transition is an event appended to `history` (never overwritten);
 * the row in `alerts` is the latest state, kept for listing. The caller also
 * appends the events to the hub's own log (AlertEvents) and hands them to the
 * delivery queue: alerts_apply and alerts_justify return the events they made.
 *
 * Tables (in the index's environment, so an index step and the alert changes
 * it causes commit together):
 *   alerts      alert id (16 hex) -> the alert as JSON (docs/alerts.md)
 *   alert_unit  u16 len | unit | alert id -> ""    alerts raised by each unit
 *   history     event no. (u64) -> the event as JSON
 *   justif      alert id -> the justification (ref, by, reason, at) as JSON
 */
#ifndef FT_HUB_ALERTS_H
#define FT_HUB_ALERTS_H

#include "index.h"

#include <jansson.h>
#include <stdint.h>

typedef struct alerts_t alerts_t;

/* The events one transaction made, in order: each as a JSON object (for the
 * delivery sink) and as its JSON text (compact, keys sorted: the text kept
 * in `history` and carried by the hub log's AlertEvents entry), made once. */
typedef struct {
    json_t *list;  /* array of the event objects */
    char **texts;  /* texts[i]: event i as JSON text */
    size_t n, cap; /* n == json_array_size(list) */
} alert_events_t;

int alert_events_init(alert_events_t *ev) FT_MUST_CHECK;
void alert_events_free(alert_events_t *ev);

/* Opens the alert tables in the index's environment. */
int alerts_open(index_t *idx, alerts_t **out) FT_MUST_CHECK;
void alerts_destroy(alerts_t **a_p);

/* Makes the alerts a unit raises now equal `raised` (JSON objects as made by
 * the engine: id, rule, article, severity, case, ... without state): opens
 * new ones, reopens resolved ones, resolves open ones no longer raised (a
 * new alert's row is made of its object in `raised`, which it changes). The
 * new events are appended to `events`. */
int alerts_apply(alerts_t *a, index_txn_t *t, const index_unit_t *unit, json_t *const *raised,
                 size_t n, int64_t now_ms, alert_events_t *events) FT_MUST_CHECK;
/* A justification record (ref, who made it: its first officer or the
 * dashboard user, may be NULL; its reason) names alert_id: justifies it if
 * it exists and is not justified yet, else remembers it for when it opens. */
int alerts_justify(alerts_t *a, index_txn_t *t, const char *alert_id, const char *ref,
                   const char *by, const char *reason, int64_t now_ms,
                   alert_events_t *events) FT_MUST_CHECK;

/* The alert's current row (new reference), or NULL if unknown. */
json_t *alerts_get(alerts_t *a, index_txn_t *t, const char *alert_id);
/* Visits every alert row (in ID order); non-zero from fn stops. */
typedef int (*alerts_fn)(void *ctx, json_t *alert);
int alerts_iter(alerts_t *a, index_txn_t *t, alerts_fn fn, void *ctx);
/* Visits history events with number > after, in order. */
int alerts_history_iter(alerts_t *a, index_txn_t *t, uint64_t after, alerts_fn fn, void *ctx);
/* Number of the last event (0 if none). */
uint64_t alerts_last_event(alerts_t *a, index_txn_t *t);

#endif
