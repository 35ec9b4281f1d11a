/* http: the plain-HTTP side of the one port, for libwebsockets. Serves
 * exactly GET /metrics and (demo mode) POST /api/join from the core,
 * GET /api/matches?limit=N (the newest ended rounds, results.h) and
 * GET /api/matches/live, GET /api/replays (the --replay-dir listing,
 * replay_list.h) and GET /api/replays/<name> (a file's bytes, read in
 * chunks as the socket takes them); a request body is accepted only at
 * /api/join (small, within --http-timeout), anywhere else it is
 * refused with 413. /metrics answers only what the scrape rules let
 * through (scrape.h: 403, or 401 with WWW-Authenticate); a connection held
 * in the reserve past the connection caps (admission.h) may ask for GET
 * /metrics only, anything else on it is the cap's 503.
 * Before every WebSocket upgrade it checks the opening handshake
 * (handshake.h, RFC 6455 4.2.1) and then asks the core's admission rules
 * (the origin); each refusal is answered with its status (400, 426, 403),
 * logged and counted. The connection caps are net.c's, at accept. The files under --web-root are served by an lws mount
 * (net.c). */
#ifndef TW_HTTP_H
#define TW_HTTP_H

#include <libwebsockets.h>

#include "core.h"
#include "recorder.h"
#include "replay_list.h"
#include "results.h"
#include "scrape.h"

typedef struct http_session {
    uint8_t *buf;  /* LWS_PRE bytes of headroom, then the body */
    size_t len;
    int api_join;  /* waiting for a request body: 1 POST /api/join, 2 POST /admin/drain */
    int close_after; /* close the connection once the answer is written */
    lws_usec_t body_deadline_us; /* ... which must have arrived by then (lws_now_usecs) */
    int mm_slot;   /* POST /api/matchmake waiting for Redis: its net slot + 1; 0 none */
    int mm_ready;  /* ... the answer is in buf: write its headers when writable */
    unsigned int mm_status;
    int file_fd;   /* GET /api/replays/<name>: the file being sent (valid while file_on) */
    int file_on;
    uint64_t file_off, file_left;
    struct httpfb_req *fb; /* a request under /tw/ (httpfb_lws.c), NULL: none */
} http_session;

/* The callback of protocol 0 ("http"); the context's user pointer must
 * lead to the core through net_core_of(). */
int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

/* The core behind a connection of the server's context (net.c). */
core *net_core_of(struct lws *wsi);
/* The round storage of the server's context (net.c); NULL: none. */
results *net_results_of(struct lws *wsi);
/* The replay recorder, NULL without --replay-dir. */
recorder *net_recorder_of(struct lws *wsi);
/* The finished replay files (GET /api/replays), NULL without --replay-dir. */
replay_list *net_replays_of(struct lws *wsi);
/* Who may read /metrics (net.c, from --metrics-token-file and
 * --metrics-allow). */
const scrape_rules *net_scrape_rules(struct lws *wsi);
/* The server's --http-timeout, in seconds (net.c). */
int net_http_timeout(struct lws *wsi);
/* Who may POST /admin/drain (--admin-token-file); NULL: the endpoint is off. */
const scrape_rules *net_admin_rules(struct lws *wsi);
/* The adapter's own /metrics families (the Agones calls), appended to the
 * core's; returns the length written, 0 when none. */
size_t net_metrics_extra(struct lws *wsi, char *buf, size_t cap);
/* POST /api/matchmake (net.c, fleet.h): asks the fleet for a seat; the answer
 * comes back through http_matchmake_done on this wsi. Returns the slot + 1
 * to keep in the session, 0 when it cannot be asked (not in a fleet, Redis
 * down, too many waiting). */
int net_matchmake(struct lws *wsi, const char *request_id, const char *label, const char *token, const char *seat_id);
/* The connection closed before the answer: forget it. */
void net_matchmake_cancel(struct lws *wsi, int slot);
/* Who may POST /api/matchmake (--matchmaker-token-file, with --redis); NULL:
 * the endpoint is off. */
const scrape_rules *net_matchmaker_rules(struct lws *wsi);
/* `tickwire-server matchmaker`: game upgrades are refused (404). */
int net_matchmaker_only(struct lws *wsi);
/* --no-websocket: game upgrades are refused (403), the HTTP fallback only. */
int net_no_websocket(struct lws *wsi);
/* net.c's delivery of a matchmaking answer. */
struct fleet_seat;
void http_matchmake_done(struct lws *wsi, const struct fleet_seat *seat);
/* Begins the drain, as SIGTERM does (net.c); a second call changes nothing. */
void net_begin_drain(struct lws *wsi);

#endif
