/**
 * Low-rank factorization: the SVDs against matrices of known spectrum and against each other, rank
 * choice, the activation-aware methods' promise (whitening minimizes the output error on the
 * calibration data), and LowRankLinear at full rank reproducing the dense layer within the bound.
 */
import { describe, expect, it } from 'vitest';
import type { LayerCalibration } from '../../lib/compress/calibrate';
import { emptyStats } from '../../lib/compress/ranges';
import { breakEvenRank, chooseRank, decompose, energyByRank, factorsAt, lowRankFactor, lowRankProduct, outputError } from '../../lib/compress/lowrank';
import { jacobiSvd, orthonormalizeRows, randomizedSvd } from '../../lib/compress/svd';
import { Linear } from '../../lib/nn/linear';
import { LowRankLinear } from '../../lib/nn/lowrank';
import { expectThrows, randomFloats } from '../helpers';

/** W = U·diag(s)·Vᵀ with random orthonormal U [n×r], V [k×r], in f64 and rounded to f32. */
function knownSpectrum(n: number, k: number, s: number[], seed: number) {
  const r = s.length;
  const u = Float64Array.from(randomFloats(r * n, seed)), v = Float64Array.from(randomFloats(r * k, seed + 1));
  orthonormalizeRows(u, r, n);
  orthonormalizeRows(v, r, k);
  const w = new Float32Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) {
    let sum = 0;
    for (let c = 0; c < r; c++) sum += u[c * n + i]! * s[c]! * v[c * k + j]!;
    w[i * k + j] = sum;
  }
  return w;
}

/** The exact SVD of an f32 W [n×k] by Jacobi (the reference the randomized one is held to). */
function exactSvd(w: Float32Array, n: number, k: number) {
  const cols = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) cols[j * n + i] = w[i * k + j]!;
  return jacobiSvd(cols, n, k);
}

function calibrationOf(x: Float32Array, rows: number, k: number): LayerCalibration {
  const gram = new Float64Array(k * k);
  for (let r = 0; r < rows; r++) for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) gram[a * k + b] = gram[a * k + b]! + x[r * k + a]! * x[r * k + b]!;
  return { name: 'test', n: 0, k, rows, sumSquares: Float64Array.from({ length: k }, (_, j) => gram[j * k + j]!), gram, activations: emptyStats() };
}

/** Inputs whose channels differ in scale by 100× and are correlated: what makes activation-aware SVD matter. */
function skewedInputs(rows: number, k: number, seed: number): Float32Array {
  const x = randomFloats(rows * k, seed);
  for (let r = 0; r < rows; r++) for (let j = 0; j < k; j++) {
    if (j > 0) x[r * k + j] = 0.6 * x[r * k + j - 1]! + x[r * k + j]!;
  }
  return x.map((v, i) => v * (i % k < 4 ? 30 : 0.3));
}

describe('jacobiSvd', () => {
  it('recovers a known spectrum, with orthonormal singular vectors', () => {
    const s = [9, 4, 2.5, 1, 0.5, 0.01];
    const [n, k] = [23, 17];
    const w = knownSpectrum(n, k, s, 3);
    const svd = exactSvd(w, n, k);
    // W was rounded to f32: its true spectrum moved by at most ‖ΔW‖₂ ≤ ‖ΔW‖_F ≤ 2⁻²⁴·‖W‖_F.
    const bound = 2 ** -24 * Math.hypot(...s) * 2;
    s.forEach((sigma, i) => expect(Math.abs(svd.s[i]! - sigma)).toBeLessThanOrEqual(bound));
    for (let i = s.length; i < k; i++) expect(svd.s[i]!).toBeLessThanOrEqual(bound);
    for (let a = 0; a < s.length; a++) for (let b = 0; b < s.length; b++) {
      let uu = 0, vv = 0;
      for (let p = 0; p < n; p++) uu += svd.ut[a * n + p]! * svd.ut[b * n + p]!;
      for (let p = 0; p < k; p++) vv += svd.vt[a * k + p]! * svd.vt[b * k + p]!;
      expect(Math.abs(uu - (a === b ? 1 : 0))).toBeLessThan(1e-12);
      expect(Math.abs(vv - (a === b ? 1 : 0))).toBeLessThan(1e-12);
    }
  });

  it('reconstructs a full-rank matrix to f64 rounding', () => {
    const [n, k] = [9, 14];
    const w = randomFloats(n * k, 11);
    const svd = jacobiSvd(Float64Array.from({ length: n * k }, (_, i) => w[(i % n) * k + Math.floor(i / n)]!), n, k);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) {
      let sum = 0;
      for (let c = 0; c < k; c++) sum += svd.ut[c * n + i]! * svd.s[c]! * svd.vt[c * k + j]!;
      expect(Math.abs(sum - w[i * k + j]!)).toBeLessThan(1e-12);
    }
  });
});

