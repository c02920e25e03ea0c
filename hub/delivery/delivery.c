/* delivery.c: PUB socket and webhooks with the hub log as outbox (see
 * delivery.h).
 *
 * Each hook thread, per alert event after its cursor (in hub-log order):
 *   older than max_age        --> skipped (counted, one log line per run)
 *   POST 2xx (and errcode 0 for WeCom / DingTalk) --> delivered
 *   failure, tries left       --> wait backoff (doubling), try again
 *   failure, no tries left    --> given up, logged
 *   stop requested            --> abandoned: the cursor stays before it
 * After delivered / given up / skipped the cursor moves past the event and
 * the cursors file is rewritten. Entries that are not alert events move the
 * cursor too (written at the end of each pass).
 */
#include "delivery.h"
#include "fsutil.h"
#include "hlc.h"
#include "logging.h"
#include "record.h"
#include "sha256.h"
#include "subscribers.h"
#include "utf8.h"
#include "zguard.h"
#include "zsock.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
/* A libzmq 4.3 draft option; Debian's libzmq5 implements it. */
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define BATCH_EVENTS 64     /* alert events read per pass */
#define BATCH_ENTRIES 20000 /* hub-log entries looked at per pass */

/* One webhook and its thread. c and wake are guarded by mu. */
typedef struct {
    delivery_t *d;
    hook_t hook;
    char name[160];
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool wake;
    hook_cursor_t c;
} hookstate_t;

struct delivery_t {
    void *zctx, *pub;
    zguard_t *guard;        /* the PUB socket's connection cap */
    subscribers_zap_t *zap; /* who may subscribe */
    delivery_opts_t o;
    hookstate_t *hs;
    size_t n_hooks;
    char path[4200];         /* STATE/webhooks.cursors */
    pthread_mutex_t file_mu; /* one writer of the cursors file at a time */
    int file_err;            /* last write error (under file_mu), said once */
    atomic_bool stop;
    bool curl_inited;
};

/* ---- formats ------------------------------------------------------------ */

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

void delivery_topic(const json_t *event, char *buf, size_t len)
{
    const json_t *a = json_object_get(event, "alert");
    char unit[256];
    utf8_copy(unit, sizeof unit, str(a, "unit"));
    for (char *p = unit; *p; p++) {
        if (*p == '.') {
            *p = '_';
        }
    }
    snprintf(buf, len, "alert.%s.%s", unit, str(a, "severity"));
    if (len > 0) {
        utf8_trim(buf); /* a topic cut short ends on a whole character */
    }
}

static const char *state_zh(const char *s)
{
    if (strcmp(s, "open") == 0) {
        return "新告警";
    }
    if (strcmp(s, "resolved") == 0) {
        return "已消除";
    }
    if (strcmp(s, "justified") == 0) {
        return "已说明理由";
    }
    return s;
}

/* The text of a group-bot message: zh-CN first, then English. */
static char *bot_text(const json_t *event)
{
    const json_t *a = json_object_get(event, "alert");
    const char *c = json_string_value(json_object_get(a, "case"));
    size_t cap = 4096;
    char *t = malloc(cap);
    if (!t) {
        return NULL;
    }
    snprintf(
        t, cap,
        "fieldtrail 执法记录告警 [%s] %s\n第%s条 · 规则 %s · 严重程度 %s\n案件：%s\n单位：%s\n%s\n"
        "---\n[%s] Art. %s · rule %s · %s\ncase: %s\n%s\n%s\nalert %s · %s",
        state_zh(str(event, "state")), str(a, "message_zh"), str(a, "article"), str(a, "rule"),
        str(a, "severity"), c ? c : "-", str(a, "unit"), str(a, "detail"), str(event, "state"),
        str(a, "article"), str(a, "rule"), str(a, "severity"), c ? c : "-", str(a, "message_en"),
        str(a, "detail"), str(a, "id"), str(event, "at"));
    utf8_trim(t); /* a long text is cut on a whole character */
    return t;
}

char *delivery_body(hook_format f, const json_t *event)
{
    if (f == HOOK_GENERIC) {
        return json_dumps(event, JSON_COMPACT | JSON_SORT_KEYS);
    }
    char *text = bot_text(event);
    if (!text) {
        return NULL;
    }
    /* WeCom and DingTalk group bots take the same plain-text shape. */
    json_t *o =
        json_pack("{s:s, s:{s:o}}", "msgtype", "text", "text", "content", utf8_json_string(text));
    free(text);
    if (!o) {
        return NULL;
    }
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return body;
}

