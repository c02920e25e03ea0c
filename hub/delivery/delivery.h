/* delivery.h: alert events out of the hub: a ZeroMQ PUB socket and webhooks.
 *
 * PUB: delivery_publish sends each event without blocking (a slow
 * subscriber loses messages at its high-water mark, as PUB does). Not
 * durable: a subscriber that is down misses events. The socket is a
 * CurveZMQ server that admits only the subscriber keys on the hub's
 * allow-list (subscribers.h), with the bounds of every socket
 * (common/zmq/zsock.h) and a connection cap (zguard).
 *
 * Webhooks: the hub log is the outbox. Every alert event is an AlertEvent
 * entry in the hub's own log (engine.c appends it before the sink sees it),
 * so webhooks need the hub log (delivery_new refuses hooks without one;
 * there is no in-memory path). Each webhook has a thread of its own and a
 * delivery cursor: the position after the last alert event it has finished
 * (delivered, given up on after its tries, skipped as too old, left out by
 * its filter; entries that are not alert events are passed whole). An
 * entry may hold a batch of events (AlertEvents, common/entry.h), so the
 * position is (seq, part): every entry up to seq is finished, and the first
 * `part` events of entry seq + 1 (0 between entries, the only value before
 * batches, so an older cursors file reads as it was written). The thread wakes when
 * delivery_publish signals it, or every second, reads the entries after its
 * cursor in a read transaction of its own, and sends what its route takes
 * (route.h: a filter; each event, or digests at fixed local times plus the
 * immediate severities) with libcurl, retrying with exponential backoff.
 * A paced hook (route.h rate, pace.h) sends one message per event while the
 * pace allows them all; events that have to wait are merged into one
 * message that says how many, per unit, and which hub-log entries (first to
 * last) it covers. After each finished message it advances the cursor past
 * the events the message covers and stores every cursor in
 * STATE/webhooks.cursors (atomic rewrite) with the times of the recent
 * sends (the pace survives a restart) and the digest in progress, keyed by
 * a hash of "FORMAT=URL", never the URL or the secret. So:
 *   - a dead or hanging hook delays only itself;
 *   - nothing is dropped at shutdown or crash: after a restart each hook
 *     continues after its cursor (at least once: a message delivered just
 *     before a crash may be sent again);
 *   - a hook seen for the first time starts at the log's head (no history);
 *   - an event older than max_age_ms when its turn comes (start-up after a
 *     long stop, a long outage) is skipped, counted in one log line.
 * Formats and requests: botmsg.h; digests: digest.h; docs/alerts.md.
 *
 * PUB message: two frames, the topic "alert.<unit>.<severity>" (a '.' in the
 * unit is written '_') and the event as JSON.
 *
 * Threads: delivery_publish is called by one thread (the evaluator); the
 * PUB socket is used only there. Each hook thread has its own state under
 * its own mutex; the cursors file is written under one more mutex.
 */
#ifndef FT_HUB_DELIVERY_H
#define FT_HUB_DELIVERY_H

#include "devlog.h"
#include "error.h"
#include "pace.h"
#include "route.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DELIVERY_DEFAULT_PUBLISH "tcp://*:7401"
#define DELIVERY_DEFAULT_PUBLISH_PORT 7401
#define DELIVERY_CURSORS_FILE "webhooks.cursors"
#define DELIVERY_DEFAULT_MAX_AGE_MS (24ULL * 3600 * 1000)

typedef struct {
    const char *publish; /* PUB endpoint; NULL, "" or "off": no PUB socket */
    const hook_t *hooks; /* webhooks (copied) */
    size_t n_hooks;
    const person_t *people; /* whom messages mention (copied) */
    size_t n_people;
    const char *dashboard_url; /* links in messages; NULL or "": none */
    int64_t digest_offset_ms;  /* the digest clock: the wall clock plus this (tests) */
    devlog_t *hublog;          /* the outbox (borrowed; required when n_hooks > 0) */
    const char *state;         /* state directory for the cursors file (required with hooks) */
    unsigned attempts;         /* tries per event and hook (0 = 5) */
    unsigned timeout_ms;       /* per try (0 = 5000) */
    unsigned backoff_ms;       /* wait before the first retry, doubled each time (0 = 500) */
    uint64_t max_age_ms;       /* skip events older than this (0 = DELIVERY_DEFAULT_MAX_AGE_MS) */
    unsigned poll_ms;          /* hook threads look at the log at least this often (0 = 1000) */
    /* The PUB socket as a CurveZMQ server (subscribers.h): the hub's
     * transport secret key, and the allow-list of subscriber keys. NULL
     * curve_sk: a plain PUB socket (the unit tests of this library only). */
    const uint8_t *curve_sk;
    const char *subscribers;  /* allow-list path (required with curve_sk) */
    unsigned max_subscribers; /* connections at most (0 = DELIVERY_DEFAULT_MAX_SUBSCRIBERS) */
} delivery_opts_t;

#define DELIVERY_DEFAULT_MAX_SUBSCRIBERS 64
/* What a subscriber sends: subscriptions (a topic prefix) and the CurveZMQ
 * handshake's commands, none near this. */
#define DELIVERY_PUB_MAX_MSG 4096

typedef struct delivery_t delivery_t;

/* Binds the PUB socket, loads the cursors and starts one thread per hook.
 * FT_EIO if the bind fails (the reason is logged), FT_EINVAL for hooks
 * without a hub log or state directory. */
int delivery_new(const delivery_opts_t *opts, delivery_t **out) FT_MUST_CHECK;
/* Stops the hook threads (a try in progress is abandoned within about a
 * second; its event stays after the cursor and is sent after a restart),
 * closes the socket. */
