/* workpool_test.c: a parallel loop calls fn once for every index, on the
 * pool's threads and the caller's, returns only when every call returned,
 * and runs many loops in a row (a late worker never runs an old loop's fn
 * after it returned); a NULL pool and a one-thread pool run in the caller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "workpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    atomic_uint *calls; /* per index */
    size_t n;
    atomic_int done;  /* calls finished */
    pthread_t caller; /* the thread that ran workpool_run */
    atomic_int on_caller, elsewhere;
} job_t;

static void count(void *ctx, size_t i)
{
    job_t *j = ctx;
    assert_true(i < j->n);
    atomic_fetch_add(&j->calls[i], 1);
    if (pthread_equal(pthread_self(), j->caller)) {
        atomic_fetch_add(&j->on_caller, 1);
    } else {
        atomic_fetch_add(&j->elsewhere, 1);
    }
    /* A little work, so that several threads get to take indices. */
    volatile uint64_t x = i;
    for (int k = 0; k < 2000; k++) {
        x = x * 6364136223846793005ull + 1;
    }
    atomic_fetch_add(&j->done, 1);
}

/* Runs one loop of n on p and checks every index ran exactly once, and all
 * had finished when workpool_run returned. Returns the calls made off the
 * caller's thread. */
static int run_once(workpool_t *p, size_t n)
{
    job_t *j = calloc(1, sizeof *j);
    j->calls = calloc(n ? n : 1, sizeof *j->calls);
    j->n = n;
    j->caller = pthread_self();
    workpool_run(p, n, count, j);
    assert_int_equal(atomic_load(&j->done), (int)n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(atomic_load(&j->calls[i]), 1);
    }
    int elsewhere = atomic_load(&j->elsewhere);
    /* Freed at once: a worker still holding the job would be caught by ASan. */
    free(j->calls);
    free(j);
    return elsewhere;
}

static void every_index_once_on_many_threads(void **state)
{
    (void)state;
    workpool_t *p = NULL;
    assert_int_equal(workpool_new(4, &p), FT_OK);
    assert_int_equal(workpool_size(p), 4);
    int elsewhere = 0;
    size_t sizes[] = {0, 1, 2, 3, 7, 64, 512, 1000};
    for (int round = 0; round < 50; round++) {
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            elsewhere += run_once(p, sizes[k]);
        }
    }
    /* Over 50 rounds of 1,589 indices the workers took some. */
    assert_true(elsewhere > 0);
    workpool_destroy(&p);
    assert_null(p);
    workpool_destroy(&p); /* safe on NULL */
}

static void null_and_single_pools_run_in_the_caller(void **state)
{
    (void)state;
    assert_int_equal(workpool_size(NULL), 1);
    assert_int_equal(run_once(NULL, 100), 0);
    workpool_t *p = NULL;
    assert_int_equal(workpool_new(1, &p), FT_OK);
    assert_int_equal(workpool_size(p), 1);
    assert_int_equal(run_once(p, 100), 0);
    workpool_destroy(&p);
    assert_int_equal(workpool_new(0, &p), FT_OK); /* one per CPU */
    assert_true(workpool_size(p) >= 1);
    run_once(p, 300);
    workpool_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_index_once_on_many_threads),
        cmocka_unit_test(null_and_single_pools_run_in_the_caller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
