/* mstore.c: the edge's media store in LMDB (see mstore.h). */
#include "mstore.h"
#include "lmdbx.h"
#include "logging.h"
#include "row.h"

#include <sodium.h>
#include "utf8.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct mstore_t {
    devlog_t *log; /* borrowed */
    /* What mstore_unread_report said last, per kind of row (said once). */
    uint64_t said_n[3];
    char said_key[3][sizeof(((lmdbx_unread_t *)0)->first_key)];
    MDB_env *env; /* the log's environment */
    MDB_dbi chunks, files, progress, content, meta, inbox;
    /* The mapping of the data file the last chunk read came from
     * (mstore_chunk_read); looked up again when a chunk is not inside it,
     * forgotten when bytes read by pread differ from the map's. 0: none. */
    uintptr_t map_lo, map_hi;
    uint64_t map_off; /* file offset at map_lo */
    uint64_t preads;  /* reads mstore_chunk_read served with pread */
};

int mstore_open(devlog_t *log, mstore_t **out)
{
    *out = NULL;
    mstore_t *m = calloc(1, sizeof *m);
    if (!m) {
        return FT_ENOMEM;
    }
    m->log = log;
    m->env = devlog_env(log);
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(m->env, NULL, 0, &txn);
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "mchunks", MDB_CREATE, &m->chunks);
    }
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "mfiles", MDB_CREATE, &m->files);
    }
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "mprogress", MDB_CREATE, &m->progress);
    }
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "mcontent", MDB_CREATE, &m->content);
    }
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "mmeta", MDB_CREATE, &m->meta);
    }
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "minbox", MDB_CREATE, &m->inbox);
    }
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (txn) {
        mdb_txn_abort(txn);
    }
    if (rc != 0) {
        log_error("cannot open the media databases: %s", mdb_strerror(rc));
        free(m);
        return lmdbx_err(rc);
    }
    *out = m;
    return FT_OK;
}

void mstore_destroy(mstore_t **m_p)
{
    if (*m_p) {
        free(*m_p);
        *m_p = NULL;
    }
}

devlog_t *mstore_log(mstore_t *m)
{
    return m->log;
}

MDB_env *mstore_env(mstore_t *m)
{
    return m->env;
}

/* A row of LMDB's free list: a count of pages, then their numbers. */
static int count_free_pages(void *ctx, const lmdbx_row_t *row)
{
    size_t n = 0;
    if (row->val.mv_size >= sizeof n) {
        memcpy(&n, row->val.mv_data, sizeof n);
    }
    *(uint64_t *)ctx += n;
    return 0;
}

int mstore_free_bytes(mstore_t *m, uint64_t *free_bytes, uint64_t *map_bytes)
{
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(m->env, &info) != 0 || mdb_env_stat(m->env, &st) != 0) {
        return FT_EIO;
    }
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    /* Pages on the free list (DBI 0): each value is a count then page numbers. */
    uint64_t free_pages = 0;
    int err = lmdbx_scan(txn, 0, NULL, NULL, count_free_pages, &free_pages);
    /* last_pgno of the newest commit (mdb_env_info reads the newest meta
     * page, not this transaction's): a commit since the free list was read
     * may have moved it on. */
    mdb_env_info(m->env, &info);
    mdb_txn_abort(txn);
    if (err != FT_OK) {
        return err;
    }
    uint64_t psize = st.ms_psize;
    uint64_t map = info.me_mapsize;
    uint64_t used = ((uint64_t)info.me_last_pgno + 1) * psize;
    uint64_t unused = map > used ? map - used : 0;
    *free_bytes = unused + free_pages * psize;
    if (map_bytes) {
        *map_bytes = map;
    }
    return FT_OK;
}

static void chunk_key(uint8_t k[MEDIA_FILE_ID_BYTES + 4],
                      const uint8_t file_id[MEDIA_FILE_ID_BYTES], uint32_t index)
{
    memcpy(k, file_id, MEDIA_FILE_ID_BYTES);
    k[16] = (uint8_t)(index >> 24);
    k[17] = (uint8_t)(index >> 16);
    k[18] = (uint8_t)(index >> 8);
    k[19] = (uint8_t)index;
}

int mstore_chunk_reserve(mstore_t *m, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                         uint32_t index, size_t len, uint8_t **dst)
{
    uint8_t kb[20];
    chunk_key(kb, file_id, index);
    MDB_val k = {sizeof kb, kb}, v = {len, NULL};
    int rc = mdb_put(txn, m->chunks, &k, &v, MDB_RESERVE);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    *dst = v.mv_data;
    return FT_OK;
}

