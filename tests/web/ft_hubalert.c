/* ft_hubalert: appends an AlertEvent to a hub's own log, in the form the gap
 * engine writes (hub/engine/engine.c: detail_json = the event with its "alert"
 * row), as a running hub's engine would. The web tests use it to raise an
 * alert at a chosen moment and time its arrival on an open page.
 *
 * usage: ft_hubalert STATE ALERT_ID RULE STATE_NAME CASE ARTICLE SEVERITY
 *                    MESSAGE_ZH MESSAGE_EN
 * The AlertEvent's fields hold the arguments' bytes as given; in its
 * detail_json text that is not valid UTF-8 is escaped, as the engine does.
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

int main(int argc, char **argv)
{
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
