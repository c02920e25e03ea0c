/* index.h: the case index: what the gap engine and the timelines read.
 *
 * Its own LMDB environment under STATE/index/, fed only from the hub store
 * (store_entries_since after a persisted arrival cursor), so it can be thrown
 * away and rebuilt. The interface speaks of cases, refs, media and deadlines,
 * never of LMDB, so that a larger deployment can move it to PostgreSQL
 * (docs/architecture.md "Growing past one hub"); the alert tables (alerts.h) live in the
 * same environment so that an index step and the alert changes it causes
 * commit together.
 *
 * A ref names one stored entry: device | epoch | seq (26 bytes, the store's
 * key), as text "DEVICE-ID/epoch/seq".
 *
 * Tables:
 *   items        ref -> item row (kind, corrected times, case, id, media...;
 *                for a record also its compact form, compact.h)
 *   case_items   case \0 ref              every record and media item of a case
 *   act_officer  officer \0 start | ref    activities, by officer and time
 *   act_recorder recorder \0 start | ref   activities, by recorder and time
 *   med_officer  officer \0 start | ref    media, by officer (explicit or resolved)
 *   med_recorder recorder \0 start | ref   media, by recorder and time
 *   med_id       media ID -> ref
 *   cited        media ID \0 | ref         records that cite a media ID
 *   checkouts    recorder \0 time | ref -> kind, officer (recorder -> officer)
 *   rec_id       record id -> ref          (first record with that id)
 *   idents       unit \0 id \0 ref         caseless records with an id: the
 *                                          witnesses of one record (identity.h)
 *   deadlines    due | unit                when a unit must be evaluated again
 *   unit_due     unit -> due
 *   dirty        unit                      units changed since their evaluation
 *   devseen      device -> last Hello seen (clock rule)
 *   unit_alerts  unit -> digest of the alerts it raised at its last
 *                evaluation (engine.c: an evaluation that raises the same
 *                alerts again changes nothing and skips the alert tables)
 *   meta         cursor, integrity cursor, longest media / activity span
 *
 * An evaluation unit is what the gap engine evaluates as a whole: a case
 * ('C' + case ID), a record without a case ('R' + ref), a media item for the
 * unlinked-media rule ('M' + ref), a device for the clock rule ('D' + device)
 * or an integrity event ('I' + event id).
 *
 * Corrected time (the approximation, docs/alerts.md): every time an entry of
 * a device carries (its record's time, start and end; a manifest's capture
 * window; else when it was logged) is shifted by that device's clock offset
 * as the hub last measured it (store_status_get) when the index takes the
 * entry in -- in a running hub, seconds after the commit of the batch, so the
 * offset of the connection that delivered it. Offsets under
 * INDEX_MIN_OFFSET_MS are within the error of the measurement itself and
 * count as 0. The offset applied is stored with the entry, so timelines and
 * alerts do not move when the device later reconnects with another offset.
 * Drift between the making of an entry and its delivery is not modelled.
 *
 * Linking: a media item without an officer gets the officer whose
 * recorder_checkout of its recorder is the latest checkout or return at or
 * before the capture start (none if that is a return). A checkout arriving
 * late re-resolves the media it concerns.
 */
#ifndef FT_HUB_INDEX_H
#define FT_HUB_INDEX_H

#include "entry.h"
#include "error.h"
#include "gaps.h"
#include "store.h"

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INDEX_DEFAULT_MAP_SIZE ((size_t)16 << 30)
#define INDEX_REF_BYTES 26
#define INDEX_REF_TEXT 64
#define INDEX_STR 256
#define INDEX_UNIT_MAX 402
#define INDEX_MIN_OFFSET_MS 1000

typedef struct index_t index_t;
typedef struct index_txn_t index_txn_t;

typedef enum { INDEX_RECORD = 1, INDEX_MEDIA = 2, INDEX_OTHER = 3 } index_kind;

