/**
 * Structured pruning: whole units removed, leaving smaller dense layers that are faster on every
 * kernel. An FFN's hidden neuron h is row h of the first layer W1 [H×d] (and its bias) and column h
 * of the second W2 [d'×H]; an attention head is its query, key and value rows of qkv and its
 * `depth` input columns of out. A unit's importance is what it contributes to the consuming
 * layer's output:
 *
 *   'activation'  the output energy ‖X_u·W[:, u]ᵀ‖_F on calibration data: for a neuron
 *                 ‖aₕ‖₂·‖W2[:, h]‖₂ (‖aₕ‖₂² is W2's sumSquares[h]); for a head, from the Gram
 *                 matrix's block of its columns: √(Σ_{a,b ∈ head} G[a,b]·(WᵀW)[a,b])
 *   'magnitude'   no data: ‖W1[h, :]‖₂·‖W2[:, h]‖₂ for a neuron, ‖W_out[:, head]‖_F for a head
 *
 * Removing a unit gives exactly the output of the dense model with the consumer's columns zeroed.
 * `refitColumns` then re-solves the consumer's kept columns by least squares on the calibration
 * (W' = W·G[:, K]·(G[K, K] + λI)⁻¹), so the kept units take over what the removed ones carried.
 */
import { gemmF32 } from '../dense';
import { fail, int, typed } from '../validate';
import type { LayerCalibration } from './calibrate';
import { cholesky } from './linalg';

export interface NeuronScoreOptions {
  criterion?: 'activation' | 'magnitude';
  /** The second layer's calibration ('activation'). */
  calibration?: LayerCalibration;
  /** The first layer's weights W1 [H×d] ('magnitude'). */
  w1?: Float32Array;
}

/** The importance of each of the H hidden neurons feeding W2 [n×H]. */
export function neuronScores(w2: Float32Array, n: number, hidden: number, opts: NeuronScoreOptions = {}): Float64Array {
  const fn = 'neuronScores';
  int(fn, 'n', n, 1);
  int(fn, 'hidden', hidden, 1);
  typed(fn, 'w2', w2, Float32Array, n * hidden, 'n·hidden', true);
  const criterion = opts.criterion ?? 'activation';
  const scores = new Float64Array(hidden);
  for (let i = 0; i < n; i++) for (let h = 0; h < hidden; h++) scores[h] = scores[h]! + w2[i * hidden + h]! ** 2;
  if (criterion === 'activation') {
    const c = opts.calibration;
    if (!c || c.k !== hidden || c.n !== n) fail('range', fn, 'calibration', `the second layer's calibration (${n}×${hidden})`, c ? `${c.n}×${c.k}` : c);
    for (let h = 0; h < hidden; h++) scores[h] = Math.sqrt(scores[h]! * c.sumSquares[h]!);
  } else if (criterion === 'magnitude') {
    const w1 = opts.w1;
    if (!(w1 instanceof Float32Array) || w1.length % hidden !== 0) fail('type', fn, 'w1', `the first layer's weights, a Float32Array of hidden·d (hidden = ${hidden})`, w1);
    const d = w1.length / hidden;
    for (let h = 0; h < hidden; h++) {
      let rowSquares = 0;
      for (let j = 0; j < d; j++) rowSquares += w1[h * d + j]! ** 2;
      scores[h] = Math.sqrt(scores[h]! * rowSquares);
    }
  } else {
    fail('range', fn, 'criterion', "'activation' or 'magnitude'", criterion);
  }
  return scores;
}

/** The neurons to keep, ascending: all but the ⌈fraction·H⌉ lowest scores (ties: the earlier one goes). */
export function keepNeurons(scores: Float64Array, fraction: number): Int32Array {
  if (typeof fraction !== 'number' || !(fraction >= 0 && fraction < 1)) fail('range', 'keepNeurons', 'fraction', 'a number in [0, 1)', fraction);
  const drop = Math.ceil(fraction * scores.length);
  const order = Array.from(scores.keys()).sort((a, b) => scores[a]! - scores[b]! || a - b);
  const dropped = new Set(order.slice(0, drop));
  return Int32Array.from(scores.keys()).filter((h) => !dropped.has(h));
}

