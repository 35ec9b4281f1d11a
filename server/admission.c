/* admission: see admission.h. */
#include "admission.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int admission_init(admission *a, const admission_config *cfg)
{
    memset(a, 0, sizeof *a);
    a->cfg = *cfg;
    uint32_t cap = 64;
    /* Every open connection may come from its own address; the slack is
     * for upgrades admitted at the same time. Load stays under 1/2. */
    while (cap < 2u * (uint32_t)cfg->max_conns + 128)
        cap <<= 1;
    a->ips = calloc(cap, sizeof *a->ips);
    a->ip_cap = cap;
    return a->ips ? 0 : -1;
}

void admission_free(admission *a)
{
    free(a->ips);
    a->ips = NULL;
    free(a->tickets);
    a->tickets = NULL;
}

static int is_local_host(const char *h, size_t n)
{
    return (n == 9 && strncasecmp(h, "localhost", 9) == 0) || (n == 9 && strncmp(h, "127.0.0.1", 9) == 0) ||
           (n == 5 && strncmp(h, "[::1]", 5) == 0);
}

/* The page's own origin (Origin names the Host the request went to),
 * localhost on any port, and the configured origins. */
static int origin_allowed(const admission *a, const char *origin, const char *host)
{
    for (int i = 0; i < a->cfg.n_origins; i++)
        if (strcasecmp(origin, a->cfg.origins[i]) == 0)
            return 1;
    const char *o = strstr(origin, "://");
    if (!o)
        return 0;
    o += 3;
    if (host[0] && strcasecmp(o, host) == 0)
        return 1;
    size_t n = o[0] == '[' ? strcspn(o, "]") + 1 : strcspn(o, ":");
    return is_local_host(o, n);
}

/* FNV-1a. */
static uint32_t ip_hash(const char *ip)
{
    uint32_t h = 2166136261u;
    for (; *ip; ip++)
        h = (h ^ (uint8_t)*ip) * 16777619u;
    return h;
}

/* The table's key for ip: cut to what a slot holds, so an address is found
 * again however long it was. "" (the transport could not tell) is a key
 * like any other. */
static const char *ip_key(const char *ip, char key[ADMISSION_IP_LEN])
{
    size_t n = strnlen(ip, ADMISSION_IP_LEN - 1);
    memcpy(key, ip, n);
    key[n] = '\0';
    return key;
}

/* The slot holding key, or the empty slot (count 0) where it would go.
 * Deletion uses backward-shift (no tombstones), so a probe stops at the
 * first empty. */
static uint32_t ip_slot(const admission *a, const char *key)
{
    uint32_t mask = a->ip_cap - 1, i = ip_hash(key) & mask;
    while (a->ips[i].count && strcmp(a->ips[i].ip, key) != 0)
        i = (i + 1) & mask;
    return i;
}

int admission_count(const admission *a, const char *ip)
{
    char key[ADMISSION_IP_LEN];
    return a->ips[ip_slot(a, ip_key(ip, key))].count;
}

int admission_check_origin(const admission *a, const char *origin, const char *host)
{
    return origin[0] && !origin_allowed(a, origin, host) ? REF_ORIGIN : ADMIT_OK;
}

int admission_check_caps(const admission *a, const char *ip)
{
    if (a->conns >= a->cfg.max_conns)
        return REF_MAX_CONNS;
    if (admission_count(a, ip) >= a->cfg.max_conns_per_ip)
        return REF_MAX_PER_IP;
    return ADMIT_OK;
}

int admission_status(int reason)
{
    return reason == REF_ORIGIN ? 403 : 503;
}

int admission_add(admission *a, const char *ip)
{
    char key[ADMISSION_IP_LEN];
    uint32_t i = ip_slot(a, ip_key(ip, key));
    if (!a->ips[i].count) {
        if (2 * (a->nips + 1) > a->ip_cap)
            return -1;
        a->nips++;
        memcpy(a->ips[i].ip, key, strlen(key) + 1);
    }
    a->ips[i].count++;
    a->conns++;
    return 0;
}

void admission_remove(admission *a, const char *ip)
{
    char key[ADMISSION_IP_LEN];
    uint32_t mask = a->ip_cap - 1, i = ip_slot(a, ip_key(ip, key));
    if (!a->ips[i].count)
        return;
    a->conns--;
    if (--a->ips[i].count > 0)
        return;
    /* Backward-shift delete: pull later entries of the run into the hole
     * when their home slot is at or before it. */
    a->ips[i].ip[0] = '\0';
    a->ips[i].count = 0;
    a->nips--;
    for (uint32_t j = (i + 1) & mask; a->ips[j].count; j = (j + 1) & mask) {
        uint32_t home = ip_hash(a->ips[j].ip) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            a->ips[i] = a->ips[j];
            a->ips[j].ip[0] = '\0';
            a->ips[j].count = 0;
            i = j;
        }
    }
}

