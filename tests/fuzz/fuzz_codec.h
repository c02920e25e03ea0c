/* fuzz_codec.h: the body of a libFuzzer target for a message codec with
 * signed receipts (fuzz_wire.c, fuzz_mediawire.c): one source of the two
 * fixed test keys and of the checks every such codec must pass.
 *
 * Pins: no input crashes, leaks or reads out of bounds; a receipt never
 * verifies under a second key (the seeds are signed by the first, see
 * ft_fuzz_seeds); a decoded message re-encodes to bytes that decode to the
 * same kind; freeing a message twice is safe.
 *
 * Define before including it:
 *   FUZZ_KEY_SEED          first byte of the seed of the key that signs the seed receipts
 *   FUZZ_MSG_T, FUZZ_RECEIPT_T      the message and the opened receipt types
 *   FUZZ_DECODE, FUZZ_ENCODE, FUZZ_FREE, FUZZ_KIND_NAME, FUZZ_RECEIPT_OPEN
 *                          the codec's functions
 *   FUZZ_KIND_RECEIPT      the kind of a message that carries a receipt
 *   FUZZ_RECEIPT_RAW(m), FUZZ_RECEIPT_LEN(m)   that receipt's bytes in m
 *   FUZZ_SAME(m, again)    (optional) true if a re-decoded message keeps
 *                          more than its kind
 *   FUZZ_CHECK(data, size, m)   (optional) further checks of a message m
 *                          decoded from data (abort on failure)
 */
#ifndef FT_FUZZ_CODEC_H
#define FT_FUZZ_CODEC_H

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_SAME
#define FUZZ_SAME(m, again) 1
#endif
#ifndef FUZZ_CHECK
#define FUZZ_CHECK(data, size, m) ((void)0)
#endif

static uint8_t hub_pk[32];   /* signs the seed receipts */
static uint8_t other_pk[32]; /* signs nothing */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    if (sodium_init() < 0) {
        abort();
    }
    uint8_t sk[64];
    uint8_t seed[32] = {FUZZ_KEY_SEED};
    crypto_sign_ed25519_seed_keypair(hub_pk, sk, seed);
    seed[0] = 9;
    crypto_sign_ed25519_seed_keypair(other_pk, sk, seed);
    sodium_memzero(sk, sizeof sk);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FUZZ_RECEIPT_T r;
    if (FUZZ_RECEIPT_OPEN(data, size, hub_pk, &r) == FT_OK &&
        FUZZ_RECEIPT_OPEN(data, size, other_pk, &r) == FT_OK) {
        abort(); /* one signature, two keys */
    }
    FUZZ_MSG_T m;
    memset(&m, 0, sizeof m);
    if (FUZZ_DECODE(data, size, &m) != FT_OK) {
        return 0;
    }
    (void)FUZZ_KIND_NAME(m.kind);
    FUZZ_CHECK(data, size, &m);
    if (m.kind == FUZZ_KIND_RECEIPT &&
        FUZZ_RECEIPT_OPEN(FUZZ_RECEIPT_RAW(m), FUZZ_RECEIPT_LEN(m), hub_pk, &r) == FT_OK &&
        FUZZ_RECEIPT_OPEN(FUZZ_RECEIPT_RAW(m), FUZZ_RECEIPT_LEN(m), other_pk, &r) == FT_OK) {
        abort();
    }
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (FUZZ_ENCODE(&m, &out, &out_len) == FT_OK) {
        FUZZ_MSG_T again;
        memset(&again, 0, sizeof again);
        if (FUZZ_DECODE(out, out_len, &again) != FT_OK || again.kind != m.kind) {
            abort(); /* what we send must be what we accept */
        }
        if (!(FUZZ_SAME(m, again))) {
            abort();
        }
        FUZZ_FREE(&again);
        FUZZ_FREE(&again); /* safe twice */
        free(out);
    }
    FUZZ_FREE(&m);
    return 0;
}

#endif
