/* fair_test.c: the ring of turns the sync loop serves devices by
 * (fair.h): first in, first out across growth and wrap-around, a turn
 * pushed back goes behind every device already waiting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fair.h"

#include <stdbool.h>
#include <stdlib.h>

static void fifo_across_growth_and_wrap(void **state)
{
    (void)state;
    fair_ring_t r = {0};
    size_t next_in = 0, next_out = 0;
    /* Interleave pushes and pops so that head wraps around while the ring
     * grows from 64 to 1024 places. */
    for (int round = 0; round < 40; round++) {
        for (int k = 0; k < 30; k++) {
            assert_true(fair_ring_push(&r, next_in++));
        }
        for (int k = 0; k < 7; k++) {
            assert_int_equal(fair_ring_pop(&r), next_out++);
        }
    }
    assert_int_equal(r.n, next_in - next_out);
    while (r.n > 0) {
        assert_int_equal(fair_ring_pop(&r), next_out++);
    }
    assert_int_equal(next_out, next_in);
    fair_ring_free(&r);
    assert_null(r.v);
    assert_int_equal(r.cap, 0);
}

/* Deficit round robin as the sync loop runs it: device 0 has a backlog of
 * 300 entries, devices 1..3 one batch of 20 each; quantum 16. No device
 * waits behind another's backlog: after the first round every device was
 * served, and the small ones finish before device 0 is half done. */
static void backlog_does_not_hold_back_others(void **state)
{
    (void)state;
    size_t left[4] = {300, 20, 20, 20};
    size_t served_at[4] = {0}; /* entries served overall when a device finished */
    size_t total = 0;
    fair_ring_t r = {0};
    for (size_t i = 0; i < 4; i++) {
        assert_true(fair_ring_push(&r, i));
    }
    size_t turns = 0;
    while (r.n > 0) {
        size_t i = fair_ring_pop(&r);
        size_t take = left[i] < 16 ? left[i] : 16;
        left[i] -= take;
        total += take;
        turns++;
        if (turns <= 4) {
            assert_int_equal(i, turns - 1); /* first round: in arrival order */
        }
        if (left[i] > 0) {
            assert_true(fair_ring_push(&r, i)); /* after a pop: no memory needed */
        } else {
            served_at[i] = total;
        }
    }
    assert_int_equal(total, 360);
    for (size_t i = 1; i < 4; i++) {
        assert_true(served_at[i] <= 2 * 16 * 4); /* within two rounds */
    }
    assert_int_equal(served_at[0], 360);
    fair_ring_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fifo_across_growth_and_wrap),
        cmocka_unit_test(backlog_does_not_hold_back_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
