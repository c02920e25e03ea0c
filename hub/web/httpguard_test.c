/* httpguard_test.c: the dashboard's connection table (httpguard.h) on
 * socket pairs standing in for connections: the request deadline, the
 * per-address and waiting caps pushing out the oldest waiting connection,
 * busy connections and streams never pushed out, stream limits per session
 * and in all (a stream whose peer left makes room), a full table. */
#include "httpguard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define MAXC 16

/* A connection: the server's end (fd, what the guard shuts) and the
 * client's. */
typedef struct {
    int server, client;
    httpguard_conn_t *c;
} pair_t;

static struct sockaddr_in addr_of(const char *ip)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(40000)};
    assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    return a;
}

static void conn_open(httpguard_t *g, pair_t *p, const char *ip, int64_t now)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    p->server = sv[0];
    p->client = sv[1];
    struct sockaddr_in a = addr_of(ip);
    assert_true(httpguard_admit(g, (struct sockaddr *)&a, now));
    p->c = httpguard_open(g, p->server, (struct sockaddr *)&a, now);
    assert_non_null(p->c);
}

/* True when the guard shut the server's end down (a read ends at once). */
static bool was_shut(const pair_t *p)
{
    char b;
    return recv(p->server, &b, 1, MSG_DONTWAIT) == 0;
}

static void conn_close(httpguard_t *g, pair_t *p)
{
    httpguard_gone(g, p->c);
    close(p->server);
    close(p->client);
    p->c = NULL;
}

static httpguard_t *guard(unsigned max_conns, unsigned per_addr, unsigned streams,
                          unsigned per_session)
{
    httpguard_opts_t o;
    httpguard_defaults(&o);
    o.max_connections = max_conns;
    o.max_per_address = per_addr;
    o.max_streams = streams;
    o.streams_per_session = per_session;
    o.request_timeout_ms = 10000;
    o.sweep_ms = 0;
    httpguard_t *g = NULL;
    assert_int_equal(httpguard_new(&o, &g), FT_OK);
    return g;
}

static void a_request_not_in_by_the_deadline_is_closed(void **state)
{
    (void)state;
    httpguard_t *g = guard(MAXC, MAXC, 4, 2);
    pair_t slow, quick;
    conn_open(g, &slow, "10.0.0.1", 1000);
    conn_open(g, &quick, "10.0.0.2", 5000);
    /* The quick one's request came in: busy, no deadline. */
    httpguard_busy(g, quick.c);
    assert_int_equal(httpguard_sweep(g, 10999), 0);
    assert_false(was_shut(&slow));
    assert_int_equal(httpguard_sweep(g, 11000), 1);
    assert_true(was_shut(&slow));
    assert_int_equal(httpguard_sweep(g, 60000), 0);
    assert_false(was_shut(&quick));
    /* Its reply went: it waits for the next request from then on. */
    httpguard_waiting(g, quick.c, 60000);
    assert_int_equal(httpguard_sweep(g, 69999), 0);
    assert_int_equal(httpguard_sweep(g, 70000), 1);
    assert_true(was_shut(&quick));
    httpguard_stats_t st;
    httpguard_stats(g, &st);
    assert_int_equal(st.timed_out, 2);
    assert_int_equal(st.open, 2); /* closing until the server says they closed */
    assert_int_equal(st.waiting, 0);
    conn_close(g, &slow);
    conn_close(g, &quick);
    httpguard_stats(g, &st);
    assert_int_equal(st.open, 0);
    httpguard_destroy(&g);
    httpguard_destroy(&g);
}

