/* cmd_run.c: `fieldtrail-edge run`: the sync daemon (log sync, media, and
 * pruning of receipted records older than records.keep_days, edge/prune.h). */
#include "dmcrypt.h"
#include "edge.h"
#include "logging.h"
#include "msync.h"
#include "prune.h"
#include "sync.h"
#include "uiserver.h"
#include "utf8.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void run_usage(FILE *out)
{
    fprintf(out,
            "usage: fieldtrail-edge run [--hub tcp://HOST:PORT] [--hub-key HEX]\n"
            "         [--until-synced | --once] [--timeout SEC] [--window N] [--batch N]\n"
            "         [--heartbeat-ms MS] [--retry-ms MS] [--reconnect-max-ms MS]\n"
            "         [--ui HOST:PORT | --ui off] [--state DIR] [--config FILE]\n\n"
            "Syncs the device log to the hub and keeps doing so: reconnects with back-off\n"
            "when the link drops, sends what the hub lacks, keeps the hub's signed receipts.\n"
            "Records and imports by other commands go on meanwhile and are picked up.\n"
            "Stops cleanly on SIGINT or SIGTERM.\n\n"
            "  --hub, --hub-key   the hub and its transport key (config `hub`, `hub_key`)\n"
            "  --until-synced     exit 0 once the hub acknowledged every entry (--once is\n"
            "                     the same); with --timeout, exit 1 if that takes longer\n"
            "  --window N         batches unacknowledged at once (config sync.window, %d)\n"
            "  --batch N          entries per batch (config sync.batch, %d)\n"
            "  --heartbeat-ms MS  ping an idle link (config sync.heartbeat_ms, %d)\n"
            "  --retry-ms MS      pause after the hub refused an entry (config\n"
            "                     sync.retry_ms, %d)\n"
            "  --reconnect-max-ms MS  longest pause between reconnect attempts; they start\n"
            "                     at 200 ms and double (config sync.reconnect_max_ms, %d)\n"
            "  --ui HOST:PORT     serve the officers' screen there (config ui.listen,\n"
            "                     default %s; a tablet on the vehicle's LAN needs the\n"
            "                     LAN address; `off` serves none): docs/vehicle.md\n\n"
            "At start and every hour it also prunes records the hub's receipt covers and\n"
            "that are older than records.keep_days (config, %d; 0 keeps them for ever);\n"
            "see `fieldtrail-edge prune --help`.\n",
            EDGE_SYNC_DEFAULT_WINDOW, EDGE_SYNC_DEFAULT_BATCH, EDGE_SYNC_DEFAULT_HEARTBEAT_MS,
            EDGE_SYNC_DEFAULT_RETRY_MS, EDGE_SYNC_DEFAULT_RECONNECT_MAX_MS, UI_DEFAULT_LISTEN,
            EDGE_RECORDS_DEFAULT_KEEP_DAYS);
}

/* Parses a positive number setting (flag > config > default). 0 or 2. */
static int num_setting(edge_ctx_t *ctx, const char *flag, const char *key, unsigned *out)
{
    const char *text = config_pick(flag, ctx->cfg, key, NULL);
    if (!text) {
        return 0;
    }
    uint64_t v = 0;
    if (config_parse_u64(text, &v) != FT_OK || v == 0 || v > 100000000) {
        edge_fail("%s must be a positive whole number, not \"%s\"", key, text);
        return 2;
    }
    *out = (unsigned)v;
    return 0;
}

/* edge_sync's on_ports: the media link, told by the hub's Welcome. */
static void media_ports(void *ctx, const char *endpoint, uint32_t media_port, uint32_t data_port,
                        char *mismatch, size_t cap)
{
    edge_media_hub_ports(*(edge_media_t **)ctx, endpoint, media_port, data_port, mismatch, cap);
}

/* What the screen shows of sync and media (ui_providers_t.status): the
 * `sync` and `media` parts of `fieldtrail-edge status --json`. */
static json_t *screen_status(void *ctx)
{
    devlog_t *log = ctx;
    edge_sync_status_t ss;
    uint64_t head = 0;
    if (edge_sync_read_status(log, &ss) != FT_OK || devlog_head(log, &head, NULL) != FT_OK) {
        return NULL;
    }
    const char *link = !ss.link[0] ? "never" : ss.link;
    json_t *sync =
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o}", "link", link, "link_ms",
                  (json_int_t)ss.link_ms, "last_contact_ms", (json_int_t)ss.last_contact_ms,
                  "head_seq", (json_int_t)head, "acked_seq", (json_int_t)ss.receipt_seq, "unacked",
                  (json_int_t)(head > ss.receipt_seq ? head - ss.receipt_seq : 0), "last_error",
                  ss.last_error[0] ? utf8_json_string(ss.last_error) : json_null());
    return json_pack("{s:o, s:o}", "sync", sync ? sync : json_null(), "media",
                     edge_media_status_json(log));
}

/* The hub's signing key as the sync link last learnt it
 * (ui_providers_t.hub_key): the screen uses the hub's rule pack only if it
 * verifies with it. */
static int screen_hub_key(void *ctx, uint8_t pk[32])
{
    edge_sync_status_t ss;
    if (edge_sync_read_status(ctx, &ss) != FT_OK || !ss.has_hub_key) {
        return FT_ENOTFOUND;
    }
    memcpy(pk, ss.hub_key, 32);
    return FT_OK;
}

