/* mediawire_test.c: media message codec and signed completion receipts. */
#include "mediawire.h"
#include "wire.pb-c.h"

#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void every_kind_round_trips(void **state)
{
    (void)state;
    uint8_t ids[2][MEDIA_FILE_ID_BYTES];
    memset(ids, 7, sizeof ids);
    uint8_t data[100];
    memset(data, 9, sizeof data);
    mwire_msg_t in[4] = {{.kind = MWIRE_HELLO},
                         {.kind = MWIRE_WELCOME},
                         {.kind = MWIRE_REQUEST},
                         {.kind = MWIRE_CHUNK}};
    in[0].u.hello.version = MWIRE_VERSION;
    in[0].u.hello.n_pending = 2;
    in[0].u.hello.pending = (const uint8_t(*)[MEDIA_FILE_ID_BYTES])ids;
    memset(in[1].u.welcome.hub_sign_pk, 3, 32);
    in[1].u.welcome.window = 4;
    memset(in[2].u.request.file_id, 5, MEDIA_FILE_ID_BYTES);
    in[2].u.request.index = 77;
    memset(in[3].u.chunk.file_id, 6, MEDIA_FILE_ID_BYTES);
    in[3].u.chunk.index = 3;
    in[3].u.chunk.data = data;
    in[3].u.chunk.len = sizeof data;
    for (int i = 0; i < 4; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        assert_int_equal(mwire_encode(&in[i], &buf, &len), FT_OK);
        mwire_msg_t out;
        assert_int_equal(mwire_decode(buf, len, &out), FT_OK);
        assert_int_equal(out.kind, in[i].kind);
        switch (out.kind) {
        case MWIRE_HELLO:
            assert_int_equal(out.u.hello.n_pending, 2);
            assert_memory_equal(out.u.hello.pending, ids, sizeof ids);
            break;
        case MWIRE_WELCOME:
            assert_int_equal(out.u.welcome.window, 4);
            break;
        case MWIRE_REQUEST:
            assert_int_equal(out.u.request.index, 77);
            break;
        case MWIRE_CHUNK:
            assert_int_equal(out.u.chunk.len, sizeof data);
            assert_memory_equal(out.u.chunk.data, data, sizeof data);
            assert_false(out.u.chunk.missing);
            break;
        default:
            fail();
        }
        mwire_msg_free(&out);
        mwire_msg_free(&out);
        free(buf);
    }
}

static void malformed_input_is_a_protocol_error(void **state)
{
    (void)state;
    mwire_msg_t m;
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0x01, 0x02};
    assert_int_equal(mwire_decode(junk, sizeof junk, &m), FT_EPROTO);
    assert_int_equal(mwire_decode(NULL, 0, &m), FT_EPROTO);
    /* A request whose file ID is too short. */
    mwire_msg_t r = {.kind = MWIRE_REQUEST};
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(mwire_encode(&r, &buf, &len), FT_OK);
    buf[3] = 5; /* file_id length 16 -> 5: no longer parses cleanly */
    assert_int_equal(mwire_decode(buf, len, &m), FT_EPROTO);
    free(buf);
}

static void receipt_verifies_and_a_forged_one_does_not(void **state)
{
    (void)state;
    keys_t hub, other;
    assert_int_equal(keys_generate(&hub, false), FT_OK);
    assert_int_equal(keys_generate(&other, false), FT_OK);
    mwire_receipt_t r = {.size = 12345, .hub_time_ms = 99};
    memset(r.file_id, 1, sizeof r.file_id);
    memset(r.merkle_root, 2, sizeof r.merkle_root);
    uint8_t *raw = NULL;
    size_t len = 0;
    assert_int_equal(mwire_receipt_seal(&r, hub.sign_sk, &raw, &len), FT_OK);
    mwire_receipt_t back;
    assert_int_equal(mwire_receipt_open(raw, len, hub.sign_pk, &back), FT_OK);
    assert_memory_equal(&back.file_id, r.file_id, sizeof r.file_id);
    assert_int_equal(back.size, 12345);
    assert_int_equal(mwire_receipt_open(raw, len, other.sign_pk, &back), FT_EBADSIG);
    raw[len / 2] ^= 1;
    assert_int_not_equal(mwire_receipt_open(raw, len, hub.sign_pk, &back), FT_OK);
    /* Carried in a message, the bytes arrive unchanged. */
    raw[len / 2] ^= 1;
    mwire_msg_t m = {.kind = MWIRE_RECEIPT};
    m.u.receipt.raw = raw;
    m.u.receipt.len = len;
    uint8_t *buf = NULL;
    size_t blen = 0;
    assert_int_equal(mwire_encode(&m, &buf, &blen), FT_OK);
    mwire_msg_t out;
    assert_int_equal(mwire_decode(buf, blen, &out), FT_OK);
    assert_int_equal(mwire_receipt_open(out.u.receipt.raw, out.u.receipt.len, hub.sign_pk, &back),
                     FT_OK);
    mwire_msg_free(&out);
    free(buf);
    free(raw);
    keys_wipe(&hub);
    keys_wipe(&other);
}

