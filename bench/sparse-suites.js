'use strict';
// Benchmarks of sparq's dense f32 GEMM (docs/gemm-f32.md) and sparse CSR family (docs/sparse.md),
// run by run.js after its own suites and sharing its tables, checks, peers and verdicts:
//
//   dense MxKxN tT               linearF32 per kernel, gemmF32, vs ORT MatMul f32, tfjs-wasm, TS reference
//   spmv|spmm S% P [nN] tT       CSR × dense at sparsity S, pattern P (random | row-skewed), n columns,
//                                vs sparq's own dense linearF32, ORT MatMul f32, a JS CSR loop, mathjs
//   break-even t1                a finer sparsity sweep: where sparse starts to beat own dense, per n
//   sparse-linear MxKxN tT       linearSparse with bias vs linearF32 and ORT Gemm at the same shape
//   cold-spmv 4096x4096 S% tT    spmv on the next of many matrices (≥ 96 MiB) vs a plain DRAM read
//
// run(context) runs whatever --filter selects; verdicts(defaultTier) returns the target lines.
// See README.md ("Dense f32 and sparse CSR") for the rows, the quick subset and the targets.

const peers = require('./sparse-peers');
const onnx = require('./onnx-model');

let ctx = null; // run.js helpers and peers, set by run()
let CONFIG = null;
let mathjs = null; // { lib } or { error }
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

