/* zap.h: the hub's ZAP handler: who may complete a CurveZMQ handshake.
 *
 * A REP socket on inproc://zeromq.zap.01 in the hub's ZeroMQ context, served
 * by a thread of its own for the sync port (zap_start: a handshake never
 * waits for the sync loop's group of signature checks and its commit,
 * docs/benchmarks.md "Issue 20, item 3") or from the loop that polls
 * zap_socket (the media port). For each handshake libzmq asks it about,
 * it admits a CURVE client key only if it belongs to an enrolled, unrevoked
 * device, looked up in the store at that moment (so `enroll` and `revoke`
 * run by another process take effect at the next handshake), and answers
 * with User-Id = the device ID in hex, which the ROUTER then attaches to
 * every message of that connection. Requests for another domain or another
 * mechanism are refused. The ROUTER sets ZMQ_ZAP_ENFORCE_DOMAIN, so a
 * missing handler never means "admit everyone".
 *
 * Refusals cost the sync loop no write: zap_handle only reads the store
 * (zap_check) and counts the refusal in a ledger (common/zmq/zrefuse.h)
 * whose own thread writes the counts every 2 s in one transaction (an
 * unknown key in the store's bounded refusals table, a revoked device in
 * its status: last error, refusal count) and once a minute one aggregated
 * AuditEvent "connection_refused" in the hub log. The first refusal of each
 * key is logged, at most ZREFUSE_LOG_PER_MIN a minute; the rest are
 * summed up in one line a minute.
 */
#ifndef FT_HUB_ZAP_H
#define FT_HUB_ZAP_H

#include "devlog.h"
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
    const char *refusal;            /* ZAP_REASON_* of a refused key, NULL otherwise */
} zap_verdict_t;

#define ZAP_REASON_UNKNOWN "unknown_key"
#define ZAP_REASON_REVOKED "revoked"

/* Binds the handler in zmq context zctx (before any socket that uses it
 * binds). FT_OK, FT_EIO (bind failed), FT_ENOMEM. */
int zap_new(void *zctx, store_t *store, const char *domain, zap_t **out) FT_MUST_CHECK;
/* The same; hublog (may be NULL) receives the aggregated audit entries of
 * refusals, whose target is port_name ("sync"), also the log's name. */
int zap_new_audited(void *zctx, store_t *store, devlog_t *hublog, const char *domain,
                    const char *port_name, zap_t **out) FT_MUST_CHECK;
void zap_destroy(zap_t **z_p);
/* The REP socket, for polling. */
void *zap_socket(zap_t *z);
/* Answers every pending request (non-blocking). Returns how many. */
int zap_handle(zap_t *z);
/* Serves the handler on a thread of its own from now on (zap_handle until
 * zap_destroy, which stops it first); nobody else may use zap_socket. Its
 * store reads are read transactions of their own (LMDB readers do not wait
 * for the writer). FT_OK or FT_ENOMEM. */
int zap_start(zap_t *z);

/* The decision alone (no sockets, no write): checks domain, mechanism and
 * key against the store (a read transaction). */
int zap_check(store_t *store, const char *want_domain, const char *domain, const char *mechanism,
              const uint8_t *key, size_t key_len, zap_verdict_t *v) FT_MUST_CHECK;
/* Records count refusals of key (reason ZAP_REASON_*) in t: an unknown key
 * in the refusals table, a revoked device in its status. */
int zap_record(store_txn_t *t, const uint8_t key[32], const char *reason, const char *address,
               int64_t first_ms, int64_t last_ms, uint64_t count) FT_MUST_CHECK;
/* zap_check, then zap_record of one refusal in a write transaction of its
 * own (for tests and tools). now_ms stamps it. */
int zap_decide(store_t *store, const char *want_domain, const char *domain, const char *mechanism,
               const uint8_t *key, size_t key_len, const char *address, int64_t now_ms,
               zap_verdict_t *v) FT_MUST_CHECK;

#endif
