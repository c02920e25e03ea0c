/* cmd_devices.c: `devices`, `status` and `integrity`: what the hub knows
 * about each device, read from the store (safe while `run` is running). */
#include "delivery.h"
#include "evaluator.h"
#include "hub.h"
#include "mediapull.h"
#include "sync.h"
#include "utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One device as listings show it. */
typedef struct {
    store_device_t d;
    store_status_t st;
    uint64_t held;      /* entries held over all epochs */
    uint64_t epochs;    /* epochs held */
    store_head_t cur;   /* head of the epoch the edge last reported */
    bool backlog_known; /* the edge reported its head for that epoch */
    uint64_t backlog;   /* edge head - hub head, if known */
    json_t *heads;      /* [{epoch, seq}] for every epoch held (owned) */
} device_view_t;

static int sum_head(void *ctx, uint64_t epoch, const store_head_t *h)
{
    (void)epoch;
    device_view_t *v = ctx;
    v->held += h->seq;
    v->epochs++;
    json_array_append_new(
        v->heads, json_pack("{s:I, s:I}", "epoch", (json_int_t)epoch, "seq", (json_int_t)h->seq));
    return 0;
}

static int load_view(store_txn_t *t, const store_device_t *d, device_view_t *v)
{
    memset(v, 0, sizeof *v);
    v->d = *d;
    v->heads = json_array();
    int err = store_status_get(t, d->device, &v->st);
    if (err == FT_OK) {
        err = store_heads_iter(t, d->device, sum_head, v);
    }
    if (err == FT_OK && v->st.edge_epoch) {
        err = store_head_get(t, d->device, v->st.edge_epoch, &v->cur);
        v->backlog_known = true;
        v->backlog = v->st.edge_head_seq > v->cur.seq ? v->st.edge_head_seq - v->cur.seq : 0;
    }
    return err;
}

/* The device as a JSON object (caller decrefs). */
static json_t *view_json(const device_view_t *v)
{
    char id[DEVID_TEXT_SIZE], sign[65], box[65], enrolled[48], revoked[48], seen[48], err_at[48];
    devid_format(v->d.device, id);
    hex_encode(v->d.sign_pk, 32, sign);
    hex_encode(v->d.transport_pk, 32, box);
    hub_time_text(v->d.enrolled_ms, enrolled, sizeof enrolled);
    hub_time_text(v->d.revoked_ms, revoked, sizeof revoked);
    hub_time_text(v->st.last_seen_ms, seen, sizeof seen);
    hub_time_text(v->st.last_error_ms, err_at, sizeof err_at);
    json_t *o = json_pack(
        "{s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "device_id",
        id, "unit", utf8_json_string(v->d.unit), "vehicle", utf8_json_string(v->d.vehicle), "state",
        v->d.revoked ? "revoked" : "enrolled", "sign_public", sign, "transport_public", box,
        "enrolled_at", enrolled, "entries", (json_int_t)v->held, "epochs", (json_int_t)v->epochs,
        "batches", (json_int_t)v->st.batches, "accepted", (json_int_t)v->st.accepted, "duplicates",
        (json_int_t)v->st.duplicates, "rejected", (json_int_t)v->st.rejected, "refusals",
        (json_int_t)v->st.refusals, "last_hello_ms", (json_int_t)v->st.last_hello_ms);
    json_object_set_new(o, "revoked_at", v->d.revoked ? json_string(revoked) : json_null());
    json_object_set_new(o, "last_seen", v->st.last_seen_ms ? json_string(seen) : json_null());
    json_object_set_new(o, "last_seen_ms", json_integer(v->st.last_seen_ms));
    if (v->st.edge_epoch) {
        json_object_set_new(o, "epoch", json_integer((json_int_t)v->st.edge_epoch));
        json_object_set_new(o, "head_seq", json_integer((json_int_t)v->cur.seq));
        json_object_set_new(o, "edge_head_seq", json_integer((json_int_t)v->st.edge_head_seq));
        json_object_set_new(o, "backlog", json_integer((json_int_t)v->backlog));
    } else {
        json_object_set_new(o, "epoch", json_null());
        json_object_set_new(o, "head_seq", json_integer(0));
        json_object_set_new(o, "edge_head_seq", json_null());
        json_object_set_new(o, "backlog", json_null());
    }
    json_object_set_new(o, "clock_offset_ms",
                        v->st.has_clock_offset ? json_integer(v->st.clock_offset_ms) : json_null());
    json_object_set_new(o, "last_error",
                        v->st.last_error[0] ? utf8_json_string(v->st.last_error) : json_null());
    json_object_set_new(o, "last_error_at",
                        v->st.last_error_ms ? json_string(err_at) : json_null());
    /* the edge's own report: its configured media endpoint disagrees with
     * the port this hub announces (null: they agree, or it never said) */
    json_object_set_new(o, "endpoint_mismatch",
                        v->st.endpoint_mismatch[0] ? utf8_json_string(v->st.endpoint_mismatch)
                                                   : json_null());
    json_object_set(o, "heads", v->heads);
    return o;
}

