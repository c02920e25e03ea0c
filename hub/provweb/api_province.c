/* api_province.c: the provincial node's dashboard across counties, over the
 * provincial database (hub/provweb/provweb.h; docs/province.md "Dashboard").
 *
 *   GET /api/prov/alerts?county=&unit=&case=&state=&rule=&article=&limit=
 *       the alerts of the provincial gap engine, each as its latest event
 *       says: {alerts: [{county, id, unit, case, rule, kind, article,
 *       severity, subject, detail, state, at, node}], truncated}
 *   GET /api/prov/counties
 *       each county holding a unit of the user's: its units, forwarding
 *       position (entries and hub-log checkpoints, their time and lag) and
 *       what the engine has taken in of the user's units' devices (devices,
 *       entries, the newest head) and the devices blocked by an entry that
 *       did not verify
 *   GET /api/prov/cases/COUNTY/CASE
 *       the case as the province holds it: its records and media (the
 *       engine's index) and its alerts
 *
 * Unit scoping: every query takes the session's units (provweb_units_param)
 * and filters on the unit the county's signed enrolments give (the index's
 * and the alert events' unit, ft.enrolments.unit), so an answer holds
 * nothing of another unit; a case with nothing of the user's units is
 * answered 404 in the same words whether it exists or not. A database that
 * cannot be reached is answered 503 in plain words (web_unavailable).
 */
#include "api_province.h"
#include "keys.h"
#include "provweb.h"
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALERTS_DEFAULT 500
#define ALERTS_MAX 5000

static provweb_t *db(web_req_t *r)
{
    return r->sh->node;
}

/* The text of a text column, or NULL when SQL NULL. */
static const char *opt_text(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : pg_text(res, row, col);
}

static json_t *time_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null() : web_time(pg_i64(res, row, col));
}

/* '\n'-separated text as a JSON array. */
static json_t *lines_json(const char *text)
{
    json_t *a = json_array();
    for (const char *p = text ? text : ""; *p;) {
        size_t n = strcspn(p, "\n");
        json_array_append_new(a, json_stringn(p, n));
        p += n + (p[n] == '\n');
    }
    return a;
}

/* The latest event of each alert, in the user's units and the filters. */
#define ALERTS_SQL                                                                                 \
    "SELECT county, alert_id, unit, case_id, rule, kind, article, severity, subject, detail, "     \
    "state, node, (extract(epoch FROM at) * 1000)::bigint FROM (SELECT DISTINCT ON (county, "      \
    "alert_id) * FROM ft.prov_alert_events WHERE ($1::text[] IS NULL OR unit = ANY($1::text[])) "  \
    "AND ($2::text IS NULL OR county = $2) AND ($3::text IS NULL OR case_id = $3) ORDER BY "       \
    "county, alert_id, event_no DESC) a WHERE ($4::text IS NULL OR unit = $4) AND ($5::text IS "   \
    "NULL OR state = $5) AND ($6::text IS NULL OR rule = $6) AND ($7::text IS NULL OR article = "  \
    "$7) ORDER BY at DESC, county, case_id, alert_id LIMIT $8::bigint"

static json_t *alert_rows(const PGresult *res)
{
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                              "county", pg_text(res, i, 0), "id", pg_text(res, i, 1), "unit",
                              pg_text(res, i, 2), "case", pg_text(res, i, 3), "rule",
                              pg_text(res, i, 4), "kind", pg_text(res, i, 5), "article",
                              pg_text(res, i, 6), "severity", pg_text(res, i, 7), "subject",
                              pg_text(res, i, 8), "detail", pg_text(res, i, 9), "state",
                              pg_text(res, i, 10), "node", pg_text(res, i, 11));
        if (o) {
            json_object_set_new(o, "at", web_time(pg_i64(res, i, 12)));
            json_array_append_new(arr, o);
        }
    }
    return arr;
}

static void alerts(web_req_t *r)
{
    pg_buf_t units = {0};
    long long limit = web_query_int(r, "limit", ALERTS_DEFAULT, 1, ALERTS_MAX);
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", limit + 1);
    const char *p[] = {provweb_units_param(&r->session, &units),
                       web_query(r, "county"),
                       web_query(r, "case"),
                       web_query(r, "unit"),
                       web_query(r, "state"),
                       web_query(r, "rule"),
                       web_query(r, "article"),
                       lim};
    PGresult *res = NULL;
    char err[PG_ERR_MAX];
    int rc = provweb_query(db(r), ALERTS_SQL, 8, p, &res, err, sizeof err);
    free(units.p);
    if (rc != FT_OK) {
        web_unavailable(r, err);
        return;
    }
    json_t *arr = alert_rows(res);
    bool truncated = PQntuples(res) > limit;
    if (truncated) {
        json_array_remove(arr, json_array_size(arr) - 1);
    }
    PQclear(res);
    web_json(r, 200, json_pack("{s:o, s:b}", "alerts", arr, "truncated", truncated));
}

