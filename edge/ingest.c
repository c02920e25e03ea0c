/* ingest.c: recorder files -> encrypted chunks + signed manifest (see ingest.h). */
#include "ingest.h"
#include "fsutil.h"
#include "hlc.h"
#include "lmdbx.h"
#include "logging.h"
#include "record.h"
#include "utf8.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* Seconds from 1904-01-01 (MP4 epoch) to 1970-01-01. */
#define MP4_EPOCH_OFFSET 2082844800LL

struct ingest_t {
    mstore_t *m;
    ingest_opts_t o;
    ingest_progress_fn progress;
    void *progress_ctx;
    bool full;      /* paused by full storage; storage_full logged */
    uint8_t *plain; /* chunk_size buffer */
};

int ingest_new(mstore_t *m, const ingest_opts_t *opts, ingest_t **out)
{
    *out = NULL;
    ingest_t *in = calloc(1, sizeof *in);
    if (!in) {
        return FT_ENOMEM;
    }
    in->m = m;
    in->o = *opts;
    if (!in->o.chunk_size) {
        in->o.chunk_size = MEDIA_CHUNK_SIZE;
    }
    if (!in->o.stable_ms) {
        in->o.stable_ms = INGEST_DEFAULT_STABLE_MS;
    }
    if (!in->o.settle_ms) {
        in->o.settle_ms = INGEST_DEFAULT_SETTLE_MS;
    }
    in->plain = malloc(MEDIA_CHUNK_MAX);
    if (!in->plain) {
        ingest_destroy(&in);
        return FT_ENOMEM;
    }
    MDB_txn *txn = NULL;
    if (mdb_txn_begin(mstore_env(m), NULL, MDB_RDONLY, &txn) == 0) {
        uint8_t v = 0;
        in->full = mstore_meta_get(m, txn, "storage_full", &v, 1) == FT_OK && v;
        mdb_txn_abort(txn);
    }
    *out = in;
    return FT_OK;
}

void ingest_destroy(ingest_t **in_p)
{
    ingest_t *in = *in_p;
    if (!in) {
        return;
    }
    if (in->plain) {
        sodium_memzero(in->plain, MEDIA_CHUNK_MAX);
    }
    free(in->plain);
    sodium_memzero(in, sizeof *in);
    free(in);
    *in_p = NULL;
}

void ingest_set_progress(ingest_t *in, ingest_progress_fn fn, void *ctx)
{
    in->progress = fn;
    in->progress_ctx = ctx;
}

bool ingest_is_full(const ingest_t *in)
{
    return in->full;
}

mstore_t *ingest_mstore(ingest_t *in)
{
    return in->m;
}

const ingest_opts_t *ingest_opts(const ingest_t *in)
{
    return &in->o;
}

ingest_writer ingest_writer_probe(int fd)
{
    /* A lease break would be signalled to us: SIGURG, whose default is to
     * be ignored (SIGIO, the default, would end the process). The lease is
     * dropped at once, so a writer that opens the file meanwhile waits
     * microseconds, not the lease-break time. */
    if (fcntl(fd, F_SETSIG, SIGURG) != 0) {
        return INGEST_WRITER_UNKNOWN;
    }
    if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
        (void)fcntl(fd, F_SETLEASE, F_UNLCK);
        return INGEST_WRITER_NONE;
    }
    return errno == EAGAIN ? INGEST_WRITER_OPEN : INGEST_WRITER_UNKNOWN;
}

/* ---- metadata ----------------------------------------------------------- */

/* What the manifest says about a file beyond its bytes. Strings are owned
 * (meta_free). */
typedef struct {
    Ft__MediaKind kind;
    char *officer;
    Ft__ValueSource officer_source;
    bool has_start, has_end;
    int64_t start_ms, end_ms;
    int32_t start_off, end_off;
    Ft__ValueSource time_source;
    char *case_id, *cause, *party;
} meta_t;

static void meta_free(meta_t *mt)
{
    free(mt->officer);
    free(mt->case_id);
    free(mt->cause);
    free(mt->party);
    memset(mt, 0, sizeof *mt);
}

static Ft__MediaKind kind_from_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot) {
        return FT__MEDIA_KIND__MK_UNKNOWN;
    }
    static const char *const video[] = {".mp4", ".mov", ".avi", ".mkv", ".ts", ".m4v", ".3gp"};
    static const char *const audio[] = {".wav", ".mp3", ".aac", ".m4a", ".amr", ".ogg", ".flac"};
    static const char *const photo[] = {".jpg", ".jpeg", ".png", ".heic", ".bmp", ".tif", ".tiff"};
    for (size_t i = 0; i < sizeof video / sizeof *video; i++) {
        if (strcasecmp(dot, video[i]) == 0) {
            return FT__MEDIA_KIND__VIDEO;
        }
    }
    for (size_t i = 0; i < sizeof audio / sizeof *audio; i++) {
        if (strcasecmp(dot, audio[i]) == 0) {
            return FT__MEDIA_KIND__AUDIO;
        }
    }
    for (size_t i = 0; i < sizeof photo / sizeof *photo; i++) {
        if (strcasecmp(dot, photo[i]) == 0) {
            return FT__MEDIA_KIND__PHOTO;
        }
    }
    return FT__MEDIA_KIND__MK_UNKNOWN;
}

/* a then b into buf; false if it does not fit. */
static bool join2(char *buf, size_t n, const char *a, const char *b)
{
    int w = snprintf(buf, n, "%s%s", a, b);
    return w >= 0 && (size_t)w < n;
}

/* A copy of at most max bytes of s, never cut inside a UTF-8 character
 * (utf8_prefix). NULL for NULL or empty s, or when memory runs out. */
