/* Unit tests for server/admission.c: who may hold a connection, and who
 * may upgrade one to the game.
 *
 * Origins: none (not a page), the page's own host, localhost / 127.0.0.1 /
 * [::1] on any port and the configured origins (case-insensitive) pass; any
 * other is refused with 403. Caps: past the server's or one address's
 * connection count, 503. Tickets: one per accepted connection, given back
 * exactly once (a second release, or a stale handle, changes nothing). The
 * per-address counts live in an open-addressing table with backward-shift
 * deletion: addresses that share a home slot stay findable whichever of
 * them leaves, and a table holding as many addresses as it was sized for
 * refuses the next one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "admission.h"
#include "sim.h"

static void init(admission *a, int max_conns, int per_ip)
{
    admission_config cfg = {.max_conns = max_conns, .max_conns_per_ip = per_ip};
    assert_int_equal(admission_init(a, &cfg), 0);
    assert_non_null(a->ips);
}

static void test_origin_rules(void **state)
{
    (void)state;
    admission a;
    admission_config cfg = {.max_conns = 10, .max_conns_per_ip = 10, .n_origins = 2,
                            .origins = {"https://play.example.org", "http://lan-party:9000"}};
    assert_int_equal(admission_init(&a, &cfg), 0);
    const char *host = "game.example.com:8080";
    static const char *const ok[] = {
        "",                                 /* no Origin: not a page */
        "http://game.example.com:8080",     /* the page's own host */
        "https://GAME.Example.com:8080",    /* hosts compare case-insensitively */
        "http://localhost:3000",            /* localhost on any port */
        "http://localhost",
        "http://LOCALHOST:1",
        "http://127.0.0.1:5173",
        "http://127.0.0.1",
        "http://[::1]:8080",
        "http://[::1]",
        "https://play.example.org",         /* configured */
        "HTTPS://PLAY.EXAMPLE.ORG",
        "http://lan-party:9000",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int r = admission_check_origin(&a, ok[i], host);
        if (r != ADMIT_OK)
            fail_msg("origin \"%s\" refused (%d)", ok[i], r);
    }
    static const char *const bad[] = {
        "http://evil.example",
        "http://game.example.com:8081",     /* own host, other port */
        "http://game.example.com",          /* own host, no port: not the Host the request named */
        "http://localhost.evil.example",
        "http://localhostx:80",
        "http://127.0.0.1.evil.example",
        "http://127.0.0.2:80",
        "http://[::2]:80",
        "https://play.example.org.evil",
        "https://play.example.org:444",
        "http://lan-party:9001",
        "null",                             /* sandboxed page */
        "game.example.com:8080",            /* no scheme */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r = admission_check_origin(&a, bad[i], host);
        if (r != REF_ORIGIN)
            fail_msg("origin \"%s\" not refused (%d)", bad[i], r);
    }
    /* No Host header: only localhost and the configured origins remain. */
    assert_int_equal(admission_check_origin(&a, "http://game.example.com:8080", ""), REF_ORIGIN);
    assert_int_equal(admission_check_origin(&a, "http://localhost:1", ""), ADMIT_OK);
    assert_int_equal(admission_status(REF_ORIGIN), 403);
    admission_free(&a);
}

static void test_caps(void **state)
{
    (void)state;
    admission a;
    init(&a, 3, 2);
    assert_int_equal(admission_check_caps(&a, "10.0.0.1"), ADMIT_OK);
    assert_int_equal(admission_add(&a, "10.0.0.1"), 0);
    assert_int_equal(admission_add(&a, "10.0.0.1"), 0);
    assert_int_equal(a.conns, 2);
    assert_int_equal(admission_count(&a, "10.0.0.1"), 2);
    /* Per address: the third from 10.0.0.1 is refused, another address is not. */
    assert_int_equal(admission_check_caps(&a, "10.0.0.1"), REF_MAX_PER_IP);
    assert_int_equal(admission_status(REF_MAX_PER_IP), 503);
    assert_int_equal(admission_check_caps(&a, "10.0.0.2"), ADMIT_OK);
    assert_int_equal(admission_add(&a, "10.0.0.2"), 0);
    /* In all: three open, everyone is refused. */
    assert_int_equal(admission_check_caps(&a, "10.0.0.3"), REF_MAX_CONNS);
    assert_int_equal(admission_status(REF_MAX_CONNS), 503);
    /* The origin is another question: a local page may upgrade a connection
     * it already holds, a foreign one hears 403. */
    assert_int_equal(admission_check_origin(&a, "http://localhost:3000", ""), ADMIT_OK);
    assert_int_equal(admission_check_origin(&a, "http://evil.example", ""), REF_ORIGIN);
    /* One closes: room again. */
    admission_remove(&a, "10.0.0.1");
    assert_int_equal(a.conns, 2);
    assert_int_equal(admission_count(&a, "10.0.0.1"), 1);
    assert_int_equal(admission_check_caps(&a, "10.0.0.3"), ADMIT_OK);
    assert_int_equal(admission_check_caps(&a, "10.0.0.1"), ADMIT_OK);
    admission_remove(&a, "10.0.0.1");
    admission_remove(&a, "10.0.0.2");
    assert_int_equal(a.conns, 0);
    assert_int_equal(a.nips, 0);
    assert_int_equal(admission_count(&a, "10.0.0.1"), 0);
    /* Removing an address that is not there changes nothing. */
    admission_remove(&a, "10.9.9.9");
    assert_int_equal(a.conns, 0);
    admission_free(&a);
}

