/* loginlimit_test.c: failed-login counting, lockouts, backoff, forgetting,
 * fixed memory, and concurrent attempts. */
#include "loginlimit.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static loginlimit_t lim; /* 128 KiB: not on the stack */

static void init(unsigned free_failures, int64_t first_ms, int64_t max_ms)
{
    loginlimit_opts_t o;
    loginlimit_defaults(&o);
    o.free_failures = free_failures;
    o.first_ms = first_ms;
    o.max_ms = max_ms;
    loginlimit_init(&lim, &o);
}

/* One failed attempt at now; returns the lockout it started. */
static int64_t fail_at(const char *user, const char *addr, int64_t now)
{
    loginlimit_verdict_t v;
    loginlimit_begin(&lim, user, addr, now, &v);
    assert_int_equal(v.wait_ms, 0);
    return v.lockout_ms;
}

static int64_t wait_at(const char *user, const char *addr, int64_t now)
{
    loginlimit_verdict_t v;
    loginlimit_begin(&lim, user, addr, now, &v);
    return v.wait_ms;
}

static void backoff_free_then_doubling_up_to_the_cap(void **state)
{
    (void)state;
    loginlimit_opts_t o;
    loginlimit_defaults(&o);
    assert_int_equal(o.free_failures, 5);
    for (unsigned n = 0; n <= 5; n++) {
        assert_int_equal(loginlimit_backoff(&o, n), 0);
    }
    assert_int_equal(loginlimit_backoff(&o, 6), 1000);
    assert_int_equal(loginlimit_backoff(&o, 7), 2000);
    assert_int_equal(loginlimit_backoff(&o, 8), 4000);
    assert_int_equal(loginlimit_backoff(&o, 15), 512000);
    assert_int_equal(loginlimit_backoff(&o, 16), 900000); /* 1024 s capped at 15 min */
    assert_int_equal(loginlimit_backoff(&o, 4000000000u), 900000);
}

static void five_free_failures_then_a_lockout_that_refuses_even_the_right_password(void **state)
{
    (void)state;
    init(5, 1000, 900000);
    int64_t t = 1000000;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(fail_at("sup", "10.0.0.1", t), 0);
    }
    /* The 6th attempt is tested; if it fails, a 1 s lockout runs. */
    assert_int_equal(fail_at("sup", "10.0.0.1", t), 1000);
    /* Now nothing is tested for that name: whatever the password, refused. */
    loginlimit_verdict_t v;
    loginlimit_begin(&lim, "sup", "10.0.0.1", t + 10, &v);
    assert_int_equal(v.wait_ms, 990);
    assert_true(v.first_refusal);
    assert_int_equal(v.failures, 6);
    loginlimit_begin(&lim, "sup", "10.0.0.1", t + 20, &v);
    assert_int_equal(v.wait_ms, 980);
    assert_false(v.first_refusal); /* logged once per lockout */
    /* Refusals count nothing: after the lockout the next failure doubles it. */
    assert_int_equal(fail_at("sup", "10.0.0.1", t + 1000), 2000);
    assert_int_equal(wait_at("sup", "10.0.0.1", t + 2999), 1);
    assert_int_equal(fail_at("sup", "10.0.0.1", t + 3000), 4000);
    assert_int_equal(loginlimit_refused(&lim), 3);
    loginlimit_fini(&lim);
}

static void a_lockout_runs_from_the_end_of_a_slow_check(void **state)
{
    (void)state;
    init(1, 1000, 900000);
    int64_t t = 50000;
    assert_int_equal(fail_at("sup", "10.0.0.9", t), 0);
    /* The 2nd attempt begins at t; its password check takes 1.5 s. */
    loginlimit_verdict_t v;
    loginlimit_begin(&lim, "sup", "10.0.0.9", t, &v);
    assert_int_equal(v.lockout_ms, 1000);
    loginlimit_failed(&lim, "sup", "10.0.0.9", t + 1500);
    /* Its 1 s lockout runs from the failure the client hears of, not from
     * t (when it would be over already). */
    assert_int_equal(wait_at("sup", "10.0.0.9", t + 1600), 900);
    assert_int_equal(wait_at("sup", "10.0.0.9", t + 2499), 1);
    assert_int_equal(wait_at("sup", "10.0.0.9", t + 2500), 0);
    /* A failure within the free ones starts nothing; unknown names neither. */
    loginlimit_fini(&lim);
    init(3, 1000, 900000);
    assert_int_equal(fail_at("free", "10.0.0.8", t), 0);
    loginlimit_failed(&lim, "free", "10.0.0.8", t + 1500);
    loginlimit_failed(&lim, "nobody", "10.9.9.9", t + 1500);
    assert_int_equal(wait_at("free", "10.0.0.8", t + 1600), 0);
    assert_int_equal(wait_at("nobody", "10.9.9.9", t + 1600), 0);
    loginlimit_fini(&lim);
}

