/* log: one line per event on stderr, filtered by level.
 *
 * Lines read `TIME LEVEL event key=value ...`. Logging is for events
 * (connect, join, leave, drop, bad input, start, stop), never for per-tick
 * or per-message work. */
#ifndef TW_LOG_H
#define TW_LOG_H

typedef enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG } log_level;

void log_set_level(log_level level);
int log_enabled(log_level level);
/* Parses "error", "warn", "info", "debug"; returns -1 when unknown. */
int log_level_parse(const char *s);
/* event: a short name; fmt: "key=value" pairs, printf-style. */
void log_event(log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
