/* engine.c: the evaluation steps (see engine.h for the order and the crash
 * behaviour). */
#include "engine.h"
#include "bodyjson.h"
#include "devlog.h"
#include "lmdbx.h"
#include "logging.h"
#include "record.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENGINE_DEFAULT_BATCH 2048
#define ENGINE_UNIT_BATCH 256

struct engine_t {
    engine_opts_t o;
    index_t *idx;
    alerts_t *alerts;
    int log_err; /* the last hub-log append failure, until one succeeds */
};

int engine_new(const char *index_dir, size_t map_size, const engine_opts_t *opts, engine_t **out)
{
    *out = NULL;
    engine_t *e = calloc(1, sizeof *e);
    if (!e) {
        return FT_ENOMEM;
    }
    e->o = *opts;
    if (!e->o.batch) {
        e->o.batch = ENGINE_DEFAULT_BATCH;
    }
    int err = index_open(index_dir, map_size, &e->idx);
    if (err == FT_OK) {
        err = alerts_open(e->idx, &e->alerts);
    }
    if (err != FT_OK) {
        engine_destroy(&e);
        return err;
    }
    *out = e;
    return FT_OK;
}

void engine_destroy(engine_t **e_p)
{
    engine_t *e = *e_p;
    if (!e) {
        return;
    }
    alerts_destroy(&e->alerts);
    index_destroy(&e->idx);
    free(e);
    *e_p = NULL;
}

index_t *engine_index(engine_t *e)
{
    return e->idx;
}

alerts_t *engine_alerts(engine_t *e)
{
    return e->alerts;
}

/* ---- committing a batch ----------------------------------------------- */

/* Hub log first, then the index, then the sink (engine.h). */
static int finish_batch(engine_t *e, index_txn_t **it, json_t *events)
{
    size_t n = json_array_size(events);
    int err = FT_OK;
    if (n && e->o.hublog) {
        devlog_txn_t *lt = NULL;
        err = devlog_begin(e->o.hublog, &lt);
        for (size_t i = 0; err == FT_OK && i < n; i++) {
            json_t *ev = json_array_get(events, i);
            json_t *alert = json_object_get(ev, "alert");
            char *text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
            Ft__AlertEvent ae = FT__ALERT_EVENT__INIT;
            ae.alert_id = (char *)json_string_value(json_object_get(ev, "alert_id"));
            ae.rule = (char *)json_string_value(json_object_get(alert, "rule"));
            ae.state = (char *)json_string_value(json_object_get(ev, "state"));
            ae.case_id = (char *)json_string_value(json_object_get(alert, "case"));
            ae.detail_json = text;
            if (!text || !ae.alert_id || !ae.rule || !ae.state) {
                err = text ? FT_EINVAL : FT_ENOMEM;
            } else {
                Ft__Body body = FT__BODY__INIT;
                body.kind_case = FT__BODY__KIND_ALERT;
                body.alert = &ae;
                err = devlog_append(lt, &body, NULL);
            }
            free(text);
        }
        if (err == FT_OK) {
            err = devlog_commit(&lt);
        }
        devlog_abort(&lt);
        if (err != FT_OK) {
            /* Said once per episode (a full disk fails every step until it
             * has room again; the step is retried, nothing is lost). */
            if (err != e->log_err) {
                log_error("cannot append alert events to the hub log: %s (the gap engine retries "
                          "until it can)",
                          ft_strerror(err));
            }
            e->log_err = err;
            index_abort(it);
            return err;
        }
        if (e->log_err != FT_OK) {
            log_info("alert events are written to the hub log again");
            e->log_err = FT_OK;
        }
    }
    err = index_commit(it);
    if (err != FT_OK) {
        return err;
    }
    if (e->o.sink) {
        for (size_t i = 0; i < n; i++) {
            e->o.sink(e->o.sink_ctx, json_array_get(events, i));
        }
    }
    return FT_OK;
}

/* ---- alerts as JSON ------------------------------------------------------ */

static void set_time(json_t *o, const char *key, int64_t ms)
{
    char buf[48], k2[64];
    rfc3339_format(ms, 0, buf, sizeof buf);
    json_object_set_new(o, key, json_string(buf));
    snprintf(k2, sizeof k2, "%s_ms", key);
    json_object_set_new(o, k2, json_integer(ms));
}

/* The alert as the alert tables keep it (without state). unit / device are
 * used when no record or media names them (clock, integrity). */
