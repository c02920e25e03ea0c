/* api_sync.c: the dashboard's sync module: sync state, devices (enrol,
 * revoke), live events, /metrics, and its poll that publishes sync rows.
 *
 *   GET  /api/sync                  every device's sync state, problems first;
 *                                   the media puller's and the province
 *                                   forwarder's state (null when none)
 *   GET  /api/devices               enrolments (keys, unit, vehicle, state)
 *   POST /api/devices               (admin) enrol {sign_public, transport_public,
 *                                   unit, vehicle} or {device_pub, unit, vehicle}
 *   POST /api/devices/ID/revoke     (admin) revoke
 *   GET  /api/events                server-sent events: sync, alert, records, hublog
 *   GET  /metrics                   Prometheus text (a session, or the
 *                                   http_metrics_token bearer)
 *
 * The module's poll (on the server's watcher thread, after the server has
 * brought the catalog and the alert view up to date): every SYNC_EVERY
 * polls, the progress of every upload (the bytes of each announced clip the
 * hub has received so far, from its partial in the blob store), transfer
 * rates over the last minute from the bytes each device's entries, held
 * media and uploads add, and the sync rows, published as a "sync" event
 * when one changes (rows hold times, never ages, so an idle row does not
 * change). Its state (rates, uploads, the rows last published) is the
 * module's own.
 *
 * What a row flags as a problem of the clock or a recorder is judged by the
 * rule pack the hub runs (rule_clock_off, rule_battery_low,
 * rule_storage_low: hub/gaps/rules.h), as the gap engine judges it; an
 * office's own pack changes both. Enrolment and revocation are hub/devices'
 * (devices.h); this module reads the request, writes the audit entry (in
 * devices' `before`, so a change is never made unaudited) and words the
 * answer.
 */
#include "api_sync.h"
#include "bodyjson.h"
#include "devices.h"
#include "evalstats.h"
#include "hlc.h"
#include "mediastatus.h"
#include "httpparse.h"
#include "logging.h"
#include "provstatus.h"
#include "utf8.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ONLINE_MS 30000  /* seen this recently = online (pings land every 10 s) */
#define SYNC_EVERY 4     /* sync rows and rates every 4th poll (1 s) */
#define RATE_WINDOW 61   /* samples in the rate window (the last minute at one a second) */
#define UPLOADS_SHOWN 10 /* uploads listed per device (the slowest to finish last) */
#define ERROR_RECENT_MS (24 * 3600 * 1000LL)

/* Bytes held per device over the last RATE_WINDOW polls. */
typedef struct {
    char device[DEVID_TEXT_SIZE];
    int64_t t[RATE_WINDOW];
    uint64_t bytes[RATE_WINDOW];
    size_t n, head;
    double bps; /* bytes per second over the window */
} rate_t;

/* One clip being uploaded: announced by a manifest, not held yet. */
typedef struct {
    char media[40];               /* media ID (hex of its file ID) */
    char device[DEVID_TEXT_SIZE]; /* its recorder's edge */
    char name[64];                /* its file name */
    uint64_t size;                /* plaintext size */
    uint64_t received;            /* bytes at the hub so far */
    int64_t t[RATE_WINDOW];
    uint64_t bytes[RATE_WINDOW];
    size_t n, head;
    double bps;
    bool seen; /* still announced and not held at the last poll */
} upload_t;

/* The module's state. */
typedef struct {
    pthread_mutex_t lock; /* guards rates and uploads (the watcher writes, requests read) */
    rate_t *rates;
    size_t n_rates, cap_rates;
    upload_t *uploads;
    size_t n_uploads, cap_uploads;
    json_t *rows;   /* device -> last published row text (watcher only) */
    uint64_t polls; /* watcher only */
} sync_t;

