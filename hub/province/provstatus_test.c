/* provstatus_test.c: the forwarder's status survives a reopen; a file key
 * re-sealed to the province opens with the province's key, is written to
 * the hub log in the same transaction (an audit entry naming the file and
 * the hash of the sealed key), and a second call gives the same bytes
 * without a second log entry; a key not sealed to this hub is marked
 * unopenable with nothing written for it, the rest of the call going on. */
#include "provstatus.h"

#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static char dir[512];
static keys_t hub;

static devlog_t *open_log(void)
{
    devlog_t *log = NULL;
    assert_int_equal(devlog_open(dir, &hub, NULL, &log), FT_OK);
    return log;
}

static void test_status_roundtrip(void **state)
{
    (void)state;
    devlog_t *log = open_log();
    prov_status_t st;
    assert_int_equal(prov_status_read(log, &st), FT_OK);
    assert_false(st.present);
    memset(&st, 0, sizeof st);
    snprintf(st.county, sizeof st.county, "east");
    snprintf(st.state, sizeof st.state, "waiting");
    snprintf(st.last_error, sizeof st.last_error, "connection refused");
    st.checkpoint = 1234;
    st.hublog_checkpoint = 56;
    st.last_success_ms = 1700000000000;
    st.last_error_ms = 1700000001000;
    st.sent_entries = 99;
    st.sent_duplicates = 3;
    st.keys_resealed = 2;
    st.pid = 4242;
    assert_int_equal(prov_status_write(log, &st), FT_OK);
    devlog_destroy(&log);
    log = open_log();
    prov_status_t got;
    assert_int_equal(prov_status_read(log, &got), FT_OK);
    assert_true(got.present);
    assert_string_equal(got.county, "east");
    assert_string_equal(got.state, "waiting");
    assert_string_equal(got.last_error, "connection refused");
    assert_int_equal(got.checkpoint, 1234);
    assert_int_equal(got.hublog_checkpoint, 56);
    assert_int_equal(got.last_success_ms, 1700000000000);
    assert_int_equal(got.last_error_ms, 1700000001000);
    assert_int_equal(got.sent_entries, 99);
    assert_int_equal(got.sent_duplicates, 3);
    assert_int_equal(got.keys_resealed, 2);
    assert_int_equal(got.pid, 4242);
    devlog_destroy(&log);
}

typedef struct {
    int audits;
    char target[64];
    char detail[256];
} seen_t;

static int count_audits(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    (void)seq;
    seen_t *s = ctx;
    entry_view_t v;
    assert_int_equal(entry_open(raw, len, &v), FT_OK);
    const Ft__Body *b = v.entry->body;
    if (b->kind_case == FT__BODY__KIND_AUDIT &&
        strcmp(b->audit->action, "media_key_resealed") == 0) {
        s->audits++;
        snprintf(s->target, sizeof s->target, "%s", b->audit->target);
        snprintf(s->detail, sizeof s->detail, "%s", b->audit->detail);
    }
    entry_view_free(&v);
    return 0;
}

