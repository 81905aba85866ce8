/**
 * Reference of the sparse CSR family (docs/sparse.md): builders with the same rules and messages
 * as the native ones, and spmv/spmm/linearSparse as plain sequential f32 loops. Integer results
 * and built matrices equal the native ones exactly; products are held to the tolerance functions.
 */
import { builtRows, count, fail, int, typed } from '../validate';
import { clamp, f32, roundHalfEven } from './round';

/** A CSR matrix as plain arrays. `scales` (one per row) is set when `values` holds int8 codes. */
export interface Csr {
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array | Int8Array;
  scales: Float32Array | null;
}

const MAX_NNZ = 0x7fffffff;
const U = 2 ** -24;
// Per entry: a product rounded into the subnormal range is off by up to 2⁻¹⁵⁰ absolutely, which no
// relative bound covers; allow two such roundings on either side (docs/sparse.md).
const UNDERFLOW = 2 ** -148;

function rule(fn: string, message: string): never {
  throw new RangeError(`${fn}: ${message}`);
}

function checkDims(fn: string, rows: number, cols: number): void {
  int(fn, 'rows', rows);
  int(fn, 'cols', cols);
}

/** Every element with |x| > threshold, row by row. */
export function csrFromDense(values: Float32Array, rows: number, cols: number, threshold = 0): Csr {
  const fn = 'csrFromDense';
  checkDims(fn, rows, cols);
  typed(fn, 'values', values, Float32Array, count(fn, 'rows·cols', rows, cols), 'rows·cols', true);
  if (typeof threshold !== 'number') fail('type', fn, 'threshold', 'a number', threshold);
  if (!(threshold >= 0) || threshold === Infinity) fail('range', fn, 'threshold', 'a finite number ≥ 0', threshold);
  builtRows(fn, rows, values.length);
  const indptr = new Int32Array(rows + 1);
  const indices: number[] = [];
  const kept: number[] = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = values[i * cols + j]!;
      if (!Number.isFinite(v)) rule(fn, `values[${i * cols + j}] = ${v} is not finite`);
      if (Math.abs(v) > threshold) {
        indices.push(j);
        kept.push(v);
      }
    }
    indptr[i + 1] = indices.length;
  }
  if (indices.length > MAX_NNZ) rule(fn, `nnz = ${indices.length} exceeds ${MAX_NNZ}`);
  return { rows, cols, indptr, indices: Int32Array.from(indices), values: Float32Array.from(kept), scales: null };
}

/** Triples in any order: sorted by (row, column), duplicates summed in f32 in input order, explicit zeros kept. */
export function csrFromCoo(rows: number, cols: number, rowIdx: Int32Array, colIdx: Int32Array, values: Float32Array): Csr {
  const fn = 'csrFromCoo';
  checkDims(fn, rows, cols);
  typed(fn, 'rowIdx', rowIdx, Int32Array, 0, 'any length');
  const n = rowIdx.length;
  typed(fn, 'colIdx', colIdx, Int32Array, n, 'rowIdx.length', true);
  typed(fn, 'values', values, Float32Array, n, 'rowIdx.length', true);
  builtRows(fn, rows, n);
  for (let e = 0; e < n; e++) {
    const r = rowIdx[e]!;
    const c = colIdx[e]!;
    const v = values[e]!;
    if (r < 0 || r >= rows) rule(fn, `rowIdx[${e}] = ${r} is out of range [0, rows = ${rows})`);
    if (c < 0 || c >= cols) rule(fn, `colIdx[${e}] = ${c} is out of range [0, cols = ${cols})`);
    if (!Number.isFinite(v)) rule(fn, `values[${e}] = ${v} is not finite`);
  }
  // Array.prototype.sort is stable, so duplicates keep their input order for the sum.
  const order = Array.from({ length: n }, (_, e) => e);
  order.sort((x, y) => rowIdx[x]! - rowIdx[y]! || colIdx[x]! - colIdx[y]!);
  const indptr = new Int32Array(rows + 1);
  const indices: number[] = [];
  const summed: number[] = [];
  for (let t = 0; t < n; t++) {
    const e = order[t]!;
    const r = rowIdx[e]!;
    const c = colIdx[e]!;
    const prev = t > 0 ? order[t - 1]! : -1;
    if (prev >= 0 && rowIdx[prev] === r && colIdx[prev] === c) {
      summed[summed.length - 1] = f32(summed[summed.length - 1]! + values[e]!);
    } else {
      indices.push(c);
      summed.push(values[e]!);
      indptr[r + 1]!++;
    }
    const next = t + 1 < n ? order[t + 1]! : -1;
    const last = next < 0 || rowIdx[next] !== r || colIdx[next] !== c;
    const v = summed[summed.length - 1]!;
    if (last && !Number.isFinite(v)) rule(fn, `duplicates at row ${r}, column ${c} sum to ${v}, which is not finite`);
  }
  for (let i = 0; i < rows; i++) indptr[i + 1]! += indptr[i]!;
  return { rows, cols, indptr, indices: Int32Array.from(indices), values: Float32Array.from(summed), scales: null };
}

