/* api_sync.c: sync state, devices (enrol, revoke), live events, /metrics,
 * and the watcher's poll that feeds them.
 *
 *   GET  /api/sync                  every device's sync state, problems first
 *   GET  /api/devices               enrolments (keys, unit, vehicle, state)
 *   POST /api/devices               (admin) enrol {sign_public, transport_public,
 *                                   unit, vehicle} or {device_pub, unit, vehicle}
 *   POST /api/devices/ID/revoke     (admin) revoke
 *   GET  /api/events                server-sent events: sync, alert, records, hublog
 *   GET  /metrics                   Prometheus text
 *
 * The poll (every WEBEVENTS_POLL_MS on the watcher thread): catalog_update;
 * new hub-log entries fed to the alert view ("alert" events) and announced
 * ("hublog"); every SYNC_EVERY polls, transfer rates from the bytes each
 * device's entries and media add, and the sync rows, published as a "sync"
 * event when one changes.
 */
#include "bodyjson.h"
#include "evalstats.h"
#include "hlc.h"
#include "mediastatus.h"
#include "httpparse.h"
#include "logging.h"
#include "utf8.h"
#include "web.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ONLINE_MS 30000      /* seen this recently = online (pings land every 10 s) */
#define SYNC_EVERY 4         /* sync rows and rates every 4th poll (1 s); alerts every poll */
#define RATE_WINDOW 10       /* samples in the rate window (10 s at one a second) */
#define CLOCK_FLAG_MS 120000 /* RULES.md #16 */
#define BATTERY_MIN_PCT 30.0 /* RULES.md #13 */
#define FREE_MIN_MB 2048.0   /* RULES.md #13 */
#define ERROR_RECENT_MS (24 * 3600 * 1000LL)

/* Bytes held per device over the last RATE_WINDOW polls. */
typedef struct {
    char device[DEVID_TEXT_SIZE];
    int64_t t[RATE_WINDOW];
    uint64_t bytes[RATE_WINDOW];
    size_t n, head;
    double bps; /* bytes per second over the window */
} rate_t;

struct web_poll {
    pthread_mutex_t lock;
    rate_t *rates;
    size_t n_rates, cap_rates;
    json_t *rows;          /* device -> last published row text (as JSON string) */
    uint64_t hublog_seq;   /* last hub-log entry fed */
    uint64_t last_arrival; /* for "records" events */
    double eval_ms;        /* last poll's duration */
    uint64_t polls;
};

static struct web_poll *poll_state(web_t *w)
{
    if (!w->poll) {
        struct web_poll *p = calloc(1, sizeof *p);
        if (!p) {
            return NULL;
        }
        pthread_mutex_init(&p->lock, NULL);
        p->rows = json_object();
        w->poll = p;
    }
    return w->poll;
}

void api_poll_free(web_t *w)
{
    if (!w->poll) {
        return;
    }
    pthread_mutex_destroy(&w->poll->lock);
    json_decref(w->poll->rows);
    free(w->poll->rates);
    free(w->poll);
    w->poll = NULL;
}

static double rate_of(web_t *w, const char *device)
{
    double bps = 0;
    if (!w->poll) {
        return 0;
    }
    pthread_mutex_lock(&w->poll->lock);
    for (size_t i = 0; i < w->poll->n_rates; i++) {
        if (strcmp(w->poll->rates[i].device, device) == 0) {
            bps = w->poll->rates[i].bps;
        }
    }
    pthread_mutex_unlock(&w->poll->lock);
    return bps;
}

/* ---- one device's sync row ---- */

typedef struct {
    web_t *w;
    store_txn_t *t;
    json_t *arr;
    int64_t now;
    bool keys; /* include public keys (devices listing) */
} rows_t;

static int sum_head(void *ctx, uint64_t epoch, const store_head_t *h)
{
    (void)epoch;
    *(uint64_t *)ctx += h->seq;
    return 0;
}

