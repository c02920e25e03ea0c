/* blobstore.c: the directory implementation of the blob store (see blobstore.h). */
#include "blobstore.h"
#include "fsutil.h"
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct blobstore_t {
    char root[4096];
    s3store_t *s3; /* media.store = s3: the bucket behind the spool; NULL: directory */
};

struct blob_partial_t {
    int fd;
    char path[4200];
};

static int io_err(void)
{
    return errno == ENOSPC || errno == EDQUOT ? FT_EFULL : FT_EIO;
}

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return FT_EIO;
    }
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? FT_OK : FT_EIO;
}

int blobstore_open(const char *root, blobstore_t **out)
{
    *out = NULL;
    blobstore_t *bs = calloc(1, sizeof *bs);
    if (!bs) {
        return FT_ENOMEM;
    }
    int w = snprintf(bs->root, sizeof bs->root, "%s", root);
    char dir[4200];
    if (w < 0 || (size_t)w >= sizeof bs->root ||
        fsutil_join(dir, sizeof dir, root, "partial") != FT_OK ||
        fsutil_mkdirs(dir, 0700) != FT_OK ||
        fsutil_join(dir, sizeof dir, root, "objects") != FT_OK ||
        fsutil_mkdirs(dir, 0700) != FT_OK) {
        free(bs);
        return FT_EIO;
    }
    *out = bs;
    return FT_OK;
}

int blobstore_open_conf(const char *root, const blobstore_conf_t *conf, blobstore_t **out)
{
    int err = blobstore_open(root, out);
    if (err != FT_OK || !conf || !conf->s3) {
        return err;
    }
    err = s3store_open(&conf->s3c, root, &(*out)->s3);
    if (err != FT_OK) {
        blobstore_destroy(out);
    }
    return err;
}

int blobstore_start_uploads(blobstore_t *bs, void (*on_confirm)(void *), void *arg)
{
    return bs->s3 ? s3store_start(bs->s3, on_confirm, arg) : FT_OK;
}

bool blobstore_is_remote(const blobstore_t *bs)
{
    return bs->s3 != NULL;
}

void blobstore_destroy(blobstore_t **bs_p)
{
    if (*bs_p) {
        s3store_destroy(&(*bs_p)->s3);
    }
    free(*bs_p);
    *bs_p = NULL;
}

char *blobstore_upload_status(const char *root)
{
    return s3store_status_read(root);
}

static void partial_path(const blobstore_t *bs, const uint8_t id[BLOB_PART_BYTES], char *buf,
                         size_t n)
{
    char hex[2 * BLOB_PART_BYTES + 1];
    hex_encode(id, BLOB_PART_BYTES, hex);
    snprintf(buf, n, "%s/partial/%s", bs->root, hex);
}

static void object_dir(const blobstore_t *bs, const uint8_t id[BLOB_ID_BYTES], char *buf, size_t n)
{
    char hex[2 * BLOB_ID_BYTES + 1];
    hex_encode(id, BLOB_ID_BYTES, hex);
    snprintf(buf, n, "%s/objects/%.2s/%.2s", bs->root, hex, hex + 2);
}

static void object_path(const blobstore_t *bs, const uint8_t id[BLOB_ID_BYTES], char *buf, size_t n)
{
    char dir[4200], hex[2 * BLOB_ID_BYTES + 1];
    object_dir(bs, id, dir, sizeof dir);
    hex_encode(id, BLOB_ID_BYTES, hex);
    snprintf(buf, n, "%.4100s/%s", dir, hex);
}

int blobstore_partial_open(blobstore_t *bs, const uint8_t part_id[BLOB_PART_BYTES],
                           blob_partial_t **out)
{
    *out = NULL;
    blob_partial_t *p = calloc(1, sizeof *p);
    if (!p) {
        return FT_ENOMEM;
    }
    partial_path(bs, part_id, p->path, sizeof p->path);
    p->fd = open(p->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (p->fd < 0) {
        free(p);
        return FT_EIO;
    }
    *out = p;
    return FT_OK;
}

int blobstore_partial_write(blob_partial_t *p, uint64_t off, const void *data, size_t len)
{
    const uint8_t *d = data;
    const uint64_t written = len;
    while (len) {
        ssize_t w = pwrite(p->fd, d, len, (off_t)off);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return io_err();
        }
        d += w;
        off += (uint64_t)w;
        len -= (size_t)w;
    }
#ifdef SYNC_FILE_RANGE_WRITE
    /* Starts writing these bytes to disk now, without waiting, so that the
     * next blobstore_partial_sync finds little left to do: otherwise it
     * writes a whole checkpoint's worth (64 MiB) while the puller waits. */
    (void)sync_file_range(p->fd, (off_t)(off - written), (off_t)written, SYNC_FILE_RANGE_WRITE);
#endif
    return FT_OK;
}

int blobstore_partial_read(blob_partial_t *p, uint64_t off, void *data, size_t len)
{
    ssize_t r = pread(p->fd, data, len, (off_t)off);
    return r == (ssize_t)len ? FT_OK : FT_EIO;
}

int blobstore_partial_size(blob_partial_t *p, uint64_t *size)
{
    struct stat st;
    if (fstat(p->fd, &st) != 0) {
        return io_err();
    }
    *size = (uint64_t)st.st_size;
    return FT_OK;
}

int blobstore_partial_sync(blob_partial_t *p)
{
    return fdatasync(p->fd) == 0 ? FT_OK : io_err();
}

void blobstore_partial_close(blob_partial_t **p_p)
{
    blob_partial_t *p = *p_p;
    if (!p) {
        return;
    }
    if (p->fd >= 0) {
        close(p->fd);
    }
    free(p);
    *p_p = NULL;
}

