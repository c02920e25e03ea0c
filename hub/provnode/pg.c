/* pg.c: see pg.h. */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool pg_is_url(const char *url)
{
    return url && (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0);
}

/* libpq's last message, one line. */
static void conn_msg(PGconn *c, char *err, size_t errlen, const char *what)
{
    const char *m = c ? PQerrorMessage(c) : "out of memory";
    size_t n = strcspn(m, "\n");
    snprintf(err, errlen, "%s: %.*s", what, (int)(n > 300 ? 300 : n), m);
}

int pg_connect(const char *url, PGconn **out, char *err, size_t errlen)
{
    *out = NULL;
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {url, "10", "fieldtrail-hub", NULL};
    /* expand_dbname: the URL's own settings win over the ones after it */
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        char where[256];
        if (c && PQhost(c)) {
            snprintf(where, sizeof where, "cannot connect to PostgreSQL at %s:%s (database %s)",
                     PQhost(c), PQport(c) ? PQport(c) : "", PQdb(c) ? PQdb(c) : "");
        } else {
            snprintf(where, sizeof where, "cannot connect to PostgreSQL (check the store URL)");
        }
        conn_msg(c, err, errlen, where);
        PQfinish(c);
        return FT_EIO;
    }
    PGresult *r = PQexec(c, "SET client_min_messages = warning");
    PQclear(r);
    *out = c;
    return FT_OK;
}

void pg_close(PGconn **c_p)
{
    if (c_p && *c_p) {
        PQfinish(*c_p);
        *c_p = NULL;
    }
}

/* The message of a failed result, one line. */
static void result_msg(PGconn *c, const PGresult *r, char *err, size_t errlen)
{
    const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
    if (!m || !m[0]) {
        m = PQerrorMessage(c);
    }
    size_t n = strcspn(m, "\n");
    snprintf(err, errlen, "PostgreSQL: %.*s", (int)(n > 400 ? 400 : n), m);
}

int pg_exec(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        result_msg(c, r, err, errlen);
        PQclear(r);
        return FT_EIO;
    }
    PQclear(r);
    return FT_OK;
}

int pg_query(PGconn *c, const char *sql, int n, const char *const *params, PGresult **out,
             char *err, size_t errlen)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 1);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
        result_msg(c, r, err, errlen);
        PQclear(r);
        *out = NULL;
        return FT_EIO;
    }
    *out = r;
    return FT_OK;
}

int pg_stream(PGconn *c, const char *sql, int n, const char *const *params, pg_row_fn fn, void *ctx,
              char *err, size_t errlen)
{
    if (!PQsendQueryParams(c, sql, n, NULL, params, NULL, NULL, 1)) {
        result_msg(c, NULL, err, errlen);
        return FT_EIO;
    }
    PQsetSingleRowMode(c);
    int rc = FT_OK;
    PGresult *r;
    while ((r = PQgetResult(c)) != NULL) {
        ExecStatusType s = PQresultStatus(r);
        if (s == PGRES_SINGLE_TUPLE) {
            if (rc == FT_OK) {
                rc = fn(ctx, r);
            }
        } else if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK && rc == FT_OK) {
            result_msg(c, r, err, errlen);
            rc = FT_EIO;
        }
        PQclear(r);
    }
    return rc;
}

int64_t pg_i64(const PGresult *r, int row, int col)
{
    const uint8_t *p = (const uint8_t *)PQgetvalue(r, row, col);
    int len = PQgetlength(r, row, col);
    uint64_t v = 0;
    for (int i = 0; i < len && i < 8; i++) {
        v = v << 8 | p[i];
    }
    if (len == 4) {
        return (int32_t)(uint32_t)v;
    }
    return (int64_t)v;
}

bool pg_bool(const PGresult *r, int row, int col)
{
    return PQgetlength(r, row, col) == 1 && PQgetvalue(r, row, col)[0] != 0;
}

const uint8_t *pg_bytes(const PGresult *r, int row, int col, size_t *len)
{
    *len = (size_t)PQgetlength(r, row, col);
    return (const uint8_t *)PQgetvalue(r, row, col);
}

const char *pg_text(const PGresult *r, int row, int col)
{
    return PQgetvalue(r, row, col);
}

void pg_text_array(pg_buf_t *b, char *const *list, size_t n)
{
    b->n = 0;
    strbuf_add(b, "{", 1);
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const char *s = list[i];
        if (!s || !s[0]) {
            continue;
        }
        strbuf_add(b, first ? "\"" : ",\"", first ? 1 : 2);
        first = false;
        for (; *s; s++) {
            if (*s == '"' || *s == '\\') {
                strbuf_add(b, "\\", 1);
            }
            strbuf_add(b, s, 1);
        }
        strbuf_add(b, "\"", 1);
    }
    strbuf_add(b, "}", 1);
}
