/**
 * One recipe, one call: `compress(model, recipe, inputs)` applies an ordered list of steps to a
 * model's Linears and returns the new model with a report per layer. Recipes are plain JSON:
 *
 *   { "steps": [
 *       { "prune": { "criterion": "wanda", "n": 2, "m": 4 } },
 *       { "quantize": { "method": "gptq", "format": "q4_0" } } ] }
 *
 *   prune      { criterion: magnitude | wanda | sparsegpt, sparsity | n & m, layers? }
 *              zeros weights (SparseGPT also reconstructs the rest); the layer is stored as CSR
 *              with 16-bit column indices (f32 values, or int8 values when a later quantize step
 *              asks for int8), or in a later quantize step's block format
 *   neurons    { fraction, criterion?: activation | magnitude }
 *              removes that fraction of every FFN's hidden neurons (smaller dense layers)
 *   quantize   { method: rtn | gptq | weighted, format, layers?, activations?, percentile? }
 *              rtn: any dense Linear format (int8, q8_0, q4_0, q4_1, nf4, int8-block); for int8,
 *              `activations: minmax | percentile | mse | kl` gives each layer a static activation
 *              range chosen from this step's calibration (default: dynamic, per row); gptq and
 *              weighted (importance-weighted scales): q8_0, q4_0, q4_1. A GPTQ step on a pruned
 *              layer keeps its zeros (q4_0 and q8_0 store them exactly; the blocks are dense, so
 *              the zeros save no bytes there)
 *
 * Every step that looks at data calibrates on the model as the earlier steps left it, so each
 * step sees the activations it will really get. The report's reconstruction error is measured
 * against the original f32 layer on the first calibration: ‖XWᵀ − XŴᵀ‖/‖XWᵀ‖.
 */
import { QuantizedMatrix } from '../quant';
import type { LinearFormat } from '../nn/linear';
import type { LayerChoice, UseLite, UseLiteLayer } from '../models/use-lite/model';
import { fail } from '../validate';
import { calibrate, type Calibration } from './calibrate';
import { gptqQuantize } from './gptq';
import { pruneWeights, reconstructionError, type PruneCriterion } from './prune';
import { chooseActivationRange, type RangeMethod } from './ranges';
import { quantizeWeighted } from './scales';
import { keepNeurons, neuronScores } from './structured';

export type RecipeStep =
  | { prune: { criterion?: PruneCriterion; sparsity?: number; n?: number; m?: number; layers?: string[] } }
  | { neurons: { fraction: number; criterion?: 'activation' | 'magnitude' } }
  | { quantize: { method?: 'rtn' | 'gptq' | 'weighted'; format: LinearFormat; layers?: string[]; activations?: RangeMethod; percentile?: number } };

export interface Recipe {
  steps: RecipeStep[];
}

export interface LayerReport {
  layer: string;
  n: number;
  k: number;
  methods: string[];
  format: LinearFormat;
  /** Fraction of zero weights in what the layer multiplies by. */
  sparsity: number;
  bytes: number;
  /** Weight bits per original weight (bytes·8 / (n·k) of the f32 layer). */
  bits: number;
  reconstructionError: number;
}

export interface CompressResult {
  model: UseLite;
  report: LayerReport[];
}

export interface CompressOptions {
  onProgress?: (step: string, done: number, total: number) => void;
}

const FFN_PAIRS: Array<[UseLiteLayer, UseLiteLayer]> = [['layer0.ffn1', 'layer0.ffn2'], ['layer1.ffn1', 'layer1.ffn2']];

interface Working {
  w: Float32Array;
  n: number;
  k: number;
  rows?: Int32Array;
  columns?: Int32Array;
  pruned: boolean;
  methods: string[];
  choice?: LayerChoice;
}

