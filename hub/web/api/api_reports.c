/* api_reports.c: search by the Art. 10 classification, and compliance.
 *
 *   GET /api/search?unit=&recorder=&officer=&cause=&party=&case=&type=&kind=
 *                   &from=&to=&q=&limit=
 *       records and media whose fields contain each given text (times are
 *       RFC 3339 or Unix ms; the item's window must meet [from, to])
 *   GET /api/compliance?from=&to=&unit=   (supervisor)
 *       per unit and per officer: activities, their minutes, the share of
 *       those minutes covered by media, media items, alerts by article
 *
 * No state of its own: it reads the catalog, the coverage of its items and
 * the alert view (web_shared_t).
 */
#include "api_reports.h"
#include "coverage.h"
#include "httpparse.h"
#include "itemjson.h"
#include "record.h"
#include "utf8.h"
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses a time argument: RFC 3339 or Unix ms. */
static bool time_arg(const web_req_t *r, const char *name, int64_t *out)
{
    return httpparse_time(web_query(r, name), out);
}

static bool has(const char *hay, const char *needle)
{
    return !needle || (hay && strcasestr(hay, needle) != NULL);
}

static bool any_text(const cat_item_t *it, const char *q)
{
    if (!q) {
        return true;
    }
    const char *fields[] = {it->id,       it->case_id,   it->cause, it->party, it->unit,
                            it->officers, it->recorders, it->type,  it->ref,   it->device};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (fields[i] && strcasestr(fields[i], q)) {
            return true;
        }
    }
    return false;
}

static json_int_t sort_time(const json_t *o)
{
    json_int_t s = json_integer_value(json_object_get(o, "start_ms"));
    return s ? s : json_integer_value(json_object_get(o, "time_ms"));
}

static int newest_cmp(const void *x, const void *y)
{
    json_int_t a = sort_time(*(json_t *const *)x), b = sort_time(*(json_t *const *)y);
    return a < b ? 1 : a > b ? -1 : 0;
}

/* The first limit items of arr by time, newest first (takes arr). */
static json_t *newest_first(json_t *arr, size_t limit)
{
    size_t n = json_array_size(arr);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    if (!v) {
        return arr;
    }
    for (size_t i = 0; i < n; i++) {
        v[i] = json_array_get(arr, i);
    }
    qsort(v, n, sizeof *v, newest_cmp);
    json_t *out = json_array();
    for (size_t i = 0; i < n && i < limit; i++) {
        json_array_append(out, v[i]);
    }
    free(v);
    json_decref(arr);
    return out;
}

static void search(web_req_t *r)
{
    const char *unit = web_query(r, "unit"), *recorder = web_query(r, "recorder");
    const char *officer = web_query(r, "officer"), *cause = web_query(r, "cause");
    const char *party = web_query(r, "party"), *case_id = web_query(r, "case");
    const char *type = web_query(r, "type"), *kind = web_query(r, "kind");
    const char *q = web_query(r, "q");
    long long limit = web_query_int(r, "limit", 200, 1, 5000);
    int64_t from = 0, to = INT64_MAX;
    bool has_from = time_arg(r, "from", &from), has_to = time_arg(r, "to", &to);
    if ((web_query(r, "from") && !has_from) || (web_query(r, "to") && !has_to)) {
        web_error(r, 400, "bad_request", "from and to are RFC 3339 times, dates or Unix ms");
        return;
    }
    bool want_records = !kind || strcmp(kind, "record") == 0 || strcmp(kind, "all") == 0;
    bool want_media = !kind || strcmp(kind, "media") == 0 || strcmp(kind, "all") == 0;
    json_t *out = json_array();
    size_t total = 0;
    bool failed = false;
    catalog_read(r->sh->catalog);
    size_t n;
    const cat_item_t *items = catalog_items(r->sh->catalog, &n);
    for (size_t i = n; i-- > 0 && !failed;) {
        const cat_item_t *it = &items[i];
        if (!((it->kind == CAT_RECORD && want_records && it->role != IDENT_WITNESS) ||
              (it->kind == CAT_MEDIA && want_media && !it->superseded))) {
            continue;
        }
        int64_t a = it->start_ms ? it->start_ms : it->time_ms;
        int64_t b = it->end_ms ? it->end_ms : it->time_ms;
        if (b < from || a > to) {
            continue;
        }
        if (!has(it->unit, unit) || !has(it->recorders, recorder) || !has(it->officers, officer) ||
            !has(it->cause, cause) || !has(it->party, party) || !has(it->case_id, case_id) ||
            (type && (!it->type || strcmp(it->type, type) != 0)) || !any_text(it, q)) {
            continue;
        }
        total++;
        json_t *o = cat_item_json(it);
        json_object_del(o, "body");
        /* an item that cannot be shown fails the search (500), never leaves
         * it out (cat_item_json logged why) */
        failed = json_array_append_new(out, o) != 0;
    }
    catalog_done(r->sh->catalog);
    if (failed) {
        json_decref(out);
        web_error(r, 500, "internal", "an item found cannot be shown (out of memory)");
        return;
    }
    out = newest_first(out, (size_t)limit);
    web_json(r, 200,
             json_pack("{s:o, s:I, s:b}", "items", out, "total", (json_int_t)total, "truncated",
                       (long long)total > limit));
}

