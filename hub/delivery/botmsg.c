/* botmsg.c: messages and the requests bots receive (see botmsg.h). */
#include "botmsg.h"
#include "hlc.h"
#include "record.h"
#include "utf8.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What each bot takes in one message (docs/alerts.md "Bots"): WeCom
 * markdown content 4096 bytes, text content 2048; DingTalk's markdown is
 * held to the same 4096; a Feishu request body to 20 KB, so each of its two
 * languages to 8 KB of text. */
#define WECOM_MD_MAX 4096
#define WECOM_TEXT_MAX 2048
#define DINGTALK_MD_MAX 4096
#define FEISHU_PART_MAX 8000
#define MAX_WHO 16

enum { SP_TEXT, SP_BOLD, SP_LINK };

typedef struct {
    int kind;
    char *text;
    char *href;
} span_t;

typedef struct {
    span_t *s;
    size_t n;
    bool quote;
} para_t;

typedef struct {
    char *title;
    para_t *p;
    size_t n;
} part_t;

struct botmsg_t {
    part_t zh, en;
    const person_t *who[MAX_WHO];
    size_t n_who;
    json_t *generic; /* the generic hook's body */
    bool failed;     /* out of memory while building */
};

/* ---- words ------------------------------------------------------------------ */

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

const char *botmsg_alert_message(const json_t *alert, bool zh)
{
    const char *s = str(alert, zh ? "message_zh" : "message_en");
    return s[0] ? s : str(alert, zh ? "message_en" : "message_zh");
}

const char *botmsg_alert_detail(const json_t *alert, bool zh)
{
    /* A detail rendered per language (detail_zh / detail_en) when the alert
     * carries one; the engine's one-line detail otherwise. */
    const char *s = str(alert, zh ? "detail_zh" : "detail_en");
    return s[0] ? s : str(alert, "detail");
}

static const char *sev_zh(const char *s)
{
    static const char *const en[] = {"low", "medium", "high", "critical"};
    static const char *const zh[] = {"低", "中", "高", "严重"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, en[i]) == 0) {
            return zh[i];
        }
    }
    return s;
}

static int sev_index(const char *s)
{
    unsigned b = route_severity_bit(s);
    return b == ROUTE_SEV_LOW        ? 0
           : b == ROUTE_SEV_MEDIUM   ? 1
           : b == ROUTE_SEV_HIGH     ? 2
           : b == ROUTE_SEV_CRITICAL ? 3
                                     : -1;
}

static const char *state_zh(const json_t *event)
{
    const char *s = str(event, "state");
    if (strcmp(s, "open") == 0) {
        return strcmp(str(event, "previous"), "resolved") == 0 ? "再次出现" : "新告警";
    }
    if (strcmp(s, "resolved") == 0) {
        return "已消除";
    }
    return strcmp(s, "justified") == 0 ? "已说明理由" : s;
}

/* Text from records and the rule pack, made harmless in a group chat: it
 * cannot mention (<@...>, <at ...>) or link ([..](..)), and stays on its
 * line. Up to 1000 bytes; several at a time (a ring of buffers per thread). */
static const char *U(const char *s)
{
    static _Thread_local char ring[8][1024];
    static _Thread_local unsigned next;
    char *out = ring[next++ % 8];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && o < 1000; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '<':
            rep = "＜";
            break;
        case '>':
            rep = "＞";
            break;
        case '[':
            rep = "［";
            break;
        case ']':
            rep = "］";
            break;
        default:
            break;
        }
        if (rep) {
            size_t l = strlen(rep);
            if (o + l > 1000) {
                break;
            }
            memcpy(out + o, rep, l);
            o += l;
        } else {
            out[o++] = *p < 0x20 || *p == 0x7f ? ' ' : (char)*p;
        }
    }
    out[o] = '\0';
    utf8_trim(out);
    return out;
}

static const char *dash(const char *s)
{
    return s && s[0] ? s : "-";
}

/* "ZF-0107、ZF-0112" (zh) or "ZF-0107, ZF-0112" of an alert's officers; "". */
static void officers_text(const json_t *alert, bool zh, char *out, size_t len)
{
    out[0] = '\0';
    size_t i;
    const json_t *o;
    json_array_foreach(json_object_get(alert, "officers"), i, o)
    {
        size_t l = strlen(out);
        snprintf(out + l, len - l, "%s%s", i ? (zh ? "、" : ", ") : "", json_string_value(o));
    }
    utf8_trim(out);
}

void botmsg_duration(int64_t ms, bool zh, char *out, size_t len)
{
    int64_t m = ms > 0 ? ms / 60000 : 0, d = m / 1440, h = (m % 1440) / 60, mm = m % 60;
    if (d > 0) {
        snprintf(out, len, zh ? "%" PRId64 " 天 %" PRId64 " 小时" : "%" PRId64 " d %" PRId64 " h",
                 d, h);
    } else if (h > 0) {
        snprintf(out, len, zh ? "%" PRId64 " 小时 %" PRId64 " 分" : "%" PRId64 " h %" PRId64 " min",
                 h, mm);
    } else {
        snprintf(out, len, zh ? "%" PRId64 " 分钟" : "%" PRId64 " min", mm);
    }
}

