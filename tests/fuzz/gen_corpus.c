/* gen_corpus: writes the seed corpus of the fuzz targets, tests/fuzz/corpus/
 * <target>/, from the real writers: a real match's WELCOME, full and delta
 * snapshots (with players joining, moving and leaving, and their events),
 * snapshots with every kind of event and a changing match state, JOIN,
 * INPUT (with views and event acks) and CHAT messages, and map texts. Deterministic; the output is committed, so this
 * only runs when the wire format or the framing (fuzz_common.h) changes:
 *
 *   cmake --build build --target fuzz_corpus
 *
 * Usage: gen_corpus <corpus dir> <assets/arena.map> */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bits.h"
#include "client.h"
#include "fuzz_common.h"
#include "map.h"
#include "match.h"
#include "proto.h"
#include "token.h"

static const char *corpus_dir;

/* A growing byte buffer for one seed file. */
typedef struct seed {
    uint8_t b[16384];
    size_t n;
} seed;

static void put(seed *s, const void *p, size_t n)
{
    if (s->n + n > sizeof s->b) {
        fprintf(stderr, "gen_corpus: seed too large\n");
        exit(1);
    }
    if (n)
        memcpy(s->b + s->n, p, n);
    s->n += n;
}

static void put_u8(seed *s, uint8_t v)
{
    put(s, &v, 1);
}

static void save(const char *target, const char *name, const void *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", corpus_dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen_corpus: mkdir %s: %s\n", path, strerror(errno));
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", corpus_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "gen_corpus: cannot write %s\n", path);
        exit(1);
    }
}

/* ---- fuzz_client_msg ---------------------------------------------------- */

/* Mirrors the config byte of fuzz_client_msg.c's create_match. */
static uint8_t cli_cfg(int rate_idx, int half_snapshots, int size, int npcs, int grace)
{
    return (uint8_t)(rate_idx | (half_snapshots ? 4 : 0) | ((size - 1) << 3) | (npcs << 5) |
                     (grace ? FZ_CLI_CFG_GRACE : 0));
}

static void cli_msg(seed *s, int session, const uint8_t *msg, size_t n)
{
    uint8_t h[3];
    put(s, h, fz_cli_msg_header(h, session, n));
    put(s, msg, n);
}

/* A JOIN with a join token, and the resume token of the k-th new player
 * of the run (k < 0: none). */
static void cli_join(seed *s, int session, const char *token, int k)
{
    uint8_t b[PROTO_MAX_JOIN_MSG], resume[PROTO_RESUME_LEN];
    if (k >= 0)
        fz_cli_resume_token((uint32_t)k, resume);
    size_t n = proto_join_write(token, k >= 0 ? resume : NULL, b, sizeof b);
    if (n == 0) {
        fprintf(stderr, "gen_corpus: bad JOIN '%s'\n", token);
        exit(1);
    }
    cli_msg(s, session, b, n);
}

/* A spectate JOIN for match_id (PROTO_MATCH_ANY: any). */
static void cli_spectate(seed *s, int session, const char *token, uint16_t match_id)
{
    uint8_t b[PROTO_MAX_JOIN_MSG];
    size_t n = proto_join_spectate_write(token, match_id, b, sizeof b);
    if (n == 0) {
        fprintf(stderr, "gen_corpus: bad spectate JOIN '%s'\n", token);
        exit(1);
    }
    cli_msg(s, session, b, n);
}

/* An INPUT acknowledging snapshot `ack` and event `event_ack`; its inputs
 * were made looking at the others two ticks before the ack (every other
 * one: no view yet). */
static void cli_input_ev(seed *s, int session, uint32_t ack, uint32_t event_ack, uint32_t first, int count,
                         uint8_t buttons)
{
    proto_input_msg m;
    memset(&m, 0, sizeof m);
    m.ack_tick = ack;
    m.event_ack = event_ack;
    m.first_seq = first;
    m.count = (uint8_t)count;
    for (int i = 0; i < count; i++) {
        m.in[i].buttons = (uint8_t)(buttons ^ (i & 1 ? SIM_BTN_FIRE : 0));
        m.in[i].aim = (uint16_t)(first * 1000 + (uint32_t)i);
        if (ack && !(i & 1)) {
            m.in[i].view_tick = ack > 2 ? ack - 2 : ack;
            m.in[i].view_frac = (uint8_t)(i * 40 + 17);
        }
    }
    uint8_t b[PROTO_MAX_CLIENT_MSG];
    cli_msg(s, session, b, proto_input_write(&m, b, sizeof b));
}

static void cli_input(seed *s, int session, uint32_t ack, uint32_t first, int count, uint8_t buttons)
{
    cli_input_ev(s, session, ack, 0, first, count, buttons);
}

/* A CHAT of these bytes, whatever they are (the writer would refuse some). */
static void cli_chat(seed *s, int session, const void *text, size_t len)
{
    static uint8_t b[3 + 2 * PROTO_MAX_CHAT_BYTES];
    b[0] = PROTO_CHAT;
    b[1] = (uint8_t)len;
    b[2] = (uint8_t)(len >> 8);
    memcpy(b + 3, text, len);
    cli_msg(s, session, b, 3 + len);
}

static void cli_ticks(seed *s, int ticks, int skip_mask)
{
    while (ticks > 0) {
        int t = ticks > 8 ? 8 : ticks;
        put_u8(s, fz_cli_tick_header(t, skip_mask));
        ticks -= t;
    }
}

