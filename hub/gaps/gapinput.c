/* gapinput.c: the gap engine's input from one device's entries (see
 * gapinput.h). Each step names the hub index code it mirrors. */
#include "gapinput.h"
#include "keys.h"
#include "record.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gapinput_record_times(const Ft__Record *rec, int64_t logged_ms, int64_t offset_ms,
                           int64_t *start_ms, int64_t *end_ms, int64_t *time_ms)
{
    int64_t logged = logged_ms + offset_ms;
    *start_ms = rec->start ? rec->start->unix_ms + offset_ms : logged;
    *end_ms = rec->end ? rec->end->unix_ms + offset_ms : *start_ms;
    *time_ms = rec->time ? rec->time->unix_ms + offset_ms : rec->start ? *start_ms : logged;
}

void gapinput_media_times(const Ft__MediaManifest *m, int64_t logged_ms, int64_t offset_ms,
                          int64_t *start_ms, int64_t *end_ms)
{
    int64_t logged = logged_ms + offset_ms;
    *start_ms = m->start ? m->start->unix_ms + offset_ms : logged;
    *end_ms = m->end ? m->end->unix_ms + offset_ms : *start_ms;
    if (*end_ms < *start_ms) {
        *end_ms = *start_ms;
    }
}

/* A `fields` text value, "" otherwise (the index's field_text). */
static const char *field_text(const Ft__Record *rec, const char *key)
{
    const Ft__FieldValue *v = record_field(rec, key);
    if (v && v->value_case == FT__FIELD_VALUE__VALUE_TEXT && v->text) {
        return v->text;
    }
    return "";
}

static bool is_checkout(const Ft__Record *rec)
{
    return rec->type == FT__RECORD_TYPE__RECORDER_CHECKOUT ||
           rec->type == FT__RECORD_TYPE__RECORDER_RETURN;
}

static int checkout_cmp(const void *x, const void *y)
{
    const gapinput_checkout_t *p = x, *q = y;
    int c = strcmp(p->recorder, q->recorder);
    if (c) {
        return c;
    }
    if (p->time_ms != q->time_ms) {
        return p->time_ms < q->time_ms ? -1 : 1;
    }
    return memcmp(p->order, q->order, sizeof p->order);
}

void gapinput_checkouts_sort(gapinput_checkout_t *c, size_t n)
{
    if (n > 1) {
        qsort(c, n, sizeof *c, checkout_cmp);
    }
}

const char *gapinput_checkout_officer(const gapinput_checkout_t *c, size_t n, const char *recorder,
                                      int64_t ms)
{
    if (!recorder || !recorder[0]) {
        return "";
    }
    /* the first entry after (recorder, ms): the one before it is the answer
     * when it is of this recorder */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int k = strcmp(c[mid].recorder, recorder);
        if (k < 0 || (k == 0 && c[mid].time_ms <= ms)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0 || strcmp(c[lo - 1].recorder, recorder) != 0) {
        return "";
    }
    return c[lo - 1].officer ? c[lo - 1].officer : "";
}

bool gapinput_checkout_of(const Ft__Record *rec, int64_t time_ms, char recorder[GAPINPUT_TEXT],
                          char officer[GAPINPUT_TEXT], gapinput_checkout_t *out)
{
    if (!is_checkout(rec)) {
        return false;
    }
    utf8_copy(recorder, GAPINPUT_TEXT, field_text(rec, "recorder"));
    if (!recorder[0]) {
        return false;
    }
    utf8_copy(officer, GAPINPUT_TEXT, field_text(rec, "officer"));
    memset(out, 0, sizeof *out);
    out->recorder = recorder;
    out->officer = rec->type == FT__RECORD_TYPE__RECORDER_CHECKOUT ? officer : NULL;
    out->time_ms = time_ms;
    return true;
}

/* Big-endian u64 into p[0..8). */
static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* The media ID of a manifest (add_media): hex of its file ID, else its ref. */
static void media_id_of(const Ft__MediaManifest *m, const char *ref, char *out)
{
    if (m->file_id.len > 0 && m->file_id.len <= 64) {
        char hex[129];
        hex_encode(m->file_id.data, m->file_id.len, hex);
        utf8_copy(out, GAPINPUT_TEXT, hex);
    } else {
        utf8_copy(out, GAPINPUT_TEXT, ref);
    }
}

void gapinput_destroy(gapinput_t **g_p)
{
    if (!g_p || !*g_p) {
        return;
    }
    gapinput_t *g = *g_p;
    free(g->records);
    free(g->media);
    free(g->gmedia);
    free(g);
    *g_p = NULL;
}

