/* httpguard.c: the dashboard's connection table and its bounds (see
 * httpguard.h). */
#include "httpguard.h"
#include "logging.h"
#include "loginlimit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

typedef enum { ST_FREE = 0, ST_WAITING, ST_BUSY, ST_STREAM, ST_CLOSING } conn_state;

struct httpguard_conn {
    conn_state state;
    int fd;
    int64_t since_ms; /* waiting: since when; else when the state began */
    uint64_t seq;     /* order of opening (ties of since_ms) */
    uint64_t session; /* stream: its session's key */
    char addr[INET6_ADDRSTRLEN + 8];
};

/* Counters of what the guard did (cumulative). */
typedef struct {
    uint64_t evicted_address, evicted_waiting, timed_out, refused, streams_refused, streams_dead;
} counts_t;

struct httpguard_t {
    httpguard_opts_t o;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool started, stop;
    uint64_t next_seq;
    counts_t n;      /* since start */
    counts_t logged; /* as of the last summary line */
    int64_t last_line_ms;
    unsigned max_waiting_seen;
    size_t cap;
    httpguard_conn_t *conns;
};

int64_t httpguard_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void httpguard_defaults(httpguard_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->max_connections = HTTPGUARD_DEFAULT_MAX_CONNECTIONS;
    o->max_per_address = HTTPGUARD_DEFAULT_MAX_PER_ADDRESS;
    o->request_timeout_ms = HTTPGUARD_DEFAULT_REQUEST_TIMEOUT_MS;
    o->streams_per_session = HTTPGUARD_DEFAULT_STREAMS_PER_SESSION;
    o->sweep_ms = 250;
}

static void addr_key(const struct sockaddr *sa, char *buf, size_t len)
{
    loginlimit_addr_text(sa, buf, len);
}

/* Shuts the connection's socket down: the server's thread sees the end and
 * closes it. The descriptor stays the server's (never closed here). */
static void shut(httpguard_conn_t *c)
{
    if (c->fd >= 0) {
        (void)shutdown(c->fd, SHUT_RDWR);
    }
    c->state = ST_CLOSING;
}

/* The oldest waiting connection (of addr, or of all when addr is NULL). */
static httpguard_conn_t *oldest_waiting(httpguard_t *g, const char *addr)
{
    httpguard_conn_t *best = NULL;
    for (size_t i = 0; i < g->cap; i++) {
        httpguard_conn_t *c = &g->conns[i];
        if (c->state != ST_WAITING || (addr && strcmp(c->addr, addr) != 0)) {
            continue;
        }
        if (!best || c->since_ms < best->since_ms ||
            (c->since_ms == best->since_ms && c->seq < best->seq)) {
            best = c;
        }
    }
    return best;
}

/* Connections of addr that are not closing, and waiting ones in all. */
static void tally(httpguard_t *g, const char *addr, unsigned *of_addr, unsigned *waiting,
                  unsigned *streams)
{
    unsigned a = 0, w = 0, s = 0;
    for (size_t i = 0; i < g->cap; i++) {
        const httpguard_conn_t *c = &g->conns[i];
        if (c->state == ST_FREE || c->state == ST_CLOSING) {
            continue;
        }
        if (addr && strcmp(c->addr, addr) == 0) {
            a++;
        }
        w += c->state == ST_WAITING;
        s += c->state == ST_STREAM;
    }
    if (of_addr) {
        *of_addr = a;
    }
    if (waiting) {
        *waiting = w;
    }
    if (streams) {
        *streams = s;
    }
}

bool httpguard_admit(httpguard_t *g, const struct sockaddr *addr, int64_t now_ms)
{
    (void)now_ms;
    char key[sizeof g->conns[0].addr];
    addr_key(addr, key, sizeof key);
    pthread_mutex_lock(&g->mu);
    unsigned of_addr = 0, waiting = 0;
    tally(g, key, &of_addr, &waiting, NULL);
    bool ok = true;
    if (of_addr >= g->o.max_per_address) {
        httpguard_conn_t *old = oldest_waiting(g, key);
        if (old) {
            shut(old);
            g->n.evicted_address++;
        } else {
            g->n.refused++;
            ok = false;
        }
    } else if (waiting >= g->o.max_waiting) {
        httpguard_conn_t *old = oldest_waiting(g, NULL);
        if (old) {
            shut(old);
            g->n.evicted_waiting++;
        }
    }
    pthread_mutex_unlock(&g->mu);
    return ok;
}

