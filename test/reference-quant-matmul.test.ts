/**
 * The quantization reference, continued (reference-quant.test.ts has f16 and the formats): the
 * int8 precision's activation quantizer, the quantized matmul and its bound, and bad input, each
 * against cases worked by hand from docs/quantization.md.
 */
import { describe, expect, it } from 'vitest';
import * as reference from '../lib/reference/index';
import type { QuantFormat } from '../lib/reference/index';
import { list, row } from './helpers';

const { quantizeRow, dequantizeRow } = reference;
const f32 = Math.fround;

describe('reference activation quantizer (int8 precision)', () => {
  it('keeps d = amax/127 in f32, rounds half away from zero and sums the codes', () => {
    // Block 0: amax 127, d = 1. Block 1: all zero. Block 2: amax 2⁻¹³⁰, d subnormal, id = 0.
    const x = row(96, { 0: 127, 1: -63.5, 2: 0.5, 3: -0.5, 4: 2.5, 64: 2 ** -130 });
    const { q, d, s } = reference.quantizeActivations(x, 96);
    expect(list(q.subarray(0, 5))).toEqual([127, -64, 1, -1, 3]);
    expect(list(d)).toEqual([1, 0, f32(2 ** -130 / 127)]);
    expect(list(s)).toEqual([127 - 64 + 1 - 1 + 3, 0, 0]);
    expect(q[64]).toBe(0);
  });

  it('refuses NaN and ±Inf, naming the index', () => {
    expect(() => reference.quantizeActivations(row(64, { 37: -Infinity }), 32)).toThrow(
      new RangeError('reference.quantizeActivations: expected x: finite values, received -Infinity at index 37 (row 1, column 5)'),
    );
  });
});

/** W [n×k] whose values each format stores exactly (every block has d = 1 or s = 1). */
function exactWeights(format: QuantFormat, n: number, k: number): Float32Array {
  const w = new Float32Array(n * k);
  for (let i = 0; i < n * k; i++) {
    const v = (i * 37 + 11) % 16; // 0…15
    switch (format) {
      case 'q8_0':
      case 'int8':
        w[i] = i % 32 === 0 ? 127 : (i * 53) % 255 - 127;
        break;
      case 'q4_0':
        w[i] = i % 32 === 0 ? -8 : (v % 15) - 7; // −8 is the unique largest |x|: d = 1
        break;
      case 'q4_1':
        w[i] = i % 32 === 0 ? -3 : i % 32 === 1 ? 12 : v - 3; // min −3, max 12: d = 1, m = −3
        break;
      case 'nf4':
        w[i] = i % 64 === 0 ? 1 : reference.NF4_CODES[v]!;
        break;
    }
  }
  return w;
}

/**
 * W[j][p] in double as the int8 precision uses it: q·d, (q − 8)·d, q·d + m, or q·s with
 * s = f32(absmax/127). Decoded here from the layout table, independently of the reference.
 */
function exactWeight(bytes: Uint8Array, format: QuantFormat, k: number, j: number, p: number): number {
  const size = reference.defaultBlockSize(format);
  const at = (j * (k / size) + Math.floor(p / size)) * reference.blockBytes(format);
  const t = p % size;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const d = reference.f16ToF32(view.getUint16(at, true));
  const nibble = (header: number): number => (t < 16 ? bytes[at + header + t]! & 15 : bytes[at + header + t - 16]! >> 4);
  switch (format) {
    case 'q8_0':
      return view.getInt8(at + 2 + t) * d;
    case 'q4_0':
      return (nibble(2) - 8) * d;
    case 'q4_1':
      return nibble(4) * d + reference.f16ToF32(view.getUint16(at + 2, true));
    case 'int8':
      return view.getInt8(at + 4 + t) * f32(view.getFloat32(at, true) / 127);
    default:
      throw new Error(`no int8 precision for ${format}`);
  }
}

