/* gaps_bench.c: ft-bench-gaps: the gap engine on a loaded hub.
 *
 * Generates CASES cases of RECORDS/CASES records each (default 100 000 cases,
 * 2 000 000 records) from DEVICES devices straight into a hub store (the
 * entries a sync would have committed: the same store_entry_append), then:
 *   1. index: the engine takes every entry into the case index (the path a
 *      running hub follows after sync);
 *   2. first evaluation: every case evaluated, every alert opened (each
 *      state change also appended to a hub log, as in `run`: one AlertEvents
 *      entry per evaluation batch);
 *   3. full re-evaluation: every case marked dirty and evaluated again
 *      (engine_full; nothing changes, which is what a re-check costs);
 *   4. incremental: SAMPLES times, one new record is appended to a random
 *      case and engine_step runs; the latency from append to the case's
 *      alerts being current is measured (median, p99, max), in wall time
 *      and in CPU time.
 * Each row is printed with its goal (issue "the hub core at provincial
 * scale", scaled by the records at another scale), its wall and CPU time,
 * and a ratio to a reference measured in the same run, since the machines
 * are shared: the CPU time of reading every stored entry back and decoding
 * it (store_entries_since + entry_open), and the median latency of one
 * small durable LMDB commit on the same disk (the floor of a step).
 * The entries carry a zero signature: the index never verifies (verification
 * happened at sync, measured by ft-bench-sync-verify), and Ed25519 signing of
 * 2 M entries would add half a minute to the set-up only.
 *
 * usage: ft-bench-gaps --dir DIR [--cases N] [--records N] [--samples N] [--keep]
 */
#include "engine.h"
#include "lmdbx.h"
#include "fsutil.h"
#include "hlc.h"
#include "record.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEVICES 8
#define DAY 86400000LL
#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */

static int dcmp_fwd(const void *a, const void *b);

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    uint8_t id[DEVID_BYTES];
    uint64_t epoch, seq;
} bdev_t;

/* The records of case c, record k (a realistic procedure, repeated). */
static void case_record(uint64_t c, unsigned k, char *json, size_t len)
{
    static const char *const steps[] = {
        "complaint_registered",
        "complaint_decision",
        "initiation_approval",
        "site_inspection",
        "inquiry",
        "evidence_registration",
        "inquiry",
        "survey",
        "leader_approval",
        "decision",
        "service_direct",
        "performance_record",
        "inquiry",
        "evidence_registration",
        "hearing",
        "inquiry",
        "evidence_registration",
        "inquiry",
        "appraisal_opinion",
        "expert_panel",
    };
    const char *type = steps[k % (sizeof steps / sizeof steps[0])];
    Ft__RecordType rt = record_type_parse(type);
    int64_t t = T0 + (int64_t)(c % 300) * DAY + (int64_t)k * 6 * 3600000LL;
    char a[48], b[48], fields[512] = "{";
    rfc3339_format(t, 480, a, sizeof a);
    rfc3339_format(t + 40 * 60000LL, 480, b, sizeof b);
    size_t off = 1;
    const char *const *need = record_type_fields(rt);
    for (unsigned i = 0; need && need[i]; i++) {
        /* Leave a field out now and then, so that the fields rule fires. */
        if ((c + k + i) % 23 == 0) {
            continue;
        }
        off += (size_t)snprintf(fields + off, sizeof fields - off, "%s\"%s\":\"v%u\"",
                                off > 1 ? "," : "", need[i], i);
    }
    snprintf(fields + off, sizeof fields - off, "}");
    char when[160];
    if (record_type_is_activity(rt)) {
        snprintf(when, sizeof when, "\"start\":\"%s\",\"end\":\"%s\"%s", a, b,
                 c % 3 ? ",\"media_unsuitable\":\"bench\"" : "");
    } else {
        snprintf(when, sizeof when, "\"time\":\"%s\"", a);
    }
    snprintf(json, len,
             "{\"type\":\"%s\",\"id\":\"c%llu-%u\",\"case\":\"NDG-%08llu\",\"unit\":\"unit-%llu\","
             "\"officers\":[\"ZF-%03llu\",\"ZF-%03llu\"],\"cause\":\"非法占用耕地\",\"party\":"
             "\"张某\",%s,\"fields\":%s}",
             type, (unsigned long long)c, k, (unsigned long long)c, (unsigned long long)(c % 12),
             (unsigned long long)(c % 97), (unsigned long long)((c + 1) % 97), when, fields);
}

