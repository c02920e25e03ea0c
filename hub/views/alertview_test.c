/* alertview_test.c: the dashboard's alert view fed hub-log entries as the
 * gap engine and the dashboard write them: an alert opens, resolves and
 * opens again; a justification record closes it once (the first counts),
 * also one that came before the alert; the engine's own report of that
 * justification is no second step; later engine events are history only;
 * an integrity alert never resolves; text that is not UTF-8 is shown
 * escaped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "alertview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1780243200000LL

typedef struct {
    alertview_t *v;
    uint64_t seq;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_int_equal(alertview_new(&fx->v), FT_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    alertview_destroy(&fx->v);
    alertview_destroy(&fx->v); /* twice is safe */
    free(fx);
    return 0;
}

/* Feeds one body as the next hub-log entry at T0 + seq minutes; returns
 * whether it changed an alert. */
static bool feed(fx_t *fx, Ft__Body *body)
{
    Ft__Entry e = FT__ENTRY__INIT;
    fx->seq++;
    e.hlc = (uint64_t)(T0 + (int64_t)fx->seq * 60000) << 16;
    e.body = body;
    json_t *changed = NULL;
    bool did = alertview_feed(fx->v, NULL, fx->seq, &e, &changed);
    assert_int_equal(did, changed != NULL);
    json_decref(changed);
    return did;
}

/* An AlertEvent as the engine appends one (detail_json: its event). */
static bool alert_event(fx_t *fx, const char *id, const char *state, const char *kind)
{
    char detail[512];
    snprintf(detail, sizeof detail,
             "{\"event\":1,\"state\":\"%s\",\"why\":\"because %s\",\"alert\":{\"id\":\"%s\","
             "\"rule\":\"1\",\"kind\":\"%s\",\"article\":\"13\",\"severity\":\"high\","
             "\"case\":\"C-1\",\"unit\":\"u1\",\"detail\":\"d\"}}",
             state, state, id, kind);
    Ft__AlertEvent ae = FT__ALERT_EVENT__INIT;
    ae.alert_id = (char *)id;
    ae.rule = "1";
    ae.state = (char *)state;
    ae.case_id = "C-1";
    ae.detail_json = detail;
    Ft__Body b = FT__BODY__INIT;
    b.kind_case = FT__BODY__KIND_ALERT;
    b.alert = &ae;
    return feed(fx, &b);
}

/* A justification record as the dashboard signs one into the hub log. */
static bool justification(fx_t *fx, const char *id, const char *user, const char *reason)
{
    Ft__FieldValue fa = FT__FIELD_VALUE__INIT, fr = FT__FIELD_VALUE__INIT;
    fa.key = "alert";
    fa.value_case = FT__FIELD_VALUE__VALUE_TEXT;
    fa.text = (char *)id;
    fr.key = "reason";
    fr.value_case = FT__FIELD_VALUE__VALUE_TEXT;
    fr.text = (char *)reason;
    Ft__FieldValue *fields[] = {&fa, &fr};
    char *officers[] = {(char *)user};
    Ft__Record r = FT__RECORD__INIT;
    r.type = FT__RECORD_TYPE__JUSTIFICATION;
    r.id = "justification-x";
    r.n_fields = 2;
    r.fields = fields;
    r.n_officers = 1;
    r.officers = officers;
    Ft__Body b = FT__BODY__INIT;
    b.kind_case = FT__BODY__KIND_RECORD;
    b.record = &r;
    return feed(fx, &b);
}

static json_t *get(fx_t *fx, const char *id)
{
    json_t *a = alertview_get(fx->v, id);
    assert_non_null(a);
    return a;
}

/* The alert's state and its history's states joined by ','. */
static void expect(fx_t *fx, const char *id, const char *state, const char *history)
{
    json_t *a = get(fx, id);
    assert_string_equal(json_string_value(json_object_get(a, "state")), state);
    char buf[256] = "";
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(a, "history"), i, h)
    {
        if (i) {
            strcat(buf, ",");
        }
        strcat(buf, json_string_value(json_object_get(h, "state")));
    }
    assert_string_equal(buf, history);
    json_decref(a);
}

static void count_one(void *ctx, const json_t *a)
{
    (void)a;
    (*(int *)ctx)++;
}

static int count(fx_t *fx, bool open_only)
{
    int n = 0;
    alertview_each(fx->v, open_only, count_one, &n);
    return n;
}

