/* api_audit.h: the dashboard's audit module (the audit log (the hub's own signed log) and its
 * verification; api_audit.c says which routes). Only the command that starts the server
 * (hub/cmd/cmd_run.c) includes this: the server and the other modules never do. */
#ifndef FT_HUB_API_AUDIT_H
#define FT_HUB_API_AUDIT_H

#include "web.h"

extern const web_module_t api_audit_module;

#endif
