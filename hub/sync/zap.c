/* zap.c: the ZAP handler (RFC 27/ZAP) admitting enrolled devices (see zap.h). */
#include "zap.h"
#include "hlc.h"
#include "logging.h"
#include "utf8.h"
#include "zrefuse.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define ZAP_MAX_FRAMES 8
#define ZAP_FRAME_MAX 256

struct zap_t {
    void *sock;          /* REP bound to ZAP_ENDPOINT */
    store_t *store;      /* enrolments (borrowed) */
    devlog_t *hublog;    /* the audit entries of refusals (borrowed; may be NULL) */
    char domain[64];     /* the only domain admitted */
    char port_name[32];  /* "sync", "media": the audit entry's target */
    zrefuse_t *ledger;   /* refusals, counted and written in batches */
    uint64_t write_errs; /* ledger flushes that could not be written */
    pthread_t thread;    /* zap_start: serves sock */
    bool started;
    atomic_bool stop;
};

/* Writes a batch of counted refusals (the ledger's thread): one
 * transaction; when a window closed, one audit entry for all of it. */
static void zap_flush(void *ctx, const zrefusal_t *rows, size_t n, const zrefusal_t *others,
                      bool audit)
{
    zap_t *z = ctx;
    store_txn_t *t = NULL;
    int err = store_begin(z->store, true, &t);
    for (size_t i = 0; err == FT_OK && i < n; i++) {
        if (rows[i].count > 0) {
            err = zap_record(t, rows[i].key, rows[i].reason, rows[i].address, rows[i].first_ms,
                             rows[i].last_ms, rows[i].count);
        }
    }
    if (err == FT_OK && others->count > 0) {
        err = store_refusal_add(t, others->key, STORE_REFUSAL_OTHERS, others->address,
                                others->first_ms, others->last_ms, others->count);
    }
    if (err == FT_OK) {
        err = store_commit(&t);
    }
    store_abort(&t);
    if (err != FT_OK && z->write_errs++ == 0) {
        log_error("cannot record refused handshakes in the store: %s (counted in memory; said "
                  "once)",
                  ft_strerror(err));
    }
    if (!audit || !z->hublog) {
        return;
    }
    char detail[1024];
    if (!zrefuse_audit_detail(detail, sizeof detail, "handshakes refused", true, rows, n, others)) {
        return;
    }
    if (devlog_append1_audit(z->hublog, "-", "connection_refused", z->port_name, detail, NULL) !=
        FT_OK) {
        log_error("cannot write the audit entry of refused handshakes");
    }
}

int zap_new(void *zctx, store_t *store, const char *domain, zap_t **out)
{
    return zap_new_audited(zctx, store, NULL, domain, "media", out);
}

int zap_new_audited(void *zctx, store_t *store, devlog_t *hublog, const char *domain,
                    const char *port_name, zap_t **out)
{
    *out = NULL;
    zap_t *z = calloc(1, sizeof *z);
    if (!z) {
        return FT_ENOMEM;
    }
    z->store = store;
    z->hublog = hublog;
    snprintf(z->domain, sizeof z->domain, "%s", domain);
    snprintf(z->port_name, sizeof z->port_name, "%s", port_name);
    zrefuse_opts_t ro = {.name = port_name, .flush = zap_flush, .ctx = z};
    if (zrefuse_new(&ro, &z->ledger) != FT_OK) {
        free(z);
        return FT_ENOMEM;
    }
    z->sock = zmq_socket(zctx, ZMQ_REP);
    int linger = 0;
    if (!z->sock || zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(z->sock, ZAP_ENDPOINT) != 0) {
        log_error("cannot start the ZAP handler: %s", zmq_strerror(zmq_errno()));
        zap_destroy(&z);
        return FT_EIO;
    }
    *out = z;
    return FT_OK;
}

