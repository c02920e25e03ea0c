/* route.c: webhook sections, people, filters and mentions (see route.h). */
#include "route.h"
#include "utf8.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- formats ------------------------------------------------------------------ */

static const char *const format_names[] = {"generic", "wecom", "dingtalk", "feishu"};

const char *route_format_name(hook_format f)
{
    return (unsigned)f < 4 ? format_names[f] : "generic";
}

int route_format_parse(const char *s, hook_format *out)
{
    for (unsigned i = 0; i < 4; i++) {
        if (strcmp(s, format_names[i]) == 0) {
            *out = (hook_format)i;
            return FT_OK;
        }
    }
    return FT_EINVAL;
}

unsigned route_format_limit(hook_format f)
{
    /* WeCom and DingTalk group bots: 20 messages a minute per bot; Feishu
     * custom bots: 100 a minute (and 5 a second) (docs/alerts.md "Bots"). */
    return f == HOOK_WECOM || f == HOOK_DINGTALK ? 20 : f == HOOK_FEISHU ? 100 : 0;
}

unsigned route_format_default_rate(hook_format f)
{
    return f == HOOK_WECOM || f == HOOK_DINGTALK ? 18 : f == HOOK_FEISHU ? 90 : 0;
}

/* ---- lists -------------------------------------------------------------------- */

bool route_list_empty(const char *list)
{
    return !list[0];
}

bool route_list_has(const char *list, const char *s)
{
    for (const char *p = list; *p; p += strlen(p) + 1) {
        if (strcmp(p, s) == 0) {
            return true;
        }
    }
    return false;
}

static size_t list_bytes(const char *list)
{
    const char *p = list;
    while (*p) {
        p += strlen(p) + 1;
    }
    return (size_t)(p - list);
}

bool route_list_add(char *list, size_t cap, const char *s)
{
    size_t used = list_bytes(list), n = strlen(s);
    if (n == 0 || used + n + 2 > cap) {
        return false;
    }
    memcpy(list + used, s, n + 1);
    list[used + n + 1] = '\0';
    return true;
}

/* ---- bits --------------------------------------------------------------------- */

static const char *const sev_names[] = {"low", "medium", "high", "critical"};
static const char *const ev_names[] = {"opened", "resolved", "justified"};

unsigned route_severity_bit(const char *s)
{
    for (unsigned i = 0; s && i < 4; i++) {
        if (strcmp(s, sev_names[i]) == 0) {
            return 1u << i;
        }
    }
    return 0;
}

unsigned route_event_bit(const char *state)
{
    if (!state) {
        return 0;
    }
    if (strcmp(state, "open") == 0) {
        return ROUTE_EV_OPENED;
    }
    if (strcmp(state, "resolved") == 0) {
        return ROUTE_EV_RESOLVED;
    }
    return strcmp(state, "justified") == 0 ? ROUTE_EV_JUSTIFIED : 0;
}

/* ---- filters ------------------------------------------------------------------ */

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* "13" takes "13" and "13(2)"; "13(2)" only itself. */
static bool article_matches(const char *want, const char *have)
{
    size_t n = strlen(want);
    return strncmp(have, want, n) == 0 && (have[n] == '\0' || have[n] == '(');
}

bool route_admits_alert(const hook_filter_t *f, const json_t *alert)
{
    if (!route_list_empty(f->units) && !route_list_has(f->units, str(alert, "unit"))) {
        return false;
    }
    if (f->severities && !(f->severities & route_severity_bit(str(alert, "severity")))) {
        return false;
    }
    if (!route_list_empty(f->rules) && !route_list_has(f->rules, str(alert, "rule"))) {
        return false;
    }
    if (!route_list_empty(f->articles)) {
        const char *art = str(alert, "article");
        bool any = false;
        for (const char *p = f->articles; *p && !any; p += strlen(p) + 1) {
            any = article_matches(p, art);
        }
        if (!any) {
            return false;
        }
    }
    return true;
}

bool route_admits(const hook_filter_t *f, const json_t *event)
{
    if (f->events && !(f->events & route_event_bit(str(event, "state")))) {
        return false;
    }
    return route_admits_alert(f, json_object_get(event, "alert"));
}

