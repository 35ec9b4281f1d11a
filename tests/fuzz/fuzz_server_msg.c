/* fuzz_server_msg: the client's side of server->client messages.
 *
 * The fuzz input is a sequence of messages (framing: fuzz_common.h) fed to
 * one cl_client with cl_receive, the way the browser and the bots do,
 * interleaved with input pushes, input and chat writes, view updates and
 * reads of the reliable events. Each message also goes straight to
 * proto_welcome_read, proto_snapshot_header_read, proto_event_read (the
 * events section after the header) and proto_snapshot_body_read (the body
 * after the section), full and against the client's newest snapshot as
 * baseline. A record with FZ_SRV_WRITE_INPUT also offers its bytes to
 * cl_write_chat as a chat line.
 *
 * An empty record with FZ_SRV_VIEW is a dropped connection
 * (cl_disconnected), after which the client writes its JOIN.
 *
 * Checks: a WELCOME, header or event that decodes re-encodes to the same
 * bytes; a body that decodes re-encodes against the same baseline to a
 * canonical body of the same state (match state included); cl_receive
 * leaves the client untouched (but for its byte counters) when it rejects
 * a message, and rejects every snapshot between a drop and the next
 * WELCOME; a snapshot it takes has a readable events section, continues
 * the client's event sequence (but the first section after a WELCOME) and
 * queues each new event once, in seq order; a resumed WELCOME for the same
 * player keeps the input seqs, any other WELCOME starts them at 1; the
 * server's DISCONNECTED flag never reaches the prediction; at most
 * CL_MAX_UNACKED inputs wait; an INPUT the client writes is one the server
 * accepts (its event_ack the client's newest event, its views within its
 * ack_tick), and none is written while disconnected; a CHAT it writes is
 * clean UTF-8 the server reads; the JOIN carries the token and the newest
 * resume token. Bit 6 of the config byte makes the client a spectator
 * (cl_set_spectate): it takes only a spectator WELCOME, holds no resume
 * token, has no own entity and writes no INPUT or CHAT, and its JOIN is a
 * spectate JOIN. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "client.h"
#include "fuzz_common.h"
#include "proto.h"

static cl_client client, before;
static const char TOKEN[] = "fuzz-Token_42";
static uint32_t last_read_seq; /* the seq of the last event the app read */

/* ---- decoders on their own ------------------------------------------------ */

static void check_welcome_decode(const uint8_t *buf, size_t len)
{
    proto_welcome w;
    if (proto_welcome_read(buf, len, &w) != PROTO_OK)
        return;
    static uint8_t out[PROTO_MAX_WELCOME];
    size_t n = proto_welcome_write(&w, out, sizeof out);
    FZ_CHECK(n == len && memcmp(out, buf, len) == 0);
}

/* Decodes the events section at msg[10..], then the rest as a body, full
 * and against the client's newest snapshot, and round-trips whatever
 * decodes. */
static void check_body_decode(const uint8_t *buf, size_t len, uint16_t tick_rate)
{
    static proto_snapshot out;
    static proto_names names;
    proto_snapshot_header h;
    int header_ok = proto_snapshot_header_read(buf, len, &h) == PROTO_OK;
    if (header_ok) {
        uint8_t again[PROTO_SNAPSHOT_HEADER_SIZE];
        FZ_CHECK(proto_snapshot_header_write(&h, again, sizeof again) == PROTO_SNAPSHOT_HEADER_SIZE);
        FZ_CHECK(memcmp(again, buf, PROTO_SNAPSHOT_HEADER_SIZE) == 0);
    }
    if (len < PROTO_SNAPSHOT_HEADER_SIZE)
        return;
    uint32_t count, first;
    size_t elen;
    if (fz_events_section(buf + PROTO_SNAPSHOT_HEADER_SIZE, len - PROTO_SNAPSHOT_HEADER_SIZE, &count, &first,
                          &elen) != PROTO_OK)
        return;
    const uint8_t *body = buf + PROTO_SNAPSHOT_HEADER_SIZE + elen;
    size_t blen = len - PROTO_SNAPSHOT_HEADER_SIZE - elen;

    names = client.names;
    out.tick = header_ok ? h.tick : 1;
    if (proto_snapshot_body_read(NULL, &out, &names, tick_rate, body, blen) == PROTO_OK)
        fz_check_body_round_trip(NULL, &out, &names, tick_rate);

    const proto_snapshot *base = cl_latest(&client);
    if (!base)
        return;
    /* A baseline is 1..255 ticks old (the header's u8 delta). */
    uint32_t dt = header_ok && h.baseline_tick ? h.tick - h.baseline_tick : 1u + buf[len - 1] % 255u;
    names = client.names;
    out.tick = base->tick + dt;
    if (proto_snapshot_body_read(base, &out, &names, tick_rate, body, blen) == PROTO_OK)
        fz_check_body_round_trip(base, &out, &names, tick_rate);
}

/* ---- the client ------------------------------------------------------------ */

static void check_events_taken(const uint8_t *buf, size_t len);

