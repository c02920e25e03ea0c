/* delivery.c: PUB socket and webhooks with the hub log as outbox (see
 * delivery.h).
 *
 * Each hook thread, in turn:
 *   a digest hook whose digest time passed --> one message per unit (paced),
 *                                              the progress kept per unit
 *   per alert event after its cursor (in hub-log order):
 *     not for this hook (filter; a digest hook's non-immediate events)
 *                               --> passed (the cursor moves past it)
 *     older than max_age        --> skipped (counted, one log line per run)
 *     the pace allows every waiting event --> a message of its own
 *     more wait than the pace allows      --> one merged message for them all
 *     the pace allows none yet  --> wait, then read again (more may merge)
 *   per message:
 *     POST 2xx (and errcode / code 0 for the group bots) --> delivered
 *     failure, tries left       --> wait backoff (doubling) and the pace, again
 *     failure, no tries left    --> given up, logged
 *     stop requested            --> abandoned: the cursor stays before it
 * After delivered / given up / skipped the cursor moves past the events the
 * message covers and the cursors file is rewritten (with every try's time,
 * for the pace). Entries that are not alert events move the cursor too
 * (written at the end of each pass).
 */
#include "delivery.h"
#include "alertview.h"
#include "botmsg.h"
#include "digest.h"
#include "entry.h"
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
#include <sodium.h>
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

/* Alert events read per pass: at most one merged message. */
#define BATCH_EVENTS DELIVERY_READ_MAX
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
    person_t *people; /* copies of the options' */
    size_t n_people;
    char dashboard[512];
    /* Digests read open alerts from a view of the hub log of their own,
     * caught up before each digest (under view_mu, made at the first one). */
    pthread_mutex_t view_mu;
    alertview_t *view;
    uint64_t view_seq;
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
                     "webhook \"%s\" must be FORMAT=URL with FORMAT generic, wecom, dingtalk or "
                     "feishu",
                     w);
            result = FT_EINVAL;
            break;
        }
        *eq = '\0';
        if (route_format_parse(w, &h.format) != FT_OK) {
            snprintf(err, errlen,
                     "webhook format \"%s\" is not one of generic, wecom, dingtalk, feishu", w);
            result = FT_EINVAL;
            break;
        }
        h.rate = route_format_default_rate(h.format);
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
    return route_format_name(f);
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
    if (h->name[0]) {
        snprintf(buf, len, "%s (%s, %.*s)", h->name, format_name(h->format), (int)n, p);
    } else {
        snprintf(buf, len, "%s (%.*s)", format_name(h->format), (int)n, p);
    }
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
        const json_t *dg = json_object_get(h, "digest");
        const char *du = json_string_value(json_object_get(dg, "unit"));
        uint64_t ls = 0, lem = 0, dd = 0, ds = 0;
        if (!is_key(key) || !get_u64(h, "seq", &c[i].seq, true) ||
            !get_u64(h, "sent", &c[i].sent, false) || !get_u64(h, "failed", &c[i].failed, false) ||
            !get_u64(h, "messages", &c[i].messages, false) ||
            !get_u64(h, "merged", &c[i].merged, false) ||
            !get_u64(h, "digests", &c[i].digests, false) ||
            !get_u64(h, "part", &c[i].part, false) || !get_u64(h, "last_success_ms", &ls, false) ||
            !get_u64(h, "last_error_ms", &lem, false) || !get_u64(dg, "done_ms", &dd, false) ||
            !get_u64(dg, "from", &c[i].digest_from, false) || !get_u64(dg, "slot_ms", &ds, false) ||
            !get_u64(dg, "to", &c[i].digest_to, false)) {
            snprintf(err, errlen, "%s: hook %zu has no valid key and seq", path, i + 1);
            rc = FT_ECORRUPT;
            break;
        }
        size_t k;
        const json_t *t;
        json_array_foreach(json_object_get(h, "sends"), k, t)
        {
            if (json_is_integer(t) && c[i].pace.n < PACE_KEEP) {
                c[i].pace.t[c[i].pace.n++] = (int64_t)json_integer_value(t);
            }
        }
        c[i].digest_done_ms = (int64_t)dd;
        c[i].digest_slot_ms = (int64_t)ds;
        utf8_copy(c[i].digest_unit, sizeof c[i].digest_unit, du ? du : "");
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
        json_t *o = json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:o}", "key", c[i].key, "name",
                              utf8_json_string(c[i].name), "seq", (json_int_t)c[i].seq, "sent",
                              (json_int_t)c[i].sent, "failed", (json_int_t)c[i].failed,
                              "last_success_ms", (json_int_t)c[i].last_success_ms, "last_error_ms",
                              (json_int_t)c[i].last_error_ms, "last_error",
                              utf8_json_string(c[i].last_error));
        json_t *sends = json_array();
        for (size_t k = 0; k < c[i].pace.n; k++) {
            json_array_append_new(sends, json_integer(c[i].pace.t[k]));
        }
        json_t *dg = json_pack(
            "{s:I, s:I, s:I, s:I, s:o}", "done_ms", (json_int_t)c[i].digest_done_ms, "from",
            (json_int_t)c[i].digest_from, "slot_ms", (json_int_t)c[i].digest_slot_ms, "to",
            (json_int_t)c[i].digest_to, "unit", utf8_json_string(c[i].digest_unit));
        if (!o || !sends || !dg ||
            json_object_set_new(o, "messages", json_integer((json_int_t)c[i].messages)) ||
            json_object_set_new(o, "merged", json_integer((json_int_t)c[i].merged)) ||
            json_object_set_new(o, "digests", json_integer((json_int_t)c[i].digests)) ||
            json_object_set_new(o, "part", json_integer((json_int_t)c[i].part)) ||
            json_object_set_new(o, "sends", sends) || json_object_set_new(o, "digest", dg)) {
            json_decref(o);
            continue; /* counted below: nothing is written */
        }
        json_array_append_new(hooks, o);
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

