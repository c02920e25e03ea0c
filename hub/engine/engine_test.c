/* engine_test.c: incremental evaluation equals a full re-evaluation.
 *
 * Property: for random case histories (records of many types, amendments,
 * media with and without officer, recorder checkouts, justifications of
 * alerts raised earlier, three devices with different clock offsets), fed to
 * the store in random batches with an incremental evaluation at a growing
 * `now` after each batch, the alerts open at the final time are exactly those
 * that one evaluation of the whole history on a fresh index gives at that
 * time, and marking every unit dirty (engine_full) changes nothing. Also: the
 * index's corrected times, recorder -> officer resolution and alert history,
 * and an index cursor that cannot be read is an error, not 0. The compact
 * form the engine evaluates from gives the rules the same cases as the
 * stored records (every case and caseless record of every history), and an
 * index of the previous layout is upgraded when the engine opens it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine.h"
#include "gapinput.h"
#include "hlc.h"
#include "lmdbx.h"
#include "media.h"
#include "record.h"
#include "testutil.h"

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DAY 86400000LL
#define HOUR 3600000LL
#define MIN 60000LL
#define T0 1772323200000LL /* 2026-03-01T00:00:00Z */
#define N_DEV 3

/* One device writing entries. */
typedef struct {
    keys_t keys;
    uint8_t id[DEVID_BYTES];
    uint64_t epoch, seq;
    uint8_t prev[ENTRY_HASH_BYTES];
    int64_t offset_ms; /* the hub measured: hub - device */
} dev_t_;

/* A sealed entry waiting to be stored. */
typedef struct {
    int dev;
    uint64_t seq;
    uint8_t hash[ENTRY_HASH_BYTES];
    uint8_t *raw;
    size_t len;
} pending_t;

typedef struct {
    char dir[512];
    store_t *store;
    rulepack_t *pack;
    dev_t_ devs[N_DEV];
    pending_t *pend;
    size_t n_pend, cap_pend, stored;
    uint32_t rng;
    char (*jsons)[2048]; /* records made so far (add_random), to import again */
    size_t n_jsons;
    bool one_device; /* add_random writes on device 0 only (a vehicle's own log) */
} world_t;

static uint32_t rnd(world_t *w)
{
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 17;
    w->rng ^= w->rng << 5;
    return w->rng;
}

static int64_t rr(world_t *w, int64_t n)
{
    return (int64_t)(rnd(w) % (uint32_t)n);
}

static void seal(world_t *w, int d, Ft__Body *body)
{
    dev_t_ *dv = &w->devs[d];
    Ft__Entry e = FT__ENTRY__INIT;
    e.device.data = dv->id;
    e.device.len = DEVID_BYTES;
    e.epoch = dv->epoch;
    e.seq = ++dv->seq;
    e.hlc = (uint64_t)(T0 + (int64_t)dv->seq * MIN) << 16;
    e.prev_hash.data = dv->prev;
    e.prev_hash.len = ENTRY_HASH_BYTES;
    e.body = body;
    if (w->n_pend == w->cap_pend) {
        w->cap_pend = w->cap_pend ? w->cap_pend * 2 : 64;
        w->pend = realloc(w->pend, w->cap_pend * sizeof *w->pend);
        assert_non_null(w->pend);
    }
    pending_t *p = &w->pend[w->n_pend++];
    p->dev = d;
    p->seq = e.seq;
    assert_int_equal(entry_seal(&e, &dv->keys, &p->raw, &p->len, p->hash), FT_OK);
    memcpy(dv->prev, p->hash, ENTRY_HASH_BYTES);
}

static void add_record(world_t *w, int d, const char *json)
{
    Ft__Record *rec = NULL;
    char err[256];
    if (record_from_line(json, strlen(json), &rec, err, sizeof err) != FT_OK) {
        fail_msg("bad generated record %s: %s", json, err);
    }
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_RECORD;
    body.record = rec;
    seal(w, d, &body);
    record_free(&rec);
}

static void add_media_sup(world_t *w, int d, const char *media_id_seed, const char *supersedes,
                          const char *officer, const char *recorder, const char *case_id,
                          int64_t start, int64_t end);

static void add_media(world_t *w, int d, const char *media_id_seed, const char *officer,
                      const char *recorder, const char *case_id, int64_t start, int64_t end)
{
    add_media_sup(w, d, media_id_seed, NULL, officer, recorder, case_id, start, end);
}

/* A manifest; with supersedes, it names the manifest made from that seed as
 * the shorter copy it replaces (docs/media.md). */
static void add_media_sup(world_t *w, int d, const char *media_id_seed, const char *supersedes,
                          const char *officer, const char *recorder, const char *case_id,
                          int64_t start, int64_t end)
{
    uint8_t fid[16], zero[32] = {0};
    crypto_generichash(fid, sizeof fid, (const uint8_t *)media_id_seed, strlen(media_id_seed), NULL,
                       0);
    Ft__MediaManifest m = FT__MEDIA_MANIFEST__INIT;
    m.file_id.data = fid;
    m.file_id.len = sizeof fid;
    m.size = 1000;
    m.chunk_size = 1 << 20;
    m.has_format = true;
    m.format = MEDIA_FORMAT;
    m.merkle_root.data = zero;
    m.merkle_root.len = 32;
    m.content_hash.data = zero;
    m.content_hash.len = 32;
    m.sealed_key.data = zero;
    m.sealed_key.len = 32;
    m.kind = FT__MEDIA_KIND__VIDEO;
    m.officer = (char *)officer;
    m.recorder = (char *)recorder;
    m.case_id = (char *)case_id;
    Ft__Time s = FT__TIME__INIT, e = FT__TIME__INIT;
    s.unix_ms = start;
    e.unix_ms = end;
    m.start = &s;
    m.end = &e;
    uint8_t old[16];
    if (supersedes) {
        crypto_generichash(old, sizeof old, (const uint8_t *)supersedes, strlen(supersedes), NULL,
                           0);
        m.has_supersedes = true;
        m.supersedes.data = old;
        m.supersedes.len = sizeof old;
    }
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_MEDIA;
    body.media = &m;
    seal(w, d, &body);
}

static void iso(int64_t ms, char *buf)
{
    rfc3339_format(ms, 480, buf, 48);
}

static void world_open(world_t *w, const char *name, uint32_t seed)
{
    memset(w, 0, sizeof *w);
    w->rng = seed * 2654435761u + 1;
    testutil_tmpdir(w->dir, sizeof w->dir, name);
    char path[600];
    snprintf(path, sizeof path, "%s/db", w->dir);
    assert_int_equal(store_open(path, 64 << 20, &w->store), FT_OK);
    char err[256];
    assert_int_equal(rules_parse(rules_default_text, "default", &w->pack, err, sizeof err), FT_OK);
    const int64_t offsets[N_DEV] = {0, 300000, -7000};
    store_txn_t *t = NULL;
    assert_int_equal(store_begin(w->store, true, &t), FT_OK);
    for (int d = 0; d < N_DEV; d++) {
        dev_t_ *dv = &w->devs[d];
        assert_int_equal(keys_generate(&dv->keys, false), FT_OK);
        /* The same keys in every world: device d is the same device, so
         * worlds built in other orders can be compared by alert ID. */
        uint8_t key_seed[32] = {(uint8_t)(d + 1)};
        crypto_sign_seed_keypair(dv->keys.sign_pk, dv->keys.sign_sk, key_seed);
        devid_from_pk(dv->keys.sign_pk, dv->id);
        dv->epoch = 1000 + (uint64_t)d;
        dv->offset_ms = offsets[d];
        store_device_t sd = {0};
        memcpy(sd.device, dv->id, DEVID_BYTES);
        memcpy(sd.sign_pk, dv->keys.sign_pk, 32);
        memcpy(sd.transport_pk, dv->keys.box_pk, 32);
        snprintf(sd.unit, sizeof sd.unit, "unit-%d", d);
        assert_int_equal(store_device_put(t, &sd), FT_OK);
        store_status_t st = {0};
        st.has_clock_offset = true;
        st.clock_offset_ms = offsets[d];
        st.last_hello_ms = T0;
        assert_int_equal(store_status_put(t, dv->id, &st), FT_OK);
    }
    assert_int_equal(store_commit(&t), FT_OK);
}

static void world_close(world_t *w)
{
    for (size_t i = 0; i < w->n_pend; i++) {
        free(w->pend[i].raw);
    }
    free(w->pend);
    free(w->jsons);
    store_destroy(&w->store);
    rules_destroy(&w->pack);
    testutil_rmrf(w->dir);
}

/* Stores pending entries up to `upto` (exclusive). */
static void store_upto(world_t *w, size_t upto)
{
    store_txn_t *t = NULL;
    assert_int_equal(store_begin(w->store, true, &t), FT_OK);
    for (; w->stored < upto; w->stored++) {
        pending_t *p = &w->pend[w->stored];
        dev_t_ *dv = &w->devs[p->dev];
        assert_int_equal(store_entry_append(t, dv->id, dv->epoch, p->seq, p->hash, p->raw, p->len),
                         FT_OK);
    }
    assert_int_equal(store_commit(&t), FT_OK);
}

static const char *const officers[] = {"o1", "o2", "o3"};
static const char *const recorders[] = {"r1", "r2"};

