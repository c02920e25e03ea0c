/* record.h: the record JSON-lines format <-> Ft__Record (protobuf).
 *
 * This is the stable import/export contract documented in docs/records.md.
 * Two outcomes for an input object:
 *   - rejected (record_from_json returns FT_EINVAL and a reason a clerk
 *     understands): not an object, unknown `type`, missing `case` where the
 *     type needs one, an activity without `start`/`end`, `end` before `start`,
 *     a timestamp that does not parse, a common field of the wrong JSON type
 *     (null included; `location` must be exactly {lat, lon} numbers);
 *   - accepted, even when a regulation-required `fields` entry is missing:
 *     the hub's gap engine flags that, losing the record would be worse.
 * Conversion is lossless: record_to_json(record_from_json(x)) equals x up to
 * member order and timestamp spelling (timestamps keep their UTC offset),
 * except that an integral number comes back as a JSON integer (5.0 -> 5) and
 * an empty array or empty `fields` object comes back absent.
 */
#ifndef FT_RECORD_H
#define FT_RECORD_H

#include "error.h"
#include "entry.pb-c.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Canonical JSON name of a record type ("site_inspection"), or NULL. */
const char *record_type_name(Ft__RecordType type);
/* Parses a JSON type name; returns FT__RECORD_TYPE__RT_UNKNOWN if unknown. */
Ft__RecordType record_type_parse(const char *name);
/* True for activity types (marked A in docs/records.md): need start/end. */
bool record_type_is_activity(Ft__RecordType type);
/* True when the type requires `case` (all but patrol and recorder_*). */
bool record_type_needs_case(Ft__RecordType type);
/* NULL-terminated list of the `fields` keys the regulation asks for (static);
 * an empty list for patrol and for an unknown type. */
const char *const *record_type_fields(Ft__RecordType type);
/* The article the type's row cites, e.g. "13(2)" (static), or NULL for an
 * unknown type. */
const char *record_type_article(Ft__RecordType type);

/* Converts one parsed JSON object into a newly allocated record.
 * On success *out is set (free with record_free) and FT_OK returned.
 * On rejection returns FT_EINVAL and writes the reason into err.
 * Returns FT_ENOMEM on allocation failure. */
int record_from_json(const json_t *obj, Ft__Record **out, char *err, size_t errlen) FT_MUST_CHECK;

/* The member(s) a rejection reason of record_from_json names, for showing it
 * beside a form's field: "type", "case", "start,end" (an activity without
 * its window), "end" (before start), "fields" or "fields.KEY" (a value of
 * `fields`), another common member by its name, or "" when the reason is
 * about the line as a whole (not JSON, not an object). Written into out
 * (outlen bytes, cut on a character boundary). */
void record_reason_field(const char *reason, char *out, size_t outlen);

/* Parses one line of text (a JSON object) into a record, as above; the
 * reason covers "not JSON" too. */
int record_from_line(const char *line, size_t len, Ft__Record **out, char *err,
                     size_t errlen) FT_MUST_CHECK;

/* The record as a new JSON object (caller json_decref's it), or NULL on
 * allocation failure. A record not made by record_from_json (decoded from a
 * foreign protobuf) can also give NULL when a string is not valid UTF-8 or
 * extra_json is not a JSON object; a type without a name is written as its
 * number, a non-finite number as null. */
json_t *record_to_json(const Ft__Record *rec);

/* Frees a record made by record_from_json / record_from_line, or decoded by
 * ft__record__unpack(NULL, ...) (same allocation shape); NULLs *rec_p; safe
 * on NULL. */
void record_free(Ft__Record **rec_p);

/* Looks up a `fields` entry by key; NULL if absent (borrowed from rec). */
const Ft__FieldValue *record_field(const Ft__Record *rec, const char *key);
/* True if the field is present and non-empty (text not blank, json not
 * empty array/object/null). A flag (even false) or a number (even 0) is
 * present. Blank means only whitespace, including U+00A0 and U+3000. */
bool record_field_present(const Ft__Record *rec, const char *key);

/* RFC 3339 with offset ("2026-03-01T09:30:00+08:00", fractional seconds
 * allowed, digits beyond milliseconds dropped; "T"/"Z" may be lower case;
 * second 60 is read as the next minute's 00) -> Ft__Time fields. Returns
 * FT_OK or FT_EINVAL (on which the outputs are untouched). */
int rfc3339_parse(const char *text, int64_t *unix_ms, int32_t *utc_offset_min) FT_MUST_CHECK;
/* Formats back with the given offset; buf needs 40 bytes. Milliseconds
 * are written only when non-zero. */
void rfc3339_format(int64_t unix_ms, int32_t utc_offset_min, char *buf, size_t buflen);

#endif
