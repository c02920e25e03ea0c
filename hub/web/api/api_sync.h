/* api_sync.h: the dashboard's sync module (sync state, devices (enrol, revoke), live events,
 * /metrics; api_sync.c says which routes). Only the command that starts the server
 * (hub/cmd/cmd_run.c) includes this: the server and the other modules never do. */
#ifndef FT_HUB_API_SYNC_H
#define FT_HUB_API_SYNC_H

#include "web.h"

extern const web_module_t api_sync_module;

#endif
