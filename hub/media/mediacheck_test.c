/* mediacheck_test.c: the streaming content check's worker thread -- chunks
 * fed in order are decrypted and hashed; a bad chunk voids the file's check;
 * out-of-order feeds are refused; files share the bounded queue -- and the
 * completion pass's verdicts: only what the device signed not holding
 * together is a mismatch; a file key that does not open with the hub's
 * archive key, a chunk that cannot be read back, or one the hub's storage
 * changed since it was checked, are not. */
#include "mediacheck.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

/* A small chunk size so that a file of several chunks stays small. */
#define CS MEDIA_CHUNK_MIN

/* A random plaintext file cut into chunks and encrypted, as an edge stores
 * it. */
typedef struct {
    uint8_t id[MEDIA_FILE_ID_BYTES];
    uint8_t key[MEDIA_KEY_BYTES];
    uint8_t *plain;
    size_t size;
    uint32_t cs, n;
    uint8_t **ct;
    size_t *ct_len;
} mfile_t;

static void mfile_make(mfile_t *m, size_t size, uint32_t cs)
{
    memset(m, 0, sizeof *m);
    media_file_id_new(m->id);
    media_key_new(m->key);
    m->size = size;
    m->cs = cs;
    m->n = media_chunk_count(size, cs);
    m->plain = malloc(size ? size : 1);
    assert_non_null(m->plain);
    randombytes_buf(m->plain, size);
    m->ct = calloc(m->n, sizeof *m->ct);
    m->ct_len = calloc(m->n, sizeof *m->ct_len);
    assert_non_null(m->ct);
    assert_non_null(m->ct_len);
    for (uint32_t i = 0; i < m->n; i++) {
        size_t len = media_chunk_len(size, cs, i);
        m->ct_len[i] = len + MEDIA_TAG_BYTES;
        m->ct[i] = malloc(m->ct_len[i]);
        assert_non_null(m->ct[i]);
        assert_int_equal(
            media_chunk_encrypt(m->key, m->id, i, m->plain + (size_t)i * cs, len, m->ct[i]), FT_OK);
    }
}

static void mfile_free(mfile_t *m)
{
    for (uint32_t i = 0; i < m->n; i++) {
        free(m->ct[i]);
    }
    free(m->ct);
    free(m->ct_len);
    free(m->plain);
    memset(m, 0, sizeof *m);
}

static mcheck_file_t *mfile_check(const mfile_t *m)
{
    mcheck_file_t *f = mcheck_file_new(m->id, m->key);
    assert_non_null(f);
    return f;
}

/* Feeds chunks [from, to) of m in order; each must be accepted. */
static void feed_range(mcheck_t *c, mcheck_file_t *f, const mfile_t *m, uint32_t from, uint32_t to)
{
    for (uint32_t i = from; i < to; i++) {
        assert_int_equal(mcheck_feed(c, f, i, m->ct[i], m->ct_len[i]), FT_OK);
    }
}

/* Finalises content and checks it is SHA-256 of data. */
static void assert_content_is(media_content_t *content, const uint8_t *data, size_t len)
{
    uint8_t got[MEDIA_HASH_BYTES], want[crypto_hash_sha256_BYTES];
    media_content_final(content, got);
    crypto_hash_sha256(want, data, len);
    assert_memory_equal(got, want, MEDIA_HASH_BYTES);
}

static void a_whole_file_fed_in_order_hashes_to_its_plaintext_sha256(void **state)
{
    (void)state;
    mfile_t m;
    mfile_make(&m, 5 * (size_t)CS + CS / 2 + 7, CS);
    assert_int_equal(m.n, 6);
    mcheck_t *c = NULL;
    assert_int_equal(mcheck_start(&c), FT_OK);
    assert_non_null(c);
    mcheck_file_t *f = mfile_check(&m);
    feed_range(c, f, &m, 0, m.n);
    media_content_t content;
    assert_int_equal(mcheck_file_wait(c, f, &content), m.n);
    assert_content_is(&content, m.plain, m.size);
    mcheck_file_free(c, &f);
    assert_null(f);
    mcheck_stop(&c);
    assert_null(c);
    mfile_free(&m);
}

