/* admission: who may hold a connection, and who may upgrade one to the
 * game. Two questions, asked at two moments:
 *
 *   at accept       every TCP connection takes a ticket, whatever it turns
 *                   out to be (a page or /metrics request, an idle
 *                   keep-alive, a pending or refused upgrade, a game
 *                   connection), and holds it until it closes. Past the
 *                   server's or one address's connection cap there is no
 *                   ticket (REF_MAX_CONNS, REF_MAX_PER_IP): the connection
 *                   is closed before a byte of it is read.
 *   before upgrade  a browser page from a foreign origin is refused (403).
 *                   Requests without an Origin header are not from a page
 *                   and go on to the JOIN check.
 *
 * The reserve: past a cap, an address `reserve_ok` approves (the
 * --metrics-allow networks) still gets one of `reserve` reserve tickets,
 * counted apart from the caps; the transport lets such a connection ask
 * for /metrics only (admission_is_reserve). So a full server can still be
 * scraped, and the reserve cannot be taken by anyone else.
 *
 * A game connection is a ticket like any other: it is not counted again
 * when it upgrades. The per-address counts live in an open-addressing table
 * sized at create time from the connection cap; tickets live in a pool
 * that grows up to the cap. O(1) per check, accept and release. */
#ifndef TW_ADMISSION_H
#define TW_ADMISSION_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

#define ADMISSION_MAX_ORIGINS 16
#define ADMISSION_IP_LEN 48

typedef struct admission_config {
    int max_conns;         /* connections (tickets) in all */
    int max_conns_per_ip;  /* connections (tickets) from one address */
    int n_origins;
    const char *origins[ADMISSION_MAX_ORIGINS]; /* exact, case-insensitive matches */
    int reserve;           /* reserve tickets past the caps; 0: none */
    int (*reserve_ok)(void *user, const char *ip); /* who may have one; NULL: nobody */
    void *reserve_user;
} admission_config;

typedef struct admission_ip {
    char ip[ADMISSION_IP_LEN]; /* the address, cut to fit ("" when unknown) */
    int count;                 /* 0 = empty slot */
} admission_ip;

/* One accepted connection's ticket: the address it is counted under. */
typedef struct admission_ticket {
    char ip[ADMISSION_IP_LEN];
    uint32_t gen;          /* bumped on every release, so an old handle dies */
    uint32_t next_free;    /* free list, index + 1 (0: end) */
    int used;
    int reserve;           /* a reserve ticket: not under the caps' counts */
} admission_ticket;

typedef struct admission {
    admission_config cfg;
    int conns;             /* connections counted (tickets out, plus admission_add) */
    int reserved;          /* reserve tickets out */
    admission_ip *ips;
    uint32_t ip_cap;       /* power of two, over twice the connection cap */
    uint32_t nips;         /* addresses in the table */
    admission_ticket *tickets;
    uint32_t ntickets, ticket_cap, ticket_free; /* ticket_free: index + 1 of the first free, 0: none */
} admission;

/* Returns 0, or -1 when out of memory. */
int admission_init(admission *a, const admission_config *cfg);
void admission_free(admission *a);

enum { ADMIT_OK = -1 };
/* Before the upgrade: ADMIT_OK, or REF_ORIGIN when the request comes from
 * a foreign page. origin and host are the request's headers ("" when
 * absent). */
int admission_check_origin(const admission *a, const char *origin, const char *host);
/* ADMIT_OK, or the cap (REF_MAX_CONNS, then REF_MAX_PER_IP) one more
 * connection from ip would break. */
int admission_check_caps(const admission *a, const char *ip);
/* The HTTP status for a refusal: 403 for the origin, 503 for the caps. */
int admission_status(int reason);

/* A connection from ip was accepted: its ticket (never 0), counted under ip
 * until admission_release, or past a cap a reserve ticket (see above;
 * *reason then names the cap); or 0 with the reason in *reason (the caps, as
 * admission_check_caps; REF_MAX_CONNS too when out of memory or the address
 * table is full). */
uint32_t admission_accept(admission *a, const char *ip, int *reason);
/* Whether the ticket is a reserve one (for /metrics only). */
int admission_is_reserve(const admission *a, uint32_t ticket);
/* The ticket's connection closed: its count is given back. Returns 1, or 0
 * (nothing done) for 0, a ticket already released or one never issued, so
 * a transport that reports a close twice cannot give a count back twice. */
int admission_release(admission *a, uint32_t ticket);

/* The counts under the tickets: one connection from ip more / less. add
 * returns -1 when the table is full (more distinct addresses than it was
 * sized for). */
int admission_add(admission *a, const char *ip);
void admission_remove(admission *a, const char *ip);
int admission_count(const admission *a, const char *ip);

#endif
