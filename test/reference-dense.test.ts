/**
 * The dense f32 reference against cases worked by hand: linearF32 and gemmF32 (B both ways,
 * bias), the sequential rounding they promise, and the DESIGN.md §3 bound per output,
 * 2·(k + 1)·2⁻²⁴·(Σ|a·b| + |bias|).
 */
import { describe, expect, it } from 'vitest';
import * as reference from '../lib/reference/index';
import { list } from './helpers';

const U = 2 ** -24;
const f32s = (...v: number[]): Float32Array => Float32Array.from(v);

// A [2×3] = [[1, 2, 3], [4, 5, 6]];  B [3×2] = [[7, 8], [9, 10], [11, 12]]
// C = A·B = [[7 + 18 + 33, 8 + 20 + 36], [28 + 45 + 66, 32 + 50 + 72]] = [[58, 64], [139, 154]]
const a = f32s(1, 2, 3, 4, 5, 6);
const b = f32s(7, 8, 9, 10, 11, 12);
const bt = f32s(7, 9, 11, 8, 10, 12); // Bᵀ [2×3], the [n×k] layout

describe('reference gemmF32', () => {
  it('C = A·B with B [k×n], and with B [n×k] when transB', () => {
    expect(list(reference.gemmF32(a, b, 2, 2, 3))).toEqual([58, 64, 139, 154]);
    expect(list(reference.gemmF32(a, b, 2, 2, 3, false))).toEqual([58, 64, 139, 154]);
    expect(list(reference.gemmF32(a, bt, 2, 2, 3, true))).toEqual([58, 64, 139, 154]);
    // B read the other way round gives a different product: A·(bt read as [3×2]) = [[1·7 + 2·11 + 3·10, 1·9 + 2·8 + 3·12], …]
    expect(list(reference.gemmF32(a, bt, 2, 2, 3, false))).toEqual([59, 61, 143, 148]);
  });

  it('C = Aᵀ·B with A given [k×m] when transA', () => {
    const at = f32s(1, 4, 2, 5, 3, 6); // Aᵀ [3×2], the [k×m] layout
    expect(list(reference.gemmF32(at, b, 2, 2, 3, false, true))).toEqual([58, 64, 139, 154]);
    expect(list(reference.gemmF32(at, bt, 2, 2, 3, true, true))).toEqual([58, 64, 139, 154]);
  });

  it('m = n = k = 1, and a GEMV row', () => {
    expect(list(reference.gemmF32(f32s(-3), f32s(0.5), 1, 1, 1))).toEqual([-1.5]);
    // x [1×3]·B [3×2]: [1·7 − 1·9 + 2·11, 1·8 − 1·10 + 2·12] = [20, 22]
    expect(list(reference.gemmF32(f32s(1, -1, 2), b, 1, 2, 3))).toEqual([20, 22]);
  });

  it('sums in k order from +0, rounding every product and every add', () => {
    // a = [1, 2⁻²⁴, 2⁻²⁴]·1: 1 + 2⁻²⁴ ties to 1, twice → 1; in the order [2⁻²⁴, 2⁻²⁴, 1] → 1 + 2⁻²³.
    expect(list(reference.gemmF32(f32s(1, U, U, U, U, 1), f32s(1, 1, 1), 2, 1, 3))).toEqual([1, 1 + 2 * U]);
    // k = 2: a = [1, 1 + 2⁻²³], b = [−(1 + 2⁻²²), 1 + 2⁻²³]. The second product is 1 + 2⁻²² + 2⁻⁴⁶,
    // rounded to 1 + 2⁻²² before the add, so the sum is exactly 0 (a fused multiply-add would give 2⁻⁴⁶).
    const y = reference.gemmF32(f32s(1, 1 + 2 * U), f32s(-(1 + 4 * U), 1 + 2 * U), 1, 1, 2);
    expect(list(y)).toEqual([0]);
    // Products of −0: (−1)·(+0) = −0, and +0 + −0 = +0, so the sum starts and stays at +0.
    expect(Object.is(reference.gemmF32(f32s(-1), f32s(0), 1, 1, 1)[0], 0)).toBe(true);
  });

  it('propagates Inf and NaN', () => {
    const y = reference.gemmF32(f32s(Infinity, 1, 0, 1), f32s(1, 0, 1, Infinity), 2, 2, 2);
    // row 0: [Inf·1 + 1·1, Inf·0 + 1·Inf] = [Inf, NaN];  row 1: [0·1 + 1·1, 0·0 + 1·Inf] = [1, Inf]
    expect(y[0]).toBe(Infinity);
    expect(Number.isNaN(y[1])).toBe(true);
    expect(list(y.subarray(2))).toEqual([1, Infinity]);
  });
});

