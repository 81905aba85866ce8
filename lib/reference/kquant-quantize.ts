/**
 * ggml's reference quantizers for q4_K, q5_K and q6_K (quantize_row_q*_K_ref), in f32 step by step
 * (Math.fround after each operation, no fused multiply-add, sums in element order), so the bytes
 * equal ggml's where ggml's own build evaluates in plain f32 without contraction, as its generic
 * x86-64 build does (recorded bytes in test/fixtures/kquant-ggml.json). A build that fuses
 * multiply-adds (common on arm64) may choose a different scale or code at rare ties; every block
 * it writes is still valid and dequantizes exactly as it says.
 *
 *   q4_K, q5_K: per 32 elements, a scale and a min by a weighted search over 21 (q4_K) or 16 (q5_K)
 *     candidate steps (weights √mean(x²) + |x|); the 8 scales and mins coded in 6 bits against
 *     the block's largest (d = max/63, f16), then the codes recomputed from the coded values.
 *   q6_K: per 16 elements a signed scale by an x²-weighted search over 19 steps; the 16 coded in
 *     int8 against the largest in magnitude (d = −max/128, f16); codes −32…31 stored +32.
 */
import { f32ToF16, f16ToF32 } from './f16';
import { K_BLOCK, scaleMinK4 } from './kquant';

const fround = Math.fround;
const MAGIC = 12582912; // 1.5·2²³: adding it rounds an f32 of magnitude < 2²² to an integer, ties to even

/** ggml's nearest_int: round half to even through an f32 add (|v| < 2²²). */
export function nearestInt(v: number): number {
  return fround(fround(v) + MAGIC) - MAGIC;
}

const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

