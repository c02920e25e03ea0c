/* s3sig.c: S3 request signing and payload digests (see s3sig.h). */
#include "s3sig.h"
#include "keys.h"
#include "sha256.h"
#include "strbuf.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef strbuf_t sbuf_t; /* common/strbuf.h */

static void put_n(sbuf_t *b, const char *s, size_t n)
{
    strbuf_add(b, s, n);
}

static void put(sbuf_t *b, const char *s)
{
    put_n(b, s, strlen(s));
}

static char *done(sbuf_t *b)
{
    if (b->oom) {
        free(b->p);
        return NULL;
    }
    if (!b->p) {
        return strdup("");
    }
    return b->p;
}

/* RFC 3986 percent-encoding of everything but the unreserved characters
 * (and '/' when keep_slash), as SigV4 wants it. */
static void put_enc(sbuf_t *b, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
            (keep_slash && *p == '/')) {
            put_n(b, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            put_n(b, e, 3);
        }
    }
}

char *s3sig_path(const char *path)
{
    sbuf_t b = {0};
    put_enc(&b, path, true);
    return done(&b);
}

typedef struct {
    char *k, *v; /* encoded */
} kv_t;

static int kv_cmp(const void *a, const void *b)
{
    const kv_t *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

char *s3sig_query(const s3sig_req_t *r)
{
    kv_t *kv = calloc(r->n_query ? r->n_query : 1, sizeof *kv);
    if (!kv) {
        return NULL;
    }
    bool oom = false;
    for (size_t i = 0; i < r->n_query; i++) {
        sbuf_t k = {0}, v = {0};
        put_enc(&k, r->query[i].name, false);
        put_enc(&v, r->query[i].value ? r->query[i].value : "", false);
        kv[i].k = done(&k);
        kv[i].v = done(&v);
        oom |= !kv[i].k || !kv[i].v;
    }
    sbuf_t b = {0};
    if (!oom) {
        qsort(kv, r->n_query, sizeof *kv, kv_cmp);
        for (size_t i = 0; i < r->n_query; i++) {
            put(&b, i ? "&" : "");
            put(&b, kv[i].k);
            put(&b, "=");
            put(&b, kv[i].v);
        }
    } else {
        b.oom = true;
    }
    for (size_t i = 0; i < r->n_query; i++) {
        free(kv[i].k);
        free(kv[i].v);
    }
    free(kv);
    return done(&b);
}

typedef struct {
    char *name;        /* lower case */
    const char *value; /* borrowed, trimmed by (value, len) */
    size_t len;
} hdr_t;

static int hdr_cmp(const void *a, const void *b)
{
    return strcmp(((const hdr_t *)a)->name, ((const hdr_t *)b)->name);
}

/* Adds name: value (trimmed) to h; FT_EINVAL on a control character. */
static int hdr_add(hdr_t *h, size_t *n, const char *name, const char *value)
{
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p <= ' ' || *p == ':' || *p == 127) {
            return FT_EINVAL;
        }
    }
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if ((*p < ' ' && *p != '\t') || *p == 127) {
            return FT_EINVAL;
        }
    }
    char *lower = strdup(name);
    if (!lower) {
        return FT_ENOMEM;
    }
    for (char *p = lower; *p; p++) {
        *p = (char)tolower((unsigned char)*p);
    }
    while (*value == ' ' || *value == '\t') {
        value++;
    }
    size_t len = strlen(value);
    while (len && (value[len - 1] == ' ' || value[len - 1] == '\t')) {
        len--;
    }
    h[*n] = (hdr_t){lower, value, len};
    (*n)++;
    return FT_OK;
}

