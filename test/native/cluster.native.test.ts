/**
 * Native clustered family on every tier this machine has: decode bit-identical to the reference for
 * every b = 2…8 and codebook grouping (the values are the codebooks' own floats, −0 included), the
 * lookup-table matmul within DESIGN.md §3's bound of the reference over the shape grid, independent
 * of the thread count and the same sync and async; the assignment step identical to the reference,
 * midpoints included. Each case checks the forced tier's kernel really ran.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusteredMatrix, clusterAssign, isa, lastClusterKernel, linearF32, packF32, matmulClustered, matmulClusteredAsync, setIsa, setThreads, threads, type Tier } from '../../lib/index';
import * as reference from '../../lib/reference/index';
import { atOddOffset, expectThrows, expectWithinBound, randomBytes, randomFloats, tiersOfThisArch } from '../helpers';

const quick = process.env['SPARQ_TEST_QUICK'] === '1';
const BITS = [2, 3, 4, 5, 6, 7, 8];
const M = quick ? [1, 3, 5, 17] : [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 65];
const N = quick ? [1, 5, 17] : [1, 3, 4, 5, 8, 9, 16, 17, 33];
const K = quick ? [1, 15, 17, 33, 65] : [1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100];
const LARGE: Array<[number, number, number]> = quick ? [[1, 67, 1000], [70, 9, 257]] : [[1, 129, 2048], [1, 67, 1000], [2, 40, 513], [70, 9, 257], [130, 21, 96]];

function kernelTier(tier: Tier): Tier {
  return tier === 'avx512vnni' ? 'avx512' : tier === 'neondot' || tier === 'i8mm' ? 'neon' : tier;
}

/** A seeded clustered matrix: codes, codebooks (with ±0, a subnormal and large values), and its packed indices. */
function clustered(n: number, k: number, bits: number, groupRows: number, seed: number) {
  const codes = randomBytes(n * k, seed).map((v) => v & ((1 << bits) - 1));
  const groups = Math.ceil(n / groupRows);
  const codebooks = randomFloats(groups << bits, seed + 1, 0.8);
  codebooks[0] = -0;
  if (codebooks.length > 3) (codebooks[1] = 0), (codebooks[2] = 1e-40), (codebooks[3] = -3e30);
  return { codes, codebooks, indices: reference.packIndices(codes, n, k, bits), matrix: ClusteredMatrix.fromArrays(codes, codebooks, n, k, { bits, groupRows }) };
}

const bitsOf = (v: Float32Array) => new Uint32Array(v.buffer, v.byteOffset, v.length);

describe('clustered layout (reference)', () => {
  it('packs index p at bit offset p·b, little-endian, and unpacks it back', () => {
    // b = 3, k = 5: codes 1, 2, 3, 4, 5 → bits 001 010 011 100 101 from bit 0 up.
    const packed = reference.packIndices(Uint8Array.of(1, 2, 3, 4, 5), 1, 5, 3);
    expect([...packed]).toEqual([0b11010001, 0b01011000]);
    for (const bits of BITS) {
      const codes = randomBytes(3 * 37, bits).map((v) => v & ((1 << bits) - 1));
      expect(reference.unpackIndices(reference.packIndices(codes, 3, 37, bits), 3, 37, bits)).toEqual(codes);
    }
  });
});

