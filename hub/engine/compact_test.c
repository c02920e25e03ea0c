/* compact_test.c: the compact form of a record (compact.h): what goes in
 * comes back (type, id, amends, media_unsuitable, officers, recorders,
 * media, fields: presence, numbers, text); the gap rules raise the same
 * alerts for the records made from it as for the records themselves, on
 * random cases; a form too large is refused, and damaged bytes are an
 * error, never a record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "compact.h"
#include "gaps.h"
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1772436600000LL /* 2026-03-02T07:30:00Z */
#define MIN 60000LL

static uint64_t rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static void same_str(const char *a, const char *b)
{
    if (!a || !b) {
        assert_true(a == b);
    } else {
        assert_string_equal(a, b);
    }
}

static void same_strs(char *const *a, size_t na, char *const *b, size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_string_equal(a[i], b[i]);
    }
}

/* Everything the rules may read of rec agrees with back. */
static void same_for_rules(const Ft__Record *rec, const Ft__Record *back)
{
    assert_int_equal(rec->type, back->type);
    same_str(rec->id, back->id);
    same_str(rec->amends, back->amends);
    same_str(rec->media_unsuitable, back->media_unsuitable);
    same_strs(rec->officers, rec->n_officers, back->officers, back->n_officers);
    same_strs(rec->recorders, rec->n_recorders, back->recorders, back->n_recorders);
    same_strs(rec->media, rec->n_media, back->media, back->n_media);
    assert_int_equal(rec->n_fields, back->n_fields);
    for (size_t i = 0; i < rec->n_fields; i++) {
        const char *key = rec->fields[i]->key;
        assert_string_equal(key, back->fields[i]->key);
        assert_int_equal(record_field_present(rec, key), record_field_present(back, key));
        const Ft__FieldValue *a = record_field(rec, key), *b = record_field(back, key);
        if (a->value_case == FT__FIELD_VALUE__VALUE_TEXT) {
            assert_int_equal(b->value_case, FT__FIELD_VALUE__VALUE_TEXT);
            assert_string_equal(a->text, b->text);
        } else if (a->value_case == FT__FIELD_VALUE__VALUE_NUMBER) {
            assert_int_equal(b->value_case, FT__FIELD_VALUE__VALUE_NUMBER);
            assert_memory_equal(&a->number, &b->number, sizeof a->number);
        } else {
            /* flags and JSON: neither a number nor text to the rules */
            assert_int_not_equal(b->value_case, FT__FIELD_VALUE__VALUE_TEXT);
            assert_int_not_equal(b->value_case, FT__FIELD_VALUE__VALUE_NUMBER);
        }
    }
}

static Ft__Record *round_trip(const Ft__Record *rec)
{
    uint8_t *buf = malloc(COMPACT_MAX_BYTES);
    assert_non_null(buf);
    size_t n = compact_encode(rec, buf, COMPACT_MAX_BYTES);
    assert_true(n > 0);
    Ft__Record *back = NULL;
    assert_int_equal(compact_decode(buf, n, &back), FT_OK);
    free(buf);
    return back;
}

static void known_record(void **state)
{
    (void)state;
    const char *line =
        "{\"type\":\"site_inspection\",\"id\":\"r-1\",\"case\":\"C-1\",\"unit\":\"u\","
        "\"officers\":[\"ZF-0107\",\"ZF-0108\"],\"recorders\":[\"DSJ-0031\"],"
        "\"media\":[\"cafe\",\"beef\"],\"media_unsuitable\":\"rain\","
        "\"start\":\"2026-03-02T07:30:00+08:00\",\"end\":\"2026-03-02T08:10:00+08:00\","
        "\"fields\":{\"battery_pct\":12,\"free_mb\":\"300\",\"recorder\":\"DSJ-0031\","
        "\"blank\":\"  \",\"empty\":[],\"items\":[1,2],\"none\":{},\"ok\":true,"
        "\"cause\":\"非法占用耕地\"}}";
    Ft__Record *rec = NULL;
    char err[200];
    assert_int_equal(record_from_line(line, strlen(line), &rec, err, sizeof err), FT_OK);
    Ft__Record *back = round_trip(rec);
    same_for_rules(rec, back);
    assert_true(record_field_present(back, "items"));
    assert_false(record_field_present(back, "empty"));
    assert_false(record_field_present(back, "none"));
    assert_false(record_field_present(back, "blank"));
    assert_true(record_field_present(back, "ok"));
    free(back);

    /* A record without id, amends or lists. */
    Ft__Record bare = FT__RECORD__INIT;
    bare.type = FT__RECORD_TYPE__HEARING;
    back = round_trip(&bare);
    same_for_rules(&bare, back);
    free(back);
    record_free(&rec);
}

