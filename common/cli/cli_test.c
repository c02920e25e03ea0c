/* cli_test.c: the shared command line: help text, dispatch, common options,
 * config loading and the failure line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli.h"
#include "fsutil.h"
#include "logging.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const keys[] = {"hub", "log_level", NULL};

static const cli_program_t prog = {
    .name = "fieldtrail-test",
    .default_state = "var/test",
    .config_file = "test.conf",
    .config_keys = keys,
};

static int last_argc;
static char *last_cmd;
static char *last_arg;

static int cmd_one(int argc, char **argv)
{
    last_argc = argc;
    last_cmd = argv[0];
    last_arg = argc > 1 ? argv[1] : NULL;
    return 7;
}

static const cli_command_t commands[] = {
    {"one", cmd_one, "the first command"},
    {"second", cmd_one, "the second one"},
};

static const cli_commands_t help = {
    .about = "A program for tests.\n",
    .commands = commands,
    .n_commands = 2,
    .command_width = 8,
};

static const char expected_help[] = "usage: fieldtrail-test COMMAND [options]\n\n"
                                    "A program for tests.\n\ncommands:\n"
                                    "  one      the first command\n"
                                    "  second   the second one\n"
                                    "\noptions every command takes:\n"
                                    "  --state DIR      state directory (default var/test)\n"
                                    "  --config FILE    config file (default STATE/test.conf)\n"
                                    "  --log-level L    error, warn, info or debug\n"
                                    "  --json           machine-readable output (times in UTC)\n"
                                    "  --utc            times in UTC (default: local time with "
                                    "its offset, TZ honoured)\n"
                                    "  --help           help for the command\n\n"
                                    "exit codes: 0 success, 1 failure, 2 usage error\n";

/* Reads all of f from the start into buf. */
static void slurp(FILE *f, char *buf, size_t len)
{
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
}

/* Runs stderr into a temporary file until capture_end. */
static int saved_fd = -1;
static FILE *captured;

static void capture_begin(void)
{
    fflush(stderr);
    captured = tmpfile();
    assert_non_null(captured);
    saved_fd = dup(fileno(stderr));
    assert_true(saved_fd >= 0);
    assert_true(dup2(fileno(captured), fileno(stderr)) >= 0);
}

static void capture_end(char *buf, size_t len)
{
    fflush(stderr);
    assert_true(dup2(saved_fd, fileno(stderr)) >= 0);
    close(saved_fd);
    saved_fd = -1;
    slurp(captured, buf, len);
    fclose(captured);
    captured = NULL;
}

static void usage_lists_commands_and_common_options(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    cli_usage(&prog, &help, f);
    char buf[4096];
    slurp(f, buf, sizeof buf);
    fclose(f);
    assert_string_equal(buf, expected_help);
}

static void main_runs_the_named_command(void **state)
{
    (void)state;
    char *argv[] = {"fieldtrail-test", "second", "--x", NULL};
    last_argc = 0;
    assert_int_equal(cli_main(&prog, &help, 3, argv), 7);
    assert_int_equal(last_argc, 2);
    assert_string_equal(last_cmd, "second");
    assert_string_equal(last_arg, "--x");
}

static void main_refuses_missing_and_unknown_commands(void **state)
{
    (void)state;
    char buf[8192];
    char *none[] = {"fieldtrail-test", NULL};
    capture_begin();
    int rc = cli_main(&prog, &help, 1, none);
    capture_end(buf, sizeof buf);
    assert_int_equal(rc, 2);
    assert_string_equal(buf, expected_help);

    char *bad[] = {"fieldtrail-test", "on", NULL};
    capture_begin();
    rc = cli_main(&prog, &help, 2, bad);
    capture_end(buf, sizeof buf);
    assert_int_equal(rc, 2);
    const char *head = "fieldtrail-test: unknown command \"on\"\n\n";
    assert_memory_equal(buf, head, strlen(head));
    assert_string_equal(buf + strlen(head), expected_help);
}

static void main_answers_help(void **state)
{
    (void)state;
    const char *words[] = {"help", "--help", "-h"};
    for (size_t i = 0; i < 3; i++) {
        char *argv[] = {"fieldtrail-test", (char *)words[i], NULL};
        last_argc = 0;
        FILE *out = tmpfile();
        assert_non_null(out);
        fflush(stdout);
        int saved = dup(fileno(stdout));
        assert_true(dup2(fileno(out), fileno(stdout)) >= 0);
        int rc = cli_main(&prog, &help, 2, argv);
        fflush(stdout);
        assert_true(dup2(saved, fileno(stdout)) >= 0);
        close(saved);
        char buf[4096];
        slurp(out, buf, sizeof buf);
        fclose(out);
        assert_int_equal(rc, 0);
        assert_int_equal(last_argc, 0);
        assert_string_equal(buf, expected_help);
    }
}

