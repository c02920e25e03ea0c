/* catalog_test.c: the dashboard's view of stored entries: records, media and
 * device events decoded once, times corrected by the device's clock offset,
 * updates read only what arrived since, media marked held; an item's JSON
 * (itemjson.h) holds whatever its text. */
#include "catalog.h"
#include "itemjson.h"
#include "media.h"
#include "record.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct {
    char dir[512];
    store_t *store;
    keys_t keys;
    uint8_t device[DEVID_BYTES];
    uint8_t prev[ENTRY_HASH_BYTES];
    uint64_t seq;
    catalog_t *cat;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    testutil_tmpdir(fx->dir, sizeof fx->dir, "catalog");
    assert_int_equal(store_open(fx->dir, 64u << 20, &fx->store), FT_OK);
    assert_int_equal(keys_generate(&fx->keys, false), FT_OK);
    devid_from_pk(fx->keys.sign_pk, fx->device);
    store_device_t d = {0};
    memcpy(d.device, fx->device, DEVID_BYTES);
    memcpy(d.sign_pk, fx->keys.sign_pk, 32);
    memcpy(d.transport_pk, fx->keys.box_pk, 32);
    snprintf(d.unit, sizeof d.unit, "unit-a");
    store_txn_t *t = NULL;
    assert_int_equal(store_begin(fx->store, true, &t), FT_OK);
    assert_int_equal(store_device_put(t, &d), FT_OK);
    store_status_t st = {.has_clock_offset = true, .clock_offset_ms = 5000};
    assert_int_equal(store_status_put(t, fx->device, &st), FT_OK);
    assert_int_equal(store_commit(&t), FT_OK);
    assert_int_equal(catalog_new(&fx->cat), FT_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    catalog_destroy(&fx->cat);
    catalog_destroy(&fx->cat); /* twice is safe */
    store_destroy(&fx->store);
    keys_wipe(&fx->keys);
    testutil_rmrf(fx->dir);
    free(fx);
    return 0;
}

/* Seals body as the device's next entry and stores it. */
static void append(fx_t *fx, Ft__Body *body)
{
    Ft__Entry e = FT__ENTRY__INIT;
    e.device.data = fx->device;
    e.device.len = DEVID_BYTES;
    e.epoch = 7;
    e.seq = ++fx->seq;
    e.hlc = (uint64_t)1000000 << 16;
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
}

static void append_record(fx_t *fx, const char *line)
{
    Ft__Record *rec = NULL;
    char err[256];
    assert_int_equal(record_from_line(line, strlen(line), &rec, err, sizeof err), FT_OK);
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_RECORD;
    body.record = rec;
    append(fx, &body);
    record_free(&rec);
}

static void append_media_text(fx_t *fx, uint8_t tag, int64_t start_ms, int64_t end_ms,
                              const char *cause, const char *party)
{
    uint8_t file_id[16], root[32], content[32], sealed[80];
    memset(file_id, tag, sizeof file_id);
    memset(root, tag + 1, sizeof root);
    memset(content, 0, sizeof content);
    memset(sealed, 0, sizeof sealed);
    Ft__Time s = FT__TIME__INIT, e = FT__TIME__INIT;
    s.unix_ms = start_ms;
    e.unix_ms = end_ms;
    Ft__MediaManifest m = FT__MEDIA_MANIFEST__INIT;
    m.file_id.data = file_id;
    m.file_id.len = sizeof file_id;
    m.size = 1000;
    m.chunk_size = 65536;
    m.has_format = true;
    m.format = MEDIA_FORMAT;
    m.merkle_root.data = root;
    m.merkle_root.len = sizeof root;
    m.content_hash.data = content;
    m.content_hash.len = sizeof content;
    m.sealed_key.data = sealed;
    m.sealed_key.len = sizeof sealed;
    m.kind = FT__MEDIA_KIND__VIDEO;
    m.officer = "ZF-0107";
    m.recorder = "DSJ-0031";
    m.case_id = "C-1";
    m.cause = (char *)cause;
    m.party = (char *)party;
    m.start = &s;
    m.end = &e;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_MEDIA;
    body.media = &m;
    append(fx, &body);
}

static void append_media(fx_t *fx, uint8_t tag, int64_t start_ms, int64_t end_ms)
{
    append_media_text(fx, tag, start_ms, end_ms, NULL, NULL);
}

static const cat_item_t *find(catalog_t *c, const char *id)
{
    size_t n;
    const cat_item_t *it = catalog_items(c, &n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(it[i].id, id) == 0) {
            return &it[i];
        }
    }
    return NULL;
}