int delivery_parse_hooks(const char *text, hook_t **hooks, size_t *n, char *err, size_t errlen)
{
    *hooks = NULL;
    *n = 0;
    if (!text) {
        return FT_OK;
    }
    char *copy = strdup(text);
    if (!copy) {
        return FT_ENOMEM;
    }
    int result = FT_OK;
    for (char *save = NULL, *w = strtok_r(copy, " \t,", &save); w;
         w = strtok_r(NULL, " \t,", &save)) {
        char *eq = strchr(w, '=');
        hook_t h = {0};
        if (!eq) {
            snprintf(err, errlen,
                     "webhook \"%s\" must be FORMAT=URL with FORMAT generic, wecom or dingtalk", w);
            result = FT_EINVAL;
            break;
        }
        *eq = '\0';
        if (strcmp(w, "generic") == 0) {
            h.format = HOOK_GENERIC;
        } else if (strcmp(w, "wecom") == 0) {
            h.format = HOOK_WECOM;
        } else if (strcmp(w, "dingtalk") == 0) {
            h.format = HOOK_DINGTALK;
        } else {
            snprintf(err, errlen, "webhook format \"%s\" is not one of generic, wecom, dingtalk",
                     w);
            result = FT_EINVAL;
            break;
        }
        if (strncmp(eq + 1, "http://", 7) != 0 && strncmp(eq + 1, "https://", 8) != 0) {
            snprintf(err, errlen, "webhook URL \"%s\" must start with http:// or https://", eq + 1);
            result = FT_EINVAL;
            break;
        }
        snprintf(h.url, sizeof h.url, "%s", eq + 1);
        hook_t *bigger = realloc(*hooks, (*n + 1) * sizeof *bigger);
        if (!bigger) {
            result = FT_ENOMEM;
            break;
        }
        *hooks = bigger;
        (*hooks)[(*n)++] = h;
    }
    free(copy);
    if (result != FT_OK) {
        free(*hooks);
        *hooks = NULL;
        *n = 0;
    }
    return result;
}

/* ---- names, keys, age ------------------------------------------------------- */

static const char *format_name(hook_format f)
{
    return f == HOOK_WECOM ? "wecom" : f == HOOK_DINGTALK ? "dingtalk" : "generic";
}

void delivery_hook_name(const hook_t *h, char *buf, size_t len)
{
    const char *p = strstr(h->url, "://");
    p = p ? p + 3 : h->url;
    size_t n = strcspn(p, "/?#");
    /* user:password@ belongs to the secret part */
    for (size_t i = n; i > 0; i--) {
        if (p[i - 1] == '@') {
            p += i;
            n -= i;
            break;
        }
    }
    snprintf(buf, len, "%s (%.*s)", format_name(h->format), (int)n, p);
}

void delivery_hook_key(const hook_t *h, char out[33])
{
    char text[1100];
    int n = snprintf(text, sizeof text, "%s=%s", format_name(h->format), h->url);
    uint8_t md[FT_SHA256_BYTES];
    ft_sha256((const uint8_t *)text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1, md);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[32] = '\0';
}

bool delivery_too_old(uint64_t event_ms, uint64_t now_ms, uint64_t max_age_ms)
{
    return max_age_ms && now_ms > event_ms && now_ms - event_ms > max_age_ms;
}

/* "24 h", "90 s" for logs. */
static void age_text(uint64_t ms, char *buf, size_t len)
{
    uint64_t s = ms / 1000;
    if (s >= 3600 && s % 3600 == 0) {
        snprintf(buf, len, "%" PRIu64 " h", s / 3600);
    } else if (s >= 60 && s % 60 == 0) {
        snprintf(buf, len, "%" PRIu64 " min", s / 60);
    } else {
        snprintf(buf, len, "%" PRIu64 " s", s);
    }
}

/* ---- the cursors file ------------------------------------------------------- */

static bool is_key(const char *s)
{
    if (!s || strlen(s) != 32) {
        return false;
    }
    for (const char *p = s; *p; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) {
            return false;
        }
    }
    return true;
}

static bool get_u64(const json_t *o, const char *k, uint64_t *out, bool required)
{
    const json_t *v = json_object_get(o, k);
    if (!v) {
        *out = 0;
        return !required;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        return false;
    }
    *out = (uint64_t)json_integer_value(v);
    return true;
}