bool route_sends_now(const hook_t *h, const json_t *event)
{
    if (!route_admits(&h->filter, event)) {
        return false;
    }
    if (h->mode == HOOK_EACH) {
        return true;
    }
    const json_t *a = json_object_get(event, "alert");
    return (h->immediate & route_severity_bit(str(a, "severity"))) != 0;
}

/* ---- mentions ----------------------------------------------------------------- */

static size_t add_person(const person_t **out, size_t n, size_t max, const person_t *p)
{
    for (size_t i = 0; i < n; i++) {
        if (out[i] == p) {
            return n;
        }
    }
    if (n < max) {
        out[n++] = p;
    }
    return n;
}

size_t route_supervisors(const person_t *people, size_t n, const char *unit, const person_t **out,
                         size_t max)
{
    size_t k = 0;
    for (size_t i = 0; unit && i < n; i++) {
        if (route_list_has(people[i].supervises, unit)) {
            k = add_person(out, k, max, &people[i]);
        }
    }
    return k;
}

size_t route_mentions(const person_t *people, size_t n, const json_t *alert, const person_t **out,
                      size_t max)
{
    size_t k = 0, i;
    const json_t *o;
    json_array_foreach(json_object_get(alert, "officers"), i, o)
    {
        const char *officer = json_string_value(o);
        for (size_t j = 0; officer && j < n; j++) {
            if (route_list_has(people[j].officers, officer)) {
                k = add_person(out, k, max, &people[j]);
            }
        }
    }
    const person_t *sup[16];
    size_t ns = route_supervisors(people, n, str(alert, "unit"), sup, 16);
    for (size_t j = 0; j < ns; j++) {
        k = add_person(out, k, max, sup[j]);
    }
    return k;
}

/* ---- parsing ------------------------------------------------------------------ */

typedef struct {
    const char *file;
    char *err;
    size_t errlen;
} ctx_t;

static int fail(const ctx_t *c, int line, const char *section, const char *key, const char *fmt,
                ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    char where[160] = "";
    if (section && key) {
        snprintf(where, sizeof where, "[%s] %s: ", section, key);
    } else if (section) {
        snprintf(where, sizeof where, "[%s] ", section);
    }
    snprintf(c->err, c->errlen, "%s line %d: %s%s", c->file, line, where, why);
    utf8_trim(c->err);
    return FT_EINVAL;
}

/* Splits value on spaces, tabs and commas into a list. */
static int parse_list(const ctx_t *c, int line, const char *sec, const char *key, const char *value,
                      char *list, size_t cap, size_t item_max)
{
    memset(list, 0, cap);
    char *copy = strdup(value);
    if (!copy) {
        return FT_ENOMEM;
    }
    int rc = FT_OK;
    for (char *save = NULL, *w = strtok_r(copy, " \t,", &save); w && rc == FT_OK;
         w = strtok_r(NULL, " \t,", &save)) {
        if (!utf8_valid_str(w)) {
            rc = fail(c, line, sec, key, "\"%s\" is not valid UTF-8", w);
        } else if (strlen(w) > item_max) {
            rc = fail(c, line, sec, key, "\"%s\" is longer than %zu bytes", w, item_max);
        } else if (!route_list_has(list, w) && !route_list_add(list, cap, w)) {
            rc = fail(c, line, sec, key, "the list is longer than %zu bytes", cap - 2);
        }
    }
    free(copy);
    if (rc == FT_OK && route_list_empty(list)) {
        rc = fail(c, line, sec, key, "an empty list (leave the line out to take every one)");
    }
    return rc;
}

