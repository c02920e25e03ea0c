/* uiserver.h: the vehicle's screen: a local web app that `fieldtrail-edge
 * run` serves (libmicrohttpd; pages compiled in, edge/ui/www/; nothing is
 * loaded from elsewhere, so it works with no network at all). Officers sign
 * in with their ID and PIN (edge/ui/officers.h), enter records on forms made
 * from the record contract, check recorders out and in, and see each case
 * judged on the spot by the gap rules the hub runs (edge/ui/vehview.h).
 * What officers and docs see of it: docs/vehicle.md.
 *
 * Everything the screen does is an entry in the signed device log, made the
 * way the command line makes it: a record is imported by recimport_json
 * (edge/ui/recimport.h), naming the signed-in officers; a sign-in, a
 * sign-out and a lockout are AuditEvent entries. There is no other store of
 * what happened (sessions live in memory only).
 *
 * The server includes nothing of edge/: what `run` knows of sync and media
 * comes through the providers the command hands it (ui_providers_t).
 */
#ifndef FT_EDGE_UISERVER_H
#define FT_EDGE_UISERVER_H

#include "devlog.h"
#include "error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define UI_DEFAULT_LISTEN "127.0.0.1:7490"

/* What the command running the server knows and the server asks for. */
typedef struct {
    /* {"sync": {...}, "media": {...}} as `fieldtrail-edge status --json`
     * has them (a new reference), or NULL. */
    json_t *(*status)(void *ctx);
    /* The hub's signing key as the sync link learnt it, to check a rule
     * pack the hub sent (FT_OK, or FT_ENOTFOUND before the first link). */
    int (*hub_key)(void *ctx, uint8_t pk[32]);
    void *ctx;
} ui_providers_t;

typedef struct {
    const char *listen;  /* "HOST:PORT" (port 0: any free), or "off" */
    bool required;       /* listen was asked for (flag or config): failing to bind is an error;
                            with the default it is a warning */
    const char *state;   /* the state directory: officers, STATE/ui/url, the hub's pack */
    const char *unit;    /* edge.conf `unit` (records without one get it), may be NULL */
    const char *vehicle; /* edge.conf `vehicle`, may be NULL */
    devlog_t *log;       /* the device log (borrowed) */
    ui_providers_t prov; /* borrowed until ui_stop */
} ui_opts_t;

typedef struct ui_t ui_t;

/* Starts serving. *out stays NULL when listen is "off", or when the default
 * address is taken and required is false (a warning is logged). Writes the
 * screen's URL to STATE/ui/url. FT_EINVAL (bad listen address), FT_EIO
 * (bind failed), FT_ENOMEM. */
int ui_start(const ui_opts_t *o, ui_t **out) FT_MUST_CHECK;
/* Stops serving and frees; NULLs *u_p; safe on NULL. */
void ui_stop(ui_t **u_p);

#endif
