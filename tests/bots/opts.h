/* opts: the command line of tickwire-bots. Every flag takes its value as
 * the next argument or after '='; numbers are range-checked; unknown flags
 * and bad values are errors the caller prints with the usage (exit 2).
 *
 * The URL is parsed here, not by lws, because name lookup would block the
 * event loop: a host name is looked up once, at start (opts_resolve), and
 * every bot connects to that address (IPv4 preferred). The name stays in
 * the Host header and, over wss://, for SNI and the certificate check
 * (mbedTLS 2.28 matches only DNS names, not IP addresses, in a certificate:
 * a certificate checked with --ca wants wss://localhost, not 127.0.0.1).
 * The page URL the server prints is taken too: http:// is ws://, https://
 * is wss://, same host, port and path. Over wss:// without --ca or
 * --insecure, the system's trust store is used (opts_system_ca). */
#ifndef TW_BOTS_OPTS_H
#define TW_BOTS_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "behavior.h"
#include "verdict.h"

/* chaos: how a bot's connection is dropped; --chaos-drop picks a set, each
 * drop is one kind of the set, evenly. */
typedef enum drop_kind {
    DROP_CLOSE,    /* a close frame that is not a leave (4000 "chaos drop"): held, resumed */
    DROP_RESET,    /* the socket shut down without a close frame: a lost link */
    DROP_TAKEOVER, /* a new connection resumes while the old one is still open */
    DROP_LEAVE,    /* the player leaves (1000): its slot is freed; back later as a new player */
    DROP_KINDS
} drop_kind;
#define DROP_ALL ((1u << DROP_KINDS) - 1)

typedef struct bots_opts {
    const char *url;
    char host[64];           /* numeric, without brackets: where to connect */
    char name[256];          /* the URL's host as given (a name, or the address) */
    char host_header[288];   /* "host:port" for the Host header (and, over TLS, SNI) */
    int port;
    int tls;                 /* wss:// */
    const char *ca_path;     /* --ca: trust this CA or certificate (PEM); wss without --ca
                                or --insecure: the system's trust store */
    int insecure;            /* --insecure: accept any certificate */
    const char *token_secret_file; /* mint join tokens; NULL: POST /api/join (demo) */
    const char *matchmaker_token_file; /* a fleet: POST /api/matchmake with this bearer token */
    int backoff_base_ms, backoff_max_ms; /* chaos: reconnect backoff, full jitter */
    unsigned chaos_drops;    /* set of drop kinds, bit (1 << drop_kind) */
    int max_connecting;      /* connection attempts in flight at once */
    char path[128];
    int bots;
    int spectators;          /* spectator connections next to the bots */
    int spectate_match;      /* the match they watch, PROTO_MATCH_ANY (0xffff) = any */
    double duration_s;       /* whole run, ramp included */
    double ramp_s;           /* connects spread over this long */
    behavior_kind behavior;
    int input_rate;          /* messages per second; 0 = the tick rate */
    int phases;              /* the bots' ticks spread over this many slots of a tick */
    int input_timing;        /* --input-timing: 1 each bot moves to the slot cl_plan_send names */
    int read_every_ms;       /* --read-every: 0 read as messages arrive, else every this many ms */
    double chaos_prob;       /* chaos: chance per bot per second of a reconnect */
    int latency_ms;          /* added one-way delay per WebSocket message, each direction */
    int jitter_ms;           /* plus uniform 0..jitter_ms per message, order kept */
    int transport;           /* --transport: 0 ws, 1 http (the HTTP fallback), 2 auto (ws, then http) */
    const char *report_path; /* NULL: no JSON */
    const char *html_path;   /* NULL: no HTML */
    uint64_t seed;
    verdict_targets targets; /* --target NAME=VALUE */
    int fail_on_miss;        /* --fail-on-miss: exit 3 when the verdict fails */
} bots_opts;

enum { OPTS_OK = 0, OPTS_HELP = 1, OPTS_ERROR = -1 };

/* Fills `o` from argv (defaults first). Returns OPTS_OK, OPTS_HELP, or
 * OPTS_ERROR with the reason in err. */
int opts_parse(int argc, char **argv, bots_opts *o, char *err, size_t errlen);

/* ws://, wss://, http:// or https://HOST[:PORT][/PATH] into o: scheme
 * (https and wss are TLS), name, port (default 80 or 443), path (default
 * "/"), Host header; o->host is the address when HOST is numeric, else ""
 * (opts_resolve fills it). No lookup. Returns 0, or -1 with the reason in
 * err. */
int opts_split_url(const char *url, bots_opts *o, char *err, size_t errlen);
/* Looks up o->name when o->host is empty (getaddrinfo: blocks; call before
 * the event loop), IPv4 first. Returns 0, or -1 with the reason in err. */
int opts_resolve(bots_opts *o, char *err, size_t errlen);
/* opts_split_url, then opts_resolve. */
int opts_parse_url(const char *url, bots_opts *o, char *err, size_t errlen);
/* The system's CA bundle (Debian's ca-certificates, or where other systems
 * keep theirs), NULL when there is none. */
const char *opts_system_ca(void);

void opts_usage(FILE *out, const char *prog);
/* --read-every as run (0: each message as it arrives). */
int opts_read_every_ms(const bots_opts *o);

/* "mix" (all kinds) or a comma-separated list of kind names. Returns 0 and
 * the set, or -1. */
int drop_kinds_parse(const char *list, unsigned *out);
const char *drop_kind_name(drop_kind k);
/* The set as "close,reset,...", or "mix" for all of them. */
void drop_kinds_format(unsigned set, char *out, size_t cap);

#endif
