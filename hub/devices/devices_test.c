/* devices_test.c: enrolment and revocation against a real store and hub
 * log: what is enrolled, updated or left alone, which conflicts are
 * refused, that every change is one signed Enrolment entry (and a refused
 * or unchanged one none), that a failing `before` writes nothing, and that
 * revocation is final. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "devices.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char dir[512];
    keys_t hub_keys;
    store_t *store;
    devlog_t *hublog;
    hub_parts_t parts;
    keys_t car;   /* a device's keys */
    keys_t other; /* another device's */
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    testutil_tmpdir(fx->dir, sizeof fx->dir, "devices");
    char path[600];
    assert_int_equal(keys_generate(&fx->hub_keys, false), FT_OK);
    assert_int_equal(keys_generate(&fx->car, false), FT_OK);
    assert_int_equal(keys_generate(&fx->other, false), FT_OK);
    snprintf(path, sizeof path, "%s/db", fx->dir);
    assert_int_equal(store_open(path, 16u << 20, &fx->store), FT_OK);
    snprintf(path, sizeof path, "%s/hublog", fx->dir);
    assert_int_equal(devlog_open(path, &fx->hub_keys, NULL, &fx->hublog), FT_OK);
    fx->parts = (hub_parts_t){
        .state = fx->dir, .keys = &fx->hub_keys, .store = fx->store, .hublog = fx->hublog};
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    devlog_destroy(&fx->hublog);
    store_destroy(&fx->store);
    keys_wipe(&fx->hub_keys);
    keys_wipe(&fx->car);
    keys_wipe(&fx->other);
    testutil_rmrf(fx->dir);
    free(fx);
    return 0;
}

static devices_enrol_t req_of(const keys_t *k, const char *unit, const char *vehicle)
{
    devices_enrol_t r = {.unit = unit, .vehicle = vehicle, .by = "tester"};
    memcpy(r.sign_pk, k->sign_pk, 32);
    memcpy(r.transport_pk, k->box_pk, 32);
    return r;
}

static uint64_t log_head(fx_t *fx)
{
    uint64_t head = 0;
    assert_int_equal(devlog_head(fx->hublog, &head, NULL), FT_OK);
    return head;
}

/* The Enrolment of hub-log entry seq. */
typedef struct {
    uint64_t want;
    bool found, revoked;
    char unit[STORE_NAME_MAX], vehicle[STORE_NAME_MAX], by[64];
    uint8_t device[DEVID_BYTES];
} enrolment_t;

static int find_enrolment(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    enrolment_t *e = ctx;
    entry_view_t v;
    if (seq != e->want || entry_open(raw, len, &v) != FT_OK) {
        return 0;
    }
    const Ft__Body *b = v.entry->body;
    if (b && b->kind_case == FT__BODY__KIND_ENROLMENT && b->enrolment->device.len == DEVID_BYTES) {
        e->found = true;
        e->revoked = b->enrolment->revoked;
        snprintf(e->unit, sizeof e->unit, "%s", b->enrolment->unit);
        snprintf(e->vehicle, sizeof e->vehicle, "%s", b->enrolment->vehicle);
        snprintf(e->by, sizeof e->by, "%s", b->enrolment->by);
        memcpy(e->device, b->enrolment->device.data, DEVID_BYTES);
    }
    entry_view_free(&v);
    return 0;
}

static enrolment_t enrolment_at(fx_t *fx, uint64_t seq)
{
    enrolment_t e = {.want = seq};
    assert_int_equal(devlog_iter(fx->hublog, seq, seq, find_enrolment, &e), FT_OK);
    assert_true(e.found);
    return e;
}

static store_device_t stored(fx_t *fx, const uint8_t device[DEVID_BYTES])
{
    store_txn_t *t = NULL;
    store_device_t d;
    assert_int_equal(store_begin(fx->store, false, &t), FT_OK);
    assert_int_equal(store_device_get(t, device, &d), FT_OK);
    store_abort(&t);
    return d;
}