/** Validates a recipe (plain JSON) and names the first thing wrong in it. */
export function checkRecipe(recipe: unknown): Recipe {
  const fn = 'compress';
  if (!recipe || typeof recipe !== 'object' || !Array.isArray((recipe as Recipe).steps) || (recipe as Recipe).steps.length === 0) {
    fail('type', fn, 'recipe', '{ steps: [ … ] } with at least one step', recipe);
  }
  (recipe as Recipe).steps.forEach((step, i) => {
    const keys = step && typeof step === 'object' ? Object.keys(step) : [];
    if (keys.length !== 1 || !['prune', 'neurons', 'quantize'].includes(keys[0]!)) {
      fail('type', fn, `recipe.steps[${i}]`, 'one of { prune: … }, { neurons: … }, { quantize: … }', step);
    }
  });
  return recipe as Recipe;
}

export function compress(model: UseLite, recipe: Recipe, inputs: readonly string[], opts: CompressOptions = {}): CompressResult {
  checkRecipe(recipe);
  const progress = opts.onProgress;
  const working = new Map<string, Working>();
  for (const [name, layer] of model.layers) working.set(name, { w: layer.effectiveWeights(), n: layer.n, k: layer.k, pruned: false, methods: [] });
  const original = new Map([...working].map(([name, l]) => [name, l.w]));
  let current = model.withFormats({ format: 'f32' });
  const first = calibrate(current, inputs, { onProgress: (d, t) => progress?.('calibrate', d, t) });
  let calibration: Calibration = first;
  const selected = (layers: string[] | undefined) => [...working.keys()].filter((name) => !layers || layers.includes(name));

  for (const [s, step] of recipe.steps.entries()) {
    if (s > 0) {
      const next = rebuild(model, working, false);
      current.dispose();
      current = next;
      calibration = calibrate(current, inputs, { onProgress: (d, t) => progress?.(`calibrate (step ${s + 1})`, d, t) });
    }
    if ('prune' in step) {
      const p = step.prune;
      for (const name of selected(p.layers)) {
        progress?.(`prune ${name}`, 0, 1);
        const l = working.get(name)!;
        l.w = pruneWeights(l.w, l.n, l.k, { criterion: p.criterion, sparsity: p.sparsity, n: p.n, m: p.m, calibration: calibration.layer(name) });
        l.pruned = true;
        l.methods.push(`${p.criterion ?? 'magnitude'} ${p.sparsity !== undefined ? `${p.sparsity * 100}%` : `${p.n}:${p.m}`}`);
      }
    } else if ('neurons' in step) {
      const { fraction, criterion = 'activation' } = step.neurons;
      for (const [producer, consumer] of FFN_PAIRS) {
        const a = working.get(producer)!, b = working.get(consumer)!;
        const scores = neuronScores(b.w, b.n, b.k, criterion === 'activation' ? { calibration: calibration.layer(consumer) } : { criterion, w1: a.w });
        const keep = keepNeurons(scores, fraction);
        // The kept neurons' weights: rows of the producer, columns of the consumer.
        a.w = Float32Array.from({ length: keep.length * a.k }, (_, i) => a.w[keep[Math.floor(i / a.k)]! * a.k + (i % a.k)]!);
        b.w = Float32Array.from({ length: b.n * keep.length }, (_, i) => b.w[Math.floor(i / keep.length) * b.k + keep[i % keep.length]!]!);
        a.rows = compose(a.rows, keep);
        b.columns = compose(b.columns, keep);
        a.n = keep.length;
        b.k = keep.length;
        for (const l of [a, b]) l.methods.push(`neurons −${fraction * 100}% (${criterion})`);
      }
    } else {
      const q = step.quantize;
      const method = q.method ?? 'rtn';
      for (const name of selected(q.layers)) {
        progress?.(`quantize ${name}`, 0, 1);
        const l = working.get(name)!;
        l.methods.push(`${method} ${q.format}`);
        if (q.activations !== undefined && (method !== 'rtn' || q.format !== 'int8' || l.pruned)) {
          fail('range', 'compress', `${name}: quantize.activations`, "only with method 'rtn' and format 'int8' on a dense layer", q.activations);
        }
        if (method === 'rtn') {
          if (l.pruned && q.format !== 'int8') fail('range', 'compress', `${name}: quantize.format`, "'int8' for a pruned layer (stored as CSR with int8 values)", q.format);
          l.choice = { format: l.pruned ? 'csr-int8' : q.format };
          if (q.activations !== undefined) {
            l.choice.activations = chooseActivationRange(calibration.layer(name).activations, { method: q.activations, percentile: q.percentile });
            l.methods[l.methods.length - 1] += `, static ${q.activations} activations`;
          }
          continue;
        }
        if (q.format !== 'q8_0' && q.format !== 'q4_0' && q.format !== 'q4_1') fail('range', 'compress', `${name}: quantize.format`, `'q8_0', 'q4_0' or 'q4_1' for ${method}`, q.format);
        const c = calibration.layer(name);
        if (c.k !== l.k) fail('range', 'compress', name, 'a calibration of the layer as it stands', c.k);
        const mask = l.pruned ? Uint8Array.from(l.w, (v) => (v !== 0 ? 1 : 0)) : undefined;
        const result = method === 'gptq' ? gptqQuantize(l.w, l.n, l.k, { format: q.format, calibration: c, mask }) : quantizeWeighted(l.w, l.n, l.k, { format: q.format, importance: c.sumSquares });
        l.w = result.dequantized;
        l.choice = { matrix: QuantizedMatrix.fromBytes(q.format, l.n, l.k, result.bytes) };
      }
    }
  }
  current.dispose();
  const compressed = rebuild(model, working, true);
  const report: LayerReport[] = [];
  for (const [name, layer] of compressed.layers) {
    const l = working.get(name)!;
    const effective = layer.effectiveWeights();
    // The original layer's error: compare with the original restricted to what is kept (removed
    // neurons count as zeros of the original).
    const { n, k } = model.layers.get(name)!;
    const full = expand(effective, l, n, k);
    report.push({
      layer: name,
      n: layer.n,
      k: layer.k,
      methods: l.methods,
      format: layer.format,
      sparsity: effective.filter((v) => v === 0).length / effective.length,
      bytes: layer.byteLength,
      bits: (layer.weightBytes * 8) / original.get(name)!.length,
      reconstructionError: reconstructionError(original.get(name)!, full, n, k, first.layer(name)),
    });
  }
  return { model: compressed, report };
}

