/* replay_fmt: the replay file format (docs/REPLAY.md): a writer that turns
 * a match's round into records, a reader that re-simulates them, and the
 * checks that say where a re-simulation left the recording. Pure: bytes in
 * caller buffers, no I/O, malloc, clock or globals, so it also builds to
 * wasm for a browser player.
 *
 * A replay is the round's initial state (a keyframe), then per tick the
 * world operations that happened before the step (spawn, remove, reset
 * round, combat on/off) and every player's inputs for the step, so
 * sim_world_step replays it bit for bit. Every hash_interval ticks a hash
 * record carries a 32-bit hash and one check byte per field of every
 * active player (so a divergence names the player and the field); every
 * keyframe_interval ticks a keyframe carries the whole state again (a
 * reader seeks by loading the nearest one, listed in the end record's
 * index). Inputs are delta-coded against a per-player prediction (last
 * buttons, aim and view advancing by their last step), reset at every
 * keyframe and at a spawn, so decoding can start at any keyframe.
 *
 * What it does not do: files, threads, names of files (server/recorder.c),
 * compression beyond the delta coding. A file made by a different
 * SIM_VERSION is refused (REPLAY_BAD): its inputs would not replay. */
#ifndef TW_REPLAY_FMT_H
#define TW_REPLAY_FMT_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"

#define REPLAY_FORMAT_VERSION 2
#define REPLAY_MAGIC "TWRP"        /* first 4 bytes */
#define REPLAY_FOOTER_MAGIC "TWRE" /* last 4 bytes of a complete file */
#define REPLAY_FOOTER_LEN 16
#define REPLAY_NAME_MAX 16         /* = PROTO_MAX_NAME */
#define REPLAY_LABEL_MAX 32
#define REPLAY_NFIELDS 21          /* per-player fields hashed and checked */
#define REPLAY_MAX_INDEX 16384     /* keyframes listed in the end record (more are still in the file) */
/* The largest record the writer makes (a keyframe of 128 players with a
 * full history, or an end record with a full index): a caller's scratch
 * buffer of this size always fits one. */
#define REPLAY_RECORD_MAX (512 * 1024)
#define REPLAY_HEADER_MAX 640   /* the longest header: 64 walls */
#define REPLAY_ERR_MAX 160

/* Record types (the first byte of a record). */
enum {
    REPLAY_REC_KEYFRAME = 0x01,
    REPLAY_REC_TICK = 0x02,
    REPLAY_REC_HASH = 0x03,
    REPLAY_REC_SPAWN = 0x04,
    REPLAY_REC_REMOVE = 0x05,
    REPLAY_REC_RESET_ROUND = 0x06,
    REPLAY_REC_COMBAT = 0x07,
    REPLAY_REC_END = 0x0F,
};

typedef struct replay_header {
    uint16_t format_version;   /* REPLAY_FORMAT_VERSION (set by the writer) */
    uint16_t sim_version;      /* SIM_VERSION (set by the writer) */
    uint16_t proto_version;    /* informational */
    uint16_t tick_rate;
    uint16_t hash_interval;    /* ticks between hash records, >= 1 */
    uint16_t keyframe_interval; /* ticks between keyframes, >= 1 */
    uint64_t seed;             /* the world's seed */
    uint16_t match_id;
    uint32_t round;
    int64_t start_ms;          /* unix ms when the round went LIVE */
    char label[REPLAY_LABEL_MAX + 1];
    sim_map map;
} replay_header;

/* The input predictor of one player (writer and reader keep the same). */
typedef struct replay_pred {
    uint8_t buttons;
    uint16_t aim;
    uint16_t aim_d;
    uint64_t view;      /* view_tick << 8 | view_frac */
    uint64_t view_d;
    uint32_t known;
    uint32_t known_d;
} replay_pred;

typedef struct replay_score {
    uint8_t id;
    char name[REPLAY_NAME_MAX + 1];
    uint16_t kills, deaths, score, hits;
} replay_score;

