/**
 * Reference of the transformer ops (native/include/sparq/ops.h): every f32 operation rounded with
 * Math.fround in the kernels' order, so the native ops equal these bit for bit on every tier.
 * Reductions use the kernels' one order (16 lanes, then a pairwise fold); exp, tanh and erf are the
 * kernels' approximations, whose distance from the exact functions docs/nn.md states and the
 * tests check.
 */
import { roundHalfEven } from './round';

const f32 = Math.fround;

// Published constants: Cephes expf and tanhf, Abramowitz & Stegun 7.1.26 (erf).
const LOG2E = f32(1.44269504088896341);
const LN2_HI = f32(0.693359375);
const LN2_LO = f32(-2.1219444e-4);
const EXP_LO = f32(-87.33654);
const EXP_HI = f32(88.72283);
const EXP_P = [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1].map(f32);
const TANH_P = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1].map(f32);
const ERF_P = f32(0.3275911);
const ERF_A = [0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429].map(f32);
const SQRT_HALF = f32(Math.SQRT1_2);
const GELU_C = f32(Math.sqrt(2 / Math.PI));
const GELU_A = f32(0.044715);

/** The unary ops, in the native enum's order. */
export const UNARY_OPS = ['relu', 'tanh', 'sigmoid', 'silu', 'geluErf', 'geluTanh', 'exp'] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

const isNegative = (x: number) => x < 0 || Object.is(x, -0);

/** e^x: x = n·ln2 + r, Cephes' polynomial for e^r, times 2^⌊n/2⌉·2^(n−⌊n/2⌉); +0 below −87.33654, +∞ above 88.72283. */
export function expF32(x: number): number {
  if (Number.isNaN(x)) return x;
  if (x < EXP_LO) return 0;
  if (x > EXP_HI) return Infinity;
  const n = roundHalfEven(f32(x * LOG2E));
  let r = f32(x - f32(n * LN2_HI));
  r = f32(r - f32(n * LN2_LO));
  let p = EXP_P[0]!;
  for (let i = 1; i < 6; i++) p = f32(f32(p * r) + EXP_P[i]!);
  const y = f32(f32(f32(f32(p * r) * r) + r) + 1);
  const half = roundHalfEven(n * 0.5);
  return f32(f32(y * 2 ** half) * 2 ** (n - half));
}

/** |x| < 0.625: x + x·z·P(z) with z = x²; else sign(x)·(1 − 2/(e^{2|x|} + 1)). */
export function tanhF32(x: number): number {
  if (Number.isNaN(x)) return x;
  const ax = Math.abs(x);
  if (ax < 0.625) {
    const z = f32(x * x);
    let p = TANH_P[0]!;
    for (let i = 1; i < 5; i++) p = f32(f32(p * z) + TANH_P[i]!);
    return f32(f32(f32(p * z) * x) + x);
  }
  const large = f32(1 - f32(2 / f32(expF32(f32(ax + ax)) + 1)));
  return isNegative(x) ? -large : large;
}

/** x / (1 + e^{−t}); −∞ (for −∞/∞) gives its limit, −0. */
function overOnePlusExp(x: number, t: number): number {
  if (Number.isNaN(t)) return t;
  return x === -Infinity ? -0 : f32(x / f32(1 + expF32(f32(0 - t))));
}

/** ½x(1 + erf(x/√2)), with 1 + erf(x/√2) = q (x < 0) or 2 − q, q = s·P(s)·e^{−t²}, t = |x|/√2, s = 1/(1 + p·t). */
export function geluErfF32(x: number): number {
  if (Number.isNaN(x)) return x;
  if (x === -Infinity) return -0;
  const t = f32(Math.abs(x) * SQRT_HALF);
  const s = f32(1 / f32(1 + f32(ERF_P * t)));
  let p = ERF_A[4]!;
  for (let i = 3; i >= 0; i--) p = f32(f32(p * s) + ERF_A[i]!);
  const q = f32(f32(p * s) * expF32(f32(0 - f32(t * t))));
  return f32(f32(0.5 * x) * (x < 0 ? q : f32(2 - q)));
}

/** ½x(1 + tanh(u)) = x / (1 + e^{−2u}), u = √(2/π)·(x + 0.044715·x³). */
export function geluTanhF32(x: number): number {
  const inner = f32(GELU_C * f32(x + f32(GELU_A * f32(f32(x * x) * x))));
  return overOnePlusExp(x, f32(inner + inner));
}

export function unaryF32(op: UnaryOp, x: number): number {
  switch (op) {
    case 'relu': return Number.isNaN(x) || x > 0 ? x : 0;
    case 'tanh': return tanhF32(x);
    case 'sigmoid': return overOnePlusExp(1, x);
    case 'silu': return overOnePlusExp(x, x);
    case 'geluErf': return geluErfF32(x);
    case 'geluTanh': return geluTanhF32(x);
    case 'exp': return expF32(x);
  }
}

export function unary(op: UnaryOp, x: Float32Array): Float32Array {
  return Float32Array.from(x, (v) => unaryF32(op, v));
}

/** max as x86's maxps: a unless b is not less. */
const maxF32 = (a: number, b: number) => (a > b ? a : b);

/**
 * The kernels' one order for a row's sum (or max): lane l takes elements l, l + 16, … in turn
 * (lanes past n sit out), then the lanes fold pairwise: l with l + 8, then + 4, + 2, + 1.
 */
