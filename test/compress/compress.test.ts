/**
 * compress(model, recipe): steps in order, each calibrating on the model the earlier steps left;
 * the pruning pattern survives quantization; structured steps shrink the FFNs; recipes that make
 * no sense are refused by name.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { checkRecipe, compress } from '../../lib/compress/compress';
import { calibrationSentences } from '../../lib/eval/evaluate';
import type { LinearInt8 } from '../../lib/gemm';
import { LowRankLinear } from '../../lib/nn/lowrank';
import { loadUseLite, type UseLite, type UseLiteLayer } from '../../lib/models/use-lite/model';

describe('compress', () => {
  let model: UseLite;
  let texts: string[];
  beforeAll(() => {
    model = loadUseLite();
    texts = calibrationSentences({ count: 16 });
  });

  it('Wanda 2:4 then GPTQ q4_0: ggml blocks that keep at most 2 of every 4 weights', () => {
    const { model: small, report } = compress(model, { steps: [{ prune: { criterion: 'wanda', n: 2, m: 4 } }, { quantize: { method: 'gptq', format: 'q4_0' } }] }, texts);
    expect(report.map((r) => r.layer)).toEqual([...model.layers.keys()]);
    for (const r of report) {
      expect(r.format, r.layer).toBe('q4_0');
      expect(r.methods, r.layer).toEqual(['wanda 2:4', 'gptq q4_0']);
      expect(r.bits).toBeCloseTo(4.5, 5);
      expect(r.reconstructionError).toBeGreaterThan(0);
      expect(r.reconstructionError).toBeLessThan(1);
      const w = small.layers.get(r.layer as UseLiteLayer)!.effectiveWeights();
      for (let g = 0; g < w.length; g += 4) expect(w.subarray(g, g + 4).filter((v) => v !== 0).length).toBeLessThanOrEqual(2);
    }
    expect(small.byteLength).toBe(2798592);
    small.dispose();
  });

  it('FFN neurons −25% then int8: smaller dense FFN layers, the rest int8 at full size', () => {
    const { model: small, report } = compress(model, { steps: [{ neurons: { fraction: 0.25 } }, { quantize: { format: 'int8' } }] }, texts);
    const shape = Object.fromEntries(report.map((r) => [r.layer, `${r.n}×${r.k} ${r.format}`]));
    expect(shape['layer0.ffn1']).toBe('1152×512 int8');
    expect(shape['layer1.ffn2']).toBe('512×1152 int8');
    expect(shape['layer0.qkv']).toBe('768×256 int8');
    expect(small.embed(['A short test.'])).toHaveLength(512);
    small.dispose();
  });

  it('heads −25% with a refit, then q8_0: one head fewer per block, the report at the smaller shapes', () => {
    const { model: small, report } = compress(model, { steps: [{ heads: { fraction: 0.25, refit: true } }, { quantize: { format: 'q8_0' } }] }, texts);
    const shape = Object.fromEntries(report.map((r) => [r.layer, `${r.n}×${r.k}`]));
    expect([shape['layer0.qkv'], shape['layer0.out'], shape['layer1.qkv'], shape['layer1.out']]).toEqual(['576×256', '512×192', '1152×512', '512×384']);
    expect(report.find((r) => r.layer === 'layer1.out')!.methods).toEqual(['heads −25% (activation, refit)', 'rtn q8_0']);
    expect(small.attention.map((a) => a.heads)).toEqual([3, 3]);
    const probe = calibrationSentences({ count: 8, seed: 3 });
    const f = model.embed(probe), y = small.embed(probe);
    for (let i = 0; i < probe.length; i++) expect(y.subarray(i * 512, (i + 1) * 512).reduce((sum, v, j) => sum + v * f[i * 512 + j]!, 0)).toBeGreaterThan(0.5);
    small.dispose();
  });

  it('magnitude with one global threshold: half of all weights go, unevenly across layers', () => {
    const { model: sparse, report } = compress(model, { steps: [{ prune: { criterion: 'magnitude', sparsity: 0.5, scope: 'global' } }] }, texts);
    const total = report.reduce((sum, r) => sum + r.n * r.k, 0);
    const zeros = report.reduce((sum, r) => sum + r.sparsity * r.n * r.k, 0);
    expect(zeros / total).toBeGreaterThanOrEqual(0.5);
    expect(zeros / total).toBeLessThan(0.5001);
    const spread = report.map((r) => r.sparsity);
    expect(Math.max(...spread) - Math.min(...spread)).toBeGreaterThan(0.1);
    expect(report[0]!.methods).toEqual(['magnitude 50% (global threshold)']);
    sparse.dispose();
    expect(() => compress(model, { steps: [{ prune: { criterion: 'wanda', sparsity: 0.5, scope: 'global' } }] }, texts)).toThrow(/prune.scope: 'global' only with criterion magnitude/);
  });

  it('int8 with static activation ranges: each layer codes with its calibrated range, close to dynamic int8', () => {
    const { model: fixed, report } = compress(model, { steps: [{ quantize: { format: 'int8', activations: 'mse' } }] }, texts);
    const dynamic = model.withFormats({ format: 'int8' });
    for (const r of report) expect(r.methods, r.layer).toEqual(['rtn int8, static mse activations']);
    for (const layer of fixed.layers.values()) {
      const range = (layer as unknown as { weight: LinearInt8 }).weight.activations;
      expect(range?.scale).toBeGreaterThan(0);
    }
    const probe = calibrationSentences({ count: 24, seed: 9 });
    const f = model.embed(probe), a = fixed.embed(probe), b = dynamic.embed(probe);
    const cosine = (y: Float32Array, i: number) => y.subarray(i * 512, (i + 1) * 512).reduce((sum, v, j) => sum + v * f[i * 512 + j]!, 0);
    for (let i = 0; i < probe.length; i++) expect(cosine(a, i), probe[i]).toBeGreaterThan(0.99);
    expect(a).not.toEqual(b);
    fixed.dispose();
    dynamic.dispose();
  });

  it('low rank (whitened) then GPTQ q8_0: two q8_0 layers per chosen layer, within their byte count', () => {
    const layers = ['layer0.ffn1', 'layer1.ffn2'];
    const { model: small, report } = compress(model, { steps: [{ lowRank: { rank: 64, layers } }, { quantize: { method: 'gptq', format: 'q8_0', layers } }] }, texts);
    for (const r of report) {
      if (!layers.includes(r.layer)) {
        expect(r.format, r.layer).toBe('f32');
        continue;
      }
      const layer = small.layers.get(r.layer as UseLiteLayer) as LowRankLinear;
      expect(layer).toBeInstanceOf(LowRankLinear);
      expect([layer.rank, layer.first.format, layer.second.format]).toEqual([64, 'q8_0', 'q8_0']);
      expect(r.methods).toEqual(['low-rank whiten r=64 (energy ' + r.methods[0]!.split('(energy ')[1], 'gptq q8_0']);
      // (n + k)·64 weights in q8_0 blocks (34 bytes per 32) and the bias.
      expect(r.bytes).toBe(((r.n + r.k) * 64 * 34) / 32 + 4 * r.n);
      expect(r.reconstructionError).toBeGreaterThan(0.05);
      expect(r.reconstructionError).toBeLessThan(0.6);
    }
    small.dispose();
  });

  it('low rank by a byte budget: ranks allocated across layers, multiples of 32, within the budget', () => {
    const layers = ['layer0.qkv', 'layer0.out', 'layer1.ffn1'];
    const budget = 0.25 * 4 * (768 * 256 + 512 * 256 + 1536 * 512);
    const { model: small, report } = compress(model, { steps: [{ lowRank: { method: 'svd', budget, layers } }] }, texts);
    const chosen = report.filter((r) => layers.includes(r.layer));
    const weights = chosen.reduce((sum, r) => sum + (small.layers.get(r.layer as UseLiteLayer) as LowRankLinear).weightBytes / 4, 0);
    expect(weights).toBeLessThanOrEqual(0.25 * chosen.reduce((sum, r) => sum + r.n * r.k, 0));
    for (const r of chosen) expect((small.layers.get(r.layer as UseLiteLayer) as LowRankLinear).rank % 32).toBe(0);
    small.dispose();
  });

  it('refuses recipes that make no sense, naming the step', () => {
    expect(() => compress(model, { steps: [{ prune: { sparsity: 0.5 } }, { lowRank: { rank: 32 } }] }, texts)).toThrow(/layer0.qkv: lowRank: a dense f32 layer \(low rank before any prune, quantize or lowRank step\)/);
    expect(() => compress(model, { steps: [{ lowRank: { rank: 32, layers: ['tanh'] } }, { prune: { sparsity: 0.5 } }] }, texts)).toThrow(/recipe.steps\[1\]: only quantize, distill or lowRank steps after a lowRank step/);
    expect(() => compress(model, { steps: [{ lowRank: { rank: 30, layers: ['tanh'] } }, { quantize: { format: 'q4_0' } }] }, texts)).toThrow(/tanh: quantize.format: a form whose block divides the rank 30/);
    expect(() => compress(model, { steps: [{ lowRank: { rank: 32, energy: 0.9 } }] }, texts)).toThrow(/lowRank: exactly one of rank, energy, error, fraction, budget/);
    expect(() => compress(model, { steps: [{ lowRank: { budget: 1e9, layers: ['tanh'] } }] }, texts)).toThrow(/lowRank.budget: bytes in \(0, 1048576\) \(the selected layers at 4 bytes a weight\)/);
    expect(() => compress(model, { steps: [{ quantize: { method: 'gptq', format: 'q4_0', activations: 'mse' } }] }, texts)).toThrow(/quantize.activations: only with method 'rtn' and format 'int8'/);
    expect(() => checkRecipe({ steps: [] })).toThrow(/recipe: \{ steps: \[ … \] \} with at least one step/);
    expect(() => checkRecipe({ steps: [{ shrink: {} }] })).toThrow(/recipe.steps\[0\]: one of \{ prune: … \}/);
    expect(() => compress(model, { steps: [{ prune: { sparsity: 0.5 } }, { quantize: { format: 'q4_0' } }] }, texts)).toThrow(/quantize.format: 'int8' for a pruned layer/);
    expect(() => compress(model, { steps: [{ quantize: { method: 'gptq', format: 'csr' } }] }, texts)).toThrow(/quantize.format: one of q8_0, q4_0, q4_1, int8-block, nf4, int8 for gptq/);
    expect(() => compress(model, { steps: [{ quantize: { method: 'weighted', format: 'nf4' } }] }, texts)).toThrow(/'q8_0', 'q4_0' or 'q4_1' for weighted/);
    expect(() => compress(model, { steps: [{ prune: { sparsity: 1.5 } }] }, texts)).toThrow(/sparsity: a number in \[0, 1\)/);
  });
});
