/* http.c: the hub's web server (see http.h and web.h).
 *
 * The server knows no module: it serves the route tables of the modules it
 * was handed (web.h), keeps the handles they share current, and drives their
 * life (init in order, poll on the watcher thread, fini in reverse order).
 *
 * Where users, sessions and the audit trail live, and which handles the
 * modules share, is the node's backend (web.h web_backend_t: the county
 * hub's is hubweb.c, the provincial node's hub/provweb/provweb.c): the
 * server asks it for every password, session and audit entry, and answers
 * 503 "unavailable" when the backend cannot reach its store.
 *
 * The watcher's poll (every WEBEVENTS_POLL_MS), in this order: the
 * backend's poll (the county hub's: the catalog, "records", the hub log fed
 * to the alert view and announced); then each module's poll; expired
 * sessions are swept every ~10 minutes. Its duration is kept for /metrics
 * (web_stats).
 *
 * Connections (httpguard.h): the accept policy lets the guard make room or
 * refuse; each connection's guard entry is its MHD socket context (made at
 * NOTIFY_STARTED, gone at NOTIFY_CLOSED); a request moves it to busy when it
 * is all in, a stream route to stream, on_completed back to waiting. The
 * guard's thread also drives the server's periodic work (on_tick): the
 * aggregated audit entries of failed logins and 403s (webrefuse.h) and the
 * summary line of libmicrohttpd's own messages, which are rate-limited.
 *
 * Request state machine, per connection and request (MHD calls on_request
 * several times for one request):
 *   request line in     -> on_uri: allocate req_ctx_t with the raw path
 *                          (routes are matched on it, each segment decoded
 *                          once; MHD's decoded url serves the pages)
 *   first call          -> headers in; return
 *   calls with a body   -> append to the buffer (over WEB_MAX_BODY: remember
 *                          and answer 413 at the end)
 *   last call           -> guard: busy; dispatch: static asset, or route
 *                          lookup -> session check (401) -> role check (403)
 *                          -> CSRF check on POST/PUT/DELETE (403) -> stream
 *                          limits (429/503) -> handler -> send
 *   on_completed        -> free req_ctx_t; guard: waiting
 * Invariants:
 *   - no route but the login page, its assets and POST /api/login answers
 *     without a live session (the login page redirects there);
 *   - every state-changing request carries X-CSRF-Token equal to the
 *     session's token and, when the browser sends Origin, an Origin of this
 *     host; the session cookie is HttpOnly and SameSite=Strict;
 *   - every reply carries the security headers (CSP 'self' only: the pages
 *     load nothing from elsewhere).
 */
#include "http.h"
#include "fsutil.h"
#include "hlc.h"
#include "httpguard.h"
#include "httpparse.h"
#include "itemjson.h"
#include "logging.h"
#include "ratelimit.h"
#include "record.h"
#include "web.h"
#include "webassets.h"
#include "webrefuse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#define COOKIE_NAME "ft_session"
#define SSE_HEARTBEAT_MS 15000

#define SESSION_SWEEP_POLLS (600000 / WEBEVENTS_POLL_MS) /* ~10 minutes */
#define MHD_LOG_PER_MIN 10         /* libmicrohttpd's own lines logged a minute */
#define MHD_BUSY_WAIT_PAUSE_MS 100 /* the listener's pause while no descriptor is left */

/* The server: what the modules share, the modules, and its own figures. */
struct web_t {
    web_shared_t sh;         /* handed to every module */
    web_backend_t be;        /* the node's users, sessions, audit and shared handles */
    bool be_open;            /* be.open succeeded: be.close is due */
    http_opts_t opts;        /* settings */
    bool tls;                /* serving HTTPS */
    atomic_ulong requests;   /* requests answered */
    atomic_ulong refused;    /* requests refused for login, role or CSRF */
    atomic_ulong audit_fail; /* audit entries that could not be written */
    /* The modules, in the order given; states[i] is modules[i]'s. */
    const web_module_t **modules;
    void **states;
    size_t n_modules;
    size_t n_ready;             /* modules whose init succeeded (the first n_ready) */
    pthread_mutex_t stats_lock; /* guards poll_ms, polls */
    double poll_ms;
    unsigned long long polls;
    httpguard_t *guard;    /* the connections and their limits */
    webrefuse_t *refusals; /* failed logins and 403s, for the audit log */
    unsigned char stream_key[crypto_shorthash_KEYBYTES]; /* sessions' keys for the guard */
    pthread_mutex_t mhdlog_lock;                         /* guards the three below */
    ratelimit_t mhdlog_rl;                               /* libmicrohttpd's lines */
    uint64_t mhdlog_unlogged;                            /* not logged since the last summary */
    int64_t mhdlog_summary_ms;                           /* monotonic: the last summary line */
};

struct http_t {
    struct MHD_Daemon *daemon;
    web_t web;
    char *cert_pem, *key_pem; /* TLS material (wiped and freed at stop) */
    uint16_t port;            /* bound port */
};

