/* row_test.c: the row codec round-trips, sorts signed values, and never
 * writes or reads out of bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "row.h"

static void round_trip_of_every_kind(void **state)
{
    (void)state;
    uint8_t buf[128];
    row_w_t w = {buf, 0, sizeof buf, false};
    uint8_t raw[3] = {1, 2, 3};
    row_put(&w, raw, 3);
    row_put_u8(&w, 0xab);
    row_put_u64(&w, 0x0102030405060708ULL);
    row_put_i64(&w, -42);
    row_put_str(&w, "湖北 unit", 64);
    row_put_str(&w, "", 64);
    assert_false(w.overflow);

    row_r_t r = {buf, w.len, 0, false};
    uint8_t back[3];
    row_get(&r, back, 3);
    assert_memory_equal(back, raw, 3);
    assert_int_equal(row_get_u8(&r), 0xab);
    assert_true(row_get_u64(&r) == 0x0102030405060708ULL);
    assert_true(row_get_i64(&r) == -42);
    char s[64];
    row_get_str(&r, s, sizeof s);
    assert_string_equal(s, "湖北 unit");
    row_get_str(&r, s, sizeof s);
    assert_string_equal(s, "");
    assert_false(r.bad);
    assert_int_equal(r.off, w.len);
}

/* A string longer than its room is cut on a character boundary. */
static void long_string_cut_on_a_character(void **state)
{
    (void)state;
    uint8_t buf[64];
    row_w_t w = {buf, 0, sizeof buf, false};
    row_put_str(&w, "湖北省自然资源厅", 8); /* room for 7 bytes: two characters */
    row_r_t r = {buf, w.len, 0, false};
    char s[16];
    row_get_str(&r, s, sizeof s);
    assert_false(r.bad);
    assert_string_equal(s, "湖北");
}

static void u64_is_big_endian(void **state)
{
    (void)state;
    uint8_t buf[8];
    row_w_t w = {buf, 0, sizeof buf, false};
    row_put_u64(&w, 0x0102030405060708ULL);
    const uint8_t want[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_memory_equal(buf, want, 8);
}

static void u32_is_big_endian_and_a_short_row_reads_zero(void **state)
{
    (void)state;
    uint8_t buf[6];
    row_w_t w = {buf, 0, sizeof buf, false};
    row_put_u32(&w, 0xA1B2C3D4u);
    row_put_u32(&w, 7);
    assert_true(w.overflow);
    assert_int_equal(w.len, 8);
    const uint8_t want[4] = {0xA1, 0xB2, 0xC3, 0xD4};
    assert_memory_equal(buf, want, 4);
    row_r_t r = {buf, 6, 0, false};
    assert_true(row_get_u32(&r) == 0xA1B2C3D4u);
    assert_false(r.bad);
    assert_int_equal(row_get_u32(&r), 0);
    assert_true(r.bad);
}

static void signed_values_sort_as_bytes(void **state)
{
    (void)state;
    const int64_t v[] = {INT64_MIN, -1000, -1, 0, 1, 1000, INT64_MAX};
    for (size_t i = 0; i + 1 < sizeof v / sizeof v[0]; i++) {
        uint8_t a[8], b[8];
        row_i64_to_be(a, v[i]);
        row_i64_to_be(b, v[i + 1]);
        assert_true(memcmp(a, b, 8) < 0);
        assert_true(row_i64_from_be(a) == v[i]);
    }
}

static void writer_stops_at_capacity_and_counts_the_need(void **state)
{
    (void)state;
    uint8_t buf[16];
    memset(buf, 0xee, sizeof buf);
    row_w_t w = {buf, 0, 10, false};
    row_put_u64(&w, 7);
    assert_false(w.overflow);
    row_put_u64(&w, 8); /* does not fit */
    assert_true(w.overflow);
    row_put_u8(&w, 1); /* would fit alone, but the row is already lost */
    assert_int_equal(w.len, 17);
    assert_int_equal(buf[8], 0xee); /* nothing written past what fitted */
    assert_int_equal(buf[10], 0xee);
}

static void long_string_is_cut_to_max(void **state)
{
    (void)state;
    uint8_t buf[64];
    row_w_t w = {buf, 0, sizeof buf, false};
    row_put_str(&w, "abcdefghij", 5);
    row_r_t r = {buf, w.len, 0, false};
    char s[5];
    row_get_str(&r, s, sizeof s);
    assert_string_equal(s, "abcd");
    assert_false(r.bad);
}

static void short_row_is_bad_and_reads_zero(void **state)
{
    (void)state;
    const uint8_t buf[5] = {0, 0, 0, 0, 9};
    row_r_t r = {buf, sizeof buf, 0, false};
    assert_true(row_get_u64(&r) == 0);
    assert_true(r.bad);
    assert_int_equal(row_get_u8(&r), 0); /* stays bad */
    char s[8] = "x";
    row_get_str(&r, s, sizeof s);
    assert_string_equal(s, "");
}

static void string_too_long_or_with_nul_is_bad(void **state)
{
    (void)state;
    const uint8_t longer[] = {0, 4, 'a', 'b', 'c', 'd'};
    row_r_t r = {longer, sizeof longer, 0, false};
    char s[4];
    row_get_str(&r, s, sizeof s);
    assert_true(r.bad);
    assert_string_equal(s, "");

    const uint8_t nul[] = {0, 3, 'a', 0, 'c'};
    row_r_t r2 = {nul, sizeof nul, 0, false};
    char s2[8];
    row_get_str(&r2, s2, sizeof s2);
    assert_true(r2.bad);

    const uint8_t cut[] = {0, 9, 'a'};
    row_r_t r3 = {cut, sizeof cut, 0, false};
    row_get_str(&r3, s2, sizeof s2);
    assert_true(r3.bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_of_every_kind),
        cmocka_unit_test(long_string_cut_on_a_character),
        cmocka_unit_test(u64_is_big_endian),
        cmocka_unit_test(u32_is_big_endian_and_a_short_row_reads_zero),
        cmocka_unit_test(signed_values_sort_as_bytes),
        cmocka_unit_test(writer_stops_at_capacity_and_counts_the_need),
        cmocka_unit_test(long_string_is_cut_to_max),
        cmocka_unit_test(short_row_is_bad_and_reads_zero),
        cmocka_unit_test(string_too_long_or_with_nul_is_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
