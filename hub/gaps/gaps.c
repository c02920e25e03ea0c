/* gaps.c: evaluation of each rule kind over one case (see gaps.h).
 *
 * Per kind, for every non-superseded record S of an `applies to` type:
 *   coverage     S is an activity without media_unsuitable: linked media
 *                must cover >= min covered of its window, leave no stretch
 *                > max uncovered, and number >= min media.
 *   fields       every required `fields` entry of S's type is present.
 *   followed_by  once now > time(S) + within, a `needs` record with
 *                time >= time(S) must exist (a late one resolves the alert).
 *   preceded_by  a `needs` record with time <= time(S) - at least before; or
 *                with `for each`: every for-each record F before S has a
 *                `needs` record in [time(F), time(S)).
 *   readiness    battery_pct >= min battery and free_mb >= min free mb.
 */
#include "gaps.h"
#include "record.h"
#include "utf8.h"
#include "window.h"

#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void gap_alerts_free(gap_alerts_t *a)
{
    free(a->items);
    memset(a, 0, sizeof *a);
}

/* Adds an alert; the ID hashes rule, case and subject (or id_key, when the
 * subject's refs may change while the alert stays the same) so it is
 * stable. */
static int add_alert_keyed(gap_alerts_t *out, const rule_t *rule, const char *article,
                           const char *case_id, const char *subject, const char *id_key,
                           int64_t at_ms, const char *detail)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 16;
        gap_alert_t *bigger = realloc(out->items, cap * sizeof *bigger);
        if (!bigger) {
            return FT_ENOMEM;
        }
        out->items = bigger;
        out->cap = cap;
    }
    gap_alert_t *a = &out->items[out->n++];
    memset(a, 0, sizeof *a);
    a->rule = rule;
    /* Never cut inside a character (utf8.h); the detail, made by the
     * callers' snprintf, not left ending in a character that cut. */
    utf8_copy(a->article, sizeof a->article, article ? article : rule->article);
    utf8_copy(a->case_id, sizeof a->case_id, case_id);
    utf8_copy(a->subject, sizeof a->subject, subject);
    utf8_copy(a->detail, sizeof a->detail, detail);
    utf8_trim(a->detail);
    a->at_ms = at_ms;
    crypto_generichash_state st;
    uint8_t h[8];
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const uint8_t *)rule->id, strlen(rule->id) + 1);
    crypto_generichash_update(&st, (const uint8_t *)a->case_id, strlen(a->case_id) + 1);
    const char *key = id_key ? id_key : a->subject;
    crypto_generichash_update(&st, (const uint8_t *)key, strlen(key) + 1);
    crypto_generichash_final(&st, h, sizeof h);
    sodium_bin2hex(a->id, sizeof a->id, h, sizeof h);
    return FT_OK;
}

static int add_alert(gap_alerts_t *out, const rule_t *rule, const char *article,
                     const char *case_id, const char *subject, int64_t at_ms, const char *detail)
{
    return add_alert_keyed(out, rule, article, case_id, subject, NULL, at_ms, detail);
}

/* The structured detail of the alert just added (err: add_alert's answer):
 * the template and its arguments (taken; strings escaped where they are not
 * valid UTF-8). Arguments that do not fit are left out whole: the text
 * detail still says everything. */
static int with_args(int err, gap_alerts_t *out, const char *tpl, json_t *args)
{
    if (err == FT_OK && out->n > 0 && args) {
        gap_alert_t *a = &out->items[out->n - 1];
        snprintf(a->detail_tpl, sizeof a->detail_tpl, "%s", tpl);
        char *text = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
        if (text && strlen(text) < sizeof a->detail_args) {
            memcpy(a->detail_args, text, strlen(text) + 1);
        } else {
            snprintf(a->detail_args, sizeof a->detail_args, "{}");
        }
        free(text);
    }
    json_decref(args);
    return err;
}

static json_t *text_arg(const char *s)
{
    return utf8_json_string(s ? s : "");
}

