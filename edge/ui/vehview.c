/* vehview.c: the vehicle's view of its own log (see vehview.h).
 *
 * State: the decoded entries (ents, in seq order) and the gap engine's
 * input made from them (g, gin), rebuilt by vehview_update when entries
 * were added or pruned (stale). Every public function takes the lock,
 * updates, answers from g, and releases the lock.
 */
#include "vehview.h"
#include "bodyjson.h"
#include "gapinput.h"
#include "hlc.h"
#include "record.h"
#include "utf8.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_TEXT 64

/* One readable entry of the log. */
typedef struct {
    uint64_t seq;
    Ft__Entry *entry; /* decoded (owned) */
    char ref[REF_TEXT];
    uint8_t content[32]; /* records: devlog_record_hash */
} ventry_t;

struct vehview_t {
    pthread_mutex_t lock;
    devlog_t *log;
    char unit[GAPINPUT_TEXT];
    char device[DEVID_TEXT_SIZE];
    uint64_t epoch;
    ventry_t *ents;
    size_t n, cap;
    uint64_t last_seq; /* highest seq read */
    bool stale;        /* g does not reflect ents */
    gapinput_entry_t *gin;
    gapinput_t *g;
};

int vehview_new(devlog_t *log, const char *unit, vehview_t **out)
{
    *out = NULL;
    vehview_t *v = calloc(1, sizeof *v);
    if (!v) {
        return FT_ENOMEM;
    }
    pthread_mutex_init(&v->lock, NULL);
    v->log = log;
    utf8_copy(v->unit, sizeof v->unit, unit);
    devid_format(devlog_device(log), v->device);
    v->epoch = devlog_epoch(log);
    v->stale = true;
    *out = v;
    return FT_OK;
}

void vehview_destroy(vehview_t **v_p)
{
    if (!v_p || !*v_p) {
        return;
    }
    vehview_t *v = *v_p;
    for (size_t i = 0; i < v->n; i++) {
        ft__entry__free_unpacked(v->ents[i].entry, NULL);
    }
    free(v->ents);
    free(v->gin);
    gapinput_destroy(&v->g);
    pthread_mutex_destroy(&v->lock);
    free(v);
    *v_p = NULL;
}

/* ---- following the log ---- */

static int take_one(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    vehview_t *v = ctx;
    v->last_seq = seq;
    entry_view_t ev;
    if (entry_open(raw, len, &ev) != FT_OK) {
        return 0; /* unreadable: `fieldtrail-edge verify` names it */
    }
    const Ft__Body *b = ev.entry->body;
    bool wanted = b->kind_case == FT__BODY__KIND_RECORD || b->kind_case == FT__BODY__KIND_MEDIA;
    if (!wanted) {
        entry_view_free(&ev);
        return 0;
    }
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 256;
        ventry_t *bigger = realloc(v->ents, cap * sizeof *bigger);
        if (!bigger) {
            entry_view_free(&ev);
            return FT_ENOMEM;
        }
        v->ents = bigger;
        v->cap = cap;
    }
    ventry_t *e = &v->ents[v->n];
    memset(e, 0, sizeof *e);
    e->seq = seq;
    snprintf(e->ref, sizeof e->ref, "%s/%llu/%llu", v->device, (unsigned long long)v->epoch,
             (unsigned long long)seq);
    if (b->kind_case == FT__BODY__KIND_RECORD &&
        devlog_record_hash(b->record, e->content) != FT_OK) {
        entry_view_free(&ev);
        return FT_ENOMEM;
    }
    /* keep the entry, not the signed wrapper */
    e->entry = ev.entry;
    ev.entry = NULL;
    entry_view_free(&ev);
    v->n++;
    v->stale = true;
    return 0;
}

static int rebuild(vehview_t *v)
{
    gapinput_destroy(&v->g);
    free(v->gin);
    v->gin = calloc(v->n ? v->n : 1, sizeof *v->gin);
    if (!v->gin) {
        return FT_ENOMEM;
    }
    for (size_t i = 0; i < v->n; i++) {
        const ventry_t *e = &v->ents[i];
        const Ft__Body *b = e->entry->body;
        gapinput_entry_t *g = &v->gin[i];
        g->ref = e->ref;
        g->order = e->seq;
        g->logged_ms = (int64_t)hlc_ms(e->entry->hlc);
        if (b->kind_case == FT__BODY__KIND_RECORD) {
            g->rec = b->record;
            memcpy(g->content, e->content, sizeof g->content);
        } else {
            g->media = b->media;
        }
    }
    /* the vehicle's own clock: offset 0 (the hub measures it within 1 s) */
    int err = gapinput_new(v->gin, v->n, v->unit[0] ? v->unit : NULL, 0, &v->g);
    if (err == FT_OK) {
        v->stale = false;
    }
    return err;
}

