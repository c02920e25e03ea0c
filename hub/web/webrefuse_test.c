/* webrefuse_test.c: failed logins and refused requests counted for the
 * audit log (webrefuse.h): client text kept on one line, one entry at once
 * after a quiet minute and then one a minute whatever the rate, a bounded
 * table and detail, log lines at a bounded rate, counts kept when the entry
 * cannot be written. */
#include "webrefuse.h"
#include "utf8.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct {
    int calls;
    char action[32];
    char detail[WEBREFUSE_DETAIL_MAX + 64];
    uint64_t total, unlogged;
    int fail; /* answer FT_EIO this many times */
} sink_t;

static int sink(void *ctx, const char *action, const char *detail, uint64_t total,
                uint64_t unlogged)
{
    sink_t *s = ctx;
    if (s->fail > 0) {
        s->fail--;
        return FT_EIO;
    }
    s->calls++;
    snprintf(s->action, sizeof s->action, "%s", action);
    snprintf(s->detail, sizeof s->detail, "%s", detail);
    s->total = total;
    s->unlogged = unlogged;
    return FT_OK;
}

static void client_text_stays_one_line_and_comes_back(void **state)
{
    (void)state;
    char out[96];
    const char *name = "ad\"min\\ \n2026-01-01T00:00:00Z forged\x1b[31m \xc2\x85 \xff 张三";
    webrefuse_text(out, sizeof out, name);
    assert_string_equal(out, "ad\\x22min\\x5C \\x0A2026-01-01T00:00:00Z forged\\x1B[31m "
                             "\\xC2\\x85 \\xFF 张三");
    assert_false(utf8_clean_needed(out));
    char *back = NULL;
    assert_int_equal(utf8_unescape(out, &back), FT_OK);
    assert_string_equal(back, name);
    free(back);
    /* Cut on a character or escape boundary. */
    webrefuse_text(out, 7, "ab\ncd");
    assert_string_equal(out, "ab\\x0A");
    webrefuse_text(out, 6, "a张三");
    assert_string_equal(out, "a张");
    webrefuse_text(out, sizeof out, NULL);
    assert_string_equal(out, "");
}

static void the_first_refusal_is_written_at_once_then_one_entry_a_minute(void **state)
{
    (void)state;
    webrefuse_t *w = NULL;
    assert_int_equal(webrefuse_new(&w), FT_OK);
    sink_t s = {0};
    int64_t t = 1000;
    assert_int_equal(webrefuse_due(w, t, false, sink, &s), 0);
    webrefuse_note(w, WEBREFUSE_LOGINS, "bad_login", "admin\nx", "127.0.0.1", NULL, 5, t);
    assert_int_equal(webrefuse_due(w, t, false, sink, &s), 1);
    assert_string_equal(s.action, "login_failed");
    assert_string_equal(s.detail, "1 failed logins: \"admin\\x0Ax\" from 127.0.0.1 1x (bad_login)");
    /* A flood in the next minute: nothing until the minute is over, then
     * one entry counting all of it. */
    for (int i = 0; i < 10000; i++) {
        webrefuse_note(w, WEBREFUSE_LOGINS, i % 2 ? "locked_out" : "bad_login", "admin",
                       "127.0.0.1", NULL, 6, t + 1 + i / 1000);
    }
    assert_int_equal(webrefuse_due(w, t + 59999, false, sink, &s), 0);
    assert_int_equal(webrefuse_due(w, t + 60000, false, sink, &s), 1);
    assert_int_equal(s.calls, 2);
    assert_int_equal(s.total, 10000);
    assert_non_null(strstr(s.detail, "10000 failed logins: "));
    assert_non_null(strstr(s.detail, "\"admin\" from 127.0.0.1 5000x (bad_login)"));
    assert_non_null(strstr(s.detail, "\"admin\" from 127.0.0.1 5000x (locked_out)"));
    /* The other ledger is apart. */
    webrefuse_note(w, WEBREFUSE_REQUESTS, "role_required", "staff", "127.0.0.1", "GET /api/audit",
                   7, t + 60001);
    assert_int_equal(webrefuse_due(w, t + 60001, false, sink, &s), 1);
    assert_string_equal(s.action, "request_refused");
    assert_string_equal(
        s.detail, "1 requests refused: staff from 127.0.0.1: GET /api/audit 1x (role_required)");
    assert_int_equal(webrefuse_total(w, WEBREFUSE_LOGINS), 10001);
    assert_int_equal(webrefuse_total(w, WEBREFUSE_REQUESTS), 1);
    /* At stop, whatever is counted goes now. */
    webrefuse_note(w, WEBREFUSE_REQUESTS, "csrf", "staff", "127.0.0.1", "POST /api/x", 8,
                   t + 60002);
    assert_int_equal(webrefuse_due(w, t + 60002, false, sink, &s), 0);
    assert_int_equal(webrefuse_due(w, t + 60002, true, sink, &s), 1);
    assert_int_equal(webrefuse_due(w, t + 60002, true, sink, &s), 0);
    webrefuse_destroy(&w);
    webrefuse_destroy(&w);
}