/* Per-request state kept between MHD calls. */
typedef struct {
    char *raw_path; /* the path as the request line had it (not decoded) */
    bool started;   /* on_request has seen the headers */
    char *body;
    size_t len;
    bool too_big;
} req_ctx_t;

/* Assets anyone may fetch: what the login page needs. */
static const char *const public_assets[] = {"login.html", "login.js",         "app.css", "i18n.js",
                                            "logo.svg",   "unavailable.html", NULL};

void http_opts_from_config(const config_t *cfg, const char *flag_listen, http_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->listen = config_pick(flag_listen, cfg, "http", HTTP_DEFAULT_LISTEN);
    opts->tls_cert = config_get(cfg, "http_tls_cert");
    opts->tls_key = config_get(cfg, "http_tls_key");
    opts->metrics_token = config_get(cfg, "http_metrics_token");
    opts->required = flag_listen || config_get(cfg, "http");
    opts->max_connections = config_get(cfg, "http.max_connections");
    opts->max_per_address = config_get(cfg, "http.max_per_address");
    opts->request_timeout_s = config_get(cfg, "http.request_timeout_s");
    opts->max_streams = config_get(cfg, "http.max_streams");
    opts->streams_per_session = config_get(cfg, "http.streams_per_session");
}

/* ---- reply helpers (web.h) ---- */

static void reply_reset(web_req_t *r)
{
    json_decref(r->json);
    r->json = NULL;
    if (r->response) {
        MHD_destroy_response(r->response);
        r->response = NULL;
    }
}

void web_json(web_req_t *r, unsigned status, json_t *body)
{
    reply_reset(r);
    if (!body) {
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        body = json_pack("{s:s, s:s}", "error", "internal", "message", "out of memory");
    }
    r->status = status;
    r->json = body;
}

void web_error(web_req_t *r, unsigned status, const char *code, const char *message)
{
    web_json(r, status, json_pack("{s:s, s:s}", "error", code, "message", message));
}

void web_raw(web_req_t *r, unsigned status, struct MHD_Response *resp)
{
    reply_reset(r);
    r->status = status;
    r->response = resp;
    if (!resp) {
        web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "cannot build the response");
    }
}

const char *web_query(const web_req_t *r, const char *name)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? v : NULL;
}

long long web_query_int(const web_req_t *r, const char *name, long long def, long long lo,
                        long long hi)
{
    return httpparse_int(web_query(r, name), def, lo, hi);
}

const char *web_body_str(const web_req_t *r, const char *name)
{
    return httpparse_body_str(r->body, name);
}

void web_refused(web_req_t *r)
{
    atomic_fetch_add(&r->web->refused, 1);
}

void web_stats(web_t *w, web_stats_t *out)
{
    out->requests = atomic_load(&w->requests);
    out->refused = atomic_load(&w->refused);
    out->audit_fail = atomic_load(&w->audit_fail);
    pthread_mutex_lock(&w->stats_lock);
    out->poll_ms = w->poll_ms;
    out->polls = w->polls;
    pthread_mutex_unlock(&w->stats_lock);
}

/* Records one audit entry through the backend. */
static int audit_write(web_t *w, const char *user, const char *action, const char *target,
                       const char *detail)
{
    int err = w->be.audit(w->be.ctx, user, action, target, detail);
    if (err != FT_OK) {
        atomic_fetch_add(&w->audit_fail, 1);
        log_error("cannot write the audit entry (%s %s by %s): %s", action, target ? target : "",
                  user, ft_strerror(err));
    }
    return err;
}

int web_audit(web_req_t *r, const char *action, const char *target, const char *detail)
{
    return audit_write(r->web, r->logged_in ? r->session.user : "-", action, target, detail);
}

/* The client's address as text (an IPv4-mapped IPv6 one as IPv4), or "?". */
static void client_address(struct MHD_Connection *c, char *buf, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    snprintf(buf, len, "?");
    if (sa && sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)len);
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
            inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], buf, (socklen_t)len);
        } else {
            inet_ntop(AF_INET6, &a6->sin6_addr, buf, (socklen_t)len);
        }
    }
}

bool web_login_refused(web_req_t *r, const char *reason, const char *user)
{
    atomic_fetch_add(&r->web->refused, 1);
    char addr[INET6_ADDRSTRLEN];
    client_address(r->conn, addr, sizeof addr);
    return webrefuse_note(r->web->refusals, WEBREFUSE_LOGINS, reason, user, addr, NULL,
                          (int64_t)hlc_wall_ms(), httpguard_now_ms());
}

/* A request refused with 403 (role, CSRF, a cross-site login): counted for
 * /metrics and the aggregated audit entry, logged at a bounded rate. */
