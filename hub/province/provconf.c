/* provconf.c: the [province] section of hub.conf (provconf.h). */
#include "provconf.h"

#include "keys.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

static const char *const keys[] = {PROV_CONFIG_KEYS, NULL};

/* A whole number in [lo, hi] or its default. */
static int number(const config_t *cfg, const char *key, uint64_t lo, uint64_t hi, uint32_t def,
                  uint32_t *out, char *err, size_t errlen)
{
    const char *v = config_get(cfg, key);
    *out = def;
    if (!v) {
        return FT_OK;
    }
    uint64_t n = 0;
    if (config_parse_u64(v, &n) != FT_OK || n < lo || n > hi) {
        char where[512];
        config_where(cfg, key, where, sizeof where);
        snprintf(err, errlen, "%s: %s must be a whole number from %llu to %llu, not \"%.40s\"",
                 where, key, (unsigned long long)lo, (unsigned long long)hi, v);
        return FT_EINVAL;
    }
    *out = (uint32_t)n;
    return FT_OK;
}

int prov_conf_read(const config_t *cfg, prov_conf_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char where[512];
    const char *url = config_get(cfg, "province.url");
    if (!url) {
        for (size_t i = 0; keys[i]; i++) {
            if (config_get(cfg, keys[i])) {
                config_where(cfg, keys[i], where, sizeof where);
                snprintf(err, errlen,
                         "%s: %s is set but province.url is not: the [province] section needs "
                         "url = postgresql://... to forward",
                         where, keys[i]);
                return FT_EINVAL;
            }
        }
        return FT_OK;
    }
    config_where(cfg, "province.url", out->url_where, sizeof out->url_where);
    if (strncmp(url, "postgresql://", 13) != 0 && strncmp(url, "postgres://", 11) != 0) {
        snprintf(err, errlen,
                 "%s: province.url must be a PostgreSQL URL "
                 "(postgresql://USER:PASSWORD@HOST:PORT/DATABASE)",
                 out->url_where);
        return FT_EINVAL;
    }
    if (strlen(url) >= sizeof out->url) {
        snprintf(err, errlen, "%s: province.url is longer than %zu bytes", out->url_where,
                 sizeof out->url - 1);
        return FT_EINVAL;
    }
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &perr);
    if (!opts) {
        char msg[256] = "it does not parse";
        if (perr) {
            snprintf(msg, sizeof msg, "%s", perr);
            size_t n = strlen(msg);
            while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) {
                msg[--n] = '\0';
            }
            PQfreemem(perr);
        }
        snprintf(err, errlen, "%s: province.url is not a valid PostgreSQL URL: %s", out->url_where,
                 msg);
        return FT_EINVAL;
    }
    bool has_db = false, port_ok = true;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (strcmp(o->keyword, "dbname") == 0 && o->val && o->val[0]) {
            has_db = true;
        }
        /* libpq checks a port only when it connects: check it here (a
         * comma-separated list for several hosts), so that a typo is named
         * at start-up with its line. */
        if (strcmp(o->keyword, "port") == 0 && o->val) {
            unsigned long v = 0;
            size_t digits = 0;
            for (const char *p = o->val;; p++) {
                if (*p >= '0' && *p <= '9') {
                    v = v * 10 + (unsigned long)(*p - '0');
                    digits++;
                    port_ok = port_ok && v <= 65535;
                } else if (*p == ',' || *p == '\0') {
                    port_ok = port_ok && digits > 0 && v > 0;
                    v = 0;
                    digits = 0;
                    if (!*p) {
                        break;
                    }
                } else {
                    port_ok = false;
                }
            }
        }
    }
    if (!port_ok) {
        PQconninfoFree(opts);
        snprintf(err, errlen, "%s: province.url has a port that is not a number from 1 to 65535",
                 out->url_where);
        return FT_EINVAL;
    }
    PQconninfoFree(opts);
    if (!has_db) {
        snprintf(err, errlen,
                 "%s: province.url names no database (postgresql://USER@HOST:PORT/DATABASE)",
                 out->url_where);
        return FT_EINVAL;
    }
    snprintf(out->url, sizeof out->url, "%s", url);

    const char *county = config_get(cfg, "province.county");
    if (!county || !*county) {
        snprintf(err, errlen,
                 "%s: the [province] section needs county = NAME (this county's name in the "
                 "province)",
                 out->url_where);
        return FT_EINVAL;
    }
    bool ok = strlen(county) < sizeof out->county;
    for (const unsigned char *p = (const unsigned char *)county; ok && *p; p++) {
        ok = *p >= 0x20 && *p != 0x7f;
    }
    if (!ok) {
        config_where(cfg, "province.county", where, sizeof where);
        snprintf(err, errlen,
                 "%s: province.county must be 1 to %zu bytes without control characters", where,
                 sizeof out->county - 1);
        return FT_EINVAL;
    }
    snprintf(out->county, sizeof out->county, "%s", county);

    const char *ak = config_get(cfg, "province.archive_key");
    if (ak) {
        if (strlen(ak) != 64 || hex_decode(ak, out->archive_pk, 32) != FT_OK) {
            config_where(cfg, "province.archive_key", where, sizeof where);
            snprintf(err, errlen,
                     "%s: province.archive_key must be the province's archive public key, 64 "
                     "hex digits",
                     where);
            return FT_EINVAL;
        }
        out->has_archive = true;
    }
    int rc =
        number(cfg, "province.batch_entries", 1, 100000, 1000, &out->batch_entries, err, errlen);
    if (rc == FT_OK) {
        rc = number(cfg, "province.batch_bytes", 65536, 256u << 20, 8u << 20, &out->batch_bytes,
                    err, errlen);
    }
    if (rc == FT_OK) {
        rc = number(cfg, "province.interval_ms", 10, 3600000, 1000, &out->interval_ms, err, errlen);
    }
    if (rc == FT_OK) {
        rc = number(cfg, "province.retry_max_ms", 100, 3600000, 30000, &out->retry_max_ms, err,
                    errlen);
    }
    if (rc != FT_OK) {
        return rc;
    }
    out->enabled = true;
    return FT_OK;
}

void prov_url_redact(const char *url, char *out, size_t n)
{
    /* scheme://user:password@host... -> scheme://user:****@host... */
    const char *s = strstr(url, "://");
    const char *at = s ? strchr(s + 3, '@') : NULL;
    const char *slash = s ? strchr(s + 3, '/') : NULL;
    if (!s || !at || (slash && slash < at)) {
        snprintf(out, n, "%s", url);
        return;
    }
    const char *colon = memchr(s + 3, ':', (size_t)(at - (s + 3)));
    if (!colon) {
        snprintf(out, n, "%s", url);
        return;
    }
    snprintf(out, n, "%.*s:****%s", (int)(colon - url), url, at);
}