static void enrol_update_and_unchanged(void **state)
{
    fx_t *fx = *state;
    devices_outcome_t out;
    devices_enrol_t r = req_of(&fx->car, "南区所", "冀J-ZF031");
    assert_int_equal(devices_enrol(&fx->parts, &r, NULL, NULL, &out), FT_OK);
    assert_int_equal(out.result, DEVICES_ENROLLED);
    assert_string_equal(devices_result_name(out.result), "enrolled");
    uint8_t id[DEVID_BYTES];
    devid_from_pk(fx->car.sign_pk, id);
    assert_memory_equal(out.device.device, id, DEVID_BYTES);
    assert_true(out.device.enrolled_ms > 0);
    assert_int_equal(log_head(fx), 1);
    enrolment_t e = enrolment_at(fx, 1);
    assert_false(e.revoked);
    assert_string_equal(e.unit, "南区所");
    assert_string_equal(e.vehicle, "冀J-ZF031");
    assert_string_equal(e.by, "tester");
    assert_memory_equal(e.device, id, DEVID_BYTES);
    store_device_t d = stored(fx, id);
    assert_string_equal(d.unit, "南区所");
    assert_memory_equal(d.transport_pk, fx->car.box_pk, 32);
    int64_t enrolled = d.enrolled_ms;

    /* The same again: nothing written. */
    assert_int_equal(devices_enrol(&fx->parts, &r, NULL, NULL, &out), FT_OK);
    assert_int_equal(out.result, DEVICES_UNCHANGED);
    assert_string_equal(devices_result_name(out.result), "already enrolled");
    assert_string_equal(out.device.vehicle, "冀J-ZF031");
    assert_int_equal(log_head(fx), 1);

    /* Another vehicle: updated, enrolment time kept, one more entry. */
    r.vehicle = "冀J-ZF032";
    r.by = "web:admin";
    assert_int_equal(devices_enrol(&fx->parts, &r, NULL, NULL, &out), FT_OK);
    assert_int_equal(out.result, DEVICES_UPDATED);
    assert_int_equal(log_head(fx), 2);
    e = enrolment_at(fx, 2);
    assert_string_equal(e.vehicle, "冀J-ZF032");
    assert_string_equal(e.by, "web:admin");
    d = stored(fx, id);
    assert_string_equal(d.vehicle, "冀J-ZF032");
    assert_int_equal(d.enrolled_ms, enrolled);
}

