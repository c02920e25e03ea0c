/* log_bench.c: ft-bench-log, how fast the device log appends signed entries
 * compared with how fast this machine can sign at all.
 *
 * Every entry costs one Ed25519 signature (entry_seal), so the sign rate is
 * the ceiling of the append rate; the ratio shows how much of an append is
 * signing and how much is serialisation, LMDB and the durable commit. Each
 * row runs for about --seconds:
 *   sign          crypto_sign_ed25519_detached of a 32-byte hash
 *   append, 1     devlog_append1: one durable LMDB transaction per entry
 *   append, N     devlog_begin, N x devlog_append, devlog_commit (N = 100, 1000)
 *   import path   devlog_append_record with a fresh `id` each, 512 per
 *                 transaction: what `fieldtrail-edge import` does (adds the
 *                 id index and the record's content hash)
 *   verify        devlog_verify over every entry the rows above appended
 * The body of every entry is one typical record (BENCH_RECORD), parsed once
 * with record_from_line. The log lives in a fresh directory under --dir
 * (default $TMPDIR or /tmp), removed at the end, also after Ctrl-C.
 * The durable rows depend on the file system's fsync: run it on the disk the
 * edge will use (ops/bench-log.sh uses the build tree), not on tmpfs.
 */
#include "devlog.h"
#include "error.h"
#include "keys.h"
#include "record.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* A site inspection as a case-management system sends it (cf. ops/sample-records.jsonl). */
#define BENCH_RECORD                                                                                                 \
    "{\"type\":\"site_inspection\",\"id\":\"ndg031-04\",\"case\":\"NDG-2026-031\","                                  \
    "\"cause\":\"非法占用耕地建房\",\"party\":\"张某\",\"unit\":\"南大港产业园区自然资源所\"," \
    "\"start\":\"2026-03-02T14:30:00+08:00\",\"end\":\"2026-03-02T15:25:00+08:00\","                                 \
    "\"time\":\"2026-03-02T15:30:00+08:00\",\"officers\":[\"ZF-0107\",\"ZF-0112\"],"                                 \
    "\"recorders\":[\"DSJ-0031\",\"DSJ-0032\"],\"location\":{\"lat\":38.47215,\"lon\":117.51368},"                   \
    "\"media\":[\"DSJ-0031/20260302_143012.MP4\",\"DSJ-0032/20260302_143120.MP4\"],"                                 \
    "\"fields\":{\"record_no\":\"XC-2026-031-01\",\"present\":[\"张某\",\"李某（村委会主任）\"]}}"

/* Batch sizes of the batched append rows, and of the import-path row. */
static const unsigned bench_batches[] = {100, 1000};
#define BENCH_IMPORT_BATCH 512
#define BENCH_MAP_SIZE ((size_t)8 << 30)

/* Set by SIGINT/SIGTERM: every loop stops early and the directory is removed. */
static volatile sig_atomic_t bench_stop;

/* One measured row. */
typedef struct {
    const char *what; /* row label */
    double count;     /* operations done */
    double seconds;   /* time they took */
    int err;          /* FT_OK, or why the row stopped */
} bench_row_t;

/* Everything a run needs. */
typedef struct {
    double seconds;   /* target duration of one row */
    devlog_t *log;    /* the log under test */
    Ft__Record *rec;  /* the parsed record */
    Ft__Body body;    /* body wrapping rec */
    uint64_t next_id; /* counter for fresh ids on the import path */
} bench_t;

static void on_signal(int sig)
{
    (void)sig;
    bench_stop = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: ft-bench-log [--seconds N] [--dir DIR]\n\n"
                 "Measures Ed25519 signatures per second, signed entries appended per second\n"
                 "to a device log (one durable transaction per entry, and batched), the ratio\n"
                 "of each to the sign rate, and the verify rate.\n"
                 "  --seconds N   duration of each measurement (default 1)\n"
                 "  --dir DIR     where to create the temporary log (default $TMPDIR or /tmp);\n"
                 "                use the disk the edge will use, not tmpfs\n");
}

static bench_row_t bench_sign(const bench_t *b)
{
    bench_row_t row = {.what = "Ed25519 sign, 32-byte hash"};
    uint8_t pk[crypto_sign_ed25519_PUBLICKEYBYTES], sk[crypto_sign_ed25519_SECRETKEYBYTES];
    uint8_t hash[32], sig[crypto_sign_ed25519_BYTES];
    crypto_sign_ed25519_keypair(pk, sk);
    randombytes_buf(hash, sizeof hash);
    double t0 = now_s(), t = t0;
    while (t - t0 < b->seconds && !bench_stop) {
        if (crypto_sign_ed25519_detached(sig, NULL, hash, sizeof hash, sk) != 0) {
            row.err = FT_ECRYPTO;
            break;
        }
        hash[0] ^= sig[0]; /* each signature over a different hash */
        row.count++;
        t = now_s();
    }
    row.seconds = now_s() - t0;
    sodium_memzero(sk, sizeof sk);
    return row;
}

