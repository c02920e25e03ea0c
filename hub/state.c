/* state.c: opening a hub state directory (config, keys, store, hub log). */
#include "hub.h"
#include "fsutil.h"
#include "logging.h"
#include "record.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const hub_config_keys[] = {
    "listen",
    "advertise",
    "log_level",
    "map_size_mb",
    "sync.max_batch_entries",
    "sync.max_batch_bytes",
    "media.listen",
    "media.window",
    "rules",
    "alerts.publish",
    "alerts.webhooks",
    "alerts.webhook_attempts",
    "alerts.webhook_timeout_ms",
    "alerts.interval_ms",
    "http",
    "http_tls_cert",
    "http_tls_key",
    "http_metrics_token",
    "http.login_max_failures",
    "http.login_backoff_s",
    "http.login_backoff_max_s",
    "retention.daily_days",
    "retention.case_years",
    "retention.max_fraction",
    "retention.max_clock_lead_days",
    NULL,
};

void hub_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fieldtrail-hub: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int hub_common_opt(hub_ctx_t *ctx, int opt, const char *arg)
{
    switch (opt) {
    case 'S':
        ctx->state = arg;
        return 1;
    case 'C':
        ctx->config_path = arg;
        return 1;
    case 'L':
        ctx->log_level = arg;
        return 1;
    case 'J':
        ctx->json = true;
        return 1;
    default:
        return 0;
    }
}

int hub_parse_simple(hub_ctx_t *ctx, int argc, char **argv, void (*usage)(FILE *), const char **pos,
                     int max_pos, int *n_pos)
{
    static const struct option opts[] = {HUB_COMMON_OPTS, {NULL, 0, NULL, 0}};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (hub_common_opt(ctx, opt, optarg)) {
            continue;
        }
        if (opt == 'h') {
            usage(stdout);
            return -1;
        }
        usage(stderr);
        return 2;
    }
    int n = argc - optind;
    if (n > max_pos || (n_pos == NULL && n != 0)) {
        usage(stderr);
        return 2;
    }
    for (int i = 0; i < n; i++) {
        pos[i] = argv[optind + i];
    }
    if (n_pos) {
        *n_pos = n;
    }
    return 0;
}

int hub_load_config(hub_ctx_t *ctx)
{
    if (!ctx->state) {
        ctx->state = HUB_DEFAULT_STATE;
    }
    char path[4096];
    const char *cfg_path = ctx->config_path;
    if (!cfg_path && fsutil_join(path, sizeof path, ctx->state, "hub.conf") == FT_OK &&
        fsutil_exists(path)) {
        cfg_path = path;
    }
    char err[512] = "";
    if (config_load(cfg_path, hub_config_keys, &ctx->cfg, err, sizeof err) != FT_OK) {
        hub_fail("%s", err[0] ? err : "cannot load the config file");
        return 1;
    }
    const char *level = config_pick(ctx->log_level, ctx->cfg, "log_level", "info");
    log_level lv;
    if (log_level_parse(level, &lv) != FT_OK) {
        hub_fail("log level \"%s\" is not one of error, warn, info, debug", level);
        return 1;
    }
    log_set_level(lv);
    return 0;
}

int hub_open(hub_ctx_t *ctx, bool with_log)
{
    if (hub_load_config(ctx) != 0) {
        return 1;
    }
    char path[4096];
    if (fsutil_join(path, sizeof path, ctx->state, "hub.key") != FT_OK) {
        hub_fail("state directory path is too long");
        return 1;
    }
    int err = keys_load(&ctx->keys, path);
    if (err == FT_ENOTFOUND) {
        hub_fail("no hub keys in %s; run `fieldtrail-hub init --state %s` first", ctx->state,
                 ctx->state);
        return 1;
    }
    if (err != FT_OK) {
        hub_fail("cannot use %s: %s", path, ft_strerror(err));
        return 1;
    }
    uint64_t map_mb = 0;
    const char *map_text = config_get(ctx->cfg, "map_size_mb");
    if (map_text && (config_parse_u64(map_text, &map_mb) != FT_OK || map_mb < 1)) {
        hub_fail("map_size_mb must be a whole number of megabytes, not \"%s\"", map_text);
        return 1;
    }
    if (fsutil_join(path, sizeof path, ctx->state, "db") != FT_OK) {
        return 1;
    }
    err = store_open(path, (size_t)map_mb << 20, &ctx->store);
    if (err != FT_OK) {
        hub_fail("cannot open the hub store in %s: %s", path, ft_strerror(err));
        return 1;
    }
    if (!with_log) {
        return 0;
    }
    if (fsutil_join(path, sizeof path, ctx->state, "hublog") != FT_OK) {
        return 1;
    }
    err = devlog_open(path, &ctx->keys, NULL, &ctx->hublog);
    if (err != FT_OK) {
        hub_fail("cannot open the hub's own log in %s: %s", path, ft_strerror(err));
        return 1;
    }
    return 0;
}

void hub_close(hub_ctx_t *ctx)
{
    devlog_destroy(&ctx->hublog);
    store_destroy(&ctx->store);
    config_destroy(&ctx->cfg);
    keys_wipe(&ctx->keys);
}

void hub_time_text(int64_t ms, char *buf, size_t len)
{
    if (ms <= 0) {
        snprintf(buf, len, "-");
        return;
    }
    rfc3339_format(ms, 0, buf, len);
}