void zap_destroy(zap_t **z_p)
{
    zap_t *z = *z_p;
    if (!z) {
        return;
    }
    if (z->started) {
        atomic_store(&z->stop, true);
        pthread_join(z->thread, NULL);
    }
    if (z->sock) {
        zmq_close(z->sock);
    }
    zrefuse_destroy(&z->ledger); /* the last counts are written */
    free(z);
    *z_p = NULL;
}

void *zap_socket(zap_t *z)
{
    return z->sock;
}

/* Records a refusal of an enrolled (revoked) device in its status. */
static int note_device_refusal(store_txn_t *t, const uint8_t device[DEVID_BYTES], const char *why,
                               int64_t now_ms, uint64_t count)
{
    store_status_t st;
    int err = store_status_get(t, device, &st);
    if (err != FT_OK) {
        return err;
    }
    st.refusals += count;
    st.last_error_ms = now_ms;
    utf8_copy(st.last_error, sizeof st.last_error, why);
    return store_status_put(t, device, &st);
}

int zap_check(store_t *store, const char *want_domain, const char *domain, const char *mechanism,
              const uint8_t *key, size_t key_len, zap_verdict_t *v)
{
    memset(v, 0, sizeof *v);
    if (strcmp(domain, want_domain) != 0) {
        snprintf(v->why, sizeof v->why, "ZAP domain \"%.*s\" is not ours", utf8_fit(domain, 40),
                 domain);
        return FT_OK;
    }
    if (strcmp(mechanism, "CURVE") != 0 || key_len != 32) {
        snprintf(v->why, sizeof v->why, "mechanism %.16s refused: only CURVE is admitted",
                 mechanism);
        return FT_OK;
    }
    char key_hex[65];
    hex_encode(key, 32, key_hex);
    store_txn_t *t = NULL;
    int err = store_begin(store, false, &t);
    if (err != FT_OK) {
        return err;
    }
    uint8_t device[DEVID_BYTES];
    store_device_t d;
    err = store_device_by_transport(t, key, device);
    if (err == FT_OK) {
        err = store_device_get(t, device, &d);
    }
    if (err == FT_ENOTFOUND) {
        snprintf(v->why, sizeof v->why, "transport key %s is not enrolled", key_hex);
        v->refusal = ZAP_REASON_UNKNOWN;
        err = FT_OK;
    } else if (err == FT_OK && d.revoked) {
        char id[DEVID_TEXT_SIZE];
        devid_format(device, id);
        snprintf(v->why, sizeof v->why, "device %s is revoked", id);
        v->refusal = ZAP_REASON_REVOKED;
    } else if (err == FT_OK) {
        v->admit = true;
        hex_encode(device, DEVID_BYTES, v->user_id);
        snprintf(v->why, sizeof v->why, "OK");
    }
    store_abort(&t);
    return err;
}

int zap_record(store_txn_t *t, const uint8_t key[32], const char *reason, const char *address,
               int64_t first_ms, int64_t last_ms, uint64_t count)
{
    if (strcmp(reason, ZAP_REASON_REVOKED) == 0) {
        uint8_t device[DEVID_BYTES];
        int err = store_device_by_transport(t, key, device);
        if (err == FT_ENOTFOUND) {
            return FT_OK; /* no longer enrolled under this key */
        }
        if (err != FT_OK) {
            return err;
        }
        return note_device_refusal(t, device, "refused at handshake: the device is revoked",
                                   last_ms, count);
    }
    return store_refusal_add(t, key, reason, address, first_ms, last_ms, count);
}

int zap_decide(store_t *store, const char *want_domain, const char *domain, const char *mechanism,
               const uint8_t *key, size_t key_len, const char *address, int64_t now_ms,
               zap_verdict_t *v)
{
    int err = zap_check(store, want_domain, domain, mechanism, key, key_len, v);
    if (err != FT_OK || !v->refusal) {
        return err;
    }
    store_txn_t *t = NULL;
    err = store_begin(store, true, &t);
    if (err == FT_OK) {
        err = zap_record(t, key, v->refusal, address, now_ms, now_ms, 1);
    }
    if (err == FT_OK) {
        err = store_commit(&t);
    }
    store_abort(&t);
    return err;
}

