// A second implementation of the simulation, in JavaScript, written from
// docs/SIMULATION.md alone (not from shared/sim.c), run against the test
// vectors of that page. It checks the page, not the C: if the page left
// out a rounding or an order of operations, this file could not match the
// vectors that test_simdoc.c checks against the C.
//
// Usage: node simdoc.mjs docs/SIMULATION.md   (exit status 1 on a mismatch)
import { readFileSync } from 'node:fs';

const f = Math.fround;
const add = (a, b) => f(a + b), sub = (a, b) => f(a - b), mul = (a, b) => f(a * b), div = (a, b) => f(a / b);
const sqrt = (a) => f(Math.sqrt(a));
const snapPos = (v) => div(Math.floor(add(mul(v, 16), 0.5)), 16);
const snapVel = (v) => div(Math.trunc(mul(v, 16)), 16);
const R = 16, ACCEL = 2400, FRICTION = 8, MAX_SPEED = 300, RANGE = 1400;
const UP = 1, DOWN = 2, LEFT = 4, RIGHT = 8, FIRE = 16;
const FIRING = 1, SHOT = 4, DEAD = 8;

// Section 6: the weapon.
function fireInterval(dt) {
  const steps = Math.floor(add(div(div(200, 1000), dt), 0.5));
  return steps < 1 ? 1 : steps > 255 ? 255 : steps;
}
function weaponStep(p, trigger, dead, dt) {
  if (p.cd > 0) p.cd--;
  if (!trigger || dead || p.cd) return 0;
  p.cd = fireInterval(dt);
  return 1;
}

// Section 4: one wall.
function collideWall(p, w) {
  const [x0, y0, x1, y1] = w;
  const cx = p.x < x0 ? x0 : p.x > x1 ? x1 : p.x;
  const cy = p.y < y0 ? y0 : p.y > y1 ? y1 : p.y;
  const dx = sub(p.x, cx), dy = sub(p.y, cy);
  const dist2 = add(mul(dx, dx), mul(dy, dy));
  if (dist2 >= R * R) return;
  let nx, ny, depth;
  if (dist2 > 0) {
    const dist = sqrt(dist2), s = div(1, dist);
    nx = mul(dx, s); ny = mul(dy, s); depth = sub(R, dist);
  } else {
    const left = sub(p.x, x0), right = sub(x1, p.x), up = sub(p.y, y0), down = sub(y1, p.y);
    const min = (a, b) => (a < b ? a : b);
    const m = min(min(left, right), min(up, down));
    [nx, ny] = m === left ? [-1, 0] : m === right ? [1, 0] : m === up ? [0, -1] : [0, 1];
    depth = add(m, R);
  }
  p.x = add(p.x, mul(nx, depth));
  p.y = add(p.y, mul(ny, depth));
  const into = add(mul(p.vx, nx), mul(p.vy, ny));
  if (into < 0) {
    p.vx = sub(p.vx, mul(nx, into));
    p.vy = sub(p.vy, mul(ny, into));
  }
}

// Section 3: one step; returns fired.
function playerStep(map, p, buttons, aim, dt) {
  const fired = weaponStep(p, buttons & FIRE, p.flags & DEAD, dt);
  if (p.flags & DEAD) {
    p.vx = p.vy = 0; p.aim = aim; p.flags = DEAD | (fired ? SHOT : 0);
    return fired;
  }
  const dx = !!(buttons & RIGHT) - !!(buttons & LEFT), dy = !!(buttons & DOWN) - !!(buttons & UP);
  const n = sqrt(add(mul(dx, dx), mul(dy, dy)));
  let dirx = 0, diry = 0;
  if (n !== 0) { const s = div(1, n); dirx = mul(dx, s); diry = mul(dy, s); }
  p.vx = add(p.vx, mul(sub(mul(dirx, ACCEL), mul(p.vx, FRICTION)), dt));
  p.vy = add(p.vy, mul(sub(mul(diry, ACCEL), mul(p.vy, FRICTION)), dt));
  const speed = sqrt(add(mul(p.vx, p.vx), mul(p.vy, p.vy)));
  if (speed > MAX_SPEED) { const k = div(MAX_SPEED, speed); p.vx = mul(p.vx, k); p.vy = mul(p.vy, k); }
  p.x = add(p.x, mul(p.vx, dt));
  p.y = add(p.y, mul(p.vy, dt));
  for (let pass = 0; pass < 2; pass++) for (const w of map.walls) collideWall(p, w);
  const hx = sub(map.w, R), hy = sub(map.h, R);
  if (p.x < R) { p.x = R; if (p.vx < 0) p.vx = 0; } else if (p.x > hx) { p.x = hx; if (p.vx > 0) p.vx = 0; }
  if (p.y < R) { p.y = R; if (p.vy < 0) p.vy = 0; } else if (p.y > hy) { p.y = hy; if (p.vy > 0) p.vy = 0; }
  p.aim = aim;
  p.flags = (buttons & FIRE ? FIRING : 0) | (fired ? SHOT : 0);
  p.x = snapPos(p.x); p.y = snapPos(p.y); p.vx = snapVel(p.vx); p.vy = snapVel(p.vy);
  return fired;
}

