/**
 * Low-rank factorization of one layer, W [n×k] ≈ second [n×r] · first [r×k], run as two Linears
 * (LowRankLinear): Y = (X·firstᵀ)·secondᵀ + b, (n + k)·r weights instead of n·k.
 *
 *   method    what is truncated, and so which error the rank-r truncation minimizes
 *   'svd'     W itself: ‖W − Ŵ‖_F (Eckart–Young)
 *   'asvd'    W·S, S = diag(rms(Xⱼ)^α) from the calibration (Yuan et al. 2023, ASVD): input
 *             channels that carry large activations weigh more; Ŵ = trunc(W·S)·S⁻¹
 *   'whiten'  W·L with XᵀX = LLᵀ (Cholesky, damped): ‖(W − Ŵ)·L‖_F = ‖X(W − Ŵ)ᵀ‖_F, the output
 *             error on the calibration data itself (Wang et al. 2024, SVD-LLM); Ŵ = trunc(W·L)·L⁻¹
 *
 * The truncated SVD is randomized (lib/compress/svd.ts). The rank is given, or the smallest that
 * keeps a fraction of the (scaled) energy Σσ², or that meets a relative error √(1 − energy); never
 * above `maxRank`, by default the break-even rank ⌊n·k/(n + k)⌋ beyond which the factors hold more
 * weights than W. √σ goes to each factor, so both have rows of like scale for quantization.
 */
import { gemmF32 } from '../dense';
import { fail, int, options, typed, count } from '../validate';
import type { LayerCalibration } from './calibrate';
import { cholesky, dampedHessian } from './linalg';
import { reconstructionError } from './prune';
import { randomizedSvd, type RandomizedSvdOptions, type Svd } from './svd';

export type LowRankMethod = 'svd' | 'asvd' | 'whiten';
export const LOW_RANK_METHODS: readonly LowRankMethod[] = ['svd', 'asvd', 'whiten'];

export interface DecomposeOptions extends RandomizedSvdOptions {
  method?: LowRankMethod;
  /** The layer's calibration: needed by 'asvd' (its sumSquares) and 'whiten' (its Gram matrix). */
  calibration?: LayerCalibration;
  /** Singular triplets to compute (default: the break-even rank ⌊n·k/(n + k)⌋). */
  maxRank?: number;
  /** 'asvd': the exponent α of rms(Xⱼ) (default 0.5). */
  alpha?: number;
  /** 'whiten': λ in XᵀX + λ·mean(diag)·I (default 0.01). */
  damp?: number;
}

/** A layer's truncated SVD in the method's coordinates, from which factors of any rank ≤ its rank are cut. */
export interface Decomposition {
  n: number;
  k: number;
  method: LowRankMethod;
  svd: Svd;
  /** ‖W'‖_F² of the matrix that was factored (W, W·S or W·L). */
  totalEnergy: number;
  /** Maps a row of V'ᵀ (length k) back to W's input coordinates, in place. */
  back: (row: Float64Array) => void;
}

export interface LowRankFactors {
  rank: number;
  /** [r×k]: the first layer's weights (√σ·Vᵀ, back in W's coordinates). */
  first: Float32Array;
  /** [n×r]: the second layer's weights (U·√σ). */
  second: Float32Array;
  /** Fraction of the factored matrix's energy Σσ² kept. */
  energy: number;
}

/** ⌊n·k/(n + k)⌋: the largest rank at which the factors hold no more weights than W. */
export function breakEvenRank(n: number, k: number): number {
  return Math.floor((n * k) / (n + k));
}

