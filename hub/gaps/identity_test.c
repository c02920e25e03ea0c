/* identity_test.c: record identity across devices (identity.h): witnesses
 * of one record, conflicts named by a key that does not depend on arrival,
 * amendments that keep their id, and a result that is the same in every
 * order of the entries. */
#include "identity.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ident_entry_t entry(const char *unit, const char *case_id, const char *id,
                           const char *amends, int content, uint64_t order, const char *ref)
{
    ident_entry_t e = {
        .unit = unit, .case_id = case_id, .id = id, .amends = amends, .order = order, .ref = ref};
    memset(e.content, content, sizeof e.content);
    return e;
}

static void one_record_on_three_devices_is_one_primary_and_two_witnesses(void **state)
{
    (void)state;
    ident_entry_t e[] = {
        entry("U", "C1", "r1", NULL, 1, 300, "DEV-C/1/4"),
        entry("U", "C1", "r1", NULL, 1, 100, "DEV-A/1/9"),
        entry("U", "C1", "r1", NULL, 1, 200, "DEV-B/1/2"),
        entry("U", "C1", NULL, NULL, 2, 50, "DEV-A/1/1"), /* no id: alone */
        entry("U", "C1", "r2", NULL, 3, 50, "DEV-A/1/2"),
    };
    ident_out_t out[5];
    ident_conflict_t *c = NULL;
    size_t nc = 9;
    assert_int_equal(ident_group(e, 5, out, &c, &nc), FT_OK);
    assert_int_equal(nc, 0);
    assert_null(c);
    assert_int_equal(out[1].role, IDENT_PRIMARY);
    assert_int_equal(out[0].role, IDENT_WITNESS);
    assert_int_equal(out[0].primary, 1);
    assert_int_equal(out[2].role, IDENT_WITNESS);
    assert_int_equal(out[2].primary, 1);
    assert_int_equal(out[3].role, IDENT_ALONE);
    assert_int_equal(out[3].primary, 3);
    assert_int_equal(out[4].role, IDENT_PRIMARY);
}

static void the_same_id_in_another_unit_or_case_is_another_record(void **state)
{
    (void)state;
    ident_entry_t e[] = {
        entry("U1", "C1", "r1", NULL, 1, 100, "A/1/1"),
        entry("U2", "C1", "r1", NULL, 2, 100, "B/1/1"),
        entry("U1", "C2", "r1", NULL, 3, 100, "C/1/1"),
    };
    ident_out_t out[3];
    ident_conflict_t *c = NULL;
    size_t nc = 0;
    assert_int_equal(ident_group(e, 3, out, &c, &nc), FT_OK);
    assert_int_equal(nc, 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(out[i].role, IDENT_PRIMARY);
    }
}

static void other_content_conflicts_once_per_class_with_a_stable_key(void **state)
{
    (void)state;
    ident_entry_t e[] = {
        entry("U", "C1", "d1", NULL, 1, 100, "A/1/5"),
        entry("U", "C1", "d1", NULL, 2, 200, "B/1/5"),
        entry("U", "C1", "d1", NULL, 2, 300, "C/1/5"), /* same as B: one conflict */
        entry("U", "C1", "d1", NULL, 1, 400, "D/1/5"), /* witness of A */
    };
    ident_out_t out[4];
    ident_conflict_t *c = NULL;
    size_t nc = 0;
    assert_int_equal(ident_group(e, 4, out, &c, &nc), FT_OK);
    assert_int_equal(nc, 1);
    assert_int_equal(c[0].primary, 0);
    assert_int_equal(c[0].other, 1);
    assert_int_equal(out[1].role, IDENT_CONFLICT);
    assert_int_equal(out[2].role, IDENT_CONFLICT);
    assert_int_equal(out[3].role, IDENT_WITNESS);
    char key[IDENT_KEY_MAX];
    snprintf(key, sizeof key, "%s", c[0].key);
    free(c);
    /* The other version arrived first: the primary is that one, the
     * conflict's key is the same. */
    e[1].order = 50;
    assert_int_equal(ident_group(e, 4, out, &c, &nc), FT_OK);
    assert_int_equal(nc, 1);
    assert_int_equal(c[0].primary, 1);
    assert_int_equal(c[0].other, 0);
    assert_string_equal(c[0].key, key);
    assert_non_null(strstr(key, "U|C1|d1|0101"));
    free(c);
}

