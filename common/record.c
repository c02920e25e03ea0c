/* record.c: the record JSON-lines format <-> Ft__Record (protobuf).
 *
 * Invariants:
 *   - A record made here is allocated entirely with malloc/calloc/strdup, in
 *     exactly the shape protobuf-c's unpacker makes, so one function frees
 *     both kinds: record_free == ft__record__free_unpacked(rec, NULL).
 *   - A rejected input never yields a record: record_from_json builds into a
 *     private record and frees it on every error path (`goto err`); *out is
 *     set only on FT_OK.
 *   - Every top-level member is either a known common field (COMMON_KEYS) or
 *     goes verbatim into extra_json (compact, sorted keys); nothing is
 *     silently dropped. Empty arrays and an empty `fields` object are the one
 *     exception: protobuf cannot tell them from absent, and they mean the same.
 *   - `fields` values keep their JSON type: string -> text, bool -> flag,
 *     number -> number (integers beyond +-2^53, which a double cannot hold,
 *     go to json), array/object/null -> json (compact text). record_to_json
 *     writes an integral number within +-2^53 as a JSON integer.
 *   - Timestamps keep the sender's UTC offset (Ft__Time.utc_offset_min), so
 *     export reproduces the original instant and offset. Calendar arithmetic
 *     is our own (days_from_civil / civil_from_days): no mktime, no TZ.
 *
 * Flow: record_from_line (jansson parse) -> record_from_json (type, common
 * fields, fields, extras, then the case / activity / end-before-start rules)
 * -> Ft__Record; record_to_json goes back.
 */
#include "record.h"
#include "utf8.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest magnitude at which every integer is exactly a double (2^53). */
#define EXACT_INT_MAX 9007199254740992LL
/* Most bytes of a sender's value quoted back in a rejection reason. */
#define QUOTE_MAX 48
/* Milliseconds per day. */
#define MS_PER_DAY 86400000LL

/* One row of the record type table in docs/records.md. */
typedef struct {
    const char *name;          /* JSON spelling of the type */
    const char *article;       /* article the row cites, e.g. "13(2)" */
    bool activity;             /* needs start/end (marked A) */
    bool needs_case;           /* needs a non-blank `case` */
    const char *const *fields; /* NULL-terminated `fields` keys the regulation asks for */
} type_info;

static const char *const f_none[] = {NULL};
static const char *const f_complaint_registered[] = {"complainant", "summary", NULL};
static const char *const f_complaint_decision[] = {"accepted", "reason", NULL};
static const char *const f_reason[] = {"reason", NULL};
static const char *const f_approver[] = {"approver", NULL};
static const char *const f_inquiry[] = {"subject", "transcript_no", NULL};
static const char *const f_evidence[] = {"items", "officer_signature", "provider_signature", "date",
                                         NULL};
static const char *const f_record_no[] = {"record_no", NULL};
static const char *const f_appraisal[] = {"appraiser", "opinion_no", NULL};
static const char *const f_minutes_no[] = {"minutes_no", NULL};
static const char *const f_leader_approval[] = {"opinion", "signer", NULL};
static const char *const f_decision[] = {"decision_no", "reasons", NULL};
static const char *const f_service_direct[] = {"document", "server_signature",
                                               "recipient_signature", "date", NULL};
static const char *const f_public_notice[] = {"document", "failed_methods", "medium", NULL};
static const char *const f_performance[] = {"performed", "details", NULL};
static const char *const f_notice_no[] = {"notice_no", NULL};
static const char *const f_notice_service[] = {"notice_no", "recipient_signature", "date", NULL};
static const char *const f_statement_defense[] = {"facts", "reasons", NULL};
static const char *const f_opinion[] = {"opinion", NULL};
static const char *const f_court_application[] = {"court", "application_no", NULL};
static const char *const f_result[] = {"result", NULL};
static const char *const f_legal_hold[] = {"reason", "details", NULL};
static const char *const f_checkout[] = {"recorder", "officer", "battery_pct", "free_mb", NULL};
static const char *const f_return[] = {"recorder", "officer", NULL};
static const char *const f_status[] = {"recorder", "battery_pct", "free_mb", NULL};
static const char *const f_maintenance[] = {"recorder", "action", NULL};
static const char *const f_justification[] = {"alert", "reason", NULL};