int mstore_chunk_put(mstore_t *m, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                     uint32_t index, const uint8_t *data, size_t len)
{
    uint8_t *dst = NULL;
    int err = mstore_chunk_reserve(m, txn, file_id, index, len, &dst);
    if (err == FT_OK && len) {
        memcpy(dst, data, len);
    }
    return err;
}

int mstore_chunk_get(mstore_t *m, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                     uint32_t index, const uint8_t **data, size_t *len)
{
    uint8_t kb[20];
    chunk_key(kb, file_id, index);
    MDB_val k = {sizeof kb, kb}, v;
    int rc = mdb_get(txn, m->chunks, &k, &v);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    *data = v.mv_data;
    *len = v.mv_size;
    return FT_OK;
}

/* The mapping that holds address p, of the data file (fd), from
 * /proc/self/maps: LMDB gives its map's address only for MDB_FIXEDMAP. The
 * line must name the file's inode; its device is not compared (btrfs and
 * overlay file systems show another one there than fstat does). *lo, *hi:
 * the mapping; *file_off: the file offset at *lo. */
static bool map_find(int fd, uintptr_t p, uintptr_t *lo, uintptr_t *hi, uint64_t *file_off)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return false;
    }
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f) {
        return false;
    }
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        unsigned long a = 0, b = 0, off = 0, ino = 0;
        unsigned dmaj = 0, dmin = 0;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &a, &b, perms, &off, &dmaj, &dmin, &ino) ==
                7 &&
            ino == (unsigned long)st.st_ino && p >= a && p < b) {
            *lo = (uintptr_t)a;
            *hi = (uintptr_t)b;
            *file_off = off;
            found = true;
        }
    }
    fclose(f);
    return found;
}

/* Reads len bytes at offset off of fd into buf; true if all came. */
static bool pread_all(int fd, uint8_t *buf, size_t len, off_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, off + (off_t)got);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return false;
        }
        got += (size_t)n;
    }
    return true;
}

int mstore_chunk_read(mstore_t *m, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                      uint32_t index, uint8_t *buf, size_t cap, size_t *len)
{
    const uint8_t *data = NULL;
    size_t n = 0;
    int err = mstore_chunk_get(m, txn, file_id, index, &data, &n);
    if (err != FT_OK) {
        return err;
    }
    if (n > cap) {
        return FT_EINVAL;
    }
    *len = n;
    int fd = -1;
    uintptr_t p = (uintptr_t)data;
    bool mapped = p >= m->map_lo && p + n <= m->map_hi;
    if (!mapped && mdb_env_get_fd(m->env, &fd) == 0 && fd >= 0) {
        mapped = map_find(fd, p, &m->map_lo, &m->map_hi, &m->map_off) && p + n <= m->map_hi;
    }
    if (mapped && (fd >= 0 || (mdb_env_get_fd(m->env, &fd) == 0 && fd >= 0)) &&
        pread_all(fd, buf, n, (off_t)(m->map_off + (p - m->map_lo)))) {
        /* The first and last bytes through the map (two pages touched, not
         * all): a wrong place (a map moved since it was found) never passes
         * as the chunk. */
        size_t k = n < 32 ? n : 32;
        if (memcmp(buf, data, k) == 0 && memcmp(buf + n - k, data + n - k, k) == 0) {
            m->preads++;
            return FT_OK;
        }
        m->map_lo = m->map_hi = 0;
    }
    memcpy(buf, data, n); /* through the map after all */
    return FT_OK;
}

uint64_t mstore_chunk_preads(const mstore_t *m)
{
    return m->preads;
}

static int delete_chunk(void *ctx, const lmdbx_row_t *row)
{
    if (row->key.mv_size != 20) {
        return FT_ECORRUPT;
    }
    *(uint64_t *)ctx += row->val.mv_size;
    return lmdbx_row_del(row);
}

int mstore_chunks_delete(mstore_t *m, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                         uint64_t *bytes)
{
    uint64_t freed = 0;
    MDB_val prefix = {MEDIA_FILE_ID_BYTES, (void *)file_id};
    int err = lmdbx_scan(txn, m->chunks, NULL, &prefix, delete_chunk, &freed);
    if (bytes) {
        *bytes = freed;
    }
    return err;
}

static int get_fixed(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, void *out, size_t n)
{
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    if (v.mv_size != n) {
        return FT_ECORRUPT;
    }
    memcpy(out, v.mv_data, n);
    return FT_OK;
}

