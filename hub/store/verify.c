/* verify.c: per-batch verification of device-log entries at the hub (the
 * order of checks and what each refusal is called are in verify.h). The
 * signature and chain checks themselves are entry_check (common/entry.c),
 * the same code the edge's own `verify` runs. */
#include "verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the first pass found out about one entry of a batch, on whichever
 * thread of the pool took it: no store access, nothing shared. */
typedef struct {
    int open_err;   /* entry_open's answer */
    entry_view_t v; /* decoded (when open_err == FT_OK) */
    bool sig_ok;    /* its signature verifies with the authenticated device's key
                       (computed only when the entry names that device) */
} opened_t;

typedef struct {
    const wire_bytes_t *entries;
    const uint8_t *device;
    const uint8_t *sign_pk;
    opened_t *out;
} first_pass_t;

/* Decodes entry i, hashes it and checks its signature (workpool_fn). */
static void open_one(void *ctx, size_t i)
{
    first_pass_t *fp = ctx;
    opened_t *o = &fp->out[i];
    o->open_err = entry_open(fp->entries[i].data, fp->entries[i].len, &o->v);
    o->sig_ok = o->open_err == FT_OK &&
                memcmp(o->v.entry->device.data, fp->device, DEVID_BYTES) == 0 &&
                entry_sig_ok(&o->v, fp->sign_pk);
}

