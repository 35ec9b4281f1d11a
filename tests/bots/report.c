/* report: see report.h. */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "behavior.h"

/* Figures derived from the raw result; NaN where undefined. */
typedef struct derived {
    double snapshots_pct;
    double down_Bps_per_bot, up_Bps_per_bot;
    double bytes_per_entity, bytes_per_moving_entity, entities_per_snapshot, moving_per_snapshot;
    double corrections_per_bot_minute;
    double cpu_s, cpu_pct_of_core, cpu_us_per_bot_second;
    double srv_cpu_pct, srv_snapshot_Bps, srv_snapshots_ps, srv_inputs_ps, srv_ticks_ps, srv_tick_mean_ms;
    double rss_growth_pct;    /* end vs all bots in; NaN when either is missing */
    double registered_pct;    /* fight: server hits / screen hits */
    double per_shot_pct;      /* fight: screen hits registered shot by shot / screen hits */
    double alive_pct;         /* fight: registered / (registered + other): both alive on the server */
    char f1[32], f2[32];      /* scratch for fmt */
} derived;

static double ratio(double a, double b)
{
    return b > 0 ? a / b : NAN;
}

static void derive(const report_input *in, derived *d)
{
    const swarm_result *r = in->res;
    memset(d, 0, sizeof *d);
    d->snapshots_pct = 100.0 * ratio((double)r->snapshots, r->snapshots_expected);
    d->down_Bps_per_bot = ratio((double)r->bytes_down, r->bot_seconds);
    d->up_Bps_per_bot = ratio((double)r->bytes_up, r->bot_seconds);
    d->bytes_per_entity = ratio((double)r->body_bytes, (double)r->entity_snaps);
    d->bytes_per_moving_entity = ratio((double)r->body_bytes, (double)r->moving_snaps);
    d->entities_per_snapshot = ratio((double)r->entity_snaps, (double)r->entity_counted_snapshots);
    d->moving_per_snapshot = ratio((double)r->moving_snaps, (double)r->entity_counted_snapshots);
    d->corrections_per_bot_minute = ratio((double)r->corrections, r->bot_seconds / 60.0);
    d->registered_pct = 100.0 * ratio((double)r->server_hits, (double)r->screen_hits);
    d->per_shot_pct = 100.0 * ratio((double)r->hits_registered, (double)r->screen_hits);
    d->alive_pct = 100.0 * ratio((double)r->hits_registered, (double)(r->hits_registered + r->lost_other));
    d->cpu_s = r->cpu_user_s + r->cpu_sys_s;
    d->cpu_pct_of_core = 100.0 * ratio(d->cpu_s, r->elapsed_s);
    d->cpu_us_per_bot_second = 1e6 * ratio(d->cpu_s, r->bot_seconds);
    const report_metrics *m = in->metrics;
    if (m && m->available) {
        const prom_window *w = &m->w;
        d->srv_cpu_pct = 100.0 * ratio(w->cpu_seconds, w->seconds);
        d->srv_snapshot_Bps = ratio(w->snapshot_bytes, w->seconds);
        d->srv_snapshots_ps = ratio(w->snapshot_messages, w->seconds);
        d->srv_inputs_ps = ratio(w->input_messages, w->seconds);
        d->srv_ticks_ps = ratio(w->ticks, w->seconds);
        d->srv_tick_mean_ms = 1000.0 * ratio(w->tick_sum_s, w->tick_count);
    }
    d->rss_growth_pct = NAN;
    if (m && m->available && m->connected_available)
        d->rss_growth_pct = 100.0 * (ratio(m->w.resident_memory_bytes, m->connected_rss_bytes) - 1.0);
}

/* The server is on this machine: RTT targets in ticks make sense. */
static int is_loopback(const bots_opts *o)
{
    return strncmp(o->host, "127.", 4) == 0 || strcmp(o->host, "::1") == 0;
}

void report_judge(const report_input *in, verdict *v)
{
    const bots_opts *o = in->opts;
    verdict_figures f;
    for (int i = 0; i < VERDICT_N; i++)
        f.v[i] = NAN;
    verdict_context ctx = {.added_rtt_ms = 2.0 * (o->latency_ms + o->jitter_ms), .loopback = is_loopback(o),
                           .spectators = o->spectators > 0};
    const swarm_result *r = in->reachable ? in->res : NULL;
    if (r) {
        derived d;
        derive(in, &d);
        /* "one tick": the wait for the server's step, or for the snapshot
         * that carries the ack when snapshots are rarer than ticks */
        double tick_ms = r->tick_rate ? 1000.0 / r->tick_rate : 0;
        double snap_ms = r->snapshot_rate ? 1000.0 / r->snapshot_rate : 0;
        ctx.tick_ms = tick_ms;
        ctx.ack_ms = snap_ms > tick_ms ? snap_ms : tick_ms;
        f.v[VERDICT_CONNECTED] = 100.0 * ratio(r->connected_max, o->bots);
        f.v[VERDICT_SNAPSHOTS] = d.snapshots_pct;
        f.v[VERDICT_BOTS_BELOW] = 100.0 * ratio(r->bots_below_99, r->bots_measured);
        f.v[VERDICT_RTT_P99] = r->rtt_n ? r->rtt_p99_ms : NAN;
        f.v[VERDICT_CORRECTIONS] = (double)(r->corrections - r->corrections_stale);
        f.v[VERDICT_DISCONNECTS] = r->disconnects.total;
        f.v[VERDICT_EVENTS_LOST] = (double)r->events_lost;
        f.v[VERDICT_RESUMED_OTHER] = r->resumed_as_other;
        if (o->spectators)
            f.v[VERDICT_SPECTATOR_SNAPSHOTS] =
                r->spec_snapshots_expected > 0 ? 100.0 * (double)r->spec_snapshots / r->spec_snapshots_expected : 0.0;
        if (o->bots == 0) /* spectators only: no player figures */
            for (int i = VERDICT_CONNECTED; i <= VERDICT_BOTS_BELOW; i++)
                f.v[i] = NAN;
        const report_metrics *m = in->metrics;
        if (m && m->available) {
            f.v[VERDICT_MISSED_TICKS] = m->w.missed_ticks;
            f.v[VERDICT_TICK_P99] = m->w.tick_p99_s * 1e3;
        }
    }
    verdict_judge(&o->targets, &ctx, &f, v);
    if (!r)
        v->pass = 0; /* nothing measured: no run to pass */
}

/* When the bots' own clock fell behind (a skipped tick, or a wakeup later
 * than a tick), says so in words and returns 1. */
static int bots_late_words(const swarm_result *r, char *buf, size_t cap)
{
    double tick_ms = r->tick_rate ? 1000.0 / r->tick_rate : 0;
    if (r->ticks_missed)
        snprintf(buf, cap, "the bots' own clock skipped %llu ticks and woke up to %.1f ms late",
                 (unsigned long long)r->ticks_missed, r->tick_late_max_ms);
    else if (tick_ms > 0 && r->tick_late_max_ms > tick_ms)
        snprintf(buf, cap, "the bots' own clock woke up to %.1f ms late, more than a tick (%.1f ms)",
                 r->tick_late_max_ms, tick_ms);
    else
        return 0;
    return 1;
}

/* "PASS: all 9 targets met, 1 not judged", "FAIL: 1 of 10 targets missed
 * (input->ack RTT p99)" */
static void verdict_words(const report_input *in, const verdict *v, char *buf, size_t cap)
{
    size_t n = 0;
    if (!in->reachable || !in->res) {
        snprintf(buf, cap, "FAIL: no bot got into a match");
        return;
    }
    if (v->failed) {
        n += (size_t)snprintf(buf, cap, "FAIL: %d of %d targets missed (", v->failed, v->failed + v->passed);
        for (int i = 0, k = 0; i < VERDICT_N && n < cap; i++)
            if (v->c[i].status == VERDICT_FAIL)
                n += (size_t)snprintf(buf + n, cap - n, "%s%s", k++ ? ", " : "", verdict_label((verdict_id)i));
        if (n < cap)
            n += (size_t)snprintf(buf + n, cap - n, ")");
    } else {
        n += (size_t)snprintf(buf, cap, "PASS: %s%d targets met", v->passed > 1 ? "all " : "", v->passed);
    }
    if (v->unmeasured && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, ", %d not measured", v->unmeasured);
    if (v->unjudged && n < cap)
        snprintf(buf + n, cap - n, ", %d not judged", v->unjudged);
}

/* "12.3" or "n/a". */
static const char *fmt(char *buf, size_t n, const char *f, double v)
{
    if (isnan(v) || isinf(v))
        snprintf(buf, n, "n/a");
    else
        snprintf(buf, n, f, v);
    return buf;
}

/* The configured network delay in words, for the headers and summaries. */
static const char *delay_words(const bots_opts *o, char *buf, size_t n)
{
    if (!o->latency_ms && !o->jitter_ms)
        snprintf(buf, n, "none added");
    else if (!o->jitter_ms)
        snprintf(buf, n, "%d ms each way, added by the bots (+%d ms RTT)", o->latency_ms, 2 * o->latency_ms);
    else
        snprintf(buf, n, "%d ms + 0..%d ms jitter each way, added by the bots (+%d..%d ms RTT)", o->latency_ms,
                 o->jitter_ms, 2 * o->latency_ms, 2 * (o->latency_ms + o->jitter_ms));
    return buf;
}

/* ---- terminal ---------------------------------------------------------------- */

static void print_reasons(FILE *out, const swarm_reasons *rs)
{
    for (int i = 0; i < rs->n; i++) {
        if (rs->r[i].code)
            fprintf(out, "      %6u x  %d %s\n", rs->r[i].count, rs->r[i].code, rs->r[i].text);
        else
            fprintf(out, "      %6u x  %s\n", rs->r[i].count, rs->r[i].text);
    }
    if (rs->other)
        fprintf(out, "      %6u x  (other reasons)\n", rs->other);
}

