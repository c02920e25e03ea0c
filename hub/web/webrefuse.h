/* webrefuse.h: failed logins and refused requests of the dashboard, counted
 * for the signed audit log without letting a flood fill it (docs/api.md
 * "The audit log"); the idea of common/zmq/zrefuse.h for the web server.
 *
 * Two ledgers: WEBREFUSE_LOGINS (a wrong password, a login refused during a
 * lockout) and WEBREFUSE_REQUESTS (403: below the route's role, a missing
 * or wrong CSRF token, a cross-site login). webrefuse_note only counts, per
 * (reason, user name, address, request) in a table of WEBREFUSE_ROWS rows;
 * what does not fit is counted as "others". webrefuse_due hands a ledger's
 * rows to a callback, which writes one aggregated audit entry, when it has
 * counts and its last entry is at least WEBREFUSE_AUDIT_MS old: the first
 * refusal after a quiet minute is written within one tick, a flood gives
 * one entry a minute per ledger whatever its rate.
 *
 * Logging: webrefuse_note says whether the caller may log this refusal (at
 * most WEBREFUSE_LOG_PER_MIN lines a minute per ledger); the entry's detail
 * counts all of them, and the server logs one line per entry saying how
 * many went unlogged.
 *
 * Text from the client (the user name typed at the login, the path) is kept
 * as text of one line: control characters, invalid bytes, '"' and '\' as
 * \xNN (utf8_unescape gives the bytes back), cut to its row's size on a
 * character boundary. Thread safe (one mutex); allocates only at new.
 */
#ifndef FT_HUB_WEBREFUSE_H
#define FT_HUB_WEBREFUSE_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEBREFUSE_ROWS 128
#define WEBREFUSE_AUDIT_MS 60000
#define WEBREFUSE_LOG_PER_MIN 10
#define WEBREFUSE_DETAIL_MAX 2048

typedef enum { WEBREFUSE_LOGINS = 0, WEBREFUSE_REQUESTS = 1 } webrefuse_ledger;

/* One (reason, user, address, request) and its count in the window. */
typedef struct {
    char reason[24];   /* "bad_login", "locked_out", "role_required", "csrf" */
    char user[96];     /* the name tried (logins) or the session's user; "-" for none */
    char address[56];  /* the client's address (loginlimit_addr_text) */
    char request[104]; /* "METHOD PATH" (requests), "" for logins */
    uint64_t count;
    int64_t first_ms, last_ms; /* wall clock */
} webrefusal_t;

typedef struct webrefuse_t webrefuse_t;

/* Writes one aggregated audit entry: action ("login_failed" or
 * "request_refused"), detail (one line, at most WEBREFUSE_DETAIL_MAX
 * bytes), total counted and how many of them were not logged one by one.
 * FT_OK, or the log's error (the counts are then kept for the next try). */
typedef int (*webrefuse_write_fn)(void *ctx, const char *action, const char *detail, uint64_t total,
                                  uint64_t unlogged);

int webrefuse_new(webrefuse_t **out) FT_MUST_CHECK;
void webrefuse_destroy(webrefuse_t **w_p);

/* Counts one refusal (any thread). user, address, request may be NULL.
 * now_ms: wall clock (the rows' times); mono_ms: monotonic (the windows).
 * True if the caller may log it. */
bool webrefuse_note(webrefuse_t *w, webrefuse_ledger l, const char *reason, const char *user,
                    const char *address, const char *request, int64_t now_ms, int64_t mono_ms);
/* For each ledger with counts whose last entry is WEBREFUSE_AUDIT_MS old
 * (or that never wrote one), or every ledger with counts when all is true
 * (at stop): formats the detail, calls write, and on FT_OK forgets the
 * counts. Returns the entries written. */
size_t webrefuse_due(webrefuse_t *w, int64_t mono_ms, bool all, webrefuse_write_fn write,
                     void *ctx);
/* Refusals counted since start, per ledger. */
uint64_t webrefuse_total(webrefuse_t *w, webrefuse_ledger l);
/* Copies s into dst (cap bytes with the NUL) as the ledger keeps client
 * text: control characters, invalid bytes, '"' and '\' as \xNN, cut on a
 * character or escape boundary. Returns dst. */
char *webrefuse_text(char *dst, size_t cap, const char *s);

#endif
