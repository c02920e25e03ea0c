/* bundle.c: writing a case bundle (bundle.h). The bundle is staged beside
 * its target, signed, audited, then renamed (or packed into a tar) so that a
 * half-written bundle is never mistaken for a whole one. */
#include "bundle.h"
#include "blobstore.h"
#include "bodyjson.h"
#include "bundlefmt.h"
#include "engine.h"
#include "fsutil.h"
#include "hlc.h"
#include "index.h"
#include "logging.h"
#include "mediadb.h"
#include "record.h"
#include "retention.h"
#include "wire.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One device log (device, epoch) the case uses. */
typedef struct {
    uint8_t device[DEVID_BYTES];
    uint64_t epoch;
    uint64_t last_used; /* highest seq an item of the case has */
    uint64_t upto;      /* entries written: 1..upto */
} bw_log_t;

/* A media item of the case. */
typedef struct {
    const gap_media_t *g;
    const index_item_t *ii;
} bw_media_t;

typedef struct {
    const hub_parts_t *ctx;
    const bundle_opts_t *o;
    char stage[4200];
    json_t *files; /* relative paths written, in order */
    json_t *items, *logs, *devices;
    bw_log_t *wl;
    size_t n_wl, cap_wl;
    store_txn_t *st;
    index_txn_t *it;
    index_t *idx;
    alerts_t *alerts;     /* opened before it: a thread's one transaction is it */
    uint64_t bytes;       /* media bytes written so far (progress) */
    uint64_t media_total; /* media bytes to write (progress) */
    bundle_result_t *res;
    char *err;
    size_t errlen;
} bw_t;

static void fail(bw_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(bw_t *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, w->errlen, fmt, ap);
    va_end(ap);
}

/* RFC 3339 UTC text of a Unix ms time into buf ("-" for 0). */
static void time_text(int64_t ms, char *buf, size_t len)
{
    if (ms <= 0) {
        snprintf(buf, len, "-");
        return;
    }
    rfc3339_format(ms, 0, buf, len);
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* Opens stage/rel for writing (creating its directory). */
static FILE *open_out(bw_t *w, const char *rel)
{
    char path[4800], dir[4800];
    snprintf(path, sizeof path, "%s/%s", w->stage, rel);
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        if (fsutil_mkdirs(dir, 0755) != FT_OK) {
            return NULL;
        }
    }
    FILE *f = fopen(path, "wb");
    if (f) {
        json_array_append_new(w->files, json_string(rel));
    }
    return f;
}

static int close_out(FILE *f)
{
    int err = FT_OK;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        err = errno == ENOSPC ? FT_EFULL : FT_EIO;
    }
    if (fclose(f) != 0 && err == FT_OK) {
        err = FT_EIO;
    }
    return err;
}

static int write_json_file(bw_t *w, const char *rel, const json_t *o, size_t flags)
{
    FILE *f = open_out(w, rel);
    if (!f) {
        return FT_EIO;
    }
    int err = json_dumpf(o, f, flags) == 0 ? FT_OK : FT_EIO;
    fputc('\n', f);
    int e2 = close_out(f);
    return err != FT_OK ? err : e2;
}

static bw_log_t *log_of(bw_t *w, const uint8_t device[DEVID_BYTES], uint64_t epoch)
{
    for (size_t i = 0; i < w->n_wl; i++) {
        if (memcmp(w->wl[i].device, device, DEVID_BYTES) == 0 && w->wl[i].epoch == epoch) {
            return &w->wl[i];
        }
    }
    if (w->n_wl == w->cap_wl) {
        size_t cap = w->cap_wl ? w->cap_wl * 2 : 8;
        bw_log_t *n = realloc(w->wl, cap * sizeof *n);
        if (!n) {
            return NULL;
        }
        w->wl = n;
        w->cap_wl = cap;
    }
    bw_log_t *l = &w->wl[w->n_wl++];
    memset(l, 0, sizeof *l);
    memcpy(l->device, device, DEVID_BYTES);
    l->epoch = epoch;
    return l;
}

static int use_ref(bw_t *w, const uint8_t ref[INDEX_REF_BYTES])
{
    bw_log_t *l = log_of(w, ref, be64(ref + DEVID_BYTES));
    if (!l) {
        return FT_ENOMEM;
    }
    uint64_t seq = be64(ref + DEVID_BYTES + 8);
    if (seq > l->last_used) {
        l->last_used = seq;
    }
    return FT_OK;
}

/* ---- logs, receipts, devices --------------------------------------------------------- */

typedef struct {
    FILE *f;
    uint64_t upto;
    int err;
} logw_t;

static int log_entry(void *ctx, const store_entry_t *e)
{
    logw_t *lw = ctx;
    if (e->seq > lw->upto) {
        return 1;
    }
    lw->err = bframe_write(lw->f, e->raw, e->len);
    return lw->err != FT_OK ? 1 : 0;
}