static void print_server(FILE *out, const report_input *in, derived *d)
{
    const report_metrics *m = in->metrics;
    char a[32], b[32], c[32], e[32];
    if (!m || !m->available) {
        fprintf(out, "  server /metrics      %s\n", m && m->note[0] ? m->note : "not fetched");
        return;
    }
    const prom_window *w = &m->w;
    fprintf(out, "  server /metrics      window %.1f s\n", w->seconds);
    fprintf(out, "    cpu                %s%% of one core, rss %s MB, connections %s\n",
            fmt(a, sizeof a, "%.1f", d->srv_cpu_pct), fmt(b, sizeof b, "%.1f", w->resident_memory_bytes / 1e6),
            fmt(c, sizeof c, "%.0f", w->connections));
    fprintf(out, "    ticks              %s (%s/s), missed %s, overruns %s\n", fmt(a, sizeof a, "%.0f", w->ticks),
            fmt(b, sizeof b, "%.1f", d->srv_ticks_ps), fmt(c, sizeof c, "%.0f", w->missed_ticks),
            fmt(e, sizeof e, "%.0f", w->tick_overruns));
    fprintf(out, "    tick duration      p50 %s ms, p99 %s ms, mean %s ms\n",
            fmt(a, sizeof a, "%.3f", w->tick_p50_s * 1e3), fmt(b, sizeof b, "%.3f", w->tick_p99_s * 1e3),
            fmt(c, sizeof c, "%.3f", d->srv_tick_mean_ms));
    fprintf(out, "    input queues       p99 %s inputs waiting per player, deepest at the end %s\n",
            fmt(a, sizeof a, "%.1f", w->backlog_p99), fmt(b, sizeof b, "%.0f", w->backlog_max));
    fprintf(out, "    snapshots          %s sent (%s/s), %s KB/s, skipped %s\n",
            fmt(a, sizeof a, "%.0f", w->snapshot_messages), fmt(b, sizeof b, "%.0f", d->srv_snapshots_ps),
            fmt(c, sizeof c, "%.1f", d->srv_snapshot_Bps / 1e3), fmt(e, sizeof e, "%.0f", w->snapshots_skipped));
    fprintf(out, "    input messages     %s (%s/s)\n", fmt(a, sizeof a, "%.0f", w->input_messages),
            fmt(b, sizeof b, "%.0f", d->srv_inputs_ps));
    fprintf(out, "    players            %s joins, %s leaves, %s holds, %s resumes, %s holds expired, %s auth refusals\n",
            fmt(a, sizeof a, "%.0f", w->joins), fmt(b, sizeof b, "%.0f", w->leaves), fmt(c, sizeof c, "%.0f", w->holds),
            fmt(e, sizeof e, "%.0f", w->resumes), fmt(d->f1, sizeof d->f1, "%.0f", w->holds_expired),
            fmt(d->f2, sizeof d->f2, "%.0f", w->auth_refusals));
    fprintf(out, "    combat             %s shots, %s hits, %s kills; %s shots judged at the --max-unlag-ms bound "
                 "(view older)\n",
            fmt(a, sizeof a, "%.0f", w->shots), fmt(b, sizeof b, "%.0f", w->hits), fmt(c, sizeof c, "%.0f", w->kills),
            fmt(e, sizeof e, "%.0f", w->unlag_clamped));
    if (m->connected_available)
        fprintf(out, "    memory             rss %s MB with all bots in (at %.1f s), %s MB at the end (%s%%)\n",
                fmt(a, sizeof a, "%.1f", m->connected_rss_bytes / 1e6), m->connected_t_s,
                fmt(b, sizeof b, "%.1f", w->resident_memory_bytes / 1e6),
                fmt(c, sizeof c, "%+.1f", d->rss_growth_pct));
}

/* The verdict, one line per check, last in the summary. */
static void print_verdict(FILE *out, const report_input *in)
{
    verdict v;
    report_judge(in, &v);
    char words[400], a[32], b[64];
    verdict_words(in, &v, words, sizeof words);
    fprintf(out, "  verdict              %s\n", words);
    if (!in->reachable || !in->res)
        return;
    const swarm_result *r = in->res;
    char late[160];
    if (bots_late_words(r, late, sizeof late))
        fprintf(out, "    caution: %s; what the bots measured includes that delay\n", late);
    for (int i = 0; i < VERDICT_N; i++) {
        const verdict_check *c = &v.c[i];
        verdict_format((verdict_id)i, c->value, a, sizeof a);
        if (c->status == VERDICT_UNJUDGED) {
            snprintf(b, sizeof b, "no target%s", c->custom ? " (--target off)" : "");
        } else {
            char t[32];
            verdict_format((verdict_id)i, c->target, t, sizeof t);
            snprintf(b, sizeof b, "target %s %s%s", verdict_op((verdict_id)i), t, c->custom ? " (--target)" : "");
        }
        fprintf(out, "    %-5s %-42s %10s   %s%s\n",
                c->status == VERDICT_PASS ? "ok" : c->status == VERDICT_FAIL ? "MISS" : "-", verdict_label((verdict_id)i),
                a, b, c->status == VERDICT_UNMEASURED ? ", not measured" : "");
    }
}

void report_print(FILE *out, const report_input *in)
{
    const bots_opts *o = in->opts;
    char dw[128];
    fprintf(out, "tickwire-bots: %d bots, %s, %s, %.1f s (ramp %.1f s), seed %llu%s%s\n", o->bots,
            behavior_name(o->behavior), o->url, o->duration_s, o->ramp_s, (unsigned long long)o->seed,
            o->latency_ms || o->jitter_ms ? ", network delay " : "",
            o->latency_ms || o->jitter_ms ? delay_words(o, dw, sizeof dw) : "");
    if (!in->reachable || !in->res) {
        fprintf(out, "  server not reached: %s\n", in->error ? in->error : "no bot connected");
        if (in->res && in->res->failures.n) {
            fprintf(out, "  failures             %u\n", in->res->failed);
            print_reasons(out, &in->res->failures);
        }
        print_verdict(out, in);
        return;
    }
    const swarm_result *r = in->res;
    derived d;
    derive(in, &d);
    char a[32], b[32], c[32], e[32];
    fprintf(out, "  server rates         tick %u Hz, snapshots %u Hz; bots send %d input messages/s, ticks in %d phases%s\n",
            r->tick_rate, r->snapshot_rate, r->input_rate, r->phases,
            r->rate_mismatch ? " (bots saw different rates!)" : "");
    if (opts_read_every_ms(o))
        fprintf(out, "  reads                every %d ms, all sockets at once (--read-every)\n", opts_read_every_ms(o));
    fprintf(out, "  network delay        %s", delay_words(o, dw, sizeof dw));
    if (o->latency_ms || o->jitter_ms)
        fprintf(out, "; most queued for a bot %u in, %u out; dropped with their connection %llu in, %llu out; "
                     "%u queues full",
                r->delay_depth_in, r->delay_depth_out, (unsigned long long)r->delay_dropped_in,
                (unsigned long long)r->delay_dropped_out, r->delay_full);
    fprintf(out, "\n");
    fprintf(out, "  bots connected       %u max, %u at end, %u ever, of %d (%u still connecting at end)\n",
            r->connected_max, r->connected_end, r->ever_connected, o->bots, r->pending_at_end);
    fprintf(out, "  failed               %u of %u connection attempts\n", r->failed, r->connect_attempts);
    fprintf(out, "  transport            %s: %u WELCOMEs over WebSocket, %u over HTTP; fell back to HTTP: %u "
                 "(upgrade failed), %u (no WELCOME in 3 s)\n",
            o->transport == 1 ? "http" : o->transport == 2 ? "auto" : "ws", r->welcomes_ws, r->welcomes_http,
            r->fallbacks_upgrade, r->fallbacks_welcome);
    print_reasons(out, &r->failures);
    if (r->auth_refused)
        fprintf(out, "  auth refused         %u (4001 before WELCOME: never retried; %u bots given up)\n",
                r->auth_refused, r->dead_at_end);
    fprintf(out, "  join tokens          %u %s, %u failed", r->tokens_received,
            r->tokens_minted ? "minted with the secret" : "from POST /api/join", r->tokens_failed);
    if (r->token_ms.n)
        fprintf(out, "; fetch p50 %.1f ms, p99 %.1f ms, max %.1f ms", r->token_ms.p50, r->token_ms.p99,
                r->token_ms.max);
    fprintf(out, "\n");
    print_reasons(out, &r->token_failures);
    if (o->matchmaker_token_file) {
        fprintf(out, "  fleet                %u seats from the matchmaker, %u requests failed; %u drops by the server, "
                     "%u resumed, %u back as new players",
                r->mm_seats, r->mm_failed, r->drops_by[SWARM_DROP_SERVER], r->resumed, r->rejoined);
        if (r->rejoin_ms.n)
            fprintf(out, " (drop -> playing again p50 %.1f ms, p99 %.1f ms, max %.1f ms)", r->rejoin_ms.p50,
                    r->rejoin_ms.p99, r->rejoin_ms.max);
        fprintf(out, "\n  playing at the end  ");
        for (int t = 0; t < r->ntargets; t++)
            fprintf(out, " %s %u", r->targets[t].url, r->targets[t].bots);
        fprintf(out, "\n");
    }
    if (o->behavior == BEHAVIOR_CHAOS) {
        fprintf(out, "  chaos                %u drops of %u bots (close %u, reset %u, takeover %u, leave %u; by the "
                     "server %u), %u reconnects of %u attempts\n",
                r->drops, r->bots_dropped, r->drops_by[SWARM_DROP_CLOSE], r->drops_by[SWARM_DROP_RESET],
                r->drops_by[SWARM_DROP_TAKEOVER], r->drops_by[SWARM_DROP_LEAVE], r->drops_by[SWARM_DROP_SERVER],
                r->reconnects,
                r->reconnect_attempts);
        fprintf(out, "  resume               %u attempts: %u resumed, %u as another player, %u refused (resume "
                     "expired), %u not flagged, %u lost; %u rejoined fresh; %u back after a leave; %u away at the end\n",
                r->resume_attempts, r->resumed, r->resumed_as_other, r->resume_refused, r->resume_unflagged,
                r->resume_lost, r->rejoined, r->rejoined_after_leave, r->away_at_end);
        fprintf(out, "  drop -> resumed      p50 %.1f ms, p99 %.1f ms, max %.1f ms (%u)\n", r->resume_ms.p50,
                r->resume_ms.p99, r->resume_ms.max, r->resume_ms.n);
        fprintf(out, "  while away           %llu inputs made (sent after the resume), %llu waited; takeover: "
                     "%u old connections closed by the server\n",
                (unsigned long long)r->inputs_offline, (unsigned long long)r->inputs_offline_waited,
                r->takeover_old_closed);
    }
    fprintf(out, "  disconnects          %u\n", r->disconnects.total);
    print_reasons(out, &r->disconnects);
    fprintf(out, "  input->ack rtt       p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms (%llu acks)\n",
            r->rtt_p50_ms, r->rtt_p95_ms, r->rtt_p99_ms, r->rtt_max_ms, (unsigned long long)r->rtt_n);
    if (r->inputs_judged)
        fprintf(out, "  input timing         lead mean %.2f ms, max %.2f ms; %llu of %llu inputs late for their tick (%.3f%%)\n",
                r->lead_mean_ms, r->lead_max_ms, (unsigned long long)r->inputs_late,
                (unsigned long long)r->inputs_judged, 100.0 * (double)r->inputs_late / (double)r->inputs_judged);
    fprintf(out, "  snapshot interval    nominal %.2f ms: mean %.2f, stddev %.2f, p99 %.1f, max %.1f ms\n",
            r->interval_nominal_ms, r->interval_mean_ms, r->interval_stddev_ms, r->interval_p99_ms,
            r->interval_max_ms);
    fprintf(out, "  snapshots            %llu of %.0f expected (%s%%), %u of %u bots below 99%% (lowest %s%%), %llu full\n",
            (unsigned long long)r->snapshots, r->snapshots_expected, fmt(a, sizeof a, "%.1f", d.snapshots_pct),
            r->bots_below_99, r->bots_measured, fmt(b, sizeof b, "%.1f", r->bots_measured ? r->min_bot_pct : NAN),
            (unsigned long long)r->full_snapshots);
    fprintf(out, "  per bot              down %s B/s, up %s B/s (WebSocket payload)\n",
            fmt(a, sizeof a, "%.0f", d.down_Bps_per_bot), fmt(b, sizeof b, "%.0f", d.up_Bps_per_bot));
    fprintf(out, "  bytes per entity     %s per entity, %s per moving entity (%s entities, %s moving per snapshot)\n",
            fmt(a, sizeof a, "%.2f", d.bytes_per_entity), fmt(b, sizeof b, "%.2f", d.bytes_per_moving_entity),
            fmt(c, sizeof c, "%.1f", d.entities_per_snapshot), fmt(e, sizeof e, "%.1f", d.moving_per_snapshot));
    fprintf(out, "  corrections          %llu (%s per bot-minute, largest %.2f units)", (unsigned long long)r->corrections,
            fmt(a, sizeof a, "%.3f", d.corrections_per_bot_minute), r->max_correction);
    if (r->corrections_stale)
        fprintf(out, "; %llu right after a join, from a snapshot that predates it", (unsigned long long)r->corrections_stale);
    fprintf(out, "\n");
    fprintf(out, "  inputs               %llu made, %llu waited (too many unacked)\n", (unsigned long long)r->inputs,
            (unsigned long long)r->inputs_stalled);
    if (r->interp_frames)
        fprintf(out, "  interpolation        %llu remote players drawn, %llu held (%.4f%%: no snapshot past the render tick)\n",
                (unsigned long long)r->interp_frames, (unsigned long long)r->interp_holds,
                100.0 * (double)r->interp_holds / (double)r->interp_frames);
    if (o->behavior == BEHAVIOR_FIGHT || r->shots) {
        fprintf(out, "  shots                %llu fired, %llu hit on the shooter's screen, %llu hits registered by the "
                     "server: %s%% of the screen hits\n",
                (unsigned long long)r->shots, (unsigned long long)r->screen_hits, (unsigned long long)r->server_hits,
                fmt(a, sizeof a, "%.2f", d.registered_pct));
        fprintf(out, "    both alive         %s%% of the screen hits whose shooter and target were both still alive on "
                     "the server when it judged the shot were registered (%llu of %llu)\n",
                fmt(c, sizeof c, "%.2f", d.alive_pct), (unsigned long long)r->hits_registered,
                (unsigned long long)(r->hits_registered + r->lost_other));
        fprintf(out, "    shot by shot       %llu screen hits registered (%s%%); not registered: %llu target dead or "
                     "respawned on the server first (%llu killed by the shooter's own earlier shot), %llu shooter "
                     "dead first, %llu round over, %llu other; %llu not acknowledged by the end; %llu server hits not "
                     "on the screen\n",
                (unsigned long long)r->hits_registered, fmt(b, sizeof b, "%.2f", d.per_shot_pct),
                (unsigned long long)r->lost_target_dead, (unsigned long long)r->lost_target_own_kill,
                (unsigned long long)r->lost_shooter_dead,
                (unsigned long long)r->lost_round, (unsigned long long)r->lost_other,
                (unsigned long long)r->hits_unacked, (unsigned long long)r->server_only_hits);
        fprintf(out, "    view age           p50 %.1f ms, p99 %.1f ms, max %.1f ms from what the shooter drew to the tick "
                     "the server judged the shot (%llu shots; the server rewinds at most --max-unlag-ms)\n",
                r->view_age_p50_ms, r->view_age_p99_ms, r->view_age_max_ms, (unsigned long long)r->view_age_n);
    }
    fprintf(out, "  events               %llu received (%llu kills, %llu chat, %llu round starts and ends, %llu joins "
                 "and leaves), %llu lost\n",
            (unsigned long long)r->events, (unsigned long long)r->ev_kills, (unsigned long long)r->ev_chat,
            (unsigned long long)r->ev_rounds, (unsigned long long)r->ev_other, (unsigned long long)r->events_lost);
    if (r->spectators)
        fprintf(out, "  spectators           %u of %d connected at most, %u at the end (%u match%s watched); %llu "
                     "snapshots of %.0f expected at %u Hz (%s%%; %u of %u under 99%%, the lowest %.1f%%), %llu full; "
                     "%llu events (%llu kills), %llu lost; %.1f KB/s each\n",
                r->spec_connected_max, r->spectators, r->spec_connected_end, r->spec_matches_seen,
                r->spec_matches_seen == 1 ? "" : "es", (unsigned long long)r->spec_snapshots, r->spec_snapshots_expected,
                r->spectator_rate,
                fmt(a, sizeof a, "%.2f", r->spec_snapshots_expected > 0
                                             ? 100.0 * (double)r->spec_snapshots / r->spec_snapshots_expected
                                             : 0.0),
                r->spec_below_99, r->spec_measured, r->spec_min_pct, (unsigned long long)r->spec_full_snapshots,
                (unsigned long long)r->spec_events, (unsigned long long)r->spec_kills,
                (unsigned long long)r->spec_events_lost,
                r->spec_seconds > 0 ? (double)r->spec_bytes_down / r->spec_seconds / 1000.0 : 0.0);
    fprintf(out, "  bots' cpu            %.2f s user + %.2f s sys = %s%% of one core, %s us per bot-second, max rss %.0f MB\n",
            r->cpu_user_s, r->cpu_sys_s, fmt(a, sizeof a, "%.1f", d.cpu_pct_of_core),
            fmt(b, sizeof b, "%.0f", d.cpu_us_per_bot_second), r->max_rss_kb / 1024.0);
    fprintf(out, "  bots' clock          %llu ticks, %llu skipped, latest wakeup %.1f ms late\n",
            (unsigned long long)r->ticks, (unsigned long long)r->ticks_missed, r->tick_late_max_ms);
    fprintf(out, "  bots' decodes        %llu snapshot bodies decoded, %llu shared (the same bytes on the same "
                 "baseline), %llu of those decoded again and compared: %llu different\n",
            (unsigned long long)r->memo_decodes, (unsigned long long)r->memo_hits,
            (unsigned long long)r->memo_checked, (unsigned long long)r->memo_mismatches);
    print_server(out, in, &d);
    print_verdict(out, in);
}