static void small_files_at_chunk_boundaries_hash_right(void **state)
{
    (void)state;
    mcheck_t *c = NULL;
    assert_int_equal(mcheck_start(&c), FT_OK);
    /* Size 0: one chunk of 0 plaintext bytes (stored: the tag alone). */
    static const size_t sizes[] = {0, 1, CS, CS + 1};
    static const uint32_t chunks[] = {1, 1, 1, 2};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        mfile_t m;
        mfile_make(&m, sizes[k], CS);
        assert_int_equal(m.n, chunks[k]);
        mcheck_file_t *f = mfile_check(&m);
        feed_range(c, f, &m, 0, m.n);
        media_content_t content;
        assert_int_equal(mcheck_file_wait(c, f, &content), m.n);
        assert_content_is(&content, m.plain, m.size);
        mcheck_file_free(c, &f);
        mfile_free(&m);
    }
    mcheck_stop(&c);
}

static void a_prefix_fed_covers_k_chunks_and_the_rest_completes_the_hash(void **state)
{
    (void)state;
    mfile_t m;
    mfile_make(&m, 5 * (size_t)CS + CS / 2 + 7, CS);
    mcheck_t *c = NULL;
    assert_int_equal(mcheck_start(&c), FT_OK);
    /* Every prefix, from none to all. */
    for (uint32_t k = 0; k <= m.n; k++) {
        mcheck_file_t *f = mfile_check(&m);
        feed_range(c, f, &m, 0, k);
        media_content_t content;
        assert_int_equal(mcheck_file_wait(c, f, &content), k);
        /* The completion pass: the puller hashes what the check did not. */
        size_t off = k < m.n ? (size_t)k * m.cs : m.size;
        media_content_update(&content, m.plain + off, m.size - off);
        assert_content_is(&content, m.plain, m.size);
        mcheck_file_free(c, &f);
    }
    mcheck_stop(&c);
    mfile_free(&m);
}

/* Feeds all of m in order with ct/len in place of chunk bad; expects the
 * check to cover nothing and hand back a fresh content state. */
static void expect_void_check(mcheck_t *c, mfile_t *m, uint32_t bad, uint8_t *ct, size_t len)
{
    mcheck_file_t *f = mfile_check(m);
    feed_range(c, f, m, 0, bad);
    assert_int_equal(mcheck_feed(c, f, bad, ct, len), FT_OK);
    feed_range(c, f, m, bad + 1, m->n);
    media_content_t content;
    assert_int_equal(mcheck_file_wait(c, f, &content), 0);
    /* Freshly initialised: finalising gives SHA-256 of nothing, ... */
    media_content_t copy = content;
    assert_content_is(&copy, NULL, 0);
    /* ... and the caller's full pass can hash the whole file into it. */
    media_content_update(&content, m->plain, m->size);
    assert_content_is(&content, m->plain, m->size);
    mcheck_file_free(c, &f);
}

