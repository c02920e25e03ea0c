/* engine.c: the evaluation steps (see engine.h for the order and the crash
 * behaviour). */
#include "engine.h"
#include "bodyjson.h"
#include "gapinput.h"
#include "devlog.h"
#include "entry.h"
#include "lmdbx.h"
#include "logging.h"
#include "record.h"
#include "utf8.h"

#include <sodium.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENGINE_DEFAULT_BATCH 2048
#define ENGINE_UNIT_BATCH 256
#define ENGINE_BACKLOG_GROWTH 16
#define ENGINE_UNIT_BATCH_MAX 2048

/* A vehicle cuts text as the index does (hub/gaps/gapinput.h), so that its
 * cases and alert IDs are the hub's. */
_Static_assert(GAPINPUT_TEXT == INDEX_STR, "gapinput cuts text as the index does");

struct engine_t {
    engine_opts_t o;
    index_t *idx;
    alerts_t *alerts;
    int log_err;      /* the last hub-log append failure, until one succeeds */
    size_t due_taken; /* units due_in marked (for engine_stats_t) */
};

/* An index of an older layout is upgraded when the engine opens it, said in
 * the log before and after (it reads every record once). */
static void upgrade_note(void *ctx, uint64_t from, uint64_t to, size_t records, bool done)
{
    (void)ctx;
    if (!done) {
        log_info("case index: upgrading from layout %llu to %llu (the compact form of each "
                 "record, read once from the store)",
                 (unsigned long long)from, (unsigned long long)to);
    } else {
        log_info("case index: upgraded to layout %llu (%zu records)", (unsigned long long)to,
                 records);
    }
}

/* An evaluation makes and frees many small JSON values between the
 * 4 KiB pages LMDB allocates; with glibc's fast bins every such page (and
 * every free that merges a large region) first consolidated all of them,
 * a tenth of a first evaluation's CPU (docs/benchmarks.md). Without fast
 * bins small blocks still come from the per-thread cache. */
static void malloc_tune(void)
{
#ifdef M_MXFAST
    (void)mallopt(M_MXFAST, 0);
#endif
}

