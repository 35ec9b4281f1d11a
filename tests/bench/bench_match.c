/* bench_match: see bench_match.h. */
#include "bench_match.h"

#include <stdio.h>
#include <string.h>

match *bench_match_create(const sim_map *map, int players, int snap_rate, behavior_kind kind, behavior_state *bs)
{
    return bench_match_create_aoi(map, players, snap_rate, kind, bs, 0, 0);
}

match *bench_match_create_aoi(const sim_map *map, int players, int snap_rate, behavior_kind kind, behavior_state *bs,
                              uint16_t aoi_radius, uint16_t aoi_cell)
{
    match_config cfg = {.tick_rate = BENCH_TICK_RATE, .snapshot_rate = (uint16_t)snap_rate, .size = players,
                        .seed = 7, .aoi_radius = aoi_radius, .aoi_cell = aoi_cell};
    match *m = match_create(1, map, &cfg);
    if (!m)
        return NULL;
    for (int i = 0; i < players; i++) {
        uint8_t resume[PROTO_RESUME_LEN] = {(uint8_t)(i + 1), 0xee};
        char name[16];
        snprintf(name, sizeof name, "bot-%d", i);
        if (match_player_join(m, name, (uint32_t)(i + 1), resume) != i) {
            match_destroy(m);
            return NULL;
        }
        behavior_init(&bs[i], kind, 0x5eed + (uint64_t)i, BENCH_TICK_RATE);
    }
    return m;
}

int bench_match_input(match *m, int id, uint32_t seq, sim_input in, uint32_t ack_tick, uint32_t event_ack,
                      const char *tool)
{
    proto_input_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.first_seq = seq;
    msg.count = 1;
    msg.ack_tick = ack_tick;
    msg.event_ack = event_ack;
    msg.in[0] = in;
    const char *why;
    if (match_player_input(m, id, &msg, &why) < 0) {
        fprintf(stderr, "%s: input refused: %s\n", tool, why);
        return -1;
    }
    return 0;
}
