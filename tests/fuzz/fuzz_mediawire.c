/* fuzz_mediawire.c: libFuzzer target for every decoder of
 * common/mediawire.h: a media transfer message (mwire_decode) and a signed
 * completion receipt (mwire_receipt_open).
 *
 * Pins: no input crashes, leaks or reads out of bounds; a decoded message
 * re-encodes to bytes that decode to the same kind; a receipt never verifies
 * under a second key (the seeds are signed by a fixed test key).
 */
#include "mediawire.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint8_t hub_pk[32];   /* signs the seed receipts */
static uint8_t other_pk[32]; /* signs nothing */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    if (sodium_init() < 0) {
        abort();
    }
    uint8_t sk[64];
    uint8_t seed[32] = {3};
    crypto_sign_ed25519_seed_keypair(hub_pk, sk, seed);
    seed[0] = 9;
    crypto_sign_ed25519_seed_keypair(other_pk, sk, seed);
    sodium_memzero(sk, sizeof sk);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mwire_receipt_t r;
    if (mwire_receipt_open(data, size, hub_pk, &r) == FT_OK &&
        mwire_receipt_open(data, size, other_pk, &r) == FT_OK) {
        abort(); /* one signature, two keys */
    }
    mwire_msg_t m;
    memset(&m, 0, sizeof m);
    if (mwire_decode(data, size, &m) != FT_OK) {
        return 0;
    }
    (void)mwire_kind_name(m.kind);
    if (m.kind == MWIRE_RECEIPT &&
        mwire_receipt_open(m.u.receipt.raw, m.u.receipt.len, hub_pk, &r) == FT_OK &&
        mwire_receipt_open(m.u.receipt.raw, m.u.receipt.len, other_pk, &r) == FT_OK) {
        abort();
    }
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (mwire_encode(&m, &out, &out_len) == FT_OK) {
        mwire_msg_t again;
        memset(&again, 0, sizeof again);
        if (mwire_decode(out, out_len, &again) != FT_OK || again.kind != m.kind) {
            abort();
        }
        mwire_msg_free(&again);
        mwire_msg_free(&again); /* safe twice */
        free(out);
    }
    mwire_msg_free(&m);
    return 0;
}
