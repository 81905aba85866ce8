/**
 * GPTQ (Frantar et al. 2022) into sparq's weight forms: W [n×k] quantized column by column, each
 * column's rounding error spread over the columns not yet quantized through the upper Cholesky
 * factor of the calibration Hessian's inverse (lib/compress/obs.ts). When the sweep reaches the
 * first column of a scale group (a block), that group's scale fields are fixed from the weights as
 * they stand then, by the form's own formula (lib/compress/grids.ts: ggml's for q8_0/q4_0/q4_1,
 * absmax for int8-block and nf4, max|w|/127 per row for int8), rounded as stored first, so every
 * code is chosen against the scale that is stored; codes round to nearest and saturate. With
 * activation order (and for int8's one group per row) the scales are fixed before the sweep.
 *
 * The result is the stored form (`bytes`: ggml blocks any ggml reader dequantizes, sparq's int8 and
 * nf4 blocks, or int8 codes with `scales`), a native matrix of it (`matrix()`), and the f32 weights
 * it stands for (`dequantized`, what sparq's kernels multiply by).
 *
 * With an identity Hessian nothing spreads, and each weight is rounded on its own against its
 * block's scale: round-to-nearest.
 */
import { LinearInt8 } from '../gemm';
import { QuantizedMatrix } from '../quant';
import { count, fail, int, options, typed } from '../validate';
import type { LayerCalibration } from './calibrate';
import { GRID_FORMATS, gridOf, type GridFormat, type Scales } from './grids';
import { inverseHessianFactor } from './linalg';
import { obsSweep } from './obs';

export type GptqFormat = GridFormat;

export interface GptqOptions {
  /** q8_0, q4_0, q4_1 (ggml blocks), int8-block, nf4 (sparq's blocks) or int8 (per output row, a LinearInt8). */
  format: GptqFormat;
  /** This layer's calibration, with its Gram matrix. */
  calibration: LayerCalibration;
  /** int8-block and nf4: elements per block, a power of two (default 64; at least 64 for int8-block, 32 for nf4). */
  blockSize?: number;
  /** λ in H + λ·mean(diag H)·I (default 0.01). */
  damp?: number;
  /** Columns per lazy-update block (default 128, a multiple of the scale group for the block formats). */
  lazyBlock?: number;
  /**
   * Activation order: columns visited by descending diag(H), the inputs that matter most first, while
   * their errors can still be spread over the most others. Every group's scales are then fixed from
   * the weights before the sweep ("static groups"), since a group's columns no longer come together.
   */
  actOrder?: boolean;
  /**
   * n·k flags, 0 for a weight a pruning step removed: it stays 0 (q8_0, q4_0, int8-block, nf4 and
   * int8 store 0 exactly; q4_1 the code nearest 0), its drift since pruning spread like any rounding error.
   */
  mask?: Uint8Array;
}

export interface GptqResult {
  format: GptqFormat;
  /** The stored form: the blocks (block formats, row-major) or, for int8, the codes [n×k] and row scales. */
  bytes: Uint8Array;
  /** int8: the per-row scales; empty for the block formats. */
  scales: Float32Array;
  /** The f32 weights the stored form stands for (what sparq's kernels multiply by). */
  dequantized: Float32Array;
  /** A new native matrix of the result: a QuantizedMatrix, or a LinearInt8 for int8. */
  matrix(opts?: { bias?: Float32Array }): QuantizedMatrix | LinearInt8;
}