static void refused_403(web_req_t *r, const char *reason)
{
    atomic_fetch_add(&r->web->refused, 1);
    char addr[INET6_ADDRSTRLEN], request[160], shown[104];
    client_address(r->conn, addr, sizeof addr);
    snprintf(request, sizeof request, "%s %s", r->method, r->raw_path ? r->raw_path : r->path);
    const char *user = r->logged_in ? r->session.user : "-";
    if (webrefuse_note(r->web->refusals, WEBREFUSE_REQUESTS, reason, user, addr, request,
                       (int64_t)hlc_wall_ms(), httpguard_now_ms())) {
        log_warn("dashboard: refused %s from %s for user %s: %s",
                 webrefuse_text(shown, sizeof shown, request), addr, user, reason);
    }
}

void web_set_cookie(web_req_t *r, const char *token, int64_t ttl_ms)
{
    if (token) {
        snprintf(r->set_cookie, sizeof r->set_cookie,
                 COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", token,
                 (long long)(ttl_ms / 1000), r->web->tls ? "; Secure" : "");
    } else {
        snprintf(r->set_cookie, sizeof r->set_cookie,
                 COOKIE_NAME "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
                 r->web->tls ? "; Secure" : "");
    }
}

json_t *web_time(int64_t ms)
{
    return view_time_json(ms);
}

/* ---- sending ---- */

static void add_security_headers(struct MHD_Response *resp, bool no_cache)
{
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; media-src 'self'; "
                            "style-src 'self'; script-src 'self'; connect-src 'self'; "
                            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    if (no_cache) {
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    }
}

static enum MHD_Result send_req(web_req_t *r)
{
    struct MHD_Response *resp = r->response;
    r->response = NULL;
    if (!resp) {
        if (!r->json) {
            r->json = json_pack("{s:s, s:s}", "error", "internal", "message", "no reply");
            r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        }
        char *text = json_dumps(r->json, JSON_COMPACT);
        if (!text) {
            return MHD_NO;
        }
        size_t n = strlen(text);
        resp = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(text);
            return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
        r->no_cache = true;
    }
    add_security_headers(resp, r->no_cache);
    if (r->set_cookie[0]) {
        MHD_add_response_header(resp, "Set-Cookie", r->set_cookie);
    }
    enum MHD_Result ret = MHD_queue_response(r->conn, r->status ? r->status : 200, resp);
    MHD_destroy_response(resp);
    atomic_fetch_add(&r->web->requests, 1);
    return ret;
}