static const proto_snapshot *ring_find(const cl_client *c, uint32_t tick)
{
    for (int i = 0; i < CL_RING; i++)
        if (tick && c->ring_tick[i] == tick)
            return cl_slot(c, i);
    return NULL;
}

static void receive(const uint8_t *buf, size_t len, double now_ms)
{
    memcpy(&before, &client, sizeof client);
    int r = cl_receive(&client, buf, len, now_ms);
    /* Disconnected: nothing but a WELCOME gets in. */
    FZ_CHECK(before.joined || r < 0 || r == PROTO_WELCOME);
    if (r < 0) {
        /* Rejected: nothing but the download counters moved. */
        FZ_CHECK(client.stats.msgs_down == before.stats.msgs_down + 1);
        memcpy(&before.stats, &client.stats, sizeof client.stats);
        FZ_CHECK(memcmp(&before, &client, sizeof client) == 0);
        return;
    }
    if (r == PROTO_WELCOME) {
        proto_welcome w;
        FZ_CHECK(proto_welcome_read(buf, len, &w) == PROTO_OK);
        FZ_CHECK(client.joined && client.welcome.player_id == w.player_id &&
                 client.welcome.tick_rate == w.tick_rate && client.snap_interval >= 1);
        FZ_CHECK(w.spectator == client.spectate);
        FZ_CHECK(client.have_resume == !w.spectator);
        FZ_CHECK(w.spectator || memcmp(client.resume, w.resume, PROTO_RESUME_LEN) == 0);
        if (w.resumed && before.have_resume && w.player_id == before.welcome.player_id &&
            w.match_id == before.welcome.match_id) {
            /* The same player: its inputs go on. */
            FZ_CHECK(client.next_seq == before.next_seq && client.last_input_seq == before.last_input_seq &&
                     client.max_sent_seq == before.max_sent_seq);
        } else {
            FZ_CHECK(client.next_seq == 1 && client.last_input_seq == 0 && client.sent_seq == 0 &&
                     client.max_sent_seq == 0 && !client.have_self);
            last_read_seq = 0; /* another player: its events may be another sequence */
        }
        /* The next section of events may start anywhere. */
        FZ_CHECK(!client.events_synced);
        return;
    }
    FZ_CHECK(r == PROTO_SNAPSHOT);
    proto_snapshot_header h;
    FZ_CHECK(proto_snapshot_header_read(buf, len, &h) == PROTO_OK);
    const proto_snapshot *got = cl_latest(&client);
    const proto_snapshot *prev = cl_latest(&before);
    FZ_CHECK(got->tick == h.tick && (!prev || prev->tick < got->tick));
    const proto_snapshot *base = NULL;
    if (h.baseline_tick) {
        base = ring_find(&before, h.baseline_tick);
        FZ_CHECK(base != NULL);
    }
    fz_check_body_round_trip(base, got, &client.names, client.welcome.tick_rate);
    FZ_CHECK(!client.have_self || !(client.predicted.flags & SIM_FLAG_DISCONNECTED));
    FZ_CHECK(!client.spectate || !client.have_self);
    FZ_CHECK(h.last_input_seq <= client.max_sent_seq);
    check_events_taken(buf, len);
}

/* A snapshot was taken: its events continue the client's sequence (the
 * first section after a WELCOME may start anywhere), every seq past the
 * newest is queued once, the newest is the section's last or stays. */
static void check_events_taken(const uint8_t *buf, size_t len)
{
    uint32_t count, first;
    size_t elen;
    FZ_CHECK(fz_events_section(buf + PROTO_SNAPSHOT_HEADER_SIZE, len - PROTO_SNAPSHOT_HEADER_SIZE, &count, &first,
                               &elen) == PROTO_OK);
    if (count == 0) {
        FZ_CHECK(client.event_seq == before.event_seq && client.events_synced == before.events_synced &&
                 client.stats.events == before.stats.events);
        return;
    }
    uint32_t last = first + count - 1;
    FZ_CHECK(!before.events_synced || first <= before.event_seq + 1);
    FZ_CHECK(client.events_synced);
    uint32_t from = first - 1 > before.event_seq ? first - 1 : before.event_seq; /* newest before the new ones */
    uint32_t newest = last > before.event_seq ? last : before.event_seq;
    FZ_CHECK(client.event_seq == newest);
    FZ_CHECK(client.stats.events - before.stats.events == newest - from);
}

/* The app reads the events: in seq order, each once, every one readable. */
static void read_events(void)
{
    proto_event ev;
    int n = 0;
    while (cl_next_event(&client, &ev)) {
        FZ_CHECK(++n <= CL_EVENT_QUEUE);
        FZ_CHECK(ev.seq > last_read_seq && ev.seq <= client.event_seq);
        last_read_seq = ev.seq;
        uint8_t buf[PROTO_MAX_EVENT];
        FZ_CHECK(proto_event_write(&ev, buf, sizeof buf) > 0);
    }
    FZ_CHECK(client.ev_count == 0);
}

/* The connection dropped: the client keeps its player and writes a JOIN
 * with its token and resume token. */
