/* config_test.c: config files, precedence and unknown-key errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "fsutil.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *const known[] = {"hub", "unit", "sync.window", NULL};

static void write_cfg(const char *path, const char *text)
{
    assert_int_equal(fsutil_write_atomic(path, text, strlen(text), 0644), FT_OK);
}

static void values_and_sections_are_read(void **state)
{
    (void)state;
    char dir[512], path[600], err[256] = "";
    testutil_tmpdir(dir, sizeof dir, "config");
    snprintf(path, sizeof path, "%s/edge.conf", dir);
    write_cfg(path, "# comment\nhub = tcp://127.0.0.1:7400\nunit = 南大港\n[sync]\nwindow = 64\n");
    config_t *c = NULL;
    assert_int_equal(config_load(path, known, &c, err, sizeof err), FT_OK);
    assert_string_equal(config_get(c, "hub"), "tcp://127.0.0.1:7400");
    assert_string_equal(config_get(c, "unit"), "南大港");
    assert_string_equal(config_get(c, "sync.window"), "64");
    assert_null(config_get(c, "window"));
    config_destroy(&c);
    assert_null(c);
    testutil_rmrf(dir);
}

static void where_names_the_line_whose_value_is_in_effect(void **state)
{
    (void)state;
    char dir[512], path[600], err[256] = "", where[800], want[800];
    testutil_tmpdir(dir, sizeof dir, "config");
    snprintf(path, sizeof path, "%s/hub.conf", dir);
    write_cfg(path, "hub = a\nsync.window = 1\n\n[sync]\nwindow = 2\nunit = x\n");
    config_t *c = NULL;
    assert_int_equal(config_load(path, NULL, &c, err, sizeof err), FT_OK);
    config_where(c, "hub", where, sizeof where);
    snprintf(want, sizeof want, "%s line 1", path);
    assert_string_equal(where, want);
    /* "sync.window = 1" at the top, then [sync] window = 2: the latter counts. */
    assert_string_equal(config_get(c, "sync.window"), "2");
    config_where(c, "sync.window", where, sizeof where);
    snprintf(want, sizeof want, "%s line 5", path);
    assert_string_equal(where, want);
    assert_int_equal(config_line(c, "sync.window"), 5); /* one answer, both ways */
    config_destroy(&c);
    /* A key set twice in one section: the second line is the one in effect. */
    write_cfg(path, "[sync]\nwindow = 1\nunit = x\nwindow = 3\n");
    assert_int_equal(config_load(path, NULL, &c, err, sizeof err), FT_OK);
    assert_string_equal(config_get(c, "sync.window"), "3");
    assert_int_equal(config_line(c, "sync.window"), 4);
    config_where(c, "sync.window", where, sizeof where);
    snprintf(want, sizeof want, "%s line 4", path);
    assert_string_equal(where, want);
    config_destroy(&c);
    assert_int_equal(config_load(NULL, NULL, &c, err, sizeof err), FT_OK);
    config_where(c, "hub", where, sizeof where);
    assert_string_equal(where, "the configuration");
    config_destroy(&c);
    testutil_rmrf(dir);
}

static void flag_beats_file_beats_default(void **state)
{
    (void)state;
    char dir[512], path[600], err[256] = "";
    testutil_tmpdir(dir, sizeof dir, "config");
    snprintf(path, sizeof path, "%s/edge.conf", dir);
    write_cfg(path, "unit = from-file\n");
    config_t *c = NULL;
    assert_int_equal(config_load(path, known, &c, err, sizeof err), FT_OK);
    assert_string_equal(config_pick("from-flag", c, "unit", "default"), "from-flag");
    assert_string_equal(config_pick(NULL, c, "unit", "default"), "from-file");
    assert_string_equal(config_pick(NULL, c, "hub", "default"), "default");
    config_destroy(&c);
    testutil_rmrf(dir);
}

static void unknown_key_is_refused_with_line(void **state)
{
    (void)state;
    char dir[512], path[600], err[256] = "";
    testutil_tmpdir(dir, sizeof dir, "config");
    snprintf(path, sizeof path, "%s/edge.conf", dir);
    write_cfg(path, "hub = x\nuint = typo\n");
    config_t *c = NULL;
    assert_int_equal(config_load(path, known, &c, err, sizeof err), FT_EINVAL);
    assert_null(c);
    assert_non_null(strstr(err, "line 2"));
    assert_non_null(strstr(err, "uint"));
    testutil_rmrf(dir);
}

static void unknown_key_in_a_later_section_names_its_own_line(void **state)
{
    (void)state;
    char dir[512], path[600], err[256] = "";
    testutil_tmpdir(dir, sizeof dir, "config");
    snprintf(path, sizeof path, "%s/edge.conf", dir);
    write_cfg(path, "[sync]\nwindow = 8\n[media]\nwindow = 1\n");
    config_t *c = NULL;
    assert_int_equal(config_load(path, known, &c, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "line 4"));
    assert_non_null(strstr(err, "media.window"));
    testutil_rmrf(dir);
}

