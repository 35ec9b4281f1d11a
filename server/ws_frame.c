/* ws_frame: see ws_frame.h. */
#include "ws_frame.h"

#include <string.h>

#define WS_PROTOCOL_ERROR 1002

void ws_frame_rx_init(ws_frame_rx *rx)
{
    memset(rx, 0, sizeof *rx);
}

int ws_frame_close_code_ok(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/* The first two header bytes are in: what can be judged from them. */
static int check_start(const ws_frame_rx *rx)
{
    uint8_t b0 = rx->hdr[0], b1 = rx->hdr[1];
    int op = b0 & 0x0f, fin = b0 & 0x80, len7 = b1 & 0x7f;
    if (b0 & 0x70)
        return WS_PROTOCOL_ERROR; /* a reserved bit: no extension was agreed */
    if (!(b1 & 0x80))
        return WS_PROTOCOL_ERROR; /* a client frame not masked */
    switch (op) {
    case WS_OP_CONT:
        return rx->in_message ? 0 : WS_PROTOCOL_ERROR;
    case WS_OP_TEXT:
    case WS_OP_BINARY:
        return rx->in_message ? WS_PROTOCOL_ERROR : 0;
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        return fin && len7 <= WS_FRAME_CONTROL_MAX ? 0 : WS_PROTOCOL_ERROR;
    default:
        return WS_PROTOCOL_ERROR;
    }
}

/* Header bytes this frame has (known once two are in). */
static size_t header_size(const ws_frame_rx *rx)
{
    if (rx->hdr_have < 2)
        return 2;
    int len7 = rx->hdr[1] & 0x7f;
    return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
}

/* The header is whole: the frame's length, key and kind. */
static int begin_payload(ws_frame_rx *rx)
{
    const uint8_t *h = rx->hdr;
    int len7 = h[1] & 0x7f;
    uint64_t len = (uint64_t)len7;
    const uint8_t *key = h + 2;
    if (len7 == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        key = h + 4;
    } else if (len7 == 127) {
        if (h[2] & 0x80)
            return WS_PROTOCOL_ERROR;
        len = 0;
        for (int i = 2; i < 10; i++)
            len = len << 8 | h[i];
        key = h + 10;
    }
    memcpy(rx->mask, key, 4);
    rx->mask_pos = 0;
    rx->left = len;
    rx->opcode = h[0] & 0x0f;
    rx->fin = (h[0] & 0x80) != 0;
    rx->ctl_len = 0;
    if (rx->opcode == WS_OP_TEXT || rx->opcode == WS_OP_BINARY)
        rx->message_text = rx->opcode == WS_OP_TEXT;
    if (!(rx->opcode & 0x08))
        rx->in_message = !rx->fin;
    rx->in_payload = 1;
    return 0;
}

static void unmask(ws_frame_rx *rx, uint8_t *p, size_t n)
{
    unsigned k = rx->mask_pos;
    for (size_t i = 0; i < n; i++, k = (k + 1) & 3)
        p[i] ^= rx->mask[k];
    rx->mask_pos = (uint8_t)k;
}

/* A control frame's payload is whole. */
static int control_done(ws_frame_rx *rx, const ws_frame_sink *sink)
{
    if (rx->opcode == WS_OP_CLOSE &&
        (rx->ctl_len == 1 || (rx->ctl_len >= 2 && !ws_frame_close_code_ok((unsigned)rx->ctl[0] << 8 | rx->ctl[1]))))
        return WS_PROTOCOL_ERROR;
    return sink->control(sink->user, rx->opcode, rx->ctl, rx->ctl_len) ? WS_FRAME_STOP : 0;
}

/* Reads the payload bytes at p (n <= left) of the current frame. */
static int payload(ws_frame_rx *rx, uint8_t *p, size_t n, const ws_frame_sink *sink)
{
    unmask(rx, p, n);
    rx->left -= n;
    int done = rx->left == 0;
    if (done)
        rx->in_payload = 0, rx->hdr_have = 0;
    if (rx->opcode & 0x08) {
        memcpy(rx->ctl + rx->ctl_len, p, n); /* left started <= WS_FRAME_CONTROL_MAX */
        rx->ctl_len = (uint8_t)(rx->ctl_len + n);
        return done ? control_done(rx, sink) : 0;
    }
    int last = done && rx->fin;
    return sink->data(sink->user, p, n, (size_t)rx->left, last, rx->message_text) ? WS_FRAME_STOP : 0;
}

int ws_frame_feed(ws_frame_rx *rx, uint8_t *buf, size_t len, const ws_frame_sink *sink)
{
    size_t i = 0;
    while (i < len) {
        if (rx->in_payload) {
            size_t n = len - i;
            if ((uint64_t)n > rx->left)
                n = (size_t)rx->left;
            int rc = payload(rx, buf + i, n, sink);
            i += n;
            if (rc)
                return rc;
            continue;
        }
        rx->hdr[rx->hdr_have++] = buf[i++];
        if (rx->hdr_have == 2) {
            int rc = check_start(rx);
            if (rc)
                return rc;
        }
        if (rx->hdr_have < header_size(rx))
            continue;
        int rc = begin_payload(rx);
        if (!rc && rx->left == 0)
            rc = payload(rx, buf + i, 0, sink); /* an empty frame is whole now */
        if (rc)
            return rc;
    }
    return 0;
}

size_t ws_frame_header_before(uint8_t *end, int opcode, size_t len)
{
    uint8_t b0 = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        end[-2] = b0;
        end[-1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        end[-4] = b0;
        end[-3] = 126;
        end[-2] = (uint8_t)(len >> 8);
        end[-1] = (uint8_t)len;
        return 4;
    }
    end[-10] = b0;
    end[-9] = 127;
    for (int i = 0; i < 8; i++)
        end[-1 - i] = (uint8_t)((uint64_t)len >> (8 * i));
    return 10;
}

size_t ws_frame_close(uint8_t *out, uint16_t code, const char *reason)
{
    size_t rlen = reason ? strlen(reason) : 0;
    if (rlen > WS_FRAME_CONTROL_MAX - 2)
        rlen = WS_FRAME_CONTROL_MAX - 2;
    out[0] = 0x80 | WS_OP_CLOSE;
    out[1] = (uint8_t)(2 + rlen);
    out[2] = (uint8_t)(code >> 8);
    out[3] = (uint8_t)code;
    if (rlen)
        memcpy(out + 4, reason, rlen);
    return 4 + rlen;
}
