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

/* The two queues of turns the sync loop serves (docs/benchmarks.md "Issue
 * 20, item 3"): devices that arrive with a message carrying no entries
 * first (a Hello: its Welcome must not wait for a round of every backlog),
 * then the round robin of the devices with entries waiting. A fresh turn
 * serves only the messages without entries at the front of the device's
 * queue (quantum 0: it costs the others nothing); what is left of the
 * device's queue goes to the back of the round like any other. */
typedef struct {
    fair_ring_t fresh; /* devices whose first waiting message carries no entries */
    fair_ring_t round; /* deficit round robin */
} fair_sched_t;

/* Schedules device x, which has no turn yet: fresh when its first waiting
 * message carries no entries. False when out of memory. */
bool fair_sched_add(fair_sched_t *f, size_t x, bool fresh);
/* Devices waiting for a turn. */
size_t fair_sched_waiting(const fair_sched_t *f);
/* The next turn (f must have one): its device, and the entries it may have
 * served (quantum, or 0 for a fresh turn). */
size_t fair_sched_next(fair_sched_t *f, size_t quantum, size_t *may_serve);
/* Device x, just served, still has messages: to the back of the round.
 * False when out of memory, only possible after a fresh turn (after a turn
 * of the round its place is free). */
bool fair_sched_again(fair_sched_t *f, size_t x);
void fair_sched_free(fair_sched_t *f);

#endif
