/* pverify.c: re-verification of forwarded entries (see pverify.h). The
 * checks of one entry are entry_check's (common/entry.c), the hub's own. */
#include "pverify.h"
#include "record.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a walk over one log (a device's epoch, or the hub log's) stands. */
typedef struct {
    bool active;
    uint8_t device[DEVID_BYTES];
    uint64_t epoch;
    uint64_t next;                  /* seq expected next */
    uint8_t prev[ENTRY_HASH_BYTES]; /* hash the next entry must link to */
    bool resync;                    /* the entry before was bad or missing: take
                                       the next entry's link as it stands */
    /* the position judged last, for a second row stored at it */
    uint64_t last_seq;                   /* 0 before the first */
    uint8_t last_link[ENTRY_HASH_BYTES]; /* what it had to link to */
    bool last_resync;                    /* ... or its link taken as it stands */
    bool last_ok;                        /* an entry verified at it */
    bool unenrolled;                     /* its device is not enrolled (reported once) */
} walk_t;

/* Where a walk resumes (pverify_resume). */
typedef struct {
    uint8_t device[DEVID_BYTES];
    uint64_t epoch, seq;
    uint8_t hash[ENTRY_HASH_BYTES];
} resume_t;

struct pverify_t {
    pverify_report_fn report;
    void *ctx;
    char county[PVERIFY_NAME_MAX];
    bool in_county;
    uint8_t hub_pk[32];
    uint8_t hub_dev[DEVID_BYTES];
    walk_t hub; /* the county hub's log */
    walk_t dev; /* the device epoch being walked */
    pverify_device_t *devs;
    size_t n_devs, cap_devs;
    resume_t *resumes;
    size_t n_resumes, cap_resumes;
    pverify_clock_t *clocks;
    size_t n_clocks, cap_clocks;
    pverify_justification_t *justs;
    size_t n_justs, cap_justs;
    pverify_stats_t st;
};

int pverify_new(pverify_report_fn report, void *ctx, pverify_t **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out) {
        return FT_ENOMEM;
    }
    (*out)->report = report;
    (*out)->ctx = ctx;
    return FT_OK;
}

void pverify_destroy(pverify_t **pv_p)
{
    if (!pv_p || !*pv_p) {
        return;
    }
    free((*pv_p)->devs);
    free((*pv_p)->resumes);
    free((*pv_p)->clocks);
    free((*pv_p)->justs);
    free(*pv_p);
    *pv_p = NULL;
}

static void bad(pverify_t *pv, bool hub_log, const uint8_t device[DEVID_BYTES], uint64_t epoch,
                uint64_t seq, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void bad(pverify_t *pv, bool hub_log, const uint8_t device[DEVID_BYTES], uint64_t epoch,
                uint64_t seq, const char *reason, const char *fmt, ...)
{
    pverify_bad_t b = {
        .county = pv->county, .hub_log = hub_log, .epoch = epoch, .seq = seq, .reason = reason};
    memcpy(b.device, device, DEVID_BYTES);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b.detail, sizeof b.detail, fmt, ap);
    va_end(ap);
    pv->st.bad++;
    if (pv->report) {
        pv->report(pv->ctx, &b);
    }
}

const pverify_device_t *pverify_device(const pverify_t *pv, const uint8_t device[DEVID_BYTES])
{
    for (size_t i = 0; i < pv->n_devs; i++) {
        if (memcmp(pv->devs[i].device, device, DEVID_BYTES) == 0) {
            return &pv->devs[i];
        }
    }
    return NULL;
}

/* Closes the device walk. */
static void close_walk(pverify_t *pv)
{
    pv->dev.active = false;
}

int pverify_end(pverify_t *pv)
{
    if (!pv->in_county) {
        return FT_OK;
    }
    close_walk(pv);
    pv->n_devs = 0;
    pv->n_resumes = 0;
    pv->in_county = false;
    return FT_OK;
}

int pverify_county(pverify_t *pv, const char *county, const uint8_t hub_sign_pk[32])
{
    int err = pverify_end(pv);
    if (err != FT_OK) {
        return err;
    }
    utf8_copy(pv->county, sizeof pv->county, county);
    memcpy(pv->hub_pk, hub_sign_pk, 32);
    devid_from_pk(hub_sign_pk, pv->hub_dev);
    memset(&pv->hub, 0, sizeof pv->hub);
    memset(&pv->dev, 0, sizeof pv->dev);
    pv->n_clocks = 0;
    pv->n_justs = 0;
    pv->in_county = true;
    pv->st.counties++;
    return FT_OK;
}

/* Checks one decoded entry at (device, epoch, seq) linked to link (or, with
 * resync, to what it names); reports it if bad. */
