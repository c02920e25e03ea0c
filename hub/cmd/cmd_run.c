/* cmd_run.c: `fieldtrail-hub run`: the hub daemon (sync loop until SIGINT
 * or SIGTERM), the gap engine's thread, the media puller and the web
 * dashboard, whose modules it chooses (web_modules below: the server knows
 * none of them). */
#include "api_alerts.h"
#include "api_audit.h"
#include "api_auth.h"
#include "api_cases.h"
#include "api_province.h"
#include "api_reports.h"
#include "api_sync.h"
#include "http.h"
#include "evaluator.h"
#include "forward.h"
#include "hub.h"
#include "pg.h"
#include "logging.h"
#include "loginlimit.h"
#include "mediapull.h"
#include "sync.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t stop_flag;

/* The dashboard's modules (hub/web/web.h), in the order the server inits
 * them and looks up routes. */
static const web_module_t *const web_modules[] = {
    &api_auth_module,
    &api_sync_module,
    &api_alerts_module,
    &api_cases_module,
    &api_reports_module,
    &api_audit_module,
    NULL,
};

/* A provincial node's dashboard (docs/province.md "Dashboard"): login,
 * then the alerts, counties and cases across counties, scoped to the
 * user's units. */
static const web_module_t *const province_modules[] = {
    &api_auth_module,
    &api_province_module,
    NULL,
};

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void run_usage(FILE *out)
{
    fprintf(out,
            "usage: fieldtrail-hub run [--listen ENDPOINT] [--state DIR] [--config FILE]\n"
            "                          [--log-level L] [--http HOST:PORT|off]\n"
            "                          [--store URL [--node NAME]]\n\n"
            "Runs the hub: accepts edges on ENDPOINT (config `listen`, default %s)\n"
            "with CurveZMQ, admits only enrolled and unrevoked devices, verifies and stores\n"
            "their log entries and answers with signed receipts. Stops cleanly on SIGINT\n"
            "or SIGTERM. Logs to standard error. Serves the web dashboard on --http\n"
            "(config `http`, default %s; `off` to disable). The alert PUB socket\n"
            "and the media ports listen on the host ENDPOINT names unless configured.\n\n"
            "With --store postgresql://... (or `store` in the config) it runs a provincial\n"
            "node instead: the provincial gap engine every alerts.interval_ms as --node\n"
            "NAME, beside any other nodes on the same database, and the dashboard across\n"
            "counties on --http (users: `fieldtrail-hub user add --store URL`;\n"
            "docs/province.md \"Dashboard\").\n",
            HUB_DEFAULT_LISTEN, HTTP_DEFAULT_LISTEN);
}

/* Reads an unsigned setting (flag > config > default). 0 or 2. */
static int u32_setting(hub_ctx_t *ctx, const char *key, uint32_t def, uint32_t *out)
{
    const char *text = config_get(ctx->cfg, key);
    uint64_t v = def;
    if (text && (config_parse_u64(text, &v) != FT_OK || v == 0 || v > UINT32_MAX)) {
        hub_fail("%s must be a positive whole number, not \"%s\"", key, text);
        return 2;
    }
    *out = (uint32_t)v;
    return 0;
}

