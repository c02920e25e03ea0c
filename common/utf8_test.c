/* utf8_test.c: copies never cut a character (CJK, 4-byte emoji, at every
 * byte offset; strings already cut), validity agrees with jansson's on
 * every 1-, 2- and 3-byte string and on 4-byte samples (overlong forms,
 * surrogates, above U+10FFFF, stray continuation bytes), and the escaped
 * form keeps valid characters, shows each invalid byte as \xNN and is
 * always a JSON string. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define ZH "\xE4\xB8\xAD"        /* 中, 3 bytes */
#define EMOJI "\xF0\x9F\x98\x80" /* U+1F600, 4 bytes */

/* Checks what every copy must be: a prefix of src of at most cap - 1 bytes
 * that is valid UTF-8 when src is, ends on a character boundary of src, and
 * is the longest such (the next character would not have fitted). */
static void check_copy_of_valid(const char *src, size_t cap)
{
    char *dst = malloc(cap);
    assert_non_null(dst);
    memset(dst, 0x55, cap);
    size_t n = strlen(src);
    bool whole = utf8_copy(dst, cap, src);
    size_t k = strlen(dst);
    assert_true(k <= cap - 1);
    assert_memory_equal(dst, src, k);
    assert_true(utf8_valid(dst, k));
    assert_int_equal(whole, k == n);
    if (k < n) {
        size_t next = utf8_char_len(src + k, n - k);
        assert_true(next > 0); /* k is a boundary of src */
        assert_true(k + next > cap - 1);
    }
    free(dst);
}

static void char_len_by_class(void **state)
{
    (void)state;
    assert_int_equal(utf8_char_len("a", 1), 1);
    assert_int_equal(utf8_char_len("\xC3\xA9", 2), 2); /* é */
    assert_int_equal(utf8_char_len(ZH, 3), 3);
    assert_int_equal(utf8_char_len(EMOJI, 4), 4);
    assert_int_equal(utf8_char_len(ZH, 2), 0);    /* does not fit */
    assert_int_equal(utf8_char_len(EMOJI, 3), 0); /* does not fit */
    assert_int_equal(utf8_char_len("", 0), 0);
    /* overlong forms */
    assert_int_equal(utf8_char_len("\xC0\xAF", 2), 0);
    assert_int_equal(utf8_char_len("\xC1\xBF", 2), 0);
    assert_int_equal(utf8_char_len("\xE0\x80\xAF", 3), 0);
    assert_int_equal(utf8_char_len("\xE0\x9F\xBF", 3), 0);
    assert_int_equal(utf8_char_len("\xE0\xA0\x80", 3), 3); /* U+0800, the first 3-byte */
    assert_int_equal(utf8_char_len("\xF0\x80\x80\xAF", 4), 0);
    assert_int_equal(utf8_char_len("\xF0\x8F\xBF\xBF", 4), 0);
    assert_int_equal(utf8_char_len("\xF0\x90\x80\x80", 4), 4); /* U+10000 */
    /* surrogates U+D800..U+DFFF */
    assert_int_equal(utf8_char_len("\xED\xA0\x80", 3), 0);
    assert_int_equal(utf8_char_len("\xED\xBF\xBF", 3), 0);
    assert_int_equal(utf8_char_len("\xED\x9F\xBF", 3), 3); /* U+D7FF */
    assert_int_equal(utf8_char_len("\xEE\x80\x80", 3), 3); /* U+E000 */
    /* above U+10FFFF */
    assert_int_equal(utf8_char_len("\xF4\x8F\xBF\xBF", 4), 4);
    assert_int_equal(utf8_char_len("\xF4\x90\x80\x80", 4), 0);
    assert_int_equal(utf8_char_len("\xF5\x80\x80\x80", 4), 0);
    assert_int_equal(utf8_char_len("\xFF", 1), 0);
    /* stray continuation bytes */
    assert_int_equal(utf8_char_len("\x80", 1), 0);
    assert_int_equal(utf8_char_len("\xBF" ZH, 4), 0);
    /* a lead byte followed by something else */
    assert_int_equal(utf8_char_len("\xE4"
                                   "a\xAD",
                                   3),
                     0);
}

/* jansson's json_stringn is the reference: what it refuses must not pass. */
static bool jansson_valid(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    json_decref(j);
    return j != NULL;
}

