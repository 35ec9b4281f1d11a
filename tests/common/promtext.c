/* promtext: see promtext.h. */
#include "promtext.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABELS 16

typedef struct label {
    char name[64];
    char value[128]; /* unescaped */
} label;

static int fail(promtext *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(promtext *p, int line, const char *fmt, ...)
{
    int n = line ? snprintf(p->err, sizeof p->err, "line %d: ", line) : 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, sizeof p->err - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static int name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

/* A metric name at *s (colons allowed unless label); advances *s. */
static int read_name(const char **s, char *out, size_t cap, int label_name)
{
    const char *q = *s;
    size_t n = 0;
    if (!name_start(*q) || (label_name && *q == ':'))
        return -1;
    while (name_char(*q) && !(label_name && *q == ':')) {
        if (n + 1 >= cap)
            return -1;
        out[n++] = *q++;
    }
    out[n] = '\0';
    *s = q;
    return 0;
}

/* A Go ParseFloat value as the format allows: NaN, +Inf, -Inf, or a
 * decimal number with an optional exponent. */
static int read_float(const char *s, size_t n, double *v)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (strcmp(buf, "NaN") == 0) {
        *v = NAN;
        return 0;
    }
    if (strcmp(buf, "+Inf") == 0 || strcmp(buf, "-Inf") == 0) {
        *v = buf[0] == '-' ? -INFINITY : INFINITY;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789.eE+-", buf[i]))
            return -1;
    char *end;
    *v = strtod(buf, &end);
    return *end == '\0' ? 0 : -1;
}

/* `{name="value",...}` at *s, unescaping values; advances past '}'. */
static int read_labels(const char **s, label *ls, int *nl, const char **why)
{
    const char *q = *s + 1;
    *nl = 0;
    while (*q != '}') {
        if (*nl == MAX_LABELS) {
            *why = "too many labels";
            return -1;
        }
        label *l = &ls[*nl];
        if (read_name(&q, l->name, sizeof l->name, 1) < 0 || (l->name[0] == '_' && l->name[1] == '_')) {
            *why = "bad label name";
            return -1;
        }
        if (q[0] != '=' || q[1] != '"') {
            *why = "expected =\" after a label name";
            return -1;
        }
        q += 2;
        size_t n = 0;
        while (*q != '"') {
            char c = *q++;
            if (c == '\0' || c == '\n') {
                *why = "unterminated label value";
                return -1;
            }
            if (c == '\\') {
                c = *q++;
                if (c == 'n')
                    c = '\n';
                else if (c != '\\' && c != '"') {
                    *why = "bad escape in a label value";
                    return -1;
                }
            }
            if (n + 1 >= sizeof l->value) {
                *why = "label value too long";
                return -1;
            }
            l->value[n++] = c;
        }
        l->value[n] = '\0';
        q++;
        for (int i = 0; i < *nl; i++)
            if (strcmp(ls[i].name, l->name) == 0) {
                *why = "a label name twice";
                return -1;
            }
        (*nl)++;
        if (*q == ',')
            q++;
        else if (*q != '}') {
            *why = "expected , or } after a label";
            return -1;
        }
    }
    *s = q + 1;
    return 0;
}

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const label *)a)->name, ((const label *)b)->name);
}

/* name{labels sorted, values escaped}, or name; skip: a label left out (le). */
static void make_key(char *key, size_t cap, const char *name, label *ls, int nl, const char *skip)
{
    qsort(ls, (size_t)nl, sizeof *ls, cmp_label);
    size_t o = (size_t)snprintf(key, cap, "%s", name);
    int first = 1;
    for (int i = 0; i < nl && o < cap; i++) {
        if (skip && strcmp(ls[i].name, skip) == 0)
            continue;
        o += (size_t)snprintf(key + o, cap - o, "%s%s=\"", first ? "{" : ",", ls[i].name);
        first = 0;
        for (const char *v = ls[i].value; *v && o + 3 < cap; v++) {
            if (*v == '\\' || *v == '"' || *v == '\n')
                key[o++] = '\\';
            key[o++] = *v == '\n' ? 'n' : *v;
        }
        if (o < cap)
            o += (size_t)snprintf(key + o, cap - o, "\"");
    }
    if (!first && o < cap)
        snprintf(key + o, cap - o, "}");
}

