// game.js: input, rendering, the match HUD and the netcode panel of the
// tickwire demo. No simulation here: positions, health, scores, the round
// and the events come from the wasm client (netcode.js). Names and chat
// reach the page as text nodes (textContent), never as markup.
//
// Three modes: Play (a player: input, prediction, own HUD), Watch (a
// spectator, protocol v6: no input, no own player; the camera follows a
// player, cycled with [ ] or Q E, or pans freely with F; ?watch=any or
// ?watch=<match id> in the URL, or the Watch button) and Replays (a
// recorded round played back by the wasm simulation, replay.js: the same
// camera and keys as Watch, plus play/pause, speed and seek; ?replay or
// ?replay=<file name>). In Replays mode `net` is the ReplaySource, which
// answers what the renderer asks of a NetClient.

import {
  BTN, END_REASON, EV, FLAG_DEAD, FLAG_DISCONNECTED, FLAG_FIRING, FLAG_SHOT, NOBODY, NetClient,
  PHASE, TRANSPORT_LABEL, WATCH_ANY, httpBase, loadWasm, parseWatch,
} from './netcode.js';
import { ReplaySource, SPEEDS, listReplays } from './replay.js';

const RADIUS = 16;
const LATENCIES = [0, 50, 100, 200];
const SELF_COLOR = '#3ee6ff';
const AWAY_COLOR = '#7f8aa0';          // players whose connection dropped
const PALETTE = ['#ff6b6b', '#ffa94d', '#ffd43b', '#a9e34b', '#69db7c', '#da77f2',
                 '#f783ac', '#9775fa', '#ff922b', '#63e6be', '#e599f7', '#fab005'];

const $ = (id) => document.getElementById(id);
const canvas = $('view');
const ctx = canvas.getContext('2d');
const mini = $('minimap');
const mctx = mini.getContext('2d');
const graph = $('graph');
const gctx = graph.getContext('2d');

// ---------------------------------------------------------------- names

function guestName() {
  const a = ['Swift', 'Brave', 'Quiet', 'Lucky', 'Rapid', 'Clever', 'Bold', 'Sly', 'Nimble', 'Rusty', 'Neon', 'Iron'];
  const b = ['Otter', 'Falcon', 'Fox', 'Lynx', 'Badger', 'Heron', 'Wolf', 'Gecko', 'Raven', 'Moth', 'Orca', 'Yak'];
  const pick = (l) => l[Math.floor(Math.random() * l.length)];
  return `${pick(a)}${pick(b)}${Math.floor(Math.random() * 90 + 10)}`.slice(0, 16);
}

function playerName() {
  const q = new URLSearchParams(location.search).get('name');
  const clean = (q || '').replace(/[^\x20-\x7e]/g, '').trim().slice(0, 16);
  return clean || guestName();
}

function colorOf(id) { return PALETTE[(id * 7) % PALETTE.length]; }

// ---------------------------------------------------------------- input

const keys = new Set();
const mouse = { x: innerWidth / 2 + 100, y: innerHeight / 2, down: false, seen: false };
let aim = 0;
let selfScreen = null;       // where the local player was drawn last frame

const MOVE = {
  KeyW: BTN.UP, ArrowUp: BTN.UP, KeyS: BTN.DOWN, ArrowDown: BTN.DOWN,
  KeyA: BTN.LEFT, ArrowLeft: BTN.LEFT, KeyD: BTN.RIGHT, ArrowRight: BTN.RIGHT,
  Space: BTN.FIRE,
};

// Touch controls (body.touch): the stick's direction as movement buttons,
// the fire button held. Their pointers never move the crosshair.
const touch = { buttons: 0, fire: false, pointers: new Set(), aimDrag: null };

function buttons() {
  let b = touch.buttons;
  for (const k of keys) b |= MOVE[k] || 0;
  if (mouse.down || touch.fire) b |= BTN.FIRE;
  return b;
}

function currentAim() {
  if (selfScreen && mouse.seen) {
    const dx = mouse.x - selfScreen.x, dy = mouse.y - selfScreen.y;
    if (dx * dx + dy * dy > 4) {
      const a = Math.atan2(dy, dx);                     // y grows downward
      aim = Math.round(a * 65536 / (2 * Math.PI)) & 0xffff;
    }
  }
  return aim;
}

// ---------------------------------------------------------------- state

let net = null;                     // the NetClient, or in Replays mode the ReplaySource
let live = null;                    // the NetClient (kept while a replay plays)
let serverUrl = '';                 // the game server's ws(s) URL
// Replays mode: the list, the file being played, its hit markers.
const replay = {
  on: false,
  src: null,                        // ReplaySource
  list: null,                       // the last GET /api/replays answer
  listError: '',
  listOpen: false,
  loadError: '',
  marks: [],                        // {x, y, t, damage, killed}: the followed player's hits where they landed
  prefer: -1,                       // the player to follow once it is in the round (the winner)
  hitsSeen: 0,                      // hit events of the followed player shown, for tests
  scrubbing: false,
};
let ents = [];
let stats = null;
let lastPanel = 0;
let showGhost = false;
let latencyIdx = 0;
const cam = { x: 1024, y: 1024, scale: 1, zoom: 1, ready: false };
// Watch mode (a spectator): whom the camera follows, or the free camera.
const watch = {
  on: false,
  target: WATCH_ANY,                // what the JOIN asks for: a match id or WATCH_ANY
  follow: -1,                       // the followed player's id, -1 before the first snapshot
  free: false,                      // free camera: keys and drags pan, nobody followed
  fx: 0, fy: 0,                     // the free camera's centre, world units
  drag: null,                       // a pointer panning: {id, x, y, cx, cy, moved}
  spectators: null,                 // of this match, from GET /api/matches/live (null: not known)
  liveTimer: 0,
  liveFetches: 0,                   // answers used, for tests
  liveError: '',
};
const PAN_PX_PER_S = 900;           // free camera speed with the keys, screen pixels per second
const rttHistory = [];            // [{rtt, snaps, corr}] one per 100 ms
let lastHist = 0, lastHistCorr = 0, lastHistSnaps = 0;
let corrFlash = 0;                // time of the last correction, for a flash
let lastCorrections = 0;
let dpr = 1;
// Screen boxes of the HUD, refreshed a few times a second (hudBoxesNow).
let hudBoxes = [];
let hudBoxesAt = 0;

function resize() {
  dpr = Math.min(window.devicePixelRatio || 1, 2);
  canvas.width = Math.round(innerWidth * dpr);
  canvas.height = Math.round(innerHeight * dpr);
  for (const [c, w, h] of [[mini, mini.clientWidth, mini.clientHeight], [graph, graph.clientWidth, graph.clientHeight]]) {
    if (!w || !h) continue;               // the graph while the panel is compact
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
  }
  hudBoxesAt = 0;
}
addEventListener('resize', resize);
resize();

// ---------------------------------------------------------------- camera

// How much of the top and the bottom of the screen the HUD covers (CSS
// pixels, at most a third each): the header, the timer, the netcode line;
// health, the help bar, the touch controls.
function hudInsets(now) {
  const ch = innerHeight;
  let top = 0, bottom = 0;
  for (const b of hudBoxesNow(now)) {
    if (['hud', 'round-timer', 'netpanel'].includes(b.id) && b.y0 < ch / 2 && (b.id !== 'netpanel' || !panelExpanded())) {
      top = Math.max(top, b.y1);
    } else if (['vitals', 'help', 'stick', 'fire-btn', 'watchbar', 'replaybar'].includes(b.id) && b.y0 > ch / 2) {
      bottom = Math.max(bottom, ch - b.y0);
    }
  }
  return { top: Math.min(top, ch / 3), bottom: Math.min(bottom, ch / 3) };
}

// target: the local player, the followed player or the free camera's
// centre (immediate: no smoothing, the free camera). Returns the point the
// camera aims at, kept so the arena fills the screen where it can.
function updateCamera(dtMs, target, map, now, immediate = false) {
  const W = map ? map.width : 2048, H = map ? map.height : 2048;
  const cw = innerWidth, ch = innerHeight;
  cam.scale = Math.max(0.42, Math.min(1.6, Math.min(cw, ch) / 760)) * cam.zoom;
  const halfW = cw / 2 / cam.scale, halfH = ch / 2 / cam.scale;
  let tx = target ? target.x : W / 2, ty = target ? target.y : H / 2;
  const margin = 90;
  // The expanded netcode panel covers the right of the screen: the camera
  // may pan that much further east, so a player by the east wall is not
  // drawn under it. (Compact, it is one line at the top.)
  const panel = $('netpanel');
  const room = !panelExpanded() || cw < 600 ? 0 : (cw - panel.getBoundingClientRect().left) / cam.scale;
  tx = 2 * halfW >= W + 2 * margin + room ? W / 2 + room / 2
    : Math.max(halfW - margin, Math.min(W - halfW + margin + room, tx));
  // North and south likewise by what the HUD covers there, so a player by
  // the wall is drawn clear of the header, the health bar, the controls.
  const inset = hudInsets(now);
  const mt = Math.max(margin, inset.top / cam.scale + 24), mb = Math.max(margin, inset.bottom / cam.scale + 24);
  ty = 2 * halfH >= H + mt + mb ? H / 2 + (mb - mt) / 2 : Math.max(halfH - mt, Math.min(H - halfH + mb, ty));
  // Watching, a jump of the target (a respawn, another player) is a cut,
  // not a long pan across the arena.
  const cut = watch.on && Math.hypot(tx - cam.x, ty - cam.y) > Math.max(halfW, halfH);
  if (!cam.ready || immediate || cut) { cam.x = tx; cam.y = ty; cam.ready = true; return { x: tx, y: ty }; }
  const k = 1 - Math.exp(-dtMs / 60);               // light smoothing
  cam.x += (tx - cam.x) * k;
  cam.y += (ty - cam.y) * k;
  return { x: tx, y: ty };
}

const toScreen = (x, y) => ({ x: (x - cam.x) * cam.scale + innerWidth / 2, y: (y - cam.y) * cam.scale + innerHeight / 2 });

// ---------------------------------------------------------------- rendering

// Distance along a ray to the first wall or the arena edge (for tracers).
function rayHit(map, x, y, dx, dy) {
  let best = 4000;
  const W = map ? map.width : 2048, H = map ? map.height : 2048;
  if (dx > 0) best = Math.min(best, (W - x) / dx); else if (dx < 0) best = Math.min(best, -x / dx);
  if (dy > 0) best = Math.min(best, (H - y) / dy); else if (dy < 0) best = Math.min(best, -y / dy);
  for (const w of map ? map.walls : []) {
    let t0 = 0, t1 = best;
    for (const [p, d, lo, hi] of [[x, dx, w.x0, w.x1], [y, dy, w.y0, w.y1]]) {
      if (Math.abs(d) < 1e-9) { if (p < lo || p > hi) { t0 = Infinity; } continue; }
      let a = (lo - p) / d, b = (hi - p) / d;
      if (a > b) [a, b] = [b, a];
      t0 = Math.max(t0, a); t1 = Math.min(t1, b);
    }
    if (t0 <= t1 && t0 > 0) best = Math.min(best, t0);
  }
  return best;
}

function drawFloor(map) {
  const W = map ? map.width : 2048, H = map ? map.height : 2048;
  const s = cam.scale;
  ctx.fillStyle = '#06080e';
  ctx.fillRect(0, 0, innerWidth, innerHeight);

  const o = toScreen(0, 0);
  // floor with a soft radial light
  const g = ctx.createRadialGradient(toScreen(W / 2, H / 2).x, toScreen(W / 2, H / 2).y, 50 * s,
                                     toScreen(W / 2, H / 2).x, toScreen(W / 2, H / 2).y, W * 0.75 * s);
  g.addColorStop(0, '#141c2c');
  g.addColorStop(1, '#0c111c');
  ctx.fillStyle = g;
  ctx.fillRect(o.x, o.y, W * s, H * s);

  // grid: minor every 64 units, major every 256
  const x0 = Math.max(0, Math.floor((cam.x - innerWidth / 2 / s) / 64) * 64);
  const x1 = Math.min(W, cam.x + innerWidth / 2 / s);
  const y0 = Math.max(0, Math.floor((cam.y - innerHeight / 2 / s) / 64) * 64);
  const y1 = Math.min(H, cam.y + innerHeight / 2 / s);
  for (const [step, color, width] of [[64, 'rgba(120,150,210,0.055)', 1], [256, 'rgba(120,160,230,0.11)', 1.5]]) {
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.beginPath();
    for (let x = Math.ceil(x0 / step) * step; x <= x1; x += step) {
      const p = toScreen(x, 0).x;
      ctx.moveTo(p, Math.max(o.y, 0)); ctx.lineTo(p, Math.min(o.y + H * s, innerHeight));
    }
    for (let y = Math.ceil(y0 / step) * step; y <= y1; y += step) {
      const p = toScreen(0, y).y;
      ctx.moveTo(Math.max(o.x, 0), p); ctx.lineTo(Math.min(o.x + W * s, innerWidth), p);
    }
    ctx.stroke();
  }

  // arena border
  ctx.save();
  ctx.shadowColor = 'rgba(62,230,255,0.55)';
  ctx.shadowBlur = 18;
  ctx.strokeStyle = 'rgba(62,230,255,0.55)';
  ctx.lineWidth = 3;
  ctx.strokeRect(o.x - 1.5, o.y - 1.5, W * s + 3, H * s + 3);
  ctx.restore();
}

function drawWalls(map) {
  if (!map) return;
  const s = cam.scale;
  // drop shadows first so no wall's shadow covers another wall
  ctx.fillStyle = 'rgba(0,0,0,0.38)';
  for (const w of map.walls) {
    const a = toScreen(w.x0, w.y0);
    ctx.fillRect(a.x + 7 * s, a.y + 9 * s, (w.x1 - w.x0) * s, (w.y1 - w.y0) * s);
  }
  for (const w of map.walls) {
    const a = toScreen(w.x0, w.y0);
    const ww = (w.x1 - w.x0) * s, hh = (w.y1 - w.y0) * s;
    const g = ctx.createLinearGradient(a.x, a.y, a.x, a.y + hh);
    g.addColorStop(0, '#2b3954');
    g.addColorStop(1, '#1d273b');
    ctx.fillStyle = g;
    ctx.fillRect(a.x, a.y, ww, hh);
    ctx.save();
    ctx.beginPath();
    ctx.rect(a.x, a.y, ww, hh);
    ctx.clip();
    ctx.strokeStyle = 'rgba(150,185,240,0.05)';
    ctx.lineWidth = 6 * s;
    ctx.beginPath();
    const step = 22 * s;
    for (let d = -hh; d < ww; d += step) { ctx.moveTo(a.x + d, a.y + hh); ctx.lineTo(a.x + d + hh, a.y); }
    ctx.stroke();
    ctx.restore();
    // inset panel
    const inset = Math.min(8 * s, ww / 4, hh / 4);
    ctx.strokeStyle = 'rgba(140,175,235,0.10)';
    ctx.lineWidth = 1;
    ctx.strokeRect(a.x + inset, a.y + inset, ww - 2 * inset, hh - 2 * inset);
    ctx.strokeStyle = '#4a6390';
    ctx.lineWidth = 2;
    ctx.strokeRect(a.x + 1, a.y + 1, ww - 2, hh - 2);
    ctx.fillStyle = 'rgba(160,200,255,0.20)';
    ctx.fillRect(a.x + 1, a.y + 1, ww - 2, 2);
  }
}

