/**
 * Pruning criteria and patterns on small layers with hand-checkable facts: N:M keeps exactly N of
 * every M, unstructured drops exactly ⌈s·count⌉, Wanda with equal input norms is per-row magnitude,
 * SparseGPT at 0% returns W and never reconstructs worse than magnitude on its own calibration, the
 * inverse-Hessian factor really factors H⁻¹; bad input is refused.
 */
import { describe, expect, it } from 'vitest';
import { Calibration, type LayerCalibration } from '../../lib/compress/calibrate';
import { dampedHessian, inverseHessianFactor } from '../../lib/compress/linalg';
import { pruneWeights, reconstructionError } from '../../lib/compress/prune';
import { addToStats, emptyStats } from '../../lib/compress/ranges';
import { randomFloats } from '../helpers';

/** A layer's calibration from explicit inputs X [rows×k] (f64 sums, as calibrate keeps them). */
function calibrationOf(x: Float32Array, rows: number, n: number, k: number): LayerCalibration {
  const gram = new Float64Array(k * k), sumSquares = new Float64Array(k);
  for (let r = 0; r < rows; r++) {
    for (let a = 0; a < k; a++) {
      sumSquares[a] = sumSquares[a]! + x[r * k + a]! ** 2;
      for (let b = 0; b < k; b++) gram[a * k + b] = gram[a * k + b]! + x[r * k + a]! * x[r * k + b]!;
    }
  }
  const activations = emptyStats();
  addToStats(activations, x, rows * k);
  return { name: 'test', n, k, rows, sumSquares, gram, activations };
}

// Correlated inputs with channels of different scales: what makes the criteria differ.
function inputs(rows: number, k: number, seed: number): Float32Array {
  const x = randomFloats(rows * k, seed);
  for (let r = 0; r < rows; r++) for (let j = 1; j < k; j++) x[r * k + j] = 0.6 * x[r * k + j - 1]! + x[r * k + j]!;
  return x.map((v, i) => v * (1 + ((i % k) % 5)));
}

const [n, k, rows] = [24, 32, 200];
// randomFloats has ties; a tiny ramp makes every |w| distinct, so "the largest are kept" is checkable.
const w = randomFloats(n * k, 3).map((v, i) => v + i * 1e-6);
const cal = calibrationOf(inputs(rows, k, 4), rows, n, k);

