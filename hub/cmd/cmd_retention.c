/* cmd_retention.c: `fieldtrail-hub retention`, `hold`, `export` and `archive`
 * (docs/retention.md). The work is in retention.c and bundle.c; this file
 * parses options, prints, and drives xorriso for disc images. */
#include "bundle.h"
#include "bundlefmt.h"
#include "evaluator.h"
#include "fsutil.h"
#include "hlc.h"
#include "logging.h"
#include "record.h"
#include "retention.h"
#include "utf8.h"

#include <errno.h>
#include <ftw.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Options shared by these commands beyond the common ones. */
enum {
    O_DRY = 300,
    O_NOW,
    O_FORCE,
    O_BY,
    O_ALL,
    O_CASE,
    O_MEDIA,
    O_REASON,
    O_DETAILS,
    O_ID,
    O_WHY,
    O_OUT,
    O_RECIPIENT,
    O_STALE,
    O_HOLDS,
    O_ISO,
    O_VERIFIER
};

static int parse_time(const char *text, int64_t *ms)
{
    if (hub_parse_now(text, ms) != FT_OK) {
        hub_fail("--now \"%s\" is neither an RFC 3339 time with offset nor Unix milliseconds",
                 text);
        return 2;
    }
    return 0;
}

static const char *default_by(void)
{
    const char *u = getenv("USER");
    return u && u[0] ? u : "-";
}

/* ---- retention ------------------------------------------------------------------------ */

static void retention_usage(FILE *out)
{
    fprintf(out,
            "usage: fieldtrail-hub retention [--dry-run] [--now T] [--force] [--all] [--by NAME]\n"
            "                                [--json] [--state DIR] [--config FILE]\n\n"
            "The retention job (Art. 22-23). Decides every media file held at the hub:\n"
            "daily enforcement media are kept retention.daily_days (>= 730) after capture,\n"
            "evidence of a case retention.case_years after the case's latest record, held\n"
            "media (legal hold, Art. 23) for ever; the longest applicable period wins.\n"
            "  --dry-run   list what would be deleted and why; delete nothing\n"
            "  --now T     decide at T (RFC 3339 or Unix ms) instead of the clock\n"
            "  --force     allow deleting more than retention.max_fraction at once\n"
            "  --all       list every media file with its decision, not only deletions\n"
            "  --by NAME   who runs it (recorded in the hub log; default $USER)\n"
            "A real run refuses (exit 1, nothing deleted) when the case index is behind\n"
            "the store, the hub log does not verify, the clock is implausible, or too much\n"
            "would go at once. Every deletion is a signed Deletion entry in the hub log.\n");
}

static void print_item(const retention_item_t *it, bool json, bool all)
{
    if (!all && !it->expired) {
        return;
    }
    const char *action = it->expired ? "delete" : it->deleted ? "deleted" : "keep";
    if (json) {
        json_t *o = retention_item_json(it);
        json_object_set_new(o, "action", json_string(action));
        char *text = json_dumps(o, JSON_COMPACT);
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(o);
        return;
    }
    char size[24];
    cli_size(it->size, size, sizeof size);
    printf("%-7s %s %-8s %9s  %s\n", action, it->media_id, it->klass, size, it->why);
}

