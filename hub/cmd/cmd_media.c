/* cmd_media.c: `fieldtrail-hub media list|get` and the media part of
 * `fieldtrail-hub status`. */
#include "blobstore.h"
#include "fsutil.h"
#include "hlc.h"
#include "hub.h"
#include "logging.h"
#include "mediapull.h"
#include "record.h"
#include "utf8.h"

#include <bodyjson.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void media_usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-hub media list [--unit U] [--recorder R] [--officer O]\n"
                 "                                 [--case C] [--cause X] [--party P]\n"
                 "                                 [--since RFC3339] [--until RFC3339] [--all]\n"
                 "                                 [--json]\n"
                 "       fieldtrail-hub media get FILE_ID --out FILE\n"
                 "         [--state DIR] [--config FILE]\n\n"
                 "list: media files the hub knows of (Art. 10 fields), with their transfer state;\n"
                 "      filters match exactly (text that is not valid UTF-8 also as listed, with\n"
                 "      \\xNN for each invalid byte); --since/--until select by capture time\n"
                 "      overlap; --all also lists files superseded by a later, whole copy\n"
                 "      (superseded_by).\n"
                 "get:  writes the decrypted file (checked against its content hash) to FILE.\n");
}

static const char *state_name(uint32_t s)
{
    switch (s) {
    case HMF_PULLING:
        return "pulling";
    case HMF_COMPLETE:
        return "complete";
    case HMF_DAMAGED:
        return "damaged";
    case HMF_FAILED:
        return "failed";
    default:
        return "unknown";
    }
}

/* Filters of `media list`. */
typedef struct {
    const char *unit, *recorder, *officer, *case_id, *cause, *party;
    bool has_since, has_until;
    int64_t since, until;
    hub_ctx_t *ctx;
    json_t *out; /* array of rows */
} list_t;

/* A filter matches the stored text, or the escaped form `list` shows of
 * text that is not valid UTF-8 (utf8.h). */
static bool eq(const char *filter, const char *v)
{
    if (!filter) {
        return true;
    }
    if (!v) {
        return false;
    }
    if (strcmp(filter, v) == 0) {
        return true;
    }
    char *shown = NULL;
    if (utf8_valid_str(v) || utf8_escape(v, &shown) != FT_OK) {
        return false;
    }
    bool same = strcmp(filter, shown) == 0;
    free(shown);
    return same;
}

/* A blob ID (the file's Merkle root: its content key in the blob store) as hex. */
static json_t *blob_json(const uint8_t root[MEDIA_HASH_BYTES])
{
    char hex[2 * MEDIA_HASH_BYTES + 1];
    hex_encode(root, MEDIA_HASH_BYTES, hex);
    return json_string(hex);
}

static json_t *time_json(const Ft__Time *t)
{
    if (!t) {
        return json_null();
    }
    char buf[48];
    rfc3339_format(t->unix_ms, t->utc_offset_min, buf, sizeof buf);
    return json_string(buf);
}

static const char *source_name(Ft__ValueSource s)
{
    switch (s) {
    case FT__VALUE_SOURCE__SIDECAR:
        return "sidecar";
    case FT__VALUE_SOURCE__CONTAINER:
        return "container";
    case FT__VALUE_SOURCE__FILE_MTIME:
        return "file_mtime";
    case FT__VALUE_SOURCE__CHECKOUT:
        return "checkout";
    case FT__VALUE_SOURCE__OPERATOR:
        return "operator";
    default:
        return "none";
    }
}

/* One file of `media list`. Its text is shown escaped where it is not valid
 * UTF-8 (an old edge cut a sidecar's text mid-character): a file is never
 * left out for its text; a row that cannot be made (out of memory) ends the
 * listing with an error. */
