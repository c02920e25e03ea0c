/* web.h: what the HTTP server (http.c) shares with the API modules
 * (api_*.c): the server state, one request being answered, the route table
 * and the reply helpers.
 *
 * A request's life: http.c parses it and collects a JSON body, finds the
 * route (method + path pattern), checks the session (cookie) and role, and
 * for state-changing methods the CSRF token; then the route's handler runs
 * and leaves exactly one reply in the request (web_json, web_error, or a
 * raw MHD response); http.c sends it with the security headers.
 */
#ifndef FT_HUB_WEB_H
#define FT_HUB_WEB_H

#include "blobstore.h"
#include "catalog.h"
#include "http.h"
#include "users.h"
#include "webevents.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define WEB_MAX_ARGS 4
#define WEB_MAX_BODY (256 * 1024)

/* The server: borrowed hub state and what the web part owns. */
typedef struct {
    const hub_parts_t *hub;    /* store, hublog, keys, state dir, config (borrowed) */
    users_t *users;            /* users and sessions */
    webevents_t *events;       /* live events for SSE and their watcher */
    catalog_t *catalog;        /* records and media read from the store */
    http_opts_t opts;          /* settings */
    bool tls;                  /* serving HTTPS */
    int64_t started_ms;        /* when the server started */
    atomic_ulong requests;     /* requests answered */
    atomic_ulong refused;      /* requests refused for login, role or CSRF */
    atomic_ulong audit_fail;   /* audit entries that could not be written */
    struct web_poll *poll;     /* what the watcher remembers between polls (api_sync.c) */
    struct alert_view *alerts; /* alerts as the hub log tells them (api_alerts.c) */
    blobstore_t *blobs;        /* the media blob store (STATE/blobs), read only here */
    pthread_mutex_t play_lock; /* guards plays */
    struct web_play *plays;    /* recent playbacks, so one viewing is audited once */
} web_t;

/* One request being answered. */
typedef struct {
    web_t *web;
    struct MHD_Connection *conn;
    const char *method;       /* "GET", "POST", ... */
    const char *path;         /* URL path, no query */
    char *args[WEB_MAX_ARGS]; /* path segments matched by '*' (decoded) */
    size_t n_args;
    json_t *body;                  /* parsed JSON body (POST), or NULL */
    bool logged_in;                /* a live session came with it */
    session_t session;             /* that session */
    const char *range;             /* Range header, or NULL */
    unsigned status;               /* reply status */
    json_t *json;                  /* reply body (owned), or */
    struct MHD_Response *response; /* a raw reply (owned) */
    bool no_cache;                 /* add Cache-Control: no-store (API) */
    char set_cookie[320];          /* Set-Cookie to send, or "" */
} web_req_t;

typedef void (*web_handler)(web_req_t *r);

/* A route: method, path pattern ('*' matches one segment), least role
 * (ROLE_NONE = no login needed) and handler. Tables end with a NULL method. */
typedef struct {
    const char *method;
    const char *pattern;
    user_role role;
    web_handler fn;
} web_route_t;

extern const web_route_t api_auth_routes[];
extern const web_route_t api_sync_routes[];
extern const web_route_t api_alerts_routes[];
extern const web_route_t api_cases_routes[];
extern const web_route_t api_reports_routes[];
extern const web_route_t api_audit_routes[];

/* Replies with a JSON body (takes the reference; NULL = 500). */
void web_json(web_req_t *r, unsigned status, json_t *body);
/* Replies {"error": code, "message": message} with status. */
void web_error(web_req_t *r, unsigned status, const char *code, const char *message);
/* Replies with a raw response (takes it). */
void web_raw(web_req_t *r, unsigned status, struct MHD_Response *resp);
/* A query argument (decoded), or NULL; "" counts as absent. */
const char *web_query(const web_req_t *r, const char *name);
/* A query argument as an integer within [lo, hi], or def. */
long long web_query_int(const web_req_t *r, const char *name, long long def, long long lo,
                        long long hi);
/* A string member of the JSON body, or NULL. */
const char *web_body_str(const web_req_t *r, const char *name);
/* Writes an AuditEvent (who = the session's user) to the hub's log.
 * FT_OK or the log's error (counted in audit_fail; the caller refuses the
 * action: nothing is shown or done unrecorded). */
int web_audit(web_req_t *r, const char *action, const char *target, const char *detail);
/* Sets the session cookie (token NULL = clear it). */
void web_set_cookie(web_req_t *r, const char *token, int64_t ttl_ms);
/* RFC 3339 UTC text of ms, or JSON null for 0. */
json_t *web_time(int64_t ms);

/* api_sync.c: the watcher's poll (refreshes the catalog, reads the hub log,
 * publishes events), /metrics, and the poll state's teardown. */
void api_poll(void *ctx, webevents_t *ev);
void api_metrics(web_req_t *r);
void api_poll_free(web_t *w);
/* api_alerts.c: feeds one hub-log entry to the alert view; true if it
 * changed an alert (*changed gets the alert as JSON, caller decrefs). */
int api_alerts_new(web_t *w) FT_MUST_CHECK;
bool api_alerts_feed(web_t *w, uint64_t seq, const Ft__Entry *e, json_t **changed);
void api_alerts_free(web_t *w);
/* Alerts by article that are open now, for /metrics and compliance: visits
 * each open alert (JSON object, borrowed). */
typedef void (*api_alert_fn)(void *ctx, const json_t *alert);
void api_alerts_each(web_t *w, api_alert_fn fn, void *ctx);
/* The same over every alert, whatever its state. */
void api_alerts_all(web_t *w, api_alert_fn fn, void *ctx);
/* A catalog item as the API shows it (api_cases.c). */
json_t *api_item_json(const cat_item_t *it);
/* Frees what playback keeps (api_cases.c). */
void api_cases_free(web_t *w);

#endif