static char *text_dup(const char *s, size_t max)
{
    if (!s || !s[0]) {
        return NULL;
    }
    return strndup(s, utf8_prefix(s, strlen(s), max));
}

static const char *sidecar_text(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Takes what a parsed sidecar says. */
static void meta_from_sidecar(const json_t *o, meta_t *mt)
{
    const char *s;
    if ((s = sidecar_text(o, "officer")) != NULL && s[0]) {
        mt->officer = text_dup(s, INGEST_TEXT_MAX);
        mt->officer_source = FT__VALUE_SOURCE__SIDECAR;
    }
    if ((s = sidecar_text(o, "kind")) != NULL) {
        if (strcmp(s, "video") == 0) {
            mt->kind = FT__MEDIA_KIND__VIDEO;
        } else if (strcmp(s, "audio") == 0) {
            mt->kind = FT__MEDIA_KIND__AUDIO;
        } else if (strcmp(s, "photo") == 0) {
            mt->kind = FT__MEDIA_KIND__PHOTO;
        }
    }
    if ((s = sidecar_text(o, "start")) != NULL &&
        rfc3339_parse(s, &mt->start_ms, &mt->start_off) == FT_OK) {
        mt->has_start = true;
        mt->time_source = FT__VALUE_SOURCE__SIDECAR;
    }
    if ((s = sidecar_text(o, "end")) != NULL &&
        rfc3339_parse(s, &mt->end_ms, &mt->end_off) == FT_OK) {
        mt->has_end = true;
        mt->time_source = FT__VALUE_SOURCE__SIDECAR;
    }
    mt->case_id = text_dup(sidecar_text(o, "case"), INGEST_TEXT_MAX);
    mt->cause = text_dup(sidecar_text(o, "cause"), INGEST_TEXT_MAX);
    mt->party = text_dup(sidecar_text(o, "party"), INGEST_TEXT_MAX);
}

int ingest_read_sidecar(int dfd, const char *name, json_t **out, char *why, size_t why_len)
{
    *out = NULL;
    why[0] = '\0';
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) {
            return FT_ENOTFOUND;
        }
        snprintf(why, why_len, "cannot be examined: %s", strerror(errno));
        return FT_EIO;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, why_len, "%s",
                 S_ISLNK(st.st_mode) ? "is a symbolic link (never followed)"
                                     : "is not a regular file");
        return FT_EINVAL;
    }
    if (st.st_nlink > 1) {
        snprintf(why, why_len, "has %llu hard links (it may be a file outside the inbox)",
                 (unsigned long long)st.st_nlink);
        return FT_EINVAL;
    }
    if (st.st_size > INGEST_SIDECAR_MAX) {
        snprintf(why, why_len, "is %lld bytes; a sidecar may have at most %d",
                 (long long)st.st_size, INGEST_SIDECAR_MAX);
        return FT_EINVAL;
    }
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_len, "cannot be opened: %s", strerror(errno));
        return errno == ENOENT ? FT_ENOTFOUND : FT_EIO;
    }
    struct stat fst;
    char *buf = malloc(INGEST_SIDECAR_MAX + 1);
    int err = FT_OK;
    if (!buf) {
        err = FT_ENOMEM;
    } else if (fstat(fd, &fst) != 0 || fst.st_ino != st.st_ino || fst.st_dev != st.st_dev ||
               !S_ISREG(fst.st_mode) || fst.st_nlink > 1) {
        snprintf(why, why_len, "changed while it was opened");
        err = FT_EAGAIN;
    }
    size_t len = 0;
    while (err == FT_OK && len <= INGEST_SIDECAR_MAX) {
        ssize_t got = read(fd, buf + len, INGEST_SIDECAR_MAX + 1 - len);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            snprintf(why, why_len, "cannot be read: %s", strerror(errno));
            err = FT_EIO;
        } else if (got == 0) {
            break;
        } else {
            len += (size_t)got;
        }
    }
    close(fd);
    if (err == FT_OK && len > INGEST_SIDECAR_MAX) {
        snprintf(why, why_len, "is more than %d bytes", INGEST_SIDECAR_MAX);
        err = FT_EINVAL;
    }
    if (err == FT_OK) {
        json_error_t jerr;
        json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!o || !json_is_object(o)) {
            /* Half written, or not a sidecar at all: the caller waits for
             * it to become whole, and gives up on it only when it stays so. */
            snprintf(why, why_len, "is not a complete JSON object (%s)",
                     o ? "not an object" : jerr.text);
            json_decref(o);
            err = FT_EAGAIN;
        } else {
            *out = o;
        }
    }
    free(buf);
    return err;
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* Finds box `type` among the boxes in [start, end) of fd; its payload range. */
static bool find_box(int fd, uint64_t start, uint64_t end, const char *type, uint64_t *pstart,
                     uint64_t *pend)
{
    uint64_t off = start;
    for (int guard = 0; off + 8 <= end && guard < 4096; guard++) {
        uint8_t h[16];
        if (pread(fd, h, 8, (off_t)off) != 8) {
            return false;
        }
        uint64_t size = be(h, 4), hdr = 8;
        if (size == 1) {
            if (pread(fd, h + 8, 8, (off_t)(off + 8)) != 8) {
                return false;
            }
            size = be(h + 8, 8);
            hdr = 16;
        } else if (size == 0) {
            size = end - off;
        }
        if (size < hdr || off + size > end) {
            return false;
        }
        if (memcmp(h + 4, type, 4) == 0) {
            *pstart = off + hdr;
            *pend = off + size;
            return true;
        }
        off += size;
    }
    return false;
}

