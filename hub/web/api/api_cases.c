/* api_cases.c: case timelines, case export and media playback.
 *
 *   GET /api/cases                     cases with counts (for pickers)
 *   GET /api/cases/ID/timeline         records and media of every device in
 *                                      corrected-time order, coverage of each
 *                                      activity, the case's alerts (audited:
 *                                      view_case)
 *   GET /api/cases/ID/export           the case's signed entries, verifiable
 *                                      (audited: export_case)
 *   GET /api/media/ID                  media item facts (manifest)
 *   GET /api/media/ID/content          playback with Range, decrypted chunk by
 *                                      chunk as the player reads (audited: play,
 *                                      once per user and file per 10 min);
 *                                      503 until the hub holds the content
 *
 * Coverage follows RULES.md "covered by media": media linked to an activity
 * explicitly (its `media` lists the media ID) or automatically (same officer
 * or recorder, overlapping time), their spans united and intersected with
 * the window; the uncovered stretches are returned as gaps.
 *
 * State of its own: the recent playbacks (so that one viewing is audited
 * once, not once per range request). Items are shown as hub/views/itemjson
 * makes them; the case's alerts come from the shared alert view.
 */
#include "api_cases.h"
#include "coverage.h"
#include "hlc.h"
#include "httpparse.h"
#include "itemjson.h"
#include "logging.h"
#include "media.h"
#include "utf8.h"
#include "web.h"

#include <pthread.h>
#include <sodium.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef struct {
    int64_t a, b;
} span_t;

static int span_cmp(const void *x, const void *y)
{
    const span_t *p = x, *q = y;
    return p->a < q->a ? -1 : p->a > q->a;
}

/* Milliseconds of the union of spans sp[0..k) (sorted by start). */
static int64_t union_ms(const span_t *sp, size_t k)
{
    int64_t total = 0, at = INT64_MIN;
    for (size_t i = 0; i < k; i++) {
        int64_t a = sp[i].a > at ? sp[i].a : at;
        if (sp[i].b > a) {
            total += sp[i].b - a;
        }
        at = sp[i].b > at ? sp[i].b : at;
    }
    return total;
}

/* The coverage of an activity as the timeline shows it, among clips (those
 * linked to some activity of the case: coverage_case_clips), each linked
 * and measured by the engine's rule (coverage_clip_covers). `pending_ms`:
 * the part of the covered time that only clips the hub does not hold yet
 * cover (recorded, announced by their signed manifests, still on the
 * vehicle or on their way): coverage all the same, not yet playable. */
static json_t *coverage_json(const cat_item_t *rec, const coverage_clip_t *clips, size_t n)
{
    span_t *hs = calloc(n ? n : 1, sizeof *hs);
    span_t *sp = calloc(n ? n : 1, sizeof *sp);
    json_t *linked = json_array();
    size_t k = 0, hk = 0;
    for (size_t i = 0; sp && hs && i < n; i++) {
        gap_span_t c;
        if (!coverage_clip_covers(rec, &clips[i], &c)) {
            continue;
        }
        json_array_append_new(linked, json_string(clips[i].item->id));
        if (c.b_ms > c.a_ms) {
            sp[k++] = (span_t){c.a_ms, c.b_ms};
            if (clips[i].item->held) {
                hs[hk++] = (span_t){c.a_ms, c.b_ms};
            }
        }
    }
    int64_t held_ms = 0;
    if (hs) {
        qsort(hs, hk, sizeof *hs, span_cmp);
        held_ms = union_ms(hs, hk);
    }
    free(hs);
    const int64_t start_ms = rec->link.start_ms, end_ms = rec->link.end_ms;
    json_t *gaps = json_array();
    int64_t covered = 0, longest = 0, at = start_ms;
    if (sp) {
        qsort(sp, k, sizeof *sp, span_cmp);
        for (size_t i = 0; i < k; i++) {
            if (sp[i].a > at) {
                json_array_append_new(gaps, json_pack("{s:o, s:o, s:I}", "from", web_time(at), "to",
                                                      web_time(sp[i].a), "ms",
                                                      (json_int_t)(sp[i].a - at)));
                longest = sp[i].a - at > longest ? sp[i].a - at : longest;
                at = sp[i].a;
            }
            if (sp[i].b > at) {
                covered += sp[i].b - at;
                at = sp[i].b;
            }
        }
    }
    if (end_ms > at) {
        json_array_append_new(gaps, json_pack("{s:o, s:o, s:I}", "from", web_time(at), "to",
                                              web_time(end_ms), "ms", (json_int_t)(end_ms - at)));
        longest = end_ms - at > longest ? end_ms - at : longest;
    }
    free(sp);
    int64_t win = end_ms - start_ms;
    double share = win > 0 ? (double)covered / (double)win : (json_array_size(linked) ? 1.0 : 0.0);
    return json_pack("{s:f, s:I, s:o, s:o, s:I}", "share", share, "longest_gap_ms",
                     (json_int_t)longest, "media", linked, "gaps", gaps, "pending_ms",
                     (json_int_t)(covered > held_ms ? covered - held_ms : 0));
}

