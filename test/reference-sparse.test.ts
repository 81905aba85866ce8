/**
 * The sparse CSR reference against cases worked by hand from docs/sparse.md: builders (threshold,
 * COO sorting and duplicate sums, every structure rule of fromArrays with its exact message),
 * int8 value quantization, the three products and their tolerance bounds. If these hold, the
 * reference can be trusted as the spec the native code is held to. (toEqual tells −0 from +0.)
 */
import { describe, expect, it } from 'vitest';
import * as reference from '../lib/reference/index';
import type { Csr } from '../lib/reference/index';
import { expectThrows, list } from './helpers';

const { csrFromArrays, csrFromCoo, csrFromDense, csrToDense, csrQuantizeValues } = reference;

const U = 2 ** -24; // half an ulp of 1 in f32

/** The arrays of a Csr as plain lists, to compare with toEqual. */
function parts(a: Csr): { rows: number; cols: number; indptr: number[]; indices: number[]; values: number[]; scales: number[] | null } {
  return {
    rows: a.rows,
    cols: a.cols,
    indptr: list(a.indptr),
    indices: list(a.indices),
    values: list(a.values),
    scales: a.scales ? list(a.scales) : null,
  };
}

const i32 = (...v: number[]): Int32Array => Int32Array.from(v);
const f32s = (...v: number[]): Float32Array => Float32Array.from(v);

// The running example, A [3×4]:
//   [ 2    0   −1   0 ]
//   [ 0    0    0   0 ]   (an empty row)
//   [ 0  0.5    0   4 ]
const A_DENSE = f32s(2, 0, -1, 0, 0, 0, 0, 0, 0, 0.5, 0, 4);
const A = { rows: 3, cols: 4, indptr: [0, 2, 2, 4], indices: [0, 2, 1, 3], values: [2, -1, 0.5, 4], scales: null };
const aCsr = (): Csr => csrFromArrays(3, 4, i32(0, 2, 2, 4), i32(0, 2, 1, 3), f32s(2, -1, 0.5, 4));

describe('reference csrFromDense', () => {
  it('keeps the nonzeros row by row, dropping +0 and −0', () => {
    expect(parts(csrFromDense(A_DENSE, 3, 4))).toEqual(A);
    const signedZeros = f32s(2, -0, -1, 0, -0, -0, 0, -0, 0, 0.5, -0, 4);
    expect(parts(csrFromDense(signedZeros, 3, 4))).toEqual(A);
  });

  it('keeps |x| > threshold strictly', () => {
    // [ 0.5  −0.5  2 ]            threshold 0.5: ±0.5 sit on the threshold and go;
    // [ 0.25 −1.5  0.5 + 2⁻²⁴ ]   the f32 just above 0.5 stays.
    const d = f32s(0.5, -0.5, 2, 0.25, -1.5, 0.5 + U);
    expect(parts(csrFromDense(d, 2, 3, 0.5))).toEqual({ rows: 2, cols: 3, indptr: [0, 1, 3], indices: [2, 1, 2], values: [2, -1.5, 0.5 + U], scales: null });
    // threshold 0.25 keeps everything but 0.25 itself; threshold 2 keeps nothing.
    expect(parts(csrFromDense(d, 2, 3, 0.25))).toEqual({ rows: 2, cols: 3, indptr: [0, 3, 5], indices: [0, 1, 2, 1, 2], values: [0.5, -0.5, 2, -1.5, 0.5 + U], scales: null });
    expect(parts(csrFromDense(d, 2, 3, 2))).toEqual({ rows: 2, cols: 3, indptr: [0, 0, 0], indices: [], values: [], scales: null });
    // A threshold that is no f32: 0.1 < fround(0.1), so fround(0.1) is above it and stays.
    expect(parts(csrFromDense(f32s(0.1, 0.05, -0.1), 1, 3, 0.1))).toEqual({ rows: 1, cols: 3, indptr: [0, 2], indices: [0, 2], values: [Math.fround(0.1), Math.fround(-0.1)], scales: null });
  });

  it('handles empty shapes, nnz = 0, a fully dense row and 1×1', () => {
    expect(parts(csrFromDense(f32s(), 0, 0))).toEqual({ rows: 0, cols: 0, indptr: [0], indices: [], values: [], scales: null });
    expect(parts(csrFromDense(f32s(), 0, 5))).toEqual({ rows: 0, cols: 5, indptr: [0], indices: [], values: [], scales: null });
    expect(parts(csrFromDense(f32s(), 5, 0))).toEqual({ rows: 5, cols: 0, indptr: [0, 0, 0, 0, 0, 0], indices: [], values: [], scales: null });
    expect(parts(csrFromDense(new Float32Array(6), 2, 3))).toEqual({ rows: 2, cols: 3, indptr: [0, 0, 0], indices: [], values: [], scales: null });
    // row 1 fully dense, rows 0 and 2 empty
    expect(parts(csrFromDense(f32s(0, 0, 0, 1, -2, 3, 0, 0, 0), 3, 3))).toEqual({ rows: 3, cols: 3, indptr: [0, 0, 3, 3], indices: [0, 1, 2], values: [1, -2, 3], scales: null });
    expect(parts(csrFromDense(f32s(-7), 1, 1))).toEqual({ rows: 1, cols: 1, indptr: [0, 1], indices: [0], values: [-7], scales: null });
    expect(parts(csrFromDense(f32s(-0), 1, 1))).toEqual({ rows: 1, cols: 1, indptr: [0, 0], indices: [], values: [], scales: null });
  });

  it('refuses non-finite values at the first one, and bad thresholds', () => {
    expectThrows(() => csrFromDense(f32s(1, 0, NaN, Infinity), 2, 2), RangeError, 'csrFromDense: values[2] = NaN is not finite');
    expectThrows(() => csrFromDense(f32s(0, -Infinity), 1, 2, 5), RangeError, 'csrFromDense: values[1] = -Infinity is not finite');
    expect(() => csrFromDense(f32s(1), 1, 1, -1)).toThrow(RangeError);
    expect(() => csrFromDense(f32s(1), 1, 1, NaN)).toThrow(RangeError);
  });
});

