/* webevents.c: the event ring and its watcher thread (see webevents.h). */
#include "webevents.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One published event, its data already serialised. */
typedef struct {
    uint64_t seq;
    char type[32];
    char *data; /* compact JSON */
} event_t;

struct webevents_t {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* signalled on publish and stop */
    event_t ring[WEBEVENTS_RING];
    uint64_t last; /* seq of the newest event */
    bool stopping;
    pthread_t watcher;
    bool watcher_started;
    webevents_poll_fn poll;
    void *poll_ctx;
};

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *watch(void *arg)
{
    webevents_t *ev = arg;
    pthread_mutex_lock(&ev->lock);
    while (!ev->stopping) {
        pthread_mutex_unlock(&ev->lock);
        ev->poll(ev->poll_ctx, ev);
        pthread_mutex_lock(&ev->lock);
        struct timespec ts;
        deadline_in(&ts, WEBEVENTS_POLL_MS);
        while (!ev->stopping && pthread_cond_timedwait(&ev->cond, &ev->lock, &ts) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&ev->lock);
    return NULL;
}

int webevents_new(webevents_poll_fn poll, void *ctx, webevents_t **out)
{
    *out = NULL;
    webevents_t *ev = calloc(1, sizeof *ev);
    if (!ev) {
        return FT_ENOMEM;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&ev->lock, NULL);
    pthread_cond_init(&ev->cond, &ca);
    pthread_condattr_destroy(&ca);
    ev->poll = poll;
    ev->poll_ctx = ctx;
    /* Published before the watcher starts: its first poll may look for it. */
    *out = ev;
    if (poll) {
        if (pthread_create(&ev->watcher, NULL, watch, ev) != 0) {
            *out = NULL;
            webevents_destroy(&ev);
            return FT_ENOMEM;
        }
        ev->watcher_started = true;
    }
    return FT_OK;
}

void webevents_stop(webevents_t *ev)
{
    if (!ev) {
        return;
    }
    pthread_mutex_lock(&ev->lock);
    ev->stopping = true;
    pthread_cond_broadcast(&ev->cond);
    pthread_mutex_unlock(&ev->lock);
}

void webevents_destroy(webevents_t **ev_p)
{
    if (!ev_p || !*ev_p) {
        return;
    }
    webevents_t *ev = *ev_p;
    webevents_stop(ev);
    if (ev->watcher_started) {
        pthread_join(ev->watcher, NULL);
    }
    for (size_t i = 0; i < WEBEVENTS_RING; i++) {
        free(ev->ring[i].data);
    }
    pthread_cond_destroy(&ev->cond);
    pthread_mutex_destroy(&ev->lock);
    free(ev);
    *ev_p = NULL;
}

void webevents_publish(webevents_t *ev, const char *type, json_t *data)
{
    char *text = data ? json_dumps(data, JSON_COMPACT) : strdup("{}");
    json_decref(data);
    if (!text) {
        return;
    }
    pthread_mutex_lock(&ev->lock);
    uint64_t seq = ++ev->last;
    event_t *e = &ev->ring[seq % WEBEVENTS_RING];
    free(e->data);
    e->seq = seq;
    snprintf(e->type, sizeof e->type, "%s", type);
    e->data = text;
    pthread_cond_broadcast(&ev->cond);
    pthread_mutex_unlock(&ev->lock);
}

uint64_t webevents_last(webevents_t *ev)
{
    pthread_mutex_lock(&ev->lock);
    uint64_t last = ev->last;
    pthread_mutex_unlock(&ev->lock);
    return last;
}

long webevents_wait(webevents_t *ev, uint64_t *cursor, char *buf, size_t len, int timeout_ms)
{
    struct timespec ts;
    deadline_in(&ts, timeout_ms);
    pthread_mutex_lock(&ev->lock);
    while (!ev->stopping && ev->last <= *cursor) {
        if (pthread_cond_timedwait(&ev->cond, &ev->lock, &ts) == ETIMEDOUT) {
            break;
        }
    }
    if (ev->stopping) {
        pthread_mutex_unlock(&ev->lock);
        return -1;
    }
    size_t used = 0;
    if (ev->last > *cursor && ev->last - *cursor > WEBEVENTS_RING - 1) {
        int n = snprintf(buf, len, "id: %llu\nevent: resync\ndata: {}\n\n",
                         (unsigned long long)ev->last);
        used = n > 0 && (size_t)n < len ? (size_t)n : 0;
        *cursor = ev->last;
    }
    while (*cursor < ev->last) {
        const event_t *e = &ev->ring[(*cursor + 1) % WEBEVENTS_RING];
        size_t need = strlen(e->data) + strlen(e->type) + 64;
        if (need > len - used) {
            if (used == 0) {
                int n = snprintf(buf, len, "id: %llu\nevent: resync\ndata: {}\n\n",
                                 (unsigned long long)e->seq);
                used = n > 0 && (size_t)n < len ? (size_t)n : 0;
                (*cursor)++;
            }
            break;
        }
        int n = snprintf(buf + used, len - used, "id: %llu\nevent: %s\ndata: %s\n\n",
                         (unsigned long long)e->seq, e->type, e->data);
        used += (size_t)n;
        (*cursor)++;
    }
    pthread_mutex_unlock(&ev->lock);
    return (long)used;
}