static void valid_agrees_with_jansson_everywhere(void **state)
{
    (void)state;
    char b[4];
    for (unsigned a = 0; a < 256; a++) {
        b[0] = (char)a;
        assert_int_equal(utf8_valid(b, 1), jansson_valid(b, 1));
        for (unsigned c = 0; c < 256; c++) {
            b[1] = (char)c;
            assert_int_equal(utf8_valid(b, 2), jansson_valid(b, 2));
        }
    }
    /* every 3-byte string that starts with a byte of C0 or above (below it
     * the first byte alone decides, checked above) */
    for (unsigned a = 0xC0; a < 256; a++) {
        for (unsigned c = 0; c < 256; c++) {
            for (unsigned d = 0; d < 256; d++) {
                b[0] = (char)a;
                b[1] = (char)c;
                b[2] = (char)d;
                if (utf8_valid(b, 3) != jansson_valid(b, 3)) {
                    fail_msg("%02x %02x %02x: ours %d, jansson %d", a, c, d, utf8_valid(b, 3),
                             jansson_valid(b, 3));
                }
            }
        }
    }
    /* 4-byte leads with every second byte and the edges of the rest */
    static const unsigned char edge[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0xBF, 0xC0, 0xFF};
    for (unsigned a = 0xF0; a < 256; a++) {
        for (unsigned c = 0; c < 256; c++) {
            for (size_t x = 0; x < sizeof edge; x++) {
                for (size_t y = 0; y < sizeof edge; y++) {
                    b[0] = (char)a;
                    b[1] = (char)c;
                    b[2] = (char)edge[x];
                    b[3] = (char)edge[y];
                    assert_int_equal(utf8_valid(b, 4), jansson_valid(b, 4));
                }
            }
        }
    }
}

static void copy_cjk_cut_at_every_offset(void **state)
{
    (void)state;
    char src[3 * 100 + 1] = "";
    for (int i = 0; i < 100; i++) {
        strcat(src, ZH);
    }
    for (size_t cap = 1; cap <= strlen(src) + 2; cap++) {
        check_copy_of_valid(src, cap);
        char dst[400];
        utf8_copy(dst, cap, src);
        assert_int_equal(strlen(dst), (cap - 1) / 3 * 3);
    }
}

static void copy_mixed_widths_cut_at_every_offset(void **state)
{
    (void)state;
    const char *src = "a" ZH "\xC3\xA9" EMOJI "b" EMOJI EMOJI ZH "z\xC3\xA9" ZH EMOJI;
    for (size_t cap = 1; cap <= strlen(src) + 2; cap++) {
        check_copy_of_valid(src, cap);
    }
    /* the same through utf8_prefix at every max */
    for (size_t max = 0; max <= strlen(src); max++) {
        size_t k = utf8_prefix(src, strlen(src), max);
        assert_true(k <= max);
        assert_true(utf8_valid(src, k));
        assert_true(max - k < 4);
    }
}

/* The case: a cause of one ASCII byte and 85 CJK characters (256
 * bytes) in a 256-byte buffer: the old copy kept 255 bytes, the last two of
 * them the first two bytes of a character. */
static void sidecar_cause_of_85_cjk_plus_one(void **state)
{
    (void)state;
    char src[300] = "X";
    for (int i = 0; i < 85; i++) {
        strcat(src, ZH);
    }
    assert_int_equal(strlen(src), 256);
    char old[256];
    /* the old copy: the first 255 bytes, cut on purpose (snprintf here is
     * a format-truncation warning in a Debug build) */
    memcpy(old, src, sizeof old - 1);
    old[sizeof old - 1] = '\0';
    assert_false(utf8_valid_str(old)); /* what old edges signed */
    char dst[256];
    assert_false(utf8_copy(dst, sizeof dst, src));
    assert_int_equal(strlen(dst), 1 + 84 * 3);
    assert_true(utf8_valid_str(dst));
    /* the cut string shown: 84 characters and the two bytes escaped */
    char *esc = NULL;
    assert_int_equal(utf8_escape(old, &esc), FT_OK);
    assert_int_equal(strlen(esc), 1 + 84 * 3 + 8);
    assert_string_equal(esc + 1 + 84 * 3, "\\xE4\\xB8");
    assert_memory_equal(esc, dst, strlen(dst));
    free(esc);
    /* and trimmed back to the last whole character */
    assert_true(utf8_trim(old));
    assert_string_equal(old, dst);
    assert_false(utf8_trim(old));
}