/* Adds one random record or media item. */
static void add_random(world_t *w, int n_cases, int64_t span, char ids[][32], size_t *n_ids)
{
    static const char *const types[] = {
        "complaint_registered",
        "complaint_decision",
        "initiation_urgent",
        "initiation_approval",
        "decision",
        "leader_approval",
        "statement_defense",
        "statement_review",
        "service_direct",
        "service_public_notice",
        "performance_record",
        "demand_notice",
        "demand_notice_service",
        "court_application",
        "court_result",
        "site_inspection",
        "hearing",
        "inquiry",
        "patrol",
        "recorder_checkout",
        "recorder_return",
        "evidence_registration",
    };
    int d = (int)rr(w, N_DEV);
    if (w->one_device) {
        d = 0;
    }
    int64_t t = T0 + rr(w, span);
    char start[48], end[48], json[2048], extra[512] = "";
    iso(t, start);
    if (rr(w, 4) == 0) { /* media */
        char seed[32], cs[16];
        snprintf(seed, sizeof seed, "m%zu", *n_ids);
        snprintf(cs, sizeof cs, "C%d", (int)rr(w, n_cases));
        const char *officer = rr(w, 3) == 0 ? NULL : officers[rr(w, 3)];
        add_media(w, d, seed, officer, recorders[rr(w, 2)], rr(w, 5) == 0 ? cs : NULL, t,
                  t + rr(w, 90) * MIN);
        return;
    }
    if (!w->one_device && w->n_jsons && rr(w, 6) == 0) {
        /* The same record imported on another device too (a vehicle and the
         * desk): one record with two witnesses. Now and then with other
         * content: a conflict (the same id, another version). */
        const char *again = w->jsons[rr(w, (int64_t)w->n_jsons)];
        char other[2100];
        const char *f = strstr(again, "\"fields\":{");
        if (f && rr(w, 3) == 0) {
            size_t at = (size_t)(f - again) + strlen("\"fields\":{");
            snprintf(other, sizeof other, "%.*s\"version\":\"%d\"%s%s", (int)at, again,
                     (int)rr(w, 2), again[at] == '}' ? "" : ",", again + at);
            again = other;
        }
        add_record(w, (d + 1 + (int)rr(w, N_DEV - 1)) % N_DEV, again);
        return;
    }
    const char *type = types[rr(w, (int64_t)(sizeof types / sizeof types[0]))];
    Ft__RecordType rt = record_type_parse(type);
    char id[32];
    snprintf(id, sizeof id, "x%zu", *n_ids);
    int used = 0;
    if (rr(w, 6) == 0 && *n_ids > 0) { /* an amendment */
        used += snprintf(extra + used, sizeof extra - (size_t)used, ",\"amends\":\"%s\"",
                         ids[rr(w, (int64_t)*n_ids)]);
    }
    if (rr(w, 5) == 0) {
        used += snprintf(extra + used, sizeof extra - (size_t)used,
                         ",\"media_unsuitable\":\"refused\"");
    }
    if (rr(w, 4) == 0) {
        used += snprintf(extra + used, sizeof extra - (size_t)used, ",\"media\":[\"%s\"]",
                         "unknown-or-later");
    }
    if (record_type_is_activity(rt)) {
        iso(t + (1 + rr(w, 120)) * MIN, end);
        used += snprintf(extra + used, sizeof extra - (size_t)used,
                         ",\"start\":\"%s\",\"end\":\"%s\"", start, end);
    } else {
        used += snprintf(extra + used, sizeof extra - (size_t)used, ",\"time\":\"%s\"", start);
    }
    char fields[256] = "{}";
    if (rt == FT__RECORD_TYPE__RECORDER_CHECKOUT || rt == FT__RECORD_TYPE__RECORDER_RETURN) {
        snprintf(fields, sizeof fields,
                 "{\"recorder\":\"%s\",\"officer\":\"%s\",\"battery_pct\":%d,\"free_mb\":%d}",
                 recorders[rr(w, 2)], officers[rr(w, 3)], (int)rr(w, 100), (int)rr(w, 5000));
    } else if (rr(w, 2) == 0) {
        /* complete the fields half of the time so the fields rule is not all */
        const char *const *need = record_type_fields(rt);
        size_t off = 1;
        fields[0] = '{';
        for (; need && *need; need++) {
            off += (size_t)snprintf(fields + off, sizeof fields - off, "%s\"%s\":\"v\"",
                                    off > 1 ? "," : "", *need);
        }
        snprintf(fields + off, sizeof fields - off, "}");
    }
    char case_part[32] = "";
    if (record_type_needs_case(rt)) {
        snprintf(case_part, sizeof case_part, ",\"case\":\"C%d\"", (int)rr(w, n_cases));
    }
    snprintf(json, sizeof json,
             "{\"type\":\"%s\",\"id\":\"%s\",\"unit\":\"U1\"%s,\"officers\":[\"%s\"],"
             "\"recorders\":[\"%s\"]%s,\"fields\":%s}",
             type, id, case_part, officers[rr(w, 3)], recorders[rr(w, 2)], extra, fields);
    add_record(w, d, json);
    w->jsons = realloc(w->jsons, (w->n_jsons + 1) * sizeof *w->jsons);
    assert_non_null(w->jsons);
    snprintf(w->jsons[w->n_jsons++], sizeof w->jsons[0], "%s", json);
    snprintf(ids[*n_ids], 32, "%s", id);
    (*n_ids)++;
}

/* Collects "id state" of alerts in a state. */
typedef struct {
    const char *state;
    char (*ids)[17];
    size_t n, cap;
    bool no_clock; /* leave the clock rule's alerts out (the hub's, of devices) */
} collect_t;

static int collect(void *ctx, json_t *a)
{
    collect_t *c = ctx;
    const char *s = json_string_value(json_object_get(a, "state"));
    if (!s || strcmp(s, c->state) != 0) {
        return 0;
    }
    if (c->no_clock && strcmp(json_string_value(json_object_get(a, "kind")), "clock") == 0) {
        return 0;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->ids = realloc(c->ids, c->cap * sizeof *c->ids);
    }
    snprintf(c->ids[c->n++], 17, "%s", json_string_value(json_object_get(a, "id")));
    return 0;
}

static int idcmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static collect_t alerts_in_but(engine_t *e, const char *state, bool no_clock)
{
    collect_t c = {.state = state, .no_clock = no_clock};
    index_txn_t *t = NULL;
    assert_int_equal(index_begin(engine_index(e), false, &t), FT_OK);
    assert_int_equal(alerts_iter(engine_alerts(e), t, collect, &c), FT_OK);
    index_abort(&t);
    if (c.n) {
        qsort(c.ids, c.n, sizeof *c.ids, idcmp);
    }
    return c;
}

static collect_t alerts_in(engine_t *e, const char *state)
{
    return alerts_in_but(e, state, false);
}

static bool has_id(const collect_t *c, const char *id)
{
    return c->n && bsearch(id, c->ids, c->n, sizeof *c->ids, idcmp) != NULL;
}

/* ---- the hub log: one AlertEvents entry per batch --------------------- */

/* What the engine handed on (the sink) and what its hub log holds, as the
 * event texts in order (the hub log's detail_json). */
typedef struct {
    json_t *sunk;   /* texts the sink saw */
    json_t *logged; /* texts in the hub log, every event of every entry */
    size_t entries, max_in_entry;
    size_t justifications; /* justification records (the dashboard's) */
    bool other;            /* an entry that is none of AlertEvents, ClockOffset, justification */
    /* ClockOffset entries, in order: device index (by ID), offset, from */
    struct {
        uint8_t device[DEVID_BYTES];
        int64_t offset_ms;
        uint64_t from_arrival;
    } clocks[16];
    size_t n_clocks;
} hubtrail_t;

static void sink_text(void *ctx, const json_t *ev)
{
    hubtrail_t *h = ctx;
    char *text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(text);
    json_array_append_new(h->sunk, json_string(text));
    free(text);
}

static int hublog_text(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    (void)seq;
    hubtrail_t *h = ctx;
    entry_view_t v;
    assert_int_equal(entry_open(raw, len, &v), FT_OK);
    const Ft__Body *b = v.entry->body;
    if (b->kind_case == FT__BODY__KIND_CLOCK) {
        assert_int_equal(b->clock->device.len, DEVID_BYTES);
        assert_true(h->n_clocks < sizeof h->clocks / sizeof h->clocks[0]);
        memcpy(h->clocks[h->n_clocks].device, b->clock->device.data, DEVID_BYTES);
        h->clocks[h->n_clocks].offset_ms = b->clock->offset_ms;
        h->clocks[h->n_clocks].from_arrival = b->clock->from_arrival;
        h->n_clocks++;
        entry_view_free(&v);
        return 0;
    }
    if (b->kind_case == FT__BODY__KIND_RECORD &&
        b->record->type == FT__RECORD_TYPE__JUSTIFICATION) {
        h->justifications++; /* entered at the dashboard */
        entry_view_free(&v);
        return 0;
    }
    h->other |= b->kind_case != FT__BODY__KIND_ALERTS;
    size_t n = entry_alert_count(b);
    assert_true(n > 0); /* no empty batch is ever logged */
    h->entries++;
    h->max_in_entry = n > h->max_in_entry ? n : h->max_in_entry;
    for (size_t i = 0; i < n; i++) {
        const Ft__AlertEvent *ae = entry_alert_at(b, i);
        json_t *ev = json_loads(ae->detail_json, 0, NULL);
        assert_non_null(ev);
        /* the fields beside detail_json say the same */
        assert_string_equal(ae->alert_id, json_string_value(json_object_get(ev, "alert_id")));
        assert_string_equal(ae->state, json_string_value(json_object_get(ev, "state")));
        json_decref(ev);
        json_array_append_new(h->logged, json_string(ae->detail_json));
    }
    entry_view_free(&v);
    return 0;
}

/* The alert history (index) as texts, in order. */
static int history_text(void *ctx, json_t *ev)
{
    char *text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(text);
    json_array_append_new((json_t *)ctx, json_string(text));
    free(text);
    return 0;
}

static engine_t *engine_at(world_t *w, const char *name)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/%s", w->dir, name);
    engine_opts_t o = {.store = w->store, .pack = w->pack, .batch = 7};
    engine_t *e = NULL;
    assert_int_equal(engine_new(dir, 64 << 20, &o, &e), FT_OK);
    return e;
}

/* ---- the compact form: the same case as the stored records ---------------- */

static int alert_idcmp(const void *a, const void *b)
{
    return strcmp(((const gap_alert_t *)a)->id, ((const gap_alert_t *)b)->id);
}

/* case_id (or the caseless record ref) loaded both ways gives the rules the
 * same case: records, roles, conflicts, media, alerts and deadline. */
static void same_view(index_txn_t *t, store_txn_t *st, const rulepack_t *pack, const char *case_id,
                      const uint8_t *ref, int64_t now)
{
    case_view_t full, comp;
    assert_int_equal(case_view_load(t, st, case_id, ref, &full), FT_OK);
    assert_int_equal(case_view_load_compact(t, st, case_id, ref, &comp), FT_OK);
    assert_int_equal(full.c.n_records, comp.c.n_records);
    assert_int_equal(full.n_all, comp.n_all);
    assert_int_equal(full.c.n_conflicts, comp.c.n_conflicts);
    assert_int_equal(full.c.n_media, comp.c.n_media);
    for (size_t i = 0; i < full.n_all; i++) {
        assert_string_equal(full.recs[i].ref, comp.recs[i].ref);
        assert_int_equal(full.roles[i], comp.roles[i]);
        assert_int_equal(full.primary[i], comp.primary[i]);
    }
    for (size_t i = 0; i < full.c.n_conflicts; i++) {
        assert_string_equal(full.conflicts[i].key, comp.conflicts[i].key);
    }
    gap_alerts_t ga = {0}, gb = {0};
    assert_int_equal(gaps_eval_case(pack, &full.c, now, &ga), FT_OK);
    assert_int_equal(gaps_eval_case(pack, &comp.c, now, &gb), FT_OK);
    assert_int_equal(ga.n, gb.n);
    if (ga.n) {
        qsort(ga.items, ga.n, sizeof *ga.items, alert_idcmp);
        qsort(gb.items, gb.n, sizeof *gb.items, alert_idcmp);
    }
    for (size_t i = 0; i < ga.n; i++) {
        assert_string_equal(ga.items[i].id, gb.items[i].id);
        assert_string_equal(ga.items[i].detail, gb.items[i].detail);
        assert_string_equal(ga.items[i].officers, gb.items[i].officers);
        assert_int_equal(ga.items[i].at_ms, gb.items[i].at_ms);
    }
    assert_int_equal(gaps_next_deadline(pack, &full.c, now),
                     gaps_next_deadline(pack, &comp.c, now));
    gap_alerts_free(&ga);
    gap_alerts_free(&gb);
    case_view_free(&full);
    case_view_free(&comp);
}

