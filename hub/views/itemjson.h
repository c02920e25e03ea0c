/* itemjson.h: a catalog item as the pages and the JSON API show it, and the
 * time format they show.
 *
 * One function makes an item's JSON for every answer that shows items (the
 * case timeline and export, a media item, search: hub/web/api/), so they
 * cannot differ. The catalog holds its text as shown (valid UTF-8,
 * catalog.h); every string still goes through utf8_json_string, so that only
 * a lack of memory can make it fail, never the text.
 */
#ifndef FT_HUB_ITEMJSON_H
#define FT_HUB_ITEMJSON_H

#include "catalog.h"

#include <jansson.h>
#include <stdint.h>

/* RFC 3339 UTC text of ms (a JSON string), or JSON null for ms <= 0. */
json_t *view_time_json(int64_t ms);

/* The item as JSON: ref, device, kind, type, id, case, cause, party, unit,
 * officers, recorders, offset_ms, activity, time(_ms), start(_ms),
 * end(_ms), size (media), amends, media_unsuitable, text_escaped (when
 * set) and body. NULL only out of memory (logged). */
json_t *cat_item_json(const cat_item_t *it);

#endif
