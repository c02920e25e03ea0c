/* scale.c: ft-bench-scale, a simulated-edge driver: one process opens many
 * edge connections (a ZeroMQ DEALER each, with its own keys and its own
 * signed log) to one running hub and syncs a day of records on each, with
 * the real protocol (docs/protocol.md: Hello, Welcome, Batch windows,
 * signed Receipts).
 *
 *   ft-bench-scale enroll HUB_STATE EDGES DIR   make EDGES edges' keys in DIR
 *                                               and enrol them all in the
 *                                               hub's store in one transaction
 *                                               (the hub is not running)
 *   ft-bench-scale run ENDPOINT HUB_KEY EDGES DIR RECORDS [--hub-pid PID]
 *                                               [--window W] [--batch B]
 *                                               [--trace] [--phases FILE]
 *                                               [--io-threads N]
 *
 * run: every edge seals RECORDS records (a realistic day: the cycle of
 * ops/sample-records.jsonl-like steps, ids unique per edge) into its own
 * chain in memory, connects, and syncs until the hub's signed receipt covers
 * its head. A receipt is accepted only if its signature verifies with the
 * hub key from Welcome and its upto_hash is the hash of the edge's own entry
 * at upto_seq, so "every edge holds a receipt for its head" means the hub
 * holds every entry of every edge with identical bytes (the chain makes one
 * hash stand for all before it). Prints per-second progress, then:
 *   scale: edges=E entries=N converged_s=T fairness=R (slowest/fastest edge)
 *          hub_rss_mb=.. hub_peak_rss_mb=.. rate=.. entries/s
 *   converge: OK edges=E entries=N (receipts for every head verified)
 * and where each edge's time went (docs/benchmarks.md "Issue 20, item 3"):
 * quantiles over the edges of when it got its Welcome, its first receipt,
 * converged, and the time from its own Welcome to its convergence, and a
 * histogram of the convergence times. --trace adds each edge's TCP
 * connection and CurveZMQ handshake (a socket monitor per edge: it costs the
 * driver a little), and then counts its own time from its handshake;
 * --phases FILE writes every edge's times, a line each; --io-threads sets
 * the driver's ZeroMQ I/O threads (default 1).
 * Exit 0 when every edge converged within --timeout (default 600 s).
 */
#include "entry.h"
#include "keys.h"
#include "record.h"
#include "store.h"
#include "wire.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <zmq.h>

/* One simulated edge. */
typedef struct {
    keys_t keys;
    uint8_t device[DEVID_BYTES];
    uint64_t epoch;
    uint64_t n;                        /* entries in its log */
    uint8_t **raw;                     /* sealed SignedEntry bytes, [0..n) = seq 1..n */
    size_t *len;                       /* their lengths */
    uint8_t (*hash)[ENTRY_HASH_BYTES]; /* their entry hashes */
    void *sock;                        /* DEALER */
    bool welcomed;                     /* Welcome received */
    uint64_t next;                     /* next seq to send */
    uint64_t acked;                    /* highest verified receipt */
    unsigned in_flight;                /* batches unacknowledged */
    uint64_t flight_end[64];           /* last seq of each, oldest first (a receipt
                                        * may cover part of a batch: it stays in
                                        * flight until its last entry is covered) */
    uint32_t max_batch;                /* hub's limit */
    uint8_t hub_pk[32];                /* from Welcome: verifies receipts */
    double done_s;                     /* when acked == n (0 = not yet) */
    double hello_s;                    /* when the last Hello was sent */
    /* Phases, in seconds since the driver's start (0 = not seen): the TCP
     * connection and the CurveZMQ handshake (--trace: socket monitor), the
     * first Welcome, the first receipt. */
    double conn_s, hs_s, welcome_s, receipt_s;
    void *mon; /* PAIR reading the socket's monitor (--trace) */
} sim_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int keys_path(char *buf, size_t len, const char *dir, unsigned i)
{
    return snprintf(buf, len, "%s/edge%05u.key", dir, i) < (int)len ? 0 : -1;
}

