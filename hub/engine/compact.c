/* compact.c: the compact form of a record (compact.h). */
#include "compact.h"
#include "record.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define ABSENT 0xFFFFFFFFu

enum { K_NONE = 0, K_TEXT = 1, K_FLAG = 2, K_NUMBER = 3 };

/* ---- writing ------------------------------------------------------------ */

typedef struct {
    uint8_t *buf;
    size_t len, cap;
} cw_t;

static void put(cw_t *w, const void *p, size_t n)
{
    if (w->len + n <= w->cap) {
        memcpy(w->buf + w->len, p, n);
    }
    w->len += n;
}

static void put_u32(cw_t *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(w, b, sizeof b);
}

static void put_u64(cw_t *w, uint64_t v)
{
    put_u32(w, (uint32_t)(v >> 32));
    put_u32(w, (uint32_t)v);
}

static void put_str(cw_t *w, const char *s)
{
    if (!s) {
        put_u32(w, ABSENT);
        return;
    }
    size_t n = strlen(s);
    if (n >= ABSENT) {
        w->len = SIZE_MAX / 2; /* never fits */
        return;
    }
    put_u32(w, (uint32_t)n);
    put(w, s, n);
}

static void put_strs(cw_t *w, char *const *s, size_t n)
{
    put_u32(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        put_str(w, s[i] ? s[i] : "");
    }
}

size_t compact_encode(const Ft__Record *rec, uint8_t *buf, size_t cap)
{
    cw_t w = {buf, 0, cap < COMPACT_MAX_BYTES ? cap : COMPACT_MAX_BYTES};
    uint8_t v = COMPACT_VERSION;
    put(&w, &v, 1);
    put_u32(&w, (uint32_t)rec->type);
    put_str(&w, rec->id);
    put_str(&w, rec->amends);
    put_str(&w, rec->media_unsuitable);
    put_strs(&w, rec->officers, rec->n_officers);
    put_strs(&w, rec->recorders, rec->n_recorders);
    put_strs(&w, rec->media, rec->n_media);
    put_u32(&w, (uint32_t)rec->n_fields);
    for (size_t i = 0; i < rec->n_fields; i++) {
        const Ft__FieldValue *fv = rec->fields[i];
        put_str(&w, fv && fv->key ? fv->key : "");
        uint8_t kind = K_NONE;
        if (fv) {
            switch (fv->value_case) {
            case FT__FIELD_VALUE__VALUE_TEXT:
                kind = fv->text ? K_TEXT : K_NONE;
                break;
            case FT__FIELD_VALUE__VALUE_FLAG:
                kind = K_FLAG;
                break;
            case FT__FIELD_VALUE__VALUE_NUMBER:
                kind = K_NUMBER;
                break;
            case FT__FIELD_VALUE__VALUE_JSON: {
                /* What the rules ask of a JSON value: does it hold something. */
                Ft__Record one = FT__RECORD__INIT;
                Ft__FieldValue *only = (Ft__FieldValue *)fv;
                one.n_fields = 1;
                one.fields = &only;
                kind = fv->key && record_field_present(&one, fv->key) ? K_FLAG : K_NONE;
                break;
            }
            default:
                break;
            }
        }
        put(&w, &kind, 1);
        if (kind == K_TEXT) {
            put_str(&w, fv->text);
        } else if (kind == K_FLAG) {
            uint8_t f = fv->value_case == FT__FIELD_VALUE__VALUE_FLAG ? (fv->flag ? 1 : 0) : 1;
            put(&w, &f, 1);
        } else if (kind == K_NUMBER) {
            uint64_t bits;
            memcpy(&bits, &fv->number, sizeof bits);
            put_u64(&w, bits);
        }
    }
    return w.len <= w.cap ? w.len : 0;
}

/* ---- reading ------------------------------------------------------------ */

typedef struct {
    const uint8_t *p;
    size_t n, off;
    bool bad;
} cr_t;

static const uint8_t *take(cr_t *r, size_t n)
{
    if (r->bad || n > r->n - r->off) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

static uint32_t get_u32(cr_t *r)
{
    const uint8_t *b = take(r, 4);
    return b ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3] : 0;
}

static uint8_t get_u8(cr_t *r)
{
    const uint8_t *b = take(r, 1);
    return b ? b[0] : 0;
}

/* A string: its bytes (NULL when absent or bad), its length in *len. */
static const uint8_t *get_str(cr_t *r, uint32_t *len)
{
    *len = get_u32(r);
    if (r->bad || *len == ABSENT) {
        return NULL;
    }
    const uint8_t *s = take(r, *len);
    if (s && memchr(s, '\0', *len)) {
        r->bad = true; /* a C string never holds a NUL */
        return NULL;
    }
    return s;
}

/* Both passes of the decoder: the first (rec NULL) counts, the second fills. */
typedef struct {
    size_t strs, chars, fields;
    char *text; /* next free byte (second pass) */
} sizes_t;

static char *str_out(sizes_t *s, const uint8_t *b, uint32_t n, bool fill)
{
    s->chars += (size_t)n + 1;
    if (!fill) {
        return NULL;
    }
    char *out = s->text;
    memcpy(out, b, n);
    out[n] = '\0';
    s->text += (size_t)n + 1;
    return out;
}

