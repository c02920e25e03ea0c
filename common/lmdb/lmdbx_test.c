/* lmdbx_test.c: the one scan (lmdbx_scan, lmdbx_scan_back): an empty
 * database, the bounds of a prefix (keys ending in 0xff, a prefix of 0xff
 * bytes, a start before, inside and after it), a callback that stops the
 * scan, rows deleted during the scan, and errors -- a cursor that cannot be
 * opened, and a database whose pages break half way through a scan -- that
 * are returned, never FT_OK. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lmdbtest.h"
#include "lmdbx.h"
#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char dir[512];
    MDB_env *env;
    MDB_dbi dbi;
} fx_t;

static int fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    testutil_tmpdir(fx->dir, sizeof fx->dir, "lmdbx");
    assert_int_equal(lmdbx_open(fx->dir, (size_t)64 << 20, 4, &fx->env), FT_OK);
    MDB_txn *txn = NULL;
    assert_int_equal(mdb_txn_begin(fx->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "t", MDB_CREATE, &fx->dbi), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    fx_t *fx = *state;
    if (fx->env) {
        mdb_env_close(fx->env);
    }
    testutil_rmrf(fx->dir);
    free(fx);
    return 0;
}

/* The keys of the prefix tests, in key order. */
static const struct {
    const char *b;
    size_t n;
} KEYS[] = {
    {"a", 1},          {"ab", 2}, {"ab\0", 3}, {"abc", 3},  {"ab\xff", 3},
    {"ab\xff\xff", 4}, {"ac", 2}, {"b", 1},    {"\xff", 1}, {"\xff\xff", 2},
};
#define N_KEYS (sizeof KEYS / sizeof KEYS[0])

