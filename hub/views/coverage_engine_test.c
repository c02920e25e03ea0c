/* coverage_engine_test.c: the compliance report's covered time equals the
 * gap engine's (docs/rules.md "Covered by media"), on random catalogs.
 *
 * Each round writes one device's random log to a store: activity records
 * (patrol, inquiry, site_inspection) of random officers and recorders, some
 * in cases, some citing clips by media ID (known or not); recorder checkouts
 * and returns; clips with or without an officer (then it comes from the
 * checkouts), with or without times, some superseding an earlier clip, with
 * windows that overlap each other and the activities. Then:
 *   - the report's side: the catalog read from the store (catalog_update),
 *     its coverage index, coverage_ms per activity (what GET /api/compliance
 *     sums);
 *   - the engine's side: the same entries through the gap engine's own input
 *     building (gapinput_new, gapinput_case / gapinput_caseless) and
 *     gaps_covered_ms over each unit's records and media.
 * Every activity the report counts must be one the engine evaluates, with
 * the same covered milliseconds; and the case view (coverage_case_clips)
 * must list exactly the clips the engine links to the case's activities.
 */
#include "catalog.h"
#include "coverage.h"
#include "devlog.h"
#include "entry.h"
#include "gapinput.h"
#include "media.h"
#include "record.h"
#include "store.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define MIN 60000LL
#define T0 1772409600000LL /* 2026-03-02T00:00:00Z */
#define OFFSET_MS 5000
enum { MAX_ENTRIES = 400, ROUNDS = 12 };

typedef struct {
    char dir[512];
    store_t *store;
    keys_t keys;
    uint8_t device[DEVID_BYTES];
    char device_text[DEVID_TEXT_SIZE];
    uint8_t prev[ENTRY_HASH_BYTES];
    uint64_t seq;
    /* what the engine's side reads: the entries as decoded */
    gapinput_entry_t e[MAX_ENTRIES];
    char refs[MAX_ENTRIES][64];
    Ft__Record *recs[MAX_ENTRIES];
    Ft__MediaManifest man[MAX_ENTRIES];
    Ft__Time times[MAX_ENTRIES][2];
    uint8_t file_ids[MAX_ENTRIES][16], supersedes[MAX_ENTRIES][16];
    size_t n, n_clips;
    size_t clip_at[MAX_ENTRIES]; /* entry index of each clip */
} fx_t;

static const char *OFFICERS[] = {"o1", "o2", "o3", "Li Ming", "Li"};
static const char *RECORDERS[] = {"BC-1", "BC-2", "BC-3", "BC-10"};

static void open_round(fx_t *fx, int round)
{
    char name[32];
    snprintf(name, sizeof name, "covengine%d", round);
    testutil_tmpdir(fx->dir, sizeof fx->dir, name);
    assert_int_equal(store_open(fx->dir, 64u << 20, &fx->store), FT_OK);
    assert_int_equal(keys_generate(&fx->keys, false), FT_OK);
    devid_from_pk(fx->keys.sign_pk, fx->device);
    devid_format(fx->device, fx->device_text);
    store_device_t d = {0};
    memcpy(d.device, fx->device, DEVID_BYTES);
    memcpy(d.sign_pk, fx->keys.sign_pk, 32);
    memcpy(d.transport_pk, fx->keys.box_pk, 32);
    snprintf(d.unit, sizeof d.unit, "unit-a");
    store_txn_t *t = NULL;
    assert_int_equal(store_begin(fx->store, true, &t), FT_OK);
    assert_int_equal(store_device_put(t, &d), FT_OK);
    store_status_t st = {.has_clock_offset = true, .clock_offset_ms = OFFSET_MS};
    assert_int_equal(store_status_put(t, fx->device, &st), FT_OK);
    assert_int_equal(store_commit(&t), FT_OK);
    memset(fx->prev, 0, sizeof fx->prev);
    fx->seq = 0;
    fx->n = fx->n_clips = 0;
}

static void close_round(fx_t *fx)
{
    for (size_t i = 0; i < fx->n; i++) {
        record_free(&fx->recs[i]);
    }
    store_destroy(&fx->store);
    testutil_rmrf(fx->dir);
}

/* Seals body as the device's next entry, logged at logged_ms, stores it and
 * notes it for the engine's side. */
