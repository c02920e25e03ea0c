/* jsontext.c: see jsontext.h. */
#include "jsontext.h"
#include "strbuf.h"
#include "utf8.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* jansson's limit on nesting when it dumps (JSON_PARSER_MAX_DEPTH). */
#define JSONTEXT_MAX_DEPTH 2048

static void add_c(strbuf_t *b, char c)
{
    strbuf_add(b, &c, 1);
}

/* A string as jansson escapes it without JSON_ENSURE_ASCII and
 * JSON_ESCAPE_SLASH: '"', '\\' and control characters, nothing else. A
 * string that is not UTF-8 jansson refuses to dump: false. */
static bool add_string(strbuf_t *b, const char *s, size_t n)
{
    bool ascii = true;
    add_c(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            ascii = false;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        strbuf_add(b, s + run, i - run);
        run = i + 1;
        char seq[8];
        const char *e = seq;
        switch (c) {
        case '"':
            e = "\\\"";
            break;
        case '\\':
            e = "\\\\";
            break;
        case '\b':
            e = "\\b";
            break;
        case '\f':
            e = "\\f";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\r':
            e = "\\r";
            break;
        case '\t':
            e = "\\t";
            break;
        default:
            snprintf(seq, sizeof seq, "\\u%04X", (unsigned)c);
            break;
        }
        strbuf_add(b, e, strlen(e));
    }
    strbuf_add(b, s + run, n - run);
    add_c(b, '"');
    return ascii || utf8_valid(s, n);
}

typedef struct {
    const char *key;
    size_t n;
    json_t *value;
} member_t;

static int by_key(const void *pa, const void *pb)
{
    const member_t *a = pa, *b = pb;
    size_t n = a->n < b->n ? a->n : b->n;
    int c = memcmp(a->key, b->key, n);
    /* strcmp order, as jansson sorts */
    return c ? c : (a->n > b->n) - (a->n < b->n);
}

static bool add_value(strbuf_t *b, const json_t *j, int depth);

static bool add_object(strbuf_t *b, const json_t *j, int depth)
{
    size_t n = json_object_size(j);
    if (n == 0) {
        strbuf_add(b, "{}", 2);
        return true;
    }
    member_t stack[32], *m = n <= 32 ? stack : malloc(n * sizeof *m);
    if (!m) {
        b->oom = true;
        return false;
    }
    size_t k = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)j, key, value)
    {
        m[k].key = key;
        m[k].n = strlen(key);
        m[k].value = value;
        k++;
    }
    /* few keys: insertion sort, no call per comparison */
    if (k <= 32) {
        for (size_t i = 1; i < k; i++) {
            member_t x = m[i];
            size_t p = i;
            while (p > 0 && by_key(&m[p - 1], &x) > 0) {
                m[p] = m[p - 1];
                p--;
            }
            m[p] = x;
        }
    } else {
        qsort(m, k, sizeof *m, by_key);
    }
    bool ok = true;
    add_c(b, '{');
    for (size_t i = 0; ok && i < k; i++) {
        if (i) {
            add_c(b, ',');
        }
        ok = add_string(b, m[i].key, m[i].n);
        add_c(b, ':');
        ok = ok && add_value(b, m[i].value, depth + 1);
    }
    add_c(b, '}');
    if (m != stack) {
        free(m);
    }
    return ok;
}

static bool add_value(strbuf_t *b, const json_t *j, int depth)
{
    if (depth > JSONTEXT_MAX_DEPTH) {
        return false;
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return add_object(b, j, depth);
    case JSON_ARRAY: {
        add_c(b, '[');
        size_t n = json_array_size(j);
        for (size_t i = 0; i < n; i++) {
            if (i) {
                add_c(b, ',');
            }
            if (!add_value(b, json_array_get(j, i), depth + 1)) {
                return false;
            }
        }
        add_c(b, ']');
        return true;
    }
    case JSON_STRING:
        return add_string(b, json_string_value(j), json_string_length(j));
    case JSON_INTEGER: {
        char num[32];
        int n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        strbuf_add(b, num, (size_t)n);
        return true;
    }
    case JSON_REAL: { /* jansson's own form of a real (rare in alerts) */
        char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text) {
            return false;
        }
        strbuf_add(b, text, strlen(text));
        free(text);
        return true;
    }
    case JSON_TRUE:
        strbuf_add(b, "true", 4);
        return true;
    case JSON_FALSE:
        strbuf_add(b, "false", 5);
        return true;
    case JSON_NULL:
        strbuf_add(b, "null", 4);
        return true;
    }
    return false;
}

char *jsontext_sorted(const json_t *j, size_t *len)
{
    strbuf_t b = {0};
    if (!j || (!json_is_object(j) && !json_is_array(j))) {
        return NULL; /* json_dumps without JSON_ENCODE_ANY */
    }
    bool ok = add_value(&b, j, 0);
    if (!ok || b.oom || !b.p) {
        free(b.p);
        return NULL;
    }
    if (len) {
        *len = b.n;
    }
    return b.p;
}