static void gen_client_msg(void)
{
    const char *T = "fuzz_client_msg";
    seed s;

    /* 60 Hz, 30 Hz snapshots (every 2 ticks), 4 slots, 1 npc: two players
     * join, send inputs acking the snapshots they got, one falls behind. */
    s.n = 0;
    put_u8(&s, cli_cfg(3, 1, 4, 1, 0));
    cli_join(&s, 0, "alice", -1);
    cli_ticks(&s, 2, 0);                       /* snapshot tick 2 */
    cli_input(&s, 0, 2, 1, 2, SIM_BTN_RIGHT);
    cli_join(&s, 1, "bob", -1);
    cli_ticks(&s, 2, 0);                       /* tick 4, delta for alice */
    cli_input(&s, 0, 4, 3, 2, SIM_BTN_DOWN | SIM_BTN_RIGHT);
    cli_input(&s, 1, 4, 1, 3, SIM_BTN_LEFT);
    cli_ticks(&s, 4, 2);                       /* bob skips ticks 6 and 8 */
    cli_input(&s, 0, 8, 4, 4, SIM_BTN_UP);     /* repeats seq 4 */
    cli_input(&s, 1, 4, 4, 8, SIM_BTN_UP | SIM_BTN_FIRE);
    cli_ticks(&s, 8, 0);
    cli_input(&s, 1, 16, 12, 1, 0);
    cli_ticks(&s, 2, 0);
    save(T, "two_players", s.b, s.n);

    /* Spectators (60 Hz, 2 slots, 1 npc): one before any match (4012),
     * then alice plays, one watches any, one watches match 1; they get
     * their views; one sends an INPUT (4011), the other a JOIN for match 9
     * on a fresh connection (4012). */
    s.n = 0;
    put_u8(&s, cli_cfg(3, 0, 2, 1, 0));
    cli_spectate(&s, 1, "early", PROTO_MATCH_ANY);
    cli_join(&s, 0, "alice", -1);
    cli_ticks(&s, 2, 0);
    cli_spectate(&s, 1, "fan", PROTO_MATCH_ANY);
    cli_spectate(&s, 2, "fan2", 1);
    cli_ticks(&s, 8, 0);
    cli_input(&s, 0, 8, 1, 4, SIM_BTN_RIGHT | SIM_BTN_FIRE);
    cli_ticks(&s, 8, 2);
    cli_ticks(&s, 8, 0);
    cli_input(&s, 1, 8, 1, 1, SIM_BTN_UP);
    cli_ticks(&s, 2, 0);
    cli_spectate(&s, 1, "lost", 9);
    cli_ticks(&s, 2, 0);
    save(T, "spectators", s.b, s.n);

    /* 20 Hz, 10 Hz snapshots, 2 slots: a third session is refused (full),
     * the first breaks the protocol (seq gap), leaves, and rejoins. */
    s.n = 0;
    put_u8(&s, cli_cfg(1, 1, 2, 0, 0));
    cli_join(&s, 0, "ann", -1);
    cli_join(&s, 1, "bo", -1);
    cli_join(&s, 2, "cy", -1);
    cli_ticks(&s, 2, 0);
    cli_input(&s, 0, 2, 1, 1, SIM_BTN_DOWN);
    cli_input(&s, 0, 2, 5, 1, SIM_BTN_DOWN);   /* gap: closed */
    cli_join(&s, 2, "cy", -1);                 /* takes the freed slot */
    cli_ticks(&s, 4, 0);
    cli_input(&s, 2, 6, 1, 2, SIM_BTN_LEFT | SIM_BTN_UP);
    cli_input(&s, 1, 99, 1, 1, 0);             /* ack never sent: closed */
    cli_ticks(&s, 2, 0);
    save(T, "full_and_rejoin", s.b, s.n);

    /* 10 Hz, one slot: a long run of inputs, more than the buffer holds
     * (MATCH_INPUT_BUF 64); the name is the token's first 16 characters. */
    s.n = 0;
    put_u8(&s, cli_cfg(0, 0, 1, 0, 0));
    cli_join(&s, 0, "zed-the-long-name", -1);
    for (uint32_t seq = 1; seq < 80; seq += 8)
        cli_input(&s, 0, 0, seq, 8, (uint8_t)(seq & SIM_BTN_ALL));
    cli_ticks(&s, 8, 0);
    cli_input(&s, 0, 8, 81, 1, 0);
    cli_ticks(&s, 3, 0);
    save(T, "input_overflow", s.b, s.n);

    /* Single messages: a JOIN, an INPUT before any JOIN, a JOIN with
     * neither a token nor a resume token and then an empty message. */
    s.n = 0;
    put_u8(&s, cli_cfg(2, 0, 3, 2, 0));
    cli_join(&s, 0, "bob", -1);
    save(T, "join", s.b, s.n);
    s.n = 0;
    put_u8(&s, cli_cfg(2, 0, 3, 2, 0));
    cli_input(&s, 0, 0, 1, 1, SIM_BTN_FIRE);
    save(T, "input_first", s.b, s.n);
    s.n = 0;
    put_u8(&s, cli_cfg(3, 0, 4, 0, 0));
    static const uint8_t neither[] = {PROTO_JOIN, PROTO_VERSION, 0, 0, 0};
    cli_msg(&s, 2, neither, sizeof neither);
    cli_msg(&s, 2, NULL, 0);
    save(T, "neither_token_then_empty_msg", s.b, s.n);

    /* Resume (players held 6 ticks): alice drops (an empty message closes
     * the session), is held for 2 ticks (DISCONNECTED, not advancing),
     * comes back with her resume token alone, gets a full snapshot and
     * goes on with seq 5. 60 Hz, a snapshot every tick, 3 slots, 1 npc. */
    s.n = 0;
    put_u8(&s, cli_cfg(3, 0, 3, 1, 1));
    cli_join(&s, 0, "alice", -1);              /* new player 0 */
    cli_ticks(&s, 2, 0);                       /* snapshots 1, 2 */
    cli_input(&s, 0, 2, 1, 4, SIM_BTN_RIGHT);
    cli_ticks(&s, 1, 0);                       /* 3 */
    cli_msg(&s, 0, NULL, 0);                   /* dropped: held */
    cli_ticks(&s, 2, 0);                       /* 4, 5: held */
    cli_join(&s, 0, "", 0);                    /* resume */
    cli_input(&s, 0, 0, 5, 4, SIM_BTN_DOWN);
    cli_ticks(&s, 2, 0);                       /* 6 (full), 7 */
    cli_input(&s, 0, 7, 9, 2, SIM_BTN_LEFT);
    cli_ticks(&s, 3, 0);
    save(T, "resume_after_drop", s.b, s.n);

    /* Takeover: bob's old connection is still open when his resume token
     * arrives on another one (with a token too); the new one plays on, the
     * old one's next message is a new connection's (INPUT first: closed). */
    s.n = 0;
    put_u8(&s, cli_cfg(2, 1, 4, 0, 1));
    cli_join(&s, 0, "ann", -1);                /* new player 0 */
    cli_join(&s, 1, "bob", -1);                /* new player 1 */
    cli_ticks(&s, 2, 0);                       /* snapshot 2 */
    cli_input(&s, 1, 2, 1, 3, SIM_BTN_UP);
    cli_join(&s, 2, "bob-again", 1);           /* takes over bob */
    cli_input(&s, 2, 0, 4, 2, SIM_BTN_UP | SIM_BTN_LEFT);
    cli_ticks(&s, 4, 0);
    cli_input(&s, 1, 2, 4, 1, 0);              /* the old connection */
    cli_input(&s, 2, 6, 6, 1, SIM_BTN_FIRE);
    cli_ticks(&s, 2, 0);
    save(T, "resume_takeover", s.b, s.n);

    /* The hold runs out (6 ticks): a resume token alone is refused, with a
     * join token it is a new player. */
    s.n = 0;
    put_u8(&s, cli_cfg(1, 0, 2, 0, 1));
    cli_join(&s, 0, "cy", -1);                 /* new player 0 */
    cli_ticks(&s, 1, 0);
    cli_input(&s, 0, 1, 1, 2, SIM_BTN_RIGHT);
    cli_input(&s, 0, 1, 3, 1, 0x20);           /* bad buttons: closed, held */
    cli_ticks(&s, 8, 0);                       /* hold expires */
    cli_join(&s, 0, "", 0);                    /* resume expired */
    cli_join(&s, 0, "cy2", 0);                 /* new player 1 */
    cli_ticks(&s, 2, 0);
    cli_input(&s, 0, 11, 1, 1, SIM_BTN_DOWN);  /* acks the snapshot of tick 11 */
    cli_ticks(&s, 1, 0);
    save(T, "hold_expires", s.b, s.n);

    /* Without a grace a dropped player leaves at once: its resume token
     * names nobody. */
    s.n = 0;
    put_u8(&s, cli_cfg(3, 0, 2, 0, 0));
    cli_join(&s, 0, "dee", -1);
    cli_ticks(&s, 1, 0);
    cli_msg(&s, 0, NULL, 0);
    cli_join(&s, 1, "", 0);                    /* nobody: closed */
    cli_ticks(&s, 1, 0);
    save(T, "no_grace_resume", s.b, s.n);

    /* Sizes: the longest JOIN (200-character token + resume token, 220
     * bytes, an unknown resume token: a new player), a 257-byte message
     * before the join (too large), token_len 201, and after the join a
     * 513-byte message (over the 512 of a joined session). */
    s.n = 0;
    put_u8(&s, cli_cfg(3, 0, 4, 0, 1));
    char tok[PROTO_MAX_TOKEN + 1];
    for (int i = 0; i < PROTO_MAX_TOKEN; i++)
        tok[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[(i * 5) % 64];
    tok[PROTO_MAX_TOKEN] = '\0';
    cli_join(&s, 0, tok, 7);
    static uint8_t big[PROTO_MAX_CLIENT_MSG + 1];
    size_t bn = proto_join_write(tok, NULL, big, sizeof big);
    memset(big + bn - 1, 'A', sizeof big - bn);
    big[2] = 255;
    cli_msg(&s, 1, big, PROTO_MAX_JOIN_MSG + 1);
    bn = proto_join_write(tok, NULL, big, sizeof big);
    memmove(big + 4, big + 3, bn - 3);
    big[2] = PROTO_MAX_TOKEN + 1;
    big[3] = 'Q';
    cli_msg(&s, 2, big, bn + 1);
    cli_join(&s, 2, "ok", -1);
    cli_ticks(&s, 1, 0);
    memset(big, 0, PROTO_MAX_CLIENT_MSG + 1);
    big[0] = PROTO_INPUT;
    cli_msg(&s, 2, big, PROTO_MAX_CLIENT_MSG + 1);
    cli_ticks(&s, 1, 0);
    save(T, "join_sizes", s.b, s.n);

    /* Chat: two players (the round starts: 2 are in), lines in ASCII and
     * with multi-byte characters, one with control characters (cleaned),
     * one with nothing but (ignored), an empty one; inputs acknowledging
     * the events; then a line that is not UTF-8 (1007), and after a rejoin
     * one of 121 code points (1009). 30 Hz, a snapshot every tick. */
    static const char ole[] = "ol\xc3\xa9 \xf0\x9f\x99\x82"; /* "olé 🙂" */
    s.n = 0;
    put_u8(&s, cli_cfg(2, 0, 3, 0, 0));
    cli_join(&s, 0, "alice", -1);
    cli_join(&s, 1, "bob", -1);
    cli_ticks(&s, 2, 0);
    cli_chat(&s, 0, "gg", 2);
    cli_chat(&s, 1, ole, sizeof ole - 1);
    cli_chat(&s, 0, "a\tb\x1b[31mc\xc2\x85" "d\x7f", 13);
    cli_chat(&s, 1, "\r\n\x00", 3);
    cli_chat(&s, 1, "", 0);
    cli_ticks(&s, 1, 0);
    cli_input_ev(&s, 0, 3, 1, 1, 2, SIM_BTN_FIRE);
    cli_input_ev(&s, 1, 3, 2, 1, 2, SIM_BTN_LEFT | SIM_BTN_FIRE);
    cli_ticks(&s, 2, 0);
    cli_chat(&s, 0, "ok \xed\xa0\x80", 6);       /* a surrogate: 1007 */
    cli_join(&s, 0, "alice2", -1);
    static char longer[121 * 4];
    for (int i = 0; i < 121; i++)
        memcpy(longer + 4 * i, "\xf0\x9f\x99\x82", 4);
    cli_chat(&s, 0, longer, 4 * 120);             /* 120 code points: fine */
    cli_chat(&s, 0, longer, 4 * 121);             /* 121: 1009 */
    cli_ticks(&s, 2, 0);
    save(T, "chat", s.b, s.n);

    /* A chat flood: 5 lines get through at once, then 1 a second; 10
     * dropped in a row close with 4010. 60 Hz, one slot. */
    s.n = 0;
    put_u8(&s, cli_cfg(3, 0, 1, 0, 0));
    cli_join(&s, 0, "chatty", -1);
    cli_ticks(&s, 1, 0);
    for (int i = 0; i < 8; i++) {
        char line[16];
        int n = snprintf(line, sizeof line, "line %d", i);
        cli_chat(&s, 0, line, (size_t)n);
    }
    cli_ticks(&s, 8, 0);
    for (int t = 0; t < 8; t++)
        cli_ticks(&s, 8, 0);                      /* a second: one more line */
    for (int i = 0; i < 12; i++)
        cli_chat(&s, 0, "spam", 4);
    cli_ticks(&s, 1, 0);
    save(T, "chat_flood", s.b, s.n);

    /* Event acks: one never sent (1002); views: 7 back with fraction 255,
     * at the ack, and none with a fraction (1002). */
    s.n = 0;
    put_u8(&s, cli_cfg(2, 0, 2, 1, 0));
    cli_join(&s, 0, "eve", -1);
    cli_ticks(&s, 8, 0);
    cli_input_ev(&s, 0, 8, 2, 1, 3, SIM_BTN_UP);
    cli_input_ev(&s, 0, 8, 1000, 4, 1, 0);        /* never sent: closed */
    cli_join(&s, 1, "fay", -1);                  /* eve was the last person: a new match */
    cli_ticks(&s, 8, 0);
    {
        uint8_t b[PROTO_MAX_CLIENT_MSG];
        proto_input_msg m;
        memset(&m, 0, sizeof m);
        m.ack_tick = 8;
        m.event_ack = 1;
        m.first_seq = 1;
        m.count = 2;
        m.in[0] = (sim_input){.buttons = SIM_BTN_FIRE, .aim = 100, .view_tick = 1, .view_frac = 255};
        m.in[1] = (sim_input){.buttons = SIM_BTN_FIRE, .aim = 200, .view_tick = 8, .view_frac = 128};
        size_t n = proto_input_write(&m, b, sizeof b);
        cli_msg(&s, 1, b, n);
        m.first_seq = 3;
        m.count = 1;
        n = proto_input_write(&m, b, sizeof b);
        b[17] = 255; /* no view, but a fraction: 1002 */
        b[18] = 1;
        cli_msg(&s, 1, b, n);
    }
    cli_ticks(&s, 2, 0);
    save(T, "event_ack_and_views", s.b, s.n);
}

/* ---- fuzz_server_msg ---------------------------------------------------- */

static void srv_record(seed *s, const uint8_t *msg, size_t n, int actions)
{
    uint8_t h[2];
    fz_srv_record_header(h, n, actions);
    put(s, h, 2);
    put(s, msg, n);
}

/* Ticks the match to its next snapshot. */
static void tick_to_snapshot(match *m)
{
    while (!match_tick(m))
        ;
}

/* Does what fuzz_server_msg does with a record, on a real client, and
 * hands what the client writes to the match: so the seed's snapshots only
 * acknowledge inputs the fuzzer's client will have sent. */
static void client_mirror(cl_client *cl, match *m, int me, const uint8_t *msg, size_t n, int actions)
{
    if (n == 0 && (actions & FZ_SRV_VIEW))
        cl_disconnected(cl);
    for (int k = 0; (actions & FZ_SRV_PUSH_INPUT) && k < fz_srv_push_count(n); k++) {
        uint8_t buttons;
        uint16_t aim;
        fz_srv_input_for(msg, n, k, &buttons, &aim);
        cl_push_input(cl, buttons, aim, 0.0);
    }
    int type = n ? cl_receive(cl, msg, n, 0.0) : 0;
    if (type < 0) {
        fprintf(stderr, "gen_corpus: client refused a message: %s\n", proto_err_str(type));
        exit(1);
    }
    uint8_t buf[PROTO_MAX_CLIENT_MSG];
    size_t k = actions & FZ_SRV_WRITE_INPUT ? cl_write_input(cl, buf, sizeof buf) : 0;
    proto_input_msg in;
    const char *why = "undecodable";
    if (k && (proto_input_read(buf, k, &in) != PROTO_OK || match_player_input(m, me, &in, &why))) {
        fprintf(stderr, "gen_corpus: input refused: %s\n", why);
        exit(1);
    }
}

/* A SNAPSHOT: header, the events (from seq first), the body of cur
 * against base (NULL: full). */
static size_t srv_snapshot(uint8_t *buf, size_t cap, uint32_t tick, const proto_snapshot *base,
                           const proto_snapshot *cur, const proto_names *names, uint32_t first,
                           const proto_event *evs, int nev)
{
    proto_snapshot_header h = {tick, base ? base->tick : 0, 0};
    size_t n = proto_snapshot_header_write(&h, buf, cap);
    n += proto_events_header_write((uint8_t)nev, first, buf + n, cap - n);
    for (int i = 0; i < nev; i++) {
        size_t e = proto_event_write(&evs[i], buf + n, cap - n);
        if (e == 0) {
            fprintf(stderr, "gen_corpus: bad event %d\n", i);
            exit(1);
        }
        n += e;
    }
    size_t b = proto_snapshot_body_write(base, cur, names, 60, buf + n, cap - n);
    if (b == 0) {
        fprintf(stderr, "gen_corpus: bad body\n");
        exit(1);
    }
    return n + b;
}

/* Every kind of event, in hand-made snapshots: repeats of events already
 * received, a round that starts, a kill (and the EXT fields it changes),
 * a chat line with multi-byte characters, a leave, a round that ends (the
 * match state with it); a drop and a resumed WELCOME, after which the
 * events may start anywhere; then a section that skips seqs (refused) and
 * one that goes on. 60 Hz, a snapshot every tick, player 0. */
static void gen_server_events(const sim_map *map)
{
    static uint8_t welcome[PROTO_MAX_WELCOME], msg[PROTO_MAX_SNAPSHOT];
    static proto_snapshot s0, s1, s2, s3, s4, s5;
    static proto_names names;
    proto_welcome w;
    memset(&w, 0, sizeof w);
    w.player_id = 0;
    w.tick_rate = 60;
    w.snapshot_rate = 60;
    w.max_players = 8;
    w.server_tick = 9;
    w.match_id = 3;
    w.map = *map;
    memset(w.resume, 0x5e, sizeof w.resume);
    size_t nw = proto_welcome_write(&w, welcome, sizeof welcome);
    seed s;
    s.n = 0;
    put_u8(&s, 0x07 | (1 << 3));
    srv_record(&s, welcome, nw, 0);

    memset(&names, 0, sizeof names);
    strcpy(names.name[0], "me");
    strcpy(names.name[1], "rival");
    memset(&s0, 0, sizeof s0);
    s0.tick = 10;
    s0.ms = (proto_match_state){PROTO_PHASE_WARMUP, 2, 0, 25, 0};
    s0.present[0] = s0.present[1] = 1;
    s0.gen[0] = s0.gen[1] = 1;
    s0.ent[0] = (sim_netent){.x = 3200, .y = 3200, .health = 100};
    s0.ent[1] = (sim_netent){.x = 6400, .y = 3200, .aim = 0x8000, .health = 100, .life = 1};
    const proto_event e0[2] = {
        {.type = PROTO_EV_JOIN, .player = 1, .len = 5, .text = "rival"},
        {.type = PROTO_EV_JOIN, .player = 0, .len = 2, .text = "me"},
    };
    size_t n = srv_snapshot(msg, sizeof msg, 10, NULL, &s0, &names, 5, e0, 2);
    srv_record(&s, msg, n, FZ_SRV_PUSH_INPUT | FZ_SRV_WRITE_INPUT);

    /* The round starts (the client has not acknowledged 5 and 6 yet). */
    s1 = s0;
    s1.tick = 11;
    s1.ms = (proto_match_state){PROTO_PHASE_LIVE, 2, 1, 25, 18011};
    s1.ent[1].x = 6390;
    s1.ent[1].vx = -160;
    const proto_event e1[3] = {e0[0], e0[1], {.type = PROTO_EV_ROUND_START, .round = 1}};
    n = srv_snapshot(msg, sizeof msg, 11, &s0, &s1, &names, 5, e1, 3);
    srv_record(&s, msg, n, FZ_SRV_VIEW | FZ_SRV_WRITE_INPUT);

    /* 0 shoots 1 (four hits, the last kills), 1 says something. */
    s2 = s1;
    s2.tick = 12;
    s2.ent[0].flags = SIM_FLAG_FIRING | SIM_FLAG_SHOT;
    s2.ent[0].kills = s2.ent[0].score = 1;
    s2.ent[0].hits = 4;
    s2.ent[1].flags = SIM_FLAG_DEAD;
    s2.ent[1].health = 0;
    s2.ent[1].vx = 0;
    s2.ent[1].deaths = 1;
    const proto_event e2[3] = {
        {.type = PROTO_EV_ROUND_START, .round = 1},
        {.type = PROTO_EV_KILL, .player = 0, .other = 1},
        {.type = PROTO_EV_CHAT, .player = 1, .len = 9, .text = "ol\xc3\xa9 \xf0\x9f\x99\x82"},
    };
    n = srv_snapshot(msg, sizeof msg, 12, &s1, &s2, &names, 7, e2, 3);
    srv_record(&s, msg, n, FZ_SRV_PUSH_INPUT | FZ_SRV_WRITE_INPUT | FZ_SRV_VIEW);

    /* 1 leaves, the round ends (nobody else left: interrupted, 0 won). */
    s3 = s2;
    s3.tick = 13;
    s3.present[1] = 0;
    s3.ms = (proto_match_state){PROTO_PHASE_ENDED, 2, 1, 25, 613};
    const proto_event e3[3] = {
        e2[2],
        {.type = PROTO_EV_LEAVE, .player = 1},
        {.type = PROTO_EV_ROUND_END, .round = 1, .reason = PROTO_END_INTERRUPTED, .other = 0},
    };
    n = srv_snapshot(msg, sizeof msg, 13, &s2, &s3, &names, 9, e3, 3);
    srv_record(&s, msg, n, FZ_SRV_VIEW | FZ_SRV_WRITE_INPUT);

    /* The connection drops; the player is resumed much later: events
     * 12..29 left the server's log, the next section starts at 30. */
    srv_record(&s, NULL, 0, FZ_SRV_VIEW);
    w.resumed = 1;
    w.server_tick = 199;
    memset(w.resume, 0x6f, sizeof w.resume);
    nw = proto_welcome_write(&w, welcome, sizeof welcome);
    srv_record(&s, welcome, nw, FZ_SRV_WRITE_INPUT);
    strcpy(names.name[2], "new");
    s4 = s3;
    s4.tick = 200;
    s4.ms = (proto_match_state){PROTO_PHASE_WARMUP, 2, 1, 25, 0};
    s4.present[2] = 1;
    s4.gen[2] = 1;
    s4.ent[2] = (sim_netent){.x = 100, .y = 200, .health = 100};
    const proto_event e4[1] = {{.type = PROTO_EV_JOIN, .player = 2, .len = 3, .text = "new"}};
    n = srv_snapshot(msg, sizeof msg, 200, NULL, &s4, &names, 30, e4, 1);
    srv_record(&s, msg, n, FZ_SRV_PUSH_INPUT | FZ_SRV_WRITE_INPUT);

    /* A section that skips 31..39: refused. Then 31, the next round. */
    s5 = s4;
    s5.tick = 201;
    s5.ms = (proto_match_state){PROTO_PHASE_LIVE, 2, 2, 25, 18201};
    const proto_event e5[1] = {{.type = PROTO_EV_ROUND_START, .round = 2}};
    n = srv_snapshot(msg, sizeof msg, 201, &s4, &s5, &names, 40, e5, 1);
    srv_record(&s, msg, n, FZ_SRV_VIEW);
    n = srv_snapshot(msg, sizeof msg, 201, &s4, &s5, &names, 31, e5, 1);
    srv_record(&s, msg, n, FZ_SRV_VIEW | FZ_SRV_PUSH_INPUT | FZ_SRV_WRITE_INPUT);
    save("fuzz_server_msg", "events", s.b, s.n);
}

static void gen_server_msg(const sim_map *map)
{
    const char *T = "fuzz_server_msg";
    match_config cfg = {.tick_rate = 60, .snapshot_rate = 30, .size = 8, .npcs = 3, .seed = 42};
    match *m = match_create(7, map, &cfg);
    if (!m) {
        fprintf(stderr, "gen_corpus: out of memory\n");
        exit(1);
    }
    static uint8_t msg[PROTO_MAX_SNAPSHOT];
    static uint8_t welcome[PROTO_MAX_WELCOME], full[PROTO_MAX_SNAPSHOT], delta[PROTO_MAX_SNAPSHOT];
    size_t nwelcome, nfull = 0, ndelta = 0, n;
    int is_full;
    seed s;
    s.n = 0;
    put_u8(&s, 0x07 | (2 << 3)); /* predict, reconcile, interpolate; redundancy 2 */
    static cl_client cl;
    cl_init(&cl);
    cl.redundancy = 2;

    for (int i = 0; i < 5; i++)
        tick_to_snapshot(m);
    static const uint8_t resume_alice[PROTO_RESUME_LEN] = "alice's resume!";
    static const uint8_t resume_bob[PROTO_RESUME_LEN] = "bob's resume :-";
    int me = match_player_join(m, "alice", 0, resume_alice);
    nwelcome = match_welcome(m, me, 0, welcome, sizeof welcome);
    srv_record(&s, welcome, nwelcome, 0);
    client_mirror(&cl, m, me, welcome, nwelcome, 0);
    match_cursor conn = {0, 0}; /* the first connection */
    for (int i = 0; i < 14; i++) {
        if (i == 4 && match_player_join(m, "bob", 0, resume_bob) < 0) /* an ADD in a delta */
            exit(1);
        if (i == 8)
            match_player_leave(m, 0); /* npc-1 leaves: a REMOVE */
        tick_to_snapshot(m);
        n = match_snapshot(m, me, &conn, msg, sizeof msg, &is_full);
        if (n == 0) {
            fprintf(stderr, "gen_corpus: no snapshot\n");
            exit(1);
        }
        if (is_full && !nfull)
            memcpy(full, msg, nfull = n);
        if (!is_full && !ndelta)
            memcpy(delta, msg, ndelta = n);
        int actions = i % 4 == 3 ? FZ_SRV_VIEW : FZ_SRV_PUSH_INPUT | FZ_SRV_WRITE_INPUT;
        if (i == 10)
            actions |= FZ_SRV_VIEW;
        srv_record(&s, msg, n, actions);
        client_mirror(&cl, m, me, msg, n, actions);
    }
    save(T, "session", s.b, s.n);

    /* The session goes on: the connection drops (a record of 0 bytes with
     * the view action); alice is held and bob drops too (DISCONNECTED in
     * the snapshots the client will get); inputs pushed offline are not
     * sent; the resumed WELCOME keeps the seqs, the client's next INPUT
     * resends from its last acked seq (the match accepts it: no gap), the
     * next snapshot is full. */
    srv_record(&s, NULL, 0, FZ_SRV_VIEW);
    client_mirror(&cl, m, me, NULL, 0, FZ_SRV_VIEW);
    match_player_hold(m, me, 600);
    int bob = match_player_find(m, resume_bob);
    if (bob < 0)
        exit(1);
    match_player_hold(m, bob, 600);
    for (int i = 0; i < 6; i++) {
        if (i % 2)
            tick_to_snapshot(m);
        srv_record(&s, NULL, 0, FZ_SRV_PUSH_INPUT | FZ_SRV_WRITE_INPUT);
        client_mirror(&cl, m, me, NULL, 0, FZ_SRV_PUSH_INPUT | FZ_SRV_WRITE_INPUT);
    }
    match_player_resume(m, me, 0);
    n = match_welcome(m, me, 1, msg, sizeof msg);
    srv_record(&s, msg, n, FZ_SRV_WRITE_INPUT);
    client_mirror(&cl, m, me, msg, n, FZ_SRV_WRITE_INPUT);
    conn = (match_cursor){0, 0}; /* the resumed connection has been written nothing */
    for (int i = 0; i < 8; i++) {
        tick_to_snapshot(m);
        n = match_snapshot(m, me, &conn, msg, sizeof msg, &is_full);
        if (n == 0 || (i == 0) != is_full) {
            fprintf(stderr, "gen_corpus: resumed snapshot %d: full %d\n", i, is_full);
            exit(1);
        }
        int actions = i % 3 == 2 ? FZ_SRV_VIEW : FZ_SRV_PUSH_INPUT | FZ_SRV_WRITE_INPUT;
        srv_record(&s, msg, n, actions);
        client_mirror(&cl, m, me, msg, n, actions);
    }
    save(T, "session_resume", s.b, s.n);

    /* And once more, but the hold runs out: the next WELCOME is a new
     * player's (not resumed), and the client starts over at seq 1. */
    srv_record(&s, NULL, 0, FZ_SRV_VIEW | FZ_SRV_PUSH_INPUT);
    client_mirror(&cl, m, me, NULL, 0, FZ_SRV_VIEW | FZ_SRV_PUSH_INPUT);
    match_player_hold(m, me, 3);
    tick_to_snapshot(m);
    tick_to_snapshot(m);
    if (m->players[me].used) {
        fprintf(stderr, "gen_corpus: hold did not expire\n");
        exit(1);
    }
    static const uint8_t resume_alice2[PROTO_RESUME_LEN] = "alice, 2nd life";
    me = match_player_join(m, "alice", 0, resume_alice2);
    n = match_welcome(m, me, 0, msg, sizeof msg);
    conn = (match_cursor){0, 0}; /* a new connection: its first snapshot is full */
    srv_record(&s, msg, n, FZ_SRV_PUSH_INPUT | FZ_SRV_WRITE_INPUT);
    client_mirror(&cl, m, me, msg, n, FZ_SRV_PUSH_INPUT | FZ_SRV_WRITE_INPUT);
    for (int i = 0; i < 4; i++) {
        tick_to_snapshot(m);
        n = match_snapshot(m, me, &conn, msg, sizeof msg, &is_full);
        srv_record(&s, msg, n, FZ_SRV_PUSH_INPUT | FZ_SRV_WRITE_INPUT | FZ_SRV_VIEW);
        client_mirror(&cl, m, me, msg, n, FZ_SRV_PUSH_INPUT | FZ_SRV_WRITE_INPUT | FZ_SRV_VIEW);
    }
    if (cl.next_seq > 20) {
        fprintf(stderr, "gen_corpus: the new player did not start over\n");
        exit(1);
    }
    save(T, "session_new_player", s.b, s.n);

    /* The messages on their own: WELCOME, WELCOME + full (+ delta), and a
     * delta alone (refused by the client; the direct decoders see it). */
    s.n = 0;
    put_u8(&s, 0x07);
    srv_record(&s, welcome, nwelcome, 0);
    save(T, "welcome", s.b, s.n);
    s.n = 0;
    put_u8(&s, 0x07);
    srv_record(&s, welcome, nwelcome, 0);
    srv_record(&s, full, nfull, FZ_SRV_VIEW);
    save(T, "welcome_full", s.b, s.n);
    s.n = 0;
    put_u8(&s, 0x00);
    srv_record(&s, delta, ndelta, 0);
    save(T, "delta_alone", s.b, s.n);
    s.n = 0;
    put_u8(&s, 0x07);
    srv_record(&s, welcome, nwelcome, 0);
    srv_record(&s, full, nfull, FZ_SRV_PUSH_INPUT | FZ_SRV_WRITE_INPUT);
    srv_record(&s, delta, ndelta, FZ_SRV_VIEW);
    save(T, "welcome_full_delta", s.b, s.n);

    /* Regression (found by fuzz_server_msg): a snapshot acknowledging input
     * 2^32 - 1, never sent, made the client's next INPUT start at seq 0
     * (with redundancy on); the client now refuses such a snapshot. */
    static proto_snapshot none;
    static proto_names no_names;
    proto_snapshot_header lying = {match_latest_snapshot_tick(m) + 2, 0, UINT32_MAX};
    size_t hl0 = proto_snapshot_header_write(&lying, msg, sizeof msg);
    hl0 += proto_events_header_write(0, 0, msg + hl0, sizeof msg - hl0);
    n = hl0 + proto_snapshot_body_write(NULL, &none, &no_names, 60, msg + hl0, sizeof msg - hl0);
    s.n = 0;
    put_u8(&s, 0x07 | (1 << 3));
    srv_record(&s, welcome, nwelcome, 0);
    srv_record(&s, msg, n, FZ_SRV_PUSH_INPUT | FZ_SRV_WRITE_INPUT);
    save(T, "regress_ack_unsent_input", s.b, s.n);

    /* docs/PROTOCOL.md section 12: the worked delta example. */
    static const uint8_t example[] = {
        0x82, 0x67, 0x00, 0x00, 0x00, 0x03, 0x2a, 0x00, 0x00, 0x00, 0x03, 0x29, 0x00, 0x00, 0x00, 0x01, 0x02,
        0x00, 0x02, 0x07, 0x04, 0x01, 0x00, 0x05, 0x03, 0x04, 0x00, 0x09, 0x64, 0x65, 0x65, 0x05, 0x00, 0x20,
        0xa0, 0x02, 0x0e, 0x28, 0x0b, 0x92, 0xcc, 0xb4, 0x00, 0x17, 0x01, 0x80, 0x84, 0x0a, 0xa0, 0x0f, 0xc8,
        0x00, 0x00, 0x00, 0xec, 0x1f, 0x00, 0x00, 0x80, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x60, 0x90, 0x95, 0x95, 0x01,
    };
    /* Its baseline (tick 100: ann, bo, eve, cy, LIVE round 3) as a full
     * snapshot carrying events 38..40, after a WELCOME at 60 Hz for player
     * 2 (bo), so the client decodes it and the example's events (41..43)
     * continue its sequence. */
    proto_welcome w;
    memset(&w, 0, sizeof w);
    w.player_id = 2;
    w.tick_rate = 60;
    w.snapshot_rate = 20;
    w.max_players = 16;
    w.server_tick = 97;
    w.match_id = 1;
    w.map = *map;
    nwelcome = proto_welcome_write(&w, welcome, sizeof welcome);
    static proto_snapshot base;
    static proto_names names;
    memset(&base, 0, sizeof base);
    memset(&names, 0, sizeof names);
    base.tick = 100;
    base.ms = (proto_match_state){PROTO_PHASE_LIVE, 2, 3, 25, 18100};
    static const struct { int id; const char *name; sim_netent e; } ents[] = {
        {0, "ann", {.x = 1024, .y = 512, .vx = 4800, .aim = 0x4000, .move = SIM_BTN_RIGHT, .health = 100}},
        {2, "bo", {.x = 4800, .y = 4800, .aim = 0xfff0, .health = 100, .life = 1, .kills = 4, .deaths = 2, .score = 4,
                   .hits = 9}},
        {5, "eve", {.x = 8000, .y = 800, .health = 50, .life = 2}},
        {7, "cy", {.x = 16000, .y = 16000, .health = 25, .life = 3, .kills = 1, .deaths = 5, .score = 1, .hits = 6}},
    };
    for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
        base.present[ents[i].id] = 1;
        base.gen[ents[i].id] = 1;
        base.ent[ents[i].id] = ents[i].e;
        snprintf(names.name[ents[i].id], sizeof names.name[0], "%s", ents[i].name);
    }
    const proto_event before_example[3] = {
        {.type = PROTO_EV_ROUND_START, .round = 3},
        {.type = PROTO_EV_JOIN, .player = 5, .len = 3, .text = "eve"},
        {.type = PROTO_EV_CHAT, .player = 0, .len = 2, .text = "hi"},
    };
    nfull = srv_snapshot(full, sizeof full, 100, NULL, &base, &names, 38, before_example, 3);
    s.n = 0;
    put_u8(&s, 0x07);
    srv_record(&s, welcome, nwelcome, 0);
    srv_record(&s, full, nfull, 0);
    /* The example acknowledges input 42: send 42 first (empty messages,
     * refused, carry the push and write actions). */
    for (int i = 0; i < 42; i++)
        srv_record(&s, NULL, 0, FZ_SRV_PUSH_INPUT | FZ_SRV_WRITE_INPUT);
    srv_record(&s, example, sizeof example, FZ_SRV_VIEW | FZ_SRV_WRITE_INPUT);
    save(T, "protocol_md_example", s.b, s.n);

    gen_server_events(map);

    /* docs/PROTOCOL.md section 5.3: the WELCOME example. */
    static const uint8_t welcome_example[] = {
        0x81, PROTO_VERSION, 0x03, 0x00, 0x3c, 0x00, 0x1e, 0x00, 0xd0, 0xc0, 0xb0, 0xa0, 0x02, 0x01, 0x04, 0x04,
        0x00, 0x08, 0x00, 0x04, 0x40, 0x00, 0x01, 0xc0, 0x03, 0xc0, 0x02, 0x40, 0x04, 0x00, 0x03, 0xf0,
        0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f, 0x00,
    };
    /* ... and the spectator WELCOME example (v6). */
    static const uint8_t spectator_welcome[] = {
        0x81, PROTO_VERSION, 0xff, 0xff, 0x3c, 0x00, 0x0a, 0x00, 0xd0, 0xc0, 0xb0, 0xa0, 0x02, 0x01, 0x04, 0x04,
        0x00, 0x08, 0x00, 0x04, 0x40, 0x00, 0x01, 0xc0, 0x03, 0xc0, 0x02, 0x40, 0x04, 0x00, 0x03, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
    };
    s.n = 0;
    put_u8(&s, 0x07);
    srv_record(&s, welcome_example, sizeof welcome_example, FZ_SRV_PUSH_INPUT | FZ_SRV_WRITE_INPUT);
    srv_record(&s, NULL, 0, FZ_SRV_VIEW);
    save(T, "protocol_md_welcome", s.b, s.n);
    /* A spectator client (config bit 6) taking the spectator WELCOME. */
    s.n = 0;
    put_u8(&s, 0x47);
    srv_record(&s, spectator_welcome, sizeof spectator_welcome, FZ_SRV_PUSH_INPUT | FZ_SRV_WRITE_INPUT);
    srv_record(&s, NULL, 0, FZ_SRV_VIEW);
    save(T, "protocol_md_spectator_welcome", s.b, s.n);
    match_destroy(m);
}

