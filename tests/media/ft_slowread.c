/* ft_slowread.c: a preload library for tests (LD_PRELOAD) that makes every
 * pread of one file slow, so that a test can kill a process in the middle
 * of reading it (tests/media/inbox_slow_writer.sh kills the edge in the
 * middle of an ingest). FT_SLOWREAD_PATH names the file (compared with the
 * descriptor's /proc link), FT_SLOWREAD_MS the delay of each read. Every
 * other read is passed on unchanged. (_GNU_SOURCE, for RTLD_NEXT, comes from
 * the build.) */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);

static void maybe_wait(int fd)
{
    const char *want = getenv("FT_SLOWREAD_PATH");
    const char *ms = getenv("FT_SLOWREAD_MS");
    if (!want || !ms) {
        return;
    }
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) {
        return;
    }
    path[n] = '\0';
    if (strcmp(path, want) != 0) {
        return;
    }
    long v = strtol(ms, NULL, 10);
    struct timespec ts = {v / 1000, (v % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    static pread_fn real;
    if (!real) {
        real = (pread_fn)dlsym(RTLD_NEXT, "pread");
    }
    maybe_wait(fd);
    return real(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
    static pread_fn real;
    if (!real) {
        real = (pread_fn)dlsym(RTLD_NEXT, "pread64");
    }
    maybe_wait(fd);
    return real(fd, buf, n, off);
}
