/* Unit tests for server/replay.c, the cache of used join-token nonces.
 *
 * A nonce is new once and seen after that, until its token expires; an
 * expired nonce frees its place (a purge when the table is 3/4 full drops
 * them all); a table of live nonces only is REPLAY_FULL. Nonces that share
 * a hash slot (the first 4 bytes) are told apart along the probe chain,
 * also after a purge moved them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "replay.h"
#include "sim.h"

/* Nonce number i: random-looking bytes (as real nonces are). */
static void nonce_of(uint32_t i, uint8_t out[TOKEN_NONCE_LEN])
{
    uint64_t s = 0x9e3779b97f4a7c15ull * (i + 1);
    for (int k = 0; k < TOKEN_NONCE_LEN; k += 8) {
        uint64_t v = sim_rand_next(&s);
        memcpy(out + k, &v, 8);
    }
}

/* Nonces that all hash to the same slot: same first 4 bytes. */
static void colliding_nonce(uint32_t i, uint8_t out[TOKEN_NONCE_LEN])
{
    memset(out, 0, TOKEN_NONCE_LEN);
    memcpy(out, "\x07\x00\x00\x00", 4);
    memcpy(out + 8, &i, sizeof i);
}

static void test_init_rounds_capacity(void **state)
{
    (void)state;
    const struct { uint32_t ask, cap; } cases[] = {{0, 64}, {1, 64}, {64, 64}, {65, 128}, {100, 128},
                                                   {4096, 4096}, {4097, 8192}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        replay_cache rc;
        assert_int_equal(replay_init(&rc, cases[i].ask), 0);
        assert_int_equal(rc.cap, cases[i].cap);
        assert_int_equal(rc.count, 0);
        assert_non_null(rc.slots);
        replay_free(&rc);
        assert_null(rc.slots);
        replay_free(&rc); /* twice is harmless */
    }
}

static void test_new_then_seen(void **state)
{
    (void)state;
    replay_cache rc;
    assert_int_equal(replay_init(&rc, 1024), 0);
    uint8_t a[TOKEN_NONCE_LEN], b[TOKEN_NONCE_LEN];
    nonce_of(1, a);
    nonce_of(2, b);
    assert_int_equal(replay_check_add(&rc, a, 100, 10), REPLAY_NEW);
    assert_int_equal(replay_check_add(&rc, a, 100, 10), REPLAY_SEEN);
    assert_int_equal(replay_check_add(&rc, a, 100, 99), REPLAY_SEEN);
    /* The expiry a replay claims does not matter: the nonce was used. */
    assert_int_equal(replay_check_add(&rc, a, 5000, 11), REPLAY_SEEN);
    assert_int_equal(replay_check_add(&rc, b, 100, 10), REPLAY_NEW);
    assert_int_equal(replay_check_add(&rc, b, 100, 10), REPLAY_SEEN);
    assert_int_equal(rc.count, 2);
    /* One bit apart is another nonce, in every byte. */
    for (int i = 0; i < TOKEN_NONCE_LEN; i++) {
        uint8_t c[TOKEN_NONCE_LEN];
        memcpy(c, a, sizeof c);
        c[i] ^= 0x10;
        assert_int_equal(replay_check_add(&rc, c, 100, 10), REPLAY_NEW);
        assert_int_equal(replay_check_add(&rc, c, 100, 10), REPLAY_SEEN);
    }
    assert_int_equal(rc.count, 2 + TOKEN_NONCE_LEN);

    /* Many random nonces: all new once, then all seen. */
    for (uint32_t i = 100; i < 700; i++) {
        uint8_t n[TOKEN_NONCE_LEN];
        nonce_of(i, n);
        assert_int_equal(replay_check_add(&rc, n, 1000 + i, 10), REPLAY_NEW);
    }
    for (uint32_t i = 100; i < 700; i++) {
        uint8_t n[TOKEN_NONCE_LEN];
        nonce_of(i, n);
        assert_int_equal(replay_check_add(&rc, n, 1000 + i, 20), REPLAY_SEEN);
    }
    assert_int_equal(rc.count, 2 + TOKEN_NONCE_LEN + 600);
    replay_free(&rc);
}

