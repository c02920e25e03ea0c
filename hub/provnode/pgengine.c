/* pgengine.c: the provincial gap engine (see pgengine.h). */
#include "pgengine.h"
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
    PGresult *r = PQexec(c, "SELECT value FROM ft.meta WHERE name = 'provnode_schema_version'");
    bool have = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                strcmp(PQgetvalue(r, 0, 0), PGENGINE_SCHEMA_VERSION) == 0;
    PQclear(r);
    return have ? FT_OK : pg_exec(c, pgengine_schema_sql, err, errlen);
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

static void i64_text(int64_t v, char out[24])
{
    snprintf(out, 24, "%" PRId64, v);
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
    strset_t officers;  /* of media and checkouts taken in: their cases change too */
    strset_t recorders; /* idem */
    strset_t media_ids; /* of clips taken in: the cases citing them change */
    pgengine_stats_t *st;
    char *err;
    size_t errlen;
} catch_t;

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
            for (size_t i = 0; i < no; i++) {
                set_add(&ct->officers, o[i]);
            }
            for (size_t i = 0; i < nr; i++) {
                set_add(&ct->recorders, rc[i]);
            }
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
        set_add(&ct->officers, cut_o);
        set_add(&ct->recorders, cut_r);
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
    if (off.oom || rcd.oom || cites.oom || ct->cases.oom || ct->officers.oom || ct->recorders.oom ||
        ct->media_ids.oom) {
        free(off.p);
        free(rcd.p);
        free(cites.p);
        return FT_ENOMEM;
    }
    char ks[24], ts[24];
    i64_text(kind, ks);
    i64_text(rtype, ts);
    /* device, epoch, seq, at, arrival as they came (binary) */
    const char *p[] = {ct->county,
                       PQgetvalue(r, row, 0),
                       PQgetvalue(r, row, 1),
                       PQgetvalue(r, row, 2),
                       PQgetvalue(r, row, 3),
                       PQgetvalue(r, row, 4),
                       ks,
                       ts,
                       case_id,
                       unit,
                       off.p,
                       rcd.p,
                       media_id,
                       cites.p};
    int l[] = {0,
               PQgetlength(r, row, 0),
               PQgetlength(r, row, 1),
               PQgetlength(r, row, 2),
               PQgetlength(r, row, 3),
               PQgetlength(r, row, 4),
               0,
               0,
               0,
               0,
               0,
               0,
               0,
               0};
    int f[] = {0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    /* its month's partition first (ft.prov_month makes it once) */
    PGresult *res = PQexecParams(ct->c, "SELECT ft.prov_month('prov_index', $1::timestamptz)", 1,
                                 NULL, p + 4, l + 4, f + 4, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(ct->err, ct->errlen, "PostgreSQL: %s", PQresultErrorMessage(res));
        PQclear(res);
        free(off.p);
        free(rcd.p);
        free(cites.p);
        return FT_EIO;
    }
    PQclear(res);
    res = PQexecParams(
        ct->c,
        "INSERT INTO ft.prov_index (county, device, epoch, seq, at, arrival, kind, rtype, case_id, "
        "unit, officers, recorders, media_id, cites) VALUES ($1, $2::bytea, $3::bigint, "
        "$4::bigint, $5::timestamptz, $6::bigint, $7::smallint, $8::integer, $9, $10, "
        "$11::text[], $12::text[], $13, $14::text[]) ON CONFLICT DO NOTHING",
        14, NULL, p, l, f, 1);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? FT_OK : FT_EIO;
    if (rc != FT_OK) {
        snprintf(ct->err, ct->errlen, "PostgreSQL: %s", PQresultErrorMessage(res));
    }
    PQclear(res);
    free(off.p);
    free(rcd.p);
    free(cites.p);
    return rc;
}

