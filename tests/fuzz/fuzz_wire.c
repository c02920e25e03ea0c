/* fuzz_wire.c: libFuzzer target for every decoder of common/wire.h: a sync
 * message as either side receives it (wire_decode) and a SignedReceipt as
 * the edge checks it (wire_receipt_open).
 *
 * Pins: no input crashes, leaks, reads out of bounds or allocates without
 * bound; a decoded message re-encodes (wire_encode) to bytes that decode to
 * the same kind; a receipt never verifies under a second key
 * (the seeds are signed by a fixed test key, see ft_fuzz_seeds).
 */
#include "wire.h"

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
    uint8_t seed[32] = {2};
    crypto_sign_ed25519_seed_keypair(hub_pk, sk, seed);
    seed[0] = 9;
    crypto_sign_ed25519_seed_keypair(other_pk, sk, seed);
    sodium_memzero(sk, sizeof sk);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wire_receipt_t r;
    if (wire_receipt_open(data, size, hub_pk, &r) == FT_OK &&
        wire_receipt_open(data, size, other_pk, &r) == FT_OK) {
        abort(); /* one signature, two keys */
    }
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    if (wire_decode(data, size, &m) != FT_OK) {
        return 0;
    }
    (void)wire_kind_name(m.kind);
    if (m.kind == WIRE_RECEIPT &&
        wire_receipt_open(m.u.receipt.raw, m.u.receipt.raw_len, hub_pk, &r) == FT_OK &&
        wire_receipt_open(m.u.receipt.raw, m.u.receipt.raw_len, other_pk, &r) == FT_OK) {
        abort();
    }
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (wire_encode(&m, &out, &out_len) == FT_OK) {
        wire_msg_t again;
        memset(&again, 0, sizeof again);
        if (wire_decode(out, out_len, &again) != FT_OK || again.kind != m.kind) {
            abort(); /* what we send must be what we accept */
        }
        if (m.kind == WIRE_BATCH && again.u.batch.n != m.u.batch.n) {
            abort();
        }
        wire_msg_free(&again);
        wire_msg_free(&again); /* safe twice */
        free(out);
    }
    wire_msg_free(&m);
    return 0;
}