/* Recorder health rows of a device and the worst problem among them. */
static json_t *recorders_json(const cat_device_t *cd, json_t *problems)
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
        bool low_b =
            (b && json_number_value(b) < BATTERY_MIN_PCT) || (ev && strcmp(ev, "battery_low") == 0);
        bool low_f =
            (f && json_number_value(f) < FREE_MIN_MB) || (ev && strcmp(ev, "storage_full") == 0);
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
    catalog_read(rw->w->catalog);
    const cat_device_t *cd = catalog_device(rw->w->catalog, id);
    uint64_t media_pending =
        cd && cd->media_bytes > cd->media_held_bytes ? cd->media_bytes - cd->media_held_bytes : 0;
    json_object_set_new(o, "bytes",
                        json_integer(cd ? (json_int_t)(cd->bytes + cd->media_held_bytes) : 0));
    json_object_set_new(o, "log_bytes", json_integer(cd ? (json_int_t)cd->bytes : 0));
    json_object_set_new(o, "media_bytes", json_integer(cd ? (json_int_t)cd->media_bytes : 0));
    json_object_set_new(o, "media_bytes_held",
                        json_integer(cd ? (json_int_t)cd->media_held_bytes : 0));
    json_t *recs = recorders_json(cd, problems);
    catalog_done(rw->w->catalog);
    /* Bytes the hub still lacks: media it knows of from manifests and does
     * not hold yet (a log backlog's size is unknown until it arrives). */
    json_object_set_new(o, "backlog_bytes", json_integer((json_int_t)media_pending));
    if (media_pending > 0 && !online && !d->revoked) {
        json_array_append_new(problems, json_string("media_offline"));
    }
    json_object_set_new(o, "rate_bps", json_real(round(rate_of(rw->w, id))));
    if (st.has_clock_offset) {
        json_object_set_new(o, "clock_offset_ms", json_integer(st.clock_offset_ms));
        if (llabs(st.clock_offset_ms) > CLOCK_FLAG_MS) {
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
static json_t *sync_rows(web_t *w, bool keys)
{
    store_txn_t *t = NULL;
    rows_t rw = {.w = w, .arr = json_array(), .now = (int64_t)hlc_wall_ms(), .keys = keys};
    int err = store_begin(w->hub->store, false, &t);
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
    json_t *rows = sync_rows(r->web, false);
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
                  "event_seq", (json_int_t)webevents_last(r->web->events));
    json_object_set_new(o, "now", web_time((int64_t)hlc_wall_ms()));
    /* The media puller's state (pulling, or paused on a full disk and why),
     * as `fieldtrail-hub status` shows it; null when it has not started. */
    json_t *pulling = hub_media_pulling_json(r->web->hub->state);
    json_object_set_new(o, "media_pulling", pulling ? pulling : json_null());
    web_json(r, 200, o);
}

static void get_devices(web_req_t *r)
{
    json_t *rows = sync_rows(r->web, true);
    if (!rows) {
        web_error(r, 500, "store", "cannot read the store");
        return;
    }
    char hub_id[DEVID_TEXT_SIZE], box[65];
    uint8_t id[DEVID_BYTES];
    devid_from_pk(r->web->hub->keys->sign_pk, id);
    devid_format(id, hub_id);
    hex_encode(r->web->hub->keys->box_pk, 32, box);
    web_json(r, 200,
             json_pack("{s:o, s:{s:s, s:s}}", "devices", rows, "hub", "hub_id", hub_id,
                       "transport_public", box));
}

static int log_enrolment(web_req_t *r, const store_device_t *d)
{
    Ft__Enrolment e = FT__ENROLMENT__INIT;
    e.device.data = (uint8_t *)d->device;
    e.device.len = DEVID_BYTES;
    e.revoked = d->revoked;
    e.has_sign_pk = 1;
    e.sign_pk.data = (uint8_t *)d->sign_pk;
    e.sign_pk.len = 32;
    e.has_transport_pk = 1;
    e.transport_pk.data = (uint8_t *)d->transport_pk;
    e.transport_pk.len = 32;
    e.unit = (char *)d->unit;
    e.vehicle = (char *)d->vehicle;
    char by[USER_NAME_MAX + 16];
    snprintf(by, sizeof by, "web:%s", r->session.user);
    e.by = by;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_ENROLMENT;
    body.enrolment = &e;
    return devlog_append1(r->web->hub->hublog, &body, NULL);
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
    store_device_t d = {0};
    if (!unit || !*unit || !vehicle || !*vehicle || strlen(unit) >= STORE_NAME_MAX ||
        strlen(vehicle) >= STORE_NAME_MAX || hex_decode(sign_hex, d.sign_pk, 32) != FT_OK ||
        hex_decode(box_hex, d.transport_pk, 32) != FT_OK) {
        web_error(r, 400, "bad_request",
                  "send unit, vehicle and either device_pub (the text of device.pub) or "
                  "sign_public and transport_public (64 hex characters each)");
        return;
    }
    devid_from_pk(d.sign_pk, d.device);
    char id[DEVID_TEXT_SIZE];
    devid_format(d.device, id);
    if (id_text[0]) {
        uint8_t want[DEVID_BYTES];
        if (devid_parse(id_text, want) != FT_OK || memcmp(want, d.device, DEVID_BYTES) != 0) {
            web_error(r, 400, "bad_request",
                      "device_id in device.pub does not match its sign_public key");
            return;
        }
    }
    utf8_copy(d.unit, sizeof d.unit, unit);
    utf8_copy(d.vehicle, sizeof d.vehicle, vehicle);
    store_txn_t *t = NULL;
    store_device_t old;
    const char *result = "enrolled";
    int err = store_begin(r->web->hub->store, true, &t);
    if (err == FT_OK) {
        err = store_device_get(t, d.device, &old);
    }
    if (err == FT_OK) {
        if (old.revoked) {
            store_abort(&t);
            web_error(r, 409, "revoked", "this device was revoked and cannot be enrolled again");
            return;
        }
        if (memcmp(old.transport_pk, d.transport_pk, 32) != 0) {
            store_abort(&t);
            web_error(r, 409, "conflict", "this device is enrolled with a different transport key");
            return;
        }
        d.enrolled_ms = old.enrolled_ms;
        result = "updated";
    } else if (err == FT_ENOTFOUND) {
        d.enrolled_ms = (int64_t)hlc_wall_ms();
        err = FT_OK;
    }
    uint8_t owner[DEVID_BYTES];
    if (err == FT_OK) {
        err = store_device_by_transport(t, d.transport_pk, owner);
        if (err == FT_OK && memcmp(owner, d.device, DEVID_BYTES) != 0) {
            store_abort(&t);
            web_error(r, 409, "conflict", "the transport key belongs to another device");
            return;
        }
        if (err == FT_ENOTFOUND) {
            err = FT_OK;
        }
    }
    if (err == FT_OK) {
        err = web_audit(r, "device_enrol", id, unit);
    }
    if (err == FT_OK) {
        err = log_enrolment(r, &d);
    }
    if (err == FT_OK) {
        err = store_device_put(t, &d);
    }
    if (err == FT_OK) {
        err = store_commit(&t);
    }
    store_abort(&t);
    if (err != FT_OK) {
        web_error(r, 500, "store", ft_strerror(err));
        return;
    }
    web_json(r, 201,
             json_pack("{s:s, s:o, s:o, s:s}", "device_id", id, "unit", utf8_json_string(d.unit),
                       "vehicle", utf8_json_string(d.vehicle), "result", result));
}

static void revoke_device(web_req_t *r)
{
    uint8_t dev[DEVID_BYTES];
    if (devid_parse(r->args[0], dev) != FT_OK) {
        web_error(r, 400, "bad_request", "not a device ID");
        return;
    }
    char id[DEVID_TEXT_SIZE];
    devid_format(dev, id);
    store_txn_t *t = NULL;
    store_device_t d;
    int err = store_begin(r->web->hub->store, true, &t);
    if (err == FT_OK) {
        err = store_device_get(t, dev, &d);
    }
    if (err == FT_ENOTFOUND) {
        store_abort(&t);
        web_error(r, 404, "not_found", "no such device enrolled");
        return;
    }
    const char *result = "revoked";
    if (err == FT_OK && d.revoked) {
        result = "already revoked";
    } else {
        if (err == FT_OK) {
            d.revoked = true;
            d.revoked_ms = (int64_t)hlc_wall_ms();
            err = web_audit(r, "device_revoke", id, web_body_str(r, "reason"));
        }
        if (err == FT_OK) {
            err = log_enrolment(r, &d);
        }
        if (err == FT_OK) {
            err = store_device_put(t, &d);
        }
        if (err == FT_OK) {
            err = store_commit(&t);
        }
    }
    store_abort(&t);
    if (err != FT_OK) {
        web_error(r, 500, "store", ft_strerror(err));
        return;
    }
    web_json(r, 200, json_pack("{s:s, s:s}", "device_id", id, "result", result));
}

/* ---- server-sent events ---- */

typedef struct {
    web_t *w;
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
    long n = webevents_wait(s->w->events, &s->cursor, buf, max, 15000);
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
    s->w = r->web;
    long long since = web_query_int(r, "since", -1, 0, INT64_MAX);
    const char *last_id = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Last-Event-ID");
    s->cursor = since >= 0 ? (uint64_t)since
                : last_id  ? strtoull(last_id, NULL, 10)
                           : webevents_last(r->web->events);
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

static void update_rates(web_t *w, struct web_poll *p, int64_t now)
{
    catalog_read(w->catalog);
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n_rates; i++) {
        rate_t *rt = &p->rates[i];
        const cat_device_t *cd = catalog_device(w->catalog, rt->device);
        size_t slot = (rt->head + rt->n) % RATE_WINDOW;
        if (rt->n == RATE_WINDOW) {
            rt->head = (rt->head + 1) % RATE_WINDOW;
        } else {
            rt->n++;
        }
        rt->t[slot] = now;
        rt->bytes[slot] = cd ? cd->bytes + cd->media_held_bytes : 0;
        size_t first = rt->head;
        int64_t dt = now - rt->t[first];
        rt->bps = dt > 0 ? (double)(rt->bytes[slot] - rt->bytes[first]) * 1000.0 / (double)dt : 0;
    }
    pthread_mutex_unlock(&p->lock);
    catalog_done(w->catalog);
}

/* Makes sure every device has a rate slot. */
static int rate_slot(void *ctx, const store_device_t *d)
{
    struct web_poll *p = ctx;
    char id[DEVID_TEXT_SIZE];
    devid_format(d->device, id);
    for (size_t i = 0; i < p->n_rates; i++) {
        if (strcmp(p->rates[i].device, id) == 0) {
            return 0;
        }
    }
    if (p->n_rates == p->cap_rates) {
        size_t cap = p->cap_rates ? p->cap_rates * 2 : 16;
        rate_t *nv = realloc(p->rates, cap * sizeof *nv);
        if (!nv) {
            return FT_ENOMEM;
        }
        p->rates = nv;
        p->cap_rates = cap;
    }
    rate_t *rt = &p->rates[p->n_rates++];
    memset(rt, 0, sizeof *rt);
    snprintf(rt->device, sizeof rt->device, "%s", id);
    return 0;
}

/* Publishes the rows that changed since the last poll. */
static void publish_sync(web_t *w, struct web_poll *p)
{
    json_t *rows = sync_rows(w, false);
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
        webevents_publish(w->events, "sync", json_pack("{s:o}", "devices", changed));
    } else {
        json_decref(changed);
    }
    json_decref(rows);
}

