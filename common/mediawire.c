/* mediawire.c: codec of the media transfer messages (see mediawire.h). */
#include "mediawire.h"
#include "wire.pb-c.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char receipt_dom[] = "fieldtrail/media-receipt/v1"; /* hashed with its NUL */

const char *mwire_kind_name(mwire_kind k)
{
    switch (k) {
    case MWIRE_HELLO:
        return "media-hello";
    case MWIRE_WELCOME:
        return "media-welcome";
    case MWIRE_REQUEST:
        return "chunk-request";
    case MWIRE_CHUNK:
        return "chunk";
    case MWIRE_RECEIPT:
        return "media-receipt";
    default:
        return "none";
    }
}

int mwire_encode(const mwire_msg_t *m, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    Ft__Wire__MediaMsg msg = FT__WIRE__MEDIA_MSG__INIT;
    Ft__Wire__MediaHello hello = FT__WIRE__MEDIA_HELLO__INIT;
    Ft__Wire__MediaWelcome welcome = FT__WIRE__MEDIA_WELCOME__INIT;
    Ft__Wire__ChunkRequest req = FT__WIRE__CHUNK_REQUEST__INIT;
    Ft__Wire__ChunkData chunk = FT__WIRE__CHUNK_DATA__INIT;
    Ft__Wire__SignedMediaReceipt *rcpt = NULL;
    ProtobufCBinaryData *pend = NULL;
    int err = FT_EINVAL;
    switch (m->kind) {
    case MWIRE_HELLO:
        if (m->u.hello.n_pending > MWIRE_MAX_PENDING) {
            return FT_EINVAL;
        }
        hello.version = m->u.hello.version;
        if (m->u.hello.n_pending) {
            pend = calloc(m->u.hello.n_pending, sizeof *pend);
            if (!pend) {
                return FT_ENOMEM;
            }
            for (size_t i = 0; i < m->u.hello.n_pending; i++) {
                pend[i].data = (uint8_t *)m->u.hello.pending[i];
                pend[i].len = MEDIA_FILE_ID_BYTES;
            }
        }
        hello.n_pending_files = m->u.hello.n_pending;
        hello.pending_files = pend;
        msg.kind_case = FT__WIRE__MEDIA_MSG__KIND_HELLO;
        msg.hello = &hello;
        break;
    case MWIRE_WELCOME:
        welcome.hub_sign_pk.data = (uint8_t *)m->u.welcome.hub_sign_pk;
        welcome.hub_sign_pk.len = 32;
        welcome.window = m->u.welcome.window;
        msg.kind_case = FT__WIRE__MEDIA_MSG__KIND_WELCOME;
        msg.welcome = &welcome;
        break;
    case MWIRE_REQUEST:
        req.file_id.data = (uint8_t *)m->u.request.file_id;
        req.file_id.len = MEDIA_FILE_ID_BYTES;
        req.index = m->u.request.index;
        msg.kind_case = FT__WIRE__MEDIA_MSG__KIND_REQUEST;
        msg.request = &req;
        break;
    case MWIRE_CHUNK:
        if (m->u.chunk.len > MEDIA_CHUNK_MAX + MEDIA_TAG_BYTES) {
            return FT_EINVAL;
        }
        chunk.file_id.data = (uint8_t *)m->u.chunk.file_id;
        chunk.file_id.len = MEDIA_FILE_ID_BYTES;
        chunk.index = m->u.chunk.index;
        if (m->u.chunk.missing) {
            chunk.has_missing = 1;
            chunk.missing = 1;
        } else {
            chunk.has_data = 1;
            chunk.data.data = (uint8_t *)m->u.chunk.data;
            chunk.data.len = m->u.chunk.len;
        }
        msg.kind_case = FT__WIRE__MEDIA_MSG__KIND_CHUNK;
        msg.chunk = &chunk;
        break;
    case MWIRE_RECEIPT:
        if (!m->u.receipt.raw) {
            return FT_EINVAL;
        }
        rcpt = ft__wire__signed_media_receipt__unpack(NULL, m->u.receipt.len, m->u.receipt.raw);
        if (!rcpt) {
            return FT_EINVAL;
        }
        msg.kind_case = FT__WIRE__MEDIA_MSG__KIND_RECEIPT;
        msg.receipt = rcpt;
        break;
    default:
        return FT_EINVAL;
    }
    size_t n = ft__wire__media_msg__get_packed_size(&msg);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        err = FT_ENOMEM;
    } else {
        ft__wire__media_msg__pack(&msg, buf);
        *out = buf;
        *out_len = n;
        err = FT_OK;
    }
    free(pend);
    if (rcpt) {
        ft__wire__signed_media_receipt__free_unpacked(rcpt, NULL);
    }
    return err;
}