/* Receives one multipart request into frames; returns the frame count, 0 if
 * nothing was pending, -1 on a malformed (oversized) request. */
static int recv_request(void *sock, char frames[ZAP_MAX_FRAMES][ZAP_FRAME_MAX + 1],
                        size_t lens[ZAP_MAX_FRAMES])
{
    int n = 0;
    bool bad = false;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&m);
            return n == 0 ? 0 : -1;
        }
        size_t len = zmq_msg_size(&m);
        if (n < ZAP_MAX_FRAMES && len <= ZAP_FRAME_MAX) {
            memcpy(frames[n], zmq_msg_data(&m), len);
            frames[n][len] = '\0';
            lens[n] = len;
        } else {
            bad = true;
        }
        n++;
        int more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        if (!more) {
            break;
        }
    }
    return bad ? -1 : n;
}

static void send_reply(void *sock, const char *req_id, size_t req_id_len, const char *code,
                       const char *text, const char *user_id)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, req_id, req_id_len, ZMQ_SNDMORE);
    zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user_id, strlen(user_id), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0);
}

int zap_handle(zap_t *z)
{
    int handled = 0;
    for (;;) {
        char frames[ZAP_MAX_FRAMES][ZAP_FRAME_MAX + 1];
        size_t lens[ZAP_MAX_FRAMES] = {0};
        int n = recv_request(z->sock, frames, lens);
        if (n == 0) {
            return handled;
        }
        handled++;
        if (n < 6 || strcmp(frames[0], "1.0") != 0) {
            /* REP must answer every request, even a malformed one. */
            send_reply(z->sock, n >= 2 ? frames[1] : "", n >= 2 ? lens[1] : 0, "500",
                       "malformed ZAP request", "");
            log_error("malformed ZAP request refused");
            continue;
        }
        const uint8_t *key = n >= 7 ? (const uint8_t *)frames[6] : NULL;
        size_t key_len = n >= 7 ? lens[6] : 0;
        zap_verdict_t v;
        int err = zap_check(z->store, z->domain, frames[2], frames[5], key, key_len, &v);
        if (err != FT_OK) {
            send_reply(z->sock, frames[1], lens[1], "500", "hub storage error", "");
            log_error("ZAP: cannot read enrolments: %s", ft_strerror(err));
            continue;
        }
        if (v.admit) {
            send_reply(z->sock, frames[1], lens[1], "200", "OK", v.user_id);
            log_debug("handshake admitted device %s from %s", v.user_id, frames[3]);
            continue;
        }
        send_reply(z->sock, frames[1], lens[1], "400", v.why, "");
        /* Counted, written in batches by the ledger's thread, logged at a
         * bounded rate (the first refusal of each key). */
        bool say =
            zrefuse_note(z->ledger, key_len == 32 ? key : NULL, v.refusal ? v.refusal : "mechanism",
                         frames[3], (int64_t)hlc_wall_ms());
        if (say) {
            log_warn("refused a connection from %s: %s", frames[3], v.why);
        }
    }
}

/* zap_start's thread: answers requests as they come, until zap_destroy. */
static void *zap_main(void *arg)
{
    zap_t *z = arg;
    while (!atomic_load(&z->stop)) {
        zmq_pollitem_t it = {z->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) > 0 && (it.revents & ZMQ_POLLIN)) {
            zap_handle(z);
        }
    }
    return NULL;
}

int zap_start(zap_t *z)
{
    atomic_store(&z->stop, false);
    if (pthread_create(&z->thread, NULL, zap_main, z) != 0) {
        return FT_ENOMEM;
    }
    z->started = true;
    return FT_OK;
}
