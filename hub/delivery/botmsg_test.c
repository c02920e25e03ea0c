/* botmsg_test.c: the exact request each bot receives for one alert event
 * (generic, WeCom markdown and text, DingTalk signed markdown, Feishu signed
 * post), the signatures against vectors computed apart from this code
 * (Python's hmac and hashlib), mentions, text from records made harmless,
 * merged messages and digests, and the length limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "botmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET "SECtest0123456789abcdef"
#define T_MS 1780000000000LL

static json_t *event_of(const char *state, const char *unit, const char *officer,
                        const char *severity)
{
    json_t *a = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:s, s:s, s:s}", "id", "0123456789abcdef", "rule",
        "1", "article", "13", "severity", severity, "case", "NDG-1", "unit", unit, "officers",
        officer, "message_zh", "现场检查应当同步音像记录", "message_en",
        "On-site inspection must be recorded", "detail", "site_inspection: media cover 62%");
    return json_pack("{s:i, s:s, s:s, s:s, s:o}", "event", 3, "alert_id", "0123456789abcdef",
                     "state", state, "at", "2026-06-01T00:00:00Z", "alert", a);
}

static json_t *event(void)
{
    return event_of("open", "东区所", "ZF-0101", "high");
}

/* 王伟 (an officer: wecom_id, feishu_id, mobile), 李娜 (the unit's
 * supervisor: dingtalk_id, mobile). */
static void people(person_t p[2])
{
    memset(p, 0, 2 * sizeof *p);
    strcpy(p[0].id, "wang");
    strcpy(p[0].name, "王伟");
    strcpy(p[0].mobile, "13800000001");
    strcpy(p[0].wecom_id, "wangwei");
    strcpy(p[0].feishu_id, "ou_wang");
    assert_true(route_list_add(p[0].officers, sizeof p[0].officers, "ZF-0101"));
    strcpy(p[1].id, "li");
    strcpy(p[1].name, "李娜");
    strcpy(p[1].mobile, "13900000002");
    strcpy(p[1].dingtalk_id, "lina01");
    assert_true(route_list_add(p[1].supervises, sizeof p[1].supervises, "东区所"));
}

/* The request for m to a hook of format f (secret: SECRET or none). */
static void request(const botmsg_t *m, hook_format f, bool secret, char **url, char **body)
{
    hook_t h = {.format = f};
    strcpy(h.url, "http://127.0.0.1:9/x?access_token=T");
    if (secret) {
        strcpy(h.secret, SECRET);
    }
    assert_int_equal(botmsg_request(m, &h, T_MS, url, body), FT_OK);
}

static void signatures_match_independent_vectors(void **state)
{
    (void)state;
    char s[128];
    /* python3: base64(hmac(SECRET, "1780000000000\nSECRET", sha256)), %-encoded */
    botmsg_sign_dingtalk(SECRET, T_MS, s, sizeof s);
    assert_string_equal(s, "KeCiHcYSkSAJrcW0vU5uZeFKLj%2BvuX9xujVsP6ImKnY%3D");
    /* python3: base64(hmac("1780000000\nSECRET", b"", sha256)) */
    botmsg_sign_feishu(SECRET, T_MS / 1000, s, sizeof s);
    assert_string_equal(s, "S2XJxda9yFK1yLhKNv9deg2Pnd+AocoRPrPD/uPU18g=");
}

static void generic_is_the_event(void **state)
{
    (void)state;
    json_t *ev = event();
    botmsg_ctx_t c = {0};
    botmsg_t *m = botmsg_event(ev, &c);
    char *url, *body;
    request(m, HOOK_GENERIC, false, &url, &body);
    assert_string_equal(url, "http://127.0.0.1:9/x?access_token=T");
    json_t *back = json_loads(body, 0, NULL);
    assert_true(json_equal(back, ev));
    json_decref(back);
    free(url);
    free(body);
    botmsg_free(&m);
    json_decref(ev);
}