// ---------------------------------------------------------------- shots

// One tracer per shot: from SIM_FLAG_SHOT (the step that fired) of the
// others, from the prediction's shot counter for the local player. A
// snapshot rate below the tick rate can skip the tick that fired, so a
// player FIRING with no SHOT seen for a little over the fire interval gets
// one anyway.
const TRACER_MS = 140;
const tracers = [];                 // {x0, y0, x1, y1, hit, t, color}
const lastTracerAt = new Map();     // id -> time of its last tracer

// Where a shot from (x, y) along aim stops: the first drawn player it
// crosses (alive, not the shooter) or a wall, within the weapon range.
function shotEnd(map, shooter, x, y, aim) {
  const ang = aim * 2 * Math.PI / 65536;
  const dx = Math.cos(ang), dy = Math.sin(ang);
  let best = Math.min(1400, rayHit(map, x, y, dx, dy)), hit = false;
  for (const e of ents) {
    if (e.id === shooter || (e.flags & FLAG_DEAD) || isAway(e)) continue;
    const ox = e.x - x, oy = e.y - y;
    const along = ox * dx + oy * dy;
    const d2 = ox * ox + oy * oy - along * along;
    if (along <= 0 || d2 > RADIUS * RADIUS) continue;
    const t = along - Math.sqrt(RADIUS * RADIUS - d2);
    if (t < best) { best = Math.max(0, t); hit = true; }
  }
  return { x: x + dx * best, y: y + dy * best, hit };
}

function spawnTracer(e, now) {
  const ang = e.aim * 2 * Math.PI / 65536;
  const end = shotEnd(net.map, e.id, e.x, e.y, e.aim);
  const mx = e.x + Math.cos(ang) * (RADIUS + 10), my = e.y + Math.sin(ang) * (RADIUS + 10);
  tracers.push({ x0: mx, y0: my, x1: end.x, y1: end.y, hit: end.hit, t: now,
                 color: e.self ? SELF_COLOR : colorOf(e.id) });
  if (tracers.length > 64) tracers.shift();
  lastTracerAt.set(e.id, now);
}

function spawnTracers(now) {
  if (replay.on && !net.playing) return;   // a paused replay fires nothing
  const interval = net.fireIntervalMs;
  for (const e of ents) {
    if (e.self || e.stale || isAway(e) || (e.flags & FLAG_DEAD)) continue;
    const last = lastTracerAt.get(e.id) || 0;
    if (((e.flags & FLAG_SHOT) && now - last > interval * 0.6)
        || ((e.flags & FLAG_FIRING) && now - last > interval * 1.3)) spawnTracer(e, now);
  }
}

function drawTracers(now) {
  const s = cam.scale;
  while (tracers.length && now - tracers[0].t > TRACER_MS) tracers.shift();
  ctx.save();
  ctx.lineCap = 'round';
  for (const tr of tracers) {
    const k = 1 - (now - tr.t) / TRACER_MS;
    const a = toScreen(tr.x0, tr.y0), b = toScreen(tr.x1, tr.y1);
    // A wide faint line as the glow (shadowBlur over a long line's
    // bounding box is slow on a software canvas), the bright core on top.
    ctx.strokeStyle = tr.color;
    ctx.globalAlpha = 0.22 * k;
    ctx.lineWidth = (4 + 4 * k) * s;
    ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.stroke();
    ctx.globalAlpha = 1;
    const g = ctx.createLinearGradient(a.x, a.y, b.x, b.y);
    g.addColorStop(0, `rgba(255,244,200,${0.95 * k})`);
    g.addColorStop(1, `rgba(255,200,120,${0.35 * k})`);
    ctx.strokeStyle = g;
    ctx.lineWidth = (1 + 2 * k) * s;
    ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.stroke();
    // muzzle flash, strongest in the first frames
    if (k > 0.45) {
      ctx.shadowColor = '#ffd27a';
      ctx.shadowBlur = 18;
      ctx.fillStyle = `rgba(255,232,160,${k})`;
      ctx.beginPath(); ctx.arc(a.x, a.y, (4 + 6 * k) * s, 0, Math.PI * 2); ctx.fill();
    }
    // impact: sparks on a wall, a red burst on a player
    ctx.shadowBlur = 8;
    ctx.fillStyle = tr.hit ? `rgba(255,90,90,${k})` : `rgba(255,200,120,${0.8 * k})`;
    ctx.beginPath(); ctx.arc(b.x, b.y, (tr.hit ? 7 : 4) * s * (1.3 - 0.5 * k), 0, Math.PI * 2); ctx.fill();
  }
  ctx.restore();
}

// Someone whose connection dropped (the server holds the slot), or the
// local player while this page reconnects: drawn greyed, tagged.
const isAway = (e) => (e.flags & FLAG_DISCONNECTED) !== 0 || e.offline === true;

function healthColor(f) { return f > 0.6 ? '#5ef29a' : f > 0.3 ? '#ffc857' : '#ff5d73'; }

// A dead player: a flat grey disc crossed out where it fell, no barrel,
// until the respawn.
function drawCorpse(e, p, r) {
  const s = cam.scale;
  ctx.save();
  ctx.globalAlpha = e.stale ? 0.35 : 0.7;
  ctx.fillStyle = 'rgba(0,0,0,0.3)';
  ctx.beginPath(); ctx.ellipse(p.x + 2 * s, p.y + 4 * s, r, r * 0.85, 0, 0, Math.PI * 2); ctx.fill();
  ctx.fillStyle = '#2a3142';
  ctx.strokeStyle = e.self ? SELF_COLOR : colorOf(e.id);
  ctx.lineWidth = 2;
  ctx.setLineDash([4 * s, 3 * s]);
  ctx.beginPath(); ctx.arc(p.x, p.y, r * 0.9, 0, Math.PI * 2); ctx.fill(); ctx.stroke();
  ctx.setLineDash([]);
  ctx.strokeStyle = '#ff5d73';
  ctx.lineWidth = 3 * Math.max(0.7, s);
  const k = r * 0.45;
  ctx.beginPath();
  ctx.moveTo(p.x - k, p.y - k); ctx.lineTo(p.x + k, p.y + k);
  ctx.moveTo(p.x + k, p.y - k); ctx.lineTo(p.x - k, p.y + k);
  ctx.stroke();
  ctx.restore();
}

function drawPlayer(e, now) {
  const p = toScreen(e.x, e.y);
  const s = cam.scale, r = RADIUS * s;
  const away = isAway(e);
  const dead = (e.flags & FLAG_DEAD) !== 0;
  const color = away && !e.self ? AWAY_COLOR : e.self ? SELF_COLOR : colorOf(e.id);
  const ang = e.aim * 2 * Math.PI / 65536;
  if (dead) {
    drawCorpse(e, p, r);
    drawNameTag(e, p, r, { dead: true, away });
    return p;
  }
  ctx.save();
  // others frozen where last seen while we reconnect; dropped players faded
  if (e.stale) ctx.globalAlpha = 0.5;
  if (away) ctx.globalAlpha = e.self ? 0.7 : 0.45;

  // shadow
  ctx.fillStyle = 'rgba(0,0,0,0.35)';
  ctx.beginPath(); ctx.ellipse(p.x + 3 * s, p.y + 6 * s, r * 1.02, r * 0.9, 0, 0, Math.PI * 2); ctx.fill();

  if (e.self || isFollowed(e)) {
    // pulsing ring under the local player, or the one being watched
    const pulse = (now % 1600) / 1600;
    ctx.save();
    ctx.strokeStyle = e.self ? SELF_COLOR : color;
    ctx.globalAlpha *= 0.55 * (1 - pulse);
    ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(p.x, p.y, r + 6 * s + pulse * 18 * s, 0, Math.PI * 2); ctx.stroke();
    ctx.restore();
  }

  // barrel (aim direction)
  ctx.save();
  ctx.translate(p.x, p.y);
  ctx.rotate(ang);
  ctx.fillStyle = '#0b0f18';
  ctx.fillRect(r * 0.2, -4.5 * s, r + 11 * s, 9 * s);
  ctx.fillStyle = e.self ? '#e9fbff' : '#cfd8e6';
  ctx.fillRect(r * 0.3, -2.5 * s, r + 9 * s, 5 * s);
  ctx.restore();

  // body
  ctx.save();
  if (e.self) { ctx.shadowColor = SELF_COLOR; ctx.shadowBlur = 22; }
  const g = ctx.createRadialGradient(p.x - r * 0.35, p.y - r * 0.4, r * 0.1, p.x, p.y, r);
  g.addColorStop(0, '#ffffff');
  g.addColorStop(0.25, color);
  g.addColorStop(1, shade(color, -0.35));
  ctx.fillStyle = g;
  ctx.beginPath(); ctx.arc(p.x, p.y, r, 0, Math.PI * 2); ctx.fill();
  ctx.restore();
  ctx.lineWidth = e.self ? 2.5 : 1.5;
  ctx.strokeStyle = e.self ? '#ffffff' : 'rgba(0,0,0,0.55)';
  ctx.beginPath(); ctx.arc(p.x, p.y, r, 0, Math.PI * 2); ctx.stroke();
  if (away) {
    ctx.setLineDash([5 * s, 4 * s]);
    ctx.lineDashOffset = -(now / 40);
    ctx.strokeStyle = '#ffc857';
    ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(p.x, p.y, r + 5 * s, 0, Math.PI * 2); ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.restore();

  drawNameTag(e, p, r, { dead: false, away });
  return p;
}

// Name over a player (canvas text: no markup), a small health bar between
// the name and the body for the others, and a tag under a dropped one.
function drawNameTag(e, p, r, { dead, away }) {
  const s = cam.scale;
  const label = e.name || `player ${e.id}`;
  const bar = !e.self && !dead && !away && e.health !== undefined;
  const followed = isFollowed(e);
  ctx.save();
  ctx.font = `${e.self || followed ? 700 : 600} ${Math.round(Math.max(11, 12.5 * Math.min(1.2, s)))}px Inter, "Segoe UI", system-ui, sans-serif`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  const ty = p.y - r - 8 * s - (bar ? 7 : 0);
  const tw = ctx.measureText(label).width;
  ctx.fillStyle = followed ? 'rgba(6,9,15,0.85)' : 'rgba(6,9,15,0.62)';
  roundRect(p.x - tw / 2 - 6, ty - 16, tw + 12, 18, 5);
  ctx.fill();
  if (followed) {
    // the watched player's tag: framed in its colour
    ctx.strokeStyle = colorOf(e.id);
    ctx.lineWidth = 1.5;
    ctx.stroke();
  }
  ctx.fillStyle = dead ? '#8d96a8' : e.self ? SELF_COLOR : away ? '#b7c0d0' : followed ? '#ffffff' : '#eef3fb';
  ctx.fillText(label, p.x, ty);
  if (bar) {
    const f = Math.max(0, Math.min(1, e.health / net.maxHealth));
    const bw = 34, bh = 4, bx = p.x - bw / 2, by = p.y - r - 6 * s - bh;
    ctx.fillStyle = 'rgba(6,9,15,0.75)';
    ctx.fillRect(bx - 1, by - 1, bw + 2, bh + 2);
    ctx.fillStyle = healthColor(f);
    ctx.fillRect(bx, by, bw * f, bh);
  }
  if (away && !dead) {
    const tag = e.self ? 'reconnecting…' : 'reconnecting';
    ctx.font = `700 ${Math.round(Math.max(9.5, 10.5 * Math.min(1.2, s)))}px ui-monospace, monospace`;
    ctx.textBaseline = 'top';
    const gw = ctx.measureText(tag).width;
    const gy = p.y + r + 7 * s;
    ctx.fillStyle = 'rgba(40,30,6,0.78)';
    roundRect(p.x - gw / 2 - 5, gy - 2, gw + 10, 15, 4);
    ctx.fill();
    ctx.fillStyle = '#ffc857';
    ctx.fillText(tag, p.x, gy);
  }
  ctx.restore();
}

function drawGhost(ghost) {
  if (!ghost) return;
  const p = toScreen(ghost.x, ghost.y);
  const r = RADIUS * cam.scale;
  ctx.save();
  ctx.setLineDash([4, 4]);
  ctx.strokeStyle = 'rgba(255,200,87,0.9)';
  ctx.lineWidth = 2;
  ctx.beginPath(); ctx.arc(p.x, p.y, r, 0, Math.PI * 2); ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = 'rgba(255,200,87,0.9)';
  ctx.font = '600 10px ui-monospace, monospace';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillText('server', p.x, p.y + r + 4);
  ctx.restore();
}

// The HUD's boxes on screen (CSS pixels), the visible ones: off-screen
// arrows stop short of them and the minimap fades over players. Measured
// at most four times a second (and after a resize or a panel toggle).
const HUD_IDS = ['hud', 'round-timer', 'round-banner', 'netpanel', 'killfeed', 'minimap', 'vitals', 'help',
                 'stick', 'fire-btn', 'watchbar', 'replaybar'];
function hudBoxesNow(now) {
  if (now - hudBoxesAt < 250 && hudBoxesAt) return hudBoxes;
  hudBoxesAt = now;
  hudBoxes = [];
  for (const id of HUD_IDS) {
    const r = $(id).getBoundingClientRect();
    if (r.width > 0 && r.height > 0) hudBoxes.push({ id, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom });
  }
  return hudBoxes;
}

// How far (in units of (dx, dy)) a ray from (cx, cy) can go before it
// enters one of the boxes grown by pad; at most t. A box holding the start
// is ignored.
function clearOfBoxes(cx, cy, dx, dy, t, boxes, pad) {
  for (const b of boxes) {
    let t0 = 0, t1 = t;
    for (const [c, d, lo, hi] of [[cx, dx, b.x0 - pad, b.x1 + pad], [cy, dy, b.y0 - pad, b.y1 + pad]]) {
      if (Math.abs(d) < 1e-9) { if (c < lo || c > hi) t0 = Infinity; continue; }
      let a = (lo - c) / d, z = (hi - c) / d;
      if (a > z) [a, z] = [z, a];
      t0 = Math.max(t0, a); t1 = Math.min(t1, z);
    }
    if (t0 > 0 && t0 <= t1) t = Math.min(t, t0);
  }
  return t;
}

// Chevrons at the screen edge pointing at players outside the view, kept
// clear of the HUD (the header, the netcode line, the timer...).
function drawOffscreen(self, now) {     // self: the local or the followed player
  const m = 26, w = innerWidth, h = innerHeight;
  const cx = w / 2, cy = h / 2;
  const boxes = hudBoxesNow(now);
  hud.arrows = [];
  for (const e of ents) {
    if (e.self || (self && e.id === self.id)) continue;
    const p = toScreen(e.x, e.y);
    const r = RADIUS * cam.scale;
    if (p.x >= -r && p.x <= w + r && p.y >= -r && p.y <= h + r) continue;
    const dx = p.x - cx, dy = p.y - cy;
    let t = Math.min((w / 2 - m) / Math.abs(dx || 1e-9), (h / 2 - m) / Math.abs(dy || 1e-9));
    t = clearOfBoxes(cx, cy, dx, dy, t, boxes, 14);
    const x = cx + dx * t, y = cy + dy * t;
    hud.arrows.push({ id: e.id, x, y });
    const ang = Math.atan2(dy, dx);
    const dist = self ? Math.hypot(e.x - self.x, e.y - self.y) : 0;
    ctx.save();
    ctx.translate(x, y);
    ctx.globalAlpha = Math.max(0.35, Math.min(0.9, 600 / (dist || 600)));
    ctx.rotate(ang);
    ctx.fillStyle = colorOf(e.id);
    ctx.shadowColor = 'rgba(0,0,0,0.7)';
    ctx.shadowBlur = 4;
    ctx.beginPath();
    ctx.moveTo(9, 0); ctx.lineTo(-6, -7); ctx.lineTo(-2, 0); ctx.lineTo(-6, 7);
    ctx.closePath();
    ctx.fill();
    ctx.restore();
  }
}

function drawCrosshair(now) {
  if (!mouse.seen || watch.on) return;
  const { x, y } = mouse;
  ctx.save();
  ctx.strokeStyle = mouse.down ? '#ffd27a' : '#e9fbff';
  ctx.shadowColor = 'rgba(0,0,0,0.8)';
  ctx.shadowBlur = 3;
  ctx.lineWidth = 2;
  const g = mouse.down ? 5 + Math.sin(now / 30) : 6;
  ctx.beginPath();
  for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
    ctx.moveTo(x + dx * g, y + dy * g);
    ctx.lineTo(x + dx * (g + 8), y + dy * (g + 8));
  }
  ctx.stroke();
  ctx.beginPath(); ctx.arc(x, y, 1.5, 0, Math.PI * 2); ctx.fillStyle = ctx.strokeStyle; ctx.fill();
  ctx.restore();
}