static void opens_resolves_and_opens_again(void **state)
{
    fx_t *fx = *state;
    assert_true(alert_event(fx, "a1", "open", "coverage"));
    expect(fx, "a1", "open", "open");
    json_t *a = get(fx, "a1");
    assert_string_equal(json_string_value(json_object_get(a, "article")), "13");
    assert_string_equal(json_string_value(json_object_get(a, "unit")), "u1");
    assert_string_equal(json_string_value(json_object_get(a, "why")), "because open");
    assert_int_equal(json_integer_value(json_object_get(a, "opened_ms")), T0 + 60000);
    json_decref(a);
    assert_int_equal(count(fx, true), 1);
    assert_true(alert_event(fx, "a1", "resolved", "coverage"));
    expect(fx, "a1", "resolved", "open,resolved");
    assert_int_equal(count(fx, true), 0);
    assert_int_equal(count(fx, false), 1);
    assert_true(alert_event(fx, "a1", "open", "coverage"));
    expect(fx, "a1", "open", "open,resolved,open");
    /* entries of other kinds change nothing */
    Ft__Body b = FT__BODY__INIT;
    b.kind_case = FT__BODY__KIND_AUDIT;
    Ft__AuditEvent au = FT__AUDIT_EVENT__INIT;
    b.audit = &au;
    assert_false(feed(fx, &b));
    assert_null(alertview_get(fx->v, "nope"));
}

static void a_justification_closes_it_once(void **state)
{
    fx_t *fx = *state;
    assert_true(alert_event(fx, "a1", "open", "coverage"));
    assert_true(justification(fx, "a1", "sup", "the form was filed on paper"));
    expect(fx, "a1", "justified", "open,justified");
    json_t *a = get(fx, "a1");
    json_t *j = json_object_get(a, "justification");
    assert_string_equal(json_string_value(json_object_get(j, "by")), "sup");
    assert_string_equal(json_string_value(json_object_get(j, "reason")),
                        "the form was filed on paper");
    json_decref(a);
    /* a second justification changes nothing: the first counts */
    assert_false(justification(fx, "a1", "other", "a second reason"));
    a = get(fx, "a1");
    j = json_object_get(a, "justification");
    assert_string_equal(json_string_value(json_object_get(j, "by")), "sup");
    json_decref(a);
    /* the engine reports the justification: no second step */
    assert_true(alert_event(fx, "a1", "justified", "coverage"));
    expect(fx, "a1", "justified", "open,justified");
    /* later engine events are history only: justified is final */
    assert_true(alert_event(fx, "a1", "resolved", "coverage"));
    assert_true(alert_event(fx, "a1", "open", "coverage"));
    expect(fx, "a1", "justified", "open,justified,resolved,open");
    assert_int_equal(count(fx, true), 0);
}

static void a_justification_before_the_alert_is_held(void **state)
{
    fx_t *fx = *state;
    assert_false(justification(fx, "a2", "sup", "first reason"));
    assert_false(justification(fx, "a2", "boss", "second reason")); /* the first counts */
    assert_null(alertview_get(fx->v, "a2"));
    assert_true(alert_event(fx, "a2", "open", "coverage"));
    expect(fx, "a2", "justified", "open,justified");
    json_t *a = get(fx, "a2");
    json_t *j = json_object_get(a, "justification");
    assert_string_equal(json_string_value(json_object_get(j, "reason")), "first reason");
    json_decref(a);
    /* the engine's justified and a raise later: still one justification */
    assert_true(alert_event(fx, "a2", "justified", "coverage"));
    expect(fx, "a2", "justified", "open,justified");
}

static void the_engine_justifies_a_resolved_alert(void **state)
{
    fx_t *fx = *state;
    assert_true(alert_event(fx, "a3", "open", "followed_by"));
    assert_true(alert_event(fx, "a3", "resolved", "followed_by"));
    /* a justification from a device's log: only the engine's event says it */
    assert_true(alert_event(fx, "a3", "justified", "followed_by"));
    expect(fx, "a3", "justified", "open,resolved,justified");
    /* and a justification record entered later changes nothing */
    assert_false(justification(fx, "a3", "sup", "late"));
    expect(fx, "a3", "justified", "open,resolved,justified");
}

static void integrity_alerts_never_resolve(void **state)
{
    fx_t *fx = *state;
    assert_true(alert_event(fx, "i1", "open", "integrity"));
    assert_true(alert_event(fx, "i1", "resolved", "integrity"));
    expect(fx, "i1", "open", "open,resolved");
    assert_int_equal(count(fx, true), 1);
    /* they may be justified */
    assert_true(justification(fx, "i1", "sup", "known test device"));
    expect(fx, "i1", "justified", "open,resolved,justified");
}