/* `enroll`: keys for every edge and one store transaction enrolling them. */
static int cmd_enroll(const char *hub_state, unsigned edges, const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        perror(dir);
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/db", hub_state);
    store_t *s = NULL;
    store_txn_t *t = NULL;
    if (store_open(path, 0, &s) != FT_OK || store_begin(s, true, &t) != FT_OK) {
        fprintf(stderr, "ft-bench-scale: cannot open the hub store in %s\n", path);
        store_destroy(&s);
        return 1;
    }
    int64_t now = wall_ms();
    for (unsigned i = 0; i < edges; i++) {
        keys_t k;
        if (keys_generate(&k, false) != FT_OK || keys_path(path, sizeof path, dir, i) != 0 ||
            keys_save(&k, path) != FT_OK) {
            fprintf(stderr, "ft-bench-scale: cannot make keys for edge %u\n", i);
            store_abort(&t);
            store_destroy(&s);
            return 1;
        }
        store_device_t d;
        memset(&d, 0, sizeof d);
        devid_from_pk(k.sign_pk, d.device);
        memcpy(d.sign_pk, k.sign_pk, 32);
        memcpy(d.transport_pk, k.box_pk, 32);
        snprintf(d.unit, sizeof d.unit, "scale-unit-%02u", i % 40);
        snprintf(d.vehicle, sizeof d.vehicle, "scale-car-%05u", i);
        d.enrolled_ms = now;
        keys_wipe(&k);
        if (store_device_put(t, &d) != FT_OK) {
            fprintf(stderr, "ft-bench-scale: cannot enrol edge %u\n", i);
            store_abort(&t);
            store_destroy(&s);
            return 1;
        }
    }
    int err = store_commit(&t);
    store_destroy(&s);
    if (err != FT_OK) {
        fprintf(stderr, "ft-bench-scale: enrolment did not commit: %s\n", ft_strerror(err));
        return 1;
    }
    printf("enrolled %u edges (keys in %s)\n", edges, dir);
    return 0;
}

/* The day's steps, as record JSON lines; %s = edge tag, %u = case, %02u = step. */
static const char *const day_steps[] = {
    "{\"type\":\"complaint_registered\",\"id\":\"%s-%u-%02u\",\"case\":\"%s-%05u\","
    "\"cause\":\"非法占用耕地建房\",\"party\":\"张某\",\"unit\":\"南大港产业园区自然资源所\","
    "\"time\":\"2026-03-01T08:20:00+08:00\",\"officers\":[\"ZF-0112\"],"
    "\"fields\":{\"complainant\":\"王某\",\"summary\":\"举报村东耕地内有人建房\"}}",
    "{\"type\":\"patrol\",\"id\":\"%s-%u-%02u\",\"case\":\"%s-%05u\","
    "\"unit\":\"南大港产业园区自然资源所\",\"start\":\"2026-03-01T09:00:00+08:00\","
    "\"end\":\"2026-03-01T10:30:00+08:00\",\"officers\":[\"ZF-0112\",\"ZF-0233\"]}",
    "{\"type\":\"site_inspection\",\"id\":\"%s-%u-%02u\",\"case\":\"%s-%05u\","
    "\"cause\":\"非法占用耕地建房\",\"party\":\"张某\",\"unit\":\"南大港产业园区自然资源所\","
    "\"start\":\"2026-03-01T10:40:00+08:00\",\"end\":\"2026-03-01T11:20:00+08:00\","
    "\"officers\":[\"ZF-0112\",\"ZF-0233\"],\"location\":{\"lat\":38.52,\"lon\":117.33},"
    "\"fields\":{\"findings\":\"现场已浇筑地基约120平方米\",\"present\":\"张某\"}}",
    "{\"type\":\"inquiry\",\"id\":\"%s-%u-%02u\",\"case\":\"%s-%05u\","
    "\"cause\":\"非法占用耕地建房\",\"party\":\"张某\",\"unit\":\"南大港产业园区自然资源所\","
    "\"start\":\"2026-03-01T14:00:00+08:00\",\"end\":\"2026-03-01T14:45:00+08:00\","
    "\"officers\":[\"ZF-0112\",\"ZF-0233\"],\"fields\":{\"interviewee\":\"张某\","
    "\"transcript\":\"承认未经批准建房\"}}",
    "{\"type\":\"evidence_registration\",\"id\":\"%s-%u-%02u\",\"case\":\"%s-%05u\","
    "\"cause\":\"非法占用耕地建房\",\"party\":\"张某\",\"unit\":\"南大港产业园区自然资源所\","
    "\"time\":\"2026-03-01T15:10:00+08:00\",\"officers\":[\"ZF-0112\"],"
    "\"fields\":{\"items\":\"现场照片12张，询问笔录1份\",\"provider\":\"张某\"}}",
};
#define DAY_STEPS (sizeof day_steps / sizeof day_steps[0])

