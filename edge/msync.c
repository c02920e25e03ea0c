/* msync.c: inbox watcher and chunk server threads of `run`, media status
 * (see msync.h). */
#include "msync.h"
#include "inbox.h"
#include "fsutil.h"
#include "hlc.h"
#include "lmdbx.h"
#include "logging.h"
#include "mediawire.h"
#include "record.h"
#include "utf8.h"
#include "wire.h"
#include "zsock.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* Served-chunk counters are written to LMDB at most this often. */
#define MSYNC_FLUSH_MS 2000
#define MSYNC_POLL_MS 200

int edge_media_settings(edge_ctx_t *ctx, const char *archive_flag, edge_media_settings_t *out)
{
    memset(out, 0, sizeof *out);
    out->ingest.unit = config_get(ctx->cfg, "unit");
    const char *ak = config_pick(archive_flag, ctx->cfg, "archive_key", NULL);
    if (ak) {
        if (hex_decode(ak, out->ingest.archive_pk, 32) != FT_OK) {
            edge_fail("archive_key must be the hub's 64-character hex archive key (the "
                      "`archive_public` line of hub.pub), not \"%s\"",
                      ak);
            return 2;
        }
        out->has_archive = true;
    }
    uint64_t v = 0;
    const char *t = config_get(ctx->cfg, "chunk_kb");
    if (t) {
        if (config_parse_u64(t, &v) != FT_OK || v * 1024 < MEDIA_CHUNK_MIN ||
            v * 1024 > MEDIA_CHUNK_MAX) {
            edge_fail("chunk_kb must be between %u and %u, not \"%s\"", MEDIA_CHUNK_MIN / 1024,
                      MEDIA_CHUNK_MAX / 1024, t);
            return 2;
        }
        out->ingest.chunk_size = (uint32_t)(v * 1024);
    }
    t = config_get(ctx->cfg, "media.stable_ms");
    if (t) {
        if (config_parse_u64(t, &v) != FT_OK || v == 0 || v > 3600000) {
            edge_fail("media.stable_ms must be a positive number of milliseconds, not \"%s\"", t);
            return 2;
        }
        out->ingest.stable_ms = (unsigned)v;
    }
    t = config_get(ctx->cfg, "media.settle_ms");
    if (t) {
        if (config_parse_u64(t, &v) != FT_OK || v == 0 || v > 86400000) {
            edge_fail("media.settle_ms must be a positive number of milliseconds (how long a "
                      "file guessed complete must stay unchanged before it leaves the inbox), "
                      "not \"%s\"",
                      t);
            return 2;
        }
        out->ingest.settle_ms = (unsigned)v;
    }
    v = INGEST_DEFAULT_KEEP_DAYS;
    t = config_get(ctx->cfg, "media.keep_days");
    if (t && (config_parse_u64(t, &v) != FT_OK || v > 36500)) {
        edge_fail("media.keep_days must be a whole number of days, not \"%s\"", t);
        return 2;
    }
    out->ingest.keep_ms = v * 86400000ULL;
    t = config_get(ctx->cfg, "inbox");
    if (t) {
        utf8_copy(out->inbox, sizeof out->inbox, t);
    } else {
        snprintf(out->inbox, sizeof out->inbox, "%s/inbox", ctx->state);
    }
    /* Without media.hub the hub's Welcome names the port (edge_media_hub_ports). */
    const char *mh = config_get(ctx->cfg, "media.hub");
    if (mh) {
        utf8_copy(out->endpoint, sizeof out->endpoint, mh);
        out->configured = true;
    }
    const char *hk = config_get(ctx->cfg, "hub_key");
    if (hk && hex_decode(hk, out->hub_key, 32) == FT_OK) {
        out->has_hub_key = true;
    }
    const char *trace = getenv("FT_MEDIA_TRACE");
    out->trace_served = trace && trace[0] == '1';
    return 0;
}

/* ---- chunk server ----------------------------------------------------------- */

/* Served-chunk counts not yet written. */
typedef struct {
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    uint64_t n;
    int64_t first_ms, last_ms;
} served_t;

struct edge_media_t {
    edge_ctx_t *ctx; /* borrowed */
    volatile sig_atomic_t *stop;
    edge_media_settings_t s;
    mstore_t *m;
    ingest_t *in;
    inbox_t *inbox;
    pthread_t watch_th, serve_th;
    bool watch_started, serve_started;
    /* chunk server */
    void *zctx, *dealer, *mon;
    char mon_addr[64];
    uint8_t hub_sign_pk[32];
    bool has_sign_pk;
    served_t *served;
    size_t n_served, cap_served;
    int64_t flushed_ms;
    /* The chunk data path (docs/media.md "Data path"): a DEALER of
     * its own, without CurveZMQ, to the port the hub's welcome names. NULL
     * until a welcome names one. */
    void *data;
    uint32_t data_port;
    uint8_t data_token[MWIRE_TOKEN_BYTES];
    bool data_fallback_said; /* "sent on the secure link instead" logged */
    bool welcomed;           /* a welcome came (data_port is the hub's word) */
    bool ports_said;         /* the sync Welcome's ports were looked at */
    /* Media protocol 2: every data-path message carries the next sequence
     * number and a MAC under the welcome's key; every connection of the
     * data socket starts with a DataHello (sent when its monitor reports
     * the handshake; data_hello_due until it left). */
    uint8_t data_key[MWIRE_DATA_KEY_BYTES];
    uint64_t data_seq;
    void *data_mon;
    unsigned data_gen; /* names the monitor's endpoint */
    bool data_hello_due;
    /* The DataHello left on the current connection: chunks may follow it
     * (until then they take the secure link, so that the hello comes
     * first and a chunk altered on the way cannot cost the connection). */
    bool data_ready;
};

