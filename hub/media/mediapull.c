/* mediapull.c: the hub's media puller (see mediapull.h). */
#include "mediapull.h"
#include "mediacheck.h"
#include "blobstore.h"
#include "fsutil.h"
#include "hlc.h"
#include "lmdbx.h"
#include "logging.h"
#include "mediawire.h"
#include "ratelimit.h"
#include "wire.h"
#include "zap.h"
#include "zguard.h"
#include "zsock.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zmq.h>

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

/* A request unanswered this long is given up and asked again. */
/* A request is asked again when its edge has sent nothing for this long (a
 * request queued behind others on a slow link is not late while chunks keep
 * arriving), or in any case after MEDIA_REQ_MAX_MS. */
#define MEDIA_REQ_TIMEOUT_MS 30000
#define MEDIA_REQ_MAX_MS (10 * MEDIA_REQ_TIMEOUT_MS)
/* Checkpoints: received chunks are made durable (partials synced, bitmaps
 * committed) at most this often or after this many bytes, and at once when a
 * file is whole. Between checkpoints a chunk is in the partial (the page
 * cache), which a killed hub does not lose: activate() finds such chunks by
 * their hashes, so only chunks still on the wire are asked for again. */
#define MEDIA_CKPT_MS 1000
#define MEDIA_CKPT_BYTES ((uint64_t)256 << 20)
#define MEDIA_INDEX_MS 300
#define MEDIA_GATE_MS 500
/* Storage full: pulling pauses, and is tried again this often. */
#define MEDIA_RETRY_MS 5000
/* Free space a chunk write must leave on the blob store's disk: kept for log
 * records, alerts and the store (docs/media.md, "Storage full at the hub"). */
#define MEDIA_RESERVE_BYTES ((uint64_t)8 << 20)
/* Free space needed to resume after a pause (the reserve and room to work,
 * so that pulling does not flap between paused and running). */
#define MEDIA_RESUME_BYTES (MEDIA_RESERVE_BYTES + ((uint64_t)16 << 20))
/* STATE/media.status: the puller's state for `status` (mediastatus.h). */
#define MEDIA_STATUS_FILE HUB_MEDIA_STATUS_FILE
#define MEDIA_STATUS_BYTES HUB_MEDIA_STATUS_BYTES

/* A file being pulled, in memory. */
typedef struct {
    hub_mfile_t row;
    uint8_t *held;   /* bitmap: durable */
    uint8_t *bad;    /* bitmap: refused */
    uint8_t *fly;    /* bitmap: requested, not answered */
    uint8_t *secure; /* bitmap: ask on the CurveZMQ link (a data-path copy was wrong) */
    uint8_t (*hashes)[MEDIA_HASH_BYTES];
    uint8_t sealed[MEDIA_SEALED_KEY_BYTES];
    blob_partial_t *part;
    uint32_t next; /* scan cursor for the next request */
    bool dirty;    /* bitmap changed since the last commit */
    bool synced;   /* partial written since the last sync: false */
    /* Streaming content check (hub/media/mediacheck.c): chunks that arrive in
     * order are fed to the check's worker as they come, so the completion
     * pass only covers what was not (chunks from mcheck_file_wait on). */
    mcheck_file_t *chk; /* NULL until the first chunk is fed */
    uint32_t vnext;     /* next chunk to feed */
    bool vstop;         /* streaming off: the completion pass starts from 0 */
    /* Held back: every chunk is in, but the file key does not open with the
     * hub's archive key (finalize: FT_EKEY). Not finished, not failed; tried
     * again at key_retry_ms. */
    bool key_held;
    int64_t key_retry_ms;
    /* Checked and published, but the object store has not confirmed the
     * blob yet (blobstore_confirmed): no receipt until it has; looked at
     * again at every checkpoint and when the uploader confirms one. */
    bool store_wait;
} active_t;

/* A request in flight. */
typedef struct {
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    uint32_t index;
    int64_t sent_ms;
} req_t;

/* One edge's media connection. */
typedef struct {
    uint8_t device[DEVID_BYTES];
    uint8_t rid[WIRE_ROUTING_ID_BYTES];
    bool open;     /* Hello received on the current connection */
    bool log_done; /* the hub holds the edge's whole log (gate) */
    req_t *reqs;
    size_t n_reqs, cap_reqs;
    int64_t last_rx_ms; /* last chunk from this edge */
    /* The data path's token for this connection (new at every welcome):
     * chunks on the data path must carry it. */
    uint8_t token[MWIRE_TOKEN_BYTES];
    /* Media protocol 2: the data path's MAC key (new at every welcome, sent
     * only on the CurveZMQ link) and the highest sequence number taken under
     * it (a message must carry a higher one: no replay). */
    uint32_t version;
    uint8_t data_key[MWIRE_DATA_KEY_BYTES];
    uint64_t data_seq;
} msess_t;

struct hub_media_t {
    hub_mdb_t *db;
    blobstore_t *blobs;
    store_t *store;
    devlog_t *hublog;
    const keys_t *keys;
    hub_media_opts_t o;
    volatile sig_atomic_t *stop;
    void *zctx, *router;
    zap_t *zap;
    pthread_t th;
    bool started;
    active_t *act;
    size_t n_act, cap_act;
    msess_t *sess;
    size_t n_sess, cap_sess;
    size_t rr; /* round-robin position */
    uint64_t cursor;
    int64_t indexed_ms, gated_ms;
    int64_t ckpt_ms;         /* last checkpoint */
    uint64_t unsynced_bytes; /* chunk bytes written since */
    uint8_t *buf;            /* chunk-size scratch for decryption */
    mcheck_t *check;         /* the streaming content check's worker */
    char blob_root[4200];
    /* Paused (storage full or failing): no requests go out, chunks that
     * still arrive are dropped (asked again later); tried again every
     * MEDIA_RETRY_MS. */
    bool paused;
    int pause_err;
    int64_t paused_ms, retried_ms;
    uint64_t free_bytes; /* on the blob store's disk, at the last check */
    char pause_what[320];
    int status_fd; /* STATE/media.status, or -1 */
    int wake_fd;   /* eventfd: the sync loop committed (hub_media_wake), or -1 */
    /* The chunk data path (docs/media.md "Data path"): a ROUTER
     * without CurveZMQ that only takes chunks, each carrying its session's
     * token, each checked against the signed manifest like any other. */
    void *data_router;     /* NULL: no data path */
    uint32_t data_port;    /* told to edges in the welcome */
    uint64_t data_dropped; /* data-path messages dropped (no session, bad token or MAC) */
    uint64_t data_forged;  /* of them: a current token, but a MAC that does not verify or
                              a sequence number already used (never hashed) */
    zguard_t *guard;       /* the media port's connection cap */
    zguard_t *data_guard;  /* the data path's: cap, and first message within 5 s */
    ratelimit_t data_rl;   /* "dropped" lines: one a minute */
    ratelimit_t old_rl;    /* "older edge" lines: one a minute */
    uint64_t status_forged, status_unproven;
    uint64_t data_reasked;                   /* data-path chunks asked again on the secure link */
    int64_t data_warned_ms;                  /* last "dropped" warning */
    uint64_t status_reasked, status_dropped; /* as last written to media.status */
    char held_what[240]; /* why the last file held back is (see active_t.key_held) */
};

static int64_t now_ms(void)
{
    return (int64_t)hlc_wall_ms();
}

static bool bit(const uint8_t *b, uint32_t i)
{
    return (b[i / 8] >> (i % 8)) & 1;
}

static void set_bit(uint8_t *b, uint32_t i, bool v)
{
    if (v) {
        b[i / 8] |= (uint8_t)(1u << (i % 8));
    } else {
        b[i / 8] &= (uint8_t) ~(1u << (i % 8));
    }
}

/* ---- storage full: pause, retry, resume ---------------------------------- */

/* Free bytes on the disk holding path (UINT64_MAX when unknown). */
static uint64_t free_bytes_at(const char *path)
{
    struct statvfs v;
    if (statvfs(path, &v) != 0) {
        return UINT64_MAX;
    }
    return (uint64_t)v.f_bavail * v.f_frsize;
}

/* Data-path connections closed for not proving a session (in time, or with
 * their first message). */
static uint64_t data_unproven(hub_media_t *hm)
{
    if (!hm->data_guard) {
        return 0;
    }
    zguard_stats_t st;
    zguard_stats(hm->data_guard, &st);
    return st.unproven;
}

/* Rewrites STATE/media.status in place (see MEDIA_STATUS_BYTES). */
static void status_write(hub_media_t *hm, const char *pulling)
{
    if (hm->status_fd < 0) {
        return;
    }
    json_int_t held = 0;
    for (size_t i = 0; i < hm->n_act; i++) {
        held += hm->act[i].key_held;
    }
    json_t *o = json_pack(
        "{s:I, s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "pid",
        (json_int_t)getpid(), "state", pulling, "since_ms", (json_int_t)hm->paused_ms, "checked_ms",
        (json_int_t)now_ms(), "retry_s", (json_int_t)(MEDIA_RETRY_MS / 1000), "free_bytes",
        hm->free_bytes == UINT64_MAX ? -1 : (json_int_t)hm->free_bytes, "error",
        hm->paused ? ft_strerror(hm->pause_err) : "", "reason", hm->paused ? hm->pause_what : "",
        "data_port", (json_int_t)(hm->data_router ? hm->data_port : 0), "data_reasked",
        (json_int_t)hm->data_reasked, "data_dropped", (json_int_t)hm->data_dropped, "data_forged",
        (json_int_t)hm->data_forged, "data_conns_closed", (json_int_t)data_unproven(hm),
        "held_back", held, "held_reason", held ? hm->held_what : "");
    hm->status_reasked = hm->data_reasked;
    hm->status_dropped = hm->data_dropped;
    hm->status_forged = hm->data_forged;
    hm->status_unproven = data_unproven(hm);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) {
        return;
    }
    char buf[MEDIA_STATUS_BYTES];
    memset(buf, ' ', sizeof buf);
    buf[sizeof buf - 1] = '\n';
    size_t n = strlen(text);
    if (n < sizeof buf - 1) { /* a longer one would not parse: keep the old one */
        memcpy(buf, text, n);
        if (pwrite(hm->status_fd, buf, sizeof buf, 0) != (ssize_t)sizeof buf) {
            log_debug("media: cannot update %s: %s", MEDIA_STATUS_FILE, strerror(errno));
        }
    }
    free(text);
}

