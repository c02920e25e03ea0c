/* ft_oldclip: a test tool that stores a clip in an edge the way edges before
 * text was bounded by characters left some of them: its chunks, encrypted
 * as edge/ingest.c encrypts them, a signed manifest whose text fields hold
 * exactly the bytes given (so also a cause cut in the middle of a
 * character, which is not valid UTF-8), and the file row, in one
 * transaction. The edge then offers it to the hub like any ingested file.
 * The hub-side tests of text that is not valid UTF-8 use it, so that they
 * do not depend on how the edge of the day copies a sidecar's text.
 *
 * usage: ft_oldclip STATE FILE RECORDER ARCHIVE_KEY_HEX START END [FIELD=HEX]...
 *   FIELD        officer, case, cause, party or name (the file name; default
 *                FILE's base name); HEX is the field's bytes in hex
 *   START, END   RFC 3339 capture window
 * Prints the media ID (hex of the file ID). Run it while no
 * `fieldtrail-edge run` or ingest writes (LMDB serialises writers anyway).
 */
#include "devlog.h"
#include "fsutil.h"
#include "media.h"
#include "mstore.h"
#include "record.h"
#include "utf8.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OLDCLIP_CHUNK (64u << 10)
#define OLDCLIP_MAX_BYTES (16u << 20)

/* FIELD=HEX -> a new NUL-terminated string of the bytes. */
static int field_bytes(const char *arg, const char *name, char **out)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0 || arg[n] != '=') {
        return FT_ENOTFOUND;
    }
    const char *hex = arg + n + 1;
    size_t len = strlen(hex) / 2;
    if (strlen(hex) % 2 != 0) {
        return FT_EINVAL;
    }
    char *s = calloc(len + 1, 1);
    if (!s) {
        return FT_ENOMEM;
    }
    if (len > 0 && hex_decode(hex, (uint8_t *)s, len) != FT_OK) {
        free(s);
        return FT_EINVAL;
    }
    if (strlen(s) != len) {
        free(s);
        return FT_EINVAL; /* a NUL byte */
    }
    *out = s;
    return FT_OK;
}