/* Parses `series` (name or name{labels}) into its key; -1 when it does not parse. */
static int series_key(const char *series, char *key, size_t cap, char *name, size_t name_cap, label *ls, int *nl,
                      const char **why)
{
    const char *q = series;
    *nl = 0;
    if (read_name(&q, name, name_cap, 0) < 0) {
        *why = "bad metric name";
        return -1;
    }
    if (*q == '{' && read_labels(&q, ls, nl, why) < 0)
        return -1;
    make_key(key, cap, name, ls, *nl, NULL);
    return (int)(q - series);
}

static int find_family(const promtext *p, const char *name)
{
    for (int i = 0; i < p->nfamilies; i++)
        if (strcmp(p->families[i].name, name) == 0)
            return i;
    return -1;
}

static int add_family(promtext *p, const char *name)
{
    promtext_family *f = realloc(p->families, (size_t)(p->nfamilies + 1) * sizeof *f);
    if (!f)
        return -1;
    p->families = f;
    memset(&f[p->nfamilies], 0, sizeof f[0]);
    snprintf(f[p->nfamilies].name, sizeof f[0].name, "%s", name);
    return p->nfamilies++;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

/* The family a sample called `name` belongs to: itself, or for a
 * histogram or summary, name without _bucket/_sum/_count. */
static int family_of_sample(const promtext *p, const char *name, int *suffix)
{
    static const char *const sfx[] = {"_bucket", "_sum", "_count"};
    *suffix = -1;
    int f = find_family(p, name);
    if (f >= 0 && p->families[f].has_type)
        return f;
    for (int k = 0; k < 3; k++) {
        if (!ends_with(name, sfx[k]))
            continue;
        char base[PROMTEXT_NAME_MAX];
        snprintf(base, sizeof base, "%.*s", (int)(strlen(name) - strlen(sfx[k])), name);
        int b = find_family(p, base);
        if (b >= 0 && (strcmp(p->families[b].type, "histogram") == 0 ||
                       (k > 0 && strcmp(p->families[b].type, "summary") == 0))) {
            *suffix = k;
            return b;
        }
    }
    return -1;
}

static int comment_line(promtext *p, int line, const char *s)
{
    int help = strncmp(s, "# HELP ", 7) == 0, type = strncmp(s, "# TYPE ", 7) == 0;
    if (!help && !type)
        return s[1] == ' ' || s[1] == '\0' ? 0 : fail(p, line, "a comment starts with \"# \"");
    const char *q = s + 7;
    char name[PROMTEXT_NAME_MAX];
    if (read_name(&q, name, sizeof name, 0) < 0 || *q != ' ')
        return fail(p, line, "bad metric name in %s", help ? "HELP" : "TYPE");
    q++;
    int f = find_family(p, name);
    if (f < 0 && (f = add_family(p, name)) < 0)
        return fail(p, line, "out of memory");
    promtext_family *fam = &p->families[f];
    if (fam->nsamples)
        return fail(p, line, "%s of %s after its samples", help ? "HELP" : "TYPE", name);
    if (help) {
        if (fam->has_help)
            return fail(p, line, "a second HELP for %s", name);
        for (const char *c = q; *c; c++)
            if (*c == '\\' && c[1] != '\\' && c[1] != 'n')
                return fail(p, line, "bad escape in HELP of %s", name);
            else if (*c == '\\')
                c++;
        fam->has_help = 1;
        return 0;
    }
    static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
    if (fam->has_type)
        return fail(p, line, "a second TYPE for %s", name);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(q, types[i]) == 0) {
            snprintf(fam->type, sizeof fam->type, "%s", q);
            fam->has_type = 1;
            return 0;
        }
    return fail(p, line, "unknown type \"%s\" for %s", q, name);
}