/* How much of a clip the hub has received so far (from its partial in the
 * blob store): {received, size, pct}; pct stays below 100 until the hub
 * holds the clip whole. */
static json_t *upload_json(const web_shared_t *sh, const cat_item_t *it)
{
    uint8_t part[BLOB_PART_BYTES];
    uint64_t got = 0;
    if (sh->blobs && it->id && strlen(it->id) == 2 * BLOB_PART_BYTES &&
        hex_decode(it->id, part, BLOB_PART_BYTES) == FT_OK &&
        blobstore_partial_received(sh->blobs, part, &got) != FT_OK) {
        got = 0;
    }
    got = it->media_size && got > it->media_size ? it->media_size : got;
    double pct = it->media_size ? floor(1000.0 * (double)got / (double)it->media_size) / 10.0 : 0;
    return json_pack("{s:I, s:I, s:f}", "received", (json_int_t)got, "size",
                     (json_int_t)it->media_size, "pct", pct > 99.9 ? 99.9 : pct);
}

/* Where an item sits on a timeline: its window's start, else its time. */
static json_int_t row_time(const json_t *o)
{
    json_int_t s = json_integer_value(json_object_get(o, "start_ms"));
    return s ? s : json_integer_value(json_object_get(o, "time_ms"));
}

static int row_time_cmp(const void *x, const void *y)
{
    const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    json_int_t ta = row_time(a), tb = row_time(b);
    if (ta != tb) {
        return ta < tb ? -1 : 1;
    }
    return strcmp(json_string_value(json_object_get(a, "ref")),
                  json_string_value(json_object_get(b, "ref")));
}

static json_t *sorted(json_t *arr)
{
    size_t n = json_array_size(arr);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    json_t *out = json_array();
    if (!v) {
        json_decref(out);
        return arr;
    }
    for (size_t i = 0; i < n; i++) {
        v[i] = json_array_get(arr, i);
    }
    qsort(v, n, sizeof *v, row_time_cmp);
    for (size_t i = 0; i < n; i++) {
        json_array_append(out, v[i]);
    }
    free(v);
    json_decref(arr);
    return out;
}

/* The alerts of one case (all states). */
typedef struct {
    const char *case_id;
    json_t *out;
} case_alerts_t;

static void collect_one(void *ctx, const json_t *a)
{
    case_alerts_t *ca = ctx;
    const char *c = json_string_value(json_object_get(a, "case"));
    if (c && strcmp(c, ca->case_id) == 0) {
        json_t *copy = json_deep_copy(a);
        json_array_append_new(ca->out, copy);
    }
}

