/* Unit tests for server/lobby.c: which match a player goes to.
 *
 * A player goes to the first match with its label and a free slot; when
 * every such match is full (or none has the label) a new one opens, up to
 * max_matches. A match is freed only when no person, playing or held, is
 * left in it. A resume token finds its player in whichever match it is.
 * Match ids are 16 bits: they skip 0 and ids still in use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lobby.h"
#include "log.h"

static sim_map g_map;
static int g_opens, g_closes;

static void count_events(void *user, log_level level, const char *event, const char *kv)
{
    (void)user, (void)level, (void)kv;
    g_opens += strcmp(event, "match_open") == 0;
    g_closes += strcmp(event, "match_close") == 0;
}

static int setup(void **state)
{
    (void)state;
    memset(&g_map, 0, sizeof g_map);
    g_map.width = 512;
    g_map.height = 384;
    log_set_sink(count_events, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    log_set_sink(NULL, NULL);
    return 0;
}

static void init(lobby *l, int size, int npcs, int max_matches)
{
    match_config cfg = {.tick_rate = 10, .snapshot_rate = 10, .size = size, .npcs = npcs, .seed = 1};
    lobby_init(l, &g_map, &cfg, max_matches);
    g_opens = g_closes = 0;
}

static uint8_t g_next_resume;

/* Places a player labelled `label` and joins it; returns its match. */
static match *place_join(lobby *l, const char *label, int *pid)
{
    match *m = lobby_place(l, label);
    if (!m)
        return NULL;
    uint8_t r[PROTO_RESUME_LEN];
    memset(r, ++g_next_resume, sizeof r);
    int id = match_player_join(m, "p", 1, r);
    assert_true(id >= 0);
    if (pid)
        *pid = id;
    return m;
}

static void test_place_by_label(void **state)
{
    (void)state;
    lobby l;
    init(&l, 4, 0, 0);
    assert_int_equal(l.max_matches, LOBBY_MAX_MATCHES);
    match *any = place_join(&l, "", NULL);
    match *ranked = place_join(&l, "ranked", NULL);
    assert_non_null(any);
    assert_non_null(ranked);
    assert_ptr_not_equal(any, ranked);
    assert_string_equal(any->label, "");
    assert_string_equal(ranked->label, "ranked");
    assert_ptr_equal(place_join(&l, "", NULL), any);
    assert_ptr_equal(place_join(&l, "ranked", NULL), ranked);
    match *other_case = place_join(&l, "Ranked", NULL); /* labels are exact */
    assert_ptr_not_equal(other_case, ranked);
    assert_int_equal(l.nmatches, 3);
    assert_int_equal(g_opens, 3);
    assert_int_equal(any->humans, 2);
    /* A label longer than a match keeps (tokens carry at most as much) is cut. */
    char longlabel[64];
    memset(longlabel, 'x', sizeof longlabel - 1);
    longlabel[sizeof longlabel - 1] = '\0';
    match *lm = lobby_place(&l, longlabel);
    assert_non_null(lm);
    assert_int_equal(strlen(lm->label), MATCH_LABEL_MAX);
    lobby_free(&l);
    assert_int_equal(l.nmatches, 0);
}

static void test_new_match_when_full(void **state)
{
    (void)state;
    lobby l;
    init(&l, 3, 1, 0); /* two people per match */
    match *a = place_join(&l, "", NULL);
    assert_ptr_equal(place_join(&l, "", NULL), a);
    assert_false(match_has_room(a));
    match *b = place_join(&l, "", NULL);
    assert_ptr_not_equal(a, b);
    assert_int_not_equal(a->id, b->id);
    assert_int_equal(l.nmatches, 2);
    /* A slot frees in the first: it is found first again. */
    match_player_leave(a, 1);
    assert_ptr_equal(place_join(&l, "", NULL), a);
    int humans, npcs;
    lobby_count(&l, &humans, &npcs);
    assert_int_equal(humans, 3);
    assert_int_equal(npcs, 2);
    lobby_free(&l);
}

static void test_max_matches(void **state)
{
    (void)state;
    lobby l;
    init(&l, 1, 0, 2);
    assert_int_equal(l.max_matches, 2);
    assert_non_null(place_join(&l, "", NULL));
    assert_non_null(place_join(&l, "", NULL));
    assert_null(lobby_place(&l, ""));
    assert_null(lobby_place(&l, "other"));
    assert_int_equal(l.nmatches, 2);
    assert_int_equal(g_opens, 2);
    lobby_free(&l);
    /* Over the array's size: clamped. */
    init(&l, 1, 0, LOBBY_MAX_MATCHES + 5);
    assert_int_equal(l.max_matches, LOBBY_MAX_MATCHES);
    lobby_free(&l);
}

