/* ingest.c: recorder files -> encrypted chunks + signed manifest (see ingest.h). */
#include "ingest.h"
#include "fsutil.h"
#include "hlc.h"
#include "lmdbx.h"
#include "logging.h"
#include "record.h"

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

/* ---- metadata ----------------------------------------------------------- */

/* What the manifest says about a file beyond its bytes. */
typedef struct {
    Ft__MediaKind kind;
    char officer[128];
    Ft__ValueSource officer_source;
    bool has_start, has_end;
    int64_t start_ms, end_ms;
    int32_t start_off, end_off;
    Ft__ValueSource time_source;
    char case_id[128], cause[256], party[256];
} meta_t;

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

static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* Reads <path>.json if present. FT_OK (also when absent) or FT_EINVAL. */
static int read_sidecar(const char *path, meta_t *mt)
{
    char sc[4200];
    if (!join2(sc, sizeof sc, path, ".json") || access(sc, F_OK) != 0) {
        return FT_OK;
    }
    json_error_t jerr;
    json_t *o = json_load_file(sc, 0, &jerr);
    if (!o || !json_is_object(o)) {
        log_warn("sidecar %s is not a JSON object (%s); ignoring it", sc, jerr.text);
        json_decref(o);
        return FT_OK;
    }
    const char *s;
    if ((s = json_string_value(json_object_get(o, "officer"))) != NULL) {
        copy_str(mt->officer, sizeof mt->officer, s);
        mt->officer_source = FT__VALUE_SOURCE__SIDECAR;
    }
    if ((s = json_string_value(json_object_get(o, "kind"))) != NULL) {
        if (strcmp(s, "video") == 0) {
            mt->kind = FT__MEDIA_KIND__VIDEO;
        } else if (strcmp(s, "audio") == 0) {
            mt->kind = FT__MEDIA_KIND__AUDIO;
        } else if (strcmp(s, "photo") == 0) {
            mt->kind = FT__MEDIA_KIND__PHOTO;
        }
    }
    if ((s = json_string_value(json_object_get(o, "start"))) != NULL &&
        rfc3339_parse(s, &mt->start_ms, &mt->start_off) == FT_OK) {
        mt->has_start = true;
        mt->time_source = FT__VALUE_SOURCE__SIDECAR;
    }
    if ((s = json_string_value(json_object_get(o, "end"))) != NULL &&
        rfc3339_parse(s, &mt->end_ms, &mt->end_off) == FT_OK) {
        mt->has_end = true;
        mt->time_source = FT__VALUE_SOURCE__SIDECAR;
    }
    copy_str(mt->case_id, sizeof mt->case_id, json_string_value(json_object_get(o, "case")));
    copy_str(mt->cause, sizeof mt->cause, json_string_value(json_object_get(o, "cause")));
    copy_str(mt->party, sizeof mt->party, json_string_value(json_object_get(o, "party")));
    json_decref(o);
    return FT_OK;
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
    char officer[128];
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
            copy_str(c->officer, sizeof c->officer, off);
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
        copy_str(mt->officer, sizeof mt->officer, c.officer);
        mt->officer_source = FT__VALUE_SOURCE__CHECKOUT;
    }
}