describe('reference csrFromCoo', () => {
  // Triples in input order, rows 3, cols 4:
  //   e0 (2,3,  5)   e1 (0,2, 1)   e2 (1,0, 0)    e3 (0,2, 2⁻²⁴)
  //   e4 (2,0, 1.5)  e5 (0,0, −2)  e6 (0,2, 2⁻²⁴)  e7 (2,0, −1.5)
  // (0,2) sums 1 + 2⁻²⁴ + 2⁻²⁴ in input order: 1 + 2⁻²⁴ is a tie between 1 and 1 + 2⁻²³ and goes
  // to the even 1, twice, so the sum is 1 (summed the other way round it would be 1 + 2⁻²³).
  // (2,0) sums 1.5 − 1.5 = +0, and (1,0) is an explicit 0: both are kept.
  const rowIdx = i32(2, 0, 1, 0, 2, 0, 0, 2);
  const colIdx = i32(3, 2, 0, 2, 0, 0, 2, 0);
  const values = f32s(5, 1, 0, U, 1.5, -2, U, -1.5);

  it('sorts by (row, column), sums duplicates in input order and keeps explicit zeros', () => {
    expect(parts(csrFromCoo(3, 4, rowIdx, colIdx, values))).toEqual({
      rows: 3,
      cols: 4,
      indptr: [0, 2, 3, 5],
      indices: [0, 2, 0, 0, 3],
      values: [-2, 1, 0, 0, 5],
      scales: null,
    });
  });

  it('gives 1 + 2⁻²³ when the two small duplicates come first', () => {
    // Same triples, (0,2)'s three values now in the order 2⁻²⁴, 2⁻²⁴, 1: 2⁻²³ + 1 is exact.
    const v = f32s(5, U, 0, U, 1.5, -2, 1, -1.5);
    expect(list(csrFromCoo(3, 4, rowIdx, colIdx, v).values)).toEqual([-2, 1 + 2 * U, 0, 0, 5]);
  });

  it('handles no triples, empty shapes and a lone −0', () => {
    expect(parts(csrFromCoo(2, 3, i32(), i32(), f32s()))).toEqual({ rows: 2, cols: 3, indptr: [0, 0, 0], indices: [], values: [], scales: null });
    expect(parts(csrFromCoo(0, 0, i32(), i32(), f32s()))).toEqual({ rows: 0, cols: 0, indptr: [0], indices: [], values: [], scales: null });
    const lone = csrFromCoo(1, 2, i32(0), i32(1), f32s(-0));
    expect(list(lone.indptr)).toEqual([0, 1]);
    expect(list(lone.indices)).toEqual([1]);
    expect(Math.abs(lone.values[0]!)).toBe(0); // kept as an entry
  });

  it('refuses out-of-range indices and non-finite values per triple in order, then non-finite sums', () => {
    expectThrows(() => csrFromCoo(2, 2, i32(0, 2), i32(5, 0), f32s(NaN, 1)), RangeError, 'csrFromCoo: colIdx[0] = 5 is out of range [0, cols = 2)');
    expectThrows(() => csrFromCoo(2, 2, i32(0, 2), i32(1, 0), f32s(NaN, 1)), RangeError, 'csrFromCoo: values[0] = NaN is not finite');
    expectThrows(() => csrFromCoo(2, 2, i32(0, -1), i32(1, 0), f32s(1, 1)), RangeError, 'csrFromCoo: rowIdx[1] = -1 is out of range [0, rows = 2)');
    expectThrows(() => csrFromCoo(2, 2, i32(1, 0), i32(1, -3), f32s(1, 1)), RangeError, 'csrFromCoo: colIdx[1] = -3 is out of range [0, cols = 2)');
    // 3e38 + 3e38 overflows f32: the sum at (1,1) is +Infinity.
    expectThrows(() => csrFromCoo(2, 2, i32(1, 0, 1), i32(1, 0, 1), f32s(3e38, 1, 3e38)), RangeError, 'csrFromCoo: duplicates at row 1, column 1 sum to Infinity, which is not finite');
  });
});

