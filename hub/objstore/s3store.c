/* s3store.c: the upload queue, its thread and the read cache (s3store.h). */
#include "s3store.h"
#include "fsutil.h"
#include "hlc.h"
#include "logging.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define MAX_PARTS 10000

struct s3store_t {
    s3store_conf_t c;
    char *prefix;
    char dir[4096];     /* DIR/s3 */
    s3_t *s3;           /* the caller's requests (reads, removal, locks) */
    pthread_mutex_t mu; /* guards s3 */
    /* The uploader. */
    pthread_t th;
    bool started;
    volatile int stop;
    pthread_mutex_t wmu;
    pthread_cond_t wake;
    void (*on_confirm)(void *);
    void *arg;
    bool lock; /* the bucket has Object Lock */
    /* Status (the uploader thread's). */
    uint64_t uploaded, refused, failures;
    char last_error[800];
    int64_t last_error_ms, next_try_ms, backoff_ms;
};

static int64_t now_ms(void)
{
    return (int64_t)hlc_wall_ms();
}

static bool hex_ok(const char *hex)
{
    size_t n = strlen(hex);
    if (n == 0 || n > 64) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

static void sub(const s3store_t *s, const char *what, const char *hex, char *buf, size_t n)
{
    snprintf(buf, n, "%.4000s/%.8s/%.64s", s->dir, what, hex);
}

static void key_of(const s3store_t *s, const char *hex, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s", s->prefix, hex);
}

int s3store_open(const s3store_conf_t *c, const char *dir, s3store_t **out)
{
    *out = NULL;
    s3store_t *s = calloc(1, sizeof *s);
    if (!s) {
        return FT_ENOMEM;
    }
    s->c = *c;
    s->prefix = strdup(c->prefix ? c->prefix : "");
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->wmu, NULL);
    pthread_cond_init(&s->wake, NULL);
    s->backoff_ms = BACKOFF_MIN_MS;
    int err = s->prefix ? FT_OK : FT_ENOMEM;
    if (err == FT_OK) {
        err = fsutil_join(s->dir, sizeof s->dir, dir, "s3");
    }
    const char *subs[] = {"queue", "stored", "cache"};
    for (size_t i = 0; i < 3 && err == FT_OK; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", s->dir, subs[i]);
        err = fsutil_mkdirs(p, 0700);
    }
    if (err == FT_OK) {
        err = s3_new(&c->s3, &s->s3);
    }
    if (err != FT_OK) {
        s3store_destroy(&s);
        return err;
    }
    *out = s;
    return FT_OK;
}

static void *uploader_main(void *arg);

int s3store_start(s3store_t *s, void (*on_confirm)(void *), void *arg)
{
    s->on_confirm = on_confirm;
    s->arg = arg;
    if (pthread_create(&s->th, NULL, uploader_main, s) != 0) {
        return FT_ENOMEM;
    }
    s->started = true;
    return FT_OK;
}

void s3store_destroy(s3store_t **s_p)
{
    s3store_t *s = *s_p;
    if (!s) {
        return;
    }
    if (s->started) {
        pthread_mutex_lock(&s->wmu);
        s->stop = 1;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->wmu);
        pthread_join(s->th, NULL);
    }
    s3_destroy(&s->s3);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->wmu);
    pthread_cond_destroy(&s->wake);
    free(s->prefix);
    free(s);
    *s_p = NULL;
}

/* ---- the queue --------------------------------------------------------- */

