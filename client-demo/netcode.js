// netcode.js: the page's side of the tickwire netcode.
//
// Everything that is game logic (decoding snapshots, predicting the local
// player, reconciling with the server, interpolating remote players) runs in
// tickwire.wasm, which is shared/ compiled for the browser: the same C code
// the server and the bots run. This file moves bytes between the WebSocket
// and the wasm module, gets join tokens, keeps the connection up (resuming
// the player after a drop), drives the fixed-timestep input loop and adds
// an optional artificial latency so the effect of each netcode piece can be
// seen. Where the WebSocket upgrade cannot get through, the same bytes go
// over the HTTP fallback (httpfb.js, PROTOCOL.md section 18).

import { HttpConn, probe, encodeFrame, concatBytes, FRAME, WELCOME_DEADLINE_MS, MAX_INPUT_BODY,
         TRANSPORT_LABEL } from './httpfb.js';
export { TRANSPORT_LABEL };

export const BTN = { UP: 1, DOWN: 2, LEFT: 4, RIGHT: 8, FIRE: 16 };
export const FLAG_FIRING = 1;        // SIM_FLAG_FIRING
export const FLAG_DISCONNECTED = 2;  // SIM_FLAG_DISCONNECTED: dropped, slot held for a resume
export const FLAG_SHOT = 4;          // SIM_FLAG_SHOT: the step fired the weapon
export const FLAG_DEAD = 8;          // SIM_FLAG_DEAD: waiting for the respawn
// Round phases (PROTO_PHASE_*), round end reasons (PROTO_END_*) and
// reliable event types (PROTO_EV_*), as tw_match and tw_event give them.
export const PHASE = { WARMUP: 0, LIVE: 1, ENDED: 2 };
export const END_REASON = { 1: 'time', 2: 'score limit', 3: 'interrupted' };
export const EV = { KILL: 1, CHAT: 2, JOIN: 3, LEAVE: 4, ROUND_START: 5, ROUND_END: 6 };
export const NOBODY = 255;
export const MSG_WELCOME = 0x81;
export const MSG_SNAPSHOT = 0x82;
// JOIN's match_id for a spectator: the busiest running match (protocol v6).
export const WATCH_ANY = 0xffff;

// What ?watch= asks for: WATCH_ANY for "any" (or empty), a match id
// 0..0xfffe, or null when the value is not one (the page then plays).
export function parseWatch(value) {
  if (value === null || value === undefined) return null;
  const v = String(value).trim().toLowerCase();
  if (v === '' || v === 'any') return WATCH_ANY;
  if (!/^\d{1,5}$/.test(v)) return null;
  const id = Number(v);
  return id < WATCH_ANY ? id : null;
}

// What to do after a close is decided by the close code alone, in the wasm
// module (cl_close_action in shared/client.c, the same code the bots run);
// the reason text is only shown. Indexed by the cl_close_act value:
//  'retry'    anything else (network drop, server restart, idle, rate
//             limit, server full...): reconnect with backoff, resuming the player
//  'rejoin'   4002 resume expired: get a new token, join as a new player now
//  'refused'  4001 the join token was refused (invalid, expired, already
//             used): trying again cannot help, so no automatic reconnect
//  'replaced' 4003 this player was resumed on another connection (another
//             tab): reconnecting would take it back and forth forever
export const CLOSE_ACTIONS = ['retry', 'rejoin', 'refused', 'replaced'];

// w: the tickwire.wasm exports.
export function closeAction(w, code) {
  return CLOSE_ACTIONS[w.tw_close_action(code | 0)] || 'retry';
}

// Reconnect backoff, exponential with full jitter (cl_backoff_ms): the wait
// before retry number `attempt` (0 = the first retry after a drop) is
// uniform in [0, min(8 s, 250 ms * 2^attempt)), in whole milliseconds.
export function backoffDelay(w, attempt, random = Math.random) {
  return w.tw_backoff_ms(attempt | 0, random());
}

// Order of the doubles tw_stats() returns (client-demo/wasm/tw_wasm.c).
export const tw_stats_names = [
  'snapshots', 'fullSnapshots', 'corrections', 'lastCorrection',
  'maxCorrection', 'correctionSum', 'bytesDown', 'bytesUp',
  'msgsDown', 'msgsUp', 'rttMs', 'rttSmoothMs',
  'interpDepth', 'playerId', 'tickRate', 'snapshotRate',
  'lastInputSeq', 'inputSeq', 'serverTick', 'renderTick',
  'joined', 'matchId', 'resumed', 'haveResume', 'maxSentSeq',
  'shots', 'screenHits', 'serverHits', 'events', 'eventsLost',
  'leadMs', 'inputsJudged', 'inputsLate',
];

// An HTTP fallback session that brings no WELCOME in this long is given
// up (the page retries; it never waits forever).
const HTTP_WELCOME_DEADLINE_MS = 10000;

const PROTO_ERRORS = {
  '-1': 'truncated message', '-2': 'trailing bytes', '-3': 'unexpected message type',
  '-4': 'protocol version', '-5': 'value out of range', '-6': 'unknown baseline',
};

const CLOSE_NAMES = {
  1000: 'closed', 1001: 'server going away', 1002: 'protocol error', 1003: 'unacceptable data',
  1006: 'connection lost', 1008: 'policy violation', 1009: 'message too large', 1011: 'server error',
};

// Loads tickwire.wasm. The server sends it as application/wasm so it can be
// compiled while it downloads; a misconfigured server still works, slower.
export async function loadWasm(url = 'tickwire.wasm') {
  let instance;
  try {
    ({ instance } = await WebAssembly.instantiateStreaming(fetch(url), {}));
  } catch (err) {
    console.warn('tickwire: instantiateStreaming failed, retrying without streaming:', err);
    const bytes = await (await fetch(url)).arrayBuffer();
    ({ instance } = await WebAssembly.instantiate(bytes, {}));
  }
  return instance.exports;
}

// Delivers items in order, each no earlier than `delay` ms after it was
// queued. Latency changes never reorder: an item is never due before the
// one queued ahead of it.
class DelayLine {
  constructor(deliver) {
    this.deliver = deliver;
    this.queue = [];
    this.lastDue = 0;
    this.timer = 0;
  }

