/* uiapi.c: the screen's JSON API (docs/vehicle.md "The screen's API").
 *
 *   POST /api/login   {officer, pin}: signs an officer in (a new session, or
 *                     one more officer on this screen's session)
 *   POST /api/logout  {officer?}: signs one officer out, or all
 *   GET  /api/me      the session's officers, the device, the rules judged by
 *   GET  /api/types   the record contract: every type, its article, whether
 *                     it is an activity and needs a case, its fields
 *   GET  /api/today?from=MS&to=MS   recorders out, the day's activities,
 *                     records, clips and alerts, what waits for the hub
 *   GET  /api/cases   cases, the most recently touched first
 *   GET  /api/clips?from=MS&to=MS   clips captured in that window
 *   GET  /api/case?id=CASE          one case judged now
 *   GET  /api/record?id=ID          one record (for a correction)
 *   POST /api/records {record}      imports one record (recimport_json)
 * Every answer is JSON; a refused record is 422 {error, message, field}
 * with the import's own words.
 */
#include "hlc.h"
#include "logging.h"
#include "recimport.h"
#include "record.h"
#include "uiint.h"
#include "utf8.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *officers_json(const ui_session_t *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->n_officers; i++) {
        json_array_append_new(a, json_pack("{s:s, s:o}", "id", s->officers[i].id, "name",
                                           utf8_json_string(s->officers[i].name)));
    }
    return a;
}

/* The rules in force: {from: "hub"|"default", note: why the hub's pack is
 * not used, or ""}; under ui->lock. */
static json_t *rules_json(ui_t *ui)
{
    (void)ui_pack(ui);
    return json_pack("{s:s, s:o}", "from", ui->pack_from, "note", utf8_json_string(ui->pack_note));
}

static json_t *me_json(ui_req_t *r)
{
    ui_t *ui = r->ui;
    pthread_mutex_lock(&ui->lock);
    json_t *pack = rules_json(ui);
    pthread_mutex_unlock(&ui->lock);
    return json_pack("{s:o, s:s, s:s, s:o, s:o, s:o, s:I}", "officers",
                     r->logged_in ? officers_json(&r->session) : json_array(), "csrf",
                     r->logged_in ? r->session.csrf : "", "device", ui->device, "unit",
                     ui->o.unit ? utf8_json_string(ui->o.unit) : json_null(), "vehicle",
                     ui->o.vehicle ? utf8_json_string(ui->o.vehicle) : json_null(), "rules", pack,
                     "now_ms", (json_int_t)ui_now(ui));
}

/* ---- signing in and out ---- */

static void login(ui_req_t *r)
{
    const char *id = ui_body_str(r, "officer");
    const char *pin = ui_body_str(r, "pin");
    if (!id || !pin) {
        ui_error(r, 400, "bad_request", "officer and pin are needed");
        return;
    }
    if (r->logged_in && r->session.n_officers >= UI_MAX_OFFICERS) {
        bool already = false;
        for (size_t i = 0; i < r->session.n_officers; i++) {
            already = already || strcmp(r->session.officers[i].id, id) == 0;
        }
        if (!already) {
            ui_error(r, 409, "too_many", "four officers are signed in on this screen already");
            return;
        }
    }
    officer_t o;
    int64_t wait_ms = 0;
    bool locked_now = false;
    int err = officers_check(r->ui->state, id, pin, ui_now(r->ui), &o, &wait_ms, &locked_now);
    if (err == FT_EAGAIN || (err == FT_EKEY && locked_now)) {
        if (locked_now) {
            char detail[96];
            snprintf(detail, sizeof detail, "too many wrong PINs: locked for %lld s",
                     (long long)((wait_ms + 999) / 1000));
            (void)ui_audit(r->ui, id, "officer_locked", id, detail);
        }
        char msg[160];
        snprintf(msg, sizeof msg, "too many wrong PINs: try again in %lld s",
                 (long long)((wait_ms + 999) / 1000));
        json_t *body = json_pack("{s:s, s:s, s:I}", "error", "locked", "message", msg, "wait_s",
                                 (json_int_t)((wait_ms + 999) / 1000));
        ui_reply(r, 429, body);
        return;
    }
    if (err == FT_EKEY) {
        ui_error(r, 401, "wrong_pin", "unknown officer ID or wrong PIN");
        return;
    }
    if (err != FT_OK) {
        log_error("screen: cannot check a sign-in: %s", ft_strerror(err));
        ui_error(r, 500, "internal", ft_strerror(err));
        return;
    }
    /* the sign-in is in the signed log before the screen opens */
    if (ui_audit(r->ui, o.id, "officer_signin", o.id, "screen") != FT_OK) {
        ui_error(r, 500, "log", "cannot write the sign-in to the log");
        return;
    }
    if (r->logged_in) {
        if (ui_session_add(r, &o) != FT_OK) {
            ui_error(r, 409, "too_many", "four officers are signed in on this screen already");
            return;
        }
    } else if (ui_session_new(r, &o) != FT_OK) {
        ui_error(r, 500, "internal", "cannot start a session");
        return;
    }
    ui_reply(r, 200, me_json(r));
}

