/* mediacheck.c: the streaming content check's worker thread and the
 * completion pass (see mediacheck.h). One mutex guards the queue and every
 * file's counters; the worker decrypts and hashes outside it, on a slot that
 * stays counted (so no feeder reuses it) until the worker is done with it. */
#include "mediacheck.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct mcheck_file_t {
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    uint8_t key[MEDIA_KEY_BYTES];
    media_content_t content; /* the worker's, until mcheck_file_wait */
    uint32_t fed;            /* next index to feed (the feeder's) */
    uint32_t done;           /* leading chunks in content (under mu) */
    unsigned queued;         /* chunks in the queue (under mu) */
    bool failed;             /* a chunk did not decrypt (under mu) */
    bool spent;              /* mcheck_file_wait was called */
};

typedef struct {
    mcheck_file_t *f;
    uint32_t index;
    uint8_t *buf;
    size_t cap, len;
} slot_t;

struct mcheck_t {
    pthread_mutex_t mu;
    pthread_cond_t work; /* the worker waits for a chunk */
    pthread_cond_t done; /* feeders wait for room, waiters for a file */
    slot_t slots[MCHECK_DEPTH];
    size_t head, count; /* ring of queued chunks; head is the one in work */
    bool stop;
    pthread_t th;
    uint8_t *plain; /* the worker's scratch */
    size_t plain_cap;
};

static void check_one(mcheck_t *c, slot_t *s, bool skip)
{
    mcheck_file_t *f = s->f;
    bool ok = skip;
    if (!skip && s->len >= MEDIA_TAG_BYTES) {
        size_t plen = s->len - MEDIA_TAG_BYTES;
        if (c->plain_cap < plen) {
            uint8_t *g = realloc(c->plain, plen);
            if (g) {
                c->plain = g;
                c->plain_cap = plen;
            }
        }
        if (c->plain_cap >= plen &&
            media_chunk_decrypt(f->key, f->file_id, s->index, s->buf, s->len, c->plain) == FT_OK) {
            media_content_update(&f->content, c->plain, plen);
            ok = true;
        }
    }
    pthread_mutex_lock(&c->mu);
    if (!skip) {
        if (ok) {
            f->done = s->index + 1;
        } else {
            f->failed = true;
        }
    }
    f->queued--;
    s->f = NULL;
    c->head = (c->head + 1) % MCHECK_DEPTH;
    c->count--;
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->mu);
}

static void *worker(void *arg)
{
    mcheck_t *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (c->count == 0 && !c->stop) {
            pthread_cond_wait(&c->work, &c->mu);
        }
        if (c->count == 0) {
            break; /* stopping, and nothing is left */
        }
        slot_t *s = &c->slots[c->head];
        bool skip = s->f->failed;
        pthread_mutex_unlock(&c->mu);
        check_one(c, s, skip);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    if (c->plain) {
        sodium_memzero(c->plain, c->plain_cap);
    }
    return NULL;
}

int mcheck_start(mcheck_t **out)
{
    *out = NULL;
    mcheck_t *c = calloc(1, sizeof *c);
    if (!c) {
        return FT_ENOMEM;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->work, NULL);
    pthread_cond_init(&c->done, NULL);
    if (pthread_create(&c->th, NULL, worker, c) != 0) {
        pthread_cond_destroy(&c->done);
        pthread_cond_destroy(&c->work);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return FT_EIO;
    }
    *out = c;
    return FT_OK;
}

void mcheck_stop(mcheck_t **c_p)
{
    mcheck_t *c = *c_p;
    if (!c) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_broadcast(&c->work);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->th, NULL);
    for (size_t i = 0; i < MCHECK_DEPTH; i++) {
        if (c->slots[i].buf) {
            sodium_memzero(c->slots[i].buf, c->slots[i].cap);
        }
        free(c->slots[i].buf);
    }
    free(c->plain);
    pthread_cond_destroy(&c->done);
    pthread_cond_destroy(&c->work);
    pthread_mutex_destroy(&c->mu);
    free(c);
    *c_p = NULL;
}

mcheck_file_t *mcheck_file_new(const uint8_t file_id[MEDIA_FILE_ID_BYTES],
                               const uint8_t key[MEDIA_KEY_BYTES])
{
    mcheck_file_t *f = calloc(1, sizeof *f);
    if (!f) {
        return NULL;
    }
    memcpy(f->file_id, file_id, MEDIA_FILE_ID_BYTES);
    memcpy(f->key, key, MEDIA_KEY_BYTES);
    media_content_init(&f->content);
    return f;
}

/* Waits (mu held) until f has nothing queued. */
static void drain(mcheck_t *c, mcheck_file_t *f)
{
    while (f->queued > 0) {
        pthread_cond_wait(&c->done, &c->mu);
    }
}

