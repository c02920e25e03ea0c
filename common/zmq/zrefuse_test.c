/* zrefuse_test.c: the audit detail of a window of refused handshakes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "zrefuse.h"

#include <string.h>

static zrefusal_t row(uint8_t k, const char *reason, const char *addr, uint64_t window)
{
    zrefusal_t r;
    memset(&r, 0, sizeof r);
    memset(r.key, k, sizeof r.key);
    strcpy(r.reason, reason);
    strcpy(r.address, addr);
    r.window = window;
    return r;
}

static void a_window_names_each_key_its_count_and_address(void **state)
{
    (void)state;
    zrefusal_t rows[3] = {row(0xab, "unknown_key", "10.0.0.7", 3), row(0xcd, "revoked", "x", 0),
                          row(0x01, "revoked", "10.0.0.8", 1)};
    zrefusal_t others = row(0, "", "", 0);
    char out[1024];
    assert_true(
        zrefuse_audit_detail(out, sizeof out, "handshakes refused", true, rows, 3, &others));
    assert_string_equal(out, "4 handshakes refused: unknown_key key abababababababab… 3× from "
                             "10.0.0.7; revoked key 0101010101010101… 1× from 10.0.0.8;");
    assert_true(zrefuse_audit_detail(out, sizeof out, "subscriber handshakes refused", false, rows,
                                     3, &others));
    assert_string_equal(out, "4 subscriber handshakes refused: key abababababababab… 3× from "
                             "10.0.0.7; key 0101010101010101… 1× from 10.0.0.8;");
}

static void what_the_table_or_the_text_could_not_hold_is_summed_up(void **state)
{
    (void)state;
    zrefusal_t rows[12];
    for (int i = 0; i < 12; i++) {
        rows[i] = row((uint8_t)(i + 1), "unknown_key", "192.168.100.100:54321", 2);
    }
    zrefusal_t others = row(0, "", "", 5);
    char out[400];
    assert_true(
        zrefuse_audit_detail(out, sizeof out, "handshakes refused", true, rows, 12, &others));
    assert_true(strlen(out) < sizeof out);
    assert_non_null(strstr(out, "29 handshakes refused:"));
    assert_non_null(strstr(out, " and 5 more from "));
}

static void a_window_that_refused_nothing_gives_no_entry(void **state)
{
    (void)state;
    zrefusal_t rows[1] = {row(1, "unknown_key", "a", 0)};
    zrefusal_t others = row(0, "", "", 0);
    char out[64] = "stale";
    assert_false(
        zrefuse_audit_detail(out, sizeof out, "handshakes refused", true, rows, 1, &others));
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_window_names_each_key_its_count_and_address),
        cmocka_unit_test(what_the_table_or_the_text_could_not_hold_is_summed_up),
        cmocka_unit_test(a_window_that_refused_nothing_gives_no_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
