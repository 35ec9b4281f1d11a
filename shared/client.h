/* client: the client half of the netcode, shared by the browser (wasm) and
 * the headless bots (native). Holds the snapshot ring for delta decoding,
 * predicts the local player with the same sim_player_step the server runs,
 * reconciles when a snapshot says which input was applied last, and
 * interpolates remote players in the past: 2.2 snapshot intervals plus
 * three times the measured arrival jitter (over TCP nothing is lost, so
 * the buffer only has to cover the jitter; Gaffer's "3 intervals plus
 * jitter" is for UDP with loss).
 *
 * Time is a parameter: every call that needs it takes `now_ms` from the
 * caller. No allocation, no I/O: the caller moves bytes on and off the
 * socket. One cl_client is about 60 KiB; make as many as you need. */
#ifndef TW_CLIENT_H
#define TW_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "sim.h"

#define CL_RING PROTO_BASELINE_WINDOW
#define CL_MAX_PENDING 256
/* Most inputs that may wait unacknowledged (also while disconnected, to be
 * sent after a resume): one second at 60 Hz, within the server's buffer. */
#define CL_MAX_UNACKED 60

typedef struct cl_stats {
    uint32_t snapshots;        /* snapshots decoded */
    uint32_t full_snapshots;
    uint32_t corrections;      /* predictions the server disagreed with */
    float last_correction;     /* position error of the last one, world units */
    float max_correction;
    double correction_sum;
    uint64_t bytes_down, bytes_up;
    uint32_t msgs_down, msgs_up;
    float rtt_ms;              /* input -> ack, last sample */
    float rtt_smooth_ms;
    uint32_t rtt_samples;
    uint32_t shots;            /* shots the prediction fired */
    uint32_t screen_hits;      /* ... that hit someone as this client drew them */
    uint32_t server_hits;      /* hits the server credited to this player */
    uint32_t events;           /* reliable events received */
    uint32_t events_lost;      /* skipped by a resync or dropped unread from the queue */
    uint64_t interp_frames;    /* remote players drawn by cl_view */
    uint64_t interp_holds;     /* ... with no snapshot on one side of the render tick (held) */
    float jitter_ms;           /* snapshot arrival jitter, smoothed (RFC 3550 style) */
    float lead_ms;             /* cl_plan_send: how long before the server's tick, as seen here, inputs go out */
    uint32_t inputs_judged;    /* inputs sent when cl_plan_send planned or at their push, whose tick is known (acked) */
    uint32_t inputs_late;      /* ... that missed the tick they were sent for */
    uint32_t lead_rebases;     /* lead_ms moved by whole periods (the route's delay changed, the server stalled) */
    float interp_delay_ticks;  /* how far behind the newest snapshot remote players are drawn */
} cl_stats;

typedef struct cl_pending {
    uint32_t seq;
    sim_input in;
    uint8_t predicted;         /* `after` is valid */
    uint8_t offline;           /* pushed while disconnected: no RTT sample */
    uint8_t fire_cd;           /* weapon cooldown after this input */
    uint32_t target_tick;      /* the tick it was sent for (cl_plan_send's grid), 0: not judged */
    sim_player after;          /* predicted state after this input */
    double sent_ms;
} cl_pending;

/* One entity as the renderer should draw it now. */
typedef struct cl_view_ent {
    float x, y;
    uint16_t id;
    uint16_t aim;
    uint8_t flags;
    uint8_t self;
    uint8_t health;  /* from the snapshot the flags come from */
    uint8_t pad;
} cl_view_ent;

#define CL_EVENT_QUEUE 32  /* events received and not yet read by the app */

