/* blobstore.h: the hub's media blob store behind a small interface
 * (docs/architecture.md "Media": a directory tree by default; shared or object storage later).
 *
 * A blob is named by a 32-byte ID that is a hash of its bytes (the hub uses
 * a media file's Merkle root over its encrypted chunks, so a blob can be
 * checked against the signed manifest). Blobs are written through a
 * "partial" staged under the file's own 16-byte ID: written at any offset in
 * any order (resumable), synced, then published atomically under its blob ID.
 *
 * Directory layout (root = STATE/blobs):
 *   partial/<file id hex>           being received
 *   objects/<ab>/<cd>/<blob id hex> published, read-only (0400)
 * Crash safety: a partial's bytes count only after blobstore_partial_sync;
 * blobstore_publish fsyncs the file, makes its directories with
 * fsutil_mkdirs (which fsyncs the parent of every directory it creates: on
 * XFS or btrfs a crash could otherwise lose objects/ab/cd with the blob in
 * it), renames it into place and fsyncs both directories, so a crash leaves
 * the blob either absent or whole -- and once publish returned, present: the
 * hub signs the receipt that lets the edge delete its copy only after.
 */
#ifndef FT_HUB_BLOBSTORE_H
#define FT_HUB_BLOBSTORE_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLOB_ID_BYTES 32
#define BLOB_PART_BYTES 16

typedef struct blobstore_t blobstore_t;
typedef struct blob_partial_t blob_partial_t;

/* Opens (creating) a directory blob store. FT_OK, FT_EIO, FT_ENOMEM. */
int blobstore_open(const char *root, blobstore_t **out) FT_MUST_CHECK;
void blobstore_destroy(blobstore_t **bs_p);

/* Opens or creates the partial of part_id. */
int blobstore_partial_open(blobstore_t *bs, const uint8_t part_id[BLOB_PART_BYTES],
                           blob_partial_t **out) FT_MUST_CHECK;
/* Writes len bytes at off. FT_OK, FT_EIO, FT_EFULL. */
int blobstore_partial_write(blob_partial_t *p, uint64_t off, const void *data,
                            size_t len) FT_MUST_CHECK;
/* Reads len bytes at off (for verification before publishing). */
int blobstore_partial_read(blob_partial_t *p, uint64_t off, void *data, size_t len) FT_MUST_CHECK;
/* Makes every write so far durable. */
int blobstore_partial_sync(blob_partial_t *p) FT_MUST_CHECK;
/* The partial's current size in bytes (its highest written byte + 1). */
int blobstore_partial_size(blob_partial_t *p, uint64_t *size) FT_MUST_CHECK;
/* Publishes the partial as blob id (truncated to size) and closes it;
 * NULLs *p_p. An existing blob with that ID is kept (same bytes). On an
 * error (FT_EFULL, FT_EIO) *p_p stays open and readable and the call can be
 * repeated: nothing is published until the bytes are durable and renamed
 * into place, so a failure never leaves a partial blob as if complete. */
int blobstore_publish(blobstore_t *bs, blob_partial_t **p_p, uint64_t size,
                      const uint8_t id[BLOB_ID_BYTES]) FT_MUST_CHECK;
/* Closes a partial without publishing; safe on NULL. */
void blobstore_partial_close(blob_partial_t **p_p);
/* Removes a partial (e.g. a file that failed verification). */
int blobstore_partial_remove(blobstore_t *bs, const uint8_t part_id[BLOB_PART_BYTES]) FT_MUST_CHECK;

/* True if blob id is published. */
bool blobstore_has(blobstore_t *bs, const uint8_t id[BLOB_ID_BYTES]);
/* Opens a published blob for reading; returns a file descriptor (caller
 * closes) or a negative ft_err. */
int blobstore_open_read(blobstore_t *bs, const uint8_t id[BLOB_ID_BYTES]);
/* Removes a published blob (the retention job, hub/retention/retention.c) and syncs
 * its directory. FT_OK, FT_ENOTFOUND, FT_EIO. */
int blobstore_remove(blobstore_t *bs, const uint8_t id[BLOB_ID_BYTES]) FT_MUST_CHECK;

#endif
