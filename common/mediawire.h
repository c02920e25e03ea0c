/* mediawire.h: the media transfer messages (proto/wire.proto, MediaMsg) as
 * plain C, and their codec. THIS is the only place they are packed and
 * unpacked. Decoders treat input as hostile: fixed-length fields must have
 * their exact length, sizes are bounded, anything else is FT_EPROTO.
 *
 * Completion receipts: the hub signs a packed MediaReceipt with its Ed25519
 * key over BLAKE2b-256("fieldtrail/media-receipt/v1\0" || body bytes);
 * mwire_receipt_seal makes SignedMediaReceipt bytes, mwire_receipt_open
 * checks them. The edge keeps those bytes as received.
 */
#ifndef FT_MEDIAWIRE_H
#define FT_MEDIAWIRE_H

#include "error.h"
#include "keys.h"
#include "media.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 2: data-path messages carry a sequence number and a MAC under the
 * welcome's data key, and a data-path connection starts with DataHello. A
 * hub takes version 1 hellos too, but offers such an edge no data path. */
#define MWIRE_VERSION 2
#define MWIRE_VERSION_NO_MAC 1
/* Largest media message either side accepts: one chunk of the largest size. */
#define MWIRE_MAX_MSG_BYTES ((size_t)MEDIA_CHUNK_MAX + 4096)
/* Most pending files one MediaHello lists. */
#define MWIRE_MAX_PENDING 4096
/* Largest message the hub sends on the media link (welcome, request,
 * receipt): what an edge's media socket accepts. */
#define MWIRE_MAX_CTRL_BYTES ((size_t)4096)
/* The data path's per-welcome token (MediaWelcome.data_token). */
#define MWIRE_TOKEN_BYTES 32
/* The data path's per-welcome MAC key (MediaWelcome.data_key), and a MAC. */
#define MWIRE_DATA_KEY_BYTES 32
#define MWIRE_MAC_BYTES 16
/* Longest header mwire_chunk_header writes (everything before the data). */
#define MWIRE_CHUNK_HEADER_MAX 128

typedef enum {
    MWIRE_NONE = 0,
    MWIRE_HELLO = 1,
    MWIRE_WELCOME = 2,
    MWIRE_REQUEST = 3,
    MWIRE_CHUNK = 4,
    MWIRE_RECEIPT = 5,
    MWIRE_DATA_HELLO = 6,
} mwire_kind;

/* The statement the hub signs on completion. */
typedef struct {
    uint8_t device[DEVID_BYTES];
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    uint8_t merkle_root[MEDIA_HASH_BYTES];
    uint8_t content_hash[MEDIA_HASH_BYTES];
    uint64_t size;
    int64_t hub_time_ms;
} mwire_receipt_t;

/* One media message. Byte pointers are borrowed: on encode from the caller,
 * on decode into the message (valid until mwire_msg_free). */
typedef struct {
    mwire_kind kind;
    union {
        struct {
            uint32_t version;
            size_t n_pending;
            const uint8_t (*pending)[MEDIA_FILE_ID_BYTES];
        } hello;
        struct {
            uint8_t hub_sign_pk[32];
            uint32_t window;
            uint32_t data_port; /* 0: no data path */
            uint8_t data_token[MWIRE_TOKEN_BYTES];
            bool has_data_key; /* version 2 */
            uint8_t data_key[MWIRE_DATA_KEY_BYTES];
        } welcome;
        struct {
            uint8_t file_id[MEDIA_FILE_ID_BYTES];
            uint32_t index;
            bool secure; /* answer on the CurveZMQ connection */
        } request;
        struct {
            uint8_t file_id[MEDIA_FILE_ID_BYTES];
            uint32_t index;
            bool missing;
            const uint8_t *data;
            size_t len;
            bool has_auth; /* sent on the data path: device and token */
            uint8_t device[DEVID_BYTES];
            uint8_t token[MWIRE_TOKEN_BYTES];
            bool has_mac; /* version 2, with has_auth: seq and mac */
            uint64_t seq;
            uint8_t mac[MWIRE_MAC_BYTES];
        } chunk;
        struct { /* the first message on a data-path connection */
            uint8_t device[DEVID_BYTES];
            uint8_t token[MWIRE_TOKEN_BYTES];
            uint64_t seq;
            uint8_t mac[MWIRE_MAC_BYTES];
        } data_hello;
        struct {
            const uint8_t *raw; /* SignedMediaReceipt bytes */
            size_t len;
        } receipt;
    } u;
    void *priv; /* decoder's storage */
} mwire_msg_t;

/* Packs m into a new buffer (*out, caller frees). FT_OK, FT_ENOMEM, FT_EINVAL. */
int mwire_encode(const mwire_msg_t *m, uint8_t **out, size_t *out_len) FT_MUST_CHECK;
/* Decodes one message. FT_OK (then mwire_msg_free), FT_EPROTO, FT_ENOMEM.
 * A chunk's data may point into buf (no copy of 1 MiB): buf must outlive m. */
int mwire_decode(const uint8_t *buf, size_t len, mwire_msg_t *m) FT_MUST_CHECK;

/* A chunk message built around its data without copying it: writes to out
 * (MWIRE_CHUNK_HEADER_MAX bytes) the header that, followed by the len bytes
 * of data, is the packed MediaMsg of chunk m (m->u.chunk.data is not read;
 * the auth fields are written when has_auth). Returns the header's length,
 * or 0 if m is not a chunk with data or len is out of bounds. The bytes
 * decode exactly as mwire_encode's of the same chunk. */
size_t mwire_chunk_header(const mwire_msg_t *m, uint8_t out[MWIRE_CHUNK_HEADER_MAX]);
/* Frees what mwire_decode allocated; safe twice and on a zeroed m. */
void mwire_msg_free(mwire_msg_t *m);

/* Packs and signs r: SignedMediaReceipt bytes into *out (caller frees). */
int mwire_receipt_seal(const mwire_receipt_t *r, const uint8_t sign_sk[64], uint8_t **out,
                       size_t *out_len) FT_MUST_CHECK;
/* Checks SignedMediaReceipt bytes with sign_pk and decodes the body into r.
 * FT_OK, FT_EPROTO (malformed), FT_EBADSIG. */
int mwire_receipt_open(const uint8_t *raw, size_t len, const uint8_t sign_pk[32],
                       mwire_receipt_t *r) FT_MUST_CHECK;

const char *mwire_kind_name(mwire_kind k);

/* Data-path MACs (media protocol 2, docs/protocol.md "Data path"): Poly1305
 * under a one-time key derived from the session's data key and the message's
 * sequence number (crypto_kdf, subkey seq, context "ftdata2m"), over the
 * message's kind, device, token, seq and, for a chunk, its file ID, index,
 * missing flag, length and data. seq must be >= 1 and never repeat under one
 * key. mwire_data_mac writes m's MAC (a chunk with has_auth, or a data
 * hello; for a chunk, `data` and `len` are its data: m->u.chunk.data is not
 * read) into mac; FT_OK or FT_EINVAL. mwire_data_verify checks the MAC m
 * carries (constant time): true if it is right. */
int mwire_data_mac(const uint8_t key[MWIRE_DATA_KEY_BYTES], const mwire_msg_t *m,
                   const uint8_t *data, size_t len, uint8_t mac[MWIRE_MAC_BYTES]) FT_MUST_CHECK;
bool mwire_data_verify(const uint8_t key[MWIRE_DATA_KEY_BYTES], const mwire_msg_t *m);

#endif
