/* identity.c: one record, one identity across devices (see identity.h). */
#include "identity.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(const char *s)
{
    return s ? s : "";
}

static bool has_id(const ident_entry_t *e)
{
    return e->id && e->id[0];
}

/* An amendment that keeps the id it amends. */
static bool self_amending(const ident_entry_t *e)
{
    return e->amends && strcmp(e->amends, e->id) == 0;
}

bool ident_earlier(const ident_entry_t *a, const ident_entry_t *b)
{
    if (a->order != b->order) {
        return a->order < b->order;
    }
    return strcmp(str(a->ref), str(b->ref)) < 0;
}

/* Order: identity (unit, case, id, self-amending), then earliest first. */
static int by_identity(const void *pa, const void *pb, void *ctx)
{
    const ident_entry_t *base = ctx;
    const ident_entry_t *a = &base[*(const size_t *)pa];
    const ident_entry_t *b = &base[*(const size_t *)pb];
    int c = strcmp(str(a->unit), str(b->unit));
    if (c == 0) {
        c = strcmp(str(a->case_id), str(b->case_id));
    }
    if (c == 0) {
        c = strcmp(a->id, b->id);
    }
    if (c == 0) {
        c = (int)self_amending(a) - (int)self_amending(b);
    }
    if (c == 0) {
        c = ident_earlier(a, b) ? -1 : ident_earlier(b, a) ? 1 : 0;
    }
    return c;
}

static bool same_identity(const ident_entry_t *a, const ident_entry_t *b);

bool ident_same(const ident_entry_t *a, const ident_entry_t *b)
{
    return has_id(a) && has_id(b) && same_identity(a, b);
}

static bool same_identity(const ident_entry_t *a, const ident_entry_t *b)
{
    return strcmp(str(a->unit), str(b->unit)) == 0 &&
           strcmp(str(a->case_id), str(b->case_id)) == 0 && strcmp(a->id, b->id) == 0 &&
           self_amending(a) == self_amending(b);
}

static void conflict_key(const ident_entry_t *p, const ident_entry_t *o, char *key, size_t n)
{
    char ha[2 * IDENT_HASH_BYTES + 1], hb[2 * IDENT_HASH_BYTES + 1];
    sodium_bin2hex(ha, sizeof ha, p->content, IDENT_HASH_BYTES);
    sodium_bin2hex(hb, sizeof hb, o->content, IDENT_HASH_BYTES);
    const char *lo = strcmp(ha, hb) < 0 ? ha : hb, *hi = lo == ha ? hb : ha;
    snprintf(key, n, "%s|%s|%s|%s|%s", str(p->unit), str(p->case_id), p->id, lo, hi);
}

int ident_group(const ident_entry_t *e, size_t n, ident_out_t *out, ident_conflict_t **conflicts,
                size_t *n_conflicts)
{
    *conflicts = NULL;
    *n_conflicts = 0;
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!order) {
        return FT_ENOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = (ident_out_t){IDENT_ALONE, i};
        if (has_id(&e[i])) {
            order[m++] = i;
        }
    }
    qsort_r(order, m, sizeof *order, by_identity, (void *)e);
    size_t cap = 0;
    int err = FT_OK;
    for (size_t g = 0; g < m && err == FT_OK;) {
        size_t end = g + 1;
        while (end < m && same_identity(&e[order[g]], &e[order[end]])) {
            end++;
        }
        size_t p = order[g];
        out[p] = (ident_out_t){IDENT_PRIMARY, p};
        for (size_t j = g + 1; j < end && err == FT_OK; j++) {
            size_t x = order[j];
            if (memcmp(e[x].content, e[p].content, IDENT_HASH_BYTES) == 0) {
                out[x] = (ident_out_t){IDENT_WITNESS, p};
                continue;
            }
            out[x] = (ident_out_t){IDENT_CONFLICT, p};
            bool first_of_class = true;
            for (size_t k = g + 1; k < j && first_of_class; k++) {
                first_of_class = memcmp(e[order[k]].content, e[x].content, IDENT_HASH_BYTES) != 0;
            }
            if (!first_of_class) {
                continue;
            }
            if (*n_conflicts == cap) {
                cap = cap ? 2 * cap : 4;
                ident_conflict_t *grown = realloc(*conflicts, cap * sizeof *grown);
                if (!grown) {
                    err = FT_ENOMEM;
                    break;
                }
                *conflicts = grown;
            }
            ident_conflict_t *c = &(*conflicts)[(*n_conflicts)++];
            c->primary = p;
            c->other = x;
            conflict_key(&e[p], &e[x], c->key, sizeof c->key);
        }
        g = end;
    }
    free(order);
    if (err != FT_OK) {
        free(*conflicts);
        *conflicts = NULL;
        *n_conflicts = 0;
    }
    return err;
}
