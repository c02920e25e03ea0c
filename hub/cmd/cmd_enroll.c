/* cmd_enroll.c: `enroll` and `revoke`: which devices the hub admits.
 *
 * Both write the change to the hub's own signed log (an Enrolment body)
 * first and to the store second, so nothing takes effect unrecorded; if the
 * store write fails after the log append, running the command again records
 * it again (a repeat in the log is harmless, a missing record is not).
 */
#include "hlc.h"
#include "hub.h"
#include "utf8.h"

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

/* Appends an Enrolment body for d to the hub's log. */
static int log_enrolment(hub_ctx_t *ctx, const store_device_t *d)
{
    Ft__Enrolment e = FT__ENROLMENT__INIT;
    e.device.data = (uint8_t *)d->device;
    e.device.len = DEVID_BYTES;
    e.revoked = d->revoked;
    e.has_sign_pk = 1;
    e.sign_pk.data = (uint8_t *)d->sign_pk;
    e.sign_pk.len = 32;
    e.has_transport_pk = 1;
    e.transport_pk.data = (uint8_t *)d->transport_pk;
    e.transport_pk.len = 32;
    e.unit = (char *)d->unit;
    e.vehicle = (char *)d->vehicle;
    e.by = (char *)operator_name();
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_ENROLMENT;
    body.enrolment = &e;
    return devlog_append1(ctx->hublog, &body, NULL);
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
        uint8_t want[DEVID_BYTES], got[DEVID_BYTES];
        devid_from_pk(sign, got);
        if (devid_parse(id_text, want) != FT_OK || memcmp(want, got, DEVID_BYTES) != 0) {
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
    if (strlen(unit) >= STORE_NAME_MAX || strlen(vehicle) >= STORE_NAME_MAX) {
        hub_fail("unit and vehicle names must be shorter than %d bytes", STORE_NAME_MAX);
        return 2;
    }
    if (!utf8_valid_str(unit) || !utf8_valid_str(vehicle)) {
        hub_fail("unit and vehicle names must be UTF-8 text (is the terminal set to another "
                 "encoding, such as GBK?)");
        return 2;
    }
    store_device_t d = {0};
    if (by_file) {
        rc = read_pub(argv[optind], d.sign_pk, d.transport_pk);
        if (rc != 0) {
            return rc;
        }
    } else if (hex_decode(sign_hex, d.sign_pk, 32) != FT_OK ||
               hex_decode(box_hex, d.transport_pk, 32) != FT_OK) {
        hub_fail("--sign-key and --transport-key want the 64-character hex keys that "
                 "`fieldtrail-edge init` printed");
        return 2;
    }
    devid_from_pk(d.sign_pk, d.device);
    utf8_copy(d.unit, sizeof d.unit, unit);
    utf8_copy(d.vehicle, sizeof d.vehicle, vehicle);
    char id[DEVID_TEXT_SIZE];
    devid_format(d.device, id);

    if (hub_open(&ctx, true) != 0) {
        hub_close(&ctx);
        return 1;
    }
    store_txn_t *t = NULL;
    store_device_t old;
    int err = store_begin(ctx.store, true, &t);
    int status = 1;
    const char *what = "enrolled";
    if (err == FT_OK) {
        err = store_device_get(t, d.device, &old);
    }
    if (err == FT_OK) {
        if (old.revoked) {
            hub_fail("device %s was revoked and cannot be enrolled again; initialise the "
                     "unit anew (new keys) and enrol those",
                     id);
            goto out;
        }
        if (memcmp(old.transport_pk, d.transport_pk, 32) != 0) {
            hub_fail("device %s is already enrolled with a different transport key; if the "
                     "unit was re-initialised, revoke the old device and enrol the new one",
                     id);
            goto out;
        }
        if (strcmp(old.unit, d.unit) == 0 && strcmp(old.vehicle, d.vehicle) == 0) {
            what = "already enrolled";
            status = 0;
            d = old;
            goto print;
        }
        d.enrolled_ms = old.enrolled_ms;
        what = "updated";
    } else if (err == FT_ENOTFOUND) {
        d.enrolled_ms = (int64_t)hlc_wall_ms();
        err = FT_OK;
    }
    uint8_t owner[DEVID_BYTES];
    if (err == FT_OK) {
        err = store_device_by_transport(t, d.transport_pk, owner);
        if (err == FT_OK && memcmp(owner, d.device, DEVID_BYTES) != 0) {
            char other[DEVID_TEXT_SIZE];
            devid_format(owner, other);
            hub_fail("transport key already belongs to device %s; every device needs its own "
                     "keys",
                     other);
            goto out;
        }
        if (err == FT_ENOTFOUND) {
            err = FT_OK;
        }
    }
    if (err == FT_OK) {
        err = log_enrolment(&ctx, &d);
    }
    if (err == FT_OK) {
        err = store_device_put(t, &d);
    }
    if (err == FT_OK) {
        err = store_commit(&t);
    }
    if (err != FT_OK) {
        hub_fail("cannot enrol device %s: %s", id, ft_strerror(err));
        goto out;
    }
    status = 0;
print:
    if (ctx.json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "device_id", id, "unit", d.unit, "vehicle",
                              d.vehicle, "result", what);
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("%s device %s (unit %s, vehicle %s)\n", what, id, d.unit, d.vehicle);
    }
out:
    store_abort(&t);
    hub_close(&ctx);
    return status;
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
    store_txn_t *t = NULL;
    store_device_t d;
    int status = 1;
    const char *what = "revoked";
    int err = store_begin(ctx.store, true, &t);
    if (err == FT_OK) {
        err = store_device_get(t, dev, &d);
    }
    if (err == FT_ENOTFOUND) {
        hub_fail("device %s is not enrolled here", id);
        goto out;
    }
    if (err == FT_OK && d.revoked) {
        what = "already revoked";
        status = 0;
        goto print;
    }
    if (err == FT_OK) {
        d.revoked = true;
        d.revoked_ms = (int64_t)hlc_wall_ms();
        err = log_enrolment(&ctx, &d);
    }
    if (err == FT_OK) {
        err = store_device_put(t, &d);
    }
    if (err == FT_OK) {
        err = store_commit(&t);
    }
    if (err != FT_OK) {
        hub_fail("cannot revoke device %s: %s", id, ft_strerror(err));
        goto out;
    }
    status = 0;
print:
    if (ctx.json) {
        json_t *o = json_pack("{s:s, s:s}", "device_id", id, "result", what);
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("%s device %s (unit %s, vehicle %s): its connections and batches are refused "
               "from now on\n",
               what, id, d.unit, d.vehicle);
    }
out:
    store_abort(&t);
    hub_close(&ctx);
    return status;
}
