/**
 * Importance-weighted scale search for the ggml block formats (as llama.cpp's imatrix quantization
 * does): per 32-weight block, among a documented set of candidate scales, the one whose codes give
 * the least Σⱼ importanceⱼ·(xⱼ − x̂ⱼ)², importance being the calibration's per-input-channel second
 * moments diag(XᵀX). The bytes are ordinary ggml blocks.
 *
 * Candidates per block (every scale rounded to f16 first, codes rounded to nearest and saturated
 * against it, x̂ computed as the kernels dequantize):
 *   every format  ggml's own block (sparq's `quantize`, codes from the unrounded scale), so the
 *                 search is never worse than the plain formula on its own objective
 *   q8_0          d = amax/s, s = 127, 126.5, …, 122
 *   q4_0          d = v/s with v the value of largest |x|: s = −8, −7.75, …, −6 (v on code 0, ggml's
 *                 side) and s = 7, 6.75, …, 6 (v on code 15)
 *   q4_1          d = (max − min)/(15·f), m = min, f = 1, 0.95, 0.9, 0.85; each refined twice by
 *                 weighted least squares for (d, m) given its codes, then rounded and re-coded
 * Ties keep the earlier candidate (ggml's first).
 */
import { quantize } from '../quant';
import { f16ToF32, f32ToF16 } from '../reference/f16';
import { count, fail, int, options, typed } from '../validate';
import { asF16 } from './grids';

export type WeightedFormat = 'q8_0' | 'q4_0' | 'q4_1';

export interface WeightedOptions {
  format: WeightedFormat;
  /** k non-negative weights, one per input channel (default: all 1); e.g. a calibration's sumSquares. */
  importance?: Float64Array | Float32Array;
}

export interface WeightedResult {
  bytes: Uint8Array;
  dequantized: Float32Array;
}

const BLOCK = 32;
const BYTES: Record<WeightedFormat, number> = { q8_0: 34, q4_0: 18, q4_1: 20 };
const HEADER: Record<WeightedFormat, number> = { q8_0: 2, q4_0: 2, q4_1: 4 };
const f32 = Math.fround;

interface Candidate {
  d: number;
  m: number;
  codes: Int32Array;
  values: Float32Array;
}

/** Codes and dequantized values of x against stored scales (d, m). */
function encode(format: WeightedFormat, x: Float32Array, d: number, m: number): Candidate {
  const codes = new Int32Array(BLOCK), values = new Float32Array(BLOCK);
  for (let t = 0; t < BLOCK; t++) {
    const v = x[t]!;
    if (format === 'q8_0') {
      codes[t] = d === 0 ? 0 : Math.max(-127, Math.min(127, Math.round(v / d))) + 0;
      values[t] = f32(codes[t]! * d);
    } else if (format === 'q4_0') {
      codes[t] = d === 0 ? 8 : Math.max(0, Math.min(15, Math.round(v / d) + 8));
      values[t] = f32((codes[t]! - 8) * d);
    } else {
      codes[t] = d === 0 ? 0 : Math.max(0, Math.min(15, Math.round((v - m) / d)));
      values[t] = f32(f32(codes[t]! * d) + m);
    }
  }
  return { d, m, codes, values };
}

/** ggml's own block at byte `at` of sparq's quantizer's bytes (which are ggml's), decoded. */
function plain(format: WeightedFormat, ggml: Uint8Array, at: number): Candidate {
  const view = new DataView(ggml.buffer, ggml.byteOffset);
  const d = f16ToF32(view.getUint16(at, true)) as number;
  const m = format === 'q4_1' ? (f16ToF32(view.getUint16(at + 2, true)) as number) : 0;
  const codes = new Int32Array(BLOCK), values = new Float32Array(BLOCK);
  const base = at + HEADER[format];
  for (let t = 0; t < BLOCK; t++) {
    codes[t] = format === 'q8_0' ? (ggml[base + t]! << 24) >> 24 : (ggml[base + (t % 16)]! >> (t < 16 ? 0 : 4)) & 15;
    values[t] = format === 'q8_0' ? f32(codes[t]! * d) : format === 'q4_0' ? f32((codes[t]! - 8) * d) : f32(f32(codes[t]! * d) + m);
  }
  return { d, m, codes, values };
}

