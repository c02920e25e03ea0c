/* recimport.c: one record into the device log as `import` takes it (see
 * recimport.h). */
#include "recimport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fills `unit` from the edge's config when a record does not say (Art. 10). */
static int default_unit(Ft__Record *rec, const char *unit)
{
    if (unit && (!rec->unit || !rec->unit[0])) {
        free(rec->unit);
        rec->unit = strdup(unit);
        if (!rec->unit) {
            return FT_ENOMEM;
        }
    }
    return FT_OK;
}

static void rejected(recimport_result_t *res, const char *field, const char *fmt, const char *a)
{
    res->outcome = RECIMPORT_REJECTED;
    res->seq = 0;
    snprintf(res->reason, sizeof res->reason, fmt, a);
    snprintf(res->field, sizeof res->field, "%s", field);
}

int recimport_append(devlog_txn_t *t, Ft__Record *rec, const char *unit, recimport_result_t *res)
{
    memset(res, 0, sizeof *res);
    /* The id index compares the record as the sender sent it, before the
     * unit is filled in, so that a re-import is never a conflict. */
    uint8_t sent_hash[32];
    int err = devlog_record_hash(rec, sent_hash);
    if (err == FT_OK) {
        err = default_unit(rec, unit);
    }
    if (err != FT_OK) {
        return err;
    }
    uint64_t seq = 0;
    err = devlog_append_record_as(t, rec, sent_hash, &seq);
    switch (err) {
    case FT_OK:
        res->outcome = RECIMPORT_STORED;
        res->seq = seq;
        return FT_OK;
    case FT_EEXIST:
        res->outcome = RECIMPORT_DUPLICATE;
        res->seq = seq;
        return FT_OK;
    case FT_EDUP:
        rejected(res, "id",
                 "a record with id \"%s\" was already imported with different content; "
                 "send a correction with \"amends\" instead",
                 rec->id);
        return FT_OK;
    case FT_EINVAL:
        rejected(res, "", "%s", "the record is too large or its id is longer than 511 bytes");
        return FT_OK;
    default:
        return err;
    }
}

int recimport_json(devlog_t *log, const json_t *obj, const char *unit, recimport_result_t *res)
{
    memset(res, 0, sizeof *res);
    Ft__Record *rec = NULL;
    int err = record_from_json(obj, &rec, res->reason, sizeof res->reason);
    if (err == FT_EINVAL) {
        res->outcome = RECIMPORT_REJECTED;
        record_reason_field(res->reason, res->field, sizeof res->field);
        return FT_OK;
    }
    if (err != FT_OK) {
        return err;
    }
    devlog_txn_t *t = NULL;
    err = devlog_begin(log, &t);
    if (err == FT_OK) {
        err = recimport_append(t, rec, unit, res);
    }
    if (err == FT_OK && res->outcome != RECIMPORT_REJECTED) {
        err = devlog_commit(&t);
    }
    devlog_abort(&t);
    record_free(&rec);
    return err;
}
