/**
 * Structured pruning of FFN neurons: removing a neuron gives exactly the dense model with the second
 * layer's column zeroed (the f32 GEMM sums each output in k order, and adding 0·x changes nothing);
 * scores and the kept set follow their definitions; shapes that do not match are refused.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { calibrate } from '../../lib/compress/calibrate';
import { keepNeurons, neuronScores } from '../../lib/compress/structured';
import { calibrationSentences } from '../../lib/eval/evaluate';
import { loadUseLite, type UseLite } from '../../lib/models/use-lite/model';
import { expectSameFloats } from '../helpers';

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
    expect(() => model.withFormats((layer) => (layer === 'layer0.qkv' ? { rows: keep } : {}))).toThrow(/only layer0.ffn1, layer0.ffn2, layer1.ffn1, layer1.ffn2/);
    expect(() => model.withFormats((layer) => (layer === 'layer0.ffn1' ? { rows: Int32Array.of(5, 2) } : {}))).toThrow(/rows\[1\]: ascending indices in \[0, 1536\)/);
    expect(() => keepNeurons(new Float64Array(4), 1)).toThrow(/fraction: a number in \[0, 1\)/);
    expect(() => neuronScores(new Float32Array(8), 2, 4)).toThrow(/the second layer's calibration \(2×4\)/);
  });
});