/* Writes the heads that moved and marks the cases the batch changed. */
static int finish_batch(catch_t *ct)
{
    int rc = FT_OK;
    for (size_t i = 0; rc == FT_OK && i < ct->n_heads; i++) {
        head_t *h = &ct->heads[i];
        if (!h->changed) {
            continue;
        }
        char ep[24], sq[24], bl[24];
        i64_text((int64_t)h->epoch, ep);
        i64_text((int64_t)h->seq, sq);
        i64_text((int64_t)h->blocked, bl);
        const char *p[] = {ct->county, (const char *)h->device, ep, sq, (const char *)h->hash, bl};
        int l[] = {0, DEVID_BYTES, 0, 0, ENTRY_HASH_BYTES, 0};
        int f[] = {0, 1, 0, 0, 1, 0};
        PGresult *res = PQexecParams(
            ct->c,
            "INSERT INTO ft.prov_heads (county, device, epoch, seq, hash, blocked_seq) VALUES "
            "($1, $2::bytea, $3::bigint, $4::bigint, $5::bytea, $6::bigint) ON CONFLICT (county, "
            "device, epoch) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, "
            "blocked_seq = EXCLUDED.blocked_seq, updated_at = now()",
            6, NULL, p, l, f, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            snprintf(ct->err, ct->errlen, "PostgreSQL: %s", PQresultErrorMessage(res));
            rc = FT_EIO;
        }
        PQclear(res);
        h->changed = false;
    }
    pg_buf_t cases = {0}, offs = {0}, recs = {0}, mids = {0};
    pg_text_array(&cases, ct->cases.s, ct->cases.n);
    pg_text_array(&offs, ct->officers.s, ct->officers.n);
    pg_text_array(&recs, ct->recorders.s, ct->recorders.n);
    pg_text_array(&mids, ct->media_ids.s, ct->media_ids.n);
    if (cases.oom || offs.oom || recs.oom || mids.oom) {
        rc = rc == FT_OK ? FT_ENOMEM : rc;
    }
    if (rc == FT_OK) {
        /* In case order, the order in which evaluators lock these rows
         * (evaluate()), so that the two never wait for each other in a
         * cycle. The cases of the entries, and those whose records share an
         * officer or a recorder with a clip or a checkout taken in (or with
         * an officer who checked out such a recorder): their media may have
         * changed. Marking too many costs an evaluation, never an alert. */
        const char *p[] = {ct->county, cases.p, offs.p, recs.p, mids.p};
        PGresult *res = PQexecParams(
            ct->c,
            "INSERT INTO ft.prov_case_state (county, case_id) "
            "SELECT $1, c FROM (SELECT unnest($2::text[]) AS c UNION "
            "SELECT i.case_id FROM ft.prov_index i WHERE i.county = $1 AND i.kind = 1 AND "
            "i.case_id <> '' AND (i.recorders && $4::text[] OR i.officers && $3::text[] OR "
            "i.cites && $5::text[] OR "
            "i.officers && ARRAY(SELECT unnest(k.officers) FROM ft.prov_index k WHERE "
            "k.county = $1 AND k.rtype IN (27, 28) AND k.recorders && $4::text[]))) s "
            "WHERE c <> '' ORDER BY c ON CONFLICT (county, case_id) DO UPDATE SET changes = "
            "ft.prov_case_state.changes + 1",
            5, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            snprintf(ct->err, ct->errlen, "PostgreSQL: %s", PQresultErrorMessage(res));
            rc = FT_EIO;
        }
        PQclear(res);
    }
    if (rc == FT_OK) {
        /* hook: caseless records and media of the batch (pgunits.h) */
        rc = pgunits_taken_in(ct->c, ct->county, ct->err, ct->errlen);
    }
    if (rc == FT_OK) {
        /* hook: justification records of the batch (pgjustify.h) */
        rc = pgjustify_taken_in(ct->c, ct->county, ct->err, ct->errlen);
    }
    free(cases.p);
    free(offs.p);
    free(recs.p);
    free(mids.p);
    set_free(&ct->cases);
    set_free(&ct->officers);
    set_free(&ct->recorders);
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
        i64_text((int64_t)k->hub_epoch, ep);
        i64_text((int64_t)k->hub_seq, sq);
        i64_text((int64_t)k->from_arrival, fr);
        i64_text(k->offset_ms, of);
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
            "ANY(j.cites)) OR j.officers && ARRAY(SELECT unnest(k.officers) FROM ft.prov_index "
            "k WHERE k.county = $1 AND k.rtype IN (27, 28) AND k.recorders && a.recorders))) s "
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
            rc = pg_query(
                ct->c,
                "SELECT e.device, e.epoch, e.seq, e.at, e.arrival, e.raw FROM ft.entries e "
                "LEFT JOIN ft.prov_heads h ON h.county = e.county AND h.device = e.device AND "
                "h.epoch = e.epoch WHERE e.county = $1 AND e.seq > coalesce(h.seq, 0) AND "
                "coalesce(h.blocked_seq, 0) = 0 ORDER BY e.device, e.epoch, e.seq, e.at "
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
        set_free(&ct.cases);
        set_free(&ct.officers);
        set_free(&ct.recorders);
        set_free(&ct.media_ids);
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

/* The rows of one case's input (results kept until the case is done). */
typedef struct {
    PGresult *res[3];
    int n_res;
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
    for (int i = 0; i < cl->n_res; i++) {
        PQclear(cl->res[i]);
    }
    free(cl->in);
    free(cl->views);
    free(cl->refs);
    memset(cl, 0, sizeof *cl);
}

/* Columns of a case query: device, epoch, seq, arrival, unit, hlc, raw, and
 * the clock offset the county applied to the entry (ft.prov_offset). */
#define CASE_COLS                                                                                  \
    "SELECT i.device, i.epoch, i.seq, i.arrival, i.unit, e.hlc, e.raw, "                           \
    "ft.prov_offset(i.county, i.device, i.arrival) FROM ft.prov_index i "                          \
    "JOIN ft.entries e ON e.device = i.device AND e.epoch = i.epoch AND e.seq = i.seq AND "        \
    "e.at = i.at WHERE i.county = $1 AND "

/* Adds the rows of r to cl (skipping entries already in it). */
static int take_rows(caseload_t *cl, PGresult *r)
{
    cl->res[cl->n_res++] = r;
    for (int i = 0; i < PQntuples(r); i++) {
        uint64_t arrival = (uint64_t)pg_i64(r, i, 3);
        bool dup = false;
        for (size_t k = 0; k < cl->n && !dup; k++) {
            dup = cl->in[k].order == arrival;
        }
        if (dup) {
            continue;
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
        const uint8_t *raw = pg_bytes(r, i, 6, &len);
        const uint8_t *dev = pg_bytes(r, i, 0, &dl);
        entry_view_t *v = &cl->views[cl->n];
        if (dl != DEVID_BYTES || entry_open(raw, len, v) != FT_OK) {
            continue; /* it verified when it was taken in; a row changed since: verify says */
        }
        gapinput_entry_t *g = &cl->in[cl->n];
        memset(g, 0, sizeof *g);
        char id[DEVID_TEXT_SIZE];
        devid_format(dev, id);
        snprintf(cl->refs[cl->n], sizeof cl->refs[cl->n], "%s/%llu/%llu", id,
                 (unsigned long long)pg_i64(r, i, 1), (unsigned long long)pg_i64(r, i, 2));
        g->order = arrival;
        g->logged_ms = (int64_t)hlc_ms((uint64_t)pg_i64(r, i, 5));
        g->offset_ms = pg_i64(r, i, 7);
        g->unit = pg_text(r, i, 4);
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
        cl->n++;
    }
    return FT_OK;
}

static int by_order(const void *a, const void *b)
{
    const gapinput_entry_t *x = a, *y = b;
    return (x->order > y->order) - (x->order < y->order);
}

/* Loads case_id of county: its records, the media that may document them,
 * and the checkouts that name those media's officers. */
static int load_case(PGconn *c, const char *county, const char *case_id, caseload_t *cl, char *err,
                     size_t errlen)
{
    const char *p2[] = {county, case_id};
    PGresult *r = NULL;
    int rc = pg_query(c, CASE_COLS "i.case_id = $2 AND i.kind = 1", 2, p2, &r, err, errlen);
    if (rc != FT_OK) {
        return rc;
    }
    rc = take_rows(cl, r);
    if (rc != FT_OK) {
        return rc;
    }
    strset_t offs = {0}, recs = {0}, cited = {0};
    for (size_t i = 0; i < cl->n; i++) {
        const Ft__Record *rec = cl->in[i].rec;
        for (size_t k = 0; rec && k < rec->n_media; k++) {
            set_add(&cited, rec->media[k]);
        }
        for (size_t k = 0; rec && k < rec->n_officers; k++) {
            set_add(&offs, rec->officers[k]);
        }
        for (size_t k = 0; rec && k < rec->n_recorders; k++) {
            set_add(&recs, rec->recorders[k]);
        }
    }
    pg_buf_t o = {0}, rr = {0}, ci = {0};
    pg_text_array(&o, offs.s, offs.n);
    pg_text_array(&rr, recs.s, recs.n);
    pg_text_array(&ci, cited.s, cited.n);
    rc = offs.oom || recs.oom || cited.oom || o.oom || rr.oom || ci.oom ? FT_ENOMEM : FT_OK;
    set_free(&offs);
    set_free(&recs);
    set_free(&cited);
    const char *p5[] = {county, case_id, o.p, rr.p, ci.p};
    if (rc == FT_OK) {
        /* the media that may document the records (gaps_media_links decides
         * which do): tied to the case, cited by ID, sharing an officer or a
         * recorder, or of a recorder one of the officers checked out */
        rc = pg_query(c,
                      CASE_COLS "i.kind = 2 AND (i.case_id = $2 OR i.officers && $3::text[] OR "
                                "i.recorders && $4::text[] OR i.media_id = ANY($5::text[]) OR "
                                "i.recorders && ARRAY(SELECT unnest(k.recorders) FROM "
                                "ft.prov_index k WHERE k.county = $1 AND k.rtype IN (27, 28) AND "
                                "k.officers && $3::text[]))",
                      5, p5, &r, err, errlen);
        if (rc == FT_OK) {
            rc = take_rows(cl, r);
        }
    }
    if (rc == FT_OK) {
        /* every checkout of those media's recorders */
        strset_t mrec = {0};
        for (size_t i = 0; i < cl->n; i++) {
            if (cl->in[i].media) {
                char cut[GAPINPUT_TEXT];
                utf8_copy(cut, sizeof cut, cl->in[i].media->recorder);
                set_add(&mrec, cut);
            }
        }
        pg_buf_t m = {0};
        pg_text_array(&m, mrec.s, mrec.n);
        const char *pm[] = {county, m.p};
        rc = mrec.oom || m.oom ? FT_ENOMEM
                               : pg_query(c,
                                          CASE_COLS "i.kind = 1 AND i.rtype IN (27, 28) AND "
                                                    "i.recorders && $2::text[]",
                                          2, pm, &r, err, errlen);
        if (rc == FT_OK) {
            rc = take_rows(cl, r);
        }
        set_free(&mrec);
        free(m.p);
    }
    free(o.p);
    free(rr.p);
    free(ci.p);
    if (rc == FT_OK) {
        /* the county index's order: arrival (supersedes and identities follow it) */
        entry_view_t *views = cl->views;
        size_t n = cl->n;
        gapinput_entry_t *in2 = malloc((n ? n : 1) * sizeof *in2);
        entry_view_t *v2 = malloc((n ? n : 1) * sizeof *v2);
        char(*r2)[64] = malloc((n ? n : 1) * sizeof *r2);
        if (!in2 || !v2 || !r2) {
            free(in2);
            free(v2);
            free(r2);
            snprintf(err, errlen, "out of memory");
            return FT_ENOMEM;
        }
        /* sort the entries by arrival, carrying each one's old index in ref */
        for (size_t i = 0; i < n; i++) {
            in2[i] = cl->in[i];
            in2[i].ref = (const char *)(uintptr_t)i;
        }
        qsort(in2, n, sizeof *in2, by_order);
        for (size_t i = 0; i < n; i++) {
            size_t old = (size_t)(uintptr_t)in2[i].ref;
            v2[i] = views[old];
            memcpy(r2[i], cl->refs[old], sizeof r2[i]);
            in2[i].ref = r2[i];
        }
        free(cl->in);
        free(cl->views);
        free(cl->refs);
        cl->in = in2;
        cl->views = v2;
        cl->refs = r2;
        cl->cap = n;
    }
    if (rc == FT_ENOMEM) {
        snprintf(err, errlen, "out of memory");
    }
    return rc;
}

/* The alert's current state in the events (ALERT_NONE if none). */
typedef struct {
    char id[17];
    alert_state state;
    bool integrity;
    bool seen; /* raised now */
} current_t;

static int write_event(PGconn *c, const char *county, const char *case_id, const char *unit,
                       const char *node, int64_t now_ms, const gap_alert_t *g, const char *alert_id,
                       const char *rule, const char *kind, const char *article,
                       const char *severity, alert_state state, char *err, size_t errlen)
{
    char now_text[24], due[24];
    i64_text(now_ms, now_text);
    i64_text(g ? g->at_ms : now_ms, due);
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
                       node};
    /* (the partition of now's month was made when the evaluation began) */
    PGresult *r = PQexecParams(
        c,
        "INSERT INTO ft.prov_alert_events (at, county, case_id, unit, alert_id, rule, kind, "
        "article, severity, subject, detail, state, due_at_ms, node) VALUES "
        "(to_timestamp($1::bigint / 1000.0), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
        "$13::bigint, $14)",
        14, NULL, p, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? FT_OK : FT_EIO;
    if (rc != FT_OK) {
        snprintf(err, errlen, "PostgreSQL: %s", PQresultErrorMessage(r));
    }
    PQclear(r);
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

/* Makes the case's alerts equal to ga (in the open transaction). */
static int apply_alerts(PGconn *c, const char *county, const char *case_id, const char *node,
                        int64_t now_ms, const gapinput_t *gi, const gap_alerts_t *ga,
                        uint64_t *events, char *err, size_t errlen)
{
    const char *p[] = {county, case_id};
    PGresult *r = NULL;
    int rc = pg_query(c,
                      "SELECT DISTINCT ON (alert_id) alert_id, state, kind, rule, article, "
                      "severity, unit FROM ft.prov_alert_events WHERE county = $1 AND case_id = "
                      "$2 ORDER BY alert_id, event_no DESC",
                      2, p, &r, err, errlen);
    if (rc != FT_OK) {
        return rc;
    }
    int n = PQntuples(r);
    current_t *cur = calloc(n ? (size_t)n : 1, sizeof *cur);
    if (!cur) {
        PQclear(r);
        snprintf(err, errlen, "out of memory");
        return FT_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        snprintf(cur[i].id, sizeof cur[i].id, "%s", pg_text(r, i, 0));
        cur[i].state = alert_state_parse(pg_text(r, i, 1));
        cur[i].integrity = strcmp(pg_text(r, i, 2), "integrity") == 0;
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
            if (strcmp(cur[i].id, g->id) == 0) {
                from = cur[i].state;
                cur[i].seen = true;
            }
        }
        alert_facts_t facts = {.integrity = g->rule->kind == RULE_INTEGRITY};
        alert_state next;
        if (alert_transition(from, ALERT_RAISED, &facts, &next) == ALERT_MOVE) {
            rc = write_event(c, county, case_id, subject_unit(gi, g->subject), node, now_ms, g,
                             g->id, g->rule->id, rule_kind_name(g->rule->kind), g->article,
                             rule_severity_name(g->rule->severity), next, err, errlen);
            (*events)++;
        }
    }
    for (int i = 0; rc == FT_OK && i < n; i++) {
        if (cur[i].seen) {
            continue;
        }
        alert_facts_t facts = {.integrity = cur[i].integrity};
        alert_state next;
        if (alert_transition(cur[i].state, ALERT_GONE, &facts, &next) == ALERT_MOVE) {
            rc = write_event(c, county, case_id, pg_text(r, i, 6), node, now_ms, NULL, cur[i].id,
                             pg_text(r, i, 3), pg_text(r, i, 2), pg_text(r, i, 4), pg_text(r, i, 5),
                             next, err, errlen);
            (*events)++;
        }
    }
    free(cur);
    PQclear(r);
    return rc;
}

/* Evaluates one case under its lock, in the open transaction (the lock is
 * held until it ends); a case another node holds is counted and left. */
static int eval_case(PGconn *c, const rulepack_t *pack, const char *county, const char *case_id,
                     int64_t now_ms, const char *node, pgengine_stats_t *st, char *err,
                     size_t errlen)
{
    char key[600];
    snprintf(key, sizeof key, "%s/%s", county, case_id);
    char now_text[24];
    i64_text(now_ms, now_text);
    const char *p4[] = {key, county, case_id, now_text};
    PGresult *r = NULL;
    /* The case's lock, then (only when held: the subquery runs after it in
     * this one statement) its state as it is now: another node may have
     * evaluated it since it was listed. */
    int rc = pg_query(c,
                      "SELECT l.got, s.changes, s.due FROM (SELECT "
                      "pg_try_advisory_xact_lock(7400163, hashtext($1)) AS got) l LEFT JOIN "
                      "LATERAL (SELECT changes, changes > evaluated OR coalesce(next_due_ms <= "
                      "$4::bigint, false) AS due FROM ft.prov_case_state WHERE l.got AND "
                      "county = $2 AND case_id = $3) s ON true",
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
    caseload_t cl = {0};
    gapinput_t *g = NULL;
    gapinput_case_t gc = {0};
    gap_alerts_t ga = {0};
    if (rc == FT_OK && due) {
        rc = load_case(c, county, case_id, &cl, err, errlen);
        if (rc == FT_OK) {
            rc = gapinput_new(cl.in, cl.n, NULL, 0, &g);
        }
        if (rc == FT_OK) {
            rc = gapinput_case(g, case_id, &gc);
        }
        if (rc == FT_OK) {
            rc = gaps_eval_case(pack, &gc.c, now_ms, &ga);
        }
        if (rc == FT_ENOMEM) {
            snprintf(err, errlen, "out of memory");
        }
        if (rc == FT_OK) {
            rc = apply_alerts(c, county, case_id, node, now_ms, g, &ga, &st->events, err, errlen);
        }
        if (rc == FT_OK) {
            /* hook: justifications of its alerts (pgjustify.h) */
            rc = pgjustify_apply(c, county, case_id, "", node, now_ms, &st->events, err, errlen);
        }
        if (rc == FT_OK) {
            int64_t next = gaps_next_deadline(pack, &gc.c, now_ms);
            char ch[24], nx[24];
            i64_text(changes, ch);
            i64_text(next, nx);
            const char *p[] = {county, case_id, ch, next == INT64_MAX ? NULL : nx, node};
            rc = pg_query(c,
                          "UPDATE ft.prov_case_state SET evaluated = $3::bigint, next_due_ms = "
                          "$4::bigint, evaluated_at = now(), evaluated_by = $5 WHERE county = "
                          "$1 AND case_id = $2",
                          5, p, &r, err, errlen);
            PQclear(r);
        }
        st->cases += rc == FT_OK;
    }
    gap_alerts_free(&ga);
    gapinput_case_free(&gc);
    gapinput_destroy(&g);
    caseload_free(&cl);
    return rc;
}

static int evaluate(PGconn *c, const rulepack_t *pack, int64_t now_ms, const char *node,
                    pgengine_stats_t *st, char *err, size_t errlen)
{
    char now_text[24];
    i64_text(now_ms, now_text);
    const char *p[] = {now_text};
    PGresult *r = NULL;
    int rc = pg_query(c,
                      "SELECT county, case_id FROM ft.prov_case_state WHERE changes > evaluated "
                      "OR next_due_ms <= $1::bigint ORDER BY county, case_id",
                      1, p, &r, err, errlen);
    int n = rc == FT_OK ? PQntuples(r) : 0;
    if (n > 0) {
        /* the partition of now's month, for this step's alert events */
        PGresult *m = NULL;
        rc = pg_query(c,
                      "SELECT ft.prov_month('prov_alert_events', to_timestamp($1::bigint / "
                      "1000.0))",
                      1, p, &m, err, errlen);
        PQclear(m);
    }
    /* CASES_PER_TXN cases a transaction: one durable commit for them all
     * (their locks are held until it); another node meanwhile takes the
     * cases this one does not hold. */
    for (int i = 0; rc == FT_OK && i < n; i += CASES_PER_TXN) {
        rc = pg_exec(c, "BEGIN", err, errlen);
        for (int k = i; rc == FT_OK && k < n && k < i + CASES_PER_TXN; k++) {
            rc = eval_case(c, pack, pg_text(r, k, 0), pg_text(r, k, 1), now_ms, node, st, err,
                           errlen);
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

int pgengine_step(PGconn *c, const rulepack_t *pack, int64_t now_ms, const char *node,
                  pgengine_memo_t *memo, pgengine_stats_t *st, char *err, size_t errlen)
{
    uint64_t before = st->entries;
    int rc = catch_up(c, memo, st, err, errlen);
    if (rc == FT_OK && st->entries - before >= ANALYZE_AFTER) {
        /* Many rows at once (a county's first forwarding, a node catching
         * up): the planner's statistics first, so the cases' queries use
         * the index rather than wait for autovacuum to notice. */
        rc = pg_exec(c, "ANALYZE ft.prov_index, ft.prov_case_state", err, errlen);
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
