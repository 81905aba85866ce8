/**
 * Static activation ranges for the int8 layer, from calibration: what a `Linear` of format 'int8'
 * codes its inputs with instead of each row's own min/max (see `quantizeLinearInt8`'s
 * `activations`). Calibration keeps, per layer, the exact min and max of its inputs and a
 * histogram of them; each method turns that into a range [lo, hi] ∋ 0, then into the u8 scale and
 * zero point by the dynamic quantizer's own formula (`activationRange`):
 *
 *   minmax       [min, max]: nothing saturates
 *   percentile   the p-th and (100 − p)-th percentiles (p = 99.99 by default), read off the
 *                histogram with linear interpolation inside a bin
 *   mse          the [lo, hi] that minimizes the expected squared error: values outside saturate
 *                (their distance to the edge, squared, from the histogram's prefix sums), values
 *                inside round (s²/12 each, s = (hi − lo)/255); searched over lo = α·min,
 *                hi = β·max for α, β on a grid of 100 values from 1 down to 0.01
 *   kl           TensorRT's entropy calibration adapted to an asymmetric u8 grid: the histogram
 *                P inside [lo, hi] (the clipped mass added to the edge bins) against Q, P merged
 *                into the 256 codes and spread evenly over each code's non-empty bins; the range
 *                with the least KL(P‖Q) over a 40 × 40 grid of the same form wins
 *
 * The histogram has 8192 bins over [−R, R], R a power of two ≥ max|x|; when a batch exceeds R, R
 * doubles and bins merge pairwise, so no count is ever re-estimated.
 */
import { activationRange, type ActivationRange } from '../gemm';
import { fail } from '../validate';

export const HISTOGRAM_BINS = 8192;

export type RangeMethod = 'minmax' | 'percentile' | 'mse' | 'kl';
export const RANGE_METHODS: readonly RangeMethod[] = ['minmax', 'percentile', 'mse', 'kl'];

/** A layer's input values: exact extremes and a histogram of 8192 bins over [−range, range]. */
export interface ActivationStats {
  min: number;
  max: number;
  /** Half-width of the histogram: a power of two (0 before any nonzero value). */
  range: number;
  histogram: Float64Array;
}

export function emptyStats(): ActivationStats {
  return { min: 0, max: 0, range: 0, histogram: new Float64Array(HISTOGRAM_BINS) };
}

