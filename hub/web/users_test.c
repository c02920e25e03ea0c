/* users_test.c: dashboard users and sessions. */
#include "testutil.h"
#include "users.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

typedef struct {
    char dir[512];
    users_t *u;
} fx_t;

static int setup(void **state)
{
    static fx_t fx;
    memset(&fx, 0, sizeof fx);
    testutil_tmpdir(fx.dir, sizeof fx.dir, "users");
    assert_int_equal(users_open(fx.dir, &fx.u), FT_OK);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    users_destroy(&fx->u);
    users_destroy(&fx->u); /* twice is safe */
    testutil_rmrf(fx->dir);
    return 0;
}

static void password_checks_and_one_answer_for_unknown_or_wrong(void **state)
{
    fx_t *fx = *state;
    user_t u;
    assert_int_equal(users_add(fx->u, "li.wei", ROLE_SUPERVISOR, "correct horse", 1000), FT_OK);
    assert_int_equal(users_add(fx->u, "li.wei", ROLE_STAFF, "another one", 1000), FT_EEXIST);
    assert_int_equal(users_check(fx->u, "li.wei", "correct horse", &u), FT_OK);
    assert_string_equal(u.name, "li.wei");
    assert_int_equal(u.role, ROLE_SUPERVISOR);
    assert_int_equal(users_check(fx->u, "li.wei", "wrong horse", &u), FT_EKEY);
    assert_int_equal(users_check(fx->u, "nobody", "correct horse", &u), FT_EKEY);
    size_t n = 0;
    assert_int_equal(users_count(fx->u, &n), FT_OK);
    assert_int_equal(n, 1);
}

static void bad_names_roles_and_short_passwords_are_refused(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(users_add(fx->u, "", ROLE_STAFF, "long enough", 1), FT_EINVAL);
    assert_int_equal(users_add(fx->u, "a b", ROLE_STAFF, "long enough", 1), FT_EINVAL);
    assert_int_equal(users_add(fx->u, "ok", ROLE_NONE, "long enough", 1), FT_EINVAL);
    assert_int_equal(users_add(fx->u, "ok", ROLE_STAFF, "short", 1), FT_EINVAL);
    assert_int_equal(user_role_parse("admin"), ROLE_ADMIN);
    assert_int_equal(user_role_parse("root"), ROLE_NONE);
}

static void session_lives_until_expiry_and_logout(void **state)
{
    fx_t *fx = *state;
    session_t s;
    char tok[SESSION_TOKEN_SIZE], tok2[SESSION_TOKEN_SIZE];
    assert_int_equal(users_add(fx->u, "zhang", ROLE_STAFF, "password1", 0), FT_OK);
    assert_int_equal(users_session_new(fx->u, "zhang", 1000, 60000, tok), FT_OK);
    assert_int_equal(strlen(tok), SESSION_TOKEN_SIZE - 1);
    assert_int_equal(users_session_check(fx->u, tok, 2000, 60000, &s), FT_OK);
    assert_string_equal(s.user, "zhang");
    assert_int_equal(s.role, ROLE_STAFF);
    assert_true(strlen(s.csrf) > 20);
    /* Past the expiry the token is dead. */
    assert_int_equal(users_session_check(fx->u, tok, 1000000, 60000, &s), FT_ENOTFOUND);
    /* Logout ends a live one; an unknown token is not live. */
    assert_int_equal(users_session_new(fx->u, "zhang", 1000, 60000, tok2), FT_OK);
    assert_int_equal(users_session_end(fx->u, tok2), FT_OK);
    assert_int_equal(users_session_check(fx->u, tok2, 2000, 60000, &s), FT_ENOTFOUND);
    assert_int_equal(users_session_check(fx->u, "not-a-token", 2000, 60000, &s), FT_ENOTFOUND);
}

static void disabling_or_new_password_ends_sessions_and_role_follows(void **state)
{
    fx_t *fx = *state;
    session_t s;
    char tok[SESSION_TOKEN_SIZE];
    assert_int_equal(users_add(fx->u, "wang", ROLE_STAFF, "password1", 0), FT_OK);
    assert_int_equal(users_session_new(fx->u, "wang", 1000, 60000, tok), FT_OK);
    assert_int_equal(users_set_role(fx->u, "wang", ROLE_ADMIN, false), FT_OK);
    assert_int_equal(users_session_check(fx->u, tok, 2000, 60000, &s), FT_OK);
    assert_int_equal(s.role, ROLE_ADMIN);
    assert_int_equal(users_set_password(fx->u, "wang", "password2"), FT_OK);
    assert_int_equal(users_session_check(fx->u, tok, 2000, 60000, &s), FT_ENOTFOUND);
    user_t u;
    assert_int_equal(users_check(fx->u, "wang", "password2", &u), FT_OK);
    assert_int_equal(users_session_new(fx->u, "wang", 1000, 60000, tok), FT_OK);
    assert_int_equal(users_set_role(fx->u, "wang", ROLE_ADMIN, true), FT_OK);
    assert_int_equal(users_session_check(fx->u, tok, 2000, 60000, &s), FT_ENOTFOUND);
    assert_int_equal(users_check(fx->u, "wang", "password2", &u), FT_EKEY);
}

static void sweep_removes_only_expired_sessions(void **state)
{
    fx_t *fx = *state;
    char a[SESSION_TOKEN_SIZE], b[SESSION_TOKEN_SIZE];
    session_t s;
    size_t n = 0;
    assert_int_equal(users_add(fx->u, "zhao", ROLE_STAFF, "password1", 0), FT_OK);
    assert_int_equal(users_session_new(fx->u, "zhao", 0, 1000, a), FT_OK);
    assert_int_equal(users_session_new(fx->u, "zhao", 0, 100000, b), FT_OK);
    assert_int_equal(users_session_sweep(fx->u, 5000, &n), FT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(users_session_check(fx->u, b, 5000, 100000, &s), FT_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(password_checks_and_one_answer_for_unknown_or_wrong, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_names_roles_and_short_passwords_are_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(session_lives_until_expiry_and_logout, setup, teardown),
        cmocka_unit_test_setup_teardown(disabling_or_new_password_ends_sessions_and_role_follows,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sweep_removes_only_expired_sessions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
