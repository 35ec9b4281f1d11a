#!/usr/bin/env node
// Unit checks of the page's reconnect policy, no browser needed. The policy
// lives in shared/client.c (cl_close_action, cl_backoff_ms) and reaches the
// page through tickwire.wasm, the module the page loads; this test loads the
// same file (build/www/tickwire.wasm, or --wasm PATH) and checks that
// client-demo/netcode.js decides with it:
//  - every close code maps to the action docs/PROTOCOL.md section 11 gives
//    it, whatever the reason text says (the text is only shown);
//  - NetClient, after a close, stops (4001 refused, 4003 replaced), joins
//    afresh at once (4002) or retries with backoff (everything else), and
//    asked the wasm module each time;
//  - its own closes (a test drop, a message it cannot use) send
//    PROTO_CLOSE_CLIENT_DROP from the module, so the server holds the player;
//  - backoffDelay: full jitter, uniform in [0, min(8 s, 250 ms * 2^attempt));
//  - the match exports: game constants equal proto.h / sim.h, and before a
//    WELCOME there is no round, player, event or chat;
//  - Watch mode (protocol v6 spectators): ?watch= values; the spectate JOIN
//    the module writes, byte by byte (mode 1, the match id, no resume
//    token); a watching NetClient sends nothing (no INPUT, no CHAT: the
//    server would close it 4011) and never resumes; 4011 and 4012 are
//    retried with backoff (a new token each time).
//  - the HTTP fallback's framing (client-demo/httpfb.js, PROTOCOL.md 18.2):
//    the examples of 18.2 byte for byte; frames split at every possible
//    byte, fed one byte at a time and in random chunks come out whole and
//    in order; an unknown kind is passed on (the caller ignores it); a cut
//    frame stays pending; a CLOSE frame answering POST /tw/session (fetch
//    faked) gets NetClient's WebSocket close handling (4001, 4002, 4008).
// Runs on node 18 (client-demo/package.json marks netcode.js as a module).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const argv = process.argv.slice(2);
const wasmPath = argv[0] === '--wasm' && argv[1] ? argv[1] : path.join(root, 'build', 'www', 'tickwire.wasm');
const { CLOSE_ACTIONS, NetClient, WATCH_ANY, backoffDelay, closeAction, parseWatch } = await import(path.join(root, 'client-demo', 'netcode.js'));

let failed = false;
function check(cond, what, detail = '') {
  console.log(`[netcode-unit] ${cond ? 'ok  ' : 'FAIL'} ${what}${detail ? ` (${detail})` : ''}`);
  if (!cond) failed = true;
}

if (!fs.existsSync(wasmPath)) {
  console.log(`[netcode-unit] FAIL no wasm module at ${wasmPath} (build it: cmake --build build)`);
  process.exit(1);
}
const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasmPath), {});

// The module's exports, each function counting its calls, so the checks
// below can tell the page asked the module rather than deciding itself.
const calls = {};
function counted() {
  const w = {};
  for (const [k, v] of Object.entries(instance.exports)) {
    w[k] = typeof v === 'function' ? (...a) => { calls[k] = (calls[k] || 0) + 1; return v(...a); } : v;
  }
  return w;
}
const w = counted();

// --- close codes -----------------------------------------------------------
// docs/PROTOCOL.md section 11, "what a client does".
const expect = {
  1000: 'retry', 1001: 'retry', 1002: 'retry', 1003: 'retry', 1005: 'retry', 1006: 'retry',
  1008: 'retry', 1009: 'retry', 1011: 'retry',
  4000: 'retry', 4001: 'refused', 4002: 'rejoin', 4003: 'replaced', 4004: 'retry', 4005: 'retry',
  4006: 'retry', 4007: 'retry', 4008: 'retry', 4009: 'retry', 4011: 'retry', 4012: 'retry', 4999: 'retry', 3000: 'retry', 0: 'retry',
};
check(CLOSE_ACTIONS.join() === 'retry,rejoin,refused,replaced', 'CLOSE_ACTIONS in cl_close_act order', CLOSE_ACTIONS.join());
for (const [code, want] of Object.entries(expect)) {
  const before = calls.tw_close_action || 0;
  const got = closeAction(w, Number(code));
  check(got === want && calls.tw_close_action === before + 1, `close ${code} -> ${want}`, got);
}

