/* sync_bench.c: ft-bench-sync-verify, the hub's per-entry verification cost
 * on this machine, printed beside the end-to-end sync rate by
 * bench/sync_bench.sh (both in one run).
 *
 * Rows, each run for about --seconds:
 *   ed25519_verify   crypto_sign_ed25519_verify_detached of a 32-byte hash:
 *                    the signature every entry carries; the ceiling of what
 *                    a single-threaded hub can accept per second
 *   entry_check      entry_open + entry_check of a sealed, realistic record:
 *                    what hub/store/verify.c does per entry before storing it
 * Output: one line per row, "name rate_per_second", easy for the script.
 */
#include "entry.h"
#include "keys.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A record entry like the ones ops/simulate.sh generates. */
static uint8_t *sealed_record(const keys_t *k, size_t *len, uint8_t hash[32])
{
    uint8_t id[DEVID_BYTES], prev[32] = {0};
    devid_from_pk(k->sign_pk, id);
    Ft__FieldValue f1 = FT__FIELD_VALUE__INIT;
    f1.key = "record_no";
    f1.value_case = FT__FIELD_VALUE__VALUE_TEXT;
    f1.text = "KC-CAR1-2026-00042-1";
    Ft__FieldValue *fields[] = {&f1};
    char *officers[] = {"ZF-0107", "ZF-0112"};
    char *recorders[] = {"DSJ-CAR1"};
    Ft__Time start = FT__TIME__INIT, end = FT__TIME__INIT;
    start.unix_ms = 1772410200000;
    start.utc_offset_min = 480;
    end.unix_ms = 1772410680000;
    end.utc_offset_min = 480;
    Ft__Record r = FT__RECORD__INIT;
    r.type = FT__RECORD_TYPE__SITE_INSPECTION;
    r.id = "car1-r0000425";
    r.case_id = "CAR1-2026-00042";
    r.unit = "南大港产业园区自然资源所";
    r.cause = "非法占用耕地建房";
    r.party = "张某";
    r.start = &start;
    r.end = &end;
    r.n_officers = 2;
    r.officers = officers;
    r.n_recorders = 1;
    r.recorders = recorders;
    r.n_fields = 1;
    r.fields = fields;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_RECORD;
    body.record = &r;
    Ft__Entry e = FT__ENTRY__INIT;
    e.device.data = id;
    e.device.len = DEVID_BYTES;
    e.epoch = 4242;
    e.seq = 1;
    e.hlc = (uint64_t)1772410700000 << 16;
    e.prev_hash.data = prev;
    e.prev_hash.len = 32;
    e.body = &body;
    uint8_t *out = NULL;
    if (entry_seal(&e, k, &out, len, hash) != FT_OK) {
        return NULL;
    }
    return out;
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    static const struct option opts[] = {{"seconds", required_argument, NULL, 's'},
                                         {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 's') {
            seconds = atof(optarg);
        } else {
            fprintf(stderr, "usage: ft-bench-sync-verify [--seconds S]\n");
            return 2;
        }
    }
    if (sodium_init() < 0 || seconds <= 0) {
        return 1;
    }
    keys_t k;
    if (keys_generate(&k, false) != FT_OK) {
        return 1;
    }
    uint8_t hash[32], sig[64];
    randombytes_buf(hash, sizeof hash);
    crypto_sign_ed25519_detached(sig, NULL, hash, sizeof hash, k.sign_sk);
    double t0 = now_s(), t;
    unsigned long n = 0;
    do {
        for (int i = 0; i < 256; i++) {
            if (crypto_sign_ed25519_verify_detached(sig, hash, sizeof hash, k.sign_pk) != 0) {
                return 1;
            }
        }
        n += 256;
        t = now_s();
    } while (t - t0 < seconds);
    printf("ed25519_verify %.0f\n", (double)n / (t - t0));

    size_t len = 0;
    uint8_t *raw = sealed_record(&k, &len, hash);
    if (!raw) {
        return 1;
    }
    entry_pos_t pos = {.epoch = 4242, .seq = 1};
    devid_from_pk(k.sign_pk, pos.device);
    n = 0;
    t0 = now_s();
    do {
        for (int i = 0; i < 256; i++) {
            entry_view_t v;
            if (entry_open(raw, len, &v) != FT_OK || entry_check(&v, k.sign_pk, &pos) != FT_OK) {
                return 1;
            }
            entry_view_free(&v);
        }
        n += 256;
        t = now_s();
    } while (t - t0 < seconds);
    printf("entry_check %.0f\n", (double)n / (t - t0));
    printf("entry_bytes %zu\n", len);
    free(raw);
    keys_wipe(&k);
    return 0;
}
