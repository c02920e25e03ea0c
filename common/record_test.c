/* record_test.c: pins the record JSON-lines contract (docs/records.md).
 *
 * What is pinned: lossless JSON -> record -> JSON round trips for every type
 * and every kind of value; every rejection reason, and that a rejection
 * leaves no record behind; that regulation gaps are accepted, not rejected;
 * RFC 3339 parsing and formatting at the edges of the calendar and of the
 * offset syntax; and that a record survives protobuf pack/unpack.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Size of the reason buffers the tests pass. */
#define ERRLEN 256

/* A record with every common field, a `fields` value of each JSON type and
 * two unknown top-level members. Timestamps are in canonical spelling. */
static const char FULL[] =
    "{\"type\":\"site_inspection\",\"id\":\"tablet-7/0042\",\"case\":\"NDG-2026-031\","
    "\"start\":\"2026-03-01T09:30:00+08:00\",\"end\":\"2026-03-01T10:15:30.250+08:00\","
    "\"time\":\"2026-03-01T10:20:00+08:00\",\"unit\":\"南大港产业园区自然资源所\","
    "\"officers\":[\"ZF-0107\",\"ZF-0112\"],\"cause\":\"非法占用耕地建房\",\"party\":\"张某\","
    "\"recorders\":[\"DSJ-0031\"],\"location\":{\"lat\":38.51234,\"lon\":117.40321},"
    "\"media\":[\"m-1\",\"m-2\"],\"media_unsuitable\":\"夜间光线不足，补拍照片\","
    "\"amends\":\"tablet-7/0041\","
    "\"fields\":{\"record_no\":\"KC-2026-017\",\"signed\":true,\"refused\":false,"
    "\"area_m2\":320,\"depth_m\":1.75,\"neg\":-12,\"photos\":[\"a.jpg\",\"b.jpg\"],"
    "\"witness\":{\"name\":\"李某\",\"age\":52},\"note\":null,\"huge\":1234567890123456789,"
    "\"empty_list\":[]},"
    "\"x_form_version\":3,\"a_device\":{\"model\":\"T10\"}}";

/* Parses a JSON literal for comparisons; fails the test if it does not parse. */
static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (v == NULL) {
        fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
    }
    return v;
}

/* Imports a line that must be accepted; fails the test with the reason if not. */
static Ft__Record *accept_line(const char *line)
{
    char err[ERRLEN] = "";
    Ft__Record *rec = NULL;
    int rc = record_from_line(line, strlen(line), &rec, err, sizeof err);
    if (rc != FT_OK) {
        fail_msg("rejected (%d: %s): %s", rc, err, line);
    }
    assert_non_null(rec);
    return rec;
}

/* Asserts that a line is rejected with a reason containing `reason`, and no record. */
static void assert_rejected(const char *line, const char *reason)
{
    char err[ERRLEN] = "";
    Ft__Record *rec = (Ft__Record *)(uintptr_t)1;
    int rc = record_from_line(line, strlen(line), &rec, err, sizeof err);
    if (rc != FT_EINVAL || strstr(err, reason) == NULL) {
        fail_msg("expected rejection \"%s\", got %d \"%s\" for: %s", reason, rc, err, line);
    }
    assert_null(rec);
}

/* Asserts record_to_json(record_from_line(line)) equals `expected` (JSON text). */
static void assert_round_trip_to(const char *line, const char *expected)
{
    Ft__Record *rec = accept_line(line);
    json_t *want = parse(expected);
    json_t *got = record_to_json(rec);
    assert_non_null(got);
    if (!json_equal(want, got)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(stderr, "want %s\ngot  %s\n", w, g);
        free(g);
        free(w);
        fail_msg("round trip differs");
    }
    json_decref(got);
    json_decref(want);
    record_free(&rec);
    assert_null(rec);
}

/* Asserts record_to_json(record_from_line(line)) equals the line itself. */
static void assert_round_trip(const char *line)
{
    assert_round_trip_to(line, line);
}

/* ---- round trips ---- */

/* Every common field, every JSON type in `fields` and unknown members come back,
 * except the empty array in `fields`, which is kept as JSON "[]" too. */
static void test_full_record_round_trips_every_member(void **state)
{
    assert_round_trip(FULL);
}

/* Each common field lands in its own protobuf member. */
static void test_full_record_maps_common_fields_to_proto(void **state)
{
    Ft__Record *rec = accept_line(FULL);

    assert_int_equal(rec->type, FT__RECORD_TYPE__SITE_INSPECTION);
    assert_string_equal(rec->id, "tablet-7/0042");
    assert_string_equal(rec->case_id, "NDG-2026-031");
    assert_int_equal(rec->start->unix_ms, 1772328600000LL);
    assert_int_equal(rec->start->utc_offset_min, 480);
    assert_int_equal(rec->end->unix_ms, 1772328600000LL + 45 * 60000 + 30250);
    assert_non_null(rec->time);
    assert_string_equal(rec->unit, "南大港产业园区自然资源所");
    assert_int_equal(rec->n_officers, 2);
    assert_string_equal(rec->officers[1], "ZF-0112");
    assert_string_equal(rec->cause, "非法占用耕地建房");
    assert_string_equal(rec->party, "张某");
    assert_int_equal(rec->n_recorders, 1);
    assert_string_equal(rec->recorders[0], "DSJ-0031");
    assert_true(rec->location->lat > 38.51233 && rec->location->lat < 38.51235);
    assert_true(rec->location->lon > 117.40320 && rec->location->lon < 117.40322);
    assert_int_equal(rec->n_media, 2);
    assert_string_equal(rec->media_unsuitable, "夜间光线不足，补拍照片");
    assert_string_equal(rec->amends, "tablet-7/0041");
    assert_int_equal(rec->n_fields, 11);
    assert_string_equal(rec->fields[0]->key, "record_no");
    record_free(&rec);
}