static enum MHD_Result send_redirect(struct MHD_Connection *c, const char *to)
{
    static const char body[] = "see other";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Location", to);
    add_security_headers(resp, true);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SEE_OTHER, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- static assets ---- */

static bool asset_public(const char *name)
{
    for (size_t i = 0; public_assets[i]; i++) {
        if (strcmp(public_assets[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static void serve_asset_status(web_req_t *r, const webasset_t *a, unsigned status)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (resp) {
        MHD_add_response_header(resp, "Content-Type", a->mime);
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
    }
    web_raw(r, status, resp);
}

static void serve_asset(web_req_t *r, const webasset_t *a)
{
    serve_asset_status(r, a, MHD_HTTP_OK);
}

/* ---- routing ---- */

/* Finds the session of the request's cookie. */
static void load_session(web_req_t *r)
{
    const char *token = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE_NAME);
    if (!token) {
        return;
    }
    int64_t now = (int64_t)hlc_wall_ms();
    web_backend_t *be = &r->web->be;
    int err = be->session_check(be->ctx, token, now, SESSION_DEFAULT_TTL_MS, &r->session);
    r->logged_in = err == FT_OK;
    r->unavailable = err != FT_OK && err != FT_ENOTFOUND;
}

int web_password_check(web_req_t *r, const char *name, const char *password, user_t *out)
{
    web_backend_t *be = &r->web->be;
    return be->password_check(be->ctx, name, password, out);
}

int web_session_start(web_req_t *r, const char *user, char token[SESSION_TOKEN_SIZE])
{
    web_backend_t *be = &r->web->be;
    int64_t now = (int64_t)hlc_wall_ms();
    int err = be->session_new(be->ctx, user, now, SESSION_DEFAULT_TTL_MS, token);
    if (err == FT_OK) {
        err = be->session_check(be->ctx, token, now, SESSION_DEFAULT_TTL_MS, &r->session);
    }
    r->logged_in = err == FT_OK;
    return err;
}

int web_session_end(web_req_t *r, const char *token)
{
    web_backend_t *be = &r->web->be;
    return be->session_end(be->ctx, token);
}

void web_unavailable(web_req_t *r, const char *detail)
{
    const char *words = r->web->be.unavailable
                            ? r->web->be.unavailable
                            : "the dashboard's store cannot be reached; try again shortly";
    char msg[512];
    snprintf(msg, sizeof msg, "%s%s%s", words, detail ? ": " : "", detail ? detail : "");
    web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", msg);
}

/* True unless the browser names an Origin that is not this host. */
static bool origin_ok(web_req_t *r)
{
    const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
    const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
    return httpparse_origin_ok(origin, host);
}

/* True if a state-changing request carries the session's CSRF token and
 * comes from this host. */
static bool csrf_ok(web_req_t *r)
{
    const char *tok = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
    return httpparse_token_eq(tok, r->session.csrf) && origin_ok(r);
}

static bool state_changing(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

static bool metrics_token_ok(web_req_t *r)
{
    const char *want = r->web->opts.metrics_token;
    const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    return httpparse_bearer_ok(auth, want);
}

/* The connection's guard entry (its MHD socket context). */
static httpguard_conn_t *conn_guard(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* An event stream within the session's and the server's limits; else the
 * refusal is the reply. */
static bool stream_admitted(web_req_t *r)
{
    uint64_t key = 0;
    if (r->logged_in) {
        unsigned char h[crypto_shorthash_BYTES];
        crypto_shorthash(h, (const unsigned char *)r->session.csrf, strlen(r->session.csrf),
                         r->web->stream_key);
        memcpy(&key, h, sizeof key);
    }
    const httpguard_opts_t *o = httpguard_opts(r->web->guard);
    char msg[200];
    switch (httpguard_stream(r->web->guard, conn_guard(r->conn), key)) {
    case HTTPGUARD_STREAM_OK:
        return true;
    case HTTPGUARD_STREAM_SESSION_FULL:
        snprintf(msg, sizeof msg,
                 "this session has %u live event streams open (http.streams_per_session); "
                 "close a page of the dashboard",
                 o->streams_per_session);
        web_error(r, 429, "too_many_streams", msg);
        return false;
    case HTTPGUARD_STREAM_ALL_FULL:
    default:
        snprintf(msg, sizeof msg,
                 "the dashboard has %u live event streams open (http.max_streams); try again "
                 "later",
                 o->max_streams);
        web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy", msg);
        return false;
    }
}

static void dispatch(web_req_t *r, req_ctx_t *rc)
{
    const char *path = r->path;
    /* Pages and assets. */
    if (strcmp(path, "/login") == 0 || strcmp(path, "/login.html") == 0) {
        serve_asset(r, webassets_find("login.html"));
        return;
    }
    if (strncmp(path, "/assets/", 8) == 0) {
        const webasset_t *a = webassets_find(path + 8);
        if (!a) {
            web_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such asset");
            return;
        }
        if (!asset_public(a->name)) {
            load_session(r);
            if (r->unavailable) {
                web_unavailable(r, NULL);
                return;
            }
            if (!r->logged_in) {
                atomic_fetch_add(&r->web->refused, 1);
                web_error(r, MHD_HTTP_UNAUTHORIZED, "login_required", "log in first");
                return;
            }
        }
        serve_asset(r, a);
        return;
    }
    if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
        load_session(r);
        if (r->unavailable) {
            /* A page, not JSON: a browser reloading the dashboard shows it. */
            serve_asset_status(r, webassets_find("unavailable.html"), MHD_HTTP_SERVICE_UNAVAILABLE);
            return;
        }
        if (!r->logged_in) {
            r->status = 0; /* redirect below */
            return;
        }
        serve_asset(r, webassets_find(r->web->be.index_page));
        return;
    }
    /* The modules' routes. */
    const web_route_t *route = NULL;
    bool path_known = false;
    web_t *w = r->web;
    for (size_t m = 0; m < w->n_ready && !route; m++) {
        for (const web_route_t *e = w->modules[m]->routes; e && e->method; e++) {
            if (httpparse_route_match(e->pattern, r->raw_path, r->args, WEB_MAX_ARGS, &r->n_args)) {
                path_known = true;
                if (strcmp(e->method, r->method) == 0) {
                    route = e;
                    r->mod = w->states[m];
                    break;
                }
                httpparse_args_free(r->args, &r->n_args);
            }
        }
    }
    if (!route) {
        if (path_known) {
            web_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                      "this method is not allowed here");
        } else {
            web_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such page or API");
        }
        return;
    }
    /* The bearer token stands in for a session where the route allows it. */
    bool by_token = (route->flags & WEB_ROUTE_METRICS_TOKEN) && metrics_token_ok(r);
    if (route->role != ROLE_NONE && !by_token) {
        load_session(r);
        if (r->unavailable) {
            web_unavailable(r, NULL);
            return;
        }
        if (!r->logged_in) {
            atomic_fetch_add(&r->web->refused, 1);
            web_error(r, MHD_HTTP_UNAUTHORIZED, "login_required",
                      (route->flags & WEB_ROUTE_METRICS_TOKEN)
                          ? "log in, or send Authorization: Bearer with http_metrics_token"
                          : "log in first");
            return;
        }
        if (r->session.role < route->role) {
            refused_403(r, "role_required");
            char msg[128];
            snprintf(msg, sizeof msg, "this needs the %s role; you are %s",
                     user_role_name(route->role), user_role_name(r->session.role));
            web_error(r, MHD_HTTP_FORBIDDEN, "role_required", msg);
            return;
        }
        if (state_changing(r->method) && !csrf_ok(r)) {
            refused_403(r, "csrf");
            web_error(r, MHD_HTTP_FORBIDDEN, "csrf",
                      "missing or wrong X-CSRF-Token (reload the page)");
            return;
        }
    }
    if (route->role == ROLE_NONE && state_changing(r->method) && !origin_ok(r)) {
        /* No session to hold a token yet (the login itself): the origin
         * must be this host, so another site cannot log a browser in. */
        refused_403(r, "cross_site");
        web_error(r, MHD_HTTP_FORBIDDEN, "csrf", "cross-site request refused");
        return;
    }
    if (rc->too_big) {
        web_error(r, 413, "too_large", "the request body is too large");
        return;
    }
    if (httpparse_body(rc->body, rc->len, &r->body) != FT_OK) {
        web_error(r, MHD_HTTP_BAD_REQUEST, "bad_json", "the body must be a JSON object");
        return;
    }
    if ((route->flags & WEB_ROUTE_STREAM) && !stream_admitted(r)) {
        return;
    }
    route->fn(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    web_t *w = cls;
    req_ctx_t *rc = *con_cls;
    if (!rc || !rc->raw_path) {
        return MHD_NO; /* on_uri had no memory */
    }
    if (!rc->started) {
        rc->started = true;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (rc->len + *upload_size > WEB_MAX_BODY) {
            rc->too_big = true;
        } else {
            char *nb = realloc(rc->body, rc->len + *upload_size + 1);
            if (!nb) {
                return MHD_NO;
            }
            memcpy(nb + rc->len, upload_data, *upload_size);
            rc->body = nb;
            rc->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    httpguard_busy(w->guard, conn_guard(c));
    web_req_t r = {.web = w,
                   .sh = &w->sh,
                   .conn = c,
                   .method = method,
                   .path = url,
                   .raw_path = rc->raw_path,
                   .status = 200};
    r.range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
    dispatch(&r, rc);
    enum MHD_Result ret;
    if (r.status == 0 && !r.json && !r.response) {
        ret = send_redirect(c, "/login");
    } else {
        ret = send_req(&r);
    }
    reply_reset(&r);
    json_decref(r.body);
    httpparse_args_free(r.args, &r.n_args);
    sodium_memzero(&r.session, sizeof r.session);
    return ret;
}

/* The request line is in (before MHD decodes the path): the request's
 * state, with the raw path (up to '?'). Its return value is the request's
 * *con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    req_ctx_t *rc = calloc(1, sizeof *rc);
    if (rc) {
        rc->raw_path = strndup(uri ? uri : "", uri ? strcspn(uri, "?") : 0);
    }
    return rc;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    web_t *w = cls;
    (void)toe;
    req_ctx_t *rc = *con_cls;
    if (rc) {
        free(rc->raw_path);
        free(rc->body);
        free(rc);
        *con_cls = NULL;
    }
    httpguard_waiting(w->guard, conn_guard(c), httpguard_now_ms());
}

/* Before a connection is accepted: the guard makes room or refuses it. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    web_t *w = cls;
    (void)addrlen;
    return httpguard_admit(w->guard, addr, httpguard_now_ms()) ? MHD_YES : MHD_NO;
}

/* A connection started (its guard entry becomes its socket context) or
 * closed (the entry goes). */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    web_t *w = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fi =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ai =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        int fd = fi ? fi->connect_fd : -1;
        *socket_context =
            httpguard_open(w->guard, fd, ai ? ai->client_addr : NULL, httpguard_now_ms());
        if (!*socket_context && fd >= 0) {
            (void)shutdown(fd, SHUT_RDWR); /* no entry left: MHD closes it */
        }
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        httpguard_gone(w->guard, *socket_context);
        *socket_context = NULL;
    }
}

/* libmicrohttpd's own messages: at most MHD_LOG_PER_MIN lines a minute,
 * then one summary line a minute (on_tick). When the process has no
 * descriptor left and MHD holds no connection, its listener retries accept
 * at once, forever ("Will try busy waiting"): the pause here, on the
 * listener's own thread, makes that 10 tries a second. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    web_t *w = cls;
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '\n') {
        buf[--n] = 0;
    }
    pthread_mutex_lock(&w->mhdlog_lock);
    bool ok = ratelimit_allow(&w->mhdlog_rl, httpguard_now_ms(), NULL);
    if (!ok) {
        w->mhdlog_unlogged++;
    }
    pthread_mutex_unlock(&w->mhdlog_lock);
    if (ok) {
        log_warn("http: %s", buf);
    }
    if (strstr(buf, "busy waiting") || strstr(buf, "resource limit")) {
        struct timespec ts = {0, MHD_BUSY_WAIT_PAUSE_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* An aggregated audit entry of the refusal ledgers (webrefuse_due). */
static int write_refusals(void *ctx, const char *action, const char *detail, uint64_t total,
                          uint64_t unlogged)
{
    web_t *w = ctx;
    int err = audit_write(w, "-", action, "dashboard", detail);
    if (err == FT_OK && unlogged > 0) {
        log_warn("dashboard: %llu of %llu %s not logged one by one (the audit entry %s counts "
                 "them all)",
                 (unsigned long long)unlogged, (unsigned long long)total,
                 strcmp(action, "login_failed") == 0 ? "failed logins" : "refused requests",
                 action);
    }
    return err;
}

/* The guard thread's tick (every 250 ms): refusals due for the audit log,
 * and the summary of libmicrohttpd's lines that were not logged. */
static void on_tick(void *ctx, int64_t now_ms)
{
    web_t *w = ctx;
    webrefuse_due(w->refusals, now_ms, false, write_refusals, w);
    uint64_t unlogged = 0;
    pthread_mutex_lock(&w->mhdlog_lock);
    if (w->mhdlog_unlogged > 0 && now_ms - w->mhdlog_summary_ms >= 60000) {
        unlogged = w->mhdlog_unlogged;
        w->mhdlog_unlogged = 0;
        w->mhdlog_summary_ms = now_ms;
    }
    pthread_mutex_unlock(&w->mhdlog_lock);
    if (unlogged > 0) {
        log_warn("http: %llu more messages of libmicrohttpd not logged (at most %d a minute)",
                 (unsigned long long)unlogged, MHD_LOG_PER_MIN);
    }
}

/* Parses "HOST:PORT" (IPv4 or "[v6]:port"). */
static int parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[128];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof host) {
        return FT_EINVAL;
    }
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = 0;
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (!end || *end || port < 0 || port > 65535 || colon[1] == 0) {
        return FT_EINVAL;
    }
    memset(ss, 0, sizeof *ss);
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = 0;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1) {
            return FT_EINVAL;
        }
        *len = sizeof *a6;
        return FT_OK;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0) {
        snprintf(host, sizeof host, "127.0.0.1");
    }
    if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &a4->sin_addr) != 1) {
        return FT_EINVAL;
    }
    *len = sizeof *a4;
    return FT_OK;
}