static void malformed_line_is_refused(void **state)
{
    (void)state;
    char dir[512], path[600], err[256] = "";
    testutil_tmpdir(dir, sizeof dir, "config");
    snprintf(path, sizeof path, "%s/edge.conf", dir);
    write_cfg(path, "hub = x\nthis line has no equals sign\n");
    config_t *c = NULL;
    assert_int_equal(config_load(path, known, &c, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "line 2"));
    assert_int_equal(config_load("/nonexistent/x.conf", known, &c, err, sizeof err), FT_ENOTFOUND);
    testutil_rmrf(dir);
}

static void u64_parsing_is_strict(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(config_parse_u64("1024", &v), FT_OK);
    assert_int_equal(v, 1024);
    assert_int_equal(config_parse_u64("-1", &v), FT_EINVAL);
    assert_int_equal(config_parse_u64("12abc", &v), FT_EINVAL);
    assert_int_equal(config_parse_u64("", &v), FT_EINVAL);
    assert_int_equal(config_parse_u64("99999999999999999999999", &v), FT_EINVAL);
}

static void patterns_accept_named_sections_and_say_their_lines(void **state)
{
    (void)state;
    char dir[512], path[600], err[256] = "";
    testutil_tmpdir(dir, sizeof dir, "config");
    snprintf(path, sizeof path, "%s/hub.conf", dir);
    static const char *const names[] = {"hub", "webhook.*.url", "webhook.*.units", NULL};
    write_cfg(path, "hub = x\n\n[webhook.north]\nurl = http://a\n# c\nunits = U1 U2\n"
                    "[webhook.south]\nurl = http://b\n");
    config_t *c = NULL;
    assert_int_equal(config_load(path, names, &c, err, sizeof err), FT_OK);
    assert_string_equal(config_path(c), path);
    assert_int_equal(config_count(c), 4);
    assert_string_equal(config_key_at(c, 1), "webhook.north.url");
    assert_string_equal(config_value_at(c, 2), "U1 U2");
    assert_int_equal(config_line_at(c, 2), 6);
    assert_int_equal(config_line(c, "webhook.south.url"), 8);
    assert_int_equal(config_line(c, "hub"), 1);
    assert_int_equal(config_line(c, "nope"), 0);
    assert_null(config_key_at(c, 4));
    config_destroy(&c);
    /* the '*' stands for a non-empty part only, and other keys stay unknown */
    write_cfg(path, "[webhook.]\nurl = x\n");
    assert_int_equal(config_load(path, names, &c, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "line 2"));
    write_cfg(path, "[webhook.a]\nulr = x\n");
    assert_int_equal(config_load(path, names, &c, err, sizeof err), FT_EINVAL);
    assert_non_null(strstr(err, "webhook.a.ulr"));
    testutil_rmrf(dir);
}

static void secrets_in_a_file_others_can_read_are_named(void **state)
{
    (void)state;
    char dir[512], path[600], err[256] = "", msg[1024];
    testutil_tmpdir(dir, sizeof dir, "config");
    snprintf(path, sizeof path, "%s/hub.conf", dir);
    static const char *const names[] = {"hub", "key", "webhook.*.url", "webhook.*.units", NULL};
    static const char *const secrets[] = {"key", "webhook.*.url", NULL};
    write_cfg(path, "hub = x\nkey = s3cr3t\n[webhook.north]\nurl = http://a?token=t\nunits = U\n");
    config_t *c = NULL;
    assert_int_equal(config_load(path, names, &c, err, sizeof err), FT_OK);
    /* 0644 (write_cfg): readable by others */
    assert_int_equal(config_secrets_exposed(c, secrets, msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "mode 0644"));
    assert_non_null(strstr(msg, "key, webhook.north.url"));
    assert_null(strstr(msg, "units"));
    assert_non_null(strstr(msg, "chmod 600"));
    assert_null(strstr(msg, "s3cr3t")); /* never the secret itself */
    /* the service user only: quiet */
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(config_secrets_exposed(c, secrets, msg, sizeof msg), 0);
    assert_string_equal(msg, "");
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(config_secrets_exposed(c, secrets, msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "mode 0640"));
    /* no secret set, or no list of secrets: quiet whatever the mode */
    assert_int_equal(config_secrets_exposed(c, NULL, msg, sizeof msg), 0);
    config_destroy(&c);
    write_cfg(path, "hub = x\n[webhook.north]\nunits = U\n");
    assert_int_equal(config_load(path, names, &c, err, sizeof err), FT_OK);
    assert_int_equal(config_secrets_exposed(c, secrets, msg, sizeof msg), 0);
    config_destroy(&c);
    /* no file at all */
    assert_int_equal(config_load(NULL, names, &c, err, sizeof err), FT_OK);
    assert_int_equal(config_secrets_exposed(c, secrets, msg, sizeof msg), 0);
    config_destroy(&c);
    testutil_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(secrets_in_a_file_others_can_read_are_named),
        cmocka_unit_test(values_and_sections_are_read),
        cmocka_unit_test(flag_beats_file_beats_default),
        cmocka_unit_test(unknown_key_is_refused_with_line),
        cmocka_unit_test(unknown_key_in_a_later_section_names_its_own_line),
        cmocka_unit_test(malformed_line_is_refused),
        cmocka_unit_test(u64_parsing_is_strict),
        cmocka_unit_test(where_names_the_line_whose_value_is_in_effect),
        cmocka_unit_test(patterns_accept_named_sections_and_say_their_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
