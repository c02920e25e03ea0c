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
 * MHD_lookup_connection_value and hands them to the functions below. Routes
 * are matched against the raw path, as it came in the request line (http.c
 * takes it from MHD's URI log callback, before MHD decodes it): each segment
 * is percent-decoded once, here, after the path was split at '/', so an
 * escaped "%2F" stays inside its segment and "%2541" is "%41", never "A".
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

/* Matches a raw (not yet decoded) path against pattern, segment by segment:
 * both are split at '/', each segment of the path is decoded once
 * (httpparse_url_decode), a '*' segment of the pattern takes any non-empty
 * one and any other must be equal to it. On a match: true, the '*' segments
 * are in args[0..*n_args) (malloc'd, decoded; the caller frees them with
 * httpparse_args_free). No match (or more than max_args stars, or no
 * memory): false, *n_args = 0 and args[0..max_args) untouched beyond being
 * left NULL where used. */
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
 * "bytes=a-b", "bytes=a-" or "bytes=-n" (suffix; the unit in any case,
 * blanks around the range allowed). 1 if such a range fits (*a <= *b <
 * size; b is clamped to the last byte, a suffix longer than the file is the
 * whole file, numbers past 2^64 - 1 saturate). -1 if it is unsatisfiable
 * (416): it starts at or beyond the end, a suffix of 0, or any range of an
 * empty file. 0 if there is no header (h NULL) or the header is to be
 * ignored (RFC 9110 14.2; the whole file is sent): another unit, several
 * ranges, b < a, anything that is not digits where the grammar wants them.
 * *a and *b are only written when 1 is returned. */
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
