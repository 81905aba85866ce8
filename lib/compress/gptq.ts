/**
 * GPTQ (Frantar et al. 2022) into sparq's ggml block formats: W [n×k] quantized column by column,
 * each column's rounding error spread over the columns not yet quantized through the upper Cholesky
 * factor of the calibration Hessian's inverse (lib/compress/obs.ts). When the sweep reaches the
 * first column of a 32-weight block, that block's scale fields are fixed from the weights as they
 * stand then (ggml's formulas: q8_0 d = amax/127; q4_0 d = v/−8 with v the value of largest |x|;
 * q4_1 d = (max − min)/15, m = min), rounded to f16 first, so every code is chosen against the
 * scale that is stored; codes round to nearest and saturate.
 *
 * The result is ordinary ggml blocks (`bytes`, row-major, any ggml reader dequantizes them) and the
 * f32 weights they stand for (`dequantized`, what sparq's kernels multiply by).
 *
 * With an identity Hessian nothing spreads, and each weight is rounded on its own against its
 * block's scale: round-to-nearest.
 */
import { f16ToF32, f32ToF16 } from '../reference/f16';
import { count, fail, int, options, typed } from '../validate';
import type { LayerCalibration } from './calibrate';
import { inverseHessianFactor } from './linalg';
import { obsSweep } from './obs';

export type GptqFormat = 'q8_0' | 'q4_0' | 'q4_1';

export interface GptqOptions {
  format: GptqFormat;
  /** This layer's calibration, with its Gram matrix. */
  calibration: LayerCalibration;
  /** λ in H + λ·mean(diag H)·I (default 0.01). */
  damp?: number;
  /** Columns per lazy-update block (default 128, a multiple of 32). */
  blockSize?: number;
  /**
   * n·k flags, 0 for a weight a pruning step removed: it stays 0 (q8_0 and q4_0 store 0 exactly;
   * q4_1 the code nearest 0), its drift since pruning spread like any rounding error.
   */
  mask?: Uint8Array;
}

export interface GptqResult {
  bytes: Uint8Array;
  dequantized: Float32Array;
}

const BLOCK = 32;
const BYTES: Record<GptqFormat, number> = { q8_0: 34, q4_0: 18, q4_1: 20 };
const f32 = Math.fround;

/** f32 → f16 → f32: the scale as it is stored. */
const asF16 = (v: number) => f16ToF32(f32ToF16(v)) as number;

interface Scales {
  d: number;
  m: number;
}

/** The block's stored scale fields from its current values (see the module comment). */
function scalesOf(format: GptqFormat, x: ArrayLike<number>): Scales {
  if (format === 'q4_1') {
    let lo = Infinity, hi = -Infinity;
    for (let t = 0; t < x.length; t++) (lo = Math.min(lo, x[t]!)), (hi = Math.max(hi, x[t]!));
    return { d: asF16(f32(f32(hi - lo) / 15)), m: asF16(f32(lo)) };
  }
  let amax = 0, extreme = 0;
  for (let t = 0; t < x.length; t++) if (Math.abs(x[t]!) > amax) (amax = Math.abs(x[t]!)), (extreme = x[t]!);
  return { d: asF16(format === 'q8_0' ? f32(amax / 127) : f32(extreme / -8)), m: 0 };
}

/** The code of value v against the stored scales, and what it dequantizes to (as the kernels compute it). */
function code(format: GptqFormat, v: number, s: Scales): [code: number, value: number] {
  if (s.d === 0) return format === 'q4_0' ? [8, 0] : format === 'q4_1' ? [0, s.m] : [0, 0];
  switch (format) {
    case 'q8_0': {
      const q = Math.max(-127, Math.min(127, Math.round(v / s.d))) + 0; // + 0: a −0 code is stored as 0
      return [q, f32(q * s.d)];
    }
    case 'q4_0': {
      const q = Math.max(0, Math.min(15, Math.round(v / s.d) + 8));
      return [q, f32((q - 8) * s.d)];
    }
    case 'q4_1': {
      const q = Math.max(0, Math.min(15, Math.round((v - s.m) / s.d)));
      return [q, f32(f32(q * s.d) + s.m)];
    }
  }
}