function drawCorrectionFlash(now) {
  const age = now - corrFlash;
  if (!corrFlash || age > 400) return;
  ctx.save();
  ctx.fillStyle = `rgba(255,93,115,${0.5 * (1 - age / 400)})`;
  ctx.font = '700 13px ui-monospace, monospace';
  ctx.textAlign = 'center';
  ctx.fillText(`correction ${stats ? stats.lastCorrection.toFixed(1) : ''} u`, innerWidth / 2, 70);
  ctx.restore();
}

function drawMinimap(map) {
  const w = mini.width, h = mini.height;
  const W = map ? map.width : 2048, H = map ? map.height : 2048;
  const pad = 8 * dpr, sc = Math.min((w - 2 * pad) / W, (h - 2 * pad) / H);
  mctx.clearRect(0, 0, w, h);
  mctx.fillStyle = 'rgba(20,28,44,0.9)';
  mctx.fillRect(pad, pad, W * sc, H * sc);
  mctx.strokeStyle = 'rgba(62,230,255,0.45)';
  mctx.lineWidth = 1 * dpr;
  mctx.strokeRect(pad, pad, W * sc, H * sc);
  mctx.fillStyle = '#42557a';
  for (const wl of map ? map.walls : []) mctx.fillRect(pad + wl.x0 * sc, pad + wl.y0 * sc, (wl.x1 - wl.x0) * sc, (wl.y1 - wl.y0) * sc);
  // camera view
  const vw = innerWidth / cam.scale, vh = innerHeight / cam.scale;
  mctx.strokeStyle = 'rgba(255,255,255,0.25)';
  mctx.strokeRect(pad + (cam.x - vw / 2) * sc, pad + (cam.y - vh / 2) * sc, vw * sc, vh * sc);
  for (const e of ents) {
    mctx.fillStyle = e.self ? SELF_COLOR : isAway(e) ? AWAY_COLOR : colorOf(e.id);
    mctx.globalAlpha = e.stale || isAway(e) ? 0.6 : 1;
    mctx.beginPath();
    mctx.arc(pad + e.x * sc, pad + e.y * sc, (e.self || isFollowed(e) ? 3.5 : 2.5) * dpr, 0, Math.PI * 2);
    mctx.fill();
    if (isFollowed(e)) {
      mctx.strokeStyle = '#ffffff';
      mctx.lineWidth = 1.2 * dpr;
      mctx.stroke();
    }
  }
  mctx.globalAlpha = 1;
  // A player drawn under the minimap (its body or name tag) shows through.
  const box = hudBoxes.find((b) => b.id === 'minimap');
  const reach = RADIUS * cam.scale + 24;
  const under = !!box && ents.some((e) => {
    const p = toScreen(e.x, e.y);
    return p.x > box.x0 - reach && p.x < box.x1 + reach && p.y > box.y0 - reach && p.y < box.y1 + reach;
  });
  if (under !== mini.classList.contains('under')) mini.classList.toggle('under', under);
}

function drawGraph() {
  const w = graph.width, h = graph.height;
  gctx.clearRect(0, 0, w, h);
  if (rttHistory.length < 2) return;
  // scale to the 90th percentile so one startup spike does not flatten the rest
  const sortedRtt = rttHistory.map((p) => p.rtt).sort((a, b) => a - b);
  const maxRtt = Math.max(40, sortedRtt[Math.floor(sortedRtt.length * 0.9)] * 1.5);
  const maxSnap = Math.max(1, ...rttHistory.map((p) => p.snaps));
  const n = 120, step = w / (n - 1);
  const start = n - rttHistory.length;
  // snapshot arrivals per 100 ms, as bars
  gctx.fillStyle = 'rgba(91,107,138,0.55)';
  rttHistory.forEach((p, i) => {
    const bh = (p.snaps / maxSnap) * h * 0.35;
    gctx.fillRect((start + i) * step - step / 2, h - bh, Math.max(1, step - 1), bh);
  });
  // corrections
  gctx.fillStyle = '#ff5d73';
  rttHistory.forEach((p, i) => { if (p.corr) gctx.fillRect((start + i) * step - 1, 0, 2 * dpr, h); });
  // RTT line (once there are samples)
  if (!rttHistory.some((p) => p.rtt > 0)) return;
  gctx.strokeStyle = '#3ee6ff';
  gctx.lineWidth = 1.5 * dpr;
  gctx.beginPath();
  rttHistory.forEach((p, i) => {
    const x = (start + i) * step, y = h - 3 - Math.min(1, p.rtt / maxRtt) * (h - 8);
    if (i) gctx.lineTo(x, y); else gctx.moveTo(x, y);
  });
  gctx.stroke();
  gctx.fillStyle = 'rgba(200,215,240,0.6)';
  gctx.font = `${10 * dpr}px ui-monospace, monospace`;
  gctx.fillText(`${Math.round(maxRtt)} ms`, 4 * dpr, 11 * dpr);
}

function shade(hex, amt) {
  const n = parseInt(hex.slice(1), 16);
  const f = (c) => Math.max(0, Math.min(255, Math.round(c + (amt < 0 ? c * amt : (255 - c) * amt))));
  return `rgb(${f(n >> 16)},${f((n >> 8) & 255)},${f(n & 255)})`;
}

function roundRect(x, y, w, h, r) {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}

// ---------------------------------------------------------------- panel / HUD

const fmtBytes = (b) => (b >= 1024 * 1024 ? `${(b / 1048576).toFixed(2)} MB/s` : b >= 1024 ? `${(b / 1024).toFixed(1)} KB/s` : `${Math.round(b)} B/s`);

function setText(id, html) {
  const el = $(id);
  if (el.innerHTML !== html) el.innerHTML = html;
}

const plural = (n, w) => `${n} ${w}${n === 1 ? '' : 's'}`;
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

// One line on the connection next to the state pill: attempts and time
// offline, or why it closed (short: the panel column is narrow).
function linkText(s) {
  switch (s.state) {
    case 'connecting':
    case 'joining':
      return `attempt ${s.shownAttempt}`;
    case 'reconnecting':
      return `attempt ${s.shownAttempt} · ${secs(s.offlineMs)}`;
    case 'resumed':
      return s.lastResume ? `${plural(s.lastResume.attempts, 'attempt')} · ${secs(s.lastResume.offlineMs)}` : 'resumed';
    case 'joined':
      // In a fleet, which server the matchmaker sent us to.
      return s.rejoined || `${s.matchmaker ? `${s.server} · ` : ''}${s.subprotocol}${s.drops ? ` · ${plural(s.drops, 'drop')}` : ''}`;
    case 'closed':
      return s.closeInfo || 'connection closed';
    default:
      return s.state;
  }
}

// The card over the game: large while there is nothing to play, a strip at
// the top while reconnecting (the local player can still move), a short
// note after a resume.
function updateBanner(s, now) {
  const banner = $('banner');
  const show = (cls, title, text, btn) => {
    banner.className = `banner show ${cls}`;
    $('banner-title').textContent = title;
    $('banner-text').textContent = text;
    $('banner-btn').hidden = !btn;
    if (btn) $('banner-btn').textContent = btn;
  };
  const inGame = s.state === 'joined' || s.state === 'resumed';
  if (inGame) {
    const since = now - net.joinedAt;
    if (s.state === 'resumed' && s.lastResume && since < 4000) {
      show('top ok', `Resumed · player ${s.lastResume.playerId}`,
           `back after ${plural(s.lastResume.attempts, 'attempt')}, ${secs(s.lastResume.offlineMs)} offline`, '');
    } else if (s.state === 'joined' && s.rejoined && since < 5000) {
      show('top', `Rejoined · player ${s.playerId}`, s.rejoined, '');
    } else {
      banner.className = 'banner';
    }
    return;
  }
  const waiting = s.reconnectInMs > 0;
  const when = waiting ? ` in ${secs(s.reconnectInMs)}` : '';
  if (s.state === 'reconnecting') {
    const buffered = net.welcome && !watch.on ? ` · ${s.unacked}/${s.maxUnacked} inputs buffered` : '';
    show('top', `Reconnecting · attempt ${s.shownAttempt}${when}`,
         `${waiting ? s.closeInfo || 'connection lost' : s.detail}${buffered}`, waiting ? 'Reconnect now' : '');
  } else if (s.state === 'closed') {
    const title = net.intentional ? (watch.on ? 'Stopped watching' : 'Left the match')
      : /refused/.test(s.closeInfo) ? 'Join refused' : 'Disconnected';
    show('error', title, s.closeInfo || 'connection closed', watch.on ? 'Watch again' : 'Join again');
  } else if (watch.on && waiting && s.closeCode === net.closeNoSuchMatch) {
    // ?watch=<id> of a match that is not running (or no match at all yet)
    show('', watch.target === WATCH_ANY ? 'No match to watch yet' : `Match ${watch.target} is not running`,
         `looking again${when} · attempt ${s.shownAttempt}`, 'Retry now');
  } else if (s.state === 'connecting' || s.state === 'joining') {
    const what = watch.on ? `Joining ${watchTargetText()} as a spectator` : 'Joining match';
    show('', `${s.state === 'joining' ? what : 'Connecting'} · attempt ${s.shownAttempt}${when}`,
         waiting ? s.closeInfo : /HTTP/.test(s.detail) ? s.detail : `${watch.on ? 'watching' : net.name} → ${net.url}`,
         waiting ? 'Retry now' : '');
  } else {
    show('', 'Loading', 'tickwire.wasm', '');
  }
}

// The compact line: round trip, corrections, and snapshots in (rate and
// bytes) or, when not playing, the link's state.
function updateNetLine(s) {
  const playing = s.state === 'joined' || s.state === 'resumed';
  if (watch.on) {
    // a spectator has no input, so no round trip and nothing to correct
    setText('nl-rtt', playing ? '<span class="dim">spectator</span>' : '<span class="dim">–</span>');
    setText('nl-corr', '');
  } else {
    setText('nl-rtt', playing && s.rttMs ? `<span class="dim">rtt</span> ${Math.round(s.rttMs)} ms` : '<span class="dim">rtt –</span>');
    setText('nl-corr', playing ? `<span class="${s.corrections ? 'bad' : ''}">${s.corrections}</span> <span class="dim">corr</span>` : '');
  }
  put($('nl-link'), playing ? `${s.snapshotsPerSec.toFixed(0)} snap/s · ${fmtBytes(s.bytesDownPerSec)}` : linkText(s));
}

// The transport in use (ws / HTTP stream / HTTP poll) and, on the HTTP
// fallback, why the page is there (PROTOCOL.md section 18).
function fallbackText(s) {
  if (!s.fallback && s.httpMode !== 'poll') return s.lastTransport && s.lastTransport !== 'ws' ? 'asked for (?transport=http)' : '';
  if (!s.fallback && s.probe && /asked for/.test(s.probe.why)) return s.probe.why;
  const parts = [];
  if (s.fallback) parts.push(s.fallback);
  if (s.httpMode === 'poll' && s.probe && s.probe.why) parts.push(`polling: ${s.probe.why}`);
  return parts.join('; ');
}

function updateTransport(s) {
  const t = s.transport || (s.state === 'reconnecting' ? s.lastTransport : '');
  // The compact tag only for the fallback: WebSocket is the usual case
  // (the expanded panel names it).
  const tag = $('nl-transport');
  tag.hidden = !t || t === 'ws';
  if (t) {
    const label = t === 'ws' ? 'ws' : t === 'http_stream' ? 'http stream' : 'http poll';
    put(tag, label);
    tag.className = `tport${t === 'ws' ? '' : ' http'}`;
    tag.title = `${TRANSPORT_LABEL[t]}${fallbackText(s) ? ` (fallback: ${fallbackText(s)})` : ''}`;
  }
  const why = fallbackText(s);
  setText('st-transport', t ? `${TRANSPORT_LABEL[t]}${t === 'ws' ? '' : ' <span class="dim">fallback</span>'}`
    : '<span class="dim">–</span>');
  $('st-why-dt').hidden = $('st-why-dd').hidden = !why || t === 'ws';
  put($('st-why'), why);
  $('st-why').title = why;
}