static void copy_cut_never_ends_in_a_cut_sequence(void **state)
{
    (void)state;
    char dst[64];
    /* text that fits is copied as it is, even when a sequence in it was cut
     * before (a copy changes nothing it does not have to) */
    assert_true(utf8_copy(dst, sizeof dst, "ab\xE4\xB8"));
    assert_string_equal(dst, "ab\xE4\xB8");
    /* cut inside the two bytes of 中 it ends with */
    assert_false(utf8_copy(dst, 4, "ab\xE4\xB8"));
    assert_string_equal(dst, "ab");
    /* cut inside the first three bytes of an emoji */
    assert_false(utf8_copy(dst, 5, "ab\xF0\x9F\x98"));
    assert_string_equal(dst, "ab");
    /* cut right after a sequence cut before, followed by other text: the
     * copy does not end in it */
    assert_false(utf8_copy(dst, 5, "ab\xE4\xB8xyz"));
    assert_string_equal(dst, "ab");
    /* lone lead bytes before the cut go too */
    assert_false(utf8_copy(dst, 4, "\xE4\xE4\xB8\xAD"));
    assert_string_equal(dst, "");
    assert_true(utf8_copy(dst, sizeof dst, "\xE4\xE4\xB8\xAD"));
    assert_string_equal(dst, "\xE4\xE4\xB8\xAD");
    /* invalid bytes that are no beginning of a character are kept (shown
     * escaped): overlong, surrogate, stray continuation, F5..FF */
    assert_true(utf8_copy(dst, sizeof dst, "a\xE0\x80"));
    assert_string_equal(dst, "a\xE0\x80");
    assert_true(utf8_copy(dst, sizeof dst, "a\xED\xA0"));
    assert_string_equal(dst, "a\xED\xA0");
    assert_true(utf8_copy(dst, sizeof dst, "a\x80\x80"));
    assert_string_equal(dst, "a\x80\x80");
    assert_true(utf8_copy(dst, sizeof dst, "a\xC0"));
    assert_string_equal(dst, "a\xC0");
    assert_true(utf8_copy(dst, sizeof dst, "a\xFF"));
    assert_string_equal(dst, "a\xFF");
    assert_true(utf8_copy(dst, sizeof dst, "a\xF4\x90"));
    assert_string_equal(dst, "a\xF4\x90");
    /* NULL and a 1-byte buffer */
    assert_true(utf8_copy(dst, sizeof dst, NULL));
    assert_string_equal(dst, "");
    assert_false(utf8_copy(dst, 1, ZH));
    assert_string_equal(dst, "");
    /* copyn stops at n and at a NUL */
    assert_true(utf8_copyn(dst, sizeof dst, ZH ZH, 4)); /* the 4 bytes given, as they are */
    assert_string_equal(dst, ZH "\xE4");
    assert_false(utf8_copyn(dst, 5, ZH ZH, 6));
    assert_string_equal(dst, ZH);
    assert_true(utf8_copyn(dst, sizeof dst, "ab\0cd", 5));
    assert_string_equal(dst, "ab");
    /* a string whose every byte is a stray continuation byte */
    assert_true(utf8_copy(dst, 4, "\x80\x81\x82"));
    assert_string_equal(dst, "\x80\x81\x82");
}

static void trim_after_snprintf(void **state)
{
    (void)state;
    char buf[8];
    const char *volatile two = ZH ZH "!"; /* opaque: the cut is the point */
    snprintf(buf, sizeof buf, "x=%s", two);
    assert_int_equal(strlen(buf), 7); /* "x=" + 中 + 2 bytes of 中 */
    assert_true(utf8_trim(buf));
    assert_string_equal(buf, "x=" ZH);
    const char *volatile emoji = "abc" EMOJI "d";
    snprintf(buf, sizeof buf, "%s", emoji);
    assert_false(utf8_trim(buf)); /* the cut fell after the emoji */
    assert_string_equal(buf, "abc" EMOJI);
    char empty[1] = "";
    assert_false(utf8_trim(empty));
    /* a printf precision that never cuts a character */
    char out[32];
    const char *cause = "案由" ZH "x";
    snprintf(out, sizeof out, "[%.*s]", utf8_fit(cause, 8), cause);
    assert_string_equal(out, "[案由]");
    snprintf(out, sizeof out, "[%.*s]", utf8_fit(cause, 9), cause);
    assert_string_equal(out, "[案由" ZH "]");
    snprintf(out, sizeof out, "[%.*s]", utf8_fit(cause, 100), cause);
    assert_string_equal(out, "[案由" ZH "x]");
    assert_int_equal(utf8_fit(NULL, 5), 0);
    assert_int_equal(utf8_fit("ab\xE4\xB8", 4), 4); /* fits: as it is */
    assert_int_equal(utf8_fit("ab\xE4\xB8", 3), 2);
}

