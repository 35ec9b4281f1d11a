// netcode.js: the page's side of the tickwire netcode.
//
// Everything that is game logic (decoding snapshots, predicting the local
// player, reconciling with the server, interpolating remote players) runs in
// tickwire.wasm, which is shared/ compiled for the browser: the same C code
// the server and the bots run. This file only moves bytes between the
// WebSocket and the wasm module, drives the fixed-timestep input loop and
// adds an optional artificial latency so the effect of each netcode piece
// can be seen.

export const SUBPROTOCOL = 'tickwire.v1';
export const BTN = { UP: 1, DOWN: 2, LEFT: 4, RIGHT: 8, FIRE: 16 };
export const FLAG_FIRING = 1;
export const MSG_WELCOME = 0x81;
export const MSG_SNAPSHOT = 0x82;

// Order of the doubles tw_stats() returns (client-demo/wasm/tw_wasm.c).
export const tw_stats_names = [
  'snapshots', 'fullSnapshots', 'corrections', 'lastCorrection',
  'maxCorrection', 'correctionSum', 'bytesDown', 'bytesUp',
  'msgsDown', 'msgsUp', 'rttMs', 'rttSmoothMs',
  'interpDepth', 'playerId', 'tickRate', 'snapshotRate',
  'lastInputSeq', 'inputSeq', 'serverTick', 'renderTick',
  'joined', 'matchId',
];

