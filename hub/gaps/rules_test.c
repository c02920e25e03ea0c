/* rules_test.c: the rule pack format and the shipped default pack. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rules.h"

#include <stdio.h>
#include <string.h>

static void default_pack_has_every_rule_of_the_regulation(void **state)
{
    (void)state;
    rulepack_t *pack = NULL;
    char err[512] = "";
    assert_int_equal(rules_parse(rules_default_text, "default.rules", &pack, err, sizeof err),
                     FT_OK);
    assert_int_equal(pack->n, 17);
    static const struct {
        const char *id;
        rule_kind kind;
        const char *article;
        rule_severity sev;
    } want[] = {
        {"1", RULE_COVERAGE, "13", SEV_HIGH},
        {"2", RULE_COVERAGE, "19", SEV_HIGH},
        {"3", RULE_COVERAGE, "11", SEV_MEDIUM},
        {"4", RULE_FIELDS, "", SEV_MEDIUM},
        {"5", RULE_FOLLOWED_BY, "8", SEV_MEDIUM},
        {"6", RULE_FOLLOWED_BY, "9", SEV_HIGH},
        {"7", RULE_PRECEDED_BY, "16", SEV_HIGH},
        {"8", RULE_PRECEDED_BY, "21", SEV_HIGH},
        {"9", RULE_FOLLOWED_BY, "18", SEV_HIGH},
        {"10", RULE_FOLLOWED_BY, "20", SEV_MEDIUM},
        {"11", RULE_PRECEDED_BY, "21", SEV_HIGH},
        {"12", RULE_FOLLOWED_BY, "21", SEV_LOW},
        {"13", RULE_READINESS, "12", SEV_MEDIUM},
        {"14", RULE_UNLINKED_MEDIA, "24(4)", SEV_MEDIUM},
        {"15", RULE_INTEGRITY, "24(2)", SEV_CRITICAL},
        {"16", RULE_CLOCK, "7", SEV_LOW},
        {"17", RULE_SILENCE, "3", SEV_HIGH},
    };
    for (size_t i = 0; i < 17; i++) {
        const rule_t *r = &pack->rules[i];
        assert_string_equal(r->id, want[i].id);
        assert_int_equal(r->kind, want[i].kind);
        assert_string_equal(r->article, want[i].article);
        assert_int_equal(r->severity, want[i].sev);
        assert_non_null(r->message_zh);
        assert_non_null(r->message_en);
        assert_true(r->enabled);
    }
    assert_true(pack->rules[3].article_per_type);
    assert_int_equal(pack->rules[4].within_ms, 15LL * 86400000);
    assert_int_equal(pack->rules[10].min_before_ms, 10LL * 86400000);
    assert_int_equal(pack->rules[0].max_uncovered_ms, 60000);
    assert_true(pack->rules[0].min_covered > 0.949 && pack->rules[0].min_covered < 0.951);
    assert_int_equal(pack->rules[12].min_free_mb, 2048);
    assert_int_equal(pack->rules[15].max_offset_ms, 120000);
    rules_destroy(&pack);
    assert_null(pack);
}

/* Parses text that must fail; checks the message names the line and a phrase. */
static void refused(const char *text, int line, const char *phrase)
{
    rulepack_t *pack = NULL;
    char err[512] = "", where[32];
    assert_int_equal(rules_parse(text, "t.rules", &pack, err, sizeof err), FT_EINVAL);
    assert_null(pack);
    snprintf(where, sizeof where, "t.rules line %d:", line);
    if (!strstr(err, where) || !strstr(err, phrase)) {
        fail_msg("error \"%s\" lacks \"%s\" or \"%s\"", err, where, phrase);
    }
}

#define MSGS "zh: 中文\nen: English\n"