export function gptqQuantize(w: Float32Array, n: number, k: number, opts: GptqOptions): GptqResult {
  const fn = 'gptqQuantize';
  const o = options<GptqOptions>(fn, opts);
  int(fn, 'n', n, 1);
  int(fn, 'k', k, 1);
  typed(fn, 'w', w, Float32Array, count(fn, 'n·k', n, k), 'n·k', true);
  const format = o.format as GptqFormat;
  if (!GRID_FORMATS.includes(format)) fail('range', fn, 'format', GRID_FORMATS.map((f) => `'${f}'`).join(', '), format);
  const least = format === 'nf4' ? 32 : 64;
  const blockSize = format === 'int8-block' || format === 'nf4' ? int(fn, 'blockSize', o.blockSize ?? 64, least, 4096) : undefined;
  if (blockSize !== undefined && (blockSize & (blockSize - 1)) !== 0) fail('range', fn, 'blockSize', `a power of two in [${least}, 4096]`, blockSize);
  if (o.blockSize !== undefined && blockSize === undefined) fail('range', fn, 'blockSize', `no blockSize for ${format}`, o.blockSize);
  const grid = gridOf(format, k, blockSize);
  if (k % grid.group !== 0) fail('range', fn, 'k', `a multiple of ${grid.group} (the block size)`, k);
  for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i]!)) fail('range', fn, `w[${i}]`, 'a finite value', w[i]);
  const c = o.calibration;
  if (!c || typeof c !== 'object') fail('type', fn, 'calibration', "this layer's calibration", c);
  if (c.n !== n || c.k !== k) fail('range', fn, 'calibration', `a calibration of a ${n}×${k} layer`, `${c.n}×${c.k}`);
  if (!c.gram) fail('range', fn, 'calibration', `a Gram matrix (calibrate with gramMaxK ≥ ${k})`, null);
  const damp = o.damp ?? 0.01;
  if (typeof damp !== 'number' || !(damp > 0) || !Number.isFinite(damp)) fail('range', fn, 'damp', 'a finite number > 0', damp);
  const lazyBlock = int(fn, 'lazyBlock', o.lazyBlock ?? Math.max(128, format === 'int8' ? 128 : grid.group), 1);
  if (format !== 'int8' && lazyBlock % grid.group !== 0) fail('range', fn, 'lazyBlock', `a multiple of ${grid.group}`, lazyBlock);
  const mask = o.mask === undefined ? null : typed(fn, 'mask', o.mask, Uint8Array, n * k, 'n·k', true);

  // The sweep's column order: natural, or by descending diag(H) (ties: the earlier column first).
  const order = Int32Array.from({ length: k }, (_, j) => j);
  if (o.actOrder) order.sort((a, b) => c.gram![b * k + b]! - c.gram![a * k + a]! || a - b);
  const permuted = o.actOrder ? permute(c.gram, k, order) : c.gram;
  const u = inverseHessianFactor(permuted, k, damp, fn);
  const weights = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) weights[i * k + j] = w[i * k + order[j]!]!;

  const groups = k / grid.group;
  const scales: Scales[] = new Array(n * groups);
  const fix = (i: number, g: number, values: ArrayLike<number>) => {
    const s = grid.scales(values);
    if (!Number.isFinite(s.d) || !Number.isFinite(s.m)) fail('range', fn, 'w', `block ${g} of row ${i} within f16's range once scaled`, s.d);
    scales[i * groups + g] = s;
  };
  // Static groups (act order, and int8's one group per row): fixed from the weights as they are.
  const fixedFirst = o.actOrder || format === 'int8';
  if (fixedFirst) for (let i = 0; i < n; i++) for (let g = 0; g < groups; g++) fix(i, g, w.subarray(i * k + g * grid.group, i * k + (g + 1) * grid.group));
  const codes = new Int32Array(n * k);
  obsSweep(weights, n, k, u, lazyBlock, {
    column: (j) => {
      // In natural order a group's scales are fixed when the sweep reaches its first column, from
      // the weights as the earlier columns' errors left them.
      if (fixedFirst || j % grid.group !== 0) return;
      for (let i = 0; i < n; i++) fix(i, j / grid.group, weights.subarray(i * k + j, i * k + j + grid.group));
    },
    value: (i, j, v) => {
      const column = order[j]!;
      const [q, value] = grid.code(mask && !mask[i * k + column] ? 0 : v, scales[i * groups + Math.floor(column / grid.group)]!);
      codes[i * k + column] = q;
      return value;
    },
  });
  const dequantized = new Float32Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) dequantized[i * k + order[j]!] = weights[i * k + j]!;

  const bytes = new Uint8Array(n * groups * grid.bytes);
  const view = new DataView(bytes.buffer);
  for (let b = 0; b < n * groups; b++) grid.write(view, b * grid.bytes, scales[b]!, codes.subarray(b * grid.group, (b + 1) * grid.group));
  const rowScales = format === 'int8' ? Float32Array.from(scales, (s) => s.d) : new Float32Array(0);
  return {
    format,
    bytes,
    scales: rowScales,
    dequantized,
    matrix: ({ bias } = {}) =>
      format === 'int8'
        ? LinearInt8.fromArrays(new Int8Array(bytes.buffer), rowScales, n, k, { bias })
        : QuantizedMatrix.fromBytes(format === 'int8-block' ? 'int8' : format, n, k, bytes, { blockSize }),
  };
}

/** H with rows and columns in the given order. */
function permute(h: Float64Array, k: number, order: Int32Array): Float64Array {
  const out = new Float64Array(k * k);
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) out[a * k + b] = h[order[a]! * k + order[b]!]!;
  return out;
}
