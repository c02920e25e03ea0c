/* fair.h: the order in which the sync loop serves the devices that have
 * messages waiting: deficit round robin (hub/sync/sync.c serve_group,
 * docs/protocol.md "Fair share"). A fair_ring_t is the queue of their turns:
 * a device with messages waiting is pushed once; each turn pops the front,
 * serves at most a quantum of entries and, if messages are left, pushes it
 * back, so that no device waits behind another's whole batch or backlog.
 */
#ifndef FT_HUB_FAIR_H
#define FT_HUB_FAIR_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    size_t *v; /* capacity cap, the n items from head on (modulo cap) */
    size_t head, n, cap;
} fair_ring_t;

/* Appends x at the back; false when out of memory (the ring is unchanged).
 * A push right after a pop never needs memory. */
bool fair_ring_push(fair_ring_t *r, size_t x);
/* Removes and returns the front; the ring must not be empty. */
size_t fair_ring_pop(fair_ring_t *r);
void fair_ring_free(fair_ring_t *r);

#endif
