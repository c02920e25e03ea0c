/* zguard_test.c: the connection cap of a bound socket: idle connections
 * push out only each other, a full socket refuses new ones, slots come back
 * when connections end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "zguard.h"
#include "zsock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define HANDSHAKE_MS 400

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* A raw TCP connection to 127.0.0.1:port that sends nothing. */
static int idle_conn(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* True when the hub's side ended the connection (after its greeting). */
static bool closed_by_peer(int fd)
{
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[256];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            return n == 0 || errno == ECONNRESET;
        }
    }
}

/* A bound ROUTER with a guard; *port its port. */
static void *bound(void *zctx, unsigned max_conns, unsigned max_pending, int auth_ms, zguard_t **g,
                   unsigned *port)
{
    void *r = zmq_socket(zctx, ZMQ_ROUTER);
    assert_non_null(r);
    zsock_bounds_t b = {.max_msg = 4096, .handshake_ms = HANDSHAKE_MS};
    assert_int_equal(zsock_bound(r, &b), FT_OK);
    int zero = 0;
    zmq_setsockopt(r, ZMQ_LINGER, &zero, sizeof zero);
    zguard_opts_t o = {.name = "test",
                       .setting = "test.max",
                       .max_conns = max_conns,
                       .max_pending = max_pending,
                       .handshake_ms = HANDSHAKE_MS,
                       .auth_ms = auth_ms};
    assert_int_equal(zguard_attach(zctx, r, &o, g), FT_OK);
    assert_int_equal(zmq_bind(r, "tcp://127.0.0.1:*"), 0);
    char ep[64];
    size_t len = sizeof ep;
    assert_int_equal(zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, ep, &len), 0);
    *port = zsock_endpoint_port(ep);
    assert_true(*port > 0);
    return r;
}

static void idle_connections_push_out_each_other_then_time_out(void **state)
{
    (void)state;
    void *zctx = zmq_ctx_new();
    zguard_t *g = NULL;
    unsigned port = 0;
    void *r = bound(zctx, 8, 2, 0, &g, &port);
    int fds[5];
    for (int i = 0; i < 5; i++) {
        fds[i] = idle_conn(port);
        sleep_ms(30);
    }
    sleep_ms(200);
    zguard_stats_t st;
    zguard_stats(g, &st);
    assert_int_equal(st.accepted, 5);
    assert_int_equal(st.evicted, 3);
    assert_int_equal(st.open, 2);
    /* The first three were closed by the hub's side. */
    assert_true(closed_by_peer(fds[0]));
    /* libzmq ends the others at the handshake limit. */
    sleep_ms(HANDSHAKE_MS + 1500);
    zguard_stats(g, &st);
    assert_int_equal(st.open, 0);
    for (int i = 0; i < 5; i++) {
        close(fds[i]);
    }
    zguard_detach(&g, r);
    zmq_close(r);
    zmq_ctx_term(zctx);
}