typedef struct {
    outev_t *ev;
    size_t n, max;
    uint64_t first;      /* the first entry read (the cursor's seq + 1) */
    uint64_t skip;       /* events of it finished before (the cursor's part) */
    uint64_t last, part; /* the cursor after what was looked at */
    size_t looked;       /* entries looked at */
    bool more;           /* stopped before the end */
    uint64_t count;      /* delivery_backlog: just count */
    bool count_only;
    const hook_t *h; /* NULL: every alert event */
    uint64_t now_ms; /* for the age limit */
    uint64_t max_age_ms;
} batch_t;

void delivery_pos_after(const outev_t *e, uint64_t *seq, uint64_t *part)
{
    if (e->idx + 1 >= e->of) {
        *seq = e->seq;
        *part = 0;
    } else {
        *seq = e->seq - 1;
        *part = (uint64_t)e->idx + 1;
    }
}

/* True if cursor (s1, p1) is past (s2, p2). */
static bool pos_past(uint64_t s1, uint64_t p1, uint64_t s2, uint64_t p2)
{
    return s1 > s2 || (s1 == s2 && p1 > p2);
}

/* One hub-log entry: its alert events (an AlertEvent, or an AlertEvents
 * batch; common/entry.h) after the cursor, as far as there is room. */
static int collect_one(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    batch_t *b = ctx;
    if (!b->count_only && (b->n == b->max || b->looked == BATCH_ENTRIES)) {
        b->more = true;
        return 1;
    }
    entry_view_t v;
    if (entry_open(raw, len, &v) != FT_OK) {
        return FT_ECORRUPT;
    }
    const Ft__Body *body = v.entry->body;
    size_t n_alerts = entry_alert_count(body);
    size_t i = seq == b->first ? (size_t)(b->skip < n_alerts ? b->skip : n_alerts) : 0;
    for (; i < n_alerts; i++) {
        if (!b->count_only && b->n == b->max) {
            /* full inside an entry: the cursor stops before event i */
            b->more = true;
            b->last = seq - 1;
            b->part = i;
            entry_view_free(&v);
            return 1;
        }
        const Ft__AlertEvent *ae = entry_alert_at(body, i);
        if (!ae->detail_json) {
            continue;
        }
        json_t *ev = b->h || !b->count_only ? json_loads(ae->detail_json, 0, NULL) : NULL;
        /* an event that does not parse is taken (and reported) as it is */
        bool take = !b->h || !ev || route_sends_now(b->h, ev);
        if (!take) {
            json_decref(ev);
        } else if (b->count_only) {
            b->count++;
            json_decref(ev);
        } else {
            uint64_t ms = hlc_ms(v.entry->hlc);
            b->ev[b->n++] = (outev_t){.seq = seq,
                                      .idx = (uint32_t)i,
                                      .of = (uint32_t)n_alerts,
                                      .ms = ms,
                                      .ev = ev,
                                      .old = delivery_too_old(ms, b->now_ms, b->max_age_ms)};
        }
    }
    entry_view_free(&v);
    b->last = seq;
    b->part = 0;
    b->looked++;
    return 0;
}

