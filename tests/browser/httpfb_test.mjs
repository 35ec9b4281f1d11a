// The demo page with WebSocket blocked (issue 15, PROTOCOL.md section 18):
// Debian's chromium plays through a small HTTP proxy (node:http, in this
// process) in front of a real tickwire server. The proxy refuses every
// WebSocket upgrade for real (403 to any request with `Upgrade:
// websocket`) and passes everything else through, streamed chunk by chunk
// (re-chunked, as a proxy may).
//
//   node tests/browser/httpfb_test.mjs --server build/bin/tickwire-server \
//        --web-root build/www --screenshot build/screenshots/httpfb.png
//
// 1. stream: the page falls back (fallback=upgrade), probes, plays over
//    GET /tw/stream + POST /tw/input: joined with NPCs moving, a movement
//    key held for 60 ticks moves the player a plausible distance, every
//    input is acknowledged, the prediction equals the server's position,
//    0 corrections; the panel's transport tag says "http stream" and the
//    expanded panel "HTTP stream" and "WebSocket upgrade failed"; the
//    server counted the session as http_stream and the fallback as
//    upgrade; no WebSocket session at the server; at most one POST
//    /tw/input in flight at any time (the proxy sees them); with 200 ms
//    added each way the inputs keep up (no stalls, RTT ~400 ms: each POST
//    starts after the newest input of a POST answered 204).
// 5. the upgrade gets through but the WELCOME does not (a proxy swallows
//    what the server sends after its 101): the page falls back after 3 s
//    with fallback=welcome and a fresh join token, and plays.
// 2. resume: the proxy cuts the page's stream (both sockets destroyed):
//    the page shows reconnecting, resumes as the same player over HTTP
//    again, and plays on (inputs acknowledged, 0 corrections).
// 3. poll: a second proxy also buffers every response until 16 KB or its
//    end (a buffering proxy); a new page finds the probe's HELLO held back,
//    uses long-polling (GET /tw/poll), and plays: moves, acked, 0
//    corrections; its panel says "http poll" and why.
// 4. refused token over HTTP: a page given a bad join token (?token=) gets
//    the CLOSE frame 4001 in the POST /tw/session answer and shows "Join
//    refused", not a spinner.
// 6. the probe gets through but the stream is buffered (headers and all):
//    no WELCOME over HTTP in 10 s, the banner says so, the next try polls.
// 7. the stream passes its first KB, then is held: the page notices the
//    stall (nothing for 2 s while its POSTs are answered), resumes the
//    same player by polling, and plays.
// 8. across transports: a page playing over WebSocket loses it and the
//    upgrade is refused from then on: it resumes the same player over the
//    HTTP stream (the session bound to the resume token), and plays.
// Screenshots: --screenshot (stream, panel expanded), httpfb-resumed.png,
// httpfb-poll.png, httpfb-refused.png next to it.
// Exit 0 pass, 1 fail, 77 skip (no chromium or playwright-core).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
};
const SERVER = path.resolve(arg('server', path.join(root, 'build/bin/tickwire-server')));
const WEB_ROOT = path.resolve(arg('web-root', path.join(root, 'build/www')));
const SHOT = path.resolve(arg('screenshot', path.join(root, 'build/screenshots/httpfb.png')));
const SHOT_DIR = path.dirname(SHOT);
const CHROMIUM = arg('chromium', '/usr/bin/chromium');
const NPCS = 3;
const BUFFER_BYTES = 16 * 1024;
const SKIP = 77;

const log = (m) => console.log(`[httpfb-test] ${m}`);
let failed = 0;
function check(ok, what, detail = '') {
  if (ok) log(`ok   ${what}${detail ? ` (${detail})` : ''}`);
  else { failed++; log(`FAIL ${what}${detail ? `: ${detail}` : ''}`); }
  return ok;
}

