/* gaps_test.c: every rule kind raises on histories that break it and stays
 * quiet on histories that keep it, with the shipped default pack; windows are
 * half-open at their boundaries (common/window.h: the compliance report's
 * coverage_test checks the same table); and a coverage check that runs out
 * of memory is an error, never a "not covered" alert (malloc is wrapped:
 * -Wl,--wrap=malloc). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gaps.h"
#include "record.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Armed: the next malloc of the code under test fails. */
static bool fail_next_malloc;
void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_malloc(size_t n)
{
    if (fail_next_malloc) {
        fail_next_malloc = false;
        return NULL;
    }
    return __real_malloc(n);
}

#define DAY 86400000LL
#define MIN 60000LL

/* A case under construction. */
typedef struct {
    rulepack_t *pack;
    gap_record_t recs[32];
    Ft__Record *owned[32];
    char refs[32][16];
    size_t n;
    gap_media_t media[16];
    size_t n_media;
} hist_t;

static int setup(void **state)
{
    hist_t *h = calloc(1, sizeof *h);
    char err[512];
    assert_int_equal(rules_parse(rules_default_text, "default", &h->pack, err, sizeof err), FT_OK);
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    hist_t *h = *state;
    for (size_t i = 0; i < h->n; i++) {
        record_free(&h->owned[i]);
    }
    rules_destroy(&h->pack);
    free(h);
    return 0;
}

/* Adds a record from JSON; times come from the record (time, else start). */
static void add(hist_t *h, const char *json)
{
    Ft__Record *rec = NULL;
    char err[256];
    if (record_from_line(json, strlen(json), &rec, err, sizeof err) != FT_OK) {
        fail_msg("bad test record: %s", err);
    }
    size_t i = h->n++;
    h->owned[i] = rec;
    snprintf(h->refs[i], sizeof h->refs[i], "r%zu", i);
    gap_record_t *g = &h->recs[i];
    g->ref = h->refs[i];
    g->rec = rec;
    if (rec->start) {
        g->start_ms = rec->start->unix_ms;
        g->end_ms = rec->end ? rec->end->unix_ms : g->start_ms;
    }
    g->time_ms = rec->time ? rec->time->unix_ms : g->start_ms;
}

static void add_media(hist_t *h, const char *id, const char *officer, int64_t start, int64_t end)
{
    gap_media_t *m = &h->media[h->n_media++];
    m->ref = id;
    m->media_id = id;
    m->officer = officer;
    m->recorder = NULL;
    m->case_id = NULL;
    m->start_ms = start;
    m->end_ms = end;
}

/* Evaluates the case at now; returns the alerts (caller frees). */
static gap_alerts_t eval(hist_t *h, int64_t now)
{
    gap_case_t c = {.case_id = "C1",
                    .records = h->recs,
                    .n_records = h->n,
                    .media = h->media,
                    .n_media = h->n_media};
    gap_alerts_t a = {0};
    assert_int_equal(gaps_eval_case(h->pack, &c, now, &a), FT_OK);
    return a;
}

/* Number of alerts of rule id in a. */
static size_t count(const gap_alerts_t *a, const char *rule)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++) {
        n += strcmp(a->items[i].rule->id, rule) == 0;
    }
    return n;
}

static const gap_alert_t *find(const gap_alerts_t *a, const char *rule)
{
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->items[i].rule->id, rule) == 0) {
            return &a->items[i];
        }
    }
    return NULL;
}

/* 2026-03-02T09:00:00+08:00 */
#define T0 1772413200000LL
#define HEARING                                                                                    \
    "{\"type\":\"hearing\",\"case\":\"C1\",\"officers\":[\"ZF-1\"],\"start\":\"2026-03-02T09:00:"  \
    "00+08:00\",\"end\":\"2026-03-02T10:00:00+08:00\",\"fields\":{\"record_no\":\"H1\"}"

static void hearing_without_media_raises_rule_1_citing_art_13(void **state)
{
    hist_t *h = *state;
    add(h, HEARING "}");
    gap_alerts_t a = eval(h, T0 + DAY);
    const gap_alert_t *x = find(&a, "1");
    assert_non_null(x);
    assert_string_equal(x->article, "13");
    assert_string_equal(x->case_id, "C1");
    assert_non_null(strstr(x->detail, "0%"));
    /* The same specifics as data, for pages in any language. */
    assert_string_equal(x->detail_tpl, "coverage");
    assert_string_equal(x->detail_args, "{\"linked\":0,\"longest_ms\":3600000,\"pct\":0.0,"
                                        "\"type\":\"hearing\",\"window_ms\":3600000}");
    assert_int_equal(a.n, 1);
    gap_alerts_free(&a);
}

