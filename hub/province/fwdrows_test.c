/* fwdrows_test.c: the rows a forwarded batch becomes: an entry's row holds
 * its exact signed bytes and its own time; a manifest also gives a media
 * row and what re-sealing needs; bytes that do not decode are refused, not
 * skipped; batches are cut by entries and bytes; the lag. */
#include "fwdrows.h"

#include "entry.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static keys_t k;

static uint8_t *seal(Ft__Body *body, uint64_t epoch, uint64_t seq, uint64_t hlc, size_t *len)
{
    uint8_t id[DEVID_BYTES], prev[32] = {0}, hash[32];
    devid_from_pk(k.sign_pk, id);
    Ft__Entry e = FT__ENTRY__INIT;
    e.device.data = id;
    e.device.len = DEVID_BYTES;
    e.epoch = epoch;
    e.seq = seq;
    e.hlc = hlc;
    e.prev_hash.data = prev;
    e.prev_hash.len = 32;
    e.body = body;
    uint8_t *out = NULL;
    assert_int_equal(entry_seal(&e, &k, &out, len, hash), FT_OK);
    return out;
}

static char *text_of(const pgcopy_t *c)
{
    char *s = malloc(c->len + 1);
    assert_non_null(s);
    memcpy(s, c->buf, c->len);
    s[c->len] = '\0';
    return s;
}

static void hexof(const uint8_t *p, size_t n, char *out)
{
    hex_encode(p, n, out);
}

static void test_event_row(void **state)
{
    (void)state;
    Ft__DeviceEvent ev = FT__DEVICE_EVENT__INIT;
    ev.kind = FT__DEVICE_EVENT_KIND__DEVICE_STARTED;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_EVENT;
    body.event = &ev;
    uint64_t hlc = ((uint64_t)1796650200123ULL << 16) | 7;
    size_t len = 0;
    uint8_t *raw = seal(&body, UINT64_MAX, 3, hlc, &len);
    pgcopy_t rows, media;
    pgcopy_init(&rows);
    pgcopy_init(&media);
    fwd_media_t m;
    bool is_media = true;
    assert_int_equal(fwd_entry_rows("east", 99, raw, len, &rows, &media, &m, &is_media), FT_OK);
    assert_false(is_media);
    assert_int_equal(rows.rows, 1);
    assert_int_equal(media.rows, 0);
    uint8_t id[DEVID_BYTES];
    devid_from_pk(k.sign_pk, id);
    char idh[2 * DEVID_BYTES + 1], *rawh = malloc(2 * len + 1), want[8192];
    hexof(id, DEVID_BYTES, idh);
    hexof(raw, len, rawh);
    snprintf(want, sizeof want,
             "\\\\x%s\t-1\t3\t2026-12-07 13:30:00.123+00\t%lld\teast\t99\tevent\t\\\\x%s\n", idh,
             (long long)hlc, rawh);
    char *got = text_of(&rows);
    assert_string_equal(got, want);
    free(got);
    free(rawh);
    /* Altered bytes are refused. */
    raw[len / 2] ^= 0xff;
    pgcopy_reset(&rows);
    int rc = fwd_entry_rows("east", 100, raw, 3, &rows, &media, &m, &is_media);
    assert_int_equal(rc, FT_ECORRUPT);
    free(raw);
    pgcopy_free(&rows);
    pgcopy_free(&media);
}