/* ---- fuzz_bits -------------------------------------------------------------- */

static void gen_bits(void)
{
    const char *T = "fuzz_bits";
    /* Reads a snapshot body the way proto.c does: count, then id gap
     * (table 0), op, x/y residuals (table 1), velocity (table 2), aim
     * (table 3), flags; then some wide and invalid reads. */
    static const uint8_t ctrl[] = {0x08, 0x40, 0x02, 0x06, 0x41, 0x41, 0x42, 0x43, 0x08,
                                   0x10, 0x20, 0x05, 0x21, 0x80, 0x01, 0x02, 0x03, 0x04, 0xc7};
    static const uint8_t payload[] = {0x04, 0x20, 0xa0, 0x02, 0x0e, 0x28, 0x40, 0xb2, 0x02, 0xe8, 0x03,
                                      0x32, 0x00, 0x00, 0x00, 0xfb, 0x07, 0x00, 0x00, 0x18, 0x64, 0x65};
    seed s;
    s.n = 0;
    put_u8(&s, sizeof ctrl);
    put(&s, ctrl, sizeof ctrl);
    put(&s, payload, sizeof payload);
    save(T, "snapshot_body", s.b, s.n);

    /* Custom class widths (0, 32, 7, 39) and a zigzag of INT32_MIN. */
    static const uint8_t ctrl2[] = {0x44, 0, 32, 7, 39, 0x44, 0, 32, 7, 39, 0x80, 0x00, 0x00, 0x00, 0x80,
                                    0x20, 0xff, 0xe1, 0x00};
    s.n = 0;
    put_u8(&s, sizeof ctrl2);
    put(&s, ctrl2, sizeof ctrl2);
    for (int i = 0; i < 24; i++)
        put_u8(&s, (uint8_t)(i * 37 + 11));
    save(T, "classes_and_limits", s.b, s.n);

    /* A writer-produced stream: every width 0..32 written then read back. */
    uint8_t buf[600];
    bits_writer w;
    bits_writer_init(&w, buf, sizeof buf);
    s.n = 0;
    put_u8(&s, 33);
    for (int n = 0; n <= 32; n++) {
        put_u8(&s, (uint8_t)n);
        bits_write(&w, 0x9e3779b9u >> (32 - (n ? n : 1)), n);
    }
    put(&s, buf, bits_writer_bytes(&w));
    save(T, "all_widths", s.b, s.n);
}

