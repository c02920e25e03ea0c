/* pgunits.c: caseless records and unlinked media at the province (see
 * pgunits.h). */
#include "pgunits.h"
#include "pgacts.h"
#include "pgjustify.h"
#include "alertstate.h"
#include "devlog.h"
#include "gapinput.h"
#include "hlc.h"
#include "logging.h"
#include "record.h"
#include "utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNITS_PER_TXN 32 /* units evaluated in one transaction */

/* ---- take-in ------------------------------------------------------------------ */

int pgunits_taken_in(PGconn *c, const char *county, const char *const hp[PGACTS_PARAMS], char *err,
                     size_t errlen)
{
    const char *p1[] = {county};
    PGresult *r = NULL;
    /* the batch's caseless records and manifests (this transaction's rows) */
    int rc = pg_query(c,
                      "SELECT i.device, i.epoch, i.seq, i.at, i.kind, i.unit, e.raw FROM "
                      "ft.prov_index i JOIN ft.entries e ON e.device = i.device AND e.epoch = "
                      "i.epoch AND e.seq = i.seq AND e.at = i.at WHERE i.county = $1 AND "
                      "i.indexed_at = now() AND i.case_id = '' ORDER BY i.device, i.epoch, i.seq",
                      1, p1, &r, err, errlen);
    for (int i = 0; rc == FT_OK && i < PQntuples(r); i++) {
        size_t dl, len;
        const uint8_t *dev = pg_bytes(r, i, 0, &dl);
        const uint8_t *raw = pg_bytes(r, i, 6, &len);
        entry_view_t v;
        if (dl != DEVID_BYTES || entry_open(raw, len, &v) != FT_OK) {
            continue; /* it verified as it was taken in */
        }
        char id[DEVID_TEXT_SIZE], key[96], rec_id[GAPINPUT_TEXT] = "", ep[24], sq[24];
        devid_format(dev, id);
        int64_t kind = pg_i64(r, i, 4);
        snprintf(key, sizeof key, "%c%s/%" PRId64 "/%" PRId64, kind == 1 ? 'R' : 'M', id,
                 pg_i64(r, i, 1), pg_i64(r, i, 2));
        const Ft__Body *b = v.entry->body;
        if (kind == 1 && b->kind_case == FT__BODY__KIND_RECORD) {
            utf8_copy(rec_id, sizeof rec_id, b->record->id);
        }
        entry_view_free(&v);
        pg_i64_text(pg_i64(r, i, 1), ep);
        pg_i64_text(pg_i64(r, i, 2), sq);
        const char *k = kind == 1 ? "1" : "2";
        const char *p[] = {
            county,           key,   k, PQgetvalue(r, i, 0), ep, sq, PQgetvalue(r, i, 3),
            pg_text(r, i, 5), rec_id};
        int l[] = {0, 0, 0, (int)dl, 0, 0, PQgetlength(r, i, 3), 0, 0};
        int f[] = {0, 0, 0, 1, 0, 0, 1, 0, 0};
        PGresult *res = PQexecParams(
            c,
            "INSERT INTO ft.prov_unit_state (county, unit_key, kind, device, epoch, seq, at, "
            "rec_unit, rec_id) VALUES ($1, $2, $3::smallint, $4::bytea, $5::bigint, $6::bigint, "
            "$7::timestamptz, $8, $9) ON CONFLICT (county, unit_key) DO UPDATE SET changes = "
            "ft.prov_unit_state.changes + 1",
            9, NULL, p, l, f, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            snprintf(err, errlen, "PostgreSQL: %s", PQresultErrorMessage(res));
            rc = FT_EIO;
        }
        PQclear(res);
    }
    PQclear(r);
    if (rc != FT_OK) {
        return rc;
    }
    /* The units the batch may change, in unit order (the order evaluators
     * lock these rows in): those its clips, activities and checkouts meet in
     * time (pgacts.h), those naming or citing one of its media IDs, and the
     * caseless records of an identity the batch adds to. Marking too many
     * costs an evaluation, never an alert. */
    r = NULL;
    rc = pg_query(
        c,
        "WITH " PGACTS_HIT_SQL
        ", n AS (SELECT media_id, cites FROM ft.prov_index WHERE county = $1 AND indexed_at = "
        "now()), "
        "m AS (SELECT coalesce(array_agg(DISTINCT x), '{}') AS a FROM (SELECT media_id AS x FROM "
        "n WHERE media_id <> '' UNION SELECT unnest(cites) FROM n) s), "
        "e AS (SELECT device, epoch, seq, at FROM hit WHERE case_id = '' UNION SELECT i.device, "
        "i.epoch, i.seq, i.at FROM ft.prov_index i WHERE i.county = $1 AND i.case_id = '' AND "
        "(i.media_id = ANY((SELECT a FROM m)::text[]) OR i.cites && (SELECT a FROM m))), "
        "ids AS (SELECT DISTINCT rec_unit, rec_id FROM ft.prov_unit_state WHERE county = $1 AND "
        "kind = 1 AND rec_id <> '' AND (device, epoch, seq, at) IN (SELECT device, epoch, seq, at "
        "FROM ft.prov_index WHERE county = $1 AND indexed_at = now())), "
        "u AS (SELECT u.* FROM ft.prov_unit_state u JOIN e ON u.county = $1 AND u.device = "
        "e.device AND u.epoch = e.epoch AND u.seq = e.seq AND u.at = e.at UNION SELECT u.* FROM "
        "ft.prov_unit_state u JOIN ids ON u.county = $1 AND u.rec_unit = ids.rec_unit AND "
        "u.rec_id = ids.rec_id) "
        "INSERT INTO ft.prov_unit_state (county, unit_key, kind, device, epoch, seq, at, "
        "rec_unit, rec_id) SELECT u.county, u.unit_key, u.kind, u.device, u.epoch, u.seq, u.at, "
        "u.rec_unit, u.rec_id FROM u ORDER BY u.unit_key "
        "ON CONFLICT (county, unit_key) DO UPDATE SET changes = ft.prov_unit_state.changes + 1",
        PGACTS_PARAMS, hp, &r, err, errlen);
    PQclear(r);
    return rc;
}