int s3store_enqueue(s3store_t *s, const char *hex, const char *path)
{
    if (!hex_ok(hex)) {
        return FT_EINVAL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return FT_EIO;
    }
    uint64_t size = (uint64_t)st.st_size;
    uint64_t part = size >= s->c.multipart_bytes ? s->c.part_bytes : (size ? size : 1);
    uint64_t n = size ? (size + part - 1) / part : 1;
    if (n > MAX_PARTS) {
        part = (size + MAX_PARTS - 1) / MAX_PARTS;
        n = (size + part - 1) / part;
    }
    size_t cap = 4400 + (size_t)n * (S3SIG_SHA256_HEX + S3SIG_MD5_B64 + 2);
    char *rec = malloc(cap);
    uint8_t *buf = malloc(1 << 20);
    int err = rec && buf ? FT_OK : FT_ENOMEM;
    size_t len = 0;
    if (err == FT_OK) {
        len = (size_t)snprintf(rec, cap, "%s\n%llu %llu %llu\n", path, (unsigned long long)size,
                               (unsigned long long)part, (unsigned long long)n);
    }
    for (uint64_t i = 0; i < n && err == FT_OK; i++) {
        s3sig_digest_t *d = s3sig_digest_new();
        if (!d) {
            err = FT_ENOMEM;
            break;
        }
        uint64_t off = i * part, end = off + part < size ? off + part : size;
        while (off < end) {
            size_t want = end - off < (1 << 20) ? (size_t)(end - off) : (1 << 20);
            ssize_t r = pread(fd, buf, want, (off_t)off);
            if (r <= 0) {
                err = FT_EIO;
                break;
            }
            s3sig_digest_update(d, buf, (size_t)r);
            off += (uint64_t)r;
        }
        char sha[S3SIG_SHA256_HEX], md5[S3SIG_MD5_B64];
        s3sig_digest_final(&d, sha, md5);
        len += (size_t)snprintf(rec + len, cap - len, "%s %s\n", sha, md5);
    }
    close(fd);
    free(buf);
    if (err == FT_OK) {
        char q[4300];
        sub(s, "queue", hex, q, sizeof q);
        err = fsutil_write_atomic(q, rec, len, 0600);
    }
    free(rec);
    if (err == FT_OK) {
        pthread_mutex_lock(&s->wmu);
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->wmu);
    }
    return err;
}

bool s3store_confirmed(s3store_t *s, const char *hex)
{
    char p[4300];
    sub(s, "stored", hex, p, sizeof p);
    return hex_ok(hex) && access(p, F_OK) == 0;
}

bool s3store_queued(s3store_t *s, const char *hex)
{
    char p[4300];
    sub(s, "queue", hex, p, sizeof p);
    return hex_ok(hex) && access(p, F_OK) == 0;
}

/* A queue record, parsed. */
typedef struct {
    char path[4096];
    uint64_t size, part, n;
    char (*sha)[S3SIG_SHA256_HEX];
    char (*md5)[S3SIG_MD5_B64];
} rec_t;

static void rec_free(rec_t *r)
{
    free(r->sha);
    free(r->md5);
    r->sha = NULL;
    r->md5 = NULL;
}

static int rec_read(s3store_t *s, const char *hex, rec_t *r)
{
    memset(r, 0, sizeof *r);
    char p[4300], *text = NULL;
    size_t len = 0;
    sub(s, "queue", hex, p, sizeof p);
    int err = fsutil_read_all(p, &text, &len);
    if (err != FT_OK) {
        return err;
    }
    char *nl = strchr(text, '\n');
    unsigned long long size, part, n;
    int used = 0;
    if (!nl || (size_t)(nl - text) >= sizeof r->path ||
        sscanf(nl + 1, "%llu %llu %llu\n%n", &size, &part, &n, &used) != 3 || n == 0 ||
        n > MAX_PARTS || part == 0) {
        free(text);
        return FT_ECORRUPT;
    }
    memcpy(r->path, text, (size_t)(nl - text));
    r->size = size;
    r->part = part;
    r->n = n;
    r->sha = calloc(n, sizeof *r->sha);
    r->md5 = calloc(n, sizeof *r->md5);
    if (!r->sha || !r->md5) {
        free(text);
        rec_free(r);
        return FT_ENOMEM;
    }
    char *q = nl + 1 + used;
    for (uint64_t i = 0; i < n; i++) {
        int k = 0;
        if (sscanf(q, "%64s %24s\n%n", r->sha[i], r->md5[i], &k) != 2 || k == 0) {
            free(text);
            rec_free(r);
            return FT_ECORRUPT;
        }
        q += k;
    }
    free(text);
    return FT_OK;
}

