'use strict';
// Benchmarks of sparq's int8 GEMM family against onnxruntime-node (benchmark.js suites).
//
//   cd bench && npm install --ignore-scripts && node run.js [--quick] [--filter <regex>]
//       [--threads 1,2] [--json <file>] [--watchdog <seconds>]
//
// Suites: int8 GEMM per shape and thread count, a cold GEMV whose weights come from
// DRAM, and a tiny call. Each row is one benchmark.js benchmark; rates are computed
// from the median of its samples. See README.md for the columns.

const os = require('node:os');
const fs = require('node:fs');
const path = require('node:path');
const Benchmark = require('benchmark');
const onnx = require('./onnx-model');

// Test functions close over their data, so benchmark.js must call them by reference
// rather than decompile and inline their source.
Benchmark.support.decompilation = false;

// ---------------------------------------------------------------------------
// Command line

function parseArgs(argv) {
  const args = { quick: false, filter: null, threads: null, json: null, watchdog: 180 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--quick') args.quick = true;
    else if (arg === '--filter') args.filter = new RegExp(value(), 'i');
    else if (arg === '--threads') args.threads = value().split(',').map(Number);
    else if (arg === '--json') args.json = value();
    else if (arg === '--watchdog') args.watchdog = Number(value());
    else if (arg === '--help' || arg === '-h') usage();
    else usage(`unknown argument ${arg}`);
  }
  if (args.threads && !args.threads.every((t) => Number.isInteger(t) && t >= 1)) usage('--threads takes e.g. 1,2');
  return args;
}

function usage(problem) {
  if (problem) console.error(`run.js: ${problem}`);
  console.error(
    'usage: node run.js [--quick] [--filter <regex>] [--threads 1,2] [--json <file>] [--watchdog <s>]\n' +
      '  --quick    a small subset with short sampling (smoke test, < 1 min)\n' +
      '  --filter   run only rows whose "<suite> <row>" matches (case-insensitive), e.g. tiny, "gemm 512", vnni|ORT\n' +
      '  --threads  thread counts to run (default 1,2)\n' +
      '  --json     also write every result to this file\n' +
      '  --watchdog abort when nothing progresses for this many seconds (default 180; 0 disables)',
  );
  process.exit(problem ? 2 : 0);
}

const args = parseArgs(process.argv.slice(2));

const CONFIG = args.quick
  ? {
      shapes: [
        [128, 1024, 1024],
        [512, 512, 512],
      ],
      threads: args.threads ?? [1, 2],
      coldThreads: [1],
      coldMatrices: 6, // 6 × 16 MiB = 96 MiB
      tinyThreads: [1],
      bench: { minSamples: 3, maxTime: 0.25 },
      jsOpsBudget: 2 ** 24, // largest 2·m·n·k timed for the JS rows; fewer rows beyond it
    }
  : {
      shapes: [
        [1, 4096, 4096],
        [8, 4096, 4096],
        [128, 1024, 1024],
        [512, 512, 512],
        [1024, 1024, 1024],
      ],
      threads: args.threads ?? [1, 2],
      coldThreads: args.threads ?? [1, 2],
      coldMatrices: 8, // 8 × 16 MiB = 128 MiB, 4× the L3
      tinyThreads: args.threads ?? [1, 2],
      bench: { minSamples: 5, maxTime: 1.5 },
      jsOpsBudget: 2 ** 26,
    };

const A_ZERO_POINT = 128;

// ---------------------------------------------------------------------------
// Watchdog. A hung native call blocks the event loop, so no JS timer on this thread
// could notice; a worker thread watches a heartbeat in shared memory instead, names
// the stage that stalled on stderr (written directly, not through this thread) and
// ends the process.

