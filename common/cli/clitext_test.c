/* clitext_test.c: times in local time with their offset (TZ honoured) or
 * UTC, sizes, h:mm, display widths of Chinese text, tables that fit their
 * cells without cutting them, and the progress bar's line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clitext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* 2026-03-02T01:30:00Z */
#define T0 1772415000000LL

static void test_time_local_and_utc(void **state)
{
    (void)state;
    char buf[CLI_TIME_TEXT];
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    cli_set_utc(false);
    cli_time(T0 + 789, buf, sizeof buf); /* to the second */
    assert_string_equal(buf, "2026-03-02T09:30:00+08:00");
    assert_int_equal(cli_utc_offset_min(T0), 480);
    setenv("TZ", "America/New_York", 1);
    tzset();
    cli_time(T0, buf, sizeof buf);
    assert_string_equal(buf, "2026-03-01T20:30:00-05:00");
    setenv("TZ", "UTC", 1);
    tzset();
    cli_time(T0, buf, sizeof buf);
    assert_string_equal(buf, "2026-03-02T01:30:00Z");
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    cli_set_utc(true);
    cli_time(T0, buf, sizeof buf);
    assert_string_equal(buf, "2026-03-02T01:30:00Z");
    assert_true(cli_utc());
    cli_set_utc(false);
    cli_time(0, buf, sizeof buf);
    assert_string_equal(buf, "-");
}

static void test_sizes_and_durations(void **state)
{
    (void)state;
    char buf[32];
    cli_size(512, buf, sizeof buf);
    assert_string_equal(buf, "512 B");
    cli_size(1536, buf, sizeof buf);
    assert_string_equal(buf, "1.5 KB");
    cli_size(4939212390ULL, buf, sizeof buf); /* 4.6 GiB */
    assert_string_equal(buf, "4.6 GB");
    cli_size(94ULL << 20, buf, sizeof buf);
    assert_string_equal(buf, "94 MB");
    cli_hmm(40 * 60000, buf, sizeof buf);
    assert_string_equal(buf, "0:40");
    cli_hmm((12 * 60 + 5) * 60000LL + 20000, buf, sizeof buf);
    assert_string_equal(buf, "12:05");
    cli_hmm(89999, buf, sizeof buf);
    assert_string_equal(buf, "0:01");
}

static void test_widths(void **state)
{
    (void)state;
    assert_int_equal(cli_width("abc"), 3);
    assert_int_equal(cli_width("南大港产业园区自然资源所"), 24);
    assert_int_equal(cli_width("冀J-ZF031"), 9);
    assert_int_equal(cli_width("e\xcc\x81"), 1); /* e + combining acute */
    assert_int_equal(cli_width("a\xe4\xb8"), 3); /* a cut character: its bytes count 1 each */
    assert_int_equal(cli_width(""), 0);
}

/* Output of fn into a string (caller frees). */
static char *capture(void (*fn)(FILE *, void *), void *ctx)
{
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    assert_non_null(f);
    fn(f, ctx);
    fclose(f);
    return text;
}

static void print_table(FILE *f, void *ctx)
{
    cli_table_print(ctx, f);
}

static void test_table_fits_wide_text(void **state)
{
    (void)state;
    const char *head[] = {"UNIT", "VEHICLE", "N"};
    cli_table_t *t = cli_table_new(3, head, "llr");
    assert_non_null(t);
    const char *r1[] = {"南大港产业园区自然资源所", "冀J-ZF031", "7"};
    const char *r2[] = {"unit-2", NULL, "1234"};
    const char *r3[] = {"a\nb", "\033[2J", "1"};
    assert_true(cli_table_add(t, r1));
    assert_true(cli_table_add(t, r2));
    assert_true(cli_table_add(t, r3));
    assert_int_equal(cli_table_rows(t), 3);
    char *out = capture(print_table, t);
    /* Every unit name whole; the columns after it line up in cells. */
    assert_string_equal(out, "UNIT                      VEHICLE       N\n"
                             "南大港产业园区自然资源所  冀J-ZF031     7\n"
                             "unit-2                    -          1234\n"
                             "a\\x0Ab                    \\x1B[2J       1\n");
    free(out);
    cli_table_free(&t);
    assert_null(t);
}

static void test_progress_line(void **state)
{
    (void)state;
    char path[] = "/tmp/clitext_progress_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    cli_progress_force(true);
    cli_progress_t p;
    cli_progress_start(&p, "export", 4ULL << 30, true);
    cli_progress_set(&p, 1ULL << 30);
    cli_progress_set(&p, 2ULL << 30); /* within 100 ms: not drawn again */
    cli_progress_end(&p);
    cli_progress_force(false);
    cli_progress_start(&p, "quiet", 10, false);
    cli_progress_set(&p, 5);
    cli_progress_end(&p);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    char buf[1024] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "\rexport ["));
    assert_non_null(strstr(buf, " 25%  1.0 GB of 4.0 GB"));
    assert_non_null(strstr(buf, " 50%  2.0 GB of 4.0 GB"));
    assert_null(strstr(buf, "quiet")); /* not a terminal: nothing */
    assert_int_equal(buf[n - 1], '\n');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_local_and_utc),
        cmocka_unit_test(test_sizes_and_durations),
        cmocka_unit_test(test_widths),
        cmocka_unit_test(test_table_fits_wide_text),
        cmocka_unit_test(test_progress_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
