/**
 * Native quantization against the reference on every tier this machine has: quantized bytes,
 * dequantized floats, activation codes and f16 conversions identical; fused matmuls within the
 * DESIGN.md §3 bound; thread counts and async identical. Each case checks the tier really ran.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dequantizeRow,
  f16ToF32,
  f32ToF16,
  isa,
  lastQuantKernel,
  matmulQuantized,
  matmulQuantizedAsync,
  QUANT_FORMATS,
  quantize,
  quantizeActivationsQ8,
  QuantizedMatrix,
  quantizeRow,
  setIsa,
  setThreads,
  threads,
  type QuantFormat,
} from '../../lib/index';
import * as reference from '../../lib/reference/index';
import { atOddOffset, expectSameFloats, expectSameInts, randomBytes, randomFloats, tiersOfThisArch } from '../helpers';

const quick = process.env['SPARQ_TEST_QUICK'] === '1';
/**
 * The formats the grids below run over. Quick runs (qemu) leave out the K-quants, whose own suite
 * (kquant.native.test.ts) holds every tier to the scalar kernel bit for bit and to the reference.
 */
const GRID_FORMATS = quick ? QUANT_FORMATS.filter((f) => !f.endsWith('_K')) : QUANT_FORMATS;

const BLOCKS: Record<QuantFormat, number[]> = {
  q8_0: [32],
  q4_0: [32],
  q4_1: [32],
  nf4: quick ? [64] : [32, 64, 4096],
  int8: quick ? [64] : [64, 128, 4096],
  q4_K: [256],
  q5_K: [256],
  q6_K: [256],
};

/** DESIGN.md §7's K values that the block size divides, plus one and two blocks. */
function kGrid(blockSize: number): number[] {
  const ks = new Set([blockSize, 2 * blockSize, ...(quick ? [] : [3 * blockSize]), 4096, ...(quick ? [] : [11008])]);
  return [...ks].filter((k) => k % blockSize === 0);
}

/** The tier whose kernels run when `tier` is forced (i8mm has no quantization kernels of its own). */
function kernelTier(tier: string): string {
  return tier === 'i8mm' ? 'neondot' : tier;
}

/**
 * The tier whose row kernel `op` runs for `format`: the K-quants' quantizer is scalar on every tier
 * (a search, as ggml's), their dequantizer has x86 kernels and is scalar on ARM.
 */
function rowKernelTier(format: QuantFormat, tier: string, op: 'quantize' | 'dequantize'): string {
  if (!format.endsWith('_K')) return kernelTier(tier);
  return op === 'dequantize' && tier.startsWith('avx') ? kernelTier(tier) : 'scalar';
}

/** Rows with varied scales and the edge cases the quantizers branch on, n rows of k. */
function weights(n: number, k: number, seed: number): Float32Array {
  const w = randomFloats(n * k, seed);
  for (let j = 0; j < n; j++) {
    const row = w.subarray(j * k, (j + 1) * k);
    const kind = j % 9;
    if (kind === 1) row.forEach((_, i) => (row[i] = i % 5 === 0 ? 0.25 * (i % 7) : i % 3 ? -0 : 0)); // ±0 as the minimum
    else if (kind === 2) row.fill(-0.75);
    else if (kind === 3) row.forEach((_, i) => (row[i] = i % 32 === 0 ? 127 : (i % 253) - 126 + 0.5)); // x·id exactly on .5
    else if (kind === 4) row.forEach((_, i) => (row[i] = ((i % 33) - 16) * 0.0625)); // q4 codes on integers
    else if (kind === 5) row.forEach((_, i) => (row[i] = reference.NF4_THRESHOLDS[i % 15]! * (i % 2 ? 1 : 3)));
    else if (kind === 6) row.forEach((_, i) => (row[i] = ((i % 13) - 6) * 1e-39)); // subnormal scales
    else if (kind === 7) row.forEach((v, i) => (row[i] = v * 2 ** ((i % 24) - 20)));
    else if (kind === 8) row.forEach((_, i) => (row[i] = i % 2 ? -0 : 0)); // all-zero blocks
  }
  return w;
}

/** Floats equal bit for bit, except that any NaN matches any NaN (JS may canonicalize payloads). */
function expectSameValues(got: Float32Array, want: Float32Array, context: object): void {
  expect(got.length).toBe(want.length);
  const g = new Int32Array(got.buffer, got.byteOffset, got.length);
  const w = new Int32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < want.length; i++) {
    if (g[i] !== w[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) {
      expect.fail(`first difference at [${i}]: got ${got[i]}, want ${want[i]} (${JSON.stringify(context)})`);
    }
  }
}

// The reference is slow next to the kernels and the same for every tier: compute it once per case.
const referenceCache = new Map<string, { want: Float32Array; tolerance: Float32Array }>();