static int sync_init(const web_shared_t *sh, void **state)
{
    (void)sh;
    sync_t *p = calloc(1, sizeof *p);
    if (!p || !(p->rows = json_object())) {
        free(p);
        return FT_ENOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    *state = p;
    return FT_OK;
}

static void sync_fini(void *state)
{
    sync_t *p = state;
    if (!p) {
        return;
    }
    pthread_mutex_destroy(&p->lock);
    json_decref(p->rows);
    free(p->rates);
    free(p->uploads);
    free(p);
}

static double rate_of(sync_t *p, const char *device)
{
    double bps = 0;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n_rates; i++) {
        if (strcmp(p->rates[i].device, device) == 0) {
            bps = p->rates[i].bps;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return bps;
}

/* Adds a sample to a window of (time, bytes); the rate over the window. */
static double window_add(int64_t *t, uint64_t *bytes, size_t *n, size_t *head, int64_t now,
                         uint64_t b)
{
    size_t slot = (*head + *n) % RATE_WINDOW;
    if (*n == RATE_WINDOW) {
        *head = (*head + 1) % RATE_WINDOW;
    } else {
        (*n)++;
    }
    t[slot] = now;
    bytes[slot] = b;
    int64_t dt = now - t[*head];
    return dt > 0 && b >= bytes[*head] ? (double)(b - bytes[*head]) * 1000.0 / (double)dt : 0;
}

/* Uploads of a device, most advanced first, at most UPLOADS_SHOWN, and
 * the bytes received of all of them (*received). Under p->lock. */
static int upload_cmp(const void *a, const void *b)
{
    const upload_t *x = *(upload_t *const *)a, *y = *(upload_t *const *)b;
    double fx = x->size ? (double)x->received / (double)x->size : 0;
    double fy = y->size ? (double)y->received / (double)y->size : 0;
    return fx > fy ? -1 : fx < fy ? 1 : strcmp(x->media, y->media);
}

static json_t *uploads_json(sync_t *p, const char *device, uint64_t *received)
{
    json_t *arr = json_array();
    *received = 0;
    pthread_mutex_lock(&p->lock);
    upload_t **mine = calloc(p->n_uploads ? p->n_uploads : 1, sizeof *mine);
    size_t n = 0;
    for (size_t i = 0; mine && i < p->n_uploads; i++) {
        if (strcmp(p->uploads[i].device, device) == 0 && p->uploads[i].received > 0) {
            mine[n++] = &p->uploads[i];
            *received += p->uploads[i].received;
        }
    }
    if (mine) {
        qsort(mine, n, sizeof *mine, upload_cmp);
    }
    for (size_t i = 0; i < n && i < UPLOADS_SHOWN; i++) {
        const upload_t *u = mine[i];
        double pct = u->size ? floor(1000.0 * (double)u->received / (double)u->size) / 10.0 : 0;
        json_t *o = json_pack("{s:s, s:o, s:I, s:I, s:f, s:f}", "media", u->media, "name",
                              utf8_json_string(u->name), "size", (json_int_t)u->size, "received",
                              (json_int_t)u->received, "pct", pct > 99.9 ? 99.9 : pct, "rate_bps",
                              round(u->bps));
        uint64_t left = u->size > u->received ? u->size - u->received : 0;
        json_object_set_new(o, "eta_s",
                            u->bps >= 1 ? json_integer((json_int_t)ceil((double)left / u->bps))
                                        : json_null());
        json_array_append_new(arr, o);
    }
    free(mine);
    pthread_mutex_unlock(&p->lock);
    return arr;
}

/* ---- one device's sync row ---- */

typedef struct {
    const web_shared_t *sh;
    sync_t *p;
    store_txn_t *t;
    json_t *arr;
    int64_t now;
    bool keys;               /* include public keys (devices listing) */
    const rule_t *readiness; /* the pack's readiness rule, or NULL */
    const rule_t *clock;     /* the pack's clock rule, or NULL */
    const rule_t *silence;   /* the pack's silence rule, or NULL */
} rows_t;

static int sum_head(void *ctx, uint64_t epoch, const store_head_t *h)
{
    (void)epoch;
    *(uint64_t *)ctx += h->seq;
    return 0;
}

/* Recorder health rows of a device and the worst problem among them:
 * below the readiness rule's limits, or the recorder's own battery_low /
 * storage_full event. */
static json_t *recorders_json(const cat_device_t *cd, const rule_t *readiness, json_t *problems)
{
    json_t *arr = json_array();
    if (!cd) {
        return arr;
    }
    const char *name;
    json_t *h;
    bool battery = false, storage = false;
    json_object_foreach(cd->recorders, name, h)
    {
        json_t *o = json_deep_copy(h);
        json_object_set_new(o, "recorder", utf8_json_string(name));
        json_t *b = json_object_get(h, "battery_pct"), *f = json_object_get(h, "free_mb");
        const char *ev = json_string_value(json_object_get(h, "event"));
        bool low_b = (b && rule_battery_low(readiness, json_number_value(b))) ||
                     (ev && strcmp(ev, "battery_low") == 0);
        bool low_f = (f && rule_storage_low(readiness, json_number_value(f))) ||
                     (ev && strcmp(ev, "storage_full") == 0);
        json_object_set_new(o, "ok", json_boolean(!low_b && !low_f));
        battery |= low_b;
        storage |= low_f;
        json_t *at = json_object_get(h, "at_ms");
        json_object_set_new(o, "at", web_time(at ? json_integer_value(at) : 0));
        json_array_append_new(arr, o);
    }
    if (battery) {
        json_array_append_new(problems, json_string("battery"));
    }
    if (storage) {
        json_array_append_new(problems, json_string("storage"));
    }
    return arr;
}

static int row_one(void *ctx, const store_device_t *d)
{
    rows_t *rw = ctx;
    store_status_t st;
    uint64_t held = 0;
    store_head_t cur = {0};
    int err = store_status_get(rw->t, d->device, &st);
    if (err == FT_OK) {
        err = store_heads_iter(rw->t, d->device, sum_head, &held);
    }
    if (err == FT_OK && st.edge_epoch) {
        err = store_head_get(rw->t, d->device, st.edge_epoch, &cur);
    }
    if (err != FT_OK) {
        return err;
    }
    char id[DEVID_TEXT_SIZE];
    devid_format(d->device, id);
    bool online = !d->revoked && st.last_seen_ms && rw->now - st.last_seen_ms <= ONLINE_MS;
    json_t *problems = json_array();
    json_t *o = json_pack("{s:s, s:o, s:o, s:s, s:b, s:I, s:I, s:I, s:I}", "device_id", id, "unit",
                          utf8_json_string(d->unit), "vehicle", utf8_json_string(d->vehicle),
                          "state", d->revoked ? "revoked" : "enrolled", "online", online, "entries",
                          (json_int_t)held, "accepted", (json_int_t)st.accepted, "rejected",
                          (json_int_t)st.rejected, "refusals", (json_int_t)st.refusals);
    json_object_set_new(o, "last_seen", web_time(st.last_seen_ms));
    json_object_set_new(o, "last_seen_ms", json_integer(st.last_seen_ms));
    json_object_set_new(o, "enrolled_at", web_time(d->enrolled_ms));
    json_object_set_new(o, "revoked_at", web_time(d->revoked_ms));
    /* Times, not ages: the page counts from them (docs/api.md "Sync"). */
    json_object_set_new(o, "synced_at", web_time(st.synced_ms));
    json_object_set_new(o, "synced_ms", json_integer(st.synced_ms));
    json_object_set_new(o, "report_at", web_time(st.edge_report_ms));
    json_object_set_new(o, "report_ms", json_integer(st.edge_report_ms));
    if (rw->silence) {
        json_object_set_new(o, "silent_limit_ms", json_integer(rw->silence->max_silence_ms));
    }
    if (!d->revoked && rule_silent(rw->silence, st.last_seen_ms, d->enrolled_ms, rw->now)) {
        json_array_append_new(problems, json_string("silent"));
    }
    if (st.edge_epoch) {
        uint64_t backlog = st.edge_head_seq > cur.seq ? st.edge_head_seq - cur.seq : 0;
        json_object_set_new(o, "backlog", json_integer((json_int_t)backlog));
        json_object_set_new(o, "edge_head_seq", json_integer((json_int_t)st.edge_head_seq));
        if (backlog > 0 && !online && !d->revoked) {
            json_array_append_new(problems, json_string("backlog_offline"));
        }
    } else {
        json_object_set_new(o, "backlog", json_null());
        json_object_set_new(o, "edge_head_seq", json_null());
    }
    catalog_read(rw->sh->catalog);
    const cat_device_t *cd = catalog_device(rw->sh->catalog, id);
    uint64_t media_pending =
        cd && cd->media_bytes > cd->media_held_bytes ? cd->media_bytes - cd->media_held_bytes : 0;
    json_object_set_new(o, "bytes",
                        json_integer(cd ? (json_int_t)(cd->bytes + cd->media_held_bytes) : 0));
    json_object_set_new(o, "log_bytes", json_integer(cd ? (json_int_t)cd->bytes : 0));
    json_object_set_new(o, "media_bytes", json_integer(cd ? (json_int_t)cd->media_bytes : 0));
    json_object_set_new(o, "media_bytes_held",
                        json_integer(cd ? (json_int_t)cd->media_held_bytes : 0));
    json_t *recs = recorders_json(cd, rw->readiness, problems);
    /* Clips announced and not held: waiting on the vehicle, or on their way. */
    uint64_t waiting_n = 0;
    if (cd && media_pending > 0) {
        size_t n_items = 0;
        const cat_item_t *items = catalog_items(rw->sh->catalog, &n_items);
        for (size_t i = 0; i < n_items; i++) {
            waiting_n += items[i].kind == CAT_MEDIA && !items[i].held &&
                         cat_item_counts(&items[i]) && strcmp(items[i].device, id) == 0;
        }
    }
    catalog_done(rw->sh->catalog);
    uint64_t uploading = 0;
    json_t *uploads = uploads_json(rw->p, id, &uploading);
    json_object_set_new(
        o, "media_waiting",
        json_pack("{s:I, s:I, s:I}", "files", (json_int_t)waiting_n, "bytes",
                  (json_int_t)media_pending, "received",
                  (json_int_t)(uploading < media_pending ? uploading : media_pending)));
    json_object_set_new(o, "uploads", uploads);
    /* Bytes the hub still lacks: media it knows of from manifests and does
     * not hold yet (a log backlog's size is unknown until it arrives). */
    json_object_set_new(o, "backlog_bytes", json_integer((json_int_t)media_pending));
    if (media_pending > 0 && !online && !d->revoked) {
        json_array_append_new(problems, json_string("media_offline"));
    }
    json_object_set_new(o, "rate_bps", json_real(round(rate_of(rw->p, id))));
    if (st.has_clock_offset) {
        json_object_set_new(o, "clock_offset_ms", json_integer(st.clock_offset_ms));
        if (rule_clock_off(rw->clock, st.clock_offset_ms)) {
            json_array_append_new(problems, json_string("clock"));
        }
    } else {
        json_object_set_new(o, "clock_offset_ms", json_null());
    }
    json_object_set_new(o, "last_error",
                        st.last_error[0] ? utf8_json_string(st.last_error) : json_null());
    json_object_set_new(o, "last_error_at", web_time(st.last_error_ms));
    if (st.last_error[0] && rw->now - st.last_error_ms < ERROR_RECENT_MS) {
        json_array_append_new(problems, json_string("error"));
    }
    if (!st.last_seen_ms && !d->revoked) {
        json_array_append_new(problems, json_string("never_seen"));
    }
    /* the edge's own report on this hub's endpoints (docs/protocol.md "Welcome") */
    json_object_set_new(o, "endpoint_mismatch",
                        st.endpoint_mismatch[0] ? utf8_json_string(st.endpoint_mismatch)
                                                : json_null());
    if (st.endpoint_mismatch[0] && !d->revoked) {
        json_array_append_new(problems, json_string("endpoint"));
    }
    json_object_set_new(o, "recorders", recs);
    json_object_set_new(o, "problems", problems);
    if (rw->keys) {
        char sign[65], box[65];
        hex_encode(d->sign_pk, 32, sign);
        hex_encode(d->transport_pk, 32, box);
        json_object_set_new(o, "sign_public", json_string(sign));
        json_object_set_new(o, "transport_public", json_string(box));
    }
    json_array_append_new(rw->arr, o);
    return 0;
}

/* Problems first (more problems higher), revoked last, then by last seen. */
static int row_cmp(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int rx = strcmp(json_string_value(json_object_get(x, "state")), "revoked") == 0;
    int ry = strcmp(json_string_value(json_object_get(y, "state")), "revoked") == 0;
    if (rx != ry) {
        return rx - ry;
    }
    size_t px = json_array_size(json_object_get(x, "problems"));
    size_t py = json_array_size(json_object_get(y, "problems"));
    if (px != py) {
        return px > py ? -1 : 1;
    }
    return strcmp(json_string_value(json_object_get(x, "device_id")),
                  json_string_value(json_object_get(y, "device_id")));
}

/* Every device's row, sorted. NULL on a store error. */
static json_t *sync_rows(const web_shared_t *sh, sync_t *p, bool keys)
{
    store_txn_t *t = NULL;
    rows_t rw = {.sh = sh,
                 .p = p,
                 .arr = json_array(),
                 .now = (int64_t)hlc_wall_ms(),
                 .keys = keys,
                 .readiness = sh->pack ? rules_find_kind(sh->pack, RULE_READINESS) : NULL,
                 .clock = sh->pack ? rules_find_kind(sh->pack, RULE_CLOCK) : NULL,
                 .silence = sh->pack ? rules_find_kind(sh->pack, RULE_SILENCE) : NULL};
    int err = store_begin(sh->hub->store, false, &t);
    if (err == FT_OK) {
        rw.t = t;
        err = store_device_iter(t, row_one, &rw);
    }
    store_abort(&t);
    if (err != FT_OK) {
        json_decref(rw.arr);
        return NULL;
    }
    size_t n = json_array_size(rw.arr);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    if (!v) {
        json_decref(rw.arr);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        v[i] = json_incref(json_array_get(rw.arr, i));
    }
    qsort(v, n, sizeof *v, row_cmp);
    json_t *sorted = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(sorted, v[i]);
    }
    free(v);
    json_decref(rw.arr);
    return sorted;
}

static void get_sync(web_req_t *r)
{
    json_t *rows = sync_rows(r->sh, r->mod, false);
    if (!rows) {
        web_error(r, 500, "store", "cannot read the store");
        return;
    }
    size_t online = 0, problems = 0, i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        online += json_is_true(json_object_get(row, "online"));
        problems += json_array_size(json_object_get(row, "problems")) > 0;
    }
    json_t *o =
        json_pack("{s:o, s:I, s:I, s:I, s:I}", "devices", rows, "online", (json_int_t)online,
                  "with_problems", (json_int_t)problems, "online_window_ms", (json_int_t)ONLINE_MS,
                  "event_seq", (json_int_t)webevents_last(r->sh->events));
    json_object_set_new(o, "now", web_time((int64_t)hlc_wall_ms()));
    /* The media puller's state (pulling, or paused on a full disk and why),
     * as `fieldtrail-hub status` shows it; null when it has not started. */
    json_t *pulling = hub_media_pulling_json(r->sh->hub->state);
    json_object_set_new(o, "media_pulling", pulling ? pulling : json_null());
    /* Forwarding to the province (docs/province.md): null unless a
     * forwarder ran here. */
    prov_status_t ps;
    store_txn_t *pt = NULL;
    uint64_t n_entries = 0, last_arrival = 0;
    json_t *prov = NULL;
    if (r->sh->hub->hublog && prov_status_read(r->sh->hub->hublog, &ps) == FT_OK && ps.present &&
        store_begin(r->sh->hub->store, false, &pt) == FT_OK &&
        store_entry_count(pt, &n_entries, &last_arrival) == FT_OK) {
        prov = json_pack(
            "{s:s, s:s, s:I, s:I, s:I, s:s}", "county", ps.county, "state", ps.state, "checkpoint",
            (json_int_t)ps.checkpoint, "behind",
            (json_int_t)(last_arrival > ps.checkpoint ? last_arrival - ps.checkpoint : 0),
            "last_success_ms", (json_int_t)ps.last_success_ms, "last_error", ps.last_error);
    }
    store_abort(&pt);
    json_object_set_new(o, "province", prov ? prov : json_null());
    web_json(r, 200, o);
}

