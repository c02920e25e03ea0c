/* workpool.h: a small pool of threads that runs one parallel loop at a time
 * (hub/store/verify.c checks a batch's signatures on it, one entry per
 * index: the entries are independent of each other until the chain check).
 *
 * workpool_run(p, n, fn, ctx) calls fn(ctx, i) once for every i in [0, n),
 * on the pool's threads and on the calling thread, and returns when every
 * call has returned. fn must not touch what another index touches. A pool
 * serves one caller at a time (the hub's sync loop); calls are serialised.
 */
#ifndef FT_HUB_WORKPOOL_H
#define FT_HUB_WORKPOOL_H

#include "error.h"

#include <stddef.h>

typedef struct workpool_t workpool_t;
typedef void (*workpool_fn)(void *ctx, size_t i);

/* A pool that works on `workers` threads in all, the caller's included
 * (0 = one per online CPU; 1 = the caller alone, no thread is started).
 * FT_OK, FT_ENOMEM, FT_EIO (a thread could not be started). */
int workpool_new(unsigned workers, workpool_t **out) FT_MUST_CHECK;
/* Stops and joins the threads; NULLs *p_p; safe on NULL. */
void workpool_destroy(workpool_t **p_p);
/* Threads that work on a loop, the caller's included (1 for a NULL pool). */
unsigned workpool_size(const workpool_t *p);
/* Runs fn(ctx, i) for i in [0, n) (see above). A NULL pool runs the loop in
 * the calling thread. */
void workpool_run(workpool_t *p, size_t n, workpool_fn fn, void *ctx);

#endif
