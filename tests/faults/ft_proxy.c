/* ft_proxy.c: a small fault-injecting TCP proxy for the fault tests. The
 * kernels these tests run on have no netem qdisc, so delay, jitter and
 * connection resets are added here; loss, partitions and rate limits are
 * done with nftables and tbf by the tests themselves.
 *
 * Usage: ft_proxy --listen HOST:PORT --to HOST:PORT [--seed N]
 *                 [--delay-ms D] [--jitter-ms J] [--reset-ms M] [--stats FILE]
 *
 *   --delay-ms D   every chunk of bytes read on one side is written to the
 *                  other side D ms later (one way; a round trip costs 2 D)
 *   --jitter-ms J  plus a uniform random -J..+J ms per chunk; order within a
 *                  connection is kept (a chunk never leaves before the one
 *                  read before it), as TCP would
 *   --reset-ms M   on average every M ms (exponential intervals) one live
 *                  connection is reset: both sockets closed with RST
 *                  (SO_LINGER 0), as a NAT or flaky modem does
 *   --seed N       the random source (printed at start, so a run repeats)
 *   --stats FILE   counters are written to FILE on exit (SIGTERM/SIGINT)
 *
 * Single-threaded poll loop. Per connection and direction a FIFO of chunks
 * with release times; reading from a side stops while its FIFO holds more
 * than 4 MiB (back-pressure, so the proxy's memory is bounded).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define CHUNK_MAX 16384
#define QUEUE_MAX ((size_t)4 << 20)

/* A chunk of bytes waiting for its release time. */
typedef struct chunk {
    struct chunk *next;
    int64_t release_ms;
    size_t len, off;
    uint8_t data[];
} chunk_t;

/* One direction of a connection: bytes read from `from`, written to `to`. */
typedef struct {
    chunk_t *head, *tail;
    size_t queued;
    int64_t last_release_ms;
    bool eof; /* `from` closed: shut down `to` for writing once drained */
} pipe_t;

typedef struct {
    bool used;
    int client, server;
    bool connected; /* non-blocking connect to the server finished */
    pipe_t up;      /* client -> server */
    pipe_t down;    /* server -> client */
} conn_t;

static volatile sig_atomic_t stop;
static uint64_t rng;
static conn_t conns[MAX_CONNS];
static struct {
    uint64_t accepted, resets, bytes_up, bytes_down, refused;
} stats;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ULL;
}

static double rnd_unit(void)
{
    return (double)(rnd() >> 11) / (double)(1ULL << 53);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_addr(const char *text, struct sockaddr_in *sa)
{
    char host[256];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof host) {
        return -1;
    }
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)atoi(colon + 1));
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void pipe_free(pipe_t *p)
{
    while (p->head) {
        chunk_t *c = p->head;
        p->head = c->next;
        free(c);
    }
    p->tail = NULL;
    p->queued = 0;
}