static json_t *alert_json(index_txn_t *it, const gap_alert_t *g, const char *unit,
                          const char *device)
{
    const rule_t *r = g->rule;
    json_t *o = json_object();
    json_t *records = json_array(), *record_ids = json_array(), *media = json_array(),
           *media_ids = json_array();
    json_object_set_new(o, "id", json_string(g->id));
    json_object_set_new(o, "rule", json_string(r->id));
    json_object_set_new(o, "kind", json_string(rule_kind_name(r->kind)));
    json_object_set_new(o, "article", json_string(g->article));
    json_object_set_new(o, "severity", json_string(rule_severity_name(r->severity)));
    /* Text from records, manifests and the rule pack: escaped where it is
     * not valid UTF-8 (utf8.h), so that the alert keeps its case and detail */
    json_object_set_new(o, "case", g->case_id[0] ? utf8_json_string(g->case_id) : json_null());
    json_object_set_new(o, "subject", utf8_json_string(g->subject));
    json_object_set_new(o, "message_zh", utf8_json_string(r->message_zh ? r->message_zh : ""));
    json_object_set_new(o, "message_en", utf8_json_string(r->message_en ? r->message_en : ""));
    json_object_set_new(o, "detail", utf8_json_string(g->detail));
    json_t *officers = json_array();
    char off[sizeof g->officers];
    snprintf(off, sizeof off, "%s", g->officers);
    for (char *save = NULL, *p = strtok_r(off, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
        json_array_append_new(officers, utf8_json_string(p));
    }
    json_object_set_new(o, "officers", officers);
    set_time(o, "due_at", g->at_ms);
    char found_unit[INDEX_STR] = "", found_dev[INDEX_REF_TEXT] = "";
    /* The subject: refs joined by '>' (a ref may end in "#reason"). */
    char buf[sizeof g->subject];
    snprintf(buf, sizeof buf, "%s", g->subject);
    for (char *save = NULL, *p = strtok_r(buf, ">", &save); p; p = strtok_r(NULL, ">", &save)) {
        char *hash = strchr(p, '#');
        if (hash) {
            *hash = '\0';
        }
        uint8_t ref[INDEX_REF_BYTES];
        if (index_ref_parse(p, ref) != FT_OK) {
            continue;
        }
        if (!found_dev[0]) {
            snprintf(found_dev, sizeof found_dev, "%.*s", (int)(strchr(p, '/') - p), p);
        }
        index_item_t item;
        bool known = index_item_get(it, ref, &item) == FT_OK;
        if (known && item.kind == INDEX_MEDIA) {
            json_array_append_new(media, json_string(p));
            json_array_append_new(media_ids, utf8_json_string(item.media_id));
        } else {
            json_array_append_new(records, json_string(p));
            json_array_append_new(record_ids, utf8_json_string(known ? item.id : ""));
        }
        if (known && !found_unit[0]) {
            utf8_copy(found_unit, sizeof found_unit, item.unit);
        }
    }
    json_object_set_new(o, "records", records);
    json_object_set_new(o, "record_ids", record_ids);
    json_object_set_new(o, "media", media);
    json_object_set_new(o, "media_ids", media_ids);
    const char *u = found_unit[0] ? found_unit : unit ? unit : "";
    json_object_set_new(o, "unit", utf8_json_string(u));
    const char *d = found_dev[0] ? found_dev : device;
    json_object_set_new(o, "device", d && d[0] ? utf8_json_string(d) : json_null());
    return o;
}

static int apply_alerts(engine_t *e, index_txn_t *it, const index_unit_t *u, const gap_alerts_t *ga,
                        const char *unit, const char *device, int64_t now_ms, json_t *events)
{
    json_t **raised = calloc(ga->n ? ga->n : 1, sizeof *raised);
    if (!raised) {
        return FT_ENOMEM;
    }
    int err = FT_OK;
    for (size_t i = 0; i < ga->n; i++) {
        raised[i] = alert_json(it, &ga->items[i], unit, device);
        if (!raised[i]) {
            err = FT_ENOMEM;
        }
    }
    if (err == FT_OK) {
        err = alerts_apply(e->alerts, it, u, raised, ga->n, now_ms, events);
    }
    for (size_t i = 0; i < ga->n; i++) {
        json_decref(raised[i]);
    }
    free(raised);
    return err;
}

/* ---- case views ----------------------------------------------------------- */

void case_view_free(case_view_t *v)
{
    for (size_t i = 0; i < v->n_all; i++) {
        entry_view_free(&v->views[i]);
    }
    free(v->recs);
    free(v->rec_items);
    free(v->views);
    free(v->roles);
    free(v->primary);
    free(v->conflicts);
    free(v->conflict_keys);
    free(v->media);
    free(v->media_items);
    free(v->media_texts);
    free(v->ref_texts);
    memset(v, 0, sizeof *v);
}

static json_t *refs_with_role(const case_view_t *v, size_t i, ident_role role, bool self)
{
    json_t *a = json_array();
    if (a && self) {
        json_array_append_new(a, json_string(v->ref_texts[i]));
    }
    for (size_t j = v->c.n_records; a && j < v->n_all; j++) {
        if (v->primary[j] == i && v->roles[j] == role) {
            json_array_append_new(a, json_string(v->ref_texts[j]));
        }
    }
    return a;
}

json_t *case_view_witnesses(const case_view_t *v, size_t i)
{
    return refs_with_role(v, i, IDENT_WITNESS, true);
}

json_t *case_view_conflicting(const case_view_t *v, size_t i)
{
    return refs_with_role(v, i, IDENT_CONFLICT, false);
}

/* Loads the records among refs into v (recs, rec_items, views, ref_texts:
 * room for n each); media refs among them are appended to *mrefs. */
static int load_records(index_txn_t *it, store_txn_t *st, const uint8_t *refs, size_t n,
                        case_view_t *v, uint8_t **mrefs, size_t *mn)
{
    size_t k = 0;
    int err = FT_OK;
    for (size_t i = 0; i < n && err == FT_OK; i++) {
        const uint8_t *r = refs + i * INDEX_REF_BYTES;
        index_item_t *item = &v->rec_items[k];
        err = index_item_get(it, r, item);
        if (err != FT_OK) {
            break;
        }
        if (item->kind == INDEX_MEDIA) {
            /* explicit case media: a candidate like any other */
            uint8_t *bigger = realloc(*mrefs, (*mn + 1) * INDEX_REF_BYTES);
            if (!bigger) {
                err = FT_ENOMEM;
                break;
            }
            *mrefs = bigger;
            memcpy(*mrefs + *mn * INDEX_REF_BYTES, r, INDEX_REF_BYTES);
            (*mn)++;
            continue;
        }
        if (item->kind != INDEX_RECORD) {
            continue;
        }
        const uint8_t *raw = NULL;
        size_t len = 0;
        err = store_entry_get(st, r, lmdbx_get_u64(r + DEVID_BYTES),
                              lmdbx_get_u64(r + DEVID_BYTES + 8), &raw, &len);
        if (err == FT_OK) {
            err = entry_open(raw, len, &v->views[k]);
        }
        if (err != FT_OK) {
            break;
        }
        const Ft__Body *b = v->views[k].entry->body;
        if (!b || b->kind_case != FT__BODY__KIND_RECORD || !b->record) {
            entry_view_free(&v->views[k]);
            continue;
        }
        index_ref_text(r, v->ref_texts[k]);
        gap_record_t *g = &v->recs[k];
        g->ref = v->ref_texts[k];
        g->rec = b->record;
        g->start_ms = item->start_ms;
        g->end_ms = item->end_ms;
        g->time_ms = item->time_ms;
        k++;
        v->n_all = k;
    }
    return err;
}

/* Sorts the loaded records by identity (hub/gaps/identity.h): those to
 * evaluate first, then witnesses and conflicting versions; fills roles,
 * primary and the conflicts. */
static int group_identities(case_view_t *v)
{
    size_t n = v->n_all;
    ident_entry_t *ie = calloc(n ? n : 1, sizeof *ie);
    ident_out_t *out = calloc(n ? n : 1, sizeof *out);
    size_t *pos = calloc(n ? n : 1, sizeof *pos);
    gap_record_t *recs = calloc(n ? n : 1, sizeof *recs);
    index_item_t *items = calloc(n ? n : 1, sizeof *items);
    entry_view_t *views = calloc(n ? n : 1, sizeof *views);
    char(*texts)[INDEX_REF_TEXT] = calloc(n ? n : 1, sizeof *texts);
    v->roles = calloc(n ? n : 1, sizeof *v->roles);
    v->primary = calloc(n ? n : 1, sizeof *v->primary);
    ident_conflict_t *ic = NULL;
    size_t nic = 0;
    int err = ie && out && pos && recs && items && views && texts && v->roles && v->primary
                  ? FT_OK
                  : FT_ENOMEM;
    for (size_t i = 0; err == FT_OK && i < n; i++) {
        const index_item_t *it = &v->rec_items[i];
        const Ft__Record *rec = v->recs[i].rec;
        ie[i] = (ident_entry_t){.unit = it->unit,
                                .case_id = it->case_id,
                                .id = rec->id,
                                .amends = rec->amends,
                                .order = it->arrival,
                                .ref = v->ref_texts[i]};
        if (rec->id && rec->id[0]) {
            err = devlog_record_hash(rec, ie[i].content);
        }
    }
    if (err == FT_OK) {
        err = ident_group(ie, n, out, &ic, &nic);
    }
    /* New order: evaluated records (in load order), then the rest. */
    size_t k = 0;
    for (size_t pass = 0; err == FT_OK && pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            bool evaluated = out[i].role == IDENT_ALONE || out[i].role == IDENT_PRIMARY;
            if (evaluated == (pass == 0)) {
                pos[i] = k++;
            }
        }
        if (pass == 0) {
            v->c.n_records = k;
        }
    }
    if (err == FT_OK) {
        for (size_t i = 0; i < n; i++) {
            size_t p = pos[i];
            recs[p] = v->recs[i];
            items[p] = v->rec_items[i];
            views[p] = v->views[i];
            memcpy(texts[p], v->ref_texts[i], sizeof texts[p]);
            recs[p].ref = texts[p];
            v->roles[p] = out[i].role;
            v->primary[p] = pos[out[i].primary];
        }
        v->conflicts = calloc(nic ? nic : 1, sizeof *v->conflicts);
        v->conflict_keys = calloc(nic ? nic : 1, sizeof *v->conflict_keys);
        if (!v->conflicts || !v->conflict_keys) {
            err = FT_ENOMEM;
        }
    }
    for (size_t i = 0; err == FT_OK && i < nic; i++) {
        size_t a = pos[ic[i].primary], b = pos[ic[i].other];
        memcpy(v->conflict_keys[i], ic[i].key, sizeof v->conflict_keys[i]);
        v->conflicts[i] = (gap_conflict_t){.key = v->conflict_keys[i],
                                           .id = recs[a].rec->id,
                                           .ref_a = texts[a],
                                           .ref_b = texts[b],
                                           .at_ms = items[b].logged_ms + items[b].offset_ms};
    }
    if (err == FT_OK) {
        free(v->recs);
        free(v->rec_items);
        free(v->views);
        free(v->ref_texts);
        v->recs = recs;
        v->rec_items = items;
        v->views = views;
        v->ref_texts = texts;
        v->c.conflicts = v->conflicts;
        v->c.n_conflicts = nic;
        recs = NULL;
        items = NULL;
        views = NULL;
        texts = NULL;
    }
    free(ie);
    free(out);
    free(pos);
    free(recs);
    free(items);
    free(views);
    free(texts);
    free(ic);
    return err;
}