/* Fills r with a refusal of entry i. */
static void refuse(verify_result_t *r, int err, const char *reason, size_t i, uint64_t epoch,
                   uint64_t seq, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static void refuse(verify_result_t *r, int err, const char *reason, size_t i, uint64_t epoch,
                   uint64_t seq, const char *fmt, ...)
{
    r->err = err;
    r->reason = reason;
    r->bad_index = i;
    r->bad_epoch = epoch;
    r->bad_seq = seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
}

/* Checks an entry that claims a seq the hub already holds. Returns FT_OK
 * (duplicate), a refusal already written into r (1), or a storage error. */
static int check_held(store_txn_t *t, const uint8_t device[DEVID_BYTES], const entry_view_t *v,
                      bool sig_ok, const wire_bytes_t *raw, size_t i, verify_result_t *r)
{
    const Ft__Entry *e = v->entry;
    const uint8_t *held = NULL;
    size_t held_len = 0;
    int err = store_entry_get(t, device, e->epoch, e->seq, &held, &held_len);
    if (err == FT_ENOTFOUND) {
        return FT_ECORRUPT; /* below the head but absent: the store broke its invariant */
    }
    if (err != FT_OK) {
        return err;
    }
    if (held_len == raw->len && memcmp(held, raw->data, raw->len) == 0) {
        return FT_OK;
    }
    /* Different bytes at a held position: check the signature alone. */
    entry_pos_t self = {.epoch = e->epoch, .seq = e->seq};
    memcpy(self.device, device, DEVID_BYTES);
    memcpy(self.prev_hash, e->prev_hash.data, ENTRY_HASH_BYTES);
    if (entry_check_sig(v, sig_ok, &self) != FT_OK) {
        refuse(r, FT_EBADSIG, VERIFY_BAD_SIGNATURE, i, e->epoch, e->seq,
               "entry %llu (epoch %llu) differs from the entry held at that position and its "
               "signature does not verify with the device's enrolled key: it was altered or "
               "forged",
               (unsigned long long)e->seq, (unsigned long long)e->epoch);
    } else {
        refuse(r, FT_EDUP, VERIFY_EQUIVOCATION, i, e->epoch, e->seq,
               "the device signed two different entries for seq %llu (epoch %llu): the hub "
               "keeps the first and refuses the second",
               (unsigned long long)e->seq, (unsigned long long)e->epoch);
    }
    return 1;
}

/* Verifies entry i and stores it if it is new and good. FT_OK (accepted or
 * duplicate; counted in r), 1 (refused; r says why) or a storage error. */
static int verify_one(store_txn_t *t, const uint8_t device[DEVID_BYTES], const opened_t *o,
                      const wire_bytes_t *raw, size_t i, verify_result_t *r)
{
    if (o->open_err != FT_OK) {
        refuse(r, FT_ECORRUPT, VERIFY_MALFORMED, i, 0, 0,
               "entry %zu of the batch does not decode as a signed log entry (%zu bytes)", i + 1,
               raw->len);
        return 1;
    }
    const entry_view_t *v = &o->v;
    const Ft__Entry *e = v->entry;
    int result = 1;
    int err;
    if (memcmp(e->device.data, device, DEVID_BYTES) != 0) {
        char claimed[DEVID_TEXT_SIZE], authed[DEVID_TEXT_SIZE];
        devid_format(e->device.data, claimed);
        devid_format(device, authed);
        store_device_t other;
        err = store_device_get(t, e->device.data, &other);
        if (err != FT_OK && err != FT_ENOTFOUND) {
            result = err;
        } else {
            bool enrolled = err == FT_OK;
            refuse(r, FT_ESIGNER, enrolled ? VERIFY_WRONG_SIGNER : VERIFY_UNENROLLED_SIGNER, i,
                   e->epoch, e->seq,
                   "entry signed by another device: entry %llu names %s device %s, but the "
                   "connection authenticated as %s",
                   (unsigned long long)e->seq, enrolled ? "enrolled" : "unenrolled", claimed,
                   authed);
        }
        goto out;
    }
    if (e->seq == 0) {
        refuse(r, FT_ECORRUPT, VERIFY_MALFORMED, i, e->epoch, 0,
               "entry %zu of the batch has seq 0 (seqs start at 1)", i + 1);
        goto out;
    }
    store_head_t head;
    err = store_head_get(t, device, e->epoch, &head);
    if (err != FT_OK) {
        result = err;
        goto out;
    }
    if (e->seq <= head.seq) {
        result = check_held(t, device, v, o->sig_ok, raw, i, r);
        if (result == FT_OK) {
            r->duplicates++;
            r->epoch = e->epoch;
            r->head = head;
        }
        goto out;
    }
    entry_pos_t pos = {.epoch = e->epoch, .seq = head.seq + 1};
    memcpy(pos.device, device, DEVID_BYTES);
    memcpy(pos.prev_hash, head.hash, ENTRY_HASH_BYTES);
    err = entry_check_sig(v, o->sig_ok, &pos);
    switch (err) {
    case FT_OK:
        result = store_entry_append(t, device, e->epoch, e->seq, v->hash, raw->data, raw->len);
        if (result == FT_OK) {
            r->accepted++;
            r->epoch = e->epoch;
            r->head.seq = e->seq;
            memcpy(r->head.hash, v->hash, ENTRY_HASH_BYTES);
        }
        break;
    case FT_EBADSIG:
        refuse(r, err, VERIFY_BAD_SIGNATURE, i, e->epoch, e->seq,
               "entry %llu (epoch %llu): signature does not verify with the device's enrolled "
               "key: the entry was altered or forged",
               (unsigned long long)e->seq, (unsigned long long)e->epoch);
        break;
    case FT_EGAP:
        refuse(r, err, VERIFY_MISSING_SEQ, i, e->epoch, e->seq,
               "entry %llu (epoch %llu) arrived but the hub holds only up to %llu: entries "
               "%llu..%llu are missing",
               (unsigned long long)e->seq, (unsigned long long)e->epoch,
               (unsigned long long)head.seq, (unsigned long long)head.seq + 1,
               (unsigned long long)e->seq - 1);
        break;
    case FT_ECHAIN:
        refuse(r, err, VERIFY_BROKEN_CHAIN, i, e->epoch, e->seq,
               "entry %llu (epoch %llu) does not chain to entry %llu held at the hub: an entry "
               "was removed or altered",
               (unsigned long long)e->seq, (unsigned long long)e->epoch,
               (unsigned long long)head.seq);
        break;
    default:
        refuse(r, err, VERIFY_MALFORMED, i, e->epoch, e->seq, "entry %llu (epoch %llu): %s",
               (unsigned long long)e->seq, (unsigned long long)e->epoch, ft_strerror(err));
        break;
    }
out:
    return result;
}

int verify_batch(store_txn_t *t, const uint8_t device[DEVID_BYTES], const wire_bytes_t *entries,
                 size_t n, verify_result_t *r)
{
    return verify_batch_pool(t, device, entries, n, NULL, r);
}

int verify_batch_pool(store_txn_t *t, const uint8_t device[DEVID_BYTES],
                      const wire_bytes_t *entries, size_t n, workpool_t *pool, verify_result_t *r)
{
    memset(r, 0, sizeof *r);
    store_device_t d;
    int err = store_device_get(t, device, &d);
    if (err == FT_ENOTFOUND) {
        refuse(r, FT_ESIGNER, NULL, 0, 0, 0,
               "this device is not enrolled at the hub; nothing was stored");
        return FT_OK;
    }
    if (err != FT_OK) {
        return err;
    }
    if (d.revoked) {
        refuse(r, FT_EREVOKED, NULL, 0, 0, 0,
               "this device was revoked at the hub; nothing more is accepted from it");
        return FT_OK;
    }
    if (n == 0) {
        return FT_OK;
    }
    /* First pass, on every core: decode, hash, signature. The entries are
     * independent of each other until the chain check. */
    opened_t *o = calloc(n, sizeof *o);
    if (!o) {
        return FT_ENOMEM;
    }
    first_pass_t fp = {.entries = entries, .device = device, .sign_pk = d.sign_pk, .out = o};
    workpool_run(pool, n, open_one, &fp);
    /* Second pass, in batch order: position, duplicates, chain, store. It
     * stops at the first bad entry exactly as a one-thread check would. */
    for (size_t i = 0; i < n; i++) {
        err = verify_one(t, device, &o[i], &entries[i], i, r);
        if (err != FT_OK) {
            break;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (o[i].open_err == FT_OK) {
            entry_view_free(&o[i].v);
        }
    }
    free(o);
    return err == 1 ? FT_OK : err;
}
