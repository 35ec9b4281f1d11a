/* session: see session.h. */
#include "session.h"

#include <stdio.h>
#include <string.h>

void session_init(session *ss, uint32_t handle, void *transport, const char *peer, const char *ip,
                  int64_t now_us)
{
    memset(ss, 0, sizeof *ss);
    ss->handle = handle;
    ss->transport = transport;
    ss->state = SESSION_AWAIT_JOIN;
    ss->pid = -1;
    ss->opened_us = now_us;
    snprintf(ss->peer, sizeof ss->peer, "%s", peer ? peer : "?");
    snprintf(ss->ip, sizeof ss->ip, "%s", ip ? ip : "");
}

size_t session_limit(const session *ss)
{
    return ss->state == SESSION_AWAIT_JOIN ? PROTO_MAX_JOIN_MSG : PROTO_MAX_CLIENT_MSG;
}

static double refill(double tokens, double dt, double rate, double burst)
{
    double t = tokens + dt * rate;
    return t < burst ? t : burst;
}

/* Charges one message of len bytes; 0 when either bucket runs dry. */
static int rate_ok(session *ss, size_t len, int tick_rate, int64_t now_us)
{
    const double msg_rate = 2.0 * tick_rate, msg_burst = tick_rate;
    const double byte_rate = (double)tick_rate * PROTO_MAX_CLIENT_MSG, byte_burst = 2 * byte_rate;
    if (!ss->bucket_started) {
        ss->bucket_started = 1;
        ss->msg_tokens = msg_burst;
        ss->byte_tokens = byte_burst;
    } else {
        double dt = (double)(now_us - ss->bucket_us) * 1e-6;
        if (dt < 0)
            dt = 0;
        ss->msg_tokens = refill(ss->msg_tokens, dt, msg_rate, msg_burst);
        ss->byte_tokens = refill(ss->byte_tokens, dt, byte_rate, byte_burst);
    }
    ss->bucket_us = now_us;
    ss->msg_tokens -= 1.0;
    ss->byte_tokens -= (double)len;
    return ss->msg_tokens >= 0.0 && ss->byte_tokens >= 0.0;
}

session_rx session_receive(session *ss, const uint8_t *data, size_t len, size_t pending, int last, int text,
                           int tick_rate, int64_t now_us, const uint8_t **msg, size_t *msg_len)
{
    if (text)
        return SESSION_RX_TEXT;
    if (ss->rx_len + len + pending > session_limit(ss))
        return SESSION_RX_TOO_LARGE;
    if (len)
        memcpy(ss->rx + ss->rx_len, data, len);
    ss->rx_len += len;
    if (pending || !last)
        return SESSION_RX_MORE;
    *msg = ss->rx;
    *msg_len = ss->rx_len;
    ss->rx_len = 0;
    if (!rate_ok(ss, *msg_len, tick_rate, now_us))
        return SESSION_RX_RATE;
    return SESSION_RX_MESSAGE;
}
