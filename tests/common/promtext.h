/* promtext: a strict reader of the Prometheus text exposition format
 * (version 0.0.4), for the tests that scrape /metrics or render it.
 *
 * promtext_parse reads every line and refuses the text at the first one
 * that breaks a rule, with its line number and why:
 *   - lines end in \n; no blank lines; no blanks before or after a line;
 *   - `# HELP name text` (escapes \\ and \n only) and `# TYPE name type`
 *     (counter, gauge, histogram, summary, untyped), each at most once per
 *     family and before its first sample; other `# ` lines are comments;
 *   - `name{label="value",...} value [timestamp]`: names and label names
 *     by the format's character rules, label values with \\, \" and \n
 *     escapes only, no label name twice, one blank between the parts, the
 *     value a Go float (NaN, +Inf, -Inf too), the timestamp an integer;
 *   - every sample belongs to a family with a TYPE (a histogram's are
 *     _bucket with le, _sum and _count; a summary's the name, _sum and
 *     _count), a family's lines are together, no series twice;
 * and, once all is read:
 *   - every family has a HELP; a counter's name ends in _total, its values
 *     are >= 0;
 *   - a histogram, per label set: buckets with rising le, counts that
 *     never fall, a +Inf bucket equal to _count, and a _sum.
 * Stricter than Prometheus itself (blank lines, HELP, _total), as our
 * server's text should be.
 *
 * Costs O(samples^2) for the duplicate check: fine for a few thousand.
 * Not for: computing quantiles or rates (tests/bots/prom.h does that). */
#ifndef TW_TEST_PROMTEXT_H
#define TW_TEST_PROMTEXT_H

#include <stddef.h>

#define PROMTEXT_NAME_MAX 128
#define PROMTEXT_KEY_MAX 384

typedef struct promtext_family {
    char name[PROMTEXT_NAME_MAX];
    char type[16];          /* "counter", "gauge", "histogram", "summary", "untyped" */
    int has_help, has_type;
    int nsamples;
} promtext_family;

typedef struct promtext_sample {
    char key[PROMTEXT_KEY_MAX];  /* name{labels sorted by name, values escaped}, or the name alone */
    char name[PROMTEXT_NAME_MAX];
    int family;                  /* index into families */
    double value;
} promtext_sample;

typedef struct promtext {
    promtext_family *families;
    int nfamilies;
    promtext_sample *samples;
    int nsamples;
    char err[256];               /* why promtext_parse refused the text */
} promtext;

/* Parses and checks text (NUL-terminated). 0, or -1 with p->err set. The
 * caller zeroes p first and calls promtext_free after either. */
int promtext_parse(promtext *p, const char *text);
void promtext_free(promtext *p);

/* The family called name, NULL when none. */
const promtext_family *promtext_family_of(const promtext *p, const char *name);

/* The value of a series written `name` or `name{a="x",b="y"}` (labels in
 * any order); NAN when absent or when series does not parse. */
double promtext_value(const promtext *p, const char *series);

/* How many samples have this metric name (e.g. a labelled counter's
 * series, a histogram's name_bucket). */
int promtext_count(const promtext *p, const char *name);

#endif
