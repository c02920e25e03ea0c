/* http.h: the hub's web server: dashboard pages, JSON API, server-sent
 * events and /metrics over HTTP (libmicrohttpd), optionally TLS.
 *
 * Started by `fieldtrail-hub run` beside the sync loop. The server runs on
 * its own threads (one per connection, so an event stream may block in its
 * callback), out of a pool that the connection guard (httpguard.h) keeps
 * from slow or idle clients, and shares the hub's store, own log and keys
 * with the sync loop:
 * LMDB serialises writers, and readers never block them. What it answers
 * besides its pages is the modules' (web.h): the command that starts it
 * hands it their table, so the server itself knows no API module.
 *
 * Everything under it is described for users in docs/api.md.
 */
#ifndef FT_HUB_HTTP_H
#define FT_HUB_HTTP_H

#include "config.h"
#include "hubparts.h"
#include "rules.h"

#include <stdbool.h>

#define HTTP_DEFAULT_LISTEN "127.0.0.1:7480"

typedef struct http_t http_t;
struct web_module;  /* web.h: a module of the dashboard (routes, init, poll, fini) */
struct web_backend; /* web.h: where users, sessions and the audit trail live */

/* Settings (config keys http, http_tls_cert, http_tls_key,
 * http_metrics_token and the connection limits http.max_connections,
 * http.max_per_address, http.request_timeout_s, http.max_streams,
 * http.streams_per_session; flags win over them). The limits are kept as
 * text here and checked by http_start (NULL: the default). */
typedef struct {
    const char *listen;              /* "HOST:PORT" (port 0 = any free), or "off" */
    const char *tls_cert;            /* PEM certificate file; TLS when set with tls_key */
    const char *tls_key;             /* PEM private key file */
    const char *metrics_token;       /* bearer token that may read /metrics without a login */
    bool required;                   /* listen was asked for (flag or config): failing to bind
                                        is an error; with the default it is a warning */
    const char *max_connections;     /* connections at once (256) */
    const char *max_per_address;     /* of them from one address (64) */
    const char *request_timeout_s;   /* a request must be in within this (10) */
    const char *max_streams;         /* event streams at once (max_connections / 4) */
    const char *streams_per_session; /* event streams of one session (4) */
} http_opts_t;

/* Fills opts from cfg, with flag_listen (may be NULL) first. */
void http_opts_from_config(const config_t *cfg, const char *flag_listen, http_opts_t *opts);

/* Starts serving the modules (a NULL-ended array, web.h; the caller's:
 * hub/cmd/cmd_run.c) in that order. What ctx points to (store, hublog, keys,
 * state, config), the pack (the rule pack the hub runs: the limits the pages
 * show) and the modules are borrowed and must outlive the server (ctx itself
 * is copied). *out stays NULL when opts->listen is "off". Writes the
 * dashboard's URL to STATE/web/url. When the default address is taken and
 * opts->required is false, logs a warning and serves nothing (FT_OK, *out
 * NULL), so that several hubs on one machine (tests) still run. FT_EINVAL
 * (bad listen address or unreadable TLS files: logged; or a connection
 * limit that is not a whole number in range: logged, naming the key), FT_EIO
 * (bind failed: logged), FT_ENOMEM,
 * or a module's init's error (logged). */
int http_start(const hub_parts_t *ctx, const rulepack_t *pack,
               const struct web_module *const *modules, const http_opts_t *opts,
               http_t **out) FT_MUST_CHECK;
/* The same for any node: be (copied; its ctx is the server's from here on,
 * closed by http_stop or by a failed start) keeps users, sessions and the
 * audit trail and fills the shared handles; cfg is the node's config (the
 * modules' settings: login limits, ...). http_start is this with the
 * county hub's backend (hubweb.c). */
int http_serve(const struct web_backend *be, const config_t *cfg, const rulepack_t *pack,
               const struct web_module *const *modules, const http_opts_t *opts,
               http_t **out) FT_MUST_CHECK;
/* Stops serving (ends event streams first, then connections), finis the
 * modules in reverse order and frees; NULLs *h_p; safe on NULL. */
void http_stop(http_t **h_p);

#endif
