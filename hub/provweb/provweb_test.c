/* provweb_test.c: the provincial dashboard's unit scoping and its pool
 * without a server: --unit lists parsed into a session's units (commas,
 * spaces around, empty and oversized units and control characters refused
 * in plain words), which units a session may see (none of another unit,
 * no unit at all only for an all-units user), the text[] parameter the
 * queries filter on (SQL NULL for all units), and opening the pool against
 * a closed port: FT_EIO in operator words without the password. The
 * database side is tests/provnode/dashboard.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "provweb.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void test_units_parse(void **state)
{
    (void)state;
    char out[SESSION_UNITS_MAX], err[256];
    assert_int_equal(provweb_units_parse("南大港所", out, sizeof out, err, sizeof err), FT_OK);
    assert_string_equal(out, "南大港所");
    assert_int_equal(provweb_units_parse(" A unit , B-2,C ", out, sizeof out, err, sizeof err),
                     FT_OK);
    assert_string_equal(out, "A unit\nB-2\nC");
    assert_int_equal(provweb_units_parse("A,,B", out, sizeof out, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "empty"));
    assert_int_equal(provweb_units_parse("", out, sizeof out, err, sizeof err), FT_EINVAL);
    assert_int_equal(provweb_units_parse(NULL, out, sizeof out, err, sizeof err), FT_EINVAL);
    assert_int_equal(provweb_units_parse("A,", out, sizeof out, err, sizeof err), FT_EINVAL);
    assert_int_equal(provweb_units_parse("A\nB", out, sizeof out, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "control character"));
    char long_unit[PROVWEB_UNIT_MAX + 2];
    memset(long_unit, 'u', sizeof long_unit - 1);
    long_unit[sizeof long_unit - 1] = 0;
    assert_int_equal(provweb_units_parse(long_unit, out, sizeof out, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "longer than"));
    /* more than a session holds */
    char small[8];
    assert_int_equal(provweb_units_parse("abc,def", small, sizeof small, err, sizeof err), FT_OK);
    assert_int_equal(provweb_units_parse("abc,defg", small, sizeof small, err, sizeof err),
                     FT_EINVAL);
    assert_non_null(strstr(err, "too many units"));
}

static void test_unit_allowed(void **state)
{
    (void)state;
    session_t s = {.all_units = false};
    snprintf(s.units, sizeof s.units, "A unit\nB");
    assert_true(provweb_unit_allowed(&s, "A unit"));
    assert_true(provweb_unit_allowed(&s, "B"));
    assert_false(provweb_unit_allowed(&s, "A"));       /* a prefix is another unit */
    assert_false(provweb_unit_allowed(&s, "A unit2")); /* so is a longer name */
    assert_false(provweb_unit_allowed(&s, "C"));
    assert_false(provweb_unit_allowed(&s, ""));
    assert_false(provweb_unit_allowed(&s, NULL));
    session_t none = {.all_units = false};
    assert_false(provweb_unit_allowed(&none, "A unit"));
    session_t all = {.all_units = true};
    assert_true(provweb_unit_allowed(&all, "anything"));
    assert_true(provweb_unit_allowed(&all, ""));
}

static void test_units_param(void **state)
{
    (void)state;
    pg_buf_t b = {0};
    session_t all = {.all_units = true};
    assert_null(provweb_units_param(&all, &b));
    session_t s = {.all_units = false};
    snprintf(s.units, sizeof s.units, "南大港所\na\"b");
    assert_string_equal(provweb_units_param(&s, &b), "{\"南大港所\",\"a\\\"b\"}");
    session_t none = {.all_units = false};
    assert_string_equal(provweb_units_param(&none, &b), "{}"); /* sees nothing */
    free(b.p);
}

static void test_open_database_down(void **state)
{
    (void)state;
    char url[256], err[PG_ERR_MAX];
    snprintf(url, sizeof url, "postgresql://ft:secret-word@127.0.0.1:%d/fieldtrail",
             testutil_closed_port());
    provweb_t *p = NULL;
    assert_int_equal(provweb_open(url, "n1", &p, err, sizeof err), FT_EIO);
    assert_null(p);
    assert_non_null(strstr(err, "cannot connect to PostgreSQL at 127.0.0.1"));
    assert_null(strstr(err, "secret-word"));
    provweb_close(&p); /* safe on NULL */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_units_parse),
        cmocka_unit_test(test_unit_allowed),
        cmocka_unit_test(test_units_param),
        cmocka_unit_test(test_open_database_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