function updatePanel(now) {
  if (replay.on) { updateReplayPanel(); return; }
  const s = stats;
  updateTransport(s);
  const pill = $('conn-pill');
  pill.className = `pill ${s.state}`;
  pill.textContent = s.state === 'reconnecting' ? `reconnecting #${s.shownAttempt}`
    : watch.on && (s.state === 'joined') ? 'watching' : s.state;
  put($('st-link'), linkText(s));
  $('st-link').title = linkText(s);
  $('leave-btn').textContent = s.state === 'closed' ? (watch.on ? 'Watch' : 'Join') : watch.on ? 'Stop' : 'Leave';
  updateNetLine(s);
  if (s.state !== 'joined' && s.state !== 'resumed') {
    for (const id of ['st-rtt', 'st-snaps', 'st-down', 'st-up', 'st-corr', 'st-interp', 'st-tick', 'st-player']) setText(id, '<span class="dim">–</span>');
    setText('st-lead', '');
    setText('st-inputs', s.state === 'reconnecting' && net.welcome
      ? `#${s.inputSeq} <span class="${s.unacked >= s.maxUnacked ? 'bad' : 'dim'}">${s.unacked}/${s.maxUnacked} buffered</span>`
      : '<span class="dim">–</span>');
  } else {
    setText('st-rtt', !s.rttMs ? '<span class="dim">waiting</span>'
      : `${Math.round(s.rttMs)} ms <span class="dim">avg ${Math.round(s.rttSmoothMs)}</span>`);
    setText('st-snaps', `${s.snapshotsPerSec.toFixed(0)}/s <span class="dim">of ${s.snapshotRate} · ${s.snapshots}</span>`);
    setText('st-down', `${fmtBytes(s.bytesDownPerSec)}`);
    setText('st-up', `${fmtBytes(s.bytesUpPerSec)}`);
    setText('st-corr', `<span class="${s.corrections ? 'bad' : 'good'}">${s.corrections}</span> <span class="dim">last ${s.lastCorrection.toFixed(1)} · max ${s.maxCorrection.toFixed(1)} u</span>`);
    setText('st-interp', s.options.interpolate ? `${s.interpDepth} snap${s.interpDepth === 1 ? '' : 's'} <span class="dim">@ ${s.renderTick.toFixed(1)}</span>` : '<span class="dim">off (latest)</span>');
    setText('st-tick', `${s.serverTick} <span class="dim">${s.tickRate} Hz</span>`);
    setText('st-inputs', `#${s.inputSeq} <span class="dim">${s.unacked} unacked</span>`);
    setText('st-lead', s.options.inputTiming ? `${s.leadMs.toFixed(1)} ms ahead` : '');
    setText('st-player', `id ${s.playerId} <span class="dim">match ${s.matchId}</span>`);
    if (watch.on) {
      setText('st-rtt', '<span class="dim">none: no input</span>');
      setText('st-corr', '<span class="dim">none: nothing predicted</span>');
      setText('st-inputs', '<span class="dim">none sent</span>');
      setText('st-lead', '');
      setText('st-player', `spectator <span class="dim">match ${s.matchId}</span>`);
    }
  }
  $('opt-predict').checked = s.options.predict;
  $('opt-reconcile').checked = s.options.reconcile;
  $('opt-interpolate').checked = s.options.interpolate;
  $('opt-timing').checked = s.options.inputTiming;
  $('opt-ghost').checked = showGhost;
  for (const b of $('lat-seg').children) b.classList.toggle('on', Number(b.dataset.ms) === s.latencyMs);

  let tip;
  if (watch.on && !s.options.interpolate) tip = '<b>Interpolation off:</b> everyone jumps from snapshot to snapshot.';
  else if (watch.on) tip = `Spectators get ${s.snapshotRate || '…'} snapshots/s; interpolation (I) moves everyone smoothly between them.`;
  else if (!s.options.predict && s.latencyMs >= 100) tip = '<b>Prediction off:</b> your own moves wait a full round trip before they show.';
  else if (!s.options.predict) tip = '<b>Prediction off:</b> add latency (L) to feel the round trip on every move.';
  else if (!s.options.interpolate) tip = '<b>Interpolation off:</b> others jump from snapshot to snapshot.';
  else if (!s.options.reconcile) tip = '<b>Reconciliation off:</b> the server\'s answers never correct your prediction.';
  else if (s.latencyMs) tip = `Prediction hides the ${2 * s.latencyMs} ms round trip; turn it off (P) to see it.`;
  else tip = 'Add latency (L) and switch prediction (P) or interpolation (I) off to see what each does.';
  setText('tip', tip);

  // HUD
  if (watch.on && net.welcome && s.state === 'joined') {
    put($('match-line'), watchLine(s));
  } else if (net.welcome && (s.state === 'joined' || s.state === 'resumed')) {
    setText('match-line', `arena-move · match ${s.matchId} · ${ents.length} player${ents.length === 1 ? '' : 's'}`);
  } else {
    setText('match-line', s.state === 'closed' ? 'offline' : s.state === 'reconnecting' ? `reconnecting… attempt ${s.shownAttempt}` : `${s.state}…`);
  }
  renderRoster();

  updateBanner(s, now);
}

// ---------------------------------------------------------------- match HUD
//
// Health, hit markers, kill feed, chat, scoreboard, round timer and banner.
// Everything comes from the wasm client through net (newest snapshot,
// reliable events, the prediction's shot counters); names and chat lines
// are put in the page with textContent only.

const FEED_MAX = 5;                 // kill feed lines kept
const FEED_MS = 8000;               // ... each, fading out at the end (style.css)
const CHAT_MAX = 7;
const CHAT_MS = 20000;
const MARKER_MS = { predicted: 220, confirmed: 380, kill: 650 };
const ROUND_START_MS = 2600;        // "Round N · fight!" after a ROUND_START

const hud = {
  names: new Map(),                 // id -> last name seen (a LEAVE comes after the entity is gone)
  lastShots: 0,
  lastServerHits: 0,
  lastHealth: -1,
  markers: [],                      // {t, kind}
  counts: { predicted: 0, confirmed: 0, kills: 0 },
  damageAt: 0,
  roundStartAt: -1e9,
  roundStartNo: 0,
  roundEnd: null,                   // {round, reason, winner, winnerName}
  killedBy: '',
  scoreboardHeld: false,
  lastScoreboard: 0,
  lastRoundTop: 0,
  rosterKey: '',
  arrows: [],                       // off-screen arrows drawn last frame {id, x, y}
  eventLog: [],                     // the last 100 events, for tests and debugging
};

const selfId = () => (net && net.welcome && !watch.on ? net.welcome.playerId : -1);
// The player the HUD is about: oneself, or the one being watched.
const focusId = () => (watch.on ? (watch.free ? -1 : watch.follow) : selfId());
const isFollowed = (e) => watch.on && !watch.free && e.id === watch.follow;
// With interest management (--aoi-radius) most players are never drawn:
// their names come from the netcode's table (the first, full snapshot
// carries the whole roster; a JOIN event each newcomer).
const nameFor = (id) => hud.names.get(id) || (net && net.nameOf(id)) || `player ${id}`;
const nameColor = (id) => (id === selfId() ? SELF_COLOR : colorOf(id));

// Sets an element's text only when it changed (no layout work per frame).
function put(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function span(text, cls, color) {
  const el = document.createElement('span');
  el.textContent = text;
  if (cls) el.className = cls;
  if (color) el.style.color = color;
  return el;
}

// The kill icon: a small crosshair, built as SVG nodes.
function killIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('class', 'kf-icon');
  svg.setAttribute('aria-label', 'killed');
  const circle = document.createElementNS(ns, 'circle');
  circle.setAttribute('cx', '8'); circle.setAttribute('cy', '8'); circle.setAttribute('r', '5');
  const lines = document.createElementNS(ns, 'path');
  lines.setAttribute('d', 'M8 0v5M8 11v5M0 8h5M11 8h5');
  svg.append(circle, lines);
  return svg;
}

// A kill feed line: nodes (spans, icons), newest at the bottom.
function feedAdd(nodes, cls, now) {
  const feed = $('killfeed');
  const li = document.createElement('li');
  li.className = cls;
  li.dataset.t = String(now);
  li.append(...nodes);
  feed.append(li);
  while (feed.children.length > FEED_MAX) feed.firstElementChild.remove();
}

function chatAdd(nodes, cls, now) {
  const log = $('chat-log');
  const li = document.createElement('li');
  li.className = cls;
  li.dataset.t = String(now);
  li.append(...nodes);
  log.append(li);
  while (log.children.length > CHAT_MAX) log.firstElementChild.remove();
}

function chatSystem(text, now) { chatAdd([span(text, 'sys')], 'sys', now); }

function pruneOld(list, ms, now) {
  for (const li of [...list.children]) if (now - Number(li.dataset.t) > ms) li.remove();
}

function onEvent(ev, now) {
  hud.eventLog.push(ev);
  if (hud.eventLog.length > 100) hud.eventLog.shift();
  const me = focusId();
  const who = (id) => span(nameFor(id), id === me ? 'kf-name me' : 'kf-name', nameColor(id));
  switch (ev.type) {
    case EV.KILL:
      feedAdd([who(ev.player), killIcon(), who(ev.other)],
              ev.player === me ? 'kill mine' : ev.other === me ? 'kill died' : 'kill', now);
      if (watch.on) break;
      if (ev.player === me) addMarker('kill', now);
      if (ev.other === me) hud.killedBy = nameFor(ev.player);
      break;
    case EV.CHAT:
      chatAdd([span(`${nameFor(ev.player)}:`, 'chat-name', nameColor(ev.player)), span(ev.text, 'chat-text')],
              ev.player === me ? 'mine' : '', now);
      break;
    case EV.JOIN:
      if (ev.text) hud.names.set(ev.player, ev.text);
      feedAdd([who(ev.player), span('joined', 'kf-note')], 'note', now);
      break;
    case EV.LEAVE:
      feedAdd([who(ev.player), span('left', 'kf-note')], 'note', now);
      break;
    case EV.ROUND_START:
      hud.roundStartAt = now;
      hud.roundStartNo = ev.round;
      hud.roundEnd = null;
      hud.killedBy = '';
      feedAdd([span(`Round ${ev.round} started`, 'kf-note')], 'note round', now);
      break;
    case EV.ROUND_END: {
      const winner = ev.other === NOBODY ? '' : nameFor(ev.other);
      hud.roundEnd = { round: ev.round, reason: ev.reason, winner: ev.other, winnerName: winner };
      feedAdd([span(`Round ${ev.round} over`, 'kf-note'),
               ...(winner ? [span('—', 'kf-note'), who(ev.other), span('wins', 'kf-note')] : [])], 'note round', now);
      break;
    }
    default:
      break;
  }
}

function addMarker(kind, now) {
  hud.markers.push({ t: now, kind });
  if (hud.markers.length > 16) hud.markers.shift();
  if (kind === 'predicted') hud.counts.predicted++;
  else if (kind === 'confirmed') hud.counts.confirmed++;
  else hud.counts.kills++;
}

// Once per frame: names, events, own shots and hits, health changes.
function updateCombat(now, self) {
  for (const e of ents) if (e.name) hud.names.set(e.id, e.name);
  for (const ev of net.takeEvents()) onEvent(ev, now);

  const sh = net.shots();
  if (sh.shots < hud.lastShots || sh.serverHits < hud.lastServerHits) {
    hud.lastShots = sh.shots;         // a new player: counters from zero
    hud.lastServerHits = sh.serverHits;
  }
  if (sh.shots > hud.lastShots) {
    if (self && !isAway(self)) spawnTracer(self, now);
    if (sh.lastShotTarget >= 0) addMarker('predicted', now);   // a hit as this page drew them
  }
  if (sh.serverHits > hud.lastServerHits) addMarker('confirmed', now);
  hud.lastShots = sh.shots;
  hud.lastServerHits = sh.serverHits;
  spawnTracers(now);
  if (replay.on) replayHits(now);

  const st = selfId() >= 0 ? net.playerStats(selfId()) : null;
  const hp = st && !(st.flags & FLAG_DEAD) ? st.health : -1;
  if (hp >= 0 && hud.lastHealth >= 0 && hp < hud.lastHealth) hud.damageAt = now;
  hud.lastHealth = hp;
}

// Hit markers at the crosshair: a thin white X for a hit on this screen
// (predicted), a thick red one when the server credits it, a ring on a kill.
function drawHitMarkers(now) {
  hud.markers = hud.markers.filter((m) => now - m.t < MARKER_MS[m.kind]);
  if (!hud.markers.length) return;
  const at = mouse.seen ? mouse : selfScreen || { x: innerWidth / 2, y: innerHeight / 2 };
  ctx.save();
  ctx.lineCap = 'round';
  for (const m of hud.markers) {
    const k = 1 - (now - m.t) / MARKER_MS[m.kind];
    const big = m.kind !== 'predicted';
    const gap = big ? 8 + 4 * (1 - k) : 6, len = big ? 11 : 7;
    ctx.globalAlpha = Math.min(1, 0.25 + k);
    ctx.strokeStyle = m.kind === 'predicted' ? '#ffffff' : '#ff4d5e';
    ctx.shadowColor = m.kind === 'predicted' ? 'rgba(0,0,0,0.9)' : 'rgba(255,60,80,0.9)';
    ctx.shadowBlur = big ? 10 : 3;
    ctx.lineWidth = big ? 3.5 : 2;
    ctx.beginPath();
    for (const [dx, dy] of [[1, 1], [-1, 1], [1, -1], [-1, -1]]) {
      ctx.moveTo(at.x + dx * gap, at.y + dy * gap);
      ctx.lineTo(at.x + dx * (gap + len), at.y + dy * (gap + len));
    }
    ctx.stroke();
    if (m.kind === 'kill') {
      ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(at.x, at.y, 18 + 16 * (1 - k), 0, Math.PI * 2); ctx.stroke();
    }
  }
  ctx.restore();
}

// A red edge when the local player takes damage.
function drawDamage(now) {
  const age = now - hud.damageAt;
  if (!hud.damageAt || age > 350) return;
  const w = innerWidth, h = innerHeight;
  const g = ctx.createRadialGradient(w / 2, h / 2, Math.min(w, h) * 0.35, w / 2, h / 2, Math.max(w, h) * 0.75);
  g.addColorStop(0, 'rgba(255,40,60,0)');
  g.addColorStop(1, `rgba(255,40,60,${0.38 * (1 - age / 350)})`);
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, w, h);
}

