/* row.c: the byte codec of LMDB rows (see row.h). */
#include "row.h"
#include "utf8.h"
#include "lmdbx.h"

#include <string.h>

void row_put(row_w_t *w, const void *p, size_t n)
{
    if (!w->overflow && n <= w->cap - w->len) {
        memcpy(w->buf + w->len, p, n);
    } else {
        w->overflow = true;
    }
    w->len += n;
}

void row_put_u8(row_w_t *w, uint8_t v)
{
    row_put(w, &v, 1);
}

void row_put_u32(row_w_t *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    row_put(w, b, 4);
}

void row_put_u64(row_w_t *w, uint64_t v)
{
    uint8_t b[8];
    lmdbx_put_u64(b, v);
    row_put(w, b, 8);
}

void row_i64_to_be(uint8_t out[8], int64_t v)
{
    lmdbx_put_u64(out, (uint64_t)v ^ 0x8000000000000000ULL);
}

int64_t row_i64_from_be(const uint8_t in[8])
{
    return (int64_t)(lmdbx_get_u64(in) ^ 0x8000000000000000ULL);
}

void row_put_i64(row_w_t *w, int64_t v)
{
    uint8_t b[8];
    row_i64_to_be(b, v);
    row_put(w, b, 8);
}

void row_put_str(row_w_t *w, const char *s, size_t max)
{
    size_t n = utf8_prefix(s, strnlen(s, max), max - 1); /* a cut never inside a character */
    uint8_t b[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    row_put(w, b, 2);
    row_put(w, s, n);
}

const uint8_t *row_take(row_r_t *r, size_t n)
{
    if (r->bad || r->len - r->off < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

void row_get(row_r_t *r, void *out, size_t n)
{
    const uint8_t *p = row_take(r, n);
    if (p) {
        memcpy(out, p, n);
    } else {
        memset(out, 0, n);
    }
}

uint8_t row_get_u8(row_r_t *r)
{
    const uint8_t *p = row_take(r, 1);
    return p ? p[0] : 0;
}

uint32_t row_get_u32(row_r_t *r)
{
    const uint8_t *p = row_take(r, 4);
    return p ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3] : 0;
}

uint64_t row_get_u64(row_r_t *r)
{
    const uint8_t *p = row_take(r, 8);
    return p ? lmdbx_get_u64(p) : 0;
}

int64_t row_get_i64(row_r_t *r)
{
    const uint8_t *p = row_take(r, 8);
    return p ? row_i64_from_be(p) : 0;
}

void row_get_str(row_r_t *r, char *out, size_t cap)
{
    out[0] = '\0';
    const uint8_t *h = row_take(r, 2);
    if (!h) {
        return;
    }
    size_t n = ((size_t)h[0] << 8) | h[1];
    const uint8_t *p = row_take(r, n);
    if (!p || n >= cap || memchr(p, 0, n)) {
        r->bad = true;
        return;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}