/* Opens (creating, at full size) STATE/media.status. */
static void status_open(hub_media_t *hm, const char *state)
{
    char path[4200];
    hm->status_fd = -1;
    if (fsutil_join(path, sizeof path, state, MEDIA_STATUS_FILE) != FT_OK) {
        return;
    }
    hm->status_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (hm->status_fd < 0) {
        log_warn("media: cannot create %s (`status` will not show whether pulling is paused): %s",
                 path, strerror(errno));
        return;
    }
    status_write(hm, "running");
}

/* Stops pulling after a write failed (err, what failed): logged once, shown
 * by `status`, tried again every MEDIA_RETRY_MS (try_resume). Chunks written
 * and committed so far stay held; nothing else is touched. */
static void media_pause(hub_media_t *hm, int err, const char *what)
{
    if (hm->paused) {
        log_debug("media: still paused: %s: %s", what, ft_strerror(err));
        return;
    }
    hm->paused = true;
    hm->pause_err = err;
    hm->paused_ms = hm->retried_ms = now_ms();
    hm->free_bytes = free_bytes_at(hm->blob_root);
    utf8_copy(hm->pause_what, sizeof hm->pause_what, what);
    if (err == FT_EFULL) {
        log_error("media: the hub's storage is full (%s): media pulling paused; log records and "
                  "alerts keep flowing while the store can commit, nothing stored is touched, the "
                  "edges keep their copies; trying again every %d s",
                  what, MEDIA_RETRY_MS / 1000);
    } else {
        log_error("media: %s: %s: media pulling paused; nothing stored is touched, the edges keep "
                  "their copies; trying again every %d s",
                  what, ft_strerror(err), MEDIA_RETRY_MS / 1000);
    }
    status_write(hm, "paused");
}

/* ---- active files ------------------------------------------------------------ */

static void active_free(hub_media_t *hm, active_t *a)
{
    mcheck_file_free(hm->check, &a->chk);
    free(a->held);
    free(a->bad);
    free(a->fly);
    free(a->secure);
    free(a->hashes);
    blobstore_partial_close(&a->part);
    sodium_memzero(a, sizeof *a);
}

/* Loads the manifest of row from the store: chunk hashes and sealed key. */
static int load_manifest(hub_media_t *hm, active_t *a)
{
    store_txn_t *t = NULL;
    int err = store_begin(hm->store, false, &t);
    if (err != FT_OK) {
        return err;
    }
    const uint8_t *raw = NULL;
    size_t len = 0;
    err = store_entry_get(t, a->row.device, a->row.epoch, a->row.seq, &raw, &len);
    entry_view_t v;
    memset(&v, 0, sizeof v);
    if (err == FT_OK) {
        err = entry_open(raw, len, &v);
    }
    if (err == FT_OK) {
        const Ft__MediaManifest *mf =
            v.entry->body && v.entry->body->kind_case == FT__BODY__KIND_MEDIA ? v.entry->body->media
                                                                              : NULL;
        if (!mf || mf->n_chunk_hashes != a->row.n_chunks ||
            mf->sealed_key.len != MEDIA_SEALED_KEY_BYTES) {
            err = FT_ECORRUPT;
        } else {
            a->hashes = malloc((size_t)a->row.n_chunks * MEDIA_HASH_BYTES);
            if (!a->hashes) {
                err = FT_ENOMEM;
            }
            for (size_t i = 0; err == FT_OK && i < mf->n_chunk_hashes; i++) {
                if (mf->chunk_hashes[i].len != MEDIA_HASH_BYTES) {
                    err = FT_ECORRUPT;
                    break;
                }
                memcpy(a->hashes[i], mf->chunk_hashes[i].data, MEDIA_HASH_BYTES);
            }
            if (err == FT_OK) {
                memcpy(a->sealed, mf->sealed_key.data, MEDIA_SEALED_KEY_BYTES);
            }
        }
        entry_view_free(&v);
    }
    store_abort(&t);
    return err;
}

/* Chunks written to a's partial after its last checkpoint (the hub was
 * killed before the next); none when the file was published already (only
 * its receipt is missing: no partial). Each slot not marked held whose bytes match the
 * manifest's hash is held again, so it is not asked for twice. A slot the
 * disk lost (power cut) simply does not match and is asked for. */
static void recover_unsynced(hub_media_t *hm, active_t *a)
{
    uint64_t size = 0;
    if (!a->part || blobstore_partial_size(a->part, &size) != FT_OK || size == 0) {
        return;
    }
    uint32_t slot = a->row.chunk_size + MEDIA_TAG_BYTES;
    uint8_t *ct = malloc(slot);
    if (!ct) {
        return;
    }
    uint32_t found = 0;
    for (uint32_t i = 0; i < a->row.n_chunks; i++) {
        uint64_t off = (uint64_t)i * slot;
        uint32_t len = media_chunk_len(a->row.size, a->row.chunk_size, i) + MEDIA_TAG_BYTES;
        if (off + len > size) {
            break;
        }
        if (bit(a->held, i) || bit(a->bad, i) ||
            blobstore_partial_read(a->part, off, ct, len) != FT_OK) {
            continue;
        }
        uint8_t h[MEDIA_HASH_BYTES];
        media_chunk_hash(a->row.file_id, i, ct, len, h);
        if (sodium_memcmp(h, a->hashes[i], MEDIA_HASH_BYTES) == 0) {
            set_bit(a->held, i, true);
            a->row.held++;
            found++;
        }
    }
    free(ct);
    if (found) {
        char idhex[33];
        hex_encode(a->row.file_id, MEDIA_FILE_ID_BYTES, idhex);
        log_info("media: file %s: %u chunks received before the last stop found in the partial "
                 "(not asked for again)",
                 idhex, found);
        a->dirty = true;
        a->synced = false;
        hm->unsynced_bytes += (uint64_t)found * slot;
    }
}

/* Makes row an active file (bitmaps from the db, manifest from the store). */
static int activate(hub_media_t *hm, const hub_mfile_t *row)
{
    if (hm->n_act == hm->cap_act) {
        size_t cap = hm->cap_act ? 2 * hm->cap_act : 16;
        active_t *g = realloc(hm->act, cap * sizeof *g);
        if (!g) {
            return FT_ENOMEM;
        }
        hm->act = g;
        hm->cap_act = cap;
    }
    active_t a;
    memset(&a, 0, sizeof a);
    a.row = *row;
    size_t nb = (row->n_chunks + 7) / 8;
    a.held = calloc(1, nb);
    a.bad = calloc(1, nb);
    a.fly = calloc(1, nb);
    a.secure = calloc(1, nb);
    int err = a.held && a.bad && a.fly && a.secure ? FT_OK : FT_ENOMEM;
    if (err == FT_OK) {
        err = load_manifest(hm, &a);
    }
    MDB_txn *txn = NULL;
    if (err == FT_OK) {
        err = hub_mdb_begin(hm->db, false, &txn);
    }
    if (err == FT_OK) {
        err = hub_mdb_bitmap_read(hm->db, txn, HUB_MDB_HELD, row->file_id, a.held, nb);
        if (err == FT_OK) {
            err = hub_mdb_bitmap_read(hm->db, txn, HUB_MDB_BAD, row->file_id, a.bad, nb);
        }
        mdb_txn_abort(txn);
    }
    /* All chunks held and the blob published: only the receipt is missing
     * (the store was full, or the hub stopped, right after publishing);
     * finalize checks the published blob. Otherwise the partial. */
    bool published = row->held == row->n_chunks && blobstore_has(hm->blobs, row->merkle_root);
    if (err == FT_OK && !published) {
        err = blobstore_partial_open(hm->blobs, row->file_id, &a.part);
    }
    if (err != FT_OK) {
        active_free(hm, &a);
        return err;
    }
    a.synced = true;
    recover_unsynced(hm, &a);
    hm->act[hm->n_act++] = a;
    return FT_OK;
}

static active_t *active_find(hub_media_t *hm, const uint8_t *file_id)
{
    for (size_t i = 0; i < hm->n_act; i++) {
        if (memcmp(hm->act[i].row.file_id, file_id, MEDIA_FILE_ID_BYTES) == 0) {
            return &hm->act[i];
        }
    }
    return NULL;
}

static void active_remove(hub_media_t *hm, active_t *a)
{
    size_t i = (size_t)(a - hm->act);
    active_free(hm, a);
    hm->act[i] = hm->act[--hm->n_act];
}

/* ---- indexing manifests --------------------------------------------------- */

typedef struct {
    hub_mfile_t *rows;
    size_t n, cap;
    uint64_t last;
} found_t;

static int index_visit(void *ctx, const store_entry_t *e)
{
    found_t *f = ctx;
    f->last = e->arrival;
    entry_view_t v;
    if (entry_open(e->raw, e->len, &v) != FT_OK) {
        return 0;
    }
    const Ft__Body *b = v.entry->body;
    if (b && b->kind_case == FT__BODY__KIND_MEDIA) {
        const Ft__MediaManifest *mf = b->media;
        uint32_t format = media_manifest_format(mf->has_format, mf->format);
        if (format != MEDIA_FORMAT) {
            log_warn("media: device entry %llu holds a manifest in media format %u, which this "
                     "hub does not read (it reads format %u): the entry stays in the log, its "
                     "chunks are not pulled",
                     (unsigned long long)e->seq, format, MEDIA_FORMAT);
        } else if (mf->file_id.len == MEDIA_FILE_ID_BYTES &&
                   mf->merkle_root.len == MEDIA_HASH_BYTES &&
                   mf->content_hash.len == MEDIA_HASH_BYTES && mf->chunk_size >= MEDIA_CHUNK_MIN &&
                   mf->chunk_size <= MEDIA_CHUNK_MAX &&
                   mf->n_chunk_hashes == media_chunk_count(mf->size, mf->chunk_size)) {
            if (f->n == f->cap) {
                size_t cap = f->cap ? 2 * f->cap : 16;
                hub_mfile_t *g = realloc(f->rows, cap * sizeof *g);
                if (!g) {
                    entry_view_free(&v);
                    return FT_ENOMEM;
                }
                f->rows = g;
                f->cap = cap;
            }
            hub_mfile_t *r = &f->rows[f->n++];
            memset(r, 0, sizeof *r);
            r->version = 2;
            r->state = HMF_PULLING;
            memcpy(r->file_id, mf->file_id.data, MEDIA_FILE_ID_BYTES);
            memcpy(r->device, e->device, DEVID_BYTES);
            r->epoch = e->epoch;
            r->seq = e->seq;
            r->size = mf->size;
            r->chunk_size = mf->chunk_size;
            r->n_chunks = (uint32_t)mf->n_chunk_hashes;
            r->indexed_ms = now_ms();
            memcpy(r->merkle_root, mf->merkle_root.data, MEDIA_HASH_BYTES);
            memcpy(r->content_hash, mf->content_hash.data, MEDIA_HASH_BYTES);
        }
    }
    entry_view_free(&v);
    return 0;
}

