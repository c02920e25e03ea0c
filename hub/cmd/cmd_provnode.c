/* cmd_provnode.c: the commands of a provincial node, whose store is
 * PostgreSQL (`store = postgresql://...` in its config, or --store):
 * `verify` re-verifies everything the county hubs forwarded (pgverify.h);
 * `evaluate` and `run` step the provincial gap engine (pgengine.h), once
 * or on a clock, `run` beside the dashboard across counties (provweb.h);
 * `alerts` lists its alerts (docs/province.md). */
#include "hub.h"
#include "evaluator.h"
#include "hlc.h"
#include "http.h"
#include "logging.h"
#include "pgengine.h"
#include "pgverify.h"
#include "provweb.h"
#include "web.h"
#include "record.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *hub_store_url(hub_ctx_t *ctx, const char *flag)
{
    if (flag && flag[0]) {
        return flag;
    }
    const char *v = ctx->cfg ? config_get(ctx->cfg, "store") : NULL;
    return v && v[0] ? v : NULL;
}

typedef struct {
    bool json;
    json_t *rows;
} report_t;

static void print_bad(void *ctx, const pverify_bad_t *b)
{
    report_t *r = ctx;
    char id[DEVID_TEXT_SIZE] = "";
    if (!b->county_wide) {
        devid_format(b->device, id);
    }
    if (r->json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "county", b->county, "reason", b->reason,
                              "detail", b->detail, "hub_log", b->hub_log);
        if (!b->county_wide) {
            json_object_set_new(o, "device_id", json_string(id));
            char ep[24];
            snprintf(ep, sizeof ep, "%llu", (unsigned long long)b->epoch);
            json_object_set_new(o, "epoch", json_string(ep));
            json_object_set_new(o, "seq", json_integer((json_int_t)b->seq));
        }
        if (b->county_wide && b->seq) {
            json_object_set_new(o, "arrival", json_integer((json_int_t)b->seq));
        }
        json_array_append_new(r->rows, o);
        return;
    }
    if (b->county_wide) {
        printf("DAMAGED  county %s: %s (%s)\n", hub_text(b->county), b->detail, b->reason);
    } else {
        printf("DAMAGED  county %s  %s %s  epoch %llu  seq %llu: %s (%s)\n", hub_text(b->county),
               b->hub_log ? "county hub log" : "device", id, (unsigned long long)b->epoch,
               (unsigned long long)b->seq, b->detail, b->reason);
    }
}

int hub_provnode_verify(hub_ctx_t *ctx, const char *url)
{
    PGconn *c = NULL;
    char err[PG_ERR_MAX];
    if (pg_connect(url, &c, err, sizeof err) != FT_OK) {
        hub_fail("%s", err);
        return 1;
    }
    report_t rep = {.json = ctx->json, .rows = json_array()};
    pverify_stats_t st;
    int rc = pgverify_run(c, print_bad, &rep, &st, err, sizeof err);
    pg_close(&c);
    if (rc != FT_OK) {
        json_decref(rep.rows);
        hub_fail("cannot verify the provincial store: %s", err);
        return 1;
    }
    bool ok = st.bad == 0;
    if (ctx->json) {
        json_t *o = json_pack(
            "{s:b, s:I, s:I, s:I, s:I, s:I, s:o}", "ok", ok, "counties", (json_int_t)st.counties,
            "devices", (json_int_t)st.devices, "entries", (json_int_t)st.entries, "hublog_entries",
            (json_int_t)st.hublog_entries, "bad", (json_int_t)st.bad, "damaged", rep.rows);
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        json_decref(rep.rows);
        printf("%s: %llu counties, %llu device logs, %llu entries verified (signatures by the "
               "enrolled keys, chains, dense seqs), %llu county hub-log entries; %llu damaged\n",
               ok ? "provincial store OK" : "provincial store DAMAGED",
               (unsigned long long)st.counties, (unsigned long long)st.devices,
               (unsigned long long)st.entries, (unsigned long long)st.hublog_entries,
               (unsigned long long)st.bad);
    }
    return ok ? 0 : 1;
}

/* Connects and makes sure the engine's tables are there. 0 or 1. */
static int connect_engine(const char *url, PGconn **c)
{
    char err[PG_ERR_MAX];
    if (pg_connect(url, c, err, sizeof err) != FT_OK) {
        hub_fail("%s", err);
        return 1;
    }
    PGresult *r = PQexec(*c, "SELECT to_regclass('ft.entries') IS NOT NULL");
    bool have = PQresultStatus(r) == PGRES_TUPLES_OK && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!have) {
        hub_fail("the database holds no provincial tables (schema ft): is this the province's "
                 "database, and has a county forwarded to it? (docs/province.md)");
        pg_close(c);
        return 1;
    }
    if (pgengine_schema(*c, err, sizeof err) != FT_OK) {
        hub_fail("cannot create the provincial engine's tables: %s", err);
        pg_close(c);
        return 1;
    }
    return 0;
}

/* The node's name: the flag, else `node` of the config, else the host name
 * and process ID (unique among the nodes of one database). */