/* ---- JSON ----------------------------------------------------------------------- */

/* A tiny writer: keeps the commas right. */
typedef struct jw {
    FILE *f;
    int depth;
    int first[16];
} jw;

static void jw_key(jw *j, const char *key)
{
    if (!j->first[j->depth])
        fputc(',', j->f);
    j->first[j->depth] = 0;
    fprintf(j->f, "\n%*s", 2 * j->depth, "");
    if (key)
        fprintf(j->f, "\"%s\": ", key);
}

static void jw_str_raw(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void jw_open(jw *j, const char *key, char brace)
{
    if (key || j->depth > 0)
        jw_key(j, key);
    fputc(brace, j->f);
    j->first[++j->depth] = 1;
}

static void jw_close(jw *j, char brace)
{
    int empty = j->first[j->depth];
    j->depth--;
    if (!empty)
        fprintf(j->f, "\n%*s", 2 * j->depth, "");
    fputc(brace, j->f);
}

static void jw_num(jw *j, const char *key, double v)
{
    jw_key(j, key);
    if (isnan(v) || isinf(v))
        fputs("null", j->f);
    else if (v == floor(v) && fabs(v) < 9e15)
        fprintf(j->f, "%.0f", v);
    else
        fprintf(j->f, "%.6g", v);
}

static void jw_u64(jw *j, const char *key, uint64_t v)
{
    jw_key(j, key);
    fprintf(j->f, "%llu", (unsigned long long)v);
}

static void jw_str(jw *j, const char *key, const char *s)
{
    jw_key(j, key);
    if (s)
        jw_str_raw(j->f, s);
    else
        fputs("null", j->f);
}

static void jw_bool(jw *j, const char *key, int v)
{
    jw_key(j, key);
    fputs(v ? "true" : "false", j->f);
}

static void jw_reasons(jw *j, const char *key, const swarm_reasons *rs)
{
    jw_open(j, key, '[');
    for (int i = 0; i < rs->n; i++) {
        jw_open(j, NULL, '{');
        if (rs->r[i].code)
            jw_num(j, "code", rs->r[i].code);
        else
            jw_str(j, "code", NULL);
        jw_str(j, "reason", rs->r[i].text);
        jw_u64(j, "count", rs->r[i].count);
        jw_close(j, '}');
    }
    if (rs->other) {
        jw_open(j, NULL, '{');
        jw_str(j, "code", NULL);
        jw_str(j, "reason", "(other reasons)");
        jw_u64(j, "count", rs->other);
        jw_close(j, '}');
    }
    jw_close(j, ']');
}

static void jw_quant(jw *j, const char *key, const swarm_quant *q)
{
    jw_open(j, key, '{');
    jw_num(j, "samples", q->n);
    jw_num(j, "p50", q->n ? q->p50 : NAN);
    jw_num(j, "p99", q->n ? q->p99 : NAN);
    jw_num(j, "max", q->n ? q->max : NAN);
    jw_close(j, '}');
}

/* One array per column of the time series, compact on one line. */
static void jw_series(jw *j, const swarm_result *r)
{
    static const char *const COLS[] = {"t_s",       "connected",    "snapshots_per_s", "kb_per_s_down",
                                       "kb_per_s_up", "inputs_per_s", "rtt_p50_ms",      "rtt_p99_ms",
                                       "corrections", "bots_cpu_pct", "bots_tick_late_ms", "drops",
                                       "resumed"};
    jw_open(j, "series", '{');
    for (size_t c = 0; c < sizeof COLS / sizeof COLS[0]; c++) {
        jw_key(j, COLS[c]);
        fputc('[', j->f);
        for (int i = 0; i < r->nseries; i++) {
            const swarm_sample *s = &r->series[i];
            double dt = s->dt_s > 0 ? s->dt_s : 1;
            double v = 0;
            switch (c) {
            case 0: v = s->t_s; break;
            case 1: v = s->connected; break;
            case 2: v = s->snapshots / dt; break;
            case 3: v = (double)s->bytes_down / dt / 1e3; break;
            case 4: v = (double)s->bytes_up / dt / 1e3; break;
            case 5: v = s->input_msgs / dt; break;
            case 6: v = s->rtt_n ? s->rtt_p50_ms : NAN; break;
            case 7: v = s->rtt_n ? s->rtt_p99_ms : NAN; break;
            case 8: v = s->corrections; break;
            case 9: v = s->cpu_pct; break;
            case 10: v = s->tick_late_ms; break;
            case 11: v = s->drops; break;
            default: v = s->resumed; break;
            }
            if (i)
                fputs(", ", j->f);
            if (isnan(v))
                fputs("null", j->f);
            else
                fprintf(j->f, "%.4g", v);
        }
        fputc(']', j->f);
    }
    jw_close(j, '}');
}

static void json_server(jw *j, const report_input *in, const derived *d)
{
    const report_metrics *m = in->metrics;
    jw_open(j, "server_metrics", '{');
    jw_bool(j, "available", m && m->available);
    if (m && m->http_status)
        jw_num(j, "http_status", m->http_status);
    if (m && m->note[0])
        jw_str(j, "note", m->note);
    if (m && m->available) {
        const prom_window *w = &m->w;
        jw_num(j, "window_s", w->seconds);
        jw_num(j, "snapshot_bytes", w->snapshot_bytes);
        jw_num(j, "snapshot_messages", w->snapshot_messages);
        jw_num(j, "input_messages", w->input_messages);
        jw_num(j, "ticks", w->ticks);
        jw_num(j, "missed_ticks", w->missed_ticks);
        jw_num(j, "tick_overruns", w->tick_overruns);
        jw_num(j, "snapshots_skipped", w->snapshots_skipped);
        jw_num(j, "cpu_seconds", w->cpu_seconds);
        jw_num(j, "cpu_pct_of_core", d->srv_cpu_pct);
        jw_num(j, "resident_memory_bytes", w->resident_memory_bytes);
        jw_num(j, "connections", w->connections);
        jw_num(j, "snapshot_bytes_per_s", d->srv_snapshot_Bps);
        jw_num(j, "snapshots_per_s", d->srv_snapshots_ps);
        jw_num(j, "input_messages_per_s", d->srv_inputs_ps);
        jw_open(j, "tick_duration_ms", '{');
        jw_num(j, "count", w->tick_count);
        jw_num(j, "mean", d->srv_tick_mean_ms);
        jw_num(j, "p50", w->tick_p50_s * 1e3);
        jw_num(j, "p99", w->tick_p99_s * 1e3);
        jw_close(j, '}');
        jw_open(j, "input_queue_depth", '{');
        jw_num(j, "p99", w->backlog_p99);
        jw_num(j, "max_at_end", w->backlog_max);
        jw_close(j, '}');
        jw_num(j, "joins", w->joins);
        jw_num(j, "leaves", w->leaves);
        jw_num(j, "holds", w->holds);
        jw_num(j, "resumes", w->resumes);
        jw_num(j, "holds_expired", w->holds_expired);
        jw_num(j, "auth_refusals", w->auth_refusals);
        jw_num(j, "shots", w->shots);
        jw_num(j, "hits", w->hits);
        jw_num(j, "kills", w->kills);
        jw_num(j, "unlag_clamped", w->unlag_clamped);
    }
    if (m) {
        jw_open(j, "all_connected", '{');
        jw_bool(j, "available", m->connected_available);
        if (m->connected_available) {
            jw_num(j, "t_s", m->connected_t_s);
            jw_num(j, "resident_memory_bytes", m->connected_rss_bytes);
            jw_num(j, "connections", m->connected_connections);
        }
        jw_close(j, '}');
        jw_num(j, "resident_memory_growth_pct", d->rss_growth_pct);
    }
    jw_close(j, '}');
}

static void json_verdict(jw *j, const report_input *in)
{
    verdict v;
    report_judge(in, &v);
    jw_open(j, "verdict", '{');
    jw_bool(j, "pass", v.pass);
    jw_str(j, "result", v.pass ? "pass" : "fail");
    jw_num(j, "passed", v.passed);
    jw_num(j, "failed", v.failed);
    jw_num(j, "not_measured", v.unmeasured);
    jw_num(j, "not_judged", v.unjudged);
    jw_open(j, "checks", '[');
    for (int i = 0; i < VERDICT_N; i++) {
        const verdict_check *c = &v.c[i];
        jw_open(j, NULL, '{');
        jw_str(j, "name", verdict_name((verdict_id)i));
        jw_str(j, "label", verdict_label((verdict_id)i));
        jw_str(j, "unit", verdict_unit((verdict_id)i));
        jw_str(j, "op", verdict_op((verdict_id)i));
        jw_num(j, "value", c->value);
        jw_num(j, "target", c->target);
        jw_bool(j, "custom", c->custom);
        jw_str(j, "status", verdict_status_name(c->status));
        jw_close(j, '}');
    }
    jw_close(j, ']');
    jw_close(j, '}');
}

/* The server's figures of one scrape window, derived for the series. */
enum {
    SRV_CONNECTIONS, SRV_CPU_PCT, SRV_TICK_P50_MS, SRV_TICK_P99_MS, SRV_TICKS_PS, SRV_MISSED_TICKS,
    SRV_SNAPSHOTS_PS, SRV_SNAPSHOT_KB_PS, SRV_SKIPPED, SRV_DROPPED_SLOW, SRV_QUEUE_P99, SRV_QUEUE_MAX,
    SRV_INPUTS_PS, SRV_RSS_MB, SRV_SENT_KB_PS, SRV_RECEIVED_KB_PS, SRV_COLS
};
static const char *const SRV_COL_NAMES[SRV_COLS] = {
    "connections", "cpu_pct", "tick_p50_ms", "tick_p99_ms", "ticks_per_s", "missed_ticks",
    "snapshots_per_s", "snapshot_kb_per_s", "snapshots_skipped", "dropped_slow", "input_queue_p99",
    "input_queue_max", "input_messages_per_s", "rss_mb", "sent_kb_per_s", "received_kb_per_s"};

static double srv_col(const prom_window *w, int c)
{
    switch (c) {
    case SRV_CONNECTIONS: return w->connections;
    case SRV_CPU_PCT: return 100.0 * ratio(w->cpu_seconds, w->seconds);
    case SRV_TICK_P50_MS: return w->tick_p50_s * 1e3;
    case SRV_TICK_P99_MS: return w->tick_p99_s * 1e3;
    case SRV_TICKS_PS: return ratio(w->ticks, w->seconds);
    case SRV_MISSED_TICKS: return w->missed_ticks;
    case SRV_SNAPSHOTS_PS: return ratio(w->snapshot_messages, w->seconds);
    case SRV_SNAPSHOT_KB_PS: return ratio(w->snapshot_bytes, w->seconds) / 1e3;
    case SRV_SKIPPED: return w->snapshots_skipped;
    case SRV_DROPPED_SLOW: return w->dropped_slow;
    case SRV_QUEUE_P99: return w->backlog_p99;
    case SRV_QUEUE_MAX: return w->backlog_max;
    case SRV_INPUTS_PS: return ratio(w->input_messages, w->seconds);
    case SRV_SENT_KB_PS: return ratio(w->sent_bytes, w->seconds) / 1e3;
    case SRV_RECEIVED_KB_PS: return ratio(w->received_bytes, w->seconds) / 1e3;
    default: return w->resident_memory_bytes / 1e6;
    }
}

/* One array per column, one entry per scrape window (about a second). */
static void jw_server_series(jw *j, const prom_series *ps)
{
    jw_open(j, "server_series", '{');
    jw_num(j, "failed_scrapes", ps->failed);
    for (int c = -1; c < SRV_COLS; c++) {
        jw_key(j, c < 0 ? "t_s" : SRV_COL_NAMES[c]);
        fputc('[', j->f);
        for (int i = 0; i < ps->n; i++) {
            double v = c < 0 ? ps->p[i].t_s : srv_col(&ps->p[i].w, c);
            if (i)
                fputs(", ", j->f);
            if (isnan(v) || isinf(v))
                fputs("null", j->f);
            else
                fprintf(j->f, "%.4g", v);
        }
        fputc(']', j->f);
    }
    jw_close(j, '}');
}

static void json_result(jw *j, const report_input *in, const derived *d)
{
    const swarm_result *r = in->res;
    jw_open(j, "server", '{');
    jw_num(j, "tick_rate", r->tick_rate);
    jw_num(j, "snapshot_rate", r->snapshot_rate);
    jw_num(j, "max_players", r->max_players);
    jw_bool(j, "rate_mismatch", r->rate_mismatch);
    jw_close(j, '}');
    jw_num(j, "elapsed_s", r->elapsed_s);
    jw_num(j, "input_rate", r->input_rate);
    jw_num(j, "phases", r->phases);

    jw_open(j, "network_delay", '{');
    jw_num(j, "latency_ms", in->opts->latency_ms);
    jw_num(j, "jitter_ms", in->opts->jitter_ms);
    jw_num(j, "max_queued_in", r->delay_depth_in);
    jw_num(j, "max_queued_out", r->delay_depth_out);
    jw_u64(j, "dropped_in", r->delay_dropped_in);
    jw_u64(j, "dropped_out", r->delay_dropped_out);
    jw_num(j, "queue_full", r->delay_full);
    jw_close(j, '}');

    jw_open(j, "connections", '{');
    jw_num(j, "target", in->opts->bots);
    jw_num(j, "connected_max", r->connected_max);
    jw_num(j, "connected_end", r->connected_end);
    jw_num(j, "ever_connected", r->ever_connected);
    jw_num(j, "attempts", r->connect_attempts);
    jw_num(j, "failed", r->failed);
    jw_num(j, "pending_at_end", r->pending_at_end);
    jw_reasons(j, "failures", &r->failures);
    jw_num(j, "disconnects", r->disconnects.total);
    jw_reasons(j, "disconnect_reasons", &r->disconnects);
    jw_num(j, "chaos_closes", r->chaos_closes);
    jw_num(j, "reconnect_attempts", r->reconnect_attempts);
    jw_num(j, "reconnects", r->reconnects);
    jw_num(j, "auth_refused", r->auth_refused);
    jw_num(j, "dead_at_end", r->dead_at_end);
    jw_close(j, '}');

    /* WELCOMEs by transport, and WebSocket -> HTTP fallbacks (--transport auto) by why. */
    jw_open(j, "transport", '{');
    jw_str(j, "mode", in->opts->transport == 1 ? "http" : in->opts->transport == 2 ? "auto" : "ws");
    jw_num(j, "welcomes_ws", r->welcomes_ws);
    jw_num(j, "welcomes_http", r->welcomes_http);
    jw_num(j, "fallbacks_upgrade", r->fallbacks_upgrade);
    jw_num(j, "fallbacks_welcome", r->fallbacks_welcome);
    jw_close(j, '}');

    jw_open(j, "tokens", '{');
    jw_str(j, "source", r->tokens_minted ? "secret_file" : "demo");
    jw_num(j, "requested", r->tokens_requested);
    jw_num(j, "received", r->tokens_received);
    jw_num(j, "failed", r->tokens_failed);
    jw_reasons(j, "failures", &r->token_failures);
    jw_quant(j, "fetch_ms", &r->token_ms);
    jw_close(j, '}');

    jw_open(j, "resume", '{');
    jw_num(j, "drops", r->drops);
    jw_num(j, "bots_dropped", r->bots_dropped);
    jw_open(j, "drops_by_kind", '{');
    jw_num(j, "close", r->drops_by[SWARM_DROP_CLOSE]);
    jw_num(j, "reset", r->drops_by[SWARM_DROP_RESET]);
    jw_num(j, "takeover", r->drops_by[SWARM_DROP_TAKEOVER]);
    jw_num(j, "leave", r->drops_by[SWARM_DROP_LEAVE]);
    jw_num(j, "server", r->drops_by[SWARM_DROP_SERVER]);
    jw_close(j, '}');
    jw_num(j, "attempts", r->resume_attempts);
    jw_num(j, "resumed", r->resumed);
    jw_num(j, "resumed_as_other", r->resumed_as_other);
    jw_num(j, "not_flagged", r->resume_unflagged);
    jw_num(j, "refused", r->resume_refused);
    jw_num(j, "lost", r->resume_lost);
    jw_num(j, "rejoined", r->rejoined);
    jw_num(j, "rejoined_after_leave", r->rejoined_after_leave);
    jw_num(j, "away_at_end", r->away_at_end);
    jw_num(j, "takeover_old_closed", r->takeover_old_closed);
    jw_quant(j, "latency_ms", &r->resume_ms);
    jw_u64(j, "inputs_offline", r->inputs_offline);
    jw_u64(j, "inputs_offline_waited", r->inputs_offline_waited);
    jw_close(j, '}');

    /* matchmaker mode (--matchmaker-token-file) */
    jw_open(j, "fleet", '{');
    jw_bool(j, "matchmaker", in->opts->matchmaker_token_file != NULL);
    jw_num(j, "seats", r->mm_seats);
    jw_num(j, "failed", r->mm_failed);
    jw_num(j, "drops_by_server", r->drops_by[SWARM_DROP_SERVER]);
    jw_num(j, "rejoined", r->rejoined);
    jw_quant(j, "rejoin_ms", &r->rejoin_ms);
    jw_open(j, "processes", '[');
    for (int t = 0; t < r->ntargets; t++) {
        jw_open(j, NULL, '{');
        jw_str(j, "url", r->targets[t].url);
        jw_num(j, "bots", r->targets[t].bots);
        jw_close(j, '}');
    }
    jw_close(j, ']');
    jw_close(j, '}');

    jw_open(j, "rtt_ms", '{');
    jw_u64(j, "samples", r->rtt_n);
    jw_num(j, "mean", r->rtt_mean_ms);
    jw_num(j, "p50", r->rtt_p50_ms);
    jw_num(j, "p95", r->rtt_p95_ms);
    jw_num(j, "p99", r->rtt_p99_ms);
    jw_num(j, "max", r->rtt_max_ms);
    jw_close(j, '}');

    jw_open(j, "snapshot_interval_ms", '{');
    jw_num(j, "nominal", r->interval_nominal_ms);
    jw_u64(j, "samples", r->interval_n);
    jw_num(j, "mean", r->interval_mean_ms);
    jw_num(j, "stddev", r->interval_stddev_ms);
    jw_num(j, "p99", r->interval_p99_ms);
    jw_num(j, "max", r->interval_max_ms);
    jw_close(j, '}');

    jw_open(j, "snapshots", '{');
    jw_u64(j, "received", r->snapshots);
    jw_num(j, "expected", r->snapshots_expected);
    jw_num(j, "pct", d->snapshots_pct);
    jw_u64(j, "full", r->full_snapshots);
    jw_num(j, "bots_measured", r->bots_measured);
    jw_num(j, "bots_below_99pct", r->bots_below_99);
    jw_num(j, "min_bot_pct", r->bots_measured ? r->min_bot_pct : NAN);
    jw_close(j, '}');

    jw_open(j, "bandwidth", '{');
    jw_u64(j, "bytes_down", r->bytes_down);
    jw_u64(j, "bytes_up", r->bytes_up);
    jw_u64(j, "messages_down", r->msgs_down);
    jw_u64(j, "messages_up", r->msgs_up);
    jw_num(j, "bot_seconds", r->bot_seconds);
    jw_num(j, "bytes_per_s_per_bot_down", d->down_Bps_per_bot);
    jw_num(j, "bytes_per_s_per_bot_up", d->up_Bps_per_bot);
    jw_close(j, '}');

    jw_open(j, "entities", '{');
    jw_num(j, "bytes_per_entity", d->bytes_per_entity);
    jw_num(j, "bytes_per_moving_entity", d->bytes_per_moving_entity);
    jw_num(j, "entities_per_snapshot", d->entities_per_snapshot);
    jw_num(j, "moving_per_snapshot", d->moving_per_snapshot);
    jw_u64(j, "body_bytes", r->body_bytes);
    jw_u64(j, "snapshots_counted", r->entity_counted_snapshots);
    jw_close(j, '}');

    jw_open(j, "interpolation", '{');
    jw_u64(j, "frames", r->interp_frames);
    jw_u64(j, "held", r->interp_holds);
    jw_close(j, '}');

    jw_open(j, "corrections", '{');
    jw_u64(j, "total", r->corrections);
    jw_u64(j, "stale_join_snapshot", r->corrections_stale);
    jw_num(j, "per_bot_minute", d->corrections_per_bot_minute);
    jw_num(j, "max_error_units", r->max_correction);
    jw_close(j, '}');

    jw_open(j, "inputs", '{');
    jw_u64(j, "made", r->inputs);
    jw_u64(j, "waited", r->inputs_stalled);
    jw_close(j, '}');

    jw_open(j, "input_timing", '{');
    jw_u64(j, "judged", r->inputs_judged);
    jw_u64(j, "late", r->inputs_late);
    jw_num(j, "lead_mean_ms", r->lead_mean_ms);
    jw_num(j, "lead_max_ms", r->lead_max_ms);
    jw_close(j, '}');

    jw_open(j, "shots", '{');
    jw_u64(j, "fired", r->shots);
    jw_u64(j, "screen_hits", r->screen_hits);
    jw_u64(j, "server_hits", r->server_hits);
    jw_num(j, "registered_pct", d->registered_pct);
    jw_u64(j, "registered", r->hits_registered);
    jw_num(j, "registered_per_shot_pct", d->per_shot_pct);
    jw_num(j, "registered_both_alive_pct", d->alive_pct);
    jw_open(j, "not_registered", '{');
    jw_u64(j, "target_dead", r->lost_target_dead);
    jw_u64(j, "target_dead_own_kill", r->lost_target_own_kill);
    jw_u64(j, "shooter_dead", r->lost_shooter_dead);
    jw_u64(j, "round_over", r->lost_round);
    jw_u64(j, "other", r->lost_other);
    jw_close(j, '}');
    jw_u64(j, "not_acknowledged", r->hits_unacked);
    jw_u64(j, "server_only", r->server_only_hits);
    jw_open(j, "view_age_ms", '{');
    jw_u64(j, "samples", r->view_age_n);
    jw_num(j, "p50", r->view_age_p50_ms);
    jw_num(j, "p99", r->view_age_p99_ms);
    jw_num(j, "max", r->view_age_max_ms);
    jw_close(j, '}');
    jw_close(j, '}');

    jw_open(j, "events", '{');
    jw_u64(j, "received", r->events);
    jw_u64(j, "lost", r->events_lost);
    jw_u64(j, "kills", r->ev_kills);
    jw_u64(j, "chat", r->ev_chat);
    jw_u64(j, "rounds", r->ev_rounds);
    jw_u64(j, "joins_leaves", r->ev_other);
    jw_close(j, '}');

    jw_open(j, "spectators", '{');
    jw_num(j, "requested", r->spectators);
    jw_num(j, "connected_max", r->spec_connected_max);
    jw_num(j, "connected_end", r->spec_connected_end);
    jw_num(j, "ever_connected", r->spec_ever_connected);
    jw_num(j, "matches_watched", r->spec_matches_seen);
    jw_num(j, "rate_hz", r->spectator_rate);
    jw_u64(j, "snapshots", r->spec_snapshots);
    jw_num(j, "snapshots_expected", r->spec_snapshots_expected);
    jw_num(j, "snapshots_pct",
           r->spec_snapshots_expected > 0 ? 100.0 * (double)r->spec_snapshots / r->spec_snapshots_expected : 0.0);
    jw_u64(j, "full_snapshots", r->spec_full_snapshots);
    jw_num(j, "measured", r->spec_measured);
    jw_num(j, "below_99", r->spec_below_99);
    jw_num(j, "min_pct", r->spec_min_pct);
    jw_u64(j, "bytes_down", r->spec_bytes_down);
    jw_num(j, "seconds", r->spec_seconds);
    jw_u64(j, "events", r->spec_events);
    jw_u64(j, "kills", r->spec_kills);
    jw_u64(j, "events_lost", r->spec_events_lost);
    jw_close(j, '}');

    jw_open(j, "bot_process", '{');
    jw_num(j, "cpu_user_s", r->cpu_user_s);
    jw_num(j, "cpu_sys_s", r->cpu_sys_s);
    jw_num(j, "cpu_pct_of_core", d->cpu_pct_of_core);
    jw_num(j, "cpu_us_per_bot_second", d->cpu_us_per_bot_second);
    jw_num(j, "max_rss_kb", (double)r->max_rss_kb);
    jw_u64(j, "ticks", r->ticks);
    jw_u64(j, "ticks_skipped", r->ticks_missed);
    jw_num(j, "tick_late_max_ms", r->tick_late_max_ms);
    jw_u64(j, "bodies_decoded", r->memo_decodes);
    jw_u64(j, "bodies_shared", r->memo_hits);
    jw_u64(j, "bodies_shared_checked", r->memo_checked);
    jw_u64(j, "bodies_shared_mismatches", r->memo_mismatches);
    jw_close(j, '}');
}

int report_write_json(const char *path, const report_input *in, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    const bots_opts *o = in->opts;
    jw j = {f, 0, {1}};
    jw_open(&j, NULL, '{');
    jw_str(&j, "tool", "tickwire-bots");
    jw_num(&j, "report_version", 4);
    jw_num(&j, "started_unix", (double)in->started);
    jw_open(&j, "config", '{');
    jw_str(&j, "url", o->url);
    jw_num(&j, "bots", o->bots);
    jw_num(&j, "duration_s", o->duration_s);
    jw_num(&j, "ramp_s", o->ramp_s);
    jw_str(&j, "behavior", behavior_name(o->behavior));
    if (o->input_rate)
        jw_num(&j, "input_rate", o->input_rate);
    else
        jw_str(&j, "input_rate", NULL);
    if (o->behavior == BEHAVIOR_CHAOS)
        jw_num(&j, "chaos_prob", o->chaos_prob);
    jw_num(&j, "phases", o->phases);
    jw_num(&j, "read_every_ms", opts_read_every_ms(o));
    jw_u64(&j, "seed", o->seed);
    jw_bool(&j, "tls", o->tls);
    jw_str(&j, "ca", o->ca_path);
    jw_bool(&j, "insecure", o->insecure);
    jw_str(&j, "token_source", o->token_secret_file ? "secret_file" : "demo");
    jw_num(&j, "max_connecting", o->max_connecting);
    jw_num(&j, "latency_ms", o->latency_ms);
    jw_num(&j, "jitter_ms", o->jitter_ms);
    jw_bool(&j, "fail_on_miss", o->fail_on_miss);
    if (o->behavior == BEHAVIOR_CHAOS) {
        char kinds[64];
        drop_kinds_format(o->chaos_drops, kinds, sizeof kinds);
        jw_str(&j, "chaos_drop", kinds);
        jw_num(&j, "backoff_base_ms", o->backoff_base_ms);
        jw_num(&j, "backoff_max_ms", o->backoff_max_ms);
    }
    jw_close(&j, '}');
    jw_bool(&j, "reachable", in->reachable);
    if (in->error)
        jw_str(&j, "error", in->error);
    json_verdict(&j, in);
    if (in->res) {
        derived d;
        derive(in, &d);
        json_result(&j, in, &d);
        json_server(&j, in, &d);
        jw_series(&j, in->res);
        if (in->metrics)
            jw_server_series(&j, &in->metrics->series);
    }
    jw_close(&j, '}');
    fputc('\n', f);
    if (fclose(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- HTML ------------------------------------------------------------------------- */

static void html_esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f); break;
        }
    }
}