static void common_options_fill_the_context(void **state)
{
    (void)state;
    const char *st = NULL, *cfg = NULL, *level = NULL;
    bool json = false;
    cli_common_t c = {&st, &cfg, &level, &json};
    assert_int_equal(cli_common_opt(&c, 'S', "dir"), 1);
    assert_int_equal(cli_common_opt(&c, 'C', "file"), 1);
    assert_int_equal(cli_common_opt(&c, 'L', "debug"), 1);
    assert_int_equal(cli_common_opt(&c, 'J', NULL), 1);
    assert_int_equal(cli_common_opt(&c, 'h', NULL), 0);
    assert_int_equal(cli_common_opt(&c, 'u', "x"), 0);
    assert_string_equal(st, "dir");
    assert_string_equal(cfg, "file");
    assert_string_equal(level, "debug");
    assert_true(json);
}

static int usage_calls;
static FILE *usage_out;

static void test_usage(FILE *out)
{
    usage_calls++;
    usage_out = out;
}

static void parse_fills_common_and_own_options(void **state)
{
    (void)state;
    const char *st = NULL, *cfg = NULL, *level = NULL, *unit = NULL, *hub = NULL;
    bool json = false, once = false, keep = false;
    cli_common_t c = {&st, &cfg, &level, &json};
    const cli_opt_t opts[] = {
        CLI_VALUE("unit", &unit), CLI_VALUE("hub", &hub),  CLI_FLAG("until-synced", &once),
        CLI_FLAG("once", &once),  CLI_FLAG("keep", &keep), CLI_END,
    };
    char *argv[] = {"cmd",     "--state", "dir",   "--unit=u1", "file", "--json", "--hub",
                    "tcp://x", "--once",  "--uni", "u2",        "--",   "--keep", NULL};
    usage_calls = 0;
    assert_int_equal(cli_parse(&c, 13, argv, opts, test_usage), 0);
    assert_int_equal(usage_calls, 0);
    assert_string_equal(st, "dir");
    assert_true(json);
    assert_string_equal(unit, "u2"); /* the last one given; a unique prefix is enough */
    assert_string_equal(hub, "tcp://x");
    assert_true(once);
    assert_false(keep);
    /* getopt_long moved the positional arguments to the end. */
    assert_int_equal(optind, 11);
    assert_string_equal(argv[optind], "file");
    assert_string_equal(argv[optind + 1], "--keep");
}

static void parse_answers_help_and_refuses_the_unknown(void **state)
{
    (void)state;
    const char *st = NULL, *cfg = NULL, *level = NULL, *unit = NULL;
    bool json = false;
    cli_common_t c = {&st, &cfg, &level, &json};
    const cli_opt_t opts[] = {CLI_VALUE("unit", &unit), CLI_END};
    char *help_argv[] = {"cmd", "-h", NULL};
    usage_calls = 0;
    assert_int_equal(cli_parse(&c, 2, help_argv, opts, test_usage), -1);
    assert_int_equal(usage_calls, 1);
    assert_ptr_equal(usage_out, stdout);

    char buf[512];
    char *bad_argv[] = {"cmd", "--bogus", NULL};
    usage_calls = 0;
    capture_begin();
    int rc = cli_parse(&c, 2, bad_argv, opts, test_usage);
    capture_end(buf, sizeof buf);
    assert_int_equal(rc, 2);
    assert_int_equal(usage_calls, 1);
    assert_ptr_equal(usage_out, stderr);
    assert_non_null(strstr(buf, "--bogus"));

    char *missing_argv[] = {"cmd", "--unit", NULL};
    usage_calls = 0;
    capture_begin();
    rc = cli_parse(&c, 2, missing_argv, opts, test_usage);
    capture_end(buf, sizeof buf);
    assert_int_equal(rc, 2);
    assert_int_equal(usage_calls, 1);
    assert_non_null(strstr(buf, "unit"));

    /* Only the common options. */
    char *plain_argv[] = {"cmd", "--config", "f", "pos", NULL};
    assert_int_equal(cli_parse(&c, 4, plain_argv, NULL, test_usage), 0);
    assert_string_equal(cfg, "f");
    assert_int_equal(optind, 3);
}

static void fail_prefixes_the_program_name(void **state)
{
    (void)state;
    char buf[256];
    capture_begin();
    const char *st = NULL, *cfg = NULL, *level = "loud";
    bool json = false;
    cli_common_t c = {&st, &cfg, &level, &json};
    config_t *conf = NULL;
    int rc = cli_load_config(&prog, &c, &conf);
    capture_end(buf, sizeof buf);
    config_destroy(&conf);
    assert_int_equal(rc, 1);
    assert_string_equal(
        buf, "fieldtrail-test: log level \"loud\" is not one of error, warn, info, debug\n");
}

