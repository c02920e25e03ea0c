/* provconf_test.c: the [province] section: a good one, none, and every
 * rejected value named by file and line, without the password. */
#include "provconf.h"

#include "fsutil.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static const char *const known[] = {"listen", PROV_CONFIG_KEYS, NULL};
static char dir[512], path[600];

/* Loads text and reads the section: its result, with err. */
static int read_conf(const char *text, prov_conf_t *pc, char *err, size_t n)
{
    assert_int_equal(fsutil_write_atomic(path, text, strlen(text), 0644), FT_OK);
    config_t *cfg = NULL;
    char lerr[256];
    assert_int_equal(config_load(path, known, &cfg, lerr, sizeof lerr), FT_OK);
    err[0] = '\0';
    int rc = prov_conf_read(cfg, pc, err, n);
    config_destroy(&cfg);
    return rc;
}

static void test_good_and_defaults(void **state)
{
    (void)state;
    prov_conf_t pc;
    char err[1024];
    assert_int_equal(read_conf("listen = tcp://127.0.0.1:7400\n", &pc, err, sizeof err), FT_OK);
    assert_false(pc.enabled);
    assert_int_equal(
        read_conf("[province]\nurl = postgresql://ft:s3cret@127.0.0.1:5432/prov?sslmode=disable\n"
                  "county = 南大港\narchive_key = "
                  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
                  &pc, err, sizeof err),
        FT_OK);
    assert_true(pc.enabled);
    assert_string_equal(pc.county, "南大港");
    assert_true(pc.has_archive);
    assert_int_equal(pc.archive_pk[1], 0x11);
    assert_int_equal(pc.batch_entries, 1000);
    assert_int_equal(pc.batch_bytes, 8u << 20);
    assert_int_equal(pc.interval_ms, 1000);
    assert_int_equal(pc.retry_max_ms, 30000);
    assert_non_null(strstr(pc.url_where, "line 2"));
    assert_int_equal(read_conf("[province]\nurl = postgres://h/db\ncounty = a\nbatch_entries = "
                               "5\ninterval_ms = 50\n",
                               &pc, err, sizeof err),
                     FT_OK);
    assert_false(pc.has_archive);
    assert_int_equal(pc.batch_entries, 5);
    assert_int_equal(pc.interval_ms, 50);
}

/* text is refused with a message holding want (and never the password). */
static void refused(const char *text, const char *want)
{
    prov_conf_t pc;
    char err[1024];
    if (read_conf(text, &pc, err, sizeof err) != FT_EINVAL) {
        fail_msg("accepted: %s", text);
    }
    if (!strstr(err, want)) {
        fail_msg("\"%s\" does not contain \"%s\"", err, want);
    }
    assert_non_null(strstr(err, path));
    assert_null(strstr(err, "s3cret"));
    assert_false(pc.enabled);
}

static void test_refused(void **state)
{
    (void)state;
    refused("[province]\ncounty = a\n", "line 2: province.county is set but province.url is not");
    refused("[province]\nurl = mysql://h/db\ncounty = a\n",
            "line 2: province.url must be a PostgreSQL URL");
    refused("[province]\nurl = postgresql://ft:s3cret@h:notaport/db\ncounty = a\n",
            "line 2: province.url has a port that is not a number");
    refused("[province]\nurl = postgresql://ft:s3cret@h:70000/db\ncounty = a\n",
            "line 2: province.url has a port that is not a number");
    refused("[province]\nurl = postgresql://ft:s3cret@h/db?nosuch=1\ncounty = a\n",
            "line 2: province.url is not a valid PostgreSQL URL");
    refused("[province]\nurl = postgresql://ft:s3cret@h:5432\ncounty = a\n",
            "line 2: province.url names no database");
    refused("[province]\nurl = postgresql://ft:s3cret@h/db\n", "needs county = NAME");
    refused("[province]\nurl = postgresql://h/db\ncounty = a\narchive_key = 00ff\n",
            "line 4: province.archive_key must be");
    refused("[province]\nurl = postgresql://h/db\ncounty = a\nbatch_entries = 0\n",
            "line 4: province.batch_entries must be a whole number from 1 to 100000");
    refused("[province]\nurl = postgresql://h/db\ncounty = a\nbatch_bytes = 10\n",
            "line 4: province.batch_bytes must be");
    refused("[province]\nurl = postgresql://h/db\ncounty = a\nretry_max_ms = x\n",
            "line 4: province.retry_max_ms");
}

static void test_redact(void **state)
{
    (void)state;
    char out[256];
    prov_url_redact("postgresql://ft:s3cret@127.0.0.1:5432/db", out, sizeof out);
    assert_string_equal(out, "postgresql://ft:****@127.0.0.1:5432/db");
    prov_url_redact("postgresql://ft@127.0.0.1/db", out, sizeof out);
    assert_string_equal(out, "postgresql://ft@127.0.0.1/db");
    prov_url_redact("postgresql://h/db?x=a:b@c", out, sizeof out);
    assert_string_equal(out, "postgresql://h/db?x=a:b@c");
}

int main(void)
{
    testutil_tmpdir(dir, sizeof dir, "provconf");
    snprintf(path, sizeof path, "%s/hub.conf", dir);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_and_defaults),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_redact),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    testutil_rmrf(dir);
    return rc;
}