/* Seals the edge's day: `records` records chained from seq 1. */
static int make_log(sim_t *e, unsigned idx, unsigned records)
{
    e->n = records;
    e->raw = calloc(records, sizeof *e->raw);
    e->len = calloc(records, sizeof *e->len);
    e->hash = calloc(records, ENTRY_HASH_BYTES);
    if (!e->raw || !e->len || !e->hash) {
        return FT_ENOMEM;
    }
    randombytes_buf(&e->epoch, sizeof e->epoch);
    e->epoch &= (1ULL << 53) - 1;
    char tag[16];
    snprintf(tag, sizeof tag, "S%05u", idx);
    uint8_t prev[ENTRY_HASH_BYTES] = {0};
    int64_t t0 = wall_ms();
    for (unsigned j = 0; j < records; j++) {
        char line[2048];
        unsigned c = j / DAY_STEPS;
        snprintf(line, sizeof line, day_steps[j % DAY_STEPS], tag, c, j % DAY_STEPS, tag, c);
        Ft__Record *rec = NULL;
        char why[256];
        if (record_from_line(line, strlen(line), &rec, why, sizeof why) != FT_OK) {
            fprintf(stderr, "ft-bench-scale: bad template: %s\n", why);
            return FT_EINVAL;
        }
        Ft__Body body = FT__BODY__INIT;
        body.kind_case = FT__BODY__KIND_RECORD;
        body.record = rec;
        Ft__Entry en = FT__ENTRY__INIT;
        en.device.data = e->device;
        en.device.len = DEVID_BYTES;
        en.epoch = e->epoch;
        en.seq = j + 1;
        en.hlc = ((uint64_t)(t0 + j) << 16);
        en.prev_hash.data = prev;
        en.prev_hash.len = ENTRY_HASH_BYTES;
        en.body = &body;
        int err = entry_seal(&en, &e->keys, &e->raw[j], &e->len[j], e->hash[j]);
        record_free(&rec);
        if (err != FT_OK) {
            return err;
        }
        memcpy(prev, e->hash[j], ENTRY_HASH_BYTES);
    }
    return FT_OK;
}

static int send_msg(sim_t *e, const wire_msg_t *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int err = wire_encode(m, &buf, &len);
    if (err != FT_OK) {
        return err;
    }
    int rc = zmq_send(e->sock, buf, len, ZMQ_DONTWAIT);
    free(buf);
    return rc < 0 ? FT_EIO : FT_OK;
}

static void send_hello(sim_t *e)
{
    wire_msg_t m = {.kind = WIRE_HELLO};
    m.u.hello.version = WIRE_VERSION;
    m.u.hello.epoch = e->epoch;
    m.u.hello.head_seq = e->n;
    memcpy(m.u.hello.head_hash, e->hash[e->n - 1], ENTRY_HASH_BYTES);
    m.u.hello.wall_ms = wall_ms();
    (void)send_msg(e, &m);
    e->welcomed = false;
    e->in_flight = 0;
    e->hello_s = now_s();
}

/* Sends batches while the window allows. */
static void pump(sim_t *e, unsigned window, unsigned batch)
{
    wire_bytes_t *items = malloc(sizeof *items * batch);
    if (!items) {
        return;
    }
    while (e->welcomed && e->in_flight < window && e->next <= e->n) {
        size_t k = 0;
        while (k < batch && k < e->max_batch && e->next + k <= e->n) {
            items[k].data = e->raw[e->next + k - 1];
            items[k].len = e->len[e->next + k - 1];
            k++;
        }
        wire_msg_t m = {.kind = WIRE_BATCH};
        m.u.batch.n = k;
        m.u.batch.entries = items;
        m.u.batch.edge_head_seq = e->n;
        if (send_msg(e, &m) != FT_OK) {
            break;
        }
        e->next += k;
        e->flight_end[e->in_flight++] = e->next - 1;
    }
    free(items);
}