static int list_visit(void *vctx, const hub_mfile_t *f)
{
    list_t *l = vctx;
    store_txn_t *t = NULL;
    char idhex[33];
    hex_encode(f->file_id, MEDIA_FILE_ID_BYTES, idhex);
    int err = store_begin(l->ctx->store, false, &t);
    if (err != FT_OK) {
        return err;
    }
    const uint8_t *raw = NULL;
    size_t len = 0;
    entry_view_t v;
    memset(&v, 0, sizeof v);
    store_device_t dev;
    bool has_dev = store_device_get(t, f->device, &dev) == FT_OK;
    err = store_entry_get(t, f->device, f->epoch, f->seq, &raw, &len);
    if (err == FT_OK) {
        err = entry_open(raw, len, &v);
    }
    if (err == FT_OK && (!v.entry->body || v.entry->body->kind_case != FT__BODY__KIND_MEDIA)) {
        entry_view_free(&v);
        err = FT_ECORRUPT;
    }
    if (err != FT_OK) {
        store_abort(&t);
        log_warn("media %s: its manifest (entry %llu) cannot be read from the store (%s): "
                 "not listed",
                 idhex, (unsigned long long)f->seq, ft_strerror(err));
        return FT_OK;
    }
    const Ft__MediaManifest *mf = v.entry->body->media;
    const char *unit = mf->unit ? mf->unit : (has_dev ? dev.unit : NULL);
    bool keep = eq(l->unit, unit) && eq(l->recorder, mf->recorder) && eq(l->officer, mf->officer) &&
                eq(l->case_id, mf->case_id) && eq(l->cause, mf->cause) && eq(l->party, mf->party);
    int64_t s = mf->start ? mf->start->unix_ms : (mf->end ? mf->end->unix_ms : 0);
    int64_t e = mf->end ? mf->end->unix_ms : s;
    if (l->has_since && e < l->since) {
        keep = false;
    }
    if (l->has_until && s > l->until) {
        keep = false;
    }
    char dev_text[DEVID_TEXT_SIZE], chash[65];
    devid_format(f->device, dev_text);
    hex_encode(f->content_hash, MEDIA_HASH_BYTES, chash);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "file_id", idhex,
                  "state", state_name(f->state), "kind", media_kind_name(mf->kind), "size",
                  (json_int_t)f->size, "device", dev_text, "content_hash", chash, "officer_source",
                  mf->has_officer_source ? source_name(mf->officer_source) : "none", "chunks",
                  (json_int_t)f->n_chunks, "chunks_held", (json_int_t)f->held, "chunks_refused",
                  (json_int_t)f->bad, "seq", (json_int_t)f->seq);
    bool ok =
        o && json_object_set_new(o, "start", time_json(mf->start)) == 0 &&
        json_object_set_new(o, "start_ms", json_integer(mf->start ? mf->start->unix_ms : 0)) == 0 &&
        json_object_set_new(o, "end", time_json(mf->end)) == 0 &&
        json_object_set_new(o, "blob", blob_json(f->merkle_root)) == 0 &&
        json_object_set_new(
            o, "time_source",
            json_string(mf->has_time_source ? source_name(mf->time_source) : "none")) == 0;
    /* The text: null when absent, escaped where it is not valid UTF-8
     * (utf8_json_string is NULL for text only when memory runs out). */
    const struct {
        const char *key, *text;
    } texts[] = {
        {"name", mf->file_name},    {"unit", unit},
        {"recorder", mf->recorder}, {"officer", mf->officer},
        {"case", mf->case_id},      {"cause", mf->cause},
        {"party", mf->party},       {"vehicle", has_dev ? dev.vehicle : NULL},
    };
    bool escaped = false;
    for (size_t i = 0; ok && i < sizeof texts / sizeof texts[0]; i++) {
        json_t *j = texts[i].text ? utf8_json_string(texts[i].text) : json_null();
        ok = j && json_object_set_new(o, texts[i].key, j) == 0;
        escaped = escaped || !utf8_valid_str(texts[i].text);
    }
    if (ok && escaped) {
        ok = json_object_set_new(o, "text_escaped", json_true()) == 0;
    }
    if (ok && mf->has_supersedes && mf->supersedes.len == MEDIA_FILE_ID_BYTES) {
        char sup[33];
        hex_encode(mf->supersedes.data, MEDIA_FILE_ID_BYTES, sup);
        ok = json_object_set_new(o, "supersedes", json_string(sup)) == 0;
    }
    /* Every row is kept until the superseded ones are known (a filter may
     * match only one of a pair); mark_superseded drops the rest. */
    if (ok) {
        ok = json_object_set_new(o, "_match", json_boolean(keep)) == 0;
    }
    entry_view_free(&v);
    store_abort(&t);
    if (ok) {
        ok = json_array_append_new(l->out, o) == 0;
    } else {
        json_decref(o);
    }
    if (!ok) {
        log_error("media %s cannot be listed: out of memory", idhex);
        return FT_ENOMEM;
    }
    return FT_OK;
}

/* A manifest that supersedes another of its own device (docs/media.md: a
 * file the edge took before its writer had finished, then ingested again
 * in full) hides it: `superseded_by` is set on the earlier row, which is
 * dropped unless all is set. Rows of the same device only: a device cannot
 * hide another's clip. Rows that did not match the filters (_match) go too. */
