/* zguard.c: the connection cap of a bound ZeroMQ socket (see zguard.h). */
#include "zguard.h"
#include "logging.h"
#include "ratelimit.h"
#include "zsock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <zmq.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

/* A connection the guard counts. */
typedef struct {
    int fd;
    ino_t ino;        /* its socket's inode: the descriptor is still it */
    int64_t since_ms; /* accepted (monotonic) */
    bool trusted;     /* its peer authenticated (zguard_trust) */
} conn_t;

struct zguard_t {
    zguard_opts_t o;
    char name[32], setting[64];
    void *mon; /* PAIR reading the monitor's events (the guard thread's) */
    char addr[64];
    pthread_t thread;
    bool started;
    atomic_bool stop;
    pthread_mutex_t mu; /* guards st and the table (c, n, cap) */
    zguard_stats_t st;
    conn_t *c;
    size_t n, cap;
    unsigned port;                                   /* the bound port (from the first accept) */
    ratelimit_t rl;                                  /* one line a minute */
    uint64_t refused_new, evicted_new, unproven_new; /* since the last line */
    unsigned closed_since_trim;
    int64_t last_trim_ms, last_check_ms;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The inode of fd if it is a socket bound to port (0: any), else 0. */
static ino_t sock_ino(int fd, unsigned port)
{
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISSOCK(sb.st_mode)) {
        return 0;
    }
    if (port) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
            return 0;
        }
        unsigned p = 0;
        if (ss.ss_family == AF_INET) {
            p = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            p = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
        if (p != port) {
            return 0;
        }
    }
    return sb.st_ino;
}

static void drop(zguard_t *g, size_t i)
{
    g->c[i] = g->c[--g->n];
    g->closed_since_trim++;
}

/* Closes connection i (if its descriptor is still it) and forgets it. */
static void close_conn(zguard_t *g, size_t i)
{
    if (sock_ino(g->c[i].fd, 0) == g->c[i].ino) {
        shutdown(g->c[i].fd, SHUT_RDWR);
    }
    drop(g, i);
}

static unsigned count_pending(const zguard_t *g, int64_t now)
{
    unsigned p = 0;
    for (size_t i = 0; i < g->n; i++) {
        if (!g->c[i].trusted && now - g->c[i].since_ms < g->o.handshake_ms + 1000) {
            p++;
        }
    }
    return p;
}

/* Under mu. */
static void publish(zguard_t *g, int64_t now)
{
    g->st.open = (unsigned)g->n;
    g->st.pending = count_pending(g, now);
}

static void say(zguard_t *g, int64_t now)
{
    uint64_t held = 0;
    if (!ratelimit_allow(&g->rl, now, &held)) {
        return;
    }
    if (g->o.auth_ms > 0) {
        log_warn("%s port: %zu connections open (cap %s = %u), %u of them in their handshake (cap "
                 "%u): closed %llu new connection(s), %llu unauthenticated one(s) and %llu that "
                 "did not prove a session (with their messages, or within %.1f s) since the last "
                 "such line (one line a minute)",
                 g->name, g->n, g->setting, g->o.max_conns, count_pending(g, now), g->o.max_pending,
                 (unsigned long long)g->refused_new, (unsigned long long)g->evicted_new,
                 (unsigned long long)g->unproven_new, g->o.auth_ms / 1000.0);
    } else {
        log_warn("%s port: %zu connections open (cap %s = %u), %u of them in their handshake (cap "
                 "%u): closed %llu new connection(s) and %llu unauthenticated one(s) since the "
                 "last such line (one line a minute)",
                 g->name, g->n, g->setting, g->o.max_conns, count_pending(g, now), g->o.max_pending,
                 (unsigned long long)g->refused_new, (unsigned long long)g->evicted_new);
    }
    g->refused_new = 0;
    g->evicted_new = 0;
    g->unproven_new = 0;
}

static void on_accepted(zguard_t *g, int fd, unsigned port, int64_t now)
{
    ino_t ino = sock_ino(fd, port);
    if (!ino) {
        return; /* gone already, or not ours */
    }
    if (!g->port) {
        g->port = port;
    }
    for (size_t i = 0; i < g->n; i++) {
        if (g->c[i].fd == fd) {
            if (g->c[i].ino == ino) {
                return; /* seen */
            }
            drop(g, i); /* its descriptor was reused: the old one is gone */
            break;
        }
    }
    g->st.accepted++;
    if (g->n >= g->o.max_conns) {
        shutdown(fd, SHUT_RDWR);
        g->closed_since_trim++;
        g->refused_new++;
        g->st.refused++;
        say(g, now);
        return;
    }
    if (count_pending(g, now) >= g->o.max_pending) {
        size_t oldest = g->n;
        for (size_t i = 0; i < g->n; i++) {
            if (!g->c[i].trusted && now - g->c[i].since_ms < g->o.handshake_ms + 1000 &&
                (oldest == g->n || g->c[i].since_ms < g->c[oldest].since_ms)) {
                oldest = i;
            }
        }
        if (oldest < g->n) {
            close_conn(g, oldest);
            g->evicted_new++;
            g->st.evicted++;
            say(g, now);
        }
    }
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 64;
        conn_t *grown = realloc(g->c, cap * sizeof *grown);
        if (!grown) {
            shutdown(fd, SHUT_RDWR); /* cannot count it: do not keep it */
            return;
        }
        g->c = grown;
        g->cap = cap;
    }
    g->c[g->n++] = (conn_t){.fd = fd, .ino = ino, .since_ms = now};
}

