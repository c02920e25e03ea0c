/* wire.c: packing and unpacking sync messages (see wire.h for the contract).
 *
 * Decoding is two steps: protobuf-c unpacks (it fails on anything that is not
 * a well-formed Msg, and required fields must be present), then check_*
 * enforces what protobuf cannot express: exact lengths of fixed-size fields,
 * counts, text bounds, the oneof being set. Only then are values copied into
 * the plain C struct. The unpacked Msg is kept in m->priv while batch entries
 * point into it.
 */
#include "wire.h"
#include "wire.pb-c.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char receipt_domain[] = "fieldtrail/receipt/v1"; /* hashed with its NUL */

const char *wire_kind_name(wire_kind k)
{
    switch (k) {
    case WIRE_HELLO:
        return "hello";
    case WIRE_WELCOME:
        return "welcome";
    case WIRE_BATCH:
        return "batch";
    case WIRE_RECEIPT:
        return "receipt";
    case WIRE_ERROR:
        return "error";
    case WIRE_PING:
        return "ping";
    case WIRE_PONG:
        return "pong";
    default:
        return "none";
    }
}

void wire_routing_id(const uint8_t device[DEVID_BYTES], uint8_t out[WIRE_ROUTING_ID_BYTES])
{
    out[0] = 'f';
    out[1] = 't';
    memcpy(out + 2, device, DEVID_BYTES);
}

/* The colon before ep's port (after the scheme and the host), or NULL. */
static const char *port_colon(const char *ep)
{
    const char *sep = strstr(ep, "://");
    const char *host = sep ? sep + 3 : ep;
    const char *colon = strrchr(host, ':');
    const char *bracket = strrchr(host, ']');
    return colon && (!bracket || colon > bracket) ? colon : NULL;
}

unsigned wire_endpoint_port(const char *ep)
{
    const char *colon = port_colon(ep);
    if (!colon || colon[1] < '0' || colon[1] > '9') {
        return 0;
    }
    char *end = NULL;
    unsigned long port = strtoul(colon + 1, &end, 10);
    return *end == '\0' && port >= 1 && port <= 65535 ? (unsigned)port : 0;
}

int wire_endpoint_with_port(const char *ep, unsigned port, char *out, size_t n)
{
    const char *colon = port_colon(ep);
    if (!colon || port < 1 || port > 65535) {
        return FT_EINVAL;
    }
    int w = snprintf(out, n, "%.*s:%u", (int)(colon - ep), ep, port);
    return w > 0 && (size_t)w < n ? FT_OK : FT_EINVAL;
}

void wire_receipt_hash(const uint8_t *body, size_t len, uint8_t out[32])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const uint8_t *)receipt_domain, sizeof receipt_domain);
    crypto_generichash_update(&st, body, len);
    crypto_generichash_final(&st, out, 32);
}

static const char pack_domain[] = "fieldtrail/rulepack/v1";

static void pack_hash(const uint8_t *text, size_t len, uint8_t out[32])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const uint8_t *)pack_domain, sizeof pack_domain);
    crypto_generichash_update(&st, text, len);
    crypto_generichash_final(&st, out, 32);
}

int wire_pack_sign(const uint8_t *text, size_t len, const uint8_t sign_sk[64],
                   uint8_t sig[WIRE_SIG_BYTES])
{
    uint8_t hash[32];
    pack_hash(text, len, hash);
    return crypto_sign_ed25519_detached(sig, NULL, hash, sizeof hash, sign_sk) == 0 ? FT_OK
                                                                                    : FT_ECRYPTO;
}

int wire_pack_verify(const uint8_t *text, size_t len, const uint8_t sig[WIRE_SIG_BYTES],
                     const uint8_t sign_pk[32])
{
    uint8_t hash[32];
    pack_hash(text, len, hash);
    return crypto_sign_ed25519_verify_detached(sig, hash, sizeof hash, sign_pk) == 0 ? FT_OK
                                                                                     : FT_EBADSIG;
}

/* Copies a fixed-length bytes field; false if its length is wrong. */
static bool take_fixed(uint8_t *dst, const ProtobufCBinaryData *src, size_t n)
{
    if (src->len != n || (n > 0 && !src->data)) {
        return false;
    }
    memcpy(dst, src->data, n);
    return true;
}