static bench_row_t bench_append1(const bench_t *b)
{
    bench_row_t row = {.what = "append, 1 entry per txn"};
    double t0 = now_s(), t = t0;
    while (t - t0 < b->seconds && !bench_stop) {
        row.err = devlog_append1(b->log, &b->body, NULL);
        if (row.err != FT_OK) {
            break;
        }
        row.count++;
        t = now_s();
    }
    row.seconds = now_s() - t0;
    return row;
}

static bench_row_t bench_batched(const bench_t *b, unsigned batch, const char *what)
{
    bench_row_t row = {.what = what};
    double t0 = now_s(), t = t0;
    while (t - t0 < b->seconds && !bench_stop) {
        devlog_txn_t *txn = NULL;
        row.err = devlog_begin(b->log, &txn);
        for (unsigned i = 0; row.err == FT_OK && i < batch; i++) {
            row.err = devlog_append(txn, &b->body, NULL);
        }
        if (row.err == FT_OK) {
            row.err = devlog_commit(&txn);
        }
        devlog_abort(&txn);
        if (row.err != FT_OK) {
            break;
        }
        row.count += batch;
        t = now_s();
    }
    row.seconds = now_s() - t0;
    return row;
}

/* Gives rec a fresh id, as each line of an import file has its own. */
static int fresh_id(bench_t *b)
{
    char id[40];
    snprintf(id, sizeof id, "bench-%llu", (unsigned long long)++b->next_id);
    char *copy = strdup(id);
    if (!copy) {
        return FT_ENOMEM;
    }
    free(b->rec->id);
    b->rec->id = copy;
    return FT_OK;
}

static bench_row_t bench_import(bench_t *b)
{
    bench_row_t row = {.what = "import path, 512 per txn"};
    double t0 = now_s(), t = t0;
    while (t - t0 < b->seconds && !bench_stop) {
        devlog_txn_t *txn = NULL;
        row.err = devlog_begin(b->log, &txn);
        for (unsigned i = 0; row.err == FT_OK && i < BENCH_IMPORT_BATCH; i++) {
            row.err = fresh_id(b);
            if (row.err == FT_OK) {
                row.err = devlog_append_record(txn, b->rec, NULL);
            }
        }
        if (row.err == FT_OK) {
            row.err = devlog_commit(&txn);
        }
        devlog_abort(&txn);
        if (row.err != FT_OK) {
            break;
        }
        row.count += BENCH_IMPORT_BATCH;
        t = now_s();
    }
    row.seconds = now_s() - t0;
    return row;
}

static bench_row_t bench_verify(const bench_t *b, uint64_t *checked)
{
    bench_row_t row = {.what = "verify (devlog_verify)"};
    devlog_report_t r;
    double t0 = now_s();
    row.err = devlog_verify(b->log, 1, &r);
    row.seconds = now_s() - t0;
    if (row.err == FT_OK) {
        row.err = r.err;
    }
    row.count = (double)r.checked;
    *checked = r.checked;
    return row;
}

/* "AMD EPYC", from /proc/cpuinfo; "unknown CPU" if it does not say. */
static void cpu_model(char *out, size_t len)
{
    snprintf(out, len, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) {
        return;
    }
    char line[256];
    while (fgets(line, sizeof line, f)) {
        const char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(out, len, "%s", colon + 2);
            out[strcspn(out, "\n")] = '\0';
            break;
        }
    }
    fclose(f);
}

/* Name of the file system dir is on, for the durability caveat. */
static const char *fs_name(const char *dir)
{
    struct statfs s;
    if (statfs(dir, &s) != 0) {
        return "unknown file system";
    }
    switch ((unsigned long)s.f_type) {
    case 0xEF53UL:
        return "ext4";
    case 0x58465342UL:
        return "xfs";
    case 0x9123683EUL:
        return "btrfs";
    case 0x01021994UL:
        return "tmpfs";
    case 0x794C7630UL:
        return "overlayfs";
    case 0x2FC12FC1UL:
        return "zfs";
    default:
        return "other file system";
    }
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0) {
        fprintf(stderr, "ft-bench-log: cannot remove %s: %s\n", path, strerror(errno));
    }
    return 0;
}

static void print_row(const bench_row_t *row, double sign_rate)
{
    double rate = row->seconds > 0 ? row->count / row->seconds : 0;
    printf("%-34s %12.0f %10.1f us %10.3f", row->what, rate, rate > 0 ? 1e6 / rate : 0,
           sign_rate > 0 ? rate / sign_rate : 0);
    if (row->err != FT_OK) {
        printf("   stopped: %s", ft_strerror(row->err));
    }
    putchar('\n');
}

