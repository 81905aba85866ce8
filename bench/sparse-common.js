'use strict';
// Shared by the dense f32 and sparse suites (sparse-suites.js): the run state, sizes, helpers,
// the seeded CSR matrices in every storage, and the own-dense and ORT rows at the spmm shape.

const peers = require('./sparse-peers');
const onnx = require('./onnx-model');

// The run's state, set by run() in sparse-suites.js: run.js's helpers and peers (ctx) and the
// sizes for --quick or full (CONFIG).
const state = { ctx: null, CONFIG: null };
let tfjs = null; // { tf, threads, ... } or { error }
const breakEven = new Map(); // n → { text, sparsity (null when outside the sweep) }

const MiB = 2 ** 20;
const SIZE = 4096; // rows = cols of every sparse matrix
const SPARSITIES = [0.5, 0.7, 0.9, 0.95, 0.99];
const BREAK_EVEN_SPARSITIES = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];

function configFor(args) {
  if (args.quick) {
    return {
      dense: {
        shapes: [
          [128, 1024, 1024],
          [512, 512, 512],
        ],
        threads: args.threads ?? [1],
        refOps: 2 ** 22, // largest 2·m'·n'·k the TS reference times per call
        bench: undefined, // run.js's quick sampling
      },
      grid: {
        sparsities: [0.9],
        patterns: ['random'],
        ns: [8],
        threads: args.threads ?? [1],
        jsOps: 2 ** 23,
        bench: { minSamples: 3, maxTime: 0.25 },
        mathjsPoints: ['90% random n8'],
        mathjsBench: { minSamples: 2, maxTime: 0.3 },
      },
      breakEven: null, // skipped in quick mode
      linear: { ms: [8], sparsities: [0.9], threads: args.threads ?? [1], bench: { minSamples: 3, maxTime: 0.25 } },
      cold: { sparsity: 0.9, bytes: 96 * MiB, threads: args.threads ?? [1], bench: undefined },
    };
  }
  return {
    dense: {
      shapes: [
        [512, 512, 512],
        [1024, 1024, 1024],
        [128, 1024, 1024],
        [1, 4096, 4096],
      ],
      threads: args.threads ?? [1, 2],
      refOps: 2 ** 24,
      bench: undefined,
    },
    grid: {
      sparsities: SPARSITIES,
      patterns: ['random', 'row-skewed'],
      ns: [1, 8, 64],
      threads: args.threads ?? [1, 2],
      jsOps: 2 ** 25,
      bench: { minSamples: 5, maxTime: 0.5 },
      // mathjs runs at ~0.2 GOP/s: only these points (the target's and a few for context).
      mathjsPoints: ['90% random n8', '90% random n1', '99% random n8', '90% row-skewed n8', '50% random n8'],
      mathjsBench: { minSamples: 2, maxTime: 1 },
    },
    breakEven: { sparsities: BREAK_EVEN_SPARSITIES, ns: [1, 8, 64], bench: { minSamples: 5, maxTime: 0.5 } },
    linear: { ms: [1, 8], sparsities: SPARSITIES, threads: args.threads ?? [1, 2], bench: { minSamples: 5, maxTime: 0.5 } },
    cold: { sparsity: 0.9, bytes: 128 * MiB, threads: args.threads ?? [1, 2], bench: undefined },
  };
}

// ---------------------------------------------------------------------------
// Small helpers

const pct = (sparsity) => `${Math.round(sparsity * 100)}%`;
const opName = (n) => (n === 1 ? 'spmv' : 'spmm');
const firstLine = (e) => String(e && e.message ? e.message : e).split('\n')[0];

function formatRate(value) {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  if (value >= 0.1) return value.toFixed(2);
  return value.toPrecision(2);
}

function times(value) {
  if (!Number.isFinite(value)) return '–';
  return `×${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)}`;
}

/** Load a peer; on failure print why (as run.js does) and keep the reason. */
function tryLoad(what, load) {
  try {
    return { lib: load(), error: null };
  } catch (e) {
    console.log(`! ${what} did not load: ${firstLine(e)}`);
    return { lib: null, error: firstLine(e) };
  }
}

async function loadTfjs() {
  if (tfjs) return tfjs;
  try {
    tfjs = await peers.loadTfjsWasm();
  } catch (e) {
    console.log(`! tfjs-backend-wasm did not load: ${firstLine(e)}`);
    tfjs = { error: firstLine(e) };
  }
  return tfjs;
}

const firstCallSeconds = new Map(); // row id → seconds its first (checking) call took

