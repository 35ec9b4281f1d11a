// Checks the deployment files against the server they deploy (ctest
// deploy_files). Docker, Kubernetes and hadolint are not on this machine,
// so each file is parsed (YAML with the `yaml` package) and held to what
// would break it in use:
//   Dockerfile          a bookworm build stage and a bookworm-slim runtime,
//                       a non-root USER, a HEALTHCHECK on /healthz, EXPOSE
//                       = --port; its runtime packages hold every shared
//                       library the built server links (ldd + dpkg -S)
//   docker-compose.yml  three game servers + a matchmaker + Redis: the
//                       Redis URL names the redis service, ids unique,
//                       --public-url's port = the published port, secrets
//                       declared, stop grace above --drain-timeout
//   agones/*.yaml       a Fleet whose port, probes and grace period match
//                       the server's flags; a FleetAutoscaler of that Fleet
// and every command line in them is given to the real tickwire-server with
// --help after it: the flags must exist and their values pass its checks.
//   node tests/deploy/check_deploy.mjs --server build/bin/tickwire-server
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const argi = process.argv.indexOf('--server');
const SERVER = path.resolve(argi > 0 ? process.argv[argi + 1] : path.join(root, 'build/bin/tickwire-server'));
const YAML = createRequire(path.join(root, 'tests/browser/package.json'))('yaml');

let failures = 0, passes = 0;
function check(ok, what, detail) {
  if (ok) { passes++; console.log(`ok   ${what}`); }
  else { failures++; console.log(`FAIL ${what}${detail ? ': ' + detail : ''}`); }
}
const flagValue = (args, flag) => { const i = args.indexOf(flag); return i >= 0 ? args[i + 1] : undefined; };

// The server's own flag checks: the command line, then --help (exit 0 when
// every flag before it is known and its value valid; 2 with the reason).
function serverAccepts(args, what) {
  const r = spawnSync(SERVER, [...args, '--help'], { encoding: 'utf8' });
  const why = (r.stderr || '').split('\n')[0];
  check(r.status === 0, `${what}: tickwire-server accepts ${args.join(' ')}`, why);
}

