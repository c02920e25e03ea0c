/* zap_test.c: the ZAP decision admits exactly enrolled, unrevoked CURVE keys
 * of our domain, answers with the device ID as User-Id, and records every
 * refusal where `status` shows it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "zap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char dir[512];
    store_t *s;
    store_device_t d;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    testutil_tmpdir(fx->dir, sizeof fx->dir, "zap_test");
    assert_int_equal(store_open(fx->dir, 64 << 20, &fx->s), FT_OK);
    keys_t k;
    assert_int_equal(keys_generate(&k, false), FT_OK);
    devid_from_pk(k.sign_pk, fx->d.device);
    memcpy(fx->d.sign_pk, k.sign_pk, 32);
    memcpy(fx->d.transport_pk, k.box_pk, 32);
    keys_wipe(&k);
    store_txn_t *t = NULL;
    assert_int_equal(store_begin(fx->s, true, &t), FT_OK);
    assert_int_equal(store_device_put(t, &fx->d), FT_OK);
    assert_int_equal(store_commit(&t), FT_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    store_destroy(&fx->s);
    testutil_rmrf(fx->dir);
    free(fx);
    return 0;
}

static void enrolled_key_is_admitted_as_its_device(void **state)
{
    fx_t *fx = *state;
    zap_verdict_t v;
    assert_int_equal(zap_decide(fx->s, ZAP_DOMAIN, ZAP_DOMAIN, "CURVE", fx->d.transport_pk, 32,
                                "127.0.0.1", 1000, &v),
                     FT_OK);
    assert_true(v.admit);
    char want[ZAP_USER_ID_SIZE];
    hex_encode(fx->d.device, DEVID_BYTES, want);
    assert_string_equal(v.user_id, want);
}

static int refusal_one(void *ctx, const store_refusal_t *r)
{
    *(store_refusal_t *)ctx = *r;
    return 0;
}

static void unknown_key_is_refused_and_recorded(void **state)
{
    fx_t *fx = *state;
    uint8_t key[32];
    memset(key, 0x42, sizeof key);
    zap_verdict_t v;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(
            zap_decide(fx->s, ZAP_DOMAIN, ZAP_DOMAIN, "CURVE", key, 32, "10.0.0.9", 2000 + i, &v),
            FT_OK);
        assert_false(v.admit);
        assert_string_equal(v.user_id, "");
        assert_non_null(strstr(v.why, "not enrolled"));
    }
    store_txn_t *t = NULL;
    store_refusal_t r = {0};
    assert_int_equal(store_begin(fx->s, false, &t), FT_OK);
    assert_int_equal(store_refusal_iter(t, refusal_one, &r), FT_OK);
    store_abort(&t);
    assert_memory_equal(r.transport_pk, key, 32);
    assert_int_equal(r.count, 2);
    assert_string_equal(r.address, "10.0.0.9");
}

static void revoked_device_is_refused_and_its_status_says_so(void **state)
{
    fx_t *fx = *state;
    fx->d.revoked = true;
    store_txn_t *t = NULL;
    assert_int_equal(store_begin(fx->s, true, &t), FT_OK);
    assert_int_equal(store_device_put(t, &fx->d), FT_OK);
    assert_int_equal(store_commit(&t), FT_OK);
    zap_verdict_t v;
    assert_int_equal(zap_decide(fx->s, ZAP_DOMAIN, ZAP_DOMAIN, "CURVE", fx->d.transport_pk, 32,
                                "127.0.0.1", 3000, &v),
                     FT_OK);
    assert_false(v.admit);
    assert_non_null(strstr(v.why, "revoked"));
    store_status_t st;
    assert_int_equal(store_begin(fx->s, false, &t), FT_OK);
    assert_int_equal(store_status_get(t, fx->d.device, &st), FT_OK);
    store_abort(&t);
    assert_int_equal(st.refusals, 1);
    assert_int_equal(st.last_error_ms, 3000);
    assert_non_null(strstr(st.last_error, "revoked"));
}

static void other_domain_mechanism_or_key_length_is_refused(void **state)
{
    fx_t *fx = *state;
    zap_verdict_t v;
    assert_int_equal(zap_decide(fx->s, ZAP_DOMAIN, "", "CURVE", fx->d.transport_pk, 32, "", 1, &v),
                     FT_OK);
    assert_false(v.admit);
    assert_int_equal(zap_decide(fx->s, ZAP_DOMAIN, ZAP_DOMAIN, "NULL", NULL, 0, "", 1, &v), FT_OK);
    assert_false(v.admit);
    assert_int_equal(
        zap_decide(fx->s, ZAP_DOMAIN, ZAP_DOMAIN, "PLAIN", fx->d.transport_pk, 32, "", 1, &v),
        FT_OK);
    assert_false(v.admit);
    assert_int_equal(
        zap_decide(fx->s, ZAP_DOMAIN, ZAP_DOMAIN, "CURVE", fx->d.transport_pk, 31, "", 1, &v),
        FT_OK);
    assert_false(v.admit);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(enrolled_key_is_admitted_as_its_device, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_key_is_refused_and_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(revoked_device_is_refused_and_its_status_says_so, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(other_domain_mechanism_or_key_length_is_refused, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