/* Finds manifests stored since the cursor and adds their files. */
static void index_new(hub_media_t *hm)
{
    found_t f = {.last = hm->cursor};
    int err = store_entries_since(hm->store, hm->cursor, index_visit, &f);
    if (err != FT_OK || f.last == hm->cursor) {
        free(f.rows);
        return;
    }
    MDB_txn *txn = NULL;
    if (hub_mdb_begin(hm->db, true, &txn) != FT_OK) {
        free(f.rows);
        return;
    }
    for (size_t i = 0; i < f.n && err == FT_OK; i++) {
        hub_mfile_t known;
        err = hub_mdb_file_read(hm->db, txn, f.rows[i].file_id, &known);
        if (err == FT_OK || err == FT_ECORRUPT) {
            err = FT_OK; /* already known (a row that cannot be read is not replaced) */
            continue;
        }
        if (err == FT_ENOTFOUND) {
            err = hub_mdb_file_write(hm->db, txn, &f.rows[i]);
        }
    }
    if (err == FT_OK) {
        err = hub_mdb_cursor_write(hm->db, txn, f.last);
    }
    if (err == FT_OK) {
        err = hub_mdb_commit(hm->db, txn);
    } else {
        mdb_txn_abort(txn);
    }
    if (err == FT_OK) {
        hm->cursor = f.last;
        for (size_t i = 0; i < f.n; i++) {
            if (!active_find(hm, f.rows[i].file_id) && activate(hm, &f.rows[i]) == FT_OK) {
                char idhex[33];
                hex_encode(f.rows[i].file_id, MEDIA_FILE_ID_BYTES, idhex);
                log_info("media: manifest for file %s (%llu bytes, %u chunks) indexed", idhex,
                         (unsigned long long)f.rows[i].size, f.rows[i].n_chunks);
            }
        }
    } else {
        /* Indexed again at the next pass (the cursor did not move). */
        log_debug("media: cannot index new manifests: %s", ft_strerror(err));
    }
    free(f.rows);
}

/* ---- sessions --------------------------------------------------------------- */

static msess_t *sess_get(hub_media_t *hm, const uint8_t device[DEVID_BYTES])
{
    for (size_t i = 0; i < hm->n_sess; i++) {
        if (memcmp(hm->sess[i].device, device, DEVID_BYTES) == 0) {
            return &hm->sess[i];
        }
    }
    if (hm->n_sess == hm->cap_sess) {
        size_t cap = hm->cap_sess ? 2 * hm->cap_sess : 8;
        msess_t *g = realloc(hm->sess, cap * sizeof *g);
        if (!g) {
            return NULL;
        }
        hm->sess = g;
        hm->cap_sess = cap;
    }
    msess_t *s = &hm->sess[hm->n_sess++];
    memset(s, 0, sizeof *s);
    memcpy(s->device, device, DEVID_BYTES);
    wire_routing_id(device, s->rid);
    return s;
}