describe('randomizedSvd', () => {
  const [n, k] = [96, 160];
  const spectrum = Array.from({ length: 40 }, (_, i) => 10 * 0.8 ** i);
  const w = knownSpectrum(n, k, spectrum, 7);
  const exact = exactSvd(w, n, k);

  it('matches the exact SVD in the leading singular values and subspace', () => {
    const svd = randomizedSvd(w, n, k, 12, { oversample: 10, powerIterations: 2, seed: 5 });
    expect(svd.rank).toBe(12);
    // f32 products: each σ within 1e-5·σ₁ of the exact one.
    for (let i = 0; i < 12; i++) expect(Math.abs(svd.s[i]! - exact.s[i]!)).toBeLessThan(1e-5 * exact.s[0]!);
    // Each leading right singular vector lies in the exact one's direction (|cos| ≈ 1).
    for (let c = 0; c < 8; c++) {
      let cos = 0;
      for (let p = 0; p < k; p++) cos += svd.vt[c * k + p]! * exact.vt[c * k + p]!;
      expect(Math.abs(cos)).toBeGreaterThan(1 - 1e-4);
    }
  });

  it('is deterministic for a seed, and exact at full rank', () => {
    const a = randomizedSvd(w, n, k, 20, { seed: 9 }), b = randomizedSvd(w, n, k, 20, { seed: 9 });
    expect(a.s).toEqual(b.s);
    expect(a.vt).toEqual(b.vt);
    const full = randomizedSvd(w, n, k, n, { oversample: 0, powerIterations: 0 });
    for (let i = 0; i < 40; i++) expect(Math.abs(full.s[i]! - exact.s[i]!)).toBeLessThan(1e-5 * exact.s[0]!);
  });

  it('refuses a rank outside [1, min(n, k)]', () => {
    expectThrows(() => randomizedSvd(w, n, k, 0), RangeError, /randomizedSvd: expected rank: an integer in \[1, 96\]/);
    expectThrows(() => randomizedSvd(w, n, k, 97), RangeError, /randomizedSvd: expected rank/);
    expectThrows(() => randomizedSvd(w, n, k, 5, { powerIterations: -1 }), RangeError, /options.powerIterations/);
  });
});

