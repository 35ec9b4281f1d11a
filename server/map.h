/* map: loads an arena map from a text file in assets/.
 *
 *   # comment
 *   size W H            arena size in world units, 64..MAP_MAX_SIZE
 *   wall X0 Y0 X1 Y1    axis-aligned wall, X0 < X1, Y0 < Y1, inside the arena
 *
 * Errors name the file and line. */
#ifndef TW_MAP_H
#define TW_MAP_H

#include <stddef.h>

#include "sim.h"

/* The largest arena side: positions travel as u16 in 1/16 units (at most
 * 4095.9375), and a player's centre stays within [16, side - 16]. A larger
 * map needs a wider position on the wire (docs/PROTOCOL.md section 3). */
#define MAP_MAX_SIZE 4096

/* Parses map text. Returns 0, or -1 with a message in err. */
int map_parse(const char *text, sim_map *out, char *err, size_t errlen);
/* Reads and parses a file. Returns 0, or -1 with a message in err. */
int map_load(const char *path, sim_map *out, char *err, size_t errlen);

#endif