/* The type table, indexed by Ft__RecordType; RT_UNKNOWN has no name. */
static const type_info TYPES[] = {
    [FT__RECORD_TYPE__COMPLAINT_REGISTERED] = {"complaint_registered", "8", false, true,
                                               f_complaint_registered},
    [FT__RECORD_TYPE__COMPLAINT_DECISION] = {"complaint_decision", "8", false, true,
                                             f_complaint_decision},
    [FT__RECORD_TYPE__INITIATION_URGENT] = {"initiation_urgent", "9", false, true, f_reason},
    [FT__RECORD_TYPE__INITIATION_APPROVAL] = {"initiation_approval", "9", false, true, f_approver},
    [FT__RECORD_TYPE__PATROL] = {"patrol", "6", true, false, f_none},
    [FT__RECORD_TYPE__INQUIRY] = {"inquiry", "13(1)", true, true, f_inquiry},
    [FT__RECORD_TYPE__EVIDENCE_REGISTRATION] = {"evidence_registration", "13(2)", false, true,
                                                f_evidence},
    [FT__RECORD_TYPE__SITE_INSPECTION] = {"site_inspection", "13(3)", true, true, f_record_no},
    [FT__RECORD_TYPE__SURVEY] = {"survey", "13(3)", true, true, f_record_no},
    [FT__RECORD_TYPE__SAMPLING] = {"sampling", "13", true, true, f_record_no},
    [FT__RECORD_TYPE__HEARING] = {"hearing", "13(4)", true, true, f_record_no},
    [FT__RECORD_TYPE__APPRAISAL_OPINION] = {"appraisal_opinion", "13(5)", false, true, f_appraisal},
    [FT__RECORD_TYPE__EXPERT_PANEL] = {"expert_panel", "14", false, true, f_minutes_no},
    [FT__RECORD_TYPE__COLLECTIVE_DISCUSSION] = {"collective_discussion", "15", false, true,
                                                f_minutes_no},
    [FT__RECORD_TYPE__LEADER_APPROVAL] = {"leader_approval", "16", false, true, f_leader_approval},
    [FT__RECORD_TYPE__DECISION] = {"decision", "17", false, true, f_decision},
    [FT__RECORD_TYPE__SERVICE_DIRECT] = {"service_direct", "18", true, true, f_service_direct},
    [FT__RECORD_TYPE__SERVICE_PUBLIC_NOTICE] = {"service_public_notice", "19", true, true,
                                                f_public_notice},
    [FT__RECORD_TYPE__PERFORMANCE_RECORD] = {"performance_record", "20", false, true,
                                             f_performance},
    [FT__RECORD_TYPE__DEMAND_NOTICE] = {"demand_notice", "21", false, true, f_notice_no},
    [FT__RECORD_TYPE__DEMAND_NOTICE_SERVICE] = {"demand_notice_service", "21", true, true,
                                                f_notice_service},
    [FT__RECORD_TYPE__STATEMENT_DEFENSE] = {"statement_defense", "21", false, true,
                                            f_statement_defense},
    [FT__RECORD_TYPE__STATEMENT_REVIEW] = {"statement_review", "21", false, true, f_opinion},
    [FT__RECORD_TYPE__COURT_APPLICATION] = {"court_application", "21", false, true,
                                            f_court_application},
    [FT__RECORD_TYPE__COURT_RESULT] = {"court_result", "21", false, true, f_result},
    [FT__RECORD_TYPE__LEGAL_HOLD] = {"legal_hold", "23", false, true, f_legal_hold},
    [FT__RECORD_TYPE__RECORDER_CHECKOUT] = {"recorder_checkout", "10, 12", false, false,
                                            f_checkout},
    [FT__RECORD_TYPE__RECORDER_RETURN] = {"recorder_return", "10", false, false, f_return},
    [FT__RECORD_TYPE__RECORDER_STATUS] = {"recorder_status", "12", false, false, f_status},
    [FT__RECORD_TYPE__RECORDER_MAINTENANCE] = {"recorder_maintenance", "12", false, false,
                                               f_maintenance},
    [FT__RECORD_TYPE__JUSTIFICATION] = {"justification", "3", false, true, f_justification},
};

/* Number of rows in TYPES (one past the highest type value). */
#define N_TYPES (sizeof TYPES / sizeof TYPES[0])

/* Top-level members record_from_json maps; everything else goes to extra_json. */
static const char *const COMMON_KEYS[] = {
    "type",     "id",     "case",  "start",     "end",      "time",  "unit",
    "officers", "cause",  "party", "recorders", "location", "media", "media_unsuitable",
    "amends",   "fields", NULL};

/* The table row of a type, or NULL for RT_UNKNOWN and values beyond the table. */
static const type_info *type_row(Ft__RecordType type)
{
    if ((int)type <= 0 || (size_t)type >= N_TYPES || TYPES[type].name == NULL) {
        return NULL;
    }
    return &TYPES[type];
}

/* Canonical JSON name of a record type ("site_inspection"), or NULL. */
const char *record_type_name(Ft__RecordType type)
{
    const type_info *row = type_row(type);
    return row == NULL ? NULL : row->name;
}

/* Parses a JSON type name; RT_UNKNOWN if unknown. */
Ft__RecordType record_type_parse(const char *name)
{
    if (name == NULL) {
        return FT__RECORD_TYPE__RT_UNKNOWN;
    }
    for (size_t i = 1; i < N_TYPES; i++) {
        if (TYPES[i].name != NULL && strcmp(TYPES[i].name, name) == 0) {
            return (Ft__RecordType)i;
        }
    }
    return FT__RECORD_TYPE__RT_UNKNOWN;
}

