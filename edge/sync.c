/* sync.c: the edge's sync client (see sync.h and docs/protocol.md).
 *
 * Link state machine (each transition names the function that makes it):
 *
 *   DOWN       --handshake succeeded (monitor)--> HELLO_SENT     on_monitor, send_hello
 *   HELLO_SENT --Welcome--> STREAMING                              on_welcome
 *   HELLO_SENT --no Welcome within hello timeout--> HELLO_SENT     tick (Hello again)
 *   STREAMING  --Receipt--> STREAMING (window slides)              on_receipt
 *   STREAMING  --no answer within ack timeout--> HELLO_SENT        tick
 *   any        --Error "hello_required" or "resync"--> HELLO_SENT  on_error
 *   any        --other Error--> HALTED until retry time            on_error, halt
 *   HALTED     --retry time passed, link up--> HELLO_SENT          tick
 *   any        --disconnected (monitor)--> DOWN                    on_monitor
 *   DOWN       --handshake refused (monitor)--> DOWN, logged once  on_monitor
 *
 * Invariants:
 *   - at most `window` batches are unacknowledged (n_inflight);
 *   - after every Welcome the edge sends from the hub's have_seq + 1, so
 *     whatever was lost in flight is sent again and nothing is skipped;
 *   - a receipt is stored only if its signature verifies with the key the
 *     hub gave in Welcome (over the CurveZMQ-authenticated link) and its
 *     hash is that of our own entry at upto_seq; stored receipts only grow;
 *   - pruned entries (only their hash and signature kept, edge/prune.h) are
 *     never sent: they are receipted, so the hub holds them. If a hub asks
 *     for one anyway (a hub restored from an old backup), the link halts
 *     with a message saying the entry was pruned on this unit.
 * `run` also prunes (edge_prune_records) at start and every
 * EDGE_SYNC_PRUNE_EVERY_MS while it syncs, when records.keep_days is not 0.
 */
#include "sync.h"
#include "packfile.h"
#include "hlc.h"
#include "prune.h"
#include "lmdbx.h"
#include "logging.h"
#include "wire.h"
#include "utf8.h"
#include "zsock.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_WINDOW 64
#define POLL_MS 200
/* The hub sends Welcome, receipts, errors and pongs: none reaches 2 KiB but
 * a Welcome with the hub's rule pack (at most WIRE_MAX_RULE_PACK). */
#define HUB_MAX_RX_BYTES (WIRE_MAX_RULE_PACK + (64 << 10))

typedef enum { L_DOWN = 0, L_HELLO_SENT, L_STREAMING, L_HALTED } link_state;

struct edge_sync_t {
    devlog_t *log;               /* the device log (borrowed) */
    const keys_t *keys;          /* transport keys (borrowed) */
    edge_sync_opts_t o;          /* settings, defaults filled in */
    uint8_t device[DEVID_BYTES]; /* this device */
    uint64_t epoch;              /* this log's epoch */
    MDB_env *env;                /* the log's environment */
    MDB_dbi receipts_dbi;        /* epoch|upto_seq -> SignedReceipt */
    MDB_dbi sync_dbi;            /* link state, last error, hub key, pid */
    void *zctx, *dealer, *mon;   /* ZeroMQ context, link, monitor */
    char mon_addr[64];           /* inproc address of the monitor */
    link_state state;
    bool connected;                 /* handshake done, no disconnect since */
    int64_t hello_sent_ms;          /* monotonic ms of the last Hello */
    int64_t hello_wall_ms;          /* wall ms of the last Hello */
    int64_t last_rx_ms, last_tx_ms; /* monotonic ms of the last message in / out */
    int64_t halted_until_ms;        /* monotonic ms when HALTED ends */
    int64_t receipt_req_ms;         /* last empty batch (receipt request) */
    uint8_t hub_sign_pk[32];        /* verifies receipts */
    bool have_hub_pk;
    unsigned batch_entries, batch_bytes; /* in effect (hub may lower them) */
    uint64_t acked;                      /* highest seq the hub holds, as far as known */
    uint64_t receipt_seq;                /* highest seq covered by a stored receipt */
    uint64_t rcpt_seq;                   /* highest checked receipt not stored yet (0: none) */
    uint8_t *rcpt_raw;                   /* its bytes (rcpt_len of rcpt_cap) */
    size_t rcpt_len, rcpt_cap;
    uint64_t next_send;            /* next seq to send */
    uint64_t inflight[MAX_WINDOW]; /* upto seq of each batch in flight, oldest first */
    unsigned n_inflight;
    uint64_t ping_nonce;
    bool refusal_logged;   /* the current run of refused handshakes was logged */
    int64_t progress_ms;   /* last progress line */
    uint64_t progress_seq; /* receipt_seq at that line */
    char link_written[24]; /* link state last written to the sync db */
    int64_t pruned_ms;     /* monotonic ms of the last prune, 0 = never */
    uint64_t pruned_said;  /* first seq of the last "pruned on this unit" error */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    return (int64_t)hlc_wall_ms();
}

/* ---- the sync database ----------------------------------------------- */

/* Writes key = value (n bytes) in its own transaction. */
static int meta_put(edge_sync_t *s, const char *key, const void *val, size_t n)
{
    MDB_txn *txn = NULL;
    int err = lmdbx_err(mdb_txn_begin(s->env, NULL, 0, &txn));
    if (err != FT_OK) {
        return err;
    }
    err = lmdbx_put_meta(txn, s->sync_dbi, key, val, n);
    if (err == FT_OK) {
        err = lmdbx_err(mdb_txn_commit(txn));
    } else {
        mdb_txn_abort(txn);
    }
    return err;
}