typedef struct cl_client cl_client;
struct cl_client {
    /* What every message received reads or writes, together: a process
     * holding thousands of clients (the bots) misses the cache on each
     * line of a client it touches. */
    int joined;
    uint8_t spectate;          /* cl_set_spectate: JOINs ask to watch */
    int head;                  /* index of the newest snapshot, -1 none */
    uint32_t last_input_seq;   /* from the newest snapshot */
    uint32_t next_seq;         /* seq the next input gets (from 1) */
    uint32_t sent_seq;         /* newest seq put in an input message (this connection) */
    uint32_t max_sent_seq;     /* newest seq ever sent */
    uint32_t snap_interval;    /* ticks between snapshots */
    uint32_t event_seq;        /* newest reliable event applied */
    uint8_t events_synced;     /* a snapshot since the WELCOME set event_seq */
    uint16_t last_hits;        /* own hits counter in the newest snapshot */
    int ev_head, ev_count;
    double last_transit_ms;    /* arrival time minus the snapshot's tick time */
    int have_transit;
    /* Input timing (cl_plan_send): the server's tick grid as this client
     * sees it (the least transit over the last one or two windows) and the
     * lead learned from inputs that missed their tick. */
    double grid_ms, grid_cur_ms, grid_prev_ms, grid_window_start_ms;
    int have_grid;
    cl_stats stats;
    /* Optional: reads a snapshot body instead of proto_snapshot_body_read
     * (same contract, same result; `names` is a scratch whose entries
     * matter only for the entities the body adds, those with a new
     * generation, and a reader may fill more). A load generator running
     * many clients of one match shares decodes through it
     * (tests/bots/memo.h). Instead of filling out and names, it may set
     * *shared to a snapshot it keeps and *shared_names to the names of all
     * that snapshot's entities: the client then holds it, read-only, in
     * its ring until it hands it back through body_release (when the slot
     * is reused, at cl_disconnected and at cl_release). */
    int (*body_reader)(void *user, const cl_client *c, const proto_snapshot *base, proto_snapshot *out,
                       proto_names *names, const uint8_t *buf, size_t len, const proto_snapshot **shared,
                       const proto_names **shared_names);
    void (*body_release)(void *user, const proto_snapshot *shared);
    void *body_user;
    /* The app's name for the stream this client decodes: a body_reader may
     * share decodes only between clients with the same key (match ids and
     * ticks repeat across servers). The bots: the server's address. */
    uint64_t body_key;
    /* The snapshots held (cl_slot): slot i is ring_shared[i], a snapshot
     * the body_reader shares (held until body_release), or ring_own[i]
     * when that is NULL. It is empty when ring_tick[i] is 0. */
    const proto_snapshot *ring_shared[CL_RING];
    uint32_t ring_tick[CL_RING]; /* cl_slot(c, i)->tick, found without touching the 3 KB snapshots */
    proto_welcome welcome;
    float dt;
    proto_names names;
    char token[PROTO_MAX_TOKEN + 1]; /* join token for the next JOIN */
    uint16_t spectate_match;   /* ... this match (PROTO_MATCH_ANY: any) */
    uint8_t have_resume;       /* a WELCOME gave a resume token */
    uint8_t resume[PROTO_RESUME_LEN];
    cl_pending pending[CL_MAX_PENDING];
    sim_player predicted;
    int have_self;
    uint8_t fire_cd;           /* the weapon cooldown after the newest input (own inputs only) */

    uint8_t predict, reconcile, interpolate;
    uint8_t redundancy;        /* already-sent unacked inputs to repeat, 0..7 */
    uint8_t fixed_delay;       /* 1: interpolate a fixed 2.2 intervals behind, ignoring jitter (to compare) */

    double lead_ms;
    uint32_t lead_on_time;     /* inputs on time since lead_ms last moved */
    uint32_t lead_guard_seq;   /* inputs up to this seq were sent before lead_ms last moved up */
    uint32_t plan_tick;        /* cl_plan_send: the tick the next input is for, 0 none */
    double plan_lead_ms;       /* ... planned with this lead */
    uint8_t lead_found;        /* an input has been late: lead_ms now creeps down, not walks */
    double render_tick;        /* interpolation clock, in ticks */
    double last_update_ms;
    int have_render_tick;