static void malformed_packs_are_refused_with_line_and_reason(void **state)
{
    (void)state;
    refused("rule: 1\nkind: coverage\napplies to: hearing\nmin covered: 95%\narticle: 13\n", 1,
            "\"zh:\"");
    refused("rule: 1\nkind: sometimes\n", 2, "unknown kind");
    refused("rule: 1\nkind: coverage\napplies to: hearing, picnic\n", 3,
            "unknown record type \"picnic\"");
    refused("rule: 1\nkind: followed_by\napplies to: decision\nneeds: service_direct\n"
            "within: 7 fortnights\narticle: 18\n" MSGS,
            5, "unit");
    refused("kind: coverage\n", 1, "before the first");
    refused("rule: 1\nkind: integrity\nenabled: no\narticle: 24(2)\n" MSGS, 1,
            "cannot be disabled");
    refused("rule: 1\nkind: clock\nmax offset: 120s\narticle: 7\n" MSGS
            "rule: 1\nkind: clock\nmax offset: 60s\narticle: 7\n" MSGS,
            7, "defined twice");
    refused("rule: 1\nkind: followed_by\napplies to: decision\nwithin: 7d\narticle: 18\n" MSGS, 1,
            "needs \"needs:\"");
    refused("rule: 1\nkind: coverage\napplies to: hearing\nmin covered: 120%\n", 4, "between");
    refused("rule: 1\nthis line has no colon\n", 2, "expected");
    refused("# only comments\n", 1, "no rules");
    refused("rule: 1\nkind: clock\nmax offset: 1e60s\n", 3, "100 years");
    refused("rule: 1\nkind: clock\nmax offset: nan s\n", 3, "not a duration");
    refused("rule: 1\nkind: followed_by\nwithin: 1e17 d\n", 3, "100 years");
    refused("rule: 1\nkind: coverage\nmin covered: nan\n", 3, "percentage");
    refused("rule: 1\nkind: readiness\nmin battery: 99999999999999999999\n", 3, "whole number");
    refused("rule: 1\nkind: clock\nmax offset: 120s\narticle: 7\ncolour: red\n" MSGS, 5,
            "unknown setting");
}

static void integrity_rule_is_added_when_absent(void **state)
{
    (void)state;
    rulepack_t *pack = NULL;
    char err[512] = "";
    assert_int_equal(rules_parse("rule: c\nkind: clock\nmax offset: 2min\narticle: 7\n" MSGS,
                                 "t.rules", &pack, err, sizeof err),
                     FT_OK);
    assert_int_equal(pack->n, 2);
    const rule_t *integ = rules_find_kind(pack, RULE_INTEGRITY);
    assert_non_null(integ);
    assert_string_equal(integ->article, "24(2)");
    assert_int_equal(integ->severity, SEV_CRITICAL);
    assert_int_equal(pack->rules[0].max_offset_ms, 120000);
    rules_destroy(&pack);
}

static void field_lists_can_be_overridden_per_type(void **state)
{
    (void)state;
    rulepack_t *pack = NULL;
    char err[512] = "";
    assert_int_equal(rules_parse("rule: 4\nkind: fields\napplies to: all\narticle: per type\n"
                                 "fields evidence_registration: items, provider_seal\n" MSGS,
                                 "t.rules", &pack, err, sizeof err),
                     FT_OK);
    const char *const *f = rule_fields_for(&pack->rules[0], FT__RECORD_TYPE__EVIDENCE_REGISTRATION);
    assert_string_equal(f[0], "items");
    assert_string_equal(f[1], "provider_seal");
    assert_null(f[2]);
    f = rule_fields_for(&pack->rules[0], FT__RECORD_TYPE__DECISION);
    assert_string_equal(f[0], "decision_no");
    rules_destroy(&pack);
}

static void disabled_rule_is_kept_but_not_found(void **state)
{
    (void)state;
    rulepack_t *pack = NULL;
    char err[512] = "";
    assert_int_equal(rules_parse("rule: 16\nkind: clock\nmax offset: 120s\narticle: 7\n"
                                 "enabled: no\n" MSGS,
                                 "t.rules", &pack, err, sizeof err),
                     FT_OK);
    assert_false(pack->rules[0].enabled);
    assert_null(rules_find_kind(pack, RULE_CLOCK));
    rules_destroy(&pack);
}

