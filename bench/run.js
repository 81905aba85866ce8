'use strict';
// Benchmarks of sparq's int8 GEMM family and blockwise quantization against onnxruntime-node
// (benchmark.js suites).
//
//   cd bench && npm install --ignore-scripts && node run.js [--quick] [--filter <regex>]
//       [--threads 1,2] [--json <file>] [--watchdog <seconds>]
//
// Suites: int8 GEMM per shape and thread count, a cold GEMV whose weights come from
// DRAM, and a tiny call; then quantize/dequantize per format, the fused quantized matmul,
// a cold q4_0 GEMV against a plain DRAM read, and an accuracy table. Each row is one
// benchmark.js benchmark; rates are computed from the median of its samples. See README.md
// for the columns.

const os = require('node:os');
const fs = require('node:fs');
const path = require('node:path');
const Benchmark = require('benchmark');
const onnx = require('./onnx-model');
const quantPeers = require('./quant-peers');
const sparseSuites = require('./sparse-suites');

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
      '  --quick    a small subset with short sampling (smoke test, < 2 min)\n' +
      '  --filter   run only rows whose "<suite> <row>" matches (case-insensitive), e.g. tiny, "gemm 512", vnni|ORT,\n' +
      '             "^quantize q4_0", "qmatmul 1x4096x4096 t1", qcold, qaccuracy\n' +
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
      quant: {
        threads: args.threads ?? [1],
        elements: 2 ** 20, // quantize/dequantize: [256×4096]
        refElements: 2 ** 16, // the TS reference quantizes the first 16 rows
        matmul: [
          { shape: [1, 4096, 4096], rows: 'all' },
          { shape: [128, 4096, 4096], rows: 'q4_0' }, // the m = 128 target only
        ],
        matmulThreads: args.threads ?? [1],
        coldThreads: args.threads ?? [1],
        coldBytes: 96 * 2 ** 20, // 11 q4_0 4096² matrices
        accuracy: { m: 8, k: 4096, n: 1024 },
      },
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
      quant: {
        threads: args.threads ?? [1, 2],
        elements: 2 ** 24, // quantize/dequantize: [4096×4096]
        refElements: 2 ** 18, // the TS reference quantizes the first 64 rows
        matmul: [
          { shape: [1, 4096, 4096], rows: 'all' },
          { shape: [1, 4096, 11008], rows: 'all' },
          { shape: [8, 4096, 4096], rows: 'all' },
          { shape: [128, 4096, 4096], rows: 'all' },
        ],
        matmulThreads: args.threads ?? [1, 2],
        coldThreads: args.threads ?? [1, 2],
        coldBytes: 128 * 2 ** 20, // 15 q4_0 4096² matrices, 4× the L3
        accuracy: { m: 8, k: 4096, n: 1024 },
      },
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

