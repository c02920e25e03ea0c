/* verify_test.c: the hub's per-batch verification accepts a good chain,
 * skips exact duplicates, and refuses each kind of bad entry with its own
 * reason, storing the good entries before it and nothing from it on. Every
 * case runs twice: on the calling thread alone (verify_batch) and with the
 * signature checks on a pool of threads (verify_batch_pool); and a forged
 * signature at each index of a batch, or entries out of order, get the same
 * verdict from both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "verify.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPOCH 1234

/* A test fixture: a store with devices A and B enrolled, C not. */
typedef struct {
    char dir[512];
    store_t *store;
    keys_t a, b, c;
    uint8_t ida[DEVID_BYTES], idb[DEVID_BYTES], idc[DEVID_BYTES];
    workpool_t *pool; /* NULL: verify_batch; else verify_batch_pool on it */
} fx_t;

/* One sealed entry. */
typedef struct {
    uint8_t *raw;
    size_t len;
    uint8_t hash[32];
} sealed_t;

static void enrol(store_t *s, const keys_t *k, bool revoked)
{
    store_device_t d = {0};
    devid_from_pk(k->sign_pk, d.device);
    memcpy(d.sign_pk, k->sign_pk, 32);
    memcpy(d.transport_pk, k->box_pk, 32);
    snprintf(d.unit, sizeof d.unit, "unit");
    snprintf(d.vehicle, sizeof d.vehicle, "vehicle");
    d.revoked = revoked;
    store_txn_t *t = NULL;
    assert_int_equal(store_begin(s, true, &t), FT_OK);
    assert_int_equal(store_device_put(t, &d), FT_OK);
    assert_int_equal(store_commit(&t), FT_OK);
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    testutil_tmpdir(fx->dir, sizeof fx->dir, "verify_test");
    assert_int_equal(store_open(fx->dir, 64 << 20, &fx->store), FT_OK);
    assert_int_equal(keys_generate(&fx->a, false), FT_OK);
    assert_int_equal(keys_generate(&fx->b, false), FT_OK);
    assert_int_equal(keys_generate(&fx->c, false), FT_OK);
    devid_from_pk(fx->a.sign_pk, fx->ida);
    devid_from_pk(fx->b.sign_pk, fx->idb);
    devid_from_pk(fx->c.sign_pk, fx->idc);
    enrol(fx->store, &fx->a, false);
    enrol(fx->store, &fx->b, false);
    *state = fx;
    return 0;
}

/* The same fixture with a pool of 4 threads (more than this machine may
 * have cores: the entries of a batch are split among threads either way). */
static int setup_pool(void **state)
{
    setup(state);
    fx_t *fx = *state;
    assert_int_equal(workpool_new(4, &fx->pool), FT_OK);
    assert_int_equal(workpool_size(fx->pool), 4);
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    workpool_destroy(&fx->pool);
    store_destroy(&fx->store);
    testutil_rmrf(fx->dir);
    keys_wipe(&fx->a);
    keys_wipe(&fx->b);
    keys_wipe(&fx->c);
    free(fx);
    return 0;
}

/* Seals an entry of k's device at (epoch, seq) chained to prev, with a detail text. */
static sealed_t seal(const keys_t *k, uint64_t epoch, uint64_t seq, const uint8_t *prev,
                     const char *detail)
{
    uint8_t id[DEVID_BYTES];
    devid_from_pk(k->sign_pk, id);
    Ft__DeviceEvent ev = FT__DEVICE_EVENT__INIT;
    ev.kind = FT__DEVICE_EVENT_KIND__DEVICE_STARTED;
    ev.detail = (char *)detail;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_EVENT;
    body.event = &ev;
    Ft__Entry e = FT__ENTRY__INIT;
    e.device.data = id;
    e.device.len = DEVID_BYTES;
    e.epoch = epoch;
    e.seq = seq;
    e.hlc = 42 + seq;
    e.prev_hash.data = (uint8_t *)prev;
    e.prev_hash.len = 32;
    e.body = &body;
    sealed_t s;
    assert_int_equal(entry_seal(&e, k, &s.raw, &s.len, s.hash), FT_OK);
    return s;
}

