/* coverage_test.c: media coverage of activity windows (coverage.h): the cases
 * by hand, the boundaries of half-open windows (the same table as
 * hub/gaps/gaps_test.c: the compliance report and the alerts agree), clips
 * whose officer comes from a recorder checkout, then the index against a
 * plain scan of every clip on random catalogs. That the figures equal the
 * gap engine's on random catalogs read from a store is coverage_engine_test.
 *
 * Items are made by hand here: their cat_link_t (what linking reads) from
 * the joined texts, as the catalog would make it from a record's lists. */
#include "coverage.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MIN 60000LL

/* Storage for the lists of the items made by hand (reset by each test). */
static char text_pool[1 << 20];
static char *list_pool[1 << 16];
static size_t text_used, lists_used;

static int reset(void **state)
{
    (void)state;
    text_used = lists_used = 0;
    return 0;
}

/* The tokens of a list joined by ", " (or ","), as a record's list. */
static char **split(const char *joined, size_t *n)
{
    char **v = &list_pool[lists_used];
    *n = 0;
    const char *p = joined;
    while (p && *p) {
        p += strspn(p, ", ");
        size_t len = strcspn(p, ",");
        while (len && p[len - 1] == ' ') {
            len--;
        }
        if (!len) {
            break;
        }
        assert_true(text_used + len + 1 < sizeof text_pool);
        assert_true(lists_used + 1 < sizeof list_pool / sizeof list_pool[0]);
        char *t = &text_pool[text_used];
        memcpy(t, p, len);
        t[len] = '\0';
        text_used += len + 1;
        list_pool[lists_used++] = t;
        (*n)++;
        p += len;
    }
    return *n ? v : NULL;
}

static cat_item_t clip(char *id, char *officer, char *recorder, int64_t start, int64_t end)
{
    cat_item_t m = {.kind = CAT_MEDIA,
                    .id = id,
                    .case_id = "",
                    .officers = officer,
                    .recorders = recorder,
                    .media = "",
                    .start_ms = start,
                    .end_ms = end};
    m.link = (cat_link_t){.media_id = id,
                          .officer = officer,
                          .recorder = recorder,
                          .start_ms = start,
                          .end_ms = end < start ? start : end};
    return m;
}

static cat_item_t activity(char *officers, char *recorders, char *media, int64_t start, int64_t end)
{
    cat_item_t r = {.kind = CAT_RECORD,
                    .activity = true,
                    .case_id = "",
                    .id = "r",
                    .officers = officers,
                    .recorders = recorders,
                    .media = media,
                    .start_ms = start,
                    .end_ms = end};
    r.link.officers = split(officers, &r.link.n_officers);
    r.link.recorders = split(recorders, &r.link.n_recorders);
    r.link.media = split(media, &r.link.n_media);
    r.link.start_ms = start;
    r.link.end_ms = end;
    return r;
}

/* A recorder_checkout (officer) or recorder_return (officer NULL) at t. */
static cat_item_t checkout(const char *recorder, const char *officer, int64_t t, uint8_t order)
{
    cat_item_t r = {.kind = CAT_RECORD, .case_id = "", .id = "", .time_ms = t};
    r.link.checkout = (gapinput_checkout_t){
        .recorder = recorder, .officer = officer, .time_ms = t, .order = {[25] = order}};
    return r;
}

static bool links(const cat_item_t *rec, const cat_item_t *m)
{
    coverage_clip_t c = {.item = m,
                         .g = {.media_id = m->link.media_id,
                               .officer = m->link.officer[0] ? m->link.officer : NULL,
                               .recorder = m->link.recorder[0] ? m->link.recorder : NULL,
                               .start_ms = m->link.start_ms,
                               .end_ms = m->link.end_ms}};
    return coverage_clip_covers(rec, &c, NULL);
}

static int64_t cover(const cat_item_t *items, size_t n, const cat_item_t *rec)
{
    coverage_index_t *ix = NULL;
    assert_int_equal(coverage_index_new(items, n, &ix), FT_OK);
    int64_t v = coverage_ms(ix, rec);
    coverage_index_free(&ix);
    assert_null(ix);
    return v;
}

