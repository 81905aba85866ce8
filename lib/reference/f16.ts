/**
 * Reference of IEEE binary16 conversion (docs/quantization.md): f32 → f16 rounds to nearest even,
 * overflows to ±Inf and keeps NaN a NaN; f16 → f32 is exact. Used by the block formats' scales.
 */
import { fail, int, typed } from '../validate';

// ---------------------------------------------------------------------------------------------
// f16 ↔ f32

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** IEEE binary16 bits of f32(x): nearest even, overflow to ±Inf, NaN → sign | 0x7e00 | payload >> 13. */
export function f32ToF16(x: number): number {
  if (typeof x !== 'number') fail('type', 'reference.f32ToF16', 'x', 'a number', x);
  scratchF32[0] = x; // rounds to f32, as Math.fround does
  return f16FromF32Bits(scratchU32[0]!);
}

/** The f32 value of binary16 bits h, exactly; every NaN comes back as NaN. */
export function f16ToF32(h: number): number {
  int('reference.f16ToF32', 'h', h, 0, 0xffff);
  return f16Value(h);
}

/** f32ToF16 element by element, reading the f32 bits (so NaN payloads survive). */
export function f32ToF16Array(x: Float32Array): Uint16Array {
  typed('reference.f32ToF16Array', 'x', x, Float32Array, 0, 'any length');
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f16FromF32Bits(bits[i]!);
  return out;
}

/** f16ToF32 element by element, writing the f32 bits: a NaN maps to sign | 0x7fc00000 | payload << 13. */
export function f16ToF32Array(h: Uint16Array): Float32Array {
  typed('reference.f16ToF32Array', 'h', h, Uint16Array, 0, 'any length');
  const out = new Float32Array(h.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < h.length; i++) bits[i] = f32BitsFromF16(h[i]!);
  return out;
}

function f16FromF32Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  const e = exponent - 127; // f32 zeros and subnormals (exponent 0) land far below −25
  if (e > 15) return sign | 0x7c00;
  // Normal f16: drop 13 mantissa bits; a carry out of the mantissa bumps the exponent, up to Inf.
  if (e >= -14) return sign | shiftRightEven(((e + 15) << 23) | mantissa, 13);
  // Subnormal f16 counts units of 2⁻²⁴: (1.mantissa · 2^e) / 2⁻²⁴ = significand >> (−1 − e).
  if (e < -25) return sign; // below 2⁻²⁵: rounds to zero
  return sign | shiftRightEven(0x800000 | mantissa, -1 - e);
}

/** v / 2^shift rounded to nearest, ties to even (0 < shift ≤ 24, v < 2³¹). */
function shiftRightEven(v: number, shift: number): number {
  const kept = v >>> shift;
  const rest = v & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

/** The value of binary16 bits h (the scale fields of the ggml formats). */
export function f16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

function f32BitsFromF16(h: number): number {
  const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
  if (isNaN) return (((h & 0x8000) << 16) | 0x7fc00000 | ((h & 0x3ff) << 13)) >>> 0;
  scratchF32[0] = f16Value(h); // exact: every f16 value is an f32
  return scratchU32[0]!;
}