static bool fixed(const ProtobufCBinaryData *b, size_t n)
{
    return b->len == n && b->data != NULL;
}

int mwire_decode(const uint8_t *buf, size_t len, mwire_msg_t *m)
{
    memset(m, 0, sizeof *m);
    if (len > MWIRE_MAX_MSG_BYTES) {
        return FT_EPROTO;
    }
    Ft__Wire__MediaMsg *p = ft__wire__media_msg__unpack(NULL, len, buf);
    if (!p) {
        return FT_EPROTO;
    }
    int err = FT_EPROTO;
    switch (p->kind_case) {
    case FT__WIRE__MEDIA_MSG__KIND_HELLO:
        if (p->hello->n_pending_files > MWIRE_MAX_PENDING) {
            goto out;
        }
        for (size_t i = 0; i < p->hello->n_pending_files; i++) {
            if (!fixed(&p->hello->pending_files[i], MEDIA_FILE_ID_BYTES)) {
                goto out;
            }
        }
        m->kind = MWIRE_HELLO;
        m->u.hello.version = p->hello->version;
        m->u.hello.n_pending = p->hello->n_pending_files;
        if (m->u.hello.n_pending) {
            uint8_t(*ids)[MEDIA_FILE_ID_BYTES] = malloc(m->u.hello.n_pending * MEDIA_FILE_ID_BYTES);
            if (!ids) {
                err = FT_ENOMEM;
                goto out;
            }
            for (size_t i = 0; i < m->u.hello.n_pending; i++) {
                memcpy(ids[i], p->hello->pending_files[i].data, MEDIA_FILE_ID_BYTES);
            }
            m->u.hello.pending = (const uint8_t(*)[MEDIA_FILE_ID_BYTES])ids;
        }
        err = FT_OK;
        break;
    case FT__WIRE__MEDIA_MSG__KIND_WELCOME:
        if (!fixed(&p->welcome->hub_sign_pk, 32)) {
            goto out;
        }
        m->kind = MWIRE_WELCOME;
        memcpy(m->u.welcome.hub_sign_pk, p->welcome->hub_sign_pk.data, 32);
        m->u.welcome.window = p->welcome->window;
        err = FT_OK;
        break;
    case FT__WIRE__MEDIA_MSG__KIND_REQUEST:
        if (!fixed(&p->request->file_id, MEDIA_FILE_ID_BYTES)) {
            goto out;
        }
        m->kind = MWIRE_REQUEST;
        memcpy(m->u.request.file_id, p->request->file_id.data, MEDIA_FILE_ID_BYTES);
        m->u.request.index = p->request->index;
        err = FT_OK;
        break;
    case FT__WIRE__MEDIA_MSG__KIND_CHUNK:
        if (!fixed(&p->chunk->file_id, MEDIA_FILE_ID_BYTES) ||
            (!p->chunk->has_data && !(p->chunk->has_missing && p->chunk->missing)) ||
            (p->chunk->has_data && (p->chunk->data.len < MEDIA_TAG_BYTES ||
                                    p->chunk->data.len > MEDIA_CHUNK_MAX + MEDIA_TAG_BYTES))) {
            goto out;
        }
        m->kind = MWIRE_CHUNK;
        memcpy(m->u.chunk.file_id, p->chunk->file_id.data, MEDIA_FILE_ID_BYTES);
        m->u.chunk.index = p->chunk->index;
        m->u.chunk.missing = !p->chunk->has_data;
        if (p->chunk->has_data) {
            m->u.chunk.data = p->chunk->data.data;
            m->u.chunk.len = p->chunk->data.len;
        }
        err = FT_OK;
        break;
    case FT__WIRE__MEDIA_MSG__KIND_RECEIPT: {
        size_t n = ft__wire__signed_media_receipt__get_packed_size(p->receipt);
        uint8_t *raw = malloc(n ? n : 1);
        if (!raw) {
            err = FT_ENOMEM;
            goto out;
        }
        ft__wire__signed_media_receipt__pack(p->receipt, raw);
        m->kind = MWIRE_RECEIPT;
        m->u.receipt.raw = raw;
        m->u.receipt.len = n;
        err = FT_OK;
        break;
    }
    default:
        goto out;
    }
out:
    if (err != FT_OK) {
        ft__wire__media_msg__free_unpacked(p, NULL);
        memset(m, 0, sizeof *m);
        return err;
    }
    m->priv = p;
    return FT_OK;
}

