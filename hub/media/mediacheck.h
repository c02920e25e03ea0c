/* mediacheck.h: the content check of media files as their chunks arrive, in
 * a worker thread of its own (docs/media.md "Hub").
 *
 * The puller (hub/media/mediapull.c) checks each chunk against the manifest's hash
 * and stores it; the content check -- decrypt with the file key, feed the
 * plaintext to the content hash -- then runs here, beside it on another core,
 * instead of as a second pass over the whole file once its last chunk is in.
 * A file's chunks must be fed in index order from 0; the puller feeds what
 * arrives in order and leaves the rest to its completion pass, which starts
 * where this check stopped (mcheck_file_wait).
 *
 * The queue is bounded (MCHECK_DEPTH chunks): mcheck_feed blocks while it is
 * full, so the check never falls more than a few chunks behind and its memory
 * stays a few chunks. Each chunk is copied in (the caller's buffer is free
 * when mcheck_feed returns).
 */
#ifndef FT_MEDIACHECK_H
#define FT_MEDIACHECK_H

#include "error.h"
#include "media.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Chunks queued at most (all files together): 16 MiB at the default chunk
 * size. Room for a burst: with 4, the puller waited on the check often
 * enough to cost about 6 % of a 1 GiB transfer's time on two cores. */
#define MCHECK_DEPTH 16

typedef struct mcheck_t mcheck_t;
typedef struct mcheck_file_t mcheck_file_t;

/* Starts the worker. FT_OK, FT_ENOMEM, FT_EIO (no thread). */
int mcheck_start(mcheck_t **out) FT_MUST_CHECK;
/* Waits for the queued chunks, stops the worker, frees. Safe on NULL. Files
 * must have been freed first. */
void mcheck_stop(mcheck_t **c_p);

/* A file to check: its ID and key (copied; wiped by mcheck_file_free). NULL
 * when out of memory. */
mcheck_file_t *mcheck_file_new(const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                               const uint8_t key[MEDIA_KEY_BYTES]);
/* Waits until none of f's chunks is queued, then frees f and wipes its key
 * and hash state. Safe on NULL. */
void mcheck_file_free(mcheck_t *c, mcheck_file_t **f_p);

/* Queues chunk index of f: its stored bytes (ciphertext and tag, len >=
 * MEDIA_TAG_BYTES), already checked against the manifest. index must be the
 * next after the one fed before (0 first). Blocks while the queue is full.
 * FT_OK, FT_EINVAL (out of order), FT_ENOMEM. */
int mcheck_feed(mcheck_t *c, mcheck_file_t *f, uint32_t index, const uint8_t *ct,
                size_t len) FT_MUST_CHECK;

/* Waits until none of f's chunks is queued, then moves f's content hash state
 * to *content and returns the number of leading chunks it covers; f is spent
 * (feed no more). Returns 0 (content freshly initialised) when a chunk did
 * not decrypt: the caller's full pass then finds and reports it. */
uint32_t mcheck_file_wait(mcheck_t *c, mcheck_file_t *f, media_content_t *content);

#endif
