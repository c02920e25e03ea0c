/* api_auth.c: login, logout, who am I, and user administration.
 *
 *   POST /api/login    {user, password} -> session cookie + {user, role, csrf}
 *   POST /api/logout   ends the session
 *   GET  /api/me       {user, role, csrf, expires}
 *   GET  /api/users    (admin) the users
 *   POST /api/users    (admin) {name, role, password} adds one
 *   POST /api/users/NAME  (admin) {role, disabled, password} changes one
 *
 * Failed logins are limited per user name and per client address
 * (loginlimit.h): past the free failures, 429 too_many_attempts with
 * Retry-After, without testing the password. The limiter is the module's
 * state, set up at init from the hub config (`run` has checked the keys at
 * start). Every failed or refused login goes to the signed audit log,
 * aggregated (web_login_refused: one `login_failed` entry a minute at most),
 * and to the log at a bounded rate. A lockout (the failure that starts one,
 * the first refusal during one) is a change of state a supervisor wants to
 * see even after a burst of plain failures used that budget: those lines have
 * a budget of their own (AUTH_LOCKOUT_LINES_PER_MIN), so a flood still gives
 * a bounded number of lines. The log line names the address first
 * and quotes the name with '"', '\' and control characters as \xNN, so a
 * name cannot forge a line or a part of one (docs/api.md "Failed logins").
 */
#include "api_auth.h"
#include "hlc.h"
#include "logging.h"
#include "loginlimit.h"
#include "ratelimit.h"
#include "utf8.h"
#include "web.h"
#include "webrefuse.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Who the session is: {user, role, csrf, expires, units (null: all)}. */
static json_t *me_json(const session_t *s)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "user", s->user, "role", user_role_name(s->role),
                          "csrf", s->csrf);
    json_object_set_new(o, "expires", web_time(s->expires_ms));
    json_t *units = json_null();
    if (!s->all_units) {
        units = json_array();
        const char *p = s->units;
        while (*p) {
            size_t n = strcspn(p, "\n");
            json_array_append_new(units, json_stringn(p, n));
            p += n + (p[n] == '\n');
        }
    }
    json_object_set_new(o, "units", units);
    return o;
}

/* Lockout lines a minute beyond the refusal ledger's own budget. */
#define AUTH_LOCKOUT_LINES_PER_MIN 10

/* The module's state. */
typedef struct {
    loginlimit_t limiter;      /* failed logins (fixed memory) */
    pthread_mutex_t lines_mu;  /* guards lockout_lines */
    ratelimit_t lockout_lines; /* lockout lines the refusal ledger held back */
} auth_t;

static int auth_init(const web_shared_t *sh, void **state)
{
    auth_t *a = calloc(1, sizeof *a);
    if (!a) {
        return FT_ENOMEM;
    }
    loginlimit_opts_t o;
    char err[256] = "";
    if (loginlimit_opts_from_config(sh->cfg, &o, err, sizeof err) != FT_OK) {
        log_error("%s; failed logins are limited with the defaults", err);
        loginlimit_defaults(&o);
    }
    loginlimit_init(&a->limiter, &o);
    pthread_mutex_init(&a->lines_mu, NULL);
    a->lockout_lines = ratelimit_make(AUTH_LOCKOUT_LINES_PER_MIN, 60 * 1000);
    *state = a;
    return FT_OK;
}

static void auth_fini(void *state)
{
    auth_t *a = state;
    if (a) {
        loginlimit_fini(&a->limiter);
        pthread_mutex_destroy(&a->lines_mu);
        free(a);
    }
}

static int64_t monotonic_ms(void);