static void hearing_fully_covered_by_officers_media_is_quiet(void **state)
{
    hist_t *h = *state;
    add(h, HEARING "}");
    add_media(h, "m1", "ZF-1", T0 - MIN, T0 + 30 * MIN);
    add_media(h, "m2", "ZF-1", T0 + 30 * MIN, T0 + 61 * MIN);
    gap_alerts_t a = eval(h, T0 + DAY);
    assert_int_equal(a.n, 0);
    gap_alerts_free(&a);
}

static void hearing_with_a_two_minute_hole_raises_rule_1(void **state)
{
    hist_t *h = *state;
    add(h, HEARING "}");
    add_media(h, "m1", "ZF-1", T0, T0 + 30 * MIN);
    add_media(h, "m2", "ZF-1", T0 + 32 * MIN, T0 + 60 * MIN);
    gap_alerts_t a = eval(h, T0 + DAY);
    assert_int_equal(count(&a, "1"), 1); /* 96.7% covered, but a 120 s stretch */
    gap_alerts_free(&a);
}

static void media_of_another_officer_does_not_cover(void **state)
{
    hist_t *h = *state;
    add(h, HEARING "}");
    add_media(h, "m1", "ZF-9", T0, T0 + 60 * MIN);
    gap_alerts_t a = eval(h, T0 + DAY);
    assert_int_equal(count(&a, "1"), 1);
    gap_alerts_free(&a);
}

static void explicitly_cited_media_covers_whoever_recorded_it(void **state)
{
    hist_t *h = *state;
    add(h, HEARING ",\"media\":[\"m1\"]}");
    add_media(h, "m1", "ZF-9", T0, T0 + 60 * MIN);
    gap_alerts_t a = eval(h, T0 + DAY);
    assert_int_equal(a.n, 0);
    gap_alerts_free(&a);
}

static void media_unsuitable_silences_coverage(void **state)
{
    hist_t *h = *state;
    add(h, HEARING ",\"media_unsuitable\":\"涉及国家秘密\"}");
    gap_alerts_t a = eval(h, T0 + DAY);
    assert_int_equal(a.n, 0);
    gap_alerts_free(&a);
}

static void patrol_needs_80_percent_under_art_11(void **state)
{
    hist_t *h = *state;
    add(h, "{\"type\":\"patrol\",\"officers\":[\"ZF-1\"],\"start\":\"2026-03-02T09:00:00+08:00\","
           "\"end\":\"2026-03-02T10:00:00+08:00\"}");
    add_media(h, "m1", "ZF-1", T0, T0 + 45 * MIN);
    gap_alerts_t a = eval(h, T0 + DAY);
    assert_int_equal(count(&a, "3"), 1);
    assert_string_equal(find(&a, "3")->article, "11");
    gap_alerts_free(&a);
    add_media(h, "m2", "ZF-1", T0 + 45 * MIN, T0 + 50 * MIN);
    a = eval(h, T0 + DAY);
    assert_int_equal(a.n, 0);
    gap_alerts_free(&a);
}

static void public_notice_needs_one_media_item(void **state)
{
    hist_t *h = *state;
    add(h, "{\"type\":\"service_public_notice\",\"case\":\"C1\",\"officers\":[\"ZF-1\"],"
           "\"start\":\"2026-03-02T09:00:00+08:00\",\"end\":\"2026-03-02T09:05:00+08:00\","
           "\"fields\":{\"document\":\"D\",\"failed_methods\":[\"direct\"],\"medium\":\"board\"}}");
    gap_alerts_t a = eval(h, T0 + DAY);
    assert_int_equal(count(&a, "2"), 1);
    assert_string_equal(find(&a, "2")->article, "19");
    gap_alerts_free(&a);
    add_media(h, "photo", "ZF-1", T0 + 2 * MIN, T0 + 2 * MIN);
    a = eval(h, T0 + DAY);
    assert_int_equal(count(&a, "2"), 0);
    gap_alerts_free(&a);
}

