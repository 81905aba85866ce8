/**
 * Gradients of the layers a student or a compressed model is built of, for backpropagation: given
 * the forward pass's inputs and ∂L/∂Y, the gradients of L with respect to the inputs and parameters.
 * The products run on sparq's f32 GEMM (dX = dY·W, and dW = dYᵀ·X with the transposed-A product);
 * sums over rows are f64.
 */
import { gemmF32 } from '../dense';
import { count, fail, int, typed } from '../validate';

export interface LinearGrads {
  /** ∂L/∂X [m×k] (null when not asked for). */
  dx: Float32Array | null;
  /** ∂L/∂W [n×k]. */
  dw: Float32Array;
  /** ∂L/∂b [n]: dY summed over rows. */
  db: Float32Array;
}

/** Y = X·Wᵀ + b with X [m×k], W [n×k]: dX = dY·W, dW = dYᵀ·X, db = Σᵢ dYᵢ. */
export function linearBackward(x: Float32Array, w: Float32Array, dy: Float32Array, m: number, n: number, k: number, opts: { inputGrad?: boolean } = {}): LinearGrads {
  const fn = 'linearBackward';
  int(fn, 'm', m, 1);
  int(fn, 'n', n, 1);
  int(fn, 'k', k, 1);
  typed(fn, 'x', x, Float32Array, count(fn, 'm·k', m, k), 'm·k');
  typed(fn, 'w', w, Float32Array, count(fn, 'n·k', n, k), 'n·k');
  typed(fn, 'dy', dy, Float32Array, count(fn, 'm·n', m, n), 'm·n');
  const dx = opts.inputGrad === false ? null : gemmF32(dy, w, m, k, n);
  const dw = gemmF32(dy, x, n, k, m, { transA: true });
  const sums = new Float64Array(n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) sums[j] = sums[j]! + dy[i * n + j]!;
  return { dx, dw, db: Float32Array.from(sums) };
}

/** ReLU: dX = dY where the forward input was > 0. */
export function reluBackward(x: Float32Array, dy: Float32Array): Float32Array {
  if (x.length !== dy.length) fail('range', 'reluBackward', 'dy', `length ${x.length} (x's)`, dy.length);
  return dy.map((g, i) => (x[i]! > 0 ? g : 0));
}

/** tanh, from its output y = tanh(x): dX = dY·(1 − y²). */
export function tanhBackward(y: Float32Array, dy: Float32Array): Float32Array {
  if (y.length !== dy.length) fail('range', 'tanhBackward', 'dy', `length ${y.length} (y's)`, dy.length);
  return dy.map((g, i) => g * (1 - y[i]! * y[i]!));
}

/** Layer norm y = γ·(x − μ)/σ + β over rows of d, σ = √(var + eps): dX, dγ, dβ. */
export function layerNormBackward(x: Float32Array, gamma: Float32Array, dy: Float32Array, rows: number, d: number, eps: number): { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array } {
  const fn = 'layerNormBackward';
  int(fn, 'rows', rows, 1);
  int(fn, 'd', d, 1);
  typed(fn, 'x', x, Float32Array, count(fn, 'rows·d', rows, d), 'rows·d');
  typed(fn, 'gamma', gamma, Float32Array, d, 'd', true);
  typed(fn, 'dy', dy, Float32Array, count(fn, 'rows·d', rows, d), 'rows·d');
  const dx = new Float32Array(rows * d), dgamma = new Float64Array(d), dbeta = new Float64Array(d);
  for (let i = 0; i < rows; i++) {
    const o = i * d;
    let mean = 0;
    for (let j = 0; j < d; j++) mean += x[o + j]!;
    mean /= d;
    let variance = 0;
    for (let j = 0; j < d; j++) variance += (x[o + j]! - mean) ** 2;
    const inv = 1 / Math.sqrt(variance / d + eps);
    // With x̂ = (x − μ)/σ and g = dY·γ: dX = (g − mean(g) − x̂·mean(g·x̂))/σ.
    let gMean = 0, gxMean = 0;
    for (let j = 0; j < d; j++) {
      const xhat = (x[o + j]! - mean) * inv, g = dy[o + j]! * gamma[j]!;
      gMean += g;
      gxMean += g * xhat;
      dgamma[j] = dgamma[j]! + dy[o + j]! * xhat;
      dbeta[j] = dbeta[j]! + dy[o + j]!;
    }
    gMean /= d;
    gxMean /= d;
    for (let j = 0; j < d; j++) {
      const xhat = (x[o + j]! - mean) * inv;
      dx[o + j] = (dy[o + j]! * gamma[j]! - gMean - xhat * gxMean) * inv;
    }
  }
  return { dx, dgamma: Float32Array.from(dgamma), dbeta: Float32Array.from(dbeta) };
}

/** Embedding gather y[r] = table[ids[r]]: the table's gradient, each row the sum of its uses' dY. */
export function embeddingGatherBackward(ids: Int32Array, dy: Float32Array, vocabulary: number, d: number): Float32Array {
  const fn = 'embeddingGatherBackward';
  int(fn, 'vocabulary', vocabulary, 1);
  int(fn, 'd', d, 1);
  typed(fn, 'dy', dy, Float32Array, count(fn, 'ids·d', ids.length, d), 'ids·d');
  const out = new Float32Array(count(fn, 'vocabulary·d', vocabulary, d));
  ids.forEach((id, r) => {
    if (!(id >= 0 && id < vocabulary)) fail('range', fn, `ids[${r}]`, `a row in [0, ${vocabulary})`, id);
    for (let j = 0; j < d; j++) out[id * d + j] = out[id * d + j]! + dy[r * d + j]!;
  });
  return out;
}

/** Mean pooling of consecutive runs of rows (lengths[i] rows for output i): each row gets dYᵢ/lengthᵢ. */
export function meanPoolBackward(dy: Float32Array, lengths: Int32Array, d: number): Float32Array {
  const rows = lengths.reduce((a, b) => a + b, 0);
  const dx = new Float32Array(rows * d);
  let row = 0;
  lengths.forEach((length, i) => {
    for (let r = 0; r < length; r++, row++) for (let j = 0; j < d; j++) dx[row * d + j] = dy[i * d + j]! / length;
  });
  return dx;
}