/* A correct chain 1..n of k's device. */
static sealed_t *chain(const keys_t *k, uint64_t epoch, size_t n)
{
    sealed_t *c = calloc(n, sizeof *c);
    uint8_t prev[32] = {0};
    for (size_t i = 0; i < n; i++) {
        char detail[32];
        snprintf(detail, sizeof detail, "entry %zu", i + 1);
        c[i] = seal(k, epoch, i + 1, prev, detail);
        memcpy(prev, c[i].hash, 32);
    }
    return c;
}

static void free_chain(sealed_t *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(c[i].raw);
    }
    free(c);
}

/* Runs verify_batch on the given entries as device `as` and commits. */
static verify_result_t run(fx_t *fx, const uint8_t *as, sealed_t **picks, size_t n)
{
    wire_bytes_t *b = calloc(n ? n : 1, sizeof *b);
    for (size_t i = 0; i < n; i++) {
        b[i].data = picks[i]->raw;
        b[i].len = picks[i]->len;
    }
    store_txn_t *t = NULL;
    verify_result_t r;
    assert_int_equal(store_begin(fx->store, true, &t), FT_OK);
    if (fx->pool) {
        assert_int_equal(verify_batch_pool(t, as, b, n, fx->pool, &r), FT_OK);
    } else {
        assert_int_equal(verify_batch(t, as, b, n, &r), FT_OK);
    }
    assert_int_equal(store_commit(&t), FT_OK);
    free(b);
    return r;
}

static uint64_t head_of(fx_t *fx, const uint8_t *dev, uint64_t epoch)
{
    store_txn_t *t = NULL;
    store_head_t h;
    assert_int_equal(store_begin(fx->store, false, &t), FT_OK);
    assert_int_equal(store_head_get(t, dev, epoch, &h), FT_OK);
    store_abort(&t);
    return h.seq;
}

static uint64_t stored_count(fx_t *fx)
{
    store_txn_t *t = NULL;
    uint64_t n = 0, last = 0;
    assert_int_equal(store_begin(fx->store, false, &t), FT_OK);
    assert_int_equal(store_entry_count(t, &n, &last), FT_OK);
    store_abort(&t);
    return n;
}

static void good_chain_is_stored_and_head_advances(void **state)
{
    fx_t *fx = *state;
    sealed_t *c = chain(&fx->a, EPOCH, 5);
    sealed_t *p[5] = {&c[0], &c[1], &c[2], &c[3], &c[4]};
    verify_result_t r = run(fx, fx->ida, p, 3);
    assert_int_equal(r.err, FT_OK);
    assert_null(r.reason);
    assert_int_equal(r.accepted, 3);
    assert_int_equal(r.head.seq, 3);
    assert_memory_equal(r.head.hash, c[2].hash, 32);
    r = run(fx, fx->ida, p + 3, 2);
    assert_int_equal(r.accepted, 2);
    assert_int_equal(head_of(fx, fx->ida, EPOCH), 5);
    free_chain(c, 5);
}

static void replayed_batch_changes_nothing(void **state)
{
    fx_t *fx = *state;
    sealed_t *c = chain(&fx->a, EPOCH, 4);
    sealed_t *p[4] = {&c[0], &c[1], &c[2], &c[3]};
    assert_int_equal(run(fx, fx->ida, p, 4).accepted, 4);
    verify_result_t r = run(fx, fx->ida, p, 2);
    assert_int_equal(r.err, FT_OK);
    assert_int_equal(r.accepted, 0);
    assert_int_equal(r.duplicates, 2);
    assert_int_equal(r.head.seq, 4);
    /* Overlapping: 3, 4 held, 5 new. */
    free_chain(c, 4);
    c = chain(&fx->a, EPOCH, 5);
    sealed_t *q[3] = {&c[2], &c[3], &c[4]};
    r = run(fx, fx->ida, q, 3);
    assert_int_equal(r.err, FT_OK);
    assert_int_equal(r.duplicates, 2);
    assert_int_equal(r.accepted, 1);
    assert_int_equal(stored_count(fx), 5);
    free_chain(c, 5);
}

