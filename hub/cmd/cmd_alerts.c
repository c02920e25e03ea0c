/* cmd_alerts.c: `evaluate`, `alerts` and `rules`: the gap engine from the
 * command line. `evaluate` catches the case index up with the store and
 * evaluates (at --now for tests and re-checks); `alerts` lists alerts or
 * their history from the index (safe while `run` is running); `rules check`
 * validates a rule pack. */
#include "evaluator.h"
#include "fsutil.h"
#include "hlc.h"
#include "logging.h"
#include "pg.h"
#include "record.h"
#include "utf8.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- evaluate ------------------------------------------------------------ */

static void evaluate_usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-hub evaluate [--now TIME] [--rules FILE] [--full]\n"
                 "                               [--state DIR] [--config FILE] [--json]\n"
                 "                               [--store URL [--node NAME]]\n\n"
                 "Catches the case index up with every entry the hub holds, turns integrity\n"
                 "events and clock offsets into alerts, and evaluates every case that changed or\n"
                 "whose deadline passed, at TIME (RFC 3339, e.g. 2026-04-01T00:00:00+08:00, or\n"
                 "Unix milliseconds; default: now). --full re-evaluates every case. The rule\n"
                 "pack is FILE, else config `rules`, else the built-in default. Alert state\n"
                 "changes are recorded in the hub's own log. Safe while `run` is running.\n\n"
                 "On a provincial node (--store postgresql://..., or `store` in the config):\n"
                 "one step of the provincial engine as --node NAME (default: config `node`,\n"
                 "else host:pid): what the counties forwarded is verified and taken in, and\n"
                 "the cases that changed or fell due are evaluated, shared with the other\n"
                 "nodes by advisory locks (docs/province.md).\n");
}

static int count_state(void *ctx, json_t *a)
{
    size_t *counts = ctx;
    const char *s = json_string_value(json_object_get(a, "state"));
    if (s && strcmp(s, "open") == 0) {
        counts[0]++;
    } else if (s && strcmp(s, "resolved") == 0) {
        counts[1]++;
    } else if (s && strcmp(s, "justified") == 0) {
        counts[2]++;
    }
    return 0;
}