static int update_locked(vehview_t *v)
{
    devlog_rest_t rest;
    int err = devlog_rest_stats(v->log, &rest);
    if (err != FT_OK) {
        return err;
    }
    /* pruned entries leave the view with their keys */
    size_t drop = 0;
    while (drop < v->n && v->ents[drop].seq <= rest.pruned_upto) {
        ft__entry__free_unpacked(v->ents[drop].entry, NULL);
        drop++;
    }
    if (drop) {
        memmove(v->ents, v->ents + drop, (v->n - drop) * sizeof *v->ents);
        v->n -= drop;
        v->stale = true;
    }
    uint64_t head = 0;
    err = devlog_head(v->log, &head, NULL);
    if (err == FT_OK && head > v->last_seq) {
        int rc = devlog_iter(v->log, v->last_seq + 1, head, take_one, v);
        err = rc < 0 ? rc : FT_OK;
    }
    if (err == FT_OK && v->stale) {
        err = rebuild(v);
    }
    return err;
}

int vehview_update(vehview_t *v)
{
    pthread_mutex_lock(&v->lock);
    int err = update_locked(v);
    pthread_mutex_unlock(&v->lock);
    return err;
}

/* ---- small helpers ---- */

static const char *field_text(const Ft__Record *rec, const char *key)
{
    const Ft__FieldValue *f = record_field(rec, key);
    return f && f->value_case == FT__FIELD_VALUE__VALUE_TEXT && f->text ? f->text : NULL;
}

/* A numeric `fields` value (a number, or text holding one). */
static bool field_number(const Ft__Record *rec, const char *key, double *out)
{
    const Ft__FieldValue *f = record_field(rec, key);
    if (!f) {
        return false;
    }
    if (f->value_case == FT__FIELD_VALUE__VALUE_NUMBER) {
        *out = f->number;
        return true;
    }
    if (f->value_case == FT__FIELD_VALUE__VALUE_TEXT && f->text) {
        char *end = NULL;
        *out = strtod(f->text, &end);
        return end != f->text && *end == '\0';
    }
    return false;
}

static json_t *str_or_null(const char *s)
{
    return s && s[0] ? utf8_json_string(s) : json_null();
}

static uint64_t seq_of(const char *ref)
{
    const char *slash = strrchr(ref, '/');
    return slash ? strtoull(slash + 1, NULL, 10) : 0;
}

/* The index in g->records of the record with this ref, or -1. */
static long record_by_ref(const gapinput_t *g, const char *ref)
{
    for (size_t i = 0; i < g->n_records; i++) {
        if (strcmp(g->records[i].g.ref, ref) == 0) {
            return (long)i;
        }
    }
    return -1;
}

/* The id of a record that amends records[i] within its case (its
 * correction), or NULL. */
static const char *amended_by(const gapinput_t *g, size_t i)
{
    const gapinput_record_t *r = &g->records[i];
    const char *id = r->g.rec->id;
    if (!id || !id[0]) {
        return NULL;
    }
    const char *by = NULL;
    for (size_t j = 0; j < g->n_records; j++) {
        const gapinput_record_t *x = &g->records[j];
        if (j != i && x->g.rec->amends && strcmp(x->g.rec->amends, id) == 0 &&
            strcmp(x->case_id, r->case_id) == 0) {
            by = x->g.rec->id ? x->g.rec->id : "";
        }
    }
    return by;
}

static json_t *record_json(const gapinput_t *g, size_t i)
{
    const gapinput_record_t *r = &g->records[i];
    const Ft__Record *rec = r->g.rec;
    json_t *o = json_object();
    if (!o) {
        return NULL;
    }
    json_object_set_new(o, "ref", json_string(r->g.ref));
    json_object_set_new(o, "seq", json_integer((json_int_t)r->order));
    json_object_set_new(
        o, "type", json_string(record_type_name(rec->type) ? record_type_name(rec->type) : "?"));
    json_object_set_new(o, "id", str_or_null(rec->id));
    json_object_set_new(o, "case", str_or_null(r->case_id));
    json_object_set_new(o, "time_ms", json_integer(r->g.time_ms));
    json_object_set_new(o, "start_ms", json_integer(r->g.start_ms));
    json_object_set_new(o, "end_ms", json_integer(r->g.end_ms));
    json_object_set_new(o, "activity", json_boolean(record_type_is_activity(rec->type)));
    json_t *body = record_to_json(rec);
    json_object_set_new(o, "record", body ? body : json_null());
    json_object_set_new(o, "amended_by", str_or_null(amended_by(g, i)));
    return o;
}