/* The officers of alerts first..out->n (those just added for one subject). */
static void set_officers(gap_alerts_t *out, size_t first, char *const *officers, size_t n)
{
    for (size_t k = first; k < out->n; k++) {
        char *o = out->items[k].officers;
        size_t cap = sizeof out->items[k].officers, used = 0;
        for (size_t i = 0; i < n; i++) {
            size_t l = officers[i] ? strlen(officers[i]) : 0;
            if (!l || memchr(officers[i], '\n', l) || used + l + 2 > cap) {
                continue; /* one that does not fit is left out, never cut */
            }
            memcpy(o + used, officers[i], l);
            used += l;
            o[used++] = '\n';
            o[used] = '\0';
        }
    }
}

static bool str_in(const char *s, char *const *list, size_t n)
{
    if (!s || !*s) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (list[i] && strcmp(list[i], s) == 0) {
            return true;
        }
    }
    return false;
}

gap_activity_t gaps_activity_of(const gap_record_t *r)
{
    const Ft__Record *rec = r->rec;
    return (gap_activity_t){.media = rec->media,
                            .n_media = rec->n_media,
                            .officers = rec->officers,
                            .n_officers = rec->n_officers,
                            .recorders = rec->recorders,
                            .n_recorders = rec->n_recorders,
                            .start_ms = r->start_ms,
                            .end_ms = r->end_ms};
}

bool gaps_clip_covers(const gap_activity_t *a, const gap_media_t *m, gap_span_t *span)
{
    bool overlaps = window_overlaps(m->start_ms, m->end_ms, a->start_ms, a->end_ms);
    bool linked = str_in(m->media_id, a->media, a->n_media) ||
                  (overlaps && (str_in(m->officer, a->officers, a->n_officers) ||
                                str_in(m->recorder, a->recorders, a->n_recorders)));
    if (span) {
        *span = (gap_span_t){a->start_ms, a->start_ms};
        if (linked && overlaps) {
            span->a_ms = m->start_ms > a->start_ms ? m->start_ms : a->start_ms;
            span->b_ms = m->end_ms < a->end_ms ? m->end_ms : a->end_ms;
            if (span->b_ms < span->a_ms) {
                span->b_ms = span->a_ms; /* an instant held by the clip */
            }
        }
    }
    return linked;
}

bool gaps_media_links(const gap_record_t *r, const gap_media_t *m)
{
    gap_activity_t a = gaps_activity_of(r);
    return gaps_clip_covers(&a, m, NULL);
}

/* An interval for the coverage sweep. */
typedef struct {
    int64_t a, b;
} span_t;

static int span_cmp(const void *x, const void *y)
{
    const span_t *p = x, *q = y;
    return (p->a > q->a) - (p->a < q->a);
}

/* The sweep over r's window that gaps_coverage and gaps_uncovered share:
 * the linked items, the share covered, the longest uncovered stretch, and
 * (when out is not NULL) the uncovered stretches, at most max of them
 * written, *n_out how many there are. FT_OK, FT_ENOMEM (nothing concluded). */
static int sweep(const gap_record_t *r, const gap_media_t *media, size_t n_media,
                 size_t *linked_out, double *covered, int64_t *longest_gap_ms, gap_span_t *out,
                 size_t max, size_t *n_out, int64_t *total_ms)
{
    size_t linked = 0, holes = 0;
    span_t *spans = malloc((n_media ? n_media : 1) * sizeof *spans);
    if (!spans) {
        return FT_ENOMEM; /* no memory is no verdict: never "not covered" */
    }
    size_t n = 0;
    gap_activity_t act = gaps_activity_of(r);
    for (size_t i = 0; i < n_media; i++) {
        gap_span_t sp;
        if (!gaps_clip_covers(&act, &media[i], &sp)) {
            continue;
        }
        linked++;
        /* A clip cited by ID may lie outside the window: it covers nothing. */
        if (!window_overlaps(media[i].start_ms, media[i].end_ms, r->start_ms, r->end_ms)) {
            continue;
        }
        spans[n].a = sp.a_ms;
        spans[n].b = sp.b_ms;
        n++;
    }
    *linked_out = linked;
    int64_t window = r->end_ms - r->start_ms;
    if (window <= 0) {
        *covered = n > 0 ? 1.0 : 0.0;
        *longest_gap_ms = 0;
        if (total_ms) {
            *total_ms = 0;
        }
        free(spans);
        if (n_out) {
            *n_out = 0;
        }
        return FT_OK;
    }
    if (n > 1) {
        qsort(spans, n, sizeof *spans, span_cmp);
    }
    int64_t cursor = r->start_ms, total = 0, longest = 0;
    for (size_t i = 0; i < n; i++) {
        if (spans[i].a > cursor) {
            longest = spans[i].a - cursor > longest ? spans[i].a - cursor : longest;
            if (out && holes < max) {
                out[holes] = (gap_span_t){cursor, spans[i].a};
            }
            holes++;
            cursor = spans[i].a;
        }
        if (spans[i].b > cursor) {
            total += spans[i].b - cursor;
            cursor = spans[i].b;
        }
    }
    if (r->end_ms > cursor) {
        longest = r->end_ms - cursor > longest ? r->end_ms - cursor : longest;
        if (out && holes < max) {
            out[holes] = (gap_span_t){cursor, r->end_ms};
        }
        holes++;
    }
    free(spans);
    *covered = (double)total / (double)window;
    *longest_gap_ms = longest;
    if (total_ms) {
        *total_ms = total;
    }
    if (n_out) {
        *n_out = holes;
    }
    return FT_OK;
}

