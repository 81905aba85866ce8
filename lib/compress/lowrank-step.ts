/**
 * The recipe's `lowRank` step, and quantizing a low-rank layer's factors in a later `quantize` step.
 *
 *   lowRank   { method?: svd | asvd | whiten, rank | energy | error | fraction | budget, rankMultiple?, layers? }
 *             each selected layer becomes W ≈ second·first (lib/compress/lowrank.ts); `fraction`
 *             keeps that fraction of the selected layers' weights, `budget` that many bytes at
 *             `bytesPerWeight` (default 4), ranks allocated across them by energy gained per
 *             weight (allocateRanks). Ranks chosen by energy, error or fraction
 *             are multiples of `rankMultiple` (default 32, what the block formats need of the
 *             second factor). Default method: 'whiten' (the least output error on the calibration).
 *
 * A quantize step after it stores both factors in its format: rtn, or gptq with the first factor on
 * the layer's own Hessian XᵀX and the second on its inputs' Hessian A·XᵀX·Aᵀ (A the quantized first
 * factor, so the second corrects what the first's rounding did).
 */
import { gemmF32 } from '../dense';
import type { LinearFormat } from '../nn/linear';
import { factorBlockSize } from '../nn/lowrank';
import { fail } from '../validate';
import type { Calibration, LayerCalibration } from './calibrate';
import { gptqQuantize } from './gptq';
import { GRID_FORMATS, type GridFormat } from './grids';
import { allocateRanks, breakEvenRank, chooseRank, decompose, factorsAt, lowRankProduct, type LowRankMethod } from './lowrank';
import { emptyStats } from './ranges';
import type { Working } from './working';

export interface LowRankStep {
  method?: LowRankMethod;
  rank?: number;
  energy?: number;
  error?: number;
  /** Fraction of the selected layers' weights to keep, in (0, 1). */
  fraction?: number;
  /** Bytes for the selected layers' factors, at `bytesPerWeight` (4, f32, by default; 34/32 for q8_0 after). */
  budget?: number;
  bytesPerWeight?: number;
  rankMultiple?: number;
  layers?: string[];
  powerIterations?: number;
}

/** Replaces each named layer's weights by a low-rank product and records its factors. */
export function applyLowRank(step: LowRankStep, names: string[], working: Map<string, Working>, calibration: Calibration, progress?: (step: string, done: number, total: number) => void): void {
  const fn = 'compress';
  const { method = 'whiten', rankMultiple = 32, bytesPerWeight = 4 } = step;
  const given = (['rank', 'energy', 'error', 'fraction', 'budget'] as const).filter((key) => step[key] !== undefined);
  if (given.length !== 1) fail('range', fn, 'lowRank', 'exactly one of rank, energy, error, fraction, budget', given.join(', ') || 'none');
  if (step.fraction !== undefined && !(step.fraction > 0 && step.fraction < 1)) fail('range', fn, 'lowRank.fraction', 'a fraction in (0, 1)', step.fraction);
  if (!(bytesPerWeight > 0)) fail('range', fn, 'lowRank.bytesPerWeight', 'a number > 0', bytesPerWeight);
  const total = names.reduce((sum, name) => sum + working.get(name)!.n * working.get(name)!.k, 0);
  if (step.budget !== undefined && !(step.budget > 0 && step.budget < total * bytesPerWeight)) {
    fail('range', fn, 'lowRank.budget', `bytes in (0, ${total * bytesPerWeight}) (the selected layers at ${bytesPerWeight} bytes a weight)`, step.budget);
  }
  // A byte budget is a share of the weights at the given bytes per weight.
  const fraction = step.fraction ?? (step.budget !== undefined ? step.budget / bytesPerWeight / total : undefined);
  for (const name of names) {
    const l = working.get(name)!;
    if (l.pruned || l.lowRank || l.choice) fail('range', fn, `${name}: lowRank`, 'a dense f32 layer (low rank before any prune, quantize or lowRank step)', l.methods.join(' → '));
  }
  const decompositions = names.map((name, i) => {
    progress?.(`svd ${name}`, i, names.length);
    const l = working.get(name)!;
    const full = Math.min(l.n, l.k), even = breakEvenRank(l.n, l.k);
    // Enough singular triplets for any rank the options can pick, and no more (they cost O(r²)).
    const wanted = step.rank ?? (fraction !== undefined ? Math.ceil(Math.min(1, 2 * fraction) * even / rankMultiple) * rankMultiple : Math.max(rankMultiple, Math.floor(even / rankMultiple) * rankMultiple));
    if (step.rank !== undefined && !(Number.isInteger(step.rank) && step.rank >= 1 && step.rank <= full)) fail('range', fn, `${name}: lowRank.rank`, `an integer in [1, ${full}]`, step.rank);
    return decompose(l.w, l.n, l.k, { method, calibration: calibration.layer(name), maxRank: Math.min(wanted, full), powerIterations: step.powerIterations });
  });
  const ranks = fraction !== undefined
    ? allocateRanks(decompositions, fraction * total, rankMultiple)
    : decompositions.map((d) => chooseRank(d, { rank: step.rank, energy: step.energy, error: step.error, rankMultiple }));
  names.forEach((name, i) => {
    const l = working.get(name)!;
    const f = factorsAt(decompositions[i]!, ranks[i]!);
    l.lowRank = { rank: f.rank, first: f.first, second: f.second, method };
    l.w = lowRankProduct(f, l.n, l.k);
    l.methods.push(`low-rank ${method} r=${f.rank} (energy ${f.energy.toFixed(3)})`);
  });
}