int delivery_cursors_read(const char *path, hook_cursor_t **out, size_t *n, char *err,
                          size_t errlen)
{
    *out = NULL;
    *n = 0;
    char *text = NULL;
    size_t len = 0;
    int rc = fsutil_read_all(path, &text, &len);
    if (rc == FT_ENOTFOUND) {
        return FT_OK;
    }
    if (rc != FT_OK) {
        snprintf(err, errlen, "cannot read %s: %s", path, ft_strerror(rc));
        return rc;
    }
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    free(text);
    const json_t *hooks = json_object_get(root, "hooks");
    if (!root || json_integer_value(json_object_get(root, "version")) != 1 ||
        !json_is_array(hooks)) {
        snprintf(err, errlen, "%s is not a webhook cursors file (version 1): %s", path,
                 root ? "wrong shape" : je.text);
        json_decref(root);
        return FT_ECORRUPT;
    }
    size_t count = json_array_size(hooks);
    hook_cursor_t *c = calloc(count ? count : 1, sizeof *c);
    if (!c) {
        json_decref(root);
        return FT_ENOMEM;
    }
    rc = FT_OK;
    for (size_t i = 0; i < count; i++) {
        const json_t *h = json_array_get(hooks, i);
        const char *key = json_string_value(json_object_get(h, "key"));
        const char *name = json_string_value(json_object_get(h, "name"));
        const char *le = json_string_value(json_object_get(h, "last_error"));
        uint64_t ls = 0, lem = 0;
        if (!is_key(key) || !get_u64(h, "seq", &c[i].seq, true) ||
            !get_u64(h, "sent", &c[i].sent, false) || !get_u64(h, "failed", &c[i].failed, false) ||
            !get_u64(h, "last_success_ms", &ls, false) ||
            !get_u64(h, "last_error_ms", &lem, false)) {
            snprintf(err, errlen, "%s: hook %zu has no valid key and seq", path, i + 1);
            rc = FT_ECORRUPT;
            break;
        }
        snprintf(c[i].key, sizeof c[i].key, "%s", key);
        utf8_copy(c[i].name, sizeof c[i].name, name ? name : "?");
        utf8_copy(c[i].last_error, sizeof c[i].last_error, le ? le : "");
        c[i].last_success_ms = (int64_t)ls;
        c[i].last_error_ms = (int64_t)lem;
    }
    json_decref(root);
    if (rc != FT_OK) {
        free(c);
        return rc;
    }
    *out = c;
    *n = count;
    return FT_OK;
}

int delivery_cursors_write(const char *path, const hook_cursor_t *c, size_t n)
{
    json_t *hooks = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(hooks, json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:o}", "key",
                                               c[i].key, "name", utf8_json_string(c[i].name), "seq",
                                               (json_int_t)c[i].seq, "sent", (json_int_t)c[i].sent,
                                               "failed", (json_int_t)c[i].failed, "last_success_ms",
                                               (json_int_t)c[i].last_success_ms, "last_error_ms",
                                               (json_int_t)c[i].last_error_ms, "last_error",
                                               utf8_json_string(c[i].last_error)));
    }
    if (json_array_size(hooks) != n) {
        /* a hook left out would lose its cursor: write nothing instead */
        json_decref(hooks);
        return FT_ENOMEM;
    }
    json_t *root = json_pack("{s:i, s:o}", "version", 1, "hooks", hooks);
    char *text = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
    json_decref(root);
    if (!text) {
        return FT_ENOMEM;
    }
    int err = fsutil_write_atomic(path, text, strlen(text), 0600);
    free(text);
    return err;
}

/* ---- reading the outbox ----------------------------------------------------- */

/* One alert event read from the hub log. */
typedef struct {
    uint64_t seq;
    uint64_t ms; /* when the hub appended it (its hlc) */
    char *json;  /* detail_json */
} outev_t;

typedef struct {
    outev_t ev[BATCH_EVENTS];
    size_t n;
    uint64_t last;  /* last seq looked at */
    size_t looked;  /* entries looked at */
    bool more;      /* stopped before the end */
    uint64_t count; /* delivery_backlog: just count */
    bool count_only;
} batch_t;

static int collect_one(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    batch_t *b = ctx;
    if (!b->count_only && (b->n == BATCH_EVENTS || b->looked == BATCH_ENTRIES)) {
        b->more = true;
        return 1;
    }
    entry_view_t v;
    if (entry_open(raw, len, &v) != FT_OK) {
        return FT_ECORRUPT;
    }
    const Ft__Body *body = v.entry->body;
    if (body && body->kind_case == FT__BODY__KIND_ALERT && body->alert->detail_json) {
        if (b->count_only) {
            b->count++;
        } else {
            char *copy = strdup(body->alert->detail_json);
            if (!copy) {
                entry_view_free(&v);
                return FT_ENOMEM;
            }
            b->ev[b->n++] = (outev_t){.seq = seq, .ms = hlc_ms(v.entry->hlc), .json = copy};
        }
    }
    entry_view_free(&v);
    b->last = seq;
    b->looked++;
    return 0;
}

