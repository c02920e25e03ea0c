/* forward.c: the county hub's forwarder into PostgreSQL (forward.h). */
#include "forward.h"

#include "fwdrows.h"
#include "logging.h"
#include "pgcopy.h"
#include "provstatus.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct prov_fwd_t {
    const prov_conf_t *conf;
    store_t *store;
    devlog_t *hublog;
    const keys_t *keys;
    PGconn *conn;
    bool prepared;          /* schema applied, county registered, staging tables made */
    uint8_t enrol_sent[32]; /* hash of the enrolment rows last committed */
    bool enrol_known;
    pgcopy_t rows, media, keys_rows, hub; /* reused between batches */
    prov_status_t st;
    int64_t st_written_ms;
    pthread_t thread;
    bool started;
    atomic_int stop; /* prov_fwd_stop asks the thread to end */
    bool ever_connected;
    bool start_down; /* the first connection found PostgreSQL down (logged by the caller) */
};

/* Column lists (fwdrows.h). */
#define COLS_ENTRIES "device, epoch, seq, at, hlc, county, arrival, kind, raw"
#define COLS_HUB "device, epoch, seq, at, hlc, county, kind, raw"
#define COLS_MEDIA                                                                                 \
    "file_id, at, county, device, epoch, seq, size, chunk_size, n_chunks, merkle_root, "           \
    "content_hash, media_kind, case_id"
#define COLS_KEYS "file_id, archive_pk, at, county, sealed_key, hublog_epoch, hublog_seq"
#define COLS_ENROL "county, device, revoked, sign_pk, transport_pk, unit, vehicle, at"

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libpq's message without its trailing newline(s), on one line. */
static void pg_msg(const char *m, char *out, size_t n)
{
    snprintf(out, n, "%s", m && *m ? m : "no message");
    for (char *p = out; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            *p = ' ';
        }
    }
    size_t len = strlen(out);
    while (len > 0 && out[len - 1] == ' ') {
        out[--len] = '\0';
    }
}

prov_conn_kind prov_conn_classify(const char *msg)
{
    static const char *const config[] = {
        "password authentication failed",
        "no password supplied",
        "does not exist", /* database "x" / role "x" */
        "no pg_hba.conf entry",
        "pg_hba.conf rejects",
        "SSL",
        "certificate",
        "sslmode",
        "invalid",
        "permission denied",
        "authentication method",
    };
    if (!msg) {
        return PROV_CONN_DOWN;
    }
    for (size_t i = 0; i < sizeof config / sizeof config[0]; i++) {
        if (strstr(msg, config[i])) {
            return PROV_CONN_CONFIG;
        }
    }
    return PROV_CONN_DOWN;
}

int prov_fwd_new(const prov_conf_t *conf, store_t *store, devlog_t *hublog, const keys_t *keys,
                 prov_fwd_t **out)
{
    prov_fwd_t *f = calloc(1, sizeof *f);
    if (!f) {
        return FT_ENOMEM;
    }
    f->conf = conf;
    f->store = store;
    f->hublog = hublog;
    f->keys = keys;
    pgcopy_init(&f->rows);
    pgcopy_init(&f->media);
    pgcopy_init(&f->keys_rows);
    pgcopy_init(&f->hub);
    /* Counters carry over from the last run. */
    prov_status_t old;
    if (prov_status_read(hublog, &old) == FT_OK && old.present) {
        f->st.sent_entries = old.sent_entries;
        f->st.sent_duplicates = old.sent_duplicates;
        f->st.keys_resealed = old.keys_resealed;
        f->st.checkpoint = old.checkpoint;
        f->st.hublog_checkpoint = old.hublog_checkpoint;
        f->st.last_success_ms = old.last_success_ms;
    }
    f->st.present = true;
    snprintf(f->st.county, sizeof f->st.county, "%s", conf->county);
    prov_url_redact(conf->url, f->st.target, sizeof f->st.target);
    snprintf(f->st.state, sizeof f->st.state, "starting");
    f->st.pid = (int64_t)getpid();
    *out = f;
    return FT_OK;
}

static void disconnect(prov_fwd_t *f)
{
    if (f->conn) {
        PQfinish(f->conn);
        f->conn = NULL;
    }
    f->prepared = false;
}

void prov_fwd_destroy(prov_fwd_t **f_p)
{
    prov_fwd_t *f = *f_p;
    if (!f) {
        return;
    }
    disconnect(f);
    pgcopy_free(&f->rows);
    pgcopy_free(&f->media);
    pgcopy_free(&f->keys_rows);
    pgcopy_free(&f->hub);
    free(f);
    *f_p = NULL;
}