/* Copies bounded text into dst[cap]; false if it is too long or has a NUL. */
static bool take_text(char *dst, size_t cap, const char *src)
{
    if (!src) {
        return false;
    }
    size_t n = strnlen(src, cap);
    if (n >= cap) {
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}

/* Decodes and bounds-checks a packed Receipt into r. */
static int receipt_body_decode(const uint8_t *body, size_t len, wire_receipt_t *r)
{
    Ft__Wire__Receipt *p = ft__wire__receipt__unpack(NULL, len, body);
    if (!p) {
        return FT_EPROTO;
    }
    int err = FT_OK;
    memset(r, 0, sizeof *r);
    if (!take_fixed(r->device, &p->device, DEVID_BYTES) ||
        !take_fixed(r->upto_hash, &p->upto_hash, ENTRY_HASH_BYTES)) {
        err = FT_EPROTO;
    }
    r->epoch = p->epoch;
    r->upto_seq = p->upto_seq;
    r->hub_time_ms = p->hub_time_ms;
    ft__wire__receipt__free_unpacked(p, NULL);
    return err;
}

/* Checks a SignedReceipt's shape and fills out (without checking the signature). */
static int signed_receipt_take(const Ft__Wire__SignedReceipt *p, wire_signed_receipt_t *out)
{
    if (p->signature.len != WIRE_SIG_BYTES || p->body.len == 0 || p->body.len > 1024) {
        return FT_EPROTO;
    }
    int err = receipt_body_decode(p->body.data, p->body.len, &out->body);
    if (err != FT_OK) {
        return err;
    }
    memcpy(out->signature, p->signature.data, WIRE_SIG_BYTES);
    size_t n = ft__wire__signed_receipt__get_packed_size(p);
    out->raw = malloc(n);
    if (!out->raw) {
        return FT_ENOMEM;
    }
    ft__wire__signed_receipt__pack(p, out->raw);
    out->raw_len = n;
    return FT_OK;
}

int wire_receipt_seal(const wire_receipt_t *r, const uint8_t sign_sk[64], uint8_t **out,
                      size_t *out_len)
{
    *out = NULL;
    Ft__Wire__Receipt p = FT__WIRE__RECEIPT__INIT;
    p.device.data = (uint8_t *)r->device;
    p.device.len = DEVID_BYTES;
    p.epoch = r->epoch;
    p.upto_seq = r->upto_seq;
    p.upto_hash.data = (uint8_t *)r->upto_hash;
    p.upto_hash.len = ENTRY_HASH_BYTES;
    p.hub_time_ms = r->hub_time_ms;
    size_t n = ft__wire__receipt__get_packed_size(&p);
    uint8_t *body = malloc(n);
    if (!body) {
        return FT_ENOMEM;
    }
    ft__wire__receipt__pack(&p, body);
    uint8_t hash[32], sig[WIRE_SIG_BYTES];
    wire_receipt_hash(body, n, hash);
    if (crypto_sign_ed25519_detached(sig, NULL, hash, sizeof hash, sign_sk) != 0) {
        free(body);
        return FT_ECRYPTO;
    }
    Ft__Wire__SignedReceipt s = FT__WIRE__SIGNED_RECEIPT__INIT;
    s.body.data = body;
    s.body.len = n;
    s.signature.data = sig;
    s.signature.len = sizeof sig;
    size_t m = ft__wire__signed_receipt__get_packed_size(&s);
    uint8_t *packed = malloc(m);
    if (!packed) {
        free(body);
        return FT_ENOMEM;
    }
    ft__wire__signed_receipt__pack(&s, packed);
    free(body);
    *out = packed;
    *out_len = m;
    return FT_OK;
}

int wire_receipt_open(const uint8_t *raw, size_t len, const uint8_t sign_pk[32], wire_receipt_t *r)
{
    if (len == 0 || len > 4096) {
        return FT_EPROTO;
    }
    Ft__Wire__SignedReceipt *p = ft__wire__signed_receipt__unpack(NULL, len, raw);
    if (!p) {
        return FT_EPROTO;
    }
    int err = FT_OK;
    if (p->signature.len != WIRE_SIG_BYTES || p->body.len == 0 || p->body.len > 1024) {
        err = FT_EPROTO;
    }
    if (err == FT_OK) {
        err = receipt_body_decode(p->body.data, p->body.len, r);
    }
    if (err == FT_OK) {
        uint8_t hash[32];
        wire_receipt_hash(p->body.data, p->body.len, hash);
        if (crypto_sign_ed25519_verify_detached(p->signature.data, hash, sizeof hash, sign_pk) !=
            0) {
            err = FT_EBADSIG;
        }
    }
    ft__wire__signed_receipt__free_unpacked(p, NULL);
    return err;
}

/* Fills the protobuf Msg from m; allocations it makes go to *scratch. */
static int fill_msg(const wire_msg_t *m, Ft__Wire__Msg *msg, void **scratch)
{
    *scratch = NULL;
    switch (m->kind) {
    case WIRE_HELLO: {
        Ft__Wire__Hello *h = calloc(1, sizeof *h);
        if (!h) {
            return FT_ENOMEM;
        }
        ft__wire__hello__init(h);
        h->version = m->u.hello.version;
        h->epoch = m->u.hello.epoch;
        h->head_seq = m->u.hello.head_seq;
        h->head_hash.data = (uint8_t *)m->u.hello.head_hash;
        h->head_hash.len = ENTRY_HASH_BYTES;
        h->wall_ms = m->u.hello.wall_ms;
        msg->kind_case = FT__WIRE__MSG__KIND_HELLO;
        msg->hello = h;
        *scratch = h;
        return FT_OK;
    }
    case WIRE_WELCOME: {
        Ft__Wire__Welcome *w = calloc(1, sizeof *w);
        if (!w) {
            return FT_ENOMEM;
        }
        ft__wire__welcome__init(w);
        w->epoch = m->u.welcome.epoch;
        w->have_seq = m->u.welcome.have_seq;
        w->have_hash.data = (uint8_t *)m->u.welcome.have_hash;
        w->have_hash.len = ENTRY_HASH_BYTES;
        w->hub_wall_ms = m->u.welcome.hub_wall_ms;
        w->hub_sign_pk.data = (uint8_t *)m->u.welcome.hub_sign_pk;
        w->hub_sign_pk.len = 32;
        w->max_batch_entries = m->u.welcome.max_batch_entries;
        w->max_batch_bytes = m->u.welcome.max_batch_bytes;
        if (m->u.welcome.media_port) {
            w->has_media_port = 1;
            w->media_port = m->u.welcome.media_port;
        }
        if (m->u.welcome.data_port) {
            w->has_data_port = 1;
            w->data_port = m->u.welcome.data_port;
        }
        if (m->u.welcome.rule_pack) {
            if (m->u.welcome.rule_pack_len > WIRE_MAX_RULE_PACK) {
                free(w);
                return FT_EINVAL;
            }
            w->has_rule_pack = w->has_rule_pack_sig = true;
            w->rule_pack.data = (uint8_t *)m->u.welcome.rule_pack;
            w->rule_pack.len = m->u.welcome.rule_pack_len;
            w->rule_pack_sig.data = (uint8_t *)m->u.welcome.rule_pack_sig;
            w->rule_pack_sig.len = WIRE_SIG_BYTES;
        }
        msg->kind_case = FT__WIRE__MSG__KIND_WELCOME;
        msg->welcome = w;
        *scratch = w;
        return FT_OK;
    }
    case WIRE_BATCH: {
        const wire_batch_t *b = &m->u.batch;
        if (b->n > WIRE_MAX_BATCH_ENTRIES) {
            return FT_EINVAL;
        }
        /* One block: the Batch, then its entry array. */
        Ft__Wire__Batch *p = calloc(1, sizeof *p + (b->n ? b->n : 1) * sizeof(ProtobufCBinaryData));
        if (!p) {
            return FT_ENOMEM;
        }
        ft__wire__batch__init(p);
        ProtobufCBinaryData *arr = (ProtobufCBinaryData *)(p + 1);
        for (size_t i = 0; i < b->n; i++) {
            if (b->entries[i].len > ENTRY_MAX_BYTES) {
                free(p);
                return FT_EINVAL;
            }
            arr[i].data = (uint8_t *)b->entries[i].data;
            arr[i].len = b->entries[i].len;
        }
        p->n_entries = b->n;
        p->entries = arr;
        if (b->edge_head_seq) {
            p->has_edge_head_seq = 1;
            p->edge_head_seq = b->edge_head_seq;
        }
        if (b->first_seq) {
            p->has_first_seq = 1;
            p->first_seq = b->first_seq;
        }
        if (b->endpoint_mismatch) {
            if (strlen(b->endpoint_mismatch) > WIRE_MISMATCH_MAX) {
                free(p);
                return FT_EINVAL;
            }
            p->endpoint_mismatch = (char *)b->endpoint_mismatch;
        }
        msg->kind_case = FT__WIRE__MSG__KIND_BATCH;
        msg->batch = p;
        *scratch = p;
        return FT_OK;
    }
    case WIRE_RECEIPT: {
        /* The receipt travels as the SignedReceipt it was sealed as. */
        if (!m->u.receipt.raw) {
            return FT_EINVAL;
        }
        Ft__Wire__SignedReceipt *s =
            ft__wire__signed_receipt__unpack(NULL, m->u.receipt.raw_len, m->u.receipt.raw);
        if (!s) {
            return FT_EINVAL;
        }
        msg->kind_case = FT__WIRE__MSG__KIND_RECEIPT;
        msg->receipt = s;
        *scratch = s;
        return FT_OK;
    }
    case WIRE_ERROR: {
        Ft__Wire__Error *e = calloc(1, sizeof *e);
        if (!e) {
            return FT_ENOMEM;
        }
        ft__wire__error__init(e);
        e->code = m->u.error.code;
        e->reason = (char *)m->u.error.reason;
        e->message = (char *)m->u.error.message;
        if (m->u.error.epoch) {
            e->has_epoch = 1;
            e->epoch = m->u.error.epoch;
        }
        if (m->u.error.seq) {
            e->has_seq = 1;
            e->seq = m->u.error.seq;
        }
        msg->kind_case = FT__WIRE__MSG__KIND_ERROR;
        msg->error = e;
        *scratch = e;
        return FT_OK;
    }
    case WIRE_PING: {
        Ft__Wire__Ping *p = calloc(1, sizeof *p);
        if (!p) {
            return FT_ENOMEM;
        }
        ft__wire__ping__init(p);
        p->nonce = m->u.nonce;
        msg->kind_case = FT__WIRE__MSG__KIND_PING;
        msg->ping = p;
        *scratch = p;
        return FT_OK;
    }
    case WIRE_PONG: {
        Ft__Wire__Pong *p = calloc(1, sizeof *p);
        if (!p) {
            return FT_ENOMEM;
        }
        ft__wire__pong__init(p);
        p->nonce = m->u.nonce;
        msg->kind_case = FT__WIRE__MSG__KIND_PONG;
        msg->pong = p;
        *scratch = p;
        return FT_OK;
    }
    default:
        return FT_EINVAL;
    }
}

int wire_encode(const wire_msg_t *m, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    Ft__Wire__Msg msg = FT__WIRE__MSG__INIT;
    void *scratch = NULL;
    int err = fill_msg(m, &msg, &scratch);
    if (err != FT_OK) {
        return err;
    }
    size_t n = ft__wire__msg__get_packed_size(&msg);
    uint8_t *buf = NULL;
    if (n > WIRE_MAX_MSG_BYTES) {
        err = FT_EINVAL;
    } else {
        buf = malloc(n ? n : 1);
        if (!buf) {
            err = FT_ENOMEM;
        } else {
            ft__wire__msg__pack(&msg, buf);
        }
    }
    if (m->kind == WIRE_RECEIPT) {
        ft__wire__signed_receipt__free_unpacked(scratch, NULL);
    } else {
        free(scratch);
    }
    if (err == FT_OK) {
        *out = buf;
        *out_len = n;
    }
    return err;
}

/* Checks one decoded Msg and copies it into m. */
static int take_msg(const Ft__Wire__Msg *p, wire_msg_t *m)
{
    switch (p->kind_case) {
    case FT__WIRE__MSG__KIND_HELLO: {
        const Ft__Wire__Hello *h = p->hello;
        m->kind = WIRE_HELLO;
        m->u.hello.version = h->version;
        m->u.hello.epoch = h->epoch;
        m->u.hello.head_seq = h->head_seq;
        m->u.hello.wall_ms = h->wall_ms;
        return take_fixed(m->u.hello.head_hash, &h->head_hash, ENTRY_HASH_BYTES) ? FT_OK
                                                                                 : FT_EPROTO;
    }
    case FT__WIRE__MSG__KIND_WELCOME: {
        const Ft__Wire__Welcome *w = p->welcome;
        m->kind = WIRE_WELCOME;
        m->u.welcome.epoch = w->epoch;
        m->u.welcome.have_seq = w->have_seq;
        m->u.welcome.hub_wall_ms = w->hub_wall_ms;
        m->u.welcome.max_batch_entries = w->max_batch_entries;
        m->u.welcome.max_batch_bytes = w->max_batch_bytes;
        m->u.welcome.media_port = w->has_media_port && w->media_port <= 65535 ? w->media_port : 0;
        m->u.welcome.data_port = w->has_data_port && w->data_port <= 65535 ? w->data_port : 0;
        if (w->max_batch_entries == 0 || w->max_batch_bytes == 0) {
            return FT_EPROTO;
        }
        if (!take_fixed(m->u.welcome.have_hash, &w->have_hash, ENTRY_HASH_BYTES) ||
            !take_fixed(m->u.welcome.hub_sign_pk, &w->hub_sign_pk, 32)) {
            return FT_EPROTO;
        }
        /* a rule pack is passed on as it came; the receiver judges it */
        if (w->has_rule_pack) {
            m->u.welcome.rule_pack = w->rule_pack.data ? w->rule_pack.data : (const uint8_t *)"";
            m->u.welcome.rule_pack_len = w->rule_pack.len;
            m->u.welcome.rule_pack_signed =
                w->has_rule_pack_sig &&
                take_fixed(m->u.welcome.rule_pack_sig, &w->rule_pack_sig, WIRE_SIG_BYTES);
        }
        return FT_OK;
    }
    case FT__WIRE__MSG__KIND_BATCH: {
        const Ft__Wire__Batch *b = p->batch;
        m->kind = WIRE_BATCH;
        if (b->n_entries > WIRE_MAX_BATCH_ENTRIES ||
            (b->endpoint_mismatch && strlen(b->endpoint_mismatch) > WIRE_MISMATCH_MAX)) {
            return FT_EPROTO;
        }
        wire_bytes_t *arr = calloc(b->n_entries ? b->n_entries : 1, sizeof *arr);
        if (!arr) {
            return FT_ENOMEM;
        }
        for (size_t i = 0; i < b->n_entries; i++) {
            if (b->entries[i].len == 0 || b->entries[i].len > ENTRY_MAX_BYTES) {
                free(arr);
                return FT_EPROTO;
            }
            arr[i].data = b->entries[i].data;
            arr[i].len = b->entries[i].len;
        }
        m->u.batch.n = b->n_entries;
        m->u.batch.entries = arr;
        m->u.batch.edge_head_seq = b->has_edge_head_seq ? b->edge_head_seq : 0;
        m->u.batch.first_seq = b->has_first_seq ? b->first_seq : 0;
        m->u.batch.endpoint_mismatch = b->endpoint_mismatch;
        return FT_OK;
    }
    case FT__WIRE__MSG__KIND_RECEIPT:
        m->kind = WIRE_RECEIPT;
        return signed_receipt_take(p->receipt, &m->u.receipt);
    case FT__WIRE__MSG__KIND_ERROR: {
        const Ft__Wire__Error *e = p->error;
        m->kind = WIRE_ERROR;
        m->u.error.code = e->code;
        m->u.error.epoch = e->has_epoch ? e->epoch : 0;
        m->u.error.seq = e->has_seq ? e->seq : 0;
        if (!take_text(m->u.error.reason, sizeof m->u.error.reason, e->reason) ||
            !take_text(m->u.error.message, sizeof m->u.error.message, e->message)) {
            return FT_EPROTO;
        }
        return FT_OK;
    }
    case FT__WIRE__MSG__KIND_PING:
        m->kind = WIRE_PING;
        m->u.nonce = p->ping->nonce;
        return FT_OK;
    case FT__WIRE__MSG__KIND_PONG:
        m->kind = WIRE_PONG;
        m->u.nonce = p->pong->nonce;
        return FT_OK;
    default:
        return FT_EPROTO;
    }
}

int wire_decode(const uint8_t *buf, size_t len, wire_msg_t *m)
{
    memset(m, 0, sizeof *m);
    if (!buf || len == 0 || len > WIRE_MAX_MSG_BYTES) {
        return FT_EPROTO;
    }
    Ft__Wire__Msg *p = ft__wire__msg__unpack(NULL, len, buf);
    if (!p) {
        return FT_EPROTO;
    }
    m->priv = p;
    int err = take_msg(p, m);
    if (err != FT_OK) {
        wire_msg_free(m);
        return err;
    }
    return FT_OK;
}

void wire_msg_free(wire_msg_t *m)
{
    if (m->kind == WIRE_BATCH) {
        free(m->u.batch.entries);
        m->u.batch.entries = NULL;
        m->u.batch.n = 0;
    } else if (m->kind == WIRE_RECEIPT) {
        free(m->u.receipt.raw);
        m->u.receipt.raw = NULL;
    }
    if (m->priv) {
        ft__wire__msg__free_unpacked(m->priv, NULL);
        m->priv = NULL;
    }
    m->kind = WIRE_NONE;
}
