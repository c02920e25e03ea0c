/* pgverify.c: see pgverify.h. */
#include "pgverify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    pverify_t *pv;
    int err;
} feed_t;

static int hublog_row(void *ctx, const PGresult *r)
{
    feed_t *f = ctx;
    size_t len;
    const uint8_t *raw = pg_bytes(r, 0, 2, &len);
    f->err = pverify_hublog(f->pv, (uint64_t)pg_i64(r, 0, 0), (uint64_t)pg_i64(r, 0, 1), raw, len);
    return f->err;
}

static int entry_row(void *ctx, const PGresult *r)
{
    feed_t *f = ctx;
    size_t dlen, len;
    const uint8_t *dev = pg_bytes(r, 0, 0, &dlen);
    uint8_t device[DEVID_BYTES] = {0};
    memcpy(device, dev, dlen < DEVID_BYTES ? dlen : DEVID_BYTES);
    const uint8_t *raw = pg_bytes(r, 0, 3, &len);
    f->err = pverify_entry(f->pv, device, (uint64_t)pg_i64(r, 0, 1), (uint64_t)pg_i64(r, 0, 2), raw,
                           len);
    return f->err;
}

/* The checkpoint of a county's stream: *found false if none. */
static int checkpoint(PGconn *c, const char *county, const char *stream, int64_t *pos,
                      int64_t *epoch, bool *found, char *err, size_t errlen)
{
    const char *p[] = {county, stream};
    PGresult *r = NULL;
    int rc =
        pg_query(c, "SELECT position, epoch FROM ft.checkpoints WHERE county = $1 AND stream = $2",
                 2, p, &r, err, errlen);
    if (rc != FT_OK) {
        return rc;
    }
    *found = PQntuples(r) == 1;
    if (*found) {
        *pos = pg_i64(r, 0, 0);
        *epoch = pg_i64(r, 0, 1);
    }
    PQclear(r);
    return FT_OK;
}

/* Every arrival number 1..checkpoint must be held: the rows a county
 * forwarded that are gone are named by their numbers. */
static int check_arrivals(PGconn *c, pverify_t *pv, const char *county, char *err, size_t errlen)
{
    int64_t pos = 0, ep = 0;
    bool found = false;
    int rc = checkpoint(c, county, "entries", &pos, &ep, &found, err, errlen);
    if (rc != FT_OK || !found || pos <= 0) {
        return rc;
    }
    char pos_text[32];
    snprintf(pos_text, sizeof pos_text, "%" PRId64, pos);
    const char *p[] = {county, pos_text};
    PGresult *r = NULL;
    rc = pg_query(c,
                  "SELECT count(DISTINCT arrival) FROM ft.entries WHERE county = $1 AND "
                  "arrival BETWEEN 1 AND $2::bigint",
                  2, p, &r, err, errlen);
    if (rc != FT_OK) {
        return rc;
    }
    int64_t held = pg_i64(r, 0, 0);
    PQclear(r);
    if (held >= pos) {
        return FT_OK;
    }
    rc = pg_query(c,
                  "SELECT g FROM generate_series(1::bigint, $2::bigint) g WHERE NOT EXISTS "
                  "(SELECT 1 FROM ft.entries e WHERE e.county = $1 AND e.arrival = g) "
                  "ORDER BY g LIMIT 10",
                  2, p, &r, err, errlen);
    if (rc != FT_OK) {
        return rc;
    }
    char list[200] = "";
    size_t off = 0;
    for (int i = 0; i < PQntuples(r) && off < sizeof list; i++) {
        int w =
            snprintf(list + off, sizeof list - off, "%s%" PRId64, i ? ", " : "", pg_i64(r, i, 0));
        off += w > 0 ? (size_t)w : 0;
    }
    char detail[PVERIFY_TEXT_MAX];
    snprintf(detail, sizeof detail,
             "%" PRId64 " of the %" PRId64 " entries the county forwarded %s not in the "
             "database (the county's arrival numbers %s%s): rows were deleted",
             pos - held, pos, pos - held == 1 ? "is" : "are", list,
             pos - held > PQntuples(r) ? ", ..." : "");
    int64_t first = PQntuples(r) ? pg_i64(r, 0, 0) : 0;
    PQclear(r);
    pverify_county_bad(pv, PVERIFY_MISSING_ROWS, (uint64_t)first, detail);
    return FT_OK;
}

