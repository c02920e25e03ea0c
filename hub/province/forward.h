/* forward.h: the county hub's forwarder into the provincial PostgreSQL
 * (docs/province.md). It reads only what the hub has verified and
 * committed: the store's entries in arrival order (store_entries_since),
 * the enrolments, the hub's own signed log, and for each media manifest its
 * file key, re-sealed to the province's archive key (provstatus.h).
 *
 * One round (prov_fwd_round) sends, each stream in one PostgreSQL
 * transaction:
 *   enrolments   every enrolment row, when they changed since the last send
 *   entries      BEGIN; the checkpoint row of (county, 'entries') FOR UPDATE;
 *                the entries after it, up to batch_entries / batch_bytes,
 *                COPY'd into temporary staging tables with their media rows
 *                and re-sealed keys; the month partitions they need; INSERT
 *                ... SELECT ... ON CONFLICT DO NOTHING into ft.*; the
 *                checkpoint set to the batch's last arrival number; COMMIT.
 *   hublog       the same for the hub's own log, by seq.
 * At-least-once transport, exactly-once effect: a batch cut by a crash or a
 * lost connection is rolled back whole and sent again from the checkpoint,
 * which lives in PostgreSQL (a county hub restarted, or restored from a
 * backup, asks the province where it stands); a retransmitted row
 * conflicts on its primary key and is absorbed.
 *
 * prov_fwd_run loops rounds until stopped: while PostgreSQL cannot be
 * reached it waits (doubling from 250 ms up to retry_max_ms), logs that
 * once, and logs once when it is back. A batch PostgreSQL refuses (an SQL
 * error) is retried the same way and shown in the status; nothing is
 * skipped. The state goes to the hub log's environment (provstatus.h) for
 * `status`, /metrics and the dashboard.
 *
 * Threads: one forwarder is used by one thread at a time (its own
 * connection); the store and the hub log are shared safely (LMDB).
 */
#ifndef FT_FORWARD_H
#define FT_FORWARD_H

#include "devlog.h"
#include "error.h"
#include "keys.h"
#include "provconf.h"
#include "store.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct prov_fwd_t prov_fwd_t;

/* The schema (hub/province/schema.sql, embedded at build time) and the
 * schema_version it writes into ft.meta. */
extern const char prov_schema_sql[];
#define PROV_SCHEMA_VERSION 1

/* Why a connection attempt failed. */
typedef enum {
    PROV_CONN_DOWN = 1,   /* unreachable, starting, shutting down: retry */
    PROV_CONN_CONFIG = 2, /* refused for good: password, role, database, TLS, pg_hba */
} prov_conn_kind;
/* Sorts a libpq connection error message (pure; docs/province.md). */
prov_conn_kind prov_conn_classify(const char *msg);

/* conf, store, hublog and keys are borrowed for the forwarder's life. */
int prov_fwd_new(const prov_conf_t *conf, store_t *store, devlog_t *hublog, const keys_t *keys,
                 prov_fwd_t **out) FT_MUST_CHECK;
void prov_fwd_destroy(prov_fwd_t **f_p);

/* Connects (if not connected), applies the schema (unless ft.meta says it
 * is there already), registers the county
 * (ft.counties; FT_EEXIST if the county is registered with another hub's
 * key) and prepares the staging tables. FT_OK; FT_EAGAIN (PostgreSQL
 * unreachable: retry); FT_EINVAL (refused for good: wrong password, no
 * such database or role, TLS); FT_EEXIST; FT_EIO (an SQL error). err gets
 * a sentence (no password). */
int prov_fwd_connect(prov_fwd_t *f, char *err, size_t errlen) FT_MUST_CHECK;

/* What one round did. */
typedef struct {
    uint64_t entries_sent, entries_dup; /* rows of ft.entries inserted / already there */
    uint64_t hub_sent, hub_dup;
    uint64_t media_rows, keys_sent, keys_resealed, enrol_rows;
    uint64_t checkpoint, hublog_checkpoint; /* after the round */
    bool more;                              /* a batch was full: call again */
} prov_round_t;

/* One round (connects first if needed). FT_OK, or as prov_fwd_connect,
 * or FT_ECORRUPT (a stored entry does not decode: forwarding stops there),
 * or the hub log's error when re-sealing cannot be recorded. A file key that
 * does not open with the hub's archive key is skipped with a warning (the
 * county hub cannot read that file either). */
int prov_fwd_round(prov_fwd_t *f, prov_round_t *r, char *err, size_t errlen) FT_MUST_CHECK;

/* Rounds until *stop, retrying as above; returns FT_OK when stopped, or the
 * error that ended it (FT_EINVAL, FT_EEXIST: nothing a retry can mend). */
int prov_fwd_run(prov_fwd_t *f, volatile sig_atomic_t *stop);

/* prov_fwd_run on a thread of its own, stopped by prov_fwd_stop (which
 * joins it and destroys the forwarder). */
int prov_fwd_start(prov_fwd_t *f) FT_MUST_CHECK;
void prov_fwd_stop(prov_fwd_t **f_p);

/* Applies the schema to the database of url (`province init-db`). */
int prov_init_db(const char *url, char *err, size_t errlen) FT_MUST_CHECK;

#endif
