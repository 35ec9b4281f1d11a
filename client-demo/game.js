// game.js: input, rendering and the netcode panel of the tickwire demo.
// No simulation here: positions come from the wasm client (netcode.js).

import { BTN, FLAG_DISCONNECTED, FLAG_FIRING, NetClient, loadWasm } from './netcode.js';

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

function buttons() {
  let b = 0;
  for (const k of keys) b |= MOVE[k] || 0;
  if (mouse.down) b |= BTN.FIRE;
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

let net = null;
let ents = [];
let stats = null;
let lastPanel = 0;
let showGhost = false;
let latencyIdx = 0;
const cam = { x: 1024, y: 1024, scale: 1, zoom: 1, ready: false };
const rttHistory = [];            // [{rtt, snaps, corr}] one per 100 ms
let lastHist = 0, lastHistCorr = 0, lastHistSnaps = 0;
let corrFlash = 0;                // time of the last correction, for a flash
let lastCorrections = 0;
let dpr = 1;

function resize() {
  dpr = Math.min(window.devicePixelRatio || 1, 2);
  canvas.width = Math.round(innerWidth * dpr);
  canvas.height = Math.round(innerHeight * dpr);
  for (const [c, w, h] of [[mini, mini.clientWidth, mini.clientHeight], [graph, graph.clientWidth, graph.clientHeight]]) {
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
  }
}
addEventListener('resize', resize);
resize();

// ---------------------------------------------------------------- camera

function updateCamera(dtMs, self, map) {
  const W = map ? map.width : 2048, H = map ? map.height : 2048;
  const cw = innerWidth, ch = innerHeight;
  cam.scale = Math.max(0.42, Math.min(1.6, Math.min(cw, ch) / 760)) * cam.zoom;
  const halfW = cw / 2 / cam.scale, halfH = ch / 2 / cam.scale;
  let tx = self ? self.x : W / 2, ty = self ? self.y : H / 2;
  const margin = 90;
  tx = 2 * halfW >= W + 2 * margin ? W / 2 : Math.max(halfW - margin, Math.min(W - halfW + margin, tx));
  ty = 2 * halfH >= H + 2 * margin ? H / 2 : Math.max(halfH - margin, Math.min(H - halfH + margin, ty));
  if (!cam.ready) { cam.x = tx; cam.y = ty; cam.ready = true; return; }
  const k = 1 - Math.exp(-dtMs / 60);               // light smoothing
  cam.x += (tx - cam.x) * k;
  cam.y += (ty - cam.y) * k;
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

function drawTracer(map, e, color, now) {
  const ang = e.aim * 2 * Math.PI / 65536;
  const dx = Math.cos(ang), dy = Math.sin(ang);
  const sx = e.x + dx * (RADIUS + 10), sy = e.y + dy * (RADIUS + 10);
  const dist = rayHit(map, sx, sy, dx, dy);
  const a = toScreen(sx, sy), b = toScreen(sx + dx * dist, sy + dy * dist);
  const s = cam.scale;

  ctx.save();
  ctx.lineCap = 'round';
  // faint beam
  const g = ctx.createLinearGradient(a.x, a.y, b.x, b.y);
  g.addColorStop(0, 'rgba(255,236,170,0.55)');
  g.addColorStop(1, 'rgba(255,200,120,0.05)');
  ctx.strokeStyle = g;
  ctx.lineWidth = 1.5 * s;
  ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.stroke();
  // bullets racing along it
  ctx.strokeStyle = '#fff3c4';
  ctx.shadowColor = color;
  ctx.shadowBlur = 8;
  ctx.lineWidth = 3 * s;
  ctx.setLineDash([14 * s, 46 * s]);
  ctx.lineDashOffset = -((now * 1.6 * s) % (60 * s));
  ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.stroke();
  ctx.setLineDash([]);
  // muzzle flash and impact sparks
  const flick = 0.65 + 0.35 * Math.sin(now / 23 + e.id);
  ctx.shadowColor = '#ffd27a';
  ctx.shadowBlur = 16;
  ctx.fillStyle = `rgba(255,230,150,${0.9 * flick})`;
  ctx.beginPath(); ctx.arc(a.x, a.y, 6 * s * flick, 0, Math.PI * 2); ctx.fill();
  ctx.fillStyle = `rgba(255,190,110,${0.8 * flick})`;
  ctx.beginPath(); ctx.arc(b.x, b.y, 4 * s * (1.4 - flick), 0, Math.PI * 2); ctx.fill();
  ctx.restore();
}

// Someone whose connection dropped (the server holds the slot), or the
// local player while this page reconnects: drawn greyed, tagged.
const isAway = (e) => (e.flags & FLAG_DISCONNECTED) !== 0 || e.offline === true;

function drawPlayer(e, now) {
  const p = toScreen(e.x, e.y);
  const s = cam.scale, r = RADIUS * s;
  const away = isAway(e);
  const color = away && !e.self ? AWAY_COLOR : e.self ? SELF_COLOR : colorOf(e.id);
  const ang = e.aim * 2 * Math.PI / 65536;
  ctx.save();
  // others frozen where last seen while we reconnect; dropped players faded
  if (e.stale) ctx.globalAlpha = 0.5;
  if (away) ctx.globalAlpha = e.self ? 0.7 : 0.45;

  // shadow
  ctx.fillStyle = 'rgba(0,0,0,0.35)';
  ctx.beginPath(); ctx.ellipse(p.x + 3 * s, p.y + 6 * s, r * 1.02, r * 0.9, 0, 0, Math.PI * 2); ctx.fill();

  if (e.self) {
    // pulsing ring under the local player
    const pulse = (now % 1600) / 1600;
    ctx.strokeStyle = `rgba(62,230,255,${0.45 * (1 - pulse)})`;
    ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(p.x, p.y, r + 6 * s + pulse * 18 * s, 0, Math.PI * 2); ctx.stroke();
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

  // name tag
  const label = e.name || `player ${e.id}`;
  ctx.font = `${e.self ? 700 : 600} ${Math.round(Math.max(11, 12.5 * Math.min(1.2, s)))}px Inter, "Segoe UI", system-ui, sans-serif`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  const ty = p.y - r - 8 * s;
  const tw = ctx.measureText(label).width;
  ctx.fillStyle = 'rgba(6,9,15,0.62)';
  roundRect(p.x - tw / 2 - 6, ty - 16, tw + 12, 18, 5);
  ctx.fill();
  ctx.fillStyle = e.self ? SELF_COLOR : away ? '#b7c0d0' : '#eef3fb';
  ctx.fillText(label, p.x, ty);
  if (away) {
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
  return p;
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

// Chevrons at the screen edge pointing at players outside the view.
function drawOffscreen(self) {
  const m = 26, w = innerWidth, h = innerHeight;
  const cx = w / 2, cy = h / 2;
  for (const e of ents) {
    if (e.self) continue;
    const p = toScreen(e.x, e.y);
    const r = RADIUS * cam.scale;
    if (p.x >= -r && p.x <= w + r && p.y >= -r && p.y <= h + r) continue;
    const dx = p.x - cx, dy = p.y - cy;
    const t = Math.min((w / 2 - m) / Math.abs(dx || 1e-9), (h / 2 - m) / Math.abs(dy || 1e-9));
    const x = cx + dx * t, y = cy + dy * t;
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
  if (!mouse.seen) return;
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
    mctx.arc(pad + e.x * sc, pad + e.y * sc, (e.self ? 3.5 : 2.5) * dpr, 0, Math.PI * 2);
    mctx.fill();
  }
  mctx.globalAlpha = 1;
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
      return s.rejoined || `${s.subprotocol}${s.drops ? ` · ${plural(s.drops, 'drop')}` : ''}`;
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
    const buffered = net.welcome ? ` · ${s.unacked}/${s.maxUnacked} inputs buffered` : '';
    show('top', `Reconnecting · attempt ${s.shownAttempt}${when}`,
         `${waiting ? s.closeInfo || 'connection lost' : s.detail}${buffered}`, waiting ? 'Reconnect now' : '');
  } else if (s.state === 'closed') {
    const title = net.intentional ? 'Left the match' : /refused/.test(s.closeInfo) ? 'Join refused' : 'Disconnected';
    show('error', title, s.closeInfo || 'connection closed', 'Join again');
  } else if (s.state === 'connecting' || s.state === 'joining') {
    show('', `${s.state === 'joining' ? 'Joining match' : 'Connecting'} · attempt ${s.shownAttempt}${when}`,
         waiting ? s.closeInfo : `${net.name} → ${net.url}`, waiting ? 'Retry now' : '');
  } else {
    show('', 'Loading', 'tickwire.wasm', '');
  }
}

function updatePanel(now) {
  const s = stats;
  const pill = $('conn-pill');
  pill.className = `pill ${s.state}`;
  pill.textContent = s.state === 'reconnecting' ? `reconnecting #${s.shownAttempt}` : s.state;
  setText('st-link', escapeHtml(linkText(s)));
  $('st-link').title = linkText(s);
  $('leave-btn').textContent = s.state === 'closed' ? 'Join' : 'Leave';
  if (s.state !== 'joined' && s.state !== 'resumed') {
    for (const id of ['st-rtt', 'st-snaps', 'st-down', 'st-up', 'st-corr', 'st-interp', 'st-tick', 'st-player']) setText(id, '<span class="dim">–</span>');
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
    setText('st-player', `id ${s.playerId} <span class="dim">match ${s.matchId}</span>`);
  }
  $('opt-predict').checked = s.options.predict;
  $('opt-reconcile').checked = s.options.reconcile;
  $('opt-interpolate').checked = s.options.interpolate;
  $('opt-ghost').checked = showGhost;
  for (const b of $('lat-seg').children) b.classList.toggle('on', Number(b.dataset.ms) === s.latencyMs);

  let tip;
  if (!s.options.predict && s.latencyMs >= 100) tip = '<b>Prediction off:</b> your own moves wait a full round trip before they show.';
  else if (!s.options.predict) tip = '<b>Prediction off:</b> add latency (L) to feel the round trip on every move.';
  else if (!s.options.interpolate) tip = '<b>Interpolation off:</b> others jump from snapshot to snapshot.';
  else if (!s.options.reconcile) tip = '<b>Reconciliation off:</b> the server\'s answers never correct your prediction.';
  else if (s.latencyMs) tip = `Prediction hides the ${2 * s.latencyMs} ms round trip; turn it off (P) to see it.`;
  else tip = 'Add latency (L) and switch prediction (P) or interpolation (I) off to see what each does.';
  setText('tip', tip);

  // HUD
  if (net.welcome && (s.state === 'joined' || s.state === 'resumed')) {
    setText('match-line', `arena-move · match ${s.matchId} · ${ents.length} player${ents.length === 1 ? '' : 's'}`);
  } else {
    setText('match-line', s.state === 'closed' ? 'offline' : s.state === 'reconnecting' ? `reconnecting… attempt ${s.shownAttempt}` : `${s.state}…`);
  }
  const sorted = [...ents].sort((a, b) => (b.self - a.self) || a.id - b.id);
  const max = 10;
  let html = sorted.slice(0, max).map((e) =>
    `<li class="${e.self ? 'me' : ''}${isAway(e) ? ' away' : ''}"><span class="swatch" style="background:${e.self ? SELF_COLOR : isAway(e) ? AWAY_COLOR : colorOf(e.id)}"></span>${escapeHtml(e.name || `player ${e.id}`)}${e.self ? ' <span class="tag">YOU</span>' : ''}${isAway(e) ? ' <span class="tag away">RECONNECTING</span>' : ''}</li>`).join('');
  if (sorted.length > max) html += `<li class="more">+${sorted.length - max} more</li>`;
  setText('roster', html);

  updateBanner(s, now);
}

const escapeHtml = (t) => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

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
  updateCamera(dt, self, net.map);

  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  drawFloor(net.map);
  drawWalls(net.map);
  for (const e of ents) if ((e.flags & FLAG_FIRING) && !isAway(e) && !e.stale) drawTracer(net.map, e, e.self ? SELF_COLOR : colorOf(e.id), now);
  for (const e of ents) if (!e.self) drawPlayer(e, now);
  selfScreen = self ? drawPlayer(self, now) : null;
  if (showGhost) drawGhost(net.serverSelf());
  drawOffscreen(self);
  drawCorrectionFlash(now);
  drawCrosshair(now);
  drawMinimap(net.map);

  if (now - lastPanel > 200) {
    updatePanel(now);
    drawGraph();
    lastPanel = now;
  }
  requestAnimationFrame(frame);
}

// ---------------------------------------------------------------- controls

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
    if (e.code === 'F3' || e.code === 'Backquote') {
      $('netpanel').classList.toggle('hidden');
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
      case 'KeyP': toggle('predict'); break;
      case 'KeyR': toggle('reconcile'); break;
      case 'KeyI': toggle('interpolate'); break;
      case 'KeyG': showGhost = !showGhost; lastPanel = 0; break;
      case 'KeyL': setLatency(LATENCIES[(latencyIdx + 1) % LATENCIES.length]); break;
      default: return;
    }
    e.preventDefault();
  });
  addEventListener('keyup', (e) => { keys.delete(e.code); });
  addEventListener('blur', () => { keys.clear(); mouse.down = false; });

  addEventListener('pointermove', (e) => { mouse.x = e.clientX; mouse.y = e.clientY; mouse.seen = true; });
  canvas.addEventListener('pointerdown', (e) => {
    mouse.x = e.clientX; mouse.y = e.clientY; mouse.seen = true;
    if (e.button === 0) mouse.down = true;
  });
  addEventListener('pointerup', (e) => { if (e.button === 0) mouse.down = false; });
  canvas.addEventListener('contextmenu', (e) => e.preventDefault());
  canvas.addEventListener('wheel', (e) => {
    cam.zoom = Math.max(0.45, Math.min(2.2, cam.zoom * Math.exp(-e.deltaY * 0.0015)));
    e.preventDefault();
  }, { passive: false });

  for (const [id, opt] of [['opt-predict', 'predict'], ['opt-reconcile', 'reconcile'], ['opt-interpolate', 'interpolate']]) {
    $(id).addEventListener('change', (e) => { net.setOptions({ [opt]: e.target.checked }); e.target.blur(); });
  }
  $('opt-ghost').addEventListener('change', (e) => { showGhost = e.target.checked; e.target.blur(); });
  for (const b of $('lat-seg').children) {
    b.addEventListener('click', () => { setLatency(Number(b.dataset.ms)); b.blur(); });
  }
  $('banner-btn').addEventListener('click', (e) => { net.reconnectNow(); e.target.blur(); });
  $('leave-btn').addEventListener('click', (e) => {
    if (net.state === 'closed') net.rejoin(); else net.leave();
    e.target.blur();
  });
  // Navigating away or closing the tab is a leave, never a drop to retry.
  addEventListener('pagehide', () => { if (net && net.state !== 'closed') net.leave('page closed'); });
  addEventListener('pageshow', (e) => {
    if (e.persisted && net && net.state === 'closed' && net.closeInfo === 'page closed') net.rejoin();
  });
}