describe.each(tiersOfThisArch())('clustered kernels on $tier', ({ tier, runs, why }) => {
  let before: Tier;
  beforeAll(() => {
    before = isa();
  });
  afterAll(() => {
    setIsa(before);
    setThreads();
  });
  const ran = (op: string) => expect(lastClusterKernel()).toBe(`${op}_clustered__${kernelTier(tier)}`);

  it.skipIf(!runs)(`decode equals the reference bit for bit, every b and grouping${runs ? '' : ` (skipped: ${why})`}`, () => {
    setIsa(tier);
    for (const bits of BITS) {
      for (const [n, k] of [[1, 1], [3, 15], [5, 16], [7, 17], [4, 33], [9, 100], [2, 1027]] as const) {
        for (const groupRows of [n, 1, Math.min(2, n)]) {
          const c = clustered(n, k, bits, groupRows, bits * 1000 + n * 31 + k);
          const got = c.matrix.dequantize();
          ran('decode');
          expect(bitsOf(got), `b ${bits} ${n}×${k} groups of ${groupRows}`).toEqual(bitsOf(reference.decodeClustered(c.indices, c.codebooks, n, k, bits, groupRows)));
          expect(c.matrix.toBytes().subarray(c.codebooks.length * 4)).toEqual(c.indices);
          c.matrix.dispose();
        }
      }
    }
  });

  it.skipIf(!runs)(`matmul within the §3 bound over the grid, every b${runs ? '' : ` (skipped: ${why})`}`, () => {
    setIsa(tier);
    setThreads(1);
    const shapes: Array<[number, number, number]> = [...LARGE];
    for (const m of M) for (const n of N) for (const k of K) if ((m * 7 + n * 3 + k) % 3 === 0) shapes.push([m, n, k]);
    shapes.forEach(([m, n, k], s) => {
      const bits = BITS[s % BITS.length]!;
      const groupRows = s % 2 ? 1 : n;
      const c = clustered(n, k, bits, groupRows, s + 77);
      const x = atOddOffset(randomFloats(m * k, s + 78, 2));
      const bias = s % 3 === 0 ? randomFloats(n, s + 79) : undefined;
      const got = matmulClustered(x, c.matrix, m, { bias });
      ran('matmul');
      const want = reference.matmulClustered(x, c.indices, c.codebooks, m, n, k, bits, groupRows, bias);
      expectWithinBound(got, want, reference.matmulClusteredTolerance(x, c.indices, c.codebooks, m, n, k, bits, groupRows, bias), { tier, m, n, k, bits, groupRows });
      c.matrix.dispose();
    });
  });

  it.skipIf(!runs)(`matmul for 1…5 rows (the fused paths) at b = 2, 4, 8 and the rest, codebooks shared and per row${runs ? '' : ` (skipped: ${why})`}`, () => {
    setIsa(tier);
    setThreads(1);
    let s = 0;
    for (const bits of BITS) {
      for (const m of [1, 2, 3, 4, 5]) {
        for (const k of [16, 31, 32, 64, 65, 130, 1000]) {
          const n = 3 + (s % 6), groupRows = [n, 1, 3][s % 3]!;
          const c = clustered(n, k, bits, groupRows, 900 + s++);
          const x = randomFloats(m * k, s, 2);
          const got = matmulClustered(x, c.matrix, m);
          ran('matmul');
          expectWithinBound(got, reference.matmulClustered(x, c.indices, c.codebooks, m, n, k, bits, groupRows), reference.matmulClusteredTolerance(x, c.indices, c.codebooks, m, n, k, bits, groupRows), { tier, m, n, k, bits, groupRows });
          c.matrix.dispose();
        }
      }
    }
  });

  it.skipIf(!runs)(`matmul for more than 4 rows: the bits of linearF32 on the decoded weights${runs ? '' : ` (skipped: ${why})`}`, () => {
    setIsa(tier);
    for (const [m, n, k, bits, groupRows] of [[5, 17, 33, 4, 17], [37, 40, 100, 3, 1], [150, 33, 64, 8, 5], [9, 300, 515, 2, 300]] as const) {
      const c = clustered(n, k, bits, groupRows, m + n + k);
      const x = randomFloats(m * k, m), bias = randomFloats(n, k);
      const dense = packF32(reference.decodeClustered(c.indices, c.codebooks, n, k, bits, groupRows), n, k);
      const got = matmulClustered(x, c.matrix, m, { bias });
      ran('matmul');
      expect(bitsOf(got), `${m}×${n}×${k}`).toEqual(bitsOf(linearF32(x, dense, m, { bias })));
      dense.dispose();
      c.matrix.dispose();
    }
  });

  it.skipIf(!runs)(`matmul: the same bits on 1 and ${Math.max(2, threads())} threads, sync and async${runs ? '' : ` (skipped: ${why})`}`, async () => {
    setIsa(tier);
    const [m, n, k] = [97, 300, 515];
    const c = clustered(n, k, 4, 16, 5);
    const x = randomFloats(m * k, 6);
    setThreads(1);
    const one = matmulClustered(x, c.matrix, m);
    setThreads(2);
    const two = matmulClustered(x, c.matrix, m);
    const async = await matmulClusteredAsync(x, c.matrix, m);
    ran('matmul');
    expect(bitsOf(two)).toEqual(bitsOf(one));
    expect(bitsOf(async)).toEqual(bitsOf(one));
    expect(matmulClustered(x, c.matrix, 0)).toEqual(new Float32Array(0));
    c.matrix.dispose();
  });
});

