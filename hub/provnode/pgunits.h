/* pgunits.h: the provincial engine's units beside cases (docs/province.md
 * "Gap engine"): each caseless record is a unit of its own (with the other
 * caseless records of its unit and id, as hub/gaps/gapinput.h
 * gapinput_caseless forms it), and each media manifest without a case is a
 * unit for the unlinked-media rule, as the county's engine forms them
 * (hub/engine/engine.c eval_unit).
 *
 * Two hook points of pgengine.c call in:
 *   pgunits_taken_in   in the transaction of a batch of entries taken in
 *                      (their ft.prov_index rows carry indexed_at = now()):
 *                      each caseless record and caseless manifest of the
 *                      batch becomes a row of ft.prov_unit_state, and the
 *                      units the batch may change are marked (changes + 1):
 *                      those it meets in time (pgacts.h), those sharing a
 *                      media ID with it, and the caseless records of the
 *                      same identity;
 *   pgunits_clocks     before a county's new clock offsets are stored: the
 *                      units whose times they move are marked;
 *   pgunits_evaluate   after the cases: every unit that changed or whose
 *                      deadline passed is evaluated under
 *                      pg_try_advisory_xact_lock(7400165, hashtext(county/unit))
 *                      (held by another node: skipped, counted in `held`),
 *                      its alerts made equal to what the rules raise
 *                      (alertstate.h), each change one row of
 *                      ft.prov_alert_events with the unit in `unit_key`.
 * Unit keys: "R" + the record's ref (DEVICE/epoch/seq), "M" + the manifest's.
 *
 * And the province's own integrity alerts: a device entry that does not
 * verify at take-in stops its device's log there (pgengine.c); pgunits_refused
 * records it (ft.prov_integrity, in the transaction that writes the device's
 * blocked_seq), and pgunits_evaluate raises the integrity rule for it once
 * (unit "I" + ref + "#" + reason; its subject names device, epoch and seq as a
 * county's integrity alert does, its row the county). An integrity alert is
 * never resolved; a supervisor's justification may close it (pgjustify.h).
 */
#ifndef FT_PGUNITS_H
#define FT_PGUNITS_H

#include "pg.h"
#include "pgacts.h"
#include "pgengine.h"
#include "pverify.h"
#include "rules.h"

#include <stdint.h>

/* hp: the batch's time keys, as pgacts_params gives them. FT_OK or
 * FT_EIO/FT_ENOMEM with err (the caller rolls the batch back). */
int pgunits_taken_in(PGconn *c, const char *county, const char *const hp[PGACTS_PARAMS], char *err,
                     size_t errlen) FT_MUST_CHECK;

/* Before the county's new clock offsets go into ft.prov_clock (pgengine.c
 * take_clocks; pv has walked its hub log): the units whose times an offset
 * not held yet moves are marked changed (the device's from its arrival on,
 * and those sharing an officer or a recorder with them). */
int pgunits_clocks(PGconn *c, const char *county, const pverify_t *pv, char *err,
                   size_t errlen) FT_MUST_CHECK;

/* A device entry of b->county that did not verify and blocks its device
 * (unit: the device's enrolled unit). In the open transaction; a failure
 * fails it (the batch is taken in again at the next step). */
void pgunits_refused(PGconn *c, const pverify_bad_t *b, const char *unit);

/* Evaluates the units due at now_ms (st->units, st->held, st->events). */
int pgunits_evaluate(PGconn *c, const rulepack_t *pack, int64_t now_ms, const char *node,
                     pgengine_stats_t *st, char *err, size_t errlen) FT_MUST_CHECK;

#endif