/* The canonical request and, in *names, the signed header list. */
static char *canonical(const s3sig_req_t *r, int *err, char **names)
{
    *err = FT_OK;
    size_t n = 0;
    hdr_t *h = calloc(r->n_headers + 2, sizeof *h);
    if (!h) {
        *err = FT_ENOMEM;
        return NULL;
    }
    int e = hdr_add(h, &n, "host", r->host);
    if (e == FT_OK) {
        e = hdr_add(h, &n, "x-amz-date", r->amz_date);
    }
    for (size_t i = 0; i < r->n_headers && e == FT_OK; i++) {
        e = hdr_add(h, &n, r->headers[i].name, r->headers[i].value);
    }
    char *out = NULL, *path = NULL, *query = NULL;
    sbuf_t b = {0}, sn = {0};
    if (e == FT_OK) {
        qsort(h, n, sizeof *h, hdr_cmp);
        path = s3sig_path(r->path);
        query = s3sig_query(r);
        if (!path || !query) {
            e = FT_ENOMEM;
        }
    }
    if (e == FT_OK) {
        put(&b, r->method);
        put(&b, "\n");
        put(&b, path);
        put(&b, "\n");
        put(&b, query);
        put(&b, "\n");
        for (size_t i = 0; i < n; i++) {
            put(&b, h[i].name);
            put(&b, ":");
            put_n(&b, h[i].value, h[i].len);
            put(&b, "\n");
            put(&sn, i ? ";" : "");
            put(&sn, h[i].name);
        }
        put(&b, "\n");
        put(&b, sn.p ? sn.p : "");
        put(&b, "\n");
        put(&b, r->payload_sha256);
        out = done(&b);
        *names = done(&sn);
        if (!out || !*names) {
            free(out);
            free(*names);
            out = *names = NULL;
            e = FT_ENOMEM;
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
    }
    free(h);
    free(path);
    free(query);
    *err = e;
    return out;
}

char *s3sig_canonical(const s3sig_req_t *r, int *err)
{
    char *names = NULL;
    char *c = canonical(r, err, &names);
    free(names);
    return c;
}

static void hmac(const uint8_t *key, size_t klen, const char *msg, uint8_t out[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, klen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
    crypto_auth_hmacsha256_final(&st, out);
}

char *s3sig_authorization(const s3sig_req_t *r, int *err)
{
    char *names = NULL;
    char *creq = canonical(r, err, &names);
    if (!creq) {
        return NULL;
    }
    uint8_t h[32];
    char hh[65], date[9], scope[160], sts[400];
    ft_sha256((const uint8_t *)creq, strlen(creq), h);
    hex_encode(h, 32, hh);
    free(creq);
    snprintf(date, sizeof date, "%.8s", r->amz_date);
    snprintf(scope, sizeof scope, "%s/%.40s/s3/aws4_request", date, r->region);
    snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", r->amz_date, scope, hh);
    /* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region), "s3"), "aws4_request") */
    size_t slen = strlen(r->secret_key);
    uint8_t *k0 = malloc(slen + 4);
    if (!k0) {
        free(names);
        *err = FT_ENOMEM;
        return NULL;
    }
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, r->secret_key, slen);
    uint8_t k[32], sig[32];
    hmac(k0, slen + 4, date, k);
    sodium_memzero(k0, slen + 4);
    free(k0);
    hmac(k, 32, r->region, k);
    hmac(k, 32, "s3", k);
    hmac(k, 32, "aws4_request", k);
    hmac(k, 32, sts, sig);
    sodium_memzero(k, sizeof k);
    char sighex[65];
    hex_encode(sig, 32, sighex);
    sbuf_t b = {0};
    put(&b, "AWS4-HMAC-SHA256 Credential=");
    put(&b, r->access_key);
    put(&b, "/");
    put(&b, scope);
    put(&b, ", SignedHeaders=");
    put(&b, names);
    put(&b, ", Signature=");
    put(&b, sighex);
    free(names);
    char *out = done(&b);
    *err = out ? FT_OK : FT_ENOMEM;
    return out;
}

void s3sig_amz_date(int64_t unix_s, char out[S3SIG_AMZ_DATE])
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, S3SIG_AMZ_DATE, "%Y%m%dT%H%M%SZ", &tm);
}

struct s3sig_digest_t {
    ft_sha256_t sha;
    EVP_MD_CTX *md5;
};

s3sig_digest_t *s3sig_digest_new(void)
{
    s3sig_digest_t *d = calloc(1, sizeof *d);
    if (!d) {
        return NULL;
    }
    ft_sha256_init(&d->sha);
    d->md5 = EVP_MD_CTX_new();
    if (!d->md5 || EVP_DigestInit_ex(d->md5, EVP_md5(), NULL) != 1) {
        EVP_MD_CTX_free(d->md5);
        free(d);
        return NULL;
    }
    return d;
}

void s3sig_digest_update(s3sig_digest_t *d, const void *data, size_t len)
{
    ft_sha256_update(&d->sha, data, len);
    (void)EVP_DigestUpdate(d->md5, data, len);
}

void s3sig_digest_final(s3sig_digest_t **d_p, char sha_hex[S3SIG_SHA256_HEX],
                        char md5_b64[S3SIG_MD5_B64])
{
    s3sig_digest_t *d = *d_p;
    uint8_t h[FT_SHA256_BYTES], m[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    ft_sha256_final(&d->sha, h);
    hex_encode(h, sizeof h, sha_hex);
    (void)EVP_DigestFinal_ex(d->md5, m, &mlen);
    sodium_bin2base64(md5_b64, S3SIG_MD5_B64, m, S3SIG_MD5_BYTES, sodium_base64_VARIANT_ORIGINAL);
    EVP_MD_CTX_free(d->md5);
    free(d);
    *d_p = NULL;
}

int s3sig_md5(const void *data, size_t len, uint8_t out[S3SIG_MD5_BYTES])
{
    unsigned int n = 0;
    return EVP_Digest(data, len, out, &n, EVP_md5(), NULL) == 1 && n == S3SIG_MD5_BYTES
               ? FT_OK
               : FT_ECRYPTO;
}
