/**
 * A small trainer: seeded mini-batches over `samples` indices, an optimizer, a learning-rate
 * schedule, a progress callback, and early stopping on a validation loss (the best parameters are
 * put back at the end). The model is whatever `step` computes: it gets a batch of indices and
 * returns the loss and the gradients of `params`, in order.
 */
import { seededRandom, shuffled } from '../eval/random';
import { fail, int } from '../validate';
import { adam, learningRate, sgd, type Optimizer, type Schedule } from './optim';

export interface TrainOptions {
  /** The arrays the optimizer updates in place. */
  params: Float32Array[];
  /** Training samples, indexed 0…samples − 1. */
  samples: number;
  /** Loss and ∂loss/∂params (same order and lengths) on a batch of sample indices. */
  step: (batch: Int32Array) => { loss: number; grads: Float32Array[] };
  batchSize?: number;
  epochs?: number;
  optimizer?: 'adam' | 'sgd' | Optimizer;
  lr?: number;
  schedule?: Schedule;
  /** Warm-up steps (linear). */
  warmup?: number;
  seed?: number;
  /** Validation loss after each epoch; with it the best epoch's parameters are kept. */
  validate?: () => number;
  /** Epochs without a better validation loss before stopping (default 3). */
  patience?: number;
  /** Runs after every update (re-applies a pruning mask, say). */
  afterStep?: () => void;
  onProgress?: (epoch: number, done: number, total: number, loss: number) => void;
}

export interface TrainResult {
  /** Mean training loss of each epoch. */
  trainLoss: number[];
  /** Validation loss after each epoch (empty without `validate`). */
  validationLoss: number[];
  /** The epoch whose parameters were kept (the last, without validation). */
  bestEpoch: number;
  steps: number;
}

export function train(o: TrainOptions): TrainResult {
  const fn = 'train';
  int(fn, 'samples', o.samples, 1);
  const batchSize = int(fn, 'batchSize', o.batchSize ?? 64, 1);
  const epochs = int(fn, 'epochs', o.epochs ?? 10, 1);
  const patience = int(fn, 'patience', o.patience ?? 3, 1);
  const lr = o.lr ?? 1e-3;
  if (!(lr > 0)) fail('range', fn, 'lr', 'a number > 0', lr);
  const optimizer = typeof o.optimizer === 'object' ? o.optimizer : o.optimizer === 'sgd' ? sgd() : adam();
  const random = seededRandom(o.seed ?? 1);
  const perEpoch = Math.ceil(o.samples / batchSize), total = perEpoch * epochs;
  const result: TrainResult = { trainLoss: [], validationLoss: [], bestEpoch: epochs - 1, steps: 0 };
  let best = Infinity, bestParams: Float32Array[] | null = null, stale = 0;
  const indices = Array.from({ length: o.samples }, (_, i) => i);
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = shuffled(indices, random);
    let sum = 0;
    for (let b = 0; b < perEpoch; b++) {
      const batch = Int32Array.from(order.slice(b * batchSize, (b + 1) * batchSize));
      const { loss, grads } = o.step(batch);
      if (!Number.isFinite(loss)) fail('range', fn, 'loss', 'a finite loss (lower lr?)', `${loss} at epoch ${epoch}, step ${b}`);
      optimizer.step(o.params, grads, learningRate(o.schedule ?? 'cosine', lr, result.steps, total, o.warmup ?? 0));
      o.afterStep?.();
      result.steps++;
      sum += loss;
      o.onProgress?.(epoch, b + 1, perEpoch, loss);
    }
    result.trainLoss.push(sum / perEpoch);
    if (o.validate) {
      const v = o.validate();
      result.validationLoss.push(v);
      if (v < best) {
        best = v;
        bestParams = o.params.map((p) => p.slice());
        result.bestEpoch = epoch;
        stale = 0;
      } else if (++stale >= patience) {
        break;
      }
    }
  }
  if (bestParams) o.params.forEach((p, i) => p.set(bestParams![i]!));
  return result;
}