describe('lowRankFactor', () => {
  const [n, k] = [48, 64];
  const w = randomFloats(n * k, 21).map((v, i) => v + 0.5 * Math.sin(i / 7));

  it('chooses the rank by energy and by error, and keeps its promise', () => {
    const d = decompose(w, n, k, { maxRank: 27 });
    expect(d.svd.rank).toBe(27);
    expect(breakEvenRank(n, k)).toBe(27);
    const kept = energyByRank(d);
    for (let r = 1; r < kept.length; r++) expect(kept[r]!).toBeGreaterThanOrEqual(kept[r - 1]!);
    const r = chooseRank(d, { energy: 0.6 });
    expect(kept[r]!).toBeGreaterThanOrEqual(0.6 - 1e-12);
    expect(kept[r - 1]!).toBeLessThan(0.6);
    expect(chooseRank(d, { error: Math.sqrt(0.4) })).toBe(r);
    expect(chooseRank(d, { energy: 0.6, rankMultiple: 8 }) % 8).toBe(0);
    // The relative Frobenius error of the factors is √(1 − energy).
    const f = factorsAt(d, r);
    const p = lowRankProduct(f, n, k);
    let num = 0, den = 0;
    for (let i = 0; i < n * k; i++) (num += (w[i]! - p[i]!) ** 2), (den += w[i]! ** 2);
    expect(Math.sqrt(num / den)).toBeCloseTo(Math.sqrt(1 - f.energy), 4);
  });

  it("whitening gives the least output error on the calibration data, ASVD less than plain SVD", () => {
    const rows = 400;
    const calibration = calibrationOf(skewedInputs(rows, k, 4), rows, k);
    const error = (method: 'svd' | 'asvd' | 'whiten') => outputError(w, lowRankFactor(w, n, k, { rank: 8, method, calibration, damp: 1e-6 }), n, k, calibration);
    const [svd, asvd, whiten] = [error('svd'), error('asvd'), error('whiten')];
    expect(whiten).toBeLessThan(asvd);
    expect(asvd).toBeLessThan(svd);
  });

  it('names what is wrong', () => {
    expectThrows(() => lowRankFactor(w, n, k, { rank: 4, method: 'whiten' }), RangeError, /decompose: expected options.calibration: the layer's calibration for method 'whiten'/);
    expectThrows(() => lowRankFactor(w, n, k, { rank: 4, method: 'qr' as 'svd' }), RangeError, /decompose: expected options.method: svd, asvd, whiten/);
    expectThrows(() => lowRankFactor(w, n, k, { rank: 4, energy: 0.5 }), RangeError, /chooseRank: expected options: exactly one of rank, energy, error/);
    expectThrows(() => lowRankFactor(w, n, k, { energy: 1.5 }), RangeError, /chooseRank: expected options.energy: a fraction in \(0, 1\]/);
    expectThrows(() => lowRankFactor(w, n, k, { rank: 49 }), RangeError, /expected options.maxRank: at most min\(n, k\) = 48/);
  });
});

describe('LowRankLinear', () => {
  const [n, k, m] = [40, 24, 5];
  const w = randomFloats(n * k, 31);
  const bias = randomFloats(n, 32);
  const x = randomFloats(m * k, 33);

  it('at full rank reproduces the dense layer within the bound', () => {
    const f = lowRankFactor(w, n, k, { rank: k, oversample: 0 });
    const layer = LowRankLinear.fromFactors(f.first, f.second, n, k, f.rank, { bias });
    const dense = Linear.fromWeights(w, n, k, { bias });
    const got = layer.forward(x, m), want = dense.forward(x, m);
    // |Δy| ≤ ‖x‖·‖Δwⱼ‖ (the factorization's error) + the f32 sums' bounds of both paths.
    const p = layer.effectiveWeights();
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let xNorm = 0, dw = 0, terms = 0, inner = 0;
      for (let q = 0; q < k; q++) (xNorm += x[i * k + q]! ** 2), (dw += (w[j * k + q]! - p[j * k + q]!) ** 2), (terms += Math.abs(x[i * k + q]! * w[j * k + q]!));
      for (let c = 0; c < f.rank; c++) {
        let z = 0;
        for (let q = 0; q < k; q++) z += Math.abs(x[i * k + q]! * f.first[c * k + q]!);
        inner += (z + 1) * Math.abs(f.second[j * f.rank + c]!);
      }
      const bound = Math.sqrt(xNorm * dw) + 2 * k * 2 ** -24 * (terms + Math.abs(bias[j]!)) + 2 * (k + f.rank) * 2 ** -24 * (inner + Math.abs(bias[j]!)) + 1e-6;
      expect(Math.abs(got[i * n + j]! - want[i * n + j]!)).toBeLessThanOrEqual(bound);
    }
    let dw = 0;
    for (let i = 0; i < n * k; i++) dw = Math.max(dw, Math.abs(w[i]! - p[i]!));
    expect(dw).toBeLessThan(1e-5);
    expect(layer.format).toBe('lowrank');
    expect(layer.weightBytes).toBe(4 * (n + k) * k);
    expect(layer.byteLength).toBe(4 * (n + k) * k + 4 * n);
    expect(layer.bias).toEqual(bias);
    layer.dispose();
    dense.dispose();
  });

  it('stores its factors in any form and runs them (q8_0 needs r a multiple of 32)', async () => {
    const [n2, k2] = [40, 64];
    const w2 = randomFloats(n2 * k2, 41);
    const f = lowRankFactor(w2, n2, k2, { rank: 32 });
    const layer = LowRankLinear.fromFactors(f.first, f.second, n2, k2, 32, { format: 'q8_0', bias });
    expect(layer.first.format).toBe('q8_0');
    expect(layer.second.format).toBe('q8_0');
    expect(layer.weightBytes).toBe(layer.first.weightBytes + layer.second.weightBytes);
    const x2 = randomFloats(3 * k2, 42);
    const sync = layer.forward(x2, 3), async = await layer.forwardAsync(x2, 3);
    expect(async).toEqual(sync);
    const g = lowRankFactor(w2, n2, k2, { rank: 30 });
    expectThrows(() => LowRankLinear.fromFactors(g.first, g.second, n2, k2, 30, { format: 'q8_0' }), RangeError, "LowRankLinear.fromFactors: expected rank: a multiple of 32 (the second factor's k, in q8_0 blocks), received number 30");
    layer.dispose();
  });

  it('names what is wrong', () => {
    const f = lowRankFactor(w, n, k, { rank: 4 });
    expectThrows(() => LowRankLinear.fromFactors(f.first, f.second, n, k, 0), RangeError, /LowRankLinear.fromFactors: expected rank/);
    expectThrows(() => LowRankLinear.fromFactors(f.first.subarray(1), f.second, n, k, 4), RangeError, 'LowRankLinear.fromFactors: expected first: Float32Array of length 96 (rank·k), received Float32Array of length 95');
    expectThrows(() => LowRankLinear.fromFactors(f.first, f.second, n, k, 4, { format: 'q4_0' }), RangeError, /LowRankLinear.fromFactors: expected rank: a multiple of 32/);
    const a = Linear.fromWeights(f.first, 4, k), b = Linear.fromWeights(randomFloats(n * 5, 3), n, 5);
    expectThrows(() => LowRankLinear.fromLayers(a, b), RangeError, /LowRankLinear.fromLayers: expected second.k: first.n = 4, received number 5/);
    a.dispose();
    b.dispose();
  });
});
