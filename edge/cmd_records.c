/* cmd_records.c: `import FILE.jsonl` and `record TYPE ...`.
 *
 * Import reads line by line and commits in batches (one durable LMDB
 * transaction per IMPORT_BATCH accepted lines). A rejected line is named
 * with its number and reason and never leaves anything behind; the good
 * lines around it are kept. A record whose `id` is already in the log with
 * the same content is skipped (re-importing a file is a no-op); the same
 * `id` with different content is rejected as a conflict.
 */
#include "edge.h"
#include "logging.h"
#include "recimport.h"
#include "record.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMPORT_BATCH 512

/* Counts and rejections of one import. */
typedef struct {
    unsigned long imported;   /* new records appended */
    unsigned long duplicates; /* already present, skipped */
    unsigned long rejected;   /* lines refused */
    json_t *rejections;       /* [{line, reason}] for --json */
    bool json;                /* print JSON instead of text */
} import_stats_t;

static void reject(import_stats_t *st, unsigned long line, const char *reason)
{
    st->rejected++;
    if (st->json) {
        json_array_append_new(st->rejections,
                              json_pack("{s:I, s:s}", "line", (json_int_t)line, "reason", reason));
    } else {
        fprintf(stderr, "line %lu: %s\n", line, reason);
    }
}

/* Appends one parsed record in t (recimport_append: what the screen does
 * too), counting the outcome. Returns an error only for failures that end
 * the import (storage), FT_OK otherwise. */
static int add_record(devlog_txn_t *t, Ft__Record *rec, const char *unit, unsigned long line,
                      import_stats_t *st, unsigned long *pending)
{
    recimport_result_t res;
    int err = recimport_append(t, rec, unit, &res);
    if (err != FT_OK) {
        return err;
    }
    switch (res.outcome) {
    case RECIMPORT_STORED:
        (*pending)++;
        break;
    case RECIMPORT_DUPLICATE:
        st->duplicates++;
        break;
    case RECIMPORT_REJECTED:
        reject(st, line, res.reason);
        break;
    }
    return FT_OK;
}

static void import_usage(FILE *out)
{
    fprintf(out, "usage: fieldtrail-edge import FILE.jsonl [--state DIR] [--json]\n\n"
                 "Imports records, one JSON object per line (docs/records.md); `-` reads\n"
                 "standard input. Bad lines are named with their number and reason; good\n"
                 "lines are kept. Re-importing the same `id` is a no-op.\n"
                 "Exit status 1 if any line was rejected.\n");
}

/* Shows progress on a terminal for long imports. */
static void progress(unsigned long line, time_t *last)
{
    time_t now = time(NULL);
    if (now != *last && isatty(STDERR_FILENO)) {
        *last = now;
        fprintf(stderr, "\rimporting: %lu lines read", line);
    }
}

int edge_cmd_import(int argc, char **argv)
{
    edge_ctx_t ctx = {0};
    static const struct option opts[] = {EDGE_COMMON_OPTS, {NULL, 0, NULL, 0}};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (edge_common_opt(&ctx, opt, optarg)) {
            continue;
        }
        if (opt == 'h') {
            import_usage(stdout);
            return 0;
        }
        import_usage(stderr);
        return 2;
    }
    if (optind != argc - 1) {
        import_usage(stderr);
        return 2;
    }
    const char *path = argv[optind];
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!in) {
        edge_fail("cannot read %s: %s", path, strerror(errno));
        return 1;
    }
    struct stat st_in;
    if (fstat(fileno(in), &st_in) == 0 && S_ISDIR(st_in.st_mode)) {
        edge_fail("%s is a directory; give the JSON-lines file to import", path);
        fclose(in);
        return 1;
    }
    if (edge_open(&ctx) != 0) {
        if (in != stdin) {
            fclose(in);
        }
        edge_close(&ctx);
        return 1;
    }
    const char *unit = config_get(ctx.cfg, "unit");
    import_stats_t st = {.json = ctx.json, .rejections = json_array()};
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long lineno = 0, pending = 0, last_good_line = 0;
    devlog_txn_t *t = NULL;
    int err = FT_OK;
    time_t last_progress = time(NULL);
    while ((len = getline(&line, &cap, in)) != -1) {
        lineno++;
        progress(lineno, &last_progress);
        size_t n = (size_t)len;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            n--;
        }
        size_t lead = 0;
        while (lead < n && (line[lead] == ' ' || line[lead] == '\t')) {
            lead++;
        }
        if (lead == n) {
            continue; /* blank lines are allowed */
        }
        Ft__Record *rec = NULL;
        char why[512] = "";
        int rc = record_from_line(line, n, &rec, why, sizeof why);
        if (rc == FT_EINVAL) {
            reject(&st, lineno, why);
            continue;
        }
        if (rc == FT_OK && !t) {
            rc = devlog_begin(ctx.log, &t);
        }
        if (rc == FT_OK) {
            rc = add_record(t, rec, unit, lineno, &st, &pending);
        }
        record_free(&rec);
        if (rc == FT_OK && pending >= IMPORT_BATCH) {
            rc = devlog_commit(&t);
            if (rc == FT_OK) {
                st.imported += pending;
                pending = 0;
                last_good_line = lineno;
            }
        }
        if (rc != FT_OK) {
            err = rc;
            break;
        }
    }
    if (err == FT_OK && t) {
        err = devlog_commit(&t);
        if (err == FT_OK) {
            st.imported += pending;
            pending = 0;
            last_good_line = lineno;
        }
    }
    devlog_abort(&t);
    if (err == FT_OK && ferror(in)) {
        err = FT_EIO;
    }
    if (isatty(STDERR_FILENO) && lineno > 0) {
        fputc('\r', stderr);
    }
    free(line);
    if (in != stdin) {
        fclose(in);
    }
    int status = 0;
    if (err != FT_OK) {
        edge_fail("import stopped at line %lu: %s. Lines up to %lu are safely stored; "
                  "nothing after them was imported. Fix the cause and run the same import "
                  "again: lines already stored are skipped.",
                  lineno, ft_strerror(err), last_good_line);
        status = 1;
    } else if (st.rejected > 0) {
        status = 1;
    }
    if (ctx.json) {
        json_t *o =
            json_pack("{s:I, s:I, s:I, s:O, s:b}", "imported", (json_int_t)st.imported,
                      "duplicates", (json_int_t)st.duplicates, "rejected", (json_int_t)st.rejected,
                      "rejections", st.rejections, "complete", err == FT_OK);
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("%s: %lu imported, %lu already present, %lu rejected\n", path, st.imported,
               st.duplicates, st.rejected);
    }
    json_decref(st.rejections);
    edge_close(&ctx);
    return status;
}

