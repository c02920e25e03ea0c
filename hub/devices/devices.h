/* devices.h: which devices the hub admits: enrolment and revocation.
 *
 * The one implementation that the command line (`fieldtrail-hub enroll`,
 * `revoke`: hub/cmd/cmd_enroll.c) and the dashboard (POST /api/devices,
 * POST /api/devices/ID/revoke: hub/web/api/api_sync.c) share; each caller
 * only reads its input and words the answer.
 *
 * Rules:
 *   - a device is its signing key (its ID is derived from it, devid.h); it
 *     is enrolled with its transport key, a unit and a vehicle (non-empty
 *     UTF-8, shorter than STORE_NAME_MAX bytes);
 *   - enrolling the same keys again only updates unit and vehicle; with
 *     the same unit and vehicle it changes nothing and writes nothing
 *     (DEVICES_UNCHANGED);
 *   - a transport key belongs to one device (FT_EEXIST names the other);
 *     a device keeps its transport key (FT_EDUP: revoke it and enrol the
 *     re-initialised unit's new keys);
 *   - revocation is final: a revoked device cannot be enrolled again
 *     (FT_EREVOKED); revoking it again changes nothing.
 *
 * Order of writes: every change is appended to the hub's own signed log (an
 * Enrolment body: device, keys, unit, vehicle, revoked, by) first, inside
 * the store's write transaction, and the store commits second, so nothing
 * takes effect unrecorded; if the store commit fails after the append, doing
 * it again records it again (a repeat in the log is harmless, a missing
 * record is not). A caller that records more (the dashboard's audit entry)
 * does it in `before`, called once every check has passed and before the
 * append; its failure refuses the change and nothing is written.
 */
#ifndef FT_HUB_DEVICES_H
#define FT_HUB_DEVICES_H

#include "error.h"
#include "hubparts.h"
#include "keys.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

/* An enrolment asked for. */
typedef struct {
    uint8_t sign_pk[32];      /* the device's signing key (its ID) */
    uint8_t transport_pk[32]; /* its CurveZMQ key */
    const char *unit;         /* enforcement unit */
    const char *vehicle;      /* vehicle */
    const char *by;           /* who, for the log: the operator, or "web:USER" */
} devices_enrol_t;

typedef enum {
    DEVICES_ENROLLED,       /* newly enrolled */
    DEVICES_UPDATED,        /* unit or vehicle changed */
    DEVICES_UNCHANGED,      /* enrolled already, the same: nothing written */
    DEVICES_REVOKED,        /* revoked now */
    DEVICES_ALREADY_REVOKED /* revoked before: nothing written */
} devices_result;

/* What happened. */
typedef struct {
    devices_result result;
    store_device_t device;             /* the device as it is enrolled now */
    uint8_t other_device[DEVID_BYTES]; /* FT_EEXIST: the device the transport key is of */
} devices_outcome_t;

/* Called with the device as it will be stored, after every check and
 * before anything is written; anything but FT_OK refuses the change and is
 * returned. */
typedef int (*devices_before_fn)(void *ctx, const store_device_t *d);

/* Checks unit and vehicle (non-empty, shorter than STORE_NAME_MAX bytes,
 * valid UTF-8): FT_OK, or FT_EINVAL with the reason (a sentence) in why. */
int devices_check_names(const char *unit, const char *vehicle, char *why,
                        size_t why_len) FT_MUST_CHECK;
/* FT_OK if id_text (as device.pub's device_id or `devices` shows it) names
 * the device of sign_pk; FT_EINVAL if it does not parse or names another
 * (the file was edited or damaged). */
int devices_check_id(const uint8_t sign_pk[32], const char *id_text) FT_MUST_CHECK;

/* Enrols (or updates) a device in hub->store, recorded in hub->hublog.
 * before may be NULL. FT_OK (out->result ENROLLED, UPDATED or UNCHANGED);
 * FT_EINVAL (names: devices_check_names; or no hub log); FT_EREVOKED;
 * FT_EDUP (enrolled with another transport key); FT_EEXIST (the transport
 * key is out->other_device's); before's error; the store's or the log's. */
int devices_enrol(const hub_parts_t *hub, const devices_enrol_t *req, devices_before_fn before,
                  void *ctx, devices_outcome_t *out) FT_MUST_CHECK;
/* Revokes device; by as for devices_enrol. FT_OK (REVOKED or
 * ALREADY_REVOKED); FT_ENOTFOUND (not enrolled); FT_EINVAL (no hub log);
 * before's error; the store's or the log's. */
int devices_revoke(const hub_parts_t *hub, const uint8_t device[DEVID_BYTES], const char *by,
                   devices_before_fn before, void *ctx, devices_outcome_t *out) FT_MUST_CHECK;

/* "enrolled", "updated", "already enrolled", "revoked", "already revoked". */
const char *devices_result_name(devices_result r);

#endif
