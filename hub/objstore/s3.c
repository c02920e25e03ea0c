/* s3.c: the S3 client (see s3.h). */
#include "s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct s3_t {
    CURL *curl;
    char *endpoint; /* without a trailing '/' */
    char *host;     /* what the Host header says */
    char *bucket, *region, *access_key, *secret_key, *ca_file;
    long timeout_s;
};

/* What a transfer reads from and writes to. */
typedef struct {
    const s3_body_t *body;
    const uint8_t *mem;
    uint64_t len, pos;
    int out_fd;
    char *out;
    size_t out_len, out_n;
    char err[2048]; /* the start of an error body */
    size_t err_n;
    bool write_failed;
    s3_res_t *res;
} xfer_t;

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int s3_new(const s3_conf_t *c, s3_t **out)
{
    *out = NULL;
    const char *p = NULL;
    if (strncmp(c->endpoint, "http://", 7) == 0) {
        p = c->endpoint + 7;
    } else if (strncmp(c->endpoint, "https://", 8) == 0) {
        p = c->endpoint + 8;
    }
    const char *slash = p ? strchr(p, '/') : NULL;
    if (!p || !*p || *p == '/' || (slash && slash[1] != '\0')) {
        return FT_EINVAL;
    }
    static int inited;
    if (!inited) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        inited = 1;
    }
    s3_t *s = calloc(1, sizeof *s);
    if (!s) {
        return FT_ENOMEM;
    }
    s->curl = curl_easy_init();
    s->endpoint = strdup(c->endpoint);
    s->host = strdup(p);
    s->bucket = strdup(c->bucket);
    s->region = strdup(c->region);
    s->access_key = strdup(c->access_key);
    s->secret_key = strdup(c->secret_key);
    s->ca_file = dup_or_null(c->ca_file);
    s->timeout_s = c->timeout_s > 0 ? c->timeout_s : 60;
    if (!s->curl || !s->endpoint || !s->host || !s->bucket || !s->region || !s->access_key ||
        !s->secret_key || (c->ca_file && !s->ca_file)) {
        s3_destroy(&s);
        return FT_ENOMEM;
    }
    size_t n = strlen(s->endpoint);
    if (n && s->endpoint[n - 1] == '/') {
        s->endpoint[n - 1] = '\0';
    }
    n = strlen(s->host);
    if (n && s->host[n - 1] == '/') {
        s->host[n - 1] = '\0';
    }
    *out = s;
    return FT_OK;
}

void s3_destroy(s3_t **s_p)
{
    s3_t *s = *s_p;
    if (!s) {
        return;
    }
    if (s->curl) {
        curl_easy_cleanup(s->curl);
    }
    if (s->secret_key) {
        memset(s->secret_key, 0, strlen(s->secret_key));
    }
    free(s->endpoint);
    free(s->host);
    free(s->bucket);
    free(s->region);
    free(s->access_key);
    free(s->secret_key);
    free(s->ca_file);
    free(s);
    *s_p = NULL;
}

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
    xfer_t *x = arg;
    size_t want = size * nmemb;
    uint64_t left = x->len - x->pos;
    if (want > left) {
        want = (size_t)left;
    }
    if (want == 0) {
        return 0;
    }
    if (x->mem) {
        memcpy(buf, x->mem + x->pos, want);
        x->pos += want;
        return want;
    }
    ssize_t r = pread(x->body->fd, buf, want, (off_t)(x->body->off + x->pos));
    if (r <= 0) {
        return CURL_READFUNC_ABORT;
    }
    x->pos += (uint64_t)r;
    return (size_t)r;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    xfer_t *x = arg;
    size_t n = size * nmemb;
    long code = 0;
    (void)code;
    if (x->err_n < sizeof x->err - 1) {
        size_t k = n < sizeof x->err - 1 - x->err_n ? n : sizeof x->err - 1 - x->err_n;
        memcpy(x->err + x->err_n, data, k);
        x->err_n += k;
        x->err[x->err_n] = '\0';
    }
    if (x->res->http >= 200 && x->res->http < 300 && x->out_fd >= 0) {
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(x->out_fd, data + off, n - off);
            if (w < 0) {
                if (errno == EINTR) {
                    continue;
                }
                x->write_failed = true;
                return 0;
            }
            off += (size_t)w;
        }
    }
    if (x->out && x->out_n < x->out_len - 1) {
        size_t k = n < x->out_len - 1 - x->out_n ? n : x->out_len - 1 - x->out_n;
        memcpy(x->out + x->out_n, data, k);
        x->out_n += k;
        x->out[x->out_n] = '\0';
    }
    return n;
}