static void escape_shows_invalid_bytes_keeps_characters(void **state)
{
    (void)state;
    char *e = NULL;
    assert_int_equal(utf8_escape("原因 ok " EMOJI, &e), FT_OK);
    assert_string_equal(e, "原因 ok " EMOJI);
    free(e);
    struct {
        const char *in, *out;
    } cases[] = {
        {"原因\xE4\xB8", "原因\\xE4\\xB8"},
        {"\xC0\xAF", "\\xC0\\xAF"},          /* overlong '/' */
        {"\xE0\x80\xAF", "\\xE0\\x80\\xAF"}, /* overlong '/' in 3 bytes */
        {"\xED\xA0\x80"
         "a",
         "\\xED\\xA0\\x80a"},                         /* surrogate U+D800 */
        {"\xF4\x90\x80\x80", "\\xF4\\x90\\x80\\x80"}, /* above U+10FFFF */
        {"a\x80" ZH, "a\\x80" ZH},                    /* stray continuation */
        {"\xFF\xFE", "\\xFF\\xFE"},
        {"\xF0\x9F\x98"
         "x",
         "\\xF0\\x9F\\x98x"}, /* a cut emoji */
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(utf8_escape(cases[i].in, &e), FT_OK);
        assert_string_equal(e, cases[i].out);
        assert_int_equal(utf8_escaped_len(cases[i].in, strlen(cases[i].in)), strlen(e));
        assert_true(utf8_valid_str(e));
        free(e);
    }
    assert_int_equal(utf8_escape(NULL, &e), FT_OK);
    assert_string_equal(e, "");
    free(e);
    /* and back: \xNN (either case) is the byte, anything else as it is */
    struct {
        const char *in, *out;
    } back[] = {
        {"原因\\xE4\\xB8", "原因\xE4\xB8"},
        {"a\\xe4b", "a\xE4"
                    "b"},
        {"\\x4", "\\x4"},
        {"\\xZZ", "\\xZZ"},
        {"\\x00", "\\x00"},
        {"\\", "\\"},
        {"\\x", "\\x"},
        {"plain", "plain"},
    };
    for (size_t i = 0; i < sizeof back / sizeof back[0]; i++) {
        assert_int_equal(utf8_unescape(back[i].in, &e), FT_OK);
        assert_string_equal(e, back[i].out);
        free(e);
    }
}

static void escape_to_never_cuts_a_character_or_an_escape(void **state)
{
    (void)state;
    const char *in = "a" ZH "\xFF" EMOJI "\xE4\xB8";
    size_t full = utf8_escaped_len(in, strlen(in));
    char want[64];
    assert_true(utf8_escape_to(want, sizeof want, in));
    assert_int_equal(strlen(want), full);
    for (size_t cap = 1; cap <= full + 1; cap++) {
        char out[64];
        bool whole = utf8_escape_to(out, cap, in);
        size_t k = strlen(out);
        assert_true(k <= cap - 1);
        assert_memory_equal(out, want, k);
        assert_true(utf8_valid(out, k));
        assert_int_equal(whole, k == full);
        /* k is a unit boundary of want: a, 中, \xFF, emoji, \xE4, \xB8 */
        static const size_t bounds[] = {0, 1, 4, 8, 12, 16, 20};
        bool at = false;
        for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
            at = at || bounds[b] == k;
        }
        assert_true(at);
    }
    char buf[16];
    assert_string_equal(utf8_show("plain " ZH, buf, sizeof buf), "plain " ZH);
    assert_string_equal(utf8_show("x\xE4\xB8", buf, sizeof buf), "x\\xE4\\xB8");
    assert_string_equal(utf8_show(NULL, buf, sizeof buf), "");
}

/* Random byte strings: the escaped form is valid, a JSON string, and reads
 * back to the original bytes (none of them holds a backslash). */