/* A set of names as bits: names[i] is bit i. "none" gives 0 when allowed. */
static int parse_bits(const ctx_t *c, int line, const char *sec, const char *key, const char *value,
                      const char *const *names, unsigned n_names, bool none_ok, unsigned *out)
{
    char list[256];
    char all[128] = "";
    for (unsigned i = 0; i < n_names; i++) {
        size_t l = strlen(all);
        snprintf(all + l, sizeof all - l, "%s%s", i ? ", " : "", names[i]);
    }
    if (none_ok && strcmp(value, "none") == 0) {
        *out = 0;
        return FT_OK;
    }
    int rc = parse_list(c, line, sec, key, value, list, sizeof list, 31);
    if (rc != FT_OK) {
        return rc;
    }
    *out = 0;
    for (const char *p = list; *p; p += strlen(p) + 1) {
        unsigned bit = 0;
        for (unsigned i = 0; i < n_names; i++) {
            bit = strcmp(p, names[i]) == 0 ? 1u << i : bit;
        }
        if (!bit) {
            return fail(c, line, sec, key, "\"%s\" is not one of %s%s", p, all,
                        none_ok ? " (or none)" : "");
        }
        *out |= bit;
    }
    return FT_OK;
}

static bool is_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63) {
        return false;
    }
    for (const char *p = s; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') {
            return false;
        }
    }
    return true;
}

static bool is_http_url(const char *s)
{
    return (strncmp(s, "http://", 7) == 0 && s[7]) || (strncmp(s, "https://", 8) == 0 && s[8]);
}

static int parse_times(const ctx_t *c, int line, const char *sec, const char *key,
                       const char *value, hook_t *h)
{
    char list[256];
    int rc = parse_list(c, line, sec, key, value, list, sizeof list, 16);
    if (rc != FT_OK) {
        return rc;
    }
    h->n_digest_at = 0;
    for (const char *p = list; *p; p += strlen(p) + 1) {
        unsigned hh = 0, mm = 0;
        char extra = 0;
        if (strlen(p) != 5 || sscanf(p, "%2u:%2u%c", &hh, &mm, &extra) != 2 || hh > 23 || mm > 59 ||
            !isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[3])) {
            return fail(c, line, sec, key, "\"%s\" is not a local time HH:MM (00:00 to 23:59)", p);
        }
        if (h->n_digest_at == ROUTE_MAX_TIMES) {
            return fail(c, line, sec, key, "at most %d digests a day", ROUTE_MAX_TIMES);
        }
        uint16_t t = (uint16_t)(hh * 60 + mm);
        size_t i = h->n_digest_at;
        while (i > 0 && h->digest_at[i - 1] > t) { /* kept in order */
            h->digest_at[i] = h->digest_at[i - 1];
            i--;
        }
        h->digest_at[i] = t;
        h->n_digest_at++;
    }
    return FT_OK;
}

/* Where each key of a section was set, to check the whole section at once. */
typedef struct {
    char sec[160];
    int first_line;
    int line_of[16];
} seen_t;

static const char *const hook_keys[] = {"url",       "format", "secret",  "units", "severities",
                                        "articles",  "rules",  "events",  "mode",  "digest_at",
                                        "immediate", "rate",   "mention", NULL};
static const char *const person_keys[] = {"name",      "mobile",   "dingtalk_id", "wecom_id",
                                          "feishu_id", "officers", "supervises",  NULL};

static int key_index(const char *const *keys, const char *k)
{
    for (int i = 0; keys[i]; i++) {
        if (strcmp(keys[i], k) == 0) {
            return i;
        }
    }
    return -1;
}

/* Splits "webhook.NAME.KEY": kind "webhook", NAME, KEY. False if it is not
 * a key of that shape. */
static bool split_key(const char *key, const char *kind, char *name, size_t nlen, const char **sub)
{
    size_t kl = strlen(kind);
    if (strncmp(key, kind, kl) != 0 || key[kl] != '.') {
        return false;
    }
    const char *n = key + kl + 1, *dot = strrchr(n, '.');
    if (!dot || dot == n) {
        return false;
    }
    snprintf(name, nlen, "%.*s", (int)(dot - n), n);
    *sub = dot + 1;
    return true;
}