int gaps_coverage(const gap_record_t *r, const gap_media_t *media, size_t n_media,
                  size_t *linked_out, double *covered, int64_t *longest_gap_ms)
{
    return sweep(r, media, n_media, linked_out, covered, longest_gap_ms, NULL, 0, NULL, NULL);
}

int gaps_covered_ms(const gap_record_t *r, const gap_media_t *media, size_t n_media,
                    int64_t *covered_ms)
{
    double covered = 0;
    int64_t longest = 0;
    size_t linked = 0;
    *covered_ms = 0;
    return sweep(r, media, n_media, &linked, &covered, &longest, NULL, 0, NULL, covered_ms);
}

int gaps_uncovered(const gap_record_t *r, const gap_media_t *media, size_t n_media, gap_span_t *out,
                   size_t max, size_t *n_holes)
{
    double covered = 0;
    int64_t longest = 0;
    size_t linked = 0;
    *n_holes = 0;
    return sweep(r, media, n_media, &linked, &covered, &longest, out, max, n_holes, NULL);
}

/* True if record i is replaced by a later amendment in the case. */
static bool superseded(const gap_case_t *c, size_t i)
{
    const char *id = c->records[i].rec->id;
    if (!id || !*id) {
        return false;
    }
    for (size_t j = 0; j < c->n_records; j++) {
        const char *amends = c->records[j].rec->amends;
        if (j != i && amends && strcmp(amends, id) == 0) {
            return true;
        }
    }
    return false;
}

static void fmt_duration(int64_t ms, char *buf, size_t len)
{
    if (ms >= 86400000 && ms % 86400000 == 0) {
        snprintf(buf, len, "%lld d", (long long)(ms / 86400000));
    } else if (ms >= 3600000) {
        snprintf(buf, len, "%.1f h", (double)ms / 3600000.0);
    } else if (ms >= 60000) {
        snprintf(buf, len, "%.1f min", (double)ms / 60000.0);
    } else {
        snprintf(buf, len, "%lld s", (long long)(ms / 1000));
    }
}

static int eval_coverage(const rule_t *rule, const gap_case_t *c, const gap_record_t *r,
                         gap_alerts_t *out)
{
    const Ft__Record *rec = r->rec;
    if (!record_type_is_activity(rec->type) ||
        (rec->media_unsuitable && rec->media_unsuitable[0])) {
        return FT_OK;
    }
    double covered = 0;
    int64_t longest = 0;
    size_t linked = 0;
    int err = gaps_coverage(r, c->media, c->n_media, &linked, &covered, &longest);
    if (err != FT_OK) {
        return err;
    }
    char detail[320], gap[32];
    fmt_duration(longest, gap, sizeof gap);
    bool short_share = rule->min_covered > 0 && covered + 1e-9 < rule->min_covered;
    bool long_gap = rule->max_uncovered_ms > 0 && longest > rule->max_uncovered_ms;
    bool few = rule->min_media > 0 && linked < rule->min_media;
    if (!short_share && !long_gap && !few) {
        return FT_OK;
    }
    snprintf(detail, sizeof detail,
             "%s: media cover %.0f%% of the activity (%zu item%s linked), longest uncovered "
             "stretch %s",
             record_type_name(rec->type), floor(covered * 100.0), linked, linked == 1 ? "" : "s",
             gap);
    return with_args(
        add_alert(out, rule, NULL, c->case_id, r->ref, r->end_ms, detail), out, "coverage",
        json_pack("{s:s, s:f, s:I, s:I, s:I}", "type", record_type_name(rec->type), "pct",
                  floor(covered * 100.0), "linked", (json_int_t)linked, "longest_ms",
                  (json_int_t)longest, "window_ms", (json_int_t)(r->end_ms - r->start_ms)));
}