static void get_devices(web_req_t *r)
{
    json_t *rows = sync_rows(r->sh, r->mod, true);
    if (!rows) {
        web_error(r, 500, "store", "cannot read the store");
        return;
    }
    char hub_id[DEVID_TEXT_SIZE], box[65];
    uint8_t id[DEVID_BYTES];
    devid_from_pk(r->sh->hub->keys->sign_pk, id);
    devid_format(id, hub_id);
    hex_encode(r->sh->hub->keys->box_pk, 32, box);
    web_json(r, 200,
             json_pack("{s:o, s:{s:s, s:s}}", "devices", rows, "hub", "hub_id", hub_id,
                       "transport_public", box));
}

/* devices' `before` of a dashboard change: its audit entry. */
typedef struct {
    web_req_t *r;
    const char *action, *detail;
    bool audit_failed;
} audit_before_t;

static int audit_first(void *ctx, const store_device_t *d)
{
    audit_before_t *a = ctx;
    char id[DEVID_TEXT_SIZE];
    devid_format(d->device, id);
    int err = web_audit(a->r, a->action, id, a->detail);
    a->audit_failed = err != FT_OK;
    return err;
}

static void post_device(web_req_t *r)
{
    const char *unit = web_body_str(r, "unit"), *vehicle = web_body_str(r, "vehicle");
    const char *pub = web_body_str(r, "device_pub");
    char sign_hex[80] = "", box_hex[80] = "", id_text[40] = "";
    if (pub) {
        httpparse_pub_value(pub, "sign_public", sign_hex, sizeof sign_hex);
        httpparse_pub_value(pub, "transport_public", box_hex, sizeof box_hex);
        httpparse_pub_value(pub, "device_id", id_text, sizeof id_text);
    } else {
        snprintf(sign_hex, sizeof sign_hex, "%s",
                 web_body_str(r, "sign_public") ? web_body_str(r, "sign_public") : "");
        snprintf(box_hex, sizeof box_hex, "%s",
                 web_body_str(r, "transport_public") ? web_body_str(r, "transport_public") : "");
    }
    char by[USER_NAME_MAX + 16];
    snprintf(by, sizeof by, "web:%s", r->session.user);
    devices_enrol_t req = {.unit = unit, .vehicle = vehicle, .by = by};
    char why[200];
    if (devices_check_names(unit, vehicle, why, sizeof why) != FT_OK ||
        hex_decode(sign_hex, req.sign_pk, 32) != FT_OK ||
        hex_decode(box_hex, req.transport_pk, 32) != FT_OK) {
        web_error(r, 400, "bad_request",
                  "send unit, vehicle and either device_pub (the text of device.pub) or "
                  "sign_public and transport_public (64 hex characters each)");
        return;
    }
    if (id_text[0] && devices_check_id(req.sign_pk, id_text) != FT_OK) {
        web_error(r, 400, "bad_request",
                  "device_id in device.pub does not match its sign_public key");
        return;
    }
    audit_before_t ab = {.r = r, .action = "device_enrol", .detail = unit};
    devices_outcome_t out;
    int err = devices_enrol(r->sh->hub, &req, audit_first, &ab, &out);
    if (err == FT_EREVOKED) {
        web_error(r, 409, "revoked", "this device was revoked and cannot be enrolled again");
        return;
    }
    if (err == FT_EDUP) {
        web_error(r, 409, "conflict", "this device is enrolled with a different transport key");
        return;
    }
    if (err == FT_EEXIST) {
        web_error(r, 409, "conflict", "the transport key belongs to another device");
        return;
    }
    if (err != FT_OK) {
        web_error(r, 500, ab.audit_failed ? "audit" : "store", ft_strerror(err));
        return;
    }
    char id[DEVID_TEXT_SIZE];
    devid_format(out.device.device, id);
    /* 201 for a change; 200 when it was enrolled so already (nothing written) */
    web_json(r, out.result == DEVICES_UNCHANGED ? 200 : 201,
             json_pack("{s:s, s:o, s:o, s:s}", "device_id", id, "unit",
                       utf8_json_string(out.device.unit), "vehicle",
                       utf8_json_string(out.device.vehicle), "result",
                       devices_result_name(out.result)));
}

