/* media_test.c: chunk encryption, hashes, Merkle root and key sealing. */
#include "keys.h"
#include "media.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void chunk_counts_cover_the_file_and_empty_file_has_one(void **state)
{
    (void)state;
    assert_int_equal(media_chunk_count(0, 1024), 1);
    assert_int_equal(media_chunk_count(1, 1024), 1);
    assert_int_equal(media_chunk_count(1024, 1024), 1);
    assert_int_equal(media_chunk_count(1025, 1024), 2);
    assert_int_equal(media_chunk_count((uint64_t)1 << 30, MEDIA_CHUNK_SIZE), 1024);
    assert_int_equal(media_chunk_len(1025, 1024, 0), 1024);
    assert_int_equal(media_chunk_len(1025, 1024, 1), 1);
    assert_int_equal(media_chunk_len(0, 1024, 0), 0);
}

static void chunk_round_trips_and_any_flipped_bit_is_refused(void **state)
{
    (void)state;
    uint8_t key[MEDIA_KEY_BYTES], id[MEDIA_FILE_ID_BYTES];
    media_key_new(key);
    media_file_id_new(id);
    uint8_t plain[1000], ct[1000 + MEDIA_TAG_BYTES], back[1000];
    randombytes_buf(plain, sizeof plain);
    assert_int_equal(media_chunk_encrypt(key, id, 7, plain, sizeof plain, ct), FT_OK);
    assert_memory_not_equal(ct, plain, sizeof plain);
    assert_int_equal(media_chunk_decrypt(key, id, 7, ct, sizeof ct, back), FT_OK);
    assert_memory_equal(back, plain, sizeof plain);
    for (size_t i = 0; i < sizeof ct; i += 97) {
        ct[i] ^= 0x01;
        assert_int_equal(media_chunk_decrypt(key, id, 7, ct, sizeof ct, back), FT_ECRYPTO);
        ct[i] ^= 0x01;
    }
    /* A chunk moved to another position or file does not decrypt. */
    assert_int_equal(media_chunk_decrypt(key, id, 8, ct, sizeof ct, back), FT_ECRYPTO);
    uint8_t other[MEDIA_FILE_ID_BYTES];
    memcpy(other, id, sizeof other);
    other[0] ^= 1;
    assert_int_equal(media_chunk_decrypt(key, other, 7, ct, sizeof ct, back), FT_ECRYPTO);
    assert_int_equal(media_chunk_decrypt(key, id, 7, ct, 3, back), FT_ECRYPTO);
}

static void nonce_is_file_id_then_big_endian_index(void **state)
{
    (void)state;
    uint8_t id[MEDIA_FILE_ID_BYTES], n[MEDIA_NONCE_BYTES];
    memset(id, 0xAB, sizeof id);
    media_nonce(id, 0x01020304, n);
    assert_memory_equal(n, id, sizeof id);
    const uint8_t tail[8] = {0, 0, 0, 0, 1, 2, 3, 4};
    assert_memory_equal(n + 16, tail, 8);
}

static void chunk_hash_binds_content_and_position(void **state)
{
    (void)state;
    uint8_t id[MEDIA_FILE_ID_BYTES], a[32], b[32];
    media_file_id_new(id);
    uint8_t data[64] = {1, 2, 3};
    media_chunk_hash(id, 0, data, sizeof data, a);
    media_chunk_hash(id, 0, data, sizeof data, b);
    assert_memory_equal(a, b, 32);
    media_chunk_hash(id, 1, data, sizeof data, b);
    assert_memory_not_equal(a, b, 32);
    data[63] ^= 1;
    media_chunk_hash(id, 0, data, sizeof data, b);
    assert_memory_not_equal(a, b, 32);
    /* Domain-separated: not the plain SHA-256 of the bytes... */
    data[63] ^= 1;
    crypto_hash_sha256(b, data, sizeof data);
    assert_memory_not_equal(a, b, 32);
    /* ...but SHA-256 of domain || file id || u32be(index) || bytes (format
     * 2), checked here with libsodium's SHA-256 rather than ours. */
    const char dom[] = "fieldtrail/chunk-hash/v2";
    const uint8_t pos[4] = {0, 0, 0, 7};
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)dom, sizeof dom);
    crypto_hash_sha256_update(&st, id, sizeof id);
    crypto_hash_sha256_update(&st, pos, sizeof pos);
    crypto_hash_sha256_update(&st, data, sizeof data);
    crypto_hash_sha256_final(&st, b);
    media_chunk_hash(id, 7, data, sizeof data, a);
    assert_memory_equal(a, b, 32);
}