/* string -> text, bool -> flag, number -> number, array/object/null -> json,
 * and an integer a double cannot hold -> json. */
static void test_field_values_keep_their_json_type(void **state)
{
    Ft__Record *rec = accept_line(FULL);

    assert_int_equal(record_field(rec, "record_no")->value_case, FT__FIELD_VALUE__VALUE_TEXT);
    assert_int_equal(record_field(rec, "signed")->value_case, FT__FIELD_VALUE__VALUE_FLAG);
    assert_true(record_field(rec, "signed")->flag);
    assert_false(record_field(rec, "refused")->flag);
    assert_int_equal(record_field(rec, "area_m2")->value_case, FT__FIELD_VALUE__VALUE_NUMBER);
    assert_true(record_field(rec, "area_m2")->number == 320.0);
    assert_true(record_field(rec, "depth_m")->number == 1.75);
    assert_true(record_field(rec, "neg")->number == -12.0);
    assert_int_equal(record_field(rec, "photos")->value_case, FT__FIELD_VALUE__VALUE_JSON);
    assert_string_equal(record_field(rec, "photos")->json, "[\"a.jpg\",\"b.jpg\"]");
    assert_int_equal(record_field(rec, "witness")->value_case, FT__FIELD_VALUE__VALUE_JSON);
    assert_string_equal(record_field(rec, "note")->json, "null");
    assert_string_equal(record_field(rec, "huge")->json, "1234567890123456789");
    assert_null(record_field(rec, "absent"));
    record_free(&rec);
}

/* Unknown top-level members are kept as one compact, key-sorted JSON object. */
static void test_unknown_members_kept_sorted_in_extra_json(void **state)
{
    Ft__Record *rec = accept_line(FULL);

    assert_string_equal(rec->extra_json, "{\"a_device\":{\"model\":\"T10\"},\"x_form_version\":3}");
    record_free(&rec);
}

/* A record with no unknown members has no extra_json, and `time` is not
 * filled in from `start` (so an export does not invent it). */
static void test_absent_members_stay_absent(void **state)
{
    Ft__Record *rec = accept_line("{\"type\":\"patrol\",\"start\":\"2026-03-01T09:30:00+08:00\","
                                  "\"end\":\"2026-03-01T11:00:00+08:00\"}");

    assert_null(rec->extra_json);
    assert_null(rec->time);
    assert_null(rec->case_id);
    assert_null(rec->location);
    assert_int_equal(rec->n_fields, 0);
    record_free(&rec);
}

/* A minimal valid record of every type, with every regulation field, round trips. */
static void test_every_type_round_trips(void **state)
{
    int seen = 0;

    for (int t = 1; record_type_name((Ft__RecordType)t) != NULL; t++) {
        const char *name = record_type_name((Ft__RecordType)t);
        const char *const *keys = record_type_fields((Ft__RecordType)t);
        json_t *obj =
            json_pack("{s:s, s:s, s:s, s:s}", "type", name, "case", "NDG-2026-031", "start",
                      "2026-03-01T09:30:00+08:00", "end", "2026-03-01T10:00:00+08:00");
        json_t *fields = json_object();
        char err[ERRLEN] = "";
        Ft__Record *rec = NULL;

        assert_int_equal(record_type_parse(name), t);
        for (size_t i = 0; keys[i] != NULL; i++) {
            json_object_set_new(fields, keys[i], json_string("值"));
        }
        if (json_object_size(fields) > 0) {
            json_object_set(obj, "fields", fields);
        }
        assert_int_equal(record_from_json(obj, &rec, err, sizeof err), FT_OK);
        assert_int_equal(rec->type, t);
        for (size_t i = 0; keys[i] != NULL; i++) {
            assert_true(record_field_present(rec, keys[i]));
        }
        json_t *back = record_to_json(rec);
        assert_true(json_equal(obj, back));
        json_decref(back);
        json_decref(fields);
        json_decref(obj);
        record_free(&rec);
        seen++;
    }
    assert_int_equal(seen, 31);
}

/* An integral real comes back as a JSON integer; a fractional one stays real. */
static void test_integral_number_exported_as_integer(void **state)
{
    assert_round_trip_to("{\"type\":\"recorder_status\",\"fields\":{\"battery_pct\":85.0,"
                         "\"free_mb\":1024.5}}",
                         "{\"type\":\"recorder_status\",\"fields\":{\"battery_pct\":85,"
                         "\"free_mb\":1024.5}}");
}

/* Empty arrays and an empty `fields` object mean the same as absent. */
static void test_empty_arrays_come_back_absent(void **state)
{
    assert_round_trip_to("{\"type\":\"patrol\",\"start\":\"2026-03-01T09:30:00+08:00\","
                         "\"end\":\"2026-03-01T11:00:00+08:00\",\"officers\":[],\"media\":[],"
                         "\"recorders\":[],\"fields\":{}}",
                         "{\"type\":\"patrol\",\"start\":\"2026-03-01T09:30:00+08:00\","
                         "\"end\":\"2026-03-01T11:00:00+08:00\"}");
}

/* Timestamps keep their own offset and are written in canonical spelling. */
static void test_timestamps_keep_offset_and_normalise_spelling(void **state)
{
    assert_round_trip_to("{\"type\":\"decision\",\"case\":\"C-1\","
                         "\"time\":\"2026-03-01t09:30:00.000z\","
                         "\"start\":\"2026-03-01T09:30:00-05:30\","
                         "\"end\":\"2026-03-01T23:30:00.5+00:00\"}",
                         "{\"type\":\"decision\",\"case\":\"C-1\","
                         "\"time\":\"2026-03-01T09:30:00Z\","
                         "\"start\":\"2026-03-01T09:30:00-05:30\","
                         "\"end\":\"2026-03-01T23:30:00.500Z\"}");
}