int gapinput_new(const gapinput_entry_t *e, size_t n, const char *unit, int64_t offset_ms,
                 gapinput_t **out)
{
    *out = NULL;
    gapinput_t *g = calloc(1, sizeof *g);
    /* every manifest first, with a flag for those superseded */
    gapinput_media_t *all = calloc(n ? n : 1, sizeof *all);
    bool *gone = calloc(n ? n : 1, sizeof *gone);
    if (g) {
        g->records = calloc(n ? n : 1, sizeof *g->records);
    }
    if (!g || !all || !gone || !g->records) {
        free(all);
        free(gone);
        gapinput_destroy(&g);
        return FT_ENOMEM;
    }
    /* the index's med_id table: a media ID -> the manifest it names (its
     * own first; a supersede moves the ID it names to the new manifest) */
    typedef struct {
        const char *key;
        size_t holder;
    } med_id_t;
    med_id_t *med_id = calloc(n ? n : 1, sizeof *med_id);
    if (!med_id) {
        free(all);
        free(gone);
        gapinput_destroy(&g);
        return FT_ENOMEM;
    }
    size_t n_all = 0, n_ids = 0;
    char(*super)[129] = calloc(n ? n : 1, sizeof *super);
    if (!super) {
        free(med_id);
        free(all);
        free(gone);
        gapinput_destroy(&g);
        return FT_ENOMEM;
    }
    const int64_t base_ms = offset_ms;
    for (size_t i = 0; i < n; i++) {
        offset_ms = base_ms + e[i].offset_ms;
        if (e[i].rec) {
            gapinput_record_t *r = &g->records[g->n_records++];
            r->g.ref = e[i].ref;
            r->g.rec = e[i].rec;
            gapinput_record_times(e[i].rec, e[i].logged_ms, offset_ms, &r->g.start_ms, &r->g.end_ms,
                                  &r->g.time_ms);
            utf8_copy(r->case_id, sizeof r->case_id, e[i].rec->case_id);
            utf8_copy(r->unit, sizeof r->unit,
                      e[i].rec->unit && e[i].rec->unit[0] ? e[i].rec->unit
                      : e[i].unit                         ? e[i].unit
                                                          : unit);
            r->order = e[i].order;
            r->logged_ms = e[i].logged_ms + offset_ms;
            r->content = e[i].content;
        } else if (e[i].media) {
            size_t me = n_all++;
            gapinput_media_t *m = &all[me];
            const Ft__MediaManifest *mm = e[i].media;
            m->m = mm;
            m->g.ref = e[i].ref;
            media_id_of(mm, e[i].ref, m->media_id);
            utf8_copy(m->case_id, sizeof m->case_id, mm->case_id);
            utf8_copy(m->recorder, sizeof m->recorder, mm->recorder);
            utf8_copy(m->officer, sizeof m->officer, mm->officer);
            gapinput_media_times(mm, e[i].logged_ms, offset_ms, &m->g.start_ms, &m->g.end_ms);
            bool known = false;
            for (size_t j = 0; j < n_ids && !known; j++) {
                known = strcmp(med_id[j].key, m->media_id) == 0;
            }
            if (!known && strlen(m->media_id) < 500) {
                med_id[n_ids++] = (med_id_t){m->media_id, me};
            }
            /* supersede_media: the manifest the named ID maps to, if it is
             * another and still a clip, leaves; the ID now names this one */
            if (!mm->has_supersedes || mm->supersedes.len == 0 || mm->supersedes.len > 64) {
                continue;
            }
            hex_encode(mm->supersedes.data, mm->supersedes.len, super[me]);
            for (size_t j = 0; j < n_ids; j++) {
                if (strcmp(med_id[j].key, super[me]) != 0) {
                    continue;
                }
                size_t h = med_id[j].holder;
                if (h != me && !gone[h]) {
                    gone[h] = true;
                    med_id[j] = (med_id_t){super[me], me};
                }
                break;
            }
        }
    }
    free(med_id);
    /* the officers, once every checkout is known (a late checkout
     * re-resolves: the outcome is the same as resolving at the end) */
    size_t n_co = 0;
    gapinput_checkout_t *co = calloc(g->n_records ? g->n_records : 1, sizeof *co);
    char(*co_text)[2][GAPINPUT_TEXT] = calloc(g->n_records ? g->n_records : 1, sizeof *co_text);
    if (!co || !co_text) {
        free(co);
        free(co_text);
        free(all);
        free(gone);
        free(super);
        gapinput_destroy(&g);
        return FT_ENOMEM;
    }
    for (size_t i = 0; i < g->n_records; i++) {
        const gapinput_record_t *r = &g->records[i];
        if (gapinput_checkout_of(r->g.rec, r->g.time_ms, co_text[n_co][0], co_text[n_co][1],
                                 &co[n_co])) {
            put_be64(co[n_co].order + GAPINPUT_ORDER_BYTES - 8, r->order);
            n_co++;
        }
    }
    gapinput_checkouts_sort(co, n_co);
    for (size_t j = 0; j < n_all; j++) {
        if (!all[j].officer[0]) {
            utf8_copy(all[j].officer, sizeof all[j].officer,
                      gapinput_checkout_officer(co, n_co, all[j].recorder, all[j].g.start_ms));
            all[j].officer_from_checkout = all[j].officer[0] != '\0';
        }
    }
    free(co);
    free(co_text);
    size_t k = 0;
    for (size_t j = 0; j < n_all; j++) {
        if (!gone[j]) {
            all[k++] = all[j];
        }
    }
    free(gone);
    free(super);
    g->media = all;
    g->n_media = k;
    g->gmedia = calloc(k ? k : 1, sizeof *g->gmedia);
    if (!g->gmedia) {
        gapinput_destroy(&g);
        return FT_ENOMEM;
    }
    for (size_t j = 0; j < k; j++) {
        gapinput_media_t *m = &g->media[j];
        m->g.media_id = m->media_id;
        m->g.case_id = m->case_id[0] ? m->case_id : NULL;
        m->g.officer = m->officer[0] ? m->officer : NULL;
        m->g.recorder = m->recorder[0] ? m->recorder : NULL;
        g->gmedia[j] = m->g;
    }
    *out = g;
    return FT_OK;
}

