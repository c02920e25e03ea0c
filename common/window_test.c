/* window_test.c: the one definition of windows (window.h) at its
 * boundaries: touching windows do not overlap, an empty window is its
 * instant (held by [start, end) when start <= t < end), overlap is
 * symmetric, and covered time is the intersection's length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "window.h"

/* Checks overlaps(a, b) == want both ways round. */
static void both(int64_t as, int64_t ae, int64_t bs, int64_t be, bool want)
{
    assert_int_equal(window_overlaps(as, ae, bs, be), want);
    assert_int_equal(window_overlaps(bs, be, as, ae), want);
}

static void windows_that_touch_do_not_overlap(void **state)
{
    (void)state;
    both(1000, 2000, 2000, 3000, false); /* b starts when a ends */
    both(1000, 2000, 0, 1000, false);    /* b ends when a starts */
    both(1000, 2000, 1999, 3000, true);  /* one shared millisecond */
    both(1000, 2000, 0, 1001, true);
    both(1000, 2000, 1200, 1300, true); /* inside */
    both(1000, 2000, 0, 5000, true);    /* around */
    both(1000, 2000, 1000, 2000, true); /* the same */
    both(1000, 2000, 3000, 4000, false);
}

static void an_empty_window_is_its_instant(void **state)
{
    (void)state;
    both(1000, 1000, 1000, 2000, true);  /* the first instant of [1000, 2000) */
    both(2000, 2000, 1000, 2000, false); /* 2000 is not in [1000, 2000) */
    both(1999, 1999, 1000, 2000, true);
    both(999, 999, 1000, 2000, false);
    both(1500, 1500, 1500, 1500, true); /* the same instant */
    both(1500, 1500, 1501, 1501, false);
    both(1500, 1200, 1400, 1600, true); /* inverted: the instant 1500 */
}

static void covered_time_is_the_intersection(void **state)
{
    (void)state;
    assert_int_equal(window_covered_ms(1000, 2000, 1500, 3000), 500);
    assert_int_equal(window_covered_ms(1000, 2000, 2000, 3000), 0);
    assert_int_equal(window_covered_ms(0, 5000, 1000, 2000), 1000);
    assert_int_equal(window_covered_ms(1500, 1500, 1000, 2000), 0);
    assert_int_equal(window_covered_ms(1999, 2001, 1000, 2000), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(windows_that_touch_do_not_overlap),
        cmocka_unit_test(an_empty_window_is_its_instant),
        cmocka_unit_test(covered_time_is_the_intersection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
