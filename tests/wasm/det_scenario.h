/* det_scenario: a seeded arena-move scenario for the native-vs-wasm
 * determinism test. The same file is compiled natively (det_native.c writes
 * the byte stream) and to wasm32 (det_test.mjs runs it tick by tick and
 * compares). 16 players on the walls of assets/arena.map get random inputs
 * from sim_rand_next: 0..3 steps per tick, every button combination, aim
 * anywhere; players now and then leave and rejoin (respawn). After every
 * tick the scenario serializes the world with explicit little-endian byte
 * writes:
 *   tick u32 | per player: active u8, sim_netent (x u16, y u16, vx i16,
 *   vy i16, aim u16, flags u8), then the IEEE bits of pos[0], pos[1],
 *   vel[0], vel[1] (u32 each), then health u8, life u8, kills u16,
 *   deaths u16, score u16, hits u16
 * so the float state itself is compared, not only its wire form. Players
 * fire (every button combination includes FIRE now and then) with a view
 * 0..20 ticks in the past, so the shots are judged on rewound positions
 * (lag compensation) and players die and respawn. */
#ifndef TW_DET_SCENARIO_H
#define TW_DET_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"

#define DET_PLAYERS 16
#define DET_RECORD 38 /* bytes per player */
#define DET_TICK_BYTES (4 + DET_PLAYERS * DET_RECORD)

typedef struct det_scenario {
    sim_world world;
    uint64_t rng;
    uint32_t join_count[DET_PLAYERS];
    uint8_t held[DET_PLAYERS];
    uint16_t aim[DET_PLAYERS];
    sim_tick_inputs in;
} det_scenario;

void det_init(det_scenario *s, uint64_t seed, uint16_t tick_rate);
/* Runs one tick and writes its DET_TICK_BYTES bytes to out. */
size_t det_step(det_scenario *s, uint8_t *out);

#endif