static const char *source_name(Ft__ValueSource s)
{
    switch (s) {
    case FT__VALUE_SOURCE__SIDECAR:
        return "sidecar";
    case FT__VALUE_SOURCE__CONTAINER:
        return "container";
    case FT__VALUE_SOURCE__FILE_MTIME:
        return "file_mtime";
    case FT__VALUE_SOURCE__CHECKOUT:
        return "checkout";
    case FT__VALUE_SOURCE__OPERATOR:
        return "operator";
    default:
        return NULL;
    }
}

static json_t *clip_json(const gapinput_media_t *m)
{
    const Ft__MediaManifest *mm = m->m;
    json_t *o = json_object();
    if (!o) {
        return NULL;
    }
    json_object_set_new(o, "media_id", json_string(m->media_id));
    json_object_set_new(o, "ref", json_string(m->g.ref));
    json_object_set_new(o, "seq", json_integer((json_int_t)seq_of(m->g.ref)));
    json_object_set_new(o, "recorder", str_or_null(m->recorder));
    json_object_set_new(o, "officer", str_or_null(m->officer));
    const char *osrc = NULL;
    if (m->officer_from_checkout) {
        osrc = "checkout";
    } else if (m->officer[0]) {
        osrc = mm->officer_source == FT__VALUE_SOURCE__CHECKOUT ? "checkout" : "manifest";
    }
    json_object_set_new(o, "officer_source", osrc ? json_string(osrc) : json_null());
    json_object_set_new(o, "start_ms", json_integer(m->g.start_ms));
    json_object_set_new(o, "end_ms", json_integer(m->g.end_ms));
    json_object_set_new(o, "case", str_or_null(m->case_id));
    json_object_set_new(o, "file_name", str_or_null(mm->file_name));
    json_object_set_new(o, "kind", json_string(media_kind_name(mm->kind)));
    json_object_set_new(o, "size", json_integer((json_int_t)mm->size));
    const char *tsrc = source_name(mm->time_source);
    json_object_set_new(o, "time_source", tsrc ? json_string(tsrc) : json_null());
    return o;
}

static json_t *alert_json(const gapinput_t *g, const gap_alert_t *a)
{
    const rule_t *r = a->rule;
    json_t *o = json_object(), *refs = json_array(), *ids = json_array(), *mids = json_array();
    if (!o || !refs || !ids || !mids) {
        json_decref(o);
        json_decref(refs);
        json_decref(ids);
        json_decref(mids);
        return NULL;
    }
    char buf[sizeof a->subject];
    snprintf(buf, sizeof buf, "%s", a->subject);
    for (char *save = NULL, *p = strtok_r(buf, ">", &save); p; p = strtok_r(NULL, ">", &save)) {
        long ri = record_by_ref(g, p);
        if (ri >= 0) {
            json_array_append_new(refs, json_string(p));
            json_array_append_new(ids, str_or_null(g->records[ri].g.rec->id));
            continue;
        }
        for (size_t k = 0; k < g->n_media; k++) {
            if (strcmp(g->media[k].g.ref, p) == 0) {
                json_array_append_new(mids, json_string(g->media[k].media_id));
            }
        }
    }
    json_object_set_new(o, "id", json_string(a->id));
    json_object_set_new(o, "rule", json_string(r->id));
    json_object_set_new(o, "kind", json_string(rule_kind_name(r->kind)));
    json_object_set_new(o, "article", json_string(a->article));
    json_object_set_new(o, "severity", json_string(rule_severity_name(r->severity)));
    json_object_set_new(o, "case", str_or_null(a->case_id));
    json_object_set_new(o, "subject", utf8_json_string(a->subject));
    json_object_set_new(o, "records", refs);
    json_object_set_new(o, "record_ids", ids);
    json_object_set_new(o, "media_ids", mids);
    json_object_set_new(o, "detail", utf8_json_string(a->detail));
    json_object_set_new(o, "message_zh", utf8_json_string(r->message_zh ? r->message_zh : ""));
    json_object_set_new(o, "message_en", utf8_json_string(r->message_en ? r->message_en : ""));
    json_object_set_new(o, "due_ms", json_integer(a->at_ms));
    return o;
}

