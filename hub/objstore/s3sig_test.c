/* s3sig_test.c: S3 request building against vectors published elsewhere:
 * the signature examples of the Amazon S3 API reference ("Signature
 * Calculations for the Authorization Header", examplebucket, 20130524) for
 * the canonical request, the signed headers and the signature; RFC 1321's
 * MD5 test suite and FIPS 180-2's SHA-256 "abc"; the base64 Content-MD5 of
 * no bytes that S3 documents. A control character in a header is refused. */
#include "s3sig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "keys.h"

#include <stdlib.h>
#include <string.h>

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define HOST "examplebucket.s3.amazonaws.com"
#define DATE "20130524T000000Z"

static void aws_get_object_example_signs_as_published(void **state)
{
    (void)state;
    s3sig_pair_t h[] = {{"Range", "bytes=0-9"}, {"x-amz-content-sha256", S3SIG_EMPTY_SHA256}};
    s3sig_req_t r = {.method = "GET",
                     .host = HOST,
                     .path = "/test.txt",
                     .headers = h,
                     .n_headers = 2,
                     .payload_sha256 = S3SIG_EMPTY_SHA256,
                     .amz_date = DATE,
                     .region = "us-east-1",
                     .access_key = AK,
                     .secret_key = SK};
    int err;
    char *c = s3sig_canonical(&r, &err);
    assert_non_null(c);
    assert_string_equal(c, "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
                           "range:bytes=0-9\nx-amz-content-sha256:" S3SIG_EMPTY_SHA256 "\n"
                           "x-amz-date:20130524T000000Z\n\n"
                           "host;range;x-amz-content-sha256;x-amz-date\n" S3SIG_EMPTY_SHA256);
    free(c);
    char *a = s3sig_authorization(&r, &err);
    assert_non_null(a);
    assert_string_equal(a, "AWS4-HMAC-SHA256 Credential=" AK "/20130524/us-east-1/s3/"
                           "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;"
                           "x-amz-date, Signature="
                           "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    free(a);
}

static void aws_put_object_example_encodes_the_key_and_signs_as_published(void **state)
{
    (void)state;
    /* "Welcome to Amazon S3." -> the published payload hash, computed here. */
    const char *body = "Welcome to Amazon S3.";
    s3sig_digest_t *d = s3sig_digest_new();
    assert_non_null(d);
    s3sig_digest_update(d, body, strlen(body));
    char sha[S3SIG_SHA256_HEX], md5[S3SIG_MD5_B64];
    s3sig_digest_final(&d, sha, md5);
    assert_null(d);
    assert_string_equal(sha, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    s3sig_pair_t h[] = {{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                        {"x-amz-content-sha256", sha},
                        {"Date", "Fri, 24 May 2013 00:00:00 GMT"}};
    s3sig_req_t r = {.method = "PUT",
                     .host = HOST,
                     .path = "/test$file.text",
                     .headers = h,
                     .n_headers = 3,
                     .payload_sha256 = sha,
                     .amz_date = DATE,
                     .region = "us-east-1",
                     .access_key = AK,
                     .secret_key = SK};
    int err;
    char *c = s3sig_canonical(&r, &err);
    assert_non_null(c);
    assert_non_null(strstr(c, "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n"));
    free(c);
    char *a = s3sig_authorization(&r, &err);
    assert_non_null(a);
    assert_non_null(strstr(a, "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;"
                              "x-amz-storage-class, Signature="
                              "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"));
    free(a);
}

static void aws_bucket_examples_sort_and_encode_the_query(void **state)
{
    (void)state;
    s3sig_pair_t h[] = {{"x-amz-content-sha256", S3SIG_EMPTY_SHA256}};
    s3sig_pair_t lifecycle[] = {{"lifecycle", NULL}};
    s3sig_req_t r = {.method = "GET",
                     .host = HOST,
                     .path = "/",
                     .query = lifecycle,
                     .n_query = 1,
                     .headers = h,
                     .n_headers = 1,
                     .payload_sha256 = S3SIG_EMPTY_SHA256,
                     .amz_date = DATE,
                     .region = "us-east-1",
                     .access_key = AK,
                     .secret_key = SK};
    int err;
    char *a = s3sig_authorization(&r, &err);
    assert_non_null(a);
    assert_non_null(
        strstr(a, "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"));
    free(a);
    /* List objects: given out of order, signed in order. */
    s3sig_pair_t list[] = {{"prefix", "J"}, {"max-keys", "2"}};
    r.query = list;
    r.n_query = 2;
    char *q = s3sig_query(&r);
    assert_string_equal(q, "max-keys=2&prefix=J");
    free(q);
    a = s3sig_authorization(&r, &err);
    assert_non_null(a);
    assert_non_null(
        strstr(a, "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
    free(a);
    /* A multipart part: the upload ID's reserved characters are encoded. */
    s3sig_pair_t part[] = {{"uploadId", "2~a+b/c="}, {"partNumber", "10"}};
    r.query = part;
    q = s3sig_query(&r);
    assert_string_equal(q, "partNumber=10&uploadId=2~a%2Bb%2Fc%3D");
    free(q);
}

static void md5_and_sha256_match_the_rfc_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *md5;
    } v[] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
        {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
         "57edf4a22be3c955ac49da2e2107b67a"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t m[S3SIG_MD5_BYTES];
        char hex[33];
        assert_int_equal(s3sig_md5(v[i].in, strlen(v[i].in), m), FT_OK);
        hex_encode(m, sizeof m, hex);
        assert_string_equal(hex, v[i].md5);
    }
    /* One pass gives both; Content-MD5 is base64 of the raw digest. */
    s3sig_digest_t *d = s3sig_digest_new();
    char sha[S3SIG_SHA256_HEX], md5[S3SIG_MD5_B64];
    s3sig_digest_update(d, "ab", 2);
    s3sig_digest_update(d, "c", 1);
    s3sig_digest_final(&d, sha, md5);
    assert_string_equal(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(md5, "kAFQmDzST7DWlj99KOF/cg==");
    d = s3sig_digest_new();
    s3sig_digest_final(&d, sha, md5);
    assert_string_equal(sha, S3SIG_EMPTY_SHA256);
    assert_string_equal(md5, "1B2M2Y8AsgTpgAmY7PhCfg==");
}

static void a_header_with_a_newline_is_refused(void **state)
{
    (void)state;
    s3sig_pair_t h[] = {{"x-amz-meta-a", "one\nx-amz-date: forged"}};
    s3sig_req_t r = {.method = "GET",
                     .host = HOST,
                     .path = "/k",
                     .headers = h,
                     .n_headers = 1,
                     .payload_sha256 = S3SIG_EMPTY_SHA256,
                     .amz_date = DATE,
                     .region = "us-east-1",
                     .access_key = AK,
                     .secret_key = SK};
    int err = FT_OK;
    assert_null(s3sig_authorization(&r, &err));
    assert_int_equal(err, FT_EINVAL);
    char d[S3SIG_AMZ_DATE];
    s3sig_amz_date(1369353600, d);
    assert_string_equal(d, DATE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(aws_get_object_example_signs_as_published),
        cmocka_unit_test(aws_put_object_example_encodes_the_key_and_signs_as_published),
        cmocka_unit_test(aws_bucket_examples_sort_and_encode_the_query),
        cmocka_unit_test(md5_and_sha256_match_the_rfc_vectors),
        cmocka_unit_test(a_header_with_a_newline_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