int hub_cmd_retention(int argc, char **argv)
{
    hub_ctx_t ctx = {0};
    static const struct option opts[] = {
        HUB_COMMON_OPTS,
        {"dry-run", no_argument, NULL, O_DRY},
        {"now", required_argument, NULL, O_NOW},
        {"force", no_argument, NULL, O_FORCE},
        {"all", no_argument, NULL, O_ALL},
        {"by", required_argument, NULL, O_BY},
        {NULL, 0, NULL, 0},
    };
    bool dry = false, force = false, all = false;
    const char *by = default_by();
    int64_t now = (int64_t)hlc_wall_ms();
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (hub_common_opt(&ctx, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case O_DRY:
            dry = true;
            break;
        case O_FORCE:
            force = true;
            break;
        case O_ALL:
            all = true;
            break;
        case O_BY:
            by = optarg;
            break;
        case O_NOW:
            if (parse_time(optarg, &now) != 0) {
                return 2;
            }
            break;
        case 'h':
            retention_usage(stdout);
            return 0;
        default:
            retention_usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        retention_usage(stderr);
        return 2;
    }
    if (hub_open(&ctx, true) != 0) {
        hub_close(&ctx);
        return 1;
    }
    char err[2048] = "", checks[2048] = "";
    retention_policy_t pol;
    retention_plan_t plan;
    memset(&plan, 0, sizeof plan);
    int rc = 1;
    if (retention_policy_load(ctx.cfg, &pol, err, sizeof err) != FT_OK) {
        hub_fail("%s", err);
        goto out;
    }
    if (retention_plan(hub_parts(&ctx), &pol, now, &plan, err, sizeof err) != FT_OK) {
        hub_fail("%s", err);
        goto out;
    }
    bool refused = retention_check(&pol, &plan, force, checks, sizeof checks) != FT_OK;
    char nowt[48];
    rfc3339_format(now, 0, nowt, sizeof nowt);
    for (size_t i = 0; i < plan.n; i++) {
        print_item(&plan.items[i], ctx.json,
                   all || (plan.items[i].deleted && plan.items[i].blob_present));
    }
    size_t held = 0;
    for (size_t i = 0; i < plan.n; i++) {
        held += plan.items[i].held && !plan.items[i].deleted;
    }
    if (dry || refused) {
        if (ctx.json) {
            json_t *o = json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:s?}", "summary",
                                  dry ? "dry_run" : "refused", "now", nowt, "refused", refused,
                                  "files_held", (json_int_t)plan.files_held, "files_to_delete",
                                  (json_int_t)plan.files_expired, "bytes_to_delete",
                                  (json_int_t)plan.bytes_expired, "files_on_hold", (json_int_t)held,
                                  "files_kept", (json_int_t)(plan.files_held - plan.files_expired),
                                  "checks", refused ? checks : NULL);
            char *text = json_dumps(o, JSON_COMPACT);
            printf("%s\n", text ? text : "{}");
            free(text);
            json_decref(o);
        } else {
            char when[CLI_TIME_TEXT], size[24];
            cli_time(now, when, sizeof when);
            cli_size(plan.bytes_expired, size, sizeof size);
            printf("%s at %s: %llu of %llu media files would be deleted (%s); %zu on "
                   "legal hold\n",
                   dry ? "dry run" : "retention", when, (unsigned long long)plan.files_expired,
                   (unsigned long long)plan.files_held, size, held);
        }
        if (refused) {
            hub_fail("%s refuses to run: %s", dry ? "a real run" : "retention", checks);
        } else if (!ctx.json) {
            printf("the job's checks pass; nothing was deleted (dry run)\n");
        }
        rc = dry ? 0 : 1;
        goto out;
    }
    size_t deleted = 0;
    int e = retention_execute(hub_parts(&ctx), &plan, by, &deleted, err, sizeof err);
    if (ctx.json) {
        json_t *o = json_pack(
            "{s:s, s:s, s:I, s:I, s:I, s:s?}", "summary", "run", "now", nowt, "files_deleted",
            (json_int_t)deleted, "bytes_deleted", (json_int_t)plan.bytes_expired, "files_held",
            (json_int_t)(plan.files_held - deleted), "error", e != FT_OK ? err : NULL);
        char *text = json_dumps(o, JSON_COMPACT);
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(o);
    } else if (e == FT_OK) {
        char when[CLI_TIME_TEXT], size[24];
        cli_time(now, when, sizeof when);
        cli_size(plan.bytes_expired, size, sizeof size);
        printf("retention at %s: %zu media files deleted (%s), each recorded in the hub "
               "log; %llu kept\n",
               when, deleted, size, (unsigned long long)(plan.files_held - deleted));
    }
    if (e != FT_OK) {
        hub_fail("%s", err);
        goto out;
    }
    log_info("retention run by %s at %s: %zu files deleted", by, nowt, deleted);
    rc = 0;
out:
    retention_plan_free(&plan);
    hub_close(&ctx);
    return rc;
}

/* ---- hold ------------------------------------------------------------------------------ */

static void hold_usage(FILE *out)
{
    fprintf(
        out,
        "usage: fieldtrail-hub hold add (--case C | --media FILE_ID) --reason R --details TEXT\n"
        "                              --by NAME [--id ID] [--now T]\n"
        "       fieldtrail-hub hold remove ID --by NAME --why TEXT [--now T]\n"
        "       fieldtrail-hub hold list [--json]\n"
        "         [--state DIR] [--config FILE]\n\n"
        "Legal holds (Art. 23): media of a held case, or a held media file, are kept\n"
        "for ever, whatever their retention class. R is one of objection, obstruction,\n"
        "mass_incident, other. add and remove write a signed legal_hold record in the\n"
        "hub's own log (remove: an amendment with \"released\": true naming the hold);\n"
        "list shows holds from the hub log and from legal_hold records of every device.\n");
}

static int hold_append(hub_ctx_t *ctx, const char *id, const char *case_id, const char *media,
                       const char *reason, const char *details, const char *by, const char *amends,
                       bool released, int64_t now, uint64_t *seq)
{
    Ft__FieldValue f_reason = FT__FIELD_VALUE__INIT, f_details = FT__FIELD_VALUE__INIT,
                   f_rel = FT__FIELD_VALUE__INIT;
    f_reason.key = "reason";
    f_reason.value_case = FT__FIELD_VALUE__VALUE_TEXT;
    f_reason.text = (char *)reason;
    f_details.key = "details";
    f_details.value_case = FT__FIELD_VALUE__VALUE_TEXT;
    f_details.text = (char *)details;
    f_rel.key = "released";
    f_rel.value_case = FT__FIELD_VALUE__VALUE_FLAG;
    f_rel.flag = 1;
    Ft__FieldValue *fields[] = {&f_reason, &f_details, &f_rel};
    Ft__Time t = FT__TIME__INIT;
    t.unix_ms = now;
    char *officers[] = {(char *)by};
    char *media_ids[] = {(char *)media};
    Ft__Record rec = FT__RECORD__INIT;
    rec.type = FT__RECORD_TYPE__LEGAL_HOLD;
    rec.id = (char *)id;
    rec.case_id = case_id && case_id[0] ? (char *)case_id : NULL;
    rec.time = &t;
    rec.n_officers = 1;
    rec.officers = officers;
    rec.n_media = media && media[0] ? 1 : 0;
    rec.media = media_ids;
    rec.amends = (char *)amends;
    rec.n_fields = released ? 3 : 2;
    rec.fields = fields;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_RECORD;
    body.record = &rec;
    return devlog_append1(ctx->hublog, &body, seq);
}