/* Builds header || data of chunk m in one buffer, as the edge sends it. */
static uint8_t *frame(const mwire_msg_t *m, const uint8_t *data, size_t *out_len)
{
    uint8_t hdr[MWIRE_CHUNK_HEADER_MAX];
    size_t h = mwire_chunk_header(m, hdr);
    assert_true(h > 0 && h <= MWIRE_CHUNK_HEADER_MAX);
    uint8_t *buf = malloc(h + m->u.chunk.len);
    assert_non_null(buf);
    memcpy(buf, hdr, h);
    memcpy(buf + h, data, m->u.chunk.len);
    *out_len = h + m->u.chunk.len;
    return buf;
}

static void assert_same_chunk(const mwire_msg_t *a, const mwire_msg_t *b)
{
    assert_int_equal(a->kind, MWIRE_CHUNK);
    assert_int_equal(b->kind, MWIRE_CHUNK);
    assert_memory_equal(a->u.chunk.file_id, b->u.chunk.file_id, MEDIA_FILE_ID_BYTES);
    assert_int_equal(a->u.chunk.index, b->u.chunk.index);
    assert_int_equal(a->u.chunk.missing, b->u.chunk.missing);
    assert_int_equal(a->u.chunk.len, b->u.chunk.len);
    assert_memory_equal(a->u.chunk.data, b->u.chunk.data, a->u.chunk.len);
    assert_int_equal(a->u.chunk.has_auth, b->u.chunk.has_auth);
    if (a->u.chunk.has_auth) {
        assert_memory_equal(a->u.chunk.device, b->u.chunk.device, DEVID_BYTES);
        assert_memory_equal(a->u.chunk.token, b->u.chunk.token, MWIRE_TOKEN_BYTES);
    }
    assert_int_equal(a->u.chunk.has_mac, b->u.chunk.has_mac);
    if (a->u.chunk.has_mac) {
        assert_true(a->u.chunk.seq == b->u.chunk.seq);
        assert_memory_equal(a->u.chunk.mac, b->u.chunk.mac, MWIRE_MAC_BYTES);
    }
}

/* A chunk framed around its data decodes (in place, and by protobuf-c
 * itself) to what mwire_encode's bytes decode to, for every varint width of
 * index and length and with and without the data path's fields. */
