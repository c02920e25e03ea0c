/* testutil.c: temporary directories and a closed port for tests. */
#define _XOPEN_SOURCE 700
#include "testutil.h"
#include "fsutil.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
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

int testutil_closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0) {
        perror("testutil_closed_port");
        abort();
    }
    close(s);
    return ntohs(a.sin_port);
}
