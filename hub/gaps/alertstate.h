/* alertstate.h: the alert state machine, as one pure transition function.
 *
 * An alert is what the gap rules raise for one subject (gaps.h: its ID is a
 * stable hash of rule, case and subject). What may happen to it, and what it
 * becomes (docs/alerts.md "States"):
 *
 *   from \ event | raised        | no longer raised    | a justification names it
 *   -------------+---------------+---------------------+--------------------------
 *   (none)       | open          | (none): stay        | hold it for when it opens
 *   open         | open: stay    | resolved            | justified
 *   resolved     | open (again)  | resolved: stay      | justified
 *   justified    | justified: stay (final; nothing changes it)
 *
 * and two rules over the table:
 *   - the first justification counts: one that names an alert already
 *     justified, or whose alert already has an earlier one held or applied,
 *     changes nothing;
 *   - an integrity alert is never resolved (evidence of alteration stays);
 *     it may be justified like any other.
 *
 * Pure: no storage, no time, no I/O. Whoever keeps alerts keeps them its own
 * way and asks this function what an event does: the gap engine's alert
 * tables (hub/engine/alerts.c), the dashboard's alert view built from the hub
 * log (hub/views/alertview.c), and the dashboard's justify
 * (hub/web/api/api_alerts.c), which refuses a justification that would
 * change nothing. hub/gaps/alertstate_test.c walks the whole table.
 */
#ifndef FT_ALERTSTATE_H
#define FT_ALERTSTATE_H

#include <jansson.h>
#include <stdbool.h>

typedef enum {
    ALERT_NONE,     /* not raised yet (unknown) */
    ALERT_OPEN,     /* raised, not justified */
    ALERT_RESOLVED, /* raised once, no longer raised */
    ALERT_JUSTIFIED /* a justification closed it (final) */
} alert_state;

typedef enum {
    ALERT_RAISED, /* the rules raise it (now) */
    ALERT_GONE,   /* the rules no longer raise it */
    ALERT_JUSTIFY /* a justification record names it */
} alert_event;

/* What an event does. */
typedef enum {
    ALERT_STAY, /* nothing changes (no event to record) */
    ALERT_MOVE, /* the alert moves to *next (one event to record) */
    ALERT_HOLD  /* a justification of an alert not raised yet: keep it and
                   apply it (ALERT_JUSTIFY) when the alert opens */
} alert_step;

/* What the machine needs to know of the alert beside its state. */
typedef struct {
    bool integrity;             /* raised by the integrity rule */
    bool earlier_justification; /* an earlier justification of it was held or applied */
} alert_facts_t;

/* The step that ev makes from `from`; *next is the state after it (from,
 * unless ALERT_MOVE). facts may be NULL (no integrity, no earlier
 * justification). */
alert_step alert_transition(alert_state from, alert_event ev, const alert_facts_t *facts,
                            alert_state *next);

/* "open", "resolved", "justified"; "" for ALERT_NONE. */
const char *alert_state_name(alert_state s);
/* The state of a name as alert_state_name writes it; ALERT_NONE for NULL or
 * anything else. */
alert_state alert_state_parse(const char *name);
/* The event an alert event's state reports (an AlertEvent of the hub log):
 * "resolved" -> ALERT_GONE, "justified" -> ALERT_JUSTIFY, else ALERT_RAISED. */
alert_event alert_event_of_state(const char *name);

/* For those who keep alerts as the engine's JSON rows (docs/alerts.md: its
 * "state" and its rule's "kind"): the row's state (ALERT_NONE for NULL),
 * and its facts. */
alert_state alert_row_state(const json_t *row);
alert_facts_t alert_row_facts(const json_t *row, bool earlier_justification);

#endif
