/* fair_test.c: the sync loop's fair share: round robin over connections,
 * each connection's messages in their order, every message served once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fair.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void backlog_does_not_hold_back_others(void **state)
{
    (void)state;
    /* Connection 7 sent 5 batches before 3 and 9 sent one each. */
    unsigned conn[] = {7, 7, 7, 7, 7, 3, 9, 7};
    size_t n = sizeof conn / sizeof conn[0];
    unsigned rank[8];
    size_t order[8];
    fair_order(conn, n, rank, order);
    size_t want[] = {0, 5, 6, 1, 2, 3, 4, 7};
    assert_memory_equal(order, want, sizeof want);
}

static void interleaved_backlogs_take_turns(void **state)
{
    (void)state;
    unsigned conn[] = {1, 1, 1, 2, 2, 2, 3};
    unsigned rank[7];
    size_t order[7];
    fair_order(conn, 7, rank, order);
    size_t want[] = {0, 3, 6, 1, 4, 2, 5};
    assert_memory_equal(order, want, sizeof want);
}

static void edge_cases(void **state)
{
    (void)state;
    size_t order[1] = {99};
    unsigned rank[1];
    fair_order(NULL, 0, rank, order);
    assert_int_equal(order[0], 99); /* nothing written */
    unsigned one[] = {4};
    fair_order(one, 1, rank, order);
    assert_int_equal(order[0], 0);
}

/* Random drains: a permutation; per connection the order kept; and the
 * round-robin property: before a connection's k-th message is served,
 * every other connection with at least k messages has had k - 1 served. */
static void random_drains_are_fair_permutations(void **state)
{
    (void)state;
    srand(20);
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(rand() % 64) + 1;
        unsigned conn[64], rank[64];
        size_t order[64];
        unsigned conns = (unsigned)(rand() % 8) + 1;
        for (size_t i = 0; i < n; i++) {
            conn[i] = (unsigned)rand() % conns;
        }
        fair_order(conn, n, rank, order);
        bool seen[64] = {false};
        unsigned served[8] = {0};
        size_t last[8];
        for (unsigned c = 0; c < 8; c++) {
            last[c] = SIZE_MAX;
        }
        for (size_t k = 0; k < n; k++) {
            size_t i = order[k];
            assert_true(i < n);
            assert_false(seen[i]);
            seen[i] = true;
            unsigned c = conn[i];
            assert_true(last[c] == SIZE_MAX || last[c] < i); /* its own order */
            last[c] = i;
            served[c]++;
            for (unsigned o = 0; o < conns; o++) {
                unsigned total = 0;
                for (size_t j = 0; j < n; j++) {
                    total += conn[j] == o;
                }
                unsigned owed = total < served[c] - 1 ? total : served[c] - 1;
                assert_true(served[o] >= owed);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backlog_does_not_hold_back_others),
        cmocka_unit_test(interleaved_backlogs_take_turns),
        cmocka_unit_test(edge_cases),
        cmocka_unit_test(random_drains_are_fair_permutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
