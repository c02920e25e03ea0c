/* pgengine.c: the provincial gap engine (see pgengine.h). */
#include "pgengine.h"
#include "pgacts.h"
#include "pgjustify.h"
#include "pgunits.h"
#include "alertstate.h"
#include "devlog.h"
#include "gapinput.h"
#include "hlc.h"
#include "logging.h"
#include "pverify.h"
#include "record.h"
#include "utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 2000
#define ANALYZE_AFTER 1000 /* entries taken in by one step */
#define CASES_PER_TXN 32   /* cases evaluated in one transaction */
#define FT_STR2(x) #x
#define FT_STR(x) FT_STR2(x)
#define LOCK_COUNTY 7400162 /* pg_try_advisory_lock(LOCK_COUNTY, hashtext(county)) */
#define LOCK_CASE 7400163   /* pg_try_advisory_xact_lock(LOCK_CASE, hashtext(county/case)) */

int pgengine_schema(PGconn *c, char *err, size_t errlen)
{
    /* Applied once per version (engine.sql records it in ft.meta), so that
     * nodes starting again and again take no DDL locks. */
    PGresult *r = PQexec(c, "SELECT (SELECT value FROM ft.meta WHERE name = "
                            "'provnode_schema_version'), (SELECT value FROM ft.meta WHERE name = "
                            "'prov_acts_filled')");
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    bool have = ok && strcmp(PQgetvalue(r, 0, 0), PGENGINE_SCHEMA_VERSION) == 0;
    bool filled = ok && !PQgetisnull(r, 0, 1);
    PQclear(r);
    int rc = have ? FT_OK : pg_exec(c, pgengine_schema_sql, err, errlen);
    /* a database of version 3: the time keys of what it took in (pgacts.h) */
    return rc == FT_OK && !filled ? pgacts_fill(c, err, errlen) : rc;
}

/* ---- small helpers ---------------------------------------------------------- */

/* A set of strings (small; linear). */
typedef struct {
    char **s;
    size_t n, cap;
    bool oom;
} strset_t;

static void set_add(strset_t *set, const char *s)
{
    if (!s || !s[0] || set->oom) {
        return;
    }
    for (size_t i = 0; i < set->n; i++) {
        if (strcmp(set->s[i], s) == 0) {
            return;
        }
    }
    if (set->n == set->cap) {
        size_t cap = set->cap ? 2 * set->cap : 16;
        char **grown = realloc(set->s, cap * sizeof *grown);
        if (!grown) {
            set->oom = true;
            return;
        }
        set->s = grown;
        set->cap = cap;
    }
    set->s[set->n] = strdup(s);
    if (!set->s[set->n]) {
        set->oom = true;
        return;
    }
    set->n++;
}

static void set_free(strset_t *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->s[i]);
    }
    free(set->s);
    memset(set, 0, sizeof *set);
}

/* A `fields` text value of a record, "" if none. */
static const char *field_text(const Ft__Record *rec, const char *key)
{
    const Ft__FieldValue *v = record_field(rec, key);
    return v && v->value_case == FT__FIELD_VALUE__VALUE_TEXT && v->text ? v->text : "";
}

static bool is_checkout(int rtype)
{
    return rtype == FT__RECORD_TYPE__RECORDER_CHECKOUT || rtype == FT__RECORD_TYPE__RECORDER_RETURN;
}

/* ---- 1. catch up ------------------------------------------------------------ */

/* A device epoch's progress in this catch-up. */
typedef struct {
    uint8_t device[DEVID_BYTES];
    uint64_t epoch;
    uint64_t seq;
    uint8_t hash[ENTRY_HASH_BYTES];
    uint64_t blocked; /* first seq that did not verify, 0 if none */
    bool changed;
} head_t;

typedef struct {
    PGconn *c;
    const char *county;
    pverify_t *pv;
    head_t *heads;
    size_t n_heads, cap_heads;
    strset_t cases;     /* cases to mark changed */
    strset_t media_ids; /* of clips taken in: the cases citing them change */
    pgacts_t acts;      /* the batch's time keys: what else it changes (pgacts.h) */
    pgengine_stats_t *st;
    pg_rows_t rows; /* the batch's ft.prov_index rows (INDEX_COLS each) */
    struct {
        int64_t month; /* UTC year * 12 + month */
        uint8_t at[8]; /* a time in it (timestamptz, binary) */
    } * months;        /* the months of the batch's rows */
    size_t n_months, cap_months;
    char *err;
    size_t errlen;
} catch_t;

#define INDEX_COLS 14

/* Notes the UTC month of a binary timestamptz (microseconds since
 * 2000-01-01 UTC) among the batch's. */
static int month_add(catch_t *ct, const char *at, int len)
{
    if (len != 8) {
        return FT_OK; /* not a timestamptz: the insert says so */
    }
    int64_t us = 0;
    for (int i = 0; i < 8; i++) {
        us = (int64_t)((uint64_t)us << 8 | (uint8_t)at[i]);
    }
    int64_t secs = us / 1000000 - (us % 1000000 < 0) + 946684800;
    /* days since 1970-01-01 to a civil year and month (H. Hinnant's algorithm) */
    int64_t z = secs / 86400 - (secs % 86400 < 0) + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    int64_t key = y * 12 + m;
    for (size_t i = 0; i < ct->n_months; i++) {
        if (ct->months[i].month == key) {
            return FT_OK;
        }
    }
    if (ct->n_months == ct->cap_months) {
        size_t cap = ct->cap_months ? 2 * ct->cap_months : 8;
        void *grown = realloc(ct->months, cap * sizeof *ct->months);
        if (!grown) {
            return FT_ENOMEM;
        }
        ct->months = grown;
        ct->cap_months = cap;
    }
    ct->months[ct->n_months].month = key;
    memcpy(ct->months[ct->n_months].at, at, 8);
    ct->n_months++;
    return FT_OK;
}

static head_t *head_of(catch_t *ct, const uint8_t *device, uint64_t epoch, bool add)
{
    for (size_t i = 0; i < ct->n_heads; i++) {
        if (memcmp(ct->heads[i].device, device, DEVID_BYTES) == 0 && ct->heads[i].epoch == epoch) {
            return &ct->heads[i];
        }
    }
    if (!add) {
        return NULL;
    }
    if (ct->n_heads == ct->cap_heads) {
        size_t cap = ct->cap_heads ? 2 * ct->cap_heads : 64;
        head_t *grown = realloc(ct->heads, cap * sizeof *grown);
        if (!grown) {
            return NULL;
        }
        ct->heads = grown;
        ct->cap_heads = cap;
    }
    head_t *h = &ct->heads[ct->n_heads++];
    memset(h, 0, sizeof *h);
    memcpy(h->device, device, DEVID_BYTES);
    h->epoch = epoch;
    return h;
}

/* An entry that did not verify: its device's log stops before it here. */
static void refused(void *ctx, const pverify_bad_t *b)
{
    catch_t *ct = ctx;
    char id[DEVID_TEXT_SIZE] = "";
    if (b->county_wide || b->hub_log) {
        log_warn("provincial engine: county %s%s: %s (%s)", b->county,
                 b->hub_log ? ", its hub log" : "", b->detail, b->reason);
        return;
    }
    devid_format(b->device, id);
    log_warn("provincial engine: county %s, device %s, epoch %llu, seq %llu: %s (%s); its later "
             "entries are not evaluated (run verify)",
             b->county, id, (unsigned long long)b->epoch, (unsigned long long)b->seq, b->detail,
             b->reason);
    head_t *h = head_of(ct, b->device, b->epoch, true);
    /* A forged second row at a position already taken in stops nothing. */
    if (h && !h->blocked && (b->seq > h->seq || b->seq == 0)) {
        h->blocked = b->seq ? b->seq : 1;
        h->changed = true;
        /* hook: the province's own integrity alert (pgunits.h) */
        const pverify_device_t *d = pverify_device(ct->pv, b->device);
        pgunits_refused(ct->c, b, d ? d->unit : "");
    }
    ct->st->refused++;
}