static bool check_one(pverify_t *pv, bool hub_log, const uint8_t *pk,
                      const uint8_t device[DEVID_BYTES], uint64_t epoch, uint64_t seq,
                      const uint8_t *link, bool resync, const entry_view_t *v)
{
    entry_pos_t pos = {.epoch = epoch, .seq = seq};
    memcpy(pos.device, device, DEVID_BYTES);
    memcpy(pos.prev_hash, resync ? v->entry->prev_hash.data : link, ENTRY_HASH_BYTES);
    int err = pk ? entry_check(v, pk, &pos) : FT_ESIGNER;
    switch (err) {
    case FT_OK:
        return true;
    case FT_EBADSIG:
        bad(pv, hub_log, device, epoch, seq, PVERIFY_BAD_SIGNATURE,
            "entry %llu: the signature does not verify with the %s key: the stored bytes were "
            "altered or forged",
            (unsigned long long)seq, hub_log ? "county hub's registered" : "device's enrolled");
        break;
    case FT_ECHAIN:
        bad(pv, hub_log, device, epoch, seq, PVERIFY_BROKEN_CHAIN,
            "entry %llu does not link to entry %llu before it: an entry was removed or replaced",
            (unsigned long long)seq, (unsigned long long)seq - 1);
        break;
    default:
        bad(pv, hub_log, device, epoch, seq, PVERIFY_MISPLACED,
            "entry %llu is stored at a position its signed bytes do not claim (%s): it was "
            "moved or forged",
            (unsigned long long)seq, ft_strerror(err));
        break;
    }
    return false;
}

/* Judges one row of walk w (a new walk starts at seq 1 with a zero link).
 * Returns true if it verified as the walk's entry at seq; *v is then open
 * (the caller frees it). */
static bool judge(pverify_t *pv, walk_t *w, bool hub_log, const uint8_t *pk,
                  const uint8_t device[DEVID_BYTES], uint64_t epoch, uint64_t seq,
                  const uint8_t *raw, size_t len, entry_view_t *v)
{
    const char *who = hub_log ? "the county hub's log" : "this device's log";
    if (!w->active || memcmp(w->device, device, DEVID_BYTES) != 0 || w->epoch != epoch) {
        if (!hub_log) {
            close_walk(pv);
            pv->st.devices++;
        }
        memset(w, 0, sizeof *w);
        w->active = true;
        memcpy(w->device, device, DEVID_BYTES);
        w->epoch = epoch;
        w->next = 1;
        for (size_t i = 0; !hub_log && i < pv->n_resumes; i++) {
            const resume_t *r = &pv->resumes[i];
            if (memcmp(r->device, device, DEVID_BYTES) == 0 && r->epoch == epoch) {
                w->next = r->seq + 1;
                w->last_seq = r->seq;
                w->last_ok = true;
                memcpy(w->prev, r->hash, ENTRY_HASH_BYTES);
            }
        }
    }
    /* A second row at the position judged last: rows of one position differ
     * in their time column only when one was added by hand. */
    bool same_pos = seq == w->last_seq && seq < w->next;
    if (seq < w->next && !same_pos) {
        bad(pv, hub_log, device, epoch, seq, PVERIFY_MISPLACED,
            "entry %llu is stored out of order in %s", (unsigned long long)seq, who);
        return false;
    }
    if (!same_pos) {
        if (seq > w->next) {
            if (seq - 1 == w->next) {
                bad(pv, hub_log, device, epoch, w->next, PVERIFY_MISSING_SEQ,
                    "entry %llu of %s is missing", (unsigned long long)w->next, who);
            } else {
                bad(pv, hub_log, device, epoch, w->next, PVERIFY_MISSING_SEQ,
                    "entries %llu..%llu of %s are missing", (unsigned long long)w->next,
                    (unsigned long long)seq - 1, who);
            }
            w->resync = true;
        }
        w->next = seq + 1;
        w->last_seq = seq;
        memcpy(w->last_link, w->prev, ENTRY_HASH_BYTES);
        w->last_resync = w->resync;
        w->last_ok = false;
    }
    bool ok = false;
    if (entry_open(raw, len, v) != FT_OK) {
        bad(pv, hub_log, device, epoch, seq, PVERIFY_MALFORMED,
            "entry %llu does not decode as a signed log entry (%zu bytes): the stored bytes "
            "were altered",
            (unsigned long long)seq, len);
    } else {
        ok = check_one(pv, hub_log, pk, device, epoch, seq, w->last_link, w->last_resync, v);
        if (ok && same_pos && w->last_ok) {
            bad(pv, hub_log, device, epoch, seq, PVERIFY_MISPLACED,
                "a second, different entry is stored for seq %llu in %s, both signed by its key",
                (unsigned long long)seq, who);
            ok = false;
        }
        if (!ok) {
            entry_view_free(v);
        }
    }
    if (!ok) {
        if (!same_pos) {
            w->resync = true;
        }
        return false;
    }
    memcpy(w->prev, v->hash, ENTRY_HASH_BYTES);
    w->resync = false;
    w->last_ok = true;
    return true;
}

