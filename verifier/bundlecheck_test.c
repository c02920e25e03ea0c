/* bundlecheck_test.c: the verifier on a bundle built here from scratch (a
 * device log with a record of the case, a record of another case and a
 * media manifest; a hub receipt; the media file), then altered one way at a
 * time: each problem must be named (bundlecheck.h). */
#include "bundlecheck.h"
#include "bundlefmt.h"
#include "entry.h"
#include "fsutil.h"
#include "keys.h"
#include "media.h"
#include "testutil.h"
#include "wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define EPOCH 77
#define CS MEDIA_CHUNK_MIN
#define FILE_BYTES (CS * 2 + 1000)

/* What a built bundle is made of. */
typedef struct {
    char dir[512];
    keys_t dev, hub;
    char dev_text[DEVID_TEXT_SIZE];
    char log_rel[128];
    json_t *manifest; /* without "files" */
    uint8_t plain[FILE_BYTES];
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
} fixture_t;

static void put(fixture_t *f, const char *rel, const void *data, size_t len)
{
    char path[1024], d[1024];
    snprintf(path, sizeof path, "%s/%s", f->dir, rel);
    snprintf(d, sizeof d, "%s", path);
    *strrchr(d, '/') = '\0';
    assert_int_equal(fsutil_mkdirs(d, 0755), FT_OK);
    assert_int_equal(fsutil_write_atomic(path, data, len, 0644), FT_OK);
}

static uint8_t *seal(fixture_t *f, uint64_t seq, const uint8_t prev[32], Ft__Body *body,
                     size_t *len, uint8_t hash[32])
{
    uint8_t id[DEVID_BYTES];
    devid_from_pk(f->dev.sign_pk, id);
    Ft__Entry e = FT__ENTRY__INIT;
    e.device.data = id;
    e.device.len = DEVID_BYTES;
    e.epoch = EPOCH;
    e.seq = seq;
    e.hlc = (uint64_t)1780000000000 << 16;
    e.prev_hash.data = (uint8_t *)prev;
    e.prev_hash.len = 32;
    e.body = body;
    uint8_t *out = NULL;
    assert_int_equal(entry_seal(&e, &f->dev, &out, len, hash), FT_OK);
    return out;
}

static Ft__Body record_body(Ft__Record *r, const char *case_id, const char *id)
{
    ft__record__init(r);
    r->type = FT__RECORD_TYPE__INQUIRY;
    r->case_id = (char *)case_id;
    r->id = (char *)id;
    Ft__Body b = FT__BODY__INIT;
    b.kind_case = FT__BODY__KIND_RECORD;
    b.record = r;
    return b;
}