static void missing_provider_signature_raises_rule_4_citing_13_2(void **state)
{
    hist_t *h = *state;
    add(h, "{\"type\":\"evidence_registration\",\"id\":\"e1\",\"case\":\"C1\",\"time\":\"2026-03-"
           "02T09:00:00+08:00\",\"fields\":{\"items\":[\"photo\"],\"officer_signature\":\"x\","
           "\"date\":\"2026-03-02\"}}");
    gap_alerts_t a = eval(h, T0 + DAY);
    const gap_alert_t *x = find(&a, "4");
    assert_non_null(x);
    assert_string_equal(x->article, "13(2)");
    assert_non_null(strstr(x->detail, "provider_signature"));
    assert_string_equal(x->detail_tpl, "fields");
    assert_non_null(strstr(x->detail_args, "\"missing\":[\"provider_signature\"]"));
    gap_alerts_free(&a);
    /* An amendment that adds the signature replaces the record. */
    add(h, "{\"type\":\"evidence_registration\",\"id\":\"e2\",\"amends\":\"e1\",\"case\":\"C1\","
           "\"time\":\"2026-03-02T11:00:00+08:00\",\"fields\":{\"items\":[\"photo\"],"
           "\"officer_signature\":\"x\",\"provider_signature\":\"y\",\"date\":\"2026-03-02\"}}");
    a = eval(h, T0 + DAY);
    assert_int_equal(a.n, 0);
    gap_alerts_free(&a);
}

#define COMPLAINT                                                                                  \
    "{\"type\":\"complaint_registered\",\"case\":\"C1\",\"time\":\"2026-03-02T09:00:00+08:00\","   \
    "\"fields\":{\"complainant\":\"王\",\"summary\":\"s\"}}"

static void complaint_decision_deadline_is_15_days(void **state)
{
    hist_t *h = *state;
    add(h, COMPLAINT);
    gap_alerts_t a = eval(h, T0 + 15 * DAY);
    assert_int_equal(a.n, 0); /* not yet due */
    gap_alerts_free(&a);
    a = eval(h, T0 + 15 * DAY + 1);
    assert_int_equal(count(&a, "5"), 1);
    assert_string_equal(find(&a, "5")->article, "8");
    assert_int_equal(find(&a, "5")->at_ms, T0 + 15 * DAY);
    gap_alerts_free(&a);
    gap_case_t c = {.case_id = "C1", .records = h->recs, .n_records = h->n};
    assert_int_equal(gaps_next_deadline(h->pack, &c, T0), T0 + 15 * DAY + 1);
}

static void late_decision_resolves_the_complaint_alert(void **state)
{
    hist_t *h = *state;
    add(h, COMPLAINT);
    add(h,
        "{\"type\":\"complaint_decision\",\"case\":\"C1\",\"time\":\"2026-03-20T09:00:00+08:00\","
        "\"fields\":{\"accepted\":true,\"reason\":\"r\"}}");
    gap_alerts_t a = eval(h, T0 + 30 * DAY);
    assert_int_equal(a.n, 0);
    gap_alerts_free(&a);
}

#define DECISION(t)                                                                                \
    "{\"type\":\"decision\",\"case\":\"C1\",\"time\":\"" t "\",\"fields\":{\"decision_no\":\"D\"," \
    "\"reasons\":\"r\"}}"
#define APPROVAL(t)                                                                                \
    "{\"type\":\"leader_approval\",\"case\":\"C1\",\"time\":\"" t "\",\"fields\":{\"opinion\":"    \
    "\"同意\",\"signer\":\"李\"}}"

static void decision_needs_leader_approval_before_it(void **state)
{
    hist_t *h = *state;
    add(h, DECISION("2026-03-02T09:00:00+08:00"));
    add(h, APPROVAL("2026-03-02T10:00:00+08:00")); /* after: does not count */
    gap_alerts_t a = eval(h, T0 + DAY);
    assert_int_equal(count(&a, "7"), 1);
    assert_string_equal(find(&a, "7")->article, "16");
    gap_alerts_free(&a);
    add(h, APPROVAL("2026-03-01T10:00:00+08:00"));
    a = eval(h, T0 + DAY);
    assert_int_equal(count(&a, "7"), 0);
    gap_alerts_free(&a);
}