/* A random record of the kinds of values the rules read. */
static Ft__Record *random_record(uint64_t *s, unsigned k, uint64_t c)
{
    static const char *const types[] = {"site_inspection",
                                        "inquiry",
                                        "hearing",
                                        "evidence_registration",
                                        "decision",
                                        "service_direct",
                                        "recorder_readiness",
                                        "complaint_registered"};
    static const char *const values[] = {"\"v\"", "\"\"", "\" \"", "12",        "\"40\"", "true",
                                         "[]",    "{}",   "[1]",   "{\"a\":1}", "null"};
    static const char *const keys[] = {"battery_pct", "free_mb", "recorder", "party_id",
                                       "decision_no", "items",   "reason"};
    const char *type = types[rnd(s) % 8];
    char line[2048], fields[1024] = "";
    size_t off = 0;
    unsigned nf = (unsigned)(rnd(s) % 6);
    for (unsigned i = 0; i < nf; i++) {
        off += (size_t)snprintf(fields + off, sizeof fields - off, "%s\"%s\":%s", i ? "," : "",
                                keys[rnd(s) % 7], values[rnd(s) % 11]);
    }
    bool activity = record_type_is_activity(record_type_parse(type));
    char when[200];
    int64_t t = T0 + (int64_t)(rnd(s) % 600) * MIN;
    char a[48], b[48];
    rfc3339_format(t, 480, a, sizeof a);
    rfc3339_format(t + (int64_t)(rnd(s) % 90) * MIN, 480, b, sizeof b);
    if (activity) {
        snprintf(when, sizeof when, "\"start\":\"%s\",\"end\":\"%s\"%s", a, b,
                 rnd(s) % 4 == 0 ? ",\"media_unsuitable\":\"dark\"" : "");
    } else {
        snprintf(when, sizeof when, "\"time\":\"%s\"", a);
    }
    snprintf(line, sizeof line,
             "{\"type\":\"%s\",\"id\":\"r-%u\",\"case\":\"C-%llu\",%s\"officers\":[\"ZF-%llu\"],"
             "\"recorders\":[\"DSJ-%llu\"],\"media\":[\"m%llu\"],%s,\"fields\":{%s}}",
             type, k, (unsigned long long)c, k > 0 && rnd(s) % 5 == 0 ? "\"amends\":\"r-0\"," : "",
             (unsigned long long)(rnd(s) % 3), (unsigned long long)(rnd(s) % 3),
             (unsigned long long)(rnd(s) % 4), when, fields);
    Ft__Record *rec = NULL;
    char err[200];
    if (record_from_line(line, strlen(line), &rec, err, sizeof err) != FT_OK) {
        return NULL; /* a combination the record format refuses */
    }
    return rec;
}

static int alert_cmp(const void *a, const void *b)
{
    return strcmp(((const gap_alert_t *)a)->id, ((const gap_alert_t *)b)->id);
}

/* The rules over random cases: the records themselves and the records made
 * from their compact forms raise the same alerts, with the same details,
 * and the same next deadline. */
static void rules_see_the_same(void **state)
{
    (void)state;
    rulepack_t *pack = NULL;
    char err[256];
    assert_int_equal(rules_parse(rules_default_text, "default", &pack, err, sizeof err), FT_OK);
    uint64_t s = 7;
    size_t total_recs = 0, total_alerts = 0;
    for (uint64_t c = 0; c < 300; c++) {
        Ft__Record *recs[12] = {0}, *backs[12] = {0};
        gap_record_t a[12], b[12];
        char refs[12][32];
        size_t n = 0;
        unsigned want = 1 + (unsigned)(rnd(&s) % 12);
        for (unsigned k = 0; k < want; k++) {
            Ft__Record *rec = random_record(&s, k, c);
            if (!rec) {
                continue;
            }
            recs[n] = rec;
            backs[n] = round_trip(rec);
            same_for_rules(rec, backs[n]);
            snprintf(refs[n], sizeof refs[n], "D/1/%zu", n + 1);
            int64_t st = rec->start ? rec->start->unix_ms : rec->time->unix_ms;
            int64_t en = rec->end ? rec->end->unix_ms : st;
            a[n] = (gap_record_t){.ref = refs[n],
                                  .rec = rec,
                                  .start_ms = st,
                                  .end_ms = en,
                                  .time_ms = rec->time ? rec->time->unix_ms : st};
            b[n] = a[n];
            b[n].rec = backs[n];
            n++;
        }
        gap_media_t media[] = {
            {.ref = "D/2/1",
             .media_id = "m1",
             .officer = "ZF-1",
             .start_ms = T0,
             .end_ms = T0 + 200 * MIN},
            {.ref = "D/2/2",
             .media_id = "m9",
             .recorder = "DSJ-2",
             .start_ms = T0 + 300 * MIN,
             .end_ms = T0 + 320 * MIN},
        };
        char case_id[32];
        snprintf(case_id, sizeof case_id, "C-%llu", (unsigned long long)c);
        gap_case_t ca = {
            .case_id = case_id, .records = a, .n_records = n, .media = media, .n_media = 2};
        gap_case_t cb = ca;
        cb.records = b;
        int64_t now = T0 + (int64_t)(rnd(&s) % 30) * 1440 * MIN;
        gap_alerts_t ga = {0}, gb = {0};
        assert_int_equal(gaps_eval_case(pack, &ca, now, &ga), FT_OK);
        assert_int_equal(gaps_eval_case(pack, &cb, now, &gb), FT_OK);
        assert_int_equal(ga.n, gb.n);
        total_recs += n;
        total_alerts += ga.n;
        if (ga.n) {
            qsort(ga.items, ga.n, sizeof *ga.items, alert_cmp);
            qsort(gb.items, gb.n, sizeof *gb.items, alert_cmp);
        }
        for (size_t i = 0; i < ga.n; i++) {
            assert_string_equal(ga.items[i].id, gb.items[i].id);
            assert_string_equal(ga.items[i].detail, gb.items[i].detail);
            assert_string_equal(ga.items[i].officers, gb.items[i].officers);
            assert_string_equal(ga.items[i].article, gb.items[i].article);
            assert_int_equal(ga.items[i].at_ms, gb.items[i].at_ms);
        }
        assert_int_equal(gaps_next_deadline(pack, &ca, now), gaps_next_deadline(pack, &cb, now));
        gap_alerts_free(&ga);
        gap_alerts_free(&gb);
        for (size_t i = 0; i < n; i++) {
            record_free(&recs[i]);
            free(backs[i]);
        }
    }
    /* the cases were not empty, and the rules had something to say */
    assert_true(total_recs > 1000);
    assert_true(total_alerts > 300);
    rules_destroy(&pack);
}