static int send_to(hub_media_t *hm, msess_t *s, const mwire_msg_t *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (mwire_encode(m, &buf, &len) != FT_OK) {
        return FT_ENOMEM;
    }
    int err = FT_OK;
    if (zmq_send(hm->router, s->rid, sizeof s->rid, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(hm->router, buf, len, ZMQ_DONTWAIT) < 0) {
        err = FT_EIO;
    }
    free(buf);
    return err;
}

/* Forgets a session's requests in flight (they will be asked again). */
static void sess_drop_requests(hub_media_t *hm, msess_t *s)
{
    for (size_t i = 0; i < s->n_reqs; i++) {
        active_t *a = active_find(hm, s->reqs[i].file_id);
        if (a) {
            set_bit(a->fly, s->reqs[i].index, false);
        }
    }
    s->n_reqs = 0;
}

static void sess_close(hub_media_t *hm, msess_t *s)
{
    sess_drop_requests(hm, s);
    s->open = false;
}

static void take_request(msess_t *s, const uint8_t *file_id, uint32_t index)
{
    for (size_t i = 0; i < s->n_reqs; i++) {
        if (s->reqs[i].index == index &&
            memcmp(s->reqs[i].file_id, file_id, MEDIA_FILE_ID_BYTES) == 0) {
            s->reqs[i] = s->reqs[--s->n_reqs];
            return;
        }
    }
}

/* Sends the stored receipt of file_id to s, if the file is complete. */
static void resend_receipt(hub_media_t *hm, msess_t *s, const uint8_t *file_id)
{
    MDB_txn *txn = NULL;
    if (hub_mdb_begin(hm->db, false, &txn) != FT_OK) {
        return;
    }
    const uint8_t *raw = NULL;
    size_t len = 0;
    if (hub_mdb_receipt_read(hm->db, txn, file_id, &raw, &len) == FT_OK) {
        mwire_msg_t m = {.kind = MWIRE_RECEIPT};
        m.u.receipt.raw = raw;
        m.u.receipt.len = len;
        if (send_to(hm, s, &m) != FT_OK) {
            log_debug("media: receipt not delivered");
        }
    }
    mdb_txn_abort(txn);
}

static void on_hello(hub_media_t *hm, msess_t *s, const mwire_msg_t *m)
{
    sess_drop_requests(hm, s);
    char id[DEVID_TEXT_SIZE];
    devid_format(s->device, id);
    uint32_t v = m->u.hello.version;
    s->open = v == MWIRE_VERSION || v == MWIRE_VERSION_NO_MAC;
    if (!s->open) {
        log_warn("media: device %s speaks media protocol version %u (this hub: %u and %u); "
                 "ignored",
                 id, v, MWIRE_VERSION_NO_MAC, MWIRE_VERSION);
        return;
    }
    s->version = v;
    s->log_done = false;
    hm->gated_ms = 0; /* re-check the log gate now */
    mwire_msg_t w = {.kind = MWIRE_WELCOME};
    memcpy(w.u.welcome.hub_sign_pk, hm->keys->sign_pk, 32);
    w.u.welcome.window = hm->o.window;
    randombytes_buf(s->token, sizeof s->token);
    randombytes_buf(s->data_key, sizeof s->data_key);
    s->data_seq = 0;
    if (hm->data_router && v == MWIRE_VERSION) {
        w.u.welcome.data_port = hm->data_port;
        memcpy(w.u.welcome.data_token, s->token, sizeof s->token);
        w.u.welcome.has_data_key = true;
        memcpy(w.u.welcome.data_key, s->data_key, sizeof s->data_key);
    } else if (hm->data_router) {
        /* An edge from before media protocol 2 would send the data path
         * chunks without a MAC, which it refuses: its chunks come on the
         * CurveZMQ link instead. */
        log_warn("media: device %s speaks media protocol version %u (data-path chunks without a "
                 "MAC): the data path is refused to it and its chunks come on the secure link; "
                 "update its fieldtrail-edge",
                 id, v);
    }
    if (send_to(hm, s, &w) != FT_OK) {
        s->open = false;
        return;
    }
    for (size_t i = 0; i < m->u.hello.n_pending; i++) {
        resend_receipt(hm, s, m->u.hello.pending[i]);
    }
    log_info("media: device %s connected, %zu files pending on it", id, m->u.hello.n_pending);
}

/* Records a refused chunk as an integrity event (store + hub log). */
static void chunk_integrity(hub_media_t *hm, active_t *a, uint32_t index, const char *reason,
                            const uint8_t *data, size_t len)
{
    char idhex[33], detail[STORE_TEXT_MAX];
    hex_encode(a->row.file_id, MEDIA_FILE_ID_BYTES, idhex);
    snprintf(detail, sizeof detail,
             "media file %s chunk %u of %u: %s; the chunk was refused, the rest of the file is "
             "still taken",
             idhex, index, a->row.n_chunks,
             strcmp(reason, "chunk_missing") == 0
                 ? "the edge does not hold it"
                 : "its hash does not match the signed manifest (altered at rest or in transit)");
    char id[DEVID_TEXT_SIZE];
    devid_format(a->row.device, id);
    log_warn("device %s: integrity event: %s: %s", id, reason, detail);
    Ft__IntegrityEvent ev = FT__INTEGRITY_EVENT__INIT;
    ev.device.data = a->row.device;
    ev.device.len = DEVID_BYTES;
    ev.reason = (char *)reason;
    ev.has_epoch = 1;
    ev.epoch = a->row.epoch;
    ev.has_seq = 1;
    ev.seq = a->row.seq;
    ev.detail = detail;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_INTEGRITY;
    body.integrity = &ev;
    uint64_t log_seq = 0;
    if (devlog_append1(hm->hublog, &body, &log_seq) != FT_OK) {
        log_error("cannot append the integrity event to the hub log");
    }
    store_txn_t *t = NULL;
    if (store_begin(hm->store, true, &t) != FT_OK) {
        return;
    }
    store_integrity_t row = {.time_ms = now_ms(),
                             .epoch = a->row.epoch,
                             .seq = a->row.seq,
                             .hublog_seq = log_seq,
                             .evidence = data,
                             .evidence_len = len};
    memcpy(row.device, a->row.device, DEVID_BYTES);
    utf8_copy(row.reason, sizeof row.reason, reason);
    utf8_copy(row.detail, sizeof row.detail, detail);
    uint64_t eid = 0;
    if (store_integrity_add(t, &row, &eid) != FT_OK || store_commit(&t) != FT_OK) {
        log_error("cannot record the integrity event in the store");
    }
    store_abort(&t);
}

static void fill_windows(hub_media_t *hm);

/* Most held chunks one arrival reads back from the partial to catch the
 * streaming check up (chunks that came out of order or before a restart):
 * bounded, so one edge's arrival never stalls the others for long. */
#define MEDIA_STREAM_CATCHUP 4

/* Feeds chunk i (ct, its stored bytes, already checked against the manifest)
 * to a's streaming content check; false when streaming is off for a. */
static bool stream_one(hub_media_t *hm, active_t *a, uint32_t i, const uint8_t *ct, size_t len)
{
    if (!a->chk) {
        uint8_t key[MEDIA_KEY_BYTES];
        if (!hm->check || media_key_unseal(a->sealed, sizeof a->sealed, hm->keys->archive_pk,
                                           hm->keys->archive_sk, key) != FT_OK) {
            a->vstop = true; /* the completion pass says why */
            return false;
        }
        a->chk = mcheck_file_new(a->row.file_id, key);
        sodium_memzero(key, sizeof key);
        if (!a->chk) {
            a->vstop = true;
            return false;
        }
    }
    if (mcheck_feed(hm->check, a->chk, i, ct, len) != FT_OK) {
        a->vstop = true;
        return false;
    }
    a->vnext = i + 1;
    return true;
}

/* After chunk i of a is held: feeds it if it is next, then up to
 * MEDIA_STREAM_CATCHUP held chunks from the partial that are next (after a
 * restart, or after chunks that came out of order). */
static void stream_advance(hub_media_t *hm, active_t *a, uint32_t i, const uint8_t *ct, size_t len)
{
    if (a->vstop || (i == a->vnext && !stream_one(hm, a, i, ct, len))) {
        return;
    }
    for (int k = 0; k < MEDIA_STREAM_CATCHUP && a->vnext < a->row.n_chunks &&
                    bit(a->held, a->vnext) && a->part;
         k++) {
        uint32_t j = a->vnext;
        uint32_t jl = media_chunk_len(a->row.size, a->row.chunk_size, j) + MEDIA_TAG_BYTES;
        if (blobstore_partial_read(a->part, (uint64_t)j * (a->row.chunk_size + MEDIA_TAG_BYTES),
                                   hm->buf, jl) != FT_OK ||
            !stream_one(hm, a, j, hm->buf, jl)) {
            break;
        }
    }
}

/* A chunk from the data path that did not match (or said "missing"):
 * nothing is concluded from a link without CurveZMQ, so the chunk is asked
 * again on the CurveZMQ link, whose answer is the one recorded (an
 * integrity event if that copy does not match either). */
static void reask_secure(hub_media_t *hm, active_t *a, uint32_t i, const char *what)
{
    set_bit(a->secure, i, true);
    hm->data_reasked++;
    char idhex[33], id[DEVID_TEXT_SIZE];
    hex_encode(a->row.file_id, MEDIA_FILE_ID_BYTES, idhex);
    devid_format(a->row.device, id);
    log_warn("media: device %s: chunk %u of file %s on the data path %s; asked again on the "
             "secure link",
             id, i, idhex, what);
}

/* Chunk i of a, as received: stored in the partial, then checked against
 * the manifest's hash (a kill -9 meanwhile loses nothing: the restarted hub
 * finds the slot by its hash), then fed to the streaming content check. */
static void chunk_take(hub_media_t *hm, active_t *a, uint32_t i, const mwire_msg_t *m,
                       bool via_data)
{
    if (via_data && m->u.chunk.missing) {
        reask_secure(hm, a, i, "said missing");
        return;
    }
    if (m->u.chunk.missing) {
        set_bit(a->bad, i, true);
        a->row.bad++;
        a->dirty = true;
        chunk_integrity(hm, a, i, "chunk_missing", NULL, 0);
        return;
    }
    uint32_t want_len = media_chunk_len(a->row.size, a->row.chunk_size, i) + MEDIA_TAG_BYTES;
    bool len_ok = m->u.chunk.len == want_len;
    if (len_ok && (hm->paused || !a->part)) {
        log_debug("media: a chunk arrived while pulling is paused; asked again later");
        return;
    }
    uint64_t fb = len_ok ? free_bytes_at(hm->blob_root) : UINT64_MAX;
    if (fb != UINT64_MAX && fb < MEDIA_RESERVE_BYTES + m->u.chunk.len) {
        char what[200];
        snprintf(what, sizeof what,
                 "only %.1f MiB left on the blob store's disk, %llu MiB are kept for log records "
                 "and alerts",
                 (double)fb / 1048576.0, (unsigned long long)(MEDIA_RESERVE_BYTES >> 20));
        media_pause(hm, FT_EFULL, what);
        return; /* not held: asked again after the pause */
    }
    uint64_t off = (uint64_t)i * (a->row.chunk_size + MEDIA_TAG_BYTES);
    if (len_ok) {
        int err = blobstore_partial_write(a->part, off, m->u.chunk.data, m->u.chunk.len);
        if (err != FT_OK) {
            media_pause(hm, err, "cannot write a chunk to the blob store");
            return; /* not held: asked again after the pause */
        }
        a->synced = false;
    }
    uint8_t h[MEDIA_HASH_BYTES];
    if (len_ok) {
        media_chunk_hash(a->row.file_id, i, m->u.chunk.data, m->u.chunk.len, h);
    }
    if (via_data && (!len_ok || sodium_memcmp(h, a->hashes[i], MEDIA_HASH_BYTES) != 0)) {
        reask_secure(hm, a, i, "does not match the signed manifest");
        return;
    }
    if (!len_ok || sodium_memcmp(h, a->hashes[i], MEDIA_HASH_BYTES) != 0) {
        /* A slot written with bad bytes is not held: a good copy overwrites
         * it, and a restart does not take it (its hash does not match). */
        set_bit(a->bad, i, true);
        a->row.bad++;
        a->dirty = true;
        chunk_integrity(hm, a, i, "chunk_hash_mismatch", m->u.chunk.data, m->u.chunk.len);
        return;
    }
    /* Held in the partial now; durable (and counted) after the next
     * checkpoint. */
    set_bit(a->held, i, true);
    a->row.held++;
    hm->unsynced_bytes += m->u.chunk.len;
    int64_t t = now_ms();
    if (!a->row.first_ms) {
        a->row.first_ms = t;
    }
    a->row.last_ms = t;
    a->dirty = true;
    stream_advance(hm, a, i, m->u.chunk.data, m->u.chunk.len);
}

static void on_chunk(hub_media_t *hm, msess_t *s, const mwire_msg_t *m, bool via_data)
{
    take_request(s, m->u.chunk.file_id, m->u.chunk.index);
    s->last_rx_ms = now_ms();
    active_t *a = active_find(hm, m->u.chunk.file_id);
    uint32_t i = m->u.chunk.index;
    if (!a || memcmp(a->row.device, s->device, DEVID_BYTES) != 0 || i >= a->row.n_chunks) {
        log_debug("media: a chunk nobody asked for; dropped");
        return;
    }
    if (bit(a->held, i) || bit(a->bad, i)) {
        set_bit(a->fly, i, false);
        a->row.dup_chunks++;
        a->dirty = true;
        return;
    }
    /* The window has room again: ask for the next chunk before this one is
     * stored and checked, so the edge reads, encrypts and sends it
     * meanwhile. i keeps its in-flight bit until then, so it is not asked
     * for again. */
    fill_windows(hm);
    chunk_take(hm, a, i, m, via_data);
    set_bit(a->fly, i, false);
}

/* Commits a's row (and nothing else) in its own transaction. */
static int put_row(hub_media_t *hm, const active_t *a)
{
    MDB_txn *txn = NULL;
    int err = hub_mdb_begin(hm->db, true, &txn);
    if (err != FT_OK) {
        return err;
    }
    err = hub_mdb_file_write(hm->db, txn, &a->row);
    if (err == FT_OK) {
        return hub_mdb_commit(hm->db, txn);
    }
    mdb_txn_abort(txn);
    return err;
}

/* Where the completion pass reads a's chunks: its partial, or the published
 * blob (fd) when an earlier attempt got that far. */
typedef struct {
    active_t *a;
    int fd;
} chunk_src_t;

static int read_stored_chunk(void *ctx, uint32_t index, uint64_t off, uint8_t *buf, size_t len)
{
    const chunk_src_t *src = ctx;
    (void)index;
    if (src->a->part) {
        return blobstore_partial_read(src->a->part, off, buf, len);
    }
    return pread(src->fd, buf, len, (off_t)off) == (ssize_t)len ? FT_OK : FT_EIO;
}

/* Decrypts the whole file (from its partial, or from the published blob when
 * an earlier attempt got that far) and checks the content hash; publishes the
 * blob, signs the receipt and stores it with the row in state COMPLETE.
 * FT_OK when the file left PULLING: COMPLETE, or FAILED when what the device
 * signed does not hold together (mcheck_complete: MISMATCH; an integrity
 * event). Otherwise the error that stopped it (what: what failed, and why)
 * and the file stays PULLING with every chunk held, so that the call can be
 * repeated: FT_EKEY when the file key does not open with the hub's archive
 * key (the caller holds the file back), or a local error -- a chunk that
 * cannot be read back or changed since it was checked, no memory, the
 * publish or the receipt -- on which the caller pauses. A local error is
 * never taken for tampering. */
static int issue_receipt(hub_media_t *hm, active_t *a, char *what, size_t what_n);

static int finalize(hub_media_t *hm, active_t *a, char *what, size_t what_n)
{
    char idhex[33];
    hex_encode(a->row.file_id, MEDIA_FILE_ID_BYTES, idhex);
    chunk_src_t src = {a, -1};
    if (!a->part) {
        src.fd = blobstore_open_read(hm->blobs, a->row.merkle_root);
        if (src.fd < 0) {
            snprintf(what, what_n, "cannot read the published blob of file %s", idhex);
            return src.fd;
        }
    }
    media_content_t c;
    uint32_t from = 0; /* chunks before it were checked as they arrived */
    if (a->part && a->chk && !a->vstop) {
        from = mcheck_file_wait(hm->check, a->chk, &c); /* 0 if a chunk did not decrypt */
    } else {
        media_content_init(&c);
    }
    /* The streaming state is used up here: a repeated call (the publish or
     * the receipt failed) checks the whole file again. */
    a->vstop = true;
    if (from > 0) {
        log_debug("media: file %s: %u of %u chunks were checked as they arrived", idhex, from,
                  a->row.n_chunks);
    }
    mcheck_info_t fi = {.file_id = a->row.file_id,
                        .size = a->row.size,
                        .chunk_size = a->row.chunk_size,
                        .n_chunks = a->row.n_chunks,
                        .hashes = (const uint8_t(*)[MEDIA_HASH_BYTES])a->hashes,
                        .content_hash = a->row.content_hash,
                        .sealed = a->sealed,
                        .archive_pk = hm->keys->archive_pk,
                        .archive_sk = hm->keys->archive_sk};
    mcheck_result_t res;
    mcheck_complete(&fi, &c, from, read_stored_chunk, &src, hm->buf, &res);
    if (src.fd >= 0) {
        close(src.fd);
    }
    char dev[DEVID_TEXT_SIZE];
    devid_format(a->row.device, dev);
    switch (res.verdict) {
    case MCHECK_NO_KEY:
        snprintf(what, what_n,
                 "file %s from device %s: the hub's archive key does not open the file key sealed "
                 "in its signed manifest (is this hub's key file the one whose archive key the "
                 "edge was given?)",
                 idhex, dev);
        return res.err;
    case MCHECK_LOCAL:
        if (res.err == FT_EIO && res.chunk != UINT32_MAX) {
            snprintf(what, what_n,
                     "cannot check file %s: chunk %u cannot be read back from the blob store, or "
                     "no longer matches what was checked when it arrived (a fault of this hub's "
                     "storage, not evidence against the edge)",
                     idhex, res.chunk);
        } else if (res.chunk != UINT32_MAX) {
            snprintf(what, what_n, "cannot check file %s: chunk %u cannot be read back", idhex,
                     res.chunk);
        } else {
            snprintf(what, what_n, "cannot check file %s", idhex);
        }
        return res.err;
    case MCHECK_MISMATCH:
        if (res.err == FT_ECRYPTO) {
            log_error("media: file %s from device %s: chunk %u, as the device signed it, does not "
                      "decrypt with the file key sealed in its manifest",
                      idhex, dev, res.chunk);
        } else {
            log_error("media: file %s from device %s does not decrypt to its signed content hash "
                      "(content differs)",
                      idhex, dev);
        }
        chunk_integrity(hm, a, res.chunk == UINT32_MAX ? 0 : res.chunk, "content_hash_mismatch",
                        NULL, 0);
        a->row.state = HMF_FAILED;
        if (put_row(hm, a) != FT_OK) {
            log_warn("media: file %s: the failed state is not stored; checked again after a "
                     "restart",
                     idhex);
        }
        return FT_OK;
    case MCHECK_MATCH:
        break;
    }
    int err = FT_OK;
    if (a->part) {
        uint64_t stored_size =
            (uint64_t)(a->row.n_chunks - 1) * (a->row.chunk_size + MEDIA_TAG_BYTES) +
            media_chunk_len(a->row.size, a->row.chunk_size, a->row.n_chunks - 1) + MEDIA_TAG_BYTES;
        err = blobstore_publish(hm->blobs, &a->part, stored_size, a->row.merkle_root);
        if (err != FT_OK) {
            snprintf(what, what_n, "cannot publish file %s to the blob store", idhex);
            return err; /* the partial stays open and whole: published on the next try */
        }
    }
    return issue_receipt(hm, a, what, what_n);
}

/* Signs a's receipt and stores it with the row in state COMPLETE, then
 * sends it -- only once the store of record holds the blob: with object
 * storage that is the store's confirmation, not the local spool
 * (FT_EAGAIN and a->store_wait until then; docs/media.md "Receipts wait for
 * the store"). */
static int issue_receipt(hub_media_t *hm, active_t *a, char *what, size_t what_n)
{
    char idhex[33];
    hex_encode(a->row.file_id, MEDIA_FILE_ID_BYTES, idhex);
    if (!blobstore_confirmed(hm->blobs, a->row.merkle_root)) {
        if (!a->store_wait) {
            log_info("media: file %s checked and queued for the object store; its receipt "
                     "waits for the store's confirmation",
                     idhex);
        }
        a->store_wait = true;
        snprintf(what, what_n, "file %s waits for the object store", idhex);
        return FT_EAGAIN;
    }
    a->store_wait = false;
    int err;
    mwire_receipt_t r = {.size = a->row.size, .hub_time_ms = now_ms()};
    memcpy(r.device, a->row.device, DEVID_BYTES);
    memcpy(r.file_id, a->row.file_id, MEDIA_FILE_ID_BYTES);
    memcpy(r.merkle_root, a->row.merkle_root, MEDIA_HASH_BYTES);
    memcpy(r.content_hash, a->row.content_hash, MEDIA_HASH_BYTES);
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    err = mwire_receipt_seal(&r, hm->keys->sign_sk, &raw, &raw_len);
    if (err != FT_OK) {
        snprintf(what, what_n, "cannot sign the completion receipt of file %s", idhex);
        return err;
    }
    hub_mfile_t row = a->row;
    row.state = HMF_COMPLETE;
    row.completed_ms = now_ms();
    MDB_txn *txn = NULL;
    err = hub_mdb_begin(hm->db, true, &txn);
    if (err == FT_OK) {
        err = hub_mdb_receipt_write(hm->db, txn, row.file_id, raw, raw_len);
        if (err == FT_OK) {
            err = hub_mdb_file_write(hm->db, txn, &row);
        }
        if (err == FT_OK) {
            err = hub_mdb_commit(hm->db, txn);
        } else {
            mdb_txn_abort(txn);
        }
    }
    if (err != FT_OK) {
        free(raw);
        snprintf(what, what_n, "cannot store the completion receipt of file %s", idhex);
        return err; /* published; the next try checks the blob and signs again */
    }
    a->row = row;
    double secs = (double)(a->row.last_ms - a->row.first_ms) / 1000.0;
    log_info("media: file %s complete: %llu bytes, content hash checked, in the blob store "
             "(%.1f MB/s); %llu chunks received twice",
             idhex, (unsigned long long)a->row.size,
             secs > 0 ? (double)a->row.size / secs / 1e6 : 0.0,
             (unsigned long long)a->row.dup_chunks);
    for (size_t i = 0; i < hm->n_sess; i++) {
        if (memcmp(hm->sess[i].device, a->row.device, DEVID_BYTES) == 0 && hm->sess[i].open) {
            mwire_msg_t m = {.kind = MWIRE_RECEIPT};
            m.u.receipt.raw = raw;
            m.u.receipt.len = raw_len;
            if (send_to(hm, &hm->sess[i], &m) != FT_OK) {
                log_debug("media: receipt not delivered; sent again at the next hello");
            }
        }
    }
    free(raw);
    return FT_OK;
}

/* A checkpoint is due: MEDIA_CKPT_MS since the last, MEDIA_CKPT_BYTES
 * written since, or a file whose chunks are all in (finished at once). */
static bool checkpoint_due(const hub_media_t *hm, int64_t t)
{
    if (t - hm->ckpt_ms >= MEDIA_CKPT_MS || hm->unsynced_bytes >= MEDIA_CKPT_BYTES) {
        return true;
    }
    for (size_t i = 0; i < hm->n_act; i++) {
        const active_t *a = &hm->act[i];
        if (a->dirty && a->row.held + a->row.bad == a->row.n_chunks) {
            return true;
        }
    }
    return false;
}

/* A file whose key does not open (finalize: FT_EKEY, what: why): it keeps
 * every chunk and stays PULLING, nothing is concluded against the edge, the
 * other files go on; said once (and in `status`), tried again every
 * MEDIA_RETRY_MS. */
static void hold_back(hub_media_t *hm, active_t *a, const char *what)
{
    a->key_retry_ms = now_ms() + MEDIA_RETRY_MS;
    if (a->key_held) {
        log_debug("media: still held back: %s", what);
        return;
    }
    a->key_held = true;
    log_error("media: %s; held back, tried again every %d s", what, MEDIA_RETRY_MS / 1000);
    char idhex[33], dev[DEVID_TEXT_SIZE];
    hex_encode(a->row.file_id, MEDIA_FILE_ID_BYTES, idhex);
    devid_format(a->row.device, dev);
    snprintf(hm->held_what, sizeof hm->held_what,
             "file %s from device %s: the hub's archive key does not open its file key", idhex,
             dev);
    status_write(hm, hm->paused ? "paused" : "running");
}

/* Group commit: syncs written partials, then commits bitmaps and rows, then
 * finishes the files whose chunks are all held. FT_OK, or the error that
 * stopped it (what: what failed); nothing is counted held that is not both
 * synced and committed, so the call can simply be repeated. */
static int commit_dirty(hub_media_t *hm, char *what, size_t what_n)
{
    hm->ckpt_ms = now_ms();
    bool any = false;
    for (size_t i = 0; i < hm->n_act; i++) {
        active_t *a = &hm->act[i];
        if (!a->dirty) {
            continue;
        }
        any = true;
        if (!a->synced) {
            int err = blobstore_partial_sync(a->part);
            if (err != FT_OK) {
                snprintf(what, what_n, "cannot sync received chunks to the blob store");
                return err;
            }
            a->synced = true;
        }
    }
    if (any) {
        MDB_txn *txn = NULL;
        int err = hub_mdb_begin(hm->db, true, &txn);
        for (size_t i = 0; i < hm->n_act && err == FT_OK; i++) {
            active_t *a = &hm->act[i];
            if (!a->dirty) {
                continue;
            }
            size_t nb = (a->row.n_chunks + 7) / 8;
            hub_mfile_t row = a->row;
            if (row.held + row.bad == row.n_chunks && row.bad > 0) {
                row.state = HMF_DAMAGED;
            }
            err = hub_mdb_bitmap_write(hm->db, txn, HUB_MDB_HELD, row.file_id, a->held, nb);
            if (err == FT_OK) {
                err = hub_mdb_bitmap_write(hm->db, txn, HUB_MDB_BAD, row.file_id, a->bad, nb);
            }
            if (err == FT_OK) {
                err = hub_mdb_file_write(hm->db, txn, &row);
            }
        }
        if (err == FT_OK) {
            err = hub_mdb_commit(hm->db, txn); /* ends txn even when it fails */
        } else if (txn) {
            mdb_txn_abort(txn);
        }
        if (err != FT_OK) {
            snprintf(what, what_n, "cannot commit received chunks to the media database");
            return err;
        }
        hm->unsynced_bytes = 0;
        for (size_t i = 0; i < hm->n_act; i++) {
            active_t *a = &hm->act[i];
            if (a->dirty) {
                a->dirty = false;
                if (a->row.held + a->row.bad == a->row.n_chunks && a->row.bad > 0) {
                    a->row.state = HMF_DAMAGED;
                }
            }
        }
    }
    for (size_t i = 0; i < hm->n_act;) {
        active_t *a = &hm->act[i];
        if (!a->dirty && a->row.state == HMF_PULLING && a->row.held == a->row.n_chunks &&
            (!a->key_held || hm->ckpt_ms >= a->key_retry_ms)) {
            /* Waiting for the object store: only the receipt is missing. */
            int err =
                a->store_wait ? issue_receipt(hm, a, what, what_n) : finalize(hm, a, what, what_n);
            if (err == FT_EAGAIN && a->store_wait) {
                i++;
                continue;
            }
            if (err == FT_EKEY) {
                hold_back(hm, a, what);
                i++;
                continue;
            }
            if (err != FT_OK) {
                return err;
            }
            if (a->key_held) {
                a->key_held = false;
                status_write(hm, hm->paused ? "paused" : "running");
            }
        }
        if (a->row.state != HMF_PULLING) {
            if (a->row.state == HMF_DAMAGED) {
                char idhex[33];
                hex_encode(a->row.file_id, MEDIA_FILE_ID_BYTES, idhex);
                log_warn("media: file %s arrived except %u refused chunks: no receipt, the "
                         "edge keeps its copy",
                         idhex, a->row.bad);
            }
            active_remove(hm, a);
            continue;
        }
        i++;
    }
    return FT_OK;
}

/* While paused: every MEDIA_RETRY_MS, when the disk has room again, commits
 * what waits and finishes complete files; if that works, pulling resumes. */
static void try_resume(hub_media_t *hm, int64_t t)
{
    if (t - hm->retried_ms < MEDIA_RETRY_MS) {
        return;
    }
    hm->retried_ms = t;
    hm->free_bytes = free_bytes_at(hm->blob_root);
    if (hm->free_bytes != UINT64_MAX && hm->free_bytes < MEDIA_RESUME_BYTES) {
        status_write(hm, "paused");
        return;
    }
    char what[320] = "";
    int err = commit_dirty(hm, what, sizeof what);
    if (err != FT_OK) {
        log_debug("media: still paused: %s: %s", what, ft_strerror(err));
        hm->pause_err = err;
        utf8_copy(hm->pause_what, sizeof hm->pause_what, what);
        status_write(hm, "paused");
        return;
    }
    hm->paused = false;
    if (hm->free_bytes == UINT64_MAX) {
        log_info("media: storage writable again: media pulling resumed after %.0f s",
                 (double)(t - hm->paused_ms) / 1000.0);
    } else {
        log_info("media: storage available again (%.0f MiB free): media pulling resumed after "
                 "%.0f s",
                 (double)hm->free_bytes / 1048576.0, (double)(t - hm->paused_ms) / 1000.0);
    }
    status_write(hm, "running");
}

/* Next chunk of a that can be requested, or false. */
static bool next_chunk(active_t *a, uint32_t *out)
{
    uint32_t n = a->row.n_chunks;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = (a->next + k) % n;
        if (!bit(a->held, i) && !bit(a->bad, i) && !bit(a->fly, i)) {
            a->next = i + 1 < n ? i + 1 : 0;
            *out = i;
            return true;
        }
    }
    return false;
}

