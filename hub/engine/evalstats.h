/* evalstats.h: how long the gap engine's evaluation passes take, for
 * /metrics (docs/api.md).
 *
 * The evaluation thread (evaluator.c) times each engine_step with the
 * monotonic clock and records it here; the dashboard's threads read a
 * consistent copy. One set of figures per process (there is one evaluation
 * thread in `run`); a mutex guards it, so a reader never sees a sum from one
 * pass and a count from another. Recording costs a lock and a few additions
 * per pass (every 500 ms by default).
 */
#ifndef FT_HUB_EVALSTATS_H
#define FT_HUB_EVALSTATS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t passes;     /* evaluation passes finished (failed ones too) */
    uint64_t failures;   /* passes that ended in an error */
    double seconds_sum;  /* their total duration */
    double last_seconds; /* the duration of the latest pass */
    double max_seconds;  /* the longest pass */
    uint64_t entries;    /* entries taken into the case index */
    uint64_t units;      /* cases and items evaluated */
    uint64_t events;     /* alert events made */
} evalstats_t;

/* Records one pass (evaluation thread). */
void evalstats_record(double seconds, bool ok, uint64_t entries, uint64_t units, uint64_t events);
/* Copies the figures so far (any thread). */
void evalstats_get(evalstats_t *out);
/* Seconds of the monotonic clock, for timing a pass. */
double evalstats_now(void);

#endif