static void mark_superseded(json_t *rows, bool all)
{
    size_t i, j;
    json_t *o, *p;
    json_array_foreach(rows, i, o)
    {
        const char *sup = json_string_value(json_object_get(o, "supersedes"));
        const char *dev = json_string_value(json_object_get(o, "device"));
        if (!sup || !dev) {
            continue;
        }
        json_array_foreach(rows, j, p)
        {
            const char *id = json_string_value(json_object_get(p, "file_id"));
            const char *pdev = json_string_value(json_object_get(p, "device"));
            if (id && pdev && strcmp(id, sup) == 0 && strcmp(pdev, dev) == 0) {
                json_object_set(p, "superseded_by", json_object_get(o, "file_id"));
            }
        }
    }
    for (i = json_array_size(rows); i-- > 0;) {
        json_t *r = json_array_get(rows, i);
        if (!json_is_true(json_object_get(r, "_match")) ||
            (!all && json_object_get(r, "superseded_by"))) {
            json_array_remove(rows, i);
        } else {
            json_object_del(r, "_match");
        }
    }
}

static int media_list(hub_ctx_t *ctx, int argc, char **argv)
{
    list_t l = {.ctx = ctx};
    enum { O_UNIT = 256, O_REC, O_OFF, O_CASE, O_CAUSE, O_PARTY, O_SINCE, O_UNTIL, O_ALL };
    bool all = false;
    static const struct option opts[] = {
        HUB_COMMON_OPTS,
        {"unit", required_argument, NULL, O_UNIT},
        {"recorder", required_argument, NULL, O_REC},
        {"officer", required_argument, NULL, O_OFF},
        {"case", required_argument, NULL, O_CASE},
        {"cause", required_argument, NULL, O_CAUSE},
        {"party", required_argument, NULL, O_PARTY},
        {"since", required_argument, NULL, O_SINCE},
        {"until", required_argument, NULL, O_UNTIL},
        {"all", no_argument, NULL, O_ALL},
        {NULL, 0, NULL, 0},
    };
    int opt;
    int32_t off = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (hub_common_opt(ctx, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case O_UNIT:
            l.unit = optarg;
            break;
        case O_REC:
            l.recorder = optarg;
            break;
        case O_OFF:
            l.officer = optarg;
            break;
        case O_CASE:
            l.case_id = optarg;
            break;
        case O_CAUSE:
            l.cause = optarg;
            break;
        case O_PARTY:
            l.party = optarg;
            break;
        case O_ALL:
            all = true;
            break;
        case O_SINCE:
        case O_UNTIL: {
            int64_t *dst = opt == O_SINCE ? &l.since : &l.until;
            if (rfc3339_parse(optarg, dst, &off) != FT_OK) {
                hub_fail("--%s wants an RFC 3339 time such as 2026-05-01T08:00:00+08:00, not "
                         "\"%s\"",
                         opt == O_SINCE ? "since" : "until", optarg);
                return 2;
            }
            *(opt == O_SINCE ? &l.has_since : &l.has_until) = true;
            break;
        }
        case 'h':
            media_usage(stdout);
            return 0;
        default:
            media_usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        media_usage(stderr);
        return 2;
    }
    if (hub_open(ctx, false) != 0) {
        return 1;
    }
    hub_mdb_t *d = NULL;
    if (hub_mdb_open(ctx->state, &d) != FT_OK) {
        hub_fail("cannot open the media database in %s/mediadb", ctx->state);
        return 1;
    }
    l.out = json_array();
    lmdbx_unread_t unread = {0};
    int err = hub_mdb_iter(d, list_visit, &l, &unread);
    hub_mdb_destroy(&d);
    /* Rows that cannot be read are said, after the files that can. */
    bool partial = err == FT_ECORRUPT && unread.n;
    if (err != FT_OK && !partial) {
        hub_fail("cannot list media: %s", ft_strerror(err));
        json_decref(l.out);
        return 1;
    }
    mark_superseded(l.out, all);
    size_t i;
    json_t *o;
    /* For people: sizes in human units, the start in local time with its
     * offset (clitext.h), columns as wide as what they hold. */
    static const char *const cols[] = {"FILE ID", "STATE", "KIND",  "SIZE", "RECORDER",
                                       "OFFICER", "CASE",  "START", "NAME"};
    cli_table_t *tab = ctx->json ? NULL : cli_table_new(9, cols, "lllrlllll");
    json_array_foreach(l.out, i, o)
    {
        if (ctx->json) {
            json_dumpf(o, stdout, JSON_COMPACT);
            fputc('\n', stdout);
        } else if (tab) {
            char size[24], start[CLI_TIME_TEXT];
            cli_size((uint64_t)json_integer_value(json_object_get(o, "size")), size, sizeof size);
            cli_time(json_integer_value(json_object_get(o, "start_ms")), start, sizeof start);
            const char *cells[] = {json_string_value(json_object_get(o, "file_id")),
                                   json_string_value(json_object_get(o, "state")),
                                   json_string_value(json_object_get(o, "kind")),
                                   size,
                                   json_string_value(json_object_get(o, "recorder")),
                                   json_string_value(json_object_get(o, "officer")),
                                   json_string_value(json_object_get(o, "case")),
                                   start,
                                   json_string_value(json_object_get(o, "name"))};
            (void)cli_table_add(tab, cells);
        }
    }
    cli_table_print(tab, stdout);
    cli_table_free(&tab);
    json_decref(l.out);
    if (partial) {
        fflush(stdout);
        hub_fail("%llu rows of the media database could not be read and are not listed (the "
                 "first: file %s): %s",
                 (unsigned long long)unread.n, unread.first_key, ft_strerror(FT_ECORRUPT));
        return 1;
    }
    return 0;
}

static int media_get(hub_ctx_t *ctx, int argc, char **argv)
{
    const char *out_path = NULL;
    static const struct option opts[] = {
        HUB_COMMON_OPTS,
        {"out", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        if (hub_common_opt(ctx, opt, optarg)) {
            continue;
        }
        if (opt == 'o') {
            out_path = optarg;
        } else if (opt == 'h') {
            media_usage(stdout);
            return 0;
        } else {
            media_usage(stderr);
            return 2;
        }
    }
    uint8_t file_id[MEDIA_FILE_ID_BYTES];
    if (optind + 1 != argc || !out_path) {
        media_usage(stderr);
        return 2;
    }
    if (hex_decode(argv[optind], file_id, sizeof file_id) != FT_OK) {
        hub_fail("FILE_ID is the 32-character hex ID that `media list` shows, not \"%s\"",
                 argv[optind]);
        return 2;
    }
    if (hub_open(ctx, false) != 0) {
        return 1;
    }
    if (!ctx->keys.has_archive) {
        hub_fail("the hub's key file has no archive key: this hub cannot decrypt media");
        return 1;
    }
    hub_mdb_t *d = NULL;
    hub_mfile_t f;
    if (hub_mdb_open(ctx->state, &d) != FT_OK) {
        hub_fail("cannot open the media database in %s/mediadb", ctx->state);
        return 1;
    }
    int err = hub_mdb_get(d, file_id, &f);
    hub_mdb_destroy(&d);
    if (err == FT_ECORRUPT) {
        hub_fail("the media database's row of file %s cannot be read: %s", argv[optind],
                 ft_strerror(err));
        return 1;
    }
    if (err != FT_OK) {
        hub_fail("no media file %s at this hub (see `fieldtrail-hub media list`)", argv[optind]);
        return 1;
    }
    if (f.state != HMF_COMPLETE) {
        hub_fail("file %s is %s (%u of %u chunks held, %u refused): not available yet",
                 argv[optind], state_name(f.state), f.held, f.n_chunks, f.bad);
        return 1;
    }
    /* The sealed key from the manifest. */
    store_txn_t *t = NULL;
    const uint8_t *raw = NULL;
    size_t len = 0;
    entry_view_t v;
    memset(&v, 0, sizeof v);
    uint8_t key[MEDIA_KEY_BYTES];
    err = store_begin(ctx->store, false, &t);
    if (err == FT_OK) {
        err = store_entry_get(t, f.device, f.epoch, f.seq, &raw, &len);
    }
    if (err == FT_OK) {
        err = entry_open(raw, len, &v);
    }
    if (err == FT_OK) {
        const Ft__MediaManifest *mf = v.entry->body->media;
        err = media_key_unseal(mf->sealed_key.data, mf->sealed_key.len, ctx->keys.archive_pk,
                               ctx->keys.archive_sk, key);
        entry_view_free(&v);
    }
    store_abort(&t);
    if (err != FT_OK) {
        hub_fail("cannot open the file key of %s: %s", argv[optind], ft_strerror(err));
        return 1;
    }
    char path[4200];
    blobstore_t *bs = NULL;
    if (fsutil_join(path, sizeof path, ctx->state, "blobs") != FT_OK ||
        blobstore_open_conf(path, &ctx->blobs, &bs) != FT_OK) {
        sodium_memzero(key, sizeof key);
        hub_fail("cannot open the blob store");
        return 1;
    }
    int in = blobstore_open_read(bs, f.merkle_root);
    blobstore_destroy(&bs);
    if (in < 0) {
        sodium_memzero(key, sizeof key);
        hub_fail("the blob of %s is missing from the blob store: %s", argv[optind],
                 ft_strerror(in));
        return 1;
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%.4000s.part", out_path);
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    uint8_t *ct = malloc(f.chunk_size + MEDIA_TAG_BYTES), *pt = malloc(f.chunk_size);
    media_content_t c;
    media_content_init(&c);
    err = out >= 0 && ct && pt ? FT_OK : FT_EIO;
    for (uint32_t i = 0; err == FT_OK && i < f.n_chunks; i++) {
        uint32_t plen = media_chunk_len(f.size, f.chunk_size, i);
        uint64_t off = (uint64_t)i * (f.chunk_size + MEDIA_TAG_BYTES);
        if (pread(in, ct, plen + MEDIA_TAG_BYTES, (off_t)off) !=
            (ssize_t)(plen + MEDIA_TAG_BYTES)) {
            err = FT_EIO;
            break;
        }
        err = media_chunk_decrypt(key, f.file_id, i, ct, plen + MEDIA_TAG_BYTES, pt);
        if (err == FT_OK) {
            media_content_update(&c, pt, plen);
            if (write(out, pt, plen) != (ssize_t)plen) {
                err = FT_EIO;
            }
        }
    }
    uint8_t chash[MEDIA_HASH_BYTES];
    media_content_final(&c, chash);
    sodium_memzero(key, sizeof key);
    if (pt) {
        sodium_memzero(pt, f.chunk_size);
    }
    free(ct);
    free(pt);
    close(in);
    if (err == FT_OK && sodium_memcmp(chash, f.content_hash, MEDIA_HASH_BYTES) != 0) {
        err = FT_ECORRUPT;
    }
    if (err == FT_OK && fsync(out) != 0) {
        err = FT_EIO;
    }
    if (out >= 0) {
        close(out);
    }
    if (err == FT_OK && rename(tmp, out_path) != 0) {
        err = FT_EIO;
    }
    if (err != FT_OK) {
        unlink(tmp);
        hub_fail("cannot write %s: %s", out_path, ft_strerror(err));
        return 1;
    }
    char idhex[33];
    hex_encode(f.file_id, MEDIA_FILE_ID_BYTES, idhex);
    log_info("media %s written to %s (%llu bytes, content hash checked)", idhex, out_path,
             (unsigned long long)f.size);
    return 0;
}

int hub_cmd_media(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        media_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    hub_ctx_t ctx = {0};
    int rc;
    if (strcmp(argv[1], "list") == 0) {
        rc = media_list(&ctx, argc - 1, argv + 1);
    } else if (strcmp(argv[1], "get") == 0) {
        rc = media_get(&ctx, argc - 1, argv + 1);
    } else {
        hub_fail("unknown media command \"%s\": list or get", argv[1]);
        media_usage(stderr);
        return 2;
    }
    hub_close(&ctx);
    return rc;
}

/* ---- status ----------------------------------------------------------------- */

typedef struct {
    json_t *files;
    uint64_t pulling, complete, damaged, failed, chunks_missing, bytes_missing;
} mstat_t;

static int status_visit(void *vctx, const hub_mfile_t *f)
{
    mstat_t *s = vctx;
    switch (f->state) {
    case HMF_PULLING:
        s->pulling++;
        break;
    case HMF_COMPLETE:
        s->complete++;
        return 0;
    case HMF_DAMAGED:
        s->damaged++;
        break;
    default:
        s->failed++;
        break;
    }
    uint64_t held_bytes = (uint64_t)f->held * f->chunk_size;
    if (held_bytes > f->size) {
        held_bytes = f->size;
    }
    s->chunks_missing += f->n_chunks - f->held - f->bad;
    s->bytes_missing += f->size - held_bytes;
    double secs = (double)(f->last_ms - f->first_ms) / 1000.0;
    double rate = secs > 0 ? (double)held_bytes / secs : 0;
    char idhex[33], dev[DEVID_TEXT_SIZE];
    hex_encode(f->file_id, MEDIA_FILE_ID_BYTES, idhex);
    devid_format(f->device, dev);
    json_array_append_new(
        s->files,
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:f}", "file_id", idhex, "device",
                  dev, "state", state_name(f->state), "size", (json_int_t)f->size, "bytes_held",
                  (json_int_t)held_bytes, "chunks", (json_int_t)f->n_chunks, "chunks_refused",
                  (json_int_t)f->bad, "chunks_resent", (json_int_t)f->dup_chunks, "rate_mb_s",
                  rate / 1e6, "eta_s", rate > 0 ? (double)(f->size - held_bytes) / rate : -1.0));
    return 0;
}

json_t *hub_media_status_json(const char *state)
{
    /* The object store's upload queue (media.store = s3), when there is one. */
    char blobs[4200];
    char *up = fsutil_join(blobs, sizeof blobs, state, "blobs") == FT_OK
                   ? blobstore_upload_status(blobs)
                   : NULL;
    json_t *upload = up ? json_loads(up, 0, NULL) : NULL;
    free(up);
    hub_mdb_t *d = NULL;
    if (hub_mdb_open(state, &d) != FT_OK) {
        return json_null();
    }
    mstat_t s = {.files = json_array()};
    lmdbx_unread_t unread = {0};
    int err = hub_mdb_iter(d, status_visit, &s, &unread);
    if (err != FT_OK && !(err == FT_ECORRUPT && unread.n)) {
        log_warn("media status incomplete: %s", ft_strerror(err));
    }
    hub_mdb_destroy(&d);
    json_t *pulling = hub_media_pulling_json(state);
    json_t *o = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:I}", "files_pulling", (json_int_t)s.pulling,
        "files_complete", (json_int_t)s.complete, "files_damaged", (json_int_t)s.damaged,
        "files_failed", (json_int_t)s.failed, "chunks_queued", (json_int_t)s.chunks_missing,
        "bytes_queued", (json_int_t)s.bytes_missing, "transfers", s.files, "pulling",
        pulling ? pulling : json_null(), "rows_unreadable", (json_int_t)unread.n);
    if (o && unread.n) {
        json_object_set_new(o, "first_unreadable", json_string(unread.first_key));
    }
    if (o && upload) {
        json_object_set_new(o, "object_store", upload);
    } else {
        json_decref(upload);
    }
    return o;
}

