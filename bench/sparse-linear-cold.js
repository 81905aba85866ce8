'use strict';
// linearSparse against linearF32 and ORT Gemm; cold SpMV against a plain DRAM read.

const peers = require('./sparse-peers');
const { MiB, SIZE, afterWith, buildSparse, currentDenseWeight, distinctKernels, ensureDenseWeight, firstLine, kernelFields, matrixSeed, pct, referenceRows, rowsWithin, state, withinBound } = require('./sparse-common');

// ---------------------------------------------------------------------------
// linearSparse: Y[m×N] = X[m×K]·Wᵀ + b with W a CSR [N×K], against the dense layer

const LINEAR_VARIANTS = [
  ['f32-u32', 'f32 u32'],
  ['f32-u16', 'f32 u16'],
  ['int8-u16', 'int8 u16'],
];

async function sparseLinear() {
  const L = state.CONFIG.linear;
  const { sparq, reference, ort, Table } = state.ctx;
  const best = state.ctx.best;
  const tableOf = new Map();
  for (const m of L.ms) for (const t of L.threads) tableOf.set(`${m}/${t}`, new Table(`sparse-linear ${m}x${SIZE}x${SIZE} t${t}`, `Y = X·Wᵀ + b, W [${SIZE}×${SIZE}] random pattern`));
  const label = (sparsity, what) => `sparq linearSparse ${pct(sparsity)} ${what}`;
  const candidates = [
    ['ORT Gemm f32 + bias', 'MLAS'],
    ['sparq linearF32 + bias', best],
    ...L.sparsities.flatMap((s) => LINEAR_VARIANTS.map(([, what]) => [label(s, what), best])),
  ];
  if (![...tableOf.values()].some((table) => candidates.some(([l, tier]) => table.wants(l, tier)))) return;
  state.ctx.progress('setup sparse-linear');
  console.log(`\n-- sparse-linear: m ${L.ms.join(', ')}, W [${SIZE}×${SIZE}] at ${L.sparsities.map(pct).join(', ')} (random), with bias`);

  const bias = peers.uniformFloats(SIZE, 61, -0.5, 0.5);
  const layers = [];
  for (const sparsity of L.sparsities) {
    const { csr, matrices } = buildSparse(sparsity, 'random', LINEAR_VARIANTS.map(([variant]) => variant));
    if (!currentDenseWeight()) ensureDenseWeight(csr);
    layers.push({ sparsity, nnz: csr.nnz, matrices });
  }
  const weight = currentDenseWeight();

  for (const m of L.ms) {
    const x = peers.uniformFloats(m * SIZE, 62 + m);
    const out = new Float32Array(m * SIZE);
    const denseOps = 2 * m * SIZE * SIZE;
    // Checks: each storage against the TS reference on the first W rows (outputs Y[:, :R]).
    const runnable = new Set();
    if (sparq && reference) {
      const parts = [];
      for (const { sparsity, matrices } of layers) {
        for (const [variant] of LINEAR_VARIANTS) {
          const matrix = matrices[variant];
          if (!matrix) continue;
          state.ctx.sparqBefore(best, 1)();
          const made = await state.ctx.tryFirstCall(`sparq linearSparse ${pct(sparsity)} ${variant}`, () => sparq.linearSparse(x, matrix, m, { bias, out }));
          if (!made) continue;
          runnable.add(`${sparsity}/${variant}`);
          const arrays = matrix.toArrays();
          const rows = rowsWithin(arrays.indptr, SIZE, m, 2 ** 21);
          const w = referenceRows(arrays, SIZE, rows);
          const yRef = reference.linearSparse(x, w, m, bias.subarray(0, rows));
          const bound = reference.linearSparseTolerance(x, w, m, bias.subarray(0, rows));
          const corner = new Float32Array(m * rows);
          for (let i = 0; i < m; i++) corner.set(out.subarray(i * SIZE, i * SIZE + rows), i * rows);
          parts.push(`${pct(sparsity)} ${sparq.lastSparseKernel()} ${withinBound(corner, yRef, bound, m * rows, rows)}`);
        }
      }
      if (parts.length) state.ctx.check(`sparq linearSparse m=${m} vs TS reference (first W rows, §3 bound)`, parts.join('; '));
    }
    const model = ort && weight.denseT ? peers.gemmModel({ m, k: SIZE, n: SIZE, bKxN: weight.denseT, bias }) : null;
    const feeds = ort ? { A: new ort.Tensor('float32', x, [m, SIZE]) } : null;

    for (const threads of L.threads) {
      const table = tableOf.get(`${m}/${threads}`);
      const key = (name) => `sl/m${m}/t${threads}/${name}`;
      if (model && table.wants('ORT Gemm f32 + bias', 'MLAS')) {
        await state.ctx.withOrtSessions(`ORT Gemm m${m} t${threads}`, [model], state.ctx.ortSessionOptions(threads), ([session]) =>
          table.run([
            {
              key: key('ort'),
              label: 'ORT Gemm f32 + bias',
              tier: 'MLAS',
              threads,
              async: true,
              fn: () => session.run(feeds),
              before: state.ctx.ortBefore,
              opsPerCall: denseOps,
              unit: 'GOP/s',
              note: 'dense W an initializer',
              bench: L.bench,
            },
          ]),
        );
      }
      const rows = [];
      if (sparq && weight.packed) {
        state.ctx.sparqBefore(best, threads)();
        if (await state.ctx.tryFirstCall(`sparq linearF32 + bias m${m} t${threads}`, () => sparq.linearF32(x, weight.packed, m, { bias, out }))) {
          rows.push({
            key: key('dense'),
            label: 'sparq linearF32 + bias',
            tier: best,
            threads,
            fn: () => sparq.linearF32(x, weight.packed, m, { bias, out }),
            before: state.ctx.sparqBefore(best, threads),
            after: afterWith({ lastKernel: sparq.lastF32GemmKernel, fixedNote: 'dense W packed once' }),
            opsPerCall: denseOps,
            unit: 'GOP/s',
            ortKey: key('ort'),
            bench: L.bench,
          });
        }
      }
      for (const { sparsity, nnz, matrices } of layers) {
        for (const [variant, what] of LINEAR_VARIANTS) {
          if (!runnable.has(`${sparsity}/${variant}`)) continue;
          rows.push({
            key: key(`${pct(sparsity)}-${variant}`),
            label: label(sparsity, what),
            tier: best,
            threads,
            fn: () => sparq.linearSparse(x, matrices[variant], m, { bias, out }),
            before: state.ctx.sparqBefore(best, threads),
            after: afterWith({ lastKernel: sparq.lastSparseKernel, effectiveOps: 2 * m * nnz, ratios: [[key('dense'), 'own dense']] }),
            opsPerCall: denseOps,
            unit: 'GOP/s',
            ortKey: key('ort'),
            bench: L.bench,
          });
        }
      }
      await table.run(rows);
    }
  }
  state.ctx.restoreSparqDefaults();
}

