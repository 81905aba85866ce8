/**
 * Native dense f32 GEMM on every tier this machine has: linearF32 and gemmF32 (B both ways)
 * within DESIGN.md §3's bound of the reference over the shape grid, and — since every output is
 * one fused multiply-add chain in k order (native/include/sparq/gemm_f32.h) — bit-identical to
 * the scalar tier, to an exact model of that chain, across thread counts, sync and async, and
 * both layouts of B. Each case checks the forced tier's kernel really ran.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  gemmF32,
  gemmF32Async,
  isa,
  lastF32GemmKernel,
  linearF32,
  linearF32Async,
  packF32,
  PackedF32Matrix,
  setIsa,
  setThreads,
  threads,
  type Tier,
} from '../../lib/index';
import * as reference from '../../lib/reference/index';
import { atOddOffset, expectSameFloats, expectWithinBound, randomFloats, tiersOfThisArch } from '../helpers';

const quick = process.env['SPARQ_TEST_QUICK'] === '1';
const M = quick ? [1, 2, 3, 5, 8, 16, 17, 33, 65] : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 31, 32, 33, 63, 64, 65];
const N = quick ? [1, 3, 15, 16, 17, 33, 64] : [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65];
const K = quick ? [1, 2, 5, 16, 17, 33, 65] : [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65];
// GEMV (m = 1) with large n and k, deep k past any k-blocking, tall and wide shapes past the tile edges.
const LARGE: Array<[number, number, number]> = quick
  ? [[1, 1000, 777], [2, 129, 1025], [67, 97, 260], [145, 33, 40]]
  : [[1, 4096, 1024], [1, 1000, 777], [1, 17, 4099], [2, 257, 2048], [3, 33, 1537], [8, 96, 1023], [15, 513, 70], [67, 97, 260], [129, 65, 513], [130, 300, 64], [143, 17, 9], [144, 49, 33], [145, 33, 40], [255, 17, 129], [289, 47, 31]];

/** The tier whose kernel runs when `tier` is forced (avx512vnni uses avx512's, neondot and i8mm neon's). */
function kernelTier(tier: Tier): Tier {
  return tier === 'avx512vnni' ? 'avx512' : tier === 'neondot' || tier === 'i8mm' ? 'neon' : tier;
}

// --- an exact model of the kernels' fused multiply-add chain --------------------------------

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** The f32 next to r (an f32) in the direction of s. */
function nextF32Toward(r: number, s: number): number {
  if (r === 0) return s > 0 ? 2 ** -149 : -(2 ** -149);
  scratch[0] = r;
  scratchBits[0] = scratchBits[0]! + ((s > r) === (r > 0) ? 1 : -1);
  return scratch[0]!;
}

/**
 * fmaf(a, b, c) for f32 a, b, c: a·b is exact in a double; a·b + c rounds once to a double s with
 * error err (TwoSum). fround(s) is the correctly rounded f32 unless s fell exactly on the midpoint
 * between two f32s, where err decides the side.
 */
function fmaF32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  if (!Number.isFinite(s)) return Math.fround(s);
  const bv = s - p;
  const err = p - (s - bv) + (c - bv);
  let r = Math.fround(s);
  if (err !== 0 && r !== s) {
    const other = nextF32Toward(r, s);
    if ((r + other) / 2 === s && err > 0 === other > r) r = other;
  }
  return r;
}

/** linearF32 as the header specifies it: acc = +0, acc = fma(x, w, acc) in k order, then + bias. */
function fmaChainLinear(x: Float32Array, w: Float32Array, m: number, n: number, k: number, bias?: Float32Array): Float32Array {
  const y = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc = fmaF32(x[i * k + p]!, w[j * k + p]!, acc);
      y[i * n + j] = bias ? Math.fround(acc + bias[j]!) : acc;
    }
  }
  return y;
}

function transpose(b: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = b[r * cols + c]!;
  return t;
}

// --- seeded operands and the reference, computed once per shape -------------------------------

interface Case {
  x: Float32Array; // [m×k]
  w: Float32Array; // [n×k]
  wt: Float32Array; // Wᵀ [k×n]
  bias: Float32Array;
}