static void flipped_byte_is_bad_signature(void **state)
{
    fx_t *fx = *state;
    sealed_t *c = chain(&fx->a, EPOCH, 4);
    c[2].raw[c[2].len - 1] ^= 0x01; /* last byte of the signature */
    sealed_t *p[4] = {&c[0], &c[1], &c[2], &c[3]};
    verify_result_t r = run(fx, fx->ida, p, 4);
    assert_int_equal(r.err, FT_EBADSIG);
    assert_string_equal(r.reason, VERIFY_BAD_SIGNATURE);
    assert_int_equal(r.bad_index, 2);
    assert_int_equal(r.bad_seq, 3);
    assert_int_equal(r.accepted, 2);
    assert_int_equal(head_of(fx, fx->ida, EPOCH), 2);
    free_chain(c, 4);
}

static void broken_link_is_broken_chain(void **state)
{
    fx_t *fx = *state;
    sealed_t *c = chain(&fx->a, EPOCH, 2);
    uint8_t wrong[32];
    memset(wrong, 0x5a, sizeof wrong);
    sealed_t forged = seal(&fx->a, EPOCH, 3, wrong, "validly signed, wrong link");
    sealed_t *p[3] = {&c[0], &c[1], &forged};
    verify_result_t r = run(fx, fx->ida, p, 3);
    assert_int_equal(r.err, FT_ECHAIN);
    assert_string_equal(r.reason, VERIFY_BROKEN_CHAIN);
    assert_int_equal(r.bad_seq, 3);
    assert_int_equal(head_of(fx, fx->ida, EPOCH), 2);
    free(forged.raw);
    free_chain(c, 2);
}

static void seq_gap_is_missing_seq(void **state)
{
    fx_t *fx = *state;
    sealed_t *c = chain(&fx->a, EPOCH, 5);
    sealed_t *p[3] = {&c[0], &c[1], &c[3]};
    verify_result_t r = run(fx, fx->ida, p, 3);
    assert_int_equal(r.err, FT_EGAP);
    assert_string_equal(r.reason, VERIFY_MISSING_SEQ);
    assert_int_equal(r.bad_seq, 4);
    assert_int_equal(head_of(fx, fx->ida, EPOCH), 2);
    /* A new epoch must start at 1 too. */
    sealed_t *d = chain(&fx->a, EPOCH + 1, 2);
    sealed_t *q[1] = {&d[1]};
    r = run(fx, fx->ida, q, 1);
    assert_string_equal(r.reason, VERIFY_MISSING_SEQ);
    sealed_t *q2[2] = {&d[0], &d[1]};
    r = run(fx, fx->ida, q2, 2);
    assert_int_equal(r.err, FT_OK);
    assert_int_equal(head_of(fx, fx->ida, EPOCH + 1), 2);
    assert_int_equal(head_of(fx, fx->ida, EPOCH), 2);
    free_chain(d, 2);
    free_chain(c, 5);
}

static void entry_of_other_enrolled_device_is_wrong_signer(void **state)
{
    fx_t *fx = *state;
    sealed_t *a = chain(&fx->a, EPOCH, 1);
    sealed_t *b = chain(&fx->b, EPOCH, 1);
    sealed_t *p[2] = {&a[0], &b[0]};
    verify_result_t r = run(fx, fx->ida, p, 2);
    assert_int_equal(r.err, FT_ESIGNER);
    assert_string_equal(r.reason, VERIFY_WRONG_SIGNER);
    assert_int_equal(r.bad_index, 1);
    assert_int_equal(r.accepted, 1);
    assert_int_equal(head_of(fx, fx->idb, EPOCH), 0);
    free_chain(a, 1);
    free_chain(b, 1);
}

static void entry_of_unenrolled_device_is_unenrolled_signer(void **state)
{
    fx_t *fx = *state;
    sealed_t *c = chain(&fx->c, EPOCH, 1);
    sealed_t *p[1] = {&c[0]};
    verify_result_t r = run(fx, fx->ida, p, 1);
    assert_int_equal(r.err, FT_ESIGNER);
    assert_string_equal(r.reason, VERIFY_UNENROLLED_SIGNER);
    assert_int_equal(stored_count(fx), 0);
    free_chain(c, 1);
}

