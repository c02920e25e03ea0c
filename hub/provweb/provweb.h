/* provweb.h: the provincial node's dashboard over PostgreSQL (docs/province.md
 * "Dashboard"): its users, sessions and audit trail in the provincial
 * database (provweb.sql, compiled in), the web server's backend over them
 * (hub/web/web.h web_backend_t), a small pool of connections the dashboard's
 * requests share, and the unit scoping every answer goes through.
 *
 * Several nodes may serve one database: nothing of a user or a session is
 * kept in a node (a login made on one node is valid on every node, a
 * logout on one ends it on all). When the database cannot be reached, every
 * function answers FT_EIO with the reason in err, and the server answers
 * 503 in plain words; the next request tries again with a new connection.
 *
 * Unit scoping: a user has a list of units (as the counties' signed
 * enrolments name them, ft.enrolments.unit, which is also the unit of
 * ft.prov_index and ft.prov_alert_events) or all units. A session carries
 * the list ('\n'-separated, users.h session_t); provweb_units_param turns it
 * into the text[] parameter the dashboard's queries filter on.
 */
#ifndef FT_PROVWEB_H
#define FT_PROVWEB_H

#include "pg.h"
#include "users.h"

#include <stdbool.h>
#include <stdint.h>

struct web_backend;

/* The dashboard's tables, compiled in from provweb.sql, and their version
 * (ft.meta provweb_schema_version; raise both together). */
#define PROVWEB_SCHEMA_VERSION "1"
extern const char provweb_schema_sql[];

#define PROVWEB_UNIT_MAX 200 /* bytes of one unit's name */

typedef struct provweb_t provweb_t;

/* ---- units (pure) ---- */

/* "U1,U2" (commas between units; spaces around each dropped) into
 * "U1\nU2" in out. FT_OK, or FT_EINVAL with err in plain words (an empty
 * unit, a control character, a unit longer than PROVWEB_UNIT_MAX, or more
 * than fits a session). */
int provweb_units_parse(const char *text, char *out, size_t outlen, char *err,
                        size_t errlen) FT_MUST_CHECK;
/* True if the session may see unit. */
bool provweb_unit_allowed(const session_t *s, const char *unit);
/* The text[] literal of the session's units into b, and b's text; NULL
 * (the parameter SQL NULL: no filter) for a user of every unit. */
const char *provweb_units_param(const session_t *s, pg_buf_t *b);

/* ---- the pool ---- */

/* Opens the pool for url (a node's name for its audit entries) and makes
 * sure the dashboard's tables are there. FT_OK, FT_EIO with err (the
 * database cannot be reached, or holds no provincial tables), FT_ENOMEM. */
int provweb_open(const char *url, const char *node, provweb_t **out, char *err,
                 size_t errlen) FT_MUST_CHECK;
void provweb_close(provweb_t **p_p);
/* pg_query on a connection of the pool; a connection found broken is
 * replaced and the query tried once more. FT_OK (*out: PQclear it) or
 * FT_EIO with err. */
int provweb_query(provweb_t *p, const char *sql, int n, const char *const *params, PGresult **out,
                  char *err, size_t errlen) FT_MUST_CHECK;

/* ---- users (the command `fieldtrail-hub user --store`) ---- */

/* A user as listings show it (never the password hash). */
typedef struct {
    char name[USER_NAME_MAX];
    user_role role;
    bool all_units;
    const char *units; /* '\n'-separated ("" with all_units) */
    int64_t created_ms;
    bool disabled;
} provweb_user_t;

/* Adds a user (units '\n'-separated, ignored with all_units). FT_EEXIST,
 * FT_EINVAL (name, role, password), FT_EIO with err. */
int provweb_user_add(provweb_t *p, const char *name, user_role role, bool all_units,
                     const char *units, const char *password, char *err,
                     size_t errlen) FT_MUST_CHECK;
/* Removes a user and their sessions. FT_ENOTFOUND, FT_EIO with err. */
int provweb_user_remove(provweb_t *p, const char *name, char *err, size_t errlen) FT_MUST_CHECK;
/* Replaces a password and ends the user's sessions. FT_ENOTFOUND, FT_EINVAL,
 * FT_EIO with err. */
int provweb_user_passwd(provweb_t *p, const char *name, const char *password, char *err,
                        size_t errlen) FT_MUST_CHECK;
/* Visits the users in name order. FT_OK or FT_EIO with err. */
typedef void (*provweb_user_fn)(void *ctx, const provweb_user_t *u);
int provweb_user_list(provweb_t *p, provweb_user_fn fn, void *ctx, char *err,
                      size_t errlen) FT_MUST_CHECK;
/* An entry of ft.web_audit by who. FT_OK or FT_EIO with err. */
int provweb_audit(provweb_t *p, const char *who, const char *action, const char *target,
                  const char *detail, char *err, size_t errlen) FT_MUST_CHECK;

/* ---- the web server's backend ---- */

/* The backend over p (p becomes the server's: its close frees p). The
 * modules find p as sh->node. */
void provweb_backend(provweb_t *p, struct web_backend *be);

#endif