describe('reference csrFromArrays', () => {
  it('accepts canonical input and copies it', () => {
    const indptr = i32(0, 2, 2, 4);
    const a = csrFromArrays(3, 4, indptr, i32(0, 2, 1, 3), f32s(2, -1, 0.5, 4));
    expect(parts(a)).toEqual(A);
    indptr[1] = 1;
    expect(a.indptr[1]).toBe(2);
    // Columns may go down from one row to the next; explicit zeros are values like any other.
    expect(parts(csrFromArrays(2, 4, i32(0, 1, 3), i32(3, 0, 1), f32s(0, 1, -0)))).toEqual({ rows: 2, cols: 4, indptr: [0, 1, 3], indices: [3, 0, 1], values: [0, 1, -0], scales: null });
    expect(parts(csrFromArrays(0, 0, i32(0), i32(), f32s()))).toEqual({ rows: 0, cols: 0, indptr: [0], indices: [], values: [], scales: null });
    expect(parts(csrFromArrays(5, 0, i32(0, 0, 0, 0, 0, 0), i32(), f32s()))).toEqual({ rows: 5, cols: 0, indptr: [0, 0, 0, 0, 0, 0], indices: [], values: [], scales: null });
    const q = csrFromArrays(2, 3, i32(0, 2, 3), i32(0, 2, 1), Int8Array.from([-127, 5, 127]), f32s(0.5, 2));
    expect(parts(q)).toEqual({ rows: 2, cols: 3, indptr: [0, 2, 3], indices: [0, 2, 1], values: [-127, 5, 127], scales: [0.5, 2] });
  });

  const broken: Array<[string, () => unknown, string]> = [
    ['indptr too short', () => csrFromArrays(3, 4, i32(0, 2, 4), i32(0, 1, 2, 3), f32s(1, 1, 1, 1)), 'indptr must have rows + 1 = 4 entries, received 3'],
    ['indptr too long', () => csrFromArrays(1, 4, i32(0, 1, 1), i32(0), f32s(1)), 'indptr must have rows + 1 = 2 entries, received 3'],
    ['indptr empty for rows = 0', () => csrFromArrays(0, 4, i32(), i32(), f32s()), 'indptr must have rows + 1 = 1 entries, received 0'],
    ['indptr[0] not 0', () => csrFromArrays(2, 4, i32(1, 1, 2), i32(0, 1), f32s(1, 1)), 'indptr[0] must be 0, received 1'],
    ['indptr[0] negative', () => csrFromArrays(1, 4, i32(-1, 0), i32(), f32s()), 'indptr[0] must be 0, received -1'],
    ['indptr decreasing', () => csrFromArrays(3, 4, i32(0, 2, 1, 2), i32(0, 1), f32s(1, 1)), 'indptr must be non-decreasing, but indptr[2] = 1 < indptr[1] = 2'],
    ['indptr negative inside', () => csrFromArrays(2, 4, i32(0, -5, 0), i32(), f32s()), 'indptr must be non-decreasing, but indptr[1] = -5 < indptr[0] = 0'],
    // Values that point far beyond indices: the rule is thrown before anything is read through them.
    ['indptr pointing far beyond indices, then back', () => csrFromArrays(3, 4, i32(0, 1_000_000, 2_147_483_647, 2), i32(0, 1), f32s(1, 1)), 'indptr must be non-decreasing, but indptr[3] = 2 < indptr[2] = 2147483647'],
    ['indptr ending far beyond indices', () => csrFromArrays(2, 4, i32(0, 1, 1_000_000), i32(0, 1), f32s(1, 1)), 'indptr[rows] must equal nnz = indices.length = 2, received indptr[2] = 1000000'],
    ['indptr ending short of indices', () => csrFromArrays(2, 4, i32(0, 1, 1), i32(0, 1), f32s(1, 1)), 'indptr[rows] must equal nnz = indices.length = 2, received indptr[2] = 1'],
    ['values shorter than indices', () => csrFromArrays(1, 4, i32(0, 2), i32(0, 1), f32s(1)), 'values.length must equal indices.length = 2, received 1'],
    ['values longer than indices', () => csrFromArrays(1, 4, i32(0, 2), i32(0, 1), f32s(1, 2, 3)), 'values.length must equal indices.length = 2, received 3'],
    ['index = cols', () => csrFromArrays(2, 4, i32(0, 1, 3), i32(2, 1, 4), f32s(1, 1, 1)), 'indices[2] = 4 is out of range [0, cols = 4) in row 1'],
    ['index negative', () => csrFromArrays(2, 4, i32(0, 1, 3), i32(-1, 1, 2), f32s(1, 1, 1)), 'indices[0] = -1 is out of range [0, cols = 4) in row 0'],
    ['any index with cols = 0', () => csrFromArrays(2, 0, i32(0, 0, 1), i32(0), f32s(1)), 'indices[0] = 0 is out of range [0, cols = 0) in row 1'],
    ['a repeated column', () => csrFromArrays(2, 4, i32(0, 1, 3), i32(3, 1, 1), f32s(1, 1, 1)), 'indices must be strictly increasing within a row, but row 1 has indices[2] = 1 after indices[1] = 1'],
    ['a decreasing column', () => csrFromArrays(1, 4, i32(0, 3), i32(0, 3, 2), f32s(1, 1, 1)), 'indices must be strictly increasing within a row, but row 0 has indices[2] = 2 after indices[1] = 3'],
    // Per entry in order: entry 1 breaks the order before entry 2 leaves the range...
    ['order broken before range', () => csrFromArrays(1, 4, i32(0, 3), i32(2, 1, 9), f32s(1, 1, 1)), 'indices must be strictly increasing within a row, but row 0 has indices[1] = 1 after indices[0] = 2'],
    // ...and within one entry the range comes first (−1 is also below indices[0]).
    ['range before order in one entry', () => csrFromArrays(1, 4, i32(0, 2), i32(3, -1), f32s(1, 1)), 'indices[1] = -1 is out of range [0, cols = 4) in row 0'],
    ['NaN value', () => csrFromArrays(1, 4, i32(0, 3), i32(0, 1, 2), f32s(1, NaN, Infinity)), 'values[1] = NaN is not finite'],
    ['Infinity value', () => csrFromArrays(1, 4, i32(0, 3), i32(0, 1, 2), f32s(1, 0, Infinity)), 'values[2] = Infinity is not finite'],
    ['-Infinity value', () => csrFromArrays(1, 4, i32(0, 1), i32(3), f32s(-Infinity)), 'values[0] = -Infinity is not finite'],
    ['int8 without scales', () => csrFromArrays(2, 4, i32(0, 1, 1), i32(0), Int8Array.from([1])), 'scales must have rows = 2 entries, received 0'],
    ['int8 with short scales', () => csrFromArrays(2, 4, i32(0, 1, 1), i32(0), Int8Array.from([1]), f32s(1)), 'scales must have rows = 2 entries, received 1'],
    ['int8 with long scales', () => csrFromArrays(2, 4, i32(0, 1, 1), i32(0), Int8Array.from([1]), f32s(1, 1, 1)), 'scales must have rows = 2 entries, received 3'],
    ['NaN scale', () => csrFromArrays(3, 4, i32(0, 1, 1, 1), i32(0), Int8Array.from([1]), f32s(1, 2, NaN)), 'scales[2] = NaN is not finite'],
    ['-Infinity scale on an empty row', () => csrFromArrays(2, 4, i32(0, 0, 0), i32(), Int8Array.from([]), f32s(-Infinity, 1)), 'scales[0] = -Infinity is not finite'],
    ['scales with f32 values', () => csrFromArrays(1, 4, i32(0, 1), i32(0), f32s(1), f32s(1)), 'scales is only used with Int8Array values'],
    // Several rules broken at once: the first in the documented order wins.
    ['indptr length before indptr[0]', () => csrFromArrays(2, 4, i32(3, 1), i32(9), f32s(NaN)), 'indptr must have rows + 1 = 3 entries, received 2'],
    ['indptr[0] before monotonicity', () => csrFromArrays(2, 4, i32(5, 1, 0), i32(9), f32s(NaN)), 'indptr[0] must be 0, received 5'],
    ['nnz before values.length', () => csrFromArrays(1, 4, i32(0, 2), i32(0), f32s()), 'indptr[rows] must equal nnz = indices.length = 1, received indptr[1] = 2'],
    ['values.length before indices', () => csrFromArrays(1, 4, i32(0, 1), i32(7), f32s()), 'values.length must equal indices.length = 1, received 0'],
    ['indices before values', () => csrFromArrays(1, 4, i32(0, 2), i32(0, 7), f32s(NaN, 1)), 'indices[1] = 7 is out of range [0, cols = 4) in row 0'],
    ['int8: indices before scales', () => csrFromArrays(1, 4, i32(0, 1), i32(4), Int8Array.from([1])), 'indices[0] = 4 is out of range [0, cols = 4) in row 0'],
  ];

  it.each(broken)('rejects %s with the rule', (_name, call, rule) => {
    expectThrows(call, RangeError, `csrFromArrays: ${rule}`);
  });
});

