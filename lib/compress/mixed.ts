/**
 * Mixed precision: a weight form per layer under a total-size budget, from measured sensitivity.
 *
 *   layerSensitivity   for every layer and candidate form: the model's output on calibration
 *                      inputs with only that layer changed, against the unchanged model's:
 *                      drop = 1 − mean cosine over the inputs
 *   allocateFormats    the choice of one candidate per layer that minimizes Σ drop with
 *                      Σ bytes ≤ budget: a multiple-choice knapsack, solved exactly by dynamic
 *                      programming over bytes in 256-byte units (each candidate's bytes rounded
 *                      up, so the real total never exceeds the budget)
 *
 * Summing drops assumes the layers' errors add; the measured result of the chosen mix is what the
 * report (and the harness) gives, not the prediction.
 */
import { Linear, type FromWeightsOptions, type LinearFormat } from '../nn/linear';
import { fail, options } from '../validate';
import type { Traceable } from './calibrate';

/** A candidate form: a Linear format, with a block size for the block formats that take one. */
export type FormatChoice = LinearFormat | { format: LinearFormat; blockSize?: number };

export interface LayerSensitivity {
  layer: string;
  /** The candidate's label: the format, with "/blockSize" when one was given. */
  label: string;
  choice: FromWeightsOptions;
  bytes: number;
  /** 1 − mean cosine of the model's outputs with this layer alone in this form. */
  drop: number;
}

export interface SensitivityOptions {
  /** The candidate forms (default q4_0, q4_1, q8_0, int8). 'f32' may be one. */
  formats?: FormatChoice[];
  /** Layers to measure (default all); the others stay as they are. */
  layers?: string[];
  onProgress?: (done: number, total: number) => void;
}

/** A model whose forward pass hands each layer's call to a hook and returns the outputs [inputs × d]. */
export interface OutputTraceable<I> extends Traceable<I> {
  forwardWith(inputs: readonly I[], project: (name: string, layer: Linear, x: Float32Array, rows: number) => Float32Array): Float32Array;
}

const labelOf = (c: FromWeightsOptions) => `${c.format}${c.blockSize !== undefined ? `/${c.blockSize}` : ''}`;

/** Mean cosine between rows of a and b ([count × d] each). */
function meanCosine(a: Float32Array, b: Float32Array, count: number): number {
  const d = a.length / count;
  let sum = 0;
  for (let i = 0; i < count; i++) {
    let ab = 0, aa = 0, bb = 0;
    for (let j = i * d; j < (i + 1) * d; j++) (ab += a[j]! * b[j]!), (aa += a[j]! * a[j]!), (bb += b[j]! * b[j]!);
    sum += aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : aa === bb ? 1 : 0;
  }
  return sum / count;
}

export function layerSensitivity<I>(model: OutputTraceable<I>, inputs: readonly I[], opts?: SensitivityOptions): LayerSensitivity[] {
  const fn = 'layerSensitivity';
  const o = options<SensitivityOptions>(fn, opts);
  if (!Array.isArray(inputs) || inputs.length === 0) fail('type', fn, 'inputs', 'a non-empty array', inputs);
  const formats = (o.formats ?? ['q4_0', 'q4_1', 'q8_0', 'int8']).map((f, i): FromWeightsOptions => {
    const c = typeof f === 'string' ? { format: f } : f;
    if (!c || typeof c !== 'object' || typeof c.format !== 'string') fail('type', fn, `formats[${i}]`, 'a format name or { format, blockSize? }', f);
    return { format: c.format, blockSize: c.blockSize };
  });
  const names = [...model.layers.keys()].filter((name) => !o.layers || o.layers.includes(name));
  for (const name of o.layers ?? []) if (!model.layers.has(name)) fail('range', fn, 'layers', `names of the model's layers (${[...model.layers.keys()].join(', ')})`, name);
  const reference = model.forwardWith(inputs, (_, layer, x, rows) => layer.forward(x, rows));
  const result: LayerSensitivity[] = [];
  let done = 0;
  for (const name of names) {
    const layer = model.layers.get(name)!;
    const w = layer.effectiveWeights(), bias = layer.bias ?? undefined;
    for (const choice of formats) {
      const replaced = Linear.fromWeights(w, layer.n, layer.k, { ...choice, bias });
      try {
        const out = model.forwardWith(inputs, (at, l, x, rows) => (at === name ? replaced : l).forward(x, rows));
        result.push({ layer: name, label: labelOf(choice), choice, bytes: replaced.byteLength, drop: 1 - meanCosine(out, reference, inputs.length) });
      } finally {
        replaced.dispose();
      }
      o.onProgress?.(++done, names.length * formats.length);
    }
  }
  return result;
}

export interface Allocation {
  /** The chosen candidate per layer. */
  choices: Map<string, LayerSensitivity>;
  bytes: number;
  /** Σ drop of the choices: the prediction, assuming the layers' errors add. */
  predictedDrop: number;
}

const UNIT = 256;

/** The least-Σ-drop choice of one candidate per layer with Σ bytes ≤ budget (exact, by dynamic programming). */
export function allocateFormats(sensitivity: readonly LayerSensitivity[], budget: number): Allocation {
  const fn = 'allocateFormats';
  if (!Array.isArray(sensitivity) || sensitivity.length === 0) fail('type', fn, 'sensitivity', 'a non-empty array from layerSensitivity', sensitivity);
  if (typeof budget !== 'number' || !(budget > 0) || !Number.isFinite(budget)) fail('range', fn, 'budget', 'a positive number of bytes', budget);
  const layers = [...new Set(sensitivity.map((s) => s.layer))];
  const options = layers.map((name) => sensitivity.filter((s) => s.layer === name));
  const least = options.reduce((sum, o) => sum + Math.min(...o.map((s) => s.bytes)), 0);
  if (least > budget) fail('range', fn, 'budget', `at least ${least} bytes (every layer in its smallest candidate)`, budget);
  const units = Math.floor(budget / UNIT);
  // best[u]: least Σ drop of the layers so far within u units; pick[l][u]: the option chosen for layer l.
  let best = new Float64Array(units + 1);
  const pick: Int16Array[] = [];
  for (const opts of options) {
    const next = new Float64Array(units + 1).fill(Infinity), chosen = new Int16Array(units + 1).fill(-1);
    opts.forEach((s, o) => {
      const cost = Math.ceil(s.bytes / UNIT);
      for (let u = cost; u <= units; u++) {
        const v = best[u - cost]! + s.drop;
        if (v < next[u]!) (next[u] = v), (chosen[u] = o);
      }
    });
    pick.push(chosen);
    best = next;
  }
  if (!Number.isFinite(best[units]!)) fail('range', fn, 'budget', `room for every layer once its candidates' bytes are rounded up to ${UNIT}`, budget);
  const choices = new Map<string, LayerSensitivity>();
  let u = units;
  for (let l = layers.length - 1; l >= 0; l--) {
    const s = options[l]![pick[l]![u]!]!;
    choices.set(layers[l]!, s);
    u -= Math.ceil(s.bytes / UNIT);
  }
  const ordered = new Map(layers.map((name) => [name, choices.get(name)!]));
  const chosen = [...ordered.values()];
  return { choices: ordered, bytes: chosen.reduce((a, s) => a + s.bytes, 0), predictedDrop: chosen.reduce((a, s) => a + s.drop, 0) };
}