static void on_message(sim_t *e, const uint8_t *buf, size_t len, double t0, unsigned window,
                       unsigned batch)
{
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    if (wire_decode(buf, len, &m) != FT_OK) {
        fprintf(stderr, "ft-bench-scale: undecodable message from the hub\n");
        return;
    }
    switch (m.kind) {
    case WIRE_WELCOME:
        if (e->welcome_s == 0) {
            e->welcome_s = now_s() - t0;
        }
        e->welcomed = true;
        e->next = m.u.welcome.have_seq + 1;
        e->max_batch = m.u.welcome.max_batch_entries ? m.u.welcome.max_batch_entries : batch;
        memcpy(e->hub_pk, m.u.welcome.hub_sign_pk, 32);
        e->in_flight = 0;
        if (m.u.welcome.have_seq >= e->n && e->acked < e->n) {
            wire_msg_t empty = {.kind = WIRE_BATCH}; /* asks for the receipt */
            (void)send_msg(e, &empty);
            e->flight_end[e->in_flight++] = m.u.welcome.have_seq;
        }
        break;
    case WIRE_RECEIPT: {
        wire_receipt_t r;
        if (wire_receipt_open(m.u.receipt.raw, m.u.receipt.raw_len, e->hub_pk, &r) != FT_OK ||
            memcmp(r.device, e->device, DEVID_BYTES) != 0 || r.epoch != e->epoch ||
            r.upto_seq == 0 || r.upto_seq > e->n ||
            memcmp(r.upto_hash, e->hash[r.upto_seq - 1], ENTRY_HASH_BYTES) != 0) {
            fprintf(stderr, "ft-bench-scale: a receipt does not verify against the edge's log\n");
            break;
        }
        if (r.upto_seq > e->acked) {
            e->acked = r.upto_seq;
        }
        if (e->receipt_s == 0) {
            e->receipt_s = now_s() - t0;
        }
        unsigned keep = 0;
        for (unsigned i = 0; i < e->in_flight; i++) {
            if (e->flight_end[i] > r.upto_seq) {
                e->flight_end[keep++] = e->flight_end[i];
            }
        }
        e->in_flight = keep;
        if (e->acked == e->n && e->done_s == 0) {
            e->done_s = now_s() - t0;
        }
        break;
    }
    case WIRE_ERROR:
        fprintf(stderr, "ft-bench-scale: hub error %s: %s\n", m.u.error.reason, m.u.error.message);
        send_hello(e);
        break;
    default:
        break;
    }
    wire_msg_free(&m);
    pump(e, window, batch);
}

/* --trace: the socket's monitor (TCP connected, CurveZMQ handshake done),
 * read through a PAIR of ours. */
static int monitor(void *zctx, sim_t *e, unsigned i)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://scale-mon-%u", i);
    if (zmq_socket_monitor(e->sock, ep, ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0) {
        return -1;
    }
    e->mon = zmq_socket(zctx, ZMQ_PAIR);
    return e->mon && zmq_connect(e->mon, ep) == 0 ? 0 : -1;
}