function candidates(format: WeightedFormat, x: Float32Array, imp: ArrayLike<number>, ggml: Candidate): Candidate[] {
  const out = [ggml];
  let amax = 0, extreme = 0, lo = Infinity, hi = -Infinity;
  for (let t = 0; t < BLOCK; t++) {
    if (Math.abs(x[t]!) > amax) (amax = Math.abs(x[t]!)), (extreme = x[t]!);
    lo = Math.min(lo, x[t]!);
    hi = Math.max(hi, x[t]!);
  }
  if (format === 'q8_0') {
    for (let s = 127; s >= 122; s -= 0.5) out.push(encode(format, x, asF16(f32(amax / s)), 0));
  } else if (format === 'q4_0') {
    for (let s = -8; s <= -6; s += 0.25) out.push(encode(format, x, asF16(f32(extreme / s)), 0));
    for (let s = 7; s >= 6; s -= 0.25) out.push(encode(format, x, asF16(f32(extreme / s)), 0));
  } else {
    for (const f of [1, 0.95, 0.9, 0.85]) {
      let c = encode(format, x, asF16(f32(f32(hi - lo) / (15 * f))), asF16(f32(lo)));
      out.push(c);
      for (let round = 0; round < 2; round++) {
        // argmin over (d, m) of Σ wₜ(xₜ − qₜd − m)²: the 2×2 normal equations.
        let sww = 0, swq = 0, swqq = 0, swx = 0, swqx = 0;
        for (let t = 0; t < BLOCK; t++) {
          const w = imp[t]!, q = c.codes[t]!;
          sww += w;
          swq += w * q;
          swqq += w * q * q;
          swx += w * x[t]!;
          swqx += w * q * x[t]!;
        }
        const det = sww * swqq - swq * swq;
        if (!(det > 0)) break;
        const d = (sww * swqx - swq * swx) / det, m = (swqq * swx - swq * swqx) / det;
        if (!(d > 0) || !Number.isFinite(m)) break;
        c = encode(format, x, asF16(f32(d)), asF16(f32(m)));
        out.push(c);
      }
    }
  }
  return out.filter((c) => Number.isFinite(c.d) && Number.isFinite(c.m));
}

/** Blockwise ggml quantization of W [n×k] with each block's scales chosen by importance (see the module comment). */
export function quantizeWeighted(w: Float32Array, n: number, k: number, opts: WeightedOptions): WeightedResult {
  const fn = 'quantizeWeighted';
  const o = options<WeightedOptions>(fn, opts);
  int(fn, 'n', n, 1);
  int(fn, 'k', k, 1);
  typed(fn, 'w', w, Float32Array, count(fn, 'n·k', n, k), 'n·k', true);
  const format = o.format;
  if (format !== 'q8_0' && format !== 'q4_0' && format !== 'q4_1') fail('range', fn, 'format', "'q8_0', 'q4_0' or 'q4_1'", format);
  if (k % BLOCK !== 0) fail('range', fn, 'k', `a multiple of ${BLOCK} (the block size)`, k);
  for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i]!)) fail('range', fn, `w[${i}]`, 'a finite value', w[i]);
  const importance = o.importance ?? new Float64Array(k).fill(1);
  if (!(importance instanceof Float64Array || importance instanceof Float32Array) || importance.length !== k) {
    fail('range', fn, 'importance', `a Float64Array or Float32Array of k = ${k} values`, importance);
  }
  for (let j = 0; j < k; j++) if (!(importance[j]! >= 0) || !Number.isFinite(importance[j]!)) fail('range', fn, `importance[${j}]`, 'a finite value ≥ 0', importance[j]);
  const blocks = (n * k) / BLOCK;
  const bytes = new Uint8Array(blocks * BYTES[format]);
  const view = new DataView(bytes.buffer);
  const dequantized = new Float32Array(n * k);
  const ggml = quantize(w, n, k, format).toBytes();
  for (let b = 0; b < blocks; b++) {
    const x = w.subarray(b * BLOCK, (b + 1) * BLOCK);
    const imp = importance.subarray((b * BLOCK) % k, ((b * BLOCK) % k) + BLOCK);
    const own = plain(format, ggml, b * BYTES[format]);
    let best = own, bestError = Infinity;
    for (const c of candidates(format, x, imp, own)) {
      let error = 0;
      for (let t = 0; t < BLOCK; t++) error += imp[t]! * (x[t]! - c.values[t]!) ** 2;
      if (error < bestError) (best = c), (bestError = error);
    }
    const at = b * BYTES[format];
    view.setUint16(at, f32ToF16(best.d) as number, true);
    if (format === 'q4_1') view.setUint16(at + 2, f32ToF16(best.m) as number, true);
    const base = at + HEADER[format];
    if (format === 'q8_0') for (let t = 0; t < BLOCK; t++) bytes[base + t] = best.codes[t]! & 0xff;
    else for (let t = 0; t < 16; t++) bytes[base + t] = best.codes[t]! | (best.codes[t + 16]! << 4);
    dequantized.set(best.values, b * BLOCK);
  }
  return { bytes, dequantized };
}
