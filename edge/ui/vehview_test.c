/* vehview_test.c: the vehicle's view of its own log (edge/ui/vehview.h):
 * a low battery at checkout is flagged with the readiness rule's alert, a
 * site inspection without record_no and without media shows its missing
 * field, 0 % coverage and their alerts, a clip from the checked-out recorder
 * covers it (its officer from the checkout), a correction replaces it, and
 * records made by another process after the view was made are seen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "media.h"
#include "recimport.h"
#include "testutil.h"
#include "vehview.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2026-03-02T09:00:00+08:00 */
#define T0 1772413200000LL
#define MIN 60000LL

typedef struct {
    char dir[512];
    keys_t keys;
    devlog_t *log;
    rulepack_t *pack;
    vehview_t *view;
} fix_t;

static int setup(void **state)
{
    fix_t *f = calloc(1, sizeof *f);
    testutil_tmpdir(f->dir, sizeof f->dir, "vehview");
    assert_int_equal(keys_generate(&f->keys, false), FT_OK);
    devlog_opts_t o = {.map_size = 64 << 20, .at_rest = true};
    assert_int_equal(devlog_open(f->dir, &f->keys, &o, &f->log), FT_OK);
    char err[256];
    assert_int_equal(rules_parse(rules_default_text, "default", &f->pack, err, sizeof err), FT_OK);
    assert_int_equal(vehview_new(f->log, "unit-v", &f->view), FT_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix_t *f = *state;
    vehview_destroy(&f->view);
    rules_destroy(&f->pack);
    devlog_destroy(&f->log);
    testutil_rmrf(f->dir);
    free(f);
    return 0;
}

static recimport_result_t put(fix_t *f, const char *json)
{
    json_t *obj = json_loads(json, 0, NULL);
    assert_non_null(obj);
    recimport_result_t res;
    assert_int_equal(recimport_json(f->log, obj, "unit-v", &res), FT_OK);
    json_decref(obj);
    return res;
}

/* A clip of recorder DSJ-1 without an officer, [a, b]. */
static void clip(fix_t *f, int64_t a, int64_t b)
{
    uint8_t fid[16], zero[32] = {0};
    randombytes_buf(fid, sizeof fid);
    Ft__MediaManifest m = FT__MEDIA_MANIFEST__INIT;
    m.file_id.data = fid;
    m.file_id.len = sizeof fid;
    m.chunk_size = 1 << 20;
    m.has_format = true;
    m.format = MEDIA_FORMAT;
    m.merkle_root.data = m.content_hash.data = m.sealed_key.data = zero;
    m.merkle_root.len = m.content_hash.len = m.sealed_key.len = 32;
    m.kind = FT__MEDIA_KIND__VIDEO;
    m.recorder = "DSJ-1";
    Ft__Time s = FT__TIME__INIT, e = FT__TIME__INIT;
    s.unix_ms = a;
    e.unix_ms = b;
    m.start = &s;
    m.end = &e;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_MEDIA;
    body.media = &m;
    assert_int_equal(devlog_append1(f->log, &body, NULL), FT_OK);
}

/* The alert of rule in arr, or NULL. */
static json_t *alert_of(json_t *arr, const char *rule)
{
    size_t i;
    json_t *a;
    json_array_foreach(arr, i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, "rule")), rule) == 0) {
            return a;
        }
    }
    return NULL;
}

static void low_battery_checkout_is_flagged(void **state)
{
    fix_t *f = *state;
    recimport_result_t r = put(
        f, "{\"type\":\"recorder_checkout\",\"id\":\"co-1\",\"time\":\"2026-03-02T08:00:00+08:00\","
           "\"officers\":[\"ZF-1\"],\"fields\":{\"recorder\":\"DSJ-1\",\"officer\":\"ZF-1\","
           "\"battery_pct\":15,\"free_mb\":9000}}");
    assert_int_equal(r.outcome, RECIMPORT_STORED);
    json_t *day = vehview_today(f->view, f->pack, T0 - 2 * 60 * MIN, T0 + 60 * MIN, T0);
    assert_non_null(day);
    json_t *rec = json_array_get(json_object_get(day, "recorders"), 0);
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(rec, "officer")), "ZF-1");
    assert_true(json_is_true(json_object_get(rec, "battery_low")));
    assert_false(json_is_true(json_object_get(rec, "storage_low")));
    json_t *alert = json_object_get(rec, "alert");
    assert_string_equal(json_string_value(json_object_get(alert, "rule")), "13");
    assert_non_null(alert_of(json_object_get(day, "alerts"), "13"));
    json_decref(day);
    /* returned: no longer out */
    put(f, "{\"type\":\"recorder_return\",\"id\":\"re-1\",\"time\":\"2026-03-02T08:30:00+08:00\","
           "\"fields\":{\"recorder\":\"DSJ-1\",\"officer\":\"ZF-1\"}}");
    day = vehview_today(f->view, f->pack, T0 - 2 * 60 * MIN, T0 + 60 * MIN, T0);
    assert_int_equal(json_array_size(json_object_get(day, "recorders")), 0);
    json_decref(day);
}

