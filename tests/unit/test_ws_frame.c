/* Unit tests for server/ws_frame.c, the server's side of RFC 6455 framing.
 *
 * The RFC's own examples (section 5.7) read and write byte for byte; every
 * message reads the same however the reads cut it (each split point, and
 * one byte at a time); control frames between fragments come whole; each
 * violation the reader checks gives 1002; a callback can stop the read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ws_frame.h"

/* What the sink saw: the data, the pieces, the messages, the controls. */
typedef struct seen {
    uint8_t data[70000];
    size_t len;
    int pieces, messages, text, bad_pending;
    int controls, last_control;
    uint8_t ctl[WS_FRAME_CONTROL_MAX];
    size_t ctl_len;
    int stop_after; /* stop the read after this many callbacks (0: never) */
    int calls;
} seen;

static int on_data(void *user, const uint8_t *p, size_t len, size_t pending, int last, int text)
{
    seen *s = user;
    memcpy(s->data + s->len, p, len);
    s->len += len;
    s->pieces++;
    s->messages += last != 0;
    s->text = text;
    s->bad_pending += last && pending != 0;
    return s->stop_after && ++s->calls >= s->stop_after;
}

static int on_control(void *user, int opcode, const uint8_t *p, size_t len)
{
    seen *s = user;
    s->controls++;
    s->last_control = opcode;
    memcpy(s->ctl, p, len);
    s->ctl_len = len;
    return s->stop_after && ++s->calls >= s->stop_after;
}

/* Feeds buf in pieces of `step` bytes (0: whole). */
static int feed(seen *s, const uint8_t *buf, size_t len, size_t step)
{
    static uint8_t copy[80000];
    memcpy(copy, buf, len);
    ws_frame_rx rx;
    ws_frame_rx_init(&rx);
    ws_frame_sink sink = {on_data, on_control, s};
    if (!step)
        step = len ? len : 1;
    for (size_t i = 0; i < len; i += step) {
        size_t n = len - i < step ? len - i : step;
        int rc = ws_frame_feed(&rx, copy + i, n, &sink);
        if (rc)
            return rc;
    }
    return 0;
}

