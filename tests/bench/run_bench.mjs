#!/usr/bin/env node
// tickwire benchmark: "where do we stand". Run by `make bench` through
// tests/bench/run_bench.sh after the build; builds nothing itself.
//
// Scenarios (each figure is the median of BENCH_RUNS runs):
//   match  64 wander bots in one 64-player match: bandwidth per client,
//          bytes per entity and per moving entity per snapshot, RTT p99.
//   load   BENCH_BOTS (1000) wander bots, default server (64 per match,
//          60 Hz): after the ramp, server CPU over BENCH_WINDOW s from
//          /proc/PID/stat, RSS per connection, tick p50/p99/max and missed
//          ticks from /metrics, RTT p99 and snapshot delivery from the bots.
//   idle   64 idle bots in one match: bytes per snapshot and per idle entity.
//   floor-raw  tickwire-floor-raw, the kernel floor: the same messages
//          (one snapshot per client per tick, the real server's mean size
//          from `load`) from a one-thread epoll loop without libwebsockets,
//          with the same bots: server CPU the same way, and the headline
//          ratio ours/raw floor (issue 11: <= 1.25x).
//   floor  tickwire-floor, the same messages on libwebsockets' loop: the
//          ratio ours/lws floor, and lws floor / raw floor = what lws's
//          loop costs. When both floors are in the list their runs
//          alternate (floor 1, raw 1, floor 2, ...), so drift in the
//          machine's load touches both alike.
//   replay   BENCH_BOTS fight bots, --replay-dir against none, runs
//          alternating: server CPU both ways, the recording's cost in % of
//          it (issue 13: <= 2%), the writer thread's CPU, KB per
//          player-minute on disk (<= 100).
//   deflate  deflate_bytes: permessage-deflate measured offline with zlib
//          on the messages one client receives (bytes, CPU, memory per
//          connection); a second or two, no network, printed as is.
//   aoi      aoi_bytes: interest management (--aoi-radius) offline: 128
//          wander players on assets/large.map, radius 0 (off), 512 and
//          1024: bytes per client per second, players in view, encodes,
//          the match's CPU; a few seconds, no network, printed as is.
//   http   BENCH_HTTP_BOTS (200) wander bots over the HTTP fallback
//          (tickwire-bots --transport http: a streamed GET /tw/stream and a
//          POST /tw/input per input) and the same number over WebSocket,
//          runs alternating: server CPU per bot-second of each and their
//          ratio, RTT p99, snapshot delivery. (Fewer bots than `load`: an
//          HTTP bot holds three places under --max-conns-per-ip.)
//   spectate  (not in the default list) issue 13: BENCH_SPECTATE_BOTS (256)
//          fight bots in matches of 64, then BENCH_SPECTATORS (10000)
//          spectators of the fullest match in a second bots process over
//          BENCH_SPECTATE_RAMP (20) s: spectator and player snapshot
//          delivery, the players' tick p99 and missed ticks, server RSS,
//          the CPU of the server and of both bots processes. The
//          spectators' process holds ~530 MB at 10,000.
//   aoi-match  (not in the default list) the real server with 128 wander
//          bots in one match on assets/large.map, --aoi-radius 0 and 512,
//          runs alternating: down bytes per client, server CPU.
// Each scenario prints one table row and appends one JSON line (timestamp,
// git commit, config, medians, every run) to BENCH_OUT/results.jsonl; a
// final table compares the medians with the targets.
//
// Environment (all optional):
//   BENCH_RUNS=3          runs per scenario (median of these)
//   BENCH_BOTS=1000       bots in the load and floor scenarios (both floors)
//   BENCH_RAMP=10         seconds over which those bots connect
//   BENCH_SETTLE=3        seconds after the ramp before measuring
//   BENCH_WINDOW=20       measurement window (s) of the load and floor runs
//   BENCH_MATCH_WINDOW=10 measurement window (s) of the match and idle runs
//   BENCH_TICK_RATE=60    server tick rate = snapshot rate
//   BENCH_HTTP_BOTS=200   bots of each transport in the http scenario
//   BENCH_SCENARIOS=match,load,idle,floor,floor-raw,replay,deflate,aoi,http   (also: profile,
//                         floor-profile, floor-raw-profile: one load/floor
//                         run with `perf record` on the server, printing
//                         where its CPU goes)
//   BENCH_FLOOR_BYTES=    floor snapshot size when `load` did not run (300)
//   BENCH_BUILD=build     build folder holding bin/
//   BENCH_OUT=$BENCH_BUILD/bench  where results.jsonl, reports and logs go
//   BENCH_SEED=1          bot and server seed (run i uses seed + i)
//   BENCH_BOTS_ARGS=      extra arguments for tickwire-bots
//   BENCH_QUIET_WAIT=60   before each run, wait up to this long (s) for the
//                         rest of the machine to go under 30% of a core
//   BENCH_BOTS_BIN=       another bots binary (default $BENCH_BUILD/bin/tickwire-bots)
//   BENCH_PIN=1           load, floor, floor-raw and the profiles: the server
//                         on CPU 0 and the bots on CPU 1 when the machine
//                         has two or more (taskset; 0: let
//                         the scheduler place them). Unpinned, the scheduler
//                         sometimes puts a light server on the bots' core:
//                         then no wakeup or freed buffer crosses cores, and
//                         the raw floor cost 0.19 to 0.32 ms/bot-s on the
//                         same code; pinned, every server pays what a server
//                         with remote clients pays (tests/bench/README.md).
import crypto from 'node:crypto';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const env = process.env;
const num = (name, def) => {
  const v = env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${v} is not a number`);
  return n;
};
const CFG = {
  runs: Math.max(1, Math.round(num('BENCH_RUNS', 3))),
  bots: Math.round(num('BENCH_BOTS', 1000)),
  ramp: num('BENCH_RAMP', 10),
  settle: num('BENCH_SETTLE', 3),
  window: num('BENCH_WINDOW', 20),
  matchWindow: num('BENCH_MATCH_WINDOW', 10),
  tickRate: Math.round(num('BENCH_TICK_RATE', 60)),
  seed: Math.round(num('BENCH_SEED', 1)),
  scenarios: (env.BENCH_SCENARIOS || 'match,load,idle,floor,floor-raw,replay,deflate,aoi,http').split(',').map((s) => s.trim()).filter(Boolean),
  floorBytes: env.BENCH_FLOOR_BYTES ? Math.round(num('BENCH_FLOOR_BYTES', 300)) : null,
  botsArgs: (env.BENCH_BOTS_ARGS || '').split(/\s+/).filter(Boolean),
  httpBots: Math.round(num('BENCH_HTTP_BOTS', 200)),
  spectators: Math.round(num('BENCH_SPECTATORS', 10000)),
  spectateBots: Math.round(num('BENCH_SPECTATE_BOTS', 256)),
  spectateRamp: num('BENCH_SPECTATE_RAMP', 20),
  quietWait: num('BENCH_QUIET_WAIT', 60),
  pin: num('BENCH_PIN', 1) !== 0 && os.cpus().length >= 2,
};
const BUILD = path.resolve(ROOT, env.BENCH_BUILD || 'build');
const OUT = path.resolve(ROOT, env.BENCH_OUT || path.join(BUILD, 'bench'));
const BIN = {
  server: path.join(BUILD, 'bin/tickwire-server'),
  floor: path.join(BUILD, 'bin/tickwire-floor'),
  floorRaw: path.join(BUILD, 'bin/tickwire-floor-raw'),
  deflate: path.join(BUILD, 'bin/deflate_bytes'),
  aoi: path.join(BUILD, 'bin/aoi_bytes'),
  bots: env.BENCH_BOTS_BIN ? path.resolve(env.BENCH_BOTS_BIN) : path.join(BUILD, 'bin/tickwire-bots'),
};
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const TICK_MS = 1000 / CFG.tickRate;

// ---- small helpers -----------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const fmt = (v, digits = 2) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : typeof v === 'number' ? v.toFixed(digits) : String(v));
const log = (...a) => process.stderr.write(`bench: ${a.join(' ')}\n`);

function gitCommit() {
  try {
    const sha = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short=12', 'HEAD']).toString().trim();
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']).toString().trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return 'unknown';
  }
}

function procCpuSeconds(pid) {
  let stat;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // the process has gone
  }
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields 14 and 15 (utime, stime) are at index 11 and 12 after "pid (comm) "
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

// CPU seconds of the process's threads named `comm` (e.g. the replay
// writer, tw-replay), null when it has none.
function threadCpuSeconds(pid, comm) {
  let total = null;
  let tids;
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== comm) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total = (total ?? 0) + (Number(f[11]) + Number(f[12])) / CLK_TCK;
    } catch {
      // the thread has gone
    }
  }
  return total;
}

// Busy CPU seconds of the whole machine (all cores), from /proc/stat.
function machineBusySeconds() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / CLK_TCK;
}

function procRssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

// Prometheus text -> { "name{labels}": value }
function scrape(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', timeout: 3000 }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return resolve(null);
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const m = {};
        for (const line of body.split('\n')) {
          if (!line || line[0] === '#') continue;
          const i = line.lastIndexOf(' ');
          m[line.slice(0, i)] = Number(line.slice(i + 1));
        }
        resolve(m);
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

const mdelta = (a, b, key) => (a && b && key in a && key in b ? b[key] - a[key] : null);

// Tick duration percentiles (ms) from the delta of two scrapes of the
// tickwire_tick_duration_seconds histogram, interpolated inside the bucket
// as Prometheus' histogram_quantile does. max is the upper bound of the
// highest bucket that got a tick. leq1ms: fraction of ticks <= 1 ms (exact).
function tickStats(a, b) {
  if (!a || !b) return null;
  const pre = 'tickwire_tick_duration_seconds_bucket{le="';
  const buckets = Object.keys(b)
    .filter((k) => k.startsWith(pre))
    .map((k) => {
      const le = k.slice(pre.length, -2);
      return { le: le === '+Inf' ? Infinity : Number(le), n: b[k] - (a[k] || 0) };
    })
    .sort((x, y) => x.le - y.le);
  if (!buckets.length) return null;
  const total = buckets[buckets.length - 1].n;
  if (!total) return null;
  const q = (p) => {
    const want = p * total;
    let prevLe = 0, prevN = 0;
    for (const bk of buckets) {
      if (bk.n >= want) {
        if (bk.le === Infinity) return prevLe * 1e3; // "more than the largest bound"
        const inb = bk.n - prevN;
        return (prevLe + (bk.le - prevLe) * (inb ? (want - prevN) / inb : 1)) * 1e3;
      }
      prevLe = bk.le;
      prevN = bk.n;
    }
    return null;
  };
  let max = 0, prevN = 0;
  for (const bk of buckets) {
    if (bk.n > prevN) max = bk.le;
    prevN = bk.n;
  }
  const at1ms = buckets.find((bk) => bk.le >= 0.001 - 1e-12);
  return {
    ticks: total,
    p50_ms: q(0.5),
    p99_ms: q(0.99),
    max_ms: max === Infinity ? Infinity : max * 1e3,
    le_1ms_fraction: at1ms ? at1ms.n / total : null,
  };
}

// Waits (up to BENCH_QUIET_WAIT s) until the rest of the machine uses less
// than 30% of a core over a second: the bench shares 2 cores with whatever
// else runs. Returns the last second's busy percentage.
async function waitQuiet() {
  const until = Date.now() + CFG.quietWait * 1000;
  let pct;
  for (;;) {
    const a = machineBusySeconds();
    await sleep(1000);
    pct = 100 * (machineBusySeconds() - a);
    if (pct < 30 || Date.now() >= until) break;
  }
  if (pct >= 30) log(`machine still busy (${pct.toFixed(0)}% of a core) after ${CFG.quietWait} s; running anyway`);
  return pct;
}

// ---- processes ---------------------------------------------------------------------

// Starts a server-like binary on --port 0 and resolves { child, port } once
// it prints "serving http://127.0.0.1:PORT/".
// A join-token secret for the run, shared by the server and the bots.
function secretFile() {
  const f = path.join(OUT, 'token-secret');
  if (!fs.existsSync(f)) {
    fs.mkdirSync(OUT, { recursive: true });
    fs.writeFileSync(f, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return f;
}

// `taskset -c CPU bin ...` (taskset execs bin: the child's pid is bin's),
// or bin itself when cpu is null.
function pinned(cpu, bin, args) {
  return cpu === null || cpu === undefined ? [bin, args] : ['taskset', ['-c', String(cpu), bin, ...args]];
}

function startServer(bin, args, logFile, cpu = null) {
  return new Promise((resolve, reject) => {
    const logFd = fs.openSync(logFile, 'w');
    const child = spawn(...pinned(cpu, bin, ['--port', '0', ...args]), { stdio: ['ignore', 'pipe', logFd] });
    fs.closeSync(logFd);
    let buf = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(bin)} did not print its URL within 10 s (log: ${logFile})`));
    }, 10000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /serving http:\/\/127\.0\.0\.1:(\d+)\//.exec(buf);
      if (m && timer) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${path.basename(bin)} exited with ${code} before serving (log: ${logFile})`));
    });
  });
}

function waitExit(child, ms) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode ?? 128);
    const t = setTimeout(() => {
      child.kill('SIGKILL');
    }, ms);
    child.once('exit', (code, sig) => {
      clearTimeout(t);
      resolve(code ?? (sig ? 128 : 0));
    });
  });
}

async function stopServer(child) {
  child.kill('SIGTERM');
  return waitExit(child, 5000);
}

// ---- the bots' report -----------------------------------------------------------------

// Finds a number in the bots' JSON report by trying dotted paths in order.
function pick(obj, ...paths) {
  for (const p of paths) {
    let v = obj;
    for (const k of p.split('.')) {
      if (v === null || typeof v !== 'object' || !(k in v)) {
        v = undefined;
        break;
      }
      v = v[k];
    }
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return null;
}

function readBotsReport(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

// The figures the bench takes from the bots' JSON report (keys as in
// tests/bots/README.md, report_version 1).
function botFigures(r) {
  if (!r) return {};
  return {
    bots_connected: pick(r, 'connections.connected_end'),
    bots_connected_max: pick(r, 'connections.connected_max'),
    bots_failed: pick(r, 'connections.failed'),
    bots_disconnects: pick(r, 'connections.disconnects'),
    rtt_p50_ms: pick(r, 'rtt_ms.p50'),
    rtt_p99_ms: pick(r, 'rtt_ms.p99'),
    rtt_max_ms: pick(r, 'rtt_ms.max'),
    snapshots_pct: pick(r, 'snapshots.pct'),
    snapshots_min_bot_pct: pick(r, 'snapshots.min_bot_pct'),
    bots_under_99: pick(r, 'snapshots.bots_below_99pct'),
    bots_measured: pick(r, 'snapshots.bots_measured'),
    snapshot_interval_p99_ms: pick(r, 'snapshot_interval_ms.p99'),
    down_bytes_per_s_per_bot: pick(r, 'bandwidth.bytes_per_s_per_bot_down'),
    up_bytes_per_s_per_bot: pick(r, 'bandwidth.bytes_per_s_per_bot_up'),
    bots_bytes_per_entity: pick(r, 'entities.bytes_per_entity'),
    bots_bytes_per_moving_entity: pick(r, 'entities.bytes_per_moving_entity'),
    entities_per_snapshot: pick(r, 'entities.entities_per_snapshot'),
    moving_per_snapshot: pick(r, 'entities.moving_per_snapshot'),
    corrections_per_bot_minute: pick(r, 'corrections.per_bot_minute'),
    bots_cpu_pct_report: pick(r, 'bot_process.cpu_pct_of_core'),
    bots_ticks_skipped: pick(r, 'bot_process.ticks_skipped'),
    bots_tick_late_max_ms: pick(r, 'bot_process.tick_late_max_ms'),
  };
}

// ---- one run --------------------------------------------------------------------------------

// Runs one server (real or floor) with `bots` bots; measures over
// [ramp + settle, ramp + settle + window] seconds after the bots start.
async function runOnce({ name, run, serverBin, serverArgs, bots, behavior, ramp, settle, window, hasMetrics, perf, botsExtra = [],
  spectators = 0, specRamp = 0, pin = false }) {
  fs.mkdirSync(OUT, { recursive: true });
  const tag = `${name}-${run}`;
  const seed = CFG.seed + run;
  const busyBefore = await waitQuiet();
  const { child: srv, port } = await startServer(serverBin, serverArgs, path.join(OUT, `${tag}.server.log`), pin ? 0 : null);
  let srvExit = null;
  srv.once('exit', (code, sig) => (srvExit = sig || `exit ${code}`));
  const alive = (what) => {
    if (srvExit) throw new Error(`${path.basename(serverBin)} ended (${srvExit}) ${what}; log: ${path.join(OUT, `${tag}.server.log`)}`);
  };
  let bot = null, spec = null;
  try {
    await sleep(500);
    const rssIdle = procRssKiB(srv.pid);
    const m0 = hasMetrics ? await scrape(port) : null;
    const report = path.join(OUT, `${tag}.bots.json`);
    fs.rmSync(report, { force: true });
    // Spectators (issue 13) connect in a process of their own once the
    // players are in (2 s after their ramp), over specRamp; the window
    // starts `settle` after that.
    const specAt = spectators ? ramp + 2 : 0;
    const lead = spectators ? specAt + specRamp : ramp;
    // (The players stay 3 s longer than the spectators: their match does
    // not end under them.)
    const duration = Math.ceil(lead + settle + window + 2) + (spectators ? 3 : 0);
    const botsArgs = ['--url', `ws://127.0.0.1:${port}`, '--bots', String(bots), '--duration', String(duration),
      '--ramp', String(ramp), '--behavior', behavior, '--input-rate', String(CFG.tickRate),
      '--report', report, '--seed', String(seed), '--token-secret-file', secretFile(), ...botsExtra, ...CFG.botsArgs];
    const botsLog = fs.openSync(path.join(OUT, `${tag}.bots.log`), 'w');
    const t0 = Date.now();
    bot = spawn(...pinned(pin ? 1 : null, BIN.bots, botsArgs), { stdio: ['ignore', botsLog, botsLog] });
    fs.closeSync(botsLog);
    const botsDone = waitExit(bot, (duration + ramp + 60) * 1000);
    const specReport = path.join(OUT, `${tag}.spectators.json`);
    let specDone = null;
    if (spectators) {
      await sleep(specAt * 1000 - (Date.now() - t0));
      alive('during the ramp');
      fs.rmSync(specReport, { force: true });
      const specDuration = Math.ceil(specRamp + settle + window + 2);
      const specLog = fs.openSync(path.join(OUT, `${tag}.spectators.log`), 'w');
      spec = spawn(BIN.bots, ['--url', `ws://127.0.0.1:${port}`, '--bots', '0', '--spectators', String(spectators),
        '--duration', String(specDuration), '--ramp', String(specRamp), '--report', specReport, '--seed', String(seed + 1000),
        '--token-secret-file', secretFile()], { stdio: ['ignore', specLog, specLog] });
      fs.closeSync(specLog);
      specDone = waitExit(spec, (specDuration + 60) * 1000);
    }

    await sleep((lead + settle) * 1000 - (Date.now() - t0));
    alive('during the ramp');
    const cpuA = procCpuSeconds(srv.pid), busyA = machineBusySeconds(), tA = Date.now();
    const writerA = threadCpuSeconds(srv.pid, 'tw-replay');
    const botCpuA = procCpuSeconds(bot.pid);
    const specCpuA = spec ? procCpuSeconds(spec.pid) : null;
    const m1 = hasMetrics ? await scrape(port) : null;
    const perfData = path.join(OUT, `${tag}.perf.data`);
    const rec = perf ? spawn('perf', ['record', '-q', '-F', '499', '-g', '-p', String(srv.pid), '-o', perfData, '--', 'sleep', String(window)], { stdio: 'ignore' }) : null;
    await sleep(window * 1000 - (Date.now() - tA));
    if (rec) await waitExit(rec, 30000);
    const cpuB = procCpuSeconds(srv.pid), busyB = machineBusySeconds(), tB = Date.now();
    const writerB = threadCpuSeconds(srv.pid, 'tw-replay');
    const botCpuB = procCpuSeconds(bot.pid);
    const specCpuB = spec ? procCpuSeconds(spec.pid) : null;
    const rssLoaded = procRssKiB(srv.pid);
    alive('during the window');
    if (cpuA === null || cpuB === null || rssLoaded === null) throw new Error(`${path.basename(serverBin)} has gone`);
    const m2 = hasMetrics ? await scrape(port) : null;
    const botsRc = await botsDone;
    const specRc = specDone ? await specDone : null;
    const m3 = hasMetrics ? await scrape(port) : null;
    const wall = (tB - tA) / 1000;
    const cpuS = cpuB - cpuA;
    const rep = readBotsReport(report);
    const bf = botFigures(rep);

    const r = {
      scenario: name, run, seed, port, bots, behavior, window_s: wall, bots_exit: botsRc,
      busy_before_pct: busyBefore,
      server_cpu_s: cpuS,
      server_cpu_pct: (100 * cpuS) / wall,
      bots_cpu_pct: botCpuA !== null && botCpuB !== null ? (100 * (botCpuB - botCpuA)) / wall : null,
      // CPU of everything else on the machine meanwhile (noise indicator)
      other_cpu_pct: botCpuA !== null && botCpuB !== null
        ? (100 * (busyB - busyA - cpuS - (botCpuB - botCpuA) - (specCpuB !== null && specCpuA !== null ? specCpuB - specCpuA : 0))) / wall : null,
      rss_idle_kib: rssIdle,
      rss_loaded_kib: rssLoaded,
      ...bf,
    };
    const conn = hasMetrics && m1 ? m1.tickwire_connections : null;
    r.server_connections = conn ?? null;
    const nBots = bf.bots_connected ?? conn ?? bots;
    r.cpu_ms_per_bot_s = (cpuS * 1000) / (nBots * wall);
    r.rss_per_conn_kib = rssLoaded !== null && rssIdle !== null ? (rssLoaded - rssIdle) / nBots : null;
    if (hasMetrics) {
      const msgs = mdelta(m1, m2, 'tickwire_snapshot_messages_total');
      const bytes = mdelta(m1, m2, 'tickwire_snapshot_bytes_total');
      r.snapshot_msgs = msgs;
      r.mean_snapshot_bytes = msgs ? bytes / msgs : null;
      r.server_down_bytes_per_s_per_conn = conn ? bytes / wall / conn : null;
      r.full_snapshots = mdelta(m1, m2, 'tickwire_full_snapshots_total');
      r.snapshots_skipped = mdelta(m1, m2, 'tickwire_snapshots_skipped_total');
      r.missed_ticks_window = mdelta(m1, m2, 'tickwire_missed_ticks_total');
      r.replay_bytes = mdelta(m1, m2, 'tickwire_replay_bytes_written_total');
      const players = m1.tickwire_players ?? null;
      r.replay_bytes_per_player_minute = players && r.replay_bytes != null ? r.replay_bytes / players / (wall / 60) : null;
      r.replay_writer_cpu_pct = writerA !== null && writerB !== null ? (100 * (writerB - writerA)) / wall : null;
      const tickRec = mdelta(m1, m2, 'tickwire_replay_tick_seconds_total');
      r.replay_tick_cpu_pct = tickRec != null ? (100 * tickRec) / wall : null;
      // The recording's own share of the server's CPU: the writer thread
      // plus the tick's time in recorder_tick, over the whole process.
      r.replay_share_pct = r.replay_writer_cpu_pct != null && r.replay_tick_cpu_pct != null && r.server_cpu_pct
        ? (100 * (r.replay_writer_cpu_pct + r.replay_tick_cpu_pct)) / r.server_cpu_pct : null;
      r.missed_ticks_run = mdelta(m0, m3 || m2, 'tickwire_missed_ticks_total');
      r.tick_overruns_run = mdelta(m0, m3 || m2, 'tickwire_tick_overruns_total');
      r.dropped_run = mdelta(m0, m3 || m2, 'tickwire_clients_dropped_total{reason="send_stalled"}');
      const ts = tickStats(m1, m2);
      if (ts) {
        r.tick_p50_ms = ts.p50_ms;
        r.tick_p99_ms = ts.p99_ms;
        r.tick_max_ms = ts.max_ms;
        r.ticks_le_1ms_fraction = ts.le_1ms_fraction;
      }
    }
    if (spectators) {
      const sp = readBotsReport(specReport);
      r.spectators_exit = specRc;
      r.spectators_cpu_pct = specCpuA !== null && specCpuB !== null ? (100 * (specCpuB - specCpuA)) / wall : null;
      r.spectators_connected_max = pick(sp, 'spectators.connected_max');
      r.spectators_connected_end = pick(sp, 'spectators.connected_end');
      r.spectator_snapshots_pct = pick(sp, 'spectators.snapshots_pct');
      r.spectator_min_pct = pick(sp, 'spectators.min_pct');
      r.spectators_under_99 = pick(sp, 'spectators.below_99');
      r.spectator_events_lost = pick(sp, 'spectators.events_lost');
      r.spectators_refused = sp ? pick(sp, 'connections.failed') : null;
      r.rss_loaded_mb = rssLoaded !== null ? rssLoaded / 1024 : null;
      if (hasMetrics) {
        r.spectators_owed_end = m2 ? m2.tickwire_spectators_owed ?? null : null;
        r.spectator_snapshots_server = mdelta(m1, m2, 'tickwire_spectator_snapshots_total');
      }
      if (!sp) log(`${tag}: no spectators report (${specReport}); see ${path.join(OUT, `${tag}.spectators.log`)}`);
    }
    if (perf) r.profile = perfSplit(perfData);
    if (!rep) log(`${tag}: no bots report (${report}); see ${path.join(OUT, `${tag}.bots.log`)}`);
    return r;
  } finally {
    for (const p of [bot, spec]) {
      if (p && p.exitCode === null && p.signalCode === null) {
        p.kill('SIGTERM');
        await waitExit(p, 5000);
      }
    }
    if (!srvExit) await stopServer(srv);
  }
}

