/* lobby: see lobby.h. */
#include "lobby.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

void lobby_init(lobby *l, const sim_map *map, const match_config *cfg, int max_matches)
{
    memset(l, 0, sizeof *l);
    l->max_matches = max_matches > 0 && max_matches < LOBBY_MAX_MATCHES ? max_matches : LOBBY_MAX_MATCHES;
    l->map = map;
    l->match_cfg = *cfg;
}

void lobby_free(lobby *l)
{
    for (int i = 0; i < l->nmatches; i++)
        match_destroy(l->matches[i]);
    l->nmatches = 0;
}

match *lobby_place(lobby *l, const char *label)
{
    for (int i = 0; i < l->nmatches; i++)
        if (match_has_room(l->matches[i]) && strcmp(l->matches[i]->label, label) == 0)
            return l->matches[i];
    if (l->nmatches >= l->max_matches)
        return NULL;
    /* Ids are 16 bits on the wire: skip 0 and any still in use. */
    uint16_t id = 0;
    for (int tries = 0; tries < 65536 && id == 0; tries++) {
        id = ++l->next_match_id;
        for (int i = 0; id && i < l->nmatches; i++)
            if (l->matches[i]->id == id)
                id = 0;
    }
    match *m = match_create(id, l->map, &l->match_cfg);
    if (!m)
        return NULL;
    snprintf(m->label, sizeof m->label, "%s", label);
    l->matches[l->nmatches++] = m;
    char ql[2 * MATCH_LABEL_MAX + 1];
    log_event(LOG_INFO, "match_open", "match=%u label=\"%s\" matches=%d", m->id, log_quote(label, ql, sizeof ql),
              l->nmatches);
    return m;
}

match *lobby_watch(const lobby *l, const char *label, uint16_t match_id)
{
    match *best = NULL;
    for (int i = 0; i < l->nmatches; i++) {
        match *m = l->matches[i];
        if (strcmp(m->label, label) != 0)
            continue;
        if (match_id != PROTO_MATCH_ANY) {
            if (m->id == match_id)
                return m;
            continue;
        }
        int players = m->humans + m->npcs, most = best ? best->humans + best->npcs : -1;
        if (players > most || (players == most && m->id < best->id))
            best = m;
    }
    return best;
}

int lobby_close_if_empty(lobby *l, match *m)
{
    if (m->humans > 0)
        return 0;
    for (int i = 0; i < l->nmatches; i++) {
        if (l->matches[i] == m) {
            l->matches[i] = l->matches[--l->nmatches];
            break;
        }
    }
    log_event(LOG_INFO, "match_close", "match=%u matches=%d", m->id, l->nmatches);
    match_destroy(m);
    return 1;
}

int lobby_find_resume(const lobby *l, const uint8_t resume[PROTO_RESUME_LEN], match **m)
{
    for (int i = 0; i < l->nmatches; i++) {
        int pid = match_player_find(l->matches[i], resume);
        if (pid >= 0) {
            *m = l->matches[i];
            return pid;
        }
    }
    return -1;
}

void lobby_count(const lobby *l, int *humans, int *npcs)
{
    *humans = *npcs = 0;
    for (int i = 0; i < l->nmatches; i++) {
        *humans += l->matches[i]->humans;
        *npcs += l->matches[i]->npcs;
    }
}

int lobby_held(const lobby *l)
{
    int n = 0;
    for (int i = 0; i < l->nmatches; i++) {
        const match *m = l->matches[i];
        for (int id = 0; id < m->cfg.size; id++)
            n += m->players[id].used && m->players[id].held_until != 0;
    }
    return n;
}
