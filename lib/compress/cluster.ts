/**
 * Weight sharing by k-means: each group of rows of W [n×k] (the tensor, each row, or G rows) gets a
 * codebook of 2^b values and every weight the index of its nearest one, stored as a ClusteredMatrix
 * (lib/cluster.ts) and run by the lookup-table kernel.
 *
 * k-means in one dimension: k-means++ seeding (seeded, D²-weighted), then Lloyd iterations whose
 * assignment step is the native `clusterAssign` (a search over the sorted midpoints) and whose
 * update sets each centroid to its members' weighted mean, kept only when it lowers that cluster's
 * error in f32 (so rounding the mean can never raise the objective). Weighting every weight by the
 * calibration's mean square of its input channel (`importance`, llama.cpp's imatrix) makes the
 * objective the expected squared output error instead of the weight error.
 */
import { ClusteredMatrix, clusterAssign } from '../cluster';
import { seededRandom } from '../eval/random';
import { count, fail, int, options, typed } from '../validate';

export interface KMeansOptions {
  /** 2^bits centroids, bits 2…8. */
  bits: number;
  /** A nonnegative weight per value (default 1 each). */
  weights?: Float64Array;
  /** Lloyd iterations at most (default 30); stops earlier when no code changes. */
  iterations?: number;
  seed?: number;
}

export interface KMeansResult {
  /** 2^bits centroids, ascending (repeated when there are fewer distinct values). */
  centroids: Float32Array;
  /** The nearest centroid of each value. */
  codes: Uint8Array;
  /** Σ weight·(value − centroid)² after each assignment (f64), first to last. */
  objective: number[];
}

/** Σ w·(v − c[code])² in f64. */
function objectiveOf(values: Float32Array, weights: Float64Array | undefined, centroids: Float32Array, codes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += (weights ? weights[i]! : 1) * (values[i]! - centroids[codes[i]!]!) ** 2;
  return sum;
}

/** k-means++ seeding: the first centroid by weight, each next one with probability ∝ weight·D². */
function seedCentroids(values: Float32Array, weights: Float64Array | undefined, entries: number, random: () => number): Float32Array {
  const n = values.length;
  const d2 = new Float64Array(n).fill(Infinity);
  const chosen: number[] = [];
  const pick = (score: (i: number) => number): number => {
    let total = 0;
    for (let i = 0; i < n; i++) total += score(i);
    if (!(total > 0)) return values[Math.floor(random() * n)]!;
    let target = random() * total;
    for (let i = 0; i < n; i++) {
      target -= score(i);
      if (target <= 0) return values[i]!;
    }
    return values[n - 1]!;
  };
  const w = (i: number) => (weights ? weights[i]! : 1);
  for (let c = 0; c < entries; c++) {
    const next = c === 0 ? pick(w) : pick((i) => w(i) * d2[i]!);
    chosen.push(next);
    for (let i = 0; i < n; i++) d2[i] = Math.min(d2[i]!, (values[i]! - next) ** 2);
  }
  return Float32Array.from(chosen).sort();
}