static void batch_free(batch_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->ev[i].json);
    }
    b->n = 0;
}

int delivery_backlog(devlog_t *hublog, uint64_t after, uint64_t *n)
{
    batch_t b = {.count_only = true};
    int err = devlog_iter(hublog, after + 1, 0, collect_one, &b);
    *n = b.count;
    return err < 0 ? err : FT_OK;
}

/* ---- one POST ---------------------------------------------------------------- */

typedef struct {
    char buf[512];
    size_t len;
} resp_t;

static size_t on_body(char *p, size_t size, size_t nmemb, void *ctx)
{
    resp_t *r = ctx;
    size_t n = size * nmemb;
    size_t room = sizeof r->buf - 1 - r->len;
    size_t take = n < room ? n : room;
    memcpy(r->buf + r->len, p, take);
    r->len += take;
    r->buf[r->len] = '\0';
    return n;
}

/* libcurl calls this about once a second or more often: a try in progress
 * is abandoned when the hub stops. */
static int on_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t e)
{
    (void)a, (void)b, (void)c, (void)e;
    return atomic_load(&((delivery_t *)ctx)->stop) ? 1 : 0;
}

/* One POST; true on success. */
static bool post(delivery_t *d, const hook_t *h, const char *body, char *why, size_t whylen)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(why, whylen, "curl_easy_init failed");
        return false;
    }
    resp_t r = {.len = 0};
    r.buf[0] = '\0';
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, h->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)d->o.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)d->o.timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, d);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "fieldtrail-hub");
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        /* libcurl's messages name the host at most, never the path or query */
        snprintf(why, whylen, "%s", curl_easy_strerror(rc));
        return false;
    }
    if (status < 200 || status > 299) {
        snprintf(why, whylen, "HTTP status %ld", status);
        return false;
    }
    if (h->format != HOOK_GENERIC) {
        /* Group bots answer 200 with {"errcode": N, "errmsg": ...}. */
        json_t *j = json_loads(r.buf, 0, NULL);
        json_t *code = j ? json_object_get(j, "errcode") : NULL;
        if (code && json_integer_value(code) != 0) {
            const char *msg = json_string_value(json_object_get(j, "errmsg"));
            snprintf(why, whylen, "the bot refused it: errcode %lld %s",
                     (long long)json_integer_value(code), msg ? msg : "");
            if (whylen > 0) {
                utf8_trim(why); /* the bot's message cut on a whole character */
            }
            json_decref(j);
            return false;
        }
        json_decref(j);
    }
    return true;
}

/* ---- the hook threads ------------------------------------------------------ */

static bool stopping(const delivery_t *d)
{
    return atomic_load(&d->stop);
}

/* Rewrites the cursors file with every hook's state. */
static void persist(delivery_t *d)
{
    pthread_mutex_lock(&d->file_mu);
    hook_cursor_t *c = calloc(d->n_hooks ? d->n_hooks : 1, sizeof *c);
    int err = c ? FT_OK : FT_ENOMEM;
    for (size_t i = 0; c && i < d->n_hooks; i++) {
        pthread_mutex_lock(&d->hs[i].mu);
        c[i] = d->hs[i].c;
        pthread_mutex_unlock(&d->hs[i].mu);
    }
    if (c) {
        err = delivery_cursors_write(d->path, c, d->n_hooks);
    }
    free(c);
    if (err != FT_OK && err != d->file_err) {
        log_error("cannot write the webhook cursors to %s: %s (delivery goes on; after a "
                  "restart some alert events may be sent again)",
                  d->path, ft_strerror(err));
    } else if (err == FT_OK && d->file_err != FT_OK) {
        log_info("webhook cursors are written to %s again", d->path);
    }
    d->file_err = err;
    pthread_mutex_unlock(&d->file_mu);
}

/* Waits until ms passed (or, with wakeable, a wake-up) or the hub stops;
 * true if stopping. */
static bool hook_wait(hookstate_t *h, unsigned ms, bool wakeable)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&h->mu);
    while (!stopping(h->d) && !(wakeable && h->wake)) {
        if (pthread_cond_timedwait(&h->cv, &h->mu, &ts) == ETIMEDOUT) {
            break;
        }
    }
    if (wakeable) {
        h->wake = false;
    }
    pthread_mutex_unlock(&h->mu);
    return stopping(h->d);
}