static void append(fx_t *fx, Ft__Body *body, int64_t logged_ms)
{
    assert_true(fx->n < MAX_ENTRIES);
    Ft__Entry e = FT__ENTRY__INIT;
    e.device.data = fx->device;
    e.device.len = DEVID_BYTES;
    e.epoch = 7;
    e.seq = ++fx->seq;
    e.hlc = (uint64_t)logged_ms << 16;
    e.prev_hash.data = fx->prev;
    e.prev_hash.len = ENTRY_HASH_BYTES;
    e.body = body;
    uint8_t *raw = NULL;
    size_t len = 0;
    uint8_t hash[ENTRY_HASH_BYTES];
    assert_int_equal(entry_seal(&e, &fx->keys, &raw, &len, hash), FT_OK);
    store_txn_t *t = NULL;
    assert_int_equal(store_begin(fx->store, true, &t), FT_OK);
    assert_int_equal(store_entry_append(t, fx->device, 7, e.seq, hash, raw, len), FT_OK);
    assert_int_equal(store_commit(&t), FT_OK);
    memcpy(fx->prev, hash, sizeof hash);
    free(raw);
    gapinput_entry_t *g = &fx->e[fx->n];
    memset(g, 0, sizeof *g);
    snprintf(fx->refs[fx->n], sizeof fx->refs[0], "%s/7/%llu", fx->device_text,
             (unsigned long long)e.seq);
    g->ref = fx->refs[fx->n];
    g->order = e.seq;
    g->logged_ms = logged_ms;
    g->rec = body->kind_case == FT__BODY__KIND_RECORD ? body->record : NULL;
    g->media = body->kind_case == FT__BODY__KIND_MEDIA ? body->media : NULL;
    if (g->rec && g->rec->id && g->rec->id[0]) {
        assert_int_equal(devlog_record_hash(g->rec, g->content), FT_OK);
    }
    fx->n++;
}

static void iso(int64_t ms, char *out, size_t cap)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int64_t rand_time(void)
{
    return T0 + (int64_t)(rand() % 600) * MIN;
}

static void add_record(fx_t *fx, const char *line, int64_t logged_ms)
{
    Ft__Record *rec = NULL;
    char err[256];
    if (record_from_line(line, strlen(line), &rec, err, sizeof err) != FT_OK) {
        fail_msg("%s: %s", line, err);
    }
    fx->recs[fx->n] = rec; /* freed by close_round */
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_RECORD;
    body.record = rec;
    append(fx, &body, logged_ms);
}

static void add_activity(fx_t *fx, int k)
{
    static const char *types[] = {"patrol", "inquiry", "site_inspection"};
    static const char *cases[] = {"C-1", "C-2", "C-3"};
    const char *type = types[rand() % 3];
    int64_t s = rand_time(), e = s + (int64_t)(rand() % 6 == 0 ? 0 : rand() % 120) * MIN;
    char a[40], b[40], officers[96] = "", recorders[64] = "", media[200] = "", kase[40] = "";
    iso(s, a, sizeof a);
    iso(e, b, sizeof b);
    for (int i = 0, n = rand() % 3; i < n; i++) {
        snprintf(officers + strlen(officers), sizeof officers - strlen(officers), "%s\"%s\"",
                 i ? "," : "", OFFICERS[rand() % 5]);
    }
    for (int i = 0, n = rand() % 2; i < n; i++) {
        snprintf(recorders + strlen(recorders), sizeof recorders - strlen(recorders), "\"%s\"",
                 RECORDERS[rand() % 4]);
    }
    for (int i = 0, n = fx->n_clips && rand() % 3 == 0 ? 1 + rand() % 2 : 0; i < n; i++) {
        char hex[33] = "00000000000000000000000000000000"; /* unknown */
        if (rand() % 4) {
            hex_encode(fx->file_ids[fx->clip_at[rand() % fx->n_clips]], 16, hex);
        }
        snprintf(media + strlen(media), sizeof media - strlen(media), "%s\"%s\"", i ? "," : "",
                 hex);
    }
    if (strcmp(type, "patrol") != 0 || rand() % 2) {
        snprintf(kase, sizeof kase, "\"case\":\"%s\",", cases[rand() % 3]);
    }
    char line[1024];
    snprintf(line, sizeof line,
             "{\"type\":\"%s\",\"id\":\"a%d\",%s\"start\":\"%s\",\"end\":\"%s\","
             "\"officers\":[%s],\"recorders\":[%s],\"media\":[%s],"
             "\"fields\":{\"subject\":\"x\",\"transcript_no\":\"t\",\"record_no\":\"r\"}}",
             type, k, kase, a, b, officers, recorders, media);
    add_record(fx, line, rand_time());
}

