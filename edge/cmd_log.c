/* cmd_log.c: `log`, `verify` and `status`: reading the local device log.
 *
 * Pruned entries (edge/prune.h) are listed as such (seq, hash, "pruned"),
 * never hidden; `verify` checks their stubs and that the hub's receipt
 * covers them; `status` counts them and warns when the state directory is
 * not on dm-crypt (edge/dmcrypt.h). */
#include "bodyjson.h"
#include "dmcrypt.h"
#include "edge.h"
#include "hlc.h"
#include "msync.h"
#include "prune.h"
#include "record.h"
#include "sync.h"
#include "utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses the common options only (plus --from/--to for log). 0, or exit code. */
static int parse_simple(edge_ctx_t *ctx, int argc, char **argv, void (*usage)(FILE *),
                        uint64_t *from, uint64_t *to)
{
    static const struct option opts[] = {
        EDGE_COMMON_OPTS,
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (edge_common_opt(ctx, opt, optarg)) {
            continue;
        }
        if ((opt == 'f' || opt == 't') && from) {
            if (config_parse_u64(optarg, opt == 'f' ? from : to) != FT_OK) {
                edge_fail("--%s wants a sequence number, not \"%s\"", opt == 'f' ? "from" : "to",
                          optarg);
                return 2;
            }
            continue;
        }
        if (opt == 'h') {
            usage(stdout);
            return -1;
        }
        usage(stderr);
        return 2;
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    return 0;
}

static void log_usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-edge log [--from SEQ] [--to SEQ] [--state DIR] [--json]\n\n"
                 "Lists log entries: seq, time (from the entry's clock), kind and summary.\n"
                 "With --json, one object per line: seq, epoch, hlc, time, kind, hash, body.\n"
                 "A pruned entry (see `fieldtrail-edge prune --help`) shows its seq and hash\n"
                 "and \"pruned\" (--json: {\"seq\", \"hash\", \"pruned\":true}).\n");
}

/* Listing state. */
typedef struct {
    bool json;
    unsigned long shown;
} list_t;

static int list_one(void *ctx, const devlog_item_t *it)
{
    list_t *l = ctx;
    uint64_t seq = it->seq;
    l->shown++;
    if (it->state == DEVLOG_PRUNED) {
        char hash[65];
        hex_encode(it->hash, 32, hash);
        if (l->json) {
            printf("{\"seq\":%llu,\"hash\":\"%s\",\"pruned\":true}\n", (unsigned long long)seq,
                   hash);
        } else {
            printf("%8llu  pruned (hash %s; the hub holds the entry)\n", (unsigned long long)seq,
                   hash);
        }
        return 0;
    }
    entry_view_t v;
    if (it->state != DEVLOG_ENTRY || entry_open(it->raw, it->len, &v) != FT_OK) {
        if (l->json) {
            printf("{\"seq\":%llu,\"error\":\"corrupt entry\"}\n", (unsigned long long)seq);
        } else {
            printf("%8llu  (corrupt entry: run `fieldtrail-edge verify`)\n",
                   (unsigned long long)seq);
        }
        return 0;
    }
    char when[48];
    rfc3339_format((int64_t)hlc_ms(v.entry->hlc), 0, when, sizeof when);
    if (l->json) {
        char hash[65];
        hex_encode(v.hash, 32, hash);
        json_t *o = json_pack("{s:I, s:I, s:I, s:s, s:s, s:s, s:o}", "seq", (json_int_t)seq,
                              "epoch", (json_int_t)v.entry->epoch, "hlc", (json_int_t)v.entry->hlc,
                              "time", when, "kind", entry_body_kind(v.entry->body), "hash", hash,
                              "body", body_to_json(v.entry->body));
        json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(15));
        fputc('\n', stdout);
        json_decref(o);
    } else {
        char summary[512];
        body_summary(v.entry->body, summary, sizeof summary);
        cli_time((int64_t)hlc_ms(v.entry->hlc), when, sizeof when); /* local, with its offset */
        printf("%8llu  %s  %s\n", (unsigned long long)seq, when, summary);
    }
    entry_view_free(&v);
    return 0;
}

int edge_cmd_log(int argc, char **argv)
{
    edge_ctx_t ctx = {0};
    uint64_t from = 1, to = 0;
    int rc = parse_simple(&ctx, argc, argv, log_usage, &from, &to);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (edge_open(&ctx) != 0) {
        edge_close(&ctx);
        return 1;
    }
    list_t l = {.json = ctx.json};
    int err = devlog_iter_all(ctx.log, from, to, list_one, &l);
    if (err < 0) {
        edge_fail("cannot read the log: %s", ft_strerror(err));
    } else if (!ctx.json && l.shown == 0) {
        printf("no entries\n");
    }
    edge_close(&ctx);
    return err < 0 ? 1 : 0;
}