static void escape_of_random_bytes_round_trips(void **state)
{
    (void)state;
    srand(7);
    for (int round = 0; round < 20000; round++) {
        unsigned char in[24];
        size_t n = (size_t)(rand() % 23);
        for (size_t i = 0; i < n; i++) {
            do {
                /* more bytes of the interesting ranges than uniform */
                int r = rand() % 4;
                in[i] = r == 0   ? (unsigned char)(0x80 + rand() % 64)
                        : r == 1 ? (unsigned char)(0xC0 + rand() % 64)
                                 : (unsigned char)(1 + rand() % 255);
            } while (in[i] == '\\');
        }
        in[n] = 0;
        char *e = NULL;
        assert_int_equal(utf8_escape((const char *)in, &e), FT_OK);
        assert_true(utf8_valid_str(e));
        json_t *j = utf8_json_string((const char *)in);
        assert_non_null(j);
        assert_string_equal(json_string_value(j), e);
        char *dump = json_dumps(j, JSON_ENCODE_ANY);
        assert_non_null(dump);
        free(dump);
        json_decref(j);
        /* read back */
        unsigned char back[24];
        size_t b = 0;
        for (const char *p = e; *p;) {
            if (p[0] == '\\') {
                unsigned v;
                assert_int_equal(sscanf(p + 2, "%2X", &v), 1);
                back[b++] = (unsigned char)v;
                p += 4;
            } else {
                back[b++] = (unsigned char)*p++;
            }
        }
        assert_int_equal(b, n);
        assert_memory_equal(back, in, n);
        char *un = NULL;
        assert_int_equal(utf8_unescape(e, &un), FT_OK);
        assert_string_equal(un, (const char *)in);
        free(un);
        /* and a copy of the bytes into any buffer is them, or when cut, never
         * ends in a cut character */
        for (size_t cap = 1; cap <= n + 1; cap++) {
            char dst[24];
            bool whole = utf8_copy(dst, cap, (const char *)in);
            size_t k = strlen(dst);
            assert_memory_equal(dst, in, k);
            assert_int_equal(whole, k == n);
            if (!whole) {
                assert_false(utf8_trim(dst));
            }
        }
        free(e);
    }
}

static void json_string_never_null_for_text(void **state)
{
    (void)state;
    const char *bad = "案由\xE4\xB8";
    assert_null(json_string(bad)); /* what dropped items before */
    json_t *j = utf8_json_string(bad);
    assert_non_null(j);
    assert_string_equal(json_string_value(j), "案由\\xE4\\xB8");
    json_decref(j);
    j = utf8_json_string("案由 " EMOJI);
    assert_string_equal(json_string_value(j), "案由 " EMOJI);
    json_decref(j);
    assert_null(utf8_json_string(NULL));
    /* in json_pack through "o" */
    json_t *o =
        json_pack("{s:o, s:o?}", "cause", utf8_json_string(bad), "party", utf8_json_string(NULL));
    assert_non_null(o);
    assert_true(json_is_null(json_object_get(o, "party")));
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"cause\":\"案由\\\\xE4\\\\xB8\",\"party\":null}");
    free(text);
    /* keys */
    assert_int_equal(utf8_json_set_new(o, "单位\xE4", json_true()), FT_OK);
    assert_true(json_is_true(json_object_get(o, "单位\\xE4")));
    assert_true(json_is_true(utf8_json_get(o, "单位\xE4")));
    assert_int_equal(utf8_json_set_new(o, "ok", json_false()), FT_OK);
    assert_true(json_is_false(utf8_json_get(o, "ok")));
    assert_null(utf8_json_get(o, "absent\xFF"));
    assert_int_equal(utf8_json_set_new(o, "x", NULL), FT_EINVAL);
    assert_int_equal(utf8_json_set_new(NULL, "x", json_true()), FT_EINVAL);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(char_len_by_class),
        cmocka_unit_test(valid_agrees_with_jansson_everywhere),
        cmocka_unit_test(copy_cjk_cut_at_every_offset),
        cmocka_unit_test(copy_mixed_widths_cut_at_every_offset),
        cmocka_unit_test(sidecar_cause_of_85_cjk_plus_one),
        cmocka_unit_test(copy_cut_never_ends_in_a_cut_sequence),
        cmocka_unit_test(trim_after_snprintf),
        cmocka_unit_test(escape_shows_invalid_bytes_keeps_characters),
        cmocka_unit_test(escape_to_never_cuts_a_character_or_an_escape),
        cmocka_unit_test(escape_of_random_bytes_round_trips),
        cmocka_unit_test(json_string_never_null_for_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