int hub_cmd_evaluate(int argc, char **argv)
{
    hub_ctx_t ctx = {0};
    const char *now_text = NULL, *rules = NULL, *store = NULL, *node = NULL;
    bool full = false;
    static const struct option opts[] = {
        HUB_COMMON_OPTS,
        {"now", required_argument, NULL, 'n'},
        {"rules", required_argument, NULL, 'r'},
        {"full", no_argument, NULL, 'f'},
        {"store", required_argument, NULL, 'P'},
        {"node", required_argument, NULL, 'N'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (hub_common_opt(&ctx, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'n':
            now_text = optarg;
            break;
        case 'r':
            rules = optarg;
            break;
        case 'f':
            full = true;
            break;
        case 'P':
            store = optarg;
            break;
        case 'N':
            node = optarg;
            break;
        case 'h':
            evaluate_usage(stdout);
            return 0;
        default:
            evaluate_usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        evaluate_usage(stderr);
        return 2;
    }
    int64_t now = (int64_t)hlc_wall_ms();
    if (now_text && hub_parse_now(now_text, &now) != FT_OK) {
        hub_fail("--now \"%s\" is neither an RFC 3339 time with offset nor Unix milliseconds",
                 now_text);
        return 2;
    }
    if (hub_load_config(&ctx) != 0) {
        hub_close(&ctx);
        return 1;
    }
    const char *url = hub_store_url(&ctx, store);
    if (url) {
        int prc = pg_is_url(url) ? hub_provnode_evaluate(&ctx, url, node, now, rules) : 2;
        if (prc == 2) {
            hub_fail("store %s is not a PostgreSQL URL (postgresql://USER@HOST:PORT/DB)", url);
        }
        hub_close(&ctx);
        return prc;
    }
    config_destroy(&ctx.cfg); /* hub_open loads it again */
    rulepack_t *pack = NULL;
    engine_t *eng = NULL;
    int rc = 1;
    if (hub_open(&ctx, true) != 0 || hub_rules_load(&ctx, rules, &pack) != 0 ||
        hub_engine_open(&ctx, pack, NULL, NULL, &eng) != 0) {
        goto out;
    }
    engine_stats_t st = {0};
    int err = full ? engine_full(eng, now, &st) : engine_step(eng, now, &st);
    if (err != FT_OK) {
        hub_fail("evaluation failed: %s", ft_strerror(err));
        goto out;
    }
    size_t counts[3] = {0};
    index_txn_t *it = NULL;
    if (index_begin(engine_index(eng), false, &it) == FT_OK) {
        (void)alerts_iter(engine_alerts(eng), it, count_state, counts);
        index_abort(&it);
    }
    char when[48];
    rfc3339_format(now, 0, when, sizeof when);
    if (ctx.json) {
        json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "now", when,
                              "now_ms", (json_int_t)now, "entries", (json_int_t)st.entries, "units",
                              (json_int_t)st.units, "events", (json_int_t)st.events, "due",
                              (json_int_t)st.due, "open", (json_int_t)counts[0], "resolved",
                              (json_int_t)counts[1], "justified", (json_int_t)counts[2]);
        char *text = json_dumps(o, JSON_COMPACT);
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(o);
    } else {
        cli_time(now, when, sizeof when);
        printf("evaluated at %s: %llu new entries indexed, %llu cases and items evaluated, "
               "%llu alert events\n"
               "alerts: %zu open, %zu resolved, %zu justified\n",
               when, (unsigned long long)st.entries, (unsigned long long)st.units,
               (unsigned long long)st.events, counts[0], counts[1], counts[2]);
    }
    rc = 0;
out:
    engine_destroy(&eng);
    rules_destroy(&pack);
    hub_close(&ctx);
    return rc;
}

/* ---- alerts --------------------------------------------------------------- */

static volatile sig_atomic_t follow_stop;

static void on_signal(int sig)
{
    (void)sig;
    follow_stop = 1;
}

static void alerts_usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-hub alerts [--unit U] [--case C] [--article A] [--severity S]\n"
                 "                             [--state-filter open|resolved|justified]\n"
                 "                             [--limit N] [--history] [--follow]\n"
                 "                             [--json | --brief] [--utc] [--state DIR]\n"
                 "                             [--store URL]\n\n"
                 "Lists the alerts the gap engine raised, with what they concern and their state\n"
                 "(filters combine), the most severe first and, within a severity, the one due\n"
                 "longest ago first, then a one-line summary: how many by severity and by\n"
                 "state. --limit N shows the first N (the summary counts them all). Times are\n"
                 "local with their offset (--utc: UTC). --history lists every state change\n"
                 "instead, oldest first (each one an\n"
                 "event: open, resolved, justified). --follow then keeps printing new state\n"
                 "changes as the running hub makes them, until interrupted. --json prints JSON\n"
                 "lines; --brief one line per alert: rule|article|case|state|record ids.\n"
                 "--state-filter keeps the alerts in that state; --state names the hub's\n"
                 "state directory, as for every command. On a provincial node (--store\n"
                 "postgresql://..., or `store` in the config) it lists the province's alerts\n"
                 "across counties (--unit, --case, --history, --json, --brief apply).\n");
}

/* True if s is the name of an alert state. */
static bool is_alert_state(const char *s)
{
    return strcmp(s, "open") == 0 || strcmp(s, "resolved") == 0 || strcmp(s, "justified") == 0;
}

/* Filters of `alerts`. */
typedef struct {
    const char *unit, *case_id, *article, *severity, *state;
    bool json, history, brief;
    size_t shown;
    json_t *matched; /* alerts (not history): the matching rows, sorted before printing */
} filter_t;

static const char *const severities[] = {"critical", "high", "medium", "low"};
static const char *const states[] = {"open", "resolved", "justified"};