static void decision_deadlines_for_service_and_performance(void **state)
{
    hist_t *h = *state;
    add(h, APPROVAL("2026-03-01T10:00:00+08:00"));
    add(h, DECISION("2026-03-02T09:00:00+08:00"));
    gap_alerts_t a = eval(h, T0 + 8 * DAY);
    assert_int_equal(count(&a, "9"), 1);
    assert_int_equal(count(&a, "10"), 0);
    gap_alerts_free(&a);
    add(h, "{\"type\":\"service_direct\",\"case\":\"C1\",\"officers\":[\"ZF-1\"],"
           "\"media_unsuitable\":\"当事人拒绝\",\"start\":\"2026-03-05T09:00:00+08:00\","
           "\"end\":\"2026-03-05T09:10:00+08:00\",\"fields\":{\"document\":\"D\","
           "\"server_signature\":\"a\",\"recipient_signature\":\"b\",\"date\":\"2026-03-05\"}}");
    a = eval(h, T0 + 31 * DAY);
    assert_int_equal(count(&a, "9"), 0);
    assert_int_equal(count(&a, "10"), 1);
    gap_alerts_free(&a);
}

static void every_statement_needs_a_review_before_the_decision(void **state)
{
    hist_t *h = *state;
    add(h, APPROVAL("2026-03-01T08:00:00+08:00"));
    add(h, "{\"type\":\"statement_defense\",\"case\":\"C1\",\"time\":\"2026-03-01T09:00:00+08:00\","
           "\"fields\":{\"facts\":\"f\",\"reasons\":\"r\"}}");
    add(h, DECISION("2026-03-02T09:00:00+08:00"));
    gap_alerts_t a = eval(h, T0 + DAY);
    assert_int_equal(count(&a, "8"), 1);
    assert_string_equal(find(&a, "8")->article, "21");
    gap_alerts_free(&a);
    add(h, "{\"type\":\"statement_review\",\"case\":\"C1\",\"time\":\"2026-03-01T15:00:00+08:00\","
           "\"fields\":{\"opinion\":\"不予采纳\"}}");
    a = eval(h, T0 + DAY);
    assert_int_equal(count(&a, "8"), 0);
    gap_alerts_free(&a);
}

static void court_application_needs_demand_notice_served_10_days_before(void **state)
{
    hist_t *h = *state;
    add(h, "{\"type\":\"demand_notice_service\",\"case\":\"C1\",\"media_unsuitable\":\"x\","
           "\"start\":\"2026-03-02T09:00:00+08:00\",\"end\":\"2026-03-02T09:10:00+08:00\","
           "\"fields\":{\"notice_no\":\"N\",\"recipient_signature\":\"s\",\"date\":\"d\"}}");
    add(h, "{\"type\":\"court_application\",\"case\":\"C1\",\"time\":\"2026-03-11T09:00:00+08:00\","
           "\"fields\":{\"court\":\"c\",\"application_no\":\"a\"}}");
    gap_alerts_t a = eval(h, T0 + 20 * DAY);
    assert_int_equal(count(&a, "11"), 1); /* 9 days is not enough */
    gap_alerts_free(&a);
    h->recs[1].time_ms = T0 + 10 * DAY + 10 * MIN; /* 10 days after the service ended */
    a = eval(h, T0 + 20 * DAY);
    assert_int_equal(count(&a, "11"), 0);
    gap_alerts_free(&a);
}

static void recorder_with_low_battery_raises_rule_13(void **state)
{
    hist_t *h = *state;
    add(h, "{\"type\":\"recorder_checkout\",\"time\":\"2026-03-02T08:00:00+08:00\",\"fields\":"
           "{\"recorder\":\"DSJ-1\",\"officer\":\"ZF-1\",\"battery_pct\":20,\"free_mb\":50000}}");
    add(h, "{\"type\":\"recorder_checkout\",\"time\":\"2026-03-02T08:00:00+08:00\",\"fields\":"
           "{\"recorder\":\"DSJ-2\",\"officer\":\"ZF-2\",\"battery_pct\":90,\"free_mb\":50000}}");
    gap_alerts_t a = eval(h, T0);
    assert_int_equal(count(&a, "13"), 1);
    assert_string_equal(find(&a, "13")->article, "12");
    assert_non_null(strstr(find(&a, "13")->detail, "DSJ-1"));
    assert_string_equal(find(&a, "13")->detail_tpl, "readiness");
    assert_non_null(strstr(find(&a, "13")->detail_args, "\"recorder\":\"DSJ-1\""));
    assert_non_null(strstr(find(&a, "13")->detail_args, "\"battery_low\":true"));
    gap_alerts_free(&a);
}