static int set_hook_key(const ctx_t *c, hook_t *h, const char *sec, const char *k, const char *v,
                        int line)
{
    if (strcmp(k, "url") == 0) {
        if (!is_http_url(v) || strlen(v) >= sizeof h->url) {
            return fail(c, line, sec, k,
                        "must be an http:// or https:// URL (shorter than %zu "
                        "bytes)",
                        sizeof h->url);
        }
        snprintf(h->url, sizeof h->url, "%s", v);
        return FT_OK;
    }
    if (strcmp(k, "format") == 0) {
        if (route_format_parse(v, &h->format) != FT_OK) {
            return fail(c, line, sec, k, "\"%s\" is not one of generic, wecom, dingtalk, feishu",
                        v);
        }
        return FT_OK;
    }
    if (strcmp(k, "secret") == 0) {
        if (!v[0] || strlen(v) >= sizeof h->secret || strpbrk(v, " \t")) {
            /* the value itself is never repeated: it is a secret */
            return fail(c, line, sec, k, "must be one word shorter than %zu bytes",
                        sizeof h->secret);
        }
        snprintf(h->secret, sizeof h->secret, "%s", v);
        return FT_OK;
    }
    if (strcmp(k, "units") == 0) {
        return parse_list(c, line, sec, k, v, h->filter.units, sizeof h->filter.units, 255);
    }
    if (strcmp(k, "articles") == 0) {
        return parse_list(c, line, sec, k, v, h->filter.articles, sizeof h->filter.articles, 31);
    }
    if (strcmp(k, "rules") == 0) {
        return parse_list(c, line, sec, k, v, h->filter.rules, sizeof h->filter.rules, 31);
    }
    if (strcmp(k, "severities") == 0) {
        return parse_bits(c, line, sec, k, v, sev_names, 4, false, &h->filter.severities);
    }
    if (strcmp(k, "events") == 0) {
        return parse_bits(c, line, sec, k, v, ev_names, 3, false, &h->filter.events);
    }
    if (strcmp(k, "immediate") == 0) {
        return parse_bits(c, line, sec, k, v, sev_names, 4, true, &h->immediate);
    }
    if (strcmp(k, "mode") == 0) {
        if (strcmp(v, "each") == 0) {
            h->mode = HOOK_EACH;
        } else if (strcmp(v, "digest") == 0) {
            h->mode = HOOK_DIGEST;
        } else {
            return fail(c, line, sec, k, "\"%s\" is not each or digest", v);
        }
        return FT_OK;
    }
    if (strcmp(k, "digest_at") == 0) {
        return parse_times(c, line, sec, k, v, h);
    }
    if (strcmp(k, "rate") == 0) {
        char *end = NULL;
        long r = strtol(v, &end, 10);
        if (!v[0] || *end || r < 1 || r > 6000) {
            return fail(c, line, sec, k, "\"%s\" is not a number of messages a minute (1 or more)",
                        v);
        }
        h->rate = (unsigned)r;
        return FT_OK;
    }
    if (strcmp(k, "mention") == 0) {
        if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0) {
            return fail(c, line, sec, k, "\"%s\" is not yes or no", v);
        }
        h->no_mention = strcmp(v, "no") == 0;
        return FT_OK;
    }
    return fail(c, line, sec, k, "not a webhook setting");
}

/* What a whole hook section must say together. */
static int check_hook(const ctx_t *c, hook_t *h, const seen_t *s)
{
    const int *at = s->line_of;
    int fmt = key_index(hook_keys, "format"), url = key_index(hook_keys, "url");
    if (!at[url]) {
        return fail(c, s->first_line, s->sec, NULL, "has no url");
    }
    if (!at[fmt]) {
        return fail(c, s->first_line, s->sec, NULL,
                    "has no format (generic, wecom, dingtalk or feishu)");
    }
    int sec_line = at[key_index(hook_keys, "secret")];
    if (sec_line && h->format != HOOK_DINGTALK && h->format != HOOK_FEISHU) {
        return fail(c, sec_line, s->sec, "secret",
                    "a signing secret is for dingtalk and feishu robots; a %s hook has none "
                    "(its key is in the URL)",
                    route_format_name(h->format));
    }
    int mode_line = at[key_index(hook_keys, "mode")];
    int times_line = at[key_index(hook_keys, "digest_at")];
    int imm_line = at[key_index(hook_keys, "immediate")];
    if (h->mode == HOOK_DIGEST && !times_line) {
        return fail(c, mode_line, s->sec, "mode",
                    "a digest needs digest_at, the local times to send it (e.g. 08:30)");
    }
    if (h->mode != HOOK_DIGEST && times_line) {
        return fail(c, times_line, s->sec, "digest_at", "digest times need mode = digest");
    }
    if (h->mode != HOOK_DIGEST && imm_line) {
        return fail(c, imm_line, s->sec, "immediate",
                    "immediate names what a digest hook still sends at once: it needs mode = "
                    "digest");
    }
    if (h->mode == HOOK_DIGEST && !imm_line) {
        h->immediate = ROUTE_SEV_CRITICAL; /* integrity and the like go out at once */
    }
    int rate_line = at[key_index(hook_keys, "rate")];
    unsigned limit = route_format_limit(h->format);
    if (rate_line && limit && h->rate > limit) {
        return fail(c, rate_line, s->sec, "rate",
                    "%u is above what a %s robot takes (%u messages a minute); the hub keeps "
                    "below it",
                    h->rate, route_format_name(h->format), limit);
    }
    if (!rate_line) {
        h->rate = route_format_default_rate(h->format);
    }
    return FT_OK;
}