static void a_chunk_that_does_not_decrypt_voids_the_check(void **state)
{
    (void)state;
    mfile_t m;
    mfile_make(&m, 5 * (size_t)CS + CS / 2 + 7, CS);
    mcheck_t *c = NULL;
    assert_int_equal(mcheck_start(&c), FT_OK);
    uint8_t *bad = malloc(CS + MEDIA_TAG_BYTES);
    assert_non_null(bad);
    /* A flipped ciphertext byte: first, middle, last chunk. */
    static const uint32_t where[] = {0, 2, 5};
    for (size_t k = 0; k < sizeof where / sizeof where[0]; k++) {
        uint32_t i = where[k];
        memcpy(bad, m.ct[i], m.ct_len[i]);
        bad[m.ct_len[i] / 3] ^= 0x40;
        expect_void_check(c, &m, i, bad, m.ct_len[i]);
    }
    /* A flipped tag byte. */
    memcpy(bad, m.ct[3], m.ct_len[3]);
    bad[m.ct_len[3] - 1] ^= 0x01;
    expect_void_check(c, &m, 3, bad, m.ct_len[3]);
    /* A truncated chunk (still >= the tag). */
    expect_void_check(c, &m, 1, m.ct[1], m.ct_len[1] - 1);
    /* Another chunk of the same file in its place (wrong position). */
    expect_void_check(c, &m, 1, m.ct[2], m.ct_len[2]);
    /* The same chunk of another file (wrong key and ID). */
    mfile_t o;
    mfile_make(&o, m.size, CS);
    expect_void_check(c, &m, 4, o.ct[4], o.ct_len[4]);
    mfile_free(&o);
    /* The worker goes on: an intact file still checks after all that. */
    mcheck_file_t *f = mfile_check(&m);
    feed_range(c, f, &m, 0, m.n);
    media_content_t content;
    assert_int_equal(mcheck_file_wait(c, f, &content), m.n);
    assert_content_is(&content, m.plain, m.size);
    mcheck_file_free(c, &f);
    free(bad);
    mcheck_stop(&c);
    mfile_free(&m);
}

static void out_of_order_short_and_late_feeds_are_refused(void **state)
{
    (void)state;
    mfile_t m;
    mfile_make(&m, 3 * (size_t)CS + 100, CS);
    mcheck_t *c = NULL;
    assert_int_equal(mcheck_start(&c), FT_OK);
    mcheck_file_t *f = mfile_check(&m);
    /* Index 1 before 0. */
    assert_int_equal(mcheck_feed(c, f, 1, m.ct[1], m.ct_len[1]), FT_EINVAL);
    assert_int_equal(mcheck_feed(c, f, 0, m.ct[0], m.ct_len[0]), FT_OK);
    /* Index 0 again, a gap, and going back. */
    assert_int_equal(mcheck_feed(c, f, 0, m.ct[0], m.ct_len[0]), FT_EINVAL);
    assert_int_equal(mcheck_feed(c, f, 2, m.ct[2], m.ct_len[2]), FT_EINVAL);
    assert_int_equal(mcheck_feed(c, f, UINT32_MAX, m.ct[1], m.ct_len[1]), FT_EINVAL);
    assert_int_equal(mcheck_feed(c, f, 1, m.ct[1], m.ct_len[1]), FT_OK);
    assert_int_equal(mcheck_feed(c, f, 1, m.ct[1], m.ct_len[1]), FT_EINVAL);
    /* Shorter than a tag: refused, and the index is still free. */
    assert_int_equal(mcheck_feed(c, f, 2, m.ct[2], MEDIA_TAG_BYTES - 1), FT_EINVAL);
    assert_int_equal(mcheck_feed(c, f, 2, m.ct[2], 0), FT_EINVAL);
    assert_int_equal(mcheck_feed(c, f, 2, m.ct[2], m.ct_len[2]), FT_OK);
    /* The refused feeds left no trace: three chunks, hashed right. */
    media_content_t content;
    assert_int_equal(mcheck_file_wait(c, f, &content), 3);
    media_content_update(&content, m.plain + 3 * (size_t)CS, m.size - 3 * (size_t)CS);
    assert_content_is(&content, m.plain, m.size);
    /* Spent: no more feeds, not even the next index. */
    assert_int_equal(mcheck_feed(c, f, 3, m.ct[3], m.ct_len[3]), FT_EINVAL);
    mcheck_file_free(c, &f);

    /* Waited on before any feed: spent too. */
    f = mfile_check(&m);
    assert_int_equal(mcheck_file_wait(c, f, &content), 0);
    assert_content_is(&content, NULL, 0);
    assert_int_equal(mcheck_feed(c, f, 0, m.ct[0], m.ct_len[0]), FT_EINVAL);
    mcheck_file_free(c, &f);
    mcheck_stop(&c);
    mfile_free(&m);
}

