/* pverify.h: THIS is where a provincial node re-verifies what the county
 * hubs forwarded (docs/province.md "Verify"). It trusts no county: every
 * entry's signature is checked again with the same code the hub runs
 * (entry_check, common/entry.c), against the signing key of its device's
 * enrolment, which is itself an entry of the county hub's own log, signed by
 * the county hub's key that the province registered.
 *
 * Pure: no storage. The caller (pgverify.c reads PostgreSQL) feeds, per
 * county:
 *   pverify_county      the county and its hub's registered signing key;
 *   pverify_hublog      the county hub's own log, in (epoch, seq) order:
 *                       checked against the hub key (signature, dense seq,
 *                       chain); its Enrolment entries give the devices' keys
 *                       and units (the last one of a device wins; a revoked
 *                       device's earlier entries still verify);
 *   pverify_entry       the devices' entries, in (device, epoch, seq) order:
 *                       checked against the enrolled key;
 *   pverify_end         closes the county.
 * Every bad entry is reported (callback), not only the first: after a bad
 * entry the walk takes the next entry's link as it stands, so one altered
 * entry is reported once, by its own position, not again as a broken chain
 * after it. The position stored beside the bytes (the row's device, epoch,
 * seq) must be the one the signed bytes claim.
 */
#ifndef FT_PVERIFY_H
#define FT_PVERIFY_H

#include "entry.h"
#include "error.h"
#include "keys.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PVERIFY_NAME_MAX 256
#define PVERIFY_TEXT_MAX 512

/* Reasons (tokens; the same words as the hub's integrity reasons where they
 * mean the same, hub/store/verify.h). */
#define PVERIFY_BAD_SIGNATURE "bad_signature"
#define PVERIFY_BROKEN_CHAIN "broken_chain"
#define PVERIFY_MISSING_SEQ "missing_seq"
#define PVERIFY_MALFORMED "malformed"
#define PVERIFY_MISPLACED "misplaced"
#define PVERIFY_UNENROLLED "unenrolled_signer"
/* rows the county forwarded (its checkpoint says so) that are not there */
#define PVERIFY_MISSING_ROWS "missing_rows"

/* One bad entry. */
typedef struct {
    const char *county;          /* the county it was forwarded by */
    bool hub_log;                /* an entry of the county hub's own log */
    bool county_wide;            /* about the county's rows, no one device (device zero) */
    uint8_t device[DEVID_BYTES]; /* its device (the county hub's for hub_log) */
    uint64_t epoch, seq;         /* its position (as stored beside it) */
    const char *reason;          /* PVERIFY_* */
    char detail[PVERIFY_TEXT_MAX];
} pverify_bad_t;

typedef void (*pverify_report_fn)(void *ctx, const pverify_bad_t *b);

/* An enrolled device as the county hub's log says. */
typedef struct {
    uint8_t device[DEVID_BYTES];
    uint8_t sign_pk[32];
    char unit[PVERIFY_NAME_MAX];
    char vehicle[PVERIFY_NAME_MAX];
    bool revoked;
} pverify_device_t;

typedef struct pverify_t pverify_t;

int pverify_new(pverify_report_fn report, void *ctx, pverify_t **out) FT_MUST_CHECK;
void pverify_destroy(pverify_t **pv_p);

/* Starts a county (ends the one before). FT_OK or FT_ENOMEM. */
int pverify_county(pverify_t *pv, const char *county, const uint8_t hub_sign_pk[32]) FT_MUST_CHECK;
/* One entry of the county hub's log (stored at epoch, seq). FT_OK (judged,
 * a bad one reported) or FT_ENOMEM. */
int pverify_hublog(pverify_t *pv, uint64_t epoch, uint64_t seq, const uint8_t *raw,
                   size_t len) FT_MUST_CHECK;
/* One device entry (stored at device, epoch, seq). FT_OK or FT_ENOMEM. */
int pverify_entry(pverify_t *pv, const uint8_t device[DEVID_BYTES], uint64_t epoch, uint64_t seq,
                  const uint8_t *raw, size_t len) FT_MUST_CHECK;
/* pverify_entry that hands the entry back when it verified: *ok true and
 * *v open (the caller frees it with entry_view_free); else *ok false and
 * nothing to free. */
int pverify_entry_view(pverify_t *pv, const uint8_t device[DEVID_BYTES], uint64_t epoch,
                       uint64_t seq, const uint8_t *raw, size_t len, entry_view_t *v,
                       bool *ok) FT_MUST_CHECK;
/* The walk of device's epoch starts after an entry already verified (seq,
 * its hash) instead of at seq 1: for the gap engine, which takes in only
 * what is new (pgengine.c). Given after pverify_county, before the walk. */
int pverify_resume(pverify_t *pv, const uint8_t device[DEVID_BYTES], uint64_t epoch, uint64_t seq,
                   const uint8_t hash[ENTRY_HASH_BYTES]) FT_MUST_CHECK;

/* Ends the county (closes its last walk). */
int pverify_end(pverify_t *pv) FT_MUST_CHECK;

/* The county's enrolment of device (after its hub log was fed), or NULL. */
const pverify_device_t *pverify_device(const pverify_t *pv, const uint8_t device[DEVID_BYTES]);

/* A clock offset the county's gap engine applied to a device's entries
 * from an arrival number on: a ClockOffset entry of the county hub's log
 * that verified (proto/entry.proto; docs/province.md "Clock offsets"). */
typedef struct {
    uint8_t device[DEVID_BYTES];
    int64_t offset_ms;           /* hub minus device clock */
    uint64_t from_arrival;       /* the county's arrival number it applies from */
    uint64_t hub_epoch, hub_seq; /* its place in the county hub's log */
} pverify_clock_t;
/* The county's clock offsets so far, in hub-log order (n of them). */
const pverify_clock_t *pverify_clocks(const pverify_t *pv, size_t *n);
/* The offset the county applied to device's entry of arrival number
 * arrival: that of the device's last clock offset in hub-log order whose
 * from_arrival is at most arrival; 0 if none. */
int64_t pverify_clock_offset(const pverify_t *pv, const uint8_t device[DEVID_BYTES],
                             uint64_t arrival);

/* A supervisor's justification of an alert: a `justification` record of the
 * county hub's log that verified (entered at the county's dashboard;
 * docs/alerts.md), as the county's engine applies it. */
typedef struct {
    char alert[17];                /* the alert ID it names, lower-case hex */
    char by[PVERIFY_NAME_MAX];     /* its officer (the dashboard's user) */
    char reason[PVERIFY_TEXT_MAX]; /* its `reason` */
    uint64_t hub_epoch, hub_seq;   /* its place in the county hub's log */
} pverify_justification_t;
/* The county's justifications so far, in hub-log order (n of them). */
const pverify_justification_t *pverify_justifications(const pverify_t *pv, size_t *n);
/* Where the walk of the county hub's log ended: its epoch and the last seq
 * judged (0 if none). */
uint64_t pverify_hublog_last(const pverify_t *pv, uint64_t *epoch);
/* Reports something the caller found about the county's rows as a whole
 * (PVERIFY_MISSING_ROWS; seq names the first row concerned). */
void pverify_county_bad(pverify_t *pv, const char *reason, uint64_t seq, const char *detail);

/* Totals. */
typedef struct {
    uint64_t counties;
    uint64_t hublog_entries; /* hub-log entries that verified */
    uint64_t entries;        /* device entries that verified */
    uint64_t bad;            /* bad entries reported */
    uint64_t devices;        /* device epochs walked */
} pverify_stats_t;
void pverify_stats(const pverify_t *pv, pverify_stats_t *st);

#endif
