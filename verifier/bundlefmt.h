/* bundlefmt.h: the on-disk form of a case bundle and of an archive, shared by
 * the writer in the hub (hub/retention/bundle.c) and the standalone verifier
 * (fieldtrail-verify). Nothing here touches a hub store or the network.
 *
 * A bundle is a directory (or a ustar file holding the same tree):
 *   bundle.json   the manifest, signed by the hub (docs/retention.md)
 *   bundle.sig    hex Ed25519 signature of
 *                 BLAKE2b-256("fieldtrail/bundle/v1\0" || bundle.json bytes)
 *   every other file is listed in bundle.json with its size and
 *   BLAKE2b-256 (`b2sum -l 256`), so a changed, missing or added file shows.
 * An archive (disc image) is a directory with archive.json / archive.sig
 * (domain "fieldtrail/archive/v1") listing each bundle's directory and the
 * hash of its bundle.json.
 *
 * Frames: logs, receipts and hub-log extracts are files of frames
 *   u32 big-endian length || that many bytes
 * each frame one SignedEntry (or SignedReceipt) exactly as stored.
 *
 * Sources (bsrc_*): a bundle read from a directory or a tar file, as a list
 * of regular files with their sizes, read by name. Borrowed names stay valid
 * until bsrc_destroy.
 */
#ifndef FT_BUNDLEFMT_H
#define FT_BUNDLEFMT_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BUNDLE_FORMAT "fieldtrail-bundle/1"
#define ARCHIVE_FORMAT "fieldtrail-archive/1"
#define BUNDLE_MANIFEST "bundle.json"
#define BUNDLE_SIG "bundle.sig"
#define ARCHIVE_MANIFEST "archive.json"
#define ARCHIVE_SIG "archive.sig"
#define BUNDLE_DOMAIN "fieldtrail/bundle/v1"
#define ARCHIVE_DOMAIN "fieldtrail/archive/v1"
#define BUNDLE_HASH_BYTES 32
#define BUNDLE_SIG_HEX 129
/* Largest manifest or frame file read whole into memory. */
#define BUNDLE_MAX_READ ((size_t)1 << 30)
/* Longest path inside a bundle. */
#define BUNDLE_PATH_MAX 512

/* Domain-separated hash of a manifest's bytes. */
void bundle_manifest_hash(const char *domain, const uint8_t *bytes, size_t len,
                          uint8_t out[BUNDLE_HASH_BYTES]);
/* Signs a manifest: hex signature into sig_hex. FT_OK or FT_ECRYPTO. */
int bundle_sign(const char *domain, const uint8_t *bytes, size_t len, const uint8_t sign_sk[64],
                char sig_hex[BUNDLE_SIG_HEX]) FT_MUST_CHECK;
/* Checks a signature file's text (hex, surrounding white space allowed).
 * FT_OK, FT_EINVAL (not a signature), FT_EBADSIG. */
int bundle_sig_check(const char *domain, const uint8_t *bytes, size_t len,
                     const uint8_t sign_pk[32], const char *sig_text, size_t sig_len) FT_MUST_CHECK;

/* Appends one frame. FT_OK or FT_EIO. */
int bframe_write(FILE *f, const uint8_t *p, size_t n) FT_MUST_CHECK;
/* Walks frames of a buffer. */
typedef struct {
    const uint8_t *p;
    size_t n, off;
} bframe_reader_t;
/* 1 and the next frame (borrowed), 0 at the end, FT_ECORRUPT if truncated. */
int bframe_next(bframe_reader_t *r, const uint8_t **p, size_t *n) FT_MUST_CHECK;

/* True if name is a safe relative path (no "..", no leading '/', no empty
 * component, printable, at most BUNDLE_PATH_MAX bytes). */
bool bundle_path_ok(const char *name);

typedef struct bsrc_t bsrc_t;
/* Opens a directory or a ustar file. FT_OK, FT_ENOTFOUND, FT_EIO,
 * FT_ECORRUPT (a tar that does not parse), FT_ENOMEM. */
int bsrc_open(const char *path, bsrc_t **out) FT_MUST_CHECK;
void bsrc_destroy(bsrc_t **s_p);
/* Number of regular files and the i-th (sorted by name). */
size_t bsrc_count(const bsrc_t *s);
const char *bsrc_name(const bsrc_t *s, size_t i);
/* Index of name, or -1. */
long bsrc_find(const bsrc_t *s, const char *name);
uint64_t bsrc_size(const bsrc_t *s, size_t i);
/* Reads a whole file (at most BUNDLE_MAX_READ) into a NUL-terminated buffer
 * (caller frees). FT_OK, FT_ENOTFOUND, FT_EIO, FT_EINVAL (too big), FT_ENOMEM. */
int bsrc_read(const bsrc_t *s, const char *name, uint8_t **buf, size_t *len) FT_MUST_CHECK;
/* Reads len bytes at off of file i. FT_OK or FT_EIO (short). */
int bsrc_pread(const bsrc_t *s, size_t i, uint64_t off, void *buf, size_t len) FT_MUST_CHECK;
/* BLAKE2b-256 of file i. FT_OK or FT_EIO. */
int bsrc_hash(const bsrc_t *s, size_t i, uint8_t out[BUNDLE_HASH_BYTES]) FT_MUST_CHECK;
/* BLAKE2b-256 of a file on disk and its size. FT_OK, FT_EIO. */
int bundle_hash_file(const char *path, uint8_t out[BUNDLE_HASH_BYTES],
                     uint64_t *size) FT_MUST_CHECK;

/* Writes a ustar file of the regular files `names` (relative to dir), in
 * that order, atomically (temp file, fsync, rename). FT_OK, FT_EIO, FT_EINVAL
 * (a name too long for ustar). */
int btar_write(const char *tar_path, const char *dir, const char *const *names,
               size_t n) FT_MUST_CHECK;

#endif
