/**
 * The transformer ops (lib/nn/ops.ts) on every tier this machine has, bit for bit against
 * lib/reference/ops.ts over a grid of widths, row counts and sequence layouts, special values,
 * views at odd offsets, in place, and 1 and 2 threads. Each case checks the forced tier's kernel ran.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastOpsKernel, ops, setIsa, setThreads, threads, UNARY_OPS, type Tier } from '../../lib/index';
import * as reference from '../../lib/reference/index';
import { atOddOffset, expectSameFloats, randomFloats, randomInts, tiersOfThisArch } from '../helpers';

const quick = process.env['SPARQ_TEST_QUICK'] === '1';
const WIDTHS = quick ? [1, 2, 5, 15, 16, 17, 33, 64, 65, 256] : [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 127, 256, 512, 1000];
const ROWS = [0, 1, 3];
// Packed sequences (lengths) × head layouts (d, heads).
const SEQUENCES = [[1], [5], [17], [0, 3, 1], [2, 0, 0, 33], [40, 7]];
const HEADS: Array<[d: number, heads: number]> = quick ? [[1, 1], [16, 2], [48, 3], [64, 4]] : [[1, 1], [3, 1], [16, 2], [17, 1], [34, 2], [48, 3], [64, 4], [128, 2], [256, 4]];

function kernelOf(tier: Tier): string {
  return `ops__${tier === 'avx512vnni' ? 'avx512' : tier === 'neondot' || tier === 'i8mm' ? 'neon' : tier}`;
}

/** Floats with the special values a kernel must carry through: NaN, ±∞, ±0, huge and tiny. */
function withSpecials(length: number, seed: number, scale: number): Float32Array {
  const x = randomFloats(length, seed, scale);
  const specials = [NaN, Infinity, -Infinity, -0, 0, 1e30, -1e30, 1e-40, -100, 100, 88.8, -87.4];
  for (let i = 0; i < length; i += 7) x[i] = specials[(i / 7) % specials.length]!;
  return x;
}

/** Same bits, any NaN matching any NaN (which NaN comes out is unspecified). */
function expectSameOrNaN(got: Float32Array, want: Float32Array, context: object): void {
  const g = Float32Array.from(got, (v) => (Number.isNaN(v) ? NaN : v));
  const w = Float32Array.from(want, (v) => (Number.isNaN(v) ? NaN : v));
  expectSameFloats(g, w, context);
}