/* True for activity types (need start/end). */
bool record_type_is_activity(Ft__RecordType type)
{
    const type_info *row = type_row(type);
    return row != NULL && row->activity;
}

/* True when the type requires `case`. */
bool record_type_needs_case(Ft__RecordType type)
{
    const type_info *row = type_row(type);
    return row != NULL && row->needs_case;
}

/* NULL-terminated `fields` keys the regulation asks for; empty for unknown types. */
const char *const *record_type_fields(Ft__RecordType type)
{
    const type_info *row = type_row(type);
    return row == NULL ? f_none : row->fields;
}

/* The article the type's row cites, or NULL for an unknown type. */
const char *record_type_article(Ft__RecordType type)
{
    const type_info *row = type_row(type);
    return row == NULL ? NULL : row->article;
}

/* ---- rejection reasons ---- */

/* Writes a reason into err (if there is room) and returns FT_EINVAL. */
static int reject(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes a reason into err (if there is room) and returns FT_EINVAL. */
static int reject(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return FT_EINVAL;
}

/* Writes the out-of-memory reason into err and returns FT_ENOMEM. */
static int no_memory(char *err, size_t errlen)
{
    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "%s", ft_strerror(FT_ENOMEM));
    }
    return FT_ENOMEM;
}

/* Copies a sender's value for quoting in a reason: at most QUOTE_MAX bytes,
 * cut on a UTF-8 boundary, control characters and quotes shown as '?',
 * "..." appended when cut. buf needs QUOTE_MAX + 4 bytes. */
static void quote(const char *s, char *buf)
{
    size_t n = strlen(s);
    bool cut = n > QUOTE_MAX;

    if (cut) {
        n = utf8_prefix(s, n, QUOTE_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = (c < 0x20 || c == 0x7F || c == '"') ? '?' : (char)c;
    }
    if (cut) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
}

/* The text between the first pair of double quotes after `from`, into out. */
static void first_quoted(const char *from, char *out, size_t outlen)
{
    const char *a = strchr(from, '"');
    const char *b = a ? strchr(a + 1, '"') : NULL;
    if (!b) {
        utf8_copy(out, outlen, "");
        return;
    }
    utf8_copyn(out, outlen, a + 1, (size_t)(b - a - 1));
}

/* The member(s) a rejection reason names (the reasons are reject()'s above
 * and below: each names its member first, in quotes, but for these). */
void record_reason_field(const char *reason, char *out, size_t outlen)
{
    if (out == NULL || outlen == 0) {
        return;
    }
    if (reason == NULL) {
        out[0] = '\0';
    } else if (strncmp(reason, "missing \"type\"", 15) == 0 ||
               strncmp(reason, "unknown record type", 19) == 0) {
        utf8_copy(out, outlen, "type");
    } else if (strncmp(reason, "type \"", 6) == 0 && strstr(reason, "needs a \"case\"")) {
        utf8_copy(out, outlen, "case");
    } else if (strncmp(reason, "activity \"", 10) == 0) {
        utf8_copy(out, outlen, "start,end");
    } else if (strncmp(reason, "field \"", 7) == 0) {
        char key[256];
        first_quoted(reason, key, sizeof key);
        snprintf(out, outlen, "fields.%s", key);
        utf8_trim(out);
    } else if (reason[0] == '"') {
        first_quoted(reason, out, outlen);
    } else {
        out[0] = '\0';
    }
}

/* ---- RFC 3339 ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int mp = m > 2 ? m - 3 : m + 9;
    int64_t doy = (153 * mp + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The date of a day number since 1970-01-01 (inverse of days_from_civil). */
static void civil_from_days(int64_t z, int64_t *y_out, int *m_out, int *d_out)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y_out = yoe + era * 400 + (m <= 2);
    *m_out = m;
    *d_out = d;
}