/** The quantize step on a low-rank layer: both factors in the format, by rtn or gptq. */
export function quantizeFactors(name: string, l: Working, q: { method?: string; format: LinearFormat; blockSize?: number; activations?: unknown }, c: LayerCalibration): void {
  const fn = 'compress';
  const f = l.lowRank!;
  const method = q.method ?? 'rtn';
  if (q.activations !== undefined) fail('range', fn, `${name}: quantize.activations`, 'a dense layer (not a low-rank one)', q.activations);
  if (q.format.startsWith('csr')) fail('range', fn, `${name}: quantize.format`, 'a dense form for the factors of a low-rank layer', q.format);
  const block = factorBlockSize(q.format, q.blockSize);
  if (f.rank % block !== 0) fail('range', fn, `${name}: quantize.format`, `a form whose block divides the rank ${f.rank} (lowRank.rankMultiple)`, `${q.format} with blocks of ${block}`);
  if (method === 'rtn') {
    l.lowRank!.factors = [{ weights: f.first, format: q.format, blockSize: q.blockSize }, { weights: f.second, format: q.format, blockSize: q.blockSize }];
    return;
  }
  if (method !== 'gptq') fail('range', fn, `${name}: quantize.method`, "'rtn' or 'gptq' for a low-rank layer", method);
  if (!GRID_FORMATS.includes(q.format as GridFormat)) fail('range', fn, `${name}: quantize.format`, `one of ${GRID_FORMATS.join(', ')} for gptq`, q.format);
  const format = q.format as GridFormat;
  const a = gptqQuantize(f.first, f.rank, l.k, { format, calibration: { ...c, n: f.rank }, blockSize: q.blockSize });
  // The second factor's inputs are Z = X·Aᵀ, so its Hessian is A·(XᵀX)·Aᵀ.
  const gram = c.gram ?? fail('range', fn, `${name}: calibration`, 'a Gram matrix', null);
  const ah = gemmF32(a.dequantized, Float32Array.from(gram), f.rank, l.k, l.k);
  const inner = Float64Array.from(gemmF32(ah, a.dequantized, f.rank, f.rank, l.k, { transB: true }));
  const second: LayerCalibration = {
    name: `${name}.second`, n: l.n, k: f.rank, rows: c.rows, gram: inner,
    sumSquares: Float64Array.from({ length: f.rank }, (_, j) => inner[j * f.rank + j]!), activations: emptyStats(),
  };
  const b = gptqQuantize(f.second, l.n, f.rank, { format, calibration: second, blockSize: q.blockSize });
  l.lowRank!.factors = [{ matrix: a.matrix() }, { matrix: b.matrix() }];
  l.w = lowRankProduct({ rank: f.rank, first: a.dequantized, second: b.dequantized, energy: 0 }, l.n, l.k);
}
