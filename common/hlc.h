/* hlc.h: hybrid logical clock.
 *
 * A timestamp is (wall milliseconds << 16) | counter. hlc_tick never returns
 * a value <= any value it returned or observed before, whatever the wall
 * clock does; if the wall clock is behind, the counter advances (and carries
 * into the millisecond field when it would overflow). Persistence is the
 * owner's job: devlog stores the last value in the same LMDB transaction as
 * each entry and restores it with hlc_init, so the clock never runs
 * backwards across restarts either.
 */
#ifndef FT_HLC_H
#define FT_HLC_H

#include <stdint.h>

/* Clock state: the last timestamp issued or observed. */
typedef struct {
    uint64_t last;
} hlc_t;

/* Starts a clock that continues after `persisted` (0 for a new clock). */
void hlc_init(hlc_t *c, uint64_t persisted);
/* A new timestamp for a local event at wall time wall_ms. */
uint64_t hlc_tick(hlc_t *c, uint64_t wall_ms);
/* Merges a timestamp received from a peer; returns the new local value. */
uint64_t hlc_observe(hlc_t *c, uint64_t remote, uint64_t wall_ms);
/* The wall clock in Unix milliseconds (CLOCK_REALTIME). */
uint64_t hlc_wall_ms(void);
/* Milliseconds part of a timestamp. */
static inline uint64_t hlc_ms(uint64_t ts)
{
    return ts >> 16;
}
/* Counter part of a timestamp. */
static inline uint16_t hlc_counter(uint64_t ts)
{
    return (uint16_t)(ts & 0xffff);
}

#endif
