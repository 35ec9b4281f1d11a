#!/usr/bin/env node
// End-to-end browser test: Debian's chromium (headless, driven by
// playwright-core) plays the demo page against a real tickwire server.
//
//   node tests/browser/browser_test.mjs --server build/bin/tickwire-server \
//        --web-root build/www --screenshot build/screenshots/browser.png
//
// (or TICKWIRE_SERVER / TICKWIRE_WEB_ROOT / TICKWIRE_SCREENSHOT /
// CHROMIUM in the environment). Starts the server on a free port with 3
// NPCs, waits for its "listening" line, opens the page, waits until the page
// has joined, holds a movement key for one second of game time (60 ticks at
// 60 Hz, counted by the page), and checks that the local player moved the
// right way by a plausible distance, that a lossless local run needed no
// reconciliation correction, that snapshots arrived, that the NPCs are
// there and moving, that firing reaches the server, and that the added
// latency shows up in the measured RTT. Saves a screenshot.
//
// Then the connection (protocol v3: join tokens, resume, close codes):
//  - a network drop (test hook window.tickwire.dropConnection, the socket
//    abandoned half-open, tries failing for 1.2 s) while a movement key is
//    held: the page keeps predicting (up to CL_MAX_UNACKED inputs), the
//    overlay shows "reconnecting" and the attempt count, the page comes
//    back with full-jitter backoff and its WELCOME says resumed with the
//    same player id; the offline inputs reach the server, the prediction
//    still equals the server's state and there were no corrections;
//  - a drop the server sees (socket closed): a second page sees the player
//    flagged DISCONNECTED until the resume;
//  - Leave: no reconnect; the server's hold runs out (the second page sees
//    the player go), "Join again" then gets 4002 "resume expired" and
//    joins afresh with a new token;
//  - a replayed join token (POST /api/join answered with the first, used,
//    token): refused with 4001 "token already used", and no retry.
// Screenshots: --screenshot, and <same dir>/browser-reconnecting.png taken
// while offline.
//
// Every wait is on a condition; the only timed thing is the key hold, and
// even that is measured in game ticks. Exit 0 pass, 1 fail, 77 skip
// (no chromium or playwright-core here).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');