static void an_amendment_keeping_its_id_does_not_conflict(void **state)
{
    (void)state;
    ident_entry_t e[] = {
        entry("U", "C1", "x", NULL, 1, 100, "A/1/1"),
        entry("U", "C1", "x", "x", 2, 200, "B/1/1"), /* amends x, keeps the id */
        entry("U", "C1", "x", "x", 2, 300, "C/1/1"), /* the same amendment from C */
    };
    ident_out_t out[3];
    ident_conflict_t *c = NULL;
    size_t nc = 0;
    assert_int_equal(ident_group(e, 3, out, &c, &nc), FT_OK);
    assert_int_equal(nc, 0);
    assert_int_equal(out[0].role, IDENT_PRIMARY);
    assert_int_equal(out[1].role, IDENT_PRIMARY);
    assert_int_equal(out[2].role, IDENT_WITNESS);
    assert_int_equal(out[2].primary, 1);
}

/* Every permutation of five entries gives the same roles per entry. */
static void the_result_does_not_depend_on_the_order(void **state)
{
    (void)state;
    ident_entry_t base[] = {
        entry("U", "C", "a", NULL, 1, 100, "A/1/1"), entry("U", "C", "a", NULL, 1, 100, "B/1/1"),
        entry("U", "C", "a", NULL, 2, 90, "C/1/1"),  entry("U", "C", "b", NULL, 3, 10, "A/1/2"),
        entry("U", "C", "a", NULL, 2, 500, "D/1/1"),
    };
    enum { N = 5 };
    ident_out_t want[N];
    ident_conflict_t *c = NULL;
    size_t nc = 0;
    assert_int_equal(ident_group(base, N, want, &c, &nc), FT_OK);
    assert_int_equal(nc, 1);
    char key[IDENT_KEY_MAX];
    snprintf(key, sizeof key, "%s", c[0].key);
    const char *want_primary_ref = base[c[0].primary].ref;
    free(c);
    assert_string_equal(want_primary_ref, "C/1/1"); /* arrived first */
    int perm[N] = {0, 1, 2, 3, 4};
    for (int round = 0; round < 120; round++) {
        /* the next permutation (lexicographic) */
        int i = N - 2;
        while (i >= 0 && perm[i] > perm[i + 1]) {
            i--;
        }
        if (i < 0) {
            break;
        }
        int j = N - 1;
        while (perm[j] < perm[i]) {
            j--;
        }
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        for (int a = i + 1, b = N - 1; a < b; a++, b--) {
            t = perm[a];
            perm[a] = perm[b];
            perm[b] = t;
        }
        ident_entry_t e[N];
        ident_out_t out[N];
        for (int k = 0; k < N; k++) {
            e[k] = base[perm[k]];
        }
        assert_int_equal(ident_group(e, N, out, &c, &nc), FT_OK);
        assert_int_equal(nc, 1);
        assert_string_equal(c[0].key, key);
        assert_string_equal(e[c[0].primary].ref, want_primary_ref);
        for (int k = 0; k < N; k++) {
            assert_int_equal(out[k].role, want[perm[k]].role);
            assert_string_equal(e[out[k].primary].ref, base[want[perm[k]].primary].ref);
        }
        free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_record_on_three_devices_is_one_primary_and_two_witnesses),
        cmocka_unit_test(the_same_id_in_another_unit_or_case_is_another_record),
        cmocka_unit_test(other_content_conflicts_once_per_class_with_a_stable_key),
        cmocka_unit_test(an_amendment_keeping_its_id_does_not_conflict),
        cmocka_unit_test(the_result_does_not_depend_on_the_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
