/* agones: the SDK lifecycle as a state machine (see agones.h). */
#include "agones.h"

#include <string.h>

static const char *const NAMES[AGONES_CALLS] = {"none", "ready", "health", "gameserver", "shutdown"};

void agones_init(agones *a, int64_t now_us)
{
    memset(a, 0, sizeof *a);
    a->ready_at_us = now_us;
    a->ready_backoff_us = AGONES_RETRY_MIN_US;
    a->health_at_us = now_us;
}

agones_call agones_next(agones *a, int64_t now_us)
{
    if (a->in_flight != AGONES_NONE || a->shutdown_state >= 2)
        return AGONES_NONE;
    agones_call c = AGONES_NONE;
    if (a->shutdown_state == 1)
        c = AGONES_SHUTDOWN;
    else if (!a->ready_done && now_us >= a->ready_at_us)
        c = AGONES_READY;
    else if (now_us >= a->health_at_us)
        c = AGONES_HEALTH;
    else if (a->ready_done && a->gameserver_due)
        c = AGONES_GAMESERVER;
    if (c == AGONES_SHUTDOWN)
        a->shutdown_state = 2;
    a->in_flight = c;
    return c;
}

void agones_done(agones *a, agones_call call, int status, int64_t now_us)
{
    if (call == AGONES_NONE || call >= AGONES_CALLS)
        return;
    if (call == a->in_flight)
        a->in_flight = AGONES_NONE;
    int ok = status >= 200 && status < 300;
    if (ok)
        a->ok[call]++;
    else
        a->failed[call]++;
    switch (call) {
    case AGONES_READY:
        if (ok) {
            a->ready_done = 1;
            a->gameserver_due = 1;
        } else {
            a->ready_at_us = now_us + a->ready_backoff_us;
            a->ready_backoff_us *= 2;
            if (a->ready_backoff_us > AGONES_RETRY_MAX_US)
                a->ready_backoff_us = AGONES_RETRY_MAX_US;
        }
        break;
    case AGONES_HEALTH:
        a->health_at_us = now_us + AGONES_HEALTH_US;
        break;
    case AGONES_GAMESERVER:
        if (ok)
            a->gameserver_due = 0;
        break;
    case AGONES_SHUTDOWN:
        a->shutdown_state = 3;
        break;
    default:
        break;
    }
}

void agones_note_players(agones *a, int players)
{
    if (a->players == 0 && players > 0 && a->ready_done)
        a->gameserver_due = 1;
    a->players = players;
}

void agones_shutdown_now(agones *a)
{
    if (a->shutdown_state == 0)
        a->shutdown_state = 1;
}

int agones_shutdown_done(const agones *a)
{
    return a->shutdown_state == 3;
}

const char *agones_call_name(agones_call call)
{
    return call < AGONES_CALLS ? NAMES[call] : "?";
}
