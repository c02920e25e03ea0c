/* sha256.c: SHA-256 with a compression function picked at run time.
 *
 * Design:
 * - ft_sha256_update buffers input into whole 64-byte blocks and hands runs
 *   of them to a blocks function (h, data, nblocks), so the SHA-NI code keeps
 *   the state in registers across a long run.
 * - Two blocks functions exist: blocks_portable (plain FIPS 180-4 C) and, on
 *   x86-64 only, blocks_shani (SHA extension intrinsics, compiled for that
 *   target by a function attribute, so the build needs no -m flags).
 * - impl_get resolves which one to use on first call and caches it in
 *   `chosen`, the only mutable static here: a write-once fact about the CPU.
 *   Two threads may both resolve it at once; they store the same pointer, and
 *   the atomic makes that race well defined.
 * - ft_sha256_final pads (0x80, zeros, 64-bit big-endian bit length), writes
 *   the digest big-endian and wipes the state with sodium_memzero.
 * Input is read with memcpy / unaligned loads only: any alignment is fine.
 */
#include "sha256.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SHA256_HAVE_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

/* Compresses nblocks 64-byte blocks at p into the chaining value h. */
typedef void (*blocks_fn)(uint32_t h[8], const uint8_t *p, size_t nblocks);

/* One compression function and its name for ft_sha256_impl. */
typedef struct {
    blocks_fn blocks; /* the compression function */
    const char *name; /* "sha-ni" or "portable" */
} impl_t;

/* Round constants K0..K63 (FIPS 180-4 4.2.2). */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

/* Initial hash value H(0) (FIPS 180-4 5.3.3). */
static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

static uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t ror(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

/* One round of FIPS 180-4 6.2.2 step 3 with the working variables renamed
 * instead of moved: the caller rotates the argument list. */
#define ROUND(a, b, c, d, e, f, g, h, t)                                                           \
    do {                                                                                           \
        uint32_t t1 =                                                                              \
            h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];        \
        d += t1;                                                                                   \
        h = t1 + (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));            \
    } while (0)

/* FIPS 180-4 6.2.2, one block at a time. */
static void blocks_portable(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
    uint32_t w[64];
    for (; nblocks > 0; nblocks--, p += 64) {
        for (int t = 0; t < 16; t++) {
            w[t] = load_be32(p + 4 * t);
        }
        for (int t = 16; t < 64; t++) {
            uint32_t s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ (w[t - 15] >> 3);
            uint32_t s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
        uint32_t e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int t = 0; t < 64; t += 8) {
            ROUND(a, b, c, d, e, f, g, hh, t);
            ROUND(hh, a, b, c, d, e, f, g, t + 1);
            ROUND(g, hh, a, b, c, d, e, f, t + 2);
            ROUND(f, g, hh, a, b, c, d, e, t + 3);
            ROUND(e, f, g, hh, a, b, c, d, t + 4);
            ROUND(d, e, f, g, hh, a, b, c, t + 5);
            ROUND(c, d, e, f, g, hh, a, b, t + 6);
            ROUND(b, c, d, e, f, g, hh, a, t + 7);
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
        h[5] += f;
        h[6] += g;
        h[7] += hh;
    }
}

static const impl_t impl_portable = {blocks_portable, "portable"};

#ifdef SHA256_HAVE_SHANI
#define SHANI_TARGET __attribute__((target("sha,ssse3,sse4.1")))

/* Four rounds 4g..4g+3 on the ABEF/CDGH state (st0/st1). cur holds W[4g..],
 * prev W[4g-4..] (the register it shares with W[4g+12..]), next the register
 * that becomes W[4g+4..]: msg2 finishes next one group ahead, msg1 starts
 * prev's successor three groups ahead. The `g` tests fold at compile time. */
#define SHANI_ROUNDS(g, cur, prev, next)                                                           \
    do {                                                                                           \
        __m128i wk = _mm_add_epi32(cur, _mm_loadu_si128((const __m128i *)&K[4 * (g)]));            \
        st1 = _mm_sha256rnds2_epu32(st1, st0, wk);                                                 \
        if ((g) >= 3 && (g) <= 14) {                                                               \
            next = _mm_sha256msg2_epu32(_mm_add_epi32(next, _mm_alignr_epi8(cur, prev, 4)), cur);  \
        }                                                                                          \
        wk = _mm_shuffle_epi32(wk, 0x0e);                                                          \
        st0 = _mm_sha256rnds2_epu32(st0, st1, wk);                                                 \
        if ((g) >= 1 && (g) <= 12) {                                                               \
            prev = _mm_sha256msg1_epu32(prev, cur);                                                \
        }                                                                                          \
    } while (0)

/* The same compression with the SHA extensions. */
SHANI_TARGET static void blocks_shani(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
    /* Swaps the bytes of each 32-bit lane: the message words are big-endian. */
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    /* h[] is A..H; the instructions want ABEF in st0 and CDGH in st1. */
    __m128i abcd = _mm_loadu_si128((const __m128i *)&h[0]);
    __m128i efgh = _mm_loadu_si128((const __m128i *)&h[4]);
    abcd = _mm_shuffle_epi32(abcd, 0xb1);            /* CDAB */
    efgh = _mm_shuffle_epi32(efgh, 0x1b);            /* EFGH */
    __m128i st0 = _mm_alignr_epi8(abcd, efgh, 8);    /* ABEF */
    __m128i st1 = _mm_blend_epi16(efgh, abcd, 0xf0); /* CDGH */

    for (; nblocks > 0; nblocks--, p += 64) {
        const __m128i save0 = st0, save1 = st1;
        __m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 0)), bswap);
        __m128i m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), bswap);
        __m128i m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), bswap);
        __m128i m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), bswap);
        SHANI_ROUNDS(0, m0, m3, m1);
        SHANI_ROUNDS(1, m1, m0, m2);
        SHANI_ROUNDS(2, m2, m1, m3);
        SHANI_ROUNDS(3, m3, m2, m0);
        SHANI_ROUNDS(4, m0, m3, m1);
        SHANI_ROUNDS(5, m1, m0, m2);
        SHANI_ROUNDS(6, m2, m1, m3);
        SHANI_ROUNDS(7, m3, m2, m0);
        SHANI_ROUNDS(8, m0, m3, m1);
        SHANI_ROUNDS(9, m1, m0, m2);
        SHANI_ROUNDS(10, m2, m1, m3);
        SHANI_ROUNDS(11, m3, m2, m0);
        SHANI_ROUNDS(12, m0, m3, m1);
        SHANI_ROUNDS(13, m1, m0, m2);
        SHANI_ROUNDS(14, m2, m1, m3);
        SHANI_ROUNDS(15, m3, m2, m0);
        st0 = _mm_add_epi32(st0, save0);
        st1 = _mm_add_epi32(st1, save1);
    }

    __m128i feba = _mm_shuffle_epi32(st0, 0x1b);
    __m128i dchg = _mm_shuffle_epi32(st1, 0xb1);
    _mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(feba, dchg, 0xf0)); /* DCBA */
    _mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(dchg, feba, 8));    /* HGFE */
}

