/* verdict: see verdict.h. */
#include "verdict.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { AT_MOST, AT_LEAST };

/* Defaults that are plain numbers; the run-dependent ones are NaN here and
 * computed in default_target. */
typedef struct meta {
    const char *name, *label, *unit;
    int dir;
    double def;
    double lo, hi;            /* range of --target values */
    const char *help;
} meta;

static const meta META[VERDICT_N] = {
    [VERDICT_CONNECTED] = {"connected_pct", "bots in a match", "%", AT_LEAST, 100, 0, 100,
                           "most bots in a match at once, % of --bots (default 100)"},
    [VERDICT_SNAPSHOTS] = {"snapshots_pct", "snapshot delivery, all bots", "%", AT_LEAST, 99, 0, 100,
                           "snapshots received / expected over all bots, % (default 99)"},
    [VERDICT_BOTS_BELOW] = {"bots_below_99_pct", "share of bots under 99% of their snapshots", "%", AT_MOST, 0, 0, 100,
                            "share of the bots that got < 99% of their snapshots, % (default 0)"},
    [VERDICT_RTT_P99] = {"rtt_p99_ms", "input->ack RTT p99", "ms", AT_MOST, NAN, 0, 60000,
                         "input->ack round trip p99, ms (default: one tick, or one\n"
                         "                            snapshot interval if longer, + 1 ms + the round trip\n"
                         "                            --latency-ms/--jitter-ms add; not judged unless given\n"
                         "                            when the server is not on loopback)"},
    [VERDICT_MISSED_TICKS] = {"missed_ticks", "server missed ticks", "", AT_MOST, 0, 0, 1e12,
                              "ticks the server skipped after a stall (default 0)"},
    [VERDICT_TICK_P99] = {"tick_p99_ms", "server tick duration p99", "ms", AT_MOST, NAN, 0, 60000,
                          "the server's work per tick, p99, ms (default: one tick period)"},
    [VERDICT_CORRECTIONS] = {"corrections", "prediction corrections", "", AT_MOST, 0, 0, 1e12,
                             "corrections, not counting those from a snapshot older\n"
                             "                            than the join (default 0)"},
    [VERDICT_DISCONNECTS] = {"disconnects", "disconnects", "", AT_MOST, 0, 0, 1e12,
                             "disconnects the bots did not ask for (default 0)"},
    [VERDICT_EVENTS_LOST] = {"events_lost", "reliable events lost", "", AT_MOST, 0, 0, 1e12,
                             "reliable events (kills, chat, rounds) lost (default 0)"},
    [VERDICT_RESUMED_OTHER] = {"resumed_as_other", "resumes as another player", "", AT_MOST, 0, 0, 1e12,
                               "chaos: resumes that got another player back (default 0)"},
    [VERDICT_SPECTATOR_SNAPSHOTS] = {"spectator_snapshots_pct", "snapshot delivery, spectators", "%", AT_LEAST, 99, 0,
                                     100, "spectator snapshots received / expected at the spectator\n"
                                          "                            rate over the time each was connected, % (default\n"
                                          "                            99; judged with --spectators only)"},
};

const char *verdict_name(verdict_id id)
{
    return META[id].name;
}

const char *verdict_label(verdict_id id)
{
    return META[id].label;
}

const char *verdict_unit(verdict_id id)
{
    return META[id].unit;
}

const char *verdict_op(verdict_id id)
{
    return META[id].dir == AT_MOST ? "<=" : ">=";
}

const char *verdict_status_name(verdict_status s)
{
    static const char *const N[] = {"pass", "fail", "not_measured", "not_judged"};
    return (unsigned)s < 4 ? N[s] : "?";
}

void verdict_format(verdict_id id, double v, char *buf, size_t cap)
{
    const char *u = META[id].unit;
    if (isnan(v) || isinf(v))
        snprintf(buf, cap, "n/a");
    else if (!u[0])
        snprintf(buf, cap, "%.0f", v);
    else if (strcmp(u, "%") == 0)
        snprintf(buf, cap, v == floor(v) ? "%.0f%%" : fabs(v) >= 1 ? "%.1f%%" : "%.2f%%", v);
    else
        snprintf(buf, cap, fabs(v) >= 10 ? "%.1f %s" : "%.2f %s", v, u);
}

/* NaN: no default (not judged). */
static double default_target(verdict_id id, const verdict_context *ctx)
{
    switch (id) {
    case VERDICT_RTT_P99:
        return ctx->loopback && ctx->ack_ms > 0 ? ctx->ack_ms + 1.0 + ctx->added_rtt_ms : NAN;
    case VERDICT_TICK_P99:
        return ctx->tick_ms > 0 ? ctx->tick_ms : NAN;
    case VERDICT_SPECTATOR_SNAPSHOTS:
        return ctx->spectators ? META[id].def : NAN;
    default:
        return META[id].def;
    }
}

void verdict_judge(const verdict_targets *t, const verdict_context *ctx, const verdict_figures *f, verdict *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < VERDICT_N; i++) {
        verdict_check *c = &out->c[i];
        c->value = f->v[i];
        c->custom = t->set[i] || t->off[i];
        c->target = t->off[i] ? NAN : t->set[i] ? t->value[i] : default_target((verdict_id)i, ctx);
        if (isnan(c->target))
            c->status = VERDICT_UNJUDGED;
        else if (isnan(c->value))
            c->status = VERDICT_UNMEASURED;
        else if (META[i].dir == AT_MOST)
            c->status = c->value <= c->target ? VERDICT_PASS : VERDICT_FAIL;
        else
            c->status = c->value >= c->target ? VERDICT_PASS : VERDICT_FAIL;
        out->passed += c->status == VERDICT_PASS;
        out->failed += c->status == VERDICT_FAIL;
        out->unmeasured += c->status == VERDICT_UNMEASURED;
        out->unjudged += c->status == VERDICT_UNJUDGED;
    }
    out->pass = out->failed == 0;
}

int verdict_target_parse(verdict_targets *t, const char *arg, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
    int id = 0;
    while (id < VERDICT_N && !(strlen(META[id].name) == nl && strncmp(arg, META[id].name, nl) == 0))
        id++;
    if (id == VERDICT_N) {
        snprintf(err, errlen, "--target: unknown figure '%.*s' (see --help)", (int)nl, arg);
        return -1;
    }
    if (!eq || !eq[1]) {
        snprintf(err, errlen, "--target: '%s' wants NAME=VALUE or NAME=off", arg);
        return -1;
    }
    if (strcmp(eq + 1, "off") == 0) {
        t->off[id] = 1;
        t->set[id] = 0;
        return 0;
    }
    char *end;
    double v = strtod(eq + 1, &end);
    if (end == eq + 1 || *end || !(v >= META[id].lo && v <= META[id].hi)) {
        snprintf(err, errlen, "--target: %s must be a number in %g..%g or off, not '%s'", META[id].name, META[id].lo,
                 META[id].hi, eq + 1);
        return -1;
    }
    t->value[id] = v;
    t->set[id] = 1;
    t->off[id] = 0;
    return 0;
}

void verdict_usage(FILE *out)
{
    for (int i = 0; i < VERDICT_N; i++)
        fprintf(out, "      %-18s %s %s\n", META[i].name, verdict_op((verdict_id)i), META[i].help);
}
