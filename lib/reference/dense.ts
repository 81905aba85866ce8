/**
 * Reference of the dense f32 GEMM family (docs/gemm-f32.md): sequential f32 sums with a rounding
 * after every operation. The native kernels fuse each multiply-add, so they are held to the
 * tolerance functions (DESIGN.md §3), not to these bits.
 */
import { count, int, typed } from '../validate';
import { f32 } from './round';

const U = 2 ** -24;
// Per term: a product rounded into the subnormal range is off by up to 2⁻¹⁵⁰ absolutely, which no
// relative bound covers; allow two such roundings on either side (docs/gemm-f32.md).
const UNDERFLOW = 2 ** -148;

// B(p, j): B [k×n] row-major, or B [n×k] when transB.
type At = (p: number, j: number) => number;

function checkDims(fn: string, m: number, n: number, k: number): void {
  int(fn, 'm', m, 1);
  int(fn, 'n', n, 1);
  int(fn, 'k', k, 1);
}

function product(fn: string, a: Float32Array, b: At, m: number, n: number, k: number, bias?: Float32Array): Float32Array {
  typed(fn, 'a', a, Float32Array, count(fn, 'm·k', m, k), 'm·k');
  if (bias !== undefined) typed(fn, 'bias', bias, Float32Array, n, 'n', true);
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc = f32(acc + f32(a[i * k + p]! * b(p, j)));
      c[i * n + j] = bias ? f32(acc + bias[j]!) : acc;
    }
  }
  return c;
}

/** 2·(k + 1)·2⁻²⁴·(Σ_p |a_p·b_p| + |bias|) + k·2⁻¹⁴⁸ per output. */
function tolerance(a: Float32Array, b: At, m: number, n: number, k: number, bias?: Float32Array): Float64Array {
  const t = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = bias ? Math.abs(bias[j]!) : 0;
      for (let p = 0; p < k; p++) sum += Math.abs(a[i * k + p]! * b(p, j));
      t[i * n + j] = 2 * (k + 1) * U * sum + k * UNDERFLOW;
    }
  }
  return t;
}

function layout(fn: string, b: Float32Array, n: number, k: number, transB: boolean): At {
  typed(fn, 'b', b, Float32Array, count(fn, 'k·n', k, n), 'k·n');
  return transB ? (p, j) => b[j * k + p]! : (p, j) => b[p * n + j]!;
}

/** Y[m×n] = X[m×k]·Wᵀ (+ bias), W [n×k]. */
export function linearF32(x: Float32Array, w: Float32Array, m: number, n: number, k: number, bias?: Float32Array): Float32Array {
  const fn = 'reference.linearF32';
  checkDims(fn, m, n, k);
  return product(fn, x, layout(fn, w, n, k, true), m, n, k, bias);
}

/** A [k×m] (row-major) as [m×k]. */
function transposed(fn: string, a: Float32Array, m: number, k: number): Float32Array {
  typed(fn, 'a', a, Float32Array, count(fn, 'k·m', k, m), 'k·m');
  return Float32Array.from({ length: m * k }, (_, i) => a[(i % k) * m + Math.floor(i / k)]!);
}

/** C[m×n] = A[m×k]·B, B [k×n] row-major, or [n×k] when transB; A given [k×m] when transA (C = Aᵀ·B). */
export function gemmF32(a: Float32Array, b: Float32Array, m: number, n: number, k: number, transB = false, transA = false): Float32Array {
  const fn = 'reference.gemmF32';
  checkDims(fn, m, n, k);
  return product(fn, transA ? transposed(fn, a, m, k) : a, layout(fn, b, n, k, transB), m, n, k);
}

export function linearF32Tolerance(x: Float32Array, w: Float32Array, m: number, n: number, k: number, bias?: Float32Array): Float64Array {
  const fn = 'reference.linearF32Tolerance';
  checkDims(fn, m, n, k);
  return tolerance(x, layout(fn, w, n, k, true), m, n, k, bias);
}

export function gemmF32Tolerance(a: Float32Array, b: Float32Array, m: number, n: number, k: number, transB = false, transA = false): Float64Array {
  const fn = 'reference.gemmF32Tolerance';
  checkDims(fn, m, n, k);
  return tolerance(transA ? transposed(fn, a, m, k) : a, layout(fn, b, n, k, transB), m, n, k);
}
