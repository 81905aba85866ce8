/**
 * The quantization reference against cases worked by hand from docs/quantization.md: if these
 * hold, the reference can be trusted as the spec the native kernels are held to. This file: f16
 * and the formats; reference-quant-matmul.test.ts: the activation quantizer, the matmul, bad input. (toEqual tells
 * −0 from +0, so the expected arrays say which zero they mean.)
 */
import { describe, expect, it } from 'vitest';
import * as reference from '../lib/reference/index';
import type { QuantFormat } from '../lib/reference/index';
import { list, row } from './helpers';

const { quantizeRow, dequantizeRow } = reference;

// --- helpers ---------------------------------------------------------------------------------

const f32 = Math.fround;
const bitsScratch = new Float32Array(1);
const bitsView = new Uint32Array(bitsScratch.buffer);

/** The next f32 after x towards +Inf / −Inf (x finite and nonzero). */
function nextUp(x: number): number {
  bitsScratch[0] = x;
  bitsView[0] = bitsView[0]! + (x > 0 ? 1 : -1);
  return bitsScratch[0]!;
}
function nextDown(x: number): number {
  bitsScratch[0] = x;
  bitsView[0] = bitsView[0]! + (x > 0 ? -1 : 1);
  return bitsScratch[0]!;
}

const repeat = (value: number, times: number): number[] => new Array<number>(times).fill(value);
/** Little-endian bytes of an f32. */
function f32Bytes(x: number): number[] {
  return list(new Uint8Array(new Float32Array([x]).buffer));
}

// --- f16 ------------------------------------------------------------------------------------

describe('reference f16 conversion', () => {
  it.each([
    ['1', 1, 0x3c00],
    ['−2', -2, 0xc000],
    ['0.1 (nearest even)', 0.1, 0x2e66],
    ['65504, the largest f16', 65504, 0x7bff],
    ['65519.99, still below the midpoint', 65519.99, 0x7bff],
    ['65520, the midpoint to 2¹⁶: overflows', 65520, 0x7c00],
    ['−65520', -65520, 0xfc00],
    ['2⁻²⁴, the smallest subnormal', 2 ** -24, 0x0001],
    ['2⁻²⁵: a tie, to the even 0', 2 ** -25, 0x0000],
    ['one ulp above 2⁻²⁵', nextUp(2 ** -25), 0x0001],
    ['−2⁻²⁵: to −0', -(2 ** -25), 0x8000],
    ['3·2⁻²⁵: a tie, to the even 2·2⁻²⁴', 3 * 2 ** -25, 0x0002],
    ['1023.5·2⁻²⁴: a tie that carries into the smallest normal', 1023.5 * 2 ** -24, 0x0400],
    ['2⁻¹⁴, the smallest normal', 2 ** -14, 0x0400],
    ['1 + 2⁻¹¹: a tie, to the even 1', 1 + 2 ** -11, 0x3c00],
    ['1 + 3·2⁻¹¹: a tie, to the even 1 + 2⁻⁹', 1 + 3 * 2 ** -11, 0x3c02],
    ['1 + 2⁻¹¹ + 2⁻³⁰: rounded to f32 first, so a tie', 1 + 2 ** -11 + 2 ** -30, 0x3c00],
    ['one f32 ulp above 1 + 2⁻¹¹', nextUp(1 + 2 ** -11), 0x3c01],
    ['2⁻¹⁴⁹, an f32 subnormal', 2 ** -149, 0x0000],
    ['+0', 0, 0x0000],
    ['−0', -0, 0x8000],
    ['+Inf', Infinity, 0x7c00],
    ['−Inf', -Infinity, 0xfc00],
    ['NaN (f32 0x7fc00000)', NaN, 0x7e00],
  ])('f32ToF16(%s)', (_, x, bits) => {
    expect(reference.f32ToF16(x)).toBe(bits);
  });

  it('keeps the quiet bit and the top payload bits of a NaN, element by element', () => {
    const x = new Float32Array(new Uint32Array([0x7fc00000, 0x7f800001, 0xffa00000, 0x7f802000, 0x7fffffff]).buffer);
    expect(list(reference.f32ToF16Array(x))).toEqual([0x7e00, 0x7e00, 0xff00, 0x7e01, 0x7fff]);
  });

  it.each([
    [0x3c00, 1],
    [0xc000, -2],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x0400, 2 ** -14],
    [0x8000, -0],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x7e01, NaN],
    [0x7c01, NaN],
  ])('f16ToF32(%i)', (bits, value) => {
    expect(reference.f16ToF32(bits)).toBe(value);
  });

  it('widens a NaN to sign | 0x7fc00000 | payload << 13, element by element', () => {
    const out = reference.f16ToF32Array(new Uint16Array([0x7c01, 0xfd00, 0x7e00, 0x7fff]));
    expect(list(new Uint32Array(out.buffer))).toEqual([0x7fc02000, 0xffe00000, 0x7fc00000, 0x7fffe000]);
  });

  it('round-trips all 65536 patterns (NaNs come back quiet)', () => {
    const all = new Uint16Array(65536).map((_, h) => h);
    const isNaN = (h: number): boolean => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    const back = reference.f32ToF16Array(reference.f16ToF32Array(all));
    for (let h = 0; h < 65536; h++) {
      if (back[h] !== (isNaN(h) ? h | 0x0200 : h)) expect.fail(`bulk: 0x${h.toString(16)} came back as 0x${back[h]!.toString(16)}`);
      if (!isNaN(h) && reference.f32ToF16(reference.f16ToF32(h)) !== h) expect.fail(`scalar: 0x${h.toString(16)} did not round-trip`);
    }
  });
});

