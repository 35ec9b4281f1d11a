/* test_httpfb: server/httpfb.c, the HTTP fallback without sockets: the
 * frames of docs/PROTOCOL.md section 18 byte for byte (its examples), the
 * POST /tw/input body parser, session ids, credentials, the session table,
 * the POST rate and the deadlines, with a made-up clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "httpfb.h"
#include "promtext.h"
#include "proto.h"

static void counter_random(void *user, void *buf, size_t len)
{
    uint8_t *p = buf, *c = user;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(*c + i * 7);
    (*c)++;
}

/* PROTOCOL.md 18.2's examples. */
static void test_frame_bytes(void **state)
{
    (void)state;
    uint8_t out[64], v = 6;
    assert_int_equal(httpfb_frame(out, sizeof out, HTTPFB_HELLO, &v, 1), 4);
    assert_memory_equal(out, "\x00\x01\x00\x06", 4);
    static const uint8_t close4001[] = {0x02, 0x0f, 0x00, 0xa1, 0x0f, 't', 'o', 'k', 'e', 'n', ' ',
                                        'e',  'x',  'p',  'i',  'r',  'e', 'd'};
    assert_int_equal(httpfb_close_frame(out, sizeof out, 4001, "token expired"), sizeof close4001);
    assert_memory_equal(out, close4001, sizeof close4001);
    uint8_t snap[13] = {0x82};
    assert_int_equal(httpfb_frame(out, sizeof out, HTTPFB_MESSAGE, snap, sizeof snap), 16);
    assert_memory_equal(out, "\x01\x0d\x00\x82", 4);
    /* too small, too long */
    assert_int_equal(httpfb_frame(out, 3, HTTPFB_MESSAGE, snap, 1), 0);
    assert_int_equal(httpfb_close_frame(out, 4, 1000, ""), 0);
    char reason[200];
    memset(reason, 'x', sizeof reason - 1);
    reason[sizeof reason - 1] = 0;
    uint8_t big[256];
    assert_int_equal(httpfb_close_frame(big, sizeof big, 1000, reason), 3 + 2 + HTTPFB_MAX_CLOSE_REASON);
}

static void test_parse_input(void **state)
{
    (void)state;
    static const uint8_t body[] = {1, 2, 0, 0x02, 0x00, 1, 0, 0, 2, 2, 0, 0xe8, 0x03};
    httpfb_frame_in f[HTTPFB_MAX_INPUT_FRAMES];
    int n;
    assert_int_equal(httpfb_parse_input(body, sizeof body, f, HTTPFB_MAX_INPUT_FRAMES, &n), HTTPFB_BODY_OK);
    assert_int_equal(n, 3);
    assert_int_equal(f[0].kind, HTTPFB_MESSAGE);
    assert_int_equal(f[0].len, 2);
    assert_ptr_equal(f[0].payload, body + 3);
    assert_int_equal(f[1].len, 0); /* an empty message: the core's 1002, not the parser's */
    assert_int_equal(f[2].kind, HTTPFB_CLOSE);
    assert_int_equal(f[2].code, 1000);
    /* every strict prefix that cuts a frame is truncated */
    for (size_t k = 1; k < sizeof body; k++) {
        int err = httpfb_parse_input(body, k, f, HTTPFB_MAX_INPUT_FRAMES, &n);
        if (k == 5 || k == 8)
            assert_int_equal(err, HTTPFB_BODY_OK); /* ends between frames */
        else
            assert_int_equal(err, HTTPFB_BODY_TRUNCATED);
    }
    assert_int_equal(httpfb_parse_input(body, 0, f, 4, &n), HTTPFB_BODY_EMPTY);
    static const uint8_t after_close[] = {2, 2, 0, 0xe8, 0x03, 1, 0, 0};
    assert_int_equal(httpfb_parse_input(after_close, sizeof after_close, f, 4, &n), HTTPFB_BODY_AFTER_CLOSE);
    static const uint8_t hello[] = {0, 1, 0, 6};
    assert_int_equal(httpfb_parse_input(hello, sizeof hello, f, 4, &n), HTTPFB_BODY_KIND);
    static const uint8_t short_close[] = {2, 1, 0, 0xe8};
    assert_int_equal(httpfb_parse_input(short_close, sizeof short_close, f, 4, &n), HTTPFB_BODY_KIND);
    uint8_t many[3 * (HTTPFB_MAX_INPUT_FRAMES + 1)] = {0};
    for (size_t i = 0; i < sizeof many; i += 3)
        many[i] = HTTPFB_MESSAGE;
    assert_int_equal(httpfb_parse_input(many, sizeof many, f, HTTPFB_MAX_INPUT_FRAMES, &n), HTTPFB_BODY_TOO_MANY);
}