/** The layer's truncated SVD in the coordinates the method truncates in. */
export function decompose(w: Float32Array, n: number, k: number, opts: DecomposeOptions = {}): Decomposition {
  const fn = 'decompose';
  const o = options<DecomposeOptions>(fn, opts);
  int(fn, 'n', n, 1);
  int(fn, 'k', k, 1);
  typed(fn, 'w', w, Float32Array, count(fn, 'n·k', n, k), 'n·k', true);
  const method = o.method ?? 'svd';
  if (!LOW_RANK_METHODS.includes(method)) fail('range', fn, 'options.method', LOW_RANK_METHODS.join(', '), method);
  const maxRank = o.maxRank ?? Math.max(1, breakEvenRank(n, k));
  int(fn, 'options.maxRank', maxRank, 1);
  if (maxRank > Math.min(n, k)) fail('range', fn, 'options.maxRank', `at most min(n, k) = ${Math.min(n, k)}`, maxRank);
  const c = o.calibration;
  if (method !== 'svd') {
    if (!c) fail('range', fn, 'options.calibration', `the layer's calibration for method '${method}'`, c);
    if (c.k !== k) fail('range', fn, 'options.calibration', `a calibration of a layer with k = ${k}`, c.k);
  }
  let factored = w;
  let back: (row: Float64Array) => void = () => {};
  if (method === 'asvd') {
    const alpha = o.alpha ?? 0.5;
    if (!(alpha >= 0 && alpha <= 2)) fail('range', fn, 'options.alpha', 'a number in [0, 2]', alpha);
    const rms = Float64Array.from(c!.sumSquares, (v) => Math.sqrt(v / Math.max(c!.rows, 1)));
    const floor = Math.max(...rms) * 1e-6 || 1;
    const scale = rms.map((v) => Math.max(v, floor) ** alpha);
    factored = w.map((v, i) => v * scale[i % k]!);
    back = (row) => {
      for (let j = 0; j < k; j++) row[j] = row[j]! / scale[j]!;
    };
  } else if (method === 'whiten') {
    const gram = c!.gram ?? fail('range', fn, 'options.calibration', 'a Gram matrix (calibrate with gramMaxK ≥ k)', null);
    const l = cholesky(dampedHessian(gram, k, o.damp ?? 0.01), k, fn);
    factored = gemmF32(w, Float32Array.from(l), n, k, k);
    // Lᵀ row-major: lt[j·k + i] = L[i][j], so the solve below reads contiguous memory.
    const lt = new Float64Array(k * k);
    for (let i = 0; i < k; i++) for (let j = 0; j <= i; j++) lt[j * k + i] = l[i * k + j]!;
    back = (row) => {
      // a·L = v for the row vector a, L lower triangular: from the last entry back.
      for (let j = k - 1; j >= 0; j--) {
        let s = row[j]!;
        const lj = j * k;
        for (let i = j + 1; i < k; i++) s -= row[i]! * lt[lj + i]!;
        row[j] = s / lt[lj + j]!;
      }
    };
  }
  let totalEnergy = 0;
  for (let i = 0; i < n * k; i++) totalEnergy += factored[i]! * factored[i]!;
  const svd = randomizedSvd(factored, n, k, maxRank, { oversample: o.oversample, powerIterations: o.powerIterations, seed: o.seed });
  return { n, k, method, svd, totalEnergy, back };
}

/** Energy kept by each rank r = 0…svd.rank: cumulative Σσ² over the factored matrix's total. */
export function energyByRank(d: Decomposition): Float64Array {
  const out = new Float64Array(d.svd.rank + 1);
  for (let r = 0; r < d.svd.rank; r++) out[r + 1] = out[r]! + d.svd.s[r]! ** 2;
  return out.map((v) => (d.totalEnergy > 0 ? Math.min(v / d.totalEnergy, 1) : 1));
}

export interface RankOptions {
  rank?: number;
  /** Smallest rank keeping this fraction of Σσ² (in (0, 1]). */
  energy?: number;
  /** Smallest rank with relative error √(1 − energy) at most this (in [0, 1)). */
  error?: number;
  /** Round a rank chosen by energy or error up to a multiple of this (block formats need 32 for the second factor). */
  rankMultiple?: number;
}

/** The rank the options ask for, within the decomposition's rank. */
export function chooseRank(d: Decomposition, opts: RankOptions): number {
  const fn = 'chooseRank';
  const given = ['rank', 'energy', 'error'].filter((key) => opts[key as keyof RankOptions] !== undefined);
  if (given.length !== 1) fail('range', fn, 'options', 'exactly one of rank, energy, error', given.join(', ') || 'none');
  const multiple = opts.rankMultiple ?? 1;
  int(fn, 'options.rankMultiple', multiple, 1);
  let rank: number;
  if (opts.rank !== undefined) {
    int(fn, 'options.rank', opts.rank, 1);
    if (opts.rank > d.svd.rank) fail('range', fn, 'options.rank', `at most ${d.svd.rank} (the decomposition's rank)`, opts.rank);
    return opts.rank;
  } else {
    const target = opts.energy ?? 1 - opts.error! ** 2;
    if (opts.energy !== undefined && !(opts.energy > 0 && opts.energy <= 1)) fail('range', fn, 'options.energy', 'a fraction in (0, 1]', opts.energy);
    if (opts.error !== undefined && !(opts.error >= 0 && opts.error < 1)) fail('range', fn, 'options.error', 'a fraction in [0, 1)', opts.error);
    const kept = energyByRank(d);
    rank = kept.findIndex((e, r) => r > 0 && e >= target - 1e-12);
    if (rank < 0) rank = d.svd.rank;
  }
  return Math.min(Math.ceil(rank / multiple) * multiple, d.svd.rank);
}

