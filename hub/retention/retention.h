/* retention.h: retention classes, legal holds and the retention job
 * (Art. 22-23; docs/retention.md).
 *
 * Classes of a media file held at the hub (the longest applicable wins):
 *   daily     every media file: kept retention.daily_days (>= 730) after the
 *             end of its capture (corrected time);
 *   evidence  a file tied to a case (names it, is cited by one of its
 *             records, or documents one of its activities, gaps.h): kept
 *             retention.case_years after the case's latest record;
 *   hold      a file of a case under legal hold, or held by itself: never
 *             expires while the hold is active.
 * Holds come from `legal_hold` records (any device, with the Art. 23 reason)
 * and from `fieldtrail-hub hold add` (a legal_hold record in the hub's own
 * signed log). A legal_hold record whose fields say "released": true and
 * whose `amends` names a hold's id lifts that hold (`hold remove`); a hold
 * without an id cannot be lifted.
 *
 * The job (retention_plan -> retention_check -> retention_execute):
 *   plan     reads the store, the case index, the media database and the
 *            hub log; decides every file at `now` (retention_decide, pure);
 *   check    refuses when the index is behind the store, the hub log does
 *            not verify, the clock is implausible, or more than
 *            retention.max_fraction of the files (or bytes) would go without
 *            force;
 *   execute  appends one Deletion entry per file, and an AuditEvent
 *            "retention_run", to the hub log in ONE durable transaction,
 *            then removes the blobs. A crash after the commit leaves logged
 *            deletions whose blobs still exist: the next plan shows them as
 *            "deleted, blob still present" and execute removes them. The
 *            signed manifest (in the device log) and the Deletion entry stay,
 *            so a deletion is itself provable.
 */
#ifndef FT_HUB_RETENTION_H
#define FT_HUB_RETENTION_H

#include "config.h"
#include "devlog.h"
#include "hubparts.h"
#include "media.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define RETENTION_DAY_MS ((int64_t)86400000)
#define RETENTION_MIN_DAILY_DAYS 730
#define RETENTION_DEFAULT_DAILY_DAYS 730
#define RETENTION_DEFAULT_CASE_YEARS 30
#define RETENTION_DEFAULT_MAX_FRACTION 0.1
#define RETENTION_DEFAULT_MAX_LEAD_DAYS 60
/* Times before this are a clock that was never set (2020-01-01). */
#define RETENTION_CLOCK_FLOOR_MS ((int64_t)1577836800000)
#define RETENTION_FOREVER INT64_MAX

/* The four Art. 23 reasons. */
extern const char *const retention_hold_reasons[];
/* True if reason is one of them. */
bool retention_reason_ok(const char *reason);

/* Settings (hub.conf [retention]). */
typedef struct {
    int64_t daily_ms;    /* retention.daily_days */
    int64_t case_ms;     /* retention.case_years (365-day years) */
    double max_fraction; /* retention.max_fraction: of files and of bytes per run */
    int64_t max_lead_ms; /* retention.max_clock_lead_days; 0 = no check */
} retention_policy_t;

/* Reads the policy from cfg (NULL: defaults). FT_OK or FT_EINVAL with a
 * sentence in err (e.g. a daily period under two years). */
int retention_policy_load(const config_t *cfg, retention_policy_t *p, char *err,
                          size_t errlen) FT_MUST_CHECK;

/* A legal hold. */
typedef struct {
    char id[128];      /* record id ("" = cannot be lifted) */
    char source[96];   /* "DEVICE/epoch/seq" of the record, or "hublog/SEQ" */
    char case_id[256]; /* held case, or "" */
    char media_id[64]; /* held media file (hex), or "" */
    char reason[32];   /* objection, obstruction, mass_incident, other (as given) */
    char details[256]; /* why */
    char by[64];       /* officer or supervisor */
    int64_t at_ms;     /* record time */
    bool active;       /* not released */
    char released_by[64];
} retention_hold_t;

