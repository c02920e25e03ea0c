/* bodyjson.h: a log entry's body as JSON, for listings (`log --json`),
 * timelines and exports. Records use the record JSON format (record.h);
 * other bodies use the names of proto/entry.proto fields. Byte fields are
 * lower-case hex; times are RFC 3339.
 */
#ifndef FT_BODYJSON_H
#define FT_BODYJSON_H

#include "entry.h"

#include <jansson.h>

/* New JSON object describing body (caller decrefs), NULL on ENOMEM. Text
 * that is not valid UTF-8 is in it escaped (utf8.h), never left out. */
json_t *body_to_json(const Ft__Body *body);
/* A one-line human summary of body into buf: valid UTF-8 (text that is not
 * is escaped), cut short on a whole character. */
void body_summary(const Ft__Body *body, char *buf, size_t buflen);
/* Name of a device event kind ("storage_full"), static. */
const char *device_event_name(Ft__DeviceEventKind kind);
/* Name of a media kind ("video"), static. */
const char *media_kind_name(Ft__MediaKind kind);

#endif