void hub_media_status_print(const char *state, FILE *out)
{
    json_t *o = hub_media_status_json(state);
    if (!json_is_object(o)) {
        json_decref(o);
        return;
    }
    char queued[24];
    cli_size((uint64_t)json_integer_value(json_object_get(o, "bytes_queued")), queued,
             sizeof queued);
    fprintf(out,
            "media:       %lld files complete, %lld in transfer (%lld chunks, %s queued), "
            "%lld damaged, %lld failed\n",
            (long long)json_integer_value(json_object_get(o, "files_complete")),
            (long long)json_integer_value(json_object_get(o, "files_pulling")),
            (long long)json_integer_value(json_object_get(o, "chunks_queued")), queued,
            (long long)json_integer_value(json_object_get(o, "files_damaged")),
            (long long)json_integer_value(json_object_get(o, "files_failed")));
    json_t *up = json_object_get(o, "object_store");
    if (json_is_object(up)) {
        const char *last = json_string_value(json_object_get(up, "last_error"));
        fprintf(out,
                "object store: %s; %lld blobs queued (%.1f MiB), %lld uploaded, %lld refused%s%s\n",
                json_string_value(json_object_get(up, "state")),
                (long long)json_integer_value(json_object_get(up, "queued")),
                (double)json_integer_value(json_object_get(up, "queued_bytes")) / 1048576.0,
                (long long)json_integer_value(json_object_get(up, "uploaded")),
                (long long)json_integer_value(json_object_get(up, "refused")),
                last && *last ? "; last error: " : "", last && *last ? hub_text(last) : "");
    }
    json_int_t unread = json_integer_value(json_object_get(o, "rows_unreadable"));
    if (unread > 0) {
        fprintf(out,
                "media:       %lld rows of the media database cannot be read (the first: file "
                "%s): not counted above\n",
                (long long)unread, json_string_value(json_object_get(o, "first_unreadable")));
    }
    json_t *p = json_object_get(o, "pulling");
    const char *pstate = json_string_value(json_object_get(p, "state"));
    json_int_t dport = json_integer_value(json_object_get(p, "data_port"));
    if (pstate && strcmp(pstate, "stopped") != 0) {
        if (dport > 0) {
            fprintf(out,
                    "media data:  chunks on port %lld; %lld asked again on the secure link "
                    "(did not match on the data path), %lld messages dropped (no valid token "
                    "or MAC; %lld of them forged or replayed under a current token, dropped "
                    "before hashing), %lld connections closed unproven\n",
                    (long long)dport,
                    (long long)json_integer_value(json_object_get(p, "data_reasked")),
                    (long long)json_integer_value(json_object_get(p, "data_dropped")),
                    (long long)json_integer_value(json_object_get(p, "data_forged")),
                    (long long)json_integer_value(json_object_get(p, "data_conns_closed")));
        } else {
            fprintf(out, "media data:  no data path; chunks on the secure link\n");
        }
    }
    json_int_t held_back = json_integer_value(json_object_get(p, "held_back"));
    if (pstate && strcmp(pstate, "stopped") != 0 && held_back > 0) {
        fprintf(out,
                "media HELD:  %lld files have every chunk but cannot be finished (the last: %s); "
                "kept, tried again, nothing concluded against the edge\n",
                (long long)held_back, json_string_value(json_object_get(p, "held_reason")));
    }
    if (pstate && strcmp(pstate, "paused") == 0) {
        json_int_t since = json_integer_value(json_object_get(p, "since_ms"));
        json_int_t free_b = json_integer_value(json_object_get(p, "free_bytes"));
        char when[CLI_TIME_TEXT] = "?";
        if (since > 0) {
            cli_time(since, when, sizeof when);
        }
        char room[64] = "";
        if (free_b >= 0) {
            char fb[24];
            cli_size((uint64_t)free_b, fb, sizeof fb);
            snprintf(room, sizeof room, "; %s free now", fb);
        }
        const char *err = json_string_value(json_object_get(p, "error"));
        fprintf(out,
                "media PAUSED since %s: %s (%s)%s; trying again every %lld s; log records and "
                "alerts still flow\n",
                when, json_string_value(json_object_get(p, "reason")),
                err && strncmp(err, "storage is full", 15) == 0 ? "storage is full" : err, room,
                (long long)json_integer_value(json_object_get(p, "retry_s")));
    }
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, "transfers"), i, v)
    {
        double eta = json_real_value(json_object_get(v, "eta_s"));
        char eta_text[32] = "?", held[24], size[24], rate[24];
        if (eta >= 0) {
            cli_hmm((int64_t)(eta * 1000.0), eta_text, sizeof eta_text);
        }
        json_int_t total = json_integer_value(json_object_get(v, "size"));
        json_int_t have = json_integer_value(json_object_get(v, "bytes_held"));
        cli_size((uint64_t)have, held, sizeof held);
        cli_size((uint64_t)total, size, sizeof size);
        cli_size((uint64_t)(json_real_value(json_object_get(v, "rate_mb_s")) * 1e6), rate,
                 sizeof rate);
        fprintf(out, "  %s from %s: %s, %s of %s (%.0f%%), %s/s, ETA %s\n",
                json_string_value(json_object_get(v, "file_id")),
                json_string_value(json_object_get(v, "device")),
                json_string_value(json_object_get(v, "state")), held, size,
                total > 0 ? 100.0 * (double)have / (double)total : 100.0, rate, eta_text);
    }
    json_decref(o);
}

