/**
 * Inputs a hostile or careless caller hands over: arrays in a SharedArrayBuffer, forged
 * typed-array tags, row counts that would commit gigabytes, and objects used after dispose().
 */
import { describe, expect, it } from 'vitest';
import * as sparq from '../../lib/index';
import { native } from '../../lib/native';
import * as reference from '../../lib/reference/index';
import { expectSameFloats, expectSameInts, expectThrows, randomFloats, randomInt8 } from '../helpers';

/** A copy of `src` in a SharedArrayBuffer. */
function shared<T extends Float32Array | Int8Array | Uint8Array | Int32Array>(src: T): T {
  const ctor = src.constructor as new (b: SharedArrayBuffer) => T;
  const out = new ctor(new SharedArrayBuffer(src.byteLength));
  out.set(src as never);
  return out;
}

/** An Int8Array that claims to be a Float32Array through Symbol.toStringTag. */
function forgedFloat32(length: number): Float32Array {
  const a = new Int8Array(length);
  Object.defineProperty(a, Symbol.toStringTag, { value: 'Float32Array' });
  return a as unknown as Float32Array;
}

describe('SharedArrayBuffer-backed arrays', () => {
  const n = 24, k = 64, m = 5;
  const w = randomFloats(n * k, 1);
  const x = randomFloats(m * k, 2);

  it('are accepted by every family and give the same bits as ordinary arrays', async () => {
    const packed = sparq.packF32(shared(w), n, k);
    expectSameFloats(sparq.linearF32(shared(x), packed, m), sparq.linearF32(x, packed, m), { op: 'linearF32' });
    expectSameFloats(await sparq.linearF32Async(shared(x), packed, m), sparq.linearF32(x, packed, m), { op: 'linearF32Async' });
    const out = shared(new Float32Array(m * n));
    sparq.gemmF32(shared(x), shared(w), m, n, k, { transB: true, out });
    expectSameFloats(out, sparq.gemmF32(x, w, m, n, k, { transB: true }), { op: 'gemmF32 out' });

    const b8 = randomInt8(n * k, 3);
    const a8 = new Uint8Array(randomInt8(m * k, 4).buffer);
    const p8 = sparq.packInt8(shared(b8), n, k);
    expectSameInts(sparq.gemmU8S8(shared(a8), p8, m), reference.gemmU8S8(a8, b8, m, n, k), { op: 'gemmU8S8' });

    const q = sparq.quantize(shared(w), n, k, 'q4_0');
    expectSameFloats(sparq.matmulQuantized(shared(x), q, m), sparq.matmulQuantized(x, q, m), { op: 'matmulQuantized' });

    const csr = sparq.CsrMatrix.fromDense(shared(w), n, k, { threshold: 0.5 });
    expectSameFloats(sparq.spmv(csr, shared(x.subarray(0, k))), sparq.spmv(csr, x.subarray(0, k)), { op: 'spmv' });
  });

  it('are copied by the sparse builders before they are validated', () => {
    const rows = shared(Int32Array.from([0, 2, 1, 0]));
    const cols = shared(Int32Array.from([1, 0, 3, 1]));
    const values = shared(Float32Array.from([1, 2, 3, 4]));
    const a = sparq.CsrMatrix.fromCoo(3, 4, rows, cols, values);
    const want = reference.csrFromCoo(3, 4, Int32Array.from(rows), Int32Array.from(cols), Float32Array.from(values));
    const { indptr, indices, values: vals } = a.toArrays();
    expectSameInts(indptr, want.indptr, { op: 'fromCoo indptr' });
    expectSameInts(indices, want.indices, { op: 'fromCoo indices' });
    expectSameFloats(vals as Float32Array, want.values as Float32Array, { op: 'fromCoo values' });
    const b = sparq.CsrMatrix.fromArrays(3, 4, shared(indptr), shared(indices), shared(vals as Float32Array));
    expectSameInts(b.toArrays().indices, want.indices, { op: 'fromArrays' });
  });
});

