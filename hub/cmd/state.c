/* state.c: opening a hub state directory (config, keys, store, hub log). */
#include "hub.h"
#include "fsutil.h"
#include "logging.h"
#include "record.h"
#include "sync.h"
#include "utf8.h"
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const hub_config_keys[] = {
    "listen",
    "advertise",
    "log_level",
    "map_size_mb",
    "store",
    "node",
    "sync.max_batch_entries",
    "sync.max_batch_bytes",
    "sync.max_connections",
    "sync.max_handshaking",
    "sync.group_entries",
    "media.listen",
    "media.data_listen",
    "media.data_advertise",
    "media.window",
    "media.store",
    "media.s3_endpoint",
    "media.s3_bucket",
    "media.s3_region",
    "media.s3_access_key",
    "media.s3_secret_key",
    "media.s3_prefix",
    "media.s3_ca_file",
    "media.s3_multipart_mb",
    "media.s3_part_mb",
    "media.s3_lock_days",
    "media.s3_cache_mb",
    "media.max_connections",
    "media.max_handshaking",
    "rules",
    "alerts.publish",
    "alerts.max_subscribers",
    "alerts.webhooks",
    "alerts.webhook_attempts",
    "alerts.webhook_timeout_ms",
    "alerts.webhook_max_age",
    "alerts.interval_ms",
    "alerts.dashboard_url",
    /* [webhook.NAME] and [person.ID] (hub/delivery/route.h) */
    "webhook.*.url",
    "webhook.*.format",
    "webhook.*.secret",
    "webhook.*.units",
    "webhook.*.severities",
    "webhook.*.articles",
    "webhook.*.rules",
    "webhook.*.events",
    "webhook.*.mode",
    "webhook.*.digest_at",
    "webhook.*.immediate",
    "webhook.*.rate",
    "webhook.*.mention",
    "person.*.name",
    "person.*.mobile",
    "person.*.dingtalk_id",
    "person.*.wecom_id",
    "person.*.feishu_id",
    "person.*.officers",
    "person.*.supervises",
    /* [province] (hub/province/provconf.h) */
    PROV_CONFIG_KEYS,
    "http",
    "http_tls_cert",
    "http_tls_key",
    "http_metrics_token",
    "http.login_max_failures",
    "http.login_backoff_s",
    "http.login_backoff_max_s",
    "http.max_connections",
    "http.max_per_address",
    "http.request_timeout_s",
    "http.max_streams",
    "http.streams_per_session",
    "retention.daily_days",
    "retention.case_years",
    "retention.max_fraction",
    "retention.max_clock_lead_days",
    NULL,
};

/* Keys whose values are secrets: a bot's URL carries its access token, the
 * province's URL its password. */
static const char *const hub_secret_keys[] = {
    "media.s3_secret_key",
    "alerts.webhooks",
    "webhook.*.url",
    "webhook.*.secret",
    "http_metrics_token",
    "province.url",
    NULL,
};

const cli_program_t hub_program = {
    .name = "fieldtrail-hub",
    .default_state = HUB_DEFAULT_STATE,
    .config_file = "hub.conf",
    .config_keys = hub_config_keys,
    .secret_keys = hub_secret_keys,
};

void hub_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_vfail(&hub_program, fmt, ap);
    va_end(ap);
}

/* Where ctx keeps the common options. */
static cli_common_t hub_common(hub_ctx_t *ctx)
{
    return (cli_common_t){&ctx->state, &ctx->config_path, &ctx->log_level, &ctx->json};
}

int hub_common_opt(hub_ctx_t *ctx, int opt, const char *arg)
{
    cli_common_t c = hub_common(ctx);
    return cli_common_opt(&c, opt, arg);
}

int hub_parse(hub_ctx_t *ctx, int argc, char **argv, const cli_opt_t *opts,
              void (*usage)(FILE *out))
{
    cli_common_t c = hub_common(ctx);
    return cli_parse(&c, argc, argv, opts, usage);
}

int hub_parse_simple(hub_ctx_t *ctx, int argc, char **argv, void (*usage)(FILE *), const char **pos,
                     int max_pos, int *n_pos)
{
    int rc = hub_parse(ctx, argc, argv, NULL, usage);
    if (rc != 0) {
        return rc;
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
    cli_common_t c = hub_common(ctx);
    if (cli_load_config(&hub_program, &c, &ctx->cfg) != 0) {
        return 1;
    }
    return hub_blob_conf(ctx);
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
    /* The hub's own log grows with the alert history of every device (a
     * county of a million records holds over a GiB of it): its map is sized
     * like the store's, map_size_mb when set (a sparse file either way). */
    devlog_opts_t lo = {.map_size = map_mb ? (size_t)map_mb << 20 : STORE_DEFAULT_MAP_SIZE};
    err = devlog_open(path, &ctx->keys, &lo, &ctx->hublog);
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

const char *hub_default_endpoint(hub_ctx_t *ctx, unsigned port, const char *fallback, char *buf,
                                 size_t len)
{
    const char *listen = ctx->sync_listen
                             ? ctx->sync_listen
                             : config_pick(NULL, ctx->cfg, "listen", HUB_DEFAULT_LISTEN);
    if (wire_endpoint_port(listen) == 0 ||
        wire_endpoint_with_port(listen, port, buf, len) != FT_OK) {
        return fallback;
    }
    return buf;
}

const char *hub_text(const char *s)
{
    static char slots[HUB_TEXT_SLOTS][4096];
    static unsigned next;
    if (!s || !utf8_clean_needed(s)) {
        return s;
    }
    char *buf = slots[next++ % HUB_TEXT_SLOTS];
    utf8_clean_to(buf, sizeof slots[0], s);
    return buf;
}

void hub_time_text(int64_t ms, char *buf, size_t len)
{
    if (ms <= 0) {
        snprintf(buf, len, "-");
        return;
    }
    rfc3339_format(ms, 0, buf, len);
}

const hub_parts_t *hub_parts(hub_ctx_t *ctx)
{
    ctx->parts = (hub_parts_t){.state = ctx->state,
                               .cfg = ctx->cfg,
                               .keys = &ctx->keys,
                               .store = ctx->store,
                               .hublog = ctx->hublog,
                               .blobs = &ctx->blobs};
    return &ctx->parts;
}