static int put_fixed(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, const void *val,
                     size_t n)
{
    MDB_val k = {klen, (void *)key}, v = {n, (void *)val};
    return lmdbx_err(mdb_put(txn, dbi, &k, &v, 0));
}

/* ---- file rows ----------------------------------------------------------- */

/* File rows as version 1 wrote them: mstore_file_t of that time, raw, in the
 * host's layout (4 bytes of padding at the end). Frozen: never change it. */
typedef struct {
    uint32_t version; /* 1 */
    uint32_t state;
    uint8_t file_id[16];
    uint64_t size;
    uint32_t chunk_size;
    uint32_t n_chunks;
    uint64_t manifest_seq;
    int64_t ingested_ms, acked_ms, pruned_ms;
    uint64_t served;
    int64_t first_served_ms, last_served_ms;
    uint8_t merkle_root[32];
    uint8_t content_hash[32];
    char name[128];
    char recorder[64];
    uint32_t receipt_len;
    uint8_t receipt[512];
} file_v1_t;

#if defined(__x86_64__) || defined(__aarch64__)
_Static_assert(sizeof(file_v1_t) == 872, "version 1 file rows are 872 bytes");
_Static_assert(offsetof(file_v1_t, receipt) == 356, "version 1 layout");
#endif

#define FILE_MAGIC 0x4D /* 'M': never the first byte of a version 1 row (its u32 version) */
#define FILE_VERSION 2

size_t mstore_file_encode(const mstore_file_t *f, uint8_t *buf, size_t cap)
{
    if (f->receipt_len > MSTORE_RECEIPT_MAX) {
        return 0;
    }
    row_w_t w = {.buf = buf, .cap = cap};
    row_put_u8(&w, FILE_MAGIC);
    row_put_u8(&w, FILE_VERSION);
    row_put_u8(&w, (uint8_t)f->state);
    row_put(&w, f->file_id, MEDIA_FILE_ID_BYTES);
    row_put_u64(&w, f->size);
    row_put_u32(&w, f->chunk_size);
    row_put_u32(&w, f->n_chunks);
    row_put_u64(&w, f->manifest_seq);
    row_put_i64(&w, f->ingested_ms);
    row_put_i64(&w, f->acked_ms);
    row_put_i64(&w, f->pruned_ms);
    row_put_u64(&w, f->served);
    row_put_i64(&w, f->first_served_ms);
    row_put_i64(&w, f->last_served_ms);
    row_put(&w, f->merkle_root, MEDIA_HASH_BYTES);
    row_put(&w, f->content_hash, MEDIA_HASH_BYTES);
    row_put_str(&w, f->name, sizeof f->name);
    row_put_str(&w, f->recorder, sizeof f->recorder);
    row_put_u32(&w, f->receipt_len);
    row_put(&w, f->receipt, f->receipt_len);
    return w.overflow ? 0 : w.len;
}

