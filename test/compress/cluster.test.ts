/**
 * k-means weight sharing: deterministic for a seed, never raising its objective between iterations,
 * finding clusters that are there, weighting by importance where asked, and storing exactly what it
 * reports as a ClusteredMatrix with a codebook per tensor, row or group of rows.
 */
import { describe, expect, it } from 'vitest';
import { clusterWeights, kmeans } from '../../lib/compress/cluster';
import { expectThrows, randomFloats } from '../helpers';

describe('kmeans', () => {
  const values = randomFloats(3000, 1, 2).map((v, i) => v * (1 + (i % 5)));

  it('is deterministic for a seed and never raises its objective', () => {
    for (const bits of [2, 3, 4, 6, 8]) {
      const a = kmeans(values, { bits, seed: 4 }), b = kmeans(values, { bits, seed: 4 });
      expect(a.centroids).toEqual(b.centroids);
      expect(a.codes).toEqual(b.codes);
      expect(a.objective.length).toBeGreaterThan(1);
      for (let t = 1; t < a.objective.length; t++) expect(a.objective[t]!, `b ${bits} iteration ${t}`).toBeLessThanOrEqual(a.objective[t - 1]! * (1 + 1e-12));
      for (let j = 1; j < a.centroids.length; j++) expect(a.centroids[j]!).toBeGreaterThanOrEqual(a.centroids[j - 1]!);
      // Every value's code is its nearest centroid.
      values.forEach((v, i) => {
        const best = Math.min(...Array.from(a.centroids, (c) => Math.abs(v - c)));
        expect(Math.abs(v - a.centroids[a.codes[i]!]!)).toBeLessThanOrEqual(best * (1 + 1e-6) + 1e-30);
      });
    }
  });

  it('finds clusters that are there, and repeats centroids when values are fewer', () => {
    const centres = [-3, -1, 0.5, 4];
    const points = Float32Array.from({ length: 400 }, (_, i) => centres[i % 4]! + 0.01 * Math.sin(i));
    const { centroids } = kmeans(points, { bits: 2 });
    centroids.forEach((c, j) => expect(c).toBeCloseTo(centres[j]!, 2));
    const few = kmeans(Float32Array.of(1, 1, 2), { bits: 3 });
    expect(new Set(few.centroids).size).toBeLessThanOrEqual(2);
    expect(Array.from(few.codes, (c) => few.centroids[c])).toEqual([1, 1, 2]);
  });

  it('with weights, the weighted objective is what it lowers', () => {
    // Values spread over [−1, 1], but only those above 0.5 matter.
    const v = Float32Array.from({ length: 2000 }, (_, i) => -1 + (2 * i) / 1999);
    const weights = Float64Array.from(v, (x) => (x > 0.5 ? 1 : 1e-6));
    const weighted = kmeans(v, { bits: 2, weights }), plain = kmeans(v, { bits: 2 });
    const cost = (r: typeof plain) => v.reduce((s, x, i) => s + weights[i]! * (x - r.centroids[r.codes[i]!]!) ** 2, 0);
    expect(cost(weighted)).toBeLessThan(cost(plain) / 4);
    expect(weighted.centroids.filter((c) => c > 0.5).length).toBeGreaterThanOrEqual(3);
  });

  it('names what is wrong', () => {
    expectThrows(() => kmeans(values, { bits: 1 }), RangeError, /kmeans: expected options.bits: an integer in \[2, 8\]/);
    expectThrows(() => kmeans(Float32Array.of(1, NaN), { bits: 2 }), RangeError, 'kmeans: expected values[1]: a finite number, received number NaN');
    expectThrows(() => kmeans(values, { bits: 2, weights: new Float64Array(3) }), RangeError, /expected options.weights: Float64Array of length 3000/);
    expectThrows(() => kmeans(new Float32Array(0), { bits: 2 }), RangeError, /expected values: Float32Array of length ≥ 1/);
  });
});

describe('clusterWeights', () => {
  const [n, k] = [12, 40];
  const w = randomFloats(n * k, 9);

  it('stores what it reports, one codebook per group of rows', () => {
    for (const groupRows of [n, 1, 5]) {
      const { matrix, dequantized, objectives } = clusterWeights(w, n, k, { bits: 3, groupRows });
      expect(matrix.groups).toBe(Math.ceil(n / groupRows));
      expect(objectives.length).toBe(matrix.groups);
      expect(matrix.dequantize()).toEqual(dequantized);
      const codebooks = matrix.codebooks();
      for (let j = 0; j < n; j++) {
        const book = codebooks.subarray(Math.floor(j / groupRows) * 8, Math.floor(j / groupRows) * 8 + 8);
        for (let p = 0; p < k; p++) expect(book).toContain(dequantized[j * k + p]);
      }
      matrix.dispose();
    }
    // Finer codebooks fit better.
    const error = (groupRows: number) => {
      const r = clusterWeights(w, n, k, { bits: 2, groupRows });
      r.matrix.dispose();
      return r.dequantized.reduce((s, v, i) => s + (v - w[i]!) ** 2, 0);
    };
    expect(error(1)).toBeLessThan(error(n));
  });

  it('names what is wrong', () => {
    expectThrows(() => clusterWeights(w, n, k, { bits: 4, groupRows: 13 }), RangeError, /clusterWeights: expected options.groupRows: an integer in \[1, 12\]/);
    expectThrows(() => clusterWeights(w, n, k, { bits: 4, importance: new Float64Array(3) }), RangeError, /expected options.importance: Float64Array of length 40/);
  });
});
