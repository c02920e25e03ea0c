/* identity.h: one record, one identity across devices (docs/records.md
 * "Identity").
 *
 * A record with an `id` is identified by (unit, case, id) over every device:
 * a vehicle and the office desk that both import a case file from the
 * case-management system hold the same record twice. ident_group sorts the
 * entries of one view (a case, or the witnesses of one caseless record) into
 * identity groups and, in each group, into content classes (entries whose
 * records have the same canonical content hash):
 *   - the earliest entry of the group's first class is the PRIMARY: the one
 *     record that is evaluated, counted, shown and exported as the record;
 *   - every other entry of that class is a WITNESS of it (kept, listed with
 *     it, never evaluated twice);
 *   - every other class is in CONFLICT with it (the same id with other
 *     content, Art. 24(2)): its entries are kept and shown, never evaluated;
 *     one conflict per class, with a key made of the identity and the two
 *     content hashes, so that it names the same conflict whatever arrived
 *     first.
 * A record whose `amends` is its own id amends its identity instead of
 * conflicting with it: such entries form a group of their own (an amendment
 * reached the hub from several devices is one amendment).
 * "Earliest" is by arrival at the hub (the store's arrival number), then by
 * ref: fixed once an entry is stored, so a witness that arrives later never
 * changes which entry is the record (no alert is resolved and raised again
 * under another ID), and an index rebuilt from the store picks the same
 * primaries. Hubs that received the devices in other orders evaluate the
 * same records and raise the same alerts (their IDs name the entry that
 * arrived first). Entries without an id are alone.
 *
 * Pure: no storage, no allocation but the conflict list.
 */
#ifndef FT_HUB_IDENTITY_H
#define FT_HUB_IDENTITY_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDENT_HASH_BYTES 32
/* Longest conflict key (identity and two hashes in hex, joined by '|'). */
#define IDENT_KEY_MAX 1024

/* One entry as the grouping sees it (all borrowed). */
typedef struct {
    const char *unit;                  /* the record's unit ("" if none) */
    const char *case_id;               /* its case ("" if none) */
    const char *id;                    /* its id; NULL or "" = no identity */
    const char *amends;                /* the id it amends, or NULL */
    uint8_t content[IDENT_HASH_BYTES]; /* hash of its canonical content */
    uint64_t order;                    /* arrival at the hub */
    const char *ref;                   /* "DEVICE-ID/epoch/seq" */
} ident_entry_t;

typedef enum {
    IDENT_ALONE = 0,   /* no id: a record of its own */
    IDENT_PRIMARY = 1, /* the record of its identity */
    IDENT_WITNESS = 2, /* the same record from another entry (same content) */
    IDENT_CONFLICT = 3 /* the same id with other content */
} ident_role;

/* What became of one entry. */
typedef struct {
    ident_role role;
    size_t primary; /* the index of its group's primary (itself when PRIMARY or ALONE) */
} ident_out_t;

/* A class of entries in conflict with its group's primary. */
typedef struct {
    size_t primary;          /* the group's primary */
    size_t other;            /* the earliest entry of the conflicting class */
    char key[IDENT_KEY_MAX]; /* unit|case|id|hash|hash, the two hashes sorted */
} ident_conflict_t;

/* True if a and b (both with an id) are one identity: the content hash is
 * compared only within an identity, so a caller may leave it unset for an
 * entry no other entry shares its identity with (hub/engine/engine.c). */
bool ident_same(const ident_entry_t *a, const ident_entry_t *b);

/* Groups n entries (out: n slots). *conflicts (caller frees; NULL when
 * there is none) gets one row per conflicting class, in the order of the
 * entries. FT_OK or FT_ENOMEM (out and *conflicts then undefined / NULL). */
int ident_group(const ident_entry_t *e, size_t n, ident_out_t *out, ident_conflict_t **conflicts,
                size_t *n_conflicts) FT_MUST_CHECK;

/* True if a comes before b: arrived earlier, then smaller ref. */
bool ident_earlier(const ident_entry_t *a, const ident_entry_t *b);

#endif
