/* pg.h: the provincial node's connection to PostgreSQL (libpq) and the few
 * helpers its queries share: binary results (bytea as the exact bytes,
 * bigint as 8 big-endian bytes), rows streamed one at a time (single-row
 * mode) so a province's entries are never all in memory, and messages in
 * operator words that never show the password of the URL.
 *
 * The store URL is libpq's: postgresql://USER:PASSWORD@HOST:PORT/DB
 * (docs/province.md "Config"); a password may also come from PGPASSWORD or
 * ~/.pgpass as libpq reads them.
 */
#ifndef FT_PROV_PG_H
#define FT_PROV_PG_H

#include "error.h"

#include "strbuf.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PG_ERR_MAX 512

/* True if url names a PostgreSQL store (postgresql:// or postgres://). */
bool pg_is_url(const char *url);

/* Connects (10 s timeout unless the URL says otherwise). FT_OK, or FT_EIO
 * with err saying where it tried and why (without the password). */
int pg_connect(const char *url, PGconn **out, char *err, size_t errlen) FT_MUST_CHECK;
void pg_close(PGconn **c_p);

/* v as decimal text, for a text parameter ("::bigint" in the SQL). */
void pg_i64_text(int64_t v, char out[24]);

/* Runs SQL (no parameters, no rows wanted). FT_OK or FT_EIO with err. */
int pg_exec(PGconn *c, const char *sql, char *err, size_t errlen) FT_MUST_CHECK;
/* Runs a query with text parameters, binary results, all rows at once.
 * FT_OK (*out: PQclear it) or FT_EIO with err. */
int pg_query(PGconn *c, const char *sql, int n, const char *const *params, PGresult **out,
             char *err, size_t errlen) FT_MUST_CHECK;

/* Streams a query's rows (binary) to fn one at a time; non-zero from fn
 * stops (the rest of the rows are read and dropped) and is returned. */
typedef int (*pg_row_fn)(void *ctx, const PGresult *r);
int pg_stream(PGconn *c, const char *sql, int n, const char *const *params, pg_row_fn fn, void *ctx,
              char *err, size_t errlen);

/* A growable text buffer (common/strbuf.h). */
typedef strbuf_t pg_buf_t;
/* b = the text[] literal of list[0..n) for a text parameter ("{}" when
 * empty): NULL and "" items left out, each item quoted with '"' and '\'
 * escaped, so any officer's or recorder's name passes unchanged. */
void pg_text_array(pg_buf_t *b, char *const *list, size_t n);

/* The parameters of a multi-row statement (INSERT ... VALUES (...), (...),
 * UPDATE ... FROM (VALUES ...)): so that a batch of rows costs one round
 * trip, not one each. Each value is copied; a NULL text value is SQL NULL.
 * Start from {0}, give the row width with pg_rows_init; a failed allocation
 * sets oom (pg_rows_exec then says "out of memory"). */
typedef struct {
    char **v;
    int *len;
    int *fmt; /* 0 text, 1 binary */
    size_t n, cap;
    size_t width; /* parameters a row */
    bool oom;
} pg_rows_t;

void pg_rows_init(pg_rows_t *rs, size_t width);
void pg_rows_text(pg_rows_t *rs, const char *s);
void pg_rows_bin(pg_rows_t *rs, const void *p, size_t len);
size_t pg_rows_count(const pg_rows_t *rs);
/* Runs head, then the rows as "($1::cast0, $2::cast1, ...), (...)" (cast[i]
 * is appended to the row's i-th placeholder, "" for none), then tail; in
 * statements of at most PG_ROWS_MAX rows when there are more. No rows: nothing
 * runs. The rows are emptied either way. FT_OK, FT_ENOMEM, FT_EINVAL (the last
 * row is incomplete) or FT_EIO with err. */
#define PG_ROWS_MAX 1000
int pg_rows_exec(PGconn *c, pg_rows_t *rs, const char *head, const char *const *cast,
                 const char *tail, char *err, size_t errlen) FT_MUST_CHECK;
void pg_rows_free(pg_rows_t *rs);
/* sql = the statement pg_rows_exec runs for rows rows of width parameters. */
void pg_rows_sql(pg_buf_t *sql, size_t width, size_t rows, const char *head,
                 const char *const *cast, const char *tail);

/* Binary field readers (row 0 of a single-row result, or row i). */
int64_t pg_i64(const PGresult *r, int row, int col);
bool pg_bool(const PGresult *r, int row, int col);
const uint8_t *pg_bytes(const PGresult *r, int row, int col, size_t *len);
/* Text of a text column (NUL-terminated by libpq). */
const char *pg_text(const PGresult *r, int row, int col);

#endif
