/* catalog.c: the dashboard's in-memory view of stored entries (catalog.h). */
#include "catalog.h"
#include "devlog.h"
#include "identity.h"
#include "bodyjson.h"
#include "hlc.h"
#include "logging.h"
#include "record.h"
#include "utf8.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest media file ID (bytes) a manifest may name as superseded. */
#define CATALOG_ID_MAX 64

struct catalog_t {
    pthread_rwlock_t lock;
    cat_item_t *items;
    size_t n, cap;
    cat_device_t *devices;
    size_t n_devices, cap_devices;
    uint64_t cursor; /* last arrival number read */
    /* Records with an id by identity (unit, case, id: identity.h): an open
     * table of the first item of each identity; items chain by next_same. */
    size_t *idents;
    size_t idents_cap, idents_n;
    /* Every item by its ref: an open table of item indexes. */
    size_t *refs;
    size_t refs_cap;
};

/* Clock offsets of the devices, read before a scan. */
typedef struct {
    uint8_t device[DEVID_BYTES];
    int64_t offset_ms;
} offset_t;

typedef struct {
    offset_t *v;
    size_t n, cap;
} offsets_t;

/* State of one update pass. */
typedef struct {
    catalog_t *c;
    offsets_t offs;
    store_t *store;
    size_t added;
    int err;
} scan_t;

int catalog_new(catalog_t **out)
{
    catalog_t *c = calloc(1, sizeof *c);
    if (!c) {
        return FT_ENOMEM;
    }
    pthread_rwlock_init(&c->lock, NULL);
    *out = c;
    return FT_OK;
}

static void item_free(cat_item_t *it)
{
    free(it->id);
    free(it->case_id);
    free(it->cause);
    free(it->party);
    free(it->unit);
    free(it->officers);
    free(it->recorders);
    free(it->media);
    free(it->amends);
    free(it->media_unsuitable);
    free(it->link.officers);
    free(it->link.recorders);
    free(it->link.media);
    free(it->link.media_id);
    free(it->link.officer);
    free(it->link.recorder);
    free(it->link.co_text);
    free(it->link.took);
    json_decref(it->body);
}

void catalog_destroy(catalog_t **c_p)
{
    if (!c_p || !*c_p) {
        return;
    }
    catalog_t *c = *c_p;
    for (size_t i = 0; i < c->n; i++) {
        item_free(&c->items[i]);
    }
    for (size_t i = 0; i < c->n_devices; i++) {
        json_decref(c->devices[i].recorders);
    }
    free(c->items);
    free(c->devices);
    free(c->idents);
    free(c->refs);
    pthread_rwlock_destroy(&c->lock);
    free(c);
    *c_p = NULL;
}

/* The text as the dashboard shows it: a copy, escaped when it is not valid
 * UTF-8 (utf8.h), so that every JSON made from an item holds and no item is
 * left out for its text; NULL on ENOMEM. *escaped is set when it was. */
static char *shown(const char *s, bool *escaped)
{
    char *out = NULL;
    if (!s) {
        s = "";
    }
    if (utf8_valid_str(s)) {
        return strdup(s);
    }
    *escaped = true;
    return utf8_escape(s, &out) == FT_OK ? out : NULL;
}

static char *dup_or_empty(cat_item_t *it, const char *s)
{
    return shown(s, &it->text_escaped);
}

/* Joins n strings with sep (caller frees), as shown(). */
static char *join(cat_item_t *it, char *const *v, size_t n, const char *sep)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++) {
        len += strlen(v[i]) + strlen(sep);
    }
    char *out = malloc(len);
    if (!out) {
        return NULL;
    }
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (i) {
            strcat(out, sep);
        }
        strcat(out, v[i]);
    }
    if (utf8_valid_str(out)) {
        return out;
    }
    char *esc = shown(out, &it->text_escaped);
    free(out);
    return esc;
}

/* Big-endian u64 into p[0..8). */
static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* A copy of v[0..n) in one allocation (pointers, then the strings): what
 * linking reads of a record's list; NULL for an empty list or ENOMEM
 * (*ok false). */