static void dingtalk_signed_markdown_with_mentions(void **state)
{
    (void)state;
    json_t *ev = event();
    person_t p[2];
    people(p);
    botmsg_ctx_t c = {
        .dashboard_url = "https://hub.example/", .people = p, .n_people = 2, .mention = true};
    botmsg_t *m = botmsg_event(ev, &c);
    char *url, *body;
    request(m, HOOK_DINGTALK, true, &url, &body);
    assert_string_equal(url, "http://127.0.0.1:9/x?access_token=T&timestamp=1780000000000"
                             "&sign=KeCiHcYSkSAJrcW0vU5uZeFKLj%2BvuX9xujVsP6ImKnY%3D");
    assert_string_equal(
        body,
        "{\"msgtype\":\"markdown\",\"markdown\":{\"title\":\"fieldtrail 执法记录告警 · "
        "新告警\",\"text\":\"### fieldtrail 执法记录告警 · 新告警\\n\\n请处理：@13800000001 "
        "@lina01\\n\\n**第13条 · 规则 1 · 严重程度 高**\\n\\n现场检查应当同步音像记录\\n\\n> "
        "案件：NDG-1\\n\\n> 单位：东区所\\n\\n> 执法人员：ZF-0101\\n\\n> 情况：site_inspection: "
        "media cover 62%\\n\\n[在工作台查看](https://hub.example/#/alerts?q=0123456789abcdef)\\n\\n"
        "**[open] Art. 13 · rule 1 · high**\\n\\nOn-site inspection must be recorded\\n\\n> case "
        "NDG-1 · unit 东区所\\n\\n> officers ZF-0101\\n\\n> site_inspection: media cover "
        "62%\\n\\nalert 0123456789abcdef · 2026-06-01T00:00:00Z\\n\\n[Open in the "
        "dashboard](https://hub.example/#/alerts?q=0123456789abcdef)\"},\"at\":{\"atMobiles\":["
        "\"13800000001\"],\"atUserIds\":[\"lina01\"],\"isAtAll\":false}}");
    free(url);
    free(body);
    /* without a secret the URL is the hook's own, and mention = no names nobody */
    c.mention = false;
    botmsg_free(&m);
    m = botmsg_event(ev, &c);
    request(m, HOOK_DINGTALK, false, &url, &body);
    assert_string_equal(url, "http://127.0.0.1:9/x?access_token=T");
    assert_null(strstr(body, "\"at\""));
    assert_null(strstr(body, "请处理"));
    free(url);
    free(body);
    botmsg_free(&m);
    json_decref(ev);
}

