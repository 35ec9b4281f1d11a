/* log: see log.h. The level is process-wide configuration set once at
 * startup, the only mutable global of the server besides signal flags. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static log_level g_level = LOG_INFO;
static const char *const NAMES[] = {"error", "warn", "info", "debug"};

void log_set_level(log_level level)
{
    g_level = level;
}

int log_enabled(log_level level)
{
    return level <= g_level;
}

int log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, NAMES[i]) == 0)
            return i;
    return -1;
}

void log_event(log_level level, const char *event, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[1024];
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, NAMES[level], event);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