describe('reference quantized matmul', () => {
  const [m, n, k] = [2, 3, 64];
  // Integers in [−127, 127] with 127 first in every block: dx = 1 and qx = x.
  const x = new Float32Array(m * k).map((_, i) => (i % 32 === 0 ? 127 : (i * 29 + 5) % 255 - 127));
  const bias = new Float32Array([0.5, -1, 2]);

  /** Y = X·Wᵀ + bias in double precision. */
  function exactProduct(w: Float32Array): number[] {
    const y: number[] = [];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = bias[j]!;
        for (let p = 0; p < k; p++) acc += w[j * k + p]! * x[i * k + p]!;
        y.push(acc);
      }
    }
    return y;
  }

  it.each(['q8_0', 'q4_0', 'q4_1', 'int8'] as QuantFormat[])('%s: equals the exact product when every step is exact', (format) => {
    const w = exactWeights(format, n, k);
    const bytes = reference.quantize(w, n, k, format);
    expect(list(reference.dequantize(bytes, n, k, format))).toEqual(list(w));
    const want = exactProduct(w); // integer partial sums < 2²⁴: f32 holds them exactly
    expect(list(reference.matmulQuantized(x, bytes, m, n, k, format, { bias }))).toEqual(want);
    expect(list(reference.matmulQuantized(x, bytes, m, n, k, format, { bias, precision: 'f32' }))).toEqual(want);
  });

  it('nf4: defaults to f32 and stays within the bound of the double-precision product', () => {
    const w = exactWeights('nf4', n, k);
    const bytes = reference.quantize(w, n, k, 'nf4');
    expect(list(reference.dequantize(bytes, n, k, 'nf4'))).toEqual(list(w));
    const y = reference.matmulQuantized(x, bytes, m, n, k, 'nf4', { bias });
    const tolerance = reference.matmulQuantizedTolerance(x, bytes, m, n, k, 'nf4', { bias });
    const want = exactProduct(w);
    for (let o = 0; o < m * n; o++) expect(Math.abs(y[o]! - want[o]!)).toBeLessThanOrEqual(tolerance[o]!);
    expect(() => reference.matmulQuantized(x, bytes, m, n, k, 'nf4', { precision: 'int8' })).toThrow(
      new RangeError(
        `reference.matmulQuantized: expected precision: 'f32' for nf4 (NF4 codes are not linear, so nf4 has no int8 path), received string "int8"`,
      ),
    );
  });

  it('stays within the bound of double-precision maths on inexact data, in both precisions', () => {
    const xs = new Float32Array(m * k).map((_, i) => Math.sin(i * 1.618) * 3);
    const w = new Float32Array(n * k).map((_, i) => Math.cos(i * 0.707) * 0.2);
    for (const format of ['q8_0', 'q4_0', 'q4_1', 'int8'] as QuantFormat[]) {
      const bytes = reference.quantize(w, n, k, format);
      const deq = reference.dequantize(bytes, n, k, format);
      const act = reference.quantizeActivations(xs, k);
      for (const precision of ['int8', 'f32'] as const) {
        const y = reference.matmulQuantized(xs, bytes, m, n, k, format, { precision });
        const tolerance = reference.matmulQuantizedTolerance(xs, bytes, m, n, k, format, { precision });
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            // In double: Σ w·x, with w the dequantized f32 values (f32) or the exact block values
            // and x replaced by qx·dx (int8).
            let want = 0;
            for (let p = 0; p < k; p++) {
              want +=
                precision === 'f32'
                  ? deq[j * k + p]! * xs[i * k + p]!
                  : exactWeight(bytes, format, k, j, p) * act.q[i * k + p]! * act.d[(i * k + p) >> 5]!;
            }
            const diff = Math.abs(y[i * n + j]! - want);
            expect(diff, `${format} ${precision} (${i}, ${j})`).toBeLessThanOrEqual(tolerance[i * n + j]!);
          }
        }
      }
    }
  });

  it('adds the block terms left to right in f32: 2²⁴ + 1 + 1 stays 2²⁴', () => {
    // Block 0: dx = 2¹⁸, qx = [127, 64], Σ qw·qx = 64 → term 2²⁴. Blocks 1, 2: dx = 1, Σ = 1 → term 1.
    const xs = row(96, { 0: 127 * 2 ** 18, 1: 64 * 2 ** 18, 32: 127, 33: 1, 64: 127, 65: 1 });
    const w = reference.quantize(row(96, { 1: 1, 2: 127, 33: 1, 34: 127, 65: 1, 66: 127 }), 1, 96, 'q8_0');
    expect(reference.matmulQuantized(xs, w, 1, 1, 96, 'q8_0')[0]).toBe(2 ** 24);
    expect(reference.matmulQuantized(xs, w, 1, 1, 96, 'q8_0', { precision: 'f32' })[0]).toBe(2 ** 24);
    expect(reference.matmulQuantized(xs, w, 1, 1, 96, 'q8_0', { bias: new Float32Array([2]) })[0]).toBe(2 ** 24 + 2);
    // The bound: 2·T·2⁻²⁴·Σ|t| with T = 3 block terms (96 products in f32; 4 terms with a bias).
    const tolerance = (options: object): number => reference.matmulQuantizedTolerance(xs, w, 1, 1, 96, 'q8_0', options)[0]!;
    expect(tolerance({})).toBe(f32(2 * 3 * 2 ** -24 * (2 ** 24 + 2)));
    expect(tolerance({ precision: 'f32' })).toBe(f32(2 * 96 * 2 ** -24 * (2 ** 24 + 2)));
    expect(tolerance({ bias: new Float32Array([2]) })).toBe(f32(2 * 4 * 2 ** -24 * (2 ** 24 + 4)));
  });

  it('q4_1 adds (dw·dx)·Σ qw·qx and (mw·dx)·s as two separate f32 additions', () => {
    // Block 0: d = 1, m = 0, dx = 2¹⁸, Σ = 64 → terms 2²⁴ and 0.
    // Block 1: d = 1, m = 1, qx = [127, −127, 1] (s = 1), codes [0, 0, 1, 15] → terms 1 and 1.
    const xs = row(64, { 0: 127 * 2 ** 18, 1: 64 * 2 ** 18, 32: 127, 33: -127, 34: 1 });
    const wf = row(64, { 1: 1, 2: 15 }).fill(1, 32);
    wf[34] = 2;
    wf[35] = 16;
    const w = reference.quantize(wf, 1, 64, 'q4_1');
    expect(list(w.subarray(20, 24))).toEqual([0x00, 0x3c, 0x00, 0x3c]); // block 1: d = 1, m = 1
    expect(reference.matmulQuantized(xs, w, 1, 1, 64, 'q4_1')[0]).toBe(2 ** 24); // not 2²⁴ + 2
  });

  it('int8 weights: a weight block spans several activation blocks', () => {
    // Block size 128 spans 4 activation blocks. absmax 127: s = 1; each activation block has dx = 1, qx[0] = 127.
    const w = row(128, { 0: 127, 32: 5, 64: -7, 96: 9 });
    const xs = row(128, { 0: 127, 32: 127, 64: 127, 96: 127 });
    const bytes = reference.quantize(w, 1, 128, 'int8', 128);
    expect(reference.matmulQuantized(xs, bytes, 1, 1, 128, 'int8', { blockSize: 128 })[0]).toBe(127 * (127 + 5 - 7 + 9));
  });
});

