'use strict';
// K-quants (q4_K, q5_K, q6_K) against ggml, the only runtime with these formats:
//
//   kquant <format> m<m> t<threads>   Y = X·Wᵀ, W [4096×4096], int8 precision (q8_K activations),
//                                     sparq against ggml's own CPU backend on the same bytes, in
//                                     interleaved rounds; ggml both with W in its default buffer
//                                     ("plain") and in CPU_REPACK, where it re-lays q4_K for its
//                                     fastest kernels. Medians of the rounds' median calls.
//   kquant cold-gemv q4_K t<threads>  y = x·Wᵀ at 1×4096×4096, each call on the next of enough
//                                     matrices that none is in cache; rate = weight bytes / median
//                                     time, against a plain DRAM read of the same bytes in the same
//                                     run (memory-read.js)
//
// ggml is the prebuilt library node-llama-cpp ships (npm @node-llama-cpp/linux-x64, llama.cpp
// release v0.4.0, an optional dependency of bench/), driven by ggml-peer/ggml-peer.cc, which is
// compiled here with the machine's g++ on first use. Where it cannot be had, the rows say why and
// the table compares with the figures the issue quotes for this host (one thread, Zen 5).

const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { MemoryReader, readableMemory } = require('./memory-read');
const { median, microseconds } = require('./interleaved');
const { uniformFloats, xorshift32 } = require('./sparse-peers');

const GGML_TYPE = { q4_K: 12, q5_K: 13, q6_K: 14 };
// The issue's one-thread figures on the Zen 5 host, GOP/s: [m = 1, m = 128].
const ISSUE_FIGURES = { q4_K: [94, 140], q6_K: [68, 71] };
const BLOCK_BYTES = { q4_K: 144, q5_K: 176, q6_K: 210 };

/** The ggml-peer binary and ggml's library directory, built on first use; or { error }. */
function ggmlPeer() {
  const bins = path.join(__dirname, 'node_modules', '@node-llama-cpp', 'linux-x64', 'bins', 'linux-x64');
  if (!fs.existsSync(path.join(bins, 'libggml-base.so'))) return { error: 'npm @node-llama-cpp/linux-x64 is not installed (x64 Linux only)' };
  const source = path.join(__dirname, 'ggml-peer', 'ggml-peer.cc');
  // The binary finds ggml by an rpath, so it is built per source text and library directory: a
  // binary left by another checkout (or an older harness) is never reused.
  const key = crypto.createHash('sha256').update(fs.readFileSync(source)).update(bins).digest('hex').slice(0, 16);
  const binary = path.join(os.tmpdir(), `sparq-ggml-peer-${process.getuid?.() ?? 0}-${key}`);
  try {
    if (!fs.existsSync(binary)) {
      const building = `${binary}.${process.pid}`;
      execFileSync('g++', ['-O2', '-std=c++17', source, '-o', building, `-L${bins}`, '-l:libggml-base.so', '-l:libggml.v0.4.0.so', `-Wl,-rpath,${bins}`], { stdio: 'pipe' });
      fs.renameSync(building, binary);
    }
  } catch (e) {
    return { error: `building ggml-peer failed: ${String(e.stderr || e.message).split('\n')[0]}` };
  }
  return { binary, bins };
}

/** One ggml run: Y (from its first call) and the microseconds of `calls` further calls; or { error }. */
function runGgml(peer, format, m, n, k, threads, calls, files, mode) {
  try {
    const out = execFileSync(peer.binary, [peer.bins, String(GGML_TYPE[format]), String(m), String(n), String(k), String(threads), String(calls), files.w, files.x, files.y, mode], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const result = JSON.parse(out.trim().split('\n').pop());
    const y = new Float32Array(fs.readFileSync(files.y).buffer.slice(0));
    return { y, us: median(result.us), buffer: result.buffer };
  } catch (e) {
    const lines = String(e.stderr || e.message).trim().split('\n');
    const said = lines.find((l) => l.startsWith('ggml-peer:'));
    return { error: said ? said.replace('ggml-peer: ', '') : `failed (${e.signal ?? `exit ${e.status}`})` };
  }
}

function relativeDifference(a, b) {
  let diff = 0, max = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    max = Math.max(max, Math.abs(b[i]));
  }
  return diff / max;
}

