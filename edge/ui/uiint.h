/* uiint.h: what the screen's server (uiserver.c) and its API (uiapi.c)
 * share inside edge/ui; not for other folders.
 *
 * A request's life (uiserver.c): parse, collect a JSON body (at most
 * UI_MAX_BODY), find the route, check the session cookie for routes that
 * need one and, for state-changing methods, the CSRF token and the Origin;
 * the handler leaves exactly one reply (ui_reply / ui_error).
 */
#ifndef FT_EDGE_UIINT_H
#define FT_EDGE_UIINT_H

#include "officers.h"
#include "rules.h"
#include "uiserver.h"
#include "vehview.h"

#include <microhttpd.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

#define UI_MAX_BODY (128 * 1024)
#define UI_MAX_OFFICERS 4                      /* officers signed in on one screen at once */
#define UI_TOKEN_SIZE 44                       /* base64url of 32 random bytes + NUL */
#define UI_SESSION_IDLE_MS (2 * 3600 * 1000LL) /* signed out after this long untouched */
#define UI_MAX_SESSIONS 32

/* One signed-in screen: up to UI_MAX_OFFICERS officers. */
typedef struct {
    bool used;
    uint8_t token_hash[32]; /* BLAKE2b-256 of the cookie */
    char csrf[UI_TOKEN_SIZE];
    size_t n_officers;
    officer_t officers[UI_MAX_OFFICERS];
    int64_t last_ms; /* last request */
} ui_session_t;

/* The server's state. */
struct ui_t {
    ui_opts_t o;
    char state[4096], unit[256], vehicle[256];
    char device[DEVID_TEXT_SIZE];
    struct MHD_Daemon *daemon;
    vehview_t *view;
    pthread_mutex_t lock; /* sessions, pack */
    ui_session_t sessions[UI_MAX_SESSIONS];
    rulepack_t *pack;           /* the rules judged by (the hub's, else the default) */
    char pack_from[32];         /* "hub" or "default" */
    char pack_note[256];        /* why the hub's pack is not used, "" if none */
    struct timespec pack_mtime; /* the kept pack file when it was last judged */
    ino_t pack_ino;
    off_t pack_size;
    uint8_t pack_key[32]; /* the hub key it was judged with (all 0: none known) */
    uint16_t port;
};

/* One request. */
typedef struct {
    ui_t *ui;
    struct MHD_Connection *conn;
    const char *method, *path;
    json_t *body;         /* parsed JSON body, or NULL */
    ui_session_t session; /* a copy of the request's session (when logged_in) */
    int session_slot;     /* its slot, -1 if none */
    bool logged_in;
    unsigned status;
    json_t *json;                  /* reply body (owned), or */
    struct MHD_Response *response; /* a raw reply (owned) */
    char set_cookie[256];
    const char *client; /* the client's address as text */
} ui_req_t;

typedef void (*ui_handler)(ui_req_t *r);

typedef struct {
    const char *method;
    const char *path;
    bool session; /* needs a signed-in officer */
    ui_handler fn;
} ui_route_t;

/* The API's routes (uiapi.c), NULL-method-ended. */
extern const ui_route_t ui_routes[];

void ui_reply(ui_req_t *r, unsigned status, json_t *body);
void ui_error(ui_req_t *r, unsigned status, const char *code, const char *message);
const char *ui_query(const ui_req_t *r, const char *name);
long long ui_query_int(const ui_req_t *r, const char *name, long long def);
const char *ui_body_str(const ui_req_t *r, const char *name);
int64_t ui_now(const ui_t *ui);

/* Sessions (uiserver.c). */
/* A new session for officer o (*slot, token into the cookie); FT_ENOMEM. */
int ui_session_new(ui_req_t *r, const officer_t *o);
/* Adds o to the request's session (replaces its row if signed in already);
 * FT_EINVAL when UI_MAX_OFFICERS are signed in. */
int ui_session_add(ui_req_t *r, const officer_t *o);
/* Signs one officer out (id) or all (NULL: the session ends). */
void ui_session_remove(ui_req_t *r, const char *id);

/* The rules the screen judges by: the pack the hub sent (STATE/hub.rules,
 * edge/ui/packfile.h) when it verifies with the hub key the sync link knows
 * and parses, else the built-in default; read again when the file changed.
 * Call and use it under ui->lock (a reload frees the previous pack). */
const rulepack_t *ui_pack(ui_t *ui);

/* Writes an AuditEvent (user, action, target) to the device log; logs a
 * failure. */
int ui_audit(ui_t *ui, const char *user, const char *action, const char *target,
             const char *detail);

#endif