/* Writes bundle.json (with the file list of what is on disk) and its signature. */
static void sign_manifest(fixture_t *f, json_t *m)
{
    bsrc_t *s = NULL;
    char mp[1024];
    snprintf(mp, sizeof mp, "%s/%s", f->dir, BUNDLE_MANIFEST);
    remove(mp);
    snprintf(mp, sizeof mp, "%s/%s", f->dir, BUNDLE_SIG);
    remove(mp);
    assert_int_equal(bsrc_open(f->dir, &s), FT_OK);
    json_t *files = json_array();
    for (size_t i = 0; i < bsrc_count(s); i++) {
        uint8_t h[32];
        char hex[65];
        assert_int_equal(bsrc_hash(s, i, h), FT_OK);
        hex_encode(h, 32, hex);
        json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "path", bsrc_name(s, i), "bytes",
                                               (json_int_t)bsrc_size(s, i), "blake2b", hex));
    }
    bsrc_destroy(&s);
    json_t *copy = json_deep_copy(m);
    json_object_set_new(copy, "files", files);
    char *text = json_dumps(copy, JSON_INDENT(1));
    json_decref(copy);
    char sig[BUNDLE_SIG_HEX];
    assert_int_equal(
        bundle_sign(BUNDLE_DOMAIN, (const uint8_t *)text, strlen(text), f->hub.sign_sk, sig),
        FT_OK);
    put(f, BUNDLE_MANIFEST, text, strlen(text));
    put(f, BUNDLE_SIG, sig, strlen(sig));
    free(text);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    testutil_tmpdir(f->dir, sizeof f->dir, "bundlecheck");
    assert_int_equal(keys_generate(&f->dev, false), FT_OK);
    assert_int_equal(keys_generate(&f->hub, true), FT_OK);
    uint8_t id[DEVID_BYTES];
    devid_from_pk(f->dev.sign_pk, id);
    devid_format(id, f->dev_text);
    snprintf(f->log_rel, sizeof f->log_rel, "logs/%s-%d.log", f->dev_text, EPOCH);
    /* The media file: chunks encrypted with a fresh key, hashed, rooted. */
    randombytes_buf(f->plain, sizeof f->plain);
    uint8_t key[MEDIA_KEY_BYTES], hashes[3][MEDIA_HASH_BYTES], root[32], chash[32];
    media_file_id_new(f->file_id);
    media_key_new(key);
    uint32_t n = media_chunk_count(FILE_BYTES, CS);
    assert_int_equal(n, 3);
    uint8_t ct[CS + MEDIA_TAG_BYTES];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = media_chunk_len(FILE_BYTES, CS, i);
        assert_int_equal(
            media_chunk_encrypt(key, f->file_id, i, f->plain + (size_t)i * CS, len, ct), FT_OK);
        media_chunk_hash(f->file_id, i, ct, len + MEDIA_TAG_BYTES, hashes[i]);
    }
    assert_int_equal(media_merkle_root((const uint8_t(*)[32])hashes, n, root), FT_OK);
    crypto_hash_sha256(chash, f->plain, sizeof f->plain);
    uint8_t sealed[MEDIA_SEALED_KEY_BYTES];
    assert_int_equal(media_key_seal(key, f->hub.archive_pk, sealed), FT_OK);
    /* The log: 1 record of C, 2 record of OTHER, 3 the manifest. */
    char *logbuf = NULL;
    size_t loglen = 0;
    FILE *lf = open_memstream(&logbuf, &loglen);
    uint8_t prev[32] = {0}, hash[32];
    size_t len;
    Ft__Record r1, r2;
    Ft__Body b1 = record_body(&r1, "C", "rec-1"), b2 = record_body(&r2, "OTHER", "rec-2");
    uint8_t *e1 = seal(f, 1, prev, &b1, &len, hash);
    assert_int_equal(bframe_write(lf, e1, len), FT_OK);
    memcpy(prev, hash, 32);
    uint8_t *e2 = seal(f, 2, prev, &b2, &len, hash);
    assert_int_equal(bframe_write(lf, e2, len), FT_OK);
    memcpy(prev, hash, 32);
    Ft__MediaManifest mf = FT__MEDIA_MANIFEST__INIT;
    ProtobufCBinaryData ch[3];
    for (int i = 0; i < 3; i++) {
        ch[i].data = hashes[i];
        ch[i].len = 32;
    }
    mf.file_id.data = f->file_id;
    mf.file_id.len = MEDIA_FILE_ID_BYTES;
    mf.size = FILE_BYTES;
    mf.chunk_size = CS;
    mf.has_format = true;
    mf.format = MEDIA_FORMAT;
    mf.merkle_root.data = root;
    mf.merkle_root.len = 32;
    mf.n_chunk_hashes = 3;
    mf.chunk_hashes = ch;
    mf.content_hash.data = chash;
    mf.content_hash.len = 32;
    mf.sealed_key.data = sealed;
    mf.sealed_key.len = sizeof sealed;
    mf.kind = FT__MEDIA_KIND__VIDEO;
    mf.case_id = "C";
    Ft__Body b3 = FT__BODY__INIT;
    b3.kind_case = FT__BODY__KIND_MEDIA;
    b3.media = &mf;
    uint8_t *e3 = seal(f, 3, prev, &b3, &len, hash);
    assert_int_equal(bframe_write(lf, e3, len), FT_OK);
    fclose(lf);
    put(f, f->log_rel, logbuf, loglen);
    free(logbuf);
    free(e1);
    free(e2);
    free(e3);
    /* The hub's receipt for seq 3. */
    wire_receipt_t rc = {.epoch = EPOCH, .upto_seq = 3, .hub_time_ms = 1780000000000};
    memcpy(rc.device, id, DEVID_BYTES);
    memcpy(rc.upto_hash, hash, 32);
    uint8_t *rraw = NULL;
    size_t rlen = 0;
    assert_int_equal(wire_receipt_seal(&rc, f->hub.sign_sk, &rraw, &rlen), FT_OK);
    char *rbuf = NULL;
    size_t rblen = 0;
    FILE *rf = open_memstream(&rbuf, &rblen);
    assert_int_equal(bframe_write(rf, rraw, rlen), FT_OK);
    fclose(rf);
    char rrel[128];
    snprintf(rrel, sizeof rrel, "receipts/%s-%d.bin", f->dev_text, EPOCH);
    put(f, rrel, rbuf, rblen);
    free(rbuf);
    free(rraw);
    /* Device and media files. */
    char spk[65], hpk[65], keyhex[65], fid[33], drel[96], mrel[96];
    hex_encode(f->dev.sign_pk, 32, spk);
    hex_encode(f->hub.sign_pk, 32, hpk);
    hex_encode(key, 32, keyhex);
    hex_encode(f->file_id, 16, fid);
    json_t *dj = json_pack("{s:s, s:s}", "device_id", f->dev_text, "sign_pk", spk);
    char *dtext = json_dumps(dj, 0);
    snprintf(drel, sizeof drel, "devices/%s.json", f->dev_text);
    put(f, drel, dtext, strlen(dtext));
    free(dtext);
    json_decref(dj);
    snprintf(mrel, sizeof mrel, "media/%s.mp4", fid);
    put(f, mrel, f->plain, sizeof f->plain);
    char r1ref[96], r3ref[96];
    snprintf(r1ref, sizeof r1ref, "%s/%d/1", f->dev_text, EPOCH);
    snprintf(r3ref, sizeof r3ref, "%s/%d/3", f->dev_text, EPOCH);
    f->manifest =
        json_pack("{s:s, s:s, s:{s:s}, s:[{s:s, s:s}], s:[{s:s, s:I, s:s, s:I, s:s}], "
                  "s:[{s:s, s:s}, {s:s, s:s, s:s, s:s, s:s, s:s}]}",
                  "format", BUNDLE_FORMAT, "case", "C", "hub", "sign_pk", hpk, "devices",
                  "device_id", f->dev_text, "file", drel, "logs", "device_id", f->dev_text, "epoch",
                  (json_int_t)EPOCH, "file", f->log_rel, "entries", (json_int_t)3, "receipts", rrel,
                  "items", "ref", r1ref, "kind", "record", "ref", r3ref, "kind", "media", "status",
                  "included", "file", mrel, "file_key", keyhex, "file_id", fid);
    assert_non_null(f->manifest);
    sign_manifest(f, f->manifest);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    testutil_rmrf(f->dir);
    json_decref(f->manifest);
    keys_wipe(&f->dev);
    keys_wipe(&f->hub);
    free(f);
    return 0;
}