describe('pruneWeights', () => {
  it.each(['magnitude', 'wanda', 'sparsegpt'] as const)('%s N:M keeps exactly N of every M along each row (2:4, 4:8, 1:4)', (criterion) => {
    for (const [keep, m] of [[2, 4], [4, 8], [1, 4]] as const) {
      const p = pruneWeights(w, n, k, { criterion, n: keep, m, calibration: cal });
      for (let i = 0; i < n; i++) {
        for (let g = 0; g < k; g += m) {
          expect(p.subarray(i * k + g, i * k + g + m).filter((v) => v !== 0).length, `${criterion} ${keep}:${m} row ${i}`).toBe(keep);
        }
      }
    }
  });

  it.each(['magnitude', 'wanda', 'sparsegpt'] as const)('%s unstructured drops exactly ⌈s·count⌉ and is deterministic', (criterion) => {
    for (const sparsity of [0.3, 0.5, 0.9]) {
      const p = pruneWeights(w, n, k, { criterion, sparsity, calibration: cal });
      const zeros = p.filter((v) => v === 0).length;
      // magnitude: per layer; wanda: per row; sparsegpt: per block of columns (here one block).
      const expected = criterion === 'wanda' ? n * Math.ceil(sparsity * k) : Math.ceil(sparsity * n * k);
      expect(zeros, `${criterion} ${sparsity}`).toBe(expected);
      expect(pruneWeights(w, n, k, { criterion, sparsity, calibration: cal })).toEqual(p);
    }
  });

  it('magnitude keeps the largest |w|; kept weights are unchanged (but for SparseGPT)', () => {
    const p = pruneWeights(w, n, k, { sparsity: 0.5 });
    const kept = Math.min(...[...p].filter((v) => v !== 0).map(Math.abs));
    const dropped = Math.max(...[...w].filter((_, i) => p[i] === 0).map(Math.abs));
    expect(kept).toBeGreaterThanOrEqual(dropped);
    p.forEach((v, i) => v !== 0 && expect(v).toBe(w[i]));
  });

  it('Wanda with equal input norms is magnitude compared within each row', () => {
    const flat = { ...cal, sumSquares: new Float64Array(k).fill(4) };
    const wanda = pruneWeights(w, n, k, { criterion: 'wanda', sparsity: 0.5, calibration: flat });
    for (let i = 0; i < n; i++) {
      const row = w.subarray(i * k, (i + 1) * k);
      const threshold = [...row].map(Math.abs).sort((a, b) => a - b)[k / 2 - 1]!;
      row.forEach((v, j) => expect(wanda[i * k + j] !== 0, `row ${i} col ${j}`).toBe(Math.abs(v) > threshold));
    }
  });

  it('SparseGPT at 0% returns W; at 50% and 2:4 it reconstructs no worse than magnitude or Wanda', () => {
    const same = pruneWeights(w, n, k, { criterion: 'sparsegpt', sparsity: 0, calibration: cal });
    same.forEach((v, i) => expect(v).toBeCloseTo(w[i]!, 5));
    for (const pattern of [{ sparsity: 0.5 }, { n: 2, m: 4 }]) {
      const error = (criterion: 'magnitude' | 'wanda' | 'sparsegpt') => reconstructionError(w, pruneWeights(w, n, k, { criterion, calibration: cal, ...pattern }), n, k, cal);
      expect(error('sparsegpt'), JSON.stringify(pattern)).toBeLessThanOrEqual(error('magnitude'));
      expect(error('sparsegpt'), JSON.stringify(pattern)).toBeLessThanOrEqual(error('wanda'));
    }
  });

  it('the inverse-Hessian factor U is upper triangular with UᵀU·H = I', () => {
    const kk = 9;
    const small = calibrationOf(inputs(40, kk, 8), 40, 1, kk);
    const u = inverseHessianFactor(small.gram!, kk, 0.01, 'test');
    const h = dampedHessian(small.gram!, kk, 0.01);
    for (let i = 0; i < kk; i++) {
      for (let j = 0; j < i; j++) expect(u[i * kk + j]).toBe(0);
      for (let j = 0; j < kk; j++) {
        let v = 0;
        for (let p = 0; p < kk; p++) {
          let inv = 0;
          for (let q = 0; q < kk; q++) inv += u[q * kk + i]! * u[q * kk + p]!;
          v += inv * h[p * kk + j]!;
        }
        expect(v).toBeCloseTo(i === j ? 1 : 0, 9);
      }
    }
  });

  it.each([
    ['sparsity 1', { sparsity: 1 }, RangeError, /sparsity: a number in \[0, 1\)/],
    ['sparsity −0.1', { sparsity: -0.1 }, RangeError, /sparsity/],
    ['N > M', { n: 5, m: 4 }, RangeError, /expected n: an integer in \[0, 4\]/],
    ['M not dividing k', { n: 2, m: 5 }, RangeError, /m: a divisor of k = 32/],
    ['both patterns', { sparsity: 0.5, n: 2, m: 4 }, TypeError, /either sparsity or n and m/],
    ['wanda without calibration', { criterion: 'wanda', sparsity: 0.5 }, TypeError, /calibration: this layer's calibration/],
    ['a calibration of another layer', { criterion: 'sparsegpt', sparsity: 0.5, calibration: { ...cal, k: 16 } }, RangeError, /a calibration of a 24×32 layer/],
    ['an unknown criterion', { criterion: 'random', sparsity: 0.5 }, RangeError, /criterion/],
  ] as const)('refuses %s', (_, opts, error, message) => {
    expect(() => pruneWeights(w, n, k, opts as never)).toThrow(error);
    expect(() => pruneWeights(w, n, k, opts as never)).toThrow(message);
  });

  it('refuses weights of the wrong length', () => {
    expect(() => pruneWeights(w.subarray(1), n, k, { sparsity: 0.5 })).toThrow(/w: Float32Array of length 768 \(n·k\)/);
  });
});

describe('Calibration', () => {
  it('round-trips through bytes; hostile bytes are RangeErrors', () => {
    const c = new Calibration([cal, { ...cal, name: 'no-gram', gram: null }]);
    const back = Calibration.fromBytes(c.toBytes());
    expect([...back.layers.keys()]).toEqual(['test', 'no-gram']);
    expect(back.layer('test').gram).toEqual(cal.gram);
    expect(back.layer('no-gram').gram).toBeNull();
    expect(back.norms('test')[3]).toBeCloseTo(Math.sqrt(cal.sumSquares[3]!), 12);
    expect(back.layer('test').activations).toEqual(cal.activations);
    const bytes = c.toBytes();
    expect(() => Calibration.fromBytes(bytes.subarray(0, 100))).toThrow(RangeError);
    const lying = bytes.slice();
    new DataView(lying.buffer).setUint32(0, 1e9, true);
    expect(() => Calibration.fromBytes(lying)).toThrow(/a header of 1000000000 bytes within/);
    expect(() => back.layer('other')).toThrow(/one of test, no-gram/);
  });
});
