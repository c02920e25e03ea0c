/* wire.h: the sync protocol's messages (proto/wire.proto) as plain C, and
 * the codec between them and bytes. THIS is the only place wire messages are
 * packed and unpacked; callers never see protobuf-c structs.
 *
 * Every decoder treats its input as hostile: sizes are bounded (WIRE_MAX_*),
 * fixed-length fields (hashes, keys, device IDs, signatures) must have their
 * exact length, and anything else is FT_EPROTO. Nothing here crashes or
 * allocates without bound on any input.
 *
 * Receipts: the hub signs a packed Receipt with its Ed25519 key over a
 * domain-separated hash (like entry.c):
 *   receipt_hash = BLAKE2b-256("fieldtrail/receipt/v1\0" || receipt body bytes)
 * wire_receipt_seal makes SignedReceipt bytes, wire_receipt_open checks them.
 * The edge stores those bytes exactly as received.
 *
 * The protocol (who sends what when) is in docs/protocol.md.
 */
#ifndef FT_WIRE_H
#define FT_WIRE_H

#include "entry.h"
#include "error.h"
#include "keys.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_VERSION 1
/* Largest message either side accepts (also the hub's ZMQ_MAXMSGSIZE). */
#define WIRE_MAX_MSG_BYTES ((size_t)16 << 20)
/* Most entries one Batch may carry. */
#define WIRE_MAX_BATCH_ENTRIES 4096
/* Longest Error message / reason text kept (longer input is refused). */
#define WIRE_MAX_TEXT 1024
#define WIRE_REASON_SIZE 48
#define WIRE_SIG_BYTES 64
/* An edge's ZMQ_ROUTING_ID is "ft" + its device ID (never starting with a
 * zero byte, which ZeroMQ reserves); the hub checks it against the ZAP
 * User-Id so that a reconnect hands the device's session over. */
#define WIRE_ROUTING_ID_BYTES (2 + DEVID_BYTES)
/* Largest rule pack a Welcome carries. */
#define WIRE_MAX_RULE_PACK ((size_t)256 << 10)

typedef enum {
    WIRE_NONE = 0,
    WIRE_HELLO = 1,
    WIRE_WELCOME = 2,
    WIRE_BATCH = 3,
    WIRE_RECEIPT = 4,
    WIRE_ERROR = 5,
    WIRE_PING = 6,
    WIRE_PONG = 7,
} wire_kind;

/* Edge -> hub: the edge's epoch and head. */
typedef struct {
    uint32_t version;                    /* WIRE_VERSION */
    uint64_t epoch;                      /* the edge log's epoch */
    uint64_t head_seq;                   /* its head seq */
    uint8_t head_hash[ENTRY_HASH_BYTES]; /* entry hash of head_seq */
    int64_t wall_ms;                     /* edge wall clock at sending */
} wire_hello_t;

/* Hub -> edge: what the hub holds; resume at have_seq + 1. */
typedef struct {
    uint64_t epoch;                      /* echoes the Hello's epoch */
    uint64_t have_seq;                   /* highest seq held (dense from 1) */
    uint8_t have_hash[ENTRY_HASH_BYTES]; /* its entry hash */
    int64_t hub_wall_ms;                 /* hub clock when answering */
    uint8_t hub_sign_pk[32];             /* verifies receipts */
    uint32_t max_batch_entries;          /* hub's limit per Batch */
    uint32_t max_batch_bytes;            /* hub's limit on a Batch's entry bytes */
    uint32_t media_port;                 /* the hub's media port (0: not said) */
    uint32_t data_port;                  /* its chunk data path's port (0: none or not said) */
    /* The hub's rule pack text, or NULL (borrowed; on decode valid until
     * wire_msg_free). Decoding passes on whatever pack came, with
     * rule_pack_signed false when it came without a 64-byte signature: the
     * receiver judges it (edge/ui/packfile.h), the sync goes on. Encoding
     * refuses one over WIRE_MAX_RULE_PACK and always sends rule_pack_sig. */
    const uint8_t *rule_pack;
    size_t rule_pack_len;
    uint8_t rule_pack_sig[WIRE_SIG_BYTES]; /* wire_pack_sign of it */
    bool rule_pack_signed;                 /* decode: rule_pack_sig came with it */
} wire_welcome_t;

/* One raw SignedEntry inside a Batch (borrowed). */
typedef struct {
    const uint8_t *data;
    size_t len;
} wire_bytes_t;

/* Edge -> hub: consecutive raw entries. On decode, entries point into the
 * decoded message and stay valid until wire_msg_free. */
typedef struct {
    size_t n;               /* number of entries */
    wire_bytes_t *entries;  /* n raw SignedEntry byte strings */
    uint64_t edge_head_seq; /* edge head at sending; 0 = not given */
    uint64_t first_seq;     /* seq the edge meant to start at; 0 = not given */
    /* the edge's report on the hub's endpoints (wire.proto); NULL = not
     * given. On decode it points into the message (valid until
     * wire_msg_free), at most WIRE_MISMATCH_MAX bytes. */
    const char *endpoint_mismatch;
} wire_batch_t;