static int check_person(const ctx_t *c, person_t *p, const seen_t *s)
{
    if (!p->mobile[0] && !p->dingtalk_id[0] && !p->wecom_id[0] && !p->feishu_id[0]) {
        return fail(c, s->first_line, s->sec, NULL,
                    "names no way to mention them: give mobile, dingtalk_id, wecom_id or "
                    "feishu_id");
    }
    if (route_list_empty(p->officers) && route_list_empty(p->supervises)) {
        return fail(c, s->first_line, s->sec, NULL,
                    "is mentioned for nothing: give officers (their officer IDs) or supervises "
                    "(units)");
    }
    if (!p->name[0]) {
        snprintf(p->name, sizeof p->name, "%s", p->id);
    }
    return FT_OK;
}

static int set_person_key(const ctx_t *c, person_t *p, const char *sec, const char *k,
                          const char *v, int line)
{
    struct {
        const char *key;
        char *dst;
        size_t cap;
    } one[] = {{"name", p->name, sizeof p->name},
               {"mobile", p->mobile, sizeof p->mobile},
               {"dingtalk_id", p->dingtalk_id, sizeof p->dingtalk_id},
               {"wecom_id", p->wecom_id, sizeof p->wecom_id},
               {"feishu_id", p->feishu_id, sizeof p->feishu_id}};
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        if (strcmp(k, one[i].key) != 0) {
            continue;
        }
        if (!v[0] || strlen(v) >= one[i].cap || !utf8_valid_str(v) ||
            (i > 0 && strpbrk(v, " \t,"))) {
            return fail(c, line, sec, k, "must be %s of at most %zu bytes", i ? "one word" : "text",
                        one[i].cap - 1);
        }
        if (i == 1) {
            for (const char *q = v; *q; q++) {
                if (!isdigit((unsigned char)*q) && *q != '+' && *q != '-') {
                    return fail(c, line, sec, k, "\"%s\" is not a mobile number", v);
                }
            }
        }
        snprintf(one[i].dst, one[i].cap, "%s", v);
        return FT_OK;
    }
    if (strcmp(k, "officers") == 0) {
        return parse_list(c, line, sec, k, v, p->officers, sizeof p->officers, 255);
    }
    if (strcmp(k, "supervises") == 0) {
        return parse_list(c, line, sec, k, v, p->supervises, sizeof p->supervises, 255);
    }
    return fail(c, line, sec, k, "not a person setting");
}

void route_free(route_conf_t *c)
{
    free(c->hooks);
    free(c->people);
    memset(c, 0, sizeof *c);
}

/* Index of the section NAME in names (adding it). */
static int section_of(seen_t **seen, size_t *n, const char *sec, int line, size_t *idx)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*seen)[i].sec, sec) == 0) {
            if (line && (!(*seen)[i].first_line || line < (*seen)[i].first_line)) {
                (*seen)[i].first_line = line;
            }
            *idx = i;
            return FT_OK;
        }
    }
    seen_t *bigger = realloc(*seen, (*n + 1) * sizeof *bigger);
    if (!bigger) {
        return FT_ENOMEM;
    }
    *seen = bigger;
    memset(&bigger[*n], 0, sizeof bigger[*n]);
    snprintf(bigger[*n].sec, sizeof bigger[*n].sec, "%s", sec);
    bigger[*n].first_line = line;
    *idx = (*n)++;
    return FT_OK;
}

