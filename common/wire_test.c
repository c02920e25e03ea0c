/* wire_test.c: the sync codec round-trips every message and refuses
 * malformed, truncated, oversized and wrongly-shaped input with FT_EPROTO. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "wire.h"
#include "wire.pb-c.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Encodes m, decodes the bytes into out; asserts both succeed. */
static void roundtrip(const wire_msg_t *m, wire_msg_t *out)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_encode(m, &buf, &len), FT_OK);
    assert_int_equal(wire_decode(buf, len, out), FT_OK);
    free(buf);
    assert_int_equal(out->kind, m->kind);
}

/* Packs an arbitrary protobuf Msg (for crafting malformed input). */
static uint8_t *pack_raw(const Ft__Wire__Msg *msg, size_t *len)
{
    *len = ft__wire__msg__get_packed_size(msg);
    uint8_t *buf = malloc(*len ? *len : 1);
    assert_non_null(buf);
    ft__wire__msg__pack(msg, buf);
    return buf;
}

static void hello_and_welcome_roundtrip(void **state)
{
    (void)state;
    wire_msg_t m = {.kind = WIRE_HELLO};
    m.u.hello.version = WIRE_VERSION;
    m.u.hello.epoch = 77;
    m.u.hello.head_seq = 12;
    memset(m.u.hello.head_hash, 0xab, 32);
    m.u.hello.wall_ms = -5;
    wire_msg_t d;
    roundtrip(&m, &d);
    assert_int_equal(d.u.hello.epoch, 77);
    assert_int_equal(d.u.hello.head_seq, 12);
    assert_int_equal(d.u.hello.wall_ms, -5);
    assert_memory_equal(d.u.hello.head_hash, m.u.hello.head_hash, 32);
    wire_msg_free(&d);
    wire_msg_free(&d); /* twice is safe */

    wire_msg_t w = {.kind = WIRE_WELCOME};
    w.u.welcome.epoch = 77;
    w.u.welcome.have_seq = 3;
    w.u.welcome.hub_wall_ms = 1000;
    w.u.welcome.max_batch_entries = 256;
    w.u.welcome.max_batch_bytes = 1 << 20;
    memset(w.u.welcome.hub_sign_pk, 7, 32);
    roundtrip(&w, &d);
    assert_int_equal(d.u.welcome.have_seq, 3);
    assert_int_equal(d.u.welcome.max_batch_entries, 256);
    assert_memory_equal(d.u.welcome.hub_sign_pk, w.u.welcome.hub_sign_pk, 32);
    /* an older hub says no ports: 0 */
    assert_int_equal(d.u.welcome.media_port, 0);
    assert_int_equal(d.u.welcome.data_port, 0);
    wire_msg_free(&d);
    /* the hub's media and data ports (docs/protocol.md "Welcome") */
    w.u.welcome.media_port = 9402;
    w.u.welcome.data_port = 9403;
    roundtrip(&w, &d);
    assert_int_equal(d.u.welcome.media_port, 9402);
    assert_int_equal(d.u.welcome.data_port, 9403);
    wire_msg_free(&d);
}

/* A Welcome carries the hub's rule pack with its signature, byte for byte;
 * a pack that came without a signature is passed on marked unsigned (the
 * edge refuses it and syncs on); the encoder refuses one over
 * WIRE_MAX_RULE_PACK; the signature fails on a changed byte or another key. */
