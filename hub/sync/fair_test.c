/* fair_test.c: the ring of turns the sync loop serves devices by
 * (fair.h): first in, first out across growth and wrap-around, a turn
 * pushed back goes behind every device already waiting; a Hello is served
 * before the round, its entries in it. */
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

/* A new edge's Hello while others have a large backlog (docs/benchmarks.md
 * "Issue 20, item 3"): 1,000 devices with 600 entries each wait in the
 * round; a device arriving with a Hello is the very next turn, with nothing
 * to serve but messages without entries (quantum 0), and what it sends next
 * (its batch) waits behind every device already in the round: the Hello
 * jumps no one's entries. */
static void hello_answered_before_the_backlog(void **state)
{
    (void)state;
    enum { DEVICES = 1000, NEW = DEVICES };
    size_t left[DEVICES + 1];
    fair_sched_t f = {0};
    for (size_t i = 0; i < DEVICES; i++) {
        left[i] = 600;
        assert_true(fair_sched_add(&f, i, false));
    }
    size_t may = 99;
    /* a few turns of the backlog */
    for (int k = 0; k < 10; k++) {
        size_t i = fair_sched_next(&f, 16, &may);
        assert_int_equal(may, 16);
        left[i] -= may;
        assert_true(fair_sched_again(&f, i));
    }
    /* the Hello arrives: the next turn is its, entry-free */
    left[NEW] = 60;
    assert_true(fair_sched_add(&f, NEW, true));
    assert_int_equal(fair_sched_waiting(&f), DEVICES + 1);
    size_t i = fair_sched_next(&f, 16, &may);
    assert_int_equal(i, NEW);
    assert_int_equal(may, 0);
    /* its batch arrived meanwhile: to the back of the round */
    assert_true(fair_sched_again(&f, NEW));
    size_t turns_before = 0;
    for (;;) {
        i = fair_sched_next(&f, 16, &may);
        assert_int_equal(may, 16);
        if (i == NEW) {
            break;
        }
        turns_before++;
        left[i] -= may;
        assert_true(fair_sched_again(&f, i));
    }
    assert_int_equal(turns_before, DEVICES); /* one turn of every device first */
    fair_sched_free(&f);
    assert_null(f.fresh.v);
    assert_null(f.round.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fifo_across_growth_and_wrap),
        cmocka_unit_test(backlog_does_not_hold_back_others),
        cmocka_unit_test(hello_answered_before_the_backlog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