static void a_full_address_pushes_out_its_own_oldest_waiting(void **state)
{
    (void)state;
    httpguard_t *g = guard(MAXC, 3, 4, 2);
    pair_t a[4], other;
    conn_open(g, &other, "10.0.0.9", 0);
    for (int i = 0; i < 3; i++) {
        conn_open(g, &a[i], "10.0.0.1", 100 + i);
    }
    /* The fourth from the same address closes the oldest of that address,
     * not the older one of another address. */
    conn_open(g, &a[3], "10.0.0.1", 200);
    assert_true(was_shut(&a[0]));
    assert_false(was_shut(&a[1]) || was_shut(&a[2]) || was_shut(&a[3]));
    assert_false(was_shut(&other));
    /* Busy ones are never pushed out: with all three busy, a new one is
     * refused. */
    conn_close(g, &a[0]);
    for (int i = 1; i < 4; i++) {
        httpguard_busy(g, a[i].c);
    }
    struct sockaddr_in ad = addr_of("10.0.0.1");
    assert_false(httpguard_admit(g, (struct sockaddr *)&ad, 300));
    for (int i = 1; i < 4; i++) {
        assert_false(was_shut(&a[i]));
    }
    /* One reply sent: it waits, and is the one a new connection pushes out. */
    httpguard_waiting(g, a[2].c, 400);
    assert_true(httpguard_admit(g, (struct sockaddr *)&ad, 500));
    assert_true(was_shut(&a[2]));
    httpguard_stats_t st;
    httpguard_stats(g, &st);
    assert_int_equal(st.evicted_address, 2);
    assert_int_equal(st.refused, 1);
    for (int i = 1; i < 4; i++) {
        conn_close(g, &a[i]);
    }
    conn_close(g, &other);
    httpguard_destroy(&g);
}

static void too_many_waiting_push_out_the_oldest_of_all(void **state)
{
    (void)state;
    httpguard_t *g = guard(8, 8, 2, 2); /* at most 4 waiting */
    pair_t p[6];
    char ip[32];
    for (int i = 0; i < 4; i++) {
        snprintf(ip, sizeof ip, "10.0.1.%d", i + 1);
        conn_open(g, &p[i], ip, 10 * (i + 1));
    }
    httpguard_busy(g, p[0].c); /* the oldest is busy: not a candidate */
    conn_open(g, &p[4], "10.0.2.1", 100);
    assert_false(was_shut(&p[0]));
    assert_false(was_shut(&p[1])); /* 4 waiting only now: 1, 2, 3 and the new one */
    conn_open(g, &p[5], "10.0.2.2", 110);
    assert_true(was_shut(&p[1]));
    httpguard_stats_t st;
    httpguard_stats(g, &st);
    assert_int_equal(st.evicted_waiting, 1);
    assert_int_equal(st.waiting, 4);
    assert_int_equal(st.max_waiting_seen, 4);
    for (int i = 0; i < 6; i++) {
        conn_close(g, &p[i]);
    }
    httpguard_destroy(&g);
}

static void streams_are_limited_per_session_and_in_all(void **state)
{
    (void)state;
    httpguard_t *g = guard(MAXC, MAXC, 3, 2);
    pair_t s[5];
    for (int i = 0; i < 5; i++) {
        conn_open(g, &s[i], "127.0.0.1", i);
        httpguard_busy(g, s[i].c);
    }
    assert_int_equal(httpguard_stream(g, s[0].c, 7), HTTPGUARD_STREAM_OK);
    assert_int_equal(httpguard_stream(g, s[1].c, 7), HTTPGUARD_STREAM_OK);
    assert_int_equal(httpguard_stream(g, s[2].c, 7), HTTPGUARD_STREAM_SESSION_FULL);
    /* Another session may have one more: three in all. */
    assert_int_equal(httpguard_stream(g, s[2].c, 8), HTTPGUARD_STREAM_OK);
    assert_int_equal(httpguard_stream(g, s[3].c, 9), HTTPGUARD_STREAM_ALL_FULL);
    /* Streams are never pushed out by waiting connections, nor swept. */
    assert_int_equal(httpguard_sweep(g, 1000000), 0); /* the others are busy */
    assert_false(was_shut(&s[0]) || was_shut(&s[1]) || was_shut(&s[2]));
    /* The page of one stream was closed: its slot goes to a new stream of
     * the session, the dead one is shut down. */
    close(s[1].client);
    s[1].client = -1;
    assert_int_equal(httpguard_stream(g, s[3].c, 7), HTTPGUARD_STREAM_OK);
    assert_true(was_shut(&s[1]));
    httpguard_stats_t st;
    httpguard_stats(g, &st);
    assert_int_equal(st.streams, 3);
    assert_int_equal(st.streams_refused, 2);
    assert_int_equal(st.streams_dead, 1);
    /* A stream that ended waits again like any kept-alive connection. */
    httpguard_waiting(g, s[0].c, 2000000);
    httpguard_stats(g, &st);
    assert_int_equal(st.streams, 2);
    for (int i = 0; i < 5; i++) {
        httpguard_gone(g, s[i].c);
        close(s[i].server);
        if (s[i].client >= 0) {
            close(s[i].client);
        }
    }
    httpguard_destroy(&g);
}