static char **strv_dup(char *const *v, size_t n, bool *ok)
{
    if (!n) {
        return NULL;
    }
    size_t len = n * sizeof(char *);
    for (size_t i = 0; i < n; i++) {
        len += strlen(v[i] ? v[i] : "") + 1;
    }
    char **out = malloc(len);
    if (!out) {
        *ok = false;
        return NULL;
    }
    char *p = (char *)(out + n);
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(v[i] ? v[i] : "") + 1;
        memcpy(p, v[i] ? v[i] : "", l);
        out[i] = p;
        p += l;
    }
    return out;
}

/* s cut to GAPINPUT_TEXT on a character boundary, as the engine's index
 * keeps it (a copy; NULL on ENOMEM). */
static char *cut_dup(const char *s)
{
    char buf[GAPINPUT_TEXT];
    utf8_copy(buf, sizeof buf, s ? s : "");
    return strdup(buf);
}

/* What linking reads of a record (catalog.h cat_link_t): false on ENOMEM. */
static bool link_record(cat_item_t *it, const Ft__Record *r, int64_t logged_ms, int64_t off)
{
    cat_link_t *l = &it->link;
    bool ok = true;
    l->officers = strv_dup(r->officers, r->n_officers, &ok);
    l->n_officers = l->officers ? r->n_officers : 0;
    l->recorders = strv_dup(r->recorders, r->n_recorders, &ok);
    l->n_recorders = l->recorders ? r->n_recorders : 0;
    l->media = strv_dup(r->media, r->n_media, &ok);
    l->n_media = l->media ? r->n_media : 0;
    int64_t time_ms;
    gapinput_record_times(r, logged_ms, off, &l->start_ms, &l->end_ms, &time_ms);
    if (r->type == FT__RECORD_TYPE__RECORDER_CHECKOUT ||
        r->type == FT__RECORD_TYPE__RECORDER_RETURN) {
        l->co_text = calloc(2, sizeof *l->co_text);
        if (!l->co_text) {
            return false;
        }
        uint8_t order[GAPINPUT_ORDER_BYTES];
        memcpy(order, l->checkout.order, sizeof order); /* set by the caller */
        if (gapinput_checkout_of(r, time_ms, l->co_text[0], l->co_text[1], &l->checkout)) {
            memcpy(l->checkout.order, order, sizeof order);
        }
    }
    return ok;
}

/* What linking reads of a manifest (catalog.h cat_link_t): false on ENOMEM. */
static bool link_media(cat_item_t *it, const Ft__MediaManifest *m, const char *ref,
                       int64_t logged_ms, int64_t off)
{
    cat_link_t *l = &it->link;
    if (m->file_id.len > 0 && m->file_id.len <= 64) { /* the index's media ID */
        char hex[129];
        hex_encode(m->file_id.data, m->file_id.len, hex);
        l->media_id = cut_dup(hex);
    } else {
        l->media_id = cut_dup(ref);
    }
    l->officer = cut_dup(m->officer);
    l->recorder = cut_dup(m->recorder);
    gapinput_media_times(m, logged_ms, off, &l->start_ms, &l->end_ms);
    return l->media_id && l->officer && l->recorder;
}

static int64_t tm(const Ft__Time *t, int64_t off)
{
    return t ? t->unix_ms + off : 0;
}

static cat_device_t *device_row(catalog_t *c, const char *id)
{
    for (size_t i = 0; i < c->n_devices; i++) {
        if (strcmp(c->devices[i].device, id) == 0) {
            return &c->devices[i];
        }
    }
    if (c->n_devices == c->cap_devices) {
        size_t cap = c->cap_devices ? c->cap_devices * 2 : 16;
        cat_device_t *nv = realloc(c->devices, cap * sizeof *nv);
        if (!nv) {
            return NULL;
        }
        c->devices = nv;
        c->cap_devices = cap;
    }
    cat_device_t *d = &c->devices[c->n_devices++];
    memset(d, 0, sizeof *d);
    snprintf(d->device, sizeof d->device, "%s", id);
    d->recorders = json_object();
    return d;
}

/* Notes a recorder's health from a record or device event (keyed by the
 * recorder as shown: escaped when it is not valid UTF-8). */