int pgunits_clocks(PGconn *c, const char *county, const pverify_t *pv, char *err, size_t errlen)
{
    size_t n = 0;
    const pverify_clock_t *cl = pverify_clocks(pv, &n);
    if (n == 0) {
        return FT_OK;
    }
    const char *p1[] = {county};
    PGresult *r = NULL;
    int rc = pg_query(c,
                      "SELECT hub_epoch, hub_seq FROM ft.prov_clock WHERE county = $1 ORDER BY "
                      "hub_epoch DESC, hub_seq DESC LIMIT 1",
                      1, p1, &r, err, errlen);
    if (rc != FT_OK) {
        return rc;
    }
    bool have = PQntuples(r) == 1;
    uint64_t last_epoch = have ? (uint64_t)pg_i64(r, 0, 0) : 0;
    uint64_t last_seq = have ? (uint64_t)pg_i64(r, 0, 1) : 0;
    PQclear(r);
    for (size_t i = 0; rc == FT_OK && i < n; i++) {
        const pverify_clock_t *k = &cl[i];
        if (have &&
            (k->hub_epoch < last_epoch || (k->hub_epoch == last_epoch && k->hub_seq <= last_seq))) {
            continue; /* taken in before: its entries' units were evaluated with it */
        }
        char fr[24];
        pg_i64_text((int64_t)k->from_arrival, fr);
        const char *p[] = {county, (const char *)k->device, fr};
        int l[] = {0, DEVID_BYTES, 0};
        int f[] = {0, 1, 0};
        /* the device's units from that arrival on, and those sharing an
         * officer or a recorder with them (their times move) */
        PGresult *res = PQexecParams(
            c,
            "WITH a AS (SELECT officers, recorders FROM ft.prov_index WHERE county = $1 AND "
            "device = $2::bytea AND arrival >= $3::bigint), "
            "o AS (SELECT coalesce(array_agg(DISTINCT x), '{}') AS a FROM a, unnest(a.officers) "
            "x), r AS (SELECT coalesce(array_agg(DISTINCT x), '{}') AS a FROM a, "
            "unnest(a.recorders) x) "
            "INSERT INTO ft.prov_unit_state (county, unit_key, kind, device, epoch, seq, at, "
            "rec_unit, rec_id) SELECT u.county, u.unit_key, u.kind, u.device, u.epoch, u.seq, "
            "u.at, u.rec_unit, u.rec_id FROM ft.prov_unit_state u JOIN ft.prov_index i ON "
            "i.county = u.county AND i.device = u.device AND i.epoch = u.epoch AND i.seq = u.seq "
            "AND i.at = u.at WHERE u.county = $1 AND ((i.device = $2::bytea AND i.arrival >= "
            "$3::bigint) OR i.officers && (SELECT a FROM o) OR i.recorders && (SELECT a FROM r)) "
            "ORDER BY u.unit_key ON CONFLICT (county, unit_key) DO UPDATE SET changes = "
            "ft.prov_unit_state.changes + 1",
            3, NULL, p, l, f, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            snprintf(err, errlen, "PostgreSQL: %s", PQresultErrorMessage(res));
            rc = FT_EIO;
        }
        PQclear(res);
    }
    return rc;
}

/* ---- loading a unit ------------------------------------------------------------- */

/* A unit's input rows (results kept until the unit is done). */
typedef struct {
    PGresult *res[4];
    int n_res;
    gapinput_entry_t *in;
    entry_view_t *views;
    char (*refs)[64];
    const char **units; /* per entry: its unit (the index row's) */
    size_t n, cap;
} unitload_t;

static void unitload_free(unitload_t *ul)
{
    for (size_t i = 0; i < ul->n; i++) {
        entry_view_free(&ul->views[i]);
    }
    for (int i = 0; i < ul->n_res; i++) {
        PQclear(ul->res[i]);
    }
    free(ul->in);
    free(ul->views);
    free(ul->refs);
    free(ul->units);
    memset(ul, 0, sizeof *ul);
}

/* The columns pgengine.c's case loads take: device, epoch, seq, arrival,
 * unit, hlc, raw, the clock offset its county applied. */
#define UNIT_COLS                                                                                  \
    "SELECT i.device, i.epoch, i.seq, i.arrival, i.unit, e.hlc, e.raw, "                           \
    "ft.prov_offset(i.county, i.device, i.arrival) FROM ft.prov_index i "                          \
    "JOIN ft.entries e ON e.device = i.device AND e.epoch = i.epoch AND e.seq = i.seq AND "        \
    "e.at = i.at WHERE i.county = $1 AND "

static int grow(unitload_t *ul)
{
    size_t cap = ul->cap ? 2 * ul->cap : 32;
    gapinput_entry_t *in = realloc(ul->in, cap * sizeof *in);
    if (in) {
        ul->in = in;
    }
    entry_view_t *views = realloc(ul->views, cap * sizeof *views);
    if (views) {
        ul->views = views;
    }
    char(*refs)[64] = realloc(ul->refs, cap * sizeof *refs);
    if (refs) {
        ul->refs = refs;
    }
    const char **units = realloc(ul->units, cap * sizeof *units);
    if (units) {
        ul->units = units;
    }
    if (!in || !views || !refs || !units) {
        return FT_ENOMEM;
    }
    ul->cap = cap;
    return FT_OK;
}