int blobstore_publish(blobstore_t *bs, blob_partial_t **p_p, uint64_t size,
                      const uint8_t id[BLOB_ID_BYTES])
{
    blob_partial_t *p = *p_p;
    char dir[4200], path[4300];
    object_dir(bs, id, dir, sizeof dir);
    object_path(bs, id, path, sizeof path);
    int err = FT_OK;
    bool renamed = false;
    if (ftruncate(p->fd, (off_t)size) != 0 || fsync(p->fd) != 0 || fchmod(p->fd, 0400) != 0) {
        err = io_err();
    }
    if (err == FT_OK) {
        err = fsutil_mkdirs(dir, 0700);
    }
    if (err == FT_OK) {
        if (access(path, F_OK) == 0) {
            unlink(p->path); /* already published: the same bytes by construction */
            renamed = true;
        } else if (rename(p->path, path) != 0) {
            err = io_err();
        } else {
            renamed = true;
        }
    }
    if (err == FT_OK) {
        char pdir[4200];
        snprintf(pdir, sizeof pdir, "%s/partial", bs->root);
        err = sync_dir(dir);
        if (err == FT_OK) {
            err = sync_dir(pdir);
        }
    }
    if (err != FT_OK) {
        /* Kept open so that the caller can try again (a full disk is not
         * final); not renamed yet, it is still an ordinary writable partial. */
        if (!renamed) {
            (void)fchmod(p->fd, 0600);
        }
        return err;
    }
    if (bs->s3) {
        /* Queued for the bucket with the digests of the bytes just checked;
         * on a failure the call is repeated (the blob is already in place). */
        char hex[2 * BLOB_ID_BYTES + 1];
        hex_encode(id, BLOB_ID_BYTES, hex);
        err = s3store_enqueue(bs->s3, hex, path);
        if (err != FT_OK) {
            return err;
        }
    }
    blobstore_partial_close(p_p);
    return FT_OK;
}

int blobstore_partial_remove(blobstore_t *bs, const uint8_t part_id[BLOB_PART_BYTES])
{
    char path[4200];
    partial_path(bs, part_id, path, sizeof path);
    return unlink(path) == 0 || errno == ENOENT ? FT_OK : FT_EIO;
}

bool blobstore_has(blobstore_t *bs, const uint8_t id[BLOB_ID_BYTES])
{
    char path[4300];
    object_path(bs, id, path, sizeof path);
    if (access(path, F_OK) == 0) {
        return true;
    }
    char hex[2 * BLOB_ID_BYTES + 1];
    hex_encode(id, BLOB_ID_BYTES, hex);
    return bs->s3 && s3store_confirmed(bs->s3, hex);
}

bool blobstore_confirmed(blobstore_t *bs, const uint8_t id[BLOB_ID_BYTES])
{
    if (!bs->s3) {
        return blobstore_has(bs, id);
    }
    char hex[2 * BLOB_ID_BYTES + 1];
    hex_encode(id, BLOB_ID_BYTES, hex);
    return s3store_confirmed(bs->s3, hex);
}

int blobstore_open_read(blobstore_t *bs, const uint8_t id[BLOB_ID_BYTES])
{
    char path[4300];
    object_path(bs, id, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && bs->s3) {
        char hex[2 * BLOB_ID_BYTES + 1];
        hex_encode(id, BLOB_ID_BYTES, hex);
        return s3store_open_read(bs->s3, hex);
    }
    if (fd < 0) {
        return errno == ENOENT ? FT_ENOTFOUND : FT_EIO;
    }
    return fd;
}

int blobstore_lock(blobstore_t *bs, const uint8_t id[BLOB_ID_BYTES], int64_t until_s, int hold)
{
    if (!bs->s3) {
        return FT_OK;
    }
    char hex[2 * BLOB_ID_BYTES + 1];
    hex_encode(id, BLOB_ID_BYTES, hex);
    return s3store_confirmed(bs->s3, hex) ? s3store_lock(bs->s3, hex, until_s, hold) : FT_OK;
}

int blobstore_remove(blobstore_t *bs, const uint8_t id[BLOB_ID_BYTES])
{
    char path[4300], dir[4200];
    object_path(bs, id, path, sizeof path);
    object_dir(bs, id, dir, sizeof dir);
    if (bs->s3) {
        char hex[2 * BLOB_ID_BYTES + 1];
        hex_encode(id, BLOB_ID_BYTES, hex);
        bool remote = s3store_confirmed(bs->s3, hex);
        if (remote) {
            int err = s3store_remove(bs->s3, hex);
            if (err != FT_OK) {
                return err;
            }
        }
        if (unlink(path) != 0) {
            return errno == ENOENT ? (remote ? FT_OK : FT_ENOTFOUND) : FT_EIO;
        }
    } else if (unlink(path) != 0) {
        return errno == ENOENT ? FT_ENOTFOUND : FT_EIO;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    return FT_OK;
}

int blobstore_partial_received(const blobstore_t *bs, const uint8_t part_id[BLOB_PART_BYTES],
                               uint64_t *bytes)
{
    char path[4200];
    partial_path(bs, part_id, path, sizeof path);
    struct stat st;
    if (stat(path, &st) != 0) {
        *bytes = 0;
        return errno == ENOENT ? FT_ENOTFOUND : io_err();
    }
    uint64_t blocks = (uint64_t)st.st_blocks * 512;
    *bytes = blocks < (uint64_t)st.st_size ? blocks : (uint64_t)st.st_size;
    return FT_OK;
}