static void record_usage(FILE *out)
{
    fprintf(out,
            "usage: fieldtrail-edge record TYPE [--case ID] [--start T --end T] [--time T]\n"
            "         [--id ID] [--unit NAME] [--officer ID]... [--cause TEXT] [--party TEXT]\n"
            "         [--recorder NO]... [--media ID]... [--media-unsuitable REASON]\n"
            "         [--amends ID] [--lat X --lon Y] [--field KEY=VALUE]...\n\n"
            "Adds one record to the log. Times are RFC 3339 with offset, e.g.\n"
            "2026-03-01T09:30:00+08:00. --field values `true`/`false` are booleans, JSON\n"
            "arrays/objects (starting with [ or {) are kept as such, anything else is text.\n"
            "Example:\n"
            "  fieldtrail-edge record site_inspection --case NDG-2026-031 \\\n"
            "    --start 2026-03-01T09:30:00+08:00 --end 2026-03-01T10:10:00+08:00 \\\n"
            "    --officer ZF-0107 --field record_no=KC-031-1\n");
}

/* Adds a string to a JSON array member, creating it. */
static void append_str(json_t *obj, const char *key, const char *val)
{
    json_t *arr = json_object_get(obj, key);
    if (!arr) {
        arr = json_array();
        json_object_set_new(obj, key, arr);
    }
    json_array_append_new(arr, json_string(val));
}

/* Parses KEY=VALUE into fields; 0 or 2 (usage). */
static int add_field(json_t *obj, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        edge_fail("--field wants KEY=VALUE, not \"%s\"", kv);
        return 2;
    }
    json_t *fields = json_object_get(obj, "fields");
    if (!fields) {
        fields = json_object();
        json_object_set_new(obj, "fields", fields);
    }
    char key[256];
    if ((size_t)(eq - kv) >= sizeof key) {
        edge_fail("--field name is longer than %zu bytes", sizeof key - 1);
        return 2;
    }
    snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
    const char *val = eq + 1;
    json_t *v = NULL;
    if (strcmp(val, "true") == 0 || strcmp(val, "false") == 0) {
        v = json_boolean(val[0] == 't');
    } else if (val[0] == '[' || val[0] == '{') {
        v = json_loads(val, 0, NULL);
    }
    if (!v) {
        v = json_string(val);
    }
    json_object_set_new(fields, key, v);
    return 0;
}

