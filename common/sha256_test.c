/* sha256_test.c: ft_sha256 gives the FIPS 180-4 digests, the same as
 * libsodium's crypto_hash_sha256, for every length and any way the input is
 * split across updates.
 *
 * CTest runs this binary twice: sha256_test with the default dispatch (the
 * SHA-NI code on a CPU that has it) and sha256_portable_test with
 * FT_SHA256_PORTABLE=1. The first checks the dispatch picked sha-ni whenever
 * the CPU has it; on a CPU without it, its comparison cases say so and skip,
 * the portable run covering that code. Data and split points come from a
 * fixed-seed generator, so a failure reproduces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sha256.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

/* Longest message of the every-length case. */
#define MAX_LEN 5000
/* Size of the large-buffer case: 3 MiB. */
#define BIG_LEN ((size_t)3 << 20)

/* splitmix64 state for data and split points. */
static uint64_t rng = 0x5eed5eed5eed5eedULL;

static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)rnd();
    }
}

/* Whether FT_SHA256_PORTABLE asks for the portable code. */
static int forced_portable(void)
{
    const char *v = getenv("FT_SHA256_PORTABLE");
    return v && v[0] && strcmp(v, "0") != 0;
}

/* Whether this CPU has SHA, SSSE3 and SSE4.1, asked independently of sha256.c. */
static int cpu_has_shani(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 29))) {
        return 0;
    }
    if (!__get_cpuid(1, &a, &b, &c, &d)) {
        return 0;
    }
    return (c & (1u << 9)) && (c & (1u << 19));
#else
    return 0;
#endif
}

/* Skips the calling case in the default run on a CPU without SHA-NI. */
static void skip_unless_impl_available(void)
{
    if (!forced_portable() && strcmp(ft_sha256_impl(), "sha-ni") != 0) {
        print_message("sha-ni: this CPU lacks the SHA extensions, skipped "
                      "(sha256_portable_test covers the portable code)\n");
        skip();
    }
}

static void hex(const uint8_t d[FT_SHA256_BYTES], char out[2 * FT_SHA256_BYTES + 1])
{
    for (int i = 0; i < FT_SHA256_BYTES; i++) {
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    }
}

/* Hashes p[0..n) with ft_sha256_update in random-sized pieces. */
static void hash_split(const uint8_t *p, size_t n, size_t max_piece, uint8_t out[FT_SHA256_BYTES])
{
    ft_sha256_t s;
    ft_sha256_init(&s);
    size_t off = 0;
    while (off < n) {
        size_t piece = (size_t)(rnd() % (max_piece + 1));
        if (piece > n - off) {
            piece = n - off;
        }
        ft_sha256_update(&s, p + off, piece);
        off += piece;
    }
    ft_sha256_final(&s, out);
}

/* Checks one-shot and split hashing of p[0..n) against libsodium. */
static void check_against_sodium(const uint8_t *p, size_t n, size_t max_piece)
{
    uint8_t want[crypto_hash_sha256_BYTES], got[FT_SHA256_BYTES];
    char wh[2 * FT_SHA256_BYTES + 1], gh[2 * FT_SHA256_BYTES + 1];
    crypto_hash_sha256(want, p, n);
    hex(want, wh);
    ft_sha256(p, n, got);
    hex(got, gh);
    assert_string_equal(gh, wh);
    hash_split(p, n, max_piece, got);
    hex(got, gh);
    assert_string_equal(gh, wh);
}

static void digest_of(const char *msg, size_t repeat, char out[2 * FT_SHA256_BYTES + 1])
{
    ft_sha256_t s;
    uint8_t d[FT_SHA256_BYTES];
    ft_sha256_init(&s);
    for (size_t i = 0; i < repeat; i++) {
        ft_sha256_update(&s, (const uint8_t *)msg, strlen(msg));
    }
    ft_sha256_final(&s, d);
    hex(d, out);
}

static void dispatch_picks_sha_ni_when_the_cpu_has_it_unless_forced_portable(void **state)
{
    (void)state;
    const char *impl = ft_sha256_impl();
    print_message("implementation: %s\n", impl);
    if (forced_portable() || !cpu_has_shani()) {
        assert_string_equal(impl, "portable");
    } else {
        assert_string_equal(impl, "sha-ni");
    }
}

static void nist_vectors_give_the_published_digests(void **state)
{
    (void)state;
    char h[2 * FT_SHA256_BYTES + 1];
    digest_of("", 1, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    digest_of("abc", 1, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    digest_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1, h);
    assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    digest_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmn"
              "opqrlmn"
              "opqrsmnopqrstnopqrstu",
              1, h);
    assert_string_equal(h, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    digest_of("a", 1000000, h);
    assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void one_shot_digest_matches_the_incremental_one(void **state)
{
    (void)state;
    uint8_t a[FT_SHA256_BYTES], b[FT_SHA256_BYTES];
    ft_sha256((const uint8_t *)"abc", 3, a);
    ft_sha256_t s;
    ft_sha256_init(&s);
    ft_sha256_update(&s, NULL, 0);
    ft_sha256_update(&s, (const uint8_t *)"ab", 2);
    ft_sha256_update(&s, (const uint8_t *)"c", 1);
    ft_sha256_final(&s, b);
    assert_memory_equal(a, b, FT_SHA256_BYTES);
    ft_sha256(NULL, 0, a);
    ft_sha256_init(&s);
    ft_sha256_final(&s, b);
    assert_memory_equal(a, b, FT_SHA256_BYTES);
}

static void final_wipes_the_state(void **state)
{
    (void)state;
    uint8_t d[FT_SHA256_BYTES];
    static const uint8_t zero[sizeof(ft_sha256_t)];
    ft_sha256_t s;
    ft_sha256_init(&s);
    ft_sha256_update(&s, (const uint8_t *)"secret", 6);
    ft_sha256_final(&s, d);
    assert_memory_equal(&s, zero, sizeof s);
}

static void every_length_to_5000_matches_libsodium_at_any_alignment(void **state)
{
    (void)state;
    skip_unless_impl_available();
    uint8_t *buf = malloc(MAX_LEN + 16);
    assert_non_null(buf);
    fill(buf, MAX_LEN + 16);
    for (size_t n = 0; n <= MAX_LEN; n++) {
        /* Start at every offset mod 16 in turn: unaligned loads must work. */
        check_against_sodium(buf + n % 16, n, 1 + n % 200);
    }
    free(buf);
}

static void three_mib_matches_libsodium_whole_and_in_random_pieces(void **state)
{
    (void)state;
    skip_unless_impl_available();
    uint8_t *buf = malloc(BIG_LEN + 1);
    assert_non_null(buf);
    fill(buf, BIG_LEN + 1);
    check_against_sodium(buf, BIG_LEN, 200);
    check_against_sodium(buf + 1, BIG_LEN, 70000);
    check_against_sodium(buf, BIG_LEN, BIG_LEN);
    free(buf);
}

int main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dispatch_picks_sha_ni_when_the_cpu_has_it_unless_forced_portable),
        cmocka_unit_test(nist_vectors_give_the_published_digests),
        cmocka_unit_test(one_shot_digest_matches_the_incremental_one),
        cmocka_unit_test(final_wipes_the_state),
        cmocka_unit_test(every_length_to_5000_matches_libsodium_at_any_alignment),
        cmocka_unit_test(three_mib_matches_libsodium_whole_and_in_random_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
