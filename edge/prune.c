/* prune.c: pruning receipted records (see prune.h), `prune` and `compact`. */
#include "prune.h"
#include "clitext.h"
#include "fsutil.h"
#include "logging.h"
#include "record.h"
#include "sync.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define DAY_MS 86400000ULL

int edge_records_keep(edge_ctx_t *ctx, const char *flag, uint64_t *keep_ms)
{
    uint64_t days = EDGE_RECORDS_DEFAULT_KEEP_DAYS;
    const char *text = config_pick(flag, ctx->cfg, "records.keep_days", NULL);
    if (text && (config_parse_u64(text, &days) != FT_OK || days > EDGE_RECORDS_MAX_KEEP_DAYS)) {
        edge_fail("records.keep_days must be a whole number of days from 0 to %d (0 keeps "
                  "records for ever), not \"%s\"",
                  EDGE_RECORDS_MAX_KEEP_DAYS, text);
        return 2;
    }
    *keep_ms = days * DAY_MS;
    return 0;
}

int edge_prune_records(devlog_t *log, uint64_t keep_ms, edge_prune_result_t *out)
{
    memset(out, 0, sizeof *out);
    if (keep_ms == 0) {
        snprintf(out->why, sizeof out->why, "records.keep_days is 0: records are kept for ever");
        return FT_OK;
    }
    wire_receipt_t r;
    int err = edge_sync_last_receipt(log, &r);
    if (err == FT_ENOTFOUND) {
        snprintf(out->why, sizeof out->why,
                 "no receipt from the hub yet: only what the hub acknowledged is pruned");
        return FT_OK;
    }
    if (err != FT_OK) {
        snprintf(out->why, sizeof out->why, "the stored receipt does not check out: %s",
                 ft_strerror(err));
        return err;
    }
    out->has_receipt = true;
    out->receipt_seq = r.upto_seq;
    uint64_t now = devlog_wall_ms(log);
    out->cutoff_ms = now > keep_ms ? now - keep_ms : 0;
    err = devlog_prune(log, r.upto_seq, r.upto_hash, out->cutoff_ms, &out->p);
    if (err == FT_OK && out->p.pruned == 0) {
        snprintf(out->why, sizeof out->why,
                 "nothing both acknowledged by the hub (entries 1..%llu) and older than the "
                 "cutoff is left",
                 (unsigned long long)r.upto_seq);
    }
    return err;
}

void edge_prune_log(devlog_t *log, uint64_t keep_ms)
{
    edge_prune_result_t res;
    int err = edge_prune_records(log, keep_ms, &res);
    if (err != FT_OK) {
        log_error("records not pruned: %s; run `fieldtrail-edge verify`",
                  res.p.detail[0] ? res.p.detail
                  : res.why[0]    ? res.why
                                  : ft_strerror(err));
    } else if (res.p.pruned > 0) {
        log_info("pruned entries %llu..%llu (%llu buckets; %llu keys dropped): the hub's "
                 "receipt covers them and they are older than records.keep_days",
                 (unsigned long long)res.p.first, (unsigned long long)res.p.last,
                 (unsigned long long)res.p.buckets, (unsigned long long)res.p.keys_dropped);
    } else {
        log_debug("nothing pruned: %s", res.why);
    }
}

int edge_prune_check(devlog_t *log, const devlog_report_t *r, uint64_t *receipt_seq, char *detail,
                     size_t n)
{
    if (receipt_seq) {
        *receipt_seq = 0;
    }
    if (r->pruned_max == 0) {
        return FT_OK;
    }
    wire_receipt_t rc;
    int err = edge_sync_last_receipt(log, &rc);
    if (err != FT_OK) {
        snprintf(detail, n,
                 "entries 1..%llu are pruned, but no receipt of the hub that checks out covers "
                 "them (%s)",
                 (unsigned long long)r->pruned_max, ft_strerror(err));
        return err == FT_ENOTFOUND ? FT_EPRUNED : err;
    }
    if (receipt_seq) {
        *receipt_seq = rc.upto_seq;
    }
    if (rc.upto_seq < r->pruned_max) {
        snprintf(detail, n,
                 "entries 1..%llu are pruned, but the hub's receipt covers only 1..%llu: entries "
                 "the hub does not hold were removed",
                 (unsigned long long)r->pruned_max, (unsigned long long)rc.upto_seq);
        return FT_EPRUNED;
    }
    uint8_t hash[ENTRY_HASH_BYTES];
    err = devlog_get_hash(log, rc.upto_seq, hash);
    if (err == FT_OK && memcmp(hash, rc.upto_hash, ENTRY_HASH_BYTES) != 0) {
        err = FT_ECHAIN;
    }
    if (err != FT_OK) {
        snprintf(detail, n, "the hub's receipt for entry %llu does not match this log's entry (%s)",
                 (unsigned long long)rc.upto_seq, ft_strerror(err));
    }
    return err;
}

/* ---- fieldtrail-edge prune ------------------------------------------------ */

static void prune_usage(FILE *out)
{
    fprintf(out,
            "usage: fieldtrail-edge prune [--keep-days N] [--state DIR] [--json]\n\n"
            "Prunes log entries that the hub's signed receipt covers and that are older than\n"
            "records.keep_days (edge.conf, default %d; 0 keeps them for ever): each keeps\n"
            "only its hash and signature, so `verify` still proves the chain, and the key\n"
            "its text was encrypted under is dropped. Entries the hub has not acknowledged\n"
            "are never pruned. `run` does this by itself at start and every hour.\n",
            EDGE_RECORDS_DEFAULT_KEEP_DAYS);
}