/* One kind of section ("webhook" or "person"). */
static int parse_kind(const ctx_t *c, const route_kv_t *kv, size_t n, bool hooks, route_conf_t *out)
{
    const char *kind = hooks ? "webhook" : "person";
    const char *const *keys = hooks ? hook_keys : person_keys;
    seen_t *seen = NULL;
    size_t n_seen = 0;
    int rc = FT_OK;
    /* the sections, in the order of their first line */
    for (size_t i = 0; i < n && rc == FT_OK; i++) {
        char name[80];
        const char *sub;
        if (!split_key(kv[i].key, kind, name, sizeof name, &sub)) {
            continue;
        }
        char sec[160];
        snprintf(sec, sizeof sec, "%s.%s", kind, name);
        if (!is_name(name)) {
            rc = fail(c, kv[i].line, sec, NULL,
                      "the name after \"%s.\" must be letters, digits, - or _ (at most 63)", kind);
            break;
        }
        size_t idx;
        rc = section_of(&seen, &n_seen, sec, kv[i].line, &idx);
        int ki = key_index(keys, sub);
        if (rc == FT_OK && ki < 0) {
            rc = fail(c, kv[i].line, sec, sub, "not a %s setting", kind);
        }
        if (rc == FT_OK) {
            seen[idx].line_of[ki] = kv[i].line ? kv[i].line : -1;
        }
    }
    for (size_t i = 1; rc == FT_OK && i < n_seen; i++) { /* by first line */
        seen_t s = seen[i];
        size_t j = i;
        while (j > 0 && seen[j - 1].first_line > s.first_line) {
            seen[j] = seen[j - 1];
            j--;
        }
        seen[j] = s;
    }
    if (rc == FT_OK && n_seen) {
        if (hooks) {
            out->hooks = calloc(n_seen, sizeof *out->hooks);
            rc = out->hooks ? FT_OK : FT_ENOMEM;
        } else {
            out->people = calloc(n_seen, sizeof *out->people);
            rc = out->people ? FT_OK : FT_ENOMEM;
        }
    }
    for (size_t s = 0; rc == FT_OK && s < n_seen; s++) {
        hook_t *h = hooks ? &out->hooks[s] : NULL;
        person_t *p = hooks ? NULL : &out->people[s];
        const char *name = seen[s].sec + strlen(kind) + 1;
        if (h) {
            snprintf(h->name, sizeof h->name, "%s", name);
            h->line = seen[s].first_line;
        } else {
            snprintf(p->id, sizeof p->id, "%s", name);
        }
        for (size_t i = 0; i < n && rc == FT_OK; i++) {
            char nm[80];
            const char *sub;
            if (!split_key(kv[i].key, kind, nm, sizeof nm, &sub) || strcmp(nm, name) != 0) {
                continue;
            }
            const char *v = kv[i].value ? kv[i].value : "";
            rc = h ? set_hook_key(c, h, seen[s].sec, sub, v, kv[i].line)
                   : set_person_key(c, p, seen[s].sec, sub, v, kv[i].line);
        }
        if (rc == FT_OK) {
            rc = h ? check_hook(c, h, &seen[s]) : check_person(c, p, &seen[s]);
        }
        if (hooks) {
            out->n_hooks = s + 1;
        } else {
            out->n_people = s + 1;
        }
    }
    free(seen);
    return rc;
}

