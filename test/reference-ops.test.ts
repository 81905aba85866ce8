/**
 * The reference of the transformer ops (lib/reference/ops.ts) on its own: its approximations
 * against the exact functions within the bounds docs/nn.md states (native/tests/test_ops.cc sweeps
 * the same bounds over the floats), the one reduction order worked by hand, and small cases whose
 * answer is known.
 */
import { describe, expect, it } from 'vitest';
import * as reference from '../lib/reference/index';

const f32 = Math.fround;
const ulp = (v: number) => (Math.abs(v) < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(Math.abs(v))) - 23));
const grid = Array.from({ length: 20001 }, (_, i) => f32(-100 + i * 0.01));

describe('reference transformer ops', () => {
  it('exp is within 2 ulps of e^x for normal results, +0 below −87.33654 and +∞ above 88.72283', () => {
    for (const x of grid) {
      const exact = Math.exp(x);
      if (x < f32(-87.33654)) expect(reference.expF32(x)).toBe(0);
      else if (x > f32(88.72283)) expect(reference.expF32(x)).toBe(Infinity);
      else expect(Math.abs(reference.expF32(x) - exact) / ulp(exact), `x = ${x}`).toBeLessThanOrEqual(2);
    }
    expect(reference.expF32(0)).toBe(1);
  });

  it('tanh, sigmoid and silu are within 3 ulps; erf-GELU within 4·10⁻⁷·|x|', () => {
    for (const x of grid) {
      const checks: Array<[string, number, number]> = [
        ['tanh', reference.tanhF32(x), Math.tanh(x)],
        ['sigmoid', reference.unaryF32('sigmoid', x), 1 / (1 + Math.exp(-x))],
        ['silu', reference.unaryF32('silu', x), x / (1 + Math.exp(-x))],
      ];
      for (const [op, got, exact] of checks) {
        if (Math.abs(exact) < 2 ** -126 * Math.max(1, Math.abs(x))) continue; // may flush (docs/nn.md)
        expect(Math.abs(got - exact) / ulp(exact), `${op}(${x})`).toBeLessThanOrEqual(3);
      }
    }
    // Φ at a few points (erf values from tables): x·Φ(x).
    for (const [x, phi] of [[1, 0.8413447460685429], [-1, 0.15865525393145707], [2, 0.9772498680518208], [-3, 0.0013498980316301]] as const) {
      expect(Math.abs(reference.geluErfF32(x) - x * phi)).toBeLessThanOrEqual(4e-7 * Math.abs(x));
    }
  });

  it('reduces in 16 lanes, then folds them pairwise', () => {
    // 1 + 2⁻²⁴ added lane by lane is lost in a sequential f32 sum but kept by the lanes: element 0
    // is 1, elements 1…16 are 2⁻²⁴ (element 16 goes to lane 0).
    const values = [1, ...Array.from({ length: 16 }, () => 2 ** -24)];
    let sequential = 0;
    for (const v of values) sequential = f32(sequential + v);
    expect(sequential).toBe(1);
    // Lanes: 1 (1 + 2⁻²⁴ rounds to even), then 2⁻²⁴ in lanes 1…15. Fold by 8: lane 0 stays 1, lanes
    // 1…7 hold 2⁻²³; by 4: 1 + 2⁻²³, lanes 1…3 hold 2⁻²²; by 2: 1 + 3·2⁻²³, lane 1 holds 2⁻²¹;
    // by 1: 1 + 7·2⁻²³, exactly.
    expect(reference.reduce16(values)).toBe(1 + 7 * 2 ** -23);
    expect(reference.reduce16([3, -1, 7], true)).toBe(7);
    expect(reference.reduce16([5])).toBe(5);
  });

  it('layer norm, softmax, pooling and attention give the known answers on small cases', () => {
    const y = reference.layerNorm(Float32Array.of(1, 2, 3), 1, 3, Float32Array.of(1, 1, 1), Float32Array.of(0, 0, 0), 0);
    expect([...y].map((v) => v.toFixed(5))).toEqual(['-1.22474', '0.00000', '1.22474']);
    expect([...reference.softmax(Float32Array.of(0, Math.log(3)), 1, 2)].map((v) => v.toFixed(6))).toEqual(['0.250000', '0.750000']);
    expect([...reference.meanPool(Float32Array.of(1, 2, 3, 4, 5, 6), 2, Int32Array.of(2, 1, 0))]).toEqual([2, 3, 5, 6, 0, 0]);
    // One token attends only to itself: the output is its V.
    const qkv = Float32Array.of(1, 2, 3, 4, 5, 6);
    expect([...reference.attention(qkv, 2, 1, 0.5, Int32Array.of(1))]).toEqual([5, 6]);
  });
});