/* The columns of a device row in `devices` and `status`: every time in
 * local time with its offset (clitext.h), every name whole. */
static const char *const device_cols[] = {"DEVICE", "STATE",   "UNIT",   "VEHICLE",   "LAST SEEN",
                                          "HEAD",   "BACKLOG", "OFFSET", "LAST ERROR"};
#define DEVICE_NCOLS (sizeof device_cols / sizeof device_cols[0])

static bool add_view_row(cli_table_t *tab, const device_view_t *v)
{
    char id[DEVID_TEXT_SIZE], seen[CLI_TIME_TEXT] = "never", backlog[24] = "?", offset[24] = "?",
                              head[24], err[2 * STORE_TEXT_MAX + 80] = "-";
    devid_format(v->d.device, id);
    if (v->st.last_seen_ms) {
        cli_time(v->st.last_seen_ms, seen, sizeof seen);
    }
    if (v->backlog_known) {
        snprintf(backlog, sizeof backlog, "%llu", (unsigned long long)v->backlog);
    }
    if (v->st.has_clock_offset) {
        snprintf(offset, sizeof offset, "%+.1fs", (double)v->st.clock_offset_ms / 1000.0);
    }
    snprintf(head, sizeof head, "%llu", (unsigned long long)v->held);
    if (v->st.endpoint_mismatch[0]) { /* set-up first: media cannot move until it is fixed */
        char at[CLI_TIME_TEXT];
        cli_time(v->st.endpoint_report_ms, at, sizeof at);
        snprintf(err, sizeof err, "ENDPOINT MISMATCH reported by the edge: %s (%s)",
                 v->st.endpoint_mismatch, at);
    } else if (v->st.last_error[0]) {
        char at[CLI_TIME_TEXT];
        cli_time(v->st.last_error_ms, at, sizeof at);
        snprintf(err, sizeof err, "%s (%s)", v->st.last_error, at);
    }
    const char *cells[DEVICE_NCOLS] = {id,        v->d.revoked ? "revoked" : "enrolled",
                                       v->d.unit, v->d.vehicle,
                                       seen,      head,
                                       backlog,   offset,
                                       err};
    return cli_table_add(tab, cells);
}

/* Listing state. */
typedef struct {
    bool json;        /* JSON lines */
    json_t *collect;  /* if set, collect objects here instead of printing */
    unsigned long n;  /* devices listed */
    uint64_t entries; /* entries held over all devices */
    uint64_t backlog; /* sum of known backlogs */
    unsigned long revoked, errors;
    store_txn_t *t;
    cli_table_t *table; /* text rows, printed at the end */
} listing_t;