int mstore_file_decode(const uint8_t *v, size_t n, mstore_file_t *out)
{
    mstore_file_t f;
    memset(&f, 0, sizeof f);
    if (n == sizeof(file_v1_t) && v[0] != FILE_MAGIC) {
        file_v1_t o;
        memcpy(&o, v, sizeof o);
        if (o.version != 1 || !memchr(o.name, 0, sizeof o.name) ||
            !memchr(o.recorder, 0, sizeof o.recorder) || o.receipt_len > sizeof o.receipt) {
            return FT_ECORRUPT;
        }
        f.version = 1;
        f.state = o.state;
        memcpy(f.file_id, o.file_id, sizeof f.file_id);
        f.size = o.size;
        f.chunk_size = o.chunk_size;
        f.n_chunks = o.n_chunks;
        f.manifest_seq = o.manifest_seq;
        f.ingested_ms = o.ingested_ms;
        f.acked_ms = o.acked_ms;
        f.pruned_ms = o.pruned_ms;
        f.served = o.served;
        f.first_served_ms = o.first_served_ms;
        f.last_served_ms = o.last_served_ms;
        memcpy(f.merkle_root, o.merkle_root, sizeof f.merkle_root);
        memcpy(f.content_hash, o.content_hash, sizeof f.content_hash);
        memcpy(f.name, o.name, sizeof f.name);
        memcpy(f.recorder, o.recorder, sizeof f.recorder);
        f.receipt_len = o.receipt_len;
        memcpy(f.receipt, o.receipt, o.receipt_len);
    } else {
        row_r_t r = {.p = v, .len = n};
        uint8_t magic = row_get_u8(&r), version = row_get_u8(&r);
        if (magic != FILE_MAGIC || version != FILE_VERSION) {
            return FT_ECORRUPT;
        }
        f.version = version;
        f.state = row_get_u8(&r);
        row_get(&r, f.file_id, MEDIA_FILE_ID_BYTES);
        f.size = row_get_u64(&r);
        f.chunk_size = row_get_u32(&r);
        f.n_chunks = row_get_u32(&r);
        f.manifest_seq = row_get_u64(&r);
        f.ingested_ms = row_get_i64(&r);
        f.acked_ms = row_get_i64(&r);
        f.pruned_ms = row_get_i64(&r);
        f.served = row_get_u64(&r);
        f.first_served_ms = row_get_i64(&r);
        f.last_served_ms = row_get_i64(&r);
        row_get(&r, f.merkle_root, MEDIA_HASH_BYTES);
        row_get(&r, f.content_hash, MEDIA_HASH_BYTES);
        row_get_str(&r, f.name, sizeof f.name);
        row_get_str(&r, f.recorder, sizeof f.recorder);
        f.receipt_len = row_get_u32(&r);
        if (f.receipt_len > MSTORE_RECEIPT_MAX) {
            return FT_ECORRUPT;
        }
        row_get(&r, f.receipt, f.receipt_len);
        if (r.bad || r.off != r.len) {
            return FT_ECORRUPT;
        }
    }
    if (f.state < MFILE_STORED || f.state > MFILE_PRUNED) {
        return FT_ECORRUPT;
    }
    *out = f;
    return FT_OK;
}

int mstore_file_get(mstore_t *m, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                    mstore_file_t *out)
{
    MDB_val k = {MEDIA_FILE_ID_BYTES, (void *)file_id}, v;
    int rc = mdb_get(txn, m->files, &k, &v);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    return mstore_file_decode(v.mv_data, v.mv_size, out);
}

int mstore_file_put(mstore_t *m, MDB_txn *txn, const mstore_file_t *f)
{
    uint8_t buf[MSTORE_FILE_ROW_MAX];
    size_t n = mstore_file_encode(f, buf, sizeof buf);
    return n ? put_fixed(txn, m->files, f->file_id, MEDIA_FILE_ID_BYTES, buf, n) : FT_EINVAL;
}

/* A walk over the rows of one kind: the caller's callback, and the rows
 * that did not decode (counted, named, and FT_ECORRUPT at the end). */
typedef struct {
    mstore_file_fn file_fn;
    mstore_progress_fn progress_fn;
    mstore_inbox_fn inbox_fn;
    void *ctx;
    lmdbx_unread_t *unread;
    uint64_t bad;
} walk_t;

static int walk_end(int err, const walk_t *w)
{
    return err == FT_OK && w->bad ? FT_ECORRUPT : err;
}

static int walk_bad(walk_t *w, const lmdbx_row_t *row)
{
    w->bad++;
    lmdbx_unread_note(w->unread, &row->key);
    return 0;
}

static int file_row(void *ctx, const lmdbx_row_t *row)
{
    walk_t *w = ctx;
    mstore_file_t f;
    if (row->key.mv_size != MEDIA_FILE_ID_BYTES ||
        mstore_file_decode(row->val.mv_data, row->val.mv_size, &f) != FT_OK ||
        memcmp(f.file_id, row->key.mv_data, MEDIA_FILE_ID_BYTES) != 0) {
        return walk_bad(w, row);
    }
    return w->file_fn(w->ctx, &f);
}

int mstore_file_iter(mstore_t *m, MDB_txn *txn, mstore_file_fn fn, void *ctx,
                     lmdbx_unread_t *unread)
{
    walk_t w = {.file_fn = fn, .ctx = ctx, .unread = unread};
    return walk_end(lmdbx_scan(txn, m->files, NULL, NULL, file_row, &w), &w);
}

static void prog_key(uint8_t k[16], uint64_t dev, uint64_t ino)
{
    lmdbx_put_u64(k, dev);
    lmdbx_put_u64(k + 8, ino);
}

/* Progress rows as version 1 wrote them: the C struct of that time, raw. */
typedef struct {
    uint32_t version; /* 1 */
    uint32_t state;
    uint64_t dev, ino, size;
    int64_t mtime_ns;
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    uint8_t key[MEDIA_KEY_BYTES];
    uint32_t chunk_size;
    uint32_t chunks_done;
    int64_t started_ms;
    char path[1024];
} progress_v1_t;