/* The protobuf form carries everything: pack, unpack, export equals the original. */
static void test_protobuf_pack_unpack_round_trip(void **state)
{
    Ft__Record *rec = accept_line(FULL);
    size_t size = ft__record__get_packed_size(rec);
    uint8_t *buf = malloc(size);
    Ft__Record *back;
    json_t *want = parse(FULL);
    json_t *got;

    assert_non_null(buf);
    assert_int_equal(ft__record__pack(rec, buf), size);
    back = ft__record__unpack(NULL, size, buf);
    assert_non_null(back);
    got = record_to_json(back);
    assert_true(json_equal(want, got));
    assert_string_equal(back->extra_json, rec->extra_json);
    json_decref(got);
    json_decref(want);
    free(buf);
    record_free(&back);
    record_free(&rec);
}

/* An empty-string `case` on a type that does not need one survives pack/unpack. */
static void test_protobuf_keeps_empty_string_members(void **state)
{
    Ft__Record *rec = accept_line("{\"type\":\"recorder_return\",\"case\":\"\","
                                  "\"fields\":{\"recorder\":\"DSJ-0031\",\"officer\":\"\"}}");
    size_t size = ft__record__get_packed_size(rec);
    uint8_t *buf = malloc(size);
    Ft__Record *back;

    assert_non_null(buf);
    ft__record__pack(rec, buf);
    back = ft__record__unpack(NULL, size, buf);
    assert_non_null(back);
    assert_string_equal(back->case_id, "");
    assert_string_equal(record_field(back, "officer")->text, "");
    assert_false(record_field_present(back, "officer"));
    free(buf);
    record_free(&back);
    record_free(&rec);
}

/* A protobuf record with a type this version has no name for exports its number. */
static void test_unnamed_type_exported_as_number(void **state)
{
    Ft__Record rec = FT__RECORD__INIT;
    json_t *got;

    rec.type = (Ft__RecordType)99;
    got = record_to_json(&rec);
    assert_non_null(got);
    assert_int_equal(json_integer_value(json_object_get(got, "type")), 99);
    json_decref(got);
}

/* A record whose text is not valid UTF-8 (only a foreign protobuf, or an old
 * edge that cut text mid-character, has one) is exported with that text
 * escaped, \xNN per invalid byte, never as NULL. */
static void test_invalid_utf8_exported_escaped(void **state)
{
    Ft__Record rec = FT__RECORD__INIT;
    Ft__FieldValue f1 = FT__FIELD_VALUE__INIT, f2 = FT__FIELD_VALUE__INIT;
    Ft__FieldValue *fields[] = {&f1, &f2};
    char *officers[] = {"ZF-0107", "ZF-\xE4\xB8"};
    json_t *got;
    char *text;

    (void)state;
    rec.type = FT__RECORD_TYPE__INQUIRY;
    rec.id = "q-1";
    rec.case_id = "C-\xFF";
    rec.cause = "违法占地\xE5";
    rec.n_officers = 2;
    rec.officers = officers;
    f1.key = "place\xC0";
    f1.value_case = FT__FIELD_VALUE__VALUE_TEXT;
    f1.text = "村\xED\xA0\x80";
    f2.key = "raw";
    f2.value_case = FT__FIELD_VALUE__VALUE_JSON;
    f2.json = "not json \xF5";
    rec.n_fields = 2;
    rec.fields = fields;
    rec.extra_json = "\xE4 not an object";
    got = record_to_json(&rec);
    assert_non_null(got);
    text = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(text);
    assert_string_equal(text, "{\"case\":\"C-\\\\xFF\",\"cause\":\"违法占地\\\\xE5\","
                              "\"extra_json\":\"\\\\xE4 not an object\","
                              "\"fields\":{\"place\\\\xC0\":\"村\\\\xED\\\\xA0\\\\x80\","
                              "\"raw\":\"not json \\\\xF5\"},\"id\":\"q-1\","
                              "\"officers\":[\"ZF-0107\",\"ZF-\\\\xE4\\\\xB8\"],"
                              "\"type\":\"inquiry\"}");
    free(text);
    json_decref(got);
}

/* ---- rejections ---- */

/* A line that is not JSON names the parser's complaint. */
static void test_rejects_non_json(void **state)
{
    assert_rejected("type=patrol", "not valid JSON: ");
    assert_rejected("{\"type\":\"patrol\"", "not valid JSON: ");
    assert_rejected("", "not valid JSON: ");
    assert_rejected("{\"type\":\"patrol\"} {}", "not valid JSON: ");
    assert_rejected("{\"type\":\"patrol\",\"type\":\"inquiry\"}", "not valid JSON: duplicate");
    assert_rejected("{\"type\":\"patrol\",\"unit\":\"\xff\"}", "not valid JSON: ");
}

/* JSON that is not an object cannot be a record. */
static void test_rejects_non_object(void **state)
{
    char err[ERRLEN];
    Ft__Record *rec = NULL;
    json_t *s = json_string("patrol");

    assert_rejected("[{\"type\":\"patrol\"}]", "a record must be a JSON object");
    assert_int_equal(record_from_json(s, &rec, err, sizeof err), FT_EINVAL);
    assert_null(rec);
    json_decref(s);
}