static void note_recorder(cat_device_t *d, const char *recorder, json_t *health)
{
    if (!recorder || !*recorder || !health) {
        json_decref(health);
        return;
    }
    json_t *old = utf8_json_get(d->recorders, recorder);
    if (old) {
        json_object_update(old, health);
        json_decref(health);
    } else if (utf8_json_set_new(d->recorders, recorder, health) != FT_OK) {
        log_warn("catalog: out of memory: a recorder health note of device %s is lost", d->device);
    }
}

static double field_number(const Ft__Record *rec, const char *key, bool *found)
{
    const Ft__FieldValue *f = record_field(rec, key);
    *found = false;
    if (!f) {
        return 0;
    }
    if (f->value_case == FT__FIELD_VALUE__VALUE_NUMBER) {
        *found = true;
        return f->number;
    }
    if (f->value_case == FT__FIELD_VALUE__VALUE_TEXT && f->text) {
        char *end;
        double v = strtod(f->text, &end);
        *found = end != f->text;
        return v;
    }
    return 0;
}

static void fill_record(cat_item_t *it, const Ft__Record *r, int64_t off, cat_device_t *d)
{
    it->kind = CAT_RECORD;
    it->type = record_type_name(r->type);
    it->activity = record_type_is_activity(r->type);
    it->id = dup_or_empty(it, r->id);
    it->case_id = dup_or_empty(it, r->case_id);
    it->cause = dup_or_empty(it, r->cause);
    it->party = dup_or_empty(it, r->party);
    it->unit = dup_or_empty(it, r->unit);
    it->officers = join(it, r->officers, r->n_officers, ", ");
    it->recorders = join(it, r->recorders, r->n_recorders, ", ");
    it->media = join(it, r->media, r->n_media, ",");
    it->amends = dup_or_empty(it, r->amends);
    it->media_unsuitable = dup_or_empty(it, r->media_unsuitable);
    it->start_ms = tm(r->start, off);
    it->end_ms = tm(r->end, off);
    it->time_ms = r->time ? tm(r->time, off) : it->start_ms;
    if (r->type == FT__RECORD_TYPE__RECORDER_STATUS ||
        r->type == FT__RECORD_TYPE__RECORDER_CHECKOUT ||
        r->type == FT__RECORD_TYPE__RECORDER_RETURN) {
        bool has_b, has_f;
        double battery = field_number(r, "battery_pct", &has_b);
        double free_mb = field_number(r, "free_mb", &has_f);
        for (size_t i = 0; i < r->n_recorders; i++) {
            json_t *h =
                json_pack("{s:I, s:s}", "at_ms", (json_int_t)it->time_ms, "source", it->type);
            if (has_b) {
                json_object_set_new(h, "battery_pct", json_real(battery));
            }
            if (has_f) {
                json_object_set_new(h, "free_mb", json_real(free_mb));
            }
            note_recorder(d, r->recorders[i], h);
        }
    }
}

static void fill_media(cat_item_t *it, const Ft__MediaManifest *m, int64_t off, cat_device_t *d)
{
    it->kind = CAT_MEDIA;
    it->type = media_kind_name(m->kind);
    it->id = malloc(m->file_id.len * 2 + 1);
    if (it->id) {
        hex_encode(m->file_id.data, m->file_id.len, it->id);
    }
    it->case_id = dup_or_empty(it, m->case_id);
    it->cause = dup_or_empty(it, m->cause);
    it->party = dup_or_empty(it, m->party);
    it->unit = dup_or_empty(it, m->unit);
    it->officers = dup_or_empty(it, m->officer);
    it->recorders = dup_or_empty(it, m->recorder);
    it->media = dup_or_empty(it, NULL);
    it->amends = dup_or_empty(it, NULL);
    it->media_unsuitable = dup_or_empty(it, NULL);
    it->start_ms = tm(m->start, off);
    it->end_ms = tm(m->end, off);
    it->time_ms = it->start_ms;
    it->media_size = m->size;
    d->media_bytes += m->size;
    if (m->merkle_root.len == sizeof it->blob_id) {
        memcpy(it->blob_id, m->merkle_root.data, sizeof it->blob_id);
        it->has_blob = true;
    }
}