static const char *node_name(hub_ctx_t *ctx, const char *flag, char *buf, size_t len)
{
    const char *v = flag ? flag : ctx->cfg ? config_get(ctx->cfg, "node") : NULL;
    if (v && v[0]) {
        return v;
    }
    char host[128] = "node";
    gethostname(host, sizeof host - 1);
    snprintf(buf, len, "%s:%ld", host, (long)getpid());
    return buf;
}

int hub_provnode_evaluate(hub_ctx_t *ctx, const char *url, const char *node, int64_t now,
                          const char *rules)
{
    rulepack_t *pack = NULL;
    if (hub_rules_load(ctx, rules, &pack) != 0) {
        return 1;
    }
    PGconn *c = NULL;
    if (connect_engine(url, &c) != 0) {
        rules_destroy(&pack);
        return 1;
    }
    char nb[192], err[PG_ERR_MAX];
    node = node_name(ctx, node, nb, sizeof nb);
    pgengine_stats_t st = {0};
    int rc = pgengine_step(c, pack, now, node, NULL, &st, err, sizeof err);
    pg_close(&c);
    rules_destroy(&pack);
    if (rc != FT_OK) {
        hub_fail("provincial evaluation failed: %s", err);
        return 1;
    }
    char when[48];
    rfc3339_format(now, 0, when, sizeof when);
    if (ctx->json) {
        json_t *o =
            json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "node", node, "now",
                      when, "now_ms", (json_int_t)now, "entries", (json_int_t)st.entries, "refused",
                      (json_int_t)st.refused, "cases", (json_int_t)st.cases, "units",
                      (json_int_t)st.units, "held_by_other_nodes", (json_int_t)st.held, "events",
                      (json_int_t)st.events, "counties_busy", (json_int_t)st.counties);
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf(
            "provincial node %s at %s: %llu entries verified and indexed, %llu refused; %llu "
            "cases and %llu caseless records and media evaluated (%llu held by other nodes); %llu "
            "alert events\n",
            node, when, (unsigned long long)st.entries, (unsigned long long)st.refused,
            (unsigned long long)st.cases, (unsigned long long)st.units, (unsigned long long)st.held,
            (unsigned long long)st.events);
    }
    return 0;
}

int hub_provnode_alerts(hub_ctx_t *ctx, const char *url, const char *unit, const char *case_id,
                        bool history, bool brief)
{
    PGconn *c = NULL;
    if (connect_engine(url, &c) != 0) {
        return 1;
    }
    const char *p[] = {unit, case_id};
    PGresult *r = NULL;
    char err[PG_ERR_MAX];
    /* The latest event of each alert is its state (--history: every event). */
    const char *sql =
        history ? "SELECT county, alert_id, rule, kind, article, severity, case_id, unit, subject, "
                  "detail, state, node, (extract(epoch FROM at) * 1000)::bigint FROM "
                  "ft.prov_alert_events WHERE ($1::text IS NULL OR unit = $1) AND ($2::text IS "
                  "NULL OR case_id = $2) ORDER BY event_no"
                : "SELECT * FROM (SELECT DISTINCT ON (county, alert_id) county, alert_id, rule, "
                  "kind, article, severity, case_id, unit, subject, detail, state, node, "
                  "(extract(epoch FROM at) * 1000)::bigint FROM ft.prov_alert_events ORDER BY "
                  "county, alert_id, event_no DESC) a WHERE ($1::text IS NULL OR unit = $1) AND "
                  "($2::text IS NULL OR case_id = $2) ORDER BY county, case_id, alert_id";
    int rc = pg_query(c, sql, 2, p, &r, err, sizeof err);
    pg_close(&c);
    if (rc != FT_OK) {
        hub_fail("cannot read the provincial alerts: %s", err);
        return 1;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        if (ctx->json) {
            char when[48];
            hub_time_text(pg_i64(r, i, 12), when, sizeof when);
            json_t *o =
                json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
                          "s:s}",
                          "county", pg_text(r, i, 0), "id", pg_text(r, i, 1), "rule",
                          pg_text(r, i, 2), "kind", pg_text(r, i, 3), "article", pg_text(r, i, 4),
                          "severity", pg_text(r, i, 5), "case", pg_text(r, i, 6), "unit",
                          pg_text(r, i, 7), "subject", pg_text(r, i, 8), "detail", pg_text(r, i, 9),
                          "state", pg_text(r, i, 10), "node", pg_text(r, i, 11), "at", when);
            if (o) {
                json_dumpf(o, stdout, JSON_COMPACT);
                fputc('\n', stdout);
            }
            json_decref(o);
        } else if (brief) {
            printf("%s|%s|%s|%s|%s\n", pg_text(r, i, 2), pg_text(r, i, 4),
                   hub_text(pg_text(r, i, 6)), pg_text(r, i, 10), hub_text(pg_text(r, i, 0)));
        } else {
            printf("%-9s %-8s %-10s county %s  case %s  unit %s  %s  %s\n", pg_text(r, i, 10),
                   pg_text(r, i, 5), pg_text(r, i, 2), hub_text(pg_text(r, i, 0)),
                   hub_text(pg_text(r, i, 6)), hub_text(pg_text(r, i, 7)), pg_text(r, i, 4),
                   hub_text(pg_text(r, i, 9)));
        }
    }
    PQclear(r);
    return 0;
}