describe('reference csrToDense', () => {
  it('round-trips through fromDense (−0 comes back as +0, dropped entries as +0)', () => {
    expect(list(csrToDense(csrFromDense(A_DENSE, 3, 4)))).toEqual(list(A_DENSE));
    expect(list(csrToDense(csrFromDense(f32s(-0, 1, -0.5, 0.25), 2, 2, 0.25)))).toEqual([0, 1, -0.5, 0]);
    expect(list(csrToDense(csrFromDense(f32s(), 0, 5)))).toEqual([]);
    expect(list(csrToDense(csrFromDense(f32s(), 5, 0)))).toEqual([]);
  });

  it('keeps explicit zeros as they are and dequantizes int8 with one f32 multiply', () => {
    expect(list(csrToDense(csrFromArrays(1, 3, i32(0, 2), i32(0, 2), f32s(-0, 3))))).toEqual([-0, 0, 3]);
    // code·scale: 3·0.1 rounds once in f32: fround(3·fround(0.1)).
    const q = csrFromArrays(2, 2, i32(0, 1, 2), i32(1, 0), Int8Array.from([3, -127]), f32s(Math.fround(0.1), 0.5));
    expect(list(csrToDense(q))).toEqual([0, Math.fround(3 * Math.fround(0.1)), -63.5, 0]);
  });
});

