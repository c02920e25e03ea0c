/* pgacts.c: what a batch taken in marks changed, bounded in time (see
 * pgacts.h). */
#include "pgacts.h"
#include "gapinput.h"
#include "logging.h"
#include "hlc.h"
#include "record.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACT_ROW_COLS 12
#define SEARCH_COLS PGACTS_NCOLS /* kind, role, name, lo, hi */
#define FT_FILL_STR2(x) #x
#define FT_FILL_STR(x) FT_FILL_STR2(x)
#define FT_FILL_N FT_FILL_STR(FILL_BATCH)

enum { KIND_ACT = 1, KIND_MEDIA = 2, KIND_CHECKOUT = 3 };
enum { ROLE_OFFICER = 1, ROLE_RECORDER = 2 };

void pgacts_init(pgacts_t *a)
{
    memset(a, 0, sizeof *a);
    pg_rows_init(&a->rows, ACT_ROW_COLS);
}

void pgacts_cols_add(pgacts_cols_t *t, const char *const val[PGACTS_NCOLS])
{
    if (t->oom) {
        return;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        for (int j = 0; j < PGACTS_NCOLS; j++) {
            char **grown = realloc(t->v[j], cap * sizeof *grown);
            if (!grown) {
                t->oom = true;
                return;
            }
            t->v[j] = grown;
        }
        t->cap = cap;
    }
    for (int j = 0; j < PGACTS_NCOLS; j++) {
        t->v[j][t->n] = strdup(val[j]);
        t->oom |= t->v[j][t->n] == NULL;
    }
    t->n++;
}

void pgacts_cols_clear(pgacts_cols_t *t)
{
    for (size_t i = 0; i < t->n; i++) {
        for (int j = 0; j < PGACTS_NCOLS; j++) {
            free(t->v[j][i]);
        }
    }
    t->n = 0;
}

void pgacts_cols_free(pgacts_cols_t *t)
{
    pgacts_cols_clear(t);
    for (int j = 0; j < PGACTS_NCOLS; j++) {
        free(t->v[j]);
    }
    memset(t, 0, sizeof *t);
}

static void clear_searches(pgacts_t *a)
{
    pgacts_cols_clear(&a->s);
    for (size_t i = 0; i < a->np; i++) {
        free(a->pair[0][i]);
        free(a->pair[1][i]);
    }
    a->np = 0;
}

void pgacts_free(pgacts_t *a)
{
    clear_searches(a);
    pgacts_cols_free(&a->s);
    for (int j = 0; j < SEARCH_COLS; j++) {
        free(a->lit[j].p);
    }
    free(a->pair[0]);
    free(a->pair[1]);
    pg_rows_free(&a->rows);
    memset(a, 0, sizeof *a);
}

/* One search row (name not empty). */
static void search(pgacts_t *a, int kind, int role, const char *name, int64_t lo, int64_t hi)
{
    char k[24], r[24], l[24], h[24];
    pg_i64_text(kind, k);
    pg_i64_text(role, r);
    pg_i64_text(lo, l);
    pg_i64_text(hi, h);
    const char *v[PGACTS_NCOLS] = {k, r, name, l, h};
    pgacts_cols_add(&a->s, v);
}

/* One officer-recorder pair of a checkout or return (both cut, not empty). */
static void pair(pgacts_t *a, const char *officer, const char *recorder)
{
    if (a->oom) {
        return;
    }
    if (a->np == a->capp) {
        size_t cap = a->capp ? 2 * a->capp : 16;
        for (int j = 0; j < 2; j++) {
            char **grown = realloc(a->pair[j], cap * sizeof *grown);
            if (!grown) {
                a->oom = true;
                return;
            }
            a->pair[j] = grown;
        }
        a->capp = cap;
    }
    a->pair[0][a->np] = strdup(officer);
    a->pair[1][a->np] = strdup(recorder);
    a->oom |= !a->pair[0][a->np] || !a->pair[1][a->np];
    a->np++;
}

typedef struct {
    pgacts_t *a;
    const char *county, *case_id, *dev, *epoch, *seq, *at;
    int dl, atl;
    int kind;
    int64_t lo, hi;
} row_ctx_t;