static void merkle_root_of_one_is_the_leaf_and_odd_node_is_carried_up(void **state)
{
    (void)state;
    uint8_t h[5][32], root[32], manual[32], ab[32], cd[32], abcd[32];
    for (int i = 0; i < 5; i++) {
        memset(h[i], i + 1, 32);
    }
    assert_int_equal(media_merkle_root(h, 1, root), FT_OK);
    assert_memory_equal(root, h[0], 32);
    assert_int_equal(media_merkle_root(h, 0, root), FT_EINVAL);
    /* 5 leaves: ((ab)(cd))(e) with e carried up unchanged twice. */
    crypto_hash_sha256_state st;
    const char dom[] = "fieldtrail/merkle/v2";
    uint8_t *pairs[3][3] = {{h[0], h[1], ab}, {h[2], h[3], cd}, {ab, cd, abcd}};
    for (int i = 0; i < 3; i++) {
        crypto_hash_sha256_init(&st);
        crypto_hash_sha256_update(&st, (const uint8_t *)dom, sizeof dom);
        crypto_hash_sha256_update(&st, pairs[i][0], 32);
        crypto_hash_sha256_update(&st, pairs[i][1], 32);
        crypto_hash_sha256_final(&st, pairs[i][2]);
    }
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)dom, sizeof dom);
    crypto_hash_sha256_update(&st, abcd, 32);
    crypto_hash_sha256_update(&st, h[4], 32);
    crypto_hash_sha256_final(&st, manual);
    assert_int_equal(media_merkle_root(h, 5, root), FT_OK);
    assert_memory_equal(root, manual, 32);
    /* Changing any leaf changes the root; so does dropping the last one. */
    uint8_t other[32];
    for (int i = 0; i < 5; i++) {
        h[i][0] ^= 1;
        assert_int_equal(media_merkle_root(h, 5, other), FT_OK);
        assert_memory_not_equal(root, other, 32);
        h[i][0] ^= 1;
    }
    assert_int_equal(media_merkle_root(h, 4, other), FT_OK);
    assert_memory_equal(other, abcd, 32);
    assert_memory_not_equal(root, other, 32);
}

static void sealed_key_opens_only_with_the_archive_pair(void **state)
{
    (void)state;
    keys_t hub, other;
    assert_int_equal(keys_generate(&hub, true), FT_OK);
    assert_int_equal(keys_generate(&other, true), FT_OK);
    uint8_t key[32], sealed[MEDIA_SEALED_KEY_BYTES], back[32];
    media_key_new(key);
    assert_int_equal(media_key_seal(key, hub.archive_pk, sealed), FT_OK);
    assert_int_equal(media_key_unseal(sealed, sizeof sealed, hub.archive_pk, hub.archive_sk, back),
                     FT_OK);
    assert_memory_equal(key, back, 32);
    assert_int_equal(
        media_key_unseal(sealed, sizeof sealed, other.archive_pk, other.archive_sk, back),
        FT_ECRYPTO);
    sealed[5] ^= 1;
    assert_int_equal(media_key_unseal(sealed, sizeof sealed, hub.archive_pk, hub.archive_sk, back),
                     FT_ECRYPTO);
    assert_int_equal(media_key_unseal(sealed, 10, hub.archive_pk, hub.archive_sk, back), FT_EINVAL);
    keys_wipe(&hub);
    keys_wipe(&other);
}

static void content_hash_is_plain_sha256_streamed(void **state)
{
    (void)state;
    uint8_t data[3000], whole[32], streamed[32];
    randombytes_buf(data, sizeof data);
    crypto_hash_sha256(whole, data, sizeof data);
    media_content_t c;
    media_content_init(&c);
    media_content_update(&c, data, 1000);
    media_content_update(&c, data + 1000, 2000);
    media_content_final(&c, streamed);
    assert_memory_equal(whole, streamed, 32);
}

static void whole_file_encrypt_hash_then_decrypt_detects_a_tampered_chunk(void **state)
{
    (void)state;
    const uint32_t cs = 4096;
    const size_t size = 3 * cs + 100;
    uint8_t *plain = malloc(size);
    assert_non_null(plain);
    randombytes_buf(plain, size);
    uint8_t key[32], id[16];
    media_key_new(key);
    media_file_id_new(id);
    uint32_t n = media_chunk_count(size, cs);
    assert_int_equal(n, 4);
    uint8_t(*ct)[4096 + MEDIA_TAG_BYTES] = calloc(n, sizeof *ct);
    uint8_t hashes[4][32], root[32];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = media_chunk_len(size, cs, i);
        assert_int_equal(media_chunk_encrypt(key, id, i, plain + (size_t)i * cs, len, ct[i]),
                         FT_OK);
        media_chunk_hash(id, i, ct[i], len + MEDIA_TAG_BYTES, hashes[i]);
    }
    assert_int_equal(media_merkle_root(hashes, n, root), FT_OK);
    /* At rest, chunk 2 is altered: its hash no longer matches the manifest. */
    ct[2][10] ^= 0x80;
    uint8_t check[32];
    media_chunk_hash(id, 2, ct[2], cs + MEDIA_TAG_BYTES, check);
    assert_memory_not_equal(check, hashes[2], 32);
    /* The others still match and decrypt. */
    uint8_t out[4096];
    for (uint32_t i = 0; i < n; i++) {
        if (i == 2) {
            continue;
        }
        uint32_t len = media_chunk_len(size, cs, i);
        media_chunk_hash(id, i, ct[i], len + MEDIA_TAG_BYTES, check);
        assert_memory_equal(check, hashes[i], 32);
        assert_int_equal(media_chunk_decrypt(key, id, i, ct[i], len + MEDIA_TAG_BYTES, out), FT_OK);
        assert_memory_equal(out, plain + (size_t)i * cs, len);
    }
    free(ct);
    free(plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chunk_counts_cover_the_file_and_empty_file_has_one),
        cmocka_unit_test(chunk_round_trips_and_any_flipped_bit_is_refused),
        cmocka_unit_test(nonce_is_file_id_then_big_endian_index),
        cmocka_unit_test(chunk_hash_binds_content_and_position),
        cmocka_unit_test(merkle_root_of_one_is_the_leaf_and_odd_node_is_carried_up),
        cmocka_unit_test(sealed_key_opens_only_with_the_archive_pair),
        cmocka_unit_test(content_hash_is_plain_sha256_streamed),
        cmocka_unit_test(whole_file_encrypt_hash_then_decrypt_detects_a_tampered_chunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