static void success_resets_both_counts(void **state)
{
    (void)state;
    init(2, 1000, 8000);
    int64_t t = 5000;
    fail_at("a", "10.0.0.2", t);
    fail_at("a", "10.0.0.2", t);
    assert_int_equal(fail_at("a", "10.0.0.2", t), 1000);
    assert_true(wait_at("a", "10.0.0.2", t + 1) > 0);
    /* After the lockout, the right password (begin, then success). */
    loginlimit_verdict_t v;
    loginlimit_begin(&lim, "a", "10.0.0.2", t + 1000, &v);
    assert_int_equal(v.wait_ms, 0);
    loginlimit_success(&lim, "a", "10.0.0.2");
    assert_int_equal(loginlimit_used(&lim), 0);
    /* Two free failures again, not a doubled lockout. */
    assert_int_equal(fail_at("a", "10.0.0.2", t + 1001), 0);
    assert_int_equal(fail_at("a", "10.0.0.2", t + 1002), 0);
    assert_int_equal(fail_at("a", "10.0.0.2", t + 1003), 1000);
    loginlimit_fini(&lim);
}

static void name_and_address_are_counted_apart(void **state)
{
    (void)state;
    init(3, 1000, 8000);
    int64_t t = 10000;
    /* One address guessing many names: the address is locked out. */
    char name[32];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "user%d", i);
        assert_int_equal(fail_at(name, "192.0.2.7", t), 0);
    }
    loginlimit_verdict_t v;
    loginlimit_begin(&lim, "user3", "192.0.2.7", t, &v);
    assert_int_equal(v.wait_ms, 0);
    assert_int_equal(v.lockout_ms, 1000);
    assert_false(v.lockout_by_user);
    loginlimit_begin(&lim, "someone-else", "192.0.2.7", t + 1, &v);
    assert_true(v.wait_ms > 0);
    assert_false(v.user_locked);
    /* The same names from another address are still tested. */
    assert_int_equal(wait_at("user0", "192.0.2.8", t + 2), 0);
    /* Many addresses guessing one name: the name is locked out. */
    char addr[32];
    for (int i = 0; i < 4; i++) {
        snprintf(addr, sizeof addr, "198.51.100.%d", i);
        fail_at("victim", addr, t);
    }
    loginlimit_begin(&lim, "victim", "203.0.113.1", t + 5, &v);
    assert_true(v.wait_ms > 0);
    assert_true(v.user_locked);
    /* A missing address counts the name only. */
    loginlimit_begin(&lim, "victim", NULL, t + 6, &v);
    assert_true(v.wait_ms > 0);
    assert_int_equal(wait_at("fresh", NULL, t + 7), 0);
    loginlimit_fini(&lim);
}

static void counts_are_forgotten_a_day_after_the_last_failure(void **state)
{
    (void)state;
    init(2, 1000, 8000);
    int64_t t = 0;
    fail_at("x", "10.1.1.1", t);
    fail_at("x", "10.1.1.1", t);
    assert_int_equal(fail_at("x", "10.1.1.1", t), 1000);
    int64_t later = t + LOGINLIMIT_DEFAULT_FORGET_MS;
    /* Two free failures again. */
    assert_int_equal(fail_at("x", "10.1.1.1", later), 0);
    assert_int_equal(fail_at("x", "10.1.1.1", later), 0);
    assert_int_equal(fail_at("x", "10.1.1.1", later), 1000);
    loginlimit_fini(&lim);
}

static void memory_is_fixed_and_locked_entries_outlive_a_flood(void **state)
{
    (void)state;
    init(1, 60000, 60000);
    int64_t t = 100;
    /* The victim name gets locked out. */
    fail_at("victim", NULL, t);
    assert_int_equal(fail_at("victim", NULL, t), 60000);
    /* A flood of 100 000 distinct names and addresses, each failing once. */
    char name[32], addr[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(name, sizeof name, "n%d", i);
        snprintf(addr, sizeof addr, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        fail_at(name, addr, t + 1 + i / 1000);
    }
    assert_true(loginlimit_used(&lim) <= LOGINLIMIT_SLOTS);
    assert_true(loginlimit_evictions(&lim) >= 200000 - LOGINLIMIT_SLOTS);
    /* Entries that are not locked out are given up first: the victim's
     * lockout is still there. */
    assert_true(wait_at("victim", NULL, t + 200) > 0);
    loginlimit_fini(&lim);
}

static void ipv6_clients_are_counted_by_their_64(void **state)
{
    (void)state;
    char a[80], b[80];
    struct sockaddr_in6 s6;
    memset(&s6, 0, sizeof s6);
    s6.sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:1:2::1", &s6.sin6_addr), 1);
    loginlimit_addr_text((struct sockaddr *)&s6, a, sizeof a);
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:1:2:ffff:1:2:3", &s6.sin6_addr), 1);
    loginlimit_addr_text((struct sockaddr *)&s6, b, sizeof b);
    assert_string_equal(a, "2001:db8:1:2::/64");
    assert_string_equal(a, b);
    assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.9", &s6.sin6_addr), 1);
    loginlimit_addr_text((struct sockaddr *)&s6, a, sizeof a);
    assert_string_equal(a, "192.0.2.9");
    struct sockaddr_in s4;
    memset(&s4, 0, sizeof s4);
    s4.sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &s4.sin_addr), 1);
    loginlimit_addr_text((struct sockaddr *)&s4, a, sizeof a);
    assert_string_equal(a, "127.0.0.1");
    loginlimit_addr_text(NULL, a, sizeof a);
    assert_string_equal(a, "");
}