/* Adds r's rows to ul (an entry already in it is skipped). */
static int take_rows(unitload_t *ul, PGresult *r)
{
    ul->res[ul->n_res++] = r;
    for (int i = 0; i < PQntuples(r); i++) {
        uint64_t arrival = (uint64_t)pg_i64(r, i, 3);
        bool dup = false;
        for (size_t k = 0; k < ul->n && !dup; k++) {
            dup = ul->in[k].order == arrival;
        }
        if (dup) {
            continue;
        }
        if (ul->n == ul->cap && grow(ul) != FT_OK) {
            return FT_ENOMEM;
        }
        size_t len, dl;
        const uint8_t *raw = pg_bytes(r, i, 6, &len);
        const uint8_t *dev = pg_bytes(r, i, 0, &dl);
        entry_view_t *v = &ul->views[ul->n];
        if (dl != DEVID_BYTES || entry_open(raw, len, v) != FT_OK) {
            continue; /* it verified when it was taken in; a row changed since: verify says */
        }
        gapinput_entry_t *g = &ul->in[ul->n];
        memset(g, 0, sizeof *g);
        char id[DEVID_TEXT_SIZE];
        devid_format(dev, id);
        snprintf(ul->refs[ul->n], sizeof ul->refs[ul->n], "%s/%" PRId64 "/%" PRId64, id,
                 pg_i64(r, i, 1), pg_i64(r, i, 2));
        g->order = arrival;
        g->logged_ms = (int64_t)hlc_ms((uint64_t)pg_i64(r, i, 5));
        g->offset_ms = pg_i64(r, i, 7);
        g->unit = pg_text(r, i, 4);
        ul->units[ul->n] = g->unit;
        const Ft__Body *b = v->entry->body;
        if (b->kind_case == FT__BODY__KIND_RECORD) {
            g->rec = b->record;
            if (b->record->id && b->record->id[0] &&
                devlog_record_hash(b->record, g->content) != FT_OK) {
                entry_view_free(v);
                return FT_ENOMEM;
            }
        } else if (b->kind_case == FT__BODY__KIND_MEDIA) {
            g->media = b->media;
        } else {
            entry_view_free(v);
            continue;
        }
        ul->n++;
    }
    return FT_OK;
}

static int query_into(PGconn *c, unitload_t *ul, const char *where, int n,
                      const char *const *params, char *err, size_t errlen)
{
    char sql[2048];
    snprintf(sql, sizeof sql, "%s%s", UNIT_COLS, where);
    PGresult *r = NULL;
    int rc = pg_query(c, sql, n, params, &r, err, errlen);
    if (rc == FT_OK) {
        rc = take_rows(ul, r);
    }
    return rc;
}

/* Sorts ul's entries by arrival (the county index's order), each one's ref,
 * view and unit with it. */
static int sort_load(unitload_t *ul)
{
    size_t n = ul->n;
    gapinput_entry_t *in2 = malloc((n ? n : 1) * sizeof *in2);
    entry_view_t *v2 = malloc((n ? n : 1) * sizeof *v2);
    char(*r2)[64] = malloc((n ? n : 1) * sizeof *r2);
    const char **u2 = malloc((n ? n : 1) * sizeof *u2);
    size_t *perm = NULL;
    if (!in2 || !v2 || !r2 || !u2 || pgengine_arrival_order(ul->in, n, &perm) != FT_OK) {
        free(in2);
        free(v2);
        free(r2);
        free(u2);
        return FT_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        size_t old = perm[i];
        in2[i] = ul->in[old];
        v2[i] = ul->views[old];
        memcpy(r2[i], ul->refs[old], sizeof r2[i]);
        u2[i] = ul->units[old];
        in2[i].ref = r2[i];
    }
    free(perm);
    free(ul->in);
    free(ul->views);
    free(ul->refs);
    free(ul->units);
    ul->in = in2;
    ul->views = v2;
    ul->refs = r2;
    ul->units = u2;
    ul->cap = n;
    return FT_OK;
}

/* Collects the officers, recorders and cited media IDs of ul's records
 * (records only) or of its manifests (media), as text[] literals. */
static int people_of(const unitload_t *ul, bool media, pg_buf_t *o, pg_buf_t *rr, pg_buf_t *ci)
{
    size_t cap = 1;
    for (size_t i = 0; i < ul->n; i++) {
        const Ft__Record *rec = ul->in[i].rec;
        cap += rec ? rec->n_officers + rec->n_recorders + rec->n_media : 2;
    }
    char **offs = calloc(cap, sizeof *offs), **recs = calloc(cap, sizeof *recs),
         **cites = calloc(cap, sizeof *cites);
    char(*cut)[GAPINPUT_TEXT] = calloc(2 * cap, sizeof *cut);
    if (!offs || !recs || !cites || !cut) {
        free(offs);
        free(recs);
        free(cites);
        free(cut);
        return FT_ENOMEM;
    }
    size_t no = 0, nr = 0, nc = 0, nx = 0;
    for (size_t i = 0; i < ul->n; i++) {
        const Ft__Record *rec = ul->in[i].rec;
        const Ft__MediaManifest *m = ul->in[i].media;
        if (!media && rec) {
            for (size_t k = 0; k < rec->n_officers; k++) {
                offs[no++] = rec->officers[k];
            }
            for (size_t k = 0; k < rec->n_recorders; k++) {
                recs[nr++] = rec->recorders[k];
            }
            for (size_t k = 0; k < rec->n_media; k++) {
                cites[nc++] = rec->media[k];
            }
        } else if (media && m) {
            utf8_copy(cut[nx], GAPINPUT_TEXT, m->officer);
            offs[no++] = cut[nx++];
            utf8_copy(cut[nx], GAPINPUT_TEXT, m->recorder);
            recs[nr++] = cut[nx++];
        }
    }
    pg_text_array(o, offs, no);
    pg_text_array(rr, recs, nr);
    pg_text_array(ci, cites, nc);
    free(offs);
    free(recs);
    free(cites);
    free(cut);
    return o->oom || rr->oom || ci->oom ? FT_ENOMEM : FT_OK;
}

