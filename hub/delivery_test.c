/* delivery_test.c: webhook configuration parsing, the three body formats and
 * the PUB topic. (Delivery itself, with retries, runs against a local HTTP
 * receiver in tests/gaps/lifecycle.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "delivery.h"

#include <stdlib.h>
#include <string.h>

static json_t *event(void)
{
    json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", "0123456789abcdef",
                          "rule", "1", "article", "13", "severity", "high", "case", "NDG-1", "unit",
                          "所.东区", "message_zh", "现场检查应当同步音像记录", "message_en",
                          "On-site inspection must be recorded", "detail",
                          "site_inspection: media cover 62%");
    return json_pack("{s:i, s:s, s:s, s:s, s:o}", "event", 3, "alert_id", "0123456789abcdef",
                     "state", "open", "at", "2026-06-01T00:00:00Z", "alert", a);
}

static void hooks_parse_all_three_formats(void **state)
{
    (void)state;
    hook_t *h = NULL;
    size_t n = 0;
    char err[256];
    assert_int_equal(
        delivery_parse_hooks("generic=http://127.0.0.1:9/a wecom=https://qyapi.example/"
                             "send?key=k, dingtalk=https://oapi.example/robot?t=1",
                             &h, &n, err, sizeof err),
        FT_OK);
    assert_int_equal(n, 3);
    assert_int_equal(h[0].format, HOOK_GENERIC);
    assert_string_equal(h[0].url, "http://127.0.0.1:9/a");
    assert_int_equal(h[1].format, HOOK_WECOM);
    assert_int_equal(h[2].format, HOOK_DINGTALK);
    free(h);
}

static void hooks_refuse_unknown_format_scheme_and_shape(void **state)
{
    (void)state;
    hook_t *h = NULL;
    size_t n = 0;
    char err[256];
    assert_int_equal(delivery_parse_hooks("slack=http://x", &h, &n, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "slack"));
    assert_int_equal(delivery_parse_hooks("generic=ftp://x", &h, &n, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "http://"));
    assert_int_equal(delivery_parse_hooks("generic", &h, &n, err, sizeof err), FT_EINVAL);
    assert_null(h);
    assert_int_equal(n, 0);
}

static void generic_body_is_the_event(void **state)
{
    (void)state;
    json_t *ev = event();
    char *body = delivery_body(HOOK_GENERIC, ev);
    json_t *back = json_loads(body, 0, NULL);
    assert_true(json_equal(back, ev));
    json_decref(back);
    free(body);
    json_decref(ev);
}

static void bot_bodies_are_text_messages_zh_first(void **state)
{
    (void)state;
    json_t *ev = event();
    for (int f = HOOK_WECOM; f <= HOOK_DINGTALK; f++) {
        char *body = delivery_body((hook_format)f, ev);
        json_t *j = json_loads(body, 0, NULL);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "msgtype")), "text");
        const char *text =
            json_string_value(json_object_get(json_object_get(j, "text"), "content"));
        assert_non_null(text);
        const char *zh = strstr(text, "现场检查应当同步音像记录");
        const char *en = strstr(text, "On-site inspection must be recorded");
        assert_non_null(zh);
        assert_non_null(en);
        assert_true(zh < en);
        assert_non_null(strstr(text, "第13条"));
        assert_non_null(strstr(text, "NDG-1"));
        json_decref(j);
        free(body);
    }
    json_decref(ev);
}

static void topic_is_unit_and_severity_without_dots(void **state)
{
    (void)state;
    json_t *ev = event();
    char topic[128];
    delivery_topic(ev, topic, sizeof topic);
    assert_string_equal(topic, "alert.所_东区.high");
    json_decref(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hooks_parse_all_three_formats),
        cmocka_unit_test(hooks_refuse_unknown_format_scheme_and_shape),
        cmocka_unit_test(generic_body_is_the_event),
        cmocka_unit_test(bot_bodies_are_text_messages_zh_first),
        cmocka_unit_test(topic_is_unit_and_severity_without_dots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