static void *watch_main(void *arg)
{
    edge_media_t *em = arg;
    if (inbox_watch(em->inbox, em->stop) != FT_OK) {
        log_error("the inbox watcher stopped");
    }
    return NULL;
}

/* ZeroMQ's free function for a sent buffer: hint is what was allocated
 * (a chunk's header sits inside the allocation, not at its start). */
static void free_sent(void *data, void *hint)
{
    free(hint ? hint : data);
}

/* Sends one packed message (buf, len; ZeroMQ frees it, or it is freed
 * here) on sock without waiting: FT_OK, FT_EAGAIN (no connection ready, or
 * the queue is full), FT_EIO. */
static int send_packed(void *sock, uint8_t *buf, size_t len, void *to_free)
{
    zmq_msg_t msg;
    if (zmq_msg_init_data(&msg, buf, len, free_sent, to_free) != 0) {
        free(to_free);
        return FT_EIO;
    }
    if (zmq_msg_send(&msg, sock, ZMQ_DONTWAIT) < 0) {
        int e = zmq_errno();
        zmq_msg_close(&msg); /* frees the buffer */
        return e == EAGAIN ? FT_EAGAIN : FT_EIO;
    }
    return FT_OK;
}

static void send_media(edge_media_t *em, const mwire_msg_t *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (mwire_encode(m, &buf, &len) != FT_OK) {
        log_error("cannot encode a %s message", mwire_kind_name(m->kind));
        return;
    }
    /* Handed to ZeroMQ as it is; ZeroMQ frees it once sent. */
    int err = send_packed(em->dealer, buf, len, buf);
    if (err != FT_OK) {
        log_debug("%s not sent: %s", mwire_kind_name(m->kind), ft_strerror(err));
    }
}

typedef struct {
    uint8_t (*ids)[MEDIA_FILE_ID_BYTES];
    size_t n, cap;
} pending_t;

static int collect_pending(void *ctx, const mstore_file_t *f)
{
    pending_t *p = ctx;
    if (f->state != MFILE_STORED || p->n >= MWIRE_MAX_PENDING) {
        return 0;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 32;
        void *g = realloc(p->ids, cap * MEDIA_FILE_ID_BYTES);
        if (!g) {
            return FT_ENOMEM;
        }
        p->ids = g;
        p->cap = cap;
    }
    memcpy(p->ids[p->n++], f->file_id, MEDIA_FILE_ID_BYTES);
    return 0;
}

static void send_hello(edge_media_t *em)
{
    pending_t p = {0};
    MDB_txn *txn = NULL;
    if (mdb_txn_begin(mstore_env(em->m), NULL, MDB_RDONLY, &txn) == 0) {
        lmdbx_unread_t unread = {0};
        int err = mstore_file_iter(em->m, txn, collect_pending, &p, &unread);
        if (err == FT_ECORRUPT && unread.n) {
            mstore_unread_report(em->m, MSTORE_ROWS_FILE, &unread); /* the others are sent */
        } else if (err != FT_OK) {
            p.n = 0;
        }
        mdb_txn_abort(txn);
    }
    mwire_msg_t m = {.kind = MWIRE_HELLO};
    m.u.hello.version = MWIRE_VERSION;
    m.u.hello.n_pending = p.n;
    m.u.hello.pending = (const uint8_t(*)[MEDIA_FILE_ID_BYTES])p.ids;
    send_media(em, &m);
    log_debug("media: hello with %zu files pending", p.n);
    free(p.ids);
}

static void note_served(edge_media_t *em, const uint8_t *file_id)
{
    int64_t now = (int64_t)hlc_wall_ms();
    for (size_t i = 0; i < em->n_served; i++) {
        if (memcmp(em->served[i].file_id, file_id, MEDIA_FILE_ID_BYTES) == 0) {
            em->served[i].n++;
            em->served[i].last_ms = now;
            return;
        }
    }
    if (em->n_served == em->cap_served) {
        size_t cap = em->cap_served ? 2 * em->cap_served : 8;
        served_t *g = realloc(em->served, cap * sizeof *g);
        if (!g) {
            return;
        }
        em->served = g;
        em->cap_served = cap;
    }
    served_t *s = &em->served[em->n_served++];
    memcpy(s->file_id, file_id, MEDIA_FILE_ID_BYTES);
    s->n = 1;
    s->first_ms = s->last_ms = now;
}

/* Writes the served counters into the file rows. */
static void flush_served(edge_media_t *em)
{
    em->flushed_ms = (int64_t)hlc_wall_ms();
    if (em->n_served == 0) {
        return;
    }
    MDB_txn *txn = NULL;
    if (mdb_txn_begin(mstore_env(em->m), NULL, 0, &txn) != 0) {
        return;
    }
    for (size_t i = 0; i < em->n_served; i++) {
        mstore_file_t f;
        if (mstore_file_get(em->m, txn, em->served[i].file_id, &f) != FT_OK) {
            continue;
        }
        if (!f.first_served_ms) {
            f.first_served_ms = em->served[i].first_ms;
        }
        f.served += em->served[i].n;
        f.last_served_ms = em->served[i].last_ms;
        if (mstore_file_put(em->m, txn, &f) != FT_OK) {
            mdb_txn_abort(txn);
            return;
        }
    }
    if (mdb_txn_commit(txn) == 0) {
        em->n_served = 0;
    }
}

