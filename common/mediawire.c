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
    case MWIRE_DATA_HELLO:
        return "data-hello";
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
    Ft__Wire__DataHello dhello = FT__WIRE__DATA_HELLO__INIT;
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
        if (m->u.welcome.data_port) {
            if (m->u.welcome.data_port > 65535) {
                return FT_EINVAL;
            }
            welcome.has_data_port = 1;
            welcome.data_port = m->u.welcome.data_port;
            welcome.has_data_token = 1;
            welcome.data_token.data = (uint8_t *)m->u.welcome.data_token;
            welcome.data_token.len = MWIRE_TOKEN_BYTES;
            if (m->u.welcome.has_data_key) {
                welcome.has_data_key = 1;
                welcome.data_key.data = (uint8_t *)m->u.welcome.data_key;
                welcome.data_key.len = MWIRE_DATA_KEY_BYTES;
            }
        }
        msg.kind_case = FT__WIRE__MEDIA_MSG__KIND_WELCOME;
        msg.welcome = &welcome;
        break;
    case MWIRE_REQUEST:
        req.file_id.data = (uint8_t *)m->u.request.file_id;
        req.file_id.len = MEDIA_FILE_ID_BYTES;
        req.index = m->u.request.index;
        if (m->u.request.secure) {
            req.has_secure = 1;
            req.secure = 1;
        }
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
        if (m->u.chunk.has_auth) {
            chunk.has_device = 1;
            chunk.device.data = (uint8_t *)m->u.chunk.device;
            chunk.device.len = DEVID_BYTES;
            chunk.has_token = 1;
            chunk.token.data = (uint8_t *)m->u.chunk.token;
            chunk.token.len = MWIRE_TOKEN_BYTES;
            if (m->u.chunk.has_mac) {
                chunk.has_seq = 1;
                chunk.seq = m->u.chunk.seq;
                chunk.has_mac = 1;
                chunk.mac.data = (uint8_t *)m->u.chunk.mac;
                chunk.mac.len = MWIRE_MAC_BYTES;
            }
        } else if (m->u.chunk.has_mac) {
            return FT_EINVAL;
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
    case MWIRE_DATA_HELLO:
        dhello.device.data = (uint8_t *)m->u.data_hello.device;
        dhello.device.len = DEVID_BYTES;
        dhello.token.data = (uint8_t *)m->u.data_hello.token;
        dhello.token.len = MWIRE_TOKEN_BYTES;
        dhello.seq = m->u.data_hello.seq;
        dhello.mac.data = (uint8_t *)m->u.data_hello.mac;
        dhello.mac.len = MWIRE_MAC_BYTES;
        msg.kind_case = FT__WIRE__MEDIA_MSG__KIND_DATA_HELLO;
        msg.data_hello = &dhello;
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

/* --- Chunks without a copy ------------------------------------------------
 * protobuf-c copies every bytes field it unpacks, and mwire_encode packs
 * from the caller's buffer into a new one: 1 MiB twice per chunk. A chunk
 * message is therefore also built around its data (mwire_chunk_header) and
 * read in place (chunk_in_place) by the few lines below, which know the
 * ChunkData layout of proto/wire.proto. The in-place reader takes only the
 * plainest form (each known field once, nothing unknown); anything else goes
 * to protobuf-c, which stays the judge of what is valid. */
enum {
    TAG_MSG_CHUNK = (4 << 3) | 2, /* MediaMsg.chunk */
    TAG_FILE_ID = (1 << 3) | 2,
    TAG_INDEX = (2 << 3) | 0,
    TAG_DATA = (3 << 3) | 2,
    TAG_MISSING = (4 << 3) | 0,
    TAG_DEVICE = (5 << 3) | 2,
    TAG_TOKEN = (6 << 3) | 2,
    TAG_SEQ = (7 << 3) | 0,
    TAG_MAC = (8 << 3) | 2,
};

static size_t put_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* Reads a varint of at most 10 bytes. */
static bool get_varint64(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < 10 && *p < end; i++) {
        uint8_t b = *(*p)++;
        if (i == 9 && b > 1) {
            return false;
        }
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* Reads a varint whose value fits 32 bits. */
static bool get_varint32(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
    uint64_t x = 0;
    if (!get_varint64(p, end, &x) || x > UINT32_MAX) {
        return false;
    }
    *v = (uint32_t)x;
    return true;
}

size_t mwire_chunk_header(const mwire_msg_t *m, uint8_t out[MWIRE_CHUNK_HEADER_MAX])
{
    if (m->kind != MWIRE_CHUNK || m->u.chunk.missing || m->u.chunk.len < MEDIA_TAG_BYTES ||
        m->u.chunk.len > MEDIA_CHUNK_MAX + MEDIA_TAG_BYTES) {
        return 0;
    }
    uint8_t inner[MWIRE_CHUNK_HEADER_MAX];
    size_t n = 0;
    inner[n++] = TAG_FILE_ID;
    inner[n++] = MEDIA_FILE_ID_BYTES;
    memcpy(inner + n, m->u.chunk.file_id, MEDIA_FILE_ID_BYTES);
    n += MEDIA_FILE_ID_BYTES;
    inner[n++] = TAG_INDEX;
    n += put_varint(inner + n, m->u.chunk.index);
    if (m->u.chunk.has_auth) {
        inner[n++] = TAG_DEVICE;
        inner[n++] = DEVID_BYTES;
        memcpy(inner + n, m->u.chunk.device, DEVID_BYTES);
        n += DEVID_BYTES;
        inner[n++] = TAG_TOKEN;
        inner[n++] = MWIRE_TOKEN_BYTES;
        memcpy(inner + n, m->u.chunk.token, MWIRE_TOKEN_BYTES);
        n += MWIRE_TOKEN_BYTES;
        if (m->u.chunk.has_mac) {
            inner[n++] = TAG_SEQ;
            n += put_varint(inner + n, m->u.chunk.seq);
            inner[n++] = TAG_MAC;
            inner[n++] = MWIRE_MAC_BYTES;
            memcpy(inner + n, m->u.chunk.mac, MWIRE_MAC_BYTES);
            n += MWIRE_MAC_BYTES;
        }
    } else if (m->u.chunk.has_mac) {
        return 0;
    }
    inner[n++] = TAG_DATA;
    n += put_varint(inner + n, m->u.chunk.len);
    size_t h = 0;
    out[h++] = TAG_MSG_CHUNK;
    h += put_varint(out + h, n + m->u.chunk.len);
    memcpy(out + h, inner, n);
    return h + n;
}

/* The chunk in buf read in place (m's data points into buf): true when buf
 * is a chunk in the plain form and valid, false to leave it to protobuf-c. */
static bool chunk_in_place(const uint8_t *buf, size_t len, mwire_msg_t *m)
{
    const uint8_t *p = buf, *end = buf + len;
    uint32_t inner = 0;
    if (len < 2 || *p++ != TAG_MSG_CHUNK || !get_varint32(&p, end, &inner) ||
        (size_t)(end - p) != inner) {
        return false;
    }
    bool seen[9] = {false};
    uint32_t missing = 0;
    while (p < end) {
        uint8_t tag = *p++;
        uint32_t v = 0;
        int field = tag >> 3;
        if (tag != TAG_FILE_ID && tag != TAG_INDEX && tag != TAG_DATA && tag != TAG_MISSING &&
            tag != TAG_DEVICE && tag != TAG_TOKEN && tag != TAG_SEQ && tag != TAG_MAC) {
            return false;
        }
        if (seen[field]) {
            return false;
        }
        seen[field] = true;
        if (tag == TAG_SEQ) {
            if (!get_varint64(&p, end, &m->u.chunk.seq)) {
                return false;
            }
            continue;
        }
        if (!get_varint32(&p, end, &v)) {
            return false;
        }
        if ((tag & 7) == 0) {
            if (tag == TAG_INDEX) {
                m->u.chunk.index = v;
            } else {
                missing = v;
            }
            continue;
        }
        if ((size_t)(end - p) < v) {
            return false;
        }
        if (tag == TAG_FILE_ID && v == MEDIA_FILE_ID_BYTES) {
            memcpy(m->u.chunk.file_id, p, v);
        } else if (tag == TAG_DEVICE && v == DEVID_BYTES) {
            memcpy(m->u.chunk.device, p, v);
        } else if (tag == TAG_TOKEN && v == MWIRE_TOKEN_BYTES) {
            memcpy(m->u.chunk.token, p, v);
        } else if (tag == TAG_MAC && v == MWIRE_MAC_BYTES) {
            memcpy(m->u.chunk.mac, p, v);
        } else if (tag == TAG_DATA && v >= MEDIA_TAG_BYTES &&
                   v <= MEDIA_CHUNK_MAX + MEDIA_TAG_BYTES) {
            m->u.chunk.data = p;
            m->u.chunk.len = v;
        } else {
            return false;
        }
        p += v;
    }
    bool has_data = seen[TAG_DATA >> 3];
    if (!seen[TAG_FILE_ID >> 3] || !seen[TAG_INDEX >> 3] || missing > 1 ||
        (!has_data && missing != 1) || seen[TAG_DEVICE >> 3] != seen[TAG_TOKEN >> 3] ||
        seen[TAG_SEQ >> 3] != seen[TAG_MAC >> 3] ||
        (seen[TAG_MAC >> 3] && !seen[TAG_DEVICE >> 3])) {
        return false;
    }
    m->kind = MWIRE_CHUNK;
    m->u.chunk.missing = !has_data;
    m->u.chunk.has_auth = seen[TAG_DEVICE >> 3];
    m->u.chunk.has_mac = seen[TAG_MAC >> 3];
    return true;
}

int mwire_decode(const uint8_t *buf, size_t len, mwire_msg_t *m)
{
    memset(m, 0, sizeof *m);
    if (len > MWIRE_MAX_MSG_BYTES) {
        return FT_EPROTO;
    }
    if (buf && chunk_in_place(buf, len, m)) {
        return FT_OK;
    }
    memset(m, 0, sizeof *m);
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
        if (!fixed(&p->welcome->hub_sign_pk, 32) ||
            p->welcome->has_data_port != p->welcome->has_data_token ||
            (p->welcome->has_data_port &&
             (p->welcome->data_port == 0 || p->welcome->data_port > 65535 ||
              !fixed(&p->welcome->data_token, MWIRE_TOKEN_BYTES))) ||
            (p->welcome->has_data_key &&
             (!p->welcome->has_data_port || !fixed(&p->welcome->data_key, MWIRE_DATA_KEY_BYTES)))) {
            goto out;
        }
        m->kind = MWIRE_WELCOME;
        memcpy(m->u.welcome.hub_sign_pk, p->welcome->hub_sign_pk.data, 32);
        m->u.welcome.window = p->welcome->window;
        if (p->welcome->has_data_port) {
            m->u.welcome.data_port = p->welcome->data_port;
            memcpy(m->u.welcome.data_token, p->welcome->data_token.data, MWIRE_TOKEN_BYTES);
        }
        if (p->welcome->has_data_key) {
            m->u.welcome.has_data_key = true;
            memcpy(m->u.welcome.data_key, p->welcome->data_key.data, MWIRE_DATA_KEY_BYTES);
        }
        err = FT_OK;
        break;
    case FT__WIRE__MEDIA_MSG__KIND_REQUEST:
        if (!fixed(&p->request->file_id, MEDIA_FILE_ID_BYTES)) {
            goto out;
        }
        m->kind = MWIRE_REQUEST;
        memcpy(m->u.request.file_id, p->request->file_id.data, MEDIA_FILE_ID_BYTES);
        m->u.request.index = p->request->index;
        m->u.request.secure = p->request->has_secure && p->request->secure;
        err = FT_OK;
        break;
    case FT__WIRE__MEDIA_MSG__KIND_CHUNK:
        if (!fixed(&p->chunk->file_id, MEDIA_FILE_ID_BYTES) ||
            (!p->chunk->has_data && !(p->chunk->has_missing && p->chunk->missing)) ||
            (p->chunk->has_data && (p->chunk->data.len < MEDIA_TAG_BYTES ||
                                    p->chunk->data.len > MEDIA_CHUNK_MAX + MEDIA_TAG_BYTES)) ||
            p->chunk->has_device != p->chunk->has_token ||
            (p->chunk->has_device && (!fixed(&p->chunk->device, DEVID_BYTES) ||
                                      !fixed(&p->chunk->token, MWIRE_TOKEN_BYTES))) ||
            p->chunk->has_seq != p->chunk->has_mac ||
            (p->chunk->has_mac &&
             (!p->chunk->has_device || !fixed(&p->chunk->mac, MWIRE_MAC_BYTES)))) {
            goto out;
        }
        if (p->chunk->has_device) {
            m->u.chunk.has_auth = true;
            memcpy(m->u.chunk.device, p->chunk->device.data, DEVID_BYTES);
            memcpy(m->u.chunk.token, p->chunk->token.data, MWIRE_TOKEN_BYTES);
        }
        if (p->chunk->has_mac) {
            m->u.chunk.has_mac = true;
            m->u.chunk.seq = p->chunk->seq;
            memcpy(m->u.chunk.mac, p->chunk->mac.data, MWIRE_MAC_BYTES);
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
    case FT__WIRE__MEDIA_MSG__KIND_DATA_HELLO:
        if (!fixed(&p->data_hello->device, DEVID_BYTES) ||
            !fixed(&p->data_hello->token, MWIRE_TOKEN_BYTES) ||
            !fixed(&p->data_hello->mac, MWIRE_MAC_BYTES)) {
            goto out;
        }
        m->kind = MWIRE_DATA_HELLO;
        memcpy(m->u.data_hello.device, p->data_hello->device.data, DEVID_BYTES);
        memcpy(m->u.data_hello.token, p->data_hello->token.data, MWIRE_TOKEN_BYTES);
        m->u.data_hello.seq = p->data_hello->seq;
        memcpy(m->u.data_hello.mac, p->data_hello->mac.data, MWIRE_MAC_BYTES);
        err = FT_OK;
        break;
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

/* ---- Data-path MACs ------------------------------------------------------ */

static const char data_kdf_ctx[crypto_kdf_CONTEXTBYTES] = {'f', 't', 'd', 'a', 't', 'a', '2', 'm'};

static void le32(uint8_t out[4], uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        out[i] = (uint8_t)(v >> (8 * i));
    }
}

static void le64(uint8_t out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(v >> (8 * i));
    }
}

int mwire_data_mac(const uint8_t key[MWIRE_DATA_KEY_BYTES], const mwire_msg_t *m,
                   const uint8_t *data, size_t len, uint8_t mac[MWIRE_MAC_BYTES])
{
    const uint8_t *device, *token;
    uint64_t seq;
    uint8_t kind;
    if (m->kind == MWIRE_CHUNK && m->u.chunk.has_auth) {
        device = m->u.chunk.device;
        token = m->u.chunk.token;
        seq = m->u.chunk.seq;
        kind = 'C';
        if (len > MEDIA_CHUNK_MAX + MEDIA_TAG_BYTES || (len && !data) ||
            (m->u.chunk.missing && len)) {
            return FT_EINVAL;
        }
    } else if (m->kind == MWIRE_DATA_HELLO) {
        device = m->u.data_hello.device;
        token = m->u.data_hello.token;
        seq = m->u.data_hello.seq;
        kind = 'H';
    } else {
        return FT_EINVAL;
    }
    if (seq == 0) {
        return FT_EINVAL;
    }
    uint8_t otk[crypto_onetimeauth_KEYBYTES];
    if (crypto_kdf_derive_from_key(otk, sizeof otk, seq, data_kdf_ctx, key) != 0) {
        return FT_ECRYPTO;
    }
    crypto_onetimeauth_state st;
    crypto_onetimeauth_init(&st, otk);
    uint8_t head[1 + DEVID_BYTES + MWIRE_TOKEN_BYTES + 8];
    head[0] = kind;
    memcpy(head + 1, device, DEVID_BYTES);
    memcpy(head + 1 + DEVID_BYTES, token, MWIRE_TOKEN_BYTES);
    le64(head + 1 + DEVID_BYTES + MWIRE_TOKEN_BYTES, seq);
    crypto_onetimeauth_update(&st, head, sizeof head);
    if (kind == 'C') {
        uint8_t c[MEDIA_FILE_ID_BYTES + 4 + 1 + 4];
        memcpy(c, m->u.chunk.file_id, MEDIA_FILE_ID_BYTES);
        le32(c + MEDIA_FILE_ID_BYTES, m->u.chunk.index);
        c[MEDIA_FILE_ID_BYTES + 4] = m->u.chunk.missing ? 1 : 0;
        le32(c + MEDIA_FILE_ID_BYTES + 5, (uint32_t)len);
        crypto_onetimeauth_update(&st, c, sizeof c);
        if (len) {
            crypto_onetimeauth_update(&st, data, len);
        }
    }
    crypto_onetimeauth_final(&st, mac);
    sodium_memzero(otk, sizeof otk);
    sodium_memzero(&st, sizeof st);
    return FT_OK;
}

bool mwire_data_verify(const uint8_t key[MWIRE_DATA_KEY_BYTES], const mwire_msg_t *m)
{
    uint8_t want[MWIRE_MAC_BYTES];
    const uint8_t *got;
    int err;
    if (m->kind == MWIRE_CHUNK && m->u.chunk.has_auth && m->u.chunk.has_mac) {
        got = m->u.chunk.mac;
        err = mwire_data_mac(key, m, m->u.chunk.missing ? NULL : m->u.chunk.data,
                             m->u.chunk.missing ? 0 : m->u.chunk.len, want);
    } else if (m->kind == MWIRE_DATA_HELLO) {
        got = m->u.data_hello.mac;
        err = mwire_data_mac(key, m, NULL, 0, want);
    } else {
        return false;
    }
    return err == FT_OK && sodium_memcmp(want, got, MWIRE_MAC_BYTES) == 0;
}