// --- formats --------------------------------------------------------------------------------

describe('reference block sizes', () => {
  it.each([
    ['q8_0', undefined, 32, 34],
    ['q4_0', undefined, 32, 18],
    ['q4_1', undefined, 32, 20],
    ['nf4', undefined, 64, 36],
    ['nf4', 32, 32, 20],
    ['nf4', 4096, 4096, 2052],
    ['int8', undefined, 64, 68],
    ['int8', 128, 128, 132],
  ] as Array<[QuantFormat, number | undefined, number, number]>)('%s with block size %s', (format, blockSize, size, bytes) => {
    if (blockSize === undefined) expect(reference.defaultBlockSize(format)).toBe(size);
    expect(reference.blockBytes(format, blockSize)).toBe(bytes);
  });

  it('lists the formats in their fixed order', () => {
    expect(reference.QUANT_FORMATS).toEqual(['q8_0', 'q4_0', 'q4_1', 'nf4', 'int8', 'q4_K', 'q5_K', 'q6_K']);
  });
});

describe('reference q8_0', () => {
  it('stores an all-zero block as zero bytes', () => {
    expect(list(quantizeRow(row(32), 'q8_0'))).toEqual(repeat(0, 34));
    expect(list(dequantizeRow(new Uint8Array(34), 'q8_0', 32))).toEqual(repeat(0, 32));
  });

  it('maps a constant block to ±127 with d = amax/127 (positive whatever the sign)', () => {
    expect(list(quantizeRow(row(32, {}, 127), 'q8_0'))).toEqual([0x00, 0x3c, ...repeat(127, 32)]);
    expect(list(quantizeRow(row(32, {}, -127), 'q8_0'))).toEqual([0x00, 0x3c, ...repeat(0x81, 32)]);
  });

  it('rounds x·id half away from zero, and one ulp either side of a tie', () => {
    // amax = 127 (negative here): d = 1, id = 1, so x·id is x.
    const x = row(32, { 0: -127, 1: 63.5, 2: -63.5, 3: 0.5, 4: -0.5, 5: 2.5, 6: nextDown(2.5), 7: nextUp(2.5), 8: nextUp(-2.5) });
    const bytes = quantizeRow(x, 'q8_0');
    expect(list(bytes.subarray(0, 2))).toEqual([0x00, 0x3c]);
    expect(list(new Int8Array(bytes.buffer, 2, 32))).toEqual([-127, 64, -64, 1, -1, 3, 2, 3, -2, ...repeat(0, 23)]);
    expect(list(dequantizeRow(bytes, 'q8_0', 32).subarray(0, 9))).toEqual([-127, 64, -64, 1, -1, 3, 2, 3, -2]);
  });

  it('uses id = 1/d: amax 254 gives d = 2, id = 0.5', () => {
    const bytes = quantizeRow(row(32, { 0: 254, 1: 5, 2: -5, 3: 3, 4: 1 }), 'q8_0');
    expect(list(bytes.subarray(0, 7))).toEqual([0x00, 0x40, 127, 3, 0xfd, 2, 1]);
    expect(list(dequantizeRow(bytes, 'q8_0', 32).subarray(0, 5))).toEqual([254, 6, -6, 4, 2]);
  });

  it('takes codes from the f32 scale even when the f16 scale underflows to 0', () => {
    // d = 2⁻¹⁰⁰/127 is a normal f32 (so codes are ±127…) but below f16's range.
    const bytes = quantizeRow(row(32, { 0: 2 ** -100, 1: -(2 ** -102) }), 'q8_0');
    expect(list(bytes.subarray(0, 4))).toEqual([0x00, 0x00, 127, 0xe0]); // −32
    expect(list(dequantizeRow(bytes, 'q8_0', 32).subarray(0, 2))).toEqual([0, -0]);
  });

  it('gives code 0 when 1/d overflows (d subnormal)', () => {
    expect(list(quantizeRow(row(32, { 0: 2 ** -130, 1: -(2 ** -131) }), 'q8_0'))).toEqual(repeat(0, 34));
  });

  it('refuses a block whose d reaches 65520, naming the block', () => {
    // 65519·127: d = 65519, stored as 65504. 65520·127: d = 65520 rounds to Inf in f16.
    expect(list(quantizeRow(row(32, { 0: 65519 * 127 }), 'q8_0').subarray(0, 2))).toEqual([0xff, 0x7b]);
    expect(() => quantizeRow(row(64, { 33: 65520 * 127 }), 'q8_0')).toThrow(
      new RangeError(
        'reference.quantizeRow: expected x: blocks whose f16 fields stay below 65520 in magnitude, received block 1 (index 32) with d = amax/127 = 65520',
      ),
    );
  });

  it('refuses NaN and ±Inf, naming the first bad index (before any scale overflow)', () => {
    expect(() => quantizeRow(row(32, { 5: NaN }), 'q8_0')).toThrow(
      new RangeError('reference.quantizeRow: expected x: finite values, received NaN at index 5'),
    );
    expect(() => quantizeRow(row(64, { 0: 1e30, 33: -Infinity, 40: NaN }), 'q8_0')).toThrow(/received -Infinity at index 33$/);
  });
});

