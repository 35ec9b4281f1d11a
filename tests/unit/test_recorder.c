/* Unit tests for server/recorder.c, driving real matches (match.c with
 * cfg.recorder) and the real writer thread on temp folders.
 *
 * Every LIVE round becomes one complete file that re-simulates (joins,
 * leaves, a held player's expiry, inputs in bursts and gaps, computer
 * players fighting); --replay-keep deletes the oldest tw-*.twr files and
 * nothing else; a folder gone under the writer is a counted write error,
 * no file, no .tmp left, and the match goes on. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "match.h"
#include "recorder.h"
#include "replay_fmt.h"

static const sim_map arena = {.width = 1024, .height = 768, .nwalls = 1, .walls = {{400, 300, 440, 500}}};

static match *make_match(recorder *rc)
{
    match_config cfg = {.tick_rate = 60, .snapshot_rate = 30, .size = 8, .npcs = 4, .seed = 9, .unlag_ticks = 12,
                        .min_players = 2, .match_ticks = 120, .intermission_ticks = 30, .recorder = rc};
    match *m = match_create(1, &arena, &cfg);
    assert_non_null(m);
    return m;
}

static void send_inputs(match *m, int id, uint32_t *seq, int n, uint8_t buttons)
{
    proto_input_msg msg = {.first_seq = *seq, .count = (uint8_t)n};
    for (int i = 0; i < n; i++)
        msg.in[i] = (sim_input){.buttons = buttons, .aim = (uint16_t)(*seq * 700), .view_tick = m->world.tick,
                                .known_tick = m->world.tick ? m->world.tick - 1 : 0};
    const char *why;
    assert_int_equal(match_player_input(m, id, &msg, &why), 0);
    *seq += (uint32_t)n;
}

/* 400 ticks: rounds 1 and 2 end by time, round 3 is interrupted. A person
 * joins and leaves in round 1, another is held and expires. */
static void play(match *m)
{
    static const uint8_t resume_a[PROTO_RESUME_LEN] = {1}, resume_b[PROTO_RESUME_LEN] = {2};
    int a = -1, b = -1;
    uint32_t seq_a = 1, seq_b = 1;
    for (int t = 0; t < 400; t++) {
        if (t == 30)
            a = match_player_join(m, "alice", 7, resume_a);
        if (t == 40)
            b = match_player_join(m, "bob", 8, resume_b);
        if (a >= 0 && t >= 30 && t < 80 && t % 3 == 0)
            send_inputs(m, a, &seq_a, 3, SIM_BTN_RIGHT | SIM_BTN_FIRE); /* bursts of 3 */
        if (b >= 0 && t >= 40 && t < 50)
            send_inputs(m, b, &seq_b, 1, SIM_BTN_DOWN);
        if (t == 50)
            match_player_hold(m, b, 10); /* expires inside match_tick, before a step */
        if (t == 80)
            match_player_leave(m, a);
        match_tick(m);
    }
    match_end_round(m, PROTO_END_INTERRUPTED);
}

static char *make_dir(void)
{
    static char dirs[4][64];
    static int n;
    char *d = dirs[n++ % 4];
    snprintf(d, 64, "/tmp/tw-recorder-test-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static int list_dir(const char *dir, char names[][256], int max)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && n < max)
            snprintf(names[n++], 256, "%s", e->d_name);
    closedir(d);
    /* sorted */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) < 0) {
                char tmp[256];
                memcpy(tmp, names[i], 256);
                memcpy(names[i], names[j], 256);
                memcpy(names[j], tmp, 256);
            }
    return n;
}

