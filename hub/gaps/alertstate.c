/* alertstate.c: the alert state machine (see alertstate.h for the table).
 *
 * One switch over (event, state); nothing else decides what an alert
 * becomes. */
#include "alertstate.h"
#include "rules.h"

#include <string.h>

alert_step alert_transition(alert_state from, alert_event ev, const alert_facts_t *facts,
                            alert_state *next)
{
    static const alert_facts_t none = {0};
    const alert_facts_t *f = facts ? facts : &none;
    *next = from;
    if (from == ALERT_JUSTIFIED) {
        return ALERT_STAY; /* final */
    }
    switch (ev) {
    case ALERT_RAISED:
        if (from == ALERT_OPEN) {
            return ALERT_STAY;
        }
        *next = ALERT_OPEN; /* new, or raised again */
        return ALERT_MOVE;
    case ALERT_GONE:
        if (from != ALERT_OPEN || f->integrity) {
            return ALERT_STAY; /* integrity alerts stay open: evidence stays */
        }
        *next = ALERT_RESOLVED;
        return ALERT_MOVE;
    case ALERT_JUSTIFY:
        if (f->earlier_justification) {
            return ALERT_STAY; /* the first justification counts */
        }
        if (from == ALERT_NONE) {
            return ALERT_HOLD;
        }
        *next = ALERT_JUSTIFIED;
        return ALERT_MOVE;
    }
    return ALERT_STAY;
}

static const char *const names[] = {"", "open", "resolved", "justified"};

const char *alert_state_name(alert_state s)
{
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "";
}

alert_state alert_state_parse(const char *name)
{
    for (unsigned i = ALERT_OPEN; name && i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            return (alert_state)i;
        }
    }
    return ALERT_NONE;
}

alert_event alert_event_of_state(const char *name)
{
    switch (alert_state_parse(name)) {
    case ALERT_RESOLVED:
        return ALERT_GONE;
    case ALERT_JUSTIFIED:
        return ALERT_JUSTIFY;
    default:
        return ALERT_RAISED;
    }
}

alert_state alert_row_state(const json_t *row)
{
    return alert_state_parse(json_string_value(json_object_get(row, "state")));
}

alert_facts_t alert_row_facts(const json_t *row, bool earlier_justification)
{
    const char *kind = json_string_value(json_object_get(row, "kind"));
    return (alert_facts_t){
        .integrity = kind && strcmp(kind, rule_kind_name(RULE_INTEGRITY)) == 0,
        .earlier_justification = earlier_justification,
    };
}