/* Appends the alerts of ga to arr, each ID once. */
static void alerts_into(const gapinput_t *g, const gap_alerts_t *ga, json_t *arr)
{
    for (size_t i = 0; i < ga->n; i++) {
        bool dup = false;
        size_t k;
        json_t *x;
        json_array_foreach(arr, k, x)
        {
            dup = dup || strcmp(json_string_value(json_object_get(x, "id")), ga->items[i].id) == 0;
        }
        if (!dup) {
            json_array_append_new(arr, alert_json(g, &ga->items[i]));
        }
    }
}

/* The ids of the alerts in arr whose records include ref. */
static json_t *alert_ids_for(const json_t *alerts, const char *ref)
{
    json_t *ids = json_array();
    size_t i, k;
    json_t *a, *r;
    json_array_foreach(alerts, i, a)
    {
        json_array_foreach(json_object_get(a, "records"), k, r)
        {
            if (strcmp(json_string_value(r), ref) == 0) {
                json_array_append_new(ids,
                                      json_string(json_string_value(json_object_get(a, "id"))));
                break;
            }
        }
    }
    return ids;
}

/* Coverage of activity c->recs[k] by the media of c: share, longest
 * uncovered stretch, linked clips and the uncovered stretches; null when
 * memory ran out. */
static json_t *coverage_json(const gapinput_t *g, const gapinput_case_t *c, const gap_record_t *r)
{
    const Ft__Record *rec = r->rec;
    double covered = 0;
    int64_t longest = 0;
    size_t linked = 0, n_holes = 0;
    gap_span_t holes[64];
    if (gaps_coverage(r, c->c.media, c->c.n_media, &linked, &covered, &longest) != FT_OK ||
        gaps_uncovered(r, c->c.media, c->c.n_media, holes, 64, &n_holes) != FT_OK) {
        return json_null(); /* no memory: no verdict, never "not covered" */
    }
    json_t *uncovered = json_array(), *clips = json_array();
    for (size_t i = 0; i < n_holes && i < 64; i++) {
        json_array_append_new(
            uncovered, json_pack("[I, I]", (json_int_t)holes[i].a_ms, (json_int_t)holes[i].b_ms));
    }
    for (size_t i = 0; i < g->n_media; i++) {
        if (gaps_media_links(r, &g->media[i].g)) {
            json_array_append_new(clips, json_string(g->media[i].media_id));
        }
    }
    return json_pack("{s:f, s:I, s:I, s:o, s:b, s:o, s:o}", "covered", covered,
                     "longest_uncovered_ms", (json_int_t)longest, "linked", (json_int_t)linked,
                     "uncovered", uncovered, "more_uncovered", n_holes > 64, "clips", clips,
                     "media_unsuitable", str_or_null(rec->media_unsuitable));
}

/* The required `fields` the pack's fields rules find missing in rec. */
static json_t *missing_json(const rulepack_t *pack, const Ft__Record *rec)
{
    json_t *out = json_array();
    for (size_t i = 0; out && i < pack->n; i++) {
        const rule_t *r = &pack->rules[i];
        if (!r->enabled || r->kind != RULE_FIELDS || !type_set_has(&r->applies_to, rec->type)) {
            continue;
        }
        for (const char *const *k = rule_fields_for(r, rec->type); k && *k; k++) {
            if (record_field_present(rec, *k)) {
                continue;
            }
            bool dup = false;
            size_t j;
            json_t *x;
            json_array_foreach(out, j, x)
            {
                dup = dup || strcmp(json_string_value(json_object_get(x, "key")), *k) == 0;
            }
            if (!dup) {
                const char *art = r->article_per_type ? record_type_article(rec->type) : r->article;
                json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "key", *k, "article",
                                                     art ? art : "", "rule", r->id));
            }
        }
    }
    return out;
}

/* Record i of its case c (or its caseless unit), with what the screen shows
 * beside it: coverage, missing fields, the IDs of its alerts. */
static json_t *record_full(const gapinput_t *g, const rulepack_t *pack, const gapinput_case_t *c,
                           size_t i, const json_t *alerts)
{
    json_t *o = record_json(g, i);
    if (!o) {
        return NULL;
    }
    const gapinput_record_t *r = &g->records[i];
    bool evaluated = false;
    for (size_t k = 0; c && k < c->c.n_records && !evaluated; k++) {
        evaluated = c->index[k] == i;
    }
    json_object_set_new(o, "evaluated", json_boolean(evaluated));
    if (record_type_is_activity(r->g.rec->type) && c) {
        json_object_set_new(o, "coverage", coverage_json(g, c, &r->g));
    }
    json_object_set_new(o, "missing", missing_json(pack, r->g.rec));
    json_object_set_new(o, "alerts", alert_ids_for(alerts, r->g.ref));
    return o;
}

