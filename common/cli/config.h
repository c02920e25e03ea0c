/* config.h: one INI-style text file per daemon, read with inih.
 *
 * Keys outside a section are named "key"; inside [sec] they are "sec.key".
 * Precedence everywhere: command-line flag > config file > built-in default
 * (config_pick). A key the program does not know is an error naming the file
 * and line, so a typo is never silently ignored. A known name may hold one
 * '*', standing for a non-empty part of the name: "webhook.*.url" accepts
 * the key url of every section [webhook.NAME] (the program then checks NAME
 * and the value, naming the line: config_line).
 */
#ifndef FT_CONFIG_H
#define FT_CONFIG_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct config_t config_t;

/* Loads path. known is a NULL-terminated list of accepted key names (NULL
 * accepts any). On error returns FT_ENOTFOUND / FT_EINVAL / FT_ENOMEM with a
 * sentence in err. path NULL gives an empty config. */
int config_load(const char *path, const char *const *known, config_t **out, char *err,
                size_t errlen) FT_MUST_CHECK;
void config_destroy(config_t **cfg_p);
/* Value of key or NULL (borrowed; valid until destroy). */
const char *config_get(const config_t *cfg, const char *key);
/* flag if non-NULL, else the config value, else def. */
const char *config_pick(const char *flag, const config_t *cfg, const char *key, const char *def);
/* The file it was read from ("" for an empty config; borrowed). */
const char *config_path(const config_t *cfg);
/* The pairs in the order of their first appearance: count, then the key,
 * value and line of pair i (i < count; borrowed). */
size_t config_count(const config_t *cfg);
const char *config_key_at(const config_t *cfg, size_t i);
const char *config_value_at(const config_t *cfg, size_t i);
int config_line_at(const config_t *cfg, size_t i);
/* Line of key in the file: the last line that sets it, whose value is the
 * one in effect (0: not set, or not found). */
int config_line(const config_t *cfg, const char *key);
/* "PATH line N" of key in the file cfg was read from, N the last line that
 * sets it (config_line), for messages that reject a value; "the
 * configuration" when cfg came from no file. */
void config_where(const config_t *cfg, const char *key, char *buf, size_t n);
/* When the file cfg was read from can be read by other users (group or
 * other permission bits) and sets a key matching one of secrets (a
 * NULL-terminated list of names, '*' as in known), writes a sentence saying
 * so (the file's mode, which keys, the chmod that fixes it) into buf and
 * returns 1; else 0 (buf ""). */
int config_secrets_exposed(const config_t *cfg, const char *const *secrets, char *buf, size_t n);
/* Parses an unsigned decimal integer; FT_EINVAL unless the whole text is one. */
int config_parse_u64(const char *text, uint64_t *out) FT_MUST_CHECK;

#endif
