/* ft_dforge: sends forged messages to a hub's chunk data path (the plain
 * ZeroMQ ROUTER of media.data_listen), built with the project's own codec.
 *   ft_dforge ENDPOINT KIND [--device ID] [--file HEX] [--index N] [--rounds N]
 * KIND, each sent --rounds times (default 1):
 *   garbage   three single-frame messages of random bytes (1, 200, 70000 bytes)
 *   badtoken  a well-formed ChunkData for --file/--index carrying --device
 *             (text form) and a random token, with random data of a whole
 *             chunk's length (1 MiB + tag)
 *   noauth    the same chunk without device and token
 *   all       the three above, and one message of two random frames
 * --rounds 0: round after round (10 ms apart) until SIGTERM or SIGINT.
 * Waits for the ZMTP handshake first (exit 3 if there is none within 5 s),
 * then sends and waits (up to 2 s) for the messages to leave. Prints
 * "ft_dforge: sent N messages". Exit 0, 1 on a local failure, 2 on bad
 * usage. Used only by the scripts in tests/media. */
#include "keys.h"
#include "media.h"
#include "mediawire.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "../lib/zmq_wait.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int send_random(void *sock, size_t len, int flags)
{
    uint8_t *b = malloc(len ? len : 1);
    if (!b) {
        return -1;
    }
    randombytes_buf(b, len);
    int rc = zmq_send(sock, b, len, flags);
    free(b);
    return rc < 0 ? -1 : 0;
}

/* A ChunkData for file/index with random data (and, when auth, the device
 * and a random token): packed with mwire_encode. */
static int send_chunk(void *sock, const uint8_t *file, uint32_t index, bool auth,
                      const uint8_t *device)
{
    size_t len = MEDIA_CHUNK_SIZE + MEDIA_TAG_BYTES;
    uint8_t *data = malloc(len);
    if (!data) {
        return -1;
    }
    randombytes_buf(data, len);
    mwire_msg_t m = {.kind = MWIRE_CHUNK};
    memcpy(m.u.chunk.file_id, file, MEDIA_FILE_ID_BYTES);
    m.u.chunk.index = index;
    m.u.chunk.data = data;
    m.u.chunk.len = len;
    if (auth) {
        m.u.chunk.has_auth = true;
        memcpy(m.u.chunk.device, device, DEVID_BYTES);
        randombytes_buf(m.u.chunk.token, MWIRE_TOKEN_BYTES);
    }
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = mwire_encode(&m, &buf, &n) == FT_OK && zmq_send(sock, buf, n, 0) >= 0 ? 0 : -1;
    free(buf);
    free(data);
    return rc;
}

int main(int argc, char **argv)
{
    const char *device_text = NULL, *file_hex = NULL;
    unsigned long index = 0, rounds = 1;
    static const struct option opts[] = {
        {"device", required_argument, NULL, 'd'},
        {"file", required_argument, NULL, 'f'},
        {"index", required_argument, NULL, 'i'},
        {"rounds", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            device_text = optarg;
            break;
        case 'f':
            file_hex = optarg;
            break;
        case 'i':
            index = strtoul(optarg, NULL, 10);
            break;
        case 'r':
            rounds = strtoul(optarg, NULL, 10);
            break;
        default:
            return 2;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "usage: ft_dforge ENDPOINT garbage|badtoken|noauth|all [--device ID] "
                        "[--file HEX] [--index N] [--rounds N]\n");
        return 2;
    }
    const char *ep = argv[optind], *kind = argv[optind + 1];
    bool garbage = strcmp(kind, "garbage") == 0 || strcmp(kind, "all") == 0;
    bool badtoken = strcmp(kind, "badtoken") == 0 || strcmp(kind, "all") == 0;
    bool noauth = strcmp(kind, "noauth") == 0 || strcmp(kind, "all") == 0;
    bool multi = strcmp(kind, "all") == 0;
    uint8_t device[DEVID_BYTES] = {0}, file[MEDIA_FILE_ID_BYTES] = {0};
    if (!garbage && !badtoken && !noauth) {
        fprintf(stderr, "ft_dforge: unknown kind %s\n", kind);
        return 2;
    }
    if ((badtoken || noauth) && (!file_hex || strlen(file_hex) != 2 * MEDIA_FILE_ID_BYTES ||
                                 hex_decode(file_hex, file, MEDIA_FILE_ID_BYTES) != FT_OK)) {
        fprintf(stderr, "ft_dforge: --file takes the file ID in hex\n");
        return 2;
    }
    if (badtoken && (!device_text || devid_parse(device_text, device) != FT_OK)) {
        fprintf(stderr, "ft_dforge: --device takes a device ID\n");
        return 2;
    }
    if (sodium_init() < 0) {
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    void *ctx = zmq_ctx_new();
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 2000;
    zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_socket_monitor(d, "inproc://ft_dforge.mon", ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0) {
        return 1;
    }
    void *mon = zmq_socket(ctx, ZMQ_PAIR);
    if (zmq_connect(mon, "inproc://ft_dforge.mon") != 0 || zmq_connect(d, ep) != 0) {
        fprintf(stderr, "ft_dforge: cannot connect to %s: %s\n", ep, zmq_strerror(zmq_errno()));
        return 1;
    }
    int rc = 0;
    unsigned long sent = 0;
    if (!await_handshake(mon, mono_ms() + 5000)) {
        fprintf(stderr, "ft_dforge: no ZMTP handshake with %s\n", ep);
        rc = 3;
    }
    for (unsigned long r = 0; (rounds == 0 || r < rounds) && rc == 0 && !stop; r++) {
        if (garbage) {
            static const size_t sizes[] = {1, 200, 70000};
            for (size_t i = 0; i < sizeof sizes / sizeof sizes[0] && rc == 0; i++) {
                rc = send_random(d, sizes[i], 0) == 0 ? 0 : 1;
                sent += rc == 0;
            }
        }
        if (rc == 0 && badtoken) {
            rc = send_chunk(d, file, (uint32_t)index, true, device) == 0 ? 0 : 1;
            sent += rc == 0;
        }
        if (rc == 0 && noauth) {
            rc = send_chunk(d, file, (uint32_t)index, false, NULL) == 0 ? 0 : 1;
            sent += rc == 0;
        }
        if (rc == 0 && multi) {
            rc = send_random(d, 64, ZMQ_SNDMORE) == 0 && send_random(d, 64, 0) == 0 ? 0 : 1;
            sent += rc == 0;
        }
        if (rounds == 0) {
            usleep(10000);
        }
    }
    if (rc == 1 && stop && zmq_errno() == EINTR) {
        rc = 0; /* a send the signal interrupted */
    }
    if (rc == 1) {
        fprintf(stderr, "ft_dforge: send: %s\n", zmq_strerror(zmq_errno()));
    }
    zmq_socket_monitor(d, NULL, 0);
    zmq_close(mon);
    zmq_close(d);
    zmq_ctx_term(ctx); /* waits (LINGER) until the messages left */
    printf("ft_dforge: sent %lu messages\n", sent);
    return rc;
}