function operands(m: number, n: number, k: number): Case {
  const seed = m * 1_000_003 + n * 1009 + k;
  const x = randomFloats(m * k, seed, 2);
  const w = randomFloats(n * k, seed + 1, 0.5);
  // A few exact zeros and −0s in both operands.
  for (let i = 0; i < x.length; i += 7) x[i] = i % 2 ? -0 : 0;
  for (let i = 3; i < w.length; i += 11) w[i] = -0;
  return { x, w, wt: transpose(w, n, k), bias: randomFloats(n, seed + 2, 4) };
}

const referenceCache = new Map<string, { plain: Float32Array; plainTol: Float64Array; biased: Float32Array; biasedTol: Float64Array }>();
function referenceOf(key: string, c: Case, m: number, n: number, k: number) {
  let hit = referenceCache.get(key);
  if (!hit) {
    hit = {
      plain: reference.linearF32(c.x, c.w, m, n, k),
      plainTol: reference.linearF32Tolerance(c.x, c.w, m, n, k),
      biased: reference.linearF32(c.x, c.w, m, n, k, c.bias),
      biasedTol: reference.linearF32Tolerance(c.x, c.w, m, n, k, c.bias),
    };
    referenceCache.set(key, hit);
  }
  return hit;
}

/** Run `call` on the scalar tier, then return to `tier`. */
function onScalar<T>(tier: Tier, call: () => T): T {
  setIsa('scalar');
  try {
    return call();
  } finally {
    setIsa(tier);
  }
}

/**
 * One shape on one tier: linearF32 with and without bias, gemmF32 both ways, all within the bound
 * of the reference, identical to each other where the chain is the same, and to the scalar tier.
 */
function checkShape(tier: Tier, m: number, n: number, k: number): void {
  const c = operands(m, n, k);
  const want = referenceOf(`${m},${n},${k}`, c, m, n, k);
  const context = { tier, m, n, k };
  const packed = packF32(c.w, n, k);
  const plain = linearF32(c.x, packed, m);
  expect(lastF32GemmKernel()).toBe(`gemm_f32__${kernelTier(tier)}`);
  expectWithinBound(plain, want.plain, want.plainTol, { ...context, op: 'linearF32' });
  const biased = linearF32(c.x, packed, m, { bias: c.bias });
  expectWithinBound(biased, want.biased, want.biasedTol, { ...context, op: 'linearF32 + bias' });
  // y = sum, then + bias with one more rounding.
  expectSameFloats(biased, plain.map((v, i) => Math.fround(v + c.bias[i % n]!)), { ...context, op: 'bias after the sum' });
  // The same chains: A·Bᵀ with B [n×k] (transB) and A·B with B [k×n] give the same bits as linearF32.
  const viaTransB = gemmF32(c.x, c.w, m, n, k, { transB: true });
  expect(lastF32GemmKernel()).toBe(`gemm_f32__${kernelTier(tier)}`);
  expectSameFloats(viaTransB, plain, { ...context, op: 'gemmF32 transB' });
  expectSameFloats(gemmF32(c.x, c.wt, m, n, k), plain, { ...context, op: 'gemmF32' });
  // A given [k×m] (transA) is transposed first: the same chains again.
  expectSameFloats(gemmF32(transpose(c.x, m, k), c.wt, m, n, k, { transA: true }), plain, { ...context, op: 'gemmF32 transA' });
  expectSameFloats(gemmF32(transpose(c.x, m, k), c.w, m, n, k, { transA: true, transB: true }), plain, { ...context, op: 'gemmF32 transA transB' });
  expect(lastF32GemmKernel()).toBe(`gemm_f32__${kernelTier(tier)}`);
  if (tier !== 'scalar') {
    const scalar = onScalar(tier, () => linearF32(c.x, packed, m, { bias: c.bias }));
    expectSameFloats(biased, scalar, { ...context, op: 'linearF32 vs scalar tier' });
  }
}

