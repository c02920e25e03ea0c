/* ft_hubalert: appends an AlertEvent to a hub's own log, in the form the gap
 * engine writes (hub/engine/engine.c: detail_json = the event with its "alert"
 * row), as a running hub's engine would. The web tests use it to raise an
 * alert at a chosen moment and time its arrival on an open page.
 *
 * usage: ft_hubalert STATE ALERT_ID RULE STATE_NAME CASE ARTICLE SEVERITY
 *                    MESSAGE_ZH MESSAGE_EN
 * The AlertEvent's fields hold the arguments' bytes as given; in its
 * detail_json text that is not valid UTF-8 is escaped, as the engine does.
 *
 *        ft_hubalert STATE --many N PREFIX REF [CASES]
 * appends N open coverage alerts at once (500 per transaction, each
 * transaction's events in AlertEvents entries as the engine batches them,
 * common/entry.h), as the engine raises them: IDs PREFIX followed by hex digits to 16, every
 * severity in turn, due times spread over the last 30 days, CASES cases
 * named BULK-0000... (default 50), each concerning the record REF, with
 * the structured detail of the coverage rule (docs/alerts.md).
 */
#include "devlog.h"
#include "fsutil.h"
#include "hlc.h"
#include "keys.h"
#include "utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int many(devlog_t *log, long n, const char *prefix, const char *ref, long cases)
{
    static const char *const sev[] = {"low", "medium", "high", "critical"};
    int64_t now = (int64_t)hlc_wall_ms();
    int err = FT_OK;
    static Ft__AlertEvent ae[500];
    static Ft__AlertEvent *ptr[500];
    static char ids[500][17], case_ids[500][32];
    static char *texts[500];
    for (long done = 0; err == FT_OK && done < n;) {
        devlog_txn_t *t = NULL;
        err = devlog_begin(log, &t);
        size_t k = 0;
        for (; err == FT_OK && k < 500 && done < n; k++, done++) {
            char *id = ids[k], *case_id = case_ids[k];
            snprintf(id, sizeof ids[k], "%s%0*lx", prefix, (int)(16 - strlen(prefix)), done);
            snprintf(case_id, sizeof case_ids[k], "BULK-%04ld", done % (cases > 0 ? cases : 1));
            int64_t due = now - (int64_t)(done % 720) * 3600000LL;
            json_t *row = json_pack(
                "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:s, s:s, s:I, s:{s:s, s:f, "
                "s:i, s:I, s:I}}",
                "id", id, "rule", "1", "kind", "coverage", "state", "open", "case", case_id,
                "article", "13", "severity", sev[done % 4], "message_zh",
                "现场检查（勘验）、抽样取证和听证应当同步进行音像记录", "message_en",
                "site inspections, sampling and hearings must be recorded", "records", ref,
                "detail", "site_inspection: media cover 40% of the activity (1 item linked)",
                "detail_tpl", "coverage", "due_at_ms", (json_int_t)due, "detail_args", "type",
                "site_inspection", "pct", 40.0, "linked", 1, "longest_ms", (json_int_t)1800000,
                "window_ms", (json_int_t)3600000);
            json_t *ev = json_pack("{s:s, s:s, s:I, s:s, s:o}", "alert_id", id, "state", "open",
                                   "at_ms", (json_int_t)now, "why", "raised", "alert", row);
            texts[k] = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
            ft__alert_event__init(&ae[k]);
            ae[k].alert_id = id;
            ae[k].rule = "1";
            ae[k].state = "open";
            ae[k].case_id = case_id;
            ae[k].detail_json = texts[k];
            ptr[k] = &ae[k];
            err = texts[k] ? FT_OK : FT_ENOMEM;
            json_decref(ev);
        }
        for (size_t i = 0; err == FT_OK && i < k;) {
            size_t take = entry_alert_batch_take(ptr + i, k - i, ALERT_BATCH_MAX_EVENTS,
                                                 ALERT_BATCH_MAX_BYTES);
            Ft__AlertEvents batch = FT__ALERT_EVENTS__INIT;
            batch.n_events = take;
            batch.events = ptr + i;
            Ft__Body body = FT__BODY__INIT;
            body.kind_case = FT__BODY__KIND_ALERTS;
            body.alerts = &batch;
            err = devlog_append(t, &body, NULL);
            i += take;
        }
        for (size_t i = 0; i < k; i++) {
            free(texts[i]);
            texts[i] = NULL;
        }
        if (err == FT_OK) {
            err = devlog_commit(&t);
        } else {
            devlog_abort(&t);
        }
    }
    return err;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[2], "--many") == 0) {
        keys_t keys;
        devlog_t *log = NULL;
        char path[4096];
        if (fsutil_join(path, sizeof path, argv[1], "hub.key") != FT_OK ||
            keys_load(&keys, path) != FT_OK ||
            fsutil_join(path, sizeof path, argv[1], "hublog") != FT_OK ||
            devlog_open(path, &keys, NULL, &log) != FT_OK) {
            fprintf(stderr, "ft_hubalert: cannot open the hub log in %s\n", argv[1]);
            return 1;
        }
        int err = many(log, strtol(argv[3], NULL, 10), argv[4], argv[5],
                       argc > 6 ? strtol(argv[6], NULL, 10) : 50);
        devlog_destroy(&log);
        keys_wipe(&keys);
        if (err != FT_OK) {
            fprintf(stderr, "ft_hubalert: cannot append: %s\n", ft_strerror(err));
            return 1;
        }
        return 0;
    }
    if (argc != 10) {
        fprintf(stderr, "usage: ft_hubalert STATE ALERT_ID RULE STATE_NAME CASE ARTICLE SEVERITY "
                        "MESSAGE_ZH MESSAGE_EN\n");
        return 2;
    }
    const char *dir = argv[1];
    char path[4096];
    keys_t keys;
    devlog_t *log = NULL;
    if (fsutil_join(path, sizeof path, dir, "hub.key") != FT_OK ||
        keys_load(&keys, path) != FT_OK) {
        fprintf(stderr, "ft_hubalert: cannot load %s\n", path);
        return 1;
    }
    if (fsutil_join(path, sizeof path, dir, "hublog") != FT_OK ||
        devlog_open(path, &keys, NULL, &log) != FT_OK) {
        fprintf(stderr, "ft_hubalert: cannot open %s\n", path);
        keys_wipe(&keys);
        return 1;
    }
    int64_t now = (int64_t)hlc_wall_ms();
    /* text escaped where it is not valid UTF-8, as the engine writes it */
    json_t *row =
        json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s}", "id", utf8_json_string(argv[2]),
                  "rule", utf8_json_string(argv[3]), "state", utf8_json_string(argv[4]), "case",
                  utf8_json_string(argv[5]), "article", utf8_json_string(argv[6]), "severity",
                  utf8_json_string(argv[7]), "message_zh", utf8_json_string(argv[8]), "message_en",
                  utf8_json_string(argv[9]), "subject", "test");
    json_t *ev = json_pack("{s:o, s:o, s:I, s:s, s:O}", "alert_id", utf8_json_string(argv[2]),
                           "state", utf8_json_string(argv[4]), "at_ms", (json_int_t)now, "why",
                           "raised by ft_hubalert", "alert", row);
    char *text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
    Ft__AlertEvent ae = FT__ALERT_EVENT__INIT;
    ae.alert_id = argv[2];
    ae.rule = argv[3];
    ae.state = argv[4];
    ae.case_id = argv[5];
    ae.detail_json = text;
    Ft__Body body = FT__BODY__INIT;
    body.kind_case = FT__BODY__KIND_ALERT;
    body.alert = &ae;
    uint64_t seq = 0;
    int err = devlog_append1(log, &body, &seq);
    free(text);
    json_decref(ev);
    json_decref(row);
    devlog_destroy(&log);
    keys_wipe(&keys);
    if (err != FT_OK) {
        fprintf(stderr, "ft_hubalert: cannot append: %s\n", ft_strerror(err));
        return 1;
    }
    printf("%llu\n", (unsigned long long)seq);
    return 0;
}