/* `type` must be there, be a string, and be one of the listed types. */
static void test_rejects_missing_or_unknown_type(void **state)
{
    assert_rejected("{\"case\":\"C-1\"}", "missing \"type\"");
    assert_rejected("{\"type\":7,\"case\":\"C-1\"}", "\"type\" must be a string");
    assert_rejected("{\"type\":\"foo\",\"case\":\"C-1\"}", "unknown record type \"foo\"");
    assert_rejected("{\"type\":\"Patrol\"}", "unknown record type \"Patrol\"");
    assert_rejected("{\"type\":\"rt_unknown\"}", "unknown record type \"rt_unknown\"");
}

/* Every type except patrol and recorder_* needs a non-blank `case`. */
static void test_rejects_missing_case(void **state)
{
    assert_rejected("{\"type\":\"inquiry\",\"start\":\"2026-03-01T09:30:00+08:00\","
                    "\"end\":\"2026-03-01T10:00:00+08:00\"}",
                    "type \"inquiry\" needs a \"case\"");
    assert_rejected("{\"type\":\"decision\",\"case\":\"\"}", "type \"decision\" needs a \"case\"");
    assert_rejected("{\"type\":\"decision\",\"case\":\" \\u3000\"}",
                    "type \"decision\" needs a \"case\"");
    assert_rejected("{\"type\":\"justification\"}", "type \"justification\" needs a \"case\"");
}

/* Patrol and the recorder_* types are accepted without a case. */
static void test_accepts_caseless_types_without_case(void **state)
{
    Ft__Record *rec;

    rec = accept_line("{\"type\":\"patrol\",\"start\":\"2026-03-01T09:30:00+08:00\","
                      "\"end\":\"2026-03-01T11:00:00+08:00\"}");
    record_free(&rec);
    rec = accept_line("{\"type\":\"recorder_checkout\",\"time\":\"2026-03-01T08:00:00+08:00\","
                      "\"fields\":{\"recorder\":\"DSJ-0031\",\"officer\":\"ZF-0107\"}}");
    record_free(&rec);
    rec = accept_line("{\"type\":\"recorder_return\"}");
    record_free(&rec);
    rec = accept_line("{\"type\":\"recorder_status\"}");
    record_free(&rec);
    rec = accept_line("{\"type\":\"recorder_maintenance\"}");
    record_free(&rec);
}

/* Activities need both `start` and `end`; non-activities need neither. */
static void test_rejects_activity_without_start_or_end(void **state)
{
    Ft__Record *rec;

    assert_rejected("{\"type\":\"hearing\",\"case\":\"C-1\"}",
                    "activity \"hearing\" needs \"start\" and \"end\"");
    assert_rejected("{\"type\":\"hearing\",\"case\":\"C-1\","
                    "\"start\":\"2026-03-01T09:30:00+08:00\"}",
                    "activity \"hearing\" needs \"start\" and \"end\"");
    assert_rejected("{\"type\":\"patrol\",\"end\":\"2026-03-01T09:30:00+08:00\"}",
                    "activity \"patrol\" needs \"start\" and \"end\"");
    assert_rejected("{\"type\":\"service_direct\",\"case\":\"C-1\","
                    "\"time\":\"2026-03-01T09:30:00+08:00\"}",
                    "activity \"service_direct\" needs \"start\" and \"end\"");
    rec = accept_line("{\"type\":\"decision\",\"case\":\"C-1\"}");
    record_free(&rec);
}

/* `end` before `start` is rejected, comparing instants, not wall clocks. */
static void test_rejects_end_before_start(void **state)
{
    Ft__Record *rec;

    assert_rejected("{\"type\":\"patrol\",\"start\":\"2026-03-01T10:00:00+08:00\","
                    "\"end\":\"2026-03-01T09:59:59.999+08:00\"}",
                    "\"end\" is before \"start\"");
    /* 10:00+08:00 is 02:00Z, before 09:30+07:00 = 02:30Z */
    assert_rejected("{\"type\":\"patrol\",\"start\":\"2026-03-01T09:30:00+07:00\","
                    "\"end\":\"2026-03-01T10:00:00+08:00\"}",
                    "\"end\" is before \"start\"");
    assert_rejected("{\"type\":\"decision\",\"case\":\"C-1\","
                    "\"start\":\"2026-03-02T00:00:00+08:00\","
                    "\"end\":\"2026-03-01T00:00:00+08:00\"}",
                    "\"end\" is before \"start\"");
    rec = accept_line("{\"type\":\"patrol\",\"start\":\"2026-03-01T10:00:00+08:00\","
                      "\"end\":\"2026-03-01T10:00:00+08:00\"}");
    record_free(&rec);
}

/* A timestamp that does not parse is quoted back in the reason. */
static void test_rejects_bad_timestamp(void **state)
{
    assert_rejected("{\"type\":\"patrol\",\"start\":\"2026-03-01T09:30:00\","
                    "\"end\":\"2026-03-01T10:00:00+08:00\"}",
                    "\"start\" is not a valid RFC 3339 time with offset: "
                    "\"2026-03-01T09:30:00\"");
    assert_rejected(
        "{\"type\":\"patrol\",\"start\":\"2026-03-01T09:30:00+08:00\","
        "\"end\":\"2026-02-30T10:00:00+08:00\"}",
        "\"end\" is not a valid RFC 3339 time with offset: \"2026-02-30T10:00:00+08:00\"");
    assert_rejected("{\"type\":\"decision\",\"case\":\"C-1\",\"time\":\"2026-03-01 09:30\"}",
                    "\"time\" is not a valid RFC 3339 time with offset: \"2026-03-01 09:30\"");
    assert_rejected("{\"type\":\"decision\",\"case\":\"C-1\",\"time\":1772328600}",
                    "\"time\" must be an RFC 3339 time string");
}