/** Canonical arrays, checked rule by rule in the order of docs/sparse.md; the arrays are copied. */
export function csrFromArrays(
  rows: number,
  cols: number,
  indptr: Int32Array,
  indices: Int32Array,
  values: Float32Array | Int8Array,
  scales?: Float32Array,
): Csr {
  const fn = 'csrFromArrays';
  checkDims(fn, rows, cols);
  typed(fn, 'indptr', indptr, Int32Array, 0, 'any length');
  typed(fn, 'indices', indices, Int32Array, 0, 'any length');
  const int8 = values instanceof Int8Array;
  if (!int8) typed(fn, 'values', values, Float32Array, 0, 'any length');
  if (scales !== undefined) typed(fn, 'scales', scales, Float32Array, 0, 'any length');
  if (!int8 && scales !== undefined) rule(fn, 'scales is only used with Int8Array values');

  const nnz = indices.length;
  if (indptr.length !== rows + 1) rule(fn, `indptr must have rows + 1 = ${rows + 1} entries, received ${indptr.length}`);
  if (indptr[0] !== 0) rule(fn, `indptr[0] must be 0, received ${indptr[0]}`);
  for (let i = 1; i <= rows; i++) {
    if (indptr[i]! < indptr[i - 1]!) {
      rule(fn, `indptr must be non-decreasing, but indptr[${i}] = ${indptr[i]} < indptr[${i - 1}] = ${indptr[i - 1]}`);
    }
  }
  if (indptr[rows] !== nnz) rule(fn, `indptr[rows] must equal nnz = indices.length = ${nnz}, received indptr[${rows}] = ${indptr[rows]}`);
  if (values.length !== nnz) rule(fn, `values.length must equal indices.length = ${nnz}, received ${values.length}`);
  for (let i = 0; i < rows; i++) {
    for (let j = indptr[i]!; j < indptr[i + 1]!; j++) {
      const c = indices[j]!;
      if (c < 0 || c >= cols) rule(fn, `indices[${j}] = ${c} is out of range [0, cols = ${cols}) in row ${i}`);
      if (j > indptr[i]! && c <= indices[j - 1]!) {
        rule(fn, `indices must be strictly increasing within a row, but row ${i} has indices[${j}] = ${c} after indices[${j - 1}] = ${indices[j - 1]}`);
      }
    }
  }
  if (!int8) {
    for (let j = 0; j < nnz; j++) if (!Number.isFinite(values[j]!)) rule(fn, `values[${j}] = ${values[j]} is not finite`);
  } else {
    const got = scales === undefined ? 0 : scales.length;
    if (got !== rows) rule(fn, `scales must have rows = ${rows} entries, received ${got}`);
    for (let i = 0; i < rows; i++) if (!Number.isFinite(scales![i]!)) rule(fn, `scales[${i}] = ${scales![i]} is not finite`);
  }
  return {
    rows,
    cols,
    indptr: indptr.slice(),
    indices: indices.slice(),
    values: values.slice(),
    scales: int8 ? scales!.slice() : null,
  };
}

/** Value of entry j (in row i): the f32 value, or code·scale (one f32 multiply). */
function valueAt(a: Csr, i: number, j: number): number {
  return a.scales ? f32(a.values[j]! * a.scales[i]!) : a.values[j]!;
}

export function csrToDense(a: Csr): Float32Array {
  const out = new Float32Array(a.rows * a.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let j = a.indptr[i]!; j < a.indptr[i + 1]!; j++) out[i * a.cols + a.indices[j]!] = valueAt(a, i, j);
  }
  return out;
}

/**
 * One scale per row: amax/127 (1 when amax = 0 or the row is empty), q = clamp(roundHalfEven(v/scale), −127, 127).
 * A matrix that already holds int8 values is returned as a copy.
 */