/* Local date and time of ms: "2026-06-01 08:30" (TZ). */
static void local_text(int64_t ms, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(out, len, "%Y-%m-%d %H:%M", &tm)) {
        snprintf(out, len, "-");
    }
}

/* ---- links ------------------------------------------------------------------ */

void botmsg_urlencode(const char *s, char *out, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 <= len; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    if (len) {
        out[o < len ? o : len - 1] = '\0';
    }
}

void botmsg_alerts_link(const char *base, const char *unit, const char *id, char *out, size_t len)
{
    if (!len) {
        return;
    }
    out[0] = '\0';
    if (!base || !base[0]) {
        return;
    }
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/') {
        bl--;
    }
    char enc[800];
    if (id) {
        botmsg_urlencode(id, enc, sizeof enc);
        snprintf(out, len, "%.*s/#/alerts?q=%s", (int)bl, base, enc);
    } else if (unit) {
        botmsg_urlencode(unit, enc, sizeof enc);
        snprintf(out, len, "%.*s/#/alerts?unit=%s&state=open", (int)bl, base, enc);
    } else {
        snprintf(out, len, "%.*s/#/alerts?state=open", (int)bl, base);
    }
}

/* ---- building --------------------------------------------------------------- */

static para_t *para(botmsg_t *m, part_t *p, bool quote)
{
    para_t *bigger = realloc(p->p, (p->n + 1) * sizeof *bigger);
    if (!bigger) {
        m->failed = true;
        return NULL;
    }
    p->p = bigger;
    bigger[p->n] = (para_t){.quote = quote};
    return &bigger[p->n++];
}

static void span(botmsg_t *m, para_t *pa, int kind, const char *text, const char *href)
{
    if (!pa) {
        return;
    }
    span_t *bigger = realloc(pa->s, (pa->n + 1) * sizeof *bigger);
    if (!bigger) {
        m->failed = true;
        return;
    }
    pa->s = bigger;
    span_t *s = &bigger[pa->n];
    s->kind = kind;
    s->text = strdup(text);
    s->href = href ? strdup(href) : NULL;
    if (!s->text || (href && !s->href)) {
        free(s->text);
        free(s->href);
        m->failed = true;
        return;
    }
    pa->n++;
}

