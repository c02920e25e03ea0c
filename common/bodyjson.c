/* bodyjson.c: JSON and one-line views of entry bodies. */
#include "bodyjson.h"
#include "keys.h"
#include "record.h"
#include "utf8.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *device_event_name(Ft__DeviceEventKind kind)
{
    switch (kind) {
    case FT__DEVICE_EVENT_KIND__BATTERY_LOW:
        return "battery_low";
    case FT__DEVICE_EVENT_KIND__STORAGE_FULL:
        return "storage_full";
    case FT__DEVICE_EVENT_KIND__STORAGE_OK:
        return "storage_ok";
    case FT__DEVICE_EVENT_KIND__RECORDING_STOPPED:
        return "recording_stopped";
    case FT__DEVICE_EVENT_KIND__CLOCK_CHANGED:
        return "clock_changed";
    case FT__DEVICE_EVENT_KIND__INGEST_FAILED:
        return "ingest_failed";
    case FT__DEVICE_EVENT_KIND__DEVICE_STARTED:
        return "device_started";
    case FT__DEVICE_EVENT_KIND__MEDIA_PRUNED:
        return "media_pruned";
    case FT__DEVICE_EVENT_KIND__INGEST_REFUSED:
        return "ingest_refused";
    default:
        return "unknown";
    }
}

const char *media_kind_name(Ft__MediaKind kind)
{
    switch (kind) {
    case FT__MEDIA_KIND__VIDEO:
        return "video";
    case FT__MEDIA_KIND__AUDIO:
        return "audio";
    case FT__MEDIA_KIND__PHOTO:
        return "photo";
    default:
        return "unknown";
    }
}

/* Text is set escaped when it is not valid UTF-8 (utf8.h), never left out. */
static void set_str(json_t *o, const char *k, const char *v)
{
    if (v) {
        json_object_set_new(o, k, utf8_json_string(v));
    }
}

static void set_hex(json_t *o, const char *k, ProtobufCBinaryData b)
{
    char *hex = malloc(2 * b.len + 1);
    if (!hex) {
        return;
    }
    hex_encode(b.data, b.len, hex);
    json_object_set_new(o, k, json_string(hex));
    free(hex);
}

static void set_time(json_t *o, const char *k, const Ft__Time *t)
{
    if (t) {
        char buf[48];
        rfc3339_format(t->unix_ms, t->utc_offset_min, buf, sizeof buf);
        json_object_set_new(o, k, json_string(buf));
    }
}

static json_t *media_json(const Ft__MediaManifest *m)
{
    json_t *o = json_object();
    set_hex(o, "file_id", m->file_id);
    json_object_set_new(o, "size", json_integer((json_int_t)m->size));
    json_object_set_new(o, "chunk_size", json_integer(m->chunk_size));
    json_object_set_new(o, "chunks", json_integer((json_int_t)m->n_chunk_hashes));
    set_hex(o, "merkle_root", m->merkle_root);
    set_hex(o, "content_hash", m->content_hash);
    json_object_set_new(o, "kind", json_string(media_kind_name(m->kind)));
    set_str(o, "recorder", m->recorder);
    set_str(o, "officer", m->officer);
    set_str(o, "unit", m->unit);
    set_time(o, "start", m->start);
    set_time(o, "end", m->end);
    set_str(o, "case", m->case_id);
    set_str(o, "cause", m->cause);
    set_str(o, "party", m->party);
    set_str(o, "file_name", m->file_name);
    if (m->has_supersedes) {
        set_hex(o, "supersedes", m->supersedes);
    }
    return o;
}

/* One alert event: {alert, rule, state, case}. */
static json_t *alert_event_json(const Ft__AlertEvent *ae)
{
    json_t *o = json_object();
    set_str(o, "alert", ae->alert_id);
    set_str(o, "rule", ae->rule);
    set_str(o, "state", ae->state);
    set_str(o, "case", ae->case_id);
    return o;
}

