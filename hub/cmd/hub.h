/* hub.h: what every fieldtrail-hub command shares: the parsed common
 * options, the config file, the hub's keys, its store and its own log.
 *
 * State directory layout (default var/hub):
 *   hub.key    all hub keys incl. the archive pair, mode 0600
 *   hub.pub    public keys (what edges and verifiers need)
 *   hub.conf   settings written by init
 *   db/        LMDB: the hub store (hub/store/store.h)
 *   hublog/    LMDB: the hub's own signed log (common/lmdb/devlog.h)
 *   subscribers the alert PUB socket's allow-list (hub/delivery/subscribers.h)
 */
#ifndef FT_HUB_H
#define FT_HUB_H

#include "blobstore.h"
#include "cli.h"
#include "clitext.h"
#include "config.h"
#include "devlog.h"
#include "hubparts.h"
#include "keys.h"
#include "provconf.h"
#include "store.h"

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#define HUB_DEFAULT_STATE "var/hub"

/* Settings a hub.conf may hold (docs/protocol.md, docs/operations.md). */
extern const char *const hub_config_keys[];
/* The program's name, default state directory and config file. */
extern const cli_program_t hub_program;

/* Options every command takes, and what opening the state gives. */
typedef struct {
    const char *state;       /* --state DIR */
    const char *config_path; /* --config FILE (default: STATE/hub.conf if present) */
    const char *log_level;   /* --log-level */
    bool json;               /* --json */
    config_t *cfg;           /* loaded config (after hub_load_config) */
    keys_t keys;             /* hub keys (after hub_open) */
    store_t *store;          /* the hub store (after hub_open) */
    devlog_t *hublog;        /* the hub's own log (after hub_open with the log) */
    hub_parts_t parts;       /* what hub_parts hands to the libraries */
    blobstore_conf_t blobs;  /* media.store and media.s3_* (after hub_load_config) */
    const char *sync_listen; /* `run`: the sync endpoint in effect (--listen or `listen`) */
} hub_ctx_t;

#define HUB_COMMON_OPTS CLI_COMMON_OPTS

/* Handles a common option; 1 if opt was one, 0 if not. */
int hub_common_opt(hub_ctx_t *ctx, int opt, const char *arg);
/* Loads the config file and checks the blob store's settings
 * (hub_blob_conf); prints the reason and returns 1 on failure. */
int hub_load_config(hub_ctx_t *ctx);
/* Loads config and keys, opens the store and (with_log) the hub's own log;
 * prints what to do and returns 1 on failure. */
int hub_open(hub_ctx_t *ctx, bool with_log);
/* Releases everything hub_open acquired. */
void hub_close(hub_ctx_t *ctx);
/* Prints "fieldtrail-hub: msg" to stderr. */
void hub_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parses the common options and the command's own (cli_parse): 0 to go on
 * (optind at the first positional argument), -1 after --help, or 2. */
int hub_parse(hub_ctx_t *ctx, int argc, char **argv, const cli_opt_t *opts,
              void (*usage)(FILE *out));
/* Parses options that are only the common ones plus positional arguments;
 * fills pos[] (up to max_pos) and *n_pos. 0 to go on, -1 after --help, or 2. */
int hub_parse_simple(hub_ctx_t *ctx, int argc, char **argv, void (*usage)(FILE *), const char **pos,
                     int max_pos, int *n_pos);
/* The default endpoint of another hub port: the host the sync endpoint
 * names (ctx->sync_listen, else `listen`, else HUB_DEFAULT_LISTEN) with
 * port, so that the alert PUB socket, media and its data path listen where
 * sync does (loopback when sync is on loopback) unless configured
 * otherwise. buf gets it; returns buf, or fallback if listen names no
 * host and port. */
const char *hub_default_endpoint(hub_ctx_t *ctx, unsigned port, const char *fallback, char *buf,
                                 size_t len);
/* User-supplied text (a name, a reason, a record's field) for a text
 * listing: itself when it holds no control character and is valid UTF-8,
 * else its escaped form (utf8_clean: a newline or an ESC as \xNN), so that
 * no line of a listing can be forged and nothing drives the terminal. The
 * escaped form lives in one of HUB_TEXT_SLOTS rotating buffers: valid until
 * that many more calls (enough for one printf). NULL stays NULL. */
#define HUB_TEXT_SLOTS 32
const char *hub_text(const char *s);
/* RFC 3339 UTC text of a Unix ms time into buf ("-" for 0): for JSON.
 * Text for people uses cli_time (local time with its offset, clitext.h). */