static int hold_list(hub_ctx_t *ctx)
{
    char err[1024];
    retention_policy_t pol;
    retention_plan_t plan;
    if (retention_policy_load(ctx->cfg, &pol, err, sizeof err) != FT_OK) {
        hub_fail("%s", err);
        return 1;
    }
    if (retention_plan(hub_parts(ctx), &pol, (int64_t)hlc_wall_ms(), &plan, err, sizeof err) !=
        FT_OK) {
        hub_fail("%s", err);
        return 1;
    }
    static const char *const cols[] = {"STATE", "ID", "TARGET", "REASON", "BY", "SOURCE / DETAILS"};
    cli_table_t *tab = ctx->json ? NULL : cli_table_new(6, cols, "llllll");
    for (size_t i = 0; i < plan.n_holds; i++) {
        const retention_hold_t *h = &plan.holds[i];
        if (ctx->json) {
            json_t *o = retention_hold_json(h);
            char *text = json_dumps(o, JSON_COMPACT);
            printf("%s\n", text ? text : "{}");
            free(text);
            json_decref(o);
        } else {
            char target[300];
            snprintf(target, sizeof target, "%s%s", h->case_id[0] ? "case " : "media ",
                     h->case_id[0] ? h->case_id : h->media_id);
            char details[2048];
            snprintf(details, sizeof details, "%s: %s", h->source, h->details);
            utf8_trim(details);
            const char *cells[] = {h->active ? "active" : "released",
                                   h->id[0] ? h->id : "-",
                                   target,
                                   h->reason,
                                   h->by,
                                   details};
            if (tab) {
                (void)cli_table_add(tab, cells);
            }
        }
    }
    cli_table_print(tab, stdout);
    cli_table_free(&tab);
    retention_plan_free(&plan);
    return 0;
}

int hub_cmd_hold(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        hold_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "add") != 0 && strcmp(sub, "remove") != 0 && strcmp(sub, "list") != 0) {
        hub_fail("unknown hold command \"%s\": add, remove or list", sub);
        hold_usage(stderr);
        return 2;
    }
    hub_ctx_t ctx = {0};
    static const struct option opts[] = {
        HUB_COMMON_OPTS,
        {"case", required_argument, NULL, O_CASE},
        {"media", required_argument, NULL, O_MEDIA},
        {"reason", required_argument, NULL, O_REASON},
        {"details", required_argument, NULL, O_DETAILS},
        {"by", required_argument, NULL, O_BY},
        {"id", required_argument, NULL, O_ID},
        {"why", required_argument, NULL, O_WHY},
        {"now", required_argument, NULL, O_NOW},
        {NULL, 0, NULL, 0},
    };
    int64_t now = (int64_t)hlc_wall_ms();
    const char *case_id = NULL, *media = NULL, *reason = NULL, *details = NULL, *by = NULL,
               *id = NULL, *why = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        if (hub_common_opt(&ctx, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case O_CASE:
            case_id = optarg;
            break;
        case O_MEDIA:
            media = optarg;
            break;
        case O_REASON:
            reason = optarg;
            break;
        case O_DETAILS:
            details = optarg;
            break;
        case O_BY:
            by = optarg;
            break;
        case O_ID:
            id = optarg;
            break;
        case O_WHY:
            why = optarg;
            break;
        case O_NOW:
            if (parse_time(optarg, &now) != 0) {
                return 2;
            }
            break;
        case 'h':
            hold_usage(stdout);
            return 0;
        default:
            hold_usage(stderr);
            return 2;
        }
    }
    int n_pos = argc - 1 - optind;
    const char *pos = n_pos == 1 ? argv[1 + optind] : NULL;
    int rc = 2;
    char idbuf[96], mbuf[33];
    if (strcmp(sub, "list") == 0) {
        if (n_pos != 0) {
            hold_usage(stderr);
            return 2;
        }
        rc = hub_open(&ctx, true) != 0 ? 1 : hold_list(&ctx);
        hub_close(&ctx);
        return rc;
    }
    if (strcmp(sub, "add") == 0) {
        if (n_pos != 0 || (!case_id == !media) || !reason || !details || !by || !by[0]) {
            hub_fail("hold add needs exactly one of --case or --media, and --reason, --details "
                     "and --by");
            hold_usage(stderr);
            return 2;
        }
        if (!retention_reason_ok(reason)) {
            hub_fail("--reason must be one of objection, obstruction, mass_incident, other (Art. "
                     "23), not \"%s\"",
                     reason);
            return 2;
        }
        uint8_t fid[MEDIA_FILE_ID_BYTES];
        if (media) {
            if (strlen(media) != 32 || hex_decode(media, fid, sizeof fid) != FT_OK) {
                hub_fail("--media wants the 32-character hex file ID that `media list` shows");
                return 2;
            }
            hex_encode(fid, sizeof fid, mbuf);
            media = mbuf;
        }
        if (!id) {
            uint8_t r[4];
            char rh[9];
            randombytes_buf(r, sizeof r);
            hex_encode(r, sizeof r, rh);
            snprintf(idbuf, sizeof idbuf, "hold-%lld-%s", (long long)(now / 1000), rh);
            id = idbuf;
        }
        if (hub_open(&ctx, true) != 0) {
            hub_close(&ctx);
            return 1;
        }
        uint64_t seq = 0;
        int e = hold_append(&ctx, id, case_id, media, reason, details, by, NULL, false, now, &seq);
        if (e != FT_OK) {
            hub_fail("cannot write the hold to the hub log: %s", ft_strerror(e));
            rc = 1;
        } else {
            if (ctx.json) {
                printf("{\"id\":\"%s\",\"hublog_seq\":%llu}\n", id, (unsigned long long)seq);
            } else {
                printf("hold %s on %s %s (%s) recorded in the hub log at seq %llu\n", id,
                       case_id ? "case" : "media", case_id ? case_id : media, reason,
                       (unsigned long long)seq);
            }
            log_info("legal hold %s added by %s", id, by);
            rc = 0;
        }
        hub_close(&ctx);
        return rc;
    }
    /* remove */
    if (!pos || !by || !by[0] || !why || !why[0]) {
        hub_fail("hold remove needs the hold ID, --by and --why");
        hold_usage(stderr);
        return 2;
    }
    if (hub_open(&ctx, true) != 0) {
        hub_close(&ctx);
        return 1;
    }
    char err[1024];
    retention_policy_t pol;
    retention_plan_t plan;
    memset(&plan, 0, sizeof plan);
    rc = 1;
    if (retention_policy_load(ctx.cfg, &pol, err, sizeof err) != FT_OK ||
        retention_plan(hub_parts(&ctx), &pol, (int64_t)hlc_wall_ms(), &plan, err, sizeof err) !=
            FT_OK) {
        hub_fail("%s", err);
        hub_close(&ctx);
        return 1;
    }
    const retention_hold_t *h = NULL;
    for (size_t i = 0; i < plan.n_holds; i++) {
        if (strcmp(plan.holds[i].id, pos) == 0 && plan.holds[i].active) {
            h = &plan.holds[i];
        }
    }
    if (!h) {
        hub_fail("no active hold with ID \"%s\" (see `fieldtrail-hub hold list`)", pos);
    } else {
        uint64_t seq = 0;
        char rid[160];
        snprintf(rid, sizeof rid, "release-%s", pos);
        int e = hold_append(&ctx, rid, h->case_id, h->media_id, h->reason, why, by, pos, true, now,
                            &seq);
        if (e != FT_OK) {
            hub_fail("cannot write the release to the hub log: %s", ft_strerror(e));
        } else {
            printf("hold %s released by %s, recorded in the hub log at seq %llu\n", pos, by,
                   (unsigned long long)seq);
            rc = 0;
        }
    }
    retention_plan_free(&plan);
    hub_close(&ctx);
    return rc;
}

