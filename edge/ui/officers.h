/* officers.h: the officers who may sign in on a vehicle's screen, and their
 * PINs (docs/vehicle.md "Officers").
 *
 * Kept in STATE/officers.json (mode 0600), rewritten whole (temp file,
 * fsync, rename, fsync of the directory) under flock(STATE/officers.lock),
 * so that `fieldtrail-edge officer ...` may run beside `run`. Per officer:
 * ID, name, the PIN's Argon2id hash (crypto_pwhash_str; a PIN is never
 * stored, shown or logged), when it was added, failed sign-ins since the
 * last success, and until when it is locked out.
 *
 * Sign-in (officers_check), per officer:
 *   locked_until_ms > now  -> refused without testing the PIN (FT_EAGAIN)
 *   else the attempt is counted as a failure and written before the PIN is
 *        tested (many attempts at once cannot all be tested), with the
 *        lockout it starts if it fails;
 *   PIN right -> failures 0, no lockout (FT_OK);
 *   PIN wrong -> the lockout runs from the end of the test (FT_EKEY).
 * The first OFFICERS_FREE_FAILURES failures lock nothing; each further one
 * locks the officer out for OFFICERS_LOCK_FIRST_MS, doubling up to
 * OFFICERS_LOCK_MAX_MS. Counts live in the file, so a restart resets
 * nothing; a new PIN (officers_set_pin) does. An unknown ID takes the time
 * of one Argon2id test and gets FT_EKEY, as a wrong PIN does.
 */
#ifndef FT_EDGE_OFFICERS_H
#define FT_EDGE_OFFICERS_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OFFICER_ID_MAX 64    /* bytes incl. NUL */
#define OFFICER_NAME_MAX 128 /* bytes incl. NUL */
#define OFFICER_PIN_MIN 6    /* characters a PIN needs at least */
#define OFFICER_PIN_MAX 64   /* bytes */
#define OFFICERS_FREE_FAILURES 3
#define OFFICERS_LOCK_FIRST_MS 30000LL
#define OFFICERS_LOCK_MAX_MS 3600000LL
#define OFFICERS_FILE "officers.json"
#define OFFICERS_LOCK "officers.lock"

/* An officer as listings show it (never the PIN's hash). */
typedef struct {
    char id[OFFICER_ID_MAX];
    char name[OFFICER_NAME_MAX];
    int64_t created_ms;
    unsigned failures;       /* failed sign-ins since the last success */
    int64_t locked_until_ms; /* 0 when not locked out */
} officer_t;

/* True if id is 1..63 bytes of letters, digits, '-', '_' or '.'. */
bool officer_id_valid(const char *id);
/* True if pin is OFFICER_PIN_MIN..OFFICER_PIN_MAX bytes without control
 * characters. */
bool officer_pin_valid(const char *pin);
/* The lockout after n failures (0 while n <= OFFICERS_FREE_FAILURES). */
int64_t officers_backoff(unsigned n);

/* Adds an officer to the state directory's list. FT_EEXIST, FT_EINVAL (bad
 * ID, name or PIN), FT_ECORRUPT (the file does not read), FT_EIO. */
int officers_add(const char *state, const char *id, const char *name, const char *pin,
                 int64_t now_ms) FT_MUST_CHECK;
/* Gives an officer a new PIN and ends its lockout. FT_ENOTFOUND, FT_EINVAL,
 * FT_ECORRUPT, FT_EIO. */
int officers_set_pin(const char *state, const char *id, const char *pin) FT_MUST_CHECK;
/* Removes an officer. FT_ENOTFOUND, FT_ECORRUPT, FT_EIO. */
int officers_remove(const char *state, const char *id) FT_MUST_CHECK;
/* The officers in the order they were added (*out: caller frees; NULL when
 * there are none). FT_OK (no file: none), FT_ECORRUPT, FT_EIO, FT_ENOMEM. */
int officers_list(const char *state, officer_t **out, size_t *n) FT_MUST_CHECK;
/* Checks a sign-in (above): FT_OK and *out; FT_EKEY (unknown ID or wrong
 * PIN); FT_EAGAIN (locked out: *wait_ms until a PIN is tested again);
 * FT_ECORRUPT, FT_EIO. *locked_now says this failure started a lockout. */
int officers_check(const char *state, const char *id, const char *pin, int64_t now_ms,
                   officer_t *out, int64_t *wait_ms, bool *locked_now) FT_MUST_CHECK;

#endif