static void entry_claiming_device_but_signed_by_another_is_bad_signature(void **state)
{
    fx_t *fx = *state;
    /* B signs an entry that names A's device: the device field matches the
     * connection, the signature does not match A's key. */
    uint8_t zero[32] = {0};
    Ft__DeviceEvent ev = FT__DEVICE_EVENT__INIT;
    ev.kind = FT__DEVICE_EVENT_KIND__DEVICE_STARTED;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_EVENT;
    body.event = &ev;
    Ft__Entry e = FT__ENTRY__INIT;
    e.device.data = fx->ida;
    e.device.len = DEVID_BYTES;
    e.epoch = EPOCH;
    e.seq = 1;
    e.prev_hash.data = zero;
    e.prev_hash.len = 32;
    e.body = &body;
    sealed_t s;
    assert_int_equal(entry_seal(&e, &fx->b, &s.raw, &s.len, s.hash), FT_OK);
    sealed_t *p[1] = {&s};
    verify_result_t r = run(fx, fx->ida, p, 1);
    assert_string_equal(r.reason, VERIFY_BAD_SIGNATURE);
    assert_int_equal(stored_count(fx), 0);
    free(s.raw);
}

static void second_signed_entry_at_held_seq_is_equivocation(void **state)
{
    fx_t *fx = *state;
    sealed_t *c = chain(&fx->a, EPOCH, 3);
    sealed_t *p[3] = {&c[0], &c[1], &c[2]};
    assert_int_equal(run(fx, fx->ida, p, 3).accepted, 3);
    sealed_t other = seal(&fx->a, EPOCH, 2, c[0].hash, "a different entry 2");
    sealed_t *q[1] = {&other};
    verify_result_t r = run(fx, fx->ida, q, 1);
    assert_int_equal(r.err, FT_EDUP);
    assert_string_equal(r.reason, VERIFY_EQUIVOCATION);
    assert_int_equal(r.bad_seq, 2);
    /* The held entry stays. */
    store_txn_t *t = NULL;
    const uint8_t *raw;
    size_t len;
    assert_int_equal(store_begin(fx->store, false, &t), FT_OK);
    assert_int_equal(store_entry_get(t, fx->ida, EPOCH, 2, &raw, &len), FT_OK);
    assert_int_equal(len, c[1].len);
    assert_memory_equal(raw, c[1].raw, len);
    store_abort(&t);
    /* An altered copy of a held entry is a bad signature, not equivocation. */
    c[1].raw[c[1].len - 1] ^= 0x80;
    sealed_t *q2[1] = {&c[1]};
    r = run(fx, fx->ida, q2, 1);
    assert_string_equal(r.reason, VERIFY_BAD_SIGNATURE);
    free(other.raw);
    free_chain(c, 3);
}

static void garbage_and_seq_zero_are_malformed(void **state)
{
    fx_t *fx = *state;
    uint8_t junk[] = {0xde, 0xad, 0xbe, 0xef};
    sealed_t g = {junk, sizeof junk, {0}};
    sealed_t *p[1] = {&g};
    verify_result_t r = run(fx, fx->ida, p, 1);
    assert_int_equal(r.err, FT_ECORRUPT);
    assert_string_equal(r.reason, VERIFY_MALFORMED);
    assert_int_equal(r.bad_seq, 0);
    uint8_t zero[32] = {0};
    sealed_t z = seal(&fx->a, EPOCH, 0, zero, "seq zero");
    p[0] = &z;
    r = run(fx, fx->ida, p, 1);
    assert_string_equal(r.reason, VERIFY_MALFORMED);
    assert_int_equal(stored_count(fx), 0);
    free(z.raw);
}

