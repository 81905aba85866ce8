/**
 * Bad input to the sparse CSR and dense f32 families: every entry point refuses wrong kinds with
 * a TypeError and wrong sizes or values with a RangeError naming the argument, what was expected
 * and what came; every structure rule of docs/sparse.md comes back as `CsrMatrix.fromArrays:
 * <rule>`, the reference's text with the other prefix. The last part calls the binding directly,
 * past the TS checks, with forged handles and short arrays: it must throw, never touch memory.
 */
import { describe, expect, it } from 'vitest';
import {
  CsrMatrix,
  gemmF32,
  gemmF32Async,
  linearF32,
  linearF32Async,
  linearSparse,
  linearSparseAsync,
  packF32,
  PackedF32Matrix,
  spmm,
  spmmAsync,
  spmv,
  spmvAsync,
  type IndexBits,
} from '../lib/index';
import { native, type CsrHandle, type PackedF32Handle } from '../lib/native';
import * as reference from '../lib/reference/index';
import { expectThrows } from './helpers';

const i32 = (...v: number[]): Int32Array => Int32Array.from(v);
const f32s = (...v: number[]): Float32Array => Float32Array.from(v);

// A [3×4] with 4 entries (row 1 empty); W the same matrix seen as a layer (N = 3, K = 4).
const a = CsrMatrix.fromArrays(3, 4, i32(0, 2, 2, 4), i32(0, 2, 1, 3), f32s(2, -1, 0.5, 4));
const wide = CsrMatrix.fromArrays(1, 70000, i32(0, 1), i32(69999), f32s(1)); // cols > 65536
const packed = packF32(new Float32Array(2 * 3), 2, 3); // n = 2, k = 3

function detached<T extends Float32Array | Int32Array>(array: T): T {
  structuredClone(array.buffer, { transfer: [array.buffer as ArrayBuffer] });
  return array;
}
function withValue(length: number, at: number, value: number): Float32Array {
  const x = new Float32Array(length).fill(1);
  x[at] = value;
  return x;
}

type Case = [name: string, call: () => unknown, error: typeof TypeError | typeof RangeError, message: RegExp];

