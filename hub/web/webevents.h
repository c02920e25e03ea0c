/* webevents.h: live events for the dashboard (server-sent events).
 *
 * A bounded ring of recent events, each with a sequence number, and one
 * watcher thread that calls a poll function every WEBEVENTS_POLL_MS; the
 * poll publishes what changed (sync state, alerts, new records). Readers
 * (one per open event stream) wait on a condition variable for events after
 * their cursor, so an event reaches every open page within one poll period
 * plus the write.
 *
 * States: running --webevents_stop--> stopping (waiters return -1 at once,
 * the watcher exits) --webevents_destroy--> gone.
 */
#ifndef FT_HUB_WEBEVENTS_H
#define FT_HUB_WEBEVENTS_H

#include "error.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define WEBEVENTS_RING 256
#define WEBEVENTS_POLL_MS 250

typedef struct webevents_t webevents_t;
typedef void (*webevents_poll_fn)(void *ctx, webevents_t *ev);

/* Starts the watcher thread calling poll(ctx, ev); *out is set before the
 * thread starts, so a poll may read it. FT_OK, FT_ENOMEM. */
int webevents_new(webevents_poll_fn poll, void *ctx, webevents_t **out) FT_MUST_CHECK;
/* Wakes every waiter and stops the watcher; idempotent; safe on NULL. */
void webevents_stop(webevents_t *ev);
/* Stops, joins and frees; NULLs *ev_p; safe on NULL. */
void webevents_destroy(webevents_t **ev_p);

/* Publishes one event of type with data (takes the reference). */
void webevents_publish(webevents_t *ev, const char *type, json_t *data);
/* Sequence number of the newest event (0 if none). */
uint64_t webevents_last(webevents_t *ev);
/* Waits up to timeout_ms for events after *cursor and writes them as SSE
 * text ("id:", "event:", "data:" lines) into buf; advances *cursor.
 * Returns the bytes written, 0 on timeout, -1 once stopped. An event that
 * does not fit whole in buf waits for the next call (buf must hold at least
 * one event; a larger one is replaced by a "resync" event). A reader that
 * fell behind the ring gets one "resync" event. */
long webevents_wait(webevents_t *ev, uint64_t *cursor, char *buf, size_t len, int timeout_ms);

#endif
