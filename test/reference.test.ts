/** The reference against cases worked by hand: if these hold, the reference can be trusted as the spec. */
import { describe, expect, it } from 'vitest';
import * as reference from '../lib/reference/index';

describe('reference int8 GEMM', () => {
  it('multiplies A·Bᵀ with B in out × in layout', () => {
    // A = [[1, 2, 3], [4, 5, 6]], B = [[1, 0, -1], [2, 2, 2]]
    const c = reference.gemmU8S8(new Uint8Array([1, 2, 3, 4, 5, 6]), new Int8Array([1, 0, -1, 2, 2, 2]), 2, 2, 3);
    expect([...c]).toEqual([1 - 3, 2 + 4 + 6, 4 - 6, 8 + 10 + 12]);
  });

  it('subtracts the zero point from A before multiplying', () => {
    const c = reference.gemmU8S8(new Uint8Array([128, 129, 127]), new Int8Array([1, 1, 1, -128, 127, 0]), 1, 2, 3, 128);
    expect([...c]).toEqual([0 + 1 - 1, 0 + 127 + 0]);
  });

  it('multiplies signed A', () => {
    const c = reference.gemmS8S8(new Int8Array([-128, 127]), new Int8Array([-128, -128, 127, 127]), 1, 2, 2);
    expect([...c]).toEqual([16384 - 16256, -16256 + 16129]);
  });

  it('is exact at the largest K and the largest products', () => {
    const k = 65536;
    const a = new Uint8Array(k).fill(255);
    const b = new Int8Array(k).fill(-128);
    expect(reference.gemmU8S8(a, b, 1, 1, k)[0]).toBe(-255 * 128 * k);
    expect(reference.gemmU8S8(new Uint8Array(k), b, 1, 1, k, 255)[0]).toBe(255 * 128 * k);
  });
});

describe('reference rounding', () => {
  it('rounds half to even and half away from zero', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 2.5001].map(reference.roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, 3]);
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5].map(reference.roundHalfAway)).toEqual([1, 2, 3, -1, -2, -3]);
  });
});

describe('reference activation quantizer (DynamicQuantizeLinear per row)', () => {
  it('uses scale (hi − lo)/255 with 0 inside the range, and rounds codes half to even', () => {
    // lo = −100, hi = 155: scale 1, zero point 100.
    const { q, scale, zeroPoint } = reference.quantizeActivationsU8(new Float32Array([-100, 155, 0.5, 1.5, 2.5, -0.5, -1.5]), 1, 7);
    expect(scale[0]).toBe(1);
    expect(zeroPoint[0]).toBe(100);
    expect([...q]).toEqual([0, 255, 100, 102, 102, 100, 98]);
  });

  it('rounds the zero point half to even and saturates codes', () => {
    // lo = −127.5, hi = 127.5: scale 1, zero point roundHalfEven(127.5) = 128; 127.5 → 128 + 128 saturates to 255.
    const { q, zeroPoint } = reference.quantizeActivationsU8(new Float32Array([-127.5, 127.5, 0]), 1, 3);
    expect(zeroPoint[0]).toBe(128);
    expect([...q]).toEqual([0, 255, 128]);
  });

  it('gives an all-zero row scale 1 and zero point 0; an all-positive row zero point 0', () => {
    const { q, scale, zeroPoint } = reference.quantizeActivationsU8(new Float32Array([0, 0, 0, 255, 51, 0]), 2, 3);
    expect([...scale]).toEqual([1, 1]);
    expect([...zeroPoint]).toEqual([0, 0]);
    expect([...q]).toEqual([0, 0, 0, 255, 51, 0]);
  });

  it('refuses non-finite input', () => {
    expect(() => reference.quantizeActivationsU8(new Float32Array([1, NaN]), 1, 2)).toThrow(RangeError);
    expect(() => reference.quantizeActivationsU8(new Float32Array([Infinity]), 1, 1)).toThrow(/finite/);
  });
});

describe('reference weight quantizer (symmetric per output row)', () => {
  it('maps max|w| to ±127 and rounds half to even', () => {
    const { weight, scale } = reference.quantizeWeightsS8(new Float32Array([127, -63.5, 0.5, -127, 254, 1, 3, 0, 0, 0, 0, 0]), 3, 4);
    expect([...scale]).toEqual([1, 2, 1]);
    expect([...weight]).toEqual([127, -64, 0, -127, 127, 0, 2, 0, 0, 0, 0, 0]);
  });
});

describe('reference quantized linear layer', () => {
  it('scales the exact accumulator by sa·sw and adds the bias', () => {
    // x = [−100, 155]: scale 1, zero point 100, codes [0, 255]. W = [[127, −127]] at scale 1.
    const y = reference.linearInt8(new Float32Array([-100, 155]), new Int8Array([127, -127]), new Float32Array([1]), new Float32Array([0.5]), 1, 1, 2);
    expect(y[0]).toBe((0 - 100) * 127 + (255 - 100) * -127 + 0.5);
  });
});