describe('reference q4_0', () => {
  it('stores an all-zero block with d = 0/−8 = −0 and codes 8, which dequantize to −0', () => {
    const bytes = quantizeRow(row(32), 'q4_0');
    expect(list(bytes)).toEqual([0x00, 0x80, ...repeat(0x88, 16)]);
    expect(list(dequantizeRow(bytes, 'q4_0', 32))).toEqual(repeat(-0, 32));
  });

  it('gives d the opposite sign of the largest value: constant 8 → d = −1, constant −8 → d = 1', () => {
    expect(list(quantizeRow(row(32, {}, 8), 'q4_0'))).toEqual([0x00, 0xbc, ...repeat(0x00, 16)]);
    expect(list(quantizeRow(row(32, {}, -8), 'q4_0'))).toEqual([0x00, 0x3c, ...repeat(0x00, 16)]);
    expect(list(dequantizeRow(new Uint8Array([0x00, 0xbc, ...repeat(0x00, 16)]), 'q4_0', 32))).toEqual(repeat(8, 32));
  });

  it('lets the first of +a and −a win a tie for the largest |x|', () => {
    // [8, −8]: max = 8, d = −1. −8·id + 8.5 = 16.5 → 16, clamped to 15, which reads back as −7.
    const first = quantizeRow(row(32, { 0: 8, 1: -8 }), 'q4_0');
    expect(list(first.subarray(0, 4))).toEqual([0x00, 0xbc, 0x80, 0x8f]);
    expect(list(dequantizeRow(first, 'q4_0', 32).subarray(0, 2))).toEqual([8, -7]);
    // [−8, 8]: max = −8, d = 1.
    const second = quantizeRow(row(32, { 0: -8, 1: 8 }), 'q4_0');
    expect(list(second.subarray(0, 4))).toEqual([0x00, 0x3c, 0x80, 0x8f]);
    expect(list(dequantizeRow(second, 'q4_0', 32).subarray(0, 2))).toEqual([-8, 7]);
  });

  it('truncates x·id + 8.5 (an f32 sum) on integers and one ulp either side; nibbles pair j with j + 16', () => {
    // max = −8: d = 1, id = 1.
    const x = row(32, {
      0: -8, // 0.5 → 0
      1: 4, // 12.5 → 12
      2: -4.5, // exactly 4 → 4
      3: nextDown(-4.5), // 4 − 2⁻²¹ → 3
      4: -7.5, // exactly 1 → 1
      5: nextDown(-7.5), // 1 − 2⁻²¹ → 0
      6: nextUp(-7.5), // 1 + 2⁻²¹ → 1
      7: 0.5, // exactly 9 → 9
      8: nextDown(0.5), // 9 − 2⁻²⁵ rounds to 9 in f32 before the truncation → 9
      9: 7, // 15.5 → 15
      16: 7, // → 15, the high nibble of byte 0
      31: -3.5, // exactly 5 → 5, the high nibble of byte 15
    });
    const bytes = quantizeRow(x, 'q4_0');
    expect(list(bytes)).toEqual([0x00, 0x3c, 0xf0, 0x8c, 0x84, 0x83, 0x81, 0x80, 0x81, 0x89, 0x89, 0x8f, ...repeat(0x88, 5), 0x58]);
    const y = dequantizeRow(bytes, 'q4_0', 32);
    expect(list(y.subarray(0, 10))).toEqual([-8, 4, -4, -5, -7, -8, -7, 1, 1, 7]);
    expect([y[16], y[31]]).toEqual([7, -3]);
  });

  it('gives codes 8 when 1/d overflows, and codes from the f32 d when f16 d underflows', () => {
    // max = −2⁻¹³⁰: d = 2⁻¹³³ (f32 subnormal), 1/d overflows, id = 0.
    expect(list(quantizeRow(row(32, { 3: -(2 ** -130) }), 'q4_0'))).toEqual([0x00, 0x00, ...repeat(0x88, 16)]);
    // max = −2⁻¹⁰⁰: d = 2⁻¹⁰³, id = 2¹⁰³; codes 0 and 12 as for max = −8, but d is stored as 0.
    const bytes = quantizeRow(row(32, { 0: -(2 ** -100), 1: 2 ** -101 }), 'q4_0');
    expect(list(bytes.subarray(0, 4))).toEqual([0x00, 0x00, 0x80, 0x8c]);
    expect(list(dequantizeRow(bytes, 'q4_0', 32).subarray(0, 3))).toEqual([-0, 0, 0]);
  });

  it('refuses a block whose d = max/−8 reaches 65520 in magnitude', () => {
    expect(list(quantizeRow(row(32, { 0: -524159 }), 'q4_0').subarray(0, 2))).toEqual([0xff, 0x7b]); // 65519.875 → 65504
    expect(() => quantizeRow(row(32, { 0: -524160 }), 'q4_0')).toThrow(/received block 0 \(index 0\) with d = max\/−8 = 65520$/);
    expect(() => quantizeRow(row(32, { 0: 524160 }), 'q4_0')).toThrow(/with d = max\/−8 = -65520$/);
  });

  it('refuses NaN', () => {
    expect(() => quantizeRow(row(32, { 7: NaN }), 'q4_0')).toThrow(/^reference.quantizeRow: expected x: finite values, received NaN at index 7$/);
  });
});

