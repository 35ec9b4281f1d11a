/* agones: what a game server owes the Agones SDK sidecar over its REST API
 * (https://agones.dev, "REST Game Server Client API"), as a state machine
 * with no sockets and no clock: the adapter (net.c) asks agones_next()
 * which call to make now, makes it over HTTP to localhost
 * (AGONES_SDK_HTTP_PORT, sdk_http.h), and reports the answer with
 * agones_done().
 *
 *   POST /ready       once start-up is over; retried with backoff (0.5 s
 *                     doubling to 5 s) while the sidecar is not up yet,
 *                     which the Agones docs warn about;
 *   POST /health      every AGONES_HEALTH_US from the start, from the
 *                     event loop (so a stuck loop stops the pings, and
 *                     Agones marks the pod Unhealthy);
 *   GET /gameserver   after Ready, and when players arrive on an idle
 *                     server (an allocation): its name and state are logged;
 *   POST /shutdown    once the server has drained (agones_shutdown_now),
 *                     the last call; nothing is sent after it.
 *
 * One call at a time; Shutdown goes first when due. Not here: Reserve,
 * Allocate, labels, annotations, counters, lists, WatchGameServer. */
#ifndef TW_AGONES_H
#define TW_AGONES_H

#include <stdint.h>

#define AGONES_HEALTH_US 2000000
#define AGONES_RETRY_MIN_US 500000
#define AGONES_RETRY_MAX_US 5000000

typedef enum agones_call {
    AGONES_NONE = 0, AGONES_READY, AGONES_HEALTH, AGONES_GAMESERVER, AGONES_SHUTDOWN,
    AGONES_CALLS
} agones_call;

typedef struct agones {
    int ready_done;          /* /ready answered 2xx */
    int64_t ready_at_us;     /* next /ready attempt */
    int64_t ready_backoff_us;
    int64_t health_at_us;    /* next /health */
    int gameserver_due;      /* a GET /gameserver is wanted */
    int players;             /* the latest count agones_note_players saw */
    int shutdown_state;      /* 0 not asked, 1 due, 2 sent, 3 answered (or given up) */
    agones_call in_flight;   /* AGONES_NONE: free */
    uint64_t ok[AGONES_CALLS], failed[AGONES_CALLS];
} agones;

void agones_init(agones *a, int64_t now_us);
/* The call to make now (marked in flight), or AGONES_NONE. O(1). */
agones_call agones_next(agones *a, int64_t now_us);
/* The answer to the call in flight: its HTTP status, or 0 when it could
 * not be made (no sidecar listening, timeout, a broken answer). 2xx is
 * success; anything else is retried (Ready) or waits for its next turn
 * (Health, GameServer). */
void agones_done(agones *a, agones_call call, int status, int64_t now_us);
/* The number of people playing, every tick or so: from 0 to more after
 * Ready, a GET /gameserver is due (an allocation brought them). */
void agones_note_players(agones *a, int players);
/* The server is about to exit: POST /shutdown goes next. */
void agones_shutdown_now(agones *a);
/* Shutdown was answered (or failed: it is not retried). */
int agones_shutdown_done(const agones *a);
/* "ready", "health", "gameserver", "shutdown". */
const char *agones_call_name(agones_call call);

#endif
