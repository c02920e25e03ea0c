/* users.c: dashboard users and sessions on LMDB (see users.h). */
#include "users.h"
#include "fsutil.h"
#include "lmdbx.h"
#include "utf8.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USERS_MAP_SIZE ((size_t)64 << 20)

struct users_t {
    MDB_env *env;
    MDB_dbi users_dbi;    /* name -> user JSON */
    MDB_dbi sessions_dbi; /* hash(token) -> session JSON */
};

/* The hash verified against for unknown names (users_password_verify). */
static pthread_mutex_t dummy_lock = PTHREAD_MUTEX_INITIALIZER;
static bool dummy_ready;
static char dummy_hash[crypto_pwhash_STRBYTES];
_Static_assert(USER_PWHASH_SIZE == crypto_pwhash_STRBYTES, "USER_PWHASH_SIZE");

int users_open(const char *dir, users_t **out)
{
    *out = NULL;
    if (sodium_init() < 0) {
        return FT_ECRYPTO;
    }
    int err = fsutil_mkdirs(dir, 0700);
    if (err != FT_OK) {
        return err;
    }
    users_t *u = calloc(1, sizeof *u);
    if (!u) {
        return FT_ENOMEM;
    }
    err = lmdbx_open(dir, USERS_MAP_SIZE, 4, &u->env);
    if (err != FT_OK) {
        free(u);
        return err;
    }
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(u->env, NULL, 0, &txn);
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "users", MDB_CREATE, &u->users_dbi);
    }
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "sessions", MDB_CREATE, &u->sessions_dbi);
    }
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (txn) {
        mdb_txn_abort(txn);
    }
    if (rc != 0) {
        mdb_env_close(u->env);
        free(u);
        return lmdbx_err(rc);
    }
    *out = u;
    return FT_OK;
}

void users_destroy(users_t **u_p)
{
    if (!u_p || !*u_p) {
        return;
    }
    mdb_env_close((*u_p)->env);
    free(*u_p);
    *u_p = NULL;
}

const char *user_role_name(user_role r)
{
    switch (r) {
    case ROLE_STAFF:
        return "staff";
    case ROLE_SUPERVISOR:
        return "supervisor";
    case ROLE_ADMIN:
        return "admin";
    default:
        return "none";
    }
}

user_role user_role_parse(const char *text)
{
    if (!text) {
        return ROLE_NONE;
    }
    for (int r = ROLE_STAFF; r <= ROLE_ADMIN; r++) {
        if (strcmp(text, user_role_name((user_role)r)) == 0) {
            return (user_role)r;
        }
    }
    return ROLE_NONE;
}

bool user_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= USER_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-' || c == '@';
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* Reads name's row as JSON (caller decrefs). FT_ENOTFOUND, FT_ECORRUPT. */
static int row_get(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, json_t **out)
{
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    json_error_t jerr;
    *out = json_loadb(v.mv_data, v.mv_size, 0, &jerr);
    return *out ? FT_OK : FT_ECORRUPT;
}

static int row_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, const json_t *row)
{
    char *text = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) {
        return FT_ENOMEM;
    }
    MDB_val k = {klen, (void *)key}, v = {strlen(text), text};
    int rc = mdb_put(txn, dbi, &k, &v, 0);
    free(text);
    return lmdbx_err(rc);
}

static void user_from_row(const char *name, size_t nlen, const json_t *row, user_t *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%.*s", (int)nlen, name);
    out->role = user_role_parse(json_string_value(json_object_get(row, "role")));
    out->created_ms = (int64_t)json_integer_value(json_object_get(row, "created_ms"));
    out->disabled = json_is_true(json_object_get(row, "disabled"));
}

int users_password_hash(const char *password, char out[USER_PWHASH_SIZE])
{
    size_t n = strlen(password);
    if (n < USER_PASSWORD_MIN || n > USER_PASSWORD_MAX) {
        return FT_EINVAL;
    }
    if (crypto_pwhash_str(out, password, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        return FT_ENOMEM;
    }
    return FT_OK;
}

/* Runs fn in a write transaction and commits if it returns FT_OK. */
static int in_write(users_t *u, int (*fn)(users_t *u, MDB_txn *txn, void *ctx), void *ctx)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(u->env, NULL, 0, &txn);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    int err = fn(u, txn, ctx);
    if (err != FT_OK) {
        mdb_txn_abort(txn);
        return err;
    }
    return lmdbx_err(mdb_txn_commit(txn));
}

