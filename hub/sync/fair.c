/* fair.c: see fair.h. */
#include "fair.h"

#include <stdlib.h>

bool fair_ring_push(fair_ring_t *r, size_t x)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        size_t *grown = malloc(cap * sizeof *grown);
        if (!grown) {
            return false;
        }
        for (size_t k = 0; k < r->n; k++) {
            grown[k] = r->v[(r->head + k) % r->cap];
        }
        free(r->v);
        r->v = grown;
        r->cap = cap;
        r->head = 0;
    }
    r->v[(r->head + r->n) % r->cap] = x;
    r->n++;
    return true;
}

size_t fair_ring_pop(fair_ring_t *r)
{
    size_t x = r->v[r->head];
    r->head = (r->head + 1) % r->cap;
    r->n--;
    return x;
}

void fair_ring_free(fair_ring_t *r)
{
    free(r->v);
    r->v = NULL;
    r->head = r->n = r->cap = 0;
}

bool fair_sched_add(fair_sched_t *f, size_t x, bool fresh)
{
    return fair_ring_push(fresh ? &f->fresh : &f->round, x);
}

size_t fair_sched_waiting(const fair_sched_t *f)
{
    return f->fresh.n + f->round.n;
}

size_t fair_sched_next(fair_sched_t *f, size_t quantum, size_t *may_serve)
{
    if (f->fresh.n > 0) {
        *may_serve = 0;
        return fair_ring_pop(&f->fresh);
    }
    *may_serve = quantum;
    return fair_ring_pop(&f->round);
}

bool fair_sched_again(fair_sched_t *f, size_t x)
{
    /* After a pop from the round its place is free; after a pop from the
     * fresh queue the round may have to grow. */
    return fair_ring_push(&f->round, x);
}

void fair_sched_free(fair_sched_t *f)
{
    fair_ring_free(&f->fresh);
    fair_ring_free(&f->round);
}