static int rank_of(const char *s, const char *const *names, int n)
{
    for (int i = 0; s && i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            return i;
        }
    }
    return n;
}

/* The most severe first; within a severity the one due longest ago first;
 * then by ID (a stable order). */
static int alert_order(const void *x, const void *y)
{
    const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    int ra = rank_of(json_string_value(json_object_get(a, "severity")), severities, 4);
    int rb = rank_of(json_string_value(json_object_get(b, "severity")), severities, 4);
    if (ra != rb) {
        return ra - rb;
    }
    json_int_t da = json_integer_value(json_object_get(a, "due_at_ms"));
    json_int_t db = json_integer_value(json_object_get(b, "due_at_ms"));
    if (da != db) {
        return da < db ? -1 : 1;
    }
    const char *ia = json_string_value(json_object_get(a, "id"));
    const char *ib = json_string_value(json_object_get(b, "id"));
    return strcmp(ia ? ia : "", ib ? ib : "");
}

/* One line: rule|article|case|state|what (record ids, else media ids, else
 * "device:" and the unit), for scripts that compare alert sets. */
static void print_brief(const json_t *a, const char *state)
{
    const char *c = json_string_value(json_object_get(a, "case"));
    char what[1024] = "";
    size_t used = 0, i;
    json_t *v;
    json_array_foreach(json_object_get(a, "record_ids"), i, v)
    {
        const char *id = json_string_value(v);
        if (!id || !id[0]) {
            continue; /* an entry the hub refused (integrity) or one without id */
        }
        int n = snprintf(what + used, sizeof what - used, "%s%s", used ? ">" : "", id);
        used = n > 0 && used + (size_t)n < sizeof what ? used + (size_t)n : used;
    }
    json_array_foreach(json_object_get(a, "media_ids"), i, v)
    {
        int n = snprintf(what + used, sizeof what - used, "%smedia:%s", used ? ">" : "",
                         json_string_value(v) ? json_string_value(v) : "?");
        used = n > 0 && used + (size_t)n < sizeof what ? used + (size_t)n : used;
    }
    if (!used) {
        const char *u = json_string_value(json_object_get(a, "unit"));
        snprintf(what, sizeof what, "device:%s", u ? u : "?");
    }
    utf8_trim(what); /* a list cut short ends on a whole character */
    printf("%s|%s|%s|%s|%s\n", json_string_value(json_object_get(a, "rule")),
           json_string_value(json_object_get(a, "article")), c ? hub_text(c) : "-", state,
           hub_text(what));
}

static const char *s_or(const json_t *o, const char *k, const char *def)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : def;
}

/* s_or for printing: user text escaped (hub_text). */
static const char *t_or(const json_t *o, const char *k, const char *def)
{
    return hub_text(s_or(o, k, def));
}

static bool matches(const filter_t *f, const json_t *a, const char *state)
{
    const char *c = json_string_value(json_object_get(a, "case"));
    if (f->unit && strcmp(f->unit, s_or(a, "unit", "")) != 0) {
        return false;
    }
    if (f->case_id && (!c || strcmp(f->case_id, c) != 0)) {
        return false;
    }
    if (f->article) {
        const char *art = json_string_value(json_object_get(a, "article"));
        size_t n = strlen(f->article);
        /* "13" matches "13", "13(2)"; "24(4)" only itself. */
        if (!art || strncmp(art, f->article, n) != 0 || (art[n] && art[n] != '(')) {
            return false;
        }
    }
    if (f->severity && strcmp(f->severity, s_or(a, "severity", "")) != 0) {
        return false;
    }
    if (f->state && strcmp(f->state, state ? state : "") != 0) {
        return false;
    }
    return true;
}

/* when_ms: the event's time (history), or 0 for an alert (then its due and
 * opened times are shown). Times in local time (clitext.h). */