/* A long bad value is cut in the reason, and control characters are masked. */
static void test_rejection_quotes_at_most_a_short_prefix(void **state)
{
    char err[ERRLEN];
    Ft__Record *rec = NULL;
    const char *line =
        "{\"type\":\"decision\",\"case\":\"C-1\",\"time\":\"二〇\\n二六年三月一日上午"
        "九时三十分整北京时间0123456789\"}";

    assert_int_equal(record_from_line(line, strlen(line), &rec, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "...\""));
    assert_null(strchr(err, '\n'));
    assert_true(strlen(err) < 120);
    assert_rejected("{\"type\":\"foo\\u001b[2J\"}", "unknown record type \"foo?[2J\"");
}

/* Arrays of strings must be arrays, of strings only. */
static void test_rejects_wrong_types_for_arrays(void **state)
{
    assert_rejected("{\"type\":\"patrol\",\"start\":\"2026-03-01T09:30:00+08:00\","
                    "\"end\":\"2026-03-01T10:00:00+08:00\",\"officers\":\"ZF-0107\"}",
                    "\"officers\" must be an array of strings");
    assert_rejected("{\"type\":\"patrol\",\"start\":\"2026-03-01T09:30:00+08:00\","
                    "\"end\":\"2026-03-01T10:00:00+08:00\",\"officers\":[\"ZF-0107\",107]}",
                    "\"officers\" must be an array of strings");
    assert_rejected("{\"type\":\"recorder_status\",\"recorders\":[null]}",
                    "\"recorders\" must be an array of strings");
    assert_rejected("{\"type\":\"recorder_status\",\"media\":{\"0\":\"m-1\"}}",
                    "\"media\" must be an array of strings");
}

/* String members must be strings; null is not a string. */
static void test_rejects_wrong_types_for_strings(void **state)
{
    assert_rejected("{\"type\":\"decision\",\"case\":31}", "\"case\" must be a string");
    assert_rejected("{\"type\":\"decision\",\"case\":\"C-1\",\"party\":null}",
                    "\"party\" must be a string");
    assert_rejected("{\"type\":\"decision\",\"case\":\"C-1\",\"id\":[\"x\"]}",
                    "\"id\" must be a string");
    assert_rejected("{\"type\":\"decision\",\"case\":\"C-1\",\"amends\":true}",
                    "\"amends\" must be a string");
    assert_rejected("{\"type\":\"decision\",\"case\":\"C-1\",\"unit\":1}",
                    "\"unit\" must be a string");
    assert_rejected("{\"type\":\"decision\",\"case\":\"C-1\",\"cause\":{}}",
                    "\"cause\" must be a string");
    assert_rejected("{\"type\":\"decision\",\"case\":\"C-1\",\"media_unsuitable\":false}",
                    "\"media_unsuitable\" must be a string");
}

/* `location` must be exactly {lat, lon} numbers; `fields` must be an object. */
static void test_rejects_wrong_location_and_fields(void **state)
{
    const char *loc = "\"location\" must be an object {\"lat\": number, \"lon\": number}";

    assert_rejected("{\"type\":\"decision\",\"case\":\"C-1\",\"location\":[38.5,117.4]}", loc);
    assert_rejected("{\"type\":\"decision\",\"case\":\"C-1\",\"location\":{\"lat\":38.5}}", loc);
    assert_rejected("{\"type\":\"decision\",\"case\":\"C-1\","
                    "\"location\":{\"lat\":\"38.5\",\"lon\":117.4}}",
                    loc);
    assert_rejected("{\"type\":\"decision\",\"case\":\"C-1\","
                    "\"location\":{\"lat\":38.5,\"lon\":117.4,\"acc\":5}}",
                    loc);
    assert_rejected("{\"type\":\"decision\",\"case\":\"C-1\",\"fields\":[\"decision_no\"]}",
                    "\"fields\" must be an object");
}

/* A rejection with no reason buffer still returns FT_EINVAL and no record. */
static void test_rejection_without_reason_buffer(void **state)
{
    Ft__Record *rec = NULL;

    assert_int_equal(record_from_line("{\"type\":\"foo\"}", 14, &rec, NULL, 0), FT_EINVAL);
    assert_null(rec);
    assert_int_equal(record_from_line(NULL, 0, &rec, NULL, 0), FT_EINVAL);
    assert_null(rec);
}

/* ---- accepted but incomplete ---- */

/* An evidence list the provider refused to sign is accepted; the gap is visible. */
static void test_accepts_evidence_registration_without_provider_signature(void **state)
{
    Ft__Record *rec = accept_line(
        "{\"type\":\"evidence_registration\",\"case\":\"NDG-2026-031\","
        "\"time\":\"2026-03-03T15:00:00+08:00\",\"fields\":{\"items\":[\"建房现场照片12张\"],"
        "\"officer_signature\":\"ZF-0107\",\"provider_signature\":\"\",\"date\":\"2026-03-03\"}}");

    assert_true(record_field_present(rec, "items"));
    assert_true(record_field_present(rec, "officer_signature"));
    assert_false(record_field_present(rec, "provider_signature"));
    assert_true(record_field_present(rec, "date"));
    record_free(&rec);

    rec = accept_line("{\"type\":\"evidence_registration\",\"case\":\"NDG-2026-031\"}");
    assert_false(record_field_present(rec, "provider_signature"));
    record_free(&rec);
}