/* One verified entry into ft.prov_index. */
static int index_entry(catch_t *ct, const PGresult *r, int row, const entry_view_t *v)
{
    const Ft__Body *b = v->entry->body;
    const pverify_device_t *d = pverify_device(ct->pv, v->entry->device.data);
    const char *dunit = d ? d->unit : "";
    char case_id[GAPINPUT_TEXT] = "", unit[GAPINPUT_TEXT] = "";
    int kind, rtype = 0;
    pg_buf_t off = {0}, rcd = {0}, cites = {0};
    char media_id[GAPINPUT_TEXT] = "";
    if (b->kind_case == FT__BODY__KIND_RECORD && b->record) {
        const Ft__Record *rec = b->record;
        kind = 1;
        rtype = rec->type;
        utf8_copy(case_id, sizeof case_id, rec->case_id);
        utf8_copy(unit, sizeof unit, rec->unit && rec->unit[0] ? rec->unit : dunit);
        char **o = calloc(rec->n_officers + 1, sizeof *o);
        char **rc = calloc(rec->n_recorders + 1, sizeof *rc);
        if (!o || !rc) {
            free(o);
            free(rc);
            return FT_ENOMEM;
        }
        for (size_t i = 0; i < rec->n_officers; i++) {
            o[i] = rec->officers[i];
        }
        for (size_t i = 0; i < rec->n_recorders; i++) {
            rc[i] = rec->recorders[i];
        }
        size_t no = rec->n_officers, nr = rec->n_recorders;
        if (is_checkout(rtype)) {
            o[no++] = (char *)field_text(rec, "officer");
            rc[nr++] = (char *)field_text(rec, "recorder");
        }
        pg_text_array(&off, o, no);
        pg_text_array(&rcd, rc, nr);
        pg_text_array(&cites, rec->media, rec->n_media);
        free(o);
        free(rc);
    } else if (b->kind_case == FT__BODY__KIND_MEDIA && b->media) {
        const Ft__MediaManifest *m = b->media;
        kind = 2;
        utf8_copy(case_id, sizeof case_id, m->case_id);
        utf8_copy(unit, sizeof unit, m->unit && m->unit[0] ? m->unit : dunit);
        char cut_o[GAPINPUT_TEXT], cut_r[GAPINPUT_TEXT];
        utf8_copy(cut_o, sizeof cut_o, m->officer);
        utf8_copy(cut_r, sizeof cut_r, m->recorder);
        char *o[] = {cut_o}, *rc[] = {cut_r};
        pg_text_array(&off, o, 1);
        pg_text_array(&rcd, rc, 1);
        pg_text_array(&cites, NULL, 0);
        /* the media ID records cite: the hex of its file ID, as the county's
         * index and gapinput.c make it */
        if (m->file_id.len > 0 && m->file_id.len <= 64) {
            char hex[129];
            hex_encode(m->file_id.data, m->file_id.len, hex);
            utf8_copy(media_id, sizeof media_id, hex);
            set_add(&ct->media_ids, media_id);
        }
    } else {
        return FT_OK; /* events and the rest: nothing the rules read */
    }
    set_add(&ct->cases, case_id);
    int arc = pgacts_add(&ct->acts, ct->county, v, case_id, PQgetvalue(r, row, 0),
                         PQgetlength(r, row, 0), PQgetvalue(r, row, 1), PQgetvalue(r, row, 2),
                         PQgetvalue(r, row, 3), PQgetlength(r, row, 3));
    if (arc != FT_OK || off.oom || rcd.oom || cites.oom || ct->cases.oom || ct->media_ids.oom) {
        free(off.p);
        free(rcd.p);
        free(cites.p);
        return FT_ENOMEM;
    }
    char ks[24], ts[24];
    pg_i64_text(kind, ks);
    pg_i64_text(rtype, ts);
    /* device, epoch, seq, at, arrival as they came (binary); the rows go in
     * together at the end of the batch (finish_batch) */
    pg_rows_t *rs = &ct->rows;
    pg_rows_text(rs, ct->county);
    for (int col = 0; col < 5; col++) {
        pg_rows_bin(rs, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
    }
    pg_rows_text(rs, ks);
    pg_rows_text(rs, ts);
    pg_rows_text(rs, case_id);
    pg_rows_text(rs, unit);
    pg_rows_text(rs, off.p);
    pg_rows_text(rs, rcd.p);
    pg_rows_text(rs, media_id);
    pg_rows_text(rs, cites.p);
    free(off.p);
    free(rcd.p);
    free(cites.p);
    return rs->oom ? FT_ENOMEM : month_add(ct, PQgetvalue(r, row, 3), PQgetlength(r, row, 3));
}

/* The index rows of the batch, their months' partitions made first (once a
 * month, not once a row). */
static int put_rows(catch_t *ct)
{
    int rc = FT_OK;
    for (size_t i = 0; rc == FT_OK && i < ct->n_months; i++) {
        const char *p[] = {(const char *)ct->months[i].at};
        int l[] = {8}, f[] = {1};
        PGresult *res = PQexecParams(ct->c, "SELECT ft.prov_month('prov_index', $1::timestamptz)",
                                     1, NULL, p, l, f, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            snprintf(ct->err, ct->errlen, "PostgreSQL: %s", PQresultErrorMessage(res));
            rc = FT_EIO;
        }
        PQclear(res);
    }
    ct->n_months = 0;
    static const char *const cast[] = {
        "",          "::bytea", "::bigint", "::bigint", "::timestamptz", "::bigint", "::smallint",
        "::integer", "",        "",         "::text[]", "::text[]",      "",         "::text[]"};
    if (rc == FT_OK) {
        rc = pg_rows_exec(ct->c, &ct->rows,
                          "INSERT INTO ft.prov_index (county, device, epoch, seq, at, arrival, "
                          "kind, rtype, case_id, unit, officers, recorders, media_id, cites) "
                          "VALUES ",
                          cast, " ON CONFLICT DO NOTHING", ct->err, ct->errlen);
    } else {
        pg_rows_init(&ct->rows, INDEX_COLS);
    }
    return rc;
}

/* The cases a batch marks: its own, those citing its clips, and (with time
 * keys to search) what they meet in time. $1..$7 as PGACTS_HIT_SQL, $8 the
 * batch's cases, $9 its clips' media IDs. */
#define CASE_MARK_SQL                                                                              \
    "WITH " PGACTS_HIT_SQL                                                                         \
    "INSERT INTO ft.prov_case_state (county, case_id) SELECT $1, c FROM (SELECT "                  \
    "unnest($8::text[]) AS c UNION SELECT i.case_id FROM ft.prov_index i WHERE i.county = $1 "     \
    "AND i.kind = 1 AND i.case_id <> '' AND i.cites && $9::text[] UNION SELECT case_id FROM "      \
    "hit) s WHERE c <> '' ORDER BY c ON CONFLICT (county, case_id) DO UPDATE SET changes = "       \
    "ft.prov_case_state.changes + 1"

/* Writes the heads that moved and marks the cases the batch changed. */
static int finish_batch(catch_t *ct)
{
    int rc = put_rows(ct);
    pg_rows_t hr = {0};
    pg_rows_init(&hr, 6);
    for (size_t i = 0; i < ct->n_heads; i++) {
        head_t *h = &ct->heads[i];
        if (!h->changed) {
            continue;
        }
        char ep[24], sq[24], bl[24];
        pg_i64_text((int64_t)h->epoch, ep);
        pg_i64_text((int64_t)h->seq, sq);
        pg_i64_text((int64_t)h->blocked, bl);
        pg_rows_text(&hr, ct->county);
        pg_rows_bin(&hr, h->device, DEVID_BYTES);
        pg_rows_text(&hr, ep);
        pg_rows_text(&hr, sq);
        pg_rows_bin(&hr, h->hash, ENTRY_HASH_BYTES);
        pg_rows_text(&hr, bl);
        h->changed = false;
    }
    static const char *const hcast[] = {"",         "::bytea", "::bigint",
                                        "::bigint", "::bytea", "::bigint"};
    if (rc == FT_OK) {
        /* (one row per device epoch: head_of keeps them distinct) */
        rc = pg_rows_exec(ct->c, &hr,
                          "INSERT INTO ft.prov_heads (county, device, epoch, seq, hash, "
                          "blocked_seq) VALUES ",
                          hcast,
                          " ON CONFLICT (county, device, epoch) DO UPDATE SET seq = "
                          "EXCLUDED.seq, hash = EXCLUDED.hash, blocked_seq = EXCLUDED.blocked_seq, "
                          "updated_at = now()",
                          ct->err, ct->errlen);
    }
    pg_rows_free(&hr);
    if (rc == FT_OK) {
        rc = pgacts_put(ct->c, &ct->acts, ct->county, ct->err, ct->errlen);
    }
    pg_buf_t cases = {0}, mids = {0};
    pg_text_array(&cases, ct->cases.s, ct->cases.n);
    pg_text_array(&mids, ct->media_ids.s, ct->media_ids.n);
    if (cases.oom || mids.oom) {
        rc = rc == FT_OK ? FT_ENOMEM : rc;
    }
    const char *hp[PGACTS_PARAMS];
    pgacts_params(&ct->acts, ct->county, hp);
    if (rc == FT_OK) {
        /* In case order, the order in which evaluators lock these rows
         * (evaluate()), so that the two never wait for each other in a
         * cycle. The cases of the entries, those citing a clip taken in, and
         * those the batch's clips, activities and checkouts meet in time
         * (pgacts.h): their media may have changed. Marking too many costs
         * an evaluation, never an alert. */
        const char *p[] = {hp[0], hp[1], hp[2], hp[3], hp[4], hp[5], hp[6], cases.p, mids.p};
        PGresult *res = PQexecParams(ct->c, CASE_MARK_SQL, 9, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            snprintf(ct->err, ct->errlen, "PostgreSQL: %s", PQresultErrorMessage(res));
            rc = FT_EIO;
        }
        PQclear(res);
    }
    if (rc == FT_OK) {
        /* hook: caseless records and media of the batch (pgunits.h) */
        rc = pgunits_taken_in(ct->c, ct->county, hp, ct->err, ct->errlen);
    }
    if (rc == FT_OK) {
        /* hook: justification records of the batch (pgjustify.h) */
        rc = pgjustify_taken_in(ct->c, ct->county, ct->err, ct->errlen);
    }
    free(cases.p);
    free(mids.p);
    set_free(&ct->cases);
    set_free(&ct->media_ids);
    return rc;
}

static int hublog_row(void *ctx, const PGresult *r)
{
    catch_t *ct = ctx;
    size_t len;
    const uint8_t *raw = pg_bytes(r, 0, 2, &len);
    return pverify_hublog(ct->pv, (uint64_t)pg_i64(r, 0, 0), (uint64_t)pg_i64(r, 0, 1), raw, len);
}

/* The county's clock offsets (ClockOffset entries of its hub log that just
 * verified) that ft.prov_clock does not hold yet go in, each with the cases
 * whose times it moves marked changed (those of the device's entries from its
 * arrival on, and the cases such a clip or checkout may document), in one
 * statement: a node that dies between two leaves nothing half done. */
static int take_clocks(catch_t *ct)
{
    size_t n = 0;
    const pverify_clock_t *cl = pverify_clocks(ct->pv, &n);
    if (n == 0) {
        return FT_OK;
    }
    const char *p1[] = {ct->county};
    PGresult *r = NULL;
    int rc = pg_query(ct->c,
                      "SELECT hub_epoch, hub_seq FROM ft.prov_clock WHERE county = $1 ORDER BY "
                      "hub_epoch DESC, hub_seq DESC LIMIT 1",
                      1, p1, &r, ct->err, ct->errlen);
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
            continue;
        }
        char ep[24], sq[24], fr[24], of[24];
        pg_i64_text((int64_t)k->hub_epoch, ep);
        pg_i64_text((int64_t)k->hub_seq, sq);
        pg_i64_text((int64_t)k->from_arrival, fr);
        pg_i64_text(k->offset_ms, of);
        const char *p[] = {ct->county, ep, sq, (const char *)k->device, fr, of};
        int l[] = {0, 0, 0, DEVID_BYTES, 0, 0};
        int f[] = {0, 0, 0, 1, 0, 0};
        PGresult *res = PQexecParams(
            ct->c,
            "WITH ins AS (INSERT INTO ft.prov_clock (county, hub_epoch, hub_seq, device, "
            "from_arrival, offset_ms) VALUES ($1, $2::bigint, $3::bigint, $4::bytea, $5::bigint, "
            "$6::bigint) ON CONFLICT DO NOTHING RETURNING device, from_arrival), "
            "a AS (SELECT i.case_id, i.officers, i.recorders, i.media_id FROM ft.prov_index i "
            "JOIN ins ON i.device = ins.device AND i.arrival >= ins.from_arrival WHERE "
            "i.county = $1) "
            "INSERT INTO ft.prov_case_state (county, case_id) SELECT $1, c FROM (SELECT "
            "a.case_id AS c FROM a UNION SELECT j.case_id FROM ft.prov_index j WHERE j.county = "
            "$1 AND j.kind = 1 AND j.case_id <> '' AND EXISTS (SELECT 1 FROM a WHERE j.officers "
            "&& a.officers OR j.recorders && a.recorders OR (a.media_id <> '' AND a.media_id = "
            "ANY(j.cites)) OR j.officers && ARRAY(SELECT h.officer FROM ft.prov_holders h WHERE "
            "h.county = $1 AND h.recorder = ANY(a.recorders)))) s "
            "WHERE c <> '' ORDER BY c ON CONFLICT (county, case_id) DO UPDATE SET changes = "
            "ft.prov_case_state.changes + 1",
            6, NULL, p, l, f, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            snprintf(ct->err, ct->errlen, "PostgreSQL: %s", PQresultErrorMessage(res));
            rc = FT_EIO;
        }
        PQclear(res);
    }
    return rc;
}

