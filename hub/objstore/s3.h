/* s3.h: a small S3 client over libcurl: the requests the blob store makes
 * of an S3-compatible store (Ceph RGW, Huawei OBS, Alibaba OSS, AWS S3),
 * path-style (ENDPOINT/BUCKET/KEY), signed with s3sig.
 *
 * Every request carries x-amz-content-sha256 with the real SHA-256 of its
 * body (the caller's, for a body streamed from a file) and, when it has a
 * body, Content-MD5: the store recomputes both and refuses a body that does
 * not match (BadDigest, XAmzContentSHA256Mismatch), so no byte changed
 * between the hub's check and the store lands. Every object PUT carries
 * If-None-Match: * (content-addressed keys: an existing object is the same
 * bytes and is never overwritten).
 *
 * Results: FT_OK (2xx); FT_EEXIST (412: the object exists); FT_ENOTFOUND
 * (404); FT_EAGAIN (no answer, a timeout, 5xx, 503 SlowDown: try again
 * later); FT_EKEY (403 other than a digest: credentials or clock); FT_EINVAL
 * (the store refused the request: BadDigest, a hash mismatch, any other
 * 4xx). res gets the status, the store's error code and message, ETag and
 * version ID. Never logs the secret key or the Authorization header.
 */
#ifndef FT_S3_H
#define FT_S3_H

#include "error.h"
#include "s3sig.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the store is and who we are. Copied by s3_new. */
typedef struct {
    const char *endpoint; /* http://host:port or https://host:port, no path */
    const char *bucket;
    const char *region;
    const char *access_key;
    const char *secret_key;
    const char *ca_file; /* NULL: the system's CAs */
    long timeout_s;      /* a request with no progress this long fails (0: 60) */
} s3_conf_t;

typedef struct s3_t s3_t;

/* What a request got back. */
typedef struct {
    long http;            /* HTTP status; 0 when no answer */
    char code[64];        /* the store's error code (<Code>), or "" */
    char message[200];    /* the store's message, or curl's error */
    char etag[80];        /* ETag, quotes removed */
    char version_id[160]; /* x-amz-version-id, or "" */
    uint64_t length;      /* Content-Length of a HEAD or GET */
} s3_res_t;

/* A body streamed from a file, with its digests computed beforehand. */
typedef struct {
    int fd;                 /* read with pread */
    uint64_t off;           /* first byte */
    uint64_t len;           /* bytes */
    const char *sha256_hex; /* SHA-256 of those bytes */
    const char *md5_b64;    /* MD5 of those bytes, base64 */
} s3_body_t;

/* FT_OK, FT_ENOMEM, FT_EINVAL (an endpoint that is not http(s)://). */
int s3_new(const s3_conf_t *c, s3_t **out) FT_MUST_CHECK;
void s3_destroy(s3_t **s_p);

/* PUT key with If-None-Match: *; extra: more headers (Object Lock). */
int s3_put(s3_t *s, const char *key, const s3_body_t *body, const s3sig_pair_t *extra,
           size_t n_extra, s3_res_t *res) FT_MUST_CHECK;
/* Starts a multipart upload (upload_id: at least 256 bytes). */
int s3_mpu_create(s3_t *s, const char *key, const s3sig_pair_t *extra, size_t n_extra,
                  char *upload_id, size_t id_len, s3_res_t *res) FT_MUST_CHECK;
/* Uploads part number (1..10000); its ETag lands in res->etag. */
int s3_mpu_part(s3_t *s, const char *key, const char *upload_id, unsigned number,
                const s3_body_t *body, s3_res_t *res) FT_MUST_CHECK;
/* Completes with the parts' ETags in order (If-None-Match: *). */
int s3_mpu_complete(s3_t *s, const char *key, const char *upload_id, char *const *etags, unsigned n,
                    s3_res_t *res) FT_MUST_CHECK;
int s3_mpu_abort(s3_t *s, const char *key, const char *upload_id, s3_res_t *res) FT_MUST_CHECK;
/* HEAD key: size in res->length. */
int s3_head(s3_t *s, const char *key, s3_res_t *res) FT_MUST_CHECK;
/* GET key into fd (from its current offset). */
int s3_get(s3_t *s, const char *key, int fd, s3_res_t *res) FT_MUST_CHECK;
/* DELETE key (a version when version_id is not NULL or ""). */
int s3_delete(s3_t *s, const char *key, const char *version_id, s3_res_t *res) FT_MUST_CHECK;
/* Object Lock: COMPLIANCE until retain_until_s (Unix seconds); legal hold on or off. */
int s3_put_retention(s3_t *s, const char *key, int64_t retain_until_s, s3_res_t *res) FT_MUST_CHECK;
int s3_put_legal_hold(s3_t *s, const char *key, bool on, s3_res_t *res) FT_MUST_CHECK;
/* Whether the bucket has Object Lock enabled (GET ?object-lock). */
int s3_bucket_lock(s3_t *s, bool *enabled, s3_res_t *res) FT_MUST_CHECK;
/* Creates the bucket (with Object Lock when lock) -- for tests and setup. */
int s3_bucket_create(s3_t *s, bool lock, s3_res_t *res) FT_MUST_CHECK;

/* Any request, for tests: body (NULL: none), the payload hash and MD5 sent
 * as given (so a test can send wrong ones), the response body into out
 * (up to out_len - 1 bytes, NUL-terminated) when out is not NULL. */
typedef struct {
    const char *method;
    const char *key; /* NULL or "": the bucket itself */
    const s3sig_pair_t *query;
    size_t n_query;
    const s3sig_pair_t *headers;
    size_t n_headers;
    const s3_body_t *body; /* streamed from a file */
    const void *mem;       /* or a body in memory */
    size_t mem_len;
    const char *payload_sha256; /* NULL: computed from mem (or the empty hash) */
    const char *content_md5;    /* NULL: computed from mem when there is a body */
    int out_fd;                 /* >= 0: response body written here */
    char *out;
    size_t out_len;
} s3_call_t;
int s3_call(s3_t *s, const s3_call_t *c, s3_res_t *res) FT_MUST_CHECK;
/* "HTTP 400 BadDigest: ..." for logs (no secrets in it). */
void s3_res_text(const s3_res_t *res, char *buf, size_t n);

#endif