/* Blank text and empty JSON are absent; false and 0 are present answers. */
static void test_field_present_distinguishes_empty_from_answered(void **state)
{
    Ft__Record *rec = accept_line(
        "{\"type\":\"complaint_decision\",\"case\":\"C-1\",\"fields\":{\"blank\":\" \\t\","
        "\"ideographic\":\"\\u3000\",\"nbsp\":\"\\u00a0\",\"list\":[],\"obj\":{},\"nul\":null,"
        "\"accepted\":false,\"zero\":0,\"reason\":\"证据不足\",\"nested\":[[]]}}");

    assert_false(record_field_present(rec, "blank"));
    assert_false(record_field_present(rec, "ideographic"));
    assert_false(record_field_present(rec, "nbsp"));
    assert_false(record_field_present(rec, "list"));
    assert_false(record_field_present(rec, "obj"));
    assert_false(record_field_present(rec, "nul"));
    assert_false(record_field_present(rec, "missing"));
    assert_true(record_field_present(rec, "accepted"));
    assert_true(record_field_present(rec, "zero"));
    assert_true(record_field_present(rec, "reason"));
    assert_true(record_field_present(rec, "nested"));
    record_free(&rec);
}

/* ---- type table ---- */

/* The table matches docs/records.md for a sample of rows. */
static void test_type_table_matches_contract(void **state)
{
    const char *const *f = record_type_fields(FT__RECORD_TYPE__EVIDENCE_REGISTRATION);

    assert_string_equal(f[0], "items");
    assert_string_equal(f[1], "officer_signature");
    assert_string_equal(f[2], "provider_signature");
    assert_string_equal(f[3], "date");
    assert_null(f[4]);
    assert_null(record_type_fields(FT__RECORD_TYPE__PATROL)[0]);
    assert_null(record_type_fields(FT__RECORD_TYPE__RT_UNKNOWN)[0]);
    assert_string_equal(record_type_article(FT__RECORD_TYPE__EVIDENCE_REGISTRATION), "13(2)");
    assert_string_equal(record_type_article(FT__RECORD_TYPE__INQUIRY), "13(1)");
    assert_string_equal(record_type_article(FT__RECORD_TYPE__DEMAND_NOTICE_SERVICE), "21");
    assert_string_equal(record_type_article(FT__RECORD_TYPE__LEGAL_HOLD), "23");
    assert_string_equal(record_type_article(FT__RECORD_TYPE__JUSTIFICATION), "3");
    assert_null(record_type_article(FT__RECORD_TYPE__RT_UNKNOWN));
    assert_null(record_type_name(FT__RECORD_TYPE__RT_UNKNOWN));
    assert_null(record_type_name((Ft__RecordType)32));
    assert_int_equal(record_type_parse("demand_notice_service"),
                     FT__RECORD_TYPE__DEMAND_NOTICE_SERVICE);
    assert_int_equal(record_type_parse(NULL), FT__RECORD_TYPE__RT_UNKNOWN);
}

/* Exactly the nine A types are activities; exactly patrol and recorder_* skip case. */
static void test_activity_and_case_rules_per_type(void **state)
{
    static const Ft__RecordType ACTIVITIES[] = {FT__RECORD_TYPE__PATROL,
                                                FT__RECORD_TYPE__INQUIRY,
                                                FT__RECORD_TYPE__SITE_INSPECTION,
                                                FT__RECORD_TYPE__SURVEY,
                                                FT__RECORD_TYPE__SAMPLING,
                                                FT__RECORD_TYPE__HEARING,
                                                FT__RECORD_TYPE__SERVICE_DIRECT,
                                                FT__RECORD_TYPE__SERVICE_PUBLIC_NOTICE,
                                                FT__RECORD_TYPE__DEMAND_NOTICE_SERVICE};
    static const Ft__RecordType CASELESS[] = {
        FT__RECORD_TYPE__PATROL, FT__RECORD_TYPE__RECORDER_CHECKOUT,
        FT__RECORD_TYPE__RECORDER_RETURN, FT__RECORD_TYPE__RECORDER_STATUS,
        FT__RECORD_TYPE__RECORDER_MAINTENANCE};
    int activities = 0, caseless = 0;

    for (int t = 1; t <= 31; t++) {
        bool is_activity = false, is_caseless = false;
        for (size_t i = 0; i < sizeof ACTIVITIES / sizeof ACTIVITIES[0]; i++) {
            is_activity = is_activity || ACTIVITIES[i] == (Ft__RecordType)t;
        }
        for (size_t i = 0; i < sizeof CASELESS / sizeof CASELESS[0]; i++) {
            is_caseless = is_caseless || CASELESS[i] == (Ft__RecordType)t;
        }
        assert_int_equal(record_type_is_activity((Ft__RecordType)t), is_activity);
        assert_int_equal(record_type_needs_case((Ft__RecordType)t), !is_caseless);
        activities += is_activity;
        caseless += is_caseless;
    }
    assert_int_equal(activities, 9);
    assert_int_equal(caseless, 5);
    assert_false(record_type_is_activity(FT__RECORD_TYPE__RT_UNKNOWN));
    assert_false(record_type_needs_case(FT__RECORD_TYPE__RT_UNKNOWN));
}

/* ---- RFC 3339 ---- */

/* Parses text that must be valid and checks the instant and the offset. */
static void assert_parses(const char *text, int64_t want_ms, int32_t want_off)
{
    int64_t ms = 0;
    int32_t off = 0;

    if (rfc3339_parse(text, &ms, &off) != FT_OK) {
        fail_msg("did not parse: %s", text);
    }
    assert_int_equal(ms, want_ms);
    assert_int_equal(off, want_off);
}

/* Asserts text is refused and the outputs are left alone. */
static void assert_not_parsed(const char *text)
{
    int64_t ms = 7;
    int32_t off = 7;

    if (rfc3339_parse(text, &ms, &off) != FT_EINVAL) {
        /* text may be NULL (the last case): %s of NULL is undefined. */
        fail_msg("parsed but should not: %s", text ? text : "(NULL)");
    }
    assert_int_equal(ms, 7);
    assert_int_equal(off, 7);
}