static void logout(ui_req_t *r)
{
    const char *id = ui_body_str(r, "officer");
    for (size_t i = 0; i < r->session.n_officers; i++) {
        const char *who = r->session.officers[i].id;
        if (!id || strcmp(id, who) == 0) {
            (void)ui_audit(r->ui, who, "officer_signout", who, "screen");
        }
    }
    ui_session_remove(r, id);
    ui_reply(r, 200, me_json(r));
}

static void me(ui_req_t *r)
{
    ui_reply(r, 200, me_json(r));
}

/* ---- the record contract ---- */

static void types(ui_req_t *r)
{
    ui_t *ui = r->ui;
    pthread_mutex_lock(&ui->lock);
    const rulepack_t *pack = ui_pack(ui);
    const rule_t *fields_rule = rules_find_kind(pack, RULE_FIELDS);
    const rule_t *ready = rules_find_kind(pack, RULE_READINESS);
    json_t *out = json_array();
    for (int t = 1; out; t++) {
        const char *name = record_type_name((Ft__RecordType)t);
        if (!name) {
            break;
        }
        json_t *fields = json_array(), *required = json_array();
        for (const char *const *k = record_type_fields((Ft__RecordType)t); *k; k++) {
            json_array_append_new(fields, json_string(*k));
        }
        /* what the pack's fields rule asks (an office may replace the list) */
        if (fields_rule && type_set_has(&fields_rule->applies_to, (Ft__RecordType)t)) {
            for (const char *const *k = rule_fields_for(fields_rule, (Ft__RecordType)t); k && *k;
                 k++) {
                json_array_append_new(required, json_string(*k));
            }
        }
        json_array_append_new(out,
                              json_pack("{s:s, s:s, s:b, s:b, s:o, s:o}", "type", name, "article",
                                        record_type_article((Ft__RecordType)t), "activity",
                                        record_type_is_activity((Ft__RecordType)t), "needs_case",
                                        record_type_needs_case((Ft__RecordType)t), "fields", fields,
                                        "required", required));
    }
    json_t *limits = json_pack(
        "{s:o, s:o}", "min_battery", ready ? json_integer(ready->min_battery_pct) : json_null(),
        "min_free_mb", ready ? json_integer(ready->min_free_mb) : json_null());
    pthread_mutex_unlock(&ui->lock);
    ui_reply(r, 200, json_pack("{s:o, s:o}", "types", out, "readiness", limits));
}

/* ---- what the vehicle holds ---- */

static json_t *status_of(ui_t *ui)
{
    json_t *st = ui->o.prov.status ? ui->o.prov.status(ui->o.prov.ctx) : NULL;
    return st ? st : json_object();
}

/* Marks each clip with what the hub has of it: "sending" (and how far) while
 * the media status lists it, else "at_hub". */
