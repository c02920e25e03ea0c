/* ft_media.c: a test tool that appends a MediaManifest entry to an edge's
 * log, as if a recorder's file had been ingested, so that the gap scenarios
 * can exercise coverage, linking and unlinked-media rules end to end.
 *
 * usage: ft_media STATE FILE_ID_HEX RECORDER|- OFFICER|- CASE|- START END [KIND]
 *   FILE_ID_HEX  16 bytes in hex: the media ID records cite in `media`
 *   START, END   RFC 3339 capture window, as the device's clock saw it
 *   KIND         video (default), audio or photo
 * The manifest lists no chunk hashes, so the hub's media puller leaves it
 * alone (it pulls only manifests whose chunk list is complete): only the
 * gap engine sees it. Run it while no `fieldtrail-edge run` appends (LMDB
 * serialises writers anyway). FT_MEDIA_FORMAT=1 in the environment writes a
 * manifest of media format 1 (no `format` field), as edges before format 2
 * did.
 */
#include "devlog.h"
#include "fsutil.h"
#include "media.h"
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *opt(const char *s)
{
    return strcmp(s, "-") == 0 ? NULL : s;
}

int main(int argc, char **argv)
{
    if (argc < 8 || argc > 9) {
        fprintf(stderr, "usage: ft_media STATE FILE_ID_HEX RECORDER|- OFFICER|- CASE|- START END "
                        "[video|audio|photo]\n");
        return 2;
    }
    uint8_t fid[16], zero[32] = {0};
    int64_t start = 0, end = 0;
    int32_t so = 0, eo = 0;
    if (hex_decode(argv[2], fid, sizeof fid) != FT_OK ||
        rfc3339_parse(argv[6], &start, &so) != FT_OK ||
        rfc3339_parse(argv[7], &end, &eo) != FT_OK) {
        fprintf(stderr, "ft_media: FILE_ID_HEX must be 32 hex digits and START/END RFC 3339\n");
        return 2;
    }
    char path[4096];
    keys_t keys;
    devlog_t *log = NULL;
    if (fsutil_join(path, sizeof path, argv[1], "device.key") != FT_OK ||
        keys_load(&keys, path) != FT_OK) {
        fprintf(stderr, "ft_media: cannot load %s\n", path);
        return 1;
    }
    if (fsutil_join(path, sizeof path, argv[1], "db") != FT_OK ||
        devlog_open(path, &keys, NULL, &log) != FT_OK) {
        fprintf(stderr, "ft_media: cannot open the log in %s\n", path);
        keys_wipe(&keys);
        return 1;
    }
    Ft__MediaManifest m = FT__MEDIA_MANIFEST__INIT;
    m.file_id.data = fid;
    m.file_id.len = sizeof fid;
    m.size = 4096;
    m.chunk_size = 1 << 20;
    const char *fmt = getenv("FT_MEDIA_FORMAT");
    m.has_format = !(fmt && strcmp(fmt, "1") == 0);
    m.format = MEDIA_FORMAT;
    m.merkle_root.data = zero;
    m.merkle_root.len = 32;
    m.content_hash.data = zero;
    m.content_hash.len = 32;
    /* a sealed key of the size a real one has (the province forwarder
     * takes only those), sealed to no one */
    static const uint8_t no_key[MEDIA_SEALED_KEY_BYTES];
    m.sealed_key.data = (uint8_t *)no_key;
    m.sealed_key.len = sizeof no_key;
    const char *kind = argc > 8 ? argv[8] : "video";
    m.kind = strcmp(kind, "photo") == 0   ? FT__MEDIA_KIND__PHOTO
             : strcmp(kind, "audio") == 0 ? FT__MEDIA_KIND__AUDIO
                                          : FT__MEDIA_KIND__VIDEO;
    m.recorder = (char *)opt(argv[3]);
    m.officer = (char *)opt(argv[4]);
    m.case_id = (char *)opt(argv[5]);
    Ft__Time s = FT__TIME__INIT, e = FT__TIME__INIT;
    s.unix_ms = start;
    s.utc_offset_min = so;
    e.unix_ms = end;
    e.utc_offset_min = eo;
    m.start = &s;
    m.end = &e;
    m.has_officer_source = m.officer != NULL;
    m.officer_source = FT__VALUE_SOURCE__SIDECAR;
    m.has_time_source = 1;
    m.time_source = FT__VALUE_SOURCE__SIDECAR;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_MEDIA;
    body.media = &m;
    uint64_t seq = 0;
    int err = devlog_append1(log, &body, &seq);
    devlog_destroy(&log);
    keys_wipe(&keys);
    if (err != FT_OK) {
        fprintf(stderr, "ft_media: append failed: %s\n", ft_strerror(err));
        return 1;
    }
    printf("%llu\n", (unsigned long long)seq);
    return 0;
}
