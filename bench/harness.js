'use strict';
// The benchmark harness: watchdog, peers, rows timed with benchmark.js and printed as tables.

const fs = require('node:fs');
const Benchmark = require('benchmark');
const { CONFIG, args } = require('./config');

// Test functions close over their data, so benchmark.js must call them by reference
// rather than decompile and inline their source.
Benchmark.support.decompilation = false;

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

module.exports = { Table, aliases, findResult, formatMiB, formatOps, formatRate, median, ort, ortBefore, ortBindingLoad, ortLoad, ortOutput, ortSessionOptions, progress, reference, restoreSparqDefaults, results, selected, sparq, sparqAfter, sparqBefore, sparqLoad, sparqTiers, tryFirstCall, withOrtSessions };
