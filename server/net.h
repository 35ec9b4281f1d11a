/* net: the libwebsockets side of the server. One lws context on one port
 * serves the demo page (files under --web-root), the game protocol
 * (subprotocol tickwire.v3) and, later, metrics. Owns the fixed-tick timer,
 * the list of matches and every session. The only file that includes
 * libwebsockets on the server. */
#ifndef TW_NET_H
#define TW_NET_H

#include "cli.h"
#include "results.h"
#include "sim.h"

typedef struct net_server net_server;

/* Creates the context and starts listening. Returns NULL with a message in
 * err when the port cannot be opened or memory runs out. res (may be NULL)
 * is the round storage behind GET /api/matches and the tickwire_results_*
 * metrics; the caller keeps it open until after net_server_destroy. */
net_server *net_server_create(const tw_config *cfg, const sim_map *map, results *res, char *err, size_t errlen);
/* The port actually bound (useful with --port 0). */
int net_server_port(const net_server *s);
/* Services the event loop until net_server_request_stop(), then closes
 * every client with 1001 and returns. */
void net_server_run(net_server *s);
/* Async-signal-safe: asks the loop to stop; sig is logged (0: none). The
 * first SIGTERM with --drain-timeout > 0 drains instead (core_drain): the
 * loop stops once the running rounds are over or the timeout has passed;
 * SIGINT or a second SIGTERM stops it at once. */
void net_server_request_stop(net_server *s, int sig);
void net_server_destroy(net_server *s);

#endif
