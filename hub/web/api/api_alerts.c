/* api_alerts.c: gap alerts as the hub's own log tells them, and their
 * justification by a supervisor.
 *
 *   GET  /api/alerts?unit=&case=&article=&severity=&state=&q=&limit=
 *   GET  /api/alerts/ID             one alert with its history
 *   POST /api/alerts/ID/justify     (supervisor) {reason}
 *
 * The alert view is built from the hub log, the record of what happened at
 * the hub (DESIGN.md "Identity and trust"), not from the gap engine's
 * internal tables: an AlertEvent entry (alert_id, rule, state, case_id,
 * detail_json) adds a step to the alert's history and sets its state; a
 * `justification` record (fields alert, reason) signed by the hub closes it
 * as "justified". State per alert: open --AlertEvent resolved--> resolved;
 * open --justification--> justified; any --AlertEvent open--> open (raised
 * again). History is never rewritten; the view is rebuilt from the log at
 * start and fed every new entry by the poll (api_sync.c).
 */
#include "hlc.h"
#include "logging.h"
#include "record.h"
#include "utf8.h"
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct alert_view {
    pthread_mutex_t lock;
    json_t *alerts;  /* id -> alert object */
    json_t *pending; /* alert id -> justification that came before the alert */
};

int api_alerts_new(web_t *w)
{
    struct alert_view *v = calloc(1, sizeof *v);
    if (!v) {
        return FT_ENOMEM;
    }
    pthread_mutex_init(&v->lock, NULL);
    v->alerts = json_object();
    v->pending = json_object();
    w->alerts = v;
    return FT_OK;
}

void api_alerts_free(web_t *w)
{
    if (!w->alerts) {
        return;
    }
    json_decref(w->alerts->alerts);
    json_decref(w->alerts->pending);
    pthread_mutex_destroy(&w->alerts->lock);
    free(w->alerts);
    w->alerts = NULL;
}

static const char *str_or(const json_t *o, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : def;
}

/* Copies the fields an alert carries from an AlertEvent's detail_json: the
 * engine's event ({event, state, at, why, alert: {id, rule, article,
 * severity, case, subject, message_zh, message_en, ...}}, docs/alerts.md) or
 * a flat alert object. */
static void take_detail(json_t *a, const json_t *d)
{
    const json_t *row =
        json_is_object(json_object_get(d, "alert")) ? json_object_get(d, "alert") : d;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)row, k, v)
    {
        if (strcmp(k, "state") != 0 && strcmp(k, "history") != 0 && strcmp(k, "id") != 0 &&
            !json_is_null(v)) {
            json_object_set(a, k, v);
        }
    }
    json_t *msg = json_object_get(row, "message");
    if (json_is_object(msg)) {
        if (json_object_get(msg, "zh")) {
            json_object_set(a, "message_zh", json_object_get(msg, "zh"));
        }
        if (json_object_get(msg, "en")) {
            json_object_set(a, "message_en", json_object_get(msg, "en"));
        }
    }
    json_t *art = json_object_get(a, "article");
    if (json_is_integer(art)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(art));
        json_object_set_new(a, "article", json_string(buf));
    }
    if (json_object_get(d, "why")) {
        json_object_set(a, "why", json_object_get(d, "why"));
    }
}

static void add_history(json_t *a, const char *state, int64_t at_ms, uint64_t seq, const char *by,
                        const char *reason)
{
    json_t *h = json_pack("{s:o, s:I, s:I}", "state", utf8_json_string(state), "at_ms",
                          (json_int_t)at_ms, "seq", (json_int_t)seq);
    json_object_set_new(h, "at", web_time(at_ms));
    if (by) {
        json_object_set_new(h, "by", utf8_json_string(by));
    }
    if (reason) {
        json_object_set_new(h, "reason", utf8_json_string(reason));
    }
    json_array_append_new(json_object_get(a, "history"), h);
    json_object_set_new(a, "state", utf8_json_string(state));
    json_object_set_new(a, "changed_at", web_time(at_ms));
    json_object_set_new(a, "changed_ms", json_integer(at_ms));
}

static void apply_justification(json_t *a, const json_t *j)
{
    add_history(a, "justified", json_integer_value(json_object_get(j, "at_ms")),
                (uint64_t)json_integer_value(json_object_get(j, "seq")), str_or(j, "by", NULL),
                str_or(j, "reason", ""));
    json_object_set(a, "justification", (json_t *)j);
}

/* Unit of a case as its records say (first record with a unit). */
static const char *case_unit(const catalog_t *c, const char *case_id)
{
    size_t n;
    const cat_item_t *it = catalog_items(c, &n);
    for (size_t i = 0; i < n; i++) {
        if (it[i].kind == CAT_RECORD && it[i].unit[0] && strcmp(it[i].case_id, case_id) == 0) {
            return it[i].unit;
        }
    }
    return "";
}

