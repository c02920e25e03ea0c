/* provweb.c: see provweb.h. */
#include "provweb.h"
#include "logging.h"
#include "ratelimit.h"
#include "web.h"

#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL_IDLE_MAX 4 /* connections kept between requests */
#define WARN_PER_MIN 10 /* the dashboard's database warnings logged a minute */

struct provweb_t {
    char *url;
    char *node;
    pthread_mutex_t mu; /* guards idle, n_idle */
    PGconn *idle[POOL_IDLE_MAX];
    size_t n_idle;
    pthread_mutex_t warn_mu; /* guards warn_rl */
    ratelimit_t warn_rl;     /* a database away fails every request: a bounded log */
};

/* A warning about the database, at most WARN_PER_MIN a minute (each request
 * refused meanwhile says why in its 503); the first after a quiet spell
 * counts the ones held back. */
static void pw_warn(provweb_t *p, const char *fmt, ...)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t held = 0;
    pthread_mutex_lock(&p->warn_mu);
    bool ok = ratelimit_allow(&p->warn_rl, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, &held);
    pthread_mutex_unlock(&p->warn_mu);
    if (!ok) {
        return;
    }
    char msg[PG_ERR_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (held) {
        log_warn("dashboard: %s (and %llu more such lines not logged)", msg,
                 (unsigned long long)held);
    } else {
        log_warn("dashboard: %s", msg);
    }
}

/* ---- units ---- */

int provweb_units_parse(const char *text, char *out, size_t outlen, char *err, size_t errlen)
{
    size_t o = 0;
    const char *p = text ? text : "";
    out[0] = 0;
    for (;;) {
        size_t n = strcspn(p, ",");
        const char *b = p, *e = p + n;
        while (b < e && (*b == ' ' || *b == '\t')) {
            b++;
        }
        while (e > b && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }
        size_t len = (size_t)(e - b);
        if (len == 0) {
            snprintf(err, errlen,
                     "a unit is empty in \"%s\": give units separated by commas, "
                     "e.g. --unit \"Unit A,Unit B\"",
                     text ? text : "");
            return FT_EINVAL;
        }
        if (len > PROVWEB_UNIT_MAX) {
            snprintf(err, errlen, "a unit name is longer than %d bytes", PROVWEB_UNIT_MAX);
            return FT_EINVAL;
        }
        for (const char *c = b; c < e; c++) {
            if ((unsigned char)*c < 0x20 || *c == 0x7f) {
                snprintf(err, errlen, "a unit name holds a control character");
                return FT_EINVAL;
            }
        }
        if (o + (o ? 1 : 0) + len + 1 > outlen) {
            snprintf(err, errlen, "too many units for one user (at most %zu bytes in all)",
                     outlen - 1);
            return FT_EINVAL;
        }
        if (o) {
            out[o++] = '\n';
        }
        memcpy(out + o, b, len);
        o += len;
        out[o] = 0;
        if (!p[n]) {
            return FT_OK;
        }
        p += n + 1;
    }
}

bool provweb_unit_allowed(const session_t *s, const char *unit)
{
    if (s->all_units) {
        return true;
    }
    if (!unit || !unit[0]) {
        return false;
    }
    size_t ul = strlen(unit);
    const char *p = s->units;
    while (*p) {
        size_t n = strcspn(p, "\n");
        if (n == ul && memcmp(p, unit, n) == 0) {
            return true;
        }
        p += n + (p[n] == '\n');
    }
    return false;
}

const char *provweb_units_param(const session_t *s, pg_buf_t *b)
{
    if (s->all_units) {
        return NULL;
    }
    char copy[SESSION_UNITS_MAX];
    char *list[SESSION_UNITS_MAX / 2];
    size_t n = 0;
    snprintf(copy, sizeof copy, "%s", s->units);
    for (char *p = copy; *p && n < sizeof list / sizeof list[0];) {
        list[n++] = p;
        size_t k = strcspn(p, "\n");
        if (!p[k]) {
            break;
        }
        p[k] = 0;
        p += k + 1;
    }
    pg_text_array(b, list, n);
    return b->p && !b->oom ? b->p : "{}";
}