/* ---- tickets ------------------------------------------------------------------
 * handle = gen << TICKET_INDEX_BITS | (index + 1); the pool never holds more
 * than max_conns tickets (<= 1000000 < 2^20), so the index always fits. */
#define TICKET_INDEX_BITS 20
#define TICKET_INDEX_MASK ((1u << TICKET_INDEX_BITS) - 1)

/* A free slot's index, growing the pool (doubling, up to the cap) when
 * none is free. UINT32_MAX when out of memory or at the cap. */
static uint32_t ticket_slot(admission *a)
{
    if (a->ticket_free) {
        uint32_t i = a->ticket_free - 1;
        a->ticket_free = a->tickets[i].next_free;
        return i;
    }
    uint32_t all = (uint32_t)a->cfg.max_conns + (uint32_t)(a->cfg.reserve > 0 ? a->cfg.reserve : 0);
    uint32_t max = all < TICKET_INDEX_MASK ? all : TICKET_INDEX_MASK;
    if (a->ntickets >= max)
        return UINT32_MAX;
    if (a->ntickets == a->ticket_cap) {
        uint32_t cap = a->ticket_cap ? 2 * a->ticket_cap : 64;
        if (cap > max)
            cap = max;
        admission_ticket *t = realloc(a->tickets, cap * sizeof *t);
        if (!t)
            return UINT32_MAX;
        a->tickets = t;
        a->ticket_cap = cap;
    }
    a->tickets[a->ntickets] = (admission_ticket){.gen = 1};
    return a->ntickets++;
}

/* Past a cap: a reserve ticket for an approved address, while any is left. */
static uint32_t accept_reserve(admission *a, const char *ip)
{
    if (a->reserved >= a->cfg.reserve || !a->cfg.reserve_ok || !a->cfg.reserve_ok(a->cfg.reserve_user, ip))
        return 0;
    uint32_t i = ticket_slot(a);
    if (i == UINT32_MAX)
        return 0;
    admission_ticket *t = &a->tickets[i];
    ip_key(ip, t->ip);
    t->used = 1;
    t->reserve = 1;
    a->reserved++;
    return t->gen << TICKET_INDEX_BITS | (i + 1);
}

uint32_t admission_accept(admission *a, const char *ip, int *reason)
{
    ip = ip ? ip : "";
    int r = admission_check_caps(a, ip);
    uint32_t i = r == ADMIT_OK ? ticket_slot(a) : UINT32_MAX;
    if (r == ADMIT_OK && i == UINT32_MAX)
        r = REF_MAX_CONNS;
    if (r == ADMIT_OK && admission_add(a, ip) < 0) {
        a->tickets[i].next_free = a->ticket_free;
        a->ticket_free = i + 1;
        r = REF_MAX_CONNS;
    }
    if (r != ADMIT_OK) {
        *reason = r;
        return accept_reserve(a, ip);
    }
    admission_ticket *t = &a->tickets[i];
    ip_key(ip, t->ip);
    t->used = 1;
    t->reserve = 0;
    *reason = ADMIT_OK;
    return t->gen << TICKET_INDEX_BITS | (i + 1);
}

static admission_ticket *ticket_of(const admission *a, uint32_t ticket)
{
    uint32_t i = (ticket & TICKET_INDEX_MASK);
    if (i == 0 || i > a->ntickets)
        return NULL;
    admission_ticket *t = &a->tickets[i - 1];
    return t->used && t->gen == ticket >> TICKET_INDEX_BITS ? t : NULL;
}

int admission_is_reserve(const admission *a, uint32_t ticket)
{
    const admission_ticket *t = ticket_of(a, ticket);
    return t && t->reserve;
}

int admission_release(admission *a, uint32_t ticket)
{
    admission_ticket *t = ticket_of(a, ticket);
    if (!t)
        return 0;
    uint32_t i = (uint32_t)(t - a->tickets) + 1;
    if (t->reserve)
        a->reserved--;
    else
        admission_remove(a, t->ip);
    t->used = 0;
    t->gen = (t->gen + 1) & ((1u << (32 - TICKET_INDEX_BITS)) - 1);
    t->next_free = a->ticket_free;
    a->ticket_free = i;
    return 1;
}