static void unlinked_media_after_24_hours_raises_rule_14(void **state)
{
    hist_t *h = *state;
    gap_media_t m = {
        .ref = "m", .media_id = "m", .officer = "ZF-1", .start_ms = T0, .end_ms = T0 + MIN};
    gap_alerts_t a = {0};
    assert_int_equal(gaps_eval_media(h->pack, &m, false, T0 + 23 * 3600000LL, &a), FT_OK);
    assert_int_equal(a.n, 0);
    assert_int_equal(gaps_eval_media(h->pack, &m, true, T0 + 2 * DAY, &a), FT_OK);
    assert_int_equal(a.n, 0);
    assert_int_equal(gaps_eval_media(h->pack, &m, false, T0 + 2 * DAY, &a), FT_OK);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.items[0].article, "24(4)");
    gap_alerts_free(&a);
}

static void clock_offset_over_120_seconds_raises_rule_16(void **state)
{
    hist_t *h = *state;
    gap_alerts_t a = {0};
    assert_int_equal(gaps_eval_clock(h->pack, "DEV", 119000, T0, &a), FT_OK);
    assert_int_equal(gaps_eval_clock(h->pack, "DEV", -121000, T0, &a), FT_OK);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.items[0].article, "7");
    assert_int_equal(gaps_integrity(h->pack, "DEV", "bad signature", "DEV/1/5", NULL, T0, &a),
                     FT_OK);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.items[1].article, "24(2)");
    assert_int_equal(a.items[1].rule->severity, SEV_CRITICAL);
    gap_alerts_free(&a);
}

/* A vehicle silent for over a day raises rule 17 (Art. 3), due when the day
 * ran out; the same alert, with the same detail, while the silence lasts. */
static void device_silent_over_24_hours_raises_rule_17_citing_art_3(void **state)
{
    hist_t *h = *state;
    gap_alerts_t a = {0};
    assert_int_equal(gaps_eval_silence(h->pack, "DEV", "冀J·12345", T0, 0, T0 + DAY, &a), FT_OK);
    assert_int_equal(a.n, 0);
    assert_int_equal(gaps_eval_silence(h->pack, "DEV", "冀J·12345", T0, 0, T0 + DAY + 1, &a),
                     FT_OK);
    assert_int_equal(gaps_eval_silence(h->pack, "DEV", "冀J·12345", T0, 0, T0 + 5 * DAY, &a),
                     FT_OK);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.items[0].rule->id, "17");
    assert_string_equal(a.items[0].article, "3");
    assert_int_equal(a.items[0].at_ms, T0 + DAY);
    assert_string_equal(a.items[0].id, a.items[1].id);
    assert_string_equal(a.items[0].detail, a.items[1].detail);
    assert_string_equal(a.items[0].detail_tpl, "silence");
    assert_non_null(strstr(a.items[0].detail_args, "\"vehicle\":\"冀J·12345\""));
    /* never heard from: counted from the enrolment */
    assert_int_equal(gaps_eval_silence(h->pack, "DEV2", "", 0, T0, T0 + 2 * DAY, &a), FT_OK);
    assert_int_equal(a.n, 3);
    assert_non_null(strstr(a.items[2].detail, "never heard from"));
    gap_alerts_free(&a);
}

static void alert_ids_are_stable_across_evaluations(void **state)
{
    hist_t *h = *state;
    add(h, HEARING "}");
    add(h, COMPLAINT);
    gap_alerts_t a = eval(h, T0 + 20 * DAY);
    gap_alerts_t b = eval(h, T0 + 25 * DAY);
    assert_int_equal(a.n, b.n);
    assert_int_equal(a.n, 2);
    for (size_t i = 0; i < a.n; i++) {
        assert_string_equal(a.items[i].id, b.items[i].id);
    }
    assert_string_not_equal(a.items[0].id, a.items[1].id);
    gap_alerts_free(&a);
    gap_alerts_free(&b);
}

/* gaps_uncovered's count (FT_OK asserted). */
static size_t uncovered(const gap_record_t *r, const gap_media_t *m, size_t n, gap_span_t *s,
                        size_t max)
{
    size_t holes = 0;
    assert_int_equal(gaps_uncovered(r, m, n, s, max, &holes), FT_OK);
    return holes;
}

/* The uncovered stretches come from the coverage sweep: the two-minute hole
 * and nothing else, and none for a covered window. */
