/* fuzz_rules.c: libFuzzer target for the rule pack parser (rules_parse,
 * docs/rules.md): an office may ship its own pack, so its text is input.
 *
 * Pins: no input crashes, leaks or reads out of bounds; a refused pack gives
 * no pack and a reason; an accepted pack always holds the built-in
 * integrity rule, which no pack can switch off.
 */
#include "rules.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
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