typedef struct {
    index_txn_t *t;
    store_txn_t *st;
    const rulepack_t *pack;
    int64_t now;
    size_t cases;
} views_t;

static int same_case(void *ctx, const char *case_id)
{
    views_t *v = ctx;
    same_view(v->t, v->st, v->pack, case_id, NULL, v->now);
    v->cases++;
    return 0;
}

/* Every case and every caseless record of e's index, both ways; the number
 * of record rows seen, and of those with a compact form. */
static size_t compact_equals_full(index_t *idx, world_t *w, int64_t now, size_t *with_compact)
{
    views_t v = {.pack = w->pack, .now = now};
    assert_int_equal(index_begin(idx, false, &v.t), FT_OK);
    assert_int_equal(store_begin(w->store, false, &v.st), FT_OK);
    assert_int_equal(index_cases_iter(v.t, same_case, &v), FT_OK);
    MDB_dbi items;
    assert_int_equal(mdb_dbi_open(index_txn_mdb(v.t), "items", 0, &items), 0);
    MDB_cursor *cur = NULL;
    assert_int_equal(mdb_cursor_open(index_txn_mdb(v.t), items, &cur), 0);
    MDB_val k, val;
    size_t records = 0;
    *with_compact = 0;
    for (int rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
        index_item_t it;
        Ft__Record *rec = NULL;
        assert_int_equal(index_item_get_compact(v.t, k.mv_data, &it, &rec), FT_OK);
        if (it.kind == INDEX_RECORD) {
            records++;
            *with_compact += rec != NULL;
            if (!it.case_id[0]) {
                same_view(v.t, v.st, v.pack, NULL, k.mv_data, now);
            }
        }
        free(rec);
    }
    mdb_cursor_close(cur);
    store_abort(&v.st);
    index_abort(&v.t);
    assert_true(v.cases > 0 || records > 0);
    return records;
}

/* The index's cursor over the hub log (justifications read up to it). */
static uint64_t hublog_cursor(engine_t *e)
{
    index_txn_t *t = NULL;
    assert_int_equal(index_begin(engine_index(e), false, &t), FT_OK);
    uint64_t v = index_named_cursor(t, "hublog_cursor");
    index_abort(&t);
    return v;
}

/* A justification of alert_id as the dashboard enters it. */
static void hub_justification(devlog_t *hublog, const char *alert_id)
{
    Ft__FieldValue f_alert = FT__FIELD_VALUE__INIT, f_reason = FT__FIELD_VALUE__INIT;
    f_alert.key = "alert";
    f_alert.value_case = FT__FIELD_VALUE__VALUE_TEXT;
    f_alert.text = (char *)alert_id;
    f_reason.key = "reason";
    f_reason.value_case = FT__FIELD_VALUE__VALUE_TEXT;
    f_reason.text = "seen on site";
    Ft__FieldValue *fields[] = {&f_alert, &f_reason};
    Ft__Time t = FT__TIME__INIT;
    t.unix_ms = T0 + 3 * DAY;
    char *by[] = {"chief"};
    Ft__Record rec = FT__RECORD__INIT;
    rec.type = FT__RECORD_TYPE__JUSTIFICATION;
    rec.id = "justification-1";
    rec.time = &t;
    rec.n_officers = 1;
    rec.officers = by;
    rec.n_fields = 2;
    rec.fields = fields;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_RECORD;
    body.record = &rec;
    assert_int_equal(devlog_append1(hublog, &body, NULL), FT_OK);
}

/* Justifications entered at the dashboard over all histories. */
static size_t dashboard_total;

static void one_history(uint32_t seed)
{
    world_t w;
    world_open(&w, "engine_prop", seed);
    int n_cases = 2 + (int)rr(&w, 4);
    int64_t span = 40 * DAY;
    size_t n = 60 + (size_t)rr(&w, 80);
    char(*ids)[32] = calloc(n + 8, sizeof *ids);
    size_t n_ids = 0;
    for (size_t i = 0; i < n; i++) {
        add_random(&w, n_cases, span, ids, &n_ids);
    }
    /* The incremental engine also keeps a hub log and hands events on, as in
     * `run`: every event it made is in the hub log, in order, batched. */
    char dir[700];
    snprintf(dir, sizeof dir, "%s/inc", w.dir);
    keys_t hubkeys;
    devlog_t *hublog = NULL;
    devlog_opts_t lo = {.map_size = 64 << 20};
    snprintf(dir, sizeof dir, "%s/hublog", w.dir);
    assert_int_equal(keys_generate(&hubkeys, true), FT_OK);
    assert_int_equal(devlog_open(dir, &hubkeys, &lo, &hublog), FT_OK);
    hubtrail_t trail = {.sunk = json_array(), .logged = json_array()};
    snprintf(dir, sizeof dir, "%s/inc", w.dir);
    engine_opts_t io = {.store = w.store,
                        .pack = w.pack,
                        .batch = 7,
                        .hublog = hublog,
                        .sink = sink_text,
                        .sink_ctx = &trail};
    engine_t *inc = NULL;
    assert_int_equal(engine_new(dir, 64 << 20, &io, &inc), FT_OK);
    /* The full engine's own hub log: the same dashboard justifications. */
    devlog_t *fullhub = NULL;
    snprintf(dir, sizeof dir, "%s/fullhub", w.dir);
    assert_int_equal(devlog_open(dir, &hubkeys, &lo, &fullhub), FT_OK);
    int64_t now = T0;
    size_t justified = 0, at_dashboard = 0;
    size_t steps = 0;
    while (w.stored < w.n_pend) {
        size_t upto = w.stored + 1 + (size_t)rr(&w, 25);
        store_upto(&w, upto < w.n_pend ? upto : w.n_pend);
        now += rr(&w, 12 * DAY);
        engine_stats_t st = {0};
        assert_int_equal(engine_step(inc, now, &st), FT_OK);
        steps++;
        /* Sometimes a supervisor justifies an open alert: a record later on. */
        collect_t open = alerts_in(inc, "open");
        if (open.n && rr(&w, 4) == 0) {
            /* or at the dashboard: a justification in the hub log, after
             * the engine's own entries (their cursor passes them) */
            const char *id = open.ids[rr(&w, (int64_t)open.n)];
            hub_justification(hublog, id);
            hub_justification(fullhub, id);
            at_dashboard++;
        } else if (open.n && rr(&w, 2) == 0) {
            char json[512], when[48];
            iso(T0 + rr(&w, span), when);
            snprintf(json, sizeof json,
                     "{\"type\":\"justification\",\"case\":\"C0\",\"time\":\"%s\","
                     "\"fields\":{\"alert\":\"%s\",\"reason\":\"explained\"}}",
                     when, open.ids[rr(&w, (int64_t)open.n)]);
            add_record(&w, (int)rr(&w, N_DEV), json);
            justified++;
        }
        free(open.ids);
    }
    int64_t final = now + rr(&w, 200 * DAY);
    assert_int_equal(engine_step(inc, final, NULL), FT_OK);

    /* every justification entered at the dashboard was read */
    uint64_t head = 0;
    assert_int_equal(devlog_head(hublog, &head, NULL), FT_OK);
    assert_int_equal(hublog_cursor(inc), head);

    snprintf(dir, sizeof dir, "%s/full", w.dir);
    engine_opts_t fo = {.store = w.store, .pack = w.pack, .batch = 7, .hublog = fullhub};
    engine_t *full = NULL;
    assert_int_equal(engine_new(dir, 64 << 20, &fo, &full), FT_OK);
    assert_int_equal(engine_step(full, final, NULL), FT_OK);
    collect_t a = alerts_in(inc, "open"), b = alerts_in(full, "open");
    for (size_t i = 0; i < a.n; i++) {
        if (!has_id(&b, a.ids[i])) {
            fail_msg("seed %u: alert %s open incrementally, not in a full evaluation", seed,
                     a.ids[i]);
        }
    }
    for (size_t i = 0; i < b.n; i++) {
        if (!has_id(&a, b.ids[i])) {
            fail_msg("seed %u: alert %s open in a full evaluation, not incrementally", seed,
                     b.ids[i]);
        }
    }
    collect_t ja = alerts_in(inc, "justified"), jb = alerts_in(full, "justified");
    for (size_t i = 0; i < jb.n; i++) {
        if (!has_id(&ja, jb.ids[i])) {
            fail_msg("seed %u: alert %s justified in a full evaluation only", seed, jb.ids[i]);
        }
    }
    /* The engine's compact form gives the rules what the stored records give. */
    size_t with_compact = 0;
    size_t records = compact_equals_full(engine_index(inc), &w, final, &with_compact);
    assert_int_equal(with_compact, records);
    /* Marking everything dirty at the same time changes nothing. */
    engine_stats_t again = {0};
    assert_int_equal(engine_full(inc, final, &again), FT_OK);
    assert_int_equal(again.events, 0);
    assert_true(a.n > 0);
    /* The hub log holds exactly the events the engine made, in the order it
     * made them (the sink's, the history's), as AlertEvents entries of at
     * most ALERT_BATCH_MAX_EVENTS, fewer entries than events. */
    json_t *hist = json_array();
    index_txn_t *ht = NULL;
    assert_int_equal(index_begin(engine_index(inc), false, &ht), FT_OK);
    assert_int_equal(alerts_history_iter(engine_alerts(inc), ht, 0, history_text, hist), FT_OK);
    index_abort(&ht);
    assert_int_equal(devlog_iter(hublog, 1, 0, hublog_text, &trail), FT_OK);
    assert_false(trail.other);
    /* The offsets applied are logged once per device, from its first entry
     * on (arrival numbers count from 1 in storing order); device 0's clock
     * is right: nothing is logged for it. */
    size_t want_clocks = 0;
    for (int d = 1; d < N_DEV; d++) {
        uint64_t first = 0;
        for (size_t i = 0; i < w.n_pend && !first; i++) {
            first = w.pend[i].dev == d ? i + 1 : 0;
        }
        if (!first) {
            continue;
        }
        want_clocks++;
        bool found = false;
        for (size_t k = 0; k < trail.n_clocks; k++) {
            if (memcmp(trail.clocks[k].device, w.devs[d].id, DEVID_BYTES) == 0) {
                assert_false(found);
                found = true;
                assert_int_equal(trail.clocks[k].offset_ms, w.devs[d].offset_ms);
                assert_int_equal(trail.clocks[k].from_arrival, first);
            }
        }
        assert_true(found);
    }
    assert_int_equal(trail.n_clocks, want_clocks);
    assert_int_equal(trail.justifications, at_dashboard);
    dashboard_total += at_dashboard;
    assert_true(json_array_size(trail.logged) > 0);
    assert_true(json_equal(trail.logged, trail.sunk));
    assert_true(json_equal(trail.logged, hist));
    assert_true(trail.max_in_entry <= ALERT_BATCH_MAX_EVENTS);
    assert_true(trail.entries <= json_array_size(trail.logged));
    (void)steps;
    json_decref(hist);
    json_decref(trail.logged);
    json_decref(trail.sunk);
    free(a.ids);
    free(b.ids);
    free(ja.ids);
    free(jb.ids);
    free(ids);
    engine_destroy(&inc);
    devlog_destroy(&hublog);
    engine_destroy(&full);
    devlog_destroy(&fullhub);
    world_close(&w);
    (void)justified;
}