/* ---- the pool ---- */

static int pool_get(provweb_t *p, PGconn **c, char *err, size_t errlen)
{
    pthread_mutex_lock(&p->mu);
    *c = p->n_idle ? p->idle[--p->n_idle] : NULL;
    pthread_mutex_unlock(&p->mu);
    if (*c) {
        return FT_OK;
    }
    return pg_connect(p->url, c, err, errlen);
}

static void pool_put(provweb_t *p, PGconn *c)
{
    if (!c) {
        return;
    }
    if (PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE) {
        pg_close(&c);
        return;
    }
    pthread_mutex_lock(&p->mu);
    if (p->n_idle < POOL_IDLE_MAX) {
        p->idle[p->n_idle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    pg_close(&c);
}

int provweb_query(provweb_t *p, const char *sql, int n, const char *const *params, PGresult **out,
                  char *err, size_t errlen)
{
    *out = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        PGconn *c = NULL;
        int rc = pool_get(p, &c, err, errlen);
        if (rc != FT_OK) {
            return rc;
        }
        rc = pg_query(c, sql, n, params, out, err, errlen);
        bool broken = PQstatus(c) != CONNECTION_OK;
        pool_put(p, c);
        if (rc == FT_OK || !broken) {
            return rc;
        }
        /* The connection broke (the server restarted, or went): once more
         * on a new one, which says so if the server is still away. */
    }
    return FT_EIO;
}

int provweb_open(const char *url, const char *node, provweb_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium cannot start");
        return FT_ECRYPTO;
    }
    provweb_t *p = calloc(1, sizeof *p);
    if (!p || !(p->url = strdup(url)) || !(p->node = strdup(node ? node : "node"))) {
        if (p) {
            free(p->url);
        }
        free(p);
        snprintf(err, errlen, "out of memory");
        return FT_ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->warn_mu, NULL);
    p->warn_rl = ratelimit_make(WARN_PER_MIN, 60 * 1000);
    PGresult *r = NULL;
    int rc = provweb_query(p,
                           "SELECT to_regclass('ft.meta') IS NOT NULL, (SELECT value FROM ft.meta "
                           "WHERE name = 'provweb_schema_version' AND to_regclass('ft.meta') IS "
                           "NOT NULL)",
                           0, NULL, &r, err, errlen);
    if (rc == FT_OK && !pg_bool(r, 0, 0)) {
        snprintf(err, errlen,
                 "the database holds no provincial tables (schema ft): is this the province's "
                 "database, and has a county forwarded to it? (docs/province.md)");
        rc = FT_EIO;
    }
    bool have = rc == FT_OK && !PQgetisnull(r, 0, 1) &&
                strcmp(pg_text(r, 0, 1), PROVWEB_SCHEMA_VERSION) == 0;
    PQclear(r);
    if (rc == FT_OK && !have) {
        PGconn *c = NULL;
        rc = pool_get(p, &c, err, errlen);
        if (rc == FT_OK) {
            rc = pg_exec(c, provweb_schema_sql, err, errlen);
            if (rc != FT_OK) {
                char why[PG_ERR_MAX];
                snprintf(why, sizeof why, "%s", err);
                snprintf(err, errlen, "cannot create the dashboard's tables: %s", why);
                PGresult *rb = PQexec(c, "ROLLBACK");
                PQclear(rb);
            }
        }
        pool_put(p, c);
    }
    if (rc != FT_OK) {
        provweb_close(&p);
        return rc;
    }
    *out = p;
    return FT_OK;
}

void provweb_close(provweb_t **p_p)
{
    if (!p_p || !*p_p) {
        return;
    }
    provweb_t *p = *p_p;
    for (size_t i = 0; i < p->n_idle; i++) {
        pg_close(&p->idle[i]);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->warn_mu);
    free(p->url);
    free(p->node);
    free(p);
    *p_p = NULL;
}

/* ---- users ---- */