// NetClient after a close: the reason text is deliberately misleading
// (v2's texts on the wrong codes); only the code may matter.
function clientAfterClose(code, reason) {
  const nc = new NetClient(w);
  const retries = [];
  nc.scheduleRetry = (delay) => { retries.push(delay); };
  nc.url = 'ws://127.0.0.1:1/';
  nc.setState('reconnecting', '');
  const before = calls.tw_close_action || 0;
  nc.socketClosed(code, reason);
  return { nc, retries, asked: (calls.tw_close_action || 0) - before };
}
const cases = [
  [4001, 'resume expired', 'closed', null],
  [4003, 'token already used', 'closed', null],
  [4002, 'invalid token signature', 'retrying', 0],
  [1008, 'token already used', 'retrying', 'backoff'],
  [1008, 'resumed on another connection', 'retrying', 'backoff'],
  [1008, 'resume expired', 'retrying', 'backoff'],
  [4004, 'rate limit exceeded', 'retrying', 'backoff'],
  [4005, 'idle timeout', 'retrying', 'backoff'],
  [4006, 'no valid join in time', 'retrying', 'backoff'],
  [4007, 'not reading snapshots', 'retrying', 'backoff'],
  [4008, 'server full', 'retrying', 'backoff'],
  [1001, 'server shutting down', 'retrying', 'backoff'],
  [1006, '', 'retrying', 'backoff'],
];
for (const [code, reason, wantState, wantRetry] of cases) {
  const { nc, retries, asked } = clientAfterClose(code, reason);
  const retryOk = wantRetry === null ? retries.length === 0
    : wantRetry === 0 ? retries.length === 1 && retries[0] === 0
      : retries.length === 1 && retries[0] >= 0 && retries[0] < 250;
  const stateOk = wantState === 'closed' ? nc.state === 'closed' : /^(re)?connecting$/.test(nc.state);
  check(stateOk && retryOk && asked === 1 && nc.closeCode === code,
    `NetClient: close ${code} "${reason}" -> ${wantState}${wantRetry === null ? ', no retry' : wantRetry === 0 ? ', rejoin now' : ', retry with backoff'}`,
    `${nc.state} (${nc.closeInfo}), retries [${retries}], asked the module ${asked}x`);
}
{
  const { nc } = clientAfterClose(4001, 'token already used');
  check(/^join refused: token already used$/.test(nc.closeInfo), 'refusal shows the reason text', nc.closeInfo);
  const r = clientAfterClose(4003, '');
  check(/another connection/.test(r.nc.closeInfo), 'replaced says so', r.nc.closeInfo);
}

// The page's own closes carry PROTO_CLOSE_CLIENT_DROP (not a leave).
{
  const nc = new NetClient(w);
  nc.scheduleRetry = () => {};
  nc.url = 'ws://127.0.0.1:1/';
  const sent = [];
  const fakeSocket = () => ({ close: (code, reason) => sent.push([code, reason]) });
  nc.ws = fakeSocket();
  const asked = calls.tw_close_client_drop || 0;
  nc.simulateDrop({ mode: 'close' });
  nc.ws = fakeSocket();
  const orig = console.error;
  console.error = () => {};
  nc.fail('protocol error: test');
  console.error = orig;
  check(sent.length === 2 && sent.every(([c]) => c === 4000) && calls.tw_close_client_drop === asked + 2,
    'test drop and protocol failure close with 4000 from the module', JSON.stringify(sent));
}

// --- match exports: the game constants come from the C headers, and before
// a WELCOME there is nothing to show or send --------------------------------
{
  const header = (file, name) => Number((fs.readFileSync(path.join(root, 'shared', file), 'utf8')
    .match(new RegExp(`#define ${name} (\\d+)`)) || [])[1]);
  const nc = new NetClient(w);
  check(nc.maxChatChars === header('proto.h', 'PROTO_MAX_CHAT_CHARS') && nc.maxChatBytes === header('proto.h', 'PROTO_MAX_CHAT_BYTES')
        && nc.maxHealth === header('sim.h', 'SIM_MAX_HEALTH') && nc.respawnMs === header('sim.h', 'SIM_RESPAWN_MS')
        && nc.fireIntervalMs === header('sim.h', 'SIM_FIRE_INTERVAL_MS'),
  'chat limits, health, respawn and fire interval from the module match proto.h / sim.h',
  `${nc.maxChatChars} chars / ${nc.maxChatBytes} bytes, ${nc.maxHealth} hp, ${nc.respawnMs} ms, ${nc.fireIntervalMs} ms`);
  check(w.tw_write_chat(2) === 0 && w.tw_next_event() === 0 && w.tw_match(7) === 0 && w.tw_player_stat(0, 6) === 0
        && w.tw_shots(4) === -1 && w.tw_respawn_left_ms() === 0,
  'before a WELCOME: no chat written, no event, no round, no players, no shot');
  check(nc.sendChat('hello') === 'not connected' && nc.match() === null && nc.playerStats(0) === null
        && nc.takeEvents().length === 0, 'NetClient before joining: chat refused, nothing to show');
}