/* Records the link state (if it changed) for `status`. */
static void set_link(edge_sync_t *s, const char *state)
{
    if (strcmp(s->link_written, state) == 0) {
        return;
    }
    snprintf(s->link_written, sizeof s->link_written, "%s", state);
    uint8_t buf[8 + 24] = {0};
    lmdbx_put_u64(buf, (uint64_t)wall_ms());
    memcpy(buf + 8, state, strnlen(state, 23));
    if (meta_put(s, "link", buf, sizeof buf) != FT_OK) {
        log_warn("cannot record the link state in the local database");
    }
}

/* Records the last error for `status`. */
static void set_error(edge_sync_t *s, const char *text)
{
    uint8_t buf[8 + 512] = {0};
    lmdbx_put_u64(buf, (uint64_t)wall_ms());
    memcpy(buf + 8, text, strnlen(text, 511));
    if (meta_put(s, "last_error", buf, sizeof buf) != FT_OK) {
        log_warn("cannot record the last error in the local database");
    }
}

/* Highest stored receipt of this epoch (0 if none). */
static int last_receipt(MDB_txn *txn, MDB_dbi dbi, uint64_t epoch, uint64_t *seq, MDB_val *val)
{
    *seq = 0;
    if (val) {
        *val = (MDB_val){0, NULL};
    }
    uint8_t pb[8];
    lmdbx_put_u64(pb, epoch);
    MDB_val prefix = {sizeof pb, pb}, k, v;
    int err = lmdbx_last(txn, dbi, NULL, &prefix, &k, &v);
    if (err == FT_OK && k.mv_size == 16) {
        *seq = lmdbx_get_u64((const uint8_t *)k.mv_data + 8);
        if (val) {
            *val = v;
        }
    }
    return err == FT_ENOTFOUND ? FT_OK : err;
}

/* Opens the receipts and sync databases (creating them) in env. */
static int open_dbs(MDB_env *env, bool create, MDB_dbi *receipts, MDB_dbi *sync, MDB_txn **keep)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(env, NULL, create ? 0 : MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS) {
        return lmdbx_err(rc);
    }
    unsigned flags = create ? MDB_CREATE : 0;
    rc = mdb_dbi_open(txn, "receipts", flags, receipts);
    if (rc == MDB_SUCCESS) {
        rc = mdb_dbi_open(txn, "sync", flags, sync);
    }
    if (rc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        return lmdbx_err(rc);
    }
    if (keep) {
        *keep = txn;
        return FT_OK;
    }
    return lmdbx_err(mdb_txn_commit(txn));
}

/* ---- sending ---------------------------------------------------------- */

static bool send_msg(edge_sync_t *s, const wire_msg_t *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int err = wire_encode(m, &buf, &len);
    if (err != FT_OK) {
        log_error("cannot encode a %s message: %s", wire_kind_name(m->kind), ft_strerror(err));
        return false;
    }
    int rc = zmq_send(s->dealer, buf, len, ZMQ_DONTWAIT);
    free(buf);
    if (rc < 0) {
        log_debug("%s not sent: %s", wire_kind_name(m->kind), zmq_strerror(zmq_errno()));
        return false;
    }
    s->last_tx_ms = mono_ms();
    return true;
}

static void send_hello(edge_sync_t *s)
{
    wire_msg_t m = {.kind = WIRE_HELLO};
    m.u.hello.version = WIRE_VERSION;
    m.u.hello.epoch = s->epoch;
    if (devlog_head(s->log, &m.u.hello.head_seq, m.u.hello.head_hash) != FT_OK) {
        log_error("cannot read the log head");
        return;
    }
    m.u.hello.wall_ms = wall_ms();
    s->n_inflight = 0;
    s->state = L_HELLO_SENT;
    s->hello_sent_ms = mono_ms();
    s->hello_wall_ms = m.u.hello.wall_ms;
    if (!send_msg(s, &m)) {
        /* Not connected after all; the next handshake sends it. */
        s->state = L_DOWN;
    }
}

static void halt(edge_sync_t *s, unsigned ms)
{
    s->state = L_HALTED;
    s->n_inflight = 0;
    s->halted_until_ms = mono_ms() + ms;
}

/* Entries gathered for one batch. */
typedef struct {
    uint8_t *buf; /* entry bytes, back to back */
    size_t len, cap;
    size_t offs[WIRE_MAX_BATCH_ENTRIES + 1];
    size_t n; /* entries */
    size_t max_n, max_bytes;
    uint64_t last_seq;
    uint64_t pruned_seq; /* the batch stopped before this pruned entry */
} gather_t;

static int gather_one(void *ctx, const devlog_item_t *it)
{
    gather_t *g = ctx;
    if (it->state == DEVLOG_PRUNED) {
        g->pruned_seq = it->seq;
        return 1;
    }
    /* An entry that cannot be read here goes as an empty one: the hub
     * refuses it and records an integrity event, as for any damaged entry. */
    const uint8_t *raw = it->state == DEVLOG_ENTRY ? it->raw : NULL;
    size_t len = it->state == DEVLOG_ENTRY ? it->len : 0;
    if (it->state != DEVLOG_ENTRY) {
        log_error("entry %llu cannot be read on this unit (%s); sending it empty, so the hub "
                  "records it; run `fieldtrail-edge verify`",
                  (unsigned long long)it->seq, it->why);
    }
    if (g->n > 0 && (g->n >= g->max_n || g->len + len > g->max_bytes)) {
        return 1;
    }
    if (g->len + len > g->cap || !g->buf) {
        size_t cap = g->cap ? g->cap : 65536;
        while (cap < g->len + len) {
            cap *= 2;
        }
        uint8_t *grown = realloc(g->buf, cap);
        if (!grown) {
            return FT_ENOMEM;
        }
        g->buf = grown;
        g->cap = cap;
    }
    if (len > 0) {
        memcpy(g->buf + g->len, raw, len);
    }
    g->offs[g->n] = g->len;
    g->len += len;
    g->n++;
    g->offs[g->n] = g->len;
    g->last_seq = it->seq;
    return g->n >= g->max_n ? 1 : 0;
}