static void feishu_signed_post_in_two_languages(void **state)
{
    (void)state;
    json_t *ev = event();
    person_t p[2];
    people(p);
    botmsg_ctx_t c = {
        .dashboard_url = "https://hub.example", .people = p, .n_people = 2, .mention = true};
    botmsg_t *m = botmsg_event(ev, &c);
    char *url, *body;
    request(m, HOOK_FEISHU, true, &url, &body);
    assert_string_equal(url, "http://127.0.0.1:9/x?access_token=T");
    assert_string_equal(
        body,
        "{\"timestamp\":\"1780000000\",\"sign\":\"S2XJxda9yFK1yLhKNv9deg2Pnd+AocoRPrPD/uPU18g=\","
        "\"msg_type\":\"post\",\"content\":{\"post\":{\"zh_cn\":{\"title\":\"fieldtrail "
        "执法记录告警 · 新告警\",\"content\":[[{\"tag\":\"text\",\"text\":\"请处理：\"},{\"tag\":"
        "\"at\",\"user_id\":\"ou_wang\",\"user_name\":\"王伟\"},{\"tag\":\"text\",\"text\":"
        "\"李娜\"}],[{\"tag\":\"text\",\"text\":\"第13条 · 规则 1 · 严重程度 高\"}],[{\"tag\":"
        "\"text\",\"text\":\"现场检查应当同步音像记录\"}],[{\"tag\":\"text\",\"text\":\"案件："
        "NDG-1\"}],[{\"tag\":\"text\",\"text\":\"单位：东区所\"}],[{\"tag\":\"text\",\"text\":"
        "\"执法人员：ZF-0101\"}],[{\"tag\":\"text\",\"text\":\"情况：site_inspection: media cover "
        "62%\"}],[{\"tag\":\"a\",\"text\":\"在工作台查看\",\"href\":\"https://hub.example/#/"
        "alerts?q=0123456789abcdef\"}]]},\"en_us\":{\"title\":\"[open] Art. 13 · rule 1 · "
        "high\",\"content\":[[{\"tag\":\"text\",\"text\":\"To act: \"},{\"tag\":\"at\","
        "\"user_id\":\"ou_wang\",\"user_name\":\"王伟\"},{\"tag\":\"text\",\"text\":\"李娜\"}],[{"
        "\"tag\":\"text\",\"text\":\"On-site inspection must be recorded\"}],[{\"tag\":\"text\","
        "\"text\":\"case NDG-1 · unit 东区所\"}],[{\"tag\":\"text\",\"text\":\"officers "
        "ZF-0101\"}],[{\"tag\":\"text\",\"text\":\"site_inspection: media cover 62%\"}],[{\"tag\":"
        "\"text\",\"text\":\"alert 0123456789abcdef · 2026-06-01T00:00:00Z\"}],[{\"tag\":\"a\","
        "\"text\":\"Open in the dashboard\",\"href\":\"https://hub.example/#/alerts?q="
        "0123456789abcdef\"}]]}}}}");
    free(url);
    free(body);
    request(m, HOOK_FEISHU, false, &url, &body);
    assert_true(strncmp(body, "{\"msg_type\":\"post\"", 18) == 0); /* unsigned: no timestamp */
    free(url);
    free(body);
    botmsg_free(&m);
    json_decref(ev);
}

static void wecom_markdown_or_text_when_a_mobile_must_mention(void **state)
{
    (void)state;
    json_t *ev = event();
    person_t p[2];
    people(p);
    /* only 王伟 (a WeCom user id): markdown with <@wangwei> */
    botmsg_ctx_t c = {.people = p, .n_people = 1, .mention = true};
    botmsg_t *m = botmsg_event(ev, &c);
    char *url, *body;
    request(m, HOOK_WECOM, false, &url, &body);
    assert_string_equal(
        body, "{\"msgtype\":\"markdown\",\"markdown\":{\"content\":\"### fieldtrail 执法记录告警 "
              "· 新告警\\n请处理：<@wangwei>\\n**第13条 · 规则 1 · 严重程度 "
              "高**\\n现场检查应当同步音像记录\\n> 案件：NDG-1\\n> 单位：东区所\\n> "
              "执法人员：ZF-0101\\n> 情况：site_inspection: media cover 62%\\n**[open] Art. 13 · "
              "rule 1 · high**\\nOn-site inspection must be recorded\\n> case NDG-1 · unit "
              "东区所\\n> officers ZF-0101\\n> site_inspection: media cover 62%\\nalert "
              "0123456789abcdef · 2026-06-01T00:00:00Z\"}}");
    free(url);
    free(body);
    botmsg_free(&m);
    /* 李娜 too, known to WeCom by her mobile only: a text message with the lists */
    c.n_people = 2;
    m = botmsg_event(ev, &c);
    request(m, HOOK_WECOM, false, &url, &body);
    json_t *j = json_loads(body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "msgtype")), "text");
    const json_t *t = json_object_get(j, "text");
    json_t *want = json_pack("{s:[s], s:[s]}", "mentioned_list", "wangwei", "mentioned_mobile_list",
                             "13900000002");
    assert_true(
        json_equal(json_object_get(t, "mentioned_list"), json_object_get(want, "mentioned_list")));
    assert_true(json_equal(json_object_get(t, "mentioned_mobile_list"),
                           json_object_get(want, "mentioned_mobile_list")));
    const char *content = json_string_value(json_object_get(t, "content"));
    assert_non_null(strstr(content, "请处理：王伟 李娜\n"));
    assert_null(strstr(content, "**"));
    json_decref(want);
    json_decref(j);
    free(url);
    free(body);
    botmsg_free(&m);
    json_decref(ev);
}