/** state.ctx.tryFirstCall that also records how long the call took, under `id`. */
async function timedFirstCall(id, label, fn) {
  const started = process.hrtime.bigint();
  const made = await state.ctx.tryFirstCall(label, fn);
  if (made) firstCallSeconds.set(id, Number(process.hrtime.bigint() - started) / 1e9);
  return made;
}

/**
 * Sampling of a row: one whose first call took over 0.3 s (a scalar kernel at a big shape, say)
 * needs 2 samples only. Returns { bench, note }.
 */
function sampling(id, bench) {
  const seconds = firstCallSeconds.get(id);
  if (!(seconds > 0.3)) return { bench, note: '' };
  return { bench: { ...bench, minSamples: 2 }, note: `slow call (${seconds.toFixed(1)} s): 2 samples at least` };
}

/** The tier in a kernel name, '<op>__<tier>'. */
const kernelTier = (kernel) => (kernel ? kernel.slice(kernel.lastIndexOf('__') + 2) : null);

/**
 * The kernels the tiers run for one op, each once: [{ tier (first tier that runs it), kernel,
 * kernelTier, alsoFor }]. probe is a small call of the op; the kernel does not depend on the shape.
 */
function distinctKernels(tiers, what, probe, lastKernel) {
  const { sparq } = state.ctx;
  const byKernel = new Map();
  for (const tier of tiers) {
    sparq.setIsa(tier);
    try {
      probe();
    } catch (e) {
      console.log(`  skip   ${what} on ${tier}: ${firstLine(e)}`);
      continue;
    }
    const kernel = lastKernel();
    const entry = byKernel.get(kernel);
    if (entry) entry.alsoFor.push(tier);
    else byKernel.set(kernel, { tier, kernel, kernelTier: kernelTier(kernel), alsoFor: [] });
  }
  sparq.setIsa(null);
  return [...byKernel.values()];
}

/**
 * Row fields for one distinctKernels entry: key named after the kernel's tier, aliases for the
 * other tiers it stands for (so a verdict on the default tier finds it), the tiers the filter sees.
 */
function kernelFields(entry, keyOf, lastKernel) {
  const key = keyOf(entry.kernelTier);
  for (const tier of [entry.tier, ...entry.alsoFor]) if (keyOf(tier) !== key) state.ctx.aliases.set(keyOf(tier), key);
  const also = entry.alsoFor.length ? `same kernel on ${entry.alsoFor.join(', ')}` : '';
  return {
    key,
    tier: entry.kernelTier,
    selectTier: [entry.tier, ...entry.alsoFor].join(' '),
    before: state.ctx.sparqBefore(entry.tier, 1),
    kernelNote: also,
    lastKernel,
  };
}

/**
 * after(result) for a row: the kernel that ran (sparq rows) and the note, built from the
 * finished result: the effective rate (2·nnz·n per call) and speed ratios against other rows
 * found by key. Sparse rows' rate is dense-equivalent (2·rows·cols·n / time), the same work
 * measure as the dense rows, so rate ratios are speed ratios.
 */
function afterWith({ lastKernel, fixedNote = '', effectiveOps, ratios = [] }) {
  return (result) => {
    const fields = {};
    if (lastKernel) {
      fields.kernel = lastKernel();
      fields.tier = kernelTier(fields.kernel);
    }
    const parts = [];
    if (effectiveOps) parts.push(`effective ${formatRate(effectiveOps / result.median / 1e9)} GOP/s`);
    for (const [key, what] of ratios) {
      const other = state.ctx.findResult(key);
      if (other && other !== result) parts.push(`${times(result.rate / other.rate)} ${what}`);
    }
    if (fixedNote) parts.push(fixedNote);
    fields.note = parts.join('; ');
    return fields;
  };
}

/** 'all N within the §3 bound' or how many outputs exceed it and where the first is. */
function withinBound(y, yRef, bound, length, n) {
  let outside = 0;
  let first = -1;
  for (let i = 0; i < length; i++) {
    const ok = Math.abs(y[i] - yRef[i]) <= bound[i] || (Number.isNaN(y[i]) && Number.isNaN(yRef[i]));
    if (!ok) {
      if (first < 0) first = i;
      outside++;
    }
  }
  if (outside === 0) return `all ${length} within bound`;
  return `${outside} of ${length} OUTSIDE bound, first [${Math.floor(first / n)},${first % n}]: ${y[first]} vs ${yRef[first]} (bound ${bound[first].toExponential(2)})`;
}

/** The TS reference's Csr of the first `rows` rows of a sparq CsrMatrix's arrays. */
function referenceRows(arrays, cols, rows) {
  const end = arrays.indptr[rows];
  return {
    rows,
    cols,
    indptr: arrays.indptr.subarray(0, rows + 1),
    indices: arrays.indices.subarray(0, end),
    values: arrays.values.subarray(0, end),
    scales: arrays.scales ? arrays.scales.subarray(0, rows) : null,
  };
}