/* An Enrolment of the hub log taken into the county's devices. */
static int take_enrolment(pverify_t *pv, const Ft__Enrolment *en)
{
    if (!en || en->device.len != DEVID_BYTES) {
        return FT_OK;
    }
    pverify_device_t *d = (pverify_device_t *)pverify_device(pv, en->device.data);
    if (!d) {
        if (!en->has_sign_pk || en->sign_pk.len != 32) {
            return FT_OK; /* a revocation of a device this log never enrolled */
        }
        uint8_t id[DEVID_BYTES];
        devid_from_pk(en->sign_pk.data, id);
        if (memcmp(id, en->device.data, DEVID_BYTES) != 0) {
            return FT_OK; /* the key is not that device's: no enrolment */
        }
        if (pv->n_devs == pv->cap_devs) {
            size_t cap = pv->cap_devs ? 2 * pv->cap_devs : 64;
            pverify_device_t *grown = realloc(pv->devs, cap * sizeof *grown);
            if (!grown) {
                return FT_ENOMEM;
            }
            pv->devs = grown;
            pv->cap_devs = cap;
        }
        d = &pv->devs[pv->n_devs++];
        memset(d, 0, sizeof *d);
        memcpy(d->device, id, DEVID_BYTES);
        memcpy(d->sign_pk, en->sign_pk.data, 32);
    }
    d->revoked = en->revoked;
    if (en->unit && en->unit[0]) {
        utf8_copy(d->unit, sizeof d->unit, en->unit);
    }
    if (en->vehicle && en->vehicle[0]) {
        utf8_copy(d->vehicle, sizeof d->vehicle, en->vehicle);
    }
    return FT_OK;
}

/* A ClockOffset entry of the county hub's log that verified. */
static int take_clock(pverify_t *pv, const Ft__ClockOffset *co, uint64_t epoch, uint64_t seq)
{
    if (!co || co->device.len != DEVID_BYTES) {
        return FT_OK;
    }
    if (pv->n_clocks == pv->cap_clocks) {
        size_t cap = pv->cap_clocks ? 2 * pv->cap_clocks : 16;
        pverify_clock_t *grown = realloc(pv->clocks, cap * sizeof *grown);
        if (!grown) {
            return FT_ENOMEM;
        }
        pv->clocks = grown;
        pv->cap_clocks = cap;
    }
    pverify_clock_t *c = &pv->clocks[pv->n_clocks++];
    memcpy(c->device, co->device.data, DEVID_BYTES);
    c->offset_ms = co->offset_ms;
    c->from_arrival = co->from_arrival;
    c->hub_epoch = epoch;
    c->hub_seq = seq;
    return FT_OK;
}

/* A `justification` record of the county hub's log that verified (a
 * supervisor's, entered at the county's dashboard). */