static int write_logs(bw_t *w)
{
    for (size_t i = 0; i < w->n_wl; i++) {
        bw_log_t *l = &w->wl[i];
        store_head_t head;
        int err = store_head_get(w->st, l->device, l->epoch, &head);
        if (err != FT_OK) {
            return err;
        }
        /* The first receipt at or after the last entry used covers it. */
        const uint8_t *raw;
        size_t len;
        l->upto = l->last_used;
        for (uint64_t s = l->last_used; s <= head.seq; s++) {
            if (store_receipt_get(w->st, l->device, l->epoch, s, &raw, &len) == FT_OK) {
                l->upto = s;
                break;
            }
        }
        char dev[DEVID_TEXT_SIZE], rel[128], rrel[128];
        devid_format(l->device, dev);
        snprintf(rel, sizeof rel, "logs/%s-%llu.log", dev, (unsigned long long)l->epoch);
        snprintf(rrel, sizeof rrel, "receipts/%s-%llu.bin", dev, (unsigned long long)l->epoch);
        FILE *f = open_out(w, rel);
        if (!f) {
            return FT_EIO;
        }
        logw_t lw = {.f = f, .upto = l->upto};
        err = store_device_entries_iter(w->st, l->device, l->epoch, 1, log_entry, &lw);
        if (err == 1 || err == FT_OK) {
            err = lw.err;
        }
        int e2 = close_out(f);
        if (err != FT_OK || e2 != FT_OK) {
            return err != FT_OK ? err : e2;
        }
        f = open_out(w, rrel);
        if (!f) {
            return FT_EIO;
        }
        size_t n_rc = 0;
        for (uint64_t s = 1; s <= l->upto && err == FT_OK; s++) {
            if (store_receipt_get(w->st, l->device, l->epoch, s, &raw, &len) == FT_OK) {
                err = bframe_write(f, raw, len);
                n_rc++;
            }
        }
        e2 = close_out(f);
        if (err != FT_OK || e2 != FT_OK) {
            return err != FT_OK ? err : e2;
        }
        json_array_append_new(w->logs,
                              json_pack("{s:s, s:I, s:s, s:I, s:I, s:s, s:I}", "device_id", dev,
                                        "epoch", (json_int_t)l->epoch, "file", rel, "entries",
                                        (json_int_t)l->upto, "last_used", (json_int_t)l->last_used,
                                        "receipts", rrel, "receipt_count", (json_int_t)n_rc));
    }
    return FT_OK;
}

static int write_devices(bw_t *w)
{
    for (size_t i = 0; i < w->n_wl; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            seen = memcmp(w->wl[j].device, w->wl[i].device, DEVID_BYTES) == 0;
        }
        if (seen) {
            continue;
        }
        store_device_t d;
        int err = store_device_get(w->st, w->wl[i].device, &d);
        if (err != FT_OK) {
            return err;
        }
        char dev[DEVID_TEXT_SIZE], spk[65], tpk[65], en[48], rv[48], rel[96];
        devid_format(d.device, dev);
        hex_encode(d.sign_pk, 32, spk);
        hex_encode(d.transport_pk, 32, tpk);
        time_text(d.enrolled_ms, en, sizeof en);
        time_text(d.revoked_ms, rv, sizeof rv);
        json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:b, s:s}", "device_id", dev,
                              "sign_pk", spk, "transport_pk", tpk, "unit", utf8_json_string(d.unit),
                              "vehicle", utf8_json_string(d.vehicle), "enrolled", en, "revoked",
                              d.revoked, "revoked_at", rv);
        snprintf(rel, sizeof rel, "devices/%s.json", dev);
        err = write_json_file(w, rel, o, JSON_INDENT(2));
        json_decref(o);
        if (err != FT_OK) {
            return err;
        }
        w->res->devices++;
        json_array_append_new(w->devices, json_pack("{s:s, s:s}", "device_id", dev, "file", rel));
    }
    return FT_OK;
}

/* ---- media ------------------------------------------------------------------------------ */

static void media_ext(const char *name, char *ext, size_t n)
{
    ext[0] = '\0';
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (!dot || strlen(dot + 1) == 0 || strlen(dot + 1) > 8) {
        snprintf(ext, n, ".bin");
        return;
    }
    for (const char *c = dot + 1; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9'))) {
            snprintf(ext, n, ".bin");
            return;
        }
    }
    snprintf(ext, n, "%s", dot);
}

/* Writes one media file: decrypted, or the ciphertext as stored. */
static int write_media_file(bw_t *w, const hub_mfile_t *f, const uint8_t key[MEDIA_KEY_BYTES],
                            int in, const char *rel)
{
    FILE *out = open_out(w, rel);
    if (!out) {
        return FT_EIO;
    }
    uint32_t cs = f->chunk_size;
    uint8_t *ct = malloc((size_t)cs + MEDIA_TAG_BYTES), *pt = malloc(cs);
    media_content_t c;
    media_content_init(&c);
    int err = ct && pt ? FT_OK : FT_ENOMEM;
    for (uint32_t i = 0; err == FT_OK && i < f->n_chunks; i++) {
        uint32_t plen = media_chunk_len(f->size, cs, i);
        uint64_t off = (uint64_t)i * (cs + MEDIA_TAG_BYTES);
        if (pread(in, ct, plen + MEDIA_TAG_BYTES, (off_t)off) !=
            (ssize_t)(plen + MEDIA_TAG_BYTES)) {
            err = FT_EIO;
            break;
        }
        err = media_chunk_decrypt(key, f->file_id, i, ct, plen + MEDIA_TAG_BYTES, pt);
        if (err != FT_OK) {
            break;
        }
        media_content_update(&c, pt, plen);
        if (w->o->sealed) {
            if (fwrite(ct, 1, plen + MEDIA_TAG_BYTES, out) != plen + MEDIA_TAG_BYTES) {
                err = FT_EIO;
            }
        } else if (fwrite(pt, 1, plen, out) != plen) {
            err = FT_EIO;
        }
        w->bytes += plen;
        if (w->o->progress) {
            w->o->progress(w->o->progress_ctx, "media", w->bytes, w->media_total);
        }
    }
    uint8_t chash[MEDIA_HASH_BYTES];
    media_content_final(&c, chash);
    if (pt) {
        sodium_memzero(pt, cs);
    }
    free(ct);
    free(pt);
    int e2 = close_out(out);
    if (err == FT_OK && sodium_memcmp(chash, f->content_hash, MEDIA_HASH_BYTES) != 0) {
        err = FT_ECORRUPT;
    }
    return err != FT_OK ? err : e2;
}