/* Arguments of the write helpers below. */
typedef struct {
    const char *name;
    user_role role;
    bool disabled;
    const char *hash; /* new Argon2id string, or NULL */
    int64_t now_ms;
} user_change_t;

static int add_fn(users_t *u, MDB_txn *txn, void *ctx)
{
    const user_change_t *c = ctx;
    json_t *old = NULL;
    int err = row_get(txn, u->users_dbi, c->name, strlen(c->name), &old);
    json_decref(old);
    if (err == FT_OK) {
        return FT_EEXIST;
    }
    if (err != FT_ENOTFOUND) {
        return err;
    }
    json_t *row = json_pack("{s:s, s:s, s:I, s:b}", "role", user_role_name(c->role), "pwhash",
                            c->hash, "created_ms", (json_int_t)c->now_ms, "disabled", 0);
    if (!row) {
        return FT_ENOMEM;
    }
    err = row_put(txn, u->users_dbi, c->name, strlen(c->name), row);
    json_decref(row);
    return err;
}

int users_add(users_t *u, const char *name, user_role role, const char *password, int64_t now_ms)
{
    if (!user_name_valid(name) || role == ROLE_NONE || !password) {
        return FT_EINVAL;
    }
    char hash[crypto_pwhash_STRBYTES];
    int err = users_password_hash(password, hash);
    if (err != FT_OK) {
        return err;
    }
    user_change_t c = {.name = name, .role = role, .hash = hash, .now_ms = now_ms};
    return in_write(u, add_fn, &c);
}

/* A session row of name (or one that does not parse): deleted. */
static int end_session_row(void *ctx, const lmdbx_row_t *r)
{
    const char *name = ctx;
    json_error_t jerr;
    json_t *row = json_loadb(r->val.mv_data, r->val.mv_size, 0, &jerr);
    const char *who = json_string_value(json_object_get(row, "user"));
    int err = FT_OK;
    if (!row || !who || strcmp(who, name) == 0) {
        err = lmdbx_row_del(r);
    }
    json_decref(row);
    return err;
}

/* Deletes every session of c->name. */
static int end_sessions_of(users_t *u, MDB_txn *txn, const char *name)
{
    return lmdbx_scan(txn, u->sessions_dbi, NULL, NULL, end_session_row, (void *)name);
}

static int change_fn(users_t *u, MDB_txn *txn, void *ctx)
{
    const user_change_t *c = ctx;
    json_t *row = NULL;
    int err = row_get(txn, u->users_dbi, c->name, strlen(c->name), &row);
    if (err != FT_OK) {
        return err;
    }
    if (c->hash) {
        json_object_set_new(row, "pwhash", json_string(c->hash));
    } else {
        json_object_set_new(row, "role", json_string(user_role_name(c->role)));
        json_object_set_new(row, "disabled", json_boolean(c->disabled));
    }
    err = row_put(txn, u->users_dbi, c->name, strlen(c->name), row);
    json_decref(row);
    if (err == FT_OK && (c->hash || c->disabled)) {
        err = end_sessions_of(u, txn, c->name);
    }
    return err;
}

int users_set_password(users_t *u, const char *name, const char *password)
{
    if (!user_name_valid(name) || !password) {
        return FT_EINVAL;
    }
    char hash[crypto_pwhash_STRBYTES];
    int err = users_password_hash(password, hash);
    if (err != FT_OK) {
        return err;
    }
    user_change_t c = {.name = name, .hash = hash};
    return in_write(u, change_fn, &c);
}

int users_set_role(users_t *u, const char *name, user_role role, bool disabled)
{
    if (!user_name_valid(name) || role == ROLE_NONE) {
        return FT_EINVAL;
    }
    user_change_t c = {.name = name, .role = role, .disabled = disabled};
    return in_write(u, change_fn, &c);
}

/* Reads one user's row in a read transaction; *pwhash (optional) gets a copy
 * of the hash. */
