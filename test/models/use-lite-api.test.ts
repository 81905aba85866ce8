/**
 * USE-lite's API beyond embed: withFormats (one form, or a choice per layer from the f32 weights),
 * embedAsync (equal to embed), the per-step profile, and dispose.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readBrown } from '../../lib/data/brown';
import { emptyProfile, loadUseLite, USE_LITE_LAYERS, type UseLite } from '../../lib/models/use-lite/model';
import { magnitudeThreshold } from '../../lib/nn/prune';
import { expectSameFloats } from '../helpers';

describe('USE-lite variants', () => {
  let model: UseLite;
  let texts: string[];
  beforeAll(() => {
    model = loadUseLite();
    texts = readBrown().slice(0, 12).map((d) => d.sentences[2]!);
  });

  it('withFormats builds every layer again from the f32 weights, in one form or per layer', () => {
    const int8 = model.withFormats({ format: 'int8' });
    expect(new Set([...int8.layers.values()].map((l) => l.format))).toEqual(new Set(['int8']));
    // Per layer: the function sees each layer's name and f32 weights [n×k].
    const seen: string[] = [];
    const mixed = model.withFormats((name, w, n, k) => {
      seen.push(name);
      expect(w).toHaveLength(n * k);
      expectSameFloats(w, model.layers.get(name)!.effectiveWeights(), { name });
      return name.endsWith('ffn1') ? { format: 'q4_0' } : {};
    });
    expect(seen).toEqual([...USE_LITE_LAYERS]);
    expect(mixed.layers.get('layer0.ffn1')!.format).toBe('q4_0');
    expect(mixed.layers.get('layer0.qkv')!.format).toBe('f32');
    // A variant of a variant starts from the file's weights again, not from the int8 ones.
    expectSameFloats(int8.withFormats({}).embed(texts), model.embed(texts), {});
    int8.dispose();
    mixed.dispose();
  });

  it('magnitude-pruned CSR layers keep 1 − sparsity of the weights', () => {
    const pruned = model.withFormats((_, w) => ({ format: 'csr', threshold: magnitudeThreshold(w, 0.7) }));
    for (const [name, layer] of pruned.layers) {
      const kept = layer.effectiveWeights().filter((v) => v !== 0).length / (layer.n * layer.k);
      expect(kept, name).toBeGreaterThan(0.29);
      expect(kept, name).toBeLessThanOrEqual(0.3);
    }
    pruned.dispose();
  });

  it('embedAsync equals embed; the profile counts every step', async () => {
    const q8 = model.withFormats({ format: 'q8_0' });
    const profile = emptyProfile();
    const sync = q8.embed(texts, { profile });
    expectSameFloats(await q8.embedAsync(texts), sync, {});
    for (const [step, ms] of Object.entries(profile)) expect(ms, step).toBeGreaterThan(0);
    expect(q8.embed([])).toHaveLength(0);
    expect([...q8.embed(['']).subarray(0, 4)]).toEqual([0, 0, 0, 0].map(() => expect.any(Number)));
    q8.dispose();
  });
});

describe('magnitudeThreshold', () => {
  it('is the ⌈s·length⌉-th smallest magnitude; 0 for sparsity 0; bad input refused', () => {
    const w = Float32Array.of(0.5, -3, 2, -0.1, 1, 4, -2.5, 0.2, 3.5, -1.5);
    expect(magnitudeThreshold(w, 0.5)).toBe(Math.fround(1.5));
    expect(magnitudeThreshold(w, 0.25)).toBe(Math.fround(0.5)); // ⌈2.5⌉ = 3 dropped: 0.1, 0.2, 0.5
    expect(magnitudeThreshold(w, 0)).toBe(0);
    expect(() => magnitudeThreshold(w, 1)).toThrow(RangeError);
    expect(() => magnitudeThreshold(Float32Array.of(1, NaN), 0.5)).toThrow(/finite values/);
  });
});