/* Opens a connection to url; NULL and err on failure (kind in *kind). */
static PGconn *open_conn(const char *url, prov_conn_kind *kind, char *err, size_t errlen)
{
    /* Defaults first: with expand_dbname the URL's own settings, processed
     * in place of dbname, override them. */
    const char *const kw[] = {
        "connect_timeout",  "application_name", "keepalives", "keepalives_idle",
        "tcp_user_timeout", "options",          "dbname",     NULL};
    const char *const val[] = {
        "10", "fieldtrail-hub", "1", "30", "60000", "-c statement_timeout=300000", url, NULL};
    PGconn *c = PQconnectdbParams(kw, val, 1);
    if (!c) {
        *kind = PROV_CONN_DOWN;
        snprintf(err, errlen, "out of memory for a PostgreSQL connection");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        char m[400];
        pg_msg(PQerrorMessage(c), m, sizeof m);
        *kind = prov_conn_classify(m);
        snprintf(err, errlen, "%s", m);
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Runs sql (no result rows wanted). FT_OK or FT_EIO with err. */
static int exec_ok(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        PQclear(r);
        return FT_OK;
    }
    char m[400];
    pg_msg(PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r) : PQerrorMessage(c), m, sizeof m);
    snprintf(err, errlen, "%s", m);
    PQclear(r);
    return FT_EIO;
}

/* Runs a parameterised statement; *out gets the result (caller clears) when
 * it succeeded. */
static int exec_params(PGconn *c, const char *sql, int n, const char *const *vals, const int *lens,
                       const int *fmts, PGresult **out, char *err, size_t errlen)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, vals, lens, fmts, 0);
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        if (out) {
            *out = r;
        } else {
            PQclear(r);
        }
        return FT_OK;
    }
    char m[400];
    pg_msg(PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r) : PQerrorMessage(c), m, sizeof m);
    snprintf(err, errlen, "%s", m);
    PQclear(r);
    return FT_EIO;
}

/* COPY's the rows of buf into table (column list cols). */
static int copy_in(PGconn *c, const char *table, const char *cols, const pgcopy_t *buf, char *err,
                   size_t errlen)
{
    if (buf->rows == 0) {
        return FT_OK;
    }
    char sql[512];
    snprintf(sql, sizeof sql, "COPY %s (%s) FROM STDIN", table, cols);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        char m[400];
        pg_msg(PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r) : PQerrorMessage(c), m,
               sizeof m);
        snprintf(err, errlen, "COPY into %s: %s", table, m);
        PQclear(r);
        return FT_EIO;
    }
    PQclear(r);
    /* In pieces of at most 1 MiB (libpq queues them). */
    size_t off = 0;
    int ok = 1;
    while (ok == 1 && off < buf->len) {
        size_t n = buf->len - off < (1u << 20) ? buf->len - off : (1u << 20);
        ok = PQputCopyData(c, buf->buf + off, (int)n);
        off += n;
    }
    if (ok == 1) {
        ok = PQputCopyEnd(c, NULL);
    }
    int rc = FT_OK;
    if (ok != 1) {
        char m[400];
        pg_msg(PQerrorMessage(c), m, sizeof m);
        snprintf(err, errlen, "COPY into %s: %s", table, m);
        rc = FT_EIO;
    }
    while ((r = PQgetResult(c)) != NULL) {
        if (rc == FT_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
            char m[400];
            pg_msg(PQresultErrorMessage(r), m, sizeof m);
            snprintf(err, errlen, "COPY into %s: %s", table, m);
            rc = FT_EIO;
        }
        PQclear(r);
    }
    return rc;
}

/* Makes the month partitions of parent that the staged rows need, then
 * moves them: INSERT ... SELECT ... ON CONFLICT DO NOTHING. *inserted gets
 * the rows that were new. */
static int move_staged(PGconn *c, const char *parent, const char *cols, uint64_t *inserted,
                       char *err, size_t errlen)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT ft.ensure_month('%s', m) FROM (SELECT DISTINCT "
             "date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m "
             "FROM pg_temp.stage_%s) s",
             parent, parent);
    int rc = exec_ok(c, sql, err, errlen);
    if (rc != FT_OK) {
        return rc;
    }
    snprintf(sql, sizeof sql,
             "INSERT INTO ft.%s (%s) SELECT %s FROM pg_temp.stage_%s ON CONFLICT DO NOTHING",
             parent, cols, cols, parent);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        char m[400];
        pg_msg(PQresultErrorMessage(r), m, sizeof m);
        snprintf(err, errlen, "INSERT into ft.%s: %s", parent, m);
        PQclear(r);
        return FT_EIO;
    }
    *inserted = strtoull(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return FT_OK;
}