static void revoke_device(web_req_t *r)
{
    uint8_t dev[DEVID_BYTES];
    if (devid_parse(r->args[0], dev) != FT_OK) {
        web_error(r, 400, "bad_request", "not a device ID");
        return;
    }
    char id[DEVID_TEXT_SIZE], by[USER_NAME_MAX + 16];
    devid_format(dev, id);
    snprintf(by, sizeof by, "web:%s", r->session.user);
    audit_before_t ab = {.r = r, .action = "device_revoke", .detail = web_body_str(r, "reason")};
    devices_outcome_t out;
    int err = devices_revoke(r->sh->hub, dev, by, audit_first, &ab, &out);
    if (err == FT_ENOTFOUND) {
        web_error(r, 404, "not_found", "no such device enrolled");
        return;
    }
    if (err != FT_OK) {
        web_error(r, 500, ab.audit_failed ? "audit" : "store", ft_strerror(err));
        return;
    }
    web_json(r, 200,
             json_pack("{s:s, s:s}", "device_id", id, "result", devices_result_name(out.result)));
}

/* ---- server-sent events ---- */

typedef struct {
    webevents_t *events;
    uint64_t cursor;
    bool hello_sent;
} sse_t;

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sse_t *s = cls;
    if (!s->hello_sent) {
        s->hello_sent = true;
        int n = snprintf(buf, max, "retry: 1000\nevent: hello\ndata: {\"seq\":%llu}\n\n",
                         (unsigned long long)s->cursor);
        return n > 0 && (size_t)n < max ? n : 0;
    }
    long n = webevents_wait(s->events, &s->cursor, buf, max, 15000);
    if (n < 0) {
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    if (n == 0) {
        static const char ping[] = ": ping\n\n";
        if (max < sizeof ping) {
            return 0;
        }
        memcpy(buf, ping, sizeof ping - 1);
        return (ssize_t)(sizeof ping - 1);
    }
    return n;
}