static int eval_fields(const rule_t *rule, const gap_case_t *c, const gap_record_t *r,
                       gap_alerts_t *out)
{
    const char *const *need = rule_fields_for(rule, r->rec->type);
    char missing[256] = "";
    size_t used = 0;
    json_t *list = json_array();
    for (; need && *need; need++) {
        if (!record_field_present(r->rec, *need)) {
            json_array_append_new(list, text_arg(*need));
            int n =
                snprintf(missing + used, sizeof missing - used, "%s%s", used ? ", " : "", *need);
            if (n > 0 && used + (size_t)n < sizeof missing) {
                used += (size_t)n;
            }
        }
    }
    if (!used) {
        json_decref(list);
        return FT_OK;
    }
    char detail[320];
    snprintf(detail, sizeof detail, "%s lacks: %s", record_type_name(r->rec->type), missing);
    const char *article = rule->article_per_type ? record_type_article(r->rec->type) : NULL;
    return with_args(
        add_alert(out, rule, article, c->case_id, r->ref, r->time_ms, detail), out, "fields",
        json_pack("{s:s, s:o}", "type", record_type_name(r->rec->type), "missing", list));
}

/* True if the case has a non-superseded record of a type in set with time in [from, to]. */
static bool has_record(const gap_case_t *c, const type_set_t *set, int64_t from, int64_t to)
{
    for (size_t j = 0; j < c->n_records; j++) {
        const gap_record_t *x = &c->records[j];
        if (type_set_has(set, x->rec->type) && x->time_ms >= from && x->time_ms <= to &&
            !superseded(c, j)) {
            return true;
        }
    }
    return false;
}

static int eval_followed_by(const rule_t *rule, const gap_case_t *c, const gap_record_t *r,
                            int64_t now_ms, gap_alerts_t *out)
{
    int64_t deadline = r->time_ms + rule->within_ms;
    if (now_ms <= deadline || has_record(c, &rule->needs, r->time_ms, INT64_MAX)) {
        return FT_OK;
    }
    char detail[320], within[32];
    fmt_duration(rule->within_ms, within, sizeof within);
    snprintf(detail, sizeof detail, "%s has no %s%s within %s", record_type_name(r->rec->type),
             record_type_name(rule->needs.types[0]), rule->needs.n > 1 ? " (or equivalent)" : "",
             within);
    return with_args(add_alert(out, rule, NULL, c->case_id, r->ref, deadline, detail), out,
                     "followed_by",
                     json_pack("{s:s, s:s, s:b, s:I}", "type", record_type_name(r->rec->type),
                               "needs", record_type_name(rule->needs.types[0]), "or_equivalent",
                               rule->needs.n > 1, "within_ms", (json_int_t)rule->within_ms));
}