/* Hands out requests round-robin across sessions, within the windows. */
static void fill_windows(hub_media_t *hm)
{
    if (hm->paused) {
        return;
    }
    size_t total = 0;
    for (size_t i = 0; i < hm->n_sess; i++) {
        total += hm->sess[i].n_reqs;
    }
    bool progress = true;
    while (progress && total < hm->o.global) {
        progress = false;
        for (size_t k = 0; k < hm->n_sess && total < hm->o.global; k++) {
            msess_t *s = &hm->sess[(hm->rr + k) % hm->n_sess];
            if (!s->open || !s->log_done || s->n_reqs >= hm->o.window) {
                continue;
            }
            active_t *pick = NULL;
            uint32_t idx = 0;
            for (size_t j = 0; j < hm->n_act; j++) {
                active_t *a = &hm->act[j];
                if (a->row.state == HMF_PULLING &&
                    memcmp(a->row.device, s->device, DEVID_BYTES) == 0 && next_chunk(a, &idx)) {
                    pick = a;
                    break;
                }
            }
            if (!pick) {
                continue;
            }
            if (s->n_reqs == s->cap_reqs) {
                size_t cap = s->cap_reqs ? 2 * s->cap_reqs : 8;
                req_t *g = realloc(s->reqs, cap * sizeof *g);
                if (!g) {
                    return;
                }
                s->reqs = g;
                s->cap_reqs = cap;
            }
            mwire_msg_t m = {.kind = MWIRE_REQUEST};
            memcpy(m.u.request.file_id, pick->row.file_id, MEDIA_FILE_ID_BYTES);
            m.u.request.index = idx;
            m.u.request.secure = bit(pick->secure, idx);
            if (send_to(hm, s, &m) != FT_OK) {
                sess_close(hm, s); /* the edge is gone; it says Hello when back */
                continue;
            }
            req_t *r = &s->reqs[s->n_reqs++];
            memcpy(r->file_id, pick->row.file_id, MEDIA_FILE_ID_BYTES);
            r->index = idx;
            r->sent_ms = now_ms();
            set_bit(pick->fly, idx, true);
            total++;
            progress = true;
        }
        hm->rr++;
    }
}

