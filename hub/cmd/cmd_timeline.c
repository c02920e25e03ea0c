/* cmd_timeline.c: `fieldtrail-hub timeline CASE`: every record and media item
 * of a case from every device, in corrected-time order (index.h), each
 * amendment right after the record it amends, and each activity's media
 * coverage. Read from the case index and the store (safe while `run` runs;
 * the index is as current as the last evaluation). */
#include "evaluator.h"
#include "fsutil.h"
#include "record.h"
#include "utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void timeline_usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-hub timeline CASE [--json] [--state DIR] [--config FILE]\n\n"
                 "Prints every record and media item of CASE from every device, ordered by\n"
                 "corrected time (device time + the device's measured clock offset), with each\n"
                 "amendment right after the record it amends and each activity's media coverage.\n"
                 "Media are those that name the case and those linked to its activities\n"
                 "(cited by ID, or same officer or recorder with overlapping time). --json prints\n"
                 "one JSON object per item. The index is as current as the last `evaluate` or\n"
                 "the running hub.\n");
}

/* One line of the timeline. */
typedef struct {
    bool media;
    size_t i;      /* index into recs or media */
    int64_t t;     /* corrected sort time */
    size_t parent; /* for amendments: the position of what it amends, else SIZE_MAX */
    bool placed;
} line_t;

static int line_cmp(const void *a, const void *b)
{
    const line_t *x = a, *y = b;
    if (x->t != y->t) {
        return x->t < y->t ? -1 : 1;
    }
    return x->media != y->media ? (x->media ? 1 : -1) : (x->i < y->i ? -1 : x->i > y->i);
}

static void tm(int64_t ms, char *buf, size_t len)
{
    rfc3339_format(ms, 0, buf, len);
}

static json_t *record_line_json(const case_view_t *v, size_t i, const line_t *lines, size_t n)
{
    const gap_record_t *r = &v->recs[i];
    const index_item_t *it = &v->rec_items[i];
    char a[48], b[48], c[48];
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string("record"));
    json_object_set_new(o, "ref", json_string(r->ref));
    json_object_set_new(o, "type", json_string(record_type_name(r->rec->type)));
    tm(r->time_ms, a, sizeof a);
    json_object_set_new(o, "time", json_string(a));
    json_object_set_new(o, "time_ms", json_integer(r->time_ms));
    json_object_set_new(o, "offset_ms", json_integer(it->offset_ms));
    if (record_type_is_activity(r->rec->type)) {
        tm(r->start_ms, b, sizeof b);
        tm(r->end_ms, c, sizeof c);
        json_object_set_new(o, "start", json_string(b));
        json_object_set_new(o, "end", json_string(c));
        double covered = 0;
        int64_t longest = 0;
        size_t linked = 0;
        if (gaps_coverage(r, v->media, v->c.n_media, &linked, &covered, &longest) != FT_OK) {
            json_decref(o);
            return NULL; /* out of memory: said by the caller */
        }
        json_t *cov = json_pack("{s:f, s:I, s:I}", "covered", covered, "media", (json_int_t)linked,
                                "longest_uncovered_ms", (json_int_t)longest);
        if (r->rec->media_unsuitable && r->rec->media_unsuitable[0]) {
            json_object_set_new(cov, "media_unsuitable",
                                utf8_json_string(r->rec->media_unsuitable));
        }
        json_t *which = json_array();
        for (size_t m = 0; m < v->c.n_media; m++) {
            if (gaps_media_links(r, &v->media[m])) {
                json_array_append_new(which, json_string(v->media[m].ref));
            }
        }
        json_object_set_new(cov, "linked", which);
        json_object_set_new(o, "coverage", cov);
    }
    json_t *rj = record_to_json(r->rec);
    json_object_set_new(o, "record", rj ? rj : json_null());
    json_t *amended_by = json_array();
    for (size_t k = 0; k < n; k++) {
        if (!lines[k].media && lines[k].parent != SIZE_MAX && !lines[lines[k].parent].media &&
            lines[lines[k].parent].i == i) {
            json_array_append_new(amended_by, json_string(v->recs[lines[k].i].ref));
        }
    }
    json_object_set_new(o, "amended_by", amended_by);
    /* One record, one identity across devices (docs/records.md): every
     * device's entry of it, and the versions in conflict with it. */
    if (i < v->c.n_records) {
        json_object_set_new(o, "witnesses", case_view_witnesses(v, i));
        json_t *other = case_view_conflicting(v, i);
        if (json_array_size(other)) {
            json_object_set_new(o, "conflicting_versions", other);
        } else {
            json_decref(other);
        }
    } else {
        json_object_set_new(o, "conflicts_with", json_string(v->recs[v->primary[i]].ref));
    }
    return o;
}

