/* pgengine.h: THIS is the provincial node's gap engine over PostgreSQL
 * (docs/province.md "Gap engine"). It runs the rules the county hubs run
 * (hub/gaps: a case's records and media and `now` in, alerts out; the case
 * assembled by gapinput.h as the county's index assembles it) over the
 * entries the counties forwarded, and keeps its case index, its work state
 * and its alert events in the provincial database (engine.sql, compiled
 * in). It trusts no county: an entry is taken in only after it verified
 * (pverify.h: its enrolment's key, its chain from the last entry taken in).
 *
 * One step at an explicit evaluation time `now`:
 *   1. catch up, county by county, under a session advisory lock of the
 *      county (pg_try_advisory_lock: a county another node is taking in is
 *      skipped): walk the county hub's log for the enrolments, then every
 *      device's entries after its head (ft.prov_heads), verifying each; each
 *      record and media manifest becomes a row of ft.prov_index; the cases
 *      it may change are marked (ft.prov_case_state.changes + 1). An entry
 *      that does not verify stops its device's log there (blocked_seq) and
 *      is logged; `verify` names it.
 *   2. evaluate every case that changed since its evaluation or whose
 *      deadline passed, each in its own transaction under
 *      pg_try_advisory_xact_lock of the case: a case another node holds is
 *      skipped (that node evaluates it), and one whose state says it is done
 *      by the time the lock is held is not evaluated again. Its alerts are
 *      made equal to what the rules raise (alertstate.h transitions), each
 *      change one row of ft.prov_alert_events.
 * So several nodes may step against one database at once: no case is
 * evaluated by two nodes at once, and every alert event is written once.
 *
 * What the province evaluates: cases (records with a case and the media
 * that may document them), each entry's times corrected by the clock offset
 * its county applied (ClockOffset entries of the county hub's verified log,
 * ft.prov_clock; docs/province.md "Clock offsets"); caseless records and
 * unlinked media (pgunits.h), supervisors' justifications (pgjustify.h) and
 * its own integrity alerts (pgunits.h). The clock and silence rules stay the
 * counties' (docs/province.md "Gap engine").
 */
#ifndef FT_PGENGINE_H
#define FT_PGENGINE_H

#include "gapinput.h"
#include "pg.h"
#include "rules.h"

#include <stdint.h>

/* The provincial engine's tables, compiled in from engine.sql, and their
 * version (ft.meta provnode_schema_version; raise both together). */
#define PGENGINE_SCHEMA_VERSION "4"
extern const char pgengine_schema_sql[];

/* Creates (or completes) the engine's tables unless ft.meta says this
 * version is there. FT_OK or FT_EIO with err. */
int pgengine_schema(PGconn *c, char *err, size_t errlen) FT_MUST_CHECK;

typedef struct {
    uint64_t entries;  /* entries verified and taken into the index */
    uint64_t refused;  /* entries that did not verify (their device stops there) */
    uint64_t counties; /* counties another node was taking in (skipped) */
    uint64_t quiet;    /* counties that forwarded nothing since the last step (memo) */
    uint64_t cases;    /* cases evaluated */
    uint64_t held;     /* cases another node held (skipped) */
    uint64_t events;   /* alert events written */
    uint64_t units;    /* caseless records and caseless media evaluated (pgunits.h) */
} pgengine_stats_t;

/* What a node that steps again and again (`run`) remembers between steps:
 * each county's checkpoints when it last took the county in, so that a
 * county that forwarded nothing since is not walked again (its hub log
 * would be verified anew at every step). Zero it before the first step;
 * free it with pgengine_memo_free. */
typedef struct {
    struct pgengine_seen *seen;
    size_t n, cap;
} pgengine_memo_t;
void pgengine_memo_free(pgengine_memo_t *m);

/* The order in which the county's index takes in[0..n) (arrival:
 * gapinput_entry_t.order), as indexes into in: *perm holds n of them (free
 * it). FT_OK or FT_ENOMEM. Cases (pgengine.c) and the units beside them
 * (pgunits.c) sort their loads with it. */
int pgengine_arrival_order(const gapinput_entry_t *in, size_t n, size_t **perm) FT_MUST_CHECK;

/* The work due at now_ms: the rows of sql (a SELECT whose $1 is now_ms as
 * text), into *out (PQclear it); when there are any, the month partition of
 * now_ms for the alert events they will write is made. Cases (pgengine.c)
 * and the units beside them (pgunits.c) list theirs with it. */
int pgengine_list_due(PGconn *c, const char *sql, int64_t now_ms, PGresult **out, char *err,
                      size_t errlen) FT_MUST_CHECK;

/* One step at now_ms by node (a name recorded with its events); memo may be
 * NULL (every county is walked). Adds to *st. FT_OK, or FT_EIO/FT_ENOMEM
 * with err. */
int pgengine_step(PGconn *c, const rulepack_t *pack, int64_t now_ms, const char *node,
                  pgengine_memo_t *memo, pgengine_stats_t *st, char *err,
                  size_t errlen) FT_MUST_CHECK;

#endif