/* Log first: an edge gets requests only once the hub holds its whole log. */
static void update_gates(hub_media_t *hm)
{
    int64_t t = now_ms();
    for (size_t i = 0; i < hm->n_sess; i++) {
        msess_t *s = &hm->sess[i];
        if (!s->open) {
            continue;
        }
        store_txn_t *txn = NULL;
        store_status_t st;
        store_head_t head;
        bool done = false;
        if (store_begin(hm->store, false, &txn) == FT_OK) {
            if (store_status_get(txn, s->device, &st) == FT_OK &&
                store_head_get(txn, s->device, st.edge_epoch, &head) == FT_OK) {
                done = head.seq >= st.edge_head_seq;
            }
            store_abort(&txn);
        }
        s->log_done = done;
        /* Requests unanswered too long are asked again. */
        for (size_t k = 0; k < s->n_reqs;) {
            int64_t age = t - s->reqs[k].sent_ms;
            if ((age > MEDIA_REQ_TIMEOUT_MS && t - s->last_rx_ms > MEDIA_REQ_TIMEOUT_MS) ||
                age > MEDIA_REQ_MAX_MS) {
                active_t *a = active_find(hm, s->reqs[k].file_id);
                if (a) {
                    set_bit(a->fly, s->reqs[k].index, false);
                    /* Its answer may be stuck on a data path that broke
                     * silently: the next one comes on the secure link. */
                    set_bit(a->secure, s->reqs[k].index, hm->data_router != NULL);
                }
                s->reqs[k] = s->reqs[--s->n_reqs];
                continue;
            }
            k++;
        }
    }
}

static void on_message(hub_media_t *hm, zmq_msg_t *rid, zmq_msg_t *payload)
{
    const char *uid = zmq_msg_gets(payload, "User-Id");
    uint8_t device[DEVID_BYTES];
    if (!uid || strlen(uid) != 2 * DEVID_BYTES || hex_decode(uid, device, DEVID_BYTES) != FT_OK) {
        return;
    }
    uint8_t want[WIRE_ROUTING_ID_BYTES];
    wire_routing_id(device, want);
    if (zmq_msg_size(rid) != sizeof want || memcmp(zmq_msg_data(rid), want, sizeof want) != 0) {
        return;
    }
    /* Authenticated: its connection no longer counts as one in its handshake. */
    zguard_trust(hm->guard, zguard_msg_fd(payload));
    msess_t *s = sess_get(hm, device);
    if (!s) {
        return;
    }
    mwire_msg_t m;
    if (mwire_decode(zmq_msg_data(payload), zmq_msg_size(payload), &m) != FT_OK) {
        char id[DEVID_TEXT_SIZE];
        devid_format(device, id);
        log_warn("media: device %s sent a message that does not decode", id);
        return;
    }
    switch (m.kind) {
    case MWIRE_HELLO:
        on_hello(hm, s, &m);
        break;
    case MWIRE_CHUNK:
        on_chunk(hm, s, &m, false);
        break;
    default:
        log_warn("media: an edge does not send %s messages", mwire_kind_name(m.kind));
        break;
    }
    mwire_msg_free(&m);
}

/* A data-path chunk of session s that did not verify: if it answers a
 * request in flight, that request is asked again on the secure link. */
static void data_reask_forged(hub_media_t *hm, msess_t *s, const mwire_msg_t *m, const char *why)
{
    if (m->kind != MWIRE_CHUNK) {
        return;
    }
    for (size_t k = 0; k < s->n_reqs; k++) {
        if (s->reqs[k].index == m->u.chunk.index &&
            memcmp(s->reqs[k].file_id, m->u.chunk.file_id, MEDIA_FILE_ID_BYTES) == 0) {
            active_t *a = active_find(hm, m->u.chunk.file_id);
            take_request(s, m->u.chunk.file_id, m->u.chunk.index);
            if (a && m->u.chunk.index < a->row.n_chunks) {
                char what[120];
                snprintf(what, sizeof what, "was dropped unhashed (%s)", why);
                reask_secure(hm, a, m->u.chunk.index, what);
                set_bit(a->fly, m->u.chunk.index, false);
            }
            return;
        }
    }
}

/* A message on the data path (media protocol 2, docs/protocol.md "Data
 * path"): a DataHello or a chunk that carries the device, the token of that
 * device's current session, a sequence number higher than any taken in the
 * session and a MAC under the session's data key. The MAC is checked before
 * anything else is done with a chunk (no hash, no write). Anything else is
 * dropped and counted, and the connection it came on closed unless an
 * earlier message proved it (zguard_trust): a connection's first message
 * must prove it. */
