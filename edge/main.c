/* main.c: fieldtrail-edge, the vehicle unit: command dispatch and help.
 *
 * Exit codes: 0 success, 1 failure (the message says what and what to do),
 * 2 usage error.
 */
#include "edge.h"
#include "logging.h"
#include "msync.h"
#include "sync.h"

#include <stdio.h>
#include <string.h>

/* One subcommand. */
typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"init", edge_cmd_init, "create the state directory and device keys"},
    {"import", edge_cmd_import, "import records from a JSON-lines file"},
    {"record", edge_cmd_record, "add one record from the command line"},
    {"log", edge_cmd_log, "list log entries"},
    {"verify", edge_cmd_verify, "verify every signature and chain link of the local log"},
    {"status", edge_cmd_status, "show device, log and sync status"},
    {"ingest", edge_cmd_ingest, "store media files as encrypted chunks (FILE... or --inbox)"},
    {"run", edge_cmd_run, "sync the log to the hub (daemon; --until-synced to stop when done)"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-edge COMMAND [options]\n\n"
                 "The vehicle unit of fieldtrail: keeps a signed, hash-chained log of\n"
                 "enforcement records and media, and syncs it to the hub.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(out,
            "\noptions every command takes:\n"
            "  --state DIR      state directory (default %s)\n"
            "  --config FILE    config file (default STATE/edge.conf)\n"
            "  --log-level L    error, warn, info or debug\n"
            "  --json           machine-readable output\n"
            "  --help           help for the command\n\n"
            "exit codes: 0 success, 1 failure, 2 usage error\n",
            EDGE_DEFAULT_STATE);
}

int main(int argc, char **argv)
{
    log_set_program("fieldtrail-edge");
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(cmd, commands[i].name) == 0) {
            return commands[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "fieldtrail-edge: unknown command \"%s\"\n\n", cmd);
    usage(stderr);
    return 2;
}
