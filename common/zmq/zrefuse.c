/* zrefuse.c: the refusal ledger (see zrefuse.h). */
#include "zrefuse.h"
#include "keys.h"
#include "logging.h"
#include "ratelimit.h"
#include "utf8.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct zrefuse_t {
    zrefuse_opts_t o;
    char name[32];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool started, stop;
    zrefusal_t rows[ZREFUSE_MAX_KEYS];
    bool used[ZREFUSE_MAX_KEYS];
    zrefusal_t others;
    uint64_t total;
    uint64_t unlogged; /* not logged one by one in this audit window */
    ratelimit_t rl;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void count(zrefusal_t *z, const char *reason, const char *address, int64_t now_ms)
{
    if (z->count == 0) {
        z->first_ms = now_ms;
    }
    z->last_ms = now_ms;
    z->count++;
    z->window++;
    z->total++;
    utf8_copy(z->reason, sizeof z->reason, reason ? reason : "");
    utf8_copy(z->address, sizeof z->address, address ? address : "");
}

bool zrefuse_note(zrefuse_t *r, const uint8_t *key, const char *reason, const char *address,
                  int64_t now_ms)
{
    static const uint8_t none[32];
    if (!key) {
        key = none;
    }
    pthread_mutex_lock(&r->mu);
    r->total++;
    int slot = -1, idle = -1;
    for (int i = 0; i < ZREFUSE_MAX_KEYS; i++) {
        if (r->used[i] && memcmp(r->rows[i].key, key, 32) == 0) {
            slot = i;
            break;
        }
        if (!r->used[i] || (r->rows[i].count == 0 && r->rows[i].window == 0)) {
            /* a free row, or one flushed and audited: the oldest such is reused */
            if (idle < 0 || !r->used[i] ||
                (r->used[idle] && r->rows[i].last_ms < r->rows[idle].last_ms)) {
                idle = i;
            }
        }
    }
    bool is_new = false;
    zrefusal_t *z = NULL;
    if (slot >= 0) {
        z = &r->rows[slot];
    } else if (idle >= 0) {
        is_new = true;
        z = &r->rows[idle];
        memset(z, 0, sizeof *z);
        memcpy(z->key, key, 32);
        r->used[idle] = true;
    } else {
        z = &r->others;
    }
    count(z, reason, address, now_ms);
    bool may_log = is_new && ratelimit_allow(&r->rl, mono_ms(), NULL);
    if (!may_log) {
        r->unlogged++;
    }
    pthread_mutex_unlock(&r->mu);
    return may_log;
}

uint64_t zrefuse_total(zrefuse_t *r)
{
    pthread_mutex_lock(&r->mu);
    uint64_t t = r->total;
    pthread_mutex_unlock(&r->mu);
    return t;
}

/* Hands the counts to the callback; resets them. */
static void flush(zrefuse_t *r, bool audit)
{
    zrefusal_t *rows = malloc(sizeof r->rows);
    if (!rows) {
        return;
    }
    size_t n = 0;
    zrefusal_t others;
    uint64_t unlogged = 0, window_total = 0;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < ZREFUSE_MAX_KEYS; i++) {
        zrefusal_t *z = &r->rows[i];
        if (r->used[i] && (z->count > 0 || (audit && z->window > 0))) {
            rows[n++] = *z;
            window_total += z->window;
        }
        z->count = 0;
        if (audit) {
            z->window = 0;
        }
    }
    others = r->others;
    window_total += others.window;
    r->others.count = 0;
    if (audit) {
        r->others.window = 0;
        unlogged = r->unlogged;
        r->unlogged = 0;
    }
    pthread_mutex_unlock(&r->mu);
    if (n > 0 || others.count > 0 || (audit && others.window > 0)) {
        r->o.flush(r->o.ctx, rows, n, &others, audit);
    }
    if (audit && unlogged > 0) {
        log_warn("%s port: %llu handshakes refused in the last %lld s (%llu not logged one by one; "
                 "`fieldtrail-hub status` counts them per key)",
                 r->name, (unsigned long long)window_total, (long long)(r->o.audit_ms / 1000),
                 (unsigned long long)unlogged);
    }
    free(rows);
}

static void *ledger_thread(void *arg)
{
    zrefuse_t *r = arg;
    int64_t next_flush = mono_ms() + r->o.flush_ms, next_audit = mono_ms() + r->o.audit_ms;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        int64_t now = mono_ms();
        if (now >= next_flush) {
            bool audit = now >= next_audit;
            pthread_mutex_unlock(&r->mu);
            flush(r, audit);
            pthread_mutex_lock(&r->mu);
            now = mono_ms();
            next_flush = now + r->o.flush_ms;
            if (audit) {
                next_audit = now + r->o.audit_ms;
            }
            continue;
        }
        int64_t wait = next_flush - now;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += wait / 1000;
        ts.tv_nsec += (wait % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    pthread_mutex_unlock(&r->mu);
    flush(r, true);
    return NULL;
}

int zrefuse_new(const zrefuse_opts_t *o, zrefuse_t **out)
{
    *out = NULL;
    zrefuse_t *r = calloc(1, sizeof *r);
    if (!r) {
        return FT_ENOMEM;
    }
    r->o = *o;
    snprintf(r->name, sizeof r->name, "%s", o->name ? o->name : "zmq");
    r->o.name = r->name;
    if (r->o.flush_ms <= 0) {
        r->o.flush_ms = 2000;
    }
    if (r->o.audit_ms <= 0) {
        r->o.audit_ms = 60000;
    }
    r->rl = ratelimit_make(ZREFUSE_LOG_PER_MIN, 60000);
    snprintf(r->others.reason, sizeof r->others.reason, "others");
    memset(r->others.key, 0xFF, sizeof r->others.key);
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&r->thread, NULL, ledger_thread, r) != 0) {
        zrefuse_destroy(&r);
        return FT_ENOMEM;
    }
    r->started = true;
    *out = r;
    return FT_OK;
}

void zrefuse_destroy(zrefuse_t **r_p)
{
    zrefuse_t *r = *r_p;
    if (!r) {
        return;
    }
    if (r->started) {
        pthread_mutex_lock(&r->mu);
        r->stop = true;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
    }
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
    *r_p = NULL;
}

bool zrefuse_audit_detail(char *out, size_t len, const char *head, bool with_reason,
                          const zrefusal_t *rows, size_t n, const zrefusal_t *others)
{
    out[0] = 0;
    uint64_t total = others->window;
    size_t keys = 0;
    for (size_t i = 0; i < n; i++) {
        total += rows[i].window;
        keys += rows[i].window > 0;
    }
    if (total == 0) {
        return false;
    }
    size_t used = (size_t)snprintf(out, len, "%llu %s:", (unsigned long long)total, head);
    size_t shown = 0;
    for (size_t i = 0; i < n && used + 200 < len; i++) {
        if (!rows[i].window) {
            continue;
        }
        char hex[65];
        hex_encode(rows[i].key, 32, hex);
        used += (size_t)snprintf(out + used, len - used, " %s%skey %.16s… %llu× from %s;",
                                 with_reason ? rows[i].reason : "", with_reason ? " " : "", hex,
                                 (unsigned long long)rows[i].window, rows[i].address);
        shown++;
    }
    if ((shown < keys || others->window) && used < len) {
        snprintf(out + used, len - used, " and %llu more from %zu other key(s)",
                 (unsigned long long)others->window, keys - shown);
    }
    utf8_trim(out);
    return true;
}
