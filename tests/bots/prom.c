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
    const char *l = key + pl;
    while ((l = strstr(l, "le=\"")) && l[-1] != '{' && l[-1] != ',')
        l++; /* another label ending in "le" (handle="...") */
    if (!l)
        return -1;
    char *end;
    *le = strtod(l + 4, &end);
    return end == l + 4 || *end != '"' ? -1 : 0;
}

double prom_bucket_quantile(const double *le, const double *cum, int n, double q)
{
    if (n < 1 || !(cum[n - 1] > 0))
        return NAN;
    for (int i = 1; i < n; i++)
        if (cum[i] < cum[i - 1] || !(le[i] > le[i - 1]))
            return NAN;
    double rank = q * cum[n - 1];
    for (int i = 0; i < n; i++) {
        if (cum[i] < rank)
            continue;
        if (isinf(le[i]))
            return i > 0 ? le[i - 1] : NAN; /* beyond the largest finite bound */
        if (i == 0 && le[0] <= 0)
            return le[0];
        double lo = i > 0 ? le[i - 1] : 0, below = i > 0 ? cum[i - 1] : 0;
        double in_bucket = cum[i] - below;
        double frac = in_bucket > 0 ? (rank - below) / in_bucket : 1;
        return lo + (le[i] - lo) * frac;
    }
    return NAN; /* not reached: cum[n - 1] >= rank */
}

double prom_hist_quantile(const prom_set *start, const prom_set *end, const char *name, double q)
{
    char prefix[PROM_KEY_MAX];
    snprintf(prefix, sizeof prefix, "%s_bucket", name);
    bucket *bs = NULL;
    int nb = 0, cap = 0;
    double result = NAN;
    for (int i = 0; i < end->n; i++) {
        double le;
        if (bucket_le(end->s[i].key, prefix, &le))
            continue;
        if (nb == cap) {
            int nc = cap ? cap * 2 : 32;
            bucket *nbs = realloc(bs, (size_t)nc * sizeof *nbs);
            if (!nbs)
                goto out;
            bs = nbs;
            cap = nc;
        }
        double before = start ? prom_get(start, end->s[i].key) : 0;
        bs[nb].le = le;
        bs[nb].count = end->s[i].value - (isnan(before) ? 0 : before);
        if (bs[nb].count < 0)
            goto out; /* a counter went backwards: another server */
        nb++;
    }
    if (nb == 0)
        goto out;
    qsort(bs, (size_t)nb, sizeof bs[0], cmp_bucket);
    double *le = malloc(2 * (size_t)nb * sizeof *le);
    if (!le)
        goto out;
    double *cum = le + nb;
    int n = 0;
    for (int i = 0; i < nb; i++) {
        if (n > 0 && le[n - 1] == bs[i].le) { /* the same bound in other label sets: summed */
            cum[n - 1] += bs[i].count;
            continue;
        }
        le[n] = bs[i].le;
        cum[n++] = bs[i].count;
    }
    result = prom_bucket_quantile(le, cum, n, q);
    free(le);
out:
    free(bs);
    return result;
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
    w->dropped_slow = delta(start, end, "tickwire_clients_dropped_total{reason=\"send_stalled\"}");
    w->sent_bytes = delta(start, end, "tickwire_sent_bytes_total");
    w->received_bytes = delta(start, end, "tickwire_received_bytes_total");
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

/* Adds the window from the baseline to `cur` (taken: it becomes the
 * baseline). A scrape within PROM_SERIES_MIN_S of the baseline is dropped
 * instead: a rate over a few milliseconds (the final scrape right after
 * the last per-second one) says nothing. */
static int series_push(prom_series *s, double t_s, prom_set *cur)
{
    if (s->have_prev && t_s - s->prev_t_s < PROM_SERIES_MIN_S) {
        prom_free(cur);
        return 0;
    }
    int added = 0;
    if (s->have_prev && t_s > s->prev_t_s) {
        if (s->n == s->cap) {
            int nc = s->cap ? s->cap * 2 : 64;
            prom_point *np = realloc(s->p, (size_t)nc * sizeof *np);
            if (np) {
                s->p = np;
                s->cap = nc;
            }
        }
        if (s->n < s->cap) {
            prom_point *pt = &s->p[s->n++];
            pt->t_s = t_s;
            prom_window_compute(&s->prev, cur, t_s - s->prev_t_s, &pt->w);
            added = 1;
        }
    }
    prom_free(&s->prev);
    s->prev = *cur;
    s->prev_t_s = t_s;
    s->have_prev = 1;
    return added;
}

static int set_copy(prom_set *dst, const prom_set *src)
{
    memset(dst, 0, sizeof *dst);
    if (!src->n)
        return 0;
    if (!(dst->s = malloc((size_t)src->n * sizeof *src->s)))
        return -1;
    memcpy(dst->s, src->s, (size_t)src->n * sizeof *src->s);
    dst->n = dst->cap = src->n;
    return 0;
}

int prom_series_add(prom_series *s, double t_s, int status, const char *body, size_t len)
{
    prom_set cur = {0};
    char err[200];
    if (status != 200 || !body || prom_parse(body, len, &cur, err, sizeof err)) {
        s->failed++;
        s->have_prev = 0;
        prom_free(&cur);
        return 0;
    }
    return series_push(s, t_s, &cur);
}

int prom_series_add_set(prom_series *s, double t_s, const prom_set *set)
{
    prom_set cur;
    if (set_copy(&cur, set))
        return -1;
    return series_push(s, t_s, &cur);
}

int prom_series_start(prom_series *s, double t_s, const prom_set *set)
{
    prom_set cur;
    if (set_copy(&cur, set))
        return -1;
    s->have_prev = 0;
    series_push(s, t_s, &cur);
    return 0;
}

void prom_series_free(prom_series *s)
{
    prom_free(&s->prev);
    free(s->p);
    memset(s, 0, sizeof *s);
}
