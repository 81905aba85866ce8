/**
 * One recipe, one call: `compress(model, recipe, inputs)` applies an ordered list of steps to a
 * model's Linears and returns the new model with a report per layer. Recipes are plain JSON:
 *
 *   { "steps": [
 *       { "prune": { "criterion": "wanda", "n": 2, "m": 4 } },
 *       { "quantize": { "method": "gptq", "format": "q4_0" } } ] }
 *
 *   prune      { criterion: magnitude | wanda | sparsegpt, sparsity | n & m, layers?, scope? }
 *              zeros weights (SparseGPT also reconstructs the rest); the layer is stored as CSR
 *              with 16-bit column indices (f32 values, or int8 values when a later quantize step
 *              asks for int8), or in a later quantize step's block format; scope 'global' (magnitude
 *              with a sparsity) drops by one threshold across the layers instead of per layer
 *   neurons    { fraction, criterion?: activation | magnitude, refit? }
 *              removes that fraction of every FFN's hidden neurons (smaller dense layers); refit
 *              re-solves the second layer's kept columns by least squares on the calibration
 *   heads      { fraction, criterion?, refit? }
 *              the same for each attention block's heads (qkv rows, out columns)
 *   quantize   { method: rtn | gptq | weighted, format, layers?, blockSize?, actOrder?, activations?, percentile? }
 *              rtn: any dense Linear format (int8, q8_0, q4_0, q4_1, nf4, int8-block); for int8,
 *              `activations: minmax | percentile | mse | kl` gives each layer a static activation
 *              range chosen from this step's calibration (default: dynamic, per row); gptq: q8_0,
 *              q4_0, q4_1, int8-block, nf4, int8 (optionally in activation order); weighted
 *              (importance-weighted scales): q8_0, q4_0, q4_1. A GPTQ step on a pruned layer keeps
 *              its zeros (every form but q4_1 stores them exactly; the blocks are dense, so the
 *              zeros save no bytes there)
 *   lowRank    { method?: svd | asvd | whiten, rank | energy | error | fraction, rankMultiple?, layers? }
 *              each layer as two smaller ones (LowRankLinear; lib/compress/lowrank-step.ts); only
 *              quantize steps may follow, and they store both factors (rtn or gptq)
 *   cluster    { bits, granularity?: tensor | row | rows per codebook, weighted?, iterations?, layers? }
 *              k-means weight sharing (lib/compress/cluster.ts), weighted by the calibration's
 *              input second moments unless weighted is false; stored as a ClusteredMatrix
 *   distill    { epochs?, lr?, batchSize?, layers? }
 *              trains each pruned or low-rank layer toward the f32 model's layer outputs on the
 *              calibration, keeping its zeros or its rank (lib/compress/distill.ts); before quantize
 *   mixed      { budget: bytes | a candidate's name, formats?, method?: rtn | gptq }
 *              a form per layer from measured sensitivity (lib/compress/mixed.ts) with the total
 *              within the budget ("q4_0": the bytes every layer would take as q4_0); gptq writes
 *              every layer whose form GPTQ can write (all but f32 and CSR) by GPTQ
 *
 * Every step that looks at data calibrates on the model as the earlier steps left it, so each
 * step sees the activations it will really get. The report's reconstruction error is measured
 * against the original f32 layer on the first calibration: ‖XWᵀ − XŴᵀ‖/‖XWᵀ‖.
 */
import { LinearInt8 } from '../gemm';
import { QuantizedMatrix } from '../quant';
import type { LinearForm, LinearFormat } from '../nn/linear';
import { headLanes, type UseLite, type UseLiteLayer } from '../models/use-lite/model';
import { magnitudeThreshold } from '../nn/prune';
import { fail } from '../validate';
import { calibrate, type Calibration } from './calibrate';
import { clusterWeights } from './cluster';
import { recoverLayers, type DistillStep } from './distill';
import { gptqQuantize } from './gptq';
import { GRID_FORMATS, type GridFormat } from './grids';
import { pruneWeights, reconstructionError, type PruneCriterion } from './prune';
import { allocateFormats, layerSensitivity, type FormatChoice } from './mixed';
import { chooseActivationRange, type RangeMethod } from './ranges';
import { quantizeWeighted } from './scales';
import { headScores, keepNeurons, neuronScores, refitColumns } from './structured';
import { applyLowRank, quantizeFactors, type LowRankStep } from './lowrank-step';
import { compose, expand, selectColumns, selectRows, type Working } from './working';