static void spanf(botmsg_t *m, para_t *pa, int kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void spanf(botmsg_t *m, para_t *pa, int kind, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    utf8_trim(buf);
    span(m, pa, kind, buf, NULL);
}

/* A paragraph of one formatted text span. */
static void line(botmsg_t *m, part_t *p, bool quote, int kind, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void line(botmsg_t *m, part_t *p, bool quote, int kind, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    utf8_trim(buf);
    span(m, para(m, p, quote), kind, buf, NULL);
}

static void title(botmsg_t *m, part_t *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void title(botmsg_t *m, part_t *p, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    utf8_trim(buf);
    free(p->title);
    p->title = strdup(buf);
    if (!p->title) {
        m->failed = true;
    }
}

static void link_line(botmsg_t *m, part_t *p, const char *text, const char *href)
{
    if (href && href[0]) {
        span(m, para(m, p, false), SP_LINK, text, href);
    }
}

static void add_who(botmsg_t *m, const person_t *const *who, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool have = false;
        for (size_t j = 0; j < m->n_who && !have; j++) {
            have = m->who[j] == who[i];
        }
        if (!have && m->n_who < MAX_WHO) {
            m->who[m->n_who++] = who[i];
        }
    }
}

static botmsg_t *msg_new(void)
{
    return calloc(1, sizeof(botmsg_t));
}

static void part_free(part_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        for (size_t j = 0; j < p->p[i].n; j++) {
            free(p->p[i].s[j].text);
            free(p->p[i].s[j].href);
        }
        free(p->p[i].s);
    }
    free(p->p);
    free(p->title);
    memset(p, 0, sizeof *p);
}

void botmsg_free(botmsg_t **m_p)
{
    botmsg_t *m = *m_p;
    if (!m) {
        return;
    }
    part_free(&m->zh);
    part_free(&m->en);
    json_decref(m->generic);
    free(m);
    *m_p = NULL;
}

const char *botmsg_title(const botmsg_t *m)
{
    return m && m->zh.title ? m->zh.title : "";
}

static botmsg_t *finish(botmsg_t *m)
{
    if (m && (m->failed || !m->zh.title || !m->en.title || !m->generic)) {
        botmsg_free(&m);
    }
    return m;
}

/* ---- one event -------------------------------------------------------------- */

botmsg_t *botmsg_event(const json_t *event, const botmsg_ctx_t *c)
{
    botmsg_t *m = msg_new();
    if (!m) {
        return NULL;
    }
    const json_t *a = json_object_get(event, "alert");
    const char *st = str(event, "state"), *art = str(a, "article"), *rule = str(a, "rule");
    const char *sev = str(a, "severity"), *cs = str(a, "case"), *why = str(event, "why");
    char off_zh[512], off_en[512], link[1200];
    officers_text(a, true, off_zh, sizeof off_zh);
    officers_text(a, false, off_en, sizeof off_en);
    botmsg_alerts_link(c->dashboard_url, NULL, str(a, "id"), link, sizeof link);
    if (c->mention) {
        const person_t *who[MAX_WHO];
        add_who(m, who, route_mentions(c->people, c->n_people, a, who, MAX_WHO));
    }

    part_t *zh = &m->zh;
    title(m, zh, "fieldtrail 执法记录告警 · %s", state_zh(event));
    line(m, zh, false, SP_BOLD, "第%s条 · 规则 %s · 严重程度 %s", U(art), U(rule), sev_zh(sev));
    line(m, zh, false, SP_TEXT, "%s", U(botmsg_alert_message(a, true)));
    line(m, zh, true, SP_TEXT, "案件：%s", dash(U(cs)));
    line(m, zh, true, SP_TEXT, "单位：%s", dash(U(str(a, "unit"))));
    if (off_zh[0]) {
        line(m, zh, true, SP_TEXT, "执法人员：%s", U(off_zh));
    }
    line(m, zh, true, SP_TEXT, "情况：%s", dash(U(botmsg_alert_detail(a, true))));
    if (strcmp(st, "open") != 0 && why[0]) {
        line(m, zh, true, SP_TEXT, "原因：%s", U(why));
    }
    link_line(m, zh, "在工作台查看", link);

    part_t *en = &m->en;
    title(m, en, "[%s] Art. %s · rule %s · %s", U(st), U(art), U(rule), U(sev));
    line(m, en, false, SP_TEXT, "%s", U(botmsg_alert_message(a, false)));
    line(m, en, true, SP_TEXT, "case %s · unit %s", dash(U(cs)), dash(U(str(a, "unit"))));
    if (off_en[0]) {
        line(m, en, true, SP_TEXT, "officers %s", U(off_en));
    }
    line(m, en, true, SP_TEXT, "%s", dash(U(botmsg_alert_detail(a, false))));
    if (strcmp(st, "open") != 0 && why[0]) {
        line(m, en, true, SP_TEXT, "why: %s", U(why));
    }
    line(m, en, false, SP_TEXT, "alert %s · %s", U(str(a, "id")), U(str(event, "at")));
    link_line(m, en, "Open in the dashboard", link);
    m->generic = json_deep_copy(event);
    return finish(m);
}

/* ---- merged ----------------------------------------------------------------- */

typedef struct {
    const char *unit;
    unsigned n, sev[4], st[3];
} unit_count_t;

static int by_count(const void *x, const void *y)
{
    const unit_count_t *a = x, *b = y;
    return a->n != b->n ? (a->n < b->n ? 1 : -1) : strcmp(a->unit, b->unit);
}

/* " 严重 1 · 高 2" (zh) / "critical 1, high 2" (en) of the non-zero counts,
 * most severe first. */
static void sev_counts(const unsigned sev[4], bool zh, char *out, size_t len)
{
    static const char *const en[] = {"low", "medium", "high", "critical"};
    static const char *const zhn[] = {"低", "中", "高", "严重"};
    out[0] = '\0';
    for (int i = 3; i >= 0; i--) {
        if (sev[i]) {
            size_t l = strlen(out);
            snprintf(out + l, len - l, "%s%s %u", l ? (zh ? " · " : ", ") : "", zh ? zhn[i] : en[i],
                     sev[i]);
        }
    }
}

#define MERGED_UNITS 10

botmsg_t *botmsg_merged(json_t *const *events, size_t n, uint64_t first, uint64_t last,
                        const botmsg_ctx_t *c)
{
    botmsg_t *m = msg_new();
    unit_count_t *u = calloc(n ? n : 1, sizeof *u);
    if (!m || !u) {
        free(u);
        botmsg_free(&m);
        return NULL;
    }
    size_t nu = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *a = json_object_get(events[i], "alert");
        const char *unit = str(a, "unit");
        size_t j = 0;
        while (j < nu && strcmp(u[j].unit, unit) != 0) {
            j++;
        }
        if (j == nu) {
            u[nu++].unit = unit;
        }
        u[j].n++;
        int s = sev_index(str(a, "severity"));
        if (s >= 0) {
            u[j].sev[s]++;
        }
        unsigned ev = route_event_bit(str(events[i], "state"));
        u[j].st[ev == ROUTE_EV_OPENED ? 0 : ev == ROUTE_EV_RESOLVED ? 1 : 2] += ev != 0;
    }
    qsort(u, nu, sizeof *u, by_count);
    if (c->mention) {
        for (size_t j = 0; j < nu; j++) {
            const person_t *who[MAX_WHO];
            add_who(m, who, route_supervisors(c->people, c->n_people, u[j].unit, who, MAX_WHO));
        }
    }
    part_t *zh = &m->zh, *en = &m->en;
    title(m, zh, "fieldtrail 执法记录告警 · 合并 %zu 条", n);
    title(m, en, "%zu alerts merged into one message (hub log entries %" PRIu64 "–%" PRIu64 ")", n,
          first, last);
    line(m, zh, false, SP_TEXT,
         "告警较多，%zu 条合并为一条消息（hub 日志条目 %" PRIu64 "–%" PRIu64 "）。", n, first,
         last);
    for (size_t j = 0; j < nu && j < MERGED_UNITS; j++) {
        char link[1200], sz[128], se[128];
        botmsg_alerts_link(c->dashboard_url, u[j].unit, NULL, link, sizeof link);
        sev_counts(u[j].sev, true, sz, sizeof sz);
        sev_counts(u[j].sev, false, se, sizeof se);
        para_t *p = para(m, zh, false);
        spanf(m, p, SP_BOLD, "%s：%u 条", dash(U(u[j].unit)), u[j].n);
        spanf(m, p, SP_TEXT, "（%s；新告警 %u · 已消除 %u · 已说明理由 %u）", sz, u[j].st[0],
              u[j].st[1], u[j].st[2]);
        if (link[0]) {
            span(m, p, SP_LINK, "查看", link);
        }
        p = para(m, en, false);
        spanf(m, p, SP_TEXT, "%u more alerts in unit %s (%s; %u opened, %u resolved, %u justified)",
              u[j].n, dash(U(u[j].unit)), se, u[j].st[0], u[j].st[1], u[j].st[2]);
        if (link[0]) {
            span(m, p, SP_LINK, "open", link);
        }
    }
    if (nu > MERGED_UNITS) {
        unsigned rest = 0;
        for (size_t j = MERGED_UNITS; j < nu; j++) {
            rest += u[j].n;
        }
        line(m, zh, false, SP_TEXT, "其余 %zu 个单位共 %u 条", nu - MERGED_UNITS, rest);
        line(m, en, false, SP_TEXT, "%u more alerts in %zu other units", rest, nu - MERGED_UNITS);
    }
    /* The most severe few one by one (the oldest first among equals). */
    size_t shown = 0;
    for (int s = 3; s >= -1 && shown < MERGED_SHOWN; s--) {
        for (size_t i = 0; i < n && shown < MERGED_SHOWN; i++) {
            const json_t *a = json_object_get(events[i], "alert");
            if (sev_index(str(a, "severity")) != s) {
                continue;
            }
            line(m, zh, true, SP_TEXT, "[%s] 第%s条 · %s · %s · %s · %s", state_zh(events[i]),
                 U(str(a, "article")), sev_zh(str(a, "severity")), dash(U(str(a, "case"))),
                 dash(U(str(a, "unit"))), dash(U(botmsg_alert_detail(a, true))));
            line(m, en, true, SP_TEXT, "[%s] Art. %s · %s · %s · %s · alert %s",
                 U(str(events[i], "state")), U(str(a, "article")), U(str(a, "severity")),
                 dash(U(str(a, "case"))), dash(U(str(a, "unit"))), U(str(a, "id")));
            shown++;
        }
    }
    char all[1200];
    botmsg_alerts_link(c->dashboard_url, NULL, NULL, all, sizeof all);
    link_line(m, zh, "在工作台查看全部未处理告警", all);
    link_line(m, en, "All open alerts in the dashboard", all);

    json_t *units = json_array(), *evs = json_array();
    for (size_t j = 0; j < nu; j++) {
        char link[1200];
        botmsg_alerts_link(c->dashboard_url, u[j].unit, NULL, link, sizeof link);
        json_t *o =
            json_pack("{s:o, s:i, s:{s:i, s:i, s:i, s:i}, s:{s:i, s:i, s:i}}", "unit",
                      utf8_json_string(u[j].unit), "count", (int)u[j].n, "severity", "low",
                      (int)u[j].sev[0], "medium", (int)u[j].sev[1], "high", (int)u[j].sev[2],
                      "critical", (int)u[j].sev[3], "events", "opened", (int)u[j].st[0], "resolved",
                      (int)u[j].st[1], "justified", (int)u[j].st[2]);
        if (o && link[0]) {
            json_object_set_new(o, "url", json_string(link));
        }
        json_array_append_new(units, o);
    }
    for (size_t i = 0; i < n; i++) {
        json_array_append(evs, events[i]);
    }
    m->generic = json_pack("{s:s, s:I, s:I, s:I, s:o, s:o}", "kind", "merged", "count",
                           (json_int_t)n, "first_entry", (json_int_t)first, "last_entry",
                           (json_int_t)last, "units", units, "events", evs);
    free(u);
    return finish(m);
}

