/* window.h: the one definition of a time window and of two windows meeting,
 * for the gap rules that raise alerts (hub/gaps, hub/engine) and for what
 * the pages and the compliance report show (hub/views): both must say the
 * same thing about the same clip and activity (docs/rules.md "Covered by
 * media").
 *
 * A window is half-open, [start, end) in ms: it holds the instants
 * start <= t < end. Two windows overlap when they share an instant, so two
 * that only touch (one ends when the other starts) do not, and the time one
 * covers of another is the length of their intersection. An empty window
 * (end <= start: an activity that starts and ends at once, a clip with no end)
 * stands for the instant start: it overlaps a window that holds that
 * instant, and an empty window of the same instant; it covers no time.
 */
#ifndef FT_WINDOW_H
#define FT_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

/* Whether [a_start, a_end) and [b_start, b_end) share an instant. */
static inline bool window_overlaps(int64_t a_start, int64_t a_end, int64_t b_start, int64_t b_end)
{
    bool a_empty = a_end <= a_start, b_empty = b_end <= b_start;
    if (a_empty && b_empty) {
        return a_start == b_start;
    }
    if (a_empty) {
        return b_start <= a_start && a_start < b_end;
    }
    if (b_empty) {
        return a_start <= b_start && b_start < a_end;
    }
    return a_start < b_end && b_start < a_end;
}

/* The time [a_start, a_end) covers of [b_start, b_end): the length of their
 * intersection in ms (0 when they do not overlap, or one is empty). */
static inline int64_t window_covered_ms(int64_t a_start, int64_t a_end, int64_t b_start,
                                        int64_t b_end)
{
    int64_t s = a_start > b_start ? a_start : b_start;
    int64_t e = a_end < b_end ? a_end : b_end;
    return e > s ? e - s : 0;
}

#endif
