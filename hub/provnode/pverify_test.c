/* pverify_test.c: the provincial re-verification passes a county's honest
 * hub log and device logs, and names every bad entry by its own position:
 * an altered byte (bad signature, reported once, not again as a broken chain
 * after it), a removed entry (missing seq), an entry moved to another seq,
 * an entry re-signed by another key, a device the hub log never enrolled,
 * an altered hub-log entry (its enrolment is then not taken), a second,
 * different entry stored for one position (either order); and the county's
 * clock offsets, taken from its signed hub log only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pverify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPOCH 77
#define HUB_EPOCH 5

typedef struct {
    uint8_t *raw;
    size_t len;
    uint8_t hash[32];
} sealed_t;

typedef struct {
    pverify_bad_t got[32];
    size_t n;
} reports_t;

static void collect(void *ctx, const pverify_bad_t *b)
{
    reports_t *r = ctx;
    if (r->n < 32) {
        r->got[r->n++] = *b;
    }
}

static sealed_t seal_body(const keys_t *k, uint64_t epoch, uint64_t seq, const uint8_t *prev,
                          Ft__Body *body)
{
    uint8_t id[DEVID_BYTES];
    devid_from_pk(k->sign_pk, id);
    Ft__Entry e = FT__ENTRY__INIT;
    e.device.data = id;
    e.device.len = DEVID_BYTES;
    e.epoch = epoch;
    e.seq = seq;
    e.hlc = 1000 + seq;
    e.prev_hash.data = (uint8_t *)prev;
    e.prev_hash.len = 32;
    e.body = body;
    sealed_t s;
    assert_int_equal(entry_seal(&e, k, &s.raw, &s.len, s.hash), FT_OK);
    return s;
}

/* A device log 1..n of k. */
static sealed_t *device_chain(const keys_t *k, size_t n)
{
    sealed_t *c = calloc(n, sizeof *c);
    uint8_t prev[32] = {0};
    for (size_t i = 0; i < n; i++) {
        Ft__DeviceEvent ev = FT__DEVICE_EVENT__INIT;
        ev.kind = FT__DEVICE_EVENT_KIND__DEVICE_STARTED;
        Ft__Body body = FT__BODY__INIT;
        body.kind_case = FT__BODY__KIND_EVENT;
        body.event = &ev;
        c[i] = seal_body(k, EPOCH, i + 1, prev, &body);
        memcpy(prev, c[i].hash, 32);
    }
    return c;
}

/* A hub log enrolling each of devs[0..n). */
static sealed_t *hub_chain(const keys_t *hub, const keys_t *const *devs, size_t n)
{
    sealed_t *c = calloc(n, sizeof *c);
    uint8_t prev[32] = {0};
    for (size_t i = 0; i < n; i++) {
        uint8_t id[DEVID_BYTES];
        devid_from_pk(devs[i]->sign_pk, id);
        Ft__Enrolment en = FT__ENROLMENT__INIT;
        en.device.data = id;
        en.device.len = DEVID_BYTES;
        en.has_sign_pk = true;
        en.sign_pk.data = (uint8_t *)devs[i]->sign_pk;
        en.sign_pk.len = 32;
        en.unit = (char *)"unit-a";
        en.vehicle = (char *)"car";
        Ft__Body body = FT__BODY__INIT;
        body.kind_case = FT__BODY__KIND_ENROLMENT;
        body.enrolment = &en;
        c[i] = seal_body(hub, HUB_EPOCH, i + 1, prev, &body);
        memcpy(prev, c[i].hash, 32);
    }
    return c;
}

/* Flips one bit inside the n bytes of needle where they occur in s (a
 * field of the signed entry: it still decodes, its signature fails). */
static void flip_in(sealed_t *s, const uint8_t *needle, size_t n)
{
    for (size_t i = 0; i + n <= s->len; i++) {
        if (memcmp(s->raw + i, needle, n) == 0) {
            s->raw[i + n / 2] ^= 0x01;
            return;
        }
    }
    fail_msg("field not found in the entry");
}

static void free_chain(sealed_t *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(c[i].raw);
    }
    free(c);
}