/* ---- digest ----------------------------------------------------------------- */

static int by_article_count(const void *x, const void *y)
{
    const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    json_int_t na = json_integer_value(json_object_get(a, "n")),
               nb = json_integer_value(json_object_get(b, "n"));
    return na != nb ? (na < nb ? 1 : -1) : strcmp(str(a, "a"), str(b, "a"));
}

/* "第13条 4 · 第9条 1" / "13: 4, 9: 1", most first. */
static void articles_text(const json_t *by_article, bool zh, char *out, size_t len)
{
    out[0] = '\0';
    size_t n = json_object_size(by_article), i = 0;
    json_t **v = calloc(n ? n : 1, sizeof *v);
    if (!v) {
        return;
    }
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)by_article, k, val)
    {
        v[i++] = json_pack("{s:s, s:I}", "a", k, "n", json_integer_value(val));
    }
    qsort(v, n, sizeof *v, by_article_count);
    for (i = 0; i < n; i++) {
        size_t l = strlen(out);
        if (l + 1 < len) {
            snprintf(out + l, len - l, zh ? "%s第%s条 %lld" : "%s%s: %lld",
                     i ? (zh ? " · " : ", ") : "", U(str(v[i], "a")),
                     (long long)json_integer_value(json_object_get(v[i], "n")));
        }
        json_decref(v[i]);
    }
    free(v);
    utf8_trim(out);
}

