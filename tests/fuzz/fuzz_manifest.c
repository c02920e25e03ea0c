/* fuzz_manifest.c: libFuzzer target for a media manifest reached the way
 * the hub reaches it: a log entry's Body decoded from bytes
 * (ft__body__unpack), then what is done with a manifest that came from an
 * edge: the chunk count it implies (media_chunk_count), the Merkle root over
 * its chunk hashes when they are well-formed (media_merkle_root), its JSON
 * for listings (body_to_json) and its one-line summary.
 *
 * The hub's own manifest checks before pulling chunks are static in
 * hub/media/mediapull.c and not reachable from here.
 *
 * Pins: no input crashes, leaks or reads out of bounds.
 */
#include "bodyjson.h"
#include "media.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void manifest(const Ft__MediaManifest *mf)
{
    if (mf->chunk_size >= MEDIA_CHUNK_MIN && mf->chunk_size <= MEDIA_CHUNK_MAX) {
        uint32_t n = media_chunk_count(mf->size, mf->chunk_size);
        if (n >= 1 && n <= MEDIA_MAX_CHUNKS) {
            (void)media_chunk_len(mf->size, mf->chunk_size, n - 1);
        }
    }
    size_t n = mf->n_chunk_hashes;
    if (n == 0 || n > MEDIA_MAX_CHUNKS) {
        return;
    }
    uint8_t(*h)[MEDIA_HASH_BYTES] = malloc(n * MEDIA_HASH_BYTES);
    if (!h) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (mf->chunk_hashes[i].len != MEDIA_HASH_BYTES) {
            free(h);
            return;
        }
        memcpy(h[i], mf->chunk_hashes[i].data, MEDIA_HASH_BYTES);
    }
    uint8_t root[MEDIA_HASH_BYTES];
    if (media_merkle_root((const uint8_t(*)[MEDIA_HASH_BYTES])h, n, root) != FT_OK) {
        abort(); /* n >= 1: must work */
    }
    free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Ft__Body *b = ft__body__unpack(NULL, size, data);
    if (!b) {
        return 0;
    }
    if (b->kind_case == FT__BODY__KIND_MEDIA && b->media) {
        manifest(b->media);
    }
    json_t *j = body_to_json(b);
    if (j) {
        char *s = json_dumps(j, JSON_COMPACT);
        free(s);
        json_decref(j);
    }
    char line[256];
    body_summary(b, line, sizeof line);
    ft__body__free_unpacked(b, NULL);
    return 0;
}