/* 1, 2, 2.5, 5 x 10^k: a round step of at least raw. */
static double nice_step(double raw)
{
    if (!(raw > 0))
        return 1;
    double mag = pow(10, floor(log10(raw)));
    static const double M[] = {1, 2, 2.5, 5, 10};
    for (int i = 0; i < 5; i++)
        if (M[i] * mag >= raw)
            return M[i] * mag;
    return 10 * mag;
}

typedef struct chart_line {
    const char *label, *color;
    const double *y; /* NaN: no point (the line breaks) */
} chart_line;

#define CW 560
#define CH 220
#define ML 64
#define MR 16
#define MT 40
#define MB 34

/* The x axis of every chart: the run's length, so the bots' and the
 * server's charts line up. */
static double g_chart_xspan;

/* One line chart as inline SVG: x is seconds since the start, y one unit.
 * ref (NaN: none) draws a dashed line at a target, labelled ref_label; the
 * y axis reaches it unless the data stay under a quarter of it (the line
 * would flatten them), and then the label says it is off the scale. */
static void svg_chart(FILE *f, const char *title, const char *unit, const double *x, int n, const chart_line *lines,
                      int nlines, double ref, const char *ref_label)
{
    double xmax = g_chart_xspan > 1 ? g_chart_xspan : 1, ymax = 0;
    for (int i = 0; i < n; i++) {
        if (x[i] > xmax * 1.05) /* a last sample a few ms past the end stays on the run's axis */
            xmax = x[i];
        for (int l = 0; l < nlines; l++)
            if (!isnan(lines[l].y[i]) && lines[l].y[i] > ymax)
                ymax = lines[l].y[i];
    }
    int ref_off = !isnan(ref) && ref > 4 * ymax && ymax > 0;
    if (!isnan(ref) && !ref_off && ref > ymax)
        ymax = ref;
    double ystep = nice_step(ymax > 0 ? ymax / 4 : 0.25);
    double ytop = ystep * ceil(ymax > 0 ? ymax / ystep : 4);
    if (ytop < ystep)
        ytop = ystep;
    double xstep = nice_step(xmax / 6);
    double pw = CW - ML - MR, ph = CH - MT - MB;
#define PX(v) (ML + (v) / xmax * pw)
#define PY(v) (MT + ph - (v) / ytop * ph)
    fprintf(f, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"100%%\" role=\"img\">\n", CW, CH);
    fprintf(f, "<text x=\"%d\" y=\"18\" class=\"title\">", ML);
    html_esc(f, title);
    fprintf(f, " <tspan class=\"unit\">(");
    html_esc(f, unit);
    fprintf(f, ")</tspan></text>\n");
    for (double v = 0; v <= ytop + ystep / 2; v += ystep) {
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>", ML, CW - MR, PY(v), PY(v));
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"ylab\">%g</text>\n", ML - 6, PY(v) + 4, v);
    }
    for (double v = 0; v <= xmax + xstep / 2; v += xstep)
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"xlab\">%gs</text>\n", PX(v), CH - MB + 16, v);
    int lx = ML;
    for (int l = 0; l < nlines; l++) {
        fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" d=\"", lines[l].color);
        int pen = 0;
        for (int i = 0; i < n; i++) {
            double y = lines[l].y[i];
            if (isnan(y)) {
                pen = 0;
                continue;
            }
            fprintf(f, "%c%.1f %.1f ", pen ? 'L' : 'M', PX(x[i]), PY(y));
            pen = 1;
        }
        fprintf(f, "\"/>\n");
        /* single points would not show as a path */
        if (n == 1 && !isnan(lines[l].y[0]))
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", PX(x[0]), PY(lines[l].y[0]),
                    lines[l].color);
        fprintf(f, "<text x=\"%d\" y=\"33\" class=\"legend\" fill=\"%s\">", lx, lines[l].color);
        html_esc(f, lines[l].label);
        int measured = 0;
        for (int i = 0; i < n && !measured; i++)
            measured = !isnan(lines[l].y[i]);
        fprintf(f, "%s</text>\n", measured || !n ? "" : " (n/a)");
        lx += 24 + 7 * (int)strlen(lines[l].label) + (measured || !n ? 0 : 42);
    }
    if (ref_off) {
        char unit_word[16];
        snprintf(unit_word, sizeof unit_word, "%.*s", (int)strcspn(unit, ", "), unit);
        fprintf(f, "<text x=\"%d\" y=\"33\" class=\"reflab\">", CW - MR - 4);
        html_esc(f, ref_label);
        fprintf(f, " %.3g ", ref);
        html_esc(f, unit_word);
        fprintf(f, " (off the scale)</text>\n");
    } else if (!isnan(ref)) {
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"ref\"/>", ML, CW - MR, PY(ref),
                PY(ref));
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"reflab\">", CW - MR - 4, PY(ref) - 4);
        html_esc(f, ref_label);
        fprintf(f, "</text>\n");
    }
    int any = 0;
    for (int i = 0; i < n && !any; i++)
        for (int l = 0; l < nlines; l++)
            any |= !isnan(lines[l].y[i]);
    if (!any)
        fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"xlab\">%s</text>\n", CW / 2, CH / 2,
                n ? "not measured (not in this server's /metrics)" : "no samples");
    fprintf(f, "</svg>\n");
