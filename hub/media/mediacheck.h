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
 *
 * The completion pass (mcheck_complete) finishes the check and says what its
 * outcome means: only evidence against the edge's signed data is a
 * mismatch. Every stored chunk was checked against the manifest's signed
 * chunk hash on arrival, so:
 *   - the sealed file key does not open with the hub's archive key: NO_KEY,
 *     a fault of keys (the hub's key file, or the archive key the edge was
 *     given), not of the content;
 *   - a chunk cannot be read back, memory runs out, or a chunk read back no
 *     longer matches its signed hash (the hub's own storage changed it):
 *     LOCAL, the hub could not check;
 *   - a chunk that still matches its signed hash does not decrypt under the
 *     file key, or the plaintext's hash is not the signed content hash:
 *     MISMATCH, what the device signed does not hold together;
 *   - otherwise MATCH.
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

/* What the completion pass concluded (see the top). */
typedef enum {
    MCHECK_MATCH = 1,
    MCHECK_MISMATCH = 2, /* err: FT_ECRYPTO (a chunk), FT_ECORRUPT (the content hash) */
    MCHECK_NO_KEY = 3,   /* err: FT_EKEY */
    MCHECK_LOCAL = 4,    /* err: the read's error, FT_ENOMEM, FT_EIO (changed since checked) */
} mcheck_verdict;

typedef struct {
    mcheck_verdict verdict;
    int err;        /* FT_OK for MATCH, else as above */
    uint32_t chunk; /* the chunk concerned; UINT32_MAX for none */
} mcheck_result_t;

/* One file as its signed manifest describes it. */
typedef struct {
    const uint8_t *file_id;                    /* MEDIA_FILE_ID_BYTES */
    uint64_t size;                             /* plaintext bytes */
    uint32_t chunk_size, n_chunks;             /* plaintext bytes per chunk, chunks */
    const uint8_t (*hashes)[MEDIA_HASH_BYTES]; /* the signed chunk hashes */
    const uint8_t *content_hash;               /* the signed content hash */
    const uint8_t *sealed;                     /* MEDIA_SEALED_KEY_BYTES */
    const uint8_t *archive_pk, *archive_sk;    /* the hub's archive key */
} mcheck_info_t;

/* Reads the stored bytes of chunk index (ciphertext and tag, len bytes, at
 * offset off of the file's blob) into buf. FT_OK or the error. */
typedef int (*mcheck_read_fn)(void *ctx, uint32_t index, uint64_t off, uint8_t *buf, size_t len);

/* Finishes the content check of a file whose chunks are all stored: content
 * covers chunks [0, from) already (mcheck_file_wait; 0: freshly
 * initialised), the others are read with read_fn, decrypted into plain
 * (chunk_size bytes, wiped after) and hashed. Never fails: the outcome is in
 * *out. */
void mcheck_complete(const mcheck_info_t *fi, media_content_t *content, uint32_t from,
                     mcheck_read_fn read_fn, void *read_ctx, uint8_t *plain, mcheck_result_t *out);

#endif