void mcheck_file_free(mcheck_t *c, mcheck_file_t **f_p)
{
    mcheck_file_t *f = *f_p;
    if (!f) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    drain(c, f);
    pthread_mutex_unlock(&c->mu);
    sodium_memzero(f, sizeof *f);
    free(f);
    *f_p = NULL;
}

int mcheck_feed(mcheck_t *c, mcheck_file_t *f, uint32_t index, const uint8_t *ct, size_t len)
{
    if (f->spent || index != f->fed || len < MEDIA_TAG_BYTES) {
        return FT_EINVAL;
    }
    pthread_mutex_lock(&c->mu);
    while (c->count == MCHECK_DEPTH) {
        pthread_cond_wait(&c->done, &c->mu);
    }
    /* Not counted yet, so the worker does not look at it. */
    slot_t *s = &c->slots[(c->head + c->count) % MCHECK_DEPTH];
    if (s->cap < len) {
        uint8_t *g = realloc(s->buf, len);
        if (!g) {
            pthread_mutex_unlock(&c->mu);
            return FT_ENOMEM;
        }
        s->buf = g;
        s->cap = len;
    }
    memcpy(s->buf, ct, len);
    s->len = len;
    s->index = index;
    s->f = f;
    f->queued++;
    f->fed++;
    c->count++;
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->mu);
    return FT_OK;
}

uint32_t mcheck_file_wait(mcheck_t *c, mcheck_file_t *f, media_content_t *content)
{
    pthread_mutex_lock(&c->mu);
    drain(c, f);
    bool ok = !f->failed && !f->spent;
    uint32_t n = f->done;
    pthread_mutex_unlock(&c->mu);
    f->spent = true;
    if (!ok) {
        media_content_init(content);
        return 0;
    }
    *content = f->content;
    sodium_memzero(&f->content, sizeof f->content);
    return n;
}

/* ---- the completion pass --------------------------------------------------- */

static void verdict(mcheck_result_t *out, mcheck_verdict v, int err, uint32_t chunk)
{
    out->verdict = v;
    out->err = err;
    out->chunk = chunk;
}

void mcheck_complete(const mcheck_info_t *fi, media_content_t *content, uint32_t from,
                     mcheck_read_fn read_fn, void *read_ctx, uint8_t *plain, mcheck_result_t *out)
{
    uint8_t key[MEDIA_KEY_BYTES];
    if (media_key_unseal(fi->sealed, MEDIA_SEALED_KEY_BYTES, fi->archive_pk, fi->archive_sk, key) !=
        FT_OK) {
        verdict(out, MCHECK_NO_KEY, FT_EKEY, UINT32_MAX);
        return;
    }
    uint32_t slot = fi->chunk_size + MEDIA_TAG_BYTES;
    uint8_t *ct = malloc(slot);
    verdict(out, MCHECK_MATCH, FT_OK, UINT32_MAX);
    if (!ct) {
        verdict(out, MCHECK_LOCAL, FT_ENOMEM, UINT32_MAX);
    }
    for (uint32_t i = from; ct && out->verdict == MCHECK_MATCH && i < fi->n_chunks; i++) {
        uint32_t len = media_chunk_len(fi->size, fi->chunk_size, i) + MEDIA_TAG_BYTES;
        int err = read_fn(read_ctx, i, (uint64_t)i * slot, ct, len);
        if (err != FT_OK) {
            verdict(out, MCHECK_LOCAL, err, i);
            break;
        }
        if (media_chunk_decrypt(key, fi->file_id, i, ct, len, plain) != FT_OK) {
            /* Evidence only if these are still the bytes the device signed. */
            uint8_t h[MEDIA_HASH_BYTES];
            media_chunk_hash(fi->file_id, i, ct, len, h);
            bool signed_bytes = sodium_memcmp(h, fi->hashes[i], MEDIA_HASH_BYTES) == 0;
            verdict(out, signed_bytes ? MCHECK_MISMATCH : MCHECK_LOCAL,
                    signed_bytes ? FT_ECRYPTO : FT_EIO, i);
            break;
        }
        media_content_update(content, plain, len - MEDIA_TAG_BYTES);
    }
    uint8_t chash[MEDIA_HASH_BYTES];
    media_content_final(content, chash);
    if (out->verdict == MCHECK_MATCH &&
        sodium_memcmp(chash, fi->content_hash, MEDIA_HASH_BYTES) != 0) {
        verdict(out, MCHECK_MISMATCH, FT_ECORRUPT, UINT32_MAX);
    }
    sodium_memzero(key, sizeof key);
    sodium_memzero(plain, fi->chunk_size);
    free(ct);
}