bool api_alerts_feed(web_t *w, uint64_t seq, const Ft__Entry *e, json_t **changed)
{
    *changed = NULL;
    const Ft__Body *b = e->body;
    if (!b || !w->alerts) {
        return false;
    }
    int64_t at = (int64_t)hlc_ms(e->hlc);
    struct alert_view *v = w->alerts;
    json_t *a = NULL;
    /* The unit of the case, for alerts that do not name one (read before
     * the view's lock: the catalog is never read under it). */
    char unit[STORE_NAME_MAX] = "";
    if (b->kind_case == FT__BODY__KIND_ALERT && b->alert->case_id && *b->alert->case_id) {
        catalog_read(w->catalog);
        utf8_copy(unit, sizeof unit, case_unit(w->catalog, b->alert->case_id));
        catalog_done(w->catalog);
    }
    pthread_mutex_lock(&v->lock);
    if (b->kind_case == FT__BODY__KIND_ALERT && b->alert->alert_id) {
        const Ft__AlertEvent *ae = b->alert;
        /* Text from the hub log is shown escaped where it is not valid UTF-8
         * (utf8.h): an alert is never left out of the view for it. */
        a = utf8_json_get(v->alerts, ae->alert_id);
        if (!a) {
            a = json_pack("{s:o, s:o, s:o, s:s, s:s, s:[]}", "id", utf8_json_string(ae->alert_id),
                          "rule", utf8_json_string(ae->rule ? ae->rule : ""), "case",
                          utf8_json_string(ae->case_id ? ae->case_id : ""), "article", "",
                          "severity", "", "history");
            if (a) {
                json_object_set_new(a, "opened_at", web_time(at));
                json_object_set_new(a, "opened_ms", json_integer(at));
            }
            if (!a || utf8_json_set_new(v->alerts, ae->alert_id, a) != FT_OK) {
                log_error("alerts view: alert %.16s (hub log entry %llu) cannot be kept: out of "
                          "memory",
                          ae->alert_id, (unsigned long long)seq);
                pthread_mutex_unlock(&v->lock);
                return false;
            }
        }
        if (ae->detail_json) {
            json_error_t jerr;
            json_t *d = json_loads(ae->detail_json, 0, &jerr);
            if (json_is_object(d)) {
                take_detail(a, d);
            }
            json_decref(d);
        }
        if (ae->case_id && *ae->case_id) {
            json_object_set_new(a, "case", utf8_json_string(ae->case_id));
        }
        const char *have_unit = str_or(a, "unit", "");
        if (!*have_unit && unit[0]) {
            json_object_set_new(a, "unit", utf8_json_string(unit));
        }
        const char *st = ae->state ? ae->state : "open";
        /* Justified is final (RULES.md): a justification the view already
         * applied from the hub log's record is not a second step when the
         * engine reports it too, and later engine events are history only. */
        bool was_justified = strcmp(str_or(a, "state", ""), "justified") == 0;
        if (!(strcmp(st, "justified") == 0 && was_justified)) {
            add_history(a, st, at, seq, NULL, str_or(a, "why", NULL));
        }
        if (was_justified) {
            json_object_set_new(a, "state", json_string("justified"));
        }
        json_t *pend = json_object_get(v->pending, json_string_value(json_object_get(a, "id")));
        if (pend && strcmp(str_or(a, "state", ""), "open") == 0) {
            apply_justification(a, pend);
            json_object_del(v->pending, json_string_value(json_object_get(a, "id")));
        }
    } else if (b->kind_case == FT__BODY__KIND_RECORD &&
               b->record->type == FT__RECORD_TYPE__JUSTIFICATION) {
        const Ft__Record *r = b->record;
        const Ft__FieldValue *fa = record_field(r, "alert");
        const Ft__FieldValue *fr = record_field(r, "reason");
        const char *id = fa && fa->value_case == FT__FIELD_VALUE__VALUE_TEXT ? fa->text : NULL;
        if (id) {
            json_t *j = json_pack(
                "{s:o, s:I, s:I}", "reason",
                utf8_json_string(fr && fr->value_case == FT__FIELD_VALUE__VALUE_TEXT && fr->text
                                     ? fr->text
                                     : ""),
                "seq", (json_int_t)seq, "at_ms", (json_int_t)at);
            if (!j) {
                log_error("alerts view: the justification in hub log entry %llu cannot be kept: "
                          "out of memory",
                          (unsigned long long)seq);
                pthread_mutex_unlock(&v->lock);
                return false;
            }
            json_object_set_new(j, "at", web_time(at));
            if (r->n_officers > 0) {
                json_object_set_new(j, "by", utf8_json_string(r->officers[0]));
            }
            if (r->id) {
                json_object_set_new(j, "record_id", utf8_json_string(r->id));
            }
            a = utf8_json_get(v->alerts, id);
            if (a) {
                apply_justification(a, j);
            } else if (utf8_json_set_new(v->pending, id, json_incref(j)) != FT_OK) {
                log_error("alerts view: the justification in hub log entry %llu cannot be kept: "
                          "out of memory",
                          (unsigned long long)seq);
            }
            json_decref(j);
        }
    }
    if (a) {
        *changed = json_deep_copy(a);
    }
    pthread_mutex_unlock(&v->lock);
    return a != NULL;
}