static void verify_usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-edge verify [--state DIR] [--json]\n\n"
                 "Checks every entry of the local log: present (dense seq), decodes, signed by\n"
                 "this device, chained to the one before. Names the first bad entry.\n"
                 "A pruned entry: its stored signature verifies over its stored hash, the entry\n"
                 "after it links to that hash, and the hub's signed receipt covers it.\n"
                 "Exit status 1 if anything is wrong.\n");
}

int edge_cmd_verify(int argc, char **argv)
{
    edge_ctx_t ctx = {0};
    int rc = parse_simple(&ctx, argc, argv, verify_usage, NULL, NULL);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (edge_open(&ctx) != 0) {
        edge_close(&ctx);
        return 1;
    }
    devlog_report_t r;
    int err = devlog_verify(ctx.log, 1, &r);
    if (err != FT_OK) {
        edge_fail("cannot read the log: %s", ft_strerror(err));
        edge_close(&ctx);
        return 1;
    }
    uint64_t receipt_seq = 0;
    bool uncovered = false;
    if (r.err == FT_OK) {
        /* The pruned entries are the hub's to prove: its receipt covers them. */
        r.err = edge_prune_check(ctx.log, &r, &receipt_seq, r.detail, sizeof r.detail);
        if (r.err != FT_OK) {
            uncovered = true;
            r.bad_seq = r.pruned_max;
        }
    }
    if (ctx.json) {
        json_t *o = json_pack("{s:b, s:I, s:I, s:I}", "ok", r.err == FT_OK, "checked",
                              (json_int_t)r.checked, "head_seq", (json_int_t)r.head_seq, "pruned",
                              (json_int_t)r.pruned);
        if (r.err != FT_OK) {
            json_object_set_new(o, "bad_seq", json_integer((json_int_t)r.bad_seq));
            json_object_set_new(o, "reason", json_string(ft_strerror(r.err)));
            json_object_set_new(o, "detail", json_string(r.detail));
        }
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else if (r.err == FT_OK) {
        printf("log OK: %llu entries verified (signatures, chain, dense seq)\n",
               (unsigned long long)r.checked);
        if (r.pruned > 0) {
            printf("        %llu of them pruned (1..%llu): each stub's signature verified over "
                   "its hash, the entry after the last links to it, and the hub's receipt covers "
                   "1..%llu\n",
                   (unsigned long long)r.pruned, (unsigned long long)r.pruned_max,
                   (unsigned long long)receipt_seq);
        }
    } else if (uncovered) {
        printf("log DAMAGED at entry %llu: %s\n%llu entries verified by their signatures, but "
               "pruned entries must be covered by the hub's receipt. The damage is evidence of "
               "removal or alteration (Art. 24(2)); do not modify the state directory, report it "
               "to the office.\n",
               (unsigned long long)r.bad_seq, r.detail, (unsigned long long)r.checked);
    } else {
        printf("log DAMAGED at entry %llu: %s\n%llu entries before it verified. The damage is "
               "evidence of removal or alteration (Art. 24(2)); do not modify the state "
               "directory, report it to the office.\n",
               (unsigned long long)r.bad_seq, r.detail, (unsigned long long)r.checked);
    }
    edge_close(&ctx);
    return r.err == FT_OK ? 0 : 1;
}

static void status_usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-edge status [--state DIR] [--json]\n\n"
                 "Shows the device ID, the log head and the hub this unit syncs to, and\n"
                 "sync: entries the hub has not yet acknowledged (head minus the last\n"
                 "receipt), the last receipt, and the link as `run` last saw it; records\n"
                 "pruned and kept (records.keep_days); and whether the state directory is on\n"
                 "an encrypted block device (dm-crypt): a WARNING if it is not or if that\n"
                 "cannot be told (docs/operations.md).\n");
}

/* The at-rest warning for a dm-crypt verdict, "" if none is due. */
static void at_rest_warning(const dmcrypt_t *dm, const char *state, char *out, size_t n)
{
    out[0] = '\0';
    if (dm->state == DMCRYPT_PLAIN) {
        snprintf(out, n,
                 "the state directory %s is on %s, which is not encrypted (no dm-crypt): a "
                 "stolen unit reveals its keys and the records not pruned yet. Put it on a LUKS "
                 "volume (docs/operations.md, \"Encrypting the state directory\")",
                 state, dm->device);
    } else if (dm->state == DMCRYPT_UNKNOWN) {
        snprintf(out, n,
                 "cannot tell whether the state directory %s is on an encrypted block device: "
                 "%s. Put it on a LUKS volume (docs/operations.md, \"Encrypting the state "
                 "directory\")",
                 state, dm->why);
    }
}