static void on_data_message(hub_media_t *hm, zmq_msg_t *rid, zmq_msg_t *payload)
{
    (void)rid;
    int fd = zguard_msg_fd(payload);
    mwire_msg_t m;
    msess_t *s = NULL;
    const char *why = "not a media message";
    bool forged = false, old = false;
    if (mwire_decode(zmq_msg_data(payload), zmq_msg_size(payload), &m) == FT_OK) {
        const uint8_t *device = NULL, *token = NULL;
        uint64_t seq = 0;
        if (m.kind == MWIRE_DATA_HELLO) {
            device = m.u.data_hello.device;
            token = m.u.data_hello.token;
            seq = m.u.data_hello.seq;
        } else if (m.kind == MWIRE_CHUNK && m.u.chunk.has_auth && m.u.chunk.has_mac) {
            device = m.u.chunk.device;
            token = m.u.chunk.token;
            seq = m.u.chunk.seq;
        } else if (m.kind == MWIRE_CHUNK && m.u.chunk.has_auth) {
            why = "a chunk without a MAC (an edge from before media protocol 2)";
            old = true;
        } else {
            why = "not a data hello or a chunk with device, token and MAC";
        }
        if (device) {
            why = "no current session with that device and token";
            for (size_t i = 0; i < hm->n_sess && !s; i++) {
                msess_t *c = &hm->sess[i];
                if (c->open && c->version == MWIRE_VERSION &&
                    memcmp(c->device, device, DEVID_BYTES) == 0 &&
                    sodium_memcmp(c->token, token, MWIRE_TOKEN_BYTES) == 0) {
                    s = c;
                }
            }
        }
        if (s && seq <= s->data_seq) {
            why = "a sequence number already used (a replay)";
            forged = true;
        } else if (s && !mwire_data_verify(s->data_key, &m)) {
            why = "a MAC that does not verify (forged, or altered on the way)";
            forged = true;
        }
        if (forged) {
            /* The chunk asked for may have been altered on the way: asked
             * again on the secure link, as for one that does not match the
             * manifest (an attacker holding a token can slow a transfer down
             * to the CurveZMQ rate, never make the hub store his bytes). */
            data_reask_forged(hm, s, &m, why);
            s = NULL;
        }
        if (s) {
            s->data_seq = seq;
            zguard_trust(hm->data_guard, fd);
            if (m.kind == MWIRE_CHUNK) {
                on_chunk(hm, s, &m, true);
            }
        }
        mwire_msg_free(&m);
    }
    if (s) {
        return;
    }
    hm->data_dropped++;
    hm->data_forged += forged;
    /* A connection that has not proved a session with its first message is
     * closed; one that has (the edge's own, with a message altered on the
     * way) keeps going. */
    bool closed = !zguard_trusted(hm->data_guard, fd);
    if (closed) {
        zguard_close(hm->data_guard, fd);
    }
    int64_t t = now_ms();
    const char *addr = zmq_msg_gets(payload, "Peer-Address");
    char where[80];
    utf8_clean_to(where, sizeof where, addr ? addr : "?");
    uint64_t held = 0;
    if (old && ratelimit_allow(&hm->old_rl, t, &held)) {
        log_warn("media: refused a data-path connection from %s: %s; its chunks come on the "
                 "secure link once it reconnects there (update its fieldtrail-edge)",
                 where, why);
    }
    if (ratelimit_allow(&hm->data_rl, t, &held)) {
        log_warn("media: %llu messages on the data path dropped so far (%llu of them forged or "
                 "replayed under a current token, none hashed or stored), the last from %s: %s%s "
                 "(an edge's stale chunks after a reconnect are harmless: they are asked again)",
                 (unsigned long long)hm->data_dropped, (unsigned long long)hm->data_forged, where,
                 why, closed ? "; its connection closed" : "");
    }
}

/* Receives one [routing id, payload] message from sock and hands it to fn;
 * 0 when there was none. */
static int recv_one(hub_media_t *hm, void *sock,
                    void (*fn)(hub_media_t *, zmq_msg_t *, zmq_msg_t *))
{
    zmq_msg_t rid, payload;
    zmq_msg_init(&rid);
    if (zmq_msg_recv(&rid, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&rid);
        return 0;
    }
    zmq_msg_init(&payload);
    bool ok = zmq_msg_more(&rid) && zmq_msg_recv(&payload, sock, 0) >= 0 && !zmq_msg_more(&payload);
    if (ok) {
        fn(hm, &rid, &payload);
    } else {
        if (sock == hm->data_router) {
            hm->data_dropped++; /* not [routing id, one payload]: not from an edge */
            zguard_close(hm->data_guard, zguard_msg_fd(&payload));
        }
        while (zmq_msg_more(&payload)) {
            zmq_msg_close(&payload);
            zmq_msg_init(&payload);
            zmq_msg_recv(&payload, sock, 0);
        }
    }
    zmq_msg_close(&payload);
    zmq_msg_close(&rid);
    return 1;
}

static void *media_main(void *arg)
{
    hub_media_t *hm = arg;
    while (!*hm->stop) {
        zmq_pollitem_t items[4] = {
            {zap_socket(hm->zap), 0, ZMQ_POLLIN, 0},
            {hm->router, 0, ZMQ_POLLIN, 0},
            {NULL, hm->wake_fd, ZMQ_POLLIN, 0},
            {hm->data_router, 0, ZMQ_POLLIN, 0},
        };
        int rc = zmq_poll(items, hm->data_router ? 4 : 3, 100);
        if (rc < 0 && zmq_errno() != EINTR) {
            log_error("media loop: %s", zmq_strerror(zmq_errno()));
            break;
        }
        if (items[0].revents & ZMQ_POLLIN) {
            zap_handle(hm->zap);
        }
        if (items[1].revents & ZMQ_POLLIN) {
            for (int i = 0; i < 64 && !*hm->stop; i++) {
                if (!recv_one(hm, hm->router, on_message)) {
                    break;
                }
            }
        }
        if (hm->data_router && (items[3].revents & ZMQ_POLLIN)) {
            for (int i = 0; i < 64 && !*hm->stop; i++) {
                if (!recv_one(hm, hm->data_router, on_data_message)) {
                    break;
                }
            }
        }
        int64_t t = now_ms();
        if (hm->paused) {
            try_resume(hm, t);
        } else if (checkpoint_due(hm, t)) {
            char what[320] = "";
            int err = commit_dirty(hm, what, sizeof what);
            if (err != FT_OK) {
                media_pause(hm, err, what);
            }
        }
        bool woken = items[2].revents & ZMQ_POLLIN;
        if (woken) {
            uint64_t n;
            if (read(hm->wake_fd, &n, sizeof n) < 0) {
                log_debug("media: wake: %s", strerror(errno));
            }
        }
        if (woken || t - hm->indexed_ms >= MEDIA_INDEX_MS) {
            hm->indexed_ms = t;
            index_new(hm);
        }
        if (woken || t - hm->gated_ms >= MEDIA_GATE_MS) {
            hm->gated_ms = t;
            update_gates(hm);
        }
        fill_windows(hm);
        if (hm->status_reasked != hm->data_reasked || hm->status_dropped != hm->data_dropped ||
            hm->status_forged != hm->data_forged || hm->status_unproven != data_unproven(hm)) {
            status_write(hm, hm->paused ? "paused" : "running");
        }
    }
    char what[320] = "";
    int err = commit_dirty(hm, what, sizeof what);
    if (err != FT_OK) {
        log_warn("media: at shutdown: %s: %s (those chunks are asked again after the restart)",
                 what, ft_strerror(err));
    }
    return NULL;
}

void hub_media_wake(void *arg)
{
    hub_media_t *hm = arg;
    uint64_t one = 1;
    if (hm && hm->wake_fd >= 0 && write(hm->wake_fd, &one, sizeof one) < 0) {
        /* EAGAIN: the counter is full, so a wake-up is pending anyway */
    }
}

static int load_pulling(void *ctx, const hub_mfile_t *f)
{
    hub_media_t *hm = ctx;
    if (f->state == HMF_PULLING && activate(hm, f) != FT_OK) {
        log_warn("media: a file in progress cannot be resumed (manifest unreadable)");
    }
    return 0;
}

/* The data path's endpoint: o.data_listen, or when that is unset the media
 * endpoint's port + 1 (7402 -> 7403); "" when there is none ("off", or no
 * port to derive from). *derived: the default was taken. */
static void data_endpoint(const hub_media_opts_t *o, char *out, size_t n, bool *derived)
{
    out[0] = '\0';
    *derived = !o->data_listen;
    if (o->data_listen) {
        if (strcmp(o->data_listen, "off") != 0) {
            snprintf(out, n, "%s", o->data_listen);
        }
        return;
    }
    unsigned port = wire_endpoint_port(o->listen);
    if (port == 0 || wire_endpoint_with_port(o->listen, port + 1, out, n) != FT_OK) {
        out[0] = '\0';
    }
}

/* Binds the data path (no CurveZMQ: chunks are already encrypted end to end
 * and checked against the signed manifest; see docs/media.md "Data path"). A derived
 * default that cannot bind only leaves the data path out; a configured one
 * is an error. FT_OK or FT_EIO (logged). */
