/**
 * Sparse CSR matrices and their products: spmv, spmm and the pruned linear layer. Structure,
 * builders' rules and messages, value types and numerics: docs/sparse.md.
 */
import { NativeObject } from './handle';
import { native, type CsrHandle } from './native';
import { builtRows, copyInto, count, fail, int, options, typed, typedArrayName, unbackedOutput } from './validate';

export type SparseValueType = 'f32' | 'int8';
export type IndexBits = 16 | 32;

export interface CsrBuildOptions {
  /** Column index storage: 32 (default) or 16 (needs cols ≤ 65536; fewer bytes to stream). */
  indexBits?: IndexBits;
}

export interface FromDenseOptions extends CsrBuildOptions {
  /** Keep elements with |x| > threshold (finite, ≥ 0). Default 0: every nonzero. */
  threshold?: number;
}

export interface FromArraysOptions extends CsrBuildOptions {
  /** One f32 scale per row; required with Int8Array values (value = code·scale[row]). */
  scales?: Float32Array;
}

export interface SparseOptions {
  /** Where to write the result; long enough for it. */
  out?: Float32Array;
}

export interface LinearSparseOptions extends SparseOptions {
  /** Added to every row of Y: N values. */
  bias?: Float32Array;
}

function indexBits(fn: string, value: unknown): IndexBits {
  if (value === undefined) return 32;
  if (value !== 16 && value !== 32) fail('range', fn, 'options.indexBits', '16 or 32', value);
  return value;
}

/**
 * A CSR matrix [rows×cols] in native-owned memory that JS cannot mutate, validated once when built.
 * Made by {@link CsrMatrix.fromDense}, {@link CsrMatrix.fromCoo} or {@link CsrMatrix.fromArrays}.
 */
export class CsrMatrix extends NativeObject {
  /** @internal */
  readonly handle: CsrHandle;
  readonly rows: number;
  readonly cols: number;
  /** Stored entries. */
  readonly nnz: number;
  /** nnz / (rows·cols); 0 for an empty shape. */
  readonly density: number;
  /** 'f32' values, or 'int8' codes with one scale per row. */
  readonly valueType: SparseValueType;
  readonly indexBits: IndexBits;
  /** Bytes a product streams through: indptr, indices, values (and scales). */
  readonly byteLength: number;

  /** @internal */
  constructor(handle: CsrHandle) {
    super();
    const [rows, cols, nnz, valueType, bits, bytes] = native.csrInfo(handle);
    this.handle = handle;
    this.rows = rows;
    this.cols = cols;
    this.nnz = nnz;
    this.density = rows * cols === 0 ? 0 : nnz / (rows * cols);
    this.valueType = valueType === 1 ? 'int8' : 'f32';
    this.indexBits = bits as IndexBits;
    this.byteLength = bytes;
    Object.freeze(this);
  }

  /** Every element of W [rows×cols] (row-major) with |x| > threshold. Values must be finite. */
  static fromDense(values: Float32Array, rows: number, cols: number, opts?: FromDenseOptions): CsrMatrix {
    const fn = 'CsrMatrix.fromDense';
    int(fn, 'rows', rows);
    int(fn, 'cols', cols);
    const o = options<FromDenseOptions>(fn, opts);
    const bits = indexBits(fn, o.indexBits);
    const threshold = o.threshold ?? 0;
    if (typeof threshold !== 'number') fail('type', fn, 'options.threshold', 'a number', threshold);
    if (!(threshold >= 0) || threshold === Infinity) fail('range', fn, 'options.threshold', 'a finite number ≥ 0', threshold);
    typed(fn, 'values', values, Float32Array, count(fn, 'rows·cols', rows, cols), 'rows·cols', true);
    builtRows(fn, rows, values.length);
    return new CsrMatrix(native.csrFromDense(values, rows, cols, threshold, bits));
  }