static void get_events(web_req_t *r)
{
    sse_t *s = calloc(1, sizeof *s);
    if (!s) {
        web_error(r, 500, "internal", "out of memory");
        return;
    }
    s->events = r->sh->events;
    long long since = web_query_int(r, "since", -1, 0, INT64_MAX);
    const char *last_id = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Last-Event-ID");
    s->cursor = since >= 0 ? (uint64_t)since
                : last_id  ? strtoull(last_id, NULL, 10)
                           : webevents_last(r->sh->events);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, sse_read, s, free);
    if (!resp) {
        free(s);
        web_error(r, 500, "internal", "out of memory");
        return;
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    r->no_cache = true;
    web_raw(r, 200, resp);
}

/* ---- the poll ---- */

/* The bytes each announced, not yet held clip has at the hub (from its
 * partial in the blob store), sampled once a second. Under no lock but the
 * catalog's: the uploads' table is swapped in under p->lock. */
static void update_uploads(const web_shared_t *sh, sync_t *p, int64_t now)
{
    if (!sh->blobs) {
        return;
    }
    catalog_read(sh->catalog);
    size_t n_items = 0;
    const cat_item_t *items = catalog_items(sh->catalog, &n_items);
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n_uploads; i++) {
        p->uploads[i].seen = false;
    }
    for (size_t i = 0; i < n_items; i++) {
        const cat_item_t *it = &items[i];
        uint8_t part[BLOB_PART_BYTES];
        if (it->kind != CAT_MEDIA || it->held || !cat_item_counts(it) || !it->id ||
            strlen(it->id) != 2 * BLOB_PART_BYTES ||
            hex_decode(it->id, part, BLOB_PART_BYTES) != FT_OK) {
            continue;
        }
        uint64_t got = 0;
        if (blobstore_partial_received(sh->blobs, part, &got) != FT_OK) {
            got = 0; /* not started: still wholly on the vehicle */
        }
        upload_t *u = NULL;
        for (size_t k = 0; k < p->n_uploads && !u; k++) {
            u = strcmp(p->uploads[k].media, it->id) == 0 ? &p->uploads[k] : NULL;
        }
        if (!u) {
            if (p->n_uploads == p->cap_uploads) {
                size_t cap = p->cap_uploads ? 2 * p->cap_uploads : 16;
                upload_t *nv = realloc(p->uploads, cap * sizeof *nv);
                if (!nv) {
                    break;
                }
                p->uploads = nv;
                p->cap_uploads = cap;
            }
            u = &p->uploads[p->n_uploads++];
            memset(u, 0, sizeof *u);
            snprintf(u->media, sizeof u->media, "%s", it->id);
            snprintf(u->device, sizeof u->device, "%s", it->device);
            const char *name = json_string_value(json_object_get(it->body, "file_name"));
            utf8_copy(u->name, sizeof u->name, name ? name : "");
        }
        u->size = it->media_size;
        u->received = it->media_size && got > it->media_size ? it->media_size : got;
        u->bps = window_add(u->t, u->bytes, &u->n, &u->head, now, u->received);
        u->seen = true;
    }
    size_t kept = 0; /* held now, or gone: forgotten */
    for (size_t i = 0; i < p->n_uploads; i++) {
        if (p->uploads[i].seen) {
            p->uploads[kept++] = p->uploads[i];
        }
    }
    p->n_uploads = kept;
    pthread_mutex_unlock(&p->lock);
    catalog_done(sh->catalog);
}

/* Each device's transfer rate over the last minute: the bytes of its
 * entries, its held media and its uploads so far. */