int hub_media_start_cfg(hub_ctx_t *ctx, volatile sig_atomic_t *stop, hub_media_t **out)
{
    /* Media (and its data path, port + 1) listen where sync does unless
     * configured otherwise (docs/operations.md "Exposed ports"). */
    char media_default[300];
    hub_media_opts_t mo = {
        .listen = config_pick(NULL, ctx->cfg, "media.listen",
                              hub_default_endpoint(ctx, 7402, HUB_MEDIA_DEFAULT_LISTEN,
                                                   media_default, sizeof media_default)),
        .data_listen = config_get(ctx->cfg, "media.data_listen"),
        .blobs = &ctx->blobs};
    const char *w = config_get(ctx->cfg, "media.window");
    uint64_t v = 0;
    if (w) {
        if (config_parse_u64(w, &v) != FT_OK || v == 0 || v > 1024) {
            hub_fail("media.window must be a whole number from 1 to 1024, not \"%s\"", w);
            return 1;
        }
        mo.window = (unsigned)v;
    }
    static const struct {
        const char *key;
        size_t off;
    } caps[] = {{"media.max_connections", offsetof(hub_media_opts_t, max_connections)},
                {"media.max_handshaking", offsetof(hub_media_opts_t, max_handshaking)}};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        const char *t = config_get(ctx->cfg, caps[i].key);
        if (!t) {
            continue;
        }
        if (config_parse_u64(t, &v) != FT_OK || v == 0 || v > 65536) {
            hub_fail("%s must be a whole number from 1 to 65536, not \"%s\"", caps[i].key, t);
            return 1;
        }
        *(unsigned *)((char *)&mo + caps[i].off) = (unsigned)v;
    }
    const char *adv = config_get(ctx->cfg, "media.data_advertise");
    if (adv) {
        if (config_parse_u64(adv, &v) != FT_OK || v == 0 || v > 65535) {
            hub_fail("media.data_advertise must be a TCP port from 1 to 65535, not \"%s\"", adv);
            return 1;
        }
        mo.data_advertise = (unsigned)v;
    }
    if (hub_media_start(ctx->state, ctx->store, ctx->hublog, &ctx->keys, &mo, stop, out) != FT_OK) {
        hub_fail("cannot start the media service on %s (see the message above)", mo.listen);
        return 1;
    }
    return 0;
}

