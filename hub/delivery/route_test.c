/* route_test.c: [webhook.NAME] and [person.ID] sections (every setting, the
 * defaults, each refusal naming its line), filters (units, severities,
 * articles, rules, event kinds), a digest hook's immediate severities,
 * mentions, the status description (no URL, no secret) and the pace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pace.h"
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KV(k, v, l)                                                                                \
    {                                                                                              \
        k, v, l                                                                                    \
    }

static int parse(const route_kv_t *kv, size_t n, route_conf_t *out, char *err, size_t len)
{
    return route_parse(kv, n, "hub.conf", out, err, len);
}

static void full_sections_parse(void **state)
{
    (void)state;
    const route_kv_t kv[] = {
        KV("alerts.dashboard_url", "https://hub.example:8443", 3),
        KV("webhook.north.format", "dingtalk", 10),
        KV("webhook.north.url", "https://oapi.dingtalk.com/robot/send?access_token=x", 11),
        KV("webhook.north.secret", "SECabc", 12),
        KV("webhook.north.units", "东区所, 西区所", 13),
        KV("webhook.north.severities", "high critical", 14),
        KV("webhook.north.articles", "13 24(3)", 15),
        KV("webhook.north.events", "opened,justified", 16),
        KV("webhook.north.mode", "digest", 17),
        KV("webhook.north.digest_at", "17:30 08:30", 18),
        KV("webhook.north.rate", "10", 19),
        KV("webhook.all.format", "wecom", 21),
        KV("webhook.all.url", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", 22),
        KV("webhook.all.mention", "no", 23),
        KV("person.wang.name", "王伟", 30),
        KV("person.wang.mobile", "13800000001", 31),
        KV("person.wang.officers", "ZF-0101 ZF-0102", 32),
        KV("alerts.webhooks", "generic=http://x", 40), /* not route's business */
    };
    route_conf_t c;
    char err[512] = "";
    assert_int_equal(parse(kv, sizeof kv / sizeof kv[0], &c, err, sizeof err), FT_OK);
    assert_string_equal(c.dashboard_url, "https://hub.example:8443");
    assert_int_equal(c.n_hooks, 2);
    const hook_t *n = &c.hooks[0];
    assert_string_equal(n->name, "north");
    assert_int_equal(n->line, 10);
    assert_int_equal(n->format, HOOK_DINGTALK);
    assert_string_equal(n->secret, "SECabc");
    assert_true(route_list_has(n->filter.units, "西区所"));
    assert_int_equal(n->filter.severities, ROUTE_SEV_HIGH | ROUTE_SEV_CRITICAL);
    assert_int_equal(n->filter.events, ROUTE_EV_OPENED | ROUTE_EV_JUSTIFIED);
    assert_int_equal(n->mode, HOOK_DIGEST);
    assert_int_equal(n->n_digest_at, 2);
    assert_int_equal(n->digest_at[0], 8 * 60 + 30); /* kept in order */
    assert_int_equal(n->digest_at[1], 17 * 60 + 30);
    assert_int_equal(n->immediate, ROUTE_SEV_CRITICAL); /* the default beside a digest */
    assert_int_equal(n->rate, 10);
    const hook_t *a = &c.hooks[1];
    assert_int_equal(a->rate, route_format_default_rate(HOOK_WECOM));
    assert_true(a->rate < route_format_limit(HOOK_WECOM));
    assert_true(a->no_mention);
    assert_int_equal(a->mode, HOOK_EACH);
    assert_int_equal(c.n_people, 1);
    assert_string_equal(c.people[0].name, "王伟");
    assert_true(route_list_has(c.people[0].officers, "ZF-0102"));
    char d[1024];
    route_describe(n, d, sizeof d);
    assert_string_equal(d, "units 东区所, 西区所; severities high, critical; articles 13, 24(3); "
                           "events opened, justified; digest at 08:30, 17:30; immediate "
                           "critical; at most 10 messages a minute; signed");
    assert_null(strstr(d, "SECabc"));
    route_describe(a, d, sizeof d);
    assert_string_equal(d, "every alert event; each event; at most 18 messages a minute; no "
                           "mentions");
    route_free(&c);
}

/* refused: the one setting, its error must hold want */
static void refused(const route_kv_t *kv, size_t n, const char *want)
{
    route_conf_t c;
    char err[512] = "";
    assert_int_equal(parse(kv, n, &c, err, sizeof err), FT_EINVAL);
    if (!strstr(err, want)) {
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
    }
    assert_null(c.hooks);
}

