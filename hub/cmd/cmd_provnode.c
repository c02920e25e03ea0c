/* cmd_provnode.c: the commands of a provincial node, whose store is
 * PostgreSQL (`store = postgresql://...` in its config, or --store):
 * `verify` re-verifies everything the county hubs forwarded (pgverify.h)
 * (docs/province.md). */
#include "hub.h"
#include "pgverify.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

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

int hub_province_verify(hub_ctx_t *ctx, const char *url)
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
