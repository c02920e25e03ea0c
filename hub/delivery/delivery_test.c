/* delivery_test.c: webhook configuration parsing, the three body formats, the
 * PUB topic, hook names and keys (no URL secrets), the cursors file and the
 * replay age limit. (Delivery itself, with retries, restarts, crashes and a
 * black-hole hook, runs against local HTTP receivers in
 * tests/gaps/lifecycle.sh and tests/gaps/webhook_outbox.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "botmsg.h"
#include "delivery.h"

#include "fsutil.h"
#include "keys.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The request of one event for a hook of format f (no secret). */
static json_t *request_of(hook_format f, const json_t *ev)
{
    hook_t h = {.format = f};
    snprintf(h.url, sizeof h.url, "http://127.0.0.1:9/hook");
    botmsg_ctx_t c = {0};
    botmsg_t *m = botmsg_event(ev, &c);
    assert_non_null(m);
    char *url = NULL, *body = NULL;
    assert_int_equal(botmsg_request(m, &h, 1780000000000, &url, &body), FT_OK);
    assert_string_equal(url, h.url);
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    free(url);
    free(body);
    botmsg_free(&m);
    return j;
}

static void generic_body_is_the_event(void **state)
{
    (void)state;
    json_t *ev = event();
    json_t *back = request_of(HOOK_GENERIC, ev);
    assert_true(json_equal(back, ev));
    json_decref(back);
    json_decref(ev);
}

