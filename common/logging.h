/* logging.h: leveled diagnostics to stderr (the one mutable global: the sink).
 *
 * Lines look like "2026-11-27T04:46:16Z fieldtrail-edge warn: message".
 * A line is always one line: control characters in the message (a newline
 * or an ESC in a user name, a reason, a peer's text) and bytes that are not
 * UTF-8 are written as \xNN (utf8_clean_to), so nothing quoted can forge a
 * line of its own or drive a terminal.
 */
#ifndef FT_LOGGING_H
#define FT_LOGGING_H

typedef enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 } log_level;

/* Program name shown on each line (borrowed; must outlive logging). */
void log_set_program(const char *name);
void log_set_level(log_level level);
log_level log_get_level(void);
/* Parses "error|warn|info|debug"; returns 0 or FT_EINVAL. */
int log_level_parse(const char *text, log_level *out);

void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
