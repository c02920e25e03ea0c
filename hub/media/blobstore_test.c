/* blobstore_test.c: a published blob is durable when blobstore_publish
 * returns, before the hub signs a receipt that lets the edge delete its
 * copy: the file, the directory it was renamed into and every directory
 * made for it on the way (objects/ab, objects/ab/cd: their parents' entries)
 * were fsynced; the bytes read back; publishing the same blob again keeps it.
 * fsync is wrapped (-Wl,--wrap=fsync) to see what was synced. */
#include "blobstore.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "keys.h"
#include "testutil.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char synced[64][PATH_MAX];
static int n_synced;

int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __wrap_fsync(int fd)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    if (n_synced < 64) {
        ssize_t n = readlink(link, synced[n_synced], PATH_MAX - 1);
        synced[n_synced][n > 0 ? n : 0] = '\0';
        n_synced++;
    }
    return __real_fsync(fd);
}

static bool was_synced(const char *path)
{
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        return false;
    }
    for (int i = 0; i < n_synced && i < 64; i++) {
        if (strcmp(synced[i], real) == 0) {
            return true;
        }
    }
    return false;
}

static void a_published_blob_and_every_directory_made_for_it_are_synced(void **state)
{
    (void)state;
    char base[512], p[900];
    testutil_tmpdir(base, sizeof base, "blobstore");
    blobstore_t *bs = NULL;
    assert_int_equal(blobstore_open(base, &bs), FT_OK);
    uint8_t part_id[BLOB_PART_BYTES], id[BLOB_ID_BYTES];
    memset(part_id, 0x21, sizeof part_id);
    memset(id, 0xab, sizeof id);
    id[1] = 0xcd;
    blob_partial_t *part = NULL;
    assert_int_equal(blobstore_partial_open(bs, part_id, &part), FT_OK);
    assert_int_equal(blobstore_partial_write(part, 5, "world", 5), FT_OK);
    assert_int_equal(blobstore_partial_write(part, 0, "hello", 5), FT_OK);
    n_synced = 0;
    assert_int_equal(blobstore_publish(bs, &part, 10, id), FT_OK);
    assert_null(part);
    /* The file was synced before its rename (under its partial's name). */
    char hex[2 * BLOB_ID_BYTES + 1];
    hex_encode(part_id, BLOB_PART_BYTES, hex);
    bool file_synced = false;
    for (int i = 0; i < n_synced; i++) {
        file_synced = file_synced || strstr(synced[i], hex) != NULL;
    }
    assert_true(file_synced);
    snprintf(p, sizeof p, "%s/objects/ab/cd", base);
    assert_true(was_synced(p)); /* the directory it was renamed into */
    snprintf(p, sizeof p, "%s/objects/ab", base);
    assert_true(was_synced(p)); /* holds the new entry cd */
    snprintf(p, sizeof p, "%s/objects", base);
    assert_true(was_synced(p)); /* holds the new entry ab */
    snprintf(p, sizeof p, "%s/partial", base);
    assert_true(was_synced(p)); /* the partial's entry is gone */
    assert_true(blobstore_has(bs, id));
    int fd = blobstore_open_read(bs, id);
    assert_true(fd >= 0);
    char got[16] = "";
    assert_int_equal(pread(fd, got, sizeof got, 0), 10);
    assert_memory_equal(got, "helloworld", 10);
    close(fd);

    /* The same blob again: kept; its directories exist, nothing to make. */
    assert_int_equal(blobstore_partial_open(bs, part_id, &part), FT_OK);
    assert_int_equal(blobstore_partial_write(part, 0, "helloworld", 10), FT_OK);
    assert_int_equal(blobstore_publish(bs, &part, 10, id), FT_OK);
    assert_true(blobstore_has(bs, id));
    blobstore_destroy(&bs);
    testutil_rmrf(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_published_blob_and_every_directory_made_for_it_are_synced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