void api_alerts_each(web_t *w, api_alert_fn fn, void *ctx)
{
    if (!w->alerts) {
        return;
    }
    pthread_mutex_lock(&w->alerts->lock);
    const char *k;
    json_t *a;
    json_object_foreach(w->alerts->alerts, k, a)
    {
        if (strcmp(str_or(a, "state", ""), "open") == 0) {
            fn(ctx, a);
        }
    }
    pthread_mutex_unlock(&w->alerts->lock);
}

void api_alerts_all(web_t *w, api_alert_fn fn, void *ctx)
{
    if (!w->alerts) {
        return;
    }
    pthread_mutex_lock(&w->alerts->lock);
    const char *k;
    json_t *a;
    json_object_foreach(w->alerts->alerts, k, a)
    {
        fn(ctx, a);
    }
    pthread_mutex_unlock(&w->alerts->lock);
}

static int sev_rank(const char *s)
{
    static const char *const order[] = {"critical", "high", "medium", "low", NULL};
    for (int i = 0; order[i]; i++) {
        if (strcmp(order[i], s) == 0) {
            return i;
        }
    }
    return 9;
}

/* Open first, then severity, then newest first. */
static int alert_cmp(const void *x, const void *y)
{
    const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    int oa = strcmp(str_or(a, "state", ""), "open") != 0;
    int ob = strcmp(str_or(b, "state", ""), "open") != 0;
    if (oa != ob) {
        return oa - ob;
    }
    int sa = sev_rank(str_or(a, "severity", "")), sb = sev_rank(str_or(b, "severity", ""));
    if (sa != sb) {
        return sa - sb;
    }
    json_int_t ta = json_integer_value(json_object_get(a, "changed_ms"));
    json_int_t tb = json_integer_value(json_object_get(b, "changed_ms"));
    return ta < tb ? 1 : ta > tb ? -1 : strcmp(str_or(a, "id", ""), str_or(b, "id", ""));
}

static bool match(const char *want, const char *have)
{
    return !want || strcmp(want, have ? have : "") == 0;
}

static bool contains(const char *want, const json_t *a)
{
    if (!want) {
        return true;
    }
    static const char *const keys[] = {"id",         "case",       "subject", "detail",
                                       "message_zh", "message_en", "rule",    NULL};
    for (size_t i = 0; keys[i]; i++) {
        const char *s = str_or(a, keys[i], NULL);
        if (s && strstr(s, want)) {
            return true;
        }
    }
    return false;
}