export function gptqQuantize(w: Float32Array, n: number, k: number, opts: GptqOptions): GptqResult {
  const fn = 'gptqQuantize';
  const o = options<GptqOptions>(fn, opts);
  int(fn, 'n', n, 1);
  int(fn, 'k', k, 1);
  typed(fn, 'w', w, Float32Array, count(fn, 'n·k', n, k), 'n·k', true);
  const format = o.format;
  if (format !== 'q8_0' && format !== 'q4_0' && format !== 'q4_1') fail('range', fn, 'format', "'q8_0', 'q4_0' or 'q4_1'", format);
  if (k % BLOCK !== 0) fail('range', fn, 'k', `a multiple of ${BLOCK} (the block size)`, k);
  for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i]!)) fail('range', fn, `w[${i}]`, 'a finite value', w[i]);
  const c = o.calibration;
  if (!c || typeof c !== 'object') fail('type', fn, 'calibration', "this layer's calibration", c);
  if (c.n !== n || c.k !== k) fail('range', fn, 'calibration', `a calibration of a ${n}×${k} layer`, `${c.n}×${c.k}`);
  if (!c.gram) fail('range', fn, 'calibration', `a Gram matrix (calibrate with gramMaxK ≥ ${k})`, null);
  const damp = o.damp ?? 0.01;
  if (typeof damp !== 'number' || !(damp > 0) || !Number.isFinite(damp)) fail('range', fn, 'damp', 'a finite number > 0', damp);
  const blockSize = int(fn, 'blockSize', o.blockSize ?? 128, BLOCK);
  if (blockSize % BLOCK !== 0) fail('range', fn, 'blockSize', `a multiple of ${BLOCK}`, blockSize);

  const mask = o.mask === undefined ? null : typed(fn, 'mask', o.mask, Uint8Array, n * k, 'n·k', true);
  const u = inverseHessianFactor(c.gram, k, damp, fn);
  const weights = Float64Array.from(w);
  const blocks = k / BLOCK;
  const scales: Scales[] = new Array(n * blocks);
  const codes = new Int32Array(n * k);
  obsSweep(weights, n, k, u, blockSize, {
    column: (j) => {
      if (j % BLOCK !== 0) return;
      for (let i = 0; i < n; i++) {
        const s = scalesOf(format, weights.subarray(i * k + j, i * k + j + BLOCK));
        if (!Number.isFinite(s.d) || !Number.isFinite(s.m)) fail('range', fn, 'w', `block ${j / BLOCK} of row ${i} within f16's range once scaled`, s.d);
        scales[i * blocks + j / BLOCK] = s;
      }
    },
    value: (i, j, v) => {
      const [q, value] = code(format, mask && !mask[i * k + j] ? 0 : v, scales[i * blocks + Math.floor(j / BLOCK)]!);
      codes[i * k + j] = q;
      return value;
    },
  });
  // ggml blocks: f16 d (q4_1: then f16 m), then the codes (q8_0 one signed byte each; q4 nibbles,
  // byte t holding codes t and t + 16).
  const bytes = new Uint8Array(n * blocks * BYTES[format]);
  const view = new DataView(bytes.buffer);
  for (let b = 0; b < n * blocks; b++) {
    const at = b * BYTES[format], s = scales[b]!, q = codes.subarray(b * BLOCK, (b + 1) * BLOCK);
    view.setUint16(at, f32ToF16(s.d) as number, true);
    if (format === 'q4_1') view.setUint16(at + 2, f32ToF16(s.m) as number, true);
    const base = at + (format === 'q4_1' ? 4 : 2);
    if (format === 'q8_0') for (let t = 0; t < BLOCK; t++) bytes[base + t] = q[t]! & 0xff;
    else for (let t = 0; t < 16; t++) bytes[base + t] = q[t]! | (q[t + 16]! << 4);
  }
  return { bytes, dequantized: Float32Array.from(weights) };
}
