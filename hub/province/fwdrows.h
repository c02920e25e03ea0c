/* fwdrows.h: what the forwarder sends, as COPY rows (pure: no libpq, no
 * LMDB). A batch is the county hub's committed entries after the
 * province's checkpoint, in arrival order, cut at a number of entries or
 * bytes (fwd_batch_*); each entry gives one row of ft.entries and, when it
 * is a media manifest, one row of ft.media_files (docs/province.md).
 *
 * Column orders (the COPY column lists in forward.c name them):
 *   entries      device, epoch, seq, at, hlc, county, arrival, kind, raw
 *   hub_entries  device, epoch, seq, at, hlc, county, kind, raw
 *   media_files  file_id, at, county, device, epoch, seq, size, chunk_size,
 *                n_chunks, merkle_root, content_hash, media_kind, case_id
 *   file_keys    file_id, archive_pk, at, county, sealed_key, hublog_epoch,
 *                hublog_seq
 *   enrolments   county, device, revoked, sign_pk, transport_pk, unit,
 *                vehicle, at
 */
#ifndef FT_FWDROWS_H
#define FT_FWDROWS_H

#include "error.h"
#include "keys.h"
#include "media.h"
#include "pgcopy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A media manifest met in a batch: what re-sealing its key needs. */
typedef struct {
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    int64_t at_ms;                          /* the manifest entry's time */
    uint8_t sealed[MEDIA_SEALED_KEY_BYTES]; /* the file key sealed to the county hub */
} fwd_media_t;

/* The entry time of a hybrid logical clock value (ms part). */
int64_t fwd_hlc_ms(uint64_t hlc);

/* One stored device entry (SignedEntry bytes) as a row of entries (and of
 * media when it is a manifest: *is_media true and *m filled). FT_ECORRUPT
 * if the bytes do not decode (never skipped: the forwarder stops on it). */
int fwd_entry_rows(const char *county, uint64_t arrival, const uint8_t *raw, size_t len,
                   pgcopy_t *entries, pgcopy_t *media, fwd_media_t *m,
                   bool *is_media) FT_MUST_CHECK;
/* One hub log entry as a row of hub_entries. FT_ECORRUPT as above. */
int fwd_hub_row(const char *county, const uint8_t *raw, size_t len, pgcopy_t *hub) FT_MUST_CHECK;
/* One re-sealed key as a row of file_keys. */
void fwd_key_row(const char *county, const fwd_media_t *m, const uint8_t archive_pk[32],
                 const uint8_t *sealed, size_t sealed_len, uint64_t hublog_epoch,
                 uint64_t hublog_seq, pgcopy_t *keys);
/* One enrolment (and, when revoked, its revocation) as rows of enrolments. */
void fwd_enrol_rows(const char *county, const uint8_t device[DEVID_BYTES],
                    const uint8_t sign_pk[32], const uint8_t transport_pk[32], const char *unit,
                    const char *vehicle, bool revoked, int64_t enrolled_ms, int64_t revoked_ms,
                    pgcopy_t *enrol);

/* Cutting a batch: entries are added while it has room. */
typedef struct {
    uint32_t max_entries, max_bytes;
    uint32_t entries;
    uint64_t bytes;
    uint64_t first, last; /* arrival numbers in it (0 when empty) */
} fwd_batch_t;
void fwd_batch_init(fwd_batch_t *b, uint32_t max_entries, uint32_t max_bytes);
/* Whether an entry of len bytes still goes in (the first always does, so
 * that one entry larger than max_bytes still travels). */
bool fwd_batch_room(const fwd_batch_t *b, size_t len);
void fwd_batch_add(fwd_batch_t *b, uint64_t arrival, size_t len);

/* Entries the province does not hold yet: the county's last arrival number
 * minus the checkpoint (0 when the checkpoint is at or past it). */
uint64_t fwd_behind(uint64_t last_arrival, uint64_t checkpoint);

#endif
