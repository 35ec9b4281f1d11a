// httpfb.js: the HTTP fallback transport of the page (docs/PROTOCOL.md
// section 18), for when the WebSocket upgrade cannot get through (a
// corporate proxy, an antivirus product, an old middlebox).
//
// It only moves bytes. HttpConn looks like a WebSocket to netcode.js
// (readyState, send, close, onopen/onmessage/onclose), so the very same
// messages go through the very same wasm client: the first send() is the
// JOIN (the body of POST /tw/session), the server's messages arrive as
// onmessage events from the frames of GET /tw/stream (a fetch() stream,
// reassembled across chunk boundaries) or of GET /tw/poll, and a CLOSE
// frame becomes onclose with the WebSocket close code and reason, so the
// close-code handling is the WebSocket path's. Inputs go up in POST
// /tw/input, built by netcode.js once per animation frame (each carrying
// every unacknowledged input), at most one in flight.

export const FRAME = { HELLO: 0x00, MESSAGE: 0x01, CLOSE: 0x02, KEEPALIVE: 0x03, SESSION: 0x04 };
export const FRAME_HEADER = 3;
export const WELCOME_DEADLINE_MS = 3000;   // HTTPFB_WELCOME_DEADLINE_MS: no WELCOME on a WebSocket: fall back
export const HELLO_DEADLINE_MS = 2000;     // HTTPFB_HELLO_DEADLINE_MS: probe's HELLO later than this: poll mode
export const MAX_INPUT_BODY = 1024;        // HTTPFB_MAX_INPUT_BODY
export const MAX_INPUT_FRAMES = 16;        // HTTPFB_MAX_INPUT_FRAMES
// A stream that delivered its HELLO and then nothing for this long while
// the POSTs are answered is being buffered on the way (section 18.4).
export const STREAM_STALL_MS = 2000;

// How each transport is named in the panel and the metrics.
export const TRANSPORT_LABEL = { ws: 'WebSocket', http_stream: 'HTTP stream', http_poll: 'HTTP poll' };

const utf8 = new TextDecoder('utf-8');

// kind u8 | length u16 LE | payload
export function encodeFrame(kind, payload = new Uint8Array(0)) {
  const f = new Uint8Array(FRAME_HEADER + payload.length);
  f[0] = kind;
  f[1] = payload.length & 0xff;
  f[2] = payload.length >> 8;
  f.set(payload, FRAME_HEADER);
  return f;
}

export function closeFrame(code, reason = '') {
  const r = new TextEncoder().encode(reason).slice(0, 123);
  const p = new Uint8Array(2 + r.length);
  p[0] = code & 0xff;
  p[1] = code >> 8;
  p.set(r, 2);
  return encodeFrame(FRAME.CLOSE, p);
}