/* One indexed entry (times corrected, ms since the epoch). */
typedef struct {
    uint8_t ref[INDEX_REF_BYTES];
    index_kind kind;
    int rtype;           /* record type (records) */
    int64_t offset_ms;   /* clock offset applied */
    int64_t time_ms;     /* record: time, else start, else logged; media: capture start */
    int64_t start_ms;    /* activity window / capture window */
    int64_t end_ms;      /* end of it */
    int64_t logged_ms;   /* the entry's HLC time (device clock, uncorrected) */
    uint64_t arrival;    /* arrival number at the hub */
    bool activity;       /* record of an activity type */
    bool officer_listed; /* media: the manifest names the officer */
    char case_id[INDEX_STR];
    char id[INDEX_STR];       /* record id */
    char amends[INDEX_STR];   /* record: id it amends */
    char media_id[INDEX_STR]; /* media: the ID records cite (hex of file_id) */
    char officer[INDEX_STR];  /* media: officer (listed or resolved by checkout) */
    char recorder[INDEX_STR]; /* media: recorder number */
    char unit[INDEX_STR];     /* record or manifest unit */
} index_item_t;

/* An evaluation unit key (see above). */
typedef struct {
    uint8_t b[INDEX_UNIT_MAX];
    size_t n;
} index_unit_t;

/* Opens or creates the index in dir (map_size 0 = default). FT_OK, FT_EIO... */
int index_open(const char *dir, size_t map_size, index_t **out) FT_MUST_CHECK;
void index_destroy(index_t **idx_p);

/* Commits through idx sync the pages they wrote but not the meta page that
 * makes them current (LMDB's MDB_NOMETASYNC): one disk sync a commit instead
 * of two. The meta page is in the file at once (a process killed after a
 * commit loses nothing) and reaches the disk with the next commit's sync or
 * at index_destroy; a crash of the machine may undo the last commit, never
 * leave the index inconsistent. For the engine only: the index is derived
 * from the store and the hub log goes first (docs/alerts.md "Durability of
 * the index"). */
int index_lazy_meta(index_t *idx) FT_MUST_CHECK;

/* The environment, for alerts.c only (its tables live here). */
MDB_env *index_env(index_t *idx);

int index_begin(index_t *idx, bool write, index_txn_t **out) FT_MUST_CHECK;
int index_commit(index_txn_t **t_p) FT_MUST_CHECK;
void index_abort(index_txn_t **t_p);
MDB_txn *index_txn_mdb(index_txn_t *t);

/* Arrival cursor and integrity-event cursor (0 at first). A value that
 * cannot be read is its error (FT_ECORRUPT), never 0. */
int index_cursor(index_txn_t *t, uint64_t *arrival, uint64_t *integrity) FT_MUST_CHECK;
int index_set_cursor(index_txn_t *t, uint64_t arrival, uint64_t integrity) FT_MUST_CHECK;
/* Another named cursor kept in meta (0 when never set), e.g. how far the
 * hub's own log has been read for justifications entered at the hub. */
uint64_t index_named_cursor(index_txn_t *t, const char *name);
int index_set_named_cursor(index_txn_t *t, const char *name, uint64_t v) FT_MUST_CHECK;

/* Takes one stored entry in (decoded view v, the device's offset to apply,
 * its enrolled unit), marking the units it changes dirty. A justification
 * record's alert ID is copied into justify_alert ("" if none). */
int index_add_entry(index_txn_t *t, const store_entry_t *e, const entry_view_t *v,
                    int64_t offset_ms, const char *device_unit, char *justify_alert,
                    size_t justify_len) FT_MUST_CHECK;

/* Dirty units: mark, take up to max of them (removing them), count. */
int index_mark_dirty(index_txn_t *t, const index_unit_t *u) FT_MUST_CHECK;
int index_take_dirty(index_txn_t *t, index_unit_t *out, size_t max, size_t *n) FT_MUST_CHECK;
/* Marks every unit whose deadline is <= now dirty (and drops the deadlines). */
int index_due(index_txn_t *t, int64_t now_ms, size_t *n) FT_MUST_CHECK;
/* Sets (INT64_MAX: clears) the next deadline of a unit. */
int index_set_deadline(index_txn_t *t, const index_unit_t *u, int64_t due_ms) FT_MUST_CHECK;
/* Marks every case and caseless record and media unit dirty (full re-evaluation). */
int index_mark_all(index_txn_t *t, size_t *n) FT_MUST_CHECK;

/* The digest of the alerts a unit raised when its alerts were last made
 * current (*found false if none), and storing it. */