static volatile sig_atomic_t prov_stop;
static void prov_signal(int sig)
{
    (void)sig;
    prov_stop = 1;
}

/* The dashboard across counties: its users, sessions and audit trail in
 * the provincial database (provweb.h). 0, or 1 after saying why. */
static int start_dashboard(hub_ctx_t *ctx, const char *url, const char *node,
                           const rulepack_t *pack, const char *http_listen,
                           const struct web_module *const *modules, http_t **http)
{
    http_opts_t ho;
    http_opts_from_config(ctx->cfg, http_listen, &ho);
    if (!ho.listen || strcmp(ho.listen, "off") == 0) {
        log_info("provincial node %s: dashboard off (config http = off)", node);
        return 0;
    }
    provweb_t *pw = NULL;
    char err[PG_ERR_MAX];
    if (provweb_open(url, node, &pw, err, sizeof err) != FT_OK) {
        hub_fail("cannot start the dashboard: %s", err);
        return 1;
    }
    web_backend_t be;
    provweb_backend(pw, &be); /* the server's from here on */
    if (http_serve(&be, ctx->cfg, pack, modules, &ho, http) != FT_OK) {
        hub_fail("cannot start the dashboard on %s (see the message above)", ho.listen);
        return 1;
    }
    return 0;
}

int hub_provnode_run(hub_ctx_t *ctx, const char *url, const char *node, int64_t frozen_now,
                     const char *rules, const char *http_listen,
                     const struct web_module *const *modules)
{
    rulepack_t *pack = NULL;
    if (hub_rules_load(ctx, rules, &pack) != 0) {
        return 1;
    }
    PGconn *c = NULL;
    if (connect_engine(url, &c) != 0) {
        rules_destroy(&pack);
        return 1;
    }
    uint64_t interval = 2000;
    const char *iv = ctx->cfg ? config_get(ctx->cfg, "alerts.interval_ms") : NULL;
    if (iv && (config_parse_u64(iv, &interval) != FT_OK || interval < 10)) {
        hub_fail("alerts.interval_ms must be a number of milliseconds, 10 or more, not \"%s\"", iv);
        pg_close(&c);
        rules_destroy(&pack);
        return 1;
    }
    char nb[192], err[PG_ERR_MAX];
    node = node_name(ctx, node, nb, sizeof nb);
    struct sigaction sa = {.sa_handler = prov_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    http_t *http = NULL;
    if (start_dashboard(ctx, url, node, pack, http_listen, modules, &http) != 0) {
        pg_close(&c);
        rules_destroy(&pack);
        return 1;
    }
    log_info("provincial node %s: gap engine over %s:%s (database %s), rule pack %s, every %llu "
             "ms%s",
             node, PQhost(c), PQport(c), PQdb(c), pack->source, (unsigned long long)interval,
             frozen_now ? ", evaluation clock frozen by --now" : "");
    int rc = 0;
    pgengine_memo_t memo = {0};
    bool failing = false; /* an episode of failed steps (said once, docs/province.md "Faults") */
    while (!prov_stop) {
        int64_t now = frozen_now ? frozen_now : (int64_t)hlc_wall_ms();
        pgengine_stats_t st = {0};
        if (PQstatus(c) != CONNECTION_OK) {
            PQreset(c);
        }
        int step = PQstatus(c) == CONNECTION_OK
                       ? pgengine_step(c, pack, now, node, &memo, &st, err, sizeof err)
                       : FT_EIO;
        if (step != FT_OK && PQstatus(c) != CONNECTION_OK) {
            snprintf(err, sizeof err, "the provincial database does not answer (%s:%s): %s",
                     PQhost(c) ? PQhost(c) : "?", PQport(c) ? PQport(c) : "?",
                     PQerrorMessage(c)[0] ? PQerrorMessage(c) : "connection lost");
            err[strcspn(err, "\n")] = '\0';
        }
        if (step != FT_OK) {
            if (!failing) {
                log_warn("provincial node %s: step failed: %s; nothing is lost (what a step did "
                         "not commit is done again), retrying every %llu ms until it works "
                         "(said once)",
                         node, err, (unsigned long long)interval);
            }
            failing = true;
        } else if (failing) {
            failing = false;
            log_info("provincial node %s: the provincial database answers again; stepping resumed",
                     node);
        }
        if (step == FT_OK && (st.entries || st.cases || st.events)) {
            log_info("provincial node %s: %llu entries indexed, %llu refused, %llu cases "
                     "evaluated (%llu held by other nodes), %llu alert events",
                     node, (unsigned long long)st.entries, (unsigned long long)st.refused,
                     (unsigned long long)st.cases, (unsigned long long)st.held,
                     (unsigned long long)st.events);
        }
        for (uint64_t slept = 0; slept < interval && !prov_stop; slept += 10) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    pgengine_memo_free(&memo);
    http_stop(&http);
    log_info("provincial node %s: stopped", node);
    pg_close(&c);
    rules_destroy(&pack);
    return rc;
}