/** Adds x[0 … count) to the statistics (all finite: they come out of a forward pass). */
export function addToStats(stats: ActivationStats, x: Float32Array, count: number): void {
  let lo = stats.min, hi = stats.max;
  for (let i = 0; i < count; i++) {
    const v = x[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  stats.min = lo;
  stats.max = hi;
  const extent = Math.max(-lo, hi);
  if (extent === 0) {
    stats.histogram[HISTOGRAM_BINS / 2] = stats.histogram[HISTOGRAM_BINS / 2]! + count; // all zeros so far: the bin just above 0
    return;
  }
  if (stats.range === 0) stats.range = 2 ** Math.ceil(Math.log2(extent));
  while (stats.range < extent) widen(stats);
  const h = stats.histogram, scale = HISTOGRAM_BINS / (2 * stats.range), last = HISTOGRAM_BINS - 1;
  for (let i = 0; i < count; i++) {
    const b = Math.floor((x[i]! + stats.range) * scale);
    const at = b > last ? last : b;
    h[at] = h[at]! + 1;
  }
}

/** Doubles the histogram's range: bins 2i and 2i+1 of the old become bin B/4 + i of the new. */
function widen(stats: ActivationStats): void {
  const old = stats.histogram, h = new Float64Array(HISTOGRAM_BINS);
  for (let i = 0; i < HISTOGRAM_BINS / 2; i++) h[HISTOGRAM_BINS / 4 + i] = old[2 * i]! + old[2 * i + 1]!;
  stats.histogram = h;
  stats.range *= 2;
}

export interface RangeOptions {
  method?: RangeMethod;
  /** For 'percentile': in (50, 100]; default 99.99. */
  percentile?: number;
}

/** The range [lo, hi] (lo ≤ 0 ≤ hi) a method picks from a layer's statistics. */
export function chooseRange(stats: ActivationStats, opts: RangeOptions = {}): { lo: number; hi: number } {
  const fn = 'chooseRange';
  const method = opts.method ?? 'mse';
  if (!RANGE_METHODS.includes(method)) fail('range', fn, 'method', `one of ${RANGE_METHODS.join(', ')}`, method);
  const lo = Math.min(stats.min, 0), hi = Math.max(stats.max, 0);
  const total = stats.histogram.reduce((a, b) => a + b, 0);
  if (method === 'minmax' || stats.range === 0 || total === 0) return { lo, hi };
  if (method === 'percentile') {
    const p = opts.percentile ?? 99.99;
    if (typeof p !== 'number' || !(p > 50 && p <= 100)) fail('range', fn, 'percentile', 'a number in (50, 100]', p);
    return { lo: Math.min(0, Math.max(lo, quantile(stats, total, 1 - p / 100))), hi: Math.max(0, Math.min(hi, quantile(stats, total, p / 100))) };
  }
  return method === 'mse' ? searchMse(stats, lo, hi) : searchKl(stats, lo, hi);
}

/** The u8 scale and zero point of the chosen range. */
export function chooseActivationRange(stats: ActivationStats, opts: RangeOptions = {}): ActivationRange {
  const { lo, hi } = chooseRange(stats, opts);
  return activationRange(lo, hi);
}

const binWidth = (s: ActivationStats) => (2 * s.range) / HISTOGRAM_BINS;
const center = (s: ActivationStats, b: number) => -s.range + (b + 0.5) * binWidth(s);

/** The value below which a fraction q of the counts lie (linear inside the bin that crosses it). */
function quantile(stats: ActivationStats, total: number, q: number): number {
  const target = q * total, width = binWidth(stats);
  let below = 0;
  for (let b = 0; b < HISTOGRAM_BINS; b++) {
    const c = stats.histogram[b]!;
    if (c > 0 && below + c >= target) return -stats.range + (b + (target - below) / c) * width;
    below += c;
  }
  return stats.range;
}

/** α from 1 down to 0.01, `count` values, denser near 1 where the answer usually is. */
function shrinkGrid(count: number): number[] {
  return Array.from({ length: count }, (_, i) => 1 - 0.99 * (i / (count - 1)) ** 2);
}

function searchMse(stats: ActivationStats, lo: number, hi: number): { lo: number; hi: number } {
  // Prefix sums of n, n·c and n·c² over bin centres give each side's clipping error in O(1):
  // Σ_{c > t} n·(c − t)² = Σn·c² − 2t·Σn·c + t²·Σn over the bins above t (and below, for lo).
  const B = HISTOGRAM_BINS, n = new Float64Array(B + 1), nc = new Float64Array(B + 1), ncc = new Float64Array(B + 1);
  for (let b = 0; b < B; b++) {
    const h = stats.histogram[b]!, c = center(stats, b);
    n[b + 1] = n[b]! + h;
    nc[b + 1] = nc[b]! + h * c;
    ncc[b + 1] = ncc[b]! + h * c * c;
  }
  const binOf = (t: number) => Math.min(B, Math.max(0, Math.floor((t + stats.range) / binWidth(stats))));
  const above = (t: number) => {
    const b = Math.min(B, binOf(t) + 1); // bins wholly above t
    return ncc[B]! - ncc[b]! - 2 * t * (nc[B]! - nc[b]!) + t * t * (n[B]! - n[b]!);
  };
  const below = (t: number) => {
    const b = binOf(t); // bins wholly below t
    return ncc[b]! - 2 * t * nc[b]! + t * t * n[b]!;
  };
  let best = { lo, hi, error: Infinity };
  const grid = shrinkGrid(100);
  for (const a of grid) {
    for (const b of grid) {
      const l = a * lo, h = b * hi, s = (h - l) / 255;
      const inside = n[Math.min(B, binOf(h) + 1)]! - n[binOf(l)]!;
      const error = below(l) + above(h) + (inside * s * s) / 12;
      if (error < best.error) best = { lo: l, hi: h, error };
    }
  }
  return { lo: best.lo, hi: best.hi };
}

function searchKl(stats: ActivationStats, lo: number, hi: number): { lo: number; hi: number } {
  const h = stats.histogram, width = binWidth(stats);
  let best = { lo, hi, kl: Infinity };
  const grid = shrinkGrid(40);
  for (const a of grid) {
    for (const b of grid) {
      const l = a * lo, u = b * hi;
      const first = Math.max(0, Math.floor((l + stats.range) / width)), last = Math.min(HISTOGRAM_BINS - 1, Math.floor((u + stats.range) / width));
      if (last - first + 1 < 256) continue; // at least a bin per code, as TensorRT's 128 bins for 128 levels
      const inside = h.subarray(first, last + 1);
      // P: the bins inside with the clipped mass on the edge bins; Q: the bins inside alone, merged.
      const p = inside.slice();
      let under = 0, over = 0;
      for (let i = 0; i < first; i++) under += h[i]!;
      for (let i = last + 1; i < HISTOGRAM_BINS; i++) over += h[i]!;
      p[0] = p[0]! + under;
      p[p.length - 1] = p[p.length - 1]! + over;
      const step = (u - l) / 255;
      const kl = divergence(p, inside, (i) => Math.round((center(stats, first + i) - l) / step));
      if (kl < best.kl) best = { lo: l, hi: u, kl };
    }
  }
  return { lo: best.lo, hi: best.hi };
}

/**
 * KL(P‖Q), each normalized: Q is `inside` merged by code(i) ∈ 0…255 and spread evenly over each
 * code's non-empty bins (a bin empty in P contributes nothing; one that P has and Q lacks costs a
 * large, finite penalty, as a clipped edge does).
 */
function divergence(p: Float64Array, inside: Float64Array, code: (i: number) => number): number {
  const mass = new Float64Array(256), bins = new Float64Array(256), codes = new Uint8Array(p.length);
  let totalP = 0, totalQ = 0;
  for (let i = 0; i < p.length; i++) {
    const c = (codes[i] = Math.min(255, Math.max(0, code(i))));
    if (inside[i]! > 0) {
      mass[c] = mass[c]! + inside[i]!;
      bins[c] = bins[c]! + 1;
      totalQ += inside[i]!;
    }
    totalP += p[i]!;
  }
  if (totalQ === 0) return Infinity;
  let kl = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) continue;
    const c = codes[i]!, pi = p[i]! / totalP;
    const qi = inside[i]! > 0 ? mass[c]! / bins[c]! / totalQ : 1e-4 / totalQ;
    kl += pi * Math.log(pi / qi);
  }
  return kl;
}