#define PROGRESS_MAGIC 0x50 /* 'P': never the first byte of a version 1 row */
#define PROGRESS_VERSION 2
#define PROGRESS_ROW_MAX (64 + MEDIA_KEY_BYTES + 2 * MEDIA_FILE_ID_BYTES + 8 * 10 + 1026)

static size_t progress_encode(const mstore_progress_t *p, uint8_t *buf, size_t cap)
{
    row_w_t w = {.buf = buf, .cap = cap};
    row_put_u8(&w, PROGRESS_MAGIC);
    row_put_u8(&w, PROGRESS_VERSION);
    row_put_u8(&w, (uint8_t)p->state);
    uint8_t flags =
        (uint8_t)((p->stored ? 1 : 0) | (p->declared ? 2 : 0) | (p->has_supersedes ? 4 : 0));
    row_put_u8(&w, flags);
    row_put_u64(&w, p->dev);
    row_put_u64(&w, p->ino);
    row_put_u64(&w, p->size);
    row_put_i64(&w, p->mtime_ns);
    row_put(&w, p->file_id, MEDIA_FILE_ID_BYTES);
    row_put(&w, p->key, MEDIA_KEY_BYTES);
    row_put_u64(&w, p->chunk_size);
    row_put_u64(&w, p->chunks_done);
    row_put_i64(&w, p->started_ms);
    row_put_i64(&w, p->done_ms);
    row_put(&w, p->supersedes, MEDIA_FILE_ID_BYTES);
    row_put_str(&w, p->path, sizeof p->path);
    return w.overflow ? 0 : w.len;
}

/* FT_OK or FT_ECORRUPT (out untouched). */
static int progress_decode(const uint8_t *v, size_t n, mstore_progress_t *out)
{
    mstore_progress_t p;
    memset(&p, 0, sizeof p);
    if (n == sizeof(progress_v1_t) && v[0] != PROGRESS_MAGIC) {
        progress_v1_t o;
        memcpy(&o, v, sizeof o);
        if (o.version != 1 || memchr(o.path, 0, sizeof o.path) == NULL) {
            sodium_memzero(&o, sizeof o);
            return FT_ECORRUPT;
        }
        p.version = 1;
        p.state = o.state;
        p.dev = o.dev;
        p.ino = o.ino;
        p.size = o.size;
        p.mtime_ns = o.mtime_ns;
        memcpy(p.file_id, o.file_id, sizeof p.file_id);
        memcpy(p.key, o.key, sizeof p.key);
        p.chunk_size = o.chunk_size;
        p.chunks_done = o.chunks_done;
        p.started_ms = o.started_ms;
        /* A version 1 DONE row was always a stored or duplicate file whose
         * removal was interrupted: remove it as its marker allowed. */
        p.stored = true;
        p.declared = true;
        memcpy(p.path, o.path, sizeof p.path);
        sodium_memzero(&o, sizeof o);
    } else {
        row_r_t r = {.p = v, .len = n};
        uint8_t magic = row_get_u8(&r), version = row_get_u8(&r);
        if (magic != PROGRESS_MAGIC || version != PROGRESS_VERSION) {
            return FT_ECORRUPT;
        }
        p.version = version;
        p.state = row_get_u8(&r);
        uint8_t flags = row_get_u8(&r);
        p.stored = flags & 1;
        p.declared = (flags & 2) != 0;
        p.has_supersedes = (flags & 4) != 0;
        p.dev = row_get_u64(&r);
        p.ino = row_get_u64(&r);
        p.size = row_get_u64(&r);
        p.mtime_ns = row_get_i64(&r);
        row_get(&r, p.file_id, MEDIA_FILE_ID_BYTES);
        row_get(&r, p.key, MEDIA_KEY_BYTES);
        p.chunk_size = (uint32_t)row_get_u64(&r);
        p.chunks_done = (uint32_t)row_get_u64(&r);
        p.started_ms = row_get_i64(&r);
        p.done_ms = row_get_i64(&r);
        row_get(&r, p.supersedes, MEDIA_FILE_ID_BYTES);
        row_get_str(&r, p.path, sizeof p.path);
        if (r.bad || r.off != r.len) {
            sodium_memzero(&p, sizeof p);
            return FT_ECORRUPT;
        }
    }
    if (p.state != MPROG_INGESTING && p.state != MPROG_DONE) {
        sodium_memzero(&p, sizeof p);
        return FT_ECORRUPT;
    }
    *out = p;
    sodium_memzero(&p, sizeof p);
    return FT_OK;
}