static void interleaved_files_share_the_bounded_queue(void **state)
{
    (void)state;
    /* Different chunk sizes, so the queue's buffers and the worker's scratch
     * grow while other chunks are queued; each file alone overfills the
     * queue several times. */
    mfile_t a, b;
    mfile_make(&a, (3 * MCHECK_DEPTH + 1) * (size_t)CS + 12345, CS);
    mfile_make(&b, (MCHECK_DEPTH + 3) * (size_t)100000 + 1, 100000);
    assert_true(a.n > 3 * MCHECK_DEPTH);
    assert_true(b.n > MCHECK_DEPTH);
    mcheck_t *c = NULL;
    assert_int_equal(mcheck_start(&c), FT_OK);
    mcheck_file_t *fa = mfile_check(&a), *fb = mfile_check(&b);
    uint32_t most = a.n > b.n ? a.n : b.n;
    for (uint32_t i = 0; i < most; i++) {
        if (i < a.n) {
            assert_int_equal(mcheck_feed(c, fa, i, a.ct[i], a.ct_len[i]), FT_OK);
        }
        if (i < b.n) {
            assert_int_equal(mcheck_feed(c, fb, i, b.ct[i], b.ct_len[i]), FT_OK);
        }
    }
    media_content_t ca, cb;
    assert_int_equal(mcheck_file_wait(c, fb, &cb), b.n);
    assert_int_equal(mcheck_file_wait(c, fa, &ca), a.n);
    assert_content_is(&ca, a.plain, a.size);
    assert_content_is(&cb, b.plain, b.size);
    mcheck_file_free(c, &fa);
    mcheck_file_free(c, &fb);
    mcheck_stop(&c);
    mfile_free(&a);
    mfile_free(&b);
}

static void a_bad_chunk_of_one_file_leaves_the_other_interleaved_file_intact(void **state)
{
    (void)state;
    mfile_t a, b;
    mfile_make(&a, 9 * (size_t)CS + 1, CS);
    mfile_make(&b, 9 * (size_t)CS + 2, CS);
    mcheck_t *c = NULL;
    assert_int_equal(mcheck_start(&c), FT_OK);
    mcheck_file_t *fa = mfile_check(&a), *fb = mfile_check(&b);
    for (uint32_t i = 0; i < a.n; i++) {
        assert_int_equal(mcheck_feed(c, fa, i, a.ct[i], a.ct_len[i]), FT_OK);
        /* b's chunk 3 is a's chunk 3: decrypts under neither b's key nor
         * b's ID. */
        const uint8_t *ct = i == 3 ? a.ct[i] : b.ct[i];
        size_t len = i == 3 ? a.ct_len[i] : b.ct_len[i];
        assert_int_equal(mcheck_feed(c, fb, i, ct, len), FT_OK);
    }
    media_content_t ca, cb;
    assert_int_equal(mcheck_file_wait(c, fa, &ca), a.n);
    assert_int_equal(mcheck_file_wait(c, fb, &cb), 0);
    assert_content_is(&ca, a.plain, a.size);
    assert_content_is(&cb, NULL, 0);
    mcheck_file_free(c, &fa);
    mcheck_file_free(c, &fb);
    mcheck_stop(&c);
    mfile_free(&a);
    mfile_free(&b);
}

typedef struct {
    mcheck_t *c;
    mcheck_file_t *f;
    const mfile_t *m;
    int rc; /* first failing feed's result (no cmocka asserts off the main thread) */
} feeder_t;