typedef struct replay_index_entry {
    uint32_t tick;
    uint64_t offset; /* of the keyframe record's type byte, from the file's start */
} replay_index_entry;

/* ---- writer -------------------------------------------------------------------------- */

/* One round being written. Each replay_write_* returns the bytes it put in
 * buf (the caller appends them to the file, in order), 0 when cap is too
 * small (REPLAY_RECORD_MAX always fits). Big (the index): allocate it. */
typedef struct replay_writer {
    replay_header h;
    uint64_t offset;              /* bytes returned so far */
    uint32_t start_tick;          /* world tick at the first keyframe */
    uint32_t ticks;               /* tick records written */
    replay_pred pred[SIM_MAX_PLAYERS];
    uint32_t nindex;
    replay_index_entry index[REPLAY_MAX_INDEX];
    uint32_t crc;                 /* CRC-32 of the bytes returned so far (the footer's) */
} replay_writer;

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32): crc 0 to start, then
 * fed in pieces. */
uint32_t replay_crc32(uint32_t crc, const uint8_t *p, size_t n);

/* Starts a file: the header (h's versions are filled in here). */
size_t replay_write_begin(replay_writer *w, const replay_header *h, uint8_t *buf, size_t cap);
/* The whole state sim_world_step reads, with the players' names (names[id],
 * REPLAY_NAME_MAX bytes at most). The first record after the header. */
size_t replay_write_keyframe(replay_writer *w, const sim_world *world, const char (*names)[REPLAY_NAME_MAX + 1],
                             uint8_t *buf, size_t cap);
size_t replay_write_spawn(replay_writer *w, int id, uint32_t join_count, const char *name, uint8_t *buf, size_t cap);
size_t replay_write_remove(replay_writer *w, int id, uint8_t *buf, size_t cap);
size_t replay_write_reset_round(replay_writer *w, uint8_t *buf, size_t cap);
size_t replay_write_combat(replay_writer *w, int on, uint8_t *buf, size_t cap);
/* The inputs of one step, for the players active in `world` (their set
 * does not change in a step: pass the world before or after it). */
size_t replay_write_tick(replay_writer *w, const sim_world *world, const sim_tick_inputs *in, uint8_t *buf,
                         size_t cap);
/* What follows a step: a hash record when its tick is due, and a
 * keyframe when that is due; 0 bytes when neither (never an error: cap
 * must be REPLAY_RECORD_MAX). */
size_t replay_write_after_step(replay_writer *w, const sim_world *world, const char (*names)[REPLAY_NAME_MAX + 1],
                               uint8_t *buf, size_t cap);
/* The end: a last hash, then the end record (reason PROTO_END_*, every
 * active player's score, the keyframe index) and the footer. */
size_t replay_write_end(replay_writer *w, const sim_world *world, const char (*names)[REPLAY_NAME_MAX + 1],
                        int reason, uint8_t *buf, size_t cap);

/* ---- reader / re-simulator ---------------------------------------------------------------- */

enum { REPLAY_OK = 0, REPLAY_DIVERGED = 1, REPLAY_BAD = 2 };

/* Where a re-simulation first left the recording. player -1: the world. */
typedef struct replay_diff {
    uint32_t tick;
    int player;
    char name[REPLAY_NAME_MAX + 1];
    const char *field;
    uint32_t value; /* the re-simulated field's bits (floats as IEEE bits) */
} replay_diff;

