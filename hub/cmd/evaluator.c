/* evaluator.c: rule pack choice, --now, and the evaluation thread. */
#include "evaluator.h"
#include "evalstats.h"
#include "fsutil.h"
#include "hlc.h"
#include "logging.h"
#include "record.h"
#include "subscribers.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int hub_rules_load(hub_ctx_t *ctx, const char *flag, rulepack_t **out)
{
    *out = NULL;
    const char *path = config_pick(flag, ctx->cfg, "rules", NULL);
    char err[512] = "";
    int rc;
    if (path && path[0] && strcmp(path, "default") != 0) {
        rc = rules_load(path, out, err, sizeof err);
    } else {
        rc = rules_parse(rules_default_text, "default.rules (built in)", out, err, sizeof err);
    }
    if (rc != FT_OK) {
        hub_fail("rule pack refused: %s", err[0] ? err : ft_strerror(rc));
        return 1;
    }
    return 0;
}

int hub_parse_now(const char *text, int64_t *out_ms)
{
    int32_t off = 0;
    if (rfc3339_parse(text, out_ms, &off) == FT_OK) {
        return FT_OK;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v <= 0) {
        return FT_EINVAL;
    }
    *out_ms = v;
    return FT_OK;
}

int hub_engine_open(hub_ctx_t *ctx, const rulepack_t *pack, engine_sink_fn sink, void *sink_ctx,
                    engine_t **out)
{
    char dir[4096];
    if (fsutil_join(dir, sizeof dir, ctx->state, "index") != FT_OK) {
        hub_fail("state directory path is too long");
        return 1;
    }
    engine_opts_t o = {.store = ctx->store,
                       .hublog = ctx->hublog,
                       .pack = pack,
                       .sink = sink,
                       .sink_ctx = sink_ctx};
    int err = engine_new(dir, 0, &o, out);
    if (err != FT_OK) {
        hub_fail("cannot open the case index in %s: %s", dir, ft_strerror(err));
        return 1;
    }
    return 0;
}

#define EVALUATOR_NICE 10