    proto_event ev_queue[CL_EVENT_QUEUE];
    uint32_t last_shot_seq;    /* the newest input that fired, and whom it hit */
    int last_shot_target;      /* on this client's screen, -1 = a miss */

    /* Last, so that a client whose body_reader shares every snapshot never
     * touches (and never pages in) these 100 KB. */
    proto_snapshot ring_own[CL_RING];
};

/* The snapshot in ring slot i (see ring_tick for whether it holds one). */
static inline const proto_snapshot *cl_slot(const cl_client *c, int i)
{
    return c->ring_shared[i] ? c->ring_shared[i] : &c->ring_own[i];
}

/* Makes c a new client. Call cl_release first on a client that may hold
 * shared snapshots. */
void cl_init(cl_client *c);
/* Hands every shared snapshot back to the body_reader's owner (see
 * body_release); the ring is empty after it. */
void cl_release(cl_client *c);

/* Sets the join token (base64url, from the host's backend or the demo
 * server's POST /api/join) used by the next cl_write_join. */
void cl_set_token(cl_client *c, const char *token);
/* Makes the next JOINs spectate JOINs for `match_id` (PROTO_MATCH_ANY:
 * whichever match the token allows). A spectator (welcome.spectator after
 * its WELCOME) has no entity: it predicts nothing, cl_push_input,
 * cl_write_input and cl_write_chat do nothing (the server closes a
 * spectator that sends anything with 4011), and cl_view interpolates
 * every entity. It never resumes: after a drop it joins again with a new
 * token. */
void cl_set_spectate(cl_client *c, uint16_t match_id);
/* Writes a JOIN with the token and, after a first WELCOME, the resume
 * token (a spectate JOIN after cl_set_spectate). Returns its size, 0 if
 * cap is too small. */
size_t cl_write_join(cl_client *c, uint8_t *buf, size_t cap);
/* 1 once a spectator WELCOME arrived. */
int cl_is_spectator(const cl_client *c);
/* The connection dropped: forget the snapshots (the next one is full) but
 * keep the player's inputs, prediction and resume token. Inputs pushed
 * while disconnected are sent after the resume (up to CL_MAX_UNACKED). */
void cl_disconnected(cl_client *c);

/* Feeds one message from the server. Returns its type (PROTO_WELCOME,
 * PROTO_SNAPSHOT) or a negative proto_err; on error the connection should
 * be closed, the client state is unchanged. */
int cl_receive(cl_client *c, const uint8_t *buf, size_t len, double now_ms);

/* Records the player's input for the next fixed step and predicts it.
 * The input carries the tick the remote players were last drawn at (the
 * latest cl_view), which the server judges its shots against. A predicted
 * shot is checked against the players as drawn: stats.shots and
 * stats.screen_hits, last_shot_seq/last_shot_target.
 * Returns the input's seq, 0 before the first welcome or when
 * CL_MAX_UNACKED inputs are unacknowledged (the caller should wait). */
uint32_t cl_push_input(cl_client *c, uint8_t buttons, uint16_t aim, double now_ms);

/* The next reliable event (kill, chat, join, leave, round start/end) in
 * order. Returns 1 and fills *out, or 0 when none is waiting. */
int cl_next_event(cl_client *c, proto_event *out);
/* Writes a CHAT with the text (control characters removed). Returns 0 when
 * it is empty after that, not UTF-8, over PROTO_MAX_CHAT_CHARS, or the
 * client has not joined. */
size_t cl_write_chat(cl_client *c, const char *text, size_t len, uint8_t *buf, size_t cap);

/* Writes an INPUT message with the inputs not sent yet (up to
 * PROTO_MAX_INPUTS_PER_MSG, oldest first, plus up to `redundancy` unacked
 * ones before them). Returns 0 when nothing is waiting. */
size_t cl_write_input(cl_client *c, uint8_t *buf, size_t cap);
/* For a transport that may lose a message (the HTTP fallback, PROTOCOL.md
 * section 18): the next cl_write_input calls start again at the oldest
 * unacknowledged input, so each request carries every input the server
 * may lack (one or two messages: call cl_write_input until it returns 0
 * or two were written). The server ignores the seqs it already has. */
