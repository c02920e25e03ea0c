/* mstore.c: the edge's media store in LMDB (see mstore.h). */
#include "mstore.h"
#include "lmdbx.h"
#include "logging.h"
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
    MDB_env *env;  /* the log's environment */
    MDB_dbi chunks, files, progress, content, meta;
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
    MDB_cursor *cur = NULL;
    rc = mdb_cursor_open(txn, 0, &cur);
    if (rc == 0) {
        MDB_val k, v;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            size_t n = 0;
            if (v.mv_size >= sizeof n) {
                memcpy(&n, v.mv_data, sizeof n);
            }
            free_pages += n;
        }
        mdb_cursor_close(cur);
    }
    /* last_pgno of the newest commit (mdb_env_info reads the newest meta
     * page, not this transaction's): a commit since the free list was read
     * may have moved it on. */
    mdb_env_info(m->env, &info);
    mdb_txn_abort(txn);
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

int mstore_chunks_delete(mstore_t *m, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                         uint64_t *bytes)
{
    uint8_t kb[20];
    chunk_key(kb, file_id, 0);
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, m->chunks, &cur);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    uint64_t freed = 0;
    MDB_val k = {sizeof kb, kb}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 20 || memcmp(k.mv_data, file_id, MEDIA_FILE_ID_BYTES) != 0) {
            break;
        }
        freed += v.mv_size;
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0) {
            break;
        }
    }
    mdb_cursor_close(cur);
    if (bytes) {
        *bytes = freed;
    }
    return rc == 0 || rc == MDB_NOTFOUND ? FT_OK : lmdbx_err(rc);
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

int mstore_file_get(mstore_t *m, MDB_txn *txn, const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                    mstore_file_t *out)
{
    return get_fixed(txn, m->files, file_id, MEDIA_FILE_ID_BYTES, out, sizeof *out);
}

int mstore_file_put(mstore_t *m, MDB_txn *txn, const mstore_file_t *f)
{
    return put_fixed(txn, m->files, f->file_id, MEDIA_FILE_ID_BYTES, f, sizeof *f);
}

int mstore_file_iter(mstore_t *m, MDB_txn *txn, mstore_file_fn fn, void *ctx)
{
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, m->files, &cur);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    int ret = FT_OK;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (v.mv_size != sizeof(mstore_file_t)) {
            continue;
        }
        mstore_file_t f;
        memcpy(&f, v.mv_data, sizeof f);
        ret = fn(ctx, &f);
        if (ret != 0) {
            break;
        }
    }
    mdb_cursor_close(cur);
    return ret;
}

static void prog_key(uint8_t k[16], uint64_t dev, uint64_t ino)
{
    lmdbx_put_u64(k, dev);
    lmdbx_put_u64(k + 8, ino);
}

int mstore_progress_get(mstore_t *m, MDB_txn *txn, uint64_t dev, uint64_t ino,
                        mstore_progress_t *out)
{
    uint8_t k[16];
    prog_key(k, dev, ino);
    return get_fixed(txn, m->progress, k, sizeof k, out, sizeof *out);
}

int mstore_progress_put(mstore_t *m, MDB_txn *txn, const mstore_progress_t *p)
{
    uint8_t k[16];
    prog_key(k, p->dev, p->ino);
    return put_fixed(txn, m->progress, k, sizeof k, p, sizeof *p);
}

int mstore_progress_del(mstore_t *m, MDB_txn *txn, uint64_t dev, uint64_t ino)
{
    uint8_t kb[16];
    prog_key(kb, dev, ino);
    MDB_val k = {sizeof kb, kb};
    int rc = mdb_del(txn, m->progress, &k, NULL);
    return rc == MDB_NOTFOUND ? FT_OK : lmdbx_err(rc);
}

int mstore_progress_iter(mstore_t *m, MDB_txn *txn, mstore_progress_fn fn, void *ctx)
{
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, m->progress, &cur);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    int ret = FT_OK;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (v.mv_size != sizeof(mstore_progress_t)) {
            continue;
        }
        mstore_progress_t p;
        memcpy(&p, v.mv_data, sizeof p);
        ret = fn(ctx, &p);
        sodium_memzero(&p, sizeof p);
        if (ret != 0) {
            break;
        }
    }
    mdb_cursor_close(cur);
    return ret;
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
    int err = mstore_file_iter(m, rtxn, collect_acked, &l);
    mdb_txn_abort(rtxn);
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
