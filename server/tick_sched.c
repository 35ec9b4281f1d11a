/* tick_sched: see tick_sched.h. */
#include "tick_sched.h"

#include <string.h>
#include <sys/timerfd.h>
#include <time.h>

#include "log.h"

int64_t tick_sched_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts))
        return 0;
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void tick_sched_init(tick_sched *s, int tick_rate, tick_clock_fn fn, void *user, tick_stats *stats)
{
    memset(s, 0, sizeof *s);
    s->fn = fn;
    s->user = user;
    s->stats = stats;
    s->period_us = 1000000 / tick_rate;
    s->next_deadline = tick_sched_now() + s->period_us;
}

static void run_tick(tick_sched *s, int64_t now)
{
    uint32_t missed = s->missed;
    s->missed = 0;
    s->fn(s->user, now, missed);
    double took = (double)(tick_sched_now() - now) * 1e-6;
    tick_stats_observe(s->stats, took, (double)s->period_us * 1e-6);
}

/* A stall: at warn once per LOG_RATELIMIT_DEFAULT_US (a slow machine
 * misses a tick every few), with the lines held back since; those at
 * debug, counted. */
static void log_stall(tick_sched *s, int64_t now, uint64_t lost)
{
    uint64_t held;
    if (log_ratelimit_pass(&s->stall_log, now, &held)) {
        log_event(LOG_WARN, "tick_stall", "missed_ticks=%llu suppressed=%llu", (unsigned long long)lost,
                  (unsigned long long)held);
    } else {
        s->stats->stall_logs_held++;
        log_event(LOG_DEBUG, "tick_stall", "missed_ticks=%llu", (unsigned long long)lost);
    }
}

void tick_sched_run_due(tick_sched *s)
{
    int64_t now = tick_sched_now();
    for (int n = 0; n < TICK_SCHED_MAX_CATCHUP && s->next_deadline <= now; n++) {
        run_tick(s, now);
        s->next_deadline += s->period_us;
        now = tick_sched_now();
    }
    if (s->next_deadline <= now) {
        uint64_t lost = (uint64_t)((now - s->next_deadline) / s->period_us) + 1;
        s->stats->missed_ticks += lost;
        s->missed = lost > UINT32_MAX - s->missed ? UINT32_MAX : s->missed + (uint32_t)lost;
        s->next_deadline += (int64_t)lost * s->period_us;
        log_stall(s, now, lost);
    }
}

int tick_sched_timerfd(void)
{
    return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
}

int tick_sched_arm(const tick_sched *s, int fd)
{
    struct itimerspec it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = (time_t)(s->next_deadline / 1000000);
    it.it_value.tv_nsec = (long)(s->next_deadline % 1000000) * 1000;
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &it, NULL);
}

void tick_sched_disarm(int fd)
{
    struct itimerspec off;
    memset(&off, 0, sizeof off);
    timerfd_settime(fd, 0, &off, NULL);
}