/** ctx.tryFirstCall that also records how long the call took, under `id`. */
async function timedFirstCall(id, label, fn) {
  const started = process.hrtime.bigint();
  const made = await ctx.tryFirstCall(label, fn);
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
  const { sparq } = ctx;
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
  for (const tier of [entry.tier, ...entry.alsoFor]) if (keyOf(tier) !== key) ctx.aliases.set(keyOf(tier), key);
  const also = entry.alsoFor.length ? `same kernel on ${entry.alsoFor.join(', ')}` : '';
  return {
    key,
    tier: entry.kernelTier,
    selectTier: [entry.tier, ...entry.alsoFor].join(' '),
    before: ctx.sparqBefore(entry.tier, 1),
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
      const other = ctx.findResult(key);
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
// Dense f32 at one shape: Y[m×n] = X[m×k]·Wᵀ, W [n×k]

async function denseShape([m, k, n], tiers) {
  const { sparq, reference, ort, Table } = ctx;
  const shape = `${m}x${k}x${n}`;
  const opsPerCall = 2 * m * n * k;
  const threadCounts = CONFIG.dense.threads;
  const tables = threadCounts.map((t) => new Table(`dense ${shape} t${t}`, `${(opsPerCall / 1e9).toFixed(2)} GFLOP per call; Y = X·Wᵀ, W [${n}×${k}] f32`));
  const best = tiers[tiers.length - 1] ?? '';
  const candidates = [
    ['TS reference linearF32', 'js'],
    ['tfjs-wasm matMul', 'wasm'],
    ['ORT MatMul f32', 'MLAS'],
    ...tiers.map((tier) => ['sparq linearF32', tier]),
    ['sparq gemmF32', best],
  ];
  if (!tables.some((table) => candidates.some(([label, tier]) => table.wants(label, tier)))) return;
  ctx.progress(`setup dense ${shape}`);
  console.log(`\n-- dense ${shape}: ${(opsPerCall / 1e9).toFixed(2)} GFLOP per call`);

  const seed = m * 7919 + k * 104729 + n + 41;
  const x = peers.uniformFloats(m * k, seed);
  const w = peers.uniformFloats(n * k, seed + 1);
  const wT = peers.transpose(w, n, k); // [k×n]: ORT's and tfjs's B, gemmF32's unpacked B
  const out = new Float32Array(m * n);
  // The TS reference computes m'×n' outputs, within its ops budget; its rate is per output.
  const refM = Math.max(1, Math.min(m, Math.floor(CONFIG.dense.refOps / (2 * n * k))));
  const refN = Math.max(1, Math.min(n, Math.floor(CONFIG.dense.refOps / (2 * refM * k))));
  const refOps = 2 * refM * refN * k;
  const refNote = refM < m || refN < n ? `times ${refM}×${refN} of the ${m}×${n} outputs; rate per output` : '';
  const xRef = x.subarray(0, refM * k);
  const wRef = w.subarray(0, refN * k);

  let packed = null;
  if (sparq) {
    try {
      packed = sparq.packF32(w, n, k);
    } catch (e) {
      console.log(`! sparq packF32 at ${shape} failed: ${firstLine(e)}`);
    }
  }
  const model = ort ? onnx.matMulModel({ m, k, n, bKxN: wT }) : null;
  const feeds = ort ? { A: new ort.Tensor('float32', x, [m, k]) } : null;

  // Checks, before timing: every kernel and thread count against the TS reference (its m'×n'
  // outputs, within the §3 bound) and ORT (all outputs).
  ctx.progress(`TS reference for dense ${shape}`);
  const yRef = reference ? reference.linearF32(xRef, wRef, refM, refN, k) : null;
  const bound = reference ? reference.linearF32Tolerance(xRef, wRef, refM, refN, k) : null;
  const yOrt = model ? await ctx.ortOutput('ORT MatMul f32', model, feeds) : null;
  const versus = (what) => {
    const parts = [];
    if (yRef) {
      // out is [m×n]; the reference block is its top-left refM×refN corner.
      const corner = new Float32Array(refM * refN);
      for (let i = 0; i < refM; i++) corner.set(out.subarray(i * n, i * n + refN), i * refN);
      parts.push(`ref ${withinBound(corner, yRef, bound, refM * refN, refN)}`);
    }
    if (yOrt) parts.push(`ORT max|Δ|/max|y| ${peers.relativeDifference(out, yOrt).toExponential(2)}`);
    return `${what} ${parts.join(', ') || 'ran'}`;
  };
  const linearKernels = packed
    ? distinctKernels(tiers, 'sparq linearF32', () => sparq.linearF32(peers.uniformFloats(64, 3), sparq.packF32(peers.uniformFloats(64 * 20, 4), 20, 64), 1), sparq.lastF32GemmKernel)
    : [];
  const runnable = new Set();
  const agreement = [];
  for (const entry of linearKernels) {
    for (const threads of threadCounts) {
      ctx.sparqBefore(entry.tier, threads)();
      out.fill(NaN);
      const made = await timedFirstCall(`dense/${shape}/${entry.tier}/${threads}`, `sparq linearF32 ${entry.tier} t${threads}`, () => sparq.linearF32(x, packed, m, { out }));
      if (!made) continue;
      runnable.add(`linear-${entry.tier}/${threads}`);
      agreement.push(versus(`${sparq.lastF32GemmKernel()} t${threads}`));
    }
  }
  if (sparq && best) {
    for (const threads of threadCounts) {
      ctx.sparqBefore(best, threads)();
      out.fill(NaN);
      const made = await timedFirstCall(`dense/${shape}/gemm/${threads}`, `sparq gemmF32 ${best} t${threads}`, () => sparq.gemmF32(x, wT, m, n, k, { out }));
      if (!made) continue;
      runnable.add(`gemm/${threads}`);
      agreement.push(versus(`gemmF32 ${sparq.lastF32GemmKernel()} t${threads}`));
    }
  }
  if (agreement.length) ctx.check(`sparq vs TS reference (${refM}×${refN} outputs, §3 bound) and ORT MatMul f32`, agreement.join('; '));

  // tfjs-wasm: loaded on first use; one thread in Node (see README).
  let tf = null;
  let tfA = null;
  let tfB = null;
  if (tables[0].wants('tfjs-wasm matMul', 'wasm')) {
    const loaded = await loadTfjs();
    if (loaded.tf) {
      tf = loaded.tf;
      tfA = tf.tensor2d(x, [m, k]);
      tfB = tf.tensor2d(wT, [k, n]);
      const made = await ctx.tryFirstCall('tfjs-wasm matMul', () => tf.tidy(() => tf.matMul(tfA, tfB).dataSync()));
      if (!made) tf = null;
      else if (yOrt) ctx.check('tfjs-wasm matMul vs ORT MatMul f32', `max|Δ|/max|y| ${peers.relativeDifference(made.value, yOrt).toExponential(2)}`);
    }
  }

  // At m = 1 the weight stream bounds the speed: those rows also show GB/s of W (f32).
  const weightBytes = m === 1 ? { bytesPerCall: 4 * n * k, bytesWhat: 'of W' } : {};
  const jsKey = (name) => `dense/${shape}/js/${name}`;
  for (const [blockIndex, threads] of threadCounts.entries()) {
    const table = tables[blockIndex];
    const key = (name) => `dense/${shape}/${threads}/${name}`;
    if (blockIndex === 0) {
      const rows = [];
      if (reference) {
        rows.push({
          key: jsKey('ref'),
          label: 'TS reference linearF32',
          tier: 'js',
          threads: 1,
          fn: () => reference.linearF32(xRef, wRef, refM, refN, k),
          before: ctx.ortBefore,
          opsPerCall: refOps,
          unit: 'GOP/s',
          note: refNote,
          bench: CONFIG.dense.bench,
        });
      }
      if (tf) {
        rows.push({
          key: jsKey('tfjs'),
          label: 'tfjs-wasm matMul',
          tier: 'wasm',
          threads: tfjs.threads,
          fn: () => {
            const c = tf.matMul(tfA, tfB);
            c.dataSync();
            c.dispose();
          },
          before: ctx.ortBefore,
          opsPerCall,
          unit: 'GOP/s',
          refKey: jsKey('ref'),
          ...weightBytes,
          note: `tfjs ${tfjs.version}, SIMD ${tfjs.simd ? 'on' : 'off'}, ${tfjs.threads} thread (no wasm threads in Node); output copied out (dataSync)`,
          bench: CONFIG.dense.bench,
        });
      }
      await table.run(rows);
    }
    if (yOrt && table.wants('ORT MatMul f32', 'MLAS')) {
      await ctx.withOrtSessions(`ORT MatMul f32 t${threads}`, [model], ctx.ortSessionOptions(threads), ([session]) =>
        table.run([
          {
            key: key('ort'),
            label: 'ORT MatMul f32',
            tier: 'MLAS',
            threads,
            async: true,
            fn: () => session.run(feeds),
            before: ctx.ortBefore,
            opsPerCall,
            unit: 'GOP/s',
            refKey: jsKey('ref'),
            ...weightBytes,
            note: 'B an initializer',
            bench: CONFIG.dense.bench,
          },
        ]),
      );
    }
    const sparqRows = [];
    for (const entry of linearKernels.filter((e) => runnable.has(`linear-${e.tier}/${threads}`))) {
      const fields = kernelFields(entry, (tier) => key(`sparq-${tier}`), sparq.lastF32GemmKernel);
      const { bench, note } = sampling(`dense/${shape}/${entry.tier}/${threads}`, CONFIG.dense.bench);
      sparqRows.push({
        ...fields,
        label: 'sparq linearF32',
        threads,
        fn: () => sparq.linearF32(x, packed, m, { out }),
        before: ctx.sparqBefore(entry.tier, threads),
        after: afterWith({ lastKernel: sparq.lastF32GemmKernel, fixedNote: ['W packed once', fields.kernelNote, note].filter(Boolean).join('; ') }),
        opsPerCall,
        unit: 'GOP/s',
        refKey: jsKey('ref'),
        ortKey: key('ort'),
        ...weightBytes,
        bench,
      });
    }
    if (runnable.has(`gemm/${threads}`)) {
      const { bench, note } = sampling(`dense/${shape}/gemm/${threads}`, CONFIG.dense.bench);
      sparqRows.push({
        key: key('gemm'),
        label: 'sparq gemmF32',
        tier: best,
        threads,
        fn: () => sparq.gemmF32(x, wT, m, n, k, { out }),
        before: ctx.sparqBefore(best, threads),
        after: afterWith({ lastKernel: sparq.lastF32GemmKernel, fixedNote: ['B [k×n] unpacked, read per call', note].filter(Boolean).join('; ') }),
        opsPerCall,
        unit: 'GOP/s',
        refKey: jsKey('ref'),
        ortKey: key('ort'),
        ...weightBytes,
        bench,
      });
    }
    await table.run(sparqRows);
  }
  if (tfA) {
    tfA.dispose();
    tfB.dispose();
  }
  ctx.restoreSparqDefaults();
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
  ctx.progress(`generate ${pct(sparsity)} ${pattern} matrix`);
  const csr = peers.randomCsr({ rows: SIZE, cols: SIZE, sparsity, pattern, seed: matrixSeed(sparsity, pattern, index) });
  const matrices = {};
  const { sparq } = ctx;
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
  const { reference } = ctx;
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
    ctx.sparqBefore(tier, 1)();
    let y;
    try {
      y = run();
    } catch (e) {
      parts.push(`${variant} on ${tier}: ${firstLine(e)}`);
      continue;
    }
    parts.push(`${ctx.sparq.lastSparseKernel()} ${withinBound(y, yRef, bound, rows * n, n)}`);
  }
  const rows = [...new Set([...refOf.values()].map((r) => r.rows))].sort((a, b) => a - b);
  if (parts.length) ctx.check(`${label} vs TS reference (first ${rows.join('/')} rows, §3 bound)`, parts.join('; '));
}

// ---------------------------------------------------------------------------
// Own dense and ORT at the spmm shape: C [rows×n] = A·B is computed as Cᵀ [n×rows] = Bᵀ·Aᵀ, a
// linear layer with X = Bᵀ [n×cols] and W = A [rows×cols]: sparq linearF32 (W packed once, the
// fastest dense path for a fixed matrix) and ORT MatMul f32 (Aᵀ as initializer).

const denseKey = (n, threads, name) => `sp-dense/n${n}/t${threads}/${name}`;

/** The dense weight (any of the sparse matrices, densified), packed and as ORT's [cols×rows], built once. */
let denseWeight = null;
function ensureDenseWeight(csr) {
  if (denseWeight) return denseWeight;
  ctx.progress('dense weight for the spmm peers');
  const dense = peers.csrToDense(csr);
  let packed = null;
  if (ctx.sparq) {
    try {
      packed = ctx.sparq.packF32(dense, SIZE, SIZE);
    } catch (e) {
      console.log(`! sparq packF32 of the dense weight failed: ${firstLine(e)}`);
    }
  }
  denseWeight = { packed, denseT: ctx.ort ? peers.transpose(dense, SIZE, SIZE) : null, csr, sparsity: 1 - csr.nnz / (SIZE * SIZE) };
  return denseWeight;
}

/**
 * The own-dense and ORT rows at n columns, timed in `table` unless an earlier table did.
 * suffix goes after the labels (the break-even table names n there).
 */
async function denseRows(table, n, threads, csr, suffix = '') {
  const { sparq, ort } = ctx;
  const ownLabel = `sparq linearF32 dense${suffix}`;
  const ortLabel = `ORT MatMul f32 dense${suffix}`;
  const wantsOwn = sparq && !ctx.findResult(denseKey(n, threads, 'own')) && table.wants(ownLabel, ctx.best);
  const wantsOrt = ort && !ctx.findResult(denseKey(n, threads, 'ort')) && table.wants(ortLabel, 'MLAS');
  if (!wantsOwn && !wantsOrt) return;
  const weight = ensureDenseWeight(csr);
  const opsPerCall = 2 * SIZE * SIZE * n;
  const xT = peers.uniformFloats(n * SIZE, 77 + n); // Bᵀ: values do not change dense timing
  const note = `W [${SIZE}×${SIZE}] dense; Y = Bᵀ·Wᵀ [${n}×${SIZE}]`;
  if (wantsOwn && weight.packed) {
    const out = new Float32Array(n * SIZE);
    ctx.sparqBefore(ctx.best, threads)();
    if (await ctx.tryFirstCall(`sparq linearF32 dense n${n} t${threads}`, () => sparq.linearF32(xT, weight.packed, n, { out }))) {
      await table.run([
        {
          key: denseKey(n, threads, 'own'),
          label: ownLabel,
          tier: ctx.best,
          threads,
          fn: () => sparq.linearF32(xT, weight.packed, n, { out }),
          before: ctx.sparqBefore(ctx.best, threads),
          after: afterWith({ lastKernel: sparq.lastF32GemmKernel, fixedNote: `${note}; W packed once` }),
          opsPerCall,
          unit: 'GOP/s',
          ortKey: denseKey(n, threads, 'ort'),
          bench: CONFIG.grid.bench,
        },
      ]);
    }
  }
  if (wantsOrt && weight.denseT) {
    ctx.progress(`ORT dense model n${n}`);
    const model = onnx.matMulModel({ m: n, k: SIZE, n: SIZE, bKxN: weight.denseT });
    const feeds = { A: new ort.Tensor('float32', xT, [n, SIZE]) };
    await ctx.withOrtSessions(`ORT MatMul f32 dense n${n} t${threads}`, [model], ctx.ortSessionOptions(threads), ([session]) =>
      table.run([
        {
          key: denseKey(n, threads, 'ort'),
          label: ortLabel,
          tier: 'MLAS',
          threads,
          async: true,
          fn: () => session.run(feeds),
          before: ctx.ortBefore,
          opsPerCall,
          unit: 'GOP/s',
          note,
          bench: CONFIG.grid.bench,
        },
      ]),
    );
  }
}

// ---------------------------------------------------------------------------
// spmv / spmm grid: sparsity × pattern × n

async function sparseGrid(tiers) {
  const { sparq, Table } = ctx;
  const G = CONFIG.grid;
  const points = [];
  for (const pattern of G.patterns) {
    for (const sparsity of G.sparsities) {
      for (const n of G.ns) {
        const name = `${pct(sparsity)} ${pattern}${n > 1 ? ` n${n}` : ''}`;
        const tables = G.threads.map((t) => new Table(`${opName(n)} ${name} t${t}`, null));
        points.push({ pattern, sparsity, n, tables, mathjs: G.mathjsPoints.includes(`${pct(sparsity)} ${pattern} n${n}`) });
      }
    }
  }
  const best = ctx.best;
  const candidateRows = (point) => [
    ['sparq linearF32 dense', best],
    ['ORT MatMul f32 dense', 'MLAS'],
    ['JS CSR loop', 'js'],
    ...(point.mathjs ? [['mathjs sparse × dense', 'js']] : []),
    ...VARIANTS.map(([, what]) => [`sparq ${opName(point.n)} ${what}`, tiers.join(' ')]),
  ];
  const wanted = points.filter((p) => p.tables.some((table) => candidateRows(p).some(([label, tier]) => table.wants(label, tier))));
  if (wanted.length === 0) return;

  // One timed row per distinct kernel for f32 u32; the other storages on the best tier.
  const probe = sparq ? sparq.CsrMatrix.fromArrays(4, 4, Int32Array.of(0, 1, 2, 3, 4), Int32Array.of(0, 1, 2, 3), Float32Array.of(1, 2, 3, 4)) : null;
  const kernelsOf = {
    spmv: probe ? distinctKernels(tiers, 'sparq spmv f32 u32', () => sparq.spmv(probe, new Float32Array(4)), sparq.lastSparseKernel) : [],
    spmm: probe ? distinctKernels(tiers, 'sparq spmm f32 u32', () => sparq.spmm(probe, new Float32Array(12), 3), sparq.lastSparseKernel) : [],
  };
  if (!mathjs && wanted.some((p) => p.mathjs)) mathjs = tryLoad('mathjs', peers.loadMathjs);

  // Matrices are built once per (pattern, sparsity) and serve every n.
  const byMatrix = new Map();
  for (const point of wanted) {
    const id = `${point.pattern}/${point.sparsity}`;
    if (!byMatrix.has(id)) byMatrix.set(id, []);
    byMatrix.get(id).push(point);
  }
  for (const group of byMatrix.values()) {
    const { pattern, sparsity } = group[0];
    const { csr, matrices } = buildSparse(sparsity, pattern, VARIANTS.map(([name]) => name));
    const skew = `rows: max ${csr.maxRow}, median ${csr.medianRow} entries`;
    console.log(`\n-- ${pct(sparsity)} ${pattern} [${SIZE}×${SIZE}]: nnz ${csr.nnz}, ${skew}` + (matrices['f32-u32'] ? `, f32 u32 ${(matrices['f32-u32'].byteLength / MiB).toFixed(1)} MiB` : ''));
    let mathMatrix = null;
    for (const point of group) await sparsePoint(point, csr, matrices, kernelsOf[opName(point.n)], () => {
      if (!mathMatrix && mathjs && mathjs.lib) mathMatrix = peers.mathjsSparse(mathjs.lib, csr);
      return mathMatrix;
    });
  }
  ctx.restoreSparqDefaults();
}

async function sparsePoint({ pattern, sparsity, n, tables, mathjs: withMathjs }, csr, matrices, kernels, mathMatrix) {
  const { sparq } = ctx;
  const op = opName(n);
  const best = ctx.best;
  const point = `${pct(sparsity)} ${pattern}${n > 1 ? ` n${n}` : ''}`;
  ctx.progress(`setup ${op} ${point}`);
  const opsPerCall = 2 * SIZE * SIZE * n; // dense-equivalent work: the rate column of every row
  const effectiveOps = 2 * csr.nnz * n;
  const b = peers.uniformFloats(SIZE * n, 91 + n);
  const out = new Float32Array(SIZE * n);
  const call = (matrix) => (n === 1 ? () => sparq.spmv(matrix, b, { out }) : () => sparq.spmm(matrix, b, n, { out }));
  const ratios = (threads, self) => [
    [denseKey(n, threads, 'own'), 'own dense'],
    ...(self === 'mathjs' ? [] : [[`sp/${pattern}/${pct(sparsity)}/n${n}/mathjs`, 'mathjs']]),
    ...(self === 'js' ? [] : [[`sp/${pattern}/${pct(sparsity)}/n${n}/js`, 'JS']]),
  ];

  // Checks: every f32 u32 kernel and every storage on the best tier against the TS reference.
  const runnable = new Set();
  if (sparq) {
    const calls = [
      ...kernels.map((entry) => ({ variant: 'f32-u32', tier: entry.tier, run: () => call(matrices['f32-u32'])() })),
      ...VARIANTS.slice(1).map(([variant]) => ({ variant, tier: best, run: () => call(matrices[variant])() })),
    ];
    checkSparse(`sparq ${op} ${point}`, matrices, b, n, calls);
    for (const { variant, tier } of calls) {
      if (!matrices[variant]) continue;
      ctx.sparqBefore(tier, 1)();
      const id = `sp/${pattern}/${pct(sparsity)}/n${n}/${variant}/${tier}`;
      if (await timedFirstCall(id, `sparq ${op} ${variant} ${tier}`, () => call(matrices[variant])())) runnable.add(`${variant}/${tier}`);
    }
  }

  for (const [blockIndex, threads] of CONFIG.grid.threads.entries()) {
    const table = tables[blockIndex];
    const key = (name) => `sp/${pattern}/${pct(sparsity)}/n${n}/t${threads}/${name}`;
    await denseRows(table, n, threads, csr);
    if (blockIndex === 0) {
      // Single-threaded JavaScript peers, timed once per point.
      const rows = [];
      const jsRows = rowsWithin(csr.indptr, SIZE, n, CONFIG.grid.jsOps);
      const jsOut = new Float32Array(jsRows * n);
      const jsNnz = csr.indptr[jsRows];
      rows.push({
        key: `sp/${pattern}/${pct(sparsity)}/n${n}/js`,
        label: 'JS CSR loop',
        tier: 'js',
        threads: 1,
        fn:
          n === 1
            ? () => peers.jsSpmv(csr.indptr, csr.indices, csr.values, jsRows, b, jsOut)
            : () => peers.jsSpmm(csr.indptr, csr.indices, csr.values, jsRows, b, n, jsOut),
        before: ctx.ortBefore,
        after: afterWith({
          effectiveOps: 2 * jsNnz * n,
          ratios: ratios(threads, 'js'),
          fixedNote: jsRows < SIZE ? `times the first ${jsRows} of ${SIZE} rows (${jsNnz} entries); rate per entry` : 'f32 typed arrays, f64 sums',
        }),
        opsPerCall: (opsPerCall * jsNnz) / csr.nnz, // the slice's share of the dense-equivalent work
        unit: 'GOP/s',
        ortKey: denseKey(n, threads, 'ort'),
        bench: CONFIG.grid.bench,
      });
      const math = withMathjs && mathjs && mathjs.lib ? mathjs.lib : null;
      if (math && table.wants('mathjs sparse × dense', 'js')) {
        ctx.progress(`mathjs matrices ${point}`);
        const sparse = mathMatrix();
        const dense = peers.mathjsDense(math, b, SIZE, n);
        const made = await ctx.tryFirstCall(`mathjs ${point}`, () => math.multiply(sparse, dense));
        if (made) {
          const y = peers.mathjsToFloat32(math, made.value, SIZE, n);
          const reference = n === 1 ? peers.jsSpmv(csr.indptr, csr.indices, csr.values, SIZE, b, new Float32Array(SIZE)) : peers.jsSpmm(csr.indptr, csr.indices, csr.values, SIZE, b, n, new Float32Array(SIZE * n));
          ctx.check(`mathjs ${point} vs JS CSR loop`, `max|Δ|/max|y| ${peers.relativeDifference(y, reference).toExponential(2)}`);
          rows.push({
            key: `sp/${pattern}/${pct(sparsity)}/n${n}/mathjs`,
            label: 'mathjs sparse × dense',
            tier: 'js',
            threads: 1,
            fn: () => math.multiply(sparse, dense),
            before: ctx.ortBefore,
            after: afterWith({ effectiveOps, ratios: ratios(threads, 'mathjs'), fixedNote: `mathjs ${math.version} SparseMatrix (datatype number) × ${n === 1 ? 'vector' : 'DenseMatrix'}` }),
            opsPerCall,
            unit: 'GOP/s',
            ortKey: denseKey(n, threads, 'ort'),
            bench: CONFIG.grid.mathjsBench,
          });
        }
      }
      await table.run(rows);
    }

    // sparq: f32 u32 per kernel, the other storages on the best tier; at T > 1 the best tier only.
    const rows = [];
    const bestEntry = kernels.find((e) => e.tier === best || e.alsoFor.includes(best));
    for (const entry of threads === 1 ? kernels : kernels.filter((e) => e === bestEntry)) {
      if (!runnable.has(`f32-u32/${entry.tier}`)) continue;
      const fields = kernelFields(entry, (tier) => key(`f32-u32-${tier}`), sparq.lastSparseKernel);
      const { bench, note } = sampling(`sp/${pattern}/${pct(sparsity)}/n${n}/f32-u32/${entry.tier}`, CONFIG.grid.bench);
      rows.push({
        ...fields,
        label: `sparq ${op} f32 u32`,
        threads,
        fn: call(matrices['f32-u32']),
        before: ctx.sparqBefore(entry.tier, threads),
        after: afterWith({ lastKernel: sparq.lastSparseKernel, effectiveOps, ratios: ratios(threads), fixedNote: [fields.kernelNote, note].filter(Boolean).join('; ') }),
        opsPerCall,
        unit: 'GOP/s',
        ortKey: denseKey(n, threads, 'ort'),
        bench,
      });
    }
    for (const [variant, what] of threads === 1 ? VARIANTS.slice(1) : VARIANTS.slice(1, 2)) {
      if (!runnable.has(`${variant}/${best}`)) continue;
      rows.push({
        key: key(variant),
        label: `sparq ${op} ${what}`,
        tier: best,
        threads,
        fn: call(matrices[variant]),
        before: ctx.sparqBefore(best, threads),
        after: afterWith({ lastKernel: sparq.lastSparseKernel, effectiveOps, ratios: ratios(threads) }),
        opsPerCall,
        unit: 'GOP/s',
        ortKey: denseKey(n, threads, 'ort'),
        bench: CONFIG.grid.bench,
      });
    }
    await table.run(rows);
  }
}

// ---------------------------------------------------------------------------
// Break-even: the sparsity from which sparse (best storage) beats own dense, per n

const SWEEP_VARIANTS = [
  ['f32-u16', 'f32 u16'],
  ['int8-u16', 'int8 u16'],
];

async function breakEvenSweep() {
  const B = CONFIG.breakEven;
  const { sparq, Table } = ctx;
  if (!B || !sparq) return;
  const best = ctx.best;
  // Self-contained: every row is timed here, in one pass, so the grid's rows (timed minutes
  // earlier, under other load) never mix in. Own dense is timed before and after the sweep.
  const table = new Table('break-even t1', `random pattern, 1 thread, ${best}; sparse = the faster of f32 u16 and int8 u16`);
  const sweepKey = (sparsity, n, variant) => `be/${pct(sparsity)}/n${n}/${variant}`;
  const denseAt = (n, when) => `be/dense/n${n}/${when}`;
  const label = (sparsity, n, what) => `sparq ${opName(n)} ${what} n${n} ${pct(sparsity)}`;
  const wants = B.sparsities.some((s) => B.ns.some((n) => SWEEP_VARIANTS.some(([, what]) => table.wants(label(s, n, what), best))));
  if (!wants) return;
  ctx.progress('setup break-even');
  console.log(`\n-- break-even: sparsity ${B.sparsities.map(pct).join(', ')} × n ${B.ns.join(', ')}, random pattern`);

  const operands = new Map(B.ns.map((n) => [n, { b: peers.uniformFloats(SIZE * n, 91 + n), xT: peers.uniformFloats(n * SIZE, 77 + n), out: new Float32Array(SIZE * n) }]));
  const denseRowsAt = async (when) => {
    const { packed } = denseWeight;
    if (!packed) return;
    await table.run(
      B.ns.map((n) => {
        const { xT, out } = operands.get(n);
        return {
          key: denseAt(n, when),
          label: `sparq linearF32 dense n${n} (${when})`,
          tier: best,
          threads: 1,
          fn: () => sparq.linearF32(xT, packed, n, { out }),
          before: ctx.sparqBefore(best, 1),
          after: afterWith({ lastKernel: sparq.lastF32GemmKernel, fixedNote: `W [${SIZE}×${SIZE}] dense, packed once; Y = Bᵀ·Wᵀ` }),
          opsPerCall: 2 * SIZE * SIZE * n,
          unit: 'GOP/s',
          bench: B.bench,
        };
      }),
    );
  };

  for (const [index, sparsity] of B.sparsities.entries()) {
    const { csr, matrices } = buildSparse(sparsity, 'random', SWEEP_VARIANTS.map(([variant]) => variant));
    if (index === 0) {
      ensureDenseWeight(csr);
      await denseRowsAt('start');
    }
    for (const n of B.ns) {
      const { b, out } = operands.get(n);
      const call = (matrix) => (n === 1 ? () => sparq.spmv(matrix, b, { out }) : () => sparq.spmm(matrix, b, n, { out }));
      const todo = SWEEP_VARIANTS.filter(([variant, what]) => matrices[variant] && table.wants(label(sparsity, n, what), best));
      checkSparse(`sparq ${opName(n)} ${pct(sparsity)} random n${n}`, matrices, b, n, todo.map(([variant]) => ({ variant, tier: best, run: () => call(matrices[variant])() })));
      await table.run(
        todo.map(([variant, what]) => ({
          key: sweepKey(sparsity, n, variant),
          label: label(sparsity, n, what),
          tier: best,
          threads: 1,
          fn: call(matrices[variant]),
          before: ctx.sparqBefore(best, 1),
          after: afterWith({ lastKernel: sparq.lastSparseKernel, effectiveOps: 2 * csr.nnz * n, ratios: [[denseAt(n, 'start'), 'own dense']] }),
          opsPerCall: 2 * SIZE * SIZE * n,
          unit: 'GOP/s',
          bench: B.bench,
        })),
      );
    }
  }
  await denseRowsAt('end');

  // Speed-up over own dense per sparsity (dense time, the mean of the two dense rows, over the
  // time of the faster storage), and where it crosses 1.
  console.log('\n  break-even (sparse speed-up over own dense = dense time / sparse time):');
  for (const n of B.ns) {
    const dense = ['start', 'end'].map((when) => ctx.findResult(denseAt(n, when))).filter(Boolean);
    if (dense.length === 0) continue;
    const denseTime = dense.reduce((sum, r) => sum + r.median, 0) / dense.length;
    const points = [];
    for (const sparsity of B.sparsities) {
      const rows = SWEEP_VARIANTS.map(([variant]) => ctx.findResult(sweepKey(sparsity, n, variant))).filter(Boolean);
      if (rows.length) points.push({ sparsity, speedup: denseTime / Math.min(...rows.map((r) => r.median)) });
    }
    if (points.length === 0) continue;
    const text = breakEvenText(points);
    breakEven.set(n, text);
    console.log(`    n = ${n}: ${text.text}`);
    console.log(`      own dense ${dense.map((r) => formatTime(r.median)).join(' before, ')}${dense.length > 1 ? ' after the sweep (mean used)' : ''}`);
    console.log(`      ${points.map((p) => `${pct(p.sparsity)} ${times(p.speedup)}`).join(', ')}`);
  }
}

/** Where the speed-up first reaches 1 for good, linearly interpolated between sweep points. */
function breakEvenText(points) {
  const lastBelow = points.map((p) => p.speedup < 1).lastIndexOf(true);
  if (lastBelow < 0) return { sparsity: null, text: `sparse is faster at every swept sparsity (from ${pct(points[0].sparsity)}: ${times(points[0].speedup)})` };
  if (lastBelow === points.length - 1) {
    const last = points[points.length - 1];
    return { sparsity: null, text: `own dense is faster up to ${pct(last.sparsity)} (${times(last.speedup)} there): no break-even in the sweep` };
  }
  const [lo, hi] = [points[lastBelow], points[lastBelow + 1]];
  const at = lo.sparsity + ((1 - lo.speedup) * (hi.sparsity - lo.sparsity)) / (hi.speedup - lo.speedup);
  return { sparsity: at, text: `sparse beats own dense from ~${(100 * at).toFixed(0)}% sparsity (${times(lo.speedup)} at ${pct(lo.sparsity)}, ${times(hi.speedup)} at ${pct(hi.sparsity)})` };
}

// ---------------------------------------------------------------------------
// linearSparse: Y[m×N] = X[m×K]·Wᵀ + b with W a CSR [N×K], against the dense layer

const LINEAR_VARIANTS = [
  ['f32-u32', 'f32 u32'],
  ['f32-u16', 'f32 u16'],
  ['int8-u16', 'int8 u16'],
];

async function sparseLinear() {
  const L = CONFIG.linear;
  const { sparq, reference, ort, Table } = ctx;
  const best = ctx.best;
  const tableOf = new Map();
  for (const m of L.ms) for (const t of L.threads) tableOf.set(`${m}/${t}`, new Table(`sparse-linear ${m}x${SIZE}x${SIZE} t${t}`, `Y = X·Wᵀ + b, W [${SIZE}×${SIZE}] random pattern`));
  const label = (sparsity, what) => `sparq linearSparse ${pct(sparsity)} ${what}`;
  const candidates = [
    ['ORT Gemm f32 + bias', 'MLAS'],
    ['sparq linearF32 + bias', best],
    ...L.sparsities.flatMap((s) => LINEAR_VARIANTS.map(([, what]) => [label(s, what), best])),
  ];
  if (![...tableOf.values()].some((table) => candidates.some(([l, tier]) => table.wants(l, tier)))) return;
  ctx.progress('setup sparse-linear');
  console.log(`\n-- sparse-linear: m ${L.ms.join(', ')}, W [${SIZE}×${SIZE}] at ${L.sparsities.map(pct).join(', ')} (random), with bias`);

  const bias = peers.uniformFloats(SIZE, 61, -0.5, 0.5);
  const layers = [];
  for (const sparsity of L.sparsities) {
    const { csr, matrices } = buildSparse(sparsity, 'random', LINEAR_VARIANTS.map(([variant]) => variant));
    if (!denseWeight) ensureDenseWeight(csr);
    layers.push({ sparsity, nnz: csr.nnz, matrices });
  }
  const weight = denseWeight;

  for (const m of L.ms) {
    const x = peers.uniformFloats(m * SIZE, 62 + m);
    const out = new Float32Array(m * SIZE);
    const denseOps = 2 * m * SIZE * SIZE;
    // Checks: each storage against the TS reference on the first W rows (outputs Y[:, :R]).
    const runnable = new Set();
    if (sparq && reference) {
      const parts = [];
      for (const { sparsity, matrices } of layers) {
        for (const [variant] of LINEAR_VARIANTS) {
          const matrix = matrices[variant];
          if (!matrix) continue;
          ctx.sparqBefore(best, 1)();
          const made = await ctx.tryFirstCall(`sparq linearSparse ${pct(sparsity)} ${variant}`, () => sparq.linearSparse(x, matrix, m, { bias, out }));
          if (!made) continue;
          runnable.add(`${sparsity}/${variant}`);
          const arrays = matrix.toArrays();
          const rows = rowsWithin(arrays.indptr, SIZE, m, 2 ** 21);
          const w = referenceRows(arrays, SIZE, rows);
          const yRef = reference.linearSparse(x, w, m, bias.subarray(0, rows));
          const bound = reference.linearSparseTolerance(x, w, m, bias.subarray(0, rows));
          const corner = new Float32Array(m * rows);
          for (let i = 0; i < m; i++) corner.set(out.subarray(i * SIZE, i * SIZE + rows), i * rows);
          parts.push(`${pct(sparsity)} ${sparq.lastSparseKernel()} ${withinBound(corner, yRef, bound, m * rows, rows)}`);
        }
      }
      if (parts.length) ctx.check(`sparq linearSparse m=${m} vs TS reference (first W rows, §3 bound)`, parts.join('; '));
    }
    const model = ort && weight.denseT ? peers.gemmModel({ m, k: SIZE, n: SIZE, bKxN: weight.denseT, bias }) : null;
    const feeds = ort ? { A: new ort.Tensor('float32', x, [m, SIZE]) } : null;

    for (const threads of L.threads) {
      const table = tableOf.get(`${m}/${threads}`);
      const key = (name) => `sl/m${m}/t${threads}/${name}`;
      if (model && table.wants('ORT Gemm f32 + bias', 'MLAS')) {
        await ctx.withOrtSessions(`ORT Gemm m${m} t${threads}`, [model], ctx.ortSessionOptions(threads), ([session]) =>
          table.run([
            {
              key: key('ort'),
              label: 'ORT Gemm f32 + bias',
              tier: 'MLAS',
              threads,
              async: true,
              fn: () => session.run(feeds),
              before: ctx.ortBefore,
              opsPerCall: denseOps,
              unit: 'GOP/s',
              note: 'dense W an initializer',
              bench: L.bench,
            },
          ]),
        );
      }
      const rows = [];
      if (sparq && weight.packed) {
        ctx.sparqBefore(best, threads)();
        if (await ctx.tryFirstCall(`sparq linearF32 + bias m${m} t${threads}`, () => sparq.linearF32(x, weight.packed, m, { bias, out }))) {
          rows.push({
            key: key('dense'),
            label: 'sparq linearF32 + bias',
            tier: best,
            threads,
            fn: () => sparq.linearF32(x, weight.packed, m, { bias, out }),
            before: ctx.sparqBefore(best, threads),
            after: afterWith({ lastKernel: sparq.lastF32GemmKernel, fixedNote: 'dense W packed once' }),
            opsPerCall: denseOps,
            unit: 'GOP/s',
            ortKey: key('ort'),
            bench: L.bench,
          });
        }
      }
      for (const { sparsity, nnz, matrices } of layers) {
        for (const [variant, what] of LINEAR_VARIANTS) {
          if (!runnable.has(`${sparsity}/${variant}`)) continue;
          rows.push({
            key: key(`${pct(sparsity)}-${variant}`),
            label: label(sparsity, what),
            tier: best,
            threads,
            fn: () => sparq.linearSparse(x, matrices[variant], m, { bias, out }),
            before: ctx.sparqBefore(best, threads),
            after: afterWith({ lastKernel: sparq.lastSparseKernel, effectiveOps: 2 * m * nnz, ratios: [[key('dense'), 'own dense']] }),
            opsPerCall: denseOps,
            unit: 'GOP/s',
            ortKey: key('ort'),
            bench: L.bench,
          });
        }
      }
      await table.run(rows);
    }
  }
  ctx.restoreSparqDefaults();
}

// ---------------------------------------------------------------------------
// Cold spmv: each call on the next of enough distinct matrices to total ≥ CONFIG.cold.bytes

const DRAM_READ = 'DRAM read (wasm i64x2 sum)';

async function coldSpmv(tiers) {
  const C = CONFIG.cold;
  const { sparq, reference, Table } = ctx;
  const quantPeers = ctx.quantPeers;
  const widths = [
    ['u32', 32],
    ['u16', 16],
  ];
  const tables = C.threads.map((t) => new Table(`cold-spmv ${SIZE}x${SIZE} ${pct(C.sparsity)} t${t}`, `rate = bytes read (indptr + indices + values + x + y) / median time`));
  const candidates = [
    ...widths.map(([w]) => [`${DRAM_READ} ${w} bytes`, 'wasm']),
    ...widths.map(([w]) => [`sparq spmv f32 ${w}`, tiers.join(' ')]),
    ['JS CSR loop', 'js'],
  ];
  if (!tables.some((table) => candidates.some(([label, tier]) => table.wants(label, tier)))) return;
  ctx.progress('setup cold-spmv');

  // Every matrix has the same nnz; its bytes follow from the storage.
  const nnz = Math.round((1 - C.sparsity) * SIZE * SIZE);
  const bytesOf = (bits) => 4 * (SIZE + 1) + nnz * (bits / 8 + 4) + 4 * SIZE + 4 * SIZE;
  const countOf = (bits) => Math.ceil(C.bytes / bytesOf(bits));
  const count = Math.max(...widths.map(([, bits]) => countOf(bits)));
  console.log(
    `\n-- cold-spmv ${pct(C.sparsity)}: ` +
      widths.map(([w, bits]) => `${w} ${countOf(bits)} matrices × ${(bytesOf(bits) / MiB).toFixed(1)} MiB = ${((countOf(bits) * bytesOf(bits)) / MiB).toFixed(0)} MiB`).join('; '),
  );
  const sets = { u32: [], u16: [] };
  const jsSet = [];
  const wantsJs = tables[0].wants('JS CSR loop', 'js');
  for (let i = 0; i < count; i++) {
    ctx.progress(`cold-spmv matrix ${i}`);
    const csr = peers.randomCsr({ rows: SIZE, cols: SIZE, sparsity: C.sparsity, pattern: 'random', seed: matrixSeed(C.sparsity, 'random', i + 1) });
    if (i < countOf(32) && wantsJs) jsSet.push(csr);
    if (!sparq) continue;
    try {
      if (i < countOf(32)) sets.u32.push(sparq.CsrMatrix.fromArrays(SIZE, SIZE, csr.indptr, csr.indices, csr.values));
      if (i < countOf(16)) sets.u16.push(sparq.CsrMatrix.fromArrays(SIZE, SIZE, csr.indptr, csr.indices, csr.values, { indexBits: 16 }));
    } catch (e) {
      console.log(`  skip   sparq cold matrices: ${firstLine(e)}`);
      sets.u32 = [];
      sets.u16 = [];
      break;
    }
  }
  for (const [w, bits] of widths) {
    const matrix = sets[w][0];
    if (matrix && matrix.byteLength + 8 * SIZE !== bytesOf(bits)) {
      console.log(`  note   ${w}: CsrMatrix.byteLength ${matrix.byteLength} + x + y = ${matrix.byteLength + 8 * SIZE} bytes, expected ${bytesOf(bits)}; rates use byteLength`);
    }
  }
  const bytesPerCall = (w, bits) => (sets[w][0] ? sets[w][0].byteLength + 8 * SIZE : bytesOf(bits));

  // The DRAM read sums the same number of bytes per call, from the next region each call.
  const region = (w, bits) => Math.ceil(bytesPerCall(w, bits) / 64) * 64;
  let memory = null;
  const wantsDram = tables.some((table) => widths.some(([w]) => table.wants(`${DRAM_READ} ${w} bytes`, 'wasm')));
  if (wantsDram) {
    try {
      const total = Math.max(...widths.map(([w, bits]) => countOf(bits) * region(w, bits)));
      const made = quantPeers.readableMemory(total);
      const words = new Uint32Array(made.memory.buffer, 0, total / 4);
      const next = peers.xorshift32(4242);
      for (let i = 0; i < words.length; i++) words[i] = next();
      memory = made.memory;
      const length = MiB;
      const reader = await quantPeers.MemoryReader.open(memory, 1);
      const same = reader.read(0, length) === quantPeers.sumWordsJs(made.bytes, 0, length);
      await reader.close();
      ctx.check(`${DRAM_READ} vs JS sum (first MiB)`, same ? 'exact' : 'DIFFERENT');
      if (!same) memory = null;
    } catch (e) {
      console.log(`! ${DRAM_READ}: ${firstLine(e)}; rows left out`);
      memory = null;
    }
  }

  // Checks: each kernel on matrix 0 against the TS reference, within the §3 bound.
  const x = peers.uniformFloats(SIZE, 63);
  const out = new Float32Array(SIZE);
  const kernelsOf = {};
  const probe = sparq && sets.u32.length ? sparq.CsrMatrix.fromArrays(2, 2, Int32Array.of(0, 1, 2), Int32Array.of(0, 1), Float32Array.of(1, 2)) : null;
  for (const [w, bits] of widths) {
    if (!probe || !sets[w].length) {
      kernelsOf[w] = [];
      continue;
    }
    const small = probe.withIndexBits(bits);
    kernelsOf[w] = distinctKernels(tiers, `sparq spmv f32 ${w}`, () => sparq.spmv(small, new Float32Array(2)), sparq.lastSparseKernel);
    if (reference) {
      const arrays = sets[w][0].toArrays();
      const a = { rows: SIZE, cols: SIZE, ...arrays };
      const yRef = reference.spmv(a, x);
      const bound = reference.spmvTolerance(a, x);
      const parts = [];
      for (const entry of kernelsOf[w]) {
        ctx.sparqBefore(entry.tier, 1)();
        sparq.spmv(sets[w][0], x, { out });
        parts.push(`${sparq.lastSparseKernel()} ${withinBound(out, yRef, bound, SIZE, 1)}`);
      }
      ctx.check(`sparq spmv f32 ${w} on cold matrix 0 vs TS reference (§3 bound)`, parts.join('; '));
    }
  }

  for (const [blockIndex, threads] of C.threads.entries()) {
    const table = tables[blockIndex];
    const key = (name) => `csp/t${threads}/${name}`;
    let reader = null;
    if (memory && widths.some(([w]) => table.wants(`${DRAM_READ} ${w} bytes`, 'wasm'))) {
      const opened = await ctx.tryFirstCall(`${DRAM_READ} t${threads}`, () => quantPeers.MemoryReader.open(memory, threads));
      reader = opened ? opened.value : null;
    }
    try {
      for (const [w, bits] of widths) {
        const perCall = bytesPerCall(w, bits);
        const rows = [];
        if (reader) {
          let next = 0;
          const size = region(w, bits);
          const matrices = countOf(bits);
          rows.push({
            key: key(`dram-${w}`),
            label: `${DRAM_READ} ${w} bytes`,
            tier: 'wasm',
            threads,
            fn: () => reader.read((next++ % matrices) * size, size),
            before: ctx.ortBefore,
            bytesPerCall: size,
            unit: 'GB/s',
            note: `${matrices} regions of ${(size / MiB).toFixed(1)} MiB, as the ${w} rows rotate`,
            bench: C.bench,
          });
        }
        let next = 0;
        const set = sets[w];
        for (const entry of kernelsOf[w] ?? []) {
          const fields = kernelFields(entry, (tier) => key(`${w}-${tier}`), sparq.lastSparseKernel);
          rows.push({
            ...fields,
            label: `sparq spmv f32 ${w}`,
            threads,
            fn: () => sparq.spmv(set[next++ % set.length], x, { out }),
            before: ctx.sparqBefore(entry.tier, threads),
            after: afterWith({ lastKernel: sparq.lastSparseKernel, fixedNote: [`${set.length} matrices`, fields.kernelNote].filter(Boolean).join('; ') }),
            bytesPerCall: perCall,
            unit: 'GB/s',
            shareOf: { key: key(`dram-${w}`), what: 'DRAM read' },
            bench: C.bench,
          });
        }
        if (w === 'u32' && blockIndex === 0 && jsSet.length) {
          let nextJs = 0;
          const y = new Float32Array(SIZE);
          rows.push({
            key: key('js'),
            label: 'JS CSR loop',
            tier: 'js',
            threads: 1,
            fn: () => {
              const a = jsSet[nextJs++ % jsSet.length];
              peers.jsSpmv(a.indptr, a.indices, a.values, SIZE, x, y);
            },
            before: ctx.ortBefore,
            bytesPerCall: perCall,
            unit: 'GB/s',
            shareOf: { key: key('dram-u32'), what: 'DRAM read' },
            note: `${jsSet.length} matrices (Int32Array indices, Float32Array values)`,
            bench: C.bench,
          });
        }
        await table.run(rows);
      }
    } finally {
      if (reader) await reader.close();
    }
  }
  ctx.restoreSparqDefaults();
}

// ---------------------------------------------------------------------------
// Entry points for run.js

/**
 * Run every suite --filter selects. context: run.js's { args, sparq, reference, ort, tiers,
 * Table, check, tryFirstCall, progress, withOrtSessions, ortOutput, ortSessionOptions, ortBefore,
 * sparqBefore, restoreSparqDefaults, findResult, aliases, quantPeers }.
 */
async function run(context) {
  CONFIG = configFor(context.args);
  const { sparq } = context;
  const hasDense = sparq && typeof sparq.linearF32 === 'function' && typeof sparq.packF32 === 'function';
  const hasSparse = sparq && typeof sparq.CsrMatrix === 'function' && typeof sparq.spmv === 'function';
  if (sparq && !hasDense) console.log('! sparq: this build has no dense f32 API (packF32, linearF32); its rows are left out');
  if (sparq && !hasSparse) console.log('! sparq: this build has no sparse API (CsrMatrix, spmv); its rows are left out');
  const { reference } = context;
  const referenceHas = (fn) => (reference && typeof reference[fn] === 'function' ? reference : null);
  if (reference && !referenceHas('linearF32')) console.log('! sparq reference: no linearF32; the dense TS reference row and checks are left out');
  if (reference && !referenceHas('spmm')) console.log('! sparq reference: no spmm; the sparse checks are left out');
  const best = context.tiers[context.tiers.length - 1] ?? '';
  const tiers = (has) => (has ? context.tiers : []);

  ctx = { ...context, sparq: hasDense ? sparq : null, reference: referenceHas('linearF32'), best };
  for (const shape of CONFIG.dense.shapes) await denseShape(shape, tiers(hasDense));
  ctx = { ...context, sparq: hasSparse ? sparq : null, reference: referenceHas('spmm'), best };
  await sparseGrid(tiers(hasSparse));
  await breakEvenSweep();
  await sparseLinear();
  await coldSpmv(tiers(hasSparse));
  denseWeight = null;
}

/** Target lines for run.js's summary; judged on the default tier (setIsa(null)). */
function verdicts(defaultTier) {
  if (!ctx) return [];
  const lines = [];
  const find = ctx.findResult;
  const verdict = (name, met, figures) => {
    if (met === null && ctx.args.filter) return;
    lines.push(`  ${met === null ? 'not measured' : met ? 'met    ' : 'NOT met'}  ${name}: ${figures}`);
  };

  // Dense f32 ≥ 1.0× ORT MatMul, each shape, 1 thread.
  for (const [m, k, n] of CONFIG.dense.shapes) {
    const shape = `${m}x${k}x${n}`;
    const row = find(`dense/${shape}/1/sparq-${defaultTier}`);
    const peer = find(`dense/${shape}/1/ort`);
    const name = `dense f32 ${shape} linearF32 ≥ 1.0× ORT MatMul (1 thread)`;
    if (!row || !peer) verdict(name, null, 'needs sparq linearF32 and ORT rows');
    else verdict(name, row.rate >= peer.rate, `${row.kernel ?? row.tier} ${formatRate(row.rate)} vs ${formatRate(peer.rate)} GFLOP/s = ${times(row.rate / peer.rate)}`);
  }

  // SpMM 90% n = 8 (random, 1 thread): the fastest storage on the default tier vs own dense and mathjs.
  {
    const prefix = 'sp/random/90%/n8/t1/';
    const rows = [`f32-u32-${defaultTier}`, 'f32-u16', 'int8-u32', 'int8-u16'].map((name) => find(prefix + name)).filter(Boolean);
    const fastest = rows.sort((a, b) => a.median - b.median)[0];
    const dense = find(denseKey(8, 1, 'own'));
    const math = find('sp/random/90%/n8/mathjs');
    const what = fastest ? `${fastest.label.replace('sparq ', '')} (${fastest.kernel ?? fastest.tier}) ${formatTime(fastest.median)}` : '';
    const dName = 'SpMM 90% random n = 8 ≥ 3× own dense linearF32 (1 thread)';
    if (!fastest || !dense) verdict(dName, null, 'needs the spmm 90% random n8 t1 rows');
    else verdict(dName, dense.median / fastest.median >= 3, `${what} vs ${formatTime(dense.median)} = ${times(dense.median / fastest.median)}`);
    const mName = 'SpMM 90% random n = 8 ≥ 500× mathjs (1 thread)';
    if (!fastest || !math) verdict(mName, null, 'needs the spmm 90% random n8 t1 sparq and mathjs rows');
    else verdict(mName, math.median / fastest.median >= 500, `${what} vs ${formatTime(math.median)} = ${times(math.median / fastest.median)}`);
  }

  // Cold SpMV ≥ 70% of the DRAM read, each thread count and index width.
  for (const threads of CONFIG.cold.threads) {
    for (const w of ['u32', 'u16']) {
      const row = find(`csp/t${threads}/${w}-${defaultTier}`);
      const peer = find(`csp/t${threads}/dram-${w}`);
      const name = `cold SpMV ${pct(CONFIG.cold.sparsity)} f32 ${w} ≥ 70% of DRAM read (${threads} thread${threads > 1 ? 's' : ''})`;
      if (!row || !peer) verdict(name, null, 'needs sparq and DRAM read cold-spmv rows');
      else verdict(name, row.rate >= 0.7 * peer.rate, `${row.kernel} ${formatRate(row.rate)} vs ${formatRate(peer.rate)} GB/s = ${((100 * row.rate) / peer.rate).toFixed(0)}%`);
    }
  }

  // Break-even per n: a measurement, not a pass/fail target.
  for (const n of CONFIG.breakEven ? CONFIG.breakEven.ns : []) {
    const found = breakEven.get(n);
    if (found) lines.push(`  measured  break-even n = ${n} (${ctx.best}, 1 thread): ${found.text}`);
    else if (!ctx.args.filter) lines.push(`  not measured  break-even n = ${n}`);
  }
  return lines;
}

function formatTime(seconds) {
  if (seconds < 1e-3) return `${(seconds * 1e6).toFixed(1)} µs`;
  if (seconds < 1) return `${(seconds * 1e3).toFixed(2)} ms`;
  return `${seconds.toFixed(2)} s`;
}

module.exports = { run, verdicts };