function referenceMatmul(
  key: string,
  x: Float32Array,
  bytes: Uint8Array,
  m: number,
  n: number,
  k: number,
  format: QuantFormat,
  options: reference.MatmulQuantizedOptions,
): { want: Float32Array; tolerance: Float32Array } {
  let hit = referenceCache.get(key);
  if (!hit) {
    hit = {
      want: reference.matmulQuantized(x, bytes, m, n, k, format, options),
      tolerance: reference.matmulQuantizedTolerance(x, bytes, m, n, k, format, options),
    };
    referenceCache.set(key, hit);
  }
  return hit;
}

function expectWithin(got: Float32Array, want: Float32Array, tolerance: Float32Array, context: object): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= tolerance[i]!)) {
      expect.fail(`[${i}]: got ${got[i]}, want ${want[i]} ± ${tolerance[i]} (${JSON.stringify(context)})`);
    }
  }
}

describe.each(tiersOfThisArch())('quantization on $tier', ({ tier, runs, why }) => {
  const skipped = runs ? '' : ` (skipped: ${why})`;
  beforeAll(() => {
    if (runs) setIsa(tier);
  });
  afterAll(() => {
    setIsa(null);
    setThreads(threads());
  });

  it.skipIf(!runs)(`runs the ${tier} kernels for every operation${skipped}`, () => {
    expect(isa()).toBe(tier);
    const want = kernelTier(tier);
    for (const format of QUANT_FORMATS) {
      const k = BLOCKS[format][0]!;
      const w = quantize(randomFloats(2 * k, 1), 2, k, format, { blockSize: k });
      expect(lastQuantKernel()).toBe(`quantize.${format}.${rowKernelTier(format, tier, 'quantize')}`);
      w.dequantize();
      expect(lastQuantKernel()).toBe(`dequantize.${format}.${rowKernelTier(format, tier, 'dequantize')}`);
      matmulQuantized(randomFloats(k, 2), w, 1, { precision: 'f32' });
      expect(lastQuantKernel()).toBe(`matmulF32.${format}.${want}`);
      if (format !== 'nf4') {
        matmulQuantized(randomFloats(k, 2), w, 1);
        expect(lastQuantKernel()).toBe(`matmulInt8.${format}.${want}`);
      }
    }
    quantizeActivationsQ8(randomFloats(64, 3), 1, 64);
    expect(lastQuantKernel()).toBe(`quantizeAct.${want}`);
    f32ToF16(new Float32Array(3));
    expect(lastQuantKernel()).toBe(`f32ToF16.${want}`);
    f16ToF32(new Uint16Array(3));
    expect(lastQuantKernel()).toBe(`f16ToF32.${want}`);
  });

  it.skipIf(!runs).each(GRID_FORMATS)(`%s: bytes and dequantized values equal the reference${skipped}`, (format) => {
    for (const blockSize of BLOCKS[format]) {
      for (const k of kGrid(blockSize)) {
        const n = k > 4096 ? 3 : 9;
        const w = weights(n, k, k + n + blockSize);
        const want = reference.quantize(w, n, k, format, blockSize);
        const q = quantize(atOddOffset(w), n, k, format, { blockSize });
        expectSameInts(q.toBytes(), want, { tier, format, blockSize, k, n });
        expectSameValues(q.dequantize(), reference.dequantize(want, n, k, format, blockSize), { tier, format, blockSize, k });
        const row = w.subarray(k, 2 * k);
        const rowBytes = want.subarray(q.byteLength / n, (2 * q.byteLength) / n);
        expectSameInts(quantizeRow(atOddOffset(row), format, { blockSize }), rowBytes, { tier, format, row: true });
        expectSameValues(dequantizeRow(atOddOffset(rowBytes), format, k, { blockSize }), reference.dequantizeRow(rowBytes, format, k, blockSize), {
          tier,
          format,
          row: true,
        });
        expect(lastQuantKernel()).toBe(`dequantize.${format}.${rowKernelTier(format, tier, 'dequantize')}`);
      }
    }
  });

  it.skipIf(!runs).each(GRID_FORMATS)(`%s: arbitrary bytes (NaN/Inf scales included) dequantize like the reference${skipped}`, (format) => {
    for (const blockSize of BLOCKS[format]) {
      const n = 5;
      const k = 2 * blockSize;
      const bytes = randomBytes((n * k * reference.blockBytes(format, blockSize)) / blockSize, blockSize + 7);
      const w = QuantizedMatrix.fromBytes(format, n, k, bytes, { blockSize });
      expectSameInts(w.toBytes(), bytes, { tier, format, roundTrip: true });
      expectSameValues(w.dequantize(), reference.dequantize(bytes, n, k, format, blockSize), { tier, format, blockSize });
    }
  });

  it.skipIf(!runs)(`the int8-precision activation quantizer equals the reference${skipped}`, () => {
    for (const k of [32, 64, 4096]) {
      const m = 7;
      const x = weights(m, k, k);
      const got = quantizeActivationsQ8(atOddOffset(x), m, k);
      const want = reference.quantizeActivations(x, k);
      expectSameInts(got.q, want.q, { tier, k, codes: true });
      expectSameFloats(got.d, want.d, { tier, k, scales: true });
      expectSameInts(got.s, want.s, { tier, k, sums: true });
    }
    expect(lastQuantKernel()).toBe(`quantizeAct.${kernelTier(tier)}`);
  });

  it.skipIf(!runs).each(GRID_FORMATS)(`%s: matmulQuantized is within the §3 bound of the reference, both precisions${skipped}`, (format) => {
    const ms = quick ? [1, 3, 17] : [1, 2, 3, 5, 8, 17, 33, 65];
    for (const blockSize of BLOCKS[format]) {
      for (const k of kGrid(blockSize)) {
        const ns = k >= 4096 ? [1, 17] : quick ? [1, 17, 33] : [1, 3, 17, 33, 49];
        for (const n of ns) {
          const wf = randomFloats(n * k, n * k + 1);
          const bytes = reference.quantize(wf, n, k, format, blockSize);
          const w = QuantizedMatrix.fromBytes(format, n, k, bytes, { blockSize });
          const bias = randomFloats(n, n + 5);
          for (const m of ms) {
            if (k >= 4096 && m > 3) continue;
            const x = randomFloats(m * k, m * k + n);
            for (const precision of format === 'nf4' ? (['f32'] as const) : (['int8', 'f32'] as const)) {
              const options = { blockSize, bias: m % 2 ? bias : undefined, precision };
              const key = `${format}/${blockSize}/${m}/${n}/${k}/${precision}`;
              const { want, tolerance } = referenceMatmul(key, x, bytes, m, n, k, format, options);
              const got = matmulQuantized(atOddOffset(x), w, m, { bias: options.bias, precision });
              expectWithin(got, want, tolerance, { tier, format, blockSize, m, n, k, precision });
              expect(lastQuantKernel()).toBe(`${precision === 'int8' ? 'matmulInt8' : 'matmulF32'}.${format}.${kernelTier(tier)}`);
            }
          }
        }
      }
    }
  });

  it.skipIf(!runs)(`results do not depend on the thread count; async equals sync${skipped}`, async () => {
    const before = threads();
    try {
      for (const format of GRID_FORMATS) {
        // The K-quants' scalar quantizer is a search: smaller matrices, still large enough for the pool.
        const shapes: Array<[number, number, number]> = format.endsWith('_K')
          ? [
              [1, 64, 4096],
              [33, 32, 1024],
            ]
          : [
              [1, 512, 4096],
              [33, 96, 1024],
            ];
        for (const [m, n, k] of shapes) {
          const wf = randomFloats(n * k, m + n);
          const x = randomFloats(m * k, m * n);
          const results: Float32Array[] = [];
          const bytes: Uint8Array[] = [];
          for (const t of [1, 2]) {
            setThreads(t);
            const w = quantize(wf, n, k, format);
            bytes.push(w.toBytes());
            results.push(matmulQuantized(x, w, m));
            results.push(await matmulQuantizedAsync(x, w, m));
          }
          expectSameInts(bytes[1]!, bytes[0]!, { tier, format, m, n, k, quantize: true });
          for (const r of results.slice(1)) expectSameFloats(r, results[0]!, { tier, format, m, n, k });
        }
      }
    } finally {
      setThreads(before);
    }
  });

  it.skipIf(!runs)(`f16 conversions equal the reference, every f16 and edge f32 patterns${skipped}`, () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    expectSameFloats(f16ToF32(all), reference.f16ToF32Array(all), { tier, direction: 'f16→f32' });
    const bits = new Uint32Array(randomBytes(4 * 20000, 99).buffer);
    const edges = [0x477fefff, 0x477ff000, 0x33000000, 0x33000001, 0x38800000, 0x387fffff, 0x7f800001, 0xffc00000, 0x80000000];
    const x = new Float32Array(bits.length + edges.length);
    new Uint32Array(x.buffer).set(bits);
    new Uint32Array(x.buffer).set(edges, bits.length);
    expectSameInts(f32ToF16(x), reference.f32ToF16Array(x), { tier, direction: 'f32→f16' });
  });

  it.skipIf(!runs)(`precision 'int8' rejects NaN/Inf activations; 'f32' lets them propagate${skipped}`, () => {
    const w = quantize(randomFloats(3 * 64, 5), 3, 64, 'q4_0');
    const x = randomFloats(64, 6);
    x[40] = Number.NaN;
    expect(() => matmulQuantized(x, w, 1)).toThrow(RangeError);
    expect(Number.isNaN(matmulQuantized(x, w, 1, { precision: 'f32' })[0])).toBe(true);
  });
});