static int64_t opened_ms(const json_t *a)
{
    json_int_t v = json_integer_value(json_object_get(a, "opened_at_ms"));
    return v ? v : json_integer_value(json_object_get(a, "opened_ms"));
}

static json_t *alert_brief(const json_t *a, int64_t at_ms)
{
    json_t *o =
        json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "id", utf8_json_string(str(a, "id")), "rule",
                  utf8_json_string(str(a, "rule")), "article", utf8_json_string(str(a, "article")),
                  "severity", utf8_json_string(str(a, "severity")), "case",
                  str(a, "case")[0] ? utf8_json_string(str(a, "case")) : json_null(), "detail",
                  utf8_json_string(botmsg_alert_detail(a, false)));
    if (o) {
        const json_t *off = json_object_get(a, "officers");
        json_object_set_new(o, "officers", json_is_array(off) ? json_deep_copy(off) : json_array());
        int64_t op = opened_ms(a);
        if (op > 0) {
            char t[48];
            rfc3339_format(op, 0, t, sizeof t);
            json_object_set_new(o, "opened_at", json_string(t));
            if (at_ms) {
                json_object_set_new(o, "open_for_s",
                                    json_integer(at_ms > op ? (at_ms - op) / 1000 : 0));
            }
        }
    }
    return o;
}

static json_t *briefs(const json_t *list, int64_t at_ms)
{
    json_t *out = json_array();
    size_t i;
    const json_t *a;
    json_array_foreach(list, i, a)
    {
        json_array_append_new(out, alert_brief(a, at_ms));
    }
    return out;
}

botmsg_t *botmsg_digest(const digest_unit_t *u, const botmsg_ctx_t *c)
{
    botmsg_t *m = msg_new();
    if (!m) {
        return NULL;
    }
    char at[32], since[32], link[1200], sz[128], se[128], az[1024], ae[1024];
    local_text(u->at_ms, at, sizeof at);
    if (u->since_ms > 0) {
        local_text(u->since_ms, since, sizeof since);
    } else {
        snprintf(since, sizeof since, "-");
    }
    botmsg_alerts_link(c->dashboard_url, u->unit, NULL, link, sizeof link);
    sev_counts(u->open_sev, true, sz, sizeof sz);
    sev_counts(u->open_sev, false, se, sizeof se);
    articles_text(u->open_by_article, true, az, sizeof az);
    articles_text(u->open_by_article, false, ae, sizeof ae);
    if (c->mention) {
        const person_t *who[MAX_WHO];
        add_who(m, who, route_supervisors(c->people, c->n_people, u->unit, who, MAX_WHO));
    }
    part_t *zh = &m->zh, *en = &m->en;
    title(m, zh, "fieldtrail 告警摘要 · %s · %s", dash(U(u->unit)), at);
    title(m, en, "Alert digest for %s, %s", dash(U(u->unit)), at);
    if (u->open_total) {
        line(m, zh, false, SP_BOLD, "未处理告警 %u 条（%s）", u->open_total, sz);
        line(m, zh, false, SP_TEXT, "按条款：%s", az);
        line(m, en, false, SP_BOLD, "%u open (%s)", u->open_total, se);
        line(m, en, false, SP_TEXT, "By article: %s", ae);
    } else {
        line(m, zh, false, SP_BOLD, "没有未处理告警");
        line(m, en, false, SP_BOLD, "No open alerts");
    }
    if (u->since_ms > 0) {
        line(m, zh, false, SP_TEXT, "自上次摘要（%s）以来：新告警 %u，已消除 %u，已说明理由 %u",
             since, u->opened, u->resolved, u->justified);
        line(m, en, false, SP_TEXT,
             "Since the last digest (%s): %u opened, %u resolved, %u "
             "justified",
             since, u->opened, u->resolved, u->justified);
    } else {
        line(m, zh, false, SP_TEXT, "首次摘要以来：新告警 %u，已消除 %u，已说明理由 %u", u->opened,
             u->resolved, u->justified);
        line(m, en, false, SP_TEXT, "Since this hook began: %u opened, %u resolved, %u justified",
             u->opened, u->resolved, u->justified);
    }
    size_t i;
    const json_t *a;
    json_array_foreach(u->opened_list, i, a)
    {
        line(m, zh, true, SP_TEXT, "新告警 · 第%s条 · %s · %s · %s", U(str(a, "article")),
             sev_zh(str(a, "severity")), dash(U(str(a, "case"))),
             dash(U(botmsg_alert_detail(a, true))));
        line(m, en, true, SP_TEXT, "opened · Art. %s · %s · %s · %s", U(str(a, "article")),
             U(str(a, "severity")), dash(U(str(a, "case"))),
             dash(U(botmsg_alert_detail(a, false))));
    }
    json_array_foreach(u->resolved_list, i, a)
    {
        line(m, zh, true, SP_TEXT, "已消除 · 第%s条 · %s · %s", U(str(a, "article")),
             sev_zh(str(a, "severity")), dash(U(str(a, "case"))));
        line(m, en, true, SP_TEXT, "resolved · Art. %s · %s · %s", U(str(a, "article")),
             U(str(a, "severity")), dash(U(str(a, "case"))));
    }
    if (json_array_size(u->oldest)) {
        line(m, zh, false, SP_BOLD, "最久未处理：");
        line(m, en, false, SP_BOLD, "Open longest:");
    }
    json_array_foreach(u->oldest, i, a)
    {
        char dz[64], de[64], oz[512], oe[512];
        int64_t op = opened_ms(a);
        botmsg_duration(u->at_ms - op, true, dz, sizeof dz);
        botmsg_duration(u->at_ms - op, false, de, sizeof de);
        officers_text(a, true, oz, sizeof oz);
        officers_text(a, false, oe, sizeof oe);
        line(m, zh, true, SP_TEXT, "案件 %s · 执法人员 %s · 已 %s · 第%s条 %s · %s",
             dash(U(str(a, "case"))), dash(U(oz)), dz, U(str(a, "article")),
             sev_zh(str(a, "severity")), dash(U(botmsg_alert_detail(a, true))));
        line(m, en, true, SP_TEXT, "case %s · officers %s · open %s · Art. %s %s · %s",
             dash(U(str(a, "case"))), dash(U(oe)), de, U(str(a, "article")), U(str(a, "severity")),
             dash(U(botmsg_alert_detail(a, false))));
    }
    link_line(m, zh, "在工作台查看本单位未处理告警", link);
    link_line(m, en, "This unit's open alerts in the dashboard", link);

    char at3339[48], since3339[48];
    json_t *arts = u->open_by_article ? json_incref(u->open_by_article) : json_object();
    rfc3339_format(u->at_ms, 0, at3339, sizeof at3339);
    rfc3339_format(u->since_ms, 0, since3339, sizeof since3339);
    json_t *g = json_pack(
        "{s:s, s:o, s:s, s:o, s:{s:i, s:{s:i, s:i, s:i, s:i}, s:o}, s:{s:i, s:i, s:i, s:o, s:o}, "
        "s:o}",
        "kind", "digest", "unit", utf8_json_string(u->unit), "at", at3339, "since",
        u->since_ms > 0 ? json_string(since3339) : json_null(), "open", "total", (int)u->open_total,
        "severity", "low", (int)u->open_sev[0], "medium", (int)u->open_sev[1], "high",
        (int)u->open_sev[2], "critical", (int)u->open_sev[3], "article", arts, "since_last",
        "opened", (int)u->opened, "resolved", (int)u->resolved, "justified", (int)u->justified,
        "opened_alerts", briefs(u->opened_list, 0), "resolved_alerts", briefs(u->resolved_list, 0),
        "oldest", briefs(u->oldest, u->at_ms));
    if (g && link[0]) {
        json_object_set_new(g, "url", json_string(link));
    }
    m->generic = g;
    return finish(m);
}