const cases: Case[] = [
  // CsrMatrix.fromDense
  ['fromDense: values a Float64Array', () => CsrMatrix.fromDense(new Float64Array(6) as unknown as Float32Array, 2, 3), TypeError, /^CsrMatrix\.fromDense: expected values: Float32Array, received Float64Array of length 6$/],
  ['fromDense: values a plain array', () => CsrMatrix.fromDense([1, 2] as unknown as Float32Array, 1, 2), TypeError, /^CsrMatrix\.fromDense: expected values: Float32Array, received Array of length 2$/],
  ['fromDense: values short', () => CsrMatrix.fromDense(new Float32Array(5), 2, 3), RangeError, /^CsrMatrix\.fromDense: expected values: Float32Array of length 6 \(rows·cols\), received Float32Array of length 5$/],
  ['fromDense: values long', () => CsrMatrix.fromDense(new Float32Array(7), 2, 3), RangeError, /^CsrMatrix\.fromDense: expected values: Float32Array of length 6 \(rows·cols\), received Float32Array of length 7$/],
  ['fromDense: values detached', () => CsrMatrix.fromDense(detached(new Float32Array(6)), 2, 3), RangeError, /^CsrMatrix\.fromDense: expected values: Float32Array of length 6 \(rows·cols\), received Float32Array with a detached buffer$/],
  ['fromDense: rows fractional', () => CsrMatrix.fromDense(new Float32Array(6), 1.5, 4), TypeError, /^CsrMatrix\.fromDense: expected rows: an integer, received number 1.5$/],
  ['fromDense: rows negative', () => CsrMatrix.fromDense(new Float32Array(0), -1, 3), RangeError, /^CsrMatrix\.fromDense: expected rows: an integer in \[0, 2147483647\], received number -1$/],
  ['fromDense: cols a string', () => CsrMatrix.fromDense(new Float32Array(6), 2, '3' as unknown as number), TypeError, /^CsrMatrix\.fromDense: expected cols: an integer, received string "3"$/],
  ['fromDense: cols NaN', () => CsrMatrix.fromDense(new Float32Array(6), 2, NaN), TypeError, /^CsrMatrix\.fromDense: expected cols: an integer, received number NaN$/],
  ['fromDense: cols past int32', () => CsrMatrix.fromDense(new Float32Array(0), 0, 2 ** 31), RangeError, /^CsrMatrix\.fromDense: expected cols: an integer in \[0, 2147483647\], received number 2147483648$/],
  ['fromDense: rows·cols beyond any array', () => CsrMatrix.fromDense(new Float32Array(4), 65536, 65536), RangeError, /^CsrMatrix\.fromDense: expected values: Float32Array of length 4294967296 \(rows·cols\), received Float32Array of length 4$/],
  ['fromDense: threshold negative', () => CsrMatrix.fromDense(new Float32Array(6), 2, 3, { threshold: -0.5 }), RangeError, /^CsrMatrix\.fromDense: expected options\.threshold: a finite number ≥ 0, received number -0.5$/],
  ['fromDense: threshold NaN', () => CsrMatrix.fromDense(new Float32Array(6), 2, 3, { threshold: NaN }), RangeError, /^CsrMatrix\.fromDense: expected options\.threshold: a finite number ≥ 0, received number NaN$/],
  ['fromDense: threshold Infinity', () => CsrMatrix.fromDense(new Float32Array(6), 2, 3, { threshold: Infinity }), RangeError, /^CsrMatrix\.fromDense: expected options\.threshold: a finite number ≥ 0, received number Infinity$/],
  ['fromDense: threshold a string', () => CsrMatrix.fromDense(new Float32Array(6), 2, 3, { threshold: '0.5' as unknown as number }), TypeError, /^CsrMatrix\.fromDense: expected options\.threshold: a number, received string "0.5"$/],
  ['fromDense: indexBits 8', () => CsrMatrix.fromDense(new Float32Array(6), 2, 3, { indexBits: 8 as IndexBits }), RangeError, /^CsrMatrix\.fromDense: expected options\.indexBits: 16 or 32, received number 8$/],
  ['fromDense: indexBits "16"', () => CsrMatrix.fromDense(new Float32Array(6), 2, 3, { indexBits: '16' as unknown as IndexBits }), RangeError, /^CsrMatrix\.fromDense: expected options\.indexBits: 16 or 32, received string "16"$/],
  ['fromDense: indexBits 16 with cols = 65537', () => CsrMatrix.fromDense(withValue(65537, 3, NaN), 1, 65537, { indexBits: 16 }), RangeError, /^CsrMatrix\.fromDense: indexBits 16 needs cols ≤ 65536, received cols = 65537$/],
  ['fromDense: NaN value', () => CsrMatrix.fromDense(withValue(6, 4, NaN), 2, 3), RangeError, /^CsrMatrix\.fromDense: values\[4\] = NaN is not finite$/],
  ['fromDense: -Infinity value below the threshold', () => CsrMatrix.fromDense(withValue(6, 0, -Infinity), 2, 3, { threshold: 5 }), RangeError, /^CsrMatrix\.fromDense: values\[0\] = -Infinity is not finite$/],
  ['fromDense: Infinity value (first non-finite wins)', () => CsrMatrix.fromDense(f32s(0, Infinity, NaN), 1, 3), RangeError, /^CsrMatrix\.fromDense: values\[1\] = Infinity is not finite$/],
  ['fromDense: options not an object', () => CsrMatrix.fromDense(new Float32Array(6), 2, 3, 5 as unknown as object), TypeError, /^CsrMatrix\.fromDense: expected options: an object, received number 5$/],
  // CsrMatrix.fromCoo
  ['fromCoo: rowIdx a Uint32Array', () => CsrMatrix.fromCoo(2, 2, new Uint32Array(1) as unknown as Int32Array, i32(0), f32s(1)), TypeError, /^CsrMatrix\.fromCoo: expected rowIdx: Int32Array, received Uint32Array of length 1$/],
  ['fromCoo: colIdx a Float32Array', () => CsrMatrix.fromCoo(2, 2, i32(0), f32s(0) as unknown as Int32Array, f32s(1)), TypeError, /^CsrMatrix\.fromCoo: expected colIdx: Int32Array, received Float32Array of length 1$/],
  ['fromCoo: values a Float64Array', () => CsrMatrix.fromCoo(2, 2, i32(0), i32(0), new Float64Array(1) as unknown as Float32Array), TypeError, /^CsrMatrix\.fromCoo: expected values: Float32Array, received Float64Array of length 1$/],
  ['fromCoo: colIdx shorter than rowIdx', () => CsrMatrix.fromCoo(2, 2, i32(0, 1), i32(0), f32s(1, 1)), RangeError, /^CsrMatrix\.fromCoo: expected colIdx: Int32Array of length 2 \(rowIdx\.length\), received Int32Array of length 1$/],
  ['fromCoo: values longer than rowIdx', () => CsrMatrix.fromCoo(2, 2, i32(0, 1), i32(0, 1), f32s(1, 1, 1)), RangeError, /^CsrMatrix\.fromCoo: expected values: Float32Array of length 2 \(rowIdx\.length\), received Float32Array of length 3$/],
  ['fromCoo: rows negative', () => CsrMatrix.fromCoo(-2, 2, i32(), i32(), f32s()), RangeError, /^CsrMatrix\.fromCoo: expected rows: an integer in \[0, 2147483647\], received number -2$/],
  ['fromCoo: indexBits 64', () => CsrMatrix.fromCoo(2, 2, i32(), i32(), f32s(), { indexBits: 64 as IndexBits }), RangeError, /^CsrMatrix\.fromCoo: expected options\.indexBits: 16 or 32, received number 64$/],
  ['fromCoo: indexBits 16 with cols = 70000 (before the triples)', () => CsrMatrix.fromCoo(1, 70000, i32(5), i32(0), f32s(NaN), { indexBits: 16 }), RangeError, /^CsrMatrix\.fromCoo: indexBits 16 needs cols ≤ 65536, received cols = 70000$/],
  ['fromCoo: row out of range', () => CsrMatrix.fromCoo(2, 2, i32(0, 2), i32(0, 0), f32s(1, 1)), RangeError, /^CsrMatrix\.fromCoo: rowIdx\[1\] = 2 is out of range \[0, rows = 2\)$/],
  ['fromCoo: row negative', () => CsrMatrix.fromCoo(2, 2, i32(-1), i32(0), f32s(1)), RangeError, /^CsrMatrix\.fromCoo: rowIdx\[0\] = -1 is out of range \[0, rows = 2\)$/],
  ['fromCoo: column out of range', () => CsrMatrix.fromCoo(2, 3, i32(0, 1, 1), i32(0, 2, 3), f32s(1, 1, 1)), RangeError, /^CsrMatrix\.fromCoo: colIdx\[2\] = 3 is out of range \[0, cols = 3\)$/],
  ['fromCoo: huge column', () => CsrMatrix.fromCoo(2, 3, i32(0), i32(2147483647), f32s(1)), RangeError, /^CsrMatrix\.fromCoo: colIdx\[0\] = 2147483647 is out of range \[0, cols = 3\)$/],
  ['fromCoo: any triple with rows = 0', () => CsrMatrix.fromCoo(0, 3, i32(0), i32(0), f32s(1)), RangeError, /^CsrMatrix\.fromCoo: rowIdx\[0\] = 0 is out of range \[0, rows = 0\)$/],
  ['fromCoo: per triple in order (row before column before value)', () => CsrMatrix.fromCoo(2, 2, i32(0, 0, 9), i32(0, 9, 0), f32s(NaN, 1, 1)), RangeError, /^CsrMatrix\.fromCoo: values\[0\] = NaN is not finite$/],
  ['fromCoo: row before column in one triple', () => CsrMatrix.fromCoo(2, 2, i32(7), i32(7), f32s(NaN)), RangeError, /^CsrMatrix\.fromCoo: rowIdx\[0\] = 7 is out of range \[0, rows = 2\)$/],
  ['fromCoo: Infinity value', () => CsrMatrix.fromCoo(2, 2, i32(1), i32(1), f32s(Infinity)), RangeError, /^CsrMatrix\.fromCoo: values\[0\] = Infinity is not finite$/],
  ['fromCoo: duplicates overflow to -Infinity', () => CsrMatrix.fromCoo(2, 2, i32(1, 1, 0), i32(0, 0, 0), f32s(-3e38, -3e38, 1)), RangeError, /^CsrMatrix\.fromCoo: duplicates at row 1, column 0 sum to -Infinity, which is not finite$/],
  ['fromCoo: the first non-finite sum in (row, column) order', () => CsrMatrix.fromCoo(2, 2, i32(1, 0, 1, 0), i32(1, 1, 1, 1), f32s(3e38, 3e38, 3e38, 3e38)), RangeError, /^CsrMatrix\.fromCoo: duplicates at row 0, column 1 sum to Infinity, which is not finite$/],
  // CsrMatrix.fromArrays: kinds
  ['fromArrays: indptr a Uint32Array', () => CsrMatrix.fromArrays(1, 2, new Uint32Array(2) as unknown as Int32Array, i32(), f32s()), TypeError, /^CsrMatrix\.fromArrays: expected indptr: Int32Array, received Uint32Array of length 2$/],
  ['fromArrays: indices a plain array', () => CsrMatrix.fromArrays(1, 2, i32(0, 1), [0] as unknown as Int32Array, f32s(1)), TypeError, /^CsrMatrix\.fromArrays: expected indices: Int32Array, received Array of length 1$/],
  ['fromArrays: values a Float64Array', () => CsrMatrix.fromArrays(1, 2, i32(0, 1), i32(0), new Float64Array(1) as unknown as Float32Array), TypeError, /^CsrMatrix\.fromArrays: expected values: Float32Array or Int8Array, received Float64Array of length 1$/],
  ['fromArrays: values a Uint8Array', () => CsrMatrix.fromArrays(1, 2, i32(0, 1), i32(0), new Uint8Array(1) as unknown as Int8Array), TypeError, /^CsrMatrix\.fromArrays: expected values: Float32Array or Int8Array, received Uint8Array of length 1$/],
  ['fromArrays: int8 values without scales', () => CsrMatrix.fromArrays(1, 2, i32(0, 1), i32(0), Int8Array.from([1])), TypeError, /^CsrMatrix\.fromArrays: expected options\.scales: Float32Array .*received undefined$/],
  ['fromArrays: scales a Float64Array', () => CsrMatrix.fromArrays(1, 2, i32(0, 1), i32(0), Int8Array.from([1]), { scales: new Float64Array(1) as unknown as Float32Array }), TypeError, /^CsrMatrix\.fromArrays: expected options\.scales: Float32Array, received Float64Array of length 1$/],
  ['fromArrays: cols fractional', () => CsrMatrix.fromArrays(1, 0.5, i32(0, 0), i32(), f32s()), TypeError, /^CsrMatrix\.fromArrays: expected cols: an integer, received number 0.5$/],
  ['fromArrays: indexBits 0', () => CsrMatrix.fromArrays(1, 2, i32(0, 0), i32(), f32s(), { indexBits: 0 as IndexBits }), RangeError, /^CsrMatrix\.fromArrays: expected options\.indexBits: 16 or 32, received number 0$/],
  ['fromArrays: options an array', () => CsrMatrix.fromArrays(1, 2, i32(0, 0), i32(), f32s(), [] as unknown as object), TypeError, /^CsrMatrix\.fromArrays: expected options: an object, received Array of length 0$/],
  ['fromArrays: detached indices', () => CsrMatrix.fromArrays(1, 2, i32(0, 1), detached(i32(0)), f32s(1)), RangeError, /^CsrMatrix\.fromArrays: expected indices: Int32Array \(one per entry\), received Int32Array with a detached buffer$/],
  ['fromCoo: detached rowIdx', () => CsrMatrix.fromCoo(2, 2, detached(i32(0)), i32(), f32s()), RangeError, /^CsrMatrix\.fromCoo: expected rowIdx: Int32Array \(one per entry\), received Int32Array with a detached buffer$/],
  // toDense / withIndexBits
  ['toDense: out short', () => a.toDense({ out: new Float32Array(11) }), RangeError, /^CsrMatrix\.toDense: expected out: Float32Array of length ≥ 12 \(rows·cols\), received Float32Array of length 11$/],
  ['toDense: out an Int32Array', () => a.toDense({ out: new Int32Array(12) as unknown as Float32Array }), TypeError, /^CsrMatrix\.toDense: expected out: Float32Array, received Int32Array of length 12$/],
  ['toDense: options not an object', () => a.toDense('out' as unknown as object), TypeError, /^CsrMatrix\.toDense: expected options: an object, received string "out"$/],
  ['withIndexBits: 8', () => a.withIndexBits(8 as IndexBits), RangeError, /^CsrMatrix\.withIndexBits: expected bits: 16 or 32, received number 8$/],
  ['withIndexBits: undefined', () => (a.withIndexBits as (b?: unknown) => unknown)(), RangeError, /^CsrMatrix\.withIndexBits: expected bits: 16 or 32, received undefined$/],
  ['withIndexBits: 16 with cols = 70000', () => wide.withIndexBits(16), RangeError, /^CsrMatrix\.withIndexBits: indexBits 16 needs cols ≤ 65536, received cols = 70000$/],
  // spmv
  ['spmv: a not a CsrMatrix', () => spmv(new Float32Array(3) as unknown as CsrMatrix, f32s(1, 2, 3, 4)), TypeError, /^spmv: expected a: a CsrMatrix, received Float32Array of length 3$/],
  ['spmv: a look-alike', () => spmv({ rows: 3, cols: 4, handle: {} } as unknown as CsrMatrix, f32s(1, 2, 3, 4)), TypeError, /^spmv: expected a: a CsrMatrix, received Object$/],
  ['spmv: a missing', () => (spmv as (...args: unknown[]) => unknown)(), TypeError, /^spmv: expected a: a CsrMatrix, received undefined$/],
  ['spmv: x a Float64Array', () => spmv(a, new Float64Array(4) as unknown as Float32Array), TypeError, /^spmv: expected x: Float32Array, received Float64Array of length 4$/],
  ['spmv: x short', () => spmv(a, f32s(1, 2, 3)), RangeError, /^spmv: expected x: Float32Array of length ≥ 4 \(cols\), received Float32Array of length 3$/],
  ['spmv: x detached', () => spmv(a, detached(new Float32Array(4))), RangeError, /^spmv: expected x: Float32Array of length ≥ 4 \(cols\), received Float32Array with a detached buffer$/],
  ['spmv: out short', () => spmv(a, new Float32Array(4), { out: new Float32Array(2) }), RangeError, /^spmv: expected out: Float32Array of length ≥ 3 \(rows\), received Float32Array of length 2$/],
  ['spmv: out a plain array', () => spmv(a, new Float32Array(4), { out: [0, 0, 0] as unknown as Float32Array }), TypeError, /^spmv: expected out: Float32Array, received Array of length 3$/],
  ['spmv: options null', () => spmv(a, new Float32Array(4), null as unknown as object), TypeError, /^spmv: expected options: an object, received null$/],
  // spmm
  ['spmm: n zero', () => spmm(a, new Float32Array(4), 0), RangeError, /^spmm: expected n: an integer in \[1, 2147483647\], received number 0$/],
  ['spmm: n negative', () => spmm(a, new Float32Array(4), -3), RangeError, /^spmm: expected n: an integer in \[1, 2147483647\], received number -3$/],
  ['spmm: n fractional', () => spmm(a, new Float32Array(8), 2.5), TypeError, /^spmm: expected n: an integer, received number 2.5$/],
  ['spmm: b short', () => spmm(a, new Float32Array(7), 2), RangeError, /^spmm: expected b: Float32Array of length ≥ 8 \(cols·n\), received Float32Array of length 7$/],
  ['spmm: b an Int8Array', () => spmm(a, new Int8Array(8) as unknown as Float32Array, 2), TypeError, /^spmm: expected b: Float32Array, received Int8Array of length 8$/],
  ['spmm: out short', () => spmm(a, new Float32Array(8), 2, { out: new Float32Array(5) }), RangeError, /^spmm: expected out: Float32Array of length ≥ 6 \(rows·n\), received Float32Array of length 5$/],
  ['spmm: a a PackedF32Matrix', () => spmm(packed as unknown as CsrMatrix, new Float32Array(8), 2), TypeError, /^spmm: expected a: a CsrMatrix, received PackedF32Matrix$/],
  // linearSparse
  ['linearSparse: w not a CsrMatrix', () => linearSparse(new Float32Array(3), packed as unknown as CsrMatrix, 1), TypeError, /^linearSparse: expected w: a CsrMatrix, received PackedF32Matrix$/],
  ['linearSparse: m zero', () => linearSparse(new Float32Array(4), a, 0), RangeError, /^linearSparse: expected m: an integer in \[1, 2147483647\], received number 0$/],
  ['linearSparse: m fractional', () => linearSparse(new Float32Array(4), a, 1.25), TypeError, /^linearSparse: expected m: an integer, received number 1.25$/],
  ['linearSparse: x short', () => linearSparse(new Float32Array(7), a, 2), RangeError, /^linearSparse: expected x: Float32Array of length ≥ 8 \(m·K, K = w\.cols\), received Float32Array of length 7$/],
  ['linearSparse: x an Int32Array', () => linearSparse(new Int32Array(4) as unknown as Float32Array, a, 1), TypeError, /^linearSparse: expected x: Float32Array, received Int32Array of length 4$/],
  ['linearSparse: bias short', () => linearSparse(new Float32Array(4), a, 1, { bias: new Float32Array(2) }), RangeError, /^linearSparse: expected bias: Float32Array of length 3 \(N = w\.rows\), received Float32Array of length 2$/],
  ['linearSparse: bias long', () => linearSparse(new Float32Array(4), a, 1, { bias: new Float32Array(4) }), RangeError, /^linearSparse: expected bias: Float32Array of length 3 \(N = w\.rows\), received Float32Array of length 4$/],
  ['linearSparse: bias a Float64Array', () => linearSparse(new Float32Array(4), a, 1, { bias: new Float64Array(3) as unknown as Float32Array }), TypeError, /^linearSparse: expected bias: Float32Array, received Float64Array of length 3$/],
  ['linearSparse: out short', () => linearSparse(new Float32Array(8), a, 2, { out: new Float32Array(5) }), RangeError, /^linearSparse: expected out: Float32Array of length ≥ 6 \(m·N, N = w\.rows\), received Float32Array of length 5$/],
  // packF32
  ['packF32: w a Float64Array', () => packF32(new Float64Array(6) as unknown as Float32Array, 2, 3), TypeError, /^packF32: expected w: Float32Array, received Float64Array of length 6$/],
  ['packF32: w short', () => packF32(new Float32Array(5), 2, 3), RangeError, /^packF32: expected w: Float32Array of length 6 \(n·k\), received Float32Array of length 5$/],
  ['packF32: w long', () => packF32(new Float32Array(7), 2, 3), RangeError, /^packF32: expected w: Float32Array of length 6 \(n·k\), received Float32Array of length 7$/],
  ['packF32: w detached', () => packF32(detached(new Float32Array(6)), 2, 3), RangeError, /^packF32: expected w: Float32Array of length 6 \(n·k\), received Float32Array with a detached buffer$/],
  ['packF32: n zero', () => packF32(new Float32Array(0), 0, 3), RangeError, /^packF32: expected n: an integer in \[1, 2147483647\], received number 0$/],
  ['packF32: k negative', () => packF32(new Float32Array(0), 2, -3), RangeError, /^packF32: expected k: an integer in \[1, 2147483647\], received number -3$/],
  ['packF32: k fractional', () => packF32(new Float32Array(6), 2, 3.5), TypeError, /^packF32: expected k: an integer, received number 3.5$/],
  ['packF32: n·k overflows', () => packF32(new Float32Array(1), 2 ** 31 - 1, 2 ** 31 - 1), RangeError, /^packF32: n·k = \d+ overflows$/],
  // linearF32
  ['linearF32: w not packed', () => linearF32(new Float32Array(3), new Float32Array(6) as unknown as PackedF32Matrix, 1), TypeError, /^linearF32: expected w: a PackedF32Matrix \(from packF32\), received Float32Array of length 6$/],
  ['linearF32: w a CsrMatrix', () => linearF32(new Float32Array(4), a as unknown as PackedF32Matrix, 1), TypeError, /^linearF32: expected w: a PackedF32Matrix \(from packF32\), received CsrMatrix$/],
  ['linearF32: m zero', () => linearF32(new Float32Array(3), packed, 0), RangeError, /^linearF32: expected m: an integer in \[1, 2147483647\], received number 0$/],
  ['linearF32: x short', () => linearF32(new Float32Array(5), packed, 2), RangeError, /^linearF32: expected x: Float32Array of length ≥ 6 \(m·k\), received Float32Array of length 5$/],
  ['linearF32: x a Uint8Array', () => linearF32(new Uint8Array(3) as unknown as Float32Array, packed, 1), TypeError, /^linearF32: expected x: Float32Array, received Uint8Array of length 3$/],
  ['linearF32: bias short', () => linearF32(new Float32Array(3), packed, 1, { bias: new Float32Array(1) }), RangeError, /^linearF32: expected bias: Float32Array of length 2 \(n\), received Float32Array of length 1$/],
  ['linearF32: out short', () => linearF32(new Float32Array(6), packed, 2, { out: new Float32Array(3) }), RangeError, /^linearF32: expected out: Float32Array of length ≥ 4 \(m·n\), received Float32Array of length 3$/],
  ['linearF32: out detached', () => linearF32(new Float32Array(3), packed, 1, { out: detached(new Float32Array(2)) }), RangeError, /^linearF32: expected out: Float32Array of length ≥ 2 \(m·n\), received Float32Array with a detached buffer$/],
  // gemmF32
  ['gemmF32: m zero', () => gemmF32(new Float32Array(6), new Float32Array(6), 0, 2, 3), RangeError, /^gemmF32: expected m: an integer in \[1, 2147483647\], received number 0$/],
  ['gemmF32: n fractional', () => gemmF32(new Float32Array(6), new Float32Array(6), 2, 1.5, 3), TypeError, /^gemmF32: expected n: an integer, received number 1.5$/],
  ['gemmF32: k missing', () => (gemmF32 as (...args: unknown[]) => unknown)(new Float32Array(6), new Float32Array(6), 2, 2), TypeError, /^gemmF32: expected k: an integer, received undefined$/],
  ['gemmF32: a short', () => gemmF32(new Float32Array(5), new Float32Array(6), 2, 2, 3), RangeError, /^gemmF32: expected a: Float32Array of length ≥ 6 \(m·k\), received Float32Array of length 5$/],
  ['gemmF32: b short', () => gemmF32(new Float32Array(6), new Float32Array(5), 2, 2, 3), RangeError, /^gemmF32: expected b: Float32Array of length ≥ 6 \(k·n\), received Float32Array of length 5$/],
  ['gemmF32: b short with transB', () => gemmF32(new Float32Array(6), new Float32Array(5), 2, 2, 3, { transB: true }), RangeError, /^gemmF32: expected b: Float32Array of length ≥ 6 \(k·n\), received Float32Array of length 5$/],
  ['gemmF32: b a Float64Array', () => gemmF32(new Float32Array(6), new Float64Array(6) as unknown as Float32Array, 2, 2, 3), TypeError, /^gemmF32: expected b: Float32Array, received Float64Array of length 6$/],
  ['gemmF32: transB a number', () => gemmF32(new Float32Array(6), new Float32Array(6), 2, 2, 3, { transB: 1 as unknown as boolean }), TypeError, /^gemmF32: expected options\.transB: a boolean, received number 1$/],
  ['gemmF32: transA a string', () => gemmF32(new Float32Array(6), new Float32Array(6), 2, 2, 3, { transA: 'yes' as unknown as boolean }), TypeError, /^gemmF32: expected options\.transA: a boolean, received string "yes"$/],
  ['gemmF32: a short with transA', () => gemmF32(new Float32Array(5), new Float32Array(6), 2, 2, 3, { transA: true }), RangeError, /^gemmF32: expected a: Float32Array of length ≥ 6 \(k·m\), received Float32Array of length 5$/],
  ['gemmF32: out short', () => gemmF32(new Float32Array(6), new Float32Array(6), 2, 2, 3, { out: new Float32Array(3) }), RangeError, /^gemmF32: expected out: Float32Array of length ≥ 4 \(m·n\), received Float32Array of length 3$/],
];

