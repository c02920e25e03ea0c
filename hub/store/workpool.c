/* workpool.c: see workpool.h. One job at a time: the caller publishes
 * (fn, ctx, n) under the lock with a new generation number and wakes the
 * workers; every thread, the caller's included, takes indices from an
 * atomic counter until none is left; the caller then closes the job (no
 * worker joins it any more) and waits until every worker that joined has
 * left it. */
#include "workpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

struct workpool_t {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a new generation or stop */
    pthread_cond_t idle; /* a worker left the current generation */
    pthread_t *threads;
    unsigned n_threads; /* started (workers - 1) */
    bool stop;
    unsigned long gen; /* generation of the current job */
    bool open;         /* workers may still join it */
    unsigned busy;     /* workers inside the current job */
    workpool_fn fn;
    void *ctx;
    size_t n;
    atomic_size_t next; /* next index to take */
};

static void take(workpool_t *p, workpool_fn fn, void *ctx, size_t n)
{
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (i >= n) {
            return;
        }
        fn(ctx, i);
    }
}

static void *worker(void *arg)
{
    workpool_t *p = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->gen == seen) {
            pthread_cond_wait(&p->work, &p->mu);
        }
        if (p->stop) {
            break;
        }
        seen = p->gen;
        if (!p->open) {
            continue; /* woke too late: the caller is done with that job */
        }
        workpool_fn fn = p->fn;
        void *ctx = p->ctx;
        size_t n = p->n;
        p->busy++;
        pthread_mutex_unlock(&p->mu);
        take(p, fn, ctx, n);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0) {
            pthread_cond_signal(&p->idle);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int workpool_new(unsigned workers, workpool_t **out)
{
    *out = NULL;
    if (workers == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        workers = cpus > 0 ? (unsigned)cpus : 1;
    }
    if (workers > 256) {
        workers = 256;
    }
    workpool_t *p = calloc(1, sizeof *p);
    if (!p) {
        return FT_ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->idle, NULL);
    atomic_init(&p->next, 0);
    if (workers > 1) {
        p->threads = calloc(workers - 1, sizeof *p->threads);
        if (!p->threads) {
            workpool_destroy(&p);
            return FT_ENOMEM;
        }
        for (unsigned i = 0; i < workers - 1; i++) {
            if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
                workpool_destroy(&p);
                return FT_EIO;
            }
            p->n_threads++;
        }
    }
    *out = p;
    return FT_OK;
}

void workpool_destroy(workpool_t **p_p)
{
    workpool_t *p = *p_p;
    if (!p) {
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n_threads; i++) {
        pthread_join(p->threads[i], NULL);
    }
    free(p->threads);
    pthread_cond_destroy(&p->idle);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p);
    *p_p = NULL;
}

unsigned workpool_size(const workpool_t *p)
{
    return p ? p->n_threads + 1 : 1;
}

void workpool_run(workpool_t *p, size_t n, workpool_fn fn, void *ctx)
{
    if (!p || p->n_threads == 0 || n < 2) {
        for (size_t i = 0; i < n; i++) {
            fn(ctx, i);
        }
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    p->gen++;
    p->open = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    take(p, fn, ctx, n);
    /* Every index is taken: close the job to latecomers (a worker that wakes
     * now must not pick up fn after this call returned), then wait for the
     * workers still running an index of it. */
    pthread_mutex_lock(&p->mu);
    p->open = false;
    while (p->busy > 0) {
        pthread_cond_wait(&p->idle, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
}
