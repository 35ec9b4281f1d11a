// The demo page in a fleet (issue 14: resume across a dead process):
// Debian's chromium plays through a stand-alone matchmaker (`tickwire-server
// matchmaker --matchmaker-open`, which also serves the page) on two game
// servers sharing a real redis-server. The page finds no demo tokens, asks
// the matchmaker, plays on the server it is sent to; that server is killed
// (-9); the page's resumes fail, it goes back to the matchmaker and plays
// on the other server within 10 s, saying so in its netcode panel.
//   node tests/browser/fleet_test.mjs --server build/bin/tickwire-server \
//        --web-root build/www --screenshot build/screenshots/fleet.png
// Exit 0 pass, 1 fail, 77 skip (no chromium, playwright-core or redis-server).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
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
const SHOT = path.resolve(arg('screenshot', path.join(root, 'build/screenshots/fleet.png')));
const CHROMIUM = arg('chromium', '/usr/bin/chromium');
const REDIS = '/usr/bin/redis-server';
const SKIP = 77;

const log = (m) => console.log(`[fleet-test] ${m}`);
let failed = 0;
function check(ok, what, detail = '') {
  if (ok) log(`ok   ${what}`);
  else { failed++; log(`FAIL ${what}${detail ? ': ' + detail : ''}`); }
}

const children = [];
function start(bin, args, { want, logFile }) {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, 'w');
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', out] });
    fs.closeSync(out);
    children.push(child);
    let buf = '';
    const guard = setTimeout(() => reject(new Error(`${path.basename(bin)} did not start (log ${logFile})`)), 15000);
    child.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(want);
      if (m) { clearTimeout(guard); resolve({ child, match: m }); }
    });
    child.on('exit', (code) => { clearTimeout(guard); reject(new Error(`${path.basename(bin)} exited ${code} (log ${logFile})`)); });
  });
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function main() {
  let playwright;
  try { playwright = await import('playwright-core'); } catch (err) {
    log(`SKIP: playwright-core is not installed (cd tests/browser && npm ci): ${err.message}`);
    return SKIP;
  }
  for (const [what, p] of [['chromium', CHROMIUM], ['redis-server', REDIS]]) {
    if (!fs.existsSync(p)) { log(`SKIP: no ${what} at ${p}`); return SKIP; }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tickwire-fleet-'));
  const secret = path.join(dir, 'fleet.secret');
  fs.writeFileSync(secret, 'fleet-secret-0123456789abcdef0123456789\n', { mode: 0o600 });
  const rport = await freePort();
  await start(REDIS, ['--port', String(rport), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { want: /Ready to accept connections/, logFile: path.join(dir, 'redis.log') });
  const redis = `redis://127.0.0.1:${rport}`;
  const common = ['--host', '127.0.0.1', '--port', '0', '--redis', redis, '--token-secret-file', secret,
    '--results-db', ':memory:', '--log-level', 'warn', '--drain-timeout', '0'];
  const games = {};
  for (const id of ['game-a', 'game-b']) {
    const { child, match } = await start(SERVER, [...common, '--process-id', id, '--npcs', '3', '--web-root', WEB_ROOT],
      { want: /serving http:\/\/127\.0\.0\.1:(\d+)\//, logFile: path.join(dir, `${id}.log`) });
    games[`127.0.0.1:${match[1]}`] = { id, child };
  }
  const mm = await start(SERVER, ['matchmaker', ...common, '--matchmaker-open', '--web-root', WEB_ROOT],
    { want: /serving (http:\/\/127\.0\.0\.1:\d+\/)/, logFile: path.join(dir, 'matchmaker.log') });
  const pageUrl = mm.match[1];
  await new Promise((r) => setTimeout(r, 1500)); // both game servers' first heartbeats
  log(`matchmaker and page at ${pageUrl}; game servers ${Object.keys(games).join(', ')}`);

  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tickwire-chromium-'));
  const context = await playwright.chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(pageUrl);
    await page.waitForFunction(() => window.tickwire && window.tickwire.state() === 'joined'
      && window.tickwire.stats().snapshots >= 30, null, { timeout: 20000 });
    const first = await page.evaluate(() => window.tickwire.connection());
    check(first.matchmaker === pageUrl, 'the page found the matchmaker (no demo tokens here)', first.matchmaker);
    check(Boolean(games[first.server]), `the matchmaker sent it to a game server (${first.server})`, first.server);
    await page.keyboard.press('F3'); // the netcode panel
    await page.waitForFunction((srv) => document.body.innerText.includes(srv), first.server, { timeout: 3000 })
      .catch(() => {});
    const panel1 = await page.evaluate(() => document.body.innerText);
    check(panel1.includes(first.server), 'the netcode panel names the server it plays on');

    // That server dies without a word.
    const victim = games[first.server];
    log(`kill -9 ${victim.id} (${first.server})`);
    const t0 = Date.now();
    victim.child.kill('SIGKILL');
    await page.waitForFunction((old) => {
      const c = window.tickwire.connection();
      return window.tickwire.state() === 'joined' && c.server && c.server !== old;
    }, first.server, { timeout: 20000 });
    const back = (Date.now() - t0) / 1000;
    const snaps0 = await page.evaluate(() => window.tickwire.stats().snapshots);
    await page.waitForFunction((n) => window.tickwire.stats().snapshots >= n + 30, snaps0, { timeout: 5000 });
    const second = await page.evaluate(() => window.tickwire.connection());
    log(`playing again on ${second.server} ${back.toFixed(1)} s after the kill: "${second.rejoined}"`);
    check(Boolean(games[second.server]) && second.server !== first.server, 'playing on the other game server', second.server);
    check(back < 10, `back in a live match within 10 s (${back.toFixed(1)} s)`);
    check(/gone/.test(second.rejoined), 'the page says why it moved', second.rejoined);
    const self = await page.evaluate(() => window.tickwire.self());
    check(self !== null, 'it has a player again');
    fs.mkdirSync(path.dirname(SHOT), { recursive: true });
    await page.screenshot({ path: SHOT });
    log(`screenshot: ${SHOT}`);
    check(errors.length === 0, 'no page errors', errors.join(' | '));
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
