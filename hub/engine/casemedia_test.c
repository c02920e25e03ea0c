/* casemedia_test.c: which media belong to a case (case_view_media_in_case):
 * those that name it, those an activity of it cites, those of its officers
 * or recorders whose window overlaps an activity; not the others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine.h"

#include <stdio.h>
#include <string.h>

#define T0 1772436600000LL /* 2026-03-02T07:30:00Z */
#define MIN 60000LL

static void media_of_a_case(void **state)
{
    (void)state;
    char *officers[] = {"ZF-0107"}, *recorders[] = {"DSJ-0031"}, *cited[] = {"cafe"};
    Ft__Record site = FT__RECORD__INIT;
    site.type = FT__RECORD_TYPE__SITE_INSPECTION;
    site.case_id = "C-1";
    site.n_officers = 1;
    site.officers = officers;
    Ft__Record hearing = FT__RECORD__INIT;
    hearing.type = FT__RECORD_TYPE__HEARING;
    hearing.case_id = "C-1";
    hearing.n_recorders = 1;
    hearing.recorders = recorders;
    hearing.n_media = 1;
    hearing.media = cited;
    gap_record_t recs[] = {
        {.ref = "R/1/1", .rec = &site, .start_ms = T0, .end_ms = T0 + 40 * MIN, .time_ms = T0},
        {.ref = "R/1/2",
         .rec = &hearing,
         .start_ms = T0 + 120 * MIN,
         .end_ms = T0 + 150 * MIN,
         .time_ms = T0 + 120 * MIN},
    };
    gap_media_t media[] = {
        /* 0: names the case, no one in common, another day */
        {.ref = "M/1/1",
         .media_id = "01",
         .case_id = "C-1",
         .start_ms = T0 + 86400000LL,
         .end_ms = T0 + 86400000LL + MIN},
        /* 1: the site inspection's officer, overlapping */
        {.ref = "M/1/2",
         .media_id = "02",
         .officer = "ZF-0107",
         .start_ms = T0 + 30 * MIN,
         .end_ms = T0 + 50 * MIN},
        /* 2: the same officer, after the inspection ended */
        {.ref = "M/1/3",
         .media_id = "03",
         .officer = "ZF-0107",
         .start_ms = T0 + 41 * MIN,
         .end_ms = T0 + 50 * MIN},
        /* 3: the hearing's recorder, overlapping */
        {.ref = "M/1/4",
         .media_id = "04",
         .recorder = "DSJ-0031",
         .start_ms = T0 + 149 * MIN,
         .end_ms = T0 + 160 * MIN},
        /* 4: cited by the hearing, though no one in common and at another time */
        {.ref = "M/1/5",
         .media_id = "cafe",
         .start_ms = T0 - 86400000LL,
         .end_ms = T0 - 86400000LL + MIN},
        /* 5: names another case, overlapping but no one in common */
        {.ref = "M/1/6",
         .media_id = "06",
         .case_id = "C-2",
         .officer = "ZF-0999",
         .start_ms = T0,
         .end_ms = T0 + 10 * MIN},
        /* 6: names another case, but the inspection's officer overlapping */
        {.ref = "M/1/7",
         .media_id = "07",
         .case_id = "C-2",
         .officer = "ZF-0107",
         .start_ms = T0 + 5 * MIN,
         .end_ms = T0 + 6 * MIN},
    };
    case_view_t v;
    memset(&v, 0, sizeof v);
    snprintf(v.case_id, sizeof v.case_id, "C-1");
    v.c.case_id = v.case_id;
    v.c.records = recs;
    v.c.n_records = 2;
    v.c.media = media;
    v.c.n_media = sizeof media / sizeof media[0];
    static const bool want[] = {true, true, false, true, true, false, true};
    for (size_t m = 0; m < v.c.n_media; m++) {
        assert_int_equal(case_view_media_in_case(&v, m), want[m]);
    }
    assert_false(case_view_media_in_case(&v, v.c.n_media)); /* out of range */
    /* A caseless record's view: only what links to the record. */
    snprintf(v.case_id, sizeof v.case_id, "%s", "");
    v.c.n_records = 1;
    static const bool caseless[] = {false, true, false, false, false, false, true};
    for (size_t m = 0; m < v.c.n_media; m++) {
        assert_int_equal(case_view_media_in_case(&v, m), caseless[m]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(media_of_a_case),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