/* Reads chunk index of file_id straight into the message that carries it
 * (pread into the space after its header: no other copy) and sends it on
 * sock, with the data path's device and token when auth. FT_OK (sent),
 * FT_ENOTFOUND (not held or unreadable: nothing sent), FT_EAGAIN (sock has
 * no connection ready or its queue is full), FT_ENOMEM, FT_EIO. */
static int send_chunk(edge_media_t *em, void *sock, const uint8_t *file_id, uint32_t index,
                      bool auth)
{
    MDB_txn *txn = NULL;
    if (mdb_txn_begin(mstore_env(em->m), NULL, MDB_RDONLY, &txn) != 0) {
        return FT_EIO;
    }
    const uint8_t *stored = NULL;
    size_t len = 0;
    int err = mstore_chunk_get(em->m, txn, file_id, index, &stored, &len);
    if (err == FT_OK && (len < MEDIA_TAG_BYTES || len > MEDIA_CHUNK_MAX + MEDIA_TAG_BYTES)) {
        err = FT_ENOTFOUND;
    }
    uint8_t *alloc = NULL;
    if (err == FT_OK) {
        alloc = malloc(MWIRE_CHUNK_HEADER_MAX + len);
        err = alloc ? mstore_chunk_read(em->m, txn, file_id, index, alloc + MWIRE_CHUNK_HEADER_MAX,
                                        len, &len)
                    : FT_ENOMEM;
    }
    mdb_txn_abort(txn);
    if (err != FT_OK) {
        free(alloc);
        return err == FT_ENOMEM ? err : FT_ENOTFOUND;
    }
    mwire_msg_t m = {.kind = MWIRE_CHUNK};
    memcpy(m.u.chunk.file_id, file_id, MEDIA_FILE_ID_BYTES);
    m.u.chunk.index = index;
    m.u.chunk.len = len;
    uint64_t seq_before = em->data_seq;
    if (auth) {
        m.u.chunk.has_auth = true;
        memcpy(m.u.chunk.device, devlog_device(em->ctx->log), DEVID_BYTES);
        memcpy(m.u.chunk.token, em->data_token, MWIRE_TOKEN_BYTES);
        m.u.chunk.has_mac = true;
        m.u.chunk.seq = ++em->data_seq;
        if (mwire_data_mac(em->data_key, &m, alloc + MWIRE_CHUNK_HEADER_MAX, len, m.u.chunk.mac) !=
            FT_OK) {
            free(alloc);
            return FT_EIO;
        }
    }
    uint8_t hdr[MWIRE_CHUNK_HEADER_MAX];
    size_t h = mwire_chunk_header(&m, hdr);
    uint8_t *start = alloc + MWIRE_CHUNK_HEADER_MAX - h;
    memcpy(start, hdr, h);
    err = send_packed(sock, start, h + len, alloc);
    if (err != FT_OK && auth) {
        em->data_seq = seq_before; /* not sent: the number is free again */
    }
    if (err == FT_OK) {
        if (em->s.trace_served) {
            char idhex[33];
            hex_encode(file_id, MEDIA_FILE_ID_BYTES, idhex);
            log_info("media: served chunk %s:%u", idhex, index);
        }
        note_served(em, file_id);
    }
    return err;
}

/* Answers the hub's request for chunk index of file_id: on the data path
 * when the hub offered one, it is connected and the hub did not ask for the
 * secure link; else on the CurveZMQ link. A chunk the edge does not hold is
 * reported missing (on the CurveZMQ link). */
static void on_request(edge_media_t *em, const uint8_t *file_id, uint32_t index, bool secure)
{
    int err = FT_EAGAIN;
    if (em->data && !secure) {
        err = em->data_ready ? send_chunk(em, em->data, file_id, index, true) : FT_EAGAIN;
        if (err == FT_EAGAIN && !em->data_fallback_said) {
            log_info("media: the data path to the hub is not connected; chunks go on the "
                     "secure link meanwhile");
            em->data_fallback_said = true;
        }
    }
    if (err == FT_EAGAIN || err == FT_EIO) {
        err = send_chunk(em, em->dealer, file_id, index, false);
    }
    if (err == FT_ENOTFOUND) {
        mwire_msg_t m = {.kind = MWIRE_CHUNK};
        memcpy(m.u.chunk.file_id, file_id, MEDIA_FILE_ID_BYTES);
        m.u.chunk.index = index;
        m.u.chunk.missing = true;
        send_media(em, &m);
    } else if (err != FT_OK) {
        log_debug("media: chunk %u not sent: %s", index, ft_strerror(err));
    }
}