static int read_user(users_t *u, const char *name, user_t *out, char *pwhash)
{
    if (!user_name_valid(name)) {
        return FT_ENOTFOUND;
    }
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(u->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    json_t *row = NULL;
    int err = row_get(txn, u->users_dbi, name, strlen(name), &row);
    mdb_txn_abort(txn);
    if (err != FT_OK) {
        return err;
    }
    user_from_row(name, strlen(name), row, out);
    if (pwhash) {
        snprintf(pwhash, crypto_pwhash_STRBYTES, "%s",
                 json_string_value(json_object_get(row, "pwhash"))
                     ? json_string_value(json_object_get(row, "pwhash"))
                     : "");
    }
    json_decref(row);
    return FT_OK;
}

int users_get(users_t *u, const char *name, user_t *out)
{
    return read_user(u, name, out, NULL);
}

bool users_password_verify(const char *hash, const char *password)
{
    char h[crypto_pwhash_STRBYTES];
    if (hash) {
        snprintf(h, sizeof h, "%s", hash);
    } else {
        /* Made at the first unknown name, not at open: a hub that nobody
         * logs in to never spends the time (it is slow under valgrind). */
        pthread_mutex_lock(&dummy_lock);
        if (!dummy_ready &&
            crypto_pwhash_str(dummy_hash, "not a password", 14, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0) {
            dummy_ready = true;
        }
        memcpy(h, dummy_hash, sizeof h);
        pthread_mutex_unlock(&dummy_lock);
    }
    size_t n = password ? strlen(password) : 0;
    bool match =
        password && n <= USER_PASSWORD_MAX && crypto_pwhash_str_verify(h, password, n) == 0;
    sodium_memzero(h, sizeof h);
    return match && hash;
}

int users_check(users_t *u, const char *name, const char *password, user_t *out)
{
    char hash[crypto_pwhash_STRBYTES];
    user_t user;
    int err = read_user(u, name, &user, hash);
    if (err != FT_OK && err != FT_ENOTFOUND) {
        return err;
    }
    bool known = err == FT_OK;
    bool match = users_password_verify(known ? hash : NULL, password);
    sodium_memzero(hash, sizeof hash);
    if (!known || !match || user.disabled || user.role == ROLE_NONE) {
        return FT_EKEY;
    }
    *out = user;
    return FT_OK;
}

typedef struct {
    users_fn fn;
    void *ctx;
} users_scan_t;

/* A user row; one that does not parse is left out, as before. */
static int user_row(void *ctx, const lmdbx_row_t *r)
{
    const users_scan_t *s = ctx;
    json_error_t jerr;
    json_t *row = json_loadb(r->val.mv_data, r->val.mv_size, 0, &jerr);
    if (!row) {
        return FT_OK;
    }
    user_t user;
    user_from_row(r->key.mv_data, r->key.mv_size, row, &user);
    json_decref(row);
    return s->fn(s->ctx, &user);
}

int users_iter(users_t *u, users_fn fn, void *ctx)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(u->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    users_scan_t s = {fn, ctx};
    int err = lmdbx_scan(txn, u->users_dbi, NULL, NULL, user_row, &s);
    mdb_txn_abort(txn);
    return err;
}

int users_count(users_t *u, size_t *n)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(u->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    MDB_stat st;
    rc = mdb_stat(txn, u->users_dbi, &st);
    mdb_txn_abort(txn);
    *n = rc == 0 ? st.ms_entries : 0;
    return lmdbx_err(rc);
}

void users_token_new(char out[SESSION_TOKEN_SIZE])
{
    uint8_t raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, SESSION_TOKEN_SIZE, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

void users_token_key(const char *token, uint8_t key[32])
{
    crypto_generichash(key, 32, (const uint8_t *)token, strlen(token), NULL, 0);
}

/* Arguments of session writes. */
typedef struct {
    const char *user;
    const char *token;
    int64_t now_ms, ttl_ms;
    json_t *row; /* session row to write */
} session_change_t;

static int session_put_fn(users_t *u, MDB_txn *txn, void *ctx)
{
    const session_change_t *c = ctx;
    uint8_t key[32];
    users_token_key(c->token, key);
    return row_put(txn, u->sessions_dbi, key, sizeof key, c->row);
}

int users_session_new(users_t *u, const char *user, int64_t now_ms, int64_t ttl_ms,
                      char token[SESSION_TOKEN_SIZE])
{
    char csrf[SESSION_TOKEN_SIZE];
    users_token_new(token);
    users_token_new(csrf);
    json_t *row = json_pack("{s:s, s:s, s:I, s:I}", "user", user, "csrf", csrf, "created_ms",
                            (json_int_t)now_ms, "expires_ms", (json_int_t)(now_ms + ttl_ms));
    if (!row) {
        return FT_ENOMEM;
    }
    session_change_t c = {.token = token, .row = row};
    int err = in_write(u, session_put_fn, &c);
    json_decref(row);
    sodium_memzero(csrf, sizeof csrf);
    return err;
}

int users_session_check(users_t *u, const char *token, int64_t now_ms, int64_t ttl_ms,
                        session_t *out)
{
    if (!token || strlen(token) != SESSION_TOKEN_SIZE - 1) {
        return FT_ENOTFOUND;
    }
    uint8_t key[32];
    users_token_key(token, key);
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(u->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        return lmdbx_err(rc);
    }
    json_t *row = NULL;
    int err = row_get(txn, u->sessions_dbi, key, sizeof key, &row);
    mdb_txn_abort(txn);
    if (err != FT_OK) {
        return err == FT_ECORRUPT ? FT_ENOTFOUND : err;
    }
    int64_t expires = (int64_t)json_integer_value(json_object_get(row, "expires_ms"));
    const char *name = json_string_value(json_object_get(row, "user"));
    const char *csrf = json_string_value(json_object_get(row, "csrf"));
    user_t user;
    if (expires <= now_ms || !name || !csrf || users_get(u, name, &user) != FT_OK ||
        user.disabled || user.role == ROLE_NONE) {
        json_decref(row);
        if (users_session_end(u, token) != FT_OK) {
            /* it expires anyway */
        }
        return FT_ENOTFOUND;
    }
    memset(out, 0, sizeof *out);
    out->all_units = true; /* a county hub's users see its every unit */
    utf8_copy(out->user, sizeof out->user, name);
    snprintf(out->csrf, sizeof out->csrf, "%s", csrf);
    out->role = user.role;
    out->expires_ms = expires;
    if (now_ms + ttl_ms - expires >= SESSION_SLIDE_MS) {
        out->expires_ms = now_ms + ttl_ms;
        json_object_set_new(row, "expires_ms", json_integer(out->expires_ms));
        session_change_t c = {.token = token, .row = row};
        err = in_write(u, session_put_fn, &c);
    }
    json_decref(row);
    return err;
}

static int session_del_fn(users_t *u, MDB_txn *txn, void *ctx)
{
    const session_change_t *c = ctx;
    uint8_t key[32];
    users_token_key(c->token, key);
    MDB_val k = {sizeof key, key};
    int rc = mdb_del(txn, u->sessions_dbi, &k, NULL);
    return rc == MDB_NOTFOUND ? FT_OK : lmdbx_err(rc);
}

int users_session_end(users_t *u, const char *token)
{
    if (!token || !*token) {
        return FT_OK;
    }
    session_change_t c = {.token = token};
    return in_write(u, session_del_fn, &c);
}

/* Sweep state. */
typedef struct {
    int64_t now_ms;
    size_t n;
} sweep_t;

/* A session that has expired (or does not parse): deleted. */
static int sweep_row(void *ctx, const lmdbx_row_t *r)
{
    sweep_t *s = ctx;
    json_error_t jerr;
    json_t *row = json_loadb(r->val.mv_data, r->val.mv_size, 0, &jerr);
    int64_t expires = row ? (int64_t)json_integer_value(json_object_get(row, "expires_ms")) : 0;
    json_decref(row);
    if (expires > s->now_ms) {
        return FT_OK;
    }
    s->n++;
    return lmdbx_row_del(r);
}

static int sweep_fn(users_t *u, MDB_txn *txn, void *ctx)
{
    return lmdbx_scan(txn, u->sessions_dbi, NULL, NULL, sweep_row, ctx);
}

int users_session_sweep(users_t *u, int64_t now_ms, size_t *n)
{
    sweep_t s = {.now_ms = now_ms};
    int err = in_write(u, sweep_fn, &s);
    *n = s.n;
    return err;
}