static json_t *media_line_json(const case_view_t *v, size_t m)
{
    const gap_media_t *g = &v->media[m];
    const index_item_t *it = &v->media_items[m];
    char a[48], b[48];
    tm(g->start_ms, a, sizeof a);
    tm(g->end_ms, b, sizeof b);
    /* Text from manifests (and the index's copies of it) is shown escaped
     * where it is not valid UTF-8 (utf8.h): a line is never without it. */
    json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:I, s:I, s:I}", "kind", "media", "ref",
                          g->ref, "media_id", utf8_json_string(g->media_id), "start", a, "end", b,
                          "time_ms", (json_int_t)g->start_ms, "end_ms", (json_int_t)g->end_ms,
                          "offset_ms", (json_int_t)it->offset_ms);
    if (!o) {
        return NULL;
    }
    json_object_set_new(o, "officer", g->officer ? utf8_json_string(g->officer) : json_null());
    json_object_set_new(o, "officer_source",
                        json_string(!g->officer          ? "none"
                                    : it->officer_listed ? "manifest"
                                                         : "checkout"));
    json_object_set_new(o, "recorder", g->recorder ? utf8_json_string(g->recorder) : json_null());
    json_object_set_new(o, "case", g->case_id ? utf8_json_string(g->case_id) : json_null());
    json_object_set_new(o, "file_name", utf8_json_string(it->id));
    json_t *linked = json_array();
    for (size_t i = 0; i < v->c.n_records; i++) {
        if (record_type_is_activity(v->recs[i].rec->type) && gaps_media_links(&v->recs[i], g)) {
            json_array_append_new(linked, json_string(v->recs[i].ref));
        }
    }
    json_object_set_new(o, "linked_to", linked);
    return o;
}

