// replay.js: the page's Replays mode. Lists the server's recorded rounds
// (GET /api/replays), fetches one (GET /api/replays/<name>) and plays it
// with the replay player in tickwire.wasm (shared/replay_player.c through
// client-demo/wasm/tw_replay.c): the server's own simulation, re-run here
// tick by tick from the recorded inputs, every state hash checked on the
// way. Nothing is simulated in JavaScript: this file keeps the clock
// (play, pause, speed, seek) and moves numbers out of the module.
//
// ReplaySource answers the questions game.js asks of a NetClient (view,
// playerStats, match, takeEvents, nameOf, map, welcome...), so a replay is
// drawn by the same renderer and HUD as a live match, the camera and keys
// as in Watch mode.

import { EV, PHASE } from './netcode.js';

export const SPEEDS = [0.25, 0.5, 1, 2, 4, 8];
// Replay event types (REPLAY_EV_* in shared/replay_player.h).
const RP_HIT = 1, RP_JOIN = 2, RP_LEAVE = 3;
const MAX_STEPS_PER_FRAME = 240;     // 8x at 30 fps; a hidden tab catches up at most this
const utf8 = new TextDecoder('utf-8');

function cString(w, ptr, max) {
  const mem = new Uint8Array(w.memory.buffer);
  let n = 0;
  while (n < max && mem[ptr + n]) n++;
  return utf8.decode(mem.subarray(ptr, ptr + n));
}

// GET /api/replays?limit=N from the server at base (an http(s) URL):
// {replays: [...], total} or throws Error with the server's reason.
export async function listReplays(base, limit = 100) {
  const res = await fetch(new URL(`/api/replays?limit=${limit}`, base), { cache: 'no-store' });
  let j = null;
  try { j = await res.json(); } catch (err) { /* below */ }
  if (!res.ok || !j || !Array.isArray(j.replays)) {
    const e = new Error(j && j.error ? j.error : `GET /api/replays: HTTP ${res.status}`);
    e.status = res.status;
    throw e;
  }
  return j;
}

// The player: one file at a time, its clock in ticks.
export class ReplaySource {
  constructor(exports) {
    this.w = exports;
    this.maxHealth = exports.tw_max_health();
    this.fireIntervalMs = exports.tw_fire_interval_ms();
    this.closeNoSuchMatch = -1;
    this.onSeek = null;               // called after each seek (game.js clears the feed)
    this.reset();
  }

  reset() {
    this.name = '';
    this.info = null;                 // the header and the file's extent
    this.map = null;
    this.welcome = null;
    this.state = 'idle';              // idle, loading, joined (open), closed (failed)
    this.closeInfo = '';
    this.playing = false;
    this.speed = 1;
    this.pos = 0;                     // the displayed tick (continuous)
    this.lastNow = 0;
    this.events = [];
    this.hits = [];
    this.loadMs = 0;
    this.lastSeekMs = 0;
    this.seeks = 0;
    this.options = { predict: false, reconcile: false, interpolate: true };
    this.latencyMs = 0;
    this.names = new Map();
  }

  get inGame() { return this.state === 'joined'; }
  get spectator() { return true; }
  get tick() { return this.inGame ? this.w.tw_rp_state(0) : 0; }
  get ended() { return this.inGame && this.w.tw_rp_state(1) === 1 && this.tick >= this.info.endTick; }