/* Copies header value (trimmed, quotes removed) into dst when name matches. */
static void header_take(const char *line, size_t n, const char *name, char *dst, size_t dn)
{
    size_t k = strlen(name);
    if (n <= k + 1 || strncasecmp(line, name, k) != 0 || line[k] != ':') {
        return;
    }
    const char *v = line + k + 1;
    const char *e = line + n;
    while (v < e && (*v == ' ' || *v == '"')) {
        v++;
    }
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '"')) {
        e--;
    }
    size_t len = (size_t)(e - v) < dn - 1 ? (size_t)(e - v) : dn - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

static size_t header_cb(char *line, size_t size, size_t nmemb, void *arg)
{
    xfer_t *x = arg;
    size_t n = size * nmemb;
    if (n > 5 && strncmp(line, "HTTP/", 5) == 0) {
        const char *sp = memchr(line, ' ', n);
        if (sp) {
            x->res->http = strtol(sp + 1, NULL, 10);
        }
        x->res->etag[0] = x->res->version_id[0] = '\0';
        return n;
    }
    header_take(line, n, "ETag", x->res->etag, sizeof x->res->etag);
    header_take(line, n, "x-amz-version-id", x->res->version_id, sizeof x->res->version_id);
    char len[32] = "";
    header_take(line, n, "Content-Length", len, sizeof len);
    if (len[0]) {
        x->res->length = strtoull(len, NULL, 10);
    }
    return n;
}

/* The text between <tag> and </tag> in xml into dst ("" when absent). */
static void xml_take(const char *xml, const char *tag, char *dst, size_t dn)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    dst[0] = '\0';
    const char *a = strstr(xml, open);
    if (!a) {
        return;
    }
    a += strlen(open);
    const char *b = strstr(a, close);
    if (!b) {
        return;
    }
    size_t len = (size_t)(b - a) < dn - 1 ? (size_t)(b - a) : dn - 1;
    memcpy(dst, a, len);
    dst[len] = '\0';
}

static int classify(const s3_res_t *r)
{
    if (r->http >= 200 && r->http < 300) {
        return FT_OK;
    }
    if (r->http == 0 || r->http >= 500 || r->http == 408 || r->http == 429) {
        return FT_EAGAIN;
    }
    if (r->http == 412) {
        return FT_EEXIST;
    }
    if (r->http == 404) {
        return FT_ENOTFOUND;
    }
    if (r->http == 403 && strcmp(r->code, "XAmzContentSHA256Mismatch") != 0 &&
        strcmp(r->code, "BadDigest") != 0) {
        return FT_EKEY;
    }
    return FT_EINVAL;
}

void s3_res_text(const s3_res_t *res, char *buf, size_t n)
{
    if (res->http == 0) {
        snprintf(buf, n, "no answer from the object store: %s", res->message);
    } else if (res->code[0] || res->message[0]) {
        snprintf(buf, n, "HTTP %ld %s%s%s", res->http, res->code, res->message[0] ? ": " : "",
                 res->message);
    } else {
        snprintf(buf, n, "HTTP %ld", res->http);
    }
}