static void timeline(web_req_t *r)
{
    const char *case_id = r->args[0];
    json_t *rows = json_array();
    int64_t lo = INT64_MAX, hi = 0;
    json_t *units = json_object(), *devices = json_object();
    const char *cause = "", *party = "";
    catalog_read(r->sh->catalog);
    size_t n;
    const cat_item_t *items = catalog_items(r->sh->catalog, &n);
    /* Media of the case, and media linked to its activities. */
    coverage_clip_t *clips = NULL;
    size_t n_clips = 0, next_clip = 0;
    if (coverage_case_clips(items, n, case_id, &clips, &n_clips) != FT_OK) {
        catalog_done(r->sh->catalog);
        json_decref(rows);
        json_decref(units);
        json_decref(devices);
        web_error(r, 500, "internal", "out of memory");
        return;
    }
    bool failed = false;
    for (size_t i = 0; i < n && !failed; i++) {
        const cat_item_t *it = &items[i];
        bool in_case = strcmp(it->case_id, case_id) == 0;
        /* clips are in catalog order: the next one is at or after it */
        if (next_clip < n_clips && clips[next_clip].item == it) {
            next_clip++;
            in_case = true;
        }
        /* A superseded clip is shown as the one that replaced it; a witness
         * of a record (the same record from another device) with its
         * record (docs/records.md "Identity"). */
        if (!in_case || it->superseded || (it->kind == CAT_RECORD && it->role == IDENT_WITNESS)) {
            continue;
        }
        json_t *o = cat_item_json(it);
        if (!o) {
            failed = true; /* logged by cat_item_json; answered 500 below, never left out */
            break;
        }
        if (it->kind == CAT_RECORD && it->role == IDENT_PRIMARY) {
            json_object_set_new(o, "witnesses",
                                catalog_witnesses(r->sh->catalog, it, IDENT_WITNESS));
            json_t *other = catalog_witnesses(r->sh->catalog, it, IDENT_CONFLICT);
            if (json_array_size(other)) {
                json_object_set_new(o, "conflicting_versions", other);
            } else {
                json_decref(other);
            }
        } else if (it->kind == CAT_RECORD && it->role == IDENT_CONFLICT) {
            json_object_set_new(o, "conflicts_with", json_string(items[it->primary].ref));
        }
        if (it->kind == CAT_RECORD && it->activity && it->link.end_ms > it->link.start_ms) {
            json_object_set_new(o, "coverage", coverage_json(it, clips, n_clips));
        }
        if (it->kind == CAT_MEDIA) {
            json_object_set_new(o, "held", json_boolean(it->held));
            if (!it->held) {
                json_object_set_new(o, "upload", upload_json(r->sh, it));
            }
        }
        if (it->kind == CAT_RECORD && !*cause && it->cause[0]) {
            cause = it->cause;
        }
        if (it->kind == CAT_RECORD && !*party && it->party[0]) {
            party = it->party;
        }
        if (it->unit[0]) {
            json_object_set_new(units, it->unit, json_true());
        }
        json_object_set_new(devices, it->device, json_true());
        int64_t a = it->start_ms ? it->start_ms : it->time_ms;
        int64_t b = it->end_ms ? it->end_ms : it->time_ms;
        lo = a && a < lo ? a : lo;
        hi = b > hi ? b : hi;
        if (json_array_append_new(rows, o) != 0) {
            failed = true;
        }
    }
    free(clips);
    if (failed) {
        catalog_done(r->sh->catalog);
        json_decref(rows);
        json_decref(units);
        json_decref(devices);
        web_error(r, 500, "internal", "an item of this case cannot be shown (out of memory)");
        return;
    }
    /* A record amended by a later one of the case is shown, marked (both
     * stay visible: nothing is ever edited). */
    size_t ri;
    json_t *row;
    json_array_foreach(rows, ri, row)
    {
        const char *amends = json_string_value(json_object_get(row, "amends"));
        if (!amends || !*amends) {
            continue;
        }
        size_t rj;
        json_t *other;
        json_array_foreach(rows, rj, other)
        {
            const char *oid = json_string_value(json_object_get(other, "id"));
            if (rj != ri && oid && strcmp(oid, amends) == 0 &&
                strcmp(json_string_value(json_object_get(other, "kind")), "record") == 0) {
                json_object_set_new(other, "amended_by",
                                    json_string(json_string_value(json_object_get(row, "id"))));
            }
        }
    }
    json_t *head = json_pack("{s:o, s:o, s:o}", "case", utf8_json_string(case_id), "cause",
                             utf8_json_string(cause), "party", utf8_json_string(party));
    catalog_done(r->sh->catalog);
    if (json_array_size(rows) == 0) {
        json_decref(rows);
        json_decref(units);
        json_decref(devices);
        json_decref(head);
        web_error(r, 404, "not_found", "no records or media for this case");
        return;
    }
    if (web_audit(r, "view_case", case_id, NULL) != FT_OK) {
        json_decref(rows);
        json_decref(units);
        json_decref(devices);
        json_decref(head);
        web_error(r, 500, "audit", "the audit log cannot be written; nothing is shown");
        return;
    }
    case_alerts_t ca = {.case_id = case_id, .out = json_array()};
    /* all states, not only open */
    alertview_each(r->sh->alerts, false, collect_one, &ca);
    json_object_set_new(head, "items", sorted(rows));
    json_object_set_new(head, "from", web_time(lo == INT64_MAX ? 0 : lo));
    json_object_set_new(head, "to", web_time(hi));
    json_object_set_new(head, "from_ms", json_integer(lo == INT64_MAX ? 0 : lo));
    json_object_set_new(head, "to_ms", json_integer(hi));
    json_t *ul = json_array(), *dl = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(units, k, v)
    {
        json_array_append_new(ul, json_string(k));
    }
    json_object_foreach(devices, k, v)
    {
        json_array_append_new(dl, json_string(k));
    }
    json_decref(units);
    json_decref(devices);
    json_object_set_new(head, "units", ul);
    json_object_set_new(head, "devices", dl);
    json_object_set_new(head, "alerts", ca.out);
    web_json(r, 200, head);
}

