/* alertview.c: gap alerts as the hub log tells them (see alertview.h).
 *
 * Per alert event (an AlertEvent entry's, or each of an AlertEvents entry's
 * in order): the alert is found or made (its first event makes it, in
 * the state that event reports), its fields are refreshed from the event,
 * the event is one history step (unless it reports a justification the view
 * already applied from the log's record), and the state becomes what
 * alert_transition makes of the event. A justification held for the alert
 * is then applied if the machine lets it. Per justification record: the
 * machine says whether it justifies a known alert, is held for an unknown
 * one, or changes nothing (the first counts).
 */
#include "alertview.h"
#include "alertstate.h"
#include "entry.h"
#include "hlc.h"
#include "itemjson.h"
#include "logging.h"
#include "record.h"
#include "utf8.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct alertview_t {
    pthread_mutex_t lock;
    json_t *alerts;  /* id -> alert object */
    json_t *pending; /* alert id -> justification that came before the alert */
};

int alertview_new(alertview_t **out)
{
    *out = NULL;
    alertview_t *v = calloc(1, sizeof *v);
    if (!v) {
        return FT_ENOMEM;
    }
    v->alerts = json_object();
    v->pending = json_object();
    if (!v->alerts || !v->pending) {
        json_decref(v->alerts);
        json_decref(v->pending);
        free(v);
        return FT_ENOMEM;
    }
    pthread_mutex_init(&v->lock, NULL);
    *out = v;
    return FT_OK;
}

void alertview_destroy(alertview_t **v_p)
{
    alertview_t *v = *v_p;
    if (!v) {
        return;
    }
    json_decref(v->alerts);
    json_decref(v->pending);
    pthread_mutex_destroy(&v->lock);
    free(v);
    *v_p = NULL;
}

static const char *str_or(const json_t *o, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : def;
}

