/* pace.h: how many messages may go to one bot now (docs/alerts.md "Pace").
 *
 * A hook with a rate of R messages a minute sends at most R in any 60 s
 * and at most PACE_BURST in any PACE_BURST * 60/R s (so a burst does not
 * take the whole minute at once). The times of the last sends are the whole
 * state: the hook thread keeps them in the cursors file, so the pace holds
 * across a restart. Every try counts (a bot counts the requests it saw).
 * Pure functions; times in ms.
 */
#ifndef FT_HUB_PACE_H
#define FT_HUB_PACE_H

#include <stddef.h>
#include <stdint.h>

#define PACE_BURST 3
#define PACE_KEEP 128 /* sends remembered; a rate above this counts 128 a minute */

typedef struct {
    int64_t t[PACE_KEEP]; /* oldest first */
    size_t n;
} pace_t;

/* Messages that may go at now (0: none). rate 0: unpaced (a large number). */
unsigned pace_allowance(const pace_t *p, unsigned rate, int64_t now);
/* The earliest time >= now at which one message may go. */
int64_t pace_next(const pace_t *p, unsigned rate, int64_t now);
/* Records a send at now. */
void pace_note(pace_t *p, int64_t now);

#endif