/* Days in a month of a year, leap years included. */
static int days_in_month(int64_t y, int m)
{
    static const int DAYS[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return (m == 2 && leap) ? 29 : DAYS[m - 1];
}

/* Reads exactly n ASCII digits at *p into *out and advances; false if not digits. */
static bool read_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* Consumes one expected character at *p; false if it is not there. */
static bool read_char(const char **p, char a, char b)
{
    if (**p != a && **p != b) {
        return false;
    }
    (*p)++;
    return true;
}

/* RFC 3339 date-time with a required offset -> UTC ms and offset minutes. */
int rfc3339_parse(const char *text, int64_t *unix_ms, int32_t *utc_offset_min)
{
    const char *p = text;
    int year, month, day, hour, min, sec, oh, om;
    int ms = 0;
    int offset = 0;

    if (text == NULL) {
        return FT_EINVAL;
    }
    if (!read_digits(&p, 4, &year) || !read_char(&p, '-', '-') || !read_digits(&p, 2, &month) ||
        !read_char(&p, '-', '-') || !read_digits(&p, 2, &day) || !read_char(&p, 'T', 't') ||
        !read_digits(&p, 2, &hour) || !read_char(&p, ':', ':') || !read_digits(&p, 2, &min) ||
        !read_char(&p, ':', ':') || !read_digits(&p, 2, &sec)) {
        return FT_EINVAL;
    }
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') {
            return FT_EINVAL;
        }
        for (int scale = 100; *p >= '0' && *p <= '9'; p++) {
            ms += (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (read_char(&p, 'Z', 'z')) {
        offset = 0;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        p++;
        if (!read_digits(&p, 2, &oh) || !read_char(&p, ':', ':') || !read_digits(&p, 2, &om) ||
            oh > 23 || om > 59) {
            return FT_EINVAL;
        }
        offset = sign * (oh * 60 + om);
    } else {
        return FT_EINVAL;
    }
    if (*p != '\0') {
        return FT_EINVAL;
    }
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
        min > 59 || sec > 60) {
        return FT_EINVAL;
    }
    int64_t secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec -
                   (int64_t)offset * 60;
    *unix_ms = secs * 1000 + ms;
    *utc_offset_min = offset;
    return FT_OK;
}

/* Formats UTC ms in the given offset as RFC 3339 ("Z" for offset 0). */
void rfc3339_format(int64_t unix_ms, int32_t utc_offset_min, char *buf, size_t buflen)
{
    int64_t local;
    int64_t days, rem, year;
    int month, day;
    int n;

    if (buf == NULL || buflen == 0) {
        return;
    }
    if (__builtin_add_overflow(unix_ms, (int64_t)utc_offset_min * 60000, &local)) {
        utc_offset_min = 0;
        local = unix_ms;
    }
    days = local / MS_PER_DAY;
    rem = local % MS_PER_DAY;
    if (rem < 0) {
        days--;
        rem += MS_PER_DAY;
    }
    civil_from_days(days, &year, &month, &day);
    n = snprintf(buf, buflen, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)year, month, day,
                 (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60));
    if (n < 0 || (size_t)n >= buflen) {
        return;
    }
    if (rem % 1000 != 0) {
        n += snprintf(buf + n, buflen - (size_t)n, ".%03d", (int)(rem % 1000));
        if ((size_t)n >= buflen) {
            return;
        }
    }
    if (utc_offset_min == 0) {
        snprintf(buf + n, buflen - (size_t)n, "Z");
    } else {
        int64_t a = utc_offset_min < 0 ? -(int64_t)utc_offset_min : utc_offset_min;
        snprintf(buf + n, buflen - (size_t)n, "%c%02lld:%02lld", utc_offset_min < 0 ? '-' : '+',
                 (long long)(a / 60), (long long)(a % 60));
    }
}

/* ---- JSON -> record ---- */

/* True if the text is empty or only whitespace (ASCII, NBSP, ideographic space). */
static bool is_blank(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p != '\0') {
        if (*p == ' ' || (*p >= '\t' && *p <= '\r')) {
            p++;
        } else if (p[0] == 0xC2 && p[1] == 0xA0) {
            p += 2;
        } else if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) {
            p += 3;
        } else {
            return false;
        }
    }
    return true;
}

/* Copies a JSON string's value (NULL on allocation failure); *nul set if it holds a NUL. */
static char *dup_json_string(const json_t *v, bool *nul)
{
    const char *s = json_string_value(v);
    *nul = strlen(s) != json_string_length(v);
    return strdup(s);
}

/* Optional string member `key` -> *dst (left NULL when absent). */
static int take_string(const json_t *obj, const char *key, char **dst, char *err, size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    bool nul;

    if (v == NULL) {
        return FT_OK;
    }
    if (!json_is_string(v)) {
        return reject(err, errlen, "\"%s\" must be a string", key);
    }
    *dst = dup_json_string(v, &nul);
    if (*dst == NULL) {
        return no_memory(err, errlen);
    }
    if (nul) {
        return reject(err, errlen, "\"%s\" must not contain a NUL character", key);
    }
    return FT_OK;
}

/* Optional array-of-strings member `key` -> (*n, *dst); absent leaves both empty. */
static int take_strings(const json_t *obj, const char *key, size_t *n, char ***dst, char *err,
                        size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    size_t count;
    bool nul;

    if (v == NULL) {
        return FT_OK;
    }
    if (!json_is_array(v)) {
        return reject(err, errlen, "\"%s\" must be an array of strings", key);
    }
    count = json_array_size(v);
    for (size_t i = 0; i < count; i++) {
        if (!json_is_string(json_array_get(v, i))) {
            return reject(err, errlen, "\"%s\" must be an array of strings", key);
        }
    }
    if (count == 0) {
        return FT_OK;
    }
    *dst = calloc(count, sizeof **dst);
    if (*dst == NULL) {
        return no_memory(err, errlen);
    }
    for (size_t i = 0; i < count; i++) {
        (*dst)[i] = dup_json_string(json_array_get(v, i), &nul);
        if ((*dst)[i] == NULL) {
            return no_memory(err, errlen);
        }
        (*n)++;
        if (nul) {
            return reject(err, errlen, "\"%s\" must not contain a NUL character", key);
        }
    }
    return FT_OK;
}