#undef PX
#undef PY
}

static void html_row(FILE *f, const char *k, const char *fmtv, ...) __attribute__((format(printf, 3, 4)));
static void html_row(FILE *f, const char *k, const char *fmtv, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmtv);
    vsnprintf(buf, sizeof buf, fmtv, ap);
    va_end(ap);
    fprintf(f, "<tr><th>");
    html_esc(f, k);
    fprintf(f, "</th><td>");
    html_esc(f, buf);
    fprintf(f, "</td></tr>\n");
}

static void html_reasons(FILE *f, const char *title, const swarm_reasons *rs)
{
    if (!rs->n && !rs->other)
        return;
    fprintf(f, "<h3>");
    html_esc(f, title);
    fprintf(f, "</h3>\n<table class=\"reasons\"><tr><th>count</th><th>code</th><th>reason</th></tr>\n");
    for (int i = 0; i < rs->n; i++) {
        fprintf(f, "<tr><td>%u</td><td>", rs->r[i].count);
        if (rs->r[i].code)
            fprintf(f, "%d", rs->r[i].code);
        fprintf(f, "</td><td>");
        html_esc(f, rs->r[i].text);
        fprintf(f, "</td></tr>\n");
    }
    if (rs->other)
        fprintf(f, "<tr><td>%u</td><td></td><td>(other reasons)</td></tr>\n", rs->other);
    fprintf(f, "</table>\n");
}