static void fill_event(cat_item_t *it, const Ft__DeviceEvent *e, int64_t off, cat_device_t *d)
{
    it->kind = CAT_EVENT;
    it->type = device_event_name(e->kind);
    it->recorders = dup_or_empty(it, e->recorder);
    it->time_ms = tm(e->time, off);
    if (e->kind == FT__DEVICE_EVENT_KIND__BATTERY_LOW ||
        e->kind == FT__DEVICE_EVENT_KIND__STORAGE_FULL ||
        e->kind == FT__DEVICE_EVENT_KIND__STORAGE_OK ||
        e->kind == FT__DEVICE_EVENT_KIND__RECORDING_STOPPED ||
        e->kind == FT__DEVICE_EVENT_KIND__INGEST_FAILED) {
        note_recorder(d, e->recorder,
                      json_pack("{s:s, s:o, s:I}", "event", it->type, "detail",
                                utf8_json_string(e->detail ? e->detail : ""), "event_at_ms",
                                (json_int_t)it->time_ms));
    }
}

/* ---- record identity (hub/gaps/identity.h) -------------------------------- */

/* ---- items by ref ---------------------------------------------------------- */

static uint64_t ref_hash(const char *ref)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *q = (const unsigned char *)ref; *q; q++) {
        h = (h ^ *q) * 1099511628211ULL;
    }
    return h;
}

static int refs_add(catalog_t *c, size_t x)
{
    if (!c->refs_cap || 2 * c->n > c->refs_cap) {
        size_t cap = c->refs_cap ? 2 * c->refs_cap : 1024;
        while (2 * c->n > cap) {
            cap *= 2;
        }
        size_t *t = malloc(cap * sizeof *t);
        if (!t) {
            return FT_ENOMEM;
        }
        for (size_t i = 0; i < cap; i++) {
            t[i] = SIZE_MAX;
        }
        free(c->refs);
        c->refs = t;
        c->refs_cap = cap;
        for (size_t k = 0; k + 1 < c->n; k++) { /* all but x, filed below */
            if (k != x) {
                size_t i = (size_t)ref_hash(c->items[k].ref) & (cap - 1);
                while (t[i] != SIZE_MAX) {
                    i = (i + 1) & (cap - 1);
                }
                t[i] = k;
            }
        }
    }
    size_t mask = c->refs_cap - 1;
    size_t i = (size_t)ref_hash(c->items[x].ref) & mask;
    while (c->refs[i] != SIZE_MAX) {
        i = (i + 1) & mask;
    }
    c->refs[i] = x;
    return FT_OK;
}

const cat_item_t *catalog_find(const catalog_t *c, const char *ref)
{
    if (!c->refs_cap || !ref) {
        return NULL;
    }
    size_t mask = c->refs_cap - 1;
    for (size_t i = (size_t)ref_hash(ref) & mask; c->refs[i] != SIZE_MAX; i = (i + 1) & mask) {
        if (strcmp(c->items[c->refs[i]].ref, ref) == 0) {
            return &c->items[c->refs[i]];
        }
    }
    return NULL;
}

static bool same_ident(const cat_item_t *a, const cat_item_t *b)
{
    return strcmp(a->unit, b->unit) == 0 && strcmp(a->case_id, b->case_id) == 0 &&
           strcmp(a->id, b->id) == 0;
}

static uint64_t ident_hash(const cat_item_t *it)
{
    uint64_t h = 1469598103934665603ULL;
    const char *parts[] = {it->unit, it->case_id, it->id};
    for (size_t p = 0; p < 3; p++) {
        for (const unsigned char *q = (const unsigned char *)parts[p]; *q; q++) {
            h = (h ^ *q) * 1099511628211ULL;
        }
        h = (h ^ 0x1F) * 1099511628211ULL;
    }
    return h;
}

/* The slot of it's identity in the table: its first item, or an empty slot. */
static size_t *ident_slot(catalog_t *c, const cat_item_t *it)
{
    size_t mask = c->idents_cap - 1;
    for (size_t i = (size_t)ident_hash(it) & mask;; i = (i + 1) & mask) {
        size_t *slot = &c->idents[i];
        if (*slot == SIZE_MAX || same_ident(&c->items[*slot], it)) {
            return slot;
        }
    }
}

