/* rules.h: the rule pack — plain-text rules that encode the regulation.
 *
 * Format (docs/rules.md): blocks of "key: value" lines, each block opened by
 * "rule: ID". Lines starting with # are comments. Example:
 *
 *   rule: 1
 *   kind: coverage
 *   applies to: site_inspection, survey, sampling, hearing
 *   min covered: 95%
 *   max uncovered: 60s
 *   article: 13
 *   severity: high
 *   zh: 现场检查、勘验、抽样取证和听证应当同步音像记录……
 *   en: On-site inspection, survey, sampling and hearings must be recorded…
 *
 * A malformed pack is refused as a whole with the file, line and reason
 * (rules_load), so a hub never runs on half a pack. The integrity rule is
 * built in: a pack may restate its messages but cannot disable it.
 */
#ifndef FT_RULES_H
#define FT_RULES_H

#include "entry.pb-c.h"
#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RULES_MAX_TYPES 40

typedef enum {
    RULE_COVERAGE,       /* media cover an activity's window */
    RULE_FIELDS,         /* a type's required `fields` are present */
    RULE_FOLLOWED_BY,    /* a record of another type follows within a deadline */
    RULE_PRECEDED_BY,    /* a record of another type comes before (optionally by a minimum) */
    RULE_READINESS,      /* recorder battery and free storage at checkout/status */
    RULE_UNLINKED_MEDIA, /* media tied to a case or activity within a grace period */
    RULE_CLOCK,          /* device clock offset measured at connect */
    RULE_INTEGRITY,      /* built in: signatures, chain, seq, signer, chunk hashes */
    RULE_SILENCE,        /* a device not heard from for longer than a limit */
} rule_kind;

typedef enum { SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL } rule_severity;

/* A set of record types. */
typedef struct {
    bool all; /* every type */
    size_t n; /* number of types listed */
    Ft__RecordType types[RULES_MAX_TYPES];
} type_set_t;

/* One rule with its parameters (only those of its kind are meaningful). */
typedef struct {
    char id[32]; /* "1", "13", "court-result" */
    rule_kind kind;
    bool enabled;          /* "enabled: no" switches a rule off (not integrity) */
    type_set_t applies_to; /* types the rule is about */
    type_set_t needs;      /* followed_by / preceded_by: any of these satisfies */
    type_set_t
        for_each;      /* preceded_by: each such record before the subject needs `needs` after it */
    int64_t within_ms; /* followed_by deadline */
    int64_t min_before_ms;    /* preceded_by: at least this long before */
    double min_covered;       /* coverage: fraction 0..1 of the window */
    int64_t max_uncovered_ms; /* coverage: longest allowed uncovered stretch (0 = no limit) */
    unsigned min_media;       /* coverage: at least this many linked media items */
    int64_t min_battery_pct;  /* readiness */
    int64_t min_free_mb;      /* readiness */
    int64_t grace_ms;         /* unlinked media */
    int64_t max_offset_ms;    /* clock */
    int64_t max_silence_ms;   /* silence */
    char article[32];         /* article cited, e.g. "13"; fields rules may use the type's own */
    bool article_per_type;    /* fields: cite each type's article (record_type_article) */
    rule_severity severity;
    char *message_zh; /* message, zh-CN first */
    char *message_en;
    /* fields: per-type required field lists overriding the built-in ones */
    char **field_override[RULES_MAX_TYPES + 1];
    Ft__RecordType field_override_type[RULES_MAX_TYPES + 1];
    size_t n_field_override;
    int line; /* where the rule starts in its file */
} rule_t;

typedef struct {
    rule_t *rules;
    size_t n;
    char source[256]; /* file it came from */
    char *text;       /* the text it was read from (what a hub sends its edges) */
} rulepack_t;

/* Loads a pack from text; on error returns FT_EINVAL with "FILE line N: reason"
 * in err and *out NULL. The built-in integrity rule is added if absent. */
int rules_parse(const char *text, const char *source, rulepack_t **out, char *err,
                size_t errlen) FT_MUST_CHECK;
/* The default pack (rulepack/default.rules), compiled in. */
extern const char rules_default_text[];

/* Loads a pack file (FT_ENOTFOUND if unreadable). */
int rules_load(const char *path, rulepack_t **out, char *err, size_t errlen) FT_MUST_CHECK;
void rules_destroy(rulepack_t **pack_p);

const char *rule_kind_name(rule_kind k);
const char *rule_severity_name(rule_severity s);
bool type_set_has(const type_set_t *s, Ft__RecordType t);
/* Required fields of type t under rule r (override or built-in), NULL-terminated. */
const char *const *rule_fields_for(const rule_t *r, Ft__RecordType t);
/* Finds the first enabled rule of a kind (NULL if none). */
const rule_t *rules_find_kind(const rulepack_t *pack, rule_kind k);

/* The limits of the readiness and clock rules, judged in one place: the gap
 * engine (gaps.c) and the dashboard's sync page (hub/web/api/api_sync.c)
 * both ask these, with the rule of the pack the hub runs (rules_find_kind),
 * so an office's own numbers change both. False for a NULL rule or a rule
 * of another kind (no rule, nothing is out of limits).
 *   readiness: battery below `min battery` (percent), free storage below
 *              `min free mb` (a limit of 0 is none);
 *   clock:     an offset (either sign) beyond `max offset`;
 *   silence:   nothing heard from the device for longer than `max silence`. */
bool rule_battery_low(const rule_t *r, double battery_pct);
bool rule_storage_low(const rule_t *r, double free_mb);
bool rule_clock_off(const rule_t *r, int64_t offset_ms);
/* silence: a device last heard from at last_seen_ms (0: never, counted from
 * since_ms, its enrolment) is silent beyond `max silence` at now_ms. */
bool rule_silent(const rule_t *r, int64_t last_seen_ms, int64_t since_ms, int64_t now_ms);

#endif