static int read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return FT_EIO;
    }
    uint8_t *buf = malloc(OLDCLIP_MAX_BYTES);
    size_t n = buf ? fread(buf, 1, OLDCLIP_MAX_BYTES, f) : 0;
    bool err = !buf || ferror(f) || !feof(f);
    fclose(f);
    if (err) {
        free(buf);
        return FT_EIO;
    }
    *data = buf;
    *len = n;
    return FT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: ft_oldclip STATE FILE RECORDER ARCHIVE_KEY_HEX START END "
                        "[officer|case|cause|party|name=HEX]...\n");
        return 2;
    }
    static const char *const names[] = {"officer", "case", "cause", "party", "name"};
    char *fields[5] = {NULL, NULL, NULL, NULL, NULL};
    uint8_t archive_pk[32];
    int64_t start = 0, end = 0;
    int32_t so = 0, eo = 0;
    if (sodium_init() < 0 || hex_decode(argv[4], archive_pk, sizeof archive_pk) != FT_OK ||
        rfc3339_parse(argv[5], &start, &so) != FT_OK ||
        rfc3339_parse(argv[6], &end, &eo) != FT_OK) {
        fprintf(stderr, "ft_oldclip: ARCHIVE_KEY_HEX is 64 hex digits, START/END RFC 3339\n");
        return 2;
    }
    for (int i = 7; i < argc; i++) {
        int err = FT_ENOTFOUND;
        for (size_t f = 0; f < 5 && err == FT_ENOTFOUND; f++) {
            err = field_bytes(argv[i], names[f], &fields[f]);
        }
        if (err != FT_OK) {
            fprintf(stderr, "ft_oldclip: \"%s\" is not FIELD=HEX (no NUL byte)\n", argv[i]);
            return 2;
        }
    }
    uint8_t *data = NULL;
    size_t size = 0;
    if (read_file(argv[2], &data, &size) != FT_OK) {
        fprintf(stderr, "ft_oldclip: cannot read %s (at most %u bytes)\n", argv[2],
                OLDCLIP_MAX_BYTES);
        return 1;
    }
    char path[4096];
    keys_t keys;
    devlog_t *log = NULL;
    mstore_t *m = NULL;
    if (fsutil_join(path, sizeof path, argv[1], "device.key") != FT_OK ||
        keys_load(&keys, path) != FT_OK) {
        fprintf(stderr, "ft_oldclip: cannot load %s\n", path);
        return 1;
    }
    devlog_opts_t o = {.map_size = (size_t)65536 << 20};
    if (fsutil_join(path, sizeof path, argv[1], "db") != FT_OK ||
        devlog_open(path, &keys, &o, &log) != FT_OK || mstore_open(log, &m) != FT_OK) {
        fprintf(stderr, "ft_oldclip: cannot open the log and media store in %s\n", path);
        keys_wipe(&keys);
        return 1;
    }
    uint8_t file_id[MEDIA_FILE_ID_BYTES], key[MEDIA_KEY_BYTES], sealed[MEDIA_SEALED_KEY_BYTES];
    uint8_t root[MEDIA_HASH_BYTES], chash[MEDIA_HASH_BYTES];
    media_file_id_new(file_id);
    media_key_new(key);
    uint32_t n = media_chunk_count(size, OLDCLIP_CHUNK);
    uint8_t(*hashes)[MEDIA_HASH_BYTES] = calloc(n, sizeof *hashes);
    ProtobufCBinaryData *hb = calloc(n, sizeof *hb);
    uint8_t *ct = malloc(OLDCLIP_CHUNK + MEDIA_TAG_BYTES);
    media_content_t content;
    media_content_init(&content);
    devlog_txn_t *t = NULL;
    int err = hashes && hb && ct ? devlog_begin(log, &t) : FT_ENOMEM;
    for (uint32_t i = 0; err == FT_OK && i < n; i++) {
        uint32_t plen = media_chunk_len(size, OLDCLIP_CHUNK, i);
        const uint8_t *plain = data + (size_t)i * OLDCLIP_CHUNK;
        media_content_update(&content, plain, plen);
        err = media_chunk_encrypt(key, file_id, i, plain, plen, ct);
        if (err == FT_OK) {
            media_chunk_hash(file_id, i, ct, plen + MEDIA_TAG_BYTES, hashes[i]);
            hb[i].data = hashes[i];
            hb[i].len = MEDIA_HASH_BYTES;
            err = mstore_chunk_put(m, devlog_txn_mdb(t), file_id, i, ct, plen + MEDIA_TAG_BYTES);
        }
    }
    media_content_final(&content, chash);
    if (err == FT_OK) {
        err = media_merkle_root((const uint8_t(*)[MEDIA_HASH_BYTES])hashes, n, root);
    }
    if (err == FT_OK) {
        err = media_key_seal(key, archive_pk, sealed);
    }
    const char *base = strrchr(argv[2], '/');
    base = base ? base + 1 : argv[2];
    uint64_t seq = 0;
    if (err == FT_OK) {
        Ft__MediaManifest mf = FT__MEDIA_MANIFEST__INIT;
        Ft__Time ts = FT__TIME__INIT, te = FT__TIME__INIT;
        mf.file_id.data = file_id;
        mf.file_id.len = MEDIA_FILE_ID_BYTES;
        mf.size = size;
        mf.chunk_size = OLDCLIP_CHUNK;
        mf.has_format = true;
        mf.format = MEDIA_FORMAT;
        mf.merkle_root.data = root;
        mf.merkle_root.len = MEDIA_HASH_BYTES;
        mf.n_chunk_hashes = n;
        mf.chunk_hashes = hb;
        mf.content_hash.data = chash;
        mf.content_hash.len = MEDIA_HASH_BYTES;
        mf.sealed_key.data = sealed;
        mf.sealed_key.len = sizeof sealed;
        mf.kind = FT__MEDIA_KIND__VIDEO;
        mf.recorder = argv[3];
        mf.officer = fields[0];
        ts.unix_ms = start;
        ts.utc_offset_min = so;
        te.unix_ms = end;
        te.utc_offset_min = eo;
        mf.start = &ts;
        mf.end = &te;
        mf.case_id = fields[1];
        mf.cause = fields[2];
        mf.party = fields[3];
        mf.file_name = fields[4] ? fields[4] : (char *)base;
        mf.has_officer_source = mf.officer != NULL;
        mf.officer_source = FT__VALUE_SOURCE__SIDECAR;
        mf.has_time_source = true;
        mf.time_source = FT__VALUE_SOURCE__SIDECAR;
        Ft__Body body = FT__BODY__INIT;
        body.kind_case = FT__BODY__KIND_MEDIA;
        body.media = &mf;
        err = devlog_append(t, &body, &seq);
    }
    if (err == FT_OK) {
        mstore_file_t f;
        memset(&f, 0, sizeof f);
        f.version = 1;
        f.state = MFILE_STORED;
        memcpy(f.file_id, file_id, MEDIA_FILE_ID_BYTES);
        f.size = size;
        f.chunk_size = OLDCLIP_CHUNK;
        f.n_chunks = n;
        f.manifest_seq = seq;
        f.ingested_ms = (int64_t)devlog_wall_ms(log);
        memcpy(f.merkle_root, root, MEDIA_HASH_BYTES);
        memcpy(f.content_hash, chash, MEDIA_HASH_BYTES);
        utf8_copy(f.name, sizeof f.name, fields[4] ? fields[4] : base);
        utf8_copy(f.recorder, sizeof f.recorder, argv[3]);
        err = mstore_file_put(m, devlog_txn_mdb(t), &f);
    }
    if (err == FT_OK) {
        err = mstore_content_put(m, devlog_txn_mdb(t), chash, file_id);
    }
    if (err == FT_OK) {
        err = devlog_commit(&t);
    }
    devlog_abort(&t);
    sodium_memzero(key, sizeof key);
    free(hashes);
    free(hb);
    free(ct);
    free(data);
    for (size_t f = 0; f < 5; f++) {
        free(fields[f]);
    }
    mstore_destroy(&m);
    devlog_destroy(&log);
    keys_wipe(&keys);
    if (err != FT_OK) {
        fprintf(stderr, "ft_oldclip: cannot store the clip: %s\n", ft_strerror(err));
        return 1;
    }
    char idhex[2 * MEDIA_FILE_ID_BYTES + 1];
    hex_encode(file_id, MEDIA_FILE_ID_BYTES, idhex);
    printf("%s\n", idhex);
    return 0;
}
