/* digest_test.c: digest times in local time (the day before, the day
 * after) and what a digest holds per unit: open alerts from the alert view
 * of a real hub log (counts by severity and article, the longest open
 * first), the events of a hub-log range, the hook's filter, and units named
 * by the filter with nothing to say. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "digest.h"
#include "devlog.h"
#include "entry.h"
#include "keys.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 2026-06-01T00:00:00+08:00 */
#define DAY0 1780243200000LL
#define H (3600LL * 1000)

static void slots_are_local_times(void **state)
{
    (void)state;
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    hook_t h = {.mode = HOOK_DIGEST, .n_digest_at = 2, .digest_at = {8 * 60 + 30, 17 * 60 + 30}};
    int64_t m = 60000;
    assert_int_equal(digest_slot_before(&h, DAY0 + 9 * H), DAY0 + 8 * H + 30 * m);
    assert_int_equal(digest_slot_after(&h, DAY0 + 9 * H), DAY0 + 17 * H + 30 * m);
    /* before the first time of the day: yesterday's last, today's first */
    assert_int_equal(digest_slot_before(&h, DAY0 + 7 * H), DAY0 - 24 * H + 17 * H + 30 * m);
    assert_int_equal(digest_slot_after(&h, DAY0 + 7 * H), DAY0 + 8 * H + 30 * m);
    /* exactly at a time: that one is due, the next is later */
    assert_int_equal(digest_slot_before(&h, DAY0 + 8 * H + 30 * m), DAY0 + 8 * H + 30 * m);
    assert_int_equal(digest_slot_after(&h, DAY0 + 17 * H + 30 * m), DAY0 + 24 * H + 8 * H + 30 * m);
    hook_t none = {0};
    assert_int_equal(digest_slot_before(&none, DAY0), 0);
    assert_int_equal(digest_slot_after(&none, DAY0), 0);
}

static char dir[512];

/* batching: append_event keeps the events, flush_batch logs them as one
 * AlertEvents entry (as the gap engine does since issue 20). */
static bool batching;
static Ft__AlertEvent pend_ev[8];
static Ft__AlertEvent *pend[8];
static size_t n_pend;

static void flush_batch(devlog_t *log)
{
    Ft__AlertEvents batch = FT__ALERT_EVENTS__INIT;
    batch.n_events = n_pend;
    batch.events = pend;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_ALERTS;
    body.alerts = &batch;
    assert_int_equal(devlog_append1(log, &body, NULL), FT_OK);
    for (size_t i = 0; i < n_pend; i++) {
        free(pend_ev[i].alert_id);
        free(pend_ev[i].state);
        free(pend_ev[i].case_id);
        free(pend_ev[i].detail_json);
    }
    n_pend = 0;
}

static void append_event(devlog_t *log, const char *id, const char *state, const char *unit,
                         const char *sev, const char *article, const char *case_id, int64_t opened)
{
    json_t *ev =
        json_pack("{s:i, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:I}}", "event", 1,
                  "alert_id", id, "state", state, "at", "2026-06-01T00:00:00Z", "alert", "id", id,
                  "rule", "5", "article", article, "severity", sev, "case", case_id, "unit", unit,
                  "officers", "ZF-1", "opened_at_ms", (json_int_t)opened);
    char *text = json_dumps(ev, JSON_COMPACT);
    if (batching) {
        assert_true(n_pend < 8);
        Ft__AlertEvent *p = &pend_ev[n_pend];
        ft__alert_event__init(p);
        p->alert_id = strdup(id);
        p->rule = "5";
        p->state = strdup(state);
        p->case_id = strdup(case_id);
        p->detail_json = text;
        pend[n_pend++] = p;
        json_decref(ev);
        return;
    }
    Ft__AlertEvent ae = FT__ALERT_EVENT__INIT;
    ae.alert_id = (char *)id;
    ae.rule = "5";
    ae.state = (char *)state;
    ae.case_id = (char *)case_id;
    ae.detail_json = text;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_ALERT;
    body.alert = &ae;
    assert_int_equal(devlog_append1(log, &body, NULL), FT_OK);
    free(text);
    json_decref(ev);
}

static int feed(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    entry_view_t v;
    assert_int_equal(entry_open(raw, len, &v), FT_OK);
    json_t *changed = NULL;
    (void)alertview_feed(ctx, NULL, seq, v.entry, &changed);
    json_decref(changed);
    entry_view_free(&v);
    return 0;
}

/* The digests of one hub log whose events are 1-3 before the previous
 * digest and 4-7 after it: one entry each (the form before batches; prev 3,
 * last 7), or two AlertEvents entries (prev 1, last 2). The same digests. */