static void welcome_carries_the_signed_rule_pack(void **state)
{
    (void)state;
    static const char pack[] = "rule: 1\nkind: coverage\n# \xe5\x85\xa8\n";
    uint8_t pk[32], sk[64], pk2[32], sk2[64];
    crypto_sign_keypair(pk, sk);
    crypto_sign_keypair(pk2, sk2);
    wire_msg_t w = {.kind = WIRE_WELCOME}, d;
    w.u.welcome.max_batch_entries = 1;
    w.u.welcome.max_batch_bytes = 1;
    memcpy(w.u.welcome.hub_sign_pk, pk, 32);
    w.u.welcome.rule_pack = (const uint8_t *)pack;
    w.u.welcome.rule_pack_len = strlen(pack);
    assert_int_equal(
        wire_pack_sign(w.u.welcome.rule_pack, strlen(pack), sk, w.u.welcome.rule_pack_sig), FT_OK);
    roundtrip(&w, &d);
    assert_int_equal(d.u.welcome.rule_pack_len, strlen(pack));
    assert_true(d.u.welcome.rule_pack_signed);
    assert_memory_equal(d.u.welcome.rule_pack, pack, strlen(pack));
    assert_int_equal(wire_pack_verify(d.u.welcome.rule_pack, d.u.welcome.rule_pack_len,
                                      d.u.welcome.rule_pack_sig, d.u.welcome.hub_sign_pk),
                     FT_OK);
    assert_int_equal(wire_pack_verify(d.u.welcome.rule_pack, d.u.welcome.rule_pack_len,
                                      d.u.welcome.rule_pack_sig, pk2),
                     FT_EBADSIG);
    char changed[sizeof pack];
    memcpy(changed, pack, sizeof pack);
    changed[6] = '2';
    assert_int_equal(
        wire_pack_verify((const uint8_t *)changed, strlen(changed), d.u.welcome.rule_pack_sig, pk),
        FT_EBADSIG);
    wire_msg_free(&d);
    /* without a pack: none decoded (a hub before packs) */
    w.u.welcome.rule_pack = NULL;
    roundtrip(&w, &d);
    assert_null(d.u.welcome.rule_pack);
    wire_msg_free(&d);
    /* a pack without its signature: passed on, marked unsigned */
    Ft__Wire__Welcome pw = FT__WIRE__WELCOME__INIT;
    uint8_t zero[32] = {0};
    pw.have_hash.data = pw.hub_sign_pk.data = zero;
    pw.have_hash.len = pw.hub_sign_pk.len = 32;
    pw.max_batch_entries = pw.max_batch_bytes = 1;
    pw.has_rule_pack = true;
    pw.rule_pack.data = (uint8_t *)pack;
    pw.rule_pack.len = strlen(pack);
    Ft__Wire__Msg msg = FT__WIRE__MSG__INIT;
    msg.kind_case = FT__WIRE__MSG__KIND_WELCOME;
    msg.welcome = &pw;
    size_t len = 0;
    uint8_t *buf = pack_raw(&msg, &len);
    assert_int_equal(wire_decode(buf, len, &d), FT_OK);
    assert_non_null(d.u.welcome.rule_pack);
    assert_int_equal(d.u.welcome.rule_pack_len, strlen(pack));
    assert_false(d.u.welcome.rule_pack_signed);
    wire_msg_free(&d);
    free(buf);
    /* a signature of the wrong length: unsigned too */
    uint8_t short_sig[10] = {1};
    pw.has_rule_pack_sig = true;
    pw.rule_pack_sig.data = short_sig;
    pw.rule_pack_sig.len = sizeof short_sig;
    buf = pack_raw(&msg, &len);
    assert_int_equal(wire_decode(buf, len, &d), FT_OK);
    assert_false(d.u.welcome.rule_pack_signed);
    wire_msg_free(&d);
    free(buf);
    /* the encoder refuses a pack over the bound */
    w.u.welcome.rule_pack = (const uint8_t *)pack;
    w.u.welcome.rule_pack_len = WIRE_MAX_RULE_PACK + 1;
    assert_int_equal(wire_encode(&w, &buf, &len), FT_EINVAL);
}

static void batch_roundtrip_keeps_entry_bytes(void **state)
{
    (void)state;
    uint8_t a[] = {1, 2, 3}, b[] = {9};
    wire_bytes_t e[2] = {{a, sizeof a}, {b, sizeof b}};
    wire_msg_t m = {.kind = WIRE_BATCH};
    m.u.batch.n = 2;
    m.u.batch.entries = e;
    m.u.batch.edge_head_seq = 99;
    m.u.batch.first_seq = 41;
    wire_msg_t d;
    roundtrip(&m, &d);
    assert_int_equal(d.u.batch.n, 2);
    assert_int_equal(d.u.batch.edge_head_seq, 99);
    assert_int_equal(d.u.batch.first_seq, 41);
    assert_int_equal(d.u.batch.entries[0].len, 3);
    assert_memory_equal(d.u.batch.entries[0].data, a, 3);
    assert_memory_equal(d.u.batch.entries[1].data, b, 1);
    assert_null(d.u.batch.endpoint_mismatch); /* not said: an older edge */
    wire_msg_free(&d);
}

