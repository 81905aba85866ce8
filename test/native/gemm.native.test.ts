/**
 * Native int8 GEMM against the reference on every tier this machine has: shape grid, edge
 * values, views at odd offsets, thread counts, async variants. Results must be identical, and
 * each case checks that the forced tier's kernel really ran.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  gemmS8S8,
  gemmS8S8Async,
  gemmU8S8,
  gemmU8S8Async,
  isa,
  lastInt8GemmKernel,
  lastLinearInt8Kernel,
  linearInt8,
  linearInt8Async,
  packInt8,
  quantizeActivationsU8,
  quantizeLinearInt8,
  setIsa,
  setThreads,
  threads,
} from '../../lib/index';
import * as reference from '../../lib/reference/index';
import { atOddOffset, expectSameFloats, expectSameInts, randomBytes, randomFloats, randomInt8, tiersOfThisArch } from '../helpers';

const quick = process.env['SPARQ_TEST_QUICK'] === '1';
const M = quick ? [1, 2, 3, 4, 5, 8, 15, 16, 17, 33, 65] : [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65];
const N = quick ? [1, 3, 16, 17, 33] : [1, 2, 3, 15, 16, 17, 31, 32, 33, 47, 48, 49, 65];
const K = quick ? [1, 3, 4, 5, 33, 64, 129] : [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 300];
// GEMV and tall/wide shapes past the kernels' tile edges.
const LARGE: Array<[number, number, number]> = quick
  ? [[1, 257, 1024], [129, 97, 260]]
  : [[1, 4096, 1024], [1, 1000, 777], [2, 257, 4096], [8, 96, 1023], [127, 65, 260], [129, 97, 260], [130, 300, 64]];

function kernelOf(tier: string): RegExp {
  return new RegExp(`^gemm_[us]8s8s32__${tier}$`);
}

/** The int8 layer's float-step kernel a tier runs (sparq/linear_int8.h): VNNI adds nothing there, nor dotprod/i8mm. */
function linearKernelOf(tier: string): string {
  const own: Record<string, string> = { avx512vnni: 'avx512', neondot: 'neon', i8mm: 'neon' };
  return `linear_int8__${own[tier] ?? tier}`;
}

