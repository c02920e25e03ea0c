/* coverage.c: media coverage of activity windows through a sorted index of
 * clips by key (see coverage.h). */
#include "coverage.h"
#include "window.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Key kinds: a clip is filed under its media ID, each officer and each
 * recorder; a record looks up the IDs it cites, its officers and its
 * recorders. */
enum { KEY_MEDIA = 'm', KEY_OFFICER = 'o', KEY_RECORDER = 'r' };

typedef struct {
    const char *key; /* into the item's string, not terminated */
    size_t len;
    char kind;
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

struct coverage_index_t {
    posting_t *p;
    size_t n;
    group_t *g;
    size_t ng;
    span_t *spans; /* scratch for queries */
    size_t spans_cap;
};

/* The next token of a list joined by ',' and/or ' ', from *pos; false at the
 * end. */
static bool next_token(const char **pos, const char **tok, size_t *len)
{
    const char *p = *pos;
    if (!p) {
        return false;
    }
    p += strspn(p, ", ");
    if (!*p) {
        return false;
    }
    *tok = p;
    *len = strcspn(p, ", ");
    *pos = p + *len;
    return true;
}

static int key_cmp(char ka, const char *a, size_t la, char kb, const char *b, size_t lb)
{
    if (ka != kb) {
        return ka < kb ? -1 : 1;
    }
    int c = memcmp(a, b, la < lb ? la : lb);
    if (c) {
        return c;
    }
    return la < lb ? -1 : la > lb;
}

static int posting_cmp(const void *x, const void *y)
{
    const posting_t *p = x, *q = y;
    int c = key_cmp(p->kind, p->key, p->len, q->kind, q->key, q->len);
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

static bool add_posting(coverage_index_t *ix, size_t *cap, char kind, const char *key, size_t len,
                        const cat_item_t *m)
{
    if (!grow((void **)&ix->p, cap, ix->n + 1, sizeof *ix->p)) {
        return false;
    }
    ix->p[ix->n++] = (posting_t){key, len, kind, m->start_ms, m->end_ms};
    return true;
}

int coverage_index_new(const cat_item_t *items, size_t n, coverage_index_t **out)
{
    *out = NULL;
    coverage_index_t *ix = calloc(1, sizeof *ix);
    if (!ix) {
        return FT_ENOMEM;
    }
    size_t cap = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        const cat_item_t *m = &items[i];
        if (m->kind != CAT_MEDIA || m->superseded || m->end_ms <= m->start_ms) {
            continue; /* a clip without a window covers nothing; a superseded one is
                         covered by the whole copy that replaced it */
        }
        /* A media ID is one token; the catalog writes it as hex. */
        if (m->id && m->id[0]) {
            ok = add_posting(ix, &cap, KEY_MEDIA, m->id, strlen(m->id), m);
        }
        const char *pos = m->officers, *t;
        size_t len;
        while (ok && next_token(&pos, &t, &len)) {
            ok = add_posting(ix, &cap, KEY_OFFICER, t, len, m);
        }
        pos = m->recorders;
        while (ok && next_token(&pos, &t, &len)) {
            ok = add_posting(ix, &cap, KEY_RECORDER, t, len, m);
        }
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
        if (!lp || key_cmp(lp->kind, lp->key, lp->len, p->kind, p->key, p->len) != 0) {
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
    free(ix->p);
    free(ix->g);
    free(ix->spans);
    free(ix);
    *ix_p = NULL;
}

static const group_t *find_group(const coverage_index_t *ix, char kind, const char *key, size_t len)
{
    size_t lo = 0, hi = ix->ng;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const posting_t *p = &ix->p[ix->g[mid].first];
        int c = key_cmp(p->kind, p->key, p->len, kind, key, len);
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

/* Adds the overlaps with [a, b) of the clips filed under one key. */
static bool collect(coverage_index_t *ix, size_t *k, char kind, const char *key, size_t len,
                    int64_t a, int64_t b)
{
    const group_t *g = find_group(ix, kind, key, len);
    if (!g) {
        return true;
    }
    const posting_t *p = &ix->p[g->first];
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
        int64_t s = p[i].start > a ? p[i].start : a;
        int64_t e = p[i].end < b ? p[i].end : b;
        if (e <= s) {
            continue;
        }
        if (!grow((void **)&ix->spans, &ix->spans_cap, *k + 1, sizeof *ix->spans)) {
            return false;
        }
        ix->spans[(*k)++] = (span_t){s, e};
    }
    return true;
}

int64_t coverage_ms(coverage_index_t *ix, const cat_item_t *rec)
{
    int64_t a = rec->start_ms, b = rec->end_ms;
    if (b <= a) {
        return 0;
    }
    size_t k = 0;
    bool ok = true;
    const struct {
        const char *list;
        char kind;
    } keys[] = {
        {rec->media, KEY_MEDIA}, {rec->officers, KEY_OFFICER}, {rec->recorders, KEY_RECORDER}};
    for (size_t j = 0; ok && j < sizeof keys / sizeof keys[0]; j++) {
        const char *pos = keys[j].list, *t;
        size_t len;
        while (ok && next_token(&pos, &t, &len)) {
            ok = collect(ix, &k, keys[j].kind, t, len, a, b);
        }
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

/* ---- one pair, and the clips of a case ------------------------------------ */

/* Whether list (joined by ',' and/or ' ') holds the token t[0..len). */
static bool has_token(const char *list, const char *t, size_t len)
{
    const char *pos = list, *u;
    size_t ulen;
    while (next_token(&pos, &u, &ulen)) {
        if (ulen == len && memcmp(u, t, len) == 0) {
            return true;
        }
    }
    return false;
}

/* Whether lists a and b share a token. */
static bool lists_meet(const char *a, const char *b)
{
    const char *pos = a, *t;
    size_t len;
    while (b && b[0] && next_token(&pos, &t, &len)) {
        if (has_token(b, t, len)) {
            return true;
        }
    }
    return false;
}

bool coverage_links(const cat_item_t *rec, const cat_item_t *m)
{
    if (m->id && m->id[0] && has_token(rec->media, m->id, strlen(m->id))) {
        return true;
    }
    return window_overlaps(m->start_ms, m->end_ms, rec->start_ms, rec->end_ms) &&
           (lists_meet(m->officers, rec->officers) || lists_meet(m->recorders, rec->recorders));
}

int coverage_case_clips(const cat_item_t *items, size_t n, const char *case_id,
                        const cat_item_t ***out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    const cat_item_t **acts = NULL, **clips = NULL;
    size_t na = 0, acap = 0, nc = 0, ccap = 0;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    bool cites = false;
    for (size_t i = 0; i < n; i++) {
        const cat_item_t *r = &items[i];
        if (r->kind != CAT_RECORD || !r->activity || !cat_item_counts(r) ||
            strcmp(r->case_id, case_id) != 0) {
            continue;
        }
        if (!grow((void **)&acts, &acap, na + 1, sizeof *acts)) {
            free(acts);
            return FT_ENOMEM;
        }
        acts[na++] = r;
        /* An empty window is its instant: [start, start + 1) holds it. */
        int64_t end = r->end_ms > r->start_ms ? r->end_ms : r->start_ms + 1;
        lo = r->start_ms < lo ? r->start_ms : lo;
        hi = end > hi ? end : hi;
        cites = cites || (r->media && r->media[0]);
    }
    for (size_t i = 0; na && i < n; i++) {
        const cat_item_t *m = &items[i];
        /* Only a cited clip or one within the activities' span can link. */
        if (m->kind != CAT_MEDIA || m->superseded ||
            (!(cites && m->id && m->id[0]) && !window_overlaps(m->start_ms, m->end_ms, lo, hi))) {
            continue;
        }
        bool linked = false;
        for (size_t k = 0; k < na && !linked; k++) {
            linked = coverage_links(acts[k], m);
        }
        if (!linked) {
            continue;
        }
        if (!grow((void **)&clips, &ccap, nc + 1, sizeof *clips)) {
            free(acts);
            free(clips);
            return FT_ENOMEM;
        }
        clips[nc++] = m;
    }
    free(acts);
    *out = clips;
    *n_out = nc;
    return FT_OK;
}
