/* Unit tests for server/session.c: one connection's receive rules.
 *
 * A message arrives in parts and comes out whole; the size limit (256 bytes
 * before the JOIN, 64 after) is checked against what is known so far, so a
 * frame announcing too much is refused before the rest arrives; text is
 * refused; new inputs are judged by the seqs they claim against the time
 * played (plus a slack), every other message by a token bucket (burst of
 * tick_rate, refill at twice that). Time is a parameter: every test runs on
 * a made-up clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "session.h"

#define RATE 10 /* Hz: message burst 10, refill 20/s */

static void fresh(session *ss, session_state st)
{
    session_init(ss, 7, NULL, "192.0.2.1:5000", "192.0.2.1", 0);
    ss->state = st;
}

/* One whole message of `len` bytes; returns what it came to. */
static session_rx whole_msg(session *ss, size_t len)
{
    uint8_t buf[PROTO_MAX_CLIENT_MSG + 64];
    memset(buf, 0xab, sizeof buf);
    const uint8_t *msg = NULL;
    size_t n = 0;
    return session_receive(ss, buf, len, 0, 1, 0, &msg, &n);
}

/* One message that brings no new input, at time `t`: charged to the
 * bucket. SESSION_RX_MESSAGE when it passes, -1 when refused (4004). */
static int whole(session *ss, size_t len, int64_t t)
{
    session_rx r = whole_msg(ss, len);
    if (r != SESSION_RX_MESSAGE)
        return (int)r;
    return session_charge(ss, RATE, t) ? SESSION_RX_MESSAGE : -1;
}
#define REFUSED (-1)

static void test_init(void **state)
{
    (void)state;
    session ss;
    memset(&ss, 0x5a, sizeof ss);
    char longpeer[200];
    memset(longpeer, 'p', sizeof longpeer - 1);
    longpeer[sizeof longpeer - 1] = '\0';
    session_init(&ss, 42, &ss, longpeer, NULL, 123);
    assert_int_equal(ss.handle, 42);
    assert_ptr_equal(ss.transport, &ss);
    assert_int_equal(ss.state, SESSION_AWAIT_JOIN);
    assert_int_equal(ss.pid, -1);
    assert_null(ss.m);
    assert_int_equal(ss.opened_us, 123);
    assert_int_equal(ss.rx_len, 0);
    assert_int_equal(ss.close_code, 0);
    assert_int_equal(ss.bucket_started, 0);
    assert_int_equal(strlen(ss.peer), SESSION_PEER_LEN - 1); /* cut, terminated */
    assert_string_equal(ss.ip, "");
    session_init(&ss, 1, NULL, NULL, "10.0.0.1", 0);
    assert_string_equal(ss.peer, "?");
    assert_string_equal(ss.ip, "10.0.0.1");
}

static void test_limit_by_state(void **state)
{
    (void)state;
    session ss;
    fresh(&ss, SESSION_AWAIT_JOIN);
    assert_int_equal(session_limit(&ss), PROTO_MAX_JOIN_MSG);
    assert_int_equal(session_limit(&ss), 256);
    ss.state = SESSION_PLAYING;
    assert_int_equal(session_limit(&ss), PROTO_MAX_CLIENT_MSG);
    assert_int_equal(session_limit(&ss), 512);
}

static void test_reassembly(void **state)
{
    (void)state;
    session ss;
    fresh(&ss, SESSION_AWAIT_JOIN);
    uint8_t data[200];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 1);
    const uint8_t *msg = NULL;
    size_t n = 0;
    /* Three parts: announced pending, then not-last without pending, then last. */
    assert_int_equal(session_receive(&ss, data, 50, 150, 0, 0, &msg, &n), SESSION_RX_MORE);
    assert_null(msg);
    assert_int_equal(ss.rx_len, 50);
    assert_int_equal(session_receive(&ss, data + 50, 100, 0, 0, 0, &msg, &n), SESSION_RX_MORE);
    assert_int_equal(session_receive(&ss, data + 150, 0, 50, 1, 0, &msg, &n), SESSION_RX_MORE);
    assert_int_equal(session_receive(&ss, data + 150, 50, 0, 1, 0, &msg, &n), SESSION_RX_MESSAGE);
    assert_int_equal(n, 200);
    assert_memory_equal(msg, data, 200);
    assert_int_equal(ss.rx_len, 0);
    /* The next message starts afresh. */
    assert_int_equal(session_receive(&ss, data + 3, 5, 0, 1, 0, &msg, &n), SESSION_RX_MESSAGE);
    assert_int_equal(n, 5);
    assert_memory_equal(msg, data + 3, 5);
}