static void record_text_cannot_mention_or_link(void **state)
{
    (void)state;
    json_t *ev = event_of("open", "<@all>[x](http://evil)\n", "ZF-0101", "high");
    botmsg_ctx_t c = {0};
    botmsg_t *m = botmsg_event(ev, &c);
    char *url, *body;
    request(m, HOOK_DINGTALK, false, &url, &body);
    assert_null(strstr(body, "<@all>"));
    assert_null(strstr(body, "](http://evil)"));
    assert_non_null(strstr(body, "＜@all＞［x］(http://evil)"));
    free(url);
    free(body);
    botmsg_free(&m);
    json_decref(ev);
}

static void merged_message_says_how_many_per_unit(void **state)
{
    (void)state;
    json_t *evs[12];
    for (int i = 0; i < 12; i++) {
        evs[i] = event_of(i == 11 ? "resolved" : "open", i < 9 ? "东区所" : "西区所", "ZF-0102",
                          i == 4 ? "critical" : "medium");
    }
    botmsg_ctx_t c = {.dashboard_url = "https://hub.example"};
    botmsg_t *m = botmsg_merged(evs, 12, 100, 140, &c);
    assert_non_null(m);
    char *url, *body;
    request(m, HOOK_WECOM, false, &url, &body);
    json_t *j = json_loads(body, 0, NULL);
    const char *text =
        json_string_value(json_object_get(json_object_get(j, "markdown"), "content"));
    assert_non_null(strstr(text, "9 more alerts in unit 东区所"));
    assert_non_null(strstr(text, "3 more alerts in unit 西区所"));
    assert_non_null(strstr(text, "hub log entries 100–140"));
    assert_non_null(strstr(text, "https://hub.example/#/alerts?unit=%E4%B8%9C%E5%8C%BA%E6%89%80"
                                 "&state=open"));
    /* the critical one is shown first among those shown one by one */
    const char *crit = strstr(text, "严重"), *med = strstr(text, "> ［新告警］");
    assert_non_null(crit);
    assert_true(!med || crit < med);
    json_decref(j);
    free(url);
    free(body);
    request(m, HOOK_GENERIC, false, &url, &body);
    j = json_loads(body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "merged");
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 12);
    assert_int_equal(json_array_size(json_object_get(j, "events")), 12);
    assert_int_equal(json_integer_value(json_object_get(j, "first_entry")), 100);
    json_decref(j);
    free(url);
    free(body);
    botmsg_free(&m);
    for (int i = 0; i < 12; i++) {
        json_decref(evs[i]);
    }
}

