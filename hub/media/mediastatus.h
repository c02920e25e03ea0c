/* mediastatus.h: STATE/media.status, the running puller's state as
 * `status` and the dashboard read it. The puller (mediapull.c) writes one
 * JSON object padded with spaces to HUB_MEDIA_STATUS_BYTES and rewrites it
 * in place, so that it can still be updated on a full disk; readers need
 * neither the puller nor ZeroMQ (library ft_mediadb). */
#ifndef FT_HUB_MEDIASTATUS_H
#define FT_HUB_MEDIASTATUS_H

#include <jansson.h>

#define HUB_MEDIA_STATUS_FILE "media.status"
#define HUB_MEDIA_STATUS_BYTES 1024

/* The running puller's state from STATE/media.status: {"pid", "state":
 * "running"|"paused"|"stopped" (no hub runs), "since_ms" (paused since),
 * "checked_ms", "retry_s", "free_bytes" (blob store's disk, -1 unknown),
 * "error", "reason", "data_port" (0: no data path), "data_reasked",
 * "data_dropped", "data_forged" (of them: forged or replayed under a current
 * token, dropped before hashing), "data_conns_closed" (connections that did
 * not prove a session), "held_back", "held_reason"}; NULL when there is no
 * such file (no hub ran yet). */
json_t *hub_media_pulling_json(const char *state);

#endif
