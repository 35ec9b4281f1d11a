// The demo page's Replays mode (issue 13, "playback in the browser"):
// Debian's chromium against a real server that records its rounds
// (--replay-dir) and stores their results (--results-db), with computer
// players and fighting tickwire-bots in 10 s rounds. Once round 1 has
// ended, the page (?replay) lists it from GET /api/replays, plays it with
// the wasm simulation, changes the speed (buttons and keys), seeks forward
// and back through the seek bar (from keyframes: each seek lands on its
// tick in at most one keyframe interval of steps), follows players with
// E and Q and the free camera with F, marks the followed player's hits,
// plays to the end and shows the final scoreboard, which must equal the
// database's row for that round (GET /api/matches) name for name and
// number for number; every state hash checks ("verified"). A name that is
// not there is told, and the Play button still plays.
//   node tests/browser/replay_test.mjs --server build/bin/tickwire-server \
//        --bots build/bin/tickwire-bots --web-root build/www --screenshots build/screenshots
// Screenshots: replay-list.png, replay-playing.png, replay-seek.png,
// replay-end.png, replay-390x844.png. Exit 0 pass, 1 fail, 77 skip (no
// chromium or playwright-core).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
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
const BOTS = path.resolve(arg('bots', path.join(path.dirname(SERVER), 'tickwire-bots')));
const WEB_ROOT = path.resolve(arg('web-root', path.join(root, 'build/www')));
const SHOTS = path.resolve(arg('screenshots', path.join(root, 'build/screenshots')));
const CHROMIUM = arg('chromium', '/usr/bin/chromium');
const SKIP = 77;

const log = (m) => console.log(`[replay-test] ${m}`);
let failed = 0;
function check(ok, what, detail = '') {
  if (ok) log(`ok   ${what}${detail ? ` (${detail})` : ''}`);
  else { failed++; log(`FAIL ${what}${detail ? ': ' + detail : ''}`); }
  return ok;
}