static void conflicts_and_bad_names_are_refused(void **state)
{
    fx_t *fx = *state;
    devices_outcome_t out;
    devices_enrol_t r = req_of(&fx->car, "u", "v");
    assert_int_equal(devices_enrol(&fx->parts, &r, NULL, NULL, &out), FT_OK);
    assert_int_equal(log_head(fx), 1);
    /* The same device with another transport key. */
    devices_enrol_t r2 = r;
    memcpy(r2.transport_pk, fx->other.box_pk, 32);
    assert_int_equal(devices_enrol(&fx->parts, &r2, NULL, NULL, &out), FT_EDUP);
    /* Another device with the car's transport key: names the car. */
    devices_enrol_t r3 = req_of(&fx->other, "u", "v");
    memcpy(r3.transport_pk, fx->car.box_pk, 32);
    assert_int_equal(devices_enrol(&fx->parts, &r3, NULL, NULL, &out), FT_EEXIST);
    uint8_t car_id[DEVID_BYTES];
    devid_from_pk(fx->car.sign_pk, car_id);
    assert_memory_equal(out.other_device, car_id, DEVID_BYTES);
    /* Names: empty, too long, not UTF-8. */
    char why[200] = "", long_name[STORE_NAME_MAX + 1];
    memset(long_name, 'x', STORE_NAME_MAX);
    long_name[STORE_NAME_MAX] = '\0';
    const char *bad[][2] = {{"", "v"}, {"u", ""}, {NULL, "v"}, {long_name, "v"}, {"u\xE4", "v"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        devices_enrol_t rb = req_of(&fx->other, bad[i][0], bad[i][1]);
        assert_int_equal(devices_enrol(&fx->parts, &rb, NULL, NULL, &out), FT_EINVAL);
        why[0] = '\0';
        assert_int_equal(devices_check_names(bad[i][0], bad[i][1], why, sizeof why), FT_EINVAL);
        assert_true(strlen(why) > 10);
    }
    assert_int_equal(devices_check_names("南区所", "冀J-ZF031", why, sizeof why), FT_OK);
    /* Nothing of it was written. */
    assert_int_equal(log_head(fx), 1);
    /* Without a hub log nothing is done unrecorded. */
    hub_parts_t no_log = fx->parts;
    no_log.hublog = NULL;
    devices_enrol_t r4 = req_of(&fx->other, "u", "v");
    assert_int_equal(devices_enrol(&no_log, &r4, NULL, NULL, &out), FT_EINVAL);
    assert_int_equal(devices_revoke(&no_log, car_id, "x", NULL, NULL, &out), FT_EINVAL);
}

static int refuse(void *ctx, const store_device_t *d)
{
    (void)d;
    (*(int *)ctx)++;
    return FT_EIO;
}

static int count(void *ctx, const store_device_t *d)
{
    (void)d;
    (*(int *)ctx)++;
    return FT_OK;
}

static void a_failing_before_writes_nothing(void **state)
{
    fx_t *fx = *state;
    devices_outcome_t out;
    int calls = 0;
    devices_enrol_t r = req_of(&fx->car, "u", "v");
    assert_int_equal(devices_enrol(&fx->parts, &r, refuse, &calls, &out), FT_EIO);
    assert_int_equal(calls, 1);
    assert_int_equal(log_head(fx), 0);
    uint8_t id[DEVID_BYTES];
    devid_from_pk(fx->car.sign_pk, id);
    store_txn_t *t = NULL;
    store_device_t d;
    assert_int_equal(store_begin(fx->store, false, &t), FT_OK);
    assert_int_equal(store_device_get(t, id, &d), FT_ENOTFOUND);
    store_abort(&t);
    assert_int_equal(devices_enrol(&fx->parts, &r, count, &calls, &out), FT_OK);
    assert_int_equal(calls, 2);
    /* Unchanged: before is not asked (nothing to record). */
    assert_int_equal(devices_enrol(&fx->parts, &r, count, &calls, &out), FT_OK);
    assert_int_equal(calls, 2);
    assert_int_equal(devices_revoke(&fx->parts, id, "x", refuse, &calls, &out), FT_EIO);
    assert_int_equal(calls, 3);
    assert_false(stored(fx, id).revoked);
    assert_int_equal(log_head(fx), 1);
}

static void revocation_is_final(void **state)
{
    fx_t *fx = *state;
    devices_outcome_t out;
    uint8_t id[DEVID_BYTES];
    devid_from_pk(fx->car.sign_pk, id);
    assert_int_equal(devices_revoke(&fx->parts, id, "x", NULL, NULL, &out), FT_ENOTFOUND);
    devices_enrol_t r = req_of(&fx->car, "u", "v");
    assert_int_equal(devices_enrol(&fx->parts, &r, NULL, NULL, &out), FT_OK);
    int calls = 0;
    assert_int_equal(devices_revoke(&fx->parts, id, "web:admin", count, &calls, &out), FT_OK);
    assert_int_equal(out.result, DEVICES_REVOKED);
    assert_int_equal(calls, 1);
    assert_true(out.device.revoked && out.device.revoked_ms > 0);
    assert_int_equal(log_head(fx), 2);
    enrolment_t e = enrolment_at(fx, 2);
    assert_true(e.revoked);
    assert_string_equal(e.by, "web:admin");
    assert_string_equal(e.unit, "u");
    store_device_t d = stored(fx, id);
    assert_true(d.revoked);
    /* Again: nothing written, before not asked. */
    assert_int_equal(devices_revoke(&fx->parts, id, "x", count, &calls, &out), FT_OK);
    assert_int_equal(out.result, DEVICES_ALREADY_REVOKED);
    assert_string_equal(devices_result_name(out.result), "already revoked");
    assert_int_equal(calls, 1);
    assert_int_equal(out.device.revoked_ms, d.revoked_ms);
    assert_int_equal(log_head(fx), 2);
    /* A revoked device is never enrolled again, even unchanged. */
    assert_int_equal(devices_enrol(&fx->parts, &r, NULL, NULL, &out), FT_EREVOKED);
    r.vehicle = "w";
    assert_int_equal(devices_enrol(&fx->parts, &r, NULL, NULL, &out), FT_EREVOKED);
    assert_int_equal(log_head(fx), 2);
}

static void device_id_must_match_the_key(void **state)
{
    fx_t *fx = *state;
    uint8_t id[DEVID_BYTES];
    char text[DEVID_TEXT_SIZE], other_text[DEVID_TEXT_SIZE];
    devid_from_pk(fx->car.sign_pk, id);
    devid_format(id, text);
    devid_from_pk(fx->other.sign_pk, id);
    devid_format(id, other_text);
    assert_int_equal(devices_check_id(fx->car.sign_pk, text), FT_OK);
    assert_int_equal(devices_check_id(fx->car.sign_pk, other_text), FT_EINVAL);
    assert_int_equal(devices_check_id(fx->car.sign_pk, "not-an-id"), FT_EINVAL);
    assert_int_equal(devices_check_id(fx->car.sign_pk, NULL), FT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(enrol_update_and_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(conflicts_and_bad_names_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failing_before_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(revocation_is_final, setup, teardown),
        cmocka_unit_test_setup_teardown(device_id_must_match_the_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
