/* pace.c: the sends a bot takes (see pace.h). */
#include "pace.h"

static unsigned burst_of(unsigned rate)
{
    return rate < PACE_BURST ? rate : PACE_BURST;
}

/* The short window: burst messages in burst * 60/rate s (rounded up). */
static int64_t short_window(unsigned rate)
{
    return (int64_t)burst_of(rate) * ((60000 + rate - 1) / rate);
}

/* Sends in (now - window, now]; sends "after" now (a clock stepped back)
 * do not count. */
static unsigned in_window(const pace_t *p, int64_t now, int64_t window)
{
    unsigned c = 0;
    for (size_t i = 0; i < p->n; i++) {
        c += p->t[i] > now - window && p->t[i] <= now;
    }
    return c;
}

unsigned pace_allowance(const pace_t *p, unsigned rate, int64_t now)
{
    if (!rate) {
        return 1000000;
    }
    unsigned per_min = rate < PACE_KEEP ? rate : PACE_KEEP;
    unsigned a = in_window(p, now, 60000), b = in_window(p, now, short_window(rate));
    unsigned left_min = a < per_min ? per_min - a : 0;
    unsigned left_short = b < burst_of(rate) ? burst_of(rate) - b : 0;
    return left_min < left_short ? left_min : left_short;
}

int64_t pace_next(const pace_t *p, unsigned rate, int64_t now)
{
    int64_t t = now;
    /* The allowance only grows when a send leaves a window: try each such
     * moment in order. */
    for (int guard = 0; guard < 2 * PACE_KEEP + 2 && !pace_allowance(p, rate, t); guard++) {
        int64_t next = INT64_MAX;
        for (size_t i = 0; i < p->n; i++) {
            int64_t leave[2] = {p->t[i] + 60000, p->t[i] + short_window(rate)};
            for (int k = 0; k < 2; k++) {
                if (leave[k] > t && leave[k] < next) {
                    next = leave[k];
                }
            }
        }
        if (next == INT64_MAX) {
            break;
        }
        t = next;
    }
    return t;
}

void pace_note(pace_t *p, int64_t now)
{
    if (p->n == PACE_KEEP) {
        for (size_t i = 1; i < PACE_KEEP; i++) {
            p->t[i - 1] = p->t[i];
        }
        p->n--;
    }
    p->t[p->n++] = now;
}