static void on_disconnected(zguard_t *g, int fd)
{
    for (size_t i = 0; i < g->n; i++) {
        if (g->c[i].fd == fd) {
            drop(g, i);
            return;
        }
    }
}

/* Reads every pending event. */
static void drain(zguard_t *g)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, g->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        uint16_t ev = 0;
        uint32_t value = 0;
        bool ok = zmq_msg_size(&m) == 6 && zmq_msg_more(&m);
        if (ok) {
            memcpy(&ev, zmq_msg_data(&m), 2);
            memcpy(&value, (const uint8_t *)zmq_msg_data(&m) + 2, 4);
        }
        zmq_msg_close(&m);
        char ep[256] = "";
        while (ok) { /* the endpoint frame (and anything after it) */
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, g->mon, 0) < 0) {
                zmq_msg_close(&m);
                break;
            }
            size_t len = zmq_msg_size(&m);
            if (!ep[0] && len < sizeof ep) {
                memcpy(ep, zmq_msg_data(&m), len);
                ep[len] = '\0';
            }
            bool more = zmq_msg_more(&m);
            zmq_msg_close(&m);
            if (!more) {
                break;
            }
        }
        if (!ok) {
            continue;
        }
        int64_t now = mono_ms();
        pthread_mutex_lock(&g->mu);
        if (ev == ZMQ_EVENT_ACCEPTED) {
            on_accepted(g, (int)value, zsock_endpoint_port(ep), now);
        } else if (ev == ZMQ_EVENT_DISCONNECTED) {
            on_disconnected(g, (int)value);
        }
        publish(g, now);
        pthread_mutex_unlock(&g->mu);
    }
}

/* Once a second: forget descriptors that are no longer what they were;
 * close those not trusted within auth_ms; give memory back after a burst of
 * closed connections. */
static void tick(zguard_t *g, int64_t now)
{
    if (g->o.auth_ms > 0) {
        for (size_t i = 0; i < g->n;) {
            if (!g->c[i].trusted && now - g->c[i].since_ms >= g->o.auth_ms) {
                close_conn(g, i);
                g->unproven_new++;
                g->st.unproven++;
                say(g, now);
            } else {
                i++;
            }
        }
    }
    if (now - g->last_check_ms >= 1000) {
        g->last_check_ms = now;
        for (size_t i = 0; i < g->n;) {
            if (sock_ino(g->c[i].fd, 0) != g->c[i].ino) {
                drop(g, i);
            } else {
                i++;
            }
        }
    }
/* (Not under AddressSanitizer: it owns the heap, and glibc's malloc_trim
 * walking its own arenas from this thread crashed a sanitizer build.) */
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
    if (g->closed_since_trim >= 8 && now - g->last_trim_ms >= 2000) {
        g->closed_since_trim = 0;
        g->last_trim_ms = now;
        malloc_trim(0);
    }
#endif
}

static void *guard_thread(void *arg)
{
    zguard_t *g = arg;
    while (!atomic_load(&g->stop)) {
        zmq_pollitem_t it = {g->mon, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&it, 1, 250);
        if (rc > 0) {
            drain(g);
        }
        int64_t now = mono_ms();
        pthread_mutex_lock(&g->mu);
        tick(g, now);
        publish(g, now);
        pthread_mutex_unlock(&g->mu);
    }
    drain(g);
    return NULL;
}