/* Tickets: each accept within the caps counts one connection under its
 * address until released; past a cap there is none and nothing is counted;
 * a release counts once, whatever handle comes back again. */
static void test_tickets(void **state)
{
    (void)state;
    admission a;
    init(&a, 3, 2);
    int r = 0;
    uint32_t t1 = admission_accept(&a, "10.0.0.1", &r);
    assert_int_not_equal(t1, 0);
    assert_int_equal(r, ADMIT_OK);
    uint32_t t2 = admission_accept(&a, "10.0.0.1", &r);
    assert_int_not_equal(t2, 0);
    assert_int_not_equal(t2, t1);
    assert_int_equal(admission_accept(&a, "10.0.0.1", &r), 0);
    assert_int_equal(r, REF_MAX_PER_IP);
    uint32_t t3 = admission_accept(&a, "10.0.0.2", &r);
    assert_int_not_equal(t3, 0);
    assert_int_equal(admission_accept(&a, "10.0.0.3", &r), 0);
    assert_int_equal(r, REF_MAX_CONNS);
    assert_int_equal(a.conns, 3);
    assert_int_equal(admission_count(&a, "10.0.0.1"), 2);
    /* Released once: its count comes back; again, or 0, or a handle never
     * issued: nothing. */
    assert_int_equal(admission_release(&a, t1), 1);
    assert_int_equal(a.conns, 2);
    assert_int_equal(admission_count(&a, "10.0.0.1"), 1);
    assert_int_equal(admission_release(&a, t1), 0);
    assert_int_equal(admission_release(&a, 0), 0);
    assert_int_equal(admission_release(&a, 0xfffffu), 0);
    assert_int_equal(a.conns, 2);
    /* The slot is reused under a new handle: the old one stays dead. */
    uint32_t t4 = admission_accept(&a, "10.0.0.3", &r);
    assert_int_not_equal(t4, 0);
    assert_int_not_equal(t4, t1);
    assert_int_equal(admission_release(&a, t1), 0);
    assert_int_equal(admission_count(&a, "10.0.0.3"), 1);
    assert_int_equal(admission_release(&a, t2), 1);
    assert_int_equal(admission_release(&a, t3), 1);
    assert_int_equal(admission_release(&a, t4), 1);
    assert_int_equal(a.conns, 0);
    assert_int_equal(a.nips, 0);
    admission_free(&a);
}

/* The pool grows to the cap and no further; cycling through it many times
 * (handles' generations wrap) keeps the counts exact. */
static void test_ticket_pool(void **state)
{
    (void)state;
    admission a;
    init(&a, 300, 300);
    static uint32_t t[300];
    int r;
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 300; i++) {
            t[i] = admission_accept(&a, i % 2 ? "10.0.0.1" : "", &r);
            assert_int_not_equal(t[i], 0);
        }
        assert_int_equal(admission_accept(&a, "10.0.0.2", &r), 0);
        assert_int_equal(r, REF_MAX_CONNS);
        assert_true(a.ticket_cap <= 300);
        for (int i = 0; i < 300; i += 2)
            assert_int_equal(admission_release(&a, t[i]), 1);
        assert_int_equal(admission_count(&a, ""), 0);
        assert_int_equal(admission_count(&a, "10.0.0.1"), 150);
        for (int i = 1; i < 300; i += 2)
            assert_int_equal(admission_release(&a, t[i]), 1);
        assert_int_equal(a.conns, 0);
    }
    admission_free(&a);
}

/* The table's hash (FNV-1a, as admission.c says), used here only to pick
 * addresses that share a home slot; the assertions hold whatever the hash. */
static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* Addresses that all start their probe in the same slot: removing any one
 * of them must leave the others findable with their counts. */