/* Capture times from an MP4/MOV `moov/mvhd` box; false if the file has none. */
static bool mp4_times(int fd, uint64_t size, meta_t *mt)
{
    uint64_t ms, me, vs, ve;
    if (!find_box(fd, 0, size, "moov", &ms, &me) || !find_box(fd, ms, me, "mvhd", &vs, &ve)) {
        return false;
    }
    uint8_t b[32];
    if (ve - vs < 20 || pread(fd, b, sizeof b, (off_t)vs) < 20) {
        return false;
    }
    uint64_t created, timescale, duration;
    if (b[0] == 1) {
        if (ve - vs < 32) {
            return false;
        }
        created = be(b + 4, 8);
        timescale = be(b + 20, 4);
        duration = be(b + 24, 8);
    } else {
        created = be(b + 4, 4);
        timescale = be(b + 12, 4);
        duration = be(b + 16, 4);
    }
    if (created == 0 || (int64_t)created < MP4_EPOCH_OFFSET) {
        return false;
    }
    mt->start_ms = ((int64_t)created - MP4_EPOCH_OFFSET) * 1000;
    mt->has_start = true;
    if (timescale) {
        mt->end_ms = mt->start_ms + (int64_t)(duration * 1000 / timescale);
        mt->has_end = true;
    }
    mt->time_source = FT__VALUE_SOURCE__CONTAINER;
    return true;
}

/* Finds the officer of the recorder_checkout covering t_ms for recorder. */
typedef struct {
    const char *recorder;
    int64_t t_ms;
    int64_t best_ms;
    bool out; /* the latest event before t was a checkout */
    char officer[INGEST_TEXT_MAX + 1];
} checkout_scan_t;

static const char *field_text(const Ft__Record *r, const char *key)
{
    const Ft__FieldValue *fv = record_field(r, key);
    if (fv && fv->value_case == FT__FIELD_VALUE__VALUE_TEXT) {
        return fv->text;
    }
    return NULL;
}

static int checkout_visit(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    (void)seq;
    checkout_scan_t *c = ctx;
    entry_view_t v;
    if (entry_open(raw, len, &v) != FT_OK) {
        return 0;
    }
    const Ft__Body *b = v.entry->body;
    if (b && b->kind_case == FT__BODY__KIND_RECORD &&
        (b->record->type == FT__RECORD_TYPE__RECORDER_CHECKOUT ||
         b->record->type == FT__RECORD_TYPE__RECORDER_RETURN)) {
        const Ft__Record *r = b->record;
        const char *rec = field_text(r, "recorder");
        if (!rec && r->n_recorders) {
            rec = r->recorders[0];
        }
        const Ft__Time *t = r->time ? r->time : r->start;
        if (rec && t && strcmp(rec, c->recorder) == 0 && t->unix_ms <= c->t_ms &&
            t->unix_ms >= c->best_ms) {
            c->best_ms = t->unix_ms;
            c->out = r->type == FT__RECORD_TYPE__RECORDER_CHECKOUT;
            const char *off = field_text(r, "officer");
            if (!off && r->n_officers) {
                off = r->officers[0];
            }
            (void)utf8_copy(c->officer, sizeof c->officer, off);
        }
    }
    entry_view_free(&v);
    return 0;
}

static void officer_from_checkout(ingest_t *in, const char *recorder, int64_t t_ms, meta_t *mt)
{
    checkout_scan_t c = {.recorder = recorder, .t_ms = t_ms, .best_ms = INT64_MIN};
    if (devlog_iter(mstore_log(in->m), 1, 0, checkout_visit, &c) != 0) {
        return;
    }
    if (c.out && c.officer[0]) {
        mt->officer = text_dup(c.officer, INGEST_TEXT_MAX);
        mt->officer_source = FT__VALUE_SOURCE__CHECKOUT;
    }
}

static void gather_meta(ingest_t *in, const ingest_src_t *src, const char *base, int fd,
                        const struct stat *st, meta_t *mt)
{
    memset(mt, 0, sizeof *mt);
    mt->kind = kind_from_name(base);
    if (src->sidecar) {
        meta_from_sidecar(src->sidecar, mt);
    }
    if (!mt->has_start && !mt->has_end) {
        mp4_times(fd, (uint64_t)st->st_size, mt);
    }
    if (!mt->has_start && !mt->has_end) {
        int64_t ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
        mt->start_ms = mt->end_ms = ms;
        mt->has_start = mt->has_end = true;
        mt->time_source = FT__VALUE_SOURCE__FILE_MTIME;
    }
    if (!mt->officer && src->recorder && src->recorder[0]) {
        officer_from_checkout(in, src->recorder, mt->has_start ? mt->start_ms : mt->end_ms, mt);
    }
}

/* ---- storage full --------------------------------------------------------- */

int ingest_log_event(ingest_t *in, Ft__DeviceEventKind kind, const char *recorder,
                     const char *detail)
{
    Ft__DeviceEvent ev = FT__DEVICE_EVENT__INIT;
    ev.kind = kind;
    ev.recorder = (char *)(recorder && recorder[0] ? recorder : NULL);
    ev.detail = (char *)detail;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_EVENT;
    body.event = &ev;
    return devlog_append1(mstore_log(in->m), &body, NULL);
}

/* Makes room for need more bytes (+ headroom): prunes acked files if that is
 * needed. FT_OK or FT_EFULL. */