describe('sparse and dense f32 entry points reject bad input', () => {
  it.each(cases)('%s', (_name, call, error, message) => {
    expectThrows(call, error, message);
  });

  it('async entry points reject (never throw synchronously) with the same errors', async () => {
    const pending: Array<[Promise<unknown>, typeof TypeError | typeof RangeError, RegExp]> = [
      [spmvAsync(a, f32s(1, 2, 3)), RangeError, /^spmvAsync: expected x: Float32Array of length ≥ 4 \(cols\), received Float32Array of length 3$/],
      [spmvAsync({} as CsrMatrix, f32s(1, 2, 3, 4)), TypeError, /^spmvAsync: expected a: a CsrMatrix, received Object$/],
      [spmvAsync(a, new Float32Array(4), { out: new Float32Array(2) }), RangeError, /^spmvAsync: expected out: Float32Array of length ≥ 3 \(rows\)/],
      [spmmAsync(a, new Float32Array(8), 0), RangeError, /^spmmAsync: expected n: an integer in \[1, 2147483647\], received number 0$/],
      [spmmAsync(a, new Float32Array(7), 2), RangeError, /^spmmAsync: expected b: Float32Array of length ≥ 8 \(cols·n\)/],
      [linearSparseAsync(new Float32Array(4), a, 1, { bias: new Float32Array(2) }), RangeError, /^linearSparseAsync: expected bias: Float32Array of length 3 \(N = w\.rows\)/],
      [linearSparseAsync(new Float32Array(4), packed as unknown as CsrMatrix, 1), TypeError, /^linearSparseAsync: expected w: a CsrMatrix, received PackedF32Matrix$/],
      [linearF32Async(new Float32Array(2), packed, 1), RangeError, /^linearF32Async: expected x: Float32Array of length ≥ 3 \(m·k\), received Float32Array of length 2$/],
      [linearF32Async(new Float32Array(3), packed, 1, { out: new Float32Array(1) }), RangeError, /^linearF32Async: expected out: Float32Array of length ≥ 2 \(m·n\)/],
      [gemmF32Async(new Float32Array(6), new Float32Array(6), 2, 2, 3, { transB: 'yes' as unknown as boolean }), TypeError, /^gemmF32Async: expected options\.transB: a boolean, received string "yes"$/],
      [gemmF32Async(new Float32Array(6), new Float32Array(5), 2, 2, 3), RangeError, /^gemmF32Async: expected b: Float32Array of length ≥ 6 \(k·n\)/],
    ];
    for (const [promise, error, message] of pending) {
      expect(promise).toBeInstanceOf(Promise);
      await expect(promise).rejects.toThrow(error);
      await expect(promise).rejects.toThrow(message);
    }
  });

  it('an out detached while async work runs is refused when the result is copied', async () => {
    const out = new Float32Array(3);
    const pending = spmvAsync(a, f32s(1, 2, 3, 4), { out });
    detached(out);
    await expect(pending).rejects.toThrow(RangeError);
    await expect(pending).rejects.toThrow(/^spmvAsync: expected out: an array of length ≥ 3 when the work completed, received Float32Array with a detached buffer$/);
  });
});