/* Takes in what is new of one county (its lock held). */
static int catch_up_county(catch_t *ct, const uint8_t hub_pk[32])
{
    char *err = ct->err;
    size_t errlen = ct->errlen;
    int rc = pverify_county(ct->pv, ct->county, hub_pk);
    const char *p1[] = {ct->county};
    if (rc == FT_OK) {
        rc = pg_stream(ct->c,
                       "SELECT epoch, seq, raw FROM ft.hub_entries WHERE county = $1 "
                       "ORDER BY epoch, seq, at",
                       1, p1, hublog_row, ct, err, errlen);
    }
    if (rc == FT_OK) {
        /* hook: caseless records and media whose times a new offset moves (pgunits.h) */
        rc = pgunits_clocks(ct->c, ct->county, ct->pv, err, errlen);
    }
    if (rc == FT_OK) {
        rc = take_clocks(ct);
    }
    if (rc == FT_OK) {
        /* hook: the supervisors' justifications of the hub log (pgjustify.h) */
        rc = pgjustify_take_hublog(ct->c, ct->county, ct->pv, err, errlen);
    }
    PGresult *r = NULL;
    if (rc == FT_OK) {
        rc = pg_query(ct->c,
                      "SELECT device, epoch, seq, hash, blocked_seq FROM ft.prov_heads WHERE "
                      "county = $1",
                      1, p1, &r, err, errlen);
    }
    for (int i = 0; rc == FT_OK && i < PQntuples(r); i++) {
        size_t dl, hl;
        const uint8_t *dev = pg_bytes(r, i, 0, &dl);
        const uint8_t *hash = pg_bytes(r, i, 3, &hl);
        if (dl != DEVID_BYTES || hl != ENTRY_HASH_BYTES) {
            continue;
        }
        head_t *h = head_of(ct, dev, (uint64_t)pg_i64(r, i, 1), true);
        if (!h) {
            rc = FT_ENOMEM;
            break;
        }
        h->seq = (uint64_t)pg_i64(r, i, 2);
        memcpy(h->hash, hash, ENTRY_HASH_BYTES);
        h->blocked = (uint64_t)pg_i64(r, i, 4);
        if (h->seq) {
            rc = pverify_resume(ct->pv, dev, h->epoch, h->seq, h->hash);
        }
    }
    PQclear(r);
    r = NULL;
    bool more = rc == FT_OK;
    while (more) {
        rc = pg_exec(ct->c, "BEGIN", err, errlen);
        if (rc == FT_OK) {
            /* The next entries after each device epoch's head, in order.
             * Each epoch is found by one index probe after the last (p) and
             * read from its head on (x): the county's entries taken in
             * before are never scanned again, which made take-in quadratic
             * in the county's size. */
            rc = pg_query(
                ct->c,
                "WITH RECURSIVE p AS ((SELECT device, epoch FROM ft.entries WHERE county = $1 "
                "ORDER BY device, epoch LIMIT 1) UNION ALL SELECT n.device, n.epoch FROM p CROSS "
                "JOIN LATERAL (SELECT device, epoch FROM ft.entries WHERE county = $1 AND "
                "(device, epoch) > (p.device, p.epoch) ORDER BY device, epoch LIMIT 1) n) "
                "SELECT x.device, x.epoch, x.seq, x.at, x.arrival, x.raw FROM p LEFT JOIN "
                "ft.prov_heads h ON h.county = $1 AND h.device = p.device AND h.epoch = p.epoch "
                "CROSS JOIN LATERAL (SELECT e.device, e.epoch, e.seq, e.at, e.arrival, e.raw FROM "
                "ft.entries e WHERE e.county = $1 AND e.device = p.device AND e.epoch = p.epoch "
                "AND e.seq > coalesce(h.seq, 0) ORDER BY e.seq, e.at LIMIT " FT_STR(
                    BATCH) ") x "
                           "WHERE coalesce(h.blocked_seq, 0) = 0 ORDER BY x.device, x.epoch, "
                           "x.seq, x.at "
                           "LIMIT " FT_STR(BATCH),
                1, p1, &r, err, errlen);
        }
        int n = rc == FT_OK ? PQntuples(r) : 0;
        for (int i = 0; rc == FT_OK && i < n; i++) {
            size_t dl, len;
            const uint8_t *dev = pg_bytes(r, i, 0, &dl);
            if (dl != DEVID_BYTES) {
                continue;
            }
            uint64_t epoch = (uint64_t)pg_i64(r, i, 1), seq = (uint64_t)pg_i64(r, i, 2);
            const head_t *known = head_of(ct, dev, epoch, false);
            if (known && known->blocked && seq > known->blocked) {
                continue; /* refused in this batch: nothing after it */
            }
            const uint8_t *raw = pg_bytes(r, i, 5, &len);
            entry_view_t v;
            bool ok = false;
            rc = pverify_entry_view(ct->pv, dev, epoch, seq, raw, len, &v, &ok);
            if (rc != FT_OK || !ok) {
                continue;
            }
            head_t *h = head_of(ct, dev, epoch, true);
            if (h && h->blocked == seq) {
                h->blocked = 0; /* a forged row came first at this position; this one holds */
            }
            if (!h) {
                rc = FT_ENOMEM;
            } else if (!h->blocked && seq > h->seq) {
                rc = index_entry(ct, r, i, &v);
                h->seq = seq;
                memcpy(h->hash, v.hash, ENTRY_HASH_BYTES);
                h->changed = true;
                ct->st->entries++;
            }
            entry_view_free(&v);
        }
        if (rc == FT_OK) {
            rc = finish_batch(ct);
        }
        PQclear(r);
        r = NULL;
        if (rc == FT_OK) {
            rc = pg_exec(ct->c, "COMMIT", err, errlen);
        } else {
            PQclear(PQexec(ct->c, "ROLLBACK"));
        }
        more = rc == FT_OK && n == BATCH;
    }
    if (rc == FT_OK) {
        rc = pverify_end(ct->pv);
    }
    if (rc == FT_ENOMEM) {
        snprintf(err, errlen, "out of memory");
    }
    return rc;
}