int engine_new(const char *index_dir, size_t map_size, const engine_opts_t *opts, engine_t **out)
{
    *out = NULL;
    malloc_tune();
    engine_t *e = calloc(1, sizeof *e);
    if (!e) {
        return FT_ENOMEM;
    }
    e->o = *opts;
    if (!e->o.batch) {
        e->o.batch = ENGINE_DEFAULT_BATCH;
    }
    if (!e->o.events_per_entry || e->o.events_per_entry > ALERT_BATCH_MAX_EVENTS) {
        e->o.events_per_entry = ALERT_BATCH_MAX_EVENTS;
    }
    int err = index_open(index_dir, map_size, &e->idx);
    if (err == FT_OK) {
        err = index_lazy_meta(e->idx); /* docs/alerts.md "Durability of the index" */
    }
    if (err == FT_OK && e->o.store) {
        err = index_upgrade(e->idx, e->o.store, upgrade_note, NULL);
    }
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

/* The batch's events as AlertEvents entries (entry.h: ALERT_BATCH_MAX_EVENTS
 * and ALERT_BATCH_MAX_BYTES an entry), in order, in transaction lt. */
static int append_events(devlog_txn_t *lt, const alert_events_t *events, size_t per_entry,
                         uint64_t *first, uint64_t *last)
{
    size_t n = events->n;
    Ft__AlertEvent *ae = calloc(n ? n : 1, sizeof *ae);
    Ft__AlertEvent **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    int err = ae && ptrs ? FT_OK : FT_ENOMEM;
    for (size_t i = 0; err == FT_OK && i < n; i++) {
        json_t *ev = json_array_get(events->list, i);
        json_t *alert = json_object_get(ev, "alert");
        ft__alert_event__init(&ae[i]);
        ae[i].alert_id = (char *)json_string_value(json_object_get(ev, "alert_id"));
        ae[i].rule = (char *)json_string_value(json_object_get(alert, "rule"));
        ae[i].state = (char *)json_string_value(json_object_get(ev, "state"));
        ae[i].case_id = (char *)json_string_value(json_object_get(alert, "case"));
        ae[i].detail_json = events->texts[i]; /* as in history (alerts.h) */
        ptrs[i] = &ae[i];
        if (!ae[i].alert_id || !ae[i].rule || !ae[i].state) {
            err = FT_EINVAL;
        }
    }
    for (size_t i = 0; err == FT_OK && i < n;) {
        size_t k = entry_alert_batch_take(ptrs + i, n - i, per_entry, ALERT_BATCH_MAX_BYTES);
        Ft__AlertEvents batch = FT__ALERT_EVENTS__INIT;
        batch.n_events = k;
        batch.events = ptrs + i;
        Ft__Body body = FT__BODY__INIT;
        body.kind_case = FT__BODY__KIND_ALERTS;
        body.alerts = &batch;
        err = devlog_append(lt, &body, last);
        if (err == FT_OK && i == 0) {
            *first = *last;
        }
        i += k;
    }
    free(ptrs);
    free(ae);
    return err;
}

/* A device's applied clock offset that changed in this batch: a ClockOffset
 * entry of the hub log (proto/entry.proto), for the provincial node. */
typedef struct {
    uint8_t device[DEVID_BYTES];
    int64_t offset_ms;
    uint64_t from_arrival;
} offset_change_t;

typedef struct {
    offset_change_t *v;
    size_t n, cap;
} offset_changes_t;

/* The batch's clock offset changes as ClockOffset entries, in lt; *first
 * (when still 0) and *last get the seqs of the first and last written. */
static int append_offsets(devlog_txn_t *lt, const offset_changes_t *changes, uint64_t *first,
                          uint64_t *last)
{
    int err = FT_OK;
    for (size_t i = 0; err == FT_OK && changes && i < changes->n; i++) {
        Ft__ClockOffset co = FT__CLOCK_OFFSET__INIT;
        co.device.data = (uint8_t *)changes->v[i].device;
        co.device.len = DEVID_BYTES;
        co.offset_ms = changes->v[i].offset_ms;
        co.from_arrival = changes->v[i].from_arrival;
        Ft__Body body = FT__BODY__INIT;
        body.kind_case = FT__BODY__KIND_CLOCK;
        body.clock = &co;
        err = devlog_append(lt, &body, last);
        if (err == FT_OK && *first == 0) {
            *first = *last;
        }
    }
    return err;
}

/* Hub log first, then the index, then the sink (engine.h). A batch's clock
 * offset changes go to the hub log before its alert events, in the same
 * transaction: an index that commits has logged the offsets it applied, and
 * one that does not takes its entries again and logs them again (the later
 * entry wins, proto/entry.proto ClockOffset). */
static int finish_batch(engine_t *e, index_txn_t **it, alert_events_t *events,
                        const offset_changes_t *changes)
{
    size_t n = events->n;
    int err = FT_OK;
    uint64_t first = 0, last = 0;
    if ((n || (changes && changes->n)) && e->o.hublog) {
        devlog_txn_t *lt = NULL;
        err = devlog_begin(e->o.hublog, &lt);
        if (err == FT_OK) {
            err = append_offsets(lt, changes, &first, &last);
        }
        if (err == FT_OK && n) {
            uint64_t efirst = 0;
            err = append_events(lt, events, e->o.events_per_entry, &efirst, &last);
            first = first ? first : efirst;
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
    /* The justifications of the hub log were read up to the entry before
     * these (the cursor is next to them): the next pass starts after them,
     * instead of decoding and hashing its own alert events again at every
     * step. Entries another writer put in between (first > cursor + 1) are
     * still read. Failing here is failing to commit the index (below): the
     * cursor stays before them, and they are read once. */
    if (first && index_named_cursor(*it, "hublog_cursor") + 1 == first) {
        err = index_set_named_cursor(*it, "hublog_cursor", last);
    }
    if (err == FT_OK) {
        err = index_commit(it);
    }
    if (err != FT_OK) {
        index_abort(it);
        return err;
    }
    if (e->o.sink) {
        for (size_t i = 0; i < n; i++) {
            e->o.sink(e->o.sink_ctx, json_array_get(events->list, i));
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
    if (g->detail_tpl[0]) { /* the same specifics as data (docs/alerts.md) */
        json_t *args = json_loads(g->detail_args, 0, NULL);
        json_object_set_new(o, "detail_tpl", json_string(g->detail_tpl));
        json_object_set_new(o, "detail_args", args ? args : json_object());
    }
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
                        const char *unit, const char *device, int64_t now_ms,
                        alert_events_t *events)
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

/* What a unit raised, as a digest: everything of each alert that the alert
 * tables keep from it (gaps.h gap_alert_t: alerts_apply updates the detail
 * and the officers of a known alert), in the order raised. A field added to
 * gap_alert_t that alerts_apply keeps current belongs here too. */
static void raised_digest(const gap_alerts_t *ga, uint8_t out[INDEX_DIGEST_BYTES])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, INDEX_DIGEST_BYTES);
    uint8_t n[8];
    lmdbx_put_u64(n, ga->n);
    crypto_generichash_update(&h, n, sizeof n);
    for (size_t i = 0; i < ga->n; i++) {
        const gap_alert_t *g = &ga->items[i];
        const char *parts[] = {g->rule ? g->rule->id : "",
                               g->id,
                               g->article,
                               g->case_id,
                               g->subject,
                               g->detail,
                               g->detail_tpl,
                               g->detail_args,
                               g->officers};
        for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
            /* each with its terminator: no two lists hash alike */
            crypto_generichash_update(&h, (const uint8_t *)parts[p], strlen(parts[p]) + 1);
        }
        lmdbx_put_u64(n, (uint64_t)g->at_ms);
        crypto_generichash_update(&h, n, sizeof n);
    }
    crypto_generichash_final(&h, out, INDEX_DIGEST_BYTES);
}

/* apply_alerts for a case, record or media unit, skipped when the unit
 * raises exactly what it raised when its alerts were last made current:
 * then alerts_apply would change nothing (every alert it raised is open or
 * justified since, and the ones it no longer raised are resolved or
 * justified: a justification is final, and nothing else moves an alert of
 * the unit), and a re-evaluation costs no alert JSON and no row reads. */
static int apply_unit_alerts(engine_t *e, index_txn_t *it, const index_unit_t *u,
                             const gap_alerts_t *ga, int64_t now_ms, alert_events_t *events)
{
    uint8_t now_d[INDEX_DIGEST_BYTES], last[INDEX_DIGEST_BYTES];
    bool found = false;
    raised_digest(ga, now_d);
    int err = index_unit_digest(it, u, last, &found);
    if (err != FT_OK || (found && memcmp(now_d, last, sizeof last) == 0)) {
        return err;
    }
    err = apply_alerts(e, it, u, ga, NULL, NULL, now_ms, events);
    if (err == FT_OK) {
        err = index_set_unit_digest(it, u, now_d);
    }
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
    for (size_t i = 0; i < v->n_compact; i++) {
        free(v->compact[i]);
    }
    free(v->compact);
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
 * room for n each); media refs among them are appended to *mrefs. With
 * compact, a record whose index row holds its compact form is made from it
 * (v->compact) instead of being read from the store. */
static int load_records(index_txn_t *it, store_txn_t *st, const uint8_t *refs, size_t n,
                        case_view_t *v, uint8_t **mrefs, size_t *mn, bool compact)
{
    size_t k = 0;
    int err = FT_OK;
    if (compact) {
        v->compact = calloc(n ? n : 1, sizeof *v->compact);
        if (!v->compact) {
            return FT_ENOMEM;
        }
    }
    for (size_t i = 0; i < n && err == FT_OK; i++) {
        const uint8_t *r = refs + i * INDEX_REF_BYTES;
        index_item_t *item = &v->rec_items[k];
        Ft__Record *crec = NULL;
        err = compact ? index_item_get_compact(it, r, item, &crec) : index_item_get(it, r, item);
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
            free(crec);
            continue;
        }
        const Ft__Record *rec = NULL;
        if (crec) {
            v->compact[v->n_compact++] = crec;
            rec = crec;
        } else {
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
            rec = b->record;
        }
        index_ref_text(r, v->ref_texts[k]);
        gap_record_t *g = &v->recs[k];
        g->ref = v->ref_texts[k];
        g->rec = rec;
        g->start_ms = item->start_ms;
        g->end_ms = item->end_ms;
        g->time_ms = item->time_ms;
        k++;
        v->n_all = k;
    }
    return err;
}

/* Identity order without the content (unit, case, id), for grouping. */
static int by_ident(const void *pa, const void *pb, void *ctx)
{
    const ident_entry_t *ie = ctx;
    const ident_entry_t *a = &ie[*(const size_t *)pa], *b = &ie[*(const size_t *)pb];
    int c = strcmp(a->unit ? a->unit : "", b->unit ? b->unit : "");
    if (c == 0) {
        c = strcmp(a->case_id ? a->case_id : "", b->case_id ? b->case_id : "");
    }
    if (c == 0) {
        c = strcmp(a->id, b->id);
    }
    return c;
}

/* The content hash of record i (identity.h), from its decoded record or,
 * when it was made from the compact form, from its stored entry. */
static int content_hash(store_txn_t *st, const case_view_t *v, size_t i, uint8_t out[32])
{
    if (v->views[i].entry) {
        return devlog_record_hash(v->recs[i].rec, out);
    }
    const uint8_t *r = v->rec_items[i].ref;
    const uint8_t *raw = NULL;
    size_t len = 0;
    entry_view_t ev;
    int err = store_entry_get(st, r, lmdbx_get_u64(r + DEVID_BYTES),
                              lmdbx_get_u64(r + DEVID_BYTES + 8), &raw, &len);
    if (err == FT_OK) {
        err = entry_open(raw, len, &ev);
    }
    if (err != FT_OK) {
        return err;
    }
    const Ft__Body *b = ev.entry->body;
    err = b && b->kind_case == FT__BODY__KIND_RECORD && b->record
              ? devlog_record_hash(b->record, out)
              : FT_ECORRUPT;
    entry_view_free(&ev);
    return err;
}

/* Fills the content hashes that grouping compares: those of entries that
 * share their identity with another entry of the view (ident_same). A
 * record alone in its identity -- nearly every record -- is never hashed,
 * and its hash is never read (identity.c). */
static int hash_shared_identities(store_txn_t *st, const case_view_t *v, ident_entry_t *ie,
                                  size_t n)
{
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!order) {
        return FT_ENOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (ie[i].id && ie[i].id[0]) {
            order[m++] = i;
        }
    }
    qsort_r(order, m, sizeof *order, by_ident, ie);
    int err = FT_OK;
    for (size_t g = 0; g < m && err == FT_OK;) {
        size_t end = g + 1;
        while (end < m && by_ident(&order[g], &order[end], ie) == 0) {
            end++;
        }
        bool shared = false;
        for (size_t a = g; a < end && !shared; a++) {
            for (size_t b = a + 1; b < end && !shared; b++) {
                shared = ident_same(&ie[order[a]], &ie[order[b]]);
            }
        }
        for (size_t a = g; shared && a < end && err == FT_OK; a++) {
            err = content_hash(st, v, order[a], ie[order[a]].content);
        }
        g = end;
    }
    free(order);
    return err;
}

