/* ft_hookd.c: a tiny HTTP receiver for the webhook tests, on 127.0.0.1 only.
 *
 * usage: ft_hookd PORT OUTFILE [FAIL_FIRST] [SECONDS] [DELAY_MS] [TIMES]
 * Accepts POSTs, appends "PATH BODY" (one line per request, the body as
 * received; PATH with its query; with TIMES 1 "MS PATH BODY", MS the Unix
 * time in ms the request was read) to OUTFILE, and answers 200 with {"errcode":0,"errmsg":"ok"};
 * the first FAIL_FIRST requests (default 0) get 500 instead, to exercise the
 * hub's retries. DELAY_MS > 0: a slow receiver, it waits that long after
 * writing the line before it answers; DELAY_MS -1: a black hole, it accepts
 * connections and never reads or answers (OUTFILE stays empty). Exits after
 * SECONDS (default 60), so it never outlives a test.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ft_hookd PORT OUTFILE [FAIL_FIRST] [SECONDS] [DELAY_MS] [TIMES]\n");
        return 2;
    }
    int port = atoi(argv[1]), fail_first = argc > 3 ? atoi(argv[3]) : 0;
    int seconds = argc > 4 ? atoi(argv[4]) : 60;
    int delay_ms = argc > 5 ? atoi(argv[5]) : 0;
    int times = argc > 6 ? atoi(argv[6]) : 0;
    signal(SIGPIPE, SIG_IGN); /* a client that went away (a killed hub) must not end us */
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 16) != 0) {
        perror("ft_hookd: bind");
        return 1;
    }
    time_t end = time(NULL) + seconds;
    int served = 0;
    static char buf[1 << 20];
    while (time(NULL) < end) {
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0) {
            continue;
        }
        int c = accept(s, NULL, NULL);
        if (c < 0) {
            continue;
        }
        if (delay_ms < 0) {
            continue; /* black hole: the connection stays open, unanswered, until exit */
        }
        size_t len = 0;
        long want = -1;
        char *body = NULL;
        while (len < sizeof buf - 1) {
            struct pollfd q = {.fd = c, .events = POLLIN};
            if (poll(&q, 1, 2000) <= 0) {
                break;
            }
            ssize_t n = read(c, buf + len, sizeof buf - 1 - len);
            if (n <= 0) {
                break;
            }
            len += (size_t)n;
            buf[len] = '\0';
            if (!body && (body = strstr(buf, "\r\n\r\n")) != NULL) {
                body += 4;
                char *cl = strcasestr(buf, "Content-Length:");
                want = cl ? atol(cl + 15) : 0;
            }
            if (body && (long)(buf + len - body) >= want) {
                break;
            }
        }
        char path[256] = "?";
        sscanf(buf, "%*s %255s", path);
        served++;
        const char *status = served <= fail_first ? "500 Internal Server Error" : "200 OK";
        if (served > fail_first && body) {
            FILE *f = fopen(argv[2], "a");
            if (f) {
                if (times) {
                    struct timespec now;
                    clock_gettime(CLOCK_REALTIME, &now);
                    fprintf(f, "%lld ", (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
                }
                fprintf(f, "%s %.*s\n", path, (int)want, body);
                fclose(f);
            }
        }
        if (delay_ms > 0) {
            struct timespec d = {.tv_sec = delay_ms / 1000,
                                 .tv_nsec = (delay_ms % 1000) * 1000000L};
            nanosleep(&d, NULL);
        }
        const char *reply = "{\"errcode\":0,\"errmsg\":\"ok\"}";
        char head[256];
        int hn = snprintf(head, sizeof head,
                          "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: "
                          "%zu\r\nConnection: close\r\n\r\n",
                          status, strlen(reply));
        if (write(c, head, (size_t)hn) < 0 || write(c, reply, strlen(reply)) < 0) {
            perror("ft_hookd: write");
        }
        close(c);
    }
    close(s);
    return 0;
}