describe('reference csrQuantizeValues', () => {
  it('gives one scale per row, codes rounded half to even and clamped', () => {
    // Row 0: amax 254, scale 254/127 = 2 exactly. v/2: 127, 0.5→0, 1.5→2, 2.5→2, −2.5→−2, 63.5→64, 62.5→62, −0.5→−0 = 0.
    // Row 1: empty, scale 1.  Row 2: explicit zeros only (amax 0), scale 1, codes 0.
    // Row 3: subnormals 190, −189, 64, 3 times 2⁻¹⁴⁹: 190/127 ≈ 1.496 ulps rounds to 1 ulp = 2⁻¹⁴⁹,
    //        so v/scale = 190, −189, 64, 3 and the first two clamp to ±127.
    const d = 2 ** -149;
    const a = csrFromArrays(
      4,
      8,
      i32(0, 8, 8, 10, 14),
      i32(0, 1, 2, 3, 4, 5, 6, 7, 2, 5, 0, 3, 4, 7),
      f32s(254, 1, 3, 5, -5, 127, 125, -1, 0, -0, 190 * d, -189 * d, 64 * d, 3 * d),
    );
    const q = csrQuantizeValues(a);
    expect(parts(q)).toEqual({
      rows: 4,
      cols: 8,
      indptr: list(a.indptr),
      indices: list(a.indices),
      values: [127, 0, 2, 2, -2, 64, 62, 0, 0, 0, 127, -127, 64, 3],
      scales: [2, 1, 1, d],
    });
    expect(q.values).toBeInstanceOf(Int8Array);
  });

  it('divides in f32 by the f32 scale', () => {
    // amax 1: scale = fround(1/127). 0.3/scale = 38.1 → 38; 1/scale ≈ 127.000003 → 127.
    const s = Math.fround(1 / 127);
    const q = csrQuantizeValues(csrFromArrays(1, 2, i32(0, 2), i32(0, 1), f32s(1, 0.3)));
    expect(list(q.scales!)).toEqual([s]);
    expect(list(q.values)).toEqual([127, 38]);
    expect(Math.fround(Math.fround(0.3) / s)).toBeCloseTo(38.1, 4);
  });

  it('returns an int8 matrix as it is (native/include/sparq/sparse.h: "returned as a copy")', () => {
    // Row 0: codes [127, 3], scale fround(0.1); row 1: code 5, scale 1. Quantizing again must not
    // re-derive the scales (row 1 would become code 127 with scale 5/127).
    const q = csrFromArrays(2, 3, i32(0, 2, 3), i32(0, 2, 1), Int8Array.from([127, 3, 5]), f32s(0.1, 1));
    expect(parts(csrQuantizeValues(q))).toEqual(parts(q));
  });

  it('handles rows = 0 and nnz = 0', () => {
    expect(parts(csrQuantizeValues(csrFromDense(f32s(), 0, 3)))).toEqual({ rows: 0, cols: 3, indptr: [0], indices: [], values: [], scales: [] });
    expect(parts(csrQuantizeValues(csrFromDense(f32s(0, 0), 2, 1)))).toEqual({ rows: 2, cols: 1, indptr: [0, 0, 0], indices: [], values: [], scales: [1, 1] });
  });
});