/* A step whose one batch opens an alert in each of 40 cases appends ONE hub
 * log entry (AlertEvents) holding the 40 events in the order the engine
 * made them; the next step, which resolves nothing and opens nothing, none.
 * With at most 16 events an entry, the same batch is three entries (16, 16,
 * 8), in order, in the same transaction. */
static void one_batch(size_t per_entry)
{
    world_t w;
    world_open(&w, "engine_batchlog", 11);
    for (int c = 0; c < 40; c++) {
        char json[512], a[48], b[48];
        iso(T0 + c * HOUR, a);
        iso(T0 + c * HOUR + 30 * MIN, b);
        snprintf(json, sizeof json,
                 "{\"type\":\"site_inspection\",\"id\":\"si-%d\",\"case\":\"B%d\","
                 "\"start\":\"%s\",\"end\":\"%s\",\"officers\":[\"o1\"],"
                 "\"recorders\":[\"r1\"],\"fields\":{\"record_no\":\"K-%d\"}}",
                 c, c, a, b, c);
        add_record(&w, c % N_DEV, json);
    }
    store_upto(&w, w.n_pend);
    char dir[700];
    keys_t hubkeys;
    devlog_t *hublog = NULL;
    devlog_opts_t lo = {.map_size = 64 << 20};
    snprintf(dir, sizeof dir, "%s/hublog", w.dir);
    assert_int_equal(keys_generate(&hubkeys, true), FT_OK);
    assert_int_equal(devlog_open(dir, &hubkeys, &lo, &hublog), FT_OK);
    hubtrail_t trail = {.sunk = json_array(), .logged = json_array()};
    engine_opts_t o = {.store = w.store,
                       .pack = w.pack,
                       .hublog = hublog,
                       .sink = sink_text,
                       .sink_ctx = &trail,
                       .events_per_entry = per_entry};
    engine_t *e = NULL;
    snprintf(dir, sizeof dir, "%s/idx", w.dir);
    assert_int_equal(engine_new(dir, 64 << 20, &o, &e), FT_OK);
    engine_stats_t st = {0};
    assert_int_equal(engine_step(e, T0 + 3 * DAY, &st), FT_OK);
    assert_true(st.events >= 40);
    assert_int_equal(devlog_iter(hublog, 1, 0, hublog_text, &trail), FT_OK);
    size_t want = per_entry ? (st.events + per_entry - 1) / per_entry : 1;
    assert_int_equal(trail.entries, want);
    assert_true(trail.max_in_entry == (per_entry && per_entry < st.events ? per_entry : st.events));
    assert_false(trail.other);
    assert_int_equal(trail.n_clocks, 2); /* devices 1 and 2 are off, each logged once */
    assert_int_equal(json_array_size(trail.logged), st.events);
    assert_true(json_equal(trail.logged, trail.sunk));
    uint64_t head = 0;
    assert_int_equal(devlog_head(hublog, &head, NULL), FT_OK);
    /* its own alert events are not read again for justifications */
    assert_int_equal(hublog_cursor(e), head);
    assert_int_equal(engine_step(e, T0 + 3 * DAY + MIN, NULL), FT_OK);
    uint64_t head2 = 0;
    assert_int_equal(devlog_head(hublog, &head2, NULL), FT_OK);
    assert_int_equal(head2, head);
    /* A justification entered at the hub after them is read and applied;
     * the cursor passes it and the event it made. */
    json_t *first = json_loads(json_string_value(json_array_get(trail.sunk, 0)), 0, NULL);
    assert_non_null(first);
    const char *id = json_string_value(json_object_get(first, "alert_id"));
    hub_justification(hublog, id);
    assert_int_equal(engine_step(e, T0 + 3 * DAY + 2 * MIN, NULL), FT_OK);
    collect_t just = alerts_in(e, "justified");
    assert_int_equal(just.n, 1);
    assert_string_equal(just.ids[0], id);
    free(just.ids);
    json_decref(first);
    assert_int_equal(devlog_head(hublog, &head2, NULL), FT_OK);
    assert_int_equal(head2, head + 2); /* the justification, its event */
    assert_int_equal(hublog_cursor(e), head2);
    json_decref(trail.logged);
    json_decref(trail.sunk);
    engine_destroy(&e);
    devlog_destroy(&hublog);
    world_close(&w);
}

static void a_batch_of_events_is_one_hub_log_entry(void **state)
{
    (void)state;
    one_batch(0);
    one_batch(16);
}

/* Recorder -> officer: the last checkout or return at or before capture. */
static void checkout_return_and_late_checkout_resolve_officer(void **state)
{
    (void)state;
    world_t w;
    world_open(&w, "engine_checkout", 9);
    char json[512], a[48];
    const struct {
        const char *type, *officer;
        int64_t at;
    } ev[] = {{"recorder_checkout", "o1", 9 * HOUR}, {"recorder_return", "o1", 10 * HOUR}};
    for (size_t i = 0; i < 2; i++) {
        iso(T0 + ev[i].at, a);
        snprintf(json, sizeof json,
                 "{\"type\":\"%s\",\"time\":\"%s\",\"fields\":{\"recorder\":\"r1\","
                 "\"officer\":\"%s\",\"battery_pct\":90,\"free_mb\":9000}}",
                 ev[i].type, a, ev[i].officer);
        add_record(&w, 0, json);
    }
    add_media(&w, 0, "before", NULL, "r1", NULL, T0 + 8 * HOUR, T0 + 8 * HOUR + MIN);
    add_media(&w, 0, "during", NULL, "r1", NULL, T0 + 9 * HOUR + 30 * MIN,
              T0 + 9 * HOUR + 40 * MIN);
    add_media(&w, 0, "after", NULL, "r1", NULL, T0 + 10 * HOUR + 30 * MIN, T0 + 11 * HOUR);
    engine_t *e = engine_at(&w, "idx");
    store_upto(&w, w.n_pend);
    assert_int_equal(engine_step(e, T0 + 12 * HOUR, NULL), FT_OK);
    const char *want[] = {"", "o1", ""};
    index_txn_t *t = NULL;
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(index_begin(engine_index(e), false, &t), FT_OK);
        for (uint64_t i = 0; i < 3; i++) {
            uint8_t ref[INDEX_REF_BYTES];
            index_item_t it;
            index_ref_make(ref, w.devs[0].id, w.devs[0].epoch, 3 + i);
            assert_int_equal(index_item_get(t, ref, &it), FT_OK);
            assert_string_equal(it.officer, want[i]);
        }
        index_abort(&t);
        /* A checkout to o2 at 10:15 arrives late (another device): "after" is o2's now. */
        iso(T0 + 10 * HOUR + 15 * MIN, a);
        snprintf(json, sizeof json,
                 "{\"type\":\"recorder_checkout\",\"time\":\"%s\",\"fields\":{\"recorder\":"
                 "\"r1\",\"officer\":\"o2\",\"battery_pct\":90,\"free_mb\":9000}}",
                 a);
        if (pass == 0) {
            add_record(&w, 1, json);
            store_upto(&w, w.n_pend);
            assert_int_equal(engine_step(e, T0 + 12 * HOUR, NULL), FT_OK);
            want[2] = "o2";
        }
    }
    engine_destroy(&e);
    world_close(&w);
}

/* The kind of the indexed entry at seq of device d. */
static index_kind kind_at(engine_t *e, world_t *w, int d, uint64_t seq)
{
    index_txn_t *t = NULL;
    assert_int_equal(index_begin(engine_index(e), false, &t), FT_OK);
    uint8_t ref[INDEX_REF_BYTES];
    index_item_t it;
    index_ref_make(ref, w->devs[d].id, w->devs[d].epoch, seq);
    assert_int_equal(index_item_get(t, ref, &it), FT_OK);
    index_abort(&t);
    return it.kind;
}

/* A clip taken before its copy had finished covers 20 minutes of an hour's
 * inspection (an alert); the whole copy that supersedes it covers the hour
 * (the alert resolves, the shorter item leaves the tables). Another
 * device's manifest cannot supersede it; a full evaluation agrees. */
static void a_superseding_manifest_replaces_the_shorter_clip(void **state)
{
    (void)state;
    world_t w;
    world_open(&w, "engine_supersede", 5);
    char json[512], a[48], b[48];
    iso(T0 + 9 * HOUR, a);
    iso(T0 + 10 * HOUR, b);
    snprintf(json, sizeof json,
             "{\"type\":\"site_inspection\",\"id\":\"si-1\",\"case\":\"C1\",\"start\":\"%s\","
             "\"end\":\"%s\",\"officers\":[\"o1\"],\"recorders\":[\"r1\"],"
             "\"fields\":{\"record_no\":\"K-1\"}}",
             a, b);
    add_record(&w, 0, json);                                                             /* seq 1 */
    add_media(&w, 0, "part", "o1", "r1", NULL, T0 + 9 * HOUR, T0 + 9 * HOUR + 20 * MIN); /* 2 */
    engine_t *e = engine_at(&w, "inc");
    store_upto(&w, w.n_pend);
    int64_t now = T0 + 11 * HOUR;
    assert_int_equal(engine_step(e, now, NULL), FT_OK);
    collect_t open = alerts_in(e, "open");
    /* Rule 1 (not covered) and the world's clock rule (a device +300 s off). */
    assert_int_equal(open.n, 2);
    size_t before = open.n;
    free(open.ids);
    add_media_sup(&w, 0, "whole", "part", "o1", "r1", NULL, T0 + 9 * HOUR, T0 + 10 * HOUR); /* 3 */
    store_upto(&w, w.n_pend);
    assert_int_equal(engine_step(e, now, NULL), FT_OK);
    open = alerts_in(e, "open");
    assert_int_equal(open.n, before - 1); /* covered now */
    free(open.ids);
    assert_int_equal(kind_at(e, &w, 0, 2), INDEX_OTHER);
    assert_int_equal(kind_at(e, &w, 0, 3), INDEX_MEDIA);
    /* Device 1 names device 0's whole copy as superseded: nothing changes. */
    add_media_sup(&w, 1, "forged", "whole", "o9", "r9", NULL, T0, T0 + MIN);
    store_upto(&w, w.n_pend);
    assert_int_equal(engine_step(e, now, NULL), FT_OK);
    assert_int_equal(kind_at(e, &w, 0, 3), INDEX_MEDIA);
    open = alerts_in(e, "open");
    collect_t want = open;
    engine_t *full = engine_at(&w, "full");
    assert_int_equal(engine_step(full, now, NULL), FT_OK);
    collect_t got = alerts_in(full, "open");
    assert_int_equal(got.n, want.n);
    for (size_t i = 0; i < got.n; i++) {
        assert_true(has_id(&want, got.ids[i]));
    }
    assert_int_equal(kind_at(full, &w, 0, 2), INDEX_OTHER);
    free(open.ids);
    free(got.ids);
    engine_destroy(&e);
    engine_destroy(&full);
    world_close(&w);
}

