/**
 * Recovery by distillation, layer by layer: each compressed layer (pruned, or low-rank) is trained
 * so that, on its own real inputs in the compressed model, it reproduces what the f32 teacher's
 * layer outputs on the teacher's inputs. The compressed form is kept: a pruned layer's zeros stay
 * zero (masked gradients, re-applied after every step), a low-rank layer keeps its rank (its two
 * factors are what is trained). Layers go in the order a sentence meets them, each on inputs from
 * the model with the layers before it already recovered.
 *
 *   loss   ‖Y − Yₜ‖² / ‖Yₜ‖² over a batch of rows (Y = X·Wᵀ + b on the student's inputs X,
 *          Yₜ the teacher layer's output on its own inputs), Adam, cosine schedule, early stop on
 *          10% of the rows held out
 *
 * The recipe step is `{ distill: { epochs?, lr?, batchSize?, layers? } }`; a quantize step may follow.
 */
import { gemmF32 } from '../dense';
import type { UseLite, UseLiteLayer } from '../models/use-lite/model';
import { linearBackward } from '../train/backward';
import { train } from '../train/trainer';
import { fail } from '../validate';
import { selectRows, type Working } from './working';

export interface DistillStep {
  /** Passes over the layer's calibration rows (default 20). */
  epochs?: number;
  /** Adam's step size relative to the layer's weight RMS (default 0.01). */
  lr?: number;
  /** Rows per step (default 256). */
  batchSize?: number;
  layers?: string[];
}

export interface RecoveryReport {
  layer: string;
  /** ‖Y − Yₜ‖/‖Yₜ‖ on the held-out rows before and after. */
  before: number;
  after: number;
  epochs: number;
}

/** Every layer's output on its own inputs, for the given texts. */
function outputsOf(model: UseLite, texts: readonly string[], wanted: Set<string>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  model.forwardWith(texts, (name, layer, x, rows) => {
    const y = layer.forward(x, rows);
    if (wanted.has(name)) out.set(name, y.slice());
    return y;
  });
  return out;
}

/** One layer's inputs in `model` for the given texts. */
function inputsOf(model: UseLite, texts: readonly string[], wanted: string): { x: Float32Array; rows: number } {
  let found: { x: Float32Array; rows: number } | null = null;
  model.forwardWith(texts, (name, layer, x, rows) => {
    if (name === wanted) found = { x: x.slice(), rows };
    return layer.forward(x, rows);
  });
  return found!;
}

function rms(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s / Math.max(1, v.length));
}

/**
 * Trains each selected pruned or low-rank layer of `working` toward `teacher`'s outputs on `texts`.
 * `student(working)` builds the f32 model of the working weights (the compress loop's rebuild).
 */