#define INDEX_DIGEST_BYTES 32
int index_unit_digest(index_txn_t *t, const index_unit_t *u, uint8_t out[INDEX_DIGEST_BYTES],
                      bool *found) FT_MUST_CHECK;
int index_set_unit_digest(index_txn_t *t, const index_unit_t *u,
                          const uint8_t digest[INDEX_DIGEST_BYTES]) FT_MUST_CHECK;

/* Last Hello of a device the clock rule saw (0 if none), and storing it. */
int index_devseen_get(index_txn_t *t, const uint8_t device[DEVID_BYTES], int64_t *hello_ms);
int index_devseen_put(index_txn_t *t, const uint8_t device[DEVID_BYTES],
                      int64_t hello_ms) FT_MUST_CHECK;

int index_item_get(index_txn_t *t, const uint8_t ref[INDEX_REF_BYTES],
                   index_item_t *out) FT_MUST_CHECK;
/* The same, and for a record indexed with its compact form (compact.h) the
 * record as the gap rules read it (*rec: one allocation, free() it); *rec
 * is NULL when the row holds none (then read the stored entry). */
int index_item_get_compact(index_txn_t *t, const uint8_t ref[INDEX_REF_BYTES], index_item_t *out,
                           Ft__Record **rec) FT_MUST_CHECK;

/* Brings an index of an older layout to the current one with what only the
 * store holds (layout 3: the compact form of every record, read from its
 * stored entry), in batches of one transaction each, resuming where an
 * interrupted upgrade stopped. note (may be NULL) hears of it before (done
 * false) and after (done true, records filled): the caller logs it. A new
 * or current index is left as it is (no note). */
typedef void (*index_upgrade_fn)(void *ctx, uint64_t from_layout, uint64_t to_layout,
                                 size_t records, bool done);
int index_upgrade(index_t *idx, store_t *store, index_upgrade_fn note, void *ctx) FT_MUST_CHECK;

/* Refs of a case's items (records and media with that case), in key order.
 * *refs is malloc'd (INDEX_REF_BYTES each); the caller frees it. */
int index_case_refs(index_txn_t *t, const char *case_id, uint8_t **refs, size_t *n) FT_MUST_CHECK;
/* Refs of the caseless records with this unit and id: the witnesses of one
 * record (hub/gaps/identity.h), ascending. *refs: caller frees. */
int index_identity_refs(index_txn_t *t, const char *unit, const char *id, uint8_t **refs,
                        size_t *n) FT_MUST_CHECK;
/* Media that may document these activities: same officer or recorder with
 * an overlapping capture window, or cited by ID. Appends unique refs. */
int index_media_candidates(index_txn_t *t, const gap_record_t *recs, size_t n_recs, uint8_t **refs,
                           size_t *n, size_t *cap) FT_MUST_CHECK;
/* True if the media item is tied to a case or an activity (cited or auto). */
int index_media_linked(index_txn_t *t, const index_item_t *m, bool *linked) FT_MUST_CHECK;
/* Visits every case ID (in order); non-zero from fn stops. */
typedef int (*index_case_fn)(void *ctx, const char *case_id);
int index_cases_iter(index_txn_t *t, index_case_fn fn, void *ctx);

/* Unit keys. */
void index_unit_case(index_unit_t *u, const char *case_id);
void index_unit_ref(index_unit_t *u, char tag, const uint8_t ref[INDEX_REF_BYTES]);
void index_unit_device(index_unit_t *u, const uint8_t device[DEVID_BYTES]);
void index_unit_integrity(index_unit_t *u, uint64_t id);
/* The silence rule's unit of a device (its alerts apart from the clock's). */
void index_unit_silence(index_unit_t *u, const uint8_t device[DEVID_BYTES]);

/* "DEVICE-ID/epoch/seq" into out[INDEX_REF_TEXT]; parse back (FT_EINVAL). */
void index_ref_text(const uint8_t ref[INDEX_REF_BYTES], char out[INDEX_REF_TEXT]);
int index_ref_parse(const char *text, uint8_t ref[INDEX_REF_BYTES]) FT_MUST_CHECK;
void index_ref_make(uint8_t ref[INDEX_REF_BYTES], const uint8_t device[DEVID_BYTES], uint64_t epoch,
                    uint64_t seq);

#endif
