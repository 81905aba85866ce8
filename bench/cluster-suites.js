'use strict';
// Clustered weights (b-bit indices into codebooks) on the lookup-table kernel:
//
//   cluster cold-gemv b<bits> t<threads>  y = x·Wᵀ at 1×4096×4096, each call on the next of enough
//                                         matrices that none is in cache; rate = index bytes /
//                                         median time, against a plain DRAM read (WebAssembly
//                                         SIMD, memory-read.js) of the same bytes in the same run
//   cluster <n>x<k> m<m>                  USE-lite's shapes, one thread: clustered 4-bit per tensor
//                                         and per row, against nf4 (f32 precision), q4_0 and q4_1
//                                         (int8 precision) and dense f32 — the fixed 4-bit codebooks
//                                         at equal bits — as median µs of interleaved rounds
//
// Rows run on the default tier; the tier is printed.

const { MemoryReader, readableMemory } = require('./memory-read');

const { median, microseconds } = require('./interleaved');
const { uniformFloats, xorshift32 } = require('./sparse-peers');

const uniform = (count, seed) => uniformFloats(count, seed, -0.5, 0.5);

function fillBytes(bytes, seed) {
  const next = xorshift32(seed);
  for (let i = 0; i < bytes.length; i++) bytes[i] = next() >>> 24;
}

async function coldGemv(ctx, bits, threadCounts) {
  const { sparq, args } = ctx;
  const [n, k] = [4096, 4096];
  const indexBytes = (n * k * bits) / 8;
  const codebookBytes = 4 * 2 ** bits;
  const count = Math.ceil((args.quick ? 96 : 160) * 2 ** 20 / indexBytes);
  const { memory, bytes } = readableMemory(count * indexBytes);
  const regions = Array.from({ length: count }, (_, i) => bytes.subarray(i * indexBytes, (i + 1) * indexBytes));
  const codebook = new Uint8Array(new Float32Array(uniform(2 ** bits, bits).sort()).buffer);
  const matrices = regions.map((region, i) => {
    fillBytes(region, 100 + i);
    const layout = new Uint8Array(codebookBytes + indexBytes);
    layout.set(codebook);
    layout.set(region, codebookBytes);
    return sparq.ClusteredMatrix.fromBytes(layout, n, k, { bits });
  });
  const x = uniform(k, 7), out = new Float32Array(n);
  const rounds = args.quick ? 3 : 7;
  for (const threads of threadCounts) {
    sparq.setThreads(threads);
    const reader = await MemoryReader.open(memory, threads);
    const samples = { read: [], lut: [] };
    try {
      for (let round = 0; round < rounds; round++) {
        let r = 0;
        samples.read.push(microseconds([() => reader.read((r++ % count) * indexBytes, indexBytes)], args.quick ? 150 : 400));
        samples.lut.push(microseconds(matrices.map((w) => () => sparq.matmulClustered(x, w, 1, { out })), args.quick ? 150 : 400));
      }
    } finally {
      await reader.close();
    }
    const read = indexBytes / median(samples.read) / 1e3, lut = indexBytes / median(samples.lut) / 1e3;
    ctx.rows.push(`  cluster cold-gemv b${bits} t${threads}`.padEnd(34) + `${sparq.isa().padEnd(12)}DRAM read ${read.toFixed(1)} GB/s   LUT GEMV ${lut.toFixed(1)} GB/s of index bytes   ×${(lut / read).toFixed(2)} of the read   (${count} matrices of ${(indexBytes / 2 ** 20).toFixed(0)} MiB, ${rounds} rounds)`);
  }
  for (const w of matrices) w.dispose();
}

function warm(ctx, n, k, m) {
  const { sparq, args } = ctx;
  const w = uniform(n * k, n + k);
  const codes = Uint8Array.from(uniform(n * k, 3), (v) => Math.floor((v + 0.5) * 16) & 15);
  const forms = [
    ['f32', sparq.Linear.fromWeights(w, n, k)],
    ['clustered 4-bit, per tensor', sparq.Linear.wrap(sparq.ClusteredMatrix.fromArrays(codes, uniform(16, 1).sort(), n, k, { bits: 4 }))],
    ['clustered 4-bit, per row', sparq.Linear.wrap(sparq.ClusteredMatrix.fromArrays(codes, uniform(16 * n, 2), n, k, { bits: 4, groupRows: 1 }))],
    ['nf4 (f32 precision)', sparq.Linear.fromWeights(w, n, k, { format: 'nf4' })],
    ['q4_0 (int8 precision)', sparq.Linear.fromWeights(w, n, k, { format: 'q4_0' })],
    ['q4_1 (int8 precision)', sparq.Linear.fromWeights(w, n, k, { format: 'q4_1' })],
  ];
  const x = uniform(m * k, 9), out = new Float32Array(m * n);
  const samples = forms.map(() => []);
  for (let round = 0; round < (args.quick ? 3 : 7); round++) {
    forms.forEach(([, layer], i) => samples[i].push(microseconds([() => layer.forward(x, m, { out })], args.quick ? 20 : 60)));
  }
  const dense = median(samples[0]);
  ctx.rows.push(`  cluster ${n}x${k} m${m}`.padEnd(34) + forms.map(([label], i) => `${label} ${median(samples[i]).toFixed(0)} µs (×${(dense / median(samples[i])).toFixed(2)})`).join(', '));
  for (const [, layer] of forms) layer.dispose();
}

async function run(ctx) {
  const { args, sparq, progress } = ctx;
  if (!sparq || typeof sparq.ClusteredMatrix !== 'function') return;
  const wanted = (label) => !args.filter || args.filter.test(label);
  const rows = [];
  const before = sparq.threads();
  try {
    for (const bits of [4, 2, 8]) {
      if (!wanted(`cluster cold-gemv b${bits}`)) continue;
      progress(`cluster cold-gemv b${bits}`);
      await coldGemv({ ...ctx, rows }, bits, args.threads ?? (args.quick ? [1] : [1, 2]));
    }
    sparq.setThreads(1);
    for (const [n, k] of [[1536, 512], [2048, 512], [512, 2048]]) {
      for (const m of [640, 1]) {
        if (!wanted(`cluster ${n}x${k} m${m}`)) continue;
        progress(`cluster ${n}x${k} m${m}`);
        warm({ ...ctx, rows }, n, k, m);
      }
    }
  } finally {
    sparq.setThreads(before);
  }
  if (!rows.length) return;
  console.log(`\n== cluster (lookup-table kernel, tier ${sparq.isa()}; medians of interleaved rounds; × = speed relative to f32 / to the DRAM read)`);
  for (const row of rows) console.log(row);
}

module.exports = { run };