static void print_line_text(const json_t *o, bool amendment)
{
    const char *kind = json_string_value(json_object_get(o, "kind"));
    const char *ind = amendment ? "    ↳ amends the record above: " : "";
    if (strcmp(kind, "media") == 0) {
        const char *off = json_string_value(json_object_get(o, "officer"));
        const char *rec = json_string_value(json_object_get(o, "recorder"));
        printf("%s  media   %s – %s  id %s  officer %s (%s)  recorder %s  [%s]\n",
               json_string_value(json_object_get(o, "start")),
               json_string_value(json_object_get(o, "start")),
               json_string_value(json_object_get(o, "end")),
               json_string_value(json_object_get(o, "media_id")), off ? hub_text(off) : "-",
               json_string_value(json_object_get(o, "officer_source")), rec ? hub_text(rec) : "-",
               json_string_value(json_object_get(o, "ref")));
        return;
    }
    const json_t *rec = json_object_get(o, "record");
    const char *id = json_string_value(json_object_get(rec, "id"));
    printf("%s%s  record  %s%s%s  [%s]", ind, json_string_value(json_object_get(o, "time")),
           hub_text(json_string_value(json_object_get(o, "type"))), id ? "  id " : "",
           id ? hub_text(id) : "", json_string_value(json_object_get(o, "ref")));
    if (json_object_get(o, "start")) {
        printf("  %s – %s", json_string_value(json_object_get(o, "start")),
               json_string_value(json_object_get(o, "end")));
    }
    long long off = (long long)json_integer_value(json_object_get(o, "offset_ms"));
    if (off) {
        printf("  (clock offset %+.1f s applied)", (double)off / 1000.0);
    }
    size_t w = json_array_size(json_object_get(o, "witnesses"));
    if (w > 1) {
        printf("  (the same record from %zu entries)", w);
    }
    const char *against = json_string_value(json_object_get(o, "conflicts_with"));
    if (against) {
        printf("  CONFLICT: another version of %s's id, not evaluated", hub_text(against));
    } else if (json_array_size(json_object_get(o, "conflicting_versions"))) {
        printf("  CONFLICT: other versions of this id exist (integrity alert)");
    }
    printf("\n");
    const json_t *cov = json_object_get(o, "coverage");
    if (cov) {
        const char *why = json_string_value(json_object_get(cov, "media_unsuitable"));
        printf(
            "%s      coverage %.0f%% by %lld media item(s), longest uncovered stretch %.0f s%s%s\n",
            amendment ? "    " : "", json_real_value(json_object_get(cov, "covered")) * 100.0,
            (long long)json_integer_value(json_object_get(cov, "media")),
            (double)json_integer_value(json_object_get(cov, "longest_uncovered_ms")) / 1000.0,
            why ? "; media unsuitable: " : "", why ? hub_text(why) : "");
    }
}

