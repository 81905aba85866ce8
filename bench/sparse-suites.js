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

const { breakEven, configFor, denseKey, formatRate, formatTime, pct, releaseDenseWeight, state, times } = require('./sparse-common');
const { denseShape } = require('./dense-suites');
const { breakEvenSweep, sparseGrid } = require('./sparse-grid');
const { coldSpmv, sparseLinear } = require('./sparse-linear-cold');

// ---------------------------------------------------------------------------
// Entry points for run.js

/**
 * Run every suite --filter selects. context: run.js's { args, sparq, reference, ort, tiers,
 * Table, check, tryFirstCall, progress, withOrtSessions, ortOutput, ortSessionOptions, ortBefore,
 * sparqBefore, restoreSparqDefaults, findResult, aliases, quantPeers }.
 */
async function run(context) {
  state.CONFIG = configFor(context.args);
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

  state.ctx = { ...context, sparq: hasDense ? sparq : null, reference: referenceHas('linearF32'), best };
  for (const shape of state.CONFIG.dense.shapes) await denseShape(shape, tiers(hasDense));
  state.ctx = { ...context, sparq: hasSparse ? sparq : null, reference: referenceHas('spmm'), best };
  await sparseGrid(tiers(hasSparse));
  await breakEvenSweep();
  await sparseLinear();
  await coldSpmv(tiers(hasSparse));
  releaseDenseWeight();
}

/** Target lines for run.js's summary; judged on the default tier (setIsa(null)). */
function verdicts(defaultTier) {
  if (!state.ctx) return [];
  const lines = [];
  const find = state.ctx.findResult;
  const verdict = (name, met, figures) => {
    if (met === null && state.ctx.args.filter) return;
    lines.push(`  ${met === null ? 'not measured' : met ? 'met    ' : 'NOT met'}  ${name}: ${figures}`);
  };

  // Dense f32 ≥ 1.0× ORT MatMul, each shape, 1 thread.
  for (const [m, k, n] of state.CONFIG.dense.shapes) {
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
  for (const threads of state.CONFIG.cold.threads) {
    for (const w of ['u32', 'u16']) {
      const row = find(`csp/t${threads}/${w}-${defaultTier}`);
      const peer = find(`csp/t${threads}/dram-${w}`);
      const name = `cold SpMV ${pct(state.CONFIG.cold.sparsity)} f32 ${w} ≥ 70% of DRAM read (${threads} thread${threads > 1 ? 's' : ''})`;
      if (!row || !peer) verdict(name, null, 'needs sparq and DRAM read cold-spmv rows');
      else verdict(name, row.rate >= 0.7 * peer.rate, `${row.kernel} ${formatRate(row.rate)} vs ${formatRate(peer.rate)} GB/s = ${((100 * row.rate) / peer.rate).toFixed(0)}%`);
    }
  }

  // Break-even per n: a measurement, not a pass/fail target.
  for (const n of state.CONFIG.breakEven ? state.CONFIG.breakEven.ns : []) {
    const found = breakEven.get(n);
    if (found) lines.push(`  measured  break-even n = ${n} (${state.ctx.best}, 1 thread): ${found.text}`);
    else if (!state.ctx.args.filter) lines.push(`  not measured  break-even n = ${n}`);
  }
  return lines;
}

module.exports = { run, verdicts };