static void test_reseal(void **state)
{
    (void)state;
    devlog_t *log = open_log();
    keys_t prov;
    assert_int_equal(keys_generate(&prov, true), FT_OK);
    uint8_t fk[MEDIA_KEY_BYTES], fid[MEDIA_FILE_ID_BYTES], sealed[MEDIA_SEALED_KEY_BYTES];
    media_key_new(fk);
    media_file_id_new(fid);
    assert_int_equal(media_key_seal(fk, hub.archive_pk, sealed), FT_OK);
    prov_reseal_t it = {fid, sealed};
    prov_key_t out, again;
    assert_int_equal(prov_keys_reseal(log, &hub, prov.archive_pk, &it, 1, &out), FT_OK);
    assert_true(out.fresh);
    assert_int_equal(out.hublog_epoch, devlog_epoch(log));
    uint8_t opened[MEDIA_KEY_BYTES];
    assert_int_equal(
        media_key_unseal(out.sealed, sizeof out.sealed, prov.archive_pk, prov.archive_sk, opened),
        FT_OK);
    assert_memory_equal(opened, fk, sizeof fk);
    /* Not openable by the county hub's own archive pair. */
    assert_int_not_equal(
        media_key_unseal(out.sealed, sizeof out.sealed, hub.archive_pk, hub.archive_sk, opened),
        FT_OK);
    assert_int_equal(prov_keys_reseal(log, &hub, prov.archive_pk, &it, 1, &again), FT_OK);
    assert_false(again.fresh);
    assert_memory_equal(again.sealed, out.sealed, sizeof out.sealed);
    assert_int_equal(again.hublog_seq, out.hublog_seq);
    seen_t s = {0};
    assert_int_equal(devlog_iter(log, 1, 0, count_audits, &s), FT_OK);
    assert_int_equal(s.audits, 1);
    char fid_hex[33], h_hex[65];
    uint8_t h[32];
    hex_encode(fid, sizeof fid, fid_hex);
    assert_string_equal(s.target, fid_hex);
    prov_sealed_hash(out.sealed, sizeof out.sealed, h);
    hex_encode(h, 32, h_hex);
    assert_non_null(strstr(s.detail, h_hex));
    uint64_t head = 0;
    uint8_t hh[32];
    assert_int_equal(devlog_head(log, &head, hh), FT_OK);
    assert_int_equal(head, out.hublog_seq);

    /* A key sealed to another archive key: refused, nothing written. */
    keys_t other;
    assert_int_equal(keys_generate(&other, true), FT_OK);
    uint8_t fid2[MEDIA_FILE_ID_BYTES], bad[MEDIA_SEALED_KEY_BYTES];
    media_file_id_new(fid2);
    assert_int_equal(media_key_seal(fk, other.archive_pk, bad), FT_OK);
    prov_reseal_t two[2] = {{fid2, sealed}, {fid2, bad}};
    prov_reseal_t badit = {fid2, bad};
    prov_key_t o2[2];
    assert_int_equal(prov_keys_reseal(log, &hub, prov.archive_pk, &badit, 1, o2), FT_OK);
    assert_true(o2[0].unopenable);
    assert_false(o2[0].fresh);
    uint64_t head2 = 0;
    assert_int_equal(devlog_head(log, &head2, hh), FT_OK);
    assert_int_equal(head2, head);
    /* With a good one in the same call: that one is re-sealed. */
    uint8_t fid3[MEDIA_FILE_ID_BYTES];
    media_file_id_new(fid3);
    prov_reseal_t mixed[2] = {{fid3, bad}, {fid2, sealed}};
    assert_int_equal(prov_keys_reseal(log, &hub, prov.archive_pk, mixed, 2, o2), FT_OK);
    assert_true(o2[0].unopenable);
    assert_true(o2[1].fresh);
    assert_int_equal(devlog_head(log, &head2, hh), FT_OK);
    assert_int_equal(head2, head + 1);
    head = head2;
    /* The same file twice in one call: one re-sealing. */
    uint8_t fid4[MEDIA_FILE_ID_BYTES];
    media_file_id_new(fid4);
    prov_reseal_t dup[2] = {{fid4, sealed}, {fid4, sealed}};
    (void)two;
    assert_int_equal(prov_keys_reseal(log, &hub, prov.archive_pk, dup, 2, o2), FT_OK);
    assert_true(o2[0].fresh);
    assert_false(o2[1].fresh);
    assert_memory_equal(o2[0].sealed, o2[1].sealed, MEDIA_SEALED_KEY_BYTES);
    assert_int_equal(devlog_head(log, &head2, hh), FT_OK);
    assert_int_equal(head2, head + 1);
    /* A hub without an archive pair cannot re-seal. */
    keys_t noarch = hub;
    noarch.has_archive = false;
    assert_int_equal(prov_keys_reseal(log, &noarch, prov.archive_pk, &it, 1, o2), FT_EKEY);
    devlog_destroy(&log);
}

int main(void)
{
    testutil_tmpdir(dir, sizeof dir, "provstatus");
    if (keys_generate(&hub, true) != FT_OK) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_roundtrip),
        cmocka_unit_test(test_reseal),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    testutil_rmrf(dir);
    return rc;
}
