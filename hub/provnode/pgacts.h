/* pgacts.h: what a batch taken in marks changed, bounded in time
 * (docs/province.md "What a batch marks").
 *
 * A case or a unit must be evaluated again when a batch brings something its
 * alerts may depend on. Besides its own entries (and citations, by media ID),
 * that is media and activities meeting in time: a clip counts for an
 * activity that shares an officer or a recorder with it and overlaps its
 * capture (hub/gaps/gapinput.h), and a clip naming no officer is its
 * recorder's holder's (the last checkout or return at or before its start).
 * The county's index answers these by officer or recorder and time
 * (hub/engine/index.c); the provincial node keeps the same keys in
 * ft.prov_acts: for each activity record, media manifest and checkout or
 * return, one row per officer and per recorder it names, with its window in
 * the device's own clock, and ft.prov_spans the longest window of each kind.
 *
 * A batch (pgacts_add for each entry, then pgacts_put) marks, with every
 * window widened by the county's clock offsets (twice the largest it sent,
 * plus a second: the province compares uncorrected times, the county
 * corrected ones):
 *   - for a clip: the activities of its officer, of its recorder, and of
 *     the officers who checked its recorder out, that overlap it;
 *   - for an activity: the clips of its officers and recorders, and of the
 *     recorders its officers checked out, that overlap it;
 *   - for a checkout or return of a recorder: that recorder's clips from then
 *     until its next checkout or return, and the activities overlapping those
 *     clips of the officers who checked it out.
 * Marking one too many costs an evaluation; one too few would cost an alert,
 * so every bound errs wide. A clock offset taken in later marks on its own
 * (pgengine.c take_clocks, pgunits_clocks).
 */
#ifndef FT_PGACTS_H
#define FT_PGACTS_H

#include "pg.h"

#include "entry.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Five parallel text columns, each to become one array parameter (no value
 * may be empty: pg_text_array leaves those out). Start from {0}. */
#define PGACTS_NCOLS 5
typedef struct {
    char **v[PGACTS_NCOLS];
    size_t n, cap;
    bool oom;
} pgacts_cols_t;
/* Adds a row of copies of val[0..PGACTS_NCOLS). */
void pgacts_cols_add(pgacts_cols_t *t, const char *const val[PGACTS_NCOLS]);
void pgacts_cols_clear(pgacts_cols_t *t); /* empties it, keeping its room */
void pgacts_cols_free(pgacts_cols_t *t);

/* The rows of a batch, and its searches as arrays. */
typedef struct {
    pg_rows_t rows;  /* ft.prov_acts rows (PGACTS_NCOLS each) */
    pgacts_cols_t s; /* kind, role, name, lo, hi of each search row */
    int64_t span[4]; /* longest window of each kind in the batch (1..3) */
    pg_buf_t lit[5]; /* the searches as array literals (pgacts_params) */
    char **pair[2];  /* officer, recorder of each checkout (ft.prov_holders) */
    size_t np, capp;
    char slack[24]; /* ms, pgacts_put */
    bool oom;
} pgacts_t;

void pgacts_init(pgacts_t *a);
void pgacts_free(pgacts_t *a);

/* Adds the rows of one verified entry (a record or a manifest; anything else
 * adds none). dev/epoch/seq/at: the entry's columns as the batch query gave
 * them (binary). case_id: cut as ft.prov_index cuts it. */
int pgacts_add(pgacts_t *a, const char *county, const entry_view_t *v, const char *case_id,
               const char *dev, int dl, const char *epoch, const char *seq, const char *at,
               int atl) FT_MUST_CHECK;

/* Inserts the batch's rows, grows the county's spans, reads its slack and
 * makes the search arrays; after it, pgacts_params gives the parameters
 * $1..$7 of PGACTS_HIT_SQL. FT_OK, FT_ENOMEM or FT_EIO with err. */
int pgacts_put(PGconn *c, pgacts_t *a, const char *county, char *err, size_t errlen) FT_MUST_CHECK;
#define PGACTS_PARAMS 7
void pgacts_params(const pgacts_t *a, const char *county, const char *p[PGACTS_PARAMS]);

