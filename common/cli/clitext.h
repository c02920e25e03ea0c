/* clitext.h: how the commands print for people (fieldtrail-hub and
 * fieldtrail-edge; --json output is not touched):
 *
 *   - times in local time with their offset, RFC 3339
 *     ("2026-03-02T09:30:00+08:00"; TZ is honoured), or in UTC
 *     ("2026-03-02T01:30:00Z") after --utc, an option every command takes;
 *   - sizes in human units ("4.6 GB", powers of 1024 as the dashboard shows
 *     them), durations as h:mm;
 *   - text measured by its display width (a Chinese character takes two
 *     cells of a terminal), so that a column of unit names lines up and
 *     nothing is cut: tables size each column to what it holds;
 *   - a progress bar on standard error when it is a terminal (nothing
 *     otherwise: scripts and logs see no control characters).
 */
#ifndef FT_CLITEXT_H
#define FT_CLITEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_TIME_TEXT 40

/* --utc: times in UTC from now on (cli_common_opt sets it). */
void cli_set_utc(bool utc);
bool cli_utc(void);

/* ms (Unix milliseconds) as RFC 3339, to the second, in local time with its offset, or UTC
 * ("Z") after --utc; "-" for ms <= 0. */
void cli_time(int64_t ms, char *buf, size_t len);
/* The offset from UTC in minutes that cli_time uses for ms (0 after --utc). */
int32_t cli_utc_offset_min(int64_t ms);
/* bytes as "512 B", "1.5 KB", "4.6 GB" (powers of 1024). */
void cli_size(uint64_t bytes, char *buf, size_t len);
/* ms as h:mm ("0:40", "12:05"), rounded to the minute; "-" below 0. */
void cli_hmm(int64_t ms, char *buf, size_t len);

/* The label staff read for a record type, media kind or device event name
 * ("site_inspection" -> "现场检查（勘验）"), as the dashboard shows it; the
 * name itself when there is none. */
const char *cli_type_label(const char *name);

/* Terminal cells of s: 2 for wide (East Asian) characters, 1 for others,
 * 0 for combining marks; a byte that is not UTF-8 counts 1. */
int cli_width(const char *s);
/* Writes s padded with spaces to width cells (right-aligned if right);
 * never cuts s. */
void cli_pad(FILE *out, const char *s, int width, bool right);

/* A table: rows of cells (copied; control characters as \xNN), printed with each column as wide as
 * its widest cell or header, two spaces apart; align holds 'l' or 'r' per column. The last column
 * is not padded. */
typedef struct cli_table cli_table_t;
cli_table_t *cli_table_new(size_t n_cols, const char *const *headers, const char *align);
/* Adds a row of n_cols cells (NULL = "-"). false out of memory. */
bool cli_table_add(cli_table_t *t, const char *const *cells);
size_t cli_table_rows(const cli_table_t *t);
void cli_table_print(const cli_table_t *t, FILE *out);
void cli_table_free(cli_table_t **t_p);

/* A progress bar on stderr, drawn only when stderr is a terminal, at most
 * ten times a second: "LABEL [#####.....]  52%  2.4 GB of 4.6 GB  94 MB/s
 * ETA 0:01". */
typedef struct {
    const char *label;
    uint64_t total, done;
    bool bytes; /* done and total are bytes (sizes and a rate are shown) */
    bool on;    /* stderr is a terminal */
    bool drawn; /* something is on the line */
    int64_t t0_ms, last_ms;
} cli_progress_t;

void cli_progress_start(cli_progress_t *p, const char *label, uint64_t total, bool bytes);
/* Sets what is done; total may grow (0: unknown). */
void cli_progress_set(cli_progress_t *p, uint64_t done);
void cli_progress_total(cli_progress_t *p, uint64_t total);
/* Draws the final state and ends the line (if anything was drawn). */
void cli_progress_end(cli_progress_t *p);
/* Forces drawing even when stderr is not a terminal (tests). */
void cli_progress_force(bool on);

#endif
