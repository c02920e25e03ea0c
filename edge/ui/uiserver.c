/* uiserver.c: the screen's HTTP server (see uiserver.h and uiint.h).
 *
 * Request state machine, per request (MHD calls on_request several times):
 *   first call        -> allocate body_t, return
 *   calls with a body -> append (over UI_MAX_BODY: remember, answer 413)
 *   last call         -> dispatch: page or asset (no session needed: they
 *                        hold no data), else route -> session (401) ->
 *                        CSRF token and Origin on POST (403) -> handler
 *   on_completed      -> free body_t
 * Invariants:
 *   - no API answers without a signed-in officer but POST /api/login;
 *   - every POST with a session carries X-CSRF-Token equal to the session's,
 *     and an Origin (when the browser sends one) of this host; the login
 *     itself must come from this host's Origin;
 *   - the session cookie is HttpOnly and SameSite=Strict; only a hash of
 *     its token is kept, in memory;
 *   - every reply carries the security headers (CSP 'self' only).
 */
#include "fsutil.h"
#include "hlc.h"
#include "logging.h"
#include "packfile.h"
#include "uiassets.h"
#include "uiint.h"
#include "utf8.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define COOKIE_NAME "ft_screen"

/* Per-request state kept between MHD calls. */
typedef struct {
    char *body;
    size_t len;
    bool too_big;
} body_t;

int64_t ui_now(const ui_t *ui)
{
    return (int64_t)devlog_wall_ms(ui->o.log);
}

/* ---- replies ---- */

static void reply_reset(ui_req_t *r)
{
    json_decref(r->json);
    r->json = NULL;
    if (r->response) {
        MHD_destroy_response(r->response);
        r->response = NULL;
    }
}

void ui_reply(ui_req_t *r, unsigned status, json_t *body)
{
    reply_reset(r);
    if (!body) {
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        body = json_pack("{s:s, s:s}", "error", "internal", "message", "out of memory");
    }
    r->status = status;
    r->json = body;
}

void ui_error(ui_req_t *r, unsigned status, const char *code, const char *message)
{
    ui_reply(r, status, json_pack("{s:s, s:s}", "error", code, "message", message));
}

const char *ui_query(const ui_req_t *r, const char *name)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? v : NULL;
}

long long ui_query_int(const ui_req_t *r, const char *name, long long def)
{
    const char *v = ui_query(r, name);
    if (!v) {
        return def;
    }
    char *end = NULL;
    long long x = strtoll(v, &end, 10);
    return end && *end == '\0' ? x : def;
}

const char *ui_body_str(const ui_req_t *r, const char *name)
{
    return json_string_value(json_object_get(r->body, name));
}

int ui_audit(ui_t *ui, const char *user, const char *action, const char *target, const char *detail)
{
    int err = devlog_append1_audit(ui->o.log, user, action, target, detail, NULL);
    if (err != FT_OK) {
        log_error("screen: cannot write the %s of %s to the log: %s", action, user,
                  ft_strerror(err));
    }
    return err;
}

/* ---- sessions ---- */

static void token_hash(const char *token, uint8_t out[32])
{
    crypto_generichash(out, 32, (const uint8_t *)token, strlen(token), NULL, 0);
}