/* Each county holding a unit of the user's, with its forwarding position
 * and what the engine took in of those units' devices. */
#define COUNTIES_SQL                                                                               \
    "WITH mine AS (SELECT county, device, unit FROM ft.enrolments WHERE NOT revoked AND "          \
    "($1::text[] IS NULL OR unit = ANY($1::text[]))), heads AS (SELECT h.* FROM ft.prov_heads h "  \
    "JOIN mine m ON m.county = h.county AND m.device = h.device) SELECT c.county, (SELECT "        \
    "string_agg(DISTINCT unit, E'\\n') FROM mine m WHERE m.county = c.county), (SELECT "           \
    "count(DISTINCT device) FROM mine m WHERE m.county = c.county), ke.position, (extract(epoch "  \
    "FROM ke.updated_at) * 1000)::bigint, extract(epoch FROM now() - ke.updated_at)::bigint, "     \
    "kh.position, (extract(epoch FROM kh.updated_at) * 1000)::bigint, (SELECT count(DISTINCT "     \
    "device) FROM heads h WHERE h.county = c.county), (SELECT coalesce(sum(seq), 0)::bigint "      \
    "FROM heads h WHERE h.county = c.county), (SELECT (extract(epoch FROM max(updated_at)) * "     \
    "1000)::bigint FROM heads h WHERE h.county = c.county) FROM ft.counties c LEFT JOIN "          \
    "ft.checkpoints ke ON ke.county = c.county AND ke.stream = 'entries' LEFT JOIN "               \
    "ft.checkpoints kh ON kh.county = c.county AND kh.stream = 'hublog' WHERE EXISTS (SELECT 1 "   \
    "FROM mine m WHERE m.county = c.county) ORDER BY c.county"

#define BLOCKED_SQL                                                                                \
    "SELECT h.county, h.device, h.epoch, h.seq, h.blocked_seq, e.unit FROM ft.prov_heads h JOIN "  \
    "ft.enrolments e ON e.county = h.county AND e.device = h.device AND NOT e.revoked WHERE "      \
    "h.blocked_seq > 0 AND ($1::text[] IS NULL OR e.unit = ANY($1::text[])) ORDER BY h.county, "   \
    "h.device, h.epoch"

static json_t *num_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null()
                                      : json_integer((json_int_t)pg_i64(res, row, col));
}

static json_t *device_json(const PGresult *res, int row, int col)
{
    size_t n = 0;
    const uint8_t *b = pg_bytes(res, row, col, &n);
    char id[DEVID_TEXT_SIZE] = "?";
    if (n == DEVID_BYTES) {
        devid_format(b, id);
    }
    return json_string(id);
}

static void counties(web_req_t *r)
{
    pg_buf_t units = {0};
    const char *p[] = {provweb_units_param(&r->session, &units)};
    PGresult *res = NULL, *blk = NULL;
    char err[PG_ERR_MAX];
    int rc = provweb_query(db(r), COUNTIES_SQL, 1, p, &res, err, sizeof err);
    if (rc == FT_OK) {
        rc = provweb_query(db(r), BLOCKED_SQL, 1, p, &blk, err, sizeof err);
    }
    free(units.p);
    if (rc != FT_OK) {
        PQclear(res);
        web_unavailable(r, err);
        return;
    }
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        const char *county = pg_text(res, i, 0);
        json_t *blocked = json_array();
        for (int k = 0; k < PQntuples(blk); k++) {
            if (strcmp(pg_text(blk, k, 0), county) != 0) {
                continue;
            }
            json_t *b = json_pack("{s:o, s:I, s:I, s:I, s:s}", "device", device_json(blk, k, 1),
                                  "epoch", (json_int_t)pg_i64(blk, k, 2), "taken_in_seq",
                                  (json_int_t)pg_i64(blk, k, 3), "blocked_seq",
                                  (json_int_t)pg_i64(blk, k, 4), "unit", pg_text(blk, k, 5));
            json_array_append_new(blocked, b);
        }
        json_t *o =
            json_pack("{s:s, s:o, s:I}", "county", county, "units", lines_json(opt_text(res, i, 1)),
                      "devices", (json_int_t)pg_i64(res, i, 2));
        json_object_set_new(o, "entries_forwarded", num_or_null(res, i, 3));
        json_object_set_new(o, "entries_checkpoint_at", time_or_null(res, i, 4));
        json_object_set_new(o, "checkpoint_lag_s", num_or_null(res, i, 5));
        json_object_set_new(o, "hublog_forwarded", num_or_null(res, i, 6));
        json_object_set_new(o, "hublog_checkpoint_at", time_or_null(res, i, 7));
        json_object_set_new(o, "devices_taken_in", num_or_null(res, i, 8));
        json_object_set_new(o, "entries_taken_in", num_or_null(res, i, 9));
        json_object_set_new(o, "head_taken_in_at", time_or_null(res, i, 10));
        json_object_set_new(o, "blocked", blocked);
        json_array_append_new(arr, o);
    }
    PQclear(res);
    PQclear(blk);
    web_json(r, 200, json_pack("{s:o}", "counties", arr));
}

