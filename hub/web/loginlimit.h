/* loginlimit.h: a bound on password guessing at the dashboard's login
 * (POST /api/login, docs/api.md "Failed logins").
 *
 * Failed attempts are counted per user name and per client address (an
 * IPv6 client by its /64). The first `free_failures` failures of a name or
 * an address cost nothing; each one after locks that name or address out for
 * first_ms, doubling with every further failure up to max_ms. While either
 * is locked out, an attempt is refused without its password being tested, so
 * a correct password does not get in either (and costs no Argon2 work). A
 * successful login forgets both counts; a count is also forgotten forget_ms
 * after its last failure once its lockout is over.
 *
 * An attempt is counted as a failure when it begins (loginlimit_begin) and
 * forgotten when it succeeds, so that many attempts sent at once cannot all
 * be tested before the first of them has failed; when it fails
 * (loginlimit_failed), the lockout it started runs again from that moment.
 *
 * Memory is fixed: LOGINLIMIT_SLOTS entries of 32 bytes in a set-associative
 * table (LOGINLIMIT_WAYS per set) keyed by SipHash with a random key, so
 * that nobody can aim names at one set. A full set gives up the entry whose
 * last failure is oldest (an expired one first): the table never grows.
 * Names and addresses are not kept, only their hashes.
 *
 * Thread safe: one mutex around each call (the server answers each connection
 * on its own thread).
 */
#ifndef FT_HUB_LOGINLIMIT_H
#define FT_HUB_LOGINLIMIT_H

#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define LOGINLIMIT_SLOTS 4096
#define LOGINLIMIT_WAYS 8
#define LOGINLIMIT_DEFAULT_FREE 5
#define LOGINLIMIT_DEFAULT_FIRST_MS 1000
#define LOGINLIMIT_DEFAULT_MAX_MS (15 * 60 * 1000)
#define LOGINLIMIT_DEFAULT_FORGET_MS (24 * 3600 * 1000LL)

typedef struct {
    unsigned free_failures; /* failures that lock nothing out */
    int64_t first_ms;       /* the first lockout (doubles with every further failure) */
    int64_t max_ms;         /* the longest lockout */
    int64_t forget_ms;      /* a count is forgotten this long after its last failure */
} loginlimit_opts_t;

/* One name or address (private to loginlimit.c). */
typedef struct {
    uint64_t tag;      /* SipHash of the name or address (own key each); 0 = free */
    int64_t last_ms;   /* the last failure */
    int64_t until_ms;  /* locked out until */
    uint32_t failures; /* failures counted */
    uint32_t warned;   /* a refusal during this lockout was logged */
} loginlimit_slot_t;

/* The limiter; its fields are private to loginlimit.c. Kept in static
 * storage or embedded: it allocates nothing. */
typedef struct {
    pthread_mutex_t lock;
    loginlimit_opts_t o;
    unsigned char key_user[16], key_addr[16]; /* SipHash keys (random) */
    uint64_t evictions;
    uint64_t refused;
    loginlimit_slot_t slots[LOGINLIMIT_SLOTS];
} loginlimit_t;

/* What loginlimit_begin found or did. */
typedef struct {
    int64_t wait_ms;      /* > 0: refused; this long until an attempt may be tested */
    bool user_locked;     /* refused because of the user name (else the address) */
    bool first_refusal;   /* the first refusal of this lockout (log it) */
    unsigned failures;    /* failures now counted (the larger of name and address) */
    int64_t lockout_ms;   /* the lockout this attempt starts if it fails (0 = none) */
    bool lockout_by_user; /* that lockout is the user name's (else the address's) */
} loginlimit_verdict_t;

/* The defaults above. */
void loginlimit_defaults(loginlimit_opts_t *o);
/* Options from the hub config: http.login_max_failures (default 5),
 * http.login_backoff_s (1), http.login_backoff_max_s (900). FT_EINVAL with a
 * sentence in err for a value that is not a whole number in range. */
int loginlimit_opts_from_config(const config_t *cfg, loginlimit_opts_t *o, char *err,
                                size_t errlen) FT_MUST_CHECK;
/* Sets up l (opts NULL = the defaults). */
void loginlimit_init(loginlimit_t *l, const loginlimit_opts_t *opts);
void loginlimit_fini(loginlimit_t *l);

/* Before testing a password for user from addr (either may be NULL): when
 * the name or the address is locked out, v->wait_ms > 0 and nothing is
 * counted; else the attempt is counted as a failure of both (undone by
 * loginlimit_success) and v->lockout_ms tells the lockout that now runs. */
void loginlimit_begin(loginlimit_t *l, const char *user, const char *addr, int64_t now_ms,
                      loginlimit_verdict_t *v);
/* The password was right: forgets the counts of user and addr. */
void loginlimit_success(loginlimit_t *l, const char *user, const char *addr);
/* The password was wrong (now_ms: when the check ended): a lockout that the
 * attempt started runs from now, not from when the attempt began, so a slow
 * password check (Argon2id, 0.5-3 s on a busy hub) does not use it up before
 * the client even hears of the failure. Counts nothing. */
void loginlimit_failed(loginlimit_t *l, const char *user, const char *addr, int64_t now_ms);
/* The address a client is counted by: IPv4 as text, IPv6 its /64
 * ("2001:db8:1:2::/64"; an IPv4-mapped one as IPv4); "" if neither. */
void loginlimit_addr_text(const struct sockaddr *sa, char *buf, size_t len);
/* The lockout after n failures (0 while n <= free_failures). */
int64_t loginlimit_backoff(const loginlimit_opts_t *o, unsigned n);
/* Entries in use (at most LOGINLIMIT_SLOTS), entries given up for new ones,
 * attempts refused. */
size_t loginlimit_used(loginlimit_t *l);
uint64_t loginlimit_evictions(loginlimit_t *l);
uint64_t loginlimit_refused(loginlimit_t *l);

#endif
