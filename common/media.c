/* media.c: chunk encryption, hashes, Merkle root, key sealing (see media.h). */
#include "media.h"

#include <stdlib.h>
#include <string.h>

static const char chunk_aad[] = "fieldtrail/chunk/v1";
static const char chunk_dom[] = "fieldtrail/chunk-hash/v2"; /* hashed with its NUL */
static const char merkle_dom[] = "fieldtrail/merkle/v2";

uint32_t media_chunk_count(uint64_t size, uint32_t chunk_size)
{
    if (size == 0) {
        return 1;
    }
    return (uint32_t)((size + chunk_size - 1) / chunk_size);
}

uint32_t media_chunk_len(uint64_t size, uint32_t chunk_size, uint32_t index)
{
    uint64_t off = (uint64_t)index * chunk_size;
    if (off >= size) {
        return 0;
    }
    uint64_t left = size - off;
    return left < chunk_size ? (uint32_t)left : chunk_size;
}

void media_file_id_new(uint8_t id[MEDIA_FILE_ID_BYTES])
{
    randombytes_buf(id, MEDIA_FILE_ID_BYTES);
}

void media_key_new(uint8_t key[MEDIA_KEY_BYTES])
{
    crypto_aead_xchacha20poly1305_ietf_keygen(key);
}

void media_nonce(const uint8_t file_id[MEDIA_FILE_ID_BYTES], uint32_t index,
                 uint8_t nonce[MEDIA_NONCE_BYTES])
{
    memcpy(nonce, file_id, MEDIA_FILE_ID_BYTES);
    uint64_t v = index;
    for (int i = 0; i < 8; i++) {
        nonce[MEDIA_FILE_ID_BYTES + i] = (uint8_t)(v >> (56 - 8 * i));
    }
}

int media_chunk_encrypt(const uint8_t key[MEDIA_KEY_BYTES],
                        const uint8_t file_id[MEDIA_FILE_ID_BYTES], uint32_t index,
                        const uint8_t *plain, size_t len, uint8_t *out)
{
    uint8_t nonce[MEDIA_NONCE_BYTES];
    media_nonce(file_id, index, nonce);
    unsigned long long clen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(out, &clen, plain, len,
                                                   (const uint8_t *)chunk_aad, sizeof chunk_aad - 1,
                                                   NULL, nonce, key) != 0) {
        return FT_ECRYPTO;
    }
    return FT_OK;
}

int media_chunk_decrypt(const uint8_t key[MEDIA_KEY_BYTES],
                        const uint8_t file_id[MEDIA_FILE_ID_BYTES], uint32_t index,
                        const uint8_t *ct, size_t ct_len, uint8_t *out)
{
    if (ct_len < MEDIA_TAG_BYTES) {
        return FT_ECRYPTO;
    }
    uint8_t nonce[MEDIA_NONCE_BYTES];
    media_nonce(file_id, index, nonce);
    unsigned long long plen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &plen, NULL, ct, ct_len,
                                                   (const uint8_t *)chunk_aad, sizeof chunk_aad - 1,
                                                   nonce, key) != 0) {
        return FT_ECRYPTO;
    }
    return FT_OK;
}

void media_chunk_hash(const uint8_t file_id[MEDIA_FILE_ID_BYTES], uint32_t index, const uint8_t *ct,
                      size_t ct_len, uint8_t out[MEDIA_HASH_BYTES])
{
    ft_sha256_t st;
    uint8_t pos[4] = {(uint8_t)(index >> 24), (uint8_t)(index >> 16), (uint8_t)(index >> 8),
                      (uint8_t)index};
    ft_sha256_init(&st);
    ft_sha256_update(&st, (const uint8_t *)chunk_dom, sizeof chunk_dom);
    ft_sha256_update(&st, file_id, MEDIA_FILE_ID_BYTES);
    ft_sha256_update(&st, pos, sizeof pos);
    ft_sha256_update(&st, ct, ct_len);
    ft_sha256_final(&st, out);
}

static void merkle_parent(const uint8_t l[MEDIA_HASH_BYTES], const uint8_t r[MEDIA_HASH_BYTES],
                          uint8_t out[MEDIA_HASH_BYTES])
{
    ft_sha256_t st;
    ft_sha256_init(&st);
    ft_sha256_update(&st, (const uint8_t *)merkle_dom, sizeof merkle_dom);
    ft_sha256_update(&st, l, MEDIA_HASH_BYTES);
    ft_sha256_update(&st, r, MEDIA_HASH_BYTES);
    ft_sha256_final(&st, out);
}

int media_merkle_root(const uint8_t (*hashes)[MEDIA_HASH_BYTES], size_t n,
                      uint8_t root[MEDIA_HASH_BYTES])
{
    if (n == 0) {
        return FT_EINVAL;
    }
    uint8_t(*level)[MEDIA_HASH_BYTES] = malloc(n * MEDIA_HASH_BYTES);
    if (!level) {
        return FT_ENOMEM;
    }
    memcpy(level, hashes, n * MEDIA_HASH_BYTES);
    while (n > 1) {
        size_t up = 0;
        for (size_t i = 0; i + 1 < n; i += 2) {
            merkle_parent(level[i], level[i + 1], level[up++]);
        }
        if (n % 2 == 1) {
            memmove(level[up++], level[n - 1], MEDIA_HASH_BYTES);
        }
        n = up;
    }
    memcpy(root, level[0], MEDIA_HASH_BYTES);
    free(level);
    return FT_OK;
}

int media_key_seal(const uint8_t key[MEDIA_KEY_BYTES], const uint8_t archive_pk[32],
                   uint8_t sealed[MEDIA_SEALED_KEY_BYTES])
{
    _Static_assert(MEDIA_SEALED_KEY_BYTES == MEDIA_KEY_BYTES + crypto_box_SEALBYTES,
                   "sealed key size");
    return crypto_box_seal(sealed, key, MEDIA_KEY_BYTES, archive_pk) == 0 ? FT_OK : FT_ECRYPTO;
}

int media_key_unseal(const uint8_t *sealed, size_t sealed_len, const uint8_t archive_pk[32],
                     const uint8_t archive_sk[32], uint8_t key[MEDIA_KEY_BYTES])
{
    if (sealed_len != MEDIA_SEALED_KEY_BYTES) {
        return FT_EINVAL;
    }
    if (crypto_box_seal_open(key, sealed, sealed_len, archive_pk, archive_sk) != 0) {
        sodium_memzero(key, MEDIA_KEY_BYTES);
        return FT_ECRYPTO;
    }
    return FT_OK;
}

void media_content_init(media_content_t *c)
{
    ft_sha256_init(&c->st);
}

void media_content_update(media_content_t *c, const uint8_t *data, size_t len)
{
    ft_sha256_update(&c->st, data, len);
}

void media_content_final(media_content_t *c, uint8_t out[MEDIA_HASH_BYTES])
{
    ft_sha256_final(&c->st, out); /* wipes the state */
}