/** Indices `keep` of a selection that already kept `before` (or all). */
function compose(before: Int32Array | undefined, keep: Int32Array): Int32Array {
  return before ? Int32Array.from(keep, (i) => before[i]!) : keep;
}

/** The layer's working weights at the file's shape [n×k], removed rows and columns as zeros. */
function expand(w: Float32Array, l: Working, n: number, k: number): Float32Array {
  if (!l.rows && !l.columns) return w;
  const out = new Float32Array(n * k);
  const rows = l.rows ?? Int32Array.from({ length: n }, (_, i) => i), columns = l.columns ?? Int32Array.from({ length: k }, (_, j) => j);
  rows.forEach((i, a) => columns.forEach((j, b) => (out[i * k + j] = w[a * columns.length + b]!)));
  return out;
}

/** The model with every layer's working weights: f32 while compressing, the chosen storage at the end. */
function rebuild(model: UseLite, working: Map<string, Working>, final: boolean): UseLite {
  return model.withFormats((name, _w, n, k) => {
    const l = working.get(name)!;
    const select = { rows: l.rows, columns: l.columns };
    if (final && l.choice?.matrix) return { matrix: l.choice.matrix, ...select };
    const format: LinearFormat = final ? (l.choice?.format ?? (l.pruned ? 'csr' : 'f32')) : 'f32';
    // CSR with 16-bit column indices where they fit: 3 or 6 bytes per kept weight instead of 5 or 8.
    const indexBits = format.startsWith('csr') && l.k <= 65536 ? 16 : undefined;
    const activations = final ? l.choice?.activations : undefined;
    return { format, weights: expand(l.w, l, n, k), indexBits, activations, ...select };
  });
}
