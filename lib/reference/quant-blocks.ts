/**
 * The block codec behind the quantization reference (quant.ts): the NF4 constants, each format's
 * codes in its block, and quantizing and dequantizing whole blocks in the contract's f32 steps
 * (docs/quantization.md). Not part of sparq/reference's API; quant.ts is.
 */
import { blockBytes as bytesPerBlock, isKQuant, type QuantFormat } from '../formats';
import { f16Value, f32ToF16 } from './f16';
import { dequantizeKQuant } from './kquant';
import { quantizeKBlock } from './kquant-matmul';
import { f32, roundHalfAway, roundHalfEven } from './round';

/** The bitsandbytes NormalFloat-4 codebook, ascending (code 0 … 15). */
export const NF4_CODES = new Float32Array([
  -1, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1,
]);

/** bitsandbytes' decision-tree constants: code = the number of thresholds t with x·inv > t. */
export const NF4_THRESHOLDS = new Float32Array([
  -0.8480964004993439, -0.6106329262256622, -0.4599952697753906, -0.33967943489551544, -0.23460740596055984,
  -0.13791173323988914, -0.045525018125772476, 0.03979014977812767, 0.1202552504837513, 0.2035212516784668,
  0.2920137718319893, 0.3893125355243683, 0.5016634166240692, 0.6427869200706482, 0.8614784181118011,
]);

/** The scale fields at the start of a block: f16 d (q8_0, q4_0), f16 d + f16 m (q4_1), f32 absmax (nf4, int8). */
function headerBytes(format: QuantFormat): number {
  return format === 'q8_0' || format === 'q4_0' ? 2 : 4;
}

/** Code of element t of the block at byte `at`, as the layout table of docs/quantization.md packs it. */
export function codeAt(format: QuantFormat, bytes: Uint8Array, at: number, t: number): number {
  const codes = at + headerBytes(format);
  switch (format) {
    case 'q8_0':
    case 'int8':
      return (bytes[codes + t]! << 24) >> 24; // signed byte
    case 'q4_0':
    case 'q4_1': {
      const byte = bytes[codes + (t % 16)]!; // byte j = q[j] (low nibble) | q[j+16] (high nibble)
      return t < 16 ? byte & 15 : byte >> 4;
    }
    case 'nf4': {
      const byte = bytes[codes + (t >> 1)]!; // byte j = c[2j] (high nibble) | c[2j+1] (low nibble)
      return t % 2 === 0 ? byte >> 4 : byte & 15;
    }
    default:
      throw new Error(`codeAt: ${format} codes are read by kquant.ts`);
  }
}

