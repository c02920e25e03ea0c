/* coverage.c: media coverage of activity windows through a sorted index of
 * clips by key, every clip put to the engine's gaps_clip_covers (see
 * coverage.h). */
#include "coverage.h"
#include "window.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Key kinds: a clip is filed under its media ID, its officer and its
 * recorder; a record looks up the IDs it cites, its officers and its
 * recorders. */
enum { KEY_MEDIA = 'm', KEY_OFFICER = 'o', KEY_RECORDER = 'r' };

typedef struct {
    const char *key; /* into the item (or the checkout it resolved to) */
    char kind;
    size_t clip; /* index into clips */
    int64_t start, end;
} posting_t;

/* A run of postings with the same key, sorted by start. */
typedef struct {
    size_t first, count;
    int64_t longest; /* the longest clip under this key */
} group_t;

typedef struct {
    int64_t a, b;
} span_t;

/* The recorder checkouts of the items, sorted (gapinput_checkout_officer). */
typedef struct {
    gapinput_checkout_t *co;
    size_t n;
} checkouts_t;

struct coverage_index_t {
    coverage_clip_t *clips;
    size_t n_clips;
    posting_t *p;
    size_t n;
    group_t *g;
    size_t ng;
    checkouts_t co;
    span_t *spans; /* scratch for queries */
    size_t spans_cap;
};

static bool grow(void **buf, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) {
        return true;
    }
    size_t c = *cap ? *cap : 64;
    while (c < need) {
        c *= 2;
    }
    void *nb = realloc(*buf, c * size);
    if (!nb) {
        return false;
    }
    *buf = nb;
    *cap = c;
    return true;
}

/* Adds it to co when it is a checkout or a return (witnesses too: the
 * index files every entry). False on ENOMEM. */
static bool checkouts_add(checkouts_t *co, size_t *cap, const cat_item_t *it)
{
    if (it->kind != CAT_RECORD || !it->link.checkout.recorder) {
        return true;
    }
    if (!grow((void **)&co->co, cap, co->n + 1, sizeof *co->co)) {
        return false;
    }
    co->co[co->n++] = it->link.checkout;
    return true;
}

/* Every checkout and return among the items, sorted. FT_ENOMEM. */
static int checkouts_new(const cat_item_t *items, size_t n, checkouts_t *out)
{
    size_t cap = 0;
    *out = (checkouts_t){NULL, 0};
    for (size_t i = 0; i < n; i++) {
        if (!checkouts_add(out, &cap, &items[i])) {
            free(out->co);
            *out = (checkouts_t){NULL, 0};
            return FT_ENOMEM;
        }
    }
    gapinput_checkouts_sort(out->co, out->n);
    return FT_OK;
}

/* The clip m as the engine sees it. */
static coverage_clip_t clip_of(const cat_item_t *m, const checkouts_t *co)
{
    const cat_link_t *l = &m->link;
    const char *officer = l->officer && l->officer[0]
                              ? l->officer
                              : gapinput_checkout_officer(co->co, co->n, l->recorder, l->start_ms);
    return (coverage_clip_t){.item = m,
                             .g = {.ref = m->ref,
                                   .media_id = l->media_id,
                                   .case_id = m->case_id[0] ? m->case_id : NULL,
                                   .officer = officer && officer[0] ? officer : NULL,
                                   .recorder = l->recorder && l->recorder[0] ? l->recorder : NULL,
                                   .start_ms = l->start_ms,
                                   .end_ms = l->end_ms}};
}

gap_activity_t coverage_activity(const cat_item_t *rec)
{
    const cat_link_t *l = &rec->link;
    return (gap_activity_t){.media = l->media,
                            .n_media = l->n_media,
                            .officers = l->officers,
                            .n_officers = l->n_officers,
                            .recorders = l->recorders,
                            .n_recorders = l->n_recorders,
                            .start_ms = l->start_ms,
                            .end_ms = l->end_ms};
}

bool coverage_clip_covers(const cat_item_t *rec, const coverage_clip_t *clip, gap_span_t *span)
{
    gap_activity_t a = coverage_activity(rec);
    return gaps_clip_covers(&a, &clip->g, span);
}

/* ---- the index ------------------------------------------------------------ */

static int key_cmp(char ka, const char *a, char kb, const char *b)
{
    if (ka != kb) {
        return ka < kb ? -1 : 1;
    }
    return strcmp(a, b);
}

