/* prom: see prom.h. */
#include "prom.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Prometheus text ------------------------------------------------------ */

static int is_name_start(int c)
{
    return isalpha(c) || c == '_' || c == ':';
}

static int is_name_char(int c)
{
    return isalnum(c) || c == '_' || c == ':';
}

static int push(prom_set *s, const char *key, double v)
{
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 64;
        prom_sample *ns = realloc(s->s, (size_t)nc * sizeof *ns);
        if (!ns)
            return -1;
        s->s = ns;
        s->cap = nc;
    }
    snprintf(s->s[s->n].key, PROM_KEY_MAX, "%s", key);
    s->s[s->n].value = v;
    s->n++;
    return 0;
}

/* Parses one sample line [p, e) into key and value. 0 or -1 with why. */
static int parse_line(const char *p, const char *e, char *key, double *value, const char **why)
{
    size_t k = 0;
    if (!is_name_start((unsigned char)*p)) {
        *why = "a sample line must start with a metric name";
        return -1;
    }
    while (p < e && is_name_char((unsigned char)*p) && k < PROM_KEY_MAX - 1)
        key[k++] = *p++;
    if (p < e && *p == '{') {
        int quoted = 0;
        while (p < e && k < PROM_KEY_MAX - 1) {
            char c = *p++;
            if (quoted && c == '\\' && p < e) {
                key[k++] = c;
                c = *p++;
            } else if (c == '"') {
                quoted = !quoted;
            } else if (!quoted && (c == ' ' || c == '\t')) {
                continue;
            }
            key[k++] = c;
            if (!quoted && c == '}')
                break;
        }
        if (k == 0 || key[k - 1] != '}') {
            *why = "unterminated label set";
            return -1;
        }
    }
    key[k] = '\0';
    if (p >= e || (*p != ' ' && *p != '\t')) {
        *why = "expected a blank and a value after the name";
        return -1;
    }
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    char num[64];
    size_t nl = 0;
    while (p < e && *p != ' ' && *p != '\t' && nl < sizeof num - 1)
        num[nl++] = *p++;
    num[nl] = '\0';
    char *end;
    *value = strtod(num, &end);
    if (nl == 0 || *end != '\0') {
        *why = "the value is not a number";
        return -1;
    }
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    if (p < e) { /* optional integer timestamp */
        char *tend;
        strtoll(p, &tend, 10);
        while (tend < e && (*tend == ' ' || *tend == '\t'))
            tend++;
        if (tend == p || tend != e) {
            *why = "unexpected text after the value";
            return -1;
        }
    }
    return 0;
}

int prom_parse(const char *text, size_t len, prom_set *out, char *err, size_t errlen)
{
    const char *p = text, *end = text + len;
    int line = 0;
    while (p < end) {
        line++;
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            e = end;
        const char *le = e;
        if (le > p && le[-1] == '\r')
            le--;
        const char *q = p;
        while (q < le && (*q == ' ' || *q == '\t'))
            q++;
        if (q < le && *q != '#') {
            char key[PROM_KEY_MAX];
            double v;
            const char *why = "";
            if (parse_line(q, le, key, &v, &why)) {
                snprintf(err, errlen, "line %d: %s: '%.*s'", line, why, (int)(le - p > 80 ? 80 : le - p), p);
                return -1;
            }
            if (push(out, key, v)) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
        }
        p = e + 1;
    }
    return 0;
}

void prom_free(prom_set *s)
{
    free(s->s);
    memset(s, 0, sizeof *s);
}

double prom_get(const prom_set *s, const char *key)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->s[i].key, key) == 0)
            return s->s[i].value;
    return NAN;
}

typedef struct bucket {
    double le, count;
} bucket;

static int cmp_bucket(const void *a, const void *b)
{
    double x = ((const bucket *)a)->le, y = ((const bucket *)b)->le;
    return x < y ? -1 : x > y;
}