static void inspection_missing_field_coverage_clip_and_correction(void **state)
{
    fix_t *f = *state;
    put(f, "{\"type\":\"recorder_checkout\",\"id\":\"co-2\",\"time\":\"2026-03-02T08:00:00+08:00\","
           "\"fields\":{\"recorder\":\"DSJ-1\",\"officer\":\"ZF-1\",\"battery_pct\":90,"
           "\"free_mb\":9000}}");
    recimport_result_t r = put(
        f, "{\"type\":\"site_inspection\",\"id\":\"si-1\",\"case\":\"C-1\",\"officers\":[\"ZF-1\"],"
           "\"start\":\"2026-03-02T09:00:00+08:00\",\"end\":\"2026-03-02T09:30:00+08:00\"}");
    assert_int_equal(r.outcome, RECIMPORT_STORED);
    bool found = false;
    json_t *c = vehview_case(f->view, f->pack, "C-1", T0 + 60 * MIN, &found);
    assert_true(found);
    json_t *alerts = json_object_get(c, "alerts");
    assert_non_null(alert_of(alerts, "1")); /* coverage, Art. 13 */
    json_t *fields = alert_of(alerts, "4");
    assert_non_null(fields);
    assert_string_equal(json_string_value(json_object_get(fields, "article")), "13(3)");
    json_t *rec = json_array_get(json_object_get(c, "records"), 0);
    json_t *missing = json_array_get(json_object_get(rec, "missing"), 0);
    assert_string_equal(json_string_value(json_object_get(missing, "key")), "record_no");
    assert_true(json_real_value(json_object_get(json_object_get(rec, "coverage"), "covered")) ==
                0.0);
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(rec, "coverage"), "uncovered")), 1);
    json_decref(c);
    /* a clip of the checked-out recorder covers the window */
    clip(f, T0 - MIN, T0 + 31 * MIN);
    c = vehview_case(f->view, f->pack, "C-1", T0 + 60 * MIN, &found);
    assert_null(alert_of(json_object_get(c, "alerts"), "1"));
    rec = json_array_get(json_object_get(c, "records"), 0);
    assert_true(json_real_value(json_object_get(json_object_get(rec, "coverage"), "covered")) ==
                1.0);
    json_t *cl = json_array_get(json_object_get(c, "clips"), 0);
    assert_string_equal(json_string_value(json_object_get(cl, "officer")), "ZF-1");
    assert_string_equal(json_string_value(json_object_get(cl, "officer_source")), "checkout");
    json_decref(c);
    /* the correction adds record_no: the fields alert goes, the first is amended */
    put(f, "{\"type\":\"site_inspection\",\"id\":\"si-1b\",\"amends\":\"si-1\",\"case\":\"C-1\","
           "\"officers\":[\"ZF-1\"],\"start\":\"2026-03-02T09:00:00+08:00\","
           "\"end\":\"2026-03-02T09:30:00+08:00\",\"fields\":{\"record_no\":\"K-1\"}}");
    c = vehview_case(f->view, f->pack, "C-1", T0 + 60 * MIN, &found);
    assert_int_equal(json_array_size(json_object_get(c, "alerts")), 0);
    rec = json_array_get(json_object_get(c, "records"), 0);
    assert_string_equal(json_string_value(json_object_get(rec, "amended_by")), "si-1b");
    json_decref(c);
    json_t *one = vehview_record(f->view, "si-1b");
    assert_non_null(one);
    json_decref(one);
    json_t *cases = vehview_cases(f->view, 10);
    assert_string_equal(json_string_value(json_object_get(json_array_get(cases, 0), "case")),
                        "C-1");
    json_decref(cases);
    assert_null(vehview_case(f->view, f->pack, "C-none", T0, &found));
    assert_false(found);
}