/* Optional timestamp member `key` -> new *dst (left NULL when absent). */
static int take_time(const json_t *obj, const char *key, Ft__Time **dst, char *err, size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    char q[QUOTE_MAX + 4];
    int64_t ms;
    int32_t off;

    if (v == NULL) {
        return FT_OK;
    }
    if (!json_is_string(v)) {
        return reject(err, errlen,
                      "\"%s\" must be an RFC 3339 time string such as "
                      "\"2026-03-01T09:30:00+08:00\"",
                      key);
    }
    if (rfc3339_parse(json_string_value(v), &ms, &off) != FT_OK ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        quote(json_string_value(v), q);
        return reject(err, errlen, "\"%s\" is not a valid RFC 3339 time with offset: \"%s\"", key,
                      q);
    }
    *dst = malloc(sizeof **dst);
    if (*dst == NULL) {
        return no_memory(err, errlen);
    }
    ft__time__init(*dst);
    (*dst)->unix_ms = ms;
    (*dst)->utc_offset_min = off;
    return FT_OK;
}

/* Optional `location` {lat, lon} -> new rec->location; other members are refused
 * because the record could not carry them back out. */
static int take_location(const json_t *obj, Ft__Record *rec, char *err, size_t errlen)
{
    const json_t *v = json_object_get(obj, "location");
    const json_t *lat, *lon;

    if (v == NULL) {
        return FT_OK;
    }
    lat = json_object_get(v, "lat");
    lon = json_object_get(v, "lon");
    if (!json_is_object(v) || json_object_size(v) != 2 || !json_is_number(lat) ||
        !json_is_number(lon)) {
        return reject(err, errlen,
                      "\"location\" must be an object {\"lat\": number, \"lon\": number}");
    }
    rec->location = malloc(sizeof *rec->location);
    if (rec->location == NULL) {
        return no_memory(err, errlen);
    }
    ft__location__init(rec->location);
    rec->location->lat = json_number_value(lat);
    rec->location->lon = json_number_value(lon);
    return FT_OK;
}

/* Fills one FieldValue from a JSON value, keeping its JSON type. */
static int set_field_value(Ft__FieldValue *fv, const json_t *v, char *err, size_t errlen)
{
    bool nul;

    if (json_is_string(v)) {
        fv->text = dup_json_string(v, &nul);
        if (fv->text == NULL) {
            return no_memory(err, errlen);
        }
        fv->value_case = FT__FIELD_VALUE__VALUE_TEXT;
        if (nul) {
            return reject(err, errlen, "field \"%s\" must not contain a NUL character", fv->key);
        }
        return FT_OK;
    }
    if (json_is_boolean(v)) {
        fv->flag = json_is_true(v);
        fv->value_case = FT__FIELD_VALUE__VALUE_FLAG;
        return FT_OK;
    }
    if (json_is_real(v) || (json_is_integer(v) && json_integer_value(v) >= -EXACT_INT_MAX &&
                            json_integer_value(v) <= EXACT_INT_MAX)) {
        fv->number = json_number_value(v);
        fv->value_case = FT__FIELD_VALUE__VALUE_NUMBER;
        return FT_OK;
    }
    /* array, object, null, or an integer too large for a double */
    fv->json = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (fv->json == NULL) {
        return no_memory(err, errlen);
    }
    fv->value_case = FT__FIELD_VALUE__VALUE_JSON;
    return FT_OK;
}

/* Optional `fields` object -> rec->fields, in the sender's member order. */
static int take_fields(const json_t *obj, Ft__Record *rec, char *err, size_t errlen)
{
    const json_t *v = json_object_get(obj, "fields");
    size_t count;
    void *it;
    int rc;

    if (v == NULL) {
        return FT_OK;
    }
    if (!json_is_object(v)) {
        return reject(err, errlen, "\"fields\" must be an object");
    }
    count = json_object_size(v);
    if (count == 0) {
        return FT_OK;
    }
    rec->fields = calloc(count, sizeof *rec->fields);
    if (rec->fields == NULL) {
        return no_memory(err, errlen);
    }
    /* jansson iterates only non-const objects; nothing here modifies v */
    it = json_object_iter((json_t *)v);
    while (it != NULL && rec->n_fields < count) {
        Ft__FieldValue *fv = malloc(sizeof *fv);
        if (fv == NULL) {
            return no_memory(err, errlen);
        }
        ft__field_value__init(fv);
        rec->fields[rec->n_fields] = fv;
        rec->n_fields++;
        fv->key = strdup(json_object_iter_key(it));
        if (fv->key == NULL) {
            return no_memory(err, errlen);
        }
        rc = set_field_value(fv, json_object_iter_value(it), err, errlen);
        if (rc != FT_OK) {
            return rc;
        }
        it = json_object_iter_next((json_t *)v, it);
    }
    return FT_OK;
}

