/* digest.h: a digest hook's times and what one digest says per unit
 * (docs/alerts.md "Digests").
 *
 * A digest hook sends at fixed local times (digest_at, local time of the
 * TZ the hub runs in; a time a DST change skips is taken as mktime does).
 * Each digest is one message per unit: the unit's open alerts that pass the
 * hook's filter (counts by severity and article, the longest open), and the
 * events of such alerts in the hub log since the previous digest (how many
 * opened, resolved, justified; the newest few). Open alerts are the alert
 * view's (hub/views/alertview.h: the hub log read as the dashboard reads
 * it); the events are the AlertEvent entries in a range of the hub log, so
 * a digest interrupted by a restart says the same again.
 */
#ifndef FT_HUB_DIGEST_H
#define FT_HUB_DIGEST_H

#include "alertview.h"
#include "botmsg.h"
#include "devlog.h"
#include "route.h"

#include <stdint.h>

/* The latest digest time at or before now_ms, and the earliest after it
 * (0 if the hook has no digest times). */
int64_t digest_slot_before(const hook_t *h, int64_t now_ms);
int64_t digest_slot_after(const hook_t *h, int64_t now_ms);

typedef struct {
    digest_unit_t *u; /* sorted by unit */
    size_t n;
} digest_set_t;

/* The digest at at_ms (the previous one at since_ms, 0: none) for hook h:
 * open alerts from view, events from hub-log entries (from, to]. Units:
 * those with an open alert or an event that passes the filter, and the
 * filter's own units (each gets a digest, if only to say nothing is open).
 * FT_OK, FT_ENOMEM, or the hub log's read error. */
int digest_collect(alertview_t *view, devlog_t *hublog, const hook_t *h, uint64_t from, uint64_t to,
                   int64_t at_ms, int64_t since_ms, digest_set_t *out) FT_MUST_CHECK;
void digest_set_free(digest_set_t *s);
/* The unit's digest in s, or NULL. */
const digest_unit_t *digest_find(const digest_set_t *s, const char *unit);

#endif