static int eval_preceded_by(const rule_t *rule, const gap_case_t *c, const gap_record_t *r,
                            gap_alerts_t *out)
{
    char detail[320];
    if (rule->for_each.n == 0) {
        if (has_record(c, &rule->needs, INT64_MIN, r->time_ms - rule->min_before_ms)) {
            return FT_OK;
        }
        char before[48] = "";
        if (rule->min_before_ms > 0) {
            char d[24];
            fmt_duration(rule->min_before_ms, d, sizeof d);
            snprintf(before, sizeof before, " at least %s", d);
        }
        snprintf(detail, sizeof detail, "%s has no %s%s before it", record_type_name(r->rec->type),
                 record_type_name(rule->needs.types[0]), before);
        return with_args(add_alert(out, rule, NULL, c->case_id, r->ref, r->time_ms, detail), out,
                         "preceded_by",
                         json_pack("{s:s, s:s, s:I}", "type", record_type_name(r->rec->type),
                                   "needs", record_type_name(rule->needs.types[0]), "before_ms",
                                   (json_int_t)rule->min_before_ms));
    }
    for (size_t j = 0; j < c->n_records; j++) {
        const gap_record_t *f = &c->records[j];
        if (!type_set_has(&rule->for_each, f->rec->type) || f->time_ms >= r->time_ms ||
            superseded(c, j)) {
            continue;
        }
        if (has_record(c, &rule->needs, f->time_ms, r->time_ms - 1)) {
            continue;
        }
        char subject[192];
        snprintf(subject, sizeof subject, "%s>%s", f->ref, r->ref);
        snprintf(detail, sizeof detail, "%s before the %s has no %s",
                 record_type_name(f->rec->type), record_type_name(r->rec->type),
                 record_type_name(rule->needs.types[0]));
        int err = with_args(add_alert(out, rule, NULL, c->case_id, subject, r->time_ms, detail),
                            out, "preceded_each",
                            json_pack("{s:s, s:s, s:s}", "each", record_type_name(f->rec->type),
                                      "type", record_type_name(r->rec->type), "needs",
                                      record_type_name(rule->needs.types[0])));
        if (err != FT_OK) {
            return err;
        }
    }
    return FT_OK;
}

/* A numeric `fields` value (number, or text holding a number); false if absent. */
static bool field_number(const Ft__Record *rec, const char *key, double *out)
{
    const Ft__FieldValue *v = record_field(rec, key);
    if (!v) {
        return false;
    }
    if (v->value_case == FT__FIELD_VALUE__VALUE_NUMBER) {
        *out = v->number;
        return true;
    }
    if (v->value_case == FT__FIELD_VALUE__VALUE_TEXT && v->text) {
        char *end = NULL;
        *out = strtod(v->text, &end);
        return end != v->text && *end == '\0';
    }
    return false;
}

static int eval_readiness(const rule_t *rule, const gap_case_t *c, const gap_record_t *r,
                          gap_alerts_t *out)
{
    double battery = 0, free_mb = 0;
    bool has_b = field_number(r->rec, "battery_pct", &battery);
    bool has_f = field_number(r->rec, "free_mb", &free_mb);
    bool low_b = has_b && rule_battery_low(rule, battery);
    bool low_f = has_f && rule_storage_low(rule, free_mb);
    if (!low_b && !low_f) {
        return FT_OK;
    }
    const Ft__FieldValue *rv = record_field(r->rec, "recorder");
    char detail[320];
    snprintf(detail, sizeof detail,
             "recorder %s: battery %.0f%% (minimum %lld%%), free %.0f MB "
             "(minimum %lld MB)",
             rv && rv->value_case == FT__FIELD_VALUE__VALUE_TEXT ? rv->text : "?", battery,
             (long long)rule->min_battery_pct, free_mb, (long long)rule->min_free_mb);
    return with_args(
        add_alert(out, rule, NULL, c->case_id, r->ref, r->time_ms, detail), out, "readiness",
        json_pack("{s:o, s:f, s:I, s:f, s:I, s:b, s:b}", "recorder",
                  text_arg(rv && rv->value_case == FT__FIELD_VALUE__VALUE_TEXT ? rv->text : "?"),
                  "battery_pct", battery, "min_battery_pct", (json_int_t)rule->min_battery_pct,
                  "free_mb", free_mb, "min_free_mb", (json_int_t)rule->min_free_mb, "battery_low",
                  low_b, "storage_low", low_f));
}

/* The same record id with other content from another entry (identity.h):
 * the built-in integrity rule, keyed by the conflict so that it is the same
 * alert whichever version arrived first. It never resolves: both entries
 * stay, and so does the conflict, even after an amendment replaces them. */