/* True if key is one of COMMON_KEYS. */
static bool is_common_key(const char *key)
{
    for (size_t i = 0; COMMON_KEYS[i] != NULL; i++) {
        if (strcmp(COMMON_KEYS[i], key) == 0) {
            return true;
        }
    }
    return false;
}

/* Unknown top-level members -> rec->extra_json (compact, sorted); absent if none. */
static int take_extras(const json_t *obj, Ft__Record *rec, char *err, size_t errlen)
{
    json_t *extra = json_object();
    void *it;
    int rc = FT_OK;

    if (extra == NULL) {
        return no_memory(err, errlen);
    }
    /* jansson iterates only non-const objects; nothing here modifies obj */
    for (it = json_object_iter((json_t *)obj); it != NULL;
         it = json_object_iter_next((json_t *)obj, it)) {
        const char *key = json_object_iter_key(it);
        if (is_common_key(key)) {
            continue;
        }
        if (json_object_set(extra, key, json_object_iter_value(it)) != 0) {
            rc = no_memory(err, errlen);
            goto err;
        }
    }
    if (json_object_size(extra) > 0) {
        rec->extra_json = json_dumps(extra, JSON_COMPACT | JSON_SORT_KEYS);
        if (rec->extra_json == NULL) {
            rc = no_memory(err, errlen);
            goto err;
        }
    }
err:
    json_decref(extra);
    return rc;
}

/* The `type` member -> rec->type, rejecting a missing or unknown type. */
static int take_type(const json_t *obj, Ft__Record *rec, char *err, size_t errlen)
{
    const json_t *v = json_object_get(obj, "type");
    char q[QUOTE_MAX + 4];

    if (v == NULL) {
        return reject(err, errlen, "missing \"type\"");
    }
    if (!json_is_string(v)) {
        return reject(err, errlen, "\"type\" must be a string");
    }
    rec->type = record_type_parse(json_string_value(v));
    if (rec->type == FT__RECORD_TYPE__RT_UNKNOWN) {
        quote(json_string_value(v), q);
        return reject(err, errlen, "unknown record type \"%s\"", q);
    }
    return FT_OK;
}

/* The rules across members: case where needed, start/end for activities, end >= start. */
static int check_rules(const Ft__Record *rec, char *err, size_t errlen)
{
    const char *name = record_type_name(rec->type);

    if (record_type_needs_case(rec->type) && (rec->case_id == NULL || is_blank(rec->case_id))) {
        return reject(err, errlen, "type \"%s\" needs a \"case\"", name);
    }
    if (record_type_is_activity(rec->type) && (rec->start == NULL || rec->end == NULL)) {
        return reject(err, errlen, "activity \"%s\" needs \"start\" and \"end\"", name);
    }
    if (rec->start != NULL && rec->end != NULL && rec->end->unix_ms < rec->start->unix_ms) {
        return reject(err, errlen, "\"end\" is before \"start\"");
    }
    return FT_OK;
}

/* Converts one parsed JSON object into a newly allocated record. */
int record_from_json(const json_t *obj, Ft__Record **out, char *err, size_t errlen)
{
    Ft__Record *rec = NULL;
    int rc;

    *out = NULL;
    if (!json_is_object(obj)) {
        rc = reject(err, errlen, "a record must be a JSON object");
        goto err;
    }
    rec = malloc(sizeof *rec);
    if (rec == NULL) {
        rc = no_memory(err, errlen);
        goto err;
    }
    ft__record__init(rec);
    rc = take_type(obj, rec, err, errlen);
    if (rc != FT_OK) {
        goto err;
    }
    rc = take_string(obj, "id", &rec->id, err, errlen);
    if (rc != FT_OK) {
        goto err;
    }
    rc = take_string(obj, "case", &rec->case_id, err, errlen);
    if (rc != FT_OK) {
        goto err;
    }
    rc = take_time(obj, "start", &rec->start, err, errlen);
    if (rc != FT_OK) {
        goto err;
    }
    rc = take_time(obj, "end", &rec->end, err, errlen);
    if (rc != FT_OK) {
        goto err;
    }
    rc = take_time(obj, "time", &rec->time, err, errlen);
    if (rc != FT_OK) {
        goto err;
    }
    rc = take_string(obj, "unit", &rec->unit, err, errlen);
    if (rc != FT_OK) {
        goto err;
    }
    rc = take_strings(obj, "officers", &rec->n_officers, &rec->officers, err, errlen);
    if (rc != FT_OK) {
        goto err;
    }
    rc = take_string(obj, "cause", &rec->cause, err, errlen);
    if (rc != FT_OK) {
        goto err;
    }
    rc = take_string(obj, "party", &rec->party, err, errlen);
    if (rc != FT_OK) {
        goto err;
    }
    rc = take_strings(obj, "recorders", &rec->n_recorders, &rec->recorders, err, errlen);
    if (rc != FT_OK) {
        goto err;
    }
    rc = take_location(obj, rec, err, errlen);
    if (rc != FT_OK) {
        goto err;
    }
    rc = take_strings(obj, "media", &rec->n_media, &rec->media, err, errlen);
    if (rc != FT_OK) {
        goto err;
    }
    rc = take_string(obj, "media_unsuitable", &rec->media_unsuitable, err, errlen);
    if (rc != FT_OK) {
        goto err;
    }
    rc = take_string(obj, "amends", &rec->amends, err, errlen);
    if (rc != FT_OK) {
        goto err;
    }
    rc = take_fields(obj, rec, err, errlen);
    if (rc != FT_OK) {
        goto err;
    }
    rc = take_extras(obj, rec, err, errlen);
    if (rc != FT_OK) {
        goto err;
    }
    rc = check_rules(rec, err, errlen);
    if (rc != FT_OK) {
        goto err;
    }
    *out = rec;
    return FT_OK;
err:
    record_free(&rec);
    return rc;
}

