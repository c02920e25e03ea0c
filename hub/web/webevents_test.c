/* webevents_test.c: the live event ring behind server-sent events. */
#include "webevents.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void events_after_the_cursor_come_out_as_sse_text(void **state)
{
    (void)state;
    webevents_t *ev = NULL;
    assert_int_equal(webevents_new(NULL, NULL, &ev), FT_OK);
    uint64_t cur = webevents_last(ev);
    webevents_publish(ev, "alert", json_pack("{s:s}", "id", "a1"));
    webevents_publish(ev, "sync", json_pack("{s:i}", "n", 2));
    char buf[512];
    long n = webevents_wait(ev, &cur, buf, sizeof buf, 100);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "id: 1\nevent: alert\ndata: {\"id\":\"a1\"}\n\n"));
    assert_non_null(strstr(buf, "event: sync"));
    assert_int_equal(cur, 2);
    /* Nothing new: a timeout gives 0. */
    assert_int_equal(webevents_wait(ev, &cur, buf, sizeof buf, 50), 0);
    webevents_destroy(&ev);
    webevents_destroy(&ev);
}

static void a_reader_behind_the_ring_gets_resync(void **state)
{
    (void)state;
    webevents_t *ev = NULL;
    assert_int_equal(webevents_new(NULL, NULL, &ev), FT_OK);
    uint64_t cur = 0;
    for (int i = 0; i < WEBEVENTS_RING + 10; i++) {
        webevents_publish(ev, "records", json_pack("{s:i}", "i", i));
    }
    char buf[256];
    long n = webevents_wait(ev, &cur, buf, sizeof buf, 100);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "event: resync"));
    assert_int_equal(cur, WEBEVENTS_RING + 10);
    webevents_destroy(&ev);
}

static void stop_wakes_a_waiting_reader(void **state)
{
    (void)state;
    webevents_t *ev = NULL;
    assert_int_equal(webevents_new(NULL, NULL, &ev), FT_OK);
    webevents_stop(ev);
    uint64_t cur = 0;
    char buf[64];
    assert_int_equal(webevents_wait(ev, &cur, buf, sizeof buf, 10000), -1);
    webevents_destroy(&ev);
}

static int polls;
static void count_poll(void *ctx, webevents_t *ev)
{
    (void)ctx;
    if (++polls == 2) {
        webevents_publish(ev, "tick", NULL);
    }
}

static void the_watcher_polls_and_its_events_reach_readers(void **state)
{
    (void)state;
    webevents_t *ev = NULL;
    polls = 0;
    assert_int_equal(webevents_new(count_poll, NULL, &ev), FT_OK);
    uint64_t cur = 0;
    char buf[128];
    long n = webevents_wait(ev, &cur, buf, sizeof buf, 3000);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "event: tick"));
    webevents_destroy(&ev);
    assert_true(polls >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(events_after_the_cursor_come_out_as_sse_text),
        cmocka_unit_test(a_reader_behind_the_ring_gets_resync),
        cmocka_unit_test(stop_wakes_a_waiting_reader),
        cmocka_unit_test(the_watcher_polls_and_its_events_reach_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
