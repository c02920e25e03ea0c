/* cmd_province.c: the provincial tier at the county hub (docs/province.md):
 * `province init-db` (applies the schema), `province forward [--once]`
 * (forwards in the foreground), the forwarder `run` starts when hub.conf
 * has a [province] section, and the forwarding lines of `status`. */
#include "forward.h"
#include "fwdrows.h"
#include "hlc.h"
#include "hub.h"
#include "logging.h"
#include "provconf.h"
#include "provstatus.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* Reads [province]; 0 (pc->enabled says whether it is there) or 1 after
 * printing the file, line and reason. */
int hub_province_conf(hub_ctx_t *ctx, prov_conf_t *pc)
{
    char err[1024];
    if (prov_conf_read(ctx->cfg, pc, err, sizeof err) != FT_OK) {
        hub_fail("%s", err);
        return 1;
    }
    return 0;
}

/* The first connection, at start: a setting PostgreSQL refuses for good
 * (password, database, role, TLS, a county name another hub holds) is an
 * error naming the line; PostgreSQL unreachable is a warning (the
 * forwarder retries). 0 or 1. */
static int first_connect(prov_fwd_t *f, const prov_conf_t *pc)
{
    char err[600];
    int rc = prov_fwd_connect(f, err, sizeof err);
    if (rc == FT_OK) {
        log_info("province: forwarding county \"%s\" into PostgreSQL", pc->county);
        return 0;
    }
    if (rc == FT_EAGAIN) {
        log_warn("province: PostgreSQL is not reachable yet (%s); forwarding starts when it "
                 "is",
                 err);
        return 0;
    }
    if (rc == FT_EEXIST) {
        hub_fail("%s: province.county: %s", pc->url_where, err);
        return 1;
    }
    hub_fail("%s: province.url: PostgreSQL refused the connection: %s", pc->url_where, err);
    return 1;
}

int hub_province_start(hub_ctx_t *ctx, const prov_conf_t *pc, prov_fwd_t **out)
{
    *out = NULL;
    if (!pc->enabled) {
        return 0;
    }
    if (pc->has_archive && !ctx->keys.has_archive) {
        hub_fail("province.archive_key is set but this hub has no archive key pair to open "
                 "the file keys with (hub.key)");
        return 1;
    }
    prov_fwd_t *f = NULL;
    if (prov_fwd_new(pc, ctx->store, ctx->hublog, &ctx->keys, &f) != FT_OK) {
        hub_fail("out of memory for the province forwarder");
        return 1;
    }
    if (first_connect(f, pc) != 0 || prov_fwd_start(f) != FT_OK) {
        prov_fwd_destroy(&f);
        return 1;
    }
    *out = f;
    return 0;
}

/* ---- status ---- */

json_t *hub_province_status_json(hub_ctx_t *ctx, uint64_t last_arrival)
{
    prov_status_t st;
    prov_conf_t pc;
    char err[1024];
    bool configured = prov_conf_read(ctx->cfg, &pc, err, sizeof err) == FT_OK && pc.enabled;
    if (!ctx->hublog || prov_status_read(ctx->hublog, &st) != FT_OK) {
        memset(&st, 0, sizeof st);
    }
    if (!configured && !st.present) {
        return NULL;
    }
    uint64_t log_head = 0;
    if (devlog_head(ctx->hublog, &log_head, NULL) != FT_OK) {
        log_head = 0;
    }
    char ok[40], bad[40];
    hub_time_text(st.last_success_ms, ok, sizeof ok);
    hub_time_text(st.last_error_ms, bad, sizeof bad);
    return json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:I}",
                     "configured", configured, "county", configured ? pc.county : st.county,
                     "target", st.target, "state", st.present ? st.state : "not started",
                     "checkpoint", (json_int_t)st.checkpoint, "behind",
                     (json_int_t)fwd_behind(last_arrival, st.checkpoint), "hublog_checkpoint",
                     (json_int_t)st.hublog_checkpoint, "hublog_behind",
                     (json_int_t)fwd_behind(log_head, st.hublog_checkpoint), "last_success", ok,
                     "last_error_time", bad, "last_error", st.last_error, "sent_entries",
                     (json_int_t)st.sent_entries, "duplicates_absorbed",
                     (json_int_t)st.sent_duplicates, "keys_resealed", (json_int_t)st.keys_resealed);
}

