/* officers_test.c: officers and PINs (edge/ui/officers.h): a PIN is checked
 * and never stored, wrong PINs lock an officer out with a growing back-off
 * that survives a restart (it is in the file) and a new PIN ends, the file
 * is 0600, and an unknown ID is refused like a wrong PIN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fsutil.h"
#include "officers.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define T0 1772413200000LL

static void add_check_list_remove(void **state)
{
    (void)state;
    char dir[512];
    testutil_tmpdir(dir, sizeof dir, "officers");
    assert_int_equal(officers_add(dir, "ZF-0107", "张三", "246810", T0), FT_OK);
    assert_int_equal(officers_add(dir, "ZF-0107", "x", "246810", T0), FT_EEXIST);
    assert_int_equal(officers_add(dir, "ZF 0107", "x", "246810", T0), FT_EINVAL);
    assert_int_equal(officers_add(dir, "ZF-0112", "李四", "12345", T0), FT_EINVAL); /* short */
    assert_int_equal(officers_add(dir, "ZF-0112", "李四", "135791", T0), FT_OK);
    officer_t o, *all = NULL;
    size_t n = 0;
    int64_t wait = 0;
    bool locked = false;
    assert_int_equal(officers_check(dir, "ZF-0107", "246810", T0, &o, &wait, &locked), FT_OK);
    assert_string_equal(o.name, "张三");
    assert_int_equal(o.failures, 0);
    assert_int_equal(officers_check(dir, "ZF-0107", "135791", T0, &o, &wait, &locked), FT_EKEY);
    assert_int_equal(officers_check(dir, "ZF-9999", "246810", T0, &o, &wait, &locked), FT_EKEY);
    assert_int_equal(officers_list(dir, &all, &n), FT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(all[0].id, "ZF-0107");
    assert_int_equal(all[0].failures, 1);
    free(all);
    /* the PIN is in the file only as an Argon2id hash, and the file is 0600 */
    char path[600], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", dir, OFFICERS_FILE);
    assert_int_equal(fsutil_read_all(path, &text, &len), FT_OK);
    assert_null(strstr(text, "246810"));
    assert_non_null(strstr(text, "$argon2id$"));
    free(text);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(officers_remove(dir, "ZF-0112"), FT_OK);
    assert_int_equal(officers_remove(dir, "ZF-0112"), FT_ENOTFOUND);
    assert_int_equal(officers_check(dir, "ZF-0112", "135791", T0, &o, &wait, &locked), FT_EKEY);
    testutil_rmrf(dir);
}

static void wrong_pins_lock_out_growing_until_a_new_pin(void **state)
{
    (void)state;
    char dir[512];
    testutil_tmpdir(dir, sizeof dir, "officers_lock");
    assert_int_equal(officers_add(dir, "ZF-0107", "", "246810", T0), FT_OK);
    officer_t o;
    int64_t wait = 0, now = T0;
    bool locked = false;
    for (unsigned i = 1; i <= OFFICERS_FREE_FAILURES; i++) {
        assert_int_equal(officers_check(dir, "ZF-0107", "000000", now, &o, &wait, &locked),
                         FT_EKEY);
        assert_false(locked);
    }
    /* the next failure locks; a right PIN meanwhile is not even tested */
    assert_int_equal(officers_check(dir, "ZF-0107", "000000", now, &o, &wait, &locked), FT_EKEY);
    assert_true(locked);
    assert_true(wait >= OFFICERS_LOCK_FIRST_MS && wait < OFFICERS_LOCK_FIRST_MS + 5000);
    assert_int_equal(officers_check(dir, "ZF-0107", "246810", now + 1000, &o, &wait, &locked),
                     FT_EAGAIN);
    /* after the lockout one more failure locks twice as long */
    now += OFFICERS_LOCK_FIRST_MS + 5000;
    assert_int_equal(officers_check(dir, "ZF-0107", "000000", now, &o, &wait, &locked), FT_EKEY);
    assert_true(wait >= 2 * OFFICERS_LOCK_FIRST_MS);
    assert_int_equal(officers_backoff(OFFICERS_FREE_FAILURES), 0);
    assert_int_equal(officers_backoff(OFFICERS_FREE_FAILURES + 1), OFFICERS_LOCK_FIRST_MS);
    assert_int_equal(officers_backoff(OFFICERS_FREE_FAILURES + 2), 2 * OFFICERS_LOCK_FIRST_MS);
    assert_int_equal(officers_backoff(1000), OFFICERS_LOCK_MAX_MS);
    /* a new PIN ends the lockout; the right PIN then forgets the failures */
    assert_int_equal(officers_set_pin(dir, "ZF-0107", "112233"), FT_OK);
    assert_int_equal(officers_check(dir, "ZF-0107", "112233", now, &o, &wait, &locked), FT_OK);
    assert_int_equal(o.failures, 0);
    assert_int_equal(o.locked_until_ms, 0);
    assert_int_equal(officers_set_pin(dir, "ZF-0999", "112233"), FT_ENOTFOUND);
    testutil_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(add_check_list_remove),
        cmocka_unit_test(wrong_pins_lock_out_growing_until_a_new_pin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