static void print_alert_text(const json_t *a, const char *state, int64_t when_ms, const char *why)
{
    const char *c = json_string_value(json_object_get(a, "case"));
    char when[CLI_TIME_TEXT], due[CLI_TIME_TEXT];
    printf("%s  %-9s %-8s Art. %-6s rule %-4s case %s  unit %s", t_or(a, "id", "?"), state,
           t_or(a, "severity", "?"), t_or(a, "article", "?"), t_or(a, "rule", "?"),
           c ? hub_text(c) : "-", t_or(a, "unit", "-"));
    if (why) {
        cli_time(when_ms, when, sizeof when);
        printf("  at %s\n", when);
    } else {
        cli_time(json_integer_value(json_object_get(a, "due_at_ms")), due, sizeof due);
        cli_time(json_integer_value(json_object_get(a, "opened_at_ms")), when, sizeof when);
        printf("  due %s  opened %s\n", due, when);
    }
    printf("    %s\n    %s\n    %s\n", t_or(a, "message_zh", ""), t_or(a, "message_en", ""),
           t_or(a, "detail", ""));
    json_t *ids = json_object_get(a, "record_ids");
    json_t *refs = json_object_get(a, "records");
    size_t i;
    json_t *v;
    json_array_foreach(refs, i, v)
    {
        const char *id = json_string_value(json_array_get(ids, i));
        printf("    record %s%s%s\n", json_string_value(v), id && id[0] ? " id " : "",
               id ? hub_text(id) : "");
    }
    ids = json_object_get(a, "media_ids");
    json_array_foreach(json_object_get(a, "media"), i, v)
    {
        const char *id = json_string_value(json_array_get(ids, i));
        printf("    media %s id %s\n", json_string_value(v), id ? hub_text(id) : "?");
    }
    if (why) {
        printf("    %s\n", hub_text(why));
        return;
    }
    const json_t *j = json_object_get(a, "justification");
    if (j) {
        const char *by = s_or(j, "by", NULL);
        char at[CLI_TIME_TEXT];
        cli_time(json_integer_value(json_object_get(j, "at_ms")), at, sizeof at);
        printf("    justified%s%s at %s (%s): %s\n", by ? " by " : "", by ? hub_text(by) : "", at,
               t_or(j, "ref", "?"), t_or(j, "reason", ""));
    }
}

/* Keeps a matching alert for sorting (alerts_iter lends a). */
static int collect_alert(void *ctx, json_t *a)
{
    filter_t *f = ctx;
    if (!matches(f, a, json_string_value(json_object_get(a, "state")))) {
        return 0;
    }
    return json_array_append(f->matched, a) == 0 ? 0 : FT_ENOMEM;
}

static void show_alert(filter_t *f, json_t *a)
{
    const char *state = json_string_value(json_object_get(a, "state"));
    f->shown++;
    if (f->brief) {
        print_brief(a, state ? state : "?");
    } else if (f->json) {
        char *text = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
        printf("%s\n", text ? text : "{}");
        free(text);
    } else {
        print_alert_text(a, state ? state : "?", 0, NULL);
    }
}

/* "3048 alerts: 12 critical, 540 high, 2100 medium, 396 low; 3040 open,
 * 5 resolved, 3 justified" (of those that match the filters). */
static void print_summary(const json_t *matched, size_t shown)
{
    size_t by_sev[5] = {0}, by_state[4] = {0}, n = json_array_size(matched), i;
    json_t *a;
    json_array_foreach(matched, i, a)
    {
        by_sev[rank_of(json_string_value(json_object_get(a, "severity")), severities, 4)]++;
        by_state[rank_of(json_string_value(json_object_get(a, "state")), states, 3)]++;
    }
    printf("%zu %s", n, n == 1 ? "alert" : "alerts");
    if (shown < n) {
        printf(" (%zu shown)", shown);
    }
    const char *sep = ": ";
    for (int k = 0; k < 4; k++) {
        if (by_sev[k]) {
            printf("%s%zu %s", sep, by_sev[k], severities[k]);
            sep = ", ";
        }
    }
    sep = "; ";
    for (int k = 0; k < 3; k++) {
        if (by_state[k]) {
            printf("%s%zu %s", sep, by_state[k], states[k]);
            sep = ", ";
        }
    }
    putchar('\n');
}