/* A whole number of MiB (or days) from lo to hi in key, into *out; 0, or 1
 * after naming the file, line and reason. */
static int blob_num(hub_ctx_t *ctx, const char *key, uint64_t lo, uint64_t hi, uint64_t *out)
{
    const char *t = config_get(ctx->cfg, key);
    if (!t) {
        return 0;
    }
    uint64_t v = 0;
    if (config_parse_u64(t, &v) != FT_OK || v < lo || v > hi) {
        char where[4200];
        config_where(ctx->cfg, key, where, sizeof where);
        hub_fail("%s: %s must be a whole number from %llu to %llu, not \"%s\"", where, key,
                 (unsigned long long)lo, (unsigned long long)hi, hub_text(t));
        return 1;
    }
    *out = v;
    return 0;
}

int hub_blob_conf(hub_ctx_t *ctx)
{
    memset(&ctx->blobs, 0, sizeof ctx->blobs);
    const char *store = config_get(ctx->cfg, "media.store");
    char where[4200];
    if (!store || strcmp(store, "dir") == 0) {
        return 0;
    }
    if (strcmp(store, "s3") != 0) {
        config_where(ctx->cfg, "media.store", where, sizeof where);
        hub_fail("%s: media.store must be \"dir\" (the default) or \"s3\", not \"%s\"", where,
                 hub_text(store));
        return 1;
    }
    s3store_conf_t *c = &ctx->blobs.s3c;
    const char *need[] = {"media.s3_endpoint", "media.s3_bucket", "media.s3_access_key",
                          "media.s3_secret_key"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        const char *v = config_get(ctx->cfg, need[i]);
        if (!v || !*v) {
            config_where(ctx->cfg, "media.store", where, sizeof where);
            hub_fail("%s: media.store = s3 needs %s in the same file", where, need[i]);
            return 1;
        }
    }
    c->s3.endpoint = config_get(ctx->cfg, "media.s3_endpoint");
    c->s3.bucket = config_get(ctx->cfg, "media.s3_bucket");
    c->s3.region = config_pick(NULL, ctx->cfg, "media.s3_region", "us-east-1");
    c->s3.access_key = config_get(ctx->cfg, "media.s3_access_key");
    c->s3.secret_key = config_get(ctx->cfg, "media.s3_secret_key");
    c->s3.ca_file = config_get(ctx->cfg, "media.s3_ca_file");
    c->prefix = config_pick(NULL, ctx->cfg, "media.s3_prefix", "media/");
    const char *ep = c->s3.endpoint;
    const char *host = strncmp(ep, "http://", 7) == 0    ? ep + 7
                       : strncmp(ep, "https://", 8) == 0 ? ep + 8
                                                         : NULL;
    if (!host || !*host || strchr(host, '/') || strchr(host, '@') || strchr(host, '?')) {
        config_where(ctx->cfg, "media.s3_endpoint", where, sizeof where);
        hub_fail("%s: media.s3_endpoint must be http://HOST[:PORT] or https://HOST[:PORT] "
                 "(no path, no user), not \"%s\"",
                 where, hub_text(ep));
        return 1;
    }
    /* S3 bucket names: 3-63 of a-z 0-9 . - */
    size_t bl = strlen(c->s3.bucket);
    bool ok = bl >= 3 && bl <= 63;
    for (size_t i = 0; ok && i < bl; i++) {
        char ch = c->s3.bucket[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-';
    }
    if (!ok) {
        config_where(ctx->cfg, "media.s3_bucket", where, sizeof where);
        hub_fail("%s: media.s3_bucket must be 3 to 63 of a-z, 0-9, '.' and '-', not \"%s\"", where,
                 hub_text(c->s3.bucket));
        return 1;
    }
    for (const char *p = c->prefix; *p; p++) {
        if ((unsigned char)*p < 0x21 || *p == '\\' || *p == '?' || *p == '#') {
            config_where(ctx->cfg, "media.s3_prefix", where, sizeof where);
            hub_fail("%s: media.s3_prefix holds a space, a control character or one of \\?#",
                     where);
            return 1;
        }
    }
    uint64_t multipart_mb = 64, part_mb = 16, lock_days = 730, cache_mb = 1024;
    if (blob_num(ctx, "media.s3_multipart_mb", 5, 5 * 1024, &multipart_mb) ||
        blob_num(ctx, "media.s3_part_mb", 5, 5 * 1024, &part_mb) ||
        blob_num(ctx, "media.s3_lock_days", 0, 36500, &lock_days) ||
        blob_num(ctx, "media.s3_cache_mb", 0, 1u << 24, &cache_mb)) {
        return 1;
    }
    c->multipart_bytes = multipart_mb << 20;
    c->part_bytes = part_mb << 20;
    c->lock_days = (uint32_t)lock_days;
    c->cache_bytes = cache_mb << 20;
    ctx->blobs.s3 = true;
    return 0;
}