static void followups_pending_and_import_rejections(void **state)
{
    fix_t *f = *state;
    put(f, "{\"type\":\"decision\",\"id\":\"d-1\",\"case\":\"C-2\",\"time\":\"2026-03-02T09:00:00+"
           "08:00\","
           "\"fields\":{\"decision_no\":\"J-1\",\"reasons\":\"r\"}}");
    bool found = false;
    json_t *c = vehview_case(f->view, f->pack, "C-2", T0 + MIN, &found);
    json_t *pending = json_object_get(c, "pending");
    assert_int_equal(json_array_size(pending), 2); /* service in 7 d, performance in 30 d */
    assert_non_null(alert_of(json_object_get(c, "alerts"), "7")); /* no leader approval */
    json_decref(c);
    recimport_result_t r = put(f, "{\"type\":\"inquiry\",\"start\":\"2026-03-02T09:00:00+08:00\","
                                  "\"end\":\"2026-03-02T10:00:00+08:00\"}");
    assert_int_equal(r.outcome, RECIMPORT_REJECTED);
    assert_string_equal(r.reason, "type \"inquiry\" needs a \"case\"");
    assert_string_equal(r.field, "case");
    r = put(f, "{\"type\":\"decision\",\"id\":\"d-1\",\"case\":\"C-2\",\"time\":\"2026-03-02T09:00:"
               "00+08:00\"}");
    assert_int_equal(r.outcome, RECIMPORT_REJECTED);
    assert_string_equal(r.field, "id");
    r = put(f, "{\"type\":\"decision\",\"id\":\"d-1\",\"case\":\"C-2\",\"time\":\"2026-03-02T09:00:"
               "00+08:00\","
               "\"fields\":{\"decision_no\":\"J-1\",\"reasons\":\"r\"}}");
    assert_int_equal(r.outcome, RECIMPORT_DUPLICATE);
}

/* The case picker's list: the case touched last first, at most max, with
 * how many records each has and its cause. */
static void cases_touched_last_first(void **state)
{
    fix_t *f = *state;
    put(f, "{\"type\":\"expert_panel\",\"case\":\"C-A\",\"cause\":\"a\","
           "\"time\":\"2030-01-01T09:00:00+08:00\",\"fields\":{\"minutes_no\":\"1\"}}");
    put(f, "{\"type\":\"expert_panel\",\"case\":\"C-B\",\"time\":"
           "\"2030-02-01T09:00:00+08:00\",\"fields\":{\"minutes_no\":\"2\"}}");
    put(f, "{\"type\":\"expert_panel\",\"case\":\"C-C\",\"time\":"
           "\"2030-01-15T09:00:00+08:00\",\"fields\":{\"minutes_no\":\"3\"}}");
    json_t *cs = vehview_cases(f->view, 10);
    assert_int_equal(json_array_size(cs), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 0), "case")), "C-B");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 1), "case")), "C-C");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 2), "case")), "C-A");
    json_decref(cs);
    /* a later record in C-A brings it first; max is kept */
    put(f, "{\"type\":\"expert_panel\",\"case\":\"C-A\",\"time\":"
           "\"2030-03-01T09:00:00+08:00\",\"fields\":{\"minutes_no\":\"4\"}}");
    cs = vehview_cases(f->view, 2);
    assert_int_equal(json_array_size(cs), 2);
    json_t *a = json_array_get(cs, 0);
    assert_string_equal(json_string_value(json_object_get(a, "case")), "C-A");
    assert_int_equal(json_integer_value(json_object_get(a, "records")), 2);
    assert_string_equal(json_string_value(json_object_get(a, "cause")), "a");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 1), "case")), "C-B");
    json_decref(cs);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(low_battery_checkout_is_flagged),
        T(inspection_missing_field_coverage_clip_and_correction),
        T(followups_pending_and_import_rejections),
        T(cases_touched_last_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
