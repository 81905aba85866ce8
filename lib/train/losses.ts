/**
 * Losses for distillation, each returning its value and its gradient with respect to the student's
 * output (computed in f64, returned in the output's own array type). Means are over rows.
 *
 *   distillationLoss   α·CE(softmax(s), y) + (1 − α)·T²·KL(softmax(t/T) ‖ softmax(s/T))   (Hinton et al. 2015)
 *                      ∂/∂s = α·(softmax(s) − onehot(y)) + (1 − α)·T·(softmax(s/T) − softmax(t/T))
 *   cosineLoss         1 − cos(sᵢ, tᵢ)
 *   mseLoss            mean of (s − t)² over every element
 */
import { fail, int } from '../validate';

type Floats = Float32Array | Float64Array;

export interface LossResult<T extends Floats> {
  loss: number;
  grad: T;
}

function like<T extends Floats>(s: T, length: number): T {
  return (s instanceof Float64Array ? new Float64Array(length) : new Float32Array(length)) as T;
}

function check(fn: string, s: Floats, t: Floats | null, rows: number, d: number): void {
  int(fn, 'rows', rows, 1);
  int(fn, 'd', d, 1);
  if (!(s instanceof Float32Array || s instanceof Float64Array) || s.length !== rows * d) fail('range', fn, 'student', `Float32Array or Float64Array of length ${rows * d} (rows·d)`, s);
  if (t !== null && (!(t instanceof Float32Array || t instanceof Float64Array) || t.length !== rows * d)) fail('range', fn, 'teacher', `Float32Array or Float64Array of length ${rows * d} (rows·d)`, t);
}

/** softmax(z/T) of one row into p (f64), stable. */
function softmax(z: Floats, offset: number, d: number, temperature: number, p: Float64Array): void {
  let max = -Infinity;
  for (let j = 0; j < d; j++) max = Math.max(max, z[offset + j]! / temperature);
  let sum = 0;
  for (let j = 0; j < d; j++) sum += p[j] = Math.exp(z[offset + j]! / temperature - max);
  for (let j = 0; j < d; j++) p[j] = p[j]! / sum;
}

export interface DistillationOptions {
  /** T (default 2). */
  temperature?: number;
  /** Weight of the label term, in [0, 1] (default 0.5; 0 without labels, 1 without a teacher). */
  alpha?: number;
}

/** Student logits s [rows×classes] against teacher logits t and/or integer labels. */
export function distillationLoss<T extends Floats>(s: T, teacher: Floats | null, labels: Int32Array | null, rows: number, classes: number, opts: DistillationOptions = {}): LossResult<T> {
  const fn = 'distillationLoss';
  check(fn, s, teacher, rows, classes);
  const temperature = opts.temperature ?? 2;
  const alpha = opts.alpha ?? (teacher === null ? 1 : labels === null ? 0 : 0.5);
  if (!(temperature > 0)) fail('range', fn, 'options.temperature', 'a number > 0', temperature);
  if (!(alpha >= 0 && alpha <= 1)) fail('range', fn, 'options.alpha', 'a number in [0, 1]', alpha);
  if (alpha > 0 && (!(labels instanceof Int32Array) || labels.length !== rows)) fail('range', fn, 'labels', `Int32Array of ${rows} labels (alpha > 0)`, labels);
  if (alpha < 1 && teacher === null) fail('range', fn, 'teacher', 'teacher logits (alpha < 1)', teacher);
  const grad = like(s, rows * classes);
  const ps = new Float64Array(classes), pst = new Float64Array(classes), pt = new Float64Array(classes);
  let loss = 0;
  for (let i = 0; i < rows; i++) {
    const o = i * classes;
    if (alpha > 0) {
      const y = labels![i]!;
      if (!(y >= 0 && y < classes)) fail('range', fn, `labels[${i}]`, `a class in [0, ${classes})`, y);
      softmax(s, o, classes, 1, ps);
      loss -= alpha * Math.log(Math.max(ps[y]!, 1e-300));
      for (let j = 0; j < classes; j++) grad[o + j] = alpha * (ps[j]! - (j === y ? 1 : 0));
    }
    if (alpha < 1) {
      softmax(s, o, classes, temperature, pst);
      softmax(teacher!, o, classes, temperature, pt);
      let kl = 0;
      for (let j = 0; j < classes; j++) if (pt[j]! > 0) kl += pt[j]! * (Math.log(pt[j]!) - Math.log(Math.max(pst[j]!, 1e-300)));
      loss += (1 - alpha) * temperature * temperature * kl;
      for (let j = 0; j < classes; j++) grad[o + j] = grad[o + j]! + (1 - alpha) * temperature * (pst[j]! - pt[j]!);
    }
  }
  for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! / rows;
  return { loss: loss / rows, grad };
}

/** Mean over rows of 1 − cos(sᵢ, tᵢ); a zero row counts as cosine 0 with gradient 0. */
export function cosineLoss<T extends Floats>(s: T, t: Floats, rows: number, d: number): LossResult<T> {
  check('cosineLoss', s, t, rows, d);
  const grad = like(s, rows * d);
  let loss = 0;
  for (let i = 0; i < rows; i++) {
    const o = i * d;
    let st = 0, ss = 0, tt = 0;
    for (let j = 0; j < d; j++) (st += s[o + j]! * t[o + j]!), (ss += s[o + j]! ** 2), (tt += t[o + j]! ** 2);
    const ns = Math.sqrt(ss), nt = Math.sqrt(tt);
    if (ns === 0 || nt === 0) {
      loss += 1;
      continue;
    }
    const cos = st / (ns * nt);
    loss += 1 - cos;
    // ∂cos/∂s = t/(|s||t|) − cos·s/|s|².
    for (let j = 0; j < d; j++) grad[o + j] = -(t[o + j]! / (ns * nt) - (cos * s[o + j]!) / ss) / rows;
  }
  return { loss: loss / rows, grad };
}

/** Mean of (s − t)² over all rows·d elements. */
export function mseLoss<T extends Floats>(s: T, t: Floats, rows: number, d: number): LossResult<T> {
  check('mseLoss', s, t, rows, d);
  const grad = like(s, rows * d);
  let loss = 0;
  const count = rows * d;
  for (let i = 0; i < count; i++) {
    const e = s[i]! - t[i]!;
    loss += e * e;
    grad[i] = (2 * e) / count;
  }
  return { loss: loss / count, grad };
}