int route_parse(const route_kv_t *kv, size_t n, const char *file, route_conf_t *out, char *err,
                size_t errlen)
{
    memset(out, 0, sizeof *out);
    ctx_t c = {.file = file && file[0] ? file : "config", .err = err, .errlen = errlen};
    int rc = FT_OK;
    for (size_t i = 0; i < n && rc == FT_OK; i++) {
        if (strcmp(kv[i].key, "alerts.dashboard_url") == 0) {
            const char *v = kv[i].value ? kv[i].value : "";
            if (!is_http_url(v) || strlen(v) >= sizeof out->dashboard_url || strpbrk(v, " \t#?")) {
                rc = fail(&c, kv[i].line, "alerts", "dashboard_url",
                          "must be the dashboard's http:// or https:// address, without ? or #");
            } else {
                snprintf(out->dashboard_url, sizeof out->dashboard_url, "%s", v);
            }
        }
    }
    if (rc == FT_OK) {
        rc = parse_kind(&c, kv, n, true, out);
    }
    if (rc == FT_OK) {
        rc = parse_kind(&c, kv, n, false, out);
    }
    if (rc == FT_OK) {
        rc = route_check_unique(out->hooks, out->n_hooks, err, errlen);
    }
    if (rc != FT_OK) {
        route_free(out);
    }
    return rc;
}

static void hook_label(const hook_t *h, char *buf, size_t len)
{
    if (h->name[0]) {
        snprintf(buf, len, "[webhook.%s]", h->name);
    } else {
        snprintf(buf, len, "a %s hook of alerts.webhooks or --webhook",
                 route_format_name(h->format));
    }
}

int route_check_unique(const hook_t *hooks, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (hooks[i].format == hooks[j].format && strcmp(hooks[i].url, hooks[j].url) == 0) {
                char a[120], b[120];
                hook_label(&hooks[j], a, sizeof a);
                hook_label(&hooks[i], b, sizeof b);
                snprintf(err, errlen,
                         "%s and %s have the same format and URL: one robot, one hook (they "
                         "would share one delivery cursor)",
                         a, b);
                return FT_EINVAL;
            }
        }
    }
    return FT_OK;
}

/* ---- description -------------------------------------------------------------- */

static void add(char *buf, size_t len, const char *fmt, ...)
{
    size_t l = strlen(buf);
    if (l >= len) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + l, len - l, fmt, ap);
    va_end(ap);
}

static void add_list(char *buf, size_t len, const char *what, const char *list)
{
    if (route_list_empty(list)) {
        return;
    }
    add(buf, len, "%s%s ", buf[0] ? "; " : "", what);
    for (const char *p = list; *p; p += strlen(p) + 1) {
        add(buf, len, "%s%s", p == list ? "" : ", ", p);
    }
}

static void add_bits(char *buf, size_t len, const char *what, unsigned bits,
                     const char *const *names, unsigned n)
{
    if (!bits) {
        return;
    }
    add(buf, len, "%s%s ", buf[0] ? "; " : "", what);
    bool first = true;
    for (unsigned i = 0; i < n; i++) {
        if (bits & (1u << i)) {
            add(buf, len, "%s%s", first ? "" : ", ", names[i]);
            first = false;
        }
    }
}

void route_describe(const hook_t *h, char *buf, size_t len)
{
    if (!len) {
        return;
    }
    buf[0] = '\0';
    add_list(buf, len, "units", h->filter.units);
    add_bits(buf, len, "severities", h->filter.severities, sev_names, 4);
    add_list(buf, len, "articles", h->filter.articles);
    add_list(buf, len, "rules", h->filter.rules);
    add_bits(buf, len, "events", h->filter.events, ev_names, 3);
    if (!buf[0]) {
        add(buf, len, "every alert event");
    }
    if (h->mode == HOOK_DIGEST) {
        add(buf, len, "; digest at");
        for (size_t i = 0; i < h->n_digest_at; i++) {
            add(buf, len, "%s%02u:%02u", i ? ", " : " ", h->digest_at[i] / 60,
                h->digest_at[i] % 60);
        }
        if (h->immediate) {
            add_bits(buf, len, "immediate", h->immediate, sev_names, 4);
        } else {
            add(buf, len, "; nothing immediate");
        }
    } else {
        add(buf, len, "; each event");
    }
    if (h->rate) {
        add(buf, len, "; at most %u messages a minute", h->rate);
    } else {
        add(buf, len, "; unpaced");
    }
    if (h->secret[0]) {
        add(buf, len, "; signed");
    }
    if (h->no_mention) {
        add(buf, len, "; no mentions");
    }
    utf8_trim(buf);
}
