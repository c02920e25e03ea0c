/* hlc_test.c: the hybrid logical clock never goes backwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hlc.h"

static void tick_follows_wall_clock_when_it_advances(void **state)
{
    (void)state;
    hlc_t c;
    hlc_init(&c, 0);
    uint64_t a = hlc_tick(&c, 1000);
    uint64_t b = hlc_tick(&c, 2000);
    assert_int_equal(hlc_ms(a), 1000);
    assert_int_equal(hlc_ms(b), 2000);
    assert_int_equal(hlc_counter(b), 0);
}

static void tick_counts_up_when_wall_clock_stalls_or_goes_back(void **state)
{
    (void)state;
    hlc_t c;
    hlc_init(&c, 0);
    uint64_t a = hlc_tick(&c, 5000);
    uint64_t b = hlc_tick(&c, 5000);
    uint64_t d = hlc_tick(&c, 10);
    assert_true(b > a);
    assert_true(d > b);
    assert_int_equal(hlc_ms(d), 5000);
    assert_int_equal(hlc_counter(d), 2);
}

static void counter_overflow_carries_into_milliseconds(void **state)
{
    (void)state;
    hlc_t c;
    hlc_init(&c, (7000ULL << 16) | 0xffff);
    uint64_t a = hlc_tick(&c, 1);
    assert_int_equal(hlc_ms(a), 7001);
    assert_int_equal(hlc_counter(a), 0);
}

static void observe_moves_past_remote_time(void **state)
{
    (void)state;
    hlc_t c;
    hlc_init(&c, 0);
    uint64_t remote = 90000ULL << 16;
    uint64_t a = hlc_observe(&c, remote, 1000);
    assert_true(a > remote);
    assert_true(hlc_tick(&c, 1000) > a);
}

static void restored_clock_continues_after_persisted_value(void **state)
{
    (void)state;
    hlc_t c;
    uint64_t persisted = (1700000000000ULL << 16) | 3;
    hlc_init(&c, persisted);
    assert_true(hlc_tick(&c, 1600000000000ULL) > persisted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tick_follows_wall_clock_when_it_advances),
        cmocka_unit_test(tick_counts_up_when_wall_clock_stalls_or_goes_back),
        cmocka_unit_test(counter_overflow_carries_into_milliseconds),
        cmocka_unit_test(observe_moves_past_remote_time),
        cmocka_unit_test(restored_clock_continues_after_persisted_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
