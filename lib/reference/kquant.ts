/**
 * Dequantization of ggml's K-quants (super-blocks of 256), the reference for model files. Layouts
 * (ggml-common.h), all little-endian, f16 scales:
 *
 *   q2_K  84 B: scales[16] (low nibble: scale, high: min, 4 bits each) | qs[64] (2-bit) | d | dmin
 *              16 sub-blocks of 16: x = d·sc·q − dmin·m
 *   q3_K 110 B: hmask[32] (3rd bit) | qs[64] (low 2 bits) | scales[12] (16 × 6 bits, packed) | d
 *              x = d·(sc − 32)·(q − (high bit ? 0 : 4))
 *   q4_K 144 B: d | dmin | scales[12] (8 scales and 8 mins, 6 bits each, packed) | qs[128]
 *              8 sub-blocks of 32: x = d·sc·q − dmin·m
 *   q5_K 176 B: d | dmin | scales[12] | qh[32] (5th bit) | qs[128]                as q4_K with q of 5 bits
 *   q6_K 210 B: ql[128] (low 4 bits) | qh[64] (high 2 bits) | scales[16] (int8) | d
 *              16 sub-blocks of 16: x = d·sc·(q − 32)
 *
 * The element order inside a super-block is ggml's: 128-element halves, each walking the packed
 * bytes at four bit shifts (q2_K, q3_K, q6_K) or two nibbles (q4_K, q5_K). Every product of a
 * scale and a code is exact in f32 (at most 24 significant bits) except q6_K's last, so each value
 * has at most one rounding and fusing the multiply-add or not gives the same bits: these equal
 * ggml's dequantize_row_* on every platform.
 */
import { f16ToF32 } from './f16';

const fround = Math.fround;

export type KQuantType = 'q2_K' | 'q3_K' | 'q4_K' | 'q5_K' | 'q6_K';
export const K_BLOCK = 256;
export const K_BLOCK_BYTES: Readonly<Record<KQuantType, number>> = Object.freeze({ q2_K: 84, q3_K: 110, q4_K: 144, q5_K: 176, q6_K: 210 });

const half = (b: Uint8Array, at: number) => f16ToF32(b[at]! | (b[at + 1]! << 8));

/** Scale and min j (0…7) of q4_K/q5_K: 6 bits each, the first four in the low bits of bytes 0–7, the last four split. */
export function scaleMinK4(scales: Uint8Array, at: number, j: number): [scale: number, min: number] {
  const q = (i: number) => scales[at + i]!;
  if (j < 4) return [q(j) & 63, q(j + 4) & 63];
  return [(q(j + 4) & 0xf) | ((q(j - 4) >> 6) << 4), (q(j + 4) >> 4) | ((q(j) >> 6) << 4)];
}

/** q3_K's 16 six-bit scales from its 12 packed bytes: low 4 bits from bytes 0–7, high 2 bits from bytes 8–11. */
export function scalesQ3K(b: Uint8Array, at: number): Int32Array {
  const out = new Int32Array(16);
  for (let j = 0; j < 16; j++) {
    const low = j < 8 ? b[at + j]! & 0xf : b[at + j - 8]! >> 4;
    const high = (b[at + 8 + (j % 4)]! >> (2 * Math.floor(j / 4))) & 3;
    out[j] = (low | (high << 4)) - 32;
  }
  return out;
}

function q2K(b: Uint8Array, at: number, y: Float32Array, o: number): void {
  const d = half(b, at + 80), dmin = half(b, at + 82);
  for (let h = 0; h < 2; h++) {
    const qs = at + 16 + 32 * h;
    for (let shift = 0; shift < 8; shift += 2) {
      for (let part = 0; part < 2; part++) {
        const sc = b[at + 8 * h + shift + part]!; // scales[is], is = 8h + 2·(shift/2) + part
        const dl = fround(d * (sc & 0xf)), ml = fround(dmin * (sc >> 4));
        for (let l = 0; l < 16; l++) y[o++] = fround(fround(dl * ((b[qs + 16 * part + l]! >> shift) & 3)) - ml);
      }
    }
  }
}