void hub_time_text(int64_t ms, char *buf, size_t len);
/* The pieces of an opened ctx that the hub's libraries borrow (hubparts.h),
 * kept in ctx->parts; valid as long as ctx. */
const hub_parts_t *hub_parts(hub_ctx_t *ctx);

int hub_cmd_init(int argc, char **argv);
int hub_cmd_enroll(int argc, char **argv);
int hub_cmd_revoke(int argc, char **argv);
int hub_cmd_devices(int argc, char **argv);
int hub_cmd_status(int argc, char **argv);
int hub_cmd_integrity(int argc, char **argv);
int hub_cmd_verify(int argc, char **argv);
int hub_cmd_run(int argc, char **argv);
int hub_cmd_evaluate(int argc, char **argv);
int hub_cmd_alerts(int argc, char **argv);
int hub_cmd_timeline(int argc, char **argv);
int hub_cmd_rules(int argc, char **argv);
int hub_cmd_user(int argc, char **argv);
/* `subscriber add|remove|list` (cmd_subscriber.c): the alert PUB socket's allow-list. */
int hub_cmd_subscriber(int argc, char **argv);
/* `media list|get` (cmd_media.c). */
int hub_cmd_media(int argc, char **argv);
/* `retention` and `hold add|remove|list` (cmd_retention.c). */
int hub_cmd_retention(int argc, char **argv);
int hub_cmd_hold(int argc, char **argv);
/* `export` and `archive` (cmd_retention.c). */
int hub_cmd_export(int argc, char **argv);
int hub_cmd_archive(int argc, char **argv);

/* The provincial store's URL: flag if given, else `store` of the config
 * (NULL if neither); cmd_provnode.c. */
const char *hub_store_url(hub_ctx_t *ctx, const char *flag);
/* `verify` of a provincial node: re-verifies what the counties forwarded
 * into the PostgreSQL store at url (cmd_provnode.c). Exit status. */
int hub_provnode_verify(hub_ctx_t *ctx, const char *url);
/* `evaluate` of a provincial node: one engine step at now as node (NULL:
 * `node` of the config, else host:pid). Exit status. */
int hub_provnode_evaluate(hub_ctx_t *ctx, const char *url, const char *node, int64_t now,
                          const char *rules);
/* `alerts` of a provincial node (filters may be NULL). Exit status. */
int hub_provnode_alerts(hub_ctx_t *ctx, const char *url, const char *unit, const char *case_id,
                        bool history, bool brief);
/* `run` of a provincial node: engine steps every alerts.interval_ms until
 * SIGINT/SIGTERM (frozen_now 0: the wall clock), and the dashboard across
 * counties on http_listen (NULL: config `http`, else the default; "off")
 * with modules (NULL-ended; cmd_run.c names them). Exit status. */
struct web_module;
int hub_provnode_run(hub_ctx_t *ctx, const char *url, const char *node, int64_t frozen_now,
                     const char *rules, const char *http_listen,
                     const struct web_module *const *modules);

/* Reads media.store and media.s3_* into ctx->blobs; 0, or 1 after printing
 * the file, line and reason of a bad setting (cmd_media.c). */
int hub_blob_conf(hub_ctx_t *ctx);

struct hub_media_t; /* hub/media/mediapull.h */
/* hub_media_start with the settings of hub.conf (`media.listen`,
 * `media.data_listen`, `media.data_advertise`, `media.window`); 0, or 1
 * after printing why (cmd_media.c). */
int hub_media_start_cfg(hub_ctx_t *ctx, volatile sig_atomic_t *stop, struct hub_media_t **out);

/* The provincial tier (cmd_province.c, docs/province.md). */
int hub_cmd_province(int argc, char **argv);
struct prov_fwd_t; /* hub/province/forward.h */
struct json_t;     /* jansson */
/* Reads the [province] section into *pc; 0, or 1 after printing the file,
 * line and reason. */
int hub_province_conf(hub_ctx_t *ctx, prov_conf_t *pc);
/* For `run`: when pc is enabled, connects once (a setting PostgreSQL
 * refuses for good is an error naming the hub.conf line; PostgreSQL down is
 * a warning) and starts the forwarder's thread (*out; NULL when not
 * enabled). 0 or 1. Stop it with prov_fwd_stop. */
int hub_province_start(hub_ctx_t *ctx, const prov_conf_t *pc, struct prov_fwd_t **out);
/* The forwarding state for `status` (NULL when the hub does not forward
 * and never did); last_arrival: the store's last arrival number. */
struct json_t *hub_province_status_json(hub_ctx_t *ctx, uint64_t last_arrival);
void hub_province_status_print(struct json_t *p, FILE *out);

#endif