/* ---- the day ---- */

static bool meets(int64_t a, int64_t b, int64_t from, int64_t to)
{
    return b >= from && (to == 0 || a < to);
}

/* The recorders checked out now: for each recorder, its last checkout or
 * return (by time, then seq) is a checkout. */
static json_t *recorders_json(const gapinput_t *g, const rulepack_t *pack, int64_t now_ms)
{
    json_t *out = json_array();
    const rule_t *ready = rules_find_kind(pack, RULE_READINESS);
    for (size_t i = 0; out && i < g->n_records; i++) {
        const Ft__Record *rec = g->records[i].g.rec;
        const char *recorder = field_text(rec, "recorder");
        if (rec->type != FT__RECORD_TYPE__RECORDER_CHECKOUT || !recorder || !recorder[0]) {
            continue;
        }
        /* the latest checkout or return of this recorder */
        size_t last = i;
        for (size_t j = 0; j < g->n_records; j++) {
            const gapinput_record_t *x = &g->records[j];
            const char *xr = field_text(x->g.rec, "recorder");
            bool co = x->g.rec->type == FT__RECORD_TYPE__RECORDER_CHECKOUT ||
                      x->g.rec->type == FT__RECORD_TYPE__RECORDER_RETURN;
            if (!co || !xr || strcmp(xr, recorder) != 0 || x->g.time_ms > now_ms) {
                continue;
            }
            const gapinput_record_t *l = &g->records[last];
            if (x->g.time_ms > l->g.time_ms ||
                (x->g.time_ms == l->g.time_ms && x->order > l->order)) {
                last = j;
            }
        }
        if (last != i || g->records[i].g.time_ms > now_ms) {
            continue;
        }
        /* battery and space: the checkout's, or a later recorder_status */
        const gapinput_record_t *src = &g->records[i];
        for (size_t j = 0; j < g->n_records; j++) {
            const gapinput_record_t *x = &g->records[j];
            const char *xr = field_text(x->g.rec, "recorder");
            if (x->g.rec->type == FT__RECORD_TYPE__RECORDER_STATUS && xr &&
                strcmp(xr, recorder) == 0 && x->g.time_ms >= src->g.time_ms &&
                x->g.time_ms <= now_ms) {
                src = x;
            }
        }
        double battery = 0, free_mb = 0;
        bool has_b = field_number(src->g.rec, "battery_pct", &battery);
        bool has_f = field_number(src->g.rec, "free_mb", &free_mb);
        gapinput_case_t c;
        gap_alerts_t ga = {0};
        json_t *alert = json_null();
        if (gapinput_caseless(g, (size_t)(src - g->records), &c) == FT_OK &&
            gaps_eval_case(pack, &c.c, now_ms, &ga) == FT_OK) {
            for (size_t k = 0; k < ga.n; k++) {
                if (ga.items[k].rule->kind == RULE_READINESS) {
                    json_decref(alert);
                    alert = alert_json(g, &ga.items[k]);
                }
            }
        }
        gap_alerts_free(&ga);
        gapinput_case_free(&c);
        json_t *o = json_object();
        json_object_set_new(o, "recorder", utf8_json_string(recorder));
        json_object_set_new(o, "officer", str_or_null(field_text(rec, "officer")));
        json_object_set_new(o, "since_ms", json_integer(g->records[i].g.time_ms));
        json_object_set_new(o, "checkout_id", str_or_null(rec->id));
        json_object_set_new(o, "checkout_ref", json_string(g->records[i].g.ref));
        json_object_set_new(o, "battery_pct", has_b ? json_real(battery) : json_null());
        json_object_set_new(o, "free_mb", has_f ? json_real(free_mb) : json_null());
        json_object_set_new(o, "status_ms", json_integer(src->g.time_ms));
        json_object_set_new(o, "battery_low",
                            json_boolean(has_b && rule_battery_low(ready, battery)));
        json_object_set_new(o, "storage_low",
                            json_boolean(has_f && rule_storage_low(ready, free_mb)));
        json_object_set_new(o, "min_battery",
                            ready ? json_integer(ready->min_battery_pct) : json_null());
        json_object_set_new(o, "min_free_mb",
                            ready ? json_integer(ready->min_free_mb) : json_null());
        json_object_set_new(o, "alert", alert);
        json_array_append_new(out, o);
    }
    return out;
}