static void config_comes_from_the_state_directory(void **state)
{
    (void)state;
    char dir[512], path[600];
    testutil_tmpdir(dir, sizeof dir, "cli");
    snprintf(path, sizeof path, "%s/test.conf", dir);
    const char *text = "hub = tcp://127.0.0.1:7400\nlog_level = warn\n";
    assert_int_equal(fsutil_write_atomic(path, text, strlen(text), 0644), FT_OK);

    const char *st = dir, *cfg = NULL, *level = NULL;
    bool json = false;
    cli_common_t c = {&st, &cfg, &level, &json};
    config_t *conf = NULL;
    assert_int_equal(cli_load_config(&prog, &c, &conf), 0);
    assert_string_equal(config_get(conf, "hub"), "tcp://127.0.0.1:7400");
    assert_int_equal(log_get_level(), LOG_WARN);
    config_destroy(&conf);

    /* --log-level beats the file. */
    level = "debug";
    assert_int_equal(cli_load_config(&prog, &c, &conf), 0);
    assert_int_equal(log_get_level(), LOG_DEBUG);
    config_destroy(&conf);
    log_set_level(LOG_INFO);
    testutil_rmrf(dir);
}

static void missing_state_gives_the_default_and_no_file(void **state)
{
    (void)state;
    const char *st = NULL, *cfg = NULL, *level = NULL;
    bool json = false;
    cli_common_t c = {&st, &cfg, &level, &json};
    config_t *conf = NULL;
    assert_int_equal(cli_load_config(&prog, &c, &conf), 0);
    assert_string_equal(st, "var/test");
    assert_non_null(conf);
    assert_null(config_get(conf, "hub"));
    assert_int_equal(log_get_level(), LOG_INFO);
    config_destroy(&conf);
}

static void unknown_key_in_config_is_refused(void **state)
{
    (void)state;
    char dir[512], path[600], buf[1024];
    testutil_tmpdir(dir, sizeof dir, "cli");
    snprintf(path, sizeof path, "%s/other.conf", dir);
    const char *text = "hubb = x\n";
    assert_int_equal(fsutil_write_atomic(path, text, strlen(text), 0644), FT_OK);
    const char *st = dir, *cfg = path, *level = NULL;
    bool json = false;
    cli_common_t c = {&st, &cfg, &level, &json};
    config_t *conf = NULL;
    capture_begin();
    int rc = cli_load_config(&prog, &c, &conf);
    capture_end(buf, sizeof buf);
    config_destroy(&conf);
    assert_int_equal(rc, 1);
    assert_memory_equal(buf, "fieldtrail-test: ", 17);
    assert_non_null(strstr(buf, "hubb"));
    testutil_rmrf(dir);
}

/* Not on a terminal: one line, without its newline, asked once; no line is
 * FT_ENOTFOUND with the buffer wiped. */
static void a_secret_is_one_line_of_standard_input(void **state)
{
    (void)state;
    char path[] = "/tmp/ft_cli_secret_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cret pin\r\nsecond line\n", 24), 24);
    close(fd);
    int saved = dup(STDIN_FILENO);
    assert_non_null(freopen(path, "r", stdin));
    char buf[32];
    assert_int_equal(cli_read_secret("PIN: ", buf, sizeof buf), FT_OK);
    assert_string_equal(buf, "s3cret pin");
    assert_int_equal(cli_read_secret("PIN: ", buf, sizeof buf), FT_OK);
    assert_string_equal(buf, "second line");
    assert_int_equal(cli_read_secret("PIN: ", buf, sizeof buf), FT_ENOTFOUND);
    for (size_t i = 0; i < sizeof buf; i++) {
        assert_int_equal(buf[i], 0);
    }
    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    close(saved);
    clearerr(stdin);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(usage_lists_commands_and_common_options),
        cmocka_unit_test(a_secret_is_one_line_of_standard_input),
        cmocka_unit_test(main_runs_the_named_command),
        cmocka_unit_test(main_refuses_missing_and_unknown_commands),
        cmocka_unit_test(main_answers_help),
        cmocka_unit_test(common_options_fill_the_context),
        cmocka_unit_test(parse_fills_common_and_own_options),
        cmocka_unit_test(parse_answers_help_and_refuses_the_unknown),
        cmocka_unit_test(fail_prefixes_the_program_name),
        cmocka_unit_test(config_comes_from_the_state_directory),
        cmocka_unit_test(missing_state_gives_the_default_and_no_file),
        cmocka_unit_test(unknown_key_in_config_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
