/* digest.c: digest times and contents (see digest.h). */
#include "digest.h"
#include "entry.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- times ------------------------------------------------------------------ */

/* The local time minutes after midnight of the day day_offset days from
 * the local day of now_ms. */
static int64_t at_local(int64_t now_ms, int day_offset, unsigned minutes)
{
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm)) {
        return 0;
    }
    tm.tm_mday += day_offset;
    tm.tm_hour = (int)(minutes / 60);
    tm.tm_min = (int)(minutes % 60);
    tm.tm_sec = 0;
    tm.tm_isdst = -1;
    time_t r = mktime(&tm);
    return r == (time_t)-1 ? 0 : (int64_t)r * 1000;
}

int64_t digest_slot_before(const hook_t *h, int64_t now_ms)
{
    int64_t best = 0;
    for (int day = -1; day <= 0; day++) {
        for (size_t i = 0; i < h->n_digest_at; i++) {
            int64_t t = at_local(now_ms, day, h->digest_at[i]);
            if (t && t <= now_ms && t > best) {
                best = t;
            }
        }
    }
    return best;
}

int64_t digest_slot_after(const hook_t *h, int64_t now_ms)
{
    int64_t best = 0;
    for (int day = 0; day <= 1; day++) {
        for (size_t i = 0; i < h->n_digest_at; i++) {
            int64_t t = at_local(now_ms, day, h->digest_at[i]);
            if (t > now_ms && (!best || t < best)) {
                best = t;
            }
        }
    }
    return best;
}

/* ---- contents --------------------------------------------------------------- */

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int64_t opened_ms(const json_t *a)
{
    json_int_t v = json_integer_value(json_object_get(a, "opened_at_ms"));
    return v ? v : json_integer_value(json_object_get(a, "opened_ms"));
}

/* The unit's entry in s (made if new). NULL out of memory. */
static digest_unit_t *unit_of(digest_set_t *s, const char *unit)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->u[i].unit, unit) == 0) {
            return &s->u[i];
        }
    }
    digest_unit_t *bigger = realloc(s->u, (s->n + 1) * sizeof *bigger);
    if (!bigger) {
        return NULL;
    }
    s->u = bigger;
    digest_unit_t *u = &bigger[s->n];
    memset(u, 0, sizeof *u);
    utf8_copy(u->unit, sizeof u->unit, unit);
    u->open_by_article = json_object();
    u->opened_list = json_array();
    u->resolved_list = json_array();
    u->oldest = json_array();
    if (!u->open_by_article || !u->opened_list || !u->resolved_list || !u->oldest) {
        json_decref(u->open_by_article);
        json_decref(u->opened_list);
        json_decref(u->resolved_list);
        json_decref(u->oldest);
        return NULL;
    }
    s->n++;
    return u;
}

/* Longest open first: opened earlier, then due earlier, then by ID. */
static bool opened_before(const json_t *a, const json_t *b)
{
    int64_t oa = opened_ms(a), ob = opened_ms(b);
    if (oa != ob) {
        return oa < ob;
    }
    json_int_t da = json_integer_value(json_object_get(a, "due_at_ms"));
    json_int_t db = json_integer_value(json_object_get(b, "due_at_ms"));
    if (da != db) {
        return da < db;
    }
    return strcmp(str(a, "id"), str(b, "id")) < 0;
}

typedef struct {
    const hook_t *h;
    digest_set_t *s;
    int err;
} open_ctx_t;

static void take_open(void *ctx, const json_t *a)
{
    open_ctx_t *c = ctx;
    if (c->err || !route_admits_alert(&c->h->filter, a)) {
        return;
    }
    digest_unit_t *u = unit_of(c->s, str(a, "unit"));
    if (!u) {
        c->err = FT_ENOMEM;
        return;
    }
    u->open_total++;
    unsigned b = route_severity_bit(str(a, "severity"));
    for (int i = 0; i < 4; i++) {
        u->open_sev[i] += b == (1u << i);
    }
    const char *art = str(a, "article");
    json_t *n = json_object_get(u->open_by_article, art);
    json_object_set_new(u->open_by_article, art, json_integer(json_integer_value(n) + 1));
    /* keep the DIGEST_LIST longest open (copies: the view's rows change) */
    size_t k = json_array_size(u->oldest), at = k;
    while (at > 0 && opened_before(a, json_array_get(u->oldest, at - 1))) {
        at--;
    }
    if (at < DIGEST_LIST) {
        json_array_insert_new(u->oldest, at, json_deep_copy(a));
        if (json_array_size(u->oldest) > DIGEST_LIST) {
            json_array_remove(u->oldest, DIGEST_LIST);
        }
    }
}