static int write_media(bw_t *w, const bw_media_t *ms, size_t n, const retention_facts_t *facts)
{
    hub_mdb_t *mdb = NULL;
    blobstore_t *bs = NULL;
    char dir[4200];
    int err = w->o->mdb ? FT_OK : hub_mdb_open(w->ctx->state, &mdb);
    hub_mdb_t *md = w->o->mdb ? w->o->mdb : mdb;
    if (err == FT_OK && fsutil_join(dir, sizeof dir, w->ctx->state, "blobs") == FT_OK) {
        err = blobstore_open_conf(dir, w->ctx->blobs, &bs);
    }
    if (err != FT_OK) {
        fail(w, "cannot open the media database and blob store: %s", ft_strerror(err));
        hub_mdb_destroy(&mdb);
        return err;
    }
    /* The media bytes ahead, for progress. */
    for (size_t i = 0; i < n && w->o->progress; i++) {
        uint8_t fid[MEDIA_FILE_ID_BYTES];
        hub_mfile_t f;
        if (!json_object_get(facts->deletions, ms[i].g->media_id) &&
            hex_decode(ms[i].g->media_id, fid, sizeof fid) == FT_OK &&
            hub_mdb_get(md, fid, &f) == FT_OK && f.state == HMF_COMPLETE) {
            w->media_total += f.size;
        }
    }
    for (size_t i = 0; i < n && err == FT_OK; i++) {
        const index_item_t *ii = ms[i].ii;
        char ref[INDEX_REF_TEXT];
        index_ref_text(ii->ref, ref);
        json_t *item =
            json_pack("{s:s, s:s, s:s}", "ref", ref, "kind", "media", "file_id", ms[i].g->media_id);
        json_array_append_new(w->items, item);
        w->res->media++;
        uint8_t fid[MEDIA_FILE_ID_BYTES];
        hub_mfile_t f;
        const json_t *del = json_object_get(facts->deletions, ms[i].g->media_id);
        if (del) {
            json_object_set_new(item, "status", json_string("deleted"));
            json_object_set(item, "deletion_hublog_seq", (json_t *)del);
            w->res->media_deleted++;
            continue;
        }
        int gerr = hex_decode(ms[i].g->media_id, fid, sizeof fid);
        if (gerr == FT_OK) {
            gerr = hub_mdb_get(md, fid, &f);
        }
        if (gerr == FT_ECORRUPT) {
            err = gerr;
            fail(w, "the media database's row of media %s cannot be read", ms[i].g->media_id);
            break;
        }
        if (gerr != FT_OK || f.state != HMF_COMPLETE) {
            json_object_set_new(item, "status", json_string("not_at_hub"));
            continue;
        }
        /* The file key from the signed manifest, opened with the archive key. */
        const uint8_t *raw;
        size_t len;
        entry_view_t v;
        uint8_t key[MEDIA_KEY_BYTES];
        err = store_entry_get(w->st, f.device, f.epoch, f.seq, &raw, &len);
        if (err == FT_OK) {
            err = entry_open(raw, len, &v);
        }
        char ext[16] = ".bin";
        if (err == FT_OK) {
            const Ft__MediaManifest *mf = v.entry->body->media;
            err = mf ? media_key_unseal(mf->sealed_key.data, mf->sealed_key.len,
                                        w->ctx->keys->archive_pk, w->ctx->keys->archive_sk, key)
                     : FT_ECORRUPT;
            media_ext(mf ? mf->file_name : NULL, ext, sizeof ext);
            if (mf && mf->file_name) {
                json_object_set_new(item, "name", utf8_json_string(mf->file_name));
            }
            entry_view_free(&v);
        }
        if (err != FT_OK) {
            fail(w, "cannot open the file key of media %s: %s", ms[i].g->media_id,
                 ft_strerror(err));
            break;
        }
        int in = blobstore_open_read(bs, f.merkle_root);
        if (in < 0) {
            sodium_memzero(key, sizeof key);
            json_object_set_new(item, "status", json_string("not_at_hub"));
            log_warn("media %s of case %s: its blob is missing from the blob store",
                     ms[i].g->media_id, w->o->case_id);
            continue;
        }
        char rel[128], hexkey[2 * MEDIA_SEALED_KEY_BYTES + 1];
        snprintf(rel, sizeof rel, "media/%s%s%s", ms[i].g->media_id, ext,
                 w->o->sealed ? ".enc" : "");
        err = write_media_file(w, &f, key, in, rel);
        close(in);
        if (err == FT_OK && w->o->sealed) {
            uint8_t sealed[MEDIA_SEALED_KEY_BYTES];
            err = media_key_seal(key, w->o->recipient_pk, sealed);
            hex_encode(sealed, sizeof sealed, hexkey);
            json_object_set_new(item, "sealed_key", json_string(hexkey));
        } else if (err == FT_OK) {
            hex_encode(key, sizeof key, hexkey);
            json_object_set_new(item, "file_key", json_string(hexkey));
        }
        sodium_memzero(key, sizeof key);
        sodium_memzero(hexkey, sizeof hexkey);
        if (err != FT_OK) {
            fail(w, "cannot write media %s: %s", ms[i].g->media_id, ft_strerror(err));
            break;
        }
        json_object_set_new(item, "status", json_string("included"));
        json_object_set_new(item, "file", json_string(rel));
        w->res->media_included++;
    }
    blobstore_destroy(&bs);
    hub_mdb_destroy(&mdb);
    return err;
}

/* ---- hub log extract ---------------------------------------------------------------- */

typedef struct {
    bw_t *w;
    FILE *f;
    json_t *media_ids; /* media_id -> true */
    size_t n;
    int err;
} hx_t;

static bool is_case_device(bw_t *w, const uint8_t *dev, size_t len)
{
    for (size_t i = 0; len == DEVID_BYTES && i < w->n_wl; i++) {
        if (memcmp(w->wl[i].device, dev, DEVID_BYTES) == 0) {
            return true;
        }
    }
    return false;
}

