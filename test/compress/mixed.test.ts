/**
 * Mixed precision: the allocation is the exact optimum of its model (checked against every
 * combination on small cases) and never exceeds the budget; sensitivity on USE-lite ranks 4-bit
 * forms as more damaging than 8-bit ones; a mixed recipe at q4_0's size stays within it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { compress } from '../../lib/compress/compress';
import { allocateFormats, layerSensitivity, type LayerSensitivity } from '../../lib/compress/mixed';
import { calibrationSentences } from '../../lib/eval/evaluate';
import { loadUseLite, type UseLite } from '../../lib/models/use-lite/model';

function candidates(seed: number, layers: number, options: number): LayerSensitivity[] {
  let x = seed;
  const next = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
  const out: LayerSensitivity[] = [];
  for (let l = 0; l < layers; l++) {
    for (let o = 0; o < options; o++) out.push({ layer: `l${l}`, label: `f${o}`, choice: { format: 'q4_0' }, bytes: 1000 + Math.floor(next() * 40000), drop: next() * 0.01 });
  }
  return out;
}

describe('allocateFormats', () => {
  it('finds the least total drop within the budget, as checking every combination does', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const sens = candidates(seed, 4, 3);
      const budget = 60000 + seed * 7000;
      const a = allocateFormats(sens, budget);
      expect(a.bytes).toBeLessThanOrEqual(budget);
      let best = Infinity;
      for (let c = 0; c < 81; c++) {
        const pick = [0, 1, 2, 3].map((l) => sens[l * 3 + (Math.floor(c / 3 ** l) % 3)]!);
        // The allocation rounds each candidate up to 256 bytes; compare within that model.
        if (pick.reduce((s, p) => s + Math.ceil(p.bytes / 256) * 256, 0) <= budget) best = Math.min(best, pick.reduce((s, p) => s + p.drop, 0));
      }
      expect(a.predictedDrop).toBeCloseTo(best, 12);
      expect([...a.choices.keys()]).toEqual(['l0', 'l1', 'l2', 'l3']);
    }
  });

  it('refuses a budget below the smallest choice, naming the least', () => {
    const sens = candidates(9, 2, 2);
    const least = ['l0', 'l1'].reduce((s, l) => s + Math.min(...sens.filter((x) => x.layer === l).map((x) => x.bytes)), 0);
    expect(() => allocateFormats(sens, least - 1)).toThrow(new RegExp(`budget: at least ${least} bytes`));
    expect(() => allocateFormats(sens, -5)).toThrow(/budget: a positive number of bytes/);
    expect(() => allocateFormats([], 100)).toThrow(TypeError);
  });
});

describe('mixed precision on USE-lite', () => {
  let model: UseLite;
  beforeAll(() => {
    model = loadUseLite();
  });

  it('measures 4-bit forms as more damaging than 8-bit ones, every layer', () => {
    const sens = layerSensitivity(model, calibrationSentences({ count: 12 }), { formats: ['q4_0', 'q8_0'], layers: ['layer0.residual', 'tanh'] });
    expect(sens.map((s) => `${s.layer} ${s.label}`)).toEqual(['layer0.residual q4_0', 'layer0.residual q8_0', 'tanh q4_0', 'tanh q8_0']);
    for (const l of ['layer0.residual', 'tanh']) {
      const [q4, q8] = sens.filter((s) => s.layer === l);
      expect(q4!.drop).toBeGreaterThan(q8!.drop);
      expect(q8!.drop).toBeGreaterThan(0);
      expect(q4!.bytes).toBeLessThan(q8!.bytes);
    }
    expect(() => layerSensitivity(model, ['x'], { layers: ['nope'] })).toThrow(/layers: names of the model's layers/);
  });

  it('a mixed recipe at the size of q4_0 stays within it and mixes forms', () => {
    const texts = calibrationSentences({ count: 12 });
    const q4 = model.withFormats({ format: 'q4_0' });
    const { model: mixed, report } = compress(model, { steps: [{ mixed: { budget: 'q4_0', formats: ['q4_0', 'q8_0', { format: 'nf4', blockSize: 256 }] } }] }, texts);
    expect(mixed.byteLength).toBeLessThanOrEqual(q4.byteLength);
    expect(new Set(report.map((r) => r.format)).size).toBeGreaterThan(1);
    for (const r of report) expect(r.methods[0]).toMatch(/^mixed: rtn (q4_0|q8_0|nf4\/256)$/);
    expect(() => compress(model, { steps: [{ prune: { sparsity: 0.5 } }, { mixed: { budget: 'q4_0' } }] }, texts)).toThrow(/mixed precision after a prune step is not supported/);
    mixed.dispose();
    q4.dispose();
  });
});
