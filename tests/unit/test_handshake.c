/* Unit tests for server/handshake.c, the RFC 6455 section 4.2.1 checks on
 * a WebSocket opening handshake.
 *
 * The RFC's example request passes; each rule, broken alone, gives its own
 * reason, status (426 only for the version) and body; header lists are
 * tokens (case and whitespace as HTTP allows, no prefixes); the subprotocol
 * must be the one the server would select from the offers. The
 * integration test (tests/integration, case handshake) sends the same
 * requests to the real server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "handshake.h"

/* RFC 6455 section 1.3's example key. */
#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

static handshake_request good(void)
{
    return (handshake_request){
        .method = "GET",
        .http_version = "HTTP/1.1",
        .host = "server.example.com",
        .upgrade = "websocket",
        .connection = "Upgrade",
        .key = KEY,
        .version = "13",
        .protocols = "tickwire.v3",
    };
}

/* The vhost of the real server also answers to these names. */
static int known(void *user, const char *name)
{
    (void)user;
    return strcmp(name, "http") == 0 || strcmp(name, "tickwire-tick") == 0 || strcmp(name, "tickwire.v3") == 0;
}

static const handshake_config CFG = {.subprotocol = "tickwire.v3", .known = known};

static void test_rfc_example_passes(void **state)
{
    (void)state;
    handshake_request r = good();
    assert_int_equal(handshake_check(&r, &CFG), HANDSHAKE_OK);
    /* Without a `known` callback only the game's name counts. */
    handshake_config plain = {.subprotocol = "tickwire.v3"};
    assert_int_equal(handshake_check(&r, &plain), HANDSHAKE_OK);
}