static int ident_grow(catalog_t *c)
{
    if (c->idents_cap && 2 * (c->idents_n + 1) <= c->idents_cap) {
        return FT_OK;
    }
    size_t old_cap = c->idents_cap, *old = c->idents;
    c->idents_cap = old_cap ? 2 * old_cap : 1024;
    c->idents = malloc(c->idents_cap * sizeof *c->idents);
    if (!c->idents) {
        c->idents = old;
        c->idents_cap = old_cap;
        return FT_ENOMEM;
    }
    for (size_t i = 0; i < c->idents_cap; i++) {
        c->idents[i] = SIZE_MAX;
    }
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i] != SIZE_MAX) {
            *ident_slot(c, &c->items[old[i]]) = old[i];
        }
    }
    free(old);
    return FT_OK;
}

/* Files the record item at index x under its identity and decides again,
 * for every entry of that identity, which is the record and which are its
 * witnesses or conflicting versions. */
static int ident_add(catalog_t *c, size_t x)
{
    cat_item_t *it = &c->items[x];
    it->primary = x;
    it->next_same = SIZE_MAX;
    if (!it->id[0]) {
        return FT_OK;
    }
    int err = ident_grow(c);
    if (err != FT_OK) {
        return err;
    }
    size_t *slot = ident_slot(c, it);
    if (*slot == SIZE_MAX) {
        *slot = x;
        c->idents_n++;
        it->role = IDENT_PRIMARY;
        return FT_OK;
    }
    size_t n = 1, last = *slot;
    while (c->items[last].next_same != SIZE_MAX) {
        last = c->items[last].next_same;
        n++;
    }
    c->items[last].next_same = x;
    n++;
    ident_entry_t *e = calloc(n, sizeof *e);
    ident_out_t *out = calloc(n, sizeof *out);
    size_t *at = calloc(n, sizeof *at);
    ident_conflict_t *ic = NULL;
    size_t nic = 0;
    err = e && out && at ? FT_OK : FT_ENOMEM;
    size_t k = 0;
    for (size_t i = *slot; err == FT_OK && i != SIZE_MAX; i = c->items[i].next_same) {
        const cat_item_t *m = &c->items[i];
        at[k] = i;
        e[k] = (ident_entry_t){.unit = m->unit,
                               .case_id = m->case_id,
                               .id = m->id,
                               .amends = m->amends,
                               .order = m->arrival,
                               .ref = m->ref};
        memcpy(e[k].content, m->content, IDENT_HASH_BYTES);
        k++;
    }
    if (err == FT_OK) {
        err = ident_group(e, n, out, &ic, &nic);
    }
    for (size_t i = 0; err == FT_OK && i < n; i++) {
        c->items[at[i]].role = out[i].role;
        c->items[at[i]].primary = at[out[i].primary];
    }
    free(e);
    free(out);
    free(at);
    free(ic);
    return err;
}

json_t *catalog_witnesses(const catalog_t *c, const cat_item_t *it, ident_role role)
{
    json_t *a = json_array();
    if (!a || !it->id || !it->id[0] || !c->idents_cap) {
        return a;
    }
    size_t self = (size_t)(it - c->items);
    size_t mask = c->idents_cap - 1, first = SIZE_MAX;
    for (size_t i = (size_t)ident_hash(it) & mask; c->idents[i] != SIZE_MAX; i = (i + 1) & mask) {
        if (same_ident(&c->items[c->idents[i]], it)) {
            first = c->idents[i];
            break;
        }
    }
    if (role == IDENT_WITNESS) {
        json_array_append_new(a, json_string(it->ref));
    }
    for (size_t i = first; i != SIZE_MAX; i = c->items[i].next_same) {
        const cat_item_t *m = &c->items[i];
        if (i != self && m->primary == self && m->role == role) {
            json_array_append_new(a, json_string(m->ref));
        }
    }
    return a;
}

/* A manifest that supersedes an earlier one of its own device (a file the
 * edge took before its writer had finished, docs/media.md) hides that one:
 * views show one clip. Another device's item is never touched. */
/* Whether refs a and b ("DEVICE-ID/epoch/seq") share device and epoch. */
static bool same_log(const char *a, const char *b)
{
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    return sa && sb && sa - a == sb - b && memcmp(a, b, (size_t)(sa - a)) == 0;
}

/* A whole copy replaces the clip it names (docs/media.md), as the engine
 * decides it (hub/engine/index.c supersede_media, gapinput_new): a media ID
 * names the first clip with that ID, until a manifest of the same device
 * and epoch supersedes it; then the clip it named leaves (if it is another
 * and still a clip) and the ID names the new manifest (link.took). */
