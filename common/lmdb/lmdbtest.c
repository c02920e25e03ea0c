/* lmdbtest.c: see lmdbtest.h. Knows LMDB 0.9's page layout on a 64-bit
 * machine: a 16-byte header (pgno, pad, flags at 10, lower at 12), then the
 * node offsets; a branch node starts with its child's page number (low 16
 * bits, next 16 bits). The page size is in meta page 0 (offset 40). */
#include "lmdbtest.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define P_BRANCH 0x01
#define P_TYPE_MASK 0x0f

static uint16_t get16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

int lmdbtest_break_branches(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    uint8_t meta[64];
    struct stat st;
    if (pread(fd, meta, sizeof meta, 0) != (ssize_t)sizeof meta || fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    uint32_t psize;
    memcpy(&psize, meta + 40, sizeof psize);
    if (psize < 512 || psize > 65536) {
        close(fd);
        return -1;
    }
    uint8_t page[65536];
    int changed = 0;
    for (off_t off = 2 * (off_t)psize; off + (off_t)psize <= st.st_size; off += psize) {
        if (pread(fd, page, psize, off) != (ssize_t)psize) {
            close(fd);
            return -1;
        }
        uint16_t flags = get16(page + 10), lower = get16(page + 12);
        if ((flags & P_TYPE_MASK) != P_BRANCH || lower < 16 + 2 * 2 || lower > psize) {
            continue;
        }
        uint16_t node = get16(page + 16 + 2); /* the second child */
        if (node + 4u > psize) {
            continue;
        }
        memset(page + node, 0xff, 4); /* page 0xffffffff: past the end */
        if (pwrite(fd, page, psize, off) != (ssize_t)psize) {
            close(fd);
            return -1;
        }
        changed++;
    }
    if (fsync(fd) != 0) {
        changed = -1;
    }
    close(fd);
    return changed;
}
