/**
 * Native sparse CSR on every tier this machine has. Builders (fromDense with thresholds, fromCoo
 * with duplicates, fromArrays, quantizeValues, withIndexBits, toDense) equal the reference
 * exactly; spmv / spmm / linearSparse stay within docs/sparse.md's per-output bound of the
 * reference over row lengths 0…65, n and m grids, empty rows and shapes, f32 and int8 values,
 * u32 and u16 indices. Results do not depend on the thread count, on n, on the index width or on
 * sync vs async. Each case checks the forced tier's kernel really ran.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CsrMatrix,
  isa,
  lastSparseKernel,
  linearSparse,
  linearSparseAsync,
  setIsa,
  setThreads,
  spmm,
  spmmAsync,
  spmv,
  spmvAsync,
  threads,
} from '../../lib/index';
import * as reference from '../../lib/reference/index';
import { atOddOffset, expectSameFloats, expectSameInts, expectWithinBound, randomInts, tiersOfThisArch } from '../helpers';
import { MS, NS, STRUCTURES, type Structure, bitsOf, build, cached, dense, expectEmptyRowsPositiveZero, firstColumns, kernelName, kernelTier, nativeOf, quick, refCsr, refOf, transpose } from './sparse-structures';

describe.each(tiersOfThisArch())('sparse CSR on $tier', ({ tier, runs, why }) => {
  const skipped = runs ? '' : ` (skipped: ${why})`;
  beforeAll(() => {
    if (runs) setIsa(tier);
  });
  afterAll(() => setIsa(null));

  it.skipIf(!runs)(`runs the ${kernelTier(tier)} kernel of every op, value type and index width${skipped}`, () => {
    expect(isa()).toBe(tier);
    const s = STRUCTURES[0]!;
    for (const values of ['f32', 'int8'] as const) {
      for (const bits of [32, 16] as const) {
        const a = nativeOf(s, values, bits);
        expect([a.valueType, a.indexBits]).toEqual([values, bits]);
        spmv(a, dense(s.cols, 1));
        expect(lastSparseKernel()).toBe(kernelName('spmv', values, bits, tier));
        spmm(a, dense(s.cols * 5, 2), 5);
        expect(lastSparseKernel()).toBe(kernelName('spmm', values, bits, tier));
        linearSparse(dense(s.cols, 3), a, 1);
        expect(lastSparseKernel()).toBe(kernelName('spmv', values, bits, tier));
        linearSparse(dense(3 * s.cols, 4), a, 3);
        expect(lastSparseKernel()).toBe(kernelName('spmm', values, bits, tier));
      }
    }
  });

  it.skipIf(!runs).each(STRUCTURES.map((s) => [s.name, s] as const))(`builders equal the reference: %s${skipped}`, (_name, s) => {
    const want = refCsr(s);
    const d = reference.csrToDense(want);
    for (const bits of bitsOf(s)) {
      const context = { tier, structure: s.name, bits };
      // fromArrays keeps the arrays as they are.
      const a = CsrMatrix.fromArrays(s.rows, s.cols, atOddOffset(s.indptr), atOddOffset(s.indices), atOddOffset(s.values), { indexBits: bits });
      expect([a.rows, a.cols, a.nnz, a.valueType, a.indexBits]).toEqual([s.rows, s.cols, s.indices.length, 'f32', bits]);
      expect(a.density).toBe(s.rows * s.cols === 0 ? 0 : s.indices.length / (s.rows * s.cols));
      expect(a.byteLength).toBe(4 * (s.rows + 1) + s.indices.length * (bits / 8 + 4));
      expect(Object.isFrozen(a)).toBe(true);
      const parts = a.toArrays();
      expectSameInts(parts.indptr, s.indptr, { ...context, part: 'indptr' });
      expect(parts.indices).toBeInstanceOf(Int32Array);
      expectSameInts(parts.indices, s.indices, { ...context, part: 'indices' });
      expect(parts.values).toBeInstanceOf(Float32Array);
      expectSameFloats(parts.values as Float32Array, s.values, { ...context, part: 'values' });
      expect(parts.scales).toBeNull();
      // toDense, fresh and into a given out at an odd offset.
      expectSameFloats(a.toDense(), d, { ...context, op: 'toDense' });
      const out = atOddOffset(new Float32Array(d.length + 2).fill(NaN));
      expect(a.toDense({ out })).toBe(out);
      expectSameFloats(out.subarray(0, d.length), d, { ...context, op: 'toDense out' });
      expect(Number.isNaN(out[d.length]!)).toBe(true);
      // fromDense at several thresholds (0.1 is no f32: fround(0.1) lies above it and is kept).
      const withTenth = d.map((v, i) => (i % 9 === 4 ? Math.fround(0.1) : i % 9 === 7 ? -0.5 : v));
      // Tiny thresholds near the subnormals (2⁻¹⁴⁹·1.5 is no f32) and one past the f32 range.
      for (const threshold of [undefined, 0, 0.5, 0.1, 1.25, 1e-46, 2 ** -149 * 1.5, 2 ** -141, 1e39]) {
        const got = CsrMatrix.fromDense(atOddOffset(withTenth), s.rows, s.cols, { threshold, indexBits: bits }).toArrays();
        const ref = reference.csrFromDense(withTenth, s.rows, s.cols, threshold ?? 0);
        expectSameInts(got.indptr, ref.indptr, { ...context, threshold, part: 'fromDense indptr' });
        expectSameInts(got.indices, ref.indices, { ...context, threshold, part: 'fromDense indices' });
        expectSameFloats(got.values as Float32Array, ref.values as Float32Array, { ...context, threshold, part: 'fromDense values' });
      }
      // fromCoo: the entries shuffled, some split into duplicates (one exact, one that rounds),
      // plus explicit zeros and pairs that cancel to zero.
      const coo = shuffledCoo(s);
      const fromCoo = CsrMatrix.fromCoo(s.rows, s.cols, atOddOffset(coo.rowIdx), atOddOffset(coo.colIdx), atOddOffset(coo.values), { indexBits: bits });
      const refCoo = reference.csrFromCoo(s.rows, s.cols, coo.rowIdx, coo.colIdx, coo.values);
      const gotCoo = fromCoo.toArrays();
      expectSameInts(gotCoo.indptr, refCoo.indptr, { ...context, part: 'fromCoo indptr' });
      expectSameInts(gotCoo.indices, refCoo.indices, { ...context, part: 'fromCoo indices' });
      expectSameFloats(gotCoo.values as Float32Array, refCoo.values as Float32Array, { ...context, part: 'fromCoo values' });
      // quantizeValues: codes and scales bit for bit, structure and index width kept.
      const q = a.quantizeValues();
      expect([q.valueType, q.indexBits, q.nnz]).toEqual(['int8', bits, s.indices.length]);
      expect(q.byteLength).toBe(4 * (s.rows + 1) + s.indices.length * (bits / 8 + 1) + 4 * s.rows);
      const qParts = q.toArrays();
      const qRef = reference.csrQuantizeValues(want);
      expectSameInts(qParts.indptr, s.indptr, { ...context, part: 'int8 indptr' });
      expectSameInts(qParts.indices, s.indices, { ...context, part: 'int8 indices' });
      expect(qParts.values).toBeInstanceOf(Int8Array);
      expectSameInts(qParts.values, qRef.values, { ...context, part: 'codes' });
      expectSameFloats(qParts.scales!, qRef.scales!, { ...context, part: 'scales' });
      expectSameFloats(q.toDense(), reference.csrToDense(qRef), { ...context, op: 'int8 toDense' });
      // An int8 matrix rebuilt from its arrays, and quantized again, is the same matrix.
      const q2 = CsrMatrix.fromArrays(s.rows, s.cols, qParts.indptr, qParts.indices, qParts.values, { scales: qParts.scales!, indexBits: bits });
      const requantized = q2.quantizeValues().toArrays();
      expectSameInts(requantized.values, qParts.values, { ...context, part: 'requantized codes' });
      expectSameFloats(requantized.scales!, qParts.scales!, { ...context, part: 'requantized scales' });
      // withIndexBits changes only the storage.
      for (const other of bitsOf(s)) {
        const w = a.withIndexBits(other);
        expect(w.indexBits).toBe(other);
        expectSameInts(w.toArrays().indices, s.indices, { ...context, other, part: 'withIndexBits' });
        expectSameInts(q.withIndexBits(other).toArrays().values, qParts.values, { ...context, other, part: 'int8 withIndexBits' });
      }
    }
  });

  it.skipIf(!runs)(`quantizeValues rounds half to even and clamps like the reference, subnormals included${skipped}`, () => {
    const d = 2 ** -149;
    // Row 0: scale 2, v/2 on .5 ties. Row 1: subnormal scale 2⁻¹⁴⁹, codes 190 and −189 clamp.
    // Row 2: explicit zeros only → scale 1. Row 3: empty → scale 1. Row 4: amax 1, scale fround(1/127).
    const a = CsrMatrix.fromArrays(
      5,
      8,
      Int32Array.from([0, 8, 12, 14, 14, 17]),
      Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 0, 3, 4, 7, 2, 5, 0, 1, 2]),
      Float32Array.from([254, 1, 3, 5, -5, 127, 125, -1, 190 * d, -189 * d, 64 * d, 3 * d, 0, -0, 1, 0.3, -0.7]),
    );
    const q = a.quantizeValues().toArrays();
    expectSameInts(q.values, [127, 0, 2, 2, -2, 64, 62, 0, 127, -127, 64, 3, 0, 0, 127, 38, -89], { tier, part: 'codes' });
    expectSameFloats(q.scales!, Float32Array.from([2, d, 1, 1, 1 / 127]), { tier, part: 'scales' });
    const ref = reference.csrQuantizeValues(reference.csrFromArrays(5, 8, q.indptr, q.indices, a.toArrays().values));
    expectSameInts(q.values, ref.values, { tier, part: 'codes vs reference' });
  });

  it.skipIf(!runs)(`fromCoo sums signed zeros in input order, IEEE-style${skipped}`, () => {
    // (0,0): −0 + −0 = −0;  (0,1): −0 + +0 = +0;  (0,2): +0 + −0 = +0;  (1,0): a lone −0 stays −0.
    const r = Int32Array.from([0, 0, 0, 0, 0, 0, 1]);
    const c = Int32Array.from([0, 0, 1, 1, 2, 2, 0]);
    const v = Float32Array.from([-0, -0, -0, 0, 0, -0, -0]);
    for (const indexBits of [32, 16] as const) {
      const got = CsrMatrix.fromCoo(2, 3, r, c, v, { indexBits }).toArrays();
      expectSameInts(got.indptr, [0, 3, 4], { tier, indexBits });
      expectSameFloats(got.values as Float32Array, Float32Array.from([-0, 0, 0, -0]), { tier, indexBits });
      expectSameFloats(reference.csrFromCoo(2, 3, r, c, v).values as Float32Array, Float32Array.from([-0, 0, 0, -0]), { reference: true });
    }
  });

  it.skipIf(!runs)(`quantizeValues of an int8 matrix equals the reference's${skipped}`, () => {
    // sparse.h: "An int8 matrix is returned as a copy"; the reference is the spec the native code is held to.
    const indptr = Int32Array.from([0, 2, 3]);
    const indices = Int32Array.from([0, 2, 1]);
    const codes = Int8Array.from([127, 3, 5]);
    const scales = Float32Array.from([0.1, 1]);
    const got = CsrMatrix.fromArrays(2, 3, indptr, indices, codes, { scales }).quantizeValues().toArrays();
    const want = reference.csrQuantizeValues(reference.csrFromArrays(2, 3, indptr, indices, codes, scales));
    expectSameInts(got.values, want.values, { tier, part: 'codes' });
    expectSameFloats(got.scales!, want.scales!, { tier, part: 'scales' });
  });

  it.skipIf(!runs).each(STRUCTURES.map((s) => [s.name, s] as const))(`spmv, spmm, linearSparse are within the bound of the reference: %s${skipped}`, (_name, s) => {
    const ns = NS.filter((n) => n <= s.maxN);
    const ms = MS.filter((m) => m <= s.maxN);
    const x = dense(s.cols, s.cols + 1);
    const wide = ns[ns.length - 1]!;
    const bWide = dense(s.cols * wide, s.cols + 2);
    const xs = dense(ms[ms.length - 1]! * s.cols, s.cols + 3);
    const bias = dense(s.rows, s.rows + 4, 3);
    for (const values of ['f32', 'int8'] as const) {
      const ref = refOf(s, values);
      const byBits = new Map<string, Float32Array>(); // results of the first index width, to compare the second with
      const same = (key: string, got: Float32Array, context: object): void => {
        const first = byBits.get(key);
        if (first) expectSameFloats(got, first, { ...context, vs: 'u32' });
        else byBits.set(key, got);
      };
      for (const bits of bitsOf(s)) {
        const a = nativeOf(s, values, bits);
        const context = { tier, structure: s.name, values, bits };
        // spmv
        // (With rows = 0 there is nothing to compute and no kernel runs.)
        const ran = (op: 'spmv' | 'spmm'): void => {
          if (s.rows > 0) expect(lastSparseKernel()).toBe(kernelName(op, values, bits, tier));
        };
        const y = spmv(a, x);
        ran('spmv');
        const v = cached(`spmv ${s.name} ${values}`, () => ({ want: reference.spmv(ref, x), tolerance: reference.spmvTolerance(ref, x) }));
        expectWithinBound(y, v.want, v.tolerance, { ...context, op: 'spmv' });
        expectEmptyRowsPositiveZero(y, s, 1, { ...context, op: 'spmv' });
        same('spmv', y, context);
        // spmm over n; C[i][t] must not depend on n: compare with the widest run's columns.
        const cWide = spmm(a, bWide, wide);
        for (const n of ns) {
          const b = firstColumns(bWide, s.cols, wide, n);
          const c = spmm(a, b, n);
          ran('spmm');
          const r = cached(`spmm ${s.name} ${values} ${n}`, () => ({ want: reference.spmm(ref, b, n), tolerance: reference.spmmTolerance(ref, b, n) }));
          expectWithinBound(c, r.want, r.tolerance, { ...context, op: 'spmm', n });
          expectEmptyRowsPositiveZero(c, s, n, { ...context, op: 'spmm', n });
          expectSameFloats(c, firstColumns(cWide, s.rows, wide, n), { ...context, op: 'spmm independent of n', n });
          same(`spmm ${n}`, c, { ...context, n });
        }
        // linearSparse over m, with and without bias.
        for (const m of ms) {
          const xm = xs.subarray(0, m * s.cols);
          for (const withBias of [false, true]) {
            const yl = linearSparse(xm, a, m, withBias ? { bias } : undefined);
            ran(m === 1 ? 'spmv' : 'spmm');
            const r = cached(`linear ${s.name} ${values} ${m} ${withBias}`, () => ({
              want: reference.linearSparse(xm, ref, m, withBias ? bias : undefined),
              tolerance: reference.linearSparseTolerance(xm, ref, m, withBias ? bias : undefined),
            }));
            const lc = { ...context, op: 'linearSparse', m, withBias };
            expectWithinBound(yl, r.want, r.tolerance, lc);
            same(`linear ${m} ${withBias}`, yl, lc);
            // m = 1 is spmv; m ≥ 2 is spmm on Xᵀ transposed back; the bias is one more rounding.
            const plain = m === 1 ? spmv(a, xm) : transpose(spmm(a, transpose(xm, m, s.cols), m), s.rows, m);
            const expected = withBias ? plain.map((p, i) => Math.fround(p + bias[i % s.rows]!)) : plain;
            expectSameFloats(yl, expected, { ...lc, vs: m === 1 ? 'spmv' : 'spmm' });
            if (!withBias) expectEmptyRowsPositiveZero(transpose(yl, m, s.rows), s, m, lc);
          }
        }
      }
    }
  });

  it.skipIf(!runs)(`propagates NaN and ±Inf from the dense operand (an explicit zero times Inf is NaN)${skipped}`, () => {
    // 3×4: row 0 = {1: 0 (explicit), 2: 2}, row 1 = {0: −1, 3: 4}, row 2 = {}; x = [1, Inf, 3, NaN]:
    // y = [0·Inf + 2·3, −1·1 + 4·NaN, +0] = [NaN, NaN, +0]; with x[3] = 5: [NaN, −1 + 20 = 19, +0].
    // int8 row 1: scale fround(4/127), codes −32 and 127, so y[1] = (−32 + 635)·scale.
    const indptr = Int32Array.from([0, 2, 4, 4]);
    const indices = Int32Array.from([1, 2, 0, 3]);
    const vals = Float32Array.from([0, 2, -1, 4]);
    for (const values of ['f32', 'int8'] as const) {
      const row1 = values === 'f32' ? 19 : Math.fround(603 * Math.fround(4 / 127));
      for (const bits of [32, 16] as const) {
        let a = CsrMatrix.fromArrays(3, 4, indptr, indices, vals, { indexBits: bits });
        if (values === 'int8') a = a.quantizeValues();
        const context = `${tier} ${values} u${bits}`;
        const y = spmv(a, Float32Array.from([1, Infinity, 3, NaN]));
        expect(Number.isNaN(y[0]) && Number.isNaN(y[1]) && Object.is(y[2], 0), `${context}: ${y}`).toBe(true);
        const y2 = spmv(a, Float32Array.from([1, Infinity, 3, 5]));
        expect(Number.isNaN(y2[0]), context).toBe(true);
        expect([y2[1], y2[2]], context).toEqual([row1, 0]);
        // spmm: the same in every column of B, vector lanes and tails alike.
        const n = 19;
        const b = new Float32Array(4 * n);
        for (let t = 0; t < n; t++) {
          b[t] = 1;
          b[n + t] = t % 2 ? Infinity : -Infinity;
          b[2 * n + t] = 3;
          b[3 * n + t] = 5;
        }
        const c = spmm(a, b, n);
        for (let t = 0; t < n; t++) {
          expect(Number.isNaN(c[t]), `${context} column ${t}`).toBe(true);
          expect(c[n + t], `${context} column ${t}`).toBe(row1);
          expect(Object.is(c[2 * n + t], 0), `${context} column ${t}`).toBe(true);
        }
      }
    }
  });

  it.skipIf(!runs)(`reads views at odd offsets and writes only its part of out${skipped}`, () => {
    const s = STRUCTURES[1]!;
    const a = nativeOf(s, 'f32', 16);
    const x = dense(s.cols, 21);
    const n = 7;
    const b = dense(s.cols * n, 22);
    const m = 3;
    const xs = dense(m * s.cols, 23);
    const bias = dense(s.rows, 24);
    const cases: Array<[string, (out: Float32Array) => Float32Array, () => Float32Array, number]> = [
      ['spmv', (out) => spmv(a, atOddOffset(x), { out }), () => spmv(a, x), s.rows],
      ['spmm', (out) => spmm(a, atOddOffset(b), n, { out }), () => spmm(a, b, n), s.rows * n],
      ['linearSparse', (out) => linearSparse(atOddOffset(xs), a, m, { bias: atOddOffset(bias), out }), () => linearSparse(xs, a, m, { bias }), m * s.rows],
    ];
    for (const [op, call, plain, length] of cases) {
      const out = atOddOffset(new Float32Array(length + 3).fill(-7));
      expect(call(out)).toBe(out);
      expectSameFloats(out.subarray(0, length), plain(), { tier, op });
      expect([...out.subarray(length)]).toEqual([-7, -7, -7]);
    }
  });

  it.skipIf(!runs)(`gives identical results on 1 and 2 threads${skipped}`, () => {
    // 2000 rows of very uneven length, so a split by balanced nnz cuts rows unevenly.
    const s = build('threads', 4000, 1000, (i) => (i % 97 === 0 ? 900 : (i * 7) % 40), 31);
    const before = threads();
    try {
      for (const values of ['f32', 'int8'] as const) {
        for (const bits of [32, 16] as const) {
          const a = nativeOf(s, values, bits);
          const x = dense(s.cols, 32);
          const b = dense(s.cols * 33, 33);
          const xs = dense(5 * s.cols, 34);
          const bias = dense(s.rows, 35);
          setThreads(1);
          const one = [spmv(a, x), spmm(a, b, 33), linearSparse(xs, a, 5, { bias }), linearSparse(x, a, 1, { bias })];
          setThreads(2);
          const two = [spmv(a, x), spmm(a, b, 33), linearSparse(xs, a, 5, { bias }), linearSparse(x, a, 1, { bias })];
          one.forEach((r, i) => expectSameFloats(two[i]!, r, { tier, values, bits, op: i }));
          const ref = values === 'f32' ? refCsr(s) : reference.csrQuantizeValues(refCsr(s));
          expectWithinBound(one[0]!, reference.spmv(ref, x), reference.spmvTolerance(ref, x), { tier, values, bits, threads: true });
        }
      }
    } finally {
      setThreads(before);
    }
  });

  it.skipIf(!runs)(`async variants equal the sync ones and copy their inputs${skipped}`, async () => {
    const s = STRUCTURES[0]!;
    for (const values of ['f32', 'int8'] as const) {
      const a = nativeOf(s, values, 32);
      const x = dense(s.cols, 41);
      const n = 17;
      const b = dense(s.cols * n, 42);
      const m = 4;
      const xs = dense(m * s.cols, 43);
      const bias = dense(s.rows, 44);
      const want = [spmv(a, x), spmm(a, b, n), linearSparse(xs, a, m, { bias }), linearSparse(x, a, 1, { bias })];
      const [x1, b1, xs1, bias1, x2, bias2] = [x.slice(), b.slice(), xs.slice(), bias.slice(), x.slice(), bias.slice()];
      const pending = [spmvAsync(a, x1), spmmAsync(a, b1, n), linearSparseAsync(xs1, a, m, { bias: bias1 }), linearSparseAsync(x2, a, 1, { bias: bias2 })];
      for (const array of [x1, b1, xs1, bias1, x2, bias2]) array.fill(NaN); // copied when the calls were made
      const got = await Promise.all(pending);
      got.forEach((r, i) => expectSameFloats(r, want[i]!, { tier, values, async: i }));
      const out = new Float32Array(s.rows * n);
      expect(await spmmAsync(a, b, n, { out })).toBe(out);
      expectSameFloats(out, want[1]!, { tier, values, async: 'out' });
      expect(lastSparseKernel()).toBe(kernelName('spmm', values, 32, tier));
    }
  });

  it.skipIf(!runs)(`concurrent async calls (each split over the pool) give the sync results${skipped}`, async () => {
    const s = build('concurrent', 3000, 800, (i) => (i % 50 === 0 ? 700 : (i * 13) % 45), 51);
    const f = nativeOf(s, 'f32', 16);
    const q = nativeOf(s, 'int8', 32);
    const x = dense(s.cols, 52);
    const b = dense(s.cols * 24, 53);
    const xs = dense(70 * s.cols, 54);
    const bias = dense(s.rows, 55);
    const calls: Array<[() => Float32Array, () => Promise<Float32Array>]> = [];
    for (const a of [f, q]) {
      calls.push([() => spmv(a, x), () => spmvAsync(a, x)]);
      calls.push([() => spmm(a, b, 24), () => spmmAsync(a, b, 24)]);
      calls.push([() => linearSparse(xs, a, 70, { bias }), () => linearSparseAsync(xs, a, 70, { bias })]);
      calls.push([() => linearSparse(x, a, 1, { bias }), () => linearSparseAsync(x, a, 1, { bias })]);
    }
    const want = calls.map(([sync]) => sync());
    for (let round = 0; round < (quick ? 1 : 3); round++) {
      const got = await Promise.all(calls.map(([, async]) => async()));
      got.forEach((r, i) => expectSameFloats(r, want[i]!, { tier, call: i, round }));
    }
  });
});

/** The entries of s as COO triples, shuffled, with duplicates, explicit zeros and cancelling pairs added. */
function shuffledCoo(s: Structure): { rowIdx: Int32Array; colIdx: Int32Array; values: Float32Array } {
  const rows: number[] = [];
  const cols: number[] = [];
  const vals: number[] = [];
  for (let i = 0; i < s.rows; i++) {
    for (let j = s.indptr[i]!; j < s.indptr[i + 1]!; j++) {
      const v = s.values[j]!;
      const push = (value: number): void => {
        rows.push(i);
        cols.push(s.indices[j]!);
        vals.push(value);
      };
      if (j % 5 === 1) {
        // v/3 three times: the f32 sum depends on the order.
        const third = Math.fround(v / 3);
        push(third), push(third), push(Math.fround(v - 2 * third));
      } else if (j % 5 === 2) {
        push(v), push(-v); // cancels to +0, kept
      } else if (j % 5 === 3) {
        push(0); // explicit zero
      } else if (j % 5 === 4) {
        push(-0); // a lone −0
      } else {
        push(v), push(v * 2 ** -24), push(v * 2 ** -24); // ties that round away or not by order
      }
    }
  }
  const order = randomInts(rows.length, 1 << 24, s.rows + s.cols + 99);
  const perm = Array.from({ length: rows.length }, (_, e) => e).sort((p, q) => order[p]! - order[q]! || p - q);
  return {
    rowIdx: Int32Array.from(perm, (e) => rows[e]!),
    colIdx: Int32Array.from(perm, (e) => cols[e]!),
    values: Float32Array.from(perm, (e) => vals[e]!),
  };
}