static void test_limit_exact_and_over(void **state)
{
    (void)state;
    session ss;
    fresh(&ss, SESSION_AWAIT_JOIN);
    assert_int_equal(whole(&ss, 256, 0), SESSION_RX_MESSAGE);
    assert_int_equal(whole(&ss, 257, 0), SESSION_RX_TOO_LARGE);
    fresh(&ss, SESSION_PLAYING);
    assert_int_equal(whole(&ss, 512, 0), SESSION_RX_MESSAGE);
    assert_int_equal(whole(&ss, 513, 0), SESSION_RX_TOO_LARGE);
}

/* A frame that announces more than the limit is refused at its first
 * part: nothing is buffered waiting for the rest. */
static void test_pending_over_limit_refused_early(void **state)
{
    (void)state;
    uint8_t data[128] = {0};
    const uint8_t *msg = NULL;
    size_t n = 0;
    session ss;
    fresh(&ss, SESSION_AWAIT_JOIN);
    assert_int_equal(session_receive(&ss, data, 16, 241, 0, 0, &msg, &n), SESSION_RX_TOO_LARGE);
    assert_int_equal(ss.rx_len, 0);
    fresh(&ss, SESSION_AWAIT_JOIN);
    assert_int_equal(session_receive(&ss, data, 16, 240, 0, 0, &msg, &n), SESSION_RX_MORE);

    /* After the join, 512: 16 + 497 pending is over, 16 + 496 is not. */
    fresh(&ss, SESSION_PLAYING);
    assert_int_equal(session_receive(&ss, data, 16, 497, 0, 0, &msg, &n), SESSION_RX_TOO_LARGE);
    fresh(&ss, SESSION_PLAYING);
    assert_int_equal(session_receive(&ss, data, 16, 496, 0, 0, &msg, &n), SESSION_RX_MORE);
    /* Parts that only add up to too much are refused at the part that passes it. */
    fresh(&ss, SESSION_PLAYING);
    assert_int_equal(session_receive(&ss, data, 128, 0, 0, 0, &msg, &n), SESSION_RX_MORE);
    assert_int_equal(session_receive(&ss, data, 128, 0, 0, 0, &msg, &n), SESSION_RX_MORE);
    assert_int_equal(session_receive(&ss, data, 128, 0, 0, 0, &msg, &n), SESSION_RX_MORE);
    assert_int_equal(session_receive(&ss, data, 128, 1, 0, 0, &msg, &n), SESSION_RX_TOO_LARGE);
    /* A 300-byte message (a long chat) is refused before the join and fine after it. */
    fresh(&ss, SESSION_AWAIT_JOIN);
    assert_int_equal(whole(&ss, 300, 0), SESSION_RX_TOO_LARGE);
    fresh(&ss, SESSION_PLAYING);
    assert_int_equal(whole(&ss, 300, 0), SESSION_RX_MESSAGE);
}

static void test_text_refused(void **state)
{
    (void)state;
    session ss;
    fresh(&ss, SESSION_AWAIT_JOIN);
    const uint8_t *msg = NULL;
    size_t n = 0;
    assert_int_equal(session_receive(&ss, (const uint8_t *)"{}", 2, 0, 1, 1, &msg, &n), SESSION_RX_TEXT);
    assert_int_equal(ss.rx_len, 0);
    fresh(&ss, SESSION_PLAYING);
    assert_int_equal(session_receive(&ss, (const uint8_t *)"x", 1, 5, 0, 1, &msg, &n), SESSION_RX_TEXT);
}

