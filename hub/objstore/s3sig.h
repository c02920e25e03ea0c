/* s3sig.h: building S3 requests: AWS Signature Version 4 (header form),
 * the payload digests S3 checks (x-amz-content-sha256: SHA-256 in hex;
 * Content-MD5: MD5 in base64) and the URI encoding of keys and queries.
 *
 * Pure: no network, no clock (the caller gives the time), no allocation
 * beyond what a function returns. The request is signed here rather than by
 * libcurl (CURLOPT_AWS_SIGV4): libcurl 7.88 neither computes
 * x-amz-content-sha256 nor Content-MD5, and a signer of our own is what the
 * unit tests can pin against the published AWS examples
 * (s3sig_test.c), canonical request by canonical request.
 *
 * Canonical request (what is signed):
 *   METHOD \n URI-encoded path ('/' kept) \n sorted query (k=v, encoded) \n
 *   lower-case header names with trimmed values, sorted, one per line \n
 *   \n signed header names joined by ';' \n payload SHA-256 (hex)
 * Every header given is signed, plus host and x-amz-date.
 */
#ifndef FT_S3SIG_H
#define FT_S3SIG_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

#define S3SIG_SHA256_HEX 65 /* 64 hex digits and NUL */
#define S3SIG_MD5_BYTES 16
#define S3SIG_MD5_B64 25  /* 24 base64 characters and NUL */
#define S3SIG_AMZ_DATE 17 /* 20130524T000000Z and NUL */
/* The SHA-256 of no bytes, the payload hash of a request without a body. */
#define S3SIG_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* One header or query parameter; a query value NULL is "k=" (e.g. ?uploads). */
typedef struct {
    const char *name;
    const char *value;
} s3sig_pair_t;

/* What a request is signed over. Borrowed strings. */
typedef struct {
    const char *method;        /* "PUT", "GET", ... */
    const char *host;          /* the Host header: "host" or "host:port" */
    const char *path;          /* "/bucket/key", not yet encoded */
    const s3sig_pair_t *query; /* not yet encoded, any order */
    size_t n_query;
    const s3sig_pair_t *headers; /* besides host and x-amz-date, any order and case */
    size_t n_headers;
    const char *payload_sha256; /* hex, as sent in x-amz-content-sha256 */
    const char *amz_date;       /* the x-amz-date sent: YYYYMMDDTHHMMSSZ */
    const char *region;         /* e.g. "us-east-1" */
    const char *access_key;
    const char *secret_key;
} s3sig_req_t;

/* The canonical request of r (caller frees), or NULL (no memory, or a
 * header name or value with a control character: FT_EINVAL in err). */
char *s3sig_canonical(const s3sig_req_t *r, int *err);
/* The Authorization header's value for r (caller frees), or NULL as
 * s3sig_canonical. */
char *s3sig_authorization(const s3sig_req_t *r, int *err);
/* The encoded query string of r's parameters in canonical order (caller
 * frees; "" when none), for the URL itself. */
char *s3sig_query(const s3sig_req_t *r);
/* The encoded path of r (caller frees), for the URL itself. */
char *s3sig_path(const char *path);
/* x-amz-date text of a Unix time in seconds. */
void s3sig_amz_date(int64_t unix_s, char out[S3SIG_AMZ_DATE]);

/* Incremental digests of a body: SHA-256 and MD5 together, in one pass. */
typedef struct s3sig_digest_t s3sig_digest_t;
/* NULL when out of memory (or MD5 is not available from libcrypto). */
s3sig_digest_t *s3sig_digest_new(void);
void s3sig_digest_update(s3sig_digest_t *d, const void *data, size_t len);
/* Writes the SHA-256 in hex and the MD5 in base64, and frees d. */
void s3sig_digest_final(s3sig_digest_t **d_p, char sha_hex[S3SIG_SHA256_HEX],
                        char md5_b64[S3SIG_MD5_B64]);
/* MD5 of len bytes (raw 16 bytes); FT_OK or FT_ECRYPTO. */
int s3sig_md5(const void *data, size_t len, uint8_t out[S3SIG_MD5_BYTES]) FT_MUST_CHECK;

#endif
