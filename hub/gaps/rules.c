/* rules.c: parsing and validating a rule pack (format in rules.h and
 * docs/rules.md). Parsing is all-or-nothing: the first error names its line
 * and nothing is returned. */
#include "rules.h"
#include "fsutil.h"
#include "record.h"
#include "utf8.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest duration a rule may name: 100 years, far inside int64 milliseconds. */
#define RULES_MAX_DURATION_MS (100.0 * 366 * 86400e3)

/* Parser state. */
typedef struct {
    rulepack_t *pack;
    const char *source;
    int line;
    char *err;
    size_t errlen;
} parser_t;

static int fail(parser_t *p, int line, const char *fmt, const char *a, const char *b)
{
    char msg[400];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    snprintf(p->err, p->errlen, "%s line %d: %s", p->source, line, msg);
    return FT_EINVAL;
}

const char *rule_kind_name(rule_kind k)
{
    static const char *names[] = {"coverage",    "fields",    "followed_by",
                                  "preceded_by", "readiness", "unlinked_media",
                                  "clock",       "integrity", "silence"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unknown";
}

const char *rule_severity_name(rule_severity s)
{
    static const char *names[] = {"low", "medium", "high", "critical"};
    return (unsigned)s < 4 ? names[s] : "unknown";
}

bool type_set_has(const type_set_t *s, Ft__RecordType t)
{
    if (s->all) {
        return true;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (s->types[i] == t) {
            return true;
        }
    }
    return false;
}

static char *trim(char *s)
{
    while (*s && isspace((unsigned char)*s)) {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        s[--n] = '\0';
    }
    return s;
}

static int parse_types(parser_t *p, char *value, type_set_t *out)
{
    memset(out, 0, sizeof *out);
    if (strcmp(value, "*") == 0 || strcasecmp(value, "all") == 0) {
        out->all = true;
        return FT_OK;
    }
    char *save = NULL;
    for (char *tok = strtok_r(value, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *name = trim(tok);
        if (!*name) {
            continue;
        }
        Ft__RecordType t = record_type_parse(name);
        if (t == FT__RECORD_TYPE__RT_UNKNOWN) {
            return fail(p, p->line, "unknown record type \"%s\" (see docs/records.md)", name, NULL);
        }
        if (out->n >= RULES_MAX_TYPES) {
            return fail(p, p->line, "too many record types in one list", NULL, NULL);
        }
        out->types[out->n++] = t;
    }
    if (out->n == 0) {
        return fail(p, p->line, "the list of record types is empty", NULL, NULL);
    }
    return FT_OK;
}

/* "60s", "15 days", "24h", "90 min" -> milliseconds. */
static int parse_duration(parser_t *p, const char *value, int64_t *out)
{
    char *end = NULL;
    double v = strtod(value, &end);
    if (end == value || !isfinite(v) || v < 0) {
        return fail(p, p->line, "\"%s\" is not a duration like 60s, 90min, 24h or 15d", value,
                    NULL);
    }
    while (*end == ' ') {
        end++;
    }
    static const struct {
        const char *unit;
        double ms;
    } units[] = {{"s", 1e3},       {"sec", 1e3},      {"second", 1e3},   {"seconds", 1e3},
                 {"min", 60e3},    {"minute", 60e3},  {"minutes", 60e3}, {"h", 3600e3},
                 {"hour", 3600e3}, {"hours", 3600e3}, {"d", 86400e3},    {"day", 86400e3},
                 {"days", 86400e3}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(end, units[i].unit) == 0) {
            double ms = v * units[i].ms;
            if (ms > RULES_MAX_DURATION_MS) {
                return fail(p, p->line, "\"%s\" is longer than 100 years", value, NULL);
            }
            *out = (int64_t)(ms + 0.5);
            return FT_OK;
        }
    }
    return fail(p, p->line, "\"%s\" needs a unit: s, min, h or d", value, NULL);
}

static int parse_number(parser_t *p, const char *value, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (end == value || *trim(end) != '\0' || v < 0 || errno == ERANGE || v > UINT32_MAX) {
        return fail(p, p->line, "\"%s\" is not a whole number", value, NULL);
    }
    *out = v;
    return FT_OK;
}

/* "95%" or "0.95" -> 0.95 */
static int parse_fraction(parser_t *p, const char *value, double *out)
{
    char *end = NULL;
    double v = strtod(value, &end);
    if (end == value) {
        return fail(p, p->line, "\"%s\" is not a percentage like 95%%", value, NULL);
    }
    if (*end == '%') {
        v /= 100.0;
        end++;
    }
    if (*end != '\0' || !isfinite(v) || v < 0 || v > 1) {
        return fail(p, p->line, "\"%s\" is not a percentage between 0%% and 100%%", value, NULL);
    }
    *out = v;
    return FT_OK;
}

static int parse_kind(parser_t *p, const char *value, rule_kind *out)
{
    for (int k = RULE_COVERAGE; k <= RULE_SILENCE; k++) {
        if (strcasecmp(value, rule_kind_name((rule_kind)k)) == 0) {
            *out = (rule_kind)k;
            return FT_OK;
        }
    }
    return fail(p, p->line,
                "unknown kind \"%s\" (coverage, fields, followed_by, preceded_by, readiness, "
                "unlinked_media, clock, integrity, silence)",
                value, NULL);
}

static int parse_severity(parser_t *p, const char *value, rule_severity *out)
{
    for (int s = SEV_LOW; s <= SEV_CRITICAL; s++) {
        if (strcasecmp(value, rule_severity_name((rule_severity)s)) == 0) {
            *out = (rule_severity)s;
            return FT_OK;
        }
    }
    return fail(p, p->line, "unknown severity \"%s\" (low, medium, high, critical)", value, NULL);
}

static void free_rule(rule_t *r)
{
    free(r->message_zh);
    free(r->message_en);
    for (size_t i = 0; i < r->n_field_override; i++) {
        for (char **f = r->field_override[i]; f && *f; f++) {
            free(*f);
        }
        free(r->field_override[i]);
    }
}

/* "fields TYPE: a, b, c" */
static int parse_field_override(parser_t *p, rule_t *r, const char *type_name, char *value)
{
    Ft__RecordType t = record_type_parse(type_name);
    if (t == FT__RECORD_TYPE__RT_UNKNOWN) {
        return fail(p, p->line, "unknown record type \"%s\" after \"fields\"", type_name, NULL);
    }
    if (r->n_field_override >= RULES_MAX_TYPES) {
        return fail(p, p->line, "too many \"fields\" lines in one rule", NULL, NULL);
    }
    size_t cap = 1;
    for (const char *c = value; *c; c++) {
        cap += *c == ',';
    }
    char **list = calloc(cap + 1, sizeof *list);
    if (!list) {
        return FT_ENOMEM;
    }
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(value, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *name = trim(tok);
        if (*name) {
            list[n] = strdup(name);
            if (!list[n]) {
                break;
            }
            n++;
        }
    }
    r->field_override[r->n_field_override] = list;
    r->field_override_type[r->n_field_override] = t;
    r->n_field_override++;
    return FT_OK;
}

static int set_message(char **dst, const char *value)
{
    free(*dst);
    *dst = strdup(value);
    return *dst ? FT_OK : FT_ENOMEM;
}

/* Applies one "key: value" line to rule r. */
static int apply(parser_t *p, rule_t *r, char *key, char *value)
{
    for (char *c = key; *c; c++) {
        *c = (char)tolower((unsigned char)*c);
    }
    if (strcmp(key, "kind") == 0) {
        return parse_kind(p, value, &r->kind);
    }
    if (strcmp(key, "applies to") == 0) {
        return parse_types(p, value, &r->applies_to);
    }
    if (strcmp(key, "needs") == 0) {
        return parse_types(p, value, &r->needs);
    }
    if (strcmp(key, "for each") == 0) {
        return parse_types(p, value, &r->for_each);
    }
    if (strcmp(key, "within") == 0) {
        return parse_duration(p, value, &r->within_ms);
    }
    if (strcmp(key, "at least before") == 0) {
        return parse_duration(p, value, &r->min_before_ms);
    }
    if (strcmp(key, "min covered") == 0) {
        return parse_fraction(p, value, &r->min_covered);
    }
    if (strcmp(key, "max uncovered") == 0) {
        return parse_duration(p, value, &r->max_uncovered_ms);
    }
    if (strcmp(key, "min media") == 0) {
        int64_t v = 0;
        int err = parse_number(p, value, &v);
        r->min_media = (unsigned)v;
        return err;
    }
    if (strcmp(key, "min battery") == 0) {
        return parse_number(p, value, &r->min_battery_pct);
    }
    if (strcmp(key, "min free mb") == 0) {
        return parse_number(p, value, &r->min_free_mb);
    }
    if (strcmp(key, "grace") == 0) {
        return parse_duration(p, value, &r->grace_ms);
    }
    if (strcmp(key, "max offset") == 0) {
        return parse_duration(p, value, &r->max_offset_ms);
    }
    if (strcmp(key, "max silence") == 0) {
        return parse_duration(p, value, &r->max_silence_ms);
    }
    if (strcmp(key, "article") == 0) {
        if (strcasecmp(value, "per type") == 0) {
            r->article_per_type = true;
            return FT_OK;
        }
        utf8_copy(r->article, sizeof r->article, value);
        return FT_OK;
    }
    if (strcmp(key, "severity") == 0) {
        return parse_severity(p, value, &r->severity);
    }
    if (strcmp(key, "zh") == 0) {
        return set_message(&r->message_zh, value);
    }
    if (strcmp(key, "en") == 0) {
        return set_message(&r->message_en, value);
    }
    if (strcmp(key, "enabled") == 0) {
        if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0) {
            r->enabled = true;
            return FT_OK;
        }
        if (strcasecmp(value, "no") == 0 || strcasecmp(value, "false") == 0) {
            r->enabled = false;
            return FT_OK;
        }
        return fail(p, p->line, "enabled must be yes or no, not \"%s\"", value, NULL);
    }
    if (strncmp(key, "fields ", 7) == 0) {
        return parse_field_override(p, r, trim(key + 7), value);
    }
    return fail(p, p->line, "unknown setting \"%s\"", key, NULL);
}