describe('forged typed-array tags', () => {
  it('an Int8Array tagged Float32Array is refused as out, sync and async alike', async () => {
    const w = sparq.packF32(randomFloats(8 * 8, 5), 8, 8);
    const x = randomFloats(8, 6);
    expectThrows(() => sparq.linearF32(x, w, 1, { out: forgedFloat32(8) }), TypeError, /^linearF32: expected (options\.)?out: Float32Array, received Int8Array/);
    await expect(sparq.linearF32Async(x, w, 1, { out: forgedFloat32(8) })).rejects.toThrow(TypeError);
    await expect(sparq.linearF32Async(x, w, 1, { out: forgedFloat32(8) })).rejects.toThrow(/Float32Array, received Int8Array/);
  });

  it('a swapped prototype does not pass either', () => {
    const fake = Object.setPrototypeOf(new Int8Array(64), Float32Array.prototype) as Float32Array;
    expectThrows(() => sparq.packF32(fake, 8, 8), TypeError, /^packF32: expected w: Float32Array, received Int8Array/);
  });
});

describe('row counts that are not backed by input', () => {
  it('fromCoo with 2³¹ − 1 rows and 79 entries fails at once, native and reference alike', () => {
    const e = new Int32Array(79);
    const message = 'CsrMatrix.fromCoo: expected rows: at most 16777216 or the number of entries given (79), received number 2147483647';
    expectThrows(() => sparq.CsrMatrix.fromCoo(2147483647, 36, e, e, new Float32Array(79)), RangeError, message);
    expectThrows(() => reference.csrFromCoo(2147483647, 36, e, e, new Float32Array(79)), RangeError, message.replace('CsrMatrix.fromCoo', 'csrFromCoo'));
  });

  it('fromDense with 2³¹ − 1 rows of no columns fails at once', () => {
    const message = 'CsrMatrix.fromDense: expected rows: at most 16777216 or the number of entries given (0), received number 2147483647';
    expectThrows(() => sparq.CsrMatrix.fromDense(new Float32Array(0), 2147483647, 0), RangeError, message);
    expectThrows(() => reference.csrFromDense(new Float32Array(0), 2147483647, 0), RangeError, message.replace('CsrMatrix.fromDense', 'csrFromDense'));
  });

  it('the limit itself still builds, and more rows pass the check when as many entries are given', () => {
    const empty = sparq.CsrMatrix.fromDense(new Float32Array(0), 2 ** 24, 0);
    expect(empty.rows).toBe(2 ** 24);
    empty.dispose();
    const three = Int32Array.from([0, 5, 2 ** 24 - 1]);
    const a = sparq.CsrMatrix.fromCoo(2 ** 24, 2, three, new Int32Array(3), new Float32Array(3).fill(1));
    expect([a.rows, a.nnz]).toEqual([2 ** 24, 3]);
    a.dispose();
    // 2²⁴ + 1 rows given 2²⁴ + 1 entries: past the row check (it fails later, on a column).
    const many = 2 ** 24 + 1;
    const rows = new Int32Array(many);
    expectThrows(() => sparq.CsrMatrix.fromCoo(many, 1, rows, rows.fill(1, many - 1), new Float32Array(many)), RangeError, /colIdx\[16777216\] = 1 is out of range/);
  });

  it('products over a matrix with no columns keep their output within 2²⁴ elements, sync and async', async () => {
    const a = sparq.CsrMatrix.fromDense(new Float32Array(0), 4, 0);
    const none = new Float32Array(0);
    const spmmText = 'expected n: rows·n ≤ 16777216 when a has no columns (nothing backs the output), received number 2147483647';
    const linearText = 'expected m: m·N ≤ 16777216 when w has no columns (nothing backs the output), received number 2147483647';
    expectThrows(() => sparq.spmm(a, none, 2147483647), RangeError, `spmm: ${spmmText}`);
    await expect(sparq.spmmAsync(a, none, 2147483647)).rejects.toThrow(`spmmAsync: ${spmmText}`);
    expectThrows(() => sparq.linearSparse(none, a, 2147483647), RangeError, `linearSparse: ${linearText}`);
    await expect(sparq.linearSparseAsync(none, a, 2147483647)).rejects.toThrow(`linearSparseAsync: ${linearText}`);
    // The raw binding re-checks it where it allocates the output itself.
    expectThrows(() => native.spmmAsync(a.handle as never, none, 2147483647), RangeError, `spmmAsync: ${spmmText}`);
    expectThrows(() => native.linearSparseAsync(none, a.handle as never, 2147483647, undefined), RangeError, `linearSparseAsync: ${linearText}`);
    // At the limit it still computes: zeros, or the bias.
    expect(await sparq.spmmAsync(a, none, 2 ** 22)).toHaveLength(2 ** 24);
    const bias = Float32Array.from([1, 2, 3, 4]);
    expect([...sparq.linearSparse(none, a, 2, { bias })]).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    a.dispose();
  });

  it('the raw binding re-checks the same rule', () => {
    expectThrows(() => native.csrFromCoo(2147483647, 1, new Int32Array(0), new Int32Array(0), new Float32Array(0), 32), RangeError, /^CsrMatrix\.fromCoo: expected rows: at most 16777216/);
    expectThrows(() => native.csrFromDense(new Float32Array(0), 2147483647, 0, 0, 32), RangeError, /^CsrMatrix\.fromDense: expected rows: at most 16777216/);
  });
});