/* The bots' series, one chart per unit; rtt_target draws the RTT target. */
static void html_bot_charts(FILE *f, const swarm_result *r, int chaos, double rtt_target)
{
    int n = r->nseries;
    double *col = calloc((size_t)(n ? n : 1) * 12, sizeof *col);
    if (!col)
        return;
    double *t = col, *conn = col + n, *snaps = col + 2 * n, *kbd = col + 3 * n, *kbu = col + 4 * n,
           *p50 = col + 5 * n, *p99 = col + 6 * n, *cpu = col + 7 * n, *late = col + 8 * n, *drops = col + 9 * n,
           *resumed = col + 10 * n, *corr = col + 11 * n;
    for (int i = 0; i < n; i++) {
        const swarm_sample *s = &r->series[i];
        double dt = s->dt_s > 0 ? s->dt_s : 1;
        t[i] = s->t_s;
        conn[i] = s->connected;
        snaps[i] = s->snapshots / dt;
        kbd[i] = (double)s->bytes_down / dt / 1e3;
        kbu[i] = (double)s->bytes_up / dt / 1e3;
        p50[i] = s->rtt_n ? s->rtt_p50_ms : NAN;
        p99[i] = s->rtt_n ? s->rtt_p99_ms : NAN;
        cpu[i] = s->cpu_pct;
        late[i] = s->tick_late_ms;
        drops[i] = s->drops;
        resumed[i] = s->resumed;
        corr[i] = s->corrections;
    }
    chart_line lc[] = {{"connected", "#2a7ae2", conn}};
    chart_line ls[] = {{"received", "#2a9d5c", snaps}};
    chart_line ld[] = {{"down", "#7b4fd1", kbd}};
    chart_line lu[] = {{"up", "#d9822b", kbu}};
    chart_line lr[] = {{"p50", "#2a7ae2", p50}, {"p99", "#d64545", p99}};
    chart_line lx[] = {{"corrections", "#d64545", corr}};
    chart_line lp[] = {{"cpu", "#444444", cpu}};
    chart_line ll[] = {{"latest wakeup", "#d64545", late}};
    svg_chart(f, "Bots in a match", "bots", t, n, lc, 1, NAN, NULL);
    svg_chart(f, "Snapshots received", "per second, all bots", t, n, ls, 1, NAN, NULL);
    svg_chart(f, "Download", "KB/s, all bots, WebSocket payload", t, n, ld, 1, NAN, NULL);
    svg_chart(f, "Upload", "KB/s, all bots, WebSocket payload", t, n, lu, 1, NAN, NULL);
    svg_chart(f, "Input to ack round trip", "ms, acks of each second", t, n, lr, 2, rtt_target, "target p99");
    svg_chart(f, "Prediction corrections", "per second, all bots", t, n, lx, 1, NAN, NULL);
    svg_chart(f, "The bots' process: CPU", "% of one core", t, n, lp, 1, NAN, NULL);
    svg_chart(f, "The bots' clock: late wakeups", "ms, latest of each second", t, n, ll, 1, NAN, NULL);
    if (chaos) {
        chart_line lh[] = {{"drops", "#d64545", drops}, {"resumed", "#2a9d5c", resumed}};
        svg_chart(f, "Chaos", "per second", t, n, lh, 2, NAN, NULL);
    }
    free(col);
}

/* The server's series from the per-second scrapes, one chart per unit. */
static void html_server_charts(FILE *f, const report_metrics *m, double tick_ms)
{
    const prom_series *ps = m ? &m->series : NULL;
    if (!ps || ps->n == 0) {
        fprintf(f, "<p class=\"note\">No server series: ");
        html_esc(f, m && m->note[0] ? m->note : "GET /metrics did not answer during the run");
        fprintf(f, "</p>\n");
        return;
    }
    int n = ps->n;
    double *col = calloc((size_t)n * (SRV_COLS + 1), sizeof *col);
    if (!col)
        return;
    double *t = col;
    for (int i = 0; i < n; i++) {
        t[i] = ps->p[i].t_s;
        for (int c = 0; c < SRV_COLS; c++)
            col[(size_t)(c + 1) * n + i] = srv_col(&ps->p[i].w, c);
    }
#define SC(c) (col + (size_t)((c) + 1) * n)
    chart_line lc[] = {{"connections", "#2a7ae2", SC(SRV_CONNECTIONS)}};
    chart_line ls[] = {{"sent", "#2a9d5c", SC(SRV_SNAPSHOTS_PS)}};
    chart_line lk[] = {{"snapshots", "#7b4fd1", SC(SRV_SNAPSHOT_KB_PS)}, {"all", "#444444", SC(SRV_SENT_KB_PS)}};
    chart_line lr[] = {{"received", "#d9822b", SC(SRV_RECEIVED_KB_PS)}};
    chart_line li[] = {{"input messages", "#d9822b", SC(SRV_INPUTS_PS)}};
    chart_line lt[] = {{"p50", "#2a7ae2", SC(SRV_TICK_P50_MS)}, {"p99", "#d64545", SC(SRV_TICK_P99_MS)}};
    chart_line lq[] = {{"p99", "#d64545", SC(SRV_QUEUE_P99)}, {"deepest", "#444444", SC(SRV_QUEUE_MAX)}};
    chart_line lu[] = {{"cpu", "#444444", SC(SRV_CPU_PCT)}};
    chart_line lx[] = {{"missed ticks", "#d64545", SC(SRV_MISSED_TICKS)},
                       {"snapshots skipped", "#d9822b", SC(SRV_SKIPPED)},
                       {"clients dropped (slow)", "#7b4fd1", SC(SRV_DROPPED_SLOW)}};
    svg_chart(f, "Server: connections", "WebSocket connections", t, n, lc, 1, NAN, NULL);
    svg_chart(f, "Server: snapshots sent", "per second", t, n, ls, 1, NAN, NULL);
    svg_chart(f, "Server: sent", "KB/s, WebSocket payload", t, n, lk, 2, NAN, NULL);
    svg_chart(f, "Server: received", "KB/s, WebSocket payload", t, n, lr, 1, NAN, NULL);
    svg_chart(f, "Server: input messages received", "per second", t, n, li, 1, NAN, NULL);
    svg_chart(f, "Server: tick duration", "ms, from the histogram's buckets, each second", t, n, lt, 2,
              tick_ms > 0 ? tick_ms : NAN, "tick period");
    svg_chart(f, "Server: missed, skipped, dropped", "count per second", t, n, lx, 3, NAN, NULL);
    svg_chart(f, "Server: CPU", "% of one core", t, n, lu, 1, NAN, NULL);
    svg_chart(f, "Server: input queue depth", "inputs waiting per player", t, n, lq, 2, NAN, NULL);
#undef SC
    free(col);
}