describe.each(tiersOfThisArch())('transformer ops on $tier', ({ tier, runs, why }) => {
  const skipped = runs ? '' : ` (skipped: ${why})`;
  const kernel = kernelOf(tier);
  beforeAll(() => {
    if (runs) setIsa(tier);
  });
  afterAll(() => setIsa(null));

  it.skipIf(!runs).each(UNARY_OPS)(`%s equals the reference over lengths 0…1000 and special values${skipped}`, (op) => {
    for (const n of [0, ...WIDTHS, 1029]) {
      for (const scale of [1, 12, 60]) {
        const x = withSpecials(n, n + scale, scale);
        expectSameOrNaN(ops.unary(op, x), reference.unary(op, x), { op, n, scale });
        expect(lastOpsKernel()).toBe(kernel);
      }
    }
  });

  it.skipIf(!runs)(`gelu picks the erf or tanh form; relu maps −0 to +0 and keeps NaN${skipped}`, () => {
    const x = withSpecials(100, 3, 4);
    expectSameOrNaN(ops.gelu(x), reference.unary('geluErf', x), {});
    expectSameOrNaN(ops.gelu(x, { approximate: 'tanh' }), reference.unary('geluTanh', x), {});
    const r = ops.relu(Float32Array.of(-0, NaN, -1, 2));
    expect(Object.is(r[0], 0)).toBe(true);
    expect(r[1]).toBeNaN();
    expect([r[2], r[3]]).toEqual([0, 2]);
  });

  it.skipIf(!runs).each(WIDTHS)(`layerNorm, softmax (with and without masks), add and addBias equal the reference, d = %i${skipped}`, (d) => {
    for (const rows of ROWS) {
      const x = randomFloats(rows * d, d * 7 + rows, 5);
      const gamma = randomFloats(d, d + 1), beta = randomFloats(d, d + 2);
      const context = { d, rows };
      expectSameFloats(ops.layerNorm(x, rows, d, gamma, beta, { eps: 1e-6 }), reference.layerNorm(x, rows, d, gamma, beta, 1e-6), context);
      expect(lastOpsKernel()).toBe(kernel);
      expectSameFloats(ops.softmax(x, rows, d), reference.softmax(x, rows, d), context);
      const mask = randomFloats(d, d + 3, 2);
      mask[d >> 1] = -Infinity;
      expectSameFloats(ops.softmax(x, rows, d, { mask }), reference.softmax(x, rows, d, mask), context);
      const rowMasks = randomFloats(rows * d, d + 4, 2);
      if (rows > 1) rowMasks.fill(-Infinity, 0, d); // a fully masked row gives zeros
      expectSameFloats(ops.softmax(x, rows, d, { mask: rows === 1 ? rowMasks.subarray(0, d) : rowMasks }), reference.softmax(x, rows, d, rowMasks, rows > 1), context);
      const b = randomFloats(rows * d, d + 5);
      expectSameFloats(ops.add(x, b), reference.add(x, b), context);
      expectSameFloats(ops.addBias(x, rows, d, beta), reference.addBias(x, rows, d, beta), context);
    }
  });

  it.skipIf(!runs)(`a fully masked softmax row is zeros; a row with +∞ is NaN as in the reference${skipped}`, () => {
    expect([...ops.softmax(Float32Array.of(1, 2, 3), 1, 3, { mask: Float32Array.of(-Infinity, -Infinity, -Infinity) })]).toEqual([0, 0, 0]);
    const x = Float32Array.of(1, Infinity, 3, -Infinity);
    expectSameOrNaN(ops.softmax(x, 1, 4), reference.softmax(x, 1, 4), {});
  });

  it.skipIf(!runs).each(SEQUENCES)(`attention, meanPool and embeddingGather equal the reference over packed lengths %j${skipped}`, (...lengths) => {
    const segments = Int32Array.from(lengths);
    const tokens = lengths.reduce((a, b) => a + b, 0);
    for (const [d, heads] of HEADS) {
      const qkv = randomFloats(tokens * 3 * d, d * 31 + tokens, 2);
      const keep = Uint8Array.from(randomInts(tokens, 4, d + tokens), (v) => (v === 0 ? 0 : 1));
      const scale = 1 / Math.sqrt(d / heads);
      const context = { lengths, d, heads };
      expectSameFloats(ops.attention(qkv, d, heads, { lengths: segments }), reference.attention(qkv, d, heads, scale, segments), context);
      expect(lastOpsKernel()).toBe(kernel);
      expectSameFloats(ops.attention(qkv, d, heads, { lengths: segments, keep, scale: 0.3 }), reference.attention(qkv, d, heads, 0.3, segments, keep), context);
      const x = qkv.subarray(0, tokens * d);
      expectSameFloats(ops.meanPool(x, d, segments), reference.meanPool(x, d, segments), context);
      expectSameFloats(ops.meanPool(x, d, segments, { keep }), reference.meanPool(x, d, segments, keep), context);
      const table = randomFloats(50 * d, d);
      const ids = randomInts(tokens, 50, d + 1);
      expectSameFloats(ops.embeddingGather(table, d, ids), reference.gather(table, d, ids), context);
    }
  });

  it.skipIf(!runs)(`one sequence by default; the default scale is 1/√depth${skipped}`, () => {
    const qkv = randomFloats(9 * 3 * 32, 5);
    expectSameFloats(ops.attention(qkv, 32, 4), reference.attention(qkv, 32, 4, 1 / Math.sqrt(8), Int32Array.of(9)), {});
  });

  it.skipIf(!runs)(`works in place and on views at odd offsets${skipped}`, () => {
    const d = 33, rows = 5;
    const x = atOddOffset(randomFloats(rows * d, 9, 3));
    const gamma = atOddOffset(randomFloats(d, 10)), beta = atOddOffset(randomFloats(d, 11));
    const want = reference.layerNorm(x, rows, d, gamma, beta, 1e-5);
    const copy = x.slice();
    expectSameFloats(ops.layerNorm(copy, rows, d, gamma, beta, { out: copy }), want, {});
    const s = x.slice();
    expectSameFloats(ops.softmax(s, rows, d, { out: s }), reference.softmax(x, rows, d), {});
    const t = x.slice();
    expectSameFloats(ops.tanh(t, { out: t }), reference.unary('tanh', x), {});
    const a = x.slice();
    expectSameFloats(ops.add(a, x, { out: a }), reference.add(x, x), {});
  });

  it.skipIf(!runs)(`gives the same bits on 1 and 2 threads (work large enough for the pool)${skipped}`, () => {
    const before = threads();
    try {
      const x = withSpecials(300_001, 12, 8);
      const lengths = Int32Array.of(128, 3, 100);
      const qkv = randomFloats(231 * 3 * 256, 13, 2);
      const rowsX = randomFloats(400 * 512, 14, 3), gamma = randomFloats(512, 15), beta = randomFloats(512, 16);
      const run = () => [
        ops.gelu(x),
        ops.attention(qkv, 256, 4, { lengths }),
        ops.layerNorm(rowsX, 400, 512, gamma, beta),
        ops.softmax(rowsX, 400, 512),
        ops.addBias(rowsX, 400, 512, gamma),
      ];
      setThreads(1);
      const one = run();
      setThreads(2);
      const two = run();
      one.forEach((y, i) => expectSameOrNaN(two[i]!, y, { op: i }));
      expectSameFloats(one[1]!, reference.attention(qkv, 256, 4, 1 / 8, lengths), {});
    } finally {
      setThreads(before);
    }
  });
});