// --- every structure rule, natively and in the reference ----------------------------------------

// [name, rows, cols, indptr, indices, values, scales?, rule]
type Rule = [string, number, number, Int32Array, Int32Array, Float32Array | Int8Array, Float32Array | undefined, string];
const rules: Rule[] = [
  ['indptr too short', 3, 4, i32(0, 2, 4), i32(0, 1, 2, 3), f32s(1, 1, 1, 1), undefined, 'indptr must have rows + 1 = 4 entries, received 3'],
  ['indptr too long', 1, 4, i32(0, 1, 1), i32(0), f32s(1), undefined, 'indptr must have rows + 1 = 2 entries, received 3'],
  ['indptr empty', 0, 4, i32(), i32(), f32s(), undefined, 'indptr must have rows + 1 = 1 entries, received 0'],
  ['indptr[0] not 0', 2, 4, i32(1, 1, 2), i32(0, 1), f32s(1, 1), undefined, 'indptr[0] must be 0, received 1'],
  ['indptr decreasing', 3, 4, i32(0, 2, 1, 2), i32(0, 1), f32s(1, 1), undefined, 'indptr must be non-decreasing, but indptr[2] = 1 < indptr[1] = 2'],
  ['indptr negative inside', 2, 4, i32(0, -5, 0), i32(), f32s(), undefined, 'indptr must be non-decreasing, but indptr[1] = -5 < indptr[0] = 0'],
  ['indptr far beyond indices, then back', 3, 4, i32(0, 1_000_000, 2_147_483_647, 2), i32(0, 1), f32s(1, 1), undefined, 'indptr must be non-decreasing, but indptr[3] = 2 < indptr[2] = 2147483647'],
  ['indptr ending far beyond indices', 2, 4, i32(0, 2_000_000_000, 2_000_000_000), i32(0, 1), f32s(1, 1), undefined, 'indptr[rows] must equal nnz = indices.length = 2, received indptr[2] = 2000000000'],
  ['indptr ending short', 2, 4, i32(0, 1, 1), i32(0, 1), f32s(1, 1), undefined, 'indptr[rows] must equal nnz = indices.length = 2, received indptr[2] = 1'],
  ['values short', 1, 4, i32(0, 2), i32(0, 1), f32s(1), undefined, 'values.length must equal indices.length = 2, received 1'],
  ['int8 values long', 1, 4, i32(0, 2), i32(0, 1), Int8Array.from([1, 2, 3]), f32s(1), 'values.length must equal indices.length = 2, received 3'],
  ['index = cols', 2, 4, i32(0, 1, 3), i32(2, 1, 4), f32s(1, 1, 1), undefined, 'indices[2] = 4 is out of range [0, cols = 4) in row 1'],
  ['index negative', 2, 4, i32(0, 1, 3), i32(-1, 1, 2), f32s(1, 1, 1), undefined, 'indices[0] = -1 is out of range [0, cols = 4) in row 0'],
  ['index with cols = 0', 2, 0, i32(0, 0, 1), i32(0), f32s(1), undefined, 'indices[0] = 0 is out of range [0, cols = 0) in row 1'],
  ['a repeated column', 2, 4, i32(0, 1, 3), i32(3, 1, 1), f32s(1, 1, 1), undefined, 'indices must be strictly increasing within a row, but row 1 has indices[2] = 1 after indices[1] = 1'],
  ['a decreasing column', 1, 4, i32(0, 3), i32(0, 3, 2), f32s(1, 1, 1), undefined, 'indices must be strictly increasing within a row, but row 0 has indices[2] = 2 after indices[1] = 3'],
  ['order broken before range', 1, 4, i32(0, 3), i32(2, 1, 9), f32s(1, 1, 1), undefined, 'indices must be strictly increasing within a row, but row 0 has indices[1] = 1 after indices[0] = 2'],
  ['range before order in one entry', 1, 4, i32(0, 2), i32(3, -1), f32s(1, 1), undefined, 'indices[1] = -1 is out of range [0, cols = 4) in row 0'],
  ['NaN value', 1, 4, i32(0, 3), i32(0, 1, 2), f32s(1, NaN, Infinity), undefined, 'values[1] = NaN is not finite'],
  ['Infinity value', 1, 4, i32(0, 3), i32(0, 1, 2), f32s(1, 0, Infinity), undefined, 'values[2] = Infinity is not finite'],
  ['-Infinity value', 1, 4, i32(0, 1), i32(3), f32s(-Infinity), undefined, 'values[0] = -Infinity is not finite'],
  ['int8 with short scales', 2, 4, i32(0, 1, 1), i32(0), Int8Array.from([1]), f32s(1), 'scales must have rows = 2 entries, received 1'],
  ['int8 with long scales', 2, 4, i32(0, 1, 1), i32(0), Int8Array.from([1]), f32s(1, 1, 1), 'scales must have rows = 2 entries, received 3'],
  ['NaN scale', 3, 4, i32(0, 1, 1, 1), i32(0), Int8Array.from([1]), f32s(1, 2, NaN), 'scales[2] = NaN is not finite'],
  ['-Infinity scale of an empty row', 2, 4, i32(0, 0, 0), i32(), Int8Array.from([]), f32s(-Infinity, 1), 'scales[0] = -Infinity is not finite'],
  ['scales with f32 values', 1, 4, i32(0, 1), i32(0), f32s(1), f32s(1), 'scales is only used with Int8Array values'],
  ['indptr length first', 2, 4, i32(3, 1), i32(9), f32s(NaN), undefined, 'indptr must have rows + 1 = 3 entries, received 2'],
  ['indptr[0] before monotonicity', 2, 4, i32(5, 1, 0), i32(9), f32s(NaN), undefined, 'indptr[0] must be 0, received 5'],
  ['nnz before values.length', 1, 4, i32(0, 2), i32(0), f32s(), undefined, 'indptr[rows] must equal nnz = indices.length = 1, received indptr[1] = 2'],
  ['values.length before indices', 1, 4, i32(0, 1), i32(7), f32s(), undefined, 'values.length must equal indices.length = 1, received 0'],
  ['indices before values', 1, 4, i32(0, 2), i32(0, 7), f32s(NaN, 1), undefined, 'indices[1] = 7 is out of range [0, cols = 4) in row 0'],
  ['int8: indices before the scale count', 1, 4, i32(0, 1), i32(4), Int8Array.from([1]), f32s(), 'indices[0] = 4 is out of range [0, cols = 4) in row 0'],
  ['int8: scale count before scale values', 2, 4, i32(0, 1, 1), i32(0), Int8Array.from([1]), f32s(NaN), 'scales must have rows = 2 entries, received 1'],
];