/* ---- signatures ------------------------------------------------------------- */

static void hmac_b64(const uint8_t *key, size_t klen, const uint8_t *msg, size_t mlen, char *out,
                     size_t len)
{
    crypto_auth_hmacsha256_state st;
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, key, klen);
    crypto_auth_hmacsha256_update(&st, msg, mlen);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
    char b64[sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES,
                                       sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, len, "%s", b64);
}

void botmsg_sign_dingtalk(const char *secret, int64_t ms, char *out, size_t len)
{
    /* DingTalk: HMAC-SHA256 keyed by the secret over "timestamp\nsecret",
     * Base64, URL-encoded. */
    char text[400], b64[64];
    int n = snprintf(text, sizeof text, "%" PRId64 "\n%s", ms, secret);
    hmac_b64((const uint8_t *)secret, strlen(secret), (const uint8_t *)text,
             n > 0 && (size_t)n < sizeof text ? (size_t)n : 0, b64, sizeof b64);
    sodium_memzero(text, sizeof text);
    botmsg_urlencode(b64, out, len);
}

void botmsg_sign_feishu(const char *secret, int64_t s, char *out, size_t len)
{
    /* Feishu: HMAC-SHA256 keyed by "timestamp\nsecret" over nothing, Base64. */
    char key[400];
    int n = snprintf(key, sizeof key, "%" PRId64 "\n%s", s, secret);
    hmac_b64((const uint8_t *)key, n > 0 && (size_t)n < sizeof key ? (size_t)n : 0,
             (const uint8_t *)"", 0, out, len);
    sodium_memzero(key, sizeof key);
}

/* ---- writing ---------------------------------------------------------------- */

typedef struct {
    char *b;
    size_t n, cap;
    bool failed;
} sb_t;

static void sb_add(sb_t *s, const char *t, size_t n)
{
    if (s->failed) {
        return;
    }
    if (s->n + n + 1 > s->cap) {
        size_t cap = (s->cap ? s->cap : 256);
        while (cap < s->n + n + 1) {
            cap *= 2;
        }
        char *b = realloc(s->b, cap);
        if (!b) {
            s->failed = true;
            return;
        }
        s->b = b;
        s->cap = cap;
    }
    memcpy(s->b + s->n, t, n);
    s->n += n;
    s->b[s->n] = '\0';
}

static void sb_str(sb_t *s, const char *t)
{
    sb_add(s, t, strlen(t));
}

/* How a person is named in a format: "@mobile" and so on; *kind says which
 * list takes them: 1 user ids, 2 mobiles, 0 none (named only). */