/* Records a finished event (or a failed try with ok false and done false). */
static void note(hookstate_t *h, uint64_t seq, bool done, bool ok, const char *why)
{
    pthread_mutex_lock(&h->mu);
    int64_t now = (int64_t)hlc_wall_ms();
    if (ok) {
        h->c.sent++;
        h->c.last_success_ms = now;
    } else if (why) {
        h->c.last_error_ms = now;
        utf8_copy(h->c.last_error, sizeof h->c.last_error, why);
    }
    if (done) {
        h->c.seq = seq;
        h->c.failed += ok ? 0 : 1;
    }
    pthread_mutex_unlock(&h->mu);
    persist(h->d);
}

enum { SENT, GIVEN_UP, ABANDONED };

/* Sends one event with retries. */
static int deliver(hookstate_t *h, const outev_t *e)
{
    delivery_t *d = h->d;
    json_t *ev = json_loads(e->json, 0, NULL);
    char *body = ev ? delivery_body(h->hook.format, ev) : NULL;
    char id[40];
    const json_t *a = json_object_get(ev, "alert");
    const char *aid = json_string_value(json_object_get(a, "id"));
    const char *st = json_string_value(json_object_get(ev, "state"));
    snprintf(id, sizeof id, "%.16s %.12s", aid ? aid : "?", st ? st : "?");
    json_decref(ev);
    if (!body) {
        log_error("webhook %s: hub log entry %" PRIu64 " holds an alert event that cannot be "
                  "sent (it does not parse); skipped",
                  h->name, e->seq);
        note(h, e->seq, true, false, "an alert event in the hub log does not parse");
        return GIVEN_UP;
    }
    unsigned backoff = d->o.backoff_ms;
    char why[256] = "";
    int result = GIVEN_UP;
    for (unsigned attempt = 1; attempt <= d->o.attempts; attempt++) {
        if (post(d, &h->hook, body, why, sizeof why)) {
            result = SENT;
            break;
        }
        if (stopping(d)) {
            result = ABANDONED;
            break;
        }
        log_warn("webhook %s: alert %s not delivered (try %u of %u): %s", h->name, id, attempt,
                 d->o.attempts, why);
        if (attempt < d->o.attempts) {
            note(h, e->seq, false, false, why);
            if (hook_wait(h, backoff, false)) {
                result = ABANDONED;
                break;
            }
            backoff = backoff > UINT32_MAX / 2 ? backoff : backoff * 2;
        }
    }
    free(body);
    if (result == SENT) {
        log_debug("webhook %s: alert %s delivered (hub log entry %" PRIu64 ")", h->name, id,
                  e->seq);
        note(h, e->seq, true, true, NULL);
    } else if (result == GIVEN_UP) {
        log_error("webhook %s: alert %s given up after %u tries: %s (it stays in the history)",
                  h->name, id, d->o.attempts, why);
        note(h, e->seq, true, false, why);
    }
    return result;
}

static void say_skipped(hookstate_t *h, uint64_t *skipped)
{
    if (*skipped) {
        char age[32];
        age_text(h->d->o.max_age_ms, age, sizeof age);
        log_warn("webhook %s: %" PRIu64 " alert event%s older than %s skipped, not sent "
                 "(alerts.webhook_max_age; they stay in the history)",
                 h->name, *skipped, *skipped == 1 ? "" : "s", age);
        *skipped = 0;
    }
}

static void *hook_thread(void *arg)
{
    hookstate_t *h = arg;
    delivery_t *d = h->d;
    pthread_mutex_lock(&h->mu);
    uint64_t cursor = h->c.seq;
    pthread_mutex_unlock(&h->mu);
    uint64_t waiting = 0, skipped = 0;
    if (delivery_backlog(d->o.hublog, cursor, &waiting) == FT_OK && waiting) {
        log_info("webhook %s: %" PRIu64
                 " alert event%s waiting since before the hub started; sending",
                 h->name, waiting, waiting == 1 ? "" : "s");
    }
    int last_err = FT_OK;
    while (!stopping(d)) {
        batch_t b = {0};
        int err = devlog_iter(d->o.hublog, cursor + 1, 0, collect_one, &b);
        if (err < 0) {
            if (err != last_err) {
                log_error("webhook %s: cannot read the hub log after entry %" PRIu64
                          ": %s (retrying)",
                          h->name, cursor, ft_strerror(err));
            }
            last_err = err;
            batch_free(&b);
            hook_wait(h, d->o.poll_ms, true);
            continue;
        }
        last_err = FT_OK;
        bool abandoned = false;
        uint64_t now = devlog_wall_ms(d->o.hublog);
        for (size_t i = 0; i < b.n && !abandoned; i++) {
            if (delivery_too_old(b.ev[i].ms, now, d->o.max_age_ms)) {
                skipped++;
                cursor = b.ev[i].seq;
                continue;
            }
            say_skipped(h, &skipped);
            if (deliver(h, &b.ev[i]) == ABANDONED) {
                abandoned = true;
            } else {
                cursor = b.ev[i].seq;
            }
        }
        batch_free(&b);
        if (abandoned) {
            break;
        }
        if (b.last > cursor) {
            cursor = b.last; /* entries that are not alert events */
        }
        if (!b.more) {
            say_skipped(h, &skipped);
        }
        pthread_mutex_lock(&h->mu);
        bool moved = h->c.seq != cursor;
        h->c.seq = cursor;
        pthread_mutex_unlock(&h->mu);
        if (moved) {
            persist(d);
        }
        if (!b.more) {
            hook_wait(h, d->o.poll_ms, true);
        }
    }
    say_skipped(h, &skipped);
    return NULL;
}

