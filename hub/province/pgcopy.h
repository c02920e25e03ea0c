/* pgcopy.h: rows in PostgreSQL's COPY text format, built in memory (pure:
 * no libpq). The forwarder (forward.c) streams a batch built here into a
 * staging table with `COPY ... FROM STDIN` (docs/province.md "How a batch
 * travels").
 *
 * Format (COPY TEXT, the default): one row per line, fields separated by a
 * tab, `\N` for NULL; in text fields a backslash, tab, newline and carriage
 * return are escaped (\\, \t, \n, \r). bytea fields are written in hex input
 * form (`\x0a1b...`), whose backslash the COPY escaping doubles (`\\x0a1b`).
 * Timestamps are UTC with milliseconds ("2026-12-07 10:00:00.123+00").
 *
 * A pgcopy_t grows as needed; after an allocation failure every later call
 * does nothing and pgcopy_failed says so (the caller checks once per batch).
 */
#ifndef FT_PGCOPY_H
#define FT_PGCOPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *buf;
    size_t len, cap;
    size_t rows;   /* rows ended (pgcopy_end_row) */
    bool failed;   /* an allocation failed */
    bool row_open; /* at least one field written in the current row */
} pgcopy_t;

void pgcopy_init(pgcopy_t *c);
/* Frees the buffer; the struct is initialised again. */
void pgcopy_free(pgcopy_t *c);
/* Empties the buffer (keeps its memory). */
void pgcopy_reset(pgcopy_t *c);
bool pgcopy_failed(const pgcopy_t *c);

/* Fields of the current row, in column order. */
void pgcopy_i64(pgcopy_t *c, int64_t v);
/* A u64 of the log as the bigint with the same 64 bits (docs/province.md). */
void pgcopy_u64(pgcopy_t *c, uint64_t v);
void pgcopy_bool(pgcopy_t *c, bool v);
/* Text (len bytes; NULL data writes NULL). A NUL byte cannot go into a
 * PostgreSQL text value: it is written as the two characters \0 escaped
 * (`\\0`), so nothing is silently cut. */
void pgcopy_text(pgcopy_t *c, const char *s, size_t len);
void pgcopy_str(pgcopy_t *c, const char *s); /* NULL -> \N */
void pgcopy_bytea(pgcopy_t *c, const uint8_t *p, size_t len);
/* Unix ms as a timestamptz (UTC, ms). */
void pgcopy_time_ms(pgcopy_t *c, int64_t unix_ms);
void pgcopy_null(pgcopy_t *c);
/* Ends the row (newline). */
void pgcopy_end_row(pgcopy_t *c);

/* Unix ms as "YYYY-MM-DD HH:MM:SS.mmm+00" into out (at least 40 bytes);
 * years beyond 9999 are written as they are (PostgreSQL accepts them). */
void pgcopy_format_time(int64_t unix_ms, char *out, size_t n);

#endif