static void digests_of_a_log(bool batched)
{
    batching = batched;
    const uint64_t prev = batched ? 1 : 3, last = batched ? 2 : 7;
    testutil_tmpdir(dir, sizeof dir, "digest");
    char ldir[600];
    snprintf(ldir, sizeof ldir, "%s/hublog", dir);
    keys_t k;
    assert_int_equal(keys_generate(&k, false), FT_OK);
    devlog_t *log = NULL;
    assert_int_equal(devlog_open(ldir, &k, NULL, &log), FT_OK);
    /* entries 1-3 before the previous digest, 4-7 after it */
    append_event(log, "a1", "open", "U1", "medium", "8", "C1", DAY0 - 48 * H);
    append_event(log, "a2", "open", "U1", "high", "9", "C2", DAY0 - 72 * H);
    append_event(log, "b1", "open", "U2", "medium", "8", "C3", DAY0 - 24 * H);
    if (batched) {
        flush_batch(log);
    }
    append_event(log, "a3", "open", "U1", "medium", "8", "C4", DAY0 - 1 * H);
    append_event(log, "a2", "resolved", "U1", "high", "9", "C2", DAY0 - 72 * H);
    append_event(log, "a4", "open", "U1", "critical", "13(2)", "C5", DAY0 - 2 * H);
    append_event(log, "a4", "justified", "U1", "critical", "13(2)", "C5", DAY0 - 2 * H);
    if (batched) {
        flush_batch(log);
    }
    uint64_t head = 0;
    assert_int_equal(devlog_head(log, &head, NULL), FT_OK);
    assert_int_equal(head, last);
    alertview_t *view = NULL;
    assert_int_equal(alertview_new(&view), FT_OK);
    assert_true(devlog_iter(log, 1, 0, feed, view) >= 0);

    hook_t h = {.mode = HOOK_DIGEST};
    digest_set_t s;
    assert_int_equal(digest_collect(view, log, &h, prev, last, DAY0, DAY0 - 24 * H, &s), FT_OK);
    assert_int_equal(s.n, 2);
    const digest_unit_t *u1 = digest_find(&s, "U1"), *u2 = digest_find(&s, "U2");
    assert_non_null(u1);
    assert_non_null(u2);
    /* U1: a1 and a3 open (a2 resolved, a4 justified) */
    assert_int_equal(u1->open_total, 2);
    assert_int_equal(u1->open_sev[1], 2);
    assert_int_equal(json_integer_value(json_object_get(u1->open_by_article, "8")), 2);
    assert_int_equal(json_array_size(u1->oldest), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(u1->oldest, 0), "id")),
                        "a1"); /* the longest open first */
    /* since the previous digest (events 4-7): a3, a4 opened, a2 resolved, a4 justified */
    assert_int_equal(u1->opened, 2);
    assert_int_equal(u1->resolved, 1);
    assert_int_equal(u1->justified, 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(u1->opened_list, 0), "id")), "a4");
    assert_int_equal(u1->at_ms, DAY0);
    assert_int_equal(u1->since_ms, DAY0 - 24 * H);
    /* U2: its own alert only, nothing since */
    assert_int_equal(u2->open_total, 1);
    assert_int_equal(u2->opened, 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(u2->oldest, 0), "id")),
                        "b1");
    digest_set_free(&s);

    /* a filter: units U2 and U3 (U3 gets a digest saying nothing is open) */
    assert_true(route_list_add(h.filter.units, sizeof h.filter.units, "U2"));
    assert_true(route_list_add(h.filter.units, sizeof h.filter.units, "U3"));
    assert_int_equal(digest_collect(view, log, &h, 0, last, DAY0, 0, &s), FT_OK);
    assert_int_equal(s.n, 2);
    assert_null(digest_find(&s, "U1"));
    assert_int_equal(digest_find(&s, "U2")->open_total, 1);
    assert_int_equal(digest_find(&s, "U2")->opened, 1);
    assert_int_equal(digest_find(&s, "U3")->open_total, 0);
    digest_set_free(&s);

    /* severities high and critical: U1's a2 and a4 events, no open alert */
    hook_t hs = {.mode = HOOK_DIGEST};
    hs.filter.severities = ROUTE_SEV_HIGH | ROUTE_SEV_CRITICAL;
    assert_int_equal(digest_collect(view, log, &hs, 0, last, DAY0, 0, &s), FT_OK);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.u[0].open_total, 0);
    assert_int_equal(s.u[0].opened, 2);
    assert_int_equal(s.u[0].resolved, 1);
    digest_set_free(&s);

    alertview_destroy(&view);
    devlog_destroy(&log);
    testutil_rmrf(dir);
}

static void units_counts_ranges_and_filters(void **state)
{
    (void)state;
    digests_of_a_log(false);
}

static void the_same_digests_from_batch_entries(void **state)
{
    (void)state;
    digests_of_a_log(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slots_are_local_times),
        cmocka_unit_test(units_counts_ranges_and_filters),
        cmocka_unit_test(the_same_digests_from_batch_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
