/* cli.c: the command table, the common options and config loading that
 * fieldtrail-edge and fieldtrail-hub share (see cli.h). */
#include "cli.h"
#include "clitext.h"
#include "fsutil.h"
#include "logging.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void cli_vfail(const cli_program_t *prog, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", prog->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

static void cli_fail(const cli_program_t *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void cli_fail(const cli_program_t *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_vfail(prog, fmt, ap);
    va_end(ap);
}

void cli_usage(const cli_program_t *prog, const cli_commands_t *cmds, FILE *out)
{
    fprintf(out, "usage: %s COMMAND [options]\n\n%s\ncommands:\n", prog->name, cmds->about);
    for (size_t i = 0; i < cmds->n_commands; i++) {
        fprintf(out, "  %-*s %s\n", cmds->command_width, cmds->commands[i].name,
                cmds->commands[i].summary);
    }
    fprintf(out,
            "\noptions every command takes:\n"
            "  --state DIR      state directory (default %s)\n"
            "  --config FILE    config file (default STATE/%s)\n"
            "  --log-level L    error, warn, info or debug\n"
            "  --json           machine-readable output (times in UTC)\n"
            "  --utc            times in UTC (default: local time with its offset, TZ honoured)\n"
            "  --help           help for the command\n\n"
            "exit codes: 0 success, 1 failure, 2 usage error\n",
            prog->default_state, prog->config_file);
}

int cli_main(const cli_program_t *prog, const cli_commands_t *cmds, int argc, char **argv)
{
    log_set_program(prog->name);
    if (argc < 2) {
        cli_usage(prog, cmds, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        cli_usage(prog, cmds, stdout);
        return 0;
    }
    for (size_t i = 0; i < cmds->n_commands; i++) {
        if (strcmp(cmd, cmds->commands[i].name) == 0) {
            return cmds->commands[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "%s: unknown command \"%s\"\n\n", prog->name, cmd);
    cli_usage(prog, cmds, stderr);
    return 2;
}

int cli_common_opt(const cli_common_t *c, int opt, const char *arg)
{
    switch (opt) {
    case 'S':
        *c->state = arg;
        return 1;
    case 'C':
        *c->config_path = arg;
        return 1;
    case 'L':
        *c->log_level = arg;
        return 1;
    case 'J':
        *c->json = true;
        return 1;
    case 'U':
        cli_set_utc(true);
        return 1;
    default:
        return 0;
    }
}

int cli_parse(const cli_common_t *c, int argc, char **argv, const cli_opt_t *opts,
              void (*usage)(FILE *out))
{
    enum { MAX_OWN = 32, OWN_BASE = 256 };
    static const struct option common[] = {CLI_COMMON_OPTS};
    const size_t n_common = sizeof common / sizeof common[0];
    struct option all[sizeof common / sizeof common[0] + MAX_OWN + 1];
    memcpy(all, common, sizeof common);
    size_t n = 0;
    for (; opts && opts[n].name; n++) {
        if (n == MAX_OWN) {
            abort(); /* a programming error: raise MAX_OWN */
        }
        /* Spellings of one option share getopt's value, so that a prefix
         * of both is not ambiguous (as with one case label for both). */
        size_t first = 0;
        while (opts[first].value != opts[n].value || opts[first].flag != opts[n].flag) {
            first++;
        }
        all[n_common + n] =
            (struct option){opts[n].name, opts[n].value ? required_argument : no_argument, NULL,
                            OWN_BASE + (int)first};
    }
    all[n_common + n] = (struct option){NULL, 0, NULL, 0};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", all, NULL)) != -1) {
        if (cli_common_opt(c, opt, optarg)) {
            continue;
        }
        if (opt >= OWN_BASE && (size_t)(opt - OWN_BASE) < n) {
            const cli_opt_t *o = &opts[opt - OWN_BASE];
            if (o->value) {
                *o->value = optarg;
            } else {
                *o->flag = true;
            }
            continue;
        }
        if (opt == 'h') {
            usage(stdout);
            return -1;
        }
        usage(stderr);
        return 2;
    }
    return 0;
}

int cli_load_config(const cli_program_t *prog, const cli_common_t *c, config_t **cfg)
{
    if (!*c->state) {
        *c->state = prog->default_state;
    }
    char path[4096];
    const char *cfg_path = *c->config_path;
    if (!cfg_path && fsutil_join(path, sizeof path, *c->state, prog->config_file) == FT_OK &&
        fsutil_exists(path)) {
        cfg_path = path;
    }
    char err[512] = "";
    if (config_load(cfg_path, prog->config_keys, cfg, err, sizeof err) != FT_OK) {
        cli_fail(prog, "%s", err[0] ? err : "cannot load the config file");
        return 1;
    }
    const char *level = config_pick(*c->log_level, *cfg, "log_level", "info");
    log_level lv;
    if (log_level_parse(level, &lv) != FT_OK) {
        cli_fail(prog, "log level \"%s\" is not one of error, warn, info, debug", level);
        return 1;
    }
    log_set_level(lv);
    char exposed[1024];
    if (config_secrets_exposed(*cfg, prog->secret_keys, exposed, sizeof exposed)) {
        log_warn("%s", exposed);
    }
    return 0;
}

void cli_tune_malloc_for_chunks(void)
{
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

/* Reads one line without its newline into buf; echo off on a terminal. */
static int read_line(const char *prompt, char *buf, size_t len)
{
    bool tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fputs(prompt, stderr);
        fflush(stderr);
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    char *got = fgets(buf, (int)len, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        fputc('\n', stderr);
    }
    if (!got) {
        return FT_ENOTFOUND;
    }
    buf[strcspn(buf, "\r\n")] = 0;
    return FT_OK;
}

int cli_read_secret(const char *prompt, char *buf, size_t len)
{
    if (read_line(prompt, buf, len) != FT_OK) {
        sodium_memzero(buf, len);
        return FT_ENOTFOUND;
    }
    if (!isatty(STDIN_FILENO)) {
        return FT_OK;
    }
    char *again = malloc(len);
    bool same = again && read_line("again: ", again, len) == FT_OK && strcmp(again, buf) == 0;
    if (again) {
        sodium_memzero(again, len);
        free(again);
    }
    if (!same) {
        sodium_memzero(buf, len);
        return FT_EINVAL;
    }
    return FT_OK;
}
