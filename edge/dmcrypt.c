/* dmcrypt.c: finding dm-crypt under a directory (see dmcrypt.h). */
#include "dmcrypt.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define MAX_DEPTH 8 /* device stacks are a few levels deep; sysfs has no cycles */

/* Reads the first line of dir/name into buf; false if there is none. */
static bool read_line(const char *dir, const char *name, char *buf, size_t n)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
        return false;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        return false;
    }
    bool ok = fgets(buf, (int)n, f) != NULL;
    fclose(f);
    if (ok) {
        buf[strcspn(buf, "\n")] = '\0';
    }
    return ok;
}

static void base_name(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t len = strnlen(b, n - 1);
    memcpy(out, b, len);
    out[len] = '\0';
}

/* Looks for dm-crypt at the sysfs device directory dev (a real path) and
 * below it; fills out->crypt and returns true when found. */
static bool find_crypt(const char *dev, int depth, dmcrypt_t *out)
{
    if (depth > MAX_DEPTH) {
        return false;
    }
    char uuid[256];
    if (read_line(dev, "dm/uuid", uuid, sizeof uuid) && strncmp(uuid, "CRYPT-", 6) == 0) {
        base_name(dev, out->crypt, sizeof out->crypt);
        return true;
    }
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/slaves", dev) < sizeof path) {
        DIR *d = opendir(path);
        if (d) {
            bool found = false;
            struct dirent *de;
            for (de = readdir(d); de && !found; de = readdir(d)) {
                if (de->d_name[0] == '.') {
                    continue;
                }
                char slave[PATH_MAX], real[PATH_MAX];
                if ((size_t)snprintf(slave, sizeof slave, "%s/%s", path, de->d_name) <
                        sizeof slave &&
                    realpath(slave, real)) {
                    found = find_crypt(real, depth + 1, out);
                }
            }
            closedir(d);
            if (found) {
                return true;
            }
        }
    }
    /* A partition: the disk it is on (its parent directory) may be dm-crypt. */
    char part[32];
    if (read_line(dev, "partition", part, sizeof part)) {
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s", dev);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
            *slash = '\0';
            return find_crypt(parent, depth + 1, out);
        }
    }
    return false;
}

int dmcrypt_check_dev(const char *sysfs_root, unsigned maj, unsigned min, dmcrypt_t *out)
{
    memset(out, 0, sizeof *out);
    char link[PATH_MAX], real[PATH_MAX];
    if ((size_t)snprintf(link, sizeof link, "%s/dev/block/%u:%u", sysfs_root, maj, min) >=
        sizeof link) {
        return FT_EINVAL;
    }
    if (!realpath(link, real)) {
        out->state = DMCRYPT_UNKNOWN;
        struct stat st;
        char blocks[PATH_MAX];
        snprintf(blocks, sizeof blocks, "%s/dev/block", sysfs_root);
        if (stat(blocks, &st) != 0) {
            snprintf(out->why, sizeof out->why, "%s/dev/block cannot be read (no sysfs here)",
                     sysfs_root);
        } else if (maj == 0) {
            snprintf(out->why, sizeof out->why,
                     "its file system is not on a block device (tmpfs, overlay, a btrfs "
                     "subvolume or a network file system)");
        } else {
            snprintf(out->why, sizeof out->why, "device %u:%u is not in %s/dev/block", maj, min,
                     sysfs_root);
        }
        return FT_OK;
    }
    base_name(real, out->device, sizeof out->device);
    out->state = find_crypt(real, 0, out) ? DMCRYPT_ENCRYPTED : DMCRYPT_PLAIN;
    return FT_OK;
}

int dmcrypt_check(const char *sysfs_root, const char *path, dmcrypt_t *out)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(path, &st) != 0) {
        return FT_ENOTFOUND;
    }
    return dmcrypt_check_dev(sysfs_root, major(st.st_dev), minor(st.st_dev), out);
}
