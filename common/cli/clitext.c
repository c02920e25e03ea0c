/* clitext.c: times, sizes, display widths, tables and progress bars for
 * people (see clitext.h). */
#include "clitext.h"
#include "record.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool utc_mode;
static int progress_forced = -1; /* -1: ask isatty */

void cli_set_utc(bool utc)
{
    utc_mode = utc;
}

bool cli_utc(void)
{
    return utc_mode;
}

int32_t cli_utc_offset_min(int64_t ms)
{
    if (utc_mode) {
        return 0;
    }
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    if (!localtime_r(&secs, &tm)) {
        return 0;
    }
    return (int32_t)(tm.tm_gmtoff / 60);
}

void cli_time(int64_t ms, char *buf, size_t len)
{
    if (ms <= 0) {
        snprintf(buf, len, "-");
        return;
    }
    /* to the second: what a person reads */
    rfc3339_format(ms - ms % 1000, cli_utc_offset_min(ms), buf, len);
}

void cli_size(uint64_t bytes, char *buf, size_t len)
{
    static const char *const unit[] = {"B", "KB", "MB", "GB", "TB", "PB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024.0 && u < sizeof unit / sizeof unit[0] - 1) {
        v /= 1024.0;
        u++;
    }
    if (u == 0) {
        snprintf(buf, len, "%llu B", (unsigned long long)bytes);
    } else {
        snprintf(buf, len, v < 10 ? "%.1f %s" : "%.0f %s", v, unit[u]);
    }
}

void cli_hmm(int64_t ms, char *buf, size_t len)
{
    if (ms < 0) {
        snprintf(buf, len, "-");
        return;
    }
    long long min = (long long)((ms + 30000) / 60000);
    snprintf(buf, len, "%lld:%02lld", min / 60, min % 60);
}

/* ---- labels ---------------------------------------------------------------- */

/* The dashboard's words (hub/web/i18n.js, rt_*). */
static const struct {
    const char *name, *label;
} labels[] = {
    {"complaint_registered", "投诉举报登记"},
    {"complaint_decision", "受理/不予受理决定"},
    {"initiation_urgent", "紧急先行启动"},
    {"initiation_approval", "程序启动审批"},
    {"patrol", "巡查"},
    {"inquiry", "询问调查"},
    {"evidence_registration", "证据登记"},
    {"site_inspection", "现场检查（勘验）"},
    {"survey", "勘测"},
    {"sampling", "抽样取证"},
    {"hearing", "听证"},
    {"appraisal_opinion", "鉴定意见"},
    {"expert_panel", "专家论证"},
    {"collective_discussion", "集体讨论"},
    {"leader_approval", "负责人审批"},
    {"decision", "处理决定"},
    {"service_direct", "直接送达"},
    {"service_public_notice", "公告送达"},
    {"performance_record", "履行记录"},
    {"demand_notice", "催告书"},
    {"demand_notice_service", "催告书送达"},
    {"statement_defense", "陈述申辩"},
    {"statement_review", "陈述申辩复核"},
    {"court_application", "申请法院强制执行"},
    {"court_result", "法院执行结果"},
    {"legal_hold", "证据保全（长期保存）"},
    {"recorder_checkout", "记录仪领用"},
    {"recorder_return", "记录仪归还"},
    {"recorder_status", "记录仪状态"},
    {"recorder_maintenance", "记录仪维护"},
    {"justification", "情况说明"},
    {"video", "视频"},
    {"audio", "音频"},
    {"photo", "照片"},
    {"media", "音视频"},
};

const char *cli_type_label(const char *name)
{
    for (size_t i = 0; name && i < sizeof labels / sizeof labels[0]; i++) {
        if (strcmp(labels[i].name, name) == 0) {
            return labels[i].label;
        }
    }
    return name ? name : "-";
}

/* ---- display width ------------------------------------------------------- */

