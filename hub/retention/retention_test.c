/* retention_test.c: retention classes and the job's checks (retention.h). */
#include "retention.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#define DAY RETENTION_DAY_MS
#define T0 ((int64_t)1780000000000) /* 2026-05-28 */

static retention_policy_t defaults(void)
{
    retention_policy_t p;
    char err[256];
    assert_int_equal(retention_policy_load(NULL, &p, err, sizeof err), FT_OK);
    return p;
}

static retention_item_t daily_item(int64_t end)
{
    retention_item_t it;
    memset(&it, 0, sizeof it);
    it.complete = true;
    it.capture_end_ms = end;
    it.size = 100;
    return it;
}

static void test_daily_media_expire_only_after_two_years(void **state)
{
    (void)state;
    retention_policy_t p = defaults();
    assert_int_equal(p.daily_ms, 730 * DAY);
    retention_item_t it = daily_item(T0);
    retention_decide(&p, &it, T0 + 729 * DAY);
    assert_false(it.expired);
    assert_string_equal(it.klass, "daily");
    retention_decide(&p, &it, T0 + 730 * DAY - 1);
    assert_false(it.expired);
    retention_decide(&p, &it, T0 + 730 * DAY);
    assert_true(it.expired);
}

static void test_evidence_kept_as_long_as_the_case(void **state)
{
    (void)state;
    retention_policy_t p = defaults();
    retention_item_t it = daily_item(T0);
    it.n_cases = 1;
    strcpy(it.cases, "C1");
    it.case_last_ms = T0 + 100 * DAY;
    retention_decide(&p, &it, T0 + 3 * 365 * DAY);
    assert_false(it.expired);
    assert_string_equal(it.klass, "evidence");
    assert_int_equal(it.keep_until_ms, T0 + 100 * DAY + 30 * 365 * DAY);
    retention_decide(&p, &it, T0 + 100 * DAY + 30 * 365 * DAY);
    assert_true(it.expired);
}

static void test_the_longest_class_wins(void **state)
{
    (void)state;
    retention_policy_t p = defaults();
    p.case_ms = 10 * DAY; /* a short case period must not shorten the daily one */
    retention_item_t it = daily_item(T0);
    it.n_cases = 1;
    it.case_last_ms = T0;
    retention_decide(&p, &it, T0 + 400 * DAY);
    assert_false(it.expired);
    assert_string_equal(it.klass, "daily");
    assert_int_equal(it.keep_until_ms, T0 + 730 * DAY);
}

static void test_held_media_never_expire(void **state)
{
    (void)state;
    retention_policy_t p = defaults();
    retention_item_t it = daily_item(T0);
    it.held = true;
    retention_decide(&p, &it, T0 + 1000 * 365 * DAY);
    assert_false(it.expired);
    assert_string_equal(it.klass, "hold");
    assert_true(it.keep_until_ms == RETENTION_FOREVER);
}

static void test_incomplete_or_deleted_media_are_not_deleted(void **state)
{
    (void)state;
    retention_policy_t p = defaults();
    retention_item_t it = daily_item(T0);
    it.complete = false;
    retention_decide(&p, &it, T0 + 5000 * DAY);
    assert_false(it.expired);
    it = daily_item(T0);
    it.deleted = true;
    retention_decide(&p, &it, T0 + 5000 * DAY);
    assert_false(it.expired);
}

/* The retention keys of hub.conf (hub_config_keys in hub/cmd/state.c, which
 * the hub's own tests check: tests/retention/retention.sh). */
static const char *const retention_keys[] = {"retention.daily_days", "retention.case_years",
                                             "retention.max_fraction",
                                             "retention.max_clock_lead_days", NULL};

static void test_policy_refuses_a_daily_period_under_two_years(void **state)
{
    (void)state;
    char path[512], err[256];
    config_t *cfg = NULL;
    snprintf(path, sizeof path, "%s/retention_test.conf",
             getenv("FT_TEST_TMP") ? getenv("FT_TEST_TMP") : "/tmp");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("[retention]\ndaily_days = 365\n", f);
    fclose(f);
    assert_int_equal(config_load(path, retention_keys, &cfg, err, sizeof err), FT_OK);
    retention_policy_t p;
    assert_int_equal(retention_policy_load(cfg, &p, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "two years"));
    config_destroy(&cfg);
    f = fopen(path, "w");
    fputs("[retention]\ndaily_days = 1000\nmax_fraction = 0.25\ncase_years = 50\n", f);
    fclose(f);
    assert_int_equal(config_load(path, retention_keys, &cfg, err, sizeof err), FT_OK);
    assert_int_equal(retention_policy_load(cfg, &p, err, sizeof err), FT_OK);
    assert_int_equal(p.daily_ms, 1000 * DAY);
    assert_int_equal(p.case_ms, 50 * 365 * DAY);
    assert_true(p.max_fraction > 0.24 && p.max_fraction < 0.26);
    config_destroy(&cfg);
    f = fopen(path, "w");
    fputs("[retention]\nmax_fraction = 2\n", f);
    fclose(f);
    assert_int_equal(config_load(path, retention_keys, &cfg, err, sizeof err), FT_OK);
    assert_int_equal(retention_policy_load(cfg, &p, err, sizeof err), FT_EINVAL);
    config_destroy(&cfg);
    remove(path);
}

