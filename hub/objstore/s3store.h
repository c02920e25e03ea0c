/* s3store.h: the S3 side of the blob store (hub/media/blobstore.c): the
 * durable upload queue, the thread that empties it into the bucket, what
 * the bucket is known to hold, and the read cache.
 *
 * Keys are content addresses: PREFIX + the blob ID in hex (the Merkle root
 * over the file's encrypted chunks, which the signed manifest names).
 *
 * Files under DIR (= STATE/blobs, beside the directory store's objects/):
 *   s3/queue/<hex>   waiting for the store: the local copy's path, size, part
 *                    size and each part's SHA-256 and MD5, computed when the
 *                    blob was published (right after the hub checked it)
 *   s3/stored/<hex>  the store confirmed it (holds the version ID, if any)
 *   s3/cache/<hex>   copies fetched for reading (bounded, oldest dropped)
 *   s3/upload.status the uploader's state for `status` (JSON, rewritten)
 * State machine of a blob: (published locally) -> s3store_enqueue -> queued
 *   -> the uploader: PUT (or multipart) with If-None-Match: *, the recorded
 *   x-amz-content-sha256 and Content-MD5 -> stored (confirmed; the local
 *   copy moves to the cache). A store that is down or slow: the blob stays
 *   queued and is tried again with back-off (1 s doubling to 60 s). A store
 *   that refuses the bytes (BadDigest, XAmzContentSHA256Mismatch: the local
 *   copy changed since the check) is logged as such, counted in the status,
 *   and tried again at the longest back-off; it is never confirmed.
 * Nothing is confirmed that the store did not acknowledge with a 2xx (or a
 * HEAD that finds the key with the same size), so the receipt that lets an
 * edge delete its copy (hub/media/mediapull.c) waits for s3store_confirmed.
 */
#ifndef FT_S3STORE_H
#define FT_S3STORE_H

#include "error.h"
#include "s3.h"

#include <stdbool.h>
#include <stdint.h>

#define S3STORE_HEX 65

typedef struct {
    s3_conf_t s3;
    const char *prefix;       /* key prefix, e.g. "media/" */
    uint64_t multipart_bytes; /* blobs at least this big go up in parts */
    uint64_t part_bytes;      /* part size (S3: at least 5 MiB) */
    uint32_t lock_days;       /* Object Lock COMPLIANCE for this long at upload (0: none) */
    uint64_t cache_bytes;     /* bound of s3/cache */
} s3store_conf_t;

typedef struct s3store_t s3store_t;

/* Opens the S3 side under dir. FT_OK, FT_EIO, FT_ENOMEM, FT_EINVAL. */
int s3store_open(const s3store_conf_t *c, const char *dir, s3store_t **out) FT_MUST_CHECK;
/* Starts the upload thread; on_confirm(arg) is called (from that thread)
 * whenever a blob was confirmed. Asks the bucket whether it has Object Lock. */
int s3store_start(s3store_t *s, void (*on_confirm)(void *), void *arg) FT_MUST_CHECK;
/* Stops the thread (if started) and frees; safe on NULL. */
void s3store_destroy(s3store_t **s_p);

/* Queues the blob hex whose local copy is path (digests computed now).
 * Durable when it returns. FT_OK, FT_EIO, FT_EFULL. */
int s3store_enqueue(s3store_t *s, const char *hex, const char *path) FT_MUST_CHECK;
/* True once the store confirmed hex. */
bool s3store_confirmed(s3store_t *s, const char *hex);
/* True while hex waits in the queue. */
bool s3store_queued(s3store_t *s, const char *hex);
/* A readable descriptor of hex from the cache, fetched from the store if
 * needed; or a negative ft_err (FT_ENOTFOUND, FT_EAGAIN, FT_EIO). */
int s3store_open_read(s3store_t *s, const char *hex);
/* Deletes hex from the store (its version, when known) and forgets it. */
int s3store_remove(s3store_t *s, const char *hex) FT_MUST_CHECK;
/* Object Lock on hex: COMPLIANCE retention extended to until_s (0: leave)
 * and the legal hold set (hold < 0: leave). FT_OK also when the bucket has
 * no Object Lock (nothing to do). */
int s3store_lock(s3store_t *s, const char *hex, int64_t until_s, int hold) FT_MUST_CHECK;
/* The uploader's state as last written (caller frees), or NULL. */
char *s3store_status_read(const char *dir);

#endif