static void uncovered_stretches_are_the_holes_coverage_measures(void **state)
{
    hist_t *h = *state;
    add(h, HEARING "}");
    add_media(h, "m1", "ZF-1", T0 - MIN, T0 + 30 * MIN);
    add_media(h, "m2", "ZF-1", T0 + 32 * MIN, T0 + 50 * MIN);
    gap_span_t s[4];
    assert_int_equal(uncovered(&h->recs[0], h->media, h->n_media, s, 4), 2);
    assert_int_equal(s[0].a_ms, T0 + 30 * MIN);
    assert_int_equal(s[0].b_ms, T0 + 32 * MIN);
    assert_int_equal(s[1].a_ms, T0 + 50 * MIN);
    assert_int_equal(s[1].b_ms, T0 + 60 * MIN);
    assert_int_equal(uncovered(&h->recs[0], h->media, h->n_media, s, 1), 2);
    add_media(h, "m3", "ZF-1", T0 + 29 * MIN, T0 + 61 * MIN);
    assert_int_equal(uncovered(&h->recs[0], h->media, h->n_media, s, 4), 0);
    assert_int_equal(uncovered(&h->recs[0], h->media, 0, s, 4), 1);
    assert_int_equal(s[0].a_ms, T0);
    assert_int_equal(s[0].b_ms, T0 + 60 * MIN);
}

/* A followed_by duty is pending until its deadline, then an alert; a
 * record that meets it ends it. */
static void pending_duties_until_due_then_alerts(void **state)
{
    hist_t *h = *state;
    add(h, COMPLAINT);
    gap_case_t c = {.case_id = "C1", .records = h->recs, .n_records = h->n};
    gap_pending_t p[4];
    assert_int_equal(gaps_pending(h->pack, &c, T0 + DAY, p, 4), 1);
    assert_string_equal(p[0].rule->id, "5");
    assert_int_equal(p[0].due_ms, T0 + 15 * DAY);
    assert_ptr_equal(p[0].subject, &h->recs[0]);
    assert_int_equal(gaps_pending(h->pack, &c, T0 + 15 * DAY + 1, p, 4), 0); /* overdue */
    add(h, "{\"type\":\"complaint_decision\",\"case\":\"C1\",\"time\":"
           "\"2026-03-03T09:00:00+08:00\",\"fields\":{\"accepted\":true,\"reason\":\"r\"}}");
    c.n_records = h->n;
    assert_int_equal(gaps_pending(h->pack, &c, T0 + DAY, p, 4), 0);
}

/* The boundaries of a window, the same table as hub/views/coverage_test.c:
 * clips of the hearing's officer against the hearing [T0, T0 + 60 min). */
static void windows_are_half_open_at_the_boundaries(void **state)
{
    hist_t *h = *state;
    add(h, HEARING "}");
    const gap_record_t *r = &h->recs[0];
    const int64_t A = T0, B = T0 + 60 * MIN;
    const struct {
        int64_t s, e;
        bool links;
        int64_t covered_ms;
    } cases[] = {
        {B, B + 10 * MIN, false, 0},    /* starts when the hearing ends */
        {A - 10 * MIN, A, false, 0},    /* ends when it starts */
        {B - 1, B + 10 * MIN, true, 1}, /* its last millisecond */
        {A - 10 * MIN, A + 1, true, 1}, /* its first millisecond */
        {A, B, true, 60 * MIN},         /* exactly */
        {B, B, false, 0},               /* an empty clip at the end: not in it */
        {A, A, true, 0},                /* an empty clip at its first instant */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gap_media_t m = {.ref = "m", .media_id = "m", .officer = "ZF-1"};
        m.start_ms = cases[i].s;
        m.end_ms = cases[i].e;
        assert_int_equal(gaps_media_links(r, &m), cases[i].links);
        size_t linked = 9;
        double covered = -1;
        int64_t longest = -1;
        assert_int_equal(gaps_coverage(r, &m, 1, &linked, &covered, &longest), FT_OK);
        assert_int_equal(linked, cases[i].links ? 1 : 0);
        assert_int_equal((int64_t)(covered * (double)(B - A) + 0.5), cases[i].covered_ms);
    }
    /* A clip that only touches the hearing is not counted as linked. */
    add_media(h, "m1", "ZF-1", B, B + 30 * MIN);
    gap_alerts_t a = eval(h, T0 + DAY);
    assert_int_equal(count(&a, "1"), 1);
    assert_non_null(strstr(find(&a, "1")->detail, "(0 items linked)"));
    gap_alerts_free(&a);

    /* An activity that starts and ends at once is its instant: a clip
     * holding it covers it, one that ends there does not. */
    add(h, "{\"type\":\"site_inspection\",\"case\":\"C1\",\"officers\":[\"ZF-2\"],"
           "\"start\":\"2026-03-02T09:30:00+08:00\",\"end\":\"2026-03-02T09:30:00+08:00\"}");
    const gap_record_t *p = &h->recs[1];
    const int64_t t = T0 + 30 * MIN;
    assert_true(p->start_ms == t && p->end_ms == t);
    gap_media_t holds = {
        .ref = "h", .media_id = "h", .officer = "ZF-2", .start_ms = t, .end_ms = t + MIN};
    gap_media_t ends = {
        .ref = "e", .media_id = "e", .officer = "ZF-2", .start_ms = t - MIN, .end_ms = t};
    size_t linked = 0;
    double covered = 0;
    int64_t longest = 0;
    assert_int_equal(gaps_coverage(p, &holds, 1, &linked, &covered, &longest), FT_OK);
    assert_int_equal(linked, 1);
    assert_true(covered == 1.0);
    assert_int_equal(gaps_coverage(p, &ends, 1, &linked, &covered, &longest), FT_OK);
    assert_int_equal(linked, 0);
    assert_true(covered == 0.0);
}

