/* api_audit.c: the audit log: the hub's own signed log, newest first.
 *
 *   GET /api/audit?kind=&user=&action=&target=&before=SEQ&limit=   (supervisor)
 *       entries of the hub log (audit events, justifications, alert state
 *       changes, enrolments, integrity events, deletions); every entry says
 *       who, what, target and when. kind=actions is what people did and what
 *       happened to the evidence (everything but the gap engine's alert
 *       bookkeeping, which is kind=alert: one row per alert event, also
 *       for an AlertEvents entry holding a batch of them, whose rows share
 *       its seq and say their index, "event"; a page never ends inside
 *       such an entry): the page opens on it
 *   GET /api/audit/verify   (supervisor) re-verifies the hub log's chain and
 *       signatures (Art. 24(2)) and says how far it is intact
 *
 * No state of its own: it reads the hub log (web_shared_t).
 */
#include "api_audit.h"
#include "bodyjson.h"
#include "hlc.h"
#include "logging.h"
#include "record.h"
#include "utf8.h"
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_CHUNK 512

typedef struct {
    const char *kind, *user, *action, *target;
    json_t *out;
    long long limit;
    uint64_t lowest; /* lowest seq visited */
} audit_scan_t;

/* Appends one row to s->out if it passes the filters. event >= 0: the
 * event's index in an AlertEvents entry (several rows share its seq). */
static int audit_row(audit_scan_t *s, uint64_t seq, const entry_view_t *v, const char *kind,
                     const char *user, const char *action, const char *target, const char *detail,
                     long event)
{
    bool kind_ok = !s->kind || strcmp(s->kind, kind) == 0 ||
                   (strcmp(s->kind, "actions") == 0 && strcmp(kind, "alert") != 0);
    bool ok = kind_ok && (!s->user || strcmp(s->user, user) == 0) &&
              (!s->action || strcmp(s->action, action) == 0) &&
              (!s->target || strstr(target, s->target) != NULL);
    if (!ok) {
        return FT_OK;
    }
    char hash[65];
    hex_encode(v->hash, 32, hash);
    /* the text as shown: escaped where it is not valid UTF-8 (utf8.h), so
     * that no entry of the audit log is left out for its text */
    json_t *o =
        json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:s}", "seq", (json_int_t)seq, "kind", kind,
                  "user", utf8_json_string(user), "action", utf8_json_string(action), "target",
                  utf8_json_string(target), "detail", utf8_json_string(detail), "entry_hash", hash);
    if (o && event >= 0) {
        json_object_set_new(o, "event", json_integer(event));
    }
    if (!o || json_object_set_new(o, "time", web_time((int64_t)hlc_ms(v->entry->hlc))) != 0 ||
        json_array_append_new(s->out, o) != 0) {
        log_error("audit: hub log entry %llu cannot be shown: out of memory",
                  (unsigned long long)seq);
        return FT_ENOMEM;
    }
    return FT_OK;
}

/* The gap engine's bookkeeping: which alert became what. One row per alert
 * event, of an AlertEvent entry or of an AlertEvents batch (kind "alert"
 * either way; a batch's rows carry "event", their index in it). */
static int audit_alerts(audit_scan_t *s, uint64_t seq, const entry_view_t *v)
{
    const Ft__Body *b = v->entry->body;
    size_t n = entry_alert_count(b);
    int err = FT_OK;
    for (size_t i = 0; err == FT_OK && i < n; i++) {
        const Ft__AlertEvent *ae = entry_alert_at(b, i);
        char act[64], summary[512];
        snprintf(act, sizeof act, "alert_%.40s", ae->state ? ae->state : "?");
        snprintf(summary, sizeof summary, "rule %s%s%s", ae->rule ? ae->rule : "?",
                 ae->case_id && *ae->case_id ? ", case " : "", ae->case_id ? ae->case_id : "");
        err = audit_row(s, seq, v, "alert", "gap engine", act, ae->alert_id ? ae->alert_id : "",
                        summary, b->kind_case == FT__BODY__KIND_ALERTS ? (long)i : -1);
    }
    return err;
}