static void test_colliding_addresses(void **state)
{
    (void)state;
    admission a;
    init(&a, 64, 100);
    uint32_t mask = a.ip_cap - 1;
    char ips[12][32];
    int n = 0;
    uint32_t home = fnv1a("10.1.0.0") & mask;
    for (int i = 0; n < 12 && i < 65536; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.1.%d.%d", i / 256, i % 256);
        if ((fnv1a(ip) & mask) == home)
            snprintf(ips[n++], sizeof ips[0], "%s", ip);
    }
    assert_int_equal(n, 12);
    for (int i = 0; i < n; i++)
        for (int k = 0; k <= i; k++)
            assert_int_equal(admission_add(&a, ips[i]), 0); /* address i has i + 1 connections */
    assert_int_equal(a.nips, 12);
    for (int i = 0; i < n; i++)
        assert_int_equal(admission_count(&a, ips[i]), i + 1);
    /* Remove the run's head, a middle one and the last, in that order. */
    static const int order[] = {0, 5, 11, 1, 10, 6, 2, 9, 3, 8, 4, 7};
    int gone[12] = {0};
    for (size_t o = 0; o < sizeof order / sizeof order[0]; o++) {
        int v = order[o];
        for (int k = 0; k <= v; k++)
            admission_remove(&a, ips[v]);
        gone[v] = 1;
        for (int i = 0; i < n; i++)
            assert_int_equal(admission_count(&a, ips[i]), gone[i] ? 0 : i + 1);
    }
    assert_int_equal(a.nips, 0);
    assert_int_equal(a.conns, 0);
    admission_free(&a);
}

/* Many random addresses at the table's full load, removed in a scrambled
 * order: after each removal every remaining one is found with its count. */
static void test_many_addresses(void **state)
{
    (void)state;
    admission a;
    init(&a, 100, 10);
    int n = (int)(a.ip_cap / 2);
    char(*ips)[32] = test_calloc((size_t)n, 32);
    uint64_t rng = 12345;
    for (int i = 0; i < n; i++) {
        uint64_t r = sim_rand_next(&rng);
        snprintf(ips[i], 32, "2001:db8::%x:%x", (unsigned)(r & 0xffff), (unsigned)i);
        assert_int_equal(admission_add(&a, ips[i]), 0);
        if (i % 3 == 0)
            assert_int_equal(admission_add(&a, ips[i]), 0);
    }
    assert_int_equal((int)a.nips, n);
    int *gone = test_calloc((size_t)n, sizeof *gone);
    for (int step = 0; step < n; step++) {
        int v = (int)((uint32_t)step * 37u % (uint32_t)n); /* n is a power of two: 37 is coprime */
        admission_remove(&a, ips[v]);
        if (v % 3 == 0) {
            assert_int_equal(admission_count(&a, ips[v]), 1);
            admission_remove(&a, ips[v]);
        }
        gone[v] = 1;
        if (step % 16 == 0 || step == n - 1)
            for (int i = 0; i < n; i++)
                assert_int_equal(admission_count(&a, ips[i]), gone[i] ? 0 : 1 + (i % 3 == 0));
    }
    assert_int_equal(a.nips, 0);
    assert_int_equal(a.conns, 0);
    test_free(gone);
    test_free(ips);
    admission_free(&a);
}

/* The table holds half its slots; one address more is refused (-1) while
 * more connections from an address already in it are still counted. */
static void test_table_full(void **state)
{
    (void)state;
    admission a;
    init(&a, 1, 1000);
    uint32_t room = a.ip_cap / 2;
    char ip[32];
    for (uint32_t i = 0; i < room; i++) {
        snprintf(ip, sizeof ip, "172.16.%u.%u", i / 256, i % 256);
        assert_int_equal(admission_add(&a, ip), 0);
    }
    assert_int_equal(a.nips, room);
    assert_int_equal(admission_add(&a, "192.168.0.1"), -1);
    assert_int_equal(admission_count(&a, "192.168.0.1"), 0);
    assert_int_equal(a.conns, (int)room);
    assert_int_equal(admission_add(&a, "172.16.0.0"), 0);
    assert_int_equal(admission_count(&a, "172.16.0.0"), 2);
    /* One address leaves: the newcomer fits. */
    admission_remove(&a, "172.16.0.5");
    assert_int_equal(admission_add(&a, "192.168.0.1"), 0);
    assert_int_equal(admission_count(&a, "192.168.0.1"), 1);
    admission_free(&a);
    admission_free(&a); /* twice is harmless */
}

/* A connection whose address the transport could not read comes with "":
 * it is still one connection, counted in and out, and it does not take
 * over the count of an address that later lands in its slot. */