const children = [];

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function startServer(dir) {
  const port = await freePort();
  const args = ['--host', '127.0.0.1', '--port', String(port), '--web-root', WEB_ROOT, '--npcs', String(NPCS),
    '--results-db', ':memory:', '--log-level', 'info', '--drain-timeout', '0', '--resume-grace', '10'];
  const logFile = path.join(dir, 'server.log');
  const out = fs.openSync(logFile, 'w');
  const child = spawn(SERVER, args, { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  children.push(child);
  const want = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 150; i++) {
    await new Promise((r) => setTimeout(r, 100));
    if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode} (log ${logFile})`);
    if (fs.readFileSync(logFile, 'utf8').includes(want)) return { port, logFile };
  }
  throw new Error(`server did not start (log ${logFile})`);
}

// The proxy. Upgrades: 403. Everything else: forwarded to the server,
// request and response bodies streamed through as they come; with
// `buffer`, each response (headers too) is held until BUFFER_BYTES of body
// have come or it ended. killStreams() destroys the connections carrying a
// GET /tw/stream. It counts what it saw.
// With ws: 'swallow' an upgrade goes through to the server, but nothing
// the server sends after its 101 reaches the page (so no WELCOME comes).
// bufferOnly: buffer only the responses to these paths. passFirst: that
// many body bytes of a buffered response go through before the holding
// starts (a proxy buffering by size, after the headers).
function startProxy(upstreamPort, { buffer = false, ws = 'refuse', bufferOnly = null, passFirst = 0 } = {}) {
  const seen = { upgrades: 0, paths: {}, inputInFlight: 0, inputMaxInFlight: 0, streamsKilled: 0, swallowed: 0, wsPassed: 0 };
  const mode = { ws };           // 'pass' lets upgrades through until set to 'refuse'
  const wsConns = new Set();
  const streams = new Set();
  const agent = new http.Agent({ keepAlive: true });   // upstream connections reused, as a proxy does
  const server = http.createServer((req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    seen.paths[p] = (seen.paths[p] || 0) + 1;
    const isInput = p === '/tw/input';
    if (isInput) {
      seen.inputInFlight++;
      seen.inputMaxInFlight = Math.max(seen.inputMaxInFlight, seen.inputInFlight);
    }
    let counted = isInput;
    const done = () => { if (counted) { counted = false; seen.inputInFlight--; } };
    const up = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url,
                              headers: req.headers, agent }, (ures) => {
      ures.socket?.setNoDelay(true);
      const entry = { req, res, up, ures };
      if (p === '/tw/stream') { streams.add(entry); ures.on('close', () => streams.delete(entry)); }
      const headers = { ...ures.headers };
      if (!buffer || (bufferOnly && !bufferOnly.includes(p))) {
        res.writeHead(ures.statusCode, headers);
        res.flushHeaders();
        ures.on('data', (d) => res.write(d));
        ures.on('end', () => { res.end(); done(); });
      } else {
        const held = [];
        let size = 0;
        let flowing = false;
        let passed = 0;
        if (passFirst) { res.writeHead(ures.statusCode, headers); res.flushHeaders(); }
        const open = () => {
          flowing = true;
          delete headers['content-length'];
          if (!passFirst) res.writeHead(ures.statusCode, headers);
          for (const d of held.splice(0)) res.write(d);
        };
        ures.on('data', (d) => {
          if (flowing) { res.write(d); return; }
          if (passed < passFirst) {
            const n = Math.min(d.length, passFirst - passed);
            res.write(d.subarray(0, n));
            passed += n;
            d = d.subarray(n);
            if (!d.length) return;
          }
          held.push(d);
          size += d.length;
          if (size >= BUFFER_BYTES) open();
        });
        ures.on('end', () => { if (!flowing) open(); res.end(); done(); });
      }
      ures.on('error', () => { res.destroy(); done(); });
    });
    up.on('error', () => { res.destroy(); done(); });
    res.on('close', () => { up.destroy(); done(); });
    req.pipe(up);
  });
  server.on('connection', (sock) => sock.setNoDelay(true));
  server.on('upgrade', (req, socket, head) => {
    seen.upgrades++;
    if (mode.ws === 'pass') {
      seen.wsPassed++;
      const up = net.connect(upstreamPort, '127.0.0.1', () => {
        let h = `${req.method} ${req.url} HTTP/1.1\r\n`;
        for (let i = 0; i < req.rawHeaders.length; i += 2) h += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
        up.write(`${h}\r\n`);
        if (head.length) up.write(head);
        socket.pipe(up);
        up.pipe(socket);
      });
      const pair = { socket, up };
      wsConns.add(pair);
      const end = () => { wsConns.delete(pair); socket.destroy(); up.destroy(); };
      up.on('error', end);
      up.on('close', end);
      socket.on('error', end);
      socket.on('close', end);
      return;
    }
    if (mode.ws === 'swallow') {
      const up = net.connect(upstreamPort, '127.0.0.1', () => {
        let h = `${req.method} ${req.url} HTTP/1.1\r\n`;
        for (let i = 0; i < req.rawHeaders.length; i += 2) h += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
        up.write(`${h}\r\n`);
        if (head.length) up.write(head);
        socket.pipe(up);
      });
      let acc = Buffer.alloc(0);
      let headDone = false;
      up.on('data', (d) => {
        if (headDone) { seen.swallowed += d.length; return; }
        acc = Buffer.concat([acc, d]);
        const i = acc.indexOf('\r\n\r\n');
        if (i < 0) return;
        headDone = true;
        socket.write(acc.subarray(0, i + 4));
        seen.swallowed += acc.length - i - 4;
      });
      up.on('error', () => socket.destroy());
      up.on('close', () => socket.destroy());
      socket.on('error', () => up.destroy());
      socket.on('close', () => up.destroy());
      return;
    }
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 22\r\nConnection: close\r\n\r\n'
      + 'WebSocket not allowed\n');
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}/`, seen, server,
        mode,
        // From now on upgrades are refused, and the WebSockets open are cut.
        blockWebSocket() {
          mode.ws = 'refuse';
          for (const c of wsConns) { c.socket.destroy(); c.up.destroy(); }
          const n = wsConns.size;
          wsConns.clear();
          return n;
        },
        killStreams() {
          let n = 0;
          for (const s of streams) { s.res.socket?.destroy(); s.up.destroy(); n++; }
          streams.clear();
          seen.streamsKilled += n;
          return n;
        },
      });
    });
  });
}

