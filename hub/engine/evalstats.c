/* evalstats.c: the gap engine's pass timings (see evalstats.h). */
#include "evalstats.h"

#include <pthread.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static evalstats_t stats;

void evalstats_record(double seconds, bool ok, uint64_t entries, uint64_t units, uint64_t events)
{
    if (seconds < 0) {
        seconds = 0;
    }
    pthread_mutex_lock(&lock);
    stats.passes++;
    stats.failures += !ok;
    stats.seconds_sum += seconds;
    stats.last_seconds = seconds;
    if (seconds > stats.max_seconds) {
        stats.max_seconds = seconds;
    }
    stats.entries += entries;
    stats.units += units;
    stats.events += events;
    pthread_mutex_unlock(&lock);
}

void evalstats_get(evalstats_t *out)
{
    pthread_mutex_lock(&lock);
    *out = stats;
    pthread_mutex_unlock(&lock);
}

double evalstats_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