/* ---- export ---------------------------------------------------------------------------- */

static void export_usage(FILE *out)
{
    fprintf(out,
            "usage: fieldtrail-hub export CASE --out DIR|FILE.tar [--recipient-key HEX]\n"
            "                             [--by NAME] [--allow-stale] [--now T] [--json]\n"
            "                             [--state DIR] [--config FILE]\n\n"
            "Writes a signed, self-verifying bundle of the case: every record as signed, each\n"
            "contributing device's log from seq 1 (so chains and completeness check), the\n"
            "hub's receipts, device keys and enrolment, the media (decrypted, or with\n"
            "--recipient-key re-encrypted to that X25519 key), the case's alerts and holds,\n"
            "index.html and README.txt. Check it with `fieldtrail-verify`. The export is\n"
            "recorded in the hub log (who, what, the bundle's hash) before it is published.\n");
}

/* bundle_export's progress, as a bar per phase on a terminal (clitext.h):
 * writing the media, then hashing every file for the manifest. */
typedef struct {
    const char *label; /* "export", "case X" */
    const char *phase; /* the phase drawn, or NULL */
    char text[320];
    cli_progress_t bar;
} export_bar_t;

static void export_progress(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
    export_bar_t *b = ctx;
    if (!b->phase || strcmp(b->phase, phase) != 0) {
        if (b->phase) {
            cli_progress_end(&b->bar);
        }
        b->phase = phase;
        snprintf(b->text, sizeof b->text, "%s: %s", b->label,
                 strcmp(phase, "media") == 0 ? "writing media" : "hashing files");
        cli_progress_start(&b->bar, b->text, total, true);
    }
    cli_progress_total(&b->bar, total);
    cli_progress_set(&b->bar, done);
}

static void export_bar_end(export_bar_t *b)
{
    if (b->phase) {
        cli_progress_end(&b->bar);
    }
}

static int parse_pk(const char *text, uint8_t pk[32])
{
    if (!text || strlen(text) != 64 || hex_decode(text, pk, 32) != FT_OK) {
        hub_fail("--recipient-key wants a 64-hex-digit X25519 public key");
        return 2;
    }
    return 0;
}

