/* http_test.c: the server and its modules (web.h) on 127.0.0.1: modules are
 * inited in order and finied in reverse; each handler gets its own module's
 * state; the watcher polls every module; a module whose init fails stops
 * the start and the modules already made are finied; unknown paths, wrong
 * methods and missing logins are answered by the server; a route flagged
 * for the metrics token takes the bearer token instead of a session; a
 * node's own backend (web_backend_t) keeps the sessions, gives "/" its page
 * and, when its store is away, has the server answer 503 in its words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http.h"
#include "testutil.h"
#include "web.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- three modules that note what happens to them ---- */

static pthread_mutex_t trail_lock = PTHREAD_MUTEX_INITIALIZER;
static char trail[256];

static void note(const char *what)
{
    pthread_mutex_lock(&trail_lock);
    if (trail[0]) {
        strcat(trail, " ");
    }
    strcat(trail, what);
    pthread_mutex_unlock(&trail_lock);
}

typedef struct {
    char name[8];
} mod_t;

static bool events_at_init; /* some init saw sh->events set */

static int mod_init(const char *name, const web_shared_t *sh, void **state)
{
    char what[16];
    snprintf(what, sizeof what, "i%s", name);
    note(what);
    assert_non_null(sh->hub);
    assert_non_null(sh->users);
    assert_non_null(sh->catalog);
    assert_non_null(sh->alerts);
    mod_t *m = calloc(1, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    events_at_init |= sh->events != NULL;
    *state = m;
    return FT_OK;
}

static void mod_fini(void *state)
{
    mod_t *m = state;
    char what[16];
    snprintf(what, sizeof what, "f%s", m->name);
    note(what);
    free(m);
}

static void mod_poll(void *state, const web_shared_t *sh)
{
    (void)state;
    (void)sh;
}

static int a_init(const web_shared_t *sh, void **state)
{
    return mod_init("A", sh, state);
}

static int b_init(const web_shared_t *sh, void **state)
{
    return mod_init("B", sh, state);
}

static int c_init(const web_shared_t *sh, void **state)
{
    (void)sh;
    (void)state;
    note("iC");
    return FT_EIO;
}

static void whoami(web_req_t *r)
{
    const mod_t *m = r->mod;
    web_json(r, 200, json_pack("{s:s}", "module", m->name));
}

static const web_route_t a_routes[] = {
    {"GET", "/t/a", ROLE_NONE, whoami, 0},
    {"GET", "/t/secret", ROLE_STAFF, whoami, 0},
    {"GET", "/t/token", ROLE_STAFF, whoami, WEB_ROUTE_METRICS_TOKEN},
    {NULL, NULL, ROLE_NONE, NULL, 0},
};
static const web_route_t b_routes[] = {
    {"GET", "/t/b/*", ROLE_NONE, whoami, 0},
    {NULL, NULL, ROLE_NONE, NULL, 0},
};
static const web_module_t mod_a = {"A", a_routes, a_init, mod_poll, mod_fini};
static const web_module_t mod_b = {"B", b_routes, b_init, mod_poll, mod_fini};
static const web_module_t mod_c = {"C", NULL, c_init, NULL, NULL};
static const web_module_t mod_empty = {"empty", NULL, NULL, NULL, NULL};

/* ---- the fixture: a state directory with a store ---- */

typedef struct {
    char dir[512];
    keys_t keys;
    store_t *store;
    hub_parts_t parts;
    http_opts_t opts;
    http_t *http;
    uint16_t port;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    testutil_tmpdir(fx->dir, sizeof fx->dir, "http");
    char path[600];
    snprintf(path, sizeof path, "%s/db", fx->dir);
    assert_int_equal(store_open(path, 16u << 20, &fx->store), FT_OK);
    assert_int_equal(keys_generate(&fx->keys, false), FT_OK);
    fx->parts = (hub_parts_t){.state = fx->dir, .keys = &fx->keys, .store = fx->store};
    fx->opts = (http_opts_t){.listen = "127.0.0.1:0", .required = true, .metrics_token = "tok-123"};
    trail[0] = '\0';
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    http_stop(&fx->http);
    store_destroy(&fx->store);
    keys_wipe(&fx->keys);
    testutil_rmrf(fx->dir);
    free(fx);
    return 0;
}

/* The port the server wrote to STATE/web/url. */
static uint16_t served_port(fx_t *fx)
{
    char path[600], url[256] = "";
    snprintf(path, sizeof path, "%s/web/url", fx->dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(url, sizeof url, f));
    fclose(f);
    const char *colon = strrchr(url, ':');
    assert_non_null(colon);
    return (uint16_t)atoi(colon + 1);
}

/* One request; returns the status, the body in body. */
static int request(fx_t *fx, const char *method, const char *path, const char *extra, char *body,
                   size_t body_len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(fx->port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[512];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n", method,
                     path, extra ? extra : "");
    assert_int_equal(write(fd, req, (size_t)n), n);
    char resp[8192];
    size_t got = 0;
    ssize_t k;
    while (got < sizeof resp - 1 && (k = read(fd, resp + got, sizeof resp - 1 - got)) > 0) {
        got += (size_t)k;
    }
    close(fd);
    resp[got] = '\0';
    int status = 0;
    assert_int_equal(sscanf(resp, "HTTP/1.%*d %d", &status), 1);
    const char *b = strstr(resp, "\r\n\r\n");
    snprintf(body, body_len, "%s", b ? b + 4 : "");
    return status;
}

static void modules_are_served_with_their_own_state(void **state)
{
    fx_t *fx = *state;
    const web_module_t *mods[] = {&mod_a, &mod_empty, &mod_b, NULL};
    assert_int_equal(http_start(&fx->parts, NULL, mods, &fx->opts, &fx->http), FT_OK);
    assert_non_null(fx->http);
    fx->port = served_port(fx);
    assert_string_equal(trail, "iA iB");
    char body[1024];
    assert_int_equal(request(fx, "GET", "/t/a", NULL, body, sizeof body), 200);
    assert_non_null(strstr(body, "\"module\":\"A\""));
    assert_int_equal(request(fx, "GET", "/t/b/x", NULL, body, sizeof body), 200);
    assert_non_null(strstr(body, "\"module\":\"B\""));
    assert_int_equal(request(fx, "DELETE", "/t/a", NULL, body, sizeof body), 405);
    assert_non_null(strstr(body, "method_not_allowed"));
    assert_int_equal(request(fx, "GET", "/t/nothing", NULL, body, sizeof body), 404);
    assert_int_equal(request(fx, "GET", "/t/secret", NULL, body, sizeof body), 401);
    assert_non_null(strstr(body, "login_required"));
    assert_false(events_at_init); /* the watcher comes after the inits */
    http_stop(&fx->http);
    assert_null(fx->http);
    assert_string_equal(trail, "iA iB fB fA");
}

static int polls_seen;

static void count_poll(void *state, const web_shared_t *sh)
{
    (void)state;
    if (sh->events) {
        __atomic_add_fetch(&polls_seen, 1, __ATOMIC_SEQ_CST);
    }
}

static void the_watcher_polls_the_modules(void **state)
{
    fx_t *fx = *state;
    const web_module_t counting = {"counting", NULL, NULL, count_poll, NULL};
    const web_module_t *mods[] = {&counting, NULL};
    polls_seen = 0;
    assert_int_equal(http_start(&fx->parts, NULL, mods, &fx->opts, &fx->http), FT_OK);
    for (int i = 0; i < 200 && __atomic_load_n(&polls_seen, __ATOMIC_SEQ_CST) < 3; i++) {
        struct timespec ts = {0, 25 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_true(__atomic_load_n(&polls_seen, __ATOMIC_SEQ_CST) >= 3);
    http_stop(&fx->http);
    int after = __atomic_load_n(&polls_seen, __ATOMIC_SEQ_CST);
    struct timespec ts = {0, 600 * 1000000L};
    nanosleep(&ts, NULL);
    assert_int_equal(__atomic_load_n(&polls_seen, __ATOMIC_SEQ_CST), after); /* none after stop */
}

static void a_failing_init_stops_the_start(void **state)
{
    fx_t *fx = *state;
    const web_module_t *mods[] = {&mod_a, &mod_c, &mod_b, NULL};
    assert_int_equal(http_start(&fx->parts, NULL, mods, &fx->opts, &fx->http), FT_EIO);
    assert_null(fx->http);
    assert_string_equal(trail, "iA iC fA");
}

static void the_metrics_token_stands_in_for_a_session(void **state)
{
    fx_t *fx = *state;
    const web_module_t *mods[] = {&mod_a, NULL};
    assert_int_equal(http_start(&fx->parts, NULL, mods, &fx->opts, &fx->http), FT_OK);
    fx->port = served_port(fx);
    char body[1024];
    assert_int_equal(
        request(fx, "GET", "/t/token", "Authorization: Bearer tok-123\r\n", body, sizeof body),
        200);
    assert_non_null(strstr(body, "\"module\":\"A\""));
    assert_int_equal(
        request(fx, "GET", "/t/token", "Authorization: Bearer wrong\r\n", body, sizeof body), 401);
    assert_non_null(strstr(body, "http_metrics_token"));
    assert_int_equal(request(fx, "GET", "/t/token", NULL, body, sizeof body), 401);
    /* a route without the flag does not take it */
    assert_int_equal(
        request(fx, "GET", "/t/secret", "Authorization: Bearer tok-123\r\n", body, sizeof body),
        401);
    http_stop(&fx->http);
}

/* ---- a backend of its own (web.h web_backend_t), as a provincial node's ---- */

typedef struct {
    char dir[600];
    int closed; /* close was called (and how often) */
    void *seen; /* sh->node as a module's init saw it */
    bool down;  /* the store is away: every function answers FT_EIO */
} fake_be_t;

static fake_be_t *fake_seen_by_init;

static int fb_open(void *ctx, web_shared_t *sh)
{
    sh->node = ctx;
    return FT_OK;
}

static void fb_close(void *ctx, web_shared_t *sh)
{
    (void)sh;
    ((fake_be_t *)ctx)->closed++;
}

static int fb_password(void *ctx, const char *name, const char *pw, user_t *out)
{
    (void)ctx;
    (void)name;
    (void)pw;
    (void)out;
    return FT_EKEY;
}

static int fb_session_new(void *ctx, const char *user, int64_t now, int64_t ttl,
                          char token[SESSION_TOKEN_SIZE])
{
    (void)ctx;
    (void)user;
    (void)now;
    (void)ttl;
    (void)token;
    return FT_EIO;
}

static int fb_session_check(void *ctx, const char *token, int64_t now, int64_t ttl, session_t *out)
{
    (void)now;
    (void)ttl;
    if (((fake_be_t *)ctx)->down) {
        return FT_EIO;
    }
    if (strcmp(token, "good-token") != 0) {
        return FT_ENOTFOUND;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->user, sizeof out->user, "u1");
    out->role = ROLE_STAFF;
    snprintf(out->units, sizeof out->units, "A");
    return FT_OK;
}

static int fb_session_end(void *ctx, const char *token)
{
    (void)ctx;
    (void)token;
    return FT_OK;
}

static int fb_sweep(void *ctx, int64_t now, size_t *n)
{
    (void)ctx;
    (void)now;
    *n = 0;
    return FT_OK;
}

static int fb_audit(void *ctx, const char *user, const char *action, const char *target,
                    const char *detail)
{
    (void)ctx;
    (void)user;
    (void)action;
    (void)target;
    (void)detail;
    return FT_OK;
}

static int node_init(const web_shared_t *sh, void **state)
{
    (void)state;
    fake_seen_by_init = sh->node;
    return sh->hub == NULL && sh->users == NULL ? FT_OK : FT_EINVAL;
}

static void node_units(web_req_t *r)
{
    web_json(r, 200, json_pack("{s:s, s:s}", "user", r->session.user, "units", r->session.units));
}

static const web_route_t node_routes[] = {
    {"GET", "/t/units", ROLE_STAFF, node_units, 0},
    {NULL, NULL, ROLE_NONE, NULL, 0},
};
static const web_module_t mod_node = {"node", node_routes, node_init, NULL, NULL};

static void a_backend_keeps_sessions_and_says_when_it_is_away(void **state)
{
    fx_t *fx = *state;
    fake_be_t fb = {.closed = 0};
    snprintf(fb.dir, sizeof fb.dir, "%s/web", fx->dir); /* where served_port looks */
    assert_int_equal(mkdir(fb.dir, 0700), 0);
    web_backend_t be = {.name = "test node",
                        .index_page = "login.html",
                        .url_dir = fb.dir,
                        .ctx = &fb,
                        .open = fb_open,
                        .close = fb_close,
                        .password_check = fb_password,
                        .session_new = fb_session_new,
                        .session_check = fb_session_check,
                        .session_end = fb_session_end,
                        .session_sweep = fb_sweep,
                        .audit = fb_audit,
                        .unavailable = "the test store is away"};
    const web_module_t *mods[] = {&mod_node, NULL};
    fake_seen_by_init = NULL;
    assert_int_equal(http_serve(&be, NULL, NULL, mods, &fx->opts, &fx->http), FT_OK);
    assert_ptr_equal(fake_seen_by_init, &fb); /* open ran before the modules' inits */
    fx->port = served_port(fx);
    char body[2048];
    const char *good = "Cookie: ft_session=good-token\r\n";
    assert_int_equal(request(fx, "GET", "/t/units", good, body, sizeof body), 200);
    assert_non_null(strstr(body, "\"units\":\"A\""));
    assert_int_equal(
        request(fx, "GET", "/t/units", "Cookie: ft_session=bad\r\n", body, sizeof body), 401);
    /* "/" is the backend's page */
    assert_int_equal(request(fx, "GET", "/", good, body, sizeof body), 200);
    assert_non_null(strstr(body, "login-form"));
    /* a login whose password check answers "no" */
    assert_int_equal(request(fx, "GET", "/t/units", NULL, body, sizeof body), 401);
    /* the store away: 503 in the backend's words, for the API and the page */
    fb.down = true;
    assert_int_equal(request(fx, "GET", "/t/units", good, body, sizeof body), 503);
    assert_non_null(strstr(body, "\"unavailable\""));
    assert_non_null(strstr(body, "the test store is away"));
    assert_int_equal(request(fx, "GET", "/", good, body, sizeof body), 503);
    /* the login page needs no store */
    assert_int_equal(request(fx, "GET", "/login", NULL, body, sizeof body), 200);
    fb.down = false;
    assert_int_equal(request(fx, "GET", "/t/units", good, body, sizeof body), 200);
    assert_int_equal(fb.closed, 0);
    http_stop(&fx->http);
    assert_int_equal(fb.closed, 1);
    /* "off": nothing served, the backend closed at once */
    fb.closed = 0;
    http_opts_t off = {.listen = "off"};
    assert_int_equal(http_serve(&be, NULL, NULL, mods, &off, &fx->http), FT_OK);
    assert_null(fx->http);
    assert_int_equal(fb.closed, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(modules_are_served_with_their_own_state, setup, teardown),
        cmocka_unit_test_setup_teardown(the_watcher_polls_the_modules, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failing_init_stops_the_start, setup, teardown),
        cmocka_unit_test_setup_teardown(the_metrics_token_stands_in_for_a_session, setup, teardown),
        cmocka_unit_test_setup_teardown(a_backend_keeps_sessions_and_says_when_it_is_away, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