/* The '\\x' hex text of a token's hash (a bytea parameter). */
static void token_param(const char *token, char out[2 + 64 + 1])
{
    uint8_t key[32];
    users_token_key(token, key);
    out[0] = '\\';
    out[1] = 'x';
    sodium_bin2hex(out + 2, 65, key, sizeof key);
}

/* The units of a user as a text[] literal. */
static const char *units_literal(bool all_units, const char *units, pg_buf_t *b)
{
    session_t s = {.all_units = false};
    if (all_units) {
        pg_text_array(b, NULL, 0);
        return b->p && !b->oom ? b->p : "{}";
    }
    snprintf(s.units, sizeof s.units, "%s", units ? units : "");
    return provweb_units_param(&s, b);
}

int provweb_user_add(provweb_t *p, const char *name, user_role role, bool all_units,
                     const char *units, const char *password, char *err, size_t errlen)
{
    if (!user_name_valid(name) || role == ROLE_NONE || (!all_units && (!units || !units[0]))) {
        snprintf(err, errlen, "a user needs a valid name, a role and units (or all units)");
        return FT_EINVAL;
    }
    char hash[USER_PWHASH_SIZE];
    int rc = users_password_hash(password, hash);
    if (rc != FT_OK) {
        snprintf(err, errlen,
                 rc == FT_EINVAL ? "a password needs %d to %d characters"
                                 : "cannot hash the password (out of memory)",
                 USER_PASSWORD_MIN, USER_PASSWORD_MAX);
        return rc;
    }
    pg_buf_t b = {0};
    const char *params[] = {name, user_role_name(role), all_units ? "true" : "false",
                            units_literal(all_units, units, &b), hash};
    PGresult *r = NULL;
    rc = provweb_query(p,
                       "INSERT INTO ft.web_users (name, role, all_units, units, pwhash) VALUES "
                       "($1, $2, $3::boolean, $4::text[], $5) ON CONFLICT (name) DO NOTHING",
                       5, params, &r, err, errlen);
    sodium_memzero(hash, sizeof hash);
    free(b.p);
    if (rc == FT_OK && strcmp(PQcmdTuples(r), "0") == 0) {
        snprintf(err, errlen, "user %s exists", name);
        rc = FT_EEXIST;
    }
    PQclear(r);
    return rc;
}

int provweb_user_remove(provweb_t *p, const char *name, char *err, size_t errlen)
{
    const char *params[] = {name};
    PGresult *r = NULL;
    int rc =
        provweb_query(p, "DELETE FROM ft.web_users WHERE name = $1", 1, params, &r, err, errlen);
    if (rc == FT_OK && strcmp(PQcmdTuples(r), "0") == 0) {
        snprintf(err, errlen, "no user %s", name);
        rc = FT_ENOTFOUND;
    }
    PQclear(r);
    return rc;
}

int provweb_user_passwd(provweb_t *p, const char *name, const char *password, char *err,
                        size_t errlen)
{
    char hash[USER_PWHASH_SIZE];
    int rc = users_password_hash(password, hash);
    if (rc != FT_OK) {
        snprintf(err, errlen, "a password needs %d to %d characters", USER_PASSWORD_MIN,
                 USER_PASSWORD_MAX);
        return rc;
    }
    const char *params[] = {name, hash};
    PGresult *r = NULL;
    rc = provweb_query(p,
                       "WITH u AS (UPDATE ft.web_users SET pwhash = $2 WHERE name = $1 "
                       "RETURNING name), s AS (DELETE FROM ft.web_sessions WHERE name IN "
                       "(SELECT name FROM u)) SELECT count(*) FROM u",
                       2, params, &r, err, errlen);
    sodium_memzero(hash, sizeof hash);
    if (rc == FT_OK && pg_i64(r, 0, 0) == 0) {
        snprintf(err, errlen, "no user %s", name);
        rc = FT_ENOTFOUND;
    }
    PQclear(r);
    return rc;
}