/* A county's checkpoints as a node last took it in. */
struct pgengine_seen {
    char county[256];
    char marks[256]; /* its checkpoints as text (stream:position:epoch/...) */
};

void pgengine_memo_free(pgengine_memo_t *m)
{
    if (m) {
        free(m->seen);
        memset(m, 0, sizeof *m);
    }
}

/* The memo's row of county (added if missing; NULL when memory runs out). */
static struct pgengine_seen *memo_row(pgengine_memo_t *m, const char *county)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->seen[i].county, county) == 0) {
            return &m->seen[i];
        }
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 16;
        struct pgengine_seen *grown = realloc(m->seen, cap * sizeof *grown);
        if (!grown) {
            return NULL;
        }
        m->seen = grown;
        m->cap = cap;
    }
    struct pgengine_seen *row = &m->seen[m->n++];
    memset(row, 0, sizeof *row);
    snprintf(row->county, sizeof row->county, "%s", county);
    return row;
}

static int catch_up(PGconn *c, pgengine_memo_t *memo, pgengine_stats_t *st, char *err,
                    size_t errlen)
{
    PGresult *r = NULL;
    /* Each county with its checkpoints (what it forwarded so far). */
    int rc = pg_query(c,
                      "SELECT c.county, c.hub_device, c.hub_sign_pk, coalesce((SELECT "
                      "string_agg(k.stream || ':' || k.position || ':' || k.epoch, '/' ORDER BY "
                      "k.stream) FROM ft.checkpoints k WHERE k.county = c.county), '') FROM "
                      "ft.counties c ORDER BY c.county",
                      0, NULL, &r, err, errlen);
    for (int i = 0; rc == FT_OK && i < PQntuples(r); i++) {
        const char *county = pg_text(r, i, 0);
        size_t kl;
        const uint8_t *pk = pg_bytes(r, i, 2, &kl);
        if (kl != 32) {
            log_warn("provincial engine: county %s: its hub key is damaged; nothing of it is "
                     "taken in (run verify)",
                     county);
            continue;
        }
        const char *marks = pg_text(r, i, 3);
        struct pgengine_seen *seen = memo ? memo_row(memo, county) : NULL;
        if (seen && marks[0] && strcmp(seen->marks, marks) == 0) {
            st->quiet++;
            continue; /* nothing forwarded since this node took it in */
        }
        const char *p[] = {county};
        PGresult *lk = NULL;
        rc = pg_query(c, "SELECT pg_try_advisory_lock(7400162, hashtext($1))", 1, p, &lk, err,
                      errlen);
        bool got = rc == FT_OK && pg_bool(lk, 0, 0);
        PQclear(lk);
        if (rc != FT_OK) {
            break;
        }
        if (!got) {
            st->counties++;
            continue;
        }
        catch_t ct = {.c = c, .county = county, .st = st, .err = err, .errlen = errlen};
        pg_rows_init(&ct.rows, INDEX_COLS);
        pgacts_init(&ct.acts);
        rc = pverify_new(refused, &ct, &ct.pv);
        if (rc == FT_OK) {
            rc = catch_up_county(&ct, pk);
        } else {
            snprintf(err, errlen, "out of memory");
        }
        if (rc == FT_OK && seen) {
            snprintf(seen->marks, sizeof seen->marks, "%s", marks);
        }
        pverify_destroy(&ct.pv);
        free(ct.heads);
        free(ct.months);
        pg_rows_free(&ct.rows);
        set_free(&ct.cases);
        set_free(&ct.media_ids);
        pgacts_free(&ct.acts);
        if (PQtransactionStatus(c) != PQTRANS_IDLE) {
            PQclear(PQexec(c, "ROLLBACK")); /* a failed batch's transaction */
        }
        PGresult *un = PQexecParams(c, "SELECT pg_advisory_unlock(7400162, hashtext($1))", 1, NULL,
                                    p, NULL, NULL, 0);
        PQclear(un);
    }
    PQclear(r);
    return rc;
}