static void test_links_by_officer_recorder_and_id(void **state)
{
    (void)state;
    cat_item_t items[] = {
        clip("aa01", "o1", "", 0, 10 * MIN),            /* officer o1 */
        clip("aa02", "", "BC-7", 20 * MIN, 30 * MIN),   /* recorder BC-7 */
        clip("aa03", "o9", "BC-9", 40 * MIN, 50 * MIN), /* cited by ID only */
        clip("aa04", "o9", "BC-9", 50 * MIN, 60 * MIN), /* not linked */
        activity("o2", "", "", 0, 60 * MIN),            /* a record is not a clip */
    };
    size_t n = sizeof items / sizeof items[0];
    cat_item_t rec = activity("o5, o1", "BC-7", "ffff,aa03", 0, 60 * MIN);
    assert_int_equal(cover(items, n, &rec), 30 * MIN);
    /* Nothing shared, nothing cited: nothing covered. */
    cat_item_t other = activity("o2", "BC-2", "", 0, 60 * MIN);
    assert_int_equal(cover(items, n, &other), 0);
}

static void test_names_compare_whole(void **state)
{
    (void)state;
    /* Names are compared whole, as the engine compares them: "o1" is not
     * "o10", and an officer named with a space is one name, not two words
     * (the report's own token rule linked "Li Ming" to "Li Hua"). */
    cat_item_t items[] = {clip("ab", "o10", "BC-70", 0, 10 * MIN),
                          clip("cd", "Li Ming", "", 20 * MIN, 30 * MIN)};
    cat_item_t rec = activity("o1", "BC-7", "a,abc", 0, 10 * MIN);
    assert_int_equal(cover(items, 2, &rec), 0);
    cat_item_t rec2 = activity("o1, o10", "", "", 0, 10 * MIN);
    assert_int_equal(cover(items, 2, &rec2), 10 * MIN);
    cat_item_t rec3 = activity("Li Hua, Ming", "", "", 20 * MIN, 30 * MIN);
    assert_int_equal(cover(items, 2, &rec3), 0);
    cat_item_t rec4 = activity("Wang Fang, Li Ming", "", "", 20 * MIN, 30 * MIN);
    assert_int_equal(cover(items, 2, &rec4), 10 * MIN);
}

/* A clip whose manifest names no officer is the officer's who had its
 * recorder checked out at its start (gapinput_checkout_officer), as the
 * engine resolves it; after a return, nobody's. */
static void test_officer_from_checkout(void **state)
{
    (void)state;
    cat_item_t items[] = {
        checkout("BC-5", "o1", 0, 1),
        checkout("BC-5", NULL, 60 * MIN, 2),          /* returned */
        checkout("BC-5", "o2", 120 * MIN, 3),         /* then o2's */
        checkout("BC-5", "o3", 120 * MIN, 4),         /* same time, later order: o3's */
        clip("k1", "", "BC-5", 10 * MIN, 20 * MIN),   /* o1's */
        clip("k2", "", "BC-5", 70 * MIN, 80 * MIN),   /* nobody's */
        clip("k3", "", "BC-5", 130 * MIN, 140 * MIN), /* o3's */
        clip("k4", "o9", "BC-5", 10 * MIN, 20 * MIN), /* named o9: not o1's */
    };
    size_t n = sizeof items / sizeof items[0];
    cat_item_t o1 = activity("o1", "", "", 0, 200 * MIN);
    cat_item_t o2 = activity("o2", "", "", 0, 200 * MIN);
    cat_item_t o3 = activity("o3", "", "", 0, 200 * MIN);
    assert_int_equal(cover(items, n, &o1), 10 * MIN);
    assert_int_equal(cover(items, n, &o2), 0);
    assert_int_equal(cover(items, n, &o3), 10 * MIN);
    /* the case view resolves the same way */
    o1.case_id = "A";
    cat_item_t with_case[sizeof items / sizeof items[0] + 1];
    memcpy(with_case, items, sizeof items);
    with_case[n] = o1;
    coverage_clip_t *got = NULL;
    size_t ng = 0;
    assert_int_equal(coverage_case_clips(with_case, n + 1, "A", &got, &ng), FT_OK);
    assert_int_equal(ng, 1);
    assert_ptr_equal(got[0].item, &with_case[4]);
    assert_string_equal(got[0].g.officer, "o1");
    free(got);
}