int case_view_load(index_txn_t *it, store_txn_t *st, const char *case_id, const uint8_t *ref,
                   case_view_t *v)
{
    memset(v, 0, sizeof *v);
    uint8_t *refs = NULL, *mrefs = NULL;
    size_t n = 0, mn = 0, mcap = 0;
    int err = FT_OK;
    if (case_id) {
        utf8_copy(v->case_id, sizeof v->case_id, case_id);
        err = index_case_refs(it, case_id, &refs, &n);
    } else {
        /* One caseless record, with the other entries of its identity. */
        index_item_t one;
        err = index_item_get(it, ref, &one);
        if (err == FT_OK && one.kind == INDEX_RECORD && one.id[0]) {
            err = index_identity_refs(it, one.unit, one.id, &refs, &n);
        }
        if (err == FT_OK && n == 0) {
            free(refs);
            refs = malloc(INDEX_REF_BYTES);
            if (!refs) {
                return FT_ENOMEM;
            }
            memcpy(refs, ref, INDEX_REF_BYTES);
            n = 1;
        }
    }
    if (err != FT_OK) {
        free(refs);
        return err;
    }
    v->recs = calloc(n ? n : 1, sizeof *v->recs);
    v->rec_items = calloc(n ? n : 1, sizeof *v->rec_items);
    v->views = calloc(n ? n : 1, sizeof *v->views);
    v->ref_texts = calloc(n ? n : 1, sizeof *v->ref_texts);
    if (!v->recs || !v->rec_items || !v->views || !v->ref_texts) {
        err = FT_ENOMEM;
        goto out;
    }
    err = load_records(it, st, refs, n, v, &mrefs, &mn);
    if (err == FT_OK) {
        err = group_identities(v);
    }
    if (err != FT_OK) {
        goto out;
    }
    if (!case_id) {
        /* The unit of `ref`: it is evaluated only if it is the primary. */
        char want[INDEX_REF_TEXT];
        index_ref_text(ref, want);
        bool primary = false;
        for (size_t i = 0; i < v->c.n_records && !primary; i++) {
            primary = strcmp(v->ref_texts[i], want) == 0;
        }
        if (!primary) {
            v->c.n_records = 0;
            v->c.n_conflicts = 0;
        }
    }
    size_t k = v->c.n_records;
    mcap = mn;
    err = index_media_candidates(it, v->recs, k, &mrefs, &mn, &mcap);
    if (err != FT_OK) {
        goto out;
    }
    /* Remove duplicates that explicit case media and candidates share. */
    size_t un = 0;
    for (size_t i = 0; i < mn; i++) {
        bool dup = false;
        for (size_t j = 0; j < un && !dup; j++) {
            dup = memcmp(mrefs + j * INDEX_REF_BYTES, mrefs + i * INDEX_REF_BYTES,
                         INDEX_REF_BYTES) == 0;
        }
        if (!dup) {
            memmove(mrefs + un * INDEX_REF_BYTES, mrefs + i * INDEX_REF_BYTES, INDEX_REF_BYTES);
            un++;
        }
    }
    mn = un;
    v->media = calloc(mn ? mn : 1, sizeof *v->media);
    v->media_items = calloc(mn ? mn : 1, sizeof *v->media_items);
    v->media_texts = calloc(mn ? mn : 1, sizeof *v->media_texts);
    if (!v->media || !v->media_items || !v->media_texts) {
        err = FT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < mn; i++) {
        index_item_t *m = &v->media_items[i];
        err = index_item_get(it, mrefs + i * INDEX_REF_BYTES, m);
        if (err != FT_OK) {
            goto out;
        }
        char *text = v->media_texts[i];
        index_ref_text(m->ref, text);
        gap_media_t *g = &v->media[i];
        g->ref = text;
        g->media_id = m->media_id;
        g->case_id = m->case_id[0] ? m->case_id : NULL;
        g->officer = m->officer[0] ? m->officer : NULL;
        g->recorder = m->recorder[0] ? m->recorder : NULL;
        g->start_ms = m->start_ms;
        g->end_ms = m->end_ms;
    }
    v->c.case_id = v->case_id;
    v->c.records = v->recs;
    v->c.media = v->media;
    v->c.n_media = mn;
out:
    free(refs);
    free(mrefs);
    if (err != FT_OK) {
        case_view_free(v);
    }
    return err;
}

