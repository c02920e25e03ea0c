/* fsutil_test.c: fsutil_mkdirs makes each directory it creates durable --
 * the parent of every new directory is fsynced, an existing one is left
 * alone -- and fsutil_write_atomic syncs the file and its directory. fsync is
 * wrapped (-Wl,--wrap=fsync) to see which directories were synced. */
#include "fsutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The paths fsync was called on, in order. */
static char synced[32][PATH_MAX];
static int n_synced;
static int fail_fsync; /* fsync fails with EIO while set */

int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __wrap_fsync(int fd)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    if (n_synced < 32) {
        ssize_t n = readlink(link, synced[n_synced], PATH_MAX - 1);
        synced[n_synced][n > 0 ? n : 0] = '\0';
        n_synced++;
    }
    if (fail_fsync) {
        errno = EIO;
        return -1;
    }
    return __real_fsync(fd);
}

static bool was_synced(const char *path)
{
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        return false;
    }
    for (int i = 0; i < n_synced && i < 32; i++) {
        if (strcmp(synced[i], real) == 0) {
            return true;
        }
    }
    return false;
}

static void every_new_directory_has_its_parent_synced(void **state)
{
    (void)state;
    char base[512], path[700], p[700];
    testutil_tmpdir(base, sizeof base, "fsutil");
    snprintf(path, sizeof path, "%s/a/b/c", base);
    n_synced = 0;
    assert_int_equal(fsutil_mkdirs(path, 0700), FT_OK);
    assert_true(fsutil_exists(path));
    /* The parents of a, b and c: base, base/a, base/a/b. */
    assert_true(was_synced(base));
    snprintf(p, sizeof p, "%s/a", base);
    assert_true(was_synced(p));
    snprintf(p, sizeof p, "%s/a/b", base);
    assert_true(was_synced(p));
    assert_int_equal(n_synced, 3);

    /* Made already: nothing to make durable. One more level: its parent. */
    n_synced = 0;
    assert_int_equal(fsutil_mkdirs(path, 0700), FT_OK);
    assert_int_equal(n_synced, 0);
    snprintf(p, sizeof p, "%s/a/b/c/d/", base); /* a trailing slash */
    assert_int_equal(fsutil_mkdirs(p, 0700), FT_OK);
    assert_int_equal(n_synced, 1);
    assert_true(was_synced(path));
    testutil_rmrf(base);
}

static void a_directory_whose_parent_cannot_be_synced_is_not_left_behind(void **state)
{
    (void)state;
    char base[512], path[700];
    testutil_tmpdir(base, sizeof base, "fsutil");
    snprintf(path, sizeof path, "%s/x", base);
    fail_fsync = 1;
    assert_int_equal(fsutil_mkdirs(path, 0700), FT_EIO);
    fail_fsync = 0;
    assert_false(fsutil_exists(path)); /* the next call makes and syncs it */
    n_synced = 0;
    assert_int_equal(fsutil_mkdirs(path, 0700), FT_OK);
    assert_true(was_synced(base));
    testutil_rmrf(base);
}

static void an_atomic_write_syncs_the_file_and_its_directory(void **state)
{
    (void)state;
    char base[512], path[700];
    testutil_tmpdir(base, sizeof base, "fsutil");
    snprintf(path, sizeof path, "%s/f.txt", base);
    n_synced = 0;
    assert_int_equal(fsutil_write_atomic(path, "hello", 5, 0600), FT_OK);
    assert_int_equal(n_synced, 2);
    assert_true(was_synced(base));
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(fsutil_read_all(path, &data, &len), FT_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "hello", 5);
    free(data);
    testutil_rmrf(base);
}

static int reset(void **state)
{
    (void)state;
    n_synced = 0;
    fail_fsync = 0;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(every_new_directory_has_its_parent_synced, reset),
        cmocka_unit_test_setup(a_directory_whose_parent_cannot_be_synced_is_not_left_behind, reset),
        cmocka_unit_test_setup(an_atomic_write_syncs_the_file_and_its_directory, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