static void test_overlaps_count_once_and_window_clips(void **state)
{
    (void)state;
    cat_item_t items[] = {
        clip("a1", "o1", "BC-1", 0, 20 * MIN),        /* found under o1 and BC-1 */
        clip("a2", "o1", "", 10 * MIN, 30 * MIN),     /* overlaps a1 */
        clip("a3", "o1", "", 30 * MIN, 30 * MIN + 1), /* 1 ms, touching a2's end */
        clip("a4", "o1", "", 100 * MIN, 200 * MIN),   /* after the window */
    };
    /* Window 5..50 min: 5..30 min plus 1 ms. */
    cat_item_t rec = activity("o1", "BC-1", "a1", 5 * MIN, 50 * MIN);
    assert_int_equal(cover(items, 4, &rec), 25 * MIN + 1);
    /* A clip ending exactly where the window starts covers nothing. */
    cat_item_t rec2 = activity("o1", "", "", 30 * MIN + 1, 40 * MIN);
    assert_int_equal(cover(items, 4, &rec2), 0);
    /* An empty or inverted window is 0. */
    cat_item_t rec3 = activity("o1", "", "", 10 * MIN, 10 * MIN);
    assert_int_equal(cover(items, 4, &rec3), 0);
}

/* The boundaries of a window, the same table as hub/gaps/gaps_test.c: clips
 * of the activity's officer against the activity [A, B). */
static void test_windows_are_half_open_at_the_boundaries(void **state)
{
    (void)state;
    const int64_t A = 600 * MIN, B = 660 * MIN;
    const struct {
        int64_t s, e;
        bool links;
        int64_t covered_ms;
    } cases[] = {
        {B, B + 10 * MIN, false, 0},    /* starts when the activity ends */
        {A - 10 * MIN, A, false, 0},    /* ends when it starts */
        {B - 1, B + 10 * MIN, true, 1}, /* its last millisecond */
        {A - 10 * MIN, A + 1, true, 1}, /* its first millisecond */
        {A, B, true, 60 * MIN},         /* exactly */
        {B, B, false, 0},               /* an empty clip at the end: not in it */
        {A, A, true, 0},                /* an empty clip at its first instant */
    };
    cat_item_t rec = activity("o1", "", "", A, B);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cat_item_t m = clip("", "o1", "", cases[i].s, cases[i].e);
        assert_int_equal(links(&rec, &m), cases[i].links);
        assert_int_equal(cover(&m, 1, &rec), cases[i].covered_ms);
    }
    /* An activity that starts and ends at once is its instant: a clip
     * holding it links to it (and covers no time: an empty window has none). */
    const int64_t t = A + 30 * MIN;
    cat_item_t inst = activity("o1", "", "", t, t);
    cat_item_t holds = clip("", "o1", "", t, t + MIN), ends = clip("", "o1", "", t - MIN, t);
    assert_true(links(&inst, &holds));
    assert_false(links(&inst, &ends));
    /* ... and a case view lists the one that holds it. */
    cat_item_t items[] = {holds, ends, inst};
    items[2].case_id = "A";
    coverage_clip_t *got = NULL;
    size_t n = 0;
    assert_int_equal(coverage_case_clips(items, 3, "A", &got, &n), FT_OK);
    assert_int_equal(n, 1);
    assert_ptr_equal(got[0].item, &items[0]);
    free(got);
}