static int posting_cmp(const void *x, const void *y)
{
    const posting_t *p = x, *q = y;
    int c = key_cmp(p->kind, p->key, q->kind, q->key);
    if (c) {
        return c;
    }
    return p->start < q->start ? -1 : p->start > q->start;
}

static int span_cmp(const void *x, const void *y)
{
    const span_t *p = x, *q = y;
    return p->a < q->a ? -1 : p->a > q->a;
}

static bool add_posting(coverage_index_t *ix, size_t *cap, char kind, const char *key, size_t clip)
{
    if (!key || !key[0]) {
        return true;
    }
    if (!grow((void **)&ix->p, cap, ix->n + 1, sizeof *ix->p)) {
        return false;
    }
    const gap_media_t *g = &ix->clips[clip].g;
    ix->p[ix->n++] = (posting_t){key, kind, clip, g->start_ms, g->end_ms};
    return true;
}

int coverage_index_new(const cat_item_t *items, size_t n, coverage_index_t **out)
{
    *out = NULL;
    coverage_index_t *ix = calloc(1, sizeof *ix);
    if (!ix) {
        return FT_ENOMEM;
    }
    if (checkouts_new(items, n, &ix->co) != FT_OK) {
        free(ix);
        return FT_ENOMEM;
    }
    size_t cap = 0, ccap = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        const cat_item_t *m = &items[i];
        if (m->kind != CAT_MEDIA || m->superseded || m->link.end_ms <= m->link.start_ms) {
            continue; /* a clip without a window covers no time; a superseded one is
                         covered by the whole copy that replaced it */
        }
        ok = grow((void **)&ix->clips, &ccap, ix->n_clips + 1, sizeof *ix->clips);
        if (!ok) {
            break;
        }
        size_t c = ix->n_clips++;
        ix->clips[c] = clip_of(m, &ix->co);
        const gap_media_t *g = &ix->clips[c].g;
        ok = add_posting(ix, &cap, KEY_MEDIA, g->media_id, c) &&
             add_posting(ix, &cap, KEY_OFFICER, g->officer, c) &&
             add_posting(ix, &cap, KEY_RECORDER, g->recorder, c);
    }
    if (!ok) {
        coverage_index_free(&ix);
        return FT_ENOMEM;
    }
    if (ix->n > 1) {
        qsort(ix->p, ix->n, sizeof *ix->p, posting_cmp);
    }
    size_t gcap = 0;
    for (size_t i = 0; i < ix->n; i++) {
        const posting_t *p = &ix->p[i];
        group_t *last = ix->ng ? &ix->g[ix->ng - 1] : NULL;
        const posting_t *lp = last ? &ix->p[last->first] : NULL;
        if (!lp || key_cmp(lp->kind, lp->key, p->kind, p->key) != 0) {
            if (!grow((void **)&ix->g, &gcap, ix->ng + 1, sizeof *ix->g)) {
                coverage_index_free(&ix);
                return FT_ENOMEM;
            }
            last = &ix->g[ix->ng++];
            *last = (group_t){.first = i, .count = 0, .longest = 0};
        }
        last->count++;
        if (p->end - p->start > last->longest) {
            last->longest = p->end - p->start;
        }
    }
    *out = ix;
    return FT_OK;
}

void coverage_index_free(coverage_index_t **ix_p)
{
    coverage_index_t *ix = *ix_p;
    if (!ix) {
        return;
    }
    free(ix->clips);
    free(ix->p);
    free(ix->g);
    free(ix->co.co);
    free(ix->spans);
    free(ix);
    *ix_p = NULL;
}