/* ---- the uploader ------------------------------------------------------ */

static void status_write(s3store_t *s, size_t queued, uint64_t queued_bytes, int64_t oldest_ms)
{
    json_t *o = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:b, s:I}", "state",
        queued == 0 ? "idle"
                    : (s->last_error_ms && s->next_try_ms > now_ms() ? "waiting" : "uploading"),
        "queued", (json_int_t)queued, "queued_bytes", (json_int_t)queued_bytes, "oldest_ms",
        (json_int_t)oldest_ms, "uploaded", (json_int_t)s->uploaded, "refused",
        (json_int_t)s->refused, "failures", (json_int_t)s->failures, "last_error", s->last_error,
        "last_error_ms", (json_int_t)s->last_error_ms, "next_try_ms",
        (json_int_t)(queued ? s->next_try_ms : 0), "object_lock", s->lock, "checked_ms",
        (json_int_t)now_ms());
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text) {
        char p[4300];
        snprintf(p, sizeof p, "%s/upload.status", s->dir);
        if (fsutil_write_atomic(p, text, strlen(text), 0600) != FT_OK) {
            log_debug("objstore: cannot write %s", p);
        }
        free(text);
    }
}

char *s3store_status_read(const char *dir)
{
    char p[4300], *text = NULL;
    size_t len;
    snprintf(p, sizeof p, "%s/s3/upload.status", dir);
    return fsutil_read_all(p, &text, &len) == FT_OK ? text : NULL;
}

