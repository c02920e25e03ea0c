/* users.h: dashboard users and their login sessions.
 *
 * Kept in an LMDB environment of its own (STATE/web/), apart from the sync
 * store, so that `fieldtrail-hub user add` can run beside the daemon (LMDB
 * serialises writers across processes) and a hub that never serves the web
 * never creates it.
 *
 * Tables:
 *   users     name -> JSON {"role", "pwhash" (Argon2id, crypto_pwhash_str),
 *                           "created_ms", "disabled"}
 *   sessions  BLAKE2b-256(token) -> JSON {"user", "csrf", "created_ms",
 *                           "expires_ms"}
 * Only the hash of a session token is stored: a copy of the database gives
 * no usable cookie. Session state machine:
 *   (none) --users_session_new (password checked by users_check)--> live
 *   live   --users_session_check after expires_ms--> (none), FT_ENOTFOUND
 *   live   --users_session_end (logout)--> (none)
 *   live   --users_session_check before expiry--> live, expiry slides
 * A disabled or deleted user's sessions stop working at the next check.
 */
#ifndef FT_HUB_USERS_H
#define FT_HUB_USERS_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USER_NAME_MAX 64                           /* bytes incl. NUL */
#define USER_PASSWORD_MIN 8                        /* characters a password needs at least */
#define USER_PASSWORD_MAX 256                      /* bytes */
#define SESSION_TOKEN_SIZE 44                      /* base64url of 32 random bytes + NUL */
#define SESSION_DEFAULT_TTL_MS (8 * 3600 * 1000LL) /* idle time until logout */
#define SESSION_SLIDE_MS (60 * 1000LL) /* an expiry is rewritten when it moves this much */
#define USER_PWHASH_SIZE 128           /* crypto_pwhash_STRBYTES */
#define SESSION_UNITS_MAX 1024         /* a session's units, '\n'-separated, incl. NUL */

/* Roles, in increasing power: each may do what the ones below may. */
typedef enum {
    ROLE_NONE = 0,
    ROLE_STAFF = 1,      /* sync, devices (read), search, timelines, playback */
    ROLE_SUPERVISOR = 2, /* + justify alerts, compliance, audit log */
    ROLE_ADMIN = 3,      /* + enrol and revoke devices, users */
} user_role;

typedef struct users_t users_t;

/* A user as listings show it (never the password hash). */
typedef struct {
    char name[USER_NAME_MAX];
    user_role role;
    int64_t created_ms;
    bool disabled;
} user_t;

/* A live session. */
typedef struct {
    char user[USER_NAME_MAX];
    user_role role;                /* the user's role now (not at login) */
    char csrf[SESSION_TOKEN_SIZE]; /* what state-changing requests must echo */
    int64_t expires_ms;
    /* What the user may see: every unit (a county hub's users), or the
     * units listed, '\n'-separated (a provincial user's, provweb.h). */
    bool all_units;
    char units[SESSION_UNITS_MAX];
} session_t;

/* Opens or creates the user database in dir. FT_OK, FT_EIO, FT_ENOMEM. */
int users_open(const char *dir, users_t **out) FT_MUST_CHECK;
void users_destroy(users_t **u_p);

/* "staff", "supervisor", "admin" <-> role; ROLE_NONE if unknown. */
const char *user_role_name(user_role r);
user_role user_role_parse(const char *text);
/* True if name is 1..63 bytes of letters, digits, '.', '_', '-' or '@'. */
bool user_name_valid(const char *name);

/* Adds a user. FT_EEXIST if taken, FT_EINVAL for a bad name, role or a
 * password shorter than USER_PASSWORD_MIN, FT_ENOMEM if hashing failed. */
int users_add(users_t *u, const char *name, user_role role, const char *password,
              int64_t now_ms) FT_MUST_CHECK;
/* Replaces a user's password. FT_ENOTFOUND, FT_EINVAL. Ends their sessions. */
int users_set_password(users_t *u, const char *name, const char *password) FT_MUST_CHECK;
/* Changes a user's role or disables them. FT_ENOTFOUND, FT_EINVAL. */
int users_set_role(users_t *u, const char *name, user_role role, bool disabled) FT_MUST_CHECK;
int users_get(users_t *u, const char *name, user_t *out) FT_MUST_CHECK;
/* Checks a password: FT_OK and *out, or FT_EKEY (unknown user, wrong
 * password or disabled: deliberately one answer). Takes the time of one
 * Argon2id verification whether or not the user exists. */
int users_check(users_t *u, const char *name, const char *password, user_t *out) FT_MUST_CHECK;
/* Visits users in name order; non-zero from fn stops and is returned. */
typedef int (*users_fn)(void *ctx, const user_t *user);
int users_iter(users_t *u, users_fn fn, void *ctx);
/* Number of users. */
int users_count(users_t *u, size_t *n) FT_MUST_CHECK;

/* The pieces a user store elsewhere (the provincial node's, provweb.h)
 * shares with this one. users_password_hash: Argon2id (crypto_pwhash_str,
 * interactive limits) of a USER_PASSWORD_MIN..MAX byte password (FT_EINVAL,
 * FT_ENOMEM). users_password_verify: true if password matches hash; hash
 * NULL (an unknown name) takes the same time against a dummy and is false.
 * users_token_new: 32 random bytes, base64url. users_token_key: the
 * BLAKE2b-256 of a token, the only form a session's token is stored in. */
int users_password_hash(const char *password, char out[USER_PWHASH_SIZE]) FT_MUST_CHECK;
bool users_password_verify(const char *hash, const char *password);
void users_token_new(char out[SESSION_TOKEN_SIZE]);
void users_token_key(const char *token, uint8_t key[32]);

/* Starts a session for user: a random token (the cookie) into token. */
int users_session_new(users_t *u, const char *user, int64_t now_ms, int64_t ttl_ms,
                      char token[SESSION_TOKEN_SIZE]) FT_MUST_CHECK;
/* Finds the live session of token at now_ms and slides its expiry by ttl_ms.
 * FT_OK and *out, FT_ENOTFOUND (unknown, expired, or user gone/disabled). */
int users_session_check(users_t *u, const char *token, int64_t now_ms, int64_t ttl_ms,
                        session_t *out) FT_MUST_CHECK;
/* Ends the session of token (logout). FT_OK even if it was not live. */
int users_session_end(users_t *u, const char *token) FT_MUST_CHECK;
/* Deletes expired sessions; *n gets how many. */
int users_session_sweep(users_t *u, int64_t now_ms, size_t *n) FT_MUST_CHECK;

#endif