async function metricsText(port) {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}
function metric(text, name) {
  const m = text.match(new RegExp(`^${name.replace(/[{}()[\]\\.*+?^$|"]/g, '\\$&')} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

// Free room along (dx, dy) from (x, y) before a wall or the map's edge
// (as browser_test.mjs).
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

// Holds the movement key with the most room for 60 ticks, waits until the
// server has every input and the player is at rest; checks the move, the
// acks and the prediction.
// minSnapFrac: the share of the server's snapshot rate that must arrive
// (long-polling gets one snapshot per poll round trip: latest wins).
async function moveAndCheck(page, label, minSnapFrac = 0.5) {
  const map = await page.evaluate(() => window.tickwire.map());
  await page.waitForFunction(() => { const s = window.tickwire.server(); return s && s.vx === 0 && s.vy === 0; },
    null, { timeout: 15000 });
  const start = await page.evaluate(() => window.tickwire.server());
  const dirs = [
    { key: 'd', btn: 8, dx: 1, dy: 0 }, { key: 'a', btn: 4, dx: -1, dy: 0 },
    { key: 's', btn: 2, dx: 0, dy: 1 }, { key: 'w', btn: 1, dx: 0, dy: -1 },
  ];
  for (const d of dirs) d.free = freeDistance(map, start.x, start.y, d.dx, d.dy);
  const dir = dirs.reduce((a, b) => (b.free > a.free ? b : a));
  const held0 = await page.evaluate((b) => window.tickwire.stats().buttonTicks[b], dir.btn);
  await page.keyboard.down(dir.key);
  await page.waitForFunction(([b, n]) => window.tickwire.stats().buttonTicks[b] >= n, [dir.btn, held0 + 60]);
  await page.keyboard.up(dir.key);
  const rel = await page.evaluate(() => window.tickwire.stats());
  const heldTicks = rel.buttonTicks[dir.btn] - held0;
  await page.waitForFunction((seq) => {
    const t = window.tickwire;
    const s = t.server();
    return t.stats().lastInputSeq >= seq && s && s.vx === 0 && s.vy === 0;
  }, rel.inputSeq, { timeout: 20000 });
  const end = await page.evaluate(() => window.tickwire.server());
  const view = await page.evaluate(() => window.tickwire.self());
  const st = await page.evaluate(() => window.tickwire.stats());
  const along = (end.x - start.x) * dir.dx + (end.y - start.y) * dir.dy;
  const secs = heldTicks / 60;
  const lo = Math.min(dir.free - 20, 0.5 * 300 * secs), hi = 300 * secs + 60;
  check(along >= lo && along <= hi, `${label}: the player moved '${dir.key}' by a plausible distance`,
    `${along.toFixed(1)} units in ${heldTicks} ticks, expected ${lo.toFixed(0)}..${hi.toFixed(0)}`);
  check(st.lastInputSeq >= rel.inputSeq, `${label}: every input acknowledged by the server`,
    `acked #${st.lastInputSeq} of #${rel.inputSeq}`);
  check(Math.abs(view.x - end.x) < 1e-3 && Math.abs(view.y - end.y) < 1e-3,
    `${label}: the prediction equals the server's position`, `view (${view.x}, ${view.y}) server (${end.x}, ${end.y})`);
  check(st.corrections === 0, `${label}: 0 corrections on loopback`, `${st.corrections}, max ${st.maxCorrection}`);
  check(st.snapshotsPerSec > minSnapFrac * st.snapshotRate, `${label}: snapshots arrive (> ${minSnapFrac * 100}% of the rate)`,
    `${st.snapshotsPerSec.toFixed(1)}/s of ${st.snapshotRate}, ${st.snapshots} in all`);
  check(st.rttMs > 0 && st.rttMs < 250, `${label}: input->ack RTT measured`, `${st.rttMs.toFixed(1)} ms`);
  return st;
}

async function openPage(context, url, label) {
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  const errors = [];
  const sockets = [];
  page.on('pageerror', (e) => { errors.push(String(e)); log(`${label} page error: ${e}`); });
  page.on('console', (m) => { if (m.type() === 'error') log(`${label} console.error: ${m.text()}`); });
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await page.goto(url);
  return { page, errors, sockets };
}

// The panel's words: the compact tag, then the expanded panel's text.
async function panelText(page) {
  return page.evaluate(() => ({
    tag: document.getElementById('nl-transport').hidden ? '' : document.getElementById('nl-transport').textContent,
    transport: document.getElementById('st-transport').textContent,
    why: document.getElementById('st-why-dd').hidden ? '' : document.getElementById('st-why').textContent,
  }));
}

async function main() {
  let playwright;
  try { playwright = await import('playwright-core'); } catch (err) {
    log(`SKIP: playwright-core is not installed (cd tests/browser && npm ci): ${err.message}`);
    return SKIP;
  }
  if (!fs.existsSync(CHROMIUM)) { log(`SKIP: no chromium at ${CHROMIUM}`); return SKIP; }
  for (const p of [SERVER, path.join(WEB_ROOT, 'httpfb.js'), path.join(WEB_ROOT, 'tickwire.wasm')]) {
    if (!fs.existsSync(p)) throw new Error(`not found: ${p} (build first)`);
  }
  fs.mkdirSync(SHOT_DIR, { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tickwire-httpfb-'));
  const srv = await startServer(dir);
  const proxy = await startProxy(srv.port);
  log(`server on ${srv.port}, WebSocket-blocking proxy at ${proxy.url}`);

  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tickwire-chromium-'));
  const context = await playwright.chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    // ---- 1. stream
    const t0 = Date.now();
    const a = await openPage(context, `${proxy.url}?name=fallback`, 'stream');
    const page = a.page;
    await page.waitForFunction(() => window.tickwire && window.tickwire.state() === 'joined'
      && window.tickwire.self() && window.tickwire.stats().snapshots >= 30, null, { timeout: 20000 });
    log(`joined over the fallback ${((Date.now() - t0) / 1000).toFixed(1)} s after loading`);
    const c1 = await page.evaluate(() => window.tickwire.connection());
    log(`connection: ${JSON.stringify({ transport: c1.transport, fallback: c1.fallback, probe: c1.probe })}`);
    check(proxy.seen.upgrades >= 1, 'the proxy refused the WebSocket upgrade', `${proxy.seen.upgrades} refused`);
    check(c1.transport === 'http_stream', 'playing over the HTTP stream', c1.transport);
    check(c1.fallbackWhy === 'upgrade' && /upgrade failed/.test(c1.fallback), 'the page says why: the upgrade failed',
      `${c1.fallbackWhy}: ${c1.fallback}`);
    check(c1.probe && c1.probe.mode === 'stream', 'the probe found streaming works', JSON.stringify(c1.probe));
    check((proxy.seen.paths['/tw/stream'] || 0) >= 1 && !proxy.seen.paths['/tw/poll'], 'GET /tw/stream, no polls',
      JSON.stringify(proxy.seen.paths));
    await page.waitForFunction((n) => window.tickwire.entities().filter((e) => !e.self).length >= n, NPCS);
    const welcome1 = await page.evaluate(() => window.tickwire.welcome());
    await moveAndCheck(page, 'stream');
    const http1 = (await page.evaluate(() => window.tickwire.connection())).http;
    check(http1 && http1.posts > 10 && http1.refused === 0 && http1.failed === 0,
      'inputs went up in POST /tw/input, none refused or lost', JSON.stringify(http1));
    check(proxy.seen.inputMaxInFlight === 1, 'at most one POST /tw/input in flight', `max ${proxy.seen.inputMaxInFlight}`);
    // 200 ms added each way (the panel's latency, applied to the POSTs and
    // the stream): a POST carries at most 16 inputs, so each one starts
    // after the newest input of a POST answered 204; the server is not
    // starved (no stalls, the round trip about 400 ms as over WebSocket).
    const lat0 = await page.evaluate(() => window.tickwire.stats());
    await page.evaluate(() => window.tickwire.setLatency(200));
    await page.keyboard.down('w');
    await page.waitForTimeout(3000);
    const lat1 = await page.evaluate(() => window.tickwire.stats());
    await page.keyboard.up('w');
    await page.evaluate(() => window.tickwire.setLatency(0));
    check(lat1.stalls === lat0.stalls && lat1.rttMs > 400 && lat1.rttMs < 700 && lat1.lastInputSeq - lat0.lastInputSeq > 120,
      '200 ms each way: inputs keep up (no stalls, RTT ~400 ms)',
      `stalls ${lat1.stalls - lat0.stalls}, RTT ${lat1.rttMs.toFixed(0)} ms, ${lat1.lastInputSeq - lat0.lastInputSeq} acked in 3 s`);
    await page.waitForFunction(() => window.tickwire.stats().rttMs < 150, null, { timeout: 10000 });
    await moveAndCheck(page, 'stream, latency back to 0');
    const m1 = await metricsText(srv.port);
    check(metric(m1, 'tickwire_transport_sessions_total{transport="http_stream"}') >= 1,
      'the server counted an http_stream session');
    check(metric(m1, 'tickwire_http_fallbacks_total{reason="upgrade"}') >= 1, 'the server counted fallback=upgrade');
    check(metric(m1, 'tickwire_transport_sessions_total{transport="ws"}') === 0, 'no WebSocket session at the server');
    check(a.sockets.length >= 1, 'the page did try WebSocket first', a.sockets.join(' '));
    // The panel, compact then expanded (F3).
    const p1 = await panelText(page);
    check(p1.tag === 'http stream', 'the compact panel shows "http stream"', p1.tag);
    await page.screenshot({ path: path.join(SHOT_DIR, 'httpfb-compact.png') });
    await page.keyboard.press('F3');
    await page.waitForTimeout(300);
    const p1x = await panelText(page);
    check(/HTTP stream/.test(p1x.transport) && /upgrade failed/.test(p1x.why),
      'the expanded panel shows the transport and why', JSON.stringify(p1x));
    await page.screenshot({ path: SHOT });
    log(`screenshot: ${SHOT}`);
    await page.keyboard.press('F3');

    // ---- 2. resume: the proxy cuts the stream
    const killed = proxy.killStreams();
    check(killed === 1, 'the proxy cut the page\'s stream', `${killed}`);
    await page.waitForFunction(() => window.tickwire.state() === 'reconnecting' || window.tickwire.state() === 'resumed',
      null, { timeout: 5000 });
    await page.waitForFunction(() => window.tickwire.state() === 'resumed' && window.tickwire.stats().snapshots > 10,
      null, { timeout: 15000 });
    const c2 = await page.evaluate(() => window.tickwire.connection());
    const w2 = await page.evaluate(() => window.tickwire.welcome());
    check(c2.lastResume && c2.lastResume.playerId === welcome1.playerId && w2.playerId === welcome1.playerId
      && w2.resumed, 'resumed as the same player', JSON.stringify(c2.lastResume));
    check(c2.transport === 'http_stream', 'resumed over the HTTP stream again', c2.transport);
    check((proxy.seen.paths['/tw/stream'] || 0) >= 2, 'a second GET /tw/stream', JSON.stringify(proxy.seen.paths));
    await page.screenshot({ path: path.join(SHOT_DIR, 'httpfb-resumed.png') });
    await moveAndCheck(page, 'after the resume');
    check(a.errors.length === 0, 'no page errors (stream page)', a.errors.join(' | '));

    // ---- 3. poll: a buffering proxy
    const bproxy = await startProxy(srv.port, { buffer: true });
    log(`buffering proxy at ${bproxy.url}`);
    const b = await openPage(context, `${bproxy.url}?name=poller`, 'poll');
    await b.page.waitForFunction(() => window.tickwire && window.tickwire.state() === 'joined'
      && window.tickwire.self() && window.tickwire.stats().snapshots >= 30, null, { timeout: 25000 });
    const c3 = await b.page.evaluate(() => window.tickwire.connection());
    log(`connection: ${JSON.stringify({ transport: c3.transport, fallback: c3.fallback, probe: c3.probe })}`);
    check(c3.transport === 'http_poll' && c3.httpMode === 'poll', 'playing over long-polling', c3.transport);
    check(c3.probe && c3.probe.mode === 'poll' && /buffered|no probe answer/.test(c3.probe.why),
      'the probe found the stream buffered', JSON.stringify(c3.probe));
    check((bproxy.seen.paths['/tw/poll'] || 0) > 10 && !bproxy.seen.paths['/tw/stream'], 'GET /tw/poll, no stream',
      JSON.stringify(bproxy.seen.paths));
    await moveAndCheck(b.page, 'poll', 0.15);
    const m3 = await metricsText(srv.port);
    check(metric(m3, 'tickwire_transport_sessions_total{transport="http_poll"}') >= 1,
      'the server counted an http_poll session');
    const p3 = await panelText(b.page);
    check(p3.tag === 'http poll', 'the compact panel shows "http poll"', p3.tag);
    await b.page.keyboard.press('F3');
    await b.page.waitForTimeout(300);
    const p3x = await panelText(b.page);
    check(/HTTP poll/.test(p3x.transport) && /polling/.test(p3x.why), 'the expanded panel says polling and why',
      JSON.stringify(p3x));
    // (a moment when the shared machine lets the polls keep up, for the picture)
    await b.page.waitForFunction(() => window.tickwire.stats().snapshotsPerSec >= 20, null, { timeout: 5000 }).catch(() => {});
    await b.page.screenshot({ path: path.join(SHOT_DIR, 'httpfb-poll.png') });
    check(b.errors.length === 0, 'no page errors (poll page)', b.errors.join(' | '));
    // The first page played on meanwhile.
    const fin = await page.evaluate(() => window.tickwire.stats());
    check(fin.state === 'resumed' && fin.corrections === 0, 'the stream page still plays, 0 corrections',
      `${fin.state}, ${fin.corrections}`);
    await b.page.close();

    // ---- 4. a refused token over HTTP: 4001, shown
    const r = await openPage(context, `${proxy.url}?name=badtoken&token=not-a-valid-token`, 'refused');
    await r.page.waitForFunction(() => window.tickwire && window.tickwire.state() === 'closed'
      && /Join refused/.test(document.getElementById('banner').innerText), null, { timeout: 15000 }).catch(() => {});
    const c4 = await r.page.evaluate(() => window.tickwire.connection());
    const banner = await r.page.evaluate(() => document.getElementById('banner').innerText);
    check(c4.closeCode === 4001 && /Join refused/.test(banner), 'a bad token over HTTP: 4001, "Join refused" shown',
      `${c4.closeCode} "${c4.closeInfo}" / ${banner.replace(/\n/g, ' | ')}`);
    await r.page.screenshot({ path: path.join(SHOT_DIR, 'httpfb-refused.png') });
    await r.page.close();

    // ---- 5. the upgrade gets through, the WELCOME does not
    const sproxy = await startProxy(srv.port, { ws: 'swallow' });
    log(`WELCOME-swallowing proxy at ${sproxy.url}`);
    const t5 = Date.now();
    const s5 = await openPage(context, `${sproxy.url}?name=nowelcome`, 'no-welcome');
    await s5.page.waitForFunction(() => window.tickwire && window.tickwire.state() === 'joined'
      && window.tickwire.stats().snapshots >= 30, null, { timeout: 25000 });
    const took = (Date.now() - t5) / 1000;
    const c5 = await s5.page.evaluate(() => window.tickwire.connection());
    log(`connection: ${JSON.stringify({ transport: c5.transport, fallback: c5.fallback })}, joined after ${took.toFixed(1)} s`);
    check(sproxy.seen.upgrades === 1 && sproxy.seen.swallowed > 0, 'the WebSocket opened, its WELCOME swallowed',
      `${sproxy.seen.swallowed} bytes`);
    check(c5.transport === 'http_stream' && c5.fallbackWhy === 'welcome' && /no WELCOME/.test(c5.fallback),
      'fell back to HTTP for want of a WELCOME', `${c5.transport}, ${c5.fallbackWhy}: ${c5.fallback}`);
    check(took >= 3 && took < 15, 'after the 3 s WELCOME deadline', `${took.toFixed(1)} s`);
    check(sproxy.seen.paths['/api/join'] === 2, 'a fresh join token for the HTTP JOIN (the first was spent)',
      `${sproxy.seen.paths['/api/join']} POST /api/join`);
    const m5 = await metricsText(srv.port);
    check(metric(m5, 'tickwire_http_fallbacks_total{reason="welcome"}') >= 1, 'the server counted fallback=welcome');
    await moveAndCheck(s5.page, 'no-welcome fallback');
    await s5.page.close();

    // ---- 6. the probe gets through, the stream is buffered: no WELCOME
    // on the stream in 10 s, so the page gives it up (no endless spinner)
    // and plays by polling.
    const hproxy = await startProxy(srv.port, { buffer: true, bufferOnly: ['/tw/stream'] });
    log(`stream-buffering proxy at ${hproxy.url}`);
    const t6 = Date.now();
    const s6 = await openPage(context, `${hproxy.url}?name=heldstream`, 'held-stream');
    await s6.page.waitForFunction(() => window.tickwire && /no WELCOME over HTTP/.test(window.tickwire.connection().closeInfo),
      null, { timeout: 20000 });
    const c6a = await s6.page.evaluate(() => window.tickwire.connection());
    check(c6a.state !== 'closed', 'the HTTP session that brought no WELCOME was given up and is retried (the banner shows why)',
      `${c6a.state}: ${c6a.closeInfo}`);
    await s6.page.waitForFunction(() => window.tickwire.state() === 'joined' && window.tickwire.stats().snapshots >= 30,
      null, { timeout: 30000 });
    const c6 = await s6.page.evaluate(() => window.tickwire.connection());
    check(c6.transport === 'http_poll' && /no WELCOME on the stream/.test(c6.probe.why),
      'then plays by polling', `${c6.transport} after ${((Date.now() - t6) / 1000).toFixed(1)} s: ${c6.probe.why}`);
    await s6.page.close();

    // ---- 7. the stream delivers its first KB (HELLO, WELCOME, a few
    // snapshots), then is held: the page plays, sees the stream stall
    // while its POSTs are answered (18.4), drops it and resumes the same
    // player by polling.
    const tproxy = await startProxy(srv.port, { buffer: true, bufferOnly: ['/tw/stream'], passFirst: 1024 });
    log(`stream-stalling proxy at ${tproxy.url}`);
    const s7 = await openPage(context, `${tproxy.url}?name=stalled`, 'stalled');
    await s7.page.waitForFunction(() => window.tickwire && window.tickwire.welcome() && window.tickwire.welcome().playerId >= 0,
      null, { timeout: 20000 });
    const w7 = await s7.page.evaluate(() => window.tickwire.welcome());
    await s7.page.waitForFunction(() => window.tickwire.state() === 'resumed' && window.tickwire.stats().snapshots >= 30,
      null, { timeout: 20000 });
    const c7 = await s7.page.evaluate(() => window.tickwire.connection());
    const w7b = await s7.page.evaluate(() => window.tickwire.welcome());
    check(c7.transport === 'http_poll' && /stalled/.test(c7.probe.why) && w7b.playerId === w7.playerId && w7b.resumed,
      'a stalled stream: resumed the same player by polling', `${c7.transport}, ${c7.probe.why}, player ${w7.playerId} -> ${w7b.playerId}`);
    await moveAndCheck(s7.page, 'stalled stream, now polling', 0.15);
    await s7.page.close();

    // ---- 8. across transports: a page playing over WebSocket loses it
    // (the proxy cuts it and refuses upgrades from then on); the page
    // falls back and resumes the same player over HTTP, its session bound
    // to the resume token (the JOIN has no join token).
    const xproxy = await startProxy(srv.port, { ws: 'pass' });
    log(`WebSocket-passing proxy at ${xproxy.url}`);
    const s8 = await openPage(context, `${xproxy.url}?name=crossover`, 'crossover');
    await s8.page.waitForFunction(() => window.tickwire && window.tickwire.state() === 'joined'
      && window.tickwire.stats().snapshots >= 30, null, { timeout: 20000 });
    const c8a = await s8.page.evaluate(() => window.tickwire.connection());
    const w8 = await s8.page.evaluate(() => window.tickwire.welcome());
    check(c8a.transport === 'ws' && xproxy.seen.wsPassed === 1, 'first over WebSocket (through the proxy)', c8a.transport);
    const cut = xproxy.blockWebSocket();
    check(cut === 1, 'the proxy cut the WebSocket and refuses upgrades now', `${cut}`);
    await s8.page.waitForFunction(() => window.tickwire.state() === 'resumed' && window.tickwire.stats().snapshots >= 10,
      null, { timeout: 20000 });
    const c8 = await s8.page.evaluate(() => window.tickwire.connection());
    const w8b = await s8.page.evaluate(() => window.tickwire.welcome());
    check(c8.transport === 'http_stream' && c8.fallbackWhy === 'upgrade' && w8b.resumed && w8b.playerId === w8.playerId,
      'resumed the same player over the HTTP stream', `${c8.transport} (${c8.fallback}), player ${w8.playerId} -> ${w8b.playerId}`);
    await moveAndCheck(s8.page, 'resumed from WebSocket onto HTTP');
    await s8.page.close();
    await page.close();
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  return failed ? 1 : 0;
}

main().then((code) => {
  for (const c of children) c.kill('SIGKILL');
  log(code === 0 ? 'passed' : code === SKIP ? 'SKIPPED' : 'FAILED');
  process.exit(code);
}, (err) => {
  for (const c of children) c.kill('SIGKILL');
  log(`FAIL ${err.stack || err}`);
  process.exit(1);
});