int hub_cmd_export(int argc, char **argv)
{
    hub_ctx_t ctx = {0};
    static const struct option opts[] = {
        HUB_COMMON_OPTS,
        {"out", required_argument, NULL, O_OUT},
        {"recipient-key", required_argument, NULL, O_RECIPIENT},
        {"by", required_argument, NULL, O_BY},
        {"allow-stale", no_argument, NULL, O_STALE},
        {"now", required_argument, NULL, O_NOW},
        {NULL, 0, NULL, 0},
    };
    bundle_opts_t bo;
    memset(&bo, 0, sizeof bo);
    bo.by = default_by();
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (hub_common_opt(&ctx, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case O_OUT:
            bo.out = optarg;
            break;
        case O_RECIPIENT:
            if (parse_pk(optarg, bo.recipient_pk) != 0) {
                return 2;
            }
            bo.sealed = true;
            break;
        case O_BY:
            bo.by = optarg;
            break;
        case O_STALE:
            bo.allow_stale = true;
            break;
        case O_NOW:
            if (parse_time(optarg, &bo.now_ms) != 0) {
                return 2;
            }
            break;
        case 'h':
            export_usage(stdout);
            return 0;
        default:
            export_usage(stderr);
            return 2;
        }
    }
    if (optind + 1 != argc || !bo.out) {
        export_usage(stderr);
        return 2;
    }
    bo.case_id = argv[optind];
    if (hub_open(&ctx, true) != 0) {
        hub_close(&ctx);
        return 1;
    }
    bundle_result_t res;
    char err[1024];
    export_bar_t bar = {.label = "export"};
    bo.progress = export_progress;
    bo.progress_ctx = &bar;
    int e = bundle_export(hub_parts(&ctx), &bo, &res, err, sizeof err);
    export_bar_end(&bar);
    hub_close(&ctx);
    if (e != FT_OK) {
        hub_fail("%s", err);
        return 1;
    }
    if (ctx.json) {
        printf("{\"case\":\"%s\",\"out\":\"%s\",\"records\":%zu,\"media\":%zu,"
               "\"media_included\":%zu,\"media_deleted\":%zu,\"devices\":%zu,\"files\":%zu,"
               "\"bytes\":%llu,\"bundle_blake2b\":\"%s\",\"audit_hublog_seq\":%llu}\n",
               bo.case_id, bo.out, res.records, res.media, res.media_included, res.media_deleted,
               res.devices, res.files, (unsigned long long)res.bytes, res.manifest_hash,
               (unsigned long long)res.audit_seq);
    } else {
        char size[24];
        cli_size(res.bytes, size, sizeof size);
        printf("case %s exported to %s: %zu records, %zu media (%zu included, %zu deleted by "
               "retention), %zu devices, %zu files, %s\nbundle.json BLAKE2b-256 %s; "
               "export recorded in the hub log at seq %llu\ncheck it with: fieldtrail-verify %s\n",
               bo.case_id, bo.out, res.records, res.media, res.media_included, res.media_deleted,
               res.devices, res.files, size, res.manifest_hash, (unsigned long long)res.audit_seq,
               bo.out);
    }
    return 0;
}

/* ---- archive (ISO 9660) ------------------------------------------------------------------ */

static void archive_usage(FILE *out)
{
    fprintf(out,
            "usage: fieldtrail-hub archive [CASE...] [--holds] --iso FILE [--recipient-key HEX]\n"
            "                              [--by NAME] [--verifier-dir DIR] [--now T]\n"
            "                              [--state DIR] [--config FILE]\n\n"
            "Writes a long-term archive (Art. 23: \"burned to optical disc\") as an ISO 9660\n"
            "image (Rock Ridge and Joliet) with xorriso: one signed bundle per case (the cases\n"
            "named, and with --holds every case under an active legal hold), archive.json and\n"
            "archive.sig (the hub's signature over the list of bundles), README.txt (zh-CN and\n"
            "English) and the verifier (fieldtrail-verify, a static build when there is one,\n"
            "and its source). Check a mounted image, or one extracted with\n"
            "  xorriso -osirrox on -indev FILE -extract / DIR\n"
            "with `fieldtrail-verify DIR`. --verifier-dir: where fieldtrail-verify is (default:\n"
            "beside fieldtrail-hub).\n");
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A directory name for a case: '/' and control characters become '_'. */
static void case_dir_name(const char *case_id, char *out, size_t n)
{
    utf8_copy(out, n, case_id);
    for (char *c = out; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == '/' || *c == '\\' || *c == ':' || *c == '*' ||
            *c == '?' || *c == '"' || *c == '<' || *c == '>' || *c == '|') {
            *c = '_';
        }
    }
    if (out[0] == '.') {
        out[0] = '_';
    }
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
    char *data = NULL;
    size_t len = 0;
    int err = fsutil_read_all(from, &data, &len);
    if (err == FT_OK) {
        err = fsutil_write_atomic(to, data, len, mode);
    }
    free(data);
    return err;
}

/* Lists regular files under stage (relative), skipping bundle directories. */
static int list_top(const char *stage, const char *rel, json_t *out)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", stage, rel);
    struct stat st;
    if (stat(path, &st) != 0) {
        return FT_EIO;
    }
    if (S_ISREG(st.st_mode)) {
        json_array_append_new(out, json_string(rel));
    }
    return FT_OK;
}

