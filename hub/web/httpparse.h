/* httpparse.h: the parsing of request text the hub's web server does itself,
 * before or for its handlers, kept apart from libmicrohttpd (MHD) so that it
 * can be unit-tested and fuzzed (hub/web/httpparse_test.c, tests/fuzz/fuzz_http.c).
 *
 * Every input here comes from the network: a path segment, a query value, a
 * header, the JSON body or a text inside it. Nothing here allocates except
 * httpparse_route_match (the matched segments) and httpparse_body (the JSON).
 *
 * What MHD parses and this module does not: the request line, the header
 * lines, the query string into name/value pairs (percent-decoded by MHD) and
 * the Cookie header into cookies; http.c looks their values up with
 * MHD_lookup_connection_value and hands them to the functions below. The URL
 * path is percent-decoded by MHD before it reaches http.c, and the segments
 * a route's '*' matches are decoded once more here (httpparse_url_decode).
 */
#ifndef FT_HUB_HTTPPARSE_H
#define FT_HUB_HTTPPARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes %XX escapes in place ('+' is left as it is). An escape that is
 * not two hex digits, or %00, stays as the literal text. The result is never
 * longer than s. */
void httpparse_url_decode(char *s);

/* Matches path against pattern, where '*' stands for one non-empty path
 * segment (no '/') and everything else must be equal. On a match: true, the
 * '*' segments are in args[0..*n_args) (malloc'd, each decoded with
 * httpparse_url_decode; the caller frees them with httpparse_args_free). No
 * match (or more than max_args stars, or no memory): false, *n_args = 0 and
 * args[0..max_args) untouched beyond being left NULL where used. */
bool httpparse_route_match(const char *pattern, const char *path, char **args, size_t max_args,
                           size_t *n_args);

/* Frees args[0..*n) and sets them to NULL and *n to 0. */
void httpparse_args_free(char **args, size_t *n);

/* A query value as a decimal integer within [lo, hi]; def if v is NULL or
 * "", not an integer (trailing text, overflow) or out of range. Like
 * strtoll, leading blanks and a sign are taken. */
long long httpparse_int(const char *v, long long def, long long lo, long long hi);

/* A time argument: RFC 3339, or Unix ms (> 0), or a bare date YYYY-MM-DD
 * meaning 00:00 of that day, China time (+08:00). False if v is NULL or none
 * of these. */
bool httpparse_time(const char *v, int64_t *out_ms);

/* Parses a Range header against a file of size bytes: a single range
 * "bytes=a-b", "bytes=a-" or "bytes=-n" (suffix). 1 if a range was given and
 * fits (*a <= *b < size; b is clamped to the last byte, a suffix longer than
 * the file is the whole file), 0 if h is NULL (no Range header; *a and *b
 * untouched), -1 if unsatisfiable (starts at or beyond the end, b < a, an
 * empty file) or malformed (not "bytes=", several ranges, not digits). */
int httpparse_range(const char *h, uint64_t size, uint64_t *a, uint64_t *b);

/* True unless the browser sent an Origin and a Host and the Origin's part
 * after "://" is not exactly the Host (or the Origin has no "://"). */
bool httpparse_origin_ok(const char *origin, const char *host);

/* True if got is the same text as want (constant time for equal lengths);
 * false if either is NULL. */
bool httpparse_token_eq(const char *got, const char *want);

/* True if auth is "Bearer " followed by exactly want, and want is a
 * non-empty token; false if either is NULL. */
bool httpparse_bearer_ok(const char *auth, const char *want);

/* The request body as the handlers get it: len 0 -> FT_OK with *out NULL
 * (no body); a JSON object -> FT_OK with *out (caller decrefs); anything
 * else (not JSON, or JSON that is not an object) -> FT_EINVAL, *out NULL. */
int httpparse_body(const char *buf, size_t len, json_t **out);

/* A string member of a body object, or NULL (no body, no such member, not a
 * string). */
const char *httpparse_body_str(const json_t *body, const char *name);

/* Reads "name = value" from the text of a device.pub (sent in the JSON body
 * of POST /api/devices): the first line that starts with name (after blanks)
 * followed by blanks and '=', whose value (up to a blank or line end) is
 * shorter than len. True and out set, or false and out untouched. */
bool httpparse_pub_value(const char *text, const char *name, char *out, size_t len);

#endif