int hub_cmd_run(int argc, char **argv)
{
    hub_ctx_t ctx = {0};
    hub_gaps_t gaps = {0};
    cli_tune_malloc_for_chunks();
    const char *listen = NULL, *http_listen = NULL, *store = NULL, *node = NULL;
    static const struct option opts[] = {
        HUB_COMMON_OPTS,
        {"listen", required_argument, NULL, 'l'},
        HUB_GAPS_OPTS,
        {"http", required_argument, NULL, 'H'},
        {"store", required_argument, NULL, 'P'},
        {"node", required_argument, NULL, 'N'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (hub_common_opt(&ctx, opt, optarg) || hub_gaps_opt(&gaps, opt, optarg)) {
            continue;
        }
        if (opt == 'l') {
            listen = optarg;
            continue;
        }
        if (opt == 'H') {
            http_listen = optarg;
            continue;
        }
        if (opt == 'P' || opt == 'N') {
            *(opt == 'P' ? &store : &node) = optarg;
            continue;
        }
        if (opt == 'h') {
            run_usage(stdout);
            hub_gaps_usage(stdout);
            return 0;
        }
        run_usage(stderr);
        return 2;
    }
    if (optind != argc) {
        run_usage(stderr);
        return 2;
    }
    if (hub_load_config(&ctx) != 0) {
        hub_close(&ctx);
        return 1;
    }
    const char *url = hub_store_url(&ctx, store);
    if (url) {
        /* A provincial node (docs/province.md): no sync, no media; the gap
         * engine over the provincial database. */
        int64_t frozen = 0;
        int prc = pg_is_url(url) ? 0 : 2;
        if (prc == 2) {
            hub_fail("store %s is not a PostgreSQL URL (postgresql://USER@HOST:PORT/DB)", url);
        } else if (gaps.now && hub_parse_now(gaps.now, &frozen) != FT_OK) {
            hub_fail("--now \"%s\" is neither an RFC 3339 time with offset nor Unix "
                     "milliseconds",
                     gaps.now);
            prc = 2;
        } else {
            prc = hub_provnode_run(&ctx, url, node, frozen, gaps.rules, http_listen,
                                   province_modules);
        }
        hub_close(&ctx);
        return prc;
    }
    config_destroy(&ctx.cfg); /* hub_open loads it again */
    if (hub_open(&ctx, true) != 0) {
        hub_close(&ctx);
        return 1;
    }
    hub_sync_opts_t so = {.listen = config_pick(listen, ctx.cfg, "listen", HUB_DEFAULT_LISTEN),
                          .state = ctx.state};
    if (u32_setting(&ctx, "sync.max_batch_entries", HUB_DEFAULT_MAX_BATCH_ENTRIES,
                    &so.max_batch_entries) != 0 ||
        u32_setting(&ctx, "sync.max_batch_bytes", HUB_DEFAULT_MAX_BATCH_BYTES,
                    &so.max_batch_bytes) != 0 ||
        u32_setting(&ctx, "sync.max_connections", HUB_DEFAULT_MAX_CONNECTIONS,
                    &so.max_connections) != 0 ||
        u32_setting(&ctx, "sync.max_handshaking", HUB_DEFAULT_MAX_HANDSHAKING,
                    &so.max_handshaking) != 0 ||
        u32_setting(&ctx, "sync.group_entries", HUB_DEFAULT_GROUP_ENTRIES, &so.group_entries) !=
            0) {
        hub_close(&ctx);
        return 2;
    }
    ctx.sync_listen = so.listen; /* the PUB and media ports default to its host */
    loginlimit_opts_t llo;
    char llerr[256] = "";
    if (loginlimit_opts_from_config(ctx.cfg, &llo, llerr, sizeof llerr) != FT_OK) {
        hub_fail("%s", llerr);
        hub_close(&ctx);
        return 2;
    }
    if (hub_gaps_prepare(&ctx, &gaps) != 0) {
        hub_close(&ctx);
        return 1;
    }
    so.rule_pack = gaps.pack->text; /* the vehicles judge by it too (docs/vehicle.md) */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* From here on every way out releases what was started, in this order:
     * the province forwarder, media, the dashboard (it reads the gap
     * engine's rule pack), the gap engine, sync, the hub. */
    hub_sync_t *sync = NULL;
    http_t *http = NULL;
    hub_media_t *media = NULL;
    prov_fwd_t *fwd = NULL;
    prov_conf_t pc;
    int rc = 1;
    if (hub_province_conf(&ctx, &pc) != 0) {
        hub_close(&ctx);
        return 2;
    }
    int err = hub_sync_new(ctx.store, ctx.hublog, &ctx.keys, &so, &sync);
    if (err != FT_OK) {
        hub_fail("cannot start the sync service on %s (see the message above)", so.listen);
        goto out;
    }
    http_opts_t ho;
    http_opts_from_config(ctx.cfg, http_listen, &ho);
    if (http_start(hub_parts(&ctx), gaps.pack, web_modules, &ho, &http) != FT_OK) {
        hub_fail("cannot start the web dashboard on %s (see the message above)", ho.listen);
        goto out;
    }
    if (hub_gaps_start(&gaps) != 0 || hub_media_start_cfg(&ctx, &stop_flag, &media) != 0 ||
        hub_province_start(&ctx, &pc, &fwd) != 0) {
        goto out;
    }
    if (media) {
        hub_sync_on_commit(sync, hub_media_wake, media);
        uint32_t mport = 0, dport = 0; /* edges learn them in the Welcome */
        hub_media_ports(media, &mport, &dport);
        hub_sync_set_ports(sync, mport, dport);
    }
    char box[65];
    hex_encode(ctx.keys.box_pk, 32, box);
    log_info("hub running: listening on %s, hub key %s, state %s", so.listen, box, ctx.state);
    err = hub_sync_run(sync, &stop_flag);
    if (err != FT_OK) {
        hub_fail("the sync service stopped: %s", ft_strerror(err));
    } else {
        rc = 0;
    }
out:
    prov_fwd_stop(&fwd);
    hub_media_stop(&media);
    http_stop(&http);
    hub_gaps_stop(&gaps);
    hub_sync_destroy(&sync);
    hub_close(&ctx);
    if (rc == 0) {
        log_info("hub stopped");
    }
    return rc;
}