// Where the server's CPU went, from a perf recording: kernel (and within
// it the send and poll syscalls), libwebsockets, tickwire's own code (and
// within it simulation and snapshot encoding), libc and the rest.
function perfSplit(data) {
  const rep = (args) => {
    try {
      return execFileSync('perf', ['report', '-i', data, '--stdio', '-g', 'none', '--sort', 'sym', ...args], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 }).toString();
    } catch {
      return '';
    }
  };
  const rows = (text) => text.split('\n').map((l) => /^\s+([\d.]+)%\s+(?:[\d.]+%\s+)?\[([.k])\]\s+(\S+)/.exec(l)).filter(Boolean)
    .map((m) => ({ pct: Number(m[1]), kernel: m[2] === 'k', sym: m[3] }));
  const self = rows(rep(['--no-children']));
  if (!self.length) return null;
  const ours = /^(sim_|proto_|bits_|match_|game_callback|tick_cb|run_tick|after_snapshot|on_|take_snapshot|write_msg|session_|metrics|log_|refuse|find_or_open|close_match|floor_|build_)/;
  const lws = /(^_*lws|^rops_|wsi|^sul_|^__lws|^_lws|^user_callback|^lws)/;
  const sum = (f) => self.filter(f).reduce((a, r) => a + r.pct, 0);
  const out = {
    kernel_pct: sum((r) => r.kernel),
    lws_pct: sum((r) => !r.kernel && lws.test(r.sym)),
    tickwire_pct: sum((r) => !r.kernel && ours.test(r.sym)),
    sim_pct: sum((r) => !r.kernel && /^sim_/.test(r.sym)),
    encode_pct: sum((r) => !r.kernel && /^(bits_|proto_snapshot_body_write|match_snapshot)/.test(r.sym)),
  };
  out.other_user_pct = 100 - out.kernel_pct - out.lws_pct - out.tickwire_pct;
  // inclusive: the send and poll syscalls, with what the kernel does in them
  const incl = rows(rep(['--children']));
  const find = (re) => Math.max(0, ...incl.filter((r) => re.test(r.sym)).map((r) => r.pct));
  out.send_syscall_pct = find(/^__sys_sendto$/);
  out.poll_syscall_pct = find(/^do_sys_poll$/);
  out.epoll_syscall_pct = find(/^do_epoll_wait$/);
  out.recv_syscall_pct = find(/^__sys_recvfrom$/);
  out.top = self.slice(0, 12).map((r) => `${r.pct.toFixed(2)}% ${r.kernel ? '[k]' : '[.]'} ${r.sym}`);
  return out;
}