/* Whether a lockout line the refusal ledger held back may still be logged. */
static bool lockout_line_allowed(auth_t *a)
{
    pthread_mutex_lock(&a->lines_mu);
    bool ok = ratelimit_allow(&a->lockout_lines, monotonic_ms(), NULL);
    pthread_mutex_unlock(&a->lines_mu);
    return ok;
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The name tried, for a log line: at most 64 bytes of it, '"', '\' and
 * control characters as \xNN. */
static const char *quoted(char *buf, size_t len, const char *name)
{
    char cut[68];
    snprintf(cut, sizeof cut, "%.*s", utf8_fit(name, 64), name);
    return webrefuse_text(buf, len, cut);
}

/* 429 with Retry-After (whole seconds, rounded up) and the JSON error. */
static void too_many_attempts(web_req_t *r, int64_t wait_ms)
{
    long long secs = (wait_ms + 999) / 1000;
    char msg[200], retry[32];
    snprintf(msg, sizeof msg,
             "too many failed logins for this user name or from this address; try again in "
             "%lld s",
             secs);
    snprintf(retry, sizeof retry, "%lld", secs);
    json_t *o = json_pack("{s:s, s:s, s:I}", "error", "too_many_attempts", "message", msg,
                          "retry_after", (json_int_t)secs);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    struct MHD_Response *resp =
        text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!resp) {
        free(text);
        web_error(r, 500, "internal", "out of memory");
        return;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(resp, "Retry-After", retry);
    r->no_cache = true;
    web_raw(r, 429, resp);
}

static void login(web_req_t *r)
{
    const char *name = web_body_str(r, "user");
    const char *password = web_body_str(r, "password");
    if (!name || !password) {
        web_error(r, 400, "bad_request", "send {\"user\": ..., \"password\": ...}");
        return;
    }
    char addr[INET6_ADDRSTRLEN + 8] = "";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    loginlimit_addr_text(ci ? ci->client_addr : NULL, addr, sizeof addr);
    auth_t *a = r->mod;
    loginlimit_t *lim = &a->limiter;
    loginlimit_verdict_t lv;
    loginlimit_begin(lim, name, addr, monotonic_ms(), &lv);
    char shown[64 * 4 + 8];
    if (lv.wait_ms > 0) {
        bool budget = web_login_refused(r, "locked_out", name);
        if (lv.first_refusal && (budget || lockout_line_allowed(a))) {
            log_warn("dashboard login from %s for user \"%s\" refused: %s locked out for "
                     "another %lld s after %u failed logins",
                     addr[0] ? addr : "?", quoted(shown, sizeof shown, name),
                     lv.user_locked ? "the user name is" : "the address is",
                     (long long)((lv.wait_ms + 999) / 1000), lv.failures);
        }
        too_many_attempts(r, lv.wait_ms);
        return;
    }
    user_t u;
    int err = web_password_check(r, name, password, &u);
    if (err != FT_OK && err != FT_EKEY) {
        web_unavailable(r, "nobody can log in until it is back");
        return;
    }
    if (err == FT_EKEY) {
        loginlimit_failed(lim, name, addr, monotonic_ms());
        bool budget = web_login_refused(r, "bad_login", name);
        if (lv.lockout_ms > 0 && (budget || lockout_line_allowed(a))) {
            log_warn("failed dashboard login from %s for user \"%s\" (%u failed); %s locked "
                     "out for %lld s",
                     addr[0] ? addr : "?", quoted(shown, sizeof shown, name), lv.failures,
                     lv.lockout_by_user ? "the user name is" : "the address is",
                     (long long)((lv.lockout_ms + 999) / 1000));
        } else if (budget && lv.lockout_ms == 0) {
            log_warn("failed dashboard login from %s for user \"%s\"", addr[0] ? addr : "?",
                     quoted(shown, sizeof shown, name));
        } /* else counted for the audit entry; the log has had its lines this minute */
        web_error(r, 401, "bad_login", "wrong user name or password");
        return;
    }
    if (err == FT_OK) {
        loginlimit_success(lim, name, addr);
    }
    char token[SESSION_TOKEN_SIZE];
    err = web_session_start(r, u.name, token);
    if (err == FT_EIO) {
        web_unavailable(r, "nobody can log in until it is back");
        return;
    }
    if (err != FT_OK) {
        web_error(r, 500, "internal", ft_strerror(err));
        return;
    }
    if (web_audit(r, "login", u.name, NULL) != FT_OK) {
        if (web_session_end(r, token) != FT_OK) {
            log_warn("cannot end a session");
        }
        web_error(r, 500, "audit", "the audit log cannot be written; nothing was done");
        return;
    }
    web_set_cookie(r, token, SESSION_DEFAULT_TTL_MS);
    sodium_memzero(token, sizeof token);
    web_json(r, 200, me_json(&r->session));
}

static void logout(web_req_t *r)
{
    const char *token = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "ft_session");
    if (web_audit(r, "logout", r->session.user, NULL) != FT_OK) {
        /* logged and counted by web_audit; ending a session is never refused */
    }
    if (web_session_end(r, token) != FT_OK) {
        web_unavailable(r, "the session could not be ended; log out again shortly");
        return;
    }
    web_set_cookie(r, NULL, 0);
    web_json(r, 200, json_pack("{s:b}", "ok", 1));
}

static void me(web_req_t *r)
{
    web_json(r, 200, me_json(&r->session));
}