/* ---- step 1: catch up ------------------------------------------------------ */

/* A device's offset and unit, looked up once per batch. */
typedef struct {
    uint8_t device[DEVID_BYTES];
    int64_t offset_ms;
    char unit[STORE_NAME_MAX];
} devinfo_t;

typedef struct {
    engine_t *e;
    index_txn_t *it;
    store_txn_t *st;
    int64_t now;
    json_t *events;
    size_t taken;
    uint64_t last;
    devinfo_t devs[32];
    size_t n_devs;
    int err;
} tail_t;

static const devinfo_t *devinfo(tail_t *t, const uint8_t *device)
{
    for (size_t i = 0; i < t->n_devs; i++) {
        if (memcmp(t->devs[i].device, device, DEVID_BYTES) == 0) {
            return &t->devs[i];
        }
    }
    if (t->n_devs == sizeof t->devs / sizeof t->devs[0]) {
        t->n_devs = 0; /* a simple cache: start over */
    }
    devinfo_t *d = &t->devs[t->n_devs++];
    memset(d, 0, sizeof *d);
    memcpy(d->device, device, DEVID_BYTES);
    store_status_t st;
    if (store_status_get(t->st, device, &st) == FT_OK && st.has_clock_offset) {
        int64_t off = st.clock_offset_ms;
        d->offset_ms = (off < 0 ? -off : off) < INDEX_MIN_OFFSET_MS ? 0 : off;
    }
    store_device_t dev;
    if (store_device_get(t->st, device, &dev) == FT_OK) {
        utf8_copy(d->unit, sizeof d->unit, dev.unit);
    }
    return d;
}