static void test_sid_and_credential(void **state)
{
    (void)state;
    uint8_t sid[16];
    char hex[33];
    assert_int_equal(httpfb_sid_parse("00112233445566778899aabbccddeeff", sid), 0);
    httpfb_sid_format(sid, hex);
    assert_string_equal(hex, "00112233445566778899aabbccddeeff");
    assert_int_equal(httpfb_sid_parse("00112233445566778899AABBCCDDEEFF", sid), -1);
    assert_int_equal(httpfb_sid_parse("00112233445566778899aabbccddeef", sid), -1);
    assert_int_equal(httpfb_sid_parse("00112233445566778899aabbccddeeff0", sid), -1);
    assert_int_equal(httpfb_sid_parse(NULL, sid), -1);

    char cred[HTTPFB_MAX_CREDENTIAL + 1];
    static const uint8_t join[] = {0x01, 0x06, 0x05, 'A', 'b', '-', '_', '9', 0x00, 0x00};
    assert_int_equal(httpfb_join_credential(join, sizeof join, cred, sizeof cred), 5);
    assert_string_equal(cred, "Ab-_9");
    uint8_t resume[21] = {0x01, 0x06, 0x00, 0x10};
    for (int i = 0; i < 16; i++)
        resume[4 + i] = (uint8_t)(i * 0x11);
    assert_int_equal(httpfb_join_credential(resume, sizeof resume, cred, sizeof cred), 32);
    assert_string_equal(cred, "00112233445566778899aabbccddeeff");
    assert_int_equal(httpfb_join_credential(join, sizeof join - 1, cred, sizeof cred), 0); /* truncated */
}

static void test_table(void **state)
{
    (void)state;
    uint8_t ctr = 0;
    httpfb *t = httpfb_create(2, counter_random, &ctr);
    assert_non_null(t);
    httpfb_session *a = httpfb_open(t, 0, "tokenA", 6), *b = httpfb_open(t, 0, "tokenB", 6);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(httpfb_open(t, 0, "tokenC", 6)); /* full */
    assert_memory_not_equal(a->sid, b->sid, HTTPFB_SID_LEN);
    assert_ptr_equal(httpfb_find(t, a->sid), a);
    assert_ptr_equal(httpfb_of(t, b), b);
    assert_null(httpfb_of(t, &ctr));
    assert_true(httpfb_credential_ok(a, "tokenA", 6));
    assert_false(httpfb_credential_ok(a, "tokenB", 6));
    assert_false(httpfb_credential_ok(a, "token", 5));
    assert_false(httpfb_credential_ok(a, "tokenAA", 7));
    assert_false(httpfb_credential_ok(a, "", 0));
    int slot = httpfb_slot(t, a);
    uint32_t gen = a->gen;
    uint8_t sid[16];
    memcpy(sid, a->sid, sizeof sid);
    assert_ptr_equal(httpfb_at(t, slot, gen), a);
    httpfb_close(t, a);
    assert_null(httpfb_find(t, sid));
    assert_null(httpfb_at(t, slot, gen)); /* the handle died with it */
    assert_int_equal(httpfb_count(t), 1);
    httpfb_session *c = httpfb_open(t, 0, "tokenC", 6); /* the slot again, a new generation */
    assert_non_null(c);
    assert_int_equal(httpfb_slot(t, c), slot);
    assert_null(httpfb_at(t, slot, gen));
    assert_ptr_equal(httpfb_find(t, b->sid), b);
    httpfb_destroy(t);
}

