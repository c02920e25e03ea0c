/* fuzz_entry.c: libFuzzer target for one device-log entry as the hub
 * receives it inside a Batch: entry_open, then entry_check against a fixed
 * signer and position (hub/store/verify.c does the same), then the body as the
 * listings and timelines show it (body_to_json, body_summary).
 *
 * The seeds are signed by a fixed test key (ft_fuzz_seeds), so mutations
 * reach the chain and position checks too.
 * Pins: no input crashes, leaks or reads out of bounds; an entry that checks
 * at its own position never checks at the next seq, after another hash or
 * under another key.
 */
#include "bodyjson.h"
#include "entry.h"
#include "keys.h"
#include "record.h"

#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint8_t signer_pk[32];
static uint8_t other_pk[32];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    if (sodium_init() < 0) {
        abort();
    }
    uint8_t sk[64];
    uint8_t seed[32] = {1};
    crypto_sign_ed25519_seed_keypair(signer_pk, sk, seed);
    seed[0] = 9;
    crypto_sign_ed25519_seed_keypair(other_pk, sk, seed);
    sodium_memzero(sk, sizeof sk);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    entry_view_t v;
    memset(&v, 0, sizeof v);
    if (entry_open(data, size, &v) != FT_OK) {
        return 0;
    }
    entry_pos_t pos;
    memset(&pos, 0, sizeof pos);
    if (v.entry->device.len == DEVID_BYTES) {
        memcpy(pos.device, v.entry->device.data, DEVID_BYTES);
    }
    pos.epoch = v.entry->epoch;
    pos.seq = v.entry->seq;
    if (v.entry->prev_hash.len == ENTRY_HASH_BYTES) {
        memcpy(pos.prev_hash, v.entry->prev_hash.data, ENTRY_HASH_BYTES);
    }
    if (entry_check(&v, signer_pk, &pos) == FT_OK) {
        entry_pos_t next = pos;
        next.seq++;
        if (entry_check(&v, signer_pk, &next) == FT_OK) {
            abort(); /* a seq gap passed */
        }
        next = pos;
        next.prev_hash[0] ^= 1;
        if (entry_check(&v, signer_pk, &next) == FT_OK) {
            abort(); /* a broken chain passed */
        }
        if (entry_check(&v, other_pk, &pos) == FT_OK) {
            abort(); /* another key's signature passed */
        }
    }
    entry_pos_advance(&pos, &v);
    (void)entry_body_kind(v.entry->body);
    /* the hub's readers of alert events (either form) */
    for (size_t i = 0; i < entry_alert_count(v.entry->body); i++) {
        const Ft__AlertEvent *ae = entry_alert_at(v.entry->body, i);
        if (!ae || !ae->alert_id || !ae->rule || !ae->state) {
            abort(); /* required fields of a decoded event */
        }
    }
    if (v.entry->body) {
        json_t *j = body_to_json(v.entry->body);
        if (j) {
            char *s = json_dumps(j, JSON_COMPACT);
            free(s);
            json_decref(j);
        }
        char line[256];
        body_summary(v.entry->body, line, sizeof line);
        if (v.entry->body->kind_case == FT__BODY__KIND_RECORD && v.entry->body->record) {
            json_t *r = record_to_json(v.entry->body->record);
            json_decref(r);
        }
    }
    entry_view_free(&v);
    return 0;
}