void delivery_events_free(outev_t *ev, size_t n)
{
    for (size_t i = 0; ev && i < n; i++) {
        json_decref(ev[i].ev);
        ev[i].ev = NULL;
    }
}

int delivery_read(devlog_t *hublog, const hook_t *h, uint64_t seq, uint64_t part, size_t max,
                  uint64_t now_ms, uint64_t max_age_ms, outev_t *out, size_t *n, bool *more,
                  uint64_t *last_seq, uint64_t *last_part)
{
    batch_t b = {.ev = out,
                 .max = max < 1                   ? 1
                        : max > DELIVERY_READ_MAX ? DELIVERY_READ_MAX
                                                  : max,
                 .first = seq + 1,
                 .skip = part,
                 .last = seq,
                 .part = part,
                 .h = h,
                 .now_ms = now_ms,
                 .max_age_ms = max_age_ms};
    int err = devlog_iter(hublog, seq + 1, 0, collect_one, &b);
    *n = b.n;
    *more = b.more;
    *last_seq = b.last;
    *last_part = b.part;
    if (err < 0) {
        delivery_events_free(out, b.n);
        *n = 0;
        return err;
    }
    return FT_OK;
}

int delivery_backlog(devlog_t *hublog, uint64_t after, uint64_t part, uint64_t *n)
{
    return delivery_backlog_for(hublog, NULL, after, part, n);
}

int delivery_backlog_for(devlog_t *hublog, const hook_t *h, uint64_t after, uint64_t part,
                         uint64_t *n)
{
    batch_t b = {.count_only = true, .h = h, .first = after + 1, .skip = part};
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

/* A group bot's answer: HTTP 200 with {"errcode": N} (WeCom, DingTalk) or
 * {"code": N} / {"StatusCode": N} (Feishu); N 0 is success. */
static bool bot_refused(const char *answer, char *why, size_t whylen)
{
    json_t *j = json_loads(answer, 0, NULL);
    static const char *const codes[] = {"errcode", "code", "StatusCode"};
    static const char *const msgs[] = {"errmsg", "msg", "StatusMessage"};
    bool refused = false;
    for (int i = 0; j && i < 3 && !refused; i++) {
        json_t *code = json_object_get(j, codes[i]);
        if (code && json_integer_value(code) != 0) {
            const char *msg = json_string_value(json_object_get(j, msgs[i]));
            snprintf(why, whylen, "the bot refused it: %s %lld %s", codes[i],
                     (long long)json_integer_value(code), msg ? msg : "");
            if (whylen > 0) {
                utf8_trim(why); /* the bot's message cut on a whole character */
            }
            refused = true;
        }
    }
    json_decref(j);
    return refused;
}

/* One POST; true on success. */
static bool post(delivery_t *d, const hook_t *h, const char *url, const char *body, char *why,
                 size_t whylen)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(why, whylen, "curl_easy_init failed");
        return false;
    }
    resp_t r = {.len = 0};
    r.buf[0] = '\0';
    struct curl_slist *headers =
        curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
    curl_easy_setopt(c, CURLOPT_URL, url);
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
    return h->format == HOOK_GENERIC || !bot_refused(r.buf, why, whylen);
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

/* Waits (in steps of at most a second) until the pace lets one message go;
 * true if stopping. */
static bool pace_wait(hookstate_t *h)
{
    for (;;) {
        int64_t now = (int64_t)hlc_wall_ms();
        pthread_mutex_lock(&h->mu);
        int64_t next = pace_next(&h->c.pace, h->hook.rate, now);
        pthread_mutex_unlock(&h->mu);
        if (next <= now) {
            return stopping(h->d);
        }
        int64_t ms = next - now;
        if (hook_wait(h, (unsigned)(ms < 1000 ? ms : 1000), false)) {
            return true;
        }
    }
}

/* Records one try (its time counts for the pace; a failure's reason). */
static void note_try(hookstate_t *h, bool ok, const char *why)
{
    pthread_mutex_lock(&h->mu);
    int64_t now = (int64_t)hlc_wall_ms();
    pace_note(&h->c.pace, now);
    if (ok) {
        h->c.last_success_ms = now;
    } else if (why) {
        h->c.last_error_ms = now;
        utf8_copy(h->c.last_error, sizeof h->c.last_error, why);
    }
    pthread_mutex_unlock(&h->mu);
    if (!ok) {
        persist(h->d); /* a success is written with its cursor (note_done) */
    }
}

/* A finished message: the cursor moves to (seq, part); events delivered or
 * given up. */
