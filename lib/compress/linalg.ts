/**
 * The small dense linear algebra the second-order methods need, in f64: a damped Hessian, its
 * Cholesky factor, and the upper Cholesky factor of its inverse (what SparseGPT and GPTQ walk
 * column by column). k ≤ a few thousand; O(k³/3) each.
 */
import { fail } from '../validate';

/** H = XᵀX + λ·mean(diag)·I (a copy), with dead inputs (zero diagonal) given 1 so H stays definite. */
export function dampedHessian(gram: Float64Array, k: number, damp: number): Float64Array {
  const h = gram.slice();
  let mean = 0;
  for (let j = 0; j < k; j++) mean += h[j * k + j]!;
  mean /= k;
  for (let j = 0; j < k; j++) {
    if (h[j * k + j] === 0) h[j * k + j] = 1;
    h[j * k + j] = h[j * k + j]! + damp * (mean || 1);
  }
  return h;
}

/** The lower Cholesky factor L of a symmetric positive definite A [k×k] (A = LLᵀ), in place of a copy. */
export function cholesky(a: Float64Array, k: number, fn = 'cholesky'): Float64Array {
  const l = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    let d = a[j * k + j]!;
    for (let p = 0; p < j; p++) d -= l[j * k + p]! * l[j * k + p]!;
    if (!(d > 0)) fail('range', fn, 'hessian', 'a positive definite matrix (more calibration data, or a larger damp)', `pivot ${d} at column ${j}`);
    const root = Math.sqrt(d);
    l[j * k + j] = root;
    for (let i = j + 1; i < k; i++) {
      let s = a[i * k + j]!;
      const li = i * k, lj = j * k;
      for (let p = 0; p < j; p++) s -= l[li + p]! * l[lj + p]!;
      l[i * k + j] = s / root;
    }
  }
  return l;
}

/** L⁻¹ of a lower triangular L, stored transposed (row j holds column j: t[j·k + i] = (L⁻¹)ᵢⱼ). */
export function lowerInverseTransposed(l: Float64Array, k: number): Float64Array {
  const t = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    const tj = j * k;
    t[tj + j] = 1 / l[j * k + j]!;
    for (let i = j + 1; i < k; i++) {
      const li = i * k;
      let s = 0;
      for (let p = j; p < i; p++) s -= l[li + p]! * t[tj + p]!;
      t[tj + i] = s / l[li + i]!;
    }
  }
  return t;
}

/** A⁻¹ = L⁻ᵀL⁻¹ from A's lower Cholesky factor L (for tests and small solves). */
export function inverseFromCholesky(l: Float64Array, k: number): Float64Array {
  const t = lowerInverseTransposed(l, k);
  const out = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let p = i; p < k; p++) s += t[i * k + p]! * t[j * k + p]!;
      out[i * k + j] = s;
      out[j * k + i] = s;
    }
  }
  return out;
}

/**
 * U, upper triangular with UᵀU = (damped H)⁻¹: the factor SparseGPT and GPTQ read row by row. With J
 * the order-reversing permutation and JHJ = LLᵀ, H = (JLJ)(JLJ)ᵀ with JLJ upper, so
 * H⁻¹ = (JL⁻¹J)ᵀ(JL⁻¹J): one Cholesky and one triangular inverse, no explicit H⁻¹.
 */
export function inverseHessianFactor(gram: Float64Array, k: number, damp: number, fn: string): Float64Array {
  const h = dampedHessian(gram, k, damp);
  const reversed = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) reversed[i * k + j] = h[(k - 1 - i) * k + (k - 1 - j)]!;
  const t = lowerInverseTransposed(cholesky(reversed, k, fn), k); // t[j·k + i] = (L⁻¹)ᵢⱼ
  const u = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = i; j < k; j++) u[i * k + j] = t[(k - 1 - j) * k + (k - 1 - i)]!;
  return u;
}
