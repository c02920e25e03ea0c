/* main.c: fieldtrail-edge, the vehicle unit: command dispatch and help.
 *
 * Exit codes: 0 success, 1 failure (the message says what and what to do),
 * 2 usage error.
 */
#include "edge.h"
#include "msync.h"
#include "prune.h"
#include "sync.h"

static const cli_command_t commands[] = {
    {"init", edge_cmd_init, "create the state directory and device keys"},
    {"import", edge_cmd_import, "import records from a JSON-lines file"},
    {"record", edge_cmd_record, "add one record from the command line"},
    {"log", edge_cmd_log, "list log entries"},
    {"verify", edge_cmd_verify, "verify every signature and chain link of the local log"},
    {"status", edge_cmd_status, "show device, log and sync status"},
    {"ingest", edge_cmd_ingest, "store media files as encrypted chunks (FILE... or --inbox)"},
    {"run", edge_cmd_run, "sync the log to the hub (daemon; --until-synced to stop when done)"},
    {"prune", edge_cmd_prune, "prune acknowledged records older than records.keep_days"},
    {"compact", edge_cmd_compact, "rewrite the database without free pages (run stopped)"},
    {"officer", edge_cmd_officer,
     "officers who may sign in on the screen (add, passwd, list, remove)"},
};

static const cli_commands_t help = {
    .about = "The vehicle unit of fieldtrail: keeps a signed, hash-chained log of\n"
             "enforcement records and media, and syncs it to the hub.\n",
    .commands = commands,
    .n_commands = sizeof commands / sizeof commands[0],
    .command_width = 8,
};

int main(int argc, char **argv)
{
    return cli_main(&edge_program, &help, argc, argv);
}