function packCodes(format: QuantFormat, codes: Int32Array, out: Uint8Array, at: number): void {
  const base = at + headerBytes(format);
  switch (format) {
    case 'q8_0':
    case 'int8':
      for (let t = 0; t < codes.length; t++) out[base + t] = codes[t]! & 0xff;
      break;
    case 'q4_0':
    case 'q4_1':
      for (let j = 0; j < 16; j++) out[base + j] = codes[j]! | (codes[j + 16]! << 4);
      break;
    case 'nf4':
      for (let j = 0; j < codes.length / 2; j++) out[base + j] = (codes[2 * j]! << 4) | codes[2 * j + 1]!;
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// Quantize and dequantize

/** `1/d`, or 0 when d is 0 or 1/d overflows f32 (|d| < 2⁻¹²⁸). */
export function inverse(d: number): number {
  const id = f32(1 / d);
  return d === 0 || !Number.isFinite(id) ? 0 : id;
}

function absMax(x: Float32Array): number {
  let amax = 0;
  for (let t = 0; t < x.length; t++) amax = Math.max(amax, Math.abs(x[t]!));
  return amax;
}

type TooLarge = (field: string, value: number) => never;

/** f16 bits of an f32 scale field; a field that would round to ±Inf cannot be stored. */
function f16Field(value: number, field: string, tooLarge: TooLarge): number {
  const h = f32ToF16(value);
  if ((h & 0x7fff) === 0x7c00) tooLarge(field, value);
  return h;
}

/** Quantizes one block of finite values into out at byte `at`. */
function quantizeBlock(format: QuantFormat, x: Float32Array, out: Uint8Array, at: number, tooLarge: TooLarge): void {
  if (isKQuant(format)) return quantizeKBlock(format, x, out, at, tooLarge);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const codes = new Int32Array(x.length);
  switch (format) {
    case 'q8_0': {
      const d = f32(absMax(x) / 127);
      const id = inverse(d);
      for (let t = 0; t < x.length; t++) codes[t] = roundHalfAway(f32(x[t]! * id));
      view.setUint16(at, f16Field(d, 'd = amax/127', tooLarge), true);
      break;
    }
    case 'q4_0': {
      let amax = 0;
      let max = 0; // the signed value of largest |x|; strict > so the first of a tie wins
      for (let t = 0; t < x.length; t++) {
        if (Math.abs(x[t]!) > amax) {
          amax = Math.abs(x[t]!);
          max = x[t]!;
        }
      }
      const d = f32(max / -8); // −0 for an all-zero block, as in ggml
      const id = inverse(d);
      for (let t = 0; t < x.length; t++) codes[t] = Math.min(15, Math.trunc(f32(f32(x[t]! * id) + 8.5)));
      view.setUint16(at, f16Field(d, 'd = max/−8', tooLarge), true);
      break;
    }
    case 'q4_1': {
      let min = Infinity;
      let max = -Infinity;
      for (let t = 0; t < x.length; t++) {
        if (x[t]! < min) min = x[t]!;
        if (x[t]! > max) max = x[t]!;
      }
      const d = f32(f32(max - min) / 15);
      const id = inverse(d);
      for (let t = 0; t < x.length; t++) codes[t] = Math.min(15, Math.trunc(f32(f32(f32(x[t]! - min) * id) + 0.5)));
      view.setUint16(at, f16Field(d, 'd = (max − min)/15', tooLarge), true);
      view.setUint16(at + 2, f16Field(min, 'm = min', tooLarge), true);
      break;
    }
    case 'nf4': {
      const absmax = absMax(x);
      const inv = f32(1 / absmax); // +Inf when absmax is 0 or tiny: 0·Inf is NaN and exceeds no threshold
      for (let t = 0; t < x.length; t++) {
        const v = f32(x[t]! * inv);
        let code = 0;
        for (const threshold of NF4_THRESHOLDS) if (v > threshold) code++;
        codes[t] = code;
      }
      view.setFloat32(at, absmax, true);
      break;
    }
    case 'int8': {
      const absmax = absMax(x);
      for (let t = 0; t < x.length; t++) codes[t] = absmax === 0 ? 0 : roundHalfEven(f32(f32(x[t]! / absmax) * 127));
      view.setFloat32(at, absmax, true);
      break;
    }
  }
  packCodes(format, codes, out, at);
}

/**
 * Quantizes x (a whole number of blocks). Any NaN/±Inf is refused first, naming the first bad
 * index; then a block whose f16 scale would be ±Inf is refused, naming the block.
 */
export function quantizeBlocks(
  fn: string,
  name: string,
  x: Float32Array,
  format: QuantFormat,
  blockSize: number,
  element: (index: number) => string,
  block: (b: number) => string,
): Uint8Array {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) throw new RangeError(`${fn}: expected ${name}: finite values, received ${x[i]} at ${element(i)}`);
  }
  const size = bytesPerBlock(format, blockSize);
  const out = new Uint8Array((x.length / blockSize) * size);
  for (let b = 0; b < x.length / blockSize; b++) {
    const tooLarge: TooLarge = (field, value) => {
      throw new RangeError(`${fn}: expected ${name}: blocks whose f16 fields stay below 65520 in magnitude, received ${block(b)} with ${field} = ${value}`);
    };
    quantizeBlock(format, x.subarray(b * blockSize, (b + 1) * blockSize), out, b * size, tooLarge);
  }
  return out;
}

/** Values of `count` elements stored as blocks in bytes. NaN/Inf scales propagate by IEEE arithmetic. */
export function dequantizeBlocks(bytes: Uint8Array, format: QuantFormat, blockSize: number, count: number): Float32Array {
  if (isKQuant(format)) return dequantizeKQuant(format, bytes, count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = bytesPerBlock(format, blockSize);
  const out = new Float32Array(count);
  for (let b = 0; b < count / blockSize; b++) {
    const at = b * size;
    const y = out.subarray(b * blockSize, (b + 1) * blockSize);
    const code = (t: number): number => codeAt(format, bytes, at, t);
    switch (format) {
      case 'q8_0': {
        const d = f16Value(view.getUint16(at, true));
        for (let t = 0; t < blockSize; t++) y[t] = f32(code(t) * d);
        break;
      }
      case 'q4_0': {
        const d = f16Value(view.getUint16(at, true));
        for (let t = 0; t < blockSize; t++) y[t] = f32((code(t) - 8) * d);
        break;
      }
      case 'q4_1': {
        const d = f16Value(view.getUint16(at, true));
        const m = f16Value(view.getUint16(at + 2, true));
        for (let t = 0; t < blockSize; t++) y[t] = f32(f32(code(t) * d) + m);
        break;
      }
      case 'nf4': {
        const absmax = view.getFloat32(at, true);
        for (let t = 0; t < blockSize; t++) y[t] = f32(NF4_CODES[code(t)]! * absmax);
        break;
      }
      case 'int8': {
        const s = f32(view.getFloat32(at, true) / 127);
        for (let t = 0; t < blockSize; t++) y[t] = f32(code(t) * s);
        break;
      }
    }
  }
  return out;
}
