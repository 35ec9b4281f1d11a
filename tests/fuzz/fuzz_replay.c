/* fuzz_replay: shared/replay_fmt.c's reader and re-simulator on arbitrary
 * bytes: what `tickwire-server replay verify FILE` does with any file.
 *
 * Input: a replay file, as is (the seeds are real files from the writer:
 * gen_corpus.c). It is verified (hashes, keyframes and the scoreboard
 * checked), then read again loading every keyframe (a player seeking),
 * and, when it has an index, every indexed keyframe is sought and played
 * from. Checks: every answer is REPLAY_OK, REPLAY_DIVERGED with a tick
 * and a field named, or REPLAY_BAD with a message; OK only with the end
 * record read; no read past the input (an exact-size heap copy, so ASan
 * sees any overrun), no undefined behaviour in the simulation whatever
 * the floats in a keyframe. Then what the demo page and GET /api/replays
 * do with it: the summary readers (replay_info_*: the header, the footer,
 * the end record from where the footer points) and the replay player
 * (replay_player.c: open, step, seek to ticks across the round, events):
 * answers within their ranges, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "replay_fmt.h"
#include "replay_player.h"

static replay_reader r;
static sim_world world;
static sim_tick_inputs inputs;
static replay_player player;

/* GET /api/replays's reads and the page's player on the same bytes. */
static void summary_and_player(const uint8_t *copy, size_t size)
{
    replay_info info;
    char err[REPLAY_ERR_MAX];
    size_t head = size < REPLAY_INFO_HEAD ? size : REPLAY_INFO_HEAD;
    if (replay_info_head(copy, head, &info, err) == REPLAY_OK && size >= REPLAY_FOOTER_LEN) {
        uint64_t at = replay_info_footer(copy + size - REPLAY_FOOTER_LEN);
        if (at && at < size - REPLAY_FOOTER_LEN) {
            size_t n = size - REPLAY_FOOTER_LEN - (size_t)at;
            if (replay_info_end(copy + at, n < REPLAY_INFO_END ? n : REPLAY_INFO_END, &info) == REPLAY_OK)
                FZ_CHECK(info.end_reason >= 1 && info.end_reason <= 3 && info.nplayers <= SIM_MAX_PLAYERS);
        }
    } else {
        FZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
    }
    if (replay_player_open(&player, copy, size) != REPLAY_OK)
        return;
    FZ_CHECK(player.end_tick >= player.start_tick && player.nindex <= REPLAY_PLAYER_MAX_INDEX);
    replay_event e;
    for (int i = 0; i < 2000 && replay_player_step(&player) == REPLAY_OK; i++)
        while (replay_player_next_event(&player, &e))
            FZ_CHECK(e.type >= REPLAY_EV_HIT && e.type <= REPLAY_EV_LEAVE && e.player < SIM_MAX_PLAYERS);
    uint32_t span = player.end_tick - player.start_tick;
    const uint32_t at[] = {player.end_tick, player.start_tick, player.start_tick + span / 2, player.start_tick + 1};
    for (int i = 0; i < 4; i++) {
        if (replay_player_seek(&player, at[i]) == REPLAY_OK)
            FZ_CHECK(player.world.tick == at[i] || at[i] > player.end_tick);
        while (replay_player_next_event(&player, &e)) {
        }
    }
}

static int check_answer(int rc)
{
    FZ_CHECK(rc == REPLAY_OK || rc == REPLAY_DIVERGED || rc == REPLAY_BAD);
    if (rc == REPLAY_BAD)
        FZ_CHECK(r.err[0] != '\0' && memchr(r.err, '\0', sizeof r.err) != NULL);
    if (rc == REPLAY_DIVERGED)
        FZ_CHECK(r.diff.field != NULL && r.diff.player >= -1 && r.diff.player < SIM_MAX_PLAYERS);
    FZ_CHECK(r.nscores <= SIM_MAX_PLAYERS);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (size)
        memcpy(copy, data, size);
    /* verify */
    int rc = replay_open(&r, copy, size, &world, &inputs);
    if (check_answer(rc) == REPLAY_OK && check_answer(replay_verify(&r)) == REPLAY_OK)
        FZ_CHECK(r.ended); /* OK only for a complete file */
    /* play, loading keyframes as they come */
    if (replay_open(&r, copy, size, &world, &inputs) == REPLAY_OK) {
        r.load_keyframes = 1;
        int type;
        while (!r.ended && check_answer(replay_next(&r, &type)) != REPLAY_BAD) {
        }
        /* seek to each indexed keyframe (a few) and play on */
        uint32_t n = r.nindex < 4 ? r.nindex : 4;
        for (uint32_t i = 0; i < n; i++) {
            replay_index_entry e;
            if (replay_index_get(&r, i, &e) != REPLAY_OK)
                continue;
            if (check_answer(replay_seek(&r, e.offset)) != REPLAY_OK)
                continue;
            while (!r.ended && check_answer(replay_next(&r, &type)) != REPLAY_BAD) {
            }
        }
    }
    summary_and_player(copy, size);
    free(copy);
    return 0;
}