/* ---- fuzz_token ------------------------------------------------------------- */

/* The token's raw bytes without the MAC, for FZ_TOK_RAW seeds. */
static size_t token_unsigned_bytes(const token_claims *c, const uint8_t *key, size_t klen, uint8_t *out)
{
    char text[TOKEN_MAX_B64 + 1];
    size_t n = token_mint(c, key, klen, text, sizeof text);
    uint8_t raw[TOKEN_MAX_BYTES];
    size_t rn = n ? token_b64_decode(text, n, raw, sizeof raw) : 0;
    if (rn <= TOKEN_MAC_LEN) {
        fprintf(stderr, "gen_corpus: cannot mint\n");
        exit(1);
    }
    memcpy(out, raw, rn - TOKEN_MAC_LEN);
    return rn - TOKEN_MAC_LEN;
}

static void tok_seed(const char *name, uint8_t mode, const void *payload, size_t n)
{
    seed s;
    s.n = 0;
    put_u8(&s, mode);
    put(&s, payload, n);
    save("fuzz_token", name, s.b, s.n);
}

static void gen_token(void)
{
    const uint8_t *key = (const uint8_t *)FZ_TOK_SECRET;
    const size_t klen = sizeof FZ_TOK_SECRET - 1;
    /* docs/PROTOCOL.md's example token (same secret): valid at now index
     * 1 (1767225599), expired at index 2 (its expiry), and checked with a
     * wrong key. */
    token_claims c;
    memset(&c, 0, sizeof c);
    c.player_id = 42;
    strcpy(c.name, "alice");
    strcpy(c.match, "duel");
    c.expiry = 1767225600;
    for (int i = 0; i < TOKEN_NONCE_LEN; i++)
        c.nonce[i] = (uint8_t)i;
    char text[TOKEN_MAX_B64 + 1];
    size_t n = token_mint(&c, key, klen, text, sizeof text);
    if (strcmp(text, "ASoAAAAAAAAABWFsaWNlBGR1ZWwAuVVpAAAAAAABAgMEBQYHCAkKCwwNDg_rVw9PjfnwoChYiwPvhaREfeSTf-lWkPV3AlUAN5E4sw") !=
        0) {
        fprintf(stderr, "gen_corpus: the PROTOCOL.md token changed\n");
        exit(1);
    }
    tok_seed("protocol_md_example", 1 << FZ_TOK_NOW_SHIFT, text, n);
    tok_seed("protocol_md_example_expired", 2 << FZ_TOK_NOW_SHIFT, text, n);
    tok_seed("protocol_md_example_wrong_key", FZ_TOK_WRONG_KEY | (5 << 4), text, n);
    uint8_t raw[TOKEN_MAX_BYTES];
    size_t rn = token_unsigned_bytes(&c, key, klen, raw);
    tok_seed("raw_example", FZ_TOK_RAW | (1 << FZ_TOK_NOW_SHIFT), raw, rn);

    /* The longest token (name 16, match 32), valid forever; and raw. */
    memset(&c, 0, sizeof c);
    c.player_id = UINT64_MAX;
    strcpy(c.name, "0123456789abcdef");
    strcpy(c.match, "ffa-0123456789-0123456789-abcdef");
    c.expiry = UINT64_MAX;
    memset(c.nonce, 0xa5, sizeof c.nonce);
    n = token_mint(&c, key, klen, text, sizeof text);
    tok_seed("longest", 0, text, n);
    rn = token_unsigned_bytes(&c, key, klen, raw);
    tok_seed("raw_longest", FZ_TOK_RAW, raw, rn);

    /* A guest token like demo mode's (name "guest-7", no match). */
    memset(&c, 0, sizeof c);
    c.player_id = 7;
    strcpy(c.name, "guest-7");
    c.expiry = 1767225660;
    memset(c.nonce, 0x3c, sizeof c.nonce);
    rn = token_unsigned_bytes(&c, key, klen, raw);
    tok_seed("raw_guest", FZ_TOK_RAW | (1 << FZ_TOK_NOW_SHIFT), raw, rn);
    /* ... with its name_len off by one (malformed behind a valid MAC). */
    raw[9]++;
    tok_seed("raw_guest_bad_name_len", FZ_TOK_RAW, raw, rn);

    /* base64url on its own: RFC 4648's "foobar", a non-canonical last
     * character, the standard alphabet, a length of 1 mod 4. */
    tok_seed("b64_foobar", 0, "Zm9vYmFy", 8);
    tok_seed("b64_noncanonical", 0, "Zm9vYh", 6);
    tok_seed("b64_standard", 0, "+/8=", 4);
    tok_seed("b64_len5", 0, "Zm9vY", 5);
}

