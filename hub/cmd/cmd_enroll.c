/* cmd_enroll.c: `enroll` and `revoke`: which devices the hub admits.
 *
 * The rules and the order of writes (the hub's own log first, the store
 * second) are hub/devices' (devices.h), shared with the dashboard; this file
 * reads the command line and the device.pub file and words the outcome for
 * an operator.
 */
#include "devices.h"
#include "hub.h"

#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Who is running this command, for the `by` of an Enrolment. */
static const char *operator_name(void)
{
    const char *u = getenv("USER");
    if (u && *u) {
        return u;
    }
    struct passwd *pw = getpwuid(getuid());
    return pw ? pw->pw_name : "unknown";
}

static void enroll_usage(FILE *out)
{
    fprintf(out,
            "usage: fieldtrail-hub enroll EDGE/device.pub --unit UNIT --vehicle VEHICLE\n"
            "       fieldtrail-hub enroll --sign-key HEX --transport-key HEX --unit U --vehicle V\n"
            "       [--state DIR] [--json]\n\n"
            "Registers a device's public keys (the device.pub that `fieldtrail-edge init`\n"
            "wrote, or the two keys it printed) with its unit and vehicle. From then on\n"
            "the hub admits its connections and accepts entries it signed. Enrolling the\n"
            "same keys again only updates unit and vehicle. A revoked device cannot be\n"
            "enrolled again: initialise the unit anew and enrol the new keys.\n");
}

/* Reads sign and transport keys from a device.pub file. 0 or exit code. */
static int read_pub(const char *path, uint8_t sign[32], uint8_t box[32])
{
    config_t *cfg = NULL;
    char err[512] = "";
    if (config_load(path, NULL, &cfg, err, sizeof err) != FT_OK) {
        hub_fail("%s", err[0] ? err : "cannot read the public key file");
        return 1;
    }
    const char *s = config_get(cfg, "sign_public");
    const char *b = config_get(cfg, "transport_public");
    const char *id_text = config_get(cfg, "device_id");
    int rc = 0;
    if (!s || !b || hex_decode(s, sign, 32) != FT_OK || hex_decode(b, box, 32) != FT_OK) {
        hub_fail("%s is not a device.pub: it needs sign_public and transport_public lines of "
                 "64 hex characters",
                 path);
        rc = 1;
    } else if (id_text) {
        if (devices_check_id(sign, id_text) != FT_OK) {
            hub_fail("%s: device_id does not match its sign_public key; the file was edited "
                     "or damaged, ask for a fresh copy",
                     path);
            rc = 1;
        }
    }
    config_destroy(&cfg);
    return rc;
}