  /** Triples (rowIdx[e], colIdx[e], values[e]) in any order; duplicates are summed, explicit zeros kept. */
  static fromCoo(rows: number, cols: number, rowIdx: Int32Array, colIdx: Int32Array, values: Float32Array, opts?: CsrBuildOptions): CsrMatrix {
    const fn = 'CsrMatrix.fromCoo';
    int(fn, 'rows', rows);
    int(fn, 'cols', cols);
    const bits = indexBits(fn, options<CsrBuildOptions>(fn, opts).indexBits);
    typed(fn, 'rowIdx', rowIdx, Int32Array, 0, 'one per entry');
    typed(fn, 'colIdx', colIdx, Int32Array, rowIdx.length, 'rowIdx.length', true);
    typed(fn, 'values', values, Float32Array, rowIdx.length, 'rowIdx.length', true);
    builtRows(fn, rows, rowIdx.length);
    return new CsrMatrix(native.csrFromCoo(rows, cols, rowIdx, colIdx, values, bits));
  }

  /** Canonical CSR arrays (copied), checked against every rule of docs/sparse.md. */
  static fromArrays(
    rows: number,
    cols: number,
    indptr: Int32Array,
    indices: Int32Array,
    values: Float32Array | Int8Array,
    opts?: FromArraysOptions,
  ): CsrMatrix {
    const fn = 'CsrMatrix.fromArrays';
    int(fn, 'rows', rows);
    int(fn, 'cols', cols);
    const o = options<FromArraysOptions>(fn, opts);
    const bits = indexBits(fn, o.indexBits);
    typed(fn, 'indptr', indptr, Int32Array, 0, 'rows + 1 entries');
    typed(fn, 'indices', indices, Int32Array, 0, 'one per entry');
    const valueType = typedArrayName(values);
    const int8 = valueType === 'Int8Array';
    if (!int8 && valueType !== 'Float32Array') {
      fail('type', fn, 'values', 'Float32Array or Int8Array', values);
    }
    if (o.scales !== undefined) typed(fn, 'options.scales', o.scales, Float32Array, 0, 'one per row');
    else if (int8) fail('type', fn, 'options.scales', 'Float32Array (one scale per row) with Int8Array values', undefined);
    return new CsrMatrix(native.csrFromArrays(rows, cols, indptr, indices, values, o.scales, bits));
  }

  /** The dense matrix [rows×cols] (int8: code·scale). */
  toDense(opts?: SparseOptions): Float32Array {
    const fn = 'CsrMatrix.toDense';
    const { out } = options<SparseOptions>(fn, opts);
    const length = this.rows * this.cols;
    const y = out === undefined ? new Float32Array(length) : typed(fn, 'out', out, Float32Array, length, 'rows·cols');
    native.csrToDense(this.handle, y);
    return y;
  }

  /** Copies of the arrays: indices always as Int32Array; scales null for f32 values. */
  toArrays(): { indptr: Int32Array; indices: Int32Array; values: Float32Array | Int8Array; scales: Float32Array | null } {
    const [indptr, indices, values, scales] = native.csrToArrays(this.handle);
    return { indptr, indices, values, scales };
  }

  /** The same structure with int8 codes and one f32 scale per row (docs/sparse.md, "int8 values"). */
  quantizeValues(): CsrMatrix {
    return new CsrMatrix(native.csrQuantizeValues(this.handle));
  }

  /** The same matrix with 16- or 32-bit column index storage. */
  withIndexBits(bits: IndexBits): CsrMatrix {
    const fn = 'CsrMatrix.withIndexBits';
    if (bits !== 16 && bits !== 32) fail('range', fn, 'bits', '16 or 32', bits);
    return new CsrMatrix(native.csrWithIndexBits(this.handle, bits));
  }
}

function csr(fn: string, name: string, value: unknown): CsrMatrix {
  if (!(value instanceof CsrMatrix)) fail('type', fn, name, 'a CsrMatrix', value);
  return value;
}

function output(fn: string, out: unknown, length: number, formula: string): Float32Array {
  return out === undefined ? new Float32Array(length) : typed(fn, 'out', out, Float32Array, length, formula);
}

function spmvArgs(fn: string, a: unknown, x: unknown, opts: unknown): { a: CsrMatrix; x: Float32Array; out: Float32Array | undefined } {
  const m = csr(fn, 'a', a);
  const { out } = options<SparseOptions>(fn, opts);
  typed(fn, 'x', x, Float32Array, m.cols, 'cols');
  if (out !== undefined) typed(fn, 'out', out, Float32Array, m.rows, 'rows');
  return { a: m, x: x as Float32Array, out };
}

/** y[rows] = A·x, x [cols]. */
export function spmv(a: CsrMatrix, x: Float32Array, opts?: SparseOptions): Float32Array {
  const args = spmvArgs('spmv', a, x, opts);
  const y = output('spmv', args.out, args.a.rows, 'rows');
  native.spmv(args.a.handle, args.x, y);
  return y;
}

