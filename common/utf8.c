/* utf8.c: text never cut inside a character, shown escaped when it is not
 * valid UTF-8 (utf8.h). */
#include "utf8.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* What a lead byte announces: the character's length (0: not a lead byte)
 * and the range its second byte must be in (RFC 3629 table 3-7: E0 and F0
 * exclude overlong forms, ED surrogates, F4 code points above U+10FFFF). */
static size_t lead_info(unsigned char c, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (c == 0xE0) {
            *lo = 0xA0;
        } else if (c == 0xED) {
            *hi = 0x9F;
        }
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (c == 0xF0) {
            *lo = 0x90;
        } else if (c == 0xF4) {
            *hi = 0x8F;
        }
        return 4;
    }
    return 0; /* 80..C1 (continuation, overlong C0/C1), F5..FF */
}

/* How many bytes of p[0..n) (n >= 1) fit the character p[0] announces,
 * at most its length; *need gets that length (0: not a lead byte). */
static size_t fitting(const unsigned char *p, size_t n, size_t *need)
{
    unsigned char lo, hi;
    *need = lead_info(p[0], &lo, &hi);
    if (*need == 0) {
        return 0;
    }
    size_t k = 1;
    while (k < *need && k < n) {
        bool ok = k == 1 ? p[1] >= lo && p[1] <= hi : is_cont(p[k]);
        if (!ok) {
            break;
        }
        k++;
    }
    return k;
}

size_t utf8_char_len(const char *s, size_t n)
{
    if (n == 0) {
        return 0;
    }
    size_t need;
    size_t k = fitting((const unsigned char *)s, n, &need);
    return need > 0 && k == need ? need : 0;
}

bool utf8_valid(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        size_t l = utf8_char_len(s + i, n - i);
        if (l == 0) {
            return false;
        }
        i += l;
    }
    return true;
}

bool utf8_valid_str(const char *s)
{
    return !s || utf8_valid(s, strlen(s));
}

/* k, moved back before every incomplete character p[0..k) ends with: the
 * last byte before k that is not a continuation byte starts the character k
 * may cut (a character is at most 4 bytes); k goes before it when p[j..k) is
 * a proper beginning of a valid character, and the end is looked at again
 * (it may now be a lone lead byte the text held before). */
static size_t back_off(const unsigned char *p, size_t k)
{
    bool cut = true;
    while (cut) {
        cut = false;
        for (size_t back = 1; back <= 3 && back <= k; back++) {
            size_t j = k - back;
            if (is_cont(p[j])) {
                continue;
            }
            size_t need;
            size_t fit = fitting(p + j, k - j, &need);
            if (need > 1 && fit == k - j && fit < need) {
                k = j;
                cut = true;
            }
            break;
        }
    }
    return k;
}

size_t utf8_prefix(const char *s, size_t n, size_t max)
{
    if (n <= max) {
        return n;
    }
    return back_off((const unsigned char *)s, max);
}

bool utf8_copyn(char *dst, size_t cap, const char *src, size_t n)
{
    if (cap == 0) {
        return false;
    }
    if (!src) {
        src = "";
        n = 0;
    }
    const char *nul = memchr(src, '\0', n);
    if (nul) {
        n = (size_t)(nul - src);
    }
    size_t k = utf8_prefix(src, n, cap - 1);
    memcpy(dst, src, k);
    dst[k] = '\0';
    return k == n;
}

bool utf8_copy(char *dst, size_t cap, const char *src)
{
    return utf8_copyn(dst, cap, src, src ? strlen(src) : 0);
}

int utf8_fit(const char *s, size_t max)
{
    if (!s) {
        return 0;
    }
    if (max > INT_MAX) {
        max = INT_MAX;
    }
    return (int)utf8_prefix(s, strnlen(s, max + 1), max);
}

bool utf8_trim(char *s)
{
    size_t n = strlen(s);
    size_t k = back_off((const unsigned char *)s, n);
    s[k] = '\0';
    return k != n;
}

size_t utf8_escaped_len(const char *s, size_t n)
{
    size_t out = 0, i = 0;
    while (i < n) {
        size_t l = utf8_char_len(s + i, n - i);
        if (l == 0) {
            out += UTF8_ESCAPE_BYTES;
            i++;
        } else {
            out += l;
            i += l;
        }
    }
    return out;
}

/* Writes the escaped form of s[0..n) into dst, at most cap - 1 bytes and a
 * NUL, whole units only; true if all of it fitted. */
static bool escape_into(char *dst, size_t cap, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0, i = 0;
    bool whole = true;
    while (i < n) {
        size_t l = utf8_char_len(s + i, n - i);
        size_t w = l ? l : UTF8_ESCAPE_BYTES;
        if (o + w > cap - 1) {
            whole = false;
            break;
        }
        if (l) {
            memcpy(dst + o, s + i, l);
            i += l;
        } else {
            unsigned char c = (unsigned char)s[i++];
            dst[o] = '\\';
            dst[o + 1] = 'x';
            dst[o + 2] = hex[c >> 4];
            dst[o + 3] = hex[c & 15];
        }
        o += w;
    }
    dst[o] = '\0';
    return whole;
}