// A hidden tab gets no animation frames; keep the input stream (and so the
// player's session) alive at whatever rate timers still run.
setInterval(() => { if (net && document.hidden) net.update(performance.now()); }, 50);

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
               resumed: s.resumed, haveResume: s.haveResume };
    },
    // Test hook: a network drop (not a leave, so the page reconnects).
    // {mode: 'abandon' | 'close', outageMs}: see NetClient.simulateDrop.
    dropConnection: (o) => net.simulateDrop(o),
    leave: () => net.leave(),
    rejoin: () => net.rejoin(),
    reconnectNow: () => net.reconnectNow(),
  };
}

// ---------------------------------------------------------------- boot

async function main() {
  bindControls();
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
  net.getInput = () => ({ buttons: buttons(), aim: currentAim() });
  exposeApi();
  const params = new URLSearchParams(location.search);
  const url = params.get('server') || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
  // A host page with its own backend passes a join token; otherwise the
  // demo server mints guest tokens (POST /api/join).
  net.presetToken = params.get('token');
  if (net.presetToken) {
    params.delete('token');                    // single-use; keep it out of history
    history.replaceState(null, '', `${location.pathname}${params.size ? `?${params}` : ''}${location.hash}`);
  }
  net.connect(url, playerName());
  requestAnimationFrame(frame);
}

main();