/* Object Lock headers of an upload (none when the bucket has no lock). */
static size_t lock_headers(const s3store_t *s, s3sig_pair_t *h, char *until, size_t n)
{
    if (!s->lock || s->c.lock_days == 0) {
        return 0;
    }
    time_t t = (time_t)(now_ms() / 1000 + (int64_t)s->c.lock_days * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(until, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
    h[0] = (s3sig_pair_t){"x-amz-object-lock-mode", "COMPLIANCE"};
    h[1] = (s3sig_pair_t){"x-amz-object-lock-retain-until-date", until};
    return 2;
}

/* Uploads one queued blob; FT_OK when the store confirmed it. */
static int upload_one(s3store_t *s, const char *hex, char *why, size_t wn)
{
    rec_t r;
    int err = rec_read(s, hex, &r);
    if (err != FT_OK) {
        snprintf(why, wn, "queue record of blob %.16s unreadable: %s", hex, ft_strerror(err));
        return err;
    }
    char key[1200];
    key_of(s, hex, key, sizeof key);
    s3_res_t res;
    char rt[400];
    /* Already there (an earlier attempt whose answer was lost): the same
     * bytes by construction when the size matches. */
    err = s3_head(s->s3, key, &res);
    if (err == FT_OK && res.length == r.size) {
        rec_free(&r);
        return FT_OK;
    }
    if (err != FT_OK && err != FT_ENOTFOUND) {
        s3_res_text(&res, rt, sizeof rt);
        snprintf(why, wn, "blob %.16s: %s", hex, rt);
        rec_free(&r);
        return err;
    }
    int fd = open(r.path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, wn, "blob %.16s: the local copy %.200s cannot be opened: %.100s", hex, r.path,
                 strerror(errno));
        rec_free(&r);
        return FT_EIO;
    }
    s3sig_pair_t h[2];
    char until[40];
    size_t nh = lock_headers(s, h, until, sizeof until);
    char version[160] = "";
    if (r.n == 1 && r.size < s->c.multipart_bytes) {
        s3_body_t b = {fd, 0, r.size, r.sha[0], r.md5[0]};
        err = s3_put(s->s3, key, &b, h, nh, &res);
        snprintf(version, sizeof version, "%s", res.version_id);
    } else {
        char upload_id[512] = "";
        err = s3_mpu_create(s->s3, key, h, nh, upload_id, sizeof upload_id, &res);
        char **etags = err == FT_OK ? calloc(r.n, sizeof *etags) : NULL;
        if (err == FT_OK && !etags) {
            err = FT_ENOMEM;
        }
        for (uint64_t i = 0; i < r.n && err == FT_OK; i++) {
            uint64_t off = i * r.part;
            uint64_t len = off + r.part < r.size ? r.part : r.size - off;
            s3_body_t b = {fd, off, len, r.sha[i], r.md5[i]};
            err = s3_mpu_part(s->s3, key, upload_id, (unsigned)(i + 1), &b, &res);
            if (err == FT_OK) {
                etags[i] = strdup(res.etag);
                err = etags[i] ? FT_OK : FT_ENOMEM;
            }
        }
        if (err == FT_OK) {
            err = s3_mpu_complete(s->s3, key, upload_id, etags, (unsigned)r.n, &res);
            snprintf(version, sizeof version, "%s", res.version_id);
        }
        /* Some stores (Ceph RGW 16) drop the lock headers of a multipart
         * upload: the retention is set on the completed object as well. */
        if (err == FT_OK && nh) {
            err = s3_put_retention(s->s3, key, now_ms() / 1000 + (int64_t)s->c.lock_days * 86400,
                                   &res);
        } else if (upload_id[0]) {
            s3_res_t ares;
            if (s3_mpu_abort(s->s3, key, upload_id, &ares) != FT_OK) {
                log_debug("objstore: abort of an upload of blob %.16s failed", hex);
            }
        }
        for (uint64_t i = 0; etags && i < r.n; i++) {
            free(etags[i]);
        }
        free(etags);
    }
    close(fd);
    rec_free(&r);
    if (err == FT_EEXIST) {
        err = FT_OK; /* If-None-Match: the same content is there */
    }
    if (err != FT_OK) {
        s3_res_text(&res, rt, sizeof rt);
        snprintf(why, wn, "blob %.16s: %s", hex, rt);
        return err;
    }
    char p[4300];
    sub(s, "stored", hex, p, sizeof p);
    err = fsutil_write_atomic(p, version, strlen(version), 0600);
    if (err != FT_OK) {
        snprintf(why, wn, "blob %.16s: cannot record that the store holds it", hex);
    }
    return err;
}

/* After confirmation: the queue record goes and the local copy becomes a
 * cached copy (the store holds the blob now). */
static void settle(s3store_t *s, const char *hex)
{
    rec_t r;
    char q[4300], c[4300];
    sub(s, "queue", hex, q, sizeof q);
    sub(s, "cache", hex, c, sizeof c);
    if (rec_read(s, hex, &r) == FT_OK) {
        if (rename(r.path, c) != 0 && errno != ENOENT) {
            log_debug("objstore: local copy of blob %.16s kept: %s", hex, strerror(errno));
        }
        rec_free(&r);
    }
    if (unlink(q) != 0) {
        log_debug("objstore: queue record of blob %.16s: %s", hex, strerror(errno));
    }
}

/* One pass over the queue; returns how many blobs are still queued. */
static size_t upload_pass(s3store_t *s, uint64_t *bytes, int64_t *oldest, bool *failed)
{
    char qd[4300];
    snprintf(qd, sizeof qd, "%s/queue", s->dir);
    DIR *d = opendir(qd);
    size_t left = 0;
    *bytes = 0;
    *oldest = 0;
    *failed = false;
    if (!d) {
        return 0;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL && !s->stop) {
        if (!hex_ok(de->d_name)) {
            continue;
        }
        char why[600] = "";
        int err = *failed ? FT_EAGAIN : upload_one(s, de->d_name, why, sizeof why);
        if (err == FT_OK) {
            settle(s, de->d_name);
            s->uploaded++;
            log_info("objstore: blob %.16s stored in the bucket (confirmed)", de->d_name);
            if (s->on_confirm) {
                s->on_confirm(s->arg);
            }
            continue;
        }
        left++;
        struct stat st;
        char q[4300];
        sub(s, "queue", de->d_name, q, sizeof q);
        if (stat(q, &st) == 0) {
            int64_t m = (int64_t)st.st_mtime * 1000;
            *oldest = *oldest == 0 || m < *oldest ? m : *oldest;
        }
        rec_t r;
        if (rec_read(s, de->d_name, &r) == FT_OK) {
            *bytes += r.size;
            rec_free(&r);
        }
        if (*failed) {
            continue;
        }
        *failed = true;
        s->failures++;
        s->last_error_ms = now_ms();
        if (err == FT_EINVAL) {
            s->refused++;
            snprintf(s->last_error, sizeof s->last_error,
                     "the object store refused %.500s (the local copy no longer matches what the "
                     "hub checked, or the store rejects the request): not confirmed, no receipt",
                     why);
            log_error("objstore: %s", s->last_error);
            s->backoff_ms = BACKOFF_MAX_MS;
        } else {
            snprintf(s->last_error, sizeof s->last_error, "%.380s", why);
            if (s->backoff_ms == BACKOFF_MIN_MS) {
                log_warn("objstore: upload failed: %s (%s); queued, tried again with back-off", why,
                         ft_strerror(err));
            } else {
                log_debug("objstore: upload failed again: %s", why);
            }
        }
    }
    closedir(d);
    return left;
}

static void *uploader_main(void *arg)
{
    s3store_t *s = arg;
    bool lock_known = false;
    while (!s->stop) {
        if (!lock_known) {
            s3_res_t res;
            pthread_mutex_lock(&s->mu);
            int err = s3_bucket_lock(s->s3, &s->lock, &res);
            pthread_mutex_unlock(&s->mu);
            if (err == FT_OK) {
                lock_known = true;
                if (s->c.lock_days) {
                    log_info("objstore: bucket %s %s", s->c.s3.bucket,
                             s->lock ? "has Object Lock: uploads retained (COMPLIANCE)"
                                     : "has no Object Lock: retention is the hub's alone");
                }
            }
        }
        uint64_t bytes;
        int64_t oldest;
        bool failed;
        size_t left = upload_pass(s, &bytes, &oldest, &failed);
        if (!failed) {
            s->backoff_ms = BACKOFF_MIN_MS;
            if (left == 0 && s->last_error_ms) {
                s->last_error[0] = '\0';
                s->last_error_ms = 0;
            }
        }
        int64_t wait = failed ? s->backoff_ms : 2000;
        s->next_try_ms = now_ms() + wait;
        status_write(s, left, bytes, oldest);
        if (failed && s->backoff_ms < BACKOFF_MAX_MS) {
            s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
        }
        pthread_mutex_lock(&s->wmu);
        if (!s->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (wait % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            /* A new blob wakes us only when the store was fine: a store
             * that is down is not asked again before its back-off. */
            while (!s->stop) {
                int rc = pthread_cond_timedwait(&s->wake, &s->wmu, &ts);
                if (rc != 0 || !failed) {
                    break;
                }
            }
        }
        pthread_mutex_unlock(&s->wmu);
    }
    return NULL;
}

/* ---- reading, removal, locks ------------------------------------------- */

/* Drops the oldest cached copies beyond the bound. */
static void cache_trim(s3store_t *s)
{
    char cd[4300];
    snprintf(cd, sizeof cd, "%s/cache", s->dir);
    for (int round = 0; round < 64; round++) {
        DIR *d = opendir(cd);
        if (!d) {
            return;
        }
        uint64_t total = 0;
        time_t oldest = 0;
        char victim[256] = "";
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!hex_ok(de->d_name)) {
                continue;
            }
            char p[4600];
            struct stat st;
            snprintf(p, sizeof p, "%s/%s", cd, de->d_name);
            if (stat(p, &st) == 0) {
                total += (uint64_t)st.st_size;
                if (!victim[0] || st.st_atime < oldest) {
                    oldest = st.st_atime;
                    snprintf(victim, sizeof victim, "%s", de->d_name);
                }
            }
        }
        closedir(d);
        if (total <= s->c.cache_bytes || !victim[0]) {
            return;
        }
        char p[4600];
        snprintf(p, sizeof p, "%s/%s", cd, victim);
        (void)unlink(p);
    }
}

