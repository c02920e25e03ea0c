/* pg_test.c: the provincial node's PostgreSQL helpers without a server: what
 * counts as a store URL, a refused connection (a closed port on 127.0.0.1, a
 * URL that does not parse) said in operator words that name where it tried
 * and never show the password, and text[] literals of names with commas,
 * quotes, backslashes and braces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pg.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void test_is_url(void **state)
{
    (void)state;
    assert_true(pg_is_url("postgresql://ft:pw@127.0.0.1:5432/fieldtrail"));
    assert_true(pg_is_url("postgres://127.0.0.1/fieldtrail"));
    assert_false(pg_is_url("var/hub/db"));
    assert_false(pg_is_url("postgresql:/missing-slash"));
    assert_false(pg_is_url(""));
    assert_false(pg_is_url(NULL));
}

static void test_refused_connection_said_plainly(void **state)
{
    (void)state;
    char url[256], err[PG_ERR_MAX];
    int port = testutil_closed_port();
    snprintf(url, sizeof url, "postgresql://ft:secret-word@127.0.0.1:%d/fieldtrail", port);
    PGconn *c = NULL;
    assert_int_equal(pg_connect(url, &c, err, sizeof err), FT_EIO);
    assert_null(c);
    char where[64];
    snprintf(where, sizeof where, "127.0.0.1:%d", port);
    assert_non_null(strstr(err, "cannot connect to PostgreSQL at"));
    assert_non_null(strstr(err, where));
    assert_non_null(strstr(err, "fieldtrail"));
    assert_null(strstr(err, "secret-word"));
    assert_null(strchr(err, '\n'));
}

static void test_unparseable_url(void **state)
{
    (void)state;
    char err[PG_ERR_MAX];
    PGconn *c = NULL;
    assert_int_equal(
        pg_connect("postgresql://ft:secret-word@127.0.0.1:notaport/x", &c, err, sizeof err),
        FT_EIO);
    assert_null(c);
    assert_non_null(strstr(err, "PostgreSQL"));
    assert_null(strstr(err, "secret-word"));
}

static void check_array(char *const *list, size_t n, const char *want)
{
    pg_buf_t b = {0};
    pg_text_array(&b, list, n);
    assert_false(b.oom);
    assert_string_equal(b.p, want);
    free(b.p);
}

static void test_text_array(void **state)
{
    (void)state;
    check_array(NULL, 0, "{}");
    char *empty[] = {NULL, ""};
    check_array(empty, 2, "{}");
    char *names[] = {"ZF-0100", "", "王某", NULL, "o,1"};
    check_array(names, 5, "{\"ZF-0100\",\"王某\",\"o,1\"}");
    char *quoted[] = {"a\"b", "c\\d", "{x}"};
    check_array(quoted, 3, "{\"a\\\"b\",\"c\\\\d\",\"{x}\"}");
    /* a buffer used again starts over */
    pg_buf_t b = {0};
    pg_text_array(&b, names, 1);
    pg_text_array(&b, quoted, 1);
    assert_string_equal(b.p, "{\"a\\\"b\"}");
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_url),
        cmocka_unit_test(test_refused_connection_said_plainly),
        cmocka_unit_test(test_unparseable_url),
        cmocka_unit_test(test_text_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
