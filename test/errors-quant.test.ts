/**
 * Bad input to the quantization family: every entry point refuses wrong kinds with a TypeError
 * and wrong sizes or values with a RangeError naming the argument, what was expected and what
 * came. The second half calls the binding directly, past the TS checks, with forged handles and
 * short arrays: it must throw, never touch memory.
 */
import { describe, expect, it } from 'vitest';
import {
  dequantizeRow,
  f16ToF32,
  f32ToF16,
  matmulQuantized,
  matmulQuantizedAsync,
  quantize,
  quantizeActivationsQ8,
  QuantizedMatrix,
  quantizeRow,
  type QuantFormat,
} from '../lib/index';
import { native, type QuantizedHandle } from '../lib/native';
import { expectThrows } from './helpers';

const w = quantize(new Float32Array(3 * 64), 3, 64, 'q4_0'); // n = 3, k = 64
const nf4 = quantize(new Float32Array(2 * 64), 2, 64, 'nf4');
const q4Bytes = w.toBytes(); // 3 rows × 2 blocks × 18 bytes = 108

function withNaN(length: number, at: number, value = Number.NaN): Float32Array {
  const x = new Float32Array(length);
  x[at] = value;
  return x;
}

type Case = [name: string, call: () => unknown, error: typeof TypeError | typeof RangeError, message: RegExp];