static void revoked_or_unknown_connection_stores_nothing(void **state)
{
    fx_t *fx = *state;
    sealed_t *c = chain(&fx->c, EPOCH, 1);
    sealed_t *p[1] = {&c[0]};
    verify_result_t r = run(fx, fx->idc, p, 1);
    assert_int_equal(r.err, FT_ESIGNER);
    assert_null(r.reason); /* not an integrity event: the connection itself is refused */
    enrol(fx->store, &fx->c, true);
    r = run(fx, fx->idc, p, 1);
    assert_int_equal(r.err, FT_EREVOKED);
    assert_null(r.reason);
    assert_int_equal(stored_count(fx), 0);
    free_chain(c, 1);
}

static void empty_batch_is_fine(void **state)
{
    fx_t *fx = *state;
    verify_result_t r = run(fx, fx->ida, NULL, 0);
    assert_int_equal(r.err, FT_OK);
    assert_int_equal(r.accepted, 0);
    assert_int_equal(r.epoch, 0);
}

/* Verifies picks as device A on a scratch store (nothing committed), with
 * pool or without, and returns the verdict and what the transaction held. */
static verify_result_t trial(fx_t *fx, workpool_t *pool, sealed_t *c, size_t n, uint64_t *held)
{
    wire_bytes_t *b = calloc(n, sizeof *b);
    for (size_t i = 0; i < n; i++) {
        b[i].data = c[i].raw;
        b[i].len = c[i].len;
    }
    store_txn_t *t = NULL;
    verify_result_t r;
    store_head_t h;
    assert_int_equal(store_begin(fx->store, true, &t), FT_OK);
    assert_int_equal(verify_batch_pool(t, fx->ida, b, n, pool, &r), FT_OK);
    assert_int_equal(store_head_get(t, fx->ida, EPOCH, &h), FT_OK);
    *held = h.seq;
    store_abort(&t);
    free(b);
    return r;
}

static void assert_same_verdict(const verify_result_t *x, const verify_result_t *y)
{
    assert_int_equal(x->err, y->err);
    assert_true(x->reason == y->reason ||
                (x->reason && y->reason && strcmp(x->reason, y->reason) == 0));
    assert_int_equal(x->bad_index, y->bad_index);
    assert_int_equal(x->bad_seq, y->bad_seq);
    assert_int_equal(x->accepted, y->accepted);
    assert_int_equal(x->duplicates, y->duplicates);
    assert_int_equal(x->head.seq, y->head.seq);
    assert_memory_equal(x->head.hash, y->head.hash, 32);
    assert_string_equal(x->detail, y->detail);
}

/* A forged signature at any index of a 64-entry batch: refused as
 * bad_signature at that index, the entries before it stored, none after,
 * with and without the pool alike. */
static void forged_signature_anywhere_is_refused_alike(void **state)
{
    fx_t *fx = *state;
    workpool_t *pool = NULL;
    assert_int_equal(workpool_new(3, &pool), FT_OK);
    enum { N = 64 };
    sealed_t *c = chain(&fx->a, EPOCH, N);
    for (size_t bad = 0; bad < N; bad++) {
        c[bad].raw[c[bad].len - 1 - bad % 60] ^= 0x40; /* a byte of the signature */
        uint64_t held_seq = 0, held_pool = 0;
        verify_result_t seq1 = trial(fx, NULL, c, N, &held_seq);
        verify_result_t par = trial(fx, pool, c, N, &held_pool);
        assert_int_equal(par.err, FT_EBADSIG);
        assert_string_equal(par.reason, VERIFY_BAD_SIGNATURE);
        assert_int_equal(par.bad_index, bad);
        assert_int_equal(par.bad_seq, bad + 1);
        assert_int_equal(par.accepted, bad);
        assert_int_equal(held_pool, bad);
        assert_int_equal(held_seq, held_pool);
        assert_same_verdict(&seq1, &par);
        c[bad].raw[c[bad].len - 1 - bad % 60] ^= 0x40;
    }
    /* Two forged: the first one is named. */
    c[10].raw[c[10].len - 1] ^= 1;
    c[50].raw[c[50].len - 1] ^= 1;
    uint64_t held = 0;
    verify_result_t r = trial(fx, pool, c, N, &held);
    assert_int_equal(r.bad_index, 10);
    assert_int_equal(held, 10);
    free_chain(c, N);
    workpool_destroy(&pool);
}

