/* ratelimit.c: fixed-window limiter (see ratelimit.h). */
#include "ratelimit.h"

ratelimit_t ratelimit_make(unsigned per_window, int64_t window_ms)
{
    ratelimit_t r = {.window_ms = window_ms > 0 ? window_ms : 1,
                     .per_window = per_window,
                     .start_ms = INT64_MIN};
    return r;
}

bool ratelimit_allow(ratelimit_t *r, int64_t now_ms, uint64_t *held)
{
    if (r->start_ms == INT64_MIN || now_ms - r->start_ms >= r->window_ms || now_ms < r->start_ms) {
        r->start_ms = now_ms;
        r->used = 0;
    }
    if (r->used >= r->per_window) {
        r->held++;
        return false;
    }
    r->used++;
    if (held) {
        *held = r->held;
    }
    r->held = 0;
    return true;
}
