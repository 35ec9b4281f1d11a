/* bench_match: the match the offline bench tools (codec_bytes,
 * deflate_bytes) drive: `players` bots joined to a real server/match.c
 * match at BENCH_TICK_RATE, each with the bots' own behaviour
 * (tests/bots/behavior.c) seeded as every run seeds it, and one input per
 * player per tick. Deterministic: same arguments, same match. */
#ifndef TW_BENCH_MATCH_H
#define TW_BENCH_MATCH_H

#include <stdint.h>

#include "behavior.h"
#include "match.h"

#define BENCH_TICK_RATE 60

/* A match of `players` (1..PROTO_MAX_ENTITIES) at snap_rate Hz snapshots,
 * ids 0..players-1, bs[0..players) initialised for `kind`. NULL when the
 * match cannot be made. */
match *bench_match_create(const sim_map *map, int players, int snap_rate, behavior_kind kind, behavior_state *bs);
/* The same with interest management (match.h): radius and cell side in
 * world units, 0 radius = off (bench_match_create). */
match *bench_match_create_aoi(const sim_map *map, int players, int snap_rate, behavior_kind kind, behavior_state *bs,
                              uint16_t aoi_radius, uint16_t aoi_cell);
/* Player id's input `seq` (1, 2, ... one per tick) carrying `in` and the
 * acks given. 0, or -1 with the reason on stderr (prefixed by `tool`). */
int bench_match_input(match *m, int id, uint32_t seq, sim_input in, uint32_t ack_tick, uint32_t event_ack,
                      const char *tool);

#endif