// --- bad input ------------------------------------------------------------------------------

describe('reference quantization refuses bad input', () => {
  const x32 = row(32);
  type Case = [string, () => unknown, typeof TypeError | typeof RangeError, RegExp];
  const cases: Case[] = [
    ['unknown format', () => quantizeRow(x32, 'q5_0' as QuantFormat), RangeError, /^reference.quantizeRow: expected format: one of 'q8_0', 'q4_0', 'q4_1', 'nf4', 'int8', 'q4_K', 'q5_K', 'q6_K', received string "q5_0"$/],
    ['format not a string', () => reference.blockBytes(5 as unknown as QuantFormat), TypeError, /^reference.blockBytes: expected format: one of/],
    ['q8_0 block size 64', () => quantizeRow(row(64), 'q8_0', 64), RangeError, /^reference.quantizeRow: expected blockSize: 32 for q8_0, received number 64$/],
    ['nf4 block size 48', () => reference.blockBytes('nf4', 48), RangeError, /expected blockSize: a power of two in \[32, 4096\] for nf4, received number 48$/],
    ['nf4 block size 8192', () => reference.blockBytes('nf4', 8192), RangeError, /a power of two in \[32, 4096\] for nf4/],
    ['int8 block size 32', () => reference.blockBytes('int8', 32), RangeError, /a power of two in \[64, 4096\] for int8, received number 32$/],
    ['block size 64.5', () => reference.blockBytes('int8', 64.5), TypeError, /expected blockSize: an integer, received number 64.5$/],
    ['x not a Float32Array', () => quantizeRow(new Float64Array(32) as unknown as Float32Array, 'q8_0'), TypeError, /expected x: Float32Array, received Float64Array of length 32$/],
    ['x not whole blocks', () => quantizeRow(row(33), 'q8_0'), RangeError, /^reference.quantizeRow: expected x: a Float32Array whose length is a multiple of 32 \(blockSize\), received Float32Array of length 33$/],
    ['dequantizeRow bytes short', () => dequantizeRow(new Uint8Array(17), 'q4_0', 32), RangeError, /^reference.dequantizeRow: expected bytes: Uint8Array of length 18 \(\(k\/blockSize\)·blockBytes\), received Uint8Array of length 17$/],
    ['dequantizeRow k not whole blocks', () => dequantizeRow(new Uint8Array(18), 'q4_0', 48), RangeError, /expected k: a multiple of 32 \(blockSize\), received number 48$/],
    ['quantize w too long', () => reference.quantize(row(65), 1, 64, 'q8_0'), RangeError, /expected w: Float32Array of length 64 \(n·k\), received Float32Array of length 65$/],
    ['dequantize n zero', () => reference.dequantize(new Uint8Array(0), 0, 32, 'q8_0'), RangeError, /expected n: an integer in \[1,/],
    ['activations k not a multiple of 32', () => reference.quantizeActivations(row(48), 48), RangeError, /expected k: a multiple of 32, received number 48$/],
    ['activations x not whole rows', () => reference.quantizeActivations(row(48), 32), RangeError, /expected x: a Float32Array whose length is a multiple of 32 \(k\)/],
    ['matmul x short', () => reference.matmulQuantized(row(31), new Uint8Array(34), 1, 1, 32, 'q8_0'), RangeError, /expected x: Float32Array of length ≥ 32 \(m·k\), received Float32Array of length 31$/],
    ['matmul w wrong length', () => reference.matmulQuantized(x32, new Uint8Array(35), 1, 1, 32, 'q8_0'), RangeError, /expected w: Uint8Array of length 34 \(n·\(k\/blockSize\)·blockBytes\)/],
    ['matmul bias short', () => reference.matmulQuantized(x32, new Uint8Array(68), 1, 2, 32, 'q8_0', { bias: new Float32Array(1) }), RangeError, /expected bias: Float32Array of length ≥ 2 \(n\)/],
    ['matmul unknown precision', () => reference.matmulQuantized(x32, new Uint8Array(34), 1, 1, 32, 'q8_0', { precision: 'f16' as 'f32' }), RangeError, /expected precision: 'int8' or 'f32', received string "f16"$/],
    ['matmul NaN in x', () => reference.matmulQuantized(row(32, { 3: NaN }), new Uint8Array(34), 1, 1, 32, 'q8_0'), RangeError, /^reference.matmulQuantized: expected x: finite values, received NaN at index 3 \(row 0, column 3\)$/],
    ['f16ToF32 out of range', () => reference.f16ToF32(65536), RangeError, /^reference.f16ToF32: expected h: an integer in \[0, 65535\], received number 65536$/],
    ['f16ToF32 fractional', () => reference.f16ToF32(1.5), TypeError, /expected h: an integer/],
    ['f32ToF16 string', () => reference.f32ToF16('1' as unknown as number), TypeError, /^reference.f32ToF16: expected x: a number, received string "1"$/],
  ];
  it.each(cases)('%s', (_, call, error, message) => {
    expect(call).toThrow(error);
    expect(call).toThrow(message);
  });

  it('lets NaN through in the f32 precision', () => {
    const bytes = reference.quantize(row(32, {}, 1), 1, 32, 'q8_0');
    expect(Number.isNaN(reference.matmulQuantized(row(32, { 3: NaN }), bytes, 1, 1, 32, 'q8_0', { precision: 'f32' })[0])).toBe(true);
  });
});