static void cases(web_req_t *r)
{
    json_t *by = json_object();
    catalog_read(r->sh->catalog);
    size_t n;
    const cat_item_t *items = catalog_items(r->sh->catalog, &n);
    for (size_t i = 0; i < n; i++) {
        const cat_item_t *it = &items[i];
        if (!it->case_id[0] || !cat_item_counts(it)) {
            continue;
        }
        json_t *c = json_object_get(by, it->case_id);
        if (!c) {
            c = json_pack("{s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I}", "case",
                          utf8_json_string(it->case_id), "cause", utf8_json_string(it->cause),
                          "party", utf8_json_string(it->party), "unit", utf8_json_string(it->unit),
                          "records", (json_int_t)0, "media", (json_int_t)0, "first_ms",
                          (json_int_t)it->time_ms, "last_ms", (json_int_t)it->time_ms);
            json_object_set_new(by, it->case_id, c);
        }
        const char *key = it->kind == CAT_MEDIA ? "media" : "records";
        json_object_set_new(c, key, json_integer(json_integer_value(json_object_get(c, key)) + 1));
        if (it->time_ms < json_integer_value(json_object_get(c, "first_ms"))) {
            json_object_set_new(c, "first_ms", json_integer(it->time_ms));
        }
        if (it->time_ms > json_integer_value(json_object_get(c, "last_ms"))) {
            json_object_set_new(c, "last_ms", json_integer(it->time_ms));
        }
        static const char *const fill[] = {"cause", "party", "unit"};
        const char *vals[] = {it->cause, it->party, it->unit};
        for (size_t f = 0; f < 3; f++) {
            if (!*json_string_value(json_object_get(c, fill[f])) && *vals[f]) {
                json_object_set_new(c, fill[f], utf8_json_string(vals[f]));
            }
        }
    }
    catalog_done(r->sh->catalog);
    json_t *arr = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(by, k, v)
    {
        json_object_set_new(v, "first",
                            web_time(json_integer_value(json_object_get(v, "first_ms"))));
        json_object_set_new(v, "last", web_time(json_integer_value(json_object_get(v, "last_ms"))));
        json_array_append(arr, v);
    }
    json_decref(by);
    web_json(r, 200, json_pack("{s:o}", "cases", arr));
}

