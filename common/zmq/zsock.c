/* zsock.c: socket bounds (see zsock.h). */
#include "zsock.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

int zsock_bound(void *sock, const zsock_bounds_t *b)
{
    int zero = 0, one = 1, idle = ZSOCK_KEEPALIVE_IDLE_S, intvl = ZSOCK_KEEPALIVE_INTVL_S,
        cnt = ZSOCK_KEEPALIVE_CNT;
    int hs = b->handshake_ms > 0 ? b->handshake_ms : ZSOCK_HANDSHAKE_MS;
    int64_t max_msg = b->max_msg;
    if (zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg) != 0 ||
        zmq_setsockopt(sock, ZMQ_HANDSHAKE_IVL, &hs, sizeof hs) != 0 ||
        zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(sock, ZMQ_TCP_KEEPALIVE, &one, sizeof one) != 0 ||
        zmq_setsockopt(sock, ZMQ_TCP_KEEPALIVE_IDLE, &idle, sizeof idle) != 0 ||
        zmq_setsockopt(sock, ZMQ_TCP_KEEPALIVE_INTVL, &intvl, sizeof intvl) != 0 ||
        zmq_setsockopt(sock, ZMQ_TCP_KEEPALIVE_CNT, &cnt, sizeof cnt) != 0) {
        return FT_EIO;
    }
    if (b->maxrt_ms > 0 &&
        zmq_setsockopt(sock, ZMQ_TCP_MAXRT, &b->maxrt_ms, sizeof b->maxrt_ms) != 0) {
        return FT_EIO;
    }
    return FT_OK;
}

unsigned zsock_endpoint_port(const char *ep)
{
    if (!ep || strncmp(ep, "tcp://", 6) != 0) {
        return 0;
    }
    const char *colon = strrchr(ep, ':');
    if (!colon || colon < ep + 6) {
        return 0;
    }
    char *end = NULL;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || p == 0 || p > 65535) {
        return 0;
    }
    return (unsigned)p;
}