/* Once its token has expired a nonce is no longer remembered as used (the
 * token itself is refused as expired before it gets here). */
static void test_expiry_frees(void **state)
{
    (void)state;
    replay_cache rc;
    assert_int_equal(replay_init(&rc, 64), 0);
    uint8_t a[TOKEN_NONCE_LEN];
    nonce_of(7, a);
    assert_int_equal(replay_check_add(&rc, a, 100, 10), REPLAY_NEW);
    assert_int_equal(replay_check_add(&rc, a, 100, 99), REPLAY_SEEN);  /* 1 s left */
    assert_int_equal(replay_check_add(&rc, a, 200, 100), REPLAY_NEW);  /* expiry == now: gone */
    assert_int_equal(replay_check_add(&rc, a, 200, 150), REPLAY_SEEN); /* the new entry */
    assert_int_equal(replay_check_add(&rc, a, 300, 250), REPLAY_NEW);
    replay_free(&rc);
}

/* Same slot for all: the probe chain keeps them apart, and an expired
 * entry in the middle of a chain does not hide the ones after it. */
static void test_collisions(void **state)
{
    (void)state;
    replay_cache rc;
    assert_int_equal(replay_init(&rc, 64), 0);
    uint8_t n[TOKEN_NONCE_LEN];
    for (uint32_t i = 0; i < 20; i++) {
        colliding_nonce(i, n);
        assert_int_equal(replay_check_add(&rc, n, i % 2 ? 50 : 500, 10), REPLAY_NEW);
    }
    for (uint32_t i = 0; i < 20; i++) {
        colliding_nonce(i, n);
        assert_int_equal(replay_check_add(&rc, n, 500, 20), REPLAY_SEEN);
    }
    /* At 60 the odd ones have expired; the even ones, behind them in the
     * chain, are still seen. */
    for (uint32_t i = 0; i < 20; i += 2) {
        colliding_nonce(i, n);
        assert_int_equal(replay_check_add(&rc, n, 500, 60), REPLAY_SEEN);
    }
    colliding_nonce(3, n);
    assert_int_equal(replay_check_add(&rc, n, 500, 60), REPLAY_NEW);
    assert_int_equal(replay_check_add(&rc, n, 500, 61), REPLAY_SEEN);
    /* Chains that wrap around the end of the table. */
    for (uint32_t i = 0; i < 10; i++) {
        memset(n, 0, sizeof n);
        n[0] = 63; /* slot 63, the last */
        n[5] = (uint8_t)i;
        assert_int_equal(replay_check_add(&rc, n, 500, 61), REPLAY_NEW);
    }
    for (uint32_t i = 0; i < 10; i++) {
        memset(n, 0, sizeof n);
        n[0] = 63;
        n[5] = (uint8_t)i;
        assert_int_equal(replay_check_add(&rc, n, 500, 62), REPLAY_SEEN);
    }
    replay_free(&rc);
}

/* At 3/4 full the table drops its expired nonces and goes on; the live
 * ones are still seen afterwards, wherever the purge put them. */
