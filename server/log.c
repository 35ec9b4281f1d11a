/* log: see log.h. Level and format are process-wide configuration set once
 * at startup, before the event loop runs. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static log_level g_level = LOG_INFO;
static log_format g_format = LOG_JSON;
static const char *const NAMES[] = {"error", "warn", "info", "debug"};
static log_sink_fn g_sink;
static void *g_sink_user;

void log_set_sink(log_sink_fn fn, void *user)
{
    g_sink = fn;
    g_sink_user = user;
}

void log_set_level(log_level level)
{
    g_level = level;
}

void log_set_format(log_format format)
{
    g_format = format;
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

int log_format_parse(const char *s)
{
    return strcmp(s, "json") == 0 ? LOG_JSON : strcmp(s, "text") == 0 ? LOG_TEXT : -1;
}

const char *log_quote(const char *s, char *buf, size_t len)
{
    size_t o = 0;
    for (; *s && o + 3 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            continue;
        if (c == '"' || c == '\\')
            buf[o++] = '\\';
        buf[o++] = (char)c;
    }
    buf[o] = '\0';
    return buf;
}

/* Appends a JSON string body (no quotes) for src[0..n), escaping as needed. */
static size_t json_str(char *out, size_t cap, const char *src, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 7 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    return o;
}

static int is_number(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    char tmp[64];
    if (n >= sizeof tmp)
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    strtod(tmp, &end);
    return *end == '\0' && (tmp[0] == '-' || (tmp[0] >= '0' && tmp[0] <= '9'));
}

/* key=value pairs -> ,"key":value ... */
static void kv_to_json(const char *kv, char *out, size_t cap)
{
    size_t o = 0;
    const char *p = kv;
    char val[512];
    while (*p && o + 16 < cap) {
        while (*p == ' ')
            p++;
        const char *eq = strchr(p, '=');
        if (!*p || !eq)
            break;
        size_t klen = (size_t)(eq - p);
        const char *v = eq + 1;
        size_t vlen = 0;
        int quoted = *v == '"';
        if (quoted) {
            v++;
            while (*v && *v != '"' && vlen + 1 < sizeof val) {
                if (*v == '\\' && v[1])
                    v++;
                val[vlen++] = *v++;
            }
            p = *v ? v + 1 : v;
        } else {
            while (*v && *v != ' ' && vlen + 1 < sizeof val)
                val[vlen++] = *v++;
            p = v;
        }
        out[o++] = ',';
        out[o++] = '"';
        o += json_str(out + o, cap - o, eq - klen, klen);
        out[o++] = '"';
        out[o++] = ':';
        if (!quoted && is_number(val, vlen)) {
            memcpy(out + o, val, vlen);
            o += vlen;
        } else {
            out[o++] = '"';
            o += json_str(out + o, cap - o, val, vlen);
            out[o++] = '"';
        }
    }
    out[o] = '\0';
}

/* One line: kv ("key=value ...") and, when key is set, key=json last. */
static void emit(log_level level, const char *event, const char *kv, const char *key, const char *json)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[64];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    const char *sep = key && *kv ? " " : "";
    if (g_sink) {
        size_t n = key ? strlen(kv) + strlen(key) + strlen(json) + 3 : 0;
        char *all = n ? malloc(n) : NULL;
        if (all)
            snprintf(all, n, "%s%s%s=%s", kv, sep, key, json);
        g_sink(g_sink_user, level, event, all ? all : kv);
        free(all);
    } else if (g_format == LOG_TEXT) {
        if (key)
            fprintf(stderr, "%s %-5s %s %s%s%s=%s\n", when, NAMES[level], event, kv, sep, key, json);
        else
            fprintf(stderr, "%s %-5s %s %s\n", when, NAMES[level], event, kv);
    } else {
        char fields[2048];
        kv_to_json(kv, fields, sizeof fields);
        if (key)
            fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\",\"event\":\"%s\"%s,\"%s\":%s}\n", when,
                    NAMES[level], event, fields, key, json);
        else
            fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\",\"event\":\"%s\"%s}\n", when, NAMES[level],
                    event, fields);
    }
}

void log_event(log_level level, const char *event, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char kv[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(kv, sizeof kv, fmt, ap);
    va_end(ap);
    emit(level, event, kv, NULL, NULL);
}

void log_event_json(log_level level, const char *event, const char *key, const char *json, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char kv[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(kv, sizeof kv, fmt, ap);
    va_end(ap);
    emit(level, event, kv, key, json);
}

int log_ratelimit_pass(log_ratelimit *rl, int64_t now_us, uint64_t *held)
{
    int64_t interval = rl->interval_us > 0 ? rl->interval_us : LOG_RATELIMIT_DEFAULT_US;
    if (rl->started && now_us - rl->last_us < interval) {
        rl->held++;
        return 0;
    }
    if (held)
        *held = rl->held;
    rl->held = 0;
    rl->last_us = now_us;
    rl->started = 1;
    return 1;
}