const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const lastBeat = new Float64Array(workerData.shared, 0, 1);
const stageLength = new Int32Array(workerData.shared, 8, 1);
const stageBytes = new Uint8Array(workerData.shared, 16);
setInterval(() => {
  const quiet = Date.now() - lastBeat[0];
  if (quiet < workerData.limitMs) return;
  const stage = Buffer.from(stageBytes.slice(0, stageLength[0])).toString();
  fs.writeSync(2, '\\nrun.js watchdog: no progress for ' + Math.round(quiet / 1000) + ' s during "' + stage + '"; ending the run.\\n');
  process.kill(process.pid, 'SIGTERM');
}, 1000);
`;

const watchdog = (() => {
  if (!(args.watchdog > 0)) return null;
  const shared = new SharedArrayBuffer(16 + 512);
  const { Worker } = require('node:worker_threads');
  const worker = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { shared, limitMs: args.watchdog * 1000 } });
  worker.unref();
  return {
    lastBeat: new Float64Array(shared, 0, 1),
    stageLength: new Int32Array(shared, 8, 1),
    stageBytes: new Uint8Array(shared, 16),
  };
})();

/** Record progress: what is about to run. */
function progress(stage) {
  if (!watchdog) return;
  const { written } = new TextEncoder().encodeInto(stage, watchdog.stageBytes);
  watchdog.stageLength[0] = written;
  watchdog.lastBeat[0] = Date.now();
}
progress('start');

// ---------------------------------------------------------------------------
// Peers: each loads on its own; a failure is reported and its rows are skipped.

function tryLoad(what, load) {
  try {
    return { lib: load(), error: null };
  } catch (e) {
    const reason = (e && e.message ? e.message : String(e)).split('\n')[0];
    console.log(`! ${what} did not load: ${reason}`);
    return { lib: null, error: reason };
  }
}

const sparqLoad = tryLoad('sparq (../dist/index.js; run `npm run build:ts` in the root)', () => require('..'));
const referenceLoad = tryLoad('sparq reference (../dist/reference)', () => require('../dist/reference'));
const ortLoad = tryLoad('onnxruntime-node', () => require('onnxruntime-node'));
const ortBindingLoad = tryLoad('onnxruntime-node native binding (for the sync run row)', () =>
  require('onnxruntime-node/dist/binding'),
);
const sparq = sparqLoad.lib;
const reference = referenceLoad.lib;
const ort = ortLoad.lib;
if (ort) ort.env.logLevel = 'error';

/** sparq tiers this CPU and binary can run, best last; each one checked with setIsa. */
function sparqTiers() {
  if (!sparq) return [];
  const tiers = [];
  for (const tier of sparq.cpuInfo().supported) {
    try {
      sparq.setIsa(tier);
      if (sparq.isa() === tier) tiers.push(tier);
      else console.log(`! sparq: setIsa('${tier}') left isa() = ${sparq.isa()}; tier skipped`);
    } catch (e) {
      console.log(`! sparq: setIsa('${tier}') failed: ${e.message}; tier skipped`);
    }
  }
  sparq.setIsa(null);
  return tiers;
}

/**
 * Session options for a thread count. spinning: false turns off the intra-op workers'
 * busy-wait (session config session.intra_op.allow_spinning = 0); default is ORT's own (on).
 */
function ortSessionOptions(threads, { spinning = true } = {}) {
  const options = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
    logSeverityLevel: 3,
  };
  if (!spinning) options.extra = { session: { intra_op: { allow_spinning: '0' } } };
  return options;
}

// ---------------------------------------------------------------------------
// Data

/** Seeded xorshift32 bytes, viewed as the given byte-array type. */
function randomBytes(Type, length, seed) {
  const words = new Uint32Array(Math.ceil(length / 4));
  let s = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    words[i] = s;
  }
  return new Type(words.buffer, 0, length);
}

/** Seeded uniform floats in [lo, hi). */
function randomFloats(length, seed, lo, hi) {
  const words = new Uint32Array(randomBytes(Uint8Array, length * 4, seed).buffer, 0, length);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = lo + ((hi - lo) * words[i]) / 2 ** 32;
  return out;
}

/** [rows×cols] → [cols×rows]. sparq takes B as [n×k]; ONNX MatMul wants [k×n]. */
function transpose(src, rows, cols) {
  const dst = new src.constructor(src.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
  }
  return dst;
}

/** The plain JS triple loop: C[m×n] = (A − za)·Bᵀ, B [n×k]. */
function jsGemmU8S8(a, b, m, n, k, za, c) {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += (a[i * k + p] - za) * b[j * k + p];
      c[i * n + j] = acc;
    }
  }
  return c;
}

/** Rows of A the JS rows time: all of them, or as many as fit the ops budget. */
function jsRows(m, n, k) {
  return Math.max(1, Math.min(m, Math.floor(CONFIG.jsOpsBudget / (2 * n * k))));
}

// ---------------------------------------------------------------------------
// Checks (before timing)

/** 'exact' when a equals b over the first `length` values, else where and by how much they differ. */
function compareInts(a, b, length, n) {
  let mismatches = 0;
  let first = -1;
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) {
      if (first < 0) first = i;
      mismatches++;
    }
  }
  if (mismatches === 0) return { ok: true, text: 'exact' };
  const at = `[${Math.floor(first / n)},${first % n}]`;
  return { ok: false, text: `${mismatches} of ${length} differ, first at ${at}: ${a[first]} vs ${b[first]}` };
}

/** max |a − b| / max |b|: the error relative to the output's magnitude. */
function relativeDifference(a, b, length) {
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    maxRef = Math.max(maxRef, Math.abs(b[i]));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

function check(label, result) {
  console.log(`  check  ${label}: ${result}`);
}

// ---------------------------------------------------------------------------
// Running and printing

const results = [];

/** Whether --filter lets a row run: it is matched against "<suite> <label> <tier>". */
function selected(suite, label, tier = '') {
  return !args.filter || args.filter.test(`${suite} ${label} ${tier}`);
}

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function formatTime(seconds) {
  if (seconds < 1e-6) return `${(seconds * 1e9).toFixed(0)} ns`;
  if (seconds < 1e-3) return `${(seconds * 1e6).toFixed(seconds < 1e-5 ? 2 : 1)} µs`;
  if (seconds < 1) return `${(seconds * 1e3).toFixed(seconds < 1e-2 ? 2 : 1)} ms`;
  return `${seconds.toFixed(2)} s`;
}

function formatOps(ops) {
  return ops >= 1e9 ? `${(ops / 1e9).toFixed(2)} GOP` : `${(ops / 1e6).toFixed(1)} MOP`;
}

function formatRate(value) {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  if (value >= 0.1) return value.toFixed(2);
  return value.toPrecision(2);
}

function ratioText(value, against) {
  if (!Number.isFinite(value)) return '';
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `×${value.toFixed(digits)} ${against}`;
}

const COLUMNS = [
  ['implementation', 34],
  ['tier', 11],
  ['thr', 3],
  ['mean ± rme', 20],
  ['median', 10],
  ['rate', 15],
  ['vs ref', 12],
  ['vs ORT', 11],
  ['note', 0],
];

function printRow(cells) {
  const line = COLUMNS.map(([, width], i) => {
    const cell = String(cells[i] ?? '');
    if (width === 0) return cell;
    return i >= 3 && i <= 5 ? cell.padStart(width) : cell.padEnd(width);
  });
  console.log(`  ${line.join('  ').trimEnd()}`);
}

function printHeader(title, detail) {
  console.log(`\n== ${title}${detail ? `  (${detail})` : ''}`);
  printRow(COLUMNS.map(([name]) => name));
}

/**
 * One table row as it completes. Ratios are speed ratios (this row's rate over the
 * other's), so ×2 means twice as fast. The rows a ratio refers to are found by key
 * among the results so far: run the reference and ORT rows first.
 */
function printResult(r) {
  if (r.error) {
    printRow([r.label, r.tier, r.threads, 'failed', '', '', '', '', r.error]);
    return;
  }
  const find = (key) => results.find((o) => o.key === key && !o.error);
  const refRow = r.refKey && find(r.refKey);
  const ortRow = r.ortKey && find(r.ortKey);
  const rate = r.unit === 'ns/call' ? `${(r.median * 1e9).toFixed(0)} ns/call` : `${formatRate(r.rate)} ${r.unit}`;
  printRow([
    r.label,
    r.tier,
    r.threads,
    `${formatTime(r.mean)} ±${r.rme.toFixed(1)}%`,
    formatTime(r.median),
    rate,
    refRow ? ratioText(r.rate / refRow.rate, 'ref') : '',
    ortRow ? ratioText(r.rate / ortRow.rate, 'ORT') : '',
    [r.note, r.kernel && r.kernel !== `gemm_u8s8s32__${r.tier}` ? `kernel ${r.kernel}` : ''].filter(Boolean).join('; '),
  ]);
}

/**
 * Run rows as one benchmark.js Suite and print each as it completes. A row: { key, label,
 * tier, threads, fn, async?, before?, after?, opsPerCall | bytesPerCall, unit, refKey?,
 * ortKey?, note? }. fn is synchronous, or (async: true) returns a promise.
 */
function runSuite(title, rows) {
  const suite = new Benchmark.Suite(title);
  const failures = new Map();
  const rowOf = new Map();
  for (const row of rows) {
    const stage = `${title}: ${row.label} ${row.tier ?? ''}`;
    const options = {
      ...CONFIG.bench,
      onStart: () => {
        progress(stage);
        if (row.before) row.before();
      },
      onCycle: () => progress(stage),
    };
    if (row.async) {
      const fn = (deferred) => {
        row.fn().then(
          () => deferred.resolve(),
          (e) => {
            failures.set(row, e);
            deferred.benchmark.abort();
            deferred.resolve();
          },
        );
      };
      suite.add(row.label, fn, { ...options, defer: true });
    } else {
      suite.add(row.label, row.fn, options);
    }
    rowOf.set(suite[suite.length - 1], row);
  }
  return new Promise((resolve) => {
    suite.on('cycle', (event) => {
      const bench = event.target;
      const row = rowOf.get(bench);
      const error = failures.get(row) || bench.error;
      const result = { suite: title, ...row, fn: undefined, before: undefined, after: undefined };
      if (error || bench.aborted || bench.stats.sample.length === 0) {
        result.error = error ? String(error.message || error).split('\n')[0] : 'aborted';
      } else {
        const sample = bench.stats.sample;
        result.mean = bench.stats.mean;
        result.rme = bench.stats.rme;
        result.median = median(sample);
        result.samples = sample.length;
        result.rate =
          row.unit === 'GB/s'
            ? row.bytesPerCall / result.median / 1e9
            : row.unit === 'GOP/s'
              ? row.opsPerCall / result.median / 1e9
              : 1 / result.median;
        if (row.after) Object.assign(result, row.after());
      }
      results.push(result);
      printResult(result);
    });
    suite.on('complete', () => resolve());
    suite.run({ async: true });
  });
}

/**
 * One printed table. Its rows may come from several suites, so that each ORT session
 * lives only while its own rows run: an idle ORT intra-op pool can keep spinning and
 * would slow whatever runs next.
 */
class Table {
  constructor(title, detail) {
    this.title = title;
    this.detail = detail;
    this.printed = false;
  }

  wants(label, tier) {
    return selected(this.title, label, tier);
  }

  async run(rows) {
    const chosen = rows.filter((row) => this.wants(row.label, row.tier));
    if (chosen.length === 0) return;
    if (!this.printed) {
      printHeader(this.title, this.detail);
      this.printed = true;
    }
    await runSuite(this.title, chosen);
  }
}

/** Call fn once; on failure print why and return null, else { value }. */
async function tryFirstCall(label, fn) {
  progress(label);
  try {
    return { value: await fn() };
  } catch (e) {
    console.log(`  skip   ${label}: ${String(e && e.message ? e.message : e).split('\n')[0]}`);
    return null;
  }
}

// sparq rows set the tier and threads when they start and report the kernel that ran.
function sparqBefore(tier, threads) {
  return () => {
    sparq.setThreads(threads);
    sparq.setIsa(tier);
  };
}

function sparqAfter() {
  return () => ({ tier: sparq.isa(), kernel: sparq.lastInt8GemmKernel ? sparq.lastInt8GemmKernel() : null });
}

// ORT rows park sparq's pool at one thread, so it cannot compete for cores.
function ortBefore() {
  if (sparq) sparq.setThreads(1);
}

/** Create ORT sessions from model bytes, hand them to use(), release them whatever happens. */
async function withOrtSessions(label, modelBytes, options, use) {
  if (!ort) return;
  const made = await tryFirstCall(label, () => Promise.all(modelBytes.map((bytes) => ort.InferenceSession.create(bytes, options))));
  if (!made) return;
  try {
    await use(made.value);
  } finally {
    for (const session of made.value) await session.release();
  }
}

/** One output of a model, from a session made and released for it. */
async function ortOutput(label, bytes, feeds) {
  let output = null;
  await withOrtSessions(label, [bytes], ortSessionOptions(1), async ([session]) => {
    const made = await tryFirstCall(label, () => session.run(feeds));
    if (made) output = made.value.Y.data;
  });
  return output;
}

function restoreSparqDefaults() {
  if (sparq) {
    sparq.setIsa(null);
    sparq.setThreads();
  }
}

// ---------------------------------------------------------------------------
// int8 GEMM at one shape

const ORT_GEMM_OPS = [
  ['mmi', 'ORT MatMulInteger'],
  ['dqmm', 'ORT DynamicQuantizeMatMul'],
  ['f32', 'ORT MatMul f32'],
];

async function gemmShape(m, k, n, tiers) {
  const shape = `${m}x${k}x${n}`;
  const opsPerCall = 2 * m * n * k;
  const tables = CONFIG.threads.map((t) => new Table(`gemm ${shape} t${t}`, `${formatOps(opsPerCall)} per call`));
  const best = tiers[tiers.length - 1] ?? null;
  const candidates = [
    ...ORT_GEMM_OPS.map(([, label]) => [label, 'MLAS']),
    ...['TS reference gemmU8S8', 'TS reference linearInt8', 'JS triple loop'].map((label) => [label, 'js']),
    ...tiers.map((tier) => ['sparq gemmU8S8', tier]),
    ['sparq linearInt8', best ?? ''],
  ];
  if (!tables.some((table) => candidates.some(([label, tier]) => table.wants(label, tier)))) return;
  progress(`setup gemm ${shape}`);
  console.log(`\n-- gemm ${shape}: ${formatOps(opsPerCall)} per call`);

  // Operands. B is [n×k] (out × in) for sparq and the JS rows, transposed to [k×n] for ORT.
  const seed = m * 7919 + k * 104729 + n;
  const a = randomBytes(Uint8Array, m * k, seed);
  const b = randomBytes(Int8Array, n * k, seed + 1);
  const x = randomFloats(m * k, seed + 2, -1, 2);
  const wFloat = randomFloats(n * k, seed + 3, -1, 1);
  const bias = randomFloats(n, seed + 4, -0.5, 0.5);
  const rowsJs = jsRows(m, n, k);
  const reducedNote = rowsJs < m ? `JS rows time ${rowsJs} of ${m} rows; rate from that call` : '';
  const gemmOut = new Int32Array(m * n);
  const linearOut = new Float32Array(m * n);

  let packed = null;
  let layer = null;
  let layerParts = null;
  if (sparq) {
    try {
      packed = sparq.packInt8(b, n, k);
      layer = sparq.quantizeLinearInt8(wFloat, n, k, { bias });
      layerParts = layer.toArrays();
    } catch (e) {
      console.log(`! sparq packing at ${shape} failed: ${e.message}`);
      packed = layer = layerParts = null;
    }
  }

  // ORT models. DynamicQuantizeMatMul gets sparq's own quantized weights and scales, so both
  // multiply the same int8 codes.
  const models = {};
  const feeds = {};
  if (ort) {
    models.mmi = onnx.matMulIntegerModel({ m, k, n, bKxN: transpose(b, n, k), aZeroPoint: 'input' });
    if (layerParts) {
      const { weight, scale } = layerParts;
      models.dqmm = onnx.dynamicQuantizeMatMulModel({ m, k, n, bKxN: transpose(weight, n, k), bScale: scale, bias });
    }
    models.f32 = onnx.matMulModel({ m, k, n, bKxN: transpose(wFloat, n, k) });
    const xTensor = new ort.Tensor('float32', x, [m, k]);
    feeds.mmi = { A: new ort.Tensor('uint8', a, [m, k]), a_zero_point: new ort.Tensor('uint8', Uint8Array.of(A_ZERO_POINT), []) };
    feeds.dqmm = { A: xTensor };
    feeds.f32 = { A: xTensor };
  }

  // Checks, before any timing.
  const ortOut = {};
  for (const [name, label] of ORT_GEMM_OPS) {
    if (models[name]) ortOut[name] = await ortOutput(label, models[name], feeds[name]);
  }
  progress(`TS reference outputs for gemm ${shape}`);
  const refGemm = reference ? reference.gemmU8S8(a.subarray(0, rowsJs * k), b, rowsJs, n, k, A_ZERO_POINT) : null;
  const refLinear =
    reference && layerParts
      ? reference.linearInt8(x.subarray(0, rowsJs * k), layerParts.weight, layerParts.scale, layerParts.bias, rowsJs, n, k)
      : null;
  const jsOut = new Int32Array(rowsJs * n);
  if (refGemm) {
    jsGemmU8S8(a, b, rowsJs, n, k, A_ZERO_POINT, jsOut);
    check(`JS triple loop vs TS reference (${rowsJs} rows)`, compareInts(jsOut, refGemm, rowsJs * n, n).text);
  }
  const gemmOptions = { aZeroPoint: A_ZERO_POINT, out: gemmOut };
  const linearOptions = { out: linearOut };
  const runnable = new Set(); // `${tier}/${threads}` pairs whose first call succeeded
  if (packed) {
    const agreement = [];
    for (const tier of tiers) {
      const perThreads = [];
      for (const threads of CONFIG.threads) {
        sparqBefore(tier, threads)();
        gemmOut.fill(0);
        if (!(await tryFirstCall(`sparq gemmU8S8 ${tier} t${threads}`, () => sparq.gemmU8S8(a, packed, m, gemmOptions)))) continue;
        runnable.add(`${tier}/${threads}`);
        const kernel = sparq.lastInt8GemmKernel ? sparq.lastInt8GemmKernel() : null;
        const versus = [];
        if (ortOut.mmi) versus.push(`ORT ${compareInts(gemmOut, ortOut.mmi, m * n, n).text}`);
        if (refGemm) versus.push(`ref ${compareInts(gemmOut, refGemm, rowsJs * n, n).text}`);
        const wrongKernel = kernel && !kernel.endsWith(`__${tier}`) ? ` (ran ${kernel}!)` : '';
        perThreads.push(`t${threads} ${versus.join(', ') || 'nothing to compare with'}${wrongKernel}`);
      }
      agreement.push(`${tier} ${perThreads.join(', ')}`);
    }
    check(`sparq gemmU8S8 vs ORT MatMulInteger (all ${m * n} int32) and TS reference (${rowsJs} rows)`, agreement.join('; '));
  }
  if (layer) {
    const perThreads = [];
    for (const threads of CONFIG.threads) {
      sparqBefore(best, threads)();
      if (!(await tryFirstCall(`sparq linearInt8 t${threads}`, () => sparq.linearInt8(x, layer, m, linearOptions)))) continue;
      runnable.add(`linear/${threads}`);
      const parts = [];
      if (ortOut.dqmm) parts.push(`vs ORT max|Δ|/max|y| ${relativeDifference(linearOut, ortOut.dqmm, m * n).toExponential(2)}`);
      if (refLinear) {
        const bits = new Int32Array(linearOut.buffer, 0, rowsJs * n);
        const refBits = new Int32Array(refLinear.buffer, 0, rowsJs * n);
        parts.push(`vs TS reference bits ${compareInts(bits, refBits, rowsJs * n, n).text}`);
      }
      perThreads.push(`t${threads} ${parts.join(', ')}`);
    }
    const why = m > 1 ? ' (activations: sparq per row, ORT per tensor)' : '';
    if (perThreads.length) check(`sparq linearInt8 ${best} vs ORT DynamicQuantizeMatMul${why}`, perThreads.join('; '));
  }

  // Timing, one table per thread count.
  const jsKey = (name) => `${shape}/js/${name}`; // single-threaded JS rows, timed once
  for (const [blockIndex, threads] of CONFIG.threads.entries()) {
    const table = tables[blockIndex];
    const key = (name) => `${shape}/${threads}/${name}`;

    if (blockIndex === 0) {
      const aRows = a.subarray(0, rowsJs * k);
      const xRows = x.subarray(0, rowsJs * k);
      const jsRowsOps = 2 * rowsJs * n * k;
      const rows = [];
      if (reference) {
        rows.push({
          key: jsKey('ref-gemm'),
          label: 'TS reference gemmU8S8',
          tier: 'js',
          threads: 1,
          fn: () => reference.gemmU8S8(aRows, b, rowsJs, n, k, A_ZERO_POINT),
          opsPerCall: jsRowsOps,
          unit: 'GOP/s',
          note: reducedNote,
        });
        if (layerParts) {
          const { weight, scale, bias: layerBias } = layerParts;
          rows.push({
            key: jsKey('ref-linear'),
            label: 'TS reference linearInt8',
            tier: 'js',
            threads: 1,
            fn: () => reference.linearInt8(xRows, weight, scale, layerBias, rowsJs, n, k),
            opsPerCall: jsRowsOps,
            unit: 'GOP/s',
            note: reducedNote,
          });
        }
      }
      rows.push({
        key: jsKey('js-loop'),
        label: 'JS triple loop',
        tier: 'js',
        threads: 1,
        fn: () => jsGemmU8S8(a, b, rowsJs, n, k, A_ZERO_POINT, jsOut),
        opsPerCall: jsRowsOps,
        unit: 'GOP/s',
        refKey: jsKey('ref-gemm'),
        note: reducedNote,
      });
      await table.run(rows);
    }

    for (const [name, label] of ORT_GEMM_OPS) {
      if (!ortOut[name] || !table.wants(label, 'MLAS')) continue;
      await withOrtSessions(`${label} t${threads}`, [models[name]], ortSessionOptions(threads), ([session]) =>
        table.run([
          {
            key: key(`ort-${name}`),
            label,
            tier: 'MLAS',
            threads,
            async: true,
            fn: () => session.run(feeds[name]),
            before: ortBefore,
            opsPerCall,
            unit: 'GOP/s',
            refKey: { mmi: jsKey('ref-gemm'), dqmm: jsKey('ref-linear') }[name],
            note: name === 'f32' ? 'float weights, for context' : '',
          },
        ]),
      );
    }

    const sparqRows = [];
    for (const tier of tiers.filter((t) => runnable.has(`${t}/${threads}`))) {
      sparqRows.push({
        key: key(`sparq-${tier}`),
        label: 'sparq gemmU8S8',
        tier,
        threads,
        fn: () => sparq.gemmU8S8(a, packed, m, gemmOptions),
        before: sparqBefore(tier, threads),
        after: sparqAfter(),
        opsPerCall,
        unit: 'GOP/s',
        refKey: jsKey('ref-gemm'),
        ortKey: key('ort-mmi'),
      });
    }
    if (runnable.has(`linear/${threads}`)) {
      sparqRows.push({
        key: key('sparq-linear'),
        label: 'sparq linearInt8',
        tier: best,
        threads,
        fn: () => sparq.linearInt8(x, layer, m, linearOptions),
        before: sparqBefore(best, threads),
        after: sparqAfter(),
        opsPerCall,
        unit: 'GOP/s',
        refKey: jsKey('ref-linear'),
        ortKey: key('ort-dqmm'),
      });
    }
    await table.run(sparqRows);
  }
  restoreSparqDefaults();
}

// ---------------------------------------------------------------------------
// Cold GEMV: m = 1, k = n = 4096, a different weight matrix each call

async function coldGemv(tiers) {
  const k = 4096;
  const n = 4096;
  const count = CONFIG.coldMatrices;
  const bytesPerCall = n * k;
  const totalMiB = (count * bytesPerCall) / 2 ** 20;
  const tables = CONFIG.coldThreads.map(
    (t) => new Table(`cold-gemv 1x${k}x${n} t${t}`, `${count} matrices, ${totalMiB} MiB rotated; rate = weight bytes / median time`),
  );
  const candidates = [['ORT MatMulInteger', 'MLAS'], ...tiers.map((tier) => ['sparq gemmU8S8', tier])];
  if (!tables.some((table) => candidates.some(([label, tier]) => table.wants(label, tier)))) return;
  progress('setup cold-gemv');
  console.log(`\n-- cold-gemv 1x${k}x${n}: each call reads the next of ${count} matrices (${totalMiB} MiB of int8 weights)`);

  const a = randomBytes(Uint8Array, k, 17);
  const weights = Array.from({ length: count }, (_, i) => randomBytes(Int8Array, n * k, 1000 + i));
  const packed = sparq ? weights.map((w) => sparq.packInt8(w, n, k)) : [];
  const models = ort ? weights.map((w) => onnx.matMulIntegerModel({ m: 1, k, n, bKxN: transpose(w, n, k), aZeroPoint: 'input' })) : [];
  weights.length = 0; // the packed copies and the model bytes are all that is needed now
  const out = new Int32Array(n);
  const gemmOptions = { aZeroPoint: A_ZERO_POINT, out };
  const feeds = ort ? { A: new ort.Tensor('uint8', a, [1, k]), a_zero_point: new ort.Tensor('uint8', Uint8Array.of(A_ZERO_POINT), []) } : null;

  // Check: every tier against ORT on the first matrix.
  const ortY = ort ? await ortOutput('ORT MatMulInteger (cold, matrix 0)', models[0], feeds) : null;
  const runnable = [];
  for (const tier of tiers) {
    sparqBefore(tier, 1)();
    if (!(await tryFirstCall(`sparq gemmU8S8 ${tier} (cold)`, () => sparq.gemmU8S8(a, packed[0], 1, gemmOptions)))) continue;
    runnable.push(tier);
  }
  if (ortY && runnable.length) {
    const agreement = runnable.map((tier) => {
      sparqBefore(tier, 1)();
      sparq.gemmU8S8(a, packed[0], 1, gemmOptions);
      return `${tier} ${compareInts(out, ortY, n, n).text}`;
    });
    check('sparq gemmU8S8 vs ORT MatMulInteger on matrix 0', agreement.join(', '));
  }

  for (const [blockIndex, threads] of CONFIG.coldThreads.entries()) {
    const table = tables[blockIndex];
    const key = (name) => `cold/${threads}/${name}`;
    const ortRow = (sessions, name, note) => {
      let next = 0;
      return {
        key: key(name),
        label: 'ORT MatMulInteger',
        tier: 'MLAS',
        threads,
        async: true,
        fn: () => sessions[next++ % count].run(feeds),
        before: ortBefore,
        bytesPerCall,
        unit: 'GB/s',
        note,
      };
    };
    if (ortY && table.wants('ORT MatMulInteger', 'MLAS')) {
      if (threads > 1) {
        // With a pool per session, the idle sessions' spinning workers take the cores from
        // the one that runs; shown for context, not used for ratios.
        await withOrtSessions(`ORT cold sessions t${threads}`, models, ortSessionOptions(threads), (sessions) =>
          table.run([ortRow(sessions, 'ort-spinning', `${count} sessions, default spinning (context)`)]),
        );
      }
      const options = ortSessionOptions(threads, { spinning: threads === 1 });
      await withOrtSessions(`ORT cold sessions t${threads}`, models, options, (sessions) =>
        table.run([ortRow(sessions, 'ort-mmi', threads > 1 ? `${count} sessions, intra-op spinning off` : `${count} sessions`)]),
      );
    }
    let next = 0;
    await table.run(
      runnable.map((tier) => ({
        key: key(`sparq-${tier}`),
        label: 'sparq gemmU8S8',
        tier,
        threads,
        fn: () => sparq.gemmU8S8(a, packed[next++ % count], 1, gemmOptions),
        before: sparqBefore(tier, threads),
        after: sparqAfter(),
        bytesPerCall,
        unit: 'GB/s',
        ortKey: key('ort-mmi'),
      })),
    );
  }
  restoreSparqDefaults();
}

// ---------------------------------------------------------------------------
// Tiny call: 1×16×16, per-call overhead

async function tinyCall(tiers) {
  const m = 1;
  const k = 16;
  const n = 16;
  const tables = CONFIG.tinyThreads.map((t) => new Table(`tiny 1x${k}x${n} t${t}`, 'per-call overhead; rate is ns/call'));
  const candidates = [
    ['TS reference gemmU8S8', 'js'],
    ['JS triple loop', 'js'],
    ['ORT MatMulInteger session.run', 'MLAS'],
    ['ORT binding run() sync', 'MLAS'],
    ...tiers.map((tier) => ['sparq gemmU8S8', tier]),
  ];
  if (!tables.some((table) => candidates.some(([label, tier]) => table.wants(label, tier)))) return;
  progress('setup tiny');
  console.log(`\n-- tiny 1x${k}x${n}: per-call overhead`);
  const a = randomBytes(Uint8Array, m * k, 5);
  const b = randomBytes(Int8Array, n * k, 6);
  const out = new Int32Array(m * n);
  const packed = sparq ? sparq.packInt8(b, n, k) : null;
  const modelBytes = ort ? onnx.matMulIntegerModel({ m, k, n, bKxN: transpose(b, n, k), aZeroPoint: 'input' }) : null;
  const feeds = ort ? { A: new ort.Tensor('uint8', a, [m, k]), a_zero_point: new ort.Tensor('uint8', Uint8Array.of(A_ZERO_POINT), []) } : null;
  const gemmOptions = { aZeroPoint: A_ZERO_POINT, out };

  const ortY = ort ? await ortOutput('ORT MatMulInteger (tiny)', modelBytes, feeds) : null;
  const refY = reference ? reference.gemmU8S8(a, b, m, n, k, A_ZERO_POINT) : null;
  const runnable = [];
  const agreement = [];
  for (const tier of tiers) {
    sparqBefore(tier, 1)();
    if (!(await tryFirstCall(`sparq gemmU8S8 ${tier} (tiny)`, () => sparq.gemmU8S8(a, packed, m, gemmOptions)))) continue;
    runnable.push(tier);
    const versus = [];
    if (ortY) versus.push(`ORT ${compareInts(out, ortY, n, n).text}`);
    if (refY) versus.push(`ref ${compareInts(out, refY, n, n).text}`);
    agreement.push(`${tier} ${versus.join(', ')}`);
  }
  if (agreement.length) check('tiny: sparq gemmU8S8 vs ORT and TS reference', agreement.join('; '));

  for (const [blockIndex, threads] of CONFIG.tinyThreads.entries()) {
    const table = tables[blockIndex];
    const key = (name) => `tiny/${threads}/${name}`;
    if (blockIndex === 0) {
      const rows = [];
      if (reference) {
        rows.push({ key: 'tiny/js/ref', label: 'TS reference gemmU8S8', tier: 'js', threads: 1, fn: () => reference.gemmU8S8(a, b, m, n, k, A_ZERO_POINT), unit: 'ns/call' });
      }
      rows.push({
        key: 'tiny/js/loop',
        label: 'JS triple loop',
        tier: 'js',
        threads: 1,
        fn: () => jsGemmU8S8(a, b, m, n, k, A_ZERO_POINT, out),
        unit: 'ns/call',
        refKey: 'tiny/js/ref',
      });
      await table.run(rows);
    }
    if (ortY && table.wants('ORT MatMulInteger session.run', 'MLAS')) {
      await withOrtSessions(`ORT tiny session t${threads}`, [modelBytes], ortSessionOptions(threads), ([session]) =>
        table.run([
          {
            key: key('ort-mmi'),
            label: 'ORT MatMulInteger session.run',
            tier: 'MLAS',
            threads,
            async: true,
            fn: () => session.run(feeds),
            before: ortBefore,
            unit: 'ns/call',
            refKey: 'tiny/js/ref',
            note: 'public API (async)',
          },
        ]),
      );
    }
    // The binding's synchronous run, which session.run reaches after a setImmediate: ORT's
    // own per-call cost without the event-loop hop. A private API, shown for context.
    if (ortY && ortBindingLoad.lib && table.wants('ORT binding run() sync', 'MLAS')) {
      const made = await tryFirstCall('ORT binding run() sync', () => {
        const { binding, initOrt } = ortBindingLoad.lib;
        initOrt();
        const session = new binding.InferenceSession();
        session.loadModel(modelBytes.buffer, modelBytes.byteOffset, modelBytes.byteLength, ortSessionOptions(threads));
        session.run(feeds, { Y: null }, {});
        return session;
      });
      if (made) {
        const session = made.value;
        await table.run([
          {
            key: key('ort-sync'),
            label: 'ORT binding run() sync',
            tier: 'MLAS',
            threads,
            fn: () => session.run(feeds, { Y: null }, {}),
            before: ortBefore,
            unit: 'ns/call',
            refKey: 'tiny/js/ref',
            ortKey: key('ort-mmi'),
            note: 'private API, no setImmediate',
          },
        ]);
        if (session.dispose) session.dispose();
      }
    }
    await table.run(
      runnable.map((tier) => ({
        key: key(`sparq-${tier}`),
        label: 'sparq gemmU8S8',
        tier,
        threads,
        fn: () => sparq.gemmU8S8(a, packed, m, gemmOptions),
        before: sparqBefore(tier, threads),
        after: sparqAfter(),
        unit: 'ns/call',
        refKey: 'tiny/js/ref',
        ortKey: key('ort-mmi'),
      })),
    );
  }
  restoreSparqDefaults();
}

// ---------------------------------------------------------------------------
// Targets

/**
 * The targets, each judged on sparq's default tier (what setIsa(null) picks, normally the
 * best one the CPU runs); a faster non-default tier is mentioned alongside.
 */
function summary(defaultTier) {
  const ok = (r) => r && !r.error;
  const find = (key) => results.find((r) => r.key === key && ok(r));
  const lines = [];
  const verdict = (name, met, figures) => {
    // Under --filter, targets the run did not measure are left out rather than listed.
    if (met === null && args.filter) return;
    lines.push(`  ${met === null ? 'not measured' : met ? 'met    ' : 'NOT met'}  ${name}: ${figures}`);
  };
  const times = (x, y) => `×${(x / y).toFixed(2)}`;
  // The fastest sparq gemmU8S8 row under a key prefix, when it is not the default tier.
  const fasterTier = (prefix, row) => {
    const rows = results.filter((r) => ok(r) && r.key.startsWith(prefix) && /\/sparq-(?!linear)/.test(r.key));
    const fastest = rows.sort((x, y) => y.rate - x.rate)[0];
    return fastest && fastest !== row ? ` (fastest tier: ${fastest.tier})` : '';
  };

  // 1. 1 thread, shapes ≥ 512³: avx512vnni ≥ 1.15× ORT MatMulInteger.
  for (const [m, k, n] of CONFIG.shapes.filter(([m, k, n]) => m >= 512 && k >= 512 && n >= 512)) {
    const shape = `${m}x${k}x${n}`;
    const vnni = find(`${shape}/1/sparq-avx512vnni`);
    const peer = find(`${shape}/1/ort-mmi`);
    const name = `1 thread ${shape}: avx512vnni ≥ 1.15× ORT MatMulInteger`;
    if (!vnni || !peer) verdict(name, null, !vnni ? 'no avx512vnni row' : 'no ORT row');
    else verdict(name, vnni.rate / peer.rate >= 1.15, `${formatRate(vnni.rate)} vs ${formatRate(peer.rate)} GOP/s = ${times(vnni.rate, peer.rate)}`);
  }

  // 2. 2 threads ≥ 1.8× 1 thread, compute-bound shapes (m ≥ 8).
  for (const [m, k, n] of CONFIG.shapes.filter(([m]) => m >= 8)) {
    const shape = `${m}x${k}x${n}`;
    const one = find(`${shape}/1/sparq-${defaultTier}`);
    const two = find(`${shape}/2/sparq-${defaultTier}`);
    const name = `2 threads ≥ 1.8× 1 thread at ${shape}`;
    if (!one || !two) verdict(name, null, 'needs 1- and 2-thread sparq rows');
    else verdict(name, two.rate / one.rate >= 1.8, `${defaultTier} ${formatRate(two.rate)} vs ${formatRate(one.rate)} GOP/s = ${times(two.rate, one.rate)}`);
  }

  // 3. Cold GEMV ≥ 1.6× ORT.
  for (const threads of CONFIG.coldThreads) {
    const row = find(`cold/${threads}/sparq-${defaultTier}`);
    const peer = find(`cold/${threads}/ort-mmi`);
    const name = `cold GEMV ≥ 1.6× ORT MatMulInteger (${threads} thread${threads > 1 ? 's' : ''})`;
    if (!row || !peer) verdict(name, null, 'needs sparq and ORT cold rows');
    else
      verdict(
        name,
        row.rate / peer.rate >= 1.6,
        `${defaultTier} ${formatRate(row.rate)} vs ${formatRate(peer.rate)} GB/s = ${times(row.rate, peer.rate)}${fasterTier(`cold/${threads}/`, row)}`,
      );
  }

  // 4. Tiny call ≤ 1 µs.
  {
    const threads = CONFIG.tinyThreads[0];
    const row = find(`tiny/${threads}/sparq-${defaultTier}`);
    const peer = find(`tiny/${threads}/ort-mmi`);
    const name = `tiny 1×16×16 call ≤ 1 µs (${threads} thread${threads > 1 ? 's' : ''})`;
    if (!row) verdict(name, null, 'no sparq tiny row');
    else {
      const ortText = peer ? `; ORT session.run ${(peer.median * 1e9).toFixed(0)} ns` : '';
      verdict(name, row.median <= 1e-6, `${defaultTier} ${(row.median * 1e9).toFixed(0)} ns/call${fasterTier(`tiny/${threads}/`, row)}${ortText}`);
    }
  }

  // 5. AVX2 ≥ 150 GOP/s: best 1-thread GEMM shape (the 2-thread figure for context).
  {
    const bestAt = (threads) =>
      results
        .filter((r) => ok(r) && /^\d+x\d+x\d+\//.test(r.key) && r.key.endsWith(`/${threads}/sparq-avx2`))
        .sort((x, y) => y.rate - x.rate)[0];
    const one = bestAt(1);
    const two = bestAt(2);
    const name = 'avx2 ≥ 150 GOP/s (1 thread, best GEMM shape)';
    const shapeOf = (r) => r.key.split('/')[0];
    if (!one) verdict(name, null, 'no 1-thread avx2 GEMM row');
    else {
      const twoText = two ? `; 2 threads ${formatRate(two.rate)} GOP/s at ${shapeOf(two)}` : '';
      verdict(name, one.rate >= 150, `${formatRate(one.rate)} GOP/s at ${shapeOf(one)}${twoText}`);
    }
  }

  console.log('\n== targets');
  for (const line of lines) console.log(line);
  if (lines.length === 0) console.log('  (none measured in this run)');
  return lines;
}

// ---------------------------------------------------------------------------

function loadText() {
  const [one, five] = os.loadavg();
  return `${one.toFixed(2)} (1 min), ${five.toFixed(2)} (5 min) on ${os.availableParallelism?.() ?? os.cpus().length} cores`;
}

async function main() {
  const started = Date.now();
  const tiers = sparqTiers();
  const defaultTier = sparq ? sparq.isa() : null;
  console.log('sparq int8 GEMM benchmarks');
  console.log(`  node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.availableParallelism?.() ?? os.cpus().length}`);
  if (sparq) {
    const info = sparq.cpuInfo();
    const addon = process.env.SPARQ_NATIVE ? `, addon ${process.env.SPARQ_NATIVE} (SPARQ_NATIVE)` : '';
    console.log(`  sparq: built [${info.built.join(', ')}], supported [${info.supported.join(', ')}], default isa ${sparq.isa()}, ${sparq.threads()} threads${addon}`);
  } else {
    console.log(`  sparq: not loaded (${sparqLoad.error}); only peers run`);
  }
  console.log(`  onnxruntime-node: ${ort ? ort.env.versions?.node ?? 'loaded' : `not loaded (${ortLoad.error})`}`);
  console.log(
    `  mode: ${args.quick ? 'quick' : 'full'}; benchmark.js minSamples ${CONFIG.bench.minSamples}, maxTime ${CONFIG.bench.maxTime} s;` +
      ` a_zero_point ${A_ZERO_POINT}; JS rows capped at ${CONFIG.jsOpsBudget / 2 ** 20} Mi ops per call` +
      (args.filter ? `; filter /${args.filter.source}/i` : ''),
  );

  const loadBefore = os.loadavg()[0];
  console.log(`  load average before the run: ${loadText()} (other work on the machine skews timings, 2-thread rows most)`);

  for (const [m, k, n] of CONFIG.shapes) await gemmShape(m, k, n, tiers);
  await coldGemv(tiers);
  await tinyCall(tiers);
  const targets = summary(defaultTier);
  if (loadBefore >= 0.5) {
    console.log(`  (the machine was busy before the run, load ${loadBefore.toFixed(2)}: rerun a doubtful suite alone with --filter)`);
  }
  console.log(`\n(total ${((Date.now() - started) / 1000).toFixed(0)} s; load average now ${loadText()}, this run included)`);

  if (args.json) {
    const file = path.resolve(args.json);
    const environment = {
      node: process.version,
      cpu: os.cpus()[0]?.model,
      sparq: sparq ? sparq.cpuInfo() : { error: sparqLoad.error },
      ort: ort ? ort.env.versions : { error: ortLoad.error },
      config: CONFIG,
      date: new Date().toISOString(),
      loadAverageAtEnd: os.loadavg(),
    };
    fs.writeFileSync(file, JSON.stringify({ environment, results, targets }, null, 2));
    console.log(`results written to ${file}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