static void test_purge_when_full(void **state)
{
    (void)state;
    replay_cache rc;
    assert_int_equal(replay_init(&rc, 64), 0);
    const uint32_t limit = 64 / 4 * 3; /* 48 */
    uint8_t n[TOKEN_NONCE_LEN];
    /* 48 nonces: the even ones (and the colliding ones) live until 1000,
     * the odd ones until 50. */
    for (uint32_t i = 0; i < limit; i++) {
        if (i < 8)
            colliding_nonce(i, n);
        else
            nonce_of(i, n);
        assert_int_equal(replay_check_add(&rc, n, i % 2 && i >= 8 ? 50 : 1000, 10), REPLAY_NEW);
    }
    assert_int_equal(rc.count, limit);
    /* Still 10: nothing has expired, the table is full. */
    nonce_of(1000, n);
    assert_int_equal(replay_check_add(&rc, n, 1000, 10), REPLAY_FULL);
    assert_int_equal(rc.count, limit);
    /* At 60 the 20 odd ones are gone: room again. */
    assert_int_equal(replay_check_add(&rc, n, 1000, 60), REPLAY_NEW);
    assert_int_equal(rc.count, limit - 20 + 1);
    /* The live ones are still seen; the expired ones are new again. */
    for (uint32_t i = 0; i < limit; i++) {
        if (i < 8)
            colliding_nonce(i, n);
        else
            nonce_of(i, n);
        int live = !(i % 2 && i >= 8);
        if (live || i < 30)
            assert_int_equal(replay_check_add(&rc, n, 1000, 61), live ? REPLAY_SEEN : REPLAY_NEW);
    }
    assert_int_equal(rc.count, 29 + 11); /* odd 9..29 re-added */
    nonce_of(1000, n);
    assert_int_equal(replay_check_add(&rc, n, 1000, 61), REPLAY_SEEN);
    /* Fill up: full again at 48 live nonces. */
    uint32_t more = 0;
    for (uint32_t i = 3000;; i++) {
        nonce_of(i, n);
        int r = replay_check_add(&rc, n, 1000, 62);
        if (r == REPLAY_FULL)
            break;
        assert_int_equal(r, REPLAY_NEW);
        more++;
    }
    assert_int_equal(more, limit - 40);
    assert_int_equal(rc.count, limit);

    /* Everything expires: one purge empties the table. */
    nonce_of(2000, n);
    assert_int_equal(replay_check_add(&rc, n, 5000, 1000), REPLAY_NEW);
    assert_int_equal(rc.count, 1);
    assert_int_equal(replay_check_add(&rc, n, 5000, 1001), REPLAY_SEEN);
    replay_free(&rc);
}

/* A table of live nonces refuses new ones (and replays: while it is full
 * nothing gets in either way) until some expire. */
static void test_full_when_all_live(void **state)
{
    (void)state;
    replay_cache rc;
    assert_int_equal(replay_init(&rc, 256), 0);
    uint8_t n[TOKEN_NONCE_LEN];
    uint32_t added = 0;
    for (uint32_t i = 0;; i++) {
        nonce_of(i, n);
        int r = replay_check_add(&rc, n, 100 + i, 10);
        if (r == REPLAY_FULL)
            break;
        assert_int_equal(r, REPLAY_NEW);
        added++;
    }
    assert_int_equal(added, 256 / 4 * 3);
    for (uint32_t i = 0; i < 10; i++) {
        nonce_of(5000 + i, n);
        assert_int_equal(replay_check_add(&rc, n, 200, 10), REPLAY_FULL);
    }
    nonce_of(0, n);
    assert_int_equal(replay_check_add(&rc, n, 100, 10), REPLAY_FULL);
    /* At 105 the nonces 0..5 (expiry 100..105) have expired: six places. */
    for (uint32_t i = 0; i < 6; i++) {
        nonce_of(6000 + i, n);
        assert_int_equal(replay_check_add(&rc, n, 500, 105), REPLAY_NEW);
    }
    nonce_of(7000, n);
    assert_int_equal(replay_check_add(&rc, n, 500, 105), REPLAY_FULL);
    nonce_of(6, n);
    assert_int_equal(replay_check_add(&rc, n, 106, 105), REPLAY_FULL);
    replay_free(&rc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_rounds_capacity),
        cmocka_unit_test(test_new_then_seen),
        cmocka_unit_test(test_expiry_frees),
        cmocka_unit_test(test_collisions),
        cmocka_unit_test(test_purge_when_full),
        cmocka_unit_test(test_full_when_all_live),
    };
    return cmocka_run_group_tests_name("replay", tests, NULL, NULL);
}