static void records_are_classified_and_times_corrected(void **state)
{
    fx_t *fx = *state;
    append_record(fx,
                  "{\"type\":\"site_inspection\",\"id\":\"r1\",\"case\":\"C-1\","
                  "\"cause\":\"占用耕地\",\"party\":\"张某\",\"unit\":\"unit-a\","
                  "\"start\":\"2026-03-02T14:30:00+08:00\",\"end\":\"2026-03-02T15:25:00+08:00\","
                  "\"officers\":[\"ZF-0107\",\"ZF-0112\"],\"recorders\":[\"DSJ-0031\"]}");
    size_t added = 0;
    assert_int_equal(catalog_update(fx->cat, fx->store, &added), FT_OK);
    assert_int_equal(added, 1);
    catalog_read(fx->cat);
    const cat_item_t *r = find(fx->cat, "r1");
    assert_non_null(r);
    assert_int_equal(r->kind, CAT_RECORD);
    assert_string_equal(r->type, "site_inspection");
    assert_true(r->activity);
    assert_string_equal(r->case_id, "C-1");
    assert_string_equal(r->cause, "占用耕地");
    assert_string_equal(r->officers, "ZF-0107, ZF-0112");
    assert_string_equal(r->recorders, "DSJ-0031");
    int64_t start = 0;
    int32_t off = 0;
    assert_int_equal(rfc3339_parse("2026-03-02T14:30:00+08:00", &start, &off), FT_OK);
    assert_int_equal(r->start_ms, start + 5000); /* the device's clock offset applied */
    assert_int_equal(r->offset_ms, 5000);
    assert_non_null(strstr(r->ref, "/7/1"));
    assert_false(r->text_escaped);
    catalog_done(fx->cat);
}

static void update_reads_only_new_entries(void **state)
{
    fx_t *fx = *state;
    append_record(fx, "{\"type\":\"patrol\",\"id\":\"p1\",\"start\":\"2026-03-02T08:00:00+08:00\","
                      "\"end\":\"2026-03-02T09:00:00+08:00\"}");
    size_t added = 0;
    assert_int_equal(catalog_update(fx->cat, fx->store, &added), FT_OK);
    assert_int_equal(added, 1);
    assert_int_equal(catalog_update(fx->cat, fx->store, &added), FT_OK);
    assert_int_equal(added, 0);
    append_record(fx, "{\"type\":\"decision\",\"id\":\"d1\",\"case\":\"C-1\","
                      "\"time\":\"2026-03-12T09:00:00+08:00\"}");
    assert_int_equal(catalog_update(fx->cat, fx->store, &added), FT_OK);
    assert_int_equal(added, 1);
    catalog_read(fx->cat);
    size_t n;
    catalog_items(fx->cat, &n);
    assert_int_equal(n, 2);
    char dev[DEVID_TEXT_SIZE];
    devid_format(fx->device, dev);
    const cat_device_t *d = catalog_device(fx->cat, dev);
    assert_non_null(d);
    assert_int_equal(d->entries, 2);
    assert_true(d->bytes > 0);
    catalog_done(fx->cat);
}

static bool held_if_tag_3(void *ctx, const uint8_t blob_id[32])
{
    (*(int *)ctx)++;
    return blob_id[0] == 4; /* media tag 3 has root bytes 4 */
}

static void media_counts_announced_and_held_bytes(void **state)
{
    fx_t *fx = *state;
    append_media(fx, 3, 1772436600000, 1772438100000);
    append_media(fx, 8, 1772436600000, 1772438100000);
    assert_int_equal(catalog_update(fx->cat, fx->store, NULL), FT_OK);
    int asked = 0;
    catalog_update_held(fx->cat, held_if_tag_3, &asked);
    assert_int_equal(asked, 2);
    asked = 0;
    catalog_update_held(fx->cat, held_if_tag_3, &asked);
    assert_int_equal(asked, 1); /* a held item is not asked again */
    catalog_read(fx->cat);
    const cat_item_t *m = find(fx->cat, "03030303030303030303030303030303");
    assert_non_null(m);
    assert_int_equal(m->kind, CAT_MEDIA);
    assert_string_equal(m->type, "video");
    assert_true(m->held);
    assert_int_equal(m->start_ms, 1772436600000 + 5000);
    char dev[DEVID_TEXT_SIZE];
    devid_format(fx->device, dev);
    const cat_device_t *d = catalog_device(fx->cat, dev);
    assert_int_equal(d->media_bytes, 2000);
    assert_int_equal(d->media_held_bytes, 1000);
    catalog_done(fx->cat);
}

