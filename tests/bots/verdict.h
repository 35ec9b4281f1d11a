/* verdict: whether a load test met its targets. Each check compares one
 * figure of the finished run with a target (a bound the figure must not
 * cross) and says pass, fail, not measured (the figure is missing, e.g. no
 * /metrics) or not judged (no target: switched off, or RTT to a host that
 * is not loopback without an explicit target). The run passes when no
 * check fails. The text, JSON and HTML reports print the same checks;
 * --fail-on-miss turns a failed verdict into exit status 3.
 *
 * Targets are set with `--target NAME=VALUE` (or NAME=off); a zeroed
 * verdict_targets means every default. Defaults that depend on the run
 * (the tick period, the added network delay) are computed at judgement
 * time from verdict_context. Pure: no I/O, no clock. */
#ifndef TW_BOTS_VERDICT_H
#define TW_BOTS_VERDICT_H

#include <stddef.h>
#include <stdio.h>

typedef enum verdict_id {
    VERDICT_CONNECTED,        /* most bots in a match at once, % of --bots: >= 100 */
    VERDICT_SNAPSHOTS,        /* snapshots received / expected, all bots, %: >= 99 */
    VERDICT_BOTS_BELOW,       /* bots that got < 99% of their snapshots, % of bots: <= 0 */
    VERDICT_RTT_P99,          /* input->ack RTT p99, ms: <= ack_ms + 1 ms + added delay */
    VERDICT_MISSED_TICKS,     /* server ticks skipped after a stall: <= 0 */
    VERDICT_TICK_P99,         /* server tick duration p99, ms: <= one tick period */
    VERDICT_CORRECTIONS,      /* prediction corrections (not those from a pre-join snapshot): <= 0 */
    VERDICT_DISCONNECTS,      /* disconnects the bots did not ask for: <= 0 */
    VERDICT_EVENTS_LOST,      /* reliable events lost: <= 0 */
    VERDICT_RESUMED_OTHER,    /* chaos: resumes that got another player: <= 0 */
    VERDICT_SPECTATOR_SNAPSHOTS, /* spectator snapshots received / expected at the spectator rate, %: >= 99
                                  * (judged only with --spectators) */
    VERDICT_N
} verdict_id;

typedef enum verdict_status {
    VERDICT_PASS,
    VERDICT_FAIL,
    VERDICT_UNMEASURED,       /* no figure (e.g. the server has no /metrics) */
    VERDICT_UNJUDGED          /* no target */
} verdict_status;

/* Targets from the command line. Zero means default for every entry. */
typedef struct verdict_targets {
    double value[VERDICT_N];
    unsigned char set[VERDICT_N];  /* value[] given by --target */
    unsigned char off[VERDICT_N];  /* --target NAME=off */
} verdict_targets;

/* What the defaults depend on. */
typedef struct verdict_context {
    double tick_ms;           /* 1000 / tick rate; <= 0 when unknown */
    double ack_ms;            /* the longer of a tick and a snapshot interval: the
                               * most an input waits on loopback for its ack */
    double added_rtt_ms;      /* largest round trip added by --latency-ms/--jitter-ms */
    int loopback;             /* the server is on this machine */
    int spectators;           /* the run had spectators (else their check is not judged) */
} verdict_context;

/* One figure per check; NaN when it was not measured. */
typedef struct verdict_figures {
    double v[VERDICT_N];
} verdict_figures;

typedef struct verdict_check {
    verdict_status status;
    double value, target;     /* target NaN when unjudged */
    int custom;               /* the target came from --target */
} verdict_check;

typedef struct verdict {
    verdict_check c[VERDICT_N];
    int passed, failed, unmeasured, unjudged;
    int pass;                 /* 1: no check failed */
} verdict;

/* Judges every figure against its target. */
void verdict_judge(const verdict_targets *t, const verdict_context *ctx, const verdict_figures *f, verdict *out);

/* Parses "NAME=VALUE" or "NAME=off" into t. Returns 0, or -1 with the
 * reason in err (unknown name, not a number, out of range). */
int verdict_target_parse(verdict_targets *t, const char *arg, char *err, size_t errlen);

/* The target names, their defaults and meaning, for --help. */
void verdict_usage(FILE *out);

/* Naming and printing: the flag name ("rtt_p99_ms"), the label for people
 * ("input->ack RTT p99"), the unit ("ms", "%", "" for counts), and the
 * comparison ("<=" or ">="). */
const char *verdict_name(verdict_id id);
const char *verdict_label(verdict_id id);
const char *verdict_unit(verdict_id id);
const char *verdict_op(verdict_id id);
const char *verdict_status_name(verdict_status s); /* "pass", "fail", "not_measured", "not_judged" */

/* The figure or target with its unit, e.g. "17.7 ms", "99.2%", "0". */
void verdict_format(verdict_id id, double v, char *buf, size_t cap);

#endif
