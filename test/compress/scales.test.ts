/**
 * Importance-weighted scale search: never worse than ggml's own block on its objective (with uniform
 * importance that is the plain squared error), strictly better on real-shaped data, ggml's bytes
 * when no candidate beats them, and its bytes are valid blocks that decode to what it reports.
 */
import { describe, expect, it } from 'vitest';
import { quantizeWeighted, type WeightedFormat } from '../../lib/compress/scales';
import { quantize, QuantizedMatrix } from '../../lib/quant';
import { expectSameFloats, randomFloats } from '../helpers';

const [n, k] = [12, 96];
const w = randomFloats(n * k, 11, 0.5).map((v, i) => v + i * 1e-6);
const skewed = Float64Array.from({ length: k }, (_, j) => (j % 7 === 0 ? 50 : 1 + (j % 3)));
const FORMATS: WeightedFormat[] = ['q8_0', 'q4_0', 'q4_1'];

const weightedError = (approx: Float32Array, importance: ArrayLike<number>) => {
  let e = 0;
  for (let i = 0; i < n * k; i++) e += importance[i % k]! * (w[i]! - approx[i]!) ** 2;
  return e;
};

describe('quantizeWeighted', () => {
  it.each(FORMATS)('%s: uniform importance is no worse than the plain formula, block by block', (format) => {
    const r = quantizeWeighted(w, n, k, { format });
    const plain = quantize(w, n, k, format).dequantize();
    const ones = new Float64Array(k).fill(1);
    for (let b = 0; b < (n * k) / 32; b++) {
      const block = (a: Float32Array) => { let e = 0; for (let t = b * 32; t < (b + 1) * 32; t++) e += (w[t]! - a[t]!) ** 2; return e; };
      expect(block(r.dequantized), `${format} block ${b}`).toBeLessThanOrEqual(block(plain));
    }
    expect(weightedError(r.dequantized, ones)).toBeLessThan(weightedError(plain, ones));
    expectSameFloats(QuantizedMatrix.fromBytes(format, n, k, r.bytes).dequantize(), r.dequantized, { format });
  });

  it.each(FORMATS)('%s: skewed importance is served better than by the plain formula', (format) => {
    const r = quantizeWeighted(w, n, k, { format, importance: skewed });
    const plain = quantize(w, n, k, format).dequantize();
    expect(weightedError(r.dequantized, skewed)).toBeLessThan(weightedError(plain, skewed));
    expectSameFloats(QuantizedMatrix.fromBytes(format, n, k, r.bytes).dequantize(), r.dequantized, { format });
  });

  it('zero importance keeps ggml\'s own bytes (ties keep the first candidate)', () => {
    for (const format of FORMATS) {
      expect(quantizeWeighted(w, n, k, { format, importance: new Float64Array(k) }).bytes).toEqual(quantize(w, n, k, format).toBytes());
    }
  });

  it('refuses bad input', () => {
    expect(() => quantizeWeighted(w, n, k, { format: 'nf4' as never })).toThrow(/format: 'q8_0', 'q4_0' or 'q4_1'/);
    expect(() => quantizeWeighted(w, n, k, { format: 'q4_0', importance: new Float64Array(k - 1) })).toThrow(/importance: a Float64Array or Float32Array of k = 96 values/);
    expect(() => quantizeWeighted(w, n, k, { format: 'q4_0', importance: new Float64Array(k).fill(-1) })).toThrow(/importance\[0\]: a finite value ≥ 0/);
    expect(() => quantizeWeighted(w.subarray(0, 12 * 40), 12, 40, { format: 'q4_0' })).toThrow(/k: a multiple of 32/);
  });
});