typedef struct {
    const hook_t *h;
    digest_set_t *s;
} range_ctx_t;

/* Keeps the newest DIGEST_LIST of a list, newest first. */
static void push_newest(json_t *list, const json_t *alert)
{
    json_array_insert_new(list, 0, json_deep_copy(alert));
    if (json_array_size(list) > DIGEST_LIST) {
        json_array_remove(list, DIGEST_LIST);
    }
}

static int take_event(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    (void)seq;
    range_ctx_t *c = ctx;
    entry_view_t v;
    if (entry_open(raw, len, &v) != FT_OK) {
        return FT_ECORRUPT;
    }
    const Ft__Body *b = v.entry->body;
    int rc = 0;
    size_t n_alerts = entry_alert_count(b); /* an AlertEvent, or a batch of them */
    for (size_t i = 0; rc == 0 && i < n_alerts; i++) {
        const Ft__AlertEvent *ae = entry_alert_at(b, i);
        if (!ae->detail_json) {
            continue;
        }
        json_t *ev = json_loads(ae->detail_json, 0, NULL);
        const json_t *a = json_object_get(ev, "alert");
        if (json_is_object(a) && route_admits_alert(&c->h->filter, a)) {
            digest_unit_t *u = unit_of(c->s, str(a, "unit"));
            unsigned k = route_event_bit(str(ev, "state"));
            if (!u) {
                rc = FT_ENOMEM;
            } else if (k == ROUTE_EV_OPENED) {
                u->opened++;
                push_newest(u->opened_list, a);
            } else if (k == ROUTE_EV_RESOLVED) {
                u->resolved++;
                push_newest(u->resolved_list, a);
            } else if (k == ROUTE_EV_JUSTIFIED) {
                u->justified++;
            }
        }
        json_decref(ev);
    }
    entry_view_free(&v);
    return rc;
}

static int by_unit(const void *x, const void *y)
{
    return strcmp(((const digest_unit_t *)x)->unit, ((const digest_unit_t *)y)->unit);
}

int digest_collect(alertview_t *view, devlog_t *hublog, const hook_t *h, uint64_t from, uint64_t to,
                   int64_t at_ms, int64_t since_ms, digest_set_t *out)
{
    memset(out, 0, sizeof *out);
    for (const char *p = h->filter.units; *p; p += strlen(p) + 1) {
        if (!unit_of(out, p)) {
            digest_set_free(out);
            return FT_ENOMEM;
        }
    }
    open_ctx_t oc = {.h = h, .s = out};
    alertview_each(view, true, take_open, &oc);
    int err = oc.err;
    if (err == FT_OK && to > from) {
        range_ctx_t rc = {.h = h, .s = out};
        err = devlog_iter(hublog, from + 1, to, take_event, &rc);
        err = err < 0 ? err : err > 0 ? FT_ENOMEM : FT_OK;
    }
    if (err != FT_OK) {
        digest_set_free(out);
        return err;
    }
    for (size_t i = 0; i < out->n; i++) {
        out->u[i].at_ms = at_ms;
        out->u[i].since_ms = since_ms;
    }
    if (out->n > 1) {
        qsort(out->u, out->n, sizeof *out->u, by_unit);
    }
    return FT_OK;
}

void digest_set_free(digest_set_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        json_decref(s->u[i].open_by_article);
        json_decref(s->u[i].opened_list);
        json_decref(s->u[i].resolved_list);
        json_decref(s->u[i].oldest);
    }
    free(s->u);
    memset(s, 0, sizeof *s);
}

const digest_unit_t *digest_find(const digest_set_t *s, const char *unit)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->u[i].unit, unit) == 0) {
            return &s->u[i];
        }
    }
    return NULL;
}