static int hx_visit(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    hx_t *h = ctx;
    entry_view_t v;
    if (entry_open(raw, len, &v) != FT_OK) {
        return 0;
    }
    const Ft__Body *b = v.entry->body;
    const char *cid = h->w->o->case_id;
    bool take = false;
    char hex[33];
    switch (b->kind_case) {
    case FT__BODY__KIND_ALERT:
    case FT__BODY__KIND_ALERTS:
        /* An AlertEvents entry (one evaluation batch) goes whole when any of
         * its events is the case's: its signature covers all of them, so it
         * may also carry other cases' alert events (docs/retention.md). */
        for (size_t i = 0; !take && i < entry_alert_count(b); i++) {
            const Ft__AlertEvent *ae = entry_alert_at(b, i);
            take = ae->case_id && strcmp(ae->case_id, cid) == 0;
        }
        break;
    case FT__BODY__KIND_RECORD:
        take = b->record->case_id && strcmp(b->record->case_id, cid) == 0;
        for (size_t i = 0; !take && i < b->record->n_media; i++) {
            take = json_object_get(h->media_ids, b->record->media[i]) != NULL;
        }
        break;
    case FT__BODY__KIND_DELETION:
        if (b->deletion->file_id.len == 16) {
            hex_encode(b->deletion->file_id.data, 16, hex);
            take = json_object_get(h->media_ids, hex) != NULL;
        }
        break;
    case FT__BODY__KIND_AUDIT:
        take = b->audit->target && strcmp(b->audit->target, cid) == 0;
        break;
    case FT__BODY__KIND_ENROLMENT:
        take = is_case_device(h->w, b->enrolment->device.data, b->enrolment->device.len);
        break;
    default:
        break;
    }
    entry_view_free(&v);
    (void)seq;
    if (take) {
        h->err = bframe_write(h->f, raw, len);
        h->n++;
    }
    return h->err != FT_OK ? 1 : 0;
}

static int write_hublog(bw_t *w, const bw_media_t *ms, size_t n)
{
    hx_t h = {.w = w, .media_ids = json_object()};
    for (size_t i = 0; i < n; i++) {
        json_object_set_new(h.media_ids, ms[i].g->media_id, json_true());
    }
    h.f = open_out(w, "hublog/entries.log");
    int err = h.f ? devlog_iter(w->ctx->hublog, 1, 0, hx_visit, &h) : FT_EIO;
    if (err == 1 || err == FT_OK) {
        err = h.err;
    }
    if (h.f) {
        int e2 = close_out(h.f);
        err = err != FT_OK ? err : e2;
    }
    json_decref(h.media_ids);
    return err != FT_OK ? err : (int)h.n;
}

/* ---- alerts ---------------------------------------------------------------------------- */

typedef struct {
    const char *case_id;
    json_t *out;
} alerts_collect_t;

static int alert_keep(void *ctx, json_t *a)
{
    alerts_collect_t *c = ctx;
    const char *cs = json_string_value(json_object_get(a, "case"));
    if (!cs) {
        cs = json_string_value(json_object_get(json_object_get(a, "alert"), "case"));
    }
    if (cs && strcmp(cs, c->case_id) == 0) {
        json_array_append(c->out, a);
    }
    return 0;
}

static json_t *case_alerts(bw_t *w, json_t **history)
{
    alerts_t *a = w->alerts;
    alerts_collect_t c = {.case_id = w->o->case_id, .out = json_array()};
    alerts_collect_t hc = {.case_id = w->o->case_id, .out = json_array()};
    if (a) {
        (void)alerts_iter(a, w->it, alert_keep, &c);
        (void)alerts_history_iter(a, w->it, 0, alert_keep, &hc);
    }
    *history = hc.out;
    return c.out;
}

/* ---- human-readable index --------------------------------------------------------------- */

static void html_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