static int list_one(void *ctx, const store_device_t *d)
{
    listing_t *l = ctx;
    device_view_t v;
    int err = load_view(l->t, d, &v);
    if (err != FT_OK) {
        json_decref(v.heads);
        return err;
    }
    l->n++;
    l->entries += v.held;
    l->backlog += v.backlog;
    l->revoked += v.d.revoked;
    l->errors += v.st.last_error[0] != '\0' || v.st.endpoint_mismatch[0] != '\0';
    if (l->collect) {
        json_array_append_new(l->collect, view_json(&v));
    } else if (l->json) {
        json_t *o = view_json(&v);
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else if (l->table && !add_view_row(l->table, &v)) {
        json_decref(v.heads);
        return FT_ENOMEM;
    }
    json_decref(v.heads);
    return 0;
}

static void devices_usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-hub devices [--state DIR] [--json]\n\n"
                 "Lists enrolled and revoked devices: ID, state, unit, vehicle, last seen,\n"
                 "entries held, backlog (the edge's last reported head minus what the hub\n"
                 "holds), clock offset (hub minus edge, at the last handshake) and the last\n"
                 "error. With --json, one object per line.\n");
}

int hub_cmd_devices(int argc, char **argv)
{
    hub_ctx_t ctx = {0};
    int rc = hub_parse_simple(&ctx, argc, argv, devices_usage, NULL, 0, NULL);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (hub_open(&ctx, false) != 0) {
        hub_close(&ctx);
        return 1;
    }
    store_txn_t *t = NULL;
    int err = store_begin(ctx.store, false, &t);
    listing_t l = {.json = ctx.json, .t = t};
    if (!ctx.json && !(l.table = cli_table_new(DEVICE_NCOLS, device_cols, "lllllrrrl"))) {
        err = FT_ENOMEM;
    }
    if (err == FT_OK) {
        err = store_device_iter(t, list_one, &l);
    }
    store_abort(&t);
    if (err != FT_OK) {
        hub_fail("cannot read the store: %s", ft_strerror(err));
    } else if (!ctx.json && l.n == 0) {
        printf("no devices enrolled; enrol one with `fieldtrail-hub enroll EDGE/device.pub "
               "--unit U --vehicle V`\n");
    } else if (!ctx.json) {
        cli_table_print(l.table, stdout);
    }
    cli_table_free(&l.table);
    hub_close(&ctx);
    return err == FT_OK ? 0 : 1;
}

/* Collects refused unknown keys. */
static int refusal_one(void *ctx, const store_refusal_t *r)
{
    json_t *arr = ctx;
    char key[65], first[48], last[48];
    hex_encode(r->transport_pk, 32, key);
    hub_time_text(r->first_ms, first, sizeof first);
    hub_time_text(r->last_ms, last, sizeof last);
    json_t *o = json_pack("{s:s, s:o, s:I, s:s, s:s, s:o}", "transport_public", key, "reason",
                          utf8_json_string(r->reason), "count", (json_int_t)r->count, "first",
                          first, "last", last, "address", utf8_json_string(r->address));
    json_object_set_new(o, "last_ms", json_integer(r->last_ms));
    json_array_append_new(arr, o);
    return 0;
}

static int count_event(void *ctx, const store_integrity_t *ev)
{
    (void)ev;
    (*(uint64_t *)ctx)++;
    return 0;
}

static void status_usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-hub status [--state DIR] [--json]\n\n"
                 "Shows the hub (keys, listen address, entries held, integrity events, hub\n"
                 "log, connections refused from unknown keys) and every device as `devices`\n"
                 "does. With --json, one object: {\"hub\": {...}, \"devices\": [...]}.\n"
                 "Exits 1 when hub.conf has a mistake that `run` would refuse (said on\n"
                 "standard error with its line), after showing the rest.\n");
}

