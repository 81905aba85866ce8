/**
 * Structured pruning of an FFN's hidden neurons: a neuron h is row h of the first layer W1 [H×d]
 * (and its bias) and column h of the second W2 [d'×H]; removing it leaves two smaller dense layers,
 * faster on every kernel. Its importance is what it contributes to W2's output:
 *
 *   'activation'  ‖aₕ‖₂·‖W2[:, h]‖₂, aₕ the neuron's activations on calibration data (W2's
 *                 calibration: ‖aₕ‖₂² is its sumSquares[h])
 *   'magnitude'   ‖W1[h, :]‖₂·‖W2[:, h]‖₂ (no data)
 *
 * Removing neuron h gives exactly the output of the dense model with W2's column h zeroed.
 */
import { fail, int, typed } from '../validate';
import type { LayerCalibration } from './calibrate';

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