/* A sample line; *cur: the family of the previous sample (lines of one
 * family stay together). */
static int sample_line(promtext *p, int line, const char *s, int *cur)
{
    label ls[MAX_LABELS];
    int nl;
    const char *why = "";
    char key[PROMTEXT_KEY_MAX], name[PROMTEXT_NAME_MAX];
    int used = series_key(s, key, sizeof key, name, sizeof name, ls, &nl, &why);
    if (used < 0)
        return fail(p, line, "%s", why);
    const char *q = s + used;
    if (*q != ' ')
        return fail(p, line, "expected one blank after %s", name);
    q++;
    const char *sp = strchr(q, ' ');
    double v;
    if (read_float(q, sp ? (size_t)(sp - q) : strlen(q), &v) < 0)
        return fail(p, line, "the value of %s is not a number", key);
    if (sp) {
        char *end;
        strtoll(sp + 1, &end, 10);
        if (end == sp + 1 || *end)
            return fail(p, line, "bad timestamp after %s", key);
    }
    int suffix;
    int f = family_of_sample(p, name, &suffix);
    if (f < 0)
        return fail(p, line, "%s has no TYPE", name);
    if (*cur != f && p->families[f].nsamples)
        return fail(p, line, "the lines of %s are not together", p->families[f].name);
    *cur = f;
    int has_le = 0;
    for (int i = 0; i < nl; i++)
        has_le |= strcmp(ls[i].name, "le") == 0;
    if (suffix == 0 && !has_le)
        return fail(p, line, "a bucket of %s without le", p->families[f].name);
    for (int i = 0; i < p->nsamples; i++)
        if (strcmp(p->samples[i].key, key) == 0)
            return fail(p, line, "%s twice", key);
    promtext_sample *ns = realloc(p->samples, (size_t)(p->nsamples + 1) * sizeof *ns);
    if (!ns)
        return fail(p, line, "out of memory");
    p->samples = ns;
    promtext_sample *smp = &ns[p->nsamples++];
    snprintf(smp->key, sizeof smp->key, "%s", key);
    snprintf(smp->name, sizeof smp->name, "%s", name);
    smp->family = f;
    smp->value = v;
    p->families[f].nsamples++;
    return 0;
}

/* The histogram f, one label set at a time (the key without le). */
static int check_histogram(promtext *p, int f)
{
    const char *base = p->families[f].name;
    char bucket[PROMTEXT_NAME_MAX + 8], sum[PROMTEXT_NAME_MAX + 8], count[PROMTEXT_NAME_MAX + 8];
    snprintf(bucket, sizeof bucket, "%s_bucket", base);
    snprintf(sum, sizeof sum, "%s_sum", base);
    snprintf(count, sizeof count, "%s_count", base);
    for (int i = 0; i < p->nsamples; i++) {
        if (strcmp(p->samples[i].name, count) != 0)
            continue;
        /* this label set: the _count key's labels, with _bucket and _sum */
        const char *labels = p->samples[i].key + strlen(count);
        double prev_le = -INFINITY, prev_count = 0, inf = NAN;
        int nb = 0, have_sum = 0;
        for (int j = 0; j < p->nsamples; j++) {
            const promtext_sample *s = &p->samples[j];
            if (strcmp(s->name, sum) == 0 && strcmp(s->key + strlen(sum), labels) == 0)
                have_sum = 1;
            if (strcmp(s->name, bucket) != 0)
                continue;
            label ls[MAX_LABELS];
            int nl;
            const char *why;
            char key[PROMTEXT_KEY_MAX], name[PROMTEXT_NAME_MAX], rest[PROMTEXT_KEY_MAX];
            series_key(s->key, key, sizeof key, name, sizeof name, ls, &nl, &why);
            const char *le = NULL;
            for (int k = 0; k < nl; k++)
                if (strcmp(ls[k].name, "le") == 0)
                    le = ls[k].value;
            make_key(rest, sizeof rest, "", ls, nl, "le");
            if (!le || strcmp(rest, labels) != 0)
                continue;
            double bound;
            if (read_float(le, strlen(le), &bound) < 0 || isnan(bound))
                return fail(p, 0, "%s: le=\"%s\" is not a bound", s->key, le);
            if (bound <= prev_le)
                return fail(p, 0, "%s: le does not rise", s->key);
            if (s->value < prev_count || isnan(s->value))
                return fail(p, 0, "%s: %g below the bucket before (%g)", s->key, s->value, prev_count);
            prev_le = bound;
            prev_count = s->value;
            if (isinf(bound))
                inf = s->value;
            nb++;
        }
        if (nb == 0 || isnan(inf))
            return fail(p, 0, "%s%s: no +Inf bucket", bucket, labels);
        if (inf != p->samples[i].value)
            return fail(p, 0, "%s%s: +Inf bucket %g != _count %g", base, labels, inf, p->samples[i].value);
        if (!have_sum)
            return fail(p, 0, "%s%s: no _sum", base, labels);
    }
    return 0;
}

