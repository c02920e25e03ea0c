/* fsutil.h: crash-safe file helpers for files kept outside LMDB (keys, config,
 * blobs).
 *
 * fsutil_write_atomic writes to a temporary file in the same directory,
 * fsyncs it, renames it over the target and fsyncs the directory, so a crash
 * leaves either the old or the new content, never a torn file.
 */
#ifndef FT_FSUTIL_H
#define FT_FSUTIL_H

#include "error.h"

#include <stddef.h>
#include <sys/types.h>

/* Writes data to path atomically with the given mode. FT_OK, FT_EIO or FT_EFULL. */
int fsutil_write_atomic(const char *path, const void *data, size_t len, mode_t mode) FT_MUST_CHECK;
/* Reads a whole file into a new NUL-terminated buffer (caller frees).
 * FT_OK, FT_ENOTFOUND, FT_EIO, FT_ENOMEM. */
int fsutil_read_all(const char *path, char **data, size_t *len) FT_MUST_CHECK;
/* mkdir -p with mode for created directories. Each directory it creates is
 * durable when it returns: the parent's entry is fsynced (on XFS or btrfs a
 * crash can otherwise lose a new directory and what was renamed into it),
 * and one whose parent cannot be synced is removed again. FT_OK, FT_EIO,
 * FT_EFULL, FT_ENOTFOUND (a parent it may not make) or FT_EINVAL (too long). */
int fsutil_mkdirs(const char *path, mode_t mode) FT_MUST_CHECK;
/* Joins dir and name into buf; FT_EINVAL if it does not fit. */
int fsutil_join(char *buf, size_t buflen, const char *dir, const char *name) FT_MUST_CHECK;
/* True if path exists. */
int fsutil_exists(const char *path);

#endif