static void add_checkout(fx_t *fx, int k)
{
    char a[40], line[512];
    iso(rand_time(), a, sizeof a);
    bool ret = rand() % 4 == 0;
    snprintf(line, sizeof line,
             "{\"type\":\"%s\",\"id\":\"k%d\",\"time\":\"%s\",\"fields\":{\"recorder\":\"%s\","
             "\"officer\":\"%s\"}}",
             ret ? "recorder_return" : "recorder_checkout", k, a, RECORDERS[rand() % 4],
             OFFICERS[rand() % 5]);
    add_record(fx, line, rand_time());
}

static void add_clip(fx_t *fx)
{
    size_t i = fx->n;
    Ft__MediaManifest *m = &fx->man[i];
    ft__media_manifest__init(m);
    for (size_t b = 0; b < 16; b++) {
        fx->file_ids[i][b] = (uint8_t)rand();
    }
    static uint8_t root[32], content[32], sealed[80];
    m->file_id.data = fx->file_ids[i];
    m->file_id.len = 16;
    m->size = 1000;
    m->chunk_size = 65536;
    m->has_format = true;
    m->format = MEDIA_FORMAT;
    m->merkle_root.data = root;
    m->merkle_root.len = sizeof root;
    m->content_hash.data = content;
    m->content_hash.len = sizeof content;
    m->sealed_key.data = sealed;
    m->sealed_key.len = sizeof sealed;
    m->kind = FT__MEDIA_KIND__VIDEO;
    m->officer = rand() % 2 ? (char *)OFFICERS[rand() % 5] : "";
    m->recorder = rand() % 8 ? (char *)RECORDERS[rand() % 4] : "";
    m->case_id = "";
    int64_t s = rand_time();
    ft__time__init(&fx->times[i][0]);
    ft__time__init(&fx->times[i][1]);
    fx->times[i][0].unix_ms = s;
    fx->times[i][1].unix_ms = s + (int64_t)(rand() % 90) * MIN;
    m->start = rand() % 10 ? &fx->times[i][0] : NULL; /* else: when it was logged */
    m->end = rand() % 10 ? &fx->times[i][1] : NULL;
    if (fx->n_clips && rand() % 10 == 0) { /* a whole copy replaces an earlier clip */
        memcpy(fx->supersedes[i], fx->file_ids[fx->clip_at[rand() % fx->n_clips]], 16);
        m->has_supersedes = true;
        m->supersedes.data = fx->supersedes[i];
        m->supersedes.len = 16;
    }
    fx->clip_at[fx->n_clips++] = i;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_MEDIA;
    body.media = m;
    append(fx, &body, s + (int64_t)(rand() % 30) * MIN);
}

/* The engine's covered ms of each activity it evaluates, by entry index
 * (-1: not evaluated), and whether each clip links to some activity of
 * each case. */
typedef struct {
    int64_t covered[MAX_ENTRIES];
    bool linked[3][MAX_ENTRIES]; /* case C-1..C-3 x entry of the clip */
} engine_side_t;

static void engine_unit(const fx_t *fx, const gapinput_t *g, const gapinput_case_t *c, int kase,
                        engine_side_t *out)
{
    for (size_t k = 0; k < c->c.n_records; k++) {
        const gap_record_t *r = &c->c.records[k];
        if (!record_type_is_activity(r->rec->type)) {
            continue;
        }
        int64_t ms = 0;
        assert_int_equal(gaps_covered_ms(r, c->c.media, c->c.n_media, &ms), FT_OK);
        size_t at = g->records[c->index[k]].order - 1;
        out->covered[at] = ms;
        for (size_t m = 0; kase >= 0 && m < c->c.n_media; m++) {
            if (gaps_media_links(r, &c->c.media[m])) {
                size_t entry = (size_t)-1;
                for (size_t j = 0; j < fx->n; j++) {
                    if (strcmp(fx->e[j].ref, c->c.media[m].ref) == 0) {
                        entry = j;
                    }
                }
                assert_true(entry < fx->n);
                out->linked[kase][entry] = true;
            }
        }
    }
}

