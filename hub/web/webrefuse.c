/* webrefuse.c: the dashboard's refusal ledgers (see webrefuse.h). */
#include "webrefuse.h"
#include "ratelimit.h"
#include "utf8.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    webrefusal_t rows[WEBREFUSE_ROWS];
    size_t n;
    webrefusal_t others; /* what the table could not hold */
    uint64_t window;     /* counted since the last entry */
    uint64_t unlogged;   /* of them not logged one by one */
    uint64_t total;      /* since start */
    int64_t window_mono; /* monotonic: the first count of this window */
    int64_t last_write;  /* monotonic: the last entry (0: none yet) */
    ratelimit_t rl;
} ledger_t;

struct webrefuse_t {
    pthread_mutex_t mu;
    ledger_t l[2];
};

static const char *const actions[2] = {"login_failed", "request_refused"};

char *webrefuse_text(char *dst, size_t cap, const char *s)
{
    size_t o = 0;
    if (cap == 0) {
        return dst;
    }
    for (size_t i = 0; s && s[i];) {
        size_t rest = strlen(s + i);
        size_t n = utf8_char_len(s + i, rest);
        unsigned char b = (unsigned char)s[i];
        bool c1 = n == 2 && b == 0xC2 && (unsigned char)s[i + 1] < 0xA0; /* U+0080..U+009F */
        if (n == 0 || c1 || b < 0x20 || b == 0x7F || b == '"' || b == '\\') {
            size_t k = n && c1 ? 2 : 1; /* bytes escaped one by one */
            if (o + 4 * k >= cap) {
                break;
            }
            for (size_t j = 0; j < k; j++) {
                snprintf(dst + o, cap - o, "\\x%02X", (unsigned char)s[i + j]);
                o += 4;
            }
            i += k;
            continue;
        }
        if (o + n >= cap) {
            break;
        }
        memcpy(dst + o, s + i, n);
        o += n;
        i += n;
    }
    dst[o] = 0;
    return dst;
}

int webrefuse_new(webrefuse_t **out)
{
    *out = NULL;
    webrefuse_t *w = calloc(1, sizeof *w);
    if (!w) {
        return FT_ENOMEM;
    }
    pthread_mutex_init(&w->mu, NULL);
    for (int i = 0; i < 2; i++) {
        w->l[i].rl = ratelimit_make(WEBREFUSE_LOG_PER_MIN, 60000);
        snprintf(w->l[i].others.reason, sizeof w->l[i].others.reason, "others");
    }
    *out = w;
    return FT_OK;
}

void webrefuse_destroy(webrefuse_t **w_p)
{
    webrefuse_t *w = w_p ? *w_p : NULL;
    if (!w) {
        return;
    }
    pthread_mutex_destroy(&w->mu);
    free(w);
    *w_p = NULL;
}

static void count(webrefusal_t *z, int64_t now_ms)
{
    if (z->count == 0) {
        z->first_ms = now_ms;
    }
    z->last_ms = now_ms;
    z->count++;
}

bool webrefuse_note(webrefuse_t *w, webrefuse_ledger which, const char *reason, const char *user,
                    const char *address, const char *request, int64_t now_ms, int64_t mono_ms)
{
    webrefusal_t key;
    memset(&key, 0, sizeof key);
    utf8_copy(key.reason, sizeof key.reason, reason ? reason : "");
    webrefuse_text(key.user, sizeof key.user, user && *user ? user : "-");
    webrefuse_text(key.address, sizeof key.address, address ? address : "");
    webrefuse_text(key.request, sizeof key.request, request ? request : "");
    pthread_mutex_lock(&w->mu);
    ledger_t *l = &w->l[which == WEBREFUSE_REQUESTS];
    if (l->window == 0) {
        l->window_mono = mono_ms;
    }
    l->window++;
    l->total++;
    webrefusal_t *z = NULL;
    for (size_t i = 0; i < l->n && !z; i++) {
        webrefusal_t *r = &l->rows[i];
        if (strcmp(r->reason, key.reason) == 0 && strcmp(r->user, key.user) == 0 &&
            strcmp(r->address, key.address) == 0 && strcmp(r->request, key.request) == 0) {
            z = r;
        }
    }
    if (!z && l->n < WEBREFUSE_ROWS) {
        z = &l->rows[l->n++];
        *z = key;
    }
    count(z ? z : &l->others, now_ms);
    bool may_log = ratelimit_allow(&l->rl, mono_ms, NULL);
    if (!may_log) {
        l->unlogged++;
    }
    pthread_mutex_unlock(&w->mu);
    return may_log;
}