const PROTO_ERRORS = {
  '-1': 'truncated message', '-2': 'trailing bytes', '-3': 'unexpected message type',
  '-4': 'protocol version', '-5': 'value out of range', '-6': 'unknown baseline',
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

export class NetClient {
  // exports: the instance exports of tickwire.wasm.
  constructor(exports) {
    this.w = exports;
    this.url = null;
    this.name = 'guest';
    this.ws = null;
    this.state = 'idle';          // idle, connecting, joining, joined, closed
    this.closeInfo = '';
    this.latencyMs = 0;           // artificial, each way
    this.options = { predict: true, reconcile: true, interpolate: true };
    this.autoReconnect = true;
    this.reconnectAt = 0;
    this.reconnects = 0;
    this.getInput = () => ({ buttons: 0, aim: 0 });
    this.onWelcome = null;
    this.onStateChange = null;

    this.outLine = new DelayLine((bytes) => this.rawSend(bytes));
    this.inLine = new DelayLine((bytes) => this.receive(bytes));
    this.snapRate = new Rate();
    this.downRate = new Rate();
    this.upRate = new Rate();
    this.resetSession();
  }

  resetSession() {
    this.w.tw_init();
    this.applyOptions();
    this.tickMs = 1000 / 60;
    this.acc = 0;
    this.lastStep = 0;
    this.ticks = 0;               // fixed steps pushed this session
    this.stalls = 0;              // steps skipped because too much was unacked
    this.buttonTicks = { 1: 0, 2: 0, 4: 0, 8: 0, 16: 0 };
    this.map = null;
    this.welcome = null;
    this.snapRate.reset();
    this.downRate.reset();
    this.upRate.reset();
    this.protoError = '';
    this.joinedAt = 0;
  }

  setState(s, info = '') {
    this.state = s;
    this.closeInfo = info;
    if (this.onStateChange) this.onStateChange(s, info);
  }

  connect(url, name) {
    this.url = url;
    this.name = name;
    this.open();
  }

  open() {
    this.outLine.clear();
    this.inLine.clear();
    this.resetSession();
    this.setState('connecting');
    let ws;
    try {
      ws = new WebSocket(this.url, SUBPROTOCOL);
    } catch (err) {
      this.setState('closed', String(err.message || err));
      this.scheduleReconnect();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.setState('joining');
      this.reconnects = 0;
      const nameBytes = new TextEncoder().encode(this.name);
      const inBuf = new Uint8Array(this.w.memory.buffer, this.w.tw_in_buf(), nameBytes.length);
      inBuf.set(nameBytes);
      const n = this.w.tw_write_join(nameBytes.length);
      this.send(n);
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      if (!(ev.data instanceof ArrayBuffer)) return;
      this.inLine.push(new Uint8Array(ev.data), this.latencyMs);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.ws = null;
      const why = this.protoError || ev.reason || (ev.code === 1006 ? 'connection lost' : `code ${ev.code}`);
      this.setState('closed', why);
      this.scheduleReconnect();
    };
    ws.onerror = () => { /* onclose follows with the details */ };
  }

  scheduleReconnect() {
    if (!this.autoReconnect) return;
    this.reconnects++;
    const delay = Math.min(10000, 1000 * 2 ** Math.min(this.reconnects - 1, 3));
    this.reconnectAt = performance.now() + delay;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  reconnectNow() {
    clearTimeout(this.reconnectTimer);
    if (this.ws) { const ws = this.ws; this.ws = null; ws.close(1000, 'reconnect'); }
    this.open();
  }

  disconnect() {
    this.autoReconnect = false;
    clearTimeout(this.reconnectTimer);
    if (this.ws) this.ws.close(1000, 'bye');
  }

  // Sends the first n bytes of the wasm out-buffer (through the delay line).
  send(n) {
    if (!n) return;
    const bytes = new Uint8Array(this.w.memory.buffer, this.w.tw_out_buf(), n).slice();
    this.outLine.push(bytes, this.latencyMs);
  }

  rawSend(bytes) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes);
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
  }

  fail(why) {
    console.error('tickwire:', why);
    this.protoError = why;
    if (this.ws) this.ws.close(4000, why.slice(0, 100));
  }

  welcomed(now) {
    const s = this.rawStats();
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
    this.welcome = { playerId: s.playerId, tickRate: s.tickRate, snapshotRate: s.snapshotRate, matchId: s.matchId };
    this.setState('joined');
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
  // A hidden tab that comes back does not dump seconds of stale input on
  // the server: a backlog over a few ticks is dropped (the server waits for
  // a player whose input has not arrived instead of inventing one).
  update(now) {
    if (this.state !== 'joined') return;
    this.acc += now - this.lastStep;
    this.lastStep = now;
    const maxBacklog = 8 * this.tickMs;
    if (this.acc > maxBacklog) this.acc = maxBacklog;
    while (this.acc >= this.tickMs) {
      this.acc -= this.tickMs;
      const { buttons, aim } = this.getInput();
      const seq = this.w.tw_push_input(buttons, aim & 0xffff, now);
      if (!seq) { this.stalls++; continue; }
      this.ticks++;
      for (const b in this.buttonTicks) if (buttons & b) this.buttonTicks[b]++;
      let n;
      while ((n = this.w.tw_write_input()) > 0) this.send(n);
    }
  }

  // What to draw now: [{id, x, y, aim, flags, self, name}].
  view(now) {
    const w = this.w;
    const count = w.tw_view(now);
    const f32 = new Float32Array(w.memory.buffer, w.tw_view_buf(), count * 4);
    const u8 = new Uint8Array(w.memory.buffer, w.tw_view_buf(), count * 16);
    const u16 = new Uint16Array(w.memory.buffer, w.tw_view_buf(), count * 8);
    const out = [];
    for (let i = 0; i < count; i++) {
      const id = u16[i * 8 + 4];
      out.push({
        x: f32[i * 4], y: f32[i * 4 + 1], id, aim: u16[i * 8 + 5],
        flags: u8[i * 16 + 12], self: u8[i * 16 + 13] === 1, name: this.nameOf(id),
      });
    }
    return out;
  }

  nameOf(id) {
    const mem = new Uint8Array(this.w.memory.buffer);
    let p = this.w.tw_name(id), s = '';
    for (let k = 0; k < 17 && mem[p]; k++, p++) s += String.fromCharCode(mem[p]);
    return s;
  }

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
    s.ticks = this.ticks;
    s.stalls = this.stalls;
    s.unacked = Math.max(0, s.inputSeq - s.lastInputSeq);
    s.latencyMs = this.latencyMs;
    s.delayedOut = this.outLine.length;
    s.delayedIn = this.inLine.length;
    s.buttonTicks = { ...this.buttonTicks };
    s.options = { ...this.options };
    return s;
  }

  stats() { return this.decorate(this.rawStats()); }
}