function q3K(b: Uint8Array, at: number, y: Float32Array, o: number): void {
  const d = half(b, at + 108);
  const scales = scalesQ3K(b, at + 96);
  let bit = 0;
  for (let h = 0; h < 2; h++) {
    const qs = at + 32 + 32 * h;
    for (let shift = 0; shift < 8; shift += 2, bit++) {
      for (let part = 0; part < 2; part++) {
        const dl = fround(d * scales[8 * h + shift + part]!);
        for (let l = 0; l < 16; l++) {
          const i = 16 * part + l;
          const high = (b[at + i]! >> bit) & 1 ? 0 : 4;
          y[o++] = fround(dl * (((b[qs + i]! >> shift) & 3) - high));
        }
      }
    }
  }
}

function q45K(b: Uint8Array, at: number, y: Float32Array, o: number, five: boolean): void {
  const d = half(b, at), dmin = half(b, at + 2);
  const qs = at + (five ? 48 : 16);
  for (let g = 0; g < 4; g++) {
    for (let nibble = 0; nibble < 2; nibble++) {
      const [sc, m] = scaleMinK4(b, at + 4, 2 * g + nibble);
      const d1 = fround(d * sc), m1 = fround(dmin * m);
      for (let l = 0; l < 32; l++) {
        const low = nibble ? b[qs + 32 * g + l]! >> 4 : b[qs + 32 * g + l]! & 0xf;
        const high = five && (b[at + 16 + l]! >> (2 * g + nibble)) & 1 ? 16 : 0;
        y[o++] = fround(fround(d1 * (low + high)) - m1);
      }
    }
  }
}

function q6K(b: Uint8Array, at: number, y: Float32Array, o: number): void {
  const d = half(b, at + 208);
  for (let h = 0; h < 2; h++) {
    const ql = at + 64 * h, qh = at + 128 + 32 * h, sc = at + 192 + 8 * h;
    for (let l = 0; l < 32; l++) {
      const is = l >> 4;
      const codes = [
        (b[ql + l]! & 0xf) | (((b[qh + l]! >> 0) & 3) << 4),
        (b[ql + l + 32]! & 0xf) | (((b[qh + l]! >> 2) & 3) << 4),
        (b[ql + l]! >> 4) | (((b[qh + l]! >> 4) & 3) << 4),
        (b[ql + l + 32]! >> 4) | (((b[qh + l]! >> 6) & 3) << 4),
      ];
      for (let part = 0; part < 4; part++) {
        const scale = (b[sc + is + 2 * part]! << 24) >> 24; // int8
        y[o + 128 * h + 32 * part + l] = fround(fround(d * scale) * (codes[part]! - 32));
      }
    }
  }
}

const BLOCK: Record<KQuantType, (b: Uint8Array, at: number, y: Float32Array, o: number) => void> = {
  q2_K: q2K,
  q3_K: q3K,
  q4_K: (b, at, y, o) => q45K(b, at, y, o, false),
  q5_K: (b, at, y, o) => q45K(b, at, y, o, true),
  q6_K: q6K,
};

/** The `elements` values (a multiple of 256) stored in `bytes` as `type`, into `out` (or a new array). */
export function dequantizeKQuant(type: KQuantType, bytes: Uint8Array, elements: number, out: Float32Array = new Float32Array(elements)): Float32Array {
  const fn = 'dequantizeKQuant';
  const size = K_BLOCK_BYTES[type];
  if (size === undefined) throw new RangeError(`${fn}: expected type: ${Object.keys(K_BLOCK_BYTES).join(', ')}, received '${type}'`);
  if (!Number.isSafeInteger(elements) || elements < 0 || elements % K_BLOCK !== 0) throw new RangeError(`${fn}: expected elements: a multiple of 256, received ${elements}`);
  const blocks = elements / K_BLOCK;
  if (bytes.length !== blocks * size) throw new RangeError(`${fn}: expected bytes: ${blocks * size} (${blocks} blocks of ${size}), received ${bytes.length}`);
  if (out.length < elements) throw new RangeError(`${fn}: expected out: at least ${elements} values, received ${out.length}`);
  for (let i = 0; i < blocks; i++) BLOCK[type](bytes, i * size, out, i * K_BLOCK);
  return out;
}