static void free_pem(char **p)
{
    if (*p) {
        sodium_memzero(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

/* ---- the watcher: shared handles, then the modules ---- */

static void server_poll(void *ctx, webevents_t *ev)
{
    (void)ev;
    web_t *w = ctx;
    int64_t t0 = (int64_t)hlc_wall_ms();
    if (w->be.poll) {
        w->be.poll(w->be.ctx, &w->sh);
    }
    for (size_t m = 0; m < w->n_ready; m++) {
        if (w->modules[m]->poll) {
            w->modules[m]->poll(w->states[m], &w->sh);
        }
    }
    /* Expired sessions go every ~10 minutes (they are refused anyway). */
    if (w->polls % SESSION_SWEEP_POLLS == 0) {
        size_t swept = 0;
        if (w->be.session_sweep(w->be.ctx, t0, &swept) != FT_OK) {
            log_warn("dashboard: cannot sweep expired sessions");
        }
    }
    pthread_mutex_lock(&w->stats_lock);
    w->poll_ms = (double)((int64_t)hlc_wall_ms() - t0);
    w->polls++;
    pthread_mutex_unlock(&w->stats_lock);
}

/* ---- the modules' life ---- */

/* Inits the modules in order; on a failure finis those made, in reverse. */
static int modules_init(web_t *w, const web_module_t *const *modules)
{
    size_t n = 0;
    while (modules && modules[n]) {
        n++;
    }
    w->modules = calloc(n ? n : 1, sizeof *w->modules);
    w->states = calloc(n ? n : 1, sizeof *w->states);
    if (!w->modules || !w->states) {
        return FT_ENOMEM;
    }
    w->n_modules = n;
    for (size_t i = 0; i < n; i++) {
        w->modules[i] = modules[i];
        int err = modules[i]->init ? modules[i]->init(&w->sh, &w->states[i]) : FT_OK;
        if (err != FT_OK) {
            log_error("web module %s cannot start: %s", modules[i]->name, ft_strerror(err));
            return err;
        }
        w->n_ready = i + 1;
    }
    return FT_OK;
}

static void modules_fini(web_t *w)
{
    while (w->n_ready > 0) {
        w->n_ready--;
        if (w->modules[w->n_ready]->fini) {
            w->modules[w->n_ready]->fini(w->states[w->n_ready]);
        }
        w->states[w->n_ready] = NULL;
    }
    free(w->modules);
    free(w->states);
    w->modules = NULL;
    w->states = NULL;
    w->n_modules = 0;
}

/* Frees what http_start made: the watcher first (it polls the modules), then
 * the modules, then what they share. */
static void http_free(http_t *h)
{
    webevents_destroy(&h->web.sh.events);
    httpguard_destroy(&h->web.guard);
    modules_fini(&h->web);
    webrefuse_destroy(&h->web.refusals);
    pthread_mutex_destroy(&h->web.mhdlog_lock);
    if (h->web.be_open && h->web.be.close) {
        h->web.be.close(h->web.be.ctx, &h->web.sh);
    }
    pthread_mutex_destroy(&h->web.stats_lock);
    free_pem(&h->cert_pem);
    free_pem(&h->key_pem);
    free(h);
}

/* A whole number in [lo, hi] from text (a config key), or def when unset. */
static int limit_of(const char *key, const char *text, uint64_t lo, uint64_t hi, uint64_t def,
                    uint64_t *out)
{
    *out = def;
    if (!text) {
        return FT_OK;
    }
    if (config_parse_u64(text, out) != FT_OK || *out < lo || *out > hi) {
        log_error("%s must be a whole number from %llu to %llu, not \"%s\"", key,
                  (unsigned long long)lo, (unsigned long long)hi, text);
        return FT_EINVAL;
    }
    return FT_OK;
}

/* The connection limits from opts, checked; max_connections is kept within
 * a quarter of the descriptors the process may open (the sync, media and
 * alert ports, LMDB and the webhooks need the rest). */
static int guard_opts(const http_opts_t *opts, httpguard_opts_t *g)
{
    httpguard_defaults(g);
    uint64_t conns, per_addr, timeout_s, streams, per_session;
    if (limit_of("http.max_connections", opts->max_connections, 4, 65536,
                 HTTPGUARD_DEFAULT_MAX_CONNECTIONS, &conns) != FT_OK ||
        limit_of("http.max_per_address", opts->max_per_address, 1, conns,
                 conns < HTTPGUARD_DEFAULT_MAX_PER_ADDRESS ? conns
                                                           : HTTPGUARD_DEFAULT_MAX_PER_ADDRESS,
                 &per_addr) != FT_OK ||
        limit_of("http.request_timeout_s", opts->request_timeout_s, 1, 3600,
                 HTTPGUARD_DEFAULT_REQUEST_TIMEOUT_MS / 1000, &timeout_s) != FT_OK ||
        limit_of("http.max_streams", opts->max_streams, 1, conns / 2, conns / 4, &streams) !=
            FT_OK ||
        limit_of("http.streams_per_session", opts->streams_per_session, 1, 64,
                 HTTPGUARD_DEFAULT_STREAMS_PER_SESSION, &per_session) != FT_OK) {
        return FT_EINVAL;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        conns > rl.rlim_cur / 4 && rl.rlim_cur / 4 >= 4) {
        uint64_t fit = rl.rlim_cur / 4;
        log_warn("http.max_connections %llu lowered to %llu: the hub may open %llu descriptors "
                 "(LimitNOFILE; docs/operations.md \"The service units\")",
                 (unsigned long long)conns, (unsigned long long)fit,
                 (unsigned long long)rl.rlim_cur);
        conns = fit;
        per_addr = per_addr < conns ? per_addr : conns;
        streams = streams < conns / 2 ? streams : conns / 2;
    }
    g->max_connections = (unsigned)conns;
    g->max_per_address = (unsigned)per_addr;
    g->request_timeout_ms = (int64_t)timeout_s * 1000;
    g->max_streams = (unsigned)(streams ? streams : 1);
    g->streams_per_session = (unsigned)per_session;
    return FT_OK;
}

int http_serve(const web_backend_t *be, const config_t *cfg, const rulepack_t *pack,
               const struct web_module *const *modules, const http_opts_t *opts, http_t **out)
{
    *out = NULL;
    if (!opts->listen || strcmp(opts->listen, "off") == 0) {
        log_info("web dashboard off (config http = off)");
        if (be->close) {
            be->close(be->ctx, NULL);
        }
        return FT_OK;
    }
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    if (parse_listen(opts->listen, &ss, &sslen) != FT_OK) {
        log_error("http listen address \"%s\" is not HOST:PORT (e.g. %s)", opts->listen,
                  HTTP_DEFAULT_LISTEN);
        if (be->close) {
            be->close(be->ctx, NULL);
        }
        return FT_EINVAL;
    }
    http_t *h = calloc(1, sizeof *h);
    if (!h) {
        if (be->close) {
            be->close(be->ctx, NULL);
        }
        return FT_ENOMEM;
    }
    h->web.be = *be;
    h->web.be_open = true; /* from here http_free closes the backend (it frees ctx) */
    h->web.sh.cfg = cfg;
    h->web.sh.pack = pack;
    h->web.opts = *opts;
    pthread_mutex_init(&h->web.stats_lock, NULL);
    pthread_mutex_init(&h->web.mhdlog_lock, NULL);
    h->web.mhdlog_rl = ratelimit_make(MHD_LOG_PER_MIN, 60000);
    randombytes_buf(h->web.stream_key, sizeof h->web.stream_key);
    httpguard_opts_t go;
    if (guard_opts(opts, &go) != FT_OK) {
        http_free(h);
        return FT_EINVAL;
    }
    go.tick = on_tick;
    go.tick_ctx = &h->web;
    bool want_tls = (opts->tls_cert && *opts->tls_cert) || (opts->tls_key && *opts->tls_key);
    if (want_tls) {
        size_t n;
        if (!opts->tls_cert || !opts->tls_key ||
            fsutil_read_all(opts->tls_cert, &h->cert_pem, &n) != FT_OK ||
            fsutil_read_all(opts->tls_key, &h->key_pem, &n) != FT_OK) {
            log_error("TLS needs both http_tls_cert and http_tls_key as readable PEM files");
            http_free(h);
            return FT_EINVAL;
        }
        h->web.tls = true;
    }
    web_shared_t *sh = &h->web.sh;
    int err = be->open ? be->open(be->ctx, sh) : FT_OK;
    /* The modules before the watcher, which polls them from its first turn
     * (sh->events is set once the watcher is made: NULL during init). */
    if (err == FT_OK) {
        err = modules_init(&h->web, modules);
    }
    if (err == FT_OK) {
        err = webevents_new(server_poll, &h->web, &sh->events);
    }
    if (err == FT_OK) {
        err = webrefuse_new(&h->web.refusals);
    }
    if (err == FT_OK) {
        err = httpguard_new(&go, &h->web.guard);
    }
    if (err != FT_OK) {
        log_error("cannot start the web dashboard: %s", ft_strerror(err));
        http_free(h);
        return err;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ERROR_LOG | MHD_USE_POLL;
    if (ss.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    struct MHD_OptionItem tls[] = {{MHD_OPTION_HTTPS_MEM_CERT, 0, h->cert_pem},
                                   {MHD_OPTION_HTTPS_MEM_KEY, 0, h->key_pem},
                                   {MHD_OPTION_END, 0, NULL}};
    struct MHD_OptionItem plain[] = {{MHD_OPTION_END, 0, NULL}};
    if (h->web.tls) {
        flags |= MHD_USE_TLS;
    }
    /* The connection limit is the guard's table; the idle timeout (any byte
     * restarts it) only ends connections that stopped altogether, e.g. a
     * reader of a reply that reads no more: the guard's request deadline
     * ends slow requests. */
    h->daemon = MHD_start_daemon(
        flags, 0, on_accept, &h->web, on_request, &h->web, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
        &h->web, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, &h->web, MHD_OPTION_NOTIFY_CONNECTION, on_connection, &h->web,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, &h->web, MHD_OPTION_CONNECTION_LIMIT,
        go.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_ARRAY,
        h->web.tls ? tls : plain, MHD_OPTION_END);
    if (!h->daemon && !opts->required) {
        log_warn("web dashboard not started: %s is taken (set `http` in the config or "
                 "--http to choose another address)",
                 opts->listen);
        http_free(h);
        return FT_OK;
    }
    if (!h->daemon) {
        log_error("cannot serve the dashboard on %s (address in use, or TLS material "
                  "rejected: see above)",
                  opts->listen);
        http_free(h);
        return FT_EIO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : 0;
    char host[128];
    snprintf(host, sizeof host, "%.*s", (int)(strrchr(opts->listen, ':') - opts->listen),
             opts->listen);
    if (!host[0] || strcmp(host, "0.0.0.0") == 0) {
        snprintf(host, sizeof host, "127.0.0.1");
    }
    char url[256], path[4096];
    snprintf(url, sizeof url, "%s://%s:%u/\n", h->web.tls ? "https" : "http", host,
             (unsigned)h->port);
    if (be->url_dir && fsutil_join(path, sizeof path, be->url_dir, "url") == FT_OK &&
        fsutil_write_atomic(path, url, strlen(url), 0644) != FT_OK) {
        log_warn("cannot write %s", path);
    }
    url[strlen(url) - 1] = 0;
    const httpguard_opts_t *g = httpguard_opts(h->web.guard);
    log_info("web dashboard on %s (at most %u connections, %u per address, %u waiting, requests "
             "in within %lld s, %u event streams, %u per session)",
             url, g->max_connections, g->max_per_address, g->max_waiting,
             (long long)(g->request_timeout_ms / 1000), g->max_streams, g->streams_per_session);
    *out = h;
    return FT_OK;
}

void http_stop(http_t **h_p)
{
    if (!h_p || !*h_p) {
        return;
    }
    http_t *h = *h_p;
    webevents_stop(h->web.sh.events);
    MHD_stop_daemon(h->daemon);
    /* No request is left: the guard's thread stops, then the last refusals
     * go to the audit log. */
    httpguard_destroy(&h->web.guard);
    webrefuse_due(h->web.refusals, httpguard_now_ms(), true, write_refusals, &h->web);
    if (h->web.mhdlog_unlogged > 0) {
        log_warn("http: %llu more messages of libmicrohttpd not logged (at most %d a minute)",
                 (unsigned long long)h->web.mhdlog_unlogged, MHD_LOG_PER_MIN);
    }
    http_free(h);
    *h_p = NULL;
}