#define CASE_RECORDS_SQL                                                                           \
    "SELECT device, epoch, seq, (extract(epoch FROM at) * 1000)::bigint, kind, rtype, unit, "      \
    "array_to_string(officers, E'\\n'), array_to_string(recorders, E'\\n'), media_id, "            \
    "array_to_string(cites, E'\\n') FROM ft.prov_index WHERE county = $2 AND case_id = $3 AND "    \
    "($1::text[] IS NULL OR unit = ANY($1::text[])) ORDER BY at, device, epoch, seq"

#define CASE_ALERTS_SQL                                                                            \
    "SELECT county, alert_id, unit, case_id, rule, kind, article, severity, subject, detail, "     \
    "state, node, (extract(epoch FROM at) * 1000)::bigint FROM (SELECT DISTINCT ON (alert_id) * "  \
    "FROM ft.prov_alert_events WHERE county = $2 AND case_id = $3 AND ($1::text[] IS NULL OR "     \
    "unit = ANY($1::text[])) ORDER BY alert_id, event_no DESC) a ORDER BY at, alert_id"

static void case_view(web_req_t *r)
{
    const char *county = r->args[0], *case_id = r->args[1];
    pg_buf_t units = {0};
    const char *p[] = {provweb_units_param(&r->session, &units), county, case_id};
    PGresult *recs = NULL, *al = NULL;
    char err[PG_ERR_MAX];
    int rc = provweb_query(db(r), CASE_RECORDS_SQL, 3, p, &recs, err, sizeof err);
    if (rc == FT_OK) {
        rc = provweb_query(db(r), CASE_ALERTS_SQL, 3, p, &al, err, sizeof err);
    }
    free(units.p);
    if (rc != FT_OK) {
        PQclear(recs);
        web_unavailable(r, err);
        return;
    }
    if (PQntuples(recs) == 0 && PQntuples(al) == 0) {
        PQclear(recs);
        PQclear(al);
        char msg[400];
        snprintf(msg, sizeof msg,
                 "no case \"%.100s\" of county \"%.100s\" among the cases of your units "
                 "(a case of another unit is not shown)",
                 case_id, county);
        web_error(r, 404, "no_such_case", msg);
        return;
    }
    json_t *records = json_array();
    for (int i = 0; i < PQntuples(recs); i++) {
        int64_t kind = pg_i64(recs, i, 4);
        json_t *o =
            json_pack("{s:o, s:I, s:I, s:s, s:s}", "device", device_json(recs, i, 0), "epoch",
                      (json_int_t)pg_i64(recs, i, 1), "seq", (json_int_t)pg_i64(recs, i, 2), "kind",
                      kind == 2 ? "media" : "record", "unit", pg_text(recs, i, 6));
        json_object_set_new(o, "at", web_time(pg_i64(recs, i, 3)));
        if (kind != 2) {
            const char *type = record_type_name((Ft__RecordType)pg_i64(recs, i, 5));
            json_object_set_new(o, "type", json_string(type ? type : "unknown"));
            json_object_set_new(o, "cites", lines_json(pg_text(recs, i, 10)));
        } else {
            json_object_set_new(o, "media_id", json_string(pg_text(recs, i, 9)));
        }
        json_object_set_new(o, "officers", lines_json(pg_text(recs, i, 7)));
        json_object_set_new(o, "recorders", lines_json(pg_text(recs, i, 8)));
        json_array_append_new(records, o);
    }
    json_t *alerts_arr = alert_rows(al);
    PQclear(recs);
    PQclear(al);
    web_json(r, 200,
             json_pack("{s:s, s:s, s:o, s:o}", "county", county, "case", case_id, "records",
                       records, "alerts", alerts_arr));
}

static const web_route_t routes[] = {
    {"GET", "/api/prov/alerts", ROLE_STAFF, alerts, 0},
    {"GET", "/api/prov/counties", ROLE_STAFF, counties, 0},
    {"GET", "/api/prov/cases/*/*", ROLE_STAFF, case_view, 0},
    {NULL, NULL, ROLE_NONE, NULL, 0},
};

static int prov_init(const web_shared_t *sh, void **state)
{
    (void)state;
    return sh->node ? FT_OK : FT_EINVAL; /* served by a provincial node only */
}

const web_module_t api_province_module = {
    .name = "province",
    .routes = routes,
    .init = prov_init,
};