static void framed_chunk_is_the_encoded_chunk(void **state)
{
    (void)state;
    const size_t lens[] = {MEDIA_TAG_BYTES,
                           100,
                           200,
                           16400,
                           MEDIA_CHUNK_SIZE + MEDIA_TAG_BYTES,
                           MEDIA_CHUNK_MAX + MEDIA_TAG_BYTES};
    const uint32_t idx[] = {0, 127, 128, 300000, UINT32_MAX};
    uint8_t *data = malloc(MEDIA_CHUNK_MAX + MEDIA_TAG_BYTES);
    assert_non_null(data);
    for (size_t i = 0; i < MEDIA_CHUNK_MAX + MEDIA_TAG_BYTES; i++) {
        data[i] = (uint8_t)(i * 31 + 7);
    }
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        for (size_t ii = 0; ii < sizeof idx / sizeof idx[0]; ii++) {
            for (int auth = 0; auth < 3; auth++) { /* 2: with seq and MAC */
                mwire_msg_t m = {.kind = MWIRE_CHUNK};
                memset(m.u.chunk.file_id, (int)(li + 1), MEDIA_FILE_ID_BYTES);
                m.u.chunk.index = idx[ii];
                m.u.chunk.data = data;
                m.u.chunk.len = lens[li];
                m.u.chunk.has_auth = auth > 0;
                m.u.chunk.has_mac = auth == 2;
                m.u.chunk.seq = auth == 2 ? ((uint64_t)idx[ii] << 31) + 1 : 0;
                memset(m.u.chunk.mac, 0x3c, MWIRE_MAC_BYTES);
                memset(m.u.chunk.device, 0xd0, DEVID_BYTES);
                memset(m.u.chunk.token, 0x70, MWIRE_TOKEN_BYTES);
                size_t flen = 0, elen = 0;
                uint8_t *framed = frame(&m, data, &flen), *enc = NULL;
                assert_int_equal(mwire_encode(&m, &enc, &elen), FT_OK);
                assert_int_equal(flen, elen);
                mwire_msg_t a, b;
                assert_int_equal(mwire_decode(framed, flen, &a), FT_OK);
                assert_int_equal(mwire_decode(enc, elen, &b), FT_OK);
                assert_same_chunk(&a, &m);
                assert_same_chunk(&a, &b);
                /* Read in place: the data is the buffer's own. */
                assert_ptr_equal(a.u.chunk.data, framed + flen - lens[li]);
                /* protobuf-c reads the framed bytes as the same message. */
                Ft__Wire__MediaMsg *p = ft__wire__media_msg__unpack(NULL, flen, framed);
                assert_non_null(p);
                assert_int_equal(p->kind_case, FT__WIRE__MEDIA_MSG__KIND_CHUNK);
                assert_int_equal(p->chunk->index, idx[ii]);
                assert_int_equal(p->chunk->data.len, lens[li]);
                assert_memory_equal(p->chunk->data.data, data, lens[li]);
                assert_int_equal(p->chunk->has_device, auth > 0);
                assert_int_equal(p->chunk->has_mac, auth == 2);
                if (auth == 2) {
                    assert_true(p->chunk->seq == m.u.chunk.seq);
                }
                ft__wire__media_msg__free_unpacked(p, NULL);
                mwire_msg_free(&a);
                mwire_msg_free(&b);
                free(framed);
                free(enc);
            }
        }
    }
    /* Not a chunk with data: no header. */
    uint8_t hdr[MWIRE_CHUNK_HEADER_MAX];
    mwire_msg_t miss = {.kind = MWIRE_CHUNK};
    miss.u.chunk.missing = true;
    assert_int_equal(mwire_chunk_header(&miss, hdr), 0);
    mwire_msg_t big = {.kind = MWIRE_CHUNK};
    big.u.chunk.len = MEDIA_CHUNK_MAX + MEDIA_TAG_BYTES + 1;
    assert_int_equal(mwire_chunk_header(&big, hdr), 0);
    big.u.chunk.len = MEDIA_TAG_BYTES - 1;
    assert_int_equal(mwire_chunk_header(&big, hdr), 0);
    free(data);
}

/* What the in-place reader does not take goes to protobuf-c, which decides:
 * unknown fields are skipped, half of the data path's fields, short IDs,
 * short data and cut messages are refused. */
