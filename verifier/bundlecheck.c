/* bundlecheck.c: verifying a case bundle or an archive (bundlecheck.h).
 * Everything read from the bundle is untrusted input: sizes are bounded,
 * every decode is checked, and a bad item is reported, never a crash. */
#include "bundlecheck.h"
#include "bundlefmt.h"
#include "entry.h"
#include "keys.h"
#include "media.h"
#include "record.h"
#include "wire.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One entry of a device log in the bundle. */
typedef struct {
    const uint8_t *raw; /* SignedEntry bytes (into the log's buffer) */
    size_t len;
    uint8_t hash[ENTRY_HASH_BYTES];
    bool ok;     /* decoded, signed by the device, at its place in the chain */
    bool listed; /* named by an item */
} bentry_t;

/* One device log (device, epoch) in the bundle. */
typedef struct {
    char file[BUNDLE_PATH_MAX];
    uint8_t device[DEVID_BYTES];
    char device_text[DEVID_TEXT_SIZE];
    uint64_t epoch;
    uint8_t *buf;
    size_t len;
    bentry_t *e; /* e[seq - 1] */
    size_t n;
} blog_t;

/* A device's keys as the bundle gives them. */
typedef struct {
    uint8_t device[DEVID_BYTES];
    uint8_t sign_pk[32];
} bdev_t;

/* A Deletion entry of the hub-log extract. */
typedef struct {
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    uint64_t seq;
} bdel_t;

typedef struct {
    const bsrc_t *src;
    const char *prefix; /* "" or "dir/" inside the source */
    const bcheck_opts_t *opts;
    json_t *report, *problems, *notes;
    json_t *listed; /* path -> true */
    uint8_t hub_pk[32];
    uint8_t hub_dev[DEVID_BYTES];
    bool has_hub;
    const char *case_id;
    blog_t *logs;
    size_t n_logs;
    bdev_t *devs;
    size_t n_devs;
    bdel_t *dels;
    size_t n_dels;
    uint64_t records, media_ok, media_deleted, media_absent, entries, receipts, hub_entries;
    /* alert events in the hub-log extract (entry.h: an AlertEvent entry, or
     * each event of an AlertEvents batch): the case's, and other cases' that
     * share a batch entry with them */
    uint64_t hub_alert_events, hub_other_alert_events;
} chk_t;

