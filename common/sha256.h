/* sha256.h: SHA-256 (FIPS 180-4), incremental and one-shot.
 *
 * The compression function is chosen once per process, on first use: the
 * x86-64 SHA extensions ("sha-ni") when the CPU has SHA, SSSE3 and SSE4.1,
 * otherwise portable C ("portable"). FT_SHA256_PORTABLE=1 in the environment
 * (any value but empty or "0") forces the portable one; tests and benchmarks
 * use it to cover both. Both give the same digests. Any thread may hash, each
 * with its own ft_sha256_t.
 */
#ifndef FT_SHA256_H
#define FT_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* Size of a digest in bytes. */
#define FT_SHA256_BYTES 32

/* An incremental hash in progress. Treat as opaque. */
typedef struct {
    uint32_t h[8];   /* chaining value H0..H7 */
    uint64_t len;    /* bytes hashed so far */
    uint8_t buf[64]; /* the partial block not yet compressed */
    size_t n;        /* bytes used in buf (0..63) */
} ft_sha256_t;

/* Starts a new hash in s. */
void ft_sha256_init(ft_sha256_t *s);
/* Adds len bytes at data (data may be NULL when len is 0). */
void ft_sha256_update(ft_sha256_t *s, const uint8_t *data, size_t len);
/* Writes the digest to out and wipes s; init it again to reuse it. */
void ft_sha256_final(ft_sha256_t *s, uint8_t out[FT_SHA256_BYTES]);
/* The digest of len bytes at data, in one call. */
void ft_sha256(const uint8_t *data, size_t len, uint8_t out[FT_SHA256_BYTES]);
/* The compression function in use, "sha-ni" or "portable" (static string),
 * for logs and benchmarks. */
const char *ft_sha256_impl(void);

#endif