httpguard_conn_t *httpguard_open(httpguard_t *g, int fd, const struct sockaddr *addr,
                                 int64_t now_ms)
{
    pthread_mutex_lock(&g->mu);
    httpguard_conn_t *c = NULL;
    for (size_t i = 0; i < g->cap; i++) {
        if (g->conns[i].state == ST_FREE) {
            c = &g->conns[i];
            break;
        }
    }
    if (c) {
        memset(c, 0, sizeof *c);
        c->state = ST_WAITING;
        c->fd = fd;
        c->since_ms = now_ms;
        c->seq = ++g->next_seq;
        addr_key(addr, c->addr, sizeof c->addr);
        unsigned waiting = 0;
        tally(g, NULL, NULL, &waiting, NULL);
        if (waiting > g->max_waiting_seen) {
            g->max_waiting_seen = waiting;
        }
    } else {
        g->n.refused++;
    }
    pthread_mutex_unlock(&g->mu);
    return c;
}

void httpguard_gone(httpguard_t *g, httpguard_conn_t *c)
{
    if (!c) {
        return;
    }
    pthread_mutex_lock(&g->mu);
    memset(c, 0, sizeof *c);
    c->state = ST_FREE;
    c->fd = -1;
    pthread_mutex_unlock(&g->mu);
}

void httpguard_busy(httpguard_t *g, httpguard_conn_t *c)
{
    if (!c) {
        return;
    }
    pthread_mutex_lock(&g->mu);
    if (c->state == ST_WAITING) {
        c->state = ST_BUSY;
    }
    pthread_mutex_unlock(&g->mu);
}

void httpguard_waiting(httpguard_t *g, httpguard_conn_t *c, int64_t now_ms)
{
    if (!c) {
        return;
    }
    pthread_mutex_lock(&g->mu);
    if (c->state == ST_BUSY || c->state == ST_STREAM || c->state == ST_WAITING) {
        c->state = ST_WAITING;
        c->since_ms = now_ms;
        c->session = 0;
    }
    pthread_mutex_unlock(&g->mu);
}

/* True when the peer of a stream has closed its end (or the socket failed):
 * a peek that reads nothing without waiting. A stream's peer sends nothing,
 * so anything to read also counts as alive. */
static bool peer_gone(int fd)
{
    if (fd < 0) {
        return true;
    }
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) {
        return true;
    }
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

/* Closes the streams (of session, or all when all is true) whose peer has
 * gone; returns those still live. */
static unsigned live_streams(httpguard_t *g, bool all, uint64_t session)
{
    unsigned live = 0;
    for (size_t i = 0; i < g->cap; i++) {
        httpguard_conn_t *c = &g->conns[i];
        if (c->state != ST_STREAM || (!all && c->session != session)) {
            continue;
        }
        if (peer_gone(c->fd)) {
            shut(c);
            g->n.streams_dead++;
            continue;
        }
        live++;
    }
    return live;
}

httpguard_stream_t httpguard_stream(httpguard_t *g, httpguard_conn_t *c, uint64_t session)
{
    if (!c) {
        return HTTPGUARD_STREAM_ALL_FULL;
    }
    pthread_mutex_lock(&g->mu);
    httpguard_stream_t res = HTTPGUARD_STREAM_OK;
    unsigned mine = 0, all = 0;
    for (size_t i = 0; i < g->cap; i++) {
        const httpguard_conn_t *e = &g->conns[i];
        if (e->state == ST_STREAM) {
            all++;
            mine += e->session == session;
        }
    }
    if (mine >= g->o.streams_per_session &&
        live_streams(g, false, session) >= g->o.streams_per_session) {
        res = HTTPGUARD_STREAM_SESSION_FULL;
    } else if (all >= g->o.max_streams && live_streams(g, true, 0) >= g->o.max_streams) {
        res = HTTPGUARD_STREAM_ALL_FULL;
    }
    if (res == HTTPGUARD_STREAM_OK) {
        c->state = ST_STREAM;
        c->session = session;
    } else {
        g->n.streams_refused++;
    }
    pthread_mutex_unlock(&g->mu);
    return res;
}

size_t httpguard_sweep(httpguard_t *g, int64_t now_ms)
{
    size_t closed = 0;
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; i < g->cap; i++) {
        httpguard_conn_t *c = &g->conns[i];
        if (c->state == ST_WAITING && now_ms - c->since_ms >= g->o.request_timeout_ms) {
            shut(c);
            g->n.timed_out++;
            closed++;
        }
    }
    pthread_mutex_unlock(&g->mu);
    return closed;
}