/* The time keys of ul's activity records (media false) or of its manifests
 * (media true): each officer (role 1) and recorder (role 2) with the
 * window in its device's own clock, as text[] literals (pgacts.h). */
static int keys_of(const unitload_t *ul, bool media, pg_buf_t k[4])
{
    size_t cap = 1;
    for (size_t i = 0; i < ul->n; i++) {
        const Ft__Record *rec = ul->in[i].rec;
        cap += rec ? rec->n_officers + rec->n_recorders : 2;
    }
    char **v[4];
    char(*txt)[GAPINPUT_TEXT] = calloc(4 * cap, sizeof *txt);
    for (int j = 0; j < 4; j++) {
        v[j] = calloc(cap, sizeof *v[j]);
    }
    if (!txt || !v[0] || !v[1] || !v[2] || !v[3]) {
        free(txt);
        for (int j = 0; j < 4; j++) {
            free(v[j]);
        }
        return FT_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < ul->n; i++) {
        const Ft__Record *rec = ul->in[i].rec;
        const Ft__MediaManifest *m = ul->in[i].media;
        int64_t lo, hi, tm;
        const char *names[2] = {NULL, NULL};
        char *const *offs = NULL, *const *recs = NULL;
        size_t no = 0, nr = 0;
        if (!media && rec && record_type_is_activity(rec->type)) {
            gapinput_record_times(rec, ul->in[i].logged_ms, 0, &lo, &hi, &tm);
            offs = rec->officers;
            no = rec->n_officers;
            recs = rec->recorders;
            nr = rec->n_recorders;
        } else if (media && m) {
            gapinput_media_times(m, ul->in[i].logged_ms, 0, &lo, &hi);
            names[0] = m->officer;
            names[1] = m->recorder;
            offs = (char *const *)&names[0];
            no = 1;
            recs = (char *const *)&names[1];
            nr = 1;
        } else {
            continue;
        }
        for (size_t x = 0; x < no + nr; x++) {
            const char *name = x < no ? offs[x] : recs[x - no];
            char *t = txt[4 * n];
            utf8_copy(t, GAPINPUT_TEXT, name ? name : "");
            if (!t[0]) {
                continue;
            }
            snprintf(txt[4 * n + 1], GAPINPUT_TEXT, "%d", x < no ? 1 : 2);
            snprintf(txt[4 * n + 2], GAPINPUT_TEXT, "%" PRId64, lo);
            snprintf(txt[4 * n + 3], GAPINPUT_TEXT, "%" PRId64, hi > lo ? hi : lo);
            v[0][n] = txt[4 * n + 1];
            v[1][n] = t;
            v[2][n] = txt[4 * n + 2];
            v[3][n] = txt[4 * n + 3];
            n++;
        }
    }
    bool oom = false;
    for (int j = 0; j < 4; j++) {
        pg_text_array(&k[j], v[j], n);
        oom |= k[j].oom;
        free(v[j]);
    }
    free(txt);
    return oom ? FT_ENOMEM : FT_OK;
}

/* Loads into ul the entries of kind want (1 activities, 2 media) that the
 * time keys k meet (widened as at take-in: pgacts.h), with the names the
 * checkouts pair with them; those of kind want naming or citing a media ID
 * of ids; and every checkout or return of the recorders checkouts. */
static int keys_into(PGconn *c, const char *county, unitload_t *ul, pg_buf_t k[4], int want,
                     const char *ids, const char *checkouts, char *err, size_t errlen)
{
    const char *p[] = {county,
                       k[0].p ? k[0].p : "{}",
                       k[1].p ? k[1].p : "{}",
                       k[2].p ? k[2].p : "{}",
                       k[3].p ? k[3].p : "{}",
                       want == 1 ? "1" : "2",
                       ids ? ids : "{}",
                       checkouts ? checkouts : "{}"};
    PGresult *r = NULL;
    int rc = pg_query(
        c,
        "WITH k0 AS MATERIALIZED (SELECT * FROM unnest($2::smallint[], $3::text[], $4::bigint[], "
        "$5::bigint[]) AS k(role, name, lo, hi)), "
        "k AS (SELECT * FROM k0 UNION SELECT 2::smallint, h.recorder, k0.lo, k0.hi FROM k0 JOIN "
        "ft.prov_holders h ON h.county = $1 AND h.officer = k0.name WHERE k0.role = 1 UNION "
        "SELECT 1::smallint, h.officer, k0.lo, k0.hi FROM k0 JOIN ft.prov_holders h ON h.county "
        "= $1 AND h.recorder = k0.name WHERE k0.role = 2), "
        "sl AS MATERIALIZED (SELECT (2 * coalesce(max(abs(offset_ms)), 0) + 1000)::bigint AS sl, "
        "coalesce((SELECT span FROM ft.prov_spans WHERE county = $1 AND kind = $6::smallint), 0) "
        "AS span FROM ft.prov_clock WHERE county = $1), "
        "x AS MATERIALIZED (SELECT x.device, x.epoch, x.seq, x.at FROM k CROSS JOIN sl JOIN "
        "ft.prov_acts x ON x.county = $1 AND x.kind = $6::smallint AND x.role = k.role AND x.name "
        "= k.name AND x.lo BETWEEN k.lo - sl.sl - sl.span AND k.hi + sl.sl AND x.hi >= k.lo - "
        "sl.sl "
        "UNION SELECT device, epoch, seq, at FROM ft.prov_index WHERE county = $1 AND kind = 2 AND "
        "$6::smallint = 2 AND media_id = ANY($7::text[]) "
        "UNION SELECT device, epoch, seq, at FROM ft.prov_index WHERE county = $1 AND kind = 1 AND "
        "$6::smallint = 1 AND cites && $7::text[] "
        "UNION SELECT device, epoch, seq, at FROM ft.prov_acts WHERE county = $1 AND kind = 3 AND "
        "role = 2 AND name = ANY($8::text[])) "
        "SELECT i.device, i.epoch, i.seq, i.arrival, i.unit, e.hlc, e.raw, "
        "ft.prov_offset(i.county, i.device, i.arrival) FROM x JOIN ft.prov_index i ON i.county = "
        "$1 AND i.device = x.device AND i.epoch = x.epoch AND i.seq = x.seq AND i.at = x.at JOIN "
        "ft.entries e ON e.device = i.device AND e.epoch = i.epoch AND e.seq = i.seq AND e.at = "
        "i.at",
        8, p, &r, err, errlen);
    if (rc == FT_OK) {
        rc = take_rows(ul, r);
    }
    return rc;
}