  push(item, delay) {
    const now = performance.now();
    if (delay <= 0 && this.queue.length === 0) {
      this.lastDue = now;
      this.deliver(item);
      return;
    }
    const due = Math.max(now + delay, this.lastDue);
    this.lastDue = due;
    this.queue.push({ due, item });
    this.arm();
  }

  arm() {
    if (this.timer || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0].due - performance.now());
    this.timer = setTimeout(() => { this.timer = 0; this.flush(); }, wait);
  }

  flush() {
    const now = performance.now();
    while (this.queue.length && this.queue[0].due <= now + 0.5) {
      this.deliver(this.queue.shift().item);
    }
    this.arm();
  }

  clear() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.queue.length = 0;
    this.lastDue = 0;
  }

  get length() { return this.queue.length; }
}

// Sliding-window rate of a monotonically growing counter, per second.
class Rate {
  constructor(windowMs = 1000) { this.windowMs = windowMs; this.samples = []; }
  sample(now, value) {
    this.samples.push([now, value]);
    while (this.samples.length > 2 && now - this.samples[1][0] >= this.windowMs) this.samples.shift();
  }
  get value() {
    const s = this.samples;
    if (s.length < 2) return 0;
    const dt = s[s.length - 1][0] - s[0][0];
    return dt > 0 ? (s[s.length - 1][1] - s[0][1]) * 1000 / dt : 0;
  }
  reset() { this.samples.length = 0; }
}

const utf8 = new TextDecoder('utf-8');

// A NUL-terminated UTF-8 string in wasm memory.
function cString(w, ptr, max = 256) {
  const mem = new Uint8Array(w.memory.buffer);
  let n = 0;
  while (n < max && mem[ptr + n]) n++;
  return utf8.decode(mem.subarray(ptr, ptr + n));
}

// Reliable events kept for the page between frames (a hidden tab reads
// them late); past this the oldest go.
const MAX_QUEUED_EVENTS = 256;

// http(s) URL of the server a ws(s) URL points at.
export function httpBase(wsUrl) {
  const u = new URL(wsUrl, location.href);
  u.protocol = u.protocol === 'wss:' ? 'https:' : u.protocol === 'ws:' ? 'http:' : u.protocol;
  u.pathname = '/';
  u.search = '';
  u.hash = '';
  return u;
}

class TokenError extends Error {
  constructor(message, retry) { super(message); this.retry = retry; }
}

// Connection states (this.state):
//   idle          nothing yet
//   connecting    first join: getting a token, opening the socket, joining
//                 (retried with backoff; this.attempt counts the tries)
//   joined        playing (a fresh player), or watching (a spectator)
//   reconnecting  the connection dropped: retrying with backoff, resuming
//                 the same player; the local player keeps being predicted
//                 for up to CL_MAX_UNACKED inputs meanwhile
//   resumed       playing again, the same player as before the drop
//   closed        not retrying: left on purpose, or refused (closeInfo says why)
//
// A spectator (connect(url, name, { watch: match id or WATCH_ANY })) joins
// with a spectate JOIN, predicts nothing and sends nothing after its JOIN
// (an INPUT or CHAT would close it with 4011); after a drop it joins
// afresh with a new token (spectators have nothing to resume), showing the
// match as last seen meanwhile.
export class NetClient {
  // exports: the instance exports of tickwire.wasm.
  constructor(exports) {
    this.w = exports;
    this.subprotocol = cString(exports, exports.tw_subprotocol());
    this.protoVersion = exports.tw_proto_version();
    this.maxUnacked = exports.tw_max_unacked();
    this.maxHealth = exports.tw_max_health();
    this.fireIntervalMs = exports.tw_fire_interval_ms();
    this.respawnMs = exports.tw_respawn_ms();
    this.maxChatChars = exports.tw_max_chat_chars();
    this.maxChatBytes = exports.tw_max_chat_bytes();
    // The closes a spectator may get (PROTO_CLOSE_*): retried with backoff
    // like any other (cl_close_action); the page names them.
    this.closeNoSuchMatch = exports.tw_close_no_such_match();
    this.closeSpectatorInput = exports.tw_close_spectator_input();
    this.closeNames = { ...CLOSE_NAMES, [this.closeNoSuchMatch]: 'no such match',
                        [this.closeSpectatorInput]: 'spectators send no input' };
    this.events = [];             // reliable events not yet taken by the page (takeEvents)
    this.url = null;
    this.name = 'guest';
    this.ws = null;
    this.state = 'idle';
    this.closeInfo = '';          // why the last connection ended / why closed
    this.closeCode = 0;           // close code of the last connection (1006: no close frame)
    this.detail = '';             // what the current attempt is doing
    this.latencyMs = 0;           // artificial, each way
    this.options = { predict: true, reconcile: true, interpolate: true, inputTiming: false };
    this.inputTimer = 0;
    this.getInput = () => ({ buttons: 0, aim: 0 });
    this.watch = null;            // match id or WATCH_ANY while watching, else null
    this.onWelcome = null;
    this.onStateChange = null;
    // Join tokens: a host page may hand one in (presetToken); otherwise the
    // demo server's POST /api/join mints one. Each is single-use.
    this.presetToken = null;
    this.token = null;            // { value, expiresAt } not yet used
    this.fetchToken = (name) => this.demoToken(name);
    // A fleet (docs/DEPLOY.md): when the page's server has no demo tokens
    // but answers POST /api/matchmake (--matchmaker-open), the page plays
    // wherever the matchmaker sends it, and goes back to it when that
    // server is gone.
    this.matchmaker = null;       // the matchmaker's http(s) base URL, null: not in a fleet
    this.mmRequest = null;        // the request id of the seat being asked for (kept across retries)
    this.server = '';             // host:port of the game server in use
    // Transport (PROTOCOL.md section 18): WebSocket first; when its upgrade
    // fails or no WELCOME comes within WELCOME_DEADLINE_MS, the HTTP
    // fallback (stream, or long-polling where a probe finds streaming
    // buffered). Once fallen back the page stays on HTTP; an HTTP attempt
    // that fails before its WELCOME makes the next try WebSocket again.
    this.transportPref = 'auto';  // 'auto' | 'ws' | 'http' (?transport=)
    this.useHttp = false;         // the next attempts go over HTTP
    this.httpMode = null;         // 'stream' | 'poll' once probed (kept for the page's life)
    this.probeInfo = null;        // { mode, ms, why } of the probe
    this.fallbackWhy = '';        // 'upgrade' | 'welcome' | 'config': the fallback= of POST /tw/session
    this.fallbackText = '';       // why the page is on HTTP, for people
    this.transport = '';          // of the connection in use: 'ws' | 'http_stream' | 'http_poll'
    this.fallbacks = 0;           // WebSocket attempts given up for HTTP
    this.welcomeTimer = 0;

    // Reconnection bookkeeping.
    this.intentional = false;     // we closed on purpose: never reconnect
    this.attempt = 0;             // connection tries since the drop / the first connect
    this.drops = 0;               // connections lost after a WELCOME
    this.offlineSince = 0;
    this.reconnectAt = 0;         // when the pending retry fires (0: none pending)
    this.reconnectTimer = 0;
    this.gen = 0;                 // bumps to cancel an attempt in flight
    this.sockets = 0;             // WebSockets opened, for tests
    this.lastResume = null;       // { playerId, attempts, offlineMs }
    this.rejoined = '';           // why the last WELCOME was a new player after having one
    this.outageUntil = 0;         // test hook: attempts fail until then
    this.lastView = [];
    this.maxUnackedSeen = 0;

    this.outLine = new DelayLine((bytes) => this.rawSend(bytes));
    this.inLine = new DelayLine(({ ws, bytes }) => { if (ws === this.ws) this.receive(bytes); });
    this.snapRate = new Rate();
    this.downRate = new Rate();
    this.upRate = new Rate();
    this.freshClient();
  }