/* ---- 2. evaluate ------------------------------------------------------------ */

/* The entries of one case's input (their bytes stay in the batch's results
 * until the batch is done). */
typedef struct {
    gapinput_entry_t *in;
    entry_view_t *views;
    char (*refs)[64];
    size_t n, cap;
} caseload_t;

static void caseload_free(caseload_t *cl)
{
    for (size_t i = 0; i < cl->n; i++) {
        entry_view_free(&cl->views[i]);
    }
    free(cl->in);
    free(cl->views);
    free(cl->refs);
    memset(cl, 0, sizeof *cl);
}

/* The columns of a case load's rows (one statement for a batch of cases):
 * case, device, epoch, seq, arrival, unit, hlc, raw, and the clock offset the
 * county applied to the entry (ft.prov_offset). */
#define LOAD_COLS                                                                                  \
    "a.case_id, a.device, a.epoch, a.seq, a.arrival, a.unit, e.hlc, e.raw, "                       \
    "ft.prov_offset($1, a.device, a.arrival) "
#define LOAD_JOIN                                                                                  \
    "JOIN ft.entries e ON e.device = a.device AND e.epoch = a.epoch AND e.seq = a.seq AND "        \
    "e.at = a.at "

/* Adds row i of r to cl (an entry already in it is skipped). */
static int take_row(caseload_t *cl, const PGresult *r, int i)
{
    uint64_t arrival = (uint64_t)pg_i64(r, i, 4);
    for (size_t k = 0; k < cl->n; k++) {
        if (cl->in[k].order == arrival) {
            return FT_OK;
        }
    }
    if (cl->n == cl->cap) {
        size_t cap = cl->cap ? 2 * cl->cap : 64;
        gapinput_entry_t *in = realloc(cl->in, cap * sizeof *in);
        if (in) {
            cl->in = in;
        }
        entry_view_t *views = realloc(cl->views, cap * sizeof *views);
        if (views) {
            cl->views = views;
        }
        char(*refs)[64] = realloc(cl->refs, cap * sizeof *refs);
        if (refs) {
            cl->refs = refs;
        }
        if (!in || !views || !refs) {
            return FT_ENOMEM;
        }
        cl->cap = cap;
    }
    size_t len, dl;
    const uint8_t *raw = pg_bytes(r, i, 7, &len);
    const uint8_t *dev = pg_bytes(r, i, 1, &dl);
    entry_view_t *v = &cl->views[cl->n];
    if (dl != DEVID_BYTES || entry_open(raw, len, v) != FT_OK) {
        return FT_OK; /* it verified when it was taken in; a row changed since: verify says */
    }
    gapinput_entry_t *g = &cl->in[cl->n];
    memset(g, 0, sizeof *g);
    char id[DEVID_TEXT_SIZE];
    devid_format(dev, id);
    snprintf(cl->refs[cl->n], sizeof cl->refs[cl->n], "%s/%llu/%llu", id,
             (unsigned long long)pg_i64(r, i, 2), (unsigned long long)pg_i64(r, i, 3));
    g->order = arrival;
    g->logged_ms = (int64_t)hlc_ms((uint64_t)pg_i64(r, i, 6));
    g->offset_ms = pg_i64(r, i, 8);
    g->unit = pg_text(r, i, 5);
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
        return FT_OK;
    }
    cl->n++;
    return FT_OK;
}

typedef struct {
    uint64_t order;
    size_t at;
} order_at_t;

static int by_order(const void *a, const void *b)
{
    const order_at_t *x = a, *y = b;
    return (x->order > y->order) - (x->order < y->order);
}

int pgengine_arrival_order(const gapinput_entry_t *in, size_t n, size_t **perm)
{
    order_at_t *oa = malloc((n ? n : 1) * sizeof *oa);
    *perm = malloc((n ? n : 1) * sizeof **perm);
    if (!oa || !*perm) {
        free(oa);
        free(*perm);
        *perm = NULL;
        return FT_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        oa[i] = (order_at_t){.order = in[i].order, .at = i};
    }
    qsort(oa, n, sizeof *oa, by_order);
    for (size_t i = 0; i < n; i++) {
        (*perm)[i] = oa[i].at;
    }
    free(oa);
    return FT_OK;
}

/* Puts cl in the county index's order: arrival (supersedes and identities
 * follow it). */
static int sort_case(caseload_t *cl)
{
    size_t n = cl->n;
    gapinput_entry_t *in2 = malloc((n ? n : 1) * sizeof *in2);
    entry_view_t *v2 = malloc((n ? n : 1) * sizeof *v2);
    char(*r2)[64] = malloc((n ? n : 1) * sizeof *r2);
    size_t *perm = NULL;
    if (!in2 || !v2 || !r2 || pgengine_arrival_order(cl->in, n, &perm) != FT_OK) {
        free(in2);
        free(v2);
        free(r2);
        return FT_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        size_t old = perm[i];
        in2[i] = cl->in[old];
        v2[i] = cl->views[old];
        memcpy(r2[i], cl->refs[old], sizeof r2[i]);
        in2[i].ref = r2[i];
    }
    free(perm);
    free(cl->in);
    free(cl->views);
    free(cl->refs);
    cl->in = in2;
    cl->views = v2;
    cl->refs = r2;
    cl->cap = n;
    return FT_OK;
}

/* One case of a batch. */
typedef struct {
    const char *case_id; /* in the step's list of cases */
    bool got;            /* its lock is held (until the batch's transaction ends) */
    bool due;            /* and it is still to be evaluated */
    int64_t changes;
    caseload_t cl;
    gapinput_t *g;
    gapinput_case_t gc;
    gap_alerts_t ga;
    int64_t next;
    bool done; /* evaluated */
} evcase_t;

static evcase_t *case_named(evcase_t *cs, size_t n, const char *case_id)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(cs[i].case_id, case_id) == 0) {
            return &cs[i];
        }
    }
    return NULL;
}

/* The batch's due cases as a text[] literal. */
static void due_array(pg_buf_t *b, const evcase_t *cs, size_t n)
{
    char **ids = calloc(n ? n : 1, sizeof *ids);
    if (!ids) {
        b->oom = true;
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (cs[i].due) {
            ids[k++] = (char *)cs[i].case_id;
        }
    }
    pg_text_array(b, ids, k);
    free(ids);
}

/* A time key of a case (case, role, name, lo, hi) for pgacts_cols_t. */
static void cols_key(pgacts_cols_t *t, const char *case_id, int role, const char *name, int64_t lo,
                     int64_t hi)
{
    char cut[GAPINPUT_TEXT];
    utf8_copy(cut, sizeof cut, name);
    if (!cut[0]) {
        return;
    }
    char r[24], l[24], h[24];
    pg_i64_text(role, r);
    pg_i64_text(lo, l);
    pg_i64_text(hi > lo ? hi : lo, h);
    const char *v[PGACTS_NCOLS] = {case_id, r, cut, l, h};
    pgacts_cols_add(t, v);
}

/* Loads the due cases of a batch, in two statements: their records; then the
 * media that may document them (gaps_media_links decides which do: cited by
 * ID, or overlapping an activity and sharing an officer or a recorder with
 * it, or of a recorder one of its officers checked out; found by the time
 * keys of pgacts.h, as the county's index finds them by name and time; and
 * those tied to the case) and every checkout of those media's recorders.
 * The officers, recorders, times and cited media of each case are those its
 * records' signed bytes name. */