/* The edge's endpoint report: absent, empty (all agrees) and a sentence are
 * three answers; one too long is refused both ways. */
static void batch_endpoint_mismatch_roundtrip(void **state)
{
    (void)state;
    wire_msg_t m = {.kind = WIRE_BATCH}, d;
    m.u.batch.endpoint_mismatch = "";
    roundtrip(&m, &d);
    assert_non_null(d.u.batch.endpoint_mismatch);
    assert_string_equal(d.u.batch.endpoint_mismatch, "");
    wire_msg_free(&d);
    m.u.batch.endpoint_mismatch = "media.hub is tcp://h:1 but the hub announces media port 2";
    roundtrip(&m, &d);
    assert_string_equal(d.u.batch.endpoint_mismatch,
                        "media.hub is tcp://h:1 but the hub announces media port 2");
    wire_msg_free(&d);
    char big[WIRE_MISMATCH_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    m.u.batch.endpoint_mismatch = big;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_encode(&m, &buf, &len), FT_EINVAL);
    /* and from a peer that packs one anyway */
    Ft__Wire__Batch b = FT__WIRE__BATCH__INIT;
    b.endpoint_mismatch = big;
    Ft__Wire__Msg p = FT__WIRE__MSG__INIT;
    p.kind_case = FT__WIRE__MSG__KIND_BATCH;
    p.batch = &b;
    uint8_t raw[1024];
    size_t n = ft__wire__msg__pack(&p, raw);
    assert_int_equal(wire_decode(raw, n, &d), FT_EPROTO);
}

static void error_ping_pong_roundtrip(void **state)
{
    (void)state;
    wire_msg_t m = {.kind = WIRE_ERROR};
    m.u.error.code = FT_EBADSIG;
    strcpy(m.u.error.reason, "bad_signature");
    strcpy(m.u.error.message, "entry 5: signature does not verify");
    m.u.error.epoch = 4;
    m.u.error.seq = 5;
    wire_msg_t d;
    roundtrip(&m, &d);
    assert_int_equal(d.u.error.code, FT_EBADSIG);
    assert_string_equal(d.u.error.reason, "bad_signature");
    assert_int_equal(d.u.error.seq, 5);
    wire_msg_free(&d);

    wire_msg_t p = {.kind = WIRE_PING, .u.nonce = 42};
    roundtrip(&p, &d);
    assert_int_equal(d.u.nonce, 42);
    wire_msg_free(&d);
    p.kind = WIRE_PONG;
    roundtrip(&p, &d);
    assert_int_equal(d.kind, WIRE_PONG);
    assert_int_equal(d.u.nonce, 42);
    wire_msg_free(&d);
}

static void receipt_seal_open_and_tamper(void **state)
{
    (void)state;
    keys_t k;
    assert_int_equal(keys_generate(&k, false), FT_OK);
    wire_receipt_t r = {.epoch = 9, .upto_seq = 100, .hub_time_ms = 123};
    memset(r.device, 3, DEVID_BYTES);
    memset(r.upto_hash, 4, 32);
    uint8_t *raw = NULL;
    size_t len = 0;
    assert_int_equal(wire_receipt_seal(&r, k.sign_sk, &raw, &len), FT_OK);
    wire_receipt_t got;
    assert_int_equal(wire_receipt_open(raw, len, k.sign_pk, &got), FT_OK);
    assert_int_equal(got.upto_seq, 100);
    assert_memory_equal(got.device, r.device, DEVID_BYTES);

    /* In a Msg: the edge gets the exact SignedReceipt bytes back. */
    wire_msg_t m = {.kind = WIRE_RECEIPT};
    m.u.receipt.raw = raw;
    m.u.receipt.raw_len = len;
    wire_msg_t d;
    roundtrip(&m, &d);
    assert_int_equal(d.u.receipt.raw_len, len);
    assert_memory_equal(d.u.receipt.raw, raw, len);
    assert_int_equal(d.u.receipt.body.upto_seq, 100);
    wire_msg_free(&d);

    /* Another key, or any flipped byte, fails. */
    keys_t other;
    assert_int_equal(keys_generate(&other, false), FT_OK);
    assert_int_equal(wire_receipt_open(raw, len, other.sign_pk, &got), FT_EBADSIG);
    for (size_t i = 0; i < len; i++) {
        raw[i] ^= 0x20;
        int err = wire_receipt_open(raw, len, k.sign_pk, &got);
        assert_true(err == FT_EBADSIG || err == FT_EPROTO);
        raw[i] ^= 0x20;
    }
    free(raw);
    keys_wipe(&k);
    keys_wipe(&other);
}