describe('CsrMatrix.fromArrays throws the first broken rule, as the reference does', () => {
  it.each(rules)('%s', (_name, rows, cols, indptr, indices, values, scales, rule) => {
    for (const indexBits of [32, 16] as const) {
      expectThrows(() => CsrMatrix.fromArrays(rows, cols, indptr, indices, values, { scales, indexBits }), RangeError, `CsrMatrix.fromArrays: ${rule}`, `indexBits ${indexBits}`);
    }
    expect(() => reference.csrFromArrays(rows, cols, indptr, indices, values, scales)).toThrow(new RangeError(`csrFromArrays: ${rule}`));
  });

  it('indexBits 16 with cols > 65536 is rule 1, before every other', () => {
    expect(() => CsrMatrix.fromArrays(2, 65537, i32(7), i32(-1), f32s(NaN), { indexBits: 16 })).toThrow(
      new RangeError('CsrMatrix.fromArrays: indexBits 16 needs cols ≤ 65536, received cols = 65537'),
    );
    // 65536 columns still fit 16 bits (the largest index is 65535).
    expect(CsrMatrix.fromArrays(1, 65536, i32(0, 1), i32(65535), f32s(1), { indexBits: 16 }).toArrays().indices[0]).toBe(65535);
  });
});

// --- the binding re-checks what memory safety depends on ----------------------------------------

