/* entry.c: signing (entry_seal) and checking (entry_check) of log entries.
 * See entry.h for the layout and the exact bytes that are signed. */
#include "entry.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char domain[] = "fieldtrail/entry/v1"; /* hashed with its NUL */

void entry_hash(const uint8_t *entry_bytes, size_t len, uint8_t out[ENTRY_HASH_BYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, ENTRY_HASH_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)domain, sizeof domain);
    crypto_generichash_update(&st, entry_bytes, len);
    crypto_generichash_final(&st, out, ENTRY_HASH_BYTES);
}

int entry_seal(const Ft__Entry *e, const keys_t *k, uint8_t **out, size_t *out_len,
               uint8_t hash[ENTRY_HASH_BYTES])
{
    *out = NULL;
    size_t n = ft__entry__get_packed_size(e);
    uint8_t *bytes = malloc(n ? n : 1);
    if (!bytes) {
        return FT_ENOMEM;
    }
    ft__entry__pack(e, bytes);
    entry_hash(bytes, n, hash);
    uint8_t sig[ENTRY_SIG_BYTES];
    if (crypto_sign_ed25519_detached(sig, NULL, hash, ENTRY_HASH_BYTES, k->sign_sk) != 0) {
        free(bytes);
        return FT_ECRYPTO;
    }
    Ft__SignedEntry se = FT__SIGNED_ENTRY__INIT;
    se.entry.data = bytes;
    se.entry.len = n;
    se.signature.data = sig;
    se.signature.len = sizeof sig;
    size_t m = ft__signed_entry__get_packed_size(&se);
    uint8_t *packed = malloc(m);
    if (!packed) {
        free(bytes);
        return FT_ENOMEM;
    }
    ft__signed_entry__pack(&se, packed);
    free(bytes);
    *out = packed;
    *out_len = m;
    return FT_OK;
}

#define ARENA_BLOCK (64u << 10)

static bool arena_keep(entry_arena_t *a, void *p)
{
    if (a->n_spill == a->spill_cap) {
        size_t cap = a->spill_cap ? a->spill_cap * 2 : 16;
        void **bigger = realloc(a->spill, cap * sizeof *bigger);
        if (!bigger) {
            return false;
        }
        a->spill = bigger;
        a->spill_cap = cap;
    }
    a->spill[a->n_spill++] = p;
    return true;
}

static void *arena_alloc(void *ctx, size_t size)
{
    entry_arena_t *a = ctx;
    size = (size + 15) & ~(size_t)15;
    if (a->buf && a->cap - a->used >= size) {
        void *p = a->buf + a->used;
        a->used += size;
        return p;
    }
    if (size > ARENA_BLOCK / 4) { /* large: on its own */
        void *p = malloc(size);
        if (p && !arena_keep(a, p)) {
            free(p);
            p = NULL;
        }
        a->oom = a->oom || !p;
        return p;
    }
    uint8_t *block = malloc(ARENA_BLOCK);
    if (!block || (a->buf && !arena_keep(a, a->buf))) {
        free(block);
        a->oom = true;
        return NULL;
    }
    a->buf = block;
    a->cap = ARENA_BLOCK;
    a->used = size;
    return block;
}

static void arena_no_free(void *ctx, void *p)
{
    (void)ctx;
    (void)p; /* returned by entry_arena_reset */
}

void entry_arena_reset(entry_arena_t *a)
{
    for (size_t i = 0; i < a->n_spill; i++) {
        free(a->spill[i]);
    }
    a->n_spill = 0;
    a->used = 0;
    a->oom = false;
}

void entry_arena_free(entry_arena_t *a)
{
    entry_arena_reset(a);
    free(a->spill);
    free(a->buf);
    memset(a, 0, sizeof *a);
}

static int open_view(entry_arena_t *a, const uint8_t *raw, size_t len, entry_view_t *v, bool hash)
{
    memset(v, 0, sizeof *v);
    if (len > ENTRY_MAX_BYTES) {
        return FT_EINVAL;
    }
    ProtobufCAllocator arena = {arena_alloc, arena_no_free, a};
    ProtobufCAllocator *al = a ? &arena : NULL;
    v->in_arena = a != NULL;
    v->signed_entry = ft__signed_entry__unpack(al, len, raw);
    if (!v->signed_entry || v->signed_entry->signature.len != ENTRY_SIG_BYTES) {
        goto corrupt;
    }
    v->entry = ft__entry__unpack(al, v->signed_entry->entry.len, v->signed_entry->entry.data);
    if (!v->entry || v->entry->device.len != DEVID_BYTES ||
        v->entry->prev_hash.len != ENTRY_HASH_BYTES || !v->entry->body ||
        v->entry->body->kind_case == FT__BODY__KIND__NOT_SET) {
        goto corrupt;
    }
    if (hash) {
        entry_hash(v->signed_entry->entry.data, v->signed_entry->entry.len, v->hash);
    }
    return FT_OK;
corrupt:
    entry_view_free(v);
    return FT_ECORRUPT;
}