/* The media that may document ul's records (those its activities meet in
 * time, and those its records cite) and the checkouts of their recorders,
 * as pgengine.c loads them for a case. */
static int load_documenting_media(PGconn *c, const char *county, unitload_t *ul, char *err,
                                  size_t errlen)
{
    pg_buf_t o = {0}, rr = {0}, ci = {0}, k[4] = {{0}};
    int rc = people_of(ul, false, &o, &rr, &ci);
    if (rc == FT_OK) {
        rc = keys_of(ul, false, k);
    }
    if (rc == FT_OK) {
        rc = keys_into(c, county, ul, k, 2, ci.p, NULL, err, errlen);
    }
    free(o.p);
    free(rr.p);
    free(ci.p);
    if (rc == FT_OK) {
        memset(&o, 0, sizeof o);
        memset(&rr, 0, sizeof rr);
        memset(&ci, 0, sizeof ci);
        rc = people_of(ul, true, &o, &rr, &ci);
        pg_buf_t none[4] = {{0}};
        if (rc == FT_OK) {
            rc = keys_into(c, county, ul, none, 2, NULL, rr.p, err, errlen);
        }
        free(o.p);
        free(rr.p);
        free(ci.p);
    }
    for (int j = 0; j < 4; j++) {
        free(k[j].p);
    }
    return rc;
}

/* A caseless record's unit: the caseless records of its identity, the
 * media that may document them, the checkouts of those media's recorders. */
static int load_record(PGconn *c, const char *county, const char *key, unitload_t *ul, char *err,
                       size_t errlen)
{
    const char *p2[] = {county, key};
    int rc = query_into(c, ul,
                        "i.kind = 1 AND i.case_id = '' AND (i.device, i.epoch, i.seq, i.at) IN "
                        "(SELECT u.device, u.epoch, u.seq, u.at FROM ft.prov_unit_state u, "
                        "ft.prov_unit_state me WHERE me.county = $1 AND me.unit_key = $2 AND "
                        "u.county = $1 AND u.kind = 1 AND (u.unit_key = $2 OR (me.rec_id <> '' "
                        "AND u.rec_unit = me.rec_unit AND u.rec_id = me.rec_id)))",
                        2, p2, err, errlen);
    if (rc == FT_OK) {
        rc = load_documenting_media(c, county, ul, err, errlen);
    }
    return rc;
}

/* A caseless manifest's unit: the manifests its capture meets (a whole copy
 * that supersedes it), the activities it meets in time and the records that
 * cite its media ID, and the checkouts of its recorder. */
static int load_media(PGconn *c, const char *county, const char *key, unitload_t *ul, char *err,
                      size_t errlen)
{
    const char *p2[] = {county, key};
    int rc = query_into(c, ul,
                        "(i.device, i.epoch, i.seq, i.at) = (SELECT device, epoch, seq, at FROM "
                        "ft.prov_unit_state WHERE county = $1 AND unit_key = $2)",
                        2, p2, err, errlen);
    pg_buf_t o = {0}, rr = {0}, ci = {0}, k[4] = {{0}};
    if (rc == FT_OK) {
        rc = people_of(ul, true, &o, &rr, &ci);
    }
    if (rc == FT_OK) {
        rc = keys_of(ul, true, k);
    }
    if (rc == FT_OK) {
        rc = keys_into(c, county, ul, k, 2, NULL, NULL, err, errlen);
    }
    if (rc == FT_OK) {
        /* (every media ID of the loaded manifests: superseded ones too) */
        char **ids = calloc(ul->n + 1, sizeof *ids);
        char(*hex)[GAPINPUT_TEXT] = calloc(ul->n + 1, sizeof *hex);
        size_t nid = 0;
        for (size_t i = 0; ids && hex && i < ul->n; i++) {
            const Ft__MediaManifest *m = ul->in[i].media;
            if (m && m->file_id.len > 0 && m->file_id.len <= 64) {
                char h[129];
                hex_encode(m->file_id.data, m->file_id.len, h);
                utf8_copy(hex[nid], GAPINPUT_TEXT, h);
                ids[nid] = hex[nid];
                nid++;
            }
        }
        pg_buf_t mi = {0};
        if (ids && hex) {
            pg_text_array(&mi, ids, nid);
        }
        rc = !ids || !hex || mi.oom ? FT_ENOMEM
                                    : keys_into(c, county, ul, k, 1, mi.p, rr.p, err, errlen);
        free(mi.p);
        free(ids);
        free(hex);
    }
    free(o.p);
    free(rr.p);
    free(ci.p);
    for (int j = 0; j < 4; j++) {
        free(k[j].p);
    }
    return rc;
}