/* One ft.prov_acts row and its search. */
static void act_row(const row_ctx_t *x, int role, const char *name, const char *partner)
{
    char cut[GAPINPUT_TEXT], cutp[GAPINPUT_TEXT];
    utf8_copy(cut, sizeof cut, name);
    utf8_copy(cutp, sizeof cutp, partner ? partner : "");
    if (!cut[0]) {
        return;
    }
    pg_rows_t *rs = &x->a->rows;
    char k[24], r[24], lo[24], hi[24];
    pg_i64_text(x->kind, k);
    pg_i64_text(role, r);
    pg_i64_text(x->lo, lo);
    pg_i64_text(x->hi, hi);
    pg_rows_text(rs, x->county);
    pg_rows_text(rs, k);
    pg_rows_text(rs, r);
    pg_rows_text(rs, cut);
    pg_rows_text(rs, cutp);
    pg_rows_text(rs, lo);
    pg_rows_text(rs, hi);
    pg_rows_text(rs, x->case_id);
    pg_rows_bin(rs, x->dev, (size_t)x->dl);
    pg_rows_bin(rs, x->epoch, 8);
    pg_rows_bin(rs, x->seq, 8);
    pg_rows_bin(rs, x->at, (size_t)x->atl);
    search(x->a, x->kind, role, cut, x->lo, x->hi);
    int64_t span = x->hi - x->lo;
    if (span > x->a->span[x->kind]) {
        x->a->span[x->kind] = span;
    }
}

static const char *field_text(const Ft__Record *rec, const char *key)
{
    const Ft__FieldValue *v = record_field(rec, key);
    return v && v->value_case == FT__FIELD_VALUE__VALUE_TEXT && v->text ? v->text : "";
}

int pgacts_add(pgacts_t *a, const char *county, const entry_view_t *v, const char *case_id,
               const char *dev, int dl, const char *epoch, const char *seq, const char *at, int atl)
{
    const Ft__Body *b = v->entry->body;
    int64_t logged = (int64_t)hlc_ms(v->entry->hlc);
    row_ctx_t x = {.a = a,
                   .county = county,
                   .case_id = case_id,
                   .dev = dev,
                   .dl = dl,
                   .epoch = epoch,
                   .seq = seq,
                   .at = at,
                   .atl = atl};
    if (b && b->kind_case == FT__BODY__KIND_RECORD && b->record) {
        const Ft__Record *rec = b->record;
        int64_t start, end, time;
        gapinput_record_times(rec, logged, 0, &start, &end, &time);
        if (rec->type == FT__RECORD_TYPE__RECORDER_CHECKOUT ||
            rec->type == FT__RECORD_TYPE__RECORDER_RETURN) {
            /* as the county keys it: the recorder at the record's time */
            x.kind = KIND_CHECKOUT;
            x.lo = x.hi = time;
            const char *recorder = field_text(rec, "recorder");
            const char *officer = field_text(rec, "officer");
            act_row(&x, ROLE_RECORDER, recorder, officer);
            act_row(&x, ROLE_OFFICER, officer, recorder);
            char co[GAPINPUT_TEXT], cr[GAPINPUT_TEXT];
            utf8_copy(co, sizeof co, officer);
            utf8_copy(cr, sizeof cr, recorder);
            if (co[0] && cr[0]) {
                pair(a, co, cr);
            }
        } else if (record_type_is_activity(rec->type)) {
            x.kind = KIND_ACT;
            x.lo = start;
            x.hi = end > start ? end : start;
            for (size_t i = 0; i < rec->n_officers; i++) {
                act_row(&x, ROLE_OFFICER, rec->officers[i], NULL);
            }
            for (size_t i = 0; i < rec->n_recorders; i++) {
                act_row(&x, ROLE_RECORDER, rec->recorders[i], NULL);
            }
        }
    } else if (b && b->kind_case == FT__BODY__KIND_MEDIA && b->media) {
        const Ft__MediaManifest *m = b->media;
        x.kind = KIND_MEDIA;
        gapinput_media_times(m, logged, 0, &x.lo, &x.hi);
        act_row(&x, ROLE_OFFICER, m->officer, NULL);
        act_row(&x, ROLE_RECORDER, m->recorder, NULL);
    }
    return a->oom || a->s.oom || a->rows.oom ? FT_ENOMEM : FT_OK;
}

