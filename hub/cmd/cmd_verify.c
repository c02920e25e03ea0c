/* cmd_verify.c: `fieldtrail-hub verify`: re-checks everything the hub holds
 * from the stored bytes alone: every device's chain per epoch (dense seq
 * from 1, signature by the enrolled key, prev_hash links, head matches), that
 * no record `id` appears twice in a device's log, and the hub's own log. */
#include "hub.h"
#include "pg.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The walk over one device's epoch. */
typedef struct {
    const store_device_t *d;
    entry_pos_t pos;  /* where the next entry must be */
    uint64_t checked; /* entries that verified */
    uint64_t bad_seq; /* first bad seq, 0 if none */
    char detail[200]; /* why */
    char **ids;       /* record ids seen (for duplicates) */
    size_t n_ids, cap_ids;
    int oom; /* ran out of memory collecting ids */
} walk_t;

static int walk_one(void *ctx, const store_entry_t *e)
{
    walk_t *w = ctx;
    if (e->seq != w->pos.seq) {
        w->bad_seq = w->pos.seq;
        snprintf(w->detail, sizeof w->detail, "entry %llu is missing (next held is %llu)",
                 (unsigned long long)w->pos.seq, (unsigned long long)e->seq);
        return 1;
    }
    entry_view_t v;
    int err = entry_open(e->raw, e->len, &v);
    if (err == FT_OK) {
        err = entry_check(&v, w->d->sign_pk, &w->pos);
    }
    if (err != FT_OK) {
        w->bad_seq = e->seq;
        snprintf(w->detail, sizeof w->detail, "entry %llu: %s", (unsigned long long)e->seq,
                 ft_strerror(err));
        entry_view_free(&v);
        return 1;
    }
    const Ft__Body *b = v.entry->body;
    if (b->kind_case == FT__BODY__KIND_RECORD && b->record->id && b->record->id[0]) {
        if (w->n_ids == w->cap_ids) {
            size_t cap = w->cap_ids ? 2 * w->cap_ids : 1024;
            char **grown = realloc(w->ids, cap * sizeof *grown);
            if (!grown) {
                w->oom = 1;
                entry_view_free(&v);
                return 1;
            }
            w->ids = grown;
            w->cap_ids = cap;
        }
        w->ids[w->n_ids] = strdup(b->record->id);
        if (!w->ids[w->n_ids]) {
            w->oom = 1;
            entry_view_free(&v);
            return 1;
        }
        w->n_ids++;
    }
    entry_pos_advance(&w->pos, &v);
    entry_view_free(&v);
    w->checked++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* State of the whole verification. */
typedef struct {
    store_txn_t *t;
    const store_device_t *d; /* device being walked */
    walk_t *w;               /* its walk (ids span its epochs) */
    json_t *rows;            /* one object per device epoch */
    bool json;
    uint64_t entries, bad;
} verify_t;

static int verify_epoch(void *ctx, uint64_t epoch, const store_head_t *h)
{
    verify_t *vf = ctx;
    walk_t *w = vf->w;
    memset(&w->pos, 0, sizeof w->pos);
    memcpy(w->pos.device, vf->d->device, DEVID_BYTES);
    w->pos.epoch = epoch;
    w->pos.seq = 1;
    w->checked = 0;
    w->bad_seq = 0;
    w->detail[0] = '\0';
    int err = store_device_entries_iter(vf->t, vf->d->device, epoch, 1, walk_one, w);
    if (err < 0) {
        return err;
    }
    if (w->oom) {
        return FT_ENOMEM;
    }
    if (!w->bad_seq && w->checked != h->seq) {
        w->bad_seq = w->pos.seq;
        snprintf(w->detail, sizeof w->detail, "entries %llu..%llu are missing",
                 (unsigned long long)w->pos.seq, (unsigned long long)h->seq);
    } else if (!w->bad_seq && h->seq && memcmp(w->pos.prev_hash, h->hash, ENTRY_HASH_BYTES) != 0) {
        w->bad_seq = h->seq;
        snprintf(w->detail, sizeof w->detail, "entry %llu does not match the recorded head",
                 (unsigned long long)h->seq);
    }
    char id[DEVID_TEXT_SIZE];
    devid_format(vf->d->device, id);
    vf->entries += w->checked;
    vf->bad += w->bad_seq != 0;
    json_t *row = json_pack("{s:s, s:I, s:I, s:I, s:b}", "device_id", id, "epoch",
                            (json_int_t)epoch, "entries", (json_int_t)w->checked, "head_seq",
                            (json_int_t)h->seq, "ok", w->bad_seq == 0);
    if (w->bad_seq) {
        json_object_set_new(row, "bad_seq", json_integer((json_int_t)w->bad_seq));
        json_object_set_new(row, "detail", json_string(w->detail));
    }
    json_array_append_new(vf->rows, row);
    return 0;
}

static int verify_device(void *ctx, const store_device_t *d)
{
    verify_t *vf = ctx;
    walk_t w = {.d = d};
    vf->d = d;
    vf->w = &w;
    size_t first_row = json_array_size(vf->rows);
    int err = store_heads_iter(vf->t, d->device, verify_epoch, vf);
    size_t dups = 0;
    if (err == FT_OK && w.n_ids > 1) {
        qsort(w.ids, w.n_ids, sizeof *w.ids, cmp_str);
        for (size_t i = 1; i < w.n_ids; i++) {
            dups += strcmp(w.ids[i - 1], w.ids[i]) == 0;
        }
    }
    /* Record counts belong to the device; shown on its rows. */
    for (size_t i = first_row; i < json_array_size(vf->rows); i++) {
        json_t *row = json_array_get(vf->rows, i);
        json_object_set_new(row, "records", json_integer((json_int_t)w.n_ids));
        json_object_set_new(row, "duplicate_ids", json_integer((json_int_t)dups));
        if (dups) {
            json_object_set_new(row, "ok", json_false());
        }
    }
    vf->bad += dups ? 1 : 0;
    for (size_t i = 0; i < w.n_ids; i++) {
        free(w.ids[i]);
    }
    free(w.ids);
    return err;
}

static void verify_usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-hub verify [--state DIR] [--store URL] [--json]\n\n"
                 "Re-verifies every entry the hub holds, from the stored bytes: for each\n"
                 "device and epoch, seqs dense from 1, each entry signed with the device's\n"
                 "enrolled key and chained to the one before, the last one equal to the\n"
                 "recorded head; no record id twice in a device's log; and the hub's own\n"
                 "log. Exit status 1 if anything is wrong. Safe while the hub runs.\n\n"
                 "On a provincial node (--store postgresql://..., or `store` in its config)\n"
                 "it re-verifies everything the county hubs forwarded: each county hub's\n"
                 "log by the hub key the province registered, each device's entries by\n"
                 "the key its county enrolled, chains and dense seqs, and that no row a\n"
                 "county forwarded is gone; every damaged entry is named by county,\n"
                 "device, epoch and seq (docs/province.md).\n");
}