int mstore_progress_get(mstore_t *m, MDB_txn *txn, uint64_t dev, uint64_t ino,
                        mstore_progress_t *out)
{
    uint8_t kb[16];
    prog_key(kb, dev, ino);
    MDB_val k = {sizeof kb, kb}, v;
    int rc = mdb_get(txn, m->progress, &k, &v);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    return progress_decode(v.mv_data, v.mv_size, out);
}

int mstore_progress_put(mstore_t *m, MDB_txn *txn, const mstore_progress_t *p)
{
    uint8_t kb[16], buf[PROGRESS_ROW_MAX];
    prog_key(kb, p->dev, p->ino);
    size_t n = progress_encode(p, buf, sizeof buf);
    int err = FT_EINVAL;
    if (n > 0) {
        MDB_val k = {sizeof kb, kb}, v = {n, buf};
        err = lmdbx_err(mdb_put(txn, m->progress, &k, &v, 0));
    }
    sodium_memzero(buf, sizeof buf);
    return err;
}

int mstore_progress_del(mstore_t *m, MDB_txn *txn, uint64_t dev, uint64_t ino)
{
    uint8_t kb[16];
    prog_key(kb, dev, ino);
    MDB_val k = {sizeof kb, kb};
    int rc = mdb_del(txn, m->progress, &k, NULL);
    return rc == MDB_NOTFOUND ? FT_OK : lmdbx_err(rc);
}

static int progress_row(void *ctx, const lmdbx_row_t *row)
{
    walk_t *w = ctx;
    mstore_progress_t p;
    if (progress_decode(row->val.mv_data, row->val.mv_size, &p) != FT_OK) {
        return walk_bad(w, row); /* not ours to act on, but said */
    }
    int ret = w->progress_fn(w->ctx, &p);
    sodium_memzero(&p, sizeof p);
    return ret;
}

int mstore_progress_iter(mstore_t *m, MDB_txn *txn, mstore_progress_fn fn, void *ctx,
                         lmdbx_unread_t *unread)
{
    walk_t w = {.progress_fn = fn, .ctx = ctx, .unread = unread};
    return walk_end(lmdbx_scan(txn, m->progress, NULL, NULL, progress_row, &w), &w);
}

/* ---- inbox problem rows ------------------------------------------------- */

#define INBOX_MAGIC 0x49 /* 'I' */
#define INBOX_VERSION 1
#define INBOX_KEY_BYTES 32
#define INBOX_ROW_MAX (4 + 8 * 9 + 3 * 2 + 64 + 256 + 1024)

static void inbox_key(uint8_t k[INBOX_KEY_BYTES], uint64_t dev, uint64_t ino, const char *path)
{
    lmdbx_put_u64(k, dev);
    lmdbx_put_u64(k + 8, ino);
    crypto_generichash(k + 16, 16, (const uint8_t *)path, strlen(path), NULL, 0);
}

static int inbox_decode(const uint8_t *v, size_t n, mstore_inbox_t *out)
{
    mstore_inbox_t r;
    memset(&r, 0, sizeof r);
    row_r_t rd = {.p = v, .len = n};
    if (row_get_u8(&rd) != INBOX_MAGIC || row_get_u8(&rd) != INBOX_VERSION) {
        return FT_ECORRUPT;
    }
    r.kind = row_get_u8(&rd);
    r.dev = row_get_u64(&rd);
    r.ino = row_get_u64(&rd);
    r.size = row_get_u64(&rd);
    r.mtime_ns = row_get_i64(&rd);
    r.first_ms = row_get_i64(&rd);
    r.last_ms = row_get_i64(&rd);
    r.next_ms = row_get_i64(&rd);
    r.tries = (uint32_t)row_get_u64(&rd);
    row_get_str(&rd, r.recorder, sizeof r.recorder);
    row_get_str(&rd, r.reason, sizeof r.reason);
    row_get_str(&rd, r.path, sizeof r.path);
    if (rd.bad || rd.off != rd.len || (r.kind != MINBOX_REFUSED && r.kind != MINBOX_FAILED)) {
        return FT_ECORRUPT;
    }
    *out = r;
    return FT_OK;
}