describe('reference q4_1', () => {
  it('stores an all-zero block as zero bytes', () => {
    expect(list(quantizeRow(row(32), 'q4_1'))).toEqual(repeat(0, 20));
    expect(list(dequantizeRow(new Uint8Array(20), 'q4_1', 32))).toEqual(repeat(0, 32));
  });

  it('stores a constant block as d = 0, m = the constant', () => {
    expect(list(quantizeRow(row(32, {}, 3), 'q4_1'))).toEqual([0x00, 0x00, 0x00, 0x42, ...repeat(0, 16)]);
    expect(list(dequantizeRow(new Uint8Array([0x00, 0x00, 0x00, 0x42, ...repeat(0, 16)]), 'q4_1', 32))).toEqual(repeat(3, 32));
  });

  it('truncates (x − min)·id + 0.5 on integers and one ulp either side', () => {
    // min = −15, max = 0: d = 1 (0x3c00), m = −15 (0xcb80).
    const x = row(32, { 1: 0, 2: -12.5, 3: nextDown(-12.5), 4: nextUp(-12.5), 16: -1 }, -15);
    const bytes = quantizeRow(x, 'q4_1');
    // codes: 0, 15, 3 (exactly 3), 2 (3 − 2⁻²⁰), 3 (3 + 2⁻²⁰), …, element 16: 14.
    expect(list(bytes)).toEqual([0x00, 0x3c, 0x80, 0xcb, 0xe0, 0x0f, 0x03, 0x02, 0x03, ...repeat(0, 11)]);
    const y = dequantizeRow(bytes, 'q4_1', 32);
    expect(list(y.subarray(0, 6))).toEqual([-15, 0, -12, -13, -12, -15]);
    expect(y[16]).toBe(-1);
  });

  it('dequantizes as (q·d) + m', () => {
    // d = 1.5 (0x3e00), m = 2⁻²⁴ (0x0001): 15·1.5 = 22.5, and m is lost in the f32 addition.
    const bytes = new Uint8Array([0x00, 0x3e, 0x01, 0x00, 0x0f, ...repeat(0, 15)]);
    const y = dequantizeRow(bytes, 'q4_1', 32);
    expect([y[0], y[1]]).toEqual([22.5, 2 ** -24]);
  });

  it('gives codes 0 when 1/d overflows', () => {
    expect(list(quantizeRow(row(32, { 9: 2 ** -130 }), 'q4_1'))).toEqual(repeat(0, 20));
  });

  it('refuses a block whose d or m would be ±Inf in f16', () => {
    expect(() => quantizeRow(row(32, { 0: 982800 }), 'q4_1')).toThrow(/block 0 \(index 0\) with d = \(max − min\)\/15 = 65520$/);
    expect(() => quantizeRow(row(64, {}, -65520), 'q4_1')).toThrow(/block 0 \(index 0\) with m = min = -65520$/);
    expect(list(quantizeRow(row(32, {}, -65519), 'q4_1').subarray(0, 4))).toEqual([0x00, 0x00, 0xff, 0xfb]);
  });
});