static void list_alerts(web_req_t *r)
{
    const char *unit = web_query(r, "unit"), *case_id = web_query(r, "case");
    const char *article = web_query(r, "article"), *severity = web_query(r, "severity");
    const char *state = web_query(r, "state"), *q = web_query(r, "q");
    long long limit = web_query_int(r, "limit", 500, 1, 5000);
    json_t *all = json_array();
    json_t *facets = json_pack("{s:{}, s:{}, s:{}, s:{}}", "state", "severity", "article", "unit");
    struct alert_view *v = r->web->alerts;
    catalog_read(r->web->catalog);
    pthread_mutex_lock(&v->lock);
    const char *k;
    json_t *a;
    json_object_foreach(v->alerts, k, a)
    {
        const char *u = str_or(a, "unit", NULL);
        if (!u || !*u) {
            u = case_unit(r->web->catalog, str_or(a, "case", ""));
        }
        json_t *copy = json_deep_copy(a);
        json_object_set_new(copy, "unit", json_string(u));
        json_object_del(copy, "history");
        static const char *const fk[] = {"state", "severity", "article", "unit"};
        for (size_t i = 0; i < 4; i++) {
            json_t *f = json_object_get(facets, fk[i]);
            const char *val = str_or(copy, fk[i], "");
            json_object_set_new(f, val,
                                json_integer(json_integer_value(json_object_get(f, val)) + 1));
        }
        if (match(unit, u) && match(case_id, str_or(a, "case", "")) &&
            match(article, str_or(a, "article", "")) &&
            match(severity, str_or(a, "severity", "")) && match(state, str_or(a, "state", "")) &&
            contains(q, a)) {
            json_array_append_new(all, copy);
        } else {
            json_decref(copy);
        }
    }
    pthread_mutex_unlock(&v->lock);
    catalog_done(r->web->catalog);
    size_t n = json_array_size(all);
    json_t **vec = calloc(n ? n : 1, sizeof *vec);
    if (!vec) {
        json_decref(all);
        json_decref(facets);
        web_error(r, 500, "internal", "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        vec[i] = json_array_get(all, i);
    }
    qsort(vec, n, sizeof *vec, alert_cmp);
    json_t *out = json_array();
    for (size_t i = 0; i < n && (long long)i < limit; i++) {
        json_array_append(out, vec[i]);
    }
    free(vec);
    json_decref(all);
    web_json(r, 200,
             json_pack("{s:o, s:I, s:o}", "alerts", out, "total", (json_int_t)n, "facets", facets));
}

static void get_alert(web_req_t *r)
{
    struct alert_view *v = r->web->alerts;
    pthread_mutex_lock(&v->lock);
    json_t *a = json_object_get(v->alerts, r->args[0]);
    json_t *copy = a ? json_deep_copy(a) : NULL;
    pthread_mutex_unlock(&v->lock);
    if (!copy) {
        web_error(r, 404, "not_found", "no such alert");
        return;
    }
    web_json(r, 200, copy);
}

static void justify(web_req_t *r)
{
    const char *reason = web_body_str(r, "reason");
    if (!reason || strlen(reason) < 4 || strlen(reason) > 4000) {
        web_error(r, 400, "bad_request", "a justification needs a reason (4 to 4000 bytes)");
        return;
    }
    struct alert_view *v = r->web->alerts;
    pthread_mutex_lock(&v->lock);
    json_t *a = json_object_get(v->alerts, r->args[0]);
    char state[32] = "", case_id[256] = "";
    if (a) {
        utf8_copy(state, sizeof state, str_or(a, "state", ""));
        utf8_copy(case_id, sizeof case_id, str_or(a, "case", ""));
    }
    pthread_mutex_unlock(&v->lock);
    if (!a) {
        web_error(r, 404, "not_found", "no such alert");
        return;
    }
    if (strcmp(state, "justified") == 0) {
        web_error(r, 409, "already_justified", "this alert is already justified");
        return;
    }
    int64_t now = (int64_t)hlc_wall_ms();
    char rec_id[96];
    snprintf(rec_id, sizeof rec_id, "justification-%s-%lld", r->args[0], (long long)now);
    Ft__FieldValue f_alert = FT__FIELD_VALUE__INIT, f_reason = FT__FIELD_VALUE__INIT;
    f_alert.key = "alert";
    f_alert.value_case = FT__FIELD_VALUE__VALUE_TEXT;
    f_alert.text = r->args[0];
    f_reason.key = "reason";
    f_reason.value_case = FT__FIELD_VALUE__VALUE_TEXT;
    f_reason.text = (char *)reason;
    Ft__FieldValue *fields[] = {&f_alert, &f_reason};
    Ft__Time t = FT__TIME__INIT;
    t.unix_ms = now;
    char *officers[] = {r->session.user};
    Ft__Record rec = FT__RECORD__INIT;
    rec.type = FT__RECORD_TYPE__JUSTIFICATION;
    rec.id = rec_id;
    rec.case_id = case_id[0] ? case_id : NULL;
    rec.time = &t;
    rec.n_officers = 1;
    rec.officers = officers;
    rec.n_fields = 2;
    rec.fields = fields;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_RECORD;
    body.record = &rec;
    uint64_t seq = 0;
    int err = web_audit(r, "justify_alert", r->args[0], reason);
    if (err == FT_OK) {
        err = devlog_append1(r->web->hub->hublog, &body, &seq);
    }
    if (err != FT_OK) {
        web_error(r, 500, "hublog", "the justification cannot be written to the hub log");
        return;
    }
    log_info("alert %s justified by %s (hub log seq %llu)", r->args[0], r->session.user,
             (unsigned long long)seq);
    web_json(r, 200,
             json_pack("{s:s, s:s, s:I, s:s}", "alert", r->args[0], "state", "justified",
                       "hublog_seq", (json_int_t)seq, "record_id", rec_id));
}

const web_route_t api_alerts_routes[] = {
    {"GET", "/api/alerts", ROLE_STAFF, list_alerts},
    {"GET", "/api/alerts/*", ROLE_STAFF, get_alert},
    {"POST", "/api/alerts/*/justify", ROLE_SUPERVISOR, justify},
    {NULL, NULL, ROLE_NONE, NULL},
};
