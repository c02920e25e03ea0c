/* strbuf_test.c: growth across the first allocation, NUL termination,
 * empty adds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

static void grows_and_stays_terminated(void **state)
{
    (void)state;
    strbuf_t b = {0};
    strbuf_add(&b, "", 0);
    assert_non_null(b.p);
    assert_string_equal(b.p, "");
    char chunk[100];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 10; i++) {
        strbuf_add(&b, chunk, sizeof chunk);
    }
    strbuf_add(&b, "end", 3);
    assert_false(b.oom);
    assert_int_equal(b.n, 1003);
    assert_int_equal(strlen(b.p), 1003);
    assert_true(b.cap > b.n);
    assert_string_equal(b.p + 1000, "end");
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grows_and_stays_terminated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
