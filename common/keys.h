/* keys.h: a device's (or the hub's) key pairs and its device ID.
 *
 * Every writer has an Ed25519 signing key (signs log entries) and a
 * Curve25519 transport key (CurveZMQ). The hub also has an X25519 archive
 * key to which media keys are sealed. Device ID = the first 10 bytes of
 * BLAKE2b("fieldtrail-device-id" || signing public key); its text form is
 * Crockford base32 of the ID plus 4 check characters, grouped by 4:
 * "K7Q2-MX9P-D4TR-HW58-NBC3". Case, dashes, spaces and O/I/L are forgiven
 * when reading one back; a mistyped character fails the checksum.
 *
 * Key files are "name = hex" lines; the secret file is written with mode
 * 0600 atomically. Secrets are wiped by keys_wipe on every exit path.
 */
#ifndef FT_KEYS_H
#define FT_KEYS_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEVID_BYTES 10
#define DEVID_TEXT_SIZE 25 /* 20 characters, 4 dashes, NUL */
#define KEY_HEX_SIZE 129   /* hex of the longest key (64 bytes) + NUL */

/* All key material of one writer. archive_* is used only by the hub. */
typedef struct {
    uint8_t sign_pk[32];    /* Ed25519 public: verifies log entries */
    uint8_t sign_sk[64];    /* Ed25519 secret: signs log entries */
    uint8_t box_pk[32];     /* Curve25519 public: CurveZMQ identity */
    uint8_t box_sk[32];     /* Curve25519 secret */
    bool has_archive;       /* archive pair present (hub only) */
    uint8_t archive_pk[32]; /* X25519 public: media keys are sealed to it */
    uint8_t archive_sk[32]; /* X25519 secret: unseals media keys */
} keys_t;

/* Fresh random keys; with_archive adds the archive pair. FT_OK or FT_ECRYPTO. */
int keys_generate(keys_t *k, bool with_archive) FT_MUST_CHECK;
/* Writes all keys (secret) to path with mode 0600. */
int keys_save(const keys_t *k, const char *path) FT_MUST_CHECK;
/* Writes only the public keys and the device ID (mode 0644). */
int keys_save_public(const keys_t *k, const char *path) FT_MUST_CHECK;
/* Loads keys written by keys_save; checks that each public key matches its
 * secret. FT_OK, FT_ENOTFOUND, FT_EKEY (malformed or inconsistent). */
int keys_load(keys_t *k, const char *path) FT_MUST_CHECK;
/* Wipes secrets from memory. */
void keys_wipe(keys_t *k);

/* Device ID of a signing public key. */
void devid_from_pk(const uint8_t pk[32], uint8_t id[DEVID_BYTES]);
/* Text form of a device ID into out[DEVID_TEXT_SIZE]. */
void devid_format(const uint8_t id[DEVID_BYTES], char out[DEVID_TEXT_SIZE]);
/* Parses the text form; FT_EINVAL if malformed or the checksum fails. */
int devid_parse(const char *text, uint8_t id[DEVID_BYTES]) FT_MUST_CHECK;

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* Parses exactly n bytes of hex; FT_EINVAL otherwise. */
int hex_decode(const char *in, uint8_t *out, size_t n) FT_MUST_CHECK;

#endif