/* The hub asked for an entry that was pruned here: say so, once per
 * Welcome, and halt until the retry time. */
static void pruned_asked(edge_sync_t *s, uint64_t seq)
{
    char text[512];
    snprintf(text, sizeof text,
             "the hub asks for entry %llu, which was pruned on this unit after a receipt of the "
             "hub covered it (records.keep_days; only its hash and signature are kept here): "
             "the hub must restore this device's log from its backup; entries are not sent "
             "until then",
             (unsigned long long)seq);
    if (s->pruned_said != seq) {
        log_error("%s", text);
        s->pruned_said = seq;
    }
    set_error(s, text);
    set_link(s, "halted");
    halt(s, s->o.retry_ms);
}

/* Sends the next batch (from next_send up to head). False if nothing was sent. */
static bool send_batch(edge_sync_t *s, uint64_t head)
{
    gather_t *g = calloc(1, sizeof *g);
    if (!g) {
        return false;
    }
    g->max_n = s->batch_entries;
    g->max_bytes = s->batch_bytes;
    int err = devlog_iter_all(s->log, s->next_send, head, gather_one, g);
    bool sent = false;
    if (err < 0) {
        log_error("cannot read the log: %s", ft_strerror(err));
    } else if (g->n == 0 && g->pruned_seq) {
        pruned_asked(s, g->pruned_seq);
    } else if (g->n > 0) {
        wire_bytes_t *e = calloc(g->n, sizeof *e);
        if (e) {
            for (size_t i = 0; i < g->n; i++) {
                e[i].data = g->buf + g->offs[i];
                e[i].len = g->offs[i + 1] - g->offs[i];
            }
            wire_msg_t m = {.kind = WIRE_BATCH};
            m.u.batch.n = g->n;
            m.u.batch.entries = e;
            m.u.batch.edge_head_seq = head;
            m.u.batch.first_seq = s->next_send;
            sent = send_msg(s, &m);
            free(e);
        }
        if (sent) {
            s->inflight[s->n_inflight++] = g->last_seq;
            s->next_send = g->last_seq + 1;
        }
    }
    free(g->buf);
    free(g);
    return sent;
}

/* Asks the hub for a receipt of what it holds (an empty batch). */
static void request_receipt(edge_sync_t *s)
{
    wire_msg_t m = {.kind = WIRE_BATCH};
    if (send_msg(s, &m)) {
        s->inflight[s->n_inflight++] = s->acked;
        s->receipt_req_ms = mono_ms();
    }
}

/* Keeps what the edge made of the hub's endpoints for `status` and tells
 * the hub in an empty Batch (a receipt request to the hub): "" says they
 * agree, so a mended edge.conf clears the hub's note too. */
static void set_endpoints(edge_sync_t *s, const char *mismatch)
{
    uint8_t buf[8 + WIRE_MISMATCH_MAX + 1] = {0};
    size_t n = strnlen(mismatch, WIRE_MISMATCH_MAX);
    lmdbx_put_u64(buf, (uint64_t)wall_ms());
    memcpy(buf + 8, mismatch, n);
    if (meta_put(s, "endpoints", buf, sizeof buf) != FT_OK) {
        log_warn("cannot record the endpoint check in the local database");
    }
    /* not counted in flight: a hub that holds nothing answers it with no
     * receipt, and none is waited for */
    wire_msg_t m = {.kind = WIRE_BATCH};
    m.u.batch.endpoint_mismatch = mismatch;
    send_msg(s, &m);
}

/* ---- receiving -------------------------------------------------------- */

/* Entry hash of our own entry at seq (seq 0: zeros), kept or pruned. */
static int own_hash(edge_sync_t *s, uint64_t seq, uint8_t hash[ENTRY_HASH_BYTES])
{
    return devlog_get_hash(s->log, seq, hash);
}

