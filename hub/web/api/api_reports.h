/* api_reports.h: the dashboard's reports module (search by the Art. 10 classification, and
 * compliance; api_reports.c says which routes). Only the command that starts the server
 * (hub/cmd/cmd_run.c) includes this: the server and the other modules never do. */
#ifndef FT_HUB_API_REPORTS_H
#define FT_HUB_API_REPORTS_H

#include "web.h"

extern const web_module_t api_reports_module;

#endif
