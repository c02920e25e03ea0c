/* recimport.h: one record into the device log, as `fieldtrail-edge import`
 * takes it: the one implementation that the command line (import, record)
 * and the vehicle's screen (edge/ui) share, so that a form submitted on the
 * screen is exactly an import of that record: the same checks
 * (record_from_json, docs/records.md), the same filling in of `unit` from
 * edge.conf, the same signed entry, the same words when it is refused.
 *
 * Outcomes (recimport_result_t.outcome):
 *   RECIMPORT_STORED     appended in the caller's transaction (seq set)
 *   RECIMPORT_DUPLICATE  a record with this `id` and the same content is in
 *                        the log already: nothing appended (seq: that one)
 *   RECIMPORT_REJECTED   not a record, or its `id` taken by other content,
 *                        or too large: nothing appended; reason says why in
 *                        the import's words, field names the member
 *                        (record_reason_field; "id" for a taken id)
 * A storage failure is the function's error; the transaction is then only
 * abortable.
 */
#ifndef FT_EDGE_RECIMPORT_H
#define FT_EDGE_RECIMPORT_H

#include "devlog.h"
#include "record.h"

#include <jansson.h>

typedef enum {
    RECIMPORT_STORED = 1,
    RECIMPORT_DUPLICATE = 2,
    RECIMPORT_REJECTED = 3,
} recimport_outcome;

typedef struct {
    recimport_outcome outcome;
    uint64_t seq;     /* the entry (stored or the duplicate's); 0 when rejected */
    char reason[512]; /* why it was rejected, as `import` says it */
    char field[64];   /* the member(s) the reason is about ("" for the whole) */
} recimport_result_t;

/* Appends rec (parsed by record_from_json or record_from_line) in t, its
 * `unit` filled from unit (edge.conf) when it has none. rec is changed (the
 * unit) and stays the caller's. FT_OK (see res) or the log's error. */
int recimport_append(devlog_txn_t *t, Ft__Record *rec, const char *unit,
                     recimport_result_t *res) FT_MUST_CHECK;

/* Checks and appends one record given as a JSON object, in its own
 * transaction: FT_OK (see res: rejected records leave nothing behind) or
 * the log's error. */
int recimport_json(devlog_t *log, const json_t *obj, const char *unit,
                   recimport_result_t *res) FT_MUST_CHECK;

#endif