/** Rows of a CSR whose entries × n stay within an ops budget (at least 1). */
function rowsWithin(indptr, rows, n, budget) {
  let r = 1;
  while (r < rows && 2 * indptr[r + 1] * n <= budget) r++;
  return r;
}


// ---------------------------------------------------------------------------
// Sparse matrices: one seeded CSR in every storage the suites time

const VARIANTS = [
  ['f32-u32', 'f32 u32'],
  ['f32-u16', 'f32 u16'],
  ['int8-u32', 'int8 u32'],
  ['int8-u16', 'int8 u16'],
];

/** Seeds differ per sparsity and pattern, so every point has its own matrix. */
function matrixSeed(sparsity, pattern, index = 0) {
  return 1000 + Math.round(sparsity * 1000) * 7 + (pattern === 'row-skewed' ? 500009 : 0) + index * 65537;
}

/**
 * The JS arrays of a random CSR and the sparq CsrMatrix of each wanted variant (built with the
 * public builders: fromArrays, then withIndexBits and quantizeValues). Variants that fail to
 * build are reported and left out.
 */
function buildSparse(sparsity, pattern, wanted, index = 0) {
  state.ctx.progress(`generate ${pct(sparsity)} ${pattern} matrix`);
  const csr = peers.randomCsr({ rows: SIZE, cols: SIZE, sparsity, pattern, seed: matrixSeed(sparsity, pattern, index) });
  const matrices = {};
  const { sparq } = state.ctx;
  if (sparq) {
    const build = (name, make) => {
      if (!wanted.includes(name)) return;
      try {
        matrices[name] = make();
      } catch (e) {
        console.log(`  skip   sparq CsrMatrix ${name} at ${pct(sparsity)} ${pattern}: ${firstLine(e)}`);
      }
    };
    const base = () => sparq.CsrMatrix.fromArrays(SIZE, SIZE, csr.indptr, csr.indices, csr.values);
    build('f32-u32', base);
    build('f32-u16', () => (matrices['f32-u32'] ?? base()).withIndexBits(16));
    const quantized = () => (matrices['f32-u32'] ?? base()).quantizeValues();
    build('int8-u32', quantized);
    build('int8-u16', () => (matrices['int8-u32'] ?? quantized()).withIndexBits(16));
  }
  return { csr, matrices };
}

/** Check each (variant, kernel) against the TS reference on the first rows, within the §3 bound. */
function checkSparse(label, matrices, b, n, calls) {
  const { reference } = state.ctx;
  if (!reference) return;
  const parts = [];
  const refOf = new Map(); // variant → { yRef, bound, rows }
  for (const { variant, tier, run } of calls) {
    const matrix = matrices[variant];
    if (!matrix) continue;
    if (!refOf.has(variant)) {
      const arrays = matrix.toArrays();
      const rows = rowsWithin(arrays.indptr, SIZE, n, 2 ** 21);
      const a = referenceRows(arrays, SIZE, rows);
      const yRef = n === 1 ? reference.spmv(a, b) : reference.spmm(a, b, n);
      const bound = n === 1 ? reference.spmvTolerance(a, b) : reference.spmmTolerance(a, b, n);
      refOf.set(variant, { yRef, bound, rows });
    }
    const { yRef, bound, rows } = refOf.get(variant);
    state.ctx.sparqBefore(tier, 1)();
    let y;
    try {
      y = run();
    } catch (e) {
      parts.push(`${variant} on ${tier}: ${firstLine(e)}`);
      continue;
    }
    parts.push(`${state.ctx.sparq.lastSparseKernel()} ${withinBound(y, yRef, bound, rows * n, n)}`);
  }
  const rows = [...new Set([...refOf.values()].map((r) => r.rows))].sort((a, b) => a - b);
  if (parts.length) state.ctx.check(`${label} vs TS reference (first ${rows.join('/')} rows, §3 bound)`, parts.join('; '));
}

// ---------------------------------------------------------------------------
// Own dense and ORT at the spmm shape: C [rows×n] = A·B is computed as Cᵀ [n×rows] = Bᵀ·Aᵀ, a
// linear layer with X = Bᵀ [n×cols] and W = A [rows×cols]: sparq linearF32 (W packed once, the
// fastest dense path for a fixed matrix) and ORT MatMul f32 (Aᵀ as initializer).

const denseKey = (n, threads, name) => `sp-dense/n${n}/t${threads}/${name}`;

