/* evaluator.h: the gap engine inside the hub commands: choosing the rule
 * pack, the evaluation time, the index location, and the evaluation thread
 * of `fieldtrail-hub run`.
 *
 * The thread (evaluator_start) owns an engine and the delivery (PUB socket,
 * webhook threads): every interval it runs engine_step at now (the wall clock,
 * or the time frozen with --now) and hands each committed alert event to
 * delivery_publish. It shares only the store and the hub log with the sync
 * loop, through their own transactions: sync never waits for evaluation.
 * Each step is timed (monotonic clock) into evalstats.h for /metrics.
 */
#ifndef FT_HUB_EVALUATOR_H
#define FT_HUB_EVALUATOR_H

#include "delivery.h"
#include "engine.h"
#include "hub.h"
#include "rules.h"

#include <stdint.h>

#define EVALUATOR_DEFAULT_INTERVAL_MS 500

/* The rule pack: flag, else config `rules`, else the compiled-in default.
 * A pack that does not parse is refused: prints "FILE line N: reason" and
 * returns 1. */
int hub_rules_load(hub_ctx_t *ctx, const char *flag, rulepack_t **out);
/* Parses an evaluation time: RFC 3339 with offset, or Unix milliseconds.
 * FT_EINVAL if neither. */
int hub_parse_now(const char *text, int64_t *out_ms) FT_MUST_CHECK;
/* Opens the engine on STATE/index for ctx (after hub_open). Prints and
 * returns 1 on failure. */
int hub_engine_open(hub_ctx_t *ctx, const rulepack_t *pack, engine_sink_fn sink, void *sink_ctx,
                    engine_t **out);

typedef struct evaluator_t evaluator_t;

typedef struct {
    engine_t *engine;     /* taken: destroyed by evaluator_stop */
    delivery_t *delivery; /* taken: destroyed by evaluator_stop; may be NULL */
    int64_t frozen_now;   /* evaluate at this time always (0 = the wall clock) */
    unsigned interval_ms; /* between steps (0 = EVALUATOR_DEFAULT_INTERVAL_MS) */
} evaluator_opts_t;

/* Starts the thread. FT_OK or FT_ENOMEM. */
int evaluator_start(const evaluator_opts_t *opts, evaluator_t **out) FT_MUST_CHECK;
/* Stops after the step in progress and joins; NULLs *ev_p; safe on NULL. */
void evaluator_stop(evaluator_t **ev_p);
/* The sink that publishes to a delivery_t (ctx). */
void evaluator_sink(void *ctx, const json_t *event);

/* The gap engine in `run`: its options, prepared before sync starts (so a
 * malformed rule pack or a PUB endpoint that cannot be bound refuses the
 * start), started once sync is up, stopped after sync. */
typedef struct {
    const char *rules;       /* --rules FILE */
    const char *now;         /* --now TIME: evaluation clock frozen (tests) */
    const char *publish;     /* --publish ENDPOINT|off */
    const char *webhooks[8]; /* --webhook FORMAT=URL (repeatable) */
    size_t n_webhooks;
    const char *digest_clock; /* --digest-clock TIME: digests' clock starts there (tests) */
    rulepack_t *pack;
    engine_t *engine;
    delivery_t *delivery;
    evaluator_t *ev;
    int64_t frozen_now;
    unsigned interval_ms;
} hub_gaps_t;

#define HUB_GAPS_OPTS                                                                              \
    {"rules", required_argument, NULL, 1001}, {"now", required_argument, NULL, 1002},              \
        {"publish", required_argument, NULL, 1003}, {"webhook", required_argument, NULL, 1004},    \
    {                                                                                              \
        "digest-clock", required_argument, NULL, 1005                                              \
    }

/* The webhooks of hub.conf (alerts.webhooks and [webhook.NAME] sections)
 * and of --webhook flags, the people to mention and the dashboard's
 * address (hub/delivery/route.h). */
typedef struct {
    hook_t *hooks; /* alerts.webhooks, then --webhook flags, then the sections */
    size_t n_hooks;
    route_conf_t conf;
} hub_routes_t;

/* Reads and checks them (flags: --webhook values, may be NULL). Prints
 * "hub.conf line N: ..." and returns 1 when something is wrong. */
int hub_routes_load(hub_ctx_t *ctx, const char *const *flags, size_t n_flags, hub_routes_t *out);
void hub_routes_free(hub_routes_t *r);

/* Handles a gap-engine option of `run`; 1 if opt was one. */
int hub_gaps_opt(hub_gaps_t *g, int opt, const char *arg);
/* Prints the gap-engine options of `run`. */
void hub_gaps_usage(FILE *out);
/* Loads the pack, binds the PUB socket, opens the index. Prints and returns
 * 1 on failure (everything released). */
int hub_gaps_prepare(hub_ctx_t *ctx, hub_gaps_t *g);
/* Starts the evaluation thread. 1 on failure. */
int hub_gaps_start(hub_gaps_t *g);
/* Stops the thread and releases everything; safe after a failed prepare. */
void hub_gaps_stop(hub_gaps_t *g);

#endif