/* Parses one line of text (a JSON object) into a record. */
int record_from_line(const char *line, size_t len, Ft__Record **out, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *obj;
    int rc;

    *out = NULL;
    if (line == NULL) {
        return reject(err, errlen, "not valid JSON: empty line");
    }
    obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (obj == NULL) {
        return reject(err, errlen, "not valid JSON: %s", jerr.text);
    }
    rc = record_from_json(obj, out, err, errlen);
    json_decref(obj);
    return rc;
}

/* ---- record -> JSON ---- */

/* A JSON number for a double: an integer when integral within +-2^53,
 * null when not finite (JSON has no NaN/Inf; only a foreign protobuf can hold one). */
static json_t *number_json(double d)
{
    if (!isfinite(d)) {
        return json_null();
    }
    if (d >= -(double)EXACT_INT_MAX && d <= (double)EXACT_INT_MAX && d == (double)(json_int_t)d) {
        return json_integer((json_int_t)d);
    }
    return json_real(d);
}

/* A JSON string, or JSON null for a NULL string (only a foreign protobuf has
 * one); text that is not valid UTF-8 escaped (utf8.h), so that a record is
 * never left out of a listing for it. */
static json_t *string_json(const char *s)
{
    return s == NULL ? json_null() : utf8_json_string(s);
}

/* Sets obj[key] to string s when s is present; 0 or -1 on failure. */
static int put_string(json_t *obj, const char *key, const char *s)
{
    if (s == NULL) {
        return 0;
    }
    return json_object_set_new(obj, key, utf8_json_string(s));
}