const fmtClock = (sec) => {
  const t = Math.max(0, Math.ceil(sec));
  return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`;
};

// The top score in the newest snapshot (when the ROUND_END was missed).
function leader() {
  let best = null;
  for (const e of ents) {
    const st = net.playerStats(e.id);
    if (st && st.score > 0 && (!best || st.score > best.score)) best = { id: e.id, score: st.score };
  }
  return best;
}

// Round timer (top centre) and round banner (under it).
function updateRound(now, inGame) {
  if (replay.on) return updateReplayRound(inGame);
  const m = inGame ? net.match() : null;
  const timer = $('round-timer'), banner = $('round-banner');
  if (!m) {
    timer.hidden = true;
    banner.hidden = true;
    return null;
  }
  timer.hidden = false;
  const playersIn = ents.filter((e) => !(e.flags & FLAG_DISCONNECTED)).length;
  let phase, clock, note, title = '', sub = '';
  if (m.phase === PHASE.WARMUP) {
    const need = Math.max(0, m.minPlayers - playersIn);
    phase = 'WARMUP';
    clock = `${playersIn}/${m.minPlayers}`;
    note = 'players';
    title = 'Warmup';
    sub = need ? `waiting for ${plural(need, 'more player')} · shots count, scores do not` : 'starting…';
  } else if (m.phase === PHASE.LIVE) {
    phase = `ROUND ${m.round}`;
    clock = m.secondsLeft >= 0 ? fmtClock(m.secondsLeft) : '∞';
    note = m.scoreLimit ? `first to ${m.scoreLimit}` : 'no score limit';
    if (hud.roundStartNo === m.round && now - hud.roundStartAt < ROUND_START_MS) {
      title = `Round ${m.round}`;
      sub = `fight! · ${clock}${m.scoreLimit ? ` · first to ${m.scoreLimit} kills` : ''}`;
    }
  } else {
    const end = hud.roundEnd && hud.roundEnd.round === m.round ? hud.roundEnd : null;
    const lead = end ? null : leader();
    const winner = end ? end.winnerName : lead ? nameFor(lead.id) : '';
    phase = `ROUND ${m.round} OVER`;
    clock = fmtClock(m.secondsLeft);
    note = 'next round';
    title = `Round ${m.round} over — ${winner ? `${winner} wins` : 'no winner'}`;
    const why = end ? END_REASON[end.reason] : '';
    sub = `${why ? `${why} · ` : ''}next round in ${Math.max(0, Math.ceil(m.secondsLeft))} s`;
  }
  timer.className = `round-timer phase-${m.phase}${m.phase === PHASE.LIVE && m.secondsLeft >= 0 && m.secondsLeft <= 10 ? ' urgent' : ''}`;
  put($('rt-phase'), phase);
  put($('rt-clock'), clock);
  put($('rt-note'), note);
  banner.hidden = !title;
  banner.className = `round-banner phase-${m.phase}`;
  put($('rb-title'), title);
  put($('rb-sub'), sub);
  if (m.phase === PHASE.ENDED && now - hud.lastRoundTop > 250) {
    renderRoundTop(true);
    hud.lastRoundTop = now;
  } else if (m.phase !== PHASE.ENDED) {
    renderRoundTop(false);
  }
  return m;
}

// Own health (bottom centre), own shooting, and the death card.
function updateVitals(inGame) {
  const me = selfId();
  const st = inGame && me >= 0 && !watch.on ? net.playerStats(me) : null;
  const vitals = $('vitals'), death = $('death');
  if (!st) {
    vitals.hidden = true;
    death.hidden = true;
    return;
  }
  vitals.hidden = false;
  const dead = (st.flags & FLAG_DEAD) !== 0;
  const hp = dead ? 0 : st.health;
  const f = Math.max(0, Math.min(1, hp / net.maxHealth));
  const fill = $('hp-fill');
  const width = `${(100 * f).toFixed(1)}%`;
  if (fill.style.width !== width) fill.style.width = width;
  fill.style.background = healthColor(f);
  put($('hp-num'), dead ? 'DEAD' : String(hp));
  vitals.classList.toggle('dead', dead);
  vitals.classList.toggle('low', !dead && f <= 0.3);
  const sh = net.shots();
  put($('kd-line'), `${plural(st.kills, 'kill')} · ${plural(st.deaths, 'death')} · score ${st.score}`);
  put($('shots-line'), `${plural(sh.shots, 'shot')} · hits: ${sh.screenHits} on screen, ${sh.serverHits} by server`);
  death.hidden = !dead;
  if (dead) {
    put($('death-title'), hud.killedBy ? `Killed by ${hud.killedBy}` : 'You died');
    put($('death-sub'), `respawn in ${(net.respawnLeftMs() / 1000).toFixed(1)} s`);
  }
}

// Everyone in the newest snapshot with their numbers, best score first
// (ties: more kills, fewer deaths, lower id, as the server picks a winner).
function ranked() {
  const rows = ents.map((e) => ({ e, st: net.playerStats(e.id) })).filter((r) => r.st);
  rows.sort((a, b) => b.st.score - a.st.score || b.st.kills - a.st.kills || a.st.deaths - b.st.deaths || a.e.id - b.e.id);
  return rows;
}

// Between rounds the banner lists the top of the round (the full board is
// on Tab), so the results do not cover the arena.
function renderRoundTop(show) {
  const list = $('rb-top');
  list.hidden = !show;
  if (!show) return;
  const me = focusId();
  const items = ranked().slice(0, 5).map(({ e, st }) => {
    const li = document.createElement('li');
    if (e.id === me) li.className = 'me';
    const sw = span('', 'swatch');
    sw.style.background = e.id === selfId() ? SELF_COLOR : colorOf(e.id);
    li.append(sw, span(e.name || `player ${e.id}`, 'rt-name'), span(`${st.kills}/${st.deaths}`, 'rt-kd'),
              span(String(st.score), 'rt-score'));
    return li;
  });
  list.replaceChildren(...items);
}

// Scoreboard rows: everyone in the newest snapshot, best score first.
function renderScoreboard(m) {
  const me = focusId();
  const rows = ranked();
  const trs = rows.map(({ e, st }, i) => {
    const tr = document.createElement('tr');
    // (a replay's final board is the results: nobody greyed for being dead at the last tick)
    const final = replay.on && m && m.phase === PHASE.ENDED;
    tr.className = `${e.id === me ? 'me' : ''}${st.flags & FLAG_DEAD && !final ? ' dead' : ''}${isAway(e) ? ' away' : ''}`;
    const name = document.createElement('td');
    name.className = 'sb-name';
    const sw = span('', 'swatch');
    sw.style.background = e.id === selfId() ? SELF_COLOR : isAway(e) ? AWAY_COLOR : colorOf(e.id);
    name.append(span(String(i + 1), 'sb-rank'), sw, span(e.name || `player ${e.id}`, 'sb-player'));
    if (e.id === me) name.append(span(watch.on ? 'WATCHING' : 'YOU', 'tag'));
    const cells = [st.kills, st.deaths, st.score, replay.on ? st.hits
      : e.id === me && !watch.on ? (stats && stats.rttSmoothMs ? `${Math.round(stats.rttSmoothMs)} ms` : '…') : '–'];
    tr.append(name, ...cells.map((v) => { const td = document.createElement('td'); td.textContent = String(v); return td; }));
    return tr;
  });
  $('sb-rows').replaceChildren(...trs);
  put($('sb-last'), replay.on ? 'Hits' : 'Ping');
  trs.forEach((tr, i) => { tr.dataset.id = String(rows[i].e.id); });
  let cap = 'Scoreboard';
  if (m && m.phase === PHASE.LIVE) cap = `Round ${m.round} · ${fmtClock(m.secondsLeft)} left${m.scoreLimit ? ` · first to ${m.scoreLimit}` : ''}`;
  else if (m && m.phase === PHASE.ENDED) cap = `Round ${m.round} results`;
  else if (m) cap = 'Warmup';
  if (replay.on && m) {
    cap = m.phase === PHASE.ENDED ? `Match ${net.info.matchId} · round ${m.round} · final scoreboard`
      : `Replay · round ${m.round} · at ${fmtTime((net.pos - net.info.startTick) / net.info.tickRate)}`;
  }
  put($('sb-caption'), cap);
}

// Shown while Tab is held.
function updateScoreboard(now, m) {
  const board = $('scoreboard');
  // A replay's last tick shows the final scoreboard without Tab.
  const show = !!m && (hud.scoreboardHeld || (replay.on && m.phase === PHASE.ENDED && !replay.listOpen));
  if (show && board.hidden) hud.lastScoreboard = 0;
  board.hidden = !show;
  if (show && now - hud.lastScoreboard > 250) {
    renderScoreboard(m);
    hud.lastScoreboard = now;
  }
}

function updateHud(now) {
  const inGame = net.inGame;
  const m = updateRound(now, inGame);
  updateVitals(inGame);
  updateWatchBar(inGame || net.state === 'reconnecting');
  updateScoreboard(now, m);
  pruneOld($('killfeed'), FEED_MS, now);
  if (!chatIsOpen()) pruneOld($('chat-log'), CHAT_MS, now);
}

// Top-left player list: oneself, then the best scores, with kills; short
// (the full list is the scoreboard on Tab) so it covers little of the
// arena; rebuilt only when it changes.
function renderRoster() {
  const withStats = ents.map((e) => ({ e, st: net.playerStats(e.id) }));
  const first = (e) => (e.self || isFollowed(e) ? 1 : 0);
  withStats.sort((a, b) => (first(b.e) - first(a.e)) || ((b.st ? b.st.score : 0) - (a.st ? a.st.score : 0))
    || a.e.id - b.e.id);
  const sorted = withStats.map((r) => r.e);
  const max = innerHeight <= 480 ? 3 : innerWidth <= 600 ? 4 : 6;     // phones: see style.css
  const rows = withStats.slice(0, max).map(({ e, st }) => (
    { e, kills: st ? st.kills : 0, dead: st ? (st.flags & FLAG_DEAD) !== 0 : false }));
  const key = JSON.stringify([rows.map(({ e, kills, dead }) => [e.id, e.name, e.self, isFollowed(e), isAway(e), kills, dead]),
    sorted.length]);
  if (key === hud.rosterKey) return;
  hud.rosterKey = key;
  const items = rows.map(({ e, kills, dead }) => {
    const li = document.createElement('li');
    li.className = `${e.self ? 'me' : ''}${isFollowed(e) ? ' followed' : ''}${isAway(e) ? ' away' : ''}${dead ? ' dead' : ''}`;
    li.dataset.id = String(e.id);
    const sw = span('', 'swatch');
    sw.style.background = e.self ? SELF_COLOR : isAway(e) ? AWAY_COLOR : colorOf(e.id);
    li.append(sw, span(e.name || `player ${e.id}`, 'r-name'));
    if (e.self) li.append(span('YOU', 'tag'));
    if (isFollowed(e)) li.append(span('WATCHING', 'tag'));
    if (isAway(e)) li.append(span('RECONNECTING', 'tag away'));
    li.append(span(String(kills), 'r-kills'));
    return li;
  });
  if (sorted.length > max) {
    const li = document.createElement('li');
    li.className = 'more';
    li.textContent = `+${sorted.length - max} more${document.body.classList.contains('touch') ? '' : ' · Tab'}`;
    items.push(li);
  }
  $('roster').replaceChildren(...items);
}

// ---------------------------------------------------------------- chat

const chatInput = $('chat-input');
const chatIsOpen = () => document.activeElement === chatInput;

// Enter opens the box; while it has the focus no key reaches the game
// (the player stands still, the trigger is released).
function openChat() {
  if (!net || !net.inGame || watch.on) return;      // spectators read the chat only
  keys.clear();
  mouse.down = false;
  $('chat').classList.add('open');
  chatInput.focus();
}

function closeChat(keepDraft) {
  if (!keepDraft) chatInput.value = '';
  $('chat').classList.remove('open');
  if (chatIsOpen()) chatInput.blur();
}

function bindChat() {
  chatInput.maxLength = net.maxChatChars;
  chatInput.addEventListener('keydown', (e) => {
    if (e.code === 'Enter' || e.code === 'NumpadEnter') {
      const text = chatInput.value.trim();
      if (text) {
        const why = net.sendChat(text);
        if (why) chatSystem(`not sent: ${why}`, performance.now());
      }
      closeChat(false);
    } else if (e.code === 'Escape') {
      closeChat(false);
    } else if (e.code !== 'Tab') {
      return;                         // typing: the input's own
    }
    e.preventDefault();
    e.stopPropagation();
  });
  chatInput.addEventListener('blur', () => $('chat').classList.remove('open'));
}

// ---------------------------------------------------------------- main loop

let lastFrame = 0;
function frame(now) {
  const dt = lastFrame ? Math.min(100, now - lastFrame) : 16;
  lastFrame = now;
  net.update(now);
  ents = net.view(now);
  stats = net.sample(now);

  if (stats.corrections > lastCorrections) corrFlash = now;
  lastCorrections = stats.corrections;
  if (now - lastHist >= 100) {
    rttHistory.push({ rtt: stats.rttMs, snaps: stats.snapshots - lastHistSnaps, corr: stats.corrections > lastHistCorr });
    lastHistSnaps = stats.snapshots;
    lastHistCorr = stats.corrections;
    if (rttHistory.length > 120) rttHistory.shift();
    lastHist = now;
  }

  const self = ents.find((e) => e.self);
  let focus = self;
  if (watch.on && watch.free) {
    panFree(dt);
    const t = updateCamera(dt, { x: watch.fx, y: watch.fy }, net.map, now, true);
    watch.fx = t.x;                 // panning past the edge does not pile up
    watch.fy = t.y;
    focus = null;
  } else if (watch.on) {
    focus = followed();
    updateCamera(dt, focus, net.map, now);
  } else {
    updateCamera(dt, self, net.map, now);
  }
  updateCombat(now, self);

  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  drawFloor(net.map);
  drawWalls(net.map);
  for (const e of ents) if (!e.self && (e.flags & FLAG_DEAD)) drawPlayer(e, now);   // corpses below the living
  drawTracers(now);
  for (const e of ents) if (!e.self && !(e.flags & FLAG_DEAD) && !isFollowed(e)) drawPlayer(e, now);
  if (focus && !focus.self && !(focus.flags & FLAG_DEAD)) drawPlayer(focus, now);  // the watched one on top
  selfScreen = self ? drawPlayer(self, now) : null;
  if (showGhost && !watch.on) drawGhost(net.serverSelf());
  drawOffscreen(focus, now);
  drawDamage(now);
  drawCorrectionFlash(now);
  drawCrosshair(now);
  drawHitMarkers(now);
  if (replay.on) { drawReplayMarks(now); updateReplayBar(); }
  if (replay.on && replay.prefer >= 0 && !watch.free && ents.some((e) => e.id === replay.prefer)) {
    watch.follow = replay.prefer;
    replay.prefer = -1;
  }
  drawMinimap(net.map);
  updateHud(now);

  if (now - lastPanel > 200) {
    updatePanel(now);
    drawGraph();
    lastPanel = now;
  }
  requestAnimationFrame(frame);
}

// ---------------------------------------------------------------- controls

function panelExpanded() { return $('netpanel').classList.contains('expanded'); }

// The netcode panel: compact (one line) or expanded (F3, or its button).
function setPanelExpanded(on) {
  $('netpanel').classList.toggle('expanded', on);
  $('net-toggle').setAttribute('aria-expanded', String(on));
  resize();                         // the graph gets its size once shown
  lastPanel = 0;
}

function toggle(opt) {
  net.setOptions({ [opt]: !net.options[opt] });
  lastPanel = 0;
}

function setLatency(ms) {
  latencyIdx = Math.max(0, LATENCIES.indexOf(ms));
  net.latencyMs = ms;
  lastPanel = 0;
}

function bindControls() {
  addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (chatIsOpen() || e.target === chatInput) return;     // typing a chat line
    if (e.code === 'Tab') {
      hud.scoreboardHeld = true;
      hud.lastScoreboard = 0;
      e.preventDefault();
      return;
    }
    if ((e.code === 'Enter' || e.code === 'NumpadEnter') && !e.repeat) {
      openChat();
      e.preventDefault();
      return;
    }
    if (e.code === 'F3' || e.code === 'Backquote') {
      setPanelExpanded(!panelExpanded());
      e.preventDefault();
      return;
    }
    if (watch.on && watchKey(e)) {
      e.preventDefault();
      return;
    }
    if (MOVE[e.code]) {
      keys.add(e.code);
      e.preventDefault();
      return;
    }
    if (e.repeat) return;
    switch (e.code) {
      case 'KeyP': if (!watch.on) toggle('predict'); break;
      case 'KeyR': if (!watch.on) toggle('reconcile'); break;
      case 'KeyI': toggle('interpolate'); break;
      case 'KeyG': if (!watch.on) { showGhost = !showGhost; lastPanel = 0; } break;
      case 'KeyL': setLatency(LATENCIES[(latencyIdx + 1) % LATENCIES.length]); break;
      default: return;
    }
    e.preventDefault();
  });
  addEventListener('keyup', (e) => {
    keys.delete(e.code);
    if (e.code === 'Tab') hud.scoreboardHeld = false;
  });
  addEventListener('blur', () => {
    keys.clear(); mouse.down = false; hud.scoreboardHeld = false;
    touch.buttons = 0; touch.fire = false;
  });

  addEventListener('pointermove', (e) => { mouse.x = e.clientX; mouse.y = e.clientY; mouse.seen = true; });
  canvas.addEventListener('pointerdown', (e) => {
    if (chatIsOpen()) closeChat(true);          // back to the game; the draft waits for the next Enter
    mouse.x = e.clientX; mouse.y = e.clientY; mouse.seen = true;
    if (watch.on) { dragStart(e); return; }     // watching: a drag pans, a click follows
    if (e.button === 0) mouse.down = true;
  });
  canvas.addEventListener('pointermove', (e) => { if (watch.on) dragMove(e); });
  addEventListener('pointerup', (e) => {
    if (watch.on) dragEnd(e);
    if (e.button === 0) mouse.down = false;
  });
  addEventListener('pointercancel', (e) => {         // a touch taken over by the system
    mouse.down = false;
    pinch.pts.delete(e.pointerId);
    if (pinch.pts.size < 2) pinch.d0 = 0;
    if (watch.drag && watch.drag.id === e.pointerId) watch.drag = null;
    document.body.classList.remove('dragging');
  });
  canvas.addEventListener('contextmenu', (e) => e.preventDefault());
  canvas.addEventListener('wheel', (e) => {
    cam.zoom = Math.max(0.45, Math.min(2.2, cam.zoom * Math.exp(-e.deltaY * 0.0015)));
    e.preventDefault();
  }, { passive: false });

  for (const [id, opt] of [['opt-predict', 'predict'], ['opt-reconcile', 'reconcile'], ['opt-interpolate', 'interpolate'],
    ['opt-timing', 'inputTiming']]) {
    $(id).addEventListener('change', (e) => { net.setOptions({ [opt]: e.target.checked }); e.target.blur(); });
  }
  $('opt-ghost').addEventListener('change', (e) => { showGhost = e.target.checked; e.target.blur(); });
  for (const b of $('lat-seg').children) {
    b.addEventListener('click', () => { setLatency(Number(b.dataset.ms)); b.blur(); });
  }
  $('net-toggle').addEventListener('click', (e) => { setPanelExpanded(!panelExpanded()); e.currentTarget.blur(); });
  $('banner-btn').addEventListener('click', (e) => { if (!replay.on) net.reconnectNow(); e.target.blur(); });
  $('leave-btn').addEventListener('click', (e) => {
    if (replay.on) { e.target.blur(); return; }
    if (net.state === 'closed') net.rejoin(); else net.leave(watch.on ? 'you stopped watching' : undefined);
    e.target.blur();
  });
  for (const b of $('mode-seg').children) {
    b.addEventListener('click', () => { setMode(b.dataset.mode); b.blur(); });
  }
  $('wb-prev').addEventListener('click', (e) => { cycle(-1); e.currentTarget.blur(); });
  $('wb-next').addEventListener('click', (e) => { cycle(1); e.currentTarget.blur(); });
  $('wb-free').addEventListener('click', (e) => { setFree(!watch.free); e.currentTarget.blur(); });
  // A name in the roster: follow that player.
  $('roster').addEventListener('click', (e) => {
    const li = e.target.closest('li[data-id]');
    if (watch.on && li) follow(Number(li.dataset.id));
  });
  // Navigating away or closing the tab is a leave, never a drop to retry.
  addEventListener('pagehide', () => { if (net && net.state !== 'closed') net.leave('page closed'); });
  addEventListener('pageshow', (e) => {
    if (e.persisted && net && net.state === 'closed' && net.closeInfo === 'page closed') net.rejoin();
  });
}


// ---------------------------------------------------------------- watch mode
//
// A spectator follows a player (the camera on it, its name framed, first in
// the roster, the bar at the bottom shows it) and cycles with [ ] or Q E, a
// click on a player or a name follows it; F, the bar's button, a pan key or
// a drag switch to the free camera (WASD / arrows / drag pan, the wheel or
// a pinch zooms). Nothing is sent after the JOIN (NetClient.update).

const CYCLE_KEYS = { BracketLeft: -1, KeyQ: -1, BracketRight: 1, KeyE: 1 };
const LIVE_POLL_MS = 2000;          // GET /api/matches/live for the spectator count

const watchTargetText = () => (watch.target === WATCH_ANY ? 'a match' : `match ${watch.target}`);

// The header line while watching; on a narrow header it wraps at the
// " · " only (no-break spaces inside the two parts).
function watchLine(s) {
  const n = watch.spectators;
  return `Watching\u00a0match\u00a0${s.matchId}${n === null ? '' : ` · ${plural(n, 'spectator').replace(' ', '\u00a0')}`}`;
}

// The players [ and ] step through: by id, so the order holds while the
// scores change.
function cycleOrder() { return ents.filter((e) => !e.self).sort((a, b) => a.id - b.id); }

// The followed player as drawn now. With nobody followed yet it picks the
// leader; when the followed one has left, the next by id.
function followed() {
  let e = ents.find((x) => x.id === watch.follow);
  if (e) return e;
  const order = cycleOrder();
  if (!order.length) return null;
  if (watch.follow < 0) {
    const top = ranked()[0];
    e = top ? top.e : order[0];
  } else {
    e = order.find((x) => x.id > watch.follow) || order[0];
  }
  watch.follow = e.id;
  return e;
}

function follow(id) {
  replay.prefer = -1;
  watch.follow = id;
  watch.free = false;
  hud.lastScoreboard = 0;
}

function cycle(dir) {
  if (!watch.on) return;
  const order = cycleOrder();
  if (!order.length) return;
  const i = order.findIndex((e) => e.id === watch.follow);
  follow((i < 0 ? order[0] : order[(i + dir + order.length) % order.length]).id);
}

// The free camera starts where the camera is.
function setFree(on) {
  if (!watch.on || on === watch.free) return;
  if (on) { watch.fx = cam.x; watch.fy = cam.y; }
  watch.free = on;
  hud.lastScoreboard = 0;
}

// A key while watching: true when it was the watch's.
function watchKey(e) {
  if (replay.on && replayKey(e)) return true;
  if (CYCLE_KEYS[e.code]) {
    if (!e.repeat) cycle(CYCLE_KEYS[e.code]);
    return true;
  }
  if (e.code === 'KeyF') {
    if (!e.repeat) setFree(!watch.free);
    return true;
  }
  if (e.code === 'Space') return true;               // nothing to fire
  if (MOVE[e.code]) {
    keys.add(e.code);
    setFree(true);
    return true;
  }
  return false;
}

// The pan keys held, once per frame in free camera.
function panFree(dtMs) {
  let dx = 0, dy = 0;
  for (const k of keys) {
    const b = MOVE[k] || 0;
    if (b & BTN.LEFT) dx--;
    if (b & BTN.RIGHT) dx++;
    if (b & BTN.UP) dy--;
    if (b & BTN.DOWN) dy++;
  }
  if (!dx && !dy) return;
  const len = Math.hypot(dx, dy), v = PAN_PX_PER_S / cam.scale * dtMs / 1000;
  watch.fx += dx / len * v;
  watch.fy += dy / len * v;
}

// Pointers on the canvas while watching: one drags the free camera (a
// press without a drag on a player follows it), two pinch the zoom.
const pinch = { pts: new Map(), d0: 0, z0: 1 };
const pinchDist = () => { const [a, b] = [...pinch.pts.values()]; return Math.hypot(a.x - b.x, a.y - b.y); };

function dragStart(e) {
  if (e.pointerType === 'mouse' && e.button !== 0) return;
  pinch.pts.set(e.pointerId, { x: e.clientX, y: e.clientY });
  if (pinch.pts.size === 2) {
    watch.drag = null;
    pinch.d0 = pinchDist();
    pinch.z0 = cam.zoom;
    return;
  }
  watch.drag = { id: e.pointerId, x: e.clientX, y: e.clientY, cx: cam.x, cy: cam.y, moved: false };
  if (canvas.setPointerCapture) canvas.setPointerCapture(e.pointerId);
}

function dragMove(e) {
  if (pinch.pts.has(e.pointerId)) pinch.pts.set(e.pointerId, { x: e.clientX, y: e.clientY });
  if (pinch.pts.size === 2 && pinch.d0 > 0) {
    cam.zoom = Math.max(0.45, Math.min(2.2, pinch.z0 * pinchDist() / pinch.d0));
    return;
  }
  const d = watch.drag;
  if (!d || e.pointerId !== d.id) return;
  const dx = e.clientX - d.x, dy = e.clientY - d.y;
  if (!d.moved && dx * dx + dy * dy < 36) return;
  if (!d.moved) {
    d.moved = true;
    setFree(true);
    document.body.classList.add('dragging');
  }
  watch.fx = d.cx - dx / cam.scale;
  watch.fy = d.cy - dy / cam.scale;
}

function dragEnd(e) {
  pinch.pts.delete(e.pointerId);
  if (pinch.pts.size < 2) pinch.d0 = 0;
  const d = watch.drag;
  if (!d || e.pointerId !== d.id) return;
  watch.drag = null;
  document.body.classList.remove('dragging');
  if (d.moved) return;
  const hit = playerAt(e.clientX, e.clientY);
  if (hit) follow(hit.id);
}

// The player drawn under a screen point (its body, a little grown), or null.
function playerAt(x, y) {
  let best = null, bestD = (RADIUS * cam.scale + 12) ** 2;
  for (const e of ents) {
    const p = toScreen(e.x, e.y);
    const d = (p.x - x) ** 2 + (p.y - y) ** 2;
    if (d < bestD) { best = e; bestD = d; }
  }
  return best;
}

// The bar at the bottom: the followed player (name, health, score) between
// the previous and next buttons, and the free camera's button.
function updateWatchBar(show) {
  const bar = $('watchbar');
  const on = watch.on && show;
  if (bar.hidden === on) { bar.hidden = !on; hudBoxesAt = 0; }
  if (!on) return;
  bar.classList.toggle('free', watch.free);
  $('wb-free').setAttribute('aria-pressed', String(watch.free));
  const e = watch.free ? null : ents.find((x) => x.id === watch.follow);
  const st = e ? net.playerStats(e.id) : null;
  const sw = $('wb-swatch');
  const touchUi = document.body.classList.contains('touch');
  if (watch.free) {
    put($('wb-name'), 'Free camera');
    put($('wb-line'), touchUi ? 'drag to pan · pinch to zoom · ‹ › follow' : 'WASD / arrows / drag pan · F follows');
    sw.style.background = 'transparent';
  } else if (e) {
    put($('wb-name'), e.name || `player ${e.id}`);
    sw.style.background = isAway(e) ? AWAY_COLOR : colorOf(e.id);
    const dead = st && (st.flags & FLAG_DEAD) !== 0;
    const narrow = innerWidth <= 600;                // phones: the short form
    put($('wb-line'), !st ? '' : `${dead ? 'dead · ' : isAway(e) ? 'reconnecting · ' : ''}`
      + (narrow ? `K ${st.kills} · D ${st.deaths} · score ${st.score}`
        : `${plural(st.kills, 'kill')} · ${plural(st.deaths, 'death')} · score ${st.score}`));
  } else {
    put($('wb-name'), 'Waiting for players');
    put($('wb-line'), '');
    sw.style.background = 'transparent';
  }
  const f = st && !(st.flags & FLAG_DEAD) ? Math.max(0, Math.min(1, st.health / net.maxHealth)) : 0;
  const fill = $('wb-hp-fill');
  const width = `${(100 * f).toFixed(1)}%`;
  if (fill.style.width !== width) fill.style.width = width;
  fill.style.background = healthColor(f);
  $('wb-hp').hidden = !st;
}

// The spectator count: this match's entry in GET /api/matches/live.
async function pollLive() {
  if (!watch.on || replay.on || !net || !net.inGame || !net.welcome || document.hidden) return;
  const matchId = net.welcome.matchId;
  try {
    const res = await fetch(new URL('/api/matches/live', httpBase(net.url)), { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const j = await res.json();
    const m = (j.matches || []).find((x) => x.id === matchId);
    if (!watch.on || !net.welcome || net.welcome.matchId !== matchId) return;     // switched meanwhile
    watch.spectators = m && Number.isInteger(m.spectators) ? m.spectators : null;
    watch.liveFetches++;
    watch.liveError = '';
  } catch (err) {
    watch.liveError = String(err.message || err);
  }
  lastPanel = 0;
}

// Page mode: on, the body gets .watch (style.css hides the player's HUD and
// shows the watch bar); the mode buttons show which.
function applyMode(on, target, mode = on ? 'watch' : 'play') {
  watch.on = on;
  watch.target = target;
  watch.follow = -1;
  watch.free = false;
  watch.drag = null;
  watch.spectators = null;
  document.body.classList.toggle('watch', on);
  for (const b of $('mode-seg').children) {
    const sel = b.dataset.mode === mode;
    b.classList.toggle('on', sel);
    b.setAttribute('aria-pressed', String(sel));
  }
  keys.clear();
  mouse.down = false;
  hudBoxesAt = 0;
  lastPanel = 0;
}

// What the last match left on screen goes: feed, chat, names, markers.
function resetMatchView() {
  $('killfeed').replaceChildren();
  $('chat-log').replaceChildren();
  hud.names.clear();
  hud.markers = [];
  hud.roundEnd = null;
  hud.roundStartAt = -1e9;
  hud.killedBy = '';
  hud.rosterKey = '';
  hud.lastShots = 0;
  hud.lastServerHits = 0;
  hud.lastHealth = -1;
  tracers.length = 0;
  lastTracerAt.clear();
  ents = [];
  cam.ready = false;
}

// The Play and Watch buttons: leave (a player leaves its match: close
// 1000), then join the other way; the URL says which (?watch=any).
function setMode(mode, target = WATCH_ANY) {
  if (mode === 'replay') { enterReplay(typeof target === 'string' ? target : ''); return; }
  if (replay.on) leaveReplay();
  const on = mode === 'watch';
  if (on === watch.on && net.state !== 'closed') return;
  if (net.state !== 'closed') net.leave(on ? 'switched to watching' : 'switched to playing');
  applyMode(on, target);
  const params = new URLSearchParams(location.search);
  if (on) params.set('watch', target === WATCH_ANY ? 'any' : String(target));
  else params.delete('watch');
  history.replaceState(null, '', `${location.pathname}${params.size ? `?${params}` : ''}${location.hash}`);
  resetMatchView();
  net.connect(serverUrl, net.name, { watch: on ? target : null });
}
// A hidden tab does not poll; it asks again as soon as it is shown.
setInterval(pollLive, LIVE_POLL_MS);
document.addEventListener('visibilitychange', () => { if (!document.hidden) pollLive(); });

// ---------------------------------------------------------------- touch

const STICK_DEAD = 0.22;            // of the stick's radius: no movement inside
const SIN_22_5 = Math.sin(Math.PI / 8);

const aimOf = (dx, dy) => Math.round(Math.atan2(dy, dx) * 65536 / (2 * Math.PI)) & 0xffff;

function useTouch() {
  if (document.body.classList.contains('touch')) return;
  document.body.classList.add('touch');
  hudBoxesAt = 0;
}

// A touch control owns its pointer until it is lifted: its moves and
// release do not reach the window's mouse handlers.
function ownPointer(el, onDown, onMove, onUp) {
  el.addEventListener('pointerdown', (e) => {
    el.setPointerCapture(e.pointerId);
    touch.pointers.add(e.pointerId);
    onDown(e);
    e.preventDefault();
    e.stopPropagation();
  });
  el.addEventListener('pointermove', (e) => {
    if (!touch.pointers.has(e.pointerId)) return;
    onMove(e);
    e.stopPropagation();
  });
  const up = (e) => {
    if (!touch.pointers.delete(e.pointerId)) return;
    onUp(e);
    e.stopPropagation();
  };
  el.addEventListener('pointerup', up);
  el.addEventListener('pointercancel', up);
  el.addEventListener('contextmenu', (e) => e.preventDefault());
}

// Stick: eight directions (a component counts past 22.5 degrees off the
// other axis), as the keys would; aim follows it unless the fire button is
// being dragged. Fire button: fires while held; dragged, it aims (from
// where it was pressed).
function bindTouch() {
  const coarse = matchMedia('(pointer: coarse)');
  if (coarse.matches) useTouch();
  if (coarse.addEventListener) coarse.addEventListener('change', (e) => { if (e.matches) useTouch(); });
  addEventListener('pointerdown', (e) => { if (e.pointerType === 'touch') useTouch(); }, true);

  const stick = $('stick'), knob = $('stick-knob'), fire = $('fire-btn');
  const steer = (e) => {
    const r = stick.getBoundingClientRect();
    const R = r.width / 2;
    let dx = e.clientX - (r.left + R), dy = e.clientY - (r.top + R);
    const len = Math.hypot(dx, dy);
    if (len > R) { dx *= R / len; dy *= R / len; }
    knob.style.transform = `translate(${dx.toFixed(1)}px, ${dy.toFixed(1)}px)`;
    let b = 0;
    if (len > STICK_DEAD * R) {
      const k = SIN_22_5 * len;
      if (dx > k) b |= BTN.RIGHT; else if (dx < -k) b |= BTN.LEFT;
      if (dy > k) b |= BTN.DOWN; else if (dy < -k) b |= BTN.UP;
      if (!touch.aimDrag) { aim = aimOf(dx, dy); mouse.seen = false; }
    }
    touch.buttons = b;
  };
  ownPointer(stick, steer, steer, () => { touch.buttons = 0; knob.style.transform = ''; });

  ownPointer(fire, (e) => {
    touch.fire = true;
    touch.aimDrag = { x: e.clientX, y: e.clientY };
    fire.classList.add('on');
  }, (e) => {
    const dx = e.clientX - touch.aimDrag.x, dy = e.clientY - touch.aimDrag.y;
    if (dx * dx + dy * dy > 144) { aim = aimOf(dx, dy); mouse.seen = false; }
  }, () => {
    touch.fire = false;
    touch.aimDrag = null;
    fire.classList.remove('on');
  });
}

// A hidden tab gets no animation frames; keep the input stream (and so the
// player's session) alive at whatever rate timers still run.
setInterval(() => { if (net && document.hidden) net.update(performance.now()); }, 50);

// ---------------------------------------------------------------- replays
//
// Replays mode: the list of the server's recorded rounds, then one played
// back by the wasm simulation (replay.js). The camera, the follow keys and
// the watch bar are Watch mode's; the bar at the bottom plays, pauses,
// changes the speed and seeks (from the nearest keyframe: the marks under
// the track); the badge says whether every state hash of the file matched
// this browser's re-simulation so far. Hits of the followed player are
// marked where they landed and listed in the feed with the kills.

const MARK_MS = 650;

// m:ss.t of a number of seconds.
function fmtTime(sec) {
  const t = Math.max(0, sec);
  const m = Math.floor(t / 60), r = t - m * 60;
  return `${m}:${r < 10 ? '0' : ''}${r.toFixed(1)}`;
}
const speedText = (x) => `${x < 1 ? String(x).replace(/^0/, '') : x}×`;

function setUrlParam(name, value) {
  const params = new URLSearchParams(location.search);
  for (const k of ['watch', 'replay']) params.delete(k);
  if (name) params.set(name, value);
  const q = params.toString().replace(/=(&|$)/g, '$1');   // ?replay, not ?replay=
  history.replaceState(null, '', `${location.pathname}${q ? `?${q}` : ''}${location.hash}`);
}

// The Replays button, ?replay, ?replay=<name>: leaves a live match (a
// player leaves it: close 1000), then the list or that file.
function enterReplay(name) {
  if (!replay.on) {
    if (live.state !== 'closed' && live.state !== 'idle') live.leave('switched to replays');
    applyMode(true, WATCH_ANY, 'replay');
    replay.on = true;
    document.body.classList.add('replay');
    net = replay.src;
    resetMatchView();
    $('banner').className = 'banner';
    lastPanel = 0;
  }
  setUrlParam('replay', name || '');
  if (name) openReplay(name);
  else showReplayList();
}

function leaveReplay() {
  replay.src.pause();
  replay.on = false;
  replay.listOpen = false;
  document.body.classList.remove('replay', 'replay-empty');
  $('replay-list').hidden = true;
  $('replaybar').hidden = true;
  replay.marks = [];
  net = live;
  setUrlParam('', '');
}

async function showReplayList() {
  replay.listOpen = true;
  if (net.inGame) net.pause();
  $('replay-list').hidden = false;
  $('rl-close').hidden = !net.inGame;
  hudBoxesAt = 0;
  const status = $('rl-status');
  status.className = 'rl-status';
  put(status, replay.loadError ? `Could not play it: ${replay.loadError}` : 'Loading the list…');
  if (replay.loadError) status.className = 'rl-status error';
  try {
    replay.list = await listReplays(httpBase(serverUrl));
    replay.listError = '';
    if (!replay.loadError) {
      put(status, replay.list.replays.length ? 'Pick a round to play it back (the server\'s own simulation, re-run in this page).'
        : 'No recorded round yet: one appears here when a round ends.');
    }
  } catch (err) {
    replay.list = null;
    replay.listError = err.status === 404 ? 'This server records no replays (it runs without --replay-dir).'
      : String(err.message || err);
    status.className = 'rl-status error';
    put(status, replay.listError);
  }
  renderReplayList();
}

function renderReplayList() {
  const list = replay.list ? replay.list.replays : [];
  put($('rl-count'), replay.list ? `${list.length}${replay.list.total > list.length ? ` of ${replay.list.total}` : ''}` : '');
  const td = (text, cls) => { const c = document.createElement('td'); c.textContent = text; if (cls) c.className = cls; return c; };
  const rows = list.map((r) => {
    const tr = document.createElement('tr');
    tr.dataset.name = r.name;
    if (r.name === net.name && net.inGame) tr.className = 'current';
    if (!r.playable) {
      tr.classList.add('unplayable');
      tr.append(td(r.name, 'rl-dim'), td(''), td(''), td(''), td(''), td(r.error || 'not playable', 'rl-dim'));
      return tr;
    }
    tr.tabIndex = 0;
    const started = new Date(r.start_ms);
    const top = r.top ? `${r.top.name} · ${r.top.score}` : '–';
    tr.append(td(started.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' })),
      td(`${r.label ? `${r.label} · ` : ''}match ${r.match_id} · round ${r.round}`),
      td(fmtTime(r.duration_s), 'num'), td(String(r.players), 'num'), td(r.end_reason), td(top, 'rl-top'));
    tr.title = `${r.name} · ${(r.bytes / 1024).toFixed(1)} KB · ${r.ticks} ticks at ${r.tick_rate} Hz`;
    return tr;
  });
  $('rl-rows').replaceChildren(...rows);
}

// Fetches and plays a file from its start, following the leader.
async function openReplay(name) {
  replay.loadError = '';
  replay.listOpen = false;
  $('replay-list').hidden = true;
  resetMatchView();
  replay.marks = [];
  hud.roundEnd = null;
  setUrlParam('replay', name);
  try {
    await net.load(httpBase(serverUrl), name);
  } catch (err) {
    replay.loadError = String(err.message || err);
    showReplayList();
    return;
  }
  // The camera follows the round's winner (the end record's top score)
  // from when it is in the round (the leader until then), unless another
  // player is picked first.
  const info = net.info, seek = $('rp-seek');
  watch.follow = -1;
  watch.free = false;
  replay.prefer = info.topId;
  seek.min = String(info.startTick);
  seek.max = String(info.endTick);
  seek.value = String(info.startTick);
  const span = Math.max(1, info.endTick - info.startTick);
  $('rp-marks').replaceChildren(...info.keyframes.map((t) => {
    const i = document.createElement('i');
    i.style.left = `${(100 * (t - info.startTick) / span).toFixed(2)}%`;
    return i;
  }));
  put($('rp-total'), fmtTime(span / info.tickRate));
  put($('rp-title'), `match ${info.matchId} · round ${info.round}`);
  $('replaybar').hidden = false;
  hudBoxesAt = 0;
  net.play();
}

// Once per frame: the time, the track, the play button, the badge.
function updateReplayBar() {
  if (!net.inGame) return;
  const info = net.info;
  put($('rp-now'), fmtTime((net.pos - info.startTick) / info.tickRate));
  if (!replay.scrubbing) {
    const v = String(net.tick);
    if ($('rp-seek').value !== v) $('rp-seek').value = v;
  }
  put($('rp-play-icon'), net.playing ? '❚❚' : net.ended ? '↺' : '▶');
  $('rp-play').setAttribute('aria-label', net.playing ? 'pause' : 'play');
  for (const b of $('rp-speed').children) b.classList.toggle('on', Number(b.dataset.speed) === net.speed);
  const v = net.verification(), badge = $('rp-badge');
  let text, cls;
  if (v.diverged) {
    text = `diverged at tick ${v.tick}`;
    cls = 'bad';
    badge.title = `The re-simulation left the recording at tick ${v.tick}: ${v.player >= 0 ? `player ${v.player} (${net.nameOf(v.player)})` : 'the world'}, field ${v.field}`;
  } else if (v.bad) { text = /checksum/.test(v.error) ? 'checksum mismatch' : 'file corrupt'; cls = 'bad'; badge.title = v.error; }
  else if (v.checked) { text = `✓ verified · ${v.checked} checks`; cls = 'ok'; badge.title = `${v.checked} state hashes and keyframes of the file match this browser's re-simulation`; }
  else { text = 'checking…'; cls = ''; }
  put(badge, text);
  badge.className = `rp-badge ${cls}`;
}

