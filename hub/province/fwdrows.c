/* fwdrows.c: COPY rows of a forwarded batch (fwdrows.h). */
#include "fwdrows.h"

#include "entry.h"

#include <string.h>

int64_t fwd_hlc_ms(uint64_t hlc)
{
    return (int64_t)(hlc >> 16);
}

/* The columns every entry row starts with: device, epoch, seq, at, hlc, county. */
static void entry_head(pgcopy_t *c, const Ft__Entry *e, const char *county)
{
    pgcopy_bytea(c, e->device.data, e->device.len);
    pgcopy_u64(c, e->epoch);
    pgcopy_u64(c, e->seq);
    pgcopy_time_ms(c, fwd_hlc_ms(e->hlc));
    pgcopy_u64(c, e->hlc);
    pgcopy_str(c, county);
}

int fwd_entry_rows(const char *county, uint64_t arrival, const uint8_t *raw, size_t len,
                   pgcopy_t *entries, pgcopy_t *media, fwd_media_t *m, bool *is_media)
{
    *is_media = false;
    entry_view_t v;
    int rc = entry_open(raw, len, &v);
    if (rc != FT_OK) {
        return FT_ECORRUPT;
    }
    const Ft__Entry *e = v.entry;
    const Ft__MediaManifest *mf =
        e->body && e->body->kind_case == FT__BODY__KIND_MEDIA ? e->body->media : NULL;
    if (mf &&
        (mf->file_id.len != MEDIA_FILE_ID_BYTES || mf->sealed_key.len != MEDIA_SEALED_KEY_BYTES)) {
        entry_view_free(&v);
        return FT_ECORRUPT;
    }
    entry_head(entries, e, county);
    pgcopy_u64(entries, arrival);
    pgcopy_str(entries, entry_body_kind(e->body));
    pgcopy_bytea(entries, raw, len);
    pgcopy_end_row(entries);
    if (mf) {
        int64_t at = fwd_hlc_ms(e->hlc);
        pgcopy_bytea(media, mf->file_id.data, mf->file_id.len);
        pgcopy_time_ms(media, at);
        pgcopy_str(media, county);
        pgcopy_bytea(media, e->device.data, e->device.len);
        pgcopy_u64(media, e->epoch);
        pgcopy_u64(media, e->seq);
        pgcopy_u64(media, mf->size);
        pgcopy_i64(media, mf->chunk_size);
        pgcopy_i64(media, (int64_t)mf->n_chunk_hashes);
        pgcopy_bytea(media, mf->merkle_root.data, mf->merkle_root.len);
        pgcopy_bytea(media, mf->content_hash.data, mf->content_hash.len);
        pgcopy_i64(media, mf->kind);
        pgcopy_str(media, mf->case_id);
        pgcopy_end_row(media);
        memcpy(m->file_id, mf->file_id.data, MEDIA_FILE_ID_BYTES);
        memcpy(m->sealed, mf->sealed_key.data, MEDIA_SEALED_KEY_BYTES);
        m->at_ms = at;
        *is_media = true;
    }
    entry_view_free(&v);
    return FT_OK;
}

int fwd_hub_row(const char *county, const uint8_t *raw, size_t len, pgcopy_t *hub)
{
    entry_view_t v;
    if (entry_open(raw, len, &v) != FT_OK) {
        return FT_ECORRUPT;
    }
    entry_head(hub, v.entry, county);
    pgcopy_str(hub, entry_body_kind(v.entry->body));
    pgcopy_bytea(hub, raw, len);
    pgcopy_end_row(hub);
    entry_view_free(&v);
    return FT_OK;
}

void fwd_key_row(const char *county, const fwd_media_t *m, const uint8_t archive_pk[32],
                 const uint8_t *sealed, size_t sealed_len, uint64_t hublog_epoch,
                 uint64_t hublog_seq, pgcopy_t *keys)
{
    pgcopy_bytea(keys, m->file_id, MEDIA_FILE_ID_BYTES);
    pgcopy_bytea(keys, archive_pk, 32);
    pgcopy_time_ms(keys, m->at_ms);
    pgcopy_str(keys, county);
    pgcopy_bytea(keys, sealed, sealed_len);
    pgcopy_u64(keys, hublog_epoch);
    pgcopy_u64(keys, hublog_seq);
    pgcopy_end_row(keys);
}

static void enrol_row(pgcopy_t *c, const char *county, const uint8_t *device,
                      const uint8_t *sign_pk, const uint8_t *transport_pk, const char *unit,
                      const char *vehicle, bool revoked, int64_t at_ms)
{
    pgcopy_str(c, county);
    pgcopy_bytea(c, device, DEVID_BYTES);
    pgcopy_bool(c, revoked);
    pgcopy_bytea(c, sign_pk, 32);
    pgcopy_bytea(c, transport_pk, 32);
    pgcopy_str(c, unit);
    pgcopy_str(c, vehicle);
    pgcopy_time_ms(c, at_ms);
    pgcopy_end_row(c);
}

void fwd_enrol_rows(const char *county, const uint8_t device[DEVID_BYTES],
                    const uint8_t sign_pk[32], const uint8_t transport_pk[32], const char *unit,
                    const char *vehicle, bool revoked, int64_t enrolled_ms, int64_t revoked_ms,
                    pgcopy_t *enrol)
{
    enrol_row(enrol, county, device, sign_pk, transport_pk, unit, vehicle, false, enrolled_ms);
    if (revoked) {
        enrol_row(enrol, county, device, sign_pk, transport_pk, unit, vehicle, true, revoked_ms);
    }
}

void fwd_batch_init(fwd_batch_t *b, uint32_t max_entries, uint32_t max_bytes)
{
    memset(b, 0, sizeof *b);
    b->max_entries = max_entries ? max_entries : 1;
    b->max_bytes = max_bytes;
}

bool fwd_batch_room(const fwd_batch_t *b, size_t len)
{
    if (b->entries == 0) {
        return true;
    }
    return b->entries < b->max_entries && b->bytes + len <= b->max_bytes;
}

void fwd_batch_add(fwd_batch_t *b, uint64_t arrival, size_t len)
{
    if (b->entries == 0) {
        b->first = arrival;
    }
    b->last = arrival;
    b->entries++;
    b->bytes += len;
}

uint64_t fwd_behind(uint64_t last_arrival, uint64_t checkpoint)
{
    return last_arrival > checkpoint ? last_arrival - checkpoint : 0;
}
