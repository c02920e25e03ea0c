/* devices.c: enrolment and revocation (see devices.h for the rules and the
 * order of writes).
 *
 * Both run one store write transaction: read the enrolment, check, call
 * `before`, append the Enrolment to the hub log (its own transaction,
 * committed), put the row, commit the store. Every early return aborts the
 * store transaction, so a refused change leaves store and log as they were.
 */
#include "devices.h"
#include "hlc.h"
#include "utf8.h"

#include <stdio.h>
#include <string.h>

int devices_check_names(const char *unit, const char *vehicle, char *why, size_t why_len)
{
    const char *msg = NULL;
    char buf[128];
    if (!unit || !*unit || !vehicle || !*vehicle) {
        msg = "a unit and a vehicle are needed";
    } else if (strlen(unit) >= STORE_NAME_MAX || strlen(vehicle) >= STORE_NAME_MAX) {
        snprintf(buf, sizeof buf, "unit and vehicle names must be shorter than %d bytes",
                 STORE_NAME_MAX);
        msg = buf;
    } else if (!utf8_valid_str(unit) || !utf8_valid_str(vehicle)) {
        msg = "unit and vehicle names must be UTF-8 text (is the terminal set to another "
              "encoding, such as GBK?)";
    }
    if (!msg) {
        return FT_OK;
    }
    if (why && why_len) {
        snprintf(why, why_len, "%s", msg);
    }
    return FT_EINVAL;
}

int devices_check_id(const uint8_t sign_pk[32], const char *id_text)
{
    uint8_t want[DEVID_BYTES], got[DEVID_BYTES];
    devid_from_pk(sign_pk, got);
    if (!id_text || devid_parse(id_text, want) != FT_OK || memcmp(want, got, DEVID_BYTES) != 0) {
        return FT_EINVAL;
    }
    return FT_OK;
}

const char *devices_result_name(devices_result r)
{
    switch (r) {
    case DEVICES_ENROLLED:
        return "enrolled";
    case DEVICES_UPDATED:
        return "updated";
    case DEVICES_UNCHANGED:
        return "already enrolled";
    case DEVICES_REVOKED:
        return "revoked";
    case DEVICES_ALREADY_REVOKED:
        return "already revoked";
    }
    return "?";
}

/* Appends the Enrolment body of d to the hub's log. */
static int log_enrolment(devlog_t *hublog, const store_device_t *d, const char *by)
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
    e.by = (char *)(by ? by : "");
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_ENROLMENT;
    body.enrolment = &e;
    return devlog_append1(hublog, &body, NULL);
}

/* before, the log, the row, the commit: the common end of both changes. */
static int write_change(const hub_parts_t *hub, store_txn_t **t, const store_device_t *d,
                        const char *by, devices_before_fn before, void *ctx)
{
    int err = before ? before(ctx, d) : FT_OK;
    if (err == FT_OK) {
        err = log_enrolment(hub->hublog, d, by);
    }
    if (err == FT_OK) {
        err = store_device_put(*t, d);
    }
    if (err == FT_OK) {
        err = store_commit(t);
    }
    return err;
}

int devices_enrol(const hub_parts_t *hub, const devices_enrol_t *req, devices_before_fn before,
                  void *ctx, devices_outcome_t *out)
{
    memset(out, 0, sizeof *out);
    int err = devices_check_names(req->unit, req->vehicle, NULL, 0);
    if (err != FT_OK || !hub->hublog) {
        return FT_EINVAL;
    }
    store_device_t d = {0};
    memcpy(d.sign_pk, req->sign_pk, 32);
    memcpy(d.transport_pk, req->transport_pk, 32);
    devid_from_pk(d.sign_pk, d.device);
    utf8_copy(d.unit, sizeof d.unit, req->unit);
    utf8_copy(d.vehicle, sizeof d.vehicle, req->vehicle);
    store_txn_t *t = NULL;
    store_device_t old;
    err = store_begin(hub->store, true, &t);
    if (err == FT_OK) {
        err = store_device_get(t, d.device, &old);
    }
    if (err == FT_OK) {
        if (old.revoked) {
            err = FT_EREVOKED;
        } else if (memcmp(old.transport_pk, d.transport_pk, 32) != 0) {
            err = FT_EDUP;
        } else if (strcmp(old.unit, d.unit) == 0 && strcmp(old.vehicle, d.vehicle) == 0) {
            out->result = DEVICES_UNCHANGED;
            out->device = old;
            store_abort(&t);
            return FT_OK;
        } else {
            d.enrolled_ms = old.enrolled_ms;
            out->result = DEVICES_UPDATED;
        }
    } else if (err == FT_ENOTFOUND) {
        d.enrolled_ms = (int64_t)hlc_wall_ms();
        out->result = DEVICES_ENROLLED;
        err = FT_OK;
    }
    if (err == FT_OK) {
        uint8_t owner[DEVID_BYTES];
        err = store_device_by_transport(t, d.transport_pk, owner);
        if (err == FT_OK && memcmp(owner, d.device, DEVID_BYTES) != 0) {
            memcpy(out->other_device, owner, DEVID_BYTES);
            err = FT_EEXIST;
        } else if (err == FT_ENOTFOUND) {
            err = FT_OK;
        }
    }
    if (err == FT_OK) {
        err = write_change(hub, &t, &d, req->by, before, ctx);
    }
    store_abort(&t);
    if (err == FT_OK) {
        out->device = d;
    }
    return err;
}

int devices_revoke(const hub_parts_t *hub, const uint8_t device[DEVID_BYTES], const char *by,
                   devices_before_fn before, void *ctx, devices_outcome_t *out)
{
    memset(out, 0, sizeof *out);
    if (!hub->hublog) {
        return FT_EINVAL;
    }
    store_txn_t *t = NULL;
    store_device_t d;
    int err = store_begin(hub->store, true, &t);
    if (err == FT_OK) {
        err = store_device_get(t, device, &d);
    }
    if (err == FT_OK && d.revoked) {
        out->result = DEVICES_ALREADY_REVOKED;
        out->device = d;
        store_abort(&t);
        return FT_OK;
    }
    if (err == FT_OK) {
        d.revoked = true;
        d.revoked_ms = (int64_t)hlc_wall_ms();
        err = write_change(hub, &t, &d, by, before, ctx);
    }
    store_abort(&t);
    if (err == FT_OK) {
        out->result = DEVICES_REVOKED;
        out->device = d;
    }
    return err;
}