static int tail_one(void *ctx, const store_entry_t *en)
{
    tail_t *t = ctx;
    if (t->taken >= t->e->o.batch) {
        return 1;
    }
    t->taken++;
    t->last = en->arrival;
    entry_view_t v;
    if (entry_open(en->raw, en->len, &v) != FT_OK) {
        return FT_OK; /* verified before it was stored; nothing to index */
    }
    const devinfo_t *d = devinfo(t, en->device);
    char justify[64];
    int err = index_add_entry(t->it, en, &v, d->offset_ms, d->unit, justify, sizeof justify);
    if (err == FT_OK && justify[0]) {
        const Ft__Record *rec = v.entry->body->record;
        const Ft__FieldValue *reason = record_field(rec, "reason");
        char ref[INDEX_REF_TEXT];
        uint8_t rb[INDEX_REF_BYTES];
        index_ref_make(rb, en->device, en->epoch, en->seq);
        index_ref_text(rb, ref);
        err = alerts_justify(
            t->e->alerts, t->it, justify, ref, rec->n_officers ? rec->officers[0] : NULL,
            reason && reason->value_case == FT__FIELD_VALUE__VALUE_TEXT ? reason->text : "", t->now,
            t->events);
    }
    entry_view_free(&v);
    if (err != FT_OK) {
        t->err = err;
        return err;
    }
    return FT_OK;
}