static int cp_width(unsigned c)
{
    if ((c >= 0x0300 && c <= 0x036f) || (c >= 0x200b && c <= 0x200f) ||
        (c >= 0xfe00 && c <= 0xfe0f)) {
        return 0; /* combining marks, zero-width spaces, variation selectors */
    }
    return (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0x303e) ||
                   (c >= 0x3041 && c <= 0x33ff) || (c >= 0x3400 && c <= 0x4dbf) ||
                   (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xa000 && c <= 0xa4cf) ||
                   (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
                   (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
                   (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
                   (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd)
               ? 2
               : 1;
}

int cli_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    int w = 0;
    while (*p) {
        unsigned c = *p;
        int len = c < 0x80                ? 1
                  : c >= 0xc2 && c < 0xe0 ? 2
                  : c >= 0xe0 && c < 0xf0 ? 3
                  : c >= 0xf0 && c < 0xf5 ? 4
                                          : 1;
        for (int i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                len = 1; /* not UTF-8: the byte alone */
                break;
            }
        }
        if (len > 1) {
            c &= 0xffu >> (len + 1);
            for (int i = 1; i < len; i++) {
                c = (c << 6) | (p[i] & 0x3fu);
            }
            w += cp_width(c);
        } else {
            w += 1;
        }
        p += len;
    }
    return w;
}

void cli_pad(FILE *out, const char *s, int width, bool right)
{
    s = s ? s : "";
    int pad = width - cli_width(s);
    if (right && pad > 0) {
        fprintf(out, "%*s", pad, "");
    }
    fputs(s, out);
    if (!right && pad > 0) {
        fprintf(out, "%*s", pad, "");
    }
}

/* ---- tables --------------------------------------------------------------- */

struct cli_table {
    size_t n_cols, n_rows, cap;
    char **cells; /* n_rows * n_cols; row 0 is the header */
    char *align;
};

cli_table_t *cli_table_new(size_t n_cols, const char *const *headers, const char *align)
{
    cli_table_t *t = calloc(1, sizeof *t);
    if (!t) {
        return NULL;
    }
    t->n_cols = n_cols;
    t->align = calloc(n_cols + 1, 1);
    if (!t->align) {
        free(t);
        return NULL;
    }
    for (size_t i = 0; i < n_cols; i++) {
        t->align[i] = align && i < strlen(align) ? align[i] : 'l';
    }
    if (!cli_table_add(t, headers)) {
        cli_table_free(&t);
    }
    return t;
}

/* A copy of s with control characters (a newline, an ESC) as \xNN, so that
 * no cell can break a line of the listing or drive the terminal. */
static char *cell_copy(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        n += *p < 0x20 || *p == 0x7f ? 4 : 1;
    }
    char *out = malloc(n + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; out && *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            o += sprintf(o, "\\x%02X", *p);
        } else {
            *o++ = (char)*p;
        }
    }
    if (out) {
        *o = '\0';
    }
    return out;
}

bool cli_table_add(cli_table_t *t, const char *const *cells)
{
    if (t->n_rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **more = realloc(t->cells, cap * t->n_cols * sizeof *more);
        if (!more) {
            return false;
        }
        t->cells = more;
        t->cap = cap;
    }
    char **row = t->cells + t->n_rows * t->n_cols;
    for (size_t i = 0; i < t->n_cols; i++) {
        row[i] = cell_copy(cells && cells[i] ? cells[i] : "-");
        if (!row[i]) {
            for (size_t j = 0; j < i; j++) {
                free(row[j]);
            }
            return false;
        }
    }
    t->n_rows++;
    return true;
}

size_t cli_table_rows(const cli_table_t *t)
{
    return t && t->n_rows ? t->n_rows - 1 : 0;
}

