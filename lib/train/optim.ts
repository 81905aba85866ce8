/**
 * Optimizers over f32 parameter arrays (updated in place, their state in f32 alongside) and the
 * learning-rate schedules the trainer uses.
 *
 *   adam   Kingma & Ba: m = β₁m + (1 − β₁)g, v = β₂v + (1 − β₂)g², p −= lr·m̂/(√v̂ + ε), bias-corrected;
 *          weightDecay decoupled (AdamW: p −= lr·λ·p)
 *   sgd    with momentum μ: u = μu + g, p −= lr·u
 */
import { fail } from '../validate';

export interface Optimizer {
  /** One update of every parameter array by its gradient (same order and lengths). */
  step(params: readonly Float32Array[], grads: readonly Float32Array[], lr: number): void;
}

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

function checkPairs(fn: string, params: readonly Float32Array[], grads: readonly Float32Array[]): void {
  if (params.length !== grads.length) fail('range', fn, 'grads', `${params.length} arrays (one per parameter)`, grads.length);
  params.forEach((p, i) => {
    if (grads[i]!.length !== p.length) fail('range', fn, `grads[${i}]`, `length ${p.length}`, grads[i]!.length);
  });
}

export function adam(opts: AdamOptions = {}): Optimizer {
  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0 } = opts;
  let moments: Array<[Float32Array, Float32Array]> | null = null;
  let t = 0;
  return {
    step(params, grads, lr) {
      checkPairs('adam', params, grads);
      moments ??= params.map((p) => [new Float32Array(p.length), new Float32Array(p.length)]);
      t++;
      const c1 = 1 - beta1 ** t, c2 = 1 - beta2 ** t;
      params.forEach((p, i) => {
        const [m, v] = moments![i]!, g = grads[i]!;
        for (let j = 0; j < p.length; j++) {
          m[j] = beta1 * m[j]! + (1 - beta1) * g[j]!;
          v[j] = beta2 * v[j]! + (1 - beta2) * g[j]! * g[j]!;
          p[j] = p[j]! - lr * (m[j]! / c1 / (Math.sqrt(v[j]! / c2) + eps) + weightDecay * p[j]!);
        }
      });
    },
  };
}

export function sgd(opts: { momentum?: number } = {}): Optimizer {
  const { momentum = 0.9 } = opts;
  let velocity: Float32Array[] | null = null;
  return {
    step(params, grads, lr) {
      checkPairs('sgd', params, grads);
      velocity ??= params.map((p) => new Float32Array(p.length));
      params.forEach((p, i) => {
        const u = velocity![i]!, g = grads[i]!;
        for (let j = 0; j < p.length; j++) {
          u[j] = momentum * u[j]! + g[j]!;
          p[j] = p[j]! - lr * u[j]!;
        }
      });
    },
  };
}

export type Schedule = 'constant' | 'cosine';

/** The learning rate at step s of `total`: linear warm-up over `warmup` steps, then constant or cosine to 0. */
export function learningRate(schedule: Schedule, lr: number, s: number, total: number, warmup = 0): number {
  if (s < warmup) return (lr * (s + 1)) / warmup;
  if (schedule === 'constant') return lr;
  const progress = Math.min(1, (s - warmup) / Math.max(1, total - warmup));
  return 0.5 * lr * (1 + Math.cos(Math.PI * progress));
}