/* Out of memory in the coverage check: the evaluation fails, no alert says
 * the hearing is not covered (it is, fully). */
static void a_coverage_check_out_of_memory_is_an_error_not_an_alert(void **state)
{
    hist_t *h = *state;
    add(h, HEARING "}");
    add_media(h, "m1", "ZF-1", T0, T0 + 60 * MIN);
    gap_case_t c = {.case_id = "C1",
                    .records = h->recs,
                    .n_records = h->n,
                    .media = h->media,
                    .n_media = h->n_media};
    gap_alerts_t a = {0};
    fail_next_malloc = true;
    int err = gaps_eval_case(h->pack, &c, T0 + DAY, &a);
    fail_next_malloc = false;
    assert_int_equal(a.n, 0);
    assert_int_equal(err, FT_ENOMEM);
    gap_alerts_free(&a);
    /* With memory, the same case is quiet. */
    a = eval(h, T0 + DAY);
    assert_int_equal(a.n, 0);
    gap_alerts_free(&a);
    /* gaps_coverage itself says so. */
    size_t linked = 0;
    double covered = 0;
    int64_t longest = 0;
    fail_next_malloc = true;
    assert_int_equal(gaps_coverage(&h->recs[0], h->media, 1, &linked, &covered, &longest),
                     FT_ENOMEM);
    fail_next_malloc = false;
    gap_span_t sp[2];
    size_t n_holes = 9;
    fail_next_malloc = true;
    assert_int_equal(gaps_uncovered(&h->recs[0], h->media, 1, sp, 2, &n_holes), FT_ENOMEM);
    fail_next_malloc = false;
    assert_int_equal(n_holes, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(hearing_without_media_raises_rule_1_citing_art_13),
        T(hearing_fully_covered_by_officers_media_is_quiet),
        T(hearing_with_a_two_minute_hole_raises_rule_1),
        T(media_of_another_officer_does_not_cover),
        T(explicitly_cited_media_covers_whoever_recorded_it),
        T(media_unsuitable_silences_coverage),
        T(patrol_needs_80_percent_under_art_11),
        T(public_notice_needs_one_media_item),
        T(missing_provider_signature_raises_rule_4_citing_13_2),
        T(complaint_decision_deadline_is_15_days),
        T(late_decision_resolves_the_complaint_alert),
        T(decision_needs_leader_approval_before_it),
        T(decision_deadlines_for_service_and_performance),
        T(every_statement_needs_a_review_before_the_decision),
        T(court_application_needs_demand_notice_served_10_days_before),
        T(recorder_with_low_battery_raises_rule_13),
        T(unlinked_media_after_24_hours_raises_rule_14),
        T(device_silent_over_24_hours_raises_rule_17_citing_art_3),
        T(clock_offset_over_120_seconds_raises_rule_16),
        T(alert_ids_are_stable_across_evaluations),
        T(uncovered_stretches_are_the_holes_coverage_measures),
        T(pending_duties_until_due_then_alerts),
        T(windows_are_half_open_at_the_boundaries),
        T(a_coverage_check_out_of_memory_is_an_error_not_an_alert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
