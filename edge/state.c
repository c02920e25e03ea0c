/* state.c: opening an edge state directory (config, keys, device log).
 *
 * The edge's log is always opened with at-rest encryption on (docs/log.md
 * "At rest"): entries are stored encrypted under the bucket keys in
 * db/bucket.keys; a log written before that keeps its old entries readable
 * in plaintext and encrypts from then on. */
#include "edge.h"
#include "fsutil.h"
#include "logging.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const edge_config_keys[] = {
    "hub",
    "hub_key",
    "unit",
    "vehicle",
    "map_size_mb",
    "log_level",
    "inbox",
    "chunk_kb",
    "sync.window",
    "sync.batch",
    "sync.heartbeat_ms",
    "media.keep_days",
    "sync.retry_ms",
    "sync.reconnect_max_ms",
    "archive_key",
    "media.hub",
    "media.stable_ms",
    "media.settle_ms",
    "records.keep_days",
    "ui.listen",
    NULL,
};

const cli_program_t edge_program = {
    .name = "fieldtrail-edge",
    .default_state = EDGE_DEFAULT_STATE,
    .config_file = "edge.conf",
    .config_keys = edge_config_keys,
};

void edge_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_vfail(&edge_program, fmt, ap);
    va_end(ap);
}

/* Where ctx keeps the common options. */
static cli_common_t edge_common(edge_ctx_t *ctx)
{
    return (cli_common_t){&ctx->state, &ctx->config_path, &ctx->log_level, &ctx->json};
}

int edge_common_opt(edge_ctx_t *ctx, int opt, const char *arg)
{
    cli_common_t c = edge_common(ctx);
    return cli_common_opt(&c, opt, arg);
}

int edge_parse(edge_ctx_t *ctx, int argc, char **argv, const cli_opt_t *opts,
               void (*usage)(FILE *out))
{
    cli_common_t c = edge_common(ctx);
    return cli_parse(&c, argc, argv, opts, usage);
}

int edge_load_config(edge_ctx_t *ctx)
{
    cli_common_t c = edge_common(ctx);
    return cli_load_config(&edge_program, &c, &ctx->cfg);
}

int edge_open(edge_ctx_t *ctx)
{
    if (edge_load_config(ctx) != 0) {
        return 1;
    }
    char path[4096];
    if (fsutil_join(path, sizeof path, ctx->state, "device.key") != FT_OK) {
        edge_fail("state directory path is too long");
        return 1;
    }
    int err = keys_load(&ctx->keys, path);
    if (err == FT_ENOTFOUND) {
        edge_fail("no device keys in %s; run `fieldtrail-edge init --state %s` first", ctx->state,
                  ctx->state);
        return 1;
    }
    if (err != FT_OK) {
        edge_fail("cannot use %s: %s", path, ft_strerror(err));
        return 1;
    }
    uint64_t map_mb = 0;
    const char *map_text = config_get(ctx->cfg, "map_size_mb");
    if (map_text && (config_parse_u64(map_text, &map_mb) != FT_OK || map_mb < 1)) {
        edge_fail("map_size_mb must be a whole number of megabytes, not \"%s\"", map_text);
        return 1;
    }
    if (!map_text) {
        map_mb = 65536; /* 64 GiB: media chunks live here too (docs/media.md) */
    }
    devlog_opts_t opts = {.map_size = (size_t)map_mb << 20, .at_rest = true};
    if (fsutil_join(path, sizeof path, ctx->state, "db") != FT_OK) {
        return 1;
    }
    char data[4200];
    snprintf(data, sizeof data, "%s/data.mdb", path);
    if (!ctx->create_log && !fsutil_exists(data)) {
        edge_fail("the device log %s is missing although %s/device.key exists: the log may have "
                  "been removed. Do not re-initialise; report it to the office (Art. 24(2))",
                  path, ctx->state);
        return 1;
    }
    err = devlog_open(path, &ctx->keys, &opts, &ctx->log);
    if (err == FT_EKEY) {
        edge_fail("the log in %s belongs to a different device than %s/device.key", path,
                  ctx->state);
        return 1;
    }
    if (err == FT_ENOTFOUND) {
        edge_fail("the key file %s/%s is missing although the log holds entries encrypted under "
                  "it: they cannot be read. Do not re-initialise; report it to the office "
                  "(Art. 24(2))",
                  path, DEVLOG_KEYS_FILE);
        return 1;
    }
    if (err == FT_ECORRUPT) {
        edge_fail("cannot open the device log in %s: it or its key file %s is damaged. Do not "
                  "re-initialise; report it to the office (Art. 24(2))",
                  path, DEVLOG_KEYS_FILE);
        return 1;
    }
    if (err != FT_OK) {
        edge_fail("cannot open the device log in %s: %s", path, ft_strerror(err));
        return 1;
    }
    return 0;
}

void edge_close(edge_ctx_t *ctx)
{
    devlog_destroy(&ctx->log);
    config_destroy(&ctx->cfg);
    keys_wipe(&ctx->keys);
}