static void each_mistake_names_its_line(void **state)
{
    (void)state;
    const route_kv_t fmt[] = {KV("webhook.a.format", "slack", 5),
                              KV("webhook.a.url", "http://x", 6)};
    refused(fmt, 2, "hub.conf line 5: [webhook.a] format: \"slack\" is not one of");
    const route_kv_t nourl[] = {KV("webhook.a.format", "wecom", 7)};
    refused(nourl, 1, "hub.conf line 7: [webhook.a] has no url");
    const route_kv_t url[] = {KV("webhook.a.format", "wecom", 7),
                              KV("webhook.a.url", "ftp://x", 8)};
    refused(url, 2, "line 8: [webhook.a] url: must be an http:// or https:// URL");
    const route_kv_t sev[] = {KV("webhook.a.format", "wecom", 1),
                              KV("webhook.a.url", "http://x", 2),
                              KV("webhook.a.severities", "high urgent", 3)};
    refused(sev, 3,
            "line 3: [webhook.a] severities: \"urgent\" is not one of low, medium, high, "
            "critical");
    const route_kv_t ev[] = {KV("webhook.a.format", "wecom", 1), KV("webhook.a.url", "http://x", 2),
                             KV("webhook.a.events", "open", 4)};
    refused(ev, 3,
            "line 4: [webhook.a] events: \"open\" is not one of opened, resolved, justified");
    const route_kv_t nodig[] = {KV("webhook.a.format", "wecom", 1),
                                KV("webhook.a.url", "http://x", 2),
                                KV("webhook.a.mode", "digest", 3)};
    refused(nodig, 3, "line 3: [webhook.a] mode: a digest needs digest_at");
    const route_kv_t t[] = {KV("webhook.a.format", "wecom", 1), KV("webhook.a.url", "http://x", 2),
                            KV("webhook.a.mode", "digest", 3),
                            KV("webhook.a.digest_at", "8:30", 4)};
    refused(t, 4, "line 4: [webhook.a] digest_at: \"8:30\" is not a local time HH:MM");
    const route_kv_t t2[] = {KV("webhook.a.format", "wecom", 1), KV("webhook.a.url", "http://x", 2),
                             KV("webhook.a.digest_at", "08:30", 4)};
    refused(t2, 3, "line 4: [webhook.a] digest_at: digest times need mode = digest");
    const route_kv_t rate[] = {KV("webhook.a.format", "dingtalk", 1),
                               KV("webhook.a.url", "http://x", 2), KV("webhook.a.rate", "30", 9)};
    refused(rate, 3, "line 9: [webhook.a] rate: 30 is above what a dingtalk robot takes (20");
    const route_kv_t sec[] = {KV("webhook.a.format", "wecom", 1),
                              KV("webhook.a.url", "http://x", 2),
                              KV("webhook.a.secret", "TOPSECRET", 6)};
    refused(sec, 3, "line 6: [webhook.a] secret: a signing secret is for dingtalk and feishu");
    const route_kv_t sec2[] = {KV("webhook.a.format", "feishu", 1),
                               KV("webhook.a.url", "http://x", 2),
                               KV("webhook.a.secret", "TOP SECRET", 6)};
    route_conf_t c;
    char err[512];
    assert_int_equal(parse(sec2, 3, &c, err, sizeof err), FT_EINVAL);
    assert_null(strstr(err, "TOP")); /* a secret is never repeated */
    const route_kv_t name[] = {KV("webhook.a b.format", "wecom", 11)};
    refused(name, 1, "line 11: [webhook.a b] the name after \"webhook.\" must be");
    const route_kv_t key[] = {KV("webhook.a.format", "wecom", 1),
                              KV("webhook.a.url", "http://x", 2), KV("webhook.a.unit", "X", 12)};
    refused(key, 3, "line 12: [webhook.a] unit: not a webhook setting");
    const route_kv_t same[] = {
        KV("webhook.a.format", "wecom", 1), KV("webhook.a.url", "http://x", 2),
        KV("webhook.b.format", "wecom", 3), KV("webhook.b.url", "http://x", 4)};
    refused(same, 4, "[webhook.a] and [webhook.b] have the same format and URL");
    const route_kv_t who[] = {KV("person.p.name", "X", 20), KV("person.p.officers", "ZF-1", 21)};
    refused(who, 2, "line 20: [person.p] names no way to mention them");
    const route_kv_t what[] = {KV("person.p.mobile", "138", 20)};
    refused(what, 1, "line 20: [person.p] is mentioned for nothing");
    const route_kv_t mob[] = {KV("person.p.mobile", "call me", 22)};
    refused(mob, 1, "line 22: [person.p] mobile: must be one word");
    const route_kv_t dash[] = {KV("alerts.dashboard_url", "https://h/#/x", 2)};
    refused(dash, 1, "line 2: [alerts] dashboard_url: must be the dashboard's");
    const route_kv_t empty[] = {KV("webhook.a.format", "wecom", 1),
                                KV("webhook.a.url", "http://x", 2),
                                KV("webhook.a.units", " , ", 3)};
    refused(empty, 3, "line 3: [webhook.a] units: an empty list");
}

static json_t *ev(const char *state, const char *unit, const char *sev, const char *art,
                  const char *rule)
{
    return json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:[s]}}", "state", state, "alert", "unit", unit,
                     "severity", sev, "article", art, "rule", rule, "officers", "ZF-0101");
}