/* Open alert IDs of a world whose entries are sealed on the devices in
 * `order` (indexes into jsons), each record on device dev[i]. */
static collect_t alerts_of(const char *name, const char *const *jsons, const int *devs, size_t n,
                           int64_t now, engine_t **keep, world_t *w)
{
    world_open(w, name, 3);
    for (size_t i = 0; i < n; i++) {
        add_record(w, devs[i], jsons[i]);
    }
    store_upto(w, w->n_pend);
    engine_t *e = engine_at(w, "idx");
    assert_int_equal(engine_step(e, now, NULL), FT_OK);
    size_t with_compact = 0;
    size_t records = compact_equals_full(engine_index(e), w, now, &with_compact);
    assert_int_equal(records, with_compact);
    collect_t c = alerts_in(e, "open");
    *keep = e;
    return c;
}

static bool same_set(const collect_t *a, const collect_t *b)
{
    if (a->n != b->n) {
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (!has_id(b, a->ids[i])) {
            return false;
        }
    }
    return true;
}

/* The rule of an open alert, by its ID. */
typedef struct {
    const char *id;
    char rule[32], state[16];
    int n_records;
} find_t;

static int find_alert(void *ctx, json_t *a)
{
    find_t *f = ctx;
    if (strcmp(json_string_value(json_object_get(a, "id")), f->id) == 0) {
        snprintf(f->rule, sizeof f->rule, "%s", json_string_value(json_object_get(a, "kind")));
        snprintf(f->state, sizeof f->state, "%s", json_string_value(json_object_get(a, "state")));
        f->n_records = (int)json_array_size(json_object_get(a, "records"));
    }
    return 0;
}

static find_t alert_by_id(engine_t *e, const char *id)
{
    find_t f = {.id = id};
    index_txn_t *t = NULL;
    assert_int_equal(index_begin(engine_index(e), false, &t), FT_OK);
    assert_int_equal(alerts_iter(engine_alerts(e), t, find_alert, &f), FT_OK);
    index_abort(&t);
    return f;
}

/* One record (same unit, case, id and content) imported on two and three
 * devices, in several orders: the alerts of one record (those of the entry
 * that arrived first), none resolved and raised again. The same id with
 * other content: one integrity alert, the same in both orders, that an amendment from a third
 * device does not resolve while the amended record's own alert does. A justification from another
 * device justifies an alert raised from a vehicle's record. */
static void one_identity_over_devices_and_conflicts(void **state)
{
    (void)state;
    const char *rec = "{\"type\":\"site_inspection\",\"id\":\"si-1\",\"unit\":\"U\","
                      "\"case\":\"C1\",\"start\":\"2026-03-01T09:00:00Z\","
                      "\"end\":\"2026-03-01T10:00:00Z\",\"officers\":[\"o1\"],\"fields\":{}}";
    const char *other = "{\"type\":\"site_inspection\",\"id\":\"si-1\",\"unit\":\"U\","
                        "\"case\":\"C1\",\"start\":\"2026-03-01T09:00:00Z\","
                        "\"end\":\"2026-03-01T10:30:00Z\",\"officers\":[\"o1\"],\"fields\":{}}";
    int64_t now = T0 + 2 * DAY;
    world_t w;
    engine_t *e = NULL;
    /* On three devices, in several orders, and on the first two of each:
     * the alerts of the record alone on the device whose entry arrived
     * first (the record; the others are its witnesses), IDs included. */
    const char *three[] = {rec, rec, rec};
    const int orders[][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {2, 0, 1}};
    for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
        const char *one[] = {rec};
        collect_t alone = alerts_of("ident_alone", one, orders[o], 1, now, &e, &w);
        assert_true(alone.n >= 2); /* not covered, record_no missing (and the world's clock) */
        engine_destroy(&e);
        world_close(&w);
        for (size_t k = 2; k <= 3; k++) {
            collect_t c = alerts_of("ident_many", three, orders[o], k, now, &e, &w);
            if (!same_set(&c, &alone)) {
                fail_msg("order %zu: %zu alerts for one record on %zu devices, %zu on one", o, c.n,
                         k, alone.n);
            }
            collect_t resolved = alerts_in(e, "resolved");
            assert_int_equal(resolved.n, 0);
            free(resolved.ids);
            free(c.ids);
            engine_destroy(&e);
            world_close(&w);
        }
        free(alone.ids);
    }

    /* A record of no case (a patrol), on one device and on two: the same
     * alerts (its witnesses are found through the index's idents). */
    const char *patrol = "{\"type\":\"patrol\",\"id\":\"p-1\",\"unit\":\"U\","
                         "\"start\":\"2026-03-01T09:00:00Z\",\"end\":\"2026-03-01T10:00:00Z\","
                         "\"officers\":[\"o1\"],\"fields\":{}}";
    const char *patrols[] = {patrol, patrol};
    const int p01[] = {0, 1};
    collect_t p1 = alerts_of("ident_patrol1", patrols, p01, 1, now, &e, &w);
    engine_destroy(&e);
    world_close(&w);
    collect_t p2 = alerts_of("ident_patrol2", patrols, p01, 2, now, &e, &w);
    assert_true(p1.n >= 2); /* not covered, and the world's clock */
    assert_true(same_set(&p1, &p2));
    free(p1.ids);
    free(p2.ids);
    engine_destroy(&e);
    world_close(&w);

    /* A conflicting pair, both orders: one integrity alert, same ID. */
    const char *pair[] = {rec, other};
    const int ab[] = {0, 1};
    collect_t c1 = alerts_of("ident_conflict", pair, ab, 2, now, &e, &w);
    engine_destroy(&e);
    world_close(&w);
    const char *pair_r[] = {other, rec};
    const int ba[] = {1, 0};
    collect_t c2 = alerts_of("ident_conflict_r", pair_r, ba, 2, now, &e, &w);
    /* As many alerts in both orders (the record's own name the version that
     * arrived first), and the same integrity alert. */
    assert_int_equal(c1.n, c2.n);
    char integrity[17] = "";
    for (size_t i = 0; i < c2.n; i++) {
        find_t f = alert_by_id(e, c2.ids[i]);
        if (strcmp(f.rule, "integrity") == 0) {
            assert_string_equal(integrity, "");
            snprintf(integrity, sizeof integrity, "%s", c2.ids[i]);
            assert_int_equal(f.n_records, 2); /* names both versions */
        }
    }
    assert_string_not_equal(integrity, "");
    assert_true(has_id(&c1, integrity));
    /* An amendment from a third device settles the record: its own alerts
     * go; the conflict stays in the history, open. */
    char amend[512];
    snprintf(amend, sizeof amend,
             "{\"type\":\"site_inspection\",\"id\":\"si-1a\",\"unit\":\"U\",\"case\":\"C1\","
             "\"amends\":\"si-1\",\"start\":\"2026-03-01T09:00:00Z\","
             "\"end\":\"2026-03-01T10:00:00Z\",\"officers\":[\"o1\"],"
             "\"media_unsuitable\":\"night, no light\",\"fields\":{\"record_no\":\"K-1\"}}");
    add_record(&w, 2, amend);
    store_upto(&w, w.n_pend);
    assert_int_equal(engine_step(e, now, NULL), FT_OK);
    collect_t after = alerts_in(e, "open");
    assert_true(has_id(&after, integrity));
    for (size_t i = 0; i < after.n; i++) {
        find_t f = alert_by_id(e, after.ids[i]);
        assert_true(strcmp(f.rule, "integrity") == 0 || strcmp(f.rule, "clock") == 0);
    }
    free(after.ids);
    free(c1.ids);
    free(c2.ids);
    engine_destroy(&e);
    world_close(&w);

    /* A justification from the desk (device 1) for the vehicle's (device 0)
     * record alert. */
    const char *one[] = {rec};
    collect_t v0 = alerts_of("ident_justify", one, ab, 1, now, &e, &w);
    char fields_alert[17] = "";
    for (size_t i = 0; i < v0.n; i++) {
        if (strcmp(alert_by_id(e, v0.ids[i]).rule, "fields") == 0) {
            snprintf(fields_alert, sizeof fields_alert, "%s", v0.ids[i]);
        }
    }
    assert_string_not_equal(fields_alert, "");
    char just[512];
    snprintf(just, sizeof just,
             "{\"type\":\"justification\",\"case\":\"C1\",\"unit\":\"U\","
             "\"time\":\"2026-03-02T08:00:00Z\",\"fields\":{\"alert\":\"%s\","
             "\"reason\":\"form kept on paper\"}}",
             fields_alert);
    add_record(&w, 1, just);
    store_upto(&w, w.n_pend);
    assert_int_equal(engine_step(e, now, NULL), FT_OK);
    assert_string_equal(alert_by_id(e, fields_alert).state, "justified");
    free(v0.ids);
    engine_destroy(&e);
    world_close(&w);
}

/* Rewrites every record row of the index in dir as today's layout 2 wrote
 * it (row version 1: no compact form) and sets the layout to 2; or only the
 * first `only` rows when only > 0 (layout left as it is). The record rows
 * without a compact form afterwards. */