static void a_full_table_gives_no_entry(void **state)
{
    (void)state;
    httpguard_t *g = guard(4, 4, 1, 1);
    pair_t p[4];
    for (int i = 0; i < 4; i++) {
        conn_open(g, &p[i], "10.0.0.1", i);
        httpguard_busy(g, p[i].c);
    }
    struct sockaddr_in a = addr_of("10.0.0.2");
    assert_null(httpguard_open(g, -1, (struct sockaddr *)&a, 10));
    httpguard_gone(g, NULL);
    httpguard_busy(g, NULL);
    httpguard_waiting(g, NULL, 0);
    assert_int_equal(httpguard_stream(g, NULL, 1), HTTPGUARD_STREAM_ALL_FULL);
    for (int i = 0; i < 4; i++) {
        conn_close(g, &p[i]);
    }
    httpguard_destroy(&g);
}

static void bad_limits_are_refused(void **state)
{
    (void)state;
    httpguard_opts_t o;
    httpguard_t *g = NULL;
    httpguard_defaults(&o);
    o.sweep_ms = 0;
    o.max_per_address = o.max_connections + 1;
    assert_int_equal(httpguard_new(&o, &g), FT_EINVAL);
    httpguard_defaults(&o);
    o.request_timeout_ms = 0;
    assert_int_equal(httpguard_new(&o, &g), FT_EINVAL);
    assert_null(g);
    /* Derived: half the pool may wait, a quarter stream. */
    httpguard_defaults(&o);
    o.sweep_ms = 0;
    assert_int_equal(httpguard_new(&o, &g), FT_OK);
    assert_int_equal(httpguard_opts(g)->max_waiting, HTTPGUARD_DEFAULT_MAX_CONNECTIONS / 2);
    assert_int_equal(httpguard_opts(g)->max_streams, HTTPGUARD_DEFAULT_MAX_CONNECTIONS / 4);
    httpguard_destroy(&g);
}

static int ticks;
static void count_tick(void *ctx, int64_t now_ms)
{
    (void)ctx;
    (void)now_ms;
    ticks++;
}

static void the_sweeper_closes_late_requests_by_itself(void **state)
{
    (void)state;
    httpguard_opts_t o;
    httpguard_defaults(&o);
    o.request_timeout_ms = 200;
    o.sweep_ms = 20;
    o.tick = count_tick;
    httpguard_t *g = NULL;
    assert_int_equal(httpguard_new(&o, &g), FT_OK);
    pair_t p;
    conn_open(g, &p, "127.0.0.1", httpguard_now_ms());
    char b;
    /* The client sees the end within the deadline and a sweep. */
    struct timeval tv = {2, 0};
    setsockopt(p.client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(recv(p.client, &b, 1, 0), 0);
    assert_true(ticks > 0);
    conn_close(g, &p);
    httpguard_destroy(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_request_not_in_by_the_deadline_is_closed),
        cmocka_unit_test(a_full_address_pushes_out_its_own_oldest_waiting),
        cmocka_unit_test(too_many_waiting_push_out_the_oldest_of_all),
        cmocka_unit_test(streams_are_limited_per_session_and_in_all),
        cmocka_unit_test(a_full_table_gives_no_entry),
        cmocka_unit_test(bad_limits_are_refused),
        cmocka_unit_test(the_sweeper_closes_late_requests_by_itself),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
