/* ft_sub.c: subscribes to the hub's alert PUB socket and prints each message
 * as "TOPIC BODY" lines, for SECONDS (default 30).
 *
 * usage: ft_sub [--server-key HEX --keys FILE] ENDPOINT PREFIX OUTFILE [SECONDS]
 *        ft_sub --keygen FILE
 *
 * The hub's PUB socket is a CurveZMQ server (hub/delivery/subscribers.h):
 * --server-key is the hub's transport key (hub_key), --keys a file made by
 * --keygen ("public HEX" and "secret HEX" lines; --keygen prints the public
 * key, for `fieldtrail-hub subscriber add`). Without them: a plain
 * subscriber, which a hub refuses.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static void to_hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", b[i]);
    }
}

static int from_hex(const char *s, uint8_t *b, size_t n)
{
    if (strlen(s) < 2 * n) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        b[i] = (uint8_t)v;
    }
    return 0;
}

static int keygen(const char *path)
{
    char pub_z85[41], sec_z85[41];
    uint8_t pub[32], sec[32];
    if (zmq_curve_keypair(pub_z85, sec_z85) != 0 || !zmq_z85_decode(pub, pub_z85) ||
        !zmq_z85_decode(sec, sec_z85)) {
        fprintf(stderr, "ft_sub: cannot make a key pair\n");
        return 1;
    }
    char ph[65], sh[65];
    to_hex(pub, 32, ph);
    to_hex(sec, 32, sh);
    FILE *f = fopen(path, "w");
    if (!f) {
        return 1;
    }
    fprintf(f, "public %s\nsecret %s\n", ph, sh);
    fclose(f);
    printf("%s\n", ph);
    return 0;
}

int main(int argc, char **argv)
{
    const char *server_key = NULL, *keys = NULL;
    int a = 1;
    if (argc == 3 && strcmp(argv[1], "--keygen") == 0) {
        return keygen(argv[2]);
    }
    while (a + 1 < argc && strncmp(argv[a], "--", 2) == 0) {
        if (strcmp(argv[a], "--server-key") == 0) {
            server_key = argv[a + 1];
        } else if (strcmp(argv[a], "--keys") == 0) {
            keys = argv[a + 1];
        } else {
            break;
        }
        a += 2;
    }
    if (argc - a < 3) {
        fprintf(stderr, "usage: ft_sub [--server-key HEX --keys FILE] ENDPOINT PREFIX OUTFILE "
                        "[SECONDS]\n       ft_sub --keygen FILE\n");
        return 2;
    }
    const char *ep = argv[a], *prefix = argv[a + 1], *outfile = argv[a + 2];
    int seconds = argc - a > 3 ? atoi(argv[a + 3]) : 30;
    void *ctx = zmq_ctx_new();
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    int zero = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero);
    if (server_key && keys) {
        uint8_t sk[32], pub[32], sec[32];
        char line[256], which[16], hex[128];
        FILE *f = fopen(keys, "r");
        int got = 0;
        while (f && fgets(line, sizeof line, f)) {
            if (sscanf(line, "%15s %127s", which, hex) == 2) {
                if (strcmp(which, "public") == 0 && from_hex(hex, pub, 32) == 0) {
                    got |= 1;
                } else if (strcmp(which, "secret") == 0 && from_hex(hex, sec, 32) == 0) {
                    got |= 2;
                }
            }
        }
        if (f) {
            fclose(f);
        }
        if (got != 3 || from_hex(server_key, sk, 32) != 0) {
            fprintf(stderr, "ft_sub: bad --keys file or --server-key\n");
            return 2;
        }
        zmq_setsockopt(sub, ZMQ_CURVE_SERVERKEY, sk, 32);
        zmq_setsockopt(sub, ZMQ_CURVE_PUBLICKEY, pub, 32);
        zmq_setsockopt(sub, ZMQ_CURVE_SECRETKEY, sec, 32);
    }
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, prefix, strlen(prefix));
    if (zmq_connect(sub, ep) != 0) {
        fprintf(stderr, "ft_sub: connect %s: %s\n", ep, zmq_strerror(zmq_errno()));
        return 1;
    }
    FILE *out = fopen(outfile, "a");
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
