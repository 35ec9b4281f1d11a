/* admission: who may open a game connection, decided before the WebSocket
 * upgrade. A browser page from a foreign origin is refused (403); past the
 * server's or one address's connection cap, everyone is (503). Requests
 * without an Origin header are not from a page and go on to the JOIN check.
 *
 * The per-address counts live in an open-addressing table sized at create
 * time from the connection cap: O(1) per check, add and remove. */
#ifndef TW_ADMISSION_H
#define TW_ADMISSION_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

#define ADMISSION_MAX_ORIGINS 16
#define ADMISSION_IP_LEN 48

typedef struct admission_config {
    int max_conns;         /* game connections in all */
    int max_conns_per_ip;  /* game connections from one address */
    int n_origins;
    const char *origins[ADMISSION_MAX_ORIGINS]; /* exact, case-insensitive matches */
} admission_config;

typedef struct admission_ip {
    char ip[ADMISSION_IP_LEN]; /* the address, cut to fit ("" when unknown) */
    int count;                 /* 0 = empty slot */
} admission_ip;

typedef struct admission {
    admission_config cfg;
    int conns;             /* open game connections */
    admission_ip *ips;
    uint32_t ip_cap;       /* power of two, over twice the connection cap */
    uint32_t nips;         /* addresses in the table */
} admission;

/* Returns 0, or -1 when out of memory. */
int admission_init(admission *a, const admission_config *cfg);
void admission_free(admission *a);

enum { ADMIT_OK = -1 };
/* ADMIT_OK, or the reason (metrics_refused) this upgrade is refused.
 * origin and host are the request's headers ("" when absent). */
int admission_check(const admission *a, const char *origin, const char *host, const char *ip);
/* The HTTP status for a refusal: 403 for the origin, 503 for the caps. */
int admission_status(int reason);

/* A game connection from ip opened / closed. add returns -1 when the table
 * is full (more distinct addresses than it was sized for). */
int admission_add(admission *a, const char *ip);
void admission_remove(admission *a, const char *ip);
int admission_count(const admission *a, const char *ip);

#endif