static void test_long_clip_before_the_window(void **state)
{
    (void)state;
    /* A 12-hour recording started long before a short inspection still
     * covers it, past many short clips of the same officer. */
    enum { N = 200 };
    cat_item_t items[N + 1];
    static char ids[N + 1][8];
    items[0] = clip("long", "o1", "", 0, 720 * MIN);
    for (int i = 0; i < N; i++) {
        snprintf(ids[i + 1], sizeof ids[i + 1], "s%d", i);
        items[i + 1] = clip(ids[i + 1], "o1", "", (int64_t)i * 2 * MIN, (int64_t)i * 2 * MIN + MIN);
    }
    cat_item_t rec = activity("o1", "", "", 600 * MIN, 610 * MIN);
    assert_int_equal(cover(items, N + 1, &rec), 10 * MIN);
}

static void test_no_media_and_empty_lists(void **state)
{
    (void)state;
    cat_item_t items[] = {activity("o1", "", "", 0, MIN), clip("", "", "", 0, MIN),
                          clip("z", "o1", "", MIN, 0) /* inverted: no window */};
    cat_item_t rec = activity("o1", "", "", 0, MIN);
    assert_int_equal(cover(items, 3, &rec), 0);
    assert_int_equal(cover(NULL, 0, &rec), 0);
}

/* ---- against a plain scan ------------------------------------------------ */

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
    char copy[256], *save = NULL;
    snprintf(copy, sizeof copy, "%s", a);
    for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (in_list(t, b)) {
            return 1;
        }
    }
    return 0;
}

/* The covered time by brute force: every millisecond-span boundary. */
static int64_t scan(const cat_item_t *items, size_t n, const cat_item_t *rec)
{
    int64_t a = rec->start_ms, b = rec->end_ms;
    if (b <= a) {
        return 0;
    }
    /* Mark covered minutes (the random test uses whole minutes). */
    size_t len = (size_t)((b - a) / MIN);
    char *mark = calloc(len + 1, 1);
    for (size_t i = 0; i < n; i++) {
        const cat_item_t *m = &items[i];
        if (m->kind != CAT_MEDIA) {
            continue;
        }
        int linked = (m->id[0] && in_list(m->id, rec->media)) ||
                     lists_meet(m->officers, rec->officers) ||
                     lists_meet(m->recorders, rec->recorders);
        for (int64_t t = m->start_ms; linked && t < m->end_ms; t += MIN) {
            if (t >= a && t < b) {
                mark[(t - a) / MIN] = 1;
            }
        }
    }
    int64_t total = 0;
    for (size_t i = 0; i < len; i++) {
        total += mark[i] ? MIN : 0;
    }
    free(mark);
    return total;
}

static void test_matches_a_plain_scan(void **state)
{
    (void)state;
    static const char *officers[] = {"", "o1", "o2", "o1, o2", "o3", "o10", "o2, o3"};
    static const char *recorders[] = {"", "BC-1", "BC-2", "BC-1, BC-3", "BC-10"};
    /* a clip has one officer and one recorder */
    static const char *clip_officers[] = {"", "o1", "o2", "o3", "o10", "o2", "o1"};
    static const char *clip_recorders[] = {"", "BC-1", "BC-2", "BC-3", "BC-10"};
    enum { CLIPS = 300, RECS = 300, IDS = 8 };
    static char ids[CLIPS][8], cites[RECS][32];
    cat_item_t *items = calloc(CLIPS + RECS, sizeof *items);
    srand(20261127);
    for (int round = 0; round < 20; round++) {
        reset(NULL);
        size_t n = 0;
        for (int i = 0; i < CLIPS; i++) {
            snprintf(ids[i], sizeof ids[i], "m%d", i % (IDS * 4));
            int64_t s = (int64_t)(rand() % 2000) * MIN;
            int64_t len = (int64_t)(rand() % (round % 3 == 0 ? 600 : 40)) * MIN;
            items[n++] = clip(ids[i], (char *)clip_officers[rand() % 7],
                              (char *)clip_recorders[rand() % 5], s, s + len);
        }
        for (int i = 0; i < RECS; i++) {
            snprintf(cites[i], sizeof cites[i], "m%d,m%d", rand() % (IDS * 4), rand() % (IDS * 4));
            int64_t s = (int64_t)(rand() % 2000) * MIN;
            items[n++] = activity((char *)officers[rand() % 7], (char *)recorders[rand() % 5],
                                  rand() % 2 ? cites[i] : "", s, s + (int64_t)(rand() % 120) * MIN);
        }
        coverage_index_t *ix = NULL;
        assert_int_equal(coverage_index_new(items, n, &ix), FT_OK);
        int nonzero = 0;
        for (size_t i = CLIPS; i < n; i++) {
            int64_t want = scan(items, n, &items[i]);
            int64_t got = coverage_ms(ix, &items[i]);
            if (want != got) {
                fail_msg("round %d record %zu (%s | %s | %s, %lld..%lld min): index %lld ms, scan "
                         "%lld ms",
                         round, i, items[i].officers, items[i].recorders, items[i].media,
                         (long long)(items[i].start_ms / MIN), (long long)(items[i].end_ms / MIN),
                         (long long)got, (long long)want);
            }
            nonzero += want > 0;
        }
        assert_true(nonzero > RECS / 10); /* the random catalogs do overlap */
        coverage_index_free(&ix);
    }
    free(items);
}