static void on_receipt(edge_media_t *em, const uint8_t *raw, size_t len)
{
    if (!em->has_sign_pk) {
        log_warn("media: a completion receipt before the hub's welcome; ignored");
        return;
    }
    mwire_receipt_t r;
    int err = mwire_receipt_open(raw, len, em->hub_sign_pk, &r);
    if (err != FT_OK) {
        log_warn("media: a completion receipt that does not verify (%s); ignored",
                 ft_strerror(err));
        return;
    }
    if (memcmp(r.device, devlog_device(em->ctx->log), DEVID_BYTES) != 0 ||
        len > MSTORE_RECEIPT_MAX) {
        log_warn("media: a completion receipt for another device; ignored");
        return;
    }
    MDB_txn *txn = NULL;
    if (mdb_txn_begin(mstore_env(em->m), NULL, 0, &txn) != 0) {
        return;
    }
    mstore_file_t f;
    err = mstore_file_get(em->m, txn, r.file_id, &f);
    if (err == FT_OK && f.state == MFILE_STORED &&
        memcmp(f.merkle_root, r.merkle_root, MEDIA_HASH_BYTES) == 0 &&
        memcmp(f.content_hash, r.content_hash, MEDIA_HASH_BYTES) == 0 && f.size == r.size) {
        f.state = MFILE_ACKED;
        f.acked_ms = (int64_t)hlc_wall_ms();
        f.receipt_len = (uint32_t)len;
        memcpy(f.receipt, raw, len);
        err = mstore_file_put(em->m, txn, &f);
        if (err == FT_OK) {
            /* mdb_txn_commit ends the transaction whether it succeeds or not. */
            err = lmdbx_env_err(mstore_env(em->m), mdb_txn_commit(txn));
            if (err == FT_OK) {
                log_info("media: the hub holds all of %s (signed receipt stored)", f.name);
                return;
            }
        } else {
            mdb_txn_abort(txn); /* a write txn left open would block every later write */
        }
        log_error("media: cannot store the completion receipt of %s (%s); the file stays "
                  "unconfirmed and the hub sends the receipt again at the next connection",
                  f.name, ft_strerror(err));
        return;
    }
    mdb_txn_abort(txn);
    if (err == FT_OK && f.state != MFILE_STORED) {
        return; /* already confirmed */
    }
    log_warn("media: a completion receipt that matches no stored file; ignored");
}

/* Sends the DataHello that proves the data socket's current connection
 * (media protocol 2): data_hello_due stays set while it cannot leave yet. */
static void data_hello_send(edge_media_t *em)
{
    if (!em->data) {
        em->data_hello_due = false;
        return;
    }
    mwire_msg_t m = {.kind = MWIRE_DATA_HELLO};
    memcpy(m.u.data_hello.device, devlog_device(em->ctx->log), DEVID_BYTES);
    memcpy(m.u.data_hello.token, em->data_token, MWIRE_TOKEN_BYTES);
    m.u.data_hello.seq = em->data_seq + 1;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (mwire_data_mac(em->data_key, &m, NULL, 0, m.u.data_hello.mac) != FT_OK ||
        mwire_encode(&m, &buf, &len) != FT_OK) {
        log_error("media: cannot make the data path's hello");
        return;
    }
    if (send_packed(em->data, buf, len, buf) == FT_OK) {
        em->data_seq++;
        em->data_hello_due = false;
        em->data_ready = true;
    } else {
        em->data_hello_due = true;
    }
}

/* True if the data socket's monitor reported a completed handshake (a new
 * connection, which must prove itself first); a lost connection clears
 * data_ready. */
static bool data_connected(edge_media_t *em)
{
    bool done = false;
    for (;;) {
        zmq_msg_t ev;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, em->data_mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            break;
        }
        if (zmq_msg_size(&ev) >= 2) {
            const uint8_t *d = zmq_msg_data(&ev);
            uint16_t e = (uint16_t)(d[0] | d[1] << 8);
            if (e == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
                done = true;
            } else if (e == ZMQ_EVENT_DISCONNECTED) {
                em->data_ready = false;
                done = false;
            }
        }
        bool more = zmq_msg_more(&ev);
        zmq_msg_close(&ev);
        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, em->data_mon, 0) < 0) {
                zmq_msg_close(&part);
                break;
            }
            more = zmq_msg_more(&part);
            zmq_msg_close(&part);
        }
    }
    return done;
}

static void data_path_close(edge_media_t *em)
{
    if (em->data) {
        zmq_socket_monitor(em->data, NULL, 0);
    }
    if (em->data_mon) {
        zmq_close(em->data_mon);
        em->data_mon = NULL;
    }
    if (em->data) {
        zmq_close(em->data);
        em->data = NULL;
    }
    em->data_hello_due = false;
    em->data_ready = false;
}

/* The data path the hub's welcome names (port 0 or no key: none). Every
 * welcome starts a new session (token, key, sequence numbers), so the data
 * socket is opened anew: its first message is the new session's DataHello.
 * The hub's media host is the one in media.hub. */