static void test_unknown_address(void **state)
{
    (void)state;
    admission a;
    init(&a, 4, 2);
    assert_int_equal(admission_add(&a, ""), 0);
    assert_int_equal(admission_add(&a, ""), 0);
    assert_int_equal(a.conns, 2);
    assert_int_equal(admission_count(&a, ""), 2);
    assert_int_equal(admission_check_caps(&a, ""), REF_MAX_PER_IP);
    /* Every other address starts at zero. */
    char ip[32];
    for (int i = 0; i < 300; i++) {
        snprintf(ip, sizeof ip, "10.2.%d.%d", i / 256, i % 256);
        assert_int_equal(admission_count(&a, ip), 0);
    }
    admission_remove(&a, "");
    admission_remove(&a, "");
    assert_int_equal(a.conns, 0);
    assert_int_equal(a.nips, 0);
    assert_int_equal(admission_count(&a, ""), 0);
    admission_free(&a);
}

/* An address longer than the table keeps is cut the same way going in and
 * out: it is found again and its connection leaves. */
static void test_long_address(void **state)
{
    (void)state;
    admission a;
    init(&a, 4, 1);
    char ip[80];
    memset(ip, 'f', sizeof ip - 1);
    ip[sizeof ip - 1] = '\0';
    assert_int_equal(admission_add(&a, ip), 0);
    assert_int_equal(admission_count(&a, ip), 1);
    assert_int_equal(admission_check_caps(&a, ip), REF_MAX_PER_IP);
    /* An address cut to the table's buffer: the same connection. */
    char cut[ADMISSION_IP_LEN];
    memcpy(cut, ip, sizeof cut - 1);
    cut[sizeof cut - 1] = '\0';
    assert_int_equal(admission_count(&a, cut), 1);
    admission_remove(&a, cut);
    assert_int_equal(a.conns, 0);
    assert_int_equal(a.nips, 0);
    assert_int_equal(admission_count(&a, ip), 0);
    /* A ticket keeps the cut address and gives its count back. */
    int r;
    uint32_t t = admission_accept(&a, ip, &r);
    assert_int_not_equal(t, 0);
    assert_int_equal(admission_count(&a, cut), 1);
    assert_int_equal(admission_release(&a, t), 1);
    assert_int_equal(a.nips, 0);
    admission_free(&a);
}

/* The reserve: past the caps, an address reserve_ok approves gets one of
 * `reserve` tickets, not under the caps' counts; nobody else does; the
 * reserve refills as they close, and a reserve ticket is released once. */
static int only_10_0_0_9(void *user, const char *ip)
{
    (void)user;
    return strcmp(ip, "10.0.0.9") == 0;
}

static void test_reserve(void **state)
{
    (void)state;
    admission a;
    admission_config cfg = {.max_conns = 2, .max_conns_per_ip = 2, .reserve = 2, .reserve_ok = only_10_0_0_9};
    assert_int_equal(admission_init(&a, &cfg), 0);
    int r;
    uint32_t t1 = admission_accept(&a, "10.0.0.1", &r), t2 = admission_accept(&a, "10.0.0.9", &r);
    assert_true(t1 && t2 && !admission_is_reserve(&a, t1) && !admission_is_reserve(&a, t2));
    assert_int_equal(admission_accept(&a, "10.0.0.1", &r), 0); /* full: no reserve for it */
    assert_int_equal(r, REF_MAX_CONNS);
    uint32_t r1 = admission_accept(&a, "10.0.0.9", &r), r2 = admission_accept(&a, "10.0.0.9", &r);
    assert_true(r1 && r2 && admission_is_reserve(&a, r1) && admission_is_reserve(&a, r2));
    assert_int_equal(r, REF_MAX_CONNS);
    assert_int_equal(a.conns, 2);
    assert_int_equal(a.reserved, 2);
    assert_int_equal(admission_count(&a, "10.0.0.9"), 1);
    assert_int_equal(admission_accept(&a, "10.0.0.9", &r), 0); /* the reserve is used up */
    assert_int_equal(admission_release(&a, r1), 1);
    assert_int_equal(admission_release(&a, r1), 0);
    assert_int_equal(a.reserved, 1);
    assert_false(admission_is_reserve(&a, r1));
    uint32_t r3 = admission_accept(&a, "10.0.0.9", &r);
    assert_true(r3 && admission_is_reserve(&a, r3));
    assert_int_equal(admission_release(&a, t1), 1); /* room under the caps: an ordinary ticket again */
    uint32_t t3 = admission_accept(&a, "10.0.0.9", &r);
    assert_true(t3 && !admission_is_reserve(&a, t3));
    assert_int_equal(admission_count(&a, "10.0.0.9"), 2);
    admission_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_origin_rules),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_tickets),
        cmocka_unit_test(test_ticket_pool),
        cmocka_unit_test(test_colliding_addresses),
        cmocka_unit_test(test_many_addresses),
        cmocka_unit_test(test_table_full),
        cmocka_unit_test(test_unknown_address),
        cmocka_unit_test(test_long_address),
        cmocka_unit_test(test_reserve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