static void note_done(hookstate_t *h, uint64_t seq, uint64_t part, bool ok, uint64_t events,
                      bool merged)
{
    pthread_mutex_lock(&h->mu);
    if (pos_past(seq, part, h->c.seq, h->c.part)) {
        h->c.seq = seq;
        h->c.part = part;
    }
    if (ok) {
        h->c.sent += events;
        h->c.messages++;
        h->c.merged += merged ? events : 0;
    } else {
        h->c.failed += events;
    }
    pthread_mutex_unlock(&h->mu);
    persist(h->d);
}

enum { SENT, GIVEN_UP, ABANDONED };

/* Sends one message with retries, each try within the pace. what names it
 * in the log ("alert ID STATE", "12 alert events merged ...", "the digest
 * for unit U"). */
static int send_msg(hookstate_t *h, const botmsg_t *m, const char *what)
{
    delivery_t *d = h->d;
    unsigned backoff = d->o.backoff_ms;
    char why[256] = "";
    for (unsigned attempt = 1; attempt <= d->o.attempts; attempt++) {
        if (pace_wait(h)) {
            return ABANDONED;
        }
        char *url = NULL, *body = NULL;
        if (botmsg_request(m, &h->hook, (int64_t)hlc_wall_ms(), &url, &body) != FT_OK) {
            snprintf(why, sizeof why, "out of memory writing the request");
            log_error("webhook %s: %s not sent: %s", h->name, what, why);
            return GIVEN_UP;
        }
        bool ok = post(d, &h->hook, url, body, why, sizeof why);
        sodium_memzero(url, strlen(url)); /* a signed URL holds the key */
        free(url);
        free(body);
        if (ok) {
            note_try(h, true, NULL);
            log_debug("webhook %s: %s delivered", h->name, what);
            return SENT;
        }
        if (stopping(d)) {
            return ABANDONED;
        }
        note_try(h, false, why);
        log_warn("webhook %s: %s not delivered (try %u of %u): %s", h->name, what, attempt,
                 d->o.attempts, why);
        if (attempt < d->o.attempts) {
            if (hook_wait(h, backoff, false)) {
                return ABANDONED;
            }
            backoff = backoff > UINT32_MAX / 2 ? backoff : backoff * 2;
        }
    }
    log_error("webhook %s: %s given up after %u tries: %s (it stays in the history)", h->name, what,
              d->o.attempts, why);
    return GIVEN_UP;
}

static botmsg_ctx_t msg_ctx(const hookstate_t *h)
{
    const delivery_t *d = h->d;
    return (botmsg_ctx_t){.dashboard_url = d->dashboard,
                          .people = d->people,
                          .n_people = d->n_people,
                          .mention = !h->hook.no_mention};
}

/* One event as a message of its own. */
static int deliver_one(hookstate_t *h, const outev_t *e)
{
    const json_t *a = json_object_get(e->ev, "alert");
    const char *aid = json_string_value(json_object_get(a, "id"));
    const char *st = json_string_value(json_object_get(e->ev, "state"));
    char what[80];
    snprintf(what, sizeof what, "alert %.16s %.12s", aid ? aid : "?", st ? st : "?");
    botmsg_ctx_t c = msg_ctx(h);
    botmsg_t *m = e->ev ? botmsg_event(e->ev, &c) : NULL;
    if (!m) {
        log_error("webhook %s: hub log entry %" PRIu64 " holds an alert event (%u of %u) that "
                  "cannot be sent (%s); skipped",
                  h->name, e->seq, e->idx + 1, e->of,
                  e->ev ? "out of memory" : "it does not parse");
        pthread_mutex_lock(&h->mu);
        utf8_copy(h->c.last_error, sizeof h->c.last_error,
                  "an alert event in the hub log does not parse");
        h->c.last_error_ms = (int64_t)hlc_wall_ms();
        pthread_mutex_unlock(&h->mu);
        uint64_t ps, pp;
        delivery_pos_after(e, &ps, &pp);
        note_done(h, ps, pp, false, 1, false);
        return GIVEN_UP;
    }
    int r = send_msg(h, m, what);
    botmsg_free(&m);
    if (r != ABANDONED) {
        uint64_t ps, pp;
        delivery_pos_after(e, &ps, &pp);
        note_done(h, ps, pp, r == SENT, 1, false);
    }
    return r;
}

/* Events that waited, as one message; the cursor goes to (last, part)
 * (everything before it is finished). */