static retention_plan_t healthy_plan(int64_t now)
{
    retention_plan_t plan;
    memset(&plan, 0, sizeof plan);
    plan.now_ms = now;
    plan.hublog_ok = true;
    plan.index_cursor = plan.store_last_arrival = 10;
    plan.newest_seen_ms = now - DAY;
    plan.files_held = 100;
    plan.bytes_held = 10000;
    return plan;
}

static void test_checks_refuse_when_they_fail(void **state)
{
    (void)state;
    retention_policy_t p = defaults();
    char err[2048];
    retention_plan_t plan = healthy_plan(T0);
    plan.files_expired = 5;
    plan.bytes_expired = 500;
    assert_int_equal(retention_check(&p, &plan, false, err, sizeof err), FT_OK);
    /* index behind the store */
    plan.index_cursor = 9;
    assert_int_equal(retention_check(&p, &plan, false, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "index is behind"));
    plan = healthy_plan(T0);
    /* a quarter of the archive at once: refused without force */
    plan.files_expired = 25;
    plan.bytes_expired = 2500;
    assert_int_equal(retention_check(&p, &plan, false, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "max_fraction"));
    assert_int_equal(retention_check(&p, &plan, true, err, sizeof err), FT_OK);
    /* few files but most of the bytes */
    plan.files_expired = 1;
    plan.bytes_expired = 9000;
    assert_int_equal(retention_check(&p, &plan, false, err, sizeof err), FT_EINVAL);
    /* clock far ahead of anything recorded, behind it, never set */
    plan = healthy_plan(T0);
    plan.newest_seen_ms = T0 - 400 * DAY;
    assert_int_equal(retention_check(&p, &plan, false, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "ahead"));
    plan = healthy_plan(T0);
    plan.newest_seen_ms = T0 + 3 * DAY;
    assert_int_equal(retention_check(&p, &plan, false, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "backwards"));
    plan = healthy_plan(86400000);
    plan.newest_seen_ms = 0;
    assert_int_equal(retention_check(&p, &plan, false, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "never set"));
    /* the hub log does not verify */
    plan = healthy_plan(T0);
    plan.hublog_ok = false;
    assert_int_equal(retention_check(&p, &plan, false, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "hub's own log"));
}

static Ft__Record hold_record(const char *id, const char *case_id, const char *amends,
                              bool released, Ft__FieldValue **fields, Ft__FieldValue *fv)
{
    Ft__Record r = FT__RECORD__INIT;
    r.type = FT__RECORD_TYPE__LEGAL_HOLD;
    r.id = (char *)id;
    r.case_id = (char *)case_id;
    r.amends = (char *)amends;
    ft__field_value__init(&fv[0]);
    ft__field_value__init(&fv[1]);
    fv[0].key = "reason";
    fv[0].value_case = FT__FIELD_VALUE__VALUE_TEXT;
    fv[0].text = "objection";
    fv[1].key = "released";
    fv[1].value_case = FT__FIELD_VALUE__VALUE_FLAG;
    fv[1].flag = 1;
    fields[0] = &fv[0];
    fields[1] = &fv[1];
    r.fields = fields;
    r.n_fields = released ? 2 : 1;
    return r;
}

static void test_holds_are_released_only_by_a_release_naming_them(void **state)
{
    (void)state;
    retention_facts_t f;
    memset(&f, 0, sizeof f);
    Ft__FieldValue *fl[4][2];
    Ft__FieldValue fv[4][2];
    Ft__Record a = hold_record("h1", "C1", NULL, false, fl[0], fv[0]);
    Ft__Record b = hold_record("h2", "C2", NULL, false, fl[1], fv[1]);
    Ft__Record c = hold_record(NULL, "C3", NULL, false, fl[2], fv[2]);
    Ft__Record rel = hold_record("r1", "C1", "h1", true, fl[3], fv[3]);
    assert_int_equal(retention_facts_record(&f, &a, "x/1/1", T0), FT_OK);
    assert_int_equal(retention_facts_record(&f, &b, "x/1/2", T0), FT_OK);
    assert_int_equal(retention_facts_record(&f, &c, "x/1/3", T0), FT_OK);
    assert_int_equal(retention_facts_record(&f, &rel, "hublog/4", T0), FT_OK);
    retention_facts_settle(&f);
    assert_int_equal(f.n_holds, 3);
    assert_false(f.holds[0].active);
    assert_string_equal(f.holds[0].reason, "objection");
    assert_true(f.holds[1].active);
    assert_true(f.holds[2].active); /* no id: cannot be lifted */
    assert_true(retention_reason_ok("mass_incident"));
    assert_false(retention_reason_ok("bored"));
    retention_facts_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daily_media_expire_only_after_two_years),
        cmocka_unit_test(test_evidence_kept_as_long_as_the_case),
        cmocka_unit_test(test_the_longest_class_wins),
        cmocka_unit_test(test_held_media_never_expire),
        cmocka_unit_test(test_incomplete_or_deleted_media_are_not_deleted),
        cmocka_unit_test(test_policy_refuses_a_daily_period_under_two_years),
        cmocka_unit_test(test_checks_refuse_when_they_fail),
        cmocka_unit_test(test_holds_are_released_only_by_a_release_naming_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
