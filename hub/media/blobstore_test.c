/* blobstore_test.c: the blob store's partials as a reader sees them: bytes
 * received so far (written blocks, not the size a far write implies), none
 * for an absent partial, and nothing after publication. */
#include "blobstore.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char root[64];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/ft-blobstore-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void received_counts_written_bytes_of_a_partial(void **state)
{
    (void)state;
    blobstore_t *bs = NULL;
    assert_int_equal(blobstore_open(root, &bs), FT_OK);
    uint8_t id[BLOB_PART_BYTES] = {1, 2, 3};
    uint64_t got = 99;
    assert_int_equal(blobstore_partial_received(bs, id, &got), FT_ENOTFOUND);
    assert_int_equal(got, 0);
    blob_partial_t *p = NULL;
    assert_int_equal(blobstore_partial_open(bs, id, &p), FT_OK);
    assert_int_equal(blobstore_partial_received(bs, id, &got), FT_OK);
    assert_int_equal(got, 0);
    static uint8_t chunk[256 * 1024];
    memset(chunk, 0xa5, sizeof chunk);
    /* The first chunk, then one 8 MiB further on: received is two chunks
     * (give or take a block), not the 8 MiB the file's size says. */
    assert_int_equal(blobstore_partial_write(p, 0, chunk, sizeof chunk), FT_OK);
    assert_int_equal(blobstore_partial_write(p, 8u << 20, chunk, sizeof chunk), FT_OK);
    assert_int_equal(blobstore_partial_sync(p), FT_OK);
    assert_int_equal(blobstore_partial_received(bs, id, &got), FT_OK);
    assert_true(got >= 2 * sizeof chunk);
    assert_true(got <= 2 * sizeof chunk + 64 * 1024);
    blobstore_partial_close(&p);
    assert_int_equal(blobstore_partial_remove(bs, id), FT_OK);
    assert_int_equal(blobstore_partial_received(bs, id, &got), FT_ENOTFOUND);
    blobstore_destroy(&bs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(received_counts_written_bytes_of_a_partial, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