/** Seeded normal floats N(0, sigma²) (Box–Muller). */
function randomGaussian(length, seed, sigma = 1) {
  const words = new Uint32Array(randomBytes(Uint8Array, length * 8, seed).buffer, 0, length * 2);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const u1 = (words[2 * i] + 1) / 2 ** 32; // (0, 1]: the log stays finite
    const u2 = words[2 * i + 1] / 2 ** 32;
    out[i] = sigma * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
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

/**
 * Keys that stand for a row timed under another key: a tier whose quantization kernel is one
 * an earlier tier already ran is not timed again (see distinctKernels).
 */
const aliases = new Map();
const resolveKey = (key) => aliases.get(key) ?? key;
const findResult = (key) => results.find((r) => r.key === resolveKey(key) && !r.error);

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

function formatMiB(bytes) {
  const mib = bytes / 2 ** 20;
  return `${mib >= 10 ? mib.toFixed(0) : mib.toFixed(1)} MiB`;
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
  const refRow = r.refKey && findResult(r.refKey);
  const ortRow = r.ortKey && findResult(r.ortKey);
  const shareRow = r.shareOf && findResult(r.shareOf.key);
  const rate = r.unit === 'ns/call' ? `${(r.median * 1e9).toFixed(0)} ns/call` : `${formatRate(r.rate)} ${r.unit}`;
  const kernelRan = r.kernel && !r.kernel.endsWith(`__${r.tier}`) && !r.kernel.endsWith(`.${r.tier}`);
  printRow([
    r.label,
    r.tier,
    r.threads,
    `${formatTime(r.mean)} ±${r.rme.toFixed(1)}%`,
    formatTime(r.median),
    rate,
    refRow ? ratioText(r.rate / refRow.rate, 'ref') : '',
    ortRow ? ratioText(r.rate / ortRow.rate, 'ORT') : '',
    [
      r.bytesRate !== undefined ? `${formatRate(r.bytesRate)} GB/s ${r.bytesWhat}` : '',
      shareRow ? `${((100 * r.rate) / shareRow.rate).toFixed(0)}% of ${r.shareOf.what}` : '',
      r.note,
      kernelRan ? `kernel ${r.kernel}` : '',
    ]
      .filter(Boolean)
      .join('; '),
  ]);
}

/**
 * Run rows as one benchmark.js Suite and print each as it completes. A row: { key, label,
 * tier, threads, fn, async?, before?, after?, unit, opsPerCall (GOP/s) | bytesPerCall (GB/s)
 * | elementsPerCall (Mel/s), refKey?, ortKey?, note?, bench? }. fn is synchronous, or (async:
 * true) returns a promise. With another unit, bytesPerCall adds "<GB/s> <bytesWhat>" to the
 * note; shareOf { key, what } adds this row's rate as a percentage of that row's; bench
 * overrides CONFIG.bench for the row.
 */
function runSuite(title, rows) {
  const suite = new Benchmark.Suite(title);
  const failures = new Map();
  const rowOf = new Map();
  for (const row of rows) {
    const stage = `${title}: ${row.label} ${row.tier ?? ''}`;
    const options = {
      ...CONFIG.bench,
      ...row.bench,
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
              : row.unit === 'Mel/s'
                ? row.elementsPerCall / result.median / 1e6
                : 1 / result.median;
        if (row.bytesPerCall && row.unit !== 'GB/s') result.bytesRate = row.bytesPerCall / result.median / 1e9;
        if (row.after) Object.assign(result, row.after(result));
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

  // A row may name several tiers for the filter (selectTier): one timed kernel that stands for several.
  async run(rows) {
    const chosen = rows.filter((row) => this.wants(row.label, row.selectTier ?? row.tier));
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
// Blockwise quantization (docs/quantization.md): shared helpers

const QUANT_FORMATS = ['q8_0', 'q4_0', 'q4_1', 'nf4', 'int8'];
// The matmul rows besides q4_0, each at its format's default precision.
const QMATMUL_OTHER_FORMATS = [
  ['q8_0', 'int8'],
  ['q4_1', 'int8'],
  ['nf4', 'f32'],
  ['int8', 'int8'],
];
const Q4_0_BLOCK_BYTES = 18; // per 32 weights
const DRAM_READ_LABEL = 'DRAM read (wasm i64x2 sum)';

/** The tier in a quantization kernel name, '<op>.<format>.<tier>'. */
function kernelTier(kernel) {
  return kernel ? kernel.slice(kernel.lastIndexOf('.') + 1) : null;
}

/**
 * The kernels the tiers run for one op, each listed once, in tier order: [{ tier (the first
 * tier that runs it), kernel, kernelTier, alsoFor (later tiers that run it too) }]. probe is a
 * small call of the same op, format and precision: the kernel choice does not depend on the
 * shape, so the big calls are checked and timed once per kernel, not once per tier. (The
 * activation quantizer of the int8 precision follows the tier too, but costs m·k of the m·n·k.)
 */
function distinctKernels(tiers, what, probe) {
  const byKernel = new Map();
  for (const tier of tiers) {
    sparq.setIsa(tier);
    try {
      probe();
    } catch (e) {
      console.log(`  skip   ${what} on ${tier}: ${String(e && e.message ? e.message : e).split('\n')[0]}`);
      continue;
    }
    const kernel = sparq.lastQuantKernel();
    const entry = byKernel.get(kernel);
    if (entry) entry.alsoFor.push(tier);
    else byKernel.set(kernel, { tier, kernel, kernelTier: kernelTier(kernel), alsoFor: [] });
  }
  sparq.setIsa(null);
  return [...byKernel.values()];
}

/** "scalar" or "scalar (also avx2, avx512)": the tiers a distinctKernels entry stands for. */
function kernelTiersText(entry) {
  return entry.alsoFor.length ? `${entry.tier} (also ${entry.alsoFor.join(', ')})` : entry.tier;
}

/**
 * Row fields for one distinctKernels entry: its key (named after the tier that ran), aliases
 * for the tiers it stands for, the tiers the filter sees, and after() reading the kernel.
 */
function kernelRow(entry, keyOf) {
  const key = keyOf(entry.kernelTier);
  for (const tier of [entry.tier, ...entry.alsoFor]) if (keyOf(tier) !== key) aliases.set(keyOf(tier), key);
  const asked = entry.kernelTier !== entry.tier ? `setIsa('${entry.tier}')` : '';
  const also = entry.alsoFor.length ? `same kernel on ${entry.alsoFor.join(', ')}` : '';
  return {
    key,
    tier: entry.kernelTier,
    selectTier: [entry.tier, ...entry.alsoFor].join(' '),
    after: quantKernelAfter,
    note: [asked, also].filter(Boolean).join('; '),
  };
}

/** After a quantization row: the kernel that ran and its tier. */
function quantKernelAfter() {
  const kernel = sparq.lastQuantKernel();
  return { tier: kernelTier(kernel), kernel };
}

/** RMS(a − b) / RMS(b) over the first `length` values (b may be a Float64Array). */
function relativeRms(a, b, length = b.length) {
  let error = 0;
  let norm = 0;
  for (let i = 0; i < length; i++) {
    error += (a[i] - b[i]) ** 2;
    norm += b[i] ** 2;
  }
  return norm === 0 ? Math.sqrt(error) : Math.sqrt(error / norm);
}

/** Y[rows×n] = X[rows×k] · W[n×k]ᵀ in f64. */
function matMulF64(x, w, rows, n, k) {
  const y = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += x[i * k + p] * w[j * k + p];
      y[i * n + j] = sum;
    }
  }
  return y;
}

/** 'ok' or 'TOO LARGE' for an error against its limit, with the figure. */
function withinLimit(error, limit) {
  return `${error.toExponential(2)} ${error <= limit ? 'ok' : `TOO LARGE (limit ${limit})`}`;
}

// ---------------------------------------------------------------------------
// quantize / dequantize throughput, per format

async function quantizeSuites(tiers) {
  const threadCounts = CONFIG.quant.threads;
  const k = 4096;
  const rows = CONFIG.quant.elements / k;
  const elements = rows * k;
  const refRows = Math.min(rows, CONFIG.quant.refElements / k);
  const tableOf = new Map();
  for (const format of QUANT_FORMATS) {
    for (const t of threadCounts) {
      tableOf.set(`${format}/${t}`, new Table(`quantize ${format} t${t}`, `[${rows}×${k}] f32 = ${elements / 2 ** 20} Mi elements per call; rate = elements / median time`));
    }
  }
  const candidates = [
    ['TS reference quantize', 'js'],
    ['TS reference dequantize', 'js'],
    ['ORT DynamicQuantizeLinear', 'MLAS'],
    ...tiers.flatMap((tier) => [
      ['sparq quantize', tier],
      ['sparq dequantize', tier],
    ]),
  ];
  const formats = QUANT_FORMATS.filter((format) =>
    threadCounts.some((t) => candidates.some(([label, tier]) => tableOf.get(`${format}/${t}`).wants(label, tier))),
  );
  if (formats.length === 0) return;
  progress('setup quantize');
  console.log(
    `\n-- quantize: [${rows}×${k}] uniform f32 weights into each format and back` +
      (refRows < rows ? `; the TS reference does the first ${refRows} rows` : ''),
  );
  const w = randomFloats(elements, 31, -1, 1);
  const wRef = w.subarray(0, refRows * k);
  const dequantOut = new Float32Array(elements);
  const probeW = randomFloats(64, 32, -1, 1);
  const dqlModel = ort ? onnx.dynamicQuantizeLinearModel({ length: elements }) : null;
  const dqlFeeds = ort ? { x: new ort.Tensor('float32', w, [elements]) } : null;
  const ortKey = (threads) => `quantize/${threads}/ort-dql`;
  const refNote = refRows < rows ? `times ${refRows} of ${rows} rows; rate per element` : '';

  for (const format of formats) {
    // Checks: every kernel's bytes against the TS reference (first rows) and the first kernel
    // (all rows); every dequantize kernel's floats against the reference, bit for bit.
    progress(`TS reference quantize ${format}`);
    const refBytes = reference ? reference.quantize(wRef, refRows, k, format) : null;
    const refValues = refBytes ? reference.dequantize(refBytes, refRows, k, format) : null;
    let quantizeKernels = [];
    let dequantizeKernels = [];
    let matrix = null; // the first kernel's result: what the dequantize rows read
    if (sparq) {
      const probeMatrix = sparq.quantize(probeW, 1, 64, format);
      quantizeKernels = distinctKernels(tiers, `sparq quantize ${format}`, () => sparq.quantize(probeW, 1, 64, format));
      dequantizeKernels = distinctKernels(tiers, `sparq dequantize ${format}`, () => probeMatrix.dequantize());
      let firstBytes = null;
      const agreement = [];
      for (const entry of quantizeKernels) {
        sparqBefore(entry.tier, threadCounts[0])();
        const made = await tryFirstCall(`sparq quantize ${format} ${entry.tier}`, () => sparq.quantize(w, rows, k, format));
        if (!made) {
          entry.failed = true;
          continue;
        }
        const bytes = made.value.toBytes();
        const rowBytes = bytes.length / rows;
        const versus = [];
        if (refBytes) versus.push(`ref ${compareInts(bytes, refBytes, refBytes.length, rowBytes).text}`);
        if (firstBytes) versus.push(`${quantizeKernels[0].kernelTier} ${compareInts(bytes, firstBytes, bytes.length, rowBytes).text}`);
        agreement.push(`${entry.kernel} on ${kernelTiersText(entry)}: ${versus.join(', ') || 'nothing to compare with'}`);
        if (!matrix) {
          matrix = made.value;
          firstBytes = bytes;
        }
      }
      if (agreement.length) check(`sparq quantize ${format} bytes vs TS reference (${refRows} rows) and each other`, agreement.join('; '));
      const dequantAgreement = [];
      for (const entry of dequantizeKernels) {
        if (!matrix) break;
        sparqBefore(entry.tier, threadCounts[0])();
        if (!(await tryFirstCall(`sparq dequantize ${format} ${entry.tier}`, () => matrix.dequantize({ out: dequantOut })))) {
          entry.failed = true;
          continue;
        }
        const bits = new Int32Array(dequantOut.buffer, 0, refRows * k);
        const text = refValues ? compareInts(bits, new Int32Array(refValues.buffer), refRows * k, k).text : 'nothing to compare with';
        dequantAgreement.push(`${entry.kernel} on ${kernelTiersText(entry)}: ref bits ${text}`);
      }
      if (dequantAgreement.length) check(`sparq dequantize ${format} vs TS reference (${refRows} rows)`, dequantAgreement.join('; '));
    }

    for (const [blockIndex, threads] of threadCounts.entries()) {
      const table = tableOf.get(`${format}/${threads}`);
      const key = (name) => `quantize/${format}/${threads}/${name}`;
      const jsKey = (name) => `quantize/${format}/js/${name}`;
      if (blockIndex === 0 && reference) {
        const refElements = refRows * k;
        await table.run([
          {
            key: jsKey('ref-q'),
            label: 'TS reference quantize',
            tier: 'js',
            threads: 1,
            fn: () => reference.quantize(wRef, refRows, k, format),
            elementsPerCall: refElements,
            unit: 'Mel/s',
            bytesPerCall: 4 * refElements,
            bytesWhat: 'f32 in',
            note: refNote,
          },
          {
            key: jsKey('ref-dq'),
            label: 'TS reference dequantize',
            tier: 'js',
            threads: 1,
            fn: () => reference.dequantize(refBytes, refRows, k, format),
            elementsPerCall: refElements,
            unit: 'Mel/s',
            bytesPerCall: 4 * refElements,
            bytesWhat: 'f32 out',
            note: refNote,
          },
        ]);
      }
      // DynamicQuantizeLinear has no format: timed once per thread count, in the first table
      // that runs, and every format's quantize rows are compared with it.
      if (ort && !findResult(ortKey(threads)) && table.wants('ORT DynamicQuantizeLinear', 'MLAS')) {
        await withOrtSessions(`ORT DynamicQuantizeLinear t${threads}`, [dqlModel], ortSessionOptions(threads), ([session]) =>
          table.run([
            {
              key: ortKey(threads),
              label: 'ORT DynamicQuantizeLinear',
              tier: 'MLAS',
              threads,
              async: true,
              fn: () => session.run(dqlFeeds),
              before: ortBefore,
              elementsPerCall: elements,
              unit: 'Mel/s',
              bytesPerCall: 4 * elements,
              bytesWhat: 'f32 in',
              note: 'to u8, one scale per tensor; any format',
            },
          ]),
        );
      }
      const sparqRows = [];
      for (const entry of quantizeKernels.filter((e) => !e.failed)) {
        const row = kernelRow(entry, (tier) => key(`sparq-q-${tier}`));
        sparqRows.push({
          ...row,
          label: 'sparq quantize',
          threads,
          fn: () => sparq.quantize(w, rows, k, format),
          before: sparqBefore(entry.tier, threads),
          elementsPerCall: elements,
          unit: 'Mel/s',
          bytesPerCall: 4 * elements,
          bytesWhat: 'f32 in',
          refKey: jsKey('ref-q'),
          ortKey: ortKey(threads),
        });
      }
      for (const entry of dequantizeKernels.filter((e) => matrix && !e.failed)) {
        const row = kernelRow(entry, (tier) => key(`sparq-dq-${tier}`));
        sparqRows.push({
          ...row,
          label: 'sparq dequantize',
          threads,
          fn: () => matrix.dequantize({ out: dequantOut }),
          before: sparqBefore(entry.tier, threads),
          elementsPerCall: elements,
          unit: 'Mel/s',
          bytesPerCall: 4 * elements,
          bytesWhat: 'f32 out',
          refKey: jsKey('ref-dq'),
        });
      }
      await table.run(sparqRows);
    }
  }
  restoreSparqDefaults();
}

// ---------------------------------------------------------------------------
// Fused quantized matmul at one shape

async function qmatmulShape({ shape: [m, k, n], rows: rowSet }, tiers) {
  const shape = `${m}x${k}x${n}`;
  const opsPerCall = 2 * m * n * k;
  const threadCounts = CONFIG.quant.matmulThreads;
  const tables = threadCounts.map((t) => new Table(`qmatmul ${shape} t${t}`, `${formatOps(opsPerCall)} per call; Y = X·Wᵀ, W [${n}×${k}]`));
  const best = tiers[tiers.length - 1] ?? '';
  const allRows = rowSet === 'all';
  const wants = (label, tier) => tables.some((table) => table.wants(label, tier));
  const wantsOther = ([format, precision]) => allRows && wants(`sparq ${format} matmul ${precision}`, best);
  const candidates = [
    ['ORT MatMulNBits level 4', 'MLAS'],
    ['ORT MatMulNBits level 0', 'MLAS'],
    ...tiers.map((tier) => ['sparq q4_0 matmul int8', tier]),
    ...(allRows ? [['ORT MatMul f32', 'MLAS'], ['sparq linearInt8', best], ['sparq q4_0 matmul f32', best]] : []),
  ];
  if (!candidates.some(([label, tier]) => wants(label, tier)) && !QMATMUL_OTHER_FORMATS.some(wantsOther)) return;
  progress(`setup qmatmul ${shape}`);
  console.log(
    `\n-- qmatmul ${shape}: ${formatOps(opsPerCall)} per call, W [${n}×${k}] uniform f32 quantized` +
      (allRows ? '' : ' (q4_0 rows only at this shape in this mode)'),
  );

  const seed = m * 7919 + k * 104729 + n + 17;
  const x = randomFloats(m * k, seed, -1, 1);
  const wFloat = randomFloats(n * k, seed + 1, -1, 1);
  const out = new Float32Array(m * n);
  const matrices = {};
  if (sparq) {
    try {
      matrices.q4_0 = sparq.quantize(wFloat, n, k, 'q4_0');
      for (const spec of QMATMUL_OTHER_FORMATS.filter(wantsOther)) matrices[spec[0]] = sparq.quantize(wFloat, n, k, spec[0]);
    } catch (e) {
      console.log(`! sparq quantize at ${shape} failed: ${e.message}`);
    }
  }
  const layer = sparq && allRows && wants('sparq linearInt8', best) ? sparq.quantizeLinearInt8(wFloat, n, k) : null;
  // ORT MatMulNBits gets the very bytes sparq multiplies (quant-peers.js re-pairs the nibbles).
  progress(`ORT models for qmatmul ${shape}`);
  const q4_0Bytes = matrices.q4_0 ? matrices.q4_0.toBytes() : null;
  const models = {};
  if (ort && q4_0Bytes) {
    models.l4 = quantPeers.matMulNBitsModelFromQ4_0({ n, k, accuracyLevel: 4, q4_0Bytes });
    models.l0 = quantPeers.matMulNBitsModelFromQ4_0({ n, k, accuracyLevel: 0, q4_0Bytes });
  }
  if (ort && allRows && wants('ORT MatMul f32', 'MLAS')) models.f32 = onnx.matMulModel({ m, k, n, bKxN: transpose(wFloat, n, k) });
  const feeds = ort ? { A: new ort.Tensor('float32', x, [m, k]) } : null;

  // Checks, before any timing. The reference output is ORT MatMulNBits level 0: f32 arithmetic
  // on the same dequantized weights, so only activation rounding separates the int8 precision.
  const ortY0 = models.l0 ? await ortOutput('ORT MatMulNBits level 0', models.l0, feeds) : null;
  if (ortY0 && wants('ORT MatMulNBits level 4', 'MLAS')) {
    const ortY4 = await ortOutput('ORT MatMulNBits level 4', models.l4, feeds);
    if (ortY4) check('ORT MatMulNBits level 4 (int8 activations) vs level 0', `max|Δ|/max|y| ${relativeDifference(ortY4, ortY0, m * n).toExponential(2)}`);
  }
  const INT8_LIMIT = 2e-2;
  const F32_LIMIT = 1e-4;
  const runnable = new Set(); // `${name}/${threads}`
  const q4Kernels = matrices.q4_0
    ? distinctKernels(tiers, 'sparq q4_0 matmul int8', () => {
        const probe = sparq.quantize(randomFloats(16 * 64, 33, -1, 1), 16, 64, 'q4_0');
        sparq.matmulQuantized(randomFloats(64, 34, -1, 1), probe, 1, { precision: 'int8' });
      })
    : [];
  const firstCall = {}; // seconds of each row's first call, to spot the slow ones
  const tryTimed = async (label, fn) => {
    const started = process.hrtime.bigint();
    const made = await tryFirstCall(label, fn);
    if (made) firstCall[label] = Number(process.hrtime.bigint() - started) / 1e9;
    return made;
  };
  if (q4Kernels.length) {
    const agreement = [];
    for (const entry of q4Kernels) {
      const perThreads = [];
      let firstY = null;
      for (const threads of threadCounts) {
        sparqBefore(entry.tier, threads)();
        out.fill(0);
        const made = await tryTimed(`sparq q4_0 matmul int8 ${entry.tier} t${threads}`, () => sparq.matmulQuantized(x, matrices.q4_0, m, { out, precision: 'int8' }));
        if (!made) continue;
        runnable.add(`q4_0-int8-${entry.tier}/${threads}`);
        const parts = [];
        if (ortY0) parts.push(`vs ORT level 0 ${withinLimit(relativeDifference(out, ortY0, m * n), INT8_LIMIT)}`);
        if (firstY) parts.push(`vs t${threadCounts[0]} ${compareInts(new Int32Array(out.buffer), new Int32Array(firstY.buffer), m * n, n).text}`);
        else firstY = out.slice();
        perThreads.push(`t${threads} ${parts.join(', ') || 'ran'}`);
      }
      agreement.push(`${entry.kernel} on ${kernelTiersText(entry)}: ${perThreads.join(', ')}`);
    }
    check(`sparq q4_0 matmul int8, max|Δ|/max|y| (limit ${INT8_LIMIT})`, agreement.join('; '));
  }
  // The other rows run on the best tier. q4_0 f32 is checked against ORT level 0 on every
  // output, the rest against f64 products of their own weights on row 0 of X (expected: the
  // first n outputs).
  const exactRow0 = (weights) => {
    progress(`f64 check products for qmatmul ${shape}`);
    return matMulF64(x, weights, 1, n, k);
  };
  const otherChecks = [];
  const checkOther = async (name, label, call, expected, limit) => {
    const perThreads = [];
    for (const threads of threadCounts) {
      sparqBefore(best, threads)();
      out.fill(0);
      if (!(await tryTimed(`${label} t${threads}`, call))) continue;
      runnable.add(`${name}/${threads}`);
      perThreads.push(`t${threads} ${withinLimit(relativeDifference(out, expected, expected.length), limit)}`);
    }
    const kernel = name === 'linear' ? sparq.lastInt8GemmKernel() : sparq.lastQuantKernel();
    if (perThreads.length) otherChecks.push(`${label.replace('sparq ', '')} (${kernel}) ${perThreads.join(', ')}`);
  };
  if (matrices.q4_0 && allRows && wants('sparq q4_0 matmul f32', best)) {
    const expected = ortY0 ?? exactRow0(matrices.q4_0.dequantize());
    await checkOther('q4_0-f32', 'sparq q4_0 matmul f32', () => sparq.matmulQuantized(x, matrices.q4_0, m, { out, precision: 'f32' }), expected, F32_LIMIT);
  }
  for (const [format, precision] of QMATMUL_OTHER_FORMATS) {
    if (!matrices[format]) continue;
    const limit = precision === 'int8' ? INT8_LIMIT : F32_LIMIT;
    const call = () => sparq.matmulQuantized(x, matrices[format], m, { out, precision });
    await checkOther(`${format}-${precision}`, `sparq ${format} matmul ${precision}`, call, exactRow0(matrices[format].dequantize()), limit);
  }
  if (layer) await checkOther('linear', 'sparq linearInt8', () => sparq.linearInt8(x, layer, m, { out }), exactRow0(wFloat), INT8_LIMIT);
  if (otherChecks.length) {
    check(`sparq on ${best}: q4_0 f32 vs ORT level 0; others vs f64 on row 0; max|Δ|/max|y|`, otherChecks.join('; '));
  }

  // Rows whose first call took over 0.3 s (a tier still on the scalar kernel, say) take fewer samples.
  const slowness = (label) =>
    firstCall[label] > 0.3 ? { bench: { minSamples: 2 }, note: `slow call (${firstCall[label].toFixed(1)} s): 2 samples at least` } : {};
  const gemv = m === 1; // memory-bound: the weight bytes per second say more than GOP/s
  for (const threads of threadCounts) {
    const table = tables[threadCounts.indexOf(threads)];
    const key = (name) => `qmm/${shape}/${threads}/${name}`;
    const ortRows = [
      ['l4', 'ORT MatMulNBits level 4', 'q4_0 bytes; int8 activations'],
      ['l0', 'ORT MatMulNBits level 0', 'q4_0 bytes; f32 activations'],
      ['f32', 'ORT MatMul f32', 'f32 weights, for context'],
    ];
    for (const [name, label, note] of ortRows) {
      if (!models[name] || !table.wants(label, 'MLAS')) continue;
      await withOrtSessions(`${label} t${threads}`, [models[name]], ortSessionOptions(threads), ([session]) =>
        table.run([
          {
            key: key(`ort-${name}`),
            label,
            tier: 'MLAS',
            threads,
            async: true,
            fn: () => session.run(feeds),
            before: ortBefore,
            opsPerCall,
            unit: 'GOP/s',
            ortKey: name === 'l4' ? undefined : key('ort-l4'),
            note,
          },
        ]),
      );
    }
    const weightBytes = (matrix) => (gemv ? { bytesPerCall: matrix.byteLength, bytesWhat: 'weights' } : {});
    const sparqRows = [];
    for (const entry of q4Kernels) {
      const label = `sparq q4_0 matmul int8 ${entry.tier} t${threads}`;
      if (!runnable.has(`q4_0-int8-${entry.tier}/${threads}`)) continue;
      const row = kernelRow(entry, (tier) => key(`sparq-q4_0-int8-${tier}`));
      const slow = slowness(label);
      sparqRows.push({
        ...row,
        ...slow,
        note: [row.note, slow.note].filter(Boolean).join('; '),
        label: 'sparq q4_0 matmul int8',
        threads,
        fn: () => sparq.matmulQuantized(x, matrices.q4_0, m, { out, precision: 'int8' }),
        before: sparqBefore(entry.tier, threads),
        opsPerCall,
        unit: 'GOP/s',
        ...weightBytes(matrices.q4_0),
        ortKey: key('ort-l4'),
      });
    }
    const bestRow = (name, label, fn, matrix) => {
      if (!runnable.has(`${name}/${threads}`)) return;
      sparqRows.push({
        key: key(`sparq-${name}`),
        label,
        tier: best,
        threads,
        fn,
        before: sparqBefore(best, threads),
        after: name === 'linear' ? sparqAfter() : quantKernelAfter,
        opsPerCall,
        unit: 'GOP/s',
        ...(matrix ? weightBytes(matrix) : {}),
        ortKey: key('ort-l4'),
        ...slowness(`${label} t${threads}`),
      });
    };
    bestRow('q4_0-f32', 'sparq q4_0 matmul f32', () => sparq.matmulQuantized(x, matrices.q4_0, m, { out, precision: 'f32' }), matrices.q4_0);
    for (const [format, precision] of QMATMUL_OTHER_FORMATS) {
      if (!matrices[format]) continue;
      bestRow(`${format}-${precision}`, `sparq ${format} matmul ${precision}`, () => sparq.matmulQuantized(x, matrices[format], m, { out, precision }), matrices[format]);
    }
    if (layer) {
      bestRow('linear', 'sparq linearInt8', () => sparq.linearInt8(x, layer, m, { out }), null);
      const last = sparqRows[sparqRows.length - 1];
      if (last && last.key === key('sparq-linear')) {
        last.note = ['int8 weights per row (quantizeLinearInt8), for context', last.note].filter(Boolean).join('; ');
        if (gemv) Object.assign(last, { bytesPerCall: n * k, bytesWhat: 'int8 weights' });
      }
    }
    await table.run(sparqRows);
  }
  restoreSparqDefaults();
}

// ---------------------------------------------------------------------------
// Cold q4_0 GEMV: m = 1, 4096×4096, a different matrix each call, against a plain DRAM read

/** Random q4_0 blocks into `bytes`: random codes; each f16 scale gets exponent 5 (|d| in [2⁻¹⁰, 2⁻⁹)), random sign and mantissa. */
function fillRandomQ4_0(bytes, seed) {
  bytes.set(randomBytes(Uint8Array, bytes.length, seed));
  // Byte 1 of a block is the scale's high byte: sign (bit 7), exponent (bits 6…2), mantissa bits 9…8 (bits 1…0).
  for (let at = 0; at < bytes.length; at += Q4_0_BLOCK_BYTES) bytes[at + 1] = (bytes[at + 1] & 0x83) | (5 << 2);
}

async function qcoldGemv(tiers) {
  const k = 4096;
  const n = 4096;
  const matrixBytes = (n * k * Q4_0_BLOCK_BYTES) / 32;
  const count = Math.ceil(CONFIG.quant.coldBytes / matrixBytes);
  const threadCounts = CONFIG.quant.coldThreads;
  const tables = threadCounts.map(
    (t) => new Table(`qcold-gemv 1x${k}x${n} t${t}`, `q4_0, ${count} matrices, ${formatMiB(count * matrixBytes)} rotated; rate = weight bytes / median time`),
  );
  const candidates = [[DRAM_READ_LABEL, 'wasm'], ['ORT MatMulNBits level 4', 'MLAS'], ...tiers.map((tier) => ['sparq q4_0 matmul int8', tier])];
  if (!tables.some((table) => candidates.some(([label, tier]) => table.wants(label, tier)))) return;
  progress('setup qcold-gemv');
  console.log(
    `\n-- qcold-gemv 1x${k}x${n}: each call reads the next of ${count} q4_0 matrices (${formatMiB(count * matrixBytes)}, ${formatMiB(matrixBytes)} each);` +
      ` the DRAM read sums the same bytes, ${formatMiB(matrixBytes)} per call`,
  );

  // One buffer holds every matrix back to back: the DRAM read sums it in place, sparq copies
  // each matrix into its own QuantizedMatrix, ORT gets MatMulNBits models of the same bytes.
  let memory = null;
  let bytes = null;
  try {
    ({ memory, bytes } = quantPeers.readableMemory(count * matrixBytes));
  } catch (e) {
    console.log(`! ${DRAM_READ_LABEL}: ${e.message}; row left out`);
    bytes = new Uint8Array(count * matrixBytes);
  }
  const regions = Array.from({ length: count }, (_, i) => bytes.subarray(i * matrixBytes, (i + 1) * matrixBytes));
  regions.forEach((region, i) => fillRandomQ4_0(region, 3000 + i));
  // fromBytes copies; it takes no view of shared memory, so it gets a plain copy of each region.
  const matrices = sparq ? regions.map((region) => sparq.QuantizedMatrix.fromBytes('q4_0', n, k, region.slice())) : [];
  const wantsOrt = tables.some((table) => table.wants('ORT MatMulNBits level 4', 'MLAS'));
  progress('ORT models for qcold-gemv');
  const models = ort && wantsOrt ? regions.map((region) => quantPeers.matMulNBitsModelFromQ4_0({ n, k, accuracyLevel: 4, q4_0Bytes: region })) : [];
  const x = randomFloats(k, 19, -1, 1);
  const out = new Float32Array(n);
  const feeds = ort ? { A: new ort.Tensor('float32', x, [1, k]) } : null;

  // Checks: the read against a JS sum; sparq against ORT on matrix 0 (both quantize x to int8
  // per block of 32, with different rounding).
  if (memory) {
    const readThreads = Math.max(...threadCounts);
    const length = 2 ** 20;
    const made = await tryFirstCall(DRAM_READ_LABEL, async () => {
      const reader = await quantPeers.MemoryReader.open(memory, readThreads);
      try {
        return reader.read(matrixBytes - length, length) === quantPeers.sumWordsJs(bytes, matrixBytes - length, length);
      } finally {
        await reader.close();
      }
    });
    if (made) check(`${DRAM_READ_LABEL} vs JS sum (last MiB of matrix 0, ${readThreads} thread${readThreads > 1 ? 's' : ''})`, made.value ? 'exact' : 'DIFFERENT');
    if (!made || !made.value) memory = null; // no row for a read that is wrong or does not run
  }
  const ortY = models.length ? await ortOutput('ORT MatMulNBits level 4 (cold, matrix 0)', models[0], feeds) : null;
  const kernels = matrices.length
    ? distinctKernels(tiers, 'sparq q4_0 matmul int8', () => sparq.matmulQuantized(x.subarray(0, 64), sparq.quantize(randomFloats(16 * 64, 35, -1, 1), 16, 64, 'q4_0'), 1, { precision: 'int8' }))
    : [];
  const runnable = [];
  const agreement = [];
  for (const entry of kernels) {
    sparqBefore(entry.tier, 1)();
    if (!(await tryFirstCall(`sparq q4_0 matmul int8 ${entry.tier} (cold)`, () => sparq.matmulQuantized(x, matrices[0], 1, { out, precision: 'int8' })))) continue;
    runnable.push(entry);
    if (ortY) agreement.push(`${entry.kernel} on ${kernelTiersText(entry)} ${withinLimit(relativeDifference(out, ortY, n), 2e-2)}`);
  }
  if (agreement.length) check('sparq q4_0 matmul int8 vs ORT MatMulNBits level 4 on matrix 0, max|Δ|/max|y|', agreement.join('; '));

  for (const [blockIndex, threads] of threadCounts.entries()) {
    const table = tables[blockIndex];
    const key = (name) => `qcold/${threads}/${name}`;
    if (memory && table.wants(DRAM_READ_LABEL, 'wasm')) {
      const opened = await tryFirstCall(`${DRAM_READ_LABEL} t${threads}`, () => quantPeers.MemoryReader.open(memory, threads));
      if (opened) {
        const reader = opened.value;
        let next = 0;
        try {
          await table.run([
            {
              key: key('dram'),
              label: DRAM_READ_LABEL,
              tier: 'wasm',
              threads,
              fn: () => reader.read((next++ % count) * matrixBytes, matrixBytes),
              before: ortBefore,
              bytesPerCall: matrixBytes,
              unit: 'GB/s',
              note: threads > 1 ? `${threads} threads (${threads - 1} worker${threads > 2 ? 's' : ''}), 256 KiB chunks` : 'plain loads, no compute',
            },
          ]);
        } finally {
          await reader.close();
        }
      }
    }
    if (models.length && ortY && table.wants('ORT MatMulNBits level 4', 'MLAS')) {
      // One session per matrix; at T > 1 their idle pools would spin (see the int8 cold GEMV).
      const options = ortSessionOptions(threads, { spinning: threads === 1 });
      let next = 0;
      await withOrtSessions(`ORT qcold sessions t${threads}`, models, options, (sessions) =>
        table.run([
          {
            key: key('ort-l4'),
            label: 'ORT MatMulNBits level 4',
            tier: 'MLAS',
            threads,
            async: true,
            fn: () => sessions[next++ % count].run(feeds),
            before: ortBefore,
            bytesPerCall: matrixBytes,
            unit: 'GB/s',
            shareOf: { key: key('dram'), what: 'DRAM read' },
            note: threads > 1 ? `${count} sessions, intra-op spinning off` : `${count} sessions`,
          },
        ]),
      );
    }
    let next = 0;
    await table.run(
      runnable.map((entry) => {
        const row = kernelRow(entry, (tier) => key(`sparq-${tier}`));
        return {
          ...row,
          label: 'sparq q4_0 matmul int8',
          threads,
          fn: () => sparq.matmulQuantized(x, matrices[next++ % count], 1, { out, precision: 'int8' }),
          before: sparqBefore(entry.tier, threads),
          bytesPerCall: matrixBytes,
          unit: 'GB/s',
          ortKey: key('ort-l4'),
          shareOf: { key: key('dram'), what: 'DRAM read' },
        };
      }),
    );
  }
  restoreSparqDefaults();
}

// ---------------------------------------------------------------------------
// Accuracy (not timed): weight RMSE per format; matmul error of both precisions

const accuracy = [];

async function qaccuracy() {
  if (!sparq || !selected('qaccuracy', QUANT_FORMATS.join(' '))) return;
  const { m, k, n } = CONFIG.quant.accuracy;
  progress('qaccuracy');
  const w = randomGaussian(n * k, 51);
  const x = randomGaussian(m * k, 52);
  const exact = matMulF64(x, w, m, n, k);
  let exactRms = 0;
  for (const v of exact) exactRms += v * v;
  exactRms = Math.sqrt(exactRms / exact.length);
  const cases = [
    ['q8_0', 32],
    ['q4_0', 32],
    ['q4_1', 32],
    ['nf4', 64],
    ['nf4', 32],
    ['int8', 64],
  ];
  const columns = [
    ['format', 6],
    ['block', 5],
    ['bits/w', 6],
    ['W RMSE', 9],
    ['W max|Δ|', 9],
    ['Y f32', 9],
    ['Y int8', 9],
    ['int8 vs f32', 11],
    ['f32 vs f64', 10],
    ['kernels', 0],
  ];
  const line = (cells) =>
    console.log(`  ${columns.map(([, width], i) => (width ? String(cells[i] ?? '').padEnd(width) : String(cells[i] ?? ''))).join('  ').trimEnd()}`);
  const e = (v) => (v === null || v === undefined ? '–' : v.toExponential(2));
  console.log(`\n== qaccuracy  (not timed, default tier ${sparq.isa()}; W [${n}×${k}] and X [${m}×${k}] ~ N(0, 1))`);
  console.log(`  W: dequantized vs original.  Y = X·Wᵀ: RMS(Δ) / RMS(Y) against the f64 product with the original W (RMS(Y) = ${exactRms.toFixed(1)}).`);
  console.log('  int8 vs f32: activation rounding alone; f32 vs f64: the f32 precision against the f64 product with the dequantized W.');
  line(columns.map(([name]) => name));
  for (const [format, blockSize] of cases) {
    progress(`qaccuracy ${format} b${blockSize}`);
    const made = await tryFirstCall(`qaccuracy ${format} block ${blockSize}`, () => {
      const matrix = sparq.quantize(w, n, k, format, { blockSize });
      const dequantized = matrix.dequantize();
      let sumSquares = 0;
      let maxError = 0;
      for (let i = 0; i < w.length; i++) {
        const d = Math.abs(dequantized[i] - w[i]);
        sumSquares += d * d;
        maxError = Math.max(maxError, d);
      }
      const kernels = [];
      const yF32 = sparq.matmulQuantized(x, matrix, m, { precision: 'f32' });
      kernels.push(sparq.lastQuantKernel());
      let yInt8 = null;
      if (format !== 'nf4') {
        yInt8 = sparq.matmulQuantized(x, matrix, m, { precision: 'int8' });
        kernels.push(sparq.lastQuantKernel());
      }
      const exactDequantized = matMulF64(x, dequantized, m, n, k);
      return {
        format,
        blockSize,
        bitsPerWeight: (8 * matrix.byteLength) / (n * k),
        weightRmse: Math.sqrt(sumSquares / w.length),
        weightMaxError: maxError,
        f32: relativeRms(yF32, exact),
        int8: yInt8 ? relativeRms(yInt8, exact) : null,
        int8VsF32: yInt8 ? relativeRms(yInt8, yF32) : null,
        f32VsDequantized: relativeRms(yF32, exactDequantized),
        kernels,
      };
    });
    if (!made) continue;
    const r = made.value;
    accuracy.push(r);
    line([format, blockSize, r.bitsPerWeight.toFixed(2), e(r.weightRmse), e(r.weightMaxError), e(r.f32), e(r.int8), e(r.int8VsF32), e(r.f32VsDequantized), r.kernels.join(', ')]);
  }
  // ORT MatMulNBits on the same q4_0 bytes: level 0 in the f32 column, level 4 in the int8 one.
  if (ort) {
    const q4_0Bytes = sparq.quantize(w, n, k, 'q4_0').toBytes();
    const feeds = { A: new ort.Tensor('float32', x, [m, k]) };
    const y0 = await ortOutput('ORT MatMulNBits level 0 (qaccuracy)', quantPeers.matMulNBitsModelFromQ4_0({ n, k, accuracyLevel: 0, q4_0Bytes }), feeds);
    const y4 = await ortOutput('ORT MatMulNBits level 4 (qaccuracy)', quantPeers.matMulNBitsModelFromQ4_0({ n, k, accuracyLevel: 4, q4_0Bytes }), feeds);
    if (y0 && y4) {
      const r = { format: 'q4_0', peer: 'ORT MatMulNBits', f32: relativeRms(y0, exact), int8: relativeRms(y4, exact), int8VsF32: relativeRms(y4, y0) };
      accuracy.push(r);
      line(['q4_0', 32, '', '', '', e(r.f32), e(r.int8), e(r.int8VsF32), '', 'ORT MatMulNBits: level 0 as f32, level 4 as int8']);
    }
  }
}

// ---------------------------------------------------------------------------
// Targets

/**
 * The targets, each judged on sparq's default tier (what setIsa(null) picks, normally the
 * best one the CPU runs); a faster non-default tier is mentioned alongside.
 */
function summary(defaultTier) {
  const ok = (r) => r && !r.error;
  const find = findResult;
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

  // Blockwise quantization. sparq's rows are keyed by the tier whose kernel ran; the default
  // tier's key resolves to the row of the kernel it runs.
  const fasterKernel = (prefix, row) => {
    const fastest = results.filter((r) => ok(r) && r.key.startsWith(prefix)).sort((x, y) => y.rate - x.rate)[0];
    return fastest && fastest !== row ? ` (fastest: ${fastest.kernel ?? fastest.tier} ${formatRate(fastest.rate)} ${fastest.unit})` : '';
  };
  const threadText = (threads) => `${threads} thread${threads > 1 ? 's' : ''}`;

  // 6. Q4_0 cold GEMV ≥ 85% of a plain DRAM read of the same bytes.
  for (const threads of CONFIG.quant.coldThreads) {
    const row = find(`qcold/${threads}/sparq-${defaultTier}`);
    const peer = find(`qcold/${threads}/dram`);
    const ortRow = find(`qcold/${threads}/ort-l4`);
    const name = `q4_0 cold GEMV ≥ 85% of DRAM read (${threadText(threads)})`;
    if (!row || !peer) verdict(name, null, 'needs sparq and DRAM read qcold rows');
    else {
      const ortText = ortRow ? `; ORT MatMulNBits level 4 ${formatRate(ortRow.rate)} GB/s` : '';
      verdict(
        name,
        row.rate >= 0.85 * peer.rate,
        `${row.kernel} ${formatRate(row.rate)} vs ${formatRate(peer.rate)} GB/s = ${((100 * row.rate) / peer.rate).toFixed(0)}%${ortText}${fasterKernel(`qcold/${threads}/sparq-`, row)}`,
      );
    }
  }

  // 7. Q4_0 GEMM at m = 128 ≥ 2.5× ORT MatMulNBits accuracy_level 4, 1 thread.
  for (const { shape: [m, k, n] } of CONFIG.quant.matmul.filter(({ shape }) => shape[0] === 128)) {
    const shape = `${m}x${k}x${n}`;
    const row = find(`qmm/${shape}/1/sparq-q4_0-int8-${defaultTier}`);
    const peer = find(`qmm/${shape}/1/ort-l4`);
    const name = `q4_0 GEMM ${shape} ≥ 2.5× ORT MatMulNBits level 4 (1 thread)`;
    if (!row || !peer) verdict(name, null, 'needs 1-thread sparq q4_0 int8 and ORT level 4 rows');
    else
      verdict(
        name,
        row.rate >= 2.5 * peer.rate,
        `${row.kernel} ${formatRate(row.rate)} vs ${formatRate(peer.rate)} GOP/s = ${times(row.rate, peer.rate)}${fasterKernel(`qmm/${shape}/1/sparq-q4_0-int8-`, row)}`,
      );
  }

  // 8. quantize ≥ 2× ORT DynamicQuantizeLinear, elements per second, each format.
  {
    const threads = CONFIG.quant.threads[0];
    const peer = find(`quantize/${threads}/ort-dql`);
    for (const format of QUANT_FORMATS) {
      const row = find(`quantize/${format}/${threads}/sparq-q-${defaultTier}`);
      const name = `quantize ${format} ≥ 2× ORT DynamicQuantizeLinear elements/s (${threadText(threads)})`;
      if (!row || !peer) verdict(name, null, 'needs sparq quantize and ORT DynamicQuantizeLinear rows');
      else
        verdict(
          name,
          row.rate >= 2 * peer.rate,
          `${row.kernel} ${formatRate(row.rate)} vs ${formatRate(peer.rate)} Mel/s = ${times(row.rate, peer.rate)}${fasterKernel(`quantize/${format}/${threads}/sparq-q-`, row)}`,
        );
    }
  }

  lines.push(...sparseSuites.verdicts(defaultTier));
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
  console.log('sparq benchmarks: int8 GEMM and blockwise quantization');
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
  await quantizeSuites(tiers);
  for (const spec of CONFIG.quant.matmul) await qmatmulShape(spec, tiers);
  await qcoldGemv(tiers);
  await qaccuracy();
  // Dense f32 and sparse CSR suites (sparse-suites.js), with the helpers above.
  await sparseSuites.run({ args, sparq, reference, ort, tiers, Table, check, tryFirstCall, progress, withOrtSessions, ortOutput,
    ortSessionOptions, ortBefore, sparqBefore, restoreSparqDefaults, findResult, aliases, quantPeers });
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
    fs.writeFileSync(file, JSON.stringify({ environment, results, accuracy, targets }, null, 2));
    console.log(`results written to ${file}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