/* +08:00, -05:30 and Z name the right instant and keep the offset. */
static void test_rfc3339_offsets(void **state)
{
    assert_parses("2026-03-01T09:30:00+08:00", 1772328600000LL, 480);
    assert_parses("2026-03-01T01:30:00Z", 1772328600000LL, 0);
    assert_parses("2026-03-01T01:30:00z", 1772328600000LL, 0);
    assert_parses("2026-03-01t01:30:00+00:00", 1772328600000LL, 0);
    assert_parses("2026-03-01T09:30:00-05:30", 1772377200000LL, -330);
    assert_parses("2026-03-01T00:00:00+23:59", 1772323200000LL - 1439LL * 60000, 1439);
    assert_not_parsed("2026-03-01T09:30:00");
    assert_not_parsed("2026-03-01T09:30:00+08");
    assert_not_parsed("2026-03-01T09:30:00+0800");
    assert_not_parsed("2026-03-01T09:30:00+24:00");
    assert_not_parsed("2026-03-01T09:30:00+08:60");
    assert_not_parsed("2026-03-01T09:30:00 +08:00");
}

/* Feb 29 exists only in leap years (every 4th, not every 100th, every 400th). */
static void test_rfc3339_leap_days(void **state)
{
    assert_parses("2024-02-29T12:00:00Z", 1709208000000LL, 0);
    assert_parses("2000-02-29T00:00:00+00:00", 951782400000LL, 0);
    assert_not_parsed("2026-02-29T00:00:00+08:00");
    assert_not_parsed("1900-02-29T00:00:00Z");
    assert_not_parsed("2024-02-30T00:00:00Z");
    assert_not_parsed("2026-04-31T00:00:00+08:00");
    assert_parses("2026-12-31T23:59:59+08:00", 1798732799000LL, 480);
}

/* Out-of-range fields and malformed syntax are refused. */
static void test_rfc3339_rejects_out_of_range_and_malformed(void **state)
{
    assert_not_parsed("2026-13-01T00:00:00Z");
    assert_not_parsed("2026-00-01T00:00:00Z");
    assert_not_parsed("2026-01-00T00:00:00Z");
    assert_not_parsed("2026-01-32T00:00:00Z");
    assert_not_parsed("2026-01-01T24:00:00Z");
    assert_not_parsed("2026-01-01T23:60:00Z");
    assert_not_parsed("2026-01-01T23:59:61Z");
    assert_not_parsed("2026-1-01T00:00:00Z");
    assert_not_parsed("26-01-01T00:00:00Z");
    assert_not_parsed("2026-01-01 00:00:00Z");
    assert_not_parsed("2026-01-01T00:00:00.Z");
    assert_not_parsed("2026-01-01T00:00:00Z ");
    assert_not_parsed(" 2026-01-01T00:00:00Z");
    assert_not_parsed("2026-01-01");
    assert_not_parsed("");
    assert_not_parsed("２０２６-01-01T00:00:00Z");
    assert_not_parsed(NULL);
}

/* A leap second is accepted and read as the next minute's 00. */
static void test_rfc3339_leap_second(void **state)
{
    assert_parses("2016-12-31T23:59:60Z", 1483228800000LL, 0);
}

/* Fractional seconds keep milliseconds; further digits are dropped. */
static void test_rfc3339_fractional_seconds(void **state)
{
    assert_parses("2026-03-01T09:30:00.5+08:00", 1772328600500LL, 480);
    assert_parses("2026-03-01T09:30:00.123+08:00", 1772328600123LL, 480);
    assert_parses("2026-03-01T09:30:00.123999+08:00", 1772328600123LL, 480);
    assert_parses("2026-03-01T09:30:00.000000001+08:00", 1772328600000LL, 480);
    assert_parses("1969-12-31T23:59:59.999Z", -1LL, 0);
}