static int show_event(void *ctx, json_t *ev)
{
    filter_t *f = ctx;
    json_t *a = json_object_get(ev, "alert");
    const char *state = json_string_value(json_object_get(ev, "state"));
    if (!a || !matches(f, a, state)) {
        return 0;
    }
    f->shown++;
    if (f->brief) {
        print_brief(a, state ? state : "?");
    } else if (f->json) {
        char *text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
        printf("%s\n", text ? text : "{}");
        free(text);
    } else {
        char why[600];
        snprintf(why, sizeof why, "event %lld: %s",
                 (long long)json_integer_value(json_object_get(ev, "event")), s_or(ev, "why", ""));
        utf8_trim(why);
        print_alert_text(a, state ? state : "?", json_integer_value(json_object_get(ev, "at_ms")),
                         why);
    }
    fflush(stdout);
    return 0;
}

int hub_cmd_alerts(int argc, char **argv)
{
    hub_ctx_t ctx = {0};
    filter_t f = {0};
    bool follow = false;
    static const struct option opts[] = {
        HUB_COMMON_OPTS,
        {"unit", required_argument, NULL, 'u'},
        {"case", required_argument, NULL, 'c'},
        {"article", required_argument, NULL, 'a'},
        {"severity", required_argument, NULL, 's'},
        {"state-filter", required_argument, NULL, 't'},
        {"history", no_argument, NULL, 'H'},
        {"follow", no_argument, NULL, 'F'},
        {"brief", no_argument, NULL, 'B'},
        {"limit", required_argument, NULL, 'm'},
        {"store", required_argument, NULL, 'P'},
        {NULL, 0, NULL, 0},
    };
    long long limit = -1;
    const char *store = NULL;
    /* `--state` names the state directory, here as for every command; the
     * alert state filter is `--state-filter`. */
    int opt;
    const char *filter_word = NULL; /* `--state open` (the old spelling of the filter) */
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'S' && is_alert_state(optarg) && !fsutil_exists(optarg)) {
            filter_word = optarg;
        }
        if (hub_common_opt(&ctx, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'u':
            f.unit = optarg;
            break;
        case 'c':
            f.case_id = optarg;
            break;
        case 'a':
            f.article = optarg;
            break;
        case 's':
            f.severity = optarg;
            break;
        case 't':
            f.state = optarg;
            break;
        case 'H':
            f.history = true;
            break;
        case 'F':
            follow = true;
            break;
        case 'B':
            f.brief = true;
            break;
        case 'P':
            store = optarg;
            break;
        case 'm': {
            char *end = NULL;
            limit = strtoll(optarg, &end, 10);
            if (!end || *end || end == optarg || limit < 1) {
                hub_fail("--limit wants a number of alerts, 1 or more");
                return 2;
            }
            break;
        }
        case 'h':
            alerts_usage(stdout);
            return 0;
        default:
            alerts_usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        alerts_usage(stderr);
        return 2;
    }
    if (filter_word) {
        hub_fail("--state names the hub's state directory and there is no directory \"%s\"; to "
                 "list the %s alerts use --state-filter %s",
                 filter_word, filter_word, filter_word);
        return 2;
    }
    if (f.state && !is_alert_state(f.state)) {
        hub_fail("state \"%s\" is not one of open, resolved, justified", f.state);
        return 2;
    }
    if (f.severity && strcmp(f.severity, "low") != 0 && strcmp(f.severity, "medium") != 0 &&
        strcmp(f.severity, "high") != 0 && strcmp(f.severity, "critical") != 0) {
        hub_fail("severity \"%s\" is not one of low, medium, high, critical", f.severity);
        return 2;
    }
    f.json = ctx.json;
    if (hub_load_config(&ctx) != 0) {
        hub_close(&ctx);
        return 1;
    }
    const char *url = hub_store_url(&ctx, store);
    if (url) {
        int prc = pg_is_url(url)
                      ? hub_provnode_alerts(&ctx, url, f.unit, f.case_id, f.history, f.brief)
                      : 2;
        if (prc == 2) {
            hub_fail("store %s is not a PostgreSQL URL (postgresql://USER@HOST:PORT/DB)", url);
        }
        hub_close(&ctx);
        return prc;
    }
    char dir[4096];
    index_t *idx = NULL;
    alerts_t *al = NULL;
    int rc = 1;
    if (fsutil_join(dir, sizeof dir, ctx.state, "index") != FT_OK) {
        goto out;
    }
    if (!fsutil_exists(dir)) {
        hub_fail("no case index in %s yet: run `fieldtrail-hub evaluate --state %s` or start "
                 "`fieldtrail-hub run`",
                 ctx.state, ctx.state);
        goto out;
    }
    int err = index_open(dir, 0, &idx);
    if (err == FT_OK) {
        err = alerts_open(idx, &al);
    }
    if (err != FT_OK) {
        hub_fail("cannot open the case index in %s: %s", dir, ft_strerror(err));
        goto out;
    }
    index_txn_t *it = NULL;
    err = index_begin(idx, false, &it);
    uint64_t last = 0;
    if (err == FT_OK && !f.history && !(f.matched = json_array())) {
        err = FT_ENOMEM;
    }
    if (err == FT_OK) {
        last = alerts_last_event(al, it);
        err = f.history ? alerts_history_iter(al, it, 0, show_event, &f)
                        : alerts_iter(al, it, collect_alert, &f);
        index_abort(&it);
    }
    if (err != FT_OK) {
        json_decref(f.matched);
        hub_fail("cannot read the alerts: %s", ft_strerror(err));
        goto out;
    }
    if (!f.history) {
        size_t n = json_array_size(f.matched);
        json_t **v = calloc(n ? n : 1, sizeof *v);
        if (!v) {
            json_decref(f.matched);
            hub_fail("out of memory");
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            v[i] = json_array_get(f.matched, i);
        }
        qsort(v, n, sizeof *v, alert_order);
        for (size_t i = 0; i < n && (limit < 0 || (long long)i < limit); i++) {
            show_alert(&f, v[i]);
        }
        free(v);
        if (!f.json && !f.brief) {
            print_summary(f.matched, f.shown);
        }
        json_decref(f.matched);
        f.matched = NULL;
    } else if (!f.json && !f.brief && !follow) {
        printf("%zu %s\n", f.shown, f.shown == 1 ? "event" : "events");
    }
    fflush(stdout);
    if (follow) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        while (!follow_stop) {
            struct timespec ts = {0, 200 * 1000000L};
            nanosleep(&ts, NULL);
            if (index_begin(idx, false, &it) != FT_OK) {
                continue;
            }
            uint64_t now_last = alerts_last_event(al, it);
            if (now_last > last) {
                (void)alerts_history_iter(al, it, last, show_event, &f);
                last = now_last;
            }
            index_abort(&it);
        }
    }
    rc = 0;
