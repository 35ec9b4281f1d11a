/* log: one line per event on stderr, filtered by level.
 *
 * JSON (default): {"time":"...","level":"info","event":"join","peer":"...",...}
 * text:           TIME LEVEL event key=value ...
 * Callers write fields as `key=value` pairs; a value with spaces or quotes
 * is written "quoted" with \" and \\ escapes (log_quote does that for
 * strings that come from the network). Numbers stay numbers in JSON.
 * Logging is for events (connect, join, leave, drop, bad input, start,
 * stop), never for per-tick or per-message work. Any thread may log: each
 * line is one stdio call (a sink must be thread-safe if it is called from
 * more than one). */
#ifndef TW_LOG_H
#define TW_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG } log_level;
typedef enum log_format { LOG_JSON = 0, LOG_TEXT } log_format;

void log_set_level(log_level level);
void log_set_format(log_format format);
int log_enabled(log_level level);
/* Parses "error", "warn", "info", "debug"; returns -1 when unknown. */
int log_level_parse(const char *s);
/* Parses "json", "text"; returns -1 when unknown. */
int log_format_parse(const char *s);
/* Escapes " and \ and drops control bytes, for use inside "...". */
const char *log_quote(const char *s, char *buf, size_t len);
/* Sends every event that passes the level filter to fn instead of stderr
 * (tests read what the server logs); NULL restores stderr. */
typedef void (*log_sink_fn)(void *user, log_level level, const char *event, const char *kv);
void log_set_sink(log_sink_fn fn, void *user);
/* event: a short name; fmt: "key=value" pairs, printf-style. */
void log_event(log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* log_event plus a last field `key` whose value is a JSON text of any
 * length (a whole record, e.g. a lost game round): embedded as is in JSON
 * lines, key=JSON in text lines and for the sink. Still one line. */
void log_event_json(log_level level, const char *event, const char *key, const char *json, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* log_ratelimit: at most one line per interval for a warning that can
 * repeat (per tick, per message, per connection in a flood); the others
 * are held back and counted, and the next line says how many. Time is a
 * parameter (monotonic microseconds), so a test drives it. Zeroed: a
 * LOG_RATELIMIT_DEFAULT_US interval, the first line goes out. The caller
 * keeps one per event (or per reason) and counts what is held back in
 * its metrics (tickwire_log_suppressed_total). */
#define LOG_RATELIMIT_DEFAULT_US (10 * 1000000LL)
typedef struct log_ratelimit {
    int64_t interval_us;  /* 0: LOG_RATELIMIT_DEFAULT_US */
    int64_t last_us;      /* when the last line went out */
    uint64_t held;        /* held back since then */
    int started;          /* a line went out */
} log_ratelimit;
/* 1: write the line now, with *held (may be NULL) the number held back
 * since the previous one (the count starts again); 0: hold it back
 * (counted). O(1), no I/O. */
int log_ratelimit_pass(log_ratelimit *rl, int64_t now_us, uint64_t *held);

#endif