static int load_batch(PGconn *c, const char *county, evcase_t *cs, size_t n, PGresult **keep,
                      char *err, size_t errlen)
{
    pg_buf_t due = {0};
    due_array(&due, cs, n);
    if (due.oom) {
        free(due.p);
        return FT_ENOMEM;
    }
    const char *p2[] = {county, due.p};
    PGresult *r = NULL;
    int rc = pg_query(c,
                      "SELECT " LOAD_COLS "FROM ft.prov_index a " LOAD_JOIN
                      "WHERE a.county = $1 AND a.case_id = ANY($2::text[]) AND a.kind = 1",
                      2, p2, &r, err, errlen);
    free(due.p);
    if (rc != FT_OK) {
        return rc;
    }
    keep[0] = r;
    for (int i = 0; rc == FT_OK && i < PQntuples(r); i++) {
        evcase_t *e = case_named(cs, n, pg_text(r, i, 0));
        rc = e && e->due ? take_row(&e->cl, r, i) : FT_OK;
    }
    /* each due case: its id and cited media (a text[] literal each); and
     * each officer and recorder of its activities with the activity's window
     * in its device's own clock (the time keys of pgacts.h) */
    char **lists[2];
    size_t k = 0;
    for (int j = 0; j < 2; j++) {
        lists[j] = calloc(n ? n : 1, sizeof *lists[j]);
        rc = lists[j] ? rc : FT_ENOMEM;
    }
    pgacts_cols_t keys = {0};
    for (size_t i = 0; rc == FT_OK && i < n; i++) {
        if (!cs[i].due) {
            continue;
        }
        strset_t cited = {0};
        for (size_t x = 0; x < cs[i].cl.n; x++) {
            const Ft__Record *rec = cs[i].cl.in[x].rec;
            for (size_t y = 0; rec && y < rec->n_media; y++) {
                set_add(&cited, rec->media[y]);
            }
            if (!rec || !record_type_is_activity(rec->type)) {
                continue;
            }
            int64_t lo, hi, tm;
            gapinput_record_times(rec, cs[i].cl.in[x].logged_ms, 0, &lo, &hi, &tm);
            for (size_t y = 0; y < rec->n_officers; y++) {
                cols_key(&keys, cs[i].case_id, 1, rec->officers[y], lo, hi);
            }
            for (size_t y = 0; y < rec->n_recorders; y++) {
                cols_key(&keys, cs[i].case_id, 2, rec->recorders[y], lo, hi);
            }
        }
        pg_buf_t ci = {0};
        pg_text_array(&ci, cited.s, cited.n);
        lists[0][k] = (char *)cs[i].case_id;
        lists[1][k] = ci.p;
        k++;
        if (cited.oom || ci.oom || keys.oom) {
            rc = FT_ENOMEM;
        }
        set_free(&cited);
    }
    pg_buf_t a[2 + PGACTS_NCOLS] = {{0}};
    for (int j = 0; rc == FT_OK && j < 2; j++) {
        pg_text_array(&a[j], lists[j], k);
        rc = a[j].oom ? FT_ENOMEM : FT_OK;
    }
    for (int j = 0; rc == FT_OK && j < PGACTS_NCOLS; j++) {
        pg_text_array(&a[2 + j], keys.v[j], keys.n);
        rc = a[2 + j].oom ? FT_ENOMEM : FT_OK;
    }
    for (size_t i = 0; i < k; i++) {
        free(lists[1][i]);
    }
    for (int j = 0; j < 2; j++) {
        free(lists[j]);
    }
    pgacts_cols_free(&keys);
    if (rc == FT_OK) {
        /* s: the time keys; s2: with the recorders its officers held; mk: the
         * clips they meet in time (widened by the county's clock offsets as
         * at take-in), and those of the case or cited by it; k: every
         * checkout or return of those clips' recorders */
        const char *p8[] = {county, a[2].p, a[3].p, a[4].p, a[5].p, a[6].p, a[0].p, a[1].p};
        rc = pg_query(
            c,
            "WITH s AS MATERIALIZED (SELECT DISTINCT * FROM unnest($2::text[], $3::smallint[], "
            "$4::text[], $5::bigint[], $6::bigint[]) AS s(c, role, name, lo, hi)), "
            "sl AS MATERIALIZED (SELECT (2 * coalesce(max(abs(offset_ms)), 0) + 1000)::bigint AS "
            "sl, coalesce((SELECT span FROM ft.prov_spans WHERE county = $1 AND kind = 2), 0) AS "
            "med FROM ft.prov_clock WHERE county = $1), "
            "s2 AS (SELECT c, role, name, lo, hi FROM s UNION SELECT s.c, 2::smallint, "
            "h.recorder, s.lo, s.hi FROM s JOIN ft.prov_holders h ON h.county = $1 AND h.officer "
            "= s.name WHERE s.role = 1), "
            "u AS MATERIALIZED (SELECT u.c, u.m::text[] AS cited FROM unnest($7::text[], "
            "$8::text[]) AS u(c, m)), "
            "mk AS (SELECT s2.c, x.device, x.epoch, x.seq, x.at FROM s2 CROSS JOIN sl JOIN "
            "ft.prov_acts x ON x.county = $1 AND x.kind = 2 AND x.role = s2.role AND x.name = "
            "s2.name AND x.lo BETWEEN s2.lo - sl.sl - sl.med AND s2.hi + sl.sl AND x.hi >= s2.lo "
            "- sl.sl UNION SELECT u.c, i.device, i.epoch, i.seq, i.at FROM u JOIN ft.prov_index i "
            "ON i.county = $1 AND i.kind = 2 AND (i.case_id = u.c OR i.media_id = "
            "ANY(u.cited))), "
            "m AS MATERIALIZED (SELECT mk.c AS case_id, i.device, i.epoch, i.seq, i.at, "
            "i.arrival, i.unit, i.recorders FROM mk JOIN ft.prov_index i ON i.county = $1 AND "
            "i.device = mk.device AND i.epoch = mk.epoch AND i.seq = mk.seq AND i.at = mk.at AND "
            "i.kind = 2), "
            "k AS (SELECT mr.case_id, i.device, i.epoch, i.seq, i.at, i.arrival, i.unit FROM "
            "(SELECT DISTINCT m.case_id, x AS rec FROM m, unnest(m.recorders) x WHERE x <> '') mr "
            "JOIN ft.prov_acts ko ON ko.county = $1 AND ko.kind = 3 AND ko.role = 2 AND ko.name = "
            "mr.rec JOIN ft.prov_index i ON i.county = $1 AND i.device = ko.device AND i.epoch = "
            "ko.epoch AND i.seq = ko.seq AND i.at = ko.at), "
            "a AS (SELECT 0 AS src, case_id, device, epoch, seq, at, arrival, unit FROM m UNION "
            "ALL SELECT 1, case_id, device, epoch, seq, at, arrival, unit FROM k) "
            "SELECT " LOAD_COLS "FROM a " LOAD_JOIN "ORDER BY a.case_id, a.src",
            8, p8, &r, err, errlen);
    }
    for (int j = 0; j < 2 + PGACTS_NCOLS; j++) {
        free(a[j].p);
    }
    if (rc == FT_OK) {
        keep[1] = r;
        for (int i = 0; rc == FT_OK && i < PQntuples(r); i++) {
            evcase_t *e = case_named(cs, n, pg_text(r, i, 0));
            rc = e && e->due ? take_row(&e->cl, r, i) : FT_OK;
        }
    }
    for (size_t i = 0; rc == FT_OK && i < n; i++) {
        rc = cs[i].due ? sort_case(&cs[i].cl) : FT_OK;
    }
    if (rc == FT_ENOMEM) {
        snprintf(err, errlen, "out of memory");
    }
    return rc;
}

/* The unit of an alert's subject: that of the record its first ref names
 * (the county's alert rows take it the same way), else "". */
