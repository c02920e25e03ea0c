/* api_alerts.h: the dashboard's alerts module (gap alerts as the hub log tells them, and their
 * justification; api_alerts.c says which routes). Only the command that starts the server
 * (hub/cmd/cmd_run.c) includes this: the server and the other modules never do. */
#ifndef FT_HUB_API_ALERTS_H
#define FT_HUB_API_ALERTS_H

#include "web.h"

extern const web_module_t api_alerts_module;

#endif