/* Verifies and returns the report (caller decrefs). */
static json_t *check(fixture_t *f)
{
    json_t *r = NULL;
    assert_int_equal(bcheck_path(f->dir, NULL, &r), FT_OK);
    return r;
}

/* True if the report names item (a prefix) as what. */
static bool names(const json_t *r, const char *what, const char *item)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(r, "problems"), i, p)
    {
        const char *w = json_string_value(json_object_get(p, "what"));
        const char *it = json_string_value(json_object_get(p, "item"));
        if (strcmp(w, what) == 0 && strncmp(it, item, strlen(item)) == 0) {
            return true;
        }
    }
    return false;
}

static void flip_byte(fixture_t *f, const char *rel, long off)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", f->dir, rel);
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, off, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, off, SEEK_SET);
    fputc(c ^ 0x01, fp);
    fclose(fp);
}

static void test_a_fresh_bundle_verifies(void **state)
{
    fixture_t *f = *state;
    json_t *r = check(f);
    if (!json_is_true(json_object_get(r, "ok"))) {
        bcheck_print(r, stderr);
    }
    assert_true(json_is_true(json_object_get(r, "ok")));
    const json_t *c = json_object_get(r, "counts");
    assert_int_equal(json_integer_value(json_object_get(c, "records")), 1);
    assert_int_equal(json_integer_value(json_object_get(c, "media_checked")), 1);
    assert_int_equal(json_integer_value(json_object_get(c, "receipts")), 1);
    json_decref(r);
}