/* The one-pair rule as the case view wrote it before (strtok and strstr). */
/* The definition of docs/rules.md, written out on its own: windows are
 * [start, end); an empty one is its instant. Two windows overlap when some
 * instant is in both: with instants, when each starts before the other's
 * last instant ends. */
static int ref_holds(int64_t s, int64_t e, int64_t t)
{
    return e > s ? s <= t && t < e : t == s;
}

static int ref_overlaps(int64_t as, int64_t ae, int64_t bs, int64_t be)
{
    if (ae <= as) {
        return ref_holds(bs, be, as);
    }
    if (be <= bs) {
        return ref_holds(as, ae, bs);
    }
    return as < be && bs < ae;
}

static int ref_links(const cat_item_t *rec, const cat_item_t *m)
{
    if (m->id[0] && in_list(m->id, rec->media)) {
        return 1;
    }
    return (lists_meet(m->officers, rec->officers) || lists_meet(m->recorders, rec->recorders)) &&
           ref_overlaps(m->start_ms, m->end_ms, rec->start_ms, rec->end_ms);
}

static void test_case_clips_by_hand(void **state)
{
    (void)state;
    cat_item_t items[] = {
        clip("c1", "o1", "", 0, 10 * MIN),            /* o1 in the inspection: linked */
        clip("c2", "o7", "", 0, 10 * MIN),            /* overlaps, nobody shared */
        clip("c3", "o9", "", 900 * MIN, 901 * MIN),   /* cited, far away in time */
        clip("c4", "o1", "", 500 * MIN, 510 * MIN),   /* o1, but outside every window */
        clip("c5", "o2", "", 20 * MIN, 30 * MIN),     /* only the other case's officer */
        activity("o1", "", "c3", 0, 60 * MIN),        /* case A */
        activity("o2", "", "", 20 * MIN, 40 * MIN),   /* case B */
        activity("o1", "", "", 500 * MIN, 510 * MIN), /* case A, but not an activity */
    };
    items[5].case_id = "A";
    items[6].case_id = "B";
    items[7].case_id = "A";
    items[7].activity = false;
    coverage_clip_t *got = NULL;
    size_t n = 0;
    assert_int_equal(coverage_case_clips(items, 8, "A", &got, &n), FT_OK);
    assert_int_equal(n, 2);
    assert_ptr_equal(got[0].item, &items[0]);
    assert_ptr_equal(got[1].item, &items[2]);
    free(got);
    assert_int_equal(coverage_case_clips(items, 8, "B", &got, &n), FT_OK);
    assert_int_equal(n, 1);
    assert_ptr_equal(got[0].item, &items[4]);
    free(got);
    assert_int_equal(coverage_case_clips(items, 8, "NONE", &got, &n), FT_OK);
    assert_int_equal(n, 0);
    assert_null(got);
}