// ---------------------------------------------------------------------------
// Cold spmv: each call on the next of enough distinct matrices to total ≥ state.CONFIG.cold.bytes

const DRAM_READ = 'DRAM read (wasm i64x2 sum)';

async function coldSpmv(tiers) {
  const C = state.CONFIG.cold;
  const { sparq, reference, Table } = state.ctx;
  const quantPeers = state.ctx.quantPeers;
  const widths = [
    ['u32', 32],
    ['u16', 16],
  ];
  const tables = C.threads.map((t) => new Table(`cold-spmv ${SIZE}x${SIZE} ${pct(C.sparsity)} t${t}`, `rate = bytes read (indptr + indices + values + x + y) / median time`));
  const candidates = [
    ...widths.map(([w]) => [`${DRAM_READ} ${w} bytes`, 'wasm']),
    ...widths.map(([w]) => [`sparq spmv f32 ${w}`, tiers.join(' ')]),
    ['JS CSR loop', 'js'],
  ];
  if (!tables.some((table) => candidates.some(([label, tier]) => table.wants(label, tier)))) return;
  state.ctx.progress('setup cold-spmv');

  // Every matrix has the same nnz; its bytes follow from the storage.
  const nnz = Math.round((1 - C.sparsity) * SIZE * SIZE);
  const bytesOf = (bits) => 4 * (SIZE + 1) + nnz * (bits / 8 + 4) + 4 * SIZE + 4 * SIZE;
  const countOf = (bits) => Math.ceil(C.bytes / bytesOf(bits));
  const count = Math.max(...widths.map(([, bits]) => countOf(bits)));
  console.log(
    `\n-- cold-spmv ${pct(C.sparsity)}: ` +
      widths.map(([w, bits]) => `${w} ${countOf(bits)} matrices × ${(bytesOf(bits) / MiB).toFixed(1)} MiB = ${((countOf(bits) * bytesOf(bits)) / MiB).toFixed(0)} MiB`).join('; '),
  );
  const sets = { u32: [], u16: [] };
  const jsSet = [];
  const wantsJs = tables[0].wants('JS CSR loop', 'js');
  for (let i = 0; i < count; i++) {
    state.ctx.progress(`cold-spmv matrix ${i}`);
    const csr = peers.randomCsr({ rows: SIZE, cols: SIZE, sparsity: C.sparsity, pattern: 'random', seed: matrixSeed(C.sparsity, 'random', i + 1) });
    if (i < countOf(32) && wantsJs) jsSet.push(csr);
    if (!sparq) continue;
    try {
      if (i < countOf(32)) sets.u32.push(sparq.CsrMatrix.fromArrays(SIZE, SIZE, csr.indptr, csr.indices, csr.values));
      if (i < countOf(16)) sets.u16.push(sparq.CsrMatrix.fromArrays(SIZE, SIZE, csr.indptr, csr.indices, csr.values, { indexBits: 16 }));
    } catch (e) {
      console.log(`  skip   sparq cold matrices: ${firstLine(e)}`);
      sets.u32 = [];
      sets.u16 = [];
      break;
    }
  }
  for (const [w, bits] of widths) {
    const matrix = sets[w][0];
    if (matrix && matrix.byteLength + 8 * SIZE !== bytesOf(bits)) {
      console.log(`  note   ${w}: CsrMatrix.byteLength ${matrix.byteLength} + x + y = ${matrix.byteLength + 8 * SIZE} bytes, expected ${bytesOf(bits)}; rates use byteLength`);
    }
  }
  const bytesPerCall = (w, bits) => (sets[w][0] ? sets[w][0].byteLength + 8 * SIZE : bytesOf(bits));

  // The DRAM read sums the same number of bytes per call, from the next region each call.
  const region = (w, bits) => Math.ceil(bytesPerCall(w, bits) / 64) * 64;
  let memory = null;
  const wantsDram = tables.some((table) => widths.some(([w]) => table.wants(`${DRAM_READ} ${w} bytes`, 'wasm')));
  if (wantsDram) {
    try {
      const total = Math.max(...widths.map(([w, bits]) => countOf(bits) * region(w, bits)));
      const made = quantPeers.readableMemory(total);
      const words = new Uint32Array(made.memory.buffer, 0, total / 4);
      const next = peers.xorshift32(4242);
      for (let i = 0; i < words.length; i++) words[i] = next();
      memory = made.memory;
      const length = MiB;
      const reader = await quantPeers.MemoryReader.open(memory, 1);
      const same = reader.read(0, length) === quantPeers.sumWordsJs(made.bytes, 0, length);
      await reader.close();
      state.ctx.check(`${DRAM_READ} vs JS sum (first MiB)`, same ? 'exact' : 'DIFFERENT');
      if (!same) memory = null;
    } catch (e) {
      console.log(`! ${DRAM_READ}: ${firstLine(e)}; rows left out`);
      memory = null;
    }
  }

  // Checks: each kernel on matrix 0 against the TS reference, within the §3 bound.
  const x = peers.uniformFloats(SIZE, 63);
  const out = new Float32Array(SIZE);
  const kernelsOf = {};
  const probe = sparq && sets.u32.length ? sparq.CsrMatrix.fromArrays(2, 2, Int32Array.of(0, 1, 2), Int32Array.of(0, 1), Float32Array.of(1, 2)) : null;
  for (const [w, bits] of widths) {
    if (!probe || !sets[w].length) {
      kernelsOf[w] = [];
      continue;
    }
    const small = probe.withIndexBits(bits);
    kernelsOf[w] = distinctKernels(tiers, `sparq spmv f32 ${w}`, () => sparq.spmv(small, new Float32Array(2)), sparq.lastSparseKernel);
    if (reference) {
      const arrays = sets[w][0].toArrays();
      const a = { rows: SIZE, cols: SIZE, ...arrays };
      const yRef = reference.spmv(a, x);
      const bound = reference.spmvTolerance(a, x);
      const parts = [];
      for (const entry of kernelsOf[w]) {
        state.ctx.sparqBefore(entry.tier, 1)();
        sparq.spmv(sets[w][0], x, { out });
        parts.push(`${sparq.lastSparseKernel()} ${withinBound(out, yRef, bound, SIZE, 1)}`);
      }
      state.ctx.check(`sparq spmv f32 ${w} on cold matrix 0 vs TS reference (§3 bound)`, parts.join('; '));
    }
  }

  for (const [blockIndex, threads] of C.threads.entries()) {
    const table = tables[blockIndex];
    const key = (name) => `csp/t${threads}/${name}`;
    let reader = null;
    if (memory && widths.some(([w]) => table.wants(`${DRAM_READ} ${w} bytes`, 'wasm'))) {
      const opened = await state.ctx.tryFirstCall(`${DRAM_READ} t${threads}`, () => quantPeers.MemoryReader.open(memory, threads));
      reader = opened ? opened.value : null;
    }
    try {
      for (const [w, bits] of widths) {
        const perCall = bytesPerCall(w, bits);
        const rows = [];
        if (reader) {
          let next = 0;
          const size = region(w, bits);
          const matrices = countOf(bits);
          rows.push({
            key: key(`dram-${w}`),
            label: `${DRAM_READ} ${w} bytes`,
            tier: 'wasm',
            threads,
            fn: () => reader.read((next++ % matrices) * size, size),
            before: state.ctx.ortBefore,
            bytesPerCall: size,
            unit: 'GB/s',
            note: `${matrices} regions of ${(size / MiB).toFixed(1)} MiB, as the ${w} rows rotate`,
            bench: C.bench,
          });
        }
        let next = 0;
        const set = sets[w];
        for (const entry of kernelsOf[w] ?? []) {
          const fields = kernelFields(entry, (tier) => key(`${w}-${tier}`), sparq.lastSparseKernel);
          rows.push({
            ...fields,
            label: `sparq spmv f32 ${w}`,
            threads,
            fn: () => sparq.spmv(set[next++ % set.length], x, { out }),
            before: state.ctx.sparqBefore(entry.tier, threads),
            after: afterWith({ lastKernel: sparq.lastSparseKernel, fixedNote: [`${set.length} matrices`, fields.kernelNote].filter(Boolean).join('; ') }),
            bytesPerCall: perCall,
            unit: 'GB/s',
            shareOf: { key: key(`dram-${w}`), what: 'DRAM read' },
            bench: C.bench,
          });
        }
        if (w === 'u32' && blockIndex === 0 && jsSet.length) {
          let nextJs = 0;
          const y = new Float32Array(SIZE);
          rows.push({
            key: key('js'),
            label: 'JS CSR loop',
            tier: 'js',
            threads: 1,
            fn: () => {
              const a = jsSet[nextJs++ % jsSet.length];
              peers.jsSpmv(a.indptr, a.indices, a.values, SIZE, x, y);
            },
            before: state.ctx.ortBefore,
            bytesPerCall: perCall,
            unit: 'GB/s',
            shareOf: { key: key('dram-u32'), what: 'DRAM read' },
            note: `${jsSet.length} matrices (Int32Array indices, Float32Array values)`,
            bench: C.bench,
          });
        }
        await table.run(rows);
      }
    } finally {
      if (reader) await reader.close();
    }
  }
  state.ctx.restoreSparqDefaults();
}

module.exports = { coldSpmv, sparseLinear };
