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

static void test_rows(void **state)
{
    (void)state;
    pg_rows_t rs = {0};
    pg_rows_init(&rs, 3);
    assert_int_equal(pg_rows_count(&rs), 0);
    pg_rows_text(&rs, "ca");
    pg_rows_bin(&rs, "\0\1", 2);
    pg_rows_text(&rs, NULL);
    pg_rows_text(&rs, "cb");
    pg_rows_bin(&rs, "x", 1);
    pg_rows_text(&rs, "");
    assert_false(rs.oom);
    assert_int_equal(pg_rows_count(&rs), 2);
    /* copies, with their formats and lengths; NULL stays SQL NULL */
    assert_string_equal(rs.v[0], "ca");
    assert_int_equal(rs.fmt[1], 1);
    assert_int_equal(rs.len[1], 2);
    assert_memory_equal(rs.v[1], "\0\1", 2);
    assert_null(rs.v[2]);
    assert_int_equal(rs.fmt[2], 0);
    assert_string_equal(rs.v[5], "");
    const char *cast[] = {"", "::bytea", "::bigint"};
    pg_buf_t sql = {0};
    pg_rows_sql(&sql, 3, 2, "INSERT INTO t VALUES ", cast, " ON CONFLICT DO NOTHING");
    assert_false(sql.oom);
    assert_string_equal(sql.p, "INSERT INTO t VALUES ($1, $2::bytea, $3::bigint), ($4, "
                               "$5::bytea, $6::bigint) ON CONFLICT DO NOTHING");
    /* the buffer starts over; no rows: head and tail only */
    pg_rows_sql(&sql, 3, 0, "A", cast, "B");
    assert_string_equal(sql.p, "AB");
    free(sql.p);
    /* an incomplete row is refused before anything is sent (no connection
     * is needed to say so), and the rows are emptied */
    pg_rows_text(&rs, "cc");
    char err[128] = "";
    assert_int_equal(pg_rows_exec(NULL, &rs, "INSERT ", cast, "", err, sizeof err), FT_EINVAL);
    assert_string_equal(err, "a row of the statement is incomplete");
    assert_int_equal(pg_rows_count(&rs), 0);
    /* no rows: nothing runs */
    assert_int_equal(pg_rows_exec(NULL, &rs, "INSERT ", cast, "", err, sizeof err), FT_OK);
    pg_rows_free(&rs);
    assert_null(rs.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_url),
        cmocka_unit_test(test_refused_connection_said_plainly),
        cmocka_unit_test(test_unparseable_url),
        cmocka_unit_test(test_text_array),
        cmocka_unit_test(test_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