static void test_case_clips_match_every_pair(void **state)
{
    (void)state;
    static const char *officers[] = {"", "o1", "o2", "o1, o2", "o3", "o10", "o2, o3"};
    static const char *recorders[] = {"", "BC-1", "BC-2", "BC-1, BC-3", "BC-10"};
    /* a clip has one officer and one recorder */
    static const char *clip_officers[] = {"", "o1", "o2", "o3", "o10", "o2", "o1"};
    static const char *clip_recorders[] = {"", "BC-1", "BC-2", "BC-3", "BC-10"};
    static const char *cases[] = {"", "A", "B", "A"};
    enum { CLIPS = 400, RECS = 120 };
    /* one text per item: an item's lists are taken when it is made */
    static char ids[CLIPS + RECS][8], cites[CLIPS + RECS][32];
    cat_item_t *items = calloc(CLIPS + RECS, sizeof *items);
    srand(27);
    for (int round = 0; round < 20; round++) {
        reset(NULL);
        size_t n = 0;
        for (int i = 0; i < CLIPS + RECS; i++) {
            int64_t s = (int64_t)(rand() % 3000) * MIN;
            if (rand() % 4) {
                snprintf(ids[n], sizeof ids[0], "m%d", rand() % 64);
                /* half the clips without an ID: only time and people link them */
                items[n] =
                    clip(rand() % 2 ? ids[n] : "", (char *)clip_officers[rand() % 7],
                         (char *)clip_recorders[rand() % 5], s, s + (int64_t)(rand() % 90) * MIN);
            } else {
                snprintf(cites[n], sizeof cites[0], "m%d,m%d", rand() % 64, rand() % 64);
                items[n] = activity((char *)officers[rand() % 7], (char *)recorders[rand() % 5],
                                    round % 2 || rand() % 3 ? "" : cites[n], s,
                                    s + (int64_t)(rand() % 120) * MIN);
                items[n].case_id = (char *)cases[rand() % 4];
                items[n].activity = rand() % 5 != 0;
            }
            n++;
        }
        for (int c = 1; c < 3; c++) {
            coverage_clip_t *got = NULL;
            size_t ng = 0, k = 0, want_n = 0;
            assert_int_equal(coverage_case_clips(items, n, cases[c], &got, &ng), FT_OK);
            for (size_t i = 0; i < n; i++) {
                const cat_item_t *m = &items[i];
                int want = 0;
                for (size_t j = 0; m->kind == CAT_MEDIA && j < n && !want; j++) {
                    const cat_item_t *r = &items[j];
                    want = r->kind == CAT_RECORD && r->activity &&
                           strcmp(r->case_id, cases[c]) == 0 && ref_links(r, m);
                }
                for (size_t j = 0; m->kind == CAT_MEDIA && j < n; j++) {
                    const cat_item_t *r = &items[j];
                    if (r->kind == CAT_RECORD && links(r, m) != !!ref_links(r, m)) {
                        fail_msg(
                            "round %d: clip %zu (%s|%s|%s %lld..%lld) and record %zu (%s|%s|%s "
                            "%lld..%lld): the links differ",
                            round, i, m->id, m->officers, m->recorders, (long long)m->start_ms,
                            (long long)m->end_ms, j, r->officers, r->recorders, r->media,
                            (long long)r->start_ms, (long long)r->end_ms);
                    }
                }
                if (want) {
                    want_n++;
                    if (k >= ng || got[k].item != m) {
                        fail_msg("round %d case %s: clip %zu is linked but not listed", round,
                                 cases[c], i);
                    }
                    k++;
                }
            }
            assert_int_equal(ng, want_n);
            assert_true(want_n > 0);
            free(got);
        }
    }
    free(items);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, reset)
    const struct CMUnitTest tests[] = {
        T(test_links_by_officer_recorder_and_id),
        T(test_names_compare_whole),
        T(test_officer_from_checkout),
        T(test_overlaps_count_once_and_window_clips),
        T(test_windows_are_half_open_at_the_boundaries),
        T(test_long_clip_before_the_window),
        T(test_no_media_and_empty_lists),
        T(test_matches_a_plain_scan),
        T(test_case_clips_by_hand),
        T(test_case_clips_match_every_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