// Section 5: the aim.
const bitsFloat = (u) => new Float32Array(new Uint32Array([u]).buffer)[0];
const floatBits = (x) => new Uint32Array(new Float32Array([x]).buffer)[0];
function aimDir(aim) {
  const q = aim >> 14, r = aim & 16383, swap = r > 8192;
  const t = mul(swap ? 16384 - r : r, bitsFloat(0x38c90fdb));
  const t2 = mul(t, t);
  const s4 = sub(1, div(t2, 72)), c4 = sub(1, div(t2, 56));
  let s = mul(t, sub(1, mul(div(t2, 6), sub(1, mul(div(t2, 20), sub(1, mul(div(t2, 42), s4)))))));
  let c = sub(1, mul(div(t2, 2), sub(1, mul(div(t2, 12), sub(1, mul(div(t2, 30), c4))))));
  if (swap) [s, c] = [c, s];
  return q === 0 ? [c, s] : q === 1 ? [-s, c] : q === 2 ? [-c, -s] : [s, -c];
}

// Section 6: the shot.
function rayWall(from, d, w) {
  const lo = [w[0], w[1]], hi = [w[2], w[3]];
  let tin = 0, tout = RANGE;
  for (let k = 0; k < 2; k++) {
    if (d[k] === 0) { if (from[k] < lo[k] || from[k] > hi[k]) return -1; continue; }
    let t1 = div(sub(lo[k], from[k]), d[k]), t2 = div(sub(hi[k], from[k]), d[k]);
    if (t1 > t2) [t1, t2] = [t2, t1];
    if (t1 > tin) tin = t1;
    if (t2 < tout) tout = t2;
    if (tin > tout) return -1;
  }
  return tin;
}
function hitscan(map, from, aim, targets) {
  const d = aimDir(aim);
  let best = RANGE, hit = -1;
  for (const w of map.walls) { const t = rayWall(from, d, w); if (t >= 0 && t < best) best = t; }
  targets.forEach(([x, y], i) => {
    const cx = sub(x, from[0]), cy = sub(y, from[1]);
    const proj = add(mul(cx, d[0]), mul(cy, d[1]));
    const perp2 = sub(add(mul(cx, cx), mul(cy, cy)), mul(proj, proj));
    if (perp2 > R * R || add(proj, R) < 0) return;
    let t = sub(proj, sqrt(sub(R * R, perp2)));
    if (t < 0) t = 0;
    if (t < best) { best = t; hit = i; }
  });
  return [hit, best];
}

// Section 7: random spots, spawn, respawn.
const M64 = (1n << 64n) - 1n;
function rng(state) {
  return () => {
    state = (state + 0x9E3779B97F4A7C15n) & M64;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n) & M64;
    z = ((z ^ (z >> 27n)) * 0x94D049BB133111EBn) & M64;
    return z ^ (z >> 31n);
  };
}
function randomSpot(map, next) {
  let x, y;
  for (let a = 0; a < 64; a++) {
    const fx = div(Number(next() >> 40n), 16777216), fy = div(Number(next() >> 40n), 16777216);
    x = snapPos(add(32, mul(fx, sub(map.w, 64))));
    y = snapPos(add(32, mul(fy, sub(map.h, 64))));
    if (map.walls.every(([x0, y0, x1, y1]) => !(add(x, 18) > x0 && sub(x, 18) < x1 && add(y, 18) > y0 && sub(y, 18) < y1)))
      break;
  }
  return [x, y];
}
const spawn = (map, seed, id, join) => randomSpot(map, rng(seed ^ (BigInt(id) << 32n) ^ BigInt(join)));
function respawn(map, seed, tick, id, life, others) {
  const next = rng(seed ^ (BigInt(id) << 40n) ^ (BigInt(life) << 32n) ^ BigInt(tick) ^ 0x5bd1e995n);
  let best = null, bestD2 = -1;
  for (let k = 0; k < 8; k++) {
    const spot = randomSpot(map, next);
    let near = f(1e30);
    for (const [ox, oy] of others) {
      const dx = sub(ox, spot[0]), dy = sub(oy, spot[1]), d2 = add(mul(dx, dx), mul(dy, dy));
      if (d2 < near) near = d2;
    }
    if (near > bestD2) { bestD2 = near; best = spot; }
  }
  return best;
}

