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

int session_charge(session *ss, int tick_rate, int64_t now_us)
{
    const double rate = 2.0 * tick_rate, burst = tick_rate;
    if (!ss->bucket_started) {
        ss->bucket_started = 1;
        ss->msg_tokens = burst;
    } else {
        double dt = (double)(now_us - ss->bucket_us) * 1e-6;
        ss->msg_tokens = refill(ss->msg_tokens, dt > 0 ? dt : 0, rate, burst);
    }
    ss->bucket_us = now_us;
    ss->msg_tokens -= 1.0;
    return ss->msg_tokens >= 0.0;
}

void session_start_claims(session *ss, uint32_t seq_base, uint32_t slack, int64_t now_us)
{
    ss->seq_base = seq_base;
    ss->claim_slack = slack;
    ss->play_start_us = now_us;
}

int session_claims_ok(const session *ss, uint32_t newest_seq, int tick_rate, int64_t now_us)
{
    int64_t played_us = now_us > ss->play_start_us ? now_us - ss->play_start_us : 0;
    uint64_t allowed = (uint64_t)played_us * (uint64_t)tick_rate / 1000000u + ss->claim_slack;
    return (uint64_t)(newest_seq - ss->seq_base) <= allowed;
}

session_rx session_receive(session *ss, const uint8_t *data, size_t len, size_t pending, int last, int text,
                           const uint8_t **msg, size_t *msg_len)
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
    return SESSION_RX_MESSAGE;
}