export function csrQuantizeValues(a: Csr): Csr {
  if (a.scales) return { ...a, indptr: a.indptr.slice(), indices: a.indices.slice(), values: a.values.slice(), scales: a.scales.slice() };
  const values = new Int8Array(a.indices.length);
  const scales = new Float32Array(a.rows);
  for (let i = 0; i < a.rows; i++) {
    const begin = a.indptr[i]!;
    const end = a.indptr[i + 1]!;
    let amax = 0;
    for (let j = begin; j < end; j++) amax = Math.max(amax, Math.abs(valueAt(a, i, j)));
    let s = f32(amax / 127);
    if (s === 0) s = 1;
    scales[i] = s;
    for (let j = begin; j < end; j++) values[j] = clamp(roundHalfEven(f32(valueAt(a, i, j) / s)), -127, 127);
  }
  return { rows: a.rows, cols: a.cols, indptr: a.indptr.slice(), indices: a.indices.slice(), values, scales };
}

/**
 * out[i·ldo + t] = Σ_j v_j·B[c_j·n + t] (+ bias), for every row i and t < n: the reference order,
 * sequential over the row's entries; int8 sums codes, then multiplies by the row's scale.
 */
function product(a: Csr, b: Float32Array, n: number, bias: Float32Array | undefined, out: Float32Array, transposeOut: boolean): void {
  for (let i = 0; i < a.rows; i++) {
    for (let t = 0; t < n; t++) {
      let acc = 0;
      for (let j = a.indptr[i]!; j < a.indptr[i + 1]!; j++) acc = f32(acc + f32(a.values[j]! * b[a.indices[j]! * n + t]!));
      if (a.scales) acc = f32(acc * a.scales[i]!);
      if (bias) acc = f32(acc + bias[i]!);
      out[transposeOut ? t * a.rows + i : i * n + t] = acc;
    }
  }
}

/** The per-output bound of docs/sparse.md: 2·(e + 2)·2⁻²⁴·(Σ|v_j·x_j| + |b|). */
function bound(a: Csr, b: Float32Array, n: number, bias: Float32Array | undefined, out: Float64Array, transposeOut: boolean): void {
  for (let i = 0; i < a.rows; i++) {
    const entries = a.indptr[i + 1]! - a.indptr[i]!;
    for (let t = 0; t < n; t++) {
      let sum = bias ? Math.abs(bias[i]!) : 0;
      for (let j = a.indptr[i]!; j < a.indptr[i + 1]!; j++) sum += Math.abs(valueAt(a, i, j) * b[a.indices[j]! * n + t]!);
      out[transposeOut ? t * a.rows + i : i * n + t] = 2 * (entries + 2) * U * sum + entries * UNDERFLOW;
    }
  }
}

function transpose(x: Float32Array, m: number, k: number): Float32Array {
  const xt = new Float32Array(m * k);
  for (let r = 0; r < m; r++) for (let p = 0; p < k; p++) xt[p * m + r] = x[r * k + p]!;
  return xt;
}

/** y[rows] = A·x. */
export function spmv(a: Csr, x: Float32Array): Float32Array {
  typed('spmv', 'x', x, Float32Array, a.cols, 'cols');
  const y = new Float32Array(a.rows);
  product(a, x, 1, undefined, y, false);
  return y;
}

/** C[rows×n] = A·B, B [cols×n] row-major. */
export function spmm(a: Csr, b: Float32Array, n: number): Float32Array {
  int('spmm', 'n', n, 1);
  typed('spmm', 'b', b, Float32Array, count('spmm', 'cols·n', a.cols, n), 'cols·n');
  const c = new Float32Array(a.rows * n);
  product(a, b, n, undefined, c, false);
  return c;
}

/** Y[m×N] = X[m×K]·Wᵀ + b, W a CSR [N×K]. */
export function linearSparse(x: Float32Array, w: Csr, m: number, bias?: Float32Array): Float32Array {
  int('linearSparse', 'm', m, 1);
  typed('linearSparse', 'x', x, Float32Array, count('linearSparse', 'm·K', m, w.cols), 'm·K');
  if (bias !== undefined) typed('linearSparse', 'bias', bias, Float32Array, w.rows, 'N', true);
  const y = new Float32Array(m * w.rows);
  product(w, transpose(x, m, w.cols), m, bias, y, true);
  return y;
}

export function spmvTolerance(a: Csr, x: Float32Array): Float64Array {
  const out = new Float64Array(a.rows);
  bound(a, x, 1, undefined, out, false);
  return out;
}

export function spmmTolerance(a: Csr, b: Float32Array, n: number): Float64Array {
  const out = new Float64Array(a.rows * n);
  bound(a, b, n, undefined, out, false);
  return out;
}

export function linearSparseTolerance(x: Float32Array, w: Csr, m: number, bias?: Float32Array): Float64Array {
  const out = new Float64Array(m * w.rows);
  bound(w, transpose(x, m, w.cols), m, bias, out, true);
  return out;
}