static void html_server(FILE *f, const report_input *in, const derived *d)
{
    const report_metrics *m = in->metrics;
    char a[32], b[32], c[32], e[32], g[32], h[32];
    fprintf(f, "<h2>Server (GET /metrics)</h2>\n");
    if (!m || !m->available) {
        fprintf(f, "<p>");
        html_esc(f, m && m->note[0] ? m->note : "not fetched");
        fprintf(f, "</p>\n");
        return;
    }
    const prom_window *w = &m->w;
    fprintf(f, "<table>\n");
    html_row(f, "window", "%.1f s", w->seconds);
    html_row(f, "cpu", "%s%% of one core", fmt(a, sizeof a, "%.1f", d->srv_cpu_pct));
    html_row(f, "resident memory", "%s MB", fmt(a, sizeof a, "%.1f", w->resident_memory_bytes / 1e6));
    html_row(f, "connections (end)", "%s", fmt(a, sizeof a, "%.0f", w->connections));
    html_row(f, "ticks", "%s (%s/s), missed %s, overruns %s", fmt(a, sizeof a, "%.0f", w->ticks),
             fmt(b, sizeof b, "%.1f", d->srv_ticks_ps), fmt(c, sizeof c, "%.0f", w->missed_ticks),
             fmt(e, sizeof e, "%.0f", w->tick_overruns));
    html_row(f, "tick duration", "p50 %s ms, p99 %s ms, mean %s ms", fmt(a, sizeof a, "%.3f", w->tick_p50_s * 1e3),
             fmt(b, sizeof b, "%.3f", w->tick_p99_s * 1e3), fmt(c, sizeof c, "%.3f", d->srv_tick_mean_ms));
    html_row(f, "snapshots sent", "%s (%s/s), %s KB/s, skipped %s", fmt(a, sizeof a, "%.0f", w->snapshot_messages),
             fmt(b, sizeof b, "%.0f", d->srv_snapshots_ps), fmt(c, sizeof c, "%.1f", d->srv_snapshot_Bps / 1e3),
             fmt(e, sizeof e, "%.0f", w->snapshots_skipped));
    html_row(f, "input messages", "%s (%s/s)", fmt(a, sizeof a, "%.0f", w->input_messages),
             fmt(b, sizeof b, "%.0f", d->srv_inputs_ps));
    html_row(f, "players", "%s joins, %s leaves, %s holds, %s resumes, %s holds expired, %s auth refusals",
             fmt(a, sizeof a, "%.0f", w->joins), fmt(b, sizeof b, "%.0f", w->leaves), fmt(c, sizeof c, "%.0f", w->holds),
             fmt(e, sizeof e, "%.0f", w->resumes), fmt(g, sizeof g, "%.0f", w->holds_expired),
             fmt(h, sizeof h, "%.0f", w->auth_refusals));
    html_row(f, "combat", "%s shots, %s hits, %s kills; %s shots judged at the --max-unlag-ms bound (view older)",
             fmt(a, sizeof a, "%.0f", w->shots), fmt(b, sizeof b, "%.0f", w->hits), fmt(c, sizeof c, "%.0f", w->kills),
             fmt(e, sizeof e, "%.0f", w->unlag_clamped));
    if (m->connected_available)
        html_row(f, "memory", "rss %s MB with all bots in (at %.1f s), %s MB at the end (%s%%)",
                 fmt(a, sizeof a, "%.1f", m->connected_rss_bytes / 1e6), m->connected_t_s,
                 fmt(b, sizeof b, "%.1f", w->resident_memory_bytes / 1e6), fmt(c, sizeof c, "%+.1f", d->rss_growth_pct));
    fprintf(f, "</table>\n");
}

/* What stands behind a check's figure, in words, for the HTML table. */
static void check_detail(const report_input *in, verdict_id id, char *buf, size_t cap)
{
    const swarm_result *r = in->res;
    const report_metrics *m = in->metrics;
    const prom_window *w = m && m->available ? &m->w : NULL;
    buf[0] = '\0';
    switch (id) {
    case VERDICT_CONNECTED:
        snprintf(buf, cap, "%u of %d bots; %u failed attempts", r->connected_max, in->opts->bots, r->failed);
        break;
    case VERDICT_SNAPSHOTS:
        snprintf(buf, cap, "%llu of %.0f expected", (unsigned long long)r->snapshots, r->snapshots_expected);
        break;
    case VERDICT_BOTS_BELOW:
        if (r->bots_measured)
            snprintf(buf, cap, "%u of %u bots; the lowest got %.1f%%", r->bots_below_99, r->bots_measured,
                     r->min_bot_pct);
        break;
    case VERDICT_RTT_P99:
        snprintf(buf, cap, "p50 %.1f ms, max %.1f ms, %llu acks", r->rtt_p50_ms, r->rtt_max_ms,
                 (unsigned long long)r->rtt_n);
        break;
    case VERDICT_MISSED_TICKS:
        if (w)
            snprintf(buf, cap, "of %.0f ticks; %.0f overruns", w->ticks + w->missed_ticks, w->tick_overruns);
        break;
    case VERDICT_TICK_P99:
        if (w)
            snprintf(buf, cap, "p50 %.3f ms", w->tick_p50_s * 1e3);
        break;
    case VERDICT_CORRECTIONS:
        if (r->corrections_stale)
            snprintf(buf, cap, "and %llu from a snapshot older than the join", (unsigned long long)r->corrections_stale);
        break;
    case VERDICT_SPECTATOR_SNAPSHOTS:
        snprintf(buf, cap, "%llu of %.0f expected at %u Hz; %u of %u spectators under 99%%, the lowest %.1f%%",
                 (unsigned long long)r->spec_snapshots, r->spec_snapshots_expected, r->spectator_rate,
                 r->spec_below_99, r->spec_measured, r->spec_min_pct);
        break;
    case VERDICT_DISCONNECTS:
        if (r->disconnects.n)
            snprintf(buf, cap, "most: %u x %d %s", r->disconnects.r[0].count, r->disconnects.r[0].code,
                     r->disconnects.r[0].text);
        break;
    default:
        break;
    }
}

/* The verdict first: a banner, then one row per check, misses in red, and
 * a caution when the bots' own process was late (its figures then include
 * its own delay). */