static void on_welcome(edge_sync_t *s, const wire_welcome_t *w)
{
    if (s->state != L_HELLO_SENT || w->epoch != s->epoch) {
        log_debug("stale Welcome ignored");
        return;
    }
    uint64_t head = 0;
    uint8_t hash[ENTRY_HASH_BYTES];
    if (devlog_head(s->log, &head, NULL) != FT_OK) {
        return;
    }
    char text[512];
    if (w->have_seq > head) {
        snprintf(text, sizeof text,
                 "the hub holds %llu entries of this log but this unit has only %llu: the "
                 "local log was rolled back or restored from an old copy; report it to the "
                 "office",
                 (unsigned long long)w->have_seq, (unsigned long long)head);
        log_error("%s", text);
        set_error(s, text);
        set_link(s, "halted");
        halt(s, s->o.retry_ms);
        return;
    }
    if (own_hash(s, w->have_seq, hash) != FT_OK ||
        memcmp(hash, w->have_hash, ENTRY_HASH_BYTES) != 0) {
        snprintf(text, sizeof text,
                 "entry %llu held at the hub differs from this unit's entry %llu: the logs "
                 "have forked; report it to the office",
                 (unsigned long long)w->have_seq, (unsigned long long)w->have_seq);
        log_error("%s", text);
        set_error(s, text);
        set_link(s, "halted");
        halt(s, s->o.retry_ms);
        return;
    }
    if (!s->have_hub_pk || memcmp(s->hub_sign_pk, w->hub_sign_pk, 32) != 0) {
        memcpy(s->hub_sign_pk, w->hub_sign_pk, 32);
        s->have_hub_pk = true;
        if (meta_put(s, "hub_sign_pk", w->hub_sign_pk, 32) != FT_OK) {
            log_warn("cannot record the hub's receipt key");
        }
    }
    /* The hub's rule pack, kept (signed) for the screen (docs/vehicle.md):
     * one refused leaves the one kept before. */
    if (w->rule_pack && s->o.state) {
        bool changed = false;
        char why[1024];
        if (packfile_store(s->o.state, w->rule_pack, w->rule_pack_len,
                           w->rule_pack_signed ? w->rule_pack_sig : NULL, w->hub_sign_pk, &changed,
                           why, sizeof why) != FT_OK) {
            log_warn("%s", why);
        } else if (changed) {
            log_info("the hub's rule pack (%zu bytes, signed) is kept for the screen",
                     w->rule_pack_len);
        }
    }
    /* Offset as the hub measures it: hub clock minus edge clock. */
    int64_t rtt = mono_ms() - s->hello_sent_ms;
    int64_t offset = w->hub_wall_ms - (s->hello_wall_ms + rtt / 2);
    uint8_t ob[8];
    lmdbx_put_u64(ob, (uint64_t)offset);
    if (meta_put(s, "clock_offset", ob, sizeof ob) != FT_OK) {
        log_warn("cannot record the clock offset");
    }
    s->batch_entries =
        s->o.batch_entries < w->max_batch_entries ? s->o.batch_entries : w->max_batch_entries;
    s->batch_bytes = s->o.batch_bytes < w->max_batch_bytes ? s->o.batch_bytes : w->max_batch_bytes;
    if (s->batch_entries > WIRE_MAX_BATCH_ENTRIES) {
        s->batch_entries = WIRE_MAX_BATCH_ENTRIES;
    }
    s->acked = w->have_seq;
    s->next_send = w->have_seq + 1;
    s->n_inflight = 0;
    s->state = L_STREAMING;
    set_link(s, "connected");
    log_info("hub holds %llu of %llu entries; sending from %llu (clock offset %+lld ms)",
             (unsigned long long)w->have_seq, (unsigned long long)head,
             (unsigned long long)s->next_send, (long long)offset);
    if (s->o.on_ports) { /* the hub's other ports (docs/protocol.md "Welcome") */
        char mismatch[WIRE_MISMATCH_MAX + 1] = "";
        s->o.on_ports(s->o.ports_ctx, s->o.endpoint, w->media_port, w->data_port, mismatch,
                      sizeof mismatch);
        set_endpoints(s, mismatch);
    }
}

/* A receipt from the hub: checked (signature, device, epoch, our own hash
 * at upto_seq), then the window slides at once; a receipt may cover only
 * part of a batch (the hub commits a batch over several groups, fair
 * share): that batch stays in flight until a receipt covers its last entry.
 * The receipt is only remembered here; store_receipt keeps the highest one
 * after the loop has sent what the window now allows, so that the edge's
 * own commit overlaps the hub's work instead of holding the next batches
 * back (docs/protocol.md "Receipts"). */
static void on_receipt(edge_sync_t *s, const wire_signed_receipt_t *sr)
{
    if (!s->have_hub_pk) {
        return;
    }
    wire_receipt_t r;
    int err = wire_receipt_open(sr->raw, sr->raw_len, s->hub_sign_pk, &r);
    if (err != FT_OK) {
        log_warn("receipt ignored: %s", ft_strerror(err));
        return;
    }
    uint8_t hash[ENTRY_HASH_BYTES];
    if (memcmp(r.device, s->device, DEVID_BYTES) != 0 || r.epoch != s->epoch ||
        own_hash(s, r.upto_seq, hash) != FT_OK ||
        memcmp(hash, r.upto_hash, ENTRY_HASH_BYTES) != 0) {
        log_warn("receipt for seq %llu does not match this unit's log; ignored",
                 (unsigned long long)r.upto_seq);
        return;
    }
    if (r.upto_seq > s->receipt_seq && r.upto_seq > s->rcpt_seq) {
        if (sr->raw_len > s->rcpt_cap) {
            uint8_t *grown = realloc(s->rcpt_raw, sr->raw_len);
            if (!grown) {
                log_error("out of memory: a receipt not kept (it is asked for again)");
                return;
            }
            s->rcpt_raw = grown;
            s->rcpt_cap = sr->raw_len;
        }
        memcpy(s->rcpt_raw, sr->raw, sr->raw_len);
        s->rcpt_len = sr->raw_len;
        s->rcpt_seq = r.upto_seq;
    }
    if (r.upto_seq > s->acked) {
        s->acked = r.upto_seq;
    }
    unsigned keep = 0;
    for (unsigned i = 0; i < s->n_inflight; i++) {
        if (s->inflight[i] > r.upto_seq) {
            s->inflight[keep++] = s->inflight[i];
        }
    }
    s->n_inflight = keep;
}

/* Stores the highest receipt on_receipt remembered (one durable commit for
 * all the receipts of one pass of the loop). If the write fails the receipt
 * is asked for again later (tick: an empty batch). */
