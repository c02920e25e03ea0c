/* api_alerts.c: gap alerts as the hub's own log tells them, and their
 * justification by a supervisor.
 *
 *   GET  /api/alerts?unit=&case=&officer=&article=&severity=&state=&q=&group=
 *                   &offset=&limit=
 *                                   a page of the alerts that match, the true
 *                                   total, facets, and with group=case or
 *                                   officer the groups with their counts; each
 *                                   alert with its officers, vehicles and the
 *                                   activity it concerns (from the catalog)
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

/* The order of the list (docs/api.md "Alerts"): with every state listed,
 * open ones first; then the most severe; then the gap due longest ago;
 * then by ID, so that pages do not shift. */
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
    json_t *da = json_object_get(a, "due_at_ms"), *db = json_object_get(b, "due_at_ms");
    json_int_t ta =
        da ? json_integer_value(da) : json_integer_value(json_object_get(a, "opened_ms"));
    json_int_t tb =
        db ? json_integer_value(db) : json_integer_value(json_object_get(b, "opened_ms"));
    if (ta != tb) {
        return ta < tb ? -1 : 1;
    }
    return strcmp(str_or(a, "id", ""), str_or(b, "id", ""));
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
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(a, "officers"), i, v)
    {
        if (strstr(json_string_value(v), want)) {
            return true;
        }
    }
    json_array_foreach(json_object_get(a, "vehicles"), i, v)
    {
        if (strstr(json_string_value(v), want)) {
            return true;
        }
    }
    return false;
}

/* Adds each name of a ", "-joined list to the array set (once). */
static void add_names(json_t *set, const char *list)
{
    char *copy = list ? strdup(list) : NULL, *save = NULL;
    for (char *o = copy ? strtok_r(copy, ", ", &save) : NULL; o; o = strtok_r(NULL, ", ", &save)) {
        bool have = false;
        size_t i;
        json_t *v;
        json_array_foreach(set, i, v)
        {
            have = have || strcmp(json_string_value(v), o) == 0;
        }
        if (!have) {
            json_array_append_new(set, json_string(o));
        }
    }
    free(copy);
}

static void add_vehicle(json_t *set, const json_t *vehicles, const char *device)
{
    const char *plate = device ? json_string_value(json_object_get(vehicles, device)) : NULL;
    if (plate && *plate) {
        add_names(set, plate);
    }
}

/* What a supervisor needs beside the alert (a copy, catalog read-locked):
 * the officers of the records or media it concerns, the vehicles (plates)
 * that recorded them, and the activity: its ref, type and when it
 * happened (corrected time). */
static void enrich(json_t *a, const catalog_t *cat, const json_t *vehicles)
{
    json_t *officers = json_array(), *plates = json_array(), *activity = NULL;
    static const char *const lists[] = {"records", "media"};
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *ref;
        json_array_foreach(json_object_get(a, lists[l]), i, ref)
        {
            const cat_item_t *it = catalog_find(cat, json_string_value(ref));
            if (!it) {
                continue;
            }
            add_names(officers, it->officers);
            add_vehicle(plates, vehicles, it->device);
            if (!activity ||
                (it->activity && !json_is_true(json_object_get(activity, "activity")))) {
                json_decref(activity);
                activity = json_pack("{s:s, s:s, s:b, s:I, s:I, s:I}", "ref", it->ref, "type",
                                     it->type ? it->type : "", "activity", it->activity, "time_ms",
                                     (json_int_t)it->time_ms, "start_ms", (json_int_t)it->start_ms,
                                     "end_ms", (json_int_t)it->end_ms);
                json_object_set_new(activity, "kind",
                                    json_string(it->kind == CAT_MEDIA ? "media" : "record"));
                if (it->case_id[0]) {
                    json_object_set_new(activity, "case", utf8_json_string(it->case_id));
                }
            }
        }
    }
    add_vehicle(plates, vehicles, str_or(a, "device", NULL));
    json_object_set_new(a, "officers", officers);
    json_object_set_new(a, "vehicles", plates);
    json_object_set_new(a, "activity", activity ? activity : json_null());
}