static int ensure_space(ingest_t *in, uint64_t need)
{
    uint64_t free_bytes = 0;
    int err = mstore_free_bytes(in->m, &free_bytes, NULL);
    if (err != FT_OK) {
        return err;
    }
    uint64_t want = need + MSTORE_HEADROOM;
    if (free_bytes >= want) {
        return FT_OK;
    }
    unsigned pruned = 0;
    err = mstore_prune(in->m, 0, want, &pruned);
    if (err != FT_OK && err != FT_EFULL) {
        return err;
    }
    err = mstore_free_bytes(in->m, &free_bytes, NULL);
    if (err != FT_OK) {
        return err;
    }
    return free_bytes >= want ? FT_OK : FT_EFULL;
}

/* Persists the paused state so that `status` and the next process know it. */
static void persist_full(ingest_t *in, bool full)
{
    MDB_txn *txn = NULL;
    if (mdb_txn_begin(mstore_env(in->m), NULL, 0, &txn) != 0) {
        return;
    }
    uint8_t v = full;
    if (mstore_meta_put(in->m, txn, "storage_full", &v, 1) == FT_OK) {
        mdb_txn_commit(txn);
    } else {
        mdb_txn_abort(txn);
    }
}

/* Enters the paused state once: says so and logs storage_full. */
static void note_full(ingest_t *in, const char *name, const char *recorder)
{
    if (in->full) {
        return;
    }
    in->full = true;
    uint64_t free_bytes = 0, map = 0;
    if (mstore_free_bytes(in->m, &free_bytes, &map) != FT_OK) {
        free_bytes = map = 0;
    }
    char detail[512];
    snprintf(detail, sizeof detail,
             "storage is full while ingesting %s (database map: %llu of %llu MiB free, so the "
             "disk itself may be full); ingest paused until the hub confirms files so they can "
             "be pruned, disk space is freed, or map_size_mb is raised",
             name, (unsigned long long)(free_bytes >> 20), (unsigned long long)(map >> 20));
    log_error("%s", detail);
    persist_full(in, true);
    int err = ingest_log_event(in, FT__DEVICE_EVENT_KIND__STORAGE_FULL, recorder, detail);
    if (err != FT_OK) {
        log_error("cannot even log the storage_full event: %s", ft_strerror(err));
    }
}

static void note_not_full(ingest_t *in, const char *recorder)
{
    if (!in->full) {
        return;
    }
    in->full = false;
    persist_full(in, false);
    log_info("media storage available again: ingest resumed");
    if (ingest_log_event(in, FT__DEVICE_EVENT_KIND__STORAGE_OK, recorder,
                         "media storage available again; ingest resumed") != FT_OK) {
        log_warn("cannot log the storage_ok event");
    }
}

/* ---- one file ------------------------------------------------------------- */

/* Encrypts and puts chunk i of the file in txn; its hash into hash. */
static int put_chunk(ingest_t *in, MDB_txn *txn, int fd, uint64_t size, const uint8_t *file_id,
                     const uint8_t *key, uint32_t i, media_content_t *content,
                     uint8_t hash[MEDIA_HASH_BYTES])
{
    uint32_t cs = in->o.chunk_size;
    uint32_t len = media_chunk_len(size, cs, i);
    ssize_t got = pread(fd, in->plain, len, (off_t)((uint64_t)i * cs));
    if (got != (ssize_t)len) {
        return FT_EIO;
    }
    media_content_update(content, in->plain, len);
    /* Encrypted straight into the value's place in the transaction (no
     * copy of the ciphertext), and hashed from there. */
    uint8_t *dst = NULL;
    int err = mstore_chunk_reserve(in->m, txn, file_id, i, len + MEDIA_TAG_BYTES, &dst);
    if (err == FT_OK) {
        err = media_chunk_encrypt(key, file_id, i, in->plain, len, dst);
    }
    if (err == FT_OK) {
        media_chunk_hash(file_id, i, dst, len + MEDIA_TAG_BYTES, hash);
    }
    return err;
}

/* Rebuilds hashes and content state for chunks [0, done) of a resumed ingest. */
static int resume_prefix(ingest_t *in, int fd, uint64_t size, const mstore_progress_t *p,
                         media_content_t *content, uint8_t (*hashes)[MEDIA_HASH_BYTES])
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(mstore_env(in->m), NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    int err = FT_OK;
    for (uint32_t i = 0; i < p->chunks_done && err == FT_OK; i++) {
        const uint8_t *ct = NULL;
        size_t ct_len = 0;
        err = mstore_chunk_get(in->m, txn, p->file_id, i, &ct, &ct_len);
        if (err != FT_OK) {
            break;
        }
        media_chunk_hash(p->file_id, i, ct, ct_len, hashes[i]);
        uint32_t len = media_chunk_len(size, p->chunk_size, i);
        if (ct_len != len + MEDIA_TAG_BYTES ||
            pread(fd, in->plain, len, (off_t)((uint64_t)i * p->chunk_size)) != (ssize_t)len) {
            err = FT_ECORRUPT;
            break;
        }
        media_content_update(content, in->plain, len);
    }
    mdb_txn_abort(txn);
    return err;
}

/* The fstat figures an ingest read the file at: it is whole only if they
 * still hold when the manifest commits. */
static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* FT_OK while the file on fd is still what was read (st) and nobody has it
 * open for writing; else FT_EAGAIN (and why, for the log). */
static int still_whole(int fd, const struct stat *st, const char **why)
{
    struct stat now;
    if (fstat(fd, &now) != 0) {
        *why = "it can no longer be examined";
        return FT_EIO;
    }
    if (!same_file(st, &now)) {
        *why = "it changed while it was read (a writer is still adding to it)";
        return FT_EAGAIN;
    }
    if (ingest_writer_probe(fd) == INGEST_WRITER_OPEN) {
        *why = "another process has it open for writing";
        return FT_EAGAIN;
    }
    return FT_OK;
}