/* CTEs to follow WITH, ending in hit(case_id, device, epoch, seq, at): the
 * activity and media rows the batch may change, each possibly more than
 * once. Parameters: $1 county, $2..$6 the search arrays, $7 the slack in ms.
 * b: the searches; sp: the county's spans; q: (want, role, name, lo, hi),
 * rows of kind want naming name in role whose window meets [lo, hi], with
 * the officers who ever held a clip's recorder and the recorders an
 * activity's officers ever held (ft.prov_holders); dm: the clips a checkout
 * may hand to another officer; hit: what they find. */
#define PGACTS_HIT_SQL                                                                             \
    "b AS MATERIALIZED (SELECT DISTINCT * FROM unnest($2::smallint[], $3::smallint[], "            \
    "$4::text[], $5::bigint[], $6::bigint[]) AS b(kind, role, name, lo, hi)), "                    \
    "sp AS MATERIALIZED (SELECT coalesce(max(span) FILTER (WHERE kind = 1), 0) AS act, "           \
    "coalesce(max(span) FILTER (WHERE kind = 2), 0) AS med FROM ft.prov_spans WHERE county = "     \
    "$1), "                                                                                        \
    "q0 AS (SELECT 1 AS want, b.role, b.name, b.lo, b.hi FROM b WHERE b.kind = 2 "                 \
    "UNION SELECT 1, 1, h.officer, b.lo, b.hi FROM b JOIN ft.prov_holders h ON h.county = $1 "     \
    "AND h.recorder = b.name WHERE b.kind = 2 AND b.role = 2 "                                     \
    "UNION SELECT 2, b.role, b.name, b.lo, b.hi FROM b WHERE b.kind = 1 "                          \
    "UNION SELECT 2, 2, h.recorder, b.lo, b.hi FROM b JOIN ft.prov_holders h ON h.county = $1 "    \
    "AND h.officer = b.name WHERE b.kind = 1 AND b.role = 1), "                                    \
    "dm AS MATERIALIZED (SELECT m.name, m.lo, m.hi, m.case_id, m.device, m.epoch, m.seq, m.at "    \
    "FROM b CROSS JOIN LATERAL (SELECT * FROM ft.prov_acts m WHERE m.county = $1 AND m.kind = "    \
    "2 AND m.role = 2 AND m.name = b.name AND m.lo >= b.lo - $7::bigint AND m.lo <= "              \
    "coalesce((SELECT min(n.lo) FROM ft.prov_acts n WHERE n.county = $1 AND n.kind = 3 AND "       \
    "n.role = 2 AND n.name = b.name AND n.lo > b.lo + $7::bigint) + $7::bigint, "                  \
    "9000000000000000000)) m WHERE b.kind = 3 AND b.role = 2), "                                   \
    "q AS MATERIALIZED (SELECT * FROM q0 UNION SELECT 1, 1, h.officer, dm.lo, dm.hi FROM dm "      \
    "JOIN ft.prov_holders h ON h.county = $1 AND h.recorder = dm.name), "                          \
    "hit AS (SELECT x.case_id, x.device, x.epoch, x.seq, x.at FROM q CROSS JOIN sp JOIN "          \
    "ft.prov_acts x ON x.county = $1 AND x.kind = q.want AND x.role = q.role AND x.name = "        \
    "q.name AND x.lo BETWEEN q.lo - $7::bigint - (CASE WHEN q.want = 1 THEN sp.act ELSE "          \
    "sp.med END) AND q.hi + $7::bigint AND x.hi >= q.lo - $7::bigint "                             \
    "UNION ALL SELECT dm.case_id, dm.device, dm.epoch, dm.seq, dm.at FROM dm) "

/* Fills ft.prov_acts and ft.prov_spans from ft.prov_index and the signed
 * entries, once, for a database made before version 4 (ft.meta
 * prov_acts_filled). FT_OK or FT_EIO/FT_ENOMEM with err. */
int pgacts_fill(PGconn *c, char *err, size_t errlen) FT_MUST_CHECK;

#endif
