/* retention.c: retention classes, holds and the retention job (retention.h). */
#include "retention.h"
#include "blobstore.h"
#include "engine.h"
#include "fsutil.h"
#include "hlc.h"
#include "index.h"
#include "logging.h"
#include "mediadb.h"
#include "record.h"
#include "utf8.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const retention_hold_reasons[] = {"objection", "obstruction", "mass_incident", "other",
                                              NULL};

bool retention_reason_ok(const char *reason)
{
    for (size_t i = 0; reason && retention_hold_reasons[i]; i++) {
        if (strcmp(reason, retention_hold_reasons[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Never cut inside a character (utf8.h). */
static void copy(char *dst, size_t n, const char *src)
{
    utf8_copy(dst, n, src);
}

/* ---- policy ------------------------------------------------------------------------ */

static int get_u64(const config_t *cfg, const char *key, uint64_t def, uint64_t *out, char *err,
                   size_t errlen)
{
    const char *v = cfg ? config_get(cfg, key) : NULL;
    *out = def;
    if (v && config_parse_u64(v, out) != FT_OK) {
        snprintf(err, errlen, "%s must be a whole number, not \"%s\"", key, v);
        return FT_EINVAL;
    }
    return FT_OK;
}

int retention_policy_load(const config_t *cfg, retention_policy_t *p, char *err, size_t errlen)
{
    uint64_t daily, years, lead;
    if (get_u64(cfg, "retention.daily_days", RETENTION_DEFAULT_DAILY_DAYS, &daily, err, errlen) ||
        get_u64(cfg, "retention.case_years", RETENTION_DEFAULT_CASE_YEARS, &years, err, errlen) ||
        get_u64(cfg, "retention.max_clock_lead_days", RETENTION_DEFAULT_MAX_LEAD_DAYS, &lead, err,
                errlen)) {
        return FT_EINVAL;
    }
    if (daily < RETENTION_MIN_DAILY_DAYS || daily > 365 * 1000) {
        snprintf(err, errlen,
                 "retention.daily_days is %llu: Art. 22 keeps daily enforcement media at least "
                 "two years (%d days)",
                 (unsigned long long)daily, RETENTION_MIN_DAILY_DAYS);
        return FT_EINVAL;
    }
    if (years < 1 || years > 1000) {
        snprintf(err, errlen, "retention.case_years must be from 1 to 1000, not %llu",
                 (unsigned long long)years);
        return FT_EINVAL;
    }
    if (lead > 365 * 1000) {
        snprintf(err, errlen, "retention.max_clock_lead_days is too large");
        return FT_EINVAL;
    }
    double frac = RETENTION_DEFAULT_MAX_FRACTION;
    const char *fv = cfg ? config_get(cfg, "retention.max_fraction") : NULL;
    if (fv) {
        char *end = NULL;
        errno = 0;
        frac = strtod(fv, &end);
        if (errno || end == fv || *end || !(frac > 0) || frac > 1) {
            snprintf(err, errlen,
                     "retention.max_fraction must be a number above 0 and at most 1, not \"%s\"",
                     fv);
            return FT_EINVAL;
        }
    }
    p->daily_ms = (int64_t)daily * RETENTION_DAY_MS;
    p->case_ms = (int64_t)years * 365 * RETENTION_DAY_MS;
    p->max_fraction = frac;
    p->max_lead_ms = (int64_t)lead * RETENTION_DAY_MS;
    return FT_OK;
}

/* ---- decision ------------------------------------------------------------------------ */

static void day_text(int64_t ms, char *buf, size_t n)
{
    if (ms == RETENTION_FOREVER) {
        snprintf(buf, n, "never");
        return;
    }
    rfc3339_format(ms, 0, buf, n);
}

void retention_decide(const retention_policy_t *p, retention_item_t *it, int64_t now_ms)
{
    char a[48], b[48];
    it->daily_until_ms = it->capture_end_ms + p->daily_ms;
    it->evidence_until_ms = it->n_cases ? it->case_last_ms + p->case_ms : 0;
    it->keep_until_ms = it->daily_until_ms;
    it->klass = "daily";
    if (it->evidence_until_ms > it->keep_until_ms) {
        it->keep_until_ms = it->evidence_until_ms;
        it->klass = "evidence";
    }
    if (it->held) {
        it->keep_until_ms = RETENTION_FOREVER;
        it->klass = "hold";
    }
    /* Only a complete file can be judged: a file still arriving, damaged or
     * failed is evidence of something and is never deleted by retention. */
    it->expired = it->complete && !it->deleted && now_ms >= it->keep_until_ms;
    day_text(it->daily_until_ms, a, sizeof a);
    if (it->held) {
        snprintf(it->why, sizeof it->why, "legal hold (%.*s): kept", utf8_fit(it->hold_why, 300),
                 it->hold_why);
    } else if (!it->complete) {
        snprintf(it->why, sizeof it->why, "not complete at the hub: kept");
    } else if (it->n_cases) {
        day_text(it->evidence_until_ms, b, sizeof b);
        snprintf(it->why, sizeof it->why,
                 "evidence of case %.*s until %.40s, daily period until %.40s: %s",
                 utf8_fit(it->cases, 200), it->cases, b, a, it->expired ? "both expired" : "kept");
    } else {
        snprintf(it->why, sizeof it->why, "daily enforcement media, no case, no hold: %s %.40s",
                 it->expired ? "its daily period ended" : "kept until", a);
    }
}

/* ---- facts from the hub log ------------------------------------------------------- */

static bool field_flag(const Ft__Record *rec, const char *key)
{
    const Ft__FieldValue *f = record_field(rec, key);
    return f && f->value_case == FT__FIELD_VALUE__VALUE_FLAG && f->flag;
}

static const char *field_text(const Ft__Record *rec, const char *key)
{
    const Ft__FieldValue *f = record_field(rec, key);
    return f && f->value_case == FT__FIELD_VALUE__VALUE_TEXT ? f->text : "";
}

static int add_hold(retention_facts_t *f, const retention_hold_t *h)
{
    if (f->n_holds == f->cap_holds) {
        size_t cap = f->cap_holds ? f->cap_holds * 2 : 16;
        retention_hold_t *n = realloc(f->holds, cap * sizeof *n);
        if (!n) {
            return FT_ENOMEM;
        }
        f->holds = n;
        f->cap_holds = cap;
    }
    f->holds[f->n_holds++] = *h;
    return FT_OK;
}

int retention_facts_record(retention_facts_t *f, const Ft__Record *rec, const char *source,
                           int64_t at_ms)
{
    if (rec->type != FT__RECORD_TYPE__LEGAL_HOLD) {
        return FT_OK;
    }
    if (!f->released) {
        f->released = json_object();
        f->deletions = f->deletions ? f->deletions : json_object();
    }
    const char *by = rec->n_officers ? rec->officers[0] : "";
    if (field_flag(rec, "released")) {
        if (rec->amends && rec->amends[0]) {
            json_object_set_new(f->released, rec->amends, json_string(by));
        }
        return FT_OK;
    }
    int err = FT_OK;
    retention_hold_t h;
    memset(&h, 0, sizeof h);
    copy(h.id, sizeof h.id, rec->id);
    copy(h.source, sizeof h.source, source);
    copy(h.reason, sizeof h.reason, field_text(rec, "reason"));
    copy(h.details, sizeof h.details, field_text(rec, "details"));
    copy(h.by, sizeof h.by, by);
    h.at_ms = rec->time ? rec->time->unix_ms : at_ms;
    h.active = true;
    if (rec->case_id && rec->case_id[0]) {
        copy(h.case_id, sizeof h.case_id, rec->case_id);
        err = add_hold(f, &h);
        h.case_id[0] = '\0';
    }
    for (size_t i = 0; err == FT_OK && i < rec->n_media; i++) {
        copy(h.media_id, sizeof h.media_id, rec->media[i]);
        err = add_hold(f, &h);
    }
    return err;
}

void retention_facts_settle(retention_facts_t *f)
{
    for (size_t i = 0; i < f->n_holds; i++) {
        retention_hold_t *h = &f->holds[i];
        const json_t *by = h->id[0] && f->released ? json_object_get(f->released, h->id) : NULL;
        h->active = by == NULL;
        copy(h->released_by, sizeof h->released_by, by ? json_string_value(by) : "");
    }
}

static int hublog_visit(void *ctx, uint64_t seq, const uint8_t *raw, size_t len)
{
    retention_facts_t *f = ctx;
    entry_view_t v;
    if (entry_open(raw, len, &v) != FT_OK) {
        return 0; /* the hub log's own verification names it */
    }
    const Ft__Body *b = v.entry->body;
    int64_t at = (int64_t)hlc_ms(v.entry->hlc);
    if (at > f->head_ms) {
        f->head_ms = at;
    }
    int err = FT_OK;
    if (b->kind_case == FT__BODY__KIND_DELETION && b->deletion->file_id.len == 16) {
        char hex[33];
        hex_encode(b->deletion->file_id.data, 16, hex);
        json_object_set_new(f->deletions, hex, json_integer((json_int_t)seq));
    } else if (b->kind_case == FT__BODY__KIND_RECORD) {
        char source[64];
        snprintf(source, sizeof source, "hublog/%llu", (unsigned long long)seq);
        err = retention_facts_record(f, b->record, source, at);
    } else if (b->kind_case == FT__BODY__KIND_AUDIT && b->audit->action &&
               strcmp(b->audit->action, "retention_run") == 0 && b->audit->detail) {
        json_t *d = json_loads(b->audit->detail, 0, NULL);
        json_int_t now = json_integer_value(json_object_get(d, "now_ms"));
        if (now > f->last_run_now_ms) {
            f->last_run_now_ms = now;
        }
        json_decref(d);
    }
    entry_view_free(&v);
    return err;
}

int retention_facts_hublog(devlog_t *hublog, retention_facts_t *f)
{
    if (!f->deletions) {
        f->deletions = json_object();
    }
    if (!f->released) {
        f->released = json_object();
    }
    return devlog_iter(hublog, 1, 0, hublog_visit, f);
}

void retention_facts_free(retention_facts_t *f)
{
    free(f->holds);
    json_decref(f->deletions);
    json_decref(f->released);
    memset(f, 0, sizeof *f);
}

/* ---- the plan ------------------------------------------------------------------------ */

typedef struct {
    retention_plan_t *plan;
    size_t cap;
    json_t *by_media; /* media_id -> index into plan->items */
    store_t *store;
    store_txn_t *st;
    index_txn_t *it;
    blobstore_t *bs;
    int err;
} build_t;

static int mfile_visit(void *ctx, const hub_mfile_t *f)
{
    build_t *b = ctx;
    retention_plan_t *p = b->plan;
    if (p->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        retention_item_t *n = realloc(p->items, cap * sizeof *n);
        if (!n) {
            b->err = FT_ENOMEM;
            return 1;
        }
        p->items = n;
        b->cap = cap;
    }
    retention_item_t *it = &p->items[p->n];
    memset(it, 0, sizeof *it);
    memcpy(it->file_id, f->file_id, MEDIA_FILE_ID_BYTES);
    hex_encode(f->file_id, MEDIA_FILE_ID_BYTES, it->media_id);
    memcpy(it->blob_id, f->merkle_root, MEDIA_HASH_BYTES);
    it->size = f->size;
    it->complete = f->state == HMF_COMPLETE;
    it->blob_present = it->complete && blobstore_has(b->bs, f->merkle_root);
    uint8_t ref[INDEX_REF_BYTES];
    index_ref_make(ref, f->device, f->epoch, f->seq);
    index_ref_text(ref, it->ref);
    index_item_t ii;
    if (index_item_get(b->it, ref, &ii) == FT_OK) {
        it->capture_end_ms = ii.end_ms;
    } else {
        /* Not indexed yet: the index check refuses a real run; until then
         * the file counts as captured now (kept). */
        it->capture_end_ms = f->indexed_ms ? f->indexed_ms : INT64_MAX / 4;
    }
    json_object_set_new(b->by_media, it->media_id, json_integer((json_int_t)p->n));
    p->n++;
    return 0;
}

typedef struct {
    char **ids;
    size_t n, cap;
} caselist_t;

static int case_collect(void *ctx, const char *case_id)
{
    caselist_t *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **n = realloc(l->ids, cap * sizeof *n);
        if (!n) {
            return FT_ENOMEM;
        }
        l->ids = n;
        l->cap = cap;
    }
    l->ids[l->n] = strdup(case_id);
    if (!l->ids[l->n]) {
        return FT_ENOMEM;
    }
    l->n++;
    return 0;
}

static void add_case(retention_item_t *it, const char *case_id, int64_t last_ms)
{
    size_t len = strlen(it->cases);
    if (len + strlen(case_id) + 3 < sizeof it->cases) {
        snprintf(it->cases + len, sizeof it->cases - len, "%s%s", len ? ", " : "", case_id);
        utf8_trim(it->cases);
    }
    it->n_cases++;
    if (last_ms > it->case_last_ms) {
        it->case_last_ms = last_ms;
    }
}

static retention_item_t *item_of(build_t *b, const char *media_id)
{
    const json_t *i = json_object_get(b->by_media, media_id);
    return i ? &b->plan->items[json_integer_value(i)] : NULL;
}

static int status_newest(void *ctx, const store_device_t *d)
{
    build_t *b = ctx;
    store_status_t st;
    if (store_status_get(b->st, d->device, &st) == FT_OK &&
        st.last_seen_ms > b->plan->newest_seen_ms) {
        b->plan->newest_seen_ms = st.last_seen_ms;
    }
    return 0;
}

int retention_plan(const hub_parts_t *ctx, const retention_policy_t *p, int64_t now_ms,
                   retention_plan_t *plan, char *err, size_t errlen)
{
    memset(plan, 0, sizeof *plan);
    plan->now_ms = now_ms;
    char dir[4200];
    index_t *idx = NULL;
    index_txn_t *it = NULL;
    store_txn_t *st = NULL;
    hub_mdb_t *mdb = NULL;
    blobstore_t *bs = NULL;
    caselist_t cases = {0};
    retention_facts_t facts;
    memset(&facts, 0, sizeof facts);
    build_t b = {.plan = plan, .by_media = json_object(), .store = ctx->store};
    int rc = FT_EIO;
    if (fsutil_join(dir, sizeof dir, ctx->state, "index") != FT_OK || !fsutil_exists(dir)) {
        snprintf(err, errlen,
                 "no case index in %s yet: run `fieldtrail-hub evaluate --state %s` first",
                 ctx->state, ctx->state);
        goto out;
    }
    rc = index_open(dir, 0, &idx);
    if (rc == FT_OK) {
        rc = index_begin(idx, false, &it);
    }
    if (rc == FT_OK) {
        rc = store_begin(ctx->store, false, &st);
    }
    uint64_t count = 0, integ = 0;
    if (rc == FT_OK) {
        rc = index_cursor(it, &plan->index_cursor, &integ);
    }
    if (rc == FT_OK) {
        rc = store_entry_count(st, &count, &plan->store_last_arrival);
    }
    if (rc != FT_OK) {
        snprintf(err, errlen, "cannot read the store and the case index: %s", ft_strerror(rc));
        goto out;
    }
    if (fsutil_join(dir, sizeof dir, ctx->state, "blobs") != FT_OK ||
        blobstore_open_conf(dir, ctx->blobs, &bs) != FT_OK ||
        hub_mdb_open(ctx->state, &mdb) != FT_OK) {
        snprintf(err, errlen, "cannot open the media database and blob store in %s", ctx->state);
        rc = FT_EIO;
        goto out;
    }
    b.it = it;
    b.st = st;
    b.bs = bs;
    lmdbx_unread_t unread = {0};
    rc = hub_mdb_iter(mdb, mfile_visit, &b, &unread);
    if (rc == FT_ECORRUPT && unread.n) {
        /* A file the plan cannot see is a file it cannot keep or delete
         * knowingly: no plan on a partial view. */
        snprintf(err, errlen,
                 "%llu rows of the media database cannot be read (the first: file %s); "
                 "retention does not run on a partial view of the media",
                 (unsigned long long)unread.n, unread.first_key);
        goto out;
    }
    if (rc == FT_OK) {
        rc = b.err;
    }
    if (rc == FT_OK) {
        rc = retention_facts_hublog(ctx->hublog, &facts);
    }
    if (rc == FT_OK) {
        rc = index_cases_iter(it, case_collect, &cases);
    }
    if (rc != FT_OK) {
        snprintf(err, errlen, "cannot read media, cases and the hub log: %s", ft_strerror(rc));
        goto out;
    }
    /* Cases: which media each one holds as evidence, its latest record,
     * and its legal_hold records. */
    for (size_t c = 0; c < cases.n && rc == FT_OK; c++) {
        case_view_t v;
        memset(&v, 0, sizeof v);
        rc = case_view_load(it, st, cases.ids[c], NULL, &v);
        if (rc != FT_OK) {
            snprintf(err, errlen, "cannot read case %s: %s", cases.ids[c], ft_strerror(rc));
            break;
        }
        int64_t last = 0;
        for (size_t i = 0; i < v.c.n_records; i++) {
            const gap_record_t *r = &v.recs[i];
            int64_t t = r->end_ms > r->time_ms ? r->end_ms : r->time_ms;
            if (t > last) {
                last = t;
            }
            if (r->rec->type == FT__RECORD_TYPE__LEGAL_HOLD) {
                rc = retention_facts_record(&facts, r->rec, r->ref, r->time_ms);
            }
        }
        for (size_t m = 0; m < v.c.n_media; m++) {
            if (v.media[m].end_ms > last && case_view_media_in_case(&v, m)) {
                last = v.media[m].end_ms;
            }
        }
        for (size_t m = 0; m < v.c.n_media; m++) {
            retention_item_t *ri =
                case_view_media_in_case(&v, m) ? item_of(&b, v.media[m].media_id) : NULL;
            if (ri) {
                add_case(ri, cases.ids[c], last);
            }
        }
        case_view_free(&v);
    }
    if (rc != FT_OK) {
        goto out;
    }
    retention_facts_settle(&facts);
    /* Holds onto items. */
    for (size_t i = 0; i < plan->n; i++) {
        retention_item_t *ri = &plan->items[i];
        const json_t *del = json_object_get(facts.deletions, ri->media_id);
        if (del) {
            ri->deleted = true;
            ri->deletion_seq = (uint64_t)json_integer_value(del);
        }
        for (size_t h = 0; h < facts.n_holds && !ri->held; h++) {
            const retention_hold_t *hd = &facts.holds[h];
            if (!hd->active) {
                continue;
            }
            bool hit = hd->media_id[0] ? strcasecmp(hd->media_id, ri->media_id) == 0 : false;
            if (!hit && hd->case_id[0] && ri->n_cases) {
                /* cases is "A, B, C": match a whole name */
                const char *s = ri->cases;
                size_t n = strlen(hd->case_id);
                while (s && *s && !hit) {
                    hit = strncmp(s, hd->case_id, n) == 0 && (s[n] == '\0' || s[n] == ',');
                    s = strstr(s, ", ");
                    s = s ? s + 2 : NULL;
                }
            }
            if (hit) {
                ri->held = true;
                const char *what = hd->case_id[0] ? hd->case_id : hd->media_id;
                snprintf(ri->hold_why, sizeof ri->hold_why, "%s %.*s, %.*s, %.*s",
                         hd->case_id[0] ? "case" : "media", utf8_fit(what, 120), what,
                         utf8_fit(hd->reason, 30), hd->reason, utf8_fit(hd->source, 60),
                         hd->source);
            }
        }
        retention_decide(p, ri, now_ms);
        if (ri->complete && !ri->deleted) {
            plan->files_held++;
            plan->bytes_held += ri->size;
            if (ri->expired) {
                plan->files_expired++;
                plan->bytes_expired += ri->size;
            }
        }
    }
    plan->holds = facts.holds;
    plan->n_holds = facts.n_holds;
    facts.holds = NULL;
    plan->last_run_now_ms = facts.last_run_now_ms;
    plan->newest_seen_ms = facts.head_ms;
    (void)store_device_iter(st, status_newest, &b);
    if (plan->last_run_now_ms > plan->newest_seen_ms) {
        plan->newest_seen_ms = plan->last_run_now_ms;
    }
    devlog_report_t rep;
    memset(&rep, 0, sizeof rep);
    if (devlog_verify(ctx->hublog, 1, &rep) == FT_OK && rep.err == FT_OK) {
        plan->hublog_ok = true;
    } else {
        snprintf(plan->hublog_detail, sizeof plan->hublog_detail, "seq %llu: %s",
                 (unsigned long long)rep.bad_seq, rep.detail);
    }
    rc = FT_OK;
out:
    for (size_t i = 0; i < cases.n; i++) {
        free(cases.ids[i]);
    }
    free(cases.ids);
    retention_facts_free(&facts);
    json_decref(b.by_media);
    hub_mdb_destroy(&mdb);
    blobstore_destroy(&bs);
    store_abort(&st);
    index_abort(&it);
    index_destroy(&idx);
    if (rc != FT_OK) {
        retention_plan_free(plan);
    }
    return rc;
}

void retention_plan_free(retention_plan_t *plan)
{
    free(plan->items);
    free(plan->holds);
    plan->items = NULL;
    plan->holds = NULL;
    plan->n = plan->n_holds = 0;
}

/* ---- checks ------------------------------------------------------------------------- */

static void add_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_err(char *err, size_t errlen, const char *fmt, ...)
{
    size_t len = strlen(err);
    if (len && len + 2 < errlen) {
        snprintf(err + len, errlen - len, "; ");
        len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + len, errlen - len, fmt, ap);
    va_end(ap);
}

int retention_check(const retention_policy_t *p, const retention_plan_t *plan, bool force,
                    char *err, size_t errlen)
{
    char a[48], b[48];
    err[0] = '\0';
    if (plan->index_cursor < plan->store_last_arrival) {
        add_err(err, errlen,
                "the case index is behind the store (%llu of %llu entries taken in): run "
                "`fieldtrail-hub evaluate` (or let `run` catch up) first, so that no case link "
                "or legal hold is missed",
                (unsigned long long)plan->index_cursor,
                (unsigned long long)plan->store_last_arrival);
    }
    if (!plan->hublog_ok) {
        add_err(err, errlen, "the hub's own log does not verify (%s): deletions cannot be recorded",
                plan->hublog_detail);
    }
    if (plan->now_ms < RETENTION_CLOCK_FLOOR_MS) {
        rfc3339_format(plan->now_ms, 0, a, sizeof a);
        add_err(err, errlen, "the clock says %s: it was never set", a);
    }
    if (plan->newest_seen_ms && plan->now_ms + RETENTION_DAY_MS < plan->newest_seen_ms) {
        rfc3339_format(plan->now_ms, 0, a, sizeof a);
        rfc3339_format(plan->newest_seen_ms, 0, b, sizeof b);
        add_err(err, errlen,
                "the clock (%s) is behind what the hub already recorded (%s): it went backwards", a,
                b);
    }
    if (p->max_lead_ms && plan->newest_seen_ms &&
        plan->now_ms > plan->newest_seen_ms + p->max_lead_ms) {
        rfc3339_format(plan->now_ms, 0, a, sizeof a);
        rfc3339_format(plan->newest_seen_ms, 0, b, sizeof b);
        add_err(err, errlen,
                "the clock (%s) is more than %lld days ahead of anything the hub recorded (last "
                "%s): if the clock is right, raise retention.max_clock_lead_days",
                a, (long long)(p->max_lead_ms / RETENTION_DAY_MS), b);
    }
    if (!force && plan->files_expired &&
        ((double)plan->files_expired > p->max_fraction * (double)plan->files_held ||
         (double)plan->bytes_expired > p->max_fraction * (double)plan->bytes_held)) {
        add_err(
            err, errlen,
            "this run would delete %llu of %llu media files (%.1f%%, %.1f%% of the bytes), "
            "more than retention.max_fraction (%.1f%%): check the list with --dry-run, then "
            "run again with --force if it is right",
            (unsigned long long)plan->files_expired, (unsigned long long)plan->files_held,
            plan->files_held ? 100.0 * (double)plan->files_expired / (double)plan->files_held : 0.0,
            plan->bytes_held ? 100.0 * (double)plan->bytes_expired / (double)plan->bytes_held : 0.0,
            100.0 * p->max_fraction);
    }
    return err[0] ? FT_EINVAL : FT_OK;
}

/* ---- execution -------------------------------------------------------------------- */

int retention_execute(const hub_parts_t *ctx, retention_plan_t *plan, const char *by,
                      size_t *deleted, char *err, size_t errlen)
{
    *deleted = 0;
    devlog_txn_t *t = NULL;
    int rc = devlog_begin(ctx->hublog, &t);
    size_t n = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; rc == FT_OK && i < plan->n; i++) {
        retention_item_t *it = &plan->items[i];
        if (!it->expired) {
            continue;
        }
        Ft__Deletion d = FT__DELETION__INIT;
        d.file_id.data = it->file_id;
        d.file_id.len = MEDIA_FILE_ID_BYTES;
        d.retention_class = (char *)it->klass;
        d.reason = it->why;
        Ft__Body body = FT__BODY__INIT;
        body.kind_case = FT__BODY__KIND_DELETION;
        body.deletion = &d;
        rc = devlog_append(t, &body, &it->deletion_seq);
        n++;
        bytes += it->size;
    }
    char detail[256];
    snprintf(detail, sizeof detail,
             "{\"now_ms\":%lld,\"deleted\":%zu,\"bytes\":%llu,\"files_held\":%llu}",
             (long long)plan->now_ms, n, (unsigned long long)bytes,
             (unsigned long long)plan->files_held);
    if (rc == FT_OK) {
        rc = devlog_append_audit(t, by ? by : "retention", "retention_run", "media", detail, NULL);
    }
    if (rc == FT_OK) {
        rc = devlog_commit(&t);
    }
    devlog_abort(&t);
    if (rc != FT_OK) {
        snprintf(err, errlen, "cannot record the deletions in the hub log (%s): nothing deleted",
                 ft_strerror(rc));
        return rc;
    }
    /* Logged: now remove the blobs (and those of earlier logged deletions
     * whose removal did not finish). */
    char dir[4200];
    blobstore_t *bs = NULL;
    if (fsutil_join(dir, sizeof dir, ctx->state, "blobs") != FT_OK ||
        blobstore_open_conf(dir, ctx->blobs, &bs) != FT_OK) {
        snprintf(err, errlen, "deletions recorded but the blob store cannot be opened: run again");
        return FT_EIO;
    }
    int failed = 0;
    for (size_t i = 0; i < plan->n; i++) {
        retention_item_t *it = &plan->items[i];
        if (!(it->expired || (it->deleted && it->blob_present))) {
            continue;
        }
        /* A blob shared with a file that is kept stays. */
        bool shared = false;
        for (size_t j = 0; j < plan->n && !shared; j++) {
            const retention_item_t *o = &plan->items[j];
            shared = j != i && !o->expired && !o->deleted &&
                     memcmp(o->blob_id, it->blob_id, MEDIA_HASH_BYTES) == 0;
        }
        int e = shared ? FT_OK : blobstore_remove(bs, it->blob_id);
        if (e != FT_OK && e != FT_ENOTFOUND) {
            log_error("media %s: its deletion is recorded but the blob cannot be removed: %s",
                      it->media_id, ft_strerror(e));
            failed++;
            continue;
        }
        if (it->expired) {
            (*deleted)++;
        }
        it->expired = false;
        it->deleted = true;
        it->blob_present = false;
    }
    /* Object storage with Object Lock: what is kept is kept by the store
     * too -- COMPLIANCE retention extended to the class's end, the legal
     * hold set while a hold is active and lifted when it is released. */
    int lock_failed = 0;
    for (size_t i = 0; blobstore_is_remote(bs) && i < plan->n; i++) {
        const retention_item_t *it = &plan->items[i];
        if (it->expired || it->deleted || !it->blob_present) {
            continue;
        }
        /* A held file: the hold keeps it for ever (legal hold, no date);
         * its class still dates the COMPLIANCE retention under the hold. */
        int64_t until_ms = it->keep_until_ms;
        if (until_ms == RETENTION_FOREVER) {
            until_ms = it->daily_until_ms > it->evidence_until_ms ? it->daily_until_ms
                                                                  : it->evidence_until_ms;
        }
        int64_t until_s = until_ms / 1000;
        if (until_s > 0 && until_s <= plan->now_ms / 1000) {
            until_s = 0;
        }
        if (blobstore_lock(bs, it->blob_id, until_s, it->held ? 1 : 0) != FT_OK) {
            lock_failed++;
        }
    }
    if (lock_failed) {
        log_warn("retention: Object Lock not brought up to date on %d blobs (see above); tried "
                 "again at the next run",
                 lock_failed);
    }
    blobstore_destroy(&bs);
    if (failed) {
        snprintf(err, errlen,
                 "%d blobs could not be removed (their deletions are recorded): run again", failed);
        return FT_EIO;
    }
    return FT_OK;
}

/* ---- JSON ----------------------------------------------------------------------- */

json_t *retention_item_json(const retention_item_t *it)
{
    char cap[48], daily[48], ev[48], keep[48];
    rfc3339_format(it->capture_end_ms, 0, cap, sizeof cap);
    day_text(it->daily_until_ms, daily, sizeof daily);
    day_text(it->evidence_until_ms ? it->evidence_until_ms : 0, ev, sizeof ev);
    day_text(it->keep_until_ms, keep, sizeof keep);
    /* text escaped where it is not valid UTF-8 (utf8.h): never left out */
    json_t *o =
        json_pack("{s:s, s:s, s:I, s:b, s:b, s:b, s:s, s:s, s:s, s:s, s:b, s:o, s:o}", "file_id",
                  it->media_id, "ref", it->ref, "size", (json_int_t)it->size, "complete",
                  it->complete, "deleted", it->deleted, "expired", it->expired, "class", it->klass,
                  "captured_until", cap, "daily_until", daily, "keep_until", keep, "held", it->held,
                  "cases", utf8_json_string(it->cases), "why", utf8_json_string(it->why));
    json_object_set_new(o, "evidence_until", it->evidence_until_ms ? json_string(ev) : json_null());
    if (it->deleted) {
        json_object_set_new(o, "deletion_hublog_seq", json_integer((json_int_t)it->deletion_seq));
        json_object_set_new(o, "blob_present", json_boolean(it->blob_present));
    }
    return o;
}

json_t *retention_hold_json(const retention_hold_t *h)
{
    char at[48];
    rfc3339_format(h->at_ms, 0, at, sizeof at);
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:b, s:o}", "id",
                     utf8_json_string(h->id), "source", utf8_json_string(h->source), "case",
                     utf8_json_string(h->case_id), "media", utf8_json_string(h->media_id), "reason",
                     utf8_json_string(h->reason), "details", utf8_json_string(h->details), "by",
                     utf8_json_string(h->by), "at", at, "active", h->active, "released_by",
                     utf8_json_string(h->released_by));
}