  // Fetches and opens a file; throws Error with the reason.
  async load(base, name) {
    this.reset();
    this.name = name;
    this.state = 'loading';
    const t0 = performance.now();
    const res = await fetch(new URL(`/api/replays/${encodeURIComponent(name)}`, base), { cache: 'no-store' });
    if (!res.ok) {
      let why = `HTTP ${res.status}`;
      try { why = (await res.json()).error || why; } catch (err) { /* not JSON */ }
      this.state = 'closed';
      this.closeInfo = why;
      throw new Error(why);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const w = this.w;
    const ptr = w.tw_rp_buffer(bytes.length);
    if (!ptr) throw new Error(`no memory for ${bytes.length} bytes`);
    new Uint8Array(w.memory.buffer, ptr, bytes.length).set(bytes);
    if (!w.tw_rp_open(bytes.length)) {
      this.state = 'closed';
      this.closeInfo = cString(w, w.tw_rp_error(), 200);
      throw new Error(this.closeInfo);
    }
    const I = (k) => w.tw_rp_info(k);
    this.info = {
      name, bytes: bytes.length, matchId: I(0), round: I(1), tickRate: I(2), startTick: I(3), endTick: I(4),
      endReason: I(5), startMs: I(6), keyframes: [], keyframeInterval: I(11), hashInterval: I(12),
      simVersion: I(13), protoVersion: I(14), topId: I(15),
    };
    for (let i = 0; i < I(10); i++) this.info.keyframes.push(w.tw_rp_keyframe(i));
    const walls = [];
    for (let i = 0; i < I(9); i++) {
      walls.push({ x0: w.tw_rp_wall(i, 0), y0: w.tw_rp_wall(i, 1), x1: w.tw_rp_wall(i, 2), y1: w.tw_rp_wall(i, 3) });
    }
    this.map = { width: I(7), height: I(8), walls };
    this.welcome = { playerId: -1, tickRate: this.info.tickRate, snapshotRate: this.info.tickRate,
                     matchId: this.info.matchId, resumed: false, spectator: true };
    this.pos = this.info.startTick;
    this.state = 'joined';
    this.loadMs = performance.now() - t0;
    this.events.push({ type: EV.ROUND_START, player: 255, other: 255, reason: 0, round: this.info.round, text: '' });
    this.drain(false);
    return this.info;
  }

  // ------------------------------------------------------------ clock

  play() {
    if (!this.inGame) return;
    if (this.ended) this.seek(this.info.startTick);    // play again from the start
    this.playing = true;
    this.lastNow = 0;
  }

  pause() { this.playing = false; }
  toggle() { if (this.playing) this.pause(); else this.play(); }
  setSpeed(s) { this.speed = SPEEDS.includes(s) ? s : 1; }

  // The world at tick (clamped to the round), from the nearest keyframe
  // (tw_rp_seek); the feed restarts there. Returns the ms it took.
  seek(tick) {
    if (!this.inGame) return 0;
    const t = Math.max(this.info.startTick, Math.min(this.info.endTick, Math.round(tick)));
    const t0 = performance.now();
    this.w.tw_rp_seek(t);
    this.lastSeekMs = performance.now() - t0;
    this.seeks++;
    this.pos = this.tick;
    this.events = [];
    this.hits = [];
    this.drain(false);                  // what the catch-up steps did is not news
    this.lastNow = 0;
    if (this.onSeek) this.onSeek();
    return this.lastSeekMs;
  }

  // Called once per frame (NetClient.update's place): advances the clock
  // and steps the world up to it.
  update(now) {
    if (!this.inGame || !this.playing) { this.lastNow = now; return; }
    const dt = this.lastNow ? Math.min(100, now - this.lastNow) : 0;
    this.lastNow = now;
    this.pos = Math.min(this.info.endTick, this.pos + dt / 1000 * this.info.tickRate * this.speed);
    let steps = 0;
    while (this.tick < Math.ceil(this.pos) && steps < MAX_STEPS_PER_FRAME) {
      if (!this.w.tw_rp_step()) break;
      steps++;
    }
    if (steps) this.drain(true);
    // the last tick, or a corrupt record (the badge says which): stop there
    if (this.tick >= this.info.endTick || this.w.tw_rp_state(3) === 1) {
      this.pos = this.tick;
      this.playing = false;
    }
  }

  // Events from the module: hits (kept for markers, a kill also as a
  // KILL event for the feed), joins and leaves.
  drain(keep) {
    const w = this.w;
    let type;
    while ((type = w.tw_rp_next_event())) {
      if (!keep) continue;
      const ev = { tick: w.tw_rp_event(0), player: w.tw_rp_event(1), target: w.tw_rp_event(2),
                   damage: w.tw_rp_event(3), killed: w.tw_rp_event(4) === 1 };
      if (type === RP_HIT) {
        this.hits.push(ev);
        if (ev.killed) this.events.push({ type: EV.KILL, player: ev.player, other: ev.target, reason: 0, round: 0, text: '' });
      } else if (type === RP_JOIN) {
        this.events.push({ type: EV.JOIN, player: ev.player, other: 255, reason: 0, round: 0, text: this.nameOf(ev.player) });
      } else if (type === RP_LEAVE) {
        this.events.push({ type: EV.LEAVE, player: ev.player, other: 255, reason: 0, round: 0, text: '' });
      }
    }
    if (this.hits.length > 256) this.hits.splice(0, this.hits.length - 256);
    if (keep && this.ended && !this.endSent) {
      this.endSent = true;
      const top = this.ranking()[0];
      this.events.push({ type: EV.ROUND_END, player: 255, other: top ? top.id : 255, reason: this.info.endReason,
                         round: this.info.round, text: '' });
    }
    if (!this.ended) this.endSent = false;
  }

  takeEvents() { const out = this.events; this.events = []; return out; }
  takeHits() { const out = this.hits; this.hits = []; return out; }

  // ------------------------------------------------------------ what is drawn

  // [{id, x, y, aim, flags, self, health, name}] between the previous and
  // the current tick (interpolation on), or at the current tick.
  view() {
    const w = this.w;
    if (!this.inGame) return [];
    const frac = this.options.interpolate ? 1 - Math.max(0, Math.min(1, this.tick - this.pos)) : 1;
    const count = w.tw_rp_view(frac);
    const f32 = new Float32Array(w.memory.buffer, w.tw_rp_view_buf(), count * 4);
    const u8 = new Uint8Array(w.memory.buffer, w.tw_rp_view_buf(), count * 16);
    const u16 = new Uint16Array(w.memory.buffer, w.tw_rp_view_buf(), count * 8);
    const out = [];
    for (let i = 0; i < count; i++) {
      const id = u16[i * 8 + 4];
      out.push({ x: f32[i * 4], y: f32[i * 4 + 1], id, aim: u16[i * 8 + 5], flags: u8[i * 16 + 12], self: false,
                 health: u8[i * 16 + 14], name: this.nameOf(id) });
    }
    return out;
  }

  nameOf(id) {
    const n = cString(this.w, this.w.tw_rp_name(id), 17);
    if (n) this.names.set(id, n);
    return n || this.names.get(id) || '';
  }

  playerStats(id) {
    const w = this.w;
    if (!this.inGame || !w.tw_rp_player(id, 6)) return null;
    return { kills: w.tw_rp_player(id, 0), deaths: w.tw_rp_player(id, 1), score: w.tw_rp_player(id, 2),
             hits: w.tw_rp_player(id, 3), health: w.tw_rp_player(id, 4), flags: w.tw_rp_player(id, 5) };
  }

  // Everyone active now, best first (score, kills, fewer deaths, id: as
  // the server ranks a round).
  ranking() {
    const out = [];
    for (let id = 0; id < 128; id++) {
      const st = this.playerStats(id);
      if (st) out.push({ id, name: this.nameOf(id), ...st });
    }
    out.sort((a, b) => b.score - a.score || b.kills - a.kills || a.deaths - b.deaths || a.id - b.id);
    return out;
  }

  // The round as the HUD shows it: live until the last tick, then ended.
  match() {
    if (!this.inGame) return null;
    const rate = this.info.tickRate;
    return { phase: this.ended ? PHASE.ENDED : PHASE.LIVE, round: this.info.round,
             secondsLeft: Math.max(0, (this.info.endTick - this.tick) / rate), scoreLimit: 0, minPlayers: 0,
             endTick: this.info.endTick, tick: this.tick };
  }

  // Verification so far: {checked, diverged, tick, player, field, bad, error}.
  verification() {
    const w = this.w;
    if (!this.inGame) return null;
    return { checked: w.tw_rp_state(4), diverged: w.tw_rp_state(2) === 1, tick: w.tw_rp_state(5),
             player: w.tw_rp_state(6), field: cString(w, w.tw_rp_diff_field(), 64), bad: w.tw_rp_state(3) === 1,
             error: w.tw_rp_state(3) === 1 ? cString(w, w.tw_rp_error(), 200) : '' };
  }

  // Nothing of a live connection applies.
  shots() { return { shots: 0, screenHits: 0, serverHits: 0, lastShotSeq: 0, lastShotTarget: -1 }; }
  respawnLeftMs() { return 0; }
  serverSelf() { return null; }
  predictedSelf() { return null; }
  setOptions(o) { Object.assign(this.options, o); }
  leave() { this.playing = false; }
  stats() { return this.sample(); }
  sample() {
    return { state: this.inGame ? 'replay' : this.state, closeInfo: this.closeInfo, options: { ...this.options },
             latencyMs: 0, corrections: 0, snapshots: 0, rttMs: 0, serverTick: this.tick, tickRate: this.info ? this.info.tickRate : 0 };
  }
}
