/* ft_pgfill: fills a provincial PostgreSQL (schema ft, applied beforehand)
 * with exactly what a county hub's forwarder sends: the county's row (its
 * hub keys), every entry of the county hub's own log and every device entry
 * of its store, each as the exact signed bytes it holds, with its position,
 * time and arrival number, the enrolment rows, and the checkpoints. A test
 * tool, for the provincial node's tests while no forwarder runs beside them.
 *
 * usage: ft_pgfill COUNTY HUB_STATE_DIR POSTGRES_URL
 * The hub must be stopped (its LMDB files are opened). Rows already there
 * are skipped (ON CONFLICT DO NOTHING), so it may run again after the
 * county took in more. */
#include "devlog.h"
#include "entry.h"
#include "keys.h"
#include "store.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    PGconn *c;
    const char *county;
    int err;
    uint64_t n;
} fill_t;

static void be64(uint64_t v, uint8_t out[8])
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

static int run(PGconn *c, const char *sql, int n, const char *const *v, const int *len,
               const int *fmt)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, v, len, fmt, 0);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        fprintf(stderr, "ft_pgfill: %s", PQresultErrorMessage(r));
        PQclear(r);
        return 1;
    }
    PQclear(r);
    return 0;
}

/* One row of ft.entries or ft.hub_entries. */
static int put(fill_t *f, const char *table, const uint8_t *raw, size_t len, uint64_t arrival)
{
    entry_view_t v;
    if (entry_open(raw, len, &v) != FT_OK) {
        fprintf(stderr, "ft_pgfill: an entry of the county does not decode\n");
        return 1;
    }
    uint8_t epoch[8], seq[8], hlc[8], arr[8];
    be64(v.entry->epoch, epoch);
    be64(v.entry->seq, seq);
    be64(v.entry->hlc, hlc);
    be64(arrival, arr);
    const char *kind = entry_body_kind(v.entry->body);
    char sql[512];
    const char *ensure[] = {table, (const char *)hlc};
    int elen[] = {0, 8}, efmt[] = {0, 1};
    int rc =
        run(f->c, "SELECT ft.ensure_month($1, ft.hlc_time($2::bigint))", 2, ensure, elen, efmt);
    if (rc == 0 && arrival) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO ft.%s (device, epoch, seq, at, hlc, county, arrival, kind, raw) "
                 "VALUES ($1, $2, $3, ft.hlc_time($4), $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                 table);
        const char *p[] = {(const char *)v.entry->device.data,
                           (const char *)epoch,
                           (const char *)seq,
                           (const char *)hlc,
                           f->county,
                           (const char *)arr,
                           kind,
                           (const char *)raw};
        int l[] = {DEVID_BYTES, 8, 8, 8, 0, 8, 0, (int)len};
        int fm[] = {1, 1, 1, 1, 0, 1, 0, 1};
        rc = run(f->c, sql, 8, p, l, fm);
    } else if (rc == 0) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO ft.%s (device, epoch, seq, at, hlc, county, kind, raw) "
                 "VALUES ($1, $2, $3, ft.hlc_time($4), $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                 table);
        const char *p[] = {(const char *)v.entry->device.data,
                           (const char *)epoch,
                           (const char *)seq,
                           (const char *)hlc,
                           f->county,
                           kind,
                           (const char *)raw};
        int l[] = {DEVID_BYTES, 8, 8, 8, 0, 0, (int)len};
        int fm[] = {1, 1, 1, 1, 0, 0, 1};
        rc = run(f->c, sql, 7, p, l, fm);
    }
    entry_view_free(&v);
    f->n++;
    return rc;
}

static int hub_row(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    (void)seq;
    fill_t *f = ctx;
    return put(f, "hub_entries", raw, len, 0);
}

static int entry_row(void *ctx, const store_entry_t *e)
{
    fill_t *f = ctx;
    return put(f, "entries", e->raw, e->len, e->arrival);
}

static int enrolment_row(void *ctx, const store_device_t *d)
{
    fill_t *f = ctx;
    const char *p[] = {f->county,
                       (const char *)d->device,
                       d->revoked ? "t" : "f",
                       (const char *)d->sign_pk,
                       (const char *)d->transport_pk,
                       d->unit,
                       d->vehicle};
    int l[] = {0, DEVID_BYTES, 0, 32, 32, 0, 0};
    int fm[] = {0, 1, 0, 1, 1, 0, 0};
    return run(f->c,
               "INSERT INTO ft.enrolments (county, device, revoked, sign_pk, transport_pk, unit, "
               "vehicle, at) VALUES ($1, $2, $3::boolean, $4, $5, $6, $7, now()) "
               "ON CONFLICT DO NOTHING",
               7, p, l, fm);
}

