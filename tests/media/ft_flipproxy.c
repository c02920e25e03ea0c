/* ft_flipproxy: a TCP relay on 127.0.0.1 for the media data-path tests.
 *   ft_flipproxy LISTEN_PORT TARGET_PORT [FLIP_OFFSET]
 * Accepts connections on 127.0.0.1:LISTEN_PORT and relays each, both ways,
 * to 127.0.0.1:TARGET_PORT. With FLIP_OFFSET, the byte at that offset of a
 * connection's client->server stream is altered (XOR 0x5a), once in all:
 * in the first connection whose stream gets that far.
 *
 * Prints "ft_flipproxy: listening on PORT" on stdout once it listens, one
 * line on stderr when it altered the byte, and at exit (SIGTERM or SIGINT)
 * the bytes relayed client->server in all: "ft_flipproxy: relayed N bytes to
 * the server". Exit 0, 1 on a local failure, 2 on bad usage. Used only by the
 * scripts in tests/media. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PAIRS 16
#define BUF_BYTES (64 << 10)

/* One direction of a relayed connection: bytes read from `from`, not yet
 * written to `to`. */
typedef struct {
    int from, to;
    uint8_t buf[BUF_BYTES];
    size_t len, done; /* buf[done..len) still to write */
    uint64_t total;   /* bytes read from `from` so far (stream offset) */
} dir_t;

typedef struct {
    bool used;
    int id;
    dir_t up, down; /* client->server, server->client */
} pair_t;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int listen_on(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0) {
        fprintf(stderr, "ft_flipproxy: cannot listen on 127.0.0.1:%u: %s\n", port, strerror(errno));
        return -1;
    }
    return fd;
}

/* A blocking connect (127.0.0.1 answers at once), then non-blocking. */
static int connect_to(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

static void pair_close(pair_t *p)
{
    close(p->up.from);
    close(p->up.to);
    p->used = false;
}

/* Moves bytes one step in direction d as poll allows; false when the
 * connection is over (end of stream or an error on either side). */
static bool relay(dir_t *d, short in_ev, short out_ev, bool flip, uint64_t flip_at, bool *flipped,
                  int id, uint64_t *relayed)
{
    if (d->done == d->len && (in_ev & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t n = read(d->from, d->buf, sizeof d->buf);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            return false;
        }
        if (n > 0) {
            if (flip && !*flipped && flip_at >= d->total && flip_at < d->total + (uint64_t)n) {
                uint8_t *b = &d->buf[flip_at - d->total];
                fprintf(stderr,
                        "ft_flipproxy: connection %d: altered the byte at offset %llu of the "
                        "client's stream (0x%02x -> 0x%02x)\n",
                        id, (unsigned long long)flip_at, *b, *b ^ 0x5a);
                *b ^= 0x5a;
                *flipped = true;
            }
            d->total += (uint64_t)n;
            if (relayed) {
                *relayed += (uint64_t)n;
            }
            d->len = (size_t)n;
            d->done = 0;
        }
    }
    if (d->done < d->len && (out_ev & (POLLOUT | POLLERR | POLLHUP))) {
        ssize_t n = write(d->to, d->buf + d->done, d->len - d->done);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return false;
        }
        if (n > 0) {
            d->done += (size_t)n;
        }
    }
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: ft_flipproxy LISTEN_PORT TARGET_PORT [FLIP_OFFSET]\n");
        return 2;
    }
    unsigned lport = (unsigned)strtoul(argv[1], NULL, 10);
    unsigned tport = (unsigned)strtoul(argv[2], NULL, 10);
    bool flip = argc == 4;
    uint64_t flip_at = flip ? strtoull(argv[3], NULL, 10) : 0;
    if (!lport || lport > 65535 || !tport || tport > 65535) {
        fprintf(stderr, "ft_flipproxy: ports are 1 to 65535\n");
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: poll returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_on(lport);
    if (lfd < 0) {
        return 1;
    }
    printf("ft_flipproxy: listening on %u\n", lport);
    fflush(stdout);

    static pair_t pairs[MAX_PAIRS];
    int next_id = 1;
    bool flipped = false;
    uint64_t relayed = 0;
    while (!stop) {
        struct pollfd fds[1 + 2 * MAX_PAIRS];
        int map[MAX_PAIRS];
        nfds_t n = 0;
        fds[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (int i = 0; i < MAX_PAIRS; i++) {
            map[i] = -1;
            if (!pairs[i].used) {
                continue;
            }
            pair_t *p = &pairs[i];
            map[i] = (int)n;
            /* the client's socket: read for up, write for down */
            fds[n++] =
                (struct pollfd){.fd = p->up.from,
                                .events = (short)((p->up.done == p->up.len ? POLLIN : 0) |
                                                  (p->down.done < p->down.len ? POLLOUT : 0))};
            fds[n++] =
                (struct pollfd){.fd = p->up.to,
                                .events = (short)((p->down.done == p->down.len ? POLLIN : 0) |
                                                  (p->up.done < p->up.len ? POLLOUT : 0))};
        }
        if (poll(fds, n, 500) < 0) {
            if (errno == EINTR) {
                continue;
            }
            fprintf(stderr, "ft_flipproxy: poll: %s\n", strerror(errno));
            break;
        }
        for (int i = 0; i < MAX_PAIRS; i++) {
            if (map[i] < 0) {
                continue;
            }
            pair_t *p = &pairs[i];
            short cev = fds[map[i]].revents, sev = fds[map[i] + 1].revents;
            if (!relay(&p->up, cev, sev, flip, flip_at, &flipped, p->id, &relayed) ||
                !relay(&p->down, sev, cev, false, 0, &flipped, p->id, NULL)) {
                pair_close(p);
            }
        }
        if (fds[0].revents & POLLIN) {
            int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (c < 0) {
                continue;
            }
            int s = connect_to(tport);
            pair_t *p = NULL;
            for (int i = 0; i < MAX_PAIRS && !p; i++) {
                if (!pairs[i].used) {
                    p = &pairs[i];
                }
            }
            if (s < 0 || !p) {
                /* nobody at the target, or too many: the client sees a close */
                close(c);
                if (s >= 0) {
                    close(s);
                }
                continue;
            }
            memset(p, 0, sizeof *p);
            p->used = true;
            p->id = next_id++;
            p->up.from = c;
            p->up.to = s;
            p->down.from = s;
            p->down.to = c;
        }
    }
    for (int i = 0; i < MAX_PAIRS; i++) {
        if (pairs[i].used) {
            pair_close(&pairs[i]);
        }
    }
    close(lfd);
    fprintf(stderr, "ft_flipproxy: relayed %llu bytes to the server\n",
            (unsigned long long)relayed);
    return 0;
}
