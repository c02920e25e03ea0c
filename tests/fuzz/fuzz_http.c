/* fuzz_http.c: libFuzzer target for the request text the hub's web server
 * parses itself (hub/web/httpparse.c), fed the way a request reaches it.
 *
 * The input is read as an HTTP/1.1 request (what the seeds are):
 *   METHOD SP TARGET [SP VERSION] LF        (CR before LF is dropped)
 *   Name: value LF ...                      header lines
 *   LF                                      end of the headers
 *   body                                    every byte after it
 * TARGET is split at '?' into path and query, the query at '&' and '=' into
 * arguments. This split stands in for libmicrohttpd, which parses the
 * request line, headers, query and cookies in the real server (it is not
 * fuzzed here); like MHD, each query value is percent-decoded once before
 * the project's code sees it, and routes are matched on the raw path, as
 * http.c takes it from MHD's URI log callback.
 *
 * Then, as http.c and the handlers do:
 *   path    -> httpparse_route_match against every route pattern of
 *              hub/api_*.c (each segment decoded once), the matched ID through
 *              devid_parse (device revocation);
 *   query   -> httpparse_int with the handlers' bounds (limit, before,
 *              since), httpparse_time (from, to);
 *   headers -> Range: httpparse_range against several file sizes;
 *              Origin + Host: httpparse_origin_ok; X-CSRF-Token and the
 *              ft_session cookie: httpparse_token_eq; Authorization:
 *              httpparse_bearer_ok;
 *   body    -> httpparse_body, and in an object the members the handlers
 *              read (httpparse_body_str): role names (user_role_parse), user
 *              names (user_name_valid), key hex (hex_decode), the device.pub
 *              text (httpparse_pub_value, devid_parse).
 * The path also serves as a route pattern against itself with the query as
 * path, so the matcher sees odd patterns too.
 *
 * Pins: no input crashes, leaks, reads out of bounds or hits UB; and
 *   - percent-decoding never lengthens a string;
 *   - a match gives one non-empty argument per '*'; no match keeps nothing;
 *   - a number is the default or within its bounds;
 *   - an accepted Range lies in the file (a <= b < size); a refused or
 *     ignored one leaves a and b alone;
 *   - an Origin of this host passes; a token equals itself; a Bearer of the
 *     metrics token passes iff the token is not empty;
 *   - an accepted non-empty body is a JSON object;
 *   - a device.pub value fits its buffer and holds no blank or line end.
 */
#include "httpparse.h"
#include "keys.h"
#include "users.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The route patterns of hub/api_*.c (the tables are in ft_hubweb, which
 * needs libmicrohttpd and the whole hub; the list only has to be realistic). */
static const char *const patterns[] = {
    "/api/alerts",
    "/api/alerts/*",
    "/api/alerts/*/justify",
    "/api/audit",
    "/api/audit/verify",
    "/api/login",
    "/api/logout",
    "/api/me",
    "/api/users",
    "/api/users/*",
    "/api/cases",
    "/api/cases/*/timeline",
    "/api/cases/*/export",
    "/api/media/*",
    "/api/media/*/content",
    "/api/search",
    "/api/compliance",
    "/api/sync",
    "/api/devices",
    "/api/devices/*/revoke",
    "/api/events",
    "/*/*/*/*",
    "/*/*/*/*/*",
};

#define MAX_ARGS 4 /* WEB_MAX_ARGS */
#define MAX_HEADERS 32
#define MAX_QUERY 32

static const uint64_t sizes[] = {
    0, 1, 2, 1000, (1u << 20) + 7, (1ULL << 53) + 1, UINT64_MAX - 1, UINT64_MAX};

typedef struct {
    char *name, *value;
} pair_t;

static size_t count_stars(const char *p)
{
    size_t n = 0;
    for (; *p; p++) {
        n += *p == '*';
    }
    return n;
}

static void decode_checked(char *s)
{
    size_t before = strlen(s);
    httpparse_url_decode(s);
    if (strlen(s) > before) {
        abort(); /* decoding lengthened the text */
    }
}