export function recoverLayers(
  teacher: UseLite,
  student: () => UseLite,
  working: Map<string, Working>,
  texts: readonly string[],
  step: DistillStep,
  progress?: (what: string, done: number, total: number) => void,
): RecoveryReport[] {
  const names = [...working.keys()].filter((name) => (!step.layers || step.layers.includes(name)) && (working.get(name)!.pruned || working.get(name)!.lowRank));
  for (const name of names) {
    const l = working.get(name)!;
    if (l.choice || l.lowRank?.factors) fail('range', 'compress', `${name}: distill`, 'a layer not yet quantized (distill before quantize)', l.methods.join(' → '));
    if (l.rows || l.columns || l.heads) fail('range', 'compress', `${name}: distill`, 'a layer at its original shape (not with neurons or heads removed)', l.methods.join(' → '));
  }
  if (names.length === 0) fail('range', 'compress', 'distill', 'pruned or low-rank layers to recover (a prune or lowRank step before it)', 'none');
  const targets = outputsOf(teacher, texts, new Set(names));
  const reports: RecoveryReport[] = [];
  for (const name of names) {
    const l = working.get(name)!;
    const model = student();
    const bias = model.layers.get(name as UseLiteLayer)!.bias ?? new Float32Array(l.n);
    const { x, rows } = inputsOf(model, texts, name);
    model.dispose();
    const target = targets.get(name)!;
    // Every tenth row (by a fixed stride) is held out for early stopping and the report.
    const held = Int32Array.from({ length: rows }, (_, i) => i).filter((i) => i % 10 === 7);
    const trainRows = Int32Array.from({ length: rows }, (_, i) => i).filter((i) => i % 10 !== 7);
    const mask = l.pruned ? Uint8Array.from(l.w, (v) => (v !== 0 ? 1 : 0)) : null;
    const params = l.lowRank ? [l.lowRank.first, l.lowRank.second] : [l.w];
    const forward = (xb: Float32Array, m: number) => {
      if (!l.lowRank) return { y: gemmF32(xb, l.w, m, l.n, l.k, { transB: true }), z: null };
      const z = gemmF32(xb, l.lowRank.first, m, l.lowRank.rank, l.k, { transB: true });
      return { y: gemmF32(z, l.lowRank.second, m, l.n, l.lowRank.rank, { transB: true }), z };
    };
    // The held-out rows, taken once: every epoch's validation reads them.
    const heldX = selectRows(x, l.k, held), heldTarget = selectRows(target, l.n, held);
    const relativeError = () => {
      const { y } = forward(heldX, held.length);
      let num = 0, den = 0;
      for (let i = 0; i < y.length; i++) {
        num += (y[i]! + bias[i % l.n]! - heldTarget[i]!) ** 2;
        den += heldTarget[i]! ** 2;
      }
      return den > 0 ? Math.sqrt(num / den) : 0;
    };
    const before = relativeError();
    const scale = rms(params[0]!);
    const result = train({
      params,
      samples: trainRows.length,
      batchSize: step.batchSize ?? 256,
      epochs: step.epochs ?? 20,
      lr: (step.lr ?? 0.01) * (scale || 1),
      validate: () => relativeError() ** 2,
      onProgress: (epoch, done, total) => progress?.(`distill ${name} (epoch ${epoch + 1})`, done, total),
      afterStep: mask
        ? () => {
            for (let i = 0; i < mask.length; i++) if (mask[i] === 0) l.w[i] = 0;
          }
        : undefined,
      step: (batch) => {
        const indices = Int32Array.from(batch, (b) => trainRows[b]!);
        const m = indices.length, xb = selectRows(x, l.k, indices), tb = selectRows(target, l.n, indices);
        const { y, z } = forward(xb, m);
        let den = 0, loss = 0;
        for (let i = 0; i < tb.length; i++) den += tb[i]! ** 2;
        const dy = new Float32Array(y.length);
        for (let i = 0; i < y.length; i++) {
          const e = y[i]! + bias[i % l.n]! - tb[i]!;
          loss += e * e;
          dy[i] = (2 * e) / (den || 1);
        }
        if (!l.lowRank) {
          const { dw } = linearBackward(xb, l.w, dy, m, l.n, l.k, { inputGrad: false });
          if (mask) for (let i = 0; i < dw.length; i++) if (mask[i] === 0) dw[i] = 0;
          return { loss: loss / (den || 1), grads: [dw] };
        }
        const r = l.lowRank.rank;
        const second = linearBackward(z!, l.lowRank.second, dy, m, l.n, r);
        const first = linearBackward(xb, l.lowRank.first, second.dx!, m, r, l.k, { inputGrad: false });
        return { loss: loss / (den || 1), grads: [first.dw, second.dw] };
      },
    });
    if (l.lowRank) l.w = gemmF32(l.lowRank.second, l.lowRank.first, l.n, l.k, l.lowRank.rank);
    const after = relativeError();
    l.methods.push(`distilled (layer-wise, output error ${before.toFixed(3)} → ${after.toFixed(3)})`);
    reports.push({ layer: name, before, after, epochs: result.trainLoss.length });
  }
  return reports;
}