/* ---- making its alerts equal ------------------------------------------------------ */

/* The unit of an alert's subject: that of the entry its first ref names. */
static const char *subject_unit(const unitload_t *ul, const char *subject)
{
    size_t n = strcspn(subject, ">#");
    for (size_t i = 0; i < ul->n; i++) {
        if (strlen(ul->refs[i]) == n && strncmp(ul->refs[i], subject, n) == 0) {
            return ul->units[i];
        }
    }
    return "";
}

static int write_event(PGconn *c, const char *county, const char *key, const char *case_id,
                       const char *unit, const char *node, int64_t now_ms, const gap_alert_t *g,
                       const char *alert_id, const char *rule, const char *kind,
                       const char *article, const char *severity, alert_state state, char *err,
                       size_t errlen)
{
    char now_text[24], due[24];
    pg_i64_text(now_ms, now_text);
    pg_i64_text(g ? g->at_ms : now_ms, due);
    const char *p[] = {now_text,
                       county,
                       case_id,
                       unit,
                       alert_id,
                       rule,
                       kind,
                       article,
                       severity,
                       g ? g->subject : "",
                       g ? g->detail : "",
                       alert_state_name(state),
                       due,
                       node,
                       key};
    PGresult *r = PQexecParams(
        c,
        "INSERT INTO ft.prov_alert_events (at, county, case_id, unit, alert_id, rule, kind, "
        "article, severity, subject, detail, state, due_at_ms, node, unit_key) VALUES "
        "(to_timestamp($1::bigint / 1000.0), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
        "$13::bigint, $14, $15)",
        15, NULL, p, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? FT_OK : FT_EIO;
    if (rc != FT_OK) {
        snprintf(err, errlen, "PostgreSQL: %s", PQresultErrorMessage(r));
    }
    PQclear(r);
    return rc;
}

/* Makes the unit's alerts equal to ga (in the open transaction). */
static int apply_alerts(PGconn *c, const char *county, const char *key, const char *node,
                        int64_t now_ms, const unitload_t *ul, const char *unit,
                        const gap_alerts_t *ga, uint64_t *events, char *err, size_t errlen)
{
    const char *p[] = {county, key};
    PGresult *r = NULL;
    int rc = pg_query(c,
                      "SELECT DISTINCT ON (alert_id) alert_id, state, kind, rule, article, "
                      "severity, unit, case_id FROM ft.prov_alert_events WHERE county = $1 AND "
                      "unit_key = $2 ORDER BY alert_id, event_no DESC",
                      2, p, &r, err, errlen);
    if (rc != FT_OK) {
        return rc;
    }
    int n = PQntuples(r);
    bool *seen = calloc(n ? (size_t)n : 1, sizeof *seen);
    if (!seen) {
        PQclear(r);
        snprintf(err, errlen, "out of memory");
        return FT_ENOMEM;
    }
    for (size_t a = 0; rc == FT_OK && a < ga->n; a++) {
        const gap_alert_t *g = &ga->items[a];
        bool dup = false;
        for (size_t b = 0; b < a && !dup; b++) {
            dup = strcmp(ga->items[b].id, g->id) == 0;
        }
        if (dup) {
            continue;
        }
        alert_state from = ALERT_NONE;
        for (int i = 0; i < n; i++) {
            if (strcmp(pg_text(r, i, 0), g->id) == 0) {
                from = alert_state_parse(pg_text(r, i, 1));
                seen[i] = true;
            }
        }
        alert_facts_t facts = {.integrity = g->rule->kind == RULE_INTEGRITY};
        alert_state next;
        if (alert_transition(from, ALERT_RAISED, &facts, &next) == ALERT_MOVE) {
            const char *su = subject_unit(ul, g->subject);
            rc = write_event(c, county, key, g->case_id, su[0] ? su : unit, node, now_ms, g, g->id,
                             g->rule->id, rule_kind_name(g->rule->kind), g->article,
                             rule_severity_name(g->rule->severity), next, err, errlen);
            (*events)++;
        }
    }
    for (int i = 0; rc == FT_OK && i < n; i++) {
        if (seen[i]) {
            continue;
        }
        alert_facts_t facts = {.integrity = strcmp(pg_text(r, i, 2), "integrity") == 0};
        alert_state next;
        if (alert_transition(alert_state_parse(pg_text(r, i, 1)), ALERT_GONE, &facts, &next) ==
            ALERT_MOVE) {
            rc = write_event(c, county, key, pg_text(r, i, 7), pg_text(r, i, 6), node, now_ms, NULL,
                             pg_text(r, i, 0), pg_text(r, i, 3), pg_text(r, i, 2), pg_text(r, i, 4),
                             pg_text(r, i, 5), next, err, errlen);
            (*events)++;
        }
    }
    free(seen);
    PQclear(r);
    return rc;
}

/* ---- evaluating ---------------------------------------------------------------- */

/* What the unit raises at now_ms and its next deadline (INT64_MAX: none). */
static int judge(const rulepack_t *pack, const char *key, const unitload_t *ul, int64_t now_ms,
                 gapinput_t **g, gap_alerts_t *ga, int64_t *next)
{
    *next = INT64_MAX;
    int rc = gapinput_new(ul->in, ul->n, NULL, 0, g);
    if (rc != FT_OK) {
        return rc;
    }
    const char *ref = key + 1;
    if (key[0] == 'R') {
        for (size_t i = 0; i < (*g)->n_records; i++) {
            if (strcmp((*g)->records[i].g.ref, ref) != 0) {
                continue;
            }
            gapinput_case_t gc = {0};
            rc = gapinput_caseless(*g, i, &gc);
            if (rc == FT_OK) {
                rc = gaps_eval_case(pack, &gc.c, now_ms, ga);
                *next = gaps_next_deadline(pack, &gc.c, now_ms);
            }
            gapinput_case_free(&gc);
            return rc;
        }
        return FT_OK; /* the record is gone from the index: it raises nothing */
    }
    for (size_t i = 0; i < (*g)->n_media; i++) {
        const gapinput_media_t *m = &(*g)->media[i];
        if (strcmp(m->g.ref, ref) != 0) {
            continue;
        }
        bool linked = gapinput_media_linked(*g, i);
        rc = gaps_eval_media(pack, &m->g, linked, now_ms, ga);
        const rule_t *rule = rules_find_kind(pack, RULE_UNLINKED_MEDIA);
        if (rule && !linked && !m->case_id[0] && now_ms <= m->g.end_ms + rule->grace_ms) {
            *next = m->g.end_ms + rule->grace_ms + 1;
        }
        return rc;
    }
    return FT_OK; /* superseded by a whole copy (docs/media.md): raises nothing */
}

static int eval_unit(PGconn *c, const rulepack_t *pack, const char *county, const char *key,
                     int64_t now_ms, const char *node, pgengine_stats_t *st, char *err,
                     size_t errlen)
{
    char lock[800], now_text[24];
    snprintf(lock, sizeof lock, "%s/%s", county, key);
    pg_i64_text(now_ms, now_text);
    const char *p4[] = {lock, county, key, now_text};
    PGresult *r = NULL;
    int rc = pg_query(c,
                      "SELECT l.got, s.changes, s.due FROM (SELECT "
                      "pg_try_advisory_xact_lock(7400165, hashtext($1)) AS got) l LEFT JOIN "
                      "LATERAL (SELECT changes, changes > evaluated OR coalesce(next_due_ms <= "
                      "$4::bigint, false) AS due FROM ft.prov_unit_state WHERE l.got AND "
                      "county = $2 AND unit_key = $3) s ON true",
                      4, p4, &r, err, errlen);
    bool got = rc == FT_OK && pg_bool(r, 0, 0);
    int64_t changes = 0;
    bool due = false;
    if (got && !PQgetisnull(r, 0, 1)) {
        changes = pg_i64(r, 0, 1);
        due = pg_bool(r, 0, 2);
    }
    PQclear(r);
    r = NULL;
    if (rc == FT_OK && !got) {
        st->held++;
    }
    if (rc != FT_OK || !due) {
        return rc;
    }
    unitload_t ul = {0};
    gapinput_t *g = NULL;
    gap_alerts_t ga = {0};
    int64_t next = INT64_MAX;
    rc = key[0] == 'R' ? load_record(c, county, key, &ul, err, errlen)
                       : load_media(c, county, key, &ul, err, errlen);
    if (rc == FT_OK) {
        rc = sort_load(&ul);
    }
    if (rc == FT_OK) {
        rc = judge(pack, key, &ul, now_ms, &g, &ga, &next);
    }
    if (rc == FT_ENOMEM) {
        snprintf(err, errlen, "out of memory");
    }
    if (rc == FT_OK) {
        rc = apply_alerts(c, county, key, node, now_ms, &ul, "", &ga, &st->events, err, errlen);
    }
    if (rc == FT_OK) {
        rc = pgjustify_apply(c, county, "", key, node, now_ms, &st->events, err, errlen);
    }
    if (rc == FT_OK) {
        char ch[24], nx[24];
        pg_i64_text(changes, ch);
        pg_i64_text(next, nx);
        const char *p[] = {county, key, ch, next == INT64_MAX ? NULL : nx, node};
        rc = pg_query(c,
                      "UPDATE ft.prov_unit_state SET evaluated = $3::bigint, next_due_ms = "
                      "$4::bigint, evaluated_at = now(), evaluated_by = $5 WHERE county = $1 "
                      "AND unit_key = $2",
                      5, p, &r, err, errlen);
        PQclear(r);
    }
    st->units += rc == FT_OK;
    gap_alerts_free(&ga);
    gapinput_destroy(&g);
    unitload_free(&ul);
    return rc;
}

/* ---- the province's integrity alerts ---------------------------------------------- */

void pgunits_refused(PGconn *c, const pverify_bad_t *b, const char *unit)
{
    char id[DEVID_TEXT_SIZE], key[160], ep[24], sq[24];
    devid_format(b->device, id);
    snprintf(key, sizeof key, "I%s/%" PRIu64 "/%" PRIu64 "#%s", id, b->epoch, b->seq, b->reason);
    pg_i64_text((int64_t)b->epoch, ep);
    pg_i64_text((int64_t)b->seq, sq);
    const char *p[] = {b->county, key, (const char *)b->device, ep, sq, b->reason, b->detail, unit};
    int l[] = {0, 0, DEVID_BYTES, 0, 0, 0, 0, 0};
    int f[] = {0, 0, 1, 0, 0, 0, 0, 0};
    PGresult *r = PQexecParams(
        c,
        "INSERT INTO ft.prov_integrity (county, unit_key, device, epoch, seq, reason, detail, "
        "unit) VALUES ($1, $2, $3::bytea, $4::bigint, $5::bigint, $6, $7, $8) ON CONFLICT "
        "(county, unit_key) DO NOTHING",
        8, NULL, p, l, f, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        log_warn("provincial engine: county %s, device %s: the integrity alert cannot be "
                 "recorded: %s",
                 b->county, id, PQresultErrorMessage(r));
    }
    PQclear(r);
}

/* Raises the integrity rule for one refused entry not alerted yet (its
 * lock held, in the open transaction). */
static int eval_integrity(PGconn *c, const rulepack_t *pack, const PGresult *r, int row,
                          int64_t now_ms, const char *node, pgengine_stats_t *st, char *err,
                          size_t errlen)
{
    const char *county = pg_text(r, row, 0), *key = pg_text(r, row, 1);
    char lock[800];
    snprintf(lock, sizeof lock, "%s/%s", county, key);
    const char *p3[] = {lock, county, key};
    PGresult *q = NULL;
    int rc = pg_query(c,
                      "SELECT pg_try_advisory_xact_lock(7400165, hashtext($1)) AND NOT EXISTS "
                      "(SELECT 1 FROM ft.prov_alert_events WHERE county = $2 AND unit_key = $3)",
                      3, p3, &q, err, errlen);
    bool go = rc == FT_OK && pg_bool(q, 0, 0);
    PQclear(q);
    if (rc != FT_OK || !go) {
        return rc;
    }
    size_t dl;
    const uint8_t *dev = pg_bytes(r, row, 2, &dl);
    char id[DEVID_TEXT_SIZE] = "", subject[192];
    if (dl == DEVID_BYTES) {
        devid_format(dev, id);
    }
    /* the subject as a county's integrity alert names it (hub/engine/engine.c) */
    snprintf(subject, sizeof subject, "%s/%" PRId64 "/%" PRId64 "#%s", id, pg_i64(r, row, 3),
             pg_i64(r, row, 4), pg_text(r, row, 5));
    gap_alerts_t ga = {0};
    unitload_t none = {0};
    rc = gaps_integrity(pack, id, pg_text(r, row, 5), subject, pg_text(r, row, 6), now_ms, &ga);
    if (rc != FT_OK) {
        snprintf(err, errlen, "the integrity rule failed (%d)", rc);
    }
    if (rc == FT_OK) {
        rc = apply_alerts(c, county, key, node, now_ms, &none, pg_text(r, row, 7), &ga, &st->events,
                          err, errlen);
    }
    if (rc == FT_OK) {
        rc = pgjustify_apply(c, county, "", key, node, now_ms, &st->events, err, errlen);
    }
    st->units += rc == FT_OK;
    gap_alerts_free(&ga);
    return rc;
}

static int evaluate_integrity(PGconn *c, const rulepack_t *pack, int64_t now_ms, const char *node,
                              pgengine_stats_t *st, char *err, size_t errlen)
{
    PGresult *r = NULL;
    int rc = pg_query(c,
                      "SELECT p.county, p.unit_key, p.device, p.epoch, p.seq, p.reason, p.detail, "
                      "p.unit FROM ft.prov_integrity p WHERE NOT EXISTS (SELECT 1 FROM "
                      "ft.prov_alert_events e WHERE e.county = p.county AND e.unit_key = "
                      "p.unit_key) ORDER BY p.county, p.unit_key",
                      0, NULL, &r, err, errlen);
    int n = rc == FT_OK ? PQntuples(r) : 0;
    for (int i = 0; rc == FT_OK && i < n; i += UNITS_PER_TXN) {
        rc = pg_exec(c, "BEGIN", err, errlen);
        for (int k = i; rc == FT_OK && k < n && k < i + UNITS_PER_TXN; k++) {
            rc = eval_integrity(c, pack, r, k, now_ms, node, st, err, errlen);
        }
        if (rc == FT_OK) {
            rc = pg_exec(c, "COMMIT", err, errlen);
        } else if (PQtransactionStatus(c) != PQTRANS_IDLE) {
            PQclear(PQexec(c, "ROLLBACK"));
        }
    }
    PQclear(r);
    return rc;
}

int pgunits_evaluate(PGconn *c, const rulepack_t *pack, int64_t now_ms, const char *node,
                     pgengine_stats_t *st, char *err, size_t errlen)
{
    PGresult *r = NULL;
    int rc = pgengine_list_due(c,
                               "SELECT county, unit_key FROM ft.prov_unit_state WHERE changes > "
                               "evaluated OR next_due_ms <= $1::bigint ORDER BY county, unit_key",
                               now_ms, &r, err, errlen);
    int n = rc == FT_OK ? PQntuples(r) : 0;
    for (int i = 0; rc == FT_OK && i < n; i += UNITS_PER_TXN) {
        rc = pg_exec(c, "BEGIN", err, errlen);
        for (int k = i; rc == FT_OK && k < n && k < i + UNITS_PER_TXN; k++) {
            rc = eval_unit(c, pack, pg_text(r, k, 0), pg_text(r, k, 1), now_ms, node, st, err,
                           errlen);
        }
        if (rc == FT_OK) {
            rc = pg_exec(c, "COMMIT", err, errlen);
        } else if (PQtransactionStatus(c) != PQTRANS_IDLE) {
            PQclear(PQexec(c, "ROLLBACK"));
        }
    }
    PQclear(r);
    if (rc == FT_OK) {
        rc = evaluate_integrity(c, pack, now_ms, node, st, err, errlen);
    }
    return rc;
}