static void match(const char *pattern, const char *path)
{
    char *args[MAX_ARGS] = {NULL};
    size_t n = 99;
    if (httpparse_route_match(pattern, path, args, MAX_ARGS, &n)) {
        if (n != count_stars(pattern)) {
            abort(); /* one argument per star */
        }
        for (size_t i = 0; i < n; i++) {
            if (!args[i] || !args[i][0]) {
                abort(); /* '*' matched an empty segment */
            }
        }
        if (n >= 1 && strcmp(pattern, "/api/devices/*/revoke") == 0) {
            uint8_t dev[DEVID_BYTES];
            if (devid_parse(args[0], dev) == FT_OK) {
                char text[DEVID_TEXT_SIZE];
                devid_format(dev, text);
            }
        }
        httpparse_args_free(args, &n);
    }
    if (n != 0) {
        abort();
    }
    for (size_t i = 0; i < MAX_ARGS; i++) {
        if (args[i]) {
            abort(); /* an argument kept after no match or a free */
        }
    }
}

static void query_value(const char *name, const char *v)
{
    static const struct {
        long long def, lo, hi;
    } bounds[] = {{500, 1, 5000}, {200, 1, 2000}, {-1, 0, INT64_MAX}, {7, INT64_MIN, INT64_MAX}};
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++) {
        long long n = httpparse_int(v, bounds[i].def, bounds[i].lo, bounds[i].hi);
        if (n != bounds[i].def && (n < bounds[i].lo || n > bounds[i].hi)) {
            abort(); /* out of bounds */
        }
    }
    int64_t t = 0;
    (void)httpparse_time(v, &t);
    (void)name;
}

static void range(const char *h)
{
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint64_t a = 77, b = 77;
        int rc = httpparse_range(h, sizes[i], &a, &b);
        if (rc == 1 && !(a <= b && b < sizes[i])) {
            abort(); /* a range outside the file */
        }
        if (rc != 1 && (a != 77 || b != 77)) {
            abort(); /* refused or ignored, but written */
        }
        if (rc < -1 || rc > 1) {
            abort();
        }
    }
}

static void tokens(const char *v, const char *host)
{
    if (!httpparse_token_eq(v, v)) {
        abort();
    }
    (void)httpparse_token_eq(v, "0123456789abcdef0123456789abcdef0123456789a");
    (void)httpparse_origin_ok(v, host);
    (void)httpparse_origin_ok(v, v);
    if (!httpparse_origin_ok(v, NULL) || !httpparse_origin_ok(NULL, v)) {
        abort();
    }
    /* The value as a Host: an Origin naming it passes. */
    size_t n = strlen(v);
    char *origin = malloc(n + 8);
    if (!origin) {
        return;
    }
    memcpy(origin, "http://", 7);
    memcpy(origin + 7, v, n + 1);
    if (!httpparse_origin_ok(origin, v)) {
        abort();
    }
    /* The value as a metrics token ("Bearer " is 7 bytes, as "http://"). */
    memcpy(origin, "Bearer ", 7);
    if (httpparse_bearer_ok(origin, v) != (n > 0)) {
        abort();
    }
    (void)httpparse_bearer_ok(v, "metrics-token");
    free(origin);
}

static void pub(const char *text)
{
    static const char *const names[] = {"sign_public", "transport_public", "device_id"};
    static const size_t caps[] = {80, 80, 40};
    for (size_t i = 0; i < 3; i++) {
        char out[80];
        if (httpparse_pub_value(text, names[i], out, caps[i])) {
            size_t n = strlen(out);
            if (n >= caps[i] || strcspn(out, " \t\r\n") != n) {
                abort();
            }
            uint8_t key[32];
            if (i < 2) {
                (void)hex_decode(out, key, sizeof key);
            } else {
                uint8_t dev[DEVID_BYTES];
                (void)devid_parse(out, dev);
            }
        }
    }
}

static void body(const uint8_t *data, size_t len)
{
    json_t *j = (json_t *)1;
    int err = httpparse_body((const char *)data, len, &j);
    if (err != FT_OK) {
        if (j) {
            abort();
        }
        return;
    }
    if (len > 0 && !json_is_object(j)) {
        abort(); /* a body that is not an object */
    }
    if (!j) {
        return;
    }
    /* What the handlers read. */
    (void)user_role_parse(httpparse_body_str(j, "role"));
    (void)user_name_valid(httpparse_body_str(j, "name"));
    (void)httpparse_body_str(j, "user");
    (void)httpparse_body_str(j, "password");
    (void)httpparse_body_str(j, "reason");
    (void)httpparse_body_str(j, "unit");
    (void)httpparse_body_str(j, "vehicle");
    const char *s;
    uint8_t key[32];
    if ((s = httpparse_body_str(j, "sign_public")) != NULL) {
        (void)hex_decode(s, key, sizeof key);
    }
    if ((s = httpparse_body_str(j, "transport_public")) != NULL) {
        (void)hex_decode(s, key, sizeof key);
    }
    if ((s = httpparse_body_str(j, "device_pub")) != NULL) {
        pub(s);
    }
    /* Every member by name, as any handler might. */
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        (void)v;
        (void)httpparse_body_str(j, k);
    }
    json_decref(j);
}