/* Longest endpoint_mismatch a Batch may carry (bytes, without the NUL). */
#define WIRE_MISMATCH_MAX 500

/* The signed statement: the hub holds device/epoch up to upto_seq. */
typedef struct {
    uint8_t device[DEVID_BYTES];
    uint64_t epoch;
    uint64_t upto_seq;
    uint8_t upto_hash[ENTRY_HASH_BYTES];
    int64_t hub_time_ms;
} wire_receipt_t;

/* A receipt as carried in a Msg: decoded body plus the SignedReceipt bytes
 * (what the edge stores). raw is owned by the message. */
typedef struct {
    wire_receipt_t body;               /* decoded, NOT yet signature-checked */
    uint8_t signature[WIRE_SIG_BYTES]; /* Ed25519 over the receipt hash */
    uint8_t *raw;                      /* SignedReceipt bytes */
    size_t raw_len;
} wire_signed_receipt_t;

/* Hub -> edge: a refusal. */
typedef struct {
    int32_t code;                  /* ft_err */
    char reason[WIRE_REASON_SIZE]; /* token: "bad_signature", "hello_required", ... */
    char message[WIRE_MAX_TEXT];   /* sentence for the operator */
    uint64_t epoch;                /* of the refused entry, 0 if none */
    uint64_t seq;                  /* of the refused entry, 0 if none */
} wire_error_t;

/* One message of either direction. */
typedef struct {
    wire_kind kind;
    union {
        wire_hello_t hello;
        wire_welcome_t welcome;
        wire_batch_t batch;
        wire_signed_receipt_t receipt;
        wire_error_t error;
        uint64_t nonce; /* WIRE_PING, WIRE_PONG */
    } u;
    void *priv; /* decoder's storage; freed by wire_msg_free */
} wire_msg_t;

/* The hub's signature over a rule pack's text (the Welcome carries both):
 * Ed25519 over BLAKE2b-256("fieldtrail/rulepack/v1\0" || text). FT_OK,
 * FT_ECRYPTO. */
int wire_pack_sign(const uint8_t *text, size_t len, const uint8_t sign_sk[64],
                   uint8_t sig[WIRE_SIG_BYTES]) FT_MUST_CHECK;
/* FT_OK if sig is sign_pk's signature over text, else FT_EBADSIG. */
int wire_pack_verify(const uint8_t *text, size_t len, const uint8_t sig[WIRE_SIG_BYTES],
                     const uint8_t sign_pk[32]) FT_MUST_CHECK;

/* Packs m into a new buffer (*out, caller frees). FT_OK, FT_ENOMEM,
 * FT_EINVAL (m breaks a bound, e.g. too many entries, or a WIRE_RECEIPT
 * without raw bytes). */
int wire_encode(const wire_msg_t *m, uint8_t **out, size_t *out_len) FT_MUST_CHECK;

/* Decodes one message. FT_OK (then call wire_msg_free), FT_EPROTO for
 * anything malformed or out of bounds, FT_ENOMEM. On error m needs no free. */
int wire_decode(const uint8_t *buf, size_t len, wire_msg_t *m) FT_MUST_CHECK;

/* Frees what wire_decode allocated; safe to call twice and on a zeroed m. */
void wire_msg_free(wire_msg_t *m);

/* Domain-separated hash of packed Receipt bytes. */
void wire_receipt_hash(const uint8_t *body, size_t len, uint8_t out[32]);

/* Packs and signs r with the hub's secret key: SignedReceipt bytes into *out
 * (caller frees). FT_OK, FT_ENOMEM, FT_ECRYPTO. */
int wire_receipt_seal(const wire_receipt_t *r, const uint8_t sign_sk[64], uint8_t **out,
                      size_t *out_len) FT_MUST_CHECK;

/* Decodes SignedReceipt bytes into r and checks the signature with sign_pk.
 * FT_OK, FT_EPROTO (malformed), FT_EBADSIG. */
int wire_receipt_open(const uint8_t *raw, size_t len, const uint8_t sign_pk[32],
                      wire_receipt_t *r) FT_MUST_CHECK;

/* The routing ID of a device into out[WIRE_ROUTING_ID_BYTES]. */
void wire_routing_id(const uint8_t device[DEVID_BYTES], uint8_t out[WIRE_ROUTING_ID_BYTES]);

/* ZeroMQ tcp endpoints ("tcp://HOST:PORT", HOST may be "*" or "[v6]").
 * wire_endpoint_port: PORT, or 0 when ep has none (no port after the host,
 * not a number, not 1..65535). wire_endpoint_with_port: ep with its port
 * replaced by port, into out (n bytes): FT_OK, or FT_EINVAL (no port to
 * replace, port not 1..65535, or out too small). */
unsigned wire_endpoint_port(const char *ep);
int wire_endpoint_with_port(const char *ep, unsigned port, char *out, size_t n) FT_MUST_CHECK;

/* Name of a kind ("hello", ...), static. */
const char *wire_kind_name(wire_kind k);

#endif