/* Sorts the loaded records by identity (hub/gaps/identity.h): those to
 * evaluate first, then witnesses and conflicting versions; fills roles,
 * primary and the conflicts. */
static int group_identities(case_view_t *v, store_txn_t *st)
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
    }
    if (err == FT_OK) {
        err = hash_shared_identities(st, v, ie, n);
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

static int view_load(index_txn_t *it, store_txn_t *st, const char *case_id, const uint8_t *ref,
                     case_view_t *v, bool compact)
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
    err = load_records(it, st, refs, n, v, &mrefs, &mn, compact);
    if (err == FT_OK) {
        err = group_identities(v, st);
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

int case_view_load(index_txn_t *it, store_txn_t *st, const char *case_id, const uint8_t *ref,
                   case_view_t *v)
{
    return view_load(it, st, case_id, ref, v, false);
}

int case_view_load_compact(index_txn_t *it, store_txn_t *st, const char *case_id,
                           const uint8_t *ref, case_view_t *v)
{
    return view_load(it, st, case_id, ref, v, true);
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
    alert_events_t *events;
    offset_changes_t *changes;
    size_t taken;
    size_t limit; /* entries this batch takes */
    uint64_t last;
    devinfo_t devs[32];
    size_t n_devs;
    int err;
    entry_arena_t arena; /* each entry decoded into it, then reset */
} tail_t;

/* The index's meta name of the offset last applied to device and logged. */
static void offset_key(const uint8_t *device, char key[64])
{
    char hex[2 * DEVID_BYTES + 1];
    hex_encode(device, DEVID_BYTES, hex);
    snprintf(key, 64, "clock_offset/%s", hex);
}

/* The offset applied to device from arrival on differs from the one last
 * logged: the change goes to the hub log with this batch (finish_batch) and
 * its value into the index, committed together. Without a hub log, nothing. */
static int offset_note(tail_t *t, const uint8_t *device, int64_t offset_ms, uint64_t arrival)
{
    if (!t->e->o.hublog || !t->changes) {
        return FT_OK;
    }
    char key[64];
    offset_key(device, key);
    if ((int64_t)index_named_cursor(t->it, key) == offset_ms) {
        return FT_OK;
    }
    offset_changes_t *c = t->changes;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        offset_change_t *grown = realloc(c->v, cap * sizeof *grown);
        if (!grown) {
            return FT_ENOMEM;
        }
        c->v = grown;
        c->cap = cap;
    }
    offset_change_t *ch = &c->v[c->n++];
    memcpy(ch->device, device, DEVID_BYTES);
    ch->offset_ms = offset_ms;
    ch->from_arrival = arrival;
    return index_set_named_cursor(t->it, key, (uint64_t)offset_ms);
}

static const devinfo_t *devinfo(tail_t *t, const uint8_t *device, uint64_t arrival)
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
    /* (the offset of a device is looked up again after the cache starts
     * over; it is the same in this batch's snapshot, and logged once) */
    int err = offset_note(t, device, d->offset_ms, arrival);
    if (err != FT_OK) {
        t->err = err;
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
    if (t->taken >= t->limit) {
        return 1;
    }
    t->taken++;
    t->last = en->arrival;
    entry_view_t v;
    /* verified before it was stored (no hash needed); nothing to index
     * when it does not decode */
    int err = entry_decode_in(&t->arena, en->raw, en->len, &v);
    if (err == FT_ENOMEM) {
        t->err = err;
        return err;
    }
    if (err != FT_OK) {
        entry_arena_reset(&t->arena);
        return FT_OK;
    }
    const devinfo_t *d = devinfo(t, en->device, en->arrival);
    char justify[64];
    err = t->err != FT_OK
              ? t->err
              : index_add_entry(t->it, en, &v, d->offset_ms, d->unit, justify, sizeof justify);
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
    entry_arena_reset(&t->arena);
    if (err != FT_OK) {
        t->err = err;
        return err;
    }
    return FT_OK;
}

/* One batch of new entries into the index in `it` (events of justification
 * records appended to events). *full: the batch was full (more may wait). */
static int catch_up_in(engine_t *e, index_txn_t *it, int64_t now_ms, alert_events_t *events,
                       offset_changes_t *changes, size_t limit, size_t *taken, bool *full)
{
    tail_t t = {
        .e = e, .now = now_ms, .it = it, .events = events, .changes = changes, .limit = limit};
    *taken = 0;
    *full = false;
    uint64_t cursor = 0, integ = 0;
    int err = index_cursor(it, &cursor, &integ);
    if (err == FT_OK) {
        err = store_begin(e->o.store, false, &t.st);
    }
    if (err == FT_OK) {
        err = store_entries_since(e->o.store, cursor, tail_one, &t);
        if (err == 1) {
            err = FT_OK;
        }
    }
    store_abort(&t.st);
    entry_arena_free(&t.arena);
    if (err == FT_OK && t.taken) {
        err = index_set_cursor(it, t.last, integ);
    }
    *taken = t.taken;
    *full = t.taken >= limit;
    return err;
}

int engine_catch_up(engine_t *e, int64_t now_ms, engine_stats_t *st)
{
    /* While a backlog lasts each batch takes twice the last, up to
     * ENGINE_BACKLOG_GROWTH times the configured batch: a commit writes back
     * every B-tree page its entries touched, and the pages of the secondary
     * tables (case, officer, recorder) are shared by many entries. */
    size_t limit = e->o.batch;
    for (;;) {
        index_txn_t *it = NULL;
        int err = index_begin(e->idx, true, &it);
        if (err != FT_OK) {
            return err;
        }
        alert_events_t evs, *events = alert_events_init(&evs) == FT_OK ? &evs : NULL;
        offset_changes_t changes = {0};
        size_t taken = 0;
        bool full = false;
        err =
            events ? catch_up_in(e, it, now_ms, events, &changes, limit, &taken, &full) : FT_ENOMEM;
        if (err == FT_OK && taken == 0) {
            index_abort(&it);
            alert_events_free(&evs);
            free(changes.v);
            break;
        }
        if (err == FT_OK) {
            err = finish_batch(e, &it, events, &changes);
        }
        free(changes.v);
        index_abort(&it);
        if (st && err == FT_OK) {
            st->entries += taken;
            st->events += events->n;
        }
        alert_events_free(&evs);
        if (err != FT_OK) {
            return err;
        }
        if (full && limit < e->o.batch * ENGINE_BACKLOG_GROWTH) {
            limit *= 2;
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
    alert_events_t *events;
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

/* The silence rule for every device, at every pass: raised while nothing
 * is heard from it for longer than the limit, resolved when it is (or it is
 * revoked). */
static int silence_one(void *ctx, const store_device_t *d)
{
    side_t *s = ctx;
    store_status_t st;
    int err = store_status_get(s->st, d->device, &st);
    if (err != FT_OK) {
        s->err = err;
        return err;
    }
    char dev[DEVID_TEXT_SIZE];
    devid_format(d->device, dev);
    gap_alerts_t ga = {0};
    if (!d->revoked) {
        err = gaps_eval_silence(s->e->o.pack, dev, d->vehicle, st.last_seen_ms, d->enrolled_ms,
                                s->now, &ga);
    }
    if (err == FT_OK) {
        index_unit_t u;
        index_unit_silence(&u, d->device);
        err = apply_alerts(s->e, s->it, &u, &ga, d->unit, dev, s->now, s->events);
    }
    gap_alerts_free(&ga);
    s->err = err;
    return err;
}

/* Integrity events and clocks, in `it`. */
static int side_steps_in(engine_t *e, index_txn_t *it, int64_t now_ms, alert_events_t *events)
{
    side_t s = {.e = e, .now = now_ms, .it = it, .events = events};
    uint64_t cursor = 0, integ = 0;
    int err = index_cursor(s.it, &cursor, &integ);
    if (err == FT_OK) {
        err = store_begin(e->o.store, false, &s.st);
    }
    s.last = integ;
    if (err == FT_OK) {
        err = store_integrity_iter(s.st, integ, integrity_one, &s);
    }
    if (err == FT_OK) {
        err = store_device_iter(s.st, clock_one, &s);
    }
    if (err == FT_OK) {
        err = store_device_iter(s.st, silence_one, &s);
    }
    store_abort(&s.st);
    if (err == FT_OK && s.last != integ) {
        err = index_set_cursor(s.it, cursor, s.last);
    }
    return err;
}

/* ---- steps 4 and 5: deadlines and dirty units ------------------------------- */

static int eval_unit(engine_t *e, index_txn_t *it, store_txn_t *st, const index_unit_t *u,
                     int64_t now_ms, alert_events_t *events)
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
            err = case_view_load_compact(it, st, case_id, NULL, &v);
        } else {
            err = case_view_load_compact(it, st, NULL, u->b + 1, &v);
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
            err = apply_unit_alerts(e, it, u, &ga, now_ms, events);
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
            err = apply_unit_alerts(e, it, u, &ga, now_ms, events);
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

/* Up to max dirty units evaluated in `it` (units: room for as many). *n:
 * how many were taken. */
static int evaluate_in(engine_t *e, index_txn_t *it, index_unit_t *units, size_t max,
                       int64_t now_ms, alert_events_t *events, size_t *n)
{
    *n = 0;
    int err = index_take_dirty(it, units, max, n);
    if (err != FT_OK || *n == 0) {
        return err;
    }
    store_txn_t *st = NULL;
    err = store_begin(e->o.store, false, &st);
    for (size_t i = 0; err == FT_OK && i < *n; i++) {
        err = eval_unit(e, it, st, &units[i], now_ms, events);
    }
    store_abort(&st);
    return err;
}

/* While dirty units remain each batch takes twice the last, up to
 * ENGINE_UNIT_BATCH_MAX: a commit writes back every page its batch touched,
 * and a first evaluation's new alerts (keyed by a hash) touch pages all
 * over the alert table: fewer, larger commits write each page less often. */
static int evaluate_dirty(engine_t *e, int64_t now_ms, engine_stats_t *stats)
{
    index_unit_t *units = malloc(ENGINE_UNIT_BATCH_MAX * sizeof *units);
    if (!units) {
        return FT_ENOMEM;
    }
    int err = FT_OK;
    size_t max = ENGINE_UNIT_BATCH;
    for (;;) {
        index_txn_t *it = NULL;
        size_t n = 0;
        alert_events_t evs, *events = alert_events_init(&evs) == FT_OK ? &evs : NULL;
        err = events ? index_begin(e->idx, true, &it) : FT_ENOMEM;
        if (err == FT_OK) {
            err = evaluate_in(e, it, units, max, now_ms, events, &n);
        }
        if (err != FT_OK || n == 0) {
            index_abort(&it);
            alert_events_free(&evs);
            break;
        }
        err = finish_batch(e, &it, events, NULL);
        index_abort(&it);
        if (stats && err == FT_OK) {
            stats->units += n;
            stats->events += events->n;
        }
        alert_events_free(&evs);
        if (err != FT_OK) {
            break;
        }
        if (n == max && max < ENGINE_UNIT_BATCH_MAX) {
            max *= 2;
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
    alert_events_t *events;
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
static int hub_justifications_in(engine_t *e, index_txn_t *it, int64_t now_ms,
                                 alert_events_t *events)
{
    if (!e->o.hublog) {
        return FT_OK;
    }
    hubjust_t h = {.e = e, .now = now_ms, .it = it, .events = events};
    uint64_t cursor = index_named_cursor(h.it, "hublog_cursor");
    h.last = cursor;
    int rc = devlog_iter(e->o.hublog, cursor + 1, 0, hub_justification_one, &h);
    int err = h.err != FT_OK ? h.err : (rc < 0 ? rc : FT_OK);
    if (err == FT_OK && h.last != cursor) {
        err = index_set_named_cursor(h.it, "hublog_cursor", h.last);
    }
    return err;
}

/* The first part of a step in one index transaction, committed once (hub
 * log first, finish_batch): one batch of new entries, integrity events and
 * clocks, justifications entered at the hub, passed deadlines and one batch
 * of dirty units. A step that brings one record and changes one case's
 * alerts thus makes one durable commit of the index (and one of the hub log
 * when alerts changed) instead of one per phase. *more: entries or dirty
 * units may remain (the caller goes on phase by phase). */
static int step_first(engine_t *e, int64_t now_ms, engine_stats_t *st, bool *more)
{
    *more = false;
    index_unit_t *units = malloc(ENGINE_UNIT_BATCH * sizeof *units);
    alert_events_t evs, *events = alert_events_init(&evs) == FT_OK ? &evs : NULL;
    index_txn_t *it = NULL;
    int err = units && events ? index_begin(e->idx, true, &it) : FT_ENOMEM;
    size_t taken = 0, due = 0, n = 0;
    bool full = false;
    offset_changes_t changes = {0};
    if (err == FT_OK) {
        err = catch_up_in(e, it, now_ms, events, &changes, e->o.batch, &taken, &full);
    }
    if (err == FT_OK && !full) {
        err = side_steps_in(e, it, now_ms, events);
        if (err == FT_OK) {
            err = hub_justifications_in(e, it, now_ms, events);
        }
        if (err == FT_OK) {
            err = index_due(it, now_ms, &due);
        }
        if (err == FT_OK) {
            err = evaluate_in(e, it, units, ENGINE_UNIT_BATCH, now_ms, events, &n);
        }
    }
    if (err == FT_OK) {
        err = finish_batch(e, &it, events, &changes);
    }
    free(changes.v);
    index_abort(&it);
    if (st && err == FT_OK) {
        st->entries += taken;
        st->due += due;
        st->units += n;
        st->events += events->n;
    }
    *more = full || n == ENGINE_UNIT_BATCH;
    alert_events_free(&evs);
    free(units);
    return err;
}

/* One phase in its own transaction (the rest of a step after step_first). */
typedef int (*phase_fn)(engine_t *e, index_txn_t *it, int64_t now_ms, alert_events_t *events);

static int phase(engine_t *e, phase_fn fn, int64_t now_ms, engine_stats_t *st)
{
    index_txn_t *it = NULL;
    alert_events_t evs, *events = alert_events_init(&evs) == FT_OK ? &evs : NULL;
    int err = events ? index_begin(e->idx, true, &it) : FT_ENOMEM;
    if (err == FT_OK) {
        err = fn(e, it, now_ms, events);
    }
    if (err == FT_OK) {
        err = finish_batch(e, &it, events, NULL); /* no write: no durable commit */
    }
    index_abort(&it);
    if (st && err == FT_OK) {
        st->events += events->n;
    }
    alert_events_free(&evs);
    return err;
}

static int due_in(engine_t *e, index_txn_t *it, int64_t now_ms, alert_events_t *events)
{
    (void)events;
    size_t due = 0;
    int err = index_due(it, now_ms, &due);
    e->due_taken += due;
    return err;
}

int engine_step(engine_t *e, int64_t now_ms, engine_stats_t *st)
{
    bool more = false;
    int err = step_first(e, now_ms, st, &more);
    if (err != FT_OK || !more) {
        return err;
    }
    /* A large step (start-up, a backlog, a full re-evaluation): phase by
     * phase, one transaction per batch. */
    err = engine_catch_up(e, now_ms, st);
    if (err == FT_OK) {
        err = phase(e, side_steps_in, now_ms, st);
    }
    if (err == FT_OK) {
        err = phase(e, hub_justifications_in, now_ms, st);
    }
    if (err == FT_OK) {
        e->due_taken = 0;
        err = phase(e, due_in, now_ms, st);
        if (st && err == FT_OK) {
            st->due += e->due_taken;
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
