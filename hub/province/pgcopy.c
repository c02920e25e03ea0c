/* pgcopy.c: COPY text rows (pgcopy.h). */
#include "pgcopy.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void pgcopy_init(pgcopy_t *c)
{
    memset(c, 0, sizeof *c);
}

void pgcopy_free(pgcopy_t *c)
{
    free(c->buf);
    pgcopy_init(c);
}

void pgcopy_reset(pgcopy_t *c)
{
    c->len = 0;
    c->rows = 0;
    c->failed = false;
    c->row_open = false;
}

bool pgcopy_failed(const pgcopy_t *c)
{
    return c->failed;
}

/* Room for n more bytes. */
static bool reserve(pgcopy_t *c, size_t n)
{
    if (c->failed) {
        return false;
    }
    if (c->len + n <= c->cap) {
        return true;
    }
    size_t cap = c->cap ? c->cap : 4096;
    while (cap < c->len + n) {
        if (cap > SIZE_MAX / 2) {
            c->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *b = realloc(c->buf, cap);
    if (!b) {
        c->failed = true;
        return false;
    }
    c->buf = b;
    c->cap = cap;
    return true;
}

static void put(pgcopy_t *c, const char *s, size_t n)
{
    if (reserve(c, n)) {
        memcpy(c->buf + c->len, s, n);
        c->len += n;
    }
}

/* The separator before a field. */
static void field(pgcopy_t *c)
{
    if (c->row_open) {
        put(c, "\t", 1);
    }
    c->row_open = true;
}

void pgcopy_i64(pgcopy_t *c, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%" PRId64, v);
    field(c);
    put(c, b, (size_t)n);
}

void pgcopy_u64(pgcopy_t *c, uint64_t v)
{
    pgcopy_i64(c, (int64_t)v); /* same bits; two's complement (C23, and every target) */
}

void pgcopy_bool(pgcopy_t *c, bool v)
{
    field(c);
    put(c, v ? "t" : "f", 1);
}

void pgcopy_null(pgcopy_t *c)
{
    field(c);
    put(c, "\\N", 2);
}

void pgcopy_text(pgcopy_t *c, const char *s, size_t len)
{
    if (!s) {
        pgcopy_null(c);
        return;
    }
    field(c);
    if (!reserve(c, len * 3)) { /* the longest escape is 3 bytes (\\0) */
        return;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        const char *esc = NULL;
        switch (ch) {
        case '\\':
            esc = "\\\\";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\0':
            esc = "\\\\0";
            break;
        default:
            break;
        }
        if (esc) {
            size_t n = strlen(esc);
            memcpy(c->buf + c->len, esc, n);
            c->len += n;
        } else {
            c->buf[c->len++] = ch;
        }
    }
}

void pgcopy_str(pgcopy_t *c, const char *s)
{
    pgcopy_text(c, s, s ? strlen(s) : 0);
}

void pgcopy_bytea(pgcopy_t *c, const uint8_t *p, size_t len)
{
    static const char hexd[] = "0123456789abcdef";
    field(c);
    if (len > (SIZE_MAX - 3) / 2 || !reserve(c, 3 + 2 * len)) {
        c->failed = true;
        return;
    }
    memcpy(c->buf + c->len, "\\\\x", 3);
    c->len += 3;
    for (size_t i = 0; i < len; i++) {
        c->buf[c->len++] = hexd[p[i] >> 4];
        c->buf[c->len++] = hexd[p[i] & 15];
    }
}

void pgcopy_format_time(int64_t unix_ms, char *out, size_t n)
{
    int64_t s = unix_ms / 1000, ms = unix_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        s -= 1;
    }
    time_t t = (time_t)s;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, n, "1970-01-01 00:00:00.000+00");
        return;
    }
    snprintf(out, n, "%04d-%02d-%02d %02d:%02d:%02d.%03d+00", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
}

void pgcopy_time_ms(pgcopy_t *c, int64_t unix_ms)
{
    char b[48];
    pgcopy_format_time(unix_ms, b, sizeof b);
    field(c);
    put(c, b, strlen(b));
}

void pgcopy_end_row(pgcopy_t *c)
{
    put(c, "\n", 1);
    c->row_open = false;
    if (!c->failed) {
        c->rows++;
    }
}