/* Validly signed entries out of order: the chain check stays in batch
 * order, so the pool gives missing_seq at the same index; a validly signed
 * entry with a wrong link is broken_chain at its index. */
static void order_and_chain_are_checked_in_batch_order(void **state)
{
    fx_t *fx = *state;
    workpool_t *pool = NULL;
    assert_int_equal(workpool_new(2, &pool), FT_OK);
    enum { N = 32 };
    sealed_t *c = chain(&fx->a, EPOCH, N);
    sealed_t tmp = c[20];
    c[20] = c[21];
    c[21] = tmp;
    uint64_t h1 = 0, h2 = 0;
    verify_result_t a = trial(fx, NULL, c, N, &h1);
    verify_result_t b = trial(fx, pool, c, N, &h2);
    assert_int_equal(b.err, FT_EGAP);
    assert_string_equal(b.reason, VERIFY_MISSING_SEQ);
    assert_int_equal(b.bad_index, 20);
    assert_int_equal(h2, 20);
    assert_same_verdict(&a, &b);
    c[21] = c[20];
    c[20] = tmp;
    uint8_t wrong[32];
    memset(wrong, 0x33, sizeof wrong);
    free(c[25].raw);
    c[25] = seal(&fx->a, EPOCH, 26, wrong, "validly signed, wrong link");
    a = trial(fx, NULL, c, N, &h1);
    b = trial(fx, pool, c, N, &h2);
    assert_string_equal(b.reason, VERIFY_BROKEN_CHAIN);
    assert_int_equal(b.bad_index, 25);
    assert_int_equal(h2, 25);
    assert_same_verdict(&a, &b);
    free_chain(c, N);
    workpool_destroy(&pool);
}

int main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(good_chain_is_stored_and_head_advances, setup, teardown),
        cmocka_unit_test_setup_teardown(replayed_batch_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(flipped_byte_is_bad_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(broken_link_is_broken_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(seq_gap_is_missing_seq, setup, teardown),
        cmocka_unit_test_setup_teardown(entry_of_other_enrolled_device_is_wrong_signer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(entry_of_unenrolled_device_is_unenrolled_signer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            entry_claiming_device_but_signed_by_another_is_bad_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(second_signed_entry_at_held_seq_is_equivocation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(garbage_and_seq_zero_are_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(revoked_or_unknown_connection_stores_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(empty_batch_is_fine, setup, teardown),
        cmocka_unit_test_setup_teardown(good_chain_is_stored_and_head_advances, setup_pool,
                                        teardown),
        cmocka_unit_test_setup_teardown(replayed_batch_changes_nothing, setup_pool, teardown),
        cmocka_unit_test_setup_teardown(flipped_byte_is_bad_signature, setup_pool, teardown),
        cmocka_unit_test_setup_teardown(broken_link_is_broken_chain, setup_pool, teardown),
        cmocka_unit_test_setup_teardown(seq_gap_is_missing_seq, setup_pool, teardown),
        cmocka_unit_test_setup_teardown(entry_of_other_enrolled_device_is_wrong_signer, setup_pool,
                                        teardown),
        cmocka_unit_test_setup_teardown(entry_of_unenrolled_device_is_unenrolled_signer, setup_pool,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            entry_claiming_device_but_signed_by_another_is_bad_signature, setup_pool, teardown),
        cmocka_unit_test_setup_teardown(second_signed_entry_at_held_seq_is_equivocation, setup_pool,
                                        teardown),
        cmocka_unit_test_setup_teardown(garbage_and_seq_zero_are_malformed, setup_pool, teardown),
        cmocka_unit_test_setup_teardown(revoked_or_unknown_connection_stores_nothing, setup_pool,
                                        teardown),
        cmocka_unit_test_setup_teardown(empty_batch_is_fine, setup_pool, teardown),
        cmocka_unit_test_setup_teardown(forged_signature_anywhere_is_refused_alike, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(order_and_chain_are_checked_in_batch_order, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