/* Commits the final batch, the manifest and the rows in one transaction,
 * if the file is still whole. */
static int finish(ingest_t *in, int fd, const struct stat *st, const ingest_src_t *src,
                  mstore_progress_t *p, uint64_t size, uint32_t n, uint32_t from,
                  uint8_t (*hashes)[MEDIA_HASH_BYTES], media_content_t *content,
                  ingest_result_t *res)
{
    const char *base = strrchr(src->path, '/');
    base = base ? base + 1 : src->path;
    const char *recorder = src->recorder;
    meta_t mt;
    gather_meta(in, src, base, fd, st, &mt);
    devlog_txn_t *t = NULL;
    int err = devlog_begin(mstore_log(in->m), &t);
    if (err != FT_OK) {
        meta_free(&mt);
        return err;
    }
    MDB_txn *txn = devlog_txn_mdb(t);
    for (uint32_t i = from; i < n && err == FT_OK; i++) {
        err = put_chunk(in, txn, fd, size, p->file_id, p->key, i, content, hashes[i]);
    }
    uint8_t chash[MEDIA_HASH_BYTES], root[MEDIA_HASH_BYTES], sealed[MEDIA_SEALED_KEY_BYTES];
    media_content_final(content, chash);
    if (err == FT_OK) {
        err = media_merkle_root((const uint8_t(*)[MEDIA_HASH_BYTES])hashes, n, root);
    }
    uint8_t dup_id[MEDIA_FILE_ID_BYTES];
    bool dup = false;
    if (err == FT_OK) {
        int e = mstore_content_get(in->m, txn, chash, dup_id);
        if (e == FT_OK) {
            dup = true;
        } else if (e != FT_ENOTFOUND) {
            err = e;
        }
    }
    if (err == FT_OK && dup) {
        err = mstore_chunks_delete(in->m, txn, p->file_id, NULL);
        memcpy(res->file_id, dup_id, MEDIA_FILE_ID_BYTES);
        res->outcome = INGEST_DUPLICATE;
    } else if (err == FT_OK) {
        err = media_key_seal(p->key, in->o.archive_pk, sealed);
        ProtobufCBinaryData *hb = NULL;
        if (err == FT_OK) {
            hb = calloc(n, sizeof *hb);
            if (!hb) {
                err = FT_ENOMEM;
            }
        }
        uint64_t seq = 0;
        if (err == FT_OK) {
            for (uint32_t i = 0; i < n; i++) {
                hb[i].data = hashes[i];
                hb[i].len = MEDIA_HASH_BYTES;
            }
            Ft__MediaManifest mf = FT__MEDIA_MANIFEST__INIT;
            Ft__Time ts = FT__TIME__INIT, te = FT__TIME__INIT;
            mf.file_id.data = p->file_id;
            mf.file_id.len = MEDIA_FILE_ID_BYTES;
            mf.size = size;
            mf.chunk_size = p->chunk_size;
            mf.has_format = true;
            mf.format = MEDIA_FORMAT;
            mf.merkle_root.data = root;
            mf.merkle_root.len = MEDIA_HASH_BYTES;
            mf.n_chunk_hashes = n;
            mf.chunk_hashes = hb;
            mf.content_hash.data = chash;
            mf.content_hash.len = MEDIA_HASH_BYTES;
            mf.sealed_key.data = sealed;
            mf.sealed_key.len = sizeof sealed;
            mf.kind = mt.kind;
            mf.recorder = (char *)(recorder && recorder[0] ? recorder : NULL);
            mf.officer = mt.officer;
            mf.unit = (char *)in->o.unit;
            if (mt.has_start) {
                ts.unix_ms = mt.start_ms;
                ts.utc_offset_min = mt.start_off;
                mf.start = &ts;
            }
            if (mt.has_end) {
                te.unix_ms = mt.end_ms;
                te.utc_offset_min = mt.end_off;
                mf.end = &te;
            }
            mf.case_id = mt.case_id;
            mf.cause = mt.cause;
            mf.party = mt.party;
            mf.file_name = (char *)base;
            mf.has_officer_source = mt.officer != NULL;
            mf.officer_source = mt.officer_source;
            mf.has_time_source = 1;
            mf.time_source = mt.time_source;
            if (p->has_supersedes) {
                mf.has_supersedes = true;
                mf.supersedes.data = p->supersedes;
                mf.supersedes.len = MEDIA_FILE_ID_BYTES;
            }
            Ft__Body body = FT__BODY__INIT;
            body.kind_case = FT__BODY__KIND_MEDIA;
            body.media = &mf;
            err = devlog_append(t, &body, &seq);
        }
        free(hb);
        mstore_file_t f;
        memset(&f, 0, sizeof f);
        if (err == FT_OK) {
            f.version = 1;
            f.state = MFILE_STORED;
            memcpy(f.file_id, p->file_id, MEDIA_FILE_ID_BYTES);
            f.size = size;
            f.chunk_size = p->chunk_size;
            f.n_chunks = n;
            f.manifest_seq = seq;
            f.ingested_ms = (int64_t)devlog_wall_ms(mstore_log(in->m));
            memcpy(f.merkle_root, root, MEDIA_HASH_BYTES);
            memcpy(f.content_hash, chash, MEDIA_HASH_BYTES);
            (void)utf8_copy(f.name, sizeof f.name, base);
            (void)utf8_copy(f.recorder, sizeof f.recorder, recorder);
            err = mstore_file_put(in->m, txn, &f);
        }
        if (err == FT_OK) {
            err = mstore_content_put(in->m, txn, chash, p->file_id);
        }
        memcpy(res->file_id, p->file_id, MEDIA_FILE_ID_BYTES);
        res->manifest_seq = seq;
        res->outcome = INGEST_STORED;
        res->superseded = p->has_supersedes;
    }
    if (err == FT_OK) {
        p->state = MPROG_DONE;
        sodium_memzero(p->key, sizeof p->key);
        p->chunks_done = n;
        p->done_ms = (int64_t)devlog_wall_ms(mstore_log(in->m));
        p->stored = res->outcome == INGEST_STORED;
        p->declared = src->declared;
        if (!p->stored) {
            memcpy(p->file_id, dup_id, MEDIA_FILE_ID_BYTES);
        }
        err = mstore_progress_put(in->m, txn, p);
    }
    /* The last look before the commit: a file that grew or was reopened for
     * writing while it was read is not whole, and its manifest would lose
     * the rest. Nothing of this transaction is kept then. */
    const char *why = NULL;
    if (err == FT_OK) {
        err = still_whole(fd, st, &why);
        if (err == FT_EAGAIN) {
            log_info("%s is not taken yet: %s; it is read again once it is complete", src->path,
                     why);
        }
    }
    if (err == FT_OK) {
        err = devlog_commit(&t);
    }
    devlog_abort(&t);
    sodium_memzero(sealed, sizeof sealed);
    meta_free(&mt);
    return err;
}

