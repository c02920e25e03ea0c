/* ft_sub.c: subscribes to the hub's alert PUB socket and prints each message
 * as "TOPIC BODY" lines, for SECONDS (default 30).
 *
 * usage: ft_sub ENDPOINT PREFIX OUTFILE [SECONDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: ft_sub ENDPOINT PREFIX OUTFILE [SECONDS]\n");
        return 2;
    }
    int seconds = argc > 4 ? atoi(argv[4]) : 30;
    void *ctx = zmq_ctx_new();
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    int zero = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, argv[2], strlen(argv[2]));
    if (zmq_connect(sub, argv[1]) != 0) {
        fprintf(stderr, "ft_sub: connect %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
        return 1;
    }
    FILE *out = fopen(argv[3], "a");
    if (!out) {
        return 1;
    }
    time_t end = time(NULL) + seconds;
    static char topic[1024], body[1 << 20];
    while (time(NULL) < end) {
        zmq_pollitem_t it = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 200) <= 0) {
            continue;
        }
        int tn = zmq_recv(sub, topic, sizeof topic - 1, 0);
        int more = 0;
        size_t ml = sizeof more;
        zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml);
        int bn = more ? zmq_recv(sub, body, sizeof body - 1, 0) : 0;
        if (tn < 0 || bn < 0) {
            continue;
        }
        fprintf(out, "%.*s %.*s\n", tn, topic, bn, body);
        fflush(out);
    }
    fclose(out);
    zmq_close(sub);
    zmq_ctx_term(ctx);
    return 0;
}
