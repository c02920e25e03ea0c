/* hlc.c: hybrid logical clock arithmetic. */
#include "hlc.h"

#include <time.h>

void hlc_init(hlc_t *c, uint64_t persisted)
{
    c->last = persisted;
}

/* Smallest timestamp strictly after floor that is not before wall_ms. */
static uint64_t next_after(uint64_t floor, uint64_t wall_ms)
{
    uint64_t wall_ts = wall_ms << 16;
    if (wall_ts > floor) {
        return wall_ts;
    }
    return floor + 1; /* counter++, carrying into ms on overflow */
}

uint64_t hlc_tick(hlc_t *c, uint64_t wall_ms)
{
    c->last = next_after(c->last, wall_ms);
    return c->last;
}

uint64_t hlc_observe(hlc_t *c, uint64_t remote, uint64_t wall_ms)
{
    uint64_t floor = remote > c->last ? remote : c->last;
    c->last = next_after(floor, wall_ms);
    return c->last;
}

uint64_t hlc_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