static void mark_superseded(catalog_t *c, cat_item_t *it, const Ft__MediaManifest *m)
{
    char old[2 * CATALOG_ID_MAX + 1];
    if (m->supersedes.len == 0 || m->supersedes.len > CATALOG_ID_MAX) {
        return;
    }
    hex_encode(m->supersedes.data, m->supersedes.len, old);
    cat_item_t *holder = NULL;
    for (size_t i = c->n; i-- > 0 && !holder;) { /* the last that took the ID over */
        cat_item_t *o = &c->items[i];
        if (o->kind == CAT_MEDIA && o->link.took && strcmp(o->link.took, old) == 0) {
            holder = o;
        }
    }
    for (size_t i = 0; i < c->n && !holder; i++) { /* else the first with the ID */
        cat_item_t *o = &c->items[i];
        if (o->kind == CAT_MEDIA && o->id && strcmp(o->id, old) == 0) {
            holder = o;
        }
    }
    if (holder && holder != it && !holder->superseded && same_log(holder->ref, it->ref)) {
        holder->superseded = true;
        it->link.took = strdup(old);
    }
}

static int64_t offset_of(const scan_t *s, const uint8_t *device)
{
    for (size_t i = 0; i < s->offs.n; i++) {
        if (memcmp(s->offs.v[i].device, device, DEVID_BYTES) == 0) {
            return s->offs.v[i].offset_ms;
        }
    }
    return 0;
}

static int add_entry(void *ctx, const store_entry_t *e)
{
    scan_t *s = ctx;
    catalog_t *c = s->c;
    entry_view_t v;
    if (entry_open(e->raw, e->len, &v) != FT_OK) {
        return 0; /* the store holds only verified entries; skip what cannot be read */
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        cat_item_t *ni = realloc(c->items, cap * sizeof *ni);
        if (!ni) {
            entry_view_free(&v);
            return FT_ENOMEM;
        }
        c->items = ni;
        c->cap = cap;
    }
    cat_item_t *it = &c->items[c->n];
    memset(it, 0, sizeof *it);
    devid_format(e->device, it->device);
    snprintf(it->ref, sizeof it->ref, "%s/%llu/%llu", it->device, (unsigned long long)e->epoch,
             (unsigned long long)e->seq);
    it->arrival = e->arrival;
    it->bytes = e->len;
    it->offset_ms = offset_of(s, e->device);
    cat_device_t *d = device_row(c, it->device);
    if (!d) {
        entry_view_free(&v);
        return FT_ENOMEM;
    }
    const Ft__Body *b = v.entry->body;
    int64_t logged_ms = (int64_t)hlc_ms(v.entry->hlc);
    bool linked = true;
    switch (b ? b->kind_case : FT__BODY__KIND__NOT_SET) {
    case FT__BODY__KIND_RECORD:
        fill_record(it, b->record, it->offset_ms, d);
        /* ties between checkouts at one time: the index's ref order */
        memcpy(it->link.checkout.order, e->device, DEVID_BYTES);
        put_be64(it->link.checkout.order + DEVID_BYTES, e->epoch);
        put_be64(it->link.checkout.order + DEVID_BYTES + 8, e->seq);
        linked = link_record(it, b->record, logged_ms, it->offset_ms);
        if (b->record->id && b->record->id[0] &&
            devlog_record_hash(b->record, it->content) != FT_OK) {
            entry_view_free(&v);
            return FT_ENOMEM;
        }
        break;
    case FT__BODY__KIND_MEDIA:
        fill_media(it, b->media, it->offset_ms, d);
        linked = link_media(it, b->media, it->ref, logged_ms, it->offset_ms);
        if (b->media->has_supersedes) {
            mark_superseded(c, it, b->media);
        }
        break;
    case FT__BODY__KIND_EVENT:
        fill_event(it, b->event, it->offset_ms, d);
        break;
    default:
        it->kind = CAT_OTHER;
        it->type = b ? entry_body_kind(b) : "unknown";
        break;
    }
    if (!linked) {
        item_free(it);
        entry_view_free(&v);
        return FT_ENOMEM;
    }
    if (it->time_ms == 0) {
        it->time_ms = (int64_t)hlc_ms(v.entry->hlc) + it->offset_ms;
    }
    const char **strs[] = {(const char **)&it->id,        (const char **)&it->case_id,
                           (const char **)&it->cause,     (const char **)&it->party,
                           (const char **)&it->unit,      (const char **)&it->officers,
                           (const char **)&it->recorders, (const char **)&it->media,
                           (const char **)&it->amends,    (const char **)&it->media_unsuitable};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        if (!*strs[i]) {
            *(char **)strs[i] = strdup("");
        }
    }
    it->body = b ? body_to_json(b) : json_object();
    entry_view_free(&v);
    d->entries++;
    d->bytes += e->len;
    if (it->time_ms > d->last_entry_ms) {
        d->last_entry_ms = it->time_ms;
    }
    c->n++;
    c->cursor = e->arrival;
    if (refs_add(c, c->n - 1) != FT_OK) {
        return FT_ENOMEM;
    }
    if (it->kind == CAT_RECORD) {
        int ierr = ident_add(c, c->n - 1);
        if (ierr != FT_OK) {
            return ierr;
        }
    } else {
        it->primary = c->n - 1;
        it->next_same = SIZE_MAX;
    }
    s->added++;
    return 0;
}