static void html_verdict(FILE *f, const report_input *in, const verdict *v)
{
    char words[400], a[32], b[32], detail[160];
    verdict_words(in, v, words, sizeof words);
    const char *rest = strchr(words, ':'); /* the words after "PASS:" */
    fprintf(f, "<div class=\"banner %s\"><b>%s</b> ", v->pass ? "pass" : "fail", v->pass ? "PASS" : "FAIL");
    html_esc(f, rest ? rest + 1 : "");
    fprintf(f, "</div>\n");
    if (!in->reachable || !in->res)
        return;
    char late[160];
    if (bots_late_words(in->res, late, sizeof late)) {
        fprintf(f, "<p class=\"caution\">Caution: ");
        html_esc(f, late);
        fprintf(f, ". What the bots measured (RTT, snapshots, intervals) includes that delay: check the bots' "
                   "process (charts below) before blaming the server.</p>\n");
    }
    fprintf(f, "<table class=\"checks\"><tr><th></th><th>figure</th><th class=\"num\">measured</th>"
               "<th class=\"num\">target</th><th></th></tr>\n");
    for (int i = 0; i < VERDICT_N; i++) {
        const verdict_check *c = &v->c[i];
        static const char *const CLS[] = {"pass", "fail", "na", "na"};
        static const char *const MARK[] = {"PASS", "FAIL", "n/a", "&ndash;"};
        verdict_format((verdict_id)i, c->value, a, sizeof a);
        if (c->status == VERDICT_UNJUDGED)
            snprintf(b, sizeof b, "none");
        else
            verdict_format((verdict_id)i, c->target, b, sizeof b);
        fprintf(f, "<tr class=\"%s\"><td class=\"mark\">%s</td><td>", CLS[c->status], MARK[c->status]);
        html_esc(f, verdict_label((verdict_id)i));
        fprintf(f, "</td><td class=\"num\">");
        html_esc(f, a);
        fprintf(f, "</td><td class=\"num\">%s ", c->status == VERDICT_UNJUDGED       ? ""
                                                 : verdict_op((verdict_id)i)[0] == '<' ? "&le;"
                                                                                       : "&ge;");
        html_esc(f, b);
        fprintf(f, "</td><td class=\"why\">");
        check_detail(in, (verdict_id)i, detail, sizeof detail);
        html_esc(f, detail);
        if (c->custom)
            fprintf(f, "%s(--target %s)", detail[0] ? " " : "", verdict_name((verdict_id)i));
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n");
}

static const char CSS[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:20px auto;max-width:1180px;padding:0 16px;color:#222}"
    "h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin-top:28px}h3{font-size:14px}"
    "p.sub{color:#555;margin:0 0 12px}"
    "table{border-collapse:collapse;margin:8px 0}th,td{padding:3px 10px;border-bottom:1px solid #eee;"
    "text-align:left;vertical-align:top}th{font-weight:600;color:#555;white-space:nowrap}"
    ".banner{font-size:16px;padding:10px 16px;border-radius:6px;margin:8px 0}"
    ".banner b{font-size:26px;margin-right:2px}"
    ".caution{background:#fff4d6;border:1px solid #e8c96a;padding:6px 12px;border-radius:4px}"
    ".banner.pass{background:#dff3e6;color:#1e6b3a;border:1px solid #9fd4b2}"
    ".banner.fail{background:#fbe0dd;color:#a12a1d;border:1px solid #eba59c}"
    "table.checks{width:100%}table.checks td{padding:5px 12px}"
    "table.checks .num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "table.checks tr.fail{background:#f9d3ce;font-weight:600}table.checks tr.fail .mark{color:#a12a1d}"
    "table.checks tr.pass .mark{color:#1e6b3a}table.checks tr.na{color:#888}"
    "table.checks .mark{font-weight:700}table.checks .why{color:#777;font-size:12px}"
    ".cols{display:grid;grid-template-columns:1fr 1fr;gap:0 20px}.cols h2{margin-top:8px}"
    ".chart{display:block;margin:10px 0;background:#fafafa;border:1px solid #eee}"
    ".chart .title{font-weight:600;font-size:13px}.chart .unit{font-weight:400;fill:#777}"
    ".chart .grid{stroke:#e4e4e4}.chart .ylab{font-size:11px;fill:#777;text-anchor:end}"
    ".chart .xlab{font-size:11px;fill:#777;text-anchor:middle}.chart .legend{font-size:12px;font-weight:600}"
    ".chart .ref{stroke:#a12a1d;stroke-dasharray:5 4}.chart .reflab{font-size:11px;fill:#a12a1d;text-anchor:end}"
    ".note{color:#777}.bad{color:#c0392b}";

int report_write_html(const char *path, const report_input *in, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    const bots_opts *o = in->opts;
    char when[64];
    struct tm tm;
    gmtime_r(&in->started, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    fprintf(f, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<title>tickwire-bots: %d bots, %s</title>\n<style>%s</style></head><body>\n",
            o->bots, behavior_name(o->behavior), CSS);
    fprintf(f, "<h1>tickwire-bots: %d bots, %s</h1>\n<p class=\"sub\">", o->bots, behavior_name(o->behavior));
    html_esc(f, o->url);
    char dw[128];
    fprintf(f, " &middot; %s &middot; %.1f s, ramp %.1f s &middot; seed %llu &middot; network delay ", when,
            o->duration_s, o->ramp_s, (unsigned long long)o->seed);
    html_esc(f, delay_words(o, dw, sizeof dw));
    fprintf(f, "</p>\n");
    verdict v;
    report_judge(in, &v);
    html_verdict(f, in, &v);
    if (!in->reachable || !in->res) {
        fprintf(f, "<p class=\"bad\">Server not reached: ");
        html_esc(f, in->error ? in->error : "no bot connected");
        fprintf(f, "</p>\n");
        if (in->res)
            html_reasons(f, "Failures", &in->res->failures);
        fprintf(f, "</body></html>\n");
        return fclose(f) ? -1 : 0;
    }
    const swarm_result *r = in->res;
    derived d;
    derive(in, &d);
    char a[32], b[32], c[32], e[32];
    g_chart_xspan = o->duration_s;
    fprintf(f, "<div class=\"cols\"><div><h2>Bots</h2>\n");
    html_bot_charts(f, r, o->behavior == BEHAVIOR_CHAOS, v.c[VERDICT_RTT_P99].target);
    fprintf(f, "</div><div><h2>Server (GET /metrics each second)</h2>\n");
    html_server_charts(f, in->metrics, r->tick_rate ? 1000.0 / r->tick_rate : NAN);
    fprintf(f, "</div></div>\n");
    fprintf(f, "<h2>Summary</h2>\n<table>\n");
    html_row(f, "server rates", "tick %u Hz, snapshots %u Hz; %d input messages/s per bot, ticks in %d phases",
             r->tick_rate, r->snapshot_rate, r->input_rate, r->phases);
    if (o->latency_ms || o->jitter_ms)
        html_row(f, "network delay", "%s; most queued for a bot %u in, %u out; dropped with their connection %llu in, "
                 "%llu out; %u queues full",
                 delay_words(o, dw, sizeof dw), r->delay_depth_in, r->delay_depth_out,
                 (unsigned long long)r->delay_dropped_in, (unsigned long long)r->delay_dropped_out, r->delay_full);
    else
        html_row(f, "network delay", "none added");
    html_row(f, "bots connected", "%u max, %u at end, %u ever, of %d", r->connected_max, r->connected_end,
             r->ever_connected, o->bots);
    html_row(f, "failed", "%u of %u attempts", r->failed, r->connect_attempts);
    if (r->auth_refused)
        html_row(f, "auth refused", "%u (never retried)", r->auth_refused);
    html_row(f, "join tokens", "%u %s, %u failed; fetch p50 %.1f ms, p99 %.1f ms, max %.1f ms", r->tokens_received,
             r->tokens_minted ? "minted with the secret" : "from POST /api/join", r->tokens_failed, r->token_ms.p50,
             r->token_ms.p99, r->token_ms.max);
    if (o->behavior == BEHAVIOR_CHAOS) {
        html_row(f, "chaos", "%u drops of %u bots (close %u, reset %u, takeover %u, leave %u; by the server %u), "
                 "%u reconnects of %u attempts",
                 r->drops, r->bots_dropped, r->drops_by[SWARM_DROP_CLOSE], r->drops_by[SWARM_DROP_RESET],
                 r->drops_by[SWARM_DROP_TAKEOVER], r->drops_by[SWARM_DROP_LEAVE], r->drops_by[SWARM_DROP_SERVER],
                 r->reconnects,
                 r->reconnect_attempts);
        html_row(f, "resume", "%u attempts: %u resumed, %u as another player, %u refused, %u not flagged, %u lost; "
                 "%u rejoined fresh; %u back after a leave; %u away at the end",
                 r->resume_attempts, r->resumed, r->resumed_as_other, r->resume_refused, r->resume_unflagged,
                 r->resume_lost, r->rejoined, r->rejoined_after_leave, r->away_at_end);
        html_row(f, "drop -> resumed", "p50 %.1f ms, p99 %.1f ms, max %.1f ms (%u)", r->resume_ms.p50,
                 r->resume_ms.p99, r->resume_ms.max, r->resume_ms.n);
        html_row(f, "while away", "%llu inputs made, %llu waited; %u old connections closed by the server (takeover)",
                 (unsigned long long)r->inputs_offline, (unsigned long long)r->inputs_offline_waited,
                 r->takeover_old_closed);
    }
    html_row(f, "disconnects", "%u", r->disconnects.total);
    html_row(f, "input->ack round trip", "p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms (%llu acks)",
             r->rtt_p50_ms, r->rtt_p95_ms, r->rtt_p99_ms, r->rtt_max_ms, (unsigned long long)r->rtt_n);
    if (r->inputs_judged)
        html_row(f, "input timing", "lead mean %.2f ms, max %.2f ms; %llu of %llu inputs late for their tick (%.3f%%)",
                 r->lead_mean_ms, r->lead_max_ms, (unsigned long long)r->inputs_late,
                 (unsigned long long)r->inputs_judged, 100.0 * (double)r->inputs_late / (double)r->inputs_judged);
    html_row(f, "snapshot interval", "nominal %.2f ms: mean %.2f, stddev %.2f, p99 %.1f, max %.1f ms",
             r->interval_nominal_ms, r->interval_mean_ms, r->interval_stddev_ms, r->interval_p99_ms,
             r->interval_max_ms);
    html_row(f, "snapshots", "%llu of %.0f expected (%s%%); %u of %u bots below 99%% (lowest %s%%)",
             (unsigned long long)r->snapshots, r->snapshots_expected, fmt(a, sizeof a, "%.1f", d.snapshots_pct),
             r->bots_below_99, r->bots_measured, fmt(b, sizeof b, "%.1f", r->bots_measured ? r->min_bot_pct : NAN));
    html_row(f, "per bot", "down %s B/s, up %s B/s", fmt(a, sizeof a, "%.0f", d.down_Bps_per_bot),
             fmt(b, sizeof b, "%.0f", d.up_Bps_per_bot));
    html_row(f, "bytes per entity", "%s per entity, %s per moving entity (%s entities, %s moving per snapshot)",
             fmt(a, sizeof a, "%.2f", d.bytes_per_entity), fmt(b, sizeof b, "%.2f", d.bytes_per_moving_entity),
             fmt(c, sizeof c, "%.1f", d.entities_per_snapshot), fmt(e, sizeof e, "%.1f", d.moving_per_snapshot));
    html_row(f, "corrections", "%llu (%s per bot-minute, largest %.2f units); %llu right after a join, from a snapshot "
             "that predates it", (unsigned long long)r->corrections, fmt(a, sizeof a, "%.3f", d.corrections_per_bot_minute),
             r->max_correction, (unsigned long long)r->corrections_stale);
    if (o->behavior == BEHAVIOR_FIGHT || r->shots) {
        html_row(f, "shots", "%llu fired, %llu hit on the shooter's screen, %llu hits registered by the server: "
                 "%s%% of the screen hits", (unsigned long long)r->shots, (unsigned long long)r->screen_hits,
                 (unsigned long long)r->server_hits, fmt(a, sizeof a, "%.2f", d.registered_pct));
        html_row(f, "both alive", "%s%% of the screen hits whose shooter and target were both still alive on the "
                 "server when it judged the shot were registered (%llu of %llu)", fmt(c, sizeof c, "%.2f", d.alive_pct),
                 (unsigned long long)r->hits_registered, (unsigned long long)(r->hits_registered + r->lost_other));
        html_row(f, "shot by shot", "%llu screen hits registered (%s%%); not registered: %llu target dead or respawned "
                 "on the server first (%llu killed by the shooter's own earlier shot), %llu shooter dead first, %llu "
                 "round over, %llu other; %llu not acknowledged by the end; %llu server hits not on the screen",
                 (unsigned long long)r->hits_registered, fmt(b, sizeof b, "%.2f", d.per_shot_pct),
                 (unsigned long long)r->lost_target_dead, (unsigned long long)r->lost_target_own_kill,
                 (unsigned long long)r->lost_shooter_dead,
                 (unsigned long long)r->lost_round, (unsigned long long)r->lost_other,
                 (unsigned long long)r->hits_unacked, (unsigned long long)r->server_only_hits);
        html_row(f, "view age", "p50 %.1f ms, p99 %.1f ms, max %.1f ms from what the shooter drew to the tick the "
                 "server judged the shot (%llu shots)", r->view_age_p50_ms, r->view_age_p99_ms, r->view_age_max_ms,
                 (unsigned long long)r->view_age_n);
    }
    html_row(f, "events", "%llu received (%llu kills, %llu chat, %llu round starts and ends, %llu joins and leaves), "
             "%llu lost", (unsigned long long)r->events, (unsigned long long)r->ev_kills,
             (unsigned long long)r->ev_chat, (unsigned long long)r->ev_rounds, (unsigned long long)r->ev_other,
             (unsigned long long)r->events_lost);
    if (r->spectators)
        html_row(f, "spectators", "%u of %d connected at most, %u at the end; %llu snapshots of %.0f expected at %u Hz "
                 "(%u of %u under 99%%, the lowest %.1f%%), %llu full; %llu events (%llu kills), %llu lost",
                 r->spec_connected_max, r->spectators, r->spec_connected_end, (unsigned long long)r->spec_snapshots,
                 r->spec_snapshots_expected, r->spectator_rate, r->spec_below_99, r->spec_measured, r->spec_min_pct,
                 (unsigned long long)r->spec_full_snapshots, (unsigned long long)r->spec_events,
                 (unsigned long long)r->spec_kills, (unsigned long long)r->spec_events_lost);
    html_row(f, "bots' cpu", "%.2f s user + %.2f s sys = %s%% of one core, %s us per bot-second",
             r->cpu_user_s, r->cpu_sys_s, fmt(a, sizeof a, "%.1f", d.cpu_pct_of_core),
             fmt(b, sizeof b, "%.0f", d.cpu_us_per_bot_second));
    html_row(f, "bots' clock", "%llu ticks, %llu skipped, latest wakeup %.1f ms late", (unsigned long long)r->ticks,
             (unsigned long long)r->ticks_missed, r->tick_late_max_ms);
    fprintf(f, "</table>\n");
    html_reasons(f, "Failures", &r->failures);
    html_reasons(f, "Token failures", &r->token_failures);
    html_reasons(f, "Disconnects", &r->disconnects);
    html_server(f, in, &d);
    fprintf(f, "</body></html>\n");
    if (fclose(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