static size_t downgrade(const char *dir, size_t only)
{
    index_t *idx = NULL;
    assert_int_equal(index_open(dir, 64 << 20, &idx), FT_OK);
    index_txn_t *t = NULL;
    assert_int_equal(index_begin(idx, true, &t), FT_OK);
    MDB_txn *txn = index_txn_mdb(t);
    MDB_dbi items, meta;
    assert_int_equal(mdb_dbi_open(txn, "items", 0, &items), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    MDB_cursor *cur = NULL;
    assert_int_equal(mdb_cursor_open(txn, items, &cur), 0);
    uint8_t(*refs)[INDEX_REF_BYTES] = NULL;
    uint8_t **rows = NULL;
    size_t *lens = NULL, n = 0, plain = 0;
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *row = v.mv_data;
        if (row[1] != INDEX_RECORD || (only && n == only)) {
            continue;
        }
        if (row[0] == 1) {
            plain++; /* already without one */
            continue;
        }
        assert_int_equal(row[0], 2);
        size_t off = 4 + 6 * 8; /* head, six times */
        for (int s = 0; s < 7; s++) {
            off += 2 + ((size_t)row[off] << 8 | row[off + 1]);
        }
        assert_true(off < v.mv_size); /* the compact form follows */
        refs = realloc(refs, (n + 1) * sizeof *refs);
        rows = realloc(rows, (n + 1) * sizeof *rows);
        lens = realloc(lens, (n + 1) * sizeof *lens);
        memcpy(refs[n], k.mv_data, INDEX_REF_BYTES);
        rows[n] = malloc(off);
        memcpy(rows[n], row, off);
        rows[n][0] = 1;
        lens[n++] = off;
    }
    mdb_cursor_close(cur);
    for (size_t i = 0; i < n; i++) {
        MDB_val rk = {INDEX_REF_BYTES, refs[i]}, rv = {lens[i], rows[i]};
        assert_int_equal(mdb_put(txn, items, &rk, &rv, 0), 0);
        free(rows[i]);
    }
    if (!only) {
        assert_int_equal(lmdbx_put_meta_u64(txn, meta, "layout", 2), FT_OK);
    }
    assert_int_equal(index_commit(&t), FT_OK);
    index_destroy(&idx);
    free(refs);
    free(rows);
    free(lens);
    return n + plain;
}

typedef struct {
    int before, after;
    uint64_t from, to;
    size_t records;
} notes_t;

static void note(void *ctx, uint64_t from, uint64_t to, size_t records, bool done)
{
    notes_t *n = ctx;
    n->from = from;
    n->to = to;
    if (done) {
        n->after++;
        n->records = records;
    } else {
        n->before++;
    }
}

static uint64_t layout_of(index_t *idx)
{
    index_txn_t *t = NULL;
    assert_int_equal(index_begin(idx, false, &t), FT_OK);
    MDB_dbi meta;
    assert_int_equal(mdb_dbi_open(index_txn_mdb(t), "meta", 0, &meta), 0);
    uint64_t layout = 0;
    assert_int_equal(lmdbx_get_meta_u64(index_txn_mdb(t), meta, "layout", &layout), FT_OK);
    index_abort(&t);
    return layout;
}

/* An index of today's layout (records without a compact form) is upgraded
 * when the engine opens it, said to the caller before and after (the engine
 * logs it); until then, and for any row without one, the engine reads the
 * stored record and decides exactly as before. Afterwards nothing changes:
 * the same alerts, no event. A new index starts at the current layout. */
static void an_index_of_the_previous_layout_is_upgraded(void **state)
{
    (void)state;
    world_t w;
    world_open(&w, "engine_upgrade", 11);
    char(*ids)[32] = calloc(200, sizeof *ids);
    size_t n_ids = 0;
    for (size_t i = 0; i < 120; i++) {
        add_random(&w, 4, 40 * DAY, ids, &n_ids);
    }
    store_upto(&w, w.n_pend);
    int64_t now = T0 + 60 * DAY;
    engine_t *e = engine_at(&w, "idx");
    assert_int_equal(layout_of(engine_index(e)), 3); /* new: current from the start */
    assert_int_equal(engine_step(e, now, NULL), FT_OK);
    collect_t before = alerts_in(e, "open");
    assert_true(before.n > 0);
    engine_destroy(&e);
    char dir[700];
    snprintf(dir, sizeof dir, "%s/idx", w.dir);

    /* Some rows without their compact form, in a current index: read from the store. */
    assert_int_equal(downgrade(dir, 5), 5);
    index_t *idx = NULL;
    assert_int_equal(index_open(dir, 64 << 20, &idx), FT_OK);
    size_t with = 0, records = compact_equals_full(idx, &w, now, &with);
    assert_int_equal(with, records - 5);
    notes_t nn = {0};
    assert_int_equal(index_upgrade(idx, w.store, note, &nn), FT_OK);
    assert_int_equal(nn.before + nn.after, 0); /* a current index is left as it is */
    index_destroy(&idx);

    /* Today's layout: every record row without one. */
    size_t down = downgrade(dir, 0);
    assert_int_equal(down, records);
    assert_int_equal(index_open(dir, 64 << 20, &idx), FT_OK);
    assert_int_equal(layout_of(idx), 2);
    assert_int_equal(compact_equals_full(idx, &w, now, &with), records);
    assert_int_equal(with, 0);
    assert_int_equal(index_upgrade(idx, w.store, note, &nn), FT_OK);
    assert_int_equal(nn.before, 1);
    assert_int_equal(nn.after, 1);
    assert_int_equal(nn.from, 2);
    assert_int_equal(nn.to, 3);
    assert_int_equal(nn.records, records); /* with the 5 of the first pass */
    assert_int_equal(layout_of(idx), 3);
    assert_int_equal(compact_equals_full(idx, &w, now, &with), records);
    assert_int_equal(with, records);
    index_destroy(&idx);

    /* And through the engine: upgraded when it opens, then nothing changes. */
    downgrade(dir, 0);
    e = engine_at(&w, "idx");
    assert_int_equal(layout_of(engine_index(e)), 3);
    engine_stats_t st = {0};
    assert_int_equal(engine_full(e, now, &st), FT_OK);
    assert_int_equal(st.events, 0);
    collect_t after = alerts_in(e, "open");
    assert_true(same_set(&before, &after));
    free(before.ids);
    free(after.ids);
    free(ids);
    engine_destroy(&e);
    world_close(&w);
}

static void incremental_equals_full_on_random_histories(void **state)
{
    (void)state;
    for (uint32_t seed = 1; seed <= 25; seed++) {
        one_history(seed);
    }
    assert_true(dashboard_total >= 10); /* the dashboard's path was taken */
}

/* Corrected times, recorder -> officer resolution, and state history. */
static int dump_alert(void *ctx, json_t *a)
{
    if (strcmp(json_string_value(json_object_get(a, "id")), ctx) == 0) {
        char *t = json_dumps(a, JSON_COMPACT);
        fprintf(stderr, "%s\n", t);
        free(t);
    }
    return 0;
}

/* A vehicle's view of its own log (hub/gaps/gapinput.h): for a history that
 * is all on one device (offset 0, as the hub measures a vehicle whose clock
 * is right), the alerts it raises are exactly those the engine has open
 * after a full evaluation at the same time, by ID. */
static void one_vehicle(uint32_t seed)
{
    world_t w;
    world_open(&w, "engine_vehicle", seed);
    w.one_device = true;
    int n_cases = 1 + (int)rr(&w, 3);
    size_t n = 30 + (size_t)rr(&w, 60);
    char(*ids)[32] = calloc(n + 8, sizeof *ids);
    size_t n_ids = 0;
    for (size_t i = 0; i < n; i++) {
        add_random(&w, n_cases, 20 * DAY, ids, &n_ids);
    }
    /* a clip whose officer only a checkout names, covering one inspection
     * whole and another in part (by that officer alone) */
    char json[512], t1[48], t2[48], t3[48];
    iso(T0 + 2 * HOUR, t1);
    snprintf(json, sizeof json,
             "{\"type\":\"recorder_checkout\",\"id\":\"v-co\",\"time\":\"%s\","
             "\"fields\":{\"recorder\":\"r9\",\"officer\":\"o9\",\"battery_pct\":15,"
             "\"free_mb\":100}}",
             t1);
    add_record(&w, 0, json);
    add_media(&w, 0, "v-r9", NULL, "r9", NULL, T0 + 3 * HOUR, T0 + 3 * HOUR + 30 * MIN);
    iso(T0 + 3 * HOUR, t1);
    iso(T0 + 3 * HOUR + 30 * MIN, t2);
    iso(T0 + 4 * HOUR, t3);
    for (int i = 0; i < 2; i++) {
        snprintf(json, sizeof json,
                 "{\"type\":\"site_inspection\",\"id\":\"v-si%d\",\"case\":\"C0\","
                 "\"start\":\"%s\",\"end\":\"%s\",\"officers\":[\"o9\"],"
                 "\"fields\":{\"record_no\":\"K-%d\"}}",
                 i, t1, i == 0 ? t2 : t3, i);
        add_record(&w, 0, json);
    }
    /* a clip superseded by its whole copy, and one taken over twice */
    add_media(&w, 0, "v-first", NULL, "r1", NULL, T0 + HOUR, T0 + HOUR + 2 * MIN);
    add_media_sup(&w, 0, "v-whole", "v-first", NULL, "r1", NULL, T0 + HOUR, T0 + HOUR + 9 * MIN);
    add_media_sup(&w, 0, "v-again", "v-first", NULL, "r1", NULL, T0 + HOUR, T0 + HOUR + 20 * MIN);
    store_upto(&w, w.n_pend);
    int64_t now = T0 + rr(&w, 60 * DAY);
    engine_t *e = engine_at(&w, "hub");
    assert_int_equal(engine_step(e, now, NULL), FT_OK);
    collect_t hub = alerts_in_but(e, "open", true); /* the clocks of other devices */

    /* the vehicle: its entries as its log holds them */
    gapinput_entry_t *in = calloc(w.n_pend, sizeof *in);
    entry_view_t *views = calloc(w.n_pend, sizeof *views);
    char(*refs)[INDEX_REF_TEXT] = calloc(w.n_pend, sizeof *refs);
    assert_non_null(in);
    assert_non_null(views);
    assert_non_null(refs);
    for (size_t i = 0; i < w.n_pend; i++) {
        pending_t *p = &w.pend[i];
        assert_int_equal(p->dev, 0);
        assert_int_equal(entry_open(p->raw, p->len, &views[i]), FT_OK);
        uint8_t ref[INDEX_REF_BYTES];
        index_ref_make(ref, w.devs[0].id, w.devs[0].epoch, p->seq);
        index_ref_text(ref, refs[i]);
        const Ft__Body *b = views[i].entry->body;
        in[i] = (gapinput_entry_t){
            .ref = refs[i], .order = p->seq, .logged_ms = (int64_t)hlc_ms(views[i].entry->hlc)};
        if (b->kind_case == FT__BODY__KIND_RECORD) {
            in[i].rec = b->record;
            assert_int_equal(devlog_record_hash(b->record, in[i].content), FT_OK);
        } else if (b->kind_case == FT__BODY__KIND_MEDIA) {
            in[i].media = b->media;
        }
    }
    gapinput_t *g = NULL;
    assert_int_equal(gapinput_new(in, w.n_pend, "unit-0", 0, &g), FT_OK);
    gap_alerts_t ga = {0};
    assert_int_equal(gapinput_eval_all(g, w.pack, now, &ga), FT_OK);
    collect_t car = {.state = "open"};
    for (size_t i = 0; i < ga.n; i++) {
        car.ids = realloc(car.ids, (car.n + 1) * sizeof *car.ids);
        snprintf(car.ids[car.n++], 17, "%s", ga.items[i].id);
    }
    if (car.n) {
        qsort(car.ids, car.n, sizeof *car.ids, idcmp);
    }
    for (size_t i = 0; i < car.n; i++) {
        if (!has_id(&hub, car.ids[i])) {
            fail_msg("seed %u: the vehicle raises %s, the hub does not", seed, car.ids[i]);
        }
        if (i > 0 && strcmp(car.ids[i - 1], car.ids[i]) == 0) {
            fail_msg("seed %u: the vehicle raises %s twice", seed, car.ids[i]);
        }
    }
    for (size_t i = 0; i < hub.n; i++) {
        if (!has_id(&car, hub.ids[i])) {
            {
                index_txn_t *t = NULL;
                assert_int_equal(index_begin(engine_index(e), false, &t), FT_OK);
                assert_int_equal(alerts_iter(engine_alerts(e), t, dump_alert, (void *)hub.ids[i]),
                                 FT_OK);
                index_abort(&t);
            }
            fail_msg("seed %u: the hub raises %s, the vehicle does not", seed, hub.ids[i]);
        }
    }
    assert_true(hub.n > 0);
    gap_alerts_free(&ga);
    gapinput_destroy(&g);
    for (size_t i = 0; i < w.n_pend; i++) {
        entry_view_free(&views[i]);
    }
    free(views);
    free(in);
    free(refs);
    free(car.ids);
    free(hub.ids);
    free(ids);
    engine_destroy(&e);
    world_close(&w);
}