static int add_offset(void *ctx, const store_device_t *d)
{
    scan_t *s = ctx;
    if (s->offs.n == s->offs.cap) {
        size_t cap = s->offs.cap ? s->offs.cap * 2 : 16;
        offset_t *nv = realloc(s->offs.v, cap * sizeof *nv);
        if (!nv) {
            return FT_ENOMEM;
        }
        s->offs.v = nv;
        s->offs.cap = cap;
    }
    offset_t *o = &s->offs.v[s->offs.n++];
    memcpy(o->device, d->device, DEVID_BYTES);
    o->offset_ms = 0;
    return 0;
}

int catalog_update(catalog_t *c, store_t *store, size_t *added)
{
    scan_t s = {.c = c, .store = store};
    store_txn_t *t = NULL;
    uint64_t count = 0, last = 0;
    int err = store_begin(store, false, &t);
    if (err == FT_OK) {
        err = store_entry_count(t, &count, &last);
    }
    if (err == FT_OK && last > c->cursor) {
        err = store_device_iter(t, add_offset, &s);
        for (size_t i = 0; err == FT_OK && i < s.offs.n; i++) {
            store_status_t st;
            err = store_status_get(t, s.offs.v[i].device, &st);
            if (err == FT_OK && st.has_clock_offset) {
                s.offs.v[i].offset_ms = st.clock_offset_ms;
            }
        }
    }
    store_abort(&t);
    if (err == FT_OK && last > c->cursor) {
        pthread_rwlock_wrlock(&c->lock);
        err = store_entries_since(store, c->cursor, add_entry, &s);
        pthread_rwlock_unlock(&c->lock);
    }
    free(s.offs.v);
    if (added) {
        *added = s.added;
    }
    return err;
}

void catalog_update_held(catalog_t *c, catalog_held_fn held, void *ctx)
{
    pthread_rwlock_wrlock(&c->lock);
    for (size_t i = 0; i < c->n; i++) {
        cat_item_t *it = &c->items[i];
        if (it->kind == CAT_MEDIA && it->has_blob && !it->held && held(ctx, it->blob_id)) {
            it->held = true;
            cat_device_t *d = device_row(c, it->device);
            if (d) {
                d->media_held_bytes += it->media_size;
            }
        }
    }
    pthread_rwlock_unlock(&c->lock);
}

void catalog_read(catalog_t *c)
{
    pthread_rwlock_rdlock(&c->lock);
}

const cat_item_t *catalog_items(const catalog_t *c, size_t *n)
{
    *n = c->n;
    return c->items;
}

const cat_device_t *catalog_device(const catalog_t *c, const char *device)
{
    for (size_t i = 0; i < c->n_devices; i++) {
        if (strcmp(c->devices[i].device, device) == 0) {
            return &c->devices[i];
        }
    }
    return NULL;
}

void catalog_done(catalog_t *c)
{
    pthread_rwlock_unlock(&c->lock);
}
