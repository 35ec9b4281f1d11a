/* delay: see delay.h.
 *
 * Pool layout: while not `wrapped`, the queued bytes are [off of the
 * oldest, wr). Once a message has gone back to offset 0 they are
 * [off of the oldest, end of the old run) and [0, wr), and free space is
 * [wr, off of the oldest) only; `wrapped` clears when the oldest message
 * is the one that went back to 0 (its offset drops below its
 * predecessor's). A message is never split, so delay_pop can hand out a
 * pointer into the pool. An empty message takes one byte, so offsets
 * strictly increase within each run and the test above is exact. */
#include "delay.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

delay_config delay_config_sized(int64_t latency_us, int64_t jitter_us, uint32_t per_s, uint32_t burst,
                                uint32_t max_len, uint64_t seed)
{
    /* A message pushed at t is due by t + latency + jitter (the max with
     * the one before it is no later), so the queue holds only what was
     * pushed within that span, the ends included. */
    double span_s = (double)(latency_us + jitter_us) / 1e6;
    double msgs = ceil((double)per_s * span_s) + 1 + burst;
    delay_config c = {
        .latency_us = latency_us,
        .jitter_us = jitter_us,
        .max_msgs = msgs < 1e6 ? (uint32_t)msgs : 1000000,
        .seed = seed,
    };
    /* m - 1 messages of up to L bytes queued leave >= L free in (m + 1) L
     * bytes, the waste at the wrap (< L) included. */
    double bytes = ((double)c.max_msgs + 1) * max_len;
    c.max_bytes = bytes < 4e9 ? (uint32_t)bytes : 4000000000u;
    return c;
}

int delay_init(delay_queue *q, const delay_config *cfg)
{
    memset(q, 0, sizeof *q);
    q->cfg = *cfg;
    if (q->cfg.max_msgs < 1)
        q->cfg.max_msgs = 1;
    q->rng = cfg->seed;
    q->last_due = INT64_MIN;
    q->e = calloc(q->cfg.max_msgs, sizeof *q->e);
    q->pool = malloc(q->cfg.max_bytes ? q->cfg.max_bytes : 1);
    if (!q->e || !q->pool) {
        delay_destroy(q);
        return DELAY_NOMEM;
    }
    return DELAY_OK;
}

void delay_destroy(delay_queue *q)
{
    free(q->e);
    free(q->pool);
    q->e = NULL;
    q->pool = NULL;
    q->n = 0;
    q->cfg.max_msgs = 0;
    q->cfg.max_bytes = 0;
}

/* Where `size` bytes (>= 1) go in the pool: the offset (*wraps set when
 * it is back at 0), or -1 when there is no room. A ring: the end of the
 * pool is used before going back to 0, so no more than one message's worth
 * of bytes is wasted (see delay_config_sized). */
static int64_t place(const delay_queue *q, uint32_t size, int *wraps)
{
    *wraps = 0;
    if (q->n == 0)
        return size <= q->cfg.max_bytes ? 0 : -1;
    uint32_t rd = q->e[q->head].off;
    if (q->wrapped)
        return size <= rd - q->wr ? (int64_t)q->wr : -1;
    if (size <= q->cfg.max_bytes - q->wr)
        return q->wr;
    if (size <= rd) {
        *wraps = 1;
        return 0;
    }
    return -1;
}

int64_t delay_stamp(delay_queue *q, int64_t now_us)
{
    int64_t due = now_us + q->cfg.latency_us;
    if (q->cfg.jitter_us > 0)
        due += (int64_t)(sim_rand_next(&q->rng) % (uint64_t)(q->cfg.jitter_us + 1));
    if (due < q->last_due)
        due = q->last_due; /* never before an earlier message */
    q->last_due = due;
    return due;
}

int delay_push(delay_queue *q, int64_t now_us, const void *msg, size_t len)
{
    int wraps = 0;
    int64_t off = len < UINT32_MAX && q->n < q->cfg.max_msgs ? place(q, len ? (uint32_t)len : 1, &wraps) : -1;
    if (off < 0) {
        q->full++;
        return DELAY_FULL;
    }
    if (wraps)
        q->wrapped = 1;
    delay_entry *e = &q->e[(q->head + q->n) % q->cfg.max_msgs];
    e->due_us = delay_stamp(q, now_us);
    e->off = (uint32_t)off;
    e->len = (uint32_t)len;
    if (len)
        memcpy(q->pool + off, msg, len);
    q->wr = (uint32_t)off + (len ? (uint32_t)len : 1);
    q->n++;
    q->pushed++;
    if (q->n > q->max_n)
        q->max_n = q->n;
    return DELAY_OK;
}

const uint8_t *delay_pop(delay_queue *q, int64_t now_us, size_t *len)
{
    if (q->n == 0 || q->e[q->head].due_us > now_us)
        return NULL;
    const delay_entry *e = &q->e[q->head];
    q->head = (q->head + 1) % q->cfg.max_msgs;
    q->n--;
    q->popped++;
    if (q->n == 0)
        q->wrapped = 0;
    else if (q->wrapped && q->e[q->head].off < e->off)
        q->wrapped = 0; /* the oldest is now the one that went back to 0 */
    *len = e->len;
    return q->pool + e->off;
}

int64_t delay_next_due(const delay_queue *q)
{
    return q->n ? q->e[q->head].due_us : DELAY_NEVER;
}

uint32_t delay_clear(delay_queue *q)
{
    uint32_t n = q->n;
    q->cleared += n;
    q->head = q->n = 0;
    q->wr = 0;
    q->wrapped = 0;
    q->last_due = INT64_MIN;
    return n;
}