int edge_cmd_status(int argc, char **argv)
{
    edge_ctx_t ctx = {0};
    int rc = parse_simple(&ctx, argc, argv, status_usage, NULL, NULL);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (edge_open(&ctx) != 0) {
        edge_close(&ctx);
        return 1;
    }
    uint64_t head = 0;
    uint8_t hash[32];
    int err = devlog_head(ctx.log, &head, hash);
    if (err != FT_OK) {
        edge_fail("cannot read the log: %s", ft_strerror(err));
        edge_close(&ctx);
        return 1;
    }
    char id[DEVID_TEXT_SIZE], hash_hex[65];
    devid_format(devlog_device(ctx.log), id);
    hex_encode(hash, 32, hash_hex);
    const char *hub = config_get(ctx.cfg, "hub");
    const char *unit = config_get(ctx.cfg, "unit");
    const char *vehicle = config_get(ctx.cfg, "vehicle");
    edge_sync_status_t ss;
    err = edge_sync_read_status(ctx.log, &ss);
    if (err != FT_OK) {
        edge_fail("cannot read the sync state: %s", ft_strerror(err));
        edge_close(&ctx);
        return 1;
    }
    uint64_t unacked = head > ss.receipt_seq ? head - ss.receipt_seq : 0;
    uint64_t keep_ms = 0;
    if (edge_records_keep(&ctx, NULL, &keep_ms) != 0) {
        edge_close(&ctx);
        return 2;
    }
    devlog_rest_t rest;
    err = devlog_rest_stats(ctx.log, &rest);
    if (err != FT_OK) {
        edge_fail("cannot read the log's at-rest state: %s", ft_strerror(err));
        edge_close(&ctx);
        return 1;
    }
    dmcrypt_t dm;
    if (dmcrypt_check("/sys", ctx.state, &dm) != FT_OK) {
        memset(&dm, 0, sizeof dm);
        snprintf(dm.why, sizeof dm.why, "the state directory cannot be examined");
    }
    char warning[600];
    at_rest_warning(&dm, ctx.state, warning, sizeof warning);
    char receipt_at[48] = "", link_at[48] = "", contact_at[48] = "", error_at[48] = "";
    if (ss.has_receipt) {
        rfc3339_format(ss.receipt_hub_ms, 0, receipt_at, sizeof receipt_at);
    }
    if (ss.link_ms) {
        rfc3339_format(ss.link_ms, 0, link_at, sizeof link_at);
    }
    if (ss.last_contact_ms) {
        rfc3339_format(ss.last_contact_ms, 0, contact_at, sizeof contact_at);
    }
    if (ss.last_error_ms) {
        rfc3339_format(ss.last_error_ms, 0, error_at, sizeof error_at);
    }
    /* What `run` last knew of the link; a stopped daemon knows nothing now. */
    const char *link = !ss.link[0]          ? "never run"
                       : !ss.daemon_running ? "sync daemon not running"
                                            : ss.link;
    if (ctx.json) {
        /* text escaped where it is not valid UTF-8 (utf8.h) */
        json_t *o = json_pack("{s:s, s:I, s:I, s:s, s:o?, s:o?, s:o?}", "device_id", id, "epoch",
                              (json_int_t)devlog_epoch(ctx.log), "head_seq", (json_int_t)head,
                              "head_hash", hash_hex, "hub", utf8_json_string(hub), "unit",
                              utf8_json_string(unit), "vehicle", utf8_json_string(vehicle));
        json_t *sync =
            json_pack("{s:b, s:I, s:I, s:s, s:b}", "hub_configured", hub != NULL, "unacked",
                      (json_int_t)unacked, "acked_seq", (json_int_t)ss.receipt_seq, "link", link,
                      "daemon_running", ss.daemon_running);
        json_object_set_new(sync, "last_receipt",
                            ss.has_receipt ? json_string(receipt_at) : json_null());
        json_object_set_new(sync, "link_since", ss.link_ms ? json_string(link_at) : json_null());
        json_object_set_new(sync, "last_link_state",
                            ss.link[0] ? json_string(ss.link) : json_null());
        json_object_set_new(sync, "last_contact",
                            ss.last_contact_ms ? json_string(contact_at) : json_null());
        json_object_set_new(sync, "clock_offset_ms",
                            ss.has_clock_offset ? json_integer(ss.clock_offset_ms) : json_null());
        json_object_set_new(sync, "last_error",
                            ss.last_error[0] ? utf8_json_string(ss.last_error) : json_null());
        json_object_set_new(sync, "last_error_at",
                            ss.last_error_ms ? json_string(error_at) : json_null());
        /* the hub's endpoints against edge.conf at the last Welcome (null: they agree) */
        json_object_set_new(sync, "endpoint_mismatch",
                            ss.endpoint_mismatch[0] ? utf8_json_string(ss.endpoint_mismatch)
                                                    : json_null());
        json_object_set_new(o, "sync", sync);
        json_t *recs = json_pack(
            "{s:I, s:I, s:I, s:I}", "kept", (json_int_t)(head - rest.pruned_upto), "pruned",
            (json_int_t)rest.pruned_upto, "keep_days", (json_int_t)(keep_ms / 86400000ULL),
            "plaintext_upto", (json_int_t)rest.plain_upto);
        json_object_set_new(o, "records", recs);
        json_t *ar =
            json_pack("{s:b, s:I, s:I}", "log_encrypted", rest.enabled, "buckets_kept",
                      (json_int_t)rest.buckets_kept, "keys", (json_int_t)rest.keys_in_file);
        json_object_set_new(ar, "block_device",
                            dm.device[0] ? json_string(dm.device) : json_null());
        json_object_set_new(ar, "dm_crypt",
                            dm.state == DMCRYPT_UNKNOWN
                                ? json_null()
                                : json_boolean(dm.state == DMCRYPT_ENCRYPTED));
        json_object_set_new(ar, "warning", warning[0] ? json_string(warning) : json_null());
        json_object_set_new(o, "at_rest", ar);
        json_object_set_new(o, "media", edge_media_status_json(ctx.log));
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        /* For people: local time with its offset (clitext.h; --utc: UTC). */
        cli_time(ss.receipt_hub_ms, receipt_at, sizeof receipt_at);
        cli_time(ss.link_ms, link_at, sizeof link_at);
        cli_time(ss.last_contact_ms, contact_at, sizeof contact_at);
        cli_time(ss.last_error_ms, error_at, sizeof error_at);
        printf("device ID:   %s\nunit:        %s\nvehicle:     %s\nlog:         %llu entries "
               "(epoch %llu)\nhub:         %s\n",
               id, unit ? unit : "(not set)", vehicle ? vehicle : "(not set)",
               (unsigned long long)head, (unsigned long long)devlog_epoch(ctx.log),
               hub ? hub : "(not configured: records stay on this unit)");
        printf("unacked:     %llu entries not yet acknowledged by the hub\n"
               "receipt:     %s\n",
               (unsigned long long)unacked, ss.has_receipt ? receipt_at : "(none yet)");
        if (ss.has_receipt) {
            printf("             covers entries 1..%llu\n", (unsigned long long)ss.receipt_seq);
        }
        if (ss.daemon_running) {
            printf("link:        %s since %s\n", ss.link, link_at);
        } else if (ss.link[0]) {
            printf("link:        sync daemon not running (last: %s at %s); start it with "
                   "`fieldtrail-edge run`\n",
                   ss.link, link_at);
        } else {
            printf("link:        sync never ran; start it with `fieldtrail-edge run`\n");
        }
        if (ss.last_contact_ms) {
            printf("last contact: %s\n", contact_at);
        }
        if (ss.last_error[0]) {
            printf("last error:  %s (%s)\n", ss.last_error, error_at);
        }
        if (ss.endpoint_mismatch[0]) {
            char at[CLI_TIME_TEXT];
            cli_time(ss.endpoint_ms, at, sizeof at);
            printf("ENDPOINT MISMATCH: %s (seen at the hub's welcome, %s)\n", ss.endpoint_mismatch,
                   at);
        }
        printf("records:     %llu kept in full, %llu pruned to their hash and signature (the "
               "hub holds them)\n",
               (unsigned long long)(head - rest.pruned_upto), (unsigned long long)rest.pruned_upto);
        if (keep_ms) {
            printf("             pruned once the hub's receipt covers them and they are %llu "
                   "days old (records.keep_days)\n",
                   (unsigned long long)(keep_ms / 86400000ULL));
        } else {
            printf("             never pruned: records.keep_days is 0\n");
        }
        if (rest.plain_upto > rest.pruned_upto) {
            printf("             entries %llu..%llu were written before at-rest encryption and "
                   "are stored in plaintext until pruned (then `fieldtrail-edge compact`)\n",
                   (unsigned long long)rest.pruned_upto + 1, (unsigned long long)rest.plain_upto);
        }
        if (dm.state == DMCRYPT_ENCRYPTED) {
            printf("at rest:     state directory on %s, encrypted (dm-crypt %s)\n", dm.device,
                   dm.crypt);
        } else {
            printf("WARNING:     %s\n", warning);
        }
        edge_media_status_print(ctx.log, stdout);
    }
    edge_close(&ctx);
    return 0;
}