describe('reference nf4', () => {
  it('holds the bitsandbytes codebook and thresholds', () => {
    expect(reference.NF4_CODES.length).toBe(16);
    expect([reference.NF4_CODES[0], reference.NF4_CODES[7], reference.NF4_CODES[15]]).toEqual([-1, 0, 1]);
    expect(reference.NF4_CODES[13]).toBe(f32(0.5626170039176941));
    expect(reference.NF4_THRESHOLDS.length).toBe(15);
    expect(reference.NF4_THRESHOLDS[7]).toBe(f32(0.03979014977812767));
    for (let t = 0; t < 15; t++) {
      // Each threshold lies between its two codes.
      expect(reference.NF4_THRESHOLDS[t]).toBeGreaterThan(reference.NF4_CODES[t]!);
      expect(reference.NF4_THRESHOLDS[t]).toBeLessThan(reference.NF4_CODES[t + 1]!);
    }
  });

  it('gives an all-zero block codes 0 (0·Inf is NaN), which dequantize to −0', () => {
    const bytes = quantizeRow(row(64), 'nf4');
    expect(list(bytes)).toEqual(repeat(0, 36));
    expect(list(dequantizeRow(bytes, 'nf4', 64))).toEqual(repeat(-0, 64));
  });

  it('maps a constant block to code 15 or 0', () => {
    expect(list(quantizeRow(row(64, {}, 2), 'nf4'))).toEqual([...f32Bytes(2), ...repeat(0xff, 32)]);
    expect(list(quantizeRow(row(64, {}, -2), 'nf4'))).toEqual([...f32Bytes(2), ...repeat(0x00, 32)]);
    expect(list(dequantizeRow(new Uint8Array([...f32Bytes(2), ...repeat(0x00, 32)]), 'nf4', 64))).toEqual(repeat(-2, 64));
  });

  it('scales by 1/absmax of a negative maximum, and puts element 2j in the high nibble', () => {
    // absmax = 4, inv = 0.25: −4 → −1 → code 0; 2 → 0.5 → code 12; 0 → code 7.
    const bytes = quantizeRow(row(64, { 0: -4, 1: 2 }), 'nf4');
    expect(list(bytes)).toEqual([0x00, 0x00, 0x80, 0x40, 0x0c, ...repeat(0x77, 31)]);
    expect(list(dequantizeRow(bytes, 'nf4', 64).subarray(0, 3))).toEqual([-4, f32(0.44070982933044434 * 4), 0]);
  });

  it('gives a value exactly on a threshold the lower code, and the next float up the higher one', () => {
    // absmax = 1, inv = 1: the products are the values themselves.
    const T = reference.NF4_THRESHOLDS;
    const x = row(64, { 0: 1 });
    for (let t = 0; t < 15; t++) {
      x[1 + 3 * t] = T[t]!;
      x[2 + 3 * t] = nextUp(T[t]!);
      x[3 + 3 * t] = nextDown(T[t]!);
    }
    const bytes = quantizeRow(x, 'nf4');
    const code = (i: number): number => (i % 2 === 0 ? bytes[4 + i / 2]! >> 4 : bytes[4 + (i - 1) / 2]! & 15);
    expect(code(0)).toBe(15);
    for (let t = 0; t < 15; t++) expect([code(1 + 3 * t), code(2 + 3 * t), code(3 + 3 * t)], `threshold ${t}`).toEqual([t, t + 1, t]);
  });

  it('keeps the bitsandbytes behaviour when 1/absmax is +Inf: zeros take code 0', () => {
    // absmax = 2⁻¹³⁰ (an f32 subnormal): 2⁻¹³⁰·Inf = Inf → 15, 0·Inf = NaN → 0, −2⁻¹³¹·Inf → 0.
    const bytes = quantizeRow(row(32, { 0: 2 ** -130, 2: -(2 ** -131) }), 'nf4', 32);
    expect(list(bytes)).toEqual([0x00, 0x00, 0x08, 0x00, 0xf0, ...repeat(0, 15)]);
    expect(list(dequantizeRow(bytes, 'nf4', 32, 32).subarray(0, 3))).toEqual([2 ** -130, -(2 ** -130), -(2 ** -130)]);
  });

  it('accepts every finite input (absmax is f32) and refuses NaN', () => {
    expect(list(quantizeRow(row(32, { 0: 3e38, 1: -3e38 }), 'nf4', 32).subarray(4, 5))).toEqual([0xf0]);
    expect(() => quantizeRow(row(64, { 63: Infinity }), 'nf4')).toThrow(/received Infinity at index 63$/);
  });

  it('reads hand-made bytes: byte j = c[2j] << 4 | c[2j+1]', () => {
    const bytes = new Uint8Array([...f32Bytes(1), 0x0f, 0x7e, ...repeat(0x77, 14)]);
    expect(list(dequantizeRow(bytes, 'nf4', 32, 32).subarray(0, 4))).toEqual([-1, 1, 0, f32(0.7229568362236023)]);
  });
});