describe.each(tiersOfThisArch())('dense f32 GEMM on $tier', ({ tier, runs, why }) => {
  const skipped = runs ? '' : ` (skipped: ${why})`;
  beforeAll(() => {
    if (runs) setIsa(tier);
  });
  afterAll(() => setIsa(null));

  it.skipIf(!runs)(`runs the ${kernelTier(tier)} kernel${skipped}`, () => {
    expect(isa()).toBe(tier);
    const w = packF32(randomFloats(3 * 5, 1), 3, 5);
    linearF32(randomFloats(2 * 5, 2), w, 2);
    expect(lastF32GemmKernel()).toBe(`gemm_f32__${kernelTier(tier)}`);
    for (const transB of [false, true]) {
      gemmF32(randomFloats(4, 3), randomFloats(4, 4), 2, 2, 2, { transB });
      expect(lastF32GemmKernel()).toBe(`gemm_f32__${kernelTier(tier)}`);
    }
  });

  it.skipIf(!runs).each(M)(`linearF32 and gemmF32 (B both ways) are within the bound and equal the scalar tier over n × k, m = %i${skipped}`, (m) => {
    for (const n of N) for (const k of K) checkShape(tier, m, n, k);
  });

  it.skipIf(!runs).each(LARGE)(`the same at m=%i n=%i k=%i${skipped}`, (m, n, k) => {
    checkShape(tier, m, n, k);
  });

  it.skipIf(!runs)(`fuses each multiply-add: (1 + 2⁻²³)² − (1 + 2⁻²²) = 2⁻⁴⁶ exactly${skipped}`, () => {
    // k = 2: acc = fma(1, −(1 + 2⁻²²), +0) = −(1 + 2⁻²²); fma(1 + 2⁻²³, 1 + 2⁻²³, acc) = 2⁻⁴⁶
    // (the exact square is 1 + 2⁻²² + 2⁻⁴⁶). Rounding the product first would give 0.
    // Placed at every column and row position of a 3×37 output, for the vector lanes and tails.
    const U = 2 ** -24;
    const [m, n, k] = [3, 37, 2];
    const x = new Float32Array(m * k);
    for (let i = 0; i < m; i++) x.set([1, 1 + 2 * U], i * k);
    const w = new Float32Array(n * k);
    for (let j = 0; j < n; j++) w.set([-(1 + 4 * U), 1 + 2 * U], j * k);
    const want = new Float32Array(m * n).fill(2 ** -46);
    expectSameFloats(linearF32(x, packF32(w, n, k), m), want, { tier, fused: 'linear' });
    expectSameFloats(gemmF32(x, w, m, n, k, { transB: true }), want, { tier, fused: 'transB' });
    expectSameFloats(gemmF32(x, transpose(w, n, k), m, n, k), want, { tier, fused: 'gemm' });
    expectSameFloats(fmaChainLinear(x, w, m, n, k), want, { model: true });
  });

  it.skipIf(!runs)(`equals an exact model of the fma chain bit for bit${skipped}`, () => {
    // Values spread over many binades so products and sums round often; sums cancel.
    for (const [m, n, k] of quick ? [[3, 17, 33], [1, 64, 129]] : [[3, 17, 33], [1, 64, 129], [9, 33, 300], [17, 48, 65], [2, 16, 1024]] as const) {
      const x = randomFloats(m * k, m + k).map((v, i) => v * 2 ** ((i % 21) - 10));
      const w = randomFloats(n * k, n + k).map((v, i) => v * 2 ** ((i % 17) - 8));
      const bias = randomFloats(n, n, 3);
      expectSameFloats(linearF32(x, packF32(w, n, k), m, { bias }), fmaChainLinear(x, w, m, n, k, bias), { tier, m, n, k, model: true });
      expectSameFloats(gemmF32(x, w, m, n, k, { transB: true }), fmaChainLinear(x, w, m, n, k), { tier, m, n, k, model: 'transB' });
    }
  });

  it.skipIf(!runs)(`propagates NaN and ±Inf like the scalar tier${skipped}`, () => {
    const [m, n, k] = [5, 19, 23];
    const x = randomFloats(m * k, 1);
    const w = randomFloats(n * k, 2);
    x[3] = Infinity; // row 0
    x[k + 4] = NaN; // row 1
    x[2 * k + 1] = -Infinity; // row 2
    w[5 * k + 1] = 0; // −Inf·0 = NaN at (2, 5)
    w[7 * k + 3] = Infinity; // +Inf·+Inf at (0, 7), and ±Inf·finite elsewhere in column 7
    const bias = randomFloats(n, 3);
    bias[11] = -Infinity;
    const got = linearF32(x, packF32(w, n, k), m, { bias });
    const scalar = onScalar(tier, () => linearF32(x, packF32(w, n, k), m, { bias }));
    const want = reference.linearF32(x, w, m, n, k, bias);
    for (let i = 0; i < got.length; i++) {
      const same = Number.isNaN(scalar[i]) ? Number.isNaN(got[i]) : Object.is(got[i], scalar[i]);
      if (!same) expect.fail(`[${i}]: got ${got[i]}, scalar tier ${scalar[i]} (${tier})`);
      // Where the reference has NaN or ±Inf, so does the kernel.
      if (!Number.isFinite(want[i]!)) expect(Number.isNaN(want[i]) ? Number.isNaN(got[i]) : got[i] === want[i], `[${i}] ${got[i]} vs ${want[i]}`).toBe(true);
    }
    expect(Number.isNaN(got[2 * n + 5])).toBe(true);
    expect(got[7]).toBe(Infinity);
    expect(got[3 * n + 11]).toBe(-Infinity);
  });

  it.skipIf(!runs)(`reads views at odd offsets and writes only its part of out${skipped}`, () => {
    const [m, n, k] = [5, 19, 37];
    const c = operands(m, n, k);
    const packed = packF32(atOddOffset(c.w), n, k);
    const want = linearF32(c.x, packed, m, { bias: c.bias });
    const out = atOddOffset(new Float32Array(m * n + 3).fill(-7));
    expect(linearF32(atOddOffset(c.x), packed, m, { bias: atOddOffset(c.bias), out })).toBe(out);
    expectSameFloats(out.subarray(0, m * n), want, { tier, view: 'linear' });
    expect([...out.subarray(m * n)]).toEqual([-7, -7, -7]);
    const out2 = atOddOffset(new Float32Array(m * n + 2).fill(5));
    expect(gemmF32(atOddOffset(c.x), atOddOffset(c.wt), m, n, k, { out: out2 })).toBe(out2);
    expectSameFloats(out2.subarray(0, m * n), linearF32(c.x, packed, m), { tier, view: 'gemm' });
    expect([...out2.subarray(m * n)]).toEqual([5, 5]);
    // Longer inputs than needed: only the first m·k of x and k·n of b are read.
    const longX = new Float32Array(m * k + 9).fill(NaN);
    longX.set(c.x);
    expectSameFloats(linearF32(longX, packed, m), linearF32(c.x, packed, m), { tier, view: 'long x' });
  });

  it.skipIf(!runs)(`gives identical results on 1 and 2 threads${skipped}`, () => {
    const before = threads();
    try {
      for (const [m, n, k] of [[1, 4096, 512], [130, 300, 200], [64, 64, 2048], [7, 33, 65]] as const) {
        const c = operands(m, n, k);
        const packed = packF32(c.w, n, k);
        setThreads(1);
        const one = linearF32(c.x, packed, m, { bias: c.bias });
        const oneGemm = gemmF32(c.x, c.wt, m, n, k);
        setThreads(2);
        expectSameFloats(linearF32(c.x, packed, m, { bias: c.bias }), one, { tier, m, n, k, threads: 2 });
        expectSameFloats(gemmF32(c.x, c.wt, m, n, k), oneGemm, { tier, m, n, k, threads: 2, op: 'gemm' });
      }
    } finally {
      setThreads(before);
    }
  });

  it.skipIf(!runs)(`async variants equal the sync ones and copy their inputs${skipped}`, async () => {
    const [m, n, k] = [9, 33, 70];
    const c = operands(m, n, k);
    const packed = packF32(c.w, n, k);
    const want = linearF32(c.x, packed, m, { bias: c.bias });
    const x = c.x.slice();
    const bias = c.bias.slice();
    const pending = linearF32Async(x, packed, m, { bias });
    x.fill(NaN); // both were copied when the call was made
    bias.fill(NaN);
    expectSameFloats(await pending, want, { tier, async: 'linear' });
    const out = new Float32Array(m * n);
    expect(await linearF32Async(c.x, packed, m, { out })).toBe(out);
    expectSameFloats(out, linearF32(c.x, packed, m), { tier, async: 'linear out' });
    for (const transB of [false, true]) {
      const b = transB ? c.w.slice() : c.wt.slice();
      const a = c.x.slice();
      const gemm = gemmF32Async(a, b, m, n, k, { transB });
      a.fill(NaN);
      b.fill(NaN);
      expectSameFloats(await gemm, gemmF32(c.x, transB ? c.w : c.wt, m, n, k, { transB }), { tier, async: 'gemm', transB });
    }
    expect(lastF32GemmKernel()).toBe(`gemm_f32__${kernelTier(tier)}`);
  });

  it.skipIf(!runs)(`concurrent async calls (each split over the pool) give the sync results${skipped}`, async () => {
    // Large enough to use the pool and every way B is read (in place, packed per task, packed whole).
    const shapes: Array<[number, number, number, boolean]> = [[200, 100, 300, false], [1, 4096, 512, true], [20, 300, 400, true], [10, 200, 600, false], [160, 64, 256, true], [3, 1000, 700, false]];
    const inputs = shapes.map(([m, n, k]) => operands(m, n, k));
    const want = shapes.map(([m, n, k, transB], i) => gemmF32(inputs[i]!.x, transB ? inputs[i]!.w : inputs[i]!.wt, m, n, k, { transB }));
    const layer = packF32(inputs[1]!.w, 4096, 512);
    const wantLinear = linearF32(inputs[1]!.x, layer, 1, { bias: inputs[1]!.bias });
    for (let round = 0; round < (quick ? 1 : 3); round++) {
      const got = await Promise.all([
        ...shapes.map(([m, n, k, transB], i) => gemmF32Async(inputs[i]!.x, transB ? inputs[i]!.w : inputs[i]!.wt, m, n, k, { transB })),
        linearF32Async(inputs[1]!.x, layer, 1, { bias: inputs[1]!.bias }),
      ]);
      shapes.forEach(([m, n, k, transB], i) => expectSameFloats(got[i]!, want[i]!, { tier, m, n, k, transB, concurrent: round }));
      expectSameFloats(got[shapes.length]!, wantLinear, { tier, concurrent: round, op: 'linear' });
    }
  });
});

