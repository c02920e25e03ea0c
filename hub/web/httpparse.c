/* httpparse.c: request text parsing of the hub's web server (httpparse.h).
 * Moved here from http.c (url_decode, route_match, origin_ok, csrf_ok,
 * metrics_token_ok, the body in dispatch, web_query_int), api_cases.c
 * (parse_range), api_reports.c (time_arg) and api_sync.c (pub_value); since
 * then route_match decodes the raw path's segments once (MHD's decoded path
 * was decoded a second time) and a malformed Range is ignored (RFC 9110
 * 14.2), not refused.
 */
#include "httpparse.h"
#include "error.h"
#include "record.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void httpparse_url_decode(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '%' && p[1] && p[2]) {
            char hex[3] = {p[1], p[2], 0};
            char *end;
            long v = strtol(hex, &end, 16);
            if (*end == 0 && v > 0) {
                *o++ = (char)v;
                p += 2;
                continue;
            }
        }
        *o++ = *p;
    }
    *o = 0;
}

bool httpparse_route_match(const char *pattern, const char *path, char **args, size_t max_args,
                           size_t *n_args)
{
    size_t n = 0;
    const char *p = pattern, *s = path;
    *n_args = 0;
    while (*p && *s) {
        if (*p == '/' || *s == '/') {
            if (*p != *s) {
                goto no;
            }
            p++;
            s++;
            continue;
        }
        /* One segment of each: the path's decoded once, then compared. */
        size_t plen = strcspn(p, "/"), slen = strcspn(s, "/");
        char *seg = strndup(s, slen);
        if (!seg) {
            goto no;
        }
        httpparse_url_decode(seg);
        if (plen == 1 && *p == '*') {
            if (n >= max_args) {
                free(seg);
                goto no;
            }
            args[n++] = seg;
        } else {
            bool same = strlen(seg) == plen && memcmp(seg, p, plen) == 0;
            free(seg);
            if (!same) {
                goto no;
            }
        }
        p += plen;
        s += slen;
    }
    if (*p == 0 && *s == 0) {
        *n_args = n;
        return true;
    }
no:
    httpparse_args_free(args, &n);
    return false;
}

void httpparse_args_free(char **args, size_t *n)
{
    for (size_t i = 0; i < *n; i++) {
        free(args[i]);
        args[i] = NULL;
    }
    *n = 0;
}

long long httpparse_int(const char *v, long long def, long long lo, long long hi)
{
    if (!v || !*v) {
        return def;
    }
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || !end || *end || n < lo || n > hi) {
        return def;
    }
    return n;
}

bool httpparse_time(const char *v, int64_t *out_ms)
{
    if (!v) {
        return false;
    }
    int32_t off;
    if (rfc3339_parse(v, out_ms, &off) == FT_OK) {
        return true;
    }
    char *end;
    long long ms = strtoll(v, &end, 10);
    if (*end == 0 && ms > 0) {
        *out_ms = ms;
        return true;
    }
    /* A bare date means its whole day, China time. */
    char buf[64];
    snprintf(buf, sizeof buf, "%.10sT00:00:00+08:00", v);
    return strlen(v) == 10 && rfc3339_parse(buf, out_ms, &off) == FT_OK;
}

/* A byte position: 1*DIGIT (RFC 9110 14.1.1); more than 2^64 - 1 saturates.
 * Moves *s past it; false when no digit is there. */
static bool range_pos(const char **s, uint64_t *out)
{
    const char *p = *s;
    uint64_t v = 0;
    bool big = false;
    while (*p >= '0' && *p <= '9') {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            big = true;
        } else {
            v = v * 10 + d;
        }
        p++;
    }
    if (p == *s) {
        return false;
    }
    *out = big ? UINT64_MAX : v;
    *s = p;
    return true;
}

static const char *skip_ows(const char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return s;
}

int httpparse_range(const char *h, uint64_t size, uint64_t *a, uint64_t *b)
{
    if (!h) {
        return 0;
    }
    /* bytes=first-[last] or bytes=-suffix, the unit in any case, blanks
     * around the range taken; anything else is ignored (0): another unit,
     * several ranges (no multipart replies here), text that is not a range. */
    const char *s = skip_ows(h);
    if (strncasecmp(s, "bytes", 5) != 0) {
        return 0;
    }
    s = skip_ows(s + 5);
    if (*s != '=') {
        return 0;
    }
    s = skip_ows(s + 1);
    uint64_t x = 0, y = UINT64_MAX;
    bool suffix = *s == '-';
    if (suffix) {
        s++;
        if (!range_pos(&s, &y)) {
            return 0;
        }
    } else {
        if (!range_pos(&s, &x) || *s != '-') {
            return 0;
        }
        s++;
        if (*s >= '0' && *s <= '9' && !range_pos(&s, &y)) {
            return 0;
        }
    }
    if (*skip_ows(s) != 0) {
        return 0;
    }
    if (!suffix && y < x) {
        return 0; /* last before first: not a valid range, ignored */
    }
    if (suffix) {
        if (y == 0 || size == 0) {
            return -1; /* an empty suffix, or nothing to take it from */
        }
        *a = y >= size ? 0 : size - y;
        *b = size - 1;
        return 1;
    }
    if (x >= size) {
        return -1; /* starts at or beyond the end */
    }
    *a = x;
    *b = y < size ? y : size - 1;
    return 1;
}

bool httpparse_origin_ok(const char *origin, const char *host)
{
    if (origin && host) {
        const char *o = strstr(origin, "://");
        if (!o || strcmp(o + 3, host) != 0) {
            return false;
        }
    }
    return true;
}

bool httpparse_token_eq(const char *got, const char *want)
{
    if (!got || !want || strlen(got) != strlen(want) ||
        sodium_memcmp(got, want, strlen(got)) != 0) {
        return false;
    }
    return true;
}

bool httpparse_bearer_ok(const char *auth, const char *want)
{
    if (!want || !*want || !auth || strncmp(auth, "Bearer ", 7) != 0) {
        return false;
    }
    return httpparse_token_eq(auth + 7, want);
}

int httpparse_body(const char *buf, size_t len, json_t **out)
{
    *out = NULL;
    if (len == 0) {
        return FT_OK;
    }
    json_error_t jerr;
    json_t *j = json_loadb(buf, len, 0, &jerr);
    if (!json_is_object(j)) {
        json_decref(j);
        return FT_EINVAL;
    }
    *out = j;
    return FT_OK;
}

const char *httpparse_body_str(const json_t *body, const char *name)
{
    return body ? json_string_value(json_object_get(body, name)) : NULL;
}

bool httpparse_pub_value(const char *text, const char *name, char *out, size_t len)
{
    size_t nl = strlen(name);
    for (const char *p = text; p && *p;) {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (strncmp(p, name, nl) == 0) {
            const char *q = p + nl;
            while (*q == ' ' || *q == '\t') {
                q++;
            }
            if (*q == '=') {
                q++;
                while (*q == ' ' || *q == '\t') {
                    q++;
                }
                size_t n = strcspn(q, " \t\r\n");
                if (n < len) {
                    memcpy(out, q, n);
                    out[n] = 0;
                    return true;
                }
            }
        }
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return false;
}
