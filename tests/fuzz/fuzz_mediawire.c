/* fuzz_mediawire.c: libFuzzer target for every decoder of
 * common/mediawire.h: a media transfer message (mwire_decode) and a signed
 * completion receipt (mwire_receipt_open).
 *
 * Pins: no input crashes, leaks or reads out of bounds; a decoded message
 * re-encodes to bytes that decode to the same message (every field); a
 * receipt never verifies under a second key (the seeds are signed by a
 * fixed test key). The body is fuzz_codec.h.
 *
 * Chunks are also read in place (chunk_in_place, before protobuf-c), so
 * for every decoded chunk: protobuf-c's own ft__wire__media_msg__unpack of
 * the same bytes succeeds and agrees on file ID, index, data (or missing),
 * device and token; and the chunk framed around its data
 * (mwire_chunk_header) decodes in place -- its data points into the frame
 * -- to the same chunk, which protobuf-c agrees with too.
 */
#include "mediawire.h"
#include "wire.pb-c.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool same_bytes(const void *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

/* True if a and b are the same message, field by field. */
static bool mwire_same(const mwire_msg_t *a, const mwire_msg_t *b)
{
    if (a->kind != b->kind) {
        return false;
    }
    switch (a->kind) {
    case MWIRE_HELLO:
        return a->u.hello.version == b->u.hello.version &&
               a->u.hello.n_pending == b->u.hello.n_pending &&
               (a->u.hello.n_pending == 0 ||
                same_bytes(a->u.hello.pending, b->u.hello.pending,
                           a->u.hello.n_pending * MEDIA_FILE_ID_BYTES));
    case MWIRE_WELCOME:
        return same_bytes(a->u.welcome.hub_sign_pk, b->u.welcome.hub_sign_pk, 32) &&
               a->u.welcome.window == b->u.welcome.window &&
               a->u.welcome.data_port == b->u.welcome.data_port &&
               (a->u.welcome.data_port == 0 ||
                same_bytes(a->u.welcome.data_token, b->u.welcome.data_token, MWIRE_TOKEN_BYTES));
    case MWIRE_REQUEST:
        return same_bytes(a->u.request.file_id, b->u.request.file_id, MEDIA_FILE_ID_BYTES) &&
               a->u.request.index == b->u.request.index &&
               a->u.request.secure == b->u.request.secure;
    case MWIRE_CHUNK:
        return same_bytes(a->u.chunk.file_id, b->u.chunk.file_id, MEDIA_FILE_ID_BYTES) &&
               a->u.chunk.index == b->u.chunk.index && a->u.chunk.missing == b->u.chunk.missing &&
               a->u.chunk.len == b->u.chunk.len &&
               (a->u.chunk.missing ||
                same_bytes(a->u.chunk.data, b->u.chunk.data, a->u.chunk.len)) &&
               a->u.chunk.has_auth == b->u.chunk.has_auth &&
               (!a->u.chunk.has_auth ||
                (same_bytes(a->u.chunk.device, b->u.chunk.device, DEVID_BYTES) &&
                 same_bytes(a->u.chunk.token, b->u.chunk.token, MWIRE_TOKEN_BYTES)));
    case MWIRE_RECEIPT:
        return a->u.receipt.len == b->u.receipt.len &&
               same_bytes(a->u.receipt.raw, b->u.receipt.raw, a->u.receipt.len);
    default:
        return false;
    }
}

/* What protobuf-c makes of data must be the chunk m that mwire_decode made
 * of it. */
static void chunk_agrees_with_protobuf(const uint8_t *data, size_t size, const mwire_msg_t *m)
{
    Ft__Wire__MediaMsg *p = ft__wire__media_msg__unpack(NULL, size, data);
    if (!p || p->kind_case != FT__WIRE__MEDIA_MSG__KIND_CHUNK) {
        abort(); /* mwire_decode took what protobuf-c refuses */
    }
    const Ft__Wire__ChunkData *c = p->chunk;
    bool ok = c->file_id.len == MEDIA_FILE_ID_BYTES &&
              same_bytes(c->file_id.data, m->u.chunk.file_id, MEDIA_FILE_ID_BYTES) &&
              c->index == m->u.chunk.index;
    if (m->u.chunk.missing) {
        ok = ok && !c->has_data && c->has_missing && c->missing && m->u.chunk.len == 0;
    } else {
        ok = ok && c->has_data && c->data.len == m->u.chunk.len &&
             same_bytes(c->data.data, m->u.chunk.data, m->u.chunk.len);
    }
    ok = ok && (bool)c->has_device == m->u.chunk.has_auth &&
         (bool)c->has_token == m->u.chunk.has_auth;
    if (ok && m->u.chunk.has_auth) {
        ok = c->device.len == DEVID_BYTES &&
             same_bytes(c->device.data, m->u.chunk.device, DEVID_BYTES) &&
             c->token.len == MWIRE_TOKEN_BYTES &&
             same_bytes(c->token.data, m->u.chunk.token, MWIRE_TOKEN_BYTES);
    }
    ft__wire__media_msg__free_unpacked(p, NULL);
    if (!ok) {
        abort(); /* the in-place reader and protobuf-c disagree */
    }
}

/* A chunk with data, framed as the edge sends it: read in place, the same
 * chunk, and protobuf-c agrees. */
static void framed_chunk_reads_back(const mwire_msg_t *m)
{
    uint8_t *buf = malloc(MWIRE_CHUNK_HEADER_MAX + m->u.chunk.len);
    if (!buf) {
        abort();
    }
    size_t h = mwire_chunk_header(m, buf);
    if (h == 0 || h > MWIRE_CHUNK_HEADER_MAX) {
        abort(); /* every decoded chunk with data can be framed */
    }
    memcpy(buf + h, m->u.chunk.data, m->u.chunk.len);
    mwire_msg_t again;
    memset(&again, 0, sizeof again);
    if (mwire_decode(buf, h + m->u.chunk.len, &again) != FT_OK || !mwire_same(m, &again) ||
        again.u.chunk.data != buf + h) {
        abort();
    }
    chunk_agrees_with_protobuf(buf, h + m->u.chunk.len, &again);
    mwire_msg_free(&again);
    free(buf);
}

static void check_decoded(const uint8_t *data, size_t size, const mwire_msg_t *m)
{
    if (m->kind != MWIRE_CHUNK) {
        return;
    }
    chunk_agrees_with_protobuf(data, size, m);
    if (!m->u.chunk.missing) {
        framed_chunk_reads_back(m);
    }
}

#define FUZZ_KEY_SEED 3
#define FUZZ_MSG_T mwire_msg_t
#define FUZZ_RECEIPT_T mwire_receipt_t
#define FUZZ_DECODE mwire_decode
#define FUZZ_ENCODE mwire_encode
#define FUZZ_FREE mwire_msg_free
#define FUZZ_KIND_NAME mwire_kind_name
#define FUZZ_RECEIPT_OPEN mwire_receipt_open
#define FUZZ_KIND_RECEIPT MWIRE_RECEIPT
#define FUZZ_RECEIPT_RAW(m) ((m).u.receipt.raw)
#define FUZZ_RECEIPT_LEN(m) ((m).u.receipt.len)
#define FUZZ_SAME(m, again) mwire_same(&(m), &(again))
#define FUZZ_CHECK(data, size, m) check_decoded((data), (size), (m))

#include "fuzz_codec.h"