void httpguard_stats(httpguard_t *g, httpguard_stats_t *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&g->mu);
    out->evicted_address = g->n.evicted_address;
    out->evicted_waiting = g->n.evicted_waiting;
    out->timed_out = g->n.timed_out;
    out->refused = g->n.refused;
    out->streams_refused = g->n.streams_refused;
    out->streams_dead = g->n.streams_dead;
    for (size_t i = 0; i < g->cap; i++) {
        conn_state s = g->conns[i].state;
        out->open += s != ST_FREE;
        out->waiting += s == ST_WAITING;
        out->streams += s == ST_STREAM;
    }
    out->max_waiting_seen = g->max_waiting_seen;
    pthread_mutex_unlock(&g->mu);
}

const httpguard_opts_t *httpguard_opts(const httpguard_t *g)
{
    return &g->o;
}

/* One line a minute at most, when the guard closed or refused anything
 * since the last one. Called with the lock held. */
static void summary_line(httpguard_t *g, int64_t now_ms)
{
    const counts_t *a = &g->n, *b = &g->logged;
    uint64_t ev_addr = a->evicted_address - b->evicted_address,
             ev_wait = a->evicted_waiting - b->evicted_waiting, late = a->timed_out - b->timed_out,
             refused = a->refused - b->refused, sref = a->streams_refused - b->streams_refused;
    if (ev_addr + ev_wait + late + refused + sref == 0) {
        return;
    }
    if (g->last_line_ms && now_ms - g->last_line_ms < HTTPGUARD_LOG_EVERY_MS) {
        return;
    }
    unsigned waiting = 0, streams = 0;
    tally(g, NULL, NULL, &waiting, &streams);
    log_warn("dashboard connections: %llu closed as the oldest waiting one of an address at "
             "http.max_per_address = %u, %llu past %u waiting in all, %llu that had not sent a "
             "whole request within http.request_timeout_s = %lld; %llu refused; %llu event "
             "streams refused; now %u waiting, %u streams (at most %u waiting so far)",
             (unsigned long long)ev_addr, g->o.max_per_address, (unsigned long long)ev_wait,
             g->o.max_waiting, (unsigned long long)late,
             (long long)(g->o.request_timeout_ms / 1000), (unsigned long long)refused,
             (unsigned long long)sref, waiting, streams, g->max_waiting_seen);
    g->logged = g->n;
    g->last_line_ms = now_ms;
}

static void *sweeper(void *arg)
{
    httpguard_t *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        pthread_mutex_unlock(&g->mu);
        int64_t now = httpguard_now_ms();
        httpguard_sweep(g, now);
        pthread_mutex_lock(&g->mu);
        summary_line(g, now);
        pthread_mutex_unlock(&g->mu);
        if (g->o.tick) {
            g->o.tick(g->o.tick_ctx, now);
        }
        pthread_mutex_lock(&g->mu);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += g->o.sweep_ms / 1000;
        ts.tv_nsec += (long)(g->o.sweep_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!g->stop && pthread_cond_timedwait(&g->cv, &g->mu, &ts) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

int httpguard_new(const httpguard_opts_t *o, httpguard_t **out)
{
    *out = NULL;
    if (o->max_connections == 0 || o->max_per_address == 0 ||
        o->max_per_address > o->max_connections || o->request_timeout_ms <= 0 ||
        o->streams_per_session == 0) {
        return FT_EINVAL;
    }
    httpguard_t *g = calloc(1, sizeof *g);
    if (!g) {
        return FT_ENOMEM;
    }
    g->o = *o;
    if (g->o.max_waiting == 0) {
        g->o.max_waiting = g->o.max_connections / 2 ? g->o.max_connections / 2 : 1;
    }
    if (g->o.max_streams == 0) {
        g->o.max_streams = g->o.max_connections / 4 ? g->o.max_connections / 4 : 1;
    }
    g->cap = g->o.max_connections;
    g->conns = calloc(g->cap, sizeof *g->conns);
    if (!g->conns) {
        free(g);
        return FT_ENOMEM;
    }
    for (size_t i = 0; i < g->cap; i++) {
        g->conns[i].fd = -1;
    }
    pthread_mutex_init(&g->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (g->o.sweep_ms > 0) {
        if (pthread_create(&g->thread, NULL, sweeper, g) != 0) {
            httpguard_destroy(&g);
            return FT_ENOMEM;
        }
        g->started = true;
    }
    *out = g;
    return FT_OK;
}

void httpguard_destroy(httpguard_t **g_p)
{
    httpguard_t *g = g_p ? *g_p : NULL;
    if (!g) {
        return;
    }
    if (g->started) {
        pthread_mutex_lock(&g->mu);
        g->stop = true;
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        pthread_join(g->thread, NULL);
    }
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g->conns);
    free(g);
    *g_p = NULL;
}
