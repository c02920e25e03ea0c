/* media.h: chunking, encryption and hashing of media files (docs/media.md).
 *
 * A media file is cut into fixed-size chunks (MEDIA_CHUNK_SIZE, 1 MiB by
 * default; the manifest carries the size used). Each file gets a random
 * 32-byte key; chunk i is encrypted with XChaCha20-Poly1305 (IETF):
 *   nonce(24) = file_id(16) || u64be(i)
 *   aad       = "fieldtrail/chunk/v1"
 *   stored    = ciphertext || tag(16)          (plaintext length + 16 bytes)
 * The nonce is unique because the key is fresh per file and the index is
 * unique per chunk; deriving it (instead of storing it) lets any chunk be
 * fetched and decrypted alone.
 * Media format 2 (MEDIA_FORMAT; the manifest says which):
 *   chunk_hash(i) = SHA-256("fieldtrail/chunk-hash/v2\0" || file_id ||
 *                           u32be(i) || stored bytes)
 * binds a chunk to its file and position, so a chunk cannot be moved.
 *   merkle: leaves are the chunk hashes in order; a parent is
 *   SHA-256("fieldtrail/merkle/v2\0" || left || right); a level with an
 *   odd count carries its last node up unchanged (it is not duplicated, so
 *   two different chunk lists never share a root). One leaf: root = leaf.
 *   content_hash = plain SHA-256 of the plaintext file (no prefix, so
 *   `sha256sum FILE` checks it with any tool).
 * SHA-256 rather than BLAKE2b (format 1) because CPUs with SHA extensions
 * (common/sha256.c) hash 3-4x faster than BLAKE2b in software, and the hub
 * hashes every byte twice (chunk, then content).
 * The file key is sealed to the hub's archive X25519 key with
 * crypto_box_seal (MEDIA_SEALED_KEY_BYTES); only the hub can unseal it.
 * A file of size 0 has one chunk of 0 plaintext bytes.
 *
 * Secrets (keys) are the caller's to wipe; functions here wipe their own
 * temporaries.
 */
#ifndef FT_MEDIA_H
#define FT_MEDIA_H

#include "error.h"
#include "sha256.h"

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 1 MiB: big enough that the per-chunk costs (one LMDB value of 257
 * overflow pages, one AEAD tag, one 32-byte hash in the signed manifest, one
 * request round trip) are negligible, small enough that a cut link loses at
 * most a second of transfer and a 30000-chunk manifest (~30 GiB file) still
 * fits in one log entry. */
#define MEDIA_CHUNK_SIZE ((uint32_t)1 << 20)
#define MEDIA_CHUNK_MIN ((uint32_t)64 << 10)
#define MEDIA_CHUNK_MAX ((uint32_t)8 << 20)
#define MEDIA_FILE_ID_BYTES 16
#define MEDIA_KEY_BYTES 32
#define MEDIA_TAG_BYTES 16
#define MEDIA_NONCE_BYTES 24
#define MEDIA_HASH_BYTES 32
#define MEDIA_SEALED_KEY_BYTES (MEDIA_KEY_BYTES + 48) /* + crypto_box_SEALBYTES */
/* Most chunks one manifest may list (its hashes must fit in one entry). */
#define MEDIA_MAX_CHUNKS 30000u
/* The media format this code writes and reads (MediaManifest.format). */
#define MEDIA_FORMAT 2u

/* The media format of a manifest: its `format` field, or 1 when it has none
 * (edges before format 2 did not write it). */
static inline uint32_t media_manifest_format(bool has_format, uint32_t format)
{
    return has_format ? format : 1;
}

/* Number of chunks of a file of size bytes (at least 1). */
uint32_t media_chunk_count(uint64_t size, uint32_t chunk_size);
/* Plaintext length of chunk index. */
uint32_t media_chunk_len(uint64_t size, uint32_t chunk_size, uint32_t index);

/* Fresh random file ID and key. */
void media_file_id_new(uint8_t id[MEDIA_FILE_ID_BYTES]);
void media_key_new(uint8_t key[MEDIA_KEY_BYTES]);
/* The nonce of chunk index of file_id. */
void media_nonce(const uint8_t file_id[MEDIA_FILE_ID_BYTES], uint32_t index,
                 uint8_t nonce[MEDIA_NONCE_BYTES]);

/* Encrypts len plaintext bytes into out (len + MEDIA_TAG_BYTES). FT_OK. */
int media_chunk_encrypt(const uint8_t key[MEDIA_KEY_BYTES],
                        const uint8_t file_id[MEDIA_FILE_ID_BYTES], uint32_t index,
                        const uint8_t *plain, size_t len, uint8_t *out) FT_MUST_CHECK;
/* Decrypts a stored chunk (ct_len >= MEDIA_TAG_BYTES) into out (ct_len -
 * MEDIA_TAG_BYTES). FT_ECRYPTO if it was altered or the key/position is wrong. */
int media_chunk_decrypt(const uint8_t key[MEDIA_KEY_BYTES],
                        const uint8_t file_id[MEDIA_FILE_ID_BYTES], uint32_t index,
                        const uint8_t *ct, size_t ct_len, uint8_t *out) FT_MUST_CHECK;
/* Hash of a stored (encrypted) chunk at its position. */
void media_chunk_hash(const uint8_t file_id[MEDIA_FILE_ID_BYTES], uint32_t index, const uint8_t *ct,
                      size_t ct_len, uint8_t out[MEDIA_HASH_BYTES]);
/* Merkle root of n chunk hashes (n >= 1). FT_OK, FT_EINVAL (n 0), FT_ENOMEM. */
int media_merkle_root(const uint8_t (*hashes)[MEDIA_HASH_BYTES], size_t n,
                      uint8_t root[MEDIA_HASH_BYTES]) FT_MUST_CHECK;

/* Seals key to the archive public key. FT_OK or FT_ECRYPTO. */
int media_key_seal(const uint8_t key[MEDIA_KEY_BYTES], const uint8_t archive_pk[32],
                   uint8_t sealed[MEDIA_SEALED_KEY_BYTES]) FT_MUST_CHECK;
/* Opens a sealed key with the archive pair. FT_ECRYPTO if it was not sealed
 * to this pair or was altered, FT_EINVAL if the length is wrong. */
int media_key_unseal(const uint8_t *sealed, size_t sealed_len, const uint8_t archive_pk[32],
                     const uint8_t archive_sk[32], uint8_t key[MEDIA_KEY_BYTES]) FT_MUST_CHECK;

/* Streaming content hash (plain SHA-256 of the plaintext). */
typedef struct {
    ft_sha256_t st;
} media_content_t;
void media_content_init(media_content_t *c);
void media_content_update(media_content_t *c, const uint8_t *data, size_t len);
void media_content_final(media_content_t *c, uint8_t out[MEDIA_HASH_BYTES]);

#endif