/* What list_alerts gathers from the view. */
typedef struct {
    const char *unit, *case_id, *article, *severity, *state, *q, *officer;
    const catalog_t *catalog; /* read-locked by list_alerts */
    const json_t *vehicles;   /* device ID -> plate */
    bool enrich_all;          /* officer, q or group asked: every alert now, else the page */
    json_t *all;              /* the alerts that match (copies, without history) */
    json_t *facets;           /* counts by state, severity, article and unit */
} listing_t;

/* A copy of the alert without its history (the list does not show it). */
static json_t *copy_row(const json_t *a)
{
    json_t *copy = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)a, k, v)
    {
        if (strcmp(k, "history") != 0) {
            json_object_set_new(copy, k, json_deep_copy(v));
        }
    }
    return copy;
}

/* officer "-": the alerts that name no officer. */
static bool has_officer(const json_t *a, const char *officer)
{
    if (strcmp(officer, "-") == 0) {
        return json_array_size(json_object_get(a, "officers")) == 0;
    }
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(a, "officers"), i, v)
    {
        if (strcmp(json_string_value(v), officer) == 0) {
            return true;
        }
    }
    return false;
}

static void list_one(void *ctx, const json_t *a)
{
    listing_t *l = ctx;
    const char *u = str_or(a, "unit", NULL);
    if (!u || !*u) {
        u = alertview_case_unit(l->catalog, str_or(a, "case", ""));
    }
    static const char *const fk[] = {"state", "severity", "article", "unit"};
    for (size_t i = 0; i < 4; i++) {
        json_t *f = json_object_get(l->facets, fk[i]);
        const char *val = i == 3 ? u : str_or(a, fk[i], "");
        json_object_set_new(f, val, json_integer(json_integer_value(json_object_get(f, val)) + 1));
    }
    if (!(match(l->unit, u) && match(l->case_id, str_or(a, "case", "")) &&
          match(l->article, str_or(a, "article", "")) &&
          match(l->severity, str_or(a, "severity", "")) &&
          match(l->state, str_or(a, "state", "")))) {
        return;
    }
    json_t *copy = copy_row(a);
    json_object_set_new(copy, "unit", json_string(u));
    if (l->enrich_all) {
        enrich(copy, l->catalog, l->vehicles);
    }
    if ((l->officer && !has_officer(copy, l->officer)) || !contains(l->q, copy)) {
        json_decref(copy);
        return;
    }
    json_array_append_new(l->all, copy);
}

static int vehicle_of(void *ctx, const store_device_t *d)
{
    char id[DEVID_TEXT_SIZE];
    devid_format(d->device, id);
    json_object_set_new(ctx, id, utf8_json_string(d->vehicle));
    return 0;
}

/* Device ID -> vehicle plate, from the enrolments. */
static json_t *vehicles_json(const web_shared_t *sh)
{
    json_t *v = json_object();
    store_txn_t *t = NULL;
    if (store_begin(sh->hub->store, false, &t) == FT_OK) {
        (void)store_device_iter(t, vehicle_of, v);
    }
    store_abort(&t);
    return v;
}

/* Groups of the matching alerts by case or by officer (an alert counts for
 * each of its officers; "" for none): {key, count, by severity}, the group
 * with the most severe and most alerts first. */
static json_t *groups_of(json_t *const *vec, size_t n, const char *by)
{
    json_t *g = json_object();
    for (size_t i = 0; i < n; i++) {
        json_t *keys = json_array();
        if (strcmp(by, "case") == 0) {
            json_array_append_new(keys, json_string(str_or(vec[i], "case", "")));
        } else {
            json_array_extend(keys, json_object_get(vec[i], "officers"));
            if (json_array_size(keys) == 0) {
                json_array_append_new(keys, json_string(""));
            }
        }
        size_t k;
        json_t *key;
        json_array_foreach(keys, k, key)
        {
            const char *name = json_string_value(key);
            json_t *row = json_object_get(g, name);
            if (!row) {
                row = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "key", name, "count",
                                (json_int_t)0, "critical", (json_int_t)0, "high", (json_int_t)0,
                                "medium", (json_int_t)0, "low", (json_int_t)0);
                json_object_set_new(g, name, row);
            }
            json_object_set_new(
                row, "count", json_integer(json_integer_value(json_object_get(row, "count")) + 1));
            const char *sev = str_or(vec[i], "severity", "low");
            if (json_object_get(row, sev)) {
                json_object_set_new(
                    row, sev, json_integer(json_integer_value(json_object_get(row, sev)) + 1));
            }
        }
        json_decref(keys);
    }
    json_t *out = json_array();
    const char *k;
    json_t *row;
    json_object_foreach(g, k, row)
    {
        json_array_append(out, row);
    }
    json_decref(g);
    return out;
}