function arg(name, env, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  if (i > 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  return process.env[env] || dflt;
}

const SERVER = path.resolve(arg('server', 'TICKWIRE_SERVER', path.join(root, 'build/bin/tickwire-server')));
const WEB_ROOT = path.resolve(arg('web-root', 'TICKWIRE_WEB_ROOT', path.join(root, 'build/www')));
const SHOT = path.resolve(arg('screenshot', 'TICKWIRE_SCREENSHOT', path.join(root, 'build/screenshots/browser.png')));
const CHROMIUM = arg('chromium', 'CHROMIUM', '/usr/bin/chromium');
const NPCS = 3;
// The server default; the test waits for a hold to run out once. Resumes
// must beat it even with unlucky backoff draws (see backoffDelay).
const RESUME_GRACE_S = 10;
const PROTO_H = path.join(root, 'shared', 'proto.h');
const TEST_TIMEOUT_MS = 150_000;
const SKIP = 77;

let server = null;
let context = null;
let userDataDir = null;
let serverLog = '';
let failed = false;

const log = (...a) => console.log('[browser-test]', ...a);

function check(cond, what, detail = '') {
  if (cond) {
    log(`ok   ${what}${detail ? ` (${detail})` : ''}`);
  } else {
    log(`FAIL ${what}${detail ? ` (${detail})` : ''}`);
    failed = true;
  }
  return cond;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Starts the server and resolves with its URL once it prints the line
// saying it listens; rejects if it exits first.
function startServer(port) {
  return new Promise((resolve, reject) => {
    const args = ['--host', '127.0.0.1', '--port', String(port), '--npcs', String(NPCS),
                  '--resume-grace', String(RESUME_GRACE_S),
                  '--web-root', WEB_ROOT, '--log-level', 'info'];
    log(`starting ${SERVER} ${args.join(' ')}`);
    const child = spawn(SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    const want = `http://127.0.0.1:${port}/`;
    let buf = '';
    let done = false;
    const onData = (chunk) => {
      const text = chunk.toString();
      serverLog += text;
      if (done) return;
      buf += text;
      if (buf.includes(want)) {
        done = true;
        resolve(want);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c) => { serverLog += c.toString(); });
    child.on('error', (err) => { if (!done) { done = true; reject(err); } });
    child.on('exit', (code, sig) => {
      if (!done) { done = true; reject(new Error(`server exited (${code ?? sig}) before listening`)); }
    });
  });
}

async function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGTERM');
  const t = setTimeout(() => server.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

async function cleanup() {
  if (context) await context.close().catch(() => {});
  await stopServer();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
}

// Free straight-line distance for a player circle from (x, y) along (dx, dy).
function freeDistance(map, x, y, dx, dy, limit = 700) {
  const r = 17;
  for (let d = 0; d <= limit; d += 2) {
    const px = x + dx * d, py = y + dy * d;
    if (px < r || py < r || px > map.width - r || py > map.height - r) return d;
    for (const w of map.walls) {
      if (px + r > w.x0 && px - r < w.x1 && py + r > w.y0 && py - r < w.y1) return d;
    }
  }
  return limit;
}

async function main() {
  let playwright;
  try {
    playwright = await import('playwright-core');
  } catch (err) {
    log(`SKIP: playwright-core is not installed (cd tests/browser && npm ci): ${err.message}`);
    return SKIP;
  }
  if (!fs.existsSync(CHROMIUM)) {
    log(`SKIP: no chromium at ${CHROMIUM}`);
    return SKIP;
  }
  for (const [what, p] of [['server', SERVER], ['web root', path.join(WEB_ROOT, 'index.html')],
                           ['wasm module', path.join(WEB_ROOT, 'tickwire.wasm')]]) {
    if (!fs.existsSync(p)) throw new Error(`${what} not found: ${p} (build first)`);
  }

  // A port picked here may be taken before the server binds it: try again.
  let url;
  for (let attempt = 1; ; attempt++) {
    try {
      url = await startServer(await freePort());
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
      log(`server did not start (${err.message}), retrying on another port`);
    }
  }
  log(`server listening at ${url}`);

  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tickwire-chromium-'));
  context = await playwright.chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 720 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] || await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (err) => { pageErrors.push(String(err)); log(`page error: ${err}`); });
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') log(`console.${msg.type()}: ${msg.text()}`);
  });
  page.setDefaultTimeout(20_000);

  // Join tokens the page asked for (each POST /api/join), and sockets.
  const tokens = [];
  page.on('response', async (r) => {
    if (!r.url().includes('/api/join')) return;
    try { tokens.push((await r.json()).token); } catch (err) { tokens.push(null); }
  });

  const wasmResponse = page.waitForResponse((r) => r.url().endsWith('/tickwire.wasm'));
  await page.goto(`${url}?name=e2e-tester`);
  const wasm = await wasmResponse;
  check(wasm.status() === 200, 'tickwire.wasm served', `HTTP ${wasm.status()}`);
  check((wasm.headers()['content-type'] || '').startsWith('application/wasm'), 'wasm content type',
        wasm.headers()['content-type']);

  // Joined, and the first snapshots are in (so the local player exists).
  await page.waitForFunction(() => window.tickwire && window.tickwire.state() === 'joined'
    && window.tickwire.self() && window.tickwire.server() && window.tickwire.stats().snapshots >= 10);
  const welcome = await page.evaluate(() => window.tickwire.welcome());
  const map = await page.evaluate(() => window.tickwire.map());
  log(`joined: player ${welcome.playerId}, match ${welcome.matchId}, ${welcome.tickRate} Hz ticks, `
      + `${welcome.snapshotRate} Hz snapshots, map ${map.width}x${map.height} with ${map.walls.length} walls`);
  check(map.width === 2048 && map.height === 2048 && map.walls.length > 0, 'map from WELCOME');
  const me = await page.evaluate(() => window.tickwire.self());
  check(me.name === 'e2e-tester', 'own name echoed in snapshots', JSON.stringify(me.name));

  // The NPCs are there, and they move.
  await page.waitForFunction((n) => window.tickwire.entities().filter((e) => !e.self).length >= n, NPCS);
  const npcsBefore = await page.evaluate(() => window.tickwire.entities().filter((e) => !e.self));
  check(npcsBefore.length >= NPCS, 'remote NPC entities present', `${npcsBefore.length}: ${npcsBefore.map((e) => e.name).join(', ')}`);
  await page.waitForFunction((before) => window.tickwire.entities().some((e) => {
    const b = before.find((x) => x.id === e.id);
    return b && Math.hypot(e.x - b.x, e.y - b.y) > 8;
  }), npcsBefore);
  check(true, 'NPCs move');

  // Wait for the local player to be at rest on the server, then pick the
  // movement key with the most free room ahead.
  await page.waitForFunction(() => { const s = window.tickwire.server(); return s && s.vx === 0 && s.vy === 0; });
  const start = await page.evaluate(() => window.tickwire.server());
  const dirs = [
    { key: 'd', btn: 8, dx: 1, dy: 0 }, { key: 'a', btn: 4, dx: -1, dy: 0 },
    { key: 's', btn: 2, dx: 0, dy: 1 }, { key: 'w', btn: 1, dx: 0, dy: -1 },
  ];
  for (const d of dirs) d.free = freeDistance(map, start.x, start.y, d.dx, d.dy);
  const dir = dirs.reduce((a, b) => (b.free > a.free ? b : a));
  log(`start (${start.x}, ${start.y}); free room ${dirs.map((d) => `${d.key}:${d.free}`).join(' ')}; holding '${dir.key}'`);

  // Hold the key for one second of game time: tickRate fixed steps.
  const tickRate = welcome.tickRate;
  const held0 = await page.evaluate((b) => window.tickwire.stats().buttonTicks[b], dir.btn);
  await page.keyboard.down(dir.key);
  await page.waitForFunction(([b, n]) => window.tickwire.stats().buttonTicks[b] >= n, [dir.btn, held0 + tickRate]);
  await page.keyboard.up(dir.key);
  const afterRelease = await page.evaluate(() => window.tickwire.stats());
  const heldTicks = afterRelease.buttonTicks[dir.btn] - held0;

  // Until the server has every input and the player has come to rest.
  await page.waitForFunction((seq) => {
    const t = window.tickwire;
    const s = t.server();
    return t.stats().lastInputSeq >= seq && s && s.vx === 0 && s.vy === 0;
  }, afterRelease.inputSeq, { timeout: 30_000 });
  const end = await page.evaluate(() => window.tickwire.server());
  const view = await page.evaluate(() => window.tickwire.self());
  const along = (end.x - start.x) * dir.dx + (end.y - start.y) * dir.dy;
  const across = Math.abs((end.x - start.x) * dir.dy - (end.y - start.y) * dir.dx);
  // Accelerating toward 300 u/s with friction 8/s: about 260 units in 1 s
  // held, plus about 37 units of coasting. Be generous: walls, rounding.
  const secs = heldTicks / tickRate;
  const lo = Math.min(dir.free - 20, 0.5 * 300 * secs), hi = 300 * secs + 60;
  check(along >= lo && along <= hi, `moved '${dir.key}' by a plausible distance`,
        `${along.toFixed(2)} units in ${heldTicks} ticks, expected ${lo.toFixed(0)}..${hi.toFixed(0)}`);
  check(across < 0.5, 'no sideways drift', across.toFixed(3));
  check(Math.abs(view.x - end.x) < 1e-3 && Math.abs(view.y - end.y) < 1e-3,
        'predicted position equals the server\'s', `view (${view.x}, ${view.y}) server (${end.x}, ${end.y})`);

  // Firing: hold the mouse button with the crosshair up-right of the
  // player, until the server's snapshot says the player is firing.
  const viewSize = await page.evaluate(() => {
    const c = document.getElementById('view').getBoundingClientRect();
    return { w: c.width, h: c.height };
  });
  await page.mouse.move(viewSize.w / 2 + 170, viewSize.h / 2 - 90);
  await page.mouse.down();
  await page.waitForFunction(() => { const s = window.tickwire.server(); return s && (s.flags & 1) === 1; });
  check(true, 'firing reaches the server');
  await page.waitForFunction(() => { const s = window.tickwire.self(); return s && (s.flags & 1) === 1; });
  fs.mkdirSync(path.dirname(SHOT), { recursive: true });
  await page.screenshot({ path: SHOT });
  log(`screenshot: ${SHOT}`);
  await page.mouse.up();

  const stats = await page.evaluate(() => window.tickwire.stats());
  log(`stats: ${stats.snapshots} snapshots (${stats.fullSnapshots} full), ${stats.snapshotsPerSec.toFixed(1)}/s, `
      + `down ${stats.bytesDownPerSec.toFixed(0)} B/s, up ${stats.bytesUpPerSec.toFixed(0)} B/s, `
      + `RTT ${stats.rttMs.toFixed(1)} ms, interp depth ${stats.interpDepth}, corrections ${stats.corrections}`);
  check(stats.snapshots > 0 && stats.fullSnapshots >= 1, 'snapshots received', `${stats.snapshots}`);
  check(stats.snapshotsPerSec > 0.5 * stats.snapshotRate, 'snapshot rate measured',
        `${stats.snapshotsPerSec.toFixed(1)}/s of ${stats.snapshotRate}`);
  check(stats.corrections === 0, 'no reconciliation corrections on a lossless local link',
        `${stats.corrections}, max ${stats.maxCorrection}`);
  check(stats.rttMs > 0 && stats.rttMs < 250, 'RTT measured (under 250 ms on loopback)', `${stats.rttMs.toFixed(1)} ms`);

  // The artificial latency (100 ms each way) shows in the RTT.
  await page.evaluate(() => window.tickwire.setLatency(100));
  await page.waitForFunction(() => window.tickwire.stats().rttMs >= 200, null, { timeout: 10_000 });
  const rttLagged = await page.evaluate(() => window.tickwire.stats().rttMs);
  check(rttLagged >= 200, 'added latency shows in the RTT', `${rttLagged.toFixed(1)} ms`);
  await page.evaluate(() => window.tickwire.setLatency(0));

  const final = await page.evaluate(() => window.tickwire.stats());
  check(final.corrections === 0, 'still no corrections at the end', `${final.corrections}`);
  check(final.state === 'joined', 'still connected', final.state);

  // A server hitch: the process is paused for 0.5 s while the page keeps
  // sending inputs. They arrive at once; the server credits the missed
  // ticks, so a second later the RTT is back where it was (a backlog left
  // queued would keep it ~500 ms higher for good).
  await page.waitForFunction(() => window.tickwire.stats().rttMs < 100, null, { timeout: 10_000 });
  const rttCalm = (await page.evaluate(() => window.tickwire.stats())).rttMs;
  server.kill('SIGSTOP');
  await new Promise((r) => setTimeout(r, 500));
  server.kill('SIGCONT');
  await new Promise((r) => setTimeout(r, 1000));
  const hitch = await page.evaluate(() => window.tickwire.stats());
  log(`hitch: RTT ${rttCalm.toFixed(1)} ms before a 0.5 s server pause, ${hitch.rttMs.toFixed(1)} ms 1 s after; `
      + `state ${hitch.state}, corrections ${hitch.corrections}`);
  check(hitch.state === 'joined', 'still connected after a 0.5 s server pause', hitch.state);
  check(hitch.rttMs < 100, 'RTT back under 100 ms 1 s after a 0.5 s server pause', `${hitch.rttMs.toFixed(1)} ms`);
  check(await metric(url, 'tickwire_input_queue_depth_max') <= 6, 'server input queues drained after the pause');

  await connectionChecks({ page, context, url, map, welcome, tokens });

  check(pageErrors.length === 0, 'no page errors', pageErrors.join(' | '));
  return failed ? 1 : 0;
}

