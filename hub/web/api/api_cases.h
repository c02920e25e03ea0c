/* api_cases.h: the dashboard's cases module (case timelines, case export, media playback;
 * api_cases.c says which routes). Only the command that starts the server (hub/cmd/cmd_run.c)
 * includes this: the server and the other modules never do. */
#ifndef FT_HUB_API_CASES_H
#define FT_HUB_API_CASES_H

#include "web.h"

extern const web_module_t api_cases_module;

#endif