int engine_catch_up(engine_t *e, int64_t now_ms, engine_stats_t *st)
{
    for (;;) {
        tail_t t = {.e = e, .now = now_ms};
        int err = index_begin(e->idx, true, &t.it);
        if (err != FT_OK) {
            return err;
        }
        uint64_t cursor = 0, integ = 0;
        err = index_cursor(t.it, &cursor, &integ);
        if (err == FT_OK) {
            err = store_begin(e->o.store, false, &t.st);
        }
        t.events = json_array();
        if (err == FT_OK) {
            err = store_entries_since(e->o.store, cursor, tail_one, &t);
            if (err == 1) {
                err = FT_OK;
            }
        }
        store_abort(&t.st);
        if (err == FT_OK && t.taken == 0) {
            index_abort(&t.it);
            json_decref(t.events);
            break;
        }
        if (err == FT_OK) {
            err = index_set_cursor(t.it, t.last, integ);
        }
        if (err == FT_OK) {
            err = finish_batch(e, &t.it, t.events);
        }
        index_abort(&t.it);
        if (st && err == FT_OK) {
            st->entries += t.taken;
            st->events += json_array_size(t.events);
        }
        json_decref(t.events);
        if (err != FT_OK) {
            return err;
        }
    }
    return FT_OK;
}

/* ---- steps 2 and 3: integrity and clocks ----------------------------------- */

typedef struct {
    engine_t *e;
    index_txn_t *it;
    store_txn_t *st;
    int64_t now;
    json_t *events;
    uint64_t last;
    int err;
} side_t;

static int integrity_one(void *ctx, const store_integrity_t *ev)
{
    side_t *s = ctx;
    char dev[DEVID_TEXT_SIZE], subject[160];
    devid_format(ev->device, dev);
    snprintf(subject, sizeof subject, "%s/%llu/%llu#%s", dev, (unsigned long long)ev->epoch,
             (unsigned long long)ev->seq, ev->reason);
    store_device_t d;
    const char *unit = store_device_get(s->st, ev->device, &d) == FT_OK ? d.unit : "";
    gap_alerts_t ga = {0};
    int err = gaps_integrity(s->e->o.pack, dev, ev->reason, subject, ev->detail, ev->time_ms, &ga);
    if (err == FT_OK) {
        index_unit_t u;
        index_unit_integrity(&u, ev->id);
        err = apply_alerts(s->e, s->it, &u, &ga, unit, dev, s->now, s->events);
    }
    gap_alerts_free(&ga);
    s->last = ev->id;
    s->err = err;
    return err;
}

static int clock_one(void *ctx, const store_device_t *d)
{
    side_t *s = ctx;
    store_status_t st;
    int64_t seen = 0;
    int err = store_status_get(s->st, d->device, &st);
    if (err == FT_OK) {
        err = index_devseen_get(s->it, d->device, &seen);
    }
    if (err != FT_OK || !st.has_clock_offset || st.last_hello_ms == seen) {
        return err;
    }
    char dev[DEVID_TEXT_SIZE];
    devid_format(d->device, dev);
    gap_alerts_t ga = {0};
    err = gaps_eval_clock(s->e->o.pack, dev, st.clock_offset_ms, st.last_hello_ms, &ga);
    if (err == FT_OK) {
        index_unit_t u;
        index_unit_device(&u, d->device);
        err = apply_alerts(s->e, s->it, &u, &ga, d->unit, dev, s->now, s->events);
    }
    gap_alerts_free(&ga);
    if (err == FT_OK) {
        err = index_devseen_put(s->it, d->device, st.last_hello_ms);
    }
    s->err = err;
    return err;
}