export function reduce16(values: ArrayLike<number>, max = false): number {
  const n = values.length;
  const lanes = Array.from({ length: Math.min(n, 16) }, (_, l) => values[l]!);
  const combine = (a: number, b: number) => (max ? maxF32(a, b) : f32(a + b));
  for (let i = 16; i < n; i++) lanes[i % 16] = combine(lanes[i % 16]!, values[i]!);
  for (let w = 8; w >= 1; w >>= 1) for (let l = 0; l < w && l + w < lanes.length; l++) lanes[l] = combine(lanes[l]!, lanes[l + w]!);
  return lanes[0]!;
}

/** Per row of d: μ = Σx/d, eᵢ = xᵢ − μ, σ² = Σeᵢ²/d, r = 1/√(σ² + ε), yᵢ = (γᵢ·r)·eᵢ + βᵢ. */
export function layerNorm(x: Float32Array, rows: number, d: number, gamma: Float32Array, beta: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * d, (r + 1) * d);
    const mean = f32(reduce16(row) / f32(d));
    const e = row.map((v) => f32(v - mean));
    const variance = f32(reduce16(e.map((v) => f32(v * v))) / f32(d));
    const inverse = f32(1 / f32(Math.sqrt(f32(variance + f32(eps)))));
    for (let j = 0; j < d; j++) y[r * d + j] = f32(f32(f32(gamma[j]! * inverse) * e[j]!) + beta[j]!);
  }
  return y;
}

/** One row: z = x (+ mask), eⱼ = exp(zⱼ − max z), yⱼ = eⱼ / Σe; zeros when every z is −∞. */
export function softmaxRow(x: ArrayLike<number>, mask?: ArrayLike<number>): Float32Array {
  const z = Float32Array.from(x, (v, j) => (mask ? f32(v + mask[j]!) : v));
  const max = reduce16(z, true);
  if (max === -Infinity) return z.fill(0);
  const e = z.map((v) => expF32(f32(v - max)));
  const sum = reduce16(e);
  return e.map((v) => f32(v / sum));
}

/** Softmax of each row; mask (optional): n values added to every row, or (maskRows) a row of n per row. */
export function softmax(x: Float32Array, rows: number, n: number, mask?: Float32Array, maskRows = false): Float32Array {
  const y = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const m = mask && (maskRows ? mask.subarray(r * n, (r + 1) * n) : mask.subarray(0, n));
    y.set(softmaxRow(x.subarray(r * n, (r + 1) * n), m), r * n);
  }
  return y;
}

/** y[r·n + j] = x[r·n + j] + bias[j]. */
export function addBias(x: Float32Array, rows: number, n: number, bias: Float32Array): Float32Array {
  return Float32Array.from(x.subarray(0, rows * n), (v, i) => f32(v + bias[i % n]!));
}

export function add(a: Float32Array, b: Float32Array): Float32Array {
  return Float32Array.from(a, (v, i) => f32(v + b[i]!));
}

/** Rows of table [vocab×d] at ids. */
export function gather(table: Float32Array, d: number, ids: Int32Array): Float32Array {
  const y = new Float32Array(ids.length * d);
  ids.forEach((id, i) => y.set(table.subarray(id * d, (id + 1) * d), i * d));
  return y;
}

/** Per segment: the mean of its kept rows, summed in row order, then / max(count, 1). */
export function meanPool(x: Float32Array, d: number, lengths: Int32Array, keep?: Uint8Array): Float32Array {
  const y = new Float32Array(lengths.length * d);
  let row = 0;
  lengths.forEach((length, s) => {
    const mean = y.subarray(s * d, (s + 1) * d);
    let count = 0;
    for (let t = 0; t < length; t++, row++) {
      if (keep && !keep[row]) continue;
      for (let j = 0; j < d; j++) mean[j] = f32(mean[j]! + x[row * d + j]!);
      count++;
    }
    for (let j = 0; j < d; j++) mean[j] = f32(mean[j]! / Math.max(count, 1));
  });
  return y;
}

/**
 * Self-attention over packed sequences from a fused QKV [tokens×3d]: per segment and head,
 * q' = q·scale, sᵢⱼ = Σₚ q'ᵢₚ·kⱼₚ (p in order from +0), keys whose keep flag is 0 masked to −∞,
 * pᵢ = softmax(sᵢ), outᵢ = Σⱼ pᵢⱼ·vⱼ (j in order from +0).
 */
export function attention(qkv: Float32Array, d: number, heads: number, scale: number, lengths: Int32Array, keep?: Uint8Array): Float32Array {
  const depth = d / heads;
  const tokens = lengths.reduce((a, b) => a + b, 0);
  const y = new Float32Array(tokens * d);
  const at = (t: number, part: number, h: number, p: number) => qkv[t * 3 * d + part * d + h * depth + p]!;
  let start = 0;
  for (const length of lengths) {
    const masked = keep !== undefined && keep.subarray(start, start + length).includes(0);
    const mask = masked ? Array.from({ length }, (_, j) => (keep![start + j] ? 0 : -Infinity)) : undefined;
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < length; i++) {
        const q = Array.from({ length: depth }, (_, p) => f32(at(start + i, 0, h, p) * f32(scale)));
        const scores = Array.from({ length }, (_, j) => q.reduce((acc, qp, p) => f32(acc + f32(qp * at(start + j, 1, h, p))), 0));
        const weights = softmaxRow(scores, mask);
        for (let c = 0; c < depth; c++) {
          y[(start + i) * d + h * depth + c] = weights.reduce((acc, w, j) => f32(acc + f32(w * at(start + j, 2, h, c))), 0);
        }
      }
    }
    start += length;
  }
  return y;
}