/* Deletes the progress row of (dev, ino) in its own transaction. */
static void drop_progress(ingest_t *in, uint64_t dev, uint64_t ino)
{
    MDB_txn *txn = NULL;
    if (mdb_txn_begin(mstore_env(in->m), NULL, 0, &txn) != 0) {
        return;
    }
    if (mstore_progress_del(in->m, txn, dev, ino) == FT_OK) {
        (void)mdb_txn_commit(txn);
    } else {
        mdb_txn_abort(txn);
    }
}

int ingest_fd(ingest_t *in, int fd, const ingest_src_t *src, ingest_result_t *res)
{
    memset(res, 0, sizeof *res);
    const char *path = src->path;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return FT_EIO;
    }
    if (!S_ISREG(st.st_mode)) {
        return FT_EINVAL;
    }
    uint64_t size = (uint64_t)st.st_size;
    int64_t mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    res->size = size;
    MDB_env *env = mstore_env(in->m);
    mstore_progress_t p;
    memset(&p, 0, sizeof p);
    uint8_t(*hashes)[MEDIA_HASH_BYTES] = NULL;
    media_content_t content;
    media_content_init(&content);
    MDB_txn *txn = NULL;
    int err = FT_OK;
    int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    err = mstore_progress_get(in->m, txn, (uint64_t)st.st_dev, (uint64_t)st.st_ino, &p);
    mdb_txn_abort(txn);
    txn = NULL;
    bool have_row = err == FT_OK;
    if (err != FT_OK && err != FT_ENOTFOUND) {
        goto out;
    }
    err = FT_OK;
    bool same = have_row && p.size == size && p.mtime_ns == mtime_ns && strcmp(p.path, path) == 0;
    if (have_row && same && p.state == MPROG_DONE) {
        /* Committed before; only the removal is still to come. */
        memcpy(res->file_id, p.file_id, MEDIA_FILE_ID_BYTES);
        res->outcome = p.stored ? INGEST_STORED : INGEST_DUPLICATE;
        goto out;
    }
    /* A file taken before its writer had finished, then grown: the new
     * manifest replaces the one of the shorter file. */
    bool supersede = have_row && p.state == MPROG_DONE && p.stored;
    uint8_t old_id[MEDIA_FILE_ID_BYTES];
    memcpy(old_id, supersede ? p.file_id : p.supersedes, sizeof old_id);
    supersede = supersede || (have_row && p.state == MPROG_INGESTING && p.has_supersedes);
    uint32_t cs = have_row && same ? p.chunk_size : in->o.chunk_size;
    uint32_t n = media_chunk_count(size, cs);
    if (n > MEDIA_MAX_CHUNKS) {
        log_error("%s is too large: %llu bytes is more than %u chunks of %u bytes", path,
                  (unsigned long long)size, MEDIA_MAX_CHUNKS, cs);
        err = FT_EINVAL;
        goto out;
    }
    hashes = calloc(n, MEDIA_HASH_BYTES);
    if (!hashes) {
        err = FT_ENOMEM;
        goto out;
    }
    if (have_row && same && p.state == MPROG_INGESTING && p.chunk_size == in->o.chunk_size) {
        err = resume_prefix(in, fd, size, &p, &content, hashes);
        if (err == FT_OK) {
            res->resumed = true;
            log_info("resuming the ingest of %s at chunk %u of %u", base, p.chunks_done, n);
        } else {
            log_warn("cannot resume the ingest of %s (%s); starting it again", base,
                     ft_strerror(err));
            media_content_init(&content);
            err = FT_OK;
            same = false;
        }
    } else {
        same = false;
    }
    if (!same) {
        /* New ingest (or the file changed since the interrupted one). */
        rc = mdb_txn_begin(env, NULL, 0, &txn);
        if (rc != 0) {
            err = lmdbx_err(rc);
            goto out;
        }
        if (have_row && p.state == MPROG_INGESTING) {
            err = mstore_chunks_delete(in->m, txn, p.file_id, NULL);
        }
        memset(&p, 0, sizeof p);
        p.version = 2;
        p.state = MPROG_INGESTING;
        p.dev = (uint64_t)st.st_dev;
        p.ino = (uint64_t)st.st_ino;
        p.size = size;
        p.mtime_ns = mtime_ns;
        media_file_id_new(p.file_id);
        media_key_new(p.key);
        p.chunk_size = in->o.chunk_size;
        p.started_ms = (int64_t)devlog_wall_ms(mstore_log(in->m));
        p.has_supersedes = supersede;
        memcpy(p.supersedes, old_id, sizeof p.supersedes);
        if (strlen(path) >= sizeof p.path) {
            log_error("%s: the path is longer than %zu bytes", base, sizeof p.path - 1);
            err = FT_EINVAL;
        }
        snprintf(p.path, sizeof p.path, "%s", path);
        if (err == FT_OK) {
            err = mstore_progress_put(in->m, txn, &p);
        }
        if (err == FT_OK) {
            err = lmdbx_err(mdb_txn_commit(txn));
        } else {
            mdb_txn_abort(txn);
        }
        txn = NULL;
        if (err != FT_OK) {
            goto out;
        }
        if (supersede) {
            char oldhex[33];
            hex_encode(old_id, MEDIA_FILE_ID_BYTES, oldhex);
            log_warn("%s changed after it was ingested as file %s (its writer had paused, not "
                     "finished): it is read again in full, and a new manifest supersedes the "
                     "first",
                     path, oldhex);
        }
    }
    /* Batches of chunks, each committed with the progress. */
    while (p.chunks_done + INGEST_BATCH < n) {
        if (in->o.stop && *in->o.stop) {
            err = FT_ETIMEOUT;
            goto out;
        }
        err = ensure_space(in, (uint64_t)INGEST_BATCH * (cs + MEDIA_TAG_BYTES + 4096));
        if (err != FT_OK) {
            goto out;
        }
        rc = mdb_txn_begin(env, NULL, 0, &txn);
        if (rc != 0) {
            err = lmdbx_err(rc);
            goto out;
        }
        uint32_t end = p.chunks_done + INGEST_BATCH;
        for (uint32_t i = p.chunks_done; i < end && err == FT_OK; i++) {
            err = put_chunk(in, txn, fd, size, p.file_id, p.key, i, &content, hashes[i]);
        }
        mstore_progress_t next = p;
        next.chunks_done = end;
        if (err == FT_OK) {
            err = mstore_progress_put(in->m, txn, &next);
        }
        if (err == FT_OK) {
            err = lmdbx_err(mdb_txn_commit(txn));
        } else {
            mdb_txn_abort(txn);
        }
        sodium_memzero(&next, sizeof next);
        txn = NULL;
        if (err != FT_OK) {
            goto out;
        }
        p.chunks_done = end;
        if (in->progress) {
            in->progress(in->progress_ctx, base, (uint64_t)end * cs, size);
        }
    }
    err = ensure_space(in, (uint64_t)(n - p.chunks_done) * (cs + MEDIA_TAG_BYTES + 4096) +
                               (uint64_t)n * 64 + 65536);
    if (err == FT_OK) {
        uint32_t from = p.chunks_done;
        err = finish(in, fd, &st, src, &p, size, n, from, hashes, &content, res);
    }
    if (err != FT_OK) {
        goto out;
    }
    if (in->progress) {
        in->progress(in->progress_ctx, base, size, size);
    }
    if (res->outcome == INGEST_DUPLICATE) {
        log_info("%s: the same content was ingested before; not stored again", base);
    } else {
        char idhex[33];
        hex_encode(res->file_id, MEDIA_FILE_ID_BYTES, idhex);
        log_info("ingested %s: %llu bytes in %u chunks, file %s, manifest seq %llu%s", base,
                 (unsigned long long)size, n, idhex, (unsigned long long)res->manifest_seq,
                 res->superseded ? " (supersedes the manifest of the shorter file)" : "");
    }
    note_not_full(in, src->recorder);