static const char *who_ref(const person_t *p, hook_format f, int *kind)
{
    *kind = 0;
    if (f == HOOK_DINGTALK && p->dingtalk_id[0]) {
        *kind = 1;
        return p->dingtalk_id;
    }
    if (f == HOOK_DINGTALK && p->mobile[0]) {
        *kind = 2;
        return p->mobile;
    }
    if (f == HOOK_WECOM && p->wecom_id[0]) {
        *kind = 1;
        return p->wecom_id;
    }
    if (f == HOOK_WECOM && p->mobile[0]) {
        *kind = 2;
        return p->mobile;
    }
    if (f == HOOK_FEISHU && p->feishu_id[0]) {
        *kind = 1;
        return p->feishu_id;
    }
    return p->name;
}

/* WeCom markdown cannot mention by mobile: such a message goes as text. */
static bool wecom_as_text(const botmsg_t *m)
{
    for (size_t i = 0; i < m->n_who; i++) {
        int k;
        (void)who_ref(m->who[i], HOOK_WECOM, &k);
        if (k == 2) {
            return true;
        }
    }
    return false;
}

/* One paragraph as markdown (md) or plain text. */
static void para_text(const para_t *p, bool md, sb_t *s)
{
    if (p->quote && md) {
        sb_str(s, "> ");
    }
    for (size_t i = 0; i < p->n; i++) {
        const span_t *sp = &p->s[i];
        if (i > 0 && (sp->kind == SP_LINK || p->s[i - 1].kind == SP_LINK)) {
            sb_str(s, " ");
        }
        if (sp->kind == SP_BOLD && md) {
            sb_str(s, "**");
            sb_str(s, sp->text);
            sb_str(s, "**");
        } else if (sp->kind == SP_LINK && md) {
            sb_str(s, "[");
            sb_str(s, sp->text);
            sb_str(s, "](");
            sb_str(s, sp->href);
            sb_str(s, ")");
        } else if (sp->kind == SP_LINK) {
            sb_str(s, sp->text);
            sb_str(s, ": ");
            sb_str(s, sp->href);
        } else {
            sb_str(s, sp->text);
        }
    }
}

/* The mention line: "请处理：@a @b" (DingTalk), "请处理：<@a>" (WeCom
 * markdown), "请处理：王伟" (WeCom text: the lists do the mentioning). */
static void who_text(const botmsg_t *m, hook_format f, bool md, sb_t *s)
{
    sb_str(s, "请处理：");
    for (size_t i = 0; i < m->n_who; i++) {
        int k;
        const char *r = who_ref(m->who[i], f, &k);
        if (i) {
            sb_str(s, " ");
        }
        if (k && f == HOOK_DINGTALK) {
            sb_str(s, "@");
            sb_str(s, r);
        } else if (k == 1 && f == HOOK_WECOM && md) {
            sb_str(s, "<@");
            sb_str(s, r);
            sb_str(s, ">");
        } else {
            sb_str(s, U(m->who[i]->name));
        }
    }
}

/* The text of the message for DingTalk / WeCom, at most max bytes: the
 * zh-CN part whole if it fits, then as much of the English part as fits;
 * a paragraph that no longer fits ends the text with "…". */
static char *chat_text(const botmsg_t *m, hook_format f, bool md, size_t max)
{
    const char *sep = f == HOOK_DINGTALK ? "\n\n" : "\n";
    sb_t s = {0};
    if (md) {
        sb_str(&s, "### ");
    }
    sb_str(&s, m->zh.title);
    if (m->n_who) {
        sb_str(&s, sep);
        who_text(m, f, md, &s);
    }
    const part_t *parts[2] = {&m->zh, &m->en};
    bool cut = false;
    for (int k = 0; k < 2 && !cut; k++) {
        if (k == 1) {
            sb_t t = {0};
            sb_str(&t, sep);
            sb_str(&t, md ? "**" : "");
            sb_str(&t, m->en.title);
            sb_str(&t, md ? "**" : "");
            if (!t.failed && s.n + t.n + 8 <= max) {
                sb_add(&s, t.b, t.n);
            } else {
                cut = true;
            }
            free(t.b);
        }
        for (size_t i = 0; i < parts[k]->n && !cut; i++) {
            sb_t t = {0};
            sb_str(&t, sep);
            para_text(&parts[k]->p[i], md, &t);
            if (!t.failed && s.n + t.n + 8 <= max) {
                sb_add(&s, t.b, t.n);
            } else {
                cut = true;
            }
            free(t.b);
        }
    }
    if (cut) {
        sb_str(&s, sep);
        sb_str(&s, "…");
    }
    if (s.failed) {
        free(s.b);
        return NULL;
    }
    if (s.n > max) { /* a title alone too long: cut on a whole character */
        s.b[utf8_prefix(s.b, s.n, max - 4)] = '\0';
        sb_str(&s, "…");
    }
    return s.b;
}

static json_t *who_list(const botmsg_t *m, hook_format f, int kind)
{
    json_t *a = json_array();
    for (size_t i = 0; i < m->n_who; i++) {
        int k;
        const char *r = who_ref(m->who[i], f, &k);
        if (k == kind) {
            json_array_append_new(a, json_string(r));
        }
    }
    return a;
}