// make_qkx2_quants: codes L in 0…nmax, returns [scale, −min].
function scaleAndMin(x: Float32Array, at: number, n: number, nmax: number, w: Float32Array, L: Uint8Array, lAt: number, rmin: number, rdelta: number, nstep: number): [number, number] {
  let min = x[at]!, max = x[at]!;
  let sumW = w[0]!;
  let sumX = fround(sumW * x[at]!);
  for (let i = 1; i < n; i++) {
    const v = x[at + i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    sumW = fround(sumW + w[i]!);
    sumX = fround(sumX + fround(w[i]! * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lAt, lAt + n);
    return [0, -min];
  }
  let iscale = fround(nmax / fround(max - min));
  let scale = fround(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const l = clamp(nearestInt(fround(iscale * fround(x[at + i]! - min))), 0, nmax);
    L[lAt + i] = l;
    const diff = fround(fround(fround(scale * l) + min) - x[at + i]!);
    bestError = fround(bestError + fround(w[i]! * fround(diff * diff)));
  }
  const aux = new Uint8Array(n);
  for (let step = 0; step <= nstep; step++) {
    // min is the best candidate's so far (ggml updates it in place), so the range moves with it.
    iscale = fround(fround(fround(rmin + fround(rdelta * step)) + nmax) / fround(max - min));
    let sumL = 0, sumL2 = 0, sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = clamp(nearestInt(fround(iscale * fround(x[at + i]! - min))), 0, nmax);
      aux[i] = l;
      const wl = fround(w[i]! * l);
      sumL = fround(sumL + wl);
      sumL2 = fround(sumL2 + fround(wl * l));
      sumXL = fround(sumXL + fround(wl * x[at + i]!));
    }
    const D = fround(fround(sumW * sumL2) - fround(sumL * sumL));
    if (!(D > 0)) continue;
    let thisScale = fround(fround(fround(sumW * sumXL) - fround(sumX * sumL)) / D);
    let thisMin = fround(fround(fround(sumL2 * sumX) - fround(sumL * sumXL)) / D);
    if (thisMin > 0) {
      thisMin = 0;
      thisScale = fround(sumXL / sumL2);
    }
    let error = 0;
    for (let i = 0; i < n; i++) {
      const diff = fround(fround(fround(thisScale * aux[i]!) + thisMin) - x[at + i]!);
      error = fround(error + fround(w[i]! * fround(diff * diff)));
    }
    if (error < bestError) {
      L.set(aux, lAt);
      bestError = error;
      scale = thisScale;
      min = thisMin;
    }
  }
  return [scale, -min];
}

// q4_K and q5_K share everything but the code range, the search and where the 5th bit goes.
function quantizeQ45K(x: Float32Array, at: number, out: Uint8Array, o: number, five: boolean): void {
  const nmax = five ? 31 : 15;
  const L = new Uint8Array(K_BLOCK);
  const scales = new Float32Array(8), mins = new Float32Array(8);
  const w = new Float32Array(32);
  let maxScale = 0, maxMin = 0;
  for (let j = 0; j < 8; j++) {
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = fround(sumX2 + fround(x[at + 32 * j + l]! * x[at + 32 * j + l]!));
    const av = fround(Math.sqrt(fround(sumX2 / 32)));
    for (let l = 0; l < 32; l++) w[l] = fround(av + Math.abs(x[at + 32 * j + l]!));
    const [scale, min] = five ? scaleAndMin(x, at + 32 * j, 32, nmax, w, L, 32 * j, -0.5, fround(0.1), 15) : scaleAndMin(x, at + 32 * j, 32, nmax, w, L, 32 * j, -1, fround(0.1), 20);
    scales[j] = scale;
    mins[j] = min;
    if (scales[j]! > maxScale) maxScale = scales[j]!;
    if (mins[j]! > maxMin) maxMin = mins[j]!;
  }
  const invScale = maxScale > 0 ? fround(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? fround(63 / maxMin) : 0;
  const sc = out.subarray(o + 4, o + 16);
  sc.fill(0);
  for (let j = 0; j < 8; j++) {
    const ls = Math.min(63, nearestInt(fround(invScale * scales[j]!)) & 0xff);
    const lm = Math.min(63, nearestInt(fround(invMin * mins[j]!)) & 0xff);
    if (j < 4) {
      sc[j] = ls;
      sc[j + 4] = lm;
    } else {
      sc[j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
      sc[j - 4]! |= (ls >> 4) << 6;
      sc[j]! |= (lm >> 4) << 6;
    }
  }
  const dBits = f32ToF16(fround(maxScale / 63)), mBits = f32ToF16(fround(maxMin / 63));
  out[o] = dBits & 0xff;
  out[o + 1] = dBits >> 8;
  out[o + 2] = mBits & 0xff;
  out[o + 3] = mBits >> 8;
  for (let j = 0; j < 8; j++) {
    const [s, m] = scaleMinK4(out, o + 4, j);
    const d = fround(f16ToF32(dBits) * s);
    if (d === 0) continue;
    const dm = fround(f16ToF32(mBits) * m);
    for (let i = 0; i < 32; i++) L[32 * j + i] = clamp(nearestInt(fround(fround(x[at + 32 * j + i]! + dm) / d)), 0, nmax);
  }
  const qs = o + (five ? 48 : 16);
  if (five) out.fill(0, o + 16, o + 48);
  for (let g = 0; g < 4; g++) {
    for (let l = 0; l < 32; l++) {
      let lo = L[64 * g + l]!, hi = L[64 * g + l + 32]!;
      if (five) {
        if (lo > 15) (lo -= 16), (out[o + 16 + l]! |= 1 << (2 * g));
        if (hi > 15) (hi -= 16), (out[o + 16 + l]! |= 2 << (2 * g));
      }
      out[qs + 32 * g + l] = lo | (hi << 4);
    }
  }
}

// make_qx_quants(16, 32, x, L, rmse_type 1): a signed scale, codes −32…31 stored +32 in L.
function signedScale(x: Float32Array, at: number, L: Int8Array, lAt: number): number {
  const n = 16, nmax = 32;
  let max = 0, amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[at + i]!);
    if (ax > amax) (amax = ax), (max = x[at + i]!);
  }
  if (amax < fround(1e-15)) {
    L.fill(0, lAt, lAt + n);
    return 0;
  }
  const sums = (iscale: number, store: boolean): [number, number] => {
    let sumLX = 0, sumL2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[at + i]!;
      const l = clamp(nearestInt(fround(iscale * v)), -nmax, nmax - 1);
      if (store) L[lAt + i] = l + nmax;
      const w = fround(v * v);
      sumLX = fround(sumLX + fround(fround(w * v) * l));
      sumL2 = fround(sumL2 + fround(fround(w * l) * l));
    }
    return [sumLX, sumL2];
  };
  let iscale = fround(-nmax / max);
  let [sumLX, sumL2] = sums(iscale, true);
  let scale = sumL2 ? fround(sumLX / sumL2) : 0;
  let best = fround(scale * sumLX);
  for (let step = -9; step <= 9; step++) {
    if (step === 0) continue;
    iscale = fround(-fround(nmax + fround(fround(0.1) * step)) / max);
    [sumLX, sumL2] = sums(iscale, false);
    if (sumL2 > 0 && fround(sumLX * sumLX) > fround(best * sumL2)) {
      sums(iscale, true);
      scale = fround(sumLX / sumL2);
      best = fround(scale * sumLX);
    }
  }
  return scale;
}