static int deliver_merged(hookstate_t *h, const outev_t *ev, size_t n, uint64_t last, uint64_t part)
{
    json_t **list = calloc(n ? n : 1, sizeof *list);
    size_t k = 0;
    for (size_t i = 0; list && i < n; i++) {
        if (!ev[i].old && ev[i].ev) {
            list[k++] = ev[i].ev;
        }
    }
    if (!list || !k) {
        free(list);
        note_done(h, last, part, false, 0, false);
        return GIVEN_UP;
    }
    uint64_t first_seq = 0, last_seq = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ev[i].old && ev[i].ev) {
            first_seq = first_seq ? first_seq : ev[i].seq;
            last_seq = ev[i].seq;
        }
    }
    char what[120];
    snprintf(what, sizeof what, "%zu alert events merged (hub log entries %" PRIu64 "-%" PRIu64 ")",
             k, first_seq, last_seq);
    botmsg_ctx_t c = msg_ctx(h);
    botmsg_t *m = botmsg_merged(list, k, first_seq, last_seq, &c);
    free(list);
    if (!m) {
        log_error("webhook %s: %s: out of memory; given up", h->name, what);
        note_done(h, last, part, false, k, false);
        return GIVEN_UP;
    }
    log_info("webhook %s: %s into one message (the pace, %u a minute, lets no more through)",
             h->name, what, h->hook.rate);
    int r = send_msg(h, m, what);
    botmsg_free(&m);
    if (r != ABANDONED) {
        note_done(h, last, part, r == SENT, k, true);
    }
    return r;
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

/* ---- digests ---------------------------------------------------------------- */

static int64_t digest_now(const delivery_t *d)
{
    return (int64_t)hlc_wall_ms() + d->o.digest_offset_ms;
}

/* Feeds the view every hub-log entry it has not seen (under view_mu). */
static int view_feed(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    delivery_t *d = ctx;
    entry_view_t v;
    if (entry_open(raw, len, &v) != FT_OK) {
        return FT_ECORRUPT;
    }
    json_t *changed = NULL;
    (void)alertview_feed(d->view, NULL, seq, v.entry, &changed);
    json_decref(changed);
    entry_view_free(&v);
    d->view_seq = seq;
    return 0;
}

static int view_catch_up(delivery_t *d)
{
    if (!d->view && alertview_new(&d->view) != FT_OK) {
        return FT_ENOMEM;
    }
    int err = devlog_iter(d->o.hublog, d->view_seq + 1, 0, view_feed, d);
    return err < 0 ? err : FT_OK;
}

static void local_hhmm(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M %z", &tm)) {
        snprintf(buf, len, "?");
    }
}

/* A digest hook's turn: when a digest time has passed, one message per
 * unit. ABANDONED when the hub stops in the middle (the units sent are
 * kept: the rest go after the restart). */