const handle = a.handle;
const packedHandle = packed.handle;
const forged = {} as CsrHandle;
type NativeCase = [string, () => unknown, typeof TypeError | typeof RangeError];
const nativeCases: NativeCase[] = [
  ['csrFromDense with short values', () => native.csrFromDense(new Float32Array(5), 2, 3, 0, 32), RangeError],
  ['csrFromDense with rows·cols far past values', () => native.csrFromDense(new Float32Array(4), 2 ** 31 - 1, 2 ** 31 - 1, 0, 32), RangeError],
  ['csrFromDense with a NaN threshold', () => native.csrFromDense(new Float32Array(6), 2, 3, NaN, 32), RangeError],
  ['csrFromDense with a negative threshold', () => native.csrFromDense(new Float32Array(6), 2, 3, -1, 32), RangeError],
  ['csrFromDense with a string threshold', () => native.csrFromDense(new Float32Array(6), 2, 3, '0' as unknown as number, 32), TypeError],
  ['csrFromDense with indexBits 24', () => native.csrFromDense(new Float32Array(6), 2, 3, 0, 24), RangeError],
  ['csrFromDense with indexBits 8', () => native.csrFromDense(new Float32Array(6), 2, 3, 0, 8), RangeError],
  ['csrFromDense with negative rows', () => native.csrFromDense(new Float32Array(6), -2, 3, 0, 32), RangeError],
  ['csrFromDense with 16-bit indices and cols = 65537', () => native.csrFromDense(new Float32Array(65537), 1, 65537, 0, 16), RangeError],
  ['csrFromCoo with colIdx shorter than rowIdx', () => native.csrFromCoo(2, 2, i32(0, 1), i32(0), f32s(1, 1), 32), RangeError],
  ['csrFromCoo with values shorter than rowIdx', () => native.csrFromCoo(2, 2, i32(0, 1), i32(0, 1), f32s(1), 32), RangeError],
  ['csrFromCoo with a Float32Array rowIdx', () => native.csrFromCoo(2, 2, f32s(0) as unknown as Int32Array, i32(0), f32s(1), 32), TypeError],
  ['csrFromCoo with an out-of-range row', () => native.csrFromCoo(2, 2, i32(1_000_000), i32(0), f32s(1), 32), RangeError],
  ['csrFromCoo with an out-of-range column', () => native.csrFromCoo(2, 2, i32(0), i32(-7), f32s(1), 32), RangeError],
  ['csrFromArrays with indptr far past indices', () => native.csrFromArrays(3, 4, i32(0, 1_000_000, 2_000_000, 2_000_000), i32(0, 1), f32s(1, 1), undefined, 32), RangeError],
  ['csrFromArrays with a negative indptr entry', () => native.csrFromArrays(2, 4, i32(0, -1_000_000, 0), i32(), f32s(), undefined, 32), RangeError],
  ['csrFromArrays with short values', () => native.csrFromArrays(1, 4, i32(0, 2), i32(0, 1), f32s(1), undefined, 32), RangeError],
  ['csrFromArrays with a column past cols', () => native.csrFromArrays(1, 4, i32(0, 1), i32(4000), f32s(1), undefined, 16), RangeError],
  ['csrFromArrays with int8 values and no scales', () => native.csrFromArrays(2, 4, i32(0, 1, 1), i32(0), Int8Array.from([1]), undefined, 32), RangeError],
  ['csrFromArrays with int8 values and short scales', () => native.csrFromArrays(2, 4, i32(0, 1, 1), i32(0), Int8Array.from([1]), f32s(1), 32), RangeError],
  ['csrFromArrays with f32 values and scales', () => native.csrFromArrays(1, 4, i32(0, 1), i32(0), f32s(1), f32s(1), 32), RangeError],
  ['csrFromArrays with Float64Array values', () => native.csrFromArrays(1, 4, i32(0, 1), i32(0), new Float64Array(1) as unknown as Float32Array, undefined, 32), TypeError],
  ['csrFromArrays with a Uint32Array indptr', () => native.csrFromArrays(1, 4, new Uint32Array(2) as unknown as Int32Array, i32(), f32s(), undefined, 32), TypeError],
  ['csrInfo with a forged handle', () => native.csrInfo(forged), TypeError],
  ['csrToArrays with a PackedF32 handle', () => native.csrToArrays(packedHandle as unknown as CsrHandle), TypeError],
  ['csrToDense with a short out', () => native.csrToDense(handle, new Float32Array(11)), RangeError],
  ['csrToDense with an Int32Array out', () => native.csrToDense(handle, new Int32Array(12) as unknown as Float32Array), TypeError],
  ['csrQuantizeValues with a forged handle', () => native.csrQuantizeValues(forged), TypeError],
  ['csrWithIndexBits 16 on cols = 70000', () => native.csrWithIndexBits(wide.handle, 16), RangeError],
  ['csrWithIndexBits 12', () => native.csrWithIndexBits(handle, 12), RangeError],
  ['spmv with a short x', () => native.spmv(handle, f32s(1, 2, 3), new Float32Array(3)), RangeError],
  ['spmv with a short out', () => native.spmv(handle, f32s(1, 2, 3, 4), new Float32Array(2)), RangeError],
  ['spmv with a forged handle', () => native.spmv(forged, f32s(1, 2, 3, 4), new Float32Array(3)), TypeError],
  ['spmv with a PackedF32 handle', () => native.spmv(packedHandle as unknown as CsrHandle, f32s(1, 2, 3, 4), new Float32Array(3)), TypeError],
  ['spmvAsync with a short x', () => native.spmvAsync(handle, f32s(1, 2, 3)), RangeError],
  ['spmm with n = 0', () => native.spmm(handle, new Float32Array(4), 0, new Float32Array(3)), RangeError],
  ['spmm with a short b', () => native.spmm(handle, new Float32Array(7), 2, new Float32Array(6)), RangeError],
  ['spmm with a short out', () => native.spmm(handle, new Float32Array(8), 2, new Float32Array(5)), RangeError],
  ['spmm with n past int32', () => native.spmm(handle, new Float32Array(8), 2 ** 31, new Float32Array(6)), RangeError],
  ['spmmAsync with a short b', () => native.spmmAsync(handle, new Float32Array(7), 2), RangeError],
  ['linearSparse with m = 0', () => native.linearSparse(new Float32Array(4), handle, 0, undefined, new Float32Array(3)), RangeError],
  ['linearSparse with a short x', () => native.linearSparse(new Float32Array(7), handle, 2, undefined, new Float32Array(6)), RangeError],
  ['linearSparse with a short bias', () => native.linearSparse(new Float32Array(4), handle, 1, new Float32Array(2), new Float32Array(3)), RangeError],
  ['linearSparse with a short out', () => native.linearSparse(new Float32Array(8), handle, 2, undefined, new Float32Array(5)), RangeError],
  ['linearSparse with a forged handle', () => native.linearSparse(new Float32Array(4), forged, 1, undefined, new Float32Array(3)), TypeError],
  ['linearSparseAsync with a short bias', () => native.linearSparseAsync(new Float32Array(4), handle, 1, new Float32Array(2)), RangeError],
  ['packF32 with a short w', () => native.packF32(new Float32Array(5), 2, 3), RangeError],
  ['packF32 with n = 0', () => native.packF32(new Float32Array(6), 0, 3), RangeError],
  ['packF32 with n·k far past w', () => native.packF32(new Float32Array(6), 2 ** 31 - 1, 2 ** 31 - 1), RangeError],
  ['packedF32Rows with a CSR handle', () => native.packedF32Rows(handle as unknown as PackedF32Handle), TypeError],
  ['linearF32 with a short x', () => native.linearF32(new Float32Array(5), packedHandle, 2, undefined, new Float32Array(4)), RangeError],
  ['linearF32 with a short bias', () => native.linearF32(new Float32Array(3), packedHandle, 1, new Float32Array(1), new Float32Array(2)), RangeError],
  ['linearF32 with a short out', () => native.linearF32(new Float32Array(6), packedHandle, 2, undefined, new Float32Array(3)), RangeError],
  ['linearF32 with a CSR handle', () => native.linearF32(new Float32Array(4), handle as unknown as PackedF32Handle, 1, undefined, new Float32Array(3)), TypeError],
  ['linearF32Async with a short x', () => native.linearF32Async(new Float32Array(2), packedHandle, 1, undefined), RangeError],
  ['gemmF32 with a short a', () => native.gemmF32(new Float32Array(5), new Float32Array(6), 2, 2, 3, false, false, new Float32Array(4)), RangeError],
  ['gemmF32 with a short b (transB)', () => native.gemmF32(new Float32Array(6), new Float32Array(5), 2, 2, 3, true, false, new Float32Array(4)), RangeError],
  ['gemmF32 with a short out', () => native.gemmF32(new Float32Array(6), new Float32Array(6), 2, 2, 3, false, false, new Float32Array(3)), RangeError],
  ['gemmF32 with k = 0', () => native.gemmF32(new Float32Array(6), new Float32Array(6), 2, 2, 0, false, false, new Float32Array(4)), RangeError],
  ['gemmF32 with transB a number', () => native.gemmF32(new Float32Array(6), new Float32Array(6), 2, 2, 3, 1 as unknown as boolean, false, new Float32Array(4)), TypeError],
  ['gemmF32 with transA a string', () => native.gemmF32(new Float32Array(6), new Float32Array(6), 2, 2, 3, false, 'yes' as unknown as boolean, new Float32Array(4)), TypeError],
  ['gemmF32Async with a short b', () => native.gemmF32Async(new Float32Array(6), new Float32Array(5), 2, 2, 3, false, false), RangeError],
];