static int check_families(promtext *p)
{
    for (int f = 0; f < p->nfamilies; f++) {
        const promtext_family *fam = &p->families[f];
        if (!fam->has_type)
            return fail(p, 0, "%s has a HELP but no TYPE", fam->name);
        if (!fam->has_help)
            return fail(p, 0, "%s has no HELP", fam->name);
        if (strcmp(fam->type, "counter") == 0) {
            if (!ends_with(fam->name, "_total"))
                return fail(p, 0, "counter %s does not end in _total", fam->name);
            for (int i = 0; i < p->nsamples; i++)
                if (p->samples[i].family == f && !(p->samples[i].value >= 0))
                    return fail(p, 0, "counter %s is %g", p->samples[i].key, p->samples[i].value);
        }
        if (strcmp(fam->type, "histogram") == 0 && check_histogram(p, f) < 0)
            return -1;
    }
    return 0;
}

int promtext_parse(promtext *p, const char *text)
{
    int line = 0, cur = -1;
    const char *s = text;
    if (!*s)
        return fail(p, 0, "empty text");
    while (*s) {
        line++;
        const char *eol = strchr(s, '\n');
        if (!eol)
            return fail(p, line, "the last line does not end in \\n");
        size_t n = (size_t)(eol - s);
        char buf[1024];
        if (n >= sizeof buf)
            return fail(p, line, "line too long");
        memcpy(buf, s, n);
        buf[n] = '\0';
        if (n == 0)
            return fail(p, line, "blank line");
        if (buf[0] == ' ' || buf[0] == '\t' || buf[n - 1] == ' ' || buf[n - 1] == '\t' || buf[n - 1] == '\r')
            return fail(p, line, "blanks around the line");
        if ((buf[0] == '#' ? comment_line(p, line, buf) : sample_line(p, line, buf, &cur)) < 0)
            return -1;
        s = eol + 1;
    }
    return check_families(p);
}

void promtext_free(promtext *p)
{
    free(p->families);
    free(p->samples);
    p->families = NULL;
    p->samples = NULL;
    p->nfamilies = p->nsamples = 0;
}

const promtext_family *promtext_family_of(const promtext *p, const char *name)
{
    int f = find_family(p, name);
    return f >= 0 ? &p->families[f] : NULL;
}

double promtext_value(const promtext *p, const char *series)
{
    label ls[MAX_LABELS];
    int nl;
    const char *why;
    char key[PROMTEXT_KEY_MAX], name[PROMTEXT_NAME_MAX];
    int used = series_key(series, key, sizeof key, name, sizeof name, ls, &nl, &why);
    if (used < 0 || series[used])
        return NAN;
    for (int i = 0; i < p->nsamples; i++)
        if (strcmp(p->samples[i].key, key) == 0)
            return p->samples[i].value;
    return NAN;
}

int promtext_count(const promtext *p, const char *name)
{
    int n = 0;
    for (int i = 0; i < p->nsamples; i++)
        n += strcmp(p->samples[i].name, name) == 0;
    return n;
}