/* A Feishu post in one language: {title, content: [[elements]]}. */
static json_t *feishu_part(const botmsg_t *m, const part_t *p, bool zh)
{
    json_t *content = json_array();
    if (m->n_who) {
        json_t *row = json_array();
        json_array_append_new(
            row, json_pack("{s:s, s:s}", "tag", "text", "text", zh ? "请处理：" : "To act: "));
        for (size_t i = 0; i < m->n_who; i++) {
            int k;
            const char *r = who_ref(m->who[i], HOOK_FEISHU, &k);
            json_array_append_new(row, k ? json_pack("{s:s, s:s, s:o}", "tag", "at", "user_id", r,
                                                     "user_name", utf8_json_string(m->who[i]->name))
                                         : json_pack("{s:s, s:o}", "tag", "text", "text",
                                                     utf8_json_string(U(m->who[i]->name))));
        }
        json_array_append_new(content, row);
    }
    size_t used = 0;
    for (size_t i = 0; i < p->n; i++) {
        size_t need = 0;
        for (size_t j = 0; j < p->p[i].n; j++) {
            need += strlen(p->p[i].s[j].text) + (p->p[i].s[j].href ? strlen(p->p[i].s[j].href) : 0);
        }
        if (used + need > FEISHU_PART_MAX) {
            json_array_append_new(content, json_pack("[{s:s, s:s}]", "tag", "text", "text", "…"));
            break;
        }
        used += need;
        json_t *row = json_array();
        for (size_t j = 0; j < p->p[i].n; j++) {
            const span_t *sp = &p->p[i].s[j];
            json_array_append_new(row, sp->kind == SP_LINK
                                           ? json_pack("{s:s, s:o, s:s}", "tag", "a", "text",
                                                       utf8_json_string(sp->text), "href", sp->href)
                                           : json_pack("{s:s, s:o}", "tag", "text", "text",
                                                       utf8_json_string(sp->text)));
        }
        json_array_append_new(content, row);
    }
    return json_pack("{s:o, s:o}", "title", utf8_json_string(p->title), "content", content);
}

int botmsg_request(const botmsg_t *m, const hook_t *h, int64_t now_ms, char **url, char **body)
{
    *url = NULL;
    *body = NULL;
    json_t *o = NULL;
    char sign[128];
    switch (h->format) {
    case HOOK_GENERIC:
        *body = json_dumps(m->generic, JSON_COMPACT | JSON_SORT_KEYS);
        break;
    case HOOK_WECOM: {
        bool as_text = wecom_as_text(m);
        char *text = chat_text(m, HOOK_WECOM, !as_text, as_text ? WECOM_TEXT_MAX : WECOM_MD_MAX);
        if (!text) {
            break;
        }
        if (as_text) {
            o = json_pack("{s:s, s:{s:o, s:o, s:o}}", "msgtype", "text", "text", "content",
                          utf8_json_string(text), "mentioned_list", who_list(m, HOOK_WECOM, 1),
                          "mentioned_mobile_list", who_list(m, HOOK_WECOM, 2));
        } else {
            o = json_pack("{s:s, s:{s:o}}", "msgtype", "markdown", "markdown", "content",
                          utf8_json_string(text));
        }
        free(text);
        break;
    }
    case HOOK_DINGTALK: {
        char *text = chat_text(m, HOOK_DINGTALK, true, DINGTALK_MD_MAX);
        if (!text) {
            break;
        }
        o = json_pack("{s:s, s:{s:o, s:o}}", "msgtype", "markdown", "markdown", "title",
                      utf8_json_string(m->zh.title), "text", utf8_json_string(text));
        free(text);
        if (o && m->n_who) {
            json_object_set_new(o, "at",
                                json_pack("{s:o, s:o, s:b}", "atMobiles",
                                          who_list(m, HOOK_DINGTALK, 2), "atUserIds",
                                          who_list(m, HOOK_DINGTALK, 1), "isAtAll", 0));
        }
        break;
    }
    case HOOK_FEISHU: {
        o = json_object();
        if (o && h->secret[0]) {
            int64_t s = now_ms / 1000;
            char ts[32];
            snprintf(ts, sizeof ts, "%" PRId64, s);
            botmsg_sign_feishu(h->secret, s, sign, sizeof sign);
            json_object_set_new(o, "timestamp", json_string(ts));
            json_object_set_new(o, "sign", json_string(sign));
        }
        if (o) {
            json_object_set_new(o, "msg_type", json_string("post"));
            json_object_set_new(o, "content",
                                json_pack("{s:{s:o, s:o}}", "post", "zh_cn",
                                          feishu_part(m, &m->zh, true), "en_us",
                                          feishu_part(m, &m->en, false)));
        }
        break;
    }
    }
    if (o) {
        *body = json_dumps(o, JSON_COMPACT);
        json_decref(o);
    }
    if (!*body) {
        return FT_ENOMEM;
    }
    if (h->format == HOOK_DINGTALK && h->secret[0]) {
        botmsg_sign_dingtalk(h->secret, now_ms, sign, sizeof sign);
        size_t n = strlen(h->url) + strlen(sign) + 64;
        *url = malloc(n);
        if (*url) {
            snprintf(*url, n, "%s%ctimestamp=%" PRId64 "&sign=%s", h->url,
                     strchr(h->url, '?') ? '&' : '?', now_ms, sign);
        }
    } else {
        *url = strdup(h->url);
    }
    if (!*url) {
        free(*body);
        *body = NULL;
        return FT_ENOMEM;
    }
    return FT_OK;
}