// Median of every numeric field over the runs.
function medianOf(runs) {
  const out = {};
  for (const k of Object.keys(runs[0])) {
    const vals = runs.map((r) => r[k]);
    if (vals.some((v) => typeof v === 'number')) out[k] = median(vals);
  }
  return out;
}

const COMMIT = gitCommit();
const failures = [];
function record(name, config, runs) {
  const med = medianOf(runs);
  const line = { time: new Date().toISOString(), commit: COMMIT, scenario: name, runs: runs.length, config, median: med, each: runs };
  fs.mkdirSync(OUT, { recursive: true });
  fs.appendFileSync(path.join(OUT, 'results.jsonl'), JSON.stringify(line) + '\n');
  return med;
}

// A floor's counters over its whole run, from the line it prints when it
// stops ("... stop ticks=N missed_ticks=N snapshots_out=N ..."): both
// floors must have sent the same messages.
function stopLine(logFile) {
  let text = '';
  try {
    text = fs.readFileSync(logFile, 'utf8');
  } catch {
    return {};
  }
  const m = / stop (.*)$/m.exec(text);
  if (!m) return {};
  const out = {};
  for (const kv of m[1].trim().split(/\s+/)) {
    const [k, v] = kv.split('=');
    if (['ticks', 'missed_ticks', 'snapshots_out', 'snapshots_skipped'].includes(k) && Number.isFinite(Number(v))) out[`floor_${k}`] = Number(v);
  }
  return out;
}

