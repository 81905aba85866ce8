/**
 * `sparq info` (what this CPU and build offer, the tier in use) and `sparq bench` (a short table of
 * int8 GEMM and f32 GEMM throughput against the TypeScript reference, and a pruned layer run sparse
 * against sparq's own dense product). The full benchmarks with peers are `npm run bench`.
 */
import {
  cpuInfo,
  CsrMatrix,
  gemmU8S8,
  isa,
  lastF32GemmKernel,
  lastInt8GemmKernel,
  lastSparseKernel,
  linearF32,
  linearSparse,
  packF32,
  packInt8,
  threads,
} from '../index';
import * as reference from '../reference/index';

const SHAPES: Array<[m: number, k: number, n: number]> = [
  [1, 4096, 4096],
  [16, 1024, 1024],
  [128, 512, 512],
  [256, 1024, 1024],
];

function randomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}

/** Median seconds per call of fn, sampled for about `budget` seconds. */
function time(fn: () => void, budget: number): number {
  fn();
  const samples: number[] = [];
  const end = performance.now() + budget * 1000;
  while (performance.now() < end || samples.length < 3) {
    const t0 = performance.now();
    fn();
    samples.push((performance.now() - t0) / 1000);
  }
  samples.sort((x, y) => x - y);
  return samples[samples.length >> 1]!;
}

function randomFloats(length: number, seed: number): Float32Array {
  const bytes = randomBytes(length, seed);
  return Float32Array.from(bytes, (b) => (b - 127.5) / 64);
}

/** f32 GEMM against the reference, then a 90%-pruned layer: sparse against sparq's own dense product. */
function f32Table(): void {
  console.log('f32 GEMM, Y[m×n] = X[m×k]·Wᵀ (linearF32, packed W), median of samples:');
  console.log(`  ${'m×k×n'.padEnd(16)}${'sparq GFLOP/s'.padStart(14)}${'reference'.padStart(12)}${'ratio'.padStart(10)}  kernel`);
  for (const [m, k, n] of [
    [1, 4096, 4096],
    [128, 1024, 1024],
  ] as const) {
    const x = randomFloats(m * k, m + 3);
    const weights = randomFloats(n * k, n + 5);
    const w = packF32(weights, n, k);
    const out = new Float32Array(m * n);
    const sparq = (2 * m * n * k) / time(() => linearF32(x, w, m, { out }), 0.25) / 1e9;
    const kernel = lastF32GemmKernel() ?? '?';
    const ref = (2 * 16 * k) / time(() => reference.linearF32(x.subarray(0, k), weights.subarray(0, 16 * k), 1, 16, k), 0.25) / 1e9;
    console.log(`  ${`${m}×${k}×${n}`.padEnd(16)}${sparq.toFixed(1).padStart(14)}${ref.toFixed(2).padStart(12)}${(sparq / ref).toFixed(0).padStart(9)}×  ${kernel}`);
  }
  const [m, k, n] = [8, 4096, 4096];
  const weights = randomFloats(n * k, 11);
  const x = randomFloats(m * k, 13);
  const pruned = CsrMatrix.fromDense(weights, n, k, { threshold: 1.8 }); // |w| > 1.8 of uniform ±2: about 10% kept
  const dense = packF32(weights, n, k);
  const out = new Float32Array(m * n);
  const tDense = time(() => linearF32(x, dense, m, { out }), 0.25);
  const tSparse = time(() => linearSparse(x, pruned, m, { out }), 0.25);
  console.log('');
  console.log(`pruned linear layer ${m}×${k}×${n}, ${(100 * (1 - pruned.density)).toFixed(1)}% zeros (CSR, ${(pruned.byteLength / 2 ** 20).toFixed(1)} MiB):`);
  console.log(`  dense linearF32 ${(tDense * 1e3).toFixed(2)} ms, linearSparse ${(tSparse * 1e3).toFixed(2)} ms: ×${(tDense / tSparse).toFixed(1)}  ${lastSparseKernel() ?? '?'}`);
}

/** The CPU and build report. */
export function printInfo(): void {
  const info = cpuInfo();
  console.log(`sparq on ${process.platform}-${info.arch}, Node ${process.version}`);
  console.log(`  CPU features: ${info.features.join(' ') || '(none detected)'}`);
  console.log(`  tiers built:  ${info.built.join(' ')}`);
  console.log(`  supported:    ${info.supported.join(' ')}`);
  console.log(`  in use:       ${isa()}  (threads: ${threads()})`);
}

/** The info report, then the kernel tables. */
export function printKernelTables(): void {
  printInfo();
  console.log('');
  console.log('int8 GEMM, C[m×n] = A[m×k]·Bᵀ (u8 × s8 → s32), median of samples:');
  console.log(`  ${'m×k×n'.padEnd(16)}${'sparq GOP/s'.padStart(12)}${'reference'.padStart(12)}${'ratio'.padStart(10)}  kernel`);
  for (const [m, k, n] of SHAPES) {
    const a = randomBytes(m * k, m + k);
    const b = new Int8Array(randomBytes(n * k, n * 7 + k).buffer);
    const w = packInt8(b, n, k);
    const out = new Int32Array(m * n);
    const ops = 2 * m * n * k;
    const sparq = ops / time(() => gemmU8S8(a, w, m, { out }), 0.25) / 1e9;
    const kernel = lastInt8GemmKernel() ?? '?';
    // The reference is slow: time one row of A and scale (its cost is linear in m).
    const row = a.subarray(0, k);
    const ref = (2 * n * k) / time(() => reference.gemmU8S8(row, b, 1, n, k), 0.25) / 1e9;
    const shape = `${m}×${k}×${n}`;
    console.log(
      `  ${shape.padEnd(16)}${sparq.toFixed(1).padStart(12)}${ref.toFixed(2).padStart(12)}${(sparq / ref).toFixed(0).padStart(9)}×  ${kernel}`,
    );
  }
  console.log('');
  f32Table();
  console.log('');
  console.log('Force a tier with SPARQ_ISA=<tier> or --isa <tier>; full benchmarks with peers: npm run bench.');
}