uint64_t webrefuse_total(webrefuse_t *w, webrefuse_ledger which)
{
    pthread_mutex_lock(&w->mu);
    uint64_t t = w->l[which == WEBREFUSE_REQUESTS].total;
    pthread_mutex_unlock(&w->mu);
    return t;
}

/* Rows by count, largest first. */
static int by_count(const void *a, const void *b)
{
    const webrefusal_t *x = a, *y = b;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

/* The detail of one entry: the total, then rows by count while they fit,
 * then what was left out, summed. */
static void detail_of(const ledger_t *l, webrefusal_t *rows, size_t n, bool logins, char *out,
                      size_t cap)
{
    qsort(rows, n, sizeof *rows, by_count);
    size_t len = (size_t)snprintf(out, cap, "%" PRIu64 " %s", l->window,
                                  logins ? "failed logins:" : "requests refused:");
    size_t shown = 0;
    uint64_t left = l->others.count;
    for (size_t i = 0; i < n; i++) {
        const webrefusal_t *r = &rows[i];
        char one[512];
        if (logins) {
            snprintf(one, sizeof one, " \"%s\" from %s %" PRIu64 "x (%s);", r->user,
                     r->address[0] ? r->address : "?", r->count, r->reason);
        } else {
            snprintf(one, sizeof one, " %s from %s: %s %" PRIu64 "x (%s);", r->user,
                     r->address[0] ? r->address : "?", r->request, r->count, r->reason);
        }
        if (len + strlen(one) + 96 >= cap) {
            left += r->count;
            continue;
        }
        memcpy(out + len, one, strlen(one) + 1);
        len += strlen(one);
        shown++;
    }
    if (shown < n || l->others.count) {
        snprintf(out + len, cap - len, " and %" PRIu64 " more", left);
    } else if (len > 0 && out[len - 1] == ';') {
        out[len - 1] = 0;
    }
}

size_t webrefuse_due(webrefuse_t *w, int64_t mono_ms, bool all, webrefuse_write_fn write, void *ctx)
{
    size_t written = 0;
    for (int i = 0; i < 2; i++) {
        pthread_mutex_lock(&w->mu);
        ledger_t *l = &w->l[i];
        bool due = l->window > 0 &&
                   (all || l->last_write == 0 || mono_ms - l->last_write >= WEBREFUSE_AUDIT_MS);
        if (!due) {
            pthread_mutex_unlock(&w->mu);
            continue;
        }
        /* A snapshot, written outside the lock (a hub-log commit). */
        ledger_t *snap = malloc(sizeof *snap);
        if (!snap) {
            pthread_mutex_unlock(&w->mu);
            continue;
        }
        *snap = *l;
        l->n = 0;
        l->window = 0;
        l->unlogged = 0;
        memset(&l->others, 0, sizeof l->others);
        snprintf(l->others.reason, sizeof l->others.reason, "others");
        l->last_write = mono_ms ? mono_ms : 1;
        pthread_mutex_unlock(&w->mu);
        char detail[WEBREFUSE_DETAIL_MAX];
        detail_of(snap, snap->rows, snap->n, i == 0, detail, sizeof detail);
        int err = write(ctx, actions[i], detail, snap->window, snap->unlogged);
        if (err == FT_OK) {
            written++;
        } else {
            /* Kept for the next try: added back to what came since. */
            pthread_mutex_lock(&w->mu);
            l->window += snap->window;
            l->unlogged += snap->unlogged;
            l->others.count += snap->others.count;
            for (size_t k = 0; k < snap->n; k++) {
                l->others.count += snap->rows[k].count;
            }
            pthread_mutex_unlock(&w->mu);
        }
        free(snap);
    }
    return written;
}