// Runs several scenarios side by side: run 1 of each, then run 2 of each,
// ... so slow drift in the machine's load touches them alike. specs:
// [{ name, config, runArgs }]; returns { name: medians }.
async function scenariosSideBySide(specs) {
  const runs = Object.fromEntries(specs.map((sp) => [sp.name, []]));
  for (let i = 0; i < CFG.runs; i++) {
    for (const { name, runArgs: ra } of specs) {
      log(`${name}: run ${i + 1}/${CFG.runs}`);
      try {
        // runArgs may depend on the runs so far (the floors' message size
        // on the load run just before).
        const runArgs = typeof ra === 'function' ? ra(runs) : ra;
        const r = await runOnce({ name, run: i, ...runArgs });
        if (runArgs.snapshotBytes) r.snapshot_bytes = runArgs.snapshotBytes;
        if (!runArgs.hasMetrics) Object.assign(r, stopLine(path.join(OUT, `${name}-${i}.server.log`)));
        runs[name].push(r);
      } catch (e) {
        // A run that failed (e.g. the server died) is reported and left out
        // of the medians; the bench goes on.
        log(`${name}: run ${i + 1} FAILED: ${e.message}`);
        console.log(`  note: ${name} run ${i + 1} failed: ${e.message}`);
        failures.push({ scenario: name, run: i, error: e.message });
      }
    }
  }
  const out = {};
  for (const { name, config } of specs) out[name] = runs[name].length ? record(name, config, runs[name]) : { failed: true };
  return out;
}