int mstore_inbox_get(mstore_t *m, MDB_txn *txn, uint64_t dev, uint64_t ino, const char *path,
                     mstore_inbox_t *out)
{
    uint8_t kb[INBOX_KEY_BYTES];
    inbox_key(kb, dev, ino, path);
    MDB_val k = {sizeof kb, kb}, v;
    int rc = mdb_get(txn, m->inbox, &k, &v);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    mstore_inbox_t r;
    int err = inbox_decode(v.mv_data, v.mv_size, &r);
    if (err == FT_OK && strcmp(r.path, path) != 0) {
        err = FT_ENOTFOUND; /* another path with the same hash prefix */
    }
    if (err == FT_OK) {
        *out = r;
    }
    return err;
}

int mstore_inbox_put(mstore_t *m, MDB_txn *txn, const mstore_inbox_t *r)
{
    uint8_t kb[INBOX_KEY_BYTES], buf[INBOX_ROW_MAX];
    inbox_key(kb, r->dev, r->ino, r->path);
    row_w_t w = {.buf = buf, .cap = sizeof buf};
    row_put_u8(&w, INBOX_MAGIC);
    row_put_u8(&w, INBOX_VERSION);
    row_put_u8(&w, (uint8_t)r->kind);
    row_put_u64(&w, r->dev);
    row_put_u64(&w, r->ino);
    row_put_u64(&w, r->size);
    row_put_i64(&w, r->mtime_ns);
    row_put_i64(&w, r->first_ms);
    row_put_i64(&w, r->last_ms);
    row_put_i64(&w, r->next_ms);
    row_put_u64(&w, r->tries);
    row_put_str(&w, r->recorder, sizeof r->recorder);
    row_put_str(&w, r->reason, sizeof r->reason);
    row_put_str(&w, r->path, sizeof r->path);
    if (w.overflow) {
        return FT_EINVAL;
    }
    MDB_val k = {sizeof kb, kb}, v = {w.len, buf};
    return lmdbx_err(mdb_put(txn, m->inbox, &k, &v, 0));
}

int mstore_inbox_del(mstore_t *m, MDB_txn *txn, uint64_t dev, uint64_t ino, const char *path)
{
    uint8_t kb[INBOX_KEY_BYTES];
    inbox_key(kb, dev, ino, path);
    MDB_val k = {sizeof kb, kb};
    int rc = mdb_del(txn, m->inbox, &k, NULL);
    return rc == MDB_NOTFOUND ? FT_OK : lmdbx_err(rc);
}

static int inbox_row(void *ctx, const lmdbx_row_t *row)
{
    walk_t *w = ctx;
    mstore_inbox_t r;
    if (inbox_decode(row->val.mv_data, row->val.mv_size, &r) != FT_OK) {
        return walk_bad(w, row);
    }
    return w->inbox_fn(w->ctx, &r);
}

int mstore_inbox_iter(mstore_t *m, MDB_txn *txn, mstore_inbox_fn fn, void *ctx,
                      lmdbx_unread_t *unread)
{
    walk_t w = {.inbox_fn = fn, .ctx = ctx, .unread = unread};
    return walk_end(lmdbx_scan(txn, m->inbox, NULL, NULL, inbox_row, &w), &w);
}

void mstore_unread_report(mstore_t *m, mstore_rows kind, const lmdbx_unread_t *u)
{
    static const char *const names[] = {"file", "progress", "inbox"};
    if (!u || u->n == 0 || kind > MSTORE_ROWS_INBOX) {
        return;
    }
    if (m->said_n[kind] == u->n && strcmp(m->said_key[kind], u->first_key) == 0) {
        return;
    }
    m->said_n[kind] = u->n;
    snprintf(m->said_key[kind], sizeof m->said_key[kind], "%s", u->first_key);
    log_error("media store: %llu %s rows cannot be read (the first has key %s): they are left "
              "alone and listed nowhere; everything else goes on",
              (unsigned long long)u->n, names[kind], u->first_key);
}

int mstore_content_get(mstore_t *m, MDB_txn *txn, const uint8_t hash[MEDIA_HASH_BYTES],
                       uint8_t file_id[MEDIA_FILE_ID_BYTES])
{
    return get_fixed(txn, m->content, hash, MEDIA_HASH_BYTES, file_id, MEDIA_FILE_ID_BYTES);
}

int mstore_content_put(mstore_t *m, MDB_txn *txn, const uint8_t hash[MEDIA_HASH_BYTES],
                       const uint8_t file_id[MEDIA_FILE_ID_BYTES])
{
    return put_fixed(txn, m->content, hash, MEDIA_HASH_BYTES, file_id, MEDIA_FILE_ID_BYTES);
}