/** {@link spmv} on the libuv pool; x is copied in before the call returns. */
export async function spmvAsync(a: CsrMatrix, x: Float32Array, opts?: SparseOptions): Promise<Float32Array> {
  const args = spmvArgs('spmvAsync', a, x, opts);
  return copyInto('spmvAsync', await native.spmvAsync(args.a.handle, args.x), args.out);
}

function spmmArgs(fn: string, a: unknown, b: unknown, n: unknown, opts: unknown): { a: CsrMatrix; b: Float32Array; n: number; out: Float32Array | undefined } {
  const m = csr(fn, 'a', a);
  int(fn, 'n', n, 1);
  const { out } = options<SparseOptions>(fn, opts);
  typed(fn, 'b', b, Float32Array, count(fn, 'cols·n', m.cols, n as number), 'cols·n');
  if (m.cols === 0) unbackedOutput(fn, 'n', n as number, m.rows * (n as number), 'rows·n', 'a has no columns');
  if (out !== undefined) typed(fn, 'out', out, Float32Array, count(fn, 'rows·n', m.rows, n as number), 'rows·n');
  return { a: m, b: b as Float32Array, n: n as number, out };
}

/** C[rows×n] = A·B, B [cols×n] row-major. */
export function spmm(a: CsrMatrix, b: Float32Array, n: number, opts?: SparseOptions): Float32Array {
  const args = spmmArgs('spmm', a, b, n, opts);
  const c = output('spmm', args.out, args.a.rows * n, 'rows·n');
  native.spmm(args.a.handle, args.b, n, c);
  return c;
}

/** {@link spmm} on the libuv pool; B is copied in before the call returns. */
export async function spmmAsync(a: CsrMatrix, b: Float32Array, n: number, opts?: SparseOptions): Promise<Float32Array> {
  const args = spmmArgs('spmmAsync', a, b, n, opts);
  return copyInto('spmmAsync', await native.spmmAsync(args.a.handle, args.b, n), args.out);
}

function linearArgs(fn: string, x: unknown, w: unknown, m: unknown, opts: unknown): { w: CsrMatrix; x: Float32Array; m: number; bias: Float32Array | undefined; out: Float32Array | undefined } {
  const layer = csr(fn, 'w', w);
  int(fn, 'm', m, 1);
  const { bias, out } = options<LinearSparseOptions>(fn, opts);
  typed(fn, 'x', x, Float32Array, count(fn, 'm·K', m as number, layer.cols), 'm·K, K = w.cols');
  if (layer.cols === 0) unbackedOutput(fn, 'm', m as number, (m as number) * layer.rows, 'm·N', 'w has no columns');
  if (bias !== undefined) typed(fn, 'bias', bias, Float32Array, layer.rows, 'N = w.rows', true);
  if (out !== undefined) typed(fn, 'out', out, Float32Array, count(fn, 'm·N', m as number, layer.rows), 'm·N, N = w.rows');
  return { w: layer, x: x as Float32Array, m: m as number, bias, out };
}

/** Y[m×N] = X[m×K]·Wᵀ + bias, W a CSR [N×K] (a pruned Linear layer's weight, out × in). */
export function linearSparse(x: Float32Array, w: CsrMatrix, m: number, opts?: LinearSparseOptions): Float32Array {
  const args = linearArgs('linearSparse', x, w, m, opts);
  const y = output('linearSparse', args.out, m * args.w.rows, 'm·N');
  native.linearSparse(args.x, args.w.handle, m, args.bias, y);
  return y;
}

/** {@link linearSparse} on the libuv pool; X and the bias are copied in before the call returns. */
export async function linearSparseAsync(x: Float32Array, w: CsrMatrix, m: number, opts?: LinearSparseOptions): Promise<Float32Array> {
  const args = linearArgs('linearSparseAsync', x, w, m, opts);
  return copyInto('linearSparseAsync', await native.linearSparseAsync(args.x, args.w.handle, m, args.bias), args.out);
}

/** `<op>_csr_<f32|i8>_<u32|u16>__<tier>` of the sparse kernel that ran last, or null. */
export function lastSparseKernel(): string | null {
  return native.lastSparseKernel();
}
