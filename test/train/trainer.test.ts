/**
 * The trainer on a toy distillation: a linear student learns a fixed teacher's soft labels on seeded
 * data and does provably better on held-out data than before training; runs are deterministic for a
 * seed; early stopping keeps the best epoch; both optimizers and schedules work.
 */
import { describe, expect, it } from 'vitest';
import { linearBackward } from '../../lib/train/backward';
import { distillationLoss } from '../../lib/train/losses';
import { adam, learningRate, sgd } from '../../lib/train/optim';
import { train } from '../../lib/train/trainer';
import { gemmF32 } from '../../lib/dense';
import { expectThrows, randomFloats } from '../helpers';

const [d, classes, samples, held] = [12, 4, 400, 200];
const x = randomFloats((samples + held) * d, 1);
const teacherW = randomFloats(classes * d, 2, 2);
const logits = (w: Float32Array, from: number, rows: number) => gemmF32(x.subarray(from * d, (from + rows) * d), w, rows, classes, d, { transB: true });
const teacher = logits(teacherW, 0, samples + held);

function student(optimizer: 'adam' | 'sgd', opts: { epochs?: number; validate?: boolean; seed?: number; lr?: number } = {}) {
  const w = new Float32Array(classes * d);
  const heldLoss = () => distillationLoss(logits(w, samples, held), teacher.subarray(samples * classes), null, held, classes, { alpha: 0, temperature: 2 }).loss;
  const before = heldLoss();
  const result = train({
    params: [w],
    samples,
    batchSize: 32,
    epochs: opts.epochs ?? 20,
    optimizer,
    lr: opts.lr ?? (optimizer === 'adam' ? 0.05 : 0.02),
    seed: opts.seed ?? 3,
    validate: opts.validate ? heldLoss : undefined,
    step: (batch) => {
      const xb = new Float32Array(batch.length * d), tb = new Float32Array(batch.length * classes);
      batch.forEach((i, r) => (xb.set(x.subarray(i * d, (i + 1) * d), r * d), tb.set(teacher.subarray(i * classes, (i + 1) * classes), r * classes)));
      const s = gemmF32(xb, w, batch.length, classes, d, { transB: true });
      const { loss, grad } = distillationLoss(s, tb, null, batch.length, classes, { alpha: 0, temperature: 2 });
      return { loss, grads: [linearBackward(xb, w, grad, batch.length, classes, d, { inputGrad: false }).dw] };
    },
  });
  return { w, before, after: heldLoss(), result };
}

describe('train', () => {
  it('a distilled toy student improves its held-out loss, with Adam and with SGD', () => {
    for (const optimizer of ['adam', 'sgd'] as const) {
      const { before, after, result } = student(optimizer);
      expect(after, optimizer).toBeLessThan(before / 5);
      expect(result.trainLoss.at(-1)!).toBeLessThan(result.trainLoss[0]!);
      expect(result.steps).toBe(20 * Math.ceil(samples / 32));
    }
  });

  it('is deterministic for a seed, and early stopping keeps the best epoch', () => {
    expect(student('adam', { epochs: 3 }).w).toEqual(student('adam', { epochs: 3 }).w);
    expect(student('adam', { epochs: 3, seed: 4 }).w).not.toEqual(student('adam', { epochs: 3 }).w);
    // A learning rate far too high oscillates: the kept parameters are the best validated ones.
    const wild = student('sgd', { epochs: 12, validate: true, lr: 3 });
    const best = Math.min(...wild.result.validationLoss);
    expect(wild.result.validationLoss[wild.result.bestEpoch]).toBe(best);
    expect(wild.after).toBeCloseTo(best, 10);
  });

  it('schedules: linear warm-up, then constant or cosine to 0', () => {
    expect(learningRate('constant', 1, 0, 100, 4)).toBe(0.25);
    expect(learningRate('constant', 1, 50, 100, 4)).toBe(1);
    expect(learningRate('cosine', 1, 4, 104, 4)).toBe(1);
    expect(learningRate('cosine', 1, 104, 104, 4)).toBeCloseTo(0, 12);
  });

  it('names what is wrong', () => {
    expectThrows(() => train({ params: [], samples: 0, step: () => ({ loss: 0, grads: [] }) }), RangeError, /train: expected samples/);
    expectThrows(() => train({ params: [new Float32Array(1)], samples: 1, step: () => ({ loss: NaN, grads: [new Float32Array(1)] }) }), RangeError, /train: expected loss: a finite loss \(lower lr\?\), received string "NaN at epoch 0, step 0"/);
    expectThrows(() => adam().step([new Float32Array(2)], [new Float32Array(1)], 0.1), RangeError, /adam: expected grads\[0\]: length 2/);
    expectThrows(() => sgd().step([new Float32Array(2)], [], 0.1), RangeError, /sgd: expected grads: 1 arrays/);
  });
});