static void monitor_events(sim_t *e, double at)
{
    for (;;) {
        zmq_msg_t ev;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, e->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        uint16_t id = 0;
        if (zmq_msg_size(&ev) >= 2) {
            memcpy(&id, zmq_msg_data(&ev), 2);
        }
        bool more = zmq_msg_more(&ev);
        zmq_msg_close(&ev);
        while (more) { /* the address frame */
            zmq_msg_init(&ev);
            if (zmq_msg_recv(&ev, e->mon, 0) < 0) {
                zmq_msg_close(&ev);
                return;
            }
            more = zmq_msg_more(&ev);
            zmq_msg_close(&ev);
        }
        if (id == ZMQ_EVENT_CONNECTED && e->conn_s == 0) {
            e->conn_s = at;
        } else if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && e->hs_s == 0) {
            e->hs_s = at;
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One line of quantiles over the edges of f(edge) (0 = not seen: left out). */
static void quantiles(const char *name, const sim_t *sims, unsigned edges,
                      double (*f)(const sim_t *), double *v)
{
    unsigned n = 0;
    for (unsigned i = 0; i < edges; i++) {
        double x = f(&sims[i]);
        if (x > 0) {
            v[n++] = x;
        }
    }
    if (n == 0) {
        return;
    }
    qsort(v, n, sizeof *v, cmp_double);
#define Q(p) v[(unsigned)((double)(n - 1) * (p) + 0.5)]
    printf("phase %-22s n=%-5u min=%.2f p10=%.2f p50=%.2f p90=%.2f max=%.2f\n", name, n, v[0],
           Q(0.10), Q(0.50), Q(0.90), v[n - 1]);
#undef Q
}

static double ph_conn(const sim_t *e)
{
    return e->conn_s;
}
static double ph_hs(const sim_t *e)
{
    return e->hs_s;
}
static double ph_welcome(const sim_t *e)
{
    return e->welcome_s;
}
static double ph_receipt(const sim_t *e)
{
    return e->receipt_s;
}
static double ph_done(const sim_t *e)
{
    return e->done_s;
}
/* From its own handshake (or, without --trace, its Welcome) to convergence. */
static double ph_own(const sim_t *e)
{
    double from = e->hs_s > 0 ? e->hs_s : e->welcome_s;
    return e->done_s > 0 && from > 0 ? e->done_s - from : 0;
}

/* Where each edge's time went: quantiles of when its phases happened, all
 * counted from the driver's start, and a histogram of convergence times. */
static void report_phases(const sim_t *sims, unsigned edges, bool trace)
{
    double *v = malloc(sizeof *v * edges);
    if (!v) {
        return;
    }
    if (trace) {
        quantiles("tcp_connected_s", sims, edges, ph_conn, v);
        quantiles("handshake_done_s", sims, edges, ph_hs, v);
    }
    quantiles("welcome_s", sims, edges, ph_welcome, v);
    quantiles("first_receipt_s", sims, edges, ph_receipt, v);
    quantiles("converged_s", sims, edges, ph_done, v);
    quantiles(trace ? "own_handshake_to_conv_s" : "own_welcome_to_conv_s", sims, edges, ph_own, v);
    unsigned hist[20] = {0};
    double top = 0;
    for (unsigned i = 0; i < edges; i++) {
        top = sims[i].done_s > top ? sims[i].done_s : top;
    }
    double w = top > 0 ? top / 20 : 1;
    for (unsigned i = 0; i < edges; i++) {
        if (sims[i].done_s > 0) {
            unsigned b = (unsigned)(sims[i].done_s / w);
            hist[b < 20 ? b : 19]++;
        }
    }
    printf("converged per %.2f s:", w);
    for (unsigned b = 0; b < 20; b++) {
        printf(" %u", hist[b]);
    }
    printf("\n");
    free(v);
}

static long proc_kb(long pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    long v = -1;
    size_t fl = strlen(field);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
            v = strtol(line + fl + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static int cmd_run(int argc, char **argv)
{
    if (argc < 6) {
        return 2;
    }
    const char *endpoint = argv[1];
    uint8_t hub_key[32];
    if (hex_decode(argv[2], hub_key, 32) != FT_OK) {
        fprintf(stderr, "ft-bench-scale: HUB_KEY must be 64 hex digits\n");
        return 2;
    }
    unsigned edges = (unsigned)strtoul(argv[3], NULL, 10);
    const char *dir = argv[4];
    unsigned records = (unsigned)strtoul(argv[5], NULL, 10);
    long hub_pid = 0;
    unsigned window = 4, batch = 256, timeout = 600;
    bool trace = false;
    int io_threads = 1;
    const char *phases = NULL; /* --phases FILE: each edge's phases, a line each */
    for (int i = 6; i < argc; i += 2) {
        if (strcmp(argv[i], "--trace") == 0) {
            trace = true;
            i--;
        } else if (i + 1 < argc && strcmp(argv[i], "--phases") == 0) {
            phases = argv[i + 1];
        } else if (i + 1 >= argc) {
            return 2;
        } else if (strcmp(argv[i], "--hub-pid") == 0) {
            hub_pid = strtol(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--window") == 0) {
            window = (unsigned)strtoul(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--batch") == 0) {
            batch = (unsigned)strtoul(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--io-threads") == 0) {
            io_threads = (int)strtol(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--timeout") == 0) {
            timeout = (unsigned)strtoul(argv[i + 1], NULL, 10);
        } else {
            return 2;
        }
    }
    if (edges == 0 || records == 0 || window == 0 || window > 64 || batch == 0) {
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    sim_t *sims = calloc(edges, sizeof *sims);
    zmq_pollitem_t *items = calloc(2 * (size_t)edges, sizeof *items);
    if (!sims || !items) {
        return 1;
    }
    double tg = now_s();
    for (unsigned i = 0; i < edges; i++) {
        char path[4096];
        if (keys_path(path, sizeof path, dir, i) != 0 || keys_load(&sims[i].keys, path) != FT_OK) {
            fprintf(stderr, "ft-bench-scale: no keys for edge %u in %s (run enroll)\n", i, dir);
            return 1;
        }
        devid_from_pk(sims[i].keys.sign_pk, sims[i].device);
        if (make_log(&sims[i], i, records) != FT_OK) {
            fprintf(stderr, "ft-bench-scale: cannot seal edge %u's log\n", i);
            return 1;
        }
    }
    printf("sealed %u logs of %u records in %.1f s\n", edges, records, now_s() - tg);
    void *zctx = zmq_ctx_new();
    /* --trace: a monitor per socket (libzmq's own PAIR and ours) */
    zmq_ctx_set(zctx, ZMQ_MAX_SOCKETS, (int)edges * (trace ? 3 : 1) + 64);
    zmq_ctx_set(zctx, ZMQ_IO_THREADS, io_threads > 0 ? io_threads : 1);
    double t0 = now_s();
    for (unsigned i = 0; i < edges; i++) {
        sim_t *e = &sims[i];
        e->sock = zmq_socket(zctx, ZMQ_DEALER);
        uint8_t rid[WIRE_ROUTING_ID_BYTES];
        wire_routing_id(e->device, rid);
        int zero = 0, hwm = 0;
        if (!e->sock || zmq_setsockopt(e->sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
            zmq_setsockopt(e->sock, ZMQ_ROUTING_ID, rid, sizeof rid) != 0 ||
            zmq_setsockopt(e->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
            zmq_setsockopt(e->sock, ZMQ_CURVE_SERVERKEY, hub_key, 32) != 0 ||
            zmq_setsockopt(e->sock, ZMQ_CURVE_PUBLICKEY, e->keys.box_pk, 32) != 0 ||
            zmq_setsockopt(e->sock, ZMQ_CURVE_SECRETKEY, e->keys.box_sk, 32) != 0 ||
            (trace && monitor(zctx, e, i) != 0) || zmq_connect(e->sock, endpoint) != 0) {
            fprintf(stderr, "ft-bench-scale: edge %u cannot connect: %s\n", i,
                    zmq_strerror(zmq_errno()));
            return 1;
        }
        items[i].socket = e->sock;
        items[i].events = ZMQ_POLLIN;
        if (trace) {
            items[edges + i].socket = e->mon;
            items[edges + i].events = ZMQ_POLLIN;
        }
        send_hello(e);
    }
    printf("%u edges connecting to %s\n", edges, endpoint);
    uint8_t *buf = malloc(WIRE_MAX_MSG_BYTES);
    unsigned done = 0;
    double last_print = t0;
    long peak_kb = 0;
    while (done < edges && now_s() - t0 < timeout) {
        int n = zmq_poll(items, (int)edges * (trace ? 2 : 1), 100);
        if (n < 0 && zmq_errno() != EINTR) {
            break;
        }
        double now = now_s();
        for (unsigned i = 0; trace && i < edges; i++) {
            if (items[edges + i].revents & ZMQ_POLLIN) {
                monitor_events(&sims[i], now - t0);
            }
        }
        done = 0;
        uint64_t acked = 0;
        for (unsigned i = 0; i < edges; i++) {
            sim_t *e = &sims[i];
            if (items[i].revents & ZMQ_POLLIN) {
                for (;;) {
                    int got = zmq_recv(e->sock, buf, WIRE_MAX_MSG_BYTES, ZMQ_DONTWAIT);
                    if (got < 0) {
                        break;
                    }
                    on_message(e, buf, (size_t)got, t0, window, batch);
                }
            }
            if (e->acked < e->n && now - e->hello_s > 15.0 && (!e->welcomed || e->in_flight > 0)) {
                send_hello(e); /* in doubt: say Hello again, as the edge does */
            }
            done += e->acked == e->n;
            acked += e->acked;
        }
        if (hub_pid > 0) {
            long rss = proc_kb(hub_pid, "VmRSS");
            if (rss > peak_kb) {
                peak_kb = rss;
            }
        }
        if (now - last_print >= 5.0) {
            printf("%6.1f s: %u of %u edges converged, %llu entries acknowledged\n", now - t0, done,
                   edges, (unsigned long long)acked);
            fflush(stdout);
            last_print = now;
        }
    }
    double total = now_s() - t0;
    double fastest = 1e9, slowest = 0;
    uint64_t entries = 0;
    for (unsigned i = 0; i < edges; i++) {
        entries += sims[i].n;
        if (sims[i].done_s > 0) {
            fastest = sims[i].done_s < fastest ? sims[i].done_s : fastest;
            slowest = sims[i].done_s > slowest ? sims[i].done_s : slowest;
        }
    }
    long rss = hub_pid > 0 ? proc_kb(hub_pid, "VmRSS") : -1;
    long hwm = hub_pid > 0 ? proc_kb(hub_pid, "VmHWM") : -1;
    printf("scale: edges=%u entries=%llu converged=%u converged_s=%.1f fastest_s=%.2f "
           "slowest_s=%.2f fairness=%.1f rate=%.0f entries/s hub_rss_mb=%.1f "
           "hub_peak_rss_mb=%.1f\n",
           edges, (unsigned long long)entries, done, slowest > 0 ? slowest : total,
           fastest < 1e9 ? fastest : 0.0, slowest,
           fastest > 0 && fastest < 1e9 ? slowest / fastest : 0.0,
           slowest > 0 ? (double)entries / slowest : 0.0, rss > 0 ? rss / 1024.0 : -1.0,
           hwm > 0 ? hwm / 1024.0 : (peak_kb > 0 ? peak_kb / 1024.0 : -1.0));
    report_phases(sims, edges, trace);
    FILE *pf = phases ? fopen(phases, "w") : NULL;
    for (unsigned i = 0; pf && i < edges; i++) {
        fprintf(pf, "%u %.3f %.3f %.3f %.3f %.3f\n", i, sims[i].conn_s, sims[i].hs_s,
                sims[i].welcome_s, sims[i].receipt_s, sims[i].done_s);
    }
    if (pf) {
        fclose(pf);
    }
    int rc = 0;
    if (done == edges) {
        printf("converge: OK edges=%u entries=%llu (a verified receipt for every edge's head)\n",
               edges, (unsigned long long)entries);
    } else {
        printf("converge: FAIL edges=%u converged=%u after %.0f s\n", edges, done, total);
        rc = 1;
    }
    for (unsigned i = 0; i < edges; i++) {
        zmq_close(sims[i].sock);
        if (sims[i].mon) {
            zmq_close(sims[i].mon);
        }
        for (uint64_t j = 0; j < sims[i].n; j++) {
            free(sims[i].raw[j]);
        }
        free(sims[i].raw);
        free(sims[i].len);
        free(sims[i].hash);
        keys_wipe(&sims[i].keys);
    }
    zmq_ctx_term(zctx);
    free(buf);
    free(items);
    free(sims);
    return rc;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        return 1;
    }
    if (argc == 5 && strcmp(argv[1], "enroll") == 0) {
        return cmd_enroll(argv[2], (unsigned)strtoul(argv[3], NULL, 10), argv[4]);
    }
    if (argc >= 7 && strcmp(argv[1], "run") == 0) {
        int rc = cmd_run(argc - 1, argv + 1);
        if (rc != 2) {
            return rc;
        }
    }
    fprintf(stderr, "usage: ft-bench-scale enroll HUB_STATE EDGES DIR\n"
                    "       ft-bench-scale run ENDPOINT HUB_KEY EDGES DIR RECORDS [--hub-pid PID]\n"
                    "                          [--window W] [--batch B] [--timeout S] [--trace]\n"
                    "                          [--phases FILE] [--io-threads N]\n");
    return 2;
}