// ---- Dockerfile ----------------------------------------------------------------
{
  const text = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const froms = lines.filter((l) => /^FROM /i.test(l));
  check(froms.length === 2 && /^FROM debian:bookworm AS build$/i.test(froms[0]) && /^FROM debian:bookworm-slim$/i.test(froms[1]),
    'Dockerfile: a debian:bookworm build stage, then debian:bookworm-slim', froms.join(' | '));
  const runtime = lines.slice(lines.indexOf(froms[1]));
  const user = runtime.filter((l) => /^USER /i.test(l)).pop();
  check(user && !/^USER\s+(root|0)(:|$)/i.test(user), 'Dockerfile: runs as a non-root user', user);
  const hc = runtime.find((l) => /^HEALTHCHECK /i.test(l));
  const expose = runtime.find((l) => /^EXPOSE /i.test(l));
  const port = expose && expose.split(/\s+/)[1];
  check(hc && hc.includes(`http://127.0.0.1:${port}/healthz`), 'Dockerfile: HEALTHCHECK asks /healthz on the exposed port', hc);
  const entry = JSON.parse(runtime.find((l) => /^ENTRYPOINT /i.test(l)).replace(/^ENTRYPOINT\s+/i, ''));
  const cmd = JSON.parse(runtime.find((l) => /^CMD /i.test(l)).replace(/^CMD\s+/i, ''));
  check(flagValue(cmd, '--port') === port, 'Dockerfile: CMD --port is the EXPOSEd port', `${flagValue(cmd, '--port')} vs ${port}`);
  serverAccepts([...entry.slice(1), ...cmd], 'Dockerfile ENTRYPOINT + CMD');
  check(text.includes('scripts/setup.sh --server'), 'Dockerfile: the build stage uses the project setup (--server)');
  // Every shared library of the built server is in a runtime package.
  const install = runtime.find((l) => /apt-get install/.test(l)) || '';
  const pkgs = new Set(install.split(/\s+/).filter((w) => /^[a-z0-9][a-z0-9.+-]+$/.test(w)));
  const libs = execFileSync('ldd', [SERVER], { encoding: 'utf8' }).split('\n')
    .map((l) => (l.match(/=>\s+(\/\S+)/) || [])[1]).filter(Boolean);
  const missing = [];
  for (const lib of libs) {
    // dpkg knows a file by one of its names (merged /usr: /lib or /usr/lib)
    const real = fs.realpathSync(lib);
    const names = [lib, real, real.replace(/^\/usr\/lib\//, '/lib/'), lib.replace(/^\/lib\//, '/usr/lib/')];
    let owner = '';
    for (const n of names) {
      owner = spawnSync('dpkg', ['-S', n], { encoding: 'utf8' }).stdout.split(':')[0];
      if (owner) break;
    }
    if (!owner) { missing.push(`${lib} (no package)`); continue; }
    if (owner === 'libc6') continue; // in every Debian image
    if (!pkgs.has(owner)) missing.push(`${path.basename(lib)} from ${owner}`);
  }
  check(libs.length > 0 && missing.length === 0, `Dockerfile: the runtime packages hold the server's ${libs.length} shared libraries`,
    missing.join(', '));
  check(pkgs.has('curl'), 'Dockerfile: curl is installed for the HEALTHCHECK');
}

// ---- docker-compose.yml ----------------------------------------------------------
{
  const compose = YAML.parse(fs.readFileSync(path.join(root, 'deploy/docker-compose.yml'), 'utf8'), { merge: true });
  const sv = compose.services || {};
  const games = Object.keys(sv).filter((k) => /^game-\d+$/.test(k));
  check(games.length === 3 && sv.redis && sv.matchmaker, 'compose: redis, three game servers and a matchmaker', Object.keys(sv).join(' '));
  check(sv.redis && sv.redis.healthcheck, 'compose: redis has a health check');
  const ids = new Set();
  for (const g of games) {
    const s = sv[g], cmd = s.command || [];
    const redis = flagValue(cmd, '--redis') || '';
    check(/^redis:\/\/redis(:\d+)?(\/\d+)?$/.test(redis), `compose ${g}: --redis names the redis service`, redis);
    check(s.depends_on && s.depends_on.redis && s.depends_on.redis.condition === 'service_healthy',
      `compose ${g}: starts once redis is healthy`);
    const id = flagValue(cmd, '--process-id');
    check(id && !ids.has(id), `compose ${g}: a process id of its own`, id);
    ids.add(id);
    const [hostPort, ctrPort] = String((s.ports || [])[0] || '').split(':');
    check(ctrPort === flagValue(cmd, '--port'), `compose ${g}: publishes its --port`, `${s.ports} vs --port ${flagValue(cmd, '--port')}`);
    const pub = flagValue(cmd, '--public-url') || '';
    check(pub.endsWith(`:${hostPort}/`), `compose ${g}: --public-url is the published port`, pub);
    for (const sec of s.secrets || [])
      check(compose.secrets && compose.secrets[sec], `compose ${g}: secret ${sec} is declared`);
    for (const f of ['--token-secret-file', '--matchmaker-token-file'])
      check((flagValue(cmd, f) || '').startsWith('/run/secrets/'), `compose ${g}: ${f} is a mounted secret`);
    const grace = parseInt(String(s.stop_grace_period || '10s'), 10);
    const drain = parseInt(flagValue(cmd, '--drain-timeout') || '30', 10);
    check(grace > drain, `compose ${g}: stop_grace_period ${grace}s is above --drain-timeout ${drain}`);
    serverAccepts(cmd, `compose ${g}`);
  }
  const mm = sv.matchmaker || {};
  check((mm.entrypoint || []).includes('matchmaker'), 'compose matchmaker: runs `tickwire-server matchmaker`');
  serverAccepts([...(mm.entrypoint || []).slice(1), ...(mm.command || [])], 'compose matchmaker');
}

// ---- Agones ---------------------------------------------------------------------
{
  const fleet = YAML.parse(fs.readFileSync(path.join(root, 'deploy/agones/fleet.yaml'), 'utf8'));
  check(fleet.apiVersion === 'agones.dev/v1' && fleet.kind === 'Fleet', 'agones: a Fleet (agones.dev/v1)');
  const gs = fleet.spec.template.spec;
  const pod = gs.template.spec;
  const ctr = pod.containers[0];
  const port = flagValue(ctr.args, '--port');
  check(gs.ports.some((p) => String(p.containerPort) === port && p.protocol === 'TCP'), 'agones: the GameServer port is --port, TCP', port);
  check(ctr.livenessProbe.httpGet.path === '/healthz' && String(ctr.livenessProbe.httpGet.port) === port, 'agones: liveness probe on /healthz');
  check(ctr.readinessProbe.httpGet.path === '/readyz' && String(ctr.readinessProbe.httpGet.port) === port, 'agones: readiness probe on /readyz');
  check(gs.health && !gs.health.disabled, 'agones: SDK health checking on (the server pings every 2 s)');
  const drain = parseInt(flagValue(ctr.args, '--drain-timeout') || '30', 10);
  check(pod.terminationGracePeriodSeconds > drain, `agones: grace period ${pod.terminationGracePeriodSeconds}s above --drain-timeout ${drain}`);
  serverAccepts(ctr.args, 'agones Fleet');
  const fas = YAML.parse(fs.readFileSync(path.join(root, 'deploy/agones/fleetautoscaler.yaml'), 'utf8'));
  check(fas.kind === 'FleetAutoscaler' && fas.apiVersion === 'autoscaling.agones.dev/v1', 'agones: a FleetAutoscaler');
  check(fas.spec.fleetName === fleet.metadata.name, 'agones: the autoscaler scales this Fleet', fas.spec.fleetName);
  const b = fas.spec.policy.buffer;
  check(fas.spec.policy.type === 'Buffer' && b.minReplicas <= fleet.spec.replicas && b.bufferSize < b.maxReplicas,
    'agones: a buffer policy that fits the Fleet');
}

console.log(`${passes} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