/* A form that would pass COMPACT_MAX_BYTES is none (the engine then reads
 * the stored record), never a shortened one. */
static void too_large(void **state)
{
    (void)state;
    char *big = malloc(COMPACT_MAX_BYTES + 1);
    assert_non_null(big);
    memset(big, 'x', COMPACT_MAX_BYTES);
    big[COMPACT_MAX_BYTES] = '\0';
    Ft__FieldValue fv = FT__FIELD_VALUE__INIT, *fp = &fv;
    fv.key = "note";
    fv.value_case = FT__FIELD_VALUE__VALUE_TEXT;
    fv.text = big;
    Ft__Record rec = FT__RECORD__INIT;
    rec.type = FT__RECORD_TYPE__INQUIRY;
    rec.n_fields = 1;
    rec.fields = &fp;
    uint8_t *buf = malloc(2 * COMPACT_MAX_BYTES);
    assert_non_null(buf);
    assert_int_equal(compact_encode(&rec, buf, 2 * COMPACT_MAX_BYTES), 0);
    /* and one that does not fit the caller's buffer */
    fv.text = "short";
    assert_int_equal(compact_encode(&rec, buf, 8), 0);
    assert_true(compact_encode(&rec, buf, 2 * COMPACT_MAX_BYTES) > 8);
    free(buf);
    free(big);
}

/* Every cut of a valid form, a wrong version, a NUL inside a string and a
 * count past the end are FT_ECORRUPT. */
static void damaged(void **state)
{
    (void)state;
    const char *line = "{\"type\":\"hearing\",\"id\":\"r-1\",\"case\":\"C-1\","
                       "\"officers\":[\"ZF-1\"],\"start\":\"2026-03-02T07:30:00+08:00\","
                       "\"end\":\"2026-03-02T08:30:00+08:00\",\"fields\":{\"a\":\"b\",\"n\":3}}";
    Ft__Record *rec = NULL;
    char err[200];
    assert_int_equal(record_from_line(line, strlen(line), &rec, err, sizeof err), FT_OK);
    uint8_t buf[1024];
    size_t n = compact_encode(rec, buf, sizeof buf);
    assert_true(n > 0);
    Ft__Record *back = NULL;
    for (size_t cut = 0; cut < n; cut++) {
        assert_int_equal(compact_decode(buf, cut, &back), FT_ECORRUPT);
        assert_null(back);
    }
    uint8_t bad[1024];
    memcpy(bad, buf, n);
    bad[0] = COMPACT_VERSION + 1;
    assert_int_equal(compact_decode(bad, n, &back), FT_ECORRUPT);
    memcpy(bad, buf, n);
    bad[n] = 0;
    assert_int_equal(compact_decode(bad, n + 1, &back), FT_ECORRUPT); /* trailing byte */
    /* id "r-1" starts after version (1) and type (4): its length, then bytes */
    memcpy(bad, buf, n);
    bad[5 + 4 + 1] = '\0';
    assert_int_equal(compact_decode(bad, n, &back), FT_ECORRUPT);
    memcpy(bad, buf, n);
    memset(bad + 5, 0x7f, 4); /* id longer than the form */
    assert_int_equal(compact_decode(bad, n, &back), FT_ECORRUPT);
    assert_null(back);
    record_free(&rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_record),
        cmocka_unit_test(rules_see_the_same),
        cmocka_unit_test(too_large),
        cmocka_unit_test(damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