static void truncated_and_garbage_input_is_eproto(void **state)
{
    (void)state;
    uint8_t e1[40];
    memset(e1, 0x11, sizeof e1);
    wire_bytes_t e[1] = {{e1, sizeof e1}};
    wire_msg_t m = {.kind = WIRE_BATCH};
    m.u.batch.n = 1;
    m.u.batch.entries = e;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_encode(&m, &buf, &len), FT_OK);
    wire_msg_t d;
    for (size_t cut = 0; cut < len; cut++) {
        assert_int_equal(wire_decode(buf, cut, &d), FT_EPROTO);
    }
    free(buf);

    assert_int_equal(wire_decode(NULL, 0, &d), FT_EPROTO);
    uint8_t junk[256];
    uint32_t seed = 1;
    for (int round = 0; round < 2000; round++) {
        for (size_t i = 0; i < sizeof junk; i++) {
            seed = seed * 1103515245u + 12345u;
            junk[i] = (uint8_t)(seed >> 16);
        }
        size_t n = 1 + (seed % sizeof junk);
        int err = wire_decode(junk, n, &d);
        if (err == FT_OK) {
            wire_msg_free(&d); /* random bytes may form a valid message */
        } else {
            assert_int_equal(err, FT_EPROTO);
        }
    }
}

static void empty_msg_and_wrong_lengths_are_eproto(void **state)
{
    (void)state;
    wire_msg_t d;
    /* A Msg with no kind set (only an unknown field 10). */
    uint8_t unknown_only[] = {0x50, 0x01};
    assert_int_equal(wire_decode(unknown_only, sizeof unknown_only, &d), FT_EPROTO);
    Ft__Wire__Msg msg = FT__WIRE__MSG__INIT;
    size_t len;
    uint8_t *buf;

    /* Hello whose head_hash is 31 bytes. */
    uint8_t h31[31] = {0};
    Ft__Wire__Hello h = FT__WIRE__HELLO__INIT;
    h.version = 1;
    h.head_hash.data = h31;
    h.head_hash.len = sizeof h31;
    msg.kind_case = FT__WIRE__MSG__KIND_HELLO;
    msg.hello = &h;
    buf = pack_raw(&msg, &len);
    assert_int_equal(wire_decode(buf, len, &d), FT_EPROTO);
    free(buf);

    /* Welcome whose hub key is 33 bytes, and one with a zero batch limit. */
    uint8_t k33[33] = {0}, h32[32] = {0};
    Ft__Wire__Welcome w = FT__WIRE__WELCOME__INIT;
    w.have_hash.data = h32;
    w.have_hash.len = 32;
    w.hub_sign_pk.data = k33;
    w.hub_sign_pk.len = sizeof k33;
    w.max_batch_entries = 1;
    w.max_batch_bytes = 1;
    msg.kind_case = FT__WIRE__MSG__KIND_WELCOME;
    msg.welcome = &w;
    buf = pack_raw(&msg, &len);
    assert_int_equal(wire_decode(buf, len, &d), FT_EPROTO);
    free(buf);
    w.hub_sign_pk.len = 32;
    w.max_batch_entries = 0;
    buf = pack_raw(&msg, &len);
    assert_int_equal(wire_decode(buf, len, &d), FT_EPROTO);
    free(buf);

    /* Receipt with a 63-byte signature, and one whose body does not decode. */
    uint8_t sig63[63] = {0}, body[3] = {0xff, 0xff, 0xff};
    Ft__Wire__SignedReceipt sr = FT__WIRE__SIGNED_RECEIPT__INIT;
    sr.body.data = body;
    sr.body.len = sizeof body;
    sr.signature.data = sig63;
    sr.signature.len = sizeof sig63;
    msg.kind_case = FT__WIRE__MSG__KIND_RECEIPT;
    msg.receipt = &sr;
    buf = pack_raw(&msg, &len);
    assert_int_equal(wire_decode(buf, len, &d), FT_EPROTO);
    free(buf);
    uint8_t sig64[64] = {0};
    sr.signature.data = sig64;
    sr.signature.len = sizeof sig64;
    buf = pack_raw(&msg, &len);
    assert_int_equal(wire_decode(buf, len, &d), FT_EPROTO);
    free(buf);
}