/** The importance of each head of an attention output layer W_out [n×k], k = heads·depth. */
export function headScores(wOut: Float32Array, n: number, k: number, depth: number, opts: { criterion?: 'activation' | 'magnitude'; calibration?: LayerCalibration } = {}): Float64Array {
  const fn = 'headScores';
  int(fn, 'n', n, 1);
  int(fn, 'k', k, 1);
  int(fn, 'depth', depth, 1, k);
  if (k % depth !== 0) fail('range', fn, 'depth', `a divisor of k (${k})`, depth);
  typed(fn, 'wOut', wOut, Float32Array, n * k, 'n·k', true);
  const criterion = opts.criterion ?? 'activation';
  const heads = k / depth, scores = new Float64Array(heads);
  const c = opts.calibration;
  if (criterion === 'activation' && (!c || c.k !== k || c.n !== n || !c.gram)) fail('range', fn, 'calibration', `the out layer's calibration with its Gram matrix (${n}×${k})`, c ? `${c.n}×${c.k}` : c);
  if (criterion !== 'activation' && criterion !== 'magnitude') fail('range', fn, 'criterion', "'activation' or 'magnitude'", criterion);
  for (let h = 0; h < heads; h++) {
    let energy = 0;
    for (let a = h * depth; a < (h + 1) * depth; a++) {
      if (criterion === 'magnitude') {
        for (let i = 0; i < n; i++) energy += wOut[i * k + a]! ** 2;
        continue;
      }
      for (let b = h * depth; b < (h + 1) * depth; b++) {
        let m = 0;
        for (let i = 0; i < n; i++) m += wOut[i * k + a]! * wOut[i * k + b]!;
        energy += c!.gram![a * k + b]! * m;
      }
    }
    scores[h] = Math.sqrt(Math.max(0, energy));
  }
  return scores;
}

/**
 * The consumer's kept columns re-solved by least squares on calibration data: W' [n×|keep|]
 * minimizing ‖X·Wᵀ − X_K·W'ᵀ‖² + λ‖W'‖², λ = damp·mean(diag G[K, K]); G = XᵀX from the calibration.
 * G[K, :]·Wᵀ runs on the f32 GEMM; the Cholesky solve is f64.
 */
export function refitColumns(w: Float32Array, n: number, k: number, keep: Int32Array, calibration: LayerCalibration, damp = 0.01): Float32Array {
  const fn = 'refitColumns';
  int(fn, 'n', n, 1);
  int(fn, 'k', k, 1);
  typed(fn, 'w', w, Float32Array, n * k, 'n·k', true);
  const c = calibration;
  if (!c || c.k !== k || c.n !== n || !c.gram) fail('range', fn, 'calibration', `a calibration of this ${n}×${k} layer with its Gram matrix`, c ? `${c.n}×${c.k}` : c);
  if (typeof damp !== 'number' || !(damp > 0)) fail('range', fn, 'damp', 'a number > 0', damp);
  const kk = keep.length, g = c.gram;
  // B = G[K, :]·Wᵀ  [kk×n]
  const gk = new Float32Array(kk * k);
  keep.forEach((a, r) => {
    for (let j = 0; j < k; j++) gk[r * k + j] = g[a * k + j]!;
  });
  const b = gemmF32(gk, w, kk, n, k, { transB: true });
  // (G[K, K] + λI) = LLᵀ, then L·Lᵀ·Y = B, Y = W'ᵀ.
  const gkk = new Float64Array(kk * kk);
  let mean = 0;
  for (let r = 0; r < kk; r++) mean += g[keep[r]! * k + keep[r]!]!;
  mean = mean / kk || 1;
  for (let r = 0; r < kk; r++) for (let s = 0; s < kk; s++) gkk[r * kk + s] = g[keep[r]! * k + keep[s]!]! + (r === s ? damp * mean : 0);
  const l = cholesky(gkk, kk, fn);
  const y = Float64Array.from(b);
  for (let r = 0; r < kk; r++) {
    const row = y.subarray(r * n, (r + 1) * n);
    for (let p = 0; p < r; p++) {
      const f = l[r * kk + p]!;
      if (f === 0) continue;
      const prior = y.subarray(p * n, (p + 1) * n);
      for (let i = 0; i < n; i++) row[i] = row[i]! - f * prior[i]!;
    }
    const d = l[r * kk + r]!;
    for (let i = 0; i < n; i++) row[i] = row[i]! / d;
  }
  for (let r = kk - 1; r >= 0; r--) {
    const row = y.subarray(r * n, (r + 1) * n);
    for (let p = r + 1; p < kk; p++) {
      const f = l[p * kk + r]!;
      if (f === 0) continue;
      const later = y.subarray(p * n, (p + 1) * n);
      for (let i = 0; i < n; i++) row[i] = row[i]! - f * later[i]!;
    }
    const d = l[r * kk + r]!;
    for (let i = 0; i < n; i++) row[i] = row[i]! / d;
  }
  const out = new Float32Array(n * kk);
  for (let r = 0; r < kk; r++) for (let i = 0; i < n; i++) out[i * kk + r] = y[r * n + i]!;
  return out;
}