static void rollback(prov_fwd_t *f)
{
    if (f->conn && PQstatus(f->conn) == CONNECTION_OK &&
        PQtransactionStatus(f->conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(f->conn, "ROLLBACK");
        PQclear(r);
    }
}

/* The error code of a failed statement on a connection that is still good
 * is FT_EIO; on a lost connection FT_EAGAIN (retry after reconnecting). */
static int failed(prov_fwd_t *f, int rc)
{
    if (!f->conn || PQstatus(f->conn) != CONNECTION_OK) {
        disconnect(f);
        return FT_EAGAIN;
    }
    rollback(f);
    return rc;
}

/* Reads the checkpoint of stream (locking its row until the transaction
 * ends): position and epoch. */
static int checkpoint_lock(prov_fwd_t *f, const char *stream, uint64_t *pos, uint64_t *epoch,
                           char *err, size_t errlen)
{
    const char *vals[2] = {f->conf->county, stream};
    PGresult *r = NULL;
    int rc = exec_params(f->conn,
                         "SELECT position, epoch FROM ft.checkpoints WHERE county = $1 AND "
                         "stream = $2 FOR UPDATE",
                         2, vals, NULL, NULL, &r, err, errlen);
    if (rc != FT_OK) {
        return rc;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        snprintf(err, errlen, "the checkpoint row of county \"%s\", stream %s is missing",
                 f->conf->county, stream);
        return FT_EIO;
    }
    *pos = (uint64_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    *epoch = (uint64_t)strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    return FT_OK;
}

static int checkpoint_set(prov_fwd_t *f, const char *stream, uint64_t pos, uint64_t epoch,
                          char *err, size_t errlen)
{
    char p[24], e[24];
    snprintf(p, sizeof p, "%lld", (long long)(int64_t)pos);
    snprintf(e, sizeof e, "%lld", (long long)(int64_t)epoch);
    const char *vals[4] = {f->conf->county, stream, p, e};
    return exec_params(f->conn,
                       "UPDATE ft.checkpoints SET position = $3, epoch = $4, updated_at = now() "
                       "WHERE county = $1 AND stream = $2",
                       4, vals, NULL, NULL, NULL, err, errlen);
}

/* Applies the schema unless the database already has this version (so a
 * county's role, which owns none of the tables and functions, needs no
 * right to replace them: docs/operations.md "Provincial deployment"). */
static int apply_schema(PGconn *c, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, "SELECT to_regclass('ft.meta') IS NOT NULL");
    bool have = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (have) {
        r = PQexec(c, "SELECT value FROM ft.meta WHERE name = 'schema_version'");
        bool current = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                       strtol(PQgetvalue(r, 0, 0), NULL, 10) >= PROV_SCHEMA_VERSION;
        PQclear(r);
        if (current) {
            return FT_OK;
        }
    }
    return exec_ok(c, prov_schema_sql, err, errlen);
}

/* Registers the county with the hub's keys; FT_EEXIST if another hub holds
 * the name. */
static int register_county(prov_fwd_t *f, char *err, size_t errlen)
{
    const keys_t *k = f->keys;
    const char *vals[5] = {f->conf->county, (const char *)devlog_device(f->hublog),
                           (const char *)k->sign_pk, (const char *)k->box_pk,
                           k->has_archive ? (const char *)k->archive_pk : NULL};
    int lens[5] = {0, DEVID_BYTES, 32, 32, 32};
    int fmts[5] = {0, 1, 1, 1, 1};
    int rc = exec_params(f->conn,
                         "INSERT INTO ft.counties (county, hub_device, hub_sign_pk, hub_box_pk, "
                         "hub_archive_pk) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                         5, vals, lens, fmts, NULL, err, errlen);
    if (rc != FT_OK) {
        return rc;
    }
    PGresult *r = NULL;
    rc = exec_params(f->conn, "SELECT hub_sign_pk FROM ft.counties WHERE county = $1", 1, vals,
                     NULL, NULL, &r, err, errlen);
    if (rc != FT_OK) {
        return rc;
    }
    /* Text result of bytea: \x + hex. */
    char want[3 + 64];
    want[0] = '\\';
    want[1] = 'x';
    hex_encode(k->sign_pk, 32, want + 2);
    bool same = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), want) == 0;
    PQclear(r);
    if (!same) {
        snprintf(err, errlen,
                 "the province already has a county \"%s\" whose hub has another signing key: "
                 "each county hub needs its own province.county",
                 f->conf->county);
        return FT_EEXIST;
    }
    const char *streams[] = {"entries", "hublog", "enrolments"};
    for (size_t i = 0; i < 3; i++) {
        const char *v2[2] = {f->conf->county, streams[i]};
        rc = exec_params(f->conn,
                         "INSERT INTO ft.checkpoints (county, stream, position) VALUES ($1, $2, "
                         "0) ON CONFLICT DO NOTHING",
                         2, v2, NULL, NULL, NULL, err, errlen);
        if (rc != FT_OK) {
            return rc;
        }
    }
    return FT_OK;
}

/* The first entry at or after arrival number `from`. */
typedef struct {
    uint64_t arrival;
    uint8_t device[DEVID_BYTES];
    uint64_t epoch, seq;
    bool found;
} at_arrival_t;

static int first_entry(void *ctx, const store_entry_t *e)
{
    at_arrival_t *a = ctx;
    a->arrival = e->arrival;
    memcpy(a->device, e->device, DEVID_BYTES);
    a->epoch = e->epoch;
    a->seq = e->seq;
    a->found = true;
    return 1;
}

/* The same for the hub log: the province's checkpoint (seq of this log's
 * epoch) must name an entry this hub's log holds with the same bytes. A
 * restored hub log writes other entries under the seqs it had lost: they
 * are sent as what they are (a fork of the hub's log the province sees),
 * from the start. */
