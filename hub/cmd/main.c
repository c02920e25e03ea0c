/* main.c: fieldtrail-hub, the central node: command dispatch and help.
 *
 * Exit codes: 0 success, 1 failure (the message says what and what to do),
 * 2 usage error.
 */
#include "hub.h"
#include "bundle.h"
#include "mediapull.h"
#include "retention.h"

static const cli_command_t commands[] = {
    {"init", hub_cmd_init, "create the state directory and the hub's keys"},
    {"enroll", hub_cmd_enroll, "enrol a device (its public keys, unit and vehicle)"},
    {"revoke", hub_cmd_revoke, "revoke a device: refuse its connections and batches"},
    {"devices", hub_cmd_devices, "list enrolled devices with their sync state"},
    {"status", hub_cmd_status, "show the hub and every device's sync status"},
    {"integrity", hub_cmd_integrity, "list integrity events (refused entries)"},
    {"verify", hub_cmd_verify, "re-verify every stored entry (signatures, chains, seqs)"},
    {"media", hub_cmd_media, "list media files (Art. 10 fields) or get one decrypted"},
    {"run", hub_cmd_run, "run the hub: accept edges and sync their logs"},
    {"evaluate", hub_cmd_evaluate, "index new entries and evaluate the gap rules (--now T)"},
    {"alerts", hub_cmd_alerts, "list gap alerts with filters, their history, --follow"},
    {"timeline", hub_cmd_timeline, "a case's records and media in corrected-time order"},
    {"rules", hub_cmd_rules, "check a rule pack and print its rules"},
    {"user", hub_cmd_user, "manage dashboard users (add, passwd, role, list)"},
    {"subscriber", hub_cmd_subscriber, "who may subscribe to alerts (add, remove, list KEY)"},
    {"retention", hub_cmd_retention, "the retention job: list (--dry-run) or delete expired media"},
    {"hold", hub_cmd_hold, "legal holds (Art. 23): add, remove, list"},
    {"export", hub_cmd_export, "write a signed, self-verifying bundle of a case"},
    {"archive", hub_cmd_archive, "write cases (or every held case) to an ISO 9660 disc image"},
    {"province", hub_cmd_province, "forward to the provincial PostgreSQL (init-db, forward)"},
};

static const cli_commands_t help = {
    .about = "The central node of fieldtrail: enrols devices, receives and verifies\n"
             "their signed logs over CurveZMQ, and keeps its own signed log.\n",
    .commands = commands,
    .n_commands = sizeof commands / sizeof commands[0],
    .command_width = 10,
};

int main(int argc, char **argv)
{
    return cli_main(&hub_program, &help, argc, argv);
}