function updateReplayPanel() {
  const pill = $('conn-pill');
  pill.className = 'pill joined';
  put(pill, 'replay');
  setText('nl-rtt', '');
  document.body.classList.toggle('replay-empty', !net.inGame);   // no file yet: no arena to map
  setText('nl-corr', '');
  const info = net.inGame ? net.info : null;
  put($('nl-link'), info ? `${info.name} · ${(info.bytes / 1024).toFixed(1)} KB` : replay.listOpen ? 'choosing' : net.state);
  // the expanded panel: the file, not a connection
  for (const id of ['st-rtt', 'st-snaps', 'st-down', 'st-up', 'st-corr', 'st-interp', 'st-inputs']) {
    setText(id, '<span class="dim">– (a replay)</span>');
  }
  put($('st-link'), info ? info.name : 'no file');
  put($('st-tick'), info ? `${net.tick} of ${info.startTick}..${info.endTick} · ${info.tickRate} Hz` : '–');
  put($('st-player'), info ? `spectator · match ${info.matchId}` : '–');
  setText('tip', 'A replay re-runs the server\'s simulation on the recorded inputs; every state hash is checked.');
  put($('match-line'), info ? `Replay\u00a0·\u00a0match\u00a0${info.matchId} round\u00a0${info.round} · ${plural(ents.length, 'player')}`
    : 'Replays');
  renderRoster();
  const banner = $('banner');
  if (net.state === 'loading') {
    banner.className = 'banner show';
    $('banner-title').textContent = 'Loading the replay';
    $('banner-text').textContent = net.name;
    $('banner-btn').hidden = true;
  } else {
    banner.className = 'banner';
  }
}

