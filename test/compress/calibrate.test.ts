/**
 * Calibration of USE-lite on real sentences: every layer's rows counted, diag(XᵀX) equal to the
 * Gram matrix's diagonal, the Gram matrix symmetric and equal to an f64 sum of the same inputs.
 */
import { describe, expect, it } from 'vitest';
import { calibrate } from '../../lib/compress/calibrate';
import { calibrationSentences } from '../../lib/eval/evaluate';
import { loadUseLite } from '../../lib/models/use-lite/model';

describe('calibrate', () => {
  it('collects every layer of USE-lite from sentences the harness never evaluates on', () => {
    const model = loadUseLite();
    const texts = calibrationSentences({ count: 24 });
    expect(calibrationSentences({ count: 24 })).toEqual(texts);
    const tokens = texts.reduce((sum, t) => sum + Math.min(128, model.tokenizer.encode(t).length), 0);
    // The inputs of one layer, captured directly, for an f64 check.
    const seen: Float32Array[] = [];
    model.forwardWith(texts.slice(0, 10), (name, layer, x, rows) => {
      if (name === 'layer1.out') seen.push(x.slice(0, rows * layer.k));
      return layer.forward(x, rows);
    });
    const c = calibrate(model, texts, { batchSize: 10, gramMaxK: 1024 });
    expect([...c.layers.keys()]).toEqual([...model.layers.keys()]);
    for (const l of c.layers.values()) {
      expect(l.rows, l.name).toBe(l.name === 'tanh' ? 24 : tokens);
      expect(l.gram === null, l.name).toBe(l.k > 1024);
      if (!l.gram) continue;
      for (let j = 0; j < l.k; j += 37) expect(l.gram[j * l.k + j], l.name).toBeCloseTo(l.sumSquares[j]!, 1);
      for (let a = 0; a < l.k; a += 41) for (let b = 0; b < a; b += 29) expect(l.gram[a * l.k + b]).toBe(l.gram[b * l.k + a]);
    }
    // The first batch alone gives the f64 sums of the inputs seen.
    const first = calibrate(model, texts.slice(0, 10), { batchSize: 10 }).layer('layer1.out');
    const x = seen[0]!, k = 512, rows = x.length / k;
    for (const [a, b] of [[0, 0], [5, 300], [511, 17]] as const) {
      let sum = 0;
      for (let r = 0; r < rows; r++) sum += x[r * k + a]! * x[r * k + b]!;
      expect(first.gram![a * k + b]).toBeCloseTo(sum, 2);
    }
    expect(() => calibrate(model, [])).toThrow(/expected inputs: a non-empty array/);
    expect(() => c.check('test', new Map([['tanh', { n: 3, k: 512 } as never]]))).toThrow(/layer tanh of 3×512 \(a calibration of this model\)/);
  });
});