typedef struct replay_reader {
    const uint8_t *data;
    size_t len, pos, end;      /* end: where records stop (the end record, or len) */
    replay_header h;
    sim_world *world;          /* caller's (big) */
    sim_tick_inputs *inputs;   /* caller's: the last tick's inputs */
    replay_pred pred[SIM_MAX_PLAYERS];
    char names[SIM_MAX_PLAYERS][REPLAY_NAME_MAX + 1];
    int load_keyframes;        /* 1: a keyframe replaces the world (seek); 0: it is checked against it */
    int started;               /* the first keyframe was loaded */
    uint32_t ticks, hashes, keyframes;
    int ended;
    uint8_t end_reason;
    uint32_t end_tick;
    int nscores;
    replay_score scores[SIM_MAX_PLAYERS];
    uint32_t nindex;
    uint64_t end_offset;       /* of the end record (from the footer), 0: none */
    uint32_t crc_stored, crc_computed; /* the footer's CRC-32 and the bytes' (when end_offset) */
    replay_diff diff;
    char err[REPLAY_ERR_MAX];
} replay_reader;

/* Reads the header (and the footer, if the file is complete, for the
 * index). REPLAY_OK, or REPLAY_BAD with r->err set (not a replay, another
 * format or simulation version, truncated, corrupt). */
int replay_open(replay_reader *r, const uint8_t *data, size_t len, sim_world *world, sim_tick_inputs *inputs);
/* Reads and applies one record; *type gets its REPLAY_REC_*. REPLAY_OK,
 * REPLAY_DIVERGED (r->diff says where), or REPLAY_BAD (r->err). At the
 * end record r->ended is set and later calls return REPLAY_BAD. */
int replay_next(replay_reader *r, int *type);
/* Every record to the end, checking each hash, keyframe and the final
 * scoreboard. REPLAY_OK only for a complete file that matched throughout. */
int replay_verify(replay_reader *r);
/* Keyframe index entry i (0..r->nindex), from the end record. */
int replay_index_get(const replay_reader *r, uint32_t i, replay_index_entry *out);
/* Seek: load the keyframe record at `offset` into the world and continue
 * from there. REPLAY_OK or REPLAY_BAD. */
int replay_seek(replay_reader *r, uint64_t offset);

/* Every keyframe index entry (at most cap) in one pass over the end
 * record; returns how many, 0 without an index (no footer). */
uint32_t replay_index_read(const replay_reader *r, replay_index_entry *out, uint32_t cap);

/* ---- summary: what a file holds, without re-simulating (a listing) ------------------------ */

/* Bytes from a file's start that always hold its header and its first
 * record's type, length and world tick. */
#define REPLAY_INFO_HEAD (REPLAY_HEADER_MAX + 16)
/* Bytes of an end record that always hold its scores (not the index). */
#define REPLAY_INFO_END 4096

typedef struct replay_info {
    replay_header h;
    uint32_t start_tick;   /* the first keyframe's world tick */
    uint8_t end_reason;    /* PROTO_END_*; 0: no end record read */
    uint32_t end_tick;
    int nplayers;          /* in the end record */
    replay_score top;      /* the best score (then more kills, fewer deaths, lower id); nplayers > 0 */
} replay_info;

/* The header and the first keyframe's tick from a file's first n bytes
 * (REPLAY_INFO_HEAD, or the whole file when shorter). REPLAY_OK, or
 * REPLAY_BAD with err (REPLAY_ERR_MAX bytes) saying why (as replay_open). */
int replay_info_head(const uint8_t *p, size_t n, replay_info *out, char *err);
/* Where the end record starts, from a file's last REPLAY_FOOTER_LEN bytes;
 * 0 when they are not a footer. */
uint64_t replay_info_footer(const uint8_t *last);
/* The end record from its type byte on (n bytes, REPLAY_INFO_END are
 * enough; the index may be cut off): reason, tick, players, the top.
 * REPLAY_OK or REPLAY_BAD. */
int replay_info_end(const uint8_t *p, size_t n, replay_info *out);

/* The field names, for messages (REPLAY_NFIELDS of them). */
extern const char *const replay_field_names[REPLAY_NFIELDS];
/* A player's fields as 32-bit values (floats as IEEE bits), in the order
 * of replay_field_names. */
void replay_player_fields(const sim_player *p, uint32_t out[REPLAY_NFIELDS]);

#endif