int hub_cmd_status(int argc, char **argv)
{
    hub_ctx_t ctx = {0};
    int rc = hub_parse_simple(&ctx, argc, argv, status_usage, NULL, 0, NULL);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (hub_open(&ctx, true) != 0) {
        hub_close(&ctx);
        return 1;
    }
    /* The webhooks as configured. A config `run` would refuse is said on
     * standard error ("hub.conf line N: ..."); status shows the rest and then
     * exits 1, so that a check script notices before the next restart. */
    hub_routes_t routes = {0};
    int config_bad = hub_routes_load(&ctx, NULL, 0, &routes) != 0;
    prov_conf_t pc; /* [province]: a mistake is said the same way */
    config_bad |= hub_province_conf(&ctx, &pc) != 0;
    store_txn_t *t = NULL;
    json_t *devices = json_array(), *refused = json_array();
    listing_t l = {.collect = devices};
    uint64_t entries = 0, last_arrival = 0, events = 0, log_head = 0;
    int err = store_begin(ctx.store, false, &t);
    if (err == FT_OK) {
        l.t = t;
        err = store_device_iter(t, list_one, &l);
    }
    if (err == FT_OK) {
        err = store_entry_count(t, &entries, &last_arrival);
    }
    if (err == FT_OK) {
        err = store_integrity_iter(t, 0, count_event, &events);
    }
    if (err == FT_OK) {
        err = store_refusal_iter(t, refusal_one, refused);
    }
    store_abort(&t);
    if (err == FT_OK) {
        err = devlog_head(ctx.hublog, &log_head, NULL);
    }
    if (err != FT_OK) {
        hub_fail("cannot read the store: %s", ft_strerror(err));
        json_decref(devices);
        json_decref(refused);
        hub_routes_free(&routes);
        hub_close(&ctx);
        return 1;
    }
    char box[65], id[DEVID_TEXT_SIZE];
    uint8_t hub_id[DEVID_BYTES];
    hex_encode(ctx.keys.box_pk, 32, box);
    devid_from_pk(ctx.keys.sign_pk, hub_id);
    devid_format(hub_id, id);
    const char *listen = config_pick(NULL, ctx.cfg, "listen", HUB_DEFAULT_LISTEN);
    if (ctx.json) {
        json_t *hub =
            json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:O}", "state", ctx.state,
                      "hub_id", id, "hub_key", box, "listen", listen, "devices", (json_int_t)l.n,
                      "revoked", (json_int_t)l.revoked, "entries", (json_int_t)entries, "backlog",
                      (json_int_t)l.backlog, "integrity_events", (json_int_t)events,
                      "hublog_entries", (json_int_t)log_head, "refused_unknown", refused);
        json_t *o = json_pack("{s:o, s:O}", "hub", hub, "devices", devices);
        json_object_set_new(o, "media", hub_media_status_json(ctx.state));
        json_object_set_new(
            o, "webhooks",
            delivery_status_json(ctx.state, ctx.hublog, routes.hooks, routes.n_hooks));
        json_t *prov = hub_province_status_json(&ctx, last_arrival);
        if (prov) {
            json_object_set_new(o, "province", prov);
        }
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("hub:              %s (ID %s)\n"
               "transport key:    %s\n"
               "listens on:       %s\n"
               "devices:          %lu enrolled (%lu revoked), %lu with an error\n"
               "entries held:     %llu, backlog known to the hub: %llu\n"
               "integrity events: %llu%s\n"
               "hub log:          %llu entries\n",
               ctx.state, id, box, listen, l.n, l.revoked, l.errors, (unsigned long long)entries,
               (unsigned long long)l.backlog, (unsigned long long)events,
               events ? " (list them with `fieldtrail-hub integrity`)" : "",
               (unsigned long long)log_head);
        hub_media_status_print(ctx.state, stdout);
        json_t *hooks = delivery_status_json(ctx.state, ctx.hublog, routes.hooks, routes.n_hooks);
        delivery_status_print(hooks, stdout);
        json_decref(hooks);
        json_t *prov = hub_province_status_json(&ctx, last_arrival);
        hub_province_status_print(prov, stdout);
        json_decref(prov);
        size_t i;
        json_t *r;
        json_array_foreach(refused, i, r)
        {
            char last[CLI_TIME_TEXT];
            cli_time(json_integer_value(json_object_get(r, "last_ms")), last, sizeof last);
            printf("refused unknown:  key %s, %lld times, last %s from %s\n",
                   json_string_value(json_object_get(r, "transport_public")),
                   (long long)json_integer_value(json_object_get(r, "count")), last,
                   json_string_value(json_object_get(r, "address")));
        }
        if (l.n) {
            putchar('\n');
            store_txn_t *t2 = NULL;
            listing_t again = {.table = cli_table_new(DEVICE_NCOLS, device_cols, "lllllrrrl")};
            if (again.table && store_begin(ctx.store, false, &t2) == FT_OK) {
                again.t = t2;
                if (store_device_iter(t2, list_one, &again) == FT_OK) {
                    cli_table_print(again.table, stdout);
                }
            }
            store_abort(&t2);
            cli_table_free(&again.table);
        }
    }
    json_decref(devices);
    json_decref(refused);
    hub_routes_free(&routes);
    hub_close(&ctx);
    if (config_bad) {
        hub_fail("hub.conf has a mistake (above) that `fieldtrail-hub run` would refuse");
        return 1;
    }
    return 0;
}