static void filters_admit_exactly_what_they_name(void **state)
{
    (void)state;
    hook_t h = {.format = HOOK_GENERIC};
    assert_true(route_list_add(h.filter.units, sizeof h.filter.units, "U1"));
    assert_true(route_list_add(h.filter.articles, sizeof h.filter.articles, "13"));
    h.filter.severities = ROUTE_SEV_HIGH | ROUTE_SEV_CRITICAL;
    h.filter.events = ROUTE_EV_OPENED | ROUTE_EV_RESOLVED;
    struct {
        json_t *e;
        bool in;
    } cases[] = {
        {ev("open", "U1", "high", "13", "1"), true},
        {ev("resolved", "U1", "critical", "13(2)", "1"), true}, /* 13 takes 13(2) */
        {ev("justified", "U1", "high", "13", "1"), false},      /* not that kind */
        {ev("open", "U2", "high", "13", "1"), false},           /* not that unit */
        {ev("open", "U1", "medium", "13", "1"), false},         /* not that severity */
        {ev("open", "U1", "high", "130", "1"), false},          /* 13 is not 130 */
        {ev("open", "U1", "high", "24", "1"), false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (route_admits(&h.filter, cases[i].e) != cases[i].in) {
            fail_msg("case %zu", i);
        }
        json_decref(cases[i].e);
    }
    hook_t r = {.format = HOOK_GENERIC};
    assert_true(route_list_add(r.filter.rules, sizeof r.filter.rules, "5"));
    json_t *e5 = ev("open", "U", "low", "1", "5"), *e6 = ev("open", "U", "low", "1", "6");
    assert_true(route_admits(&r.filter, e5));
    assert_false(route_admits(&r.filter, e6));
    /* a digest hook sends at once only its immediate severities */
    r.mode = HOOK_DIGEST;
    r.immediate = ROUTE_SEV_CRITICAL;
    assert_false(route_sends_now(&r, e5));
    json_t *c5 = ev("open", "U", "critical", "1", "5");
    assert_true(route_sends_now(&r, c5));
    r.immediate = 0;
    assert_false(route_sends_now(&r, c5));
    json_decref(e5);
    json_decref(e6);
    json_decref(c5);
}

static void mentions_name_the_officer_and_the_supervisor_once(void **state)
{
    (void)state;
    person_t p[3] = {0};
    strcpy(p[0].id, "off");
    assert_true(route_list_add(p[0].officers, sizeof p[0].officers, "ZF-0101"));
    strcpy(p[1].id, "sup");
    assert_true(route_list_add(p[1].supervises, sizeof p[1].supervises, "U1"));
    strcpy(p[2].id, "both");
    assert_true(route_list_add(p[2].officers, sizeof p[2].officers, "ZF-0101"));
    assert_true(route_list_add(p[2].supervises, sizeof p[2].supervises, "U1"));
    json_t *e = ev("open", "U1", "high", "13", "1");
    const person_t *who[8];
    size_t n = route_mentions(p, 3, json_object_get(e, "alert"), who, 8);
    assert_int_equal(n, 3);
    assert_ptr_equal(who[0], &p[0]);
    assert_ptr_equal(who[1], &p[2]);
    assert_ptr_equal(who[2], &p[1]);
    json_t *other = ev("open", "U2", "high", "13", "1");
    json_object_set_new(json_object_get(other, "alert"), "officers", json_array());
    assert_int_equal(route_mentions(p, 3, json_object_get(other, "alert"), who, 8), 0);
    json_decref(e);
    json_decref(other);
}

static void pace_keeps_below_the_rate_in_any_minute(void **state)
{
    (void)state;
    pace_t p = {0};
    const unsigned rate = 18;
    int64_t t = 1000000;
    /* greedy sender: one message whenever allowed, over ten minutes */
    for (int64_t now = t; now < t + 600000; now += 100) {
        if (pace_allowance(&p, rate, now) > 0) {
            pace_note(&p, now);
        }
    }
    /* every 60 s window holds at most 18 and every short window at most 3 */
    for (size_t i = 0; i < p.n; i++) {
        unsigned in_min = 0, in_short = 0;
        for (size_t j = i; j < p.n; j++) {
            in_min += p.t[j] < p.t[i] + 60000;
            in_short += p.t[j] < p.t[i] + 3 * 3334;
        }
        assert_true(in_min <= rate);
        assert_true(in_short <= PACE_BURST);
    }
    assert_true(p.n >= 100); /* and it does use the rate (the last 128 kept) */
    /* pace_next says when the next one may go, and no earlier */
    int64_t last = p.t[p.n - 1];
    int64_t next = pace_next(&p, rate, last);
    assert_true(next > last);
    assert_int_equal(pace_allowance(&p, rate, next - 1), 0);
    assert_true(pace_allowance(&p, rate, next) > 0);
    /* unpaced, and a clock stepped back does not count sends "after" now */
    assert_true(pace_allowance(&p, 0, last) > 1000);
    assert_int_equal(pace_allowance(&p, rate, last - 3600000), PACE_BURST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_sections_parse),
        cmocka_unit_test(each_mistake_names_its_line),
        cmocka_unit_test(filters_admit_exactly_what_they_name),
        cmocka_unit_test(mentions_name_the_officer_and_the_supervisor_once),
        cmocka_unit_test(pace_keeps_below_the_rate_in_any_minute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