static void put_keys(fx_t *fx)
{
    MDB_txn *txn = NULL;
    assert_int_equal(mdb_txn_begin(fx->env, NULL, 0, &txn), 0);
    for (size_t i = 0; i < N_KEYS; i++) {
        MDB_val k = {KEYS[i].n, (void *)KEYS[i].b}, v = {sizeof i, &i};
        assert_int_equal(mdb_put(txn, fx->dbi, &k, &v, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
}

/* What a scan saw: the index in KEYS of each row (its value), in order. */
typedef struct {
    size_t seen[64];
    size_t n;
    size_t stop_at; /* 1-based: return ret at that row */
    int ret;
    size_t del_mod, del_rem; /* delete the rows whose index i has i % del_mod == del_rem */
} visit_t;

static int visit(void *ctx, const lmdbx_row_t *row)
{
    visit_t *v = ctx;
    size_t i;
    assert_int_equal(row->val.mv_size, sizeof i);
    memcpy(&i, row->val.mv_data, sizeof i);
    assert_true(i < N_KEYS || row->key.mv_size == 8);
    if (v->n < 64) {
        v->seen[v->n] = i;
    }
    v->n++;
    if (v->del_mod && i % v->del_mod == v->del_rem) {
        assert_int_equal(lmdbx_row_del(row), FT_OK);
    }
    return v->stop_at && v->n == v->stop_at ? v->ret : 0;
}

/* Scans with the given start and prefix (either NULL) and checks the rows
 * seen against want (indexes into KEYS, -1 ends the list). */
static void expect_scan(fx_t *fx, bool back, const char *start, size_t sn, const char *prefix,
                        size_t pn, const int *want)
{
    MDB_txn *txn = NULL;
    assert_int_equal(mdb_txn_begin(fx->env, NULL, MDB_RDONLY, &txn), 0);
    MDB_val s = {sn, (void *)start}, p = {pn, (void *)prefix};
    visit_t v = {0};
    int err = back ? lmdbx_scan_back(txn, fx->dbi, start ? &s : NULL, prefix ? &p : NULL, visit, &v)
                   : lmdbx_scan(txn, fx->dbi, start ? &s : NULL, prefix ? &p : NULL, visit, &v);
    assert_int_equal(err, FT_OK);
    size_t n = 0;
    while (want[n] >= 0) {
        n++;
    }
    if (v.n != n) {
        fprintf(stderr, "scan (%s, start %zu bytes, prefix %zu bytes): %zu rows, want %zu\n",
                back ? "back" : "forward", sn, pn, v.n, n);
    }
    assert_int_equal(v.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(v.seen[i], (size_t)want[i]);
    }
    mdb_txn_abort(txn);
}

static void an_empty_database_is_scanned_without_a_call(void **state)
{
    fx_t *fx = *state;
    const int none[] = {-1};
    expect_scan(fx, false, NULL, 0, NULL, 0, none);
    expect_scan(fx, true, NULL, 0, NULL, 0, none);
    expect_scan(fx, false, "ab", 2, "a", 1, none);
    expect_scan(fx, true, "ab", 2, "a", 1, none);
    expect_scan(fx, true, NULL, 0, "\xff", 1, none);
}

static void a_prefix_bounds_the_scan_at_both_ends(void **state)
{
    fx_t *fx = *state;
    put_keys(fx);
    const int all[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1};
    const int all_back[] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, -1};
    expect_scan(fx, false, NULL, 0, NULL, 0, all);
    expect_scan(fx, true, NULL, 0, NULL, 0, all_back);
    /* "ab": "ab" itself, then every longer key that begins with it. */
    const int ab[] = {1, 2, 3, 4, 5, -1}, ab_back[] = {5, 4, 3, 2, 1, -1};
    expect_scan(fx, false, NULL, 0, "ab", 2, ab);
    expect_scan(fx, true, NULL, 0, "ab", 2, ab_back);
    /* A prefix ending in 0xff, and one of 0xff bytes only (no key after it). */
    const int abff[] = {4, 5, -1}, abff_back[] = {5, 4, -1};
    expect_scan(fx, false, NULL, 0, "ab\xff", 3, abff);
    expect_scan(fx, true, NULL, 0, "ab\xff", 3, abff_back);
    const int ff[] = {8, 9, -1}, ff_back[] = {9, 8, -1};
    expect_scan(fx, false, NULL, 0, "\xff", 1, ff);
    expect_scan(fx, true, NULL, 0, "\xff", 1, ff_back);
    /* A prefix no key has. */
    const int none[] = {-1};
    expect_scan(fx, false, NULL, 0, "aa", 2, none);
    expect_scan(fx, true, NULL, 0, "aa", 2, none);
    expect_scan(fx, false, NULL, 0, "zz", 2, none);
    expect_scan(fx, true, NULL, 0, "zz", 2, none);
    /* A start inside the prefix, between two keys, before and after it. */
    const int from_ab0[] = {2, 3, 4, 5, -1};
    expect_scan(fx, false, "ab\0", 3, "ab", 2, from_ab0);
    expect_scan(fx, false, "a", 1, "ab", 2, ab);
    expect_scan(fx, false, "b", 1, "ab", 2, none);
    const int back_abb[] = {2, 1, -1}; /* "abb" sorts between "ab\0" and "abc" */
    expect_scan(fx, true, "abb", 3, "ab", 2, back_abb);
    expect_scan(fx, true, "abc", 3, "ab", 2, (const int[]){3, 2, 1, -1});
    expect_scan(fx, true, "ab\xff\xff\xff", 5, "ab", 2, ab_back);
    expect_scan(fx, true, "zz", 2, "ab", 2, ab_back);
    expect_scan(fx, true, "a", 1, "ab", 2, none);
    /* A start without a prefix: to the end (back: to the first key). */
    const int from_ac[] = {6, 7, 8, 9, -1}, back_ac[] = {6, 5, 4, 3, 2, 1, 0, -1};
    expect_scan(fx, false, "ac", 2, NULL, 0, from_ac);
    expect_scan(fx, true, "ac", 2, NULL, 0, back_ac);
    expect_scan(fx, true, "ab\x01", 3, NULL, 0, (const int[]){2, 1, 0, -1});
}

/* lmdbx_last: the first row a backward scan would see. */
static void the_last_row_of_a_range(void **state)
{
    fx_t *fx = *state;
    MDB_txn *txn = NULL;
    MDB_val k, v, p = {2, "ab"}, s = {3, "abb"};
    assert_int_equal(mdb_txn_begin(fx->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(lmdbx_last(txn, fx->dbi, NULL, NULL, &k, &v), FT_ENOTFOUND);
    mdb_txn_abort(txn);
    put_keys(fx);
    assert_int_equal(mdb_txn_begin(fx->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(lmdbx_last(txn, fx->dbi, NULL, NULL, &k, NULL), FT_OK);
    assert_int_equal(k.mv_size, 2);
    assert_memory_equal(k.mv_data, "\xff\xff", 2);
    assert_int_equal(lmdbx_last(txn, fx->dbi, NULL, &p, &k, &v), FT_OK);
    assert_int_equal(k.mv_size, 4);
    assert_memory_equal(k.mv_data, "ab\xff\xff", 4);
    assert_int_equal(lmdbx_last(txn, fx->dbi, &s, &p, NULL, &v), FT_OK);
    size_t i;
    memcpy(&i, v.mv_data, sizeof i);
    assert_int_equal(i, 2); /* "ab\0" */
    MDB_val none = {2, "aa"};
    assert_int_equal(lmdbx_last(txn, fx->dbi, NULL, &none, &k, &v), FT_ENOTFOUND);
    assert_int_not_equal(lmdbx_last(txn, 9999, NULL, NULL, &k, &v), FT_OK);
    assert_int_not_equal(lmdbx_last(txn, 9999, NULL, NULL, &k, &v), FT_ENOTFOUND);
    mdb_txn_abort(txn);
}

static void the_callbacks_value_stops_the_scan_and_is_returned(void **state)
{
    fx_t *fx = *state;
    put_keys(fx);
    MDB_txn *txn = NULL;
    assert_int_equal(mdb_txn_begin(fx->env, NULL, MDB_RDONLY, &txn), 0);
    visit_t v = {.stop_at = 2, .ret = 7};
    assert_int_equal(lmdbx_scan(txn, fx->dbi, NULL, NULL, visit, &v), 7);
    assert_int_equal(v.n, 2);
    v = (visit_t){.stop_at = 3, .ret = FT_ENOMEM};
    assert_int_equal(lmdbx_scan_back(txn, fx->dbi, NULL, NULL, visit, &v), FT_ENOMEM);
    assert_int_equal(v.n, 3);
    assert_int_equal(v.seen[2], 7);
    /* Stopping at the last row of the range is still a stop. */
    MDB_val p = {2, "ab"};
    v = (visit_t){.stop_at = 5, .ret = 1};
    assert_int_equal(lmdbx_scan(txn, fx->dbi, NULL, &p, visit, &v), 1);
    assert_int_equal(v.n, 5);
    mdb_txn_abort(txn);
}

static void rows_deleted_during_a_scan_leave_the_others(void **state)
{
    fx_t *fx = *state;
    put_keys(fx);
    MDB_txn *txn = NULL;
    assert_int_equal(mdb_txn_begin(fx->env, NULL, 0, &txn), 0);
    MDB_val p = {2, "ab"};
    visit_t v = {.del_mod = 2, .del_rem = 1};
    assert_int_equal(lmdbx_scan(txn, fx->dbi, NULL, &p, visit, &v), FT_OK);
    assert_int_equal(v.n, 5); /* every row of the prefix was seen once */
    assert_int_equal(mdb_txn_commit(txn), 0);
    expect_scan(fx, false, NULL, 0, NULL, 0, (const int[]){0, 2, 4, 6, 7, 8, 9, -1});

    /* Backwards, every odd row left, the last one of the database included. */
    assert_int_equal(mdb_txn_begin(fx->env, NULL, 0, &txn), 0);
    v = (visit_t){.del_mod = 2, .del_rem = 1};
    assert_int_equal(lmdbx_scan_back(txn, fx->dbi, NULL, NULL, visit, &v), FT_OK);
    assert_int_equal(v.n, 7);
    assert_int_equal(mdb_txn_commit(txn), 0);
    expect_scan(fx, false, NULL, 0, NULL, 0, (const int[]){0, 2, 4, 6, 8, -1});
    expect_scan(fx, true, NULL, 0, NULL, 0, (const int[]){8, 6, 4, 2, 0, -1});
}

/* Many rows, so that the database has leaf pages under a branch page. */
static void put_many(fx_t *fx, size_t n)
{
    MDB_txn *txn = NULL;
    assert_int_equal(mdb_txn_begin(fx->env, NULL, 0, &txn), 0);
    for (size_t i = 0; i < n; i++) {
        uint8_t kb[8];
        lmdbx_put_u64(kb, i);
        MDB_val k = {sizeof kb, kb}, v = {sizeof i, &i};
        assert_int_equal(mdb_put(txn, fx->dbi, &k, &v, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
}

/* Deleting across page boundaries (pages merge as rows go), both ways. */
static void many_rows_deleted_across_pages(void **state)
{
    fx_t *fx = *state;
    put_many(fx, 3000);
    MDB_txn *txn = NULL;
    assert_int_equal(mdb_txn_begin(fx->env, NULL, 0, &txn), 0);
    visit_t v = {.del_mod = 2, .del_rem = 1};
    assert_int_equal(lmdbx_scan(txn, fx->dbi, NULL, NULL, visit, &v), FT_OK);
    assert_int_equal(v.n, 3000);
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(mdb_txn_begin(fx->env, NULL, 0, &txn), 0);
    v = (visit_t){0};
    assert_int_equal(lmdbx_scan(txn, fx->dbi, NULL, NULL, visit, &v), FT_OK);
    assert_int_equal(v.n, 1500);
    for (size_t i = 0; i < 64; i++) {
        assert_int_equal(v.seen[i], 2 * i);
    }
    /* Backwards: the rows whose index is 2 mod 4, of those left. */
    v = (visit_t){.del_mod = 4, .del_rem = 2};
    assert_int_equal(lmdbx_scan_back(txn, fx->dbi, NULL, NULL, visit, &v), FT_OK);
    assert_int_equal(v.n, 1500);
    assert_int_equal(v.seen[0], 2998);
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(mdb_txn_begin(fx->env, NULL, MDB_RDONLY, &txn), 0);
    v = (visit_t){0};
    assert_int_equal(lmdbx_scan(txn, fx->dbi, NULL, NULL, visit, &v), FT_OK);
    assert_int_equal(v.n, 750);
    for (size_t i = 0; i < 64; i++) {
        assert_int_equal(v.seen[i], 4 * i);
    }
    mdb_txn_abort(txn);
}

static void errors_are_returned_never_ok(void **state)
{
    fx_t *fx = *state;
    put_many(fx, 2000);
    MDB_txn *txn = NULL;
    visit_t v = {0};
    /* A cursor that cannot be opened: a database handle that is not one. */
    assert_int_equal(mdb_txn_begin(fx->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_not_equal(lmdbx_scan(txn, 9999, NULL, NULL, visit, &v), FT_OK);
    assert_int_not_equal(lmdbx_scan_back(txn, 9999, NULL, NULL, visit, &v), FT_OK);
    assert_int_equal(v.n, 0);
    assert_int_equal(lmdbx_scan(txn, fx->dbi, NULL, NULL, visit, &v), FT_OK);
    assert_int_equal(v.n, 2000);
    mdb_txn_abort(txn);

    /* Pages that break half way: the rows before are seen, then the error. */
    mdb_env_close(fx->env);
    fx->env = NULL;
    assert_true(lmdbtest_break_branches(fx->dir) > 0);
    assert_int_equal(lmdbx_open(fx->dir, (size_t)64 << 20, 4, &fx->env), FT_OK);
    assert_int_equal(mdb_txn_begin(fx->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "t", 0, &fx->dbi), 0);
    v = (visit_t){0};
    assert_int_equal(lmdbx_scan(txn, fx->dbi, NULL, NULL, visit, &v), FT_ECORRUPT);
    assert_true(v.n > 0 && v.n < 2000);
    assert_int_equal(mdb_txn_commit(txn), 0); /* keeps the handle open */
    assert_int_equal(mdb_txn_begin(fx->env, NULL, MDB_RDONLY, &txn), 0);
    v = (visit_t){0};
    assert_int_equal(lmdbx_scan_back(txn, fx->dbi, NULL, NULL, visit, &v), FT_ECORRUPT);
    assert_true(v.n < 2000);
    mdb_txn_abort(txn);
    /* From a start behind the broken page, forward: the same. */
    assert_int_equal(mdb_txn_begin(fx->env, NULL, MDB_RDONLY, &txn), 0);
    uint8_t kb[8];
    lmdbx_put_u64(kb, 1);
    MDB_val s = {sizeof kb, kb};
    v = (visit_t){0};
    assert_int_equal(lmdbx_scan(txn, fx->dbi, &s, NULL, visit, &v), FT_ECORRUPT);
    mdb_txn_abort(txn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(an_empty_database_is_scanned_without_a_call, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(a_prefix_bounds_the_scan_at_both_ends, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(the_last_row_of_a_range, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(the_callbacks_value_stops_the_scan_and_is_returned,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(rows_deleted_during_a_scan_leave_the_others, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(many_rows_deleted_across_pages, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(errors_are_returned_never_ok, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