static int feed_hublog(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    web_t *w = ctx;
    entry_view_t v;
    w->poll->hublog_seq = seq;
    if (entry_open(raw, len, &v) != FT_OK) {
        return 0;
    }
    json_t *changed = NULL;
    if (api_alerts_feed(w, seq, v.entry, &changed) && changed) {
        webevents_publish(w->events, "alert", changed);
    }
    const char *kind = v.entry->body ? entry_body_kind(v.entry->body) : "unknown";
    webevents_publish(w->events, "hublog",
                      json_pack("{s:I, s:s}", "seq", (json_int_t)seq, "kind", kind));
    entry_view_free(&v);
    return 0;
}

static bool blob_held(void *ctx, const uint8_t blob_id[32])
{
    return blobstore_has(ctx, blob_id);
}

void api_poll(void *ctx, webevents_t *ev)
{
    (void)ev;
    web_t *w = ctx;
    struct web_poll *p = poll_state(w);
    if (!p) {
        return;
    }
    int64_t t0 = (int64_t)hlc_wall_ms();
    size_t added = 0;
    if (catalog_update(w->catalog, w->hub->store, &added) != FT_OK) {
        log_warn("dashboard: cannot read new entries from the store");
    }
    if (w->blobs) {
        catalog_update_held(w->catalog, blob_held, w->blobs);
    }
    store_txn_t *t = NULL;
    uint64_t count = 0, last = 0;
    if (store_begin(w->hub->store, false, &t) == FT_OK) {
        if (store_device_iter(t, rate_slot, p) != FT_OK ||
            store_entry_count(t, &count, &last) != FT_OK) {
            log_warn("dashboard: cannot read the store");
        }
    }
    store_abort(&t);
    bool sync_turn = p->polls % SYNC_EVERY == 0;
    if (sync_turn) {
        update_rates(w, p, t0);
    }
    if (last != p->last_arrival) {
        p->last_arrival = last;
        webevents_publish(
            w->events, "records",
            json_pack("{s:I, s:I}", "entries", (json_int_t)count, "added", (json_int_t)added));
    }
    if (sync_turn) {
        publish_sync(w, p);
    }
    uint64_t head = 0;
    if (devlog_head(w->hub->hublog, &head, NULL) == FT_OK && head > p->hublog_seq) {
        (void)devlog_iter(w->hub->hublog, p->hublog_seq + 1, head, feed_hublog, w);
    }
    /* Expired sessions go every ~10 minutes (they are refused anyway). */
    if (p->polls % (600000 / WEBEVENTS_POLL_MS) == 0) {
        size_t swept = 0;
        if (users_session_sweep(w->users, t0, &swept) != FT_OK) {
            log_warn("dashboard: cannot sweep expired sessions");
        }
    }
    pthread_mutex_lock(&p->lock);
    p->eval_ms = (double)((int64_t)hlc_wall_ms() - t0);
    p->polls++;
    pthread_mutex_unlock(&p->lock);
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

void api_metrics(web_req_t *r)
{
    web_t *w = r->web;
    json_t *rows = sync_rows(w, false);
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
            "# HELP fieldtrail_backlog_entries_total Sum over devices.\n"
            "# TYPE fieldtrail_backlog_entries_total gauge\n"
            "fieldtrail_backlog_entries_total %lld\n",
            backlog);
    bprintf(&b,
            "# HELP fieldtrail_synced_bytes_total Bytes the hub holds from edges (signed log "
            "entries and media).\n# TYPE fieldtrail_synced_bytes_total counter\n"
            "fieldtrail_synced_bytes_total %lld\n",
            bytes);
    bprintf(&b,
            "# HELP fieldtrail_backlog_bytes_total Media bytes announced by manifests that the "
            "hub does not hold yet.\n# TYPE fieldtrail_backlog_bytes_total gauge\n"
            "fieldtrail_backlog_bytes_total %lld\n",
            backlog_bytes);
    bprintf(&b, "# HELP fieldtrail_device_synced_bytes Bytes of signed entries held per "
                "device.\n# TYPE fieldtrail_device_synced_bytes counter\n");
    json_array_foreach(rows, i, row)
    {
        bprintf(&b, "fieldtrail_device_synced_bytes{device=\"");
        label(&b, json_string_value(json_object_get(row, "device_id")));
        bprintf(&b, "\"} %lld\n", (long long)json_integer_value(json_object_get(row, "bytes")));
    }
    json_decref(rows);
    alert_counts_t ac = {.by_article = json_object(), .by_severity = json_object()};
    api_alerts_each(w, count_alert, &ac);
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
    double eval = 0;
    unsigned long long polls = 0;
    if (w->poll) {
        pthread_mutex_lock(&w->poll->lock);
        eval = w->poll->eval_ms;
        polls = w->poll->polls;
        pthread_mutex_unlock(&w->poll->lock);
    }
    bprintf(&b,
            "# HELP fieldtrail_dashboard_poll_seconds Duration of the dashboard's last refresh "
            "(catalog, sync rows, hub log).\n# TYPE fieldtrail_dashboard_poll_seconds gauge\n"
            "fieldtrail_dashboard_poll_seconds %.6f\n"
            "# TYPE fieldtrail_dashboard_polls_total counter\nfieldtrail_dashboard_polls_total "
            "%llu\n",
            eval / 1000.0, polls);
    bprintf(&b,
            "# HELP fieldtrail_http_requests_total HTTP requests answered.\n"
            "# TYPE fieldtrail_http_requests_total counter\nfieldtrail_http_requests_total %lu\n"
            "# HELP fieldtrail_http_refused_total Requests refused for login, role or CSRF.\n"
            "# TYPE fieldtrail_http_refused_total counter\nfieldtrail_http_refused_total %lu\n"
            "# HELP fieldtrail_audit_write_failures_total Audit entries that could not be "
            "written (the action was refused).\n"
            "# TYPE fieldtrail_audit_write_failures_total counter\n"
            "fieldtrail_audit_write_failures_total %lu\n",
            atomic_load(&w->requests), atomic_load(&w->refused), atomic_load(&w->audit_fail));
    uint64_t head = 0;
    if (devlog_head(w->hub->hublog, &head, NULL) == FT_OK) {
        bprintf(&b,
                "# HELP fieldtrail_hublog_entries Entries in the hub's own signed log.\n"
                "# TYPE fieldtrail_hublog_entries gauge\nfieldtrail_hublog_entries %llu\n",
                (unsigned long long)head);
    }
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

const web_route_t api_sync_routes[] = {
    {"GET", "/api/sync", ROLE_STAFF, get_sync},
    {"GET", "/api/devices", ROLE_STAFF, get_devices},
    {"POST", "/api/devices", ROLE_ADMIN, post_device},
    {"POST", "/api/devices/*/revoke", ROLE_ADMIN, revoke_device},
    {"GET", "/api/events", ROLE_STAFF, get_events},
    {NULL, NULL, ROLE_NONE, NULL},
};