static void batch_bounds_are_enforced(void **state)
{
    (void)state;
    wire_msg_t d;
    /* An empty entry inside a batch. */
    ProtobufCBinaryData one[1] = {{0, NULL}};
    Ft__Wire__Batch b = FT__WIRE__BATCH__INIT;
    b.n_entries = 1;
    b.entries = one;
    Ft__Wire__Msg msg = FT__WIRE__MSG__INIT;
    msg.kind_case = FT__WIRE__MSG__KIND_BATCH;
    msg.batch = &b;
    size_t len;
    uint8_t *buf = pack_raw(&msg, &len);
    assert_int_equal(wire_decode(buf, len, &d), FT_EPROTO);
    free(buf);

    /* More entries than WIRE_MAX_BATCH_ENTRIES. */
    size_t n = WIRE_MAX_BATCH_ENTRIES + 1;
    ProtobufCBinaryData *many = calloc(n, sizeof *many);
    uint8_t x = 1;
    for (size_t i = 0; i < n; i++) {
        many[i].data = &x;
        many[i].len = 1;
    }
    b.n_entries = n;
    b.entries = many;
    buf = pack_raw(&msg, &len);
    assert_int_equal(wire_decode(buf, len, &d), FT_EPROTO);
    free(buf);

    /* The encoder refuses the same. */
    wire_bytes_t *e = calloc(n, sizeof *e);
    for (size_t i = 0; i < n; i++) {
        e[i].data = &x;
        e[i].len = 1;
    }
    wire_msg_t m = {.kind = WIRE_BATCH};
    m.u.batch.n = n;
    m.u.batch.entries = e;
    assert_int_equal(wire_encode(&m, &buf, &len), FT_EINVAL);
    free(e);
    free(many);

    /* An entry larger than ENTRY_MAX_BYTES. */
    uint8_t *big = calloc(1, ENTRY_MAX_BYTES + 1);
    ProtobufCBinaryData bigv[1] = {{ENTRY_MAX_BYTES + 1, big}};
    b.n_entries = 1;
    b.entries = bigv;
    buf = pack_raw(&msg, &len);
    assert_int_equal(wire_decode(buf, len, &d), FT_EPROTO);
    free(buf);
    free(big);

    /* Input longer than WIRE_MAX_MSG_BYTES is refused before parsing. */
    uint8_t tiny[4] = {0};
    assert_int_equal(wire_decode(tiny, WIRE_MAX_MSG_BYTES + 1, &d), FT_EPROTO);
}

static void error_text_bounds_are_enforced(void **state)
{
    (void)state;
    wire_msg_t d;
    char *longtext = malloc(WIRE_MAX_TEXT + 10);
    memset(longtext, 'a', WIRE_MAX_TEXT + 9);
    longtext[WIRE_MAX_TEXT + 9] = '\0';
    Ft__Wire__Error e = FT__WIRE__ERROR__INIT;
    e.code = -1;
    e.reason = "x";
    e.message = longtext;
    Ft__Wire__Msg msg = FT__WIRE__MSG__INIT;
    msg.kind_case = FT__WIRE__MSG__KIND_ERROR;
    msg.error = &e;
    size_t len;
    uint8_t *buf = pack_raw(&msg, &len);
    assert_int_equal(wire_decode(buf, len, &d), FT_EPROTO);
    free(buf);
    e.message = "ok";
    e.reason = longtext;
    buf = pack_raw(&msg, &len);
    assert_int_equal(wire_decode(buf, len, &d), FT_EPROTO);
    free(buf);
    free(longtext);
}