/* True if the valid character s[0..l) is a control character: C0, DEL or
 * C1 (U+0080..U+009F, which some terminals take as escape sequences). */
static bool is_control(const char *s, size_t l)
{
    unsigned char c = (unsigned char)s[0];
    if (l == 1) {
        return c < 0x20 || c == 0x7F;
    }
    return l == 2 && c == 0xC2 && (unsigned char)s[1] < 0xA0;
}

bool utf8_clean_to(char *dst, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    if (cap == 0) {
        return false;
    }
    if (!s) {
        s = "";
    }
    size_t n = strlen(s), o = 0, i = 0;
    bool whole = true;
    while (i < n) {
        size_t l = utf8_char_len(s + i, n - i);
        bool esc = l == 0 || is_control(s + i, l);
        size_t take = l ? l : 1;
        size_t w = esc ? take * UTF8_ESCAPE_BYTES : take;
        if (o + w > cap - 1) {
            whole = false;
            break;
        }
        for (size_t k = 0; k < take; k++) {
            unsigned char c = (unsigned char)s[i + k];
            if (esc) {
                dst[o++] = '\\';
                dst[o++] = 'x';
                dst[o++] = hex[c >> 4];
                dst[o++] = hex[c & 15];
            } else {
                dst[o++] = (char)c;
            }
        }
        i += take;
    }
    dst[o] = '\0';
    return whole;
}

bool utf8_clean_needed(const char *s)
{
    if (!s) {
        return false;
    }
    size_t n = strlen(s), i = 0;
    while (i < n) {
        size_t l = utf8_char_len(s + i, n - i);
        if (l == 0 || is_control(s + i, l)) {
            return true;
        }
        i += l;
    }
    return false;
}

const char *utf8_clean(const char *s, char *buf, size_t cap)
{
    if (!s) {
        return "";
    }
    if (!utf8_clean_needed(s)) {
        return s;
    }
    if (cap == 0) {
        return "";
    }
    utf8_clean_to(buf, cap, s);
    return buf;
}

int utf8_escape(const char *s, char **out)
{
    if (!s) {
        s = "";
    }
    size_t n = strlen(s);
    size_t len = utf8_escaped_len(s, n);
    *out = malloc(len + 1);
    if (!*out) {
        return FT_ENOMEM;
    }
    escape_into(*out, len + 1, s, n);
    return FT_OK;
}

bool utf8_escape_to(char *dst, size_t cap, const char *s)
{
    if (cap == 0) {
        return false;
    }
    if (!s) {
        s = "";
    }
    return escape_into(dst, cap, s, strlen(s));
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int utf8_unescape(const char *s, char **out)
{
    if (!s) {
        s = "";
    }
    size_t n = strlen(s), o = 0;
    *out = malloc(n + 1);
    if (!*out) {
        return FT_ENOMEM;
    }
    /* s is NUL-terminated: each test below stops at the end before the next reads */
    for (size_t i = 0; i < n;) {
        int h1 = s[i] == '\\' && s[i + 1] == 'x' ? hex_digit(s[i + 2]) : -1;
        int h2 = h1 >= 0 ? hex_digit(s[i + 3]) : -1;
        if (h2 >= 0 && (h1 | h2) != 0) {
            (*out)[o++] = (char)(h1 << 4 | h2);
            i += 4;
        } else {
            (*out)[o++] = s[i++];
        }
    }
    (*out)[o] = '\0';
    return FT_OK;
}

const char *utf8_show(const char *s, char *buf, size_t cap)
{
    if (!s) {
        return "";
    }
    if (utf8_valid_str(s)) {
        return s;
    }
    if (cap == 0) {
        return "";
    }
    utf8_escape_to(buf, cap, s);
    return buf;
}

json_t *utf8_json_string(const char *s)
{
    if (!s) {
        return NULL;
    }
    if (utf8_valid_str(s)) {
        return json_string(s);
    }
    char *esc = NULL;
    if (utf8_escape(s, &esc) != FT_OK) {
        return NULL;
    }
    json_t *j = json_string(esc);
    free(esc);
    return j;
}

int utf8_json_set_new(json_t *obj, const char *key, json_t *value)
{
    if (!json_is_object(obj) || !key || !value) {
        json_decref(value);
        return FT_EINVAL;
    }
    if (utf8_valid_str(key)) {
        return json_object_set_new(obj, key, value) == 0 ? FT_OK : FT_ENOMEM;
    }
    char *esc = NULL;
    if (utf8_escape(key, &esc) != FT_OK) {
        json_decref(value);
        return FT_ENOMEM;
    }
    int rc = json_object_set_new(obj, esc, value);
    free(esc);
    return rc == 0 ? FT_OK : FT_ENOMEM;
}

json_t *utf8_json_get(const json_t *obj, const char *key)
{
    if (!key) {
        return NULL;
    }
    if (utf8_valid_str(key)) {
        return json_object_get(obj, key);
    }
    char *esc = NULL;
    if (utf8_escape(key, &esc) != FT_OK) {
        return NULL;
    }
    json_t *v = json_object_get(obj, esc);
    free(esc);
    return v;
}