/* ---- public ---------------------------------------------------------------- */

/* Loads the cursors file into the hook states: known hooks continue after
 * their cursor, new ones start at the head. */
static int load_cursors(delivery_t *d)
{
    uint64_t head = 0;
    int err = devlog_head(d->o.hublog, &head, NULL);
    if (err != FT_OK) {
        log_error("cannot read the hub log's head for webhooks: %s", ft_strerror(err));
        return err;
    }
    hook_cursor_t *c = NULL;
    size_t n = 0;
    char why[512] = "";
    err = delivery_cursors_read(d->path, &c, &n, why, sizeof why);
    if (err == FT_ECORRUPT) {
        char bad[4300];
        snprintf(bad, sizeof bad, "%s.bad", d->path);
        log_error("webhook cursors unreadable: %s; every webhook starts with the next alert "
                  "event (events not yet sent are not sent; they stay in the history); the file "
                  "is kept as %s",
                  why, rename(d->path, bad) == 0 ? bad : "(cannot rename it)");
    } else if (err != FT_OK) {
        log_error("%s", why[0] ? why : ft_strerror(err));
        return err;
    }
    for (size_t i = 0; i < d->n_hooks; i++) {
        hookstate_t *h = &d->hs[i];
        const hook_cursor_t *found = NULL;
        for (size_t j = 0; j < n && !found; j++) {
            found = strcmp(c[j].key, h->c.key) == 0 ? &c[j] : NULL;
        }
        if (!found) {
            h->c.seq = head;
            log_info("webhook %s: new, starts with the next alert event (hub log entry %" PRIu64
                     ")",
                     h->name, head + 1);
            continue;
        }
        char key[33];
        memcpy(key, h->c.key, sizeof key);
        h->c = *found;
        memcpy(h->c.key, key, sizeof key);
        utf8_copy(h->c.name, sizeof h->c.name, h->name);
        if (h->c.seq > head) {
            log_warn("webhook %s: its cursor (entry %" PRIu64
                     ") is past the hub log's head (%" PRIu64
                     "), the log was replaced; it starts with the next alert event",
                     h->name, h->c.seq, head);
            h->c.seq = head;
        }
    }
    free(c);
    persist(d); /* first-seen hooks keep their start; hooks no longer configured go */
    return FT_OK;
}

