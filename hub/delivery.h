/* delivery.h: alert events out of the hub: a ZeroMQ PUB socket and webhooks.
 *
 * delivery_publish never blocks: the PUB send is non-blocking (a slow
 * subscriber loses messages at its high-water mark, as PUB does), and each
 * webhook message is put on a bounded queue that a thread of its own drains
 * with libcurl, retrying with exponential backoff. When the queue is full the
 * newest message is dropped and counted (the alert history is the record;
 * webhooks are notifications). Formats: docs/alerts.md.
 *
 * PUB message: two frames, the topic "alert.<unit>.<severity>" (a '.' in the
 * unit is written '_') and the event as JSON.
 *
 * Threads: delivery_publish is called by one thread (the evaluator); the
 * PUB socket is used only there. The webhook thread is internal.
 */
#ifndef FT_HUB_DELIVERY_H
#define FT_HUB_DELIVERY_H

#include "error.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define DELIVERY_DEFAULT_PUBLISH "tcp://*:7401"

typedef enum { HOOK_GENERIC, HOOK_WECOM, HOOK_DINGTALK } hook_format;

/* One configured webhook. */
typedef struct {
    hook_format format;
    char url[1024];
} hook_t;

typedef struct {
    const char *publish; /* PUB endpoint; NULL, "" or "off": no PUB socket */
    const hook_t *hooks; /* webhooks (copied) */
    size_t n_hooks;
    unsigned attempts;   /* tries per message and hook (0 = 5) */
    unsigned timeout_ms; /* per try (0 = 5000) */
    unsigned backoff_ms; /* wait before the first retry, doubled each time (0 = 500) */
    size_t max_queue;    /* messages waiting at most (0 = 10000) */
} delivery_opts_t;

typedef struct delivery_t delivery_t;

/* Binds the PUB socket and starts the webhook thread. FT_EIO if the bind
 * fails (the reason is logged). */
int delivery_new(const delivery_opts_t *opts, delivery_t **out) FT_MUST_CHECK;
/* Stops the webhook thread (messages still queued are dropped and counted
 * in the log), closes the socket. */
void delivery_destroy(delivery_t **d_p);
/* Publishes one alert event (as made by alerts.c). */
void delivery_publish(delivery_t *d, const json_t *event);

/* Parses "FORMAT=URL FORMAT=URL ..." (FORMAT: generic, wecom, dingtalk).
 * *hooks is malloc'd. FT_EINVAL with a sentence in err. */
int delivery_parse_hooks(const char *text, hook_t **hooks, size_t *n, char *err,
                         size_t errlen) FT_MUST_CHECK;
/* The request body for an event in a format (caller frees). */
char *delivery_body(hook_format f, const json_t *event);
/* "alert.<unit>.<severity>" for an event into buf. */
void delivery_topic(const json_t *event, char *buf, size_t len);

#endif
