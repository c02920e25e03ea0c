/* ft_fuzz_seeds.c: writes the seed corpus of the fuzz targets
 * (tests/fuzz/corpus/<target>/) from well-formed inputs made with the
 * project's own encoders, so every seed is something a real peer sends.
 * Keys are derived from fixed seeds, so the output is the same on every run
 * except where a random file ID or epoch is not involved (none is):
 *   entries     signed with the Ed25519 key of seed {1} (fuzz_entry checks it)
 *   receipts    signed with seed {2} (wire) and {3} (media)
 * Record lines and rule packs come from files given on the command line.
 *
 * Usage: ft_fuzz_seeds OUT_DIR RECORDS.jsonl RULES_FILE
 */
#include "bodyjson.h"
#include "entry.h"
#include "keys.h"
#include "media.h"
#include "mediawire.h"
#include "record.h"
#include "wire.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *out_dir;

static void put(const char *target, const char *name, const uint8_t *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void seeded_keys(keys_t *k, uint8_t n)
{
    memset(k, 0, sizeof *k);
    uint8_t seed[32] = {n};
    crypto_sign_ed25519_seed_keypair(k->sign_pk, k->sign_sk, seed);
    crypto_box_seed_keypair(k->box_pk, k->box_sk, seed);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
            if (!buf) {
                exit(1);
            }
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* A media manifest of a 3-chunk file (fixed bytes). */
static void fill_manifest(Ft__MediaManifest *mf, uint8_t (*hashes)[32], ProtobufCBinaryData *hb,
                          uint8_t *fid, uint8_t *root, uint8_t *sealed)
{
    ft__media_manifest__init(mf);
    memset(fid, 0x11, MEDIA_FILE_ID_BYTES);
    for (int i = 0; i < 3; i++) {
        memset(hashes[i], 0x20 + i, 32);
        hb[i].data = hashes[i];
        hb[i].len = 32;
    }
    if (media_merkle_root((const uint8_t(*)[32])hashes, 3, root) != FT_OK) {
        exit(1);
    }
    memset(sealed, 0x33, MEDIA_SEALED_KEY_BYTES);
    mf->file_id.data = fid;
    mf->file_id.len = MEDIA_FILE_ID_BYTES;
    mf->size = 2 * MEDIA_CHUNK_SIZE + 1000;
    mf->chunk_size = MEDIA_CHUNK_SIZE;
    mf->has_format = true;
    mf->format = MEDIA_FORMAT;
    mf->merkle_root.data = root;
    mf->merkle_root.len = 32;
    mf->n_chunk_hashes = 3;
    mf->chunk_hashes = hb;
    mf->content_hash.data = root;
    mf->content_hash.len = 32;
    mf->sealed_key.data = sealed;
    mf->sealed_key.len = MEDIA_SEALED_KEY_BYTES;
    mf->kind = FT__MEDIA_KIND__VIDEO;
    mf->recorder = "DSJ-0031";
    mf->officer = "ZF-0112";
    mf->unit = "南大港产业园区自然资源所";
    mf->case_id = "NDG-2026-031";
    mf->file_name = "20260301_152000.mp4";
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: ft_fuzz_seeds OUT_DIR RECORDS.jsonl RULES_FILE\n");
        return 2;
    }
    out_dir = argv[1];
    if (sodium_init() < 0) {
        return 1;
    }
    keys_t dev, hub, mhub;
    seeded_keys(&dev, 1);
    seeded_keys(&hub, 2);
    seeded_keys(&mhub, 3);
    uint8_t devid[DEVID_BYTES];
    devid_from_pk(dev.sign_pk, devid);

    /* Records: each line of the sample file, and the bodies made of them. */
    size_t rlen;
    char *records = slurp(argv[2], &rlen);
    Ft__Body bodies[8];
    Ft__Record *recs[8] = {NULL};
    size_t n_bodies = 0;
    int line_no = 0;
    for (char *line = strtok(records, "\n"); line; line = strtok(NULL, "\n")) {
        char name[32];
        snprintf(name, sizeof name, "line%02d.jsonl", ++line_no);
        put("fuzz_record", name, (const uint8_t *)line, strlen(line));
        char err[256];
        if (n_bodies < 5 && line_no % 5 == 1 &&
            record_from_line(line, strlen(line), &recs[n_bodies], err, sizeof err) == FT_OK) {
            ft__body__init(&bodies[n_bodies]);
            bodies[n_bodies].kind_case = FT__BODY__KIND_RECORD;
            bodies[n_bodies].record = recs[n_bodies];
            n_bodies++;
        }
    }
    /* A media manifest and a device event. */
    Ft__MediaManifest mf;
    uint8_t hashes[3][32], fid[MEDIA_FILE_ID_BYTES], root[32], sealed[MEDIA_SEALED_KEY_BYTES];
    ProtobufCBinaryData hb[3];
    fill_manifest(&mf, hashes, hb, fid, root, sealed);
    ft__body__init(&bodies[n_bodies]);
    bodies[n_bodies].kind_case = FT__BODY__KIND_MEDIA;
    bodies[n_bodies].media = &mf;
    n_bodies++;
    Ft__DeviceEvent ev = FT__DEVICE_EVENT__INIT;
    ev.kind = FT__DEVICE_EVENT_KIND__STORAGE_FULL;
    ev.recorder = "DSJ-0031";
    ev.detail = "recorder storage full";
    ft__body__init(&bodies[n_bodies]);
    bodies[n_bodies].kind_case = FT__BODY__KIND_EVENT;
    bodies[n_bodies].event = &ev;
    n_bodies++;
    /* A batch of alert events, as the hub's gap engine logs one. */
    Ft__AlertEvent ae[2] = {FT__ALERT_EVENT__INIT, FT__ALERT_EVENT__INIT};
    Ft__AlertEvent *aep[2] = {&ae[0], &ae[1]};
    ae[0].alert_id = "5c1f0e9a7b3d2e41";
    ae[0].rule = "1";
    ae[0].state = "open";
    ae[0].case_id = "NDG-2026-031";
    ae[0].detail_json = "{\"alert_id\":\"5c1f0e9a7b3d2e41\",\"state\":\"open\"}";
    ae[1].alert_id = "0123456789abcdef";
    ae[1].rule = "16";
    ae[1].state = "resolved";
    ae[1].detail_json = "{\"alert_id\":\"0123456789abcdef\",\"state\":\"resolved\"}";
    Ft__AlertEvents batch = FT__ALERT_EVENTS__INIT;
    batch.n_events = 2;
    batch.events = aep;
    ft__body__init(&bodies[n_bodies]);
    bodies[n_bodies].kind_case = FT__BODY__KIND_ALERTS;
    bodies[n_bodies].alerts = &batch;
    n_bodies++;

    /* Bodies alone (fuzz_manifest) and sealed entries chained from seq 1. */
    uint8_t *entries[8];
    size_t entry_lens[8];
    uint8_t prev[32] = {0};
    for (size_t i = 0; i < n_bodies; i++) {
        char name[32];
        size_t blen = ft__body__get_packed_size(&bodies[i]);
        uint8_t *b = malloc(blen);
        ft__body__pack(&bodies[i], b);
        snprintf(name, sizeof name, "body%zu-%s", i, entry_body_kind(&bodies[i]));
        put("fuzz_manifest", name, b, blen);
        free(b);
        Ft__Entry e = FT__ENTRY__INIT;
        e.device.data = devid;
        e.device.len = DEVID_BYTES;
        e.epoch = 0x1234567890abcdULL;
        e.seq = i + 1;
        e.hlc = ((uint64_t)1772323200000ULL << 16) | i;
        e.prev_hash.data = prev;
        e.prev_hash.len = 32;
        e.body = &bodies[i];
        if (entry_seal(&e, &dev, &entries[i], &entry_lens[i], prev) != FT_OK) {
            return 1;
        }
        snprintf(name, sizeof name, "entry%zu-%s", i, entry_body_kind(&bodies[i]));
        put("fuzz_entry", name, entries[i], entry_lens[i]);
    }

    /* Wire messages of every kind. */
    wire_msg_t w[8];
    memset(w, 0, sizeof w);
    w[0].kind = WIRE_HELLO;
    w[0].u.hello = (wire_hello_t){.version = WIRE_VERSION,
                                  .epoch = 0x1234567890abcdULL,
                                  .head_seq = n_bodies,
                                  .wall_ms = 1772323200000LL};
    memcpy(w[0].u.hello.head_hash, prev, 32);
    w[1].kind = WIRE_WELCOME;
    w[1].u.welcome = (wire_welcome_t){.epoch = 0x1234567890abcdULL,
                                      .have_seq = 2,
                                      .hub_wall_ms = 1772323200100LL,
                                      .max_batch_entries = 512,
                                      .max_batch_bytes = 4 << 20};
    memcpy(w[1].u.welcome.hub_sign_pk, hub.sign_pk, 32);
    wire_bytes_t wb[8];
    for (size_t i = 0; i < n_bodies; i++) {
        wb[i].data = entries[i];
        wb[i].len = entry_lens[i];
    }
    w[2].kind = WIRE_BATCH;
    w[2].u.batch = (wire_batch_t){.n = n_bodies, .entries = wb, .edge_head_seq = n_bodies};
    wire_receipt_t rc = {
        .epoch = 0x1234567890abcdULL, .upto_seq = n_bodies, .hub_time_ms = 1772323200200LL};
    memcpy(rc.device, devid, DEVID_BYTES);
    memcpy(rc.upto_hash, prev, 32);
    uint8_t *rraw = NULL;
    size_t rraw_len = 0;
    if (wire_receipt_seal(&rc, hub.sign_sk, &rraw, &rraw_len) != FT_OK) {
        return 1;
    }
    put("fuzz_wire", "signed-receipt", rraw, rraw_len);
    w[3].kind = WIRE_RECEIPT;
    w[3].u.receipt.body = rc;
    w[3].u.receipt.raw = rraw;
    w[3].u.receipt.raw_len = rraw_len;
    w[4].kind = WIRE_ERROR;
    w[4].u.error.code = FT_ECHAIN;
    snprintf(w[4].u.error.reason, sizeof w[4].u.error.reason, "broken_chain");
    snprintf(w[4].u.error.message, sizeof w[4].u.error.message, "entry 3 does not link");
    w[4].u.error.epoch = 0x1234567890abcdULL;
    w[4].u.error.seq = 3;
    w[5].kind = WIRE_PING;
    w[5].u.nonce = 77;
    w[6].kind = WIRE_PONG;
    w[6].u.nonce = 77;
    for (int i = 0; i < 7; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        if (wire_encode(&w[i], &buf, &len) != FT_OK) {
            fprintf(stderr, "wire_encode %s failed\n", wire_kind_name(w[i].kind));
            return 1;
        }
        put("fuzz_wire", wire_kind_name(w[i].kind), buf, len);
        free(buf);
    }
    free(rraw);

    /* Media messages of every kind. */
    mwire_msg_t mw[5];
    memset(mw, 0, sizeof mw);
    uint8_t ids[2][MEDIA_FILE_ID_BYTES];
    memset(ids[0], 0x11, MEDIA_FILE_ID_BYTES);
    memset(ids[1], 0x12, MEDIA_FILE_ID_BYTES);
    mw[0].kind = MWIRE_HELLO;
    mw[0].u.hello.version = MWIRE_VERSION;
    mw[0].u.hello.n_pending = 2;
    mw[0].u.hello.pending = (const uint8_t(*)[MEDIA_FILE_ID_BYTES])ids;
    mw[1].kind = MWIRE_WELCOME;
    memcpy(mw[1].u.welcome.hub_sign_pk, mhub.sign_pk, 32);
    mw[1].u.welcome.window = 8;
    mw[2].kind = MWIRE_REQUEST;
    memcpy(mw[2].u.request.file_id, ids[0], MEDIA_FILE_ID_BYTES);
    mw[2].u.request.index = 1;
    uint8_t chunk[200];
    memset(chunk, 0x5a, sizeof chunk);
    mw[3].kind = MWIRE_CHUNK;
    memcpy(mw[3].u.chunk.file_id, ids[0], MEDIA_FILE_ID_BYTES);
    mw[3].u.chunk.index = 1;
    mw[3].u.chunk.data = chunk;
    mw[3].u.chunk.len = sizeof chunk;
    mwire_receipt_t mr = {.size = mf.size, .hub_time_ms = 1772323200300LL};
    memcpy(mr.device, devid, DEVID_BYTES);
    memcpy(mr.file_id, fid, MEDIA_FILE_ID_BYTES);
    memcpy(mr.merkle_root, root, 32);
    memcpy(mr.content_hash, root, 32);
    uint8_t *mraw = NULL;
    size_t mraw_len = 0;
    if (mwire_receipt_seal(&mr, mhub.sign_sk, &mraw, &mraw_len) != FT_OK) {
        return 1;
    }
    put("fuzz_mediawire", "signed-receipt", mraw, mraw_len);
    mw[4].kind = MWIRE_RECEIPT;
    mw[4].u.receipt.raw = mraw;
    mw[4].u.receipt.len = mraw_len;
    for (int i = 0; i < 5; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        if (mwire_encode(&mw[i], &buf, &len) != FT_OK) {
            fprintf(stderr, "mwire_encode %s failed\n", mwire_kind_name(mw[i].kind));
            return 1;
        }
        put("fuzz_mediawire", mwire_kind_name(mw[i].kind), buf, len);
        free(buf);
    }
    free(mraw);

    /* The data path's forms: a welcome that offers a data port and its
     * token, a request to answer on the secure link, a chunk carrying device
     * and token (as mwire_encode packs it, data before them), a missing
     * chunk, and chunks framed around their data (mwire_chunk_header, what
     * the edge sends; read in place by mwire_decode) with and without
     * device and token. */
    mw[1].u.welcome.data_port = 7711;
    memset(mw[1].u.welcome.data_token, 0x7e, MWIRE_TOKEN_BYTES);
    mw[2].u.request.secure = true;
    mw[3].u.chunk.has_auth = true;
    memcpy(mw[3].u.chunk.device, devid, DEVID_BYTES);
    memset(mw[3].u.chunk.token, 0x7e, MWIRE_TOKEN_BYTES);
    mwire_msg_t missing = mw[3];
    missing.u.chunk.has_auth = false;
    missing.u.chunk.missing = true;
    missing.u.chunk.data = NULL;
    missing.u.chunk.len = 0;
    const struct {
        const char *name;
        const mwire_msg_t *m;
    } data_path[] = {{"media-welcome-data-port", &mw[1]},
                     {"chunk-request-secure", &mw[2]},
                     {"chunk-auth", &mw[3]},
                     {"chunk-missing", &missing}};
    for (size_t i = 0; i < sizeof data_path / sizeof data_path[0]; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        if (mwire_encode(data_path[i].m, &buf, &len) != FT_OK) {
            fprintf(stderr, "mwire_encode %s failed\n", data_path[i].name);
            return 1;
        }
        put("fuzz_mediawire", data_path[i].name, buf, len);
        free(buf);
    }
    for (int auth = 0; auth <= 1; auth++) {
        mw[3].u.chunk.has_auth = auth;
        mw[3].u.chunk.index = auth ? 300 : 0; /* a one- and a two-byte varint */
        uint8_t framed[MWIRE_CHUNK_HEADER_MAX + sizeof chunk];
        size_t h = mwire_chunk_header(&mw[3], framed);
        if (h == 0) {
            fprintf(stderr, "mwire_chunk_header failed\n");
            return 1;
        }
        memcpy(framed + h, chunk, sizeof chunk);
        put("fuzz_mediawire", auth ? "chunk-framed-auth" : "chunk-framed", framed,
            h + sizeof chunk);
    }

    /* Rule pack: the whole default pack, and each rule block alone. */
    size_t plen;
    char *pack = slurp(argv[3], &plen);
    put("fuzz_rules", "default.rules", (const uint8_t *)pack, plen);
    int block = 0;
    char *p = strstr(pack, "\nrule:");
    while (p && block < 20) {
        char *next = strstr(p + 1, "\nrule:");
        size_t n = next ? (size_t)(next - p) : strlen(p);
        char name[32];
        snprintf(name, sizeof name, "rule%02d.rules", ++block);
        put("fuzz_rules", name, (const uint8_t *)p + 1, n - 1);
        p = next;
    }

    for (size_t i = 0; i < n_bodies; i++) {
        free(entries[i]);
    }
    for (size_t i = 0; i < 8; i++) {
        record_free(&recs[i]);
    }
    free(records);
    free(pack);
    keys_wipe(&dev);
    keys_wipe(&hub);
    keys_wipe(&mhub);
    printf("seeds written to %s: %d record lines, %zu entries and bodies, 7 wire, 11 media "
           "messages, %d rule blocks\n",
           out_dir, line_no, n_bodies, block);
    return 0;
}