describe('reference int8 (blockwise absmax)', () => {
  it('stores an all-zero block as zero bytes', () => {
    expect(list(quantizeRow(row(64), 'int8'))).toEqual(repeat(0, 68));
    expect(list(dequantizeRow(new Uint8Array(68), 'int8', 64))).toEqual(repeat(0, 64));
  });

  it('maps a constant block to 127 and stores absmax as a little-endian f32', () => {
    expect(list(quantizeRow(row(64, {}, 127), 'int8'))).toEqual([0x00, 0x00, 0xfe, 0x42, ...repeat(127, 64)]);
  });

  it('rounds (x/absmax)·127 half to even, and one ulp either side of a tie', () => {
    // absmax = 127. 63.5/127 = 0.5 exactly; f32(f32(2.5/127)·127) lands exactly on 2.5 (likewise 0.5, 1.5, 62.5).
    expect(f32(f32(2.5 / 127) * 127)).toBe(2.5);
    const x = row(64, { 0: -127, 1: 63.5, 2: -63.5, 3: 2.5, 4: nextUp(2.5), 5: nextDown(2.5), 6: 0.5, 7: -0.5, 8: 1.5, 9: 62.5 });
    const bytes = quantizeRow(x, 'int8');
    const codes = [-127, 64, -64, 2, 3, 2, 0, 0, 2, 62];
    expect(list(new Int8Array(bytes.buffer, 4, 10))).toEqual(codes);
    expect(list(dequantizeRow(bytes, 'int8', 64).subarray(0, 10))).toEqual(codes); // s = 127/127 = 1
  });

  it('quantizes blocks of subnormal values like any other', () => {
    // absmax = 2⁻¹⁴⁰ = 2⁹·2⁻¹⁴⁹ (bits 0x00000200); 2⁻¹⁴¹ → 63.5 → 64.
    const bytes = quantizeRow(row(64, { 0: -(2 ** -140), 1: 2 ** -141 }), 'int8');
    expect(list(bytes.subarray(0, 6))).toEqual([0x00, 0x02, 0x00, 0x00, 0x81, 64]);
  });

  it('accepts every finite input, and honours the block size', () => {
    expect(list(quantizeRow(row(64, { 0: 3e38 }), 'int8').subarray(4, 6))).toEqual([127, 0]);
    const bytes = quantizeRow(row(256, { 0: 127, 128: 254, 129: 127 }), 'int8', 128);
    expect(bytes.length).toBe(2 * 132);
    expect(list(bytes.subarray(132, 138))).toEqual([...f32Bytes(254), 127, 64]); // 127/254 = 0.5 → 63.5 → 64
  });
});

