/* gapinput.h: what the gap engine's input is made of, in one place, so that
 * a vehicle evaluating its own log raises the alerts the hub raises, with the
 * same IDs (docs/vehicle.md "Same verdict").
 *
 * The hub's case index (hub/engine/index.c) takes each entry's times from
 * gapinput_record_times and gapinput_media_times; the vehicle (edge/ui)
 * builds its cases from its own log with gapinput_new and gapinput_case,
 * which assemble a gap_case_t exactly as the engine's case_view_load does:
 *   - times: a record's `time`, `start`, `end`, else when it was logged; a
 *     media item's capture window, else when it was logged (end >= start);
 *     each shifted by the device's clock offset (0 on the vehicle itself);
 *   - text the index keeps is cut to GAPINPUT_TEXT bytes on a character
 *     boundary (case, media ID, officer, recorder), as its rows are;
 *   - a case: every record whose (cut) case is case_id, one per identity
 *     (hub/gaps/identity.h, ordered by the entries' `order`), with their
 *     conflicts; caseless records are units of their own (with the other
 *     entries of their unit and id);
 *   - media: every manifest not superseded by a later manifest of the same
 *     log (docs/media.md: the whole copy replaces the first), its media ID
 *     the hex of its file ID, its officer the manifest's, else the officer
 *     of the last recorder_checkout or recorder_return of its recorder at or
 *     before its capture start (none after a return); the hub hands the
 *     engine only the media that may link, and linking (gaps_media_links)
 *     decides which count, so every medium may be handed;
 *   - the unlinked-media rule's "linked": a case on the manifest, a record
 *     citing its media ID, or an activity (amended or not) sharing an officer
 *     or a recorder and overlapping its capture.
 * On a vehicle, entries of one device only (it never holds another
 * device's entries). A provincial node (hub/provnode/pgengine.c) gives it a
 * case's entries from several devices, each with its device's unit and its
 * county arrival number as `order`, and gets the county index's case,
 * witnesses and conflicts across devices included.
 *
 * Pure: no storage. A gapinput_t points into the entries' records and
 * manifests (borrowed: they must outlive it) and keeps what it derived.
 */
#ifndef FT_GAPINPUT_H
#define FT_GAPINPUT_H

#include "gaps.h"
#include "identity.h"
#include "keys.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of case, media ID, officer and recorder kept (incl. NUL): the hub
 * index's row fields (INDEX_STR in hub/engine/index.h). */
#define GAPINPUT_TEXT 256

/* A record's window and time, corrected by offset_ms: start (else when it
 * was logged), end (else start), time (else start, else when logged). */
void gapinput_record_times(const Ft__Record *rec, int64_t logged_ms, int64_t offset_ms,
                           int64_t *start_ms, int64_t *end_ms, int64_t *time_ms);
/* A manifest's capture window, corrected by offset_ms: start (else when it
 * was logged), end (else start; never before start). */
void gapinput_media_times(const Ft__MediaManifest *m, int64_t logged_ms, int64_t offset_ms,
                          int64_t *start_ms, int64_t *end_ms);

/* The officer of a clip that names none (docs/media.md): the one its
 * recorder was checked out to at its capture start, i.e. the last
 * recorder_checkout or recorder_return of that recorder at or before it
 * (ties: the later in `order`), none after a return. The hub index keeps
 * the same table in LMDB (hub/engine/index.c resolve_officer); gapinput_new
 * and the compliance report (hub/views/coverage.c) resolve through these. */
#define GAPINPUT_ORDER_BYTES (DEVID_BYTES + 16)
typedef struct {
    const char *recorder; /* the record's `recorder` field, cut to GAPINPUT_TEXT */
    const char *officer;  /* its `officer` field, cut; NULL for a return */
    int64_t time_ms;      /* the record's corrected time */
    /* ties at one time: the index's ref order (device ID, epoch, seq big-endian) */
    uint8_t order[GAPINPUT_ORDER_BYTES];
} gapinput_checkout_t;

/* Sorts n checkouts by recorder, time, order (for gapinput_checkout_officer). */
void gapinput_checkouts_sort(gapinput_checkout_t *c, size_t n);
/* The officer holding recorder at ms among the sorted c[0..n) ("" if none;
 * never NULL): O(log n). */
const char *gapinput_checkout_officer(const gapinput_checkout_t *c, size_t n, const char *recorder,
                                      int64_t ms);
/* The checkout entry of rec (recorder_checkout or recorder_return with a
 * `recorder` field): fills recorder/officer (into the buffers, cut) and the
 * time from time_ms; false for any other record. */
