/* logging.c: the log sink. */
#include "logging.h"
#include "error.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *program = "fieldtrail";
static log_level current = LOG_INFO;
static const char *names[] = {"error", "warn", "info", "debug"};

void log_set_program(const char *name)
{
    program = name;
}

void log_set_level(log_level level)
{
    current = level;
}

log_level log_get_level(void)
{
    return current;
}

int log_level_parse(const char *text, log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = (log_level)i;
            return FT_OK;
        }
    }
    return FT_EINVAL;
}

void log_msg(log_level level, const char *fmt, ...)
{
    if (level > current) {
        return;
    }
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    utf8_trim(line); /* a long line cut on a whole character */
    /* Whatever the message quotes (a user name, a reason, a peer's text) is
     * one line of text: control characters and invalid bytes as \xNN. */
    char clean[sizeof line * UTF8_ESCAPE_BYTES];
    fprintf(stderr, "%s %s %s: %s\n", stamp, program, names[level],
            utf8_clean(line, clean, sizeof clean));
}
