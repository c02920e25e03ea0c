/* config.c: INI parsing (inih) into a flat key list. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One key = value pair. */
typedef struct {
    char *key;
    char *value;
    int line; /* where it was set (the first "name =" line of its section) */
} pair_t;

struct config_t {
    pair_t *pairs;
    size_t n, cap;
    char *path;
};

/* Parse state handed to inih. */
typedef struct {
    config_t *cfg;
    const char *const *known;
    const char *path;
    char *err;
    size_t errlen;
    int failed;
} parse_t;

/* key matches a known name: equal, or with its one '*' standing for a
 * non-empty part of key. */
static int name_matches(const char *name, const char *key)
{
    const char *star = strchr(name, '*');
    if (!star) {
        return strcmp(name, key) == 0;
    }
    size_t pre = (size_t)(star - name), post = strlen(star + 1), n = strlen(key);
    return n > pre + post && strncmp(name, key, pre) == 0 && strcmp(key + n - post, star + 1) == 0;
}

static int is_known(const char *const *known, const char *key)
{
    if (!known) {
        return 1;
    }
    for (; *known; known++) {
        if (name_matches(*known, key)) {
            return 1;
        }
    }
    return 0;
}

/* Line number of the first "name =" line inside [section] (or before any
 * section when section is empty) in path. inih as packaged in Debian does not
 * pass line numbers to handlers. 0 if not found. */
static int find_line_at(const char *path, const char *section, const char *name, int last)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    char line[1024], current[256] = "";
    size_t n = strlen(name);
    int found = 0;
    for (int no = 1; fgets(line, sizeof line, f); no++) {
        const char *p = line;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '[') {
            const char *close = strchr(p, ']');
            if (close) {
                snprintf(current, sizeof current, "%.*s", (int)(close - p - 1), p + 1);
            }
            continue;
        }
        if (strcmp(current, section ? section : "") == 0 && strncmp(p, name, n) == 0 &&
            strchr(" \t=:", p[n])) {
            found = no;
            if (!last) {
                break;
            }
        }
    }
    fclose(f);
    return found;
}

static int find_line(const char *path, const char *section, const char *name)
{
    return find_line_at(path, section, name, 0);
}

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
    parse_t *p = user;
    char key[256];
    if (section && section[0]) {
        snprintf(key, sizeof key, "%s.%s", section, name);
    } else {
        snprintf(key, sizeof key, "%s", name);
    }
    if (!is_known(p->known, key)) {
        snprintf(p->err, p->errlen, "%s line %d: unknown setting \"%s\"", p->path,
                 find_line(p->path, section, name), key);
        p->failed = 1;
        return 0;
    }
    config_t *c = p->cfg;
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->pairs[i].key, key) == 0) {
            char *v = strdup(value);
            if (!v) {
                p->failed = 1;
                return 0;
            }
            free(c->pairs[i].value);
            c->pairs[i].value = v;
            /* The later line wins: the line kept is the one in effect. */
            c->pairs[i].line = find_line_at(p->path, section, name, 1);
            return 1;
        }
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        pair_t *bigger = realloc(c->pairs, cap * sizeof *bigger);
        if (!bigger) {
            p->failed = 1;
            return 0;
        }
        c->pairs = bigger;
        c->cap = cap;
    }
    c->pairs[c->n].key = strdup(key);
    c->pairs[c->n].value = strdup(value);
    c->pairs[c->n].line = find_line(p->path, section, name);
    if (!c->pairs[c->n].key || !c->pairs[c->n].value) {
        free(c->pairs[c->n].key);
        free(c->pairs[c->n].value);
        p->failed = 1;
        return 0;
    }
    c->n++;
    return 1;
}

