/**
 * The CSR structures and operands test/native/sparse.native.test.ts runs on every tier: row lengths
 * around every vector width and unroll, empty rows and shapes, and cached reference results.
 */
import { expect } from 'vitest';
import { CsrMatrix, type Tier } from '../../lib/index';
import * as reference from '../../lib/reference/index';
import type { Csr } from '../../lib/reference/index';
import { randomFloats, randomInts } from '../helpers';

export const quick = process.env['SPARQ_TEST_QUICK'] === '1';
export const NS = quick ? [1, 2, 3, 7, 8, 16, 17, 33, 65] : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 31, 32, 33, 63, 64, 65];
export const MS = quick ? [1, 2, 5, 17] : [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65];
/** Row entry counts around every vector width and unroll: 0…17, 31–33, 63–65. */
const LENGTHS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 31, 32, 33, 63, 64, 65];

/** The tier whose kernels run when `tier` is forced (avx512vnni uses avx512's, neondot and i8mm neon's). */
export function kernelTier(tier: Tier): Tier {
  return tier === 'avx512vnni' ? 'avx512' : tier === 'neondot' || tier === 'i8mm' ? 'neon' : tier;
}
export function kernelName(op: 'spmv' | 'spmm', values: 'f32' | 'int8', bits: 16 | 32, tier: Tier): string {
  return `${op}_csr_${values === 'int8' ? 'i8' : 'f32'}_u${bits}__${kernelTier(tier)}`;
}

// --- structures -------------------------------------------------------------------------------

export interface Structure {
  name: string;
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
  /** Largest n / m to try (wide matrices keep their dense operands small). */
  maxN: number;
}

/** rows×cols with lengthOf(i) distinct random columns in row i (sorted), seeded values. */
export function build(name: string, rows: number, cols: number, lengthOf: (i: number) => number, seed: number, maxN = 65): Structure {
  const lengths = Array.from({ length: rows }, (_, i) => Math.min(cols, lengthOf(i)));
  const nnz = lengths.reduce((s, e) => s + e, 0);
  const picks = randomInts(nnz, 1 << 24, seed);
  const perm = Int32Array.from({ length: cols }, (_, c) => c);
  const indptr = new Int32Array(rows + 1);
  const indices = new Int32Array(nnz);
  let at = 0;
  for (let i = 0; i < rows; i++) {
    const e = lengths[i]!;
    for (let t = 0; t < e; t++) {
      const r = t + Math.floor((picks[at + t]! / (1 << 24)) * (cols - t));
      [perm[t], perm[r]] = [perm[r]!, perm[t]!];
    }
    indices.set(perm.slice(0, e).sort(), at);
    at += e;
    indptr[i + 1] = at;
  }
  return { name, rows, cols, indptr, indices, values: randomFloats(nnz, seed + 1), maxN };
}

/** A structure given by its rows' column lists. */
function byHand(name: string, cols: number, rowColumns: number[][], seed: number, maxN: number): Structure {
  const indptr = Int32Array.from([0, ...rowColumns.map((_, i) => rowColumns.slice(0, i + 1).reduce((s, r) => s + r.length, 0))]);
  const indices = Int32Array.from(rowColumns.flat());
  return { name, rows: rowColumns.length, cols, indptr, indices, values: randomFloats(indices.length, seed), maxN };
}

export const STRUCTURES: Structure[] = [
  build('row lengths 0…65', 2 * LENGTHS.length, 70, (i) => LENGTHS[i % LENGTHS.length]!, 1),
  build('random, ~10% dense', 97, 300, (i) => (i * 37) % 61, 2),
  build('skewed: one full row of 1000', 64, 1000, (i) => (i === 5 ? 1000 : i % 3 === 0 ? 1 : 0), 3),
  build('every other row empty', 33, 40, (i) => (i % 2 ? 0 : (i % 17) + 1), 4),
  build('nnz = 0', 9, 11, () => 0, 5),
  build('1×1', 1, 1, () => 1, 6),
  build('rows = 0', 0, 7, () => 0, 7),
  build('cols = 0', 6, 0, () => 0, 8),
  build('0×0', 0, 0, () => 0, 9),
  byHand('widest u16: cols = 65536', 65536, [[0, 65535], [32767, 32768, 65534, 65535], [], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 65535]], 10, 3),
  byHand('cols = 70000 (u32 only)', 70000, [[0, 65535, 65536, 69999], [], [65537, 65538, 65539, 65540, 65541, 65542, 65543, 65544, 65545, 69998]], 11, 3),
  (() => {
    // Subnormal values and products: a kernel flushing them to zero would break the bound.
    const s = build('subnormal values', 5, 20, (i) => 3 * i + 1, 12);
    s.values = s.values.map((v) => v * 2 ** -140);
    return s;
  })(),
];

export function refCsr(s: Structure): Csr {
  return reference.csrFromArrays(s.rows, s.cols, s.indptr, s.indices, s.values);
}
const refInt8Cache = new Map<string, Csr>();
export function refOf(s: Structure, values: 'f32' | 'int8'): Csr {
  if (values === 'f32') return refCsr(s);
  let q = refInt8Cache.get(s.name);
  if (!q) refInt8Cache.set(s.name, (q = reference.csrQuantizeValues(refCsr(s))));
  return q;
}
export function nativeOf(s: Structure, values: 'f32' | 'int8', bits: 16 | 32): CsrMatrix {
  const a = CsrMatrix.fromArrays(s.rows, s.cols, s.indptr, s.indices, s.values, { indexBits: bits });
  return values === 'f32' ? a : a.quantizeValues();
}
export function bitsOf(s: Structure): Array<16 | 32> {
  return s.cols <= 65536 ? [32, 16] : [32];
}

/** Activations with exact zeros and −0s mixed in. */
export function dense(length: number, seed: number, scale = 2): Float32Array {
  const x = randomFloats(length, seed, scale);
  for (let i = 5; i < length; i += 13) x[i] = i % 2 ? -0 : 0;
  return x;
}

/** B [cols×n] made of the first n columns of B [cols×wide]. */
export function firstColumns(b: Float32Array, cols: number, wide: number, n: number): Float32Array {
  const out = new Float32Array(cols * n);
  for (let r = 0; r < cols; r++) out.set(b.subarray(r * wide, r * wide + n), r * n);
  return out;
}

export function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c]!;
  return t;
}

/** Every output of an empty matrix row is exactly +0 (plus the bias when given): rows of y [rows×n]. */
export function expectEmptyRowsPositiveZero(y: Float32Array, s: Structure, n: number, context: object): void {
  for (let i = 0; i < s.rows; i++) {
    if (s.indptr[i] !== s.indptr[i + 1]) continue;
    for (let t = 0; t < n; t++) {
      if (!Object.is(y[i * n + t], 0)) expect.fail(`empty row ${i}, column ${t}: got ${y[i * n + t]}, want +0 (${JSON.stringify(context)})`);
    }
  }
}

// The reference is the same for every tier: compute it once per case.
const referenceCache = new Map<string, { want: Float32Array; tolerance: Float64Array }>();
export function cached(key: string, make: () => { want: Float32Array; tolerance: Float64Array }) {
  let hit = referenceCache.get(key);
  if (!hit) referenceCache.set(key, (hit = make()));
  return hit;
}