static const group_t *find_group(const coverage_index_t *ix, char kind, const char *key)
{
    size_t lo = 0, hi = ix->ng;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const posting_t *p = &ix->p[ix->g[mid].first];
        int c = key_cmp(p->kind, p->key, kind, key);
        if (c == 0) {
            return &ix->g[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* Adds the spans of act's window that the clips filed under one key cover
 * (gaps_clip_covers decides each). */
static bool collect(coverage_index_t *ix, size_t *k, char kind, const char *key,
                    const gap_activity_t *act)
{
    const group_t *g = key ? find_group(ix, kind, key) : NULL;
    if (!g) {
        return true;
    }
    const posting_t *p = &ix->p[g->first];
    int64_t a = act->start_ms, b = act->end_ms;
    /* The first clip that can reach a starts at a - longest or later. */
    int64_t from = a - g->longest;
    size_t lo = 0, hi = g->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p[mid].start < from) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (size_t i = lo; i < g->count && p[i].start < b; i++) {
        gap_span_t sp;
        if (!gaps_clip_covers(act, &ix->clips[p[i].clip].g, &sp) || sp.b_ms <= sp.a_ms) {
            continue;
        }
        if (!grow((void **)&ix->spans, &ix->spans_cap, *k + 1, sizeof *ix->spans)) {
            return false;
        }
        ix->spans[(*k)++] = (span_t){sp.a_ms, sp.b_ms};
    }
    return true;
}

int64_t coverage_ms(coverage_index_t *ix, const cat_item_t *rec)
{
    gap_activity_t act = coverage_activity(rec);
    int64_t a = act.start_ms, b = act.end_ms;
    if (b <= a) {
        return 0;
    }
    size_t k = 0;
    bool ok = true;
    for (size_t j = 0; ok && j < act.n_media; j++) {
        ok = collect(ix, &k, KEY_MEDIA, act.media[j], &act);
    }
    for (size_t j = 0; ok && j < act.n_officers; j++) {
        ok = collect(ix, &k, KEY_OFFICER, act.officers[j], &act);
    }
    for (size_t j = 0; ok && j < act.n_recorders; j++) {
        ok = collect(ix, &k, KEY_RECORDER, act.recorders[j], &act);
    }
    if (!ok) {
        return -1;
    }
    /* The union of the spans: a clip found under two keys counts once. */
    if (k > 1) {
        qsort(ix->spans, k, sizeof *ix->spans, span_cmp);
    }
    int64_t total = 0, at = a;
    for (size_t i = 0; i < k; i++) {
        int64_t s = ix->spans[i].a > at ? ix->spans[i].a : at;
        if (ix->spans[i].b > s) {
            total += ix->spans[i].b - s;
            at = ix->spans[i].b;
        }
    }
    return total;
}

/* ---- the clips of a case -------------------------------------------------- */

int coverage_case_clips(const cat_item_t *items, size_t n, const char *case_id,
                        coverage_clip_t **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    const cat_item_t **acts = NULL;
    coverage_clip_t *clips = NULL;
    size_t na = 0, acap = 0, nc = 0, ccap = 0;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    bool cites = false;
    checkouts_t co = {NULL, 0};
    size_t co_cap = 0;
    for (size_t i = 0; i < n; i++) {
        const cat_item_t *r = &items[i];
        if (!checkouts_add(&co, &co_cap, r)) { /* in the same pass */
            free(acts);
            free(co.co);
            return FT_ENOMEM;
        }
        if (r->kind != CAT_RECORD || !r->activity || !cat_item_counts(r) ||
            strcmp(r->case_id, case_id) != 0) {
            continue;
        }
        if (!grow((void **)&acts, &acap, na + 1, sizeof *acts)) {
            free(acts);
            free(co.co);
            return FT_ENOMEM;
        }
        acts[na++] = r;
        /* An empty window is its instant: [start, start + 1) holds it. */
        int64_t end = r->link.end_ms > r->link.start_ms ? r->link.end_ms : r->link.start_ms + 1;
        lo = r->link.start_ms < lo ? r->link.start_ms : lo;
        hi = end > hi ? end : hi;
        cites = cites || r->link.n_media > 0;
    }
    gapinput_checkouts_sort(co.co, co.n);
    for (size_t i = 0; na && i < n; i++) {
        const cat_item_t *m = &items[i];
        /* Only a cited clip or one within the activities' span can link. */
        if (m->kind != CAT_MEDIA || m->superseded ||
            (!cites && !window_overlaps(m->link.start_ms, m->link.end_ms, lo, hi))) {
            continue;
        }
        coverage_clip_t c = clip_of(m, &co);
        bool linked = false;
        for (size_t k = 0; k < na && !linked; k++) {
            linked = coverage_clip_covers(acts[k], &c, NULL);
        }
        if (!linked) {
            continue;
        }
        if (!grow((void **)&clips, &ccap, nc + 1, sizeof *clips)) {
            free(acts);
            free(clips);
            free(co.co);
            return FT_ENOMEM;
        }
        clips[nc++] = c;
    }
    free(acts);
    free(co.co);
    *out = clips;
    *n_out = nc;
    return FT_OK;
}
