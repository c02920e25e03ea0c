/* web.h: what the HTTP server (http.c) offers the web modules, and what a
 * module is. The only header of the server a module includes.
 *
 * A module (hub/web/api/api_*.c) is a table of routes plus init, poll and
 * fini, in the manner of nng's transports: it declares one web_module_t,
 * the command that starts the server (hub/cmd/cmd_run.c) hands http_start
 * the modules as a NULL-ended array, and the server
 *   - at start calls each module's init in order (a failure stops the start
 *     and finis the modules already made, in reverse order);
 *   - serves each module's routes, handing its handlers the module's own
 *     state (r->mod);
 *   - calls each module's poll on its watcher thread, after keeping the
 *     shared handles current (every WEBEVENTS_POLL_MS);
 *   - at stop ends event streams and connections, then calls each fini in
 *     reverse order.
 * A module keeps its own state and sees of the server only this header: the
 * request and reply helpers, the session (auth), and the shared handles
 * (web_shared_t). The server includes no module's header and a module
 * includes none of another's (tests/lint/boundaries.sh); what two modules
 * both show lives in a library below them (hub/views, hub/devices, ...).
 *
 * A request's life: the server parses it and collects a JSON body, finds
 * the route (method + path pattern) among the modules' tables, checks the
 * session (cookie) and role, and for state-changing methods the CSRF token;
 * then the route's handler runs and leaves exactly one reply in the request
 * (web_json, web_error, or web_raw); the server sends it with the security
 * headers.
 */
#ifndef FT_HUB_WEB_H
#define FT_HUB_WEB_H

#include "alertview.h"
#include "blobstore.h"
#include "catalog.h"
#include "config.h"
#include "hubparts.h"
#include "rules.h"
#include "users.h"
#include "webevents.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#define WEB_MAX_ARGS 4
#define WEB_MAX_BODY (256 * 1024)

/* The server (http.c); modules see it only through the functions below. */
typedef struct web_t web_t;

/* What the server shares with every module: opened at start, kept current
 * by the server's watcher, valid until every module's fini has run. A
 * module reads the handles when it uses them (events is NULL while the
 * modules' inits run: the watcher is made after them). */
typedef struct {
    const config_t *cfg;    /* the node's config (borrowed; may be NULL) */
    const hub_parts_t *hub; /* store, hub log, keys, state dir, config (borrowed); NULL on a
                               provincial node */
    const rulepack_t *pack; /* the rule pack the hub runs (its limits; borrowed) */
    users_t *users;         /* users and sessions (county hub; NULL on a provincial node) */
    webevents_t *events;    /* live events for SSE (modules may publish) */
    catalog_t *catalog;     /* records and media read from the store */
    alertview_t *alerts;    /* alerts as the hub log tells them */
    blobstore_t *blobs;     /* the media blob store (STATE/blobs), read only; may be NULL */
    void *node;             /* what a provincial node's modules read (provweb.h); NULL on a
                               county hub */
} web_shared_t;

/* The seam between the server and the kind of node it serves: where users,
 * sessions and the audit trail live, which handles the modules share, and
 * the node's own part of the watcher's poll. The county hub's (hubweb.c)
 * keeps users and sessions in STATE/web (users.h) and audits to its signed
 * hub log; the provincial node's (hub/provweb/provweb.c) keeps all three
 * in PostgreSQL, so several nodes serve one dashboard. The server copies
 * the struct; ctx lives until close. Every function but poll and close
 * answers FT_EIO when the place it keeps them cannot be reached: the server
 * then answers 503 "unavailable" with the backend's words (unavailable). */
typedef struct web_backend {
    const char *name;       /* for logs: "county hub", "provincial node" */
    const char *index_page; /* the page served at "/" (an asset of hub/web/) */
    const char *url_dir;    /* where the dashboard's URL is written (a file "url"), or NULL */
    void *ctx;
    /* Fills the handles the modules share (sh->cfg is set already). */
    int (*open)(void *ctx, web_shared_t *sh);
    /* Frees what open made, and ctx. */
    void (*close)(void *ctx, web_shared_t *sh);
    /* The node's part of the watcher's poll, before the modules'. */
    void (*poll)(void *ctx, web_shared_t *sh);
    /* users.h's users_check: FT_OK and *out, FT_EKEY (one answer for every
     * refusal), FT_EIO. */
    int (*password_check)(void *ctx, const char *name, const char *password, user_t *out);
    int (*session_new)(void *ctx, const char *user, int64_t now_ms, int64_t ttl_ms,
                       char token[SESSION_TOKEN_SIZE]);
    /* FT_OK and *out, FT_ENOTFOUND (no live session), FT_EIO. */
    int (*session_check)(void *ctx, const char *token, int64_t now_ms, int64_t ttl_ms,
                         session_t *out);
    int (*session_end)(void *ctx, const char *token);
    int (*session_sweep)(void *ctx, int64_t now_ms, size_t *n);
    /* Records an audit entry: FT_OK or an error (the action is refused). */
    int (*audit)(void *ctx, const char *user, const char *action, const char *target,
                 const char *detail);
    /* Plain words for a 503 after FT_EIO (may be NULL). */
    const char *unavailable;
} web_backend_t;

