/* bundlecheck.h: THIS is where a case bundle or an archive is verified,
 * without a hub and without a network (fieldtrail-verify, docs/retention.md).
 *
 * Order of the checks for one bundle (each failure is a problem naming the
 * item; checking goes on so that every problem is named):
 *   1. bundle.json parses and bundle.sig is the hub's signature over it
 *      (the hub key is the one in bundle.json, or the one the caller pins);
 *   2. every file listed in bundle.json is there with its size and hash
 *      (altered / missing), and no other file is (added);
 *   3. each device's ID is the hash of its signing key;
 *   4. each device log is complete from seq 1, every entry signed by its
 *      device and chained to the one before;
 *   5. each hub receipt is signed by the hub and names an entry hash that
 *      the log has at that seq;
 *   6. each hub-log extract entry is signed by the hub;
 *   7. each listed item is in a log and is what the list says; each media
 *      file matches its signed manifest (size, content hash, and chunk
 *      hashes and Merkle root: from the ciphertext, or by re-encrypting the
 *      plaintext with the file key); a media file not included is either
 *      shown deleted by a signed Deletion entry or said to be absent;
 *   8. no record or media manifest of the case in the logs is left out of
 *      the item list.
 * An archive (archive.json) is checked the same way at its level (files and
 * bundle manifests listed and signed), then each bundle in it.
 */
#ifndef FT_BUNDLECHECK_H
#define FT_BUNDLECHECK_H

#include "error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    bool pin_hub;       /* hub_pk must equal the bundle's hub key */
    uint8_t hub_pk[32]; /* the hub signing key the caller trusts */
    bool has_secret;    /* recipient secret given: open sealed media */
    uint8_t recipient_pk[32];
    uint8_t recipient_sk[32];
    const char *extract_dir; /* with has_secret: write sealed media that verify here */
    /* Told how far the check is, in bytes read: every file is read once to
     * check its hash and each media file once more against its manifest.
     * May be NULL. (One check at a time per process: the count is kept in
     * bcheck_path.) */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
} bcheck_opts_t;

/* Verifies the bundle or archive at path (a directory or a tar file).
 * *report gets a new JSON object:
 *   {"ok": bool, "kind": "bundle"|"archive", "problems": [{"item", "what",
 *    "detail"}], "notes": [...], "case": ..., "counts": {...},
 *    "hub": {"device_id", "sign_pk"}, "bundles": [reports] (archives)}
 * Returns FT_OK when the checks ran (the verdict is in the report), or
 * FT_ENOTFOUND / FT_EIO / FT_ECORRUPT / FT_ENOMEM when path cannot be read
 * at all. */
int bcheck_path(const char *path, const bcheck_opts_t *opts, json_t **report) FT_MUST_CHECK;

/* Prints a report as the plain verdict (what fieldtrail-verify prints). */
void bcheck_print(const json_t *report, FILE *out);

#endif
