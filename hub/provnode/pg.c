/* pg.c: see pg.h. */
#include "pg.h"

#include <inttypes.h>
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

void pg_i64_text(int64_t v, char out[24])
{
    snprintf(out, 24, "%" PRId64, v);
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

void pg_rows_init(pg_rows_t *rs, size_t width)
{
    pg_rows_free(rs);
    rs->width = width ? width : 1;
}

static void rows_put(pg_rows_t *rs, const void *p, size_t len, int fmt)
{
    if (rs->oom) {
        return;
    }
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? 2 * rs->cap : 256;
        char **v = realloc(rs->v, cap * sizeof *v);
        if (v) {
            rs->v = v;
        }
        int *l = realloc(rs->len, cap * sizeof *l);
        if (l) {
            rs->len = l;
        }
        int *f = realloc(rs->fmt, cap * sizeof *f);
        if (f) {
            rs->fmt = f;
        }
        if (!v || !l || !f) {
            rs->oom = true;
            return;
        }
        rs->cap = cap;
    }
    char *copy = NULL;
    if (p) {
        copy = malloc(len + 1);
        if (!copy) {
            rs->oom = true;
            return;
        }
        memcpy(copy, p, len);
        copy[len] = 0;
    }
    rs->v[rs->n] = copy;
    rs->len[rs->n] = (int)len;
    rs->fmt[rs->n] = fmt;
    rs->n++;
}

void pg_rows_text(pg_rows_t *rs, const char *s)
{
    rows_put(rs, s, s ? strlen(s) : 0, 0);
}

void pg_rows_bin(pg_rows_t *rs, const void *p, size_t len)
{
    rows_put(rs, p ? p : "", len, 1);
}

size_t pg_rows_count(const pg_rows_t *rs)
{
    return rs->width ? rs->n / rs->width : 0;
}

static void rows_empty(pg_rows_t *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->v[i]);
    }
    rs->n = 0;
    rs->oom = false;
}

void pg_rows_sql(pg_buf_t *sql, size_t width, size_t rows, const char *head,
                 const char *const *cast, const char *tail)
{
    sql->n = 0;
    strbuf_add(sql, head, strlen(head));
    for (size_t i = 0; i < rows; i++) {
        strbuf_add(sql, i ? ", (" : "(", i ? 3 : 1);
        for (size_t j = 0; j < width; j++) {
            char ph[32];
            int n = snprintf(ph, sizeof ph, "%s$%zu", j ? ", " : "", i * width + j + 1);
            strbuf_add(sql, ph, (size_t)n);
            strbuf_add(sql, cast[j], strlen(cast[j]));
        }
        strbuf_add(sql, ")", 1);
    }
    strbuf_add(sql, tail, strlen(tail));
}

int pg_rows_exec(PGconn *c, pg_rows_t *rs, const char *head, const char *const *cast,
                 const char *tail, char *err, size_t errlen)
{
    if (rs->oom) {
        rows_empty(rs);
        snprintf(err, errlen, "out of memory");
        return FT_ENOMEM;
    }
    if (rs->n % rs->width != 0) {
        rows_empty(rs);
        snprintf(err, errlen, "a row of the statement is incomplete");
        return FT_EINVAL;
    }
    size_t rows = rs->n / rs->width;
    int rc = FT_OK;
    pg_buf_t sql = {0};
    for (size_t from = 0; rc == FT_OK && from < rows; from += PG_ROWS_MAX) {
        size_t k = rows - from < PG_ROWS_MAX ? rows - from : PG_ROWS_MAX;
        pg_rows_sql(&sql, rs->width, k, head, cast, tail);
        if (sql.oom) {
            snprintf(err, errlen, "out of memory");
            rc = FT_ENOMEM;
            break;
        }
        size_t at = from * rs->width;
        PGresult *r = PQexecParams(c, sql.p, (int)(k * rs->width), NULL,
                                   (const char *const *)rs->v + at, rs->len + at, rs->fmt + at, 1);
        ExecStatusType s = PQresultStatus(r);
        if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
            result_msg(c, r, err, errlen);
            rc = FT_EIO;
        }
        PQclear(r);
    }
    free(sql.p);
    rows_empty(rs);
    return rc;
}

void pg_rows_free(pg_rows_t *rs)
{
    rows_empty(rs);
    free(rs->v);
    free(rs->len);
    free(rs->fmt);
    memset(rs, 0, sizeof *rs);
}
