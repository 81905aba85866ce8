'use strict';
// Peers and data for the sparse CSR and dense f32 benchmarks (sparse-suites.js):
//   - seeded CSR matrices with a chosen density, uniform or row-skewed (power-law row lengths);
//   - plain JavaScript CSR loops (typed arrays, f32 storage) for spmv / spmm;
//   - mathjs SparseMatrix × dense (mathjs stores CSC; it gets Aᵀ's CSR arrays, which are A's CSC);
//   - TensorFlow.js with its WebAssembly backend (tf.matMul);
//   - ONNX Gemm (Y = A·B + bias) for a linear layer with bias in onnxruntime-node.
// Each loader reports failure instead of throwing, so a missing peer only drops its rows.
//
//   node sparse-peers.js --check    self-check: every peer against a plain f64 product

const onnx = require('./onnx-model');

// ---------------------------------------------------------------------------
// Seeded data

/** xorshift32 in [0, 2^32); seed 0 is replaced by 1. */
function xorshift32(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** Seeded uniform floats in [lo, hi). */
function uniformFloats(length, seed, lo = -1, hi = 1) {
  const next = xorshift32(seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = lo + ((hi - lo) * next()) / 2 ** 32;
  return out;
}

/**
 * Row lengths summing to exactly `nnz`, each in [0, cols].
 * random: every row gets nnz/rows (the remainder spread one each over the first rows), so the
 *   columns are what is random.
 * row-skewed: row i (in a seeded random order) gets a share ∝ 1/(rank)^alpha, a Zipf-like power law
 *   with alpha 1, capped at cols; the cap's excess goes to the other rows (the scale factor is
 *   found by bisection), and the rounding remainder to the rows with the largest fractions.
 */
function rowLengths(rows, cols, nnz, pattern, seed) {
  const lengths = new Int32Array(rows);
  if (rows === 0) return lengths;
  if (pattern === 'random') {
    const base = Math.floor(nnz / rows);
    for (let i = 0; i < rows; i++) lengths[i] = base + (i < nnz - base * rows ? 1 : 0);
    return lengths;
  }
  if (pattern !== 'row-skewed') throw new RangeError(`expected pattern 'random' or 'row-skewed', received ${pattern}`);
  const alpha = 1;
  const next = xorshift32(seed);
  const rank = Int32Array.from({ length: rows }, (_, i) => i + 1);
  for (let i = rows - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [rank[i], rank[j]] = [rank[j], rank[i]];
  }
  const weight = Float64Array.from(rank, (r) => r ** -alpha);
  const total = (scale) => weight.reduce((sum, w) => sum + Math.min(cols, scale * w), 0);
  let lo = 0;
  let hi = (nnz / weight.reduce((a, b) => a + b, 0)) * 2;
  while (total(hi) < nnz && hi < 1e300) hi *= 2;
  for (let step = 0; step < 200 && hi - lo > 1e-9 * hi; step++) {
    const mid = (lo + hi) / 2;
    if (total(mid) < nnz) lo = mid;
    else hi = mid;
  }
  const exact = Float64Array.from(weight, (w) => Math.min(cols, hi * w));
  let assigned = 0;
  for (let i = 0; i < rows; i++) {
    lengths[i] = Math.floor(exact[i]);
    assigned += lengths[i];
  }
  // Largest fractional parts first; rows already at cols cannot take more.
  const order = Array.from({ length: rows }, (_, i) => i).sort((a, b) => exact[b] - lengths[b] - (exact[a] - lengths[a]));
  for (let at = 0; assigned < nnz; at = (at + 1) % rows) {
    const i = order[at];
    if (lengths[i] < cols) {
      lengths[i]++;
      assigned++;
    }
  }
  for (let at = 0; assigned > nnz; at = (at + 1) % rows) {
    const i = order[rows - 1 - at];
    if (lengths[i] > 0) {
      lengths[i]--;
      assigned--;
    }
  }
  return lengths;
}

/**
 * A seeded CSR matrix [rows×cols] with round((1 − sparsity)·rows·cols) entries: row lengths from
 * rowLengths(pattern), each row's columns a uniform random subset (sorted), values uniform in
 * [−1, 1) with no exact zero (so fromDense of toDense gives the same matrix back).
 * Returns { rows, cols, nnz, indptr, indices (Int32Array), values (Float32Array), maxRow, medianRow }.
 */
function randomCsr({ rows, cols, sparsity, pattern = 'random', seed = 1 }) {
  const nnz = Math.round((1 - sparsity) * rows * cols);
  const lengths = rowLengths(rows, cols, nnz, pattern, seed ^ 0x5bd1e995);
  const indptr = new Int32Array(rows + 1);
  for (let i = 0; i < rows; i++) indptr[i + 1] = indptr[i] + lengths[i];
  const indices = new Int32Array(nnz);
  const values = uniformFloats(nnz, seed + 7);
  for (let j = 0; j < nnz; j++) if (values[j] === 0) values[j] = 0.5;
  const next = xorshift32(seed + 13);
  const chosen = new Uint8Array(cols);
  for (let i = 0; i < rows; i++) {
    const length = lengths[i];
    // Mark `length` distinct columns: draw the kept ones when they are few, the dropped ones otherwise.
    const drawKept = length <= cols / 2;
    chosen.fill(drawKept ? 0 : 1);
    for (let left = drawKept ? length : cols - length; left > 0; ) {
      const c = next() % cols;
      if (chosen[c] === (drawKept ? 0 : 1)) {
        chosen[c] = drawKept ? 1 : 0;
        left--;
      }
    }
    let at = indptr[i];
    for (let c = 0; c < cols; c++) if (chosen[c]) indices[at++] = c;
  }
  const sorted = Array.from(lengths).sort((a, b) => a - b);
  return { rows, cols, nnz, indptr, indices, values, maxRow: sorted[rows - 1] ?? 0, medianRow: sorted[rows >> 1] ?? 0 };
}

/** The first `rows` rows of a JS CSR, as views (for the TS reference and checks on a slice). */
function csrRows(csr, rows) {
  const end = csr.indptr[rows];
  return {
    rows,
    cols: csr.cols,
    nnz: end,
    indptr: csr.indptr.subarray(0, rows + 1),
    indices: csr.indices.subarray(0, end),
    values: csr.values.subarray(0, end),
    scales: null,
  };
}

/** Dense [rows×cols] of a JS CSR. */
function csrToDense({ rows, cols, indptr, indices, values }) {
  const dense = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = indptr[i]; j < indptr[i + 1]; j++) dense[i * cols + indices[j]] = values[j];
  return dense;
}

/** Aᵀ as CSR (a counting sort by column): the CSC arrays of A. */
function csrTranspose({ rows, cols, nnz, indptr, indices, values }) {
  const tIndptr = new Int32Array(cols + 1);
  for (let j = 0; j < nnz; j++) tIndptr[indices[j] + 1]++;
  for (let c = 0; c < cols; c++) tIndptr[c + 1] += tIndptr[c];
  const fill = tIndptr.slice(0, cols);
  const tIndices = new Int32Array(nnz);
  const tValues = new Float32Array(nnz);
  for (let i = 0; i < rows; i++) {
    for (let j = indptr[i]; j < indptr[i + 1]; j++) {
      const at = fill[indices[j]]++;
      tIndices[at] = i;
      tValues[at] = values[j];
    }
  }
  return { rows: cols, cols: rows, nnz, indptr: tIndptr, indices: tIndices, values: tValues };
}

/** [rows×cols] → [cols×rows]. */
function transpose(src, rows, cols) {
  const dst = new src.constructor(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
  return dst;
}

// ---------------------------------------------------------------------------
// Plain JavaScript CSR loops: f32 storage, the sum in a JS number (f64), one rounding at the store.

/** y[rows] = A·x. */
function jsSpmv(indptr, indices, values, rows, x, y) {
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    for (let j = indptr[i], end = indptr[i + 1]; j < end; j++) sum += values[j] * x[indices[j]];
    y[i] = sum;
  }
  return y;
}

/** C[rows×n] = A·B, B [cols×n] row-major: each entry scales one row of B into the output row. */
function jsSpmm(indptr, indices, values, rows, b, n, c) {
  const acc = new Float64Array(n);
  for (let i = 0; i < rows; i++) {
    acc.fill(0);
    for (let j = indptr[i], end = indptr[i + 1]; j < end; j++) {
      const v = values[j];
      const base = indices[j] * n;
      for (let t = 0; t < n; t++) acc[t] += v * b[base + t];
    }
    for (let t = 0; t < n; t++) c[i * n + t] = acc[t];
  }
  return c;
}

// ---------------------------------------------------------------------------
// mathjs

function loadMathjs() {
  return require('mathjs');
}

/**
 * A mathjs SparseMatrix of A. mathjs stores compressed columns (values, index = row numbers,
 * ptr = column starts); those are exactly the CSR arrays of Aᵀ. Plain arrays, as mathjs wants.
 */
function mathjsSparse(math, csr) {
  const csc = csrTranspose(csr);
  return new math.SparseMatrix({
    values: Array.from(csc.values),
    index: Array.from(csc.indices),
    ptr: Array.from(csc.indptr),
    size: [csr.rows, csr.cols],
    datatype: 'number',
  });
}

/** B [cols×n] as a mathjs DenseMatrix; n = 1 gives a vector [cols] (the spmv form). */
function mathjsDense(math, b, cols, n) {
  if (n === 1) return math.matrix(Array.from(b), 'dense', 'number');
  const rowsOfB = Array.from({ length: cols }, (_, r) => Array.from(b.subarray(r * n, (r + 1) * n)));
  return math.matrix(rowsOfB, 'dense', 'number');
}

/** The product's values as a Float32Array [rows×n] (mathjs may return a sparse or dense matrix). */
function mathjsToFloat32(math, result, rows, n) {
  const dense = result.type === 'SparseMatrix' ? math.matrix(result, 'dense') : result;
  return Float32Array.from(dense.toArray().flat());
}

// ---------------------------------------------------------------------------
// TensorFlow.js, WebAssembly backend

/**
 * tfjs-core with the wasm backend active. Returns { tf, simd, multithread, threads }: the
 * threaded build needs SharedArrayBuffer workers that tfjs only uses in browsers, so in Node it
 * normally runs one thread (threads is what the backend reports).
 */
async function loadTfjsWasm() {
  const tf = require('@tensorflow/tfjs-core');
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") failed');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const multithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const threads = typeof wasm.getThreadsCount === 'function' ? wasm.getThreadsCount() : 1;
  return { tf, simd, multithread, threads, version: tf.version_core };
}

// ---------------------------------------------------------------------------
// ONNX models

/** Gemm (opset 13): Y[m×n] = A[m×k]·B + bias, B [k×n] and bias [n] initializers: a linear layer with bias. */
function gemmModel({ m, k, n, bKxN, bias }) {
  const initializers = [['B', bKxN, [k, n]]];
  const inputs = ['A', 'B'];
  if (bias) {
    initializers.push(['bias', bias, [n]]);
    inputs.push('bias');
  }
  return onnx.model({
    graph: {
      name: `gemm_${m}x${k}x${n}`,
      nodes: [{ opType: 'Gemm', inputs, outputs: ['Y'] }],
      initializers,
      inputs: [['A', onnx.DataType.FLOAT, [m, k]]],
      outputs: [['Y', onnx.DataType.FLOAT, [m, n]]],
    },
  });
}

// ---------------------------------------------------------------------------
// Self-check

/** max |a − b| / max |b| over the first length values. */
function relativeDifference(a, b, length = b.length) {
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    ref = Math.max(ref, Math.abs(b[i]));
  }
  return ref === 0 ? diff : diff / ref;
}