/* The case's entries with their signed bytes, so an export verifies alone. */
static void export_case(web_req_t *r)
{
    const char *case_id = r->args[0];
    json_t *entries = json_array();
    catalog_read(r->sh->catalog);
    size_t n;
    const cat_item_t *items = catalog_items(r->sh->catalog, &n);
    json_t *refs = json_array();
    bool failed = false;
    for (size_t i = 0; i < n && !failed; i++) {
        if (strcmp(items[i].case_id, case_id) == 0) {
            /* an item that cannot be shown fails the export (500), never
             * leaves it short */
            failed = json_array_append_new(entries, cat_item_json(&items[i])) != 0;
            json_array_append_new(refs, json_string(items[i].ref));
        }
    }
    catalog_done(r->sh->catalog);
    if (failed) {
        json_decref(entries);
        json_decref(refs);
        web_error(r, 500, "internal", "an item of this case cannot be shown (out of memory)");
        return;
    }
    if (json_array_size(entries) == 0) {
        json_decref(entries);
        json_decref(refs);
        web_error(r, 404, "not_found", "no records or media for this case");
        return;
    }
    /* Attach the signed bytes of each entry. */
    store_txn_t *t = NULL;
    int err = store_begin(r->sh->hub->store, false, &t);
    size_t i;
    json_t *row;
    json_array_foreach(entries, i, row)
    {
        if (err != FT_OK) {
            break;
        }
        const char *ref = json_string_value(json_object_get(row, "ref"));
        char dev_text[DEVID_TEXT_SIZE];
        unsigned long long epoch = 0, seq = 0;
        if (sscanf(ref, "%24[^/]/%llu/%llu", dev_text, &epoch, &seq) != 3) {
            continue;
        }
        uint8_t dev[DEVID_BYTES];
        const uint8_t *raw;
        size_t len;
        if (devid_parse(dev_text, dev) == FT_OK &&
            store_entry_get(t, dev, epoch, seq, &raw, &len) == FT_OK) {
            char *hex = malloc(len * 2 + 1);
            if (hex) {
                hex_encode(raw, len, hex);
                json_object_set_new(row, "signed_entry_hex", json_string(hex));
                free(hex);
            }
        }
    }
    store_abort(&t);
    json_decref(refs);
    if (err != FT_OK) {
        json_decref(entries);
        web_error(r, 500, "store", ft_strerror(err));
        return;
    }
    if (web_audit(r, "export_case", case_id, "json") != FT_OK) {
        json_decref(entries);
        web_error(r, 500, "audit", "the audit log cannot be written; nothing is exported");
        return;
    }
    json_t *o = json_pack("{s:s, s:o, s:o}", "format", "fieldtrail-case-export/1", "case",
                          utf8_json_string(case_id), "entries", entries);
    json_object_set_new(o, "exported_at", web_time((int64_t)hlc_wall_ms()));
    json_object_set_new(o, "exported_by", json_string(r->session.user));
    char *text = json_dumps(o, JSON_INDENT(1));
    json_decref(o);
    if (!text) {
        web_error(r, 500, "internal", "out of memory");
        return;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        web_error(r, 500, "internal", "out of memory");
        return;
    }
    char disp[320];
    snprintf(disp, sizeof disp, "attachment; filename=\"case-export.json\"");
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(resp, "Content-Disposition", disp);
    r->no_cache = true;
    web_raw(r, 200, resp);
}

/* Recent playbacks: a viewing (user, file) is audited once per PLAY_AUDIT_MS,
 * not once per range request a seeking player makes. */
#define PLAY_AUDIT_SLOTS 64
#define PLAY_AUDIT_MS (10 * 60 * 1000LL)

/* The module's state. */
typedef struct {
    pthread_mutex_t lock; /* guards plays */
    struct {
        char key[USER_NAME_MAX + 40];
        int64_t at_ms;
    } plays[PLAY_AUDIT_SLOTS];
} cases_t;

