'use strict';
// Benchmarks of sparq's int8 GEMM family against onnxruntime-node (benchmark.js suites).
//
//   cd bench && npm install --ignore-scripts && node run.js [--quick] [--filter <regex>]
//       [--threads 1,2] [--json <file>]
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
  const args = { quick: false, filter: null, threads: null, json: null };
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
    else if (arg === '--help' || arg === '-h') usage();
    else usage(`unknown argument ${arg}`);
  }
  if (args.threads && !args.threads.every((t) => Number.isInteger(t) && t >= 1)) usage('--threads takes e.g. 1,2');
  return args;
}

function usage(problem) {
  if (problem) console.error(`run.js: ${problem}`);
  console.error(
    'usage: node run.js [--quick] [--filter <regex>] [--threads 1,2] [--json <file>]\n' +
      '  --quick    a small subset with short sampling (smoke test, < 1 min)\n' +
      '  --filter   run only rows whose "<suite> <row>" matches (case-insensitive), e.g. tiny, "gemm 512", vnni|ORT\n' +
      '  --threads  thread counts to run (default 1,2)\n' +
      '  --json     also write every result to this file',
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

function ortSessionOptions(threads) {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
    logSeverityLevel: 3,
  };
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

/** Whether any of these suites would run any of these [label, tier] rows (to skip setup). */
function anySelected(titles, rows) {
  return titles.some((title) => rows.some(([label, tier]) => selected(title, label, tier)));
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
    [r.note, r.kernel && r.kernel !== r.tier ? `kernel ${r.kernel}` : ''].filter(Boolean).join('; '),
  ]);
}

/**
 * Run rows as one benchmark.js Suite. A row: { key, label, tier, threads, fn, async?,
 * before?, after?, opsPerCall | bytesPerCall, unit, refKey?, ortKey?, note? }.
 * fn is synchronous, or (async: true) returns a promise.
 */