static void unknown_kind_is_refused_by_encoder(void **state)
{
    (void)state;
    wire_msg_t m = {.kind = (wire_kind)99};
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_encode(&m, &buf, &len), FT_EINVAL);
    assert_null(buf);
    m.kind = WIRE_RECEIPT; /* without raw bytes */
    assert_int_equal(wire_encode(&m, &buf, &len), FT_EINVAL);
    assert_string_equal(wire_kind_name(WIRE_BATCH), "batch");
}

static void endpoints_give_and_take_their_port(void **state)
{
    (void)state;
    assert_int_equal(wire_endpoint_port("tcp://127.0.0.1:7400"), 7400);
    assert_int_equal(wire_endpoint_port("tcp://*:7402"), 7402);
    assert_int_equal(wire_endpoint_port("tcp://[::1]:65535"), 65535);
    assert_int_equal(wire_endpoint_port("tcp://hub.example:1"), 1);
    assert_int_equal(wire_endpoint_port("tcp://127.0.0.1:*"), 0);
    assert_int_equal(wire_endpoint_port("tcp://127.0.0.1:0"), 0);
    assert_int_equal(wire_endpoint_port("tcp://127.0.0.1:65536"), 0);
    assert_int_equal(wire_endpoint_port("tcp://127.0.0.1:74x"), 0);
    assert_int_equal(wire_endpoint_port("tcp://127.0.0.1:"), 0);
    assert_int_equal(wire_endpoint_port("tcp://127.0.0.1"), 0);
    assert_int_equal(wire_endpoint_port("tcp://[::1]"), 0);
    assert_int_equal(wire_endpoint_port(""), 0);
    char out[64];
    assert_int_equal(wire_endpoint_with_port("tcp://127.0.0.1:7400", 7402, out, sizeof out), FT_OK);
    assert_string_equal(out, "tcp://127.0.0.1:7402");
    assert_int_equal(wire_endpoint_with_port("tcp://*:7402", 7403, out, sizeof out), FT_OK);
    assert_string_equal(out, "tcp://*:7403");
    assert_int_equal(wire_endpoint_with_port("tcp://[::1]:7402", 9, out, sizeof out), FT_OK);
    assert_string_equal(out, "tcp://[::1]:9");
    assert_int_equal(wire_endpoint_with_port("tcp://127.0.0.1", 7402, out, sizeof out), FT_EINVAL);
    assert_int_equal(wire_endpoint_with_port("tcp://[::1]", 7402, out, sizeof out), FT_EINVAL);
    assert_int_equal(wire_endpoint_with_port("tcp://h:1", 0, out, sizeof out), FT_EINVAL);
    assert_int_equal(wire_endpoint_with_port("tcp://h:1", 65536, out, sizeof out), FT_EINVAL);
    assert_int_equal(wire_endpoint_with_port("tcp://127.0.0.1:7400", 7402, out, 20), FT_EINVAL);
    assert_int_equal(wire_endpoint_with_port("tcp://127.0.0.1:7400", 7402, out, 21), FT_OK);
}

int main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hello_and_welcome_roundtrip),
        cmocka_unit_test(welcome_carries_the_signed_rule_pack),
        cmocka_unit_test(batch_roundtrip_keeps_entry_bytes),
        cmocka_unit_test(batch_endpoint_mismatch_roundtrip),
        cmocka_unit_test(error_ping_pong_roundtrip),
        cmocka_unit_test(receipt_seal_open_and_tamper),
        cmocka_unit_test(truncated_and_garbage_input_is_eproto),
        cmocka_unit_test(empty_msg_and_wrong_lengths_are_eproto),
        cmocka_unit_test(batch_bounds_are_enforced),
        cmocka_unit_test(error_text_bounds_are_enforced),
        cmocka_unit_test(unknown_kind_is_refused_by_encoder),
        cmocka_unit_test(endpoints_give_and_take_their_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
