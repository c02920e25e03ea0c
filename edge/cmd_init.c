/* cmd_init.c: `fieldtrail-edge init`: state directory, keys, config. */
#include "edge.h"
#include "fsutil.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void init_usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-edge init [--state DIR] [--unit NAME] [--vehicle NAME]\n"
                 "                            [--hub tcp://HOST:PORT] [--hub-key HEX]\n"
                 "                            [--archive-key HEX] [--json]\n\n"
                 "Creates the state directory, the device's signing and transport keys\n"
                 "(device.key, mode 0600; device.pub to hand to the hub) and edge.conf.\n"
                 "Prints the device ID and the public keys to enrol at the hub.\n"
                 "Refuses to overwrite existing keys.\n");
}

int edge_cmd_init(int argc, char **argv)
{
    edge_ctx_t ctx = {0};
    const char *unit = NULL, *vehicle = NULL, *hub = NULL, *hub_key = NULL, *archive_key = NULL;
    const cli_opt_t opts[] = {
        CLI_VALUE("unit", &unit),
        CLI_VALUE("vehicle", &vehicle),
        CLI_VALUE("hub", &hub),
        CLI_VALUE("hub-key", &hub_key),
        CLI_VALUE("archive-key", &archive_key),
        CLI_END,
    };
    int rc = edge_parse(&ctx, argc, argv, opts, init_usage);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (optind < argc) {
        init_usage(stderr);
        return 2;
    }
    if (!ctx.state) {
        ctx.state = EDGE_DEFAULT_STATE;
    }
    uint8_t archive_bin[32];
    if (archive_key && hex_decode(archive_key, archive_bin, sizeof archive_bin) != FT_OK) {
        edge_fail("--archive-key must be the hub's 64-character hex archive key "
                  "(printed by `fieldtrail-hub init`)");
        return 2;
    }
    uint8_t hub_key_bin[32];
    if (hub_key && hex_decode(hub_key, hub_key_bin, sizeof hub_key_bin) != FT_OK) {
        edge_fail("--hub-key must be the hub's 64-character hex transport key "
                  "(printed by `fieldtrail-hub init`)");
        return 2;
    }
    char key_path[4096], pub_path[4096], conf_path[4096];
    if (fsutil_join(key_path, sizeof key_path, ctx.state, "device.key") != FT_OK ||
        fsutil_join(pub_path, sizeof pub_path, ctx.state, "device.pub") != FT_OK ||
        fsutil_join(conf_path, sizeof conf_path, ctx.state, "edge.conf") != FT_OK) {
        edge_fail("state directory path is too long");
        return 1;
    }
    if (fsutil_exists(key_path)) {
        edge_fail("%s already exists: this state directory is already initialised "
                  "(its keys are never overwritten)",
                  key_path);
        return 1;
    }
    int err = fsutil_mkdirs(ctx.state, 0700);
    if (err != FT_OK) {
        edge_fail("cannot create %s: %s", ctx.state, ft_strerror(err));
        return 1;
    }
    keys_t k;
    err = keys_generate(&k, false);
    if (err == FT_OK) {
        err = keys_save(&k, key_path);
    }
    if (err == FT_OK) {
        err = keys_save_public(&k, pub_path);
    }
    if (err != FT_OK) {
        keys_wipe(&k);
        edge_fail("cannot write keys in %s: %s", ctx.state, ft_strerror(err));
        return 1;
    }
    if (fsutil_exists(conf_path) && (unit || vehicle || hub || hub_key || archive_key)) {
        fprintf(stderr,
                "fieldtrail-edge: note: %s already exists and is kept as it is; the --unit, "
                "--vehicle, --hub, --hub-key and --archive-key given here were not written to "
                "it (edit the file)\n",
                conf_path);
    } else if (!fsutil_exists(conf_path)) {
        char conf[2048];
        int n = snprintf(
            conf, sizeof conf,
            "# fieldtrail-edge settings; a command-line flag overrides each one.\n"
            "%s%s\n%s%s\n%s%s\n%s%s\n%s%s\n",
            hub ? "hub = " : "# hub = tcp://HUB-HOST:7400", hub ? hub : "",
            hub_key ? "hub_key = " : "# hub_key = (hub transport key, hex)", hub_key ? hub_key : "",
            archive_key ? "archive_key = " : "# archive_key = (hub archive key, hex)",
            archive_key ? archive_key : "", unit ? "unit = " : "# unit = ", unit ? unit : "",
            vehicle ? "vehicle = " : "# vehicle = ", vehicle ? vehicle : "");
        err = fsutil_write_atomic(conf_path, conf, (size_t)n, 0644);
        if (err != FT_OK) {
            keys_wipe(&k);
            edge_fail("cannot write %s: %s", conf_path, ft_strerror(err));
            return 1;
        }
    }
    /* Creates the log now so that the epoch is fixed at initialisation. */
    ctx.create_log = true;
    if (edge_open(&ctx) != 0) {
        keys_wipe(&k);
        edge_close(&ctx);
        return 1;
    }
    uint8_t id[DEVID_BYTES];
    char id_text[DEVID_TEXT_SIZE], sign_hex[65], box_hex[65];
    devid_from_pk(k.sign_pk, id);
    devid_format(id, id_text);
    hex_encode(k.sign_pk, 32, sign_hex);
    hex_encode(k.box_pk, 32, box_hex);
    if (ctx.json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I}", "device_id", id_text, "sign_public",
                              sign_hex, "transport_public", box_hex, "state", ctx.state, "epoch",
                              (json_int_t)devlog_epoch(ctx.log));
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("initialised %s\n"
               "device ID:         %s\n"
               "signing key:       %s\n"
               "transport key:     %s\n\n"
               "Enrol this device at the hub (staff run this there):\n"
               "  fieldtrail-hub enroll %s/device.pub --unit UNIT --vehicle VEHICLE\n",
               ctx.state, id_text, sign_hex, box_hex, ctx.state);
    }
    keys_wipe(&k);
    edge_close(&ctx);
    return 0;
}