/* The readiness and clock limits come from the pack: the default pack's
 * numbers, an office's own, none when the rule is off. */
static void readiness_and_clock_limits_are_the_packs(void **state)
{
    (void)state;
    rulepack_t *def = NULL, *office = NULL, *off = NULL;
    char err[512] = "";
    assert_int_equal(rules_parse(rules_default_text, "default.rules", &def, err, sizeof err),
                     FT_OK);
    const rule_t *ready = rules_find_kind(def, RULE_READINESS);
    const rule_t *clock = rules_find_kind(def, RULE_CLOCK);
    assert_false(rule_battery_low(ready, 30));
    assert_true(rule_battery_low(ready, 29.9));
    assert_false(rule_storage_low(ready, 2048));
    assert_true(rule_storage_low(ready, 2047));
    assert_false(rule_clock_off(clock, 120000));
    assert_false(rule_clock_off(clock, -120000));
    assert_true(rule_clock_off(clock, 120001));
    assert_true(rule_clock_off(clock, -120001));
    /* silence: 24 h by default, from the last contact, else the enrolment */
    const rule_t *silence = rules_find_kind(def, RULE_SILENCE);
    const int64_t day = 24 * 3600 * 1000LL, t0 = 1700000000000LL;
    assert_false(rule_silent(silence, t0, 0, t0 + day));
    assert_true(rule_silent(silence, t0, 0, t0 + day + 1));
    assert_true(rule_silent(silence, 0, t0, t0 + day + 1));
    assert_false(rule_silent(silence, 0, 0, t0 + day + 1)); /* nothing to count from */
    assert_false(rule_silent(clock, t0, 0, t0 + 10 * day));
    /* a rule of another kind judges nothing */
    assert_false(rule_battery_low(clock, 0));
    assert_false(rule_clock_off(ready, INT32_MAX));
    assert_int_equal(rules_parse("rule: 13\nkind: readiness\napplies to: recorder_checkout\n"
                                 "min battery: 60\narticle: 12\n" MSGS
                                 "\nrule: 16\nkind: clock\nmax offset: 30s\narticle: 7\n" MSGS,
                                 "office.rules", &office, err, sizeof err),
                     FT_OK);
    ready = rules_find_kind(office, RULE_READINESS);
    clock = rules_find_kind(office, RULE_CLOCK);
    assert_true(rule_battery_low(ready, 45));
    assert_false(rule_battery_low(ready, 60));
    assert_false(rule_storage_low(ready, 0)); /* no `min free mb`: no limit */
    assert_true(rule_clock_off(clock, 45000));
    assert_false(rule_clock_off(clock, 30000));
    assert_int_equal(rules_parse("rule: 13\nkind: readiness\napplies to: recorder_checkout\n"
                                 "min battery: 60\narticle: 12\nenabled: no\n" MSGS,
                                 "off.rules", &off, err, sizeof err),
                     FT_OK);
    /* switched off: nothing is low, no clock is off */
    assert_false(rule_battery_low(rules_find_kind(off, RULE_READINESS), 1));
    assert_false(rule_clock_off(rules_find_kind(off, RULE_CLOCK), INT32_MAX));
    rules_destroy(&def);
    rules_destroy(&office);
    rules_destroy(&off);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_pack_has_every_rule_of_the_regulation),
        cmocka_unit_test(malformed_packs_are_refused_with_line_and_reason),
        cmocka_unit_test(integrity_rule_is_added_when_absent),
        cmocka_unit_test(field_lists_can_be_overridden_per_type),
        cmocka_unit_test(disabled_rule_is_kept_but_not_found),
        cmocka_unit_test(readiness_and_clock_limits_are_the_packs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