typedef struct {
    keys_t hub, a, b;
    uint8_t ida[DEVID_BYTES], idb[DEVID_BYTES];
    sealed_t *hl, *ca, *cb;
    reports_t r;
    pverify_t *pv;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_int_equal(keys_generate(&fx->hub, false), FT_OK);
    assert_int_equal(keys_generate(&fx->a, false), FT_OK);
    assert_int_equal(keys_generate(&fx->b, false), FT_OK);
    devid_from_pk(fx->a.sign_pk, fx->ida);
    devid_from_pk(fx->b.sign_pk, fx->idb);
    const keys_t *devs[] = {&fx->a, &fx->b};
    fx->hl = hub_chain(&fx->hub, devs, 2);
    fx->ca = device_chain(&fx->a, 6);
    fx->cb = device_chain(&fx->b, 3);
    assert_int_equal(pverify_new(collect, &fx->r, &fx->pv), FT_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    free_chain(fx->hl, 2);
    free_chain(fx->ca, 6);
    free_chain(fx->cb, 3);
    pverify_destroy(&fx->pv);
    keys_wipe(&fx->hub);
    keys_wipe(&fx->a);
    keys_wipe(&fx->b);
    free(fx);
    return 0;
}

static void feed_hub(fx_t *fx)
{
    assert_int_equal(pverify_county(fx->pv, "county-1", fx->hub.sign_pk), FT_OK);
    for (uint64_t s = 1; s <= 2; s++) {
        assert_int_equal(pverify_hublog(fx->pv, HUB_EPOCH, s, fx->hl[s - 1].raw, fx->hl[s - 1].len),
                         FT_OK);
    }
}

/* Feeds device a's entries (skipping seq `skip`, 0 none) and all of b's. */
static void feed_devices(fx_t *fx, uint64_t skip)
{
    for (uint64_t s = 1; s <= 6; s++) {
        if (s != skip) {
            assert_int_equal(
                pverify_entry(fx->pv, fx->ida, EPOCH, s, fx->ca[s - 1].raw, fx->ca[s - 1].len),
                FT_OK);
        }
    }
    for (uint64_t s = 1; s <= 3; s++) {
        assert_int_equal(
            pverify_entry(fx->pv, fx->idb, EPOCH, s, fx->cb[s - 1].raw, fx->cb[s - 1].len), FT_OK);
    }
}

static void test_honest_county_verifies(void **state)
{
    fx_t *fx = *state;
    feed_hub(fx);
    feed_devices(fx, 0);
    assert_int_equal(pverify_end(fx->pv), FT_OK);
    assert_int_equal(fx->r.n, 0);
    pverify_stats_t st;
    pverify_stats(fx->pv, &st);
    assert_int_equal(st.entries, 9);
    assert_int_equal(st.hublog_entries, 2);
    assert_int_equal(st.devices, 2);
    assert_int_equal(st.bad, 0);
}

static void test_altered_byte_named_once(void **state)
{
    fx_t *fx = *state;
    feed_hub(fx);
    flip_in(&fx->ca[2], fx->ca[1].hash, 32); /* seq 3's link */
    feed_devices(fx, 0);
    assert_int_equal(pverify_end(fx->pv), FT_OK);
    assert_int_equal(fx->r.n, 1);
    assert_string_equal(fx->r.got[0].reason, PVERIFY_BAD_SIGNATURE);
    assert_string_equal(fx->r.got[0].county, "county-1");
    assert_memory_equal(fx->r.got[0].device, fx->ida, DEVID_BYTES);
    assert_int_equal(fx->r.got[0].epoch, EPOCH);
    assert_int_equal(fx->r.got[0].seq, 3);
    assert_false(fx->r.got[0].hub_log);
    assert_non_null(strstr(fx->r.got[0].detail, "altered"));
}

static void test_removed_entry_is_missing(void **state)
{
    fx_t *fx = *state;
    feed_hub(fx);
    feed_devices(fx, 4);
    assert_int_equal(pverify_end(fx->pv), FT_OK);
    assert_int_equal(fx->r.n, 1);
    assert_string_equal(fx->r.got[0].reason, PVERIFY_MISSING_SEQ);
    assert_int_equal(fx->r.got[0].seq, 4);
}

static void test_moved_and_foreign_entries(void **state)
{
    fx_t *fx = *state;
    feed_hub(fx);
    /* a's seq 2 stored as seq 2 of b; b's 3rd row is a's entry 3 */
    assert_int_equal(pverify_entry(fx->pv, fx->idb, EPOCH, 1, fx->cb[0].raw, fx->cb[0].len), FT_OK);
    assert_int_equal(pverify_entry(fx->pv, fx->idb, EPOCH, 2, fx->ca[1].raw, fx->ca[1].len), FT_OK);
    assert_int_equal(pverify_entry(fx->pv, fx->idb, EPOCH, 3, fx->cb[2].raw, fx->cb[2].len), FT_OK);
    assert_int_equal(pverify_end(fx->pv), FT_OK);
    assert_int_equal(fx->r.n, 1);
    assert_string_equal(fx->r.got[0].reason, PVERIFY_MISPLACED);
    assert_memory_equal(fx->r.got[0].device, fx->idb, DEVID_BYTES);
    assert_int_equal(fx->r.got[0].seq, 2);
}

static void test_resigned_by_other_key(void **state)
{
    fx_t *fx = *state;
    feed_hub(fx);
    /* An entry for a's position 2 signed by b's key, with a's device ID. */
    Ft__DeviceEvent ev = FT__DEVICE_EVENT__INIT;
    ev.kind = FT__DEVICE_EVENT_KIND__BATTERY_LOW;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_EVENT;
    body.event = &ev;
    Ft__Entry e = FT__ENTRY__INIT;
    e.device.data = fx->ida;
    e.device.len = DEVID_BYTES;
    e.epoch = EPOCH;
    e.seq = 2;
    e.hlc = 5;
    e.prev_hash.data = fx->ca[0].hash;
    e.prev_hash.len = 32;
    e.body = &body;
    sealed_t forged;
    assert_int_equal(entry_seal(&e, &fx->b, &forged.raw, &forged.len, forged.hash), FT_OK);
    assert_int_equal(pverify_entry(fx->pv, fx->ida, EPOCH, 1, fx->ca[0].raw, fx->ca[0].len), FT_OK);
    assert_int_equal(pverify_entry(fx->pv, fx->ida, EPOCH, 2, forged.raw, forged.len), FT_OK);
    /* the real 3 links to the real 2, not to the forgery: taken as it stands */
    assert_int_equal(pverify_entry(fx->pv, fx->ida, EPOCH, 3, fx->ca[2].raw, fx->ca[2].len), FT_OK);
    assert_int_equal(pverify_end(fx->pv), FT_OK);
    free(forged.raw);
    assert_int_equal(fx->r.n, 1);
    assert_string_equal(fx->r.got[0].reason, PVERIFY_BAD_SIGNATURE);
    assert_int_equal(fx->r.got[0].seq, 2);
}

static void test_replaced_entry_breaks_chain(void **state)
{
    fx_t *fx = *state;
    feed_hub(fx);
    /* Seq 2 validly signed but not the one 3 links to (the device's key
     * itself used to rewrite history): 3 is reported as a broken chain. */
    Ft__DeviceEvent ev = FT__DEVICE_EVENT__INIT;
    ev.kind = FT__DEVICE_EVENT_KIND__BATTERY_LOW;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_EVENT;
    body.event = &ev;
    sealed_t other = seal_body(&fx->a, EPOCH, 2, fx->ca[0].hash, &body);
    assert_int_equal(pverify_entry(fx->pv, fx->ida, EPOCH, 1, fx->ca[0].raw, fx->ca[0].len), FT_OK);
    assert_int_equal(pverify_entry(fx->pv, fx->ida, EPOCH, 2, other.raw, other.len), FT_OK);
    assert_int_equal(pverify_entry(fx->pv, fx->ida, EPOCH, 3, fx->ca[2].raw, fx->ca[2].len), FT_OK);
    assert_int_equal(pverify_end(fx->pv), FT_OK);
    free(other.raw);
    assert_int_equal(fx->r.n, 1);
    assert_string_equal(fx->r.got[0].reason, PVERIFY_BROKEN_CHAIN);
    assert_int_equal(fx->r.got[0].seq, 3);
}

static void test_unenrolled_device(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(pverify_county(fx->pv, "county-1", fx->hub.sign_pk), FT_OK);
    /* only the first hub-log entry (a's enrolment) */
    assert_int_equal(pverify_hublog(fx->pv, HUB_EPOCH, 1, fx->hl[0].raw, fx->hl[0].len), FT_OK);
    feed_devices(fx, 0);
    assert_int_equal(pverify_end(fx->pv), FT_OK);
    assert_int_equal(fx->r.n, 1);
    assert_string_equal(fx->r.got[0].reason, PVERIFY_UNENROLLED);
    assert_memory_equal(fx->r.got[0].device, fx->idb, DEVID_BYTES);
    assert_int_equal(fx->r.got[0].seq, 1);
}

static void test_altered_hub_log(void **state)
{
    fx_t *fx = *state;
    flip_in(&fx->hl[1], fx->b.sign_pk, 32); /* b's enrolment */
    feed_hub(fx);
    assert_non_null(pverify_device(fx->pv, fx->ida));
    assert_null(pverify_device(fx->pv, fx->idb)); /* its enrolment was not taken */
    feed_devices(fx, 0);
    assert_int_equal(pverify_end(fx->pv), FT_OK);
    assert_int_equal(fx->r.n, 2);
    assert_true(fx->r.got[0].hub_log);
    assert_int_equal(fx->r.got[0].seq, 2);
    assert_int_equal(fx->r.got[0].epoch, HUB_EPOCH);
    /* so b's entries cannot be verified */
    assert_string_equal(fx->r.got[1].reason, PVERIFY_UNENROLLED);
}

/* A forged row for a's seq 2 (other content, not signed by a) stored beside
 * the real one, before or after it: only the forged one is named. */
static void check_second_row(fx_t *fx, bool forged_first)
{
    sealed_t forged = {.len = fx->ca[1].len};
    forged.raw = malloc(forged.len);
    memcpy(forged.raw, fx->ca[1].raw, forged.len);
    flip_in(&forged, fx->ca[0].hash, 32);
    feed_hub(fx);
    assert_int_equal(pverify_entry(fx->pv, fx->ida, EPOCH, 1, fx->ca[0].raw, fx->ca[0].len), FT_OK);
    for (int k = 0; k < 2; k++) {
        bool f = (k == 0) == forged_first;
        const sealed_t *row = f ? &forged : &fx->ca[1];
        assert_int_equal(pverify_entry(fx->pv, fx->ida, EPOCH, 2, row->raw, row->len), FT_OK);
    }
    for (uint64_t s = 3; s <= 6; s++) {
        assert_int_equal(
            pverify_entry(fx->pv, fx->ida, EPOCH, s, fx->ca[s - 1].raw, fx->ca[s - 1].len), FT_OK);
    }
    assert_int_equal(pverify_end(fx->pv), FT_OK);
    free(forged.raw);
    assert_int_equal(fx->r.n, 1);
    assert_string_equal(fx->r.got[0].reason, PVERIFY_BAD_SIGNATURE);
    assert_int_equal(fx->r.got[0].seq, 2);
    pverify_stats_t st;
    pverify_stats(fx->pv, &st);
    assert_int_equal(st.entries, 6);
}

static void test_second_row_forged_after(void **state)
{
    check_second_row(*state, false);
}

static void test_second_row_forged_before(void **state)
{
    check_second_row(*state, true);
}

/* A walk resumed after seq 3 takes 4.. and checks 4's link against 3's
 * hash; a wrong resume hash names 4 as a broken chain. */
static void test_resume(void **state)
{
    fx_t *fx = *state;
    feed_hub(fx);
    assert_int_equal(pverify_resume(fx->pv, fx->ida, EPOCH, 3, fx->ca[2].hash), FT_OK);
    assert_int_equal(pverify_resume(fx->pv, fx->idb, EPOCH, 1, fx->ca[0].hash), FT_OK);
    for (uint64_t s = 4; s <= 6; s++) {
        entry_view_t v;
        bool ok = false;
        assert_int_equal(pverify_entry_view(fx->pv, fx->ida, EPOCH, s, fx->ca[s - 1].raw,
                                            fx->ca[s - 1].len, &v, &ok),
                         FT_OK);
        assert_true(ok);
        assert_int_equal(v.entry->seq, s);
        entry_view_free(&v);
    }
    for (uint64_t s = 2; s <= 3; s++) {
        assert_int_equal(
            pverify_entry(fx->pv, fx->idb, EPOCH, s, fx->cb[s - 1].raw, fx->cb[s - 1].len), FT_OK);
    }
    assert_int_equal(pverify_end(fx->pv), FT_OK);
    assert_int_equal(fx->r.n, 1);
    assert_string_equal(fx->r.got[0].reason, PVERIFY_BROKEN_CHAIN);
    assert_memory_equal(fx->r.got[0].device, fx->idb, DEVID_BYTES);
    assert_int_equal(fx->r.got[0].seq, 2);
}

static void test_enrolment_units(void **state)
{
    fx_t *fx = *state;
    feed_hub(fx);
    const pverify_device_t *d = pverify_device(fx->pv, fx->ida);
    assert_non_null(d);
    assert_string_equal(d->unit, "unit-a");
    assert_memory_equal(d->sign_pk, fx->a.sign_pk, 32);
    assert_int_equal(pverify_end(fx->pv), FT_OK);
}

/* Clock offsets come from the county hub's log only where it verified; for
 * an arrival, the device's last one in log order from at most that arrival
 * applies (a later entry from an earlier arrival supersedes one after it). */
static void test_clock_offsets(void **state)
{
    fx_t *fx = *state;
    struct {
        const uint8_t *dev;
        int64_t off;
        uint64_t from;
    } w[] = {{fx->ida, 90000, 5},
             {fx->ida, 120000, 9},
             {fx->idb, -3000, 1},
             {fx->ida, 60000, 7},
             {fx->idb, 777000, 2}};
    sealed_t hl[2 + 5];
    memcpy(hl, fx->hl, 2 * sizeof *hl);
    for (size_t i = 0; i < 5; i++) {
        Ft__ClockOffset co = FT__CLOCK_OFFSET__INIT;
        co.device.data = (uint8_t *)w[i].dev;
        co.device.len = DEVID_BYTES;
        co.offset_ms = w[i].off;
        co.from_arrival = w[i].from;
        Ft__Body body = FT__BODY__INIT;
        body.kind_case = FT__BODY__KIND_CLOCK;
        body.clock = &co;
        hl[2 + i] = seal_body(&fx->hub, HUB_EPOCH, 3 + i, hl[1 + i].hash, &body);
    }
    /* the last one altered after signing: not taken */
    flip_in(&hl[6], (const uint8_t *)fx->idb, DEVID_BYTES);
    assert_int_equal(pverify_county(fx->pv, "county-1", fx->hub.sign_pk), FT_OK);
    for (uint64_t s = 1; s <= 7; s++) {
        assert_int_equal(pverify_hublog(fx->pv, HUB_EPOCH, s, hl[s - 1].raw, hl[s - 1].len), FT_OK);
    }
    assert_int_equal(fx->r.n, 1);
    assert_string_equal(fx->r.got[0].reason, PVERIFY_BAD_SIGNATURE);
    size_t n = 0;
    const pverify_clock_t *c = pverify_clocks(fx->pv, &n);
    assert_int_equal(n, 4);
    assert_int_equal(c[3].offset_ms, 60000);
    assert_int_equal(c[3].hub_seq, 6);
    assert_int_equal(c[3].hub_epoch, HUB_EPOCH);
    assert_int_equal(pverify_clock_offset(fx->pv, fx->ida, 4), 0);
    assert_int_equal(pverify_clock_offset(fx->pv, fx->ida, 5), 90000);
    assert_int_equal(pverify_clock_offset(fx->pv, fx->ida, 6), 90000);
    assert_int_equal(pverify_clock_offset(fx->pv, fx->ida, 7), 60000);
    assert_int_equal(pverify_clock_offset(fx->pv, fx->ida, 9), 60000);
    assert_int_equal(pverify_clock_offset(fx->pv, fx->ida, 100), 60000);
    assert_int_equal(pverify_clock_offset(fx->pv, fx->idb, 1), -3000);
    assert_int_equal(pverify_clock_offset(fx->pv, fx->idb, 50), -3000);
    /* a new county starts with none */
    assert_int_equal(pverify_county(fx->pv, "county-2", fx->hub.sign_pk), FT_OK);
    assert_int_equal(pverify_clock_offset(fx->pv, fx->ida, 5), 0);
    assert_int_equal(pverify_end(fx->pv), FT_OK);
    for (size_t i = 2; i < 7; i++) {
        free(hl[i].raw);
    }
}

/* Justification records of the hub log (a supervisor's, from the county's
 * dashboard) that verified: the alert ID lower-cased, the officer and
 * reason; one naming no 16-character ID, one of another type, and one
 * altered after signing are not taken. */
static void test_justifications(void **state)
{
    fx_t *fx = *state;
    struct {
        int type;
        const char *alert, *by, *reason;
    } w[] = {{FT__RECORD_TYPE__JUSTIFICATION, "00AB34CD56EF7890", "sup", "记录仪故障"},
             {FT__RECORD_TYPE__JUSTIFICATION, "short", "sup", "no alert"},
             {FT__RECORD_TYPE__PATROL, "1111222233334444", "o1", "not a justification"},
             {FT__RECORD_TYPE__JUSTIFICATION, "aaaabbbbccccdddd", "lee", "second"},
             {FT__RECORD_TYPE__JUSTIFICATION, "eeeeffff00001111", "zhao", "altered"}};
    enum { N = sizeof w / sizeof w[0] };
    sealed_t hl[2 + N];
    memcpy(hl, fx->hl, 2 * sizeof *hl);
    for (size_t i = 0; i < N; i++) {
        Ft__FieldValue va = FT__FIELD_VALUE__INIT, vr = FT__FIELD_VALUE__INIT;
        va.key = "alert";
        va.value_case = FT__FIELD_VALUE__VALUE_TEXT;
        va.text = (char *)w[i].alert;
        vr.key = "reason";
        vr.value_case = FT__FIELD_VALUE__VALUE_TEXT;
        vr.text = (char *)w[i].reason;
        Ft__FieldValue *fields[] = {&va, &vr};
        char *officers[] = {(char *)w[i].by};
        Ft__Record rec = FT__RECORD__INIT;
        rec.type = (Ft__RecordType)w[i].type;
        rec.case_id = "J-1";
        rec.n_fields = 2;
        rec.fields = fields;
        rec.n_officers = 1;
        rec.officers = officers;
        Ft__Body body = FT__BODY__INIT;
        body.kind_case = FT__BODY__KIND_RECORD;
        body.record = &rec;
        hl[2 + i] = seal_body(&fx->hub, HUB_EPOCH, 3 + i, hl[1 + i].hash, &body);
    }
    flip_in(&hl[2 + N - 1], (const uint8_t *)"zhao", 4);
    assert_int_equal(pverify_county(fx->pv, "county-1", fx->hub.sign_pk), FT_OK);
    for (uint64_t s = 1; s <= 2 + N; s++) {
        assert_int_equal(pverify_hublog(fx->pv, HUB_EPOCH, s, hl[s - 1].raw, hl[s - 1].len), FT_OK);
    }
    assert_int_equal(fx->r.n, 1);
    assert_string_equal(fx->r.got[0].reason, PVERIFY_BAD_SIGNATURE);
    size_t n = 0;
    const pverify_justification_t *j = pverify_justifications(fx->pv, &n);
    assert_int_equal(n, 2);
    assert_string_equal(j[0].alert, "00ab34cd56ef7890");
    assert_string_equal(j[0].by, "sup");
    assert_string_equal(j[0].reason, "记录仪故障");
    assert_int_equal(j[0].hub_epoch, HUB_EPOCH);
    assert_int_equal(j[0].hub_seq, 3);
    assert_string_equal(j[1].alert, "aaaabbbbccccdddd");
    assert_int_equal(j[1].hub_seq, 6);
    /* a new county starts with none */
    assert_int_equal(pverify_county(fx->pv, "county-2", fx->hub.sign_pk), FT_OK);
    (void)pverify_justifications(fx->pv, &n);
    assert_int_equal(n, 0);
    assert_int_equal(pverify_end(fx->pv), FT_OK);
    for (size_t i = 2; i < 2 + N; i++) {
        free(hl[i].raw);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_honest_county_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_altered_byte_named_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_entry_is_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_and_foreign_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resigned_by_other_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replaced_entry_breaks_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unenrolled_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_altered_hub_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_row_forged_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_row_forged_before, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enrolment_units, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_justifications, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