static int cases_init(const web_shared_t *sh, void **state)
{
    (void)sh;
    cases_t *c = calloc(1, sizeof *c);
    if (!c) {
        return FT_ENOMEM;
    }
    pthread_mutex_init(&c->lock, NULL);
    *state = c;
    return FT_OK;
}

static void cases_fini(void *state)
{
    cases_t *c = state;
    if (c) {
        pthread_mutex_destroy(&c->lock);
        free(c);
    }
}

/* True if this user's viewing of file_hex needs an audit entry now. */
static bool play_needs_audit(cases_t *c, const char *user, const char *file_hex, int64_t now)
{
    char key[USER_NAME_MAX + 40];
    snprintf(key, sizeof key, "%s/%.32s", user, file_hex);
    bool need = true;
    pthread_mutex_lock(&c->lock);
    size_t oldest = 0;
    for (size_t i = 0; i < PLAY_AUDIT_SLOTS; i++) {
        if (strcmp(c->plays[i].key, key) == 0) {
            need = now - c->plays[i].at_ms > PLAY_AUDIT_MS;
            oldest = i;
            break;
        }
        if (c->plays[i].at_ms < c->plays[oldest].at_ms) {
            oldest = i;
        }
    }
    if (need) {
        snprintf(c->plays[oldest].key, sizeof c->plays[oldest].key, "%s", key);
        c->plays[oldest].at_ms = now;
    }
    pthread_mutex_unlock(&c->lock);
    return need;
}

/* The manifest of media ID (hex of file_id), from the store: *v must be
 * freed with entry_view_free on FT_OK. */
static int load_manifest(const web_shared_t *sh, const char *id, entry_view_t *v)
{
    char ref[64] = "";
    catalog_read(sh->catalog);
    size_t n;
    const cat_item_t *items = catalog_items(sh->catalog, &n);
    for (size_t i = 0; i < n; i++) {
        if (items[i].kind == CAT_MEDIA && strcmp(items[i].id, id) == 0) {
            snprintf(ref, sizeof ref, "%s", items[i].ref);
            break;
        }
    }
    catalog_done(sh->catalog);
    char dev_text[DEVID_TEXT_SIZE];
    unsigned long long epoch = 0, seq = 0;
    uint8_t dev[DEVID_BYTES];
    if (!ref[0] || sscanf(ref, "%24[^/]/%llu/%llu", dev_text, &epoch, &seq) != 3 ||
        devid_parse(dev_text, dev) != FT_OK) {
        return FT_ENOTFOUND;
    }
    store_txn_t *t = NULL;
    const uint8_t *raw;
    size_t len;
    int err = store_begin(sh->hub->store, false, &t);
    if (err == FT_OK) {
        err = store_entry_get(t, dev, epoch, seq, &raw, &len);
    }
    if (err == FT_OK) {
        err = entry_open(raw, len, v);
    }
    store_abort(&t);
    if (err == FT_OK && (!v->entry->body || v->entry->body->kind_case != FT__BODY__KIND_MEDIA)) {
        entry_view_free(v);
        err = FT_ENOTFOUND;
    }
    return err;
}

/* True if the hub holds the whole content (published in the blob store). */
static bool media_held(const web_shared_t *sh, const Ft__MediaManifest *m)
{
    return sh->blobs && m->merkle_root.len == BLOB_ID_BYTES &&
           blobstore_has(sh->blobs, m->merkle_root.data);
}