/* Per-group figures. */
static json_t *group_get(json_t *groups, const char *name)
{
    json_t *g = json_object_get(groups, name);
    if (!g) {
        g = json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:{}}", "name", utf8_json_string(name),
                      "activities", (json_int_t)0, "activity_ms", (json_int_t)0, "covered_ms",
                      (json_int_t)0, "exempt", (json_int_t)0, "media", (json_int_t)0, "records",
                      (json_int_t)0, "alerts_by_article");
        json_object_set_new(groups, name, g);
    }
    return g;
}

static void add_int(json_t *o, const char *key, long long v)
{
    json_object_set_new(o, key, json_integer(json_integer_value(json_object_get(o, key)) + v));
}

typedef struct {
    json_t *units, *officers;
    json_t *case_units; /* case -> unit */
    int64_t from, to;
    const char *unit;
    json_t *articles;     /* article -> count, all units */
    json_t *ref_officers; /* record ref -> its officers (for alerts per officer) */
} comp_t;

static void comp_free(comp_t *c)
{
    json_decref(c->units);
    json_decref(c->officers);
    json_decref(c->case_units);
    json_decref(c->articles);
    json_decref(c->ref_officers);
}

static void comp_alert(void *ctx, const json_t *a)
{
    comp_t *c = ctx;
    int64_t at = json_integer_value(json_object_get(a, "opened_ms"));
    if (at < c->from || at > c->to) {
        return;
    }
    const char *art = json_string_value(json_object_get(a, "article"));
    const char *case_id = json_string_value(json_object_get(a, "case"));
    const char *unit = json_string_value(json_object_get(a, "unit"));
    if (!unit || !*unit) {
        unit = case_id ? json_string_value(json_object_get(c->case_units, case_id)) : NULL;
    }
    if (!unit || !*unit || (c->unit && strcmp(c->unit, unit) != 0)) {
        return;
    }
    art = art && *art ? art : "?";
    add_int(c->articles, art, 1);
    json_t *g = group_get(c->units, unit);
    add_int(json_object_get(g, "alerts_by_article"), art, 1);
    add_int(g, "alerts", 1);
    /* The officers of the records the alert concerns. */
    size_t i;
    json_t *ref;
    json_t *seen = json_object();
    json_array_foreach(json_object_get(a, "records"), i, ref)
    {
        const char *officers = json_string_value(
            json_object_get(c->ref_officers, json_string_value(ref) ? json_string_value(ref) : ""));
        char *copy = officers ? strdup(officers) : NULL, *save = NULL;
        for (char *o = copy ? strtok_r(copy, ", ", &save) : NULL; o;
             o = strtok_r(NULL, ", ", &save)) {
            if (json_object_get(seen, o)) {
                continue;
            }
            json_object_set_new(seen, o, json_true());
            json_t *og = json_object_get(c->officers, o);
            if (og) {
                add_int(json_object_get(og, "alerts_by_article"), art, 1);
                add_int(og, "alerts", 1);
            }
        }
        free(copy);
    }
    json_decref(seen);
}