bool gapinput_checkout_of(const Ft__Record *rec, int64_t time_ms, char recorder[GAPINPUT_TEXT],
                          char officer[GAPINPUT_TEXT], gapinput_checkout_t *out);

/* One entry of a device's log, as gapinput_new takes it (all borrowed). */
typedef struct {
    const char *ref;                   /* "DEVICE-ID/epoch/seq" */
    uint64_t order;                    /* its place in the log (the seq) */
    int64_t logged_ms;                 /* when it was logged (the entry's clock) */
    const Ft__Record *rec;             /* a record, or NULL */
    const Ft__MediaManifest *media;    /* a manifest, or NULL */
    uint8_t content[IDENT_HASH_BYTES]; /* records with an id: hash of the canonical content
                                          (devlog_record_hash) */
    const char *unit;                  /* the enrolled unit of the entry's device, when the
                                          entries are of several devices (a provincial
                                          node's case, hub/provnode); NULL: the unit given
                                          to gapinput_new */
    int64_t offset_ms;                 /* added to the offset given to gapinput_new: the
                                          entry's own clock offset, when the entries are of
                                          devices with different offsets (a provincial
                                          node's case: the one its county applied) */
} gapinput_entry_t;

/* A record as derived: its times and cut case. */
typedef struct {
    gap_record_t g;              /* ref, record, corrected times */
    char case_id[GAPINPUT_TEXT]; /* "" for a caseless record */
    char unit[GAPINPUT_TEXT];    /* the record's unit, else the device's */
    uint64_t order;              /* the entry's order */
    int64_t logged_ms;           /* when it was logged, corrected */
    const uint8_t *content;      /* the entry's content hash */
} gapinput_record_t;

/* A media item as derived. */
typedef struct {
    gap_media_t g;                /* ref, media ID, case, officer, recorder, window */
    const Ft__MediaManifest *m;   /* the manifest (borrowed) */
    bool officer_from_checkout;   /* the officer came from a checkout */
    char media_id[GAPINPUT_TEXT]; /* what g points to */
    char case_id[GAPINPUT_TEXT];
    char officer[GAPINPUT_TEXT];
    char recorder[GAPINPUT_TEXT];
} gapinput_media_t;

typedef struct {
    gapinput_record_t *records; /* every record entry, in order */
    size_t n_records;
    gapinput_media_t *media; /* every manifest not superseded, in order */
    size_t n_media;
    gap_media_t *gmedia; /* media[i].g, contiguous, for gap_case_t */
} gapinput_t;

/* Derives records and media from n entries (in log order) of one device
 * whose enrolled unit is unit (may be NULL), with its clock offset. FT_OK or
 * FT_ENOMEM. Entries of several devices (each with its own `unit` and
 * `offset_ms`, in the order of the hub's index, `order` its arrival number)
 * give the cases of a hub's index, witnesses and conflicts across devices
 * included (a provincial node, docs/province.md "Clock offsets"). */
int gapinput_new(const gapinput_entry_t *e, size_t n, const char *unit, int64_t offset_ms,
                 gapinput_t **out) FT_MUST_CHECK;
void gapinput_destroy(gapinput_t **g_p);

/* One evaluation unit as the engine sees it. */
typedef struct {
    gap_case_t c;       /* what gaps_eval_case takes */
    gap_record_t *recs; /* c.records (one per identity) */
    size_t *index;      /* per c.records[i]: its index in gapinput_t.records */
    gap_conflict_t *conflicts;
    char (*keys)[IDENT_KEY_MAX];
    char case_id[GAPINPUT_TEXT];
} gapinput_case_t;

/* The case case_id (cut as the index cuts it; non-empty): its records, one
 * per identity, and every media item. FT_OK or FT_ENOMEM; free with
 * gapinput_case_free (also after an error). */
int gapinput_case(const gapinput_t *g, const char *case_id, gapinput_case_t *out) FT_MUST_CHECK;
/* The caseless record records[i] as its own unit (with the other caseless
 * entries of its unit and id; when it is not their primary, c.n_records is
 * 0). FT_OK, FT_EINVAL (not caseless), FT_ENOMEM. */
int gapinput_caseless(const gapinput_t *g, size_t i, gapinput_case_t *out) FT_MUST_CHECK;
void gapinput_case_free(gapinput_case_t *c);

/* Whether media[i] is tied to a case or an activity (unlinked-media rule). */
bool gapinput_media_linked(const gapinput_t *g, size_t i);

/* Every alert the entries raise at now_ms: each case, each caseless record,
 * each media item (unlinked media). FT_OK or FT_ENOMEM. */
int gapinput_eval_all(const gapinput_t *g, const rulepack_t *pack, int64_t now_ms,
                      gap_alerts_t *out) FT_MUST_CHECK;

#endif
