/* mediawire_test.c: media message codec and signed completion receipts. */
#include "mediawire.h"

#include <setjmp.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_kind_round_trips),
        cmocka_unit_test(malformed_input_is_a_protocol_error),
        cmocka_unit_test(receipt_verifies_and_a_forged_one_does_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
