/* cmd_init.c: `fieldtrail-hub init`: state directory, hub keys, hub.conf. */
#include "fsutil.h"
#include "hub.h"
#include "sync.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void init_usage(FILE *out)
{
    fprintf(out,
            "usage: fieldtrail-hub init [--state DIR] [--listen ENDPOINT] [--advertise HOST]\n"
            "                           [--json]\n\n"
            "Creates the state directory, the hub's keys (hub.key, mode 0600: signing,\n"
            "transport and archive pairs; hub.pub), hub.conf, the store and the hub's own\n"
            "log. Prints the hub's transport public key and the two lines every edge's\n"
            "edge.conf needs. --listen defaults to %s; --advertise is the host name\n"
            "edges reach the hub at (default: this machine's name).\n"
            "Refuses to overwrite existing keys.\n",
            HUB_DEFAULT_LISTEN);
}

/* The port of a tcp endpoint (".../host:7400" gives "7400"); "7400" if none. */
static const char *endpoint_port(const char *ep)
{
    const char *colon = strrchr(ep, ':');
    if (!colon || colon[1] == '\0' || colon[1] == '/') {
        return "7400";
    }
    return colon + 1;
}

int hub_cmd_init(int argc, char **argv)
{
    hub_ctx_t ctx = {0};
    const char *listen = NULL, *advertise = NULL;
    const cli_opt_t opts[] = {
        CLI_VALUE("listen", &listen),
        CLI_VALUE("advertise", &advertise),
        CLI_END,
    };
    int rc = hub_parse(&ctx, argc, argv, opts, init_usage);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (optind < argc) {
        init_usage(stderr);
        return 2;
    }
    if (!ctx.state) {
        ctx.state = HUB_DEFAULT_STATE;
    }
    if (!listen) {
        listen = HUB_DEFAULT_LISTEN;
    }
    if (strncmp(listen, "tcp://", 6) != 0 && strncmp(listen, "ipc://", 6) != 0) {
        hub_fail("--listen wants a ZeroMQ endpoint such as tcp://*:7400, not \"%s\"", listen);
        return 2;
    }
    char host[256];
    if (!advertise) {
        if (gethostname(host, sizeof host) != 0 || !host[0]) {
            snprintf(host, sizeof host, "HUB-HOST");
        }
        host[sizeof host - 1] = '\0';
        advertise = host;
    }
    char key_path[4096], pub_path[4096], conf_path[4096];
    if (fsutil_join(key_path, sizeof key_path, ctx.state, "hub.key") != FT_OK ||
        fsutil_join(pub_path, sizeof pub_path, ctx.state, "hub.pub") != FT_OK ||
        fsutil_join(conf_path, sizeof conf_path, ctx.state, "hub.conf") != FT_OK) {
        hub_fail("state directory path is too long");
        return 1;
    }
    if (fsutil_exists(key_path)) {
        hub_fail("%s already exists: this hub is already initialised (its keys are never "
                 "overwritten); `fieldtrail-hub status --state %s` shows it",
                 key_path, ctx.state);
        return 1;
    }
    int err = fsutil_mkdirs(ctx.state, 0700);
    if (err != FT_OK) {
        hub_fail("cannot create %s: %s", ctx.state, ft_strerror(err));
        return 1;
    }
    keys_t k;
    err = keys_generate(&k, true);
    if (err == FT_OK) {
        err = keys_save(&k, key_path);
    }
    if (err == FT_OK) {
        err = keys_save_public(&k, pub_path);
    }
    keys_wipe(&k);
    if (err != FT_OK) {
        hub_fail("cannot write keys in %s: %s", ctx.state, ft_strerror(err));
        return 1;
    }
    if (!fsutil_exists(conf_path)) {
        char conf[1024];
        int n =
            snprintf(conf, sizeof conf,
                     "# fieldtrail-hub settings; a command-line flag overrides each one.\n"
                     "listen = %s\n"
                     "advertise = %s\n"
                     "# sync.max_batch_entries = %d\n"
                     "# sync.max_batch_bytes = %u\n",
                     listen, advertise, HUB_DEFAULT_MAX_BATCH_ENTRIES, HUB_DEFAULT_MAX_BATCH_BYTES);
        err = fsutil_write_atomic(conf_path, conf, (size_t)n, 0600);
        if (err != FT_OK) {
            hub_fail("cannot write %s: %s", conf_path, ft_strerror(err));
            return 1;
        }
    }
    /* Creates the store and the hub log now, so the log's epoch is fixed. */
    if (hub_open(&ctx, true) != 0) {
        hub_close(&ctx);
        return 1;
    }
    char box_hex[65], sign_hex[65], archive_hex[65], id_text[DEVID_TEXT_SIZE];
    uint8_t id[DEVID_BYTES];
    hex_encode(ctx.keys.archive_pk, 32, archive_hex);
    hex_encode(ctx.keys.box_pk, 32, box_hex);
    hex_encode(ctx.keys.sign_pk, 32, sign_hex);
    devid_from_pk(ctx.keys.sign_pk, id);
    devid_format(id, id_text);
    const char *port = endpoint_port(listen);
    if (ctx.json) {
        char hub_line[600];
        snprintf(hub_line, sizeof hub_line, "tcp://%s:%s", advertise, port);
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "state", ctx.state, "listen",
                              listen, "hub", hub_line, "hub_key", box_hex, "archive_key",
                              archive_hex, "sign_public", sign_hex, "device_id", id_text);
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("initialised %s\n"
               "hub ID:              %s\n"
               "transport key:       %s\n"
               "receipt signing key: %s\n"
               "listens on:          %s\n\n"
               "Put these lines in every edge's edge.conf (or pass them to\n"
               "`fieldtrail-edge init --hub ... --hub-key ... --archive-key ...`):\n"
               "  hub = tcp://%s:%s\n"
               "  hub_key = %s\n"
               "  archive_key = %s\n\n"
               "Then enrol each edge: fieldtrail-hub enroll EDGE/device.pub --unit U --vehicle V\n"
               "and start the hub:    fieldtrail-hub run --state %s\n",
               ctx.state, id_text, box_hex, sign_hex, listen, advertise, port, box_hex, archive_hex,
               ctx.state);
    }
    hub_close(&ctx);
    return 0;
}