export type RecipeStep =
  | { prune: { criterion?: PruneCriterion; sparsity?: number; n?: number; m?: number; layers?: string[]; scope?: 'layer' | 'global' } }
  | { neurons: { fraction: number; criterion?: 'activation' | 'magnitude'; refit?: boolean } }
  | { heads: { fraction: number; criterion?: 'activation' | 'magnitude'; refit?: boolean } }
  | { quantize: QuantizeStep & { layers?: string[] } }
  | { mixed: { budget: number | string; formats?: FormatChoice[]; method?: 'rtn' | 'gptq' } }
  | { lowRank: LowRankStep }
  | { distill: DistillStep }
  | { cluster: { bits: number; granularity?: 'tensor' | 'row' | number; weighted?: boolean; iterations?: number; layers?: string[] } };

interface QuantizeStep {
  method?: 'rtn' | 'gptq' | 'weighted';
  format: LinearFormat;
  /** rtn and gptq, block formats: elements per block. */
  blockSize?: number;
  /** gptq: activation order (see gptqQuantize). */
  actOrder?: boolean;
  activations?: RangeMethod;
  percentile?: number;
}

export interface Recipe {
  steps: RecipeStep[];
}

export interface LayerReport {
  layer: string;
  n: number;
  k: number;
  methods: string[];
  format: LinearForm;
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

const STEPS = ['prune', 'neurons', 'heads', 'quantize', 'mixed', 'lowRank', 'cluster', 'distill'];

/** Validates a recipe (plain JSON) and names the first thing wrong in it. */
export function checkRecipe(recipe: unknown): Recipe {
  const fn = 'compress';
  if (!recipe || typeof recipe !== 'object' || !Array.isArray((recipe as Recipe).steps) || (recipe as Recipe).steps.length === 0) {
    fail('type', fn, 'recipe', '{ steps: [ … ] } with at least one step', recipe);
  }
  (recipe as Recipe).steps.forEach((step, i) => {
    const keys = step && typeof step === 'object' ? Object.keys(step) : [];
    if (keys.length !== 1 || !STEPS.includes(keys[0]!)) {
      fail('type', fn, `recipe.steps[${i}]`, `one of ${STEPS.map((key) => `{ ${key}: … }`).join(', ')}`, step);
    }
  });
  return recipe as Recipe;
}

export function compress(model: UseLite, recipe: Recipe, inputs: readonly string[], opts: CompressOptions = {}): CompressResult {
  checkRecipe(recipe);
  const progress = opts.onProgress;
  const working = new Map<string, Working>();
  for (const [name, layer] of model.layers) working.set(name, { w: layer.effectiveWeights(), n: layer.n, k: layer.k, pruned: false, methods: [] });
  model.attention.forEach(({ depth }, l) => {
    Object.assign(working.get(`layer${l}.qkv`)!, { depth, role: 'qkv' });
    Object.assign(working.get(`layer${l}.out`)!, { depth, role: 'out' });
  });
  const original = new Map([...working].map(([name, l]) => [name, l.w]));
  // f32 layers from the layers' weights, not the model's source tensors: a model built on other
  // weights (sparq compress IN OUT) starts from those.
  let current = rebuild(model, working, false);
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
    if (!('quantize' in step) && !('lowRank' in step) && !('distill' in step) && [...working.values()].some((l) => l.lowRank)) {
      fail('range', 'compress', `recipe.steps[${s}]`, 'only quantize, distill or lowRank steps after a lowRank step', Object.keys(step)[0]);
    }
    if (!('quantize' in step) && [...working.values()].some((l) => l.choice || l.lowRank?.factors)) {
      fail('range', 'compress', `recipe.steps[${s}]`, 'quantize and cluster steps last (a layer is already stored in its final form)', Object.keys(step)[0]);
    }
    if ('distill' in step) {
      const teacher = model.withFormats({ format: 'f32' });
      try {
        recoverLayers(teacher, () => rebuild(model, working, false), working, inputs, step.distill, progress);
      } finally {
        teacher.dispose();
      }
    } else if ('cluster' in step) {
      const c = step.cluster;
      for (const name of selected(c.layers)) {
        progress?.(`cluster ${name}`, 0, 1);
        const l = working.get(name)!;
        if (l.pruned || l.lowRank) fail('range', 'compress', `${name}: cluster`, 'a dense layer (not pruned, not low-rank)', l.methods.join(' → '));
        const groupRows = c.granularity === 'row' ? 1 : typeof c.granularity === 'number' ? c.granularity : l.n;
        const importance = c.weighted === false ? undefined : calibration.layer(name).sumSquares;
        const result = clusterWeights(l.w, l.n, l.k, { bits: c.bits, groupRows, importance, iterations: c.iterations });
        l.w = result.dequantized;
        l.choice = { matrix: result.matrix };
        l.methods.push(`k-means ${c.bits}-bit per ${groupRows === 1 ? 'row' : groupRows === l.n ? 'tensor' : `${groupRows} rows`}${importance ? ', weighted' : ''}`);
      }
    } else if ('lowRank' in step) {
      applyLowRank(step.lowRank, selected(step.lowRank.layers), working, calibration, progress);
    } else if ('prune' in step) {
      const p = step.prune;
      if (p.scope === 'global') {
        // One magnitude threshold across the selected layers: each keeps what is larger than it.
        if ((p.criterion ?? 'magnitude') !== 'magnitude' || p.sparsity === undefined) fail('range', 'compress', 'prune.scope', "'global' only with criterion magnitude and a sparsity", p.scope);
        const names = selected(p.layers);
        const all = new Float32Array(names.reduce((sum, name) => sum + working.get(name)!.w.length, 0));
        names.reduce((at, name) => (all.set(working.get(name)!.w, at), at + working.get(name)!.w.length), 0);
        const threshold = magnitudeThreshold(all, p.sparsity);
        for (const name of names) {
          const l = working.get(name)!;
          l.w = l.w.map((v) => (Math.abs(v) > threshold ? v : 0));
          l.pruned = true;
          l.methods.push(`magnitude ${p.sparsity * 100}% (global threshold)`);
        }
        continue;
      }
      if (p.scope !== undefined && p.scope !== 'layer') fail('range', 'compress', 'prune.scope', "'layer' or 'global'", p.scope);
      for (const name of selected(p.layers)) {
        progress?.(`prune ${name}`, 0, 1);
        const l = working.get(name)!;
        l.w = pruneWeights(l.w, l.n, l.k, { criterion: p.criterion, sparsity: p.sparsity, n: p.n, m: p.m, calibration: calibration.layer(name) });
        l.pruned = true;
        l.methods.push(`${p.criterion ?? 'magnitude'} ${p.sparsity !== undefined ? `${p.sparsity * 100}%` : `${p.n}:${p.m}`}`);
      }
    } else if ('heads' in step) {
      const { fraction, criterion = 'activation', refit = false } = step.heads;
      for (const l of [0, 1]) {
        const qkv = working.get(`layer${l}.qkv`)!, out = working.get(`layer${l}.out`)!, depth = out.depth!;
        if (qkv.pruned || out.pruned) fail('range', 'compress', 'heads', 'dense attention layers (heads before any prune step)', 'a pruned layer');
        const keep = keepNeurons(headScores(out.w, out.n, out.k, depth, { criterion, calibration: calibration.layer(`layer${l}.out`) }), fraction);
        const { rows, columns } = headLanes(keep, depth, out.k);
        out.w = refit ? refitColumns(out.w, out.n, out.k, columns, calibration.layer(`layer${l}.out`)) : selectColumns(out.w, out.n, out.k, columns);
        qkv.w = selectRows(qkv.w, qkv.k, rows);
        qkv.n = rows.length;
        out.k = columns.length;
        qkv.heads = out.heads = compose(out.heads, keep);
        for (const x of [qkv, out]) x.methods.push(`heads −${fraction * 100}% (${criterion}${refit ? ', refit' : ''})`);
      }
    } else if ('neurons' in step) {
      const { fraction, criterion = 'activation', refit = false } = step.neurons;
      for (const [producer, consumer] of FFN_PAIRS) {
        const a = working.get(producer)!, b = working.get(consumer)!;
        const scores = neuronScores(b.w, b.n, b.k, criterion === 'activation' ? { calibration: calibration.layer(consumer) } : { criterion, w1: a.w });
        const keep = keepNeurons(scores, fraction);
        // The kept neurons' weights: rows of the producer, columns of the consumer.
        a.w = selectRows(a.w, a.k, keep);
        b.w = refit ? refitColumns(b.w, b.n, b.k, keep, calibration.layer(consumer)) : selectColumns(b.w, b.n, b.k, keep);
        a.rows = compose(a.rows, keep);
        b.columns = compose(b.columns, keep);
        a.n = keep.length;
        b.k = keep.length;
        for (const l of [a, b]) l.methods.push(`neurons −${fraction * 100}% (${criterion}${refit ? ', refit' : ''})`);
      }
    } else if ('mixed' in step) {
      const x = step.mixed;
      if ([...working.values()].some((l) => l.pruned)) fail('range', 'compress', 'mixed', 'dense layers (mixed precision after a prune step is not supported)', 'a pruned layer');
      const sensitivity = layerSensitivity(current, inputs, { formats: x.formats, onProgress: (d, t) => progress?.('sensitivity', d, t) });
      const budget = typeof x.budget === 'string' ? sensitivity.filter((e) => e.label === x.budget).reduce((sum, e) => sum + e.bytes, 0) : x.budget;
      if (budget === 0) fail('range', 'compress', 'mixed.budget', `bytes, or one of the candidates (${[...new Set(sensitivity.map((e) => e.label))].join(', ')})`, x.budget);
      const allocation = allocateFormats(sensitivity, budget);
      for (const [name, chosen] of allocation.choices) {
        const l = working.get(name)!;
        const method = x.method === 'gptq' && GRID_FORMATS.includes(chosen.choice.format as GridFormat) ? 'gptq' : 'rtn';
        l.methods.push(`mixed: ${method} ${chosen.label}`);
        quantizeLayer(name, l, { method, format: chosen.choice.format!, blockSize: chosen.choice.blockSize }, calibration);
      }
    } else {
      const q = step.quantize;
      for (const name of selected(q.layers)) {
        progress?.(`quantize ${name}`, 0, 1);
        const l = working.get(name)!;
        l.methods.push(`${q.method ?? 'rtn'} ${q.format}`);
        if (l.lowRank) quantizeFactors(name, l, q, calibration.layer(name));
        else quantizeLayer(name, l, q, calibration);
      }
    }
  }
  current.dispose();
  const compressed = rebuild(model, working, true);
  // The model copied each LinearInt8 with its bias (see LayerChoice); the originals go now.
  for (const l of working.values()) {
    for (const matrix of [l.choice?.matrix, l.lowRank?.factors?.[1].matrix]) if (matrix instanceof LinearInt8) matrix.dispose();
  }
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

/** One layer's quantize step: sets its final form (and, for GPTQ and weighted scales, its weights). */
function quantizeLayer(name: string, l: Working, q: QuantizeStep, calibration: Calibration): void {
  const method = q.method ?? 'rtn';
  if (q.activations !== undefined && (method !== 'rtn' || q.format !== 'int8' || l.pruned)) {
    fail('range', 'compress', `${name}: quantize.activations`, "only with method 'rtn' and format 'int8' on a dense layer", q.activations);
  }
  if (method === 'rtn') {
    if (l.pruned && q.format !== 'int8') fail('range', 'compress', `${name}: quantize.format`, "'int8' for a pruned layer (stored as CSR with int8 values)", q.format);
    l.choice = { format: l.pruned ? 'csr-int8' : q.format, blockSize: q.blockSize };
    if (q.activations !== undefined) {
      l.choice.activations = chooseActivationRange(calibration.layer(name).activations, { method: q.activations, percentile: q.percentile });
      l.methods[l.methods.length - 1] += `, static ${q.activations} activations`;
    }
    return;
  }
  const c = calibration.layer(name);
  if (c.k !== l.k) fail('range', 'compress', name, 'a calibration of the layer as it stands', c.k);
  const mask = l.pruned ? Uint8Array.from(l.w, (v) => (v !== 0 ? 1 : 0)) : undefined;
  if (method === 'gptq') {
    if (!GRID_FORMATS.includes(q.format as GridFormat)) fail('range', 'compress', `${name}: quantize.format`, `one of ${GRID_FORMATS.join(', ')} for gptq`, q.format);
    const result = gptqQuantize(l.w, l.n, l.k, { format: q.format as GridFormat, calibration: c, mask, blockSize: q.blockSize, actOrder: q.actOrder });
    l.w = result.dequantized;
    l.choice = { matrix: result.matrix() };
    return;
  }
  if (q.format !== 'q8_0' && q.format !== 'q4_0' && q.format !== 'q4_1') fail('range', 'compress', `${name}: quantize.format`, `'q8_0', 'q4_0' or 'q4_1' for weighted`, q.format);
  const result = quantizeWeighted(l.w, l.n, l.k, { format: q.format, importance: c.sumSquares });
  l.w = result.dequantized;
  l.choice = { matrix: QuantizedMatrix.fromBytes(q.format, l.n, l.k, result.bytes) };
}

/** The model with every layer's working weights: f32 while compressing, the chosen storage at the end. */
function rebuild(model: UseLite, working: Map<string, Working>, final: boolean): UseLite {
  return model.withFormats((name, _w, n, k) => {
    const l = working.get(name)!;
    const select = { rows: l.rows, columns: l.columns, heads: l.heads };
    if (final && l.lowRank) {
      const { rank, first, second, factors } = l.lowRank;
      return { lowRank: { rank, first: factors?.[0] ?? { weights: first }, second: factors?.[1] ?? { weights: second } }, ...select };
    }
    if (final && l.choice?.matrix) return { matrix: l.choice.matrix, ...select };
    const format: LinearFormat = final ? (l.choice?.format ?? (l.pruned ? 'csr' : 'f32')) : 'f32';
    // CSR with 16-bit column indices where they fit: 3 or 6 bytes per kept weight instead of 5 or 8.
    const indexBits = format.startsWith('csr') && l.k <= 65536 ? 16 : undefined;
    const { activations, blockSize } = final ? (l.choice ?? {}) : {};
    return { format, weights: expand(l.w, l, n, k), indexBits, activations, blockSize, ...select };
  });
}
