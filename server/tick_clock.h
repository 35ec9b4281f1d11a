/* tick_clock: the fixed-rate clock that drives a server's ticks inside a
 * libwebsockets event loop; used by tickwire-server and by the benchmark
 * floor, so both tick the same way.
 *
 * A timerfd armed at each absolute deadline is adopted into the lws loop,
 * so poll() wakes on time to the microsecond. (An lws sul would do, but lws
 * 4.1.6 turns its wait into whole milliseconds for poll(), rounding down,
 * and spins on poll(0) through the partial millisecond left, or, rounded
 * up, starts ticks up to 1 ms late.) Without a timerfd it falls back to a
 * sul waiting whole milliseconds plus a little (ticks up to ~1.1 ms late).
 *
 * The schedule itself (absolute deadlines, catch-up, missed ticks, timing
 * into tick_stats) is server/tick_sched.c, shared with the raw bench floor
 * that runs it without libwebsockets. */
#ifndef TW_TICK_CLOCK_H
#define TW_TICK_CLOCK_H

#include <stdint.h>

#include <libwebsockets.h>

#include "metrics.h"
#include "tick_sched.h"

#define TICK_CLOCK_MAX_CATCHUP TICK_SCHED_MAX_CATCHUP

/* tick_clock_fn: see tick_sched.h. */
typedef struct tick_clock tick_clock;

/* The protocol the clock's timerfd is adopted with: put it in the
 * context's protocol list (any position, before the terminator). */
extern const struct lws_protocols tick_clock_protocol;

/* Starts ticking at `tick_rate` Hz on the context's "default" vhost; each
 * tick calls fn(user, now). Returns NULL when out of memory. */
tick_clock *tick_clock_start(struct lws_context *ctx, int tick_rate, tick_clock_fn fn, void *user, tick_stats *stats);
/* Stops the clock: no more calls. */
void tick_clock_stop(tick_clock *clk);
/* Frees it, once the context is destroyed (lws closes the timerfd). */
void tick_clock_free(tick_clock *clk);
/* Paced service (net.c): the caller waits on the timerfd itself, reads
 * every socket in one pass while the clock is held (an expiry seen then is
 * only noted), then runs the tick with tick_clock_run_held, so the tick
 * sees every input that arrived before it. The timerfd, -1 when the clock
 * is the sul fallback (no pacing then). */
int tick_clock_fd(const tick_clock *clk);
void tick_clock_hold(tick_clock *clk, int hold);
/* The next tick's deadline (tick_clock_now's clock). */
int64_t tick_clock_deadline(const tick_clock *clk);
/* Whether a tick became due while held (its expiry is then read: the
 * timerfd will not wake a wait on it). */
int tick_clock_due(const tick_clock *clk);
/* Runs the ticks that became due while held (none: nothing). */
void tick_clock_run_held(tick_clock *clk);
/* The clock's time: monotonic microseconds (lws_now_usecs). */
int64_t tick_clock_now(void);

#endif
