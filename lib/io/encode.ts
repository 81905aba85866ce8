/**
 * Turning f32 values into a tensor type's bytes, for the writers and `sparq convert`: f32, f16
 * (round to nearest even), bf16 (round to nearest even, NaN kept quiet) and the block formats
 * sparq quantizes natively, each row of the last dimension in blocks: q8_0, q4_0, q4_1 (32) and
 * the K-quants q4_K, q5_K, q6_K (256, ggml's reference quantizers, byte-exact with ggml's x86-64
 * build).
 */
import { defaultBlockSize } from '../formats';
import { f32ToF16, quantize } from '../quant';
import type { TensorType } from './types';

export const ENCODABLE: readonly TensorType[] = Object.freeze(['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q4_K', 'q5_K', 'q6_K'] as TensorType[]);

/** bf16 bits of each value: the top 16 bits of the f32, rounded to nearest even. */
export function f32ToBf16(x: Float32Array): Uint16Array {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const b = bits[i]!;
    if ((b & 0x7fffffff) > 0x7f800000) out[i] = (b >>> 16) | 0x40; // NaN stays a (quiet) NaN
    else out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** The bytes of `values` (shape `shape`, row-major) stored as `type`. */
export function encodeTensor(fn: string, name: string, values: Float32Array, shape: readonly number[], type: TensorType): Uint8Array {
  const bytes = (v: ArrayBufferView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  switch (type) {
    case 'f32': return bytes(values);
    case 'f16': return bytes(f32ToF16(values));
    case 'bf16': return bytes(f32ToBf16(values));
    case 'q8_0':
    case 'q4_0':
    case 'q4_1':
    case 'q4_K':
    case 'q5_K':
    case 'q6_K': {
      const k = shape.length ? shape[shape.length - 1]! : 1;
      const block = defaultBlockSize(type);
      if (k % block !== 0 || values.length === 0) throw new RangeError(`${fn}: tensor '${name}' has rows of ${k}, not a multiple of ${type}'s block of ${block}`);
      const w = quantize(values, values.length / k, k, type);
      const out = w.toBytes();
      w.dispose();
      return out;
    }
    default:
      throw new RangeError(`${fn}: expected a type sparq can write: ${ENCODABLE.join(', ')}, received '${type}'`);
  }
}