static void unusual_chunks_are_judged_by_protobuf_c(void **state)
{
    (void)state;
    uint8_t data[64];
    memset(data, 0x5a, sizeof data);
    mwire_msg_t m = {.kind = MWIRE_CHUNK};
    memset(m.u.chunk.file_id, 1, MEDIA_FILE_ID_BYTES);
    m.u.chunk.index = 9;
    m.u.chunk.data = data;
    m.u.chunk.len = sizeof data;
    size_t flen = 0;
    uint8_t *framed = frame(&m, data, &flen);
    mwire_msg_t out;
    /* A field this version does not know (field 9, varint 1) at the end:
     * the outer and inner lengths grow by 2. */
    uint8_t *ext = malloc(flen + 2);
    assert_non_null(ext);
    memcpy(ext, framed, flen);
    ext[flen] = (9 << 3) | 0;
    ext[flen + 1] = 1;
    assert_true(ext[1] < 0x7e); /* one-byte inner length here */
    ext[1] += 2;
    assert_int_equal(mwire_decode(ext, flen + 2, &out), FT_OK);
    assert_same_chunk(&out, &m);
    mwire_msg_free(&out);
    free(ext);
    /* Cut anywhere: refused. */
    for (size_t cut = 0; cut < flen; cut++) {
        assert_int_equal(mwire_decode(framed, cut, &out), FT_EPROTO);
    }
    /* A data field shorter than a tag: refused both ways. */
    framed[flen - sizeof data - 1] = MEDIA_TAG_BYTES - 1;
    assert_int_equal(mwire_decode(framed, flen, &out), FT_EPROTO);
    free(framed);
    /* Device without token, through protobuf-c's own packer. */
    Ft__Wire__ChunkData c = FT__WIRE__CHUNK_DATA__INIT;
    c.file_id.data = m.u.chunk.file_id;
    c.file_id.len = MEDIA_FILE_ID_BYTES;
    c.index = 1;
    c.has_data = 1;
    c.data.data = data;
    c.data.len = sizeof data;
    c.has_device = 1;
    c.device.data = data;
    c.device.len = DEVID_BYTES;
    Ft__Wire__MediaMsg msg = FT__WIRE__MEDIA_MSG__INIT;
    msg.kind_case = FT__WIRE__MEDIA_MSG__KIND_CHUNK;
    msg.chunk = &c;
    uint8_t buf[256];
    size_t n = ft__wire__media_msg__pack(&msg, buf);
    assert_int_equal(mwire_decode(buf, n, &out), FT_EPROTO);
    /* ... and with a token of the wrong length. */
    c.has_token = 1;
    c.token.data = data;
    c.token.len = MWIRE_TOKEN_BYTES - 1;
    n = ft__wire__media_msg__pack(&msg, buf);
    assert_int_equal(mwire_decode(buf, n, &out), FT_EPROTO);
    c.token.len = MWIRE_TOKEN_BYTES;
    n = ft__wire__media_msg__pack(&msg, buf);
    assert_int_equal(mwire_decode(buf, n, &out), FT_OK);
    assert_true(out.u.chunk.has_auth);
    mwire_msg_free(&out);
}

/* The data path's welcome and the secure request round-trip; a welcome with
 * a port and no token, or port 0, is refused. */
static void data_path_fields_round_trip(void **state)
{
    (void)state;
    mwire_msg_t w = {.kind = MWIRE_WELCOME};
    w.u.welcome.window = 2;
    w.u.welcome.data_port = 7403;
    memset(w.u.welcome.data_token, 0xab, MWIRE_TOKEN_BYTES);
    uint8_t *buf = NULL;
    size_t len = 0;
    mwire_msg_t out;
    assert_int_equal(mwire_encode(&w, &buf, &len), FT_OK);
    assert_int_equal(mwire_decode(buf, len, &out), FT_OK);
    assert_int_equal(out.u.welcome.data_port, 7403);
    assert_memory_equal(out.u.welcome.data_token, w.u.welcome.data_token, MWIRE_TOKEN_BYTES);
    mwire_msg_free(&out);
    free(buf);
    w.u.welcome.data_port = 70000;
    assert_int_equal(mwire_encode(&w, &buf, &len), FT_EINVAL);
    w.u.welcome.data_port = 0; /* no data path: no token either */
    assert_int_equal(mwire_encode(&w, &buf, &len), FT_OK);
    assert_int_equal(mwire_decode(buf, len, &out), FT_OK);
    assert_int_equal(out.u.welcome.data_port, 0);
    mwire_msg_free(&out);
    free(buf);

    uint8_t pk[32] = {0};
    Ft__Wire__MediaWelcome pw = FT__WIRE__MEDIA_WELCOME__INIT;
    pw.hub_sign_pk.data = pk;
    pw.hub_sign_pk.len = 32;
    pw.has_data_port = 1;
    pw.data_port = 7403;
    Ft__Wire__MediaMsg msg = FT__WIRE__MEDIA_MSG__INIT;
    msg.kind_case = FT__WIRE__MEDIA_MSG__KIND_WELCOME;
    msg.welcome = &pw;
    uint8_t raw[128];
    size_t n = ft__wire__media_msg__pack(&msg, raw);
    assert_int_equal(mwire_decode(raw, n, &out), FT_EPROTO);
    pw.has_data_token = 1;
    pw.data_token.data = pk;
    pw.data_token.len = 32;
    pw.data_port = 0;
    n = ft__wire__media_msg__pack(&msg, raw);
    assert_int_equal(mwire_decode(raw, n, &out), FT_EPROTO);

    mwire_msg_t r = {.kind = MWIRE_REQUEST};
    r.u.request.index = 5;
    r.u.request.secure = true;
    assert_int_equal(mwire_encode(&r, &buf, &len), FT_OK);
    assert_int_equal(mwire_decode(buf, len, &out), FT_OK);
    assert_true(out.u.request.secure);
    mwire_msg_free(&out);
    free(buf);
    r.u.request.secure = false;
    assert_int_equal(mwire_encode(&r, &buf, &len), FT_OK);
    assert_int_equal(mwire_decode(buf, len, &out), FT_OK);
    assert_false(out.u.request.secure);
    mwire_msg_free(&out);
    free(buf);
}