static void integrity_usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-hub integrity [--state DIR] [--json]\n\n"
                 "Lists integrity events: entries the hub refused as altered, forged, out\n"
                 "of chain, missing or signed by the wrong device (Art. 24(2)), oldest first.\n"
                 "Each is also an entry in the hub's own signed log. With --json, one object\n"
                 "per line (evidence_hex is the refused entry's bytes).\n");
}

static int integrity_one(void *ctx, const store_integrity_t *ev)
{
    bool json = *(bool *)ctx;
    char id[DEVID_TEXT_SIZE], when[48];
    devid_format(ev->device, id);
    hub_time_text(ev->time_ms, when, sizeof when);
    if (!json) {
        cli_time(ev->time_ms, when, sizeof when); /* for people: local time */
    }
    if (json) {
        char *hex = malloc(2 * ev->evidence_len + 1);
        if (!hex) {
            return FT_ENOMEM;
        }
        hex_encode(ev->evidence, ev->evidence_len, hex);
        json_t *o = json_pack("{s:I, s:s, s:s, s:o, s:I, s:I, s:o, s:I, s:s}", "id",
                              (json_int_t)ev->id, "time", when, "device_id", id, "reason",
                              utf8_json_string(ev->reason), "epoch", (json_int_t)ev->epoch, "seq",
                              (json_int_t)ev->seq, "detail", utf8_json_string(ev->detail),
                              "hublog_seq", (json_int_t)ev->hublog_seq, "evidence_hex", hex);
        free(hex);
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("%4llu  %s  %s  %-18s  seq %llu  %s\n", (unsigned long long)ev->id, when, id,
               hub_text(ev->reason), (unsigned long long)ev->seq, hub_text(ev->detail));
    }
    return 0;
}

int hub_cmd_integrity(int argc, char **argv)
{
    hub_ctx_t ctx = {0};
    int rc = hub_parse_simple(&ctx, argc, argv, integrity_usage, NULL, 0, NULL);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (hub_open(&ctx, false) != 0) {
        hub_close(&ctx);
        return 1;
    }
    store_txn_t *t = NULL;
    uint64_t n = 0;
    int err = store_begin(ctx.store, false, &t);
    if (err == FT_OK) {
        err = store_integrity_iter(t, 0, count_event, &n);
    }
    if (err == FT_OK) {
        err = store_integrity_iter(t, 0, integrity_one, &ctx.json);
    }
    store_abort(&t);
    if (err != FT_OK) {
        hub_fail("cannot read the store: %s", ft_strerror(err));
    } else if (!ctx.json && n == 0) {
        printf("no integrity events\n");
    }
    hub_close(&ctx);
    return err == FT_OK ? 0 : 1;
}