/* Checks that a finished rule has what its kind needs. */
static int validate(parser_t *p, rule_t *r, bool kind_given)
{
    const char *id = r->id;
    if (!kind_given) {
        return fail(p, r->line, "rule %s has no \"kind:\" line", id, NULL);
    }
    if (!r->message_zh || !r->message_en) {
        return fail(p, r->line, "rule %s needs both a \"zh:\" and an \"en:\" message", id, NULL);
    }
    if (!r->article[0] && !r->article_per_type) {
        return fail(p, r->line, "rule %s needs an \"article:\" line", id, NULL);
    }
    const char *missing = NULL;
    switch (r->kind) {
    case RULE_COVERAGE:
        if (!r->applies_to.n && !r->applies_to.all) {
            missing = "applies to";
        } else if (r->min_covered <= 0 && r->min_media == 0 && r->max_uncovered_ms == 0) {
            missing = "min covered, max uncovered or min media";
        }
        break;
    case RULE_FIELDS:
        if (!r->applies_to.n && !r->applies_to.all) {
            missing = "applies to";
        }
        break;
    case RULE_FOLLOWED_BY:
        if (!r->applies_to.n && !r->applies_to.all) {
            missing = "applies to";
        } else if (!r->needs.n) {
            missing = "needs";
        } else if (r->within_ms <= 0) {
            missing = "within";
        }
        break;
    case RULE_PRECEDED_BY:
        if (!r->applies_to.n && !r->applies_to.all) {
            missing = "applies to";
        } else if (!r->needs.n) {
            missing = "needs";
        }
        break;
    case RULE_READINESS:
        if (!r->applies_to.n) {
            missing = "applies to";
        } else if (r->min_battery_pct <= 0 && r->min_free_mb <= 0) {
            missing = "min battery or min free mb";
        }
        break;
    case RULE_UNLINKED_MEDIA:
        if (r->grace_ms <= 0) {
            missing = "grace";
        }
        break;
    case RULE_CLOCK:
        if (r->max_offset_ms <= 0) {
            missing = "max offset";
        }
        break;
    case RULE_SILENCE:
        if (r->max_silence_ms <= 0) {
            missing = "max silence";
        }
        break;
    case RULE_INTEGRITY:
        if (!r->enabled) {
            return fail(p, r->line,
                        "rule %s: the integrity rule is built in and cannot be "
                        "disabled (Art. 24(2))",
                        id, NULL);
        }
        break;
    }
    if (missing) {
        char what[64];
        utf8_copy(what, sizeof what, missing);
        return fail(p, r->line, "rule %s needs \"%s:\"", id, what);
    }
    return FT_OK;
}

