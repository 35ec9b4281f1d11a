/* tick_clock: see tick_clock.h. The schedule is tick_sched; this file
 * adopts its timerfd into the lws loop (or falls back to a sul). */
#include "tick_clock.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

struct tick_clock {
    struct lws_context *ctx;
    tick_sched sched;
    int fd;                    /* the timerfd, -1: the sul is the clock */
    int stopped;
    int hold, due;             /* paced: expiries noted (due), run by tick_clock_run_held */
    lws_sorted_usec_list_t sul;
};

int64_t tick_clock_now(void)
{
    return (int64_t)lws_now_usecs();
}

static int tick_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user, (void)in, (void)len;
    if (reason != LWS_CALLBACK_RAW_RX_FILE)
        return 0;
    tick_clock *clk = lws_get_opaque_user_data(wsi);
    if (!clk || clk->stopped)
        return 0;
    uint64_t expirations;
    if (read(clk->fd, &expirations, sizeof expirations) < 0)
        return 0; /* EAGAIN: woken early by something else */
    if (clk->hold) {
        clk->due = 1;
        return 0;
    }
    tick_sched_run_due(&clk->sched);
    tick_sched_arm(&clk->sched, clk->fd);
    return 0;
}

int tick_clock_fd(const tick_clock *clk)
{
    return clk->fd;
}

int64_t tick_clock_deadline(const tick_clock *clk)
{
    return clk->sched.next_deadline;
}

int tick_clock_due(const tick_clock *clk)
{
    return clk->due;
}

void tick_clock_hold(tick_clock *clk, int hold)
{
    clk->hold = hold;
}

void tick_clock_run_held(tick_clock *clk)
{
    if (!clk->due || clk->stopped)
        return;
    clk->due = 0;
    tick_sched_run_due(&clk->sched);
    tick_sched_arm(&clk->sched, clk->fd);
}

const struct lws_protocols tick_clock_protocol = {.name = "tickwire-tick", .callback = tick_callback};

/* The fallback: whole milliseconds plus a little, so it does not spin. */
static void sul_cb(lws_sorted_usec_list_t *sul)
{
    tick_clock *clk = lws_container_of(sul, tick_clock, sul);
    tick_sched_run_due(&clk->sched);
    lws_usec_t wait = clk->sched.next_deadline - tick_sched_now();
    wait = (wait > 0 ? (wait + 999) / 1000 * 1000 : 0) + 100;
    lws_sul_schedule(clk->ctx, 0, &clk->sul, sul_cb, wait);
}

tick_clock *tick_clock_start(struct lws_context *ctx, int tick_rate, tick_clock_fn fn, void *user, tick_stats *stats)
{
    tick_clock *clk = calloc(1, sizeof *clk);
    if (!clk)
        return NULL;
    clk->ctx = ctx;
    tick_sched_init(&clk->sched, tick_rate, fn, user, stats);
    clk->fd = tick_sched_timerfd();
    if (clk->fd >= 0 && tick_sched_arm(&clk->sched, clk->fd) == 0) {
        lws_sock_file_fd_type fd;
        fd.filefd = clk->fd;
        struct lws *wsi = lws_adopt_descriptor_vhost(lws_get_vhost_by_name(ctx, "default"), LWS_ADOPT_RAW_FILE_DESC,
                                                     fd, tick_clock_protocol.name, NULL);
        if (wsi) {
            lws_set_opaque_user_data(wsi, clk);
            return clk;
        }
    }
    log_event(LOG_WARN, "tick_clock", "clock=sul reason=\"no timerfd\"");
    if (clk->fd >= 0)
        close(clk->fd);
    clk->fd = -1;
    lws_sul_schedule(ctx, 0, &clk->sul, sul_cb, clk->sched.period_us);
    return clk;
}

void tick_clock_stop(tick_clock *clk)
{
    if (!clk)
        return;
    clk->stopped = 1;
    if (clk->fd >= 0)
        tick_sched_disarm(clk->fd); /* lws closes the fd with the context */
    else
        lws_sul_cancel(&clk->sul);
}

void tick_clock_free(tick_clock *clk)
{
    free(clk);
}
