#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "jsontext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Text with what needs escaping: quotes, backslashes, every control
 * character, '/', DEL, two- three- and four-byte characters. */
static json_t *random_string(void)
{
    static const char *const parts[] = {"a",
                                        "Z",
                                        " ",
                                        "\"",
                                        "\\",
                                        "/",
                                        "\x7f",
                                        "\xc3\xa9",
                                        "\xe4\xb8\xad",
                                        "\xf0\x9f\x98\x80",
                                        "\xe2\x80\xa8",
                                        "{}",
                                        "_ms",
                                        "alert"};
    char buf[256];
    size_t n = 0, count = next() % 12;
    for (size_t i = 0; i < count; i++) {
        const char *p;
        char ctl[2] = {0};
        if (next() % 4 == 0) {
            ctl[0] = (char)(1 + next() % 31);
            p = ctl;
        } else {
            p = parts[next() % (sizeof parts / sizeof parts[0])];
        }
        size_t pn = strlen(p);
        memcpy(buf + n, p, pn);
        n += pn;
    }
    if (next() % 10 == 0) { /* an embedded NUL */
        buf[n++] = '\0';
        buf[n++] = 'x';
    }
    return json_stringn(buf, n);
}

static json_t *random_value(int depth)
{
    switch (depth > 3 ? 2 + next() % 6 : next() % 8) {
    case 0: {
        json_t *o = json_object();
        size_t n = next() % 40; /* over and under the in-place sort's 32 */
        for (size_t i = 0; i < n; i++) {
            char key[32];
            json_t *k = random_string();
            snprintf(key, sizeof key, "%.*s%zu", (int)(next() % 3), json_string_value(k),
                     (size_t)(next() % 50));
            json_decref(k);
            json_object_set_new(o, key, random_value(depth + 1));
        }
        return o;
    }
    case 1: {
        json_t *a = json_array();
        size_t n = next() % 6;
        for (size_t i = 0; i < n; i++) {
            json_array_append_new(a, random_value(depth + 1));
        }
        return a;
    }
    case 2:
        return random_string();
    case 3: {
        static const json_int_t edge[] = {0, -1, 1, INT64_MAX, INT64_MIN, 1772323200000LL};
        return json_integer(next() % 2 ? edge[next() % 6] : (json_int_t)next());
    }
    case 4: {
        static const double reals[] = {0.0, -0.5, 1e300, 95.25, 1.0 / 3.0, 100.0};
        return json_real(reals[next() % 6]);
    }
    case 5:
        return json_true();
    case 6:
        return json_false();
    default:
        return json_null();
    }
}

static void same_text_as_jansson_on_random_values(void **state)
{
    (void)state;
    for (int i = 0; i < 3000; i++) {
        json_t *v = next() % 5 ? json_object() : json_array();
        json_t *inner = random_value(0);
        if (json_is_object(v)) {
            json_object_set_new(v, "v", inner);
            json_object_set_new(v, "alert", random_value(1));
            json_object_set_new(v, "alert_id", random_value(1));
        } else {
            json_array_append_new(v, inner);
        }
        char *want = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        size_t n = 0;
        char *got = jsontext_sorted(v, &n);
        assert_non_null(want);
        assert_non_null(got);
        assert_string_equal(got, want);
        assert_int_equal(n, strlen(want));
        free(got);
        free(want);
        json_decref(v);
    }
}

static void empty_and_what_jansson_refuses(void **state)
{
    (void)state;
    json_t *o = json_object(), *a = json_array();
    char *t = jsontext_sorted(o, NULL);
    assert_string_equal(t, "{}");
    free(t);
    t = jsontext_sorted(a, NULL);
    assert_string_equal(t, "[]");
    free(t);
    /* a bare value, as json_dumps without JSON_ENCODE_ANY */
    json_t *s = json_string("x");
    assert_null(jsontext_sorted(s, NULL));
    assert_null(json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS));
    assert_null(jsontext_sorted(NULL, NULL));
    /* a string that is not UTF-8 */
    json_array_append_new(a, json_stringn_nocheck("\xff\xfe", 2));
    assert_null(jsontext_sorted(a, NULL));
    assert_null(json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS));
    json_decref(s);
    json_decref(a);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_text_as_jansson_on_random_values),
        cmocka_unit_test(empty_and_what_jansson_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
