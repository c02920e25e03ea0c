/* ratelimit.h: at most N events per window (log lines, audit entries), with
 * a count of what was held back so the next allowed line can say it.
 *
 * Not thread-safe: each user keeps one per thread or under its own lock.
 */
#ifndef FT_RATELIMIT_H
#define FT_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int64_t window_ms;   /* length of a window */
    unsigned per_window; /* events allowed in one window */
    int64_t start_ms;    /* start of the current window */
    unsigned used;       /* events allowed in it so far */
    uint64_t held;       /* events held back since the last allowed one */
} ratelimit_t;

/* A limiter allowing per_window events every window_ms. */
ratelimit_t ratelimit_make(unsigned per_window, int64_t window_ms);
/* True if an event at now_ms may pass; *held (if not NULL) is then the
 * number held back before it (and the count restarts). False counts it as
 * held back. */
bool ratelimit_allow(ratelimit_t *r, int64_t now_ms, uint64_t *held);

#endif