void hub_province_status_print(json_t *p, FILE *out)
{
    if (!p) {
        return;
    }
    char ok[CLI_TIME_TEXT];
    const char *okt = json_string_value(json_object_get(p, "last_success"));
    snprintf(ok, sizeof ok, "%s", okt && strcmp(okt, "-") != 0 ? okt : "never");
    fprintf(out,
            "province:         county %s -> %s: %s; checkpoint %lld, %lld entries behind "
            "(hub log %lld behind); last success %s\n",
            hub_text(json_string_value(json_object_get(p, "county"))),
            hub_text(json_string_value(json_object_get(p, "target"))),
            json_string_value(json_object_get(p, "state")),
            (long long)json_integer_value(json_object_get(p, "checkpoint")),
            (long long)json_integer_value(json_object_get(p, "behind")),
            (long long)json_integer_value(json_object_get(p, "hublog_behind")), ok);
    const char *e = json_string_value(json_object_get(p, "last_error"));
    if (e && *e) {
        fprintf(out, "province error:   %s (%s)\n", hub_text(e),
                json_string_value(json_object_get(p, "last_error_time")));
    }
}

/* ---- the command ---- */

static void province_usage(FILE *out)
{
    fprintf(out,
            "usage: fieldtrail-hub province init-db [--url URL] [--state DIR] [--config FILE]\n"
            "       fieldtrail-hub province forward [--once] [--state DIR] [--config FILE]\n\n"
            "The provincial tier (docs/province.md). init-db applies the schema `ft` to\n"
            "the database of --url (default: province.url of hub.conf); it is idempotent.\n"
            "forward sends what this hub verified and committed to the province, as\n"
            "`run` does on a thread of its own when hub.conf has a [province] section;\n"
            "with --once it sends until nothing is left and exits (1 if PostgreSQL\n"
            "cannot be reached or refuses a batch), else it runs until SIGINT/SIGTERM.\n");
}

static volatile sig_atomic_t fwd_stop;
static void on_signal(int sig)
{
    (void)sig;
    fwd_stop = 1;
}

static int init_db(hub_ctx_t *ctx, const char *url)
{
    prov_conf_t pc = {0};
    if (!url) {
        if (hub_load_config(ctx) != 0 || hub_province_conf(ctx, &pc) != 0) {
            return 1;
        }
        if (!pc.enabled) {
            hub_fail("no database: give --url postgresql://... or set url in the [province] "
                     "section of hub.conf");
            return 2;
        }
        url = pc.url;
    }
    char err[600], shown[PROV_URL_MAX];
    prov_url_redact(url, shown, sizeof shown);
    int rc = prov_init_db(url, err, sizeof err);
    if (rc != FT_OK) {
        hub_fail("cannot apply the schema to %s: %s", hub_text(shown), err);
        return 1;
    }
    printf("schema ft applied to %s\n", hub_text(shown));
    return 0;
}

