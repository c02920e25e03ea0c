/* delivery.c: PUB socket and webhook queue (see delivery.h).
 *
 * Webhook thread state machine, per message and hook:
 *   QUEUED --POST 2xx (and errcode 0 for WeCom / DingTalk)--> done
 *   QUEUED --failure, tries left--> wait backoff (doubling), try again
 *   QUEUED --failure, no tries left--> dropped, logged
 * delivery_destroy wakes the thread; it finishes the try in progress and
 * stops.
 */
#include "delivery.h"
#include "logging.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

/* One queued message for one hook. */
typedef struct msg_t {
    struct msg_t *next;
    size_t hook; /* index into hooks */
    char *body;  /* request body */
    char id[40]; /* alert id and state, for the log */
} msg_t;

struct delivery_t {
    void *zctx, *pub;
    hook_t *hooks;
    size_t n_hooks;
    delivery_opts_t o;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    msg_t *head, *tail;
    size_t queued;
    bool stop;
    uint64_t dropped, sent, failed;
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
    snprintf(unit, sizeof unit, "%s", str(a, "unit"));
    for (char *p = unit; *p; p++) {
        if (*p == '.') {
            *p = '_';
        }
    }
    snprintf(buf, len, "alert.%s.%s", unit, str(a, "severity"));
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
    json_t *o = json_pack("{s:s, s:{s:s}}", "msgtype", "text", "text", "content", text);
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

/* ---- the webhook thread ---------------------------------------------------- */

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
    curl_easy_setopt(c, CURLOPT_USERAGENT, "fieldtrail-hub");
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
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
            snprintf(why, whylen, "the bot refused it: errcode %lld %s",
                     (long long)json_integer_value(code),
                     json_string_value(json_object_get(j, "errmsg"))
                         ? json_string_value(json_object_get(j, "errmsg"))
                         : "");
            json_decref(j);
            return false;
        }
        json_decref(j);
    }
    return true;
}

/* Waits ms or until stop; true if stopping. Called with mu held. */
static bool wait_stop(delivery_t *d, unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!d->stop) {
        if (pthread_cond_timedwait(&d->cv, &d->mu, &ts) == ETIMEDOUT) {
            break;
        }
    }
    return d->stop;
}

static void *hook_thread(void *arg)
{
    delivery_t *d = arg;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->stop && !d->head) {
            pthread_cond_wait(&d->cv, &d->mu);
        }
        if (d->stop) {
            break;
        }
        msg_t *m = d->head;
        d->head = m->next;
        if (!d->head) {
            d->tail = NULL;
        }
        d->queued--;
        bool ok = false;
        unsigned backoff = d->o.backoff_ms;
        char why[256] = "";
        for (unsigned attempt = 1; attempt <= d->o.attempts && !d->stop; attempt++) {
            pthread_mutex_unlock(&d->mu);
            ok = post(d, &d->hooks[m->hook], m->body, why, sizeof why);
            pthread_mutex_lock(&d->mu);
            if (ok) {
                break;
            }
            log_warn("webhook %s: alert %s not delivered (try %u of %u): %s", d->hooks[m->hook].url,
                     m->id, attempt, d->o.attempts, why);
            if (attempt < d->o.attempts && wait_stop(d, backoff)) {
                break;
            }
            backoff *= 2;
        }
        if (ok) {
            d->sent++;
            log_debug("webhook %s: alert %s delivered", d->hooks[m->hook].url, m->id);
        } else {
            d->failed++;
            log_error("webhook %s: alert %s given up after %u tries: %s", d->hooks[m->hook].url,
                      m->id, d->o.attempts, why);
        }
        free(m->body);
        free(m);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* ---- public ---------------------------------------------------------------- */

int delivery_new(const delivery_opts_t *opts, delivery_t **out)
{
    *out = NULL;
    delivery_t *d = calloc(1, sizeof *d);
    if (!d) {
        return FT_ENOMEM;
    }
    d->o = *opts;
    d->o.attempts = d->o.attempts ? d->o.attempts : 5;
    d->o.timeout_ms = d->o.timeout_ms ? d->o.timeout_ms : 5000;
    d->o.backoff_ms = d->o.backoff_ms ? d->o.backoff_ms : 500;
    d->o.max_queue = d->o.max_queue ? d->o.max_queue : 10000;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    if (opts->n_hooks) {
        d->hooks = malloc(opts->n_hooks * sizeof *d->hooks);
        if (!d->hooks) {
            delivery_destroy(&d);
            return FT_ENOMEM;
        }
        memcpy(d->hooks, opts->hooks, opts->n_hooks * sizeof *d->hooks);
        d->n_hooks = opts->n_hooks;
    }
    d->o.hooks = NULL;
    const char *ep = opts->publish;
    if (ep && ep[0] && strcmp(ep, "off") != 0) {
        d->zctx = zmq_ctx_new();
        d->pub = d->zctx ? zmq_socket(d->zctx, ZMQ_PUB) : NULL;
        int zero = 0;
        if (!d->pub || zmq_setsockopt(d->pub, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
            zmq_bind(d->pub, ep) != 0) {
            log_error("cannot publish alerts on %s: %s (set `alerts.publish` in hub.conf, "
                      "pass --publish, or \"off\")",
                      ep, zmq_strerror(zmq_errno()));
            delivery_destroy(&d);
            return FT_EIO;
        }
    }
    if (d->n_hooks) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (pthread_create(&d->thread, NULL, hook_thread, d) != 0) {
            delivery_destroy(&d);
            return FT_ENOMEM;
        }
        d->thread_started = true;
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
    if (d->thread_started) {
        pthread_mutex_lock(&d->mu);
        d->stop = true;
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->thread, NULL);
        curl_global_cleanup();
    }
    size_t left = 0;
    while (d->head) {
        msg_t *m = d->head;
        d->head = m->next;
        free(m->body);
        free(m);
        left++;
    }
    if (left) {
        log_warn("%zu webhook message%s not sent before stopping", left, left == 1 ? "" : "s");
    }
    if (d->pub) {
        zmq_close(d->pub);
    }
    if (d->zctx) {
        zmq_ctx_term(d->zctx);
    }
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d->hooks);
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
    const json_t *a = json_object_get(event, "alert");
    for (size_t i = 0; i < d->n_hooks; i++) {
        msg_t *m = calloc(1, sizeof *m);
        char *body = m ? delivery_body(d->hooks[i].format, event) : NULL;
        if (!body) {
            free(m);
            continue;
        }
        m->hook = i;
        m->body = body;
        snprintf(m->id, sizeof m->id, "%.16s %.12s", str(a, "id"), str(event, "state"));
        pthread_mutex_lock(&d->mu);
        if (d->queued >= d->o.max_queue) {
            d->dropped++;
            pthread_mutex_unlock(&d->mu);
            log_warn("webhook queue full (%zu): alert %s dropped", d->o.max_queue, m->id);
            free(m->body);
            free(m);
            continue;
        }
        if (d->tail) {
            d->tail->next = m;
        } else {
            d->head = m;
        }
        d->tail = m;
        d->queued++;
        pthread_cond_signal(&d->cv);
        pthread_mutex_unlock(&d->mu);
    }
}