describe('reference linearF32', () => {
  it('Y = X·Wᵀ + bias with W [n×k]', () => {
    expect(list(reference.linearF32(a, bt, 2, 2, 3))).toEqual([58, 64, 139, 154]);
    expect(list(reference.linearF32(a, bt, 2, 2, 3, f32s(0.5, -1)))).toEqual([58.5, 63, 139.5, 153]);
  });

  it('adds the bias after the sum, with one more rounding', () => {
    // W row [2⁻²⁴, 2⁻²⁴], x = [1, 1], bias 1: the sum 2⁻²³, then + 1 = 1 + 2⁻²³ exactly.
    expect(list(reference.linearF32(f32s(1, 1), f32s(U, U), 1, 1, 2, f32s(1)))).toEqual([1 + 2 * U]);
    // sum 1, bias 2⁻²⁴: a tie, to the even 1.
    expect(list(reference.linearF32(f32s(1), f32s(1), 1, 1, 1, f32s(U)))).toEqual([1]);
  });
});

describe('reference f32 tolerance bounds', () => {
  it('gemmF32Tolerance = 2·(k + 1)·2⁻²⁴·Σ|a·b|, signs not cancelling', () => {
    // A row [1, −2, 3], B columns [7, 9, 11] and [8, 10, 12]: Σ|a·b| = 7 + 18 + 33 = 58 and 8 + 20 + 36 = 64;
    // row [−4, 5, −6]: 28 + 45 + 66 = 139 and 32 + 50 + 72 = 154. k = 3 → factor 2·4 = 8.
    const as = f32s(1, -2, 3, -4, 5, -6);
    expect(list(reference.gemmF32(as, b, 2, 2, 3))).toEqual([22, 24, -49, -54]);
    expect(list(reference.gemmF32Tolerance(as, b, 2, 2, 3))).toEqual([464 * U, 512 * U, 1112 * U, 1232 * U]);
    expect(list(reference.gemmF32Tolerance(as, bt, 2, 2, 3, true))).toEqual([464 * U, 512 * U, 1112 * U, 1232 * U]);
    expect(reference.gemmF32Tolerance(as, b, 2, 2, 3)).toBeInstanceOf(Float64Array);
  });

  it('linearF32Tolerance adds |bias|', () => {
    // As above with bias [0.5, −1]: 8·58.5 = 468, 8·65 = 520, 8·139.5 = 1116, 8·155 = 1240.
    const as = f32s(1, -2, 3, -4, 5, -6);
    expect(list(reference.linearF32Tolerance(as, bt, 2, 2, 3, f32s(0.5, -1)))).toEqual([468 * U, 520 * U, 1116 * U, 1240 * U]);
    expect(list(reference.linearF32Tolerance(as, bt, 2, 2, 3))).toEqual([464 * U, 512 * U, 1112 * U, 1232 * U]);
  });

  it('the bound covers the fused result of the k = 2 case', () => {
    // Fused: 2⁻⁴⁶; sequential: 0. Bound: 2·3·2⁻²⁴·((1 + 2⁻²²) + (1 + 2⁻²³)²) ≈ 12·2⁻²⁴.
    const [t] = reference.gemmF32Tolerance(f32s(1, 1 + 2 * U), f32s(-(1 + 4 * U), 1 + 2 * U), 1, 1, 2);
    expect(t!).toBeGreaterThan(2 ** -46);
    expect(t!).toBeCloseTo(12 * U, 12);
  });

  it('the bound covers products that underflow: 2⁻¹⁴⁸ a term on top of the relative part', () => {
    // 2⁻⁷⁵·(1.5·2⁻⁷⁵) = 1.5·2⁻¹⁵⁰ rounds to 2⁻¹⁴⁹ in the reference; twice, 2⁻¹⁴⁸. A fused chain
    // rounds 1.5·2⁻¹⁵⁰ to 2⁻¹⁴⁹ once, then 2⁻¹⁴⁹ + 1.5·2⁻¹⁵⁰ = 3.5·2⁻¹⁵⁰ to 2⁻¹⁴⁸: the same here,
    // but the relative part alone (2·3·2⁻²⁴·3·2⁻¹⁵⁰ ≈ 2⁻¹⁶⁹) could not absorb one ulp of 2⁻¹⁴⁹.
    const tiny = f32s(2 ** -75, 2 ** -75);
    const other = f32s(1.5 * 2 ** -75, 1.5 * 2 ** -75);
    expect(list(reference.gemmF32(tiny, other, 1, 1, 2))).toEqual([2 ** -148]);
    const [t] = reference.gemmF32Tolerance(tiny, other, 1, 1, 2);
    expect(t!).toBe(2 * 3 * U * (3 * 2 ** -150) + 2 * 2 ** -148);
    expect(t!).toBeGreaterThan(2 ** -149);
  });
});

describe('reference f32 argument checks', () => {
  it('refuses zero dims and short operands', () => {
    expect(() => reference.gemmF32(a, b, 0, 2, 3)).toThrow(/^reference\.gemmF32: expected m: an integer in \[1, 2147483647\], received number 0$/);
    expect(() => reference.gemmF32(a, b.subarray(1), 2, 2, 3)).toThrow(/^reference\.gemmF32: expected b: Float32Array of length ≥ 6 \(k·n\), received Float32Array of length 5$/);
    expect(() => reference.linearF32(a, bt, 2, 2, 3, f32s(1))).toThrow(/^reference\.linearF32: expected bias: Float32Array of length 2 \(n\), received Float32Array of length 1$/);
  });
});
