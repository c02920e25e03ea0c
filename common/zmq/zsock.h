/* zsock.h: the bounds every fieldtrail ZeroMQ socket carries (docs/protocol.md
 * "Transport bounds", docs/operations.md "Exposed ports").
 *
 *   - ZMQ_MAXMSGSIZE at what the socket's protocol needs: libzmq checks the
 *     size a peer announces in a frame header (also a CURVE handshake
 *     command, before any key is checked) and closes the connection before
 *     it allocates anything for a larger one;
 *   - ZMQ_HANDSHAKE_IVL: a connection that has not finished its ZMTP (and
 *     CURVE) handshake by then is closed;
 *   - no ZMTP heartbeats (ZMQ_HEARTBEAT_IVL 0): libzmq 4.3.4 aborts the
 *     process when a heartbeat is sent on a connection whose input was
 *     stopped and then failed (assertion !_io_error, zeromq/libzmq#4364);
 *     dead peers are found by TCP keepalive, TCP_USER_TIMEOUT
 *     (ZMQ_TCP_MAXRT: unacknowledged data for that long closes the
 *     connection) and the protocols' own pings.
 */
#ifndef FT_ZSOCK_H
#define FT_ZSOCK_H

#include "error.h"

#include <stdint.h>

/* Keepalive: first probe after this much idle time, then every
 * ZSOCK_KEEPALIVE_INTVL_S, dead after ZSOCK_KEEPALIVE_CNT unanswered. */
#define ZSOCK_KEEPALIVE_IDLE_S 15
#define ZSOCK_KEEPALIVE_INTVL_S 5
#define ZSOCK_KEEPALIVE_CNT 3
/* Default handshake time limit. */
#define ZSOCK_HANDSHAKE_MS 10000

typedef struct {
    int64_t max_msg;  /* ZMQ_MAXMSGSIZE, bytes (> 0) */
    int handshake_ms; /* ZMQ_HANDSHAKE_IVL (0 = ZSOCK_HANDSHAKE_MS) */
    int maxrt_ms;     /* ZMQ_TCP_MAXRT: TCP_USER_TIMEOUT (0 = none) */
} zsock_bounds_t;

/* Sets the bounds on sock (before bind or connect). FT_OK, or FT_EIO when
 * libzmq refuses an option (zmq_errno says which). */
int zsock_bound(void *sock, const zsock_bounds_t *b) FT_MUST_CHECK;

/* The TCP port of a "tcp://HOST:PORT" endpoint, 0 if none. */
unsigned zsock_endpoint_port(const char *ep);

#endif