/* A masked client frame: fin, opcode, payload, key. Returns its length. */
static size_t client_frame(uint8_t *out, int fin, int op, const void *payload, size_t len, uint32_t key)
{
    size_t n = 0;
    out[n++] = (uint8_t)((fin ? 0x80 : 0) | op);
    if (len < 126) {
        out[n++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        out[n++] = 0x80 | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[n++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    uint8_t k[4] = {(uint8_t)(key >> 24), (uint8_t)(key >> 16), (uint8_t)(key >> 8), (uint8_t)key};
    memcpy(out + n, k, 4);
    n += 4;
    const uint8_t *p = payload;
    for (size_t i = 0; i < len; i++)
        out[n + i] = p[i] ^ k[i & 3];
    return n + len;
}

/* RFC 6455 5.7: "A single-frame masked text message" and a masked ping. */
static void test_rfc_examples_read(void **state)
{
    (void)state;
    static const uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    static seen s;
    memset(&s, 0, sizeof s);
    assert_int_equal(feed(&s, hello, sizeof hello, 0), 0);
    assert_int_equal(s.len, 5);
    assert_memory_equal(s.data, "Hello", 5);
    assert_int_equal(s.messages, 1);
    assert_int_equal(s.text, 1);
    /* "Ping request ... masked": 0x89 0x85 and the key, "Hello" masked. */
    uint8_t ping[11] = {0x89, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    memset(&s, 0, sizeof s);
    assert_int_equal(feed(&s, ping, sizeof ping, 0), 0);
    assert_int_equal(s.controls, 1);
    assert_int_equal(s.last_control, WS_OP_PING);
    assert_int_equal(s.ctl_len, 5);
    assert_memory_equal(s.ctl, "Hello", 5);
    assert_int_equal(s.messages, 0);
}

/* The RFC's server-side examples: unmasked "Hello", and the 256-byte and
 * 64 KiB binary headers. */
static void test_rfc_examples_write(void **state)
{
    (void)state;
    uint8_t buf[WS_FRAME_MAX_HEADER + 8];
    uint8_t *end = buf + WS_FRAME_MAX_HEADER;
    assert_int_equal(ws_frame_header_before(end, WS_OP_TEXT, 5), 2);
    assert_memory_equal(end - 2, ((uint8_t[]){0x81, 0x05}), 2);
    assert_int_equal(ws_frame_header_before(end, WS_OP_BINARY, 256), 4);
    assert_memory_equal(end - 4, ((uint8_t[]){0x82, 0x7e, 0x01, 0x00}), 4);
    assert_int_equal(ws_frame_header_before(end, WS_OP_BINARY, 65536), 10);
    assert_memory_equal(end - 10, ((uint8_t[]){0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}), 10);
    assert_int_equal(ws_frame_header_before(end, WS_OP_BINARY, 125), 2);
    assert_int_equal(ws_frame_header_before(end, WS_OP_BINARY, 126), 4);
    assert_int_equal(ws_frame_header_before(end, WS_OP_BINARY, 65535), 4);
}

static void test_close_frame_written(void **state)
{
    (void)state;
    uint8_t out[2 + WS_FRAME_CONTROL_MAX];
    assert_int_equal(ws_frame_close(out, 1001, "bye"), 7);
    assert_memory_equal(out, ((uint8_t[]){0x88, 0x05, 0x03, 0xe9, 'b', 'y', 'e'}), 7);
    assert_int_equal(ws_frame_close(out, 4001, NULL), 4);
    assert_memory_equal(out, ((uint8_t[]){0x88, 0x02, 0x0f, 0xa1}), 4);
    char longr[300];
    memset(longr, 'x', sizeof longr - 1);
    longr[sizeof longr - 1] = '\0';
    assert_int_equal(ws_frame_close(out, 1000, longr), 2 + WS_FRAME_CONTROL_MAX);
    assert_int_equal(out[1], WS_FRAME_CONTROL_MAX);
}

/* A fragmented binary message with a ping between its fragments, then a
 * 300-byte and a 70,000-byte message: the same under every cut. */
static void test_any_split_reads_the_same(void **state)
{
    (void)state;
    static uint8_t stream[80000], big[70000];
    static seen s;
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7 + 3);
    size_t n = 0;
    n += client_frame(stream + n, 0, WS_OP_BINARY, big, 10, 0x01020304);
    n += client_frame(stream + n, 1, WS_OP_PING, "pi", 2, 0xa0b0c0d0);
    n += client_frame(stream + n, 0, WS_OP_CONT, big + 10, 0, 0x11111111);
    n += client_frame(stream + n, 1, WS_OP_CONT, big + 10, 20, 0xdeadbeef);
    n += client_frame(stream + n, 1, WS_OP_BINARY, big + 30, 300, 0x55aa55aa);
    n += client_frame(stream + n, 1, WS_OP_BINARY, big + 330, 70000 - 330, 0x12345678);
    size_t steps[] = {0, 1, 2, 3, 5, 7, 13, 64, 1000};
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        memset(&s, 0, sizeof s);
        assert_int_equal(feed(&s, stream, n, steps[k]), 0);
        assert_int_equal(s.len, sizeof big);
        assert_memory_equal(s.data, big, sizeof big);
        assert_int_equal(s.messages, 3);
        assert_int_equal(s.bad_pending, 0);
        assert_int_equal(s.text, 0);
        assert_int_equal(s.controls, 1);
        assert_int_equal(s.ctl_len, 2);
        assert_memory_equal(s.ctl, "pi", 2);
    }
}

/* A frame of no payload comes as a piece of none; a close is whole. */
static void test_empty_frames(void **state)
{
    (void)state;
    uint8_t stream[64];
    static seen s;
    memset(&s, 0, sizeof s);
    size_t n = client_frame(stream, 1, WS_OP_BINARY, "", 0, 0x01010101);
    n += client_frame(stream + n, 1, WS_OP_CLOSE, "\x03\xe8", 2, 0x02020202);
    n += client_frame(stream + n, 1, WS_OP_CLOSE, "", 0, 0x02020202);
    assert_int_equal(feed(&s, stream, n, 1), 0);
    assert_int_equal(s.pieces, 1);
    assert_int_equal(s.messages, 1);
    assert_int_equal(s.controls, 2);
    assert_int_equal(s.last_control, WS_OP_CLOSE);
    assert_int_equal(s.ctl_len, 0);
}

static int violation(const uint8_t *bytes, size_t len)
{
    static seen s;
    memset(&s, 0, sizeof s);
    return feed(&s, bytes, len, 0);
}

static void test_each_violation_is_1002(void **state)
{
    (void)state;
    uint8_t f[200];
    /* not masked */
    assert_int_equal(violation((uint8_t[]){0x82, 0x01, 0x00}, 3), 1002);
    /* a reserved bit (RSV1: deflate, never agreed) */
    size_t n = client_frame(f, 1, WS_OP_BINARY, "a", 1, 1);
    f[0] |= 0x40;
    assert_int_equal(violation(f, n), 1002);
    /* unknown opcodes, data and control */
    for (int op = 3; op <= 15; op++) {
        if (op == WS_OP_CLOSE || op == WS_OP_PING || op == WS_OP_PONG)
            continue;
        n = client_frame(f, 1, op, "a", 1, 1);
        assert_int_equal(violation(f, n), 1002);
    }
    /* a control frame not final, or longer than 125 */
    n = client_frame(f, 0, WS_OP_PING, "a", 1, 1);
    assert_int_equal(violation(f, n), 1002);
    uint8_t longp[126] = {0};
    n = client_frame(f, 1, WS_OP_PING, longp, sizeof longp, 1);
    assert_int_equal(violation(f, n), 1002);
    /* a continuation with no message open */
    n = client_frame(f, 1, WS_OP_CONT, "a", 1, 1);
    assert_int_equal(violation(f, n), 1002);
    /* a new message inside a fragmented one */
    n = client_frame(f, 0, WS_OP_BINARY, "a", 1, 1);
    n += client_frame(f + n, 1, WS_OP_TEXT, "b", 1, 1);
    assert_int_equal(violation(f, n), 1002);
    /* a 64-bit length with its top bit set */
    assert_int_equal(violation((uint8_t[]){0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, 14), 1002);
    /* close: one byte of payload, or codes a peer may not send */
    n = client_frame(f, 1, WS_OP_CLOSE, "\x03", 1, 1);
    assert_int_equal(violation(f, n), 1002);
    unsigned bad[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t code[2] = {(uint8_t)(bad[i] >> 8), (uint8_t)bad[i]};
        n = client_frame(f, 1, WS_OP_CLOSE, code, 2, 1);
        assert_int_equal(violation(f, n), 1002);
        assert_false(ws_frame_close_code_ok(bad[i]));
    }
    unsigned good[] = {1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4001, 4999};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint8_t code[2] = {(uint8_t)(good[i] >> 8), (uint8_t)good[i]};
        n = client_frame(f, 1, WS_OP_CLOSE, code, 2, 1);
        assert_int_equal(violation(f, n), 0);
        assert_true(ws_frame_close_code_ok(good[i]));
    }
}

/* A callback's nonzero stops the read where it is. */
static void test_callback_stops(void **state)
{
    (void)state;
    uint8_t f[64];
    static seen s;
    memset(&s, 0, sizeof s);
    s.stop_after = 1;
    size_t n = client_frame(f, 1, WS_OP_BINARY, "ab", 2, 7);
    n += client_frame(f + n, 1, WS_OP_BINARY, "cd", 2, 7);
    assert_int_equal(feed(&s, f, n, 0), WS_FRAME_STOP);
    assert_int_equal(s.messages, 1);
    assert_int_equal(s.len, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_examples_read),
        cmocka_unit_test(test_rfc_examples_write),
        cmocka_unit_test(test_close_frame_written),
        cmocka_unit_test(test_any_split_reads_the_same),
        cmocka_unit_test(test_empty_frames),
        cmocka_unit_test(test_each_violation_is_1002),
        cmocka_unit_test(test_callback_stops),
    };
    return cmocka_run_group_tests_name("ws_frame", tests, NULL, NULL);
}