int provweb_user_list(provweb_t *p, provweb_user_fn fn, void *ctx, char *err, size_t errlen)
{
    PGresult *r = NULL;
    int rc = provweb_query(p,
                           "SELECT name, role, all_units, array_to_string(units, E'\\n'), "
                           "(extract(epoch FROM created_at) * 1000)::bigint, disabled FROM "
                           "ft.web_users ORDER BY name",
                           0, NULL, &r, err, errlen);
    for (int i = 0; rc == FT_OK && i < PQntuples(r); i++) {
        provweb_user_t u = {.role = user_role_parse(pg_text(r, i, 1)),
                            .all_units = pg_bool(r, i, 2),
                            .units = pg_text(r, i, 3),
                            .created_ms = pg_i64(r, i, 4),
                            .disabled = pg_bool(r, i, 5)};
        snprintf(u.name, sizeof u.name, "%s", pg_text(r, i, 0));
        fn(ctx, &u);
    }
    PQclear(r);
    return rc;
}

int provweb_audit(provweb_t *p, const char *who, const char *action, const char *target,
                  const char *detail, char *err, size_t errlen)
{
    const char *params[] = {p->node, who ? who : "-", action, target ? target : "",
                            detail ? detail : ""};
    PGresult *r = NULL;
    int rc = provweb_query(p,
                           "INSERT INTO ft.web_audit (node, who, action, target, detail) VALUES "
                           "($1, $2, $3, $4, $5)",
                           5, params, &r, err, errlen);
    PQclear(r);
    return rc;
}

/* ---- the backend ---- */

static int be_open(void *ctx, web_shared_t *sh)
{
    sh->node = ctx;
    return FT_OK;
}

static void be_close(void *ctx, web_shared_t *sh)
{
    (void)sh;
    provweb_t *p = ctx;
    provweb_close(&p);
}