static const char *js(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

typedef struct {
    int64_t t;
    json_t *row; /* borrowed */
} tl_t;

static int tl_cmp(const void *a, const void *b)
{
    const tl_t *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t;
}

static int write_html(bw_t *w, const json_t *timeline, const json_t *alerts, const json_t *history,
                      const retention_facts_t *facts, const char *created)
{
    FILE *f = open_out(w, "index.html");
    if (!f) {
        return FT_EIO;
    }
    const char *cid = w->o->case_id;
    fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>", f);
    html_text(f, cid);
    fputs(" — 案件材料包 case bundle</title><style>body{font-family:sans-serif;margin:2em}"
          "table{border-collapse:collapse}td,th{border:1px solid #999;padding:3px 6px;"
          "vertical-align:top;font-size:90%}th{background:#eee}.m{background:#f3f8ff}"
          "code{font-size:85%}</style></head><body>\n<h1>案件 Case ",
          f);
    html_text(f, cid);
    fputs(
        "</h1>\n<p>本材料包由 fieldtrail 中心节点导出并签名。核验：<code>fieldtrail-verify "
        "本目录</code>（无需联网）。<br>This bundle was exported and signed by the fieldtrail "
        "hub. To check it: <code>fieldtrail-verify THIS-DIRECTORY</code> (no network "
        "needed). This page is for reading; the signed originals are in <code>logs/</code>.</p>\n",
        f);
    fprintf(f, "<p>导出时间 Exported: %s · ", created);
    fputs("媒体 Media: ", f);
    fputs(w->o->sealed ? "加密给指定接收方 sealed to the recipient's key" : "已解密 decrypted", f);
    fputs("</p>\n<h2>时间线 Timeline</h2>\n<table><tr><th>时间 Time (UTC)</th><th>类型 "
          "Type</th><th>编号 ID</th><th>内容 Content</th><th>设备 Signed by</th></tr>\n",
          f);
    size_t n = json_array_size(timeline), i;
    tl_t *rows = calloc(n ? n : 1, sizeof *rows);
    json_t *r;
    json_array_foreach(timeline, i, r)
    {
        rows[i].t = json_integer_value(json_object_get(r, "time_ms"));
        rows[i].row = r;
    }
    if (rows) {
        qsort(rows, n, sizeof *rows, tl_cmp);
    }
    for (i = 0; rows && i < n; i++) {
        r = rows[i].row;
        bool media = strcmp(js(r, "kind"), "media") == 0;
        fprintf(f, "<tr%s><td>", media ? " class=\"m\"" : "");
        html_text(f, js(r, "time"));
        fputs("</td><td>", f);
        html_text(f, js(r, "type"));
        fputs("</td><td>", f);
        html_text(f, js(r, "id"));
        fputs("</td><td>", f);
        if (media && js(r, "file")[0]) {
            fputs("<a href=\"", f);
            html_text(f, js(r, "file"));
            fputs("\">", f);
            html_text(f, js(r, "summary"));
            fputs("</a>", f);
        } else {
            html_text(f, js(r, "summary"));
        }
        fputs("</td><td><code>", f);
        html_text(f, js(r, "ref"));
        fputs("</code></td></tr>\n", f);
    }
    free(rows);
    fputs("</table>\n<h2>告警 Alerts</h2>\n<table><tr><th>状态 State</th><th>条款 "
          "Art.</th><th>规则 Rule</th><th>说明 What</th><th>更新 Updated</th></tr>\n",
          f);
    json_array_foreach(alerts, i, r)
    {
        fputs("<tr><td>", f);
        html_text(f, js(r, "state"));
        fputs("</td><td>", f);
        html_text(f, js(r, "article"));
        fputs("</td><td>", f);
        html_text(f, js(r, "rule"));
        fputs("</td><td>", f);
        html_text(f, js(r, "message_zh"));
        fputs("<br>", f);
        html_text(f, js(r, "message_en"));
        fputs("<br><small>", f);
        html_text(f, js(r, "detail"));
        fputs("</small></td><td>", f);
        html_text(f, js(r, "updated_at"));
        fputs("</td></tr>\n", f);
    }
    fprintf(f,
            "</table>\n<p>告警历史 %zu 条事件，见 alerts.json。Alert history: %zu events in "
            "alerts.json.</p>\n",
            json_array_size(history), json_array_size(history));
    fputs("<h2>长期保存 Legal holds (Art. 23)</h2>\n<ul>\n", f);
    size_t holds = 0;
    for (i = 0; i < facts->n_holds; i++) {
        const retention_hold_t *h = &facts->holds[i];
        if (strcmp(h->case_id, cid) != 0) {
            continue;
        }
        holds++;
        fputs("<li>", f);
        html_text(f, h->reason);
        fputs(" — ", f);
        html_text(f, h->details);
        fputs(" (", f);
        html_text(f, h->by);
        fputs(h->active ? ", 有效 active)" : ", 已解除 released)", f);
        fputs("</li>\n", f);
    }
    if (!holds) {
        fputs("<li>无 none</li>\n", f);
    }
    fputs("</ul>\n</body></html>\n", f);
    return close_out(f);
}

static int write_readme(bw_t *w, const char *hub_dev, const char *hub_pk)
{
    FILE *f = open_out(w, "README.txt");
    if (!f) {
        return FT_EIO;
    }
    fprintf(
        f,
        "fieldtrail 案件材料包 / case bundle — 案件 case %s\n\n"
        "【核验方法】\n"
        "  fieldtrail-verify 本目录（或 .tar 文件）\n"
        "  核验程序不需要中心节点，也不需要联网。它检查：中心节点对文件清单 bundle.json 的签名；\n"
        "  每个文件的哈希；每台设备日志的每个签名和哈希链；中心节点的回执；每个媒体文件与设备\n"
        "  签名清单（内容哈希、分块哈希、Merkle 根）是否一致；案件记录是否有遗漏。\n"
        "  结论为 OK 表示没有任何内容被修改、删除或添加；否则逐项列出问题。\n"
        "  请将输出中的中心节点公钥与本单位公布的公钥核对：%s（设备号 %s）。\n\n"
        "HOW TO VERIFY\n"
        "  fieldtrail-verify THIS-DIRECTORY (or the .tar file)\n"
        "  The verifier needs no hub and no network. It checks the hub's signature over the\n"
        "  file list (bundle.json), every file's hash, every signature and hash-chain link of\n"
        "  each device log, the hub's receipts, every media file against the device's signed\n"
        "  manifest (content hash, chunk hashes, Merkle root), and that no record of the case\n"
        "  was left out. OK means nothing was altered, removed or added; otherwise it names\n"
        "  each problem. Compare the hub key it prints with the one your office published:\n"
        "  %s (hub %s).\n\n"
        "CONTENTS\n"
        "  bundle.json, bundle.sig   signed manifest: every file with its BLAKE2b-256\n"
        "  logs/*.log                device log entries exactly as signed, seq 1 onwards\n"
        "                            (frames: 4-byte big-endian length + SignedEntry bytes)\n"
        "  receipts/*.bin            hub receipts for those logs (same framing)\n"
        "  devices/*.json            device public keys and enrolment facts\n"
        "  media/                    media files (%s)\n"
        "  hublog/entries.log        hub-log entries about the case (alerts, holds,\n"
        "                            deletions, enrolments), each signed by the hub\n"
        "  records.jsonl             the case's records in readable JSON\n"
        "  alerts.json               the case's alerts and their history\n"
        "  index.html                timeline and alerts for reading\n"
        "  The format is described in docs/retention.md of fieldtrail.\n",
        w->o->case_id, hub_pk, hub_dev, hub_pk, hub_dev,
        w->o->sealed ? "*.enc: encrypted; the file key is sealed to the recipient's key"
                     : "decrypted originals");
    return close_out(f);
}

/* ---- records and the timeline rows ----------------------------------------------------- */

/* Appends "key: value" for a readable summary of a record. */
static void sum_add(char *buf, size_t n, const char *key, const json_t *val)
{
    size_t len = strlen(buf);
    char *text = json_is_string(val) ? NULL : json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT);
    const char *v = json_is_string(val) ? json_string_value(val) : text;
    if (v && len < n) {
        snprintf(buf + len, n - len, "%s%s: %s", len ? "; " : "", key, v);
        utf8_trim(buf); /* a long summary cut on a whole character */
    }
    free(text);
}