int pgacts_put(PGconn *c, pgacts_t *a, const char *county, char *err, size_t errlen)
{
    if (a->oom || a->s.oom) {
        snprintf(err, errlen, "out of memory");
        return FT_ENOMEM;
    }
    static const char *const cast[ACT_ROW_COLS] = {
        "",         "::smallint", "::smallint", "",         "",         "::bigint",
        "::bigint", "",           "::bytea",    "::bigint", "::bigint", "::timestamptz"};
    int rc = pg_rows_exec(c, &a->rows,
                          "INSERT INTO ft.prov_acts (county, kind, role, name, partner, lo, hi, "
                          "case_id, device, epoch, seq, at) VALUES ",
                          cast, "", err, errlen);
    if (rc == FT_OK && a->np > 0) {
        pg_buf_t o = {0}, r = {0};
        pg_text_array(&o, a->pair[0], a->np);
        pg_text_array(&r, a->pair[1], a->np);
        if (o.oom || r.oom) {
            snprintf(err, errlen, "out of memory");
            rc = FT_ENOMEM;
        } else {
            const char *p[] = {county, o.p, r.p};
            PGresult *res = NULL;
            rc = pg_query(c,
                          "INSERT INTO ft.prov_holders (county, officer, recorder) SELECT DISTINCT "
                          "$1, o, r FROM unnest($2::text[], $3::text[]) AS u(o, r) ORDER BY 2, 3 "
                          "ON CONFLICT DO NOTHING",
                          3, p, &res, err, errlen);
            PQclear(res);
        }
        free(o.p);
        free(r.p);
    }
    for (int k = 1; rc == FT_OK && k <= 3; k++) {
        if (a->span[k] <= 0) {
            continue;
        }
        char ks[24], sp[24];
        pg_i64_text(k, ks);
        pg_i64_text(a->span[k], sp);
        const char *p[] = {county, ks, sp};
        PGresult *r = NULL;
        rc = pg_query(c,
                      "INSERT INTO ft.prov_spans (county, kind, span) VALUES ($1, $2::smallint, "
                      "$3::bigint) ON CONFLICT (county, kind) DO UPDATE SET span = "
                      "GREATEST(ft.prov_spans.span, EXCLUDED.span) WHERE ft.prov_spans.span < "
                      "EXCLUDED.span",
                      3, p, &r, err, errlen);
        PQclear(r);
        a->span[k] = 0;
    }
    if (rc == FT_OK) {
        /* The county's clock offsets: the province compares uncorrected
         * windows, so every search is widened by the largest difference two
         * devices' offsets can make, plus a second. */
        const char *p[] = {county};
        PGresult *r = NULL;
        rc = pg_query(c,
                      "SELECT (2 * coalesce(max(abs(offset_ms)), 0) + 1000)::bigint FROM "
                      "ft.prov_clock WHERE county = $1",
                      1, p, &r, err, errlen);
        if (rc == FT_OK) {
            pg_i64_text(pg_i64(r, 0, 0), a->slack);
        }
        PQclear(r);
    }
    for (int j = 0; rc == FT_OK && j < SEARCH_COLS; j++) {
        pg_text_array(&a->lit[j], a->s.v[j], a->s.n);
        if (a->lit[j].oom) {
            snprintf(err, errlen, "out of memory");
            rc = FT_ENOMEM;
        }
    }
    clear_searches(a);
    return rc;
}

void pgacts_params(const pgacts_t *a, const char *county, const char *p[PGACTS_PARAMS])
{
    p[0] = county;
    for (int j = 0; j < SEARCH_COLS; j++) {
        p[1 + j] = a->lit[j].p ? a->lit[j].p : "{}";
    }
    p[6] = a->slack[0] ? a->slack : "1000";
}

/* ---- filling a database of version 3 ------------------------------------------ */

#define FILL_BATCH 2000