int hub_cmd_timeline(int argc, char **argv)
{
    hub_ctx_t ctx = {0};
    const char *pos[1] = {NULL};
    int n_pos = 0;
    int rc = hub_parse_simple(&ctx, argc, argv, timeline_usage, pos, 1, &n_pos);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (n_pos != 1) {
        timeline_usage(stderr);
        return 2;
    }
    const char *case_id = pos[0];
    if (hub_open(&ctx, false) != 0) {
        hub_close(&ctx);
        return 1;
    }
    char dir[4096];
    index_t *idx = NULL;
    index_txn_t *it = NULL;
    store_txn_t *st = NULL;
    case_view_t v;
    memset(&v, 0, sizeof v);
    line_t *lines = NULL;
    rc = 1;
    if (fsutil_join(dir, sizeof dir, ctx.state, "index") != FT_OK || !fsutil_exists(dir)) {
        hub_fail("no case index in %s yet: run `fieldtrail-hub evaluate --state %s` or start "
                 "`fieldtrail-hub run`",
                 ctx.state, ctx.state);
        goto out;
    }
    int err = index_open(dir, 0, &idx);
    if (err == FT_OK) {
        err = index_begin(idx, false, &it);
    }
    if (err == FT_OK) {
        err = store_begin(ctx.store, false, &st);
    }
    if (err == FT_OK) {
        err = case_view_load(it, st, case_id, NULL, &v);
    }
    /* A case ID typed as a listing shows it, escaped (docs/media.md "Text"):
     * the case of the bytes it stands for. */
    char *raw_case = NULL;
    if (err == FT_OK && v.c.n_records + v.c.n_media == 0 && strstr(case_id, "\\x") &&
        utf8_unescape(case_id, &raw_case) == FT_OK && strcmp(raw_case, case_id) != 0) {
        case_view_free(&v);
        err = case_view_load(it, st, raw_case, NULL, &v);
    }
    free(raw_case);
    if (err != FT_OK) {
        hub_fail("cannot read case %s: %s", case_id, ft_strerror(err));
        goto out;
    }
    size_t n = 0, cap = v.n_all + v.c.n_media;
    lines = calloc(cap ? cap : 1, sizeof *lines);
    if (!lines) {
        goto out;
    }
    /* The records, and the conflicting versions of them (witnesses are
     * listed with their record). */
    for (size_t i = 0; i < v.n_all; i++) {
        if (i < v.c.n_records || v.roles[i] == IDENT_CONFLICT) {
            lines[n++] =
                (line_t){.media = false, .i = i, .t = v.recs[i].time_ms, .parent = SIZE_MAX};
        }
    }
    for (size_t m = 0; m < v.c.n_media; m++) {
        if (case_view_media_in_case(&v, m)) {
            lines[n++] =
                (line_t){.media = true, .i = m, .t = v.media[m].start_ms, .parent = SIZE_MAX};
        }
    }
    qsort(lines, n, sizeof *lines, line_cmp);
    /* Amendments: point each at the record it amends (same case, by id). */
    for (size_t k = 0; k < n; k++) {
        if (lines[k].media) {
            continue;
        }
        const char *amends = v.recs[lines[k].i].rec->amends;
        for (size_t j = 0; amends && amends[0] && j < n; j++) {
            /* what it amends: the record, not a conflicting version of it */
            const char *id =
                lines[j].media || lines[j].i >= v.c.n_records ? NULL : v.recs[lines[j].i].rec->id;
            if (j != k && id && strcmp(id, amends) == 0) {
                lines[k].parent = j;
                break;
            }
        }
    }
    if (n == 0) {
        hub_fail("case %s has no records or media at the hub (or the index has not taken them "
                 "in yet: run `fieldtrail-hub evaluate`)",
                 case_id);
        goto out;
    }
    if (!ctx.json) {
        size_t conflicting = 0;
        for (size_t i = v.c.n_records; i < v.n_all; i++) {
            conflicting += v.roles[i] == IDENT_CONFLICT;
        }
        printf("case %s: %zu records, %zu media items; times in UTC, corrected for each "
               "device's measured clock offset\n",
               case_id, v.c.n_records, n - v.c.n_records - conflicting);
    }
    /* Print in order; an amendment goes right after what it amends (and its
     * own amendments after it). */
    size_t *stack = calloc(n, sizeof *stack);
    if (!stack) {
        goto out;
    }
    for (size_t k = 0; k < n; k++) {
        if (lines[k].placed || lines[k].parent != SIZE_MAX) {
            continue;
        }
        size_t sp = 0;
        stack[sp++] = k;
        while (sp) {
            size_t cur = stack[--sp];
            lines[cur].placed = true;
            json_t *o = lines[cur].media ? media_line_json(&v, lines[cur].i)
                                         : record_line_json(&v, lines[cur].i, lines, n);
            if (!o) {
                hub_fail("out of memory showing case %s", case_id);
                free(stack);
                goto out;
            }
            if (lines[cur].parent != SIZE_MAX) {
                json_object_set_new(o, "amends",
                                    json_string(v.recs[lines[lines[cur].parent].i].ref));
            }
            if (ctx.json) {
                char *text = json_dumps(o, JSON_COMPACT);
                printf("%s\n", text ? text : "{}");
                free(text);
            } else {
                print_line_text(o, lines[cur].parent != SIZE_MAX);
            }
            json_decref(o);
            /* Children in reverse time order so the earliest prints first. */
            for (size_t j = n; j-- > 0;) {
                if (lines[j].parent == cur && !lines[j].placed && sp < n) {
                    stack[sp++] = j;
                }
            }
        }
    }
    /* Amendments whose target is an amendment chain loop: print them too. */
    for (size_t k = 0; k < n; k++) {
        if (!lines[k].placed) {
            json_t *o = record_line_json(&v, lines[k].i, lines, n);
            if (!o) {
                hub_fail("out of memory showing case %s", case_id);
                free(stack);
                goto out;
            }
            char *text = json_dumps(o, JSON_COMPACT);
            if (ctx.json) {
                printf("%s\n", text ? text : "{}");
            } else {
                print_line_text(o, true);
            }
            free(text);
            json_decref(o);
        }
    }
    free(stack);
    rc = 0;
out:
    free(lines);
    case_view_free(&v);
    store_abort(&st);
    index_abort(&it);
    index_destroy(&idx);
    hub_close(&ctx);
    return rc;
}
