/* replay_player: plays a replay file (docs/REPLAY.md) back for a viewer:
 * one tick at a time, or a seek to any tick from the nearest keyframe at
 * or before it (the end record's index), never from the first tick unless
 * it is the nearest. Each step's hits and the joins and leaves between
 * steps are kept as events for the viewer's feed, and every hash and
 * keyframe record on the way is checked (replay_fmt's reader): a
 * divergence is noted (the first one) and the playback goes on.
 *
 * Pure like replay_fmt: bytes in a caller buffer, no I/O, malloc, clock
 * or globals, so the demo page runs it in wasm (its Replays mode) and a
 * test runs it natively. The struct is big (a sim_world and the index):
 * the caller allocates it.
 *
 * What it does not do: fetch files, draw, interpolate (the previous
 * positions are kept so a viewer can). */
#ifndef TW_REPLAY_PLAYER_H
#define TW_REPLAY_PLAYER_H

#include <stddef.h>
#include <stdint.h>

#include "replay_fmt.h"
#include "sim.h"

#define REPLAY_PLAYER_MAX_INDEX 4096 /* keyframes used for seeking (11 hours at 10 s) */
#define REPLAY_PLAYER_EVENTS 512     /* events kept for the viewer; older ones go (counted) */

enum { REPLAY_EV_HIT = 1, REPLAY_EV_JOIN = 2, REPLAY_EV_LEAVE = 3 };

typedef struct replay_event {
    uint32_t tick;   /* the world tick after the step (a hit), or before the next one (join, leave) */
    uint8_t type;    /* REPLAY_EV_* */
    uint8_t player;  /* the shooter, or who joined or left */
    uint8_t target;  /* a hit's */
    uint8_t damage;  /* a hit's: 0 for a hit on someone already dead in that life */
    uint8_t killed;  /* a hit's: 1 when it killed */
} replay_event;

typedef struct replay_player {
    replay_reader r;
    sim_world world;
    sim_tick_inputs inputs;
    uint32_t start_tick;  /* the first keyframe's world tick */
    uint32_t end_tick;    /* the end record's (start_tick when the file has none) */
    uint8_t end_reason;   /* PROTO_END_*, 0: unknown */
    int top_id;           /* the end record's best score (replay_info.top), -1: none */
    uint64_t first_offset;
    uint32_t nindex;
    replay_index_entry index[REPLAY_PLAYER_MAX_INDEX];
    float prev_pos[SIM_MAX_PLAYERS][2]; /* before the last step (after a seek: as now) */
    uint8_t prev_life[SIM_MAX_PLAYERS];
    replay_event ev[REPLAY_PLAYER_EVENTS];
    uint32_t ev_head, ev_n, ev_lost;
    uint32_t checked;     /* hash and keyframe records that matched */
    int diverged;         /* one did not: diff says where (the first) */
    replay_diff diff;
    int ended;            /* the end record was read: no more steps */
    int bad;              /* a corrupt record stopped the playback (r.err) */
    uint32_t steps;       /* sim_world_step calls, all seeks included (for measuring) */
} replay_player;

/* Opens data (len bytes, kept by the caller while playing) at its first
 * keyframe. REPLAY_OK, or REPLAY_BAD with p->r.err saying why. */
int replay_player_open(replay_player *p, const uint8_t *data, size_t len);
/* One tick: the operations before it, the step, its hash and keyframe
 * (and the end record when it is the last). REPLAY_OK; REPLAY_BAD at the
 * end (p->ended) or at a corrupt record (p->bad). O(players + shots). */
int replay_player_step(replay_player *p);
/* The world at `tick` (clamped to start_tick..end_tick): from the
 * current state when it lies between the nearest keyframe and `tick`,
 * else from that keyframe. At most keyframe_interval steps. REPLAY_OK, or
 * REPLAY_BAD when the world did not land on `tick` (a corrupt or short
 * file). Events of the steps taken are kept. */
int replay_player_seek(replay_player *p, uint32_t tick);
/* Takes the oldest event not taken: 1, or 0 when none. */
int replay_player_next_event(replay_player *p, replay_event *out);

#endif
