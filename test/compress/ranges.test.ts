/**
 * Static activation ranges: the histogram keeps every count through its widenings, each method's
 * range holds what it promises, and the MSE choice really quantizes with less error than min/max
 * when the data have outliers.
 */
import { describe, expect, it } from 'vitest';
import { activationRange } from '../../lib/gemm';
import { addToStats, chooseActivationRange, chooseRange, emptyStats, HISTOGRAM_BINS, type ActivationStats } from '../../lib/compress/ranges';
import * as reference from '../../lib/reference/index';
import { randomFloats } from '../helpers';

/** Gaussian-like values with a few large outliers on the positive side, as a GELU output has. */
function withOutliers(count: number, seed: number): Float32Array {
  const x = randomFloats(count, seed, 1);
  for (let i = 0; i < count; i += 997) x[i] = 40 + (i % 13);
  return x;
}

function statsOf(...batches: Float32Array[]): ActivationStats {
  const s = emptyStats();
  for (const b of batches) addToStats(s, b, b.length);
  return s;
}

/** Σ(x − dequantize(quantize(x)))² with the given range, through the reference quantizer. */
function squaredError(x: Float32Array, range: { scale: number; zeroPoint: number }): number {
  const { q } = reference.quantizeActivationsU8(x, 1, x.length, range);
  return x.reduce((sum, v, i) => sum + (v - Math.fround(range.scale) * (q[i]! - range.zeroPoint)) ** 2, 0);
}

describe('activation statistics', () => {
  it('keep exact extremes and every count, each value in its bin, across widenings', () => {
    const small = randomFloats(1000, 1, 0.01), large = randomFloats(1000, 2, 30), zeros = new Float32Array(50);
    const s = statsOf(zeros, small, large);
    expect(s.min).toBe(Math.min(...small, ...large));
    expect(s.max).toBe(Math.max(...small, ...large));
    expect(s.range).toBeGreaterThanOrEqual(Math.max(-s.min, s.max));
    expect(Math.log2(s.range) % 1).toBe(0);
    expect(s.histogram.reduce((a, b) => a + b, 0)).toBe(2050);
    // Widening merges bins exactly: the counts equal a histogram built at the final range at once.
    const direct = emptyStats();
    direct.range = s.range;
    for (const b of [zeros, small, large]) addToStats(direct, b, b.length);
    expect(direct.range).toBe(s.range);
    expect(direct.histogram).toEqual(s.histogram);
    const width = (2 * s.range) / HISTOGRAM_BINS;
    const one = statsOf(new Float32Array([0.123]));
    const b = one.histogram.findIndex((c) => c > 0);
    expect(-one.range + b * (2 * one.range) / HISTOGRAM_BINS).toBeLessThanOrEqual(0.123);
    expect(-one.range + (b + 1) * (2 * one.range) / HISTOGRAM_BINS).toBeGreaterThan(0.123);
    expect(width).toBeGreaterThan(0);
  });
});

describe('range methods', () => {
  const x = withOutliers(20000, 3);
  const s = statsOf(x.subarray(0, 7000), x.subarray(7000));

  it('minmax covers everything; percentile 100 is minmax; percentiles are quantiles', () => {
    expect(chooseRange(s, { method: 'minmax' })).toEqual({ lo: s.min, hi: s.max });
    expect(chooseRange(s, { method: 'percentile', percentile: 100 })).toEqual({ lo: s.min, hi: s.max });
    const sorted = Float64Array.from(x).sort();
    const { lo, hi } = chooseRange(s, { method: 'percentile', percentile: 99 });
    const width = (2 * s.range) / HISTOGRAM_BINS;
    expect(Math.abs(hi - sorted[Math.floor(0.99 * sorted.length)]!)).toBeLessThan(width);
    expect(Math.abs(lo - sorted[Math.floor(0.01 * sorted.length)]!)).toBeLessThan(width);
  });

  it('mse and kl clip the outliers, and mse quantizes with less error than minmax and the 99.99th percentile', () => {
    const minmax = squaredError(x, chooseActivationRange(s, { method: 'minmax' }));
    const percentile = squaredError(x, chooseActivationRange(s, { method: 'percentile' }));
    const mse = squaredError(x, chooseActivationRange(s, { method: 'mse' }));
    expect(mse).toBeLessThan(minmax);
    expect(mse).toBeLessThan(percentile);
    for (const method of ['mse', 'kl'] as const) {
      const { lo, hi } = chooseRange(s, { method });
      expect(hi, method).toBeLessThan(s.max);
      expect(hi, method).toBeGreaterThan(2);
      expect(lo, method).toBeLessThan(0);
      expect(lo, method).toBeGreaterThanOrEqual(s.min);
    }
  });

  it('on data without outliers, mse keeps nearly all of the range', () => {
    const plain = randomFloats(20000, 4, 1);
    const { hi } = chooseRange(statsOf(plain), { method: 'mse' });
    expect(hi).toBeGreaterThan(0.5 * Math.max(...plain));
  });

  it('all-zero and one-signed inputs give ranges containing 0', () => {
    expect(chooseRange(statsOf(new Float32Array(10)), { method: 'mse' })).toEqual({ lo: 0, hi: 0 });
    const positive = statsOf(Float32Array.from({ length: 500 }, (_, i) => 0.01 * i));
    for (const method of ['minmax', 'percentile', 'mse', 'kl'] as const) {
      const { lo, hi } = chooseRange(positive, { method });
      expect(lo, method).toBe(0);
      expect(hi, method).toBeGreaterThan(3);
      expect(chooseActivationRange(positive, { method }).zeroPoint, method).toBe(0);
    }
  });

  it('activationRange is the dynamic quantizer’s own choice for a row’s extremes', () => {
    for (const seed of [5, 6, 7, 8]) {
      const row = randomFloats(300, seed, seed).map((v) => v + seed - 6);
      const want = reference.quantizeActivationsU8(row, 1, 300);
      const got = activationRange(Math.min(...row), Math.max(...row));
      expect(got).toEqual({ scale: want.scale[0], zeroPoint: want.zeroPoint[0] });
    }
    expect(activationRange(0, 0)).toEqual({ scale: 1, zeroPoint: 0 });
  });

  it('refuses unknown methods and percentiles outside (50, 100]', () => {
    expect(() => chooseRange(s, { method: 'max' as never })).toThrow(/^chooseRange: expected method: one of minmax, percentile, mse, kl, received string "max"$/);
    expect(() => chooseRange(s, { method: 'percentile', percentile: 30 })).toThrow(RangeError);
  });
});