static int check_hublog_checkpoint(prov_fwd_t *f, char *err, size_t errlen)
{
    const char *vals[2] = {f->conf->county, "hublog"};
    PGresult *r = NULL;
    int rc = exec_params(f->conn,
                         "SELECT position, epoch FROM ft.checkpoints WHERE county = $1 AND "
                         "stream = $2",
                         2, vals, NULL, NULL, &r, err, errlen);
    if (rc != FT_OK) {
        return rc;
    }
    uint64_t pos = 0, epoch = 0;
    if (PQntuples(r) == 1) {
        pos = (uint64_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        epoch = (uint64_t)strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    }
    PQclear(r);
    if (pos == 0 || epoch != devlog_epoch(f->hublog)) {
        return FT_OK; /* nothing sent of this log yet: it starts from 1 anyway */
    }
    uint8_t *raw = NULL;
    size_t len = 0;
    bool same = false;
    if (devlog_get(f->hublog, pos, &raw, &len) == FT_OK) {
        char p[24], e[24];
        snprintf(p, sizeof p, "%lld", (long long)(int64_t)pos);
        snprintf(e, sizeof e, "%lld", (long long)(int64_t)epoch);
        const char *v[5] = {f->conf->county, (const char *)devlog_device(f->hublog), e, p,
                            (const char *)raw};
        int lens[5] = {0, DEVID_BYTES, 0, 0, (int)len};
        int fmts[5] = {0, 1, 0, 0, 1};
        rc = exec_params(f->conn,
                         "SELECT 1 FROM ft.hub_entries WHERE county = $1 AND device = $2 AND "
                         "epoch = $3 AND seq = $4 AND raw = $5 LIMIT 1",
                         5, v, lens, fmts, &r, err, errlen);
        free(raw);
        if (rc != FT_OK) {
            return rc;
        }
        same = PQntuples(r) == 1;
        PQclear(r);
    }
    if (same) {
        return FT_OK;
    }
    log_warn("province: the province's checkpoint of county \"%s\"'s hub log (seq %llu) does not "
             "name the entry this hub's log holds there (a hub log restored from a backup?): "
             "sending the hub log again from the start",
             f->conf->county, (unsigned long long)pos);
    return exec_params(f->conn,
                       "UPDATE ft.checkpoints SET position = 0, updated_at = now() WHERE county = "
                       "$1 AND stream = $2",
                       2, vals, NULL, NULL, NULL, err, errlen);
}

/* Checks, once per connection, that the province's checkpoint of this
 * county names the entry this hub's store holds at that arrival number. A
 * county hub restored from an older backup (or a new store under the same
 * keys) numbers its arrivals again from an earlier point: its checkpoint
 * then points at nothing or at another entry, and entries would be skipped.
 * Then the checkpoint goes back to 0 and everything is sent again
 * (duplicates are absorbed). docs/province.md "Restoring a county hub". */
static int check_checkpoint(prov_fwd_t *f, char *err, size_t errlen)
{
    const char *vals[2] = {f->conf->county, "entries"};
    PGresult *r = NULL;
    int rc = exec_params(f->conn,
                         "SELECT position FROM ft.checkpoints WHERE county = $1 AND stream = $2", 2,
                         vals, NULL, NULL, &r, err, errlen);
    if (rc != FT_OK) {
        return rc;
    }
    uint64_t pos = PQntuples(r) == 1 ? (uint64_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    if (pos == 0) {
        return FT_OK;
    }
    at_arrival_t a = {0};
    rc = store_entries_since(f->store, pos - 1, first_entry, &a);
    if (rc != FT_OK && rc != 1) {
        snprintf(err, errlen, "cannot read the hub store: %s", ft_strerror(rc));
        return rc;
    }
    bool same = false;
    if (a.found && a.arrival == pos) {
        char p[24], e[24], q[24];
        snprintf(p, sizeof p, "%lld", (long long)(int64_t)pos);
        snprintf(e, sizeof e, "%lld", (long long)(int64_t)a.epoch);
        snprintf(q, sizeof q, "%lld", (long long)(int64_t)a.seq);
        const char *v[5] = {f->conf->county, p, (const char *)a.device, e, q};
        int lens[5] = {0, 0, DEVID_BYTES, 0, 0};
        int fmts[5] = {0, 0, 1, 0, 0};
        rc = exec_params(f->conn,
                         "SELECT 1 FROM ft.entries WHERE county = $1 AND arrival = $2 AND "
                         "device = $3 AND epoch = $4 AND seq = $5 LIMIT 1",
                         5, v, lens, fmts, &r, err, errlen);
        if (rc != FT_OK) {
            return rc;
        }
        same = PQntuples(r) == 1;
        PQclear(r);
    }
    if (same) {
        return check_hublog_checkpoint(f, err, errlen);
    }
    log_warn("province: the province's checkpoint of county \"%s\" (arrival number %llu) does "
             "not name the entry this hub's store holds there (a store restored from a backup?): "
             "sending everything again from the start; what the province holds is absorbed",
             f->conf->county, (unsigned long long)pos);
    rc = exec_params(f->conn,
                     "UPDATE ft.checkpoints SET position = 0, updated_at = now() WHERE county = "
                     "$1 AND stream = $2",
                     2, vals, NULL, NULL, NULL, err, errlen);
    return rc == FT_OK ? check_hublog_checkpoint(f, err, errlen) : rc;
}

int prov_fwd_connect(prov_fwd_t *f, char *err, size_t errlen)
{
    if (f->conn && PQstatus(f->conn) != CONNECTION_OK) {
        disconnect(f);
    }
    if (f->conn && f->prepared) {
        return FT_OK;
    }
    if (!f->conn) {
        prov_conn_kind kind = PROV_CONN_DOWN;
        f->conn = open_conn(f->conf->url, &kind, err, errlen);
        if (!f->conn) {
            if (!f->ever_connected && kind == PROV_CONN_DOWN) {
                f->start_down = true;
            }
            return kind == PROV_CONN_CONFIG ? FT_EINVAL : FT_EAGAIN;
        }
        f->ever_connected = true;
    }
    int rc =
        exec_ok(f->conn, "SET client_min_messages = warning; SET TimeZone = 'UTC'", err, errlen);
    if (rc == FT_OK) {
        rc = apply_schema(f->conn, err, errlen);
    }
    if (rc == FT_OK) {
        rc = register_county(f, err, errlen);
    }
    if (rc == FT_OK) {
        rc = check_checkpoint(f, err, errlen);
    }
    static const char *const stage[] = {"entries", "hub_entries", "media_files", "file_keys",
                                        "enrolments"};
    for (size_t i = 0; rc == FT_OK && i < sizeof stage / sizeof stage[0]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "CREATE TEMP TABLE IF NOT EXISTS stage_%s (LIKE ft.%s INCLUDING DEFAULTS) "
                 "ON COMMIT DELETE ROWS",
                 stage[i], stage[i]);
        rc = exec_ok(f->conn, sql, err, errlen);
    }
    if (rc != FT_OK) {
        int out = rc == FT_EEXIST ? FT_EEXIST : failed(f, rc);
        disconnect(f);
        return out;
    }
    f->prepared = true;
    return FT_OK;
}

/* ---- entries ---- */

typedef struct {
    prov_fwd_t *f;
    fwd_batch_t batch;
    fwd_media_t *media;
    size_t n_media, cap_media;
    int err;
    bool full;
} collect_t;

static int collect_entry(void *ctx, const store_entry_t *e)
{
    collect_t *c = ctx;
    if (!fwd_batch_room(&c->batch, e->len)) {
        c->full = true;
        return 1;
    }
    fwd_media_t m;
    bool is_media = false;
    int rc = fwd_entry_rows(c->f->conf->county, e->arrival, e->raw, e->len, &c->f->rows,
                            &c->f->media, &m, &is_media);
    if (rc != FT_OK) {
        c->err = rc;
        return 1;
    }
    if (m.malformed) {
        log_warn("province: arrival %llu is a media manifest with a file ID or sealed key of the "
                 "wrong size (its device signed it; no file can be pulled for it): forwarded as "
                 "an entry, without a media row or key",
                 (unsigned long long)e->arrival);
    }
    if (is_media) {
        if (c->n_media == c->cap_media) {
            size_t cap = c->cap_media ? c->cap_media * 2 : 16;
            fwd_media_t *p = realloc(c->media, cap * sizeof *p);
            if (!p) {
                c->err = FT_ENOMEM;
                return 1;
            }
            c->media = p;
            c->cap_media = cap;
        }
        c->media[c->n_media++] = m;
    }
    fwd_batch_add(&c->batch, e->arrival, e->len);
    return 0;
}

/* Re-seals the batch's file keys (the hub log first) and adds their rows. */
static int reseal_batch(prov_fwd_t *f, collect_t *c, prov_round_t *r, char *err, size_t errlen)
{
    if (!f->conf->has_archive || c->n_media == 0) {
        return FT_OK;
    }
    prov_reseal_t *items = calloc(c->n_media, sizeof *items);
    prov_key_t *keys = calloc(c->n_media, sizeof *keys);
    int rc = items && keys ? FT_OK : FT_ENOMEM;
    for (size_t i = 0; rc == FT_OK && i < c->n_media; i++) {
        items[i].file_id = c->media[i].file_id;
        items[i].hub_sealed = c->media[i].sealed;
    }
    if (rc == FT_OK) {
        rc = prov_keys_reseal(f->hublog, f->keys, f->conf->archive_pk, items, c->n_media, keys);
    }
    if (rc != FT_OK) {
        snprintf(err, errlen, "cannot re-seal file keys to the province's archive key: %s%s",
                 ft_strerror(rc),
                 rc == FT_ECRYPTO ? " (a key does not open with this hub's archive key)" : "");
    }
    for (size_t i = 0; rc == FT_OK && i < c->n_media; i++) {
        bool dup = false;
        for (size_t j = 0; j < i; j++) {
            dup = dup || memcmp(c->media[j].file_id, c->media[i].file_id, MEDIA_FILE_ID_BYTES) == 0;
        }
        if (dup) {
            continue;
        }
        if (keys[i].unopenable) {
            char fid[2 * MEDIA_FILE_ID_BYTES + 1];
            hex_encode(c->media[i].file_id, MEDIA_FILE_ID_BYTES, fid);
            log_warn("province: the key of media file %s does not open with this hub's archive "
                     "key (its edge sealed it to another key): forwarded without a re-sealed key",
                     fid);
            continue;
        }
        fwd_key_row(f->conf->county, &c->media[i], f->conf->archive_pk, keys[i].sealed,
                    MEDIA_SEALED_KEY_BYTES, keys[i].hublog_epoch, keys[i].hublog_seq,
                    &f->keys_rows);
        r->keys_resealed += keys[i].fresh;
    }
    free(items);
    free(keys);
    return rc;
}

static int send_entries(prov_fwd_t *f, prov_round_t *r, char *err, size_t errlen)
{
    pgcopy_reset(&f->rows);
    pgcopy_reset(&f->media);
    pgcopy_reset(&f->keys_rows);
    uint64_t pos = 0, epoch = 0;
    int rc = exec_ok(f->conn, "BEGIN", err, errlen);
    if (rc == FT_OK) {
        rc = checkpoint_lock(f, "entries", &pos, &epoch, err, errlen);
    }
    if (rc != FT_OK) {
        return failed(f, rc);
    }
    collect_t c = {.f = f};
    fwd_batch_init(&c.batch, f->conf->batch_entries, f->conf->batch_bytes);
    rc = store_entries_since(f->store, pos, collect_entry, &c);
    if (c.err != FT_OK) {
        rc = c.err;
        snprintf(err, errlen,
                 "the stored entry after arrival number %llu does not decode (%s): forwarding "
                 "stops there; run `fieldtrail-hub verify`",
                 (unsigned long long)(c.batch.last ? c.batch.last : pos), ft_strerror(rc));
    } else if (rc != FT_OK && rc != 1) {
        snprintf(err, errlen, "cannot read the hub store: %s", ft_strerror(rc));
    } else {
        rc = FT_OK;
    }
    if (rc == FT_OK && (pgcopy_failed(&f->rows) || pgcopy_failed(&f->media))) {
        rc = FT_ENOMEM;
        snprintf(err, errlen, "out of memory building a batch");
    }
    if (rc == FT_OK) {
        rc = reseal_batch(f, &c, r, err, errlen);
    }
    free(c.media);
    if (rc != FT_OK) {
        rollback(f);
        return rc;
    }
    r->checkpoint = pos;
    if (c.batch.entries == 0) {
        rollback(f);
        return FT_OK;
    }
    uint64_t ins = 0, mins = 0, kins = 0;
    rc = copy_in(f->conn, "pg_temp.stage_entries", COLS_ENTRIES, &f->rows, err, errlen);
    if (rc == FT_OK) {
        rc = copy_in(f->conn, "pg_temp.stage_media_files", COLS_MEDIA, &f->media, err, errlen);
    }
    if (rc == FT_OK) {
        rc = copy_in(f->conn, "pg_temp.stage_file_keys", COLS_KEYS, &f->keys_rows, err, errlen);
    }
    if (rc == FT_OK) {
        rc = move_staged(f->conn, "entries", COLS_ENTRIES, &ins, err, errlen);
    }
    if (rc == FT_OK && f->media.rows) {
        rc = move_staged(f->conn, "media_files", COLS_MEDIA, &mins, err, errlen);
    }
    if (rc == FT_OK && f->keys_rows.rows) {
        rc = move_staged(f->conn, "file_keys", COLS_KEYS, &kins, err, errlen);
    }
    if (rc == FT_OK) {
        rc = checkpoint_set(f, "entries", c.batch.last, 0, err, errlen);
    }
    if (rc == FT_OK) {
        rc = exec_ok(f->conn, "COMMIT", err, errlen);
    }
    if (rc != FT_OK) {
        return failed(f, rc);
    }
    r->entries_sent += ins;
    r->entries_dup += c.batch.entries - ins;
    r->media_rows += mins;
    r->keys_sent += kins;
    r->checkpoint = c.batch.last;
    r->more = r->more || c.full;
    return FT_OK;
}

/* ---- the hub's own log ---- */

typedef struct {
    prov_fwd_t *f;
    fwd_batch_t batch;
    int err;
    bool full;
} hcollect_t;

static int collect_hub(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    hcollect_t *c = ctx;
    if (!fwd_batch_room(&c->batch, len)) {
        c->full = true;
        return 1;
    }
    int rc = fwd_hub_row(c->f->conf->county, raw, len, &c->f->hub);
    if (rc != FT_OK) {
        c->err = rc;
        return 1;
    }
    fwd_batch_add(&c->batch, seq, len);
    return 0;
}

static int send_hublog(prov_fwd_t *f, prov_round_t *r, char *err, size_t errlen)
{
    pgcopy_reset(&f->hub);
    uint64_t pos = 0, epoch = 0, mine = devlog_epoch(f->hublog);
    int rc = exec_ok(f->conn, "BEGIN", err, errlen);
    if (rc == FT_OK) {
        rc = checkpoint_lock(f, "hublog", &pos, &epoch, err, errlen);
    }
    if (rc != FT_OK) {
        return failed(f, rc);
    }
    if (epoch != mine) {
        pos = 0; /* a new hub log (or the first send): from its start */
    }
    hcollect_t c = {.f = f};
    fwd_batch_init(&c.batch, f->conf->batch_entries, f->conf->batch_bytes);
    rc = devlog_iter(f->hublog, pos + 1, 0, collect_hub, &c);
    if (c.err != FT_OK) {
        rc = c.err;
        snprintf(err, errlen,
                 "the hub log entry after seq %llu does not decode: run "
                 "`fieldtrail-hub verify`",
                 (unsigned long long)(c.batch.last ? c.batch.last : pos));
    } else if (rc != FT_OK && rc != 1) {
        snprintf(err, errlen, "cannot read the hub log: %s", ft_strerror(rc));
    } else {
        rc = FT_OK;
    }
    r->hublog_checkpoint = pos;
    if (rc != FT_OK || c.batch.entries == 0) {
        rollback(f);
        return rc;
    }
    uint64_t ins = 0;
    rc = copy_in(f->conn, "pg_temp.stage_hub_entries", COLS_HUB, &f->hub, err, errlen);
    if (rc == FT_OK) {
        rc = move_staged(f->conn, "hub_entries", COLS_HUB, &ins, err, errlen);
    }
    if (rc == FT_OK) {
        rc = checkpoint_set(f, "hublog", c.batch.last, mine, err, errlen);
    }
    if (rc == FT_OK) {
        rc = exec_ok(f->conn, "COMMIT", err, errlen);
    }
    if (rc != FT_OK) {
        return failed(f, rc);
    }
    r->hub_sent += ins;
    r->hub_dup += c.batch.entries - ins;
    r->hublog_checkpoint = c.batch.last;
    r->more = r->more || c.full;
    return FT_OK;
}

/* ---- enrolments ---- */

typedef struct {
    prov_fwd_t *f;
    pgcopy_t *rows;
    uint64_t n;
} ecollect_t;

static int collect_enrol(void *ctx, const store_device_t *d)
{
    ecollect_t *c = ctx;
    fwd_enrol_rows(c->f->conf->county, d->device, d->sign_pk, d->transport_pk, d->unit, d->vehicle,
                   d->revoked, d->enrolled_ms, d->revoked_ms, c->rows);
    c->n += d->revoked ? 2 : 1;
    return 0;
}

static int send_enrolments(prov_fwd_t *f, prov_round_t *r, char *err, size_t errlen)
{
    pgcopy_t rows;
    pgcopy_init(&rows);
    ecollect_t c = {.f = f, .rows = &rows};
    store_txn_t *t = NULL;
    int rc = store_begin(f->store, false, &t);
    if (rc == FT_OK) {
        rc = store_device_iter(t, collect_enrol, &c);
        store_abort(&t);
    }
    if (rc != FT_OK || pgcopy_failed(&rows)) {
        snprintf(err, errlen, "cannot read the enrolments: %s",
                 ft_strerror(rc != FT_OK ? rc : FT_ENOMEM));
        pgcopy_free(&rows);
        return rc != FT_OK ? rc : FT_ENOMEM;
    }
    uint8_t h[32];
    crypto_generichash(h, sizeof h, (const uint8_t *)rows.buf, rows.len, NULL, 0);
    if ((f->enrol_known && memcmp(h, f->enrol_sent, sizeof h) == 0) || rows.rows == 0) {
        pgcopy_free(&rows);
        return FT_OK;
    }
    uint64_t pos = 0, epoch = 0, ins = 0;
    rc = exec_ok(f->conn, "BEGIN", err, errlen);
    if (rc == FT_OK) {
        rc = checkpoint_lock(f, "enrolments", &pos, &epoch, err, errlen);
    }
    if (rc == FT_OK) {
        rc = copy_in(f->conn, "pg_temp.stage_enrolments", COLS_ENROL, &rows, err, errlen);
    }
    if (rc == FT_OK) {
        rc = exec_ok(f->conn,
                     "INSERT INTO ft.enrolments (" COLS_ENROL ") SELECT " COLS_ENROL
                     " FROM pg_temp.stage_enrolments ON CONFLICT DO NOTHING",
                     err, errlen);
    }
    if (rc == FT_OK) {
        rc = checkpoint_set(f, "enrolments", c.n, 0, err, errlen);
    }
    if (rc == FT_OK) {
        rc = exec_ok(f->conn, "COMMIT", err, errlen);
    }
    pgcopy_free(&rows);
    if (rc != FT_OK) {
        return failed(f, rc);
    }
    (void)ins;
    memcpy(f->enrol_sent, h, sizeof h);
    f->enrol_known = true;
    r->enrol_rows = c.n;
    return FT_OK;
}

int prov_fwd_round(prov_fwd_t *f, prov_round_t *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    int rc = prov_fwd_connect(f, err, errlen);
    if (rc == FT_OK) {
        rc = send_enrolments(f, r, err, errlen);
    }
    /* Entries before the hub log: re-sealing a batch's keys appends to the
     * hub log, which then goes in the same round. */
    if (rc == FT_OK) {
        rc = send_entries(f, r, err, errlen);
    }
    if (rc == FT_OK) {
        rc = send_hublog(f, r, err, errlen);
    }
    if (rc == FT_EAGAIN && !strstr(err, "PostgreSQL")) {
        char m[400];
        snprintf(m, sizeof m, "%s", err);
        snprintf(err, errlen, "lost the connection to PostgreSQL: %s", m);
    }
    return rc;
}

/* ---- the loop ---- */

static void status_save(prov_fwd_t *f, bool force)
{
    int64_t now = wall_ms();
    if (!force && now - f->st_written_ms < 10000) {
        return;
    }
    if (prov_status_write(f->hublog, &f->st) != FT_OK) {
        log_warn("province: cannot write the forwarding status to the hub log's database");
    }
    f->st_written_ms = now;
}

/* Sleeps ms in steps, returning early when stopped. */
static void nap(prov_fwd_t *f, volatile sig_atomic_t *stop, uint32_t ms)
{
    while (ms > 0 && !*stop && !atomic_load(&f->stop)) {
        uint32_t step = ms < 100 ? ms : 100;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

int prov_fwd_run(prov_fwd_t *f, volatile sig_atomic_t *stop)
{
    uint32_t backoff = 0;
    /* An outage found by the first connection was logged by its caller:
     * not again, but its end is. */
    bool down_logged = f->start_down && !f->ever_connected;
    int64_t down_since = wall_ms();
    char err[600], last[600] = "";
    int result = FT_OK;
    snprintf(f->st.state, sizeof f->st.state, "forwarding");
    status_save(f, true);
    while (!*stop && !atomic_load(&f->stop)) {
        prov_round_t r;
        err[0] = '\0';
        int64_t now = wall_ms();
        f->st.last_try_ms = now;
        int rc = prov_fwd_round(f, &r, err, sizeof err);
        if (rc == FT_OK) {
            bool moved = r.entries_sent + r.entries_dup + r.hub_sent + r.hub_dup + r.enrol_rows > 0;
            if (down_logged) {
                log_info("province: PostgreSQL (%s) reachable again after %lld s; forwarding "
                         "resumes from the province's checkpoint",
                         f->st.target, (long long)((now - down_since) / 1000));
            }
            bool changed = down_logged || strcmp(f->st.state, "forwarding") != 0 || moved;
            down_logged = false;
            backoff = 0;
            last[0] = '\0';
            snprintf(f->st.state, sizeof f->st.state, "forwarding");
            f->st.checkpoint = r.checkpoint;
            f->st.hublog_checkpoint = r.hublog_checkpoint;
            f->st.last_success_ms = now;
            f->st.sent_entries += r.entries_sent + r.hub_sent;
            f->st.sent_duplicates += r.entries_dup + r.hub_dup;
            f->st.keys_resealed += r.keys_resealed;
            status_save(f, changed);
            if (!r.more) {
                nap(f, stop, f->conf->interval_ms);
            }
            continue;
        }
        if (rc == FT_EINVAL || rc == FT_EEXIST) {
            log_error("province: %s (%s): forwarding stopped; fix hub.conf and restart", err,
                      f->conf->url_where);
            snprintf(f->st.state, sizeof f->st.state, "failed");
            snprintf(f->st.last_error, sizeof f->st.last_error, "%.*s",
                     (int)sizeof f->st.last_error - 1, err);
            f->st.last_error_ms = now;
            status_save(f, true);
            result = rc;
            break;
        }
        /* Retry: PostgreSQL down, a lost connection, a refused batch. */
        bool is_down = rc == FT_EAGAIN;
        if (!down_logged || (!is_down && strcmp(err, last) != 0)) {
            if (is_down) {
                log_warn("province: cannot reach PostgreSQL (%s): %s; retrying with backoff up "
                         "to %u ms (logged once until it is back)",
                         f->st.target, err, f->conf->retry_max_ms);
            } else {
                log_warn("province: forwarding failed: %s; retrying with backoff (logged once "
                         "per distinct error)",
                         err);
            }
            if (!down_logged) {
                down_since = now;
            }
            down_logged = true;
            snprintf(last, sizeof last, "%s", err);
        }
        snprintf(f->st.state, sizeof f->st.state, "%s", is_down ? "waiting" : "retrying");
        snprintf(f->st.last_error, sizeof f->st.last_error, "%.*s",
                 (int)sizeof f->st.last_error - 1, err);
        f->st.last_error_ms = now;
        status_save(f, true);
        backoff = backoff ? backoff * 2 : 250;
        if (backoff > f->conf->retry_max_ms) {
            backoff = f->conf->retry_max_ms;
        }
        nap(f, stop, backoff);
    }
    if (result == FT_OK) {
        snprintf(f->st.state, sizeof f->st.state, "stopped");
        status_save(f, true);
    }
    return result;
}

static void *thread_main(void *arg)
{
    prov_fwd_t *f = arg;
    static volatile sig_atomic_t never;
    (void)prov_fwd_run(f, &never);
    return NULL;
}

int prov_fwd_start(prov_fwd_t *f)
{
    if (pthread_create(&f->thread, NULL, thread_main, f) != 0) {
        return FT_ENOMEM;
    }
    f->started = true;
    return FT_OK;
}

void prov_fwd_stop(prov_fwd_t **f_p)
{
    prov_fwd_t *f = *f_p;
    if (!f) {
        return;
    }
    if (f->started) {
        atomic_store(&f->stop, 1);
        pthread_join(f->thread, NULL);
    }
    prov_fwd_destroy(f_p);
}

int prov_init_db(const char *url, char *err, size_t errlen)
{
    prov_conn_kind kind;
    PGconn *c = open_conn(url, &kind, err, errlen);
    if (!c) {
        return kind == PROV_CONN_CONFIG ? FT_EINVAL : FT_EAGAIN;
    }
    int rc = exec_ok(c, "SET client_min_messages = warning", err, errlen);
    if (rc == FT_OK) {
        rc = exec_ok(c, prov_schema_sql, err, errlen);
    }
    PQfinish(c);
    return rc;
}
