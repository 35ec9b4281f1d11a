#!/usr/bin/env node
// Unit checks of the page's reconnect policy (client-demo/netcode.js), no
// browser needed:
//  - backoffDelay: full jitter, uniform in [0, min(cap, base * 2^attempt));
//  - closeAction: every 1008 reason the server (server/net.c) and the token
//    checks (shared/token.c) can send is classified: token refusals stop
//    the page, "resume expired" makes it join afresh, the rest retry. The
//    reasons are read from the C sources, so a new or renamed one fails
//    here instead of silently looping or giving up in the browser.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const { BACKOFF, backoffDelay, closeAction, RESUME_EXPIRED } = await import(path.join(root, 'client-demo', 'netcode.js'));

let failed = false;
function check(cond, what, detail = '') {
  console.log(`[netcode-unit] ${cond ? 'ok  ' : 'FAIL'} ${what}${detail ? ` (${detail})` : ''}`);
  if (!cond) failed = true;
}

// --- backoff --------------------------------------------------------------
check(BACKOFF.baseMs === 250 && BACKOFF.capMs === 8000, 'backoff base 250 ms, cap 8 s');
const bound = (a) => Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** a);
let ok = true;
for (let a = 0; a < 40; a++) {
  if (backoffDelay(a, BACKOFF, () => 0) !== 0) ok = false;
  const top = backoffDelay(a, BACKOFF, () => 1 - 1e-12);
  if (!(top < bound(a) && top > bound(a) * 0.999)) ok = false;
}
check(ok, 'delay spans [0, min(cap, base * 2^attempt)) for attempts 0..39');
check(bound(0) === 250 && bound(1) === 500 && bound(5) === 8000 && bound(6) === 8000, 'bounds 250, 500 ... 8000 ms');
// Full jitter: the mean is half the bound, spread over the whole range.
for (const a of [0, 3, 8]) {
  const n = 20000;
  let sum = 0, lo = Infinity, hi = 0;
  for (let i = 0; i < n; i++) {
    const d = backoffDelay(a);
    sum += d; lo = Math.min(lo, d); hi = Math.max(hi, d);
  }
  const b = bound(a);
  check(Math.abs(sum / n - b / 2) < 0.03 * b && lo < 0.01 * b && hi > 0.99 * b && hi < b,
        `attempt ${a}: uniform over [0, ${b})`, `mean ${(sum / n).toFixed(1)}, min ${lo.toFixed(1)}, max ${hi.toFixed(1)}`);
}

// --- close reasons --------------------------------------------------------
const net = fs.readFileSync(path.join(root, 'server', 'net.c'), 'utf8');
const token = fs.readFileSync(path.join(root, 'shared', 'token.c'), 'utf8');
const authReasons = [...net.matchAll(/refuse_auth\(s, ss, "([^"]+)"\)/g)].map((m) => m[1]);
const tokenReasons = [...token.matchAll(/return "([^"]+)";/g)].map((m) => m[1]).filter((r) => r !== 'ok');
const policyReasons = [...net.matchAll(/close_why = "([^"]+)"/g), ...net.matchAll(/close_session\(\w+, \w+, "([^"]+)"\)/g)]
  .map((m) => m[1]);
check([...authReasons, ...policyReasons].includes(RESUME_EXPIRED), `server/net.c sends "${RESUME_EXPIRED}"`,
  [...authReasons, ...policyReasons].join(', '));
check(tokenReasons.length >= 3, 'shared/token.c reasons found', tokenReasons.join(', '));

// Expected action for each reason the server can close a join with.
const expect = {
  [RESUME_EXPIRED]: 'rejoin',
  'token valid for too long': 'refused',
  'token already used': 'refused',
  'too many joins, try again later': 'retry',
  'no valid join in time': 'retry',
  'resumed on another connection': 'replaced',
  'idle timeout': 'retry',
  'not reading snapshots': 'retry',
  'rate limit exceeded': 'retry',
  'server shutting down': 'retry',
  'server full': 'retry',
};
for (const r of tokenReasons) expect[r] = 'refused';
const seen = new Set([...authReasons, ...tokenReasons, ...policyReasons]);
for (const r of seen) {
  check(r in expect, `reason "${r}" is known to this test`);
  if (r in expect) check(closeAction(1008, r) === expect[r], `1008 "${r}" -> ${expect[r]}`, closeAction(1008, r));
}
check(closeAction(1006, '') === 'retry', '1006 (network drop) -> retry');
check(closeAction(1001, 'server shutting down') === 'retry', '1001 going away -> retry');
check(closeAction(1002, 'token already used') === 'retry', 'only 1008 refuses');

console.log(`[netcode-unit] ${failed ? 'FAILED' : 'PASS'}`);
process.exit(failed ? 1 : 0);
