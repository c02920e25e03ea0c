/* pgjustify.c: justifications at the province (see pgjustify.h). */
#include "pgjustify.h"
#include "alertstate.h"
#include "record.h"
#include "utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One justification in, and (when it is new) the unit of the alert it names
 * marked changed, in one statement. */
static int take_one(PGconn *c, const char *county, const char *source, const char *alert,
                    const char *by, const char *reason, char *err, size_t errlen)
{
    const char *p[] = {county, source, alert, by, reason};
    PGresult *r = NULL;
    int rc = pg_query(
        c,
        "WITH ins AS (INSERT INTO ft.prov_justifications (county, source, alert_id, by_whom, "
        "reason) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (county, source) DO NOTHING RETURNING "
        "alert_id), "
        "ev AS (SELECT DISTINCT case_id, unit_key FROM ft.prov_alert_events WHERE county = $1 "
        "AND alert_id IN (SELECT alert_id FROM ins)), "
        "cs AS (UPDATE ft.prov_case_state SET changes = changes + 1 WHERE county = $1 AND "
        "case_id IN (SELECT case_id FROM ev WHERE unit_key = '' AND case_id <> '') RETURNING 1) "
        "UPDATE ft.prov_unit_state SET changes = changes + 1 WHERE county = $1 AND unit_key IN "
        "(SELECT unit_key FROM ev WHERE unit_key <> '')",
        5, p, &r, err, errlen);
    PQclear(r);
    return rc;
}

int pgjustify_take_hublog(PGconn *c, const char *county, const pverify_t *pv, char *err,
                          size_t errlen)
{
    size_t n = 0;
    const pverify_justification_t *j = pverify_justifications(pv, &n);
    int rc = FT_OK;
    for (size_t i = 0; rc == FT_OK && i < n; i++) {
        char source[96];
        snprintf(source, sizeof source, "hub log %" PRIu64 "/%" PRIu64, j[i].hub_epoch,
                 j[i].hub_seq);
        rc = take_one(c, county, source, j[i].alert, j[i].by, j[i].reason, err, errlen);
    }
    return rc;
}

int pgjustify_taken_in(PGconn *c, const char *county, char *err, size_t errlen)
{
    const char *p1[] = {county};
    PGresult *r = NULL;
    int rc = pg_query(c,
                      "SELECT i.device, i.epoch, i.seq, e.raw FROM ft.prov_index i JOIN "
                      "ft.entries e ON e.device = i.device AND e.epoch = i.epoch AND e.seq = "
                      "i.seq AND e.at = i.at WHERE i.county = $1 AND i.indexed_at = now() AND "
                      "i.kind = 1 AND i.rtype = 31 ORDER BY i.arrival",
                      1, p1, &r, err, errlen);
    for (int i = 0; rc == FT_OK && i < PQntuples(r); i++) {
        size_t dl, len;
        const uint8_t *dev = pg_bytes(r, i, 0, &dl);
        const uint8_t *raw = pg_bytes(r, i, 3, &len);
        entry_view_t v;
        if (dl != DEVID_BYTES || entry_open(raw, len, &v) != FT_OK) {
            continue;
        }
        const Ft__Body *b = v.entry->body;
        const Ft__Record *rec = b->kind_case == FT__BODY__KIND_RECORD ? b->record : NULL;
        const Ft__FieldValue *alert = rec ? record_field(rec, "alert") : NULL;
        const Ft__FieldValue *reason = rec ? record_field(rec, "reason") : NULL;
        if (rec && rec->type == FT__RECORD_TYPE__JUSTIFICATION && alert &&
            alert->value_case == FT__FIELD_VALUE__VALUE_TEXT && alert->text &&
            strlen(alert->text) == 16) {
            char id[DEVID_TEXT_SIZE], source[96], a[17], by[256], why[512];
            devid_format(dev, id);
            snprintf(source, sizeof source, "%s/%" PRId64 "/%" PRId64, id, pg_i64(r, i, 1),
                     pg_i64(r, i, 2));
            for (size_t k = 0; k < 16; k++) {
                char ch = alert->text[k];
                a[k] = (char)(ch >= 'A' && ch <= 'F' ? ch - 'A' + 'a' : ch);
            }
            a[16] = '\0';
            utf8_copy(by, sizeof by, rec->n_officers ? rec->officers[0] : "");
            utf8_copy(why, sizeof why,
                      reason && reason->value_case == FT__FIELD_VALUE__VALUE_TEXT ? reason->text
                                                                                  : "");
            rc = take_one(c, county, source, a, by, why, err, errlen);
        }
        entry_view_free(&v);
    }
    PQclear(r);
    return rc;
}