static void a_vehicle_raises_the_hubs_alerts_on_its_own_log(void **state)
{
    (void)state;
    for (uint32_t seed = 1; seed <= 30; seed++) {
        one_vehicle(seed);
    }
}

static void corrected_time_checkout_officer_and_history(void **state)
{
    (void)state;
    world_t w;
    world_open(&w, "engine_basic", 7);
    char json[1024], a[48], b[48];
    /* Device 1's clock is 300 s behind the hub: its records read 5 minutes early. */
    iso(T0 + 10 * HOUR - 300000, a);
    iso(T0 + 11 * HOUR - 300000, b);
    snprintf(json, sizeof json,
             "{\"type\":\"site_inspection\",\"id\":\"si\",\"case\":\"K\",\"start\":\"%s\","
             "\"end\":\"%s\",\"officers\":[\"o1\"],\"fields\":{\"record_no\":\"1\"}}",
             a, b);
    add_record(&w, 1, json);
    /* Device 0 (no offset): a checkout of r1 to o1, then a video without officer. */
    iso(T0 + 9 * HOUR, a);
    snprintf(json, sizeof json,
             "{\"type\":\"recorder_checkout\",\"id\":\"co\",\"time\":\"%s\",\"fields\":"
             "{\"recorder\":\"r1\",\"officer\":\"o1\",\"battery_pct\":90,\"free_mb\":9000}}",
             a);
    store_upto(&w, 0);
    add_record(&w, 0, json);
    add_media(&w, 0, "vid", NULL, "r1", NULL, T0 + 10 * HOUR, T0 + 10 * HOUR + 30 * MIN);
    engine_t *e = engine_at(&w, "idx");
    store_upto(&w, 1); /* only the inspection */
    assert_int_equal(engine_step(e, T0 + 12 * HOUR, NULL), FT_OK);
    collect_t open = alerts_in(e, "open");
    assert_int_equal(open.n, 2); /* coverage (no media yet) and device 1's clock (300 s) */
    free(open.ids);
    store_upto(&w, 3); /* checkout and video: covers half of the hour */
    assert_int_equal(engine_step(e, T0 + 12 * HOUR, NULL), FT_OK);
    index_txn_t *t = NULL;
    assert_int_equal(index_begin(engine_index(e), false, &t), FT_OK);
    uint8_t ref[INDEX_REF_BYTES];
    index_ref_make(ref, w.devs[1].id, w.devs[1].epoch, 1);
    index_item_t it;
    assert_int_equal(index_item_get(t, ref, &it), FT_OK);
    assert_int_equal(it.offset_ms, 300000);
    assert_int_equal(it.start_ms, T0 + 10 * HOUR);
    index_ref_make(ref, w.devs[0].id, w.devs[0].epoch, 2);
    assert_int_equal(index_item_get(t, ref, &it), FT_OK);
    assert_string_equal(it.officer, "o1");
    assert_false(it.officer_listed);
    index_abort(&t);
    /* Still open (50% < 95%), detail updated; then a second video resolves it. */
    open = alerts_in(e, "open");
    assert_int_equal(open.n, 2);
    add_media(&w, 0, "vid2", "o1", "r9", NULL, T0 + 10 * HOUR + 29 * MIN, T0 + 11 * HOUR);
    store_upto(&w, 4);
    assert_int_equal(engine_step(e, T0 + 12 * HOUR, NULL), FT_OK);
    collect_t res = alerts_in(e, "resolved");
    assert_int_equal(res.n, 1);
    assert_true(has_id(&open, res.ids[0]));
    free(res.ids);
    free(open.ids);
    assert_int_equal(index_begin(engine_index(e), false, &t), FT_OK);
    /* clock opened, coverage opened, coverage resolved */
    assert_int_equal(alerts_last_event(engine_alerts(e), t), 3);
    index_abort(&t);
    engine_destroy(&e);
    world_close(&w);
}

/* A cursor that cannot be read (a value of the wrong size) is FT_ECORRUPT:
 * read as 0 it made the engine index the store again from its first entry
 * and retention believe the index was behind. */
static void an_index_cursor_that_cannot_be_read_is_an_error(void **state)
{
    (void)state;
    char dir[512];
    testutil_tmpdir(dir, sizeof dir, "indexcur");
    index_t *idx = NULL;
    assert_int_equal(index_open(dir, 0, &idx), FT_OK);
    index_txn_t *t = NULL;
    uint64_t arrival = 9, integ = 9;
    assert_int_equal(index_begin(idx, true, &t), FT_OK);
    assert_int_equal(index_cursor(t, &arrival, &integ), FT_OK);
    assert_int_equal(arrival, 0);
    assert_int_equal(integ, 0);
    assert_int_equal(index_set_cursor(t, 5, 7), FT_OK);
    assert_int_equal(index_cursor(t, &arrival, &integ), FT_OK);
    assert_int_equal(arrival, 5);
    assert_int_equal(integ, 7);
    MDB_dbi meta;
    assert_int_equal(mdb_dbi_open(index_txn_mdb(t), "meta", 0, &meta), 0);
    const char *keys[] = {"cursor", "integrity"};
    for (size_t i = 0; i < 2; i++) {
        MDB_val k = {strlen(keys[i]), (void *)keys[i]}, v = {3, "abc"};
        assert_int_equal(mdb_put(index_txn_mdb(t), meta, &k, &v, 0), 0);
        assert_int_equal(index_cursor(t, &arrival, &integ), FT_ECORRUPT);
        assert_int_equal(index_set_cursor(t, 5, 7), FT_OK);
    }
    index_abort(&t);
    index_destroy(&idx);
    testutil_rmrf(dir);
}

/* Every event's text (kept in history, carried by the hub log) is what
 * json_dumps makes of the event, as it was when made: the row is dumped
 * once and the event's text built around it (alerts.c transition). */
static void check_texts(const alert_events_t *ev, size_t n)
{
    assert_int_equal(ev->n, n);
    assert_int_equal(json_array_size(ev->list), n);
    for (size_t i = 0; i < n; i++) {
        char *want = json_dumps(json_array_get(ev->list, i), JSON_COMPACT | JSON_SORT_KEYS);
        assert_non_null(want);
        assert_string_equal(ev->texts[i], want);
        free(want);
    }
}

static int history_texts(void *ctx, json_t *ev)
{
    json_t *all = ctx;
    json_array_append_new(all, json_integer(json_integer_value(json_object_get(ev, "event"))));
    json_array_append(all, ev);
    return 0;
}

static json_t *raised_alert(const char *id, const char *detail)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[s]}", "id", id, "rule", "R1", "case",
                          "K \"1\"\n", "severity", "high", "detail", detail, "subject", "s/1",
                          "officers", "o1");
    assert_non_null(o);
    return o;
}