// The round timer in a replay: where the playback is, of how long.
function updateReplayRound(inGame) {
  const m = inGame ? net.match() : null;
  const timer = $('round-timer'), banner = $('round-banner');
  if (!m || replay.listOpen) {
    timer.hidden = true;
    banner.hidden = true;
    return m;
  }
  const info = net.info;
  timer.hidden = false;
  timer.className = `round-timer phase-${m.phase}`;
  put($('rt-phase'), `REPLAY · ROUND ${info.round}`);
  put($('rt-clock'), fmtTime((net.pos - info.startTick) / info.tickRate));
  put($('rt-note'), `${speedText(net.speed)}${net.playing ? '' : ' · paused'}`);
  let title = '', sub = '';
  if (m.phase === PHASE.ENDED) {
    const top = net.ranking()[0];
    title = `Round ${info.round} over — ${top ? `${top.name || `player ${top.id}`} wins` : 'no winner'}`;
    sub = `ended by ${END_REASON[info.endReason] || '?'} · the final scoreboard, re-simulated in this page`;
  }
  banner.hidden = !title;
  banner.className = `round-banner phase-${m.phase}`;
  put($('rb-title'), title);
  put($('rb-sub'), sub);
  renderRoundTop(false);
  return m;
}

// The followed player's hits: a mark where each landed, a feed line.
function replayHits(now) {
  for (const h of net.takeHits()) {
    if (watch.free || h.player !== watch.follow) continue;
    const t = ents.find((e) => e.id === h.target);
    if (t) replay.marks.push({ x: t.x, y: t.y, t: now, damage: h.damage, killed: h.killed });
    if (replay.marks.length > 24) replay.marks.shift();
    replay.hitsSeen++;
    if (!h.killed) {
      feedAdd([span(nameFor(h.player), 'kf-name me', nameColor(h.player)), span('hit', 'kf-note'),
               span(nameFor(h.target), 'kf-name', nameColor(h.target)), span(h.damage ? `−${h.damage}` : '0', 'kf-note')],
              'note hit', now);
    }
  }
}