export function concatBytes(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

// A CLOSE frame's payload: { code, reason } (1005 when it has no code).
export function parseClose(p) {
  if (p.length < 2) return { code: 1005, reason: '' };
  return { code: p[0] | (p[1] << 8), reason: utf8.decode(p.subarray(2)) };
}

// Reassembles frames from reads of any size: a frame may be split over
// several chunks, and a chunk may hold several frames (a proxy may
// re-chunk). onFrame(kind, payload) for each whole frame, in order; the
// payload is a copy the callee may keep.
export class FrameReader {
  constructor(onFrame) {
    this.onFrame = onFrame;
    this.buf = new Uint8Array(0);
    this.frames = 0;
  }

  feed(chunk) {
    let data = chunk;
    if (this.buf.length) data = concatBytes([this.buf, chunk]);
    let o = 0;
    while (data.length - o >= FRAME_HEADER) {
      const len = data[o + 1] | (data[o + 2] << 8);
      if (data.length - o < FRAME_HEADER + len) break;
      const kind = data[o];
      const payload = data.slice(o + FRAME_HEADER, o + FRAME_HEADER + len);
      o += FRAME_HEADER + len;
      this.frames++;
      this.onFrame(kind, payload);
    }
    this.buf = o === data.length ? new Uint8Array(0) : data.slice(o);
  }

  // Bytes of a frame not yet whole (a stream that ends here was cut).
  get pending() { return this.buf.length; }
}

// A short description of a failed fetch or an HTTP refusal (18.5: its
// body is one line of text saying what was wrong).
async function refusalText(res) {
  let text = '';
  try { text = (await res.text()).trim().split('\n')[0].slice(0, 80); } catch (err) { /* none */ }
  return `HTTP ${res.status}${text ? ` ${text}` : ''}`;
}

// GET /tw/probe (section 18.4): does a streamed response get through
// unbuffered? Resolves { mode: 'stream' | 'poll', ms, why } once the
// HELLO frame arrives (stream) or HELLO_DEADLINE_MS have passed without it
// (poll). Rejects when the fallback is not there at all (a network error,
// a 404 from a server without it): then neither mode can work.
export async function probe(base, deadlineMs = HELLO_DEADLINE_MS) {
  const ctl = new AbortController();
  const t0 = performance.now();
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; ctl.abort(); }, deadlineMs);
  try {
    let res;
    try {
      res = await fetch(new URL('/tw/probe', base), { cache: 'no-store', signal: ctl.signal });
    } catch (err) {
      if (timedOut) {
        return { mode: 'poll', ms: performance.now() - t0,
                 why: `streaming is buffered on the way (no probe answer in ${deadlineMs / 1000} s)` };
      }
      throw new Error(`GET /tw/probe failed: ${err.message || err}`);
    }
    if (res.status !== 200) throw new Error(`GET /tw/probe: ${await refusalText(res)}`);
    if (!res.body) return { mode: 'poll', ms: performance.now() - t0, why: 'no response streams here' };
    const reader = res.body.getReader();
    let hello = false;
    const fr = new FrameReader((kind) => { if (kind === FRAME.HELLO) hello = true; });
    try {
      while (!hello) {
        const { value, done } = await reader.read();
        if (done) break;
        fr.feed(value);
      }
    } catch (err) {
      if (!timedOut) throw new Error(`GET /tw/probe failed: ${err.message || err}`);
    }
    const ms = performance.now() - t0;
    if (hello && !timedOut) return { mode: 'stream', ms, why: '' };
    return { mode: 'poll', ms, why: `streaming is buffered on the way (no HELLO in ${deadlineMs / 1000} s)` };
  } finally {
    clearTimeout(timer);
    ctl.abort();        // either way the probe is done with
  }
}

// One HTTP fallback session, looking like a WebSocket to netcode.js.
//   base        the server's http(s) URL
//   mode        'stream' or 'poll' (from the probe)
//   credential  the join token of the JOIN, or the resume token in hex
//   fallback    why the page is on HTTP: 'upgrade' | 'welcome' | 'config'
export class HttpConn {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;

  constructor({ base, mode, credential, fallback }) {
    this.isHttp = true;
    this.base = base;
    this.mode = mode;
    this.transport = mode === 'poll' ? 'http_poll' : 'http_stream';
    this.credential = credential;
    this.fallback = fallback;
    this.readyState = HttpConn.CONNECTING;
    this.onopen = null;
    this.onmessage = null;
    this.onclose = null;
    this.onerror = null;
    this.onstall = null;          // the stream looks buffered (netcode switches to poll mode)
    this.sid = '';
    this.ctl = new AbortController();   // aborts the stream / the poll in flight
    this.queue = [];              // MESSAGE frames (CHAT) waiting for the next POST
    this.busy = false;            // a POST /tw/input built (maybe in the delay line) or in flight
    this.delivered = 0;           // the newest input seq of a POST answered 204 (the server has it)
    this.closed = false;
    this.gotClose = null;         // the server's CLOSE frame
    this.lastFrameAt = 0;
    this.helloAt = 0;
    this.postsAnsweredAt = 0;     // the newest 204
    this.counts = { posts: 0, posted204: 0, refused: 0, failed: 0, polls: 0, frames: 0, keepalives: 0 };
    this.lastRefusal = '';
    this.holdPostsUntil = 0;      // after a 429: Retry-After
    setTimeout(() => {
      if (this.closed) return;
      this.readyState = HttpConn.OPEN;
      if (this.onopen) this.onopen();
    }, 0);
  }

  headers(extra = {}) {
    return { Authorization: `Bearer ${this.credential}`, ...extra };
  }

  url(path) {
    const u = new URL(path, this.base);
    if (this.sid) u.searchParams.set('sid', this.sid);
    return u;
  }

  // The first message is the JOIN (POST /tw/session); the others (a CHAT)
  // ride in the next POST /tw/input.
  send(bytes) {
    if (this.closed) return;
    if (!this.started) {
      this.started = true;
      this.openSession(bytes);
      return;
    }
    this.queue.push(encodeFrame(FRAME.MESSAGE, bytes));
    if (!this.busy && this.sid) this.postFrames(new Uint8Array(0));
  }

