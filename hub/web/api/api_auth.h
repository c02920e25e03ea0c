/* api_auth.h: the dashboard's auth module (login, logout, who am I, user administration; api_auth.c
 * says which routes). Only the command that starts the server (hub/cmd/cmd_run.c) includes this:
 * the server and the other modules never do. */
#ifndef FT_HUB_API_AUTH_H
#define FT_HUB_API_AUTH_H

#include "web.h"

extern const web_module_t api_auth_module;

#endif