/* The built-in integrity rule, added when a pack does not restate it. */
static int add_integrity(rulepack_t *pack)
{
    rule_t *bigger = realloc(pack->rules, (pack->n + 1) * sizeof *bigger);
    if (!bigger) {
        return FT_ENOMEM;
    }
    pack->rules = bigger;
    rule_t *r = &pack->rules[pack->n];
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "integrity");
    r->kind = RULE_INTEGRITY;
    r->enabled = true;
    snprintf(r->article, sizeof r->article, "24(2)");
    r->severity = SEV_CRITICAL;
    r->message_zh = strdup("执法记录被删除、篡改或伪造的迹象：签名、哈希链、序号或媒体校验失败。");
    r->message_en = strdup("Evidence that enforcement records were deleted, altered or forged: a "
                           "signature, hash chain, sequence or media check failed.");
    if (!r->message_zh || !r->message_en) {
        free_rule(r);
        return FT_ENOMEM;
    }
    pack->n++;
    return FT_OK;
}

int rules_parse(const char *text, const char *source, rulepack_t **out, char *err, size_t errlen)
{
    *out = NULL;
    rulepack_t *pack = calloc(1, sizeof *pack);
    char *copy = strdup(text);
    if (!pack || !copy) {
        free(pack);
        free(copy);
        return FT_ENOMEM;
    }
    utf8_copy(pack->source, sizeof pack->source, source ? source : "rule pack");
    pack->text = strdup(text);
    if (!pack->text) {
        free(pack);
        free(copy);
        return FT_ENOMEM;
    }
    parser_t p = {.pack = pack, .source = pack->source, .err = err, .errlen = errlen};
    rule_t *cur = NULL;
    bool kind_given = false;
    int rc = FT_OK;
    char *line = copy;
    p.line = 0;
    while (line && rc == FT_OK) {
        char *next = strchr(line, '\n');
        if (next) {
            *next++ = '\0';
            if (*next == '\0') {
                next = NULL; /* no line after the final newline */
            }
        }
        p.line++;
        char *s = trim(line);
        line = next;
        if (!*s || *s == '#') {
            continue;
        }
        char *colon = strchr(s, ':');
        if (!colon) {
            rc = fail(&p, p.line, "expected \"name: value\", got \"%s\"", s, NULL);
            break;
        }
        *colon = '\0';
        char *key = trim(s);
        char *value = trim(colon + 1);
        if (strcasecmp(key, "rule") == 0) {
            if (cur) {
                rc = validate(&p, cur, kind_given);
                if (rc != FT_OK) {
                    break;
                }
            }
            if (!*value) {
                rc = fail(&p, p.line, "\"rule:\" needs a rule number or name", NULL, NULL);
                break;
            }
            for (size_t i = 0; i < pack->n; i++) {
                if (strcmp(pack->rules[i].id, value) == 0) {
                    char at[16];
                    snprintf(at, sizeof at, "%d", pack->rules[i].line);
                    rc = fail(&p, p.line, "rule %s is defined twice (first at line %s)", value, at);
                    break;
                }
            }
            if (rc != FT_OK) {
                break;
            }
            rule_t *bigger = realloc(pack->rules, (pack->n + 1) * sizeof *bigger);
            if (!bigger) {
                rc = FT_ENOMEM;
                break;
            }
            pack->rules = bigger;
            cur = &pack->rules[pack->n++];
            memset(cur, 0, sizeof *cur);
            utf8_copy(cur->id, sizeof cur->id, value);
            cur->enabled = true;
            cur->severity = SEV_MEDIUM;
            cur->line = p.line;
            kind_given = false;
            continue;
        }
        if (!cur) {
            rc = fail(&p, p.line, "\"%s:\" comes before the first \"rule:\" line", key, NULL);
            break;
        }
        if (!*value) {
            rc = fail(&p, p.line, "\"%s:\" has no value", key, NULL);
            break;
        }
        rc = apply(&p, cur, key, value);
        if (rc == FT_OK && strcasecmp(key, "kind") == 0) {
            kind_given = true;
        }
    }
    if (rc == FT_OK && cur) {
        rc = validate(&p, cur, kind_given);
    }
    if (rc == FT_OK && pack->n == 0) {
        rc = fail(&p, p.line, "the rule pack has no rules", NULL, NULL);
    }
    if (rc == FT_OK && !rules_find_kind(pack, RULE_INTEGRITY)) {
        rc = add_integrity(pack);
    }
    free(copy);
    if (rc != FT_OK) {
        rules_destroy(&pack);
        return rc;
    }
    *out = pack;
    return FT_OK;
}