static void gather_meta(ingest_t *in, const char *path, int fd, const struct stat *st,
                        const char *recorder, meta_t *mt)
{
    memset(mt, 0, sizeof *mt);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    mt->kind = kind_from_name(base);
    if (read_sidecar(path, mt) != FT_OK) {
        return;
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
    if (!mt->officer[0] && recorder && recorder[0]) {
        officer_from_checkout(in, recorder, mt->has_start ? mt->start_ms : mt->end_ms, mt);
    }
}

/* ---- storage full --------------------------------------------------------- */

static int append_event(ingest_t *in, Ft__DeviceEventKind kind, const char *recorder,
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
    int err = append_event(in, FT__DEVICE_EVENT_KIND__STORAGE_FULL, recorder, detail);
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
    if (append_event(in, FT__DEVICE_EVENT_KIND__STORAGE_OK, recorder,
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

static void remove_source_files(const char *path)
{
    char side[4200];
    unlink(path);
    if (join2(side, sizeof side, path, ".json")) {
        unlink(side);
    }
    if (join2(side, sizeof side, path, ".done")) {
        unlink(side);
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
    } else {
        snprintf(dir, sizeof dir, ".");
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

/* Commits the final batch, the manifest and the rows in one transaction. */
static int finish(ingest_t *in, int fd, const char *path, const char *recorder,
                  mstore_progress_t *p, uint64_t size, uint32_t n, uint32_t from,
                  uint8_t (*hashes)[MEDIA_HASH_BYTES], media_content_t *content,
                  ingest_result_t *res)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    meta_t mt;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return FT_EIO;
    }
    gather_meta(in, path, fd, &st, recorder, &mt);
    devlog_txn_t *t = NULL;
    int err = devlog_begin(mstore_log(in->m), &t);
    if (err != FT_OK) {
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
            mf.chunk_size = in->o.chunk_size;
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
            mf.officer = mt.officer[0] ? mt.officer : NULL;
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
            mf.case_id = mt.case_id[0] ? mt.case_id : NULL;
            mf.cause = mt.cause[0] ? mt.cause : NULL;
            mf.party = mt.party[0] ? mt.party : NULL;
            mf.file_name = (char *)base;
            mf.has_officer_source = mt.officer[0] != '\0';
            mf.officer_source = mt.officer_source;
            mf.has_time_source = 1;
            mf.time_source = mt.time_source;
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
            f.chunk_size = in->o.chunk_size;
            f.n_chunks = n;
            f.manifest_seq = seq;
            f.ingested_ms = (int64_t)devlog_wall_ms(mstore_log(in->m));
            memcpy(f.merkle_root, root, MEDIA_HASH_BYTES);
            memcpy(f.content_hash, chash, MEDIA_HASH_BYTES);
            copy_str(f.name, sizeof f.name, base);
            copy_str(f.recorder, sizeof f.recorder, recorder);
            err = mstore_file_put(in->m, txn, &f);
        }
        if (err == FT_OK) {
            err = mstore_content_put(in->m, txn, chash, p->file_id);
        }
        memcpy(res->file_id, p->file_id, MEDIA_FILE_ID_BYTES);
        res->manifest_seq = seq;
        res->outcome = INGEST_STORED;
    }
    if (err == FT_OK) {
        p->state = MPROG_DONE;
        sodium_memzero(p->key, sizeof p->key);
        p->chunks_done = n;
        err = mstore_progress_put(in->m, txn, p);
    }
    if (err == FT_OK) {
        err = devlog_commit(&t);
    }
    devlog_abort(&t);
    sodium_memzero(sealed, sizeof sealed);
    return err;
}

int ingest_file(ingest_t *in, const char *path, const char *recorder, bool remove_source,
                ingest_result_t *res)
{
    memset(res, 0, sizeof *res);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? FT_ENOTFOUND : FT_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
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
        close(fd);
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
        /* Committed before; only the removal was interrupted. */
        memcpy(res->file_id, p.file_id, MEDIA_FILE_ID_BYTES);
        res->outcome = INGEST_STORED;
        goto done;
    }
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
        p.version = 1;
        p.state = MPROG_INGESTING;
        p.dev = (uint64_t)st.st_dev;
        p.ino = (uint64_t)st.st_ino;
        p.size = size;
        p.mtime_ns = mtime_ns;
        media_file_id_new(p.file_id);
        media_key_new(p.key);
        p.chunk_size = in->o.chunk_size;
        p.started_ms = (int64_t)devlog_wall_ms(mstore_log(in->m));
        copy_str(p.path, sizeof p.path, path);
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
        err = finish(in, fd, path, recorder, &p, size, n, from, hashes, &content, res);
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
        log_info("ingested %s: %llu bytes in %u chunks, file %s, manifest seq %llu", base,
                 (unsigned long long)size, n, idhex, (unsigned long long)res->manifest_seq);
    }
done:
    note_not_full(in, recorder);
    if (remove_source) {
        remove_source_files(path);
    }
    /* The DONE row served only to survive a crash before the removal. */
    rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc == 0) {
        if (mstore_progress_del(in->m, txn, p.dev ? p.dev : (uint64_t)st.st_dev,
                                p.ino ? p.ino : (uint64_t)st.st_ino) == FT_OK) {
            rc = mdb_txn_commit(txn);
        } else {
            mdb_txn_abort(txn);
        }
        txn = NULL;
    }
    err = FT_OK;
out:
    if (err == FT_EFULL) {
        note_full(in, base, recorder);
    }
    sodium_memzero(&p, sizeof p);
    sodium_memzero(&content, sizeof content);
    free(hashes);
    close(fd);
    return err;
}

