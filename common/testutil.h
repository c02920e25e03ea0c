/* testutil.h: helpers shared by unit tests (temporary state directories,
 * a port nothing listens on). */
#ifndef FT_TESTUTIL_H
#define FT_TESTUTIL_H

#include <stddef.h>

/* Creates a fresh empty directory for a test under $FT_TEST_TMP (or /tmp)
 * and writes its path into buf. Aborts the test binary on failure. */
void testutil_tmpdir(char *buf, size_t buflen, const char *name);
/* Removes a directory tree made by testutil_tmpdir. */
void testutil_rmrf(const char *path);
/* A TCP port on 127.0.0.1 that nothing listens on (bound, then closed), for
 * tests of a connection refused. Aborts the test binary on failure. */
int testutil_closed_port(void);

#endif