static json_t *today_locked(vehview_t *v, const rulepack_t *pack, int64_t from, int64_t to,
                            int64_t now)
{
    const gapinput_t *g = v->g;
    json_t *acts = json_array(), *recs = json_array(), *clips = json_array(),
           *alerts = json_array(), *known = json_array();
    json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "recorders",
                          recorders_json(g, pack, now), "activities", acts, "records", recs,
                          "clips", clips, "alerts", alerts, "known_recorders", known);
    if (!o) {
        return NULL;
    }
    /* the units the day touches: its cases once each, its caseless records */
    for (size_t i = 0; i < g->n_records; i++) {
        const gapinput_record_t *r = &g->records[i];
        bool in_day = record_type_is_activity(r->g.rec->type)
                          ? meets(r->g.start_ms, r->g.end_ms, from, to)
                          : meets(r->g.time_ms, r->g.time_ms, from, to);
        const char *rr = field_text(r->g.rec, "recorder");
        if (rr && rr[0]) {
            bool seen = false;
            size_t k;
            json_t *x;
            json_array_foreach(known, k, x)
            {
                seen = seen || strcmp(json_string_value(x), rr) == 0;
            }
            if (!seen) {
                json_array_append_new(known, utf8_json_string(rr));
            }
        }
        if (!in_day) {
            continue;
        }
        gapinput_case_t c;
        gap_alerts_t ga = {0};
        int err = r->case_id[0] ? gapinput_case(g, r->case_id, &c) : gapinput_caseless(g, i, &c);
        if (err == FT_OK && gaps_eval_case(pack, &c.c, now, &ga) == FT_OK) {
            alerts_into(g, &ga, alerts);
        }
        json_t *x = record_full(g, pack, err == FT_OK ? &c : NULL, i, alerts);
        json_array_append_new(record_type_is_activity(r->g.rec->type) ? acts : recs, x);
        gap_alerts_free(&ga);
        gapinput_case_free(&c);
    }
    for (size_t i = 0; i < g->n_media; i++) {
        const gapinput_media_t *m = &g->media[i];
        if (!meets(m->g.start_ms, m->g.end_ms, from, to)) {
            continue;
        }
        json_array_append_new(clips, clip_json(m));
        gap_alerts_t ga = {0};
        if (gaps_eval_media(pack, &m->g, gapinput_media_linked(g, i), now, &ga) == FT_OK) {
            alerts_into(g, &ga, alerts);
        }
        gap_alerts_free(&ga);
        const char *mr = m->recorder;
        bool seen = !mr[0];
        size_t k;
        json_t *x;
        json_array_foreach(known, k, x)
        {
            seen = seen || strcmp(json_string_value(x), mr) == 0;
        }
        if (!seen) {
            json_array_append_new(known, utf8_json_string(mr));
        }
    }
    /* records' alert IDs once every unit of the day is evaluated */
    size_t k;
    json_t *x;
    json_array_foreach(acts, k, x)
    {
        json_object_set_new(x, "alerts",
                            alert_ids_for(alerts, json_string_value(json_object_get(x, "ref"))));
    }
    json_array_foreach(recs, k, x)
    {
        json_object_set_new(x, "alerts",
                            alert_ids_for(alerts, json_string_value(json_object_get(x, "ref"))));
    }
    return o;
}

json_t *vehview_today(vehview_t *v, const rulepack_t *pack, int64_t from_ms, int64_t to_ms,
                      int64_t now_ms)
{
    pthread_mutex_lock(&v->lock);
    json_t *o = update_locked(v) == FT_OK ? today_locked(v, pack, from_ms, to_ms, now_ms) : NULL;
    pthread_mutex_unlock(&v->lock);
    return o;
}

/* ---- cases ---- */