static void rm_dir(const char *dir)
{
    char names[64][256];
    int n = list_dir(dir, names, 64);
    for (int i = 0; i < n; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%.255s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* Verifies one file; returns the record types seen (bit per type). */
static uint32_t verify_file(const char *path, int *end_reason, uint32_t *ticks)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    static replay_reader r;
    static sim_world w;
    static sim_tick_inputs in;
    assert_int_equal(replay_open(&r, buf, n, &w, &in), REPLAY_OK);
    uint32_t seen = 0;
    while (!r.ended) {
        int type;
        int rc = replay_next(&r, &type);
        if (rc != REPLAY_OK)
            fail_msg("%s: rc %d: %s (tick %u player %d field %s)", path, rc, r.err, r.diff.tick, r.diff.player,
                     r.diff.field ? r.diff.field : "-");
        seen |= 1u << type;
    }
    *end_reason = r.end_reason;
    *ticks = r.ticks;
    return seen;
}

static void test_rounds_recorded_and_verified(void **state)
{
    (void)state;
    char *dir = make_dir();
    char err[256];
    recorder *rc = recorder_open(&(recorder_opts){.dir = dir}, err, sizeof err);
    assert_non_null(rc);
    match *m = make_match(rc);
    play(m);
    assert_int_equal(m->state.round, 3);
    match_destroy(m);
    recorder_close(rc); /* the writer finishes everything queued */
    char names[16][256];
    int n = list_dir(dir, names, 16);
    assert_int_equal(n, 3);
    int reasons[3];
    uint32_t ticks[3], seen[3];
    for (int i = 0; i < 3; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%.255s", dir, names[i]);
        assert_non_null(strstr(names[i], "-m1-r"));
        assert_non_null(strstr(names[i], ".twr"));
        assert_null(strstr(names[i], ".tmp"));
        seen[i] = verify_file(p, &reasons[i], &ticks[i]);
    }
    /* names sort by start time: rounds 1, 2, 3 */
    assert_non_null(strstr(names[0], "-r1.twr"));
    assert_non_null(strstr(names[2], "-r3.twr"));
    assert_int_equal(reasons[0], PROTO_END_TIME);
    assert_int_equal(reasons[1], PROTO_END_TIME);
    assert_int_equal(reasons[2], PROTO_END_INTERRUPTED);
    assert_int_equal(ticks[0], 120);
    assert_int_equal(ticks[1], 120);
    /* round 1 saw the joins and the leaves */
    assert_true(seen[0] & (1u << REPLAY_REC_SPAWN));
    assert_true(seen[0] & (1u << REPLAY_REC_REMOVE));
    assert_true(seen[0] & (1u << REPLAY_REC_HASH));
    rm_dir(dir);
}

static void test_keep_prunes_oldest_only(void **state)
{
    (void)state;
    char *dir = make_dir();
    const char *fakes[] = {"tw-0000000000001-m1-r1.twr", "tw-0000000000002-m9-r4.twr", "notes.txt",
                           "tw-0000000000003-m1-r1.twr.tmp", "tw-0000000000004-m2-r1.twr.tmp"};
    for (int i = 0; i < 5; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, fakes[i]);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fclose(f);
    }
    /* The round another live process is writing: locked, left alone. The
     * other .tmp is a dead process's unfinished round: removed at open. */
    char live[512];
    snprintf(live, sizeof live, "%s/%s", dir, fakes[4]);
    int live_fd = open(live, O_WRONLY | O_CLOEXEC);
    assert_true(live_fd >= 0);
    assert_int_equal(flock(live_fd, LOCK_EX | LOCK_NB), 0);
    char err[256];
    recorder *rc = recorder_open(&(recorder_opts){.dir = dir, .keep = 2}, err, sizeof err);
    assert_non_null(rc);
    char names[16][256];
    /* at start: the two fakes are the newest two: kept */
    match *m = make_match(rc);
    play(m);
    match_destroy(m);
    recorder_close(rc);
    int n = list_dir(dir, names, 16);
    /* rounds 2 and 3 kept, round 1 and both fake replays gone, the dead
     * process's .tmp gone, the live one's and the notes untouched */
    assert_int_equal(n, 4);
    assert_string_equal(names[0], "notes.txt");
    assert_string_equal(names[1], "tw-0000000000004-m2-r1.twr.tmp");
    assert_non_null(strstr(names[2], "-m1-r2.twr"));
    assert_non_null(strstr(names[3], "-m1-r3.twr"));
    close(live_fd);
    rm_dir(dir);
}