int s3store_open_read(s3store_t *s, const char *hex)
{
    if (!hex_ok(hex)) {
        return FT_EINVAL;
    }
    char c[4300];
    sub(s, "cache", hex, c, sizeof c);
    int fd = open(c, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        return fd;
    }
    if (!s3store_confirmed(s, hex)) {
        return FT_ENOTFOUND;
    }
    char tmp[4400], key[1200];
    snprintf(tmp, sizeof tmp, "%s.%d.%lx.part", c, (int)getpid(), (unsigned long)pthread_self());
    key_of(s, hex, key, sizeof key);
    int wfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (wfd < 0) {
        return FT_EIO;
    }
    s3_res_t res;
    pthread_mutex_lock(&s->mu);
    int err = s3_get(s->s3, key, wfd, &res);
    pthread_mutex_unlock(&s->mu);
    close(wfd);
    if (err == FT_OK && rename(tmp, c) != 0) {
        err = FT_EIO;
    }
    if (err != FT_OK) {
        char rt[400];
        s3_res_text(&res, rt, sizeof rt);
        log_warn("objstore: cannot fetch blob %.16s from the bucket: %s", hex, rt);
        (void)unlink(tmp);
        return err == FT_ENOTFOUND ? FT_ENOTFOUND : (err == FT_EIO ? FT_EIO : FT_EAGAIN);
    }
    cache_trim(s);
    fd = open(c, O_RDONLY | O_CLOEXEC);
    return fd >= 0 ? fd : FT_EIO;
}