static void random_token(char out[UI_TOKEN_SIZE])
{
    uint8_t raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, UI_TOKEN_SIZE, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

static void set_cookie(ui_req_t *r, const char *token)
{
    if (token) {
        snprintf(r->set_cookie, sizeof r->set_cookie,
                 COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict", token);
    } else {
        snprintf(r->set_cookie, sizeof r->set_cookie,
                 COOKIE_NAME "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    }
}

/* Finds the live session of the request's cookie (a copy into r). */
static void load_session(ui_req_t *r)
{
    const char *token = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE_NAME);
    r->logged_in = false;
    r->session_slot = -1;
    if (!token) {
        return;
    }
    uint8_t h[32];
    token_hash(token, h);
    int64_t now = ui_now(r->ui);
    ui_t *ui = r->ui;
    pthread_mutex_lock(&ui->lock);
    for (int i = 0; i < UI_MAX_SESSIONS; i++) {
        ui_session_t *s = &ui->sessions[i];
        if (!s->used || sodium_memcmp(s->token_hash, h, 32) != 0) {
            continue;
        }
        if (now - s->last_ms > UI_SESSION_IDLE_MS) {
            memset(s, 0, sizeof *s); /* idle too long: signed out */
            break;
        }
        s->last_ms = now;
        r->session = *s;
        r->session_slot = i;
        r->logged_in = true;
        break;
    }
    pthread_mutex_unlock(&ui->lock);
}

int ui_session_new(ui_req_t *r, const officer_t *o)
{
    ui_t *ui = r->ui;
    char token[UI_TOKEN_SIZE];
    random_token(token);
    pthread_mutex_lock(&ui->lock);
    /* a free slot, else the one untouched longest */
    int slot = 0;
    for (int i = 0; i < UI_MAX_SESSIONS; i++) {
        if (!ui->sessions[i].used) {
            slot = i;
            break;
        }
        if (ui->sessions[i].last_ms < ui->sessions[slot].last_ms) {
            slot = i;
        }
    }
    ui_session_t *s = &ui->sessions[slot];
    memset(s, 0, sizeof *s);
    s->used = true;
    token_hash(token, s->token_hash);
    random_token(s->csrf);
    s->officers[0] = *o;
    s->n_officers = 1;
    s->last_ms = ui_now(ui);
    r->session = *s;
    r->session_slot = slot;
    r->logged_in = true;
    pthread_mutex_unlock(&ui->lock);
    set_cookie(r, token);
    sodium_memzero(token, sizeof token);
    return FT_OK;
}

int ui_session_add(ui_req_t *r, const officer_t *o)
{
    ui_t *ui = r->ui;
    int err = FT_OK;
    pthread_mutex_lock(&ui->lock);
    ui_session_t *s = &ui->sessions[r->session_slot];
    size_t i = 0;
    while (i < s->n_officers && strcmp(s->officers[i].id, o->id) != 0) {
        i++;
    }
    if (i == s->n_officers && s->n_officers == UI_MAX_OFFICERS) {
        err = FT_EINVAL;
    } else {
        s->officers[i] = *o;
        if (i == s->n_officers) {
            s->n_officers++;
        }
        r->session = *s;
    }
    pthread_mutex_unlock(&ui->lock);
    return err;
}

void ui_session_remove(ui_req_t *r, const char *id)
{
    ui_t *ui = r->ui;
    pthread_mutex_lock(&ui->lock);
    ui_session_t *s = &ui->sessions[r->session_slot];
    if (id) {
        for (size_t i = 0; i < s->n_officers; i++) {
            if (strcmp(s->officers[i].id, id) == 0) {
                memmove(&s->officers[i], &s->officers[i + 1],
                        (s->n_officers - i - 1) * sizeof s->officers[0]);
                s->n_officers--;
                break;
            }
        }
    }
    bool ended = !id || s->n_officers == 0;
    if (ended) {
        memset(s, 0, sizeof *s);
        r->logged_in = false;
    } else {
        r->session = *s;
    }
    pthread_mutex_unlock(&ui->lock);
    if (ended) {
        set_cookie(r, NULL);
    }
}

/* ---- the rule pack ---- */

static int load_default_pack(ui_t *ui)
{
    char err[256];
    rulepack_t *p = NULL;
    int rc = rules_parse(rules_default_text, "default", &p, err, sizeof err);
    if (rc != FT_OK) {
        log_error("screen: the built-in rule pack does not parse: %s", err);
        return rc;
    }
    rules_destroy(&ui->pack);
    ui->pack = p;
    snprintf(ui->pack_from, sizeof ui->pack_from, "default");
    return FT_OK;
}

/* Falls back to the default pack, saying why the hub's is not used. */
static void pack_fallback(ui_t *ui, const char *why)
{
    if (strcmp(ui->pack_note, why) != 0) {
        log_warn("screen: the hub's rule pack is not used (%s): judging by the built-in default",
                 why);
    }
    snprintf(ui->pack_note, sizeof ui->pack_note, "%s", why);
    if (strcmp(ui->pack_from, "default") != 0) {
        (void)load_default_pack(ui);
    }
}

/* Reads STATE/hub.rules again when it, or the hub key the sync link knows,
 * changed: used if its signature verifies with that key and it parses. */
static void pack_reload(ui_t *ui)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", ui->state, PACKFILE_NAME);
    bool have = stat(path, &st) == 0;
    if (!have) {
        memset(&st, 0, sizeof st);
    }
    uint8_t key[32] = {0};
    bool have_key = ui->o.prov.hub_key && ui->o.prov.hub_key(ui->o.prov.ctx, key) == FT_OK;
    if (ui->pack_mtime.tv_sec == st.st_mtim.tv_sec &&
        ui->pack_mtime.tv_nsec == st.st_mtim.tv_nsec && ui->pack_ino == st.st_ino &&
        ui->pack_size == st.st_size && memcmp(ui->pack_key, key, 32) == 0) {
        return;
    }
    ui->pack_mtime = st.st_mtim;
    ui->pack_ino = st.st_ino;
    ui->pack_size = st.st_size;
    memcpy(ui->pack_key, key, 32);
    if (!have) {
        ui->pack_note[0] = '\0';
        if (strcmp(ui->pack_from, "default") != 0) {
            (void)load_default_pack(ui);
        }
        return;
    }
    if (!have_key) {
        pack_fallback(ui, "the hub's signing key is not known yet");
        return;
    }
    char *text = NULL;
    int err = packfile_read(ui->state, key, &text);
    if (err != FT_OK) {
        pack_fallback(ui, err == FT_EBADSIG ? "its signature does not verify with the hub's key"
                                            : "it cannot be read");
        return;
    }
    char why[256];
    rulepack_t *p = NULL;
    err = rules_parse(text, "the hub's pack (" PACKFILE_NAME ")", &p, why, sizeof why);
    free(text);
    if (err != FT_OK) {
        pack_fallback(ui, why);
        return;
    }
    rules_destroy(&ui->pack);
    ui->pack = p;
    snprintf(ui->pack_from, sizeof ui->pack_from, "hub");
    ui->pack_note[0] = '\0';
    log_info("screen: judging by the rule pack the hub sent");
}

const rulepack_t *ui_pack(ui_t *ui)
{
    pack_reload(ui);
    return ui->pack;
}

/* ---- sending ---- */

static void add_security_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                            "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
                            "base-uri 'none'; form-action 'self'");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result send_req(ui_req_t *r)
{
    struct MHD_Response *resp = r->response;
    r->response = NULL;
    if (!resp) {
        if (!r->json) {
            r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
            r->json = json_pack("{s:s, s:s}", "error", "internal", "message", "no reply");
        }
        char *text = json_dumps(r->json, JSON_COMPACT);
        if (!text) {
            return MHD_NO;
        }
        resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(text);
            return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    }
    add_security_headers(resp);
    if (r->set_cookie[0]) {
        MHD_add_response_header(resp, "Set-Cookie", r->set_cookie);
    }
    enum MHD_Result ret = MHD_queue_response(r->conn, r->status ? r->status : 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void serve_asset(ui_req_t *r, const uiasset_t *a)
{
    if (!a) {
        ui_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such page");
        return;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (resp) {
        MHD_add_response_header(resp, "Content-Type", a->mime);
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
    }
    reply_reset(r);
    r->status = MHD_HTTP_OK;
    r->response = resp;
    if (!resp) {
        ui_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "cannot build the response");
    }
}

/* ---- routing ---- */

/* True unless the browser names an Origin that is not this host. */
static bool origin_ok(ui_req_t *r)
{
    const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
    const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
    if (!origin || !host) {
        return true;
    }
    const char *o = strstr(origin, "://");
    return o && strcmp(o + 3, host) == 0;
}

static bool csrf_ok(ui_req_t *r)
{
    const char *tok = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
    const char *want = r->session.csrf;
    return tok && strlen(tok) == strlen(want) && sodium_memcmp(tok, want, strlen(want)) == 0 &&
           origin_ok(r);
}

static void dispatch(ui_req_t *r, body_t *b)
{
    const char *path = r->path;
    if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
        serve_asset(r, uiassets_find("index.html"));
        return;
    }
    if (strncmp(path, "/assets/", 8) == 0) {
        serve_asset(r, uiassets_find(path + 8));
        return;
    }
    const ui_route_t *route = NULL;
    bool known = false;
    for (const ui_route_t *e = ui_routes; e->method; e++) {
        if (strcmp(e->path, path) == 0) {
            known = true;
            if (strcmp(e->method, r->method) == 0) {
                route = e;
                break;
            }
        }
    }
    if (!route) {
        ui_error(r, known ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND,
                 known ? "method_not_allowed" : "not_found",
                 known ? "this method is not allowed here" : "no such page or API");
        return;
    }
    load_session(r);
    bool changing = strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0;
    if (route->session && !r->logged_in) {
        ui_error(r, MHD_HTTP_UNAUTHORIZED, "sign_in", "sign in first");
        return;
    }
    if (changing && r->logged_in && !csrf_ok(r)) {
        ui_error(r, MHD_HTTP_FORBIDDEN, "csrf", "missing or wrong X-CSRF-Token (reload the page)");
        return;
    }
    if (changing && !r->logged_in && !origin_ok(r)) {
        ui_error(r, MHD_HTTP_FORBIDDEN, "csrf", "cross-site request refused");
        return;
    }
    if (b->too_big) {
        ui_error(r, 413, "too_large", "the request body is too large");
        return;
    }
    if (b->len) {
        r->body = json_loadb(b->body, b->len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(r->body)) {
            ui_error(r, MHD_HTTP_BAD_REQUEST, "bad_json", "the body must be a JSON object");
            return;
        }
    }
    route->fn(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    ui_t *ui = cls;
    body_t *b = *con_cls;
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b) {
            return MHD_NO;
        }
        *con_cls = b;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (b->len + *upload_size > UI_MAX_BODY) {
            b->too_big = true;
        } else {
            char *nb = realloc(b->body, b->len + *upload_size + 1);
            if (!nb) {
                return MHD_NO;
            }
            memcpy(nb + b->len, upload, *upload_size);
            b->body = nb;
            b->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    ui_req_t r = {.ui = ui, .conn = c, .method = method, .path = url, .status = 200};
    dispatch(&r, b);
    enum MHD_Result ret = send_req(&r);
    reply_reset(&r);
    json_decref(r.body);
    sodium_memzero(&r.session, sizeof r.session);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    body_t *b = *con_cls;
    if (b) {
        if (b->body) {
            sodium_memzero(b->body, b->len); /* a PIN may have been in it */
        }
        free(b->body);
        free(b);
        *con_cls = NULL;
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '\n') {
        buf[--n] = 0;
    }
    log_warn("screen: %s", buf);
}

/* Parses "HOST:PORT" (IPv4, "localhost", or "[v6]:port"). */
static int parse_listen(const char *text, struct sockaddr_storage *ss)
{
    char host[128];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof host || !colon[1]) {
        return FT_EINVAL;
    }
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = 0;
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (!end || *end || port < 0 || port > 65535) {
        return FT_EINVAL;
    }
    memset(ss, 0, sizeof *ss);
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = 0;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        return inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1 ? FT_OK : FT_EINVAL;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0) {
        snprintf(host, sizeof host, "127.0.0.1");
    }
    return inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &a4->sin_addr) == 1 ? FT_OK : FT_EINVAL;
}