static void bot_bodies_are_markdown_messages_zh_first(void **state)
{
    (void)state;
    json_t *ev = event();
    for (int f = HOOK_WECOM; f <= HOOK_DINGTALK; f++) {
        json_t *j = request_of((hook_format)f, ev);
        assert_string_equal(json_string_value(json_object_get(j, "msgtype")), "markdown");
        const json_t *md = json_object_get(j, "markdown");
        const char *text =
            json_string_value(json_object_get(md, f == HOOK_WECOM ? "content" : "text"));
        assert_non_null(text);
        const char *zh = strstr(text, "现场检查应当同步音像记录");
        const char *en = strstr(text, "On-site inspection must be recorded");
        assert_non_null(zh);
        assert_non_null(en);
        assert_true(zh < en);
        assert_non_null(strstr(text, "第13条"));
        assert_non_null(strstr(text, "NDG-1"));
        json_decref(j);
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

static void hook_names_show_format_and_host_only(void **state)
{
    (void)state;
    hook_t h = {.format = HOOK_WECOM};
    char name[160];
    snprintf(h.url, sizeof h.url, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET");
    delivery_hook_name(&h, name, sizeof name);
    assert_string_equal(name, "wecom (qyapi.weixin.qq.com)");
    h.format = HOOK_GENERIC;
    snprintf(h.url, sizeof h.url, "http://user:pw@10.0.0.5:8080/hook/SECRET#x");
    delivery_hook_name(&h, name, sizeof name);
    assert_string_equal(name, "generic (10.0.0.5:8080)");
    h.format = HOOK_DINGTALK;
    snprintf(h.url, sizeof h.url, "https://oapi.dingtalk.com?access_token=SECRET");
    delivery_hook_name(&h, name, sizeof name);
    assert_string_equal(name, "dingtalk (oapi.dingtalk.com)");
}

static void hook_keys_are_hashes_of_format_and_url(void **state)
{
    (void)state;
    hook_t a = {.format = HOOK_WECOM}, b = {.format = HOOK_DINGTALK};
    snprintf(a.url, sizeof a.url, "https://x/send?key=SECRET");
    snprintf(b.url, sizeof b.url, "https://x/send?key=SECRET");
    char ka[33], kb[33], again[33];
    delivery_hook_key(&a, ka);
    delivery_hook_key(&b, kb);
    delivery_hook_key(&a, again);
    assert_int_equal(strlen(ka), 32);
    assert_string_equal(ka, again);
    assert_string_not_equal(ka, kb);
    assert_null(strstr(ka, "SECRET"));
    /* SHA-256("generic=http://a") starts 8c0e6f3b... (sha256sum) */
    hook_t g = {.format = HOOK_GENERIC};
    snprintf(g.url, sizeof g.url, "http://a");
    delivery_hook_key(&g, ka);
    FILE *p = popen("printf %s generic=http://a | sha256sum", "r");
    char want[80] = "";
    assert_non_null(p);
    assert_non_null(fgets(want, sizeof want, p));
    pclose(p);
    want[32] = '\0';
    assert_string_equal(ka, want);
}

static void max_age_skips_only_old_events(void **state)
{
    (void)state;
    uint64_t day = 86400000ULL, now = 1000 * day;
    assert_false(delivery_too_old(now - day, now, day));    /* exactly the limit: sent */
    assert_true(delivery_too_old(now - day - 1, now, day)); /* older: skipped */
    assert_false(delivery_too_old(now - 5, now, day));
    assert_false(delivery_too_old(now + 5000, now, day)); /* from the future (clock step) */
    assert_false(delivery_too_old(0, now, 0));            /* no limit */
}

static char dir[512];

static void cursor_path(char *buf, size_t len)
{
    snprintf(buf, len, "%s/webhooks.cursors", dir);
}

static int make_dir(void **state)
{
    (void)state;
    testutil_tmpdir(dir, sizeof dir, "delivery");
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    testutil_rmrf(dir);
    return 0;
}

static void cursors_write_and_read_back(void **state)
{
    (void)state;
    char path[1024], err[256] = "";
    cursor_path(path, sizeof path);
    hook_cursor_t *c = NULL;
    size_t n = 7;
    /* no file yet: no cursors, every hook is new */
    assert_int_equal(delivery_cursors_read(path, &c, &n, err, sizeof err), FT_OK);
    assert_int_equal(n, 0);
    free(c);
    hook_cursor_t w[2] = {{.seq = 42,
                           .sent = 3,
                           .failed = 1,
                           .last_success_ms = 1700000000000,
                           .last_error_ms = 1700000001000},
                          {.seq = 0}};
    snprintf(w[0].key, sizeof w[0].key, "%s", "0123456789abcdef0123456789abcdef");
    snprintf(w[0].name, sizeof w[0].name, "wecom (qyapi.weixin.qq.com)");
    snprintf(w[0].last_error, sizeof w[0].last_error, "HTTP status 500");
    snprintf(w[1].key, sizeof w[1].key, "%s", "ffffffffffffffffffffffffffffffff");
    snprintf(w[1].name, sizeof w[1].name, "generic (10.0.0.5:8080)");
    assert_int_equal(delivery_cursors_write(path, w, 2), FT_OK);
    assert_int_equal(delivery_cursors_read(path, &c, &n, err, sizeof err), FT_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(&c[0], &w[0], sizeof w[0]);
    assert_memory_equal(&c[1], &w[1], sizeof w[1]);
    free(c);
    /* rewritten: the new content replaces the old, no temp file stays */
    w[0].seq = 43;
    assert_int_equal(delivery_cursors_write(path, w, 1), FT_OK);
    assert_int_equal(delivery_cursors_read(path, &c, &n, err, sizeof err), FT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(c[0].seq, 43);
    free(c);
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    assert_false(fsutil_exists(tmp));
}

static void cursors_corrupt_file_is_refused_with_a_sentence(void **state)
{
    (void)state;
    char path[1024], err[256];
    cursor_path(path, sizeof path);
    const char *bad[] = {
        "{\"version\":1,\"hooks\":[{\"key\":\"0123",                            /* torn */
        "{\"version\":2,\"hooks\":[]}",                                         /* future */
        "{\"version\":1,\"hooks\":[{\"key\":\"https://x/?key=1\",\"seq\":1}]}", /* not a key */
        "{\"version\":1,\"hooks\":[{\"key\":\"0123456789abcdef0123456789abcdef\","
        "\"seq\":-4}]}",
        "{\"version\":1,\"hooks\":[{\"key\":\"0123456789abcdef0123456789abcdef\"}]}",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(fsutil_write_atomic(path, bad[i], strlen(bad[i]), 0600), FT_OK);
        hook_cursor_t *c = (hook_cursor_t *)1;
        size_t n = 9;
        err[0] = '\0';
        assert_int_equal(delivery_cursors_read(path, &c, &n, err, sizeof err), FT_ECORRUPT);
        assert_null(c);
        assert_int_equal(n, 0);
        assert_non_null(strstr(err, "webhooks.cursors"));
    }
}

static void cursors_of_unknown_hooks_are_read_not_matched(void **state)
{
    (void)state;
    /* a file from a hub with other hooks: read as is; delivery_new matches by
     * key, so a configured hook with another URL is new (starts at the head) */
    char path[1024], err[256];
    cursor_path(path, sizeof path);
    hook_t h = {.format = HOOK_GENERIC};
    snprintf(h.url, sizeof h.url, "http://127.0.0.1:9/now");
    hook_cursor_t w = {.seq = 5};
    snprintf(w.key, sizeof w.key, "%s", "0123456789abcdef0123456789abcdef");
    assert_int_equal(delivery_cursors_write(path, &w, 1), FT_OK);
    hook_cursor_t *c = NULL;
    size_t n = 0;
    assert_int_equal(delivery_cursors_read(path, &c, &n, err, sizeof err), FT_OK);
    assert_int_equal(n, 1);
    char key[33];
    delivery_hook_key(&h, key);
    assert_string_not_equal(c[0].key, key);
    free(c);
}

/* A hub log in dir with one entry that is not an alert event (head 1). */
static devlog_t *hublog_with_one_entry(void)
{
    char ldir[1024];
    snprintf(ldir, sizeof ldir, "%s/hublog", dir);
    keys_t k;
    assert_int_equal(keys_generate(&k, false), FT_OK);
    devlog_t *log = NULL;
    assert_int_equal(devlog_open(ldir, &k, NULL, &log), FT_OK);
    Ft__AuditEvent ae = FT__AUDIT_EVENT__INIT;
    ae.user = "admin";
    ae.action = "login";
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_AUDIT;
    body.audit = &ae;
    assert_int_equal(devlog_append1(log, &body, NULL), FT_OK);
    return log;
}

/* Appends n alert events "e<k>" (k from *next on) to log: one AlertEvents
 * entry (the batch form), or with old one AlertEvent entry each (the form
 * before batches). */
static void append_events(devlog_t *log, size_t n, bool old, int *next)
{
    Ft__AlertEvent ae[16];
    Ft__AlertEvent *ptr[16];
    char ids[16][16], texts[16][400];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        snprintf(ids[i], sizeof ids[i], "e%d", (*next)++);
        snprintf(texts[i], sizeof texts[i],
                 "{\"alert_id\":\"%.15s\",\"state\":\"open\",\"alert\":{\"id\":\"%.15s\","
                 "\"rule\":\"1\",\"unit\":\"u\",\"severity\":\"high\"}}",
                 ids[i], ids[i]);
        ft__alert_event__init(&ae[i]);
        ae[i].alert_id = ids[i];
        ae[i].rule = "1";
        ae[i].state = "open";
        ae[i].detail_json = texts[i];
        ptr[i] = &ae[i];
    }
    Ft__Body body = FT__BODY__INIT;
    Ft__AlertEvents batch = FT__ALERT_EVENTS__INIT;
    if (old) {
        for (size_t i = 0; i < n; i++) {
            body.kind_case = FT__BODY__KIND_ALERT;
            body.alert = &ae[i];
            assert_int_equal(devlog_append1(log, &body, NULL), FT_OK);
        }
        return;
    }
    batch.n_events = n;
    batch.events = ptr;
    body.kind_case = FT__BODY__KIND_ALERTS;
    body.alerts = &batch;
    assert_int_equal(devlog_append1(log, &body, NULL), FT_OK);
}

static void append_audit(devlog_t *log)
{
    Ft__AuditEvent au = FT__AUDIT_EVENT__INIT;
    au.user = "admin";
    au.action = "login";
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_AUDIT;
    body.audit = &au;
    assert_int_equal(devlog_append1(log, &body, NULL), FT_OK);
}

/* The outbox cursor addresses an event inside an entry: read in pieces of
 * any size (1, 2, 3, 4, all), each event finished in turn moves the cursor
 * just past it, and the events come exactly once, in order, over batch
 * entries, old single-event entries and entries that are not alert events;
 * the backlog after each cursor is what is left; the cursor survives the
 * cursors file (a restart) inside a batch; a file without "part" (written
 * before batches) reads as between entries. */
static void the_cursor_addresses_an_event_inside_a_batch(void **state)
{
    (void)state;
    devlog_t *log = hublog_with_one_entry(); /* 1: audit */
    int next = 0;
    append_events(log, 5, false, &next); /* 2: e0..e4 */
    append_events(log, 2, true, &next);  /* 3, 4: e5, e6 (one each) */
    append_audit(log);                   /* 5 */
    append_events(log, 3, false, &next); /* 6: e7..e9 */
    const int total = next;
    uint64_t n_all = 0;
    assert_int_equal(delivery_backlog(log, 0, 0, &n_all), FT_OK);
    assert_int_equal(n_all, (uint64_t)total);
    const size_t sizes[] = {1, 2, 3, 4, 1000};
    outev_t ev[1000];
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        uint64_t seq = 0, part = 0;
        int expect = 0;
        for (int rounds = 0; rounds < 100; rounds++) {
            size_t n = 0;
            bool more = false;
            uint64_t ls = 0, lp = 0;
            assert_int_equal(
                delivery_read(log, NULL, seq, part, sizes[si], 0, 0, ev, &n, &more, &ls, &lp),
                FT_OK);
            assert_true(n <= sizes[si]);
            for (size_t i = 0; i < n; i++) {
                char want[16];
                snprintf(want, sizeof want, "e%d", expect++);
                assert_string_equal(json_string_value(json_object_get(ev[i].ev, "alert_id")), want);
                assert_true(ev[i].idx < ev[i].of);
                /* finished: the cursor moves just past it */
                delivery_pos_after(&ev[i], &seq, &part);
                uint64_t left = 0;
                assert_int_equal(delivery_backlog(log, seq, part, &left), FT_OK);
                assert_int_equal(left, (uint64_t)(total - expect));
            }
            delivery_events_free(ev, n);
            if (!more) {
                /* everything looked at is finished: the cursor goes to the end */
                seq = ls;
                part = lp;
                break;
            }
        }
        assert_int_equal(expect, total);
        assert_int_equal(seq, 6);
        assert_int_equal(part, 0);
    }
    /* Two events of entry 2 finished: the cursor is (1, 2); the next read
     * starts at e2, the third event of that entry. */
    size_t n = 0;
    bool more = true;
    uint64_t ls = 0, lp = 0;
    assert_int_equal(delivery_read(log, NULL, 1, 2, 1000, 0, 0, ev, &n, &more, &ls, &lp), FT_OK);
    assert_int_equal(n, (size_t)total - 2);
    assert_false(more);
    assert_int_equal(ev[0].seq, 2);
    assert_int_equal(ev[0].idx, 2);
    assert_int_equal(ev[0].of, 5);
    assert_int_equal(ev[3].seq, 3); /* e5: an old AlertEvent entry, index 0 of 1 */
    assert_int_equal(ev[3].idx, 0);
    assert_int_equal(ev[3].of, 1);
    uint64_t ps = 0, pp = 0;
    delivery_pos_after(&ev[0], &ps, &pp);
    assert_int_equal(ps, 1);
    assert_int_equal(pp, 3);
    delivery_pos_after(&ev[2], &ps, &pp); /* e4, the last of entry 2 */
    assert_int_equal(ps, 2);
    assert_int_equal(pp, 0);
    delivery_events_free(ev, n);
    /* Full inside an entry: the cursor after what was looked at stops
     * before the first event not taken. */
    assert_int_equal(delivery_read(log, NULL, 0, 0, 3, 0, 0, ev, &n, &more, &ls, &lp), FT_OK);
    assert_int_equal(n, 3);
    assert_true(more);
    assert_int_equal(ls, 1);
    assert_int_equal(lp, 3);
    delivery_events_free(ev, n);
    /* The cursor inside a batch survives the cursors file (a restart). */
    char path[1024], err[256] = "";
    cursor_path(path, sizeof path);
    hook_cursor_t w = {.seq = 1, .part = 3};
    snprintf(w.key, sizeof w.key, "%s", "0123456789abcdef0123456789abcdef");
    assert_int_equal(delivery_cursors_write(path, &w, 1), FT_OK);
    hook_cursor_t *c = NULL;
    size_t nc = 0;
    assert_int_equal(delivery_cursors_read(path, &c, &nc, err, sizeof err), FT_OK);
    assert_int_equal(nc, 1);
    assert_int_equal(c[0].seq, 1);
    assert_int_equal(c[0].part, 3);
    free(c);
    const char *before = "{\"version\":1,\"hooks\":[{\"key\":"
                         "\"0123456789abcdef0123456789abcdef\",\"seq\":4}]}";
    assert_int_equal(fsutil_write_atomic(path, before, strlen(before), 0600), FT_OK);
    assert_int_equal(delivery_cursors_read(path, &c, &nc, err, sizeof err), FT_OK);
    assert_int_equal(c[0].seq, 4);
    assert_int_equal(c[0].part, 0);
    free(c);
    devlog_destroy(&log);
}

static void start_and_stop(devlog_t *log, const hook_t *h)
{
    delivery_opts_t o = {.publish = "off", .hooks = h, .n_hooks = 1, .hublog = log, .state = dir};
    delivery_t *d = NULL;
    assert_int_equal(delivery_new(&o, &d), FT_OK);
    delivery_destroy(&d);
}

static void corrupt_cursors_start_hooks_at_the_head_and_keep_the_file(void **state)
{
    (void)state;
    devlog_t *log = hublog_with_one_entry();
    char path[1024], bad[1100], err[256];
    cursor_path(path, sizeof path);
    snprintf(bad, sizeof bad, "%s.bad", path);
    assert_int_equal(fsutil_write_atomic(path, "{\"version\":1,\"ho", 16, 0600), FT_OK);
    hook_t h = {.format = HOOK_GENERIC};
    snprintf(h.url, sizeof h.url, "http://127.0.0.1:9/x?key=SECRET");
    start_and_stop(log, &h);
    assert_true(fsutil_exists(bad));
    hook_cursor_t *c = NULL;
    size_t n = 0;
    assert_int_equal(delivery_cursors_read(path, &c, &n, err, sizeof err), FT_OK);
    assert_int_equal(n, 1);
    char key[33];
    delivery_hook_key(&h, key);
    assert_string_equal(c[0].key, key);
    assert_int_equal(c[0].seq, 1); /* the head: no history */
    assert_string_equal(c[0].name, "generic (127.0.0.1:9)");
    free(c);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(fsutil_read_all(path, &text, &len), FT_OK);
    assert_null(strstr(text, "SECRET"));
    assert_null(strstr(text, "/x"));
    free(text);
    devlog_destroy(&log);
}

static void unknown_hooks_are_dropped_known_ones_keep_their_cursor(void **state)
{
    (void)state;
    devlog_t *log = hublog_with_one_entry();
    char path[1024], err[256];
    cursor_path(path, sizeof path);
    hook_t h = {.format = HOOK_DINGTALK};
    snprintf(h.url, sizeof h.url, "http://127.0.0.1:9/robot?access_token=T");
    hook_cursor_t w[2] = {{.seq = 5, .sent = 9}, {.seq = 0, .sent = 4, .failed = 2}};
    snprintf(w[0].key, sizeof w[0].key, "%s", "0123456789abcdef0123456789abcdef");
    delivery_hook_key(&h, w[1].key);
    assert_int_equal(delivery_cursors_write(path, w, 2), FT_OK);
    start_and_stop(log, &h);
    hook_cursor_t *c = NULL;
    size_t n = 0;
    assert_int_equal(delivery_cursors_read(path, &c, &n, err, sizeof err), FT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(c[0].key, w[1].key);
    assert_int_equal(c[0].sent, 4); /* counters kept */
    assert_int_equal(c[0].failed, 2);
    assert_true(c[0].seq <= 1);
    free(c);
    devlog_destroy(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hooks_parse_all_three_formats),
        cmocka_unit_test(hooks_refuse_unknown_format_scheme_and_shape),
        cmocka_unit_test(generic_body_is_the_event),
        cmocka_unit_test(bot_bodies_are_markdown_messages_zh_first),
        cmocka_unit_test(topic_is_unit_and_severity_without_dots),
        cmocka_unit_test(hook_names_show_format_and_host_only),
        cmocka_unit_test(hook_keys_are_hashes_of_format_and_url),
        cmocka_unit_test(max_age_skips_only_old_events),
        cmocka_unit_test_setup_teardown(the_cursor_addresses_an_event_inside_a_batch, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(cursors_write_and_read_back, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(cursors_corrupt_file_is_refused_with_a_sentence, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(cursors_of_unknown_hooks_are_read_not_matched, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(corrupt_cursors_start_hooks_at_the_head_and_keep_the_file,
                                        make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(unknown_hooks_are_dropped_known_ones_keep_their_cursor,
                                        make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