static void finish(json_t *groups, json_t *out)
{
    const char *k;
    json_t *g;
    json_object_foreach(groups, k, g)
    {
        json_int_t act = json_integer_value(json_object_get(g, "activity_ms"));
        json_int_t cov = json_integer_value(json_object_get(g, "covered_ms"));
        json_object_set_new(g, "share_covered",
                            act > 0 ? json_real((double)cov / (double)act) : json_null());
        if (!json_object_get(g, "alerts")) {
            json_object_set_new(g, "alerts", json_integer(0));
        }
        json_array_append(out, g);
    }
}

/* The shares of a window the loaded rule pack's coverage rules ask for
 * (each enabled coverage rule's `min covered`), distinct and ascending: the
 * page marks a share below the lowest as low and below the highest as
 * short, from the pack the hub runs, never from numbers of its own. */
static json_t *min_covered(const rulepack_t *pack)
{
    double v[64];
    size_t n = 0;
    for (size_t i = 0; pack && i < pack->n && n < sizeof v / sizeof v[0]; i++) {
        const rule_t *rule = &pack->rules[i];
        if (rule->kind != RULE_COVERAGE || !rule->enabled || rule->min_covered <= 0) {
            continue;
        }
        size_t k = 0;
        while (k < n && v[k] < rule->min_covered) {
            k++;
        }
        if (k < n && v[k] == rule->min_covered) {
            continue;
        }
        memmove(&v[k + 1], &v[k], (n - k) * sizeof v[0]);
        v[k] = rule->min_covered;
        n++;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, json_real(v[i]));
    }
    return a;
}

/* Whether the loaded pack checks the media of an activity of this type at
 * all: an enabled coverage rule lists it (the engine evaluates no other). */
static bool coverage_checked(const rulepack_t *pack, const char *type)
{
    Ft__RecordType t = record_type_parse(type);
    for (size_t i = 0; pack && i < pack->n; i++) {
        const rule_t *rule = &pack->rules[i];
        if (rule->kind == RULE_COVERAGE && rule->enabled && type_set_has(&rule->applies_to, t)) {
            return true;
        }
    }
    return false;
}

/* Adds one to key of the group of each officer in a ", "-joined list. */
static void add_officers(comp_t *c, const char *officers, const char *unit, const char *key,
                         long long v)
{
    char *copy = strdup(officers), *save = NULL;
    for (char *o = copy ? strtok_r(copy, ", ", &save) : NULL; o; o = strtok_r(NULL, ", ", &save)) {
        json_t *og = group_get(c->officers, o);
        json_object_set_new(og, "unit", utf8_json_string(unit));
        add_int(og, key, v);
    }
    free(copy);
}