/* One county's rows, FILL_BATCH index rows a query, after the last key. */
static int fill_county(PGconn *c, const char *county, uint64_t *n, char *err, size_t errlen)
{
    pgacts_t a;
    pgacts_init(&a);
    /* the last key taken (binary, as the rows give it) */
    char *key[4] = {NULL, NULL, NULL, NULL};
    int keyl[4] = {0, 0, 0, 0};
    int rc = FT_OK;
    bool more = true;
    while (rc == FT_OK && more) {
        const char *p[] = {county, key[0], key[1], key[2], key[3]};
        int l[] = {0, keyl[0], keyl[1], keyl[2], keyl[3]};
        int f[] = {0, 1, 1, 1, 1};
        PGresult *r = PQexecParams(
            c,
            key[0] ? "SELECT i.device, i.epoch, i.seq, i.at, i.case_id, e.raw FROM ft.prov_index i "
                     "JOIN ft.entries e ON e.county = i.county AND e.device = i.device AND "
                     "e.epoch = i.epoch AND e.seq = i.seq AND e.at = i.at WHERE i.county = $1 AND "
                     "(i.device, i.epoch, i.seq, i.at) > ($2::bytea, $3::bigint, $4::bigint, "
                     "$5::timestamptz) ORDER BY i.device, i.epoch, i.seq, i.at LIMIT " FT_FILL_N
                   : "SELECT i.device, i.epoch, i.seq, i.at, i.case_id, e.raw FROM ft.prov_index i "
                     "JOIN ft.entries e ON e.county = i.county AND e.device = i.device AND "
                     "e.epoch = i.epoch AND e.seq = i.seq AND e.at = i.at WHERE i.county = $1 "
                     "ORDER BY i.device, i.epoch, i.seq, i.at LIMIT " FT_FILL_N,
            key[0] ? 5 : 1, NULL, p, l, f, 1);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            snprintf(err, errlen, "PostgreSQL: %s", PQresultErrorMessage(r));
            PQclear(r);
            rc = FT_EIO;
            break;
        }
        int rows = PQntuples(r);
        for (int i = 0; rc == FT_OK && i < rows; i++) {
            size_t len;
            const uint8_t *raw = pg_bytes(r, i, 5, &len);
            entry_view_t v;
            if (entry_decode(raw, len, &v) != FT_OK) {
                continue; /* verified at take-in; a row altered since is verify's to name */
            }
            rc = pgacts_add(&a, county, &v, PQgetvalue(r, i, 4), PQgetvalue(r, i, 0),
                            PQgetlength(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                            PQgetvalue(r, i, 3), PQgetlength(r, i, 3));
            entry_view_free(&v);
            (*n)++;
        }
        for (int j = 0; rc == FT_OK && rows > 0 && j < 4; j++) {
            free(key[j]);
            keyl[j] = PQgetlength(r, rows - 1, j);
            key[j] = malloc((size_t)keyl[j] + 1);
            if (!key[j]) {
                rc = FT_ENOMEM;
                snprintf(err, errlen, "out of memory");
            } else {
                memcpy(key[j], PQgetvalue(r, rows - 1, j), (size_t)keyl[j]);
            }
        }
        PQclear(r);
        if (rc == FT_OK) {
            rc = pgacts_put(c, &a, county, err, errlen);
        }
        more = rows == FILL_BATCH;
    }
    for (int j = 0; j < 4; j++) {
        free(key[j]);
    }
    pgacts_free(&a);
    return rc;
}

int pgacts_fill(PGconn *c, char *err, size_t errlen)
{
    int rc = pg_exec(c, "BEGIN", err, errlen);
    PGresult *r = NULL;
    if (rc == FT_OK) {
        /* the schema's lock: one node fills, the others find it done */
        rc = pg_query(c,
                      "SELECT pg_advisory_xact_lock(7400161), (SELECT count(*) FROM ft.meta WHERE "
                      "name = 'prov_acts_filled')::bigint",
                      0, NULL, &r, err, errlen);
    }
    bool done = rc == FT_OK && pg_i64(r, 0, 1) > 0;
    PQclear(r);
    r = NULL;
    if (rc == FT_OK && !done) {
        rc = pg_query(c, "SELECT DISTINCT county FROM ft.prov_index ORDER BY county", 0, NULL, &r,
                      err, errlen);
    }
    uint64_t n = 0;
    for (int i = 0; rc == FT_OK && !done && i < PQntuples(r); i++) {
        rc = fill_county(c, pg_text(r, i, 0), &n, err, errlen);
    }
    PQclear(r);
    if (rc == FT_OK && !done) {
        rc = pg_exec(c,
                     "INSERT INTO ft.meta (name, value) VALUES ('prov_acts_filled', 'yes') ON "
                     "CONFLICT (name) DO NOTHING",
                     err, errlen);
    }
    if (rc == FT_OK) {
        rc = pg_exec(c, "COMMIT", err, errlen);
    } else {
        PQclear(PQexec(c, "ROLLBACK"));
    }
    if (rc == FT_OK && n > 0) {
        log_info("provincial engine: the time keys of %llu entries taken in before schema "
                 "version 4 were filled in (ft.prov_acts)",
                 (unsigned long long)n);
    }
    return rc;
}