/* ---- inbox ------------------------------------------------------------- */

static bool is_aux_name(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.') {
        return true;
    }
    static const char *const aux[] = {".json", ".done", ".part", ".tmp"};
    for (size_t i = 0; i < sizeof aux / sizeof *aux; i++) {
        size_t m = strlen(aux[i]);
        if (n > m && strcmp(name + n - m, aux[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool is_complete(const ingest_t *in, const char *path, const struct stat *st)
{
    char side[4200];
    if (join2(side, sizeof side, path, ".done") && access(side, F_OK) == 0) {
        return true;
    }
    if (join2(side, sizeof side, path, ".json") && access(side, F_OK) == 0) {
        return true;
    }
    int64_t mtime_ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
    return (int64_t)hlc_wall_ms() - mtime_ms >= (int64_t)in->o.stable_ms;
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
    if (stat(p->path, &st) == 0) {
        if ((uint64_t)st.st_dev == p->dev && (uint64_t)st.st_ino == p->ino) {
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

/* The recorder of an inbox path: the name of the directory holding it. */
static void recorder_of(const char *path, char *out, size_t n)
{
    out[0] = '\0';
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
    size_t len = (size_t)(end - start);
    if (len >= n) {
        len = n - 1;
    }
    memcpy(out, start, len);
    out[len] = '\0';
}

int ingest_sweep(ingest_t *in, unsigned *n_swept)
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
    err = mstore_progress_iter(in->m, txn, collect_stale, &s);
    mdb_txn_abort(txn);
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
        recorder_of(p->path, recorder, sizeof recorder);
        uint32_t n = media_chunk_count(p->size, p->chunk_size);
        log_warn("the ingest of %s was interrupted and the file is no longer in the inbox: %u of "
                 "%u chunks had been stored; they are freed (%llu bytes) and an ingest_failed "
                 "event is logged",
                 p->path, p->chunks_done, n, (unsigned long long)freed);
        snprintf(detail, sizeof detail,
                 "%s (%llu bytes) was removed or replaced before its ingest finished (%u of %u "
                 "chunks stored); the partial copy is discarded",
                 base, (unsigned long long)p->size, p->chunks_done, n);
        if (append_event(in, FT__DEVICE_EVENT_KIND__INGEST_FAILED, recorder, detail) != FT_OK) {
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

int ingest_scan_inbox(ingest_t *in, const char *inbox, unsigned *n_stored)
{
    if (ingest_sweep(in, NULL) != FT_OK) {
        log_warn("cannot sweep abandoned ingests; tried again at the next inbox pass");
    }
    if (n_stored) {
        *n_stored = 0;
    }
    DIR *top = opendir(inbox);
    if (!top) {
        return errno == ENOENT ? FT_OK : FT_EIO;
    }
    int first_err = FT_OK;
    struct dirent *rd;
    while ((rd = readdir(top)) != NULL) {
        if (rd->d_name[0] == '.') {
            continue;
        }
        char rdir[4200];
        struct stat rst;
        if (fsutil_join(rdir, sizeof rdir, inbox, rd->d_name) != FT_OK || stat(rdir, &rst) != 0 ||
            !S_ISDIR(rst.st_mode)) {
            continue;
        }
        DIR *d = opendir(rdir);
        if (!d) {
            continue;
        }
        struct dirent *fe;
        while ((fe = readdir(d)) != NULL) {
            if (is_aux_name(fe->d_name)) {
                continue;
            }
            if (in->o.stop && *in->o.stop) {
                break;
            }
            char path[4200];
            struct stat st;
            if (fsutil_join(path, sizeof path, rdir, fe->d_name) != FT_OK || stat(path, &st) != 0 ||
                !S_ISREG(st.st_mode) || !is_complete(in, path, &st)) {
                continue;
            }
            ingest_result_t res;
            int err = ingest_file(in, path, rd->d_name, true, &res);
            if (err == FT_OK && res.outcome == INGEST_STORED && n_stored) {
                (*n_stored)++;
            }
            if (err == FT_EFULL || err == FT_ETIMEOUT) {
                closedir(d);
                closedir(top);
                return err;
            }
            if (err != FT_OK) {
                log_error("cannot ingest %s: %s", path, ft_strerror(err));
                char detail[512];
                snprintf(detail, sizeof detail, "ingest of %s failed: %s", fe->d_name,
                         ft_strerror(err));
                if (append_event(in, FT__DEVICE_EVENT_KIND__INGEST_FAILED, rd->d_name, detail) !=
                    FT_OK) {
                    log_warn("cannot log the ingest_failed event");
                }
                if (first_err == FT_OK) {
                    first_err = err;
                }
            }
        }
        closedir(d);
    }
    closedir(top);
    return first_err;
}

/* Adds inotify watches on inbox and each recorder directory in it. */
static void add_watches(int ifd, const char *inbox)
{
    uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB;
    inotify_add_watch(ifd, inbox, mask);
    DIR *top = opendir(inbox);
    if (!top) {
        return;
    }
    struct dirent *rd;
    while ((rd = readdir(top)) != NULL) {
        if (rd->d_name[0] == '.') {
            continue;
        }
        char rdir[4200];
        if (fsutil_join(rdir, sizeof rdir, inbox, rd->d_name) != FT_OK) {
            continue;
        }
        inotify_add_watch(ifd, rdir, mask); /* fails harmlessly on non-directories */
    }
    closedir(top);
}

int ingest_watch(ingest_t *in, const char *inbox, volatile sig_atomic_t *stop)
{
    if (fsutil_mkdirs(inbox, 0700) != FT_OK) {
        log_warn("cannot create the inbox %s", inbox);
    }
    int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ifd < 0) {
        log_warn("inotify unavailable (%s): scanning %s every second", strerror(errno), inbox);
    } else {
        add_watches(ifd, inbox);
    }
    log_info("watching the inbox %s", inbox);
    int64_t last_scan = 0, last_age_prune = 0;
    bool dirty = true;
    while (!*stop) {
        int64_t now = (int64_t)hlc_wall_ms();
        /* Scan when something changed, when a file may have become stable,
         * and every few seconds regardless (a missed event costs little). */
        if (dirty || now - last_scan >= 1000) {
            dirty = false;
            last_scan = now;
            if (ifd >= 0) {
                add_watches(ifd, inbox);
            }
            int err = ingest_scan_inbox(in, inbox, NULL);
            if (err == FT_EFULL) {
                /* Paused: try again in a while (receipts may allow pruning). */
                for (int i = 0; i < 20 && !*stop; i++) {
                    usleep(100 * 1000);
                }
                continue;
            }
        }
        if (in->o.keep_ms && now - last_age_prune >= 60000) {
            last_age_prune = now;
            unsigned pruned = 0;
            if (mstore_prune(in->m, in->o.keep_ms, 0, &pruned) != FT_OK) {
                log_warn("pruning by age failed");
            }
        }
        if (ifd >= 0) {
            struct pollfd pfd = {.fd = ifd, .events = POLLIN};
            int rc = poll(&pfd, 1, 250);
            if (rc > 0) {
                char buf[8192];
                while (read(ifd, buf, sizeof buf) > 0) {
                }
                dirty = true;
            }
        } else {
            usleep(250 * 1000);
        }
    }
    if (ifd >= 0) {
        close(ifd);
    }
    return FT_OK;
}