static void compliance(web_req_t *r)
{
    comp_t c = {.units = json_object(),
                .officers = json_object(),
                .case_units = json_object(),
                .articles = json_object(),
                .ref_officers = json_object(),
                .from = 0,
                .to = INT64_MAX,
                .unit = web_query(r, "unit")};
    if ((web_query(r, "from") && !time_arg(r, "from", &c.from)) ||
        (web_query(r, "to") && !time_arg(r, "to", &c.to))) {
        comp_free(&c);
        web_error(r, 400, "bad_request", "from and to are RFC 3339 times, dates or Unix ms");
        return;
    }
    if (web_query(r, "to") && strlen(web_query(r, "to")) == 10) {
        c.to += 24 * 3600 * 1000LL - 1; /* a bare end date includes its day */
    }
    catalog_read(r->sh->catalog);
    size_t n;
    const cat_item_t *items = catalog_items(r->sh->catalog, &n);
    coverage_index_t *cov_ix = NULL;
    bool oom = false;
    if (coverage_index_new(items, n, &cov_ix) != FT_OK) {
        catalog_done(r->sh->catalog);
        comp_free(&c);
        web_error(r, 500, "internal", "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const cat_item_t *it = &items[i];
        if (it->kind == CAT_RECORD && it->case_id[0] && it->unit[0] &&
            !json_object_get(c.case_units, it->case_id)) {
            json_object_set_new(c.case_units, it->case_id, utf8_json_string(it->unit));
        }
        if (it->kind == CAT_RECORD && it->officers[0]) {
            json_object_set_new(c.ref_officers, it->ref, utf8_json_string(it->officers));
        }
        if (it->time_ms < c.from || it->time_ms > c.to || !it->unit[0] ||
            (c.unit && strcmp(c.unit, it->unit) != 0)) {
            continue;
        }
        json_t *g = group_get(c.units, it->unit);
        if (it->kind == CAT_MEDIA && !it->superseded) {
            add_int(g, "media", 1);
            if (it->officers[0]) {
                add_int(group_get(c.officers, it->officers), "media", 1);
            }
            continue;
        }
        if (it->kind != CAT_RECORD || !cat_item_counts(it)) {
            continue; /* a witness or a conflicting version is not another record */
        }
        add_int(g, "records", 1);
        /* the activity's window as the engine sees it (catalog.h cat_link_t) */
        if (!it->activity || it->link.end_ms <= it->link.start_ms) {
            continue;
        }
        /* What the engine checks, and only that: an activity no coverage
         * rule of the loaded pack lists is not measured, and one whose
         * record says why it could not be filmed (media_unsuitable) is
         * exempt, as the engine skips it (docs/rules.md). */
        if (!coverage_checked(r->sh->pack, it->type)) {
            continue;
        }
        if (it->media_unsuitable[0]) {
            add_int(g, "exempt", 1);
            add_officers(&c, it->officers, it->unit, "exempt", 1);
            continue;
        }
        int64_t win = it->link.end_ms - it->link.start_ms;
        int64_t cov = coverage_ms(cov_ix, it);
        if (cov < 0) {
            oom = true; /* reported below: a wrong figure is worse than none */
            break;
        }
        add_int(g, "activities", 1);
        add_int(g, "activity_ms", win);
        add_int(g, "covered_ms", cov);
        add_officers(&c, it->officers, it->unit, "activities", 1);
        add_officers(&c, it->officers, it->unit, "activity_ms", win);
        add_officers(&c, it->officers, it->unit, "covered_ms", cov);
    }
    coverage_index_free(&cov_ix);
    catalog_done(r->sh->catalog);
    if (oom) {
        comp_free(&c);
        web_error(r, 500, "internal", "out of memory");
        return;
    }
    alertview_each(r->sh->alerts, false, comp_alert, &c);
    json_t *units = json_array(), *officers = json_array();
    finish(c.units, units);
    finish(c.officers, officers);
    json_t *o = json_pack("{s:o, s:o, s:o}", "units", units, "officers", officers,
                          "alerts_by_article", c.articles);
    json_object_set_new(o, "from", web_time(c.from));
    json_object_set_new(o, "to", web_time(c.to == INT64_MAX ? 0 : c.to));
    json_object_set_new(o, "min_covered", min_covered(r->sh->pack));
    json_decref(c.units);
    json_decref(c.officers);
    json_decref(c.case_units);
    json_decref(c.ref_officers);
    web_json(r, 200, o);
}

static const web_route_t routes[] = {
    {"GET", "/api/search", ROLE_STAFF, search, 0},
    {"GET", "/api/compliance", ROLE_SUPERVISOR, compliance, 0},
    {NULL, NULL, ROLE_NONE, NULL, 0},
};

const web_module_t api_reports_module = {
    .name = "reports",
    .routes = routes,
};