static int be_password_check(void *ctx, const char *name, const char *password, user_t *out)
{
    char err[PG_ERR_MAX];
    const char *params[] = {name};
    PGresult *r = NULL;
    int rc = provweb_query(ctx,
                           "SELECT role, pwhash, disabled, (extract(epoch FROM created_at) * "
                           "1000)::bigint FROM ft.web_users WHERE name = $1",
                           1, params, &r, err, sizeof err);
    if (rc != FT_OK) {
        pw_warn(ctx, "cannot check a password: %s", err);
        return FT_EIO;
    }
    bool known = PQntuples(r) == 1;
    bool match = users_password_verify(known ? pg_text(r, 0, 1) : NULL, password);
    if (!known || !match || pg_bool(r, 0, 2) || user_role_parse(pg_text(r, 0, 0)) == ROLE_NONE) {
        PQclear(r);
        return FT_EKEY;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", name);
    out->role = user_role_parse(pg_text(r, 0, 0));
    out->created_ms = pg_i64(r, 0, 3);
    PQclear(r);
    return FT_OK;
}

static int be_session_new(void *ctx, const char *user, int64_t now_ms, int64_t ttl_ms,
                          char token[SESSION_TOKEN_SIZE])
{
    char csrf[SESSION_TOKEN_SIZE], key[67], now[24], exp[24], err[PG_ERR_MAX];
    users_token_new(token);
    users_token_new(csrf);
    token_param(token, key);
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(exp, sizeof exp, "%lld", (long long)(now_ms + ttl_ms));
    const char *params[] = {key, user, csrf, now, exp};
    PGresult *r = NULL;
    int rc = provweb_query(ctx,
                           "INSERT INTO ft.web_sessions (token_hash, name, csrf, created_ms, "
                           "expires_ms) VALUES ($1::bytea, $2, $3, $4::bigint, $5::bigint)",
                           5, params, &r, err, sizeof err);
    PQclear(r);
    sodium_memzero(csrf, sizeof csrf);
    if (rc != FT_OK) {
        pw_warn(ctx, "cannot start a session: %s", err);
    }
    return rc;
}

static int be_session_check(void *ctx, const char *token, int64_t now_ms, int64_t ttl_ms,
                            session_t *out)
{
    if (!token || strlen(token) != SESSION_TOKEN_SIZE - 1) {
        return FT_ENOTFOUND;
    }
    char key[67], now[24], err[PG_ERR_MAX];
    token_param(token, key);
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    const char *params[] = {key, now};
    PGresult *r = NULL;
    int rc = provweb_query(ctx,
                           "SELECT s.name, s.csrf, s.expires_ms, u.role, u.all_units, "
                           "array_to_string(u.units, E'\\n') FROM ft.web_sessions s JOIN "
                           "ft.web_users u USING (name) WHERE s.token_hash = $1::bytea AND "
                           "s.expires_ms > $2::bigint AND NOT u.disabled",
                           2, params, &r, err, sizeof err);
    if (rc != FT_OK) {
        pw_warn(ctx, "cannot check a session: %s", err);
        return FT_EIO;
    }
    if (PQntuples(r) != 1 || user_role_parse(pg_text(r, 0, 3)) == ROLE_NONE ||
        strlen(pg_text(r, 0, 5)) >= sizeof out->units) {
        PQclear(r);
        return FT_ENOTFOUND;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->user, sizeof out->user, "%s", pg_text(r, 0, 0));
    snprintf(out->csrf, sizeof out->csrf, "%s", pg_text(r, 0, 1));
    out->expires_ms = pg_i64(r, 0, 2);
    out->role = user_role_parse(pg_text(r, 0, 3));
    out->all_units = pg_bool(r, 0, 4);
    snprintf(out->units, sizeof out->units, "%s", pg_text(r, 0, 5));
    PQclear(r);
    if (now_ms + ttl_ms - out->expires_ms >= SESSION_SLIDE_MS) {
        char exp[24];
        snprintf(exp, sizeof exp, "%lld", (long long)(now_ms + ttl_ms));
        const char *up[] = {key, exp};
        if (provweb_query(ctx,
                          "UPDATE ft.web_sessions SET expires_ms = $2::bigint WHERE token_hash "
                          "= $1::bytea",
                          2, up, &r, err, sizeof err) == FT_OK) {
            out->expires_ms = now_ms + ttl_ms;
        } else {
            pw_warn(ctx, "cannot extend a session: %s", err);
        }
        PQclear(r);
    }
    return FT_OK;
}

static int be_session_end(void *ctx, const char *token)
{
    if (!token || strlen(token) != SESSION_TOKEN_SIZE - 1) {
        return FT_OK;
    }
    char key[67], err[PG_ERR_MAX];
    token_param(token, key);
    const char *params[] = {key};
    PGresult *r = NULL;
    int rc = provweb_query(ctx, "DELETE FROM ft.web_sessions WHERE token_hash = $1::bytea", 1,
                           params, &r, err, sizeof err);
    PQclear(r);
    if (rc != FT_OK) {
        pw_warn(ctx, "cannot end a session: %s", err);
    }
    return rc;
}

static int be_session_sweep(void *ctx, int64_t now_ms, size_t *n)
{
    char now[24], err[PG_ERR_MAX];
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    const char *params[] = {now};
    PGresult *r = NULL;
    int rc = provweb_query(ctx, "DELETE FROM ft.web_sessions WHERE expires_ms <= $1::bigint", 1,
                           params, &r, err, sizeof err);
    *n = rc == FT_OK ? (size_t)strtoull(PQcmdTuples(r), NULL, 10) : 0;
    PQclear(r);
    return rc;
}

static int be_audit(void *ctx, const char *user, const char *action, const char *target,
                    const char *detail)
{
    char err[PG_ERR_MAX];
    int rc = provweb_audit(ctx, user, action, target, detail, err, sizeof err);
    if (rc != FT_OK) {
        pw_warn(ctx, "%s", err);
    }
    return rc;
}

void provweb_backend(provweb_t *p, web_backend_t *be)
{
    memset(be, 0, sizeof *be);
    be->name = "provincial node";
    be->index_page = "province.html";
    be->ctx = p;
    be->open = be_open;
    be->close = be_close;
    be->password_check = be_password_check;
    be->session_new = be_session_new;
    be->session_check = be_session_check;
    be->session_end = be_session_end;
    be->session_sweep = be_session_sweep;
    be->audit = be_audit;
    be->unavailable = "the provincial database cannot be reached right now; the dashboard "
                      "works again as soon as it is back (try again shortly)";
}
