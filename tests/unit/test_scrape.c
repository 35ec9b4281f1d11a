/* Unit tests for server/scrape.c: who may read /metrics. Networks parse
 * with and without a prefix (host bits cleared), bad ones are refused;
 * IPv4-mapped IPv6 peers count as IPv4; the token is a bearer token,
 * scheme case-insensitive, nothing else accepted; both rules apply when
 * both are set; with neither, everyone may scrape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "scrape.h"

static void test_net_parse(void **state)
{
    (void)state;
    scrape_net n;
    assert_int_equal(scrape_net_parse("10.1.2.3/8", &n), 0);
    assert_int_equal(n.v6, 0);
    assert_int_equal(n.bits, 8);
    assert_int_equal(n.addr[0], 10);
    assert_int_equal(n.addr[1], 0);
    assert_int_equal(scrape_net_parse("192.0.2.7", &n), 0);
    assert_int_equal(n.bits, 32);
    assert_int_equal(scrape_net_parse("2001:db8::/32", &n), 0);
    assert_int_equal(n.v6, 1);
    assert_int_equal(scrape_net_parse("::1", &n), 0);
    assert_int_equal(n.bits, 128);
    const char *bad[] = {"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8x", "::1/129",
                         "example.com", "10.0.0", "300.0.0.1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(scrape_net_parse(bad[i], &n), -1);
}

static void test_allowed(void **state)
{
    (void)state;
    scrape_rules r;
    memset(&r, 0, sizeof r);
    assert_int_equal(scrape_ip_allowed(&r, "203.0.113.1", 1), 1);
    assert_int_equal(scrape_ip_allowed(&r, "203.0.113.1", 0), 0);
    assert_int_equal(scrape_net_parse("10.0.0.0/8", &r.nets[r.n_nets++]), 0);
    assert_int_equal(scrape_net_parse("192.168.1.0/25", &r.nets[r.n_nets++]), 0);
    assert_int_equal(scrape_net_parse("fd00::/8", &r.nets[r.n_nets++]), 0);
    assert_true(scrape_ip_allowed(&r, "10.200.3.4", 0));
    assert_true(scrape_ip_allowed(&r, "::ffff:10.0.0.1", 0));
    assert_true(scrape_ip_allowed(&r, "192.168.1.127", 0));
    assert_false(scrape_ip_allowed(&r, "192.168.1.128", 0));
    assert_true(scrape_ip_allowed(&r, "fd12::5", 0));
    assert_false(scrape_ip_allowed(&r, "fe80::1", 0));
    assert_false(scrape_ip_allowed(&r, "11.0.0.1", 1));
    assert_false(scrape_ip_allowed(&r, "", 1));
    assert_false(scrape_ip_allowed(&r, "not an address", 1));
}

static void test_check(void **state)
{
    (void)state;
    scrape_rules r;
    memset(&r, 0, sizeof r);
    assert_int_equal(scrape_check(&r, "203.0.113.1", ""), SCRAPE_OK);
    const char *tok = "0123456789abcdef-token";
    memcpy(r.token, tok, strlen(tok));
    r.token_len = strlen(tok);
    assert_int_equal(scrape_check(&r, "127.0.0.1", ""), SCRAPE_UNAUTHORIZED);
    assert_int_equal(scrape_check(&r, "127.0.0.1", "Bearer 0123456789abcdef-token"), SCRAPE_OK);
    assert_int_equal(scrape_check(&r, "127.0.0.1", "bearer 0123456789abcdef-token "), SCRAPE_OK);
    assert_int_equal(scrape_check(&r, "127.0.0.1", "Bearer 0123456789abcdef-toke"), SCRAPE_UNAUTHORIZED);
    assert_int_equal(scrape_check(&r, "127.0.0.1", "Bearer 0123456789abcdef-tokenX"), SCRAPE_UNAUTHORIZED);
    assert_int_equal(scrape_check(&r, "127.0.0.1", "Bearer "), SCRAPE_UNAUTHORIZED);
    assert_int_equal(scrape_check(&r, "127.0.0.1", "Basic MDEyMzQ1Njc4OWFiY2RlZi10b2tlbg=="), SCRAPE_UNAUTHORIZED);
    assert_int_equal(scrape_check(&r, "127.0.0.1", "0123456789abcdef-token"), SCRAPE_UNAUTHORIZED);
    /* Both rules: the address first (403), then the token. */
    assert_int_equal(scrape_net_parse("127.0.0.0/8", &r.nets[r.n_nets++]), 0);
    assert_int_equal(scrape_check(&r, "10.0.0.1", "Bearer 0123456789abcdef-token"), SCRAPE_FORBIDDEN);
    assert_int_equal(scrape_check(&r, "127.0.0.1", "Bearer wrong"), SCRAPE_UNAUTHORIZED);
    assert_int_equal(scrape_check(&r, "127.0.0.1", "Bearer 0123456789abcdef-token"), SCRAPE_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_parse),
        cmocka_unit_test(test_allowed),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