async function scenario(name, config, runArgs) {
  return (await scenariosSideBySide([{ name, config, runArgs }]))[name];
}

// ---- main -------------------------------------------------------------------------------------

function row(label, cols) {
  console.log(`${label.padEnd(22)} ${cols.join('  ')}`);
}

// Two cores shared with the bots: anything else running skews the figures.
function busyWarning(m) {
  if (m.other_cpu_pct != null && m.other_cpu_pct > 20)
    console.log(`  note: other processes used ${fmt(m.other_cpu_pct, 0)}% of a core during the window: CPU, tick and RTT figures are skewed`);
}

async function main() {
  for (const [k, p] of Object.entries(BIN)) {
    if (!fs.existsSync(p)) {
      console.error(`bench: ${p} is missing (${k}); build first (make build)`);
      process.exit(2);
    }
  }
  // per run: the bots' duration, ~2 s of closing, ~1.5 s of starting up
  const total = CFG.scenarios.reduce((s, n) => s + (n === 'deflate' ? 2 : n === 'aoi' ? 8 : n === 'aoi-match' ? 2 * (4 + CFG.matchWindow + 2 + 3.5) * CFG.runs : n === 'http' ? 2 * (CFG.ramp + CFG.settle + CFG.window + 2 + 3.5) * CFG.runs : n === 'replay' ? 2 * (Math.ceil(CFG.ramp + CFG.settle + CFG.window + 2) + 3.5) * CFG.runs : n === 'spectate' ? (Math.ceil(5 + CFG.spectateRamp + CFG.settle + CFG.window + 2) + 8) * CFG.runs : (Math.ceil((['load', 'floor', 'floor-raw', 'profile', 'floor-profile', 'floor-raw-profile'].includes(n) ? CFG.ramp + CFG.settle + CFG.window : 1 + 2 + CFG.matchWindow) + 2) + 3.5) * (n.includes('profile') ? 1 : CFG.runs)), 0);
  log(`commit ${COMMIT}, ${CFG.runs} run(s) per scenario, about ${Math.ceil(total / 60)} min; results -> ${path.join(OUT, 'results.jsonl')}`);
  const tr = String(CFG.tickRate);
  const res = {};
  // The bots mint their own join tokens with a secret the server shares
  // (as a host's load test of a secured server would); the floor checks none.
  const realArgs = (extra) => ['--log-level', 'warn', '--drain-timeout', '0', '--tick-rate', tr, '--snapshot-rate', tr, '--seed', String(CFG.seed),
    '--token-secret-file', secretFile(), ...extra];

  // The floors send the real server's mean snapshot size (from a load
  // run), at least their smallest sizes; BENCH_FLOOR_BYTES overrides it.
  const floorBytes = (load) => {
    let bytes = CFG.floorBytes ?? (load && load.mean_snapshot_bytes != null ? Math.round(load.mean_snapshot_bytes) : 300);
    if (bytes < 46) bytes = bytes <= 23 ? 23 : 46;
    return bytes;
  };
  const floorSpec = (n, bytesOf, sideBySide) => ({
    name: n,
    config: { bots: CFG.bots, behavior: 'wander', ramp_s: CFG.ramp, settle_s: CFG.settle, window_s: CFG.window, tick_rate: CFG.tickRate, pinned: CFG.pin, side_by_side: sideBySide > 1 },
    runArgs: (runs) => {
      const bytes = bytesOf(runs);
      return { serverBin: n === 'floor' ? BIN.floor : BIN.floorRaw, serverArgs: ['--tick-rate', tr, '--snapshot-bytes', String(bytes)], bots: CFG.bots, behavior: 'wander',
        ramp: CFG.ramp, settle: CFG.settle, window: CFG.window, hasMetrics: false, pin: CFG.pin, snapshotBytes: bytes };
    },
  });
  const floorRows = (floors, got) => {
    for (const n of floors) {
      const m = got[n];
      if (res.load && res.load.cpu_ms_per_bot_s && m.cpu_ms_per_bot_s) m.ratio = res.load.cpu_ms_per_bot_s / m.cpu_ms_per_bot_s;
      res[n] = m;
    }
    const F = res.floor, R = res['floor-raw'];
    if (F && R && F.cpu_ms_per_bot_s && R.cpu_ms_per_bot_s) F.lws_cost = F.cpu_ms_per_bot_s / R.cpu_ms_per_bot_s;
    for (const n of floors) {
      const m = res[n];
      const label = n === 'floor' ? `lws floor (${fmt(m.snapshot_bytes, 0)} B)` : `raw floor (${fmt(m.snapshot_bytes, 0)} B)`;
      row(label, [`CPU ${fmt(m.server_cpu_pct, 1)}% = ${fmt(m.cpu_ms_per_bot_s, 3)} ms/bot-s`, `RSS ${fmt(m.rss_per_conn_kib, 1)} KiB/conn`,
        `RTT p99 ${fmt(m.rtt_p99_ms)} ms`, `snapshots ${fmt(m.snapshots_pct)}%`,
        `sent ${fmt(m.floor_snapshots_out, 0)} in ${fmt(m.floor_ticks, 0)} ticks, missed ${fmt(m.floor_missed_ticks, 0)}`,
        ...(m.ratio != null ? [`ours/${n === 'floor' ? 'lws' : 'raw'} floor ${fmt(m.ratio)}x`] : []),
        ...(n === 'floor' && m.lws_cost != null ? [`lws/raw ${fmt(m.lws_cost)}x`] : []),
        `(bots CPU ${fmt(m.bots_cpu_pct, 0)}%, bots late <= ${fmt(m.bots_tick_late_max_ms, 0)} ms, other ${fmt(m.other_cpu_pct, 0)}%)`]);
      busyWarning(m);
    }
  };

  for (const name of CFG.scenarios) {
    if (name === 'match' || name === 'idle') {
      const behavior = name === 'match' ? 'wander' : 'idle';
      const m = await scenario(name, { bots: 64, match_size: 64, behavior, window_s: CFG.matchWindow, tick_rate: CFG.tickRate }, {
        serverBin: BIN.server, serverArgs: realArgs(['--match-size', '64']), bots: 64, behavior,
        ramp: 1, settle: 2, window: CFG.matchWindow, hasMetrics: true,
      });
      // Per entity: the bots' figures (body bytes / entities present, and /
      // entities that changed since the previous snapshot). Per idle
      // entity: what a snapshot costs beyond an empty delta (10-byte header,
      // 1-byte empty events section, 1-byte entity count, 1-byte "match
      // state unchanged": 13 bytes in v4), per entity, from the server's own
      // byte counters.
      const ents = m.entities_per_snapshot || 64;
      m.bytes_per_entity = m.bots_bytes_per_entity;
      m.bytes_per_moving_entity = m.bots_bytes_per_moving_entity;
      m.bytes_per_idle_entity = m.mean_snapshot_bytes != null ? Math.max(0, m.mean_snapshot_bytes - 13) / ents : null;
      m.down_bytes_per_s = m.down_bytes_per_s_per_bot ?? m.server_down_bytes_per_s_per_conn;
      res[name] = m;
      if (name === 'match')
        row('64 bots, one match', [`down ${fmt(m.down_bytes_per_s, 0)} B/s/client`, `snapshot ${fmt(m.mean_snapshot_bytes, 1)} B`,
          `${fmt(m.bytes_per_entity)} B/entity`, `${fmt(m.bytes_per_moving_entity)} B/moving entity (${fmt(m.moving_per_snapshot, 1)} moving)`,
          `RTT p50 ${fmt(m.rtt_p50_ms)} p99 ${fmt(m.rtt_p99_ms)} ms`, `snapshots ${fmt(m.snapshots_pct)}%`]);
      else
        row('idle (64 bots)', [`snapshot ${fmt(m.mean_snapshot_bytes, 2)} B`, `${fmt(m.bytes_per_idle_entity, 3)} B/idle entity`,
          `down ${fmt(m.down_bytes_per_s, 0)} B/s/client`, `RTT p99 ${fmt(m.rtt_p99_ms)} ms`]);
    } else if (name === 'load') {
      // With the floors in the list, their runs interleave with load's
      // (load 1, floor 1, raw floor 1, load 2, ...), so the machine's drift
      // touches all three alike; each floor run sends the mean snapshot
      // size of the load run just before it.
      const floors = ['floor', 'floor-raw'].filter((n) => CFG.scenarios.includes(n));
      const got = await scenariosSideBySide([{
        name, config: { bots: CFG.bots, match_size: 64, behavior: 'wander', ramp_s: CFG.ramp, settle_s: CFG.settle, window_s: CFG.window, tick_rate: CFG.tickRate, pinned: CFG.pin, side_by_side: floors.length > 0 },
        runArgs: { serverBin: BIN.server, serverArgs: realArgs([]), bots: CFG.bots, behavior: 'wander',
          ramp: CFG.ramp, settle: CFG.settle, window: CFG.window, hasMetrics: true, pin: CFG.pin },
      }, ...floors.map((n) => floorSpec(n, (runs) => floorBytes(runs.load.length ? runs.load[runs.load.length - 1] : null), floors.length + 1))]);
      const m = got.load;
      res.load = m;
      row(`${CFG.bots} bots`, [`CPU ${fmt(m.server_cpu_pct, 1)}% = ${fmt(m.cpu_ms_per_bot_s, 3)} ms/bot-s`, `RSS ${fmt(m.rss_per_conn_kib, 1)} KiB/conn`,
        `tick p50 ${fmt(m.tick_p50_ms, 3)} p99 ${fmt(m.tick_p99_ms, 3)} max <=${fmt(m.tick_max_ms, 1)} ms`, `missed ${fmt(m.missed_ticks_run, 0)}`,
        `RTT p99 ${fmt(m.rtt_p99_ms)} ms`, `snapshots ${fmt(m.snapshots_pct)}%`, `bots<99% ${fmt(m.bots_under_99, 0)}`,
        `connected ${fmt(m.bots_connected, 0)}`, `snapshot ${fmt(m.mean_snapshot_bytes, 1)} B`,
        `(bots CPU ${fmt(m.bots_cpu_pct, 0)}%, bots late <= ${fmt(m.bots_tick_late_max_ms, 0)} ms, other ${fmt(m.other_cpu_pct, 0)}%)`]);
      busyWarning(m);
      floorRows(floors, got);
    } else if (name === 'floor' || name === 'floor-raw') {
      if (res[name]) continue; // ran side by side with load or the other floor
      const floors = CFG.scenarios.includes('floor') && CFG.scenarios.includes('floor-raw') ? ['floor', 'floor-raw'] : [name];
      const bytes = floorBytes(res.load);
      floorRows(floors, await scenariosSideBySide(floors.map((n) => floorSpec(n, () => bytes, floors.length))));
    } else if (name === 'http') {
      // The HTTP fallback next to WebSocket at the same bot count, runs alternating.
      const n = CFG.httpBots;
      const specs = ['ws', 'http'].map((t) => ({
        name: `transport-${t}`,
        config: { bots: n, match_size: 64, behavior: 'wander', transport: t, ramp_s: CFG.ramp, settle_s: CFG.settle, window_s: CFG.window, tick_rate: CFG.tickRate },
        runArgs: {
          serverBin: BIN.server, serverArgs: realArgs([]), bots: n, behavior: 'wander', botsExtra: ['--transport', t],
          ramp: CFG.ramp, settle: CFG.settle, window: CFG.window, hasMetrics: true,
        },
      }));
      const got = await scenariosSideBySide(specs);
      const W = got['transport-ws'], H = got['transport-http'];
      if (W && H && W.cpu_ms_per_bot_s && H.cpu_ms_per_bot_s) H.ratio = H.cpu_ms_per_bot_s / W.cpu_ms_per_bot_s;
      res.http = H;
      res.httpWs = W;
      for (const [label, m] of [[`${n} bots, WebSocket`, W], [`${n} bots, HTTP`, H]]) {
        if (!m || m.failed) continue;
        row(label, [`CPU ${fmt(m.server_cpu_pct, 1)}% = ${fmt(m.cpu_ms_per_bot_s, 3)} ms/bot-s`, `RSS ${fmt(m.rss_per_conn_kib, 1)} KiB/bot`,
          `RTT p99 ${fmt(m.rtt_p99_ms)} ms`, `snapshots ${fmt(m.snapshots_pct)}%`, `bots<99% ${fmt(m.bots_under_99, 0)}`,
          `connected ${fmt(m.bots_connected, 0)}`, ...(m === H && H.ratio != null ? [`http/ws ${fmt(H.ratio)}x`] : []),
          `(bots CPU ${fmt(m.bots_cpu_pct, 0)}%, other ${fmt(m.other_cpu_pct, 0)}%)`]);
        busyWarning(m);
      }
    } else if (name === 'aoi-match') {
      const specs = [0, 512].map((radius) => ({
        name: `aoi-match-${radius}`,
        config: { bots: 128, match_size: 128, behavior: 'wander', map: 'assets/large.map', aoi_radius: radius, window_s: CFG.matchWindow, tick_rate: CFG.tickRate },
        runArgs: {
          serverBin: BIN.server, bots: 128, behavior: 'wander', ramp: 2, settle: 2, window: CFG.matchWindow, hasMetrics: true,
          serverArgs: realArgs(['--match-size', '128', '--map', path.join(ROOT, 'assets/large.map'), '--aoi-radius', String(radius)]),
        },
      }));
      const got = await scenariosSideBySide(specs);
      for (const { name: n, config } of specs) {
        const m = got[n];
        m.down_bytes_per_s = m.down_bytes_per_s_per_bot ?? m.server_down_bytes_per_s_per_conn;
        res[n] = m;
        row(`128 bots, aoi ${config.aoi_radius || 'off'}`, [`down ${fmt(m.down_bytes_per_s, 0)} B/s/client`, `snapshot ${fmt(m.mean_snapshot_bytes, 1)} B`,
          `CPU ${fmt(m.server_cpu_pct, 1)}% = ${fmt(m.cpu_ms_per_bot_s, 3)} ms/bot-s`, `RTT p99 ${fmt(m.rtt_p99_ms)} ms`, `snapshots ${fmt(m.snapshots_pct)}%`,
          `(bots CPU ${fmt(m.bots_cpu_pct, 0)}%, other ${fmt(m.other_cpu_pct, 0)}%)`]);
        busyWarning(m);
      }
    } else if (name === 'replay') {
      // Recording every round (--replay-dir) against not, runs alternating:
      // the same fight load, server CPU both ways, the writer thread's own
      // share, and the disk bytes per player-minute.
      const dir = fs.mkdtempSync(path.join(OUT, 'replays-'));
      const specs = [false, true].map((on) => ({
        name: on ? 'replay-on' : 'replay-off',
        config: { bots: CFG.bots, behavior: 'fight', recording: on, ramp_s: CFG.ramp, settle_s: CFG.settle, window_s: CFG.window, tick_rate: CFG.tickRate },
        runArgs: {
          serverBin: BIN.server, bots: CFG.bots, behavior: 'fight', ramp: CFG.ramp, settle: CFG.settle, window: CFG.window, hasMetrics: true,
          serverArgs: realArgs(on ? ['--replay-dir', dir, '--replay-keep', '50'] : []),
        },
      }));
      const got = await scenariosSideBySide(specs);
      fs.rmSync(dir, { recursive: true, force: true });
      const off = got['replay-off'], on = got['replay-on'];
      res['replay-off'] = off;
      res['replay-on'] = on;
      if (on && off && on.server_cpu_pct != null && off.server_cpu_pct != null)
        on.recording_cost_pct = (100 * (on.server_cpu_pct - off.server_cpu_pct)) / off.server_cpu_pct;
      for (const [label, m] of [['not recording', off], ['recording', on]]) {
        if (!m || m.failed) continue;
        row(`${CFG.bots} fight, ${label}`, [`CPU ${fmt(m.server_cpu_pct, 1)}% = ${fmt(m.cpu_ms_per_bot_s, 3)} ms/bot-s`,
          ...(m === on ? [`recording ${fmt(m.replay_share_pct, 2)}% of the server's CPU (tick ${fmt(m.replay_tick_cpu_pct, 2)}% + writer ${fmt(m.replay_writer_cpu_pct, 2)}% of a core)`,
            `A/B ${fmt(m.recording_cost_pct, 1)}%`,
            `${fmt(m.replay_bytes_per_player_minute != null ? m.replay_bytes_per_player_minute / 1000 : null, 1)} KB/player-minute`] : []),
          `tick p99 ${fmt(m.tick_p99_ms, 3)} ms`, `missed ${fmt(m.missed_ticks_run, 0)}`, `snapshots ${fmt(m.snapshots_pct)}%`,
          `(bots CPU ${fmt(m.bots_cpu_pct, 0)}%, other ${fmt(m.other_cpu_pct, 0)}%)`]);
        busyWarning(m);
      }
    } else if (name === 'spectate') {
      // Issue 13: BENCH_SPECTATE_BOTS (256) fight bots in matches of 64,
      // then BENCH_SPECTATORS (10,000) spectators of the fullest match in a
      // second bots process over BENCH_SPECTATE_RAMP s; the window starts
      // when all are in.
      const nconn = CFG.spectateBots + CFG.spectators + 64;
      const m = await scenario(name, { bots: CFG.spectateBots, spectators: CFG.spectators, behavior: 'fight', ramp_s: 3, spectate_ramp_s: CFG.spectateRamp,
        settle_s: CFG.settle, window_s: CFG.window, tick_rate: CFG.tickRate }, {
        serverBin: BIN.server, bots: CFG.spectateBots, behavior: 'fight', ramp: 3, settle: CFG.settle, window: CFG.window, hasMetrics: true,
        spectators: CFG.spectators, specRamp: CFG.spectateRamp,
        serverArgs: realArgs(['--max-conns', String(nconn), '--max-conns-per-ip', String(nconn), '--max-spectators', String(Math.max(CFG.spectators, 1))]),
      });
      res.spectate = m;
      row(`${CFG.spectateBots} fight + ${CFG.spectators} spectators`, [`spectators ${fmt(m.spectator_snapshots_pct)}% (fewest ${fmt(m.spectator_min_pct)}%, ${fmt(m.spectators_under_99, 0)} under 99%, ${fmt(m.spectators_connected_max, 0)} connected)`,
        `players ${fmt(m.snapshots_pct)}% (${fmt(m.bots_under_99, 0)} under 99%)`, `tick p99 ${fmt(m.tick_p99_ms, 3)} ms`, `missed ${fmt(m.missed_ticks_run, 0)}`,
        `RSS ${fmt(m.rss_loaded_mb, 1)} MB`, `RTT p99 ${fmt(m.rtt_p99_ms)} ms`, `owed at a tick ${fmt(m.spectators_owed_end, 0)}`,
        `(CPU: server ${fmt(m.server_cpu_pct, 0)}%, players ${fmt(m.bots_cpu_pct, 0)}%, spectators ${fmt(m.spectators_cpu_pct, 0)}%, other ${fmt(m.other_cpu_pct, 0)}%)`]);
      busyWarning(m);
    } else if (name === 'deflate' || name === 'aoi') {
      // Deterministic bytes, thread-CPU time: one run, its table as is.
      fs.mkdirSync(OUT, { recursive: true });
      const args = name === 'aoi' ? ['--radius', '0', '--radius', '512', '--radius', '1024'] : [];
      const out = execFileSync(name === 'aoi' ? BIN.aoi : BIN.deflate, args, { cwd: ROOT }).toString();
      console.log(out.trimEnd());
      fs.appendFileSync(path.join(OUT, 'results.jsonl'), JSON.stringify({ time: new Date().toISOString(), commit: COMMIT, scenario: name, runs: 1, output: out.split('\n').filter(Boolean) }) + '\n');
    } else if (name === 'profile' || name === 'floor-profile' || name === 'floor-raw-profile') {
      // One run of the load (or a floor) scenario with perf recording the
      // server during the window; not part of the targets.
      const isFloor = name !== 'profile';
      const bytes = CFG.floorBytes ?? (res.load && res.load.mean_snapshot_bytes != null ? Math.max(46, Math.round(res.load.mean_snapshot_bytes)) : 300);
      let r;
      try {
        r = await runOnce({ name, run: 0, serverBin: name === 'floor-raw-profile' ? BIN.floorRaw : isFloor ? BIN.floor : BIN.server,
          serverArgs: isFloor ? ['--tick-rate', tr, '--snapshot-bytes', String(bytes)] : realArgs([]), bots: CFG.bots, behavior: 'wander',
          ramp: CFG.ramp, settle: CFG.settle, window: CFG.window, hasMetrics: !isFloor, perf: true, pin: CFG.pin });
      } catch (e) {
        console.log(`  note: ${name} failed: ${e.message}`);
        continue;
      }
      const p = r.profile;
      fs.appendFileSync(path.join(OUT, 'results.jsonl'), JSON.stringify({ time: new Date().toISOString(), commit: COMMIT, scenario: name, runs: 1, each: [r] }) + '\n');
      if (!p) {
        console.log(`${name}: perf recorded nothing (is perf installed and allowed?)`);
        continue;
      }
      row(`${name} (${CFG.bots} bots)`, [`CPU ${fmt(r.server_cpu_pct, 1)}%:`, `kernel ${fmt(p.kernel_pct, 1)}% (send ${fmt(p.send_syscall_pct, 1)}%, poll ${fmt(p.poll_syscall_pct, 1)}%, epoll ${fmt(p.epoll_syscall_pct, 1)}%, recv ${fmt(p.recv_syscall_pct, 1)}%)`,
        `lws ${fmt(p.lws_pct, 1)}%`, `tickwire ${fmt(p.tickwire_pct, 1)}% (sim ${fmt(p.sim_pct, 1)}%, encode ${fmt(p.encode_pct, 1)}%)`, `other ${fmt(p.other_user_pct, 1)}%`]);
      for (const t of p.top) console.log(`    ${t}`);
    } else {
      console.error(`bench: unknown scenario '${name}' (match, load, idle, floor, floor-raw, replay, deflate, aoi, http, aoi-match, spectate, profile, floor-profile, floor-raw-profile)`);
      process.exit(2);
    }
  }

  // ---- targets ----
  const rttTarget = TICK_MS + 1;
  const T = [];
  const tgt = (what, target, measured, ok) => T.push({ what, target, measured, ok });
  const L = res.load, F = res.floor, R = res['floor-raw'], M = res.match, I = res.idle;
  // The headline (issue 11): the real server against the kernel floor;
  // then what libwebsockets' loop alone costs over that floor.
  const placed = CFG.pin ? 'server on CPU 0, bots on CPU 1' : 'unpinned';
  if (L && R) tgt('server CPU vs raw floor', '<= 1.25x', `${fmt(R.ratio)}x (${fmt(L.cpu_ms_per_bot_s, 3)} vs ${fmt(R.cpu_ms_per_bot_s, 3)} ms/bot-s, ${placed})`, R.ratio == null ? null : R.ratio <= 1.25);
  if (F && R) tgt('what lws costs: lws floor / raw floor', '(info)', `${fmt(F.lws_cost)}x (${fmt(F.cpu_ms_per_bot_s, 3)} vs ${fmt(R.cpu_ms_per_bot_s, 3)} ms/bot-s)`, undefined);
  if (L && F && !R) tgt('server CPU vs lws floor', '(info: no raw floor run)', `${fmt(F.ratio)}x (${fmt(L.cpu_ms_per_bot_s, 3)} vs ${fmt(F.cpu_ms_per_bot_s, 3)} ms/bot-s)`, undefined);
  if (L) {
    tgt(`${CFG.bots} bots: every bot >= 99% of snapshots`, 'bots under 99% = 0', L.bots_under_99 == null ? 'n/a' : `${fmt(L.bots_under_99, 0)} under (${fmt(L.snapshots_pct)}% overall, ${fmt(L.bots_connected, 0)} connected)`,
      L.bots_under_99 == null ? null : L.bots_under_99 === 0 && (L.bots_connected == null || L.bots_connected >= CFG.bots));
    tgt(`${CFG.bots} bots: the bots' process`, '<= 50% of a core', `${fmt(L.bots_cpu_pct, 1)}%`, L.bots_cpu_pct == null ? null : L.bots_cpu_pct <= 50);
    tgt(`${CFG.bots} bots: no missed ticks`, '0', fmt(L.missed_ticks_run, 0), L.missed_ticks_run == null ? null : L.missed_ticks_run === 0);
    tgt(`${CFG.bots} bots: tick p99`, '<= 1 ms', `${fmt(L.tick_p99_ms, 3)} ms (${fmt(L.ticks_le_1ms_fraction == null ? null : 100 * L.ticks_le_1ms_fraction)}% <= 1 ms)`,
      L.ticks_le_1ms_fraction == null ? null : L.ticks_le_1ms_fraction >= 0.99);
    tgt(`${CFG.bots} bots: RSS per connection`, '<= 16 KiB', `${fmt(L.rss_per_conn_kib, 1)} KiB`, L.rss_per_conn_kib == null ? null : L.rss_per_conn_kib <= 16);
    tgt(`${CFG.bots} bots: input->ack RTT p99`, `<= ${fmt(rttTarget)} ms`, `${fmt(L.rtt_p99_ms)} ms (bots' ticks up to ${fmt(L.bots_tick_late_max_ms, 0)} ms late)`, L.rtt_p99_ms == null ? null : L.rtt_p99_ms <= rttTarget);
  }
  if (M) {
    tgt('64-player match: bytes per moving entity', '<= 4 B/snapshot', `${fmt(M.bytes_per_moving_entity)} B`, M.bytes_per_moving_entity == null ? null : M.bytes_per_moving_entity <= 4);
    tgt('64-player match: input->ack RTT p99', `<= ${fmt(rttTarget)} ms`, `${fmt(M.rtt_p99_ms)} ms`, M.rtt_p99_ms == null ? null : M.rtt_p99_ms <= rttTarget);
  }
  const RO = res['replay-on'], RF = res['replay-off'];
  if (RO && !RO.failed) {
    tgt(`${CFG.bots} fight bots: recording's share of server CPU`, '<= 2%', `${fmt(RO.replay_share_pct, 2)}% (A/B against not recording: ${fmt(RO.recording_cost_pct, 1)}%, ${fmt(RO.cpu_ms_per_bot_s, 3)} vs ${fmt(RF && RF.cpu_ms_per_bot_s, 3)} ms/bot-s)`,
      RO.replay_share_pct == null ? null : RO.replay_share_pct <= 2);
    tgt('replay disk use', '<= 100 KB/player-minute', `${fmt(RO.replay_bytes_per_player_minute != null ? RO.replay_bytes_per_player_minute / 1000 : null, 1)} KB`,
      RO.replay_bytes_per_player_minute == null ? null : RO.replay_bytes_per_player_minute <= 100000);
  }
  const H = res.http;
  if (H && !H.failed) {
    tgt(`${CFG.httpBots} bots over HTTP: all connected, >= 99% snapshots`, 'bots under 99% = 0',
      `${fmt(H.bots_under_99, 0)} under (${fmt(H.snapshots_pct)}% overall, ${fmt(H.bots_connected, 0)} connected)`,
      H.bots_under_99 == null ? null : H.bots_under_99 === 0 && (H.bots_connected == null || H.bots_connected >= CFG.httpBots));
    tgt(`${CFG.httpBots} bots over HTTP: input->ack RTT p99`, `<= ${fmt(2 * TICK_MS)} ms (2 ticks)`, `${fmt(H.rtt_p99_ms)} ms`, H.rtt_p99_ms == null ? null : H.rtt_p99_ms <= 2 * TICK_MS);
    tgt('HTTP fallback CPU per bot-second vs WebSocket', '(info)', `${fmt(H.ratio)}x (${fmt(H.cpu_ms_per_bot_s, 3)} vs ${fmt(res.httpWs && res.httpWs.cpu_ms_per_bot_s, 3)} ms/bot-s)`, undefined);
  }
  const S = res.spectate;
  if (S && !S.failed) {
    const who = `${CFG.spectators} spectators`;
    tgt(`${who}: all connected`, `${CFG.spectators}`,
      `${fmt(S.spectators_connected_max, 0)} at most, ${fmt(S.spectators_refused, 0)} refused (players ${fmt(S.bots_connected, 0)} of ${CFG.spectateBots})`,
      S.spectators_connected_max == null ? null : S.spectators_connected_max >= CFG.spectators && !S.spectators_refused && S.bots_connected >= CFG.spectateBots);
    tgt(`${who}: server RSS`, '<= 200 MB', `${fmt(S.rss_loaded_mb, 1)} MB`, S.rss_loaded_mb == null ? null : S.rss_loaded_mb <= 200);
    tgt(`${who}: players' tick p99`, '<= 1 ms', `${fmt(S.tick_p99_ms, 3)} ms`, S.ticks_le_1ms_fraction == null ? null : S.ticks_le_1ms_fraction >= 0.99);
    tgt(`${who}: missed ticks`, '0', fmt(S.missed_ticks_run, 0), S.missed_ticks_run == null ? null : S.missed_ticks_run === 0);
    tgt(`${who}: spectator snapshots`, '>= 99%', `${fmt(S.spectator_snapshots_pct)}% (players ${fmt(S.snapshots_pct)}%)`,
      S.spectator_snapshots_pct == null ? null : S.spectator_snapshots_pct >= 99);
  }
  if (I) tgt('idle entities', '0 B/snapshot', `${fmt(I.bytes_per_idle_entity, 3)} B (${fmt(I.mean_snapshot_bytes, 1)} B snapshots)`, I.bytes_per_idle_entity == null ? null : I.bytes_per_idle_entity <= 0.0005);

  if (!T.length) return;
  console.log('');
  console.log(`targets (commit ${COMMIT}, median of ${CFG.runs} run(s), ${CFG.tickRate} Hz):`);
  const w0 = Math.max(...T.map((t) => t.what.length)), w1 = Math.max(...T.map((t) => t.target.length)), w2 = Math.max(...T.map((t) => t.measured.length));
  for (const t of T)
    console.log(`  ${t.what.padEnd(w0)}  ${t.target.padEnd(w1)}  ${t.measured.padEnd(w2)}  ${t.ok === undefined ? 'info' : t.ok === null ? 'n/a' : t.ok ? 'met' : 'MISSED'}`);
  if (failures.length) console.log(`  ${failures.length} run(s) failed and were left out: ${failures.map((f) => `${f.scenario} ${f.run + 1}`).join(', ')}`);
  fs.appendFileSync(path.join(OUT, 'results.jsonl'), JSON.stringify({ time: new Date().toISOString(), commit: COMMIT, scenario: 'targets', runs: CFG.runs, targets: T, failures }) + '\n');
  if (failures.length) process.exitCode = 1;
}

main().catch((e) => {
  console.error(`bench: ${e.stack || e}`);
  process.exit(1);
});
