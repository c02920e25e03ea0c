/* cmd_officer.c: `fieldtrail-edge officer`: who may sign in on the
 * vehicle's screen (edge/ui/officers.h, docs/vehicle.md "Officers").
 *
 *   officer add ID [--name NAME]   PIN from standard input (one line) or,
 *                                  on a terminal, asked twice without echo
 *   officer passwd ID              a new PIN, the same way; ends a lockout
 *   officer list [--json]
 *   officer remove ID
 * Each change is also an AuditEvent in the device log (by the operating
 * system user who ran the command); a PIN is never logged or shown.
 */
#include "edge.h"
#include "hlc.h"
#include "officers.h"
#include "record.h"

#include <jansson.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void officer_usage(FILE *out)
{
    fprintf(out,
            "usage: fieldtrail-edge officer add ID [--name NAME] [--state DIR]\n"
            "       fieldtrail-edge officer passwd ID [--state DIR]\n"
            "       fieldtrail-edge officer list [--state DIR] [--json]\n"
            "       fieldtrail-edge officer remove ID [--state DIR]\n\n"
            "Manages the officers who may sign in on this vehicle's screen (`run` serves\n"
            "it, edge.conf ui.listen) with their officer ID (e.g. ZF-0107) and a PIN.\n"
            "The PIN (%d to %d characters) is read from standard input, one line, or\n"
            "asked for twice when standard input is a terminal; only its Argon2id hash\n"
            "is kept (STATE/%s, mode 0600). After %d wrong PINs an officer is locked\n"
            "out for %lld s, twice as long after each further one (at most %lld min);\n"
            "`passwd` ends a lockout. Each change is an entry in the device log.\n",
            OFFICER_PIN_MIN, OFFICER_PIN_MAX, OFFICERS_FILE, OFFICERS_FREE_FAILURES,
            OFFICERS_LOCK_FIRST_MS / 1000, OFFICERS_LOCK_MAX_MS / 60000);
}

static int read_pin(char *pin, size_t len)
{
    int rc = cli_read_secret("PIN: ", pin, len);
    if (rc == FT_ENOTFOUND) {
        edge_fail("no PIN given on standard input");
        return 1;
    }
    if (rc != FT_OK) {
        edge_fail("the two PINs differ; nothing was changed");
        return 1;
    }
    if (!officer_pin_valid(pin)) {
        edge_fail("a PIN has %d to %d characters (digits on the screen's keypad), no control "
                  "characters",
                  OFFICER_PIN_MIN, OFFICER_PIN_MAX);
        return 1;
    }
    return 0;
}

static const char *os_user(void)
{
    const char *u = getenv("USER");
    if (u && *u) {
        return u;
    }
    struct passwd *pw = getpwuid(getuid());
    return pw ? pw->pw_name : "unknown";
}

/* The change as an AuditEvent in the device log. */
static int audit(edge_ctx_t *ctx, const char *action, const char *target)
{
    char who[128];
    snprintf(who, sizeof who, "cli:%s", os_user());
    int err = devlog_append1_audit(ctx->log, who, action, target, NULL, NULL);
    if (err != FT_OK) {
        edge_fail("the change is made but could not be written to the device log: %s",
                  ft_strerror(err));
        return 1;
    }
    return 0;
}