static void update_rates(const web_shared_t *sh, sync_t *p, int64_t now)
{
    catalog_read(sh->catalog);
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n_rates; i++) {
        rate_t *rt = &p->rates[i];
        const cat_device_t *cd = catalog_device(sh->catalog, rt->device);
        uint64_t b = cd ? cd->bytes + cd->media_held_bytes : 0;
        for (size_t k = 0; k < p->n_uploads; k++) {
            b += strcmp(p->uploads[k].device, rt->device) == 0 ? p->uploads[k].received : 0;
        }
        rt->bps = window_add(rt->t, rt->bytes, &rt->n, &rt->head, now, b);
    }
    pthread_mutex_unlock(&p->lock);
    catalog_done(sh->catalog);
}

/* Makes sure every device has a rate slot (under the lock: requests read
 * the rates while the watcher grows them). */
static int rate_slot(void *ctx, const store_device_t *d)
{
    sync_t *p = ctx;
    char id[DEVID_TEXT_SIZE];
    devid_format(d->device, id);
    int err = FT_OK;
    pthread_mutex_lock(&p->lock);
    bool have = false;
    for (size_t i = 0; i < p->n_rates && !have; i++) {
        have = strcmp(p->rates[i].device, id) == 0;
    }
    if (!have && p->n_rates == p->cap_rates) {
        size_t cap = p->cap_rates ? p->cap_rates * 2 : 16;
        rate_t *nv = realloc(p->rates, cap * sizeof *nv);
        if (nv) {
            p->rates = nv;
            p->cap_rates = cap;
        } else {
            err = FT_ENOMEM;
        }
    }
    if (!have && err == FT_OK) {
        rate_t *rt = &p->rates[p->n_rates++];
        memset(rt, 0, sizeof *rt);
        snprintf(rt->device, sizeof rt->device, "%s", id);
    }
    pthread_mutex_unlock(&p->lock);
    return err;
}

/* Publishes the rows that changed since the last poll. */
static void publish_sync(const web_shared_t *sh, sync_t *p)
{
    json_t *rows = sync_rows(sh, p, false);
    if (!rows) {
        return;
    }
    json_t *changed = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *id = json_string_value(json_object_get(row, "device_id"));
        char *text = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
        const char *old = json_string_value(json_object_get(p->rows, id));
        if (text && (!old || strcmp(old, text) != 0)) {
            json_object_set_new(p->rows, id, json_string(text));
            json_array_append(changed, row);
        }
        free(text);
    }
    if (json_array_size(changed) > 0) {
        webevents_publish(sh->events, "sync", json_pack("{s:o}", "devices", changed));
    } else {
        json_decref(changed);
    }
    json_decref(rows);
}

static void sync_poll(void *state, const web_shared_t *sh)
{
    sync_t *p = state;
    int64_t now = (int64_t)hlc_wall_ms();
    store_txn_t *t = NULL;
    if (store_begin(sh->hub->store, false, &t) != FT_OK ||
        store_device_iter(t, rate_slot, p) != FT_OK) {
        log_warn("dashboard: cannot read the store");
    }
    store_abort(&t);
    if (p->polls % SYNC_EVERY == 0) {
        update_uploads(sh, p, now);
        update_rates(sh, p, now);
        publish_sync(sh, p);
    }
    p->polls++;
}

/* ---- /metrics ---- */

typedef struct {
    json_t *by_article; /* article -> count */
    json_t *by_severity;
} alert_counts_t;

static void count_alert(void *ctx, const json_t *a)
{
    alert_counts_t *c = ctx;
    const char *art = json_string_value(json_object_get(a, "article"));
    const char *sev = json_string_value(json_object_get(a, "severity"));
    art = art && *art ? art : "unknown";
    sev = sev && *sev ? sev : "unknown";
    json_object_set_new(c->by_article, art,
                        json_integer(json_integer_value(json_object_get(c->by_article, art)) + 1));
    json_object_set_new(c->by_severity, sev,
                        json_integer(json_integer_value(json_object_get(c->by_severity, sev)) + 1));
}

/* Appends printf output to a growing buffer. */
typedef struct {
    char *p;
    size_t n, cap;
} buf_t;

static void bprintf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            return;
        }
        if (b->p && b->n + (size_t)n < b->cap) {
            b->n += (size_t)n;
            return;
        }
        size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
        char *np = realloc(b->p, cap);
        if (!np) {
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

/* Escapes a label value (backslash, quote, newline). */
static void label(buf_t *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') {
            bprintf(b, "\\%c", *s);
        } else if (*s == '\n') {
            bprintf(b, "\\n");
        } else {
            bprintf(b, "%c", *s);
        }
    }
}