/** The dense weight (any of the sparse matrices, densified), packed and as ORT's [cols×rows], built once. */
function formatTime(seconds) {
  if (seconds < 1e-3) return `${(seconds * 1e6).toFixed(1)} µs`;
  if (seconds < 1) return `${(seconds * 1e3).toFixed(2)} ms`;
  return `${seconds.toFixed(2)} s`;
}

let denseWeight = null;
/** The dense copy kept for the own-dense rows, or null before ensureDenseWeight. */
function currentDenseWeight() {
  return denseWeight;
}
/** Drops the dense copy kept for the own-dense rows (at the end of a run). */
function releaseDenseWeight() {
  denseWeight = null;
}
function ensureDenseWeight(csr) {
  if (denseWeight) return denseWeight;
  state.ctx.progress('dense weight for the spmm peers');
  const dense = peers.csrToDense(csr);
  let packed = null;
  if (state.ctx.sparq) {
    try {
      packed = state.ctx.sparq.packF32(dense, SIZE, SIZE);
    } catch (e) {
      console.log(`! sparq packF32 of the dense weight failed: ${firstLine(e)}`);
    }
  }
  denseWeight = { packed, denseT: state.ctx.ort ? peers.transpose(dense, SIZE, SIZE) : null, csr, sparsity: 1 - csr.nnz / (SIZE * SIZE) };
  return denseWeight;
}

/**
 * The own-dense and ORT rows at n columns, timed in `table` unless an earlier table did.
 * suffix goes after the labels (the break-even table names n there).
 */
async function denseRows(table, n, threads, csr, suffix = '') {
  const { sparq, ort } = state.ctx;
  const ownLabel = `sparq linearF32 dense${suffix}`;
  const ortLabel = `ORT MatMul f32 dense${suffix}`;
  const wantsOwn = sparq && !state.ctx.findResult(denseKey(n, threads, 'own')) && table.wants(ownLabel, state.ctx.best);
  const wantsOrt = ort && !state.ctx.findResult(denseKey(n, threads, 'ort')) && table.wants(ortLabel, 'MLAS');
  if (!wantsOwn && !wantsOrt) return;
  const weight = ensureDenseWeight(csr);
  const opsPerCall = 2 * SIZE * SIZE * n;
  const xT = peers.uniformFloats(n * SIZE, 77 + n); // Bᵀ: values do not change dense timing
  const note = `W [${SIZE}×${SIZE}] dense; Y = Bᵀ·Wᵀ [${n}×${SIZE}]`;
  if (wantsOwn && weight.packed) {
    const out = new Float32Array(n * SIZE);
    state.ctx.sparqBefore(state.ctx.best, threads)();
    if (await state.ctx.tryFirstCall(`sparq linearF32 dense n${n} t${threads}`, () => sparq.linearF32(xT, weight.packed, n, { out }))) {
      await table.run([
        {
          key: denseKey(n, threads, 'own'),
          label: ownLabel,
          tier: state.ctx.best,
          threads,
          fn: () => sparq.linearF32(xT, weight.packed, n, { out }),
          before: state.ctx.sparqBefore(state.ctx.best, threads),
          after: afterWith({ lastKernel: sparq.lastF32GemmKernel, fixedNote: `${note}; W packed once` }),
          opsPerCall,
          unit: 'GOP/s',
          ortKey: denseKey(n, threads, 'ort'),
          bench: state.CONFIG.grid.bench,
        },
      ]);
    }
  }
  if (wantsOrt && weight.denseT) {
    state.ctx.progress(`ORT dense model n${n}`);
    const model = onnx.matMulModel({ m: n, k: SIZE, n: SIZE, bKxN: weight.denseT });
    const feeds = { A: new ort.Tensor('float32', xT, [n, SIZE]) };
    await state.ctx.withOrtSessions(`ORT MatMul f32 dense n${n} t${threads}`, [model], state.ctx.ortSessionOptions(threads), ([session]) =>
      table.run([
        {
          key: denseKey(n, threads, 'ort'),
          label: ortLabel,
          tier: 'MLAS',
          threads,
          async: true,
          fn: () => session.run(feeds),
          before: state.ctx.ortBefore,
          opsPerCall,
          unit: 'GOP/s',
          note,
          bench: state.CONFIG.grid.bench,
        },
      ]),
    );
  }
}

module.exports = { breakEven, currentDenseWeight, releaseDenseWeight, formatTime, MiB, SIZE, VARIANTS, afterWith, buildSparse, checkSparse, configFor, denseKey, denseRows, distinctKernels, ensureDenseWeight, firstLine, formatRate, kernelFields, loadTfjs, matrixSeed, opName, pct, referenceRows, rowsWithin, sampling, state, timedFirstCall, times, tryLoad, withinBound };
