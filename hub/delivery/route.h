/* route.h: which alert events a webhook takes, how it sends them, and whom
 * a message names (docs/alerts.md "Routing").
 *
 * A webhook is configured in hub.conf, either as a word of
 * `alerts.webhooks` / `--webhook FORMAT=URL` (every event, one message each,
 * the format's pace), or as a section of its own:
 *
 *   [webhook.north]
 *   format = dingtalk            generic | wecom | dingtalk | feishu
 *   url = https://oapi.dingtalk.com/robot/send?access_token=...
 *   secret = SEC...              signing secret (dingtalk, feishu)
 *   units = 南大港产业园区自然资源所   only these units        } a list: items
 *   severities = high critical   only these severities    } separated by
 *   articles = 13 24             "13" takes 13 and 13(2)  } spaces or
 *   rules = 1 5                  only these rule IDs      } commas; none
 *   events = opened resolved     opened|resolved|justified} means all
 *   mode = digest                each (default) | digest
 *   digest_at = 08:30 17:30      local times of the digests (TZ)
 *   immediate = critical         severities sent at once beside a digest
 *   rate = 18                    messages a minute at most
 *   mention = yes                name the people who act (people below)
 *
 * and the people to mention:
 *
 *   [person.wang]
 *   name = 王伟
 *   mobile = 13800000001         DingTalk atMobiles, WeCom mentioned_mobile_list
 *   dingtalk_id = ...            DingTalk atUserIds
 *   wecom_id = wangwei           WeCom <@userid>, mentioned_list
 *   feishu_id = ou_...           Feishu at user_id (open_id)
 *   officers = ZF-0101           gaps on these officers' activities name them
 *   supervises = 南大港...       every gap of these units names them
 *
 * route_parse reads these from key/value/line triples (the caller's config
 * file; this library knows no config format) and refuses the first thing
 * wrong with "FILE line N: [section] key: reason". Pure: no I/O.
 */
#ifndef FT_HUB_ROUTE_H
#define FT_HUB_ROUTE_H

#include "error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { HOOK_GENERIC, HOOK_WECOM, HOOK_DINGTALK, HOOK_FEISHU } hook_format;
typedef enum { HOOK_EACH, HOOK_DIGEST } hook_mode;

/* Severities and event kinds as bits of a set (0: any). */
enum { ROUTE_SEV_LOW = 1, ROUTE_SEV_MEDIUM = 2, ROUTE_SEV_HIGH = 4, ROUTE_SEV_CRITICAL = 8 };
enum { ROUTE_EV_OPENED = 1, ROUTE_EV_RESOLVED = 2, ROUTE_EV_JUSTIFIED = 4 };

/* A list: items each ended by '\0', the list by an empty item (all zeros:
 * an empty list). Plain bytes, so a hook_t copies by value. */
#define ROUTE_LIST 1024
#define ROUTE_MAX_TIMES 8

typedef struct {
    char units[ROUTE_LIST];
    char articles[256];
    char rules[256];
    unsigned severities; /* SEV_* bits; 0 = any */
    unsigned events;     /* EV_* bits; 0 = any */
} hook_filter_t;

/* One configured webhook. All zeros but format and url: every event, one
 * message each, unpaced (delivery_parse_hooks sets the format's pace). */
typedef struct {
    hook_format format;
    char url[1024];
    char name[64];    /* NAME of [webhook.NAME]; "" for alerts.webhooks and --webhook */
    char secret[256]; /* signing secret: never logged, never stored by the hub */
    hook_filter_t filter;
    hook_mode mode;
    uint16_t digest_at[ROUTE_MAX_TIMES]; /* minutes after local midnight, ascending */
    size_t n_digest_at;
    unsigned immediate; /* SEV_* bits a digest hook still sends at once */
    unsigned rate;      /* messages a minute at most; 0: unpaced */
    bool no_mention;    /* mention = no */
    int line;           /* the section's first line in the config (0: not from a section) */
} hook_t;

/* One person to mention. */
typedef struct {
    char id[64];    /* ID of [person.ID] */
    char name[128]; /* as shown (default: the ID) */
    char mobile[32];
    char dingtalk_id[128];
    char wecom_id[128];
    char feishu_id[128];
    char officers[ROUTE_LIST];   /* officer IDs (a list) */
    char supervises[ROUTE_LIST]; /* units (a list) */
} person_t;

/* Everything routing reads from the config. */
typedef struct {
    hook_t *hooks; /* [webhook.NAME] sections, in the order of their first line */
    size_t n_hooks;
    person_t *people;
    size_t n_people;
    char dashboard_url[512]; /* alerts.dashboard_url, "" if not set */
} route_conf_t;

/* One config setting: key ("webhook.north.url"), value, line. */
typedef struct {
    const char *key;
    const char *value;
    int line;
} route_kv_t;

/* Reads the [webhook.*] and [person.*] sections and alerts.dashboard_url
 * from kv (other keys are not its business). FT_EINVAL with "FILE line N:
 * [webhook.NAME] KEY: reason" in err; FT_ENOMEM. route_free frees. */
int route_parse(const route_kv_t *kv, size_t n, const char *file, route_conf_t *out, char *err,
                size_t errlen) FT_MUST_CHECK;
void route_free(route_conf_t *c);
/* Refuses two hooks with the same format and URL (they would share one
 * delivery cursor). FT_EINVAL with a sentence naming both. */
int route_check_unique(const hook_t *hooks, size_t n, char *err, size_t errlen) FT_MUST_CHECK;

/* Format names and their documented limits. */
const char *route_format_name(hook_format f);
int route_format_parse(const char *s, hook_format *out) FT_MUST_CHECK;
/* Messages a minute the bot takes at most (its documentation), 0: none. */
unsigned route_format_limit(hook_format f);
/* The pace a hook of this format gets when none is configured. */
unsigned route_format_default_rate(hook_format f);

/* Severity and event kind of an alert / event as bits (0 if unknown). */
unsigned route_severity_bit(const char *s);
unsigned route_event_bit(const char *state);
/* True if the list holds s. */
bool route_list_has(const char *list, const char *s);
/* True if the list is empty. */
bool route_list_empty(const char *list);
/* Appends s to a list of cap bytes; false if it does not fit. */
bool route_list_add(char *list, size_t cap, const char *s);

/* The alert (an alert row) passes the filter's units, severities, articles
 * and rules. */
bool route_admits_alert(const hook_filter_t *f, const json_t *alert);
/* The event passes every part of the filter, its kind (events) too. */
bool route_admits(const hook_filter_t *f, const json_t *event);
/* A hook takes this event for a message of its own (or a merged one) now:
 * admitted, and for a digest hook of an immediate severity. */
bool route_sends_now(const hook_t *h, const json_t *event);

/* The people an alert names: those whose officers list holds one of the
 * alert's `officers`, then those who supervise its unit; each once. Up to
 * max into out; returns how many. */
size_t route_mentions(const person_t *people, size_t n, const json_t *alert, const person_t **out,
                      size_t max);
/* The supervisors of a unit, up to max. */
size_t route_supervisors(const person_t *people, size_t n, const char *unit, const person_t **out,
                         size_t max);

/* A short text of a hook's routing for `status`: "units U1, U2; severities
 * high, critical; digest at 08:30, 17:30 (immediate critical); 18 a minute;
 * signed; mentions". Never the URL or the secret. */
void route_describe(const hook_t *h, char *buf, size_t len);

#endif
