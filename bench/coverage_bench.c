/* coverage_bench.c: ft-bench-coverage, the compliance report's media
 * coverage (hub/views/coverage.c) on a year of a large office: OFFICERS officers,
 * each with CLIPS_PER_DAY body-camera clips and ACTS_PER_DAY activity records
 * a working day, 250 days. Prints the index build time, the time for every
 * activity's coverage, and the same for a sample of activities by the plain
 * scan of every clip the report used before (extrapolated to all). Times are
 * CPU seconds.
 *
 * usage: ft-bench-coverage [OFFICERS [SAMPLE]]   (defaults 200, 200)
 */
#include "coverage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIN 60000LL
#define DAY (24 * 60 * MIN)
enum { DAYS = 250, CLIPS_PER_DAY = 5, ACTS_PER_DAY = 3 };

/* CPU time of this (single-threaded) process: steadier than wall time on a
 * shared machine. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the report's plain scan, as it was -------------------------------- */

static int in_list(const char *name, const char *list)
{
    size_t n = strlen(name);
    for (const char *p = list; n && (p = strstr(p, name)) != NULL; p += n) {
        int start = p == list || p[-1] == ',' || p[-1] == ' ';
        int end = p[n] == 0 || p[n] == ',' || p[n] == ' ';
        if (start && end) {
            return 1;
        }
    }
    return 0;
}

static int lists_meet(const char *a, const char *b)
{
    if (!*a || !*b) {
        return 0;
    }
    char *copy = strdup(a), *save = NULL;
    int hit = 0;
    for (char *t = copy ? strtok_r(copy, ", ", &save) : NULL; t && !hit;
         t = strtok_r(NULL, ", ", &save)) {
        hit = in_list(t, b);
    }
    free(copy);
    return hit;
}

typedef struct {
    int64_t a, b;
} span_t;

static int span_cmp(const void *x, const void *y)
{
    const span_t *p = x, *q = y;
    return p->a < q->a ? -1 : p->a > q->a;
}

static int64_t scan_ms(const cat_item_t *rec, const cat_item_t *items, size_t n)
{
    size_t k = 0, cap = 8;
    span_t *sp = malloc(cap * sizeof *sp);
    for (size_t i = 0; sp && i < n; i++) {
        const cat_item_t *m = &items[i];
        if (m->kind != CAT_MEDIA) {
            continue;
        }
        int linked =
            (m->id[0] && in_list(m->id, rec->media)) ||
            ((lists_meet(m->officers, rec->officers) || lists_meet(m->recorders, rec->recorders)) &&
             m->start_ms < rec->end_ms && m->end_ms > rec->start_ms);
        int64_t a = m->start_ms > rec->start_ms ? m->start_ms : rec->start_ms;
        int64_t b = m->end_ms < rec->end_ms ? m->end_ms : rec->end_ms;
        if (!linked || b <= a) {
            continue;
        }
        if (k == cap) {
            cap *= 2;
            span_t *ns = realloc(sp, cap * sizeof *ns);
            if (!ns) {
                break;
            }
            sp = ns;
        }
        sp[k++] = (span_t){a, b};
    }
    int64_t total = 0, at = rec->start_ms;
    if (sp && k > 1) {
        qsort(sp, k, sizeof *sp, span_cmp);
    }
    for (size_t i = 0; sp && i < k; i++) {
        int64_t a = sp[i].a > at ? sp[i].a : at;
        if (sp[i].b > a) {
            total += sp[i].b - a;
            at = sp[i].b;
        }
    }
    free(sp);
    return total;
}

