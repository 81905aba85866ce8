/**
 * Pruning one layer's weights W [n×k] (row-major, out × in), by a criterion that may look at
 * calibration data, into a pattern:
 *
 *   criterion   'magnitude'  |w|, compared across the whole layer (unstructured) or within a group
 *               'wanda'      |wᵢⱼ|·‖Xⱼ‖₂ (Sun et al. 2023), compared within each output row
 *               'sparsegpt'  optimal brain surgeon with the calibration Hessian XᵀX (Frantar &
 *                            Alistarh 2023): columns left to right, each pruned weight's error
 *                            spread over the columns not yet visited through the upper Cholesky
 *                            factor U of H⁻¹; the mask chosen per block of columns by w²/Uⱼⱼ²;
 *                            lazy batched updates of the rest on sparq's f32 GEMM
 *   pattern     { sparsity }  unstructured: drop that fraction (exactly ⌈s·count⌉ per comparison
 *                             group, ties by position)
 *               { n, m }      semi-structured N:M: keep n of every m consecutive weights of a row
 *                             (2:4, 4:8); k must be a multiple of m
 *
 * The result is the pruned (for SparseGPT also reconstructed) W in f32, for any Linear form:
 * `Linear.fromWeights(w, n, k, { format: 'csr' })` keeps exactly its non-zeros.
 */
import { gemmF32 } from '../dense';
import { count, fail, int, options, typed } from '../validate';
import type { LayerCalibration } from './calibrate';
import { inverseHessianFactor } from './linalg';
import { obsSweep } from './obs';

export type PruneCriterion = 'magnitude' | 'wanda' | 'sparsegpt';

export interface PruneOptions {
  criterion?: PruneCriterion;
  /** Unstructured: the fraction of weights to drop, in [0, 1). */
  sparsity?: number;
  /** Semi-structured: keep `n` of every `m` consecutive weights along k. */
  n?: number;
  m?: number;
  /** This layer's calibration (lib/compress/calibrate): needed by 'wanda' and 'sparsegpt'. */
  calibration?: LayerCalibration;
  /** SparseGPT: λ in H + λ·mean(diag H)·I (default 0.01). */
  damp?: number;
  /** SparseGPT: columns per lazy-update block (default 128; a multiple of m). */
  blockSize?: number;
}

interface Pattern {
  /** Dropped per group, and the group: 'layer', 'row', or m consecutive weights of a row. */
  drop: (size: number) => number;
  group: 'layer' | 'row' | number;
}

/** Keeps 1 except for the `drop(size)` lowest scores of each group (ties: the earlier position first). */
function maskLowest(scores: Float64Array, n: number, k: number, pattern: Pattern): Uint8Array {
  const mask = new Uint8Array(n * k).fill(1);
  const size = pattern.group === 'layer' ? n * k : pattern.group === 'row' ? k : pattern.group;
  const order = new Uint32Array(size);
  for (let start = 0; start < n * k; start += size) {
    const drop = pattern.drop(size);
    if (drop === 0) continue;
    for (let i = 0; i < size; i++) order[i] = start + i;
    order.sort((a, b) => scores[a]! - scores[b]! || a - b);
    for (let i = 0; i < drop; i++) mask[order[i]!] = 0;
  }
  return mask;
}

function pattern(fn: string, o: Partial<PruneOptions>, k: number, criterion: PruneCriterion): Pattern {
  if (o.n !== undefined || o.m !== undefined) {
    if (o.sparsity !== undefined) fail('type', fn, 'options', 'either sparsity or n and m, not both', o);
    const m = int(fn, 'm', o.m, 1, 1 << 16);
    const n = int(fn, 'n', o.n, 0, m);
    if (k % m !== 0) fail('range', fn, 'm', `a divisor of k = ${k}`, m);
    return { drop: () => m - n, group: m };
  }
  const sparsity = o.sparsity;
  if (typeof sparsity !== 'number' || !(sparsity >= 0 && sparsity < 1)) fail('range', fn, 'sparsity', 'a number in [0, 1)', sparsity);
  return { drop: (size) => Math.ceil(sparsity * size), group: criterion === 'magnitude' ? 'layer' : 'row' };
}