void gapinput_case_free(gapinput_case_t *c)
{
    free(c->recs);
    free(c->index);
    free(c->conflicts);
    free(c->keys);
    memset(c, 0, sizeof *c);
}

/* Groups the records sel[0..n) (indexes into g->records) by identity as
 * the engine's group_identities does and fills out with those evaluated. */
static int group(const gapinput_t *g, const size_t *sel, size_t n, gapinput_case_t *out)
{
    ident_entry_t *ie = calloc(n ? n : 1, sizeof *ie);
    ident_out_t *io = calloc(n ? n : 1, sizeof *io);
    out->recs = calloc(n ? n : 1, sizeof *out->recs);
    out->index = calloc(n ? n : 1, sizeof *out->index);
    ident_conflict_t *ic = NULL;
    size_t nic = 0;
    int err = ie && io && out->recs && out->index ? FT_OK : FT_ENOMEM;
    for (size_t i = 0; err == FT_OK && i < n; i++) {
        const gapinput_record_t *r = &g->records[sel[i]];
        ie[i] = (ident_entry_t){.unit = r->unit,
                                .case_id = r->case_id,
                                .id = r->g.rec->id,
                                .amends = r->g.rec->amends,
                                .order = r->order,
                                .ref = r->g.ref};
        if (r->g.rec->id && r->g.rec->id[0] && r->content) {
            memcpy(ie[i].content, r->content, IDENT_HASH_BYTES);
        }
    }
    if (err == FT_OK) {
        err = ident_group(ie, n, io, &ic, &nic);
    }
    size_t k = 0;
    for (size_t i = 0; err == FT_OK && i < n; i++) {
        if (io[i].role == IDENT_ALONE || io[i].role == IDENT_PRIMARY) {
            out->recs[k] = g->records[sel[i]].g;
            out->index[k] = sel[i];
            k++;
        }
    }
    if (err == FT_OK && nic) {
        out->conflicts = calloc(nic, sizeof *out->conflicts);
        out->keys = calloc(nic, sizeof *out->keys);
        if (!out->conflicts || !out->keys) {
            err = FT_ENOMEM;
        }
    }
    for (size_t i = 0; err == FT_OK && i < nic; i++) {
        const gapinput_record_t *a = &g->records[sel[ic[i].primary]];
        const gapinput_record_t *b = &g->records[sel[ic[i].other]];
        memcpy(out->keys[i], ic[i].key, sizeof out->keys[i]);
        out->conflicts[i] = (gap_conflict_t){.key = out->keys[i],
                                             .id = a->g.rec->id,
                                             .ref_a = a->g.ref,
                                             .ref_b = b->g.ref,
                                             .at_ms = b->logged_ms};
    }
    if (err == FT_OK) {
        out->c.records = out->recs;
        out->c.n_records = k;
        out->c.conflicts = out->conflicts;
        out->c.n_conflicts = nic;
        out->c.media = g->gmedia;
        out->c.n_media = g->n_media;
        out->c.case_id = out->case_id;
    }
    free(ie);
    free(io);
    free(ic);
    return err;
}

int gapinput_case(const gapinput_t *g, const char *case_id, gapinput_case_t *out)
{
    memset(out, 0, sizeof *out);
    utf8_copy(out->case_id, sizeof out->case_id, case_id);
    size_t *sel = calloc(g->n_records ? g->n_records : 1, sizeof *sel);
    if (!sel) {
        return FT_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; out->case_id[0] && i < g->n_records; i++) {
        if (strcmp(g->records[i].case_id, out->case_id) == 0) {
            sel[n++] = i;
        }
    }
    int err = group(g, sel, n, out);
    free(sel);
    return err;
}