int edge_cmd_prune(int argc, char **argv)
{
    edge_ctx_t ctx = {0};
    const char *keep_flag = NULL;
    const cli_opt_t opts[] = {
        CLI_VALUE("keep-days", &keep_flag),
        CLI_END,
    };
    int rc = edge_parse(&ctx, argc, argv, opts, prune_usage);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (optind != argc) {
        prune_usage(stderr);
        return 2;
    }
    int status = 1;
    uint64_t keep_ms = 0;
    if (edge_open(&ctx) != 0) {
        goto out;
    }
    if (edge_records_keep(&ctx, keep_flag, &keep_ms) != 0) {
        status = 2;
        goto out;
    }
    edge_prune_result_t res;
    int err = edge_prune_records(ctx.log, keep_ms, &res);
    if (err != FT_OK) {
        edge_fail("nothing pruned: %s; run `fieldtrail-edge verify`", res.p.detail[0] ? res.p.detail
                                                                      : res.why[0]
                                                                          ? res.why
                                                                          : ft_strerror(err));
        goto out;
    }
    devlog_rest_t st;
    uint64_t head = 0;
    err = devlog_rest_stats(ctx.log, &st);
    if (err == FT_OK) {
        err = devlog_head(ctx.log, &head, NULL);
    }
    if (err != FT_OK) {
        edge_fail("cannot read the log: %s", ft_strerror(err));
        goto out;
    }
    char cutoff[48] = "";
    if (res.cutoff_ms) {
        rfc3339_format((int64_t)res.cutoff_ms, 0, cutoff, sizeof cutoff);
    }
    if (ctx.json) {
        json_t *o = json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "pruned", (json_int_t)res.p.pruned, "first",
            (json_int_t)res.p.first, "last", (json_int_t)res.p.last, "buckets",
            (json_int_t)res.p.buckets, "keys_dropped", (json_int_t)res.p.keys_dropped, "keep_days",
            (json_int_t)(keep_ms / DAY_MS), "pruned_total", (json_int_t)st.pruned_upto, "kept",
            (json_int_t)(head - st.pruned_upto));
        json_object_set_new(o, "receipt_seq",
                            res.has_receipt ? json_integer((json_int_t)res.receipt_seq)
                                            : json_null());
        json_object_set_new(o, "cutoff", cutoff[0] ? json_string(cutoff) : json_null());
        json_object_set_new(o, "why", res.why[0] ? json_string(res.why) : json_null());
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else if (res.p.pruned > 0) {
        cli_time((int64_t)res.cutoff_ms, cutoff, sizeof cutoff); /* local, with its offset */
        printf("pruned entries %llu..%llu (%llu buckets, %llu keys dropped): the hub's receipt "
               "covers 1..%llu and they are older than %s\n",
               (unsigned long long)res.p.first, (unsigned long long)res.p.last,
               (unsigned long long)res.p.buckets, (unsigned long long)res.p.keys_dropped,
               (unsigned long long)res.receipt_seq, cutoff);
    } else {
        printf("nothing pruned: %s\n", res.why);
    }
    if (!ctx.json) {
        printf("records: %llu pruned (hash and signature kept), %llu kept in full\n",
               (unsigned long long)st.pruned_upto, (unsigned long long)(head - st.pruned_upto));
    }
    status = 0;
out:
    edge_close(&ctx);
    return status;
}

/* ---- fieldtrail-edge compact ---------------------------------------------- */

static void compact_usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-edge compact [--state DIR]\n\n"
                 "Rewrites the local database without its free pages and swaps the copy in.\n"
                 "LMDB never wipes the pages that deleted or overwritten values leave: entries\n"
                 "written in plaintext (before at-rest encryption) and pruned since still have\n"
                 "their text there until this runs. Stop `fieldtrail-edge run` first: it refuses\n"
                 "while another process has the database open.\n");
}

int edge_cmd_compact(int argc, char **argv)
{
    edge_ctx_t ctx = {0};
    const cli_opt_t opts[] = {CLI_END};
    int rc = edge_parse(&ctx, argc, argv, opts, compact_usage);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (optind != argc) {
        compact_usage(stderr);
        return 2;
    }
    int status = 1;
    /* Opened (keys, log, key file checked) and closed again: compaction
     * wants nobody, this process included, to have the database open. */
    if (edge_open(&ctx) != 0) {
        goto out;
    }
    devlog_destroy(&ctx.log);
    char dir[4096];
    if (fsutil_join(dir, sizeof dir, ctx.state, "db") != FT_OK) {
        edge_fail("state directory path is too long");
        goto out;
    }
    devlog_compact_t cr;
    int err = devlog_compact(dir, &cr);
    if (err == FT_EAGAIN) {
        edge_fail("the database in %s is open in another process (stop `fieldtrail-edge run` "
                  "first) or was written to during the copy; nothing was changed",
                  dir);
        goto out;
    }
    if (err != FT_OK) {
        edge_fail("cannot compact %s: %s; nothing was changed", dir, ft_strerror(err));
        goto out;
    }
    printf("compacted %s/data.mdb: %llu -> %llu bytes\n", dir, (unsigned long long)cr.before,
           (unsigned long long)cr.after);
    status = 0;
out:
    edge_close(&ctx);
    return status;
}