static const char *media_mime(const Ft__MediaManifest *m)
{
    static const struct {
        const char *ext, *mime;
    } types[] = {
        {".mp4", "video/mp4"},       {".m4v", "video/mp4"},        {".webm", "video/webm"},
        {".mov", "video/quicktime"}, {".mkv", "video/x-matroska"}, {".avi", "video/x-msvideo"},
        {".jpg", "image/jpeg"},      {".jpeg", "image/jpeg"},      {".png", "image/png"},
        {".mp3", "audio/mpeg"},      {".m4a", "audio/mp4"},        {".wav", "audio/wav"},
        {".ogg", "audio/ogg"},       {".aac", "audio/aac"},        {".amr", "audio/amr"},
    };
    const char *dot = m->file_name ? strrchr(m->file_name, '.') : NULL;
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++) {
        if (strcasecmp(dot, types[i].ext) == 0) {
            return types[i].mime;
        }
    }
    return m->kind == FT__MEDIA_KIND__AUDIO   ? "audio/mpeg"
           : m->kind == FT__MEDIA_KIND__PHOTO ? "image/jpeg"
                                              : "video/mp4";
}

static void media_info(web_req_t *r)
{
    json_t *o = NULL;
    bool found = false;
    catalog_read(r->sh->catalog);
    size_t n;
    const cat_item_t *items = catalog_items(r->sh->catalog, &n);
    for (size_t i = 0; i < n && !found; i++) {
        if (items[i].kind == CAT_MEDIA && strcmp(items[i].id, r->args[0]) == 0) {
            found = true;
            o = cat_item_json(&items[i]);
        }
    }
    catalog_done(r->sh->catalog);
    if (!found) {
        web_error(r, 404, "not_found", "no such media item");
        return;
    }
    if (!o) {
        /* logged by cat_item_json */
        web_error(r, 500, "internal", "this media item cannot be shown (out of memory)");
        return;
    }
    entry_view_t v;
    bool held = false;
    const char *mime = "application/octet-stream";
    if (load_manifest(r->sh, r->args[0], &v) == FT_OK) {
        held = media_held(r->sh, v.entry->body->media);
        mime = media_mime(v.entry->body->media);
        entry_view_free(&v);
    }
    json_object_set_new(o, "playable", json_boolean(held));
    json_object_set_new(o, "content_type", json_string(mime));
    char url[160];
    snprintf(url, sizeof url, "/api/media/%s/content", r->args[0]);
    json_object_set_new(o, "content", json_string(url));
    web_json(r, 200, o);
}

/* One playback response: decrypts the chunks a byte range touches. */
typedef struct {
    int fd;
    uint8_t key[MEDIA_KEY_BYTES];
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    uint64_t size, start; /* file size; first byte of the range */
    uint32_t chunk_size, n_chunks;
    uint32_t cur; /* chunk in pt, or UINT32_MAX */
    uint8_t *ct, *pt;
} play_t;

static void play_free(void *cls)
{
    play_t *p = cls;
    if (!p) {
        return;
    }
    sodium_memzero(p->key, sizeof p->key);
    if (p->pt) {
        sodium_memzero(p->pt, p->chunk_size);
    }
    free(p->ct);
    free(p->pt);
    if (p->fd >= 0) {
        close(p->fd);
    }
    free(p);
}