static void data_path_set(edge_media_t *em, uint32_t port, const uint8_t *token, const uint8_t *key)
{
    data_path_close(em);
    memcpy(em->data_token, token, MWIRE_TOKEN_BYTES);
    if (key) {
        memcpy(em->data_key, key, MWIRE_DATA_KEY_BYTES);
    }
    em->data_seq = 0;
    if (port && !key) {
        log_warn("media: the hub offers a data path without a MAC key (a hub from before media "
                 "protocol 2?); chunks go on the secure link");
        port = 0;
    }
    bool said = em->welcomed && port == em->data_port;
    em->welcomed = true;
    em->data_port = port;
    if (!said) {
        em->data_fallback_said = false;
    }
    if (!port) {
        if (!said) {
            log_info("media: the hub offers no data path; chunks go on the secure link");
        }
        return;
    }
    char ep[sizeof em->s.endpoint + 8];
    if (wire_endpoint_with_port(em->s.endpoint, port, ep, sizeof ep) != FT_OK) {
        log_warn("media: cannot tell the hub's host from %s; chunks go on the secure link",
                 em->s.endpoint);
        return;
    }
    /* Sends only (nothing is read from it); a message waits only for a
     * connection that is up (IMMEDIATE): otherwise the chunk takes the
     * secure link at once. */
    int zero = 0, one = 1, ivl = 200, ivl_max = 2000, hwm = 16;
    /* No ZMTP heartbeats (libzmq#4364): TCP keepalive finds an idle dead
     * connection, the TCP user timeout one with chunks unacknowledged for
     * 120 s (as the heartbeat timeout did). */
    zsock_bounds_t b = {.max_msg = 64, .handshake_ms = ZSOCK_HANDSHAKE_MS, .maxrt_ms = 120000};
    char mon[96];
    snprintf(mon, sizeof mon, "inproc://media-data-mon-%p-%u", (void *)em, ++em->data_gen);
    void *d = zmq_socket(em->zctx, ZMQ_DEALER);
    if (!d || zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(d, ZMQ_IMMEDIATE, &one, sizeof one) != 0 ||
        zmq_setsockopt(d, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl) != 0 ||
        zmq_setsockopt(d, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max) != 0 ||
        zmq_setsockopt(d, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 || zsock_bound(d, &b) != FT_OK ||
        zmq_socket_monitor(d, mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED) != 0) {
        log_warn("media: cannot open the data path to %s (%s); chunks go on the secure link", ep,
                 zmq_strerror(zmq_errno()));
        if (d) {
            zmq_close(d);
        }
        return;
    }
    em->data = d;
    em->data_mon = zmq_socket(em->zctx, ZMQ_PAIR);
    if (!em->data_mon || zmq_setsockopt(em->data_mon, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_connect(em->data_mon, mon) != 0 || zmq_connect(d, ep) != 0) {
        log_warn("media: cannot open the data path to %s (%s); chunks go on the secure link", ep,
                 zmq_strerror(zmq_errno()));
        data_path_close(em);
        return;
    }
    if (!said) {
        log_info("media: chunks go to %s (data path; requests, receipts and anything the hub "
                 "asks for again stay on the secure link)",
                 ep);
    }
}

static void on_media_message(edge_media_t *em, const uint8_t *buf, size_t len)
{
    mwire_msg_t m;
    if (mwire_decode(buf, len, &m) != FT_OK) {
        log_warn("media: a message from the hub that does not decode (%zu bytes)", len);
        return;
    }
    switch (m.kind) {
    case MWIRE_WELCOME:
        memcpy(em->hub_sign_pk, m.u.welcome.hub_sign_pk, 32);
        em->has_sign_pk = true;
        log_debug("media: hub welcomed us, window %u", m.u.welcome.window);
        data_path_set(em, m.u.welcome.data_port, m.u.welcome.data_token,
                      m.u.welcome.has_data_key ? m.u.welcome.data_key : NULL);
        break;
    case MWIRE_REQUEST:
        on_request(em, m.u.request.file_id, m.u.request.index, m.u.request.secure);
        break;
    case MWIRE_RECEIPT:
        on_receipt(em, m.u.receipt.raw, m.u.receipt.len);
        break;
    default:
        log_warn("media: the hub does not send %s messages", mwire_kind_name(m.kind));
        break;
    }
    mwire_msg_free(&m);
}

/* True if the monitor reported a completed handshake. */
static bool handshake_done(edge_media_t *em)
{
    bool done = false;
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, em->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            break;
        }
        zmq_msg_init(&addr);
        if (zmq_msg_more(&ev)) {
            zmq_msg_recv(&addr, em->mon, 0);
        }
        if (zmq_msg_size(&ev) >= 2) {
            const uint8_t *d = zmq_msg_data(&ev);
            uint16_t event = (uint16_t)(d[0] | d[1] << 8);
            if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
                done = true;
            }
        }
        zmq_msg_close(&addr);
        zmq_msg_close(&ev);
    }
    return done;
}

