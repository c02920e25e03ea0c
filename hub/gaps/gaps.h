/* gaps.h: the gap engine. THIS is where a gap rule is evaluated.
 *
 * Pure functions over an in-memory view of one case (its records and the
 * media that may document them) and an explicit evaluation time `now`: the
 * same inputs always give the same alert set, so incremental evaluation (one
 * case when it changes, or when one of its deadlines passes) equals a full
 * re-evaluation by construction. Alert state (open -> resolved / justified)
 * is kept by the caller, which diffs successive alert sets.
 *
 * Linking media to an activity (docs/rules.md "Covered by media"): explicitly,
 * the record's `media` lists the media ID; automatically, the media's officer
 * is one of the record's officers or its recorder one of the record's
 * recorders, and the capture window overlaps the activity window. Windows
 * are half-open, [start, end), and "overlaps" and "covers" are those of
 * common/window.h, the same the compliance report uses (hub/views/coverage.c).
 * A record amended by a later record of the case (`amends` = its id) is
 * replaced by the amendment.
 */
#ifndef FT_GAPS_H
#define FT_GAPS_H

#include "rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A stretch of time [a_ms, b_ms). */
typedef struct gap_span {
    int64_t a_ms, b_ms;
} gap_span_t;

/* A record as the engine sees it; times are corrected (clock offset applied). */
typedef struct {
    const char *ref;       /* stable reference, e.g. "DEVICE-ID/epoch/seq" */
    const Ft__Record *rec; /* the record (borrowed) */
    int64_t start_ms;      /* activity window start (activities) */
    int64_t end_ms;        /* activity window end */
    int64_t time_ms;       /* when: `time`, else `start`, else when it was logged */
} gap_record_t;

/* A media item as the engine sees it. */
typedef struct {
    const char *ref;      /* stable reference of its manifest entry */
    const char *media_id; /* the ID records cite in `media` */
    const char *case_id;  /* explicit case, or NULL */
    const char *officer;  /* who recorded it, or NULL */
    const char *recorder; /* recorder number, or NULL */
    int64_t start_ms;     /* capture window */
    int64_t end_ms;
} gap_media_t;

/* Two versions of one record (the same id, other content, neither amending
 * the other: identity.h): an integrity alert (Art. 24(2)). */
typedef struct {
    const char *key;   /* identity and both content hashes: names the alert */
    const char *id;    /* the record id */
    const char *ref_a; /* the version evaluated (the earlier) */
    const char *ref_b; /* the earliest entry of the other version */
    int64_t at_ms;     /* when the other version was logged */
} gap_conflict_t;

/* One case: its records (one per identity: witnesses and conflicting
 * versions are left out, identity.h) and every media item that may
 * document them. */
typedef struct {
    const char *case_id; /* NULL or "" for records that belong to no case */
    const gap_record_t *records;
    size_t n_records;
    const gap_media_t *media;
    size_t n_media;
    const gap_conflict_t *conflicts; /* may be NULL */
    size_t n_conflicts;
} gap_case_t;

/* One alert the rules raise now. */
typedef struct {
    char id[17];        /* hex of a hash of (rule, case, subject): stable across runs */
    const rule_t *rule; /* the rule (borrowed from the pack) */
    char article[32];   /* article cited */
    char case_id[128];  /* case, "" if none */
    char subject[192];  /* ref of the record / media / device concerned */
    char detail[320];   /* the specifics, in English */
    /* The specifics as data, for pages in any language (docs/alerts.md
     * "Structured detail"): a template name ("coverage", "fields", ...) and
     * its numbers and names as a JSON object (compact text). */
    char detail_tpl[24];
    char detail_args[400];
    int64_t at_ms;      /* when it became due (deadline, or the subject's time) */
    char officers[128]; /* the subject's officers (a record's, a media item's officer),
                         * each ended by '\n'; "" if none (whom a message names) */
} gap_alert_t;

/* A growable list of alerts. */
typedef struct {
    gap_alert_t *items;
    size_t n, cap;
} gap_alerts_t;

/* Appends the alerts the case raises at now_ms. FT_OK or FT_ENOMEM. */
int gaps_eval_case(const rulepack_t *pack, const gap_case_t *c, int64_t now_ms,
                   gap_alerts_t *out) FT_MUST_CHECK;
/* The earliest deadline after now_ms at which the case's alerts may change
 * without new input (followed_by deadlines); INT64_MAX if none. */
int64_t gaps_next_deadline(const rulepack_t *pack, const gap_case_t *c, int64_t now_ms);
/* Unlinked media: `linked` says whether any case or activity cites or
 * auto-links the item. */