static void engine_side(const fx_t *fx, engine_side_t *out)
{
    for (size_t i = 0; i < MAX_ENTRIES; i++) {
        out->covered[i] = -1;
    }
    memset(out->linked, 0, sizeof out->linked);
    gapinput_t *g = NULL;
    assert_int_equal(gapinput_new(fx->e, fx->n, "unit-a", OFFSET_MS, &g), FT_OK);
    static const char *cases[] = {"C-1", "C-2", "C-3"};
    for (int k = 0; k < 3; k++) {
        gapinput_case_t c;
        assert_int_equal(gapinput_case(g, cases[k], &c), FT_OK);
        engine_unit(fx, g, &c, k, out);
        gapinput_case_free(&c);
    }
    for (size_t i = 0; i < g->n_records; i++) {
        if (g->records[i].case_id[0]) {
            continue;
        }
        gapinput_case_t c;
        assert_int_equal(gapinput_caseless(g, i, &c), FT_OK);
        engine_unit(fx, g, &c, -1, out);
        gapinput_case_free(&c);
    }
    gapinput_destroy(&g);
}

static size_t entry_of(const fx_t *fx, const cat_item_t *it)
{
    for (size_t j = 0; j < fx->n; j++) {
        if (strcmp(fx->e[j].ref, it->ref) == 0) {
            return j;
        }
    }
    fail_msg("catalog item %s is no entry", it->ref);
    return 0;
}

static void report_equals_engine(void **state)
{
    (void)state;
    fx_t *fx = calloc(1, sizeof *fx);
    engine_side_t *eng = calloc(1, sizeof *eng);
    assert_non_null(fx);
    assert_non_null(eng);
    srand(20261207);
    size_t compared = 0, covered = 0, resolved = 0, cases_linked = 0;
    for (int round = 0; round < ROUNDS; round++) {
        open_round(fx, round);
        int n = 150 + rand() % 200;
        for (int k = 0; k < n; k++) {
            int what = rand() % 10;
            if (what < 4) {
                add_clip(fx);
            } else if (what < 6) {
                add_checkout(fx, k);
            } else {
                add_activity(fx, k);
            }
        }
        engine_side(fx, eng);
        catalog_t *cat = NULL;
        assert_int_equal(catalog_new(&cat), FT_OK);
        assert_int_equal(catalog_update(cat, fx->store, NULL), FT_OK);
        catalog_read(cat);
        size_t ni = 0;
        const cat_item_t *items = catalog_items(cat, &ni);
        assert_int_equal(ni, fx->n);
        coverage_index_t *ix = NULL;
        assert_int_equal(coverage_index_new(items, ni, &ix), FT_OK);
        size_t evaluated = 0;
        for (size_t j = 0; j < fx->n; j++) {
            evaluated +=
                eng->covered[j] >= 0 && fx->e[j].rec->start->unix_ms < fx->e[j].rec->end->unix_ms;
        }
        size_t counted = 0;
        for (size_t i = 0; i < ni; i++) {
            const cat_item_t *it = &items[i];
            resolved += it->kind == CAT_MEDIA && !it->superseded && !it->link.officer[0];
            /* what GET /api/compliance counts as an activity */
            if (it->kind != CAT_RECORD || !it->activity || !cat_item_counts(it) ||
                it->link.end_ms <= it->link.start_ms) {
                continue;
            }
            counted++;
            size_t j = entry_of(fx, it);
            int64_t got = coverage_ms(ix, it);
            if (eng->covered[j] != got) {
                fail_msg("round %d, %s (%s %s..%s): the report says %lld ms covered, the engine "
                         "%lld ms",
                         round, it->ref, it->officers, it->recorders, it->media, (long long)got,
                         (long long)eng->covered[j]);
            }
            compared++;
            covered += got > 0;
        }
        assert_int_equal(counted, evaluated); /* the same activities */
        /* the case view lists the clips the engine links to the case */
        static const char *cases[] = {"C-1", "C-2", "C-3"};
        for (int k = 0; k < 3; k++) {
            coverage_clip_t *clips = NULL;
            size_t nc = 0, at = 0;
            assert_int_equal(coverage_case_clips(items, ni, cases[k], &clips, &nc), FT_OK);
            for (size_t j = 0; j < fx->n; j++) {
                if (!eng->linked[k][j]) {
                    continue;
                }
                if (at >= nc || entry_of(fx, clips[at].item) != j) {
                    fail_msg("round %d: clip %s is linked to case %s by the engine, not by the "
                             "case view",
                             round, fx->e[j].ref, cases[k]);
                }
                at++;
                cases_linked++;
            }
            assert_int_equal(at, nc);
            free(clips);
        }
        coverage_index_free(&ix);
        catalog_done(cat);
        catalog_destroy(&cat);
        close_round(fx);
    }
    /* the random catalogs do exercise the rule */
    assert_true(compared > 100);
    assert_true(covered > compared / 5);
    assert_true(resolved > 50);
    assert_true(cases_linked > 50);
    free(eng);
    free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(report_equals_engine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