/* Sets obj[key] to an array of n strings when n > 0; 0 or -1 on failure. */
static int put_strings(json_t *obj, const char *key, size_t n, char *const *s)
{
    json_t *arr;

    if (n == 0) {
        return 0;
    }
    arr = json_array();
    if (json_object_set_new(obj, key, arr) != 0) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(arr, string_json(s[i])) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Sets obj[key] to the RFC 3339 spelling of t when present; 0 or -1 on failure. */
static int put_time(json_t *obj, const char *key, const Ft__Time *t)
{
    char buf[48];

    if (t == NULL) {
        return 0;
    }
    rfc3339_format(t->unix_ms, t->utc_offset_min, buf, sizeof buf);
    return json_object_set_new(obj, key, json_string(buf));
}

/* The JSON value of one FieldValue, restoring its JSON type; NULL on failure. */
static json_t *field_json(const Ft__FieldValue *fv)
{
    json_t *v;

    switch (fv->value_case) {
    case FT__FIELD_VALUE__VALUE_TEXT:
        return string_json(fv->text);
    case FT__FIELD_VALUE__VALUE_FLAG:
        return json_boolean(fv->flag);
    case FT__FIELD_VALUE__VALUE_NUMBER:
        return number_json(fv->number);
    case FT__FIELD_VALUE__VALUE_JSON:
        if (fv->json == NULL) {
            return json_null();
        }
        v = json_loads(fv->json, JSON_DECODE_ANY, NULL);
        /* text that is not JSON (a foreign protobuf) is kept as a string */
        return v != NULL ? v : utf8_json_string(fv->json);
    default:
        return json_null();
    }
}

/* Sets obj["fields"] from rec->fields when there are any; 0 or -1 on failure. */
static int put_fields(json_t *obj, const Ft__Record *rec)
{
    json_t *fields;

    if (rec->n_fields == 0) {
        return 0;
    }
    fields = json_object();
    if (json_object_set_new(obj, "fields", fields) != 0) {
        return -1;
    }
    for (size_t i = 0; i < rec->n_fields; i++) {
        const Ft__FieldValue *fv = rec->fields[i];
        if (fv == NULL || fv->key == NULL) {
            continue;
        }
        if (utf8_json_set_new(fields, fv->key, field_json(fv)) != FT_OK) {
            return -1;
        }
    }
    return 0;
}

/* Merges extra_json members that do not collide with common fields; 0 or -1. */
static int put_extras(json_t *obj, const Ft__Record *rec)
{
    json_t *extra;
    int rc;

    if (rec->extra_json == NULL) {
        return 0;
    }
    extra = json_loads(rec->extra_json, 0, NULL);
    if (!json_is_object(extra)) {
        /* not a JSON object (a foreign protobuf): shown as text, not dropped */
        json_decref(extra);
        return json_object_get(obj, "extra_json") != NULL
                   ? 0
                   : json_object_set_new(obj, "extra_json", utf8_json_string(rec->extra_json));
    }
    rc = json_object_update_missing(obj, extra);
    json_decref(extra);
    return rc;
}

/* Sets obj["location"] when present; 0 or -1 on failure. */
static int put_location(json_t *obj, const Ft__Location *loc)
{
    json_t *v;

    if (loc == NULL) {
        return 0;
    }
    v = json_object();
    if (json_object_set_new(obj, "location", v) != 0) {
        return -1;
    }
    if (json_object_set_new(v, "lat", number_json(loc->lat)) != 0 ||
        json_object_set_new(v, "lon", number_json(loc->lon)) != 0) {
        return -1;
    }
    return 0;
}

/* The record as a new JSON object, or NULL on failure. */
json_t *record_to_json(const Ft__Record *rec)
{
    json_t *obj = json_object();
    const char *name = record_type_name(rec->type);
    json_t *type;

    if (obj == NULL) {
        goto err;
    }
    type = name != NULL ? json_string(name) : json_integer(rec->type);
    if (json_object_set_new(obj, "type", type) != 0 || put_string(obj, "id", rec->id) != 0 ||
        put_string(obj, "case", rec->case_id) != 0 || put_time(obj, "start", rec->start) != 0 ||
        put_time(obj, "end", rec->end) != 0 || put_time(obj, "time", rec->time) != 0 ||
        put_string(obj, "unit", rec->unit) != 0 ||
        put_strings(obj, "officers", rec->n_officers, rec->officers) != 0 ||
        put_string(obj, "cause", rec->cause) != 0 || put_string(obj, "party", rec->party) != 0 ||
        put_strings(obj, "recorders", rec->n_recorders, rec->recorders) != 0 ||
        put_location(obj, rec->location) != 0 ||
        put_strings(obj, "media", rec->n_media, rec->media) != 0 ||
        put_string(obj, "media_unsuitable", rec->media_unsuitable) != 0 ||
        put_string(obj, "amends", rec->amends) != 0 || put_fields(obj, rec) != 0 ||
        put_extras(obj, rec) != 0) {
        goto err;
    }
    return obj;
err:
    json_decref(obj);
    return NULL;
}

/* Frees a record (from record_from_json or ft__record__unpack); NULLs *rec_p. */
void record_free(Ft__Record **rec_p)
{
    if (rec_p == NULL || *rec_p == NULL) {
        return;
    }
    ft__record__free_unpacked(*rec_p, NULL);
    *rec_p = NULL;
}

/* ---- field lookup ---- */

/* Looks up a `fields` entry by key; NULL if absent (borrowed from rec). */
const Ft__FieldValue *record_field(const Ft__Record *rec, const char *key)
{
    for (size_t i = 0; i < rec->n_fields; i++) {
        const Ft__FieldValue *fv = rec->fields[i];
        if (fv != NULL && fv->key != NULL && strcmp(fv->key, key) == 0) {
            return fv;
        }
    }
    return NULL;
}

/* True if the JSON text is null, [] or {} (or absent); unparsable text counts as content. */
static bool json_text_empty(const char *text)
{
    json_t *v;
    bool empty;

    if (text == NULL) {
        return true;
    }
    v = json_loads(text, JSON_DECODE_ANY, NULL);
    if (v == NULL) {
        return is_blank(text);
    }
    empty = json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0) ||
            (json_is_object(v) && json_object_size(v) == 0);
    json_decref(v);
    return empty;
}

/* True if the field is present and non-empty. */
bool record_field_present(const Ft__Record *rec, const char *key)
{
    const Ft__FieldValue *fv = record_field(rec, key);

    if (fv == NULL) {
        return false;
    }
    switch (fv->value_case) {
    case FT__FIELD_VALUE__VALUE_TEXT:
        return fv->text != NULL && !is_blank(fv->text);
    case FT__FIELD_VALUE__VALUE_FLAG:
    case FT__FIELD_VALUE__VALUE_NUMBER:
        return true;
    case FT__FIELD_VALUE__VALUE_JSON:
        return !json_text_empty(fv->json);
    default:
        return false;
    }
}
