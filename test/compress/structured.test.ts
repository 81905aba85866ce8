/**
 * Structured pruning of FFN neurons: removing a neuron gives exactly the dense model with the second
 * layer's column zeroed (the f32 GEMM sums each output in k order, and adding 0·x changes nothing);
 * scores and the kept set follow their definitions; shapes that do not match are refused.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { calibrate } from '../../lib/compress/calibrate';
import { emptyStats } from '../../lib/compress/ranges';
import { headScores, keepNeurons, neuronScores, refitColumns } from '../../lib/compress/structured';
import { calibrationSentences } from '../../lib/eval/evaluate';
import { loadUseLite, type UseLite } from '../../lib/models/use-lite/model';
import { expectSameFloats, randomFloats } from '../helpers';

describe('structured pruning of FFN neurons', () => {
  let model: UseLite;
  const texts = ['The jury said it did find that the election was conducted.', 'Stocks fell sharply on Monday.'];
  beforeAll(() => {
    model = loadUseLite();
  });

  it('removing neurons equals zeroing their columns of the second layer', () => {
    const gone = new Set([3, 700, 1535]);
    const keep = Int32Array.from({ length: 1536 }, (_, h) => h).filter((h) => !gone.has(h));
    const smaller = model.withFormats((layer) => (layer === 'layer0.ffn1' ? { rows: keep } : layer === 'layer0.ffn2' ? { columns: keep } : {}));
    expect([smaller.layers.get('layer0.ffn1')!.n, smaller.layers.get('layer0.ffn2')!.k]).toEqual([1533, 1533]);
    const zeroed = model.withFormats((layer, w, n, k) => (layer === 'layer0.ffn2' ? { weights: w.map((v, i) => (gone.has(i % k) ? 0 : v)) } : {}));
    expectSameFloats(smaller.embed(texts), zeroed.embed(texts), {});
    expect(smaller.byteLength).toBe(model.byteLength - 3 * (512 + 1) * 4 - 3 * 512 * 4);
  });

  it('scores: activation-weighted column norms from the calibration; the lowest fraction goes', () => {
    const calibration = calibrate(model, calibrationSentences({ count: 16 }), { gramMaxK: 0 });
    const ffn2 = model.layers.get('layer1.ffn2')!;
    const w2 = ffn2.effectiveWeights();
    const scores = neuronScores(w2, 512, 1536, { calibration: calibration.layer('layer1.ffn2') });
    let column = 0;
    for (let i = 0; i < 512; i++) column += w2[i * 1536 + 10]! ** 2;
    expect(scores[10]).toBeCloseTo(Math.sqrt(column * calibration.layer('layer1.ffn2').sumSquares[10]!), 9);
    const kept = keepNeurons(scores, 0.25);
    expect(kept).toHaveLength(1536 - 384);
    const threshold = Math.min(...Array.from(kept, (h) => scores[h]!));
    expect(Array.from(scores).filter((s) => s < threshold)).toHaveLength(384);
    const byMagnitude = neuronScores(w2, 512, 1536, { criterion: 'magnitude', w1: model.layers.get('layer1.ffn1')!.effectiveWeights() });
    expect(byMagnitude.every((s) => s > 0)).toBe(true);
  });

  it('refuses mismatched or malformed selections', () => {
    const keep = Int32Array.from({ length: 1000 }, (_, h) => h);
    expect(() => model.withFormats((layer) => (layer === 'layer0.ffn1' ? { rows: keep } : {}))).toThrow(/layer0.ffn2: columns: the 1000 neurons layer0.ffn1 keeps, received number 1536/);
    expect(() => model.withFormats((layer) => (layer === 'layer0.qkv' ? { rows: keep } : {}))).toThrow(/only layer0.ffn1, layer0.ffn2, layer1.ffn1, layer1.ffn2 \(an FFN's hidden neurons; heads for attention\)/);
    expect(() => model.withFormats((layer) => (layer === 'layer0.ffn1' ? { rows: Int32Array.of(5, 2) } : {}))).toThrow(/rows\[1\]: ascending indices in \[0, 1536\)/);
    expect(() => keepNeurons(new Float64Array(4), 1)).toThrow(/fraction: a number in \[0, 1\)/);
    expect(() => neuronScores(new Float32Array(8), 2, 4)).toThrow(/the second layer's calibration \(2×4\)/);
  });
});

describe('structured pruning of attention heads', () => {
  let model: UseLite;
  const texts = ['The jury said it did find that the election was conducted.', 'Stocks fell sharply on Monday.'];
  beforeAll(() => {
    model = loadUseLite();
  });

  it('removing heads equals zeroing their columns of the out layer, and shrinks qkv and out', () => {
    expect(model.attention).toEqual([{ heads: 4, depth: 64 }, { heads: 4, depth: 128 }]);
    const heads = Int32Array.of(0, 2, 3);
    const smaller = model.withFormats((layer) => (layer === 'layer1.qkv' || layer === 'layer1.out' ? { heads } : {}));
    expect([smaller.layers.get('layer1.qkv')!.n, smaller.layers.get('layer1.out')!.k]).toEqual([3 * 384, 384]);
    expect(smaller.attention[1]).toEqual({ heads: 3, depth: 128 });
    const zeroed = model.withFormats((layer, w, n, k) => (layer === 'layer1.out' ? { weights: w.map((v, i) => (Math.floor((i % k) / 128) === 1 ? 0 : v)) } : {}));
    expectSameFloats(smaller.embed(texts), zeroed.embed(texts), {});
  });

  it('head scores are the output energy of each head on the calibration', () => {
    const calibration = calibrate(model, calibrationSentences({ count: 8 }));
    const out = model.layers.get('layer0.out')!, w = out.effectiveWeights();
    const seen: Float32Array[] = [];
    model.forwardWith(calibrationSentences({ count: 8 }), (name, layer, x, rows) => {
      if (name === 'layer0.out') seen.push(x.slice(0, rows * 256));
      return layer.forward(x, rows);
    });
    const scores = headScores(w, 512, 256, 64, { calibration: calibration.layer('layer0.out') });
    // ‖X_h·W[:, h]ᵀ‖_F directly, for head 2.
    let energy = 0;
    for (const x of seen) {
      for (let r = 0; r < x.length / 256; r++) {
        for (let i = 0; i < 512; i++) {
          let y = 0;
          for (let c = 128; c < 192; c++) y += x[r * 256 + c]! * w[i * 256 + c]!;
          energy += y * y;
        }
      }
    }
    expect(scores[2]! / Math.sqrt(energy)).toBeCloseTo(1, 4);
    expect(headScores(w, 512, 256, 64, { criterion: 'magnitude' }).every((v) => v > 0)).toBe(true);
    expect(() => headScores(w, 512, 256, 60)).toThrow(/depth: a divisor of k \(256\)/);
  });

  it('refuses heads that differ between qkv and out, or on other layers', () => {
    expect(() => model.withFormats((layer) => (layer === 'layer0.qkv' ? { heads: Int32Array.of(0, 1) } : {}))).toThrow(/layer0.out: heads: the heads layer0.qkv keeps \(0,1\), received string "all"/);
    expect(() => model.withFormats((layer) => (layer === 'tanh' ? { heads: Int32Array.of(0) } : {}))).toThrow(/tanh: heads: only layer0\/1.qkv and .out/);
    expect(() => model.withFormats((layer) => (layer.startsWith('layer0.') && layer !== 'layer0.residual' ? { heads: Int32Array.of(4) } : {}))).toThrow(/heads\[0\]: ascending head indices in \[0, 4\)/);
  });
});

describe('refitColumns', () => {
  // Inputs whose channel 3 is a combination of channels 0 and 1: dropping it loses nothing a refit cannot recover.
  const rows = 200, k = 6, n = 4;
  const x = randomFloats(rows * k, 11);
  for (let r = 0; r < rows; r++) x[r * k + 3] = 0.5 * x[r * k]! - 2 * x[r * k + 1]!;
  const gram = new Float64Array(k * k), sumSquares = new Float64Array(k);
  for (let r = 0; r < rows; r++) for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) gram[a * k + b] = gram[a * k + b]! + x[r * k + a]! * x[r * k + b]!;
  for (let a = 0; a < k; a++) sumSquares[a] = gram[a * k + a]!;
  const calibration = { name: 't', n, k, rows, sumSquares, gram, activations: emptyStats() };
  const w = randomFloats(n * k, 12);
  const keep = Int32Array.of(0, 1, 2, 4, 5);
  const outputError = (wk: Float32Array) => {
    let e = 0;
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < n; i++) {
        let full = 0, kept = 0;
        for (let j = 0; j < k; j++) full += x[r * k + j]! * w[i * k + j]!;
        keep.forEach((j, c) => (kept += x[r * k + j]! * wk[i * keep.length + c]!));
        e += (full - kept) ** 2;
      }
    }
    return e;
  };

  it('recovers a dropped column that the kept ones span, and never does worse than dropping it', () => {
    const refit = refitColumns(w, n, k, keep, calibration, 1e-9);
    const dropped = Float32Array.from({ length: n * keep.length }, (_, i) => w[Math.floor(i / keep.length) * k + keep[i % keep.length]!]!);
    expect(outputError(refit)).toBeLessThan(1e-6 * outputError(dropped));
    expect(refitColumns(w, n, k, Int32Array.from({ length: k }, (_, j) => j), { ...calibration, gram: gram.map((v, i) => v + (i % (k + 1) === 0 ? 1 : 0)) }, 1e-9).every((v, i) => Math.abs(v - w[i]!) < 1e-4)).toBe(true);
    expect(() => refitColumns(w, n, k, keep, { ...calibration, gram: null })).toThrow(/with its Gram matrix/);
  });
});