function runSuite(title, detail, rows) {
  const chosen = rows.filter((row) => selected(title, row.label, row.tier));
  if (chosen.length === 0) return Promise.resolve();
  printHeader(title, detail);
  const suite = new Benchmark.Suite(title);
  const failures = new Map();
  const rowOf = new Map();
  for (const row of chosen) {
    const options = { ...CONFIG.bench, onStart: () => row.before && row.before() };
    if (row.async) {
      suite.add(
        row.label,
        (deferred) => {
          row.fn().then(
            () => deferred.resolve(),
            (e) => {
              failures.set(row, e);
              deferred.benchmark.abort();
              deferred.resolve();
            },
          );
        },
        { ...options, defer: true },
      );
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
        result.calls = bench.count * sample.length;
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
 * Call fn once before timing; on failure print why and leave the row out. Returns the
 * value fn returned, or undefined.
 */
async function tryFirstCall(label, fn) {
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
  return () => {
    if (sparq) sparq.setThreads(1);
  };
}

async function createOrtSession(bytes, threads) {
  return ort.InferenceSession.create(bytes, ortSessionOptions(threads));
}

// ---------------------------------------------------------------------------
// int8 GEMM at one shape

async function gemmShape(m, k, n, tiers) {
  const shape = `${m}x${k}x${n}`;
  const opsPerCall = 2 * m * n * k;
  const titles = CONFIG.threads.map((t) => `gemm ${shape} t${t}`);
  const best = tiers[tiers.length - 1] ?? '';
  const candidates = [
    ...['ORT MatMulInteger', 'ORT DynamicQuantizeMatMul', 'ORT MatMul f32'].map((l) => [l, 'MLAS']),
    ...['TS reference gemmU8S8', 'TS reference linearInt8', 'JS triple loop'].map((l) => [l, 'js']),
    ...tiers.map((t) => ['sparq gemmU8S8', t]),
    ['sparq linearInt8', best],
  ];
  if (!anySelected(titles, candidates)) return;

  // Operands. B is [n×k] (out × in) for sparq and the JS rows, transposed to [k×n] for ORT.
  const seed = m * 7919 + k * 104729 + n;
  const a = randomBytes(Uint8Array, m * k, seed);
  const b = randomBytes(Int8Array, n * k, seed + 1);
  const x = randomFloats(m * k, seed + 2, -1, 2);
  const wFloat = randomFloats(n * k, seed + 3, -1, 1);
  const bias = randomFloats(n, seed + 4, -0.5, 0.5);
  const rowsJs = jsRows(m, n, k);
  const reduced = rowsJs < m ? `JS rows time ${rowsJs} of ${m} rows; rate from that call` : '';

  let packed = null;
  let layer = null;
  let layerParts = null;
  const gemmOut = new Int32Array(m * n);
  const linearOut = new Float32Array(m * n);
  if (sparq) {
    try {
      packed = sparq.packInt8(b, n, k);
      layer = sparq.quantizeLinearInt8(wFloat, n, k, { bias });
      layerParts = layer.toArrays();
    } catch (e) {
      console.log(`! sparq packing at ${shape} failed: ${e.message}`);
      packed = layer = null;
    }
  }
  // ORT gets sparq's own quantized weights, so both multiply the same int8 codes.
  let ortModels = null;
  if (ort) {
    const quantWeight = layerParts ? layerParts.weight : null;
    const quantScale = layerParts ? layerParts.scale : null;
    ortModels = {
      mmi: onnx.matMulIntegerModel({ m, k, n, bKxN: transpose(b, n, k), aZeroPoint: 'input' }),
      dqmm: quantWeight
        ? onnx.dynamicQuantizeMatMulModel({ m, k, n, bKxN: transpose(quantWeight, n, k), bScale: quantScale, bias })
        : null,
      f32: onnx.matMulModel({ m, k, n, bKxN: transpose(wFloat, n, k) }),
    };
  }

  // Reference figures, computed once on the rows the JS rows time.
  const refGemm = reference ? reference.gemmU8S8(a.subarray(0, rowsJs * k), b, rowsJs, n, k, A_ZERO_POINT) : null;
  const refLinear =
    reference && layerParts
      ? reference.linearInt8(x.subarray(0, rowsJs * k), layerParts.weight, layerParts.scale, layerParts.bias, rowsJs, n, k)
      : null;

  for (const threads of CONFIG.threads) {
    const title = `gemm ${shape} t${threads}`;
    const key = (name) => `${shape}/${threads}/${name}`;
    const jsKey = (name) => `${shape}/js/${name}`; // single-threaded JS rows, timed once
    console.log(`\n-- ${title}: ${opsPerCall / 1e9} GOP per call`);
    const rows = [];

    // ORT peers.
    const sessions = {};
    const firstOutputs = {};
    if (ort) {
      const aTensor = new ort.Tensor('uint8', a, [m, k]);
      const zpTensor = new ort.Tensor('uint8', Uint8Array.of(A_ZERO_POINT), []);
      const xTensor = new ort.Tensor('float32', x, [m, k]);
      for (const [name, bytes] of Object.entries(ortModels)) {
        if (!bytes) continue;
        const made = await tryFirstCall(`ORT ${name} session`, () => createOrtSession(bytes, threads));
        if (made) sessions[name] = made.value;
      }
      const feeds = { mmi: { A: aTensor, a_zero_point: zpTensor }, dqmm: { A: xTensor }, f32: { A: xTensor } };
      const labels = { mmi: 'ORT MatMulInteger', dqmm: 'ORT DynamicQuantizeMatMul', f32: 'ORT MatMul f32' };
      for (const name of ['mmi', 'dqmm', 'f32']) {
        const session = sessions[name];
        if (!session) continue;
        const first = await tryFirstCall(labels[name], () => session.run(feeds[name]));
        if (!first) {
          delete sessions[name];
          continue;
        }
        firstOutputs[name] = first.value.Y.data;
        rows.push({
          key: key(`ort-${name}`),
          label: labels[name],
          tier: 'MLAS',
          threads,
          async: true,
          fn: () => session.run(feeds[name]),
          before: ortBefore(),
          opsPerCall,
          unit: 'GOP/s',
          refKey: name === 'mmi' ? jsKey('ref-gemm') : name === 'dqmm' ? jsKey('ref-linear') : undefined,
          note: name === 'f32' ? 'float context, no ×ORT' : '',
        });
      }
    }

    // Reference and JS loop, single-threaded: timed in the first thread block only.
    if (threads === CONFIG.threads[0]) {
      if (reference) {
        const aRows = a.subarray(0, rowsJs * k);
        const xRows = x.subarray(0, rowsJs * k);
        rows.push({
          key: jsKey('ref-gemm'),
          label: 'TS reference gemmU8S8',
          tier: 'js',
          threads: 1,
          fn: () => reference.gemmU8S8(aRows, b, rowsJs, n, k, A_ZERO_POINT),
          opsPerCall: 2 * rowsJs * n * k,
          unit: 'GOP/s',
          note: reduced,
        });
        if (layerParts) {
          rows.push({
            key: jsKey('ref-linear'),
            label: 'TS reference linearInt8',
            tier: 'js',
            threads: 1,
            fn: () => reference.linearInt8(xRows, layerParts.weight, layerParts.scale, layerParts.bias, rowsJs, n, k),
            opsPerCall: 2 * rowsJs * n * k,
            unit: 'GOP/s',
            note: reduced,
          });
        }
      }
      const jsOut = new Int32Array(rowsJs * n);
      const jsResult = jsGemmU8S8(a, b, rowsJs, n, k, A_ZERO_POINT, jsOut);
      if (refGemm) check(`JS triple loop == TS reference on ${rowsJs} rows`, compareInts(jsResult, refGemm, rowsJs * n, n).text);
      rows.push({
        key: jsKey('js-loop'),
        label: 'JS triple loop',
        tier: 'js',
        threads: 1,
        fn: () => jsGemmU8S8(a, b, rowsJs, n, k, A_ZERO_POINT, jsOut),
        opsPerCall: 2 * rowsJs * n * k,
        unit: 'GOP/s',
        refKey: jsKey('ref-gemm'),
        note: reduced,
      });
    }

    // sparq: every tier, then linearInt8 at the best tier.
    if (packed) {
      const gemmOptions = { aZeroPoint: A_ZERO_POINT, out: gemmOut };
      const mmiOut = firstOutputs.mmi;
      const agreement = [];
      for (const tier of tiers) {
        sparqBefore(tier, threads)();
        const first = await tryFirstCall(`sparq gemmU8S8 ${tier}`, () => sparq.gemmU8S8(a, packed, m, gemmOptions));
        if (!first) continue;
        const kernel = sparq.lastInt8GemmKernel ? sparq.lastInt8GemmKernel() : null;
        const versus = [];
        if (mmiOut) versus.push(`ORT ${compareInts(gemmOut, mmiOut, m * n, n).text}`);
        if (refGemm) versus.push(`ref ${compareInts(gemmOut, refGemm, rowsJs * n, n).text}`);
        agreement.push(`${tier}: ${versus.join(', ') || 'no peer to compare'}${kernel && !kernel.endsWith(`__${tier}`) ? ` (kernel ${kernel}!)` : ''}`);
        rows.push({
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
      if (agreement.length) check(`sparq gemmU8S8 vs ORT MatMulInteger (all ${m * n} int32) and TS reference (${rowsJs} rows)`, agreement.join('; '));

      if (layer) {
        sparqBefore(best || null, threads)();
        const linearOptions = { out: linearOut };
        const first = await tryFirstCall('sparq linearInt8', () => sparq.linearInt8(x, layer, m, linearOptions));
        if (first) {
          const parts = [];
          if (firstOutputs.dqmm) {
            const diff = relativeDifference(linearOut, firstOutputs.dqmm, m * n);
            parts.push(`vs ORT DynamicQuantizeMatMul max|Δ|/max|y| = ${diff.toExponential(2)}${m > 1 ? ' (sparq quantizes activations per row, ORT per tensor)' : ''}`);
          }
          if (refLinear) {
            const linearBits = new Int32Array(linearOut.buffer, 0, rowsJs * n);
            const refBits = new Int32Array(refLinear.buffer, 0, rowsJs * n);
            parts.push(`vs TS reference (${rowsJs} rows) bits ${compareInts(linearBits, refBits, rowsJs * n, n).text}`);
          }
          if (parts.length) check('sparq linearInt8', parts.join('; '));
          rows.push({
            key: key('sparq-linear'),
            label: 'sparq linearInt8',
            tier: best || null,
            threads,
            fn: () => sparq.linearInt8(x, layer, m, linearOptions),
            before: sparqBefore(best || null, threads),
            after: sparqAfter(),
            opsPerCall,
            unit: 'GOP/s',
            refKey: jsKey('ref-linear'),
            ortKey: key('ort-dqmm'),
          });
        }
      }
    }

    await runSuite(title, `${opsPerCall / 1e9} GOP/call`, rows);
    for (const session of Object.values(sessions)) await session.release();
  }
  if (sparq) {
    sparq.setIsa(null);
    sparq.setThreads();
  }
}

// ---------------------------------------------------------------------------
// Cold GEMV: m = 1, k = n = 4096, a different weight matrix each call

async function coldGemv(tiers) {
  const k = 4096;
  const n = 4096;
  const count = CONFIG.coldMatrices;
  const bytesPerCall = n * k;
  const totalMiB = (count * bytesPerCall) / 2 ** 20;
  const titles = CONFIG.coldThreads.map((t) => `cold-gemv 1x${k}x${n} t${t}`);
  if (!anySelected(titles, [['ORT MatMulInteger', 'MLAS'], ...tiers.map((t) => ['sparq gemmU8S8', t])])) return;

  const a = randomBytes(Uint8Array, k, 17);
  const weights = Array.from({ length: count }, (_, i) => randomBytes(Int8Array, n * k, 1000 + i));
  const packed = sparq ? weights.map((w) => sparq.packInt8(w, n, k)) : [];
  const ortModels = ort ? weights.map((w) => onnx.matMulIntegerModel({ m: 1, k, n, bKxN: transpose(w, n, k), aZeroPoint: 'input' })) : [];
  weights.length = 0; // the packed copies and the model bytes are all that is needed now
  const out = new Int32Array(n);
  const gemmOptions = { aZeroPoint: A_ZERO_POINT, out };

  for (const threads of CONFIG.coldThreads) {
    const title = `cold-gemv 1x${k}x${n} t${threads}`;
    const key = (name) => `cold/${threads}/${name}`;
    console.log(`\n-- ${title}: rotating over ${count} matrices, ${totalMiB} MiB of int8 weights`);
    const rows = [];
    let sessions = [];
    if (ort) {
      const made = await tryFirstCall('ORT MatMulInteger sessions', () => Promise.all(ortModels.map((bytes) => createOrtSession(bytes, threads))));
      if (made) {
        sessions = made.value;
        const feeds = { A: new ort.Tensor('uint8', a, [1, k]), a_zero_point: new ort.Tensor('uint8', Uint8Array.of(A_ZERO_POINT), []) };
        let next = 0;
        rows.push({
          key: key('ort-mmi'),
          label: 'ORT MatMulInteger',
          tier: 'MLAS',
          threads,
          async: true,
          fn: () => sessions[next++ % count].run(feeds),
          before: ortBefore(),
          bytesPerCall,
          unit: 'GB/s',
          note: 'one session per matrix',
        });
        // Agreement on the first matrix.
        if (packed.length) {
          const ortY = (await sessions[0].run(feeds)).Y.data;
          sparq.setIsa(null);
          sparq.gemmU8S8(a, packed[0], 1, gemmOptions);
          check(`sparq ${sparq.isa()} vs ORT on matrix 0`, compareInts(out, ortY, n, n).text);
        }
      }
    }
    for (const tier of tiers) {
      let next = 0;
      rows.push({
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
      });
    }
    await runSuite(title, `${totalMiB} MiB rotated, rate = weight bytes read / median time`, rows);
    for (const session of sessions) await session.release();
  }
  if (sparq) {
    sparq.setIsa(null);
    sparq.setThreads();
  }
}

// ---------------------------------------------------------------------------
// Tiny call: 1×16×16, per-call overhead

async function tinyCall(tiers) {
  const m = 1;
  const k = 16;
  const n = 16;
  const a = randomBytes(Uint8Array, m * k, 5);
  const b = randomBytes(Int8Array, n * k, 6);
  const out = new Int32Array(m * n);
  const packed = sparq ? sparq.packInt8(b, n, k) : null;
  const modelBytes = ort ? onnx.matMulIntegerModel({ m, k, n, bKxN: transpose(b, n, k), aZeroPoint: 'input' }) : null;

  for (const threads of CONFIG.tinyThreads) {
    const title = `tiny 1x${k}x${n} t${threads}`;
    const key = (name) => `tiny/${threads}/${name}`;
    const rows = [];
    let session = null;
    let nativeSession = null;
    if (ort) {
      const feeds = { A: new ort.Tensor('uint8', a, [m, k]), a_zero_point: new ort.Tensor('uint8', Uint8Array.of(A_ZERO_POINT), []) };
      const made = await tryFirstCall('ORT session', () => createOrtSession(modelBytes, threads));
      if (made) {
        session = made.value;
        rows.push({
          key: key('ort-mmi'),
          label: 'ORT MatMulInteger session.run',
          tier: 'MLAS',
          threads,
          async: true,
          fn: () => session.run(feeds),
          before: ortBefore(),
          unit: 'ns/call',
          note: 'public API (async)',
        });
      }
      // The binding's synchronous run, which session.run reaches after a setImmediate:
      // ORT's own per-call cost without the event-loop hop. A private API, for context.
      if (ortBindingLoad.lib) {
        const made2 = await tryFirstCall('ORT binding run', () => {
          const { binding, initOrt } = ortBindingLoad.lib;
          initOrt();
          const s = new binding.InferenceSession();
          s.loadModel(modelBytes.buffer, modelBytes.byteOffset, modelBytes.byteLength, ortSessionOptions(threads));
          s.run(feeds, { Y: null }, {});
          return s;
        });
        if (made2) {
          nativeSession = made2.value;
          rows.push({
            key: key('ort-sync'),
            label: 'ORT binding run() sync',
            tier: 'MLAS',
            threads,
            fn: () => nativeSession.run(feeds, { Y: null }, {}),
            before: ortBefore(),
            unit: 'ns/call',
            ortKey: key('ort-mmi'),
            note: 'private API, no setImmediate',
          });
        }
      }
    }
    if (reference && threads === CONFIG.tinyThreads[0]) {
      rows.push({ key: 'tiny/js/ref', label: 'TS reference gemmU8S8', tier: 'js', threads: 1, fn: () => reference.gemmU8S8(a, b, m, n, k, A_ZERO_POINT), unit: 'ns/call' });
    }
    if (threads === CONFIG.tinyThreads[0]) {
      rows.push({
        key: 'tiny/js/loop',
        label: 'JS triple loop',
        tier: 'js',
        threads: 1,
        fn: () => jsGemmU8S8(a, b, m, n, k, A_ZERO_POINT, out),
        unit: 'ns/call',
        refKey: 'tiny/js/ref',
      });
    }
    if (packed) {
      const gemmOptions = { aZeroPoint: A_ZERO_POINT, out };
      for (const tier of tiers) {
        rows.push({
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
        });
      }
    }
    await runSuite(title, 'per-call overhead; rate column is ns/call', rows);
    if (session) await session.release();
    if (nativeSession && nativeSession.dispose) nativeSession.dispose();
  }
  if (sparq) {
    sparq.setIsa(null);
    sparq.setThreads();
  }
}

// ---------------------------------------------------------------------------
// Targets

function summary() {
  const ok = (r) => r && !r.error;
  const find = (key) => results.find((r) => r.key === key && ok(r));
  const lines = [];
  const verdict = (name, met, figures) => lines.push(`  ${met === null ? 'not measured' : met ? 'met    ' : 'NOT met'}  ${name}: ${figures}`);
  const bestTier = (keyPrefix) => {
    const rows = results.filter((r) => ok(r) && r.key.startsWith(keyPrefix) && /sparq-(?!linear)/.test(r.key));
    return rows.sort((x, y) => y.rate - x.rate)[0];
  };

  // 1. 1-thread VNNI ≥ 1.15× ORT MatMulInteger at ≥ 512³.
  for (const [m, k, n] of CONFIG.shapes.filter(([m, k, n]) => m >= 512 && k >= 512 && n >= 512)) {
    const shape = `${m}x${k}x${n}`;
    const vnni = find(`${shape}/1/sparq-avx512vnni`);
    const peer = find(`${shape}/1/ort-mmi`);
    const name = `1 thread ${shape}: avx512vnni ≥ 1.15× ORT MatMulInteger`;
    if (!vnni || !peer) verdict(name, null, !vnni ? 'no avx512vnni row' : 'no ORT row');
    else verdict(name, vnni.rate / peer.rate >= 1.15, `${formatRate(vnni.rate)} vs ${formatRate(peer.rate)} GOP/s = ×${(vnni.rate / peer.rate).toFixed(2)}`);
  }

  // 2. 2 threads ≥ 1.8× 1 thread, best tier, compute-bound shapes (m ≥ 8).
  for (const [m, k, n] of CONFIG.shapes.filter(([m]) => m >= 8)) {
    const shape = `${m}x${k}x${n}`;
    const one = bestTier(`${shape}/1/`);
    const two = one && find(`${shape}/2/sparq-${one.tier}`);
    const name = `2 threads ≥ 1.8× 1 thread at ${shape}`;
    if (!one || !two) verdict(name, null, 'needs 1- and 2-thread sparq rows');
    else verdict(name, two.rate / one.rate >= 1.8, `${one.tier}: ${formatRate(two.rate)} vs ${formatRate(one.rate)} GOP/s = ×${(two.rate / one.rate).toFixed(2)}`);
  }

  // 3. Cold GEMV ≥ 1.6× ORT.
  for (const threads of CONFIG.coldThreads) {
    const best = bestTier(`cold/${threads}/`);
    const peer = find(`cold/${threads}/ort-mmi`);
    const name = `cold GEMV ≥ 1.6× ORT (${threads} thread${threads > 1 ? 's' : ''})`;
    if (!best || !peer) verdict(name, null, 'needs sparq and ORT cold rows');
    else verdict(name, best.rate / peer.rate >= 1.6, `${best.tier} ${formatRate(best.rate)} vs ${formatRate(peer.rate)} GB/s = ×${(best.rate / peer.rate).toFixed(2)}`);
  }

  // 4. Tiny call ≤ 1 µs.
  {
    const t = CONFIG.tinyThreads[0];
    const best = bestTier(`tiny/${t}/`);
    const peer = find(`tiny/${t}/ort-mmi`);
    const name = `tiny 1×16×16 call ≤ 1 µs (${t} thread)`;
    if (!best) verdict(name, null, 'no sparq tiny row');
    else verdict(name, best.median <= 1e-6, `${best.tier} ${(best.median * 1e9).toFixed(0)} ns/call${peer ? `, ORT session.run ${(peer.median * 1e9).toFixed(0)} ns` : ''}`);
  }

  // 5. AVX2 ≥ 150 GOP/s: best 1-thread GEMM shape (2-thread figure shown for context).
  {
    const rowsAt = (threads) =>
      results.filter((r) => ok(r) && r.key.endsWith(`/${threads}/sparq-avx2`) && !r.key.startsWith('cold') && !r.key.startsWith('tiny'));
    const best1 = rowsAt(1).sort((x, y) => y.rate - x.rate)[0];
    const best2 = rowsAt(2).sort((x, y) => y.rate - x.rate)[0];
    const name = 'AVX2 ≥ 150 GOP/s (1 thread, best GEMM shape)';
    if (!best1) verdict(name, null, 'no 1-thread avx2 GEMM row');
    else
      verdict(
        name,
        best1.rate >= 150,
        `${formatRate(best1.rate)} GOP/s at ${best1.key.split('/')[0]}${best2 ? `; 2 threads ${formatRate(best2.rate)} GOP/s at ${best2.key.split('/')[0]}` : ''}`,
      );
  }

  console.log('\n== targets');
  for (const line of lines) console.log(line);
  return lines;
}

// ---------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  const tiers = sparqTiers();
  console.log('sparq int8 GEMM benchmarks');
  console.log(`  node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.availableParallelism?.() ?? os.cpus().length}`);
  if (sparq) {
    const info = sparq.cpuInfo();
    console.log(`  sparq: built [${info.built.join(', ')}], supported [${info.supported.join(', ')}], default isa ${sparq.isa()}, ${sparq.threads()} threads`);
  } else {
    console.log(`  sparq: not loaded (${sparqLoad.error}); only peers run`);
  }
  console.log(`  onnxruntime-node: ${ort ? ort.env.versions?.node ?? 'loaded' : `not loaded (${ortLoad.error})`}`);
  console.log(
    `  mode: ${args.quick ? 'quick' : 'full'}; benchmark.js minSamples ${CONFIG.bench.minSamples}, maxTime ${CONFIG.bench.maxTime} s;` +
      ` a_zero_point ${A_ZERO_POINT}; JS rows capped at ${CONFIG.jsOpsBudget / 2 ** 20} Mi ops per call` +
      (args.filter ? `; filter /${args.filter.source}/i` : ''),
  );

  for (const [m, k, n] of CONFIG.shapes) await gemmShape(m, k, n, tiers);
  await coldGemv(tiers);
  await tinyCall(tiers);
  const targets = summary();
  console.log(`\n(total ${((Date.now() - started) / 1000).toFixed(0)} s)`);

  if (args.json) {
    const file = path.resolve(args.json);
    const environment = {
      node: process.version,
      cpu: os.cpus()[0]?.model,
      sparq: sparq ? sparq.cpuInfo() : { error: sparqLoad.error },
      ort: ort ? ort.env.versions : { error: ortLoad.error },
      config: CONFIG,
      date: new Date().toISOString(),
    };
    fs.writeFileSync(file, JSON.stringify({ environment, results, targets }, null, 2));
    console.log(`results written to ${file}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