static ssize_t play_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    play_t *p = cls;
    uint64_t at = p->start + pos;
    if (at >= p->size) {
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    uint32_t idx = (uint32_t)(at / p->chunk_size);
    uint32_t plen = media_chunk_len(p->size, p->chunk_size, idx);
    if (p->cur != idx) {
        uint64_t off = (uint64_t)idx * (p->chunk_size + MEDIA_TAG_BYTES);
        if (pread(p->fd, p->ct, plen + MEDIA_TAG_BYTES, (off_t)off) !=
                (ssize_t)(plen + MEDIA_TAG_BYTES) ||
            media_chunk_decrypt(p->key, p->file_id, idx, p->ct, plen + MEDIA_TAG_BYTES, p->pt) !=
                FT_OK) {
            log_error("media %02x%02x...: chunk %u does not read or decrypt", p->file_id[0],
                      p->file_id[1], idx);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        p->cur = idx;
    }
    uint64_t in = at - (uint64_t)idx * p->chunk_size;
    size_t n = plen - in;
    n = n < max ? n : max;
    memcpy(buf, p->pt + in, n);
    return (ssize_t)n;
}

static void media_content(web_req_t *r)
{
    entry_view_t v;
    int err = load_manifest(r->sh, r->args[0], &v);
    if (err == FT_ENOTFOUND) {
        web_error(r, 404, "not_found", "no such media item");
        return;
    }
    if (err != FT_OK) {
        web_error(r, 500, "store", ft_strerror(err));
        return;
    }
    const Ft__MediaManifest *m = v.entry->body->media;
    if (!media_held(r->sh, m)) {
        entry_view_free(&v);
        web_error(r, 503, "not_held",
                  "the hub does not hold this media content yet (the edge has not sent it)");
        return;
    }
    if (!r->sh->hub->keys->has_archive || m->file_id.len != MEDIA_FILE_ID_BYTES ||
        m->chunk_size == 0) {
        entry_view_free(&v);
        web_error(r, 500, "no_key", "this hub has no archive key to decrypt media");
        return;
    }
    play_t *p = calloc(1, sizeof *p);
    if (!p) {
        entry_view_free(&v);
        web_error(r, 500, "internal", "out of memory");
        return;
    }
    p->fd = -1;
    p->cur = UINT32_MAX;
    p->size = m->size;
    p->chunk_size = m->chunk_size;
    memcpy(p->file_id, m->file_id.data, MEDIA_FILE_ID_BYTES);
    err = media_key_unseal(m->sealed_key.data, m->sealed_key.len, r->sh->hub->keys->archive_pk,
                           r->sh->hub->keys->archive_sk, p->key);
    const char *mime = media_mime(m);
    int fd = err == FT_OK ? blobstore_open_read(r->sh->blobs, m->merkle_root.data) : -1;
    entry_view_free(&v);
    p->fd = fd >= 0 ? fd : -1;
    p->ct = malloc((size_t)p->chunk_size + MEDIA_TAG_BYTES);
    p->pt = malloc(p->chunk_size);
    if (err != FT_OK || fd < 0 || !p->ct || !p->pt) {
        play_free(p);
        web_error(r, 500, "media", "cannot open this media content (key or blob)");
        return;
    }
    uint64_t a = 0, b = p->size ? p->size - 1 : 0;
    int ranged = httpparse_range(r->range, p->size, &a, &b);
    if (ranged < 0) {
        char cr[64];
        snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)p->size);
        play_free(p);
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (resp) {
            MHD_add_response_header(resp, "Content-Range", cr);
        }
        web_raw(r, 416, resp);
        return;
    }
    int64_t now = (int64_t)hlc_wall_ms();
    if (play_needs_audit(r->mod, r->session.user, r->args[0], now) &&
        web_audit(r, "play", r->args[0], mime) != FT_OK) {
        play_free(p);
        web_error(r, 500, "audit", "the audit log cannot be written; nothing is played");
        return;
    }
    p->start = a;
    uint64_t len = p->size ? b - a + 1 : 0;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(len, 64 * 1024, play_read, p, play_free);
    if (!resp) {
        play_free(p);
        web_error(r, 500, "internal", "out of memory");
        return;
    }
    MHD_add_response_header(resp, "Content-Type", mime);
    MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    MHD_add_response_header(resp, "Cache-Control", "private, no-store");
    if (ranged) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)a,
                 (unsigned long long)b, (unsigned long long)p->size);
        MHD_add_response_header(resp, "Content-Range", cr);
    }
    web_raw(r, ranged ? 206 : 200, resp);
}

static const web_route_t routes[] = {
    {"GET", "/api/cases", ROLE_STAFF, cases, 0},
    {"GET", "/api/cases/*/timeline", ROLE_STAFF, timeline, 0},
    {"GET", "/api/cases/*/export", ROLE_SUPERVISOR, export_case, 0},
    {"GET", "/api/media/*", ROLE_STAFF, media_info, 0},
    {"GET", "/api/media/*/content", ROLE_STAFF, media_content, 0},
    {NULL, NULL, ROLE_NONE, NULL, 0},
};

const web_module_t api_cases_module = {
    .name = "cases",
    .routes = routes,
    .init = cases_init,
    .fini = cases_fini,
};