static json_t *record_row(const case_view_t *v, size_t i)
{
    const gap_record_t *r = &v->recs[i];
    char t[48];
    rfc3339_format(r->time_ms, 0, t, sizeof t);
    char summary[1200] = "";
    json_t *rj = record_to_json(r->rec);
    static const char *const top[] = {"start",    "end",      "cause",
                                      "party",    "officers", "recorders",
                                      "location", "media",    "media_unsuitable",
                                      "amends",   NULL};
    for (size_t k = 0; rj && top[k]; k++) {
        const json_t *val = json_object_get(rj, top[k]);
        if (val) {
            sum_add(summary, sizeof summary, top[k], val);
        }
    }
    const char *key;
    json_t *val;
    json_object_foreach(json_object_get(rj, "fields"), key, val)
    {
        sum_add(summary, sizeof summary, key, val);
    }
    json_decref(rj);
    /* text shown escaped where it is not valid UTF-8 (utf8.h): a row is
     * never left out of the timeline for it */
    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:I, s:o}", "kind", "record", "ref", r->ref, "type",
                     record_type_name(r->rec->type), "id",
                     utf8_json_string(r->rec->id ? r->rec->id : ""), "time", t, "time_ms",
                     (json_int_t)r->time_ms, "summary", utf8_json_string(summary));
}

/* ---- the whole export --------------------------------------------------------------------- */