static void *feeder(void *arg)
{
    feeder_t *fd = arg;
    fd->rc = FT_OK;
    for (uint32_t i = 0; i < fd->m->n && fd->rc == FT_OK; i++) {
        fd->rc = mcheck_feed(fd->c, fd->f, i, fd->m->ct[i], fd->m->ct_len[i]);
    }
    return NULL;
}

static void files_fed_from_two_threads_at_once_both_hash_right(void **state)
{
    (void)state;
    mfile_t m[2];
    mfile_make(&m[0], 13 * (size_t)CS + 5, CS);
    mfile_make(&m[1], 10 * (size_t)CS + 9, CS);
    mcheck_t *c = NULL;
    assert_int_equal(mcheck_start(&c), FT_OK);
    feeder_t fd[2];
    pthread_t th[2];
    for (int k = 0; k < 2; k++) {
        fd[k] = (feeder_t){.c = c, .f = mfile_check(&m[k]), .m = &m[k], .rc = -1};
        assert_int_equal(pthread_create(&th[k], NULL, feeder, &fd[k]), 0);
    }
    for (int k = 0; k < 2; k++) {
        assert_int_equal(pthread_join(th[k], NULL), 0);
        assert_int_equal(fd[k].rc, FT_OK);
        media_content_t content;
        assert_int_equal(mcheck_file_wait(c, fd[k].f, &content), m[k].n);
        assert_content_is(&content, m[k].plain, m[k].size);
        mcheck_file_free(c, &fd[k].f);
    }
    mcheck_stop(&c);
    mfile_free(&m[0]);
    mfile_free(&m[1]);
}

static void freeing_a_file_with_chunks_queued_is_safe(void **state)
{
    (void)state;
    /* Big chunks, so some are surely still queued when free is called (ASan
     * catches a worker touching the freed file). */
    mfile_t m;
    mfile_make(&m, (MCHECK_DEPTH + 3) * (size_t)MEDIA_CHUNK_SIZE, MEDIA_CHUNK_SIZE);
    mcheck_t *c = NULL;
    assert_int_equal(mcheck_start(&c), FT_OK);
    for (int round = 0; round < 3; round++) {
        mcheck_file_t *f = mfile_check(&m);
        feed_range(c, f, &m, 0, m.n);
        mcheck_file_free(c, &f);
        assert_null(f);
        /* The same with a chunk that fails (the rest are skipped). */
        f = mfile_check(&m);
        feed_range(c, f, &m, 0, 1);
        assert_int_equal(mcheck_feed(c, f, 1, m.ct[2], m.ct_len[2]), FT_OK);
        feed_range(c, f, &m, 2, m.n);
        mcheck_file_free(c, &f);
    }
    /* Freeing NULL is a no-op. */
    mcheck_file_t *none = NULL;
    mcheck_file_free(c, &none);
    /* The worker is still sound: a file after those checks right. */
    mcheck_file_t *f = mfile_check(&m);
    feed_range(c, f, &m, 0, m.n);
    media_content_t content;
    assert_int_equal(mcheck_file_wait(c, f, &content), m.n);
    assert_content_is(&content, m.plain, m.size);
    mcheck_file_free(c, &f);
    mcheck_stop(&c);
    assert_null(c);
    mcheck_stop(&c); /* safe on NULL */
    mfile_free(&m);
}

/* ---- the completion pass ---------------------------------------------------- */

/* A stored file as the hub holds it: m's chunks, the signed manifest's
 * chunk hashes, content hash and sealed key, and the hub's archive key; and
 * what the reader does (fail at a chunk, count reads). */
typedef struct {
    mfile_t m;
    uint8_t (*hashes)[MEDIA_HASH_BYTES];
    uint8_t content_hash[MEDIA_HASH_BYTES];
    uint8_t sealed[MEDIA_SEALED_KEY_BYTES];
    uint8_t archive_pk[32], archive_sk[32];
    uint32_t fail_at; /* read error at this chunk (UINT32_MAX: none) */
    int fail_err;
    unsigned reads;
    uint8_t plain[CS];
} stored_t;

