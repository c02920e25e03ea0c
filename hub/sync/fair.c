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