// A counter or gauge from the server's /metrics.
async function metric(url, name) {
  const text = await (await fetch(new URL('/metrics', url))).text();
  const m = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

// The movement key with the most free room from the player's position.
async function bestDirection(page, map) {
  const at = await page.evaluate(() => window.tickwire.server());
  const dirs = [
    { key: 'd', btn: 8, dx: 1, dy: 0 }, { key: 'a', btn: 4, dx: -1, dy: 0 },
    { key: 's', btn: 2, dx: 0, dy: 1 }, { key: 'w', btn: 1, dx: 0, dy: -1 },
  ];
  for (const d of dirs) d.free = freeDistance(map, at.x, at.y, d.dx, d.dy);
  return { at, dir: dirs.reduce((a, b) => (b.free > a.free ? b : a)) };
}

// Until the server has applied every input and the player is at rest.
async function settle(page) {
  const seq = await page.evaluate(() => window.tickwire.stats().inputSeq);
  await page.waitForFunction((n) => {
    const t = window.tickwire;
    const s = t.server();
    return t.stats().lastInputSeq >= n && s && s.vx === 0 && s.vy === 0;
  }, seq, { timeout: 30_000 });
}

async function openPage(context, url, name, label) {
  const p = await context.newPage();
  p.setDefaultTimeout(20_000);
  p.on('pageerror', (err) => log(`${label} page error: ${err}`));
  await p.goto(`${url}?name=${name}`);
  return p;
}

async function connectionChecks({ page, context, url, map, welcome, tokens }) {
  const me = welcome.playerId;
  const want = (fs.readFileSync(PROTO_H, 'utf8').match(/#define PROTO_SUBPROTOCOL "([^"]+)"/) || [])[1];
  const sub = await page.evaluate(() => window.tickwire.subprotocol());
  check(sub === want, 'WebSocket subprotocol from the wasm module is PROTO_SUBPROTOCOL', `${sub} (proto.h: ${want})`);
  check(tokens.length === 1 && typeof tokens[0] === 'string', 'one join token from POST /api/join', `${tokens.length}`);

  // --- 1. network drop, half-open: the page reconnects and resumes ---------
  await settle(page);
  const { at, dir } = await bestDirection(page, map);
  const maxUnacked = await page.evaluate(() => window.tickwire.stats().maxUnacked);
  const before = await page.evaluate(() => ({ s: window.tickwire.stats(), c: window.tickwire.connection() }));
  log(`drop 1 (half-open, 1.2 s outage) at (${at.x}, ${at.y}), holding '${dir.key}' (free ${dir.free})`);
  const dropped = await page.evaluate(() => window.tickwire.dropConnection({ mode: 'abandon', outageMs: 1200 }));
  check(dropped && (await page.evaluate(() => window.tickwire.state())) === 'reconnecting', 'drop: page is reconnecting');
  await page.keyboard.down(dir.key);
  // Offline: the local player still moves, by prediction alone.
  await page.waitForFunction(([x, y]) => {
    const t = window.tickwire;
    const p = t.predicted();
    return t.state() === 'reconnecting' && p && Math.hypot(p.x - x, p.y - y) > 20;
  }, [at.x, at.y]);
  check(true, 'local player keeps moving (predicted) while reconnecting');
  await page.waitForFunction(() => {
    const b = document.getElementById('banner');
    return b.classList.contains('show') && /Reconnecting · attempt \d+/.test(document.getElementById('banner-title').textContent)
      && /reconnecting/.test(document.getElementById('conn-pill').textContent);
  });
  const offlineBanner = await page.evaluate(() => `${document.getElementById('banner-title').textContent} | `
    + `${document.getElementById('banner-text').textContent}`);
  check(true, 'overlay shows reconnecting and the attempt', offlineBanner);
  // At most CL_MAX_UNACKED inputs wait; the next ones are refused (stalls).
  await page.waitForFunction((n) => {
    const s = window.tickwire.stats();
    return s.state === 'reconnecting' && s.unacked >= n && s.stalls > 0;
  }, maxUnacked);
  const offline = await page.evaluate(() => window.tickwire.stats());
  check(offline.unacked === maxUnacked && offline.stalls > 0,
        'offline inputs stop at CL_MAX_UNACKED', `${offline.unacked} unacked of ${maxUnacked}, ${offline.stalls} stalls`);
  const shotDir = path.dirname(SHOT);
  const offlineShot = path.join(shotDir, 'browser-reconnecting.png');
  await page.screenshot({ path: offlineShot });
  log(`screenshot: ${offlineShot}`);

  await page.waitForFunction(() => window.tickwire.state() === 'resumed', null, { timeout: 30_000 });
  await page.keyboard.up(dir.key);
  const w1 = await page.evaluate(() => window.tickwire.welcome());
  const c1 = await page.evaluate(() => window.tickwire.connection());
  check(w1.resumed === true && w1.playerId === me, 'WELCOME says resumed, same player id',
        `resumed ${w1.resumed}, player ${w1.playerId} (was ${me})`);
  check(c1.lastResume && c1.lastResume.attempts >= 2, 'came back after failed tries (backoff)',
        c1.lastResume ? `attempt ${c1.lastResume.attempts}, ${c1.lastResume.offlineMs.toFixed(0)} ms offline` : 'none');
  check(c1.sockets === before.c.sockets + 1, 'tries during the outage opened no socket; the resume one did',
        `${c1.sockets - before.c.sockets} new`);
  const n1 = c1.lastResume ? c1.lastResume.attempts : -1;
  await page.waitForFunction((n) => document.getElementById('st-link').textContent.startsWith(`${n} attempt`)
    && document.getElementById('conn-pill').textContent === 'resumed'
    && document.getElementById('banner-text').textContent.includes(`after ${n} attempt`), n1);
  const link = await page.evaluate(() => `${document.getElementById('banner-title').textContent} | `
    + `${document.getElementById('banner-text').textContent} | link: ${document.getElementById('st-link').textContent}`);
  check(true, 'overlay shows resumed and the attempt count', link);
  check(await metric(url, 'tickwire_resumes_total') === 1, 'server counted the resume');
  check(tokens.length === 1, 'resume needed no new join token', `${tokens.length} tokens`);

  await settle(page);
  const after = await page.evaluate(() => ({ v: window.tickwire.self(), s: window.tickwire.server(), st: window.tickwire.stats() }));
  const moved = (after.s.x - at.x) * dir.dx + (after.s.y - at.y) * dir.dy;
  check(moved > 20, 'inputs taken offline reached the server', `${moved.toFixed(2)} units along '${dir.key}'`);
  check(Math.abs(after.v.x - after.s.x) < 1e-3 && Math.abs(after.v.y - after.s.y) < 1e-3,
        'after the resume the prediction equals the server\'s state',
        `view (${after.v.x}, ${after.v.y}) server (${after.s.x}, ${after.s.y})`);
  check(after.st.corrections === 0, 'no corrections across the drop', `${after.st.corrections}`);
  check(after.st.maxUnackedSeen <= maxUnacked, 'never more than CL_MAX_UNACKED unacked',
        `${after.st.maxUnackedSeen} of ${maxUnacked}`);

  // --- 2. a drop the server sees: others see the player DISCONNECTED --------
  const observer = await openPage(context, url, 'observer', 'observer');
  await observer.waitForFunction((id) => window.tickwire.state() === 'joined'
    && window.tickwire.entities().some((e) => e.id === id), me);
  const observed = await observer.evaluate((id) => window.tickwire.entities().find((e) => e.id === id), me);
  check((observed.flags & 2) === 0 && observed.name === 'e2e-tester', 'observer sees the player connected',
        `flags ${observed.flags}`);
  log('drop 2 (socket closed, 1.5 s outage)');
  await page.evaluate(() => window.tickwire.dropConnection({ mode: 'close', outageMs: 1500 }));
  await observer.waitForFunction((id) => window.tickwire.entities().some((e) => e.id === id && (e.flags & 2)), me);
  check(true, 'observer sees the player flagged DISCONNECTED while it is away');
  await page.waitForFunction(() => window.tickwire.state() === 'resumed'
    && window.tickwire.connection().drops === 2, null, { timeout: 30_000 });
  const w2 = await page.evaluate(() => window.tickwire.welcome());
  const c2 = await page.evaluate(() => window.tickwire.connection());
  check(w2.resumed && w2.playerId === me, 'resumed again, same player id',
        `player ${w2.playerId}, attempt ${c2.lastResume && c2.lastResume.attempts}`);
  await observer.waitForFunction((id) => window.tickwire.entities().some((e) => e.id === id && !(e.flags & 2)), me);
  check(true, 'observer sees the player back');
  check(await metric(url, 'tickwire_resumes_total') === 2, 'server counted both resumes');
  const s2 = await page.evaluate(() => window.tickwire.stats());
  check(s2.corrections === 0, 'still no corrections', `${s2.corrections}`);

  // --- 3. Leave: no reconnect; after the hold, Join again starts afresh ----
  const sockets3 = (await page.evaluate(() => window.tickwire.connection())).sockets;
  await page.evaluate(() => window.tickwire.leave());
  // A retry would come within the first backoff step (<= 250 ms); give it 1.5 s.
  await page.waitForTimeout(1500);
  const c3 = await page.evaluate(() => window.tickwire.connection());
  check(c3.state === 'closed' && c3.sockets === sockets3, 'Leave: closed and no reconnect',
        `${c3.state} (${c3.closeInfo}), ${c3.sockets - sockets3} new sockets`);
  const leaveBanner = await page.evaluate(() => document.getElementById('banner-btn').hidden ? ''
    : document.getElementById('banner-btn').textContent);
  check(leaveBanner === 'Join again', 'overlay offers Join again', leaveBanner);
  // The server holds the slot anyway (it cannot tell a leave from a drop)
  // until the grace runs out.
  await observer.waitForFunction((id) => !window.tickwire.entities().some((e) => e.id === id), me,
                                 { timeout: (RESUME_GRACE_S + 15) * 1000 });
  check(true, `held player gone after the ${RESUME_GRACE_S} s grace`);
  await page.click('#banner-btn');
  await page.waitForFunction(() => window.tickwire.state() === 'joined', null, { timeout: 30_000 });
  const w3 = await page.evaluate(() => window.tickwire.welcome());
  const c3b = await page.evaluate(() => window.tickwire.connection());
  check(!w3.resumed && /resume expired/.test(c3b.rejoined) && c3b.closeCode === 4002,
        'resume expired (4002): joined afresh', `player ${w3.playerId}, ${c3b.rejoined}, code ${c3b.closeCode}`);
  check(tokens.length === 2, 'with a new join token', `${tokens.length} tokens`);
  await page.waitForFunction(() => window.tickwire.self() && window.tickwire.stats().snapshots > 10);
  await observer.close();

  // --- 4. a replayed token is refused, and not retried ----------------------
  const refused = await context.newPage();
  refused.setDefaultTimeout(20_000);
  await refused.route('**/api/join**', (route) => route.fulfill({
    status: 200, contentType: 'application/json',
    body: JSON.stringify({ token: tokens[0], expires_in: 60, player_id: 1 }),
  }));
  await refused.goto(`${url}?name=replayer`);
  await refused.waitForFunction(() => window.tickwire && window.tickwire.state() === 'closed');
  await refused.waitForTimeout(1500);
  const c4 = await refused.evaluate(() => window.tickwire.connection());
  check(c4.state === 'closed' && c4.closeCode === 4001 && /token already used/.test(c4.closeInfo) && c4.sockets === 1,
        'replayed token refused (4001), no retry', `${c4.state}: ${c4.closeCode} ${c4.closeInfo}; ${c4.sockets} socket(s)`);
  const refusedTitle = await refused.evaluate(() => document.getElementById('banner-title').textContent);
  check(refusedTitle === 'Join refused', 'overlay says the join was refused', refusedTitle);
  await refused.close();

  const fin = await page.evaluate(() => window.tickwire.stats());
  check(fin.state === 'joined' && fin.corrections === 0, 'main page playing, no corrections',
        `${fin.state}, ${fin.corrections}`);
}

const watchdog = setTimeout(async () => {
  log(`FAIL timed out after ${TEST_TIMEOUT_MS / 1000} s`);
  await cleanup();
  process.exit(1);
}, TEST_TIMEOUT_MS);

let code;
try {
  code = await main();
} catch (err) {
  log(`FAIL ${err.stack || err}`);
  code = 1;
}
await cleanup();
clearTimeout(watchdog);
if (code === 1) log(`server output:\n${serverLog.split('\n').slice(-40).join('\n')}`);
log(code === 0 ? 'PASS' : code === SKIP ? 'SKIPPED' : 'FAILED');
process.exit(code);