static void test_an_altered_record_byte_is_named(void **state)
{
    fixture_t *f = *state;
    char path[1024], *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", f->dir, f->log_rel);
    assert_int_equal(fsutil_read_all(path, &data, &len), FT_OK);
    const char *at = memmem(data, len, "rec-1", 5); /* the record id inside entry 1 */
    assert_non_null(at);
    flip_byte(f, f->log_rel, (long)(at - data) + 4);
    free(data);
    sign_manifest(f, f->manifest); /* even re-signed by the hub, the device signature fails */
    json_t *r = check(f);
    char item[200];
    snprintf(item, sizeof item, "%s#seq=1", f->log_rel);
    if (!names(r, "bad_signature", item)) {
        bcheck_print(r, stderr);
    }
    assert_false(json_is_true(json_object_get(r, "ok")));
    assert_true(names(r, "bad_signature", item));
    json_decref(r);
}

static void test_an_altered_media_chunk_is_named(void **state)
{
    fixture_t *f = *state;
    char fid[33], rel[96];
    hex_encode(f->file_id, 16, fid);
    snprintf(rel, sizeof rel, "media/%s.mp4", fid);
    flip_byte(f, rel, CS + 5);
    json_t *r = check(f);
    assert_true(names(r, "altered", rel));
    json_decref(r);
    /* Re-signed so that only the content check can find it. */
    sign_manifest(f, f->manifest);
    r = check(f);
    assert_true(names(r, "altered", rel));
    assert_int_equal(json_array_size(json_object_get(r, "problems")), 1);
    json_decref(r);
}

static void test_a_record_left_out_of_the_list_is_named(void **state)
{
    fixture_t *f = *state;
    json_t *m = json_deep_copy(f->manifest);
    json_array_remove(json_object_get(m, "items"), 0);
    sign_manifest(f, m);
    json_decref(m);
    json_t *r = check(f);
    char item[200];
    snprintf(item, sizeof item, "item %s/%d/1", f->dev_text, EPOCH);
    assert_true(names(r, "left_out", item));
    json_decref(r);
}

static void test_a_forged_signature_and_added_files_are_named(void **state)
{
    fixture_t *f = *state;
    put(f, BUNDLE_SIG, "00", 2);
    put(f, "extra.txt", "x", 1);
    json_t *r = check(f);
    assert_true(names(r, "bad_signature", BUNDLE_MANIFEST));
    assert_true(names(r, "added", "extra.txt"));
    json_decref(r);
    /* A receipt from another hub key does not count. */
    bcheck_opts_t o;
    memset(&o, 0, sizeof o);
    o.pin_hub = true;
    json_t *r2 = NULL;
    assert_int_equal(bcheck_path(f->dir, &o, &r2), FT_OK);
    assert_true(names(r2, "wrong_hub", BUNDLE_MANIFEST));
    json_decref(r2);
}

static void test_a_removed_log_is_named(void **state)
{
    fixture_t *f = *state;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", f->dir, f->log_rel);
    remove(path);
    json_t *r = check(f);
    assert_true(names(r, "missing", f->log_rel));
    json_decref(r);
}

int main(void)
{
    if (sodium_init() < 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_fresh_bundle_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_altered_record_byte_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_altered_media_chunk_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_record_left_out_of_the_list_is_named, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_forged_signature_and_added_files_are_named, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_removed_log_is_named, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