int mstore_meta_get(mstore_t *m, MDB_txn *txn, const char *name, void *out, size_t n)
{
    return get_fixed(txn, m->meta, name, strlen(name), out, n);
}

int mstore_meta_put(mstore_t *m, MDB_txn *txn, const char *name, const void *v, size_t n)
{
    return put_fixed(txn, m->meta, name, strlen(name), v, n);
}

/* Collects ACKED files, oldest first. */
typedef struct {
    mstore_file_t *v;
    size_t n, cap;
} acked_list_t;

static int collect_acked(void *ctx, const mstore_file_t *f)
{
    acked_list_t *l = ctx;
    if (f->state != MFILE_ACKED) {
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        mstore_file_t *g = realloc(l->v, cap * sizeof *g);
        if (!g) {
            return FT_ENOMEM;
        }
        l->v = g;
        l->cap = cap;
    }
    l->v[l->n++] = *f;
    return 0;
}

static int by_ingest_time(const void *a, const void *b)
{
    const mstore_file_t *x = a, *y = b;
    return (x->ingested_ms > y->ingested_ms) - (x->ingested_ms < y->ingested_ms);
}

int mstore_prune(mstore_t *m, uint64_t keep_ms, uint64_t need_bytes, unsigned *pruned)
{
    if (pruned) {
        *pruned = 0;
    }
    acked_list_t l = {0};
    MDB_txn *rtxn = NULL;
    int rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &rtxn);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    lmdbx_unread_t unread = {0};
    int err = mstore_file_iter(m, rtxn, collect_acked, &l, &unread);
    mdb_txn_abort(rtxn);
    if (err == FT_ECORRUPT && unread.n) {
        /* A row that cannot be read is never pruned: the others are. */
        mstore_unread_report(m, MSTORE_ROWS_FILE, &unread);
        err = FT_OK;
    }
    if (err != FT_OK || l.n == 0) {
        free(l.v);
        return err;
    }
    qsort(l.v, l.n, sizeof *l.v, by_ingest_time);
    uint64_t free_bytes = 0;
    if (need_bytes) {
        err = mstore_free_bytes(m, &free_bytes, NULL);
        if (err != FT_OK) {
            free(l.v);
            return err;
        }
    }
    int64_t now = (int64_t)devlog_wall_ms(m->log);
    unsigned count = 0;
    for (size_t i = 0; i < l.n && err == FT_OK; i++) {
        mstore_file_t *f = &l.v[i];
        bool old = keep_ms && now - f->ingested_ms >= (int64_t)keep_ms;
        bool needed = need_bytes && free_bytes < need_bytes;
        if (!old && !needed) {
            continue;
        }
        devlog_txn_t *t = NULL;
        err = devlog_begin(m->log, &t);
        if (err != FT_OK) {
            break;
        }
        MDB_txn *txn = devlog_txn_mdb(t);
        uint64_t bytes = 0;
        err = mstore_chunks_delete(m, txn, f->file_id, &bytes);
        if (err == FT_OK) {
            f->state = MFILE_PRUNED;
            f->pruned_ms = now;
            err = mstore_file_put(m, txn, f);
        }
        if (err == FT_OK) {
            char detail[256], idhex[33];
            hex_encode(f->file_id, MEDIA_FILE_ID_BYTES, idhex);
            /* the name at most 128 bytes, never cut inside a character:
             * the detail is signed into the log */
            snprintf(detail, sizeof detail, "file %s (%.*s): %llu bytes of chunks pruned (%s)",
                     idhex, utf8_fit(f->name, sizeof f->name - 1), f->name,
                     (unsigned long long)bytes,
                     needed ? "space needed" : "kept longer than media.keep_days");
            utf8_trim(detail);
            Ft__DeviceEvent ev = FT__DEVICE_EVENT__INIT;
            ev.kind = FT__DEVICE_EVENT_KIND__MEDIA_PRUNED;
            ev.recorder = f->recorder[0] ? f->recorder : NULL;
            ev.detail = detail;
            Ft__Body body = FT__BODY__INIT;
            body.kind_case = FT__BODY__KIND_EVENT;
            body.event = &ev;
            err = devlog_append(t, &body, NULL);
        }
        if (err == FT_OK) {
            err = devlog_commit(&t);
        }
        devlog_abort(&t);
        if (err == FT_OK) {
            count++;
            free_bytes += bytes;
            log_info("pruned %s: the hub confirmed it holds every chunk", f->name);
        }
    }
    free(l.v);
    if (pruned) {
        *pruned = count;
    }
    return err;
}