// The vectors (section 10's line formats).
const num = (s) => (s.startsWith('0x') ? bitsFloat(parseInt(s, 16)) : Number(s));
const pair = (s) => s.split(',').map(num);
const same = (a, b) => (Number.isNaN(a) ? Number.isNaN(b) : a === b);
const sameBits = (a, b) => floatBits(a) === floatBits(b);
const maps = {};
let checked = 0, wrong = 0, lineno = 0, inBlock = false;
for (const text of readFileSync(process.argv[2], 'utf8').split('\n')) {
  lineno++;
  if (text.startsWith('```')) { inBlock = !inBlock && text.startsWith('```vectors'); continue; }
  const code = text.split('#')[0].trim();
  if (!inBlock || !code) continue;
  const tok = code.split(/\s+/), arrow = tok.indexOf('->');
  const lhs = {}, rhs = {};
  tok.slice(1, arrow < 0 ? undefined : arrow).forEach((t) => { const [k, v] = t.split('='); lhs[k] = lhs[k] ? [].concat(lhs[k], v) : v; });
  const right = arrow < 0 ? [] : tok.slice(arrow + 1);
  right.forEach((t) => { const [k, v] = t.split('='); rhs[k] = v; });
  let ok;
  switch (tok[0]) {
    case 'map':
      maps[tok[1]] = { w: Number(tok[2]), h: Number(tok[3]), walls: tok.slice(4).map((w) => w.split(',').map(Number)) };
      continue;
    case 'step': {
      const map = maps[tok[1]], rate = Number(lhs.rate ?? 60), dt = div(1, rate);
      const [x, y] = pair(lhs.pos), [vx, vy] = pair(lhs.vel);
      const p = { x, y, vx, vy, cd: Number(lhs.cd ?? 0), flags: lhs.dead === '1' ? DEAD : 0, aim: 0 };
      let fired = 0;
      for (let k = 0; k < Number(lhs.n ?? 1); k++) fired += playerStep(map, p, Number(lhs.btn ?? 0), Number(lhs.aim ?? 0), dt);
      const [ex, ey] = pair(rhs.pos), [evx, evy] = pair(rhs.vel);
      ok = same(p.x, ex) && same(p.y, ey) && same(p.vx, evx) && same(p.vy, evy) && p.cd === Number(rhs.cd) &&
        p.flags === Number(rhs.flags) && fired === Number(rhs.fired);
      if (!ok) console.error(`  js: pos=${p.x},${p.y} vel=${p.vx},${p.vy} cd=${p.cd} flags=${p.flags} fired=${fired}`);
      break;
    }
    case 'aim': {
      const [dx, dy] = aimDir(Number(tok[1]));
      ok = sameBits(dx, num(right[0])) && sameBits(dy, num(right[1]));
      break;
    }
    case 'hitscan': {
      const targets = [].concat(lhs.target ?? []).map(pair);
      const [hit, dist] = hitscan(maps[tok[1]], pair(lhs.from), Number(lhs.aim), targets);
      ok = hit === Number(rhs.hit) && sameBits(dist, num(rhs.dist));
      break;
    }
    case 'spawn': {
      const [x, y] = spawn(maps[tok[1]], BigInt(lhs.seed), Number(lhs.id), Number(lhs.join));
      const [ex, ey] = pair(rhs.pos);
      ok = x === ex && y === ey;
      break;
    }
    case 'respawn': {
      const others = [].concat(lhs.other ?? []).map(pair);
      const [x, y] = respawn(maps[tok[1]], BigInt(lhs.seed), Number(lhs.tick), Number(lhs.id), Number(lhs.life), others);
      const [ex, ey] = pair(rhs.pos);
      ok = x === ex && y === ey;
      break;
    }
    default:
      ok = false;
  }
  checked++;
  if (!ok) { wrong++; console.error(`SIMULATION.md line ${lineno}: the JavaScript from the page disagrees: ${code}`); }
}
console.log(`${checked} vectors, ${wrong} wrong (JavaScript written from docs/SIMULATION.md)`);
process.exit(wrong || checked < 20 ? 1 : 0);
