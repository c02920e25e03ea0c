/* pgjustify.h: supervisors' justifications at the province (docs/province.md
 * "Gap engine", docs/alerts.md "States"). A county applies a justification
 * record naming an alert (entered at its dashboard, signed into its hub log;
 * or logged by a device) to that alert: open or resolved, it becomes
 * justified, which is final; one not raised yet is held and applied when it
 * opens. The province takes the same records from what it verified and
 * applies them the same way, so the alert is justified at both tiers.
 *
 * Hook points of pgengine.c and pgunits.c:
 *   pgjustify_take_hublog  after the county hub's log verified: its
 *                          justification records (pverify_justifications)
 *                          that ft.prov_justifications does not hold yet go
 *                          in, and the unit of an alert one names is marked
 *                          changed;
 *   pgjustify_taken_in     in a batch's transaction: the justification
 *                          records among the device entries it took in,
 *                          likewise;
 *   pgjustify_apply        after a unit's alerts were made equal to what the
 *                          rules raise: every alert of the unit that a
 *                          justification names and that is not justified yet
 *                          moves to justified (alertstate.h), one event each.
 * The first justification of an alert (in the order the province took them
 * in) is the one its event names.
 */
#ifndef FT_PGJUSTIFY_H
#define FT_PGJUSTIFY_H

#include "pg.h"
#include "pverify.h"

#include <stdint.h>

int pgjustify_take_hublog(PGconn *c, const char *county, const pverify_t *pv, char *err,
                          size_t errlen) FT_MUST_CHECK;
int pgjustify_taken_in(PGconn *c, const char *county, char *err, size_t errlen) FT_MUST_CHECK;

/* The unit: a case (case_id, unit_key "") or a unit of pgunits.h (unit_key).
 * Adds the events written to *events. */
int pgjustify_apply(PGconn *c, const char *county, const char *case_id, const char *unit_key,
                    const char *node, int64_t now_ms, uint64_t *events, char *err,
                    size_t errlen) FT_MUST_CHECK;

#endif