int zguard_attach(void *zctx, void *sock, const zguard_opts_t *o, zguard_t **out)
{
    *out = NULL;
    zguard_t *g = calloc(1, sizeof *g);
    if (!g) {
        return FT_ENOMEM;
    }
    g->o = *o;
    snprintf(g->name, sizeof g->name, "%s", o->name ? o->name : "zmq");
    snprintf(g->setting, sizeof g->setting, "%s", o->setting ? o->setting : "-");
    g->o.name = g->name;
    g->o.setting = g->setting;
    if (g->o.max_conns < 1) {
        g->o.max_conns = 1;
    }
    if (g->o.max_pending < 1) {
        g->o.max_pending = 1;
    }
    if (g->o.handshake_ms <= 0) {
        g->o.handshake_ms = ZSOCK_HANDSHAKE_MS;
    }
    g->rl = ratelimit_make(1, 60000);
    pthread_mutex_init(&g->mu, NULL);
    snprintf(g->addr, sizeof g->addr, "inproc://ft-guard-%p", (void *)g);
    int zero = 0;
    if (zmq_socket_monitor(sock, g->addr, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
        pthread_mutex_destroy(&g->mu);
        free(g);
        return FT_EIO;
    }
    g->mon = zmq_socket(zctx, ZMQ_PAIR);
    if (!g->mon || zmq_setsockopt(g->mon, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_connect(g->mon, g->addr) != 0) {
        zguard_detach(&g, sock);
        return FT_EIO;
    }
    if (pthread_create(&g->thread, NULL, guard_thread, g) != 0) {
        zguard_detach(&g, sock);
        return FT_ENOMEM;
    }
    g->started = true;
    *out = g;
    return FT_OK;
}

void zguard_detach(zguard_t **g_p, void *sock)
{
    zguard_t *g = *g_p;
    if (!g) {
        return;
    }
    /* The monitor first, while the thread still reads (libzmq's I/O thread
     * blocks on a full monitor queue). */
    zmq_socket_monitor(sock, NULL, 0);
    atomic_store(&g->stop, true);
    if (g->started) {
        pthread_join(g->thread, NULL);
    }
    if (g->mon) {
        zmq_close(g->mon);
    }
    pthread_mutex_destroy(&g->mu);
    free(g->c);
    free(g);
    *g_p = NULL;
}

void zguard_trust(zguard_t *g, int fd)
{
    if (!g || fd < 0) {
        return;
    }
    pthread_mutex_lock(&g->mu);
    size_t i = 0;
    while (i < g->n && g->c[i].fd != fd) {
        i++;
    }
    if (i < g->n) {
        if (!g->c[i].trusted && sock_ino(fd, 0) == g->c[i].ino) {
            g->c[i].trusted = true;
            publish(g, mono_ms());
        }
    } else {
        /* Its accept is not read yet (the message came first): counted now,
         * trusted, so that the accept finds it known. */
        ino_t ino = sock_ino(fd, g->port);
        if (ino && g->n == g->cap) {
            size_t cap = g->cap ? 2 * g->cap : 64;
            conn_t *grown = realloc(g->c, cap * sizeof *grown);
            if (grown) {
                g->c = grown;
                g->cap = cap;
            }
        }
        if (ino && g->n < g->cap) {
            int64_t now = mono_ms();
            g->c[g->n++] = (conn_t){.fd = fd, .ino = ino, .since_ms = now, .trusted = true};
            g->st.accepted++;
            publish(g, now);
        }
    }
    pthread_mutex_unlock(&g->mu);
}

bool zguard_trusted(zguard_t *g, int fd)
{
    if (!g || fd < 0) {
        return false;
    }
    bool t = false;
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; i < g->n; i++) {
        if (g->c[i].fd == fd) {
            t = g->c[i].trusted && sock_ino(fd, 0) == g->c[i].ino;
            break;
        }
    }
    pthread_mutex_unlock(&g->mu);
    return t;
}

void zguard_close(zguard_t *g, int fd)
{
    if (!g || fd < 0) {
        return;
    }
    pthread_mutex_lock(&g->mu);
    size_t i = 0;
    while (i < g->n && g->c[i].fd != fd) {
        i++;
    }
    bool closed = false;
    if (i < g->n) {
        close_conn(g, i);
        closed = true;
    } else if (g->port && sock_ino(fd, g->port)) {
        /* Its accept is not read yet (the message came first): still a
         * connection to this port, so it is this socket's. */
        shutdown(fd, SHUT_RDWR);
        g->closed_since_trim++;
        closed = true;
    }
    if (closed) {
        g->unproven_new++;
        g->st.unproven++;
        int64_t now = mono_ms();
        say(g, now);
        publish(g, now);
    }
    pthread_mutex_unlock(&g->mu);
}

int zguard_msg_fd(const void *msg)
{
    const char *v = zmq_msg_gets((zmq_msg_t *)msg, "__fd");
    if (!v) {
        return -1;
    }
    char *end = NULL;
    long fd = strtol(v, &end, 10);
    return end != v && *end == '\0' && fd >= 0 && fd < INT32_MAX ? (int)fd : -1;
}

void zguard_stats(zguard_t *g, zguard_stats_t *out)
{
    pthread_mutex_lock(&g->mu);
    *out = g->st;
    pthread_mutex_unlock(&g->mu);
}