static void disconnect(void)
{
    uint32_t next = client.next_seq, acked = client.last_input_seq;
    cl_disconnected(&client);
    FZ_CHECK(!client.joined && cl_latest(&client) == NULL);
    FZ_CHECK(client.next_seq == next && client.last_input_seq == acked && client.sent_seq == acked);
    uint8_t buf[PROTO_MAX_JOIN_MSG];
    size_t n = cl_write_join(&client, buf, sizeof buf);
    proto_join j;
    FZ_CHECK(n > 0 && proto_join_read(buf, n, &j) == PROTO_OK);
    FZ_CHECK(strcmp(j.token, TOKEN) == 0 && j.has_resume == client.have_resume);
    FZ_CHECK(j.mode == (client.spectate ? PROTO_MODE_SPECTATE : PROTO_MODE_PLAY));
    FZ_CHECK(!j.has_resume || memcmp(j.resume, client.resume, PROTO_RESUME_LEN) == 0);
}

static void write_input(void)
{
    uint8_t buf[PROTO_MAX_CLIENT_MSG];
    uint32_t sent = client.sent_seq;
    size_t n = cl_write_input(&client, buf, sizeof buf);
    FZ_CHECK(client.joined || n == 0);
    FZ_CHECK(!client.spectate || n == 0);
    if (n == 0)
        return;
    proto_input_msg m;
    FZ_CHECK(proto_input_read(buf, n, &m) == PROTO_OK);
    const proto_snapshot *latest = cl_latest(&client);
    FZ_CHECK(m.ack_tick == (latest ? latest->tick : 0));
    FZ_CHECK(m.event_ack == client.event_seq);
    /* No gap: the server accepts it after everything sent before. */
    FZ_CHECK(m.first_seq <= sent + 1 && m.first_seq + m.count - 1 == client.sent_seq);
    /* A view is of a snapshot the client has: at most the ack, none
     * without one. */
    for (int i = 0; i < m.count; i++) {
        FZ_CHECK(m.in[i].view_tick <= m.ack_tick);
        FZ_CHECK(m.in[i].view_tick || !m.in[i].view_frac);
    }
}

/* The record's bytes as a chat line: what the client writes, if anything,
 * is a CHAT the server reads, with clean text. */
static void write_chat(const uint8_t *msg, size_t len)
{
    if (len > PROTO_MAX_CHAT_BYTES)
        return;
    uint8_t buf[3 + PROTO_MAX_CHAT_BYTES];
    size_t n = cl_write_chat(&client, (const char *)msg, len, buf, sizeof buf);
    if (n == 0)
        return;
    FZ_CHECK(client.joined && !client.spectate && proto_utf8_valid(msg, len, NULL));
    static char text[PROTO_MAX_CHAT_BYTES + 1];
    size_t tlen;
    FZ_CHECK(proto_chat_read(buf, n, text, &tlen) == PROTO_OK);
    FZ_CHECK(tlen > 0 && tlen <= len && proto_chat_clean(text, tlen) == tlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    cl_init(&client);
    client.predict = data[0] & 1;
    client.reconcile = (data[0] >> 1) & 1;
    client.interpolate = (data[0] >> 2) & 1;
    client.redundancy = (uint8_t)((data[0] >> 3) & 7);
    cl_set_token(&client, TOKEN);
    if (data[0] & 0x40)
        cl_set_spectate(&client, PROTO_MATCH_ANY);
    last_read_seq = 0;
    double now_ms = 0.0;
    size_t pos = 1;
    while (pos + 2 <= size) {
        unsigned v = data[pos] | (unsigned)data[pos + 1] << 8;
        pos += 2;
        size_t len = v & FZ_SRV_MAX_MSG;
        int actions = (int)(v >> 13);
        if (len > size - pos)
            len = size - pos;
        const uint8_t *msg = data + pos;
        pos += len;
        now_ms += 16.5;

        if (len == 0 && (actions & FZ_SRV_VIEW))
            disconnect();
        for (int k = 0; (actions & FZ_SRV_PUSH_INPUT) && k < fz_srv_push_count(len); k++) {
            uint8_t buttons;
            uint16_t aim;
            fz_srv_input_for(msg, len, k, &buttons, &aim);
            uint32_t seq = cl_push_input(&client, buttons, aim, now_ms);
            FZ_CHECK(seq == 0 || seq + 1 == client.next_seq);
            FZ_CHECK(!client.spectate || seq == 0);
            FZ_CHECK(client.next_seq - 1 - client.last_input_seq <= CL_MAX_UNACKED);
        }
        check_welcome_decode(msg, len);
        check_body_decode(msg, len, client.joined ? client.welcome.tick_rate : 60);
        receive(msg, len, now_ms);
        if (actions & FZ_SRV_VIEW) {
            cl_view_ent view[PROTO_MAX_ENTITIES];
            int n = cl_view(&client, now_ms, view, PROTO_MAX_ENTITIES);
            FZ_CHECK(n >= 0 && n <= PROTO_MAX_ENTITIES);
            read_events();
        }
        if (actions & FZ_SRV_WRITE_INPUT) {
            write_input();
            write_chat(msg, len);
        }
    }
    return 0;
}