int s3_call(s3_t *s, const s3_call_t *c, s3_res_t *res)
{
    memset(res, 0, sizeof *res);
    xfer_t x = {.body = c->body,
                .mem = c->mem,
                .len = c->body ? c->body->len : c->mem_len,
                .out_fd = c->out_fd,
                .out = c->out,
                .out_len = c->out_len,
                .res = res};
    if (c->out && c->out_len) {
        c->out[0] = '\0';
    }
    bool has_body = c->body || c->mem;
    /* The payload's digests: given, or computed from a body in memory. */
    char sha[S3SIG_SHA256_HEX], md5[S3SIG_MD5_B64];
    const char *psha = c->payload_sha256, *pmd5 = c->content_md5;
    if (c->body) {
        psha = psha ? psha : c->body->sha256_hex;
        pmd5 = pmd5 ? pmd5 : c->body->md5_b64;
    } else if (!psha || (has_body && !pmd5)) {
        s3sig_digest_t *d = s3sig_digest_new();
        if (!d) {
            return FT_ENOMEM;
        }
        if (c->mem) {
            s3sig_digest_update(d, c->mem, c->mem_len);
        }
        s3sig_digest_final(&d, sha, md5);
        psha = psha ? psha : sha;
        pmd5 = pmd5 ? pmd5 : md5;
    }
    /* Headers: the caller's, the payload's, then the signature. */
    size_t nh = c->n_headers;
    s3sig_pair_t h[24];
    if (nh > 20) {
        return FT_EINVAL;
    }
    if (nh) {
        memcpy(h, c->headers, nh * sizeof *h);
    }
    h[nh++] = (s3sig_pair_t){"x-amz-content-sha256", psha};
    if (has_body && pmd5) {
        h[nh++] = (s3sig_pair_t){"Content-MD5", pmd5};
    }
    char path[2048], date[S3SIG_AMZ_DATE];
    int w = snprintf(path, sizeof path, "/%s%s%s", s->bucket, c->key && *c->key ? "/" : "",
                     c->key ? c->key : "");
    if (w < 0 || (size_t)w >= sizeof path) {
        return FT_EINVAL;
    }
    s3sig_amz_date((int64_t)time(NULL), date);
    s3sig_req_t r = {.method = c->method,
                     .host = s->host,
                     .path = path,
                     .query = c->query,
                     .n_query = c->n_query,
                     .headers = h,
                     .n_headers = nh,
                     .payload_sha256 = psha,
                     .amz_date = date,
                     .region = s->region,
                     .access_key = s->access_key,
                     .secret_key = s->secret_key};
    int err = FT_OK;
    char *auth = s3sig_authorization(&r, &err);
    char *epath = s3sig_path(path);
    char *query = s3sig_query(&r);
    struct curl_slist *list = NULL;
    char *url = NULL;
    if (!auth || !epath || !query) {
        err = err != FT_OK ? err : FT_ENOMEM;
        goto out;
    }
    size_t ulen = strlen(s->endpoint) + strlen(epath) + strlen(query) + 2;
    url = malloc(ulen);
    if (!url) {
        err = FT_ENOMEM;
        goto out;
    }
    snprintf(url, ulen, "%s%s%s%s", s->endpoint, epath, query[0] ? "?" : "", query);
    char line[1200];
    bool oom = false;
#define ADD(...)                                                                                   \
    do {                                                                                           \
        snprintf(line, sizeof line, __VA_ARGS__);                                                  \
        struct curl_slist *l_ = curl_slist_append(list, line);                                     \
        oom |= l_ == NULL;                                                                         \
        list = l_ ? l_ : list;                                                                     \
    } while (0)
    ADD("Host: %s", s->host);
    ADD("x-amz-date: %s", date);
    for (size_t i = 0; i < nh; i++) {
        ADD("%s: %s", h[i].name, h[i].value);
    }
    ADD("Authorization: %s", auth);
    ADD("Expect:");
    ADD("Content-Type:");
#undef ADD
    if (oom) {
        err = FT_ENOMEM;
        goto out;
    }
    CURL *e = s->curl;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, s->timeout_s);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (s->ca_file) {
        curl_easy_setopt(e, CURLOPT_CAINFO, s->ca_file);
    }
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
    if (strcmp(c->method, "PUT") == 0) {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(e, CURLOPT_READDATA, &x);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x.len);
    } else if (strcmp(c->method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(e, CURLOPT_READDATA, &x);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x.len);
    } else if (strcmp(c->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(c->method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
    }
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
    CURLcode cc = curl_easy_perform(e);
    if (cc != CURLE_OK && res->http == 0) {
        /* curl's buffer (CURL_ERROR_SIZE) is longer than ours: the text is cut. */
        snprintf(res->message, sizeof res->message, "%.*s", (int)sizeof res->message - 1,
                 cerr[0] ? cerr : curl_easy_strerror(cc));
        err = FT_EAGAIN;
        goto out;
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &res->http);
    if (res->http < 200 || res->http >= 300) {
        xml_take(x.err, "Code", res->code, sizeof res->code);
        xml_take(x.err, "Message", res->message, sizeof res->message);
    }
    err = classify(res);
    if (err == FT_OK && (cc != CURLE_OK || x.write_failed)) {
        snprintf(res->message, sizeof res->message, "%s",
                 x.write_failed ? "cannot write what the store sent" : curl_easy_strerror(cc));
        err = x.write_failed ? FT_EIO : FT_EAGAIN;
    }
out:
    if (auth) {
        memset(auth, 0, strlen(auth));
    }
    free(auth);
    free(epath);
    free(query);
    free(url);
    curl_slist_free_all(list);
    return err;
}

static const s3sig_pair_t if_none_match = {"If-None-Match", "*"};

int s3_put(s3_t *s, const char *key, const s3_body_t *body, const s3sig_pair_t *extra,
           size_t n_extra, s3_res_t *res)
{
    s3sig_pair_t h[16];
    if (n_extra > 15) {
        return FT_EINVAL;
    }
    h[0] = if_none_match;
    if (n_extra) {
        memcpy(h + 1, extra, n_extra * sizeof *h);
    }
    s3_call_t c = {.method = "PUT",
                   .key = key,
                   .headers = h,
                   .n_headers = n_extra + 1,
                   .body = body,
                   .out_fd = -1};
    return s3_call(s, &c, res);
}

int s3_mpu_create(s3_t *s, const char *key, const s3sig_pair_t *extra, size_t n_extra,
                  char *upload_id, size_t id_len, s3_res_t *res)
{
    s3sig_pair_t q = {"uploads", NULL};
    char out[2048];
    s3_call_t c = {.method = "POST",
                   .key = key,
                   .query = &q,
                   .n_query = 1,
                   .headers = extra,
                   .n_headers = n_extra,
                   .out_fd = -1,
                   .out = out,
                   .out_len = sizeof out};
    int err = s3_call(s, &c, res);
    if (err == FT_OK) {
        xml_take(out, "UploadId", upload_id, id_len);
        if (!upload_id[0]) {
            snprintf(res->message, sizeof res->message, "no UploadId in the answer");
            return FT_EAGAIN;
        }
    }
    return err;
}

int s3_mpu_part(s3_t *s, const char *key, const char *upload_id, unsigned number,
                const s3_body_t *body, s3_res_t *res)
{
    char num[16];
    snprintf(num, sizeof num, "%u", number);
    s3sig_pair_t q[] = {{"partNumber", num}, {"uploadId", upload_id}};
    s3_call_t c = {
        .method = "PUT", .key = key, .query = q, .n_query = 2, .body = body, .out_fd = -1};
    return s3_call(s, &c, res);
}

int s3_mpu_complete(s3_t *s, const char *key, const char *upload_id, char *const *etags, unsigned n,
                    s3_res_t *res)
{
    size_t cap = 64 + (size_t)n * 160;
    char *xml = malloc(cap);
    if (!xml) {
        return FT_ENOMEM;
    }
    size_t len = (size_t)snprintf(xml, cap, "<CompleteMultipartUpload>");
    for (unsigned i = 0; i < n; i++) {
        len += (size_t)snprintf(xml + len, cap - len,
                                "<Part><PartNumber>%u</PartNumber><ETag>\"%.80s\"</ETag></Part>",
                                i + 1, etags[i]);
    }
    len += (size_t)snprintf(xml + len, cap - len, "</CompleteMultipartUpload>");
    s3sig_pair_t q = {"uploadId", upload_id};
    char out[2048];
    s3_call_t c = {.method = "POST",
                   .key = key,
                   .query = &q,
                   .n_query = 1,
                   .headers = &if_none_match,
                   .n_headers = 1,
                   .mem = xml,
                   .mem_len = len,
                   .out_fd = -1,
                   .out = out,
                   .out_len = sizeof out};
    int err = s3_call(s, &c, res);
    free(xml);
    /* A 200 can still carry an error (S3 documents this for Complete). */
    if (err == FT_OK && strstr(out, "<Error>")) {
        xml_take(out, "Code", res->code, sizeof res->code);
        xml_take(out, "Message", res->message, sizeof res->message);
        return FT_EAGAIN;
    }
    return err;
}

int s3_mpu_abort(s3_t *s, const char *key, const char *upload_id, s3_res_t *res)
{
    s3sig_pair_t q = {"uploadId", upload_id};
    s3_call_t c = {.method = "DELETE", .key = key, .query = &q, .n_query = 1, .out_fd = -1};
    return s3_call(s, &c, res);
}

int s3_head(s3_t *s, const char *key, s3_res_t *res)
{
    s3_call_t c = {.method = "HEAD", .key = key, .out_fd = -1};
    return s3_call(s, &c, res);
}

int s3_get(s3_t *s, const char *key, int fd, s3_res_t *res)
{
    s3_call_t c = {.method = "GET", .key = key, .out_fd = fd};
    return s3_call(s, &c, res);
}

int s3_delete(s3_t *s, const char *key, const char *version_id, s3_res_t *res)
{
    s3sig_pair_t q = {"versionId", version_id};
    bool v = version_id && *version_id;
    s3_call_t c = {
        .method = "DELETE", .key = key, .query = v ? &q : NULL, .n_query = v, .out_fd = -1};
    return s3_call(s, &c, res);
}

int s3_put_retention(s3_t *s, const char *key, int64_t retain_until_s, s3_res_t *res)
{
    time_t t = (time_t)retain_until_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    char when[40], xml[400];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int len = snprintf(xml, sizeof xml,
                       "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>"
                       "COMPLIANCE</Mode><RetainUntilDate>%s</RetainUntilDate></Retention>",
                       when);
    s3sig_pair_t q = {"retention", NULL};
    s3_call_t c = {.method = "PUT",
                   .key = key,
                   .query = &q,
                   .n_query = 1,
                   .mem = xml,
                   .mem_len = (size_t)len,
                   .out_fd = -1};
    return s3_call(s, &c, res);
}

int s3_put_legal_hold(s3_t *s, const char *key, bool on, s3_res_t *res)
{
    char xml[200];
    int len = snprintf(xml, sizeof xml,
                       "<LegalHold xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>%s"
                       "</Status></LegalHold>",
                       on ? "ON" : "OFF");
    s3sig_pair_t q = {"legal-hold", NULL};
    s3_call_t c = {.method = "PUT",
                   .key = key,
                   .query = &q,
                   .n_query = 1,
                   .mem = xml,
                   .mem_len = (size_t)len,
                   .out_fd = -1};
    return s3_call(s, &c, res);
}

int s3_bucket_lock(s3_t *s, bool *enabled, s3_res_t *res)
{
    *enabled = false;
    s3sig_pair_t q = {"object-lock", NULL};
    char out[2048];
    s3_call_t c = {.method = "GET",
                   .query = &q,
                   .n_query = 1,
                   .out_fd = -1,
                   .out = out,
                   .out_len = sizeof out};
    int err = s3_call(s, &c, res);
    if (err == FT_OK) {
        char v[32];
        xml_take(out, "ObjectLockEnabled", v, sizeof v);
        *enabled = strcmp(v, "Enabled") == 0;
        return FT_OK;
    }
    /* No lock configuration: a bucket without Object Lock. */
    if (err == FT_ENOTFOUND || strcmp(res->code, "ObjectLockConfigurationNotFoundError") == 0) {
        return FT_OK;
    }
    return err;
}

int s3_bucket_create(s3_t *s, bool lock, s3_res_t *res)
{
    s3sig_pair_t h = {"x-amz-bucket-object-lock-enabled", "true"};
    s3_call_t c = {.method = "PUT",
                   .headers = lock ? &h : NULL,
                   .n_headers = lock,
                   .mem = "",
                   .mem_len = 0,
                   .out_fd = -1};
    return s3_call(s, &c, res);
}