static int digest_step(hookstate_t *h)
{
    delivery_t *d = h->d;
    int64_t now = digest_now(d);
    int64_t slot = digest_slot_before(&h->hook, now);
    pthread_mutex_lock(&h->mu);
    hook_cursor_t c = h->c;
    pthread_mutex_unlock(&h->mu);
    char when[64];
    if (!c.digest_slot_ms) {
        if (!slot || (c.digest_done_ms && slot <= c.digest_done_ms)) {
            return SENT; /* nothing due */
        }
        if (!c.digest_done_ms) { /* a new hook: its first digest is the next one */
            pthread_mutex_lock(&h->mu);
            h->c.digest_done_ms = slot;
            h->c.digest_from = h->c.seq;
            pthread_mutex_unlock(&h->mu);
            persist(d);
            local_hhmm(digest_slot_after(&h->hook, now), when, sizeof when);
            log_info("webhook %s: first digest at %s", h->name, when);
            return SENT;
        }
        local_hhmm(slot, when, sizeof when);
        if (delivery_too_old((uint64_t)slot, (uint64_t)now, d->o.max_age_ms)) {
            log_warn("webhook %s: the digest of %s is too late to send (alerts.webhook_max_age); "
                     "the next one covers its events",
                     h->name, when);
            pthread_mutex_lock(&h->mu);
            h->c.digest_done_ms = slot;
            pthread_mutex_unlock(&h->mu);
            persist(d);
            return SENT;
        }
        uint64_t head = 0;
        if (devlog_head(d->o.hublog, &head, NULL) != FT_OK) {
            return SENT; /* said by the outbox reader; tried again */
        }
        pthread_mutex_lock(&h->mu);
        h->c.digest_slot_ms = slot;
        h->c.digest_to = head > h->c.digest_from ? head : h->c.digest_from;
        h->c.digest_unit[0] = '\0';
        c = h->c;
        pthread_mutex_unlock(&h->mu);
        persist(d);
        log_info("webhook %s: digest of %s (hub log entries %" PRIu64 "-%" PRIu64 ")", h->name,
                 when, c.digest_from + 1, c.digest_to);
    }
    local_hhmm(c.digest_slot_ms, when, sizeof when);
    digest_set_t set;
    pthread_mutex_lock(&d->view_mu);
    int err = view_catch_up(d);
    if (err == FT_OK) {
        err = digest_collect(d->view, d->o.hublog, &h->hook, c.digest_from, c.digest_to,
                             c.digest_slot_ms, c.digests ? c.digest_done_ms : 0, &set);
    }
    pthread_mutex_unlock(&d->view_mu);
    if (err != FT_OK) {
        log_error("webhook %s: the digest of %s cannot be made: %s (tried again)", h->name, when,
                  ft_strerror(err));
        return GIVEN_UP;
    }
    botmsg_ctx_t mc = msg_ctx(h);
    int result = SENT;
    size_t units = 0;
    for (size_t i = 0; i < set.n && result != ABANDONED; i++) {
        if (c.digest_unit[0] && strcmp(set.u[i].unit, c.digest_unit) <= 0) {
            continue; /* sent before a restart */
        }
        char what[400];
        snprintf(what, sizeof what, "the digest of %s for unit %s", when, set.u[i].unit);
        botmsg_t *m = botmsg_digest(&set.u[i], &mc);
        int r = m ? send_msg(h, m, what) : GIVEN_UP;
        botmsg_free(&m);
        if (r == ABANDONED) {
            result = ABANDONED;
            break;
        }
        units += r == SENT;
        pthread_mutex_lock(&h->mu);
        utf8_copy(h->c.digest_unit, sizeof h->c.digest_unit, set.u[i].unit);
        if (r == SENT) {
            h->c.messages++;
        }
        pthread_mutex_unlock(&h->mu);
        persist(d);
    }
    size_t total = set.n;
    digest_set_free(&set);
    if (result == ABANDONED) {
        return ABANDONED;
    }
    pthread_mutex_lock(&h->mu);
    h->c.digest_done_ms = h->c.digest_slot_ms;
    h->c.digest_from = h->c.digest_to;
    h->c.digest_slot_ms = 0;
    h->c.digest_to = 0;
    h->c.digest_unit[0] = '\0';
    h->c.digests++;
    pthread_mutex_unlock(&h->mu);
    persist(d);
    log_info("webhook %s: digest of %s sent (%zu unit%s%s)", h->name, when, total,
             total == 1 ? "" : "s", units < total ? ", some given up" : "");
    return SENT;
}

/* ---- the thread ------------------------------------------------------------- */

