/* testutil.c: temporary directories for tests. */
#define _XOPEN_SOURCE 700
#include "testutil.h"
#include "fsutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void testutil_tmpdir(char *buf, size_t buflen, const char *name)
{
    const char *base = getenv("FT_TEST_TMP");
    if (!base || !*base) {
        base = "/tmp";
    }
    if (fsutil_mkdirs(base, 0700) != 0) {
        fprintf(stderr, "cannot create %s\n", base);
        abort();
    }
    snprintf(buf, buflen, "%s/%s.XXXXXX", base, name);
    if (!mkdtemp(buf)) {
        perror("mkdtemp");
        abort();
    }
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void testutil_rmrf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