describe('reference dequantize of hand-made bytes', () => {
  it('reads q8_0 codes as signed bytes and lets Inf and NaN scales propagate', () => {
    const q = [1, 0xff, 0x80, 0x7f, 0, ...repeat(0, 27)];
    expect(list(dequantizeRow(new Uint8Array([0x00, 0x38, ...q]), 'q8_0', 32).subarray(0, 4))).toEqual([0.5, -0.5, -64, 63.5]);
    const inf = dequantizeRow(new Uint8Array([0x00, 0x7c, ...q]), 'q8_0', 32);
    expect(list(inf.subarray(0, 5))).toEqual([Infinity, -Infinity, -Infinity, Infinity, NaN]);
    expect(Number.isNaN(dequantizeRow(new Uint8Array([0x00, 0x7e, ...q]), 'q8_0', 32)[0])).toBe(true);
  });

  it('reads q4_0 nibbles: byte j holds element j low and element j + 16 high', () => {
    // byte j = j | (15 − j) << 4, d = 1.
    const bytes = new Uint8Array([0x00, 0x3c, ...Array.from({ length: 16 }, (_, j) => j | ((15 - j) << 4))]);
    const y = dequantizeRow(bytes, 'q4_0', 32);
    for (let j = 0; j < 16; j++) expect([y[j], y[j + 16]]).toEqual([j - 8, 7 - j]);
  });

  it('reads int8 with s = absmax/127 rounded to f32 first', () => {
    const bytes = new Uint8Array([...f32Bytes(1), 127, 0x81, ...repeat(0, 62)]);
    const s = f32(1 / 127);
    expect(list(dequantizeRow(bytes, 'int8', 64).subarray(0, 2))).toEqual([f32(127 * s), f32(-127 * s)]);
  });
});

describe('reference quantize / dequantize of a matrix', () => {
  it('is its rows of blocks back to back, and errors say the row and column', () => {
    const w = row(128, { 0: 127, 64: -8, 65: 100 }); // n = 2, k = 64
    const bytes = reference.quantize(w, 2, 64, 'q8_0');
    expect(list(bytes)).toEqual([...quantizeRow(w.subarray(0, 64), 'q8_0'), ...quantizeRow(w.subarray(64), 'q8_0')]);
    expect(list(reference.dequantize(bytes, 2, 64, 'q8_0'))).toEqual(list(dequantizeRow(bytes, 'q8_0', 128)));
    expect(() => reference.quantize(row(128, { 70: NaN }), 2, 64, 'q4_0')).toThrow(
      new RangeError('reference.quantize: expected w: finite values, received NaN at index 70 (row 1, column 6)'),
    );
    expect(() => reference.quantize(row(128, { 100: 1e7 }), 2, 64, 'q8_0')).toThrow(/received row 1, block 1 \(index 96\) with d = amax\/127/);
  });
});

// --- matmul ---------------------------------------------------------------------------------