/** C[rows×n] = A·B in f64 from the dense A. */
function denseProductF64(dense, rows, cols, b, n) {
  const c = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++) {
    for (let p = 0; p < cols; p++) {
      const v = dense[i * cols + p];
      if (v !== 0) for (let t = 0; t < n; t++) c[i * n + t] += v * b[p * n + t];
    }
  }
  return c;
}

async function selfCheck() {
  const failures = [];
  const report = (what, ok, detail) => {
    console.log(`${ok ? 'ok  ' : 'FAIL'}  ${what}: ${detail}`);
    if (!ok) failures.push(what);
  };
  const LIMIT = 1e-5; // f32 storage of f64-ish sums: far below this

  // Generator: exact nnz, canonical structure, skew.
  for (const pattern of ['random', 'row-skewed']) {
    for (const sparsity of [0, 0.5, 0.9, 0.99]) {
      const a = randomCsr({ rows: 300, cols: 200, sparsity, pattern, seed: 3 });
      let canonical = a.indptr[0] === 0 && a.indptr[a.rows] === a.nnz;
      for (let i = 0; i < a.rows && canonical; i++) {
        for (let j = a.indptr[i]; j < a.indptr[i + 1]; j++) {
          if (a.indices[j] < 0 || a.indices[j] >= a.cols || (j > a.indptr[i] && a.indices[j] <= a.indices[j - 1])) canonical = false;
        }
      }
      const expected = Math.round((1 - sparsity) * 300 * 200);
      report(
        `randomCsr ${pattern} ${sparsity * 100}%`,
        canonical && a.nnz === expected && !a.values.includes(0),
        `nnz ${a.nnz} (expected ${expected}), rows max ${a.maxRow} / median ${a.medianRow}, canonical ${canonical}`,
      );
    }
  }

  const a = randomCsr({ rows: 96, cols: 80, sparsity: 0.8, pattern: 'row-skewed', seed: 11 });
  const dense = csrToDense(a);
  for (const n of [1, 5]) {
    const b = uniformFloats(a.cols * n, 12 + n);
    const exact = denseProductF64(dense, a.rows, a.cols, b, n);
    const c = new Float32Array(a.rows * n);
    if (n === 1) jsSpmv(a.indptr, a.indices, a.values, a.rows, b, c);
    else jsSpmm(a.indptr, a.indices, a.values, a.rows, b, n, c);
    const e = relativeDifference(c, exact);
    report(`JS CSR ${n === 1 ? 'spmv' : `spmm n=${n}`}`, e < LIMIT, `max|Δ|/max|y| ${e.toExponential(2)}`);

    try {
      const math = loadMathjs();
      const product = math.multiply(mathjsSparse(math, a), mathjsDense(math, b, a.cols, n));
      const y = mathjsToFloat32(math, product, a.rows, n);
      const ok = y.length === a.rows * n && relativeDifference(y, exact) < LIMIT;
      report(`mathjs sparse × dense n=${n}`, ok, `${product.type}, max|Δ|/max|y| ${relativeDifference(y, exact).toExponential(2)}`);
    } catch (e) {
      report(`mathjs n=${n}`, false, e.message);
    }
  }

  const t = csrTranspose(a);
  const tt = csrTranspose(t);
  const same = tt.indptr.every((v, i) => v === a.indptr[i]) && tt.indices.every((v, i) => v === a.indices[i]) && tt.values.every((v, i) => v === a.values[i]);
  report('csrTranspose twice', same, same ? 'identity' : 'differs');

  // Dense peers: Y[m×n] = X[m×k]·Wᵀ (+ bias).
  const [m, k, n] = [7, 40, 24];
  const x = uniformFloats(m * k, 21);
  const w = uniformFloats(n * k, 22);
  const bias = uniformFloats(n, 23);
  const exact = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let sum = bias[j];
    for (let p = 0; p < k; p++) sum += x[i * k + p] * w[j * k + p];
    exact[i * n + j] = sum;
  }
  const exactNoBias = exact.map((v, i) => v - bias[i % n]);
  try {
    const { tf, simd, multithread, threads, version } = await loadTfjsWasm();
    const y = tf.tidy(() => tf.matMul(tf.tensor2d(x, [m, k]), tf.tensor2d(transpose(w, n, k), [k, n])).dataSync());
    const e = relativeDifference(y, exactNoBias);
    report(`tfjs-wasm ${version} matMul (simd ${simd}, multithread ${multithread}, ${threads} thread)`, e < LIMIT, `max|Δ|/max|y| ${e.toExponential(2)}`);
  } catch (e) {
    report('tfjs-wasm', false, e.message);
  }
  try {
    const ort = require('onnxruntime-node');
    ort.env.logLevel = 'error';
    const options = { intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ['cpu'], logSeverityLevel: 3 };
    const feeds = { A: new ort.Tensor('float32', x, [m, k]) };
    for (const [what, bytes, expected] of [
      ['Gemm + bias', gemmModel({ m, k, n, bKxN: transpose(w, n, k), bias }), exact],
      ['MatMul', onnx.matMulModel({ m, k, n, bKxN: transpose(w, n, k) }), exactNoBias],
    ]) {
      const session = await ort.InferenceSession.create(bytes, options);
      try {
        const y = (await session.run(feeds)).Y.data;
        const e = relativeDifference(y, expected);
        report(`ORT ${what}`, e < LIMIT, `max|Δ|/max|y| ${e.toExponential(2)}`);
      } finally {
        await session.release();
      }
    }
  } catch (e) {
    report('ORT', false, e.message);
  }

  if (failures.length) {
    console.log(`\n${failures.length} check(s) failed`);
    process.exitCode = 1;
  } else {
    console.log('\nall checks passed');
  }
}

module.exports = {
  xorshift32,
  uniformFloats,
  rowLengths,
  randomCsr,
  csrRows,
  csrToDense,
  csrTranspose,
  transpose,
  jsSpmv,
  jsSpmm,
  loadMathjs,
  mathjsSparse,
  mathjsDense,
  mathjsToFloat32,
  loadTfjsWasm,
  gemmModel,
  relativeDifference,
};

if (require.main === module) {
  if (process.argv.includes('--check')) {
    selfCheck().catch((e) => {
      console.error(e);
      process.exit(1);
    });
  } else {
    console.error('usage: node sparse-peers.js --check');
    process.exit(2);
  }
}