static int user_one(void *ctx, const user_t *u)
{
    json_t *o = json_pack("{s:s, s:s, s:b}", "name", u->name, "role", user_role_name(u->role),
                          "disabled", u->disabled);
    json_object_set_new(o, "created", web_time(u->created_ms));
    json_array_append_new(ctx, o);
    return 0;
}

/* False (and the reply) where users are not kept by the dashboard (a
 * provincial node: the command `fieldtrail-hub user --store`). */
static bool users_here(web_req_t *r)
{
    if (r->sh->users) {
        return true;
    }
    web_error(r, 404, "not_here",
              "users of this node are managed with the command `fieldtrail-hub user --store "
              "URL` (docs/province.md \"Dashboard\")");
    return false;
}

static void users_list(web_req_t *r)
{
    if (!users_here(r)) {
        return;
    }
    json_t *arr = json_array();
    if (users_iter(r->sh->users, user_one, arr) != FT_OK) {
        json_decref(arr);
        web_error(r, 500, "internal", "cannot read the users");
        return;
    }
    web_json(r, 200, json_pack("{s:o}", "users", arr));
}

static void users_create(web_req_t *r)
{
    if (!users_here(r)) {
        return;
    }
    const char *name = web_body_str(r, "name");
    user_role role = user_role_parse(web_body_str(r, "role"));
    const char *password = web_body_str(r, "password");
    if (!user_name_valid(name) || role == ROLE_NONE || !password ||
        strlen(password) < USER_PASSWORD_MIN) {
        web_error(r, 400, "bad_request",
                  "send {name (letters, digits, . _ - @), role (staff, supervisor, admin), "
                  "password (at least 8 characters)}");
        return;
    }
    if (web_audit(r, "user_add", name, user_role_name(role)) != FT_OK) {
        web_error(r, 500, "audit", "the audit log cannot be written; nothing was done");
        return;
    }
    int err = users_add(r->sh->users, name, role, password, (int64_t)hlc_wall_ms());
    if (err == FT_EEXIST) {
        web_error(r, 409, "exists", "a user of that name exists");
        return;
    }
    if (err != FT_OK) {
        web_error(r, 500, "internal", ft_strerror(err));
        return;
    }
    web_json(r, 201, json_pack("{s:s, s:s}", "name", name, "role", user_role_name(role)));
}

static void users_change(web_req_t *r)
{
    if (!users_here(r)) {
        return;
    }
    const char *name = r->args[0];
    user_t u;
    if (users_get(r->sh->users, name, &u) != FT_OK) {
        web_error(r, 404, "not_found", "no such user");
        return;
    }
    const char *role_text = web_body_str(r, "role");
    const char *password = web_body_str(r, "password");
    json_t *dis = r->body ? json_object_get(r->body, "disabled") : NULL;
    user_role role = role_text ? user_role_parse(role_text) : u.role;
    if (role == ROLE_NONE || (password && strlen(password) < USER_PASSWORD_MIN) ||
        (dis && !json_is_boolean(dis))) {
        web_error(r, 400, "bad_request",
                  "role must be staff, supervisor or admin; a password "
                  "at least 8 characters; disabled true or false");
        return;
    }
    bool disabled = dis ? json_is_true(dis) : u.disabled;
    char detail[96];
    snprintf(detail, sizeof detail, "role=%s disabled=%d password=%s", user_role_name(role),
             disabled, password ? "changed" : "kept");
    if (web_audit(r, "user_change", name, detail) != FT_OK) {
        web_error(r, 500, "audit", "the audit log cannot be written; nothing was done");
        return;
    }
    int err = users_set_role(r->sh->users, name, role, disabled);
    if (err == FT_OK && password) {
        err = users_set_password(r->sh->users, name, password);
    }
    if (err != FT_OK) {
        web_error(r, 500, "internal", ft_strerror(err));
        return;
    }
    web_json(r, 200,
             json_pack("{s:s, s:s, s:b}", "name", name, "role", user_role_name(role), "disabled",
                       disabled));
}

static const web_route_t routes[] = {
    {"POST", "/api/login", ROLE_NONE, login, 0},
    {"POST", "/api/logout", ROLE_STAFF, logout, 0},
    {"GET", "/api/me", ROLE_STAFF, me, 0},
    {"GET", "/api/users", ROLE_ADMIN, users_list, 0},
    {"POST", "/api/users", ROLE_ADMIN, users_create, 0},
    {"POST", "/api/users/*", ROLE_ADMIN, users_change, 0},
    {NULL, NULL, ROLE_NONE, NULL, 0},
};

const web_module_t api_auth_module = {
    .name = "auth",
    .routes = routes,
    .init = auth_init,
    .fini = auth_fini,
};