int rules_load(const char *path, rulepack_t **out, char *err, size_t errlen)
{
    char *text = NULL;
    int rc = fsutil_read_all(path, &text, NULL);
    if (rc != FT_OK) {
        snprintf(err, errlen, "cannot read rule pack %s: %s", path, ft_strerror(rc));
        *out = NULL;
        return rc == FT_ENOTFOUND ? FT_ENOTFOUND : rc;
    }
    rc = rules_parse(text, path, out, err, errlen);
    free(text);
    return rc;
}

void rules_destroy(rulepack_t **pack_p)
{
    rulepack_t *pack = *pack_p;
    if (!pack) {
        return;
    }
    for (size_t i = 0; i < pack->n; i++) {
        free_rule(&pack->rules[i]);
    }
    free(pack->rules);
    free(pack->text);
    free(pack);
    *pack_p = NULL;
}

const char *const *rule_fields_for(const rule_t *r, Ft__RecordType t)
{
    for (size_t i = 0; i < r->n_field_override; i++) {
        if (r->field_override_type[i] == t) {
            return (const char *const *)r->field_override[i];
        }
    }
    return record_type_fields(t);
}

const rule_t *rules_find_kind(const rulepack_t *pack, rule_kind k)
{
    for (size_t i = 0; i < pack->n; i++) {
        if (pack->rules[i].kind == k && pack->rules[i].enabled) {
            return &pack->rules[i];
        }
    }
    return NULL;
}

bool rule_battery_low(const rule_t *r, double battery_pct)
{
    return r && r->kind == RULE_READINESS && r->min_battery_pct > 0 &&
           battery_pct < (double)r->min_battery_pct;
}

bool rule_storage_low(const rule_t *r, double free_mb)
{
    return r && r->kind == RULE_READINESS && r->min_free_mb > 0 && free_mb < (double)r->min_free_mb;
}

bool rule_clock_off(const rule_t *r, int64_t offset_ms)
{
    int64_t mag = offset_ms < 0 ? -offset_ms : offset_ms;
    return r && r->kind == RULE_CLOCK && mag > r->max_offset_ms;
}

bool rule_silent(const rule_t *r, int64_t last_seen_ms, int64_t since_ms, int64_t now_ms)
{
    int64_t from = last_seen_ms > 0 ? last_seen_ms : since_ms;
    return r && r->kind == RULE_SILENCE && r->max_silence_ms > 0 && from > 0 &&
           now_ms - from > r->max_silence_ms;
}