/** The two factors at rank r (≤ the decomposition's rank). */
export function factorsAt(d: Decomposition, rank: number): LowRankFactors {
  const { n, k, svd } = d;
  if (!Number.isInteger(rank) || rank < 1 || rank > svd.rank) fail('range', 'factorsAt', 'rank', `an integer in [1, ${svd.rank}]`, rank);
  const first = new Float32Array(rank * k), second = new Float32Array(n * rank);
  const row = new Float64Array(k);
  for (let c = 0; c < rank; c++) {
    const root = Math.sqrt(svd.s[c]!);
    for (let j = 0; j < k; j++) row[j] = svd.vt[c * k + j]! * root;
    d.back(row);
    first.set(row, c * k);
    for (let i = 0; i < n; i++) second[i * rank + c] = svd.ut[c * n + i]! * root;
  }
  return { rank, first, second, energy: energyByRank(d)[rank]! };
}

/** second·first [n×k]: the weights a low-rank layer multiplies by. */
export function lowRankProduct(f: LowRankFactors, n: number, k: number): Float32Array {
  return gemmF32(f.second, f.first, n, k, f.rank);
}

/** ‖X(W − Ŵ)ᵀ‖/‖XWᵀ‖ on the calibration data: the output error the factors cost. */
export function outputError(w: Float32Array, f: LowRankFactors, n: number, k: number, calibration: LayerCalibration): number {
  return reconstructionError(w, lowRankProduct(f, n, k), n, k, calibration);
}

/**
 * Ranks for several layers with Σ (nᵢ + kᵢ)·rᵢ ≤ `weights`: from `multiple` each, a rank step of
 * `multiple` at a time to the layer that gains the most energy fraction per weight, while one fits.
 * The energy kept is concave in the rank, so this greedy choice is optimal for a sum of energy
 * fractions at step granularity. Each layer stays within its decomposition's rank.
 */
export function allocateRanks(decompositions: readonly Decomposition[], weights: number, multiple = 1): number[] {
  const fn = 'allocateRanks';
  int(fn, 'multiple', multiple, 1);
  const kept = decompositions.map(energyByRank);
  const ranks = decompositions.map((d) => Math.min(multiple, d.svd.rank));
  let used = decompositions.reduce((sum, d, i) => sum + (d.n + d.k) * ranks[i]!, 0);
  if (!(weights >= used)) fail('range', fn, 'weights', `at least ${used} (rank ${multiple} for every layer)`, weights);
  for (;;) {
    let best = -1, bestGain = 0;
    decompositions.forEach((d, i) => {
      const next = Math.min(ranks[i]! + multiple, d.svd.rank);
      const cost = (d.n + d.k) * (next - ranks[i]!);
      if (next === ranks[i] || used + cost > weights) return;
      const gain = (kept[i]![next]! - kept[i]![ranks[i]!]!) / cost;
      if (gain > bestGain) (best = i), (bestGain = gain);
    });
    if (best < 0) return ranks;
    const next = Math.min(ranks[best]! + multiple, decompositions[best]!.svd.rank);
    used += (decompositions[best]!.n + decompositions[best]!.k) * (next - ranks[best]!);
    ranks[best] = next;
  }
}

export interface LowRankOptions extends DecomposeOptions, RankOptions {}

/** decompose, chooseRank and factorsAt in one call. */
export function lowRankFactor(w: Float32Array, n: number, k: number, opts: LowRankOptions): LowRankFactors {
  const o = options<LowRankOptions>('lowRankFactor', opts);
  const maxRank = o.maxRank ?? (o.rank !== undefined ? o.rank : Math.max(1, breakEvenRank(n, k)));
  const d = decompose(w, n, k, { ...o, maxRank });
  return factorsAt(d, chooseRank(d, o));
}