/* Attempts sent at once from many threads, none finished yet: each is
 * counted when it begins, so only the free failures and one more are ever
 * tested. */
static int tested;
static pthread_mutex_t tested_lock = PTHREAD_MUTEX_INITIALIZER;

static void *attempts(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50; i++) {
        loginlimit_verdict_t v;
        loginlimit_begin(&lim, "sup", "10.9.9.9", 42, &v);
        if (v.wait_ms == 0) {
            pthread_mutex_lock(&tested_lock);
            tested++;
            pthread_mutex_unlock(&tested_lock);
        }
    }
    return NULL;
}

static void concurrent_attempts_cannot_outrun_the_count(void **state)
{
    (void)state;
    init(5, 10000, 10000);
    tested = 0;
    pthread_t th[16];
    for (size_t i = 0; i < 16; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, attempts, NULL), 0);
    }
    for (size_t i = 0; i < 16; i++) {
        pthread_join(th[i], NULL);
    }
    assert_int_equal(tested, 6);
    assert_int_equal(loginlimit_refused(&lim), 16 * 50 - 6);
    loginlimit_fini(&lim);
}

static void config_keys_are_checked(void **state)
{
    (void)state;
    char dir[512], path[600];
    testutil_tmpdir(dir, sizeof dir, "loginlimit");
    snprintf(path, sizeof path, "%s/hub.conf", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("[http]\nlogin_max_failures = 2\nlogin_backoff_s = 3\nlogin_backoff_max_s = 60\n", f);
    fclose(f);
    static const char *const keys[] = {"http.login_max_failures", "http.login_backoff_s",
                                       "http.login_backoff_max_s", NULL};
    config_t *cfg = NULL;
    char err[256] = "";
    assert_int_equal(config_load(path, keys, &cfg, err, sizeof err), FT_OK);
    loginlimit_opts_t o;
    assert_int_equal(loginlimit_opts_from_config(cfg, &o, err, sizeof err), FT_OK);
    assert_int_equal(o.free_failures, 2);
    assert_int_equal(o.first_ms, 3000);
    assert_int_equal(o.max_ms, 60000);
    config_destroy(&cfg);
    /* No config: the defaults. */
    assert_int_equal(loginlimit_opts_from_config(NULL, &o, err, sizeof err), FT_OK);
    assert_int_equal(o.free_failures, 5);
    assert_int_equal(o.first_ms, 1000);
    assert_int_equal(o.max_ms, 900000);
    /* A value that is not a number, and a cap below the first lockout. */
    f = fopen(path, "w");
    fputs("[http]\nlogin_max_failures = many\n", f);
    fclose(f);
    assert_int_equal(config_load(path, keys, &cfg, err, sizeof err), FT_OK);
    assert_int_equal(loginlimit_opts_from_config(cfg, &o, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "http.login_max_failures"));
    config_destroy(&cfg);
    f = fopen(path, "w");
    fputs("[http]\nlogin_backoff_s = 10\nlogin_backoff_max_s = 5\n", f);
    fclose(f);
    assert_int_equal(config_load(path, keys, &cfg, err, sizeof err), FT_OK);
    assert_int_equal(loginlimit_opts_from_config(cfg, &o, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "http.login_backoff_max_s"));
    config_destroy(&cfg);
    testutil_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_free_then_doubling_up_to_the_cap),
        cmocka_unit_test(five_free_failures_then_a_lockout_that_refuses_even_the_right_password),
        cmocka_unit_test(a_lockout_runs_from_the_end_of_a_slow_check),
        cmocka_unit_test(success_resets_both_counts),
        cmocka_unit_test(name_and_address_are_counted_apart),
        cmocka_unit_test(counts_are_forgotten_a_day_after_the_last_failure),
        cmocka_unit_test(memory_is_fixed_and_locked_entries_outlive_a_flood),
        cmocka_unit_test(ipv6_clients_are_counted_by_their_64),
        cmocka_unit_test(concurrent_attempts_cannot_outrun_the_count),
        cmocka_unit_test(config_keys_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
