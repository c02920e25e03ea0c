/* itemjson.c: a catalog item as JSON (see itemjson.h). */
#include "itemjson.h"
#include "logging.h"
#include "record.h"
#include "utf8.h"

#include <stdbool.h>

json_t *view_time_json(int64_t ms)
{
    if (ms <= 0) {
        return json_null();
    }
    char buf[48];
    rfc3339_format(ms, 0, buf, sizeof buf);
    return json_string(buf);
}

json_t *cat_item_json(const cat_item_t *it)
{
    static const char *const kinds[] = {"", "record", "media", "event", "other"};
    struct {
        const char *key, *text;
    } texts[] = {
        {"ref", it->ref},
        {"device", it->device},
        {"kind", kinds[it->kind]},
        {"type", it->type ? it->type : ""},
        {"id", it->id},
        {"case", it->case_id},
        {"cause", it->cause},
        {"party", it->party},
        {"unit", it->unit},
        {"officers", it->officers},
        {"recorders", it->recorders},
    };
    json_t *o = json_object();
    bool ok = o != NULL;
    for (size_t i = 0; ok && i < sizeof texts / sizeof texts[0]; i++) {
        ok = json_object_set_new(o, texts[i].key, utf8_json_string(texts[i].text)) == 0;
    }
    ok = ok && json_object_set_new(o, "offset_ms", json_integer(it->offset_ms)) == 0 &&
         json_object_set_new(o, "activity", json_boolean(it->activity)) == 0 &&
         json_object_set_new(o, "time", view_time_json(it->time_ms)) == 0 &&
         json_object_set_new(o, "time_ms", json_integer(it->time_ms)) == 0 &&
         json_object_set_new(o, "start", view_time_json(it->start_ms)) == 0 &&
         json_object_set_new(o, "end", view_time_json(it->end_ms)) == 0 &&
         json_object_set_new(o, "start_ms", json_integer(it->start_ms)) == 0 &&
         json_object_set_new(o, "end_ms", json_integer(it->end_ms)) == 0;
    if (ok && it->kind == CAT_MEDIA) {
        ok = json_object_set_new(o, "size", json_integer((json_int_t)it->media_size)) == 0;
    }
    if (ok && it->amends[0]) {
        ok = json_object_set_new(o, "amends", utf8_json_string(it->amends)) == 0;
    }
    if (ok && it->media_unsuitable[0]) {
        ok =
            json_object_set_new(o, "media_unsuitable", utf8_json_string(it->media_unsuitable)) == 0;
    }
    if (ok && it->text_escaped) {
        ok = json_object_set_new(o, "text_escaped", json_true()) == 0;
    }
    if (ok) {
        ok = json_object_set(o, "body", it->body ? it->body : json_null()) == 0;
    }
    if (!ok) {
        json_decref(o);
        log_error("item %s cannot be shown as JSON (out of memory)", it->ref);
        return NULL;
    }
    return o;
}