static void clip_states(json_t *clips, const json_t *status)
{
    const json_t *transfers = json_object_get(json_object_get(status, "media"), "transfers");
    size_t i, k;
    json_t *c, *t;
    json_array_foreach(clips, i, c)
    {
        const char *id = json_string_value(json_object_get(c, "media_id"));
        json_t *found = NULL;
        json_array_foreach(transfers, k, t)
        {
            if (id && strcmp(id, json_string_value(json_object_get(t, "file_id"))) == 0) {
                found = t;
            }
        }
        json_object_set_new(c, "hub", json_string(found || !transfers ? "waiting" : "at_hub"));
        if (found) {
            json_object_set(c, "sent_bytes", json_object_get(found, "sent_bytes"));
        }
    }
}

static void today(ui_req_t *r)
{
    ui_t *ui = r->ui;
    int64_t now = ui_now(ui);
    int64_t from = ui_query_int(r, "from", now - 86400000LL);
    int64_t to = ui_query_int(r, "to", now + 1);
    pthread_mutex_lock(&ui->lock);
    json_t *o = vehview_today(ui->view, ui_pack(ui), from, to, now);
    json_t *rules = rules_json(ui);
    pthread_mutex_unlock(&ui->lock);
    if (!o) {
        json_decref(rules);
        ui_error(r, 500, "internal", "cannot read the log");
        return;
    }
    json_object_set_new(o, "rules", rules);
    json_t *st = status_of(ui);
    clip_states(json_object_get(o, "clips"), st);
    json_object_set_new(o, "status", st);
    json_object_set_new(o, "now_ms", json_integer(now));
    ui_reply(r, 200, o);
}

static void cases(ui_req_t *r)
{
    json_t *o = vehview_cases(r->ui->view, (size_t)ui_query_int(r, "max", 50));
    ui_reply(r, o ? 200 : 500, o);
}

static void clips(ui_req_t *r)
{
    json_t *o = vehview_clips(r->ui->view, ui_query_int(r, "from", 0), ui_query_int(r, "to", 0));
    if (o) {
        json_t *st = status_of(r->ui);
        clip_states(o, st);
        json_decref(st);
    }
    ui_reply(r, o ? 200 : 500, o);
}

static void one_case(ui_req_t *r)
{
    const char *id = ui_query(r, "id");
    if (!id) {
        ui_error(r, 400, "bad_request", "id is needed");
        return;
    }
    ui_t *ui = r->ui;
    bool found = false;
    pthread_mutex_lock(&ui->lock);
    json_t *o = vehview_case(ui->view, ui_pack(ui), id, ui_now(ui), &found);
    pthread_mutex_unlock(&ui->lock);
    if (!o) {
        if (found) {
            ui_error(r, 500, "internal", "cannot read the log");
        } else {
            ui_error(r, 404, "not_found", "this vehicle holds nothing of that case");
        }
        return;
    }
    json_t *st = status_of(ui);
    clip_states(json_object_get(o, "clips"), st);
    json_decref(st);
    json_object_set_new(o, "now_ms", json_integer(ui_now(ui)));
    ui_reply(r, 200, o);
}

static void one_record(ui_req_t *r)
{
    const char *id = ui_query(r, "id");
    json_t *o = id ? vehview_record(r->ui->view, id) : NULL;
    if (!o) {
        ui_error(r, 404, "not_found", "no record with that id on this vehicle");
        return;
    }
    ui_reply(r, 200, o);
}

/* ---- making a record ---- */

/* A new record id: DEVICE-PREFIX-YYYYMMDD-HHMMSS-RANDOM (UTC). */
static void new_id(ui_t *ui, char *out, size_t len)
{
    char t[48];
    rfc3339_format(ui_now(ui), 0, t, sizeof t);
    uint8_t rnd[3];
    randombytes_buf(rnd, sizeof rnd);
    snprintf(out, len, "%.4s-%.4s%.2s%.2s-%.2s%.2s%.2s-%02x%02x%02x", ui->device, t, t + 5, t + 8,
             t + 11, t + 14, t + 17, rnd[0], rnd[1], rnd[2]);
}

