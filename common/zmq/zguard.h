/* zguard.h: a cap on the TCP connections of one bound ZeroMQ socket.
 *
 * libzmq has no "max connections". The guard follows the socket's
 * connections with a socket monitor (ZMQ_EVENT_ACCEPTED and
 * ZMQ_EVENT_DISCONNECTED carry the connection's descriptor) in a thread of
 * its own, and closes a connection with shutdown(2) (libzmq then sees the
 * end of the stream, drops the connection and closes the descriptor):
 *
 *   - a new connection when `max_conns` are open: refused;
 *   - the oldest unauthenticated connection when `max_pending` are: one
 *     younger than the socket's handshake limit that the socket's owner
 *     has not vouched for (zguard_trust, when a message arrives from an
 *     authenticated peer) may still be in its handshake (libzmq closes one
 *     that is not done by then), so someone who opens idle connections as
 *     fast as he can pushes out only his own, never one that
 *     authenticated, and a vehicle's own handshake is done within
 *     milliseconds of its connect.
 *
 * With auth_ms set (a socket without a handshake of its own that counts,
 * such as the chunk data path), a connection its owner has not vouched for
 * within auth_ms of its accept is closed too; the owner can also close one
 * at once (zguard_close, e.g. when its first message does not prove who
 * sent it).
 *
 * Every closing is counted; the first of each minute is one log line with
 * the counts since the last ("sync port: 256 connections open (cap ...)").
 * After a burst of closed connections the guard calls malloc_trim, so that
 * what libzmq allocated for them goes back to the system.
 *
 * The descriptor of an event may already be closed (and even reused) when
 * the guard reads it: the guard keeps each connection's socket inode
 * (fstat), acts only on a descriptor that still is a socket bound to this
 * port with that inode, and checks every second that each descriptor it
 * counts still is what it was (a missed event cannot leak a slot). A
 * message may be read before its connection's accept: zguard_trust then
 * counts the connection at once (trusted), and the accept finds it known.
 */
#ifndef FT_ZGUARD_H
#define FT_ZGUARD_H

#include "error.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct zguard_t zguard_t;

typedef struct {
    const char *name;     /* for the log: "sync", "alerts" */
    const char *setting;  /* the config key of max_conns, for the log */
    unsigned max_conns;   /* open connections (>= 1) */
    unsigned max_pending; /* connections younger than handshake_ms (>= 1) */
    int handshake_ms;     /* the socket's ZMQ_HANDSHAKE_IVL */
    int auth_ms;          /* > 0: close a connection not trusted by then */
} zguard_opts_t;

typedef struct {
    unsigned open;     /* connections open now */
    unsigned pending;  /* of them, younger than the handshake limit */
    uint64_t accepted; /* since start */
    uint64_t refused;  /* closed: max_conns reached */
    uint64_t evicted;  /* closed: max_pending reached, the oldest went */
    uint64_t unproven; /* closed: not trusted within auth_ms, or zguard_close */
} zguard_stats_t;

/* Starts guarding sock (of context zctx), before it binds; call from the
 * thread that owns sock. FT_OK, FT_EIO (monitor refused), FT_ENOMEM. */
int zguard_attach(void *zctx, void *sock, const zguard_opts_t *o, zguard_t **out) FT_MUST_CHECK;
/* Stops the guard; call from the thread that owns sock, before closing it.
 * Safe on NULL. */
void zguard_detach(zguard_t **g_p, void *sock);
/* Marks the connection on descriptor fd as authenticated (any thread; the
 * socket's owner calls it when a message from it arrives): it no longer
 * counts as pending. Safe on NULL. */
void zguard_trust(zguard_t *g, int fd);
/* True if the connection on descriptor fd was marked trusted (any thread).
 * False on NULL. */
bool zguard_trusted(zguard_t *g, int fd);
/* Closes the connection on descriptor fd now (if the guard counts it and it
 * is still that connection) and counts it as unproven (any thread). Safe on
 * NULL. */
void zguard_close(zguard_t *g, int fd);
/* The descriptor of the connection a received message (a zmq_msg_t *)
 * came on, -1 if libzmq does not say. */
int zguard_msg_fd(const void *msg);
/* The counts now (any thread). */
void zguard_stats(zguard_t *g, zguard_stats_t *out);

#endif