static int eval_conflicts(const rulepack_t *pack, const gap_case_t *c, gap_alerts_t *out)
{
    const rule_t *rule = rules_find_kind(pack, RULE_INTEGRITY);
    for (size_t i = 0; rule && i < c->n_conflicts; i++) {
        const gap_conflict_t *k = &c->conflicts[i];
        char subject[192], detail[320];
        snprintf(subject, sizeof subject, "%s>%s", k->ref_a, k->ref_b);
        snprintf(detail, sizeof detail,
                 "record %.64s: two versions with different content, neither amending the "
                 "other (%s and %s); the case is evaluated with the earlier until an amendment "
                 "settles it",
                 k->id, k->ref_a, k->ref_b);
        int err = with_args(
            add_alert_keyed(out, rule, NULL, c->case_id, subject, k->key, k->at_ms, detail), out,
            "conflict",
            json_pack("{s:o, s:s, s:s}", "id", text_arg(k->id), "ref_a", k->ref_a, "ref_b",
                      k->ref_b));
        if (err != FT_OK) {
            return err;
        }
    }
    return FT_OK;
}

int gaps_eval_case(const rulepack_t *pack, const gap_case_t *c, int64_t now_ms, gap_alerts_t *out)
{
    int cerr = eval_conflicts(pack, c, out);
    if (cerr != FT_OK) {
        return cerr;
    }
    for (size_t ri = 0; ri < pack->n; ri++) {
        const rule_t *rule = &pack->rules[ri];
        if (!rule->enabled) {
            continue;
        }
        for (size_t i = 0; i < c->n_records; i++) {
            const gap_record_t *r = &c->records[i];
            if (!type_set_has(&rule->applies_to, r->rec->type) || superseded(c, i)) {
                continue;
            }
            int err = FT_OK;
            size_t before = out->n;
            switch (rule->kind) {
            case RULE_COVERAGE:
                err = eval_coverage(rule, c, r, out);
                break;
            case RULE_FIELDS:
                err = eval_fields(rule, c, r, out);
                break;
            case RULE_FOLLOWED_BY:
                err = eval_followed_by(rule, c, r, now_ms, out);
                break;
            case RULE_PRECEDED_BY:
                err = eval_preceded_by(rule, c, r, out);
                break;
            case RULE_READINESS:
                err = eval_readiness(rule, c, r, out);
                break;
            default:
                break; /* media, clock and integrity rules are not per record */
            }
            if (err != FT_OK) {
                return err;
            }
            set_officers(out, before, r->rec->officers, r->rec->n_officers);
        }
    }
    return FT_OK;
}

size_t gaps_pending(const rulepack_t *pack, const gap_case_t *c, int64_t now_ms, gap_pending_t *out,
                    size_t max)
{
    size_t n = 0;
    for (size_t ri = 0; ri < pack->n; ri++) {
        const rule_t *rule = &pack->rules[ri];
        if (!rule->enabled || rule->kind != RULE_FOLLOWED_BY) {
            continue;
        }
        for (size_t i = 0; i < c->n_records; i++) {
            const gap_record_t *r = &c->records[i];
            if (!type_set_has(&rule->applies_to, r->rec->type) || superseded(c, i)) {
                continue;
            }
            int64_t deadline = r->time_ms + rule->within_ms;
            if (now_ms > deadline || has_record(c, &rule->needs, r->time_ms, INT64_MAX)) {
                continue; /* overdue (an alert) or done */
            }
            if (out && n < max) {
                out[n] = (gap_pending_t){rule, r, deadline};
            }
            n++;
        }
    }
    return n;
}

int64_t gaps_next_deadline(const rulepack_t *pack, const gap_case_t *c, int64_t now_ms)
{
    int64_t next = INT64_MAX;
    for (size_t ri = 0; ri < pack->n; ri++) {
        const rule_t *rule = &pack->rules[ri];
        if (!rule->enabled || rule->kind != RULE_FOLLOWED_BY) {
            continue;
        }
        for (size_t i = 0; i < c->n_records; i++) {
            const gap_record_t *r = &c->records[i];
            if (!type_set_has(&rule->applies_to, r->rec->type)) {
                continue;
            }
            int64_t deadline = r->time_ms + rule->within_ms;
            if (deadline >= now_ms && deadline < next) {
                next = deadline + 1;
            }
        }
    }
    return next;
}

