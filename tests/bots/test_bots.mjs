// End-to-end test of tickwire-bots against the real server.
//
// Starts tickwire-server on --port 0 and waits for its "serving http://..."
// line (the event for "listening"), runs 50 wander bots for 4 s, then
// asserts from the JSON report (all connected, none failed, every bot got
// >= 90% of its snapshots, no corrections on this lossless link, RTT
// measured) and from the server's GET /metrics (valid Prometheus text with
// tickwire_connections). Also checks the exit codes for bad flags (2) and
// an unreachable server (1).
//
//   node test_bots.mjs --server BIN --bots-bin BIN --out DIR
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

function args() {
  const a = {};
  for (let i = 2; i < process.argv.length; i += 2) a[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
  for (const k of ['server', 'bots-bin', 'out']) if (!a[k]) throw new Error(`missing --${k}`);
  return a;
}

let failures = 0;
function check(cond, what, detail = '') {
  if (cond) {
    console.log(`ok   ${what}`);
  } else {
    failures++;
    console.log(`FAIL ${what}${detail ? ': ' + detail : ''}`);
  }
}

// Starts the server and resolves with its port once it prints its URL.
function startServer(bin) {
  const proc = spawn(bin, ['--port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    const guard = setTimeout(() => reject(new Error('server printed no URL within 30 s')), 30000);
    proc.on('exit', (code) => reject(new Error(`server exited early (${code})`)));
    proc.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(/serving http:\/\/127\.0\.0\.1:(\d+)\//);
      if (m) {
        clearTimeout(guard);
        proc.removeAllListeners('exit');
        proc.stdout.resume();
        resolve({ proc, port: Number(m[1]) });
      }
    });
  });
}

function stopServer(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve(proc.exitCode);
    proc.on('exit', (code) => resolve(code));
    proc.kill('SIGTERM');
  });
}

function run(bin, argv) {
  return new Promise((resolve) => {
    const p = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code, sig) => resolve({ code: code ?? 128, sig, out, err }));
  });
}

function get(port, urlPath) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body }));
      })
      .on('error', reject);
  });
}

// Every line is a comment, blank, or `name{labels} value [timestamp]`.
function parseProm(text) {
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? ([^ ]+)( -?\d+)?$/;
  const names = new Set();
  const bad = [];
  text.split('\n').forEach((line, i) => {
    if (line === '' || line.startsWith('#')) return;
    const m = line.match(sample);
    const v = m && m[3];
    if (!m || !(/^[+-]?Inf$|^NaN$/.test(v) || Number.isFinite(Number(v)))) bad.push(`line ${i + 1}: ${line}`);
    else names.add(m[1]);
  });
  return { names, bad };
}

async function main() {
  const a = args();
  fs.mkdirSync(a.out, { recursive: true });
  const reportPath = path.join(a.out, 'report.json');
  const htmlPath = path.join(a.out, 'report.html');
  fs.rmSync(reportPath, { force: true });
  fs.rmSync(htmlPath, { force: true });

  // Bad flags: exit 2 with the reason and the usage.
  const bad = await run(a['bots-bin'], ['--bots', 'many']);
  check(bad.code === 2, 'bad flag exits 2', `exit ${bad.code}`);
  check(/--bots/.test(bad.err) && /usage:/.test(bad.err), 'bad flag says what is wrong and prints the usage');

  const { proc: server, port } = await startServer(a.server);
  let closedPort = 0;
  try {
    const bots = await run(a['bots-bin'], [
      '--url', `ws://127.0.0.1:${port}`, '--bots', '50', '--duration', '4', '--ramp', '1',
      '--behavior', 'wander', '--seed', '1', '--report', reportPath, '--html', htmlPath,
    ]);
    process.stdout.write(bots.out);
    process.stderr.write(bots.err);
    check(bots.code === 0, 'tickwire-bots exits 0', `exit ${bots.code}`);

    const r = JSON.parse(fs.readFileSync(reportPath, 'utf8'));
    const c = r.connections;
    check(r.reachable === true, 'report: server reachable');
    check(c.connected_max === 50 && c.ever_connected === 50, 'report: all 50 bots connected',
      `max ${c.connected_max}, ever ${c.ever_connected}`);
    check(c.failed === 0 && c.failures.length === 0, 'report: 0 failed', JSON.stringify(c.failures));
    check(c.disconnects === 0, 'report: no disconnects', JSON.stringify(c.disconnect_reasons));
    check(r.snapshots.bots_measured === 50 && r.snapshots.min_bot_pct >= 90,
      'report: every bot received >= 90% of its expected snapshots',
      `measured ${r.snapshots.bots_measured}, lowest ${r.snapshots.min_bot_pct}%`);
    check(r.corrections.total === 0, 'report: no corrections on a lossless link', `${r.corrections.total}`);
    check(r.rtt_ms.samples > 1000 && r.rtt_ms.p50 > 0 && r.rtt_ms.p99 >= r.rtt_ms.p50,
      'report: input->ack RTT measured', JSON.stringify(r.rtt_ms));
    check(r.server.tick_rate > 0 && r.snapshot_interval_ms.samples > 0, 'report: rates and snapshot intervals');
    check(r.entities.entities_per_snapshot > 1 && r.entities.bytes_per_entity > 0, 'report: bytes per entity',
      JSON.stringify(r.entities));
    check(r.bot_process.cpu_user_s + r.bot_process.cpu_sys_s > 0, 'report: the bots\' own CPU');
    check(r.series.t_s.length >= 4 && r.series.connected.at(-1) === 50, 'report: per-second series',
      JSON.stringify(r.series.connected));
    const sm = r.server_metrics;
    check(sm.available === true && sm.connections === 50 && sm.ticks > 0 && sm.snapshot_messages > 0,
      'report: the server\'s /metrics window', JSON.stringify(sm));
    const html = fs.readFileSync(htmlPath, 'utf8');
    check(/^<!doctype html>/.test(html) && (html.match(/<svg /g) || []).length >= 4 && !/<script/.test(html),
      'html: self-contained page with the SVG charts');

    const m = await get(port, '/metrics');
    check(m.status === 200, 'GET /metrics answers 200', `${m.status}`);
    const prom = parseProm(m.body);
    check(prom.bad.length === 0, 'GET /metrics is Prometheus text', prom.bad.slice(0, 3).join(' | '));
    check(prom.names.has('tickwire_connections'), 'GET /metrics has tickwire_connections');
  } finally {
    const code = await stopServer(server);
    check(code === 0, 'server stops cleanly', `exit ${code}`);
    closedPort = port;
  }

  // Nothing listens on the port any more: exit 1.
  const gone = await run(a['bots-bin'], ['--url', `ws://127.0.0.1:${closedPort}`, '--bots', '2', '--duration', '1']);
  check(gone.code === 1, 'unreachable server exits 1', `exit ${gone.code}: ${gone.err.trim()}`);

  if (failures) {
    console.log(`${failures} check(s) failed`);
    process.exit(1);
  }
  console.log('all checks passed');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