void delivery_destroy(delivery_t **d_p);
/* Publishes one alert event (as made by alerts.c, already in the hub log)
 * on PUB and wakes the hook threads. */
void delivery_publish(delivery_t *d, const json_t *event);

/* Parses "FORMAT=URL FORMAT=URL ..." (FORMAT: generic, wecom, dingtalk,
 * feishu): hooks that take every event, one message each, at the format's
 * pace. *hooks is malloc'd. FT_EINVAL with a sentence in err. */
int delivery_parse_hooks(const char *text, hook_t **hooks, size_t *n, char *err,
                         size_t errlen) FT_MUST_CHECK;
/* "alert.<unit>.<severity>" for an event into buf. */
void delivery_topic(const json_t *event, char *buf, size_t len);

/* A hook's name for logs and status: "FORMAT (HOST[:PORT])", or "NAME
 * (FORMAT, HOST[:PORT])" for a [webhook.NAME] section, without path, query
 * or user info (where keys live). */
void delivery_hook_name(const hook_t *h, char *buf, size_t len);
/* The hook's key in the cursors file: hex of the first 16 bytes of
 * SHA-256("FORMAT=URL"). */
void delivery_hook_key(const hook_t *h, char out[33]);
/* True if an event made at event_ms is too old to send at now_ms (older
 * than max_age_ms; an event from the future is never too old). */
bool delivery_too_old(uint64_t event_ms, uint64_t now_ms, uint64_t max_age_ms);

/* One hook's line in the cursors file. */
typedef struct {
    char key[33];            /* delivery_hook_key */
    char name[160];          /* delivery_hook_name */
    uint64_t seq;            /* the cursor: entries up to this hub-log seq finished, */
    uint64_t part;           /* and this many events of entry seq + 1 (0: none) */
    uint64_t sent, failed;   /* events delivered / given up on (since first seen) */
    uint64_t messages;       /* messages delivered */
    uint64_t merged;         /* events delivered inside merged messages */
    uint64_t digests;        /* digests completed */
    int64_t last_success_ms; /* 0: never */
    int64_t last_error_ms;   /* 0: never */
    char last_error[256];    /* the last failed try's reason */
    pace_t pace;             /* the recent tries (the pace across restarts) */
    /* Digests: the last done (its time; the hub-log seq it reached) and the
     * one in progress (its time, the seq it reaches, the last unit sent). */
    int64_t digest_done_ms;
    uint64_t digest_from;
    int64_t digest_slot_ms;
    uint64_t digest_to;
    char digest_unit[256];
} hook_cursor_t;

/* Reads a cursors file. A missing file is no cursors (FT_OK, n 0).
 * FT_ECORRUPT (with a sentence in err) if it does not parse; *out is then
 * NULL. *out is malloc'd. */
int delivery_cursors_read(const char *path, hook_cursor_t **out, size_t *n, char *err,
                          size_t errlen) FT_MUST_CHECK;
/* Writes a cursors file atomically (temp file, fsync, rename). */
int delivery_cursors_write(const char *path, const hook_cursor_t *c, size_t n) FT_MUST_CHECK;
/* Alert events in the log after the cursor (after, part) (with a hook:
 * those it sends one by one or merged; a digest hook's others wait for the
 * digest). */
int delivery_backlog(devlog_t *hublog, uint64_t after, uint64_t part, uint64_t *n) FT_MUST_CHECK;
int delivery_backlog_for(devlog_t *hublog, const hook_t *h, uint64_t after, uint64_t part,
                         uint64_t *n) FT_MUST_CHECK;

/* One alert event read from the hub log after a cursor: where it is (entry
 * seq, index in the entry, events in the entry), when the hub appended it
 * and its event JSON (detail_json parsed; NULL if it does not parse). */
typedef struct {
    uint64_t seq;
    uint32_t idx, of;
    uint64_t ms;
    json_t *ev;
    bool old; /* older than max_age when read */
} outev_t;

/* The cursor just after event e: (e.seq, 0) after the last event of its
 * entry, else (e.seq - 1, e.idx + 1). */
void delivery_pos_after(const outev_t *e, uint64_t *seq, uint64_t *part);
/* Reads up to max events (1..DELIVERY_READ_MAX) after the cursor (seq,
 * part), in log order, with a hook's filter (NULL: every alert event);
 * *more says it stopped before the log's end, and (*last_seq, *last_part)
 * is the cursor after everything it looked at (the events taken and the
 * entries and events passed). Frees with delivery_events_free. */
#define DELIVERY_READ_MAX 1000
int delivery_read(devlog_t *hublog, const hook_t *h, uint64_t seq, uint64_t part, size_t max,
                  uint64_t now_ms, uint64_t max_age_ms, outev_t *out, size_t *n, bool *more,
                  uint64_t *last_seq, uint64_t *last_part) FT_MUST_CHECK;
void delivery_events_free(outev_t *ev, size_t n);

/* The webhooks part of `fieldtrail-hub status`, from STATE/webhooks.cursors,
 * the hub log and the configured hooks (works while `run` runs or not): an
 * array of {"hook", "sent", "failed", "last_error", "backlog",
 * "last_error_at", "last_success_at", "messages", "merged", and for a
 * configured hook "format", "mode", "route" (route_describe), "digest_at",
 * "next_digest", "last_digest"}; hooks configured but not yet run have no
 * counters; an object {"error"} if the file is unreadable. */
json_t *delivery_status_json(const char *state, devlog_t *hublog, const hook_t *hooks,
                             size_t n_hooks);
void delivery_status_print(const json_t *status, FILE *out);

#endif
