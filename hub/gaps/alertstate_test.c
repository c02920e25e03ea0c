/* alertstate_test.c: the alert state machine, every (state, event) pair and
 * its two rules: the first justification counts, integrity alerts never
 * resolve. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "alertstate.h"

static const alert_facts_t plain = {.integrity = false, .earlier_justification = false};
static const alert_facts_t integrity = {.integrity = true, .earlier_justification = false};
static const alert_facts_t held = {.integrity = false, .earlier_justification = true};

/* Asserts that ev from `from` makes `step` and ends in `to`. */
static void check(alert_state from, alert_event ev, const alert_facts_t *f, alert_step step,
                  alert_state to)
{
    alert_state next = (alert_state)-1;
    assert_int_equal(alert_transition(from, ev, f, &next), step);
    assert_int_equal(next, to);
}

static void the_table(void **state)
{
    (void)state;
    /* raised */
    check(ALERT_NONE, ALERT_RAISED, &plain, ALERT_MOVE, ALERT_OPEN);
    check(ALERT_OPEN, ALERT_RAISED, &plain, ALERT_STAY, ALERT_OPEN);
    check(ALERT_RESOLVED, ALERT_RAISED, &plain, ALERT_MOVE, ALERT_OPEN);
    check(ALERT_JUSTIFIED, ALERT_RAISED, &plain, ALERT_STAY, ALERT_JUSTIFIED);
    /* no longer raised */
    check(ALERT_NONE, ALERT_GONE, &plain, ALERT_STAY, ALERT_NONE);
    check(ALERT_OPEN, ALERT_GONE, &plain, ALERT_MOVE, ALERT_RESOLVED);
    check(ALERT_RESOLVED, ALERT_GONE, &plain, ALERT_STAY, ALERT_RESOLVED);
    check(ALERT_JUSTIFIED, ALERT_GONE, &plain, ALERT_STAY, ALERT_JUSTIFIED);
    /* a justification */
    check(ALERT_NONE, ALERT_JUSTIFY, &plain, ALERT_HOLD, ALERT_NONE);
    check(ALERT_OPEN, ALERT_JUSTIFY, &plain, ALERT_MOVE, ALERT_JUSTIFIED);
    check(ALERT_RESOLVED, ALERT_JUSTIFY, &plain, ALERT_MOVE, ALERT_JUSTIFIED);
    check(ALERT_JUSTIFIED, ALERT_JUSTIFY, &plain, ALERT_STAY, ALERT_JUSTIFIED);
    /* NULL facts are plain facts */
    check(ALERT_OPEN, ALERT_GONE, NULL, ALERT_MOVE, ALERT_RESOLVED);
    check(ALERT_NONE, ALERT_JUSTIFY, NULL, ALERT_HOLD, ALERT_NONE);
}

static void the_first_justification_counts(void **state)
{
    (void)state;
    /* one held for an alert not raised yet: a second one is not kept */
    check(ALERT_NONE, ALERT_JUSTIFY, &held, ALERT_STAY, ALERT_NONE);
    /* one applied already */
    check(ALERT_OPEN, ALERT_JUSTIFY, &held, ALERT_STAY, ALERT_OPEN);
    check(ALERT_RESOLVED, ALERT_JUSTIFY, &held, ALERT_STAY, ALERT_RESOLVED);
    /* the held one itself, applied when the alert opens */
    alert_state s = ALERT_NONE;
    assert_int_equal(alert_transition(s, ALERT_JUSTIFY, &plain, &s), ALERT_HOLD);
    assert_int_equal(alert_transition(s, ALERT_RAISED, &plain, &s), ALERT_MOVE);
    assert_int_equal(alert_transition(s, ALERT_JUSTIFY, &plain, &s), ALERT_MOVE);
    assert_int_equal(s, ALERT_JUSTIFIED);
    /* a justified alert raised, gone, raised again: still justified */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(alert_transition(s, i % 2 ? ALERT_GONE : ALERT_RAISED, &plain, &s),
                         ALERT_STAY);
    }
    assert_int_equal(s, ALERT_JUSTIFIED);
}

static void integrity_alerts_never_resolve(void **state)
{
    (void)state;
    check(ALERT_NONE, ALERT_RAISED, &integrity, ALERT_MOVE, ALERT_OPEN);
    check(ALERT_OPEN, ALERT_GONE, &integrity, ALERT_STAY, ALERT_OPEN);
    check(ALERT_OPEN, ALERT_RAISED, &integrity, ALERT_STAY, ALERT_OPEN);
    /* they may be justified */
    check(ALERT_OPEN, ALERT_JUSTIFY, &integrity, ALERT_MOVE, ALERT_JUSTIFIED);
    check(ALERT_NONE, ALERT_JUSTIFY, &integrity, ALERT_HOLD, ALERT_NONE);
}

static void names_and_reported_events(void **state)
{
    (void)state;
    for (alert_state s = ALERT_NONE; s <= ALERT_JUSTIFIED; s++) {
        assert_int_equal(alert_state_parse(alert_state_name(s)), s);
    }
    assert_string_equal(alert_state_name(ALERT_NONE), "");
    assert_string_equal(alert_state_name(ALERT_OPEN), "open");
    assert_string_equal(alert_state_name((alert_state)42), "");
    assert_int_equal(alert_state_parse(NULL), ALERT_NONE);
    assert_int_equal(alert_state_parse("Open"), ALERT_NONE);
    assert_int_equal(alert_event_of_state("open"), ALERT_RAISED);
    assert_int_equal(alert_event_of_state("resolved"), ALERT_GONE);
    assert_int_equal(alert_event_of_state("justified"), ALERT_JUSTIFY);
    assert_int_equal(alert_event_of_state(NULL), ALERT_RAISED);
    assert_int_equal(alert_event_of_state("reopened"), ALERT_RAISED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_table),
        cmocka_unit_test(the_first_justification_counts),
        cmocka_unit_test(integrity_alerts_never_resolve),
        cmocka_unit_test(names_and_reported_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