static void stored_make(stored_t *st, size_t size)
{
    memset(st, 0, sizeof *st);
    mfile_make(&st->m, size, CS);
    st->hashes = calloc(st->m.n, MEDIA_HASH_BYTES);
    assert_non_null(st->hashes);
    for (uint32_t i = 0; i < st->m.n; i++) {
        media_chunk_hash(st->m.id, i, st->m.ct[i], st->m.ct_len[i], st->hashes[i]);
    }
    crypto_hash_sha256(st->content_hash, st->m.plain, size);
    crypto_box_keypair(st->archive_pk, st->archive_sk);
    assert_int_equal(media_key_seal(st->m.key, st->archive_pk, st->sealed), FT_OK);
    st->fail_at = UINT32_MAX;
}

static void stored_free(stored_t *st)
{
    mfile_free(&st->m);
    free(st->hashes);
}

static int stored_read(void *ctx, uint32_t index, uint64_t off, uint8_t *buf, size_t len)
{
    stored_t *st = ctx;
    st->reads++;
    assert_true(off == (uint64_t)index * (CS + MEDIA_TAG_BYTES));
    if (index == st->fail_at) {
        return st->fail_err;
    }
    assert_int_equal(len, st->m.ct_len[index]);
    memcpy(buf, st->m.ct[index], len);
    return FT_OK;
}

static mcheck_result_t stored_check(stored_t *st, uint32_t from)
{
    mcheck_info_t fi = {.file_id = st->m.id,
                        .size = st->m.size,
                        .chunk_size = CS,
                        .n_chunks = st->m.n,
                        .hashes = (const uint8_t(*)[MEDIA_HASH_BYTES])st->hashes,
                        .content_hash = st->content_hash,
                        .sealed = st->sealed,
                        .archive_pk = st->archive_pk,
                        .archive_sk = st->archive_sk};
    media_content_t content;
    media_content_init(&content);
    for (uint32_t i = 0; i < from; i++) {
        media_content_update(&content, st->m.plain + (size_t)i * CS,
                             media_chunk_len(st->m.size, CS, i));
    }
    mcheck_result_t res;
    memset(&res, 0xAB, sizeof res);
    mcheck_complete(&fi, &content, from, stored_read, st, st->plain, &res);
    return res;
}

static void the_completion_pass_matches_a_whole_file_from_any_start(void **state)
{
    (void)state;
    stored_t st;
    stored_make(&st, 4 * CS + 5);
    for (uint32_t from = 0; from <= st.m.n; from++) {
        st.reads = 0;
        mcheck_result_t res = stored_check(&st, from);
        assert_int_equal(res.verdict, MCHECK_MATCH);
        assert_int_equal(res.err, FT_OK);
        assert_int_equal(st.reads, st.m.n - from);
    }
    stored_free(&st);
}

static void a_key_that_does_not_open_is_no_key_not_a_mismatch(void **state)
{
    (void)state;
    stored_t st;
    stored_make(&st, 3 * CS);
    uint8_t other_pk[32];
    crypto_box_keypair(other_pk, st.archive_sk); /* the hub holds another archive key */
    memcpy(st.archive_pk, other_pk, 32);
    mcheck_result_t res = stored_check(&st, 0);
    assert_int_equal(res.verdict, MCHECK_NO_KEY);
    assert_int_equal(res.err, FT_EKEY);
    assert_int_equal(st.reads, 0); /* nothing read: the key is known bad first */
    stored_free(&st);
}