static int list(edge_ctx_t *ctx)
{
    officer_t *o = NULL;
    size_t n = 0;
    int err = officers_list(ctx->state, &o, &n);
    if (err != FT_OK) {
        edge_fail("cannot read %s/%s: %s", ctx->state, OFFICERS_FILE, ft_strerror(err));
        return 1;
    }
    int64_t now = (int64_t)devlog_wall_ms(ctx->log);
    for (size_t i = 0; i < n; i++) {
        char added[48];
        rfc3339_format(o[i].created_ms, 0, added, sizeof added);
        bool locked = o[i].locked_until_ms > now;
        if (ctx->json) {
            json_t *j = json_pack(
                "{s:s, s:s, s:s, s:i, s:b, s:I}", "id", o[i].id, "name", o[i].name, "added", added,
                "failures", (int)o[i].failures, "locked", locked, "locked_s",
                (json_int_t)(locked ? (o[i].locked_until_ms - now + 999) / 1000 : 0));
            json_dumpf(j, stdout, JSON_COMPACT);
            fputc('\n', stdout);
            json_decref(j);
        } else {
            printf("%-16s %-20s added %s%s\n", o[i].id, o[i].name[0] ? o[i].name : "-", added,
                   locked ? "  LOCKED OUT (wrong PINs)" : "");
        }
    }
    if (!ctx->json && n == 0) {
        printf("no officers yet: add one with `fieldtrail-edge officer add ID --name NAME`\n");
    }
    free(o);
    return 0;
}

int edge_cmd_officer(int argc, char **argv)
{
    edge_ctx_t ctx = {0};
    const char *name = NULL;
    const cli_opt_t opts[] = {CLI_VALUE("name", &name), CLI_END};
    int rc = edge_parse(&ctx, argc, argv, opts, officer_usage);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    const char *verb = optind < argc ? argv[optind] : NULL;
    const char *id = optind + 1 < argc ? argv[optind + 1] : NULL;
    bool is_list = verb && strcmp(verb, "list") == 0;
    bool known = verb && (is_list || strcmp(verb, "add") == 0 || strcmp(verb, "passwd") == 0 ||
                          strcmp(verb, "remove") == 0);
    if (!known || (is_list ? argc - optind != 1 : argc - optind != 2) ||
        (name && strcmp(verb, "add") != 0)) {
        officer_usage(stderr);
        return 2;
    }
    if (id && !officer_id_valid(id)) {
        edge_fail("an officer ID is 1 to %d letters, digits, '-', '_' or '.', not \"%s\"",
                  OFFICER_ID_MAX - 1, id);
        return 2;
    }
    if (edge_open(&ctx) != 0) {
        edge_close(&ctx);
        return 1;
    }
    int status = 1;
    char pin[OFFICER_PIN_MAX + 2] = "";
    int err = FT_OK;
    if (is_list) {
        status = list(&ctx);
    } else if (strcmp(verb, "remove") == 0) {
        err = officers_remove(ctx.state, id);
        if (err == FT_ENOTFOUND) {
            edge_fail("no officer %s on this vehicle (`fieldtrail-edge officer list`)", id);
        } else if (err != FT_OK) {
            edge_fail("cannot remove %s: %s", id, ft_strerror(err));
        } else {
            status = audit(&ctx, "officer_remove", id);
            if (status == 0) {
                printf("officer %s removed: cannot sign in on this vehicle any more\n", id);
            }
        }
    } else if (read_pin(pin, sizeof pin) == 0) {
        bool add = strcmp(verb, "add") == 0;
        err = add ? officers_add(ctx.state, id, name, pin, (int64_t)devlog_wall_ms(ctx.log))
                  : officers_set_pin(ctx.state, id, pin);
        if (err == FT_EEXIST) {
            edge_fail("officer %s exists already; `officer passwd %s` gives a new PIN", id, id);
        } else if (err == FT_ENOTFOUND) {
            edge_fail("no officer %s on this vehicle; add one with `officer add %s`", id, id);
        } else if (err == FT_EINVAL) {
            edge_fail("the name must be UTF-8 text shorter than %d bytes", OFFICER_NAME_MAX);
        } else if (err != FT_OK) {
            edge_fail("cannot %s %s: %s", add ? "add" : "change the PIN of", id, ft_strerror(err));
        } else {
            status = audit(&ctx, add ? "officer_add" : "officer_pin_changed", id);
            if (status == 0) {
                printf(add ? "officer %s added: may sign in on this vehicle's screen\n"
                           : "officer %s has a new PIN\n",
                       id);
            }
        }
    }
    sodium_memzero(pin, sizeof pin);
    edge_close(&ctx);
    return status;
}
