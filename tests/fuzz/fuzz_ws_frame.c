/* fuzz_ws_frame: server/ws_frame.c's reader on arbitrary client bytes.
 *
 * Input: step:u8, then the bytes the reader runs over. They are read once
 * whole and once in pieces of 1 + step bytes; both reads must see the same
 * thing (data bytes, message ends, control frames, the result), and the
 * pieces each read hands on must be consistent: `pending` is what the
 * frame still owes, a message ends once, control frames are at most 125
 * bytes and a close frame's code is one a peer may send. The reader never
 * reads or writes outside the bytes it is given (ASan). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "ws_frame.h"

typedef struct seen {
    uint64_t hash;       /* of the data bytes, message ends and controls, in order */
    size_t data_bytes;
    int messages, controls;
    size_t owed;         /* the current frame's bytes still to come, from `pending` */
    int owed_known;
} seen;

static void mix(seen *s, uint64_t v)
{
    s->hash = (s->hash ^ v) * 0x100000001b3ull;
}

static int on_data(void *user, const uint8_t *p, size_t len, size_t pending, int last, int text)
{
    seen *s = user;
    if (s->owed_known && s->owed) {
        FZ_CHECK(len + pending == s->owed); /* the same frame goes on */
    }
    s->owed = pending;
    s->owed_known = pending != 0;
    FZ_CHECK(!last || pending == 0);
    for (size_t i = 0; i < len; i++)
        mix(s, p[i]);
    s->data_bytes += len;
    if (last) {
        mix(s, 0x100u + (unsigned)text);
        s->messages++;
    }
    return 0;
}

static int on_control(void *user, int opcode, const uint8_t *p, size_t len)
{
    seen *s = user;
    FZ_CHECK(len <= WS_FRAME_CONTROL_MAX);
    FZ_CHECK(opcode == WS_OP_CLOSE || opcode == WS_OP_PING || opcode == WS_OP_PONG);
    if (opcode == WS_OP_CLOSE) {
        FZ_CHECK(len != 1);
        FZ_CHECK(len == 0 || ws_frame_close_code_ok((unsigned)p[0] << 8 | p[1]));
    }
    mix(s, 0x200u + (unsigned)opcode);
    for (size_t i = 0; i < len; i++)
        mix(s, p[i]);
    s->controls++;
    return 0;
}

static int run(const uint8_t *data, size_t len, size_t step, seen *s, uint8_t *copy)
{
    memcpy(copy, data, len);
    ws_frame_rx rx;
    ws_frame_rx_init(&rx);
    ws_frame_sink sink = {on_data, on_control, s};
    for (size_t i = 0; i < len; i += step) {
        size_t n = len - i < step ? len - i : step;
        int rc = ws_frame_feed(&rx, copy + i, n, &sink);
        if (rc) {
            FZ_CHECK(rc == 1002);
            return rc;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t copy[1 << 16];
    if (size < 1 || size - 1 > sizeof copy)
        return 0;
    size_t step = 1 + data[0];
    data++, size--;
    seen whole = {0}, cut = {0};
    int rc_whole = run(data, size, size ? size : 1, &whole, copy);
    int rc_cut = run(data, size, step, &cut, copy);
    FZ_CHECK(rc_whole == rc_cut);
    FZ_CHECK(whole.hash == cut.hash);
    FZ_CHECK(whole.data_bytes == cut.data_bytes && whole.messages == cut.messages && whole.controls == cut.controls);
    return 0;
}