static void problem(chk_t *c, const char *item, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem(chk_t *c, const char *item, const char *what, const char *fmt, ...)
{
    char detail[768], path[BUNDLE_PATH_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    snprintf(path, sizeof path, "%s%s", c->prefix, item);
    json_array_append_new(
        c->problems, json_pack("{s:s, s:s, s:s}", "item", path, "what", what, "detail", detail));
}

static void note(chk_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(chk_t *c, const char *fmt, ...)
{
    char text[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_array_append_new(c->notes, json_string(text));
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Reads prefix+name; FT_OK or an error (a missing file was reported already). */
static int read_member(chk_t *c, const char *name, uint8_t **buf, size_t *len)
{
    char path[BUNDLE_PATH_MAX + 256];
    if (!bundle_path_ok(name)) {
        return FT_EINVAL; /* never read outside the bundle */
    }
    snprintf(path, sizeof path, "%s%s", c->prefix, name);
    return bsrc_read(c->src, path, buf, len);
}

static long find_member(chk_t *c, const char *name)
{
    char path[BUNDLE_PATH_MAX + 256];
    snprintf(path, sizeof path, "%s%s", c->prefix, name);
    return bsrc_find(c->src, path);
}

static int hex32(const char *text, uint8_t *out, size_t n)
{
    return text && strlen(text) == 2 * n && hex_decode(text, out, n) == FT_OK ? FT_OK : FT_EINVAL;
}

/* ---- 2. the file list ---------------------------------------------------------- */

/* Progress of the check in bytes read (bcheck_opts_t.progress). */
static uint64_t prog_done, prog_total;

static void progress_add(const chk_t *c, uint64_t bytes)
{
    prog_done += bytes;
    if (c->opts && c->opts->progress) {
        c->opts->progress(c->opts->progress_ctx, prog_done,
                          prog_done > prog_total ? prog_done : prog_total);
    }
}

static void check_files(chk_t *c, const json_t *files, const char *const *own, size_t n_own)
{
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        const char *path = jstr(f, "path"), *want = jstr(f, "blake2b");
        json_int_t bytes = json_integer_value(json_object_get(f, "bytes"));
        if (!path || !bundle_path_ok(path) || !want) {
            problem(c, BUNDLE_MANIFEST, "malformed",
                    "file entry %zu is not a safe path with a hash", i);
            continue;
        }
        json_object_set_new(c->listed, path, json_true());
        long k = find_member(c, path);
        if (k < 0) {
            problem(c, path, "missing", "listed in the manifest but not in the bundle");
            continue;
        }
        uint8_t h[BUNDLE_HASH_BYTES], w[BUNDLE_HASH_BYTES];
        if (hex32(want, w, sizeof w) != FT_OK) {
            problem(c, BUNDLE_MANIFEST, "malformed", "the hash of %s is not 64 hex digits", path);
            continue;
        }
        if (bsrc_size(c->src, (size_t)k) != (uint64_t)bytes) {
            problem(c, path, "altered", "size %" PRIu64 " bytes, the manifest says %lld",
                    bsrc_size(c->src, (size_t)k), (long long)bytes);
            continue;
        }
        int herr = bsrc_hash(c->src, (size_t)k, h);
        progress_add(c, bsrc_size(c->src, (size_t)k));
        if (herr != FT_OK) {
            problem(c, path, "unreadable", "cannot be read");
        } else if (sodium_memcmp(h, w, sizeof h) != 0) {
            problem(c, path, "altered", "its content differs from the hash in the manifest");
        }
    }
    /* Anything else under the prefix was added. */
    size_t plen = strlen(c->prefix);
    for (size_t k = 0; k < bsrc_count(c->src); k++) {
        const char *name = bsrc_name(c->src, k);
        if (strncmp(name, c->prefix, plen) != 0) {
            continue;
        }
        const char *rel = name + plen;
        bool own_file = false;
        for (size_t j = 0; j < n_own; j++) {
            own_file = own_file || strcmp(rel, own[j]) == 0;
        }
        if (!own_file && !json_object_get(c->listed, rel)) {
            problem(c, rel, "added", "in the bundle but not in its signed manifest");
        }
    }
}

/* ---- 3. devices ------------------------------------------------------------------ */

static void check_devices(chk_t *c, const json_t *devices)
{
    size_t i;
    json_t *d;
    c->devs = calloc(json_array_size(devices) + 1, sizeof *c->devs);
    if (!c->devs) {
        return;
    }
    json_array_foreach(devices, i, d)
    {
        const char *file = jstr(d, "file");
        uint8_t *buf = NULL;
        size_t len = 0;
        if (!file || read_member(c, file, &buf, &len) != FT_OK) {
            continue; /* reported as missing */
        }
        json_error_t jerr;
        json_t *o = json_loadb((const char *)buf, len, 0, &jerr);
        free(buf);
        uint8_t id[DEVID_BYTES], pk[32], want[DEVID_BYTES];
        if (!o || devid_parse(jstr(o, "device_id") ? jstr(o, "device_id") : "", id) != FT_OK ||
            hex32(jstr(o, "sign_pk"), pk, 32) != FT_OK) {
            problem(c, file, "malformed", "not a device description with an ID and a signing key");
            json_decref(o);
            continue;
        }
        devid_from_pk(pk, want);
        if (memcmp(id, want, DEVID_BYTES) != 0) {
            problem(c, file, "bad_key", "the signing key does not hash to the device ID %s",
                    jstr(o, "device_id"));
        } else {
            memcpy(c->devs[c->n_devs].device, id, DEVID_BYTES);
            memcpy(c->devs[c->n_devs].sign_pk, pk, 32);
            c->n_devs++;
        }
        json_decref(o);
    }
}

static const uint8_t *dev_key(chk_t *c, const uint8_t device[DEVID_BYTES])
{
    for (size_t i = 0; i < c->n_devs; i++) {
        if (memcmp(c->devs[i].device, device, DEVID_BYTES) == 0) {
            return c->devs[i].sign_pk;
        }
    }
    return NULL;
}

/* ---- 4. device logs ------------------------------------------------------------ */

static const char *entry_err_text(int err)
{
    switch (err) {
    case FT_EBADSIG:
        return "bad signature: the entry was altered or not signed by its device";
    case FT_ECHAIN:
        return "broken hash chain: the entry before it was altered or replaced";
    case FT_EGAP:
        return "missing sequence number: an entry was removed";
    case FT_ESIGNER:
        return "names another device";
    case FT_EPROTO:
        return "wrong epoch";
    default:
        return ft_strerror(err);
    }
}

static void check_log(chk_t *c, blog_t *l, json_int_t want_entries)
{
    if (read_member(c, l->file, &l->buf, &l->len) != FT_OK) {
        return;
    }
    const uint8_t *pk = dev_key(c, l->device);
    if (!pk) {
        problem(c, l->file, "no_key", "no verified signing key for device %s in the bundle",
                l->device_text);
    }
    size_t cap = 0;
    bframe_reader_t r = {.p = l->buf, .n = l->len};
    entry_pos_t pos;
    memset(&pos, 0, sizeof pos);
    memcpy(pos.device, l->device, DEVID_BYTES);
    pos.epoch = l->epoch;
    pos.seq = 1;
    bool prev_ok = true;
    for (;;) {
        const uint8_t *p;
        size_t n;
        int more = bframe_next(&r, &p, &n);
        if (more < 0) {
            problem(c, l->file, "truncated", "the file ends inside an entry after seq %zu", l->n);
            break;
        }
        if (more == 0) {
            break;
        }
        if (l->n == cap) {
            cap = cap ? cap * 2 : 256;
            bentry_t *e = realloc(l->e, cap * sizeof *e);
            if (!e) {
                break;
            }
            l->e = e;
        }
        bentry_t *e = &l->e[l->n++];
        memset(e, 0, sizeof *e);
        e->raw = p;
        e->len = n;
        char item[BUNDLE_PATH_MAX + 64];
        snprintf(item, sizeof item, "%s#seq=%" PRIu64, l->file, pos.seq);
        entry_view_t v;
        int err = entry_open(p, n, &v);
        if (err != FT_OK) {
            problem(c, item, "corrupt", "the entry does not decode");
            prev_ok = false;
            pos.seq++;
            memset(pos.prev_hash, 0xff, sizeof pos.prev_hash);
            continue;
        }
        memcpy(e->hash, v.hash, sizeof e->hash);
        if (pk) {
            err = entry_check(&v, pk, &pos);
            if (err == FT_ECHAIN && !prev_ok) {
                err = FT_OK; /* a consequence of the entry before, already named */
            }
            if (err != FT_OK) {
                problem(c, item,
                        err == FT_EBADSIG  ? "bad_signature"
                        : err == FT_EGAP   ? "missing_entry"
                        : err == FT_ECHAIN ? "broken_chain"
                                           : "bad_entry",
                        "%s", entry_err_text(err));
            }
            e->ok = err == FT_OK;
        }
        prev_ok = e->ok || !pk;
        c->entries++;
        pos.seq++;
        memcpy(pos.prev_hash, v.hash, sizeof pos.prev_hash);
        entry_view_free(&v);
    }
    if ((json_int_t)l->n != want_entries) {
        problem(c, l->file, "missing_entries",
                "holds %zu entries, the manifest says %lld: entries were removed or added", l->n,
                (long long)want_entries);
    }
}

static blog_t *find_log(chk_t *c, const uint8_t device[DEVID_BYTES], uint64_t epoch)
{
    for (size_t i = 0; i < c->n_logs; i++) {
        if (memcmp(c->logs[i].device, device, DEVID_BYTES) == 0 && c->logs[i].epoch == epoch) {
            return &c->logs[i];
        }
    }
    return NULL;
}

/* ---- 5. receipts ------------------------------------------------------------------- */

static void check_receipts(chk_t *c, blog_t *l, const char *file)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (read_member(c, file, &buf, &len) != FT_OK) {
        return;
    }
    bframe_reader_t r = {.p = buf, .n = len};
    const uint8_t *p;
    size_t n;
    uint64_t best = 0;
    int more;
    size_t k = 0;
    while ((more = bframe_next(&r, &p, &n)) == 1) {
        k++;
        char item[BUNDLE_PATH_MAX + 64];
        snprintf(item, sizeof item, "%s#%zu", file, k);
        wire_receipt_t rc;
        int err = c->has_hub ? wire_receipt_open(p, n, c->hub_pk, &rc) : FT_EBADSIG;
        if (err != FT_OK) {
            problem(c, item, err == FT_EBADSIG ? "bad_signature" : "corrupt",
                    "the receipt is not signed by the hub key of this bundle");
            continue;
        }
        if (memcmp(rc.device, l->device, DEVID_BYTES) != 0 || rc.epoch != l->epoch) {
            problem(c, item, "wrong_receipt", "the receipt is for another device or epoch");
            continue;
        }
        if (rc.upto_seq == 0 || rc.upto_seq > l->n) {
            problem(c, item, "wrong_receipt",
                    "the receipt covers seq %" PRIu64 " but the log holds %zu entries", rc.upto_seq,
                    l->n);
            continue;
        }
        if (sodium_memcmp(rc.upto_hash, l->e[rc.upto_seq - 1].hash, ENTRY_HASH_BYTES) != 0) {
            problem(c, item, "wrong_receipt",
                    "the hub's receipt for seq %" PRIu64
                    " names another entry hash: the log differs from what the hub received",
                    rc.upto_seq);
            continue;
        }
        c->receipts++;
        if (rc.upto_seq > best) {
            best = rc.upto_seq;
        }
    }
    if (more < 0) {
        problem(c, file, "truncated", "the file ends inside a receipt");
    }
    if (best < l->n) {
        note(c, "%s: no hub receipt covers entries after seq %" PRIu64, l->file, best);
    }
    free(buf);
}

/* ---- 6. hub log extract ------------------------------------------------------------- */

static void check_hublog(chk_t *c, const char *file)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (read_member(c, file, &buf, &len) != FT_OK) {
        return;
    }
    bframe_reader_t r = {.p = buf, .n = len};
    const uint8_t *p;
    size_t n;
    int more;
    size_t k = 0, cap = 0;
    while ((more = bframe_next(&r, &p, &n)) == 1) {
        k++;
        entry_view_t v;
        char item[BUNDLE_PATH_MAX + 64];
        if (entry_open(p, n, &v) != FT_OK) {
            snprintf(item, sizeof item, "%s#%zu", file, k);
            problem(c, item, "corrupt", "the hub-log entry does not decode");
            continue;
        }
        snprintf(item, sizeof item, "%s#seq=%" PRIu64, file, v.entry->seq);
        /* Each extract entry stands alone: its own position, checked for the
         * hub's signature and device (the chain is the hub's to prove). */
        entry_pos_t pos;
        memcpy(pos.device, c->hub_dev, DEVID_BYTES);
        pos.epoch = v.entry->epoch;
        pos.seq = v.entry->seq;
        memcpy(pos.prev_hash, v.entry->prev_hash.data, ENTRY_HASH_BYTES);
        int err = c->has_hub ? entry_check(&v, c->hub_pk, &pos) : FT_EBADSIG;
        if (err != FT_OK) {
            problem(c, item, "bad_signature", "not signed by the hub key of this bundle");
        } else {
            c->hub_entries++;
            const Ft__Body *b = v.entry->body;
            for (size_t i = 0; i < entry_alert_count(b); i++) {
                const Ft__AlertEvent *ae = entry_alert_at(b, i);
                if (ae->case_id && strcmp(ae->case_id, c->case_id) == 0) {
                    c->hub_alert_events++;
                } else {
                    c->hub_other_alert_events++;
                }
            }
            if (b->kind_case == FT__BODY__KIND_DELETION &&
                b->deletion->file_id.len == MEDIA_FILE_ID_BYTES) {
                if (c->n_dels == cap) {
                    cap = cap ? cap * 2 : 16;
                    bdel_t *d = realloc(c->dels, cap * sizeof *d);
                    if (d) {
                        c->dels = d;
                    }
                }
                if (c->n_dels < cap) {
                    memcpy(c->dels[c->n_dels].file_id, b->deletion->file_id.data,
                           MEDIA_FILE_ID_BYTES);
                    c->dels[c->n_dels].seq = v.entry->seq;
                    c->n_dels++;
                }
            }
        }
        entry_view_free(&v);
    }
    if (more < 0) {
        problem(c, file, "truncated", "the file ends inside an entry");
    }
    free(buf);
}

/* ---- 7. items and media ----------------------------------------------------------- */

static int parse_ref(const char *ref, uint8_t device[DEVID_BYTES], uint64_t *epoch, uint64_t *seq)
{
    char dev[64];
    unsigned long long e = 0, s = 0;
    const char *slash = ref ? strchr(ref, '/') : NULL;
    if (!slash || (size_t)(slash - ref) >= sizeof dev) {
        return FT_EINVAL;
    }
    memcpy(dev, ref, (size_t)(slash - ref));
    dev[slash - ref] = '\0';
    char tail;
    if (sscanf(slash + 1, "%llu/%llu%c", &e, &s, &tail) != 2 || s == 0) {
        return FT_EINVAL;
    }
    *epoch = e;
    *seq = s;
    return devid_parse(dev, device);
}

/* Checks a media file against its manifest. */
static void check_media_file(chk_t *c, const char *file, const Ft__MediaManifest *mf,
                             const json_t *item)
{
    long k = find_member(c, file);
    if (k < 0) {
        return; /* reported as missing */
    }
    bool sealed = jstr(item, "sealed_key") != NULL;
    const uint8_t *fid = mf->file_id.data;
    uint32_t cs = mf->chunk_size;
    uint32_t n = media_chunk_count(mf->size, cs);
    uint32_t format = media_manifest_format(mf->has_format, mf->format);
    if (format != MEDIA_FORMAT) {
        problem(c, file, "bad_manifest",
                "its signed manifest is in media format %u; this verifier reads format %u", format,
                MEDIA_FORMAT);
        return;
    }
    if (cs < MEDIA_CHUNK_MIN || cs > MEDIA_CHUNK_MAX || n != mf->n_chunk_hashes ||
        mf->merkle_root.len != MEDIA_HASH_BYTES || mf->content_hash.len != MEDIA_HASH_BYTES) {
        problem(c, file, "bad_manifest", "its signed manifest is not consistent");
        return;
    }
    uint64_t want_size = sealed ? mf->size + (uint64_t)n * MEDIA_TAG_BYTES : mf->size;
    if (bsrc_size(c->src, (size_t)k) != want_size) {
        problem(c, file, "altered",
                "%" PRIu64 " bytes, the signed manifest makes it %" PRIu64 " bytes",
                bsrc_size(c->src, (size_t)k), want_size);
        return;
    }
    /* The manifest's own Merkle root over its chunk hashes. */
    uint8_t root[MEDIA_HASH_BYTES];
    uint8_t(*hashes)[MEDIA_HASH_BYTES] = calloc(n, MEDIA_HASH_BYTES);
    if (!hashes) {
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (mf->chunk_hashes[i].len != MEDIA_HASH_BYTES) {
            free(hashes);
            problem(c, file, "bad_manifest", "chunk hash %u has the wrong length", i);
            return;
        }
        memcpy(hashes[i], mf->chunk_hashes[i].data, MEDIA_HASH_BYTES);
    }
    if (media_merkle_root((const uint8_t(*)[MEDIA_HASH_BYTES])hashes, n, root) != FT_OK ||
        sodium_memcmp(root, mf->merkle_root.data, MEDIA_HASH_BYTES) != 0) {
        problem(c, file, "bad_manifest", "the chunk hashes do not give the signed Merkle root");
    }
    free(hashes);
    uint8_t key[MEDIA_KEY_BYTES];
    bool have_key = false;
    if (!sealed && hex32(jstr(item, "file_key"), key, sizeof key) == FT_OK) {
        have_key = true;
    } else if (sealed && c->opts && c->opts->has_secret) {
        uint8_t sk[MEDIA_SEALED_KEY_BYTES];
        if (hex32(jstr(item, "sealed_key"), sk, sizeof sk) == FT_OK &&
            media_key_unseal(sk, sizeof sk, c->opts->recipient_pk, c->opts->recipient_sk, key) ==
                FT_OK) {
            have_key = true;
        } else {
            note(c, "%s: the recipient key given does not open its file key", file);
        }
    }
    uint8_t *ct = malloc((size_t)cs + MEDIA_TAG_BYTES), *pt = malloc(cs);
    if (!ct || !pt) {
        free(ct);
        free(pt);
        return;
    }
    media_content_t content;
    media_content_init(&content);
    uint32_t bad_chunk = UINT32_MAX;
    bool read_fail = false;
    /* Extraction of sealed media for the recipient: written beside, renamed
     * only once everything checked. */
    char out_path[4096] = "", part_path[4200] = "";
    FILE *out = NULL;
    if (sealed && have_key && c->opts && c->opts->extract_dir) {
        const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
        size_t bl = strlen(base);
        if (bl > 4 && strcmp(base + bl - 4, ".enc") == 0) {
            bl -= 4;
        }
        snprintf(out_path, sizeof out_path, "%s/%.*s", c->opts->extract_dir, (int)bl, base);
        snprintf(part_path, sizeof part_path, "%s.part", out_path);
        out = fopen(part_path, "wb");
        if (!out) {
            note(c, "%s: cannot write %s", file, part_path);
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t plen = media_chunk_len(mf->size, cs, i);
        uint64_t off = sealed ? (uint64_t)i * (cs + MEDIA_TAG_BYTES) : (uint64_t)i * cs;
        uint8_t h[MEDIA_HASH_BYTES];
        progress_add(c, plen);
        if (sealed) {
            if (bsrc_pread(c->src, (size_t)k, off, ct, plen + MEDIA_TAG_BYTES) != FT_OK) {
                read_fail = true;
                break;
            }
            if (have_key &&
                media_chunk_decrypt(key, fid, i, ct, plen + MEDIA_TAG_BYTES, pt) == FT_OK) {
                media_content_update(&content, pt, plen);
                if (out && fwrite(pt, 1, plen, out) != plen) {
                    read_fail = true;
                }
            }
        } else {
            if (bsrc_pread(c->src, (size_t)k, off, pt, plen) != FT_OK) {
                read_fail = true;
                break;
            }
            media_content_update(&content, pt, plen);
            if (have_key && media_chunk_encrypt(key, fid, i, pt, plen, ct) != FT_OK) {
                have_key = false;
            }
        }
        if (sealed || have_key) {
            media_chunk_hash(fid, i, ct, plen + MEDIA_TAG_BYTES, h);
            if (bad_chunk == UINT32_MAX &&
                sodium_memcmp(h, mf->chunk_hashes[i].data, MEDIA_HASH_BYTES) != 0) {
                bad_chunk = i;
            }
        }
    }
    sodium_memzero(key, sizeof key);
    sodium_memzero(pt, cs);
    free(ct);
    free(pt);
    uint8_t chash[MEDIA_HASH_BYTES];
    media_content_final(&content, chash);
    bool extracted = false;
    if (out) {
        bool good = fclose(out) == 0 && !read_fail && bad_chunk == UINT32_MAX &&
                    sodium_memcmp(chash, mf->content_hash.data, MEDIA_HASH_BYTES) == 0;
        extracted = good && rename(part_path, out_path) == 0;
        if (!extracted) {
            remove(part_path);
        }
    }
    if (extracted) {
        note(c, "%s: decrypted, checked and written to %s", file, out_path);
    }
    if (read_fail) {
        problem(c, file, "unreadable", "cannot be read");
        return;
    }
    bool content_checked = !sealed || have_key;
    if (content_checked && sodium_memcmp(chash, mf->content_hash.data, MEDIA_HASH_BYTES) != 0) {
        problem(c, file, "altered",
                "its content does not match the content hash in the device's signed manifest");
        return;
    }
    if (bad_chunk != UINT32_MAX) {
        problem(c, file, "altered",
                "chunk %u (bytes from %" PRIu64 ") does not match its hash in the signed manifest",
                bad_chunk, (uint64_t)bad_chunk * cs);
        return;
    }
    if (!sealed && !have_key) {
        note(c, "%s: no file key in the manifest: content hash checked, chunk hashes not", file);
    }
    if (sealed && !have_key) {
        note(c,
             "%s: sealed to a recipient: chunk hashes and Merkle root checked on the "
             "ciphertext; give --secret-key to check the content too",
             file);
    }
    c->media_ok++;
}

static void check_item(chk_t *c, const json_t *item, size_t idx)
{
    const char *ref = jstr(item, "ref"), *kind = jstr(item, "kind");
    char label[BUNDLE_PATH_MAX];
    snprintf(label, sizeof label, "item %s", ref ? ref : "?");
    uint8_t dev[DEVID_BYTES];
    uint64_t epoch = 0, seq = 0;
    if (!ref || !kind || parse_ref(ref, dev, &epoch, &seq) != FT_OK) {
        snprintf(label, sizeof label, "item #%zu", idx + 1);
        problem(c, label, "malformed", "no valid ref or kind in the manifest");
        return;
    }
    blog_t *l = find_log(c, dev, epoch);
    if (!l || seq > l->n) {
        problem(c, label, "missing", "its entry is not in the bundle's logs");
        return;
    }
    bentry_t *e = &l->e[seq - 1];
    e->listed = true;
    if (!e->ok) {
        return; /* the entry's problem is reported already */
    }
    entry_view_t v;
    if (entry_open(e->raw, e->len, &v) != FT_OK) {
        return;
    }
    const Ft__Body *b = v.entry->body;
    if (strcmp(kind, "record") == 0) {
        if (b->kind_case != FT__BODY__KIND_RECORD) {
            problem(c, label, "wrong_item", "listed as a record but its entry is a %s",
                    entry_body_kind(b));
        } else {
            c->records++;
        }
    } else if (strcmp(kind, "media") == 0) {
        const char *status = jstr(item, "status");
        if (b->kind_case != FT__BODY__KIND_MEDIA || b->media->file_id.len != MEDIA_FILE_ID_BYTES) {
            problem(c, label, "wrong_item", "listed as media but its entry is a %s",
                    entry_body_kind(b));
        } else if (status && strcmp(status, "included") == 0) {
            const char *file = jstr(item, "file");
            if (!file || !json_object_get(c->listed, file)) {
                problem(c, label, "missing", "its media file is not listed in the manifest");
            } else {
                check_media_file(c, file, b->media, item);
            }
        } else if (status && strcmp(status, "deleted") == 0) {
            bool found = false;
            for (size_t i = 0; i < c->n_dels && !found; i++) {
                found =
                    memcmp(c->dels[i].file_id, b->media->file_id.data, MEDIA_FILE_ID_BYTES) == 0;
            }
            if (!found) {
                problem(c, label, "missing",
                        "said to be deleted by retention, but no signed Deletion entry is in the "
                        "hub-log extract");
            } else {
                c->media_deleted++;
                note(c, "%s: media deleted by the retention job (signed Deletion entry present)",
                     ref);
            }
        } else {
            c->media_absent++;
            note(c, "%s: media not included (%s)", ref, status ? status : "no status");
        }
    } else {
        problem(c, label, "malformed", "unknown kind \"%s\"", kind);
    }
    entry_view_free(&v);
}

/* ---- 8. completeness -------------------------------------------------------------- */

static void check_complete(chk_t *c)
{
    for (size_t i = 0; i < c->n_logs; i++) {
        blog_t *l = &c->logs[i];
        for (size_t s = 0; s < l->n; s++) {
            bentry_t *e = &l->e[s];
            if (!e->ok || e->listed) {
                continue;
            }
            entry_view_t v;
            if (entry_open(e->raw, e->len, &v) != FT_OK) {
                continue;
            }
            const Ft__Body *b = v.entry->body;
            const char *cid = b->kind_case == FT__BODY__KIND_RECORD  ? b->record->case_id
                              : b->kind_case == FT__BODY__KIND_MEDIA ? b->media->case_id
                                                                     : NULL;
            if (cid && strcmp(cid, c->case_id) == 0) {
                char label[BUNDLE_PATH_MAX];
                snprintf(label, sizeof label, "item %s/%" PRIu64 "/%zu", l->device_text, l->epoch,
                         s + 1);
                problem(c, label, "left_out",
                        "a %s of case %s is in the log but not in the bundle's item list",
                        entry_body_kind(b), c->case_id);
            }
            entry_view_free(&v);
        }
    }
}

/* ---- one bundle ------------------------------------------------------------------------ */

static void free_chk(chk_t *c)
{
    for (size_t i = 0; i < c->n_logs; i++) {
        free(c->logs[i].buf);
        free(c->logs[i].e);
    }
    free(c->logs);
    free(c->devs);
    free(c->dels);
    json_decref(c->listed);
}

static json_t *check_bundle(const bsrc_t *src, const char *prefix, const bcheck_opts_t *opts)
{
    chk_t c = {.src = src, .prefix = prefix, .opts = opts};
    c.report = json_pack("{s:s, s:b}", "kind", "bundle", "ok", 0);
    c.problems = json_array();
    c.notes = json_array();
    c.listed = json_object();
    json_object_set_new(c.report, "path", json_string(prefix));
    json_object_set(c.report, "problems", c.problems);
    json_object_set(c.report, "notes", c.notes);
    uint8_t *mbuf = NULL, *sbuf = NULL;
    size_t mlen = 0, slen = 0;
    json_t *m = NULL;
    if (read_member(&c, BUNDLE_MANIFEST, &mbuf, &mlen) != FT_OK) {
        problem(&c, BUNDLE_MANIFEST, "missing", "no bundle manifest: this is not a bundle");
        goto out;
    }
    json_error_t jerr;
    m = json_loadb((const char *)mbuf, mlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!m || !json_is_object(m) || !jstr(m, "format") ||
        strcmp(jstr(m, "format"), BUNDLE_FORMAT) != 0) {
        problem(&c, BUNDLE_MANIFEST, "malformed", "not a %s manifest%s%s", BUNDLE_FORMAT,
                m ? "" : ": ", m ? "" : jerr.text);
        goto out;
    }
    c.case_id = jstr(m, "case") ? jstr(m, "case") : "";
    json_object_set_new(c.report, "case", json_string(c.case_id));
    const json_t *hub = json_object_get(m, "hub");
    if (hex32(jstr(hub, "sign_pk"), c.hub_pk, 32) == FT_OK) {
        c.has_hub = true;
        devid_from_pk(c.hub_pk, c.hub_dev);
        char hd[DEVID_TEXT_SIZE], hx[65];
        devid_format(c.hub_dev, hd);
        hex_encode(c.hub_pk, 32, hx);
        json_object_set_new(c.report, "hub",
                            json_pack("{s:s, s:s}", "device_id", hd, "sign_pk", hx));
    } else {
        problem(&c, BUNDLE_MANIFEST, "malformed", "no hub signing key");
    }
    if (c.has_hub && opts && opts->pin_hub && memcmp(opts->hub_pk, c.hub_pk, 32) != 0) {
        problem(&c, BUNDLE_MANIFEST, "wrong_hub",
                "signed with another hub key than the one given with --hub-key");
    }
    if (read_member(&c, BUNDLE_SIG, &sbuf, &slen) != FT_OK) {
        problem(&c, BUNDLE_SIG, "missing", "the manifest's signature is missing");
    } else if (c.has_hub) {
        int err = bundle_sig_check(BUNDLE_DOMAIN, mbuf, mlen, c.hub_pk, (const char *)sbuf, slen);
        if (err != FT_OK) {
            problem(&c, BUNDLE_MANIFEST, "bad_signature",
                    "the hub's signature does not verify: the manifest (the file list) was "
                    "altered, or bundle.sig was");
        }
    }
    static const char *const own[] = {BUNDLE_MANIFEST, BUNDLE_SIG};
    check_files(&c, json_object_get(m, "files"), own, 2);
    check_devices(&c, json_object_get(m, "devices"));
    const json_t *logs = json_object_get(m, "logs");
    c.logs = calloc(json_array_size(logs) + 1, sizeof *c.logs);
    size_t i;
    json_t *lj;
    json_array_foreach(logs, i, lj)
    {
        blog_t *l = &c.logs[c.n_logs];
        const char *file = jstr(lj, "file"), *dev = jstr(lj, "device_id");
        if (!c.logs || !file || !dev || devid_parse(dev, l->device) != FT_OK ||
            !json_is_integer(json_object_get(lj, "epoch")) || !bundle_path_ok(file)) {
            problem(&c, BUNDLE_MANIFEST, "malformed", "log entry %zu is malformed", i);
            continue;
        }
        snprintf(l->file, sizeof l->file, "%s", file);
        devid_format(l->device, l->device_text);
        l->epoch = (uint64_t)json_integer_value(json_object_get(lj, "epoch"));
        c.n_logs++;
        check_log(&c, l, json_integer_value(json_object_get(lj, "entries")));
        if (jstr(lj, "receipts")) {
            check_receipts(&c, l, jstr(lj, "receipts"));
        } else {
            note(&c, "%s: no hub receipts in the bundle", file);
        }
    }
    const json_t *hl = json_object_get(m, "hublog");
    if (jstr(hl, "file")) {
        check_hublog(&c, jstr(hl, "file"));
        if (c.hub_other_alert_events) {
            /* one evaluation batch is one signed entry: it goes whole */
            note(&c,
                 "the hub-log extract's alert entries also carry %" PRIu64
                 " alert event(s) of other cases (a batch of alert events is signed as one "
                 "entry)",
                 c.hub_other_alert_events);
        }
    }
    json_t *it;
    json_array_foreach(json_object_get(m, "items"), i, it)
    {
        check_item(&c, it, i);
    }
    check_complete(&c);
    json_object_set_new(
        c.report, "counts",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "records",
                  (json_int_t)c.records, "hub_alert_events", (json_int_t)c.hub_alert_events,
                  "media_checked", (json_int_t)c.media_ok, "media_deleted",
                  (json_int_t)c.media_deleted, "media_absent", (json_int_t)c.media_absent,
                  "devices", (json_int_t)c.n_devs, "entries", (json_int_t)c.entries, "receipts",
                  (json_int_t)c.receipts, "hub_entries", (json_int_t)c.hub_entries, "files",
                  (json_int_t)json_array_size(json_object_get(m, "files"))));
out:
    json_object_set_new(c.report, "ok", json_boolean(json_array_size(c.problems) == 0));
    json_decref(c.problems);
    json_decref(c.notes);
    json_decref(m);
    free(mbuf);
    free(sbuf);
    free_chk(&c);
    return c.report;
}

/* ---- an archive --------------------------------------------------------------------- */

static json_t *check_archive(const bsrc_t *src, const bcheck_opts_t *opts)
{
    chk_t c = {.src = src, .prefix = "", .opts = opts};
    c.report = json_pack("{s:s, s:b}", "kind", "archive", "ok", 0);
    c.problems = json_array();
    c.notes = json_array();
    c.listed = json_object();
    json_object_set(c.report, "problems", c.problems);
    json_object_set(c.report, "notes", c.notes);
    json_t *bundles = json_array();
    json_object_set(c.report, "bundles", bundles);
    uint8_t *mbuf = NULL, *sbuf = NULL;
    size_t mlen = 0, slen = 0;
    json_t *m = NULL;
    bool all_ok = true;
    if (read_member(&c, ARCHIVE_MANIFEST, &mbuf, &mlen) != FT_OK) {
        problem(&c, ARCHIVE_MANIFEST, "missing", "no archive manifest");
        goto out;
    }
    json_error_t jerr;
    m = json_loadb((const char *)mbuf, mlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!m || !jstr(m, "format") || strcmp(jstr(m, "format"), ARCHIVE_FORMAT) != 0) {
        problem(&c, ARCHIVE_MANIFEST, "malformed", "not a %s manifest", ARCHIVE_FORMAT);
        goto out;
    }
    if (hex32(jstr(json_object_get(m, "hub"), "sign_pk"), c.hub_pk, 32) == FT_OK) {
        c.has_hub = true;
        char hd[DEVID_TEXT_SIZE], hx[65];
        devid_from_pk(c.hub_pk, c.hub_dev);
        devid_format(c.hub_dev, hd);
        hex_encode(c.hub_pk, 32, hx);
        json_object_set_new(c.report, "hub",
                            json_pack("{s:s, s:s}", "device_id", hd, "sign_pk", hx));
    }
    if (c.has_hub && opts && opts->pin_hub && memcmp(opts->hub_pk, c.hub_pk, 32) != 0) {
        problem(&c, ARCHIVE_MANIFEST, "wrong_hub",
                "signed with another hub key than the one given with --hub-key");
    }
    if (read_member(&c, ARCHIVE_SIG, &sbuf, &slen) != FT_OK) {
        problem(&c, ARCHIVE_SIG, "missing", "the archive manifest's signature is missing");
    } else if (!c.has_hub || bundle_sig_check(ARCHIVE_DOMAIN, mbuf, mlen, c.hub_pk,
                                              (const char *)sbuf, slen) != FT_OK) {
        problem(&c, ARCHIVE_MANIFEST, "bad_signature",
                "the hub's signature does not verify: the archive's list was altered");
    }
    /* Files outside the bundles, and each bundle's directory as "listed" so
     * that its files are not reported as added here. */
    size_t i;
    json_t *b;
    json_t *files = json_object_get(m, "files");
    json_array_foreach(json_object_get(m, "bundles"), i, b)
    {
        const char *dir = jstr(b, "dir");
        if (dir && bundle_path_ok(dir)) {
            json_object_set_new(c.listed, dir, json_true());
        }
    }
    /* check_files reports added files; those inside listed bundle
     * directories are the bundles' to judge. */
    json_t *problems_before = json_deep_copy(c.problems);
    check_files(&c, files, (const char *const[]){ARCHIVE_MANIFEST, ARCHIVE_SIG}, 2);
    json_t *kept = json_array();
    json_t *p;
    json_array_foreach(c.problems, i, p)
    {
        const char *item = jstr(p, "item"), *what = jstr(p, "what");
        bool inside = false;
        if (what && strcmp(what, "added") == 0) {
            const char *key;
            json_t *val;
            json_object_foreach(c.listed, key, val)
            {
                size_t kl = strlen(key);
                inside = inside || (strncmp(item, key, kl) == 0 && item[kl] == '/');
            }
        }
        if (!inside) {
            json_array_append(kept, p);
        }
    }
    json_array_clear(c.problems);
    json_array_extend(c.problems, kept);
    json_decref(kept);
    json_decref(problems_before);
    /* Bundles present on the disc but not in the list. */
    for (size_t k = 0; k < bsrc_count(src); k++) {
        const char *name = bsrc_name(src, k);
        const char *slash = strstr(name, "/" BUNDLE_MANIFEST);
        if (!slash || slash[strlen("/" BUNDLE_MANIFEST)] != '\0') {
            continue;
        }
        char dir[BUNDLE_PATH_MAX];
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - name), name);
        if (!json_object_get(c.listed, dir)) {
            problem(&c, dir, "added", "a bundle on the disc that the archive does not list");
        }
    }
    json_array_foreach(json_object_get(m, "bundles"), i, b)
    {
        const char *dir = jstr(b, "dir"), *want = jstr(b, "manifest_blake2b");
        if (!dir || !bundle_path_ok(dir)) {
            problem(&c, ARCHIVE_MANIFEST, "malformed", "bundle entry %zu has no safe directory", i);
            continue;
        }
        char prefix[BUNDLE_PATH_MAX + 2], mpath[BUNDLE_PATH_MAX + 32];
        snprintf(prefix, sizeof prefix, "%s/", dir);
        snprintf(mpath, sizeof mpath, "%s/%s", dir, BUNDLE_MANIFEST);
        long k = bsrc_find(src, mpath);
        uint8_t h[BUNDLE_HASH_BYTES], w[BUNDLE_HASH_BYTES];
        if (k < 0) {
            problem(&c, dir, "missing", "a bundle the archive lists is not on the disc");
            continue;
        }
        if (hex32(want, w, sizeof w) != FT_OK || bsrc_hash(src, (size_t)k, h) != FT_OK ||
            sodium_memcmp(h, w, sizeof h) != 0) {
            problem(&c, mpath, "altered", "differs from the hash in the archive manifest");
        }
        json_t *br = check_bundle(src, prefix, opts);
        all_ok = all_ok && json_is_true(json_object_get(br, "ok"));
        json_array_append_new(bundles, br);
    }
out:
    json_object_set_new(c.report, "ok", json_boolean(all_ok && json_array_size(c.problems) == 0));
    json_decref(bundles);
    json_decref(c.problems);
    json_decref(c.notes);
    json_decref(m);
    free(mbuf);
    free(sbuf);
    free_chk(&c);
    return c.report;
}