describe.each(tiersOfThisArch())('int8 GEMM on $tier', ({ tier, runs, why }) => {
  beforeAll(() => {
    if (runs) setIsa(tier);
  });
  afterAll(() => setIsa(null));

  it.skipIf(!runs)(`runs the ${tier} kernel${runs ? '' : ` (skipped: ${why})`}`, () => {
    expect(isa()).toBe(tier);
    gemmU8S8(new Uint8Array(4), packInt8(new Int8Array(4), 1, 4), 1);
    expect(lastInt8GemmKernel()).toMatch(kernelOf(tier));
  });

  it.skipIf(!runs).each(M)(`u8·s8 and s8·s8 equal the reference over n × k for m = %i${runs ? '' : ` (skipped: ${why})`}`, (m) => {
    for (const n of N) {
      for (const k of K) {
        const seed = m * 1_000_003 + n * 1009 + k;
        const a = randomBytes(m * k, seed);
        const b = randomInt8(n * k, seed + 1);
        const w = packInt8(b, n, k);
        const zeroPoint = (m + n + k) % 3 === 0 ? 0 : (seed % 256);
        expectSameInts(gemmU8S8(a, w, m, { aZeroPoint: zeroPoint }), reference.gemmU8S8(a, b, m, n, k, zeroPoint), { tier, m, n, k, zeroPoint });
        const as = new Int8Array(a.buffer);
        expectSameInts(gemmS8S8(as, w, m), reference.gemmS8S8(as, b, m, n, k), { tier, m, n, k, signed: true });
        expect(lastInt8GemmKernel()).toMatch(kernelOf(tier));
      }
    }
  });

  it.skipIf(!runs).each(LARGE)(`equals the reference at m=%i n=%i k=%i${runs ? '' : ` (skipped: ${why})`}`, (m, n, k) => {
    const a = randomBytes(m * k, m + n + k);
    const b = randomInt8(n * k, m * n + k);
    const w = packInt8(b, n, k);
    expectSameInts(gemmU8S8(a, w, m, { aZeroPoint: 77 }), reference.gemmU8S8(a, b, m, n, k, 77), { tier, m, n, k });
    expect(lastInt8GemmKernel()).toMatch(kernelOf(tier));
  });

  it.skipIf(!runs)(`is exact at the extremes: 255·(−128), zero points 0/128/255, K = 1 and 65536${runs ? '' : ` (skipped: ${why})`}`, () => {
    for (const k of [1, 65536]) {
      const m = 3;
      const n = 17;
      const a = new Uint8Array(m * k);
      a.fill(255, 0, k); // row 0: all 255
      a.fill(0, k, 2 * k); // row 1: all 0
      for (let p = 0; p < k; p++) a[2 * k + p] = p % 2 ? 255 : 0; // row 2: alternating
      const b = new Int8Array(n * k);
      for (let j = 0; j < n; j++) b.fill(j % 3 === 0 ? -128 : j % 3 === 1 ? 127 : 0, j * k, (j + 1) * k);
      for (let p = 0; p < k; p += 7) b[k + p] = -128; // a row of B mixing 127 and −128
      const w = packInt8(b, n, k);
      for (const zeroPoint of [0, 128, 255]) {
        expectSameInts(gemmU8S8(a, w, m, { aZeroPoint: zeroPoint }), reference.gemmU8S8(a, b, m, n, k, zeroPoint), { tier, k, zeroPoint });
      }
      const as = new Int8Array(m * k);
      as.fill(-128, 0, k);
      as.fill(127, k, 2 * k);
      expectSameInts(gemmS8S8(as, w, m), reference.gemmS8S8(as, b, m, n, k), { tier, k, signed: true });
    }
    // The most negative and most positive sums that exist.
    const k = 65536;
    const w = packInt8(new Int8Array(2 * k).fill(-128, 0, k).fill(127, k), 2, k);
    expect([...gemmU8S8(new Uint8Array(k).fill(255), w, 1)]).toEqual([-255 * 128 * k, 255 * 127 * k]);
    expect([...gemmU8S8(new Uint8Array(k), w, 1, { aZeroPoint: 255 })]).toEqual([255 * 128 * k, -255 * 127 * k]);
    expect([...gemmS8S8(new Int8Array(k).fill(-128), w, 1)]).toEqual([128 * 128 * k, -128 * 127 * k]);
  });

  it.skipIf(!runs)(`reads views at odd byte offsets and writes into out${runs ? '' : ` (skipped: ${why})`}`, () => {
    const [m, n, k] = [5, 19, 37];
    const a = randomBytes(m * k, 99);
    const b = randomInt8(n * k, 98);
    const w = packInt8(atOddOffset(b), n, k);
    const out = atOddOffset(new Int32Array(m * n + 3).fill(-7));
    const c = gemmU8S8(atOddOffset(a), w, m, { out, aZeroPoint: 3 });
    expect(c).toBe(out);
    expectSameInts(out.subarray(0, m * n), reference.gemmU8S8(a, b, m, n, k, 3), { tier, view: true });
    expect([...out.subarray(m * n)]).toEqual([-7, -7, -7]);
  });

  it.skipIf(!runs)(`gives identical results on 1 and 2 threads${runs ? '' : ` (skipped: ${why})`}`, () => {
    const before = threads();
    try {
      for (const [m, n, k] of [[1, 4096, 512], [130, 300, 500], [64, 64, 4096]] as const) {
        const a = randomBytes(m * k, 5);
        const b = randomInt8(n * k, 6);
        const w = packInt8(b, n, k);
        setThreads(1);
        const one = gemmU8S8(a, w, m, { aZeroPoint: 9 });
        setThreads(2);
        const two = gemmU8S8(a, w, m, { aZeroPoint: 9 });
        expectSameInts(two, one, { tier, m, n, k });
        expectSameInts(one, reference.gemmU8S8(a, b, m, n, k, 9), { tier, m, n, k });
      }
      // The linear layer also splits its quantizer and epilogue by rows.
      const [m, n, k] = [130, 70, 600];
      const layer = quantizeLinearInt8(randomFloats(n * k, 7, 0.1), n, k, { bias: randomFloats(n, 8) });
      const x = randomFloats(m * k, 9, 2);
      setThreads(1);
      const one = linearInt8(x, layer, m);
      setThreads(2);
      expectSameFloats(linearInt8(x, layer, m), one, { tier, m, n, k, linear: true });
      const parts = layer.toArrays();
      expectSameFloats(one, reference.linearInt8(x, parts.weight, parts.scale, parts.bias, m, n, k), { tier, linear: true });
    } finally {
      setThreads(before);
    }
  });

  it.skipIf(!runs)(`quantizes activations exactly like the reference${runs ? '' : ` (skipped: ${why})`}`, () => {
    const cases: Array<[string, Float32Array, number, number]> = [
      ['gaussian', randomFloats(7 * 129, 3, 2.5), 7, 129],
      ['ties', new Float32Array([-127.5, 127.5, 0, 0.5, 1.5, 2.5, -0.5, -1.5, 126.5, -126.5]), 1, 10],
      ['zeros and signed zeros', new Float32Array([0, -0, 0, -0]), 2, 2],
      ['all positive', new Float32Array([1e-3, 2, 3, 4, 5]), 1, 5],
      ['all negative', new Float32Array([-1e-3, -2, -3, -4, -5]), 1, 5],
      ['subnormal', new Float32Array([1e-45, -1e-45, 3e-44, 0]), 1, 4],
      ['huge range', new Float32Array([3e38, -3e38, 1, -1]), 1, 4],
      // Rows across the vector widths (4, 8, 16 lanes) and their tails, ties included.
      ['ties in long rows', Float32Array.from({ length: 3 * 67 }, (_, i) => ((i % 23) - 11) * 0.5), 3, 67],
      ['one row per width', randomFloats(5 * 33, 17, 4), 5, 33],
      ['rows of 16 and 32', randomFloats(4 * 48, 18, 1e-3), 4, 48],
    ];
    for (const [name, x, m, k] of cases) {
      const got = quantizeActivationsU8(x, m, k);
      expect(lastLinearInt8Kernel()).toBe(linearKernelOf(tier));
      const want = reference.quantizeActivationsU8(x, m, k);
      expectSameInts(got.q, want.q, { tier, name });
      expectSameFloats(got.scale, want.scale, { tier, name });
      expectSameInts(got.zeroPoint, want.zeroPoint, { tier, name });
    }
  });

  it.skipIf(!runs)(`codes with a static range exactly like the reference, saturating outside it${runs ? '' : ` (skipped: ${why})`}`, () => {
    const ranges = [
      { scale: 0.01, zeroPoint: 128 }, // narrower than the data: both ends saturate
      { scale: 0.05, zeroPoint: 0 }, // ReLU-like: everything negative codes to 0
      { scale: 0.02, zeroPoint: 255 },
      { scale: 1e-30, zeroPoint: 7 }, // x/scale overflows to ±Inf, still clamped
      { scale: 0.5, zeroPoint: 100 }, // ties: x/scale lands on halves
    ];
    const data: Array<[Float32Array, number, number]> = [
      [randomFloats(7 * 129, 3, 2.5), 7, 129],
      [Float32Array.from({ length: 3 * 67 }, (_, i) => ((i % 23) - 11) * 0.25), 3, 67],
      [randomFloats(1 * 15, 4, 1), 1, 15],
      [new Float32Array([0, -0, 3e38, -3e38, 1e-45]), 1, 5],
    ];
    for (const activations of ranges) {
      for (const [x, m, k] of data) {
        const got = quantizeActivationsU8(x, m, k, { activations });
        expect(lastLinearInt8Kernel()).toBe(linearKernelOf(tier));
        const want = reference.quantizeActivationsU8(x, m, k, activations);
        expectSameInts(got.q, want.q, { tier, activations, m, k });
        expect([...got.zeroPoint].every((z) => z === activations.zeroPoint)).toBe(true);
      }
    }
  });

  it.skipIf(!runs).each([[1, 64, 32], [3, 17, 33], [16, 96, 200], [130, 70, 600]])(
    `linearInt8 with a static activation range equals the reference at m=%i n=%i k=%i, 1 or 2 threads, sync or async${runs ? '' : ` (skipped: ${why})`}`,
    async (m, n, k) => {
      const wf = randomFloats(n * k, n + k, 0.05);
      const bias = randomFloats(n, n, 0.5);
      const x = randomFloats(m * k, m * k, 3);
      const activations = { scale: 4 / 255, zeroPoint: 120 }; // ≈ [−1.9, 2.1]: the tails of X saturate
      const layer = quantizeLinearInt8(wf, n, k, { bias, activations });
      expect(layer.activations).toEqual({ scale: Math.fround(activations.scale), zeroPoint: 120 });
      const parts = layer.toArrays();
      const want = reference.linearInt8(x, parts.weight, parts.scale, bias, m, n, k, activations);
      const before = threads();
      try {
        setThreads(1);
        expectSameFloats(linearInt8(x, layer, m), want, { tier, m, n, k, threads: 1 });
        setThreads(2);
        expectSameFloats(linearInt8(x, layer, m), want, { tier, m, n, k, threads: 2 });
      } finally {
        setThreads(before);
      }
      expect(lastLinearInt8Kernel()).toBe(linearKernelOf(tier));
      expectSameFloats(await linearInt8Async(x, layer, m), want, { tier, async: true });
      // Not the dynamic layer's result: the range was really used.
      expect(linearInt8(x, quantizeLinearInt8(wf, n, k, { bias }), m)).not.toEqual(want);
    },
  );

  it.skipIf(!runs)(`refuses NaN and ±Inf wherever they sit in a row: vector body or tail${runs ? '' : ` (skipped: ${why})`}`, () => {
    const [m, k] = [3, 37];
    const layer = quantizeLinearInt8(randomFloats(5 * k, 19), 5, k);
    const fixed = quantizeLinearInt8(randomFloats(5 * k, 19), 5, k, { activations: { scale: 0.1, zeroPoint: 3 } });
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, 7, 15, 16, 31, 32, 36, 2 * k + 20]) {
        const x = randomFloats(m * k, 20);
        x[at] = bad;
        expect(() => quantizeActivationsU8(x, m, k), `${tier} ${bad} at ${at}`).toThrow(RangeError);
        expect(() => linearInt8(x, layer, m), `${tier} ${bad} at ${at}`).toThrow(/^linearInt8: expected x: finite values/);
        expect(() => linearInt8(x, fixed, m), `${tier} ${bad} at ${at}, static`).toThrow(/^linearInt8: expected x: finite values/);
        expect(() => quantizeActivationsU8(x, m, k, { activations: { scale: 0.1, zeroPoint: 3 } }), `${tier} ${bad} at ${at}`).toThrow(RangeError);
      }
    }
  });

  it.skipIf(!runs).each([[1, 64, 32], [3, 17, 33], [16, 96, 200], [65, 31, 1000]])(
    `linearInt8 equals the reference bit for bit at m=%i n=%i k=%i${runs ? '' : ` (skipped: ${why})`}`,
    (m, n, k) => {
      const wf = randomFloats(n * k, n + k, 0.05);
      const bias = randomFloats(n, n, 0.5);
      const x = randomFloats(m * k, m * k, 3);
      for (const withBias of [true, false]) {
        const layer = quantizeLinearInt8(wf, n, k, withBias ? { bias } : undefined);
        const parts = layer.toArrays();
        const wantWeights = reference.quantizeWeightsS8(wf, n, k);
        expectSameInts(parts.weight, wantWeights.weight, { tier, part: 'weight' });
        expectSameFloats(parts.scale, wantWeights.scale, { tier, part: 'scale' });
        const want = reference.linearInt8(x, parts.weight, parts.scale, withBias ? bias : null, m, n, k);
        expectSameFloats(linearInt8(x, layer, m), want, { tier, m, n, k, withBias });
        expect(lastInt8GemmKernel()).toMatch(kernelOf(tier));
        expect(lastLinearInt8Kernel()).toBe(linearKernelOf(tier));
      }
    },
  );

  it.skipIf(!runs)(`async variants equal the sync ones${runs ? '' : ` (skipped: ${why})`}`, async () => {
    const [m, n, k] = [9, 33, 70];
    const a = randomBytes(m * k, 1);
    const b = randomInt8(n * k, 2);
    const w = packInt8(b, n, k);
    const pending = gemmU8S8Async(a, w, m, { aZeroPoint: 17 });
    a.fill(0); // A was copied when the call was made
    expectSameInts(await pending, reference.gemmU8S8(randomBytes(m * k, 1), b, m, n, k, 17), { tier, async: true });
    const as = randomInt8(m * k, 3);
    const out = new Int32Array(m * n);
    expect(await gemmS8S8Async(as, w, m, { out })).toBe(out);
    expectSameInts(out, reference.gemmS8S8(as, b, m, n, k), { tier, async: true });
    const layer = quantizeLinearInt8(randomFloats(n * k, 4), n, k);
    const x = randomFloats(m * k, 5);
    expectSameFloats(await linearInt8Async(x, layer, m), linearInt8(x, layer, m), { tier, async: true });
  });
});