  // A new cl_client: no player, no resume token, stats from zero.
  freshClient() {
    clearTimeout(this.inputTimer);
    this.inputTimer = 0;
    this.w.tw_init();
    this.applyOptions();
    this.resetCounters();
    this.map = null;
    this.welcome = null;
    this.lastView = [];
    this.snapRate.reset();
    this.downRate.reset();
    this.upRate.reset();
    this.protoError = '';
    this.joinedAt = 0;
    this.events = [];
    this.spectator = false;       // the last WELCOME was a spectator's
  }

  // Per-player counters (a resumed player keeps them).
  resetCounters() {
    this.tickMs = 1000 / 60;
    this.acc = 0;
    this.lastStep = 0;
    this.ticks = 0;               // fixed steps pushed for this player
    this.timedSteps = 0;          // ... made when the input timing timer fired
    this.timerFires = 0;          // input timing timers fired ...
    this.timerLate = 0;           // ... of them over half a tick late
    this.stalls = 0;              // steps skipped because too much was unacked
    this.buttonTicks = { 1: 0, 2: 0, 4: 0, 8: 0, 16: 0 };
    this.maxUnackedSeen = 0;
  }

  get inGame() { return this.state === 'joined' || this.state === 'resumed'; }
  // A player exists that a reconnect would resume (never for a spectator).
  get hasPlayer() { return this.watch === null && this.w.tw_have_resume() === 1; }
  // Was watching before the drop: the retry is a reconnect, not a first join.
  get wasWatching() { return this.watch !== null && this.welcome !== null; }

  setState(s, info = this.closeInfo) {
    this.state = s;
    this.closeInfo = info;
    if (this.onStateChange) this.onStateChange(s, info);
  }

  // opts.watch: a match id or WATCH_ANY to join as a spectator; absent or
  // null to play.
  connect(url, name, opts = {}) {
    this.url = url;
    this.homeUrl = url;           // the page's own server (where a fleet's matchmaker answers)
    this.name = name;
    this.watch = opts.watch === undefined ? null : opts.watch;
    this.intentional = false;
    this.attempt = 0;
    this.freshClient();
    this.setState('connecting', '');
    this.attemptNow();
  }

  // ------------------------------------------------------------ attempts

  attemptNow() {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = 0;
    this.reconnectAt = 0;
    this.tryConnect();
  }

  // One try: a token if there is no player to resume, then the socket and
  // the JOIN. Any failure before the WELCOME ends in attemptFailed().
  async tryConnect() {
    const gen = ++this.gen;
    this.attempt++;
    if (this.watch !== null) {
      // A spectator has nothing to resume: a new cl_client (no snapshots,
      // no events seen) whose JOINs spectate, keeping the last view to show.
      this.w.tw_init();
      this.applyOptions();
      this.w.tw_set_spectate(this.watch);
    }
    const resuming = this.hasPlayer;
    let token = '';
    if (!resuming) {
      this.detail = 'getting a join token';
      try {
        token = await this.takeToken();
      } catch (err) {
        if (gen !== this.gen) return;
        this.attemptFailed(err.message, err.retry ? 'retry' : 'refused');
        return;
      }
      if (gen !== this.gen) return;     // cancelled meanwhile (leave, reconnect now)
    }
    if (performance.now() < this.outageUntil) {
      // Test hook: the network is "down", the socket never opens.
      this.detail = 'opening the connection';
      setTimeout(() => { if (gen === this.gen) this.attemptFailed('network unreachable (simulated)', 'retry'); }, 5);
      return;
    }
    if (this.transportPref === 'http' || (this.useHttp && this.transportPref !== 'ws')) {
      this.openHttp(gen, token, resuming, this.transportPref === 'http' ? 'config' : this.fallbackWhy);
    } else {
      this.openSocket(gen, token, resuming);
    }
  }