/* Packs one record as a SignedEntry of dev (zero signature) and appends it. */
static int append_record(store_txn_t *t, bdev_t *d, const char *json, uint8_t prev[32])
{
    Ft__Record *rec = NULL;
    char err[200];
    if (record_from_line(json, strlen(json), &rec, err, sizeof err) != FT_OK) {
        fprintf(stderr, "bench record rejected: %s\n%s\n", err, json);
        return FT_EINVAL;
    }
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_RECORD;
    body.record = rec;
    Ft__Entry e = FT__ENTRY__INIT;
    e.device.data = d->id;
    e.device.len = DEVID_BYTES;
    e.epoch = d->epoch;
    e.seq = d->seq + 1;
    e.hlc = (uint64_t)hlc_wall_ms() << 16;
    e.prev_hash.data = prev;
    e.prev_hash.len = 32;
    e.body = &body;
    size_t n = ft__entry__get_packed_size(&e);
    uint8_t *inner = malloc(n);
    uint8_t sig[64] = {0};
    ft__entry__pack(&e, inner);
    Ft__SignedEntry se = FT__SIGNED_ENTRY__INIT;
    se.entry.data = inner;
    se.entry.len = n;
    se.signature.data = sig;
    se.signature.len = sizeof sig;
    size_t sn = ft__signed_entry__get_packed_size(&se);
    uint8_t *raw = malloc(sn);
    ft__signed_entry__pack(&se, raw);
    uint8_t hash[32];
    entry_hash(inner, n, hash);
    int rc = store_entry_append(t, d->id, d->epoch, e.seq, hash, raw, sn);
    if (rc == FT_OK) {
        d->seq = e.seq;
        memcpy(prev, hash, 32);
    }
    free(inner);
    free(raw);
    record_free(&rec);
    return rc;
}

/* CPU time of the process (both cores count): what a phase cost, whatever
 * else the machine was doing. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reference 1, measured in the same run: read every stored entry back in
 * arrival order (LMDB) and decode it (protobuf): what "reading back and
 * decoding every record" costs once, the work an evaluation from the stored
 * entries repeats and the compact form avoids. */
typedef struct {
    uint64_t n, bytes;
} refread_t;

static int ref_one(void *ctx, const store_entry_t *en)
{
    refread_t *r = ctx;
    entry_view_t v;
    if (entry_open(en->raw, en->len, &v) == FT_OK) {
        r->n += v.entry->body != NULL;
        entry_view_free(&v);
    }
    r->bytes += en->len;
    return 0;
}

/* Reference 2: the median latency of one small durable LMDB commit (one
 * row, fsync) on the same disk: an engine step makes its alerts current
 * with a durable commit of the index (and of the hub log when alerts
 * change), so this is its floor. */
