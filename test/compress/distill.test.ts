/**
 * Distillation on USE-lite: layer-wise recovery keeps a pruned layer's zeros and a low-rank layer's
 * rank while lowering its error against the f32 layer; a small student distilled from the model on
 * real sentences agrees with it better than the same student untrained, and embeds to unit rows.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { compress } from '../../lib/compress/compress';
import { Student, trainStudent } from '../../lib/compress/student';
import { calibrationSentences } from '../../lib/eval/evaluate';
import { loadUseLite, type UseLite, type UseLiteLayer } from '../../lib/models/use-lite/model';
import { LowRankLinear } from '../../lib/nn/lowrank';
import { cosineLoss } from '../../lib/train/losses';

describe('distillation', () => {
  let model: UseLite;
  let texts: string[];
  beforeAll(() => {
    model = loadUseLite();
    texts = calibrationSentences({ count: 24 });
  });

  it('recovers a pruned layer layer-wise: the same zeros, a lower error against the f32 layer', () => {
    const layers = ['layer1.ffn1', 'layer1.ffn2'];
    const prune = { prune: { criterion: 'magnitude' as const, sparsity: 0.7, layers } };
    const plain = compress(model, { steps: [prune] }, texts);
    const recovered = compress(model, { steps: [prune, { distill: { epochs: 8 } }] }, texts);
    for (const name of layers) {
      const a = plain.report.find((r) => r.layer === name)!, b = recovered.report.find((r) => r.layer === name)!;
      expect(b.methods[1]).toMatch(/^distilled \(layer-wise, output error \d\.\d+ → \d\.\d+\)$/);
      expect(b.reconstructionError, name).toBeLessThan(a.reconstructionError);
      // The zeros are where pruning put them.
      const wa = plain.model.layers.get(name as UseLiteLayer)!.effectiveWeights(), wb = recovered.model.layers.get(name as UseLiteLayer)!.effectiveWeights();
      wa.forEach((v, i) => v === 0 && expect(wb[i]).toBe(0));
      expect(b.sparsity).toBeGreaterThanOrEqual(a.sparsity);
    }
    plain.model.dispose();
    recovered.model.dispose();
  });

  it('recovers a low-rank layer at its rank (plain SVD: whitening is already optimal for its own inputs)', () => {
    const steps = [{ lowRank: { method: 'svd' as const, rank: 32, layers: ['layer0.ffn2'] } }, { distill: { epochs: 6 } }];
    const { model: small, report } = compress(model, { steps }, texts);
    const layer = small.layers.get('layer0.ffn2') as LowRankLinear;
    expect(layer.rank).toBe(32);
    const [, distilled] = report.find((r) => r.layer === 'layer0.ffn2')!.methods;
    const [before, after] = distilled!.match(/\d\.\d+/g)!.map(Number);
    expect(after!).toBeLessThan(before!);
    small.dispose();
  });

  it('refuses what it cannot keep', () => {
    expect(() => compress(model, { steps: [{ distill: {} }] }, texts)).toThrow(/distill: pruned or low-rank layers to recover/);
    expect(() => compress(model, { steps: [{ prune: { sparsity: 0.5, layers: ['tanh'] } }, { quantize: { format: 'int8', layers: ['tanh'] } }, { distill: {} }] }, texts)).toThrow(/quantize and cluster steps last/);
  });

  it('a student distilled on real sentences agrees with its teacher better than untrained', () => {
    const pool = calibrationSentences({ count: 420, seed: 9 });
    const embed = (t: string[]) => model.embed(t);
    const trainTexts = pool.slice(0, 360), held = pool.slice(360);
    const { table, vocabulary, d } = model.tokenEmbeddings();
    const student = new Student(model.tokenizer, table, vocabulary, d, 64, 512);
    const heldLoss = () => cosineLoss(student.embed(held), embed(held), held.length, 512).loss;
    const before = heldLoss();
    trainStudent(student, { texts: trainTexts, teacher: embed(trainTexts) }, { loss: 'cosine', epochs: 4, batchSize: 32, lr: 3e-3 });
    const after = heldLoss();
    expect(after).toBeLessThan(before * 0.8);
    const rows = student.embed(held.slice(0, 3));
    for (let i = 0; i < 3; i++) expect(Math.hypot(...rows.subarray(i * 512, (i + 1) * 512))).toBeCloseTo(1, 5);
    expect(student.byteLength).toBe(4 * (vocabulary * d + 64 * d + 64 + 512 * 64 + 512));
    expect(() => trainStudent(student, { texts: trainTexts, teacher: null }, { loss: 'cosine' })).toThrow(/trainStudent: expected data.teacher: the teacher's embeddings for the cosine loss/);
  });
});