static void test_write_error_counted_game_goes_on(void **state)
{
    (void)state;
    char *dir = make_dir();
    char err[256];
    recorder *rc = recorder_open(&(recorder_opts){.dir = dir}, err, sizeof err);
    assert_non_null(rc);
    assert_int_equal(rmdir(dir), 0); /* gone under the writer */
    match *m = make_match(rc);
    play(m);
    assert_int_equal(m->state.round, 3); /* the game went on */
    assert_int_equal(m->world.tick, 400);
    match_destroy(m);
    recorder_stats st;
    for (int i = 0; i < 300; i++) { /* the writer's pace */
        recorder_get_stats(rc, &st);
        if (st.write_errors >= 3)
            break;
        usleep(10000);
    }
    assert_int_equal(st.write_errors, 3); /* one per round's file */
    assert_int_equal(st.files_written, 0);
    assert_int_equal(st.dropped, 0);
    recorder_close(rc);
    assert_int_equal(access(dir, F_OK), -1);
}

/* A writer that cannot keep up (held: a stalled disk) with a pool of 3
 * small chunks: the round is abandoned, counted once, its .tmp removed;
 * the match plays on, and the next rounds, with the writer back, are
 * recorded whole. */
static void test_writer_behind_drops_the_round(void **state)
{
    (void)state;
    char *dir = make_dir();
    char err[256];
    recorder *rc = recorder_open(&(recorder_opts){.dir = dir, .chunks = 3, .chunk_size = 1024}, err, sizeof err);
    assert_non_null(rc);
    recorder_hold_writer(rc, 1);
    match *m = make_match(rc);
    for (int t = 0; t < 130; t++) /* round 1: 120 ticks, ~4.5 KB for 3 KB of chunks */
        match_tick(m);
    assert_int_equal(m->state.round, 1);
    recorder_stats st;
    recorder_get_stats(rc, &st);
    assert_int_equal(st.dropped, 1);
    recorder_hold_writer(rc, 0);
    for (int t = 0; t < 200; t++) { /* round 2, with the writer back */
        match_tick(m);
        usleep(1000); /* the writer's pace: a chunk every ~25 ticks */
    }
    assert_true(m->state.round >= 2);
    match_destroy(m);
    recorder_close(rc);
    char names[16][256];
    int n = list_dir(dir, names, 16);
    assert_int_equal(n, 2); /* round 2, and round 3 interrupted by match_destroy */
    assert_non_null(strstr(names[0], "-m1-r2.twr"));
    assert_non_null(strstr(names[1], "-m1-r3.twr"));
    char p[512];
    snprintf(p, sizeof p, "%s/%.255s", dir, names[0]);
    int reason;
    uint32_t ticks;
    verify_file(p, &reason, &ticks);
    assert_int_equal(reason, PROTO_END_TIME);
    rm_dir(dir);
}

static void test_open_refuses_bad_dirs(void **state)
{
    (void)state;
    char err[256];
    assert_null(recorder_open(&(recorder_opts){.dir = "/proc/version"}, err, sizeof err));
    assert_non_null(strstr(err, "--replay-dir"));
    assert_null(recorder_open(&(recorder_opts){.dir = "/nonexistent-dir/a/b"}, err, sizeof err));
    assert_non_null(strstr(err, "cannot create"));
    assert_null(recorder_open(&(recorder_opts){.dir = ""}, err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounds_recorded_and_verified),
        cmocka_unit_test(test_keep_prunes_oldest_only),
        cmocka_unit_test(test_write_error_counted_game_goes_on),
        cmocka_unit_test(test_writer_behind_drops_the_round),
        cmocka_unit_test(test_open_refuses_bad_dirs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