json_t *body_to_json(const Ft__Body *b)
{
    json_t *o = NULL;
    switch (b->kind_case) {
    case FT__BODY__KIND_RECORD:
        return record_to_json(b->record);
    case FT__BODY__KIND_MEDIA:
        o = media_json(b->media);
        break;
    case FT__BODY__KIND_EVENT:
        o = json_object();
        json_object_set_new(o, "event", json_string(device_event_name(b->event->kind)));
        set_str(o, "recorder", b->event->recorder);
        set_str(o, "detail", b->event->detail);
        set_time(o, "time", b->event->time);
        break;
    case FT__BODY__KIND_ALERT:
        o = alert_event_json(b->alert);
        break;
    case FT__BODY__KIND_ALERTS: {
        /* one evaluation batch: {"events": [{alert, rule, state, case}, ...]} */
        json_t *evs = json_array();
        o = json_object();
        for (size_t i = 0; o && evs && i < b->alerts->n_events; i++) {
            json_array_append_new(evs, alert_event_json(b->alerts->events[i]));
        }
        if (o && evs) {
            json_object_set_new(o, "events", evs);
            evs = NULL;
        }
        json_decref(evs);
        break;
    }
    case FT__BODY__KIND_AUDIT:
        o = json_object();
        set_str(o, "user", b->audit->user);
        set_str(o, "action", b->audit->action);
        set_str(o, "target", b->audit->target);
        set_str(o, "detail", b->audit->detail);
        break;
    case FT__BODY__KIND_ENROLMENT: {
        o = json_object();
        char id[DEVID_TEXT_SIZE] = "?";
        if (b->enrolment->device.len == DEVID_BYTES) {
            devid_format(b->enrolment->device.data, id);
        }
        set_str(o, "device", id);
        json_object_set_new(o, "revoked", json_boolean(b->enrolment->revoked));
        set_str(o, "unit", b->enrolment->unit);
        set_str(o, "vehicle", b->enrolment->vehicle);
        set_str(o, "by", b->enrolment->by);
        break;
    }
    case FT__BODY__KIND_INTEGRITY: {
        o = json_object();
        char id[DEVID_TEXT_SIZE] = "?";
        if (b->integrity->device.len == DEVID_BYTES) {
            devid_format(b->integrity->device.data, id);
        }
        set_str(o, "device", id);
        set_str(o, "reason", b->integrity->reason);
        if (b->integrity->has_seq) {
            json_object_set_new(o, "seq", json_integer((json_int_t)b->integrity->seq));
        }
        set_str(o, "detail", b->integrity->detail);
        break;
    }
    case FT__BODY__KIND_CLOCK: {
        o = json_object();
        char id[DEVID_TEXT_SIZE] = "?";
        if (b->clock->device.len == DEVID_BYTES) {
            devid_format(b->clock->device.data, id);
        }
        set_str(o, "device", id);
        json_object_set_new(o, "offset_ms", json_integer((json_int_t)b->clock->offset_ms));
        json_object_set_new(o, "from_arrival", json_integer((json_int_t)b->clock->from_arrival));
        break;
    }
    case FT__BODY__KIND_DELETION:
        o = json_object();
        set_hex(o, "file_id", b->deletion->file_id);
        set_str(o, "retention_class", b->deletion->retention_class);
        set_str(o, "reason", b->deletion->reason);
        break;
    default:
        o = json_object();
        break;
    }
    return o;
}

void body_summary(const Ft__Body *b, char *buf, size_t buflen)
{
    switch (b->kind_case) {
    case FT__BODY__KIND_RECORD: {
        const Ft__Record *r = b->record;
        snprintf(buf, buflen, "%s%s%s%s%s",
                 record_type_name(r->type) ? record_type_name(r->type) : "?",
                 r->case_id ? " case=" : "", r->case_id ? r->case_id : "", r->id ? " id=" : "",
                 r->id ? r->id : "");
        break;
    }
    case FT__BODY__KIND_MEDIA:
        snprintf(buf, buflen, "media %s %llu bytes recorder=%s officer=%s",
                 media_kind_name(b->media->kind), (unsigned long long)b->media->size,
                 b->media->recorder ? b->media->recorder : "-",
                 b->media->officer ? b->media->officer : "-");
        break;
    case FT__BODY__KIND_EVENT:
        snprintf(buf, buflen, "event %s%s%s", device_event_name(b->event->kind),
                 b->event->detail ? ": " : "", b->event->detail ? b->event->detail : "");
        break;
    case FT__BODY__KIND_ALERTS:
        snprintf(buf, buflen, "alerts: %zu event%s", b->alerts->n_events,
                 b->alerts->n_events == 1 ? "" : "s");
        break;
    default:
        snprintf(buf, buflen, "%s", entry_body_kind(b));
        break;
    }
    /* A summary cut short ends on a whole character; text that is not
     * valid UTF-8 is shown escaped (utf8.h). */
    if (buflen > 0) {
        utf8_trim(buf);
        if (!utf8_valid_str(buf)) {
            char *raw = strdup(buf);
            if (raw) {
                utf8_escape_to(buf, buflen, raw);
                free(raw);
            } else {
                buf[0] = '\0';
            }
        }
    }
}