int hub_cmd_verify(int argc, char **argv)
{
    hub_ctx_t ctx = {0};
    const char *store = NULL;
    const cli_opt_t own[] = {CLI_VALUE("store", &store), CLI_END};
    int rc = hub_parse(&ctx, argc, argv, own, verify_usage);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (optind != argc) {
        verify_usage(stderr);
        return 2;
    }
    if (hub_load_config(&ctx) != 0) {
        hub_close(&ctx);
        return 1;
    }
    const char *url = hub_store_url(&ctx, store);
    if (url && !pg_is_url(url)) {
        hub_fail("store %s is not a PostgreSQL URL (postgresql://USER@HOST:PORT/DB); a county "
                 "hub keeps its store in its state directory and needs no `store`",
                 url);
        hub_close(&ctx);
        return 2;
    }
    if (url) {
        rc = hub_provnode_verify(&ctx, url);
        hub_close(&ctx);
        return rc;
    }
    config_destroy(&ctx.cfg); /* hub_open loads it again */
    if (hub_open(&ctx, true) != 0) {
        hub_close(&ctx);
        return 1;
    }
    verify_t vf = {.rows = json_array(), .json = ctx.json};
    int err = store_begin(ctx.store, false, &vf.t);
    if (err == FT_OK) {
        err = store_device_iter(vf.t, verify_device, &vf);
    }
    store_abort(&vf.t);
    devlog_report_t lr;
    if (err == FT_OK) {
        err = devlog_verify(ctx.hublog, 1, &lr);
    }
    if (err != FT_OK) {
        hub_fail("cannot read the store: %s", ft_strerror(err));
        json_decref(vf.rows);
        hub_close(&ctx);
        return 1;
    }
    uint64_t records = 0, dups = 0;
    size_t i;
    json_t *row;
    json_array_foreach(vf.rows, i, row)
    {
        /* Per-device figures repeat on each of its epochs: count them once. */
        if (i == 0 || strcmp(json_string_value(json_object_get(row, "device_id")),
                             json_string_value(json_object_get(json_array_get(vf.rows, i - 1),
                                                               "device_id"))) != 0) {
            records += (uint64_t)json_integer_value(json_object_get(row, "records"));
            dups += (uint64_t)json_integer_value(json_object_get(row, "duplicate_ids"));
        }
    }
    bool ok = vf.bad == 0 && lr.err == FT_OK;
    if (ctx.json) {
        json_t *hl =
            json_pack("{s:b, s:I}", "ok", lr.err == FT_OK, "entries", (json_int_t)lr.checked);
        if (lr.err != FT_OK) {
            json_object_set_new(hl, "detail", json_string(lr.detail));
        }
        json_t *o = json_pack("{s:b, s:I, s:I, s:I, s:O, s:o}", "ok", ok, "entries",
                              (json_int_t)vf.entries, "records", (json_int_t)records,
                              "duplicate_ids", (json_int_t)dups, "devices", vf.rows, "hublog", hl);
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        json_array_foreach(vf.rows, i, row)
        {
            const char *detail = json_string_value(json_object_get(row, "detail"));
            printf("%s  epoch %lld  %lld entries  %s%s%s\n",
                   json_string_value(json_object_get(row, "device_id")),
                   (long long)json_integer_value(json_object_get(row, "epoch")),
                   (long long)json_integer_value(json_object_get(row, "entries")),
                   json_is_true(json_object_get(row, "ok")) ? "OK" : "DAMAGED", detail ? ": " : "",
                   detail ? detail : "");
        }
        printf("%s: %llu entries verified (signatures, chains, dense seqs); %llu records, %llu "
               "duplicate ids; hub log %s (%llu entries)%s\n",
               ok ? "hub store OK" : "hub store DAMAGED", (unsigned long long)vf.entries,
               (unsigned long long)records, (unsigned long long)dups,
               lr.err == FT_OK ? "OK" : "DAMAGED", (unsigned long long)lr.checked,
               lr.err == FT_OK ? "" : lr.detail);
    }
    json_decref(vf.rows);
    hub_close(&ctx);
    return ok ? 0 : 1;
}
