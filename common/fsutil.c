/* fsutil.c: temp + fsync + rename + fsync(dir) writes, whole-file reads,
 * directories made durable with their parents. */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int errno_to_ft(int e)
{
    if (e == ENOSPC || e == EDQUOT) {
        return FT_EFULL;
    }
    if (e == ENOENT) {
        return FT_ENOTFOUND;
    }
    if (e == ENOMEM) {
        return FT_ENOMEM;
    }
    return FT_EIO;
}

static int fsync_parent(const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        return FT_EIO;
    }
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? FT_OK : FT_EIO;
}

int fsutil_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= sizeof tmp) {
        return FT_EINVAL;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) {
        return errno_to_ft(errno);
    }
    int err = FT_OK;
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            err = errno_to_ft(errno);
            goto fail;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
        err = errno_to_ft(errno);
        goto fail;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) != 0) {
        err = errno_to_ft(errno);
        goto fail;
    }
    return fsync_parent(path);
fail:
    if (fd >= 0) {
        close(fd);
    }
    unlink(tmp);
    return err;
}

int fsutil_read_all(const char *path, char **data, size_t *len)
{
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        return errno_to_ft(errno);
    }
    size_t cap = 4096, used = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return FT_ENOMEM;
    }
    for (;;) {
        if (used + 1 >= cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                fclose(f);
                return FT_ENOMEM;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t n = fread(buf + used, 1, cap - used - 1, f);
        used += n;
        if (n == 0) {
            break;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return FT_EIO;
    }
    buf[used] = '\0';
    *data = buf;
    if (len) {
        *len = used;
    }
    return FT_OK;
}

/* Makes directory dir (a prefix of a path, no trailing slash) if it is not
 * there; a new one is made durable: its parent is fsynced, or it is removed
 * again so that the next call makes and syncs it. */
static int mkdir_durable(const char *dir, mode_t mode)
{
    if (mkdir(dir, mode) != 0) {
        return errno == EEXIST ? FT_OK : errno_to_ft(errno);
    }
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (!slash) {
        snprintf(parent, sizeof parent, ".");
    } else if (slash == parent) {
        parent[1] = '\0'; /* "/" */
    } else {
        *slash = '\0';
    }
    int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int err = fd < 0 ? errno_to_ft(errno) : FT_OK;
    if (fd >= 0 && fsync(fd) != 0) {
        err = errno_to_ft(errno);
    }
    if (fd >= 0) {
        close(fd);
    }
    if (err != FT_OK) {
        (void)rmdir(dir);
        return err == FT_ENOTFOUND ? FT_EIO : err;
    }
    return FT_OK;
}

int fsutil_mkdirs(const char *path, mode_t mode)
{
    char buf[4096];
    if ((size_t)snprintf(buf, sizeof buf, "%s", path) >= sizeof buf) {
        return FT_EINVAL;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/' && p[-1] != '/') {
            *p = '\0';
            int err = mkdir_durable(buf, mode);
            if (err != FT_OK) {
                return err;
            }
            *p = '/';
        }
    }
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/') {
        buf[--n] = '\0';
    }
    return mkdir_durable(buf, mode);
}

int fsutil_join(char *buf, size_t buflen, const char *dir, const char *name)
{
    int n = snprintf(buf, buflen, "%s/%s", dir, name);
    return (n < 0 || (size_t)n >= buflen) ? FT_EINVAL : FT_OK;
}

int fsutil_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}