static void many_names_fill_a_bounded_table_and_detail(void **state)
{
    (void)state;
    webrefuse_t *w = NULL;
    assert_int_equal(webrefuse_new(&w), FT_OK);
    char name[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "user-%04d-%s", i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        webrefuse_note(w, WEBREFUSE_LOGINS, "bad_login", name, "10.1.2.3", NULL, i, 1);
    }
    sink_t s = {0};
    assert_int_equal(webrefuse_due(w, 2, false, sink, &s), 1);
    assert_int_equal(s.total, 5000);
    assert_true(strlen(s.detail) < WEBREFUSE_DETAIL_MAX);
    assert_non_null(strstr(s.detail, "5000 failed logins:"));
    assert_non_null(strstr(s.detail, " more"));
    /* What the detail shows plus "and N more" is everything. */
    unsigned long long more = strtoull(strstr(s.detail, "and ") + 4, NULL, 10);
    size_t shown = 0;
    for (const char *p = s.detail; (p = strstr(p, " 1x (")) != NULL; p++) {
        shown++;
    }
    assert_int_equal(shown + more, 5000);
    webrefuse_destroy(&w);
}

static void log_lines_are_bounded_and_the_rest_counted(void **state)
{
    (void)state;
    webrefuse_t *w = NULL;
    assert_int_equal(webrefuse_new(&w), FT_OK);
    int logged = 0;
    for (int i = 0; i < 100; i++) {
        logged += webrefuse_note(w, WEBREFUSE_LOGINS, "bad_login", "a", "::1", NULL, i, 1000 + i);
    }
    assert_int_equal(logged, WEBREFUSE_LOG_PER_MIN);
    sink_t s = {0};
    assert_int_equal(webrefuse_due(w, 2000, false, sink, &s), 1);
    assert_int_equal(s.unlogged, 100 - WEBREFUSE_LOG_PER_MIN);
    /* A new minute may log again. */
    assert_true(webrefuse_note(w, WEBREFUSE_LOGINS, "bad_login", "a", "::1", NULL, 1, 61001));
    webrefuse_destroy(&w);
}

static void counts_stay_when_the_entry_cannot_be_written(void **state)
{
    (void)state;
    webrefuse_t *w = NULL;
    assert_int_equal(webrefuse_new(&w), FT_OK);
    for (int i = 0; i < 3; i++) {
        webrefuse_note(w, WEBREFUSE_REQUESTS, "csrf", "sup", "127.0.0.1", "POST /api/users", i, 1);
    }
    sink_t s = {.fail = 1};
    assert_int_equal(webrefuse_due(w, 1, false, sink, &s), 0);
    webrefuse_note(w, WEBREFUSE_REQUESTS, "csrf", "sup", "127.0.0.1", "POST /api/users", 9, 2);
    assert_int_equal(webrefuse_due(w, 60001, false, sink, &s), 1);
    assert_int_equal(s.total, 4);
    webrefuse_destroy(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(client_text_stays_one_line_and_comes_back),
        cmocka_unit_test(the_first_refusal_is_written_at_once_then_one_entry_a_minute),
        cmocka_unit_test(many_names_fill_a_bounded_table_and_detail),
        cmocka_unit_test(log_lines_are_bounded_and_the_rest_counted),
        cmocka_unit_test(counts_stay_when_the_entry_cannot_be_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