static void alert_event_texts_are_the_events_json(void **state)
{
    (void)state;
    char dir[512];
    testutil_tmpdir(dir, sizeof dir, "alerttext");
    index_t *idx = NULL;
    alerts_t *a = NULL;
    assert_int_equal(index_open(dir, 0, &idx), FT_OK);
    assert_int_equal(alerts_open(idx, &a), FT_OK);
    index_unit_t u = {.n = 2, .b = "CK"};
    const char *x = "00000000000000aa", *y = "00000000000000bb";
    index_txn_t *t = NULL;
    alert_events_t ev;
    assert_int_equal(index_begin(idx, true, &t), FT_OK);
    /* x justified before it opens: opened, then justified (two events) */
    assert_int_equal(alert_events_init(&ev), FT_OK);
    assert_int_equal(alerts_justify(a, t, x, "d/1/2", "chief", "ok \xe2\x9c\x93", T0, &ev), FT_OK);
    check_texts(&ev, 0);
    json_t *raised[2] = {raised_alert(x, "a"), raised_alert(y, "b \x01")};
    assert_int_equal(alerts_apply(a, t, &u, raised, 2, T0 + 1, &ev), FT_OK);
    check_texts(&ev, 3);
    json_t *first = json_object_get(json_array_get(ev.list, 0), "alert");
    assert_string_equal(json_string_value(json_object_get(first, "state")), "open");
    json_t *second = json_object_get(json_array_get(ev.list, 1), "alert");
    assert_string_equal(json_string_value(json_object_get(second, "state")), "justified");
    json_decref(raised[0]);
    json_decref(raised[1]);
    /* y no longer raised: resolved; raised again with another detail: reopened */
    assert_int_equal(alerts_apply(a, t, &u, NULL, 0, T0 + 2, &ev), FT_OK);
    check_texts(&ev, 4);
    raised[0] = raised_alert(y, "c");
    assert_int_equal(alerts_apply(a, t, &u, raised, 1, T0 + 3, &ev), FT_OK);
    json_decref(raised[0]);
    check_texts(&ev, 5);
    /* history holds the same texts, numbered from 1 */
    json_t *hist = json_array();
    assert_int_equal(alerts_history_iter(a, t, 0, history_texts, hist), FT_OK);
    assert_int_equal(json_array_size(hist), 2 * ev.n);
    for (size_t i = 0; i < ev.n; i++) {
        assert_int_equal(json_integer_value(json_array_get(hist, 2 * i)), (json_int_t)i + 1);
        char *got = json_dumps(json_array_get(hist, 2 * i + 1), JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(got, ev.texts[i]);
        free(got);
    }
    json_decref(hist);
    /* the row is the last event's alert */
    json_t *row = alerts_get(a, t, y);
    assert_non_null(row);
    assert_true(json_equal(row, json_object_get(json_array_get(ev.list, 4), "alert")));
    assert_string_equal(json_string_value(json_object_get(row, "state")), "open");
    assert_string_equal(json_string_value(json_object_get(row, "detail")), "c");
    json_decref(row);
    alert_events_free(&ev);
    index_abort(&t);
    alerts_destroy(&a);
    index_destroy(&idx);
    testutil_rmrf(dir);
}

/* A unit marked dirty again in the same transaction is one dirty row; once
 * taken, marking it again makes it dirty again (index.c keeps the units a
 * transaction marked, to skip the repeated writes). */
static void a_unit_marked_again_after_it_was_taken_is_dirty_again(void **state)
{
    (void)state;
    char dir[512];
    testutil_tmpdir(dir, sizeof dir, "dirtymemo");
    index_t *idx = NULL;
    assert_int_equal(index_open(dir, 0, &idx), FT_OK);
    index_txn_t *t = NULL;
    assert_int_equal(index_begin(idx, true, &t), FT_OK);
    index_unit_t units[200], out[256];
    for (int i = 0; i < 200; i++) { /* more units than memo slots */
        char id[16];
        snprintf(id, sizeof id, "K%d", i);
        index_unit_case(&units[i], id);
    }
    for (int pass = 0; pass < 3; pass++) {
        for (int i = 0; i < 200; i++) {
            assert_int_equal(index_mark_dirty(t, &units[i]), FT_OK);
            assert_int_equal(index_mark_dirty(t, &units[i % 7]), FT_OK);
        }
        size_t n = 0;
        assert_int_equal(index_take_dirty(t, out, 256, &n), FT_OK);
        assert_int_equal(n, 200);
        assert_int_equal(index_take_dirty(t, out, 256, &n), FT_OK);
        assert_int_equal(n, 0);
        /* taken: one of them marked again is the only dirty unit */
        assert_int_equal(index_mark_dirty(t, &units[3]), FT_OK);
        assert_int_equal(index_take_dirty(t, out, 256, &n), FT_OK);
        assert_int_equal(n, 1);
        assert_int_equal(out[0].n, units[3].n);
        assert_memory_equal(out[0].b, units[3].b, units[3].n);
    }
    assert_int_equal(index_commit(&t), FT_OK);
    index_destroy(&idx);
    testutil_rmrf(dir);
}

/* ---- a step, then kill -9 (docs/alerts.md "Durability of the index") ---- */

#define KILL_CHUNK 6
#define KILL_EVERY (3 * DAY)

/* The open alerts of a fresh engine that evaluates the whole store at now. */
static collect_t open_in_full(world_t *w, const char *name, int64_t now)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/%s", w->dir, name);
    engine_opts_t fo = {.store = w->store, .pack = w->pack, .batch = 7};
    engine_t *full = NULL;
    assert_int_equal(engine_new(dir, 64 << 20, &fo, &full), FT_OK);
    assert_int_equal(engine_step(full, now, NULL), FT_OK);
    collect_t c = alerts_in(full, "open");
    engine_destroy(&full);
    return c;
}

static void same_ids(const collect_t *a, const collect_t *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_string_equal(a->ids[i], b->ids[i]);
    }
}

/* The hub log's and the index history's event texts. */
static void trail_of(devlog_t *hublog, engine_t *e, hubtrail_t *trail, json_t **hist)
{
    trail->logged = json_array();
    trail->sunk = json_array();
    *hist = json_array();
    assert_int_equal(devlog_iter(hublog, 1, 0, hublog_text, trail), FT_OK);
    index_txn_t *t = NULL;
    assert_int_equal(index_begin(engine_index(e), false, &t), FT_OK);
    assert_int_equal(alerts_history_iter(engine_alerts(e), t, 0, history_text, *hist), FT_OK);
    index_abort(&t);
}

/* The child: steps over the whole history, a few entries a step, the index's
 * state before the last step copied to snap/, then SIGKILL right after the
 * last step's commit (no engine_destroy: its meta page is never synced by
 * the process). Exits 1 on any failure (no cmocka in a child). */
static void steps_then_kill(world_t *w, const keys_t *hubkeys, int64_t *now)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/db", w->dir);
    if (store_open(dir, 64 << 20, &w->store) != FT_OK) { /* its own handle */
        _exit(1);
    }
    devlog_t *hublog = NULL;
    devlog_opts_t lo = {.map_size = 64 << 20};
    snprintf(dir, sizeof dir, "%s/hublog", w->dir);
    if (devlog_open(dir, hubkeys, &lo, &hublog) != FT_OK) {
        _exit(1);
    }
    snprintf(dir, sizeof dir, "%s/inc", w->dir);
    engine_opts_t io = {.store = w->store, .pack = w->pack, .batch = 7, .hublog = hublog};
    engine_t *inc = NULL;
    if (engine_new(dir, 64 << 20, &io, &inc) != FT_OK) {
        _exit(1);
    }
    while (w->stored < w->n_pend) {
        size_t upto = w->stored + KILL_CHUNK;
        upto = upto < w->n_pend ? upto : w->n_pend;
        if (upto == w->n_pend) {
            snprintf(dir, sizeof dir, "%s/snap", w->dir);
            if (mkdir(dir, 0700) != 0 || mdb_env_copy(index_env(engine_index(inc)), dir) != 0) {
                _exit(1);
            }
        }
        store_txn_t *t = NULL;
        if (store_begin(w->store, true, &t) != FT_OK) {
            _exit(1);
        }
        for (; w->stored < upto; w->stored++) {
            pending_t *p = &w->pend[w->stored];
            dev_t_ *dv = &w->devs[p->dev];
            if (store_entry_append(t, dv->id, dv->epoch, p->seq, p->hash, p->raw, p->len) !=
                FT_OK) {
                _exit(1);
            }
        }
        if (store_commit(&t) != FT_OK) {
            _exit(1);
        }
        *now += KILL_EVERY;
        if (engine_step(inc, *now, NULL) != FT_OK) {
            _exit(1);
        }
    }
    raise(SIGKILL);
    _exit(1);
}

static void a_step_then_kill_9_loses_nothing(void **state)
{
    (void)state;
    world_t w;
    world_open(&w, "engine_kill9", 7);
    char(*ids)[32] = calloc(128, sizeof *ids);
    size_t n_ids = 0;
    for (size_t i = 0; i < 90; i++) {
        add_random(&w, 4, 40 * DAY, ids, &n_ids);
    }
    keys_t hubkeys;
    assert_int_equal(keys_generate(&hubkeys, true), FT_OK);
    int64_t now = T0;
    size_t steps = (w.n_pend + KILL_CHUNK - 1) / KILL_CHUNK;
    int64_t last = T0 + (int64_t)steps * KILL_EVERY;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        steps_then_kill(&w, &hubkeys, &now);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    /* After kill -9: the last step's index commit is there (its meta page was
     * in the file), so the hub log and the index history hold the same
     * events, once each; a step at the same time finds nothing to do; the
     * alerts equal a full evaluation. */
    char dir[700];
    devlog_t *hublog = NULL;
    devlog_opts_t lo = {.map_size = 64 << 20};
    snprintf(dir, sizeof dir, "%s/hublog", w.dir);
    assert_int_equal(devlog_open(dir, &hubkeys, &lo, &hublog), FT_OK);
    snprintf(dir, sizeof dir, "%s/inc", w.dir);
    engine_opts_t io = {.store = w.store, .pack = w.pack, .batch = 7, .hublog = hublog};
    engine_t *inc = NULL;
    assert_int_equal(engine_new(dir, 64 << 20, &io, &inc), FT_OK);
    uint64_t head = 0;
    assert_int_equal(devlog_head(hublog, &head, NULL), FT_OK);
    assert_int_equal(hublog_cursor(inc), head);
    hubtrail_t trail = {0};
    json_t *hist = NULL;
    trail_of(hublog, inc, &trail, &hist);
    assert_true(json_array_size(hist) > 0);
    assert_true(json_equal(trail.logged, hist));
    json_decref(trail.logged);
    json_decref(trail.sunk);
    json_decref(hist);
    engine_stats_t st = {0};
    assert_int_equal(engine_step(inc, last, &st), FT_OK);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.events, 0);
    collect_t a = alerts_in(inc, "open"), b = open_in_full(&w, "full", last);
    assert_true(a.n > 0);
    same_ids(&a, &b);
    engine_destroy(&inc);

    /* The machine's crash instead: the index's last commit undone (the copy
     * taken before the last step), the hub log as it was. The step is done
     * again: its events are in the hub log twice, none missing, and the
     * alerts equal a full evaluation. */
    snprintf(dir, sizeof dir, "%s/snap", w.dir);
    engine_t *snap = NULL;
    io.hublog = hublog;
    assert_int_equal(engine_new(dir, 64 << 20, &io, &snap), FT_OK);
    assert_int_equal(engine_step(snap, last, NULL), FT_OK);
    hubtrail_t t2 = {0};
    trail_of(hublog, snap, &t2, &hist);
    assert_true(json_array_size(t2.logged) >= json_array_size(hist));
    for (size_t i = 0; i < json_array_size(hist); i++) {
        bool found = false;
        for (size_t k = 0; k < json_array_size(t2.logged) && !found; k++) {
            found = json_equal(json_array_get(hist, i), json_array_get(t2.logged, k));
        }
        assert_true(found);
    }
    collect_t c = alerts_in(snap, "open");
    same_ids(&c, &b);
    json_decref(t2.logged);
    json_decref(t2.sunk);
    json_decref(hist);
    free(a.ids);
    free(b.ids);
    free(c.ids);
    free(ids);
    engine_destroy(&snap);
    devlog_destroy(&hublog);
    world_close(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_index_cursor_that_cannot_be_read_is_an_error),
        cmocka_unit_test(alert_event_texts_are_the_events_json),
        cmocka_unit_test(a_unit_marked_again_after_it_was_taken_is_dirty_again),
        cmocka_unit_test(corrected_time_checkout_officer_and_history),
        cmocka_unit_test(checkout_return_and_late_checkout_resolve_officer),
        cmocka_unit_test(a_superseding_manifest_replaces_the_shorter_clip),
        cmocka_unit_test(one_identity_over_devices_and_conflicts),
        cmocka_unit_test(incremental_equals_full_on_random_histories),
        cmocka_unit_test(a_step_then_kill_9_loses_nothing),
        cmocka_unit_test(a_batch_of_events_is_one_hub_log_entry),
        cmocka_unit_test(an_index_of_the_previous_layout_is_upgraded),
        cmocka_unit_test(a_vehicle_raises_the_hubs_alerts_on_its_own_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
