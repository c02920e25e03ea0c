/* httpguard.h: the dashboard's connections kept within bounds when someone
 * hostile reaches its port (docs/api.md "Connections and their limits").
 *
 * The server answers each connection on a thread of its own (http.h), out
 * of a pool of max_connections. Without a guard, connections that open and
 * trickle a header line every few seconds (the idle timeout restarts at each
 * byte) hold the whole pool and lock every user out without a login. The
 * guard keeps a table of the server's connections, each in one state:
 *
 *   waiting  accepted, or kept alive after a reply: its next request (the
 *            headers and any body) is not all in yet;
 *   busy     a request is in and its reply is being made or sent;
 *   stream   an event stream (GET /api/events) of a session;
 *   closing  the guard shut its socket down; the server's thread notices and
 *            closes it (the entry goes when the server says it closed).
 *
 *   open -> waiting --request in--> busy --reply sent--> waiting (kept alive)
 *   busy --stream route, admitted--> stream --ended--> waiting
 *   waiting --evicted or past the deadline--> closing
 *   stream --its peer closed it and a new stream of the session needs room--> closing
 *   any --the server closed it--> gone
 *
 * Bounds, all enforced by the guard before the server's own limit is reached:
 *   - a request must be in within request_timeout_ms of the moment the
 *     connection began waiting for it, however it trickles;
 *   - one address (IPv4; IPv6 by its /64, as loginlimit.h counts logins)
 *     holds at most max_per_address connections: a new one from it closes
 *     that address's oldest waiting connection, and is refused when none of
 *     them waits;
 *   - at most max_waiting connections wait in all: past that a new one
 *     closes the oldest waiting connection of any address;
 *   - at most streams_per_session event streams per session and
 *     max_streams in all; streams whose peer has gone are closed to make
 *     room before a new one is refused.
 * So a flood of slow connections pushes out only its own oldest ones: a new
 * connection that sends its request at once (a browser, a script) is never
 * the oldest, and busy connections and streams are never pushed out.
 *
 * The guard closes a connection with shutdown(2) on its socket, never
 * close(2): the server still owns the descriptor until it says the
 * connection closed (httpguard_gone), so the number is never reused under
 * it. It knows nothing of libmicrohttpd: http.c calls it from its
 * callbacks. Thread safe (one mutex); a thread of its own sweeps deadlines
 * every sweep_ms and logs what it closed, one line a minute at most.
 */
#ifndef FT_HUB_HTTPGUARD_H
#define FT_HUB_HTTPGUARD_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define HTTPGUARD_DEFAULT_MAX_CONNECTIONS 256
#define HTTPGUARD_DEFAULT_MAX_PER_ADDRESS 64
#define HTTPGUARD_DEFAULT_REQUEST_TIMEOUT_MS 10000
#define HTTPGUARD_DEFAULT_STREAMS_PER_SESSION 4
#define HTTPGUARD_LOG_EVERY_MS 60000

typedef struct {
    unsigned max_connections;     /* entries (the server's own connection limit) */
    unsigned max_per_address;     /* connections of one address */
    unsigned max_waiting;         /* waiting connections in all (0: max_connections / 2) */
    int64_t request_timeout_ms;   /* a request must be in within this */
    unsigned max_streams;         /* event streams in all (0: max_connections / 4) */
    unsigned streams_per_session; /* event streams of one session */
    int64_t sweep_ms;             /* the sweeper's period; 0: no thread (tests call
                                     httpguard_sweep) */
    /* Called by the sweeper after each sweep (may be NULL): the server
     * hangs its own periodic work here (rate-limited log summaries, the
     * aggregated audit entries). */
    void (*tick)(void *ctx, int64_t now_ms);
    void *tick_ctx;
} httpguard_opts_t;

typedef struct httpguard_t httpguard_t;
typedef struct httpguard_conn httpguard_conn_t;

/* What a new event stream got. */
typedef enum {
    HTTPGUARD_STREAM_OK = 0,
    HTTPGUARD_STREAM_SESSION_FULL, /* the session has streams_per_session live streams */
    HTTPGUARD_STREAM_ALL_FULL,     /* max_streams live streams in all */
} httpguard_stream_t;

/* What the guard did, since start (for /metrics and the tests). */
typedef struct {
    uint64_t evicted_address;  /* waiting connections closed for a new one of their address */
    uint64_t evicted_waiting;  /* ... for a new one past max_waiting */
    uint64_t timed_out;        /* waiting connections closed past the request deadline */
    uint64_t refused;          /* new connections refused (their address full, all busy) */
    uint64_t streams_refused;  /* event streams refused */
    uint64_t streams_dead;     /* event streams closed because their peer had gone */
    unsigned open;             /* connections in the table now (closing ones too) */
    unsigned waiting;          /* of them waiting now */
    unsigned streams;          /* of them streams now */
    unsigned max_waiting_seen; /* the most waiting at once */
} httpguard_stats_t;

/* The defaults above (max_waiting and max_streams derived). */
void httpguard_defaults(httpguard_opts_t *o);
/* Starts the guard (and its sweeper when o->sweep_ms > 0). FT_OK,
 * FT_EINVAL (a limit of 0, or max_per_address above max_connections),
 * FT_ENOMEM. */
int httpguard_new(const httpguard_opts_t *o, httpguard_t **out) FT_MUST_CHECK;
/* Stops the sweeper and frees; every connection must be gone. Safe on NULL. */
void httpguard_destroy(httpguard_t **g_p);

/* Before a connection from addr is accepted: makes room (closes the oldest
 * waiting connection of the address when it has max_per_address, else the
 * oldest waiting one of all past max_waiting). False: refuse it (its
 * address holds max_per_address connections and none waits). */
bool httpguard_admit(httpguard_t *g, const struct sockaddr *addr, int64_t now_ms);
/* The server accepted a connection on fd: its entry, waiting from now_ms;
 * NULL when the table is full (the caller closes the connection). */
httpguard_conn_t *httpguard_open(httpguard_t *g, int fd, const struct sockaddr *addr,
                                 int64_t now_ms);
/* The server closed it: the entry goes (c may be NULL). */
void httpguard_gone(httpguard_t *g, httpguard_conn_t *c);
/* Its request is all in: busy (no deadline, never evicted). */
void httpguard_busy(httpguard_t *g, httpguard_conn_t *c);
/* Its reply was sent (or the request ended): waiting for the next request
 * from now_ms. */
void httpguard_waiting(httpguard_t *g, httpguard_conn_t *c, int64_t now_ms);
/* A busy connection becomes an event stream of session (a key for the
 * session, e.g. a hash of its token): OK, or why not (then it stays busy
 * and the caller refuses the stream). */
httpguard_stream_t httpguard_stream(httpguard_t *g, httpguard_conn_t *c, uint64_t session);

/* Closes the waiting connections past the deadline at now_ms (the sweeper
 * calls this; tests may too). Returns how many it closed. */
size_t httpguard_sweep(httpguard_t *g, int64_t now_ms);
void httpguard_stats(httpguard_t *g, httpguard_stats_t *out);
/* The limits in force. */
const httpguard_opts_t *httpguard_opts(const httpguard_t *g);
/* Milliseconds of the monotonic clock (the guard's time). */
int64_t httpguard_now_ms(void);

#endif
