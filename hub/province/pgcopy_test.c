/* pgcopy_test.c: COPY text rows: escaping of text, bytea hex, u64 as the
 * bigint of the same bits, timestamps, NULL, and growth past the first
 * allocation. */
#include "pgcopy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char *text_of(pgcopy_t *c)
{
    char *s = malloc(c->len + 1);
    assert_non_null(s);
    memcpy(s, c->buf, c->len);
    s[c->len] = '\0';
    return s;
}

static void test_row_fields(void **state)
{
    (void)state;
    pgcopy_t c;
    pgcopy_init(&c);
    const uint8_t b[] = {0x0a, 0xff, 0x00};
    pgcopy_i64(&c, -42);
    pgcopy_u64(&c, UINT64_MAX - 4); /* a random epoch above 2^63 */
    pgcopy_bool(&c, true);
    pgcopy_str(&c, "a\tb\nc\\d\re");
    pgcopy_bytea(&c, b, sizeof b);
    pgcopy_str(&c, NULL);
    pgcopy_time_ms(&c, 1796650200123LL);
    pgcopy_end_row(&c);
    pgcopy_bytea(&c, b, 0);
    pgcopy_end_row(&c);
    char *s = text_of(&c);
    assert_string_equal(s, "-42\t-5\tt\ta\\tb\\nc\\\\d\\re\t\\\\x0aff00\t\\N\t"
                           "2026-12-07 13:30:00.123+00\n\\\\x\n");
    assert_int_equal(c.rows, 2);
    assert_false(pgcopy_failed(&c));
    free(s);
    pgcopy_reset(&c);
    assert_int_equal(c.len, 0);
    assert_int_equal(c.rows, 0);
    pgcopy_free(&c);
}

static void test_nul_in_text_is_kept_visible(void **state)
{
    (void)state;
    pgcopy_t c;
    pgcopy_init(&c);
    pgcopy_text(&c, "a\0b", 3);
    pgcopy_end_row(&c);
    char *s = text_of(&c);
    assert_string_equal(s, "a\\\\0b\n");
    free(s);
    pgcopy_free(&c);
}

static void test_times(void **state)
{
    (void)state;
    char b[48];
    pgcopy_format_time(0, b, sizeof b);
    assert_string_equal(b, "1970-01-01 00:00:00.000+00");
    pgcopy_format_time(-1, b, sizeof b); /* before 1970: the ms part stays positive */
    assert_string_equal(b, "1969-12-31 23:59:59.999+00");
    pgcopy_format_time(1709251199999LL, b, sizeof b); /* the last ms of February 2024 */
    assert_string_equal(b, "2024-02-29 23:59:59.999+00");
}

static void test_grows(void **state)
{
    (void)state;
    pgcopy_t c;
    pgcopy_init(&c);
    uint8_t big[10000];
    memset(big, 0xab, sizeof big);
    for (int i = 0; i < 20; i++) {
        pgcopy_i64(&c, i);
        pgcopy_bytea(&c, big, sizeof big);
        pgcopy_end_row(&c);
    }
    assert_false(pgcopy_failed(&c));
    assert_int_equal(c.rows, 20);
    /* Each row: digits, tab, \\x, 20000 hex digits, newline. */
    size_t want = 0;
    for (int i = 0; i < 20; i++) {
        want += (i < 10 ? 1 : 2) + 1 + 3 + 20000 + 1;
    }
    assert_int_equal(c.len, want);
    pgcopy_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_row_fields),
        cmocka_unit_test(test_nul_in_text_is_kept_visible),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