void cli_table_print(const cli_table_t *t, FILE *out)
{
    if (!t) {
        return;
    }
    int *w = calloc(t->n_cols ? t->n_cols : 1, sizeof *w);
    if (!w) {
        return;
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < t->n_cols; c++) {
            int cw = cli_width(t->cells[r * t->n_cols + c]);
            w[c] = cw > w[c] ? cw : w[c];
        }
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < t->n_cols; c++) {
            const char *s = t->cells[r * t->n_cols + c];
            bool last = c + 1 == t->n_cols;
            if (last && t->align[c] != 'r') {
                fputs(s, out);
            } else {
                cli_pad(out, s, w[c], t->align[c] == 'r');
            }
            if (!last) {
                fputs("  ", out);
            }
        }
        fputc('\n', out);
    }
    free(w);
}

void cli_table_free(cli_table_t **t_p)
{
    cli_table_t *t = *t_p;
    if (!t) {
        return;
    }
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++) {
        free(t->cells[i]);
    }
    free(t->cells);
    free(t->align);
    free(t);
    *t_p = NULL;
}

/* ---- progress --------------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cli_progress_force(bool on)
{
    progress_forced = on ? 1 : 0;
}

void cli_progress_start(cli_progress_t *p, const char *label, uint64_t total, bool bytes)
{
    memset(p, 0, sizeof *p);
    p->label = label;
    p->total = total;
    p->bytes = bytes;
    p->on = progress_forced >= 0 ? progress_forced == 1 : isatty(STDERR_FILENO) == 1;
    p->t0_ms = mono_ms();
}

static void draw(cli_progress_t *p, int64_t now)
{
    enum { BAR = 24 };
    char bar[BAR + 1], pct[16] = "", amount[96] = "", rate[32] = "", eta[64] = "";
    double f = p->total ? (double)p->done / (double)p->total : 0;
    f = f > 1 ? 1 : f;
    int full = (int)(f * BAR + 0.5);
    for (int i = 0; i < BAR; i++) {
        bar[i] = i < full ? '#' : '.';
    }
    bar[BAR] = '\0';
    if (p->total) {
        snprintf(pct, sizeof pct, "%3d%%", (int)(f * 100));
    }
    double secs = (double)(now - p->t0_ms) / 1000.0;
    if (p->bytes) {
        char d[16], t[16];
        cli_size(p->done, d, sizeof d);
        cli_size(p->total, t, sizeof t);
        snprintf(amount, sizeof amount, "  %s%s%s", d, p->total ? " of " : "", p->total ? t : "");
        if (secs > 0.5) {
            char r[16];
            cli_size((uint64_t)((double)p->done / secs), r, sizeof r);
            snprintf(rate, sizeof rate, "  %s/s", r);
        }
    } else {
        snprintf(amount, sizeof amount, "  %llu%s%.0llu", (unsigned long long)p->done,
                 p->total ? " of " : "", (unsigned long long)p->total);
    }
    if (p->total && p->done > 0 && p->done < p->total && secs > 0.5) {
        char e[48];
        double left = secs * (double)(p->total - p->done) / (double)p->done;
        int64_t s = (int64_t)left;
        snprintf(e, sizeof e, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
        snprintf(eta, sizeof eta, "  ETA %s", e);
    }
    fprintf(stderr, "\r%s [%s] %s%s%s%s\033[K", p->label ? p->label : "", bar, pct, amount, rate,
            eta);
    fflush(stderr);
    p->drawn = true;
    p->last_ms = now;
}

void cli_progress_set(cli_progress_t *p, uint64_t done)
{
    p->done = done;
    if (!p->on) {
        return;
    }
    int64_t now = mono_ms();
    if (!p->drawn || now - p->last_ms >= 100) {
        draw(p, now);
    }
}

void cli_progress_total(cli_progress_t *p, uint64_t total)
{
    p->total = total;
}

void cli_progress_end(cli_progress_t *p)
{
    if (!p->on) {
        return;
    }
    draw(p, mono_ms());
    fputc('\n', stderr);
    fflush(stderr);
    p->drawn = false;
}