int pgjustify_apply(PGconn *c, const char *county, const char *case_id, const char *unit_key,
                    const char *node, int64_t now_ms, uint64_t *events, char *err, size_t errlen)
{
    const char *p[] = {county, case_id, unit_key};
    PGresult *r = NULL;
    int rc = pg_query(
        c,
        "SELECT l.alert_id, l.state, l.kind, l.rule, l.article, l.severity, l.unit, l.case_id, "
        "l.subject, l.due_at_ms, j.by_whom, j.reason, j.source FROM (SELECT DISTINCT ON "
        "(alert_id) * FROM ft.prov_alert_events WHERE county = $1 AND unit_key = $3 AND ($3 <> "
        "'' OR case_id = $2) ORDER BY alert_id, event_no DESC) l JOIN LATERAL (SELECT by_whom, "
        "reason, source FROM ft.prov_justifications k WHERE k.county = $1 AND k.alert_id = "
        "l.alert_id ORDER BY k.no LIMIT 1) j ON true WHERE l.state <> 'justified' ORDER BY "
        "l.alert_id",
        3, p, &r, err, errlen);
    for (int i = 0; rc == FT_OK && i < PQntuples(r); i++) {
        alert_facts_t facts = {.integrity = strcmp(pg_text(r, i, 2), "integrity") == 0};
        alert_state next;
        if (alert_transition(alert_state_parse(pg_text(r, i, 1)), ALERT_JUSTIFY, &facts, &next) !=
            ALERT_MOVE) {
            continue;
        }
        char now_text[24], due[24], detail[1024];
        snprintf(now_text, sizeof now_text, "%" PRId64, now_ms);
        snprintf(due, sizeof due, "%" PRId64, pg_i64(r, i, 9));
        const char *by = pg_text(r, i, 10);
        if (by[0]) {
            snprintf(detail, sizeof detail, "justified by %s (%s): %s", by, pg_text(r, i, 12),
                     pg_text(r, i, 11));
        } else {
            snprintf(detail, sizeof detail, "justified by %s: %s", pg_text(r, i, 12),
                     pg_text(r, i, 11));
        }
        const char *q[] = {now_text,
                           county,
                           pg_text(r, i, 7),
                           pg_text(r, i, 6),
                           pg_text(r, i, 0),
                           pg_text(r, i, 3),
                           pg_text(r, i, 2),
                           pg_text(r, i, 4),
                           pg_text(r, i, 5),
                           pg_text(r, i, 8),
                           detail,
                           alert_state_name(next),
                           due,
                           node,
                           unit_key};
        PGresult *w = PQexecParams(
            c,
            "INSERT INTO ft.prov_alert_events (at, county, case_id, unit, alert_id, rule, kind, "
            "article, severity, subject, detail, state, due_at_ms, node, unit_key) VALUES "
            "(to_timestamp($1::bigint / 1000.0), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
            "$13::bigint, $14, $15)",
            15, NULL, q, NULL, NULL, 0);
        if (PQresultStatus(w) != PGRES_COMMAND_OK) {
            snprintf(err, errlen, "PostgreSQL: %s", PQresultErrorMessage(w));
            rc = FT_EIO;
        } else {
            (*events)++;
        }
        PQclear(w);
    }
    PQclear(r);
    return rc;
}