/* Formatting writes the offset given, "Z" for 0, and ms only when non-zero. */
static void test_rfc3339_format(void **state)
{
    char buf[40];

    rfc3339_format(1772328600000LL, 480, buf, sizeof buf);
    assert_string_equal(buf, "2026-03-01T09:30:00+08:00");
    rfc3339_format(1772328600000LL, 0, buf, sizeof buf);
    assert_string_equal(buf, "2026-03-01T01:30:00Z");
    rfc3339_format(1772377200123LL, -330, buf, sizeof buf);
    assert_string_equal(buf, "2026-03-01T09:30:00.123-05:30");
    rfc3339_format(-1, 0, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    rfc3339_format(951782400000LL, 0, buf, sizeof buf);
    assert_string_equal(buf, "2000-02-29T00:00:00Z");
    rfc3339_format(-62167219200000LL, 0, buf, sizeof buf);
    assert_string_equal(buf, "0000-01-01T00:00:00Z");
    rfc3339_format(253402300799000LL, 0, buf, sizeof buf);
    assert_string_equal(buf, "9999-12-31T23:59:59Z");
    rfc3339_format(0, 0, buf, 5);
    assert_string_equal(buf, "1970");
}

/* parse(format(t, off)) == (t, off) across years, offsets and milliseconds. */
static void test_rfc3339_format_parse_round_trip(void **state)
{
    static const int32_t OFFSETS[] = {0, 480, -330, 345, -720, 840};
    char buf[40];

    for (int64_t ms = -62167219200000LL; ms < 253402300799000LL; ms += 123456789012LL) {
        for (size_t i = 0; i < sizeof OFFSETS / sizeof OFFSETS[0]; i++) {
            int64_t local = ms + OFFSETS[i] * 60000LL;
            if (local < -62167219200000LL || local > 253402300799999LL) {
                continue;
            }
            rfc3339_format(ms, OFFSETS[i], buf, sizeof buf);
            assert_parses(buf, ms, OFFSETS[i]);
        }
    }
}

/* Extreme values from a foreign protobuf do not overflow or overrun. */
static void test_rfc3339_format_extremes_are_safe(void **state)
{
    char buf[40];

    rfc3339_format(INT64_MAX, INT32_MAX, buf, sizeof buf);
    assert_true(strlen(buf) < sizeof buf);
    rfc3339_format(INT64_MIN, INT32_MIN, buf, sizeof buf);
    assert_true(strlen(buf) < sizeof buf);
}

/* Every rejection names the member a form shows it beside. */
static void test_reason_names_its_member(void **state)
{
    (void)state;
    static const struct {
        const char *line, *field;
    } cases[] = {
        {"{\"case\":\"C\"}", "type"},
        {"{\"type\":\"nope\"}", "type"},
        {"{\"type\":7}", "type"},
        {"{\"type\":\"inquiry\",\"start\":\"2026-03-01T09:00:00+08:00\","
         "\"end\":\"2026-03-01T10:00:00+08:00\"}",
         "case"},
        {"{\"type\":\"hearing\",\"case\":\"C\"}", "start,end"},
        {"{\"type\":\"patrol\",\"start\":\"2026-03-01T09:00:00+08:00\","
         "\"end\":\"2026-03-01T08:00:00+08:00\"}",
         "end"},
        {"{\"type\":\"patrol\",\"start\":\"2026-03-01 09:00\",\"end\":\"x\"}", "start"},
        {"{\"type\":\"patrol\",\"time\":5}", "time"},
        {"{\"type\":\"patrol\",\"party\":1}", "party"},
        {"{\"type\":\"patrol\",\"officers\":\"ZF\"}", "officers"},
        {"{\"type\":\"patrol\",\"location\":[]}", "location"},
        {"{\"type\":\"patrol\",\"fields\":[]}", "fields"},
        {"{\"type\":\"patrol\",\"fields\":{\"note\":\"a\\u0000b\"}}", "fields.note"},
        {"{\"type\":\"patrol\",\"id\":\"a\\u0000\"}", "id"},
        {"[1]", ""},
        {"{", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ft__Record *rec = NULL;
        char why[512], field[64];
        /* a form's values may hold a NUL, which record_from_line refuses as
         * JSON already */
        json_t *obj = json_loads(cases[i].line, JSON_ALLOW_NUL, NULL);
        int rc =
            obj ? record_from_json(obj, &rec, why, sizeof why)
                : record_from_line(cases[i].line, strlen(cases[i].line), &rec, why, sizeof why);
        json_decref(obj);
        assert_int_equal(rc, FT_EINVAL);
        record_reason_field(why, field, sizeof field);
        if (strcmp(field, cases[i].field) != 0) {
            fail_msg("%s: reason \"%s\" named \"%s\", not \"%s\"", cases[i].line, why, field,
                     cases[i].field);
        }
    }
}

/* Runs the named cases. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_record_round_trips_every_member),
        cmocka_unit_test(test_full_record_maps_common_fields_to_proto),
        cmocka_unit_test(test_field_values_keep_their_json_type),
        cmocka_unit_test(test_unknown_members_kept_sorted_in_extra_json),
        cmocka_unit_test(test_absent_members_stay_absent),
        cmocka_unit_test(test_every_type_round_trips),
        cmocka_unit_test(test_integral_number_exported_as_integer),
        cmocka_unit_test(test_empty_arrays_come_back_absent),
        cmocka_unit_test(test_timestamps_keep_offset_and_normalise_spelling),
        cmocka_unit_test(test_protobuf_pack_unpack_round_trip),
        cmocka_unit_test(test_protobuf_keeps_empty_string_members),
        cmocka_unit_test(test_unnamed_type_exported_as_number),
        cmocka_unit_test(test_invalid_utf8_exported_escaped),
        cmocka_unit_test(test_rejects_non_json),
        cmocka_unit_test(test_rejects_non_object),
        cmocka_unit_test(test_rejects_missing_or_unknown_type),
        cmocka_unit_test(test_rejects_missing_case),
        cmocka_unit_test(test_accepts_caseless_types_without_case),
        cmocka_unit_test(test_rejects_activity_without_start_or_end),
        cmocka_unit_test(test_rejects_end_before_start),
        cmocka_unit_test(test_rejects_bad_timestamp),
        cmocka_unit_test(test_rejection_quotes_at_most_a_short_prefix),
        cmocka_unit_test(test_rejects_wrong_types_for_arrays),
        cmocka_unit_test(test_rejects_wrong_types_for_strings),
        cmocka_unit_test(test_rejects_wrong_location_and_fields),
        cmocka_unit_test(test_rejection_without_reason_buffer),
        cmocka_unit_test(test_accepts_evidence_registration_without_provider_signature),
        cmocka_unit_test(test_field_present_distinguishes_empty_from_answered),
        cmocka_unit_test(test_type_table_matches_contract),
        cmocka_unit_test(test_activity_and_case_rules_per_type),
        cmocka_unit_test(test_rfc3339_offsets),
        cmocka_unit_test(test_rfc3339_leap_days),
        cmocka_unit_test(test_rfc3339_rejects_out_of_range_and_malformed),
        cmocka_unit_test(test_rfc3339_leap_second),
        cmocka_unit_test(test_rfc3339_fractional_seconds),
        cmocka_unit_test(test_rfc3339_format),
        cmocka_unit_test(test_rfc3339_format_parse_round_trip),
        cmocka_unit_test(test_rfc3339_format_extremes_are_safe),
        cmocka_unit_test(test_reason_names_its_member),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
