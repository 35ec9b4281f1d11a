// Native vs wasm determinism of shared/sim.
//
// Usage: node det_test.mjs <det_scenario.wasm> <det_native> [ticks]
//
// Runs the same seeded scenario (tests/wasm/det_scenario.c) natively and in
// the wasm32 build, and compares the serialized world after every tick,
// byte for byte. On the first difference it prints the tick, the player,
// the field and both values, and exits 1. No npm packages needed.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const [wasmPath, nativePath, ticksArg] = process.argv.slice(2);
if (!wasmPath || !nativePath) {
  console.error('usage: node det_test.mjs <det_scenario.wasm> <det_native> [ticks]');
  process.exit(2);
}
const mainTicks = Number(ticksArg || 30000);

// Seeds and tick rates: the reference 60 Hz, plus coarse and fine steps,
// which round differently.
const configs = [
  { seed: 1n, rate: 60, ticks: mainTicks },
  { seed: 0xdeadbeefcafef00dn, rate: 20, ticks: 3000 },
  { seed: 77n, rate: 144, ticks: 3000 },
];

const RECORD = 38;
const FIELDS = [
  ['active', 0, 1, 'u8'], ['x', 1, 2, 'u16'], ['y', 3, 2, 'u16'], ['vx', 5, 2, 'i16'],
  ['vy', 7, 2, 'i16'], ['aim', 9, 2, 'u16'], ['flags', 11, 1, 'u8'],
  ['pos[0]', 12, 4, 'f32'], ['pos[1]', 16, 4, 'f32'], ['vel[0]', 20, 4, 'f32'], ['vel[1]', 24, 4, 'f32'],
  ['health', 28, 1, 'u8'], ['life', 29, 1, 'u8'], ['kills', 30, 2, 'u16'], ['deaths', 32, 2, 'u16'],
  ['score', 34, 2, 'u16'], ['hits', 36, 2, 'u16'],
];

function fieldValue(bytes, off, kind) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + off);
  switch (kind) {
    case 'u8': return String(dv.getUint8(0));
    case 'u16': return String(dv.getUint16(0, true));
    case 'i16': return String(dv.getInt16(0, true));
    case 'f32': {
      const bits = dv.getUint32(0, true).toString(16).padStart(8, '0');
      return `${dv.getFloat32(0, true)} (0x${bits})`;
    }
  }
  return '?';
}

function describe(native, wasm, tickBase, tickBytes, firstDiff) {
  const tick = new DataView(native.buffer, native.byteOffset + tickBase).getUint32(0, true);
  const rel = firstDiff - tickBase;
  if (rel < 4) return `tick counter differs at tick ${tick}`;
  const player = Math.floor((rel - 4) / RECORD);
  const recOff = tickBase + 4 + player * RECORD;
  const lines = [`first difference at tick ${tick}, player ${player}:`];
  for (const [name, off, , kind] of FIELDS) {
    const a = fieldValue(native, recOff + off, kind);
    const b = fieldValue(wasm, recOff + off, kind);
    if (a !== b) lines.push(`  ${name}: native ${a}, wasm ${b}`);
  }
  return lines.join('\n');
}

const t0 = performance.now();
const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {});
const ex = instance.exports;
let totalTicks = 0;
let totalBytes = 0;

for (const cfg of configs) {
  const native = execFileSync(nativePath, [String(cfg.seed), String(cfg.rate), String(cfg.ticks)],
    { maxBuffer: 1 << 30 });
  const lo = Number(cfg.seed & 0xffffffffn);
  const hi = Number(cfg.seed >> 32n);
  ex.det_wasm_init(lo, hi, cfg.rate);
  let off = 0;
  let moving = 0;
  let last = null;
  for (let t = 0; t < cfg.ticks; t++) {
    const n = ex.det_wasm_step();
    const wasm = new Uint8Array(ex.memory.buffer, ex.det_wasm_out(), n);
    if (off + n > native.length) {
      console.error(`FAIL seed ${cfg.seed} rate ${cfg.rate}: native output ends at tick ${t}`);
      process.exit(1);
    }
    const nat = native.subarray(off, off + n);
    last = nat;
    for (let i = 0; i < n; i++) {
      if (nat[i] !== wasm[i]) {
        const both = new Uint8Array(native.length);
        both.set(native);
        both.set(wasm, off);
        console.error(`FAIL seed ${cfg.seed} rate ${cfg.rate}: native and wasm diverge\n` +
          describe(native, both, off, n, off + i));
        process.exit(1);
      }
    }
    // Count moving players so a scenario that does nothing cannot pass.
    for (let p = 0; p < (n - 4) / RECORD; p++) {
      const vx = new DataView(nat.buffer, nat.byteOffset + 4 + p * RECORD + 5).getInt16(0, true);
      if (vx !== 0) moving++;
    }
    off += n;
  }
  // The last tick's deaths: the players fought (lag-compensated shots, respawns).
  let deaths = 0, hits = 0;
  for (let p = 0; p < (last.length - 4) / RECORD; p++) {
    deaths += new DataView(last.buffer, last.byteOffset + 4 + p * RECORD + 32).getUint16(0, true);
    hits += new DataView(last.buffer, last.byteOffset + 4 + p * RECORD + 36).getUint16(0, true);
  }
  console.log(`seed ${cfg.seed}: ${hits} hits, ${deaths} deaths standing at the end`);
  if (deaths < 1 || hits < 10) {
    console.error(`FAIL seed ${cfg.seed}: scenario barely fights (${hits} hits, ${deaths} deaths)`);
    process.exit(1);
  }
  if (off !== native.length) {
    console.error(`FAIL seed ${cfg.seed}: native wrote ${native.length} bytes, wasm ${off}`);
    process.exit(1);
  }
  if (moving < cfg.ticks * 4) {
    console.error(`FAIL seed ${cfg.seed}: scenario barely moves (${moving} moving player-ticks)`);
    process.exit(1);
  }
  totalTicks += cfg.ticks;
  totalBytes += off;
  console.log(`ok seed ${cfg.seed} rate ${cfg.rate} Hz: ${cfg.ticks} ticks, ${off} bytes identical`);
}
const ms = performance.now() - t0;
console.log(`native == wasm for ${totalTicks} ticks (${totalBytes} bytes) in ${(ms / 1000).toFixed(2)} s`);