static int audit_one(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    audit_scan_t *s = ctx;
    entry_view_t v;
    if (entry_open(raw, len, &v) != FT_OK) {
        return 0;
    }
    const Ft__Body *b = v.entry->body;
    const char *kind = b ? entry_body_kind(b) : "unknown";
    const char *user = "", *action = "", *target = "", *detail = "";
    char summary[512] = "", tgt[128] = "";
    if (entry_alert_count(b) > 0) {
        int err = audit_alerts(s, seq, &v);
        entry_view_free(&v);
        return err;
    }
    if (b && b->kind_case == FT__BODY__KIND_AUDIT) {
        user = b->audit->user ? b->audit->user : "";
        action = b->audit->action ? b->audit->action : "";
        target = b->audit->target ? b->audit->target : "";
        detail = b->audit->detail ? b->audit->detail : "";
    } else if (b) {
        body_summary(b, summary, sizeof summary);
        detail = summary;
        if (b->kind_case == FT__BODY__KIND_RECORD && b->record->n_officers > 0) {
            user = b->record->officers[0];
        }
        if (b->kind_case == FT__BODY__KIND_RECORD &&
            b->record->type == FT__RECORD_TYPE__JUSTIFICATION) {
            action = "justification";
            const Ft__FieldValue *fa = record_field(b->record, "alert");
            target =
                fa && fa->value_case == FT__FIELD_VALUE__VALUE_TEXT && fa->text ? fa->text : "";
        }
        if (b->kind_case == FT__BODY__KIND_ENROLMENT) {
            user = b->enrolment->by ? b->enrolment->by : "";
            action = b->enrolment->revoked ? "enrolment_revoked" : "enrolment";
            if (b->enrolment->device.len == DEVID_BYTES) {
                devid_format(b->enrolment->device.data, tgt);
                target = tgt;
            }
        }
        if (b->kind_case == FT__BODY__KIND_INTEGRITY) {
            user = "hub";
            action = "integrity";
            if (b->integrity->device.len == DEVID_BYTES) {
                devid_format(b->integrity->device.data, tgt);
                target = tgt;
            }
        }
        if (b->kind_case == FT__BODY__KIND_DELETION) {
            user = "retention";
            action = "deletion";
            if (b->deletion->file_id.len > 0 && b->deletion->file_id.len <= 32) {
                hex_encode(b->deletion->file_id.data, b->deletion->file_id.len, tgt);
                target = tgt;
            }
        }
    }
    int err = audit_row(s, seq, &v, kind, user, action, target, detail, -1);
    entry_view_free(&v);
    return err;
}

static void audit_list(web_req_t *r)
{
    audit_scan_t s = {.kind = web_query(r, "kind"),
                      .user = web_query(r, "user"),
                      .action = web_query(r, "action"),
                      .target = web_query(r, "target"),
                      .limit = web_query_int(r, "limit", 200, 1, 2000)};
    uint64_t head = 0;
    if (devlog_head(r->sh->hub->hublog, &head, NULL) != FT_OK) {
        web_error(r, 500, "hublog", "cannot read the hub log");
        return;
    }
    long long before = web_query_int(r, "before", (long long)head + 1, 1, INT64_MAX);
    uint64_t top = (uint64_t)before - 1 < head ? (uint64_t)before - 1 : head;
    json_t *acc = json_array();
    uint64_t next_before = 0;
    while (top > 0 && (long long)json_array_size(acc) < s.limit) {
        uint64_t bottom = top > AUDIT_CHUNK ? top - AUDIT_CHUNK + 1 : 1;
        s.out = json_array();
        if (devlog_iter(r->sh->hub->hublog, bottom, top, audit_one, &s) != FT_OK) {
            /* an entry that cannot be read or shown is an error, never a gap */
            json_decref(s.out);
            json_decref(acc);
            web_error(r, 500, "hublog", "the hub log cannot be read or shown");
            return;
        }
        for (size_t i = json_array_size(s.out); i-- > 0;) {
            json_t *row = json_array_get(s.out, i);
            if ((long long)json_array_size(acc) >= s.limit) {
                uint64_t last = (uint64_t)json_integer_value(
                    json_object_get(json_array_get(acc, json_array_size(acc) - 1), "seq"));
                /* A page ends on a whole entry: the other rows of a batch of
                 * alert events come with it (next_before names entries). */
                if ((uint64_t)json_integer_value(json_object_get(row, "seq")) != last) {
                    next_before = last;
                    break;
                }
            }
            json_array_append(acc, row);
        }
        json_decref(s.out);
        top = bottom - 1;
    }
    if (!next_before && top > 0 && json_array_size(acc) > 0) {
        next_before = (uint64_t)json_integer_value(
            json_object_get(json_array_get(acc, json_array_size(acc) - 1), "seq"));
    }
    json_t *o = json_pack("{s:o, s:I}", "entries", acc, "head", (json_int_t)head);
    json_object_set_new(o, "next_before",
                        next_before ? json_integer((json_int_t)next_before) : json_null());
    web_json(r, 200, o);
}

static void audit_verify(web_req_t *r)
{
    devlog_report_t rep;
    int err = devlog_verify(r->sh->hub->hublog, 1, &rep);
    if (err != FT_OK) {
        web_error(r, 500, "hublog", ft_strerror(err));
        return;
    }
    char id[DEVID_TEXT_SIZE];
    devid_format(devlog_device(r->sh->hub->hublog), id);
    json_t *o =
        json_pack("{s:b, s:I, s:I, s:s}", "intact", rep.err == FT_OK && rep.bad_seq == 0, "checked",
                  (json_int_t)rep.checked, "head", (json_int_t)rep.head_seq, "signer", id);
    if (rep.bad_seq) {
        json_object_set_new(o, "bad_seq", json_integer((json_int_t)rep.bad_seq));
        json_object_set_new(o, "detail", json_string(rep.detail));
    }
    web_json(r, 200, o);
}

static const web_route_t routes[] = {
    {"GET", "/api/audit", ROLE_SUPERVISOR, audit_list, 0},
    {"GET", "/api/audit/verify", ROLE_SUPERVISOR, audit_verify, 0},
    {NULL, NULL, ROLE_NONE, NULL, 0},
};

const web_module_t api_audit_module = {
    .name = "audit",
    .routes = routes,
};
