/* catalog.h: the dashboard's in-memory view of what the hub holds: every
 * record, media manifest and device event, decoded once from the store,
 * with its Art. 10 classification (unit, recorder, officer, cause, party,
 * time) and times corrected by the device's measured clock offset.
 *
 * Search, compliance and the sync page's recorder health read it; it is
 * brought up to date by catalog_update (the web watcher calls it every
 * poll), which reads only entries that arrived after its cursor
 * (store_entries_since), so its cost follows new entries, not the store.
 * It is a derived cache: dropping it loses nothing. A deployment that
 * outgrows memory moves these queries to the hub index (docs/architecture.md "Growing
 * past one hub").
 *
 * Text is kept as shown: a string that is not valid UTF-8 (an old edge cut
 * it mid-character) is held in its escaped form (common/utf8.h, each
 * invalid byte as \xNN), so that every JSON made from an item holds and no
 * item is ever left out of a listing for its text; search matches that form.
 *
 * Locking: one rwlock; readers take it with catalog_read and release it with
 * catalog_done; items stay valid until then.
 */
#ifndef FT_HUB_CATALOG_H
#define FT_HUB_CATALOG_H

#include "keys.h"
#include "gapinput.h"
#include "identity.h"
#include "store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { CAT_RECORD = 1, CAT_MEDIA, CAT_EVENT, CAT_OTHER } cat_kind;

/* What the gap engine's linking reads of an entry, derived the engine's
 * way (hub/gaps/gapinput.h): raw text (never the escaped form shown), cut
 * where the engine's index cuts it, and the engine's times. The compliance
 * report and the case view link through this alone (hub/views/coverage.h),
 * so that they say what the engine says. */
typedef struct {
    /* records: the lists gap_activity_t reads (each one allocation) */
    char **officers, **recorders, **media;
    size_t n_officers, n_recorders, n_media;
    /* records: gapinput_record_times' window; media: gapinput_media_times' */
    int64_t start_ms, end_ms;
    /* media: the engine's media ID, the manifest's officer ("" when it names
     * none: resolved from checkouts), its recorder (both cut) */
    char *media_id, *officer, *recorder;
    /* recorder_checkout / recorder_return records: the table entry
     * (checkout.recorder NULL otherwise); points to co_text */
    gapinput_checkout_t checkout;
    char (*co_text)[GAPINPUT_TEXT];
    /* media: the media ID this manifest took over by superseding the clip
     * it named (catalog.c mark_superseded), or NULL */
    char *took;
} cat_link_t;

/* One stored entry as the dashboard sees it. */
typedef struct {
    char ref[64];                 /* "DEVICE-ID/epoch/seq" */
    char device[DEVID_TEXT_SIZE]; /* signer */
    uint64_t arrival;             /* store arrival number */
    cat_kind kind;
    const char *type; /* record type, media kind or event kind (static) */
    bool activity;    /* a record of an activity type (has a window) */
    char *id;         /* record id, or media ID (hex of file_id); may be "" */
    char *case_id, *cause, *party, *unit;
    char *officers;           /* officers joined by ", " */
    char *recorders;          /* recorders joined by ", " */
    char *media;              /* media IDs a record cites, joined by "," */
    char *amends;             /* record id this one amends, or "" */
    char *media_unsuitable;   /* reason, or "" */
    int64_t start_ms, end_ms; /* window (corrected), 0 if none */
    int64_t time_ms;          /* when (corrected): time, else start */
    int64_t offset_ms;        /* correction applied (hub minus device clock) */
    size_t bytes;             /* size of the signed entry */
    uint64_t media_size;      /* media: file size in bytes */
    uint8_t blob_id[32];      /* media: blob store ID (Merkle root), if has_blob */
    bool has_blob;            /* media: the manifest names a blob */
    bool held;                /* media: the hub holds the whole content */
    bool superseded;          /* media: a later manifest of its device replaces it */
    /* Record identity across devices (hub/gaps/identity.h): PRIMARY or
     * ALONE items are the records; a WITNESS is the same record from
     * another entry, a CONFLICT another version of its id: both are shown
     * with their primary, never counted or evaluated as records. */
    ident_role role;
    size_t primary;                    /* index of the item that is the record */
    size_t next_same;                  /* next item of the same identity, SIZE_MAX at the end */
    uint8_t content[IDENT_HASH_BYTES]; /* records with an id: content hash */
    bool text_escaped;                 /* some of its text was not valid UTF-8: shown escaped */
    cat_link_t link;                   /* what linking reads of it (above) */
    json_t *body;                      /* the body as JSON (bodyjson.h) */
} cat_item_t;

/* What the catalog knows about one device beyond the store. */
typedef struct {
    char device[DEVID_TEXT_SIZE];
    uint64_t entries;          /* entries held */
    uint64_t bytes;            /* bytes of signed entries held */
    uint64_t media_bytes;      /* bytes of media the manifests announce */
    uint64_t media_held_bytes; /* bytes of that media the hub holds */
    json_t *recorders;         /* recorder -> {battery_pct, free_mb, at, event} */
    int64_t last_entry_ms;     /* corrected time of its newest entry */
} cat_device_t;

typedef struct catalog_t catalog_t;

int catalog_new(catalog_t **out) FT_MUST_CHECK;
void catalog_destroy(catalog_t **c_p);
/* Reads entries that arrived since the last update. *added (may be NULL)
 * gets how many. FT_OK or the store's error. */
int catalog_update(catalog_t *c, store_t *store, size_t *added) FT_MUST_CHECK;

/* Marks media items whose content the hub now holds (held(ctx, blob_id)
 * true); only items not yet held are asked. */
typedef bool (*catalog_held_fn)(void *ctx, const uint8_t blob_id[32]);
void catalog_update_held(catalog_t *c, catalog_held_fn held, void *ctx);

/* The refs of the entries of it's record (role WITNESS: it first, then its
 * witnesses) or of the versions in conflict with it (role CONFLICT); a JSON
 * array. Between catalog_read and catalog_done. */
json_t *catalog_witnesses(const catalog_t *c, const cat_item_t *it, ident_role role);
/* True if the item is counted and shown as a record or medium of its own
 * (not a witness, a conflicting version, or a superseded clip). */
static inline bool cat_item_counts(const cat_item_t *it)
{
    return it->kind == CAT_RECORD ? it->role == IDENT_ALONE || it->role == IDENT_PRIMARY
                                  : !it->superseded;
}

/* Read access: items in arrival order and per-device rows. */
void catalog_read(catalog_t *c);
const cat_item_t *catalog_items(const catalog_t *c, size_t *n);
const cat_device_t *catalog_device(const catalog_t *c, const char *device);
void catalog_done(catalog_t *c);
/* The item of ref ("DEVICE-ID/epoch/seq"), or NULL (between catalog_read
 * and catalog_done). */
const cat_item_t *catalog_find(const catalog_t *c, const char *ref);

#endif