static void metrics(web_req_t *r)
{
    json_t *rows = sync_rows(r->sh, r->mod, false);
    if (!rows) {
        web_error(r, 500, "store", "cannot read the store");
        return;
    }
    buf_t b = {0};
    size_t online = 0, revoked = 0, i;
    long long backlog = 0, bytes = 0, backlog_bytes = 0;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        online += json_is_true(json_object_get(row, "online"));
        revoked += strcmp(json_string_value(json_object_get(row, "state")), "revoked") == 0;
        backlog += json_integer_value(json_object_get(row, "backlog"));
        bytes += json_integer_value(json_object_get(row, "bytes"));
        backlog_bytes += json_integer_value(json_object_get(row, "backlog_bytes"));
    }
    bprintf(&b,
            "# HELP fieldtrail_devices Enrolled devices (revoked included).\n"
            "# TYPE fieldtrail_devices gauge\nfieldtrail_devices %zu\n",
            json_array_size(rows));
    bprintf(&b,
            "# HELP fieldtrail_devices_revoked Revoked devices.\n"
            "# TYPE fieldtrail_devices_revoked gauge\nfieldtrail_devices_revoked %zu\n",
            revoked);
    bprintf(&b,
            "# HELP fieldtrail_devices_online Devices heard from in the last %d s.\n"
            "# TYPE fieldtrail_devices_online gauge\nfieldtrail_devices_online %zu\n",
            ONLINE_MS / 1000, online);
    bprintf(&b, "# HELP fieldtrail_backlog_entries Log entries edges reported and the hub "
                "does not hold yet.\n# TYPE fieldtrail_backlog_entries gauge\n");
    json_array_foreach(rows, i, row)
    {
        bprintf(&b, "fieldtrail_backlog_entries{device=\"");
        label(&b, json_string_value(json_object_get(row, "device_id")));
        bprintf(&b, "\",unit=\"");
        label(&b, json_string_value(json_object_get(row, "unit")));
        bprintf(&b, "\"} %lld\n", (long long)json_integer_value(json_object_get(row, "backlog")));
    }
    bprintf(&b,
            "# HELP fieldtrail_backlog_entries_all Log entries edges reported and the hub does "
            "not hold yet, over all devices.\n"
            "# TYPE fieldtrail_backlog_entries_all gauge\n"
            "fieldtrail_backlog_entries_all %lld\n",
            backlog);
    bprintf(&b,
            "# HELP fieldtrail_synced_bytes_total Bytes the hub holds from edges (signed log "
            "entries and media).\n# TYPE fieldtrail_synced_bytes_total counter\n"
            "fieldtrail_synced_bytes_total %lld\n",
            bytes);
    bprintf(&b,
            "# HELP fieldtrail_backlog_media_bytes Media bytes announced by manifests that the "
            "hub does not hold yet.\n# TYPE fieldtrail_backlog_media_bytes gauge\n"
            "fieldtrail_backlog_media_bytes %lld\n",
            backlog_bytes);
    bprintf(&b, "# HELP fieldtrail_device_synced_bytes_total Bytes held per device (signed "
                "entries and media).\n# TYPE fieldtrail_device_synced_bytes_total counter\n");
    json_array_foreach(rows, i, row)
    {
        bprintf(&b, "fieldtrail_device_synced_bytes_total{device=\"");
        label(&b, json_string_value(json_object_get(row, "device_id")));
        bprintf(&b, "\"} %lld\n", (long long)json_integer_value(json_object_get(row, "bytes")));
    }
    json_decref(rows);
    alert_counts_t ac = {.by_article = json_object(), .by_severity = json_object()};
    alertview_each(r->sh->alerts, true, count_alert, &ac);
    bprintf(&b, "# HELP fieldtrail_alerts_open Open gap alerts by article cited.\n"
                "# TYPE fieldtrail_alerts_open gauge\n");
    const char *k;
    json_t *v;
    json_object_foreach(ac.by_article, k, v)
    {
        bprintf(&b, "fieldtrail_alerts_open{article=\"");
        label(&b, k);
        bprintf(&b, "\"} %lld\n", (long long)json_integer_value(v));
    }
    bprintf(&b, "# HELP fieldtrail_alerts_open_by_severity Open gap alerts by severity.\n"
                "# TYPE fieldtrail_alerts_open_by_severity gauge\n");
    json_object_foreach(ac.by_severity, k, v)
    {
        bprintf(&b, "fieldtrail_alerts_open_by_severity{severity=\"");
        label(&b, k);
        bprintf(&b, "\"} %lld\n", (long long)json_integer_value(v));
    }
    json_decref(ac.by_article);
    json_decref(ac.by_severity);
    /* The chunk data path (docs/protocol.md "Media links"): messages dropped,
     * of them forged or replayed under a current token (never hashed), and
     * connections closed for not proving a session. */
    json_t *pulling = hub_media_pulling_json(r->sh->hub->state);
    bprintf(&b,
            "# HELP fieldtrail_media_data_dropped_total Data-path messages dropped (no valid "
            "token or MAC).\n# TYPE fieldtrail_media_data_dropped_total counter\n"
            "fieldtrail_media_data_dropped_total %lld\n"
            "# HELP fieldtrail_media_data_forged_total Of them, forged or replayed under a "
            "current token (dropped before hashing).\n"
            "# TYPE fieldtrail_media_data_forged_total counter\n"
            "fieldtrail_media_data_forged_total %lld\n"
            "# HELP fieldtrail_media_data_conns_closed_total Data-path connections closed for "
            "not proving a session.\n# TYPE fieldtrail_media_data_conns_closed_total counter\n"
            "fieldtrail_media_data_conns_closed_total %lld\n",
            (long long)json_integer_value(json_object_get(pulling, "data_dropped")),
            (long long)json_integer_value(json_object_get(pulling, "data_forged")),
            (long long)json_integer_value(json_object_get(pulling, "data_conns_closed")));
    json_decref(pulling);
    web_stats_t ws;
    web_stats(r->web, &ws);
    bprintf(&b,
            "# HELP fieldtrail_dashboard_poll_seconds Duration of the dashboard's last refresh "
            "(catalog, sync rows, hub log).\n# TYPE fieldtrail_dashboard_poll_seconds gauge\n"
            "fieldtrail_dashboard_poll_seconds %.6f\n"
            "# HELP fieldtrail_dashboard_polls_total The dashboard's refreshes so far.\n"
            "# TYPE fieldtrail_dashboard_polls_total counter\nfieldtrail_dashboard_polls_total "
            "%llu\n",
            ws.poll_ms / 1000.0, ws.polls);
    bprintf(&b,
            "# HELP fieldtrail_http_requests_total HTTP requests answered.\n"
            "# TYPE fieldtrail_http_requests_total counter\nfieldtrail_http_requests_total %lu\n"
            "# HELP fieldtrail_http_refused_total Requests refused for login, role or CSRF.\n"
            "# TYPE fieldtrail_http_refused_total counter\nfieldtrail_http_refused_total %lu\n"
            "# HELP fieldtrail_audit_write_failures_total Audit entries that could not be "
            "written (the action was refused).\n"
            "# TYPE fieldtrail_audit_write_failures_total counter\n"
            "fieldtrail_audit_write_failures_total %lu\n",
            ws.requests, ws.refused, ws.audit_fail);
    uint64_t head = 0;
    if (devlog_head(r->sh->hub->hublog, &head, NULL) == FT_OK) {
        bprintf(&b,
                "# HELP fieldtrail_hublog_entries Entries in the hub's own signed log.\n"
                "# TYPE fieldtrail_hublog_entries gauge\nfieldtrail_hublog_entries %llu\n",
                (unsigned long long)head);
    }
    /* Forwarding to the province (docs/province.md), once a forwarder ran. */
    prov_status_t ps;
    store_txn_t *pt = NULL;
    uint64_t n_entries = 0, last_arrival = 0;
    if (r->sh->hub->hublog && prov_status_read(r->sh->hub->hublog, &ps) == FT_OK && ps.present &&
        store_begin(r->sh->hub->store, false, &pt) == FT_OK &&
        store_entry_count(pt, &n_entries, &last_arrival) == FT_OK) {
        bprintf(
            &b,
            "# HELP fieldtrail_province_behind_entries Committed entries the provincial "
            "PostgreSQL does not hold yet (last arrival number minus its checkpoint).\n"
            "# TYPE fieldtrail_province_behind_entries gauge\n"
            "fieldtrail_province_behind_entries %llu\n"
            "# HELP fieldtrail_province_checkpoint The province's checkpoint for this county "
            "(arrival number), as the forwarder last saw it.\n"
            "# TYPE fieldtrail_province_checkpoint gauge\n"
            "fieldtrail_province_checkpoint %llu\n"
            "# HELP fieldtrail_province_last_success_timestamp_seconds When a forwarding "
            "round last succeeded (0: never).\n"
            "# TYPE fieldtrail_province_last_success_timestamp_seconds gauge\n"
            "fieldtrail_province_last_success_timestamp_seconds %.3f\n"
            "# HELP fieldtrail_province_up 1 while the forwarder reaches PostgreSQL.\n"
            "# TYPE fieldtrail_province_up gauge\nfieldtrail_province_up %d\n"
            "# HELP fieldtrail_province_sent_entries_total Rows inserted into the province "
            "(entries and hub log).\n"
            "# TYPE fieldtrail_province_sent_entries_total counter\n"
            "fieldtrail_province_sent_entries_total %llu\n"
            "# HELP fieldtrail_province_duplicates_total Rows sent again that the province "
            "already held (absorbed).\n"
            "# TYPE fieldtrail_province_duplicates_total counter\n"
            "fieldtrail_province_duplicates_total %llu\n",
            (unsigned long long)(last_arrival > ps.checkpoint ? last_arrival - ps.checkpoint : 0),
            (unsigned long long)ps.checkpoint, (double)ps.last_success_ms / 1000.0,
            strcmp(ps.state, "forwarding") == 0, (unsigned long long)ps.sent_entries,
            (unsigned long long)ps.sent_duplicates);
    }
    store_abort(&pt);
    evalstats_t es;
    evalstats_get(&es);
    bprintf(&b,
            "# HELP fieldtrail_rule_evaluation_seconds Duration of the gap engine's evaluation "
            "passes (index catch-up, integrity, clocks, justifications, due and changed units).\n"
            "# TYPE fieldtrail_rule_evaluation_seconds summary\n"
            "fieldtrail_rule_evaluation_seconds_sum %.6f\n"
            "fieldtrail_rule_evaluation_seconds_count %llu\n"
            "# HELP fieldtrail_rule_evaluation_last_seconds Duration of the latest pass.\n"
            "# TYPE fieldtrail_rule_evaluation_last_seconds gauge\n"
            "fieldtrail_rule_evaluation_last_seconds %.6f\n"
            "# HELP fieldtrail_rule_evaluation_max_seconds Duration of the longest pass.\n"
            "# TYPE fieldtrail_rule_evaluation_max_seconds gauge\n"
            "fieldtrail_rule_evaluation_max_seconds %.6f\n"
            "# HELP fieldtrail_rule_evaluation_failures_total Passes that ended in an error.\n"
            "# TYPE fieldtrail_rule_evaluation_failures_total counter\n"
            "fieldtrail_rule_evaluation_failures_total %llu\n"
            "# HELP fieldtrail_rule_evaluation_entries_total Entries taken into the case index.\n"
            "# TYPE fieldtrail_rule_evaluation_entries_total counter\n"
            "fieldtrail_rule_evaluation_entries_total %llu\n"
            "# HELP fieldtrail_rule_evaluation_units_total Cases and items evaluated.\n"
            "# TYPE fieldtrail_rule_evaluation_units_total counter\n"
            "fieldtrail_rule_evaluation_units_total %llu\n"
            "# HELP fieldtrail_rule_evaluation_events_total Alert events made.\n"
            "# TYPE fieldtrail_rule_evaluation_events_total counter\n"
            "fieldtrail_rule_evaluation_events_total %llu\n",
            es.seconds_sum, (unsigned long long)es.passes, es.last_seconds, es.max_seconds,
            (unsigned long long)es.failures, (unsigned long long)es.entries,
            (unsigned long long)es.units, (unsigned long long)es.events);
    if (!b.p) {
        web_error(r, 500, "internal", "out of memory");
        return;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(b.n, b.p, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(b.p);
        web_error(r, 500, "internal", "out of memory");
        return;
    }
    MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r->no_cache = true;
    web_raw(r, 200, resp);
}

static const web_route_t routes[] = {
    {"GET", "/api/sync", ROLE_STAFF, get_sync, 0},
    {"GET", "/api/devices", ROLE_STAFF, get_devices, 0},
    {"POST", "/api/devices", ROLE_ADMIN, post_device, 0},
    {"POST", "/api/devices/*/revoke", ROLE_ADMIN, revoke_device, 0},
    {"GET", "/api/events", ROLE_STAFF, get_events, WEB_ROUTE_STREAM},
    {"GET", "/metrics", ROLE_STAFF, metrics, WEB_ROUTE_METRICS_TOKEN},
    {"HEAD", "/metrics", ROLE_STAFF, metrics, WEB_ROUTE_METRICS_TOKEN},
    {NULL, NULL, ROLE_NONE, NULL, 0},
};

const web_module_t api_sync_module = {
    .name = "sync",
    .routes = routes,
    .init = sync_init,
    .poll = sync_poll,
    .fini = sync_fini,
};
