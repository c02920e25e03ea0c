/* sync.c: the hub's ROUTER loop (see sync.h and docs/protocol.md).
 *
 * Per-device session state machine (one session per authenticated device;
 * the edge's routing ID must equal its device ID, so a reconnect hands the
 * session over to the new connection, ZMQ_ROUTER_HANDOVER):
 *
 *   NONE   --Hello (enrolled, unrevoked)--> OPEN        on_hello
 *   NONE   --Batch-->  NONE, Error "hello_required"     on_batch
 *   OPEN   --Batch all good--> OPEN, Receipt            on_batch
 *   OPEN   --Batch with a bad entry--> HALTED: Receipt for the good prefix,
 *             then Error naming the entry; the event is recorded  on_batch
 *   OPEN   --Batch from a revoked device--> HALTED, Error "revoked"
 *   OPEN   --Batch whose first_seq is beyond head + 1--> HALTED, Error
 *             "resync" (batches were lost in flight; not a gap in the log)
 *   HALTED --Batch--> HALTED, dropped silently (batches the edge had in
 *             flight before it saw the Error; answering them would only
 *             produce spurious "missing_seq" events)
 *   any    --Hello--> as from NONE
 *
 * Invariants:
 *   - a Receipt is sent only after the transaction holding its entries
 *     committed (store_commit returned FT_OK);
 *   - a refused entry is never stored; the entries before it are;
 *   - one integrity event per (device, epoch, seq, reason), however often the
 *     edge re-sends the same bad entry (store_integrity_seen);
 *   - the device is taken from the ZAP User-Id of the message, never from it.
 */
#include "sync.h"
#include "fair.h"
#include "hlc.h"
#include "logging.h"
#include "verify.h"
#include "workpool.h"
#include "wire.h"
#include "zap.h"
#include "utf8.h"
#include "zguard.h"
#include "zsock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <zmq.h>

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
/* A libzmq 4.3 draft option; Debian's libzmq5 implements it. */
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

/* Least interval between status writes caused only by pings. */
#define SYNC_SEEN_WRITE_MS 10000

typedef enum { SESS_NONE = 0, SESS_OPEN, SESS_HALTED } sess_state;

/* A message taken from the socket and waiting for its turn (fair share). */
typedef struct qmsg {
    struct qmsg *next;
    zmq_msg_t payload; /* kept: the decoded batch's entries point into it */
    bool decoded;      /* m holds the decoded message (else: it did not decode) */
    wire_msg_t m;
    size_t done; /* a batch's entries already served (it may span groups) */
} qmsg_t;

/* What the hub remembers about one device's current connection. */
typedef struct {
    uint8_t device[DEVID_BYTES];
    sess_state state;
    uint64_t epoch;          /* epoch of its Hello */
    int64_t seen_written_ms; /* last time last_seen was written for a ping */
    uint8_t rid[WIRE_ROUTING_ID_BYTES];
    size_t rid_len;
    qmsg_t *q_head, *q_tail; /* its messages not served yet, in arrival order */
    bool active;             /* in the round robin (has messages waiting) */
    size_t slot;             /* its last pending slot in the current group, or NO_SLOT */
} session_t;

#define NO_SLOT ((size_t)-1)

/* A batch or Hello handled in the current group: what to tell its edge, in
 * order, once the group's transaction has committed (or failed). */
typedef struct {
    uint8_t rid[WIRE_ROUTING_ID_BYTES];
    size_t rid_len;
    size_t session;   /* index in sessions */
    bool wrote;       /* its writes are in the group's transaction */
    uint8_t *receipt; /* sealed receipt to send after the commit (or NULL) */
    size_t receipt_len;
    bool has_error;    /* error to send after the receipt */
    wire_msg_t error;  /* (kind WIRE_ERROR) */
    bool log_refusal;  /* log r's refusal after the commit */
    bool new_event;    /* its integrity event is new */
    verify_result_t r; /* verdict (when wrote) */
    bool hello;        /* a Hello's slot (on_hello), not a batch's */
    bool has_welcome;  /* Welcome to send after the commit */
    wire_msg_t welcome;
    bool has_pong; /* Pong to send after the commit (a Ping's slot) */
    uint64_t pong_nonce;
    char connected[1024]; /* the log line said once the Welcome goes */
} pending_t;

struct hub_sync_t {
    void *zctx;         /* ZeroMQ context */
    void *router;       /* CURVE server ROUTER */
    zguard_t *guard;    /* its connection cap */
    zap_t *zap;         /* ZAP handler */
    store_t *store;     /* borrowed */
    devlog_t *hublog;   /* the hub's own signed log (borrowed) */
    const keys_t *keys; /* the hub's keys (borrowed) */
    hub_sync_opts_t opts;
    uint32_t media_ports[2]; /* media, data path: told in every Welcome (hub_sync_set_ports) */
    session_t *sessions;     /* one per device seen since start */
    size_t n_sessions, cap_sessions;
    /* The store refuses writes (full disk or map): logged once, then quiet
     * until writes have gone through for STORE_OK_QUIET_MS (store_ok). */
    int store_err;
    uint64_t store_refused;
    int64_t store_ok_since; /* monotonic ms of the first commit since the last refusal; 0 none */
    void (*on_commit)(void *ctx); /* hub_sync_on_commit */
    void *on_commit_ctx;
    workpool_t *pool; /* signature checks of a batch, on every core */
    /* Group commit: the batches staged in one write transaction, and what to
     * send for each once it is durable (see group_flush). */
    store_txn_t *group;
    pending_t *pending;
    size_t n_pending, cap_pending;
    size_t group_entries; /* entries in the batches of the group */
    bool group_welcome;   /* the group holds a Welcome (it ends sooner) */
    size_t group_turns;   /* turns served in the group */
    /* Fair share: the sessions with messages waiting, served in turn
     * (indices into sessions: fresh Hellos first, then the round), and
     * what the loop holds. */
    fair_sched_t turns;
    size_t held_msgs, held_bytes;
    uint8_t pack_sig[WIRE_SIG_BYTES]; /* the hub's signature over opts.rule_pack */
};