int main(int argc, char **argv)
{
    bench_t b = {.seconds = 1.0};
    const char *parent = getenv("TMPDIR");
    static const struct option opts[] = {
        {"seconds", required_argument, NULL, 's'},
        {"dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 's') {
            char *end = NULL;
            b.seconds = strtod(optarg, &end);
            if (!end || *end || !(b.seconds > 0 && b.seconds <= 3600)) {
                fprintf(stderr, "ft-bench-log: --seconds wants a number of seconds, not \"%s\"\n",
                        optarg);
                return 2;
            }
        } else if (opt == 'd') {
            parent = optarg;
        } else if (opt == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (!parent || !parent[0]) {
        parent = "/tmp";
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "ft-bench-log: libsodium failed to initialise\n");
        return 1;
    }
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s/ft-bench-log.XXXXXX", parent) >= (int)sizeof dir) {
        fprintf(stderr, "ft-bench-log: --dir is too long\n");
        return 2;
    }
    if (!mkdtemp(dir)) {
        fprintf(stderr, "ft-bench-log: cannot create a directory in %s: %s\n", parent,
                strerror(errno));
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int status = 1;
    keys_t keys;
    char why[512] = "";
    int err = keys_generate(&keys, false);
    if (err != FT_OK) {
        fprintf(stderr, "ft-bench-log: cannot generate keys: %s\n", ft_strerror(err));
        goto out;
    }
    devlog_opts_t lo = {.map_size = BENCH_MAP_SIZE};
    err = devlog_open(dir, &keys, &lo, &b.log);
    keys_wipe(&keys);
    if (err != FT_OK) {
        fprintf(stderr, "ft-bench-log: cannot open a log in %s: %s\n", dir, ft_strerror(err));
        goto out;
    }
    err = record_from_line(BENCH_RECORD, strlen(BENCH_RECORD), &b.rec, why, sizeof why);
    if (err != FT_OK) {
        fprintf(stderr, "ft-bench-log: the benchmark record does not parse: %s\n",
                why[0] ? why : ft_strerror(err));
        goto out;
    }
    b.body = (Ft__Body)FT__BODY__INIT;
    b.body.kind_case = FT__BODY__KIND_RECORD;
    b.body.record = b.rec;

    char cpu[128];
    struct utsname un;
    cpu_model(cpu, sizeof cpu);
    if (uname(&un) != 0) {
        snprintf(un.sysname, sizeof un.sysname, "?");
        un.release[0] = un.machine[0] = '\0';
    }
    const char *fs = fs_name(dir);
    printf("ft-bench-log: signed device-log appends against the Ed25519 sign rate\n"
           "machine:  %s, %ld CPUs online, %s %s %s\n"
           "log:      %s (%s), removed at the end\n"
           "body:     one site_inspection record (%zu bytes of JSON)\n"
           "each row: about %.1f s\n",
           cpu, sysconf(_SC_NPROCESSORS_ONLN), un.sysname, un.release, un.machine, dir, fs,
           strlen(BENCH_RECORD), b.seconds);
    if (strcmp(fs, "tmpfs") == 0) {
        printf("warning:  tmpfs makes fsync free; the durable rows are not what a disk gives "
               "(use --dir)\n");
    }
    fflush(stdout);

    bench_row_t sign = bench_sign(&b);
    double sign_rate = sign.seconds > 0 ? sign.count / sign.seconds : 0;
    bench_row_t rows[8];
    size_t n = 0;
    rows[n++] = bench_append1(&b);
    char labels[2][48];
    for (size_t i = 0; i < sizeof bench_batches / sizeof bench_batches[0]; i++) {
        snprintf(labels[i], sizeof labels[i], "append, %u entries per txn", bench_batches[i]);
        rows[n++] = bench_batched(&b, bench_batches[i], labels[i]);
    }
    rows[n++] = bench_import(&b);
    uint64_t checked = 0;
    rows[n++] = bench_verify(&b, &checked);

    uint8_t *raw = NULL;
    size_t raw_len = 0;
    if (devlog_get(b.log, 1, &raw, &raw_len) == FT_OK) {
        printf("entry:    %zu bytes sealed (SignedEntry as stored)\n", raw_len);
    }
    free(raw);
    printf("\n%-34s %12s %13s %10s\n", "measurement", "per second", "per op", "vs sign");
    print_row(&sign, sign_rate);
    for (size_t i = 0; i < n; i++) {
        print_row(&rows[i], sign_rate);
    }
    printf("\nverify walked %llu entries (all the rows above appended). \"vs sign\" is each\n"
           "rate divided by the sign rate: 1.000 would mean appending costs no more than\n"
           "signing.\n",
           (unsigned long long)checked);
    status = 0;
    if (bench_stop) {
        fprintf(stderr, "ft-bench-log: interrupted; the figures above are incomplete\n");
        status = 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (rows[i].err != FT_OK) {
            status = 1;
        }
    }
    if (sign.err != FT_OK) {
        status = 1;
    }
out:
    record_free(&b.rec);
    devlog_destroy(&b.log);
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    return status;
}