/* Data-path MACs: a chunk and a data hello verify under their session's
 * key; any change of data, index, seq, token, device, missing flag or key
 * makes them fail; seq 0 is refused; the welcome carries the key. */
static void data_macs_verify_and_forgeries_do_not(void **state)
{
    (void)state;
    uint8_t key[MWIRE_DATA_KEY_BYTES], other[MWIRE_DATA_KEY_BYTES];
    randombytes_buf(key, sizeof key);
    randombytes_buf(other, sizeof other);
    size_t dlen = MEDIA_CHUNK_SIZE + MEDIA_TAG_BYTES;
    uint8_t *data = malloc(dlen);
    assert_non_null(data);
    randombytes_buf(data, dlen);
    mwire_msg_t m = {.kind = MWIRE_CHUNK};
    memset(m.u.chunk.file_id, 4, MEDIA_FILE_ID_BYTES);
    m.u.chunk.index = 12;
    m.u.chunk.data = data;
    m.u.chunk.len = dlen;
    m.u.chunk.has_auth = true;
    m.u.chunk.has_mac = true;
    m.u.chunk.seq = 1;
    memset(m.u.chunk.device, 0xd1, DEVID_BYTES);
    memset(m.u.chunk.token, 0x71, MWIRE_TOKEN_BYTES);
    assert_int_equal(mwire_data_mac(key, &m, data, dlen, m.u.chunk.mac), FT_OK);
    size_t flen = 0;
    uint8_t *framed = frame(&m, data, &flen);
    mwire_msg_t d;
    assert_int_equal(mwire_decode(framed, flen, &d), FT_OK);
    assert_true(d.u.chunk.has_mac);
    assert_true(mwire_data_verify(key, &d));
    assert_false(mwire_data_verify(other, &d));
    d.u.chunk.index++;
    assert_false(mwire_data_verify(key, &d));
    d.u.chunk.index--;
    d.u.chunk.seq++;
    assert_false(mwire_data_verify(key, &d));
    d.u.chunk.seq--;
    d.u.chunk.token[0] ^= 1;
    assert_false(mwire_data_verify(key, &d));
    d.u.chunk.token[0] ^= 1;
    d.u.chunk.device[3] ^= 1;
    assert_false(mwire_data_verify(key, &d));
    d.u.chunk.device[3] ^= 1;
    d.u.chunk.len--;
    assert_false(mwire_data_verify(key, &d));
    d.u.chunk.len++;
    assert_true(mwire_data_verify(key, &d));
    mwire_msg_free(&d);
    /* One bit of the data altered on the way. */
    framed[flen - 1000] ^= 0x10;
    assert_int_equal(mwire_decode(framed, flen, &d), FT_OK);
    assert_false(mwire_data_verify(key, &d));
    mwire_msg_free(&d);
    free(framed);
    /* Without a MAC there is nothing to verify. */
    m.u.chunk.has_mac = false;
    assert_false(mwire_data_verify(key, &m));
    /* A missing chunk has its own MAC; seq 0 is refused. */
    mwire_msg_t miss = m;
    miss.u.chunk.missing = true;
    miss.u.chunk.data = NULL;
    miss.u.chunk.len = 0;
    miss.u.chunk.has_mac = true;
    miss.u.chunk.seq = 2;
    assert_int_equal(mwire_data_mac(key, &miss, NULL, 0, miss.u.chunk.mac), FT_OK);
    assert_true(mwire_data_verify(key, &miss));
    miss.u.chunk.missing = false;
    assert_false(mwire_data_verify(key, &miss));
    miss.u.chunk.seq = 0;
    assert_int_equal(mwire_data_mac(key, &miss, NULL, 0, miss.u.chunk.mac), FT_EINVAL);
    /* The data hello round-trips and verifies; not under another seq. */
    mwire_msg_t h = {.kind = MWIRE_DATA_HELLO};
    memset(h.u.data_hello.device, 0xd1, DEVID_BYTES);
    memset(h.u.data_hello.token, 0x71, MWIRE_TOKEN_BYTES);
    h.u.data_hello.seq = 7;
    assert_int_equal(mwire_data_mac(key, &h, NULL, 0, h.u.data_hello.mac), FT_OK);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(mwire_encode(&h, &buf, &len), FT_OK);
    assert_int_equal(mwire_decode(buf, len, &d), FT_OK);
    assert_int_equal(d.kind, MWIRE_DATA_HELLO);
    assert_true(d.u.data_hello.seq == 7);
    assert_true(mwire_data_verify(key, &d));
    assert_false(mwire_data_verify(other, &d));
    d.u.data_hello.seq = 8;
    assert_false(mwire_data_verify(key, &d));
    mwire_msg_free(&d);
    free(buf);
    /* The same fields as a chunk do not make the hello's MAC. */
    mwire_msg_t c = {.kind = MWIRE_CHUNK};
    c.u.chunk.has_auth = c.u.chunk.has_mac = c.u.chunk.missing = true;
    memcpy(c.u.chunk.device, h.u.data_hello.device, DEVID_BYTES);
    memcpy(c.u.chunk.token, h.u.data_hello.token, MWIRE_TOKEN_BYTES);
    c.u.chunk.seq = 7;
    memcpy(c.u.chunk.mac, h.u.data_hello.mac, MWIRE_MAC_BYTES);
    assert_false(mwire_data_verify(key, &c));
    /* A MAC without device and token cannot be encoded. */
    c.u.chunk.has_auth = false;
    assert_int_equal(mwire_encode(&c, &buf, &len), FT_EINVAL);
    /* The welcome carries the key, only with a data port. */
    mwire_msg_t w = {.kind = MWIRE_WELCOME};
    w.u.welcome.data_port = 7403;
    w.u.welcome.has_data_key = true;
    memcpy(w.u.welcome.data_key, key, sizeof key);
    assert_int_equal(mwire_encode(&w, &buf, &len), FT_OK);
    assert_int_equal(mwire_decode(buf, len, &d), FT_OK);
    assert_true(d.u.welcome.has_data_key);
    assert_memory_equal(d.u.welcome.data_key, key, sizeof key);
    mwire_msg_free(&d);
    free(buf);
    w.u.welcome.data_port = 0;
    assert_int_equal(mwire_encode(&w, &buf, &len), FT_OK);
    assert_int_equal(mwire_decode(buf, len, &d), FT_OK);
    assert_false(d.u.welcome.has_data_key);
    mwire_msg_free(&d);
    free(buf);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_kind_round_trips),
        cmocka_unit_test(malformed_input_is_a_protocol_error),
        cmocka_unit_test(receipt_verifies_and_a_forged_one_does_not),
        cmocka_unit_test(framed_chunk_is_the_encoded_chunk),
        cmocka_unit_test(unusual_chunks_are_judged_by_protobuf_c),
        cmocka_unit_test(data_path_fields_round_trip),
        cmocka_unit_test(data_macs_verify_and_forgeries_do_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