const char *alertview_case_unit(const catalog_t *c, const char *case_id)
{
    size_t n;
    const cat_item_t *it = catalog_items(c, &n);
    for (size_t i = 0; case_id && i < n; i++) {
        if (it[i].kind == CAT_RECORD && it[i].unit[0] && strcmp(it[i].case_id, case_id) == 0) {
            return it[i].unit;
        }
    }
    return "";
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

/* One step of the history; the state is set by the caller. */
static void add_history(json_t *a, const char *state, int64_t at_ms, uint64_t seq, const char *by,
                        const char *reason)
{
    json_t *h = json_pack("{s:o, s:I, s:I}", "state", utf8_json_string(state), "at_ms",
                          (json_int_t)at_ms, "seq", (json_int_t)seq);
    json_object_set_new(h, "at", view_time_json(at_ms));
    if (by) {
        json_object_set_new(h, "by", utf8_json_string(by));
    }
    if (reason) {
        json_object_set_new(h, "reason", utf8_json_string(reason));
    }
    json_array_append_new(json_object_get(a, "history"), h);
    json_object_set_new(a, "changed_at", view_time_json(at_ms));
    json_object_set_new(a, "changed_ms", json_integer(at_ms));
}

static void set_state(json_t *a, alert_state s)
{
    json_object_set_new(a, "state", json_string(alert_state_name(s)));
}

/* The justification j closes a (the machine said so). */
static void apply_justification(json_t *a, const json_t *j)
{
    add_history(a, alert_state_name(ALERT_JUSTIFIED),
                json_integer_value(json_object_get(j, "at_ms")),
                (uint64_t)json_integer_value(json_object_get(j, "seq")), str_or(j, "by", NULL),
                str_or(j, "reason", ""));
    set_state(a, ALERT_JUSTIFIED);
    json_object_set(a, "justification", (json_t *)j);
}

/* An AlertEvent. Under the lock; returns the alert it changed, or NULL. */
static json_t *feed_alert(alertview_t *v, const char *unit, uint64_t seq, int64_t at,
                          const Ft__AlertEvent *ae)
{
    /* Text from the hub log is shown escaped where it is not valid UTF-8
     * (utf8.h): an alert is never left out of the view for it. */
    json_t *a = utf8_json_get(v->alerts, ae->alert_id);
    alert_state from = a ? alert_row_state(a) : ALERT_NONE;
    if (!a) {
        a = json_pack("{s:o, s:o, s:o, s:s, s:s, s:[]}", "id", utf8_json_string(ae->alert_id),
                      "rule", utf8_json_string(ae->rule ? ae->rule : ""), "case",
                      utf8_json_string(ae->case_id ? ae->case_id : ""), "article", "", "severity",
                      "", "history");
        if (a) {
            json_object_set_new(a, "opened_at", view_time_json(at));
            json_object_set_new(a, "opened_ms", json_integer(at));
        }
        if (!a || utf8_json_set_new(v->alerts, ae->alert_id, a) != FT_OK) {
            log_error("alerts view: alert %.16s (hub log entry %llu) cannot be kept: out of "
                      "memory",
                      ae->alert_id, (unsigned long long)seq);
            return NULL;
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
    if (!*str_or(a, "unit", "") && unit[0]) {
        json_object_set_new(a, "unit", utf8_json_string(unit));
    }
    const char *st = ae->state ? ae->state : alert_state_name(ALERT_OPEN);
    alert_event ev = alert_event_of_state(st);
    alert_facts_t f = alert_row_facts(a, false);
    alert_state next;
    (void)alert_transition(from, ev, &f, &next);
    if (from == ALERT_NONE) {
        /* its first event makes it, as the engine reports it */
        next = alert_state_parse(st) != ALERT_NONE ? alert_state_parse(st) : ALERT_OPEN;
    }
    /* Every engine event is a step of the history, but a justification the
     * view already applied from the log's record is not a second one; the
     * state is the machine's (justified is final: later events are history
     * only). */
    if (!(ev == ALERT_JUSTIFY && from == ALERT_JUSTIFIED)) {
        add_history(a, st, at, seq, NULL, str_or(a, "why", NULL));
    }
    set_state(a, next);
    /* A justification that came before the alert. */
    const char *key = str_or(a, "id", "");
    json_t *pend = json_object_get(v->pending, key);
    if (pend) {
        f = alert_row_facts(a, false);
        if (alert_transition(alert_row_state(a), ALERT_JUSTIFY, &f, &next) == ALERT_MOVE) {
            apply_justification(a, pend);
        }
        json_object_del(v->pending, key); /* applied, or it never can be */
    }
    return a;
}

/* A justification record. Under the lock; returns the alert it changed, or
 * NULL. */
static json_t *feed_justification(alertview_t *v, uint64_t seq, int64_t at, const Ft__Record *r)
{
    const Ft__FieldValue *fa = record_field(r, "alert");
    const Ft__FieldValue *fr = record_field(r, "reason");
    const char *id = fa && fa->value_case == FT__FIELD_VALUE__VALUE_TEXT ? fa->text : NULL;
    if (!id) {
        return NULL;
    }
    json_t *a = utf8_json_get(v->alerts, id);
    bool earlier = !a && utf8_json_get(v->pending, id) != NULL;
    alert_facts_t f = alert_row_facts(a, earlier);
    alert_state next;
    alert_step step =
        alert_transition(a ? alert_row_state(a) : ALERT_NONE, ALERT_JUSTIFY, &f, &next);
    if (step == ALERT_STAY) {
        return NULL; /* the first justification counts; justified is final */
    }
    json_t *j = json_pack(
        "{s:o, s:I, s:I}", "reason",
        utf8_json_string(fr && fr->value_case == FT__FIELD_VALUE__VALUE_TEXT && fr->text ? fr->text
                                                                                         : ""),
        "seq", (json_int_t)seq, "at_ms", (json_int_t)at);
    if (!j) {
        log_error("alerts view: the justification in hub log entry %llu cannot be kept: out of "
                  "memory",
                  (unsigned long long)seq);
        return NULL;
    }
    json_object_set_new(j, "at", view_time_json(at));
    if (r->n_officers > 0) {
        json_object_set_new(j, "by", utf8_json_string(r->officers[0]));
    }
    if (r->id) {
        json_object_set_new(j, "record_id", utf8_json_string(r->id));
    }
    if (step == ALERT_MOVE) {
        apply_justification(a, j);
    } else if (utf8_json_set_new(v->pending, id, json_incref(j)) != FT_OK) { /* ALERT_HOLD */
        log_error("alerts view: the justification in hub log entry %llu cannot be kept: "
                  "out of memory",
                  (unsigned long long)seq);
    }
    json_decref(j);
    return step == ALERT_MOVE ? a : NULL;
}

bool alertview_feed(alertview_t *v, catalog_t *cat, uint64_t seq, const Ft__Entry *e,
                    json_t **changed)
{
    *changed = NULL;
    const Ft__Body *b = e->body;
    if (!b) {
        return false;
    }
    int64_t at = (int64_t)hlc_ms(e->hlc);
    size_t n_alerts = entry_alert_count(b); /* an AlertEvent, or a batch of them */
    bool is_just =
        b->kind_case == FT__BODY__KIND_RECORD && b->record->type == FT__RECORD_TYPE__JUSTIFICATION;
    if (!n_alerts && !is_just) {
        return false;
    }
    json_t *out = json_array();
    bool any = false;
    if (is_just) {
        pthread_mutex_lock(&v->lock);
        json_t *a = feed_justification(v, seq, at, b->record);
        if (a) {
            any = true;
            json_array_append_new(out, json_deep_copy(a));
        }
        pthread_mutex_unlock(&v->lock);
    }
    for (size_t i = 0; i < n_alerts; i++) {
        const Ft__AlertEvent *ae = entry_alert_at(b, i);
        if (!ae->alert_id) {
            continue;
        }
        /* The unit of the case, for alerts that do not name one (read
         * before the view's lock: the catalog is never read under it). */
        char unit[STORE_NAME_MAX] = "";
        if (cat && ae->case_id && *ae->case_id) {
            catalog_read(cat);
            utf8_copy(unit, sizeof unit, alertview_case_unit(cat, ae->case_id));
            catalog_done(cat);
        }
        pthread_mutex_lock(&v->lock);
        json_t *a = feed_alert(v, unit, seq, at, ae);
        if (a) {
            any = true;
            json_array_append_new(out, json_deep_copy(a));
        }
        pthread_mutex_unlock(&v->lock);
    }
    if (any && out) {
        *changed = out;
    } else {
        json_decref(out);
    }
    return any;
}

void alertview_each(alertview_t *v, bool open_only, alertview_fn fn, void *ctx)
{
    pthread_mutex_lock(&v->lock);
    const char *k;
    json_t *a;
    json_object_foreach(v->alerts, k, a)
    {
        if (!open_only || alert_row_state(a) == ALERT_OPEN) {
            fn(ctx, a);
        }
    }
    pthread_mutex_unlock(&v->lock);
}

json_t *alertview_get(alertview_t *v, const char *id)
{
    pthread_mutex_lock(&v->lock);
    json_t *a = json_object_get(v->alerts, id);
    json_t *copy = a ? json_deep_copy(a) : NULL;
    pthread_mutex_unlock(&v->lock);
    return copy;
}