describe('dispose()', () => {
  const n = 16, k = 32;
  const w = randomFloats(n * k, 7);
  const makers: Array<[string, () => sparq.NativeObject, (o: never) => unknown]> = [
    ['PackedF32Matrix', () => sparq.packF32(w, n, k), (o: sparq.PackedF32Matrix) => sparq.linearF32(new Float32Array(k), o, 1)],
    ['PackedInt8Matrix', () => sparq.packInt8(randomInt8(n * k, 8), n, k), (o: sparq.PackedInt8Matrix) => sparq.gemmS8S8(new Int8Array(k), o, 1)],
    ['LinearInt8', () => sparq.quantizeLinearInt8(w, n, k), (o: sparq.LinearInt8) => sparq.linearInt8(new Float32Array(k), o, 1)],
    ['QuantizedMatrix', () => sparq.quantize(w, n, k, 'q8_0'), (o: sparq.QuantizedMatrix) => o.dequantize()],
    ['CsrMatrix', () => sparq.CsrMatrix.fromDense(w, n, k), (o: sparq.CsrMatrix) => o.toDense()],
  ];

  for (const [kind, make, use] of makers) {
    it(`${kind}: frees at once, refuses later use by name, and may be called twice`, () => {
      const before = sparq.nativeMemory().objects;
      const o = make();
      expect(sparq.nativeMemory().objects).toBeGreaterThan(before);
      expect(o.disposed).toBe(false);
      use(o as never);
      o.dispose();
      expect(o.disposed).toBe(true);
      expect(sparq.nativeMemory().objects).toBe(before);
      expectThrows(() => use(o as never), TypeError, new RegExp(`received a disposed ${kind}$`));
      o.dispose();
      expect(sparq.nativeMemory().objects).toBe(before);
    });
  }

  it('Symbol.dispose is dispose (so `using` works)', () => {
    const o = sparq.packF32(w, n, k);
    o[Symbol.dispose]();
    expect(o.disposed).toBe(true);
  });

  it('an async call in flight keeps its matrix alive and computes exactly', async () => {
    const x = randomFloats(64 * k, 9);
    const want = sparq.linearF32(x, sparq.packF32(w, n, k), 64);
    const o = sparq.packF32(w, n, k);
    const pending = sparq.linearF32Async(x, o, 64);
    o.dispose();
    expectSameFloats(await pending, want, { op: 'linearF32Async after dispose' });
    await expect(sparq.linearF32Async(x, o, 64)).rejects.toThrow(new TypeError('linearF32Async: expected w: a PackedF32Matrix, received a disposed PackedF32Matrix'));
  });

  it('a forged object is not a handle', () => {
    expectThrows(() => native.dispose({} as never), TypeError, 'dispose: expected a sparq handle');
  });
});