static double ref_commit_ms(const char *base, int n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/refcommit", base);
    MDB_env *env = NULL;
    if (lmdbx_open(path, (size_t)64 << 20, 2, &env) != FT_OK) {
        return -1;
    }
    double *lat = calloc((size_t)n, sizeof *lat);
    MDB_dbi dbi = 0;
    for (int i = 0; lat && i < n; i++) {
        double a = mono_s();
        MDB_txn *txn = NULL;
        uint64_t v = (uint64_t)i;
        MDB_val k = {sizeof v, &v}, val = {sizeof v, &v};
        if (mdb_txn_begin(env, NULL, 0, &txn) != 0 || mdb_dbi_open(txn, NULL, 0, &dbi) != 0 ||
            mdb_put(txn, dbi, &k, &val, 0) != 0 || mdb_txn_commit(txn) != 0) {
            free(lat);
            mdb_env_close(env);
            return -1;
        }
        lat[i] = mono_s() - a;
    }
    mdb_env_close(env);
    double med = -1;
    if (lat) {
        qsort(lat, (size_t)n, sizeof *lat, dcmp_fwd);
        med = lat[n / 2] * 1e3;
    }
    free(lat);
    return med;
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int dcmp_fwd(const void *a, const void *b)
{
    return dcmp(a, b);
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    uint64_t cases = 100000, records = 2000000, samples = 1000;
    bool keep = false;
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},     {"cases", required_argument, NULL, 'c'},
        {"records", required_argument, NULL, 'r'}, {"samples", required_argument, NULL, 's'},
        {"keep", no_argument, NULL, 'k'},          {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            dir = optarg;
            break;
        case 'c':
            cases = strtoull(optarg, NULL, 10);
            break;
        case 'r':
            records = strtoull(optarg, NULL, 10);
            break;
        case 's':
            samples = strtoull(optarg, NULL, 10);
            break;
        case 'k':
            keep = true;
            break;
        default:
            fprintf(stderr, "usage: ft-bench-gaps --dir DIR [--cases N] [--records N] "
                            "[--samples N] [--keep]\n");
            return 2;
        }
    }
    if (!dir || cases == 0 || records < cases) {
        fprintf(stderr, "ft-bench-gaps: --dir is required and --records >= --cases\n");
        return 2;
    }
    char base[4096], path[4200];
    snprintf(base, sizeof base, "%s/gaps-bench.%d", dir, (int)getpid());
    snprintf(path, sizeof path, "%s/db", base);
    store_t *store = NULL;
    if (store_open(path, (size_t)32 << 30, &store) != FT_OK) {
        fprintf(stderr, "cannot create the store in %s\n", path);
        return 1;
    }
    keys_t hubkeys;
    devlog_t *hublog = NULL;
    snprintf(path, sizeof path, "%s/hublog", base);
    devlog_opts_t lo = {.map_size = (size_t)8 << 30};
    if (keys_generate(&hubkeys, true) != FT_OK ||
        devlog_open(path, &hubkeys, &lo, &hublog) != FT_OK) {
        fprintf(stderr, "cannot create the hub log\n");
        return 1;
    }
    bdev_t devs[DEVICES];
    uint8_t prev[DEVICES][32];
    memset(prev, 0, sizeof prev);
    store_txn_t *t = NULL;
    if (store_begin(store, true, &t) != FT_OK) {
        return 1;
    }
    for (int i = 0; i < DEVICES; i++) {
        keys_t k;
        if (keys_generate(&k, false) != FT_OK) {
            return 1;
        }
        devid_from_pk(k.sign_pk, devs[i].id);
        devs[i].epoch = 100 + (uint64_t)i;
        devs[i].seq = 0;
        store_device_t sd = {0};
        memcpy(sd.device, devs[i].id, DEVID_BYTES);
        memcpy(sd.sign_pk, k.sign_pk, 32);
        memcpy(sd.transport_pk, k.box_pk, 32);
        snprintf(sd.unit, sizeof sd.unit, "unit-%d", i);
        store_status_t st = {.has_clock_offset = true, .clock_offset_ms = i * 1500};
        if (store_device_put(t, &sd) != FT_OK || store_status_put(t, devs[i].id, &st) != FT_OK) {
            return 1;
        }
    }
    char json[2048];
    uint64_t per_case = records / cases;
    double t0 = mono_s();
    uint64_t n = 0;
    for (uint64_t c = 0; c < cases; c++) {
        for (unsigned k = 0; k < per_case; k++) {
            int d = (int)((c + k) % DEVICES);
            case_record(c, k, json, sizeof json);
            if (append_record(t, &devs[d], json, prev[d]) != FT_OK) {
                return 1;
            }
            if (++n % 20000 == 0) {
                if (store_commit(&t) != FT_OK || store_begin(store, true, &t) != FT_OK) {
                    fprintf(stderr, "store commit failed\n");
                    return 1;
                }
            }
        }
    }
    if (store_commit(&t) != FT_OK) {
        return 1;
    }
    double t_gen = mono_s() - t0;
    printf("generated: %llu cases, %llu records from %d devices in %.1f s\n",
           (unsigned long long)cases, (unsigned long long)n, DEVICES, t_gen);
    fflush(stdout);

    rulepack_t *pack = NULL;
    char err[256];
    if (rules_parse(rules_default_text, "default", &pack, err, sizeof err) != FT_OK) {
        return 1;
    }
    snprintf(path, sizeof path, "%s/index", base);
    engine_opts_t eo = {.store = store, .hublog = hublog, .pack = pack};
    engine_t *eng = NULL;
    if (engine_new(path, (size_t)64 << 30, &eo, &eng) != FT_OK) {
        fprintf(stderr, "cannot open the index\n");
        return 1;
    }
    int64_t now = T0 + 400 * DAY;
    engine_stats_t s1 = {0}, s2 = {0}, s3 = {0};
    /* The references first (the same store, the same disk). */
    refread_t rr = {0};
    double c0 = cpu_s();
    t0 = mono_s();
    if (store_entries_since(store, 0, ref_one, &rr) != FT_OK) {
        fprintf(stderr, "reading the store back failed\n");
        return 1;
    }
    double t_ref = mono_s() - t0, c_ref = cpu_s() - c0;
    double commit_ms = ref_commit_ms(base, 200);
    c0 = cpu_s();
    t0 = mono_s();
    if (engine_catch_up(eng, now, &s1) != FT_OK) {
        fprintf(stderr, "indexing failed\n");
        return 1;
    }
    double t_index = mono_s() - t0, c_index = cpu_s() - c0;
    c0 = cpu_s();
    t0 = mono_s();
    if (engine_step(eng, now, &s2) != FT_OK) {
        fprintf(stderr, "evaluation failed\n");
        return 1;
    }
    double t_first = mono_s() - t0, c_first = cpu_s() - c0;
    c0 = cpu_s();
    t0 = mono_s();
    if (engine_full(eng, now, &s3) != FT_OK) {
        fprintf(stderr, "full re-evaluation failed\n");
        return 1;
    }
    double t_full = mono_s() - t0, c_full = cpu_s() - c0;

    double *lat = calloc(samples ? samples : 1, sizeof *lat);
    double *clat = calloc(samples ? samples : 1, sizeof *clat);
    uint64_t seed = 12345;
    for (uint64_t i = 0; i < samples; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t c = (seed >> 33) % cases;
        int d = (int)(i % DEVICES);
        case_record(c, (unsigned)(per_case + i % 7), json, sizeof json);
        /* a fresh id so that it is a new record */
        char *idp = strstr(json, "\"id\":\"");
        if (idp) {
            idp[6] = 'n';
        }
        double a = mono_s();
        if (store_begin(store, true, &t) != FT_OK ||
            append_record(t, &devs[d], json, prev[d]) != FT_OK || store_commit(&t) != FT_OK) {
            fprintf(stderr, "append failed\n");
            return 1;
        }
        double b = mono_s(), cb = cpu_s();
        if (engine_step(eng, now, NULL) != FT_OK) {
            fprintf(stderr, "incremental step failed\n");
            return 1;
        }
        lat[i] = mono_s() - b;
        clat[i] = cpu_s() - cb;
        (void)a;
    }
    qsort(lat, samples, sizeof *lat, dcmp);
    qsort(clat, samples, sizeof *clat, dcmp);
    size_t open = 0;
    index_txn_t *it = NULL;
    if (index_begin(engine_index(eng), false, &it) == FT_OK) {
        open = (size_t)alerts_last_event(engine_alerts(eng), it);
        index_abort(&it);
    }
    uint64_t hl = 0;
    if (devlog_head(hublog, &hl, NULL) != FT_OK) {
        hl = 0;
    }

    /* Goals (issue "the hub core at provincial scale") are for 100 000 cases
     * / 2 000 000 records; at another scale they are scaled by the records. */
    double scale = (double)n / 2000000.0;
    printf("\nreference: read back and decode every stored entry (%llu entries, %.0f MB): "
           "%.2f s wall, %.2f s CPU\n",
           (unsigned long long)rr.n, (double)rr.bytes / 1e6, t_ref, c_ref);
    printf("reference: one durable LMDB commit on this disk (median of 200): %.2f ms\n", commit_ms);
    printf("\n| step | what | wall | CPU | goal | CPU / read-back reference |\n"
           "|---|---|---:|---:|---:|---:|\n");
    printf("| index | %llu entries taken into the case index | %.1f s | %.1f s | <= %.1f s | "
           "%.2f |\n",
           (unsigned long long)s1.entries, t_index, c_index, 8.0 * scale, c_index / c_ref);
    printf("| first evaluation | %llu units, %llu alert events (also in the hub log) | "
           "%.1f s | %.1f s | <= %.1f s | %.2f |\n",
           (unsigned long long)s2.units, (unsigned long long)s2.events, t_first, c_first,
           20.0 * scale, c_first / c_ref);
    printf("| full re-evaluation | %llu units, %llu alert events (%.0f µs CPU a case) | %.1f s | "
           "%.1f s | <= %.1f s | %.2f |\n",
           (unsigned long long)s3.units, (unsigned long long)s3.events,
           c_full * 1e6 / (double)(s3.units ? s3.units : 1), t_full, c_full, 10.0 * scale,
           c_full / c_ref);
    if (samples) {
        double p99 = lat[(size_t)((double)samples * 0.99)] * 1e3;
        printf("\n| engine step | records | median | p99 | max | goal | p99 / one durable commit |"
               "\n|---|---:|---:|---:|---:|---:|---:|\n");
        printf("| one new record -> its case's alerts current | %llu | %.2f ms | %.2f ms | "
               "%.2f ms | p99 <= 1 ms | %.1f |\n",
               (unsigned long long)samples, lat[samples / 2] * 1e3, p99, lat[samples - 1] * 1e3,
               commit_ms > 0 ? p99 / commit_ms : 0.0);
        printf("| the same, CPU only (without the waits for the disk) | %llu | %.3f ms | "
               "%.3f ms | %.3f ms | | |\n",
               (unsigned long long)samples, clat[samples / 2] * 1e3,
               clat[(size_t)((double)samples * 0.99)] * 1e3, clat[samples - 1] * 1e3);
    }
    printf("\nalert events in total: %zu; hub log entries: %llu\n", open, (unsigned long long)hl);
    free(lat);
    free(clat);
    engine_destroy(&eng);
    rules_destroy(&pack);
    devlog_destroy(&hublog);
    store_destroy(&store);
    keys_wipe(&hubkeys);
    if (!keep) {
        char cmd[4400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", base);
        }
    } else {
        printf("kept: %s\n", base);
    }
    return 0;
}