static void store_receipt(edge_sync_t *s)
{
    if (s->rcpt_seq <= s->receipt_seq) {
        s->rcpt_seq = 0;
        return;
    }
    MDB_txn *txn = NULL;
    int err = lmdbx_err(mdb_txn_begin(s->env, NULL, 0, &txn));
    if (err == FT_OK) {
        uint8_t key[16], ts[8];
        lmdbx_put_u64(key, s->epoch);
        lmdbx_put_u64(key + 8, s->rcpt_seq);
        MDB_val k = {sizeof key, key}, v = {s->rcpt_len, s->rcpt_raw};
        err = lmdbx_err(mdb_put(txn, s->receipts_dbi, &k, &v, 0));
        lmdbx_put_u64(ts, (uint64_t)wall_ms());
        if (err == FT_OK) {
            err = lmdbx_put_meta(txn, s->sync_dbi, "last_contact", ts, sizeof ts);
        }
        if (err == FT_OK) {
            /* The key this (highest) receipt verifies with, whatever hub comes next. */
            err = lmdbx_put_meta(txn, s->sync_dbi, "receipt_pk", s->hub_sign_pk, 32);
        }
        if (err == FT_OK) {
            err = lmdbx_err(mdb_txn_commit(txn));
        } else {
            mdb_txn_abort(txn);
        }
    }
    if (err != FT_OK) {
        log_error("cannot store a receipt: %s", ft_strerror(err));
    } else {
        s->receipt_seq = s->rcpt_seq;
    }
    s->rcpt_seq = 0;
}

static void on_error(edge_sync_t *s, const wire_error_t *e)
{
    if (strcmp(e->reason, "hello_required") == 0 || strcmp(e->reason, "resync") == 0) {
        send_hello(s);
        return;
    }
    char text[WIRE_MAX_TEXT + 64];
    snprintf(text, sizeof text, "hub refused: %s: %s", e->reason, e->message);
    utf8_trim(text); /* cut on a whole character */
    set_error(s, text);
    if (strcmp(e->reason, "batch_too_large") == 0 && s->o.batch_entries > 1) {
        s->o.batch_entries /= 2;
        s->o.batch_bytes /= 2;
        log_warn("%s; sending smaller batches", text);
        send_hello(s);
        return;
    }
    if (e->code == FT_EREVOKED) {
        log_error("hub refused this device: revoked or not enrolled (%s)", e->message);
        set_link(s, "refused");
        halt(s, 2 * s->o.retry_ms);
        return;
    }
    if (strcmp(e->reason, "storage") == 0) {
        log_warn("%s; trying again shortly", text);
        halt(s, 5000);
        return;
    }
    log_error("%s; the entry stays in the local log; trying again in %u s", text,
              s->o.retry_ms / 1000);
    set_link(s, "halted");
    halt(s, s->o.retry_ms);
}

static void on_message(edge_sync_t *s, const uint8_t *buf, size_t len)
{
    s->last_rx_ms = mono_ms();
    wire_msg_t m;
    if (wire_decode(buf, len, &m) != FT_OK) {
        log_warn("message from the hub does not decode (%zu bytes); ignored", len);
        return;
    }
    switch (m.kind) {
    case WIRE_WELCOME:
        on_welcome(s, &m.u.welcome);
        break;
    case WIRE_RECEIPT:
        on_receipt(s, &m.u.receipt);
        break;
    case WIRE_ERROR:
        on_error(s, &m.u.error);
        break;
    case WIRE_PING: {
        wire_msg_t pong = {.kind = WIRE_PONG, .u.nonce = m.u.nonce};
        send_msg(s, &pong);
        break;
    }
    default:
        break;
    }
    wire_msg_free(&m);
}

/* Reads one monitor event; false if none was pending. */
static bool on_monitor(edge_sync_t *s)
{
    zmq_msg_t ev, addr;
    zmq_msg_init(&ev);
    if (zmq_msg_recv(&ev, s->mon, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&ev);
        return false;
    }
    zmq_msg_init(&addr);
    if (zmq_msg_more(&ev)) {
        zmq_msg_recv(&addr, s->mon, 0);
    }
    uint16_t event = 0;
    uint32_t value = 0;
    if (zmq_msg_size(&ev) >= 6) {
        const uint8_t *d = zmq_msg_data(&ev);
        memcpy(&event, d, 2);
        memcpy(&value, d + 2, 4);
    }
    zmq_msg_close(&addr);
    zmq_msg_close(&ev);
    char text[512];
    char id[DEVID_TEXT_SIZE];
    switch (event) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        s->connected = true;
        s->last_rx_ms = mono_ms(); /* the handshake is a word from the hub */
        s->refusal_logged = false;
        log_info("connected to the hub at %s", s->o.endpoint);
        set_link(s, "connected");
        if (s->state == L_HALTED && mono_ms() < s->halted_until_ms) {
            break;
        }
        send_hello(s);
        break;
    case ZMQ_EVENT_DISCONNECTED:
        if (s->connected) {
            log_info("lost the hub at %s; reconnecting (entries stay queued locally)",
                     s->o.endpoint);
        }
        s->connected = false;
        s->n_inflight = 0;
        if (s->state != L_HALTED) {
            s->state = L_DOWN;
        }
        if (strcmp(s->link_written, "refused") != 0) {
            set_link(s, "disconnected");
        }
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        devid_format(s->device, id);
        snprintf(text, sizeof text,
                 "hub refused this device: not enrolled or revoked (status %u); staff can "
                 "enrol device %s with `fieldtrail-hub enroll`",
                 (unsigned)value, id);
        if (!s->refusal_logged) {
            log_error("%s", text);
            set_error(s, text);
            s->refusal_logged = true;
        }
        set_link(s, "refused");
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        snprintf(text, sizeof text,
                 "handshake with the hub at %s failed: check hub_key (it must be the key "
                 "`fieldtrail-hub init` printed)",
                 s->o.endpoint);
        if (!s->refusal_logged) {
            log_error("%s", text);
            set_error(s, text);
            s->refusal_logged = true;
        }
        break;
    default:
        break;
    }
    return true;
}

