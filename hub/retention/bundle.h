/* bundle.h: exporting a case as a signed, self-verifying bundle (Art. 22-24;
 * docs/retention.md "Case bundles"). The dashboard and `fieldtrail-hub
 * export` both call bundle_export; fieldtrail-verify checks the result.
 *
 * What goes in (verifier/bundlefmt.h has the framing):
 *   logs/DEVICE-EPOCH.log      every contributing device's entries from seq 1
 *                              to the first hub receipt at or after the last
 *                              entry the case uses (full prefix: the chain
 *                              and the completeness of the case are checked
 *                              without the hub)
 *   receipts/DEVICE-EPOCH.bin  the hub's signed receipts for that prefix
 *   devices/DEVICE.json        public keys and enrolment facts
 *   media/FILEID.EXT           decrypted (file key in the manifest, so the
 *                              verifier re-derives the chunk hashes), or
 *   media/FILEID.EXT.enc       the stored ciphertext, its file key sealed to
 *                              --recipient-key (crypto_box_seal)
 *   hublog/entries.log         hub-log entries about the case: alert events,
 *                              holds, justifications, deletions of its media,
 *                              enrolments of its devices, earlier exports
 *   records.jsonl, alerts.json, index.html, README.txt   for people
 *   bundle.json + bundle.sig   the manifest signed by the hub
 * The export is audited: an AuditEvent "export_bundle" with the manifest's
 * hash is appended to the hub log BEFORE the bundle is moved into place; if
 * it cannot be written, nothing is exported.
 *
 * Output: a directory (created; must not exist), or a ustar file when the
 * path ends in ".tar". Written beside the target first, then renamed.
 *
 * Inside `fieldtrail-hub run` (the dashboard), pass the open index and
 * media database in the options, or run `fieldtrail-hub export` as a child
 * process: LMDB environments must not be opened twice in one process. The
 * function is otherwise self-contained (its own read transactions), and
 * the hub log append is safe alongside the sync and engine threads.
 */
#ifndef FT_HUB_BUNDLE_H
#define FT_HUB_BUNDLE_H

#include "hubparts.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *case_id;      /* the case to export */
    const char *out;          /* directory, or FILE.tar */
    bool sealed;              /* media re-encrypted to recipient_pk */
    uint8_t recipient_pk[32]; /* X25519 public key of the recipient */
    const char *by;           /* who exports (audit); NULL = "-" */
    bool allow_stale;         /* export even if the case index is behind the store */
    bool no_audit;            /* archive: the archive's own audit entry covers it */
    int64_t now_ms;           /* creation time (0 = the wall clock; --now) */
    /* Already open handles (borrowed), for a caller inside a process that
     * has them open (the running hub): LMDB must not open one environment
     * twice in a process. NULL: opened and closed here. */
    struct index_t *index; /* STATE/index (engine_index) */
    struct hub_mdb_t *mdb; /* STATE/mediadb */
    /* Told how far the export is, in two phases: "media" (bytes of media
     * written of those to include), then "hash" (bytes of the bundle's files
     * hashed for its manifest, of all of them). May be NULL. */
    void (*progress)(void *ctx, const char *phase, uint64_t done, uint64_t total);
    void *progress_ctx;
} bundle_opts_t;

typedef struct {
    size_t records, media, media_included, media_deleted, devices, files;
    uint64_t bytes;         /* the bundle's size: the bytes of its files */
    char manifest_hash[65]; /* BLAKE2b-256 of bundle.json, hex */
    uint64_t audit_seq;     /* the audit entry in the hub log */
} bundle_result_t;

/* Exports o->case_id for the hub in ctx (its store and log open).
 * FT_OK, FT_ENOTFOUND (no such case), FT_EEXIST (out exists), FT_EINVAL
 * (index behind the store without allow_stale), FT_EIO, FT_ENOMEM; err gets
 * a sentence for the operator. */
int bundle_export(const hub_parts_t *ctx, const bundle_opts_t *o, bundle_result_t *res, char *err,
                  size_t errlen) FT_MUST_CHECK;

#endif