static void a_chunk_that_cannot_be_read_back_is_local(void **state)
{
    (void)state;
    stored_t st;
    stored_make(&st, 4 * CS);
    st.fail_at = 2;
    st.fail_err = FT_EIO;
    mcheck_result_t res = stored_check(&st, 0);
    assert_int_equal(res.verdict, MCHECK_LOCAL);
    assert_int_equal(res.err, FT_EIO);
    assert_int_equal(res.chunk, 2);
    st.fail_err = FT_EFULL;
    res = stored_check(&st, 1);
    assert_int_equal(res.verdict, MCHECK_LOCAL);
    assert_int_equal(res.err, FT_EFULL);
    stored_free(&st);
}

static void a_chunk_the_hubs_storage_changed_is_local_not_a_mismatch(void **state)
{
    (void)state;
    stored_t st;
    stored_make(&st, 4 * CS);
    st.m.ct[1][7] ^= 0x20; /* no longer the bytes the device signed */
    mcheck_result_t res = stored_check(&st, 0);
    assert_int_equal(res.verdict, MCHECK_LOCAL);
    assert_int_equal(res.err, FT_EIO);
    assert_int_equal(res.chunk, 1);
    stored_free(&st);
}

static void signed_bytes_that_do_not_decrypt_are_a_mismatch(void **state)
{
    (void)state;
    stored_t st;
    stored_make(&st, 4 * CS);
    /* The device signed the hash of a chunk it did not encrypt with the key
     * it sealed. */
    st.m.ct[3][0] ^= 0x01;
    media_chunk_hash(st.m.id, 3, st.m.ct[3], st.m.ct_len[3], st.hashes[3]);
    mcheck_result_t res = stored_check(&st, 0);
    assert_int_equal(res.verdict, MCHECK_MISMATCH);
    assert_int_equal(res.err, FT_ECRYPTO);
    assert_int_equal(res.chunk, 3);
    stored_free(&st);
}

static void content_that_differs_from_its_signed_hash_is_a_mismatch(void **state)
{
    (void)state;
    stored_t st;
    stored_make(&st, 2 * CS + 1);
    st.content_hash[0] ^= 0x80;
    mcheck_result_t res = stored_check(&st, 0);
    assert_int_equal(res.verdict, MCHECK_MISMATCH);
    assert_int_equal(res.err, FT_ECORRUPT);
    assert_int_equal(res.chunk, UINT32_MAX);
    stored_free(&st);
}

static void a_worker_that_never_saw_a_chunk_stops(void **state)
{
    (void)state;
    mcheck_t *c = NULL;
    assert_int_equal(mcheck_start(&c), FT_OK);
    mcheck_stop(&c);
    assert_null(c);
}

int main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_whole_file_fed_in_order_hashes_to_its_plaintext_sha256),
        cmocka_unit_test(small_files_at_chunk_boundaries_hash_right),
        cmocka_unit_test(a_prefix_fed_covers_k_chunks_and_the_rest_completes_the_hash),
        cmocka_unit_test(a_chunk_that_does_not_decrypt_voids_the_check),
        cmocka_unit_test(out_of_order_short_and_late_feeds_are_refused),
        cmocka_unit_test(interleaved_files_share_the_bounded_queue),
        cmocka_unit_test(a_bad_chunk_of_one_file_leaves_the_other_interleaved_file_intact),
        cmocka_unit_test(files_fed_from_two_threads_at_once_both_hash_right),
        cmocka_unit_test(freeing_a_file_with_chunks_queued_is_safe),
        cmocka_unit_test(a_worker_that_never_saw_a_chunk_stops),
        cmocka_unit_test(the_completion_pass_matches_a_whole_file_from_any_start),
        cmocka_unit_test(a_key_that_does_not_open_is_no_key_not_a_mismatch),
        cmocka_unit_test(a_chunk_that_cannot_be_read_back_is_local),
        cmocka_unit_test(a_chunk_the_hubs_storage_changed_is_local_not_a_mismatch),
        cmocka_unit_test(signed_bytes_that_do_not_decrypt_are_a_mismatch),
        cmocka_unit_test(content_that_differs_from_its_signed_hash_is_a_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
