/**
 * K-quant dequantization (lib/reference/kquant.ts): hand-worked blocks for each layout rule, and
 * bit-for-bit agreement with ggml's own dequantize_row_* on random blocks (values recorded from
 * ggml in test/fixtures/kquant-ggml.json; random f16 scales include Inf and NaN).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dequantizeKQuant, nearestInt, quantizeKQuant, scaleMinK4, scalesQ3K, type KQuantizable, type KQuantType } from '../lib/reference/index';

const golden = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'kquant-ggml.json'), 'utf8')) as {
  types: Record<KQuantType, { bytes: string; bits: number[] }>;
  quantize: { x: number[]; bytes: Record<KQuantizable, string> };
};
const hex = (s: string) => Uint8Array.from(s.match(/../g)!, (h) => parseInt(h, 16));
const bitsOf = (y: Float32Array) => [...new Uint32Array(y.buffer, y.byteOffset, y.length)];
const ONE = [0x00, 0x3c]; // f16 1.0
const TWO = [0x00, 0x40]; // f16 2.0

describe('K-quants equal ggml bit for bit', () => {
  for (const type of Object.keys(golden.types) as KQuantType[]) {
    it(`${type}: 4 random super-blocks`, () => {
      const { bytes, bits } = golden.types[type];
      const y = dequantizeKQuant(type, hex(bytes), bits.length);
      const got = bitsOf(y);
      for (let i = 0; i < bits.length; i++) {
        const want = new Float32Array(new Uint32Array([bits[i]!]).buffer)[0]!;
        if (Number.isNaN(want)) expect(Number.isNaN(y[i]!), `${type}[${i}]`).toBe(true);
        else expect(got[i], `${type}[${i}]`).toBe(bits[i]);
      }
    });
  }
});

describe('K-quant layouts, hand-worked', () => {
  it('q4_K: 6-bit scales and mins, low nibbles then high nibbles per 64', () => {
    const b = new Uint8Array(144);
    b.set(TWO, 0); // d = 2
    b.set(ONE, 2); // dmin = 1
    // scales[0..3] = 1, 2, 3, 4 with mins 5, 6, 7, 8; scale/min 4…7 from the split bytes: j = 4 → 9 and 10.
    b.set([1, 2, 3, 4, 5, 6, 7, 8], 4);
    b[12] = 9 | (10 << 4); // low 4 bits of scale 4 and min 4 (their high 2 bits from bytes 4 and 8: 0)
    expect(scaleMinK4(b, 4, 0)).toEqual([1, 5]);
    expect(scaleMinK4(b, 4, 3)).toEqual([4, 8]);
    expect(scaleMinK4(b, 4, 4)).toEqual([9, 10]);
    b[16] = 0x73; // element 0: low nibble 3; element 32: high nibble 7
    const y = dequantizeKQuant('q4_K', b, 256);
    expect(y[0]).toBe(2 * 1 * 3 - 5);
    expect(y[1]).toBe(-5);
    expect(y[32]).toBe(2 * 2 * 7 - 6);
    expect(y[64]).toBe(-7); // sub-block 2: q = 0, min 7
    expect(y[128]).toBe(-10); // sub-block 4: scale 9, min 10, q = 0
  });

  it('q5_K: the fifth bit of element l of sub-block j is bit j of qh[l]', () => {
    const b = new Uint8Array(176);
    b.set(ONE, 0);
    b.set([1, 1, 1, 1, 0, 0, 0, 0], 4); // scales 1, mins 0
    b[16 + 5] = 0b10; // qh[5]: bit 1 → sub-block 1 (elements 32…63), element 37
    b[48 + 5] = 0x20; // qs[5]: high nibble 2 → element 37
    const y = dequantizeKQuant('q5_K', b, 256);
    expect(y[37]).toBe(2 + 16);
    expect(y[5]).toBe(0);
  });

  it('q6_K: ql nibbles and qh bit pairs make 6-bit codes less 32, int8 scales per 16', () => {
    const b = new Uint8Array(210);
    b.set(ONE, 208);
    for (let i = 0; i < 16; i++) b[192 + i] = i === 1 ? 0xfe : 1; // scale of elements 16…31 is −2
    b[17] = 0x0f; // element 17: low 4 bits 15 (and element 81's low 4 bits 0)
    b[128 + 17] = 0b11; // its high 2 bits 3 → code 63
    const y = dequantizeKQuant('q6_K', b, 256);
    expect(y[17]).toBe(-2 * (63 - 32));
    expect(y[0]).toBe(-32);
    expect(y[81]).toBe(1 * (0 - 32)); // elements 64…79 use scale 4, 80…95 scale 5: 1
  });

  it('q3_K: 6-bit scales less 32 from 12 bytes; a clear hmask bit subtracts 4', () => {
    const s = new Uint8Array(12);
    s[0] = 0x21; // scale 0 low 1, scale 8 low 2
    s[8] = 0b10_00_00_10; // scale 0 high 2 (→ 33), scale 12 high 2
    const scales = scalesQ3K(s, 0);
    expect(scales[0]).toBe((1 | (2 << 4)) - 32);
    expect(scales[8]).toBe(2 - 32);
    expect(scales[12]).toBe((2 << 4) - 32);
    const b = new Uint8Array(110);
    b.set(ONE, 108);
    b.set(s, 96);
    b[0] = 1; // hmask: element 0 has its high bit, element 1 does not
    b[32] = 3; // qs[0]: element 0's low 2 bits
    const y = dequantizeKQuant('q3_K', b, 256);
    expect(y[0]).toBe(1 * 3);
    expect(y[1]).toBe(1 * (0 - 4));
  });

  it('q2_K: 4-bit scale and min per 16, codes at four shifts of 32 bytes per 128', () => {
    const b = new Uint8Array(84);
    b.set(TWO, 80);
    b.set(ONE, 82);
    b[0] = 0x31; // sub-block 0: scale 1, min 3
    b[2] = 0x12; // sub-block 2 (shift 2, elements 32…47): scale 2, min 1
    b[16] = 0b1011; // qs[0]: element 0 code 3, element 32 code 2
    const y = dequantizeKQuant('q2_K', b, 256);
    expect(y[0]).toBe(2 * 1 * 3 - 3);
    expect(y[32]).toBe(2 * 2 * 2 - 1);
  });

  it('bad arguments are RangeErrors naming them', () => {
    expect(() => dequantizeKQuant('q4_K', new Uint8Array(144), 100)).toThrow(/expected elements: a multiple of 256, received 100/);
    expect(() => dequantizeKQuant('q4_K', new Uint8Array(10), 256)).toThrow(/expected bytes: 144 \(1 blocks of 144\), received 10/);
    expect(() => dequantizeKQuant('q7_K' as KQuantType, new Uint8Array(10), 256)).toThrow(/expected type/);
  });
});

describe("ggml's reference quantizers, byte for byte", () => {
  const x = new Float32Array(new Uint32Array(golden.quantize.x).buffer);
  const sizes: Record<KQuantizable, number> = { q4_K: 144, q5_K: 176, q6_K: 210 };
  for (const type of ['q4_K', 'q5_K', 'q6_K'] as const) {
    it(`${type}: 10 super-blocks (gaussian-like, all positive, zeros, constant, an outlier, tiny, large, all zero)`, () => {
      const got = quantizeKQuant(type, x);
      const want = hex(golden.quantize.bytes[type]);
      for (let b = 0; b < 10; b++) {
        const size = sizes[type];
        expect([...got.subarray(b * size, (b + 1) * size)], `${type} block ${b}`).toEqual([...want.subarray(b * size, (b + 1) * size)]);
      }
      // What it writes dequantizes close to the input: within half a step of each sub-block's scale.
      const y = dequantizeKQuant(type, got, x.length);
      let err = 0, norm = 0;
      for (let i = 0; i < x.length; i++) (err += (x[i]! - y[i]!) ** 2), (norm += x[i]! ** 2);
      expect(Math.sqrt(err / norm)).toBeLessThan(type === 'q4_K' ? 0.12 : type === 'q5_K' ? 0.06 : 0.03);
    });
  }

  it('nearestInt rounds half to even, as the f32 magic-number add does', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999998, 3.5000002].map(nearestInt)).toEqual([0, 2, 2, 0, -2, 2, 4]);
  });

  it('bad input is a RangeError naming it', () => {
    expect(() => quantizeKQuant('q4_K', new Float32Array(100))).toThrow(/expected x: a multiple of 256 values, received 100/);
    const nan = new Float32Array(256);
    nan[7] = NaN;
    expect(() => quantizeKQuant('q6_K', nan)).toThrow(/expected x: finite values, received NaN at index 7/);
    expect(() => quantizeKQuant('q3_K' as KQuantizable, new Float32Array(256))).toThrow(/expected type: q4_K, q5_K or q6_K/);
  });
});
