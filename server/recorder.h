/* recorder: every LIVE round of every match into its own replay file
 * (--replay-dir, format: shared/replay_fmt.h, docs/REPLAY.md), without the
 * tick ever waiting for the disk.
 *
 * The tick encodes each record into the match's scratch buffer and copies
 * it into the match's current chunk (a memcpy); a full chunk goes to a
 * writer thread over a bounded queue, and a free one is taken from a pool
 * allocated at open. So the tick never allocates (a round's begin takes a
 * pooled per-match state, allocated the first time only) nor writes. The
 * writer appends chunks to NAME.tmp and renames it to NAME when the round
 * is complete (its end record and footer written, fdatasync'd), then
 * deletes the oldest files beyond `keep`.
 *
 * Failures never stop the game: a failed open/write/rename is logged
 * (replay_write_failed, with errno's text) and counted (write_errors), the
 * .tmp removed, and the round's later chunks dropped; a round the writer
 * cannot keep up with (no free chunk) is abandoned the same way (counted
 * in dropped, logged as replay_dropped).
 *
 * Names: tw-<start unix ms, 13 digits>-m<match>-r<round>.twr, so names sort
 * by age; only such names are ever deleted.
 *
 * Threads: recorder_round_* from the tick thread (one); recorder_get_stats
 * from any; open and close from the owner. Close finishes every queued
 * chunk and file (the rounds still open must have been ended first:
 * core_shutdown ends them as interrupted). */
#ifndef TW_RECORDER_H
#define TW_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "replay_fmt.h"
#include "sim.h"

typedef struct recorder_opts {
    const char *dir;       /* required; created if missing (one level) */
    int keep;              /* newest files kept; 0: all */
    int chunks;            /* chunks in the pool; 0: 64 */
    size_t chunk_size;     /* bytes; 0: 64 KiB */
    int hash_every;        /* ticks between hash records; 0: tick_rate / 15 (at least 1) */
    int keyframe_seconds;  /* between keyframes; 0: 10 */
} recorder_opts;

typedef struct recorder_stats {
    uint64_t files_written;  /* complete files renamed into place */
    uint64_t write_errors;   /* failed opens, writes, syncs, renames (each logged) */
    uint64_t dropped;        /* rounds abandoned: writer behind, or too many open */
    uint64_t bytes_written;
    uint64_t pruned;         /* old files deleted for keep */
    double tick_seconds;     /* time the tick spent in recorder_tick (encoding, copying) */
} recorder_stats;

typedef struct recorder recorder;
typedef struct rec_match rec_match;

/* NULL with a message when the folder cannot be made or written, or out
 * of memory. */
recorder *recorder_open(const recorder_opts *o, char *err, size_t errlen);
/* Writes everything queued, stops the writer. NULL: no-op. */
void recorder_close(recorder *rc);
void recorder_get_stats(recorder *rc, recorder_stats *out);
/* Test knob: while held, the writer takes nothing from the queue (a disk
 * that stalls), so the chunk pool runs dry. */
void recorder_hold_writer(recorder *rc, int hold);

/* A round went LIVE in match `match_id`: starts its file with the header
 * and a keyframe of `w` (names: the match's player names). NULL when it
 * cannot be recorded (counted, logged). */
rec_match *recorder_round_begin(recorder *rc, uint16_t match_id, const char *label, uint32_t round,
                                const sim_world *w, const char (*names)[REPLAY_NAME_MAX + 1]);
/* World operations, as they happen (between ticks or in one before the step). */
void recorder_spawn(rec_match *rm, int id, uint32_t join_count, const char *name);
void recorder_remove(rec_match *rm, int id);
/* After sim_world_step(w, in): the step's inputs, then its hash and keyframe when due. */
void recorder_tick(rec_match *rm, const sim_world *w, const sim_tick_inputs *in,
                   const char (*names)[REPLAY_NAME_MAX + 1]);
/* The round ended (reason PROTO_END_*): the end record, and the file goes to be
 * closed. rm is dead after this. */
void recorder_round_end(rec_match *rm, const sim_world *w, const char (*names)[REPLAY_NAME_MAX + 1], int reason);

#endif