/* ---- timers and sending ------------------------------------------------ */

static void tick(edge_sync_t *s)
{
    int64_t now = mono_ms();
    int64_t ack_timeout = 5 * (int64_t)s->o.heartbeat_ms;
    if (ack_timeout < 10000) {
        ack_timeout = 10000;
    }
    if (!s->connected) {
        return;
    }
    /* Dead peers: no ZMTP heartbeats (libzmq#4364); the hub answers every
     * ping, so silence this long means the connection is gone even if TCP
     * has not said so yet: open a new one. */
    int64_t dead_ms = 6 * (int64_t)s->o.heartbeat_ms;
    if (dead_ms < 15000) {
        dead_ms = 15000;
    }
    if (now - s->last_rx_ms > dead_ms) {
        log_warn("no word from the hub for %lld s; opening a new connection",
                 (long long)(now - s->last_rx_ms) / 1000);
        zmq_disconnect(s->dealer, s->o.endpoint);
        s->connected = false;
        s->n_inflight = 0;
        if (s->state != L_HALTED) {
            s->state = L_DOWN;
        }
        set_link(s, "disconnected");
        s->last_rx_ms = now;
        if (zmq_connect(s->dealer, s->o.endpoint) != 0) {
            log_error("cannot connect to %s: %s", s->o.endpoint, zmq_strerror(zmq_errno()));
        }
        return;
    }
    if (s->state == L_HALTED && now >= s->halted_until_ms) {
        send_hello(s);
    } else if (s->state == L_DOWN) {
        send_hello(s);
    } else if (s->state == L_HELLO_SENT && now - s->hello_sent_ms > ack_timeout / 2) {
        log_debug("no Welcome yet; saying Hello again");
        send_hello(s);
    } else if (s->state == L_STREAMING) {
        uint64_t head = 0;
        if (devlog_head(s->log, &head, NULL) != FT_OK) {
            return;
        }
        while (s->n_inflight < s->o.window && s->next_send <= head) {
            if (!send_batch(s, head)) {
                break;
            }
        }
        if (s->n_inflight == 0 && s->receipt_seq < s->acked && s->rcpt_seq == 0 &&
            now - s->receipt_req_ms > 5000) {
            request_receipt(s);
        }
        if (s->n_inflight > 0 && now - s->last_rx_ms > ack_timeout &&
            now - s->last_tx_ms < ack_timeout * 4) {
            log_warn("no answer from the hub for %lld s; saying Hello again",
                     (long long)(now - s->last_rx_ms) / 1000);
            send_hello(s);
        }
        if (s->receipt_seq != s->progress_seq && now - s->progress_ms >= 5000) {
            log_info("hub acknowledged %llu of %llu entries", (unsigned long long)s->receipt_seq,
                     (unsigned long long)head);
            s->progress_ms = now;
            s->progress_seq = s->receipt_seq;
        }
    }
    if (now - s->last_tx_ms >= (int64_t)s->o.heartbeat_ms &&
        now - s->last_rx_ms >= (int64_t)s->o.heartbeat_ms) {
        wire_msg_t m = {.kind = WIRE_PING, .u.nonce = ++s->ping_nonce};
        send_msg(s, &m);
    }
}

/* True when the hub acknowledged (with a stored receipt) the whole log. */
static bool synced(edge_sync_t *s)
{
    if (s->state != L_STREAMING) {
        return false;
    }
    uint64_t head = 0;
    if (devlog_head(s->log, &head, NULL) != FT_OK) {
        return false;
    }
    return s->receipt_seq >= head;
}

/* ---- lifecycle -------------------------------------------------------- */

