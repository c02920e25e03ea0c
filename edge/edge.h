/* edge.h: what every fieldtrail-edge command shares: the parsed common
 * options, the config file, the device keys and the device log.
 *
 * State directory layout (docs/operations.md):
 *   device.key   secret keys, mode 0600      device.pub  public keys to enrol
 *   edge.conf    settings written by init    db/         LMDB (log, chunks, receipts)
 *   db/bucket.keys  keys the log's entries are encrypted under at rest, mode 0600
 *                   (docs/log.md "At rest"); pruned buckets' keys are dropped
 */
#ifndef FT_EDGE_H
#define FT_EDGE_H

#include "cli.h"
#include "clitext.h"
#include "config.h"
#include "devlog.h"
#include "keys.h"

#include <getopt.h>
#include <stdbool.h>

#define EDGE_DEFAULT_STATE "var/edge"

/* Settings a config file may hold (see docs/operations.md). */
extern const char *const edge_config_keys[];
/* The program's name, default state directory and config file. */
extern const cli_program_t edge_program;

/* Options every command takes, and what opening the state gives. */
typedef struct {
    const char *state;       /* --state DIR */
    const char *config_path; /* --config FILE (default: STATE/edge.conf if present) */
    const char *log_level;   /* --log-level */
    bool json;               /* --json */
    bool create_log;         /* init only: create the log if there is none */
    config_t *cfg;           /* loaded config (never NULL after edge_load_config) */
    keys_t keys;             /* device keys (after edge_open) */
    devlog_t *log;           /* device log (after edge_open) */
} edge_ctx_t;

/* Long options shared by every command; commands append their own. */
#define EDGE_COMMON_OPTS CLI_COMMON_OPTS

/* Handles a common option; returns 1 if opt was one, 0 if not. */
int edge_common_opt(edge_ctx_t *ctx, int opt, const char *arg);
/* Parses the common options and the command's own (cli_parse): 0 to go on
 * (optind at the first positional argument), -1 after --help, or 2. */
int edge_parse(edge_ctx_t *ctx, int argc, char **argv, const cli_opt_t *opts,
               void (*usage)(FILE *out));
/* Loads the config file; prints the reason and returns 1 on failure. */
int edge_load_config(edge_ctx_t *ctx);
/* Loads config, keys and opens the log; prints what to do and returns 1 on failure. */
int edge_open(edge_ctx_t *ctx);
/* Releases everything edge_open acquired. */
void edge_close(edge_ctx_t *ctx);
/* Prints "fieldtrail-edge: msg" to stderr. */
void edge_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Commands (argv[0] is the command name). Return the process exit code. */
int edge_cmd_init(int argc, char **argv);
int edge_cmd_import(int argc, char **argv);
int edge_cmd_record(int argc, char **argv);
int edge_cmd_log(int argc, char **argv);
int edge_cmd_verify(int argc, char **argv);
int edge_cmd_status(int argc, char **argv);
int edge_cmd_officer(int argc, char **argv);

#endif
