/* provstatus.h: what the county hub keeps locally about forwarding to the
 * province, in the hub log's LMDB environment (devlog_env; docs/province.md
 * "At the county hub"):
 *
 *   province       the forwarder's state, one key per field (below): what
 *                  `status`, /metrics and the dashboard show. The truth of
 *                  where forwarding stands is the checkpoint in PostgreSQL;
 *                  this is the forwarder's last look at it.
 *   province_keys  file_id(16) | archive_pk(32) -> hublog epoch u64be |
 *                  hublog seq u64be | sealed key: the file keys re-sealed to
 *                  the province's archive key, each written in the same
 *                  transaction as its entry in the hub's own log (an
 *                  AuditEvent, action "media_key_resealed", target the file
 *                  ID, detail naming the archive key and the BLAKE2b-256 of
 *                  the sealed key), so a re-sending after a crash sends the
 *                  same bytes and every re-sealing is in the signed log.
 *
 * Needs LMDB and the device log only (library ft_provstatus: the dashboard
 * links it, not libpq).
 */
#ifndef FT_PROVSTATUS_H
#define FT_PROVSTATUS_H

#include "devlog.h"
#include "error.h"
#include "keys.h"
#include "media.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    bool present;               /* a forwarder has run here */
    char county[64];            /* province.county */
    char target[256];           /* the url, password redacted */
    char state[32];             /* "forwarding", "waiting" (PostgreSQL down), "stopped", "failed" */
    int64_t pid;                /* the forwarding process */
    uint64_t checkpoint;        /* arrival number the province holds up to */
    uint64_t hublog_checkpoint; /* hub log seq the province holds up to */
    int64_t last_try_ms;        /* last attempt to reach PostgreSQL */
    int64_t last_success_ms;    /* last batch committed (or found nothing to send) */
    int64_t last_error_ms;      /* 0: none since start */
    char last_error[512];
    uint64_t sent_entries;    /* rows inserted by this forwarder, all time */
    uint64_t sent_duplicates; /* rows PostgreSQL already held (absorbed retransmissions) */
    uint64_t keys_resealed;   /* file keys re-sealed to the province's archive key */
} prov_status_t;

/* Reads the state (present false and zeros when none was written). */
int prov_status_read(devlog_t *hublog, prov_status_t *st) FT_MUST_CHECK;
/* Writes it, durably, in a transaction of its own. */
int prov_status_write(devlog_t *hublog, const prov_status_t *st) FT_MUST_CHECK;

/* A file key re-sealed to the province's archive key. */
typedef struct {
    uint8_t sealed[MEDIA_SEALED_KEY_BYTES];
    uint64_t hublog_epoch, hublog_seq; /* its entry in the hub's log */
    bool fresh;                        /* re-sealed by this call (not found) */
    bool unopenable;                   /* the key does not open with the hub's archive pair (an edge
                                          that sealed to another key): nothing re-sealed, nothing written */
} prov_key_t;

/* One file to re-seal: its id and its key as sealed to the county hub. */
typedef struct {
    const uint8_t *file_id;    /* MEDIA_FILE_ID_BYTES */
    const uint8_t *hub_sealed; /* MEDIA_SEALED_KEY_BYTES */
} prov_reseal_t;

/* For each of n files: the key already re-sealed to archive_pk, or a new
 * re-sealing (unseal with the hub's archive pair, crypto_box_seal to
 * archive_pk) recorded in the hub log and in province_keys, all in one
 * transaction. out[i] for items[i]. A key that does not open with the hub's
 * archive pair is out[i].unopenable (the county hub cannot read that file
 * either; the rest of the batch goes on). FT_EKEY if the hub has no archive
 * pair, else the log's errors (nothing written). */
int prov_keys_reseal(devlog_t *hublog, const keys_t *hub, const uint8_t archive_pk[32],
                     const prov_reseal_t *items, size_t n, prov_key_t *out) FT_MUST_CHECK;

/* BLAKE2b-256 of a sealed key, as the hub log entry names it. */
void prov_sealed_hash(const uint8_t *sealed, size_t len, uint8_t out[32]);

#endif