/** W pruned by `criterion` into the pattern asked for (see the module comment). */
export function pruneWeights(w: Float32Array, n: number, k: number, opts: PruneOptions): Float32Array {
  const fn = 'pruneWeights';
  const o = options<PruneOptions>(fn, opts);
  int(fn, 'n', n, 1);
  int(fn, 'k', k, 1);
  typed(fn, 'w', w, Float32Array, count(fn, 'n·k', n, k), 'n·k', true);
  const criterion = o.criterion ?? 'magnitude';
  if (!['magnitude', 'wanda', 'sparsegpt'].includes(criterion)) fail('range', fn, 'criterion', "'magnitude', 'wanda' or 'sparsegpt'", criterion);
  const p = pattern(fn, o, k, criterion);
  const calibration = o.calibration;
  if (criterion !== 'magnitude') {
    if (!calibration) fail('type', fn, 'calibration', `this layer's calibration (criterion '${criterion}' looks at data)`, calibration);
    if (calibration.k !== k || calibration.n !== n) fail('range', fn, 'calibration', `a calibration of a ${n}×${k} layer`, `${calibration.n}×${calibration.k}`);
  }
  if (criterion === 'sparsegpt') return sparseGpt(w, n, k, p, calibration!, o);
  const norms = criterion === 'wanda' ? calibration!.sumSquares.map(Math.sqrt) : null;
  const scores = Float64Array.from(w, (v, i) => Math.abs(v) * (norms ? norms[i % k]! : 1));
  const mask = maskLowest(scores, n, k, p);
  return w.map((v, i) => (mask[i] ? v : 0));
}

function sparseGpt(w: Float32Array, n: number, k: number, p: Pattern, calibration: LayerCalibration, o: Partial<PruneOptions>): Float32Array {
  const fn = 'pruneWeights';
  if (!calibration.gram) fail('range', fn, 'calibration', `a Gram matrix for layer ${calibration.name} (calibrate with gramMaxK ≥ ${k})`, null);
  const damp = o.damp ?? 0.01;
  if (typeof damp !== 'number' || !(damp > 0) || !Number.isFinite(damp)) fail('range', fn, 'damp', 'a finite number > 0', damp);
  const m = typeof p.group === 'number' ? p.group : 1;
  const block = int(fn, 'blockSize', o.blockSize ?? Math.max(128 - (128 % m), m), 1);
  if (block % m !== 0) fail('range', fn, 'blockSize', `a multiple of m = ${m}`, block);
  const u = inverseHessianFactor(calibration.gram, k, damp, fn);
  const weights = Float64Array.from(w);
  // The mask of the weights being visited: [n × block] for unstructured (chosen per block of
  // columns, the lowest w²/Uⱼⱼ² across all its rows and columns), [n × m] for N:M (per group, per
  // row, from the weights as updated so far).
  let mask: Uint8Array = new Uint8Array(0), origin = 0, width = 1;
  const choose = (c0: number, c1: number, group: Pattern) => {
    width = c1 - c0;
    origin = c0;
    const scores = new Float64Array(n * width);
    for (let i = 0; i < n; i++) for (let c = 0; c < width; c++) scores[i * width + c] = weights[i * k + c0 + c]! ** 2 / u[(c0 + c) * k + c0 + c]! ** 2;
    mask = maskLowest(scores, group.group === 'layer' ? 1 : n, group.group === 'layer' ? n * width : width, group);
  };
  obsSweep(weights, n, k, u, block, {
    block: (b0, b1) => {
      if (typeof p.group !== 'number') choose(b0, b1, { drop: p.drop, group: 'layer' });
    },
    column: (j) => {
      if (typeof p.group === 'number' && j % m === 0) choose(j, j + m, p);
    },
    value: (i, j, v) => (mask[i * width + j - origin] ? v : 0),
  });
  return Float32Array.from(weights);
}

/**
 * ‖XWᵀ − XŴᵀ‖_F / ‖XWᵀ‖_F on the calibration data, from its Gram matrix G = XᵀX:
 * √(Σᵢ ΔWᵢ·G·ΔWᵢᵀ / Σᵢ Wᵢ·G·Wᵢᵀ), the products on sparq's f32 GEMM.
 */
export function reconstructionError(w: Float32Array, approx: Float32Array, n: number, k: number, calibration: LayerCalibration): number {
  const gram = calibration.gram ?? fail('range', 'reconstructionError', 'calibration', 'a Gram matrix', null);
  const g = Float32Array.from(gram);
  const delta = w.map((v, i) => v - approx[i]!);
  const quadratic = (a: Float32Array) => {
    const ag = gemmF32(a, g, n, k, k);
    let sum = 0;
    for (let i = 0; i < n * k; i++) sum += a[i]! * ag[i]!;
    return sum;
  };
  const den = quadratic(w);
  return den > 0 ? Math.sqrt(Math.max(quadratic(delta), 0) / den) : 0;
}