/* The `le` bound of a bucket key `<name>_bucket{...le="X"...}`, or -1. */
static int bucket_le(const char *key, const char *prefix, double *le)
{
    size_t pl = strlen(prefix);
    if (strncmp(key, prefix, pl) != 0 || key[pl] != '{')
        return -1;
    const char *l = strstr(key + pl, "le=\"");
    if (!l)
        return -1;
    char *end;
    *le = strtod(l + 4, &end);
    return end == l + 4 || *end != '"' ? -1 : 0;
}

double prom_hist_quantile(const prom_set *start, const prom_set *end, const char *name, double q)
{
    char prefix[PROM_KEY_MAX];
    snprintf(prefix, sizeof prefix, "%s_bucket", name);
    bucket bs[64];
    int nb = 0;
    for (int i = 0; i < end->n && nb < 64; i++) {
        double le;
        if (bucket_le(end->s[i].key, prefix, &le))
            continue;
        double before = start ? prom_get(start, end->s[i].key) : 0;
        bs[nb].le = le;
        bs[nb].count = end->s[i].value - (isnan(before) ? 0 : before);
        nb++;
    }
    if (nb == 0)
        return NAN;
    qsort(bs, (size_t)nb, sizeof bs[0], cmp_bucket);
    double total = bs[nb - 1].count; /* +Inf bucket: everything */
    if (!(total > 0))
        return NAN;
    double rank = q * total, prev_le = 0, prev_count = 0;
    for (int i = 0; i < nb; i++) {
        if (bs[i].count >= rank) {
            if (isinf(bs[i].le))
                return prev_le; /* beyond the largest finite bound */
            double in_bucket = bs[i].count - prev_count;
            double frac = in_bucket > 0 ? (rank - prev_count) / in_bucket : 1;
            return prev_le + (bs[i].le - prev_le) * frac;
        }
        prev_le = bs[i].le;
        prev_count = bs[i].count;
    }
    return prev_le;
}

static double delta(const prom_set *a, const prom_set *b, const char *key)
{
    return prom_get(b, key) - prom_get(a, key); /* NaN if either is missing */
}

void prom_window_compute(const prom_set *start, const prom_set *end, double seconds, prom_window *w)
{
    w->seconds = seconds;
    w->snapshot_bytes = delta(start, end, "tickwire_snapshot_bytes_total");
    w->snapshot_messages = delta(start, end, "tickwire_snapshot_messages_total");
    w->input_messages = delta(start, end, "tickwire_input_messages_total");
    w->ticks = delta(start, end, "tickwire_ticks_total");
    w->missed_ticks = delta(start, end, "tickwire_missed_ticks_total");
    w->tick_overruns = delta(start, end, "tickwire_tick_overruns_total");
    w->snapshots_skipped = delta(start, end, "tickwire_snapshots_skipped_total");
    w->cpu_seconds = delta(start, end, "process_cpu_seconds_total");
    w->resident_memory_bytes = prom_get(end, "process_resident_memory_bytes");
    w->connections = prom_get(end, "tickwire_connections");
    w->joins = delta(start, end, "tickwire_joins_total");
    w->leaves = delta(start, end, "tickwire_leaves_total");
    w->holds = delta(start, end, "tickwire_holds_total");
    w->resumes = delta(start, end, "tickwire_resumes_total");
    w->holds_expired = delta(start, end, "tickwire_holds_expired_total");
    w->auth_refusals = delta(start, end, "tickwire_bad_messages_total{reason=\"auth\"}");
    w->tick_count = delta(start, end, "tickwire_tick_duration_seconds_count");
    w->tick_sum_s = delta(start, end, "tickwire_tick_duration_seconds_sum");
    w->tick_p50_s = prom_hist_quantile(start, end, "tickwire_tick_duration_seconds", 0.50);
    w->tick_p99_s = prom_hist_quantile(start, end, "tickwire_tick_duration_seconds", 0.99);
    w->backlog_p99 = prom_hist_quantile(start, end, "tickwire_input_queue_depth", 0.99);
    w->backlog_max = prom_get(end, "tickwire_input_queue_depth_max");
    w->shots = delta(start, end, "tickwire_shots_total");
    w->hits = delta(start, end, "tickwire_hits_total");
    w->kills = delta(start, end, "tickwire_kills_total");
    w->unlag_clamped = delta(start, end, "tickwire_unlag_clamped_total");
}