int config_load(const char *path, const char *const *known, config_t **out, char *err,
                size_t errlen)
{
    *out = NULL;
    config_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        return FT_ENOMEM;
    }
    if (!path) {
        *out = cfg;
        return FT_OK;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
        config_destroy(&cfg);
        return FT_ENOTFOUND;
    }
    cfg->path = strdup(path);
    if (!cfg->path) {
        fclose(f);
        config_destroy(&cfg);
        return FT_ENOMEM;
    }
    parse_t p = {.cfg = cfg, .known = known, .path = path, .err = err, .errlen = errlen};
    int rc = ini_parse_file(f, on_pair, &p);
    fclose(f);
    if (p.failed) {
        config_destroy(&cfg);
        return err[0] ? FT_EINVAL : FT_ENOMEM;
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s line %d: not a \"name = value\" line or [section]", path, rc);
        config_destroy(&cfg);
        return FT_EINVAL;
    }
    *out = cfg;
    return FT_OK;
}

int config_secrets_exposed(const config_t *cfg, const char *const *secrets, char *buf, size_t n)
{
    if (n) {
        buf[0] = '\0';
    }
    struct stat st;
    if (!cfg || !secrets || !cfg->path || !cfg->path[0] || stat(cfg->path, &st) != 0 ||
        !(st.st_mode & 077)) {
        return 0;
    }
    char keys[256] = "";
    size_t used = 0, found = 0;
    for (size_t i = 0; i < cfg->n; i++) {
        const char *key = cfg->pairs[i].key;
        int secret = 0;
        for (const char *const *s = secrets; *s && !secret; s++) {
            secret = name_matches(*s, key);
        }
        if (!secret || !cfg->pairs[i].value[0]) {
            continue;
        }
        int w = snprintf(keys + used, sizeof keys - used, "%s%s", found ? ", " : "", key);
        if (w > 0 && (size_t)w < sizeof keys - used) {
            used += (size_t)w;
        }
        found++;
    }
    if (!found) {
        return 0;
    }
    snprintf(buf, n,
             "%s can be read by other users (mode %04o) and holds secrets (%s); "
             "make it readable by the service user only: chmod 600 %s",
             cfg->path, (unsigned)(st.st_mode & 07777), keys, cfg->path);
    return 1;
}

void config_destroy(config_t **cfg_p)
{
    config_t *c = *cfg_p;
    if (!c) {
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        free(c->pairs[i].key);
        free(c->pairs[i].value);
    }
    free(c->pairs);
    free(c->path);
    free(c);
    *cfg_p = NULL;
}

const char *config_get(const config_t *cfg, const char *key)
{
    if (!cfg) {
        return NULL;
    }
    for (size_t i = 0; i < cfg->n; i++) {
        if (strcmp(cfg->pairs[i].key, key) == 0) {
            return cfg->pairs[i].value;
        }
    }
    return NULL;
}

const char *config_pick(const char *flag, const config_t *cfg, const char *key, const char *def)
{
    if (flag) {
        return flag;
    }
    const char *v = config_get(cfg, key);
    return v ? v : def;
}

const char *config_path(const config_t *cfg)
{
    return cfg && cfg->path ? cfg->path : "";
}

size_t config_count(const config_t *cfg)
{
    return cfg ? cfg->n : 0;
}

const char *config_key_at(const config_t *cfg, size_t i)
{
    return cfg && i < cfg->n ? cfg->pairs[i].key : NULL;
}

const char *config_value_at(const config_t *cfg, size_t i)
{
    return cfg && i < cfg->n ? cfg->pairs[i].value : NULL;
}

int config_line_at(const config_t *cfg, size_t i)
{
    return cfg && i < cfg->n ? cfg->pairs[i].line : 0;
}

int config_line(const config_t *cfg, const char *key)
{
    for (size_t i = 0; cfg && i < cfg->n; i++) {
        if (strcmp(cfg->pairs[i].key, key) == 0) {
            return cfg->pairs[i].line;
        }
    }
    return 0;
}

int config_parse_u64(const char *text, uint64_t *out)
{
    if (!text || !*text || *text == '-' || *text == '+') {
        return FT_EINVAL;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0') {
        return FT_EINVAL;
    }
    *out = v;
    return FT_OK;
}

void config_where(const config_t *cfg, const char *key, char *buf, size_t n)
{
    if (!cfg || !cfg->path || !cfg->path[0]) {
        snprintf(buf, n, "the configuration");
        return;
    }
    snprintf(buf, n, "%s line %d", cfg->path, config_line(cfg, key));
}