/* The hub log must reach its checkpoint. */
static int check_hublog_end(PGconn *c, pverify_t *pv, const char *county, char *err, size_t errlen)
{
    int64_t pos = 0, ep = 0;
    bool found = false;
    int rc = checkpoint(c, county, "hublog", &pos, &ep, &found, err, errlen);
    if (rc != FT_OK || !found || pos <= 0) {
        return rc;
    }
    uint64_t epoch = 0;
    uint64_t last = pverify_hublog_last(pv, &epoch);
    if (epoch == (uint64_t)ep && last >= (uint64_t)pos) {
        return FT_OK;
    }
    char detail[PVERIFY_TEXT_MAX];
    snprintf(detail, sizeof detail,
             "the county hub's log (epoch %" PRIu64 ") was forwarded up to seq %" PRId64
             " but the database holds it only up to %" PRIu64 ": entries were deleted",
             (uint64_t)ep, pos, epoch == (uint64_t)ep ? last : 0);
    pverify_county_bad(pv, PVERIFY_MISSING_ROWS, epoch == (uint64_t)ep ? last + 1 : 1, detail);
    return FT_OK;
}

static int verify_county(PGconn *c, pverify_t *pv, const char *county, const uint8_t *pk,
                         bool damaged, char *err, size_t errlen)
{
    int rc = pverify_county(pv, county, pk);
    if (rc == FT_OK && damaged) {
        pverify_county_bad(pv, PVERIFY_MALFORMED, 0,
                           "the county's registration is damaged: its hub signing key is not "
                           "32 bytes or is not the key of its hub device ID, so nothing it "
                           "forwarded can be verified");
    }
    feed_t f = {.pv = pv};
    const char *p[] = {county};
    if (rc == FT_OK) {
        rc = pg_stream(c,
                       "SELECT epoch, seq, raw FROM ft.hub_entries WHERE county = $1 "
                       "ORDER BY epoch, seq, at",
                       1, p, hublog_row, &f, err, errlen);
    }
    if (rc == FT_OK) {
        rc = check_hublog_end(c, pv, county, err, errlen);
    }
    if (rc == FT_OK) {
        rc = pg_stream(c,
                       "SELECT device, epoch, seq, raw FROM ft.entries WHERE county = $1 "
                       "ORDER BY device, epoch, seq, at",
                       1, p, entry_row, &f, err, errlen);
    }
    if (rc == FT_OK) {
        rc = check_arrivals(c, pv, county, err, errlen);
    }
    if (rc == FT_OK) {
        rc = pverify_end(pv);
    }
    if (rc == FT_ENOMEM) {
        snprintf(err, errlen, "out of memory");
    }
    return rc;
}

int pgverify_run(PGconn *c, pverify_report_fn report, void *ctx, pverify_stats_t *st, char *err,
                 size_t errlen)
{
    memset(st, 0, sizeof *st);
    PGresult *r = NULL;
    int rc = pg_query(c, "SELECT to_regclass('ft.entries') IS NOT NULL", 0, NULL, &r, err, errlen);
    if (rc != FT_OK) {
        return rc;
    }
    bool have = pg_bool(r, 0, 0);
    PQclear(r);
    if (!have) {
        snprintf(err, errlen,
                 "the database holds no provincial tables (schema ft): is this the province's "
                 "database, and has a county forwarded to it? (docs/province.md)");
        return FT_ENOTFOUND;
    }
    rc = pg_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen);
    if (rc != FT_OK) {
        return rc;
    }
    rc = pg_query(c, "SELECT county, hub_device, hub_sign_pk FROM ft.counties ORDER BY county", 0,
                  NULL, &r, err, errlen);
    pverify_t *pv = NULL;
    if (rc == FT_OK) {
        rc = pverify_new(report, ctx, &pv);
        if (rc != FT_OK) {
            snprintf(err, errlen, "out of memory");
        }
    }
    for (int i = 0; rc == FT_OK && i < PQntuples(r); i++) {
        const char *county = pg_text(r, i, 0);
        size_t dl, kl;
        const uint8_t *dev = pg_bytes(r, i, 1, &dl);
        const uint8_t *pk = pg_bytes(r, i, 2, &kl);
        uint8_t id[DEVID_BYTES] = {0};
        if (kl == 32) {
            devid_from_pk(pk, id);
        }
        /* An unusable hub key: an all-zero key, which verifies nothing. */
        static const uint8_t none[32];
        bool damaged = kl != 32 || dl != DEVID_BYTES || memcmp(id, dev, DEVID_BYTES) != 0;
        rc = verify_county(c, pv, county, damaged ? none : pk, damaged, err, errlen);
    }
    PQclear(r);
    if (pv) {
        pverify_stats(pv, st);
    }
    pverify_destroy(&pv);
    PQclear(PQexec(c, "COMMIT")); /* read-only: nothing to keep */
    return rc;
}