/* What retention knows and decides about one media file. */
typedef struct {
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    char media_id[33];                 /* hex of file_id */
    char ref[64];                      /* its manifest entry */
    uint8_t blob_id[MEDIA_HASH_BYTES]; /* Merkle root = blob ID */
    uint64_t size;
    bool complete;     /* the hub holds all of it (only these are ever deleted) */
    bool blob_present; /* its blob is in the blob store */
    bool deleted;      /* a Deletion entry for it is in the hub log */
    uint64_t deletion_seq;
    int64_t capture_end_ms; /* corrected capture end */
    char cases[512];        /* cases it belongs to, ", " separated */
    size_t n_cases;
    int64_t case_last_ms; /* latest record time over those cases (0 if none) */
    bool held;
    char hold_why[256]; /* which hold */
    /* decision (retention_decide) */
    int64_t daily_until_ms;
    int64_t evidence_until_ms; /* 0 if not evidence */
    int64_t keep_until_ms;     /* the longest; RETENTION_FOREVER if held */
    const char *klass;         /* "daily", "evidence" or "hold": what keeps it longest */
    bool expired;              /* every class has expired */
    char why[400];
} retention_item_t;

/* Decides it at now (pure): fills the decision fields. */
void retention_decide(const retention_policy_t *p, retention_item_t *it, int64_t now_ms);

/* A plan at one time. */
typedef struct {
    int64_t now_ms;
    retention_item_t *items;
    size_t n;
    retention_hold_t *holds;
    size_t n_holds;
    /* what the checks look at */
    uint64_t index_cursor, store_last_arrival;
    bool hublog_ok;
    char hublog_detail[200];
    int64_t newest_seen_ms; /* latest time the hub recorded (devices, hub log, runs) */
    int64_t last_run_now_ms;
    /* totals */
    uint64_t files_held, bytes_held, files_expired, bytes_expired;
} retention_plan_t;

/* Builds the plan for the hub in ctx (its store and log open). FT_OK, or an
 * error with a sentence in err. */
int retention_plan(const hub_parts_t *ctx, const retention_policy_t *p, int64_t now_ms,
                   retention_plan_t *plan, char *err, size_t errlen) FT_MUST_CHECK;
void retention_plan_free(retention_plan_t *plan);

/* The job's own checks. FT_OK, or FT_EINVAL with every failed check in err
 * (sentences separated by "; "). force lifts only the fraction limit. */
int retention_check(const retention_policy_t *p, const retention_plan_t *plan, bool force,
                    char *err, size_t errlen) FT_MUST_CHECK;

/* Deletes what the plan says has expired (and finishes logged deletions).
 * *deleted gets how many files were deleted now. FT_OK or an error (err). */
int retention_execute(const hub_parts_t *ctx, retention_plan_t *plan, const char *by,
                      size_t *deleted, char *err, size_t errlen) FT_MUST_CHECK;

/* The plan item as JSON (new reference). */
json_t *retention_item_json(const retention_item_t *it);
json_t *retention_hold_json(const retention_hold_t *h);

/* Holds and deletions from the hub log (and holds from legal_hold records
 * of the store); used by the plan and by exports. */
typedef struct {
    retention_hold_t *holds;
    size_t n_holds, cap_holds;
    json_t *deletions;       /* media_id hex -> hub log seq */
    json_t *released;        /* hold id -> who released it */
    int64_t last_run_now_ms; /* `now` of the last real retention run */
    int64_t head_ms;         /* time of the hub log's newest entry */
} retention_facts_t;
/* Scans the hub log. FT_OK or an I/O error. */
int retention_facts_hublog(devlog_t *hublog, retention_facts_t *f) FT_MUST_CHECK;
/* Adds a hold from a legal_hold record (or a release, if it is one). */
int retention_facts_record(retention_facts_t *f, const Ft__Record *rec, const char *source,
                           int64_t at_ms) FT_MUST_CHECK;
/* Marks holds released (after every record was added). */
void retention_facts_settle(retention_facts_t *f);
void retention_facts_free(retention_facts_t *f);

#endif
