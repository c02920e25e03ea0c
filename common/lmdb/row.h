/* row.h: the byte codec of the LMDB rows both sides keep (hub/store/store.c,
 * hub/engine/index.c, hub/media/mediadb.c, edge/mstore.c).
 *
 * A row written with it never depends on how the compiler lays out a C
 * struct: no padding bytes, no host byte order. Rows of a kind that may
 * change start with a magic byte and a version (edge/mstore.c,
 * hub/media/mediadb.c), so that a reader tells its own rows of every version
 * apart from the raw C structs written before the codec, which it still
 * reads through a frozen copy of their struct.
 *
 * Integers are big-endian; signed ones are biased (v ^ 2^63) so that their
 * bytes sort in numeric order. A string is a u16be length and its bytes, no
 * terminator. A writer never writes past its buffer: the first write that
 * does not fit sets `overflow`, and `len` keeps counting the bytes the row
 * needs. A reader never reads past its row: a short or malformed row sets
 * `bad` and every later read returns zero / empty. */
#ifndef FT_ROW_H
#define FT_ROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    bool overflow;
} row_w_t;

typedef struct {
    const uint8_t *p;
    size_t len, off;
    bool bad;
} row_r_t;

void row_put(row_w_t *w, const void *p, size_t n);
void row_put_u8(row_w_t *w, uint8_t v);
void row_put_u32(row_w_t *w, uint32_t v);
void row_put_u64(row_w_t *w, uint64_t v);
void row_put_i64(row_w_t *w, int64_t v);
/* At most max - 1 bytes of s (max <= 65536), cut on a character boundary
 * (utf8_prefix). */
void row_put_str(row_w_t *w, const char *s, size_t max);

/* The next n bytes of the row, or NULL (and bad) if it is shorter. */
const uint8_t *row_take(row_r_t *r, size_t n);
void row_get(row_r_t *r, void *out, size_t n);
uint8_t row_get_u8(row_r_t *r);
uint32_t row_get_u32(row_r_t *r);
uint64_t row_get_u64(row_r_t *r);
int64_t row_get_i64(row_r_t *r);
/* A string into out[cap]; one of cap bytes or more, or holding a NUL, is bad. */
void row_get_str(row_r_t *r, char *out, size_t cap);

/* The biased big-endian form of row_put_i64, for keys. */
void row_i64_to_be(uint8_t out[8], int64_t v);
int64_t row_i64_from_be(const uint8_t in[8]);

#endif
