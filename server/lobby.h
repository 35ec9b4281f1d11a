/* lobby: the running matches and who plays where. Matchmaking puts a
 * player into the first match with its label (from the join token) and a
 * free slot, opening a new match when none has one; an empty match is
 * freed. Which session plays a slot is recorded in the match
 * (match_player.owner, a core handle), so a resume finds the slot and its
 * current owner by the resume token alone. No connections here. */
#ifndef TW_LOBBY_H
#define TW_LOBBY_H

#include <stdint.h>

#include "match.h"
#include "proto.h"
#include "sim.h"

#define LOBBY_MAX_MATCHES 4096

typedef struct lobby {
    const sim_map *map;
    match_config match_cfg;
    match *matches[LOBBY_MAX_MATCHES];
    int nmatches;
    int max_matches;         /* LOBBY_MAX_MATCHES or fewer */
    uint16_t next_match_id;
} lobby;

/* max_matches: how many may run at once (0: LOBBY_MAX_MATCHES). */
void lobby_init(lobby *l, const sim_map *map, const match_config *cfg, int max_matches);
/* Frees every match. */
void lobby_free(lobby *l);

/* The first match labelled `label` with a free slot, else a new one.
 * NULL when max_matches are open or memory runs out. O(matches). */
match *lobby_place(lobby *l, const char *label);
/* The match a spectator whose token names `label` may watch: match_id
 * PROTO_MATCH_ANY picks, among the running matches with that label, the
 * one with the most players (people and computer players; ties: lowest
 * id); another id must be a running match with that label. NULL when
 * there is none. O(matches). */
match *lobby_watch(const lobby *l, const char *label, uint16_t match_id);
/* Frees m if no person (playing or held) is left in it. Returns 1 when it
 * did (m is gone). */
int lobby_close_if_empty(lobby *l, match *m);
/* The player holding this resume token: its id, with *m set; -1 when none.
 * O(matches x slots), each compare constant-time. */
int lobby_find_resume(const lobby *l, const uint8_t resume[PROTO_RESUME_LEN], match **m);
/* People (playing or held) and computer players in all matches. */
void lobby_count(const lobby *l, int *humans, int *npcs);
/* People disconnected and held for a resume, in all matches. O(matches x
 * slots): for /metrics, not the tick. */
int lobby_held(const lobby *l);

#endif
