/* ft_attack.c: what someone on the office network can throw at a hub's
 * ZeroMQ ports and its dashboard, for the scripts in tests/security. Only
 * ever aimed at 127.0.0.1.
 *
 *   ft_attack idle PORT N SECONDS
 *       keeps N TCP connections to 127.0.0.1:PORT open that send nothing
 *       (one closed by the hub is opened again, at most 200 a second);
 *   ft_attack bigframe PORT N SECONDS
 *       N connections that send a ZMTP 3.0 greeting (mechanism CURVE) and
 *       then a command frame announcing 16 MiB, and trickle a byte a second;
 *   ft_attack unknownkeys PORT HUBKEY SECONDS [PARALLEL]
 *       CurveZMQ handshakes with fresh, unknown client keys, one after the
 *       other (PARALLEL at once), against the hub's transport key HUBKEY;
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

static int run_conns(unsigned port, int n, int seconds, int mode, int interval)
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
    /* Command frame (flags: long | command), size 16 MiB. */
    static const uint8_t header[9] = {0x06, 0, 0, 0, 0, 0x01, 0, 0, 0};
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
                    if (send(fds[i], greeting, sizeof greeting, MSG_NOSIGNAL) == 64 &&
                        send(fds[i], header, sizeof header, MSG_NOSIGNAL) == 9) {
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

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "idle") == 0) {
        return run_conns((unsigned)atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), MODE_IDLE, 0);
    }
    if (argc >= 5 && strcmp(argv[1], "bigframe") == 0) {
        return run_conns((unsigned)atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), MODE_BIGFRAME, 0);
    }
    if (argc >= 5 && strcmp(argv[1], "slowhttp") == 0) {
        int interval = argc > 5 ? atoi(argv[5]) : 10;
        return run_conns((unsigned)atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), MODE_SLOWHTTP,
                         interval > 0 ? interval : 10);
    }
    if (argc >= 5 && strcmp(argv[1], "unknownkeys") == 0) {
        return run_unknown((unsigned)atoi(argv[2]), argv[3], atoi(argv[4]),
                           argc > 5 ? atoi(argv[5]) : 4);
    }
    fprintf(stderr, "usage: ft_attack idle PORT N SECONDS | bigframe PORT N SECONDS |\n"
                    "       unknownkeys PORT HUBKEY SECONDS [PARALLEL] |\n"
                    "       slowhttp PORT N SECONDS [INTERVAL]\n");
    return 2;
}
