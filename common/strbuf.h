/* strbuf.h: a growable NUL-terminated text buffer for building requests and
 * query parameters (SigV4 canonical requests, PostgreSQL array literals).
 * A failed allocation sets oom and makes every later add a no-op, so a
 * caller checks once at the end. Start from {0}; free(p) when done. */
#ifndef FT_STRBUF_H
#define FT_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *p; /* the text, NUL-terminated (NULL until something is added) */
    size_t n, cap;
    bool oom; /* an allocation failed: the text is incomplete */
} strbuf_t;

/* Appends n bytes of s. */
void strbuf_add(strbuf_t *b, const char *s, size_t n);

#endif