const children = [];
function startServer(args, logFile) {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, 'w');
    const child = spawn(SERVER, args, { stdio: ['ignore', 'pipe', out] });
    fs.closeSync(out);
    children.push(child);
    let buf = '';
    const guard = setTimeout(() => reject(new Error(`the server did not start (log ${logFile})`)), 15000);
    child.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(/serving (http:\/\/127\.0\.0\.1:(\d+)\/)/);
      if (m) { clearTimeout(guard); resolve({ child, url: m[1], port: Number(m[2]) }); }
    });
    child.on('exit', (code) => { clearTimeout(guard); reject(new Error(`the server exited ${code} (log ${logFile})`)); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A HASH record (docs/REPLAY.md) of a replay file, the first after `skip`
// of them: {payload} (the offset of its payload).
function findHash(b, skip) {
  let at = 8 + b.readUInt16LE(6);
  let seen = 0;
  while (at < b.length - 16) {
    const type = b[at];
    let len = 0, shift = 0, q = at + 1;
    for (;;) {
      const c = b[q++];
      len += (c & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(c & 0x80)) break;
    }
    if (type === 0x03 && seen++ >= skip / 4) return { payload: q };
    at = q + len;
  }
  throw new Error('no HASH record');
}

async function getJson(url) {
  const res = await fetch(url, { cache: 'no-store' });
  return { status: res.status, body: await res.json() };
}

async function main() {
  let playwright;
  try { playwright = await import('playwright-core'); } catch (err) {
    log(`SKIP: playwright-core is not installed (cd tests/browser && npm ci): ${err.message}`);
    return SKIP;
  }
  if (!fs.existsSync(CHROMIUM)) { log(`SKIP: no chromium at ${CHROMIUM}`); return SKIP; }
  for (const [what, p] of [['tickwire-server', SERVER], ['tickwire-bots', BOTS]]) {
    if (!fs.existsSync(p)) throw new Error(`${what} not found: ${p}`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tickwire-replay-page-'));
  const rdir = path.join(dir, 'replays');
  const db = path.join(dir, 'rounds.db');
  const srv = await startServer(['--host', '127.0.0.1', '--port', '0', '--replay-dir', rdir, '--results-db', db,
    '--npcs', '3', '--match-time', '10', '--intermission', '2', '--max-unlag-ms', '150', '--seed', '9',
    '--web-root', WEB_ROOT, '--log-level', 'warn', '--drain-timeout', '0'], path.join(dir, 'server.log'));
  log(`server at ${srv.url}, replays in ${rdir}`);
  const bots = spawn(BOTS, ['--url', `ws://127.0.0.1:${srv.port}/`, '--bots', '3', '--behavior', 'fight',
    '--duration', '16', '--ramp', '0.5', '--latency-ms', '30', '--seed', '3'], { stdio: 'ignore' });
  children.push(bots);

  // round 1 ends after 10 s of play: its file is listed
  let listed = null;
  const until = Date.now() + 40000;
  while (Date.now() < until && !listed) {
    await sleep(500);
    const { status, body } = await getJson(`${srv.url}api/replays`).catch(() => ({ status: 0, body: {} }));
    if (status === 200) listed = body.replays.find((r) => r.playable && r.round === 1 && r.end_reason === 'time');
  }
  if (!check(Boolean(listed), 'round 1 is recorded and listed by GET /api/replays')) return 1;
  log(`round 1: ${listed.name}, ${listed.bytes} bytes, ${listed.players} players, ${listed.ticks} ticks`);
  const { body: matches } = await getJson(`${srv.url}api/matches?limit=20`);
  const row = matches.matches.find((m) => m.match_id === listed.match_id && m.round === listed.round);
  if (!check(Boolean(row), 'the database has the same round (GET /api/matches)')) return 1;
  const dbKills = row.players.reduce((a, p) => a + p.kills, 0);
  check(row.players.length === listed.players && dbKills > 0,
    `the round had fighting in it (${row.players.length} players, ${dbKills} kills)`);

  fs.mkdirSync(SHOTS, { recursive: true });
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
    const R = () => page.evaluate(() => window.tickwire.replay());

    // the list
    await page.goto(`${srv.url}?replay`);
    await page.waitForFunction(() => window.tickwire && window.tickwire.replay().list, null, { timeout: 15000 });
    let r = await R();
    check(r.on && r.listOpen && r.list.some((x) => x.name === listed.name), 'Replays mode lists the recorded round');
    const rowText = await page.locator(`#rl-rows tr[data-name="${listed.name}"]`).innerText();
    check(rowText.includes(`${listed.players}`) && rowText.includes('time') && rowText.includes(listed.top.name),
      'its row shows players, how it ended and the top player', rowText.replace(/\s+/g, ' '));
    await page.screenshot({ path: path.join(SHOTS, 'replay-list.png') });

    // play it
    await page.click(`#rl-rows tr[data-name="${listed.name}"]`);
    await page.waitForFunction(() => window.tickwire.replay().state === 'joined' && window.tickwire.replay().playing,
      null, { timeout: 10000 });
    r = await R();
    check(r.info.startTick + listed.ticks === r.info.endTick, 'the file spans the round',
      `${r.info.startTick}..${r.info.endTick}`);
    check(new URL(page.url()).searchParams.get('replay') === listed.name, 'the URL names the file (?replay=<name>)');
    const t0 = r.tick;
    await sleep(1000);
    r = await R();
    const rate1 = (r.tick - t0);
    check(rate1 > 30 && rate1 < 90, `1× plays about 60 ticks a second (${rate1} in 1 s)`);
    check(/verified/.test(r.badge) && r.verification.checked > 0 && !r.verification.diverged,
      `hashes check as it plays: "${r.badge}"`);

    // speed: the 2× button, then . (faster) and , (slower)
    await page.click('#rp-speed button[data-speed="2"]');
    check((await R()).speed === 2, 'the 2× button');
    await page.keyboard.press('Period');
    check((await R()).speed === 4, '. speeds up (4×)');
    await page.keyboard.press('Comma');
    await page.keyboard.press('Comma');
    check((await R()).speed === 1, ', slows down (1×)');
    await page.click('#rp-speed button[data-speed="0.25"]');
    let a = (await R()).tick;
    await sleep(1000);
    let b = (await R()).tick;
    check(b - a >= 8 && b - a <= 24, `0.25× plays about 15 ticks a second (${b - a})`);
    await page.click('#rp-speed button[data-speed="8"]');
    a = (await R()).tick;
    await sleep(500);
    b = (await R()).tick;
    check(b - a >= 150 || (await R()).ended, `8× plays about 480 ticks a second (${b - a} in 0.5 s)`);

    // pause (Space), then seek with the seek bar: forward and back
    await page.keyboard.press('Space');
    await page.waitForFunction(() => !window.tickwire.replay().playing);
    const seekTo = async (tick) => {
      await page.evaluate((t) => {
        const s = document.getElementById('rp-seek');
        s.value = String(t);
        s.dispatchEvent(new Event('input', { bubbles: true }));
        s.dispatchEvent(new Event('change', { bubbles: true }));
      }, tick);
      return R();
    };
    const s0 = r.info.startTick;
    for (const t of [s0 + 450, s0 + 60, s0 + listed.ticks - 30, s0 + 300]) {
      const steps0 = (await R()).steps;
      r = await seekTo(t);
      // from the nearest keyframe or from where it was: never more than a keyframe interval
      check(r.tick === t && Math.round(r.pos) === t && !r.playing && r.steps - steps0 <= r.info.keyframeInterval,
        `seek to tick ${t} lands there, paused`, `${r.steps - steps0} steps`);
    }
    check(!r.verification.diverged && !r.verification.bad, 'still verified after the seeks', r.badge);
    // the clock shows where it is (from the next frame)
    await page.waitForFunction(() => window.tickwire.replay().timer === '0:05.0', null, { timeout: 3000 }).catch(() => {});
    r = await R();
    check(r.timer === '0:05.0', `the round timer shows 0:05.0 at tick ${s0 + 300}`, r.timer);

    // follow: E, Q, F (free camera) and F again
    const f0 = r.follow;
    await page.keyboard.press('KeyE');
    const f1 = (await R()).follow;
    await page.keyboard.press('KeyQ');
    const f2 = (await R()).follow;
    check(f1 !== f0 && f2 === f0, `E and Q change whom the camera follows (${f0} -> ${f1} -> ${f2})`);
    await page.keyboard.press('KeyF');
    check((await R()).free, 'F: free camera');
    await page.keyboard.press('KeyF');
    r = await R();
    check(!r.free && r.follow >= 0, 'F again: following a player');
    // follow the round's best shooter and watch its hits land
    const top = row.players.reduce((x, p) => (p.kills > x.kills ? p : x));
    const topId = (await R()).ranking.find((p) => p.name === top.name);
    if (topId) await page.evaluate((id) => window.tickwire.follow(id), topId.id);
    await page.evaluate(() => window.tickwire.replaySpeed(1));
    await seekTo(s0 + 60);
    await page.keyboard.press('Space');
    await page.waitForFunction(() => window.tickwire.replay().hitsSeen > 0, null, { timeout: 12000 }).catch(() => {});
    r = await R();
    check(r.hitsSeen > 0, `the followed player's hits are shown (${r.hitsSeen} as ${top.name})`);
    await page.waitForFunction(() => window.tickwire.replay().marks > 0, null, { timeout: 5000 }).catch(() => {});
    await page.screenshot({ path: path.join(SHOTS, 'replay-playing.png') });
    const feed = await page.evaluate(() => [...document.querySelectorAll('#killfeed li')].map((li) => li.textContent));
    check(feed.some((l) => /hit/.test(l)) || feed.length > 0, 'the feed lists hits and kills as the round goes',
      feed.slice(-3).join(' | '));
    await page.keyboard.press('Space');
    await seekTo(s0 + 420);
    await page.screenshot({ path: path.join(SHOTS, 'replay-seek.png') });

    // to the end at 8×: the final scoreboard equals the database row
    await page.click('#rp-speed button[data-speed="8"]');
    await page.click('#rp-play');
    await page.waitForFunction(() => window.tickwire.replay().ended, null, { timeout: 20000 });
    await page.waitForFunction(() => window.tickwire.replay().scoreboardShown
      && window.tickwire.replay().scoreboard.length > 0, null, { timeout: 3000 });
    r = await R();
    check(r.tick === r.info.endTick && !r.playing, 'plays to the last tick and stops');
    check(/final scoreboard/.test(r.scoreboardCaption), 'the final scoreboard shows by itself', r.scoreboardCaption);
    const shown = r.scoreboard.map((p) => `${p.name} ${p.kills}/${p.deaths}/${p.score}`).sort();
    const stored = row.players.map((p) => `${p.name} ${p.kills}/${p.deaths}/${p.score}`).sort();
    check(JSON.stringify(shown) === JSON.stringify(stored), 'the page\'s final scoreboard equals the database row',
      `page [${shown.join(', ')}] db [${stored.join(', ')}]`);
    check(!r.verification.diverged && !r.verification.bad && r.verification.checked >= listed.ticks / 4 - 2,
      `every hash on the way matched (${r.badge})`);
    await sleep(300);
    await page.screenshot({ path: path.join(SHOTS, 'replay-end.png') });

    // Space at the end plays again from the start
    await page.keyboard.press('Space');
    await page.waitForFunction(() => window.tickwire.replay().playing, null, { timeout: 3000 });
    r = await R();
    check(r.tick < r.info.startTick + 120, 'Space at the end plays again from the start', `tick ${r.tick}`);

    // a phone
    await page.setViewportSize({ width: 390, height: 844 });
    await sleep(600);
    await page.screenshot({ path: path.join(SHOTS, 'replay-390x844.png') });
    const overlap = await page.evaluate(() => {
      const box = (id) => document.getElementById(id).getBoundingClientRect();
      const a = box('replaybar'), w = box('watchbar');
      return { bar: a.width > 0 && a.right <= innerWidth + 1 && a.left >= -1, overlap: !(a.top >= w.bottom || w.top >= a.bottom) };
    });
    check(overlap.bar && !overlap.overlap, 'on a phone the replay bar fits and clears the watch bar', JSON.stringify(overlap));
    await page.setViewportSize({ width: 1280, height: 800 });

    // a recorded hash changed on disk: the badge names its tick, playing goes on
    const bytes = fs.readFileSync(path.join(rdir, listed.name));
    const hashAt = findHash(bytes, Math.floor(listed.ticks / 2));
    const badTick = bytes.readUInt32LE(hashAt.payload);
    bytes[hashAt.payload + 11] ^= 0x5a;  // the first player's recorded hash
    const badName = 'tw-1000000000000-m9-r1.twr';
    fs.writeFileSync(path.join(rdir, badName), bytes);
    await page.goto(`${srv.url}?replay=${badName}`);
    await page.waitForFunction(() => window.tickwire && window.tickwire.replay().playing, null, { timeout: 10000 });
    await page.evaluate(() => window.tickwire.replaySpeed(8));
    await page.waitForFunction(() => window.tickwire.replay().ended, null, { timeout: 15000 });
    r = await R();
    check(r.badge === `diverged at tick ${badTick}` && r.verification.diverged && r.verification.tick === badTick,
      'a changed hash in the file: "diverged at tick N" names its tick, and it plays to the end', r.badge);
    await page.screenshot({ path: path.join(SHOTS, 'replay-diverged.png') });

    // a name that is not there: told in the list
    await page.goto(`${srv.url}?replay=tw-1700000000000-m1-r1.twr`);
    await page.waitForFunction(() => window.tickwire && window.tickwire.replay().loadError, null, { timeout: 10000 });
    r = await R();
    check(/no such replay/.test(r.loadError) && r.listOpen, 'a missing file is told in the list', r.loadError);
    const status = await page.locator('#rl-status').innerText();
    check(/no such replay/.test(status), 'the list says so', status);

    // and the Play button plays
    await page.click('#mode-seg button[data-mode="play"]');
    await page.waitForFunction(() => window.tickwire.state() === 'joined' && !window.tickwire.replay().on
      && window.tickwire.self(), null, { timeout: 15000 });
    check(!new URL(page.url()).searchParams.has('replay'), 'Play after Replays joins the match (no ?replay)');
    check(errors.length === 0, 'no page errors', errors.join(' | '));
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  fs.rmSync(dir, { recursive: true, force: true });
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
