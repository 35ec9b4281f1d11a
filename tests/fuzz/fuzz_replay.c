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
 * the floats in a keyframe. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "replay_fmt.h"

static replay_reader r;
static sim_world world;
static sim_tick_inputs inputs;

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
    free(copy);
    return 0;
}