describe('PackedF32Matrix', () => {
  afterAll(() => setIsa(null));
  const usable = tiersOfThisArch().filter((t) => t.runs);

  it('toArray() returns W bit for bit (−0, NaN, ±Inf, subnormals) for n past a panel edge', () => {
    for (const [n, k] of [[1, 1], [15, 3], [16, 7], [17, 5], [33, 1], [2, 129]] as const) {
      const w = randomFloats(n * k, n * k);
      w[0] = -0;
      if (w.length > 3) w.set([NaN, -Infinity, 1e-45], 1);
      const packed = packF32(w, n, k);
      expect(packed).toBeInstanceOf(PackedF32Matrix);
      expect([packed.n, packed.k]).toEqual([n, k]);
      expect(Object.isFrozen(packed)).toBe(true);
      const back = packed.toArray();
      expectSameFloats(back, w, { n, k });
      back[0] = 42; // a copy
      expectSameFloats(packed.toArray(), w, { n, k, again: true });
    }
  });

  it(`a matrix packed under one tier runs under every other (${usable.map((t) => t.tier).join(', ')})`, () => {
    const [m, n, k] = [6, 37, 131];
    const c = operands(m, n, k);
    setIsa('scalar');
    const want = linearF32(c.x, packF32(c.w, n, k), m, { bias: c.bias });
    for (const packer of usable) {
      setIsa(packer.tier);
      const w = packF32(c.w, n, k);
      for (const runner of usable) {
        setIsa(runner.tier);
        expectSameFloats(linearF32(c.x, w, m, { bias: c.bias }), want, { packedOn: packer.tier, ranOn: runner.tier });
        expect(lastF32GemmKernel()).toBe(`gemm_f32__${kernelTier(runner.tier)}`);
      }
    }
  });
});