void mwire_msg_free(mwire_msg_t *m)
{
    if (m->kind == MWIRE_HELLO) {
        free((void *)m->u.hello.pending);
    } else if (m->kind == MWIRE_RECEIPT) {
        free((void *)m->u.receipt.raw);
    }
    if (m->priv) {
        ft__wire__media_msg__free_unpacked(m->priv, NULL);
    }
    memset(m, 0, sizeof *m);
}

static void receipt_hash(const uint8_t *body, size_t len, uint8_t out[32])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const uint8_t *)receipt_dom, sizeof receipt_dom);
    crypto_generichash_update(&st, body, len);
    crypto_generichash_final(&st, out, 32);
}

int mwire_receipt_seal(const mwire_receipt_t *r, const uint8_t sign_sk[64], uint8_t **out,
                       size_t *out_len)
{
    *out = NULL;
    Ft__Wire__MediaReceipt p = FT__WIRE__MEDIA_RECEIPT__INIT;
    p.device.data = (uint8_t *)r->device;
    p.device.len = DEVID_BYTES;
    p.file_id.data = (uint8_t *)r->file_id;
    p.file_id.len = MEDIA_FILE_ID_BYTES;
    p.merkle_root.data = (uint8_t *)r->merkle_root;
    p.merkle_root.len = MEDIA_HASH_BYTES;
    p.content_hash.data = (uint8_t *)r->content_hash;
    p.content_hash.len = MEDIA_HASH_BYTES;
    p.size = r->size;
    p.hub_time_ms = r->hub_time_ms;
    size_t n = ft__wire__media_receipt__get_packed_size(&p);
    uint8_t *body = malloc(n);
    if (!body) {
        return FT_ENOMEM;
    }
    ft__wire__media_receipt__pack(&p, body);
    uint8_t h[32], sig[64];
    receipt_hash(body, n, h);
    if (crypto_sign_detached(sig, NULL, h, sizeof h, sign_sk) != 0) {
        free(body);
        return FT_ECRYPTO;
    }
    Ft__Wire__SignedMediaReceipt s = FT__WIRE__SIGNED_MEDIA_RECEIPT__INIT;
    s.body.data = body;
    s.body.len = n;
    s.signature.data = sig;
    s.signature.len = sizeof sig;
    size_t m = ft__wire__signed_media_receipt__get_packed_size(&s);
    uint8_t *packed = malloc(m);
    if (!packed) {
        free(body);
        return FT_ENOMEM;
    }
    ft__wire__signed_media_receipt__pack(&s, packed);
    free(body);
    *out = packed;
    *out_len = m;
    return FT_OK;
}

int mwire_receipt_open(const uint8_t *raw, size_t len, const uint8_t sign_pk[32],
                       mwire_receipt_t *r)
{
    memset(r, 0, sizeof *r);
    Ft__Wire__SignedMediaReceipt *s = ft__wire__signed_media_receipt__unpack(NULL, len, raw);
    if (!s) {
        return FT_EPROTO;
    }
    int err = FT_EPROTO;
    Ft__Wire__MediaReceipt *p = NULL;
    if (s->signature.len != 64) {
        goto out;
    }
    uint8_t h[32];
    receipt_hash(s->body.data, s->body.len, h);
    if (crypto_sign_verify_detached(s->signature.data, h, sizeof h, sign_pk) != 0) {
        err = FT_EBADSIG;
        goto out;
    }
    p = ft__wire__media_receipt__unpack(NULL, s->body.len, s->body.data);
    if (!p || !fixed(&p->device, DEVID_BYTES) || !fixed(&p->file_id, MEDIA_FILE_ID_BYTES) ||
        !fixed(&p->merkle_root, MEDIA_HASH_BYTES) || !fixed(&p->content_hash, MEDIA_HASH_BYTES)) {
        goto out;
    }
    memcpy(r->device, p->device.data, DEVID_BYTES);
    memcpy(r->file_id, p->file_id.data, MEDIA_FILE_ID_BYTES);
    memcpy(r->merkle_root, p->merkle_root.data, MEDIA_HASH_BYTES);
    memcpy(r->content_hash, p->content_hash.data, MEDIA_HASH_BYTES);
    r->size = p->size;
    r->hub_time_ms = p->hub_time_ms;
    err = FT_OK;
out:
    if (p) {
        ft__wire__media_receipt__free_unpacked(p, NULL);
    }
    ft__wire__signed_media_receipt__free_unpacked(s, NULL);
    return err;
}