int edge_sync_new(devlog_t *log, const keys_t *keys, const edge_sync_opts_t *opts,
                  edge_sync_t **out)
{
    *out = NULL;
    edge_sync_t *s = calloc(1, sizeof *s);
    if (!s) {
        return FT_ENOMEM;
    }
    s->log = log;
    s->keys = keys;
    s->o = *opts;
    if (!s->o.window) {
        s->o.window = EDGE_SYNC_DEFAULT_WINDOW;
    }
    if (s->o.window > MAX_WINDOW) {
        s->o.window = MAX_WINDOW;
    }
    if (!s->o.batch_entries) {
        s->o.batch_entries = EDGE_SYNC_DEFAULT_BATCH;
    }
    if (s->o.batch_entries > WIRE_MAX_BATCH_ENTRIES) {
        s->o.batch_entries = WIRE_MAX_BATCH_ENTRIES;
    }
    if (!s->o.batch_bytes) {
        s->o.batch_bytes = EDGE_SYNC_DEFAULT_BATCH_BYTES;
    }
    if (!s->o.heartbeat_ms) {
        s->o.heartbeat_ms = EDGE_SYNC_DEFAULT_HEARTBEAT_MS;
    }
    if (!s->o.retry_ms) {
        s->o.retry_ms = EDGE_SYNC_DEFAULT_RETRY_MS;
    }
    if (!s->o.reconnect_max_ms) {
        s->o.reconnect_max_ms = EDGE_SYNC_DEFAULT_RECONNECT_MAX_MS;
    }
    if (!s->o.prune_every_ms) {
        s->o.prune_every_ms = EDGE_SYNC_PRUNE_EVERY_MS;
    }
    memcpy(s->device, devlog_device(log), DEVID_BYTES);
    s->epoch = devlog_epoch(log);
    s->env = devlog_env(log);
    int dead = 0;
    mdb_reader_check(s->env, &dead); /* reader slots of killed processes */
    int err = open_dbs(s->env, true, &s->receipts_dbi, &s->sync_dbi, NULL);
    MDB_txn *txn = NULL;
    if (err == FT_OK) {
        err = lmdbx_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
    }
    if (err == FT_OK) {
        err = last_receipt(txn, s->receipts_dbi, s->epoch, &s->receipt_seq, NULL);
        if (err == FT_OK &&
            lmdbx_get_meta(txn, s->sync_dbi, "hub_sign_pk", s->hub_sign_pk, 32) == FT_OK) {
            s->have_hub_pk = true;
        }
        mdb_txn_abort(txn);
    }
    if (err != FT_OK) {
        free(s);
        return err;
    }
    s->acked = s->receipt_seq;
    uint8_t pid[8];
    lmdbx_put_u64(pid, (uint64_t)getpid());
    if (meta_put(s, "pid", pid, sizeof pid) != FT_OK) {
        log_warn("cannot record this process in the local database");
    }
    err = FT_EIO;
    s->zctx = zmq_ctx_new();
    if (!s->zctx) {
        goto fail;
    }
    s->dealer = zmq_socket(s->zctx, ZMQ_DEALER);
    if (!s->dealer) {
        goto fail;
    }
    uint8_t rid[WIRE_ROUTING_ID_BYTES];
    wire_routing_id(s->device, rid);
    int zero = 0, one = 1, ivl = 200, ivl_max = (int)s->o.reconnect_max_ms;
    /* Bounds (common/zmq/zsock.h): no ZMTP heartbeats (libzmq#4364): dead
     * links are found by TCP keepalive, the TCP user timeout and the
     * protocol's own pings (tick). */
    zsock_bounds_t b = {
        .max_msg = HUB_MAX_RX_BYTES, .handshake_ms = ZSOCK_HANDSHAKE_MS, .maxrt_ms = 30000};
    if (zmq_setsockopt(s->dealer, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(s->dealer, ZMQ_IMMEDIATE, &one, sizeof one) != 0 ||
        zmq_setsockopt(s->dealer, ZMQ_ROUTING_ID, rid, sizeof rid) != 0 ||
        zmq_setsockopt(s->dealer, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl) != 0 ||
        zmq_setsockopt(s->dealer, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max) != 0 ||
        zsock_bound(s->dealer, &b) != FT_OK ||
        zmq_setsockopt(s->dealer, ZMQ_CURVE_SERVERKEY, s->o.hub_key, 32) != 0 ||
        zmq_setsockopt(s->dealer, ZMQ_CURVE_PUBLICKEY, keys->box_pk, 32) != 0 ||
        zmq_setsockopt(s->dealer, ZMQ_CURVE_SECRETKEY, keys->box_sk, 32) != 0) {
        log_error("cannot configure the link socket: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    snprintf(s->mon_addr, sizeof s->mon_addr, "inproc://edge-monitor-%p", (void *)s);
    int events = ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    if (zmq_socket_monitor(s->dealer, s->mon_addr, events) != 0) {
        goto fail;
    }
    s->mon = zmq_socket(s->zctx, ZMQ_PAIR);
    if (!s->mon || zmq_setsockopt(s->mon, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_connect(s->mon, s->mon_addr) != 0) {
        goto fail;
    }
    *out = s;
    return FT_OK;
fail:
    log_error("cannot set up the link to the hub: %s", zmq_strerror(zmq_errno()));
    edge_sync_destroy(&s);
    return err;
}

void edge_sync_destroy(edge_sync_t **s_p)
{
    edge_sync_t *s = *s_p;
    if (!s) {
        return;
    }
    if (s->dealer && s->mon) {
        zmq_socket_monitor(s->dealer, NULL, 0);
    }
    if (s->mon) {
        zmq_close(s->mon);
    }
    if (s->dealer) {
        zmq_close(s->dealer);
    }
    if (s->zctx) {
        zmq_ctx_term(s->zctx);
    }
    free(s->rcpt_raw);
    free(s);
    *s_p = NULL;
}

uint64_t edge_sync_acked(const edge_sync_t *s)
{
    return s->receipt_seq;
}

int edge_sync_run(edge_sync_t *s, volatile sig_atomic_t *stop)
{
    if (zmq_connect(s->dealer, s->o.endpoint) != 0) {
        log_error("cannot connect to %s: %s (hub wants tcp://HOST:PORT)", s->o.endpoint,
                  zmq_strerror(zmq_errno()));
        return FT_EINVAL;
    }
    set_link(s, "disconnected");
    int64_t start = mono_ms();
    s->last_rx_ms = start;
    s->last_tx_ms = start;
    uint8_t *buf = malloc(HUB_MAX_RX_BYTES);
    if (!buf) {
        return FT_ENOMEM;
    }
    int result = FT_OK;
    while (!*stop) {
        if (s->o.records_keep_ms &&
            (!s->pruned_ms || mono_ms() - s->pruned_ms >= (int64_t)s->o.prune_every_ms)) {
            edge_prune_log(s->log, s->o.records_keep_ms);
            s->pruned_ms = mono_ms();
        }
        zmq_pollitem_t items[2] = {
            {s->mon, 0, ZMQ_POLLIN, 0},
            {s->dealer, 0, ZMQ_POLLIN, 0},
        };
        int rc = zmq_poll(items, 2, POLL_MS);
        if (rc < 0 && zmq_errno() != EINTR) {
            log_error("link: %s", zmq_strerror(zmq_errno()));
            result = FT_EIO;
            break;
        }
        while (on_monitor(s)) {
        }
        for (int i = 0; i < 256; i++) {
            int n = zmq_recv(s->dealer, buf, HUB_MAX_RX_BYTES, ZMQ_DONTWAIT);
            if (n < 0) {
                break;
            }
            on_message(s, buf, (size_t)n > HUB_MAX_RX_BYTES ? HUB_MAX_RX_BYTES : (size_t)n);
        }
        tick(s);
        store_receipt(s);
        if (s->o.until_synced && synced(s)) {
            uint64_t head = 0;
            if (devlog_head(s->log, &head, NULL) == FT_OK) {
                log_info("synced: the hub acknowledged all %llu entries", (unsigned long long)head);
            }
            break;
        }
        if (s->o.until_synced && s->o.timeout_s &&
            mono_ms() - start > (int64_t)s->o.timeout_s * 1000) {
            result = FT_ETIMEOUT;
            break;
        }
    }
    free(buf);
    set_link(s, "stopped");
    return result;
}

int edge_sync_read_status(devlog_t *log, edge_sync_status_t *st)
{
    memset(st, 0, sizeof *st);
    MDB_env *env = devlog_env(log);
    MDB_dbi receipts, sync;
    MDB_txn *txn = NULL;
    int err = open_dbs(env, false, &receipts, &sync, &txn);
    if (err == FT_ENOTFOUND) {
        return FT_OK; /* `run` never ran here */
    }
    if (err != FT_OK) {
        return err;
    }
    MDB_val v;
    err = last_receipt(txn, receipts, devlog_epoch(log), &st->receipt_seq, &v);
    if (err == FT_OK && st->receipt_seq > 0) {
        uint8_t pk[32];
        wire_receipt_t r;
        if ((lmdbx_get_meta(txn, sync, "receipt_pk", pk, 32) == FT_OK ||
             lmdbx_get_meta(txn, sync, "hub_sign_pk", pk, 32) == FT_OK) &&
            wire_receipt_open(v.mv_data, v.mv_size, pk, &r) == FT_OK) {
            st->has_receipt = true;
            st->receipt_hub_ms = r.hub_time_ms;
        }
    }
    uint8_t link[32], error[520], b8[8];
    if (lmdbx_get_meta(txn, sync, "link", link, sizeof link) == FT_OK) {
        st->link_ms = (int64_t)lmdbx_get_u64(link);
        memcpy(st->link, link + 8, sizeof st->link - 1);
        st->link[sizeof st->link - 1] = '\0';
    }
    if (lmdbx_get_meta(txn, sync, "last_error", error, sizeof error) == FT_OK) {
        st->last_error_ms = (int64_t)lmdbx_get_u64(error);
        memcpy(st->last_error, error + 8, sizeof st->last_error - 1);
        st->last_error[sizeof st->last_error - 1] = '\0';
    }
    if (lmdbx_get_meta(txn, sync, "last_contact", b8, 8) == FT_OK) {
        st->last_contact_ms = (int64_t)lmdbx_get_u64(b8);
    }
    uint8_t ends[8 + WIRE_MISMATCH_MAX + 1];
    memset(ends, 0, sizeof ends);
    if (lmdbx_get_meta(txn, sync, "endpoints", ends, sizeof ends) == FT_OK) {
        st->endpoint_ms = (int64_t)lmdbx_get_u64(ends);
        snprintf(st->endpoint_mismatch, sizeof st->endpoint_mismatch, "%s", (char *)ends + 8);
    }
    st->has_hub_key = lmdbx_get_meta(txn, sync, "hub_sign_pk", st->hub_key, 32) == FT_OK;
    if (lmdbx_get_meta(txn, sync, "clock_offset", b8, 8) == FT_OK) {
        st->has_clock_offset = true;
        st->clock_offset_ms = (int64_t)lmdbx_get_u64(b8);
    }
    if (lmdbx_get_meta(txn, sync, "pid", b8, 8) == FT_OK) {
        st->daemon_pid = (int64_t)lmdbx_get_u64(b8);
        st->daemon_running = st->daemon_pid > 0 &&
                             (kill((pid_t)st->daemon_pid, 0) == 0 || errno == EPERM) &&
                             strcmp(st->link, "stopped") != 0;
    }
    mdb_txn_abort(txn);
    return err;
}

int edge_sync_last_receipt(devlog_t *log, wire_receipt_t *r)
{
    memset(r, 0, sizeof *r);
    MDB_dbi receipts, sync;
    MDB_txn *txn = NULL;
    int err = open_dbs(devlog_env(log), false, &receipts, &sync, &txn);
    if (err != FT_OK) {
        return err; /* FT_ENOTFOUND: `run` never ran here */
    }
    uint64_t seq = 0;
    MDB_val v = {0};
    err = last_receipt(txn, receipts, devlog_epoch(log), &seq, &v);
    if (err == FT_OK && seq == 0) {
        err = FT_ENOTFOUND;
    }
    uint8_t pk[32];
    if (err == FT_OK) {
        err = lmdbx_get_meta(txn, sync, "receipt_pk", pk, sizeof pk);
        if (err == FT_ENOTFOUND) { /* receipts stored before receipt_pk was kept */
            err = lmdbx_get_meta(txn, sync, "hub_sign_pk", pk, sizeof pk);
        }
        if (err == FT_ENOTFOUND) {
            err = FT_EKEY;
        }
    }
    if (err == FT_OK) {
        err = wire_receipt_open(v.mv_data, v.mv_size, pk, r);
    }
    if (err == FT_OK && (memcmp(r->device, devlog_device(log), DEVID_BYTES) != 0 ||
                         r->epoch != devlog_epoch(log) || r->upto_seq != seq)) {
        err = FT_ESIGNER;
    }
    mdb_txn_abort(txn);
    return err;
}
