/**
 * Element decoders in TS for the types the native side does not convert: wide and integer types,
 * the two f8 formats, ggml's q5_0/q5_1/q8_1 and the K-quants q2_K…q6_K (lib/reference/kquant.ts,
 * bit-exact with ggml). Each follows the format's own definition, in f32
 * (Math.fround after each operation, no fused multiply-add), as ggml's reference dequantizers.
 */
import { f16ToF32 } from '../reference/f16';
import { dequantizeKQuant } from '../reference/kquant';
import type { TensorType } from './types';

const fround = Math.fround;

// f8 tables: E4M3 ("fn": bias 7, no infinities, S.1111.111 is NaN) and E5M2 (bias 15, IEEE-like).
function f8Table(exponentBits: number, bias: number, finiteOnly: boolean): Float32Array {
  const table = new Float32Array(256);
  const mantissaBits = 7 - exponentBits;
  for (let b = 0; b < 256; b++) {
    const sign = b & 0x80 ? -1 : 1;
    const e = (b >> mantissaBits) & ((1 << exponentBits) - 1);
    const m = b & ((1 << mantissaBits) - 1);
    const top = (1 << exponentBits) - 1;
    let v: number;
    if (finiteOnly && e === top && m === (1 << mantissaBits) - 1) v = NaN;
    else if (!finiteOnly && e === top) v = m ? NaN : sign * Infinity;
    else if (e === 0) v = sign * m * 2 ** (1 - bias - mantissaBits);
    else v = sign * (1 + m / (1 << mantissaBits)) * 2 ** (e - bias);
    table[b] = v;
  }
  return table;
}
const F8_E4M3 = f8Table(4, 7, true);
const F8_E5M2 = f8Table(5, 15, false);
const bits = new Uint32Array(1);
const bitsAsF32 = new Float32Array(bits.buffer);

function f16At(view: DataView, at: number): number {
  return f16ToF32(view.getUint16(at, true));
}

// q5_0 / q5_1: d (f16) [, m (f16)], 32 high bits qh (u32), 16 bytes of low nibbles as q4_0.
function q5(view: DataView, blocks: number, withMin: boolean, out: Float32Array): void {
  const size = withMin ? 24 : 22;
  for (let b = 0; b < blocks; b++) {
    const base = b * size;
    const d = f16At(view, base);
    const m = withMin ? f16At(view, base + 2) : 0;
    const qh = view.getUint32(base + (withMin ? 4 : 2), true);
    const qs = base + (withMin ? 8 : 6);
    for (let j = 0; j < 16; j++) {
      const byte = view.getUint8(qs + j);
      const lo = (byte & 0x0f) | (((qh >>> j) << 4) & 0x10);
      const hi = (byte >> 4) | ((qh >>> (j + 12)) & 0x10);
      out[b * 32 + j] = withMin ? fround(fround(lo * d) + m) : fround((lo - 16) * d);
      out[b * 32 + j + 16] = withMin ? fround(fround(hi * d) + m) : fround((hi - 16) * d);
    }
  }
}

/** Types {@link decodeTensor} can turn into f32 values. */
export const TS_DECODABLE: ReadonlySet<TensorType> = new Set<TensorType>([
  'f64', 'f32', 'f16', 'bf16', 'f8_e4m3', 'f8_e5m2', 'i64', 'i32', 'i16', 'i8', 'u64', 'u32', 'u16', 'u8', 'bool',
  'q5_0', 'q5_1', 'q8_1', 'q2_K', 'q3_K', 'q4_K', 'q5_K', 'q6_K',
]);

/** The values of `elements` elements of `type` stored in `bytes`, as f32 (integers above 2²⁴ round). */
export function decodeTensor(type: TensorType, bytes: Uint8Array, elements: number, out: Float32Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const each = (size: number, get: (at: number) => number) => {
    for (let i = 0; i < elements; i++) out[i] = get(i * size);
  };
  switch (type) {
    case 'f64': return each(8, (at) => view.getFloat64(at, true));
    case 'f32': return each(4, (at) => view.getFloat32(at, true));
    case 'f16': return each(2, (at) => f16At(view, at));
    case 'bf16':
      return each(2, (at) => {
        bits[0] = view.getUint16(at, true) << 16;
        return bitsAsF32[0]!;
      });
    case 'f8_e4m3': return each(1, (at) => F8_E4M3[view.getUint8(at)]!);
    case 'f8_e5m2': return each(1, (at) => F8_E5M2[view.getUint8(at)]!);
    case 'i64': return each(8, (at) => Number(view.getBigInt64(at, true)));
    case 'u64': return each(8, (at) => Number(view.getBigUint64(at, true)));
    case 'i32': return each(4, (at) => view.getInt32(at, true));
    case 'u32': return each(4, (at) => view.getUint32(at, true));
    case 'i16': return each(2, (at) => view.getInt16(at, true));
    case 'u16': return each(2, (at) => view.getUint16(at, true));
    case 'i8': return each(1, (at) => view.getInt8(at));
    case 'u8': return each(1, (at) => view.getUint8(at));
    case 'bool': return each(1, (at) => (view.getUint8(at) ? 1 : 0));
    case 'q5_0': return q5(view, elements / 32, false, out);
    case 'q5_1': return q5(view, elements / 32, true, out);
    case 'q8_1':
      for (let b = 0; b < elements / 32; b++) {
        const d = f16At(view, b * 36);
        for (let j = 0; j < 32; j++) out[b * 32 + j] = fround(view.getInt8(b * 36 + 4 + j) * d);
      }
      return;
    case 'q2_K':
    case 'q3_K':
    case 'q4_K':
    case 'q5_K':
    case 'q6_K':
      dequantizeKQuant(type, bytes, elements, out);
      return;
    default:
      throw new RangeError(`decodeTensor: expected type: one of ${[...TS_DECODABLE].join(', ')}, received '${type}'`);
  }
}