const cases: Case[] = [
  // quantize
  ['quantize: w not a Float32Array', () => quantize(new Float64Array(64) as unknown as Float32Array, 1, 64, 'q8_0'), TypeError, /^quantize: expected w: Float32Array, received Float64Array of length 64$/],
  ['quantize: w too short', () => quantize(new Float32Array(63), 1, 64, 'q8_0'), RangeError, /^quantize: expected w: Float32Array of length 64 \(n·k\), received Float32Array of length 63$/],
  ['quantize: unknown format', () => quantize(new Float32Array(64), 1, 64, 'q5_0' as QuantFormat), RangeError, /^quantize: expected format: one of 'q8_0', 'q4_0', 'q4_1', 'nf4', 'int8', 'q4_K', 'q5_K', 'q6_K', received string "q5_0"$/],
  ['quantize: format not a string', () => quantize(new Float32Array(64), 1, 64, 4 as unknown as QuantFormat), TypeError, /expected format: one of .*, received number 4/],
  ['quantize: k not a multiple of the block', () => quantize(new Float32Array(48), 1, 48, 'q4_0'), RangeError, /^quantize: expected k: a multiple of the block size 32, received number 48$/],
  ['quantize: ggml block size not 32', () => quantize(new Float32Array(64), 1, 64, 'q4_0', { blockSize: 64 }), RangeError, /expected blockSize: 32 for q4_0, received number 64/],
  ['quantize: nf4 block not a power of two', () => quantize(new Float32Array(96), 1, 96, 'nf4', { blockSize: 48 }), RangeError, /expected blockSize: a power of two in \[32, 4096\] for nf4, received number 48/],
  ['quantize: int8 block 32', () => quantize(new Float32Array(64), 1, 64, 'int8', { blockSize: 32 }), RangeError, /expected blockSize: a power of two in \[64, 4096\] for int8, received number 32/],
  ['quantize: K-quant block size not 256', () => quantize(new Float32Array(512), 1, 512, 'q4_K', { blockSize: 32 }), RangeError, /expected blockSize: 256 for q4_K, received number 32/],
  ['quantize: K-quant k not a multiple of 256', () => quantize(new Float32Array(384), 1, 384, 'q6_K'), RangeError, /expected k: a multiple of the block size 256, received number 384/],
  ['quantize: K-quant NaN', () => quantize(Float32Array.from({ length: 256 }, (_, i) => (i === 77 ? NaN : 1)), 1, 256, 'q5_K'), RangeError, /finite values, received NaN at index 77/],
  ['quantize: K-quant d overflows f16', () => quantize(new Float32Array(256).fill(3e38), 1, 256, 'q4_K'), RangeError, /q4_K/],
  ['fromBytes: q4_K truncated', () => QuantizedMatrix.fromBytes('q4_K', 2, 256, new Uint8Array(287)), RangeError, /length 288 \(n·k\/blockSize blocks of 144 bytes\), received Uint8Array of length 287/],
  ['quantize: block size fractional', () => quantize(new Float32Array(64), 1, 64, 'nf4', { blockSize: 32.5 }), TypeError, /expected blockSize: an integer, received number 32.5/],
  ['quantize: NaN in w', () => quantize(withNaN(64, 37), 1, 64, 'q4_0'), RangeError, /^quantize: expected w: finite values, received NaN at index 37$/],
  ['quantize: -Infinity in w (nf4)', () => quantize(withNaN(128, 100, -Infinity), 1, 128, 'nf4'), RangeError, /^quantize: expected w: finite values, received -Infinity at index 100$/],
  ['quantize: q8_0 scale overflows f16', () => quantize(withNaN(64, 40, 1e7), 1, 64, 'q8_0'), RangeError, /^quantize: expected w: values whose q8_0 block scale fits in f16 \(magnitude below 65520\), received a block that overflows it: row 0, elements 32…63$/],
  ['quantize: q4_1 min overflows f16', () => quantize(withNaN(64, 3, -70000), 2, 32, 'q4_1'), RangeError, /q4_1 block scale fits in f16.*row 0, elements 0…31/],
  ['quantize: n zero', () => quantize(new Float32Array(0), 0, 32, 'q8_0'), RangeError, /expected n: an integer in \[1, 2147483647\], received number 0/],
  ['quantize: options not an object', () => quantize(new Float32Array(32), 1, 32, 'q8_0', 32 as unknown as object), TypeError, /expected options: an object, received number 32/],
  // fromBytes
  ['fromBytes: truncated', () => QuantizedMatrix.fromBytes('q4_0', 3, 64, q4Bytes.subarray(0, 107)), RangeError, /^QuantizedMatrix.fromBytes: expected bytes: Uint8Array of length 108 \(n·k\/blockSize blocks of 18 bytes\), received Uint8Array of length 107$/],
  ['fromBytes: too long', () => QuantizedMatrix.fromBytes('q4_0', 3, 64, new Uint8Array(109)), RangeError, /length 108 .*received Uint8Array of length 109/],
  ['fromBytes: bytes of another type', () => QuantizedMatrix.fromBytes('q8_0', 1, 32, new Int8Array(34) as unknown as Uint8Array), TypeError, /expected bytes: Uint8Array, received Int8Array of length 34/],
  ['fromBytes: wrong format for the length', () => QuantizedMatrix.fromBytes('q8_0', 3, 64, q4Bytes), RangeError, /expected bytes: Uint8Array of length 204/],
  ['fromBytes: nf4 with the wrong block size', () => QuantizedMatrix.fromBytes('nf4', 1, 128, new Uint8Array(72), { blockSize: 128 }), RangeError, /length 68 .*blocks of 68 bytes.*received Uint8Array of length 72/],
  ['fromBytes: k not a multiple of the block', () => QuantizedMatrix.fromBytes('q8_0', 1, 40, new Uint8Array(34)), RangeError, /expected k: a multiple of the block size 32, received number 40/],
  // dequantize / toBytes
  ['dequantize: out too short', () => w.dequantize({ out: new Float32Array(191) }), RangeError, /^QuantizedMatrix.dequantize: expected out: Float32Array of length ≥ 192 \(n·k\), received Float32Array of length 191$/],
  // quantizeRow / dequantizeRow
  ['quantizeRow: x empty', () => quantizeRow(new Float32Array(0), 'q8_0'), RangeError, /^quantizeRow: expected x: Float32Array of length ≥ 1 \(at least one element\), received Float32Array of length 0$/],
  ['quantizeRow: x not a multiple of the block', () => quantizeRow(new Float32Array(33), 'q8_0'), RangeError, /expected k: a multiple of the block size 32, received number 33/],
  ['quantizeRow: out too short', () => quantizeRow(new Float32Array(64), 'q4_1', { out: new Uint8Array(39) }), RangeError, /expected out: Uint8Array of length ≥ 40 \(blocks of the row\), received Uint8Array of length 39/],
  ['quantizeRow: x shorter than one block', () => quantizeRow(new Float32Array(32), 'int8', { blockSize: 64 }), RangeError, /expected k: a multiple of the block size 64, received number 32/],
  ['quantizeRow: NaN', () => quantizeRow(withNaN(64, 63), 'int8'), RangeError, /^quantizeRow: expected x: finite values, received NaN at index 63$/],
  ['dequantizeRow: truncated row', () => dequantizeRow(new Uint8Array(35), 'q8_0', 64), RangeError, /^dequantizeRow: expected bytes: Uint8Array of length 68 \(k\/blockSize blocks of 34 bytes\), received Uint8Array of length 35$/],
  ['dequantizeRow: k fractional', () => dequantizeRow(new Uint8Array(34), 'q8_0', 32.5), TypeError, /expected k: an integer, received number 32.5/],
  ['dequantizeRow: out short', () => dequantizeRow(new Uint8Array(34), 'q8_0', 32, { out: new Float32Array(31) }), RangeError, /expected out: Float32Array of length ≥ 32 \(k\)/],
  // matmulQuantized
  ['matmul: w not a QuantizedMatrix', () => matmulQuantized(new Float32Array(64), q4Bytes as unknown as QuantizedMatrix, 1), TypeError, /^matmulQuantized: expected w: a QuantizedMatrix \(from quantize or QuantizedMatrix.fromBytes\), received Uint8Array of length 108$/],
  ['matmul: w a look-alike', () => matmulQuantized(new Float32Array(64), { n: 3, k: 64, format: 'q4_0', handle: {} } as unknown as QuantizedMatrix, 1), TypeError, /expected w: a QuantizedMatrix/],
  ['matmul: x short', () => matmulQuantized(new Float32Array(127), w, 2), RangeError, /^matmulQuantized: expected x: Float32Array of length ≥ 128 \(m·k\), received Float32Array of length 127$/],
  ['matmul: x of another type', () => matmulQuantized(new Uint8Array(64) as unknown as Float32Array, w, 1), TypeError, /expected x: Float32Array, received Uint8Array of length 64/],
  ['matmul: m negative', () => matmulQuantized(new Float32Array(64), w, -1), RangeError, /expected m: an integer in \[0, 2147483647\], received number -1/],
  ['matmul: bias short', () => matmulQuantized(new Float32Array(64), w, 1, { bias: new Float32Array(2) }), RangeError, /expected bias: Float32Array of length 3 \(n\), received Float32Array of length 2/],
  ['matmul: out short', () => matmulQuantized(new Float32Array(128), w, 2, { out: new Float32Array(5) }), RangeError, /expected out: Float32Array of length ≥ 6 \(m·n\), received Float32Array of length 5/],
  ['matmul: unknown precision', () => matmulQuantized(new Float32Array(64), w, 1, { precision: 'f16' as 'f32' }), RangeError, /expected precision: 'int8' or 'f32', received string "f16"/],
  ['matmul: int8 precision for nf4', () => matmulQuantized(new Float32Array(64), nf4, 1, { precision: 'int8' }), RangeError, /expected precision: 'f32' for nf4 \(its codes are not linear\), received string "int8"/],
  ['matmul: NaN activations at int8 precision', () => matmulQuantized(withNaN(64, 5), w, 1), RangeError, /^matmulQuantized: expected x: finite values \(precision 'int8' quantizes them\), received NaN or ±Infinity$/],
  // quantizeActivationsQ8
  ['quantizeActivationsQ8: k not a multiple of 32', () => quantizeActivationsQ8(new Float32Array(40), 1, 40), RangeError, /expected k: a multiple of 32, received number 40/],
  ['quantizeActivationsQ8: NaN', () => quantizeActivationsQ8(withNaN(32, 1), 1, 32), RangeError, /expected x: finite values/],
  // f16 helpers
  ['f16ToF32: out of range', () => f16ToF32(65536), RangeError, /^f16ToF32: expected h: an integer in \[0, 65535\], received number 65536$/],
  ['f16ToF32: fractional', () => f16ToF32(1.5), TypeError, /expected h: an integer, received number 1.5/],
  ['f16ToF32: Uint8Array', () => f16ToF32(new Uint8Array(2) as unknown as Uint16Array), TypeError, /expected h: Uint16Array, received Uint8Array of length 2/],
  ['f32ToF16: Float64Array', () => f32ToF16(new Float64Array(2) as unknown as Float32Array), TypeError, /expected x: Float32Array, received Float64Array of length 2/],
  ['f32ToF16: out short', () => f32ToF16(new Float32Array(3), new Uint16Array(2)), RangeError, /expected out: Uint16Array of length ≥ 3 \(x.length\), received Uint16Array of length 2/],
];