/* One request being answered. */
typedef struct {
    web_t *web;             /* the server */
    const web_shared_t *sh; /* the shared handles */
    void *mod;              /* the state of the module whose route this is */
    struct MHD_Connection *conn;
    const char *method;       /* "GET", "POST", ... */
    const char *path;         /* URL path, no query (decoded once, by MHD) */
    const char *raw_path;     /* the same as the request line had it (routes match on it) */
    char *args[WEB_MAX_ARGS]; /* path segments matched by '*' (decoded) */
    size_t n_args;
    json_t *body;                  /* parsed JSON body (POST), or NULL */
    bool logged_in;                /* a live session came with it */
    bool unavailable;              /* the sessions' store could not be reached (503) */
    session_t session;             /* that session */
    const char *range;             /* Range header, or NULL */
    unsigned status;               /* reply status */
    json_t *json;                  /* reply body (owned), or */
    struct MHD_Response *response; /* a raw reply (owned) */
    bool no_cache;                 /* add Cache-Control: no-store (API) */
    char set_cookie[320];          /* Set-Cookie to send, or "" */
} web_req_t;

typedef void (*web_handler)(web_req_t *r);

/* Route flags. */
#define WEB_ROUTE_METRICS_TOKEN 1u /* the http_metrics_token bearer stands in for a session */
/* The reply is a long-lived stream (server-sent events): the server admits
 * at most http.streams_per_session per session and http.max_streams in all
 * (429 too_many_streams, 503 busy), so streams cannot use up the pool. */
#define WEB_ROUTE_STREAM 2u

/* A route: method, path pattern ('*' matches one segment), least role
 * (ROLE_NONE = no login needed), handler, flags. Tables end with a NULL
 * method. */
typedef struct {
    const char *method;
    const char *pattern;
    user_role role;
    web_handler fn;
    unsigned flags;
} web_route_t;

/* A module: its routes and its life. Every function may be NULL. */
typedef struct web_module {
    const char *name;          /* for logs: "sync", "alerts", ... */
    const web_route_t *routes; /* NULL-method-ended; may be NULL */
    /* Makes the module's state (*state, may stay NULL): FT_OK, or an error
     * that stops the server's start (log why). */
    int (*init)(const web_shared_t *sh, void **state);
    /* On the watcher thread, every WEBEVENTS_POLL_MS, after the shared
     * handles were brought up to date. */
    void (*poll)(void *state, const web_shared_t *sh);
    /* Frees the state, after the last request and poll. */
    void (*fini)(void *state);
} web_module_t;

/* ---- replies ---- */

/* Replies with a JSON body (takes the reference; NULL = 500). */
void web_json(web_req_t *r, unsigned status, json_t *body);
/* Replies {"error": code, "message": message} with status. */
void web_error(web_req_t *r, unsigned status, const char *code, const char *message);
/* Replies with a raw response (takes it). */
void web_raw(web_req_t *r, unsigned status, struct MHD_Response *resp);

/* ---- the request ---- */

/* A query argument (decoded), or NULL; "" counts as absent. */
const char *web_query(const web_req_t *r, const char *name);
/* A query argument as an integer within [lo, hi], or def. */
long long web_query_int(const web_req_t *r, const char *name, long long def, long long lo,
                        long long hi);
/* A string member of the JSON body, or NULL. */
const char *web_body_str(const web_req_t *r, const char *name);
/* RFC 3339 UTC text of ms, or JSON null for 0 (view_time_json). */
json_t *web_time(int64_t ms);

/* ---- auth and audit ---- */

/* Through the node's backend (web_backend_t): checks a password (FT_OK,
 * FT_EKEY, FT_EIO); starts a session for user (its token into token, and
 * r->session, r->logged_in set); ends the session of token. */
int web_password_check(web_req_t *r, const char *name, const char *password,
                       user_t *out) FT_MUST_CHECK;
int web_session_start(web_req_t *r, const char *user, char token[SESSION_TOKEN_SIZE]) FT_MUST_CHECK;
int web_session_end(web_req_t *r, const char *token) FT_MUST_CHECK;
/* Replies 503 "unavailable" in the backend's words (the store of users,
 * sessions or what the module reads cannot be reached; detail may add what
 * failed, or be NULL). */
void web_unavailable(web_req_t *r, const char *detail);

/* Sets the session cookie (token NULL = clear it). */
void web_set_cookie(web_req_t *r, const char *token, int64_t ttl_ms);
/* Counts a request refused for login, role or CSRF (/metrics). */
void web_refused(web_req_t *r);
/* A failed login (reason "bad_login": wrong name or password; "locked_out":
 * refused during a lockout) for the name tried: counted for /metrics and
 * for the signed audit log, where failed logins are written aggregated (one
 * `login_failed` entry a minute at most, the first after a quiet minute at
 * once). True if the caller may log this one (at most 10 lines a minute). */
bool web_login_refused(web_req_t *r, const char *reason, const char *user);
/* Writes an AuditEvent (who = the session's user) to the hub's log.
 * FT_OK or the log's error (counted for /metrics; the caller refuses the
 * action: nothing is shown or done unrecorded). */
int web_audit(web_req_t *r, const char *action, const char *target,
              const char *detail) FT_MUST_CHECK;

/* ---- the server's own figures (/metrics) ---- */

typedef struct {
    unsigned long requests;   /* requests answered */
    unsigned long refused;    /* refused for login, role or CSRF */
    unsigned long audit_fail; /* audit entries that could not be written */
    double poll_ms;           /* the watcher's last poll (shared handles and modules) */
    unsigned long long polls; /* polls so far */
} web_stats_t;

void web_stats(web_t *w, web_stats_t *out);

#endif
