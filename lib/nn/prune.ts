/**
 * Magnitude pruning's one number: the threshold that drops a given fraction of a weight's entries.
 * (The pruning toolkit, with criteria that look at data, is issue 11; this is what the demo's
 * "CSR, x% pruned by magnitude" rows use.)
 */
import { fail, typed } from '../validate';

/**
 * The t for which keeping |w| > t (`CsrMatrix.fromDense`, the 'csr' Linear formats) drops at least
 * `sparsity` of w: the ⌈sparsity·length⌉-th smallest |w| (0 for sparsity 0). Entries tied with t
 * are dropped too, so the result can be a little sparser than asked.
 */
export function magnitudeThreshold(w: Float32Array, sparsity: number): number {
  const fn = 'magnitudeThreshold';
  typed(fn, 'w', w, Float32Array, 0, 'any length');
  if (typeof sparsity !== 'number' || !(sparsity >= 0 && sparsity < 1)) fail('range', fn, 'sparsity', 'a number in [0, 1)', sparsity);
  const drop = Math.ceil(sparsity * w.length);
  if (drop === 0) return 0;
  const magnitudes = Float32Array.from(w, Math.abs).sort();
  if (Number.isNaN(magnitudes[magnitudes.length - 1])) fail('range', fn, 'w', 'finite values', w);
  return magnitudes[drop - 1]!;
}
