/* floor_common: what the two bench floors (tickwire-floor on libwebsockets,
 * tickwire-floor-raw on its own epoll loop) share, so they send the very
 * same bytes and take the very same flags: the prebuilt snapshot and its
 * per-send header, the WELCOME, the INPUT header read, the answer to
 * POST /api/join, the command line.
 *
 * No sockets, no clock, no libwebsockets here: each floor owns its loop
 * and hands these functions buffers. */
#ifndef TW_FLOOR_COMMON_H
#define TW_FLOOR_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FLOOR_DEFAULT_SNAPSHOT_BYTES 300

typedef struct floor_opts {
    const char *host;      /* default 127.0.0.1 */
    int port;              /* 0..65535, 0 = any free one; default 8081 */
    int tick_rate;         /* 1..240; default 60 */
    size_t snapshot_bytes; /* default FLOOR_DEFAULT_SNAPSHOT_BYTES */
    int pacing;            /* --pacing on|off (default on): wake at the tick, as tickwire-server does */
} floor_opts;

/* Fills *o with the defaults, then parses --host, --port, --tick-rate,
 * --snapshot-bytes, --pacing (also --flag=value) and --help into it. `name`
 * prefixes the messages.
 * Returns 0 to run, 1 when --help printed the usage (exit 0), 2 when a
 * flag was wrong (the problem and the usage are on stderr; exit 2). */
int floor_opts_parse(floor_opts *o, int argc, char **argv, const char *name);

/* Builds a valid full snapshot of exactly `total` bytes (header, an empty
 * events section, a body of K entities whose names pad it to size; entity
 * 0 is the client's own, so the bots measure RTT) into snap[0..total).
 * Sizes between two entity counts get a CHAT event in the events section
 * as padding (the same seq every time: the client skips the repeats).
 * The header is left for floor_snapshot_stamp. Sets *entities to K.
 * Returns 0, or -1 with the reason in err when no snapshot has that size.
 * Costs a few ms: once, at startup. */
int floor_snapshot_build(uint8_t *snap, size_t total, int tick_rate, int *entities, char *err, size_t errlen);
/* Rewrites the 10-byte header of a built snapshot: tick, full, the
 * client's newest input seq. */
void floor_snapshot_stamp(uint8_t *snap, uint32_t tick, uint32_t last_input_seq);
/* Writes the WELCOME every floor sends (player 0, an empty 2048 x 2048
 * map, tick and snapshot rate = tick_rate). Returns its size, 0 if cap is
 * too small. */
size_t floor_welcome_build(uint8_t *out, size_t cap, int tick_rate);

/* The answer body to POST /api/join: the real server's JSON around a
 * well-formed join token (signed with an all-zero secret; no floor checks
 * tokens), which the bots' parser takes. Returns its length, 0 if cap is
 * too small. */
size_t floor_join_body(char *out, size_t cap);

typedef enum floor_msg { FLOOR_MSG_OTHER, FLOOR_MSG_JOIN, FLOOR_MSG_INPUT } floor_msg;
/* Classifies one client message; for an INPUT (read as far as its
 * header: first_seq at offset 9, count at 13) raises *last_seq to its newest seq,
 * first_seq + count - 1. A JOIN counts only when !joined, an INPUT only
 * when joined. */
floor_msg floor_msg_read(const uint8_t *b, size_t n, int joined, uint32_t *last_seq);

#endif