int s3store_remove(s3store_t *s, const char *hex)
{
    if (!hex_ok(hex)) {
        return FT_EINVAL;
    }
    char p[4300], key[1200], *version = NULL;
    size_t len;
    sub(s, "stored", hex, p, sizeof p);
    if (fsutil_read_all(p, &version, &len) != FT_OK) {
        version = NULL;
    }
    key_of(s, hex, key, sizeof key);
    s3_res_t res;
    pthread_mutex_lock(&s->mu);
    int err = s3_delete(s->s3, key, version, &res);
    pthread_mutex_unlock(&s->mu);
    free(version);
    if (err != FT_OK && err != FT_ENOTFOUND) {
        char rt[400];
        s3_res_text(&res, rt, sizeof rt);
        log_error("objstore: the store did not delete blob %.16s: %s", hex, rt);
        return err == FT_EAGAIN ? FT_EAGAIN : FT_EIO;
    }
    (void)unlink(p);
    sub(s, "cache", hex, p, sizeof p);
    (void)unlink(p);
    sub(s, "queue", hex, p, sizeof p);
    (void)unlink(p);
    return FT_OK;
}

int s3store_lock(s3store_t *s, const char *hex, int64_t until_s, int hold)
{
    if (!hex_ok(hex)) {
        return FT_EINVAL;
    }
    char key[1200];
    key_of(s, hex, key, sizeof key);
    s3_res_t res;
    int err = FT_OK;
    pthread_mutex_lock(&s->mu);
    bool lock = false;
    err = s3_bucket_lock(s->s3, &lock, &res);
    if (err == FT_OK && lock && until_s > 0) {
        err = s3_put_retention(s->s3, key, until_s, &res);
    }
    if (err == FT_OK && lock && hold >= 0) {
        err = s3_put_legal_hold(s->s3, key, hold > 0, &res);
    }
    pthread_mutex_unlock(&s->mu);
    if (err != FT_OK) {
        char rt[400];
        s3_res_text(&res, rt, sizeof rt);
        log_warn("objstore: Object Lock on blob %.16s not set: %s", hex, rt);
    }
    return err;
}