static int group_cmp(const void *x, const void *y)
{
    const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    static const char *const sev[] = {"critical", "high", "medium", "low"};
    for (size_t i = 0; i < 4; i++) {
        json_int_t na = json_integer_value(json_object_get(a, sev[i]));
        json_int_t nb = json_integer_value(json_object_get(b, sev[i]));
        if ((na > 0) != (nb > 0)) {
            return na > 0 ? -1 : 1;
        }
        if (na > 0) {
            break;
        }
    }
    json_int_t ca = json_integer_value(json_object_get(a, "count"));
    json_int_t cb = json_integer_value(json_object_get(b, "count"));
    if (ca != cb) {
        return ca > cb ? -1 : 1;
    }
    return strcmp(str_or(a, "key", ""), str_or(b, "key", ""));
}

static json_t *sorted_groups(json_t *groups)
{
    size_t n = json_array_size(groups);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    if (!v) {
        return groups;
    }
    for (size_t i = 0; i < n; i++) {
        v[i] = json_array_get(groups, i);
    }
    qsort(v, n, sizeof *v, group_cmp);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append(out, v[i]);
    }
    free(v);
    json_decref(groups);
    return out;
}

static void list_alerts(web_req_t *r)
{
    const char *group = web_query(r, "group");
    if (group && strcmp(group, "case") != 0 && strcmp(group, "officer") != 0) {
        web_error(r, 400, "bad_request", "group is case or officer");
        return;
    }
    json_t *vehicles = vehicles_json(r->sh);
    listing_t l = {
        .unit = web_query(r, "unit"),
        .case_id = web_query(r, "case"),
        .article = web_query(r, "article"),
        .severity = web_query(r, "severity"),
        .state = web_query(r, "state"),
        .q = web_query(r, "q"),
        .officer = web_query(r, "officer"),
        .catalog = r->sh->catalog,
        .vehicles = vehicles,
        .enrich_all = group || web_query(r, "officer") || web_query(r, "q"),
        .all = json_array(),
        .facets = json_pack("{s:{}, s:{}, s:{}, s:{}}", "state", "severity", "article", "unit")};
    long long limit = web_query_int(r, "limit", 100, 1, 5000);
    long long offset = web_query_int(r, "offset", 0, 0, INT32_MAX);
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
    if (!l.enrich_all) {
        catalog_read(r->sh->catalog);
    }
    for (size_t i = (size_t)offset; i < n && (long long)i < offset + limit; i++) {
        if (!l.enrich_all) { /* only the page shows who, which vehicle and when */
            enrich(vec[i], r->sh->catalog, vehicles);
        }
        json_array_append(out, vec[i]);
    }
    if (!l.enrich_all) {
        catalog_done(r->sh->catalog);
    }
    json_decref(vehicles);
    json_t *o =
        json_pack("{s:o, s:I, s:I, s:I, s:o}", "alerts", out, "total", (json_int_t)n, "offset",
                  (json_int_t)offset, "limit", (json_int_t)limit, "facets", facets);
    if (group) {
        json_object_set_new(o, "group", json_string(group));
        json_object_set_new(o, "groups", sorted_groups(groups_of(vec, n, group)));
    }
    free(vec);
    json_decref(all);
    web_json(r, 200, o);
}

static void get_alert(web_req_t *r)
{
    json_t *copy = alertview_get(r->sh->alerts, r->args[0]);
    if (!copy) {
        web_error(r, 404, "not_found", "no such alert");
        return;
    }
    json_t *vehicles = vehicles_json(r->sh);
    catalog_read(r->sh->catalog);
    enrich(copy, r->sh->catalog, vehicles);
    catalog_done(r->sh->catalog);
    json_decref(vehicles);
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