static const char *subject_unit(const gapinput_t *g, const char *subject)
{
    size_t n = strcspn(subject, ">#");
    for (size_t i = 0; g && i < g->n_records; i++) {
        const char *ref = g->records[i].g.ref;
        if (strlen(ref) == n && strncmp(ref, subject, n) == 0) {
            return g->records[i].unit;
        }
    }
    return "";
}

#define EVENT_COLS 14

/* One alert event among the batch's (written together, write_events). */
static void add_event(pg_rows_t *ev, const char *now_text, const char *county, const char *case_id,
                      const char *unit, const char *node, int64_t due_ms, const char *alert_id,
                      const char *rule, const char *kind, const char *article, const char *severity,
                      const char *subject, const char *detail, alert_state state)
{
    char due[24];
    pg_i64_text(due_ms, due);
    const char *v[EVENT_COLS] = {now_text, county,  case_id, unit,
                                 alert_id, rule,    kind,    article,
                                 severity, subject, detail,  alert_state_name(state),
                                 due,      node};
    for (int i = 0; i < EVENT_COLS; i++) {
        pg_rows_text(ev, v[i]);
    }
}

/* Adds the events that make one case's alerts equal to its ga, from its
 * current states (rows [lo, hi) of cur: case, alert, state, kind, rule,
 * article, severity, unit). */
static void case_events(pg_rows_t *ev, const char *now_text, int64_t now_ms, const char *county,
                        const char *node, const evcase_t *e, const PGresult *cur, int lo, int hi,
                        bool *seen, uint64_t *events)
{
    const gap_alerts_t *ga = &e->ga;
    for (size_t a = 0; a < ga->n; a++) {
        const gap_alert_t *g = &ga->items[a];
        bool dup = false;
        for (size_t b = 0; b < a && !dup; b++) {
            dup = strcmp(ga->items[b].id, g->id) == 0;
        }
        if (dup) {
            continue;
        }
        alert_state from = ALERT_NONE;
        for (int i = lo; i < hi; i++) {
            if (strcmp(pg_text(cur, i, 1), g->id) == 0) {
                from = alert_state_parse(pg_text(cur, i, 2));
                seen[i - lo] = true;
            }
        }
        alert_facts_t facts = {.integrity = g->rule->kind == RULE_INTEGRITY};
        alert_state next;
        if (alert_transition(from, ALERT_RAISED, &facts, &next) == ALERT_MOVE) {
            add_event(ev, now_text, county, e->case_id, subject_unit(e->g, g->subject), node,
                      g->at_ms, g->id, g->rule->id, rule_kind_name(g->rule->kind), g->article,
                      rule_severity_name(g->rule->severity), g->subject, g->detail, next);
            (*events)++;
        }
    }
    for (int i = lo; i < hi; i++) {
        if (seen[i - lo]) {
            continue;
        }
        alert_facts_t facts = {.integrity = strcmp(pg_text(cur, i, 3), "integrity") == 0};
        alert_state next;
        if (alert_transition(alert_state_parse(pg_text(cur, i, 2)), ALERT_GONE, &facts, &next) ==
            ALERT_MOVE) {
            add_event(ev, now_text, county, e->case_id, pg_text(cur, i, 7), node, now_ms,
                      pg_text(cur, i, 1), pg_text(cur, i, 4), pg_text(cur, i, 3),
                      pg_text(cur, i, 5), pg_text(cur, i, 6), "", "", next);
            (*events)++;
        }
    }
}

/* Makes the alerts of the batch's evaluated cases equal to what the rules
 * raised, and records their evaluation: their current states in one
 * statement, their events in one, their states in one. */
static int write_batch(PGconn *c, const char *county, evcase_t *cs, size_t n, int64_t now_ms,
                       const char *node, pgengine_stats_t *st, char *err, size_t errlen)
{
    pg_buf_t due = {0};
    due_array(&due, cs, n);
    if (due.oom) {
        free(due.p);
        snprintf(err, errlen, "out of memory");
        return FT_ENOMEM;
    }
    const char *p2[] = {county, due.p};
    PGresult *cur = NULL;
    int rc = pg_query(c,
                      "SELECT DISTINCT ON (case_id, alert_id) case_id, alert_id, state, kind, "
                      "rule, article, severity, unit FROM ft.prov_alert_events WHERE county = $1 "
                      "AND case_id = ANY($2::text[]) ORDER BY case_id, alert_id, event_no DESC",
                      2, p2, &cur, err, errlen);
    free(due.p);
    if (rc != FT_OK) {
        return rc;
    }
    int rows = PQntuples(cur);
    bool *seen = calloc(rows ? (size_t)rows : 1, sizeof *seen);
    char now_text[24];
    pg_i64_text(now_ms, now_text);
    pg_rows_t ev = {0}, up = {0};
    pg_rows_init(&ev, EVENT_COLS);
    pg_rows_init(&up, 5);
    rc = seen ? FT_OK : FT_ENOMEM;
    for (size_t i = 0; rc == FT_OK && i < n; i++) {
        const evcase_t *e = &cs[i];
        if (!e->done) {
            continue;
        }
        /* its rows: those of its case id (the rows come in case order, but
         * the database's collation need not be strcmp's) */
        int lo = 0, hi = 0;
        while (lo < rows && strcmp(pg_text(cur, lo, 0), e->case_id) != 0) {
            lo++;
        }
        for (hi = lo; hi < rows && strcmp(pg_text(cur, hi, 0), e->case_id) == 0; hi++) {
        }
        case_events(&ev, now_text, now_ms, county, node, e, cur, lo, hi, seen + lo, &st->events);
        char ch[24], nx[24];
        pg_i64_text(e->changes, ch);
        pg_i64_text(e->next, nx);
        pg_rows_text(&up, county);
        pg_rows_text(&up, e->case_id);
        pg_rows_text(&up, ch);
        pg_rows_text(&up, e->next == INT64_MAX ? NULL : nx);
        pg_rows_text(&up, node);
    }
    static const char *const ecast[EVENT_COLS] = {"::bigint", "", "", "", "", "",         "",
                                                  "",         "", "", "", "", "::bigint", ""};
    /* (the partition of now's month was made when the evaluation began) */
    if (rc == FT_OK) {
        rc = pg_rows_exec(c, &ev,
                          "INSERT INTO ft.prov_alert_events (at, county, case_id, unit, alert_id, "
                          "rule, kind, article, severity, subject, detail, state, due_at_ms, node) "
                          "SELECT to_timestamp(v.t / 1000.0), v.county, v.case_id, v.unit, "
                          "v.alert_id, v.rule, v.kind, v.article, v.severity, v.subject, v.detail, "
                          "v.state, v.due, v.node FROM (VALUES ",
                          ecast,
                          ") v(t, county, case_id, unit, alert_id, rule, kind, article, severity, "
                          "subject, detail, state, due, node)",
                          err, errlen);
    }
    static const char *const ucast[] = {"", "", "::bigint", "::bigint", ""};
    if (rc == FT_OK) {
        /* the rows locked in case order, as take-in locks them
         * (finish_batch), so that the two never wait for each other in a
         * cycle */
        rc = pg_rows_exec(c, &up, "WITH u(county, case_id, ev, nx, node) AS MATERIALIZED (VALUES ",
                          ucast,
                          "), l AS MATERIALIZED (SELECT s.case_id FROM ft.prov_case_state s "
                          "JOIN u ON s.county = u.county AND s.case_id = u.case_id ORDER BY "
                          "s.case_id FOR UPDATE OF s) "
                          "UPDATE ft.prov_case_state s SET evaluated = u.ev, next_due_ms = u.nx, "
                          "evaluated_at = now(), evaluated_by = u.node FROM u WHERE s.county = "
                          "u.county AND s.case_id = u.case_id AND s.case_id IN (SELECT case_id "
                          "FROM l)",
                          err, errlen);
    }
    if (rc == FT_ENOMEM) {
        snprintf(err, errlen, "out of memory");
    }
    for (size_t i = 0; rc == FT_OK && i < n; i++) {
        st->cases += cs[i].done;
    }
    pg_rows_free(&ev);
    pg_rows_free(&up);
    free(seen);
    PQclear(cur);
    return rc;
}