static void *hook_thread(void *arg)
{
    hookstate_t *h = arg;
    delivery_t *d = h->d;
    pthread_mutex_lock(&h->mu);
    uint64_t cursor = h->c.seq, part = h->c.part;
    pthread_mutex_unlock(&h->mu);
    uint64_t waiting = 0, skipped = 0;
    if (delivery_backlog_for(d->o.hublog, &h->hook, cursor, part, &waiting) == FT_OK && waiting) {
        log_info("webhook %s: %" PRIu64
                 " alert event%s waiting since before the hub started; sending",
                 h->name, waiting, waiting == 1 ? "" : "s");
    }
    outev_t *evs = calloc(BATCH_EVENTS, sizeof *evs);
    if (!evs) {
        log_error("webhook %s: out of memory; not started (its events wait in the hub log)",
                  h->name);
        return NULL;
    }
    int last_err = FT_OK;
    while (!stopping(d)) {
        if (h->hook.mode == HOOK_DIGEST && digest_step(h) == ABANDONED) {
            break;
        }
        pthread_mutex_lock(&h->mu);
        cursor = h->c.seq;
        part = h->c.part;
        pthread_mutex_unlock(&h->mu);
        size_t n = 0;
        bool more = false;
        uint64_t last = cursor, last_part = part;
        int err = delivery_read(d->o.hublog, &h->hook, cursor, part, BATCH_EVENTS,
                                devlog_wall_ms(d->o.hublog), d->o.max_age_ms, evs, &n, &more, &last,
                                &last_part);
        if (err < 0) {
            if (err != last_err) {
                log_error("webhook %s: cannot read the hub log after entry %" PRIu64
                          ": %s (retrying)",
                          h->name, cursor, ft_strerror(err));
            }
            last_err = err;
            hook_wait(h, d->o.poll_ms, true);
            continue;
        }
        last_err = FT_OK;
        bool abandoned = false, again = false, dirty = false;
        size_t i = 0;
        while (i < n && !abandoned && !again) {
            const outev_t *e = &evs[i];
            if (e->old) {
                skipped++;
                pthread_mutex_lock(&h->mu);
                /* passed, not given up (written below) */
                delivery_pos_after(e, &h->c.seq, &h->c.part);
                pthread_mutex_unlock(&h->mu);
                dirty = true;
                i++;
                continue;
            }
            say_skipped(h, &skipped);
            size_t waiting_now = 0;
            for (size_t j = i; j < n; j++) {
                waiting_now += !evs[j].old;
            }
            pthread_mutex_lock(&h->mu);
            unsigned allowed = pace_allowance(&h->c.pace, h->hook.rate, (int64_t)hlc_wall_ms());
            pthread_mutex_unlock(&h->mu);
            int r;
            if (!allowed) {
                /* wait for the pace, then read again: what came meanwhile
                 * joins what waits */
                abandoned = pace_wait(h);
                again = true;
                continue;
            }
            if (!h->hook.rate || (waiting_now <= allowed && !more)) {
                r = deliver_one(h, e);
                i++;
            } else {
                r = deliver_merged(h, &evs[i], n - i, last, last_part);
                i = n;
            }
            abandoned = r == ABANDONED;
        }
        bool finished = i == n && !abandoned && !again;
        delivery_events_free(evs, n);
        if (dirty) {
            persist(d);
        }
        if (abandoned) {
            break;
        }
        if (again) {
            continue;
        }
        if (finished && !more) {
            say_skipped(h, &skipped);
        }
        pthread_mutex_lock(&h->mu);
        /* entries and events that are not for this hook */
        bool moved = finished && pos_past(last, last_part, h->c.seq, h->c.part);
        if (moved) {
            h->c.seq = last;
            h->c.part = last_part;
        }
        pthread_mutex_unlock(&h->mu);
        if (moved) {
            persist(d);
        }
        if (!more) {
            hook_wait(h, d->o.poll_ms, true);
        }
    }
    free(evs);
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
            h->c.part = 0;
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
        if (h->c.seq > head || (h->c.seq == head && h->c.part)) {
            log_warn("webhook %s: its cursor (entry %" PRIu64
                     ") is past the hub log's head (%" PRIu64
                     "), the log was replaced; it starts with the next alert event",
                     h->name, h->c.seq, head);
            h->c.seq = head;
            h->c.part = 0;
        }
        if (h->c.digest_from > head || h->c.digest_to > head) {
            h->c.digest_from = h->c.seq; /* the log was replaced */
            h->c.digest_slot_ms = 0;
            h->c.digest_to = 0;
            h->c.digest_unit[0] = '\0';
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
    d->o.people = NULL;
    d->o.dashboard_url = NULL;
    atomic_init(&d->stop, false);
    pthread_mutex_init(&d->file_mu, NULL);
    pthread_mutex_init(&d->view_mu, NULL);
    snprintf(d->dashboard, sizeof d->dashboard, "%s",
             opts->dashboard_url ? opts->dashboard_url : "");
    if (opts->n_people) {
        d->people = calloc(opts->n_people, sizeof *d->people);
        if (!d->people) {
            delivery_destroy(&d);
            return FT_ENOMEM;
        }
        memcpy(d->people, opts->people, opts->n_people * sizeof *d->people);
        d->n_people = opts->n_people;
    }
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
            if (delivery_backlog(d->o.hublog, h->c.seq, h->c.part, &left) == FT_OK && left) {
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
    pthread_mutex_destroy(&d->view_mu);
    alertview_destroy(&d->view);
    free(d->people);
    for (size_t i = 0; i < d->n_hooks; i++) {
        sodium_memzero(d->hs[i].hook.secret, sizeof d->hs[i].hook.secret);
    }
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

/* A configured hook's routing, for status. */
static void describe(json_t *o, const hook_t *h)
{
    char route[1024], when[64];
    route_describe(h, route, sizeof route);
    json_object_set_new(o, "format", json_string(format_name(h->format)));
    json_object_set_new(o, "mode", json_string(h->mode == HOOK_DIGEST ? "digest" : "each"));
    json_object_set_new(o, "route", utf8_json_string(route));
    if (h->mode == HOOK_DIGEST) {
        json_t *times = json_array();
        for (size_t i = 0; i < h->n_digest_at; i++) {
            char t[8];
            snprintf(t, sizeof t, "%02u:%02u", h->digest_at[i] / 60u, h->digest_at[i] % 60u);
            json_array_append_new(times, json_string(t));
        }
        json_object_set_new(o, "digest_at", times);
        local_hhmm(digest_slot_after(h, (int64_t)hlc_wall_ms()), when, sizeof when);
        json_object_set_new(o, "next_digest", json_string(when));
    }
}

json_t *delivery_status_json(const char *state, devlog_t *hublog, const hook_t *hooks,
                             size_t n_hooks)
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
    bool *shown = calloc(n_hooks ? n_hooks : 1, sizeof *shown);
    json_t *a = json_array();
    for (size_t i = 0; shown && i < n; i++) {
        const hook_t *h = NULL;
        for (size_t j = 0; j < n_hooks && !h; j++) {
            char key[33];
            delivery_hook_key(&hooks[j], key);
            if (strcmp(key, c[i].key) == 0) {
                h = &hooks[j];
                shown[j] = true;
            }
        }
        uint64_t backlog = 0;
        json_t *o =
            json_pack("{s:o, s:I, s:I, s:o*}", "hook", utf8_json_string(c[i].name), "sent",
                      (json_int_t)c[i].sent, "failed", (json_int_t)c[i].failed, "last_error",
                      c[i].last_error[0] ? utf8_json_string(c[i].last_error) : NULL);
        if ((h ? delivery_backlog_for(hublog, h, c[i].seq, c[i].part, &backlog)
               : delivery_backlog(hublog, c[i].seq, c[i].part, &backlog)) == FT_OK) {
            json_object_set_new(o, "backlog", json_integer((json_int_t)backlog));
        } else {
            json_object_set_new(o, "backlog", json_null());
        }
        time_or_null(o, "last_error_at", c[i].last_error_ms);
        time_or_null(o, "last_success_at", c[i].last_success_ms);
        json_object_set_new(o, "messages", json_integer((json_int_t)c[i].messages));
        json_object_set_new(o, "merged", json_integer((json_int_t)c[i].merged));
        if (h) {
            describe(o, h);
            if (h->mode == HOOK_DIGEST) {
                json_object_set_new(o, "digests", json_integer((json_int_t)c[i].digests));
                if (c[i].digests) {
                    char when[64];
                    local_hhmm(c[i].digest_done_ms, when, sizeof when);
                    json_object_set_new(o, "last_digest", json_string(when));
                }
            }
        } else {
            json_object_set_new(o, "configured", json_false());
        }
        json_array_append_new(a, o);
    }
    for (size_t j = 0; shown && j < n_hooks; j++) {
        if (!shown[j]) { /* configured, not yet started by `run` */
            char name[160];
            delivery_hook_name(&hooks[j], name, sizeof name);
            json_t *o = json_pack("{s:o, s:b}", "hook", utf8_json_string(name), "started", 0);
            describe(o, &hooks[j]);
            json_array_append_new(a, o);
        }
    }
    free(shown);
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
        const char *route = json_string_value(json_object_get(o, "route"));
        const char *next = json_string_value(json_object_get(o, "next_digest"));
        const char *last = json_string_value(json_object_get(o, "last_digest"));
        if (json_is_false(json_object_get(o, "started"))) {
            fprintf(out, "webhook:          %s: not started yet (`run` starts it)\n",
                    json_string_value(json_object_get(o, "hook")));
        } else {
            fprintf(out,
                    "webhook:          %s: %lld waiting, %lld sent, %lld given up; last sent %s",
                    json_string_value(json_object_get(o, "hook")),
                    (long long)json_integer_value(json_object_get(o, "backlog")),
                    (long long)json_integer_value(json_object_get(o, "sent")),
                    (long long)json_integer_value(json_object_get(o, "failed")), ls ? ls : "never");
            if (le) {
                fprintf(out, "; last error %s: %s", lea ? lea : "-", le);
            }
            fputc('\n', out);
            long long msgs = (long long)json_integer_value(json_object_get(o, "messages"));
            long long merged = (long long)json_integer_value(json_object_get(o, "merged"));
            if (msgs || merged) {
                fprintf(out, "                  %lld message%s, %lld event%s of them merged\n",
                        msgs, msgs == 1 ? "" : "s", merged, merged == 1 ? "" : "s");
            }
        }
        if (route) {
            fprintf(out, "                  route: %s\n", route);
        } else if (json_is_false(json_object_get(o, "configured"))) {
            fprintf(out, "                  no longer configured (dropped at the next start)\n");
        }
        if (next) {
            fprintf(out, "                  next digest %s%s%s\n", next, last ? ", last " : "",
                    last ? last : "");
        }
    }
}