static int data_path_open(hub_media_t *hm)
{
    char ep[300];
    bool derived = false;
    data_endpoint(&hm->o, ep, sizeof ep, &derived);
    if (!ep[0]) {
        return FT_OK;
    }
    int zero = 0, hwm = 64;
    char last[300] = "";
    size_t last_n = sizeof last;
    /* Bounds (common/zmq/zsock.h): one chunk and its header, a handshake
     * limit, no ZMTP heartbeats, TCP keepalive and a user timeout as on
     * the edge's side; a connection cap, and a connection that has not
     * proved a session with its first message within 5 s is closed. */
    zsock_bounds_t b = {.max_msg = (int64_t)MWIRE_MAX_MSG_BYTES,
                        .handshake_ms = ZSOCK_HANDSHAKE_MS,
                        .maxrt_ms = 120000};
    zguard_opts_t go = {.name = "media data",
                        .setting = "media.max_connections",
                        .max_conns = hm->o.max_connections,
                        .max_pending = hm->o.max_handshaking,
                        .handshake_ms = ZSOCK_HANDSHAKE_MS,
                        .auth_ms = HUB_MEDIA_DATA_AUTH_MS};
    void *d = zmq_socket(hm->zctx, ZMQ_ROUTER);
    if (!d || zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zsock_bound(d, &b) != FT_OK || zmq_setsockopt(d, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zguard_attach(hm->zctx, d, &go, &hm->data_guard) != FT_OK || zmq_bind(d, ep) != 0 ||
        zmq_getsockopt(d, ZMQ_LAST_ENDPOINT, last, &last_n) != 0) {
        int e = zmq_errno();
        if (d) {
            zguard_detach(&hm->data_guard, d);
            zmq_close(d);
        }
        if (derived) {
            log_warn("media: cannot listen for chunk data on %s (%s); chunks go on the secure "
                     "link (set `media.data_listen` to another address, or to off)",
                     ep, zmq_strerror(e));
            return FT_OK;
        }
        log_error("cannot listen for chunk data on %s: %s (set `media.data_listen` in hub.conf, "
                  "or off)",
                  ep, zmq_strerror(e));
        return FT_EIO;
    }
    unsigned port = wire_endpoint_port(last);
    if (port == 0) {
        log_error("media: the chunk data path bound to %s, which has no port", last);
        zguard_detach(&hm->data_guard, d);
        zmq_close(d);
        return FT_EIO;
    }
    hm->data_router = d;
    hm->data_port = hm->o.data_advertise ? hm->o.data_advertise : (uint32_t)port;
    if (hm->data_port != port) {
        log_info("media: chunk data path bound to %s, told to edges as port %u", last,
                 hm->data_port);
    }
    return FT_OK;
}

int hub_media_start(const char *state, store_t *store, devlog_t *hublog, const keys_t *keys,
                    const hub_media_opts_t *opts, volatile sig_atomic_t *stop, hub_media_t **out)
{
    *out = NULL;
    hub_media_t *hm = calloc(1, sizeof *hm);
    if (!hm) {
        return FT_ENOMEM;
    }
    hm->status_fd = -1;
    hm->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    hm->store = store;
    hm->hublog = hublog;
    hm->keys = keys;
    hm->o = *opts;
    hm->stop = stop;
    if (!hm->o.listen) {
        hm->o.listen = HUB_MEDIA_DEFAULT_LISTEN;
    }
    if (!hm->o.window) {
        hm->o.window = HUB_MEDIA_DEFAULT_WINDOW;
    }
    if (!hm->o.global) {
        hm->o.global = HUB_MEDIA_DEFAULT_GLOBAL;
    }
    if (!hm->o.max_connections) {
        hm->o.max_connections = HUB_MEDIA_DEFAULT_MAX_CONNECTIONS;
    }
    if (!hm->o.max_handshaking) {
        hm->o.max_handshaking = HUB_MEDIA_DEFAULT_MAX_HANDSHAKING;
    }
    hm->data_rl = ratelimit_make(1, 60000);
    hm->old_rl = ratelimit_make(1, 60000);
    int err = hub_mdb_open(state, &hm->db);
    if (err == FT_OK) {
        err = fsutil_join(hm->blob_root, sizeof hm->blob_root, state, "blobs");
    }
    if (err == FT_OK) {
        err = blobstore_open_conf(hm->blob_root, opts->blobs, &hm->blobs);
    }
    hm->buf = malloc(MEDIA_CHUNK_MAX + MEDIA_TAG_BYTES);
    if (err == FT_OK && !hm->buf) {
        err = FT_ENOMEM;
    }
    if (err == FT_OK) {
        err = mcheck_start(&hm->check);
    }
    if (err != FT_OK) {
        log_error("cannot open the media store in %s: %s", state, ft_strerror(err));
        hub_media_stop(&hm);
        return err;
    }
    MDB_txn *txn = NULL;
    if (hub_mdb_begin(hm->db, false, &txn) == FT_OK) {
        if (hub_mdb_cursor_read(hm->db, txn, &hm->cursor) != FT_OK) {
            hm->cursor = 0;
        }
        mdb_txn_abort(txn);
    }
    lmdbx_unread_t unread = {0};
    err = hub_mdb_iter(hm->db, load_pulling, hm, &unread);
    if (err == FT_ECORRUPT && unread.n) {
        log_error("media: %llu rows of the media database cannot be read (the first: file %s): "
                  "those files are not resumed; every other file in progress is",
                  (unsigned long long)unread.n, unread.first_key);
    } else if (err != FT_OK) {
        log_error("media: cannot list the files in progress: %s", ft_strerror(err));
    }
    hm->free_bytes = free_bytes_at(hm->blob_root);
    status_open(hm, state);
    err = FT_EIO;
    hm->zctx = zmq_ctx_new();
    if (!hm->zctx || zap_new(hm->zctx, store, ZAP_DOMAIN, &hm->zap) != FT_OK) {
        hub_media_stop(&hm);
        return FT_EIO;
    }
    hm->router = zmq_socket(hm->zctx, ZMQ_ROUTER);
    /* Bounds (common/zmq/zsock.h): a message no larger than a chunk and its
     * header (chunks asked again come this way) or a hello, a handshake
     * limit, no ZMTP heartbeats (libzmq#4364): TCP keepalive, and a user
     * timeout long enough for the chunk window queued on a 1 Mbit/s link
     * (see edge/msync.c); requests unanswered for 30 s are asked again. */
    int one = 1, zero = 0;
    zsock_bounds_t b = {.max_msg = (int64_t)MWIRE_MAX_MSG_BYTES,
                        .handshake_ms = ZSOCK_HANDSHAKE_MS,
                        .maxrt_ms = 120000};
    zguard_opts_t go = {.name = "media",
                        .setting = "media.max_connections",
                        .max_conns = hm->o.max_connections,
                        .max_pending = hm->o.max_handshaking,
                        .handshake_ms = ZSOCK_HANDSHAKE_MS};
    if (!hm->router || zmq_setsockopt(hm->router, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(hm->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(hm->router, ZMQ_ROUTER_HANDOVER, &one, sizeof one) != 0 ||
        zsock_bound(hm->router, &b) != FT_OK ||
        zmq_setsockopt(hm->router, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(hm->router, ZMQ_CURVE_SECRETKEY, keys->box_sk, 32) != 0 ||
        zmq_setsockopt(hm->router, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN)) != 0 ||
        zmq_setsockopt(hm->router, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0) {
        log_error("cannot configure the media socket: %s", zmq_strerror(zmq_errno()));
        hub_media_stop(&hm);
        return FT_EIO;
    }
    if (zguard_attach(hm->zctx, hm->router, &go, &hm->guard) != FT_OK) {
        log_error("cannot watch the media socket's connections: %s", zmq_strerror(zmq_errno()));
        hub_media_stop(&hm);
        return FT_EIO;
    }
    if (zmq_bind(hm->router, hm->o.listen) != 0) {
        log_error("cannot listen for media on %s: %s (set `media.listen` in hub.conf or pass "
                  "--media-listen)",
                  hm->o.listen, zmq_strerror(zmq_errno()));
        hub_media_stop(&hm);
        return FT_EIO;
    }
    if (data_path_open(hm) != FT_OK) {
        hub_media_stop(&hm);
        return FT_EIO;
    }
    status_write(hm, hm->paused ? "paused" : "running"); /* now with the data path's port */
    /* Object storage: the upload thread empties the queue; a file waiting
     * for it is looked at again at every checkpoint (MEDIA_CKPT_MS). */
    if (blobstore_start_uploads(hm->blobs, NULL, NULL) != FT_OK) {
        log_error("media: cannot start the object store's upload thread");
        hub_media_stop(&hm);
        return FT_ENOMEM;
    }
    if (pthread_create(&hm->th, NULL, media_main, hm) != 0) {
        hub_media_stop(&hm);
        return FT_EIO;
    }
    hm->started = true;
    char data_text[300] = "no data path: chunks on the secure link";
    if (hm->data_router) {
        snprintf(data_text, sizeof data_text, "chunk data path on port %u", hm->data_port);
    }
    log_info("media: pulling chunks on %s (window %u per edge, %u in all; %s), %zu files in "
             "progress",
             hm->o.listen, hm->o.window, hm->o.global, data_text, hm->n_act);
    *out = hm;
    return FT_OK;
}

void hub_media_stop(hub_media_t **m_p)
{
    hub_media_t *hm = *m_p;
    if (!hm) {
        return;
    }
    if (hm->started) {
        *hm->stop = 1;
        pthread_join(hm->th, NULL);
    }
    if (hm->router) {
        zguard_detach(&hm->guard, hm->router);
        zmq_close(hm->router);
    }
    if (hm->data_router) {
        zguard_detach(&hm->data_guard, hm->data_router);
        zmq_close(hm->data_router);
    }
    zap_destroy(&hm->zap);
    if (hm->zctx) {
        zmq_ctx_term(hm->zctx);
    }
    for (size_t i = 0; i < hm->n_act; i++) {
        active_free(hm, &hm->act[i]);
    }
    free(hm->act);
    hm->act = NULL;
    hm->n_act = 0; /* status_write below counts the files held back */
    mcheck_stop(&hm->check);
    for (size_t i = 0; i < hm->n_sess; i++) {
        free(hm->sess[i].reqs);
    }
    free(hm->sess);
    free(hm->buf);
    if (hm->wake_fd >= 0) {
        close(hm->wake_fd);
    }
    if (hm->status_fd >= 0) {
        hm->paused = false;
        status_write(hm, "stopped");
        close(hm->status_fd);
    }
    blobstore_destroy(&hm->blobs);
    hub_mdb_destroy(&hm->db);
    free(hm);
    *m_p = NULL;
}

void hub_media_ports(const hub_media_t *hm, uint32_t *media_port, uint32_t *data_port)
{
    *media_port = 0;
    *data_port = 0;
    if (!hm) {
        return;
    }
    char ep[256];
    size_t n = sizeof ep;
    if (hm->router && zmq_getsockopt(hm->router, ZMQ_LAST_ENDPOINT, ep, &n) == 0) {
        *media_port = wire_endpoint_port(ep);
    }
    *data_port = hm->data_router ? hm->data_port : 0;
}