/* One AlertEvents entry (an evaluation batch) is its events in order, each
 * a step of its alert's history at the entry's seq; `changed` holds the
 * alerts as each change left them, in order, one per event. */
static void a_batch_entry_is_each_of_its_events_in_order(void **state)
{
    fx_t *fx = *state;
    const char *ids[4] = {"b1", "b2", "b1", "b3"};
    const char *states[4] = {"open", "open", "resolved", "open"};
    char detail[4][512];
    Ft__AlertEvent ae[4];
    Ft__AlertEvent *ptr[4];
    for (int i = 0; i < 4; i++) {
        snprintf(detail[i], sizeof detail[i],
                 "{\"event\":%d,\"state\":\"%s\",\"why\":\"w\",\"alert\":{\"id\":\"%s\","
                 "\"rule\":\"1\",\"kind\":\"coverage\",\"article\":\"13\","
                 "\"severity\":\"high\",\"case\":\"C-1\",\"unit\":\"u1\",\"detail\":\"d\"}}",
                 i + 1, states[i], ids[i]);
        ft__alert_event__init(&ae[i]);
        ae[i].alert_id = (char *)ids[i];
        ae[i].rule = "1";
        ae[i].state = (char *)states[i];
        ae[i].case_id = "C-1";
        ae[i].detail_json = detail[i];
        ptr[i] = &ae[i];
    }
    Ft__AlertEvents batch = FT__ALERT_EVENTS__INIT;
    batch.n_events = 4;
    batch.events = ptr;
    Ft__Body b = FT__BODY__INIT;
    b.kind_case = FT__BODY__KIND_ALERTS;
    b.alerts = &batch;
    Ft__Entry e = FT__ENTRY__INIT;
    e.hlc = (uint64_t)(T0 + 60000) << 16;
    e.body = &b;
    json_t *changed = NULL;
    assert_true(alertview_feed(fx->v, NULL, 7, &e, &changed));
    assert_int_equal(json_array_size(changed), 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *a = json_array_get(changed, i);
        assert_string_equal(json_string_value(json_object_get(a, "id")), ids[i]);
        assert_string_equal(json_string_value(json_object_get(a, "state")), states[i]);
    }
    json_decref(changed);
    expect(fx, "b1", "resolved", "open,resolved");
    expect(fx, "b2", "open", "open");
    expect(fx, "b3", "open", "open");
    json_t *a = get(fx, "b1");
    json_t *h;
    size_t i;
    json_array_foreach(json_object_get(a, "history"), i, h)
    {
        assert_int_equal(json_integer_value(json_object_get(h, "seq")), 7);
    }
    json_decref(a);
    assert_int_equal(count(fx, true), 2);
    /* an empty batch changes nothing */
    batch.n_events = 0;
    changed = NULL;
    assert_false(alertview_feed(fx->v, NULL, 8, &e, &changed));
    assert_null(changed);
}

static void text_that_is_not_utf8_is_shown_escaped(void **state)
{
    fx_t *fx = *state;
    Ft__AlertEvent ae = FT__ALERT_EVENT__INIT;
    ae.alert_id = "bad\xE4";
    ae.rule = "1";
    ae.state = "open";
    ae.case_id = "C-\xFF";
    Ft__Body b = FT__BODY__INIT;
    b.kind_case = FT__BODY__KIND_ALERT;
    b.alert = &ae;
    assert_true(feed(fx, &b));
    json_t *a = get(fx, "bad\\xE4");
    assert_string_equal(json_string_value(json_object_get(a, "id")), "bad\\xE4");
    assert_string_equal(json_string_value(json_object_get(a, "case")), "C-\\xFF");
    json_decref(a);
    assert_true(justification(fx, "bad\xE4", "sup", "ok"));
    expect(fx, "bad\\xE4", "justified", "open,justified");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(opens_resolves_and_opens_again, setup, teardown),
        cmocka_unit_test_setup_teardown(a_justification_closes_it_once, setup, teardown),
        cmocka_unit_test_setup_teardown(a_justification_before_the_alert_is_held, setup, teardown),
        cmocka_unit_test_setup_teardown(the_engine_justifies_a_resolved_alert, setup, teardown),
        cmocka_unit_test_setup_teardown(integrity_alerts_never_resolve, setup, teardown),
        cmocka_unit_test_setup_teardown(text_that_is_not_utf8_is_shown_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(a_batch_entry_is_each_of_its_events_in_order, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