describe('sparse and dense f32 binding re-checks', () => {
  it.each(nativeCases)('%s', (_name, call, error) => {
    expect(call).toThrow(error);
  });

  it('objects forged around a handle are refused by the binding, whatever dimensions they claim', () => {
    const NewCsr = CsrMatrix as unknown as new (handle: unknown) => CsrMatrix;
    expect(() => new NewCsr({})).toThrow(new TypeError('CsrMatrix: expected a: a CsrMatrix'));
    expect(() => new NewCsr(packedHandle)).toThrow(TypeError);
    // A PackedF32Matrix made around a forged handle, and one that lies about its k (3 really).
    const NewPacked = PackedF32Matrix as unknown as new (handle: unknown, n: number, k: number) => PackedF32Matrix;
    expect(() => linearF32(new Float32Array(3), new NewPacked({}, 2, 3), 1)).toThrow(new TypeError('linearF32: expected w: a PackedF32Matrix'));
    expect(() => linearF32(new Float32Array(1), new NewPacked(packedHandle, 2, 1), 1)).toThrow(RangeError);
    expect(() => linearF32(new Float32Array(3), new NewPacked(packedHandle, 1, 3), 1)).toThrow(RangeError); // out sized for n = 1
    expect(() => new NewPacked(handle, 3, 4).toArray()).toThrow(TypeError);
  });
});