/* Closes a connection; with reset, both sides get an RST. */
static void conn_close(conn_t *c, bool reset)
{
    struct linger lg = {1, 0};
    if (reset) {
        setsockopt(c->client, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        setsockopt(c->server, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(c->client);
    close(c->server);
    pipe_free(&c->up);
    pipe_free(&c->down);
    memset(c, 0, sizeof *c);
}

/* Reads what `from` has into p's queue, released after the delay. -1 on EOF/error. */
static int pipe_read(pipe_t *p, int from, int delay, int jitter, uint64_t *count)
{
    uint8_t buf[CHUNK_MAX];
    ssize_t n = read(from, buf, sizeof buf);
    if (n == 0) {
        p->eof = true;
        return 0;
    }
    if (n < 0) {
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    }
    chunk_t *c = malloc(sizeof *c + (size_t)n);
    if (!c) {
        return -1;
    }
    memcpy(c->data, buf, (size_t)n);
    c->len = (size_t)n;
    c->off = 0;
    c->next = NULL;
    int64_t d = delay;
    if (jitter > 0) {
        d += (int64_t)(rnd() % (uint64_t)(2 * jitter + 1)) - jitter;
    }
    int64_t t = now_ms() + (d > 0 ? d : 0);
    if (t < p->last_release_ms) {
        t = p->last_release_ms;
    }
    c->release_ms = t;
    p->last_release_ms = t;
    if (p->tail) {
        p->tail->next = c;
    } else {
        p->head = c;
    }
    p->tail = c;
    p->queued += (size_t)n;
    *count += (uint64_t)n;
    return 0;
}

/* Writes released chunks to `to`. -1 on error. */
static int pipe_write(pipe_t *p, int to, int64_t now)
{
    while (p->head && p->head->release_ms <= now) {
        chunk_t *c = p->head;
        ssize_t n = write(to, c->data + c->off, c->len - c->off);
        if (n < 0) {
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        }
        c->off += (size_t)n;
        p->queued -= (size_t)n;
        if (c->off < c->len) {
            return 0;
        }
        p->head = c->next;
        if (!p->head) {
            p->tail = NULL;
        }
        free(c);
    }
    if (!p->head && p->eof) {
        shutdown(to, SHUT_WR);
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: ft_proxy --listen HOST:PORT --to HOST:PORT [--seed N] [--delay-ms D]\n"
                    "                [--jitter-ms J] [--reset-ms M] [--stats FILE]\n");
}

int main(int argc, char **argv)
{
    const char *listen_at = NULL, *to = NULL, *stats_path = NULL;
    uint64_t seed = (uint64_t)time(NULL);
    int delay = 0, jitter = 0, reset_ms = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return 2;
        }
        if (strcmp(a, "--listen") == 0) {
            listen_at = v;
        } else if (strcmp(a, "--to") == 0) {
            to = v;
        } else if (strcmp(a, "--seed") == 0) {
            seed = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--delay-ms") == 0) {
            delay = atoi(v);
        } else if (strcmp(a, "--jitter-ms") == 0) {
            jitter = atoi(v);
        } else if (strcmp(a, "--reset-ms") == 0) {
            reset_ms = atoi(v);
        } else if (strcmp(a, "--stats") == 0) {
            stats_path = v;
        } else {
            usage();
            return 2;
        }
        i++;
    }
    struct sockaddr_in la, ta;
    if (!listen_at || !to || parse_addr(listen_at, &la) != 0 || parse_addr(to, &ta) != 0 ||
        delay < 0 || jitter < 0 || reset_ms < 0) {
        usage();
        return 2;
    }
    rng = seed * 0x9E3779B97F4A7C15ULL + 1;
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&la, sizeof la) != 0 || listen(lfd, 64) != 0) {
        fprintf(stderr, "ft_proxy: cannot listen on %s: %s\n", listen_at, strerror(errno));
        return 1;
    }
    set_nonblock(lfd);
    fprintf(stderr,
            "ft_proxy: %s -> %s, seed %llu, delay %d ms, jitter %d ms, reset every ~%d ms\n",
            listen_at, to, (unsigned long long)seed, delay, jitter, reset_ms);
    int64_t next_reset = reset_ms > 0 ? now_ms() + (int64_t)(-log(1 - rnd_unit()) * reset_ms) : 0;
    struct pollfd pfd[1 + 2 * MAX_CONNS];
    int owner[1 + 2 * MAX_CONNS];
    while (!stop) {
        int64_t now = now_ms();
        if (next_reset && now >= next_reset) {
            int live[MAX_CONNS], n = 0;
            for (int i = 0; i < MAX_CONNS; i++) {
                if (conns[i].used) {
                    live[n++] = i;
                }
            }
            if (n > 0) {
                conn_close(&conns[live[rnd() % (uint64_t)n]], true);
                stats.resets++;
            }
            next_reset = now + 1 + (int64_t)(-log(1 - rnd_unit()) * reset_ms);
        }
        int np = 0;
        int64_t wake = now + 200;
        pfd[np] = (struct pollfd){.fd = lfd, .events = POLLIN};
        owner[np++] = -1;
        for (int i = 0; i < MAX_CONNS; i++) {
            conn_t *c = &conns[i];
            if (!c->used) {
                continue;
            }
            short ce = 0, se = 0;
            if (!c->connected) {
                se = POLLOUT;
            } else {
                if (!c->up.eof && c->up.queued < QUEUE_MAX) {
                    ce |= POLLIN;
                }
                if (!c->down.eof && c->down.queued < QUEUE_MAX) {
                    se |= POLLIN;
                }
                if (c->up.head) {
                    if (c->up.head->release_ms <= now) {
                        se |= POLLOUT;
                    } else if (c->up.head->release_ms < wake) {
                        wake = c->up.head->release_ms;
                    }
                }
                if (c->down.head) {
                    if (c->down.head->release_ms <= now) {
                        ce |= POLLOUT;
                    } else if (c->down.head->release_ms < wake) {
                        wake = c->down.head->release_ms;
                    }
                }
            }
            pfd[np] = (struct pollfd){.fd = c->client, .events = ce};
            owner[np++] = 2 * i;
            pfd[np] = (struct pollfd){.fd = c->server, .events = se};
            owner[np++] = 2 * i + 1;
        }
        if (next_reset && next_reset < wake) {
            wake = next_reset;
        }
        int timeout = (int)(wake - now);
        if (poll(pfd, (nfds_t)np, timeout < 0 ? 0 : timeout) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        now = now_ms();
        for (int k = 0; k < np; k++) {
            if (!pfd[k].revents) {
                continue;
            }
            if (owner[k] < 0) {
                int cfd = accept(lfd, NULL, NULL);
                if (cfd < 0) {
                    continue;
                }
                int slot = -1;
                for (int i = 0; i < MAX_CONNS; i++) {
                    if (!conns[i].used) {
                        slot = i;
                        break;
                    }
                }
                int sfd = slot >= 0 ? socket(AF_INET, SOCK_STREAM, 0) : -1;
                if (sfd < 0) {
                    close(cfd);
                    stats.refused++;
                    continue;
                }
                set_nonblock(cfd);
                set_nonblock(sfd);
                if (connect(sfd, (struct sockaddr *)&ta, sizeof ta) != 0 && errno != EINPROGRESS) {
                    close(cfd);
                    close(sfd);
                    stats.refused++;
                    continue;
                }
                conns[slot] = (conn_t){.used = true, .client = cfd, .server = sfd};
                stats.accepted++;
                continue;
            }
            conn_t *c = &conns[owner[k] / 2];
            if (!c->used || (pfd[k].fd != c->client && pfd[k].fd != c->server)) {
                continue; /* closed earlier in this round */
            }
            bool is_server = owner[k] % 2 == 1;
            int rc = 0;
            if (is_server && !c->connected) {
                int e = 0;
                socklen_t el = sizeof e;
                getsockopt(c->server, SOL_SOCKET, SO_ERROR, &e, &el);
                if (e != 0 || (pfd[k].revents & (POLLERR | POLLHUP))) {
                    rc = -1; /* the server refused: drop the client too */
                } else {
                    c->connected = true;
                }
            } else if (pfd[k].revents & (POLLHUP | POLLERR)) {
                rc = -1; /* reset or gone both ways: pass the reset on */
            } else {
                if (pfd[k].revents & POLLIN) {
                    rc = is_server
                             ? pipe_read(&c->down, c->server, delay, jitter, &stats.bytes_down)
                             : pipe_read(&c->up, c->client, delay, jitter, &stats.bytes_up);
                }
                if (rc == 0 && (pfd[k].revents & POLLOUT)) {
                    rc = is_server ? pipe_write(&c->up, c->server, now)
                                   : pipe_write(&c->down, c->client, now);
                }
            }
            if (rc != 0 || (c->up.eof && c->down.eof && !c->up.head && !c->down.head)) {
                conn_close(c, rc != 0);
            }
        }
    }
    for (int i = 0; i < MAX_CONNS; i++) {
        if (conns[i].used) {
            conn_close(&conns[i], false);
        }
    }
    close(lfd);
    char line[256];
    snprintf(line, sizeof line,
             "ft_proxy: seed %llu: %llu connections, %llu resets, %llu bytes up, %llu bytes "
             "down, %llu refused\n",
             (unsigned long long)seed, (unsigned long long)stats.accepted,
             (unsigned long long)stats.resets, (unsigned long long)stats.bytes_up,
             (unsigned long long)stats.bytes_down, (unsigned long long)stats.refused);
    fputs(line, stderr);
    if (stats_path) {
        FILE *f = fopen(stats_path, "w");
        if (f) {
            fputs(line, f);
            fclose(f);
        }
    }
    return 0;
}