static int64_t now_ms(void)
{
    return (int64_t)hlc_wall_ms();
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static session_t *session_get(hub_sync_t *s, const uint8_t device[DEVID_BYTES])
{
    for (size_t i = 0; i < s->n_sessions; i++) {
        if (memcmp(s->sessions[i].device, device, DEVID_BYTES) == 0) {
            return &s->sessions[i];
        }
    }
    if (s->n_sessions == s->cap_sessions) {
        size_t cap = s->cap_sessions ? 2 * s->cap_sessions : 16;
        session_t *grown = realloc(s->sessions, cap * sizeof *grown);
        if (!grown) {
            return NULL;
        }
        s->sessions = grown;
        s->cap_sessions = cap;
    }
    session_t *ss = &s->sessions[s->n_sessions++];
    memset(ss, 0, sizeof *ss);
    memcpy(ss->device, device, DEVID_BYTES);
    ss->slot = NO_SLOT;
    return ss;
}

/* ---- sending ---------------------------------------------------------- */

static void send_msg(hub_sync_t *s, const uint8_t *rid, size_t rid_len, const wire_msg_t *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int err = wire_encode(m, &buf, &len);
    if (err != FT_OK) {
        log_error("cannot encode a %s message: %s", wire_kind_name(m->kind), ft_strerror(err));
        return;
    }
    /* ROUTER_MANDATORY: EHOSTUNREACH when the edge is gone; it re-syncs with
     * a Hello when it comes back, so nothing is lost by dropping this. */
    if (zmq_send(s->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(s->router, buf, len, ZMQ_DONTWAIT) < 0) {
        log_debug("%s not delivered: %s", wire_kind_name(m->kind), zmq_strerror(zmq_errno()));
    }
    free(buf);
}

static void send_error(hub_sync_t *s, const uint8_t *rid, size_t rid_len, int code,
                       const char *reason, uint64_t epoch, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

static void send_error(hub_sync_t *s, const uint8_t *rid, size_t rid_len, int code,
                       const char *reason, uint64_t epoch, uint64_t seq, const char *fmt, ...)
{
    wire_msg_t m = {.kind = WIRE_ERROR};
    m.u.error.code = code;
    utf8_copy(m.u.error.reason, sizeof m.u.error.reason, reason);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m.u.error.message, sizeof m.u.error.message, fmt, ap);
    va_end(ap);
    utf8_trim(m.u.error.message); /* a long message cut on a whole character */
    m.u.error.epoch = epoch;
    m.u.error.seq = seq;
    send_msg(s, rid, rid_len, &m);
}

/* ---- records of what happened ----------------------------------------- */

/* Sets a device's last error in t. */
static int note_error(store_txn_t *t, const uint8_t device[DEVID_BYTES], store_status_t *st,
                      const char *text)
{
    st->last_error_ms = now_ms();
    utf8_copy(st->last_error, sizeof st->last_error, text);
    utf8_trim(st->last_error);
    return store_status_put(t, device, st);
}

/* Records the refusal of an entry as an integrity event: once in the hub's
 * own signed log, once in the store's integrity table (in t). A fault already
 * recorded (the edge re-sent it) is not recorded again. */
static int record_integrity(hub_sync_t *s, store_txn_t *t, const uint8_t device[DEVID_BYTES],
                            const verify_result_t *r, const wire_bytes_t *raw, bool *is_new)
{
    *is_new = false;
    uint64_t id = 0;
    int err = store_integrity_seen(t, device, r->bad_epoch, r->bad_seq, r->reason, &id);
    if (err == FT_OK) {
        return FT_OK;
    }
    if (err != FT_ENOTFOUND) {
        return err;
    }
    Ft__IntegrityEvent ev = FT__INTEGRITY_EVENT__INIT;
    ev.device.data = (uint8_t *)device;
    ev.device.len = DEVID_BYTES;
    ev.reason = (char *)r->reason;
    ev.has_epoch = 1;
    ev.epoch = r->bad_epoch;
    ev.has_seq = 1;
    ev.seq = r->bad_seq;
    ev.detail = (char *)r->detail;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_INTEGRITY;
    body.integrity = &ev;
    uint64_t log_seq = 0;
    err = devlog_append1(s->hublog, &body, &log_seq);
    if (err != FT_OK) {
        log_error("cannot append the integrity event to the hub log: %s", ft_strerror(err));
        return err;
    }
    store_integrity_t row = {.time_ms = now_ms(),
                             .epoch = r->bad_epoch,
                             .seq = r->bad_seq,
                             .hublog_seq = log_seq,
                             .evidence = raw->data,
                             .evidence_len = raw->len};
    memcpy(row.device, device, DEVID_BYTES);
    utf8_copy(row.reason, sizeof row.reason, r->reason);
    utf8_copy(row.detail, sizeof row.detail, r->detail);
    err = store_integrity_add(t, &row, &id);
    if (err == FT_OK) {
        *is_new = true;
    }
    return err;
}

/* ---- the store refusing writes ------------------------------------------ */

/* err of a failed store write, FT_EFULL when it is an I/O error on a full
 * disk (LMDB reports a short write as EIO; see lmdbx_env_err). */
static int store_write_err(const hub_sync_t *s, int err)
{
    struct statvfs v;
    if (err == FT_EIO && s->opts.state && statvfs(s->opts.state, &v) == 0 &&
        (uint64_t)v.f_bavail * v.f_frsize < ((uint64_t)1 << 20)) {
        return FT_EFULL;
    }
    return err;
}

/* A write for device id failed (what: what was refused). The edge is told
 * (Error "storage") and keeps its data; the log gets one line per episode. */
static void store_refused(hub_sync_t *s, const char *id, const char *what, int err)
{
    s->store_refused++;
    s->store_ok_since = 0;
    /* One line per episode (a second one only if it turns out to be a full disk). */
    if (s->store_err == err || s->store_err == FT_EFULL) {
        log_debug("device %s: %s: %s", id, what, ft_strerror(err));
        return;
    }
    s->store_err = err;
    if (err == FT_EFULL) {
        log_error("the hub's store is full: %s refused (device %s); edges keep their entries and "
                  "try again; nothing stored is touched; free space in the state directory "
                  "(further refusals are not logged until the store takes writes again)",
                  what, id);
    } else {
        log_error("device %s: %s: %s (further refusals are not logged until the store takes "
                  "writes again)",
                  id, what, ft_strerror(err));
    }
}

/* A write of new entries committed. It ends an episode of store_refused
 * only once writes have gone through for STORE_OK_QUIET_MS with no refusal
 * between: on a disk nearly full, a group small enough to fit commits and
 * the next one is refused again, and ending the episode at each such commit
 * logged the full store anew every few seconds (a flood, not news). */
#define STORE_OK_QUIET_MS 30000
static void store_ok(hub_sync_t *s)
{
    if (s->store_err == FT_OK) {
        return;
    }
    int64_t now = mono_ms();
    if (s->store_ok_since == 0) {
        s->store_ok_since = now;
        return;
    }
    if (now - s->store_ok_since < STORE_OK_QUIET_MS) {
        return;
    }
    log_info("the hub's store takes writes again (%llu refused meanwhile)",
             (unsigned long long)s->store_refused);
    s->store_err = FT_OK;
    s->store_refused = 0;
    s->store_ok_since = 0;
}

void hub_sync_on_commit(hub_sync_t *s, void (*fn)(void *ctx), void *ctx)
{
    s->on_commit = fn;
    s->on_commit_ctx = ctx;
}

static void committed(hub_sync_t *s)
{
    if (s->on_commit) {
        s->on_commit(s->on_commit_ctx);
    }
}

/* ---- handlers ---------------------------------------------------------- */

static pending_t *pending_add(hub_sync_t *s, session_t *ss, const uint8_t *rid, size_t rid_len);
static void pending_error(pending_t *p, int code, const char *reason, uint64_t epoch, uint64_t seq,
                          const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void group_failed(hub_sync_t *s, int err);

/* A Hello is handled within the group commit, like a batch
 * (docs/protocol.md "Hello"): its status write (last seen, last Hello, the
 * clock offset, the head the edge reports, or the refusal of a revoked or
 * unknown device) goes into the group's transaction, and its answer waits
 * with the group's other answers for the group's one commit.
 *
 * Why this is safe: the status is not a receipt. Nothing the hub sends
 * promises that it is durable, and nothing an edge does depends on it; a
 * crash before the commit loses only this connection's status, which the
 * edge's next Hello writes again (as a crash right after the old per-Hello
 * commit could lose the status of any later Ping). The Welcome still waits
 * for the commit, not for the status but because its have_seq is read in
 * the group's transaction, where batches staged before the Hello may have
 * raised the head: a Welcome never names an entry the hub does not hold
 * durably, and answers leave in the order their messages came. What the
 * Hello no longer has is an fsync of its own: every Hello of a drain shares
 * the one commit of the group (a fleet reconnecting after an outage, or
 * many short connections, no longer costs one durable commit each). */
static void on_hello(hub_sync_t *s, session_t *ss, const uint8_t *rid, size_t rid_len,
                     const wire_hello_t *h)
{
    char id[DEVID_TEXT_SIZE];
    devid_format(ss->device, id);
    ss->state = SESS_NONE;
    pending_t *p = pending_add(s, ss, rid, rid_len);
    if (!p) {
        log_error("out of memory: a Hello dropped (the edge says it again)");
        return;
    }
    p->hello = true;
    if (h->version != WIRE_VERSION) {
        pending_error(p, FT_EPROTO, "version", 0, 0,
                      "protocol version %u is not supported: this hub speaks version %d; "
                      "upgrade fieldtrail-edge",
                      h->version, WIRE_VERSION);
        return;
    }
    int64_t now = now_ms();
    int err = s->group ? FT_OK : store_begin(s->store, true, &s->group);
    if (err != FT_OK) {
        err = store_write_err(s, err);
        store_refused(s, id, "a handshake", err);
        pending_error(p, err, "storage", 0, 0, "the hub cannot write its store (%s)",
                      ft_strerror(err));
        return;
    }
    store_txn_t *t = s->group;
    /* From here on the Hello's writes are in the group's transaction: if it
     * fails, the Hello is answered as a batch of it (group_failed). */
    p->wrote = true;
    store_device_t d;
    store_status_t st;
    store_head_t head;
    err = store_status_get(t, ss->device, &st);
    if (err == FT_OK) {
        err = store_device_get(t, ss->device, &d);
        if (err == FT_OK && d.revoked) {
            err = FT_EREVOKED;
        }
    }
    if (err == FT_EREVOKED || err == FT_ENOTFOUND) {
        bool revoked = err == FT_EREVOKED;
        st.rejected++;
        err = note_error(t, ss->device, &st,
                         revoked ? "handshake refused: the device is revoked"
                                 : "handshake refused: the device is not enrolled");
        if (err != FT_OK) {
            group_failed(s, err);
            return;
        }
        pending_error(p, FT_EREVOKED, "revoked", 0, 0,
                      "this device is %s at the hub; staff must enrol it (fieldtrail-hub enroll)",
                      revoked ? "revoked" : "not enrolled");
        ss->state = SESS_HALTED;
        log_warn("device %s refused: %s", id, revoked ? "revoked" : "not enrolled");
        return;
    }
    if (err == FT_OK) {
        err = store_head_get(t, ss->device, h->epoch, &head);
    }
    if (err != FT_OK) {
        /* A read failed (nothing written yet): the transaction is still
         * good for the group's batches; only this Hello is refused. */
        p->wrote = false;
        err = store_write_err(s, err);
        store_refused(s, id, "a handshake", err);
        pending_error(p, err, "storage", 0, 0, "the hub cannot read its store (%s)",
                      ft_strerror(err));
        return;
    }
    st.last_seen_ms = now;
    st.last_hello_ms = now;
    st.has_clock_offset = true;
    st.clock_offset_ms = now - h->wall_ms;
    st.edge_epoch = h->epoch;
    st.edge_head_seq = h->head_seq;
    st.edge_report_ms = now;
    st.synced_ms = h->head_seq == head.seq ? now : st.synced_ms;
    if (h->head_seq < head.seq) {
        char text[STORE_TEXT_MAX];
        snprintf(text, sizeof text,
                 "the edge reports head %llu of epoch %llu but the hub holds %llu: the "
                 "edge's log was rolled back or restored from an old copy",
                 (unsigned long long)h->head_seq, (unsigned long long)h->epoch,
                 (unsigned long long)head.seq);
        log_warn("device %s: %s", id, text);
        err = note_error(t, ss->device, &st, text);
    } else {
        err = store_status_put(t, ss->device, &st);
    }
    if (err != FT_OK) {
        /* the transaction is unusable after a failed write: the whole group
         * fails, this Hello with it (Error "storage") */
        group_failed(s, err);
        return;
    }
    wire_msg_t *m = &p->welcome;
    memset(m, 0, sizeof *m);
    m->kind = WIRE_WELCOME;
    m->u.welcome.epoch = h->epoch;
    m->u.welcome.have_seq = head.seq;
    memcpy(m->u.welcome.have_hash, head.hash, ENTRY_HASH_BYTES);
    m->u.welcome.hub_wall_ms = now;
    memcpy(m->u.welcome.hub_sign_pk, s->keys->sign_pk, 32);
    m->u.welcome.max_batch_entries = s->opts.max_batch_entries;
    m->u.welcome.max_batch_bytes = s->opts.max_batch_bytes;
    m->u.welcome.media_port = s->media_ports[0];
    m->u.welcome.data_port = s->media_ports[1];
    if (s->opts.rule_pack) {
        m->u.welcome.rule_pack = (const uint8_t *)s->opts.rule_pack;
        m->u.welcome.rule_pack_len = strlen(s->opts.rule_pack);
        memcpy(m->u.welcome.rule_pack_sig, s->pack_sig, WIRE_SIG_BYTES);
    }
    p->has_welcome = true;
    s->group_welcome = true;
    /* Batches that follow in this drain are staged after the Hello's writes,
     * in the same transaction: they stand or fall with it. */
    ss->state = SESS_OPEN;
    ss->epoch = h->epoch;
    snprintf(p->connected, sizeof p->connected,
             "device %s (%s, %s) connected: epoch %llu, edge head %llu, hub holds %llu, clock "
             "offset %+lld ms",
             id, d.unit, d.vehicle, (unsigned long long)h->epoch, (unsigned long long)h->head_seq,
             (unsigned long long)head.seq, (long long)st.clock_offset_ms);
}

/* The receipt for r's head, sealed (and stored in t) or taken from t. */
static int receipt_for(hub_sync_t *s, store_txn_t *t, const uint8_t device[DEVID_BYTES],
                       const verify_result_t *r, uint8_t **raw, size_t *len)
{
    *raw = NULL;
    const uint8_t *held = NULL;
    size_t held_len = 0;
    int err = store_receipt_get(t, device, r->epoch, r->head.seq, &held, &held_len);
    if (err == FT_OK) {
        *raw = malloc(held_len);
        if (!*raw) {
            return FT_ENOMEM;
        }
        memcpy(*raw, held, held_len);
        *len = held_len;
        return FT_OK;
    }
    if (err != FT_ENOTFOUND) {
        return err;
    }
    wire_receipt_t rc = {.epoch = r->epoch, .upto_seq = r->head.seq, .hub_time_ms = now_ms()};
    memcpy(rc.device, device, DEVID_BYTES);
    memcpy(rc.upto_hash, r->head.hash, ENTRY_HASH_BYTES);
    err = wire_receipt_seal(&rc, s->keys->sign_sk, raw, len);
    if (err == FT_OK) {
        err = store_receipt_put(t, device, r->epoch, r->head.seq, *raw, *len);
    }
    if (err != FT_OK) {
        free(*raw);
        *raw = NULL;
    }
    return err;
}

/* ---- batches: group commit -------------------------------------------- */

/* A new pending slot for a batch of session ss from rid, or NULL (out of
 * memory: the batch is dropped unanswered; the edge sends it again). */
static pending_t *pending_add(hub_sync_t *s, session_t *ss, const uint8_t *rid, size_t rid_len)
{
    if (rid_len > WIRE_ROUTING_ID_BYTES) {
        return NULL; /* on_message admits only routing IDs of this length */
    }
    if (s->n_pending == s->cap_pending) {
        size_t cap = s->cap_pending ? 2 * s->cap_pending : 64;
        pending_t *grown = realloc(s->pending, cap * sizeof *grown);
        if (!grown) {
            return NULL;
        }
        s->pending = grown;
        s->cap_pending = cap;
    }
    pending_t *p = &s->pending[s->n_pending++];
    memset(p, 0, sizeof *p);
    memcpy(p->rid, rid, rid_len);
    p->rid_len = rid_len;
    p->session = (size_t)(ss - s->sessions);
    ss->slot = s->n_pending - 1;
    return p;
}

/* Sets the Error p's edge is sent after the group (as send_error). */
static void pending_error(pending_t *p, int code, const char *reason, uint64_t epoch, uint64_t seq,
                          const char *fmt, ...)
{
    p->has_error = true;
    memset(&p->error, 0, sizeof p->error);
    p->error.kind = WIRE_ERROR;
    p->error.u.error.code = code;
    utf8_copy(p->error.u.error.reason, sizeof p->error.u.error.reason, reason);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error.u.error.message, sizeof p->error.u.error.message, fmt, ap);
    va_end(ap);
    utf8_trim(p->error.u.error.message);
    p->error.u.error.epoch = epoch;
    p->error.u.error.seq = seq;
}

/* The group's transaction failed (err): no batch of it is stored. Each of
 * its edges is told (Error "storage") and halted until its next Hello, as a
 * single batch's failure always did; none gets a receipt. */
static void group_failed(hub_sync_t *s, int err)
{
    store_abort(&s->group);
    err = store_write_err(s, err);
    for (size_t i = 0; i < s->n_pending; i++) {
        pending_t *p = &s->pending[i];
        if (!p->wrote) {
            continue;
        }
        char id[DEVID_TEXT_SIZE];
        devid_format(s->sessions[p->session].device, id);
        free(p->receipt);
        p->receipt = NULL;
        p->log_refusal = false;
        p->wrote = false;
        p->has_welcome = false;
        s->sessions[p->session].state = SESS_HALTED;
        if (p->hello) {
            store_refused(s, id, "a handshake", err);
            pending_error(p, err, "storage", 0, 0, "the hub cannot write its store (%s)",
                          ft_strerror(err));
            continue;
        }
        store_refused(s, id, "a batch", err);
        pending_error(p, err, "storage", 0, 0,
                      "the hub could not store the batch (%s); it will be taken again after the "
                      "next Hello",
                      ft_strerror(err));
    }
}

/* Commits the group's transaction (one fsync for all its batches), THEN
 * sends each batch's receipt and error, in the order the batches were
 * handled. A receipt never leaves before the commit returned. */
static void group_flush(hub_sync_t *s)
{
    bool any_write = s->group != NULL;
    /* Only new entries stored end an episode of refusals: a group of
     * Hellos, or of batches the hub already holds (a status row, a few
     * bytes), still commits on a store too full for the batch that follows,
     * and would end and start the episode again at every reconnect (a line
     * each time). */
    bool batches = false;
    for (size_t i = 0; i < s->n_pending; i++) {
        const pending_t *p = &s->pending[i];
        batches = batches || (p->wrote && !p->hello && p->r.accepted > 0);
    }
    /* One receipt per session and group: for the head its batches (or parts
     * of batches) reached in this transaction, sealed and stored in it. */
    for (size_t i = 0; i < s->n_pending && s->group; i++) {
        pending_t *p = &s->pending[i];
        if (p->wrote && !p->hello && p->r.epoch != 0 && p->r.head.seq > 0) {
            int err = receipt_for(s, s->group, s->sessions[p->session].device, &p->r, &p->receipt,
                                  &p->receipt_len);
            if (err != FT_OK) {
                group_failed(s, err);
                any_write = false;
            }
        }
    }
    if (s->group) {
        int err = store_commit(&s->group);
        store_abort(&s->group);
        if (err != FT_OK) {
            group_failed(s, err);
            any_write = false;
        }
    }
    if (any_write) {
        /* Durable now: only from here on may the edges learn that the hub holds it. */
        if (batches) {
            store_ok(s);
        }
        committed(s);
    }
    for (size_t i = 0; i < s->n_pending; i++) {
        pending_t *p = &s->pending[i];
        char id[DEVID_TEXT_SIZE];
        devid_format(s->sessions[p->session].device, id);
        if (p->receipt) {
            wire_msg_t m = {.kind = WIRE_RECEIPT};
            m.u.receipt.raw = p->receipt;
            m.u.receipt.raw_len = p->receipt_len;
            send_msg(s, p->rid, p->rid_len, &m);
            free(p->receipt);
            p->receipt = NULL;
        }
        if (p->has_welcome) {
            send_msg(s, p->rid, p->rid_len, &p->welcome);
            log_info("%s", p->connected);
        }
        if (p->wrote && p->r.accepted) {
            log_debug("device %s: %zu entries stored (head %llu), %zu duplicates", id,
                      p->r.accepted, (unsigned long long)p->r.head.seq, p->r.duplicates);
        }
        if (p->log_refusal) {
            if (p->r.reason) {
                log_warn("device %s: integrity event%s: %s: %s", id, p->new_event ? "" : " (again)",
                         p->r.reason, p->r.detail);
            } else {
                log_warn("device %s: batch refused: %s", id, p->r.detail);
            }
        }
        if (p->has_error) {
            send_msg(s, p->rid, p->rid_len, &p->error);
        }
        if (p->has_pong) {
            wire_msg_t m = {.kind = WIRE_PONG, .u.nonce = p->pong_nonce};
            send_msg(s, p->rid, p->rid_len, &m);
        }
        s->sessions[p->session].slot = NO_SLOT;
    }
    s->n_pending = 0;
    s->group_entries = 0;
    s->group_welcome = false;
    s->group_turns = 0;
}

/* Merges the verdict r of a later part of a batch (or of a later batch of
 * the same session, in the same group) into the slot's verdict into. */
static void verdict_merge(verify_result_t *into, const verify_result_t *r)
{
    into->accepted += r->accepted;
    into->duplicates += r->duplicates;
    if (r->epoch != 0) {
        into->epoch = r->epoch;
        into->head = r->head;
    }
    if (r->err != FT_OK) {
        into->err = r->err;
        into->reason = r->reason;
        into->bad_index = r->bad_index;
        into->bad_epoch = r->bad_epoch;
        into->bad_seq = r->bad_seq;
        memcpy(into->detail, r->detail, sizeof into->detail);
    }
}

/* Serves entries [from, from + take) of a Batch within the group (fair
 * share: a batch may be served over several turns and groups; from == 0 is
 * its first part): every check and write happens in the group's
 * transaction; the answers wait for group_flush, which seals one receipt
 * per session and group for what the group committed (a receipt may cover
 * only part of a batch: the committed prefix, docs/protocol.md). Returns
 * false when the rest of the batch is not to be served (refused). */
static bool on_batch(hub_sync_t *s, session_t *ss, const uint8_t *rid, size_t rid_len,
                     const wire_batch_t *b, size_t from, size_t take)
{
    if (ss->state == SESS_HALTED) {
        return false;
    }
    /* The session's slot of this group, if its last one is a batch's that
     * has nothing but a receipt to send: its verdicts merge into one. */
    pending_t *p = NULL;
    if (ss->slot != NO_SLOT) {
        pending_t *last = &s->pending[ss->slot];
        if (last->wrote && !last->hello && !last->has_pong && !last->has_error) {
            p = last;
        }
    }
    if (!p) {
        p = pending_add(s, ss, rid, rid_len);
    }
    if (!p) {
        log_error("out of memory: a batch dropped (the edge sends it again)");
        return false;
    }
    if (from == 0 && ss->state != SESS_OPEN) {
        pending_error(p, FT_EPROTO, "hello_required", 0, 0, "no session: send Hello first");
        return false;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < b->n; i++) {
        bytes += b->entries[i].len;
    }
    if (b->n > s->opts.max_batch_entries || bytes > s->opts.max_batch_bytes) {
        ss->state = SESS_HALTED;
        pending_error(p, FT_EPROTO, "batch_too_large", 0, 0,
                      "batch of %zu entries / %zu bytes exceeds the hub's limits (%u / %u)", b->n,
                      bytes, s->opts.max_batch_entries, s->opts.max_batch_bytes);
        return false;
    }
    int err = FT_OK;
    if (!s->group) {
        err = store_begin(s->store, true, &s->group);
    }
    store_txn_t *t = s->group;
    /* From here on the batch's writes are in the group's transaction: if it
     * fails, so does this batch (group_failed). */
    bool wrote_before = p->wrote;
    p->wrote = true;
    if (err == FT_OK && from == 0 && b->first_seq && b->n > 0) {
        /* Batches before this one were lost in flight (the edge sent on a new
         * connection before it learnt of it): not a gap in the log. */
        store_head_t head = {0};
        err = store_head_get(t, ss->device, ss->epoch, &head);
        if (err == FT_OK && b->first_seq > head.seq + 1) {
            p->wrote = wrote_before;
            ss->state = SESS_HALTED;
            if (p->wrote) {
                /* the earlier batches' receipt first, then the Error */
                pending_t *e = pending_add(s, ss, rid, rid_len);
                p = e ? e : p;
            }
            pending_error(p, FT_EGAP, "resync", ss->epoch, b->first_seq,
                          "batch starts at %llu but the hub holds up to %llu: say Hello again",
                          (unsigned long long)b->first_seq, (unsigned long long)head.seq);
            return false;
        }
    }
    verify_result_t r;
    memset(&r, 0, sizeof r);
    store_status_t st;
    if (err == FT_OK) {
        err = verify_batch_pool(t, ss->device, b->entries + from, take, s->pool, &r);
    }
    if (err == FT_OK && take == 0 && r.err == FT_OK) {
        /* An empty batch asks for a receipt of what the hub holds (the edge
         * lost the last one, e.g. the hub died between commit and send). */
        r.epoch = ss->epoch;
        err = store_head_get(t, ss->device, ss->epoch, &r.head);
    }
    if (err == FT_OK && r.reason) {
        err =
            record_integrity(s, t, ss->device, &r, &b->entries[from + r.bad_index], &p->new_event);
        r.bad_index += from;
    }
    verdict_merge(&p->r, &r);
    if (err == FT_OK) {
        err = store_status_get(t, ss->device, &st);
    }
    if (err == FT_OK) {
        st.last_seen_ms = now_ms();
        st.batches += from == 0;
        st.accepted += r.accepted;
        st.duplicates += r.duplicates;
        if (b->edge_head_seq) {
            st.edge_head_seq = b->edge_head_seq;
            st.edge_report_ms = st.last_seen_ms;
        }
        if (b->endpoint_mismatch) { /* the edge's word on our endpoints ("" = they agree) */
            utf8_copy(st.endpoint_mismatch, sizeof st.endpoint_mismatch, b->endpoint_mismatch);
            st.endpoint_report_ms = st.last_seen_ms;
        }
        if (r.err == FT_OK && r.epoch != 0 && r.head.seq >= st.edge_head_seq) {
            st.synced_ms = st.last_seen_ms; /* the hub holds all the edge reported */
        }
        if (r.err != FT_OK) {
            st.rejected++;
            char text[STORE_TEXT_MAX];
            snprintf(text, sizeof text, "%s%s%.*s", r.reason ? r.reason : "refused", ": ",
                     utf8_fit(r.detail, 400), r.detail);
            err = note_error(t, ss->device, &st, text);
        } else {
            err = store_status_put(t, ss->device, &st);
        }
    }
    if (err != FT_OK) {
        /* The transaction is unusable after a failed write: the whole group
         * fails, this batch with it. */
        group_failed(s, err);
        return false;
    }
    s->group_entries += take;
    if (r.err != FT_OK) {
        ss->state = SESS_HALTED;
        p->log_refusal = true;
        const char *reason = r.reason ? r.reason : (r.err == FT_EREVOKED ? "revoked" : "refused");
        pending_error(p, r.err, reason, r.bad_epoch, r.bad_seq, "%s", r.detail);
        return false;
    }
    return true;
}

/* A Ping: its Pong waits with the session's other answers of the group, in
 * order; every SYNC_SEEN_WRITE_MS its last-seen time joins the group's
 * transaction (no commit of its own). */
static void on_ping(hub_sync_t *s, session_t *ss, const uint8_t *rid, size_t rid_len,
                    uint64_t nonce)
{
    pending_t *p = pending_add(s, ss, rid, rid_len);
    if (!p) {
        log_error("out of memory: a Ping not answered (the edge pings again)");
        return;
    }
    p->has_pong = true;
    p->pong_nonce = nonce;
    int64_t now = now_ms();
    if (now - ss->seen_written_ms < SYNC_SEEN_WRITE_MS) {
        return;
    }
    ss->seen_written_ms = now;
    store_status_t st;
    int err = s->group ? FT_OK : store_begin(s->store, true, &s->group);
    if (err == FT_OK) {
        err = store_status_get(s->group, ss->device, &st);
    }
    if (err == FT_OK) {
        st.last_seen_ms = now;
        err = store_status_put(s->group, ss->device, &st);
        if (err != FT_OK) {
            group_failed(s, err);
        }
    }
}

/* ---- fair share: deficit round robin over the sessions ---------------- */

/* Entries a session may have served per turn: a batch is served over
 * several turns (and groups) when other sessions wait, so that no edge
 * waits behind another's whole batch or backlog (docs/protocol.md "Fair
 * share"). */
#define SYNC_QUANTUM 16
/* A group that holds a Welcome ends at this many entries (or
 * opts.group_entries if fewer), or this many turns of any kind (Hellos cost
 * no entries: a fleet's Hellos arriving one after the other must not keep
 * the group open): the Welcome leaves with the group's commit, and a new
 * edge waits for a few dozen turns, not for a whole group of others'
 * entries (docs/benchmarks.md "Issue 20, item 3"). */
#define SYNC_WELCOME_GROUP 512
#define SYNC_WELCOME_TURNS 64
/* What the loop takes off the socket before serving it: beyond this the
 * messages wait in ZeroMQ's queues. */
#define SYNC_HELD_MAX_MSGS 8192
#define SYNC_HELD_MAX_BYTES ((size_t)128 << 20)

static void qmsg_free(hub_sync_t *s, qmsg_t *q)
{
    s->held_msgs--;
    s->held_bytes -= zmq_msg_size(&q->payload);
    if (q->decoded) {
        wire_msg_free(&q->m);
    }
    zmq_msg_close(&q->payload);
    free(q);
}

/* Drops what session ss has waiting (it cannot be scheduled: out of
 * memory); its edge says Hello again. */
static void drop_queue(hub_sync_t *s, session_t *ss)
{
    log_error("out of memory: messages of a device dropped");
    while (ss->q_head) {
        qmsg_t *next = ss->q_head->next;
        qmsg_free(s, ss->q_head);
        ss->q_head = next;
    }
    ss->q_tail = NULL;
    ss->active = false;
}

/* Takes one routed message ([routing id][payload]) into its session's
 * queue; a message that cannot be attributed to a device is answered or
 * dropped at once. */
static void take_message(hub_sync_t *s, zmq_msg_t *rid_msg, zmq_msg_t *payload)
{
    const uint8_t *rid = zmq_msg_data(rid_msg);
    size_t rid_len = zmq_msg_size(rid_msg);
    const char *uid = zmq_msg_gets(payload, "User-Id");
    uint8_t device[DEVID_BYTES];
    if (!uid || strlen(uid) != 2 * DEVID_BYTES || hex_decode(uid, device, DEVID_BYTES) != FT_OK) {
        log_error("message without an authenticated device dropped (is the ZAP handler up?)");
        return;
    }
    uint8_t want_rid[WIRE_ROUTING_ID_BYTES];
    wire_routing_id(device, want_rid);
    if (rid_len != sizeof want_rid || memcmp(rid, want_rid, sizeof want_rid) != 0) {
        send_error(s, rid, rid_len, FT_EPROTO, "routing_id", 0, 0,
                   "the connection's routing ID must be \"ft\" + the device ID it "
                   "authenticated as");
        return;
    }
    /* Authenticated: its connection no longer counts as one in its handshake. */
    zguard_trust(s->guard, zguard_msg_fd(payload));
    session_t *ss = session_get(s, device);
    qmsg_t *q = ss ? calloc(1, sizeof *q) : NULL;
    if (!q) {
        log_error("out of memory: message dropped");
        return;
    }
    memcpy(ss->rid, rid, rid_len);
    ss->rid_len = rid_len;
    zmq_msg_init(&q->payload);
    zmq_msg_move(&q->payload, payload);
    q->decoded = wire_decode(zmq_msg_data(&q->payload), zmq_msg_size(&q->payload), &q->m) == FT_OK;
    s->held_msgs++;
    s->held_bytes += zmq_msg_size(&q->payload);
    if (ss->q_tail) {
        ss->q_tail->next = q;
    } else {
        ss->q_head = q;
    }
    ss->q_tail = q;
    if (!ss->active) {
        /* A device that arrives with a Hello is served before the round:
         * its Welcome costs the others no entries (fair.h). */
        bool fresh = q->decoded && q->m.kind == WIRE_HELLO;
        if (!fair_sched_add(&s->turns, (size_t)(ss - s->sessions), fresh)) {
            /* cannot schedule it: drop what it sent; it says Hello again */
            drop_queue(s, ss);
            return;
        }
        ss->active = true;
    }
}

/* Takes what is pending on the socket (within the held bounds) into the
 * sessions' queues. */
static void take_pending(hub_sync_t *s, volatile sig_atomic_t *stop)
{
    while (!*stop && s->held_msgs < SYNC_HELD_MAX_MSGS && s->held_bytes < SYNC_HELD_MAX_BYTES) {
        zmq_msg_t rid, payload;
        zmq_msg_init(&rid);
        zmq_msg_init(&payload);
        if (zmq_msg_recv(&rid, s->router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&payload);
            zmq_msg_close(&rid);
            return;
        }
        bool ok = zmq_msg_more(&rid) && zmq_msg_recv(&payload, s->router, 0) >= 0;
        /* Exactly two frames; drain and drop anything longer. */
        bool extra = false;
        while (ok && zmq_msg_more(&payload)) {
            zmq_msg_t junk;
            zmq_msg_init(&junk);
            zmq_msg_recv(&junk, s->router, 0);
            bool more = zmq_msg_more(&junk);
            zmq_msg_close(&junk);
            extra = true;
            if (!more) {
                break;
            }
        }
        if (ok && !extra) {
            take_message(s, &rid, &payload);
        } else {
            log_debug("multipart message of unexpected shape dropped");
        }
        zmq_msg_close(&payload);
        zmq_msg_close(&rid);
    }
}

/* One turn of session ss: serves its waiting messages in order, at most
 * quantum entries of batches (messages without entries cost none; a fresh
 * turn, quantum 0, serves only those at the front). */
static void serve_turn(hub_sync_t *s, session_t *ss, size_t quantum)
{
    size_t deficit = quantum;
    while (ss->q_head) {
        qmsg_t *q = ss->q_head;
        bool finished = true;
        if (!q->decoded) {
            char id[DEVID_TEXT_SIZE];
            devid_format(ss->device, id);
            log_warn("device %s sent a message that does not decode (%zu bytes)", id,
                     zmq_msg_size(&q->payload));
            pending_t *p = pending_add(s, ss, ss->rid, ss->rid_len);
            if (p) {
                pending_error(p, FT_EPROTO, "protocol", 0, 0,
                              "message does not decode as a sync message");
            }
        } else if (q->m.kind == WIRE_BATCH) {
            const wire_batch_t *b = &q->m.u.batch;
            size_t left = b->n - q->done;
            if (left > 0 && deficit == 0) {
                return; /* the turn is over; the rest of the batch waits */
            }
            size_t take = left < deficit ? left : deficit;
            if (on_batch(s, ss, ss->rid, ss->rid_len, b, q->done, take)) {
                q->done += take;
                deficit -= take;
                finished = q->done == b->n;
            }
        } else if (q->m.kind == WIRE_HELLO) {
            on_hello(s, ss, ss->rid, ss->rid_len, &q->m.u.hello);
        } else if (q->m.kind == WIRE_PING) {
            on_ping(s, ss, ss->rid, ss->rid_len, q->m.u.nonce);
        } else if (q->m.kind != WIRE_PONG) {
            pending_t *p = pending_add(s, ss, ss->rid, ss->rid_len);
            if (p) {
                pending_error(p, FT_EPROTO, "protocol", 0, 0, "an edge does not send %s messages",
                              wire_kind_name(q->m.kind));
            }
        }
        if (!finished) {
            continue;
        }
        ss->q_head = q->next;
        if (!ss->q_head) {
            ss->q_tail = NULL;
        }
        qmsg_free(s, q);
    }
}

/* Serves one group: turns of the waiting sessions (fresh Hellos first,
 * then the round, fair.h) until the group holds opts.group_entries entries
 * (SYNC_WELCOME_GROUP once it holds a Welcome) or nothing waits; commits it (group_flush) and sends
 * the answers. A session with messages left goes to the back of the round. Between turns what
 * arrived is taken in (and the socket takes in the connections whose handshake is through): a Hello
 * joins the group being served instead of waiting for it to end (docs/benchmarks.md "Issue 20, item
 * 3"). */
static void serve_group(hub_sync_t *s, volatile sig_atomic_t *stop)
{
    for (;;) {
        size_t cap = s->opts.group_entries;
        if (s->group_welcome && cap > SYNC_WELCOME_GROUP) {
            cap = SYNC_WELCOME_GROUP;
        }
        if (fair_sched_waiting(&s->turns) == 0 || s->group_entries >= cap ||
            (s->group_welcome && s->group_turns >= SYNC_WELCOME_TURNS)) {
            break;
        }
        s->group_turns++;
        size_t quantum = 0;
        size_t i = fair_sched_next(&s->turns, SYNC_QUANTUM, &quantum);
        session_t *ss = &s->sessions[i];
        serve_turn(s, ss, quantum);
        /* serve_turn adds no session: ss is still valid here */
        if (!ss->q_head) {
            ss->active = false;
        } else if (!fair_sched_again(&s->turns, i)) {
            drop_queue(s, ss);
        }
        if (*stop) {
            break;
        }
        take_pending(s, stop); /* may add sessions: ss is not used after this */
    }
    group_flush(s);
}

int64_t hub_sync_max_msg(uint32_t max_batch_entries, uint32_t max_batch_bytes)
{
    uint64_t bytes = max_batch_bytes > ENTRY_MAX_BYTES ? max_batch_bytes : ENTRY_MAX_BYTES;
    /* Per entry a tag and a length; the batch's own fields and Msg frame;
     * CurveZMQ's MESSAGE command (nonce, box). 64 KiB covers them all. */
    return (int64_t)(bytes + (uint64_t)max_batch_entries * 8 + (64u << 10));
}

int hub_sync_new(store_t *store, devlog_t *hublog, const keys_t *keys, const hub_sync_opts_t *opts,
                 hub_sync_t **out)
{
    *out = NULL;
    hub_sync_t *s = calloc(1, sizeof *s);
    if (!s) {
        return FT_ENOMEM;
    }
    s->store = store;
    s->hublog = hublog;
    s->keys = keys;
    s->opts = *opts;
    if (!s->opts.listen) {
        s->opts.listen = HUB_DEFAULT_LISTEN;
    }
    if (!s->opts.max_batch_entries || s->opts.max_batch_entries > WIRE_MAX_BATCH_ENTRIES) {
        s->opts.max_batch_entries = HUB_DEFAULT_MAX_BATCH_ENTRIES;
    }
    if (!s->opts.max_batch_bytes || s->opts.max_batch_bytes > WIRE_MAX_MSG_BYTES / 2) {
        s->opts.max_batch_bytes = HUB_DEFAULT_MAX_BATCH_BYTES;
    }
    if (!s->opts.max_connections) {
        s->opts.max_connections = HUB_DEFAULT_MAX_CONNECTIONS;
    }
    if (!s->opts.max_handshaking) {
        s->opts.max_handshaking = HUB_DEFAULT_MAX_HANDSHAKING;
    }
    if (!s->opts.group_entries) {
        s->opts.group_entries = HUB_DEFAULT_GROUP_ENTRIES;
    }
    if (s->opts.rule_pack &&
        (!s->opts.rule_pack[0] || strlen(s->opts.rule_pack) > WIRE_MAX_RULE_PACK ||
         wire_pack_sign((const uint8_t *)s->opts.rule_pack, strlen(s->opts.rule_pack),
                        keys->sign_sk, s->pack_sig) != FT_OK)) {
        log_warn("the rule pack is not sent to the edges (empty, over %zu bytes, or it cannot "
                 "be signed): their screens judge by their own default pack",
                 WIRE_MAX_RULE_PACK);
        s->opts.rule_pack = NULL;
    }
    int err = workpool_new(s->opts.verify_threads, &s->pool);
    if (err != FT_OK) {
        goto fail;
    }
    err = FT_EIO;
    s->zctx = zmq_ctx_new();
    if (!s->zctx) {
        goto fail;
    }
    /* CurveZMQ's handshakes and the decryption of every batch run on the
     * context's I/O threads: one per core, like the signature checks. */
    int io_threads = (int)workpool_size(s->pool);
    if (io_threads > 1) {
        zmq_ctx_set(s->zctx, ZMQ_IO_THREADS, io_threads);
    }
    /* The ZAP handler first: no handshake can happen before it is there.
     * It runs on its own thread: a handshake never waits for a group. */
    err = zap_new_audited(s->zctx, store, hublog, ZAP_DOMAIN, "sync", &s->zap);
    if (err == FT_OK) {
        err = zap_start(s->zap);
    }
    if (err != FT_OK) {
        goto fail;
    }
    err = FT_EIO;
    s->router = zmq_socket(s->zctx, ZMQ_ROUTER);
    if (!s->router) {
        goto fail;
    }
    int one = 1, zero = 0;
    /* The listen queue holds a whole fleet arriving at once (a hub
     * restarted): with ZeroMQ's default of 100 the kernel drops the other
     * SYNs and their edges retry after 1 s, 3 s, 7 s (docs/benchmarks.md
     * "Issue 20, item 3"). The kernel caps it at net.core.somaxconn. */
    int backlog = s->opts.max_connections > 65535 ? 65535 : (int)s->opts.max_connections;
    /* Bounds (common/zmq/zsock.h): a message no larger than a batch, a
     * handshake limit, no ZMTP heartbeats (libzmq#4364), TCP keepalive. */
    zsock_bounds_t b = {.max_msg =
                            hub_sync_max_msg(s->opts.max_batch_entries, s->opts.max_batch_bytes),
                        .handshake_ms = ZSOCK_HANDSHAKE_MS,
                        .maxrt_ms = 30000};
    if (zmq_setsockopt(s->router, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(s->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(s->router, ZMQ_ROUTER_HANDOVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(s->router, ZMQ_BACKLOG, &backlog, sizeof backlog) != 0 ||
        zsock_bound(s->router, &b) != FT_OK ||
        zmq_setsockopt(s->router, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(s->router, ZMQ_CURVE_SECRETKEY, keys->box_sk, 32) != 0 ||
        zmq_setsockopt(s->router, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN)) != 0 ||
        zmq_setsockopt(s->router, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0) {
        log_error("cannot configure the sync socket: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    zguard_opts_t go = {.name = "sync",
                        .setting = "sync.max_connections",
                        .max_conns = s->opts.max_connections,
                        .max_pending = s->opts.max_handshaking,
                        .handshake_ms = ZSOCK_HANDSHAKE_MS};
    if (zguard_attach(s->zctx, s->router, &go, &s->guard) != FT_OK) {
        log_error("cannot watch the sync socket's connections: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (zmq_bind(s->router, s->opts.listen) != 0) {
        log_error("cannot listen on %s: %s (is another hub running? set `listen` in hub.conf "
                  "or pass --listen)",
                  s->opts.listen, zmq_strerror(zmq_errno()));
        goto fail;
    }
    *out = s;
    return FT_OK;
fail:
    hub_sync_destroy(&s);
    return err;
}

void hub_sync_destroy(hub_sync_t **s_p)
{
    hub_sync_t *s = *s_p;
    if (!s) {
        return;
    }
    if (s->router) {
        zguard_detach(&s->guard, s->router);
        zmq_close(s->router);
    }
    zap_destroy(&s->zap);
    if (s->zctx) {
        zmq_ctx_term(s->zctx);
    }
    store_abort(&s->group);
    for (size_t i = 0; i < s->n_pending; i++) {
        free(s->pending[i].receipt);
    }
    free(s->pending);
    for (size_t i = 0; i < s->n_sessions; i++) {
        while (s->sessions[i].q_head) {
            qmsg_t *next = s->sessions[i].q_head->next;
            qmsg_free(s, s->sessions[i].q_head);
            s->sessions[i].q_head = next;
        }
    }
    fair_sched_free(&s->turns);
    workpool_destroy(&s->pool);
    free(s->sessions);
    free(s);
    *s_p = NULL;
}

int hub_sync_run(hub_sync_t *s, volatile sig_atomic_t *stop)
{
    while (!*stop) {
        zmq_pollitem_t items[1] = {
            {s->router, 0, ZMQ_POLLIN, 0},
        };
        /* Busy (sessions waiting): only look, then serve the next group. */
        int rc = zmq_poll(items, 1, fair_sched_waiting(&s->turns) > 0 ? 0 : 500);
        if (rc < 0) {
            if (zmq_errno() == EINTR) {
                continue;
            }
            log_error("sync loop: %s", zmq_strerror(zmq_errno()));
            return FT_EIO;
        }
        if (items[0].revents & ZMQ_POLLIN) {
            take_pending(s, stop);
        }
        if (fair_sched_waiting(&s->turns) > 0 && !*stop) {
            serve_group(s, stop);
        }
    }
    return FT_OK;
}

void hub_sync_set_ports(hub_sync_t *s, uint32_t media_port, uint32_t data_port)
{
    s->media_ports[0] = media_port;
    s->media_ports[1] = data_port;
}