  // netcode.js may build a POST now.
  get canPost() {
    return this.readyState === HttpConn.OPEN && this.sid !== '' && !this.busy && !this.closed && !this.dead
      && performance.now() >= this.holdPostsUntil;
  }

  // Called when netcode.js builds a POST (which may then wait in its delay
  // line): no second one is built until this one is answered.
  reserve() { this.busy = true; }

  // POST /tw/input with frames (the INPUT messages, up to seq lastSeq)
  // plus the queued CHATs.
  async postFrames(frames, lastSeq = 0) {
    if (this.closed || this.dead || !this.sid) { this.busy = false; return; }
    const body = this.queue.length ? concatBytes([...this.queue.splice(0), frames]) : frames;
    if (!body.length) { this.busy = false; return; }
    this.busy = true;
    this.counts.posts++;
    let res;
    try {
      res = await fetch(this.url('/tw/input'), {
        method: 'POST', cache: 'no-store', headers: this.headers({ 'Content-Type': 'application/octet-stream' }), body,
      });
    } catch (err) {
      // Lost: the next POST carries every unacknowledged input again.
      this.counts.failed++;
      this.lastRefusal = `POST /tw/input failed: ${err.message || err}`;
      this.busy = false;
      return;
    }
    if (res.status === 204) {
      this.counts.posted204++;
      if (lastSeq > this.delivered) this.delivered = lastSeq;
      this.postsAnsweredAt = performance.now();
    } else {
      this.counts.refused++;
      this.lastRefusal = `POST /tw/input: ${await refusalText(res)}`;
      console.warn('tickwire:', this.lastRefusal);
      if (res.status === 429) {
        const ra = Number(res.headers.get('Retry-After')) || 1;
        this.holdPostsUntil = performance.now() + 1000 * Math.min(ra, 5);
      }
      // 403/404: the session is gone; its stream (or poll) says why.
      if (res.status === 403 || res.status === 404) this.dead = true;
    }
    this.busy = false;
  }

  async openSession(join) {
    let res;
    try {
      res = await fetch(new URL(`/tw/session?fallback=${this.fallback || 'other'}`, this.base), {
        method: 'POST', cache: 'no-store', headers: { 'Content-Type': 'application/octet-stream' }, body: join,
        signal: this.ctl.signal,
      });
    } catch (err) {
      this.finish(1006, `POST /tw/session failed: ${err.message || err}`);
      return;
    }
    if (res.status !== 200) {
      this.finish(1006, `POST /tw/session: ${await refusalText(res)}`, res.status);
      return;
    }
    let frames;
    try {
      frames = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      this.finish(1006, `POST /tw/session: ${err.message || err}`);
      return;
    }
    let sid = '';
    let close = null;
    new FrameReader((kind, p) => {
      if (kind === FRAME.SESSION && p.length === 16) sid = Array.from(p, (b) => b.toString(16).padStart(2, '0')).join('');
      else if (kind === FRAME.CLOSE) close = parseClose(p);
    }).feed(frames);
    if (close) {
      // Refused at once (a bad token, a resume too late, the server full):
      // exactly a WebSocket close with that code.
      this.finish(close.code, close.reason);
      return;
    }
    if (!sid) {
      this.finish(1006, 'POST /tw/session: no session id in the answer');
      return;
    }
    if (this.closed) return;
    this.sid = sid;
    if (this.mode === 'poll') this.pollLoop();
    else this.streamLoop();
  }

  // One frame from the server (stream or poll).
  frame(kind, p) {
    if (this.closed) return;
    this.lastFrameAt = performance.now();
    this.counts.frames++;
    switch (kind) {
      case FRAME.HELLO:
        this.helloAt = this.lastFrameAt;
        break;
      case FRAME.MESSAGE:
        if (this.onmessage) this.onmessage({ data: p.buffer.byteLength === p.length ? p.buffer : p.slice().buffer });
        break;
      case FRAME.CLOSE:
        this.gotClose = parseClose(p);
        break;
      case FRAME.KEEPALIVE:
        this.counts.keepalives++;
        break;
      default:
        break;              // a kind from a newer server: ignored
    }
  }