int bcheck_path(const char *path, const bcheck_opts_t *opts, json_t **report)
{
    *report = NULL;
    bsrc_t *src = NULL;
    int err = bsrc_open(path, &src);
    if (err != FT_OK) {
        return err;
    }
    /* The work ahead: every file hashed, media files read once more. */
    prog_done = prog_total = 0;
    for (size_t k = 0; k < bsrc_count(src); k++) {
        const char *name = bsrc_name(src, k);
        uint64_t size = bsrc_size(src, k);
        prog_total += size;
        if (strncmp(name, "media/", 6) == 0 || strstr(name, "/media/")) {
            prog_total += size;
        }
    }
    if (bsrc_find(src, ARCHIVE_MANIFEST) >= 0) {
        *report = check_archive(src, opts);
    } else {
        *report = check_bundle(src, "", opts);
    }
    bsrc_destroy(&src);
    return *report ? FT_OK : FT_ENOMEM;
}

/* ---- printing ------------------------------------------------------------------------ */

static void print_bundle(const json_t *r, FILE *out, const char *indent)
{
    const json_t *counts = json_object_get(r, "counts");
    const char *path = jstr(r, "path");
    bool ok = json_is_true(json_object_get(r, "ok"));
    fprintf(out, "%s%s: case %s%s%s\n", indent, ok ? "OK" : "NOT OK",
            jstr(r, "case") ? jstr(r, "case") : "?", path && path[0] ? " in " : "",
            path && path[0] ? path : "");
    if (counts) {
        fprintf(out,
                "%s  %lld records, %lld media files checked, %lld deleted by retention, %lld not "
                "included; %lld log entries from %lld devices, %lld hub receipts, %lld hub-log "
                "entries (%lld alert events of the case), %lld files\n",
                indent, (long long)json_integer_value(json_object_get(counts, "records")),
                (long long)json_integer_value(json_object_get(counts, "media_checked")),
                (long long)json_integer_value(json_object_get(counts, "media_deleted")),
                (long long)json_integer_value(json_object_get(counts, "media_absent")),
                (long long)json_integer_value(json_object_get(counts, "entries")),
                (long long)json_integer_value(json_object_get(counts, "devices")),
                (long long)json_integer_value(json_object_get(counts, "receipts")),
                (long long)json_integer_value(json_object_get(counts, "hub_entries")),
                (long long)json_integer_value(json_object_get(counts, "hub_alert_events")),
                (long long)json_integer_value(json_object_get(counts, "files")));
    }
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(r, "problems"), i, p)
    {
        fprintf(out, "%s  %-14s %s: %s\n", indent, jstr(p, "what"), jstr(p, "item"),
                jstr(p, "detail"));
    }
    json_array_foreach(json_object_get(r, "notes"), i, p)
    {
        fprintf(out, "%s  note: %s\n", indent, json_string_value(p));
    }
}

void bcheck_print(const json_t *report, FILE *out)
{
    const json_t *hub = json_object_get(report, "hub");
    bool ok = json_is_true(json_object_get(report, "ok"));
    if (strcmp(jstr(report, "kind"), "archive") == 0) {
        fprintf(out, "archive: %s\n", ok ? "OK" : "NOT OK");
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(report, "problems"), i, p)
        {
            fprintf(out, "  %-14s %s: %s\n", jstr(p, "what"), jstr(p, "item"), jstr(p, "detail"));
        }
        json_array_foreach(json_object_get(report, "bundles"), i, p)
        {
            print_bundle(p, out, "  ");
        }
    } else {
        print_bundle(report, out, "");
    }
    if (hub) {
        fprintf(out,
                "signed by hub %s (signing key %s): compare it with the hub key your office "
                "published.\n",
                jstr(hub, "device_id"), jstr(hub, "sign_pk"));
    }
    fprintf(out, "verdict: %s\n",
            ok ? "nothing altered, missing or added"
               : "PROBLEMS FOUND: the items named above were altered, removed or added");
}