describe('quantization entry points reject bad input', () => {
  it.each(cases)('%s', (_name, call, error, message) => {
    expectThrows(call, error, message);
  });

  it('matmulQuantizedAsync rejects bad input before any work starts', async () => {
    await expect(matmulQuantizedAsync(new Float32Array(1), w, 1)).rejects.toThrow(/expected x: Float32Array of length ≥ 64/);
    await expect(matmulQuantizedAsync(withNaN(64, 0), w, 1)).rejects.toThrow(RangeError);
  });
});

const handle = w.handle;
const forged = {} as QuantizedHandle;
type NativeCase = [string, () => unknown, typeof TypeError | typeof RangeError];
const nativeCases: NativeCase[] = [
  ['quantize with a short w', () => native.quantize(new Float32Array(63), 1, 64, 'q8_0', 32), RangeError],
  ['quantize with a block size that does not divide k', () => native.quantize(new Float32Array(96), 1, 96, 'nf4', 64), RangeError],
  ['quantize with a ggml block size of 64', () => native.quantize(new Float32Array(64), 1, 64, 'q4_0', 64), RangeError],
  ['quantize with a block size not a power of two', () => native.quantize(new Float32Array(192), 1, 192, 'int8', 96), RangeError],
  ['quantize with an unknown format', () => native.quantize(new Float32Array(32), 1, 32, 'q2_k', 32), RangeError],
  ['quantize with a numeric format', () => native.quantize(new Float32Array(32), 1, 32, 3 as unknown as string, 32), TypeError],
  ['quantizedFromBytes with one byte too few', () => native.quantizedFromBytes('q4_0', 3, 64, 32, new Uint8Array(107)), RangeError],
  ['quantizedFromBytes with one byte too many', () => native.quantizedFromBytes('q4_0', 3, 64, 32, new Uint8Array(109)), RangeError],
  ['quantizedToBytes with a forged handle', () => native.quantizedToBytes(forged), TypeError],
  ['quantizedDequantize with a short out', () => native.quantizedDequantize(handle, new Float32Array(191)), RangeError],
  ['quantizeRow with a short out', () => native.quantizeRow(new Float32Array(64), 64, 'q8_0', 32, new Uint8Array(67)), RangeError],
  ['quantizeRow with k past x', () => native.quantizeRow(new Float32Array(32), 64, 'q8_0', 32, new Uint8Array(68)), RangeError],
  ['dequantizeRow with short bytes', () => native.dequantizeRow(new Uint8Array(67), 64, 'q8_0', 32, new Float32Array(64)), RangeError],
  ['matmulQuantized with a forged handle', () => native.matmulQuantized(new Float32Array(64), forged, 1, undefined, 0, new Float32Array(3)), TypeError],
  ['matmulQuantized with a short out', () => native.matmulQuantized(new Float32Array(64), handle, 1, undefined, 0, new Float32Array(2)), RangeError],
  ['matmulQuantized with a short bias', () => native.matmulQuantized(new Float32Array(64), handle, 1, new Float32Array(2), 0, new Float32Array(3)), RangeError],
  ['matmulQuantized with precision 2', () => native.matmulQuantized(new Float32Array(64), handle, 1, undefined, 2, new Float32Array(3)), RangeError],
  ['matmulQuantized with int8 precision on nf4', () => native.matmulQuantized(new Float32Array(64), nf4.handle, 1, undefined, 0, new Float32Array(2)), RangeError],
  ['matmulQuantizedAsync with a short x', () => native.matmulQuantizedAsync(new Float32Array(63), handle, 1, undefined, 0), RangeError],
  ['quantizeActivationsQ8 with a short s', () => native.quantizeActivationsQ8(new Float32Array(64), 1, 64, new Int8Array(64), new Float32Array(2), new Int32Array(1)), RangeError],
  ['f32ToF16 with a short out', () => native.f32ToF16(new Float32Array(4), new Uint16Array(3)), RangeError],
  ['f16ToF32 with out of the wrong type', () => native.f16ToF32(new Uint16Array(4), new Float64Array(4) as unknown as Float32Array), TypeError],
];

describe('quantization binding re-checks', () => {
  it.each(nativeCases)('%s', (_name, call, error) => {
    expect(call).toThrow(error);
  });
});
