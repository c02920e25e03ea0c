/* s3store_test.c: the upload queue without a network: a queued blob's
 * record holds each part's SHA-256 and MD5 of the bytes as they were when it
 * was queued (computed independently here); a blob is queued, not confirmed,
 * until the store answers; with the store unreachable the uploader keeps it
 * queued, says why in its status and confirms nothing; reading an
 * unconfirmed blob finds nothing; a name that is not hex is refused. */
#include "s3store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fsutil.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEX "00aa11bb22cc33dd44ee55ff66778899aabbccddeeff00112233445566778899"

static s3store_conf_t conf(void)
{
    s3store_conf_t c = {.s3 = {.endpoint = "http://127.0.0.1:1",
                               .bucket = "county-a",
                               .region = "us-east-1",
                               .access_key = "AK",
                               .secret_key = "SECRET-never-logged",
                               .timeout_s = 2},
                        .prefix = "media/",
                        .multipart_bytes = 8 << 20,
                        .part_bytes = 5 << 20,
                        .lock_days = 3,
                        .cache_bytes = 1 << 20};
    return c;
}

static void write_file(const char *path, size_t n, uint8_t **data)
{
    *data = malloc(n);
    for (size_t i = 0; i < n; i++) {
        (*data)[i] = (uint8_t)(i * 7 + i / 251);
    }
    assert_int_equal(fsutil_write_atomic(path, *data, n, 0600), FT_OK);
}

static void digests(const uint8_t *d, size_t n, char sha[S3SIG_SHA256_HEX], char md5[S3SIG_MD5_B64])
{
    s3sig_digest_t *g = s3sig_digest_new();
    s3sig_digest_update(g, d, n);
    s3sig_digest_final(&g, sha, md5);
}

static void a_queued_blob_records_each_parts_digests_and_is_not_confirmed(void **state)
{
    (void)state;
    char base[4096];
    testutil_tmpdir(base, sizeof base, "s3store");
    char blob[4200], rec[4300];
    snprintf(blob, sizeof blob, "%s/blob", base);
    uint8_t *data;
    size_t n = (11 << 20) + 123; /* 3 parts of 5 MiB, the last short */
    write_file(blob, n, &data);
    s3store_conf_t c = conf();
    s3store_t *s = NULL;
    assert_int_equal(s3store_open(&c, base, &s), FT_OK);
    assert_false(s3store_queued(s, HEX));
    assert_int_equal(s3store_enqueue(s, HEX, blob), FT_OK);
    assert_true(s3store_queued(s, HEX));
    assert_false(s3store_confirmed(s, HEX));
    snprintf(rec, sizeof rec, "%s/s3/queue/%s", base, HEX);
    char *text = NULL;
    size_t len;
    assert_int_equal(fsutil_read_all(rec, &text, &len), FT_OK);
    char want[4400];
    snprintf(want, sizeof want, "%s\n%zu %u 3\n", blob, n, 5u << 20);
    assert_int_equal(strncmp(text, want, strlen(want)), 0);
    const char *p = text + strlen(want);
    for (size_t i = 0; i < 3; i++) {
        size_t off = i * (5u << 20), plen = off + (5u << 20) < n ? 5u << 20 : n - off;
        char sha[S3SIG_SHA256_HEX], md5[S3SIG_MD5_B64], line[200];
        digests(data + off, plen, sha, md5);
        snprintf(line, sizeof line, "%s %s\n", sha, md5);
        assert_int_equal(strncmp(p, line, strlen(line)), 0);
        p += strlen(line);
    }
    assert_string_equal(p, "");
    free(text);
    /* Not confirmed: nothing to read, nothing to lock. */
    assert_int_equal(s3store_open_read(s, HEX), FT_ENOTFOUND);
    assert_int_equal(s3store_enqueue(s, "not hex!", blob), FT_EINVAL);
    assert_int_equal(s3store_open_read(s, "../../etc"), FT_EINVAL);
    s3store_destroy(&s);
    s3store_destroy(&s); /* twice: safe */
    free(data);
    testutil_rmrf(base);
}

static void an_unreachable_store_keeps_the_blob_queued_and_says_why(void **state)
{
    (void)state;
    char base[4096];
    testutil_tmpdir(base, sizeof base, "s3store");
    char blob[4200];
    snprintf(blob, sizeof blob, "%s/blob", base);
    uint8_t *data;
    write_file(blob, 1000, &data);
    s3store_conf_t c = conf();
    s3store_t *s = NULL;
    assert_int_equal(s3store_open(&c, base, &s), FT_OK);
    assert_int_equal(s3store_enqueue(s, HEX, blob), FT_OK);
    assert_int_equal(s3store_start(s, NULL, NULL), FT_OK);
    char *st = NULL;
    for (int i = 0; i < 100; i++) {
        free(st);
        st = s3store_status_read(base);
        if (st && strstr(st, "\"failures\":1")) {
            break;
        }
        usleep(50000);
    }
    assert_non_null(st);
    assert_non_null(strstr(st, "\"queued\":1"));
    assert_non_null(strstr(st, "\"queued_bytes\":1000"));
    assert_non_null(strstr(st, "no answer from the object store"));
    assert_null(strstr(st, "SECRET"));
    free(st);
    assert_true(s3store_queued(s, HEX));
    assert_false(s3store_confirmed(s, HEX));
    s3store_destroy(&s);
    assert_int_equal(access(blob, F_OK), 0); /* the local copy stays */
    free(data);
    testutil_rmrf(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_queued_blob_records_each_parts_digests_and_is_not_confirmed),
        cmocka_unit_test(an_unreachable_store_keeps_the_blob_queued_and_says_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