int main(int argc, char **argv)
{
    int officers = argc > 1 ? atoi(argv[1]) : 200;
    int sample = argc > 2 ? atoi(argv[2]) : 200;
    if (officers < 1 || sample < 1) {
        fprintf(stderr, "usage: ft-bench-coverage [OFFICERS [SAMPLE]]\n");
        return 2;
    }
    size_t clips = (size_t)officers * DAYS * CLIPS_PER_DAY;
    size_t acts = (size_t)officers * DAYS * ACTS_PER_DAY;
    cat_item_t *items = calloc(clips + acts, sizeof *items);
    char *strings = calloc(clips + acts, 80);
    /* what linking reads of an activity: its two officers and its recorder */
    char **lists = calloc(acts * 3, sizeof *lists);
    char *names = calloc(acts, 32);
    if (!items || !strings || !lists || !names) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    srand(1);
    size_t n = 0;
    for (int o = 0; o < officers; o++) {
        for (int d = 0; d < DAYS; d++) {
            int64_t day = (int64_t)d * DAY + 8 * 60 * MIN;
            for (int c = 0; c < CLIPS_PER_DAY; c++, n++) {
                char *s = strings + n * 80;
                snprintf(s, 64, "%08zx", n); /* id */
                snprintf(s + 16, 24, "ZF-%04d", o);
                snprintf(s + 40, 24, "BC-%04d", o);
                int64_t start = day + (int64_t)c * 90 * MIN + (rand() % 30) * MIN;
                items[n] = (cat_item_t){.kind = CAT_MEDIA,
                                        .case_id = "",
                                        .id = s,
                                        .officers = s + 16,
                                        .recorders = s + 40,
                                        .media = "",
                                        .start_ms = start,
                                        .end_ms = start + (5 + rand() % 55) * MIN};
                items[n].link = (cat_link_t){.media_id = s,
                                             .officer = s + 16,
                                             .recorder = s + 40,
                                             .start_ms = items[n].start_ms,
                                             .end_ms = items[n].end_ms};
            }
        }
    }
    size_t first_act = n;
    for (int o = 0; o < officers; o++) {
        for (int d = 0; d < DAYS; d++) {
            int64_t day = (int64_t)d * DAY + 8 * 60 * MIN;
            for (int a = 0; a < ACTS_PER_DAY; a++, n++) {
                char *s = strings + n * 80;
                /* Two officers per activity, as the regulation requires. */
                snprintf(s, 40, "ZF-%04d, ZF-%04d", o, (o + 1) % officers);
                snprintf(s + 40, 24, "BC-%04d", o);
                /* A case: one officer's activities of one week. */
                snprintf(s + 64, 16, "C%04d-%03d", o, d / 5);
                int64_t start = day + (int64_t)a * 150 * MIN + (rand() % 60) * MIN;
                items[n] = (cat_item_t){.kind = CAT_RECORD,
                                        .activity = true,
                                        .case_id = s + 64,
                                        .id = "",
                                        .officers = s,
                                        .recorders = s + 40,
                                        .media = "",
                                        .start_ms = start,
                                        .end_ms = start + (10 + rand() % 80) * MIN};
                char **l = lists + (n - first_act) * 3;
                /* the two officers apart */
                char *nm = names + (n - first_act) * 32;
                snprintf(nm, 16, "ZF-%04d", o);
                snprintf(nm + 16, 16, "ZF-%04d", (o + 1) % officers);
                l[0] = nm;
                l[1] = nm + 16;
                l[2] = s + 40;
                items[n].link = (cat_link_t){.officers = l,
                                             .n_officers = 2,
                                             .recorders = l + 2,
                                             .n_recorders = 1,
                                             .start_ms = items[n].start_ms,
                                             .end_ms = items[n].end_ms};
            }
        }
    }
    printf("catalog: %d officers, %zu clips, %zu activity records (%d working days)\n", officers,
           clips, acts, DAYS);

    double t0 = now_s();
    coverage_index_t *ix = NULL;
    if (coverage_index_new(items, n, &ix) != FT_OK) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    double t1 = now_s();
    int64_t total = 0, windows = 0;
    for (size_t i = first_act; i < n; i++) {
        total += coverage_ms(ix, &items[i]);
    }
    double t2 = now_s();
    for (size_t i = first_act; i < n; i++) {
        windows += items[i].end_ms - items[i].start_ms;
    }
    printf("index: built in %.3f CPU-s, every activity's coverage in %.3f CPU-s (%.2f us each), "
           "%.1f %% "
           "covered\n",
           t1 - t0, t2 - t1, (t2 - t1) * 1e6 / (double)acts,
           100.0 * (double)total / (double)windows);

    /* The plain scan on a sample spread over the year; the same figures. */
    size_t step = acts / (size_t)sample ? acts / (size_t)sample : 1, done = 0, differ = 0;
    double t3 = now_s();
    for (size_t i = first_act; i < n && done < (size_t)sample; i += step, done++) {
        differ += scan_ms(&items[i], items, n) != coverage_ms(ix, &items[i]);
    }
    double t4 = now_s();
    double per = (t4 - t3) / (double)done;
    printf("plain scan (before): %.1f ms per activity on %zu sampled, so about %.0f CPU-s for all "
           "%zu; %zu of the sample differ from the index\n",
           per * 1e3, done, per * (double)acts, acts, differ);
    printf("speed-up for the whole report: about %.0fx\n",
           per * (double)acts / (t2 - t0 > 0 ? t2 - t0 : 1e-9));

    /* A case view: the clips linked to a case's activities. Before, each
     * clip not filed under the case was compared with every item, O(clips x
     * items) per view; timed here on a sample of clips, then extrapolated. */
    enum { CASES = 100 };
    size_t linked = 0;
    double t5 = now_s();
    for (int c = 0; c < CASES; c++) {
        const cat_item_t *rec = &items[first_act + (acts / CASES) * (size_t)c];
        coverage_clip_t *got = NULL;
        size_t ng = 0;
        if (coverage_case_clips(items, n, rec->case_id, &got, &ng) != FT_OK) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        linked += ng;
        free(got);
    }
    double t6 = now_s();
    const char *case_id = items[first_act].case_id;
    size_t probe = (size_t)sample * 10, hits = 0;
    double t7 = now_s();
    for (size_t i = 0; i < probe && i < clips; i++) {
        const cat_item_t *m = &items[(clips / probe) * i];
        coverage_clip_t c = {.item = m,
                             .g = {.media_id = m->link.media_id,
                                   .officer = m->link.officer,
                                   .recorder = m->link.recorder,
                                   .start_ms = m->link.start_ms,
                                   .end_ms = m->link.end_ms}};
        for (size_t j = 0; j < n; j++) {
            hits += items[j].kind == CAT_RECORD && items[j].activity &&
                    strcmp(items[j].case_id, case_id) == 0 &&
                    coverage_clip_covers(&items[j], &c, NULL);
        }
    }
    double t8 = now_s();
    double per_clip = (t8 - t7) / (double)probe;
    printf("case view: the clips of a case in %.1f ms (%d cases, %.1f clips each); the scan "
           "before: %.2f ms per clip on %zu sampled, so about %.0f CPU-s per case view\n",
           (t6 - t5) * 1e3 / CASES, CASES, (double)linked / CASES, per_clip * 1e3, probe,
           per_clip * (double)clips);
    (void)hits;
    coverage_index_free(&ix);
    free(items);
    free(strings);
    free(lists);
    free(names);
    return differ ? 1 : 0;
}