/* Evaluates a batch of cases of one county in the open transaction: each
 * under its lock (held until the transaction ends), a case another node
 * holds counted and left. About seven statements for the batch, whatever
 * its size: the locks and states, two loads, the current alert states, the
 * events, the case states. */
static int eval_batch(PGconn *c, const rulepack_t *pack, const char *county, const char **ids,
                      size_t n, int64_t now_ms, const char *node, pgengine_stats_t *st, char *err,
                      size_t errlen)
{
    evcase_t *cs = calloc(n ? n : 1, sizeof *cs);
    pg_buf_t list = {0};
    pg_text_array(&list, (char *const *)ids, n);
    if (!cs || list.oom) {
        free(cs);
        free(list.p);
        snprintf(err, errlen, "out of memory");
        return FT_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        cs[i].case_id = ids[i];
    }
    char now_text[24];
    pg_i64_text(now_ms, now_text);
    const char *p3[] = {county, list.p, now_text};
    PGresult *r = NULL;
    /* The cases' locks, then (only for those held: the subquery runs after
     * the locks are taken) their states as they are now: another node may
     * have evaluated one since it was listed. */
    int rc = pg_query(c,
                      "WITH l AS MATERIALIZED (SELECT u.c, u.n, pg_try_advisory_xact_lock(" FT_STR(
                          LOCK_CASE) ", hashtext($1 || '/' || u.c)) AS got FROM "
                                     "unnest($2::text[]) WITH ORDINALITY AS u(c, n)) "
                                     "SELECT l.c, l.got, s.changes, s.due FROM l LEFT JOIN "
                                     "LATERAL (SELECT changes, changes > evaluated OR "
                                     "coalesce(next_due_ms <= $3::bigint, false) AS due FROM "
                                     "ft.prov_case_state WHERE l.got AND county = $1 AND case_id "
                                     "= l.c) s ON true ORDER BY l.n",
                      3, p3, &r, err, errlen);
    free(list.p);
    size_t n_due = 0;
    for (int i = 0; rc == FT_OK && i < PQntuples(r); i++) {
        evcase_t *e = case_named(cs, n, pg_text(r, i, 0));
        if (!e) {
            continue;
        }
        e->got = pg_bool(r, i, 1);
        st->held += !e->got;
        if (e->got && !PQgetisnull(r, i, 2)) {
            e->changes = pg_i64(r, i, 2);
            e->due = pg_bool(r, i, 3);
            n_due += e->due;
        }
    }
    PQclear(r);
    PGresult *keep[2] = {NULL, NULL};
    if (rc == FT_OK && n_due > 0) {
        rc = load_batch(c, county, cs, n, keep, err, errlen);
        for (size_t i = 0; rc == FT_OK && i < n; i++) {
            evcase_t *e = &cs[i];
            if (!e->due) {
                continue;
            }
            rc = gapinput_new(e->cl.in, e->cl.n, NULL, 0, &e->g);
            if (rc == FT_OK) {
                rc = gapinput_case(e->g, e->case_id, &e->gc);
            }
            if (rc == FT_OK) {
                rc = gaps_eval_case(pack, &e->gc.c, now_ms, &e->ga);
            }
            if (rc == FT_OK) {
                e->next = gaps_next_deadline(pack, &e->gc.c, now_ms);
                e->done = true;
            } else if (rc == FT_ENOMEM) {
                snprintf(err, errlen, "out of memory");
            }
        }
        if (rc == FT_OK) {
            rc = write_batch(c, county, cs, n, now_ms, node, st, err, errlen);
        }
        for (size_t i = 0; rc == FT_OK && i < n; i++) {
            if (cs[i].done) {
                /* hook: justifications of its alerts (pgjustify.h) */
                rc = pgjustify_apply(c, county, cs[i].case_id, "", node, now_ms, &st->events, err,
                                     errlen);
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        gap_alerts_free(&cs[i].ga);
        gapinput_case_free(&cs[i].gc);
        gapinput_destroy(&cs[i].g);
        caseload_free(&cs[i].cl);
    }
    PQclear(keep[0]);
    PQclear(keep[1]);
    free(cs);
    return rc;
}

int pgengine_list_due(PGconn *c, const char *sql, int64_t now_ms, PGresult **out, char *err,
                      size_t errlen)
{
    char now_text[24];
    pg_i64_text(now_ms, now_text);
    const char *p[] = {now_text};
    int rc = pg_query(c, sql, 1, p, out, err, errlen);
    if (rc == FT_OK && PQntuples(*out) > 0) {
        /* the partition of now's month, for this step's alert events */
        PGresult *m = NULL;
        rc = pg_query(c,
                      "SELECT ft.prov_month('prov_alert_events', to_timestamp($1::bigint / "
                      "1000.0))",
                      1, p, &m, err, errlen);
        PQclear(m);
    }
    return rc;
}

static int evaluate(PGconn *c, const rulepack_t *pack, int64_t now_ms, const char *node,
                    pgengine_stats_t *st, char *err, size_t errlen)
{
    PGresult *r = NULL;
    int rc = pgengine_list_due(c,
                               "SELECT county, case_id FROM ft.prov_case_state WHERE changes > "
                               "evaluated OR next_due_ms <= $1::bigint ORDER BY county, case_id",
                               now_ms, &r, err, errlen);
    int n = rc == FT_OK ? PQntuples(r) : 0;
    const char **ids = calloc(CASES_PER_TXN, sizeof *ids);
    if (!ids && rc == FT_OK) {
        snprintf(err, errlen, "out of memory");
        rc = FT_ENOMEM;
    }
    /* Up to CASES_PER_TXN cases of one county a transaction: one durable
     * commit for them all (their locks are held until it); another node
     * meanwhile takes the cases this one does not hold. */
    for (int i = 0; rc == FT_OK && i < n;) {
        const char *county = pg_text(r, i, 0);
        size_t k = 0;
        for (; i < n && k < CASES_PER_TXN && strcmp(pg_text(r, i, 0), county) == 0; i++) {
            ids[k++] = pg_text(r, i, 1);
        }
        rc = pg_exec(c, "BEGIN", err, errlen);
        if (rc == FT_OK) {
            rc = eval_batch(c, pack, county, ids, k, now_ms, node, st, err, errlen);
        }
        if (rc == FT_OK) {
            rc = pg_exec(c, "COMMIT", err, errlen);
        } else if (PQtransactionStatus(c) != PQTRANS_IDLE) {
            PQclear(PQexec(c, "ROLLBACK"));
        }
    }
    free(ids);
    PQclear(r);
    return rc;
}

int pgengine_step(PGconn *c, const rulepack_t *pack, int64_t now_ms, const char *node,
                  pgengine_memo_t *memo, pgengine_stats_t *st, char *err, size_t errlen)
{
    uint64_t before = st->entries;
    int rc = catch_up(c, memo, st, err, errlen);
    if (rc == FT_OK && st->entries - before >= ANALYZE_AFTER) {
        /* Many rows at once (a county's first forwarding, a node catching
         * up): the planner's statistics first, so the cases' queries use
         * the index rather than wait for autovacuum to notice. */
        rc = pg_exec(c,
                     "ANALYZE ft.prov_index, ft.prov_case_state, ft.prov_unit_state, ft.prov_acts",
                     err, errlen);
    }
    if (rc == FT_OK) {
        rc = evaluate(c, pack, now_ms, node, st, err, errlen);
    }
    if (rc == FT_OK) {
        /* hook: the units beside cases (pgunits.h) */
        rc = pgunits_evaluate(c, pack, now_ms, node, st, err, errlen);
    }
    return rc;
}
