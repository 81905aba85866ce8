/**
 * The K-quants (q4_K, q5_K, q6_K) on every tier, beyond quant.native.test.ts's grid: the native
 * quantizer and dequantizer against ggml's recorded bytes and values, the int8-precision matmul
 * equal to the scalar kernel bit for bit (its documented contract) on arbitrary blocks, and the
 * q8_K activation rounding at its edges against the reference.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isa, lastQuantKernel, matmulQuantized, QuantizedMatrix, quantize, setIsa, type QuantFormat } from '../../lib/index';
import * as reference from '../../lib/reference/index';
import { randomBytes, randomFloats, tiersOfThisArch } from '../helpers';

const K_FORMATS = ['q4_K', 'q5_K', 'q6_K'] as const;
const golden = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'kquant-ggml.json'), 'utf8')) as {
  types: Record<string, { bytes: string; bits: number[] }>;
  quantize: { x: number[]; bytes: Record<string, string> };
};
const hex = (s: string) => Uint8Array.from(s.match(/../g)!, (h) => parseInt(h, 16));
const kernelTier = (tier: string) => (tier === 'i8mm' ? 'neondot' : tier);
const quick = process.env['SPARQ_TEST_QUICK'] === '1';

/** Bit-equal, any NaN matching any NaN. */
function expectSameBits(got: Float32Array, want: Float32Array, context: object): void {
  expect(got.length).toBe(want.length);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length), w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < got.length; i++) {
    if (g[i] !== w[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) expect.fail(`[${i}]: got ${got[i]}, want ${want[i]} (${JSON.stringify(context)})`);
  }
}

/** Arbitrary blocks whose f16 factors are finite and modest, so every code and scale pattern counts. */
function blocks(format: QuantFormat, n: number, k: number, seed: number): Uint8Array {
  const size = reference.blockBytes(format, 256);
  const bytes = randomBytes((n * k * size) / 256, seed);
  for (let b = 0; b < bytes.length / size; b++) {
    const fields = format === 'q6_K' ? [208] : [0, 2];
    for (const o of fields) bytes[b * size + o + 1] = (bytes[b * size + o + 1]! & 0x83) | 0x10; // exponent 4…7: 2⁻¹¹…2⁻⁸ scales
  }
  return bytes;
}

/** Activations whose q8_K codes reach ±127 and land on .5 ties, plus zero blocks and random rows. */
function activations(m: number, k: number, seed: number): Float32Array {
  const x = randomFloats(m * k, seed, 3);
  for (let i = 0; i < m; i++) {
    const row = x.subarray(i * k, (i + 1) * k);
    if (i % 4 === 1) row.forEach((_, t) => (row[t] = t % 256 === 0 ? 127 : ((t % 255) - 127) + 0.5)); // iscale = −1: every code a tie
    if (i % 4 === 2) row.fill(0, 0, 256); // an all-zero block: d = 0
    if (i % 4 === 3) row.forEach((_, t) => (row[t] = t % 256 === 7 ? -1e-30 : 1e-32 * (t % 9))); // tiny scales
  }
  return x;
}

describe.each(tiersOfThisArch())('K-quants on $tier', ({ tier, runs, why }) => {
  const skipped = runs ? '' : ` (skipped: ${why})`;
  afterAll(() => setIsa(null));

  it.skipIf(!runs).each(K_FORMATS)(`%s: quantize gives ggml's bytes and dequantize ggml's values${skipped}`, (format) => {
    setIsa(tier);
    const x = new Float32Array(Uint32Array.from(golden.quantize.x).buffer);
    const q = quantize(x, x.length / 256, 256, format);
    expect(Buffer.from(q.toBytes()).toString('hex')).toBe(golden.quantize.bytes[format]);
    const { bytes, bits } = golden.types[format]!;
    const w = QuantizedMatrix.fromBytes(format, bits.length / 256, 256, hex(bytes));
    const y = new Uint32Array(w.dequantize().buffer);
    const nan = (b: number) => (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
    for (let i = 0; i < bits.length; i++) if (!nan(bits[i]!)) expect(y[i], `${format}[${i}]`).toBe(bits[i]);
  });

  it.skipIf(!runs).each(K_FORMATS)(`%s: the int8 matmul equals the scalar kernel bit for bit on arbitrary blocks${skipped}`, (format) => {
    for (const k of [256, 512, 1280]) {
      // m: the GEMV (< 4), the unpacked GEMM (4…23) and, on VNNI, the vpdpbusd GEMM (≥ 24) with
      // its 32-row tiles (n = 40: a whole tile and a padded one). Quick runs (qemu, where NEON
      // has one kernel for every m) keep a few.
      for (const n of quick ? [1, 5, 17] : [1, 3, 4, 5, 17, 40]) {
        const w = QuantizedMatrix.fromBytes(format, n, k, blocks(format, n, k, k + n));
        for (const m of quick ? [1, 3, 4, 9, 66] : [1, 2, 3, 4, 5, 7, 9, 23, 24, 25, 66]) {
          const x = activations(m, k, m * 31 + k);
          setIsa('scalar');
          const want = matmulQuantized(x, w, m);
          setIsa(tier);
          const got = matmulQuantized(x, w, m);
          expect(lastQuantKernel()).toBe(`matmulInt8.${format}.${kernelTier(tier)}`);
          expectSameBits(got, want, { tier, format, m, n, k });
        }
        w.dispose();
      }
    }
  });

  it.skipIf(!runs).each(K_FORMATS)(`%s: q8_K activations at their edges are within the §3 bound of the reference${skipped}`, (format) => {
    setIsa(tier);
    const m = 8, n = 5, k = 512;
    const bytes = blocks(format, n, k, 77);
    const w = QuantizedMatrix.fromBytes(format, n, k, bytes);
    const x = activations(m, k, 78);
    const got = matmulQuantized(x, w, m);
    const want = reference.matmulQuantized(x, bytes, m, n, k, format);
    const tolerance = reference.matmulQuantizedTolerance(x, bytes, m, n, k, format);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `${format} [${i}] on ${isa()}`).toBeLessThanOrEqual(tolerance[i]!);
  });
});
