/* provconf.h: the [province] section of hub.conf, which makes a county hub
 * forward into the provincial PostgreSQL (docs/province.md, docs/operations.md
 * "Provincial deployment"):
 *
 *   [province]
 *   url = postgresql://USER:PASSWORD@HOST:PORT/DB?sslmode=verify-full
 *   county = NAME            the county's name in the province (required)
 *   archive_key = HEX        the province's X25519 archive public key (64
 *                            hex digits): file keys are re-sealed to it
 *   batch_entries = 1000     entries per batch (1..100000)
 *   batch_bytes = 8388608    bytes of signed entries per batch (64 KiB..256 MiB)
 *   interval_ms = 1000       how often an idle forwarder looks for new entries
 *   retry_max_ms = 30000     the longest wait between tries while PostgreSQL is down
 *
 * Pure apart from libpq's URL parser (PQconninfoParse, no connection). Every
 * rejected value is an error naming the file and line (config_where); the
 * password is never repeated in a message.
 */
#ifndef FT_PROVCONF_H
#define FT_PROVCONF_H

#include "config.h"
#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROV_COUNTY_MAX 64 /* bytes incl. NUL */
#define PROV_URL_MAX 2048

typedef struct {
    bool enabled; /* province.url is set */
    char url[PROV_URL_MAX];
    char county[PROV_COUNTY_MAX];
    bool has_archive;
    uint8_t archive_pk[32];
    uint32_t batch_entries;
    uint32_t batch_bytes;
    uint32_t interval_ms;
    uint32_t retry_max_ms;
    char url_where[512]; /* "hub.conf line N" of province.url, for later errors */
} prov_conf_t;

/* The hub.conf keys of the section (for hub_config_keys). */
#define PROV_CONFIG_KEYS                                                                           \
    "province.url", "province.county", "province.archive_key", "province.batch_entries",           \
        "province.batch_bytes", "province.interval_ms", "province.retry_max_ms"

/* Reads the section. No province.url and no other province.* key: FT_OK
 * with enabled false. FT_EINVAL with the file, line and reason in err. */
int prov_conf_read(const config_t *cfg, prov_conf_t *out, char *err, size_t errlen) FT_MUST_CHECK;

/* The url with its password replaced by "****" (for logs and status). */
void prov_url_redact(const char *url, char *out, size_t n);

#endif