// --- Watch mode ------------------------------------------------------------
{
  const want = [['any', WATCH_ANY], ['', WATCH_ANY], ['ANY', WATCH_ANY], ['0', 0], ['7', 7], ['65534', 65534],
    ['65535', null], ['-1', null], ['1e3', null], ['abc', null], ['3 4', null], [null, null]];
  const bad = want.filter(([v, id]) => parseWatch(v) !== id).map(([v, id]) => `${v} -> ${parseWatch(v)}, want ${id}`);
  check(WATCH_ANY === 0xffff && bad.length === 0, '?watch=: "any" (or empty) is 0xFFFF, a match id 0..65534, else null (play)',
    bad.join('; '));

  // The JOIN a spectator sends: docs/PROTOCOL.md 5.1 (v6), type, version,
  // token, resume_len 0, mode 1, match_id u16 LE.
  const version = Number((fs.readFileSync(path.join(root, 'shared', 'proto.h'), 'utf8')
    .match(/#define PROTO_VERSION (\d+)/) || [])[1]);
  const mem = () => new Uint8Array(w.memory.buffer);
  const token = 'Ab-_9';
  const joinBytes = (matchId, tokenLen = token.length) => {
    w.tw_init();
    w.tw_set_spectate(matchId);
    mem().set(new TextEncoder().encode(token), w.tw_in_buf());
    const n = w.tw_write_join(tokenLen);
    return [...mem().subarray(w.tw_out_buf(), w.tw_out_buf() + n)];
  };
  const hex = (b) => b.map((x) => x.toString(16).padStart(2, '0')).join(' ');
  const tok = [...new TextEncoder().encode(token)];
  const any = joinBytes(WATCH_ANY), m7 = joinBytes(0x0107);
  check(version >= 6 && hex(any) === hex([0x01, version, 5, ...tok, 0, 1, 0xff, 0xff]),
    'spectate JOIN for any match: 01 ver 05 "Ab-_9" 00 01 ff ff', hex(any));
  check(hex(m7) === hex([0x01, version, 5, ...tok, 0, 1, 0x07, 0x01]), 'spectate JOIN for match 0x0107: ... 00 01 07 01', hex(m7));
  w.tw_init();
  mem().set(new TextEncoder().encode(token), w.tw_in_buf());
  const play = w.tw_write_join(token.length);
  const pb = [...mem().subarray(w.tw_out_buf(), w.tw_out_buf() + play)];
  check(hex(pb) === hex([0x01, version, 5, ...tok, 0, 0]), 'a player\'s JOIN ends with mode 0', hex(pb));
  check(joinBytes(WATCH_ANY, 0).length === 0, 'no spectate JOIN without a token (nothing to resume)');
  check(w.tw_match_any() === WATCH_ANY, 'WATCH_ANY is the module\'s PROTO_MATCH_ANY', `${w.tw_match_any()}`);
  const header = fs.readFileSync(path.join(root, 'shared', 'proto.h'), 'utf8');
  const code = (name) => Number((header.match(new RegExp(`${name} = (\\d+)`)) || [])[1]);
  const ncc = new NetClient(w);
  check(ncc.closeNoSuchMatch === code('PROTO_CLOSE_NO_SUCH_MATCH') && ncc.closeSpectatorInput === code('PROTO_CLOSE_SPECTATOR_INPUT')
        && ncc.closeNoSuchMatch === 4012 && ncc.closeSpectatorInput === 4011,
        'the spectator close codes come from the module (proto.h)', `${ncc.closeNoSuchMatch}, ${ncc.closeSpectatorInput}`);
  w.tw_init();

  // A watching NetClient, joined: its fixed-step loop sends nothing.
  const nc = new NetClient(w);
  const sent = [];
  nc.send = (n) => sent.push(n);
  nc.watch = WATCH_ANY;
  nc.setState('joined', '');
  const pushes = calls.tw_push_input || 0, writes = calls.tw_write_input || 0;
  for (let t = 0; t <= 2000; t += 16) nc.update(t);
  check((calls.tw_push_input || 0) === pushes && (calls.tw_write_input || 0) === writes && sent.length === 0,
    'watching: two seconds of frames push and send no INPUT', `${sent.length} messages`);
  nc.spectator = true;
  check(nc.sendChat('hello') !== '' && sent.length === 0, 'watching: chat is not sent', nc.sendChat('hello'));
  check(!nc.hasPlayer, 'watching: never a player to resume');

  // Closes a spectator may get: retried with backoff; after a WELCOME the
  // page says reconnecting, before one connecting.
  for (const [code, reason, welcomed] of [[4011, 'spectators send no input', true], [4012, 'no such match', false],
    [4012, 'no such match', true], [1006, '', true]]) {
    const c = new NetClient(w);
    const retries = [];
    c.scheduleRetry = (delay) => { retries.push(delay); };
    c.url = 'ws://127.0.0.1:1/';
    c.watch = 3;
    if (welcomed) c.welcome = { playerId: 0xffff, matchId: 3, spectator: true };
    c.setState(welcomed ? 'joined' : 'joining', '');
    c.socketClosed(code, reason);
    const wantState = welcomed ? 'reconnecting' : 'connecting';
    check(c.state === wantState && retries.length === 1 && retries[0] >= 0 && retries[0] < 250 && c.closeCode === code,
      `watching: close ${code}${welcomed ? ' after a WELCOME' : ''} -> ${wantState}, retry with backoff`,
      `${c.state} (${c.closeInfo}), retries [${retries}]`);
  }
}

// --- backoff ---------------------------------------------------------------
const bound = (a) => Math.min(8000, 250 * 2 ** a);
let ok = true;
const before = calls.tw_backoff_ms || 0;
for (let a = 0; a < 40; a++) {
  if (backoffDelay(w, a, () => 0) !== 0) ok = false;
  if (backoffDelay(w, a, () => 1 - 1e-12) !== bound(a) - 1) ok = false;
  if (backoffDelay(w, a, () => 0.5) !== bound(a) / 2) ok = false;
}
check(ok && calls.tw_backoff_ms === before + 120, 'delay spans [0, min(cap, base * 2^attempt)) for attempts 0..39, from the module');
check(bound(0) === 250 && bound(1) === 500 && bound(5) === 8000 && bound(6) === 8000, 'bounds 250, 500 ... 8000 ms');
// Full jitter: the mean is half the bound, spread over the whole range.
for (const a of [0, 3, 8]) {
  const n = 20000;
  let sum = 0, lo = Infinity, hi = 0;
  for (let i = 0; i < n; i++) {
    const d = backoffDelay(w, a);
    sum += d; lo = Math.min(lo, d); hi = Math.max(hi, d);
  }
  const b = bound(a);
  check(Math.abs(sum / n - b / 2) < 0.03 * b && lo < 0.01 * b && hi > 0.99 * b && hi < b,
        `attempt ${a}: uniform over [0, ${b})`, `mean ${(sum / n).toFixed(1)}, min ${lo}, max ${hi}`);
}

// --- the HTTP fallback's frames ---------------------------------------------
{
  const { FrameReader, encodeFrame, closeFrame, parseClose, concatBytes, FRAME } =
    await import(path.join(root, 'client-demo', 'httpfb.js'));
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
  check(hex(closeFrame(4001, 'token expired')) === '02 0f 00 a1 0f 74 6f 6b 65 6e 20 65 78 70 69 72 65 64',
    'CLOSE 4001 "token expired" as in 18.2');
  check(hex(encodeFrame(FRAME.HELLO, new Uint8Array([6]))) === '00 01 00 06', 'HELLO of version 6 as in 18.2');
  const snap = new Uint8Array(13); snap[0] = 0x82;
  check(hex(encodeFrame(FRAME.MESSAGE, snap).subarray(0, 4)) === '01 0d 00 82', 'a 13-byte SNAPSHOT as in 18.2');
  const pc = parseClose(closeFrame(4002, 'resume expired').subarray(3));
  check(pc.code === 4002 && pc.reason === 'resume expired', 'parseClose', JSON.stringify(pc));
  // A stream: HELLO, messages of 0, 1, 300 and 65535 bytes, a KEEPALIVE,
  // an unknown kind 0x09, a CLOSE.
  const msgs = [0, 1, 300, 65535].map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff));
  const frames = [encodeFrame(FRAME.HELLO, new Uint8Array([6])), ...msgs.map((m) => encodeFrame(FRAME.MESSAGE, m)),
    encodeFrame(FRAME.KEEPALIVE), encodeFrame(9, new Uint8Array([1, 2])), closeFrame(1000, 'bye')];
  const stream = concatBytes(frames);
  const want = frames.map((f) => `${f[0]}:${hex(f.subarray(3, 40))}:${f.length - 3}`).join('|');
  const run = (chunks) => {
    const got = [];
    const fr = new FrameReader((k, p) => got.push(`${k}:${hex(p.subarray(0, 37))}:${p.length}`));
    for (const c of chunks) fr.feed(c);
    return got.join('|') === want && fr.pending === 0;
  };
  let splitOk = true;
  for (let i = 0; i <= 400; i++) if (!run([stream.subarray(0, i), stream.subarray(i)])) splitOk = false;
  check(splitOk, 'frames split at each of the first 400 bytes come out whole and in order');
  const small = concatBytes([frames[0], frames[1], frames[2], frames[3], frames[5], frames[6], frames[7]]);
  const wantSmall = [0, 1, 2, 3, 5, 6, 7].map((i) => frames[i]);
  const got1 = [];
  const fr1 = new FrameReader((k, p) => got1.push(concatBytes([new Uint8Array([k, p.length & 0xff, p.length >> 8]), p])));
  for (let i = 0; i < small.length; i++) fr1.feed(small.subarray(i, i + 1));
  check(got1.length === wantSmall.length && got1.every((f, i) => hex(f) === hex(wantSmall[i])),
    'fed one byte at a time: the same frames, an unknown kind passed on');
  let randOk = true;
  for (let t = 0; t < 200; t++) {
    const chunks = [];
    for (let o = 0; o < stream.length;) { const n = 1 + Math.floor(Math.random() * 9000); chunks.push(stream.subarray(o, o + n)); o += n; }
    if (!run(chunks)) randOk = false;
  }
  check(randOk, '200 random chunkings of a 66 KB stream: the same frames');
  const cut = new FrameReader(() => {});
  cut.feed(stream.subarray(0, 10));
  check(cut.pending === 10 - 4 - 3, 'a frame cut short stays pending (the stream ended inside it)', `${cut.pending}`);
}

// --- the HTTP fallback's closes: the WebSocket path's handling -------------
// A CLOSE frame in the answer to POST /tw/session (the JOIN refused at
// once) reaches NetClient as the same close code, with fetch() faked here:
// 4001 stops (no retry), 4002 joins afresh at once, 4008 retries with
// backoff; the JOIN went up as the POST's body and the session's
// credential is the join token.
{
  const { closeFrame } = await import(path.join(root, 'client-demo', 'httpfb.js'));
  globalThis.location ??= { href: 'http://127.0.0.1:1/' };
  globalThis.WebSocket ??= { OPEN: 1 };
  const realFetch = globalThis.fetch;
  for (const [code, want] of [[4001, 'closed'], [4002, 'rejoin'], [4008, 'backoff']]) {
    const seen = [];
    globalThis.fetch = async (url, opts = {}) => {
      const u = new URL(url);
      seen.push({ what: `${opts.method || 'GET'} ${u.pathname}${u.search}`, body: opts.body });
      if (u.pathname === '/tw/session') return new Response(closeFrame(code, 'test close'), { status: 200 });
      throw new Error(`unexpected ${u.pathname}`);
    };
    const nc = new NetClient(w);
    const retries = [];
    nc.scheduleRetry = (d) => retries.push(d);
    nc.transportPref = 'http';
    nc.httpMode = 'stream';
    nc.fetchToken = async () => ({ value: 'tok-abc', expiresAt: Infinity });
    nc.connect('ws://127.0.0.1:1/', 'unit');
    for (let i = 0; i < 100 && nc.closeCode !== code; i++) await new Promise((r) => setTimeout(r, 5));
    const join = seen[0] && seen[0].body;
    const stateOk = want === 'closed' ? nc.state === 'closed' && retries.length === 0
      : want === 'rejoin' ? retries.length === 1 && retries[0] === 0 : retries.length === 1 && retries[0] < 500;
    check(nc.closeCode === code && stateOk && seen.length === 1 && seen[0].what === 'POST /tw/session?fallback=config'
      && join instanceof Uint8Array && join[0] === 0x01 && nc.transport === 'http_stream',
      `HTTP: a CLOSE ${code} answering POST /tw/session -> ${want}`,
      `${nc.state} (${nc.closeInfo}), retries [${retries}], ${seen.map((x) => x.what).join(', ')}`);
  }
  globalThis.fetch = realFetch;
}

console.log(`[netcode-unit] ${failed ? 'FAILED' : 'PASS'}`);
process.exit(failed ? 1 : 0);