/** One-dimensional weighted k-means of `values` (finite) into 2^bits centroids. */
export function kmeans(values: Float32Array, opts: KMeansOptions): KMeansResult {
  const fn = 'kmeans';
  const o = options<KMeansOptions>(fn, opts);
  const bits = int(fn, 'options.bits', o.bits, 2, 8);
  const iterations = int(fn, 'options.iterations', o.iterations ?? 30, 0, 1000);
  typed(fn, 'values', values, Float32Array, 1, 'at least one value');
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) fail('range', fn, `values[${bad}]`, 'a finite number', values[bad]);
  const weights = o.weights === undefined ? undefined : typed(fn, 'options.weights', o.weights, Float64Array, values.length, 'one per value', true);
  if (weights?.some((v) => !(v >= 0 && Number.isFinite(v)))) fail('range', fn, 'options.weights', 'finite weights ≥ 0', weights);
  const entries = 2 ** bits;
  const centroids = seedCentroids(values, weights, entries, seededRandom(o.seed ?? 1));
  let codes = clusterAssign(values, centroids);
  const objective = [objectiveOf(values, weights, centroids, codes)];
  const sum = new Float64Array(entries), mass = new Float64Array(entries), before = new Float64Array(entries), after = new Float64Array(entries);
  for (let it = 0; it < iterations; it++) {
    sum.fill(0);
    mass.fill(0);
    for (let i = 0; i < values.length; i++) {
      const w = weights ? weights[i]! : 1;
      sum[codes[i]!] = sum[codes[i]!]! + w * values[i]!;
      mass[codes[i]!] = mass[codes[i]!]! + w;
    }
    const proposed = Float32Array.from(centroids, (c, j) => (mass[j]! > 0 ? sum[j]! / mass[j]! : c));
    // Keep a moved centroid only if its own members are closer to it, as stored (f32).
    before.fill(0);
    after.fill(0);
    for (let i = 0; i < values.length; i++) {
      const w = weights ? weights[i]! : 1, j = codes[i]!;
      before[j] = before[j]! + w * (values[i]! - centroids[j]!) ** 2;
      after[j] = after[j]! + w * (values[i]! - proposed[j]!) ** 2;
    }
    for (let j = 0; j < entries; j++) if (after[j]! < before[j]!) centroids[j] = proposed[j]!;
    centroids.sort();
    const next = clusterAssign(values, centroids);
    objective.push(objectiveOf(values, weights, centroids, next));
    const changed = next.some((c, i) => c !== codes[i]);
    codes = next;
    if (!changed) break;
  }
  return { centroids, codes, objective };
}

export interface ClusterOptions {
  bits: number;
  /** Rows per codebook: n (one for the tensor, the default), 1 (per row) or any G in between. */
  groupRows?: number;
  /** Per input channel (k values): how much an error there costs, e.g. calibration sumSquares / rows. */
  importance?: Float64Array;
  iterations?: number;
  seed?: number;
}

export interface ClusterResult {
  matrix: ClusteredMatrix;
  /** The weights it stands for, [n×k]. */
  dequantized: Float32Array;
  /** Each group's k-means objective history. */
  objectives: number[][];
}

/** W [n×k] clustered per group of rows into a ClusteredMatrix. */
export function clusterWeights(w: Float32Array, n: number, k: number, opts: ClusterOptions): ClusterResult {
  const fn = 'clusterWeights';
  const o = options<ClusterOptions>(fn, opts);
  int(fn, 'n', n, 1);
  int(fn, 'k', k, 1);
  typed(fn, 'w', w, Float32Array, count(fn, 'n·k', n, k), 'n·k', true);
  const bits = int(fn, 'options.bits', o.bits, 2, 8);
  const groupRows = int(fn, 'options.groupRows', o.groupRows ?? n, 1, n);
  const importance = o.importance === undefined ? undefined : typed(fn, 'options.importance', o.importance, Float64Array, k, 'k (one per input channel)', true);
  const entries = 2 ** bits, groups = Math.ceil(n / groupRows);
  const codes = new Uint8Array(n * k), codebooks = new Float32Array(groups * entries);
  const objectives: number[][] = [];
  for (let g = 0; g < groups; g++) {
    const start = g * groupRows * k, end = Math.min(n, (g + 1) * groupRows) * k;
    const weights = importance ? Float64Array.from({ length: end - start }, (_, i) => importance[i % k]!) : undefined;
    const result = kmeans(w.subarray(start, end), { bits, weights, iterations: o.iterations, seed: (o.seed ?? 1) + g });
    codes.set(result.codes, start);
    codebooks.set(result.centroids, g * entries);
    objectives.push(result.objective);
  }
  const matrix = ClusteredMatrix.fromArrays(codes, codebooks, n, k, { bits, groupRows });
  return { matrix, dequantized: matrix.dequantize(), objectives };
}