struct evaluator_t {
    evaluator_opts_t o;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

void evaluator_sink(void *ctx, const json_t *event)
{
    /* A justification or resolution is a decision someone took: one line
     * (its text quoted as it was given; the log escapes control characters). */
    const char *state = json_string_value(json_object_get(event, "state"));
    if (state && strcmp(state, "open") != 0) {
        const char *id = json_string_value(json_object_get(event, "alert_id"));
        const char *why = json_string_value(json_object_get(event, "why"));
        log_info("alert %.12s %s: %s", id ? id : "?", state, why ? why : "-");
    }
    delivery_publish(ctx, event);
}

static void *run(void *arg)
{
    evaluator_t *ev = arg;
    int last_err = FT_OK;
    /* The evaluation yields the CPU to the sync loop (docs/benchmarks.md
     * "Log sync"): on Linux a thread's nice value is its own. Receipts, the
     * edges' durable acknowledgement, come first while a backlog is being
     * verified; the evaluator catches up as soon as the loop waits. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), EVALUATOR_NICE) != 0) {
        log_debug("the gap engine's thread keeps the hub's priority");
    }
    pthread_mutex_lock(&ev->mu);
    while (!ev->stop) {
        pthread_mutex_unlock(&ev->mu);
        int64_t now = ev->o.frozen_now ? ev->o.frozen_now : (int64_t)hlc_wall_ms();
        engine_stats_t st = {0};
        double t0 = evalstats_now();
        int err = engine_step(ev->o.engine, now, &st);
        evalstats_record(evalstats_now() - t0, err == FT_OK, st.entries, st.units, st.events);
        if (err != FT_OK && err != last_err) {
            log_error("gap evaluation failed: %s (retrying)", ft_strerror(err));
        } else if (err == FT_OK && (st.entries || st.events)) {
            log_info("gap engine: %llu entries indexed, %llu units evaluated, %llu alert events",
                     (unsigned long long)st.entries, (unsigned long long)st.units,
                     (unsigned long long)st.events);
        }
        last_err = err;
        pthread_mutex_lock(&ev->mu);
        if (ev->stop) {
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)ev->o.interval_ms * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        while (!ev->stop && pthread_cond_timedwait(&ev->cv, &ev->mu, &ts) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&ev->mu);
    return NULL;
}

int evaluator_start(const evaluator_opts_t *opts, evaluator_t **out)
{
    *out = NULL;
    evaluator_t *ev = calloc(1, sizeof *ev);
    if (!ev) {
        return FT_ENOMEM;
    }
    ev->o = *opts;
    if (!ev->o.interval_ms) {
        ev->o.interval_ms = EVALUATOR_DEFAULT_INTERVAL_MS;
    }
    pthread_mutex_init(&ev->mu, NULL);
    pthread_cond_init(&ev->cv, NULL);
    if (pthread_create(&ev->thread, NULL, run, ev) != 0) {
        pthread_cond_destroy(&ev->cv);
        pthread_mutex_destroy(&ev->mu);
        free(ev);
        return FT_ENOMEM;
    }
    *out = ev;
    return FT_OK;
}

void evaluator_stop(evaluator_t **ev_p)
{
    evaluator_t *ev = *ev_p;
    if (!ev) {
        return;
    }
    pthread_mutex_lock(&ev->mu);
    ev->stop = true;
    pthread_cond_broadcast(&ev->cv);
    pthread_mutex_unlock(&ev->mu);
    pthread_join(ev->thread, NULL);
    engine_destroy(&ev->o.engine);
    delivery_destroy(&ev->o.delivery);
    pthread_cond_destroy(&ev->cv);
    pthread_mutex_destroy(&ev->mu);
    free(ev);
    *ev_p = NULL;
}

/* ---- `run` ---------------------------------------------------------------- */

int hub_gaps_opt(hub_gaps_t *g, int opt, const char *arg)
{
    switch (opt) {
    case 1001:
        g->rules = arg;
        return 1;
    case 1002:
        g->now = arg;
        return 1;
    case 1003:
        g->publish = arg;
        return 1;
    case 1004:
        if (g->n_webhooks < sizeof g->webhooks / sizeof g->webhooks[0]) {
            g->webhooks[g->n_webhooks++] = arg;
        }
        return 1;
    case 1005:
        g->digest_clock = arg;
        return 1;
    default:
        return 0;
    }
}

void hub_gaps_usage(FILE *out)
{
    fprintf(out,
            "\ngap engine (docs/alerts.md):\n"
            "  --rules FILE         rule pack (config `rules`; default: the built-in pack);\n"
            "                       a malformed pack refuses the start, naming line and reason\n"
            "  --now TIME           evaluate at this fixed time (tests and re-checks)\n"
            "  --publish ENDPOINT   ZeroMQ PUB for alerts (config `alerts.publish`, default\n"
            "                       the host of `listen`, port %u; `off` for none); a\n"
            "                       CurveZMQ server: only keys added with `fieldtrail-hub\n"
            "                       subscriber add` may subscribe\n"
            "  --webhook FMT=URL    webhook (generic, wecom, dingtalk, feishu); repeatable;\n"
            "                       adds to config `alerts.webhooks` and [webhook.NAME]\n"
            "  --digest-clock TIME  digests' clock starts at TIME and runs on (tests)\n",
            DELIVERY_DEFAULT_PUBLISH_PORT);
}

static int u32_key(hub_ctx_t *ctx, const char *key, unsigned *out)
{
    const char *text = config_get(ctx->cfg, key);
    uint64_t v = 0;
    if (!text) {
        return 0;
    }
    if (config_parse_u64(text, &v) != FT_OK || v == 0 || v > 86400000) {
        hub_fail("%s must be a positive whole number, not \"%s\"", key, text);
        return 1;
    }
    *out = (unsigned)v;
    return 0;
}

int hub_routes_load(hub_ctx_t *ctx, const char *const *flags, size_t n_flags, hub_routes_t *out)
{
    memset(out, 0, sizeof *out);
    const config_t *cfg = ctx->cfg;
    char err[1024] = "";
    size_t n = config_count(cfg);
    route_kv_t *kv = calloc(n ? n : 1, sizeof *kv);
    if (!kv) {
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        kv[i] =
            (route_kv_t){config_key_at(cfg, i), config_value_at(cfg, i), config_line_at(cfg, i)};
    }
    int rc = route_parse(kv, n, config_path(cfg), &out->conf, err, sizeof err);
    free(kv);
    if (rc != FT_OK) {
        hub_fail("%s", err[0] ? err : ft_strerror(rc));
        return 1;
    }
    /* alerts.webhooks (named by its line), then the flags, then the sections */
    hook_t *from_cfg = NULL, *from_flags = NULL;
    size_t n_cfg = 0, n_fl = 0;
    const char *words = config_get(cfg, "alerts.webhooks");
    rc = delivery_parse_hooks(words, &from_cfg, &n_cfg, err, sizeof err);
    if (rc != FT_OK) {
        hub_fail("%s line %d: alerts.webhooks: %s", config_path(cfg),
                 config_line(cfg, "alerts.webhooks"), err[0] ? err : ft_strerror(rc));
        hub_routes_free(out);
        return 1;
    }
    size_t len = 1;
    for (size_t i = 0; i < n_flags; i++) {
        len += strlen(flags[i]) + 1;
    }
    char *all = calloc(1, len);
    rc = all ? FT_OK : FT_ENOMEM;
    for (size_t i = 0; all && i < n_flags; i++) {
        strcat(all, " ");
        strcat(all, flags[i]);
    }
    if (rc == FT_OK) {
        rc = delivery_parse_hooks(all, &from_flags, &n_fl, err, sizeof err);
    }
    free(all);
    if (rc != FT_OK) {
        hub_fail("--webhook: %s", err[0] ? err : ft_strerror(rc));
        free(from_cfg);
        hub_routes_free(out);
        return 1;
    }
    size_t total = n_cfg + n_fl + out->conf.n_hooks;
    out->hooks = calloc(total ? total : 1, sizeof *out->hooks);
    if (!out->hooks) {
        free(from_cfg);
        free(from_flags);
        hub_routes_free(out);
        return 1;
    }
    if (n_cfg) {
        memcpy(out->hooks, from_cfg, n_cfg * sizeof *out->hooks);
    }
    if (n_fl) {
        memcpy(out->hooks + n_cfg, from_flags, n_fl * sizeof *out->hooks);
    }
    if (out->conf.n_hooks) {
        memcpy(out->hooks + n_cfg + n_fl, out->conf.hooks, out->conf.n_hooks * sizeof *out->hooks);
    }
    out->n_hooks = total;
    free(from_cfg);
    free(from_flags);
    if (route_check_unique(out->hooks, out->n_hooks, err, sizeof err) != FT_OK) {
        hub_fail("%s", err);
        hub_routes_free(out);
        return 1;
    }
    return 0;
}

void hub_routes_free(hub_routes_t *r)
{
    if (r->hooks) {
        sodium_memzero(r->hooks, r->n_hooks * sizeof *r->hooks); /* secrets */
    }
    free(r->hooks);
    if (r->conf.hooks) {
        sodium_memzero(r->conf.hooks, r->conf.n_hooks * sizeof *r->conf.hooks);
    }
    route_free(&r->conf);
    memset(r, 0, sizeof *r);
}

int hub_gaps_prepare(hub_ctx_t *ctx, hub_gaps_t *g)
{
    size_t n_hooks = 0;
    if (g->now && hub_parse_now(g->now, &g->frozen_now) != FT_OK) {
        hub_fail("--now \"%s\" is neither an RFC 3339 time with offset nor Unix milliseconds",
                 g->now);
        return 1;
    }
    delivery_opts_t d = {.hublog = ctx->hublog, .state = ctx->state};
    unsigned attempts = 0, timeout = 0;
    if (u32_key(ctx, "alerts.webhook_attempts", &attempts) != 0 ||
        u32_key(ctx, "alerts.webhook_timeout_ms", &timeout) != 0 ||
        u32_key(ctx, "alerts.interval_ms", &g->interval_ms) != 0) {
        return 1;
    }
    const char *max_age = config_get(ctx->cfg, "alerts.webhook_max_age");
    if (max_age) {
        uint64_t s = 0;
        if (config_parse_u64(max_age, &s) != FT_OK || s == 0 || s > 10ULL * 366 * 86400) {
            hub_fail("alerts.webhook_max_age must be a positive number of seconds (86400 is a "
                     "day), not \"%s\"",
                     max_age);
            return 1;
        }
        d.max_age_ms = s * 1000;
    }
    hub_routes_t routes = {0};
    if (hub_routes_load(ctx, g->webhooks, g->n_webhooks, &routes) != 0) {
        return 1;
    }
    if (g->digest_clock) {
        int64_t at = 0;
        if (hub_parse_now(g->digest_clock, &at) != FT_OK) {
            hub_fail("--digest-clock \"%s\" is neither an RFC 3339 time with offset nor Unix "
                     "milliseconds",
                     g->digest_clock);
            hub_routes_free(&routes);
            return 1;
        }
        d.digest_offset_ms = at - (int64_t)hlc_wall_ms();
    }
    n_hooks = routes.n_hooks;
    char pub_default[300], subs[4200];
    d.publish = config_pick(g->publish, ctx->cfg, "alerts.publish",
                            hub_default_endpoint(ctx, DELIVERY_DEFAULT_PUBLISH_PORT,
                                                 DELIVERY_DEFAULT_PUBLISH, pub_default,
                                                 sizeof pub_default));
    if (fsutil_join(subs, sizeof subs, ctx->state, SUBSCRIBERS_FILE) != FT_OK) {
        hub_routes_free(&routes);
        return 1;
    }
    d.curve_sk = ctx->keys.box_sk;
    d.subscribers = subs;
    if (u32_key(ctx, "alerts.max_subscribers", &d.max_subscribers) != 0) {
        hub_routes_free(&routes);
        return 1;
    }
    d.hooks = routes.hooks;
    d.n_hooks = routes.n_hooks;
    d.people = routes.conf.people;
    d.n_people = routes.conf.n_people;
    d.dashboard_url = routes.conf.dashboard_url;
    d.attempts = attempts;
    d.timeout_ms = timeout;
    if (hub_rules_load(ctx, g->rules, &g->pack) != 0) {
        hub_routes_free(&routes);
        return 1;
    }
    int rc = delivery_new(&d, &g->delivery);
    hub_routes_free(&routes);
    if (rc != FT_OK) {
        hub_fail("cannot publish alerts on %s (see the message above)", d.publish);
        hub_gaps_stop(g);
        return 1;
    }
    if (hub_engine_open(ctx, g->pack, evaluator_sink, g->delivery, &g->engine) != 0) {
        hub_gaps_stop(g);
        return 1;
    }
    log_info("gap engine: rule pack %s (%zu rules), alerts published on %s, %zu webhook%s%s%s",
             g->pack->source, g->pack->n, d.publish, n_hooks, n_hooks == 1 ? "" : "s",
             g->frozen_now ? ", evaluation clock frozen by --now" : "",
             g->digest_clock ? ", digest clock set by --digest-clock" : "");
    return 0;
}

int hub_gaps_start(hub_gaps_t *g)
{
    evaluator_opts_t o = {.engine = g->engine,
                          .delivery = g->delivery,
                          .frozen_now = g->frozen_now,
                          .interval_ms = g->interval_ms};
    if (evaluator_start(&o, &g->ev) != FT_OK) {
        hub_fail("cannot start the gap engine thread");
        hub_gaps_stop(g);
        return 1;
    }
    g->engine = NULL; /* the thread owns them now */
    g->delivery = NULL;
    return 0;
}

void hub_gaps_stop(hub_gaps_t *g)
{
    evaluator_stop(&g->ev);
    engine_destroy(&g->engine);
    delivery_destroy(&g->delivery);
    rules_destroy(&g->pack);
}
