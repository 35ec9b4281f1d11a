// The replay player as the page runs it: tickwire.wasm (shared/replay_player.c
// through client-demo/wasm/tw_replay.c) in node, no browser.
//  - the committed fixture (a real server's round) plays to its end with
//    every hash and keyframe matching, and ends with the scoreboard its end
//    record holds (bot-2 first with 7 kills: the same bits as the native
//    build, which verifies it in unit_replay_fmt);
//  - with --long FILE (the 5-minute, 16-player round unit_replay_player
//    writes), seeks forward and back land on their tick with the very
//    players (bytes of the view records) that playing tick by tick gives,
//    each in at most one keyframe interval of steps; the worst and the
//    mean seek time are printed (the figure for issue 13).
//   node tests/browser/replay_unit.mjs --wasm build/www/tickwire.wasm \
//        --fixture tests/fixtures/replay/fight-6p.twr [--long build/replay-5min.twr]
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
};
let failed = 0;
const log = (m) => console.log(`[replay-unit] ${m}`);
function check(ok, what, detail = '') {
  if (ok) log(`ok   ${what}${detail ? ` (${detail})` : ''}`);
  else { failed++; log(`FAIL ${what}${detail ? ': ' + detail : ''}`); }
}

const { instance } = await WebAssembly.instantiate(fs.readFileSync(arg('wasm')), {});
const w = instance.exports;
const cstr = (p) => {
  const m = new Uint8Array(w.memory.buffer);
  let n = 0;
  while (m[p + n]) n++;
  return new TextDecoder().decode(m.subarray(p, p + n));
};

function open(path) {
  const bytes = fs.readFileSync(path);
  const ptr = w.tw_rp_buffer(bytes.length);
  new Uint8Array(w.memory.buffer, ptr, bytes.length).set(bytes);
  if (!w.tw_rp_open(bytes.length)) throw new Error(`${path}: ${cstr(w.tw_rp_error())}`);
  return { start: w.tw_rp_info(3), end: w.tw_rp_info(4), rate: w.tw_rp_info(2), keyframes: w.tw_rp_info(10),
           interval: w.tw_rp_info(11) };
}

// The players now, as the page reads them (16-byte records at frac 1).
function viewBytes() {
  const n = w.tw_rp_view(1);
  return Buffer.from(new Uint8Array(w.memory.buffer, w.tw_rp_view_buf(), n * 16)).toString('hex');
}

// --- the fixture
{
  const f = open(arg('fixture'));
  check(f.end - f.start === 600 && f.rate === 60, `the fixture spans 600 ticks at 60 Hz (${f.start}..${f.end})`);
  let steps = 0, kills = 0, hits = 0;
  while (w.tw_rp_step()) {
    steps++;
    let t;
    while ((t = w.tw_rp_next_event())) if (t === 1) { hits++; kills += w.tw_rp_event(4); }
  }
  check(steps === 600 && w.tw_rp_state(1) === 1 && w.tw_rp_state(0) === f.end, `played to its end (${steps} steps)`);
  check(w.tw_rp_state(2) === 0 && w.tw_rp_state(3) === 0 && w.tw_rp_state(4) === 151,
    `every hash and keyframe matched (${w.tw_rp_state(4)} checked, diverged ${w.tw_rp_state(2)})`);
  const board = [];
  for (let id = 0; id < 128; id++) {
    if (w.tw_rp_player(id, 6)) board.push({ id, name: cstr(w.tw_rp_name(id)), kills: w.tw_rp_player(id, 0),
                                            score: w.tw_rp_player(id, 2) });
  }
  board.sort((a, b) => b.score - a.score || b.kills - a.kills);
  check(board.length === 6 && board[0].name === 'bot-2' && board[0].kills === 7 && w.tw_rp_info(15) === board[0].id,
    'its final scoreboard is the end record\'s (bot-2, 7 kills, first)', JSON.stringify(board[0]));
  check(kills === board.reduce((a, p) => a + p.kills, 0) && hits > kills, `the hit events add up (${hits} hits, ${kills} kills)`);
}

// --- the 5-minute round: seeks against tick-by-tick play
const long = arg('long');
if (long && fs.existsSync(long)) {
  const f = open(long);
  const targets = [f.start + 1, f.start + 599, f.start + 601, f.start + 4321, f.start + 9000, f.start + 12007,
                   f.start + 17399, f.end - 1, f.end];
  const want = new Map();
  const t0 = performance.now();
  while (w.tw_rp_state(0) < f.end) {
    w.tw_rp_step();
    const t = w.tw_rp_state(0);
    if (targets.includes(t)) want.set(t, viewBytes());
  }
  const playMs = performance.now() - t0;
  check(w.tw_rp_state(2) === 0 && w.tw_rp_state(3) === 0, `played ${f.end - f.start} ticks verified in ${playMs.toFixed(0)} ms`);
  const order = [8, 0, 5, 2, 7, 3, 1, 6, 4, 0, 8];
  const times = [];
  let worstSteps = 0;
  for (const i of order) {
    const t = targets[i];
    const steps0 = w.tw_rp_state(8);
    const a = performance.now();
    w.tw_rp_seek(t);
    times.push(performance.now() - a);
    worstSteps = Math.max(worstSteps, w.tw_rp_state(8) - steps0);
    if (w.tw_rp_state(0) !== t || viewBytes() !== want.get(t)) {
      check(false, `seek to ${t} gives what playing gave`, `at ${w.tw_rp_state(0)}`);
    }
  }
  check(worstSteps <= f.interval, `every seek took at most one keyframe interval of steps (${worstSteps} <= ${f.interval})`);
  const worst = Math.max(...times), mean = times.reduce((x, y) => x + y, 0) / times.length;
  check(worst < 250, `seeks in a 5-minute round: worst ${worst.toFixed(2)} ms, mean ${mean.toFixed(2)} ms (wasm, ${f.keyframes} keyframes)`);
  check(!failed, `${order.length} seeks gave the players tick-by-tick play gave`);
} else {
  log(`no --long file: the 5-minute seeks are not measured`);
}
process.exit(failed ? 1 : 0);
