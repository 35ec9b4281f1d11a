/* Unit tests for server/urls.c: the URLs printed at start-up. A named
 * address is printed as given (IPv6 in brackets); a wildcard host lists
 * the machine's addresses with loopback last (this machine has at least
 * its loopback up); the loopback and wildcard tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "urls.h"

static void test_named_host(void **state)
{
    (void)state;
    urls u;
    urls_list("127.0.0.1", 0, 8080, &u);
    assert_int_equal(u.n, 1);
    assert_string_equal(u.url[0], "http://127.0.0.1:8080/");
    urls_list("::1", 1, 443, &u);
    assert_int_equal(u.n, 1);
    assert_string_equal(u.url[0], "https://[::1]:443/");
    urls_list("192.168.1.5", 0, 9000, &u);
    assert_string_equal(u.url[0], "http://192.168.1.5:9000/");
}

static int is_loopback_url(const char *u)
{
    return strstr(u, "://127.") != NULL || strstr(u, "://[::1]") != NULL;
}

static void test_wildcard_loopback_last(void **state)
{
    (void)state;
    const char *hosts[] = {"0.0.0.0", "::"};
    for (int h = 0; h < 2; h++) {
        urls u;
        urls_list(hosts[h], 0, 8080, &u);
        assert_true(u.n >= 1);
        int seen_loopback = 0;
        for (int i = 0; i < u.n; i++) {
            assert_true(strncmp(u.url[i], "http://", 7) == 0);
            assert_non_null(strstr(u.url[i], ":8080/"));
            assert_null(strstr(u.url[i], "0.0.0.0"));
            assert_null(strstr(u.url[i], "[fe80:"));
            if (is_loopback_url(u.url[i]))
                seen_loopback = 1;
            else
                assert_false(seen_loopback); /* nothing after the loopback ones but loopback */
            for (int j = 0; j < i; j++)
                assert_string_not_equal(u.url[i], u.url[j]);
            if (h == 0)
                assert_null(strchr(u.url[i] + 7, '[')); /* 0.0.0.0: IPv4 only */
        }
        printf("%s: %d URLs, first %s, last %s\n", hosts[h], u.n, u.url[0], u.url[u.n - 1]);
    }
}

static void test_host_kinds(void **state)
{
    (void)state;
    assert_true(urls_host_is_wildcard("0.0.0.0"));
    assert_true(urls_host_is_wildcard("::"));
    assert_false(urls_host_is_wildcard("127.0.0.1"));
    assert_true(urls_host_is_loopback("127.0.0.1"));
    assert_true(urls_host_is_loopback("127.1.2.3"));
    assert_true(urls_host_is_loopback("::1"));
    assert_true(urls_host_is_loopback("localhost"));
    assert_false(urls_host_is_loopback("0.0.0.0"));
    assert_false(urls_host_is_loopback("::"));
    assert_false(urls_host_is_loopback("192.168.1.5"));
    assert_false(urls_host_is_loopback("128.0.0.1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named_host),
        cmocka_unit_test(test_wildcard_loopback_last),
        cmocka_unit_test(test_host_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