static const impl_t impl_shani = {blocks_shani, "sha-ni"};

/* Whether the CPU has SHA (leaf 7 EBX bit 29), SSSE3 and SSE4.1 (leaf 1 ECX
 * bits 9 and 19). */
static int cpu_has_shani(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) {
        return 0;
    }
    if (!(c & (1u << 9)) || !(c & (1u << 19))) {
        return 0;
    }
    if (__get_cpuid_max(0, NULL) < 7) {
        return 0;
    }
    __cpuid_count(7, 0, a, b, c, d);
    return (b & (1u << 29)) != 0;
}
#endif

/* The compression function in use, resolved on first call. */
static _Atomic(const impl_t *) chosen;

static const impl_t *impl_get(void)
{
    const impl_t *im = atomic_load_explicit(&chosen, memory_order_acquire);
    if (im) {
        return im;
    }
    im = &impl_portable;
#ifdef SHA256_HAVE_SHANI
    const char *force = getenv("FT_SHA256_PORTABLE");
    int forced = force && force[0] && strcmp(force, "0") != 0;
    if (!forced && cpu_has_shani()) {
        im = &impl_shani;
    }
#endif
    atomic_store_explicit(&chosen, im, memory_order_release);
    return im;
}

void ft_sha256_init(ft_sha256_t *s)
{
    memcpy(s->h, H0, sizeof s->h);
    s->len = 0;
    s->n = 0;
}

void ft_sha256_update(ft_sha256_t *s, const uint8_t *data, size_t len)
{
    if (len == 0) {
        return;
    }
    blocks_fn blocks = impl_get()->blocks;
    s->len += len;
    if (s->n > 0) {
        size_t take = 64 - s->n < len ? 64 - s->n : len;
        memcpy(s->buf + s->n, data, take);
        s->n += take;
        data += take;
        len -= take;
        if (s->n < 64) {
            return;
        }
        blocks(s->h, s->buf, 1);
        s->n = 0;
    }
    if (len >= 64) {
        size_t nb = len / 64;
        blocks(s->h, data, nb);
        data += nb * 64;
        len -= nb * 64;
    }
    if (len > 0) {
        memcpy(s->buf, data, len);
        s->n = len;
    }
}

void ft_sha256_final(ft_sha256_t *s, uint8_t out[FT_SHA256_BYTES])
{
    blocks_fn blocks = impl_get()->blocks;
    uint64_t bits = s->len << 3;
    s->buf[s->n++] = 0x80;
    if (s->n > 56) {
        memset(s->buf + s->n, 0, 64 - s->n);
        blocks(s->h, s->buf, 1);
        s->n = 0;
    }
    memset(s->buf + s->n, 0, 56 - s->n);
    store_be32(s->buf + 56, (uint32_t)(bits >> 32));
    store_be32(s->buf + 60, (uint32_t)bits);
    blocks(s->h, s->buf, 1);
    for (int i = 0; i < 8; i++) {
        store_be32(out + 4 * i, s->h[i]);
    }
    sodium_memzero(s, sizeof *s);
}

void ft_sha256(const uint8_t *data, size_t len, uint8_t out[FT_SHA256_BYTES])
{
    ft_sha256_t s;
    ft_sha256_init(&s);
    ft_sha256_update(&s, data, len);
    ft_sha256_final(&s, out);
}

const char *ft_sha256_impl(void)
{
    return impl_get()->name;
}