static json_t *cases_locked(vehview_t *v, size_t max)
{
    const gapinput_t *g = v->g;
    json_t *all = json_object(); /* case -> {case, last_ms, records, clips, cause, party} */
    if (!all) {
        return NULL;
    }
    for (size_t i = 0; i < g->n_records + g->n_media; i++) {
        const char *case_id, *cause, *party;
        int64_t at;
        bool is_rec = i < g->n_records;
        if (is_rec) {
            const gapinput_record_t *r = &g->records[i];
            case_id = r->case_id;
            cause = r->g.rec->cause;
            party = r->g.rec->party;
            at = r->logged_ms > r->g.time_ms ? r->logged_ms : r->g.time_ms;
        } else {
            const gapinput_media_t *m = &g->media[i - g->n_records];
            case_id = m->case_id;
            cause = m->m->cause;
            party = m->m->party;
            at = m->g.end_ms;
        }
        if (!case_id[0]) {
            continue;
        }
        json_t *c = json_object_get(all, case_id);
        if (!c) {
            c = json_pack("{s:o, s:I, s:i, s:i, s:n, s:n}", "case", utf8_json_string(case_id),
                          "last_ms", (json_int_t)at, "records", 0, "clips", 0, "cause", "party");
            json_object_set_new(all, case_id, c);
        }
        const char *count = is_rec ? "records" : "clips";
        json_object_set_new(c, count,
                            json_integer(json_integer_value(json_object_get(c, count)) + 1));
        if (at > json_integer_value(json_object_get(c, "last_ms"))) {
            json_object_set_new(c, "last_ms", json_integer(at));
        }
        if (cause && cause[0]) {
            json_object_set_new(c, "cause", utf8_json_string(cause));
        }
        if (party && party[0]) {
            json_object_set_new(c, "party", utf8_json_string(party));
        }
    }
    /* newest first */
    json_t *out = json_array();
    const char *key;
    json_t *c;
    json_object_foreach(all, key, c)
    {
        json_array_append(out, c);
    }
    json_decref(all);
    size_t n = json_array_size(out);
    for (size_t i = 1; i < n; i++) { /* insertion sort: few cases */
        for (size_t j = i; j > 0; j--) {
            json_t *a = json_array_get(out, j - 1), *b = json_array_get(out, j);
            if (json_integer_value(json_object_get(a, "last_ms")) >=
                json_integer_value(json_object_get(b, "last_ms"))) {
                break;
            }
            json_incref(a);
            json_array_set(out, j - 1, b);
            json_array_set_new(out, j, a);
        }
    }
    while (json_array_size(out) > max) {
        json_array_remove(out, json_array_size(out) - 1);
    }
    return out;
}

json_t *vehview_cases(vehview_t *v, size_t max)
{
    pthread_mutex_lock(&v->lock);
    json_t *o = update_locked(v) == FT_OK ? cases_locked(v, max) : NULL;
    pthread_mutex_unlock(&v->lock);
    return o;
}

json_t *vehview_clips(vehview_t *v, int64_t from_ms, int64_t to_ms)
{
    pthread_mutex_lock(&v->lock);
    json_t *out = NULL;
    if (update_locked(v) == FT_OK && (out = json_array())) {
        for (size_t i = v->g->n_media; i > 0; i--) {
            const gapinput_media_t *m = &v->g->media[i - 1];
            if (meets(m->g.start_ms, m->g.end_ms, from_ms, to_ms)) {
                json_array_append_new(out, clip_json(m));
            }
        }
    }
    pthread_mutex_unlock(&v->lock);
    return out;
}

/* ---- one case ---- */