static bool in_list(const json_t *arr, const char *s)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        if (json_is_string(x) && strcmp(json_string_value(x), s) == 0) {
            return true;
        }
    }
    return false;
}

static void make_record(ui_req_t *r)
{
    ui_t *ui = r->ui;
    json_t *in = json_object_get(r->body, "record");
    if (!json_is_object(in)) {
        ui_error(r, 400, "bad_request", "the body must be {\"record\": {...}}");
        return;
    }
    json_t *rec = json_deep_copy(in);
    if (!rec) {
        ui_error(r, 500, "internal", "out of memory");
        return;
    }
    /* It names the signed-in officers (and, for a correction, those of the
     * record it corrects): the screen never records for someone else. */
    json_t *officers = json_array();
    for (size_t i = 0; i < r->session.n_officers; i++) {
        json_array_append_new(officers, json_string(r->session.officers[i].id));
    }
    const char *amends = json_string_value(json_object_get(rec, "amends"));
    if (amends) {
        json_t *before = vehview_record_officers(ui->view, amends);
        size_t i;
        json_t *x;
        json_array_foreach(before, i, x)
        {
            if (!in_list(officers, json_string_value(x))) {
                json_array_append(officers, x);
            }
        }
        json_decref(before);
    }
    json_object_set_new(rec, "officers", officers);
    const char *type = json_string_value(json_object_get(rec, "type"));
    json_t *fields = json_object_get(rec, "fields");
    if (type && (strcmp(type, "recorder_checkout") == 0 || strcmp(type, "recorder_return") == 0) &&
        json_is_object(fields) && !json_object_get(fields, "officer")) {
        json_object_set_new(fields, "officer", json_string(r->session.officers[0].id));
    }
    if (!json_object_get(rec, "id")) {
        char id[96];
        new_id(ui, id, sizeof id);
        json_object_set_new(rec, "id", json_string(id));
    }
    recimport_result_t res;
    int err = recimport_json(ui->o.log, rec, ui->o.unit, &res);
    if (err != FT_OK) {
        json_decref(rec);
        log_error("screen: cannot store a record: %s", ft_strerror(err));
        ui_error(r, 500, "log", ft_strerror(err));
        return;
    }
    if (res.outcome == RECIMPORT_REJECTED) {
        json_decref(rec);
        ui_reply(r, 422,
                 json_pack("{s:s, s:s, s:s}", "error", "rejected", "message", res.reason, "field",
                           res.field));
        return;
    }
    int64_t now = ui_now(ui);
    pthread_mutex_lock(&ui->lock);
    json_t *alerts = vehview_unit_alerts(ui->view, ui_pack(ui), res.seq, now);
    pthread_mutex_unlock(&ui->lock);
    json_t *body =
        json_pack("{s:s, s:I, s:O, s:O, s:o}", "outcome",
                  res.outcome == RECIMPORT_STORED ? "stored" : "duplicate", "seq",
                  (json_int_t)res.seq, "id", json_object_get(rec, "id"), "case",
                  json_object_get(rec, "case") ? json_object_get(rec, "case") : json_null(),
                  "alerts", alerts ? alerts : json_array());
    json_decref(rec);
    ui_reply(r, 200, body);
}

const ui_route_t ui_routes[] = {
    {"POST", "/api/login", false, login},
    {"POST", "/api/logout", true, logout},
    {"GET", "/api/me", false, me},
    {"GET", "/api/types", true, types},
    {"GET", "/api/today", true, today},
    {"GET", "/api/cases", true, cases},
    {"GET", "/api/clips", true, clips},
    {"GET", "/api/case", true, one_case},
    {"GET", "/api/record", true, one_record},
    {"POST", "/api/records", true, make_record},
    {NULL, NULL, false, NULL},
};