/* The message bucket starts full at tick_rate: that many at once pass, the
 * next is refused. */
static void test_message_burst(void **state)
{
    (void)state;
    session ss;
    fresh(&ss, SESSION_PLAYING);
    for (int i = 0; i < RATE; i++)
        assert_int_equal(whole(&ss, 4, 1000), SESSION_RX_MESSAGE);
    assert_int_equal(whole(&ss, 4, 1000), REFUSED);

}

/* The message bucket refills at 2 * tick_rate per second, up to the burst. */
static void test_message_refill(void **state)
{
    (void)state;
    session ss;
    fresh(&ss, SESSION_PLAYING);
    int64_t t = 5000000;
    for (int i = 0; i < RATE; i++)
        assert_int_equal(whole(&ss, 4, t), SESSION_RX_MESSAGE);
    /* 60 ms at 20/s: 1.2 tokens, one message. */
    t += 60000;
    assert_int_equal(whole(&ss, 4, t), SESSION_RX_MESSAGE);
    assert_int_equal(whole(&ss, 4, t), REFUSED);

    /* A long pause refills to the burst, not beyond. */
    fresh(&ss, SESSION_PLAYING);
    t = 0;
    assert_int_equal(whole(&ss, 4, t), SESSION_RX_MESSAGE);
    t += 60 * 1000000LL;
    for (int i = 0; i < RATE; i++)
        assert_int_equal(whole(&ss, 4, t), SESSION_RX_MESSAGE);
    assert_int_equal(whole(&ss, 4, t), REFUSED);

    /* A steady stream just under the refill rate (one per 51 ms) is never refused. */
    fresh(&ss, SESSION_PLAYING);
    t = 0;
    for (int i = 0; i < 200; i++, t += 51000)
        assert_int_equal(whole(&ss, 8, t), SESSION_RX_MESSAGE);
    /* Time going backwards refills nothing (and takes nothing). */
    fresh(&ss, SESSION_PLAYING);
    t = 10000000;
    for (int i = 0; i < RATE; i++)
        assert_int_equal(whole(&ss, 4, t), SESSION_RX_MESSAGE);
    assert_int_equal(whole(&ss, 4, t - 5000000), REFUSED);
}

/* New inputs: a session may claim one seq per tick it has played, plus its
 * slack, whenever they arrive. */
static void test_claims(void **state)
{
    (void)state;
    session ss;
    fresh(&ss, SESSION_PLAYING);
    session_start_claims(&ss, 100, RATE, 2000000); /* the player's newest seq was 100 */
    assert_true(session_claims_ok(&ss, 100 + RATE, RATE, 2000000));      /* the slack at once */
    assert_false(session_claims_ok(&ss, 100 + RATE + 1, RATE, 2000000)); /* a flood */
    /* Three seconds later (a server stall: the inputs arrive together):
     * 30 ticks' worth plus the slack are on time. */
    assert_true(session_claims_ok(&ss, 100 + 3 * RATE + RATE, RATE, 5000000));
    assert_false(session_claims_ok(&ss, 100 + 3 * RATE + RATE + 1, RATE, 5000000));
    /* A clock read before the start counts as no time played. */
    assert_true(session_claims_ok(&ss, 100 + RATE, RATE, 0));
    assert_false(session_claims_ok(&ss, 100 + RATE + 1, RATE, 0));
    /* Seqs are uint32 and may wrap. */
    session_start_claims(&ss, UINT32_MAX - 2, 4, 0);
    assert_true(session_claims_ok(&ss, 1, RATE, 0));  /* 4 past the base */
    assert_false(session_claims_ok(&ss, 2, RATE, 0)); /* 5 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_limit_by_state),
        cmocka_unit_test(test_reassembly),
        cmocka_unit_test(test_limit_exact_and_over),
        cmocka_unit_test(test_pending_over_limit_refused_early),
        cmocka_unit_test(test_text_refused),
        cmocka_unit_test(test_message_burst),
        cmocka_unit_test(test_message_refill),
        cmocka_unit_test(test_claims),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