describe('packed weights and tier changes', () => {
  afterAll(() => setIsa(null));
  const usable = tiersOfThisArch().filter((t) => t.runs);

  it(`a matrix packed under one tier works under every other (${usable.map((t) => t.tier).join(', ')})`, () => {
    const [m, n, k] = [6, 37, 131];
    const a = randomBytes(m * k, 11);
    const b = randomInt8(n * k, 12);
    const want = reference.gemmU8S8(a, b, m, n, k, 128);
    for (const packer of usable) {
      setIsa(packer.tier);
      const w = packInt8(b, n, k);
      for (const runner of usable) {
        setIsa(runner.tier);
        expectSameInts(gemmU8S8(a, w, m, { aZeroPoint: 128 }), want, { packedOn: packer.tier, ranOn: runner.tier });
        expect(lastInt8GemmKernel()).toMatch(kernelOf(runner.tier));
      }
    }
  });

  it('returns an empty result for m = 0 and copies B back out unchanged', () => {
    const b = randomInt8(3 * 5, 1);
    const w = packInt8(b, 3, 5);
    expect(gemmU8S8(new Uint8Array(0), w, 0).length).toBe(0);
    expectSameInts(w.toArray(), b, {});
    expect(Object.isFrozen(w)).toBe(true);
  });
});