int gapinput_caseless(const gapinput_t *g, size_t i, gapinput_case_t *out)
{
    memset(out, 0, sizeof *out);
    if (i >= g->n_records || g->records[i].case_id[0]) {
        return FT_EINVAL;
    }
    const gapinput_record_t *me = &g->records[i];
    size_t *sel = calloc(g->n_records, sizeof *sel);
    if (!sel) {
        return FT_ENOMEM;
    }
    size_t n = 0;
    const char *id = me->g.rec->id;
    char id_cut[GAPINPUT_TEXT];
    utf8_copy(id_cut, sizeof id_cut, id);
    if (id && id[0]) {
        /* the idents table: caseless records of this unit and (cut) id */
        for (size_t j = 0; j < g->n_records; j++) {
            const gapinput_record_t *r = &g->records[j];
            char other[GAPINPUT_TEXT];
            utf8_copy(other, sizeof other, r->g.rec->id);
            if (!r->case_id[0] && strcmp(r->unit, me->unit) == 0 && strcmp(other, id_cut) == 0) {
                sel[n++] = j;
            }
        }
    } else {
        sel[n++] = i;
    }
    int err = group(g, sel, n, out);
    free(sel);
    if (err != FT_OK) {
        return err;
    }
    bool primary = false;
    for (size_t k = 0; k < out->c.n_records && !primary; k++) {
        primary = out->index[k] == i;
    }
    if (!primary) {
        out->c.n_records = 0;
        out->c.n_conflicts = 0;
    }
    return FT_OK;
}

static bool str_in(const char *s, char **list, size_t n)
{
    for (size_t i = 0; s && s[0] && i < n; i++) {
        if (list[i] && strcmp(list[i], s) == 0) {
            return true;
        }
    }
    return false;
}

bool gapinput_media_linked(const gapinput_t *g, size_t i)
{
    const gapinput_media_t *m = &g->media[i];
    if (m->case_id[0]) {
        return true;
    }
    for (size_t j = 0; j < g->n_records; j++) {
        const gapinput_record_t *r = &g->records[j];
        const Ft__Record *rec = r->g.rec;
        for (size_t k = 0; k < rec->n_media; k++) {
            size_t len = rec->media[k] ? strlen(rec->media[k]) : 0;
            if (len > 0 && len <= 400 && strcmp(rec->media[k], m->media_id) == 0) {
                return true;
            }
        }
        if (!record_type_is_activity(rec->type) || m->g.start_ms > r->g.end_ms ||
            m->g.end_ms < r->g.start_ms) {
            continue;
        }
        if (str_in(m->officer, rec->officers, rec->n_officers) ||
            str_in(m->recorder, rec->recorders, rec->n_recorders)) {
            return true;
        }
    }
    return false;
}

static int by_case(const void *a, const void *b, void *ctx)
{
    const gapinput_t *g = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(g->records[x].case_id, g->records[y].case_id);
    return c ? c : (x > y) - (x < y);
}

int gapinput_eval_all(const gapinput_t *g, const rulepack_t *pack, int64_t now_ms,
                      gap_alerts_t *out)
{
    size_t *cased = calloc(g->n_records ? g->n_records : 1, sizeof *cased);
    if (!cased) {
        return FT_ENOMEM;
    }
    size_t n = 0;
    int err = FT_OK;
    for (size_t i = 0; err == FT_OK && i < g->n_records; i++) {
        if (g->records[i].case_id[0]) {
            cased[n++] = i;
            continue;
        }
        gapinput_case_t c;
        err = gapinput_caseless(g, i, &c);
        if (err == FT_OK) {
            err = gaps_eval_case(pack, &c.c, now_ms, out);
        }
        gapinput_case_free(&c);
    }
    qsort_r(cased, n, sizeof *cased, by_case, (void *)g);
    for (size_t i = 0; err == FT_OK && i < n; i++) {
        const char *case_id = g->records[cased[i]].case_id;
        if (i > 0 && strcmp(g->records[cased[i - 1]].case_id, case_id) == 0) {
            continue;
        }
        gapinput_case_t c;
        err = gapinput_case(g, case_id, &c);
        if (err == FT_OK) {
            err = gaps_eval_case(pack, &c.c, now_ms, out);
        }
        gapinput_case_free(&c);
    }
    free(cased);
    for (size_t i = 0; err == FT_OK && i < g->n_media; i++) {
        err = gaps_eval_media(pack, &g->media[i].g, gapinput_media_linked(g, i), now_ms, out);
    }
    return err;
}