static char *opt_str(cr_t *r, sizes_t *s, bool fill)
{
    uint32_t n;
    const uint8_t *b = get_str(r, &n);
    return b ? str_out(s, b, n, fill) : NULL;
}

static void strs(cr_t *r, sizes_t *s, char ***list, size_t *count, char **slots, bool fill)
{
    uint32_t n = get_u32(r);
    if (n > r->n) { /* each string takes 4 bytes at least */
        r->bad = true;
        return;
    }
    s->strs += n;
    if (fill) {
        *list = n ? slots : NULL;
        *count = n;
    }
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        uint32_t len;
        const uint8_t *b = get_str(r, &len);
        if (!b) {
            r->bad = true;
            return;
        }
        char *x = str_out(s, b, len, fill);
        if (fill) {
            slots[i] = x;
        }
    }
}

static int walk(const uint8_t *p, size_t n, sizes_t *s, Ft__Record *rec, char **slots,
                Ft__FieldValue **fptr, Ft__FieldValue *fvals)
{
    bool fill = rec != NULL;
    cr_t r = {p, n, 0, false};
    if (get_u8(&r) != COMPACT_VERSION) {
        return FT_ECORRUPT;
    }
    uint32_t type = get_u32(&r);
    char *id = opt_str(&r, s, fill);
    char *amends = opt_str(&r, s, fill);
    char *unsuitable = opt_str(&r, s, fill);
    if (fill) {
        rec->type = (Ft__RecordType)type;
        rec->id = id;
        rec->amends = amends;
        rec->media_unsuitable = unsuitable;
    }
    size_t used = 0;
    strs(&r, s, fill ? &rec->officers : NULL, fill ? &rec->n_officers : NULL, slots, fill);
    used = s->strs;
    strs(&r, s, fill ? &rec->recorders : NULL, fill ? &rec->n_recorders : NULL,
         fill ? slots + used : NULL, fill);
    used = s->strs;
    strs(&r, s, fill ? &rec->media : NULL, fill ? &rec->n_media : NULL, fill ? slots + used : NULL,
         fill);
    uint32_t nf = get_u32(&r);
    if (r.bad || nf > n) {
        return FT_ECORRUPT;
    }
    s->fields = nf;
    if (fill) {
        rec->n_fields = nf;
        rec->fields = nf ? fptr : NULL;
    }
    for (uint32_t i = 0; i < nf && !r.bad; i++) {
        uint32_t kn;
        const uint8_t *kb = get_str(&r, &kn);
        if (!kb) {
            return FT_ECORRUPT;
        }
        char *key = str_out(s, kb, kn, fill);
        uint8_t kind = get_u8(&r);
        Ft__FieldValue fv = FT__FIELD_VALUE__INIT;
        fv.key = key;
        if (kind == K_TEXT) {
            uint32_t tn;
            const uint8_t *tb = get_str(&r, &tn);
            if (!tb) {
                return FT_ECORRUPT;
            }
            fv.value_case = FT__FIELD_VALUE__VALUE_TEXT;
            fv.text = str_out(s, tb, tn, fill);
        } else if (kind == K_FLAG) {
            fv.value_case = FT__FIELD_VALUE__VALUE_FLAG;
            fv.flag = get_u8(&r) != 0;
        } else if (kind == K_NUMBER) {
            uint64_t bits = (uint64_t)get_u32(&r) << 32;
            bits |= get_u32(&r);
            fv.value_case = FT__FIELD_VALUE__VALUE_NUMBER;
            memcpy(&fv.number, &bits, sizeof fv.number);
        } else if (kind != K_NONE) {
            return FT_ECORRUPT;
        }
        if (fill) {
            fvals[i] = fv;
            fptr[i] = &fvals[i];
        }
    }
    return r.bad || r.off != n ? FT_ECORRUPT : FT_OK;
}

int compact_decode(const uint8_t *p, size_t n, Ft__Record **out)
{
    *out = NULL;
    sizes_t s = {0};
    int err = walk(p, n, &s, NULL, NULL, NULL, NULL);
    if (err != FT_OK) {
        return err;
    }
    size_t size = sizeof(Ft__Record) + s.fields * sizeof(Ft__FieldValue) +
                  s.fields * sizeof(Ft__FieldValue *) + s.strs * sizeof(char *) + s.chars;
    uint8_t *block = malloc(size);
    if (!block) {
        return FT_ENOMEM;
    }
    Ft__Record *rec = (Ft__Record *)block;
    Ft__Record init = FT__RECORD__INIT;
    *rec = init;
    Ft__FieldValue *fvals = (Ft__FieldValue *)(block + sizeof(Ft__Record));
    Ft__FieldValue **fptr = (Ft__FieldValue **)(fvals + s.fields);
    char **slots = (char **)(fptr + s.fields);
    sizes_t fill = {.text = (char *)(slots + s.strs)};
    err = walk(p, n, &fill, rec, slots, fptr, fvals);
    if (err != FT_OK) {
        free(block);
        return err;
    }
    *out = rec;
    return FT_OK;
}