static void full_socket_refuses_new_connections_and_frees_slots(void **state)
{
    (void)state;
    void *zctx = zmq_ctx_new();
    zguard_t *g = NULL;
    unsigned port = 0;
    void *r = bound(zctx, 3, 2, 0, &g, &port);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", port);
    void *d[3];
    int zero = 0;
    for (int i = 0; i < 3; i++) {
        d[i] = zmq_socket(zctx, ZMQ_DEALER);
        zmq_setsockopt(d[i], ZMQ_LINGER, &zero, sizeof zero);
        assert_int_equal(zmq_connect(d[i], ep), 0);
        assert_int_equal(zmq_send(d[i], "hi", 2, 0), 2);
        /* The owner vouches for the connection its first message came on. */
        zmq_msg_t id, m;
        zmq_msg_init(&id);
        zmq_msg_init(&m);
        assert_true(zmq_msg_recv(&id, r, 0) >= 0);
        assert_true(zmq_msg_recv(&m, r, 0) >= 0);
        int fd = zguard_msg_fd(&m);
        assert_true(fd >= 0);
        sleep_ms(50); /* the guard saw the accept */
        zguard_trust(g, fd);
        zmq_msg_close(&id);
        zmq_msg_close(&m);
    }
    zguard_stats_t st;
    zguard_stats(g, &st);
    assert_int_equal(st.open, 3);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.evicted, 0);
    int fd = idle_conn(port);
    sleep_ms(200);
    zguard_stats(g, &st);
    assert_int_equal(st.refused, 1);
    assert_int_equal(st.open, 3);
    assert_true(closed_by_peer(fd));
    close(fd);
    zmq_close(d[0]);
    sleep_ms(500);
    zguard_stats(g, &st);
    assert_int_equal(st.open, 2);
    for (int i = 1; i < 3; i++) {
        zmq_close(d[i]);
    }
    zguard_detach(&g, r);
    zmq_close(r);
    zmq_ctx_term(zctx);
}

/* A connected DEALER of ctx to port whose first message "hi" arrived at r:
 * returns the connection's descriptor at r's side. */
static void *dealer_sent(void *zctx, void *r, unsigned port, int *fd)
{
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", port);
    void *d = zmq_socket(zctx, ZMQ_DEALER);
    int zero = 0, never = -1; /* a closed connection is not opened again */
    zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(d, ZMQ_RECONNECT_IVL, &never, sizeof never);
    assert_int_equal(zmq_connect(d, ep), 0);
    assert_int_equal(zmq_send(d, "hi", 2, 0), 2);
    zmq_msg_t id, m;
    zmq_msg_init(&id);
    zmq_msg_init(&m);
    assert_true(zmq_msg_recv(&id, r, 0) >= 0);
    assert_true(zmq_msg_recv(&m, r, 0) >= 0);
    *fd = zguard_msg_fd(&m);
    assert_true(*fd >= 0);
    zmq_msg_close(&id);
    zmq_msg_close(&m);
    return d;
}

/* With auth_ms: a connection whose handshake is done but that is never
 * vouched for is closed at auth_ms; a trusted one stays; zguard_close
 * closes one at once; each closing is counted as unproven. */
static void unproven_connections_are_closed(void **state)
{
    (void)state;
    void *zctx = zmq_ctx_new();
    zguard_t *g = NULL;
    unsigned port = 0;
    void *r = bound(zctx, 8, 8, 800, &g, &port);
    int fd_a = -1, fd_b = -1, fd_c = -1;
    void *a = dealer_sent(zctx, r, port, &fd_a);
    void *b = dealer_sent(zctx, r, port, &fd_b);
    void *c = dealer_sent(zctx, r, port, &fd_c);
    sleep_ms(100); /* the guard saw the accepts */
    zguard_trust(g, fd_a);
    assert_true(zguard_trusted(g, fd_a));
    assert_false(zguard_trusted(g, fd_b));
    assert_false(zguard_trusted(NULL, fd_a));
    zguard_close(g, fd_c);
    zguard_stats_t st;
    zguard_stats(g, &st);
    assert_int_equal(st.unproven, 1);
    assert_int_equal(st.open, 2);
    sleep_ms(1500); /* past auth_ms: b goes, a stays */
    zguard_stats(g, &st);
    assert_int_equal(st.unproven, 2);
    assert_int_equal(st.open, 1);
    assert_true(zguard_trusted(g, fd_a));
    zguard_close(NULL, fd_a); /* safe */
    zmq_close(a);
    zmq_close(b);
    zmq_close(c);
    zguard_detach(&g, r);
    zmq_close(r);
    zmq_ctx_term(zctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(idle_connections_push_out_each_other_then_time_out),
        cmocka_unit_test(full_socket_refuses_new_connections_and_frees_slots),
        cmocka_unit_test(unproven_connections_are_closed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