function quantizeQ6K(x: Float32Array, at: number, out: Uint8Array, o: number): void {
  const L = new Int8Array(K_BLOCK);
  const scales = new Float32Array(16);
  let maxScale = 0, maxAbs = 0;
  for (let b = 0; b < 16; b++) {
    scales[b] = signedScale(x, at + 16 * b, L, 16 * b);
    const abs = Math.abs(scales[b]!);
    if (abs > maxAbs) (maxAbs = abs), (maxScale = scales[b]!);
  }
  out.fill(0, o, o + 210);
  if (maxAbs < fround(1e-15)) return;
  const iscale = fround(-128 / maxScale);
  const dBits = f32ToF16(fround(1 / iscale));
  out[o + 208] = dBits & 0xff;
  out[o + 209] = dBits >> 8;
  for (let b = 0; b < 16; b++) out[o + 192 + b] = Math.min(127, nearestInt(fround(iscale * scales[b]!))) & 0xff;
  for (let j = 0; j < 16; j++) {
    const d = fround(f16ToF32(dBits) * ((out[o + 192 + j]! << 24) >> 24));
    if (d === 0) continue;
    for (let i = 0; i < 16; i++) L[16 * j + i] = clamp(nearestInt(fround(x[at + 16 * j + i]! / d)), -32, 31) + 32;
  }
  for (let h = 0; h < 2; h++) {
    const ql = o + 64 * h, qh = o + 128 + 32 * h, base = 128 * h;
    for (let l = 0; l < 32; l++) {
      const q = [L[base + l]!, L[base + l + 32]!, L[base + l + 64]!, L[base + l + 96]!];
      out[ql + l] = (q[0]! & 0xf) | ((q[2]! & 0xf) << 4);
      out[ql + l + 32] = (q[1]! & 0xf) | ((q[3]! & 0xf) << 4);
      out[qh + l] = (q[0]! >> 4) | ((q[1]! >> 4) << 2) | ((q[2]! >> 4) << 4) | ((q[3]! >> 4) << 6);
    }
  }
}

export type KQuantizable = 'q4_K' | 'q5_K' | 'q6_K';
const BYTES: Record<KQuantizable, number> = { q4_K: 144, q5_K: 176, q6_K: 210 };

/** x (a multiple of 256 finite values) quantized to `type` by ggml's reference quantizer. */
export function quantizeKQuant(type: KQuantizable, x: Float32Array): Uint8Array {
  const fn = 'quantizeKQuant';
  if (!(type in BYTES)) throw new RangeError(`${fn}: expected type: q4_K, q5_K or q6_K, received '${type}'`);
  if (x.length % K_BLOCK !== 0) throw new RangeError(`${fn}: expected x: a multiple of 256 values, received ${x.length}`);
  const bad = x.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new RangeError(`${fn}: expected x: finite values, received ${x[bad]} at index ${bad}`);
  const blocks = x.length / K_BLOCK;
  const out = new Uint8Array(blocks * BYTES[type]);
  for (let b = 0; b < blocks; b++) {
    if (type === 'q6_K') quantizeQ6K(x, b * K_BLOCK, out, b * BYTES[type]);
    else quantizeQ45K(x, b * K_BLOCK, out, b * BYTES[type], type === 'q5_K');
  }
  return out;
}