function drawReplayMarks(now) {
  replay.marks = replay.marks.filter((m) => now - m.t < MARK_MS);
  if (!replay.marks.length) return;
  const s = cam.scale;
  ctx.save();
  ctx.lineCap = 'round';
  ctx.textAlign = 'center';
  for (const m of replay.marks) {
    const k = 1 - (now - m.t) / MARK_MS;
    const p = toScreen(m.x, m.y);
    const gap = (RADIUS + 4) * s + 6 * (1 - k), len = 9;
    ctx.globalAlpha = Math.min(1, 0.3 + k);
    ctx.strokeStyle = m.damage ? '#ff4d5e' : '#ffffff';
    ctx.shadowColor = 'rgba(255,60,80,0.9)';
    ctx.shadowBlur = 8;
    ctx.lineWidth = 3;
    ctx.beginPath();
    for (const [dx, dy] of [[1, 1], [-1, 1], [1, -1], [-1, -1]]) {
      ctx.moveTo(p.x + dx * gap * 0.7, p.y + dy * gap * 0.7);
      ctx.lineTo(p.x + dx * (gap * 0.7 + len), p.y + dy * (gap * 0.7 + len));
    }
    ctx.stroke();
    if (m.killed) {
      ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(p.x, p.y, gap + 10 + 14 * (1 - k), 0, Math.PI * 2); ctx.stroke();
    }
    ctx.shadowBlur = 3;
    ctx.fillStyle = m.damage ? '#ff8090' : '#e9fbff';
    ctx.font = `800 ${Math.round(13 + 3 * k)}px ui-monospace, monospace`;
    ctx.fillText(m.killed ? 'KILL' : m.damage ? `−${m.damage}` : '0', p.x, p.y - gap - 14 - 16 * (1 - k));
  }
  ctx.restore();
}

// Space plays or pauses, , and . change the speed: true when it was one.
function replayKey(e) {
  if (e.code === 'Space') {
    if (!e.repeat && net.inGame) net.toggle();
    return true;
  }
  if (e.code === 'Comma' || e.code === 'Period') {
    const i = SPEEDS.indexOf(net.speed) + (e.code === 'Comma' ? -1 : 1);
    if (!e.repeat) net.setSpeed(SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, i))]);
    return true;
  }
  return false;
}

function bindReplay() {
  $('rp-speed').replaceChildren(...SPEEDS.map((x) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.speed = String(x);
    b.textContent = speedText(x);
    b.addEventListener('click', () => { replay.src.setSpeed(x); b.blur(); });
    return b;
  }));
  $('rp-play').addEventListener('click', (e) => { replay.src.toggle(); e.currentTarget.blur(); });
  $('rp-list').addEventListener('click', (e) => { showReplayList(); e.currentTarget.blur(); });
  $('rl-refresh').addEventListener('click', (e) => { replay.loadError = ''; showReplayList(); e.currentTarget.blur(); });
  $('rl-close').addEventListener('click', (e) => {
    replay.listOpen = false;
    $('replay-list').hidden = true;
    e.currentTarget.blur();
  });
  const seek = $('rp-seek');
  seek.addEventListener('input', () => { replay.scrubbing = true; replay.src.seek(Number(seek.value)); });
  seek.addEventListener('change', () => { replay.scrubbing = false; replay.src.seek(Number(seek.value)); seek.blur(); });
  const pick = (e) => {
    const tr = e.target.closest('tr[data-name]');
    if (tr && !tr.classList.contains('unplayable')) openReplay(tr.dataset.name);
  };
  $('rl-rows').addEventListener('click', pick);
  $('rl-rows').addEventListener('keydown', (e) => { if (e.code === 'Enter') { pick(e); e.preventDefault(); } });
}

// ---------------------------------------------------------------- test/debug API

function exposeApi() {
  window.tickwire = {
    state: () => net.state,
    stats: () => net.stats(),
    entities: () => ents.map((e) => ({ ...e })),
    self: () => {
      const e = ents.find((x) => x.self);
      return e ? { ...e, predicted: net.predictedSelf(), server: net.serverSelf() } : null;
    },
    server: () => net.serverSelf(),
    predicted: () => net.predictedSelf(),
    map: () => net.map,
    welcome: () => net.welcome,
    options: () => ({ ...net.options, latencyMs: net.latencyMs, ghost: showGhost }),
    setOptions: (o) => net.setOptions(o),
    setLatency,
    name: () => net.name,
    subprotocol: () => net.subprotocol,
    // Connection: state, attempts, drops, last resume, sockets opened.
    connection: () => {
      const s = net.stats();
      return { state: s.state, closeInfo: s.closeInfo, closeCode: s.closeCode, detail: s.detail, attempt: s.attempt, drops: s.drops,
               sockets: s.sockets, lastResume: s.lastResume, rejoined: s.rejoined, reconnectInMs: s.reconnectInMs,
               resumed: s.resumed, haveResume: s.haveResume, server: s.server, matchmaker: s.matchmaker,
               transport: s.transport, lastTransport: s.lastTransport, fallback: s.fallback, fallbackWhy: s.fallbackWhy,
               fallbacks: s.fallbacks, httpMode: s.httpMode, probe: s.probe, http: s.http };
    },
    // Test hook: a network drop (not a leave, so the page reconnects).
    // {mode: 'abandon' | 'close', outageMs}: see NetClient.simulateDrop.
    dropConnection: (o) => net.simulateDrop(o),
    leave: () => net.leave(),
    rejoin: () => net.rejoin(),
    reconnectNow: () => net.reconnectNow(),
    // Matches: the round, own shooting, everyone's score, events seen,
    // what the HUD shows that is drawn on the canvas (hit markers).
    match: () => net.match(),
    shots: () => net.shots(),
    scores: () => ents.map((e) => ({ id: e.id, name: e.name, self: e.self, ...net.playerStats(e.id) })),
    events: () => hud.eventLog.map((e) => ({ ...e })),
    hud: () => ({ markers: { ...hud.counts }, chatOpen: chatIsOpen(), scoreboard: !$('scoreboard').hidden,
                  respawnMs: net.respawnLeftMs(), killedBy: hud.killedBy, tracers: tracers.length,
                  panel: panelExpanded() ? 'expanded' : 'compact', arrows: hud.arrows.map((a) => ({ ...a })),
                  minimapUnder: mini.classList.contains('under'),
                  touch: { on: document.body.classList.contains('touch'), buttons: touch.buttons, fire: touch.fire } }),
    // Screen position (CSS pixels) of a world point as drawn now.
    toScreen: (x, y) => toScreen(x, y),
    // Watch mode: whom the camera follows, the free camera, the spectator
    // count the header shows (from /api/matches/live).
    watch: () => {
      const e = ents.find((x) => x.id === watch.follow);
      return { on: watch.on, spectator: net.spectator, target: watch.target, follow: watch.follow,
               followName: e ? e.name : '', free: watch.free, cam: { x: cam.x, y: cam.y, scale: cam.scale, zoom: cam.zoom },
               spectators: watch.spectators, liveFetches: watch.liveFetches, liveError: watch.liveError,
               matchLine: $('match-line').textContent, bar: !$('watchbar').hidden,
               barName: $('wb-name').textContent,
               rosterFollowed: [...document.querySelectorAll('#roster li.followed .r-name')].map((x) => x.textContent) };
    },
    setMode: (mode, target = WATCH_ANY) => setMode(mode, target),
    // Replays mode: the list, the file played, the clock, verification,
    // the scoreboard as the page shows it (rows of #sb-rows).
    replay: () => {
      const src = replay.src, info = src.info;
      return { on: replay.on, listOpen: replay.listOpen, list: replay.list ? replay.list.replays.map((r) => ({ ...r })) : null,
               listError: replay.listError, loadError: replay.loadError, state: src.state, name: src.name,
               info: info ? { ...info, keyframes: [...info.keyframes] } : null, tick: src.tick, pos: src.pos,
               playing: src.playing, speed: src.speed, ended: src.ended, verification: src.verification(),
               loadMs: src.loadMs, lastSeekMs: src.lastSeekMs, seeks: src.seeks,
               steps: src.inGame ? src.w.tw_rp_state(8) : 0, hitsSeen: replay.hitsSeen,
               marks: replay.marks.length, follow: watch.follow, free: watch.free,
               badge: $('rp-badge').textContent, timer: $('rt-clock').textContent,
               scoreboardShown: !$('scoreboard').hidden, scoreboardCaption: $('sb-caption').textContent,
               scoreboard: [...document.querySelectorAll('#sb-rows tr')].map((tr) => {
                 const c = tr.querySelectorAll('td');
                 return { id: Number(tr.dataset.id), name: tr.querySelector('.sb-player').textContent,
                          kills: Number(c[1].textContent), deaths: Number(c[2].textContent), score: Number(c[3].textContent),
                          hits: Number(c[4].textContent) };
               }),
               ranking: src.inGame ? src.ranking() : [] };
    },
    openReplay: (name) => (replay.on ? openReplay(name) : enterReplay(name)),
    replaySeek: (tick) => replay.src.seek(tick),
    replaySpeed: (x) => replay.src.setSpeed(x),
    replayPlay: () => replay.src.play(),
    replayPause: () => replay.src.pause(),
    cycle: (dir) => cycle(dir),
    follow: (id) => follow(id),
  };
}

// ---------------------------------------------------------------- boot

async function main() {
  bindControls();
  bindTouch();
  let exports;
  try {
    exports = await loadWasm('tickwire.wasm');
  } catch (err) {
    $('banner').classList.add('show', 'error');
    $('banner-title').textContent = 'Could not load tickwire.wasm';
    $('banner-text').textContent = String(err.message || err);
    console.error(err);
    return;
  }
  net = new NetClient(exports);
  live = net;
  replay.src = new ReplaySource(exports);
  // A seek starts the feed, the marks and the tracers afresh.
  replay.src.onSeek = () => {
    $('killfeed').replaceChildren();
    replay.marks = [];
    tracers.length = 0;
    lastTracerAt.clear();
  };
  net.getInput = () => ({ buttons: buttons(), aim: currentAim() });
  net.onWelcome = () => { if (watch.on) pollLive(); };
  bindChat();
  bindReplay();
  exposeApi();
  const params = new URLSearchParams(location.search);
  serverUrl = params.get('server') || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
  // A host page with its own backend passes a join token; otherwise the
  // demo server mints guest tokens (POST /api/join).
  // ?transport=ws|http|poll: no automatic choice (http: the fallback at
  // once, probing; poll: long-polling without a probe).
  const tp = params.get('transport');
  if (tp === 'ws' || tp === 'http') net.transportPref = tp;
  if (tp === 'poll') {
    net.transportPref = 'http';
    net.httpMode = 'poll';
    net.probeInfo = { mode: 'poll', ms: 0, why: 'asked for (?transport=poll)' };
  }
  net.presetToken = params.get('token');
  if (net.presetToken) {
    params.delete('token');                    // single-use; keep it out of history
    history.replaceState(null, '', `${location.pathname}${params.size ? `?${params}` : ''}${location.hash}`);
  }
  // ?replay (the list) or ?replay=<file name>: play a recorded round.
  if (params.has('replay')) {
    net.name = playerName();
    enterReplay(params.get('replay'));
    requestAnimationFrame(frame);
    return;
  }
  // ?watch=any or ?watch=<match id>: join as a spectator.
  const watchArg = params.get('watch');
  const target = parseWatch(watchArg);
  applyMode(target !== null, target === null ? WATCH_ANY : target);
  net.connect(serverUrl, playerName(), { watch: target });
  if (watchArg !== null && target === null) {
    chatSystem(`?watch=${watchArg.slice(0, 12)} is not "any" or a match id: playing`, performance.now());
  }
  requestAnimationFrame(frame);
}

main();