  openSocket(gen, token, resuming) {
    this.outLine.clear();
    this.inLine.clear();
    this.detail = 'opening the connection';
    let ws;
    try {
      ws = new WebSocket(this.url, this.subprotocol);
    } catch (err) {
      this.attemptFailed(String(err.message || err), 'refused');
      return;
    }
    this.sockets++;
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.transport = 'ws';
    let opened = false;
    // No answer to the upgrade, or no WELCOME after the JOIN, within the
    // deadline: the HTTP fallback (section 18.3, step 1).
    const fallBack = (why) => {
      if (ws !== this.ws || gen !== this.gen || this.welcomedOn === ws) return;
      clearTimeout(this.welcomeTimer);
      this.ws = null;
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(1000, 'falling back to HTTP'); } catch (err) { /* not open yet */ }
      this.fallbacks++;
      this.useHttp = true;
      this.fallbackWhy = why;
      this.fallbackText = why === 'upgrade' ? 'WebSocket upgrade failed'
        : `no WELCOME over WebSocket in ${WELCOME_DEADLINE_MS / 1000} s`;
      // The JOIN that went out spent its token (its WELCOME may have been
      // lost): the HTTP JOIN takes a fresh one (takeToken, in openHttp).
      this.openHttp(gen, this.token ? token : '', resuming, why);
    };
    const auto = this.transportPref === 'auto';
    clearTimeout(this.welcomeTimer);
    if (auto) this.welcomeTimer = setTimeout(() => fallBack('upgrade'), WELCOME_DEADLINE_MS);
    ws.onopen = () => {
      if (ws !== this.ws) return;
      opened = true;
      if (this.state === 'connecting') this.setState('joining', '');
      this.sendJoin(token, resuming);
      clearTimeout(this.welcomeTimer);
      if (auto) this.welcomeTimer = setTimeout(() => fallBack('welcome'), WELCOME_DEADLINE_MS);
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws || !(ev.data instanceof ArrayBuffer)) return;
      this.inLine.push({ ws, bytes: new Uint8Array(ev.data) }, this.latencyMs);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      clearTimeout(this.welcomeTimer);
      // The upgrade refused (an HTTP answer instead of 101, a reset), or
      // the connection cut before any WELCOME: HTTP.
      if (auto && (!opened || (ev.code === 1006 && this.welcomedOn !== ws))) {
        fallBack(opened ? 'welcome' : 'upgrade');
        return;
      }
      this.socketClosed(ev.code, ev.reason);
    };
    ws.onerror = () => { /* onclose follows with the details */ };
  }

  // The JOIN (a token, or only the resume token), through the out line.
  sendJoin(token, resuming) {
    this.detail = resuming ? `resuming player ${this.welcome ? this.welcome.playerId : '?'}` : 'joining';
    const bytes = new TextEncoder().encode(token);
    new Uint8Array(this.w.memory.buffer, this.w.tw_in_buf(), bytes.length).set(bytes);
    const n = this.w.tw_write_join(bytes.length);    // a spectate JOIN after tw_set_spectate
    if (!n) {
      this.fail(bytes.length ? `join token of ${bytes.length} bytes is too long` : 'no join token and nothing to resume');
      return false;
    }
    if (token) this.token = null;   // single-use: sent is spent, even if no WELCOME comes
    this.send(n);
    return true;
  }

  // The HTTP fallback: probe once (stream or poll), then a session whose
  // JOIN goes in POST /tw/session. `why` is its fallback= reason.
  async openHttp(gen, token, resuming, why) {
    this.outLine.clear();
    this.inLine.clear();
    const base = httpBase(this.url);
    if (!resuming && !token) {
      this.detail = 'getting a join token for HTTP';
      try {
        token = await this.takeToken();
      } catch (err) {
        if (gen !== this.gen) return;
        this.attemptFailed(err.message, err.retry ? 'retry' : 'refused');
        return;
      }
      if (gen !== this.gen) return;
    }
    if (!this.httpMode) {
      this.detail = `${this.fallbackText ? `${this.fallbackText}: ` : ''}probing HTTP streaming`;
      let p;
      try {
        p = await probe(base);
      } catch (err) {
        if (gen !== this.gen) return;
        this.useHttp = false;     // nothing on HTTP either: WebSocket again next time
        this.attemptFailed(`${this.fallbackText ? `${this.fallbackText}; ` : ''}HTTP fallback: ${err.message || err}`, 'retry');
        return;
      }
      if (gen !== this.gen) return;
      this.probeInfo = p;
      this.httpMode = p.mode;
    }
    // The session's credential: the join token, or the resume token in hex.
    let credential = token;
    if (!credential) {
      const w = this.w;
      const r = new Uint8Array(w.memory.buffer, w.tw_resume_token(), w.tw_resume_len());
      credential = Array.from(r, (b) => b.toString(16).padStart(2, '0')).join('');
    }
    const conn = new HttpConn({ base, mode: this.httpMode, credential, fallback: why || 'other' });
    this.sockets++;
    this.ws = conn;
    this.transport = conn.transport;
    this.detail = `opening an ${TRANSPORT_LABEL[conn.transport]} session`;
    conn.onopen = () => {
      if (conn !== this.ws) return;
      if (this.state === 'connecting') this.setState('joining', '');
      this.sendJoin(token, resuming);
    };
    conn.onmessage = (ev) => {
      if (conn !== this.ws) return;
      this.inLine.push({ ws: conn, bytes: new Uint8Array(ev.data) }, this.latencyMs);
    };
    conn.onstall = () => {
      // Section 18.4: streaming got buffered after all: poll from now on.
      this.httpMode = 'poll';
      this.probeInfo = { mode: 'poll', ms: 0, why: 'the stream stalled (buffered on the way)' };
    };
    // Never a spinner forever: a session with no WELCOME in time (a proxy
    // holding the POST or the stream) is given up and retried; a stream
    // that brought nothing is taken for buffered: poll next time.
    clearTimeout(this.welcomeTimer);
    this.welcomeTimer = setTimeout(() => {
      if (conn !== this.ws || this.welcomedOn === conn) return;
      if (conn.mode === 'stream' && !conn.counts.frames) {
        this.httpMode = 'poll';
        this.probeInfo = { mode: 'poll', ms: 0, why: `no WELCOME on the stream in ${HTTP_WELCOME_DEADLINE_MS / 1000} s` };
      }
      conn.finish(1006, `no WELCOME over HTTP in ${HTTP_WELCOME_DEADLINE_MS / 1000} s`);
    }, HTTP_WELCOME_DEADLINE_MS);
    conn.onclose = (ev) => {
      if (conn !== this.ws) return;
      clearTimeout(this.welcomeTimer);
      // No fallback at this server (404), or never got to a WELCOME: the
      // next try starts with WebSocket again.
      if (ev.status === 404 && !conn.sid) this.useHttp = false;
      else if (this.welcomedOn !== conn && ev.code === 1006) this.useHttp = this.transportPref === 'http';
      this.socketClosed(ev.code, ev.reason);
    };
  }

  // The socket of the current attempt closed (or was dropped by a test).
  socketClosed(code, reason) {
    const wasInGame = this.inGame;
    this.ws = null;
    this.outLine.clear();
    this.inLine.clear();
    // Keep the player, its inputs and prediction: the next JOIN resumes it.
    this.w.tw_disconnected();
    const why = this.protoError || reason || this.closeNames[code] || `code ${code}`;
    this.protoError = '';
    this.closeCode = code;
    if (wasInGame) {
      this.drops++;
      this.offlineSince = performance.now();
      this.attempt = 0;
    }
    if (this.intentional) return;
    this.attemptFailed(why, closeAction(this.w, code), code);
  }

  attemptFailed(why, action, code = 0) {
    if (this.intentional) return;
    if (action === 'refused' || action === 'replaced') {
      const info = action === 'replaced' ? 'this player was resumed on another connection'
        : code ? `join refused: ${why}` : why;
      this.stopRetrying();
      this.setState('closed', info);
      return;
    }
    if (action === 'rejoin') {
      // The held player is gone: a new one, with a new token, right away.
      this.rejoined = 'resume expired: joined as a new player';
      this.freshClient();
      this.setState(this.state === 'connecting' || this.state === 'joining' ? 'connecting' : 'reconnecting', why);
      this.detail = 'resume expired, joining as a new player';
      this.scheduleRetry(0);
      return;
    }
    if (this.matchmaker && this.watch === null) {
      if (this.hasPlayer && this.attempt >= 2) {
        // Its server is gone (two resumes failed): a new player, wherever
        // the matchmaker sends it now.
        this.rejoined = `server ${this.server} is gone: joined again through the matchmaker`;
        this.freshClient();
        this.token = null;
        this.setState('reconnecting', why);
        this.detail = 'server gone, asking the matchmaker';
        this.scheduleRetry(0);
        return;
      }
      if (!this.hasPlayer) this.token = null; /* that server did not take it: ask again */
    }
    const s = this.hasPlayer || this.wasWatching ? 'reconnecting' : 'connecting';
    this.setState(s, why);
    this.scheduleRetry(backoffDelay(this.w, this.attempt));
  }

  scheduleRetry(delay) {
    clearTimeout(this.reconnectTimer);
    this.detail = 'waiting to retry';
    this.reconnectAt = performance.now() + delay;
    this.reconnectTimer = setTimeout(() => this.attemptNow(), delay);
  }

  stopRetrying() {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = 0;
    this.reconnectAt = 0;
    this.gen++;
  }

  // A usable token: the host's, an unused one not about to expire, or a new one.
  async takeToken() {
    let t = null;
    if (this.presetToken) {
      t = { value: this.presetToken, expiresAt: Infinity };
      this.presetToken = null;
    } else if (this.token && this.token.expiresAt - performance.now() > 10_000) {
      t = this.token;
    } else {
      t = await this.fetchToken(this.name);
    }
    this.token = t;
    return t.value;
  }

  // Demo mode: POST /api/join?name= on the game server mints a guest token.
  // A server without demo tokens (404) may be a fleet's matchmaker: then
  // POST /api/matchmake gives a seat, on it or on another server.
  async demoToken(name) {
    if (this.matchmaker) return this.matchmakeToken(name);
    const u = new URL('/api/join', httpBase(this.homeUrl || this.url));
    u.searchParams.set('name', name);
    let res;
    try {
      res = await fetch(u, { method: 'POST', cache: 'no-store' });
    } catch (err) {
      throw new TokenError(`join token request failed: ${err.message || err}`, true);
    }
    if (res.status === 404 && this.watch === null) {
      // No demo tokens here: a fleet's matchmaker open to pages?
      const base = httpBase(this.homeUrl || this.url);
      try {
        const t = await this.matchmakeToken(name, base);
        this.matchmaker = base;
        return t;
      } catch (err) {
        if (!(err instanceof TokenError) || !err.notFleet) throw err;
      }
    }
    if (!res.ok) {
      // 404: no demo mode (the server wants tokens from its backend).
      throw new TokenError(`POST /api/join: HTTP ${res.status}`, res.status >= 500 || res.status === 429);
    }
    let j;
    try {
      j = await res.json();
    } catch (err) {
      throw new TokenError('POST /api/join: not JSON', true);
    }
    if (typeof j.token !== 'string' || !j.token) throw new TokenError('POST /api/join: no token', false);
    return { value: j.token, expiresAt: performance.now() + 1000 * (j.expires_in || 60), playerId: j.player_id };
  }

  // A fleet: POST /api/matchmake?request_id=&name= on the matchmaker gives a
  // seat (the game server's URL) and a join token for it. A request that got
  // no answer is asked again with the same id: the same seat, never two.
  async matchmakeToken(name, base = this.matchmaker) {
    if (!this.mmRequest) {
      const r = new Uint8Array(12);
      crypto.getRandomValues(r);
      this.mmRequest = 'page-' + Array.from(r, (b) => b.toString(16).padStart(2, '0')).join('');
    }
    const u = new URL('/api/matchmake', base);
    u.searchParams.set('request_id', this.mmRequest);
    u.searchParams.set('name', name);
    let res;
    try {
      res = await fetch(u, { method: 'POST', cache: 'no-store' });
    } catch (err) {
      throw new TokenError(`matchmaking request failed: ${err.message || err}`, true);
    }
    if (res.status === 404 || res.status === 401) {
      const e = new TokenError(`POST /api/matchmake: HTTP ${res.status}`, false);
      e.notFleet = true;
      throw e;
    }
    let j = null;
    try { j = await res.json(); } catch (err) { /* below */ }
    if (!res.ok || !j || typeof j.token !== 'string' || typeof j.url !== 'string') {
      throw new TokenError(`POST /api/matchmake: ${j && j.error ? j.error : 'HTTP ' + res.status}`, true);
    }
    this.mmRequest = null;        // answered: the next seat is another request
    const game = new URL(j.url);
    game.protocol = game.protocol === 'https:' ? 'wss:' : 'ws:';
    this.url = game.href;
    this.server = game.host;
    return { value: j.token, expiresAt: performance.now() + Math.max(5000, j.expires_ms - Date.now()) };
  }

  // ------------------------------------------------------------ user actions

  // Leaves on purpose (the Leave button, the page going away): never
  // reconnects by itself. The player is kept for a resume by rejoin().
  leave(why = 'you left the match') {
    this.intentional = true;
    this.stopRetrying();
    const ws = this.ws;
    this.ws = null;
    this.outLine.clear();
    this.inLine.clear();
    if (this.inGame) this.offlineSince = performance.now();
    if (ws) {
      this.w.tw_disconnected();
      try { ws.close(1000, 'leaving'); } catch (err) { /* already closing */ }
    }
    this.setState('closed', why);
  }

  // "Join again" after a leave or a refusal: resumes the player when there
  // is one (a fresh join if its hold ran out), else joins with a new token.
  rejoin() {
    if (this.ws) return;
    this.intentional = false;
    this.attempt = 0;
    this.setState(this.hasPlayer || this.wasWatching ? 'reconnecting' : 'connecting', this.closeInfo);
    this.attemptNow();
  }

  // "Reconnect now": skip the backoff wait.
  reconnectNow() {
    if (this.state === 'closed') { this.rejoin(); return; }
    if (this.reconnectTimer) this.attemptNow();
  }

  // Test hook: a network drop as the page sees it. 'abandon' stops using
  // the socket without closing it (the server learns of it only when the
  // resume takes the player over, like a half-open TCP connection);
  // 'close' closes it (the server holds the player, flagged DISCONNECTED).
  // Tries fail as "network unreachable" until outageMs have passed.
  simulateDrop({ mode = 'abandon', outageMs = 0 } = {}) {
    const ws = this.ws;
    if (!ws) return false;
    this.outageUntil = performance.now() + outageMs;
    this.ws = null;
    if (mode === 'close') ws.close(this.w.tw_close_client_drop(), 'simulated drop');
    else ws.onmessage = ws.onclose = null;   // left open, unread
    this.socketClosed(1006, '');
    return true;
  }

  // ------------------------------------------------------------ bytes

  // Sends the first n bytes of the wasm out-buffer (through the delay line).
  send(n) {
    if (!n) return;
    const bytes = new Uint8Array(this.w.memory.buffer, this.w.tw_out_buf(), n).slice();
    this.outLine.push(bytes, this.latencyMs);
  }

  rawSend(bytes) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    if (bytes.httpInputs) this.ws.postFrames(bytes.httpInputs, bytes.lastSeq);
    else this.ws.send(bytes);
  }

  // Inputs written since the last call go out: over a WebSocket one INPUT
  // message each time (once per tick); over HTTP one POST /tw/input with
  // every input the server may lack (section 18.3: oldest first, one or two
  // INPUT messages, so a lost POST costs nothing: those after the newest
  // acknowledgement, or after the newest input of a POST answered 204 when
  // that is newer), only when there is a new one and no POST is in flight
  // (called once per animation frame).
  flushInputs() {
    const c = this.ws;
    const w = this.w;
    if (!c || !c.isHttp) {
      let n;
      while ((n = w.tw_write_input()) > 0) this.send(n);
      return;
    }
    if (!c.canPost || w.tw_input_seq() <= w.tw_max_sent_seq()) return;
    w.tw_resend_unacked(c.delivered);
    const parts = [];
    let size = 0;
    for (let i = 0; i < 2; i++) {
      const n = w.tw_write_input();
      if (!n) break;
      parts.push(encodeFrame(FRAME.MESSAGE, new Uint8Array(w.memory.buffer, w.tw_out_buf(), n).slice()));
      size += 3 + n;
    }
    if (!parts.length || size > MAX_INPUT_BODY) return;
    c.reserve();
    this.outLine.push({ httpInputs: concatBytes(parts), lastSeq: w.tw_sent_seq() }, this.latencyMs);
  }

  receive(bytes) {
    if (!this.ws) return;
    const cap = this.w.tw_in_cap();
    if (bytes.length > cap) {
      this.fail(`message of ${bytes.length} bytes exceeds ${cap}`);
      return;
    }
    new Uint8Array(this.w.memory.buffer, this.w.tw_in_buf(), bytes.length).set(bytes);
    const now = performance.now();
    const r = this.w.tw_receive(bytes.length, now);
    if (r < 0) {
      this.fail(`protocol error: ${PROTO_ERRORS[r] || r}`);
      return;
    }
    if (r === MSG_WELCOME) this.welcomed(now);
    if (r === MSG_SNAPSHOT) this.drainEvents();
  }

  // Moves the events the snapshot brought out of the wasm client's small
  // queue into this.events, so none are lost while the page is not drawing.
  drainEvents() {
    const w = this.w;
    while (w.tw_next_event()) {
      const len = w.tw_event(5);
      const text = len ? utf8.decode(new Uint8Array(w.memory.buffer, w.tw_event_text(), len)) : '';
      this.events.push({ seq: w.tw_event(6), type: w.tw_event(0), player: w.tw_event(1), other: w.tw_event(2),
                         reason: w.tw_event(3), round: w.tw_event(4), text });
      if (this.events.length > MAX_QUEUED_EVENTS) this.events.shift();
    }
  }

  // The reliable events received since the last call, oldest first:
  // [{seq, type (EV.*), player, other, reason, round, text}].
  takeEvents() {
    const out = this.events;
    this.events = [];
    return out;
  }

  // Sends a chat line (cl_write_chat: control characters removed, at most
  // maxChatChars code points). Returns '' when sent, else why not.
  sendChat(text) {
    if (this.spectator) return 'spectators cannot chat';
    if (!this.inGame) return 'not connected';
    const bytes = new TextEncoder().encode(text);
    if (bytes.length > this.maxChatBytes || [...text].length > this.maxChatChars) {
      return `longer than ${this.maxChatChars} characters`;
    }
    new Uint8Array(this.w.memory.buffer, this.w.tw_in_buf(), bytes.length).set(bytes);
    const n = this.w.tw_write_chat(bytes.length);
    if (!n) return 'nothing to send';
    this.send(n);
    return '';
  }

  // A message the client cannot use: close as a drop (the server holds the
  // player) and retry; the next connection starts with a full snapshot.
  fail(why) {
    console.error('tickwire:', why);
    this.protoError = why;
    if (this.ws) this.ws.close(this.w.tw_close_client_drop(), why.slice(0, 100));
  }

  welcomed(now) {
    const s = this.rawStats();
    const prevId = this.welcome ? this.welcome.playerId : -1;
    const resumed = s.resumed === 1 && s.playerId === prevId;
    this.tickMs = 1000 / (s.tickRate || 60);
    this.acc = 0;
    this.lastStep = now;
    this.joinedAt = now;
    const w = this.w;
    const walls = [];
    for (let i = 0; i < w.tw_map_nwalls(); i++) {
      walls.push({ x0: w.tw_map_wall(i, 0), y0: w.tw_map_wall(i, 1), x1: w.tw_map_wall(i, 2), y1: w.tw_map_wall(i, 3) });
    }
    this.map = { width: w.tw_map_width(), height: w.tw_map_height(), walls };
    // (cl_receive refuses a WELCOME of the other kind than the JOIN asked.)
    this.spectator = w.tw_is_spectator() === 1;
    this.welcome = { playerId: s.playerId, tickRate: s.tickRate, snapshotRate: s.snapshotRate, matchId: s.matchId,
                     resumed, spectator: this.spectator };
    const attempts = this.attempt;
    this.attempt = 0;
    this.detail = '';
    this.welcomedOn = this.ws;
    clearTimeout(this.welcomeTimer);
    if (resumed) {
      this.lastResume = { playerId: s.playerId, attempts, offlineMs: now - this.offlineSince };
      this.rejoined = '';
      this.setState('resumed', '');
      // What was pushed while offline goes out now.
      this.flushInputs();
    } else {
      if (prevId >= 0 && !this.rejoined && !this.spectator) this.rejoined = 'joined as a new player';
      this.resetCounters();
      this.acc = 0;
      this.lastStep = now;
      this.lastView = [];
      this.setState('joined', '');
    }
    if (this.onWelcome) this.onWelcome(this.welcome, this.map);
  }

  setOptions(o) {
    Object.assign(this.options, o);
    this.applyOptions();
  }

  applyOptions() {
    const o = this.options;
    this.w.tw_set_options(o.predict ? 1 : 0, o.reconcile ? 1 : 0, o.interpolate ? 1 : 0);
  }

  // Fixed timestep: exactly one input per elapsed tick, each sent at once.
  // While reconnecting the inputs are still taken and predicted (up to
  // CL_MAX_UNACKED unacknowledged ones), and sent after the resume.
  // A hidden tab that comes back does not dump seconds of stale input on
  // the server: a backlog over a few ticks is dropped (the server waits for
  // a player whose input has not arrived instead of inventing one).
  //
  // Input timing (options.inputTiming, off by default; cl_plan_send in
  // shared/client.h): over a WebSocket, after each step a timer is set for
  // the moment the next input should be made to reach the server just
  // before the tick that applies it, instead of at whatever moment a frame
  // happens to come (which costs half a tick of waiting on average). When
  // it fires, the step due about then is taken then: pulled in by up to
  // half a tick, so the steps stay one per tick (timedSteps counts them);
  // frames leave the steps to the timer unless it is half a tick late.
  // Off by default: a page's timers fire late by up to a frame's rendering,
  // the lead grows to cover that, and in headless chromium (software
  // rendering) the mean RTT came out no better than on the frame clock.
  update(now, timed = false) {
    if (this.watch !== null) return;          // a spectator sends nothing after its JOIN
    if (!this.inGame && !(this.state === 'reconnecting' && this.hasPlayer)) return;
    this.acc += now - this.lastStep;
    this.lastStep = now;
    const maxBacklog = 8 * this.tickMs;
    if (this.acc > maxBacklog) this.acc = maxBacklog;
    if (timed && this.acc >= this.tickMs / 2 && this.acc < this.tickMs) this.acc = this.tickMs;
    // While a timer is planned, a frame takes a step only when the timer is
    // half a tick overdue: otherwise frames and timer would race for it.
    const overdue = this.inputTimer && !timed ? this.tickMs / 2 : 0;
    const ticks0 = this.ticks;
    while (this.acc >= this.tickMs + overdue) {
      this.acc -= this.tickMs;
      const { buttons, aim } = this.getInput();
      const seq = this.w.tw_push_input(buttons, aim & 0xffff, now);
      if (!seq) { this.stalls++; continue; }
      this.ticks++;
      if (timed) { this.timedSteps++; timed = false; }
      for (const b in this.buttonTicks) if (buttons & b) this.buttonTicks[b]++;
      if (!this.ws || !this.ws.isHttp) this.flushInputs();
    }
    if (this.ws && this.ws.isHttp) this.flushInputs();
    // A frame that took the step leaves the timer planned for it: it fires,
    // finds the step taken, and plans the next one.
    if (timed || (this.ticks !== ticks0 && !this.inputTimer)) this.planInput(now);
  }

  planInput(now) {
    clearTimeout(this.inputTimer);
    this.inputTimer = 0;
    const w = this.w;
    if (!this.options.inputTiming || !this.inGame || (this.ws && this.ws.isHttp) || !w.tw_timing_ready()) return;
    const at = w.tw_plan_send(now + this.tickMs / 2);
    this.inputTimer = setTimeout(() => {
      this.inputTimer = 0;
      const t = performance.now();
      this.timerFires++;
      if (t - at > this.tickMs / 2) this.timerLate++; // the page was busy: a frame may have taken the step
      this.update(t, true);
    }, Math.max(0, at - performance.now()));
  }

  // What to draw now: [{id, x, y, aim, flags, self, name}]. While
  // reconnecting (and until the first snapshot after a resume): the others
  // where they were last seen (stale), and the local player where the
  // prediction has it (offline).
  view(now) {
    const w = this.w;
    const count = this.inGame ? w.tw_view(now) : 0;
    if (count === 0) return this.offlineView();
    const f32 = new Float32Array(w.memory.buffer, w.tw_view_buf(), count * 4);
    const u8 = new Uint8Array(w.memory.buffer, w.tw_view_buf(), count * 16);
    const u16 = new Uint16Array(w.memory.buffer, w.tw_view_buf(), count * 8);
    const out = [];
    for (let i = 0; i < count; i++) {
      const id = u16[i * 8 + 4];
      out.push({
        x: f32[i * 4], y: f32[i * 4 + 1], id, aim: u16[i * 8 + 5],
        flags: u8[i * 16 + 12], self: u8[i * 16 + 13] === 1, health: u8[i * 16 + 14], name: this.nameOf(id),
      });
    }
    this.lastView = out;
    return out;
  }

  offlineView() {
    const w = this.w;
    if (this.watch !== null) {
      // Watching, reconnecting: the match as last seen, greyed.
      return this.state === 'reconnecting' ? this.lastView.map((e) => ({ ...e, stale: true })) : [];
    }
    const offline = this.state === 'reconnecting' || this.state === 'resumed';
    if (!offline || !this.hasPlayer || !this.welcome || !w.tw_self_predicted(4)) return [];
    const self = { x: w.tw_self_predicted(0), y: w.tw_self_predicted(1), aim: w.tw_self_predicted(5),
                   flags: w.tw_self_predicted(6), offline: this.state === 'reconnecting' };
    const out = this.lastView.map((e) => (e.self ? { ...e, ...self } : { ...e, stale: true }));
    if (!out.some((e) => e.self)) {
      out.push({ id: this.welcome.playerId, self: true, name: this.nameOf(this.welcome.playerId), ...self });
    }
    return out;
  }

  nameOf(id) { return cString(this.w, this.w.tw_name(id), 17); }

  // Kills, deaths, score, hits and health of player id in the newest
  // snapshot, or null when it is not in it.
  playerStats(id) {
    const w = this.w;
    if (!this.inGame || !w.tw_player_stat(id, 6)) return null;
    return { kills: w.tw_player_stat(id, 0), deaths: w.tw_player_stat(id, 1), score: w.tw_player_stat(id, 2),
             hits: w.tw_player_stat(id, 3), health: w.tw_player_stat(id, 4), flags: w.tw_player_stat(id, 5) };
  }

  // The round: {phase (PHASE.*), round, secondsLeft (-1: open-ended),
  // scoreLimit, minPlayers, endTick, tick}, or null before a snapshot.
  match() {
    const w = this.w;
    if (!this.inGame || !w.tw_match(7)) return null;
    return { phase: w.tw_match(0), round: w.tw_match(1), secondsLeft: w.tw_match(2), scoreLimit: w.tw_match(3),
             minPlayers: w.tw_match(4), endTick: w.tw_match(5), tick: w.tw_match(6) };
  }

  // The local player's shooting: shots the prediction fired, how many hit
  // someone as this page drew them, hits the server credited, and the
  // newest shot (its input seq and whom it hit here, -1: a miss).
  shots() {
    const w = this.w;
    return { shots: w.tw_shots(0), screenHits: w.tw_shots(1), serverHits: w.tw_shots(2),
             lastShotSeq: w.tw_shots(3), lastShotTarget: w.tw_shots(4) };
  }

  // Milliseconds until the local player respawns (0 when alive).
  respawnLeftMs() { return this.inGame ? this.w.tw_respawn_left_ms() : 0; }

  // Authoritative position of the local player in the newest snapshot.
  serverSelf() {
    const w = this.w;
    if (!w.tw_self_server(6)) return null;
    return { x: w.tw_self_server(0), y: w.tw_self_server(1), vx: w.tw_self_server(2), vy: w.tw_self_server(3),
             aim: w.tw_self_server(4), flags: w.tw_self_server(5) };
  }

  predictedSelf() {
    const w = this.w;
    if (!w.tw_self_predicted(4)) return null;
    return { x: w.tw_self_predicted(0), y: w.tw_self_predicted(1), vx: w.tw_self_predicted(2), vy: w.tw_self_predicted(3) };
  }

  rawStats() {
    const p = this.w.tw_stats();
    const d = new Float64Array(this.w.memory.buffer, p, tw_stats_names.length);
    const s = {};
    tw_stats_names.forEach((k, i) => { s[k] = d[i]; });
    return s;
  }

  // Stats plus measured rates; call once per frame so the rates move.
  sample(now) {
    const s = this.rawStats();
    this.snapRate.sample(now, s.snapshots);
    this.downRate.sample(now, s.bytesDown);
    this.upRate.sample(now, s.bytesUp);
    return this.decorate(s);
  }

  decorate(s) {
    s.snapshotsPerSec = this.snapRate.value;
    s.bytesDownPerSec = this.downRate.value;
    s.bytesUpPerSec = this.upRate.value;
    s.state = this.state;
    s.closeInfo = this.closeInfo;
    s.closeCode = this.closeCode;
    s.detail = this.detail;
    s.attempt = this.attempt;     // tries made since the drop (or the first connect)
    // The try under way, or the next one while waiting out the backoff.
    s.shownAttempt = this.reconnectTimer ? this.attempt + 1 : Math.max(1, this.attempt);
    s.drops = this.drops;
    s.sockets = this.sockets;
    s.lastResume = this.lastResume ? { ...this.lastResume } : null;
    s.rejoined = this.rejoined;
    s.matchmaker = this.matchmaker ? this.matchmaker.href : '';
    s.server = this.server || (this.url ? new URL(this.url, location.href).host : '');
    s.reconnectInMs = this.reconnectAt ? Math.max(0, this.reconnectAt - performance.now()) : 0;
    s.offlineMs = this.state === 'reconnecting' && this.offlineSince ? performance.now() - this.offlineSince : 0;
    s.ticks = this.ticks;
    s.timedSteps = this.timedSteps;
    s.timerFires = this.timerFires;
    s.timerLate = this.timerLate;
    s.stalls = this.stalls;
    s.unacked = Math.max(0, s.inputSeq - s.lastInputSeq);
    if (s.unacked > this.maxUnackedSeen) this.maxUnackedSeen = s.unacked;
    s.maxUnackedSeen = this.maxUnackedSeen;
    s.maxUnacked = this.maxUnacked;
    s.subprotocol = this.subprotocol;
    s.transport = this.ws ? this.transport : '';
    s.lastTransport = this.transport;
    s.fallback = this.fallbackText;
    s.fallbackWhy = this.fallbackWhy;
    s.fallbacks = this.fallbacks;
    s.httpMode = this.httpMode || '';
    s.probe = this.probeInfo ? { ...this.probeInfo } : null;
    s.http = this.ws && this.ws.isHttp ? { ...this.ws.counts, lastRefusal: this.ws.lastRefusal } : null;
    s.latencyMs = this.latencyMs;
    s.delayedOut = this.outLine.length;
    s.delayedIn = this.inLine.length;
    s.buttonTicks = { ...this.buttonTicks };
    s.options = { ...this.options };
    return s;
  }

  stats() { return this.decorate(this.rawStats()); }
}