out:
    alerts_destroy(&al);
    index_destroy(&idx);
    hub_close(&ctx);
    return rc;
}

/* ---- rules ---------------------------------------------------------------- */

static void rules_usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-hub rules check [FILE] [--json]\n\n"
                 "Validates a rule pack (docs/rules.md) and prints its rules; without FILE, the\n"
                 "pack the hub would use (config `rules`, else the built-in default). A pack\n"
                 "that does not parse is named with its line and the reason; exit code 1.\n");
}

static void types_text(const type_set_t *s, char *buf, size_t len)
{
    if (s->all) {
        snprintf(buf, len, "all");
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < s->n && used < len; i++) {
        int n =
            snprintf(buf + used, len - used, "%s%s", i ? ", " : "", record_type_name(s->types[i]));
        if (n < 0) {
            break;
        }
        used += (size_t)n;
    }
}

static json_t *rule_json(const rule_t *r)
{
    char applies[1024], needs[512], each[512];
    types_text(&r->applies_to, applies, sizeof applies);
    types_text(&r->needs, needs, sizeof needs);
    types_text(&r->for_each, each, sizeof each);
    json_t *o = json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:i}", "rule", r->id, "kind",
                          rule_kind_name(r->kind), "enabled", r->enabled, "article",
                          r->article_per_type ? "per type" : r->article, "severity",
                          rule_severity_name(r->severity), "zh", r->message_zh ? r->message_zh : "",
                          "en", r->message_en ? r->message_en : "", "line", r->line);
    if (applies[0]) {
        json_object_set_new(o, "applies_to", json_string(applies));
    }
    if (needs[0]) {
        json_object_set_new(o, "needs", json_string(needs));
    }
    if (each[0]) {
        json_object_set_new(o, "for_each", json_string(each));
    }
    switch (r->kind) {
    case RULE_COVERAGE:
        json_object_set_new(o, "min_covered", json_real(r->min_covered));
        json_object_set_new(o, "max_uncovered_s", json_integer(r->max_uncovered_ms / 1000));
        json_object_set_new(o, "min_media", json_integer(r->min_media));
        break;
    case RULE_FOLLOWED_BY:
        json_object_set_new(o, "within_s", json_integer(r->within_ms / 1000));
        break;
    case RULE_PRECEDED_BY:
        json_object_set_new(o, "at_least_before_s", json_integer(r->min_before_ms / 1000));
        break;
    case RULE_READINESS:
        json_object_set_new(o, "min_battery_pct", json_integer(r->min_battery_pct));
        json_object_set_new(o, "min_free_mb", json_integer(r->min_free_mb));
        break;
    case RULE_UNLINKED_MEDIA:
        json_object_set_new(o, "grace_s", json_integer(r->grace_ms / 1000));
        break;
    case RULE_CLOCK:
        json_object_set_new(o, "max_offset_s", json_integer(r->max_offset_ms / 1000));
        break;
    case RULE_SILENCE:
        json_object_set_new(o, "max_silence_s", json_integer(r->max_silence_ms / 1000));
        break;
    default:
        break;
    }
    return o;
}