int hub_cmd_enroll(int argc, char **argv)
{
    hub_ctx_t ctx = {0};
    const char *unit = NULL, *vehicle = NULL, *sign_hex = NULL, *box_hex = NULL;
    const cli_opt_t opts[] = {
        CLI_VALUE("unit", &unit),
        CLI_VALUE("vehicle", &vehicle),
        CLI_VALUE("sign-key", &sign_hex),
        CLI_VALUE("transport-key", &box_hex),
        CLI_END,
    };
    int rc = hub_parse(&ctx, argc, argv, opts, enroll_usage);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    int n_pos = argc - optind;
    bool by_file = n_pos == 1 && !sign_hex && !box_hex;
    bool by_keys = n_pos == 0 && sign_hex && box_hex;
    if ((!by_file && !by_keys) || !unit || !vehicle) {
        enroll_usage(stderr);
        return 2;
    }
    char why[200];
    if (devices_check_names(unit, vehicle, why, sizeof why) != FT_OK) {
        hub_fail("%s", why);
        return 2;
    }
    devices_enrol_t req = {.unit = unit, .vehicle = vehicle, .by = operator_name()};
    if (by_file) {
        rc = read_pub(argv[optind], req.sign_pk, req.transport_pk);
        if (rc != 0) {
            return rc;
        }
    } else if (hex_decode(sign_hex, req.sign_pk, 32) != FT_OK ||
               hex_decode(box_hex, req.transport_pk, 32) != FT_OK) {
        hub_fail("--sign-key and --transport-key want the 64-character hex keys that "
                 "`fieldtrail-edge init` printed");
        return 2;
    }
    uint8_t dev[DEVID_BYTES];
    char id[DEVID_TEXT_SIZE];
    devid_from_pk(req.sign_pk, dev);
    devid_format(dev, id);

    if (hub_open(&ctx, true) != 0) {
        hub_close(&ctx);
        return 1;
    }
    devices_outcome_t out;
    int err = devices_enrol(hub_parts(&ctx), &req, NULL, NULL, &out);
    hub_close(&ctx);
    if (err == FT_EREVOKED) {
        hub_fail("device %s was revoked and cannot be enrolled again; initialise the "
                 "unit anew (new keys) and enrol those",
                 id);
        return 1;
    }
    if (err == FT_EDUP) {
        hub_fail("device %s is already enrolled with a different transport key; if the "
                 "unit was re-initialised, revoke the old device and enrol the new one",
                 id);
        return 1;
    }
    if (err == FT_EEXIST) {
        char other[DEVID_TEXT_SIZE];
        devid_format(out.other_device, other);
        hub_fail("transport key already belongs to device %s; every device needs its own "
                 "keys",
                 other);
        return 1;
    }
    if (err != FT_OK) {
        hub_fail("cannot enrol device %s: %s", id, ft_strerror(err));
        return 1;
    }
    const store_device_t *d = &out.device;
    const char *what = devices_result_name(out.result);
    if (ctx.json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "device_id", id, "unit", d->unit, "vehicle",
                              d->vehicle, "result", what);
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("%s device %s (unit %s, vehicle %s)\n", what, id, d->unit, d->vehicle);
    }
    return 0;
}

static void revoke_usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-hub revoke DEVICE_ID [--state DIR] [--json]\n\n"
                 "Revokes an enrolled device (ID as `devices` shows it, e.g.\n"
                 "K7Q2-MX9P-D4TR-HW58-NBC3). Its next handshake is refused and, if it is\n"
                 "connected now, its next batch is refused. What the hub already holds from\n"
                 "it stays. Revocation is final.\n");
}

int hub_cmd_revoke(int argc, char **argv)
{
    hub_ctx_t ctx = {0};
    const char *pos[1];
    int n_pos = 0;
    int rc = hub_parse_simple(&ctx, argc, argv, revoke_usage, pos, 1, &n_pos);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (n_pos != 1) {
        revoke_usage(stderr);
        return 2;
    }
    uint8_t dev[DEVID_BYTES];
    if (devid_parse(pos[0], dev) != FT_OK) {
        hub_fail("\"%s\" is not a device ID (20 characters in groups of 4; a mistyped "
                 "character fails the checksum): copy it from `fieldtrail-hub devices`",
                 pos[0]);
        return 2;
    }
    char id[DEVID_TEXT_SIZE];
    devid_format(dev, id);
    if (hub_open(&ctx, true) != 0) {
        hub_close(&ctx);
        return 1;
    }
    devices_outcome_t out;
    int err = devices_revoke(hub_parts(&ctx), dev, operator_name(), NULL, NULL, &out);
    hub_close(&ctx);
    if (err == FT_ENOTFOUND) {
        hub_fail("device %s is not enrolled here", id);
        return 1;
    }
    if (err != FT_OK) {
        hub_fail("cannot revoke device %s: %s", id, ft_strerror(err));
        return 1;
    }
    const char *what = devices_result_name(out.result);
    if (ctx.json) {
        json_t *o = json_pack("{s:s, s:s}", "device_id", id, "result", what);
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("%s device %s (unit %s, vehicle %s): its connections and batches are refused "
               "from now on\n",
               what, id, out.device.unit, out.device.vehicle);
    }
    return 0;
}
