/* fuzz_record.c: libFuzzer target for the JSON-lines record import
 * (record_from_line, docs/records.md), the format other systems and
 * `fieldtrail-edge import` feed in.
 *
 * Pins: no input crashes, leaks or reads out of bounds; an accepted line
 * converts back to JSON (record_to_json) and that JSON is accepted again
 * (the codec is lossless, record.h), and the content hash used for import
 * idempotency can be computed for it.
 */
#include "devlog.h"
#include "record.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    Ft__Record *rec = NULL;
    if (record_from_line((const char *)data, size, &rec, err, sizeof err) != FT_OK) {
        return 0;
    }
    uint8_t hash[32];
    if (devlog_record_hash(rec, hash) != FT_OK) {
        abort();
    }
    json_t *j = record_to_json(rec);
    if (!j) {
        abort(); /* made by record_from_json: must convert back */
    }
    Ft__Record *again = NULL;
    if (record_from_json(j, &again, err, sizeof err) != FT_OK) {
        fprintf(stderr, "accepted record does not round-trip: %s\n", err);
        abort();
    }
    if (again->type != rec->type) {
        abort();
    }
    record_free(&again);
    json_decref(j);
    record_free(&rec);
    return 0;
}
