/* api_alerts.c: gap alerts as the hub's own log tells them, and their
 * justification by a supervisor.
 *
 *   GET  /api/alerts?unit=&case=&article=&severity=&state=&q=&limit=
 *   GET  /api/alerts/ID             one alert with its history
 *   POST /api/alerts/ID/justify     (supervisor) {reason}
 *
 * The alerts are the shared alert view's (hub/views/alertview.h: built from
 * the hub log, not from the gap engine's tables). A justification is a
 * `justification` record signed into the hub log (after its audit entry);
 * the view and the gap engine both read it from there. Whether a
 * justification would change anything is alert_transition's answer
 * (hub/gaps/alertstate.h): one that would not (the alert is justified
 * already) is refused with 409. No state of its own.
 */
#include "alertstate.h"
#include "api_alerts.h"
#include "hlc.h"
#include "logging.h"
#include "record.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str_or(const json_t *o, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : def;
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

/* What list_alerts gathers from the view. */
typedef struct {
    const char *unit, *case_id, *article, *severity, *state, *q;
    const catalog_t *catalog; /* read-locked by list_alerts */
    json_t *all;              /* the alerts that match (copies, without history) */
    json_t *facets;           /* counts by state, severity, article and unit */
} listing_t;

static void list_one(void *ctx, const json_t *a)
{
    listing_t *l = ctx;
    const char *u = str_or(a, "unit", NULL);
    if (!u || !*u) {
        u = alertview_case_unit(l->catalog, str_or(a, "case", ""));
    }
    json_t *copy = json_deep_copy(a);
    json_object_set_new(copy, "unit", json_string(u));
    json_object_del(copy, "history");
    static const char *const fk[] = {"state", "severity", "article", "unit"};
    for (size_t i = 0; i < 4; i++) {
        json_t *f = json_object_get(l->facets, fk[i]);
        const char *val = str_or(copy, fk[i], "");
        json_object_set_new(f, val, json_integer(json_integer_value(json_object_get(f, val)) + 1));
    }
    if (match(l->unit, u) && match(l->case_id, str_or(a, "case", "")) &&
        match(l->article, str_or(a, "article", "")) &&
        match(l->severity, str_or(a, "severity", "")) && match(l->state, str_or(a, "state", "")) &&
        contains(l->q, a)) {
        json_array_append_new(l->all, copy);
    } else {
        json_decref(copy);
    }
}

static void list_alerts(web_req_t *r)
{
    listing_t l = {
        .unit = web_query(r, "unit"),
        .case_id = web_query(r, "case"),
        .article = web_query(r, "article"),
        .severity = web_query(r, "severity"),
        .state = web_query(r, "state"),
        .q = web_query(r, "q"),
        .catalog = r->sh->catalog,
        .all = json_array(),
        .facets = json_pack("{s:{}, s:{}, s:{}, s:{}}", "state", "severity", "article", "unit")};
    long long limit = web_query_int(r, "limit", 500, 1, 5000);
    catalog_read(r->sh->catalog); /* lock order: catalog, then the view */
    alertview_each(r->sh->alerts, false, list_one, &l);
    catalog_done(r->sh->catalog);
    json_t *all = l.all, *facets = l.facets;
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
    json_t *copy = alertview_get(r->sh->alerts, r->args[0]);
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
    json_t *a = alertview_get(r->sh->alerts, r->args[0]);
    if (!a) {
        web_error(r, 404, "not_found", "no such alert");
        return;
    }
    char case_id[256] = "";
    utf8_copy(case_id, sizeof case_id, str_or(a, "case", ""));
    alert_facts_t facts = alert_row_facts(a, false);
    alert_state next;
    alert_step step = alert_transition(alert_row_state(a), ALERT_JUSTIFY, &facts, &next);
    json_decref(a);
    if (step != ALERT_MOVE) {
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
        err = devlog_append1(r->sh->hub->hublog, &body, &seq);
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

static const web_route_t routes[] = {
    {"GET", "/api/alerts", ROLE_STAFF, list_alerts, 0},
    {"GET", "/api/alerts/*", ROLE_STAFF, get_alert, 0},
    {"POST", "/api/alerts/*/justify", ROLE_SUPERVISOR, justify, 0},
    {NULL, NULL, ROLE_NONE, NULL, 0},
};

const web_module_t api_alerts_module = {
    .name = "alerts",
    .routes = routes,
};