static int serve_setup(edge_media_t *em)
{
    em->zctx = zmq_ctx_new();
    if (!em->zctx) {
        return FT_EIO;
    }
    em->dealer = zmq_socket(em->zctx, ZMQ_DEALER);
    if (!em->dealer) {
        return FT_EIO;
    }
    uint8_t rid[WIRE_ROUTING_ID_BYTES];
    wire_routing_id(devlog_device(em->ctx->log), rid);
    /* The user timeout must outlast the chunks in flight: 4 chunks of 1 MiB
     * take ~34 s at 1 Mbit/s, so a dead link is noticed after two minutes
     * (the log-sync link, with small messages, is faster). */
    int zero = 0, one = 1, ivl = 200, ivl_max = 2000;
    int hwm = 64;
    /* No ZMTP heartbeats of ours (libzmq#4364): TCP keepalive and the TCP
     * user timeout (chunks unacknowledged for 120 s) find a dead link. */
    /* What the hub sends here is small (welcome, requests, receipts). */
    zsock_bounds_t b = {.max_msg = (int64_t)MWIRE_MAX_CTRL_BYTES,
                        .handshake_ms = ZSOCK_HANDSHAKE_MS,
                        .maxrt_ms = 120000};
    if (zmq_setsockopt(em->dealer, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(em->dealer, ZMQ_IMMEDIATE, &one, sizeof one) != 0 ||
        zmq_setsockopt(em->dealer, ZMQ_ROUTING_ID, rid, sizeof rid) != 0 ||
        zmq_setsockopt(em->dealer, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl) != 0 ||
        zmq_setsockopt(em->dealer, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max) != 0 ||
        zmq_setsockopt(em->dealer, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zsock_bound(em->dealer, &b) != FT_OK ||
        zmq_setsockopt(em->dealer, ZMQ_CURVE_SERVERKEY, em->s.hub_key, 32) != 0 ||
        zmq_setsockopt(em->dealer, ZMQ_CURVE_PUBLICKEY, em->ctx->keys.box_pk, 32) != 0 ||
        zmq_setsockopt(em->dealer, ZMQ_CURVE_SECRETKEY, em->ctx->keys.box_sk, 32) != 0) {
        return FT_EIO;
    }
    snprintf(em->mon_addr, sizeof em->mon_addr, "inproc://media-mon-%p", (void *)em);
    if (zmq_socket_monitor(em->dealer, em->mon_addr, ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0) {
        return FT_EIO;
    }
    em->mon = zmq_socket(em->zctx, ZMQ_PAIR);
    if (!em->mon || zmq_setsockopt(em->mon, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_connect(em->mon, em->mon_addr) != 0) {
        return FT_EIO;
    }
    if (zmq_connect(em->dealer, em->s.endpoint) != 0) {
        log_error("media: cannot connect to %s: %s", em->s.endpoint, zmq_strerror(zmq_errno()));
        return FT_EIO;
    }
    return FT_OK;
}

static void *serve_main(void *arg)
{
    edge_media_t *em = arg;
    uint8_t *buf = malloc(MWIRE_MAX_CTRL_BYTES);
    if (!buf) {
        return NULL;
    }
    log_info("media: serving chunks to the hub at %s", em->s.endpoint);
    while (!*em->stop) {
        zmq_pollitem_t items[3] = {
            {em->mon, 0, ZMQ_POLLIN, 0},
            {em->dealer, 0, ZMQ_POLLIN, 0},
            {em->data_mon, 0, ZMQ_POLLIN, 0},
        };
        int rc = zmq_poll(items, em->data_mon ? 3 : 2, MSYNC_POLL_MS);
        if (rc < 0 && zmq_errno() != EINTR) {
            log_error("media link: %s", zmq_strerror(zmq_errno()));
            break;
        }
        if ((items[0].revents & ZMQ_POLLIN) && handshake_done(em)) {
            send_hello(em);
        }
        if (em->data_mon && (items[2].revents & ZMQ_POLLIN) && data_connected(em)) {
            em->data_ready = false;
            em->data_hello_due = true;
        }
        if (em->data_hello_due) {
            data_hello_send(em);
        }
        if (items[1].revents & ZMQ_POLLIN) {
            for (int i = 0; i < 64; i++) {
                int n = zmq_recv(em->dealer, buf, MWIRE_MAX_CTRL_BYTES, ZMQ_DONTWAIT);
                if (n < 0) {
                    break;
                }
                if ((size_t)n > MWIRE_MAX_CTRL_BYTES) {
                    continue;
                }
                on_media_message(em, buf, (size_t)n);
            }
        }
        if ((int64_t)hlc_wall_ms() - em->flushed_ms >= MSYNC_FLUSH_MS) {
            flush_served(em);
        }
    }
    flush_served(em);
    free(buf);
    return NULL;
}

int edge_media_start(edge_ctx_t *ctx, volatile sig_atomic_t *stop, edge_media_t **out)
{
    *out = NULL;
    edge_media_t *em = calloc(1, sizeof *em);
    if (!em) {
        edge_fail("out of memory");
        return 1;
    }
    em->ctx = ctx;
    em->stop = stop;
    if (edge_media_settings(ctx, NULL, &em->s) != 0) {
        free(em);
        return 1;
    }
    em->s.ingest.stop = stop;
    int err = mstore_open(ctx->log, &em->m);
    if (err != FT_OK) {
        edge_fail("cannot open the media store: %s", ft_strerror(err));
        edge_media_stop(&em);
        return 1;
    }
    if (em->s.has_archive) {
        err = ingest_new(em->m, &em->s.ingest, &em->in);
        if (err == FT_OK) {
            err = inbox_new(em->in, em->s.inbox, &em->inbox);
        }
        if (err != FT_OK || pthread_create(&em->watch_th, NULL, watch_main, em) != 0) {
            edge_fail("cannot start the inbox watcher");
            edge_media_stop(&em);
            return 1;
        }
        em->watch_started = true;
    } else {
        log_warn("no archive_key in edge.conf: the inbox %s is not watched (media cannot be "
                 "sealed for the hub without it)",
                 em->s.inbox);
    }
    if (em->s.endpoint[0] && em->s.has_hub_key) {
        if (serve_setup(em) != FT_OK || pthread_create(&em->serve_th, NULL, serve_main, em) != 0) {
            edge_fail("cannot set up the media link to %s: %s", em->s.endpoint,
                      zmq_strerror(zmq_errno()));
            edge_media_stop(&em);
            return 1;
        }
        em->serve_started = true;
    }
    *out = em;
    return 0;
}

void edge_media_stop(edge_media_t **m_p)
{
    edge_media_t *em = *m_p;
    if (!em) {
        return;
    }
    if (!*em->stop) {
        *em->stop = 1;
    }
    if (em->watch_started) {
        pthread_join(em->watch_th, NULL);
    }
    if (em->serve_started) {
        pthread_join(em->serve_th, NULL);
    }
    if (em->mon) {
        zmq_close(em->mon);
    }
    if (em->dealer) {
        zmq_socket_monitor(em->dealer, NULL, 0);
        zmq_close(em->dealer);
    }
    data_path_close(em);
    if (em->zctx) {
        zmq_ctx_term(em->zctx);
    }
    inbox_destroy(&em->inbox);
    ingest_destroy(&em->in);
    mstore_destroy(&em->m);
    free(em->served);
    free(em);
    *m_p = NULL;
}

/* ---- status ----------------------------------------------------------------- */

typedef struct {
    json_t *transfers, *ingesting;
    uint64_t stored, acked, pruned, bytes_pending, chunks_stored_bytes;
    lmdbx_unread_t unread_files, unread_progress;
} status_acc_t;

static int status_file(void *ctx, const mstore_file_t *f)
{
    status_acc_t *a = ctx;
    char idhex[33];
    hex_encode(f->file_id, MEDIA_FILE_ID_BYTES, idhex);
    if (f->state == MFILE_STORED) {
        a->stored++;
        a->bytes_pending += f->size;
        uint64_t sent = f->served * (uint64_t)f->chunk_size;
        if (sent > f->size) {
            sent = f->size;
        }
        double secs = (double)(f->last_served_ms - f->first_served_ms) / 1000.0;
        double rate = secs > 0 ? (double)sent / secs : 0;
        double eta = rate > 0 ? (double)(f->size - sent) / rate : -1;
        /* name and recorder escaped where not valid UTF-8: edges before
         * utf8_copy could cut a long name inside a character */
        json_array_append_new(
            a->transfers,
            json_pack("{s:s, s:o, s:o, s:I, s:I, s:I, s:f, s:f}", "file_id", idhex, "name",
                      utf8_json_string(f->name), "recorder", utf8_json_string(f->recorder), "size",
                      (json_int_t)f->size, "sent_bytes", (json_int_t)sent, "chunks",
                      (json_int_t)f->n_chunks, "rate_mb_s", rate / 1e6, "eta_s", eta));
    } else if (f->state == MFILE_ACKED) {
        a->acked++;
    } else if (f->state == MFILE_PRUNED) {
        a->pruned++;
    }
    return 0;
}

static int status_progress(void *ctx, const mstore_progress_t *p)
{
    status_acc_t *a = ctx;
    if (p->state != MPROG_INGESTING) {
        return 0;
    }
    uint64_t done = (uint64_t)p->chunks_done * p->chunk_size;
    if (done > p->size) {
        done = p->size;
    }
    double secs = ((double)hlc_wall_ms() - (double)p->started_ms) / 1000.0;
    double rate = secs > 0 ? (double)done / secs : 0;
    json_array_append_new(a->ingesting,
                          json_pack("{s:o, s:I, s:I, s:f, s:f}", "path", utf8_json_string(p->path),
                                    "size", (json_int_t)p->size, "done_bytes", (json_int_t)done,
                                    "rate_mb_s", rate / 1e6, "eta_s",
                                    rate > 0 ? (double)(p->size - done) / rate : -1.0));
    return 0;
}

json_t *edge_media_status_json(devlog_t *log)
{
    mstore_t *m = NULL;
    if (mstore_open(log, &m) != FT_OK) {
        return json_null();
    }
    status_acc_t a = {.transfers = json_array(), .ingesting = json_array()};
    MDB_txn *txn = NULL;
    uint8_t paused = 0;
    if (mdb_txn_begin(mstore_env(m), NULL, MDB_RDONLY, &txn) == 0) {
        if (mstore_meta_get(m, txn, "storage_full", &paused, 1) != FT_OK) {
            paused = 0;
        }
        int ferr = mstore_file_iter(m, txn, status_file, &a, &a.unread_files);
        int perr = mstore_progress_iter(m, txn, status_progress, &a, &a.unread_progress);
        if ((ferr != FT_OK && !(ferr == FT_ECORRUPT && a.unread_files.n)) ||
            (perr != FT_OK && !(perr == FT_ECORRUPT && a.unread_progress.n))) {
            log_warn("media status incomplete: %s", ft_strerror(ferr != FT_OK ? ferr : perr));
        }
        mdb_txn_abort(txn);
    }
    uint64_t free_bytes = 0, map = 0;
    if (mstore_free_bytes(m, &free_bytes, &map) != FT_OK) {
        free_bytes = map = 0;
    }
    json_t *problems = inbox_problems_json(m);
    json_t *o =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:{s:I, s:I, s:b}}", "files_pending",
                  (json_int_t)a.stored, "files_acked", (json_int_t)a.acked, "files_pruned",
                  (json_int_t)a.pruned, "bytes_pending", (json_int_t)a.bytes_pending,
                  "ingest_queue", (json_int_t)json_array_size(a.ingesting), "ingesting",
                  a.ingesting, "transfers", a.transfers, "storage", "free_bytes",
                  (json_int_t)free_bytes, "map_bytes", (json_int_t)map, "full", paused != 0);
    if (o) {
        json_object_set_new(o, "inbox_problems", problems ? problems : json_array());
        /* Rows that cannot be read are counted, not left out in silence. */
        json_object_set_new(o, "rows_unreadable",
                            json_integer((json_int_t)(a.unread_files.n + a.unread_progress.n)));
        if (a.unread_files.n || a.unread_progress.n) {
            json_object_set_new(o, "first_unreadable",
                                json_string(a.unread_files.n ? a.unread_files.first_key
                                                             : a.unread_progress.first_key));
        }
    } else {
        json_decref(problems);
    }
    mstore_destroy(&m);
    return o;
}

void edge_media_status_print(devlog_t *log, FILE *out)
{
    json_t *o = edge_media_status_json(log);
    if (!json_is_object(o)) {
        json_decref(o);
        return;
    }
    json_t *st = json_object_get(o, "storage");
    fprintf(out,
            "media:       %lld files waiting for the hub (%.1f MiB), %lld confirmed, %lld "
            "pruned\nstorage:     %.1f MiB free of %.1f MiB%s\n",
            (long long)json_integer_value(json_object_get(o, "files_pending")),
            (double)json_integer_value(json_object_get(o, "bytes_pending")) / 1048576.0,
            (long long)json_integer_value(json_object_get(o, "files_acked")),
            (long long)json_integer_value(json_object_get(o, "files_pruned")),
            (double)json_integer_value(json_object_get(st, "free_bytes")) / 1048576.0,
            (double)json_integer_value(json_object_get(st, "map_bytes")) / 1048576.0,
            json_is_true(json_object_get(st, "full")) ? " — FULL: ingest paused" : "");
    json_int_t unread = json_integer_value(json_object_get(o, "rows_unreadable"));
    if (unread > 0) {
        fprintf(out,
                "media:       %lld rows of the media store cannot be read (the first has key %s): "
                "not counted above\n",
                (long long)unread, json_string_value(json_object_get(o, "first_unreadable")));
    }
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, "ingesting"), i, v)
    {
        fprintf(out, "  ingesting %s: %.1f of %.1f MiB\n",
                json_string_value(json_object_get(v, "path")),
                (double)json_integer_value(json_object_get(v, "done_bytes")) / 1048576.0,
                (double)json_integer_value(json_object_get(v, "size")) / 1048576.0);
    }
    json_array_foreach(json_object_get(o, "transfers"), i, v)
    {
        double eta = json_real_value(json_object_get(v, "eta_s"));
        fprintf(out, "  sending %s (%s): %.1f of %.1f MiB, %.1f MB/s, ETA %s%.0fs\n",
                json_string_value(json_object_get(v, "name")),
                json_string_value(json_object_get(v, "recorder")),
                (double)json_integer_value(json_object_get(v, "sent_bytes")) / 1048576.0,
                (double)json_integer_value(json_object_get(v, "size")) / 1048576.0,
                json_real_value(json_object_get(v, "rate_mb_s")), eta < 0 ? "?" : "",
                eta < 0 ? 0 : eta);
    }
    json_t *problems = json_object_get(o, "inbox_problems");
    if (json_array_size(problems)) {
        fprintf(out, "inbox:       %zu files not taken (they stay where they are):\n",
                json_array_size(problems));
    }
    json_array_foreach(problems, i, v)
    {
        const char *kind = json_string_value(json_object_get(v, "kind"));
        bool failed = kind && strcmp(kind, "failed") == 0;
        fprintf(out, "  %s %s: %s", failed ? "FAILED " : "REFUSED",
                json_string_value(json_object_get(v, "path")),
                json_string_value(json_object_get(v, "reason")));
        if (failed) {
            fprintf(out, " (%lld attempts)",
                    (long long)json_integer_value(json_object_get(v, "tries")));
        }
        fputc('\n', out);
    }
    json_decref(o);
}