out:
    if (err == FT_EFULL) {
        note_full(in, base, src->recorder);
    }
    sodium_memzero(&p, sizeof p);
    sodium_memzero(&content, sizeof content);
    free(hashes);
    return err;
}

/* Removes name from the directory dfd if it is still the inode want names. */
static void remove_if_same(int dfd, const char *name, const struct stat *want)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
        st.st_dev == want->st_dev && st.st_ino == want->st_ino) {
        (void)unlinkat(dfd, name, 0);
    }
}

int ingest_file(ingest_t *in, const char *path, const char *recorder, bool remove_source,
                ingest_result_t *res)
{
    memset(res, 0, sizeof *res);
    char dir[4200], name[4200], side[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        snprintf(name, sizeof name, "%s", slash + 1);
        if (dir[0] == '\0') {
            snprintf(dir, sizeof dir, "/");
        }
    } else {
        snprintf(dir, sizeof dir, ".");
        snprintf(name, sizeof name, "%s", path);
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        return errno == ENOENT ? FT_ENOTFOUND : FT_EIO;
    }
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        close(dfd);
        if (e == ELOOP) {
            log_error("%s is a symbolic link: name the file itself", path);
            return FT_EINVAL;
        }
        return e == ENOENT ? FT_ENOTFOUND : FT_EIO;
    }
    json_t *sidecar = NULL;
    char why[256];
    int err = FT_OK;
    if (join2(side, sizeof side, name, ".json")) {
        err = ingest_read_sidecar(dfd, side, &sidecar, why, sizeof why);
        if (err == FT_ENOTFOUND) {
            err = FT_OK;
        } else if (err != FT_OK) {
            log_warn("the sidecar %s.json %s; ignoring it", path, why);
            err = FT_OK;
        }
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        err = FT_EIO;
    }
    ingest_src_t src = {.path = path, .recorder = recorder, .sidecar = sidecar, .declared = true};
    if (err == FT_OK) {
        err = ingest_fd(in, fd, &src, res);
    }
    if (err == FT_OK) {
        if (remove_source) {
            remove_if_same(dfd, name, &st);
            struct stat aux;
            if (join2(side, sizeof side, name, ".json") &&
                fstatat(dfd, side, &aux, AT_SYMLINK_NOFOLLOW) == 0 && aux.st_nlink == 1) {
                remove_if_same(dfd, side, &aux);
            }
            if (join2(side, sizeof side, name, ".done") &&
                fstatat(dfd, side, &aux, AT_SYMLINK_NOFOLLOW) == 0 && aux.st_nlink == 1) {
                remove_if_same(dfd, side, &aux);
            }
            (void)fsync(dfd);
        }
        /* The DONE row served only to survive a crash before the removal. */
        drop_progress(in, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    }
    json_decref(sidecar);
    close(fd);
    close(dfd);
    return err;
}