/* ---- fuzz_map --------------------------------------------------------------- */

static void gen_map(const char *arena_path)
{
    const char *T = "fuzz_map";
    FILE *f = fopen(arena_path, "rb");
    static char text[16384];
    size_t n = f ? fread(text, 1, sizeof text, f) : 0;
    if (!f || n == 0) {
        fprintf(stderr, "gen_corpus: cannot read %s\n", arena_path);
        exit(1);
    }
    fclose(f);
    save(T, "arena.map", text, n);

    static const char *small[][2] = {
        {"smallest.map", "size 64 64\n"},
        {"crlf.map", "size 128 96\r\nwall 0 0 64 32\r\n# done\r\n"},
        {"wall_before_size.map", "wall 1 2 3 4\nsize 100 100\n"},
        {"bad_wall.map", "size 100 100\nwall 10 10 5 20\n"},
        {"unknown.map", "size 100 100\nportal 1 2\n"},
        {"trailing.map", "size 100 100 7\n"},
        {"no_size.map", "# only a comment\n\n"},
        /* Regression (found by fuzz_map): a second 'size' shrank the arena
         * under an earlier wall; now refused. */
        {"regress_size_twice.map", "size 2048 2048\nwall 704 920 1344 1088\nsize 204 1088\n"},
    };
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++)
        save(T, small[i][0], small[i][1], strlen(small[i][1]));

    /* SIM_MAX_WALLS + 1 walls: the last one is refused. */
    seed s;
    s.n = 0;
    char line[64];
    put(&s, "size 2048 2048\n", 15);
    for (int i = 0; i <= SIM_MAX_WALLS; i++) {
        int len = snprintf(line, sizeof line, "wall %d %d %d %d\n", i * 30, i * 20, i * 30 + 16, i * 20 + 8);
        put(&s, line, (size_t)len);
    }
    save(T, "too_many_walls.map", s.b, s.n);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gen_corpus <corpus dir> <arena.map>\n");
        return 2;
    }
    corpus_dir = argv[1];
    if (mkdir(corpus_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen_corpus: mkdir %s: %s\n", corpus_dir, strerror(errno));
        return 1;
    }
    sim_map map;
    char err[256];
    if (map_load(argv[2], &map, err, sizeof err) != 0) {
        fprintf(stderr, "gen_corpus: %s\n", err);
        return 1;
    }
    gen_client_msg();
    gen_server_msg(&map);
    gen_bits();
    gen_map(argv[2]);
    gen_token();
    return 0;
}