int gaps_eval_media(const rulepack_t *pack, const gap_media_t *m, bool linked, int64_t now_ms,
                    gap_alerts_t *out)
{
    const rule_t *rule = rules_find_kind(pack, RULE_UNLINKED_MEDIA);
    if (!rule || linked || (m->case_id && m->case_id[0])) {
        return FT_OK;
    }
    int64_t due = m->end_ms + rule->grace_ms;
    if (now_ms <= due) {
        return FT_OK;
    }
    char detail[320], grace[32];
    fmt_duration(rule->grace_ms, grace, sizeof grace);
    snprintf(detail, sizeof detail,
             "media %s (recorder %s, officer %s) is tied to no case or activity %s after capture",
             m->media_id ? m->media_id : "?", m->recorder ? m->recorder : "?",
             m->officer ? m->officer : "?", grace);
    size_t before = out->n;
    int err = with_args(add_alert(out, rule, NULL, "", m->ref, due, detail), out, "unlinked_media",
                        json_pack("{s:o, s:o, s:o, s:I}", "media", text_arg(m->media_id),
                                  "recorder", text_arg(m->recorder), "officer",
                                  text_arg(m->officer), "grace_ms", (json_int_t)rule->grace_ms));
    char *officer[1] = {(char *)m->officer};
    if (err == FT_OK) {
        set_officers(out, before, officer, m->officer ? 1 : 0);
    }
    return err;
}

int gaps_eval_clock(const rulepack_t *pack, const char *device, int64_t offset_ms, int64_t at_ms,
                    gap_alerts_t *out)
{
    const rule_t *rule = rules_find_kind(pack, RULE_CLOCK);
    if (!rule_clock_off(rule, offset_ms)) {
        return FT_OK;
    }
    char detail[320];
    snprintf(detail, sizeof detail, "device %s clock is %+.1f s off the hub's (limit %lld s)",
             device, (double)offset_ms / 1000.0, (long long)(rule->max_offset_ms / 1000));
    return with_args(add_alert(out, rule, NULL, "", device, at_ms, detail), out, "clock",
                     json_pack("{s:o, s:I, s:I}", "device", text_arg(device), "offset_ms",
                               (json_int_t)offset_ms, "limit_ms", (json_int_t)rule->max_offset_ms));
}

int gaps_eval_silence(const rulepack_t *pack, const char *device, const char *vehicle,
                      int64_t last_seen_ms, int64_t since_ms, int64_t now_ms, gap_alerts_t *out)
{
    const rule_t *rule = rules_find_kind(pack, RULE_SILENCE);
    if (!rule_silent(rule, last_seen_ms, since_ms, now_ms)) {
        return FT_OK;
    }
    int64_t from = last_seen_ms > 0 ? last_seen_ms : since_ms;
    char detail[320], since[40];
    time_t secs = (time_t)(from / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(since, sizeof since, "%Y-%m-%d %H:%M UTC", &tm);
    snprintf(detail, sizeof detail, "device %s (vehicle %s) %s since %s (limit %lld h)", device,
             vehicle && *vehicle ? vehicle : "?", last_seen_ms > 0 ? "silent" : "never heard from",
             since, (long long)(rule->max_silence_ms / 3600000));
    return with_args(
        add_alert(out, rule, NULL, "", device, from + rule->max_silence_ms, detail), out, "silence",
        json_pack("{s:o, s:o, s:I, s:I, s:I}", "device", text_arg(device), "vehicle",
                  text_arg(vehicle), "last_seen_ms", (json_int_t)last_seen_ms, "since_ms",
                  (json_int_t)from, "limit_ms", (json_int_t)rule->max_silence_ms));
}

int gaps_integrity(const rulepack_t *pack, const char *device, const char *reason,
                   const char *subject, const char *detail, int64_t at_ms, gap_alerts_t *out)
{
    const rule_t *rule = rules_find_kind(pack, RULE_INTEGRITY);
    if (!rule) {
        return FT_EINVAL; /* rules_parse always adds it */
    }
    char text[320];
    snprintf(text, sizeof text, "device %s: %s%s%s", device, reason, detail ? ": " : "",
             detail ? detail : "");
    return with_args(
        add_alert(out, rule, NULL, "", subject, at_ms, text), out, "integrity",
        json_pack("{s:o, s:o}", "device", text_arg(device), "reason", text_arg(reason)));
}