static int side_steps(engine_t *e, int64_t now_ms, engine_stats_t *stats)
{
    side_t s = {.e = e, .now = now_ms};
    int err = index_begin(e->idx, true, &s.it);
    if (err != FT_OK) {
        return err;
    }
    uint64_t cursor = 0, integ = 0;
    err = index_cursor(s.it, &cursor, &integ);
    if (err == FT_OK) {
        err = store_begin(e->o.store, false, &s.st);
    }
    s.events = json_array();
    s.last = integ;
    if (err == FT_OK) {
        err = store_integrity_iter(s.st, integ, integrity_one, &s);
    }
    if (err == FT_OK) {
        err = store_device_iter(s.st, clock_one, &s);
    }
    store_abort(&s.st);
    if (err == FT_OK && s.last != integ) {
        err = index_set_cursor(s.it, cursor, s.last);
    }
    if (err == FT_OK) {
        err = finish_batch(e, &s.it, s.events);
    }
    index_abort(&s.it);
    if (stats && err == FT_OK) {
        stats->events += json_array_size(s.events);
    }
    json_decref(s.events);
    return err;
}

/* ---- steps 4 and 5: deadlines and dirty units ------------------------------- */

static int eval_unit(engine_t *e, index_txn_t *it, store_txn_t *st, const index_unit_t *u,
                     int64_t now_ms, json_t *events)
{
    gap_alerts_t ga = {0};
    int64_t next = INT64_MAX;
    int err = FT_OK;
    if (u->b[0] == 'C' || (u->b[0] == 'R' && u->n == 1 + INDEX_REF_BYTES)) {
        char case_id[INDEX_STR];
        case_view_t v;
        if (u->b[0] == 'C') {
            size_t cn = u->n - 1 < sizeof case_id - 1 ? u->n - 1 : sizeof case_id - 1;
            memcpy(case_id, u->b + 1, cn);
            case_id[cn] = '\0';
            err = case_view_load(it, st, case_id, NULL, &v);
        } else {
            err = case_view_load(it, st, NULL, u->b + 1, &v);
        }
        if (err == FT_ENOTFOUND) {
            return FT_OK;
        }
        if (err != FT_OK) {
            return err;
        }
        err = gaps_eval_case(e->o.pack, &v.c, now_ms, &ga);
        next = gaps_next_deadline(e->o.pack, &v.c, now_ms);
        if (err == FT_OK) {
            err = apply_alerts(e, it, u, &ga, NULL, NULL, now_ms, events);
        }
        case_view_free(&v);
    } else if (u->b[0] == 'M' && u->n == 1 + INDEX_REF_BYTES) {
        index_item_t m;
        err = index_item_get(it, u->b + 1, &m);
        if (err == FT_ENOTFOUND) {
            return FT_OK;
        }
        bool linked = false;
        /* A superseded clip (index.c) raises nothing: the whole copy that
         * replaced it is judged instead, and what it had raised resolves. */
        bool superseded = err == FT_OK && m.kind != INDEX_MEDIA;
        if (err == FT_OK && !superseded) {
            err = index_media_linked(it, &m, &linked);
        }
        char ref[INDEX_REF_TEXT];
        index_ref_text(m.ref, ref);
        gap_media_t g = {.ref = ref,
                         .media_id = m.media_id,
                         .case_id = m.case_id[0] ? m.case_id : NULL,
                         .officer = m.officer[0] ? m.officer : NULL,
                         .recorder = m.recorder[0] ? m.recorder : NULL,
                         .start_ms = m.start_ms,
                         .end_ms = m.end_ms};
        if (err == FT_OK && !superseded) {
            err = gaps_eval_media(e->o.pack, &g, linked, now_ms, &ga);
        }
        const rule_t *rule = rules_find_kind(e->o.pack, RULE_UNLINKED_MEDIA);
        if (rule && !superseded && !linked && !g.case_id && now_ms <= m.end_ms + rule->grace_ms) {
            next = m.end_ms + rule->grace_ms + 1;
        }
        if (err == FT_OK) {
            err = apply_alerts(e, it, u, &ga, NULL, NULL, now_ms, events);
        }
    } else {
        return FT_OK; /* devices and integrity events are judged in side_steps */
    }
    if (err == FT_OK) {
        err = index_set_deadline(it, u, next);
    }
    gap_alerts_free(&ga);
    return err;
}

static int evaluate_dirty(engine_t *e, int64_t now_ms, engine_stats_t *stats)
{
    index_unit_t *units = malloc(ENGINE_UNIT_BATCH * sizeof *units);
    if (!units) {
        return FT_ENOMEM;
    }
    int err = FT_OK;
    for (;;) {
        index_txn_t *it = NULL;
        store_txn_t *st = NULL;
        size_t n = 0;
        err = index_begin(e->idx, true, &it);
        if (err == FT_OK) {
            err = index_take_dirty(it, units, ENGINE_UNIT_BATCH, &n);
        }
        if (err != FT_OK || n == 0) {
            index_abort(&it);
            break;
        }
        err = store_begin(e->o.store, false, &st);
        json_t *events = json_array();
        for (size_t i = 0; err == FT_OK && i < n; i++) {
            err = eval_unit(e, it, st, &units[i], now_ms, events);
        }
        store_abort(&st);
        if (err == FT_OK) {
            err = finish_batch(e, &it, events);
        }
        index_abort(&it);
        if (stats && err == FT_OK) {
            stats->units += n;
            stats->events += json_array_size(events);
        }
        json_decref(events);
        if (err != FT_OK) {
            break;
        }
    }
    free(units);
    return err;
}