static void test_post_rate(void **state)
{
    (void)state;
    httpfb_session s;
    memset(&s, 0, sizeof s);
    int64_t now = 1000000;
    int ok = 0;
    for (int i = 0; i < 100; i++)
        ok += httpfb_post_charge(&s, 60, now);
    assert_int_equal(ok, 30); /* burst tick_rate / 2 */
    now += 500000;             /* half a second: 30 more */
    ok = 0;
    for (int i = 0; i < 100; i++)
        ok += httpfb_post_charge(&s, 60, now);
    assert_int_equal(ok, 30);
    /* one a tick for a second is fine */
    ok = 0;
    for (int i = 0; i < 60; i++) {
        now += 1000000 / 60 + 1;
        ok += httpfb_post_charge(&s, 60, now);
    }
    assert_int_equal(ok, 60);
}

static void test_due(void **state)
{
    (void)state;
    httpfb_session s;
    memset(&s, 0, sizeof s);
    s.created_us = 0;
    assert_int_equal(httpfb_due(&s, (int64_t)HTTPFB_ATTACH_MS * 1000), HTTPFB_DUE_NONE);
    assert_int_equal(httpfb_due(&s, (int64_t)HTTPFB_ATTACH_MS * 1000 + 1), HTTPFB_DUE_END);
    s.mode = HTTPFB_MODE_STREAM;
    s.down = &s;
    s.last_frame_us = 0;
    assert_int_equal(httpfb_due(&s, (int64_t)HTTPFB_KEEPALIVE_MS * 1000 + 1), HTTPFB_DUE_KEEPALIVE);
    s.mode = HTTPFB_MODE_POLL;
    s.poll_since_us = 0;
    assert_int_equal(httpfb_due(&s, (int64_t)HTTPFB_POLL_HOLD_MS * 1000 + 1), HTTPFB_DUE_KEEPALIVE);
    s.down = NULL;
    s.last_down_us = 0;
    assert_int_equal(httpfb_due(&s, (int64_t)HTTPFB_POLL_GAP_MS * 1000), HTTPFB_DUE_NONE);
    assert_int_equal(httpfb_due(&s, (int64_t)HTTPFB_POLL_GAP_MS * 1000 + 1), HTTPFB_DUE_END);
    s.ending = 1;
    assert_int_equal(httpfb_due(&s, 0), HTTPFB_DUE_END);
}

static void test_metrics_text(void **state)
{
    (void)state;
    uint8_t ctr = 0;
    httpfb *t = httpfb_create(4, counter_random, &ctr);
    httpfb_get_stats(t)->sessions_total[HTTPFB_T_STREAM] = 3;
    httpfb_get_stats(t)->refused[HTTPFB_REF_FLOOD] = 7;
    httpfb_get_stats(t)->fallbacks[httpfb_fallback_reason("welcome")] = 2;
    httpfb_get_stats(t)->fallbacks[httpfb_fallback_reason("nonsense")] = 1;
    static char text[16384];
    size_t n = httpfb_metrics_text(t, text, sizeof text);
    assert_true(n > 0 && n < sizeof text);
    text[n] = 0;
    promtext p = {0};
    assert_int_equal(promtext_parse(&p, text), 0);
    assert_true(promtext_value(&p, "tickwire_transport_sessions_total{transport=\"http_stream\"}") == 3);
    assert_true(promtext_value(&p, "tickwire_http_fallback_refused_total{reason=\"flood\"}") == 7);
    assert_true(promtext_value(&p, "tickwire_http_fallbacks_total{reason=\"welcome\"}") == 2);
    assert_true(promtext_value(&p, "tickwire_http_fallbacks_total{reason=\"other\"}") == 1);
    promtext_free(&p);
    assert_int_equal(httpfb_metrics_text(t, text, 100), 0); /* too small: nothing */
    httpfb_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_bytes), cmocka_unit_test(test_parse_input),
        cmocka_unit_test(test_sid_and_credential), cmocka_unit_test(test_table),
        cmocka_unit_test(test_post_rate), cmocka_unit_test(test_due),
        cmocka_unit_test(test_metrics_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