  async streamLoop() {
    let res;
    try {
      res = await fetch(this.url('/tw/stream'), { cache: 'no-store', headers: this.headers(), signal: this.ctl.signal });
    } catch (err) {
      this.finish(1006, `GET /tw/stream failed: ${err.message || err}`);
      return;
    }
    if (res.status !== 200 || !res.body) {
      this.finish(1006, `GET /tw/stream: ${res.body ? await refusalText(res) : 'no response stream'}`, res.status);
      return;
    }
    const reader = res.body.getReader();
    const fr = new FrameReader((kind, p) => this.frame(kind, p));
    this.watchStall();
    try {
      while (!this.closed && !this.gotClose) {
        const { value, done } = await reader.read();
        if (done) break;
        fr.feed(value);
      }
    } catch (err) {
      if (!this.gotClose) { this.finish(1006, `stream cut: ${err.message || err}`); return; }
    } finally {
      clearInterval(this.stallTimer);
    }
    if (this.gotClose) this.finish(this.gotClose.code, this.gotClose.reason);
    else this.finish(1006, 'the stream ended without a close frame');
  }

  // Section 18.4: a stream that delivered its HELLO, then nothing for
  // STREAM_STALL_MS while the POSTs are answered, is being buffered.
  watchStall() {
    this.stallTimer = setInterval(() => {
      if (this.closed || !this.helloAt) return;
      const now = performance.now();
      if (now - this.lastFrameAt > STREAM_STALL_MS && this.postsAnsweredAt > this.lastFrameAt) {
        clearInterval(this.stallTimer);
        if (this.onstall) this.onstall();
        this.abort();
        this.finish(1006, `the stream stalled ${STREAM_STALL_MS / 1000} s (buffered on the way?)`);
      }
    }, 250);
  }

  async pollLoop() {
    const fr = new FrameReader((kind, p) => this.frame(kind, p));
    while (!this.closed && !this.gotClose) {
      let res;
      this.counts.polls++;
      try {
        res = await fetch(this.url('/tw/poll'), { cache: 'no-store', headers: this.headers(), signal: this.ctl.signal });
      } catch (err) {
        this.finish(1006, `GET /tw/poll failed: ${err.message || err}`);
        return;
      }
      if (res.status !== 200) {
        this.finish(1006, `GET /tw/poll: ${await refusalText(res)}`, res.status);
        return;
      }
      let body;
      try {
        body = new Uint8Array(await res.arrayBuffer());
      } catch (err) {
        this.finish(1006, `GET /tw/poll: ${err.message || err}`);
        return;
      }
      fr.feed(body);
    }
    if (this.gotClose) this.finish(this.gotClose.code, this.gotClose.reason);
  }

  abort() {
    try { this.ctl.abort(); } catch (err) { /* done */ }
  }

  // Ends the session once: onclose({ code, reason, status }) as a
  // WebSocket would (1006: no close frame; status: the HTTP status of a
  // refusal, for the page's choice of transport).
  finish(code, reason, status = 0, abortNow = true) {
    if (this.closed) return;
    this.closed = true;
    this.readyState = HttpConn.CLOSED;
    clearInterval(this.stallTimer);
    if (abortNow) this.abort();
    const cb = this.onclose;
    if (cb) setTimeout(() => cb({ code, reason, status, wasClean: code !== 1006 }), 0);
  }

  // The client closes: a CLOSE frame in a POST /tw/input (1000/1001: the
  // player leaves; anything else is sent as 4000, a deliberate drop: the
  // player is held for a resume), then the stream is dropped.
  close(code = 1000, reason = '') {
    if (this.closed) return;
    let sent = null;
    if (this.sid && !this.dead) {
      const c = code === 1000 || code === 1001 ? code : 4000;
      sent = fetch(this.url('/tw/input'), {
        method: 'POST', cache: 'no-store', keepalive: true,
        headers: this.headers({ 'Content-Type': 'application/octet-stream' }), body: closeFrame(c, reason),
      }).catch(() => { /* the stream's end tells the server anyway */ });
    }
    this.readyState = HttpConn.CLOSING;
    // The stream is dropped once the CLOSE is in (or at once without one):
    // dropped first, the server would take it for a network drop.
    this.finish(code, reason, 0, !sent);
    if (sent) {
      const t = setTimeout(() => this.abort(), 1000);
      sent.then(() => { clearTimeout(t); this.abort(); });
    }
  }
}