static int rmrf_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rmrf(const char *path)
{
    (void)nftw(path, rmrf_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int bundle_export(const hub_parts_t *ctx, const bundle_opts_t *o, bundle_result_t *res, char *err,
                  size_t errlen)
{
    memset(res, 0, sizeof *res);
    bw_t w = {.ctx = ctx, .o = o, .res = res, .err = err, .errlen = errlen};
    err[0] = '\0';
    char dir[4200];
    case_view_t v;
    memset(&v, 0, sizeof v);
    retention_facts_t facts;
    memset(&facts, 0, sizeof facts);
    bw_media_t *ms = NULL;
    json_t *timeline = json_array(), *manifest = NULL, *alerts = NULL, *history = NULL;
    char *mtext = NULL;
    w.files = json_array();
    w.items = json_array();
    w.logs = json_array();
    w.devices = json_array();
    bool staged = false;
    int rc = FT_EINVAL;
    if (!o->case_id || !o->case_id[0] || !o->out || !o->out[0]) {
        fail(&w, "a case ID and an output path are needed");
        goto out;
    }
    if (!ctx->keys->has_archive) {
        fail(&w, "the hub's key file has no archive key: this hub cannot open media");
        goto out;
    }
    if (fsutil_exists(o->out)) {
        fail(&w, "%s exists already: a bundle is never written over anything", o->out);
        rc = FT_EEXIST;
        goto out;
    }
    rc = FT_EIO;
    if (fsutil_join(dir, sizeof dir, ctx->state, "index") != FT_OK || !fsutil_exists(dir)) {
        fail(&w, "no case index in %s yet: run `fieldtrail-hub evaluate --state %s` first",
             ctx->state, ctx->state);
        goto out;
    }
    w.idx = o->index;
    rc = o->index ? FT_OK : index_open(dir, 0, &w.idx);
    if (rc == FT_OK) {
        /* The alert tables are opened (a write transaction of their own)
         * before the read transaction the bundle is written from: opened
         * after it, with it still open in this thread, they could not be
         * read in it, and alerts.json came out empty. */
        rc = alerts_open(w.idx, &w.alerts);
        if (rc != FT_OK) {
            fail(&w, "cannot open the alert tables of the case index: %s", ft_strerror(rc));
        }
    }
    if (rc == FT_OK) {
        rc = index_begin(w.idx, false, &w.it);
    }
    if (rc == FT_OK) {
        rc = store_begin(ctx->store, false, &w.st);
    }
    uint64_t cursor = 0, integ = 0, count = 0, last = 0;
    if (rc == FT_OK) {
        rc = index_cursor(w.it, &cursor, &integ);
    }
    if (rc == FT_OK) {
        rc = store_entry_count(w.st, &count, &last);
    }
    if (rc != FT_OK) {
        fail(&w, "cannot read the store and the case index: %s", ft_strerror(rc));
        goto out;
    }
    if (cursor < last && !o->allow_stale) {
        fail(&w,
             "the case index is behind the store (%llu of %llu entries taken in): run "
             "`fieldtrail-hub evaluate` first so that the bundle holds every record of the case",
             (unsigned long long)cursor, (unsigned long long)last);
        rc = FT_EINVAL;
        goto out;
    }
    rc = case_view_load(w.it, w.st, o->case_id, NULL, &v);
    if (rc != FT_OK) {
        fail(&w, "cannot read case %s: %s", o->case_id, ft_strerror(rc));
        goto out;
    }
    ms = calloc(v.c.n_media + 1, sizeof *ms);
    if (!ms) {
        rc = FT_ENOMEM;
        goto out;
    }
    size_t n_ms = 0;
    for (size_t m = 0; m < v.c.n_media; m++) {
        if (case_view_media_in_case(&v, m)) {
            ms[n_ms++] = (bw_media_t){.g = &v.media[m], .ii = &v.media_items[m]};
        }
    }
    if (v.c.n_records == 0 && n_ms == 0) {
        fail(&w, "case %s has no records or media at this hub", o->case_id);
        rc = FT_ENOTFOUND;
        goto out;
    }
    rc = retention_facts_hublog(ctx->hublog, &facts);
    if (rc != FT_OK) {
        fail(&w, "cannot read the hub log: %s", ft_strerror(rc));
        goto out;
    }
    for (size_t i = 0; i < v.c.n_records; i++) {
        if (v.recs[i].rec->type == FT__RECORD_TYPE__LEGAL_HOLD &&
            retention_facts_record(&facts, v.recs[i].rec, v.recs[i].ref, v.recs[i].time_ms) !=
                FT_OK) {
            rc = FT_ENOMEM;
            goto out;
        }
    }
    retention_facts_settle(&facts);
    /* Stage. */
    snprintf(w.stage, sizeof w.stage, "%s.stage", o->out);
    if (fsutil_exists(w.stage)) {
        rmrf(w.stage); /* left over from an export that died */
    }
    if (fsutil_mkdirs(w.stage, 0755) != FT_OK) {
        fail(&w, "cannot create %s: %s", w.stage, strerror(errno));
        rc = FT_EIO;
        goto out;
    }
    staged = true;
    /* Every entry of the case's records: witnesses on other devices and
     * conflicting versions too (docs/records.md "Identity"). */
    for (size_t i = 0; i < v.n_all && rc == FT_OK; i++) {
        rc = use_ref(&w, v.rec_items[i].ref);
    }
    for (size_t m = 0; m < n_ms && rc == FT_OK; m++) {
        rc = use_ref(&w, ms[m].ii->ref);
    }
    if (rc == FT_OK) {
        rc = write_logs(&w);
    }
    if (rc == FT_OK) {
        rc = write_devices(&w);
    }
    if (rc != FT_OK) {
        if (!err[0]) {
            fail(&w, "cannot write the device logs: %s", ft_strerror(rc));
        }
        goto out;
    }
    /* Records: items, readable JSON lines, timeline rows. */
    FILE *rf = open_out(&w, "records.jsonl");
    if (!rf) {
        rc = FT_EIO;
        fail(&w, "cannot write records.jsonl");
        goto out;
    }
    for (size_t i = 0; i < v.n_all; i++) {
        const gap_record_t *r = &v.recs[i];
        if (i >= v.c.n_records && v.roles[i] != IDENT_CONFLICT) {
            continue; /* a witness: listed with its record */
        }
        json_array_append_new(w.items, json_pack("{s:s, s:s, s:s}", "ref", r->ref, "kind", "record",
                                                 "type", record_type_name(r->rec->type)));
        json_t *rj = record_to_json(r->rec);
        json_t *line = json_pack("{s:s, s:o}", "ref", r->ref, "record", rj ? rj : json_null());
        json_t *row = record_row(&v, i);
        if (i < v.c.n_records) {
            json_object_set_new(line, "witnesses", case_view_witnesses(&v, i));
            json_object_set_new(row, "witnesses", case_view_witnesses(&v, i));
            res->records++;
        } else {
            const char *against = v.recs[v.primary[i]].ref;
            json_object_set_new(line, "conflicts_with", json_string(against));
            json_object_set_new(row, "conflicts_with", json_string(against));
        }
        json_dumpf(line, rf, JSON_COMPACT);
        fputc('\n', rf);
        json_decref(line);
        json_array_append_new(timeline, row);
    }
    rc = close_out(rf);
    if (rc == FT_OK) {
        rc = write_media(&w, ms, n_ms, &facts);
    }
    if (rc != FT_OK) {
        if (!err[0]) {
            fail(&w, "cannot write the media: %s", ft_strerror(rc));
        }
        goto out;
    }
    size_t i;
    json_t *item;
    json_array_foreach(w.items, i, item)
    {
        if (strcmp(js(item, "kind"), "media") != 0) {
            continue;
        }
        for (size_t m = 0; m < n_ms; m++) {
            if (strcmp(ms[m].g->media_id, js(item, "file_id")) != 0) {
                continue;
            }
            char t[48], summary[400];
            rfc3339_format(ms[m].g->start_ms, 0, t, sizeof t);
            snprintf(summary, sizeof summary, "%s %s, %s%s%s", js(item, "status"),
                     js(item, "name")[0] ? js(item, "name") : ms[m].g->media_id,
                     ms[m].g->recorder ? "recorder " : "",
                     ms[m].g->recorder ? ms[m].g->recorder : "",
                     ms[m].g->officer ? (ms[m].g->officer[0] ? " officer " : "") : "");
            if (ms[m].g->officer) {
                strncat(summary, ms[m].g->officer, sizeof summary - strlen(summary) - 1);
            }
            utf8_trim(summary); /* cut on a whole character */
            json_array_append_new(timeline,
                                  json_pack("{s:s, s:s, s:s, s:o, s:s, s:I, s:o, s:s}", "kind",
                                            "media", "ref", js(item, "ref"), "type", "media", "id",
                                            utf8_json_string(ms[m].g->media_id), "time", t,
                                            "time_ms", (json_int_t)ms[m].g->start_ms, "summary",
                                            utf8_json_string(summary), "file", js(item, "file")));
            break;
        }
    }
    int hx = write_hublog(&w, ms, n_ms);
    if (hx < 0) {
        rc = hx;
        fail(&w, "cannot write the hub-log extract: %s", ft_strerror(rc));
        goto out;
    }
    alerts = case_alerts(&w, &history);
    json_t *aj = json_pack("{s:o, s:O, s:O}", "case", utf8_json_string(o->case_id), "alerts",
                           alerts, "history", history);
    rc = write_json_file(&w, "alerts.json", aj, JSON_INDENT(1));
    json_decref(aj);
    char created[48], hub_dev[DEVID_TEXT_SIZE], hub_pk[65];
    int64_t now = o->now_ms ? o->now_ms : (int64_t)hlc_wall_ms();
    rfc3339_format(now, 0, created, sizeof created);
    uint8_t hid[DEVID_BYTES];
    devid_from_pk(ctx->keys->sign_pk, hid);
    devid_format(hid, hub_dev);
    hex_encode(ctx->keys->sign_pk, 32, hub_pk);
    if (rc == FT_OK) {
        rc = write_html(&w, timeline, alerts, history, &facts, created);
    }
    if (rc == FT_OK) {
        rc = write_readme(&w, hub_dev, hub_pk);
    }
    if (rc != FT_OK) {
        fail(&w, "cannot write the bundle's readable files: %s", ft_strerror(rc));
        goto out;
    }
    /* The manifest: every file with its hash. The bundle's size is the sum
     * of its files (each counted once: media were counted as written). */
    json_t *files = json_array(), *name;
    uint64_t bundle_bytes = 0, to_hash = 0;
    json_array_foreach(w.files, i, name)
    {
        char path[4800];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", w.stage, json_string_value(name));
        to_hash += o->progress && stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    }
    json_array_foreach(w.files, i, name)
    {
        char path[4800], hex[65];
        uint8_t h[BUNDLE_HASH_BYTES];
        uint64_t size = 0;
        snprintf(path, sizeof path, "%s/%s", w.stage, json_string_value(name));
        rc = bundle_hash_file(path, h, &size);
        if (rc != FT_OK) {
            break;
        }
        hex_encode(h, sizeof h, hex);
        json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "path", json_string_value(name),
                                               "bytes", (json_int_t)size, "blake2b", hex));
        bundle_bytes += size;
        if (o->progress) {
            o->progress(o->progress_ctx, "hash", bundle_bytes,
                        to_hash > bundle_bytes ? to_hash : bundle_bytes);
        }
    }
    manifest = json_pack(
        "{s:s, s:o, s:s, s:I, s:o, s:{s:s, s:s}, s:s, s:s, s:I, s:I}", "format", BUNDLE_FORMAT,
        "case", utf8_json_string(o->case_id), "created", created, "created_ms", (json_int_t)now,
        "created_by", utf8_json_string(o->by ? o->by : "-"), "hub", "device_id", hub_dev, "sign_pk",
        hub_pk, "media_mode", o->sealed ? "sealed" : "plain", "context", "full_prefix",
        "index_cursor", (json_int_t)cursor, "store_last_arrival", (json_int_t)last);
    if (o->sealed) {
        char rk[65];
        hex_encode(o->recipient_pk, 32, rk);
        json_object_set_new(manifest, "recipient_pk", json_string(rk));
    }
    json_object_set(manifest, "devices", w.devices);
    json_object_set(manifest, "logs", w.logs);
    json_object_set(manifest, "items", w.items);
    json_object_set_new(manifest, "hublog",
                        json_pack("{s:s, s:i}", "file", "hublog/entries.log", "entries", hx));
    json_object_set_new(manifest, "files", files);
    mtext = json_dumps(manifest, JSON_INDENT(1) | JSON_ENSURE_ASCII);
    if (rc != FT_OK || !mtext) {
        fail(&w, "cannot hash the bundle's files: %s", ft_strerror(rc ? rc : FT_ENOMEM));
        rc = rc ? rc : FT_ENOMEM;
        goto out;
    }
    char sig[BUNDLE_SIG_HEX + 1], path[4800];
    rc = bundle_sign(BUNDLE_DOMAIN, (const uint8_t *)mtext, strlen(mtext), ctx->keys->sign_sk, sig);
    snprintf(path, sizeof path, "%s/%s", w.stage, BUNDLE_MANIFEST);
    if (rc == FT_OK) {
        rc = fsutil_write_atomic(path, mtext, strlen(mtext), 0644);
    }
    snprintf(path, sizeof path, "%s/%s", w.stage, BUNDLE_SIG);
    strcat(sig, "\n");
    if (rc == FT_OK) {
        rc = fsutil_write_atomic(path, sig, strlen(sig), 0644);
    }
    if (rc != FT_OK) {
        fail(&w, "cannot sign the bundle: %s", ft_strerror(rc));
        goto out;
    }
    uint8_t mh[BUNDLE_HASH_BYTES];
    crypto_generichash(mh, sizeof mh, (const uint8_t *)mtext, strlen(mtext), NULL, 0);
    hex_encode(mh, sizeof mh, res->manifest_hash);
    res->files = json_array_size(w.files) + 2;
    res->bytes = bundle_bytes + strlen(mtext) + strlen(sig);
    /* Audit, then publish. */
    if (!o->no_audit) {
        char detail[1200], rk[65] = "";
        if (o->sealed) {
            hex_encode(o->recipient_pk, 32, rk);
        }
        snprintf(detail, sizeof detail,
                 "{\"bundle_blake2b\":\"%s\",\"out\":\"%.*s\",\"files\":%zu,\"media\":\"%s%s\"}",
                 res->manifest_hash, utf8_fit(o->out, 600), o->out, res->files,
                 o->sealed ? "sealed:" : "plain", rk);
        rc = devlog_append1_audit(ctx->hublog, o->by ? o->by : "-", "export_bundle", o->case_id,
                                  detail, &res->audit_seq);
        if (rc != FT_OK) {
            fail(&w, "the audit entry cannot be written to the hub log (%s): nothing is exported",
                 ft_strerror(rc));
            goto out;
        }
    }
    if (ends_with(o->out, ".tar")) {
        size_t nf = json_array_size(w.files);
        const char **names = calloc(nf + 2, sizeof *names);
        if (!names) {
            rc = FT_ENOMEM;
            goto out;
        }
        names[0] = BUNDLE_MANIFEST;
        names[1] = BUNDLE_SIG;
        json_array_foreach(w.files, i, name)
        {
            names[i + 2] = json_string_value(name);
        }
        rc = btar_write(o->out, w.stage, names, nf + 2);
        free(names);
        if (rc != FT_OK) {
            fail(&w, "cannot write %s: %s", o->out, ft_strerror(rc));
            goto out;
        }
    } else if (rename(w.stage, o->out) != 0) {
        fail(&w, "cannot move the bundle into %s: %s", o->out, strerror(errno));
        rc = FT_EIO;
        goto out;
    } else {
        staged = false;
    }
    rc = FT_OK;
out:
    if (staged) {
        rmrf(w.stage);
    }
    free(mtext);
    json_decref(manifest);
    json_decref(alerts);
    json_decref(history);
    json_decref(timeline);
    json_decref(w.files);
    json_decref(w.items);
    json_decref(w.logs);
    json_decref(w.devices);
    free(w.wl);
    free(ms);
    retention_facts_free(&facts);
    case_view_free(&v);
    store_abort(&w.st);
    index_abort(&w.it);
    alerts_destroy(&w.alerts);
    if (!o->index) {
        index_destroy(&w.idx);
    }
    return rc;
}