describe('reference products', () => {
  const x = f32s(1, 2, 3, 4);

  it('spmv: y[i] = Σ v·x over the row, +0 for an empty row', () => {
    // row 0: 2·1 + (−1)·3 = −1;  row 1: empty → +0;  row 2: 0.5·2 + 4·4 = 17
    const y = reference.spmv(aCsr(), x);
    expect(list(y)).toEqual([-1, 0, 17]);
    expect(Object.is(y[1], 0)).toBe(true);
  });

  it('spmv sums in entry order, rounding after each add', () => {
    // Row 0 = [1, 2⁻²⁴, 2⁻²⁴]: 1 + 2⁻²⁴ ties to 1, twice → 1.  Row 1 = [2⁻²⁴, 2⁻²⁴, 1]: 2⁻²³ + 1 exact.
    const a = csrFromArrays(2, 3, i32(0, 3, 6), i32(0, 1, 2, 0, 1, 2), f32s(1, U, U, U, U, 1));
    expect(list(reference.spmv(a, f32s(1, 1, 1)))).toEqual([1, 1 + 2 * U]);
  });

  it('spmv with int8 values sums the codes, then multiplies by the scale', () => {
    // Row 0 codes [3, −2] at columns 0, 2, scale 0.5: (3·1 − 2·3)·0.5 = −1.5.
    // Row 1 code 127 at column 3, scale 0.25: 127·4·0.25 = 127.  Row 2 empty, scale 2: +0.
    const q = csrFromArrays(3, 4, i32(0, 2, 3, 3), i32(0, 2, 3), Int8Array.from([3, -2, 127]), f32s(0.5, 0.25, 2));
    expect(list(reference.spmv(q, x))).toEqual([-1.5, 127, 0]);
    // Codes [1, 1], x = [1, 2⁻²⁴], scale 3: (1 + 2⁻²⁴ → 1)·3 = 3. Dequantizing first would give
    // 3 + 3·2⁻²⁴, which rounds to 3 + 2⁻²² (the ulp at 3 is 2⁻²²): the order is observable.
    const r = csrFromArrays(1, 2, i32(0, 2), i32(0, 1), Int8Array.from([1, 1]), f32s(3));
    expect(list(reference.spmv(r, f32s(1, U)))).toEqual([3]);
  });

  it('spmv propagates Inf and NaN from x (an explicit zero times Inf is NaN)', () => {
    const a = csrFromArrays(2, 2, i32(0, 1, 2), i32(1, 1), f32s(0, 2));
    const y = reference.spmv(a, f32s(5, Infinity));
    expect(Number.isNaN(y[0])).toBe(true);
    expect(y[1]).toBe(Infinity);
  });

  it('spmv on empty shapes: rows = 0 gives nothing, cols = 0 gives +0s', () => {
    expect(list(reference.spmv(csrFromDense(f32s(), 0, 5), new Float32Array(5)))).toEqual([]);
    expect(list(reference.spmv(csrFromDense(f32s(), 5, 0), f32s()))).toEqual([0, 0, 0, 0, 0]);
  });

  it('spmm: C = A·B with B [cols×n] row-major', () => {
    // B = [[1, −1], [2, 0], [3, 1], [4, 0.5]]
    // row 0: [2·1 − 1·3, 2·(−1) − 1·1] = [−1, −3];  row 1: [0, 0];  row 2: [0.5·2 + 4·4, 0.5·0 + 4·0.5] = [17, 2]
    const b = f32s(1, -1, 2, 0, 3, 1, 4, 0.5);
    expect(list(reference.spmm(aCsr(), b, 2))).toEqual([-1, -3, 0, 0, 17, 2]);
    // n = 1 is spmv.
    expect(list(reference.spmm(aCsr(), x, 1))).toEqual([-1, 0, 17]);
  });

  it('linearSparse: Y = X·Wᵀ + b, the sum rounded before the bias is added', () => {
    // X = [[1, 2, 3, 4], [−1, 0, 1, 0]], W = A [N=3 × K=4]
    // Y[0] = [−1, 0, 17];  Y[1] = [2·(−1) − 1·1, 0, 0.5·0 + 4·0] = [−3, 0, 0]
    const xs = f32s(1, 2, 3, 4, -1, 0, 1, 0);
    expect(list(reference.linearSparse(xs, aCsr(), 2))).toEqual([-1, 0, 17, -3, 0, 0]);
    const bias = f32s(0.5, -2, 1);
    expect(list(reference.linearSparse(xs, aCsr(), 2, bias))).toEqual([-0.5, -2, 18, -2.5, -2, 1]);
    // W row [2⁻²⁴, 2⁻²⁴], x = [1, 1], bias 1: the sum 2⁻²³ first, then + 1 = 1 + 2⁻²³ exactly
    // (starting from the bias would round to 1 twice).
    const w = csrFromArrays(1, 2, i32(0, 2), i32(0, 1), f32s(U, U));
    expect(list(reference.linearSparse(f32s(1, 1), w, 1, f32s(1)))).toEqual([1 + 2 * U]);
    // int8 W: (Σ q·x)·scale, then + bias: codes [3, −2], scale 0.5, x = [1, 2, 3, 4] → −1.5, + 0.25.
    const q = csrFromArrays(1, 4, i32(0, 2), i32(0, 2), Int8Array.from([3, -2]), f32s(0.5));
    expect(list(reference.linearSparse(x, q, 1, f32s(0.25)))).toEqual([-1.25]);
  });

  it('linearSparse with K = 0 gives the bias (or +0)', () => {
    const w = csrFromDense(f32s(), 3, 0);
    expect(list(reference.linearSparse(f32s(), w, 2, f32s(1, -2, 0.5)))).toEqual([1, -2, 0.5, 1, -2, 0.5]);
    expect(list(reference.linearSparse(f32s(), w, 2))).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('reference tolerance bounds: 2·(e + 2)·2⁻²⁴·(Σ|v·x| + |b|)', () => {
  const x = f32s(1, 2, 3, 4);

  it('spmvTolerance', () => {
    // row 0: e = 2, Σ|v·x| = 2 + 3 = 5 → 2·4·5 = 40 units;  row 1: e = 0, sum 0 → 0;  row 2: e = 2, 1 + 16 = 17 → 136.
    const t = reference.spmvTolerance(aCsr(), x);
    expect(t).toBeInstanceOf(Float64Array);
    expect(list(t)).toEqual([40 * U, 0, 136 * U]);
    // Signs do not cancel: x = [−1, 2, 3, −4] gives |2·(−1)| + |(−1)·3| = 5 and |0.5·2| + |4·(−4)| = 17 again.
    expect(list(reference.spmvTolerance(aCsr(), f32s(-1, 2, 3, -4)))).toEqual([40 * U, 0, 136 * U]);
  });

  it('spmvTolerance covers the reordered sum it is meant for', () => {
    // Row [2⁻²⁴, 2⁻²⁴, 1]·[1, 1, 1]: 1 + 2⁻²³ in entry order, 1 in the reverse order; the bound
    // 2·5·2⁻²⁴·(1 + 2⁻²³) is about 10·2⁻²⁴, more than the 2·2⁻²⁴ between them.
    const a = csrFromArrays(1, 3, i32(0, 3), i32(0, 1, 2), f32s(U, U, 1));
    const [t] = reference.spmvTolerance(a, f32s(1, 1, 1));
    expect(t).toBe(10 * U * (1 + 2 * U));
    expect(t!).toBeGreaterThan(2 * U);
  });

  it('spmmTolerance and the int8 bound over dequantized values', () => {
    // B as in the spmm case: row 0 col 0: |2·1| + |−1·3| = 5 → 40;  col 1: |2·(−1)| + |−1·1| = 3 → 24.
    // row 2 col 0: 1 + 16 = 17 → 136;  col 1: 0 + 2 = 2 → 16.
    const b = f32s(1, -1, 2, 0, 3, 1, 4, 0.5);
    expect(list(reference.spmmTolerance(aCsr(), b, 2))).toEqual([40 * U, 24 * U, 0, 0, 136 * U, 16 * U]);
    // int8 codes [3, −2], scale 0.5 → values 1.5, −1: |1.5·1| + |−1·3| = 4.5, e = 2 → 2·4·4.5 = 36.
    const q = csrFromArrays(1, 4, i32(0, 2), i32(0, 2), Int8Array.from([3, -2]), f32s(0.5));
    expect(list(reference.spmvTolerance(q, x))).toEqual([36 * U]);
  });

  it('linearSparseTolerance adds |b|', () => {
    // Y[0][0]: 5 + 0.5 → 2·4·5.5 = 44;  Y[0][1]: empty row, e = 0, |−2| → 2·2·2 = 8;  Y[0][2]: 17 + 1 → 144.
    // Y[1][0]: X row [−1, 0, 1, 0]: |2·(−1)| + |−1·1| = 3, + 0.5 → 28;  Y[1][1]: 8;  Y[1][2]: 0 + 1 → 2·4·1 = 8.
    const xs = f32s(1, 2, 3, 4, -1, 0, 1, 0);
    expect(list(reference.linearSparseTolerance(xs, aCsr(), 2, f32s(0.5, -2, 1)))).toEqual([44 * U, 8 * U, 144 * U, 28 * U, 8 * U, 8 * U]);
    // Without the bias, Y[1][2] has no relative part: only the underflow term of its 2 entries, 2·2⁻¹⁴⁸.
    expect(list(reference.linearSparseTolerance(xs, aCsr(), 2))).toEqual([40 * U, 0, 136 * U, 24 * U, 0, 2 * 2 ** -148]);
  });
});