static int checkpoint(fill_t *f, const char *stream, uint64_t pos, uint64_t epoch)
{
    char ps[32], es[32];
    snprintf(ps, sizeof ps, "%lld", (long long)pos);
    snprintf(es, sizeof es, "%lld", (long long)epoch);
    const char *p[] = {f->county, stream, ps, es};
    return run(f->c,
               "INSERT INTO ft.checkpoints (county, stream, position, epoch) VALUES ($1, $2, "
               "$3::bigint, $4::bigint) ON CONFLICT (county, stream) DO UPDATE SET position = "
               "EXCLUDED.position, epoch = EXCLUDED.epoch, updated_at = now()",
               4, p, NULL, NULL);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: ft_pgfill COUNTY HUB_STATE_DIR POSTGRES_URL\n");
        return 2;
    }
    char path[4096];
    keys_t k;
    snprintf(path, sizeof path, "%s/hub.key", argv[2]);
    if (keys_load(&k, path) != FT_OK) {
        fprintf(stderr, "ft_pgfill: cannot load %s\n", path);
        return 1;
    }
    store_t *s = NULL;
    devlog_t *hl = NULL;
    snprintf(path, sizeof path, "%s/db", argv[2]);
    if (store_open(path, 0, &s) != FT_OK) {
        fprintf(stderr, "ft_pgfill: cannot open the store %s\n", path);
        return 1;
    }
    snprintf(path, sizeof path, "%s/hublog", argv[2]);
    if (devlog_open(path, &k, NULL, &hl) != FT_OK) {
        fprintf(stderr, "ft_pgfill: cannot open the hub log %s\n", path);
        return 1;
    }
    PGconn *c = PQconnectdb(argv[3]);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "ft_pgfill: %s", PQerrorMessage(c));
        return 1;
    }
    fill_t f = {.c = c, .county = argv[1]};
    uint8_t dev[DEVID_BYTES];
    devid_from_pk(k.sign_pk, dev);
    const char *p[] = {argv[1], (const char *)dev, (const char *)k.sign_pk, (const char *)k.box_pk,
                       (const char *)k.archive_pk};
    int l[] = {0, DEVID_BYTES, 32, 32, 32};
    int fm[] = {0, 1, 1, 1, 1};
    int rc = run(c, "BEGIN", 0, NULL, NULL, NULL);
    rc = rc ? rc
            : run(c,
                  "INSERT INTO ft.counties (county, hub_device, hub_sign_pk, hub_box_pk, "
                  "hub_archive_pk) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                  5, p, l, fm);
    rc = rc ? rc : devlog_iter(hl, 1, 0, hub_row, &f);
    uint64_t hub_n = f.n;
    store_txn_t *t = NULL;
    if (rc == 0 && store_begin(s, false, &t) == FT_OK) {
        rc = store_device_iter(t, enrolment_row, &f);
        uint64_t count = 0, last = 0;
        if (rc == 0 && store_entry_count(t, &count, &last) != FT_OK) {
            rc = 1;
        }
        store_abort(&t);
        rc = rc ? rc : store_entries_since(s, 0, entry_row, &f);
        uint64_t head = 0;
        uint8_t hash[ENTRY_HASH_BYTES];
        if (rc == 0 && devlog_head(hl, &head, hash) != FT_OK) {
            rc = 1;
        }
        rc = rc ? rc : checkpoint(&f, "entries", last, 0);
        rc = rc ? rc : checkpoint(&f, "hublog", head, devlog_epoch(hl));
    }
    rc = rc ? rc : run(c, "COMMIT", 0, NULL, NULL, NULL);
    if (rc == 0) {
        printf("ft_pgfill: county %s: %llu hub-log entries, %llu device entries\n", argv[1],
               (unsigned long long)hub_n, (unsigned long long)(f.n - hub_n));
    }
    PQfinish(c);
    devlog_destroy(&hl);
    store_destroy(&s);
    keys_wipe(&k);
    return rc ? 1 : 0;
}