int entry_open(const uint8_t *raw, size_t len, entry_view_t *v)
{
    return open_view(NULL, raw, len, v, true);
}

int entry_decode(const uint8_t *raw, size_t len, entry_view_t *v)
{
    return open_view(NULL, raw, len, v, false);
}

int entry_decode_in(entry_arena_t *a, const uint8_t *raw, size_t len, entry_view_t *v)
{
    int err = open_view(a, raw, len, v, false);
    return err == FT_ECORRUPT && a->oom ? FT_ENOMEM : err;
}

void entry_view_free(entry_view_t *v)
{
    if (v->in_arena) { /* the arena's, returned by entry_arena_reset */
        v->entry = NULL;
        v->signed_entry = NULL;
        return;
    }
    if (v->entry) {
        ft__entry__free_unpacked(v->entry, NULL);
    }
    if (v->signed_entry) {
        ft__signed_entry__free_unpacked(v->signed_entry, NULL);
    }
    v->entry = NULL;
    v->signed_entry = NULL;
}

bool entry_sig_ok(const entry_view_t *v, const uint8_t sign_pk[32])
{
    return crypto_sign_ed25519_verify_detached(v->signed_entry->signature.data, v->hash,
                                               ENTRY_HASH_BYTES, sign_pk) == 0;
}

int entry_check(const entry_view_t *v, const uint8_t sign_pk[32], const entry_pos_t *pos)
{
    if (memcmp(v->entry->device.data, pos->device, DEVID_BYTES) != 0) {
        return FT_ESIGNER; /* before the signature, as entry_check_sig */
    }
    return entry_check_sig(v, entry_sig_ok(v, sign_pk), pos);
}

int entry_check_sig(const entry_view_t *v, bool sig_ok, const entry_pos_t *pos)
{
    const Ft__Entry *e = v->entry;
    if (memcmp(e->device.data, pos->device, DEVID_BYTES) != 0) {
        return FT_ESIGNER;
    }
    if (!sig_ok) {
        return FT_EBADSIG;
    }
    if (e->epoch != pos->epoch) {
        return FT_EPROTO;
    }
    if (e->seq != pos->seq) {
        return FT_EGAP;
    }
    if (memcmp(e->prev_hash.data, pos->prev_hash, ENTRY_HASH_BYTES) != 0) {
        return FT_ECHAIN;
    }
    return FT_OK;
}

void entry_pos_advance(entry_pos_t *pos, const entry_view_t *v)
{
    pos->seq = v->entry->seq + 1;
    memcpy(pos->prev_hash, v->hash, ENTRY_HASH_BYTES);
}

const char *entry_body_kind(const Ft__Body *b)
{
    switch (b->kind_case) {
    case FT__BODY__KIND_RECORD:
        return "record";
    case FT__BODY__KIND_MEDIA:
        return "media";
    case FT__BODY__KIND_EVENT:
        return "event";
    case FT__BODY__KIND_ALERT:
        return "alert";
    case FT__BODY__KIND_ALERTS:
        return "alerts";
    case FT__BODY__KIND_AUDIT:
        return "audit";
    case FT__BODY__KIND_ENROLMENT:
        return "enrolment";
    case FT__BODY__KIND_INTEGRITY:
        return "integrity";
    case FT__BODY__KIND_DELETION:
        return "deletion";
    case FT__BODY__KIND_CLOCK:
        return "clock";
    default:
        return "unknown";
    }
}

size_t entry_alert_count(const Ft__Body *b)
{
    if (!b) {
        return 0;
    }
    if (b->kind_case == FT__BODY__KIND_ALERT && b->alert) {
        return 1;
    }
    if (b->kind_case == FT__BODY__KIND_ALERTS && b->alerts) {
        return b->alerts->n_events;
    }
    return 0;
}

const Ft__AlertEvent *entry_alert_at(const Ft__Body *b, size_t i)
{
    if (i >= entry_alert_count(b)) {
        return NULL;
    }
    return b->kind_case == FT__BODY__KIND_ALERT ? b->alert : b->alerts->events[i];
}

size_t entry_alert_batch_take(Ft__AlertEvent *const *events, size_t n, size_t max_events,
                              size_t max_bytes)
{
    size_t k = 0, bytes = 0;
    while (k < n && k < max_events) {
        /* the tag and length of the repeated field, then the event */
        size_t one = ft__alert_event__get_packed_size(events[k]) + 1 + 10;
        if (k > 0 && bytes + one > max_bytes) {
            break;
        }
        bytes += one;
        k++;
    }
    return k;
}