static void test_close_if_empty(void **state)
{
    (void)state;
    lobby l;
    init(&l, 4, 1, 0);
    int p1, p2;
    match *m = place_join(&l, "", &p1);
    assert_ptr_equal(place_join(&l, "", &p2), m);
    match *other = place_join(&l, "x", NULL);
    assert_int_equal(lobby_close_if_empty(&l, m), 0);
    match_player_leave(m, p1);
    assert_int_equal(lobby_close_if_empty(&l, m), 0);
    /* A held player is still a person in the match. */
    match_player_hold(m, p2, 100);
    assert_int_equal(lobby_close_if_empty(&l, m), 0);
    assert_int_equal(l.nmatches, 2);
    match_player_leave(m, p2);
    /* Only an NPC left: freed. */
    assert_int_equal(lobby_close_if_empty(&l, m), 1);
    assert_int_equal(l.nmatches, 1);
    assert_ptr_equal(l.matches[0], other);
    assert_int_equal(g_closes, 1);
    /* The next "" player gets a new match. */
    match *n = place_join(&l, "", NULL);
    assert_ptr_not_equal(n, other);
    assert_int_equal(l.nmatches, 2);
    lobby_free(&l);
}

static void test_find_resume(void **state)
{
    (void)state;
    lobby l;
    init(&l, 2, 0, 0);
    match *ms[3];
    int ids[3];
    uint8_t tokens[3][PROTO_RESUME_LEN];
    for (int i = 0; i < 3; i++) {
        ms[i] = place_join(&l, i == 2 ? "y" : "", &ids[i]);
        memcpy(tokens[i], ms[i]->players[ids[i]].resume, PROTO_RESUME_LEN);
    }
    assert_ptr_equal(ms[0], ms[1]);
    assert_ptr_not_equal(ms[0], ms[2]);
    for (int i = 0; i < 3; i++) {
        match *found = NULL;
        assert_int_equal(lobby_find_resume(&l, tokens[i], &found), ids[i]);
        assert_ptr_equal(found, ms[i]);
    }
    /* Held players are found too. */
    match_player_hold(ms[2], ids[2], 10);
    match *found = NULL;
    assert_int_equal(lobby_find_resume(&l, tokens[2], &found), ids[2]);
    assert_ptr_equal(found, ms[2]);
    uint8_t nobody[PROTO_RESUME_LEN];
    memset(nobody, 0xf0, sizeof nobody);
    found = NULL;
    assert_int_equal(lobby_find_resume(&l, nobody, &found), -1);
    assert_null(found);
    /* Gone with its match. */
    match_player_leave(ms[2], ids[2]);
    assert_int_equal(lobby_close_if_empty(&l, ms[2]), 1);
    assert_int_equal(lobby_find_resume(&l, tokens[2], &found), -1);
    lobby_free(&l);
}

/* Ids are 1..65535: after a wrap they skip 0 and every id still running. */
static void test_ids_skip_in_use(void **state)
{
    (void)state;
    lobby l;
    init(&l, 1, 0, 0);
    match *m1 = place_join(&l, "", NULL);
    match *m2 = place_join(&l, "", NULL);
    match *m3 = place_join(&l, "", NULL);
    assert_int_equal(m1->id, 1);
    assert_int_equal(m2->id, 2);
    assert_int_equal(m3->id, 3);
    match_player_leave(m1, 0);
    assert_int_equal(lobby_close_if_empty(&l, m1), 1);
    l.next_match_id = 65534;
    assert_int_equal(place_join(&l, "", NULL)->id, 65535);
    assert_int_equal(place_join(&l, "", NULL)->id, 1); /* 0 skipped; 1 is free again */
    assert_int_equal(place_join(&l, "", NULL)->id, 4); /* 2 and 3 still run */
    assert_int_equal(l.nmatches, 5);
    for (int i = 0; i < l.nmatches; i++)
        for (int k = i + 1; k < l.nmatches; k++)
            assert_int_not_equal(l.matches[i]->id, l.matches[k]->id);
    lobby_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_place_by_label),
        cmocka_unit_test(test_new_match_when_full),
        cmocka_unit_test(test_max_matches),
        cmocka_unit_test(test_close_if_empty),
        cmocka_unit_test(test_find_resume),
        cmocka_unit_test(test_ids_skip_in_use),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