static void recorder_health_comes_from_checkout_records(void **state)
{
    fx_t *fx = *state;
    append_record(fx, "{\"type\":\"recorder_checkout\",\"id\":\"co1\","
                      "\"time\":\"2026-03-02T07:52:00+08:00\",\"officers\":[\"ZF-0107\"],"
                      "\"recorders\":[\"DSJ-0031\"],\"fields\":{\"battery_pct\":25,"
                      "\"free_mb\":58210}}");
    assert_int_equal(catalog_update(fx->cat, fx->store, NULL), FT_OK);
    catalog_read(fx->cat);
    char dev[DEVID_TEXT_SIZE];
    devid_format(fx->device, dev);
    const cat_device_t *d = catalog_device(fx->cat, dev);
    json_t *h = json_object_get(d->recorders, "DSJ-0031");
    assert_non_null(h);
    assert_true(json_number_value(json_object_get(h, "battery_pct")) == 25.0);
    assert_true(json_number_value(json_object_get(h, "free_mb")) == 58210.0);
    catalog_done(fx->cat);
}

/* Text that is not valid UTF-8 (a cause an old edge cut mid-character, a
 * record of a foreign protobuf): the item is in the catalog with the text
 * escaped, and the item's JSON (as the API shows it) holds. */
static void text_cut_mid_character_is_shown_escaped(void **state)
{
    fx_t *fx = *state;
    char cause[300] = "X";
    for (int i = 0; i < 85; i++) {
        strcat(cause, "中");
    }
    cause[255] = '\0'; /* as edges that cut at 255 bytes signed it */
    append_media_text(fx, 5, 1772436600000, 1772438100000, cause, "张三李\xE5\x9B");
    Ft__FieldValue fv = FT__FIELD_VALUE__INIT, *fields[] = {&fv};
    fv.key = "note\xFF";
    fv.value_case = FT__FIELD_VALUE__VALUE_TEXT;
    fv.text = "ok \xC0\xAF";
    char *officers[] = {"ZF-01\xE4"};
    Ft__Record rec = FT__RECORD__INIT;
    rec.type = FT__RECORD_TYPE__SITE_INSPECTION;
    rec.id = "r-bad";
    rec.case_id = "C-1";
    rec.cause = cause;
    rec.n_officers = 1;
    rec.officers = officers;
    rec.n_fields = 1;
    rec.fields = fields;
    rec.extra_json = "{\"x\": \"\xE4\"}"; /* not JSON: kept as text */
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_RECORD;
    body.record = &rec;
    append(fx, &body);
    size_t added = 0;
    assert_int_equal(catalog_update(fx->cat, fx->store, &added), FT_OK);
    assert_int_equal(added, 2);
    catalog_read(fx->cat);
    char want[300] = "X";
    for (int i = 0; i < 84; i++) {
        strcat(want, "中");
    }
    strcat(want, "\\xE4\\xB8");
    const cat_item_t *m = find(fx->cat, "05050505050505050505050505050505");
    assert_non_null(m);
    assert_string_equal(m->cause, want);
    assert_string_equal(m->party, "张三李\\xE5\\x9B");
    assert_true(m->text_escaped);
    json_t *o = cat_item_json(m);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "cause")), want);
    assert_true(json_is_true(json_object_get(o, "text_escaped")));
    json_t *b = json_object_get(o, "body");
    assert_string_equal(json_string_value(json_object_get(b, "cause")), want);
    char *text = json_dumps(o, JSON_COMPACT);
    assert_non_null(text);
    free(text);
    json_decref(o);
    const cat_item_t *r = find(fx->cat, "r-bad");
    assert_non_null(r);
    assert_string_equal(r->cause, want);
    assert_string_equal(r->officers, "ZF-01\\xE4");
    o = cat_item_json(r);
    assert_non_null(o);
    b = json_object_get(o, "body");
    assert_string_equal(json_string_value(json_object_get(b, "cause")), want);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(b, "fields"), "note\\xFF")),
        "ok \\xC0\\xAF");
    assert_string_equal(json_string_value(json_object_get(b, "extra_json")), "{\"x\": \"\\xE4\"}");
    text = json_dumps(o, JSON_COMPACT);
    assert_non_null(text);
    free(text);
    json_decref(o);
    catalog_done(fx->cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(records_are_classified_and_times_corrected, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(update_reads_only_new_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(media_counts_announced_and_held_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(recorder_health_comes_from_checkout_records, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(text_cut_mid_character_is_shown_escaped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