function warm(ctx, peer, format, m, threads) {
  const { sparq, args } = ctx;
  const [n, k] = [4096, 4096];
  const ops = 2 * m * n * k;
  const w = sparq.quantize(uniformFloats(n * k, 11, -1, 1), n, k, format);
  const x = uniformFloats(m * k, 12, -1, 1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sparq-kquant-'));
  const files = { w: path.join(dir, 'w'), x: path.join(dir, 'x'), y: path.join(dir, 'y') };
  fs.writeFileSync(files.w, w.toBytes());
  fs.writeFileSync(files.x, new Uint8Array(x.buffer));
  sparq.setThreads(threads);
  const out = new Float32Array(m * n);
  const ySparq = sparq.matmulQuantized(x, w, m);
  const calls = Math.max(3, Math.min(200, Math.round((args.quick ? 1.5e10 : 6e10) / ops)));
  const rounds = args.quick ? 2 : 5;
  const samples = { sparq: [], plain: [], repack: [] };
  const notes = {};
  for (let round = 0; round < rounds; round++) {
    // This ggml release repacks q4_K only; placing another K-quant in CPU_REPACK crashes it.
    for (const mode of format === 'q4_K' ? ['plain', 'repack'] : ['plain']) {
      if (!peer.binary || notes[mode]) continue;
      const r = runGgml(peer, format, m, n, k, threads, calls, files, mode);
      if (r.error) notes[mode] = r.error;
      else {
        samples[mode].push(r.us);
        notes[`${mode} Δ`] = relativeDifference(r.y, ySparq);
      }
    }
    samples.sparq.push(microseconds([() => sparq.matmulQuantized(x, w, m, { out })], args.quick ? 150 : 500));
  }
  fs.rmSync(dir, { recursive: true, force: true });
  w.dispose();
  const rate = (list) => (list.length ? ops / median(list) / 1e3 : NaN);
  const sparqRate = rate(samples.sparq);
  const ggml = ['plain', 'repack'].map((mode) => [mode, rate(samples[mode])]).filter(([, r]) => Number.isFinite(r));
  const best = ggml.reduce((a, b) => (b[1] > a[1] ? b : a), ['', -Infinity]);
  const cells = [`sparq ${sparqRate.toFixed(1)} GOP/s (${sparq.isa()})`];
  for (const [mode, r] of ggml) cells.push(`ggml ${mode} ${r.toFixed(1)} (max|Δy|/max|y| ${notes[`${mode} Δ`].toExponential(1)})`);
  for (const mode of ['plain', 'repack']) if (notes[mode]) cells.push(`ggml ${mode}: ${notes[mode]}`);
  if (Number.isFinite(best[1])) cells.push(`sparq ×${(sparqRate / best[1]).toFixed(2)} of ggml's best (${best[0]})`);
  const issue = ISSUE_FIGURES[format]?.[m === 1 ? 0 : 1];
  if (issue && threads === 1) cells.push(`issue's ggml figure ${issue} GOP/s: ×${(sparqRate / issue).toFixed(2)}`);
  ctx.rows.push(`  kquant ${format} m${m} t${threads}`.padEnd(26) + cells.join('   '));
}

async function coldGemv(ctx, threads) {
  const { sparq, args } = ctx;
  const [n, k] = [4096, 4096];
  const bytesPer = (n * k * BLOCK_BYTES.q4_K) / 256;
  const count = Math.ceil(((args.quick ? 96 : 160) * 2 ** 20) / bytesPer);
  const { memory, bytes } = readableMemory(count * bytesPer);
  const next = xorshift32(5);
  for (let i = 0; i < bytes.length; i++) bytes[i] = next() >>> 24;
  // Modest finite f16 d and dmin in every super-block (random bytes could be NaN or huge).
  for (let b = 0; b < bytes.length / 144; b++) {
    bytes[b * 144 + 1] = (bytes[b * 144 + 1] & 0x83) | 0x10;
    bytes[b * 144 + 3] = (bytes[b * 144 + 3] & 0x83) | 0x10;
  }
  const matrices = Array.from({ length: count }, (_, i) => sparq.QuantizedMatrix.fromBytes('q4_K', n, k, bytes.subarray(i * bytesPer, (i + 1) * bytesPer)));
  const x = uniformFloats(k, 7, -1, 1), out = new Float32Array(n);
  const rounds = args.quick ? 3 : 7;
  sparq.setThreads(threads);
  const reader = await MemoryReader.open(memory, threads);
  const samples = { read: [], gemv: [] };
  try {
    for (let round = 0; round < rounds; round++) {
      let r = 0;
      samples.read.push(microseconds([() => reader.read((r++ % count) * bytesPer, bytesPer)], args.quick ? 150 : 400));
      samples.gemv.push(microseconds(matrices.map((w) => () => sparq.matmulQuantized(x, w, 1, { out })), args.quick ? 150 : 400));
    }
  } finally {
    await reader.close();
  }
  const read = bytesPer / median(samples.read) / 1e3, gemv = bytesPer / median(samples.gemv) / 1e3;
  ctx.rows.push(`  kquant cold-gemv q4_K t${threads}`.padEnd(26) + `${sparq.isa().padEnd(12)}DRAM read ${read.toFixed(1)} GB/s   q4_K GEMV ${gemv.toFixed(1)} GB/s of weights   ×${(gemv / read).toFixed(2)} of the read   (${count} matrices of ${(bytesPer / 2 ** 20).toFixed(1)} MiB, ${rounds} rounds)`);
  for (const w of matrices) w.dispose();
}

async function run(ctx) {
  const { args, sparq, progress } = ctx;
  if (!sparq || !sparq.QUANT_FORMATS?.includes('q4_K')) return;
  const wanted = (label) => !args.filter || args.filter.test(label);
  const rows = [];
  const before = sparq.threads();
  const peer = ggmlPeer();
  const threadCounts = args.threads ?? (args.quick ? [1] : [1, 2]);
  try {
    for (const format of args.quick ? ['q4_K'] : ['q4_K', 'q5_K', 'q6_K']) {
      for (const m of [1, 128]) {
        for (const threads of threadCounts) {
          const label = `kquant ${format} m${m} t${threads}`;
          if (!wanted(label)) continue;
          progress(label);
          warm({ ...ctx, rows }, peer, format, m, threads);
        }
      }
    }
    for (const threads of threadCounts) {
      if (!wanted(`kquant cold-gemv q4_K t${threads}`)) continue;
      progress(`kquant cold-gemv q4_K t${threads}`);
      await coldGemv({ ...ctx, rows }, threads);
    }
  } finally {
    sparq.setThreads(before);
  }
  if (!rows.length) return;
  console.log(`\n== kquant (int8 precision, tier ${sparq.isa()}; GOP/s from medians of interleaved rounds; ggml: ${peer.error ?? `node-llama-cpp's prebuilt ggml (${peer.bins})`})`);
  for (const row of rows) console.log(row);
}

module.exports = { run };