static void test_each_rule_alone(void **state)
{
    (void)state;
    static const struct {
        size_t field; /* offset of the value in handshake_request */
        const char *value;
        int reason;
    } cases[] = {
        {offsetof(handshake_request, method), "POST", REF_METHOD},
        {offsetof(handshake_request, method), "get", REF_METHOD},
        {offsetof(handshake_request, method), NULL, REF_METHOD},
        {offsetof(handshake_request, http_version), "HTTP/1.0", REF_HTTP_VERSION},
        {offsetof(handshake_request, http_version), "", REF_HTTP_VERSION},
        {offsetof(handshake_request, http_version), "HTTP/1.1x", REF_HTTP_VERSION},
        {offsetof(handshake_request, host), NULL, REF_HOST},
        {offsetof(handshake_request, host), " ", REF_HOST},
        {offsetof(handshake_request, upgrade), NULL, REF_UPGRADE},
        {offsetof(handshake_request, upgrade), "websockets", REF_UPGRADE},
        {offsetof(handshake_request, upgrade), "h2c", REF_UPGRADE},
        {offsetof(handshake_request, connection), NULL, REF_CONNECTION},
        {offsetof(handshake_request, connection), "keep-alive", REF_CONNECTION},
        {offsetof(handshake_request, connection), "up", REF_CONNECTION},
        {offsetof(handshake_request, connection), "upgrades", REF_CONNECTION},
        {offsetof(handshake_request, key), NULL, REF_KEY},
        {offsetof(handshake_request, key), "AAAA", REF_KEY},
        {offsetof(handshake_request, key), "dGhlIHNhbXBsZSBub25jZQ", REF_KEY},      /* unpadded */
        {offsetof(handshake_request, key), "dGhlIHNhbXBsZSBub25jZQ=", REF_KEY},     /* 23 chars */
        {offsetof(handshake_request, key), "dGhlIHNhbXBsZSBub25jZSE=", REF_KEY},    /* 17 bytes */
        {offsetof(handshake_request, key), "dGhlIHNhbXBsZSBub25j*Q==", REF_KEY},    /* not base64 */
        {offsetof(handshake_request, key), KEY "," KEY, REF_KEY},                   /* sent twice */
        {offsetof(handshake_request, version), "8", REF_WS_VERSION},
        {offsetof(handshake_request, version), NULL, REF_WS_VERSION},
        {offsetof(handshake_request, version), "013", REF_WS_VERSION},
        {offsetof(handshake_request, version), "13, 8", REF_WS_VERSION},
        {offsetof(handshake_request, protocols), NULL, REF_SUBPROTOCOL},
        {offsetof(handshake_request, protocols), "", REF_SUBPROTOCOL},
        {offsetof(handshake_request, protocols), "tickwire.v2", REF_SUBPROTOCOL},
        {offsetof(handshake_request, protocols), "Tickwire.V3", REF_SUBPROTOCOL}, /* names are case-sensitive */
        {offsetof(handshake_request, protocols), "http, tickwire.v3", REF_SUBPROTOCOL},
        {offsetof(handshake_request, protocols), "tickwire-tick", REF_SUBPROTOCOL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        handshake_request r = good();
        memcpy((char *)&r + cases[i].field, &cases[i].value, sizeof cases[i].value);
        int got = handshake_check(&r, &CFG);
        if (got != cases[i].reason)
            fail_msg("case %zu (%s): reason %d, want %d", i, cases[i].value ? cases[i].value : "(absent)", got,
                     cases[i].reason);
        const char *v = handshake_value(&r, got);
        assert_string_equal(v, cases[i].value ? cases[i].value : "");
    }
}

static void test_lists_and_whitespace(void **state)
{
    (void)state;
    static const struct {
        size_t field;
        const char *value;
    } ok[] = {
        {offsetof(handshake_request, upgrade), "WebSocket"},
        {offsetof(handshake_request, upgrade), "h2c, websocket"},
        {offsetof(handshake_request, connection), "keep-alive, Upgrade"}, /* Firefox */
        {offsetof(handshake_request, connection), "UPGRADE"},
        {offsetof(handshake_request, connection), " upgrade ,close"},
        {offsetof(handshake_request, key), " " KEY " "},
        {offsetof(handshake_request, key), "AAAAAAAAAAAAAAAAAAAAAA=="},
        {offsetof(handshake_request, key), "++++////++++////++++//=="},
        {offsetof(handshake_request, version), " 13"},
        {offsetof(handshake_request, http_version), "HTTP/2.0"},
        {offsetof(handshake_request, protocols), "tickwire.v2, tickwire.v3"},
        {offsetof(handshake_request, protocols), ",, tickwire.v3 ,"},
        {offsetof(handshake_request, protocols), "tickwire.v3, http"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        handshake_request r = good();
        memcpy((char *)&r + ok[i].field, &ok[i].value, sizeof ok[i].value);
        if (handshake_check(&r, &CFG) != HANDSHAKE_OK)
            fail_msg("case %zu (%s) refused: %d", i, ok[i].value, handshake_check(&r, &CFG));
    }
}

static void test_long_offers(void **state)
{
    (void)state;
    char offers[256];
    memset(offers, 'x', 64);
    strcpy(offers + 64, ", tickwire.v3");
    handshake_request r = good();
    r.protocols = offers;
    assert_int_equal(handshake_check(&r, &CFG), REF_SUBPROTOCOL); /* lws drops on a 64-char name */
    offers[63] = ',';
    assert_int_equal(handshake_check(&r, &CFG), HANDSHAKE_OK);    /* a 63-char unknown name is skipped */
}

static void test_first_failure_wins(void **state)
{
    (void)state;
    handshake_request r = {0};
    assert_int_equal(handshake_check(&r, &CFG), REF_METHOD);
    r.method = "GET";
    assert_int_equal(handshake_check(&r, &CFG), REF_HTTP_VERSION);
    r.http_version = "HTTP/1.1";
    assert_int_equal(handshake_check(&r, &CFG), REF_HOST);
}

static void test_attempted(void **state)
{
    (void)state;
    handshake_request r = {.method = "GET", .http_version = "HTTP/1.1", .host = "h"};
    assert_false(handshake_attempted(&r));
    r.connection = "Upgrade";
    assert_false(handshake_attempted(&r)); /* not a WebSocket header */
    r.key = KEY;
    assert_true(handshake_attempted(&r));
    r.key = NULL;
    r.version = "13";
    assert_true(handshake_attempted(&r));
    assert_int_equal(handshake_check(&r, &CFG), REF_UPGRADE);
}

static void test_status_and_body(void **state)
{
    (void)state;
    for (int reason = REF_METHOD; reason < REF_N; reason++) {
        char body[128];
        size_t n = handshake_body(reason, "tickwire.v3", body, sizeof body);
        assert_true(n > 1 && n == strlen(body) && body[n - 1] == '\n');
        assert_int_equal(handshake_status(reason), reason == REF_WS_VERSION ? 426 : 400);
    }
    char body[128];
    handshake_body(REF_SUBPROTOCOL, "tickwire.v3", body, sizeof body);
    assert_non_null(strstr(body, "tickwire.v3"));
    handshake_body(REF_WS_VERSION, "tickwire.v3", body, sizeof body);
    assert_non_null(strstr(body, "13"));
    /* Cut at cap, still terminated. */
    assert_int_equal(handshake_body(REF_SUBPROTOCOL, "tickwire.v3", body, 8), 7);
    assert_int_equal(strlen(body), 7);
    assert_int_equal(handshake_body(REF_KEY, "x", body, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_example_passes),
        cmocka_unit_test(test_each_rule_alone),
        cmocka_unit_test(test_lists_and_whitespace),
        cmocka_unit_test(test_long_offers),
        cmocka_unit_test(test_first_failure_wins),
        cmocka_unit_test(test_attempted),
        cmocka_unit_test(test_status_and_body),
    };
    return cmocka_run_group_tests_name("handshake", tests, NULL, NULL);
}