int hub_cmd_rules(int argc, char **argv)
{
    hub_ctx_t ctx = {0};
    const char *pos[2] = {NULL, NULL};
    int n_pos = 0;
    int rc = hub_parse_simple(&ctx, argc, argv, rules_usage, pos, 2, &n_pos);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (n_pos < 1 || strcmp(pos[0], "check") != 0) {
        rules_usage(stderr);
        return 2;
    }
    if (hub_load_config(&ctx) != 0) {
        hub_close(&ctx);
        return 1;
    }
    rulepack_t *pack = NULL;
    if (hub_rules_load(&ctx, n_pos > 1 ? pos[1] : NULL, &pack) != 0) {
        hub_close(&ctx);
        return 1;
    }
    size_t enabled = 0;
    for (size_t i = 0; i < pack->n; i++) {
        const rule_t *r = &pack->rules[i];
        enabled += r->enabled;
        json_t *o = rule_json(r);
        if (ctx.json) {
            char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
            printf("%s\n", text ? text : "{}");
            free(text);
        } else {
            printf("rule %-4s %-14s Art. %-8s %-8s %s%s\n", r->id, rule_kind_name(r->kind),
                   r->article_per_type ? "per type" : r->article, rule_severity_name(r->severity),
                   r->enabled ? "" : "(disabled) ", s_or(o, "applies_to", ""));
            if (json_object_get(o, "needs")) {
                printf("          needs %s%s%s\n", s_or(o, "needs", ""),
                       json_object_get(o, "for_each") ? " after each " : "",
                       s_or(o, "for_each", ""));
            }
            printf("          zh: %s\n          en: %s\n", r->message_zh ? r->message_zh : "",
                   r->message_en ? r->message_en : "");
        }
        json_decref(o);
    }
    if (!ctx.json) {
        printf("%s: %zu rules (%zu enabled) OK\n", pack->source, pack->n, enabled);
    }
    rules_destroy(&pack);
    hub_close(&ctx);
    return 0;
}