describe('clusterAssign', () => {
  it('equals the reference, values on a midpoint going to the lower centroid', () => {
    for (const entries of [2, 3, 16, 255, 256]) {
      const centroids = Float32Array.from(randomFloats(entries, entries), (v) => v * 3).sort();
      const values = randomFloats(5000, entries + 1, 4);
      // Exact midpoints, and the f32 either side of them.
      for (let j = 0; j + 1 < entries && 3 * j + 2 < values.length; j++) {
        const mid = Math.fround(Math.fround(centroids[j]! + centroids[j + 1]!) * 0.5);
        values[3 * j] = mid;
        values[3 * j + 1] = mid + Math.abs(mid) * 2 ** -23 + 1e-45;
        values[3 * j + 2] = mid - Math.abs(mid) * 2 ** -23 - 1e-45;
      }
      expect(clusterAssign(values, centroids)).toEqual(reference.clusterAssign(values, centroids));
    }
    expect([...clusterAssign(Float32Array.of(-5, 0.5, 1, 1.5, 9), Float32Array.of(0, 1, 2))]).toEqual([0, 0, 1, 1, 2]);
  });

  it('names what is wrong', () => {
    expectThrows(() => clusterAssign(Float32Array.of(1), Float32Array.of(2, 1)), RangeError, 'clusterAssign: expected centroids: finite and ascending, received index 1');
    expectThrows(() => clusterAssign(Float32Array.of(1), Float32Array.of(1)), RangeError, /clusterAssign: expected centroids: Float32Array of length ≥ 2/);
    expectThrows(() => clusterAssign(Float32Array.of(1), new Float32Array(257)), RangeError, /clusterAssign: expected centroids: Float32Array of 2…256 values/);
    expectThrows(() => clusterAssign([1] as unknown as Float32Array, Float32Array.of(1, 2)), TypeError, /clusterAssign: expected values: Float32Array/);
  });
});

describe('ClusteredMatrix: bad input', () => {
  const codes = new Uint8Array(12), codebooks = new Float32Array(16);
  it('names the argument, what was expected and what came', () => {
    expectThrows(() => ClusteredMatrix.fromArrays(codes, codebooks, 3, 4, { bits: 9 }), RangeError, /ClusteredMatrix.fromArrays: expected options.bits/);
    expectThrows(() => ClusteredMatrix.fromArrays(codes, codebooks, 3, 4, { bits: 4, groupRows: 0 }), RangeError, /expected options.groupRows/);
    expectThrows(() => ClusteredMatrix.fromArrays(codes, codebooks, 3, 4, { bits: 3 }), RangeError, /expected codebooks: Float32Array of length 8/);
    expectThrows(() => ClusteredMatrix.fromArrays(Uint8Array.of(0, 1, 2, 16, 0, 0, 0, 0, 0, 0, 0, 0), codebooks, 3, 4, { bits: 4 }), RangeError, 'ClusteredMatrix.fromArrays: expected codes[3]: a code below 2^bits = 16, received number 16');
    expectThrows(() => ClusteredMatrix.fromArrays(codes, Float32Array.from(codebooks, (_, i) => (i === 5 ? NaN : 0)), 3, 4, { bits: 4 }), RangeError, /expected bytes: finite codebook values, received a non-finite one at codebook 0, entry 5/);
    const good = ClusteredMatrix.fromArrays(codes, codebooks, 3, 4, { bits: 4 });
    const bytes = good.toBytes();
    expect(bytes.length).toBe(64 + 3 * 2);
    expectThrows(() => ClusteredMatrix.fromBytes(bytes.subarray(1), 3, 4, { bits: 4 }), RangeError, /ClusteredMatrix.fromBytes: expected bytes: Uint8Array of length 70/);
    const padded = ClusteredMatrix.fromArrays(new Uint8Array(3 * 3), new Float32Array(8), 3, 3, { bits: 3 }).toBytes();
    padded[padded.length - 1] = 0x80;
    expectThrows(() => ClusteredMatrix.fromBytes(padded, 3, 3, { bits: 3 }), RangeError, /zero padding bits after each row's last index, received nonzero ones in row 2/);
    expectThrows(() => matmulClustered(new Float32Array(3), good, 1), RangeError, /matmulClustered: expected x: Float32Array of length ≥ 4 \(m·k\)/);
    expectThrows(() => matmulClustered(new Float32Array(4), {} as ClusteredMatrix, 1), TypeError, /matmulClustered: expected w: a ClusteredMatrix/);
    good.dispose();
    expectThrows(() => good.dequantize(), TypeError, /disposed/);
  });
});
