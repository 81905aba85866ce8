/**
 * The K-quants (q4_K, q5_K, q6_K) as quantized-matmul formats: ggml's q8_K activations and the
 * terms of the int8 precision, in the order the reference adds them (docs/quantization.md).
 *
 *   q8_K, per 256 values: max = the signed value of largest |x| (first of a tie), iscale = −127/max,
 *     q = min(127, nearest_int(iscale·x)), d = 1/iscale, bsums = the 16 sums of 16 codes;
 *     an all-zero block has d = 0 and zero codes.
 *   Per weight super-block b of row j against activation row i (isum, msum exact integers):
 *     q4_K, q5_K: f32(f32(d·da)·isum), then −f32(f32(dmin·da)·msum), with
 *                 isum = Σ_s sc_s·Σ_{t∈s} q_t·a_t and msum = Σ_s m_s·(bsum_2s + bsum_2s+1);
 *     q6_K:       f32(f32(d·da)·isum), isum = Σ_g sc_g·Σ_{t∈g} (q_t − 32)·a_t.
 */
import type { KQuantFormat } from '../formats';
import { f16ToF32 } from './f16';
import { K_BLOCK, K_BLOCK_BYTES, scaleMinK4 } from './kquant';
import { nearestInt, quantizeKQuant } from './kquant-quantize';

const f32 = Math.fround;

export interface KQuantizedActivations {
  /** Codes, m·k. */
  q: Int8Array;
  /** Per 256-block scale d = 1/iscale. */
  d: Float32Array;
  /** Per 16 codes, their exact sum. */
  bsums: Int16Array;
}

/** X (rows of k, k a multiple of 256) as ggml's q8_K; throws a RangeError naming the first NaN/±Inf. */
export function quantizeActivationsK(fn: string, x: Float32Array, k: number): KQuantizedActivations {
  const blocks = x.length / K_BLOCK;
  const q = new Int8Array(x.length);
  const d = new Float32Array(blocks);
  const bsums = new Int16Array(blocks * 16);
  const bad = x.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new RangeError(`${fn}: expected x: finite values, received ${x[bad]} at index ${bad} (row ${Math.floor(bad / k)}, column ${bad % k})`);
  for (let b = 0; b < blocks; b++) {
    let amax = 0, max = 0;
    for (let t = 0; t < K_BLOCK; t++) {
      const v = x[b * K_BLOCK + t]!;
      if (Math.abs(v) > amax) (amax = Math.abs(v)), (max = v);
    }
    if (amax === 0) continue; // d = 0, codes and sums 0
    const iscale = f32(-127 / max);
    for (let t = 0; t < K_BLOCK; t++) q[b * K_BLOCK + t] = Math.min(127, nearestInt(f32(iscale * x[b * K_BLOCK + t]!)));
    for (let g = 0; g < 16; g++) {
      let sum = 0;
      for (let t = 0; t < 16; t++) sum += q[b * K_BLOCK + 16 * g + t]!;
      bsums[b * 16 + g] = sum;
    }
    d[b] = f32(1 / iscale);
  }
  return { q, d, bsums };
}

/** One super-block's codes (0…63, element order), per-16 scales and mins, and its f16 factors. */
interface KBlock {
  q: Uint8Array;
  sc: Int32Array;
  mn: Int32Array;
  d: number;
  dmin: number;
}

function unpack(format: KQuantFormat, b: Uint8Array, at: number): KBlock {
  const q = new Uint8Array(K_BLOCK), sc = new Int32Array(16), mn = new Int32Array(16);
  const half = (o: number) => f16ToF32(b[at + o]! | (b[at + o + 1]! << 8));
  if (format === 'q6_K') {
    for (let h = 0; h < 2; h++) {
      const ql = at + 64 * h, qh = at + 128 + 32 * h;
      for (let l = 0; l < 32; l++) {
        q[128 * h + l] = (b[ql + l]! & 0xf) | ((b[qh + l]! & 3) << 4);
        q[128 * h + l + 32] = (b[ql + l + 32]! & 0xf) | (((b[qh + l]! >> 2) & 3) << 4);
        q[128 * h + l + 64] = (b[ql + l]! >> 4) | (((b[qh + l]! >> 4) & 3) << 4);
        q[128 * h + l + 96] = (b[ql + l + 32]! >> 4) | (((b[qh + l]! >> 6) & 3) << 4);
      }
    }
    for (let g = 0; g < 16; g++) sc[g] = (b[at + 192 + g]! << 24) >> 24;
    return { q, sc, mn, d: half(208), dmin: 0 };
  }
  const five = format === 'q5_K';
  const qs = at + (five ? 48 : 16);
  for (let g = 0; g < 4; g++) {
    for (let l = 0; l < 32; l++) {
      const byte = b[qs + 32 * g + l]!;
      const high = five ? b[at + 16 + l]! >> (2 * g) : 0;
      q[64 * g + l] = (byte & 0xf) | ((high & 1) << 4);
      q[64 * g + 32 + l] = (byte >> 4) | (((high >> 1) & 1) << 4);
    }
  }
  for (let s = 0; s < 8; s++) {
    const [scale, min] = scaleMinK4(b, at + 4, s);
    sc[2 * s] = sc[2 * s + 1] = scale;
    mn[2 * s] = mn[2 * s + 1] = min;
  }
  return { q, sc, mn, d: half(0), dmin: half(2) };
}

/** For output (i, j) of the int8 precision, the terms the reference adds (before the bias), in order. */
export function kquantTerms(fn: string, x: Float32Array, w: Uint8Array, m: number, k: number, format: KQuantFormat): (i: number, j: number) => number[] {
  const act = quantizeActivationsK(fn, x.subarray(0, m * k), k);
  const blocks = k / K_BLOCK, size = K_BLOCK_BYTES[format];
  return (i, j) => {
    const terms: number[] = [];
    for (let b = 0; b < blocks; b++) {
      const wb = unpack(format, w, (j * blocks + b) * size);
      const a = i * blocks + b, da = act.d[a]!;
      let isum = 0, msum = 0;
      for (let g = 0; g < 16; g++) {
        let dot = 0;
        for (let t = 16 * g; t < 16 * g + 16; t++) dot += (format === 'q6_K' ? wb.q[t]! - 32 : wb.q[t]!) * act.q[a * K_BLOCK + t]!;
        isum += wb.sc[g]! * dot;
        msum += wb.mn[g]! * act.bsums[a * 16 + g]!;
      }
      terms.push(f32(f32(wb.d * da) * isum));
      if (format !== 'q6_K') terms.push(-f32(f32(wb.dmin * da) * msum));
    }
    return terms;
  };
}

/**
 * Quantizes one super-block of finite values into out at `at` with ggml's reference quantizer;
 * a block whose f16 d (or dmin) would be ±Inf is refused through tooLarge.
 */
export function quantizeKBlock(format: KQuantFormat, x: Float32Array, out: Uint8Array, at: number, tooLarge: (field: string, value: number) => never): void {
  const bytes = quantizeKQuant(format, x);
  const fields: [string, number][] = format === 'q6_K' ? [['d', 208]] : [['d', 0], ['dmin', 2]];
  for (const [field, o] of fields) {
    const h = bytes[o]! | (bytes[o + 1]! << 8);
    if ((h & 0x7fff) >= 0x7c00) tooLarge(field, f16ToF32(h));
  }
  out.set(bytes, at);
}