void cl_resend_unacked(cl_client *c);

/* Input timing: when to send the next input so that it reaches the
 * server just before the tick that applies it, rather than at a random
 * point of the tick period (which costs half a period of waiting on
 * average, and up to a whole one). The server's ticks are on a fixed
 * grid; the client sees it in the snapshots' arrival times (the least of
 * arrival minus tick x period over the last one or two seconds). An input
 * is sent lead_ms before the grid point of its tick; one applied at a
 * later tick than the one it was sent for moves lead_ms up by
 * CL_LEAD_UP_MS, and inputs on time bring it down slowly, so it settles
 * where late inputs are rare. An input two or more snapshots late, or
 * early, means the lead is off by whole periods (a slower or faster
 * route, a server stall): the lead moves by those periods, which keeps
 * the moment of sending within the period where it was.
 * cl_plan_send returns the first send time at or after not_before_ms
 * (not_before_ms itself before the first snapshot) and makes its tick the
 * one the next cl_push_input is judged against: an app that sends later
 * than planned is late, and its lead grows. Without a plan an input is
 * judged against the tick whose send time is next after its push.
 * stats.inputs_judged, stats.inputs_late and stats.lead_ms tell how it
 * goes. */
double cl_plan_send(cl_client *c, double not_before_ms);
#define CL_LEAD_UP_MS 1.0
#define CL_LEAD_WALK_MS 0.25    /* down this much every CL_LEAD_WALK_EVERY inputs on time, before the first late one */
#define CL_LEAD_WALK_EVERY 8
#define CL_LEAD_CREEP_MS 0.05   /* ... and after it, this much every CL_LEAD_CREEP_EVERY */
#define CL_LEAD_CREEP_EVERY 60
#define CL_GRID_WINDOW_MS 1000.0
#define CL_LEAD_MAX_MS 2000.0

/* Advances the interpolation clock and fills `out` with what to draw. */
int cl_view(cl_client *c, double now_ms, cl_view_ent *out, int max);

/* Newest snapshot, or NULL. */
const proto_snapshot *cl_latest(const cl_client *c);
/* Snapshots received and newer than the interpolation point. */
int cl_interp_depth(const cl_client *c);

/* ---- after a close: what to do, and when ----------------------------------
 * The close code decides, never the reason text (that is for people). The
 * values are stable: the browser gets them through tw_close_action. */
typedef enum cl_close_act {
    CL_CLOSE_RETRY = 0,    /* reconnect after cl_backoff_ms, resuming the player if any */
    CL_CLOSE_REJOIN = 1,   /* 4002 resume expired: forget the player, join afresh with a new token, now */
    CL_CLOSE_REFUSED = 2,  /* 4001 token refused: stop; retrying cannot help */
    CL_CLOSE_REPLACED = 3, /* 4003 another connection has the player: stop, or they take it back and forth */
} cl_close_act;

/* What a client does after the server closed with `code` (PROTO_CLOSE_*,
 * a standard code, or 1006 for a drop without a close frame). Every code
 * not named above, known or not, is CL_CLOSE_RETRY. */
cl_close_act cl_close_action(int code);

#define CL_BACKOFF_BASE_MS 250
#define CL_BACKOFF_CAP_MS 8000

/* Reconnect backoff with full jitter: the wait before retry `attempt`
 * (0 = the first retry after a drop) is uniform in
 * [0, min(cap_ms, base_ms * 2^attempt)). `u01` is the caller's random
 * number in [0, 1) (out of range is clamped), so the function is pure and
 * a test can pin it. base_ms / cap_ms 0 mean CL_BACKOFF_BASE_MS /
 * CL_BACKOFF_CAP_MS. O(1), at most 32 doublings. */
uint32_t cl_backoff_ms(int attempt, double u01, uint32_t base_ms, uint32_t cap_ms);

#endif