/* Copies [p, p + n) as a C string (up to a NUL, as a header would end). */
static char *cstr(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

/* The next line of [*p, end): its length without CR LF; *p moves past it. */
static size_t line(const uint8_t **p, const uint8_t *end, const uint8_t **start)
{
    *start = *p;
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    *p = nl ? nl + 1 : end;
    if (n > 0 && (*start)[n - 1] == '\r') {
        n--;
    }
    return n;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        s[--n] = 0;
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size, *ls;
    /* Request line. */
    size_t n = line(&p, end, &ls);
    char *request = cstr(ls, n);
    if (!request) {
        return 0;
    }
    char *target = strchr(request, ' ');
    target = target ? target + 1 : request;
    char *sp = strchr(target, ' ');
    if (sp) {
        *sp = 0;
    }
    char *query = strchr(target, '?');
    if (query) {
        *query++ = 0;
    }
    char *path = target; /* raw, as the routes see it */
    char *decoded = strdup(path);
    if (decoded) {
        decode_checked(decoded); /* MHD's decoding of the path */
        free(decoded);
    }

    /* Headers. */
    pair_t headers[MAX_HEADERS];
    size_t n_headers = 0;
    char *header_text[MAX_HEADERS];
    size_t n_text = 0;
    while (p < end) {
        n = line(&p, end, &ls);
        if (n == 0) {
            break;
        }
        if (n_text == MAX_HEADERS) {
            continue;
        }
        char *h = cstr(ls, n);
        if (!h) {
            break;
        }
        header_text[n_text++] = h;
        char *colon = strchr(h, ':');
        if (colon) {
            *colon = 0;
            headers[n_headers].name = trim(h);
            headers[n_headers].value = trim(colon + 1);
            n_headers++;
        }
    }
    const uint8_t *body_p = p;
    size_t body_len = (size_t)(end - p);

    /* Path. */
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        match(patterns[i], path);
    }
    if (query) {
        match(path, query);
    }

    /* Query arguments. */
    if (query) {
        size_t q = 0;
        char *save = NULL;
        char *qcopy = strdup(query);
        for (char *arg = qcopy ? strtok_r(qcopy, "&", &save) : NULL; arg && q < MAX_QUERY;
             arg = strtok_r(NULL, "&", &save), q++) {
            char *eq = strchr(arg, '=');
            char *v = eq ? eq + 1 : arg + strlen(arg);
            if (eq) {
                *eq = 0;
            }
            decode_checked(arg);
            decode_checked(v);
            query_value(arg, *v ? v : NULL); /* "" counts as absent (web_query) */
        }
        free(qcopy);
    }

    /* Headers, by name as http.c asks MHD for them. */
    const char *host = NULL;
    for (size_t i = 0; i < n_headers; i++) {
        if (strcasecmp(headers[i].name, "Host") == 0) {
            host = headers[i].value;
        }
    }
    range(NULL);
    for (size_t i = 0; i < n_headers; i++) {
        const char *name = headers[i].name, *v = headers[i].value;
        if (strcasecmp(name, "Range") == 0) {
            range(v);
        } else if (strcasecmp(name, "Cookie") == 0) {
            /* MHD splits cookies; the session token is then compared. */
            const char *c = strstr(v, "ft_session=");
            if (c) {
                char *tok = strdup(c + 11);
                if (tok) {
                    tok[strcspn(tok, "; ")] = 0;
                    tokens(tok, host);
                    free(tok);
                }
            }
        } else {
            tokens(v, host);
        }
    }

    /* Body. */
    body(body_p, body_len);
    if (body_len > 0) {
        char *text = cstr(body_p, body_len);
        if (text) {
            pub(text);
            free(text);
        }
    }

    for (size_t i = 0; i < n_text; i++) {
        free(header_text[i]);
    }
    free(request);
    return 0;
}