static int run_xorriso(const char *stage, const char *iso, const char *volid)
{
    pid_t pid = fork();
    if (pid < 0) {
        return FT_EIO;
    }
    if (pid == 0) {
        execlp("xorriso", "xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-joliet-long",
               "-input-charset", "utf-8", "-V", volid, "-o", iso, stage, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return FT_EIO;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        return FT_ENOTFOUND;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? FT_OK : FT_EIO;
}

static int write_archive_readme(const char *stage, const json_t *bundles, bool has_static,
                                bool has_src, const char *hub_dev, const char *hub_pk)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/README.txt", stage);
    FILE *f = fopen(path, "w");
    if (!f) {
        return FT_EIO;
    }
    fprintf(
        f,
        "fieldtrail 长期保存光盘 / long-term archive disc (Art. 23)\n\n"
        "【内容】\n"
        "  archive.json, archive.sig  中心节点签名的案件材料包清单\n"
        "  cases/<案件号>/             每个案件一个签名材料包（记录、设备日志、媒体、回执）\n"
        "  verifier/                   核验程序 fieldtrail-verify 及其源代码\n\n"
        "【核验】（不需要中心节点，不需要联网）\n"
        "  1. 挂载光盘，或在任意 Linux 电脑上解出：\n"
        "       xorriso -osirrox on -indev 光盘映像.iso -extract / 目录\n"
        "  2. 运行：%s\n"
        "       verifier/fieldtrail-verify 光盘目录\n"
        "     或只核验一个案件：verifier/fieldtrail-verify cases/<案件号>\n"
        "  3. 结论 \"verdict: nothing altered, missing or added\" 表示全部内容完好；否则逐项列出\n"
        "     被修改、缺失或添加的内容。\n"
        "  4. 将输出中的中心节点公钥与本单位公布的公钥核对：%s（%s）。\n"
        "  %s\n\n"
        "CONTENTS\n"
        "  archive.json, archive.sig  the list of case bundles, signed by the hub\n"
        "  cases/<case>/              one signed bundle per case (records, device logs,\n"
        "                             media, receipts, index.html for reading)\n"
        "  verifier/                  the verifier fieldtrail-verify and its source\n\n"
        "HOW TO VERIFY (no hub and no network needed)\n"
        "  1. Mount the disc, or extract the image on any Linux computer:\n"
        "       xorriso -osirrox on -indev IMAGE.iso -extract / DIR\n"
        "  2. Run%s:\n"
        "       verifier/fieldtrail-verify DIR\n"
        "     or one case only: verifier/fieldtrail-verify DIR/cases/<case>\n"
        "  3. \"verdict: nothing altered, missing or added\" means everything is intact;\n"
        "     otherwise each altered, missing or added item is named.\n"
        "  4. Compare the hub key it prints with the one your office published:\n"
        "     %s (hub %s).\n"
        "  %s\n\n"
        "BUNDLES ON THIS DISC\n",
        has_static ? "（静态编译，任何 x86-64 Linux 均可运行）" : "", hub_pk, hub_dev,
        has_src ? "如需自行编译核验程序：见 verifier/fieldtrail-verify-src.tar.gz 中的 "
                  "BUILD.txt（需要 libsodium、protobuf-c、jansson）。"
                : "核验程序的源代码在 fieldtrail 项目的 verifier/ 中。",
        has_static ? " (a static build: runs on any x86-64 Linux)" : "", hub_pk, hub_dev,
        has_src ? "To build the verifier yourself: BUILD.txt in "
                  "verifier/fieldtrail-verify-src.tar.gz (needs libsodium, protobuf-c, "
                  "jansson)."
                : "The verifier's source is verifier/ of the fieldtrail project.");
    size_t i;
    json_t *b;
    json_array_foreach(bundles, i, b)
    {
        fprintf(f, "  %s  (case %s)\n", json_string_value(json_object_get(b, "dir")),
                json_string_value(json_object_get(b, "case")));
    }
    if (fclose(f) != 0) {
        return FT_EIO;
    }
    return FT_OK;
}

int hub_cmd_archive(int argc, char **argv)
{
    hub_ctx_t ctx = {0};
    static const struct option opts[] = {
        HUB_COMMON_OPTS,
        {"iso", required_argument, NULL, O_ISO},
        {"holds", no_argument, NULL, O_HOLDS},
        {"recipient-key", required_argument, NULL, O_RECIPIENT},
        {"by", required_argument, NULL, O_BY},
        {"verifier-dir", required_argument, NULL, O_VERIFIER},
        {"now", required_argument, NULL, O_NOW},
        {NULL, 0, NULL, 0},
    };
    int64_t now = (int64_t)hlc_wall_ms();
    const char *iso = NULL, *by = default_by(), *vdir = NULL;
    bool holds = false, sealed = false;
    uint8_t rpk[32];
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (hub_common_opt(&ctx, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case O_ISO:
            iso = optarg;
            break;
        case O_HOLDS:
            holds = true;
            break;
        case O_RECIPIENT:
            if (parse_pk(optarg, rpk) != 0) {
                return 2;
            }
            sealed = true;
            break;
        case O_BY:
            by = optarg;
            break;
        case O_VERIFIER:
            vdir = optarg;
            break;
        case O_NOW:
            if (parse_time(optarg, &now) != 0) {
                return 2;
            }
            break;
        case 'h':
            archive_usage(stdout);
            return 0;
        default:
            archive_usage(stderr);
            return 2;
        }
    }
    if (!iso || (optind == argc && !holds)) {
        archive_usage(stderr);
        return 2;
    }
    if (fsutil_exists(iso)) {
        hub_fail("%s exists already: an archive is never written over anything", iso);
        return 1;
    }
    if (hub_open(&ctx, true) != 0) {
        hub_close(&ctx);
        return 1;
    }
    int rc = 1;
    char err[1024], stage[4200], path[4400];
    json_t *cases = json_array(), *bundles = json_array(), *files = json_array();
    char *mtext = NULL;
    bool staged = false;
    for (int i = optind; i < argc; i++) {
        json_array_append_new(cases, json_string(argv[i]));
    }
    if (holds) {
        retention_policy_t pol;
        retention_plan_t plan;
        if (retention_policy_load(ctx.cfg, &pol, err, sizeof err) != FT_OK ||
            retention_plan(hub_parts(&ctx), &pol, now, &plan, err, sizeof err) != FT_OK) {
            hub_fail("%s", err);
            goto out;
        }
        for (size_t h = 0; h < plan.n_holds; h++) {
            const retention_hold_t *hd = &plan.holds[h];
            if (!hd->active) {
                continue;
            }
            if (!hd->case_id[0]) {
                log_warn("hold %s is on media %s without a case: archive the case it belongs to",
                         hd->id, hd->media_id);
                continue;
            }
            bool have = false;
            size_t k;
            json_t *c;
            json_array_foreach(cases, k, c)
            {
                have = have || strcmp(json_string_value(c), hd->case_id) == 0;
            }
            if (!have) {
                json_array_append_new(cases, json_string(hd->case_id));
            }
        }
        retention_plan_free(&plan);
    }
    if (json_array_size(cases) == 0) {
        hub_fail("no cases to archive (no case named and no case under an active legal hold)");
        goto out;
    }
    snprintf(stage, sizeof stage, "%s.stage", iso);
    if (fsutil_exists(stage)) {
        (void)nftw(stage, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    }
    if (fsutil_mkdirs(stage, 0755) != FT_OK) {
        hub_fail("cannot create %s", stage);
        goto out;
    }
    staged = true;
    snprintf(path, sizeof path, "%s/cases", stage);
    if (fsutil_mkdirs(path, 0755) != FT_OK) {
        hub_fail("cannot create %s", path);
        goto out;
    }
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        char name[300], rel[400];
        case_dir_name(json_string_value(c), name, sizeof name);
        snprintf(rel, sizeof rel, "cases/%s", name);
        snprintf(path, sizeof path, "%.3900s/%.390s", stage, rel);
        for (int k = 2; fsutil_exists(path); k++) {
            snprintf(rel, sizeof rel, "cases/%.*s-%d", utf8_fit(name, 280), name, k);
            snprintf(path, sizeof path, "%.3900s/%.390s", stage, rel);
        }
        bundle_opts_t bo = {.case_id = json_string_value(c),
                            .out = path,
                            .sealed = sealed,
                            .by = by,
                            .no_audit = true,
                            .now_ms = now};
        if (sealed) {
            memcpy(bo.recipient_pk, rpk, 32);
        }
        bundle_result_t res;
        char label[300];
        snprintf(label, sizeof label, "case %s", json_string_value(c));
        export_bar_t bar = {.label = label};
        bo.progress = export_progress;
        bo.progress_ctx = &bar;
        int be = bundle_export(hub_parts(&ctx), &bo, &res, err, sizeof err);
        export_bar_end(&bar);
        if (be != FT_OK) {
            hub_fail("case %s: %s", json_string_value(c), err);
            goto out;
        }
        json_array_append_new(bundles,
                              json_pack("{s:s, s:s, s:s, s:I, s:I}", "dir", rel, "case",
                                        json_string_value(c), "manifest_blake2b", res.manifest_hash,
                                        "records", (json_int_t)res.records, "media",
                                        (json_int_t)res.media_included));
        char size[24];
        cli_size(res.bytes, size, sizeof size);
        printf("case %s: %zu records, %zu media files, %s\n", json_string_value(c), res.records,
               res.media_included, size);
    }
    /* The verifier: beside this program unless told. */
    char self[4096], vd[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl > 0) {
        self[sl] = '\0';
    } else {
        snprintf(self, sizeof self, "%s", argv[0]);
    }
    snprintf(vd, sizeof vd, "%s", vdir ? vdir : dirname(self));
    snprintf(path, sizeof path, "%s/verifier", stage);
    if (fsutil_mkdirs(path, 0755) != FT_OK) {
        goto out;
    }
    bool has_static = false, has_src = false, has_bin = false;
    char from[4400], to[4400];
    snprintf(from, sizeof from, "%s/fieldtrail-verify-static", vd);
    snprintf(to, sizeof to, "%s/verifier/fieldtrail-verify", stage);
    if (fsutil_exists(from) && copy_file(from, to, 0755) == FT_OK) {
        has_static = has_bin = true;
    } else {
        snprintf(from, sizeof from, "%s/fieldtrail-verify", vd);
        has_bin = fsutil_exists(from) && copy_file(from, to, 0755) == FT_OK;
    }
    snprintf(from, sizeof from, "%s/fieldtrail-verify-src.tar.gz", vd);
    snprintf(to, sizeof to, "%s/verifier/fieldtrail-verify-src.tar.gz", stage);
    has_src = fsutil_exists(from) && copy_file(from, to, 0644) == FT_OK;
    if (!has_bin) {
        log_warn("no fieldtrail-verify found in %s: the disc carries instructions only", vd);
    }
    uint8_t hid[DEVID_BYTES];
    char hub_dev[DEVID_TEXT_SIZE], hub_pk[65], created[48];
    devid_from_pk(ctx.keys.sign_pk, hid);
    devid_format(hid, hub_dev);
    hex_encode(ctx.keys.sign_pk, 32, hub_pk);
    rfc3339_format(now, 0, created, sizeof created);
    if (write_archive_readme(stage, bundles, has_static, has_src, hub_dev, hub_pk) != FT_OK) {
        hub_fail("cannot write README.txt");
        goto out;
    }
    json_t *names = json_array();
    (void)list_top(stage, "README.txt", names);
    (void)list_top(stage, "verifier/fieldtrail-verify", names);
    (void)list_top(stage, "verifier/fieldtrail-verify-src.tar.gz", names);
    json_t *n;
    json_array_foreach(names, i, n)
    {
        uint8_t h[BUNDLE_HASH_BYTES];
        uint64_t size = 0;
        char hex[65];
        snprintf(path, sizeof path, "%s/%s", stage, json_string_value(n));
        if (bundle_hash_file(path, h, &size) != FT_OK) {
            continue;
        }
        hex_encode(h, sizeof h, hex);
        json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "path", json_string_value(n),
                                               "bytes", (json_int_t)size, "blake2b", hex));
    }
    json_decref(names);
    json_t *m =
        json_pack("{s:s, s:s, s:I, s:s, s:{s:s, s:s}, s:O, s:O}", "format", ARCHIVE_FORMAT,
                  "created", created, "created_ms", (json_int_t)now, "created_by", by, "hub",
                  "device_id", hub_dev, "sign_pk", hub_pk, "bundles", bundles, "files", files);
    mtext = json_dumps(m, JSON_INDENT(1) | JSON_ENSURE_ASCII);
    json_decref(m);
    char sig[BUNDLE_SIG_HEX + 1];
    if (!mtext || bundle_sign(ARCHIVE_DOMAIN, (const uint8_t *)mtext, strlen(mtext),
                              ctx.keys.sign_sk, sig) != FT_OK) {
        hub_fail("cannot sign the archive manifest");
        goto out;
    }
    strcat(sig, "\n");
    snprintf(path, sizeof path, "%s/%s", stage, ARCHIVE_MANIFEST);
    int e = fsutil_write_atomic(path, mtext, strlen(mtext), 0644);
    snprintf(path, sizeof path, "%s/%s", stage, ARCHIVE_SIG);
    if (e == FT_OK) {
        e = fsutil_write_atomic(path, sig, strlen(sig), 0644);
    }
    if (e != FT_OK) {
        hub_fail("cannot write the archive manifest: %s", ft_strerror(e));
        goto out;
    }
    /* Audit (one entry naming every case and the manifest's hash), then
     * the image. */
    uint8_t mh[BUNDLE_HASH_BYTES];
    char mhex[65], detail[1024], targets[600] = "";
    crypto_generichash(mh, sizeof mh, (const uint8_t *)mtext, strlen(mtext), NULL, 0);
    hex_encode(mh, sizeof mh, mhex);
    json_array_foreach(cases, i, c)
    {
        size_t len = strlen(targets);
        snprintf(targets + len, sizeof targets - len, "%s%s", len ? "," : "", json_string_value(c));
    }
    snprintf(detail, sizeof detail, "{\"archive_blake2b\":\"%s\",\"iso\":\"%.*s\"}", mhex,
             utf8_fit(iso, 600), iso);
    uint64_t seq = 0;
    e = devlog_append1_audit(ctx.hublog, by, "archive_iso", targets, detail, &seq);
    if (e != FT_OK) {
        hub_fail("the audit entry cannot be written to the hub log (%s): no archive is made",
                 ft_strerror(e));
        goto out;
    }
    char part[4400], volid[33];
    snprintf(part, sizeof part, "%s.part", iso);
    char day[48];
    rfc3339_format(now, 0, day, sizeof day);
    snprintf(volid, sizeof volid, "FIELDTRAIL_%.4s%.2s%.2s", day, day + 5, day + 8);
    e = run_xorriso(stage, part, volid);
    if (e == FT_ENOTFOUND) {
        hub_fail("xorriso is not installed (Debian package xorriso; ops/install-deps.sh)");
        goto out;
    }
    if (e != FT_OK || rename(part, iso) != 0) {
        unlink(part);
        hub_fail("xorriso could not write %s", iso);
        goto out;
    }
    printf("archive %s: %zu case bundles, archive.json BLAKE2b-256 %s, recorded in the hub log at "
           "seq %llu\ncheck it: xorriso -osirrox on -indev %s -extract / DIR && fieldtrail-verify "
           "DIR\n",
           iso, json_array_size(bundles), mhex, (unsigned long long)seq, iso);
    rc = 0;
out:
    if (staged) {
        (void)nftw(stage, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    }
    free(mtext);
    json_decref(cases);
    json_decref(bundles);
    json_decref(files);
    hub_close(&ctx);
    return rc;
}