static void test_manifest_rows(void **state)
{
    (void)state;
    uint8_t fid[MEDIA_FILE_ID_BYTES], sealed[MEDIA_SEALED_KEY_BYTES], root[32], ch[32],
        h1[32] = {1}, h2[32] = {2};
    memset(fid, 0x11, sizeof fid);
    memset(sealed, 0x22, sizeof sealed);
    memset(root, 0x33, sizeof root);
    memset(ch, 0x44, sizeof ch);
    ProtobufCBinaryData hashes[2] = {{32, h1}, {32, h2}};
    Ft__MediaManifest mf = FT__MEDIA_MANIFEST__INIT;
    mf.file_id = (ProtobufCBinaryData){sizeof fid, fid};
    mf.size = 3000000;
    mf.chunk_size = 2000000;
    mf.merkle_root = (ProtobufCBinaryData){sizeof root, root};
    mf.n_chunk_hashes = 2;
    mf.chunk_hashes = hashes;
    mf.content_hash = (ProtobufCBinaryData){sizeof ch, ch};
    mf.sealed_key = (ProtobufCBinaryData){sizeof sealed, sealed};
    mf.kind = FT__MEDIA_KIND__VIDEO;
    mf.case_id = "C-1\t2";
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_MEDIA;
    body.media = &mf;
    size_t len = 0;
    uint8_t *raw = seal(&body, 5, 9, (uint64_t)1000 << 16, &len);
    pgcopy_t rows, media;
    pgcopy_init(&rows);
    pgcopy_init(&media);
    fwd_media_t m;
    bool is_media = false;
    assert_int_equal(fwd_entry_rows("east", 1, raw, len, &rows, &media, &m, &is_media), FT_OK);
    assert_true(is_media);
    assert_memory_equal(m.file_id, fid, sizeof fid);
    assert_memory_equal(m.sealed, sealed, sizeof sealed);
    assert_int_equal(m.at_ms, 1000);
    char *got = text_of(&media);
    uint8_t id[DEVID_BYTES];
    devid_from_pk(k.sign_pk, id);
    char idh[2 * DEVID_BYTES + 1], want[1024];
    hexof(id, DEVID_BYTES, idh);
    snprintf(want, sizeof want,
             "\\\\x11111111111111111111111111111111\t1970-01-01 00:00:01.000+00\teast\t\\\\x%s\t5\t"
             "9\t3000000\t2000000\t2\t\\\\x%s\t\\\\x%s\t%d\tC-1\\t2\n",
             idh, "3333333333333333333333333333333333333333333333333333333333333333",
             "4444444444444444444444444444444444444444444444444444444444444444",
             (int)FT__MEDIA_KIND__VIDEO);
    assert_string_equal(got, want);
    free(got);
    /* Its re-sealed key's row. */
    pgcopy_t keys;
    pgcopy_init(&keys);
    uint8_t apk[32] = {0};
    fwd_key_row("east", &m, apk, sealed, 2, 7, 12, &keys);
    got = text_of(&keys);
    assert_string_equal(got, "\\\\x11111111111111111111111111111111\t\\\\x"
                             "0000000000000000000000000000000000000000000000000000000000000000\t"
                             "1970-01-01 00:00:01.000+00\teast\t\\\\x2222\t7\t12\n");
    free(got);
    pgcopy_free(&keys);
    free(raw);
    pgcopy_free(&rows);
    pgcopy_free(&media);
}

static void test_hub_and_enrol_rows(void **state)
{
    (void)state;
    Ft__AuditEvent a = FT__AUDIT_EVENT__INIT;
    a.user = "u";
    a.action = "x";
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_AUDIT;
    body.audit = &a;
    size_t len = 0;
    uint8_t *raw = seal(&body, 1, 1, 0, &len);
    pgcopy_t hub, en;
    pgcopy_init(&hub);
    pgcopy_init(&en);
    assert_int_equal(fwd_hub_row("west", raw, len, &hub), FT_OK);
    char *got = text_of(&hub);
    assert_non_null(strstr(got, "\t1\t1\t1970-01-01 00:00:00.000+00\t0\twest\taudit\t\\\\x"));
    free(got);
    assert_int_equal(fwd_hub_row("west", raw, 1, &hub), FT_ECORRUPT);
    uint8_t dev[DEVID_BYTES] = {0}, pk[32] = {0};
    fwd_enrol_rows("west", dev, pk, pk, "unit 1", "car\n2", false, 1000, 0, &en);
    assert_int_equal(en.rows, 1);
    fwd_enrol_rows("west", dev, pk, pk, "unit 1", "car 2", true, 1000, 2000, &en);
    assert_int_equal(en.rows, 3);
    got = text_of(&en);
    assert_non_null(strstr(got, "\tunit 1\tcar\\n2\t1970-01-01 00:00:01.000+00\n"));
    assert_non_null(strstr(got, "\tt\t"));
    assert_non_null(strstr(got, "car 2\t1970-01-01 00:00:02.000+00\n"));
    free(got);
    free(raw);
    pgcopy_free(&hub);
    pgcopy_free(&en);
}

static void test_batch_cut_and_lag(void **state)
{
    (void)state;
    fwd_batch_t b;
    fwd_batch_init(&b, 3, 1000);
    assert_true(fwd_batch_room(&b, 5000)); /* the first always goes, however big */
    fwd_batch_add(&b, 10, 5000);
    assert_false(fwd_batch_room(&b, 1)); /* over the bytes now */
    fwd_batch_init(&b, 3, 1000);
    for (uint64_t i = 1; i <= 3; i++) {
        assert_true(fwd_batch_room(&b, 100));
        fwd_batch_add(&b, 20 + i, 100);
    }
    assert_false(fwd_batch_room(&b, 100)); /* over the count */
    assert_int_equal(b.first, 21);
    assert_int_equal(b.last, 23);
    assert_int_equal(b.bytes, 300);
    fwd_batch_init(&b, 10, 250);
    fwd_batch_add(&b, 1, 200);
    assert_true(fwd_batch_room(&b, 50));
    assert_false(fwd_batch_room(&b, 51));
    assert_int_equal(fwd_behind(100, 40), 60);
    assert_int_equal(fwd_behind(100, 100), 0);
    assert_int_equal(fwd_behind(5, 100), 0); /* the province ahead (a restored county store) */
    assert_int_equal(fwd_hlc_ms(((uint64_t)123 << 16) | 0xffff), 123);
}

int main(void)
{
    if (keys_generate(&k, false) != FT_OK) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_row),
        cmocka_unit_test(test_manifest_rows),
        cmocka_unit_test(test_hub_and_enrol_rows),
        cmocka_unit_test(test_batch_cut_and_lag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