void edge_media_hub_ports(edge_media_t *em, const char *sync_endpoint, uint32_t media_port,
                          uint32_t data_port, char *mismatch, size_t cap)
{
    if (cap) {
        mismatch[0] = '\0';
    }
    if (!em || *em->stop || !em->s.has_hub_key) {
        return;
    }
    if (em->serve_started) { /* media.hub configured, or an earlier Welcome */
        unsigned have = wire_endpoint_port(em->s.endpoint);
        if (media_port && have != media_port) {
            if (em->s.configured && cap) {
                snprintf(mismatch, cap,
                         "media.hub in edge.conf is %s but the hub announces media port %u "
                         "(data path %u); the edge uses %s as configured, so media may not "
                         "move: remove media.hub from edge.conf to follow the hub",
                         em->s.endpoint, media_port, data_port, em->s.endpoint);
            } else if (cap) {
                snprintf(mismatch, cap,
                         "the hub now announces media port %u (data path %u) but the edge "
                         "still uses %s, announced at an earlier connection: restart "
                         "`fieldtrail-edge run` to follow the hub",
                         media_port, data_port, em->s.endpoint);
            }
            if (!em->ports_said) {
                log_warn("media.hub is %s but the hub says its media port is %u (data path "
                         "%u): media may not move; remove media.hub from edge.conf to follow "
                         "the hub",
                         em->s.endpoint, media_port, data_port);
            }
        }
        em->ports_said = true;
        return;
    }
    em->ports_said = true;
    unsigned port = media_port;
    if (!port) { /* a hub older than the ports in Welcome: its fixed default */
        port = wire_endpoint_port(sync_endpoint) + 2;
        log_warn("the hub does not say its media port (an older hub): trying the sync port + 2 "
                 "(%u); set media.hub in edge.conf if media do not move",
                 port);
    }
    if (port == 0 || port > 65535 ||
        wire_endpoint_with_port(sync_endpoint, port, em->s.endpoint, sizeof em->s.endpoint) !=
            FT_OK) {
        log_error("media: cannot make the media endpoint from %s and port %u", sync_endpoint, port);
        em->s.endpoint[0] = '\0';
        return;
    }
    if (serve_setup(em) != FT_OK || pthread_create(&em->serve_th, NULL, serve_main, em) != 0) {
        log_error("media: cannot set up the media link to %s: %s", em->s.endpoint,
                  zmq_strerror(zmq_errno()));
        return;
    }
    em->serve_started = true;
}
