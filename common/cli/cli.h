/* cli.h: what both daemons' command lines share: the command table and the
 * top-level help, the options every command takes (--state, --config,
 * --log-level, --json, --help), loading the config file, and the
 * "PROGRAM: message" failure line.
 *
 * Exit codes everywhere: 0 success, 1 failure (the message says what and
 * what to do), 2 usage error.
 */
#ifndef FT_CLI_H
#define FT_CLI_H

#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One subcommand (argv[0] is the command name; returns the exit code). */
typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} cli_command_t;

/* One program: fieldtrail-edge or fieldtrail-hub. */
typedef struct {
    const char *name;               /* "fieldtrail-edge": every failure line starts with it */
    const char *default_state;      /* state directory without --state */
    const char *config_file;        /* config file name in the state directory ("edge.conf") */
    const char *const *config_keys; /* NULL-terminated keys the config file may hold */
    const char *const *secret_keys; /* of those, the ones that hold a secret (NULL: none) */
} cli_program_t;

/* What the program's top-level help lists. */
typedef struct {
    const char *about;             /* the paragraph(s) under the usage line, ending in '\n' */
    const cli_command_t *commands; /* the subcommands, in help order */
    size_t n_commands;             /* how many */
    int command_width;             /* column width of the command names */
} cli_commands_t;

/* Where a command keeps the options every command takes. */
typedef struct {
    const char **state;       /* --state DIR */
    const char **config_path; /* --config FILE */
    const char **log_level;   /* --log-level L */
    bool *json;               /* --json */
} cli_common_t;

/* One option of a command's own: --name VALUE puts VALUE in *value;
 * --name without a value (value NULL) sets *flag. Two entries with the same
 * place are two spellings of one option. A list ends with {NULL}. */
typedef struct {
    const char *name;
    const char **value;
    bool *flag;
} cli_opt_t;
#define CLI_VALUE(name, value)                                                                     \
    {                                                                                              \
        (name), (value), NULL                                                                      \
    }
#define CLI_FLAG(name, flag)                                                                       \
    {                                                                                              \
        (name), NULL, (flag)                                                                       \
    }
#define CLI_END                                                                                    \
    {                                                                                              \
        NULL, NULL, NULL                                                                           \
    }

/* Long options shared by every command ('S', 'C', 'L', 'J', 'U', 'h');
 * commands append their own. --utc prints times in UTC instead of local
 * time (clitext.h). */
#define CLI_COMMON_OPTS                                                                            \
    {"state", required_argument, NULL, 'S'}, {"config", required_argument, NULL, 'C'},             \
        {"log-level", required_argument, NULL, 'L'}, {"json", no_argument, NULL, 'J'},             \
        {"utc", no_argument, NULL, 'U'},                                                           \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

/* Prints "NAME: msg" and a newline to stderr. */
void cli_vfail(const cli_program_t *prog, const char *fmt, va_list ap);
/* Prints the program's help (commands, common options, exit codes) to out. */
void cli_usage(const cli_program_t *prog, const cli_commands_t *cmds, FILE *out);
/* The whole of main(): sets the log's program name, runs the command named
 * by argv[1] with argv + 1, answers help/--help/-h, and refuses a missing or
 * unknown command with the help on stderr (exit 2). */
int cli_main(const cli_program_t *prog, const cli_commands_t *cmds, int argc, char **argv);
/* Handles a common option (opt is getopt_long's answer); 1 if it was one
 * ('S', 'C', 'L', 'J' or 'U'), 0 if not ('h' is left to the command). */
int cli_common_opt(const cli_common_t *c, int opt, const char *arg);
/* Parses a command's options with getopt_long (argv[0] is the command
 * name): the common ones into c, the command's own (opts, NULL for none,
 * at most 32) into their places; -h/--help prints usage to stdout and
 * returns -1; an unknown option or a missing value prints getopt's message
 * and usage to stderr and returns 2. Otherwise returns 0 with optind at the
 * first positional argument. */
int cli_parse(const cli_common_t *c, int argc, char **argv, const cli_opt_t *opts,
              void (*usage)(FILE *out));
/* For the long-running `run` commands, which hand 1 MiB media chunks
 * between threads (theirs and ZeroMQ's): keeps buffers of that size in the
 * heap instead of in a fresh mapping per buffer (glibc's default above
 * 128 KiB, unmapped again on free), so that no chunk pays its page faults
 * anew. With 3 chunk requests in flight the edge used 2.2x the CPU without
 * it. No effect on other C libraries. */
void cli_tune_malloc_for_chunks(void);

/* Defaults *c->state, loads --config (or STATE/config_file if it exists,
 * else nothing) accepting only prog's keys into *cfg and sets the log level
 * (--log-level > log_level in the file > info). Prints the reason and
 * returns 1 on failure, 0 on success. */
int cli_load_config(const cli_program_t *prog, const cli_common_t *c, config_t **cfg);

/* Reads a secret (a dashboard password, an officer's PIN) from standard
 * input: one line, without its newline, into buf. On a terminal it asks with
 * PROMPT with echo off, then asks "again: " and compares. FT_OK; FT_ENOTFOUND
 * when no line came; FT_EINVAL when the two differ. buf is wiped on an error
 * (and the second copy always). */
int cli_read_secret(const char *prompt, char *buf, size_t len);

#endif