int delivery_new(const delivery_opts_t *opts, delivery_t **out)
{
    *out = NULL;
    if (opts->n_hooks && (!opts->hublog || !opts->state)) {
        log_error("webhooks need the hub log and the state directory");
        return FT_EINVAL;
    }
    delivery_t *d = calloc(1, sizeof *d);
    if (!d) {
        return FT_ENOMEM;
    }
    d->o = *opts;
    d->o.attempts = d->o.attempts ? d->o.attempts : 5;
    d->o.timeout_ms = d->o.timeout_ms ? d->o.timeout_ms : 5000;
    d->o.backoff_ms = d->o.backoff_ms ? d->o.backoff_ms : 500;
    d->o.max_age_ms = d->o.max_age_ms ? d->o.max_age_ms : DELIVERY_DEFAULT_MAX_AGE_MS;
    d->o.poll_ms = d->o.poll_ms ? d->o.poll_ms : 1000;
    d->o.hooks = NULL;
    atomic_init(&d->stop, false);
    pthread_mutex_init(&d->file_mu, NULL);
    if (opts->n_hooks) {
        d->hs = calloc(opts->n_hooks, sizeof *d->hs);
        if (!d->hs ||
            fsutil_join(d->path, sizeof d->path, opts->state, DELIVERY_CURSORS_FILE) != FT_OK) {
            delivery_destroy(&d);
            return FT_ENOMEM;
        }
        d->n_hooks = opts->n_hooks;
        for (size_t i = 0; i < d->n_hooks; i++) {
            hookstate_t *h = &d->hs[i];
            h->d = d;
            h->hook = opts->hooks[i];
            delivery_hook_name(&h->hook, h->name, sizeof h->name);
            for (size_t j = 0; j < i; j++) {
                if (strcmp(d->hs[j].name, h->name) == 0) { /* two bots on one host */
                    size_t l = strlen(h->name);
                    snprintf(h->name + l, sizeof h->name - l, " #%zu", i + 1);
                    break;
                }
            }
            utf8_copy(h->c.name, sizeof h->c.name, h->name);
            delivery_hook_key(&h->hook, h->c.key);
            pthread_mutex_init(&h->mu, NULL);
            pthread_condattr_t ca;
            pthread_condattr_init(&ca);
            pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
            pthread_cond_init(&h->cv, &ca);
            pthread_condattr_destroy(&ca);
        }
        if (load_cursors(d) != FT_OK) {
            delivery_destroy(&d);
            return FT_EIO;
        }
    }
    const char *ep = opts->publish;
    if (ep && ep[0] && strcmp(ep, "off") != 0) {
        d->zctx = zmq_ctx_new();
        if (d->zctx && opts->curve_sk &&
            (!opts->subscribers ||
             subscribers_zap_start(d->zctx, opts->subscribers, opts->hublog, &d->zap) != FT_OK)) {
            log_error("cannot check alert subscribers (%s)",
                      opts->subscribers ? opts->subscribers : "no allow-list");
            delivery_destroy(&d);
            return FT_EIO;
        }
        d->pub = d->zctx ? zmq_socket(d->zctx, ZMQ_PUB) : NULL;
        int zero = 0, one = 1;
        zsock_bounds_t b = {
            .max_msg = DELIVERY_PUB_MAX_MSG, .handshake_ms = ZSOCK_HANDSHAKE_MS, .maxrt_ms = 30000};
        zguard_opts_t go = {.name = "alerts",
                            .setting = "alerts.max_subscribers",
                            .max_conns = opts->max_subscribers ? opts->max_subscribers
                                                               : DELIVERY_DEFAULT_MAX_SUBSCRIBERS,
                            .max_pending = 16,
                            .handshake_ms = ZSOCK_HANDSHAKE_MS};
        if (!d->pub || zmq_setsockopt(d->pub, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
            zsock_bound(d->pub, &b) != FT_OK ||
            (opts->curve_sk &&
             (zmq_setsockopt(d->pub, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
              zmq_setsockopt(d->pub, ZMQ_CURVE_SECRETKEY, opts->curve_sk, 32) != 0 ||
              zmq_setsockopt(d->pub, ZMQ_ZAP_DOMAIN, SUBSCRIBERS_ZAP_DOMAIN,
                             strlen(SUBSCRIBERS_ZAP_DOMAIN)) != 0 ||
              zmq_setsockopt(d->pub, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0)) ||
            zguard_attach(d->zctx, d->pub, &go, &d->guard) != FT_OK || zmq_bind(d->pub, ep) != 0) {
            log_error("cannot publish alerts on %s: %s (set `alerts.publish` in hub.conf, "
                      "pass --publish, or \"off\")",
                      ep, zmq_strerror(zmq_errno()));
            delivery_destroy(&d);
            return FT_EIO;
        }
    }
    if (d->n_hooks) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        d->curl_inited = true;
        for (size_t i = 0; i < d->n_hooks; i++) {
            if (pthread_create(&d->hs[i].thread, NULL, hook_thread, &d->hs[i]) != 0) {
                delivery_destroy(&d);
                return FT_ENOMEM;
            }
            d->hs[i].started = true;
        }
    }
    *out = d;
    return FT_OK;
}

void delivery_destroy(delivery_t **d_p)
{
    delivery_t *d = *d_p;
    if (!d) {
        return;
    }
    atomic_store(&d->stop, true);
    for (size_t i = 0; i < d->n_hooks; i++) {
        hookstate_t *h = &d->hs[i];
        if (h->started) {
            pthread_mutex_lock(&h->mu);
            pthread_cond_broadcast(&h->cv);
            pthread_mutex_unlock(&h->mu);
        }
    }
    for (size_t i = 0; i < d->n_hooks; i++) {
        hookstate_t *h = &d->hs[i];
        if (h->started) {
            pthread_join(h->thread, NULL);
            uint64_t left = 0;
            if (delivery_backlog(d->o.hublog, h->c.seq, &left) == FT_OK && left) {
                log_info("webhook %s: %" PRIu64 " alert event%s not sent yet; sent when the hub "
                         "starts again",
                         h->name, left, left == 1 ? "" : "s");
            }
        }
    }
    for (size_t i = 0; i < d->n_hooks; i++) {
        pthread_cond_destroy(&d->hs[i].cv);
        pthread_mutex_destroy(&d->hs[i].mu);
    }
    if (d->curl_inited) {
        curl_global_cleanup();
    }
    if (d->pub) {
        zguard_detach(&d->guard, d->pub);
        zmq_close(d->pub);
    }
    subscribers_zap_stop(&d->zap);
    if (d->zctx) {
        zmq_ctx_term(d->zctx);
    }
    pthread_mutex_destroy(&d->file_mu);
    free(d->hs);
    free(d);
    *d_p = NULL;
}

void delivery_publish(delivery_t *d, const json_t *event)
{
    if (!d) {
        return;
    }
    if (d->pub) {
        char topic[320];
        delivery_topic(event, topic, sizeof topic);
        char *body = json_dumps(event, JSON_COMPACT | JSON_SORT_KEYS);
        if (body) {
            if (zmq_send(d->pub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
                zmq_send(d->pub, body, strlen(body), ZMQ_DONTWAIT) < 0) {
                log_debug("alert not published: %s", zmq_strerror(zmq_errno()));
            }
            free(body);
        }
    }
    /* The event is in the hub log already: the hook threads read it there. */
    for (size_t i = 0; i < d->n_hooks; i++) {
        pthread_mutex_lock(&d->hs[i].mu);
        d->hs[i].wake = true;
        pthread_cond_signal(&d->hs[i].cv);
        pthread_mutex_unlock(&d->hs[i].mu);
    }
}

/* ---- status ----------------------------------------------------------------- */

static void time_or_null(json_t *o, const char *k, int64_t ms)
{
    char buf[48];
    if (ms > 0) {
        rfc3339_format(ms, 0, buf, sizeof buf);
        json_object_set_new(o, k, json_string(buf));
    } else {
        json_object_set_new(o, k, json_null());
    }
}

json_t *delivery_status_json(const char *state, devlog_t *hublog)
{
    char path[4200], why[512] = "";
    hook_cursor_t *c = NULL;
    size_t n = 0;
    if (fsutil_join(path, sizeof path, state, DELIVERY_CURSORS_FILE) != FT_OK) {
        return json_pack("{s:s}", "error", "state directory path too long");
    }
    int err = delivery_cursors_read(path, &c, &n, why, sizeof why);
    if (err != FT_OK) {
        return json_pack("{s:s}", "error", why[0] ? why : ft_strerror(err));
    }
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        uint64_t backlog = 0;
        json_t *o =
            json_pack("{s:o, s:I, s:I, s:o*}", "hook", utf8_json_string(c[i].name), "sent",
                      (json_int_t)c[i].sent, "failed", (json_int_t)c[i].failed, "last_error",
                      c[i].last_error[0] ? utf8_json_string(c[i].last_error) : NULL);
        if (delivery_backlog(hublog, c[i].seq, &backlog) == FT_OK) {
            json_object_set_new(o, "backlog", json_integer((json_int_t)backlog));
        } else {
            json_object_set_new(o, "backlog", json_null());
        }
        time_or_null(o, "last_error_at", c[i].last_error_ms);
        time_or_null(o, "last_success_at", c[i].last_success_ms);
        json_array_append_new(a, o);
    }
    free(c);
    return a;
}

void delivery_status_print(const json_t *status, FILE *out)
{
    if (json_is_object(status)) {
        fprintf(out, "webhooks:         %s\n", json_string_value(json_object_get(status, "error")));
        return;
    }
    size_t i;
    const json_t *o;
    json_array_foreach(status, i, o)
    {
        const char *le = json_string_value(json_object_get(o, "last_error"));
        const char *lea = json_string_value(json_object_get(o, "last_error_at"));
        const char *ls = json_string_value(json_object_get(o, "last_success_at"));
        fprintf(out, "webhook:          %s: %lld waiting, %lld sent, %lld given up; last sent %s",
                json_string_value(json_object_get(o, "hook")),
                (long long)json_integer_value(json_object_get(o, "backlog")),
                (long long)json_integer_value(json_object_get(o, "sent")),
                (long long)json_integer_value(json_object_get(o, "failed")), ls ? ls : "never");
        if (le) {
            fprintf(out, "; last error %s: %s", lea ? lea : "-", le);
        }
        fputc('\n', out);
    }
}