int edge_cmd_run(int argc, char **argv)
{
    edge_ctx_t ctx = {0};
    cli_tune_malloc_for_chunks();
    const char *hub = NULL, *hub_key = NULL, *window = NULL, *batch = NULL, *hb = NULL,
               *retry = NULL, *timeout = NULL, *reconnect = NULL, *ui_listen = NULL;
    bool until_synced = false;
    const cli_opt_t opts[] = {
        CLI_VALUE("hub", &hub),
        CLI_VALUE("hub-key", &hub_key),
        CLI_FLAG("until-synced", &until_synced),
        CLI_FLAG("once", &until_synced),
        CLI_VALUE("timeout", &timeout),
        CLI_VALUE("window", &window),
        CLI_VALUE("batch", &batch),
        CLI_VALUE("heartbeat-ms", &hb),
        CLI_VALUE("retry-ms", &retry),
        CLI_VALUE("reconnect-max-ms", &reconnect),
        CLI_VALUE("ui", &ui_listen),
        CLI_END,
    };
    int rc = edge_parse(&ctx, argc, argv, opts, run_usage);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (optind != argc) {
        run_usage(stderr);
        return 2;
    }
    if (edge_open(&ctx) != 0) {
        edge_close(&ctx);
        return 1;
    }
    int status = 1;
    edge_sync_t *sync = NULL;
    ui_t *ui = NULL;
    edge_sync_opts_t so = {.until_synced = until_synced, .state = ctx.state};
    so.endpoint = config_pick(hub, ctx.cfg, "hub", NULL);
    const char *key_hex = config_pick(hub_key, ctx.cfg, "hub_key", NULL);
    if (!so.endpoint || !key_hex) {
        edge_fail("no hub configured: set `hub = tcp://HOST:7400` and `hub_key = HEX` in %s/"
                  "edge.conf (the lines `fieldtrail-hub init` printed), or pass --hub and "
                  "--hub-key",
                  ctx.state);
        goto out;
    }
    if (hex_decode(key_hex, so.hub_key, 32) != FT_OK) {
        edge_fail("hub_key must be the hub's 64-character hex transport key (printed by "
                  "`fieldtrail-hub init`), not \"%s\"",
                  key_hex);
        status = 2;
        goto out;
    }
    if (num_setting(&ctx, window, "sync.window", &so.window) != 0 ||
        num_setting(&ctx, batch, "sync.batch", &so.batch_entries) != 0 ||
        num_setting(&ctx, hb, "sync.heartbeat_ms", &so.heartbeat_ms) != 0 ||
        num_setting(&ctx, retry, "sync.retry_ms", &so.retry_ms) != 0 ||
        num_setting(&ctx, reconnect, "sync.reconnect_max_ms", &so.reconnect_max_ms) != 0 ||
        num_setting(&ctx, timeout, "timeout", &so.timeout_s) != 0 ||
        edge_records_keep(&ctx, NULL, &so.records_keep_ms) != 0) {
        status = 2;
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    edge_media_t *media = NULL;
    so.on_ports = media_ports; /* the media link follows the hub's Welcome */
    so.ports_ctx = &media;
    int err = edge_sync_new(ctx.log, &ctx.keys, &so, &sync);
    if (err != FT_OK) {
        edge_fail("cannot start syncing: %s", ft_strerror(err));
        goto out;
    }
    if (edge_media_start(&ctx, &stop_flag, &media) != 0) {
        goto out;
    }
    /* the officers' screen (docs/vehicle.md) */
    ui_opts_t uo = {
        /* a one-shot sync (--until-synced) serves no screen unless asked */
        .listen = until_synced && !ui_listen
                      ? "off"
                      : config_pick(ui_listen, ctx.cfg, "ui.listen", UI_DEFAULT_LISTEN),
        .required = ui_listen || config_get(ctx.cfg, "ui.listen"),
        .state = ctx.state,
        .unit = config_get(ctx.cfg, "unit"),
        .vehicle = config_get(ctx.cfg, "vehicle"),
        .log = ctx.log,
        .prov = {.status = screen_status, .hub_key = screen_hub_key, .ctx = ctx.log},
    };
    err = ui_start(&uo, &ui);
    if (err != FT_OK) {
        edge_fail("cannot serve the screen on %s: %s", uo.listen, ft_strerror(err));
        edge_media_stop(&media);
        goto out;
    }
    char id[DEVID_TEXT_SIZE];
    devid_format(devlog_device(ctx.log), id);
    log_info("device %s syncing to %s", id, so.endpoint);
    dmcrypt_t dm;
    if (dmcrypt_check("/sys", ctx.state, &dm) == FT_OK && dm.state != DMCRYPT_ENCRYPTED) {
        log_warn("the state directory %s is not on an encrypted block device (%s): a stolen "
                 "unit reveals what is not pruned yet; see docs/operations.md",
                 ctx.state, dm.state == DMCRYPT_PLAIN ? dm.device : dm.why);
    }
    err = edge_sync_run(sync, &stop_flag);
    ui_stop(&ui);
    edge_media_stop(&media);
    if (err == FT_ETIMEOUT) {
        uint64_t head = 0;
        if (devlog_head(ctx.log, &head, NULL) != FT_OK) {
            head = 0;
        }
        edge_fail("not synced after %u s: the hub acknowledged %llu of %llu entries; see "
                  "`fieldtrail-edge status` for the link state",
                  so.timeout_s, (unsigned long long)edge_sync_acked(sync),
                  (unsigned long long)head);
    } else if (err != FT_OK) {
        edge_fail("sync stopped: %s", ft_strerror(err));
    } else {
        status = 0;
    }
out:
    ui_stop(&ui);
    edge_sync_destroy(&sync);
    edge_close(&ctx);
    return status;
}