static int take_justification(pverify_t *pv, const Ft__Record *rec, uint64_t epoch, uint64_t seq)
{
    const Ft__FieldValue *alert = record_field(rec, "alert");
    const Ft__FieldValue *reason = record_field(rec, "reason");
    if (!alert || alert->value_case != FT__FIELD_VALUE__VALUE_TEXT || !alert->text ||
        strlen(alert->text) != 16) {
        return FT_OK; /* names no alert an engine can raise */
    }
    if (pv->n_justs == pv->cap_justs) {
        size_t cap = pv->cap_justs ? 2 * pv->cap_justs : 8;
        pverify_justification_t *grown = realloc(pv->justs, cap * sizeof *grown);
        if (!grown) {
            return FT_ENOMEM;
        }
        pv->justs = grown;
        pv->cap_justs = cap;
    }
    pverify_justification_t *j = &pv->justs[pv->n_justs++];
    memset(j, 0, sizeof *j);
    for (size_t i = 0; i < 16; i++) {
        char c = alert->text[i];
        j->alert[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    utf8_copy(j->by, sizeof j->by, rec->n_officers ? rec->officers[0] : "");
    utf8_copy(j->reason, sizeof j->reason,
              reason && reason->value_case == FT__FIELD_VALUE__VALUE_TEXT ? reason->text : "");
    j->hub_epoch = epoch;
    j->hub_seq = seq;
    return FT_OK;
}

const pverify_justification_t *pverify_justifications(const pverify_t *pv, size_t *n)
{
    *n = pv->n_justs;
    return pv->justs;
}

int pverify_hublog(pverify_t *pv, uint64_t epoch, uint64_t seq, const uint8_t *raw, size_t len)
{
    entry_view_t v;
    if (!judge(pv, &pv->hub, true, pv->hub_pk, pv->hub_dev, epoch, seq, raw, len, &v)) {
        return FT_OK;
    }
    pv->st.hublog_entries++;
    const Ft__Body *b = v.entry->body;
    int err = FT_OK;
    if (b && b->kind_case == FT__BODY__KIND_ENROLMENT) {
        err = take_enrolment(pv, b->enrolment);
    } else if (b && b->kind_case == FT__BODY__KIND_CLOCK) {
        err = take_clock(pv, b->clock, epoch, seq);
    } else if (b && b->kind_case == FT__BODY__KIND_RECORD && b->record &&
               b->record->type == FT__RECORD_TYPE__JUSTIFICATION) {
        err = take_justification(pv, b->record, epoch, seq);
    }
    entry_view_free(&v);
    return err;
}

const pverify_clock_t *pverify_clocks(const pverify_t *pv, size_t *n)
{
    *n = pv->n_clocks;
    return pv->clocks;
}

int64_t pverify_clock_offset(const pverify_t *pv, const uint8_t device[DEVID_BYTES],
                             uint64_t arrival)
{
    for (size_t i = pv->n_clocks; i-- > 0;) {
        const pverify_clock_t *c = &pv->clocks[i];
        if (c->from_arrival <= arrival && memcmp(c->device, device, DEVID_BYTES) == 0) {
            return c->offset_ms;
        }
    }
    return 0;
}

int pverify_entry_view(pverify_t *pv, const uint8_t device[DEVID_BYTES], uint64_t epoch,
                       uint64_t seq, const uint8_t *raw, size_t len, entry_view_t *v, bool *ok)
{
    *ok = false;
    const pverify_device_t *d = pverify_device(pv, device);
    if (!d) {
        bool first = !pv->dev.active || memcmp(pv->dev.device, device, DEVID_BYTES) != 0 ||
                     pv->dev.epoch != epoch;
        if (first) {
            close_walk(pv);
            bad(pv, false, device, epoch, seq, PVERIFY_UNENROLLED,
                "entries from seq %llu on are of a device the county hub's log never enrolled: "
                "none can be verified",
                (unsigned long long)seq);
            memset(&pv->dev, 0, sizeof pv->dev);
            pv->dev.active = true;
            memcpy(pv->dev.device, device, DEVID_BYTES);
            pv->dev.epoch = epoch;
            pv->dev.next = seq + 1;
            pv->dev.unenrolled = true;
            pv->st.devices++;
        }
        return FT_OK;
    }
    if (judge(pv, &pv->dev, false, d->sign_pk, device, epoch, seq, raw, len, v)) {
        pv->st.entries++;
        *ok = true;
    }
    return FT_OK;
}

int pverify_entry(pverify_t *pv, const uint8_t device[DEVID_BYTES], uint64_t epoch, uint64_t seq,
                  const uint8_t *raw, size_t len)
{
    entry_view_t v;
    bool ok = false;
    int err = pverify_entry_view(pv, device, epoch, seq, raw, len, &v, &ok);
    if (ok) {
        entry_view_free(&v);
    }
    return err;
}

int pverify_resume(pverify_t *pv, const uint8_t device[DEVID_BYTES], uint64_t epoch, uint64_t seq,
                   const uint8_t hash[ENTRY_HASH_BYTES])
{
    if (pv->n_resumes == pv->cap_resumes) {
        size_t cap = pv->cap_resumes ? 2 * pv->cap_resumes : 64;
        resume_t *grown = realloc(pv->resumes, cap * sizeof *grown);
        if (!grown) {
            return FT_ENOMEM;
        }
        pv->resumes = grown;
        pv->cap_resumes = cap;
    }
    resume_t *r = &pv->resumes[pv->n_resumes++];
    memcpy(r->device, device, DEVID_BYTES);
    r->epoch = epoch;
    r->seq = seq;
    memcpy(r->hash, hash, ENTRY_HASH_BYTES);
    return FT_OK;
}

uint64_t pverify_hublog_last(const pverify_t *pv, uint64_t *epoch)
{
    *epoch = pv->hub.active ? pv->hub.epoch : 0;
    return pv->hub.active ? pv->hub.next - 1 : 0;
}

void pverify_county_bad(pverify_t *pv, const char *reason, uint64_t seq, const char *detail)
{
    pverify_bad_t b = {.county = pv->county, .county_wide = true, .seq = seq, .reason = reason};
    snprintf(b.detail, sizeof b.detail, "%s", detail);
    pv->st.bad++;
    if (pv->report) {
        pv->report(pv->ctx, &b);
    }
}

void pverify_stats(const pverify_t *pv, pverify_stats_t *st)
{
    *st = pv->st;
}