static json_t *case_locked(vehview_t *v, const rulepack_t *pack, const char *case_id, int64_t now,
                           bool *found)
{
    const gapinput_t *g = v->g;
    gapinput_case_t c;
    if (gapinput_case(g, case_id, &c) != FT_OK) {
        gapinput_case_free(&c);
        return NULL;
    }
    json_t *records = json_array(), *clips = json_array(), *alerts = json_array(),
           *pending = json_array();
    json_t *o = json_pack("{s:o, s:n, s:n, s:o, s:o, s:o, s:o}", "case",
                          utf8_json_string(c.case_id), "cause", "party", "records", records,
                          "clips", clips, "alerts", alerts, "pending", pending);
    gap_alerts_t ga = {0};
    if (!o || gaps_eval_case(pack, &c.c, now, &ga) != FT_OK) {
        json_decref(o);
        gap_alerts_free(&ga);
        gapinput_case_free(&c);
        return NULL;
    }
    alerts_into(g, &ga, alerts);
    gap_alerts_free(&ga);
    bool any = false;
    for (size_t i = 0; i < g->n_records; i++) {
        const gapinput_record_t *r = &g->records[i];
        if (strcmp(r->case_id, c.case_id) != 0) {
            continue;
        }
        any = true;
        json_array_append_new(records, record_full(g, pack, &c, i, alerts));
        if (r->g.rec->cause && r->g.rec->cause[0]) {
            json_object_set_new(o, "cause", utf8_json_string(r->g.rec->cause));
        }
        if (r->g.rec->party && r->g.rec->party[0]) {
            json_object_set_new(o, "party", utf8_json_string(r->g.rec->party));
        }
    }
    /* clips: those naming the case, and those linked to its activities */
    for (size_t i = 0; i < g->n_media; i++) {
        const gapinput_media_t *m = &g->media[i];
        bool in = strcmp(m->case_id, c.case_id) == 0;
        for (size_t k = 0; !in && k < c.c.n_records; k++) {
            in = gaps_media_links(&c.c.records[k], &m->g);
        }
        if (in) {
            any = true;
            json_array_append_new(clips, clip_json(m));
        }
    }
    gap_pending_t duties[64];
    size_t n_duties = gaps_pending(pack, &c.c, now, duties, 64);
    for (size_t i = 0; i < n_duties && i < 64; i++) {
        const rule_t *r = duties[i].rule;
        json_t *needs = json_array();
        for (size_t k = 0; k < r->needs.n; k++) {
            json_array_append_new(needs, json_string(record_type_name(r->needs.types[k])));
        }
        const Ft__Record *subj = duties[i].subject->rec;
        json_array_append_new(
            pending,
            json_pack("{s:s, s:s, s:o, s:s, s:o, s:s, s:I, s:o, s:o}", "rule", r->id, "article",
                      r->article, "needs", needs, "subject", duties[i].subject->ref, "subject_id",
                      str_or_null(subj->id), "subject_type", record_type_name(subj->type), "due_ms",
                      (json_int_t)duties[i].due_ms, "message_zh",
                      utf8_json_string(r->message_zh ? r->message_zh : ""), "message_en",
                      utf8_json_string(r->message_en ? r->message_en : "")));
    }
    gapinput_case_free(&c);
    *found = any;
    if (!any) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *vehview_case(vehview_t *v, const rulepack_t *pack, const char *case_id, int64_t now_ms,
                     bool *found)
{
    *found = false;
    pthread_mutex_lock(&v->lock);
    json_t *o = update_locked(v) == FT_OK ? case_locked(v, pack, case_id, now_ms, found) : NULL;
    pthread_mutex_unlock(&v->lock);
    return o;
}

/* The latest record with this id, or -1. */
static long record_by_id(const gapinput_t *g, const char *id)
{
    long found = -1;
    for (size_t i = 0; id && id[0] && i < g->n_records; i++) {
        if (g->records[i].g.rec->id && strcmp(g->records[i].g.rec->id, id) == 0) {
            found = (long)i;
        }
    }
    return found;
}

json_t *vehview_record(vehview_t *v, const char *id)
{
    pthread_mutex_lock(&v->lock);
    json_t *o = NULL;
    if (update_locked(v) == FT_OK) {
        long i = record_by_id(v->g, id);
        o = i >= 0 ? record_json(v->g, (size_t)i) : NULL;
    }
    pthread_mutex_unlock(&v->lock);
    return o;
}

json_t *vehview_record_officers(vehview_t *v, const char *id)
{
    pthread_mutex_lock(&v->lock);
    json_t *out = json_array();
    if (out && update_locked(v) == FT_OK) {
        long i = record_by_id(v->g, id);
        const Ft__Record *rec = i >= 0 ? v->g->records[i].g.rec : NULL;
        for (size_t k = 0; rec && k < rec->n_officers; k++) {
            json_array_append_new(out, utf8_json_string(rec->officers[k]));
        }
    }
    pthread_mutex_unlock(&v->lock);
    return out;
}

json_t *vehview_unit_alerts(vehview_t *v, const rulepack_t *pack, uint64_t seq, int64_t now_ms)
{
    pthread_mutex_lock(&v->lock);
    json_t *out = json_array();
    if (out && update_locked(v) == FT_OK) {
        const gapinput_t *g = v->g;
        for (size_t i = 0; i < g->n_records; i++) {
            if (g->records[i].order != seq) {
                continue;
            }
            gapinput_case_t c;
            gap_alerts_t ga = {0};
            int err = g->records[i].case_id[0] ? gapinput_case(g, g->records[i].case_id, &c)
                                               : gapinput_caseless(g, i, &c);
            if (err == FT_OK && gaps_eval_case(pack, &c.c, now_ms, &ga) == FT_OK) {
                alerts_into(g, &ga, out);
            }
            gap_alerts_free(&ga);
            gapinput_case_free(&c);
        }
    }
    pthread_mutex_unlock(&v->lock);
    return out;
}