int gaps_eval_media(const rulepack_t *pack, const gap_media_t *m, bool linked, int64_t now_ms,
                    gap_alerts_t *out) FT_MUST_CHECK;
/* Clock rule for one device's measured offset. */
int gaps_eval_clock(const rulepack_t *pack, const char *device, int64_t offset_ms, int64_t at_ms,
                    gap_alerts_t *out) FT_MUST_CHECK;
/* Silence rule for one device: last heard from at last_seen_ms (0: never;
 * counted from since_ms, its enrolment), judged at now_ms. The alert is due
 * when the silence passed the limit; its detail does not change while the
 * silence lasts (the page counts the time from last_seen_ms). */
int gaps_eval_silence(const rulepack_t *pack, const char *device, const char *vehicle,
                      int64_t last_seen_ms, int64_t since_ms, int64_t now_ms,
                      gap_alerts_t *out) FT_MUST_CHECK;
/* Built-in integrity rule: one alert for one integrity event. */
int gaps_integrity(const rulepack_t *pack, const char *device, const char *reason,
                   const char *subject, const char *detail, int64_t at_ms,
                   gap_alerts_t *out) FT_MUST_CHECK;

/* What linking reads of an activity: the lists its record names and its
 * corrected window. gaps_activity_of makes it from a gap_record_t; the
 * compliance report (hub/views/coverage.c) makes it from its catalog. */
typedef struct {
    char *const *media; /* media IDs the record cites */
    size_t n_media;
    char *const *officers;
    size_t n_officers;
    char *const *recorders;
    size_t n_recorders;
    int64_t start_ms, end_ms;
} gap_activity_t;

gap_activity_t gaps_activity_of(const gap_record_t *r);

/* THE rule of "this clip covers this activity, for this long" (docs/rules.md
 * "Covered by media"), the one the coverage rule, the case timeline, the
 * retention job and the compliance report all ask: whether m links to a
 * (cited by media ID, or the same officer or recorder and an overlapping
 * window), and, when span is not NULL, the part of a's window it covers
 * (span->a_ms == span->b_ms when none: a clip cited by ID outside the
 * window links and covers nothing). */
bool gaps_clip_covers(const gap_activity_t *a, const gap_media_t *m, gap_span_t *span);

/* True if media item m documents activity r (explicitly or automatically):
 * gaps_clip_covers of gaps_activity_of(r). */
bool gaps_media_links(const gap_record_t *r, const gap_media_t *m);
/* Share of r's window covered by the media that link to it (0..1), the
 * longest uncovered stretch in ms and the number of linked items. A
 * zero-length window (an instant) counts as covered if a linked item's
 * window holds that instant (window.h). FT_OK, or FT_ENOMEM: then nothing
 * is concluded (never "not covered" for a lack of memory). */
int gaps_coverage(const gap_record_t *r, const gap_media_t *media, size_t n_media, size_t *linked,
                  double *covered, int64_t *longest_gap_ms) FT_MUST_CHECK;
/* Milliseconds of r's window that the media linked to it cover (the union
 * of their gaps_clip_covers spans; the figure the compliance report sums).
 * FT_OK or FT_ENOMEM. */
int gaps_covered_ms(const gap_record_t *r, const gap_media_t *media, size_t n_media,
                    int64_t *covered_ms) FT_MUST_CHECK;

/* The stretches of r's window that no media linked to it covers, in time
 * order (the same sweep as gaps_coverage): at most max written to out,
 * *n_holes how many there are. FT_OK, FT_ENOMEM (*n_holes 0: nothing
 * concluded). */
int gaps_uncovered(const gap_record_t *r, const gap_media_t *media, size_t n_media, gap_span_t *out,
                   size_t max, size_t *n_holes) FT_MUST_CHECK;

/* A followed_by duty of the case that is neither met nor overdue yet: a
 * `needs` record is still due by due_ms (once past, the rule raises). */
typedef struct {
    const rule_t *rule;          /* the followed_by rule (borrowed from the pack) */
    const gap_record_t *subject; /* the record that asks for it (borrowed from the case) */
    int64_t due_ms;              /* its deadline */
} gap_pending_t;
/* The duties pending at now_ms: at most max written to out, returns how
 * many there are. */
size_t gaps_pending(const rulepack_t *pack, const gap_case_t *c, int64_t now_ms, gap_pending_t *out,
                    size_t max);

void gap_alerts_free(gap_alerts_t *a);

#endif
