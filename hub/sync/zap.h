/* zap.h: the hub's ZAP handler: who may complete a CurveZMQ handshake.
 *
 * A REP socket on inproc://zeromq.zap.01 in the hub's ZeroMQ context, served
 * from the sync loop (hub/sync/sync.c). For each handshake libzmq asks it about,
 * it admits a CURVE client key only if it belongs to an enrolled, unrevoked
 * device, looked up in the store at that moment (so `enroll` and `revoke`
 * run by another process take effect at the next handshake), and answers
 * with User-Id = the device ID in hex, which the ROUTER then attaches to
 * every message of that connection. Requests for another domain or another
 * mechanism are refused. The ROUTER sets ZMQ_ZAP_ENFORCE_DOMAIN, so a
 * missing handler never means "admit everyone".
 *
 * Refusals are logged and recorded: an unknown key in the store's refusals
 * table, a revoked device in its status (last error, refusal count).
 */
#ifndef FT_HUB_ZAP_H
#define FT_HUB_ZAP_H

#include "store.h"

#include <stdbool.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN "fieldtrail"
#define ZAP_USER_ID_SIZE (2 * DEVID_BYTES + 1)

typedef struct zap_t zap_t;

/* What the handler decided about one request. */
typedef struct {
    bool admit;                     /* status 200 if true, else 400 */
    char user_id[ZAP_USER_ID_SIZE]; /* device ID hex when admitted */
    char why[160];                  /* status text / log sentence */
} zap_verdict_t;

/* Binds the handler in zmq context zctx (before any socket that uses it
 * binds). FT_OK, FT_EIO (bind failed), FT_ENOMEM. */
int zap_new(void *zctx, store_t *store, const char *domain, zap_t **out) FT_MUST_CHECK;
void zap_destroy(zap_t **z_p);
/* The REP socket, for polling. */
void *zap_socket(zap_t *z);
/* Answers every pending request (non-blocking). Returns how many. */
int zap_handle(zap_t *z);

/* The decision alone (no sockets): checks domain, mechanism and key against
 * the store, records refusals (a write transaction). now_ms stamps them. */
int zap_decide(store_t *store, const char *want_domain, const char *domain, const char *mechanism,
               const uint8_t *key, size_t key_len, const char *address, int64_t now_ms,
               zap_verdict_t *v) FT_MUST_CHECK;

#endif