static int forward(hub_ctx_t *ctx, bool once)
{
    prov_conf_t pc;
    if (hub_open(ctx, true) != 0 || hub_province_conf(ctx, &pc) != 0) {
        return 1;
    }
    if (!pc.enabled) {
        hub_fail("hub.conf has no [province] section with url = postgresql://...");
        return 1;
    }
    prov_fwd_t *f = NULL;
    if (prov_fwd_new(&pc, ctx->store, ctx->hublog, &ctx->keys, &f) != FT_OK) {
        hub_fail("out of memory");
        return 1;
    }
    int rc = 0;
    if (once) {
        prov_round_t r, total = {0};
        char err[600] = "";
        int err_rc = FT_OK;
        do {
            err_rc = prov_fwd_round(f, &r, err, sizeof err);
            total.entries_sent += r.entries_sent;
            total.entries_dup += r.entries_dup;
            total.hub_sent += r.hub_sent;
            total.hub_dup += r.hub_dup;
            total.keys_resealed += r.keys_resealed;
            total.checkpoint = r.checkpoint;
            total.hublog_checkpoint = r.hublog_checkpoint;
        } while (err_rc == FT_OK && r.more);
        prov_status_t st;
        if (prov_status_read(ctx->hublog, &st) == FT_OK) {
            st.present = true;
            snprintf(st.county, sizeof st.county, "%s", pc.county);
            prov_url_redact(pc.url, st.target, sizeof st.target);
            if (err_rc == FT_OK) {
                st.checkpoint = total.checkpoint;
                st.hublog_checkpoint = total.hublog_checkpoint;
                st.last_success_ms = (int64_t)hlc_wall_ms();
                snprintf(st.state, sizeof st.state, "stopped");
            } else {
                st.last_error_ms = (int64_t)hlc_wall_ms();
                snprintf(st.last_error, sizeof st.last_error, "%.*s", (int)sizeof st.last_error - 1,
                         err);
            }
            st.sent_entries += total.entries_sent + total.hub_sent;
            st.sent_duplicates += total.entries_dup + total.hub_dup;
            st.keys_resealed += total.keys_resealed;
            if (prov_status_write(ctx->hublog, &st) != FT_OK) {
                log_warn("province: cannot write the forwarding status");
            }
        }
        if (err_rc != FT_OK) {
            hub_fail("%s: %s", err_rc == FT_EINVAL ? pc.url_where : "forwarding failed", err);
            rc = 1;
        } else if (ctx->json) {
            printf("{\"entries_sent\":%llu,\"duplicates\":%llu,\"hublog_sent\":%llu,"
                   "\"keys_resealed\":%llu,\"checkpoint\":%llu,\"hublog_checkpoint\":%llu}\n",
                   (unsigned long long)total.entries_sent, (unsigned long long)total.entries_dup,
                   (unsigned long long)total.hub_sent, (unsigned long long)total.keys_resealed,
                   (unsigned long long)total.checkpoint,
                   (unsigned long long)total.hublog_checkpoint);
        } else {
            printf("forwarded %llu entries (%llu already there) and %llu hub log entries; "
                   "%llu file keys re-sealed; checkpoint %llu\n",
                   (unsigned long long)total.entries_sent, (unsigned long long)total.entries_dup,
                   (unsigned long long)total.hub_sent, (unsigned long long)total.keys_resealed,
                   (unsigned long long)total.checkpoint);
        }
    } else {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        if (first_connect(f, &pc) != 0) {
            rc = 1;
        } else if (prov_fwd_run(f, &fwd_stop) != FT_OK) {
            rc = 1;
        }
    }
    prov_fwd_destroy(&f);
    return rc;
}

int hub_cmd_province(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        province_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    hub_ctx_t ctx = {0};
    const char *url = NULL;
    bool once = false;
    static const struct option opts[] = {
        HUB_COMMON_OPTS,
        {"url", required_argument, NULL, 'u'},
        {"once", no_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        if (hub_common_opt(&ctx, opt, optarg)) {
            continue;
        }
        if (opt == 'u') {
            url = optarg;
        } else if (opt == 'o') {
            once = true;
        } else if (opt == 'h') {
            province_usage(stdout);
            return 0;
        } else {
            province_usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        province_usage(stderr);
        return 2;
    }
    int rc;
    if (strcmp(sub, "init-db") == 0 && !once) {
        rc = init_db(&ctx, url);
    } else if (strcmp(sub, "forward") == 0 && !url) {
        rc = forward(&ctx, once);
    } else {
        province_usage(stderr);
        rc = 2;
    }
    hub_close(&ctx);
    return rc;
}
