/**
 * The ops a transformer needs beside its Linear layers, over row-major f32 activations [rows×d].
 * For now they are plain TypeScript (sums in f64, each result rounded to f32 when stored); the
 * products of attention run on sparq's f32 GEMM. Issue 10 §2 moves them into native kernels per
 * tier, held to these as the reference.
 */
import { gemmF32 } from '../dense';

/** y = γ·(x − μ)/√(σ² + ε) + β per row of d, as TF's layer_norm: (γ·rsqrt(σ² + ε))·(x − μ) + β. */
export function layerNorm(x: Float32Array, rows: number, d: number, gamma: Float32Array, beta: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) {
    const at = r * d;
    let sum = 0;
    for (let j = 0; j < d; j++) sum += x[at + j]!;
    const mean = sum / d;
    let squares = 0;
    for (let j = 0; j < d; j++) squares += (x[at + j]! - mean) ** 2;
    const inverse = 1 / Math.sqrt(squares / d + eps);
    for (let j = 0; j < d; j++) y[at + j] = gamma[j]! * inverse * (x[at + j]! - mean) + beta[j]!;
  }
  return y;
}

/** Softmax of each row of cols, in place; the row's maximum is subtracted first. */
export function softmaxRows(x: Float32Array, rows: number, cols: number): Float32Array {
  for (let r = 0; r < rows; r++) {
    const at = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, x[at + j]!);
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(x[at + j]! - max);
    for (let j = 0; j < cols; j++) x[at + j] = Math.exp(x[at + j]! - max) / sum;
  }
  return x;
}

export function reluInPlace(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) if (!(x[i]! > 0)) x[i] = 0;
  return x;
}

export function tanhInPlace(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = Math.tanh(x[i]!);
  return x;
}

/** a += b, element by element. */
export function addInPlace(a: Float32Array, b: Float32Array): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = a[i]! + b[i]!;
  return a;
}

/** Columns [from, from + width) of x [rows×cols], times `scale`. */
function columns(x: Float32Array, rows: number, cols: number, from: number, width: number, scale = 1): Float32Array {
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) for (let j = 0; j < width; j++) out[r * width + j] = x[r * cols + from + j]! * scale;
  return out;
}

/**
 * Multi-head scaled dot-product self-attention over one sequence of `tokens`, from a fused QKV
 * projection [tokens×3d] (Q, K, V side by side, each split into `heads` heads of d/heads):
 * per head, softmax((scale·Q)·Kᵀ)·V, the heads written side by side into [tokens×d]. Every token
 * attends to every token (a padded batch is run one sequence at a time instead).
 */
export function selfAttention(qkv: Float32Array, tokens: number, d: number, heads: number, scale: number): Float32Array {
  const depth = d / heads;
  const out = new Float32Array(tokens * d);
  if (tokens === 0) return out;
  for (let h = 0; h < heads; h++) {
    const q = columns(qkv, tokens, 3 * d, h * depth, depth, scale);
    const k = columns(qkv, tokens, 3 * d, d + h * depth, depth);
    const v = columns(qkv, tokens, 3 * d, 2 * d + h * depth, depth);
    const weights = softmaxRows(gemmF32(q, k, tokens, tokens, depth, { transB: true }), tokens, tokens);
    const heads = gemmF32(weights, v, tokens, depth, tokens);
    for (let t = 0; t < tokens; t++) out.set(heads.subarray(t * depth, (t + 1) * depth), t * d + h * depth);
  }
  return out;
}