static void ui_free(ui_t *ui)
{
    vehview_destroy(&ui->view);
    rules_destroy(&ui->pack);
    pthread_mutex_destroy(&ui->lock);
    sodium_memzero(ui->sessions, sizeof ui->sessions);
    free(ui);
}

int ui_start(const ui_opts_t *o, ui_t **out)
{
    *out = NULL;
    if (!o->listen || strcmp(o->listen, "off") == 0) {
        log_info("screen off (edge.conf ui.listen = off)");
        return FT_OK;
    }
    struct sockaddr_storage ss;
    if (parse_listen(o->listen, &ss) != FT_OK) {
        log_error("ui.listen \"%s\" is not HOST:PORT (e.g. %s)", o->listen, UI_DEFAULT_LISTEN);
        return FT_EINVAL;
    }
    if (sodium_init() < 0) {
        return FT_ECRYPTO;
    }
    ui_t *ui = calloc(1, sizeof *ui);
    if (!ui) {
        return FT_ENOMEM;
    }
    pthread_mutex_init(&ui->lock, NULL);
    ui->o = *o;
    utf8_copy(ui->state, sizeof ui->state, o->state);
    utf8_copy(ui->unit, sizeof ui->unit, o->unit);
    utf8_copy(ui->vehicle, sizeof ui->vehicle, o->vehicle);
    ui->o.state = ui->state;
    ui->o.unit = o->unit ? ui->unit : NULL;
    ui->o.vehicle = o->vehicle ? ui->vehicle : NULL;
    devid_format(devlog_device(o->log), ui->device);
    int err = vehview_new(o->log, o->unit, &ui->view);
    if (err == FT_OK) {
        err = load_default_pack(ui);
    }
    if (err != FT_OK) {
        ui_free(ui);
        return err;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ERROR_LOG | MHD_USE_POLL;
    if (ss.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    ui->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, ui, MHD_OPTION_EXTERNAL_LOGGER,
                                  on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                  MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned)32,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
    if (!ui->daemon) {
        if (o->required) {
            log_error("cannot serve the screen on %s (address in use?)", o->listen);
            ui_free(ui);
            return FT_EIO;
        }
        log_warn("screen not started: %s is taken (set ui.listen in edge.conf or --ui to "
                 "choose another address)",
                 o->listen);
        ui_free(ui);
        return FT_OK;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(ui->daemon, MHD_DAEMON_INFO_BIND_PORT);
    ui->port = info ? info->port : 0;
    char host[128];
    snprintf(host, sizeof host, "%.*s", (int)(strrchr(o->listen, ':') - o->listen), o->listen);
    if (!host[0] || strcmp(host, "0.0.0.0") == 0) {
        snprintf(host, sizeof host, "127.0.0.1");
    }
    char url[256], dir[4096], path[4200];
    snprintf(url, sizeof url, "http://%s:%u/\n", host, (unsigned)ui->port);
    if (fsutil_join(dir, sizeof dir, ui->state, "ui") == FT_OK &&
        fsutil_mkdirs(dir, 0700) == FT_OK) {
        snprintf(path, sizeof path, "%s/url", dir);
        if (fsutil_write_atomic(path, url, strlen(url), 0644) != FT_OK) {
            log_warn("cannot write %s", path);
        }
    }
    url[strlen(url) - 1] = 0;
    log_info("screen on %s", url);
    *out = ui;
    return FT_OK;
}

void ui_stop(ui_t **u_p)
{
    if (!u_p || !*u_p) {
        return;
    }
    MHD_stop_daemon((*u_p)->daemon);
    ui_free(*u_p);
    *u_p = NULL;
}