/* ---- sweep of abandoned ingests ----------------------------------------- */

typedef struct {
    mstore_progress_t *rows;
    size_t n, cap;
} stale_t;

/* A progress row whose source is gone: no file at its path, or another file
 * (inode) there now. */
static int collect_stale(void *ctx, const mstore_progress_t *p)
{
    stale_t *s = ctx;
    struct stat st;
    if (lstat(p->path, &st) == 0) {
        if (S_ISREG(st.st_mode) && (uint64_t)st.st_dev == p->dev && (uint64_t)st.st_ino == p->ino) {
            return 0; /* still there */
        }
    } else if (errno != ENOENT && errno != ENOTDIR) {
        return 0; /* cannot tell (permissions, I/O): keep it */
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        mstore_progress_t *g = realloc(s->rows, cap * sizeof *g);
        if (!g) {
            return FT_ENOMEM;
        }
        s->rows = g;
        s->cap = cap;
    }
    s->rows[s->n++] = *p;
    return 0;
}

/* The recorder of an inbox path: its first folder below root (or, without
 * a root, the folder holding it). */
static void recorder_of(const char *root, const char *path, char *out, size_t n)
{
    out[0] = '\0';
    size_t rn = root ? strlen(root) : 0;
    if (rn && strncmp(path, root, rn) == 0 && path[rn] == '/') {
        const char *start = path + rn + 1;
        const char *end = strchr(start, '/');
        if (end) {
            snprintf(out, n, "%.*s", (int)(end - start), start);
        }
        return;
    }
    const char *end = strrchr(path, '/');
    if (!end || end == path) {
        return;
    }
    const char *start = end - 1;
    while (start > path && *start != '/') {
        start--;
    }
    if (*start == '/') {
        start++;
    }
    snprintf(out, n, "%.*s", (int)(end - start), start);
}

int ingest_sweep(ingest_t *in, const char *root, unsigned *n_swept)
{
    if (n_swept) {
        *n_swept = 0;
    }
    MDB_env *env = mstore_env(in->m);
    stale_t s = {0};
    MDB_txn *txn = NULL;
    int err = lmdbx_err(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    if (err != FT_OK) {
        return err;
    }
    lmdbx_unread_t unread = {0};
    err = mstore_progress_iter(in->m, txn, collect_stale, &s, &unread);
    mdb_txn_abort(txn);
    if (err == FT_ECORRUPT && unread.n) {
        mstore_unread_report(in->m, MSTORE_ROWS_PROGRESS, &unread);
        err = FT_OK; /* the rows that can be read are swept */
    }
    txn = NULL;
    for (size_t i = 0; err == FT_OK && i < s.n; i++) {
        mstore_progress_t *p = &s.rows[i];
        uint64_t freed = 0;
        err = lmdbx_err(mdb_txn_begin(env, NULL, 0, &txn));
        if (err != FT_OK) {
            break;
        }
        /* A DONE row's chunks belong to a stored file: only the row goes. */
        if (p->state == MPROG_INGESTING) {
            err = mstore_chunks_delete(in->m, txn, p->file_id, &freed);
        }
        if (err == FT_OK) {
            err = mstore_progress_del(in->m, txn, p->dev, p->ino);
        }
        if (err == FT_OK) {
            err = lmdbx_err(mdb_txn_commit(txn));
        } else {
            mdb_txn_abort(txn);
        }
        txn = NULL;
        if (err != FT_OK || p->state != MPROG_INGESTING) {
            continue;
        }
        const char *base = strrchr(p->path, '/');
        base = base ? base + 1 : p->path;
        char recorder[256], detail[1400];
        recorder_of(root, p->path, recorder, sizeof recorder);
        uint32_t n = media_chunk_count(p->size, p->chunk_size);
        log_warn("the ingest of %s was interrupted and the file is no longer in the inbox: %u of "
                 "%u chunks had been stored; they are freed (%llu bytes) and an ingest_failed "
                 "event is logged",
                 p->path, p->chunks_done, n, (unsigned long long)freed);
        snprintf(detail, sizeof detail,
                 "%s (%llu bytes) was removed or replaced before its ingest finished (%u of %u "
                 "chunks stored); the partial copy is discarded",
                 base, (unsigned long long)p->size, p->chunks_done, n);
        if (ingest_log_event(in, FT__DEVICE_EVENT_KIND__INGEST_FAILED, recorder, detail) != FT_OK) {
            log_warn("cannot log the ingest_failed event for %s", base);
        }
        if (n_swept) {
            (*n_swept)++;
        }
    }
    for (size_t i = 0; i < s.n; i++) {
        sodium_memzero(&s.rows[i], sizeof s.rows[i]);
    }
    free(s.rows);
    return err;
}
