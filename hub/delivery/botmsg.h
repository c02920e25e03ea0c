/* botmsg.h: the messages webhooks carry and the request each bot receives
 * (docs/alerts.md "Bots", with a worked example per bot).
 *
 * Three messages, each built once from alert events (botmsg_event,
 * botmsg_merged, botmsg_digest) as a title and paragraphs in zh-CN and
 * English plus the people to mention, then written for a hook's format at
 * each try (botmsg_request), since the signatures hold the time of the try:
 *
 *   generic   the event JSON as on the PUB socket; a merged message or a
 *             digest as a JSON object of its own ("kind")
 *   wecom     {"msgtype":"markdown","markdown":{"content":...}} with
 *             <@userid> mentions; a message that must mention someone known
 *             only by a mobile number goes as {"msgtype":"text"} with
 *             mentioned_list / mentioned_mobile_list (markdown takes none)
 *   dingtalk  {"msgtype":"markdown","markdown":{"title","text"},"at":{...}};
 *             with a secret the URL gains &timestamp=MS&sign=S (S: Base64 of
 *             HMAC-SHA256 of "MS\nsecret" keyed by the secret, URL-encoded)
 *   feishu    {"msg_type":"post","content":{"post":{"zh_cn":...,"en_us":...}}};
 *             with a secret the body starts with "timestamp" (seconds) and
 *             "sign" (Base64 of HMAC-SHA256 keyed by "SECONDS\nsecret" over
 *             nothing)
 *
 * Text from records (case, unit, detail, reasons) is written so that it
 * cannot mention anyone or make a link: '<' '>' '[' ']' become their
 * full-width forms, control characters spaces. An alert's words come from
 * one place, botmsg_alert_text (message and detail per language), so a
 * structured detail rendered per language can take over there.
 */
#ifndef FT_HUB_BOTMSG_H
#define FT_HUB_BOTMSG_H

#include "route.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct botmsg_t botmsg_t;

/* What the messages may use besides the events. */
typedef struct {
    const char *dashboard_url; /* NULL or "": no links */
    const person_t *people;    /* who may be mentioned (borrowed) */
    size_t n_people;
    bool mention; /* name the people who act */
} botmsg_ctx_t;

/* One unit's digest (digest.c fills it; every json_t owned). */
typedef struct {
    char unit[256];
    int64_t at_ms;    /* the digest's time (its slot) */
    int64_t since_ms; /* the previous digest's time; 0: since the hook began */
    unsigned open_total;
    unsigned open_sev[4];                 /* low, medium, high, critical */
    json_t *open_by_article;              /* {"13": n, ...} */
    unsigned opened, resolved, justified; /* events since the previous digest */
    json_t *opened_list;                  /* up to DIGEST_LIST alert rows, newest first */
    json_t *resolved_list;                /* idem */
    json_t *oldest; /* up to DIGEST_LIST open alert rows, longest open first */
} digest_unit_t;

#define DIGEST_LIST 5
#define MERGED_SHOWN 5 /* events a merged message shows one by one */

/* An alert's words per language (zh: true for zh-CN): its message, and its
 * detail (detail_zh / detail_en when the alert has them, else detail). */
const char *botmsg_alert_message(const json_t *alert, bool zh);
const char *botmsg_alert_detail(const json_t *alert, bool zh);

/* One event (a message of its own). */
botmsg_t *botmsg_event(const json_t *event, const botmsg_ctx_t *c);
/* Events that queued (n > 0, hub-log order), hub-log entries first..last. */
botmsg_t *botmsg_merged(json_t *const *events, size_t n, uint64_t first, uint64_t last,
                        const botmsg_ctx_t *c);
/* One unit's digest. */
botmsg_t *botmsg_digest(const digest_unit_t *u, const botmsg_ctx_t *c);
void botmsg_free(botmsg_t **m_p);
/* The title (zh-CN), for logs. */
const char *botmsg_title(const botmsg_t *m);

/* The request of one try at now_ms: *url (the hook's URL, signed for a
 * DingTalk hook with a secret) and *body (malloc'd). FT_ENOMEM. */
int botmsg_request(const botmsg_t *m, const hook_t *h, int64_t now_ms, char **url,
                   char **body) FT_MUST_CHECK;

/* The signatures, for tests: DingTalk's (URL-encoded) for a timestamp in
 * ms, Feishu's for one in seconds. */
void botmsg_sign_dingtalk(const char *secret, int64_t ms, char *out, size_t len);
void botmsg_sign_feishu(const char *secret, int64_t s, char *out, size_t len);

/* "%-encodes" everything but unreserved characters (RFC 3986). */
void botmsg_urlencode(const char *s, char *out, size_t len);
/* The dashboard's alert page: BASE/#/alerts?unit=U&state=open (unit may be
 * NULL), or ?q=ID for one alert (id not NULL). "" without a base. */
void botmsg_alerts_link(const char *base, const char *unit, const char *id, char *out, size_t len);

/* "3 天 4 小时" / "3 d 4 h" for a duration. */
void botmsg_duration(int64_t ms, bool zh, char *out, size_t len);

#endif