int edge_cmd_record(int argc, char **argv)
{
    edge_ctx_t ctx = {0};
    enum {
        O_CASE = 256,
        O_START,
        O_END,
        O_TIME,
        O_ID,
        O_UNIT,
        O_OFFICER,
        O_CAUSE,
        O_PARTY,
        O_RECORDER,
        O_MEDIA,
        O_UNSUITABLE,
        O_AMENDS,
        O_LAT,
        O_LON,
        O_FIELD
    };
    static const struct option opts[] = {
        EDGE_COMMON_OPTS,
        {"case", required_argument, NULL, O_CASE},
        {"start", required_argument, NULL, O_START},
        {"end", required_argument, NULL, O_END},
        {"time", required_argument, NULL, O_TIME},
        {"id", required_argument, NULL, O_ID},
        {"unit", required_argument, NULL, O_UNIT},
        {"officer", required_argument, NULL, O_OFFICER},
        {"cause", required_argument, NULL, O_CAUSE},
        {"party", required_argument, NULL, O_PARTY},
        {"recorder", required_argument, NULL, O_RECORDER},
        {"media", required_argument, NULL, O_MEDIA},
        {"media-unsuitable", required_argument, NULL, O_UNSUITABLE},
        {"amends", required_argument, NULL, O_AMENDS},
        {"lat", required_argument, NULL, O_LAT},
        {"lon", required_argument, NULL, O_LON},
        {"field", required_argument, NULL, O_FIELD},
        {NULL, 0, NULL, 0},
    };
    static const struct {
        int opt;
        const char *key;
    } scalars[] = {{O_CASE, "case"},    {O_START, "start"}, {O_END, "end"},
                   {O_TIME, "time"},    {O_ID, "id"},       {O_UNIT, "unit"},
                   {O_CAUSE, "cause"},  {O_PARTY, "party"}, {O_UNSUITABLE, "media_unsuitable"},
                   {O_AMENDS, "amends"}};
    json_t *obj = json_object();
    json_t *loc = NULL;
    int opt, status = 0;
    optind = 1;
    while (status == 0 && (opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (edge_common_opt(&ctx, opt, optarg)) {
            continue;
        }
        bool done = false;
        for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++) {
            if (scalars[i].opt == opt) {
                json_object_set_new(obj, scalars[i].key, json_string(optarg));
                done = true;
            }
        }
        if (done) {
            continue;
        }
        switch (opt) {
        case O_OFFICER:
            append_str(obj, "officers", optarg);
            break;
        case O_RECORDER:
            append_str(obj, "recorders", optarg);
            break;
        case O_MEDIA:
            append_str(obj, "media", optarg);
            break;
        case O_LAT:
        case O_LON: {
            char *end = NULL;
            double d = strtod(optarg, &end);
            if (!end || *end) {
                edge_fail("--%s wants a number, not \"%s\"", opt == O_LAT ? "lat" : "lon", optarg);
                status = 2;
                break;
            }
            if (!loc) {
                loc = json_object();
            }
            json_object_set_new(loc, opt == O_LAT ? "lat" : "lon", json_real(d));
            break;
        }
        case O_FIELD:
            status = add_field(obj, optarg);
            break;
        case 'h':
            record_usage(stdout);
            json_decref(obj);
            json_decref(loc);
            return 0;
        default:
            status = 2;
            break;
        }
    }
    if (status == 0 && optind != argc - 1) {
        status = 2;
    }
    if (status != 0) {
        record_usage(stderr);
        json_decref(obj);
        json_decref(loc);
        return status;
    }
    json_object_set_new(obj, "type", json_string(argv[optind]));
    if (loc) {
        json_object_set_new(obj, "location", loc);
    }
    Ft__Record *rec = NULL;
    char why[512] = "";
    int err = record_from_json(obj, &rec, why, sizeof why);
    json_decref(obj);
    if (err == FT_EINVAL) {
        edge_fail("record refused: %s", why);
        return 1;
    }
    if (err != FT_OK) {
        edge_fail("%s", ft_strerror(err));
        return 1;
    }
    if (edge_open(&ctx) != 0) {
        record_free(&rec);
        edge_close(&ctx);
        return 1;
    }
    devlog_txn_t *t = NULL;
    recimport_result_t res = {0};
    err = devlog_begin(ctx.log, &t);
    if (err == FT_OK) {
        err = recimport_append(t, rec, config_get(ctx.cfg, "unit"), &res);
    }
    if (err == FT_OK && res.outcome != RECIMPORT_REJECTED) {
        err = devlog_commit(&t);
    }
    devlog_abort(&t);
    if (err != FT_OK) {
        edge_fail("cannot record: %s", ft_strerror(err));
    } else if (res.outcome == RECIMPORT_STORED) {
        printf(ctx.json ? "{\"seq\":%llu}\n" : "recorded as entry %llu\n",
               (unsigned long long)res.seq);
    } else if (res.outcome == RECIMPORT_DUPLICATE) {
        printf(ctx.json ? "{\"seq\":%llu,\"duplicate\":true}\n"
                        : "already recorded as entry %llu (same id, same content)\n",
               (unsigned long long)res.seq);
    } else if (strcmp(res.field, "id") == 0) {
        edge_fail("a record with id \"%s\" already exists with different content; record a "
                  "correction with --amends %s instead",
                  rec->id, rec->id);
        err = FT_EDUP;
    } else {
        edge_fail("cannot record: %s", res.reason);
        err = FT_EINVAL;
    }
    record_free(&rec);
    edge_close(&ctx);
    return err == FT_OK ? 0 : 1;
}