/* ---- step 4: justifications entered at the hub (dashboard) ------------------ */

/* State of one pass over the hub's own log. */
typedef struct {
    engine_t *e;
    index_txn_t *it;
    int64_t now;
    json_t *events;
    uint64_t last;
    int err;
} hubjust_t;

static int hub_justification_one(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    hubjust_t *h = ctx;
    h->last = seq;
    entry_view_t v;
    if (entry_open(raw, len, &v) != FT_OK) {
        return 0; /* the hub's own log verifies separately (`verify`) */
    }
    const Ft__Body *b = v.entry->body;
    if (b->kind_case == FT__BODY__KIND_RECORD &&
        b->record->type == FT__RECORD_TYPE__JUSTIFICATION) {
        const Ft__FieldValue *alert = record_field(b->record, "alert");
        const Ft__FieldValue *reason = record_field(b->record, "reason");
        if (alert && alert->value_case == FT__FIELD_VALUE__VALUE_TEXT && alert->text[0]) {
            char ref[48];
            snprintf(ref, sizeof ref, "hub log entry %llu", (unsigned long long)seq);
            /* The dashboard names its user as the record's officer. */
            int err = alerts_justify(
                h->e->alerts, h->it, alert->text, ref,
                b->record->n_officers ? b->record->officers[0] : NULL,
                reason && reason->value_case == FT__FIELD_VALUE__VALUE_TEXT ? reason->text : "",
                h->now, h->events);
            if (err != FT_OK) {
                h->err = err;
                entry_view_free(&v);
                return 1;
            }
        }
    }
    entry_view_free(&v);
    return 0;
}

/* Applies `justification` records that supervisors entered at the hub (they
 * are signed into the hub's own log, not a device log). */
static int hub_justifications(engine_t *e, int64_t now_ms, engine_stats_t *st)
{
    if (!e->o.hublog) {
        return FT_OK;
    }
    hubjust_t h = {.e = e, .now = now_ms};
    int err = index_begin(e->idx, true, &h.it);
    if (err != FT_OK) {
        return err;
    }
    uint64_t cursor = index_named_cursor(h.it, "hublog_cursor");
    h.last = cursor;
    h.events = json_array();
    int rc = devlog_iter(e->o.hublog, cursor + 1, 0, hub_justification_one, &h);
    err = h.err != FT_OK ? h.err : (rc < 0 ? rc : FT_OK);
    if (err == FT_OK && h.last != cursor) {
        err = index_set_named_cursor(h.it, "hublog_cursor", h.last);
        if (err == FT_OK) {
            err = finish_batch(e, &h.it, h.events);
        }
        if (st && err == FT_OK) {
            st->events += json_array_size(h.events);
        }
    }
    index_abort(&h.it);
    json_decref(h.events);
    return err;
}

int engine_step(engine_t *e, int64_t now_ms, engine_stats_t *st)
{
    int err = engine_catch_up(e, now_ms, st);
    if (err == FT_OK) {
        err = side_steps(e, now_ms, st);
    }
    if (err == FT_OK) {
        err = hub_justifications(e, now_ms, st);
    }
    if (err == FT_OK) {
        index_txn_t *it = NULL;
        size_t due = 0;
        err = index_begin(e->idx, true, &it);
        if (err == FT_OK) {
            err = index_due(it, now_ms, &due);
        }
        if (err == FT_OK && due) {
            err = index_commit(&it);
        }
        index_abort(&it);
        if (st) {
            st->due += due;
        }
    }
    if (err == FT_OK) {
        err = evaluate_dirty(e, now_ms, st);
    }
    return err;
}

int engine_full(engine_t *e, int64_t now_ms, engine_stats_t *st)
{
    int err = engine_catch_up(e, now_ms, st);
    index_txn_t *it = NULL;
    size_t n = 0;
    if (err == FT_OK) {
        err = index_begin(e->idx, true, &it);
    }
    if (err == FT_OK) {
        err = index_mark_all(it, &n);
    }
    if (err == FT_OK) {
        err = index_commit(&it);
    }
    index_abort(&it);
    if (err == FT_OK) {
        err = engine_step(e, now_ms, st);
    }
    return err;
}