static void digest_counts_gaps_and_link(void **state)
{
    (void)state;
    digest_unit_t u = {.at_ms = T_MS, .since_ms = T_MS - 86400000, .open_total = 3};
    strcpy(u.unit, "东区所");
    u.open_sev[1] = 2;
    u.open_sev[3] = 1;
    u.open_by_article = json_pack("{s:i, s:i}", "13", 2, "24(3)", 1);
    u.opened = 2;
    u.resolved = 1;
    json_t *a =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:I}", "id", "aa", "rule", "1", "article",
                  "13", "severity", "medium", "case", "NDG-7", "unit", "东区所", "officers",
                  "ZF-0101", "opened_at_ms", (json_int_t)(T_MS - (3 * 86400000LL + 4 * 3600000LL)));
    u.oldest = json_pack("[O]", a);
    u.opened_list = json_pack("[O]", a);
    u.resolved_list = json_array();
    person_t p[2];
    people(p);
    botmsg_ctx_t c = {
        .dashboard_url = "https://hub.example", .people = p, .n_people = 2, .mention = true};
    botmsg_t *m = botmsg_digest(&u, &c);
    assert_non_null(m);
    char *url, *body;
    request(m, HOOK_DINGTALK, false, &url, &body);
    json_t *j = json_loads(body, 0, NULL);
    const char *text = json_string_value(json_object_get(json_object_get(j, "markdown"), "text"));
    assert_non_null(strstr(text, "未处理告警 3 条（严重 1 · 中 2）"));
    assert_non_null(strstr(text, "第13条 2 · 第24(3)条 1"));
    assert_non_null(strstr(text, "新告警 2，已消除 1，已说明理由 0"));
    assert_non_null(strstr(text, "案件 NDG-7 · 执法人员 ZF-0101 · 已 3 天 4 小时"));
    assert_non_null(strstr(text, "3 open (critical 1, medium 2)"));
    assert_non_null(strstr(text, "https://hub.example/#/alerts?unit=%E4%B8%9C%E5%8C%BA%E6%89%80"));
    /* a digest names the unit's supervisor, not the officers */
    const json_t *at = json_object_get(j, "at");
    assert_int_equal(json_array_size(json_object_get(at, "atUserIds")), 1);
    assert_int_equal(json_array_size(json_object_get(at, "atMobiles")), 0);
    json_decref(j);
    free(url);
    free(body);
    request(m, HOOK_GENERIC, false, &url, &body);
    j = json_loads(body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "digest");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "open"), "total")), 3);
    const json_t *old = json_array_get(json_object_get(j, "oldest"), 0);
    assert_int_equal(json_integer_value(json_object_get(old, "open_for_s")), 3 * 86400 + 4 * 3600);
    json_decref(j);
    free(url);
    free(body);
    botmsg_free(&m);
    json_decref(a);
    json_decref(u.open_by_article);
    json_decref(u.oldest);
    json_decref(u.opened_list);
    json_decref(u.resolved_list);
}

static void long_text_stays_under_each_bots_limit(void **state)
{
    (void)state;
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    json_t *evs[40];
    for (int i = 0; i < 40; i++) {
        evs[i] = event();
        json_object_set_new(json_object_get(evs[i], "alert"), "detail", json_string(big));
    }
    botmsg_ctx_t c = {0};
    botmsg_t *m = botmsg_merged(evs, 40, 1, 40, &c);
    char *url, *body;
    request(m, HOOK_WECOM, false, &url, &body);
    json_t *j = json_loads(body, 0, NULL);
    const char *t = json_string_value(json_object_get(json_object_get(j, "markdown"), "content"));
    assert_true(strlen(t) <= 4096);
    assert_non_null(strstr(t, "…"));
    json_decref(j);
    free(url);
    free(body);
    request(m, HOOK_FEISHU, false, &url, &body);
    assert_true(strlen(body) <= 20000);
    free(url);
    free(body);
    botmsg_free(&m);
    for (int i = 0; i < 40; i++) {
        json_decref(evs[i]);
    }
}

static void links_and_durations(void **state)
{
    (void)state;
    char out[256];
    botmsg_alerts_link("https://h.example//", "A B", NULL, out, sizeof out);
    assert_string_equal(out, "https://h.example/#/alerts?unit=A%20B&state=open");
    botmsg_alerts_link(NULL, "A", NULL, out, sizeof out);
    assert_string_equal(out, "");
    botmsg_duration(90 * 60000, true, out, sizeof out);
    assert_string_equal(out, "1 小时 30 分");
    botmsg_duration(26 * 3600000LL, false, out, sizeof out);
    assert_string_equal(out, "1 d 2 h");
    botmsg_duration(-5, false, out, sizeof out);
    assert_string_equal(out, "0 min");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signatures_match_independent_vectors),
        cmocka_unit_test(generic_is_the_event),
        cmocka_unit_test(dingtalk_signed_markdown_with_mentions),
        cmocka_unit_test(feishu_signed_post_in_two_languages),
        cmocka_unit_test(wecom_markdown_or_text_when_a_mobile_must_mention),
        cmocka_unit_test(record_text_cannot_mention_or_link),
        cmocka_unit_test(merged_message_says_how_many_per_unit),
        cmocka_unit_test(digest_counts_gaps_and_link),
        cmocka_unit_test(long_text_stays_under_each_bots_limit),
        cmocka_unit_test(links_and_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
