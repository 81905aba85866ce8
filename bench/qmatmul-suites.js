'use strict';
// Fused quantized matmul suites: per shape, and the cold q4_0 GEMV against a plain DRAM read.

const onnx = require('./onnx-model');
const quantPeers = require('./quant-peers');
const { CONFIG } = require('./config');
const { Table, formatMiB, formatOps, median, ort, ortBefore, ortOutput, ortSessionOptions, progress, restoreSparqDefaults, sparq, sparqAfter, sparqBefore, tryFirstCall, withOrtSessions } = require('./harness');
const { check, compareInts, randomBytes, randomFloats, relativeDifference, transpose } = require('./data');
const { DRAM_READ_LABEL, Q4_0_BLOCK_BYTES, QMATMUL_OTHER_FORMATS, distinctKernels, kernelRow, kernelTiersText, matMulF64, quantKernelAfter, withinLimit } = require('./quant-suites');

// ---------------------------------------------------------------------------
// Fused quantized matmul at one shape

async function qmatmulShape({ shape: [m, k, n], rows: rowSet }, tiers) {
  const shape = `${m}x${k}x${n}`;
  const opsPerCall = 2 * m * n * k;
  const threadCounts = CONFIG.quant.matmulThreads;
  const tables = threadCounts.map((t) => new Table(`qmatmul ${shape} t${t}`, `${formatOps(opsPerCall)} per call; Y = X·Wᵀ, W [${n}×${k}]`));
  const best = tiers[tiers.length - 1] ?? '';
  const allRows = rowSet === 'all';
  const wants = (label, tier) => tables.some((table) => table.wants(label, tier));
  const wantsOther = ([format, precision]) => allRows && wants(`sparq ${format} matmul ${precision}`, best);
  const candidates = [
    ['ORT MatMulNBits level 4', 'MLAS'],
    ['ORT MatMulNBits level 0', 'MLAS'],
    ...tiers.map((tier) => ['sparq q4_0 matmul int8', tier]),
    ...(allRows ? [['ORT MatMul f32', 'MLAS'], ['sparq linearInt8', best], ['sparq q4_0 matmul f32', best]] : []),
  ];
  if (!candidates.some(([label, tier]) => wants(label, tier)) && !QMATMUL_OTHER_FORMATS.some(wantsOther)) return;
  progress(`setup qmatmul ${shape}`);
  console.log(
    `\n-- qmatmul ${shape}: ${formatOps(opsPerCall)} per call, W [${n}×${k}] uniform f32 quantized` +
      (allRows ? '' : ' (q4_0 rows only at this shape in this mode)'),
  );

  const seed = m * 7919 + k * 104729 + n + 17;
  const x = randomFloats(m * k, seed, -1, 1);
  const wFloat = randomFloats(n * k, seed + 1, -1, 1);
  const out = new Float32Array(m * n);
  const matrices = {};
  if (sparq) {
    try {
      matrices.q4_0 = sparq.quantize(wFloat, n, k, 'q4_0');
      for (const spec of QMATMUL_OTHER_FORMATS.filter(wantsOther)) matrices[spec[0]] = sparq.quantize(wFloat, n, k, spec[0]);
    } catch (e) {
      console.log(`! sparq quantize at ${shape} failed: ${e.message}`);
    }
  }
  const layer = sparq && allRows && wants('sparq linearInt8', best) ? sparq.quantizeLinearInt8(wFloat, n, k) : null;
  // ORT MatMulNBits gets the very bytes sparq multiplies (quant-peers.js re-pairs the nibbles).
  progress(`ORT models for qmatmul ${shape}`);
  const q4_0Bytes = matrices.q4_0 ? matrices.q4_0.toBytes() : null;
  const models = {};
  if (ort && q4_0Bytes) {
    models.l4 = quantPeers.matMulNBitsModelFromQ4_0({ n, k, accuracyLevel: 4, q4_0Bytes });
    models.l0 = quantPeers.matMulNBitsModelFromQ4_0({ n, k, accuracyLevel: 0, q4_0Bytes });
  }
  if (ort && allRows && wants('ORT MatMul f32', 'MLAS')) models.f32 = onnx.matMulModel({ m, k, n, bKxN: transpose(wFloat, n, k) });
  const feeds = ort ? { A: new ort.Tensor('float32', x, [m, k]) } : null;

  // Checks, before any timing. The reference output is ORT MatMulNBits level 0: f32 arithmetic
  // on the same dequantized weights, so only activation rounding separates the int8 precision.
  const ortY0 = models.l0 ? await ortOutput('ORT MatMulNBits level 0', models.l0, feeds) : null;
  if (ortY0 && wants('ORT MatMulNBits level 4', 'MLAS')) {
    const ortY4 = await ortOutput('ORT MatMulNBits level 4', models.l4, feeds);
    if (ortY4) check('ORT MatMulNBits level 4 (int8 activations) vs level 0', `max|Δ|/max|y| ${relativeDifference(ortY4, ortY0, m * n).toExponential(2)}`);
  }
  const INT8_LIMIT = 2e-2;
  const F32_LIMIT = 1e-4;
  const runnable = new Set(); // `${name}/${threads}`
  const q4Kernels = matrices.q4_0
    ? distinctKernels(tiers, 'sparq q4_0 matmul int8', () => {
        const probe = sparq.quantize(randomFloats(16 * 64, 33, -1, 1), 16, 64, 'q4_0');
        sparq.matmulQuantized(randomFloats(64, 34, -1, 1), probe, 1, { precision: 'int8' });
      })
    : [];
  const firstCall = {}; // seconds of each row's first call, to spot the slow ones
  const tryTimed = async (label, fn) => {
    const started = process.hrtime.bigint();
    const made = await tryFirstCall(label, fn);
    if (made) firstCall[label] = Number(process.hrtime.bigint() - started) / 1e9;
    return made;
  };
  if (q4Kernels.length) {
    const agreement = [];
    for (const entry of q4Kernels) {
      const perThreads = [];
      let firstY = null;
      for (const threads of threadCounts) {
        sparqBefore(entry.tier, threads)();
        out.fill(0);
        const made = await tryTimed(`sparq q4_0 matmul int8 ${entry.tier} t${threads}`, () => sparq.matmulQuantized(x, matrices.q4_0, m, { out, precision: 'int8' }));
        if (!made) continue;
        runnable.add(`q4_0-int8-${entry.tier}/${threads}`);
        const parts = [];
        if (ortY0) parts.push(`vs ORT level 0 ${withinLimit(relativeDifference(out, ortY0, m * n), INT8_LIMIT)}`);
        if (firstY) parts.push(`vs t${threadCounts[0]} ${compareInts(new Int32Array(out.buffer), new Int32Array(firstY.buffer), m * n, n).text}`);
        else firstY = out.slice();
        perThreads.push(`t${threads} ${parts.join(', ') || 'ran'}`);
      }
      agreement.push(`${entry.kernel} on ${kernelTiersText(entry)}: ${perThreads.join(', ')}`);
    }
    check(`sparq q4_0 matmul int8, max|Δ|/max|y| (limit ${INT8_LIMIT})`, agreement.join('; '));
  }
  // The other rows run on the best tier. q4_0 f32 is checked against ORT level 0 on every
  // output, the rest against f64 products of their own weights on row 0 of X (expected: the
  // first n outputs).
  const exactRow0 = (weights) => {
    progress(`f64 check products for qmatmul ${shape}`);
    return matMulF64(x, weights, 1, n, k);
  };
  const otherChecks = [];
  const checkOther = async (name, label, call, expected, limit) => {
    const perThreads = [];
    for (const threads of threadCounts) {
      sparqBefore(best, threads)();
      out.fill(0);
      if (!(await tryTimed(`${label} t${threads}`, call))) continue;
      runnable.add(`${name}/${threads}`);
      perThreads.push(`t${threads} ${withinLimit(relativeDifference(out, expected, expected.length), limit)}`);
    }
    const kernel = name === 'linear' ? sparq.lastInt8GemmKernel() : sparq.lastQuantKernel();
    if (perThreads.length) otherChecks.push(`${label.replace('sparq ', '')} (${kernel}) ${perThreads.join(', ')}`);
  };
  if (matrices.q4_0 && allRows && wants('sparq q4_0 matmul f32', best)) {
    const expected = ortY0 ?? exactRow0(matrices.q4_0.dequantize());
    await checkOther('q4_0-f32', 'sparq q4_0 matmul f32', () => sparq.matmulQuantized(x, matrices.q4_0, m, { out, precision: 'f32' }), expected, F32_LIMIT);
  }
  for (const [format, precision] of QMATMUL_OTHER_FORMATS) {
    if (!matrices[format]) continue;
    const limit = precision === 'int8' ? INT8_LIMIT : F32_LIMIT;
    const call = () => sparq.matmulQuantized(x, matrices[format], m, { out, precision });
    await checkOther(`${format}-${precision}`, `sparq ${format} matmul ${precision}`, call, exactRow0(matrices[format].dequantize()), limit);
  }
  if (layer) await checkOther('linear', 'sparq linearInt8', () => sparq.linearInt8(x, layer, m, { out }), exactRow0(wFloat), INT8_LIMIT);
  if (otherChecks.length) {
    check(`sparq on ${best}: q4_0 f32 vs ORT level 0; others vs f64 on row 0; max|Δ|/max|y|`, otherChecks.join('; '));
  }

  // Rows whose first call took over 0.3 s (a tier still on the scalar kernel, say) take fewer samples.
  const slowness = (label) =>
    firstCall[label] > 0.3 ? { bench: { minSamples: 2 }, note: `slow call (${firstCall[label].toFixed(1)} s): 2 samples at least` } : {};
  const gemv = m === 1; // memory-bound: the weight bytes per second say more than GOP/s
  for (const threads of threadCounts) {
    const table = tables[threadCounts.indexOf(threads)];
    const key = (name) => `qmm/${shape}/${threads}/${name}`;
    const ortRows = [
      ['l4', 'ORT MatMulNBits level 4', 'q4_0 bytes; int8 activations'],
      ['l0', 'ORT MatMulNBits level 0', 'q4_0 bytes; f32 activations'],
      ['f32', 'ORT MatMul f32', 'f32 weights, for context'],
    ];
    for (const [name, label, note] of ortRows) {
      if (!models[name] || !table.wants(label, 'MLAS')) continue;
      await withOrtSessions(`${label} t${threads}`, [models[name]], ortSessionOptions(threads), ([session]) =>
        table.run([
          {
            key: key(`ort-${name}`),
            label,
            tier: 'MLAS',
            threads,
            async: true,
            fn: () => session.run(feeds),
            before: ortBefore,
            opsPerCall,
            unit: 'GOP/s',
            ortKey: name === 'l4' ? undefined : key('ort-l4'),
            note,
          },
        ]),
      );
    }
    const weightBytes = (matrix) => (gemv ? { bytesPerCall: matrix.byteLength, bytesWhat: 'weights' } : {});
    const sparqRows = [];
    for (const entry of q4Kernels) {
      const label = `sparq q4_0 matmul int8 ${entry.tier} t${threads}`;
      if (!runnable.has(`q4_0-int8-${entry.tier}/${threads}`)) continue;
      const row = kernelRow(entry, (tier) => key(`sparq-q4_0-int8-${tier}`));
      const slow = slowness(label);
      sparqRows.push({
        ...row,
        ...slow,
        note: [row.note, slow.note].filter(Boolean).join('; '),
        label: 'sparq q4_0 matmul int8',
        threads,
        fn: () => sparq.matmulQuantized(x, matrices.q4_0, m, { out, precision: 'int8' }),
        before: sparqBefore(entry.tier, threads),
        opsPerCall,
        unit: 'GOP/s',
        ...weightBytes(matrices.q4_0),
        ortKey: key('ort-l4'),
      });
    }
    const bestRow = (name, label, fn, matrix) => {
      if (!runnable.has(`${name}/${threads}`)) return;
      sparqRows.push({
        key: key(`sparq-${name}`),
        label,
        tier: best,
        threads,
        fn,
        before: sparqBefore(best, threads),
        after: name === 'linear' ? sparqAfter() : quantKernelAfter,
        opsPerCall,
        unit: 'GOP/s',
        ...(matrix ? weightBytes(matrix) : {}),
        ortKey: key('ort-l4'),
        ...slowness(`${label} t${threads}`),
      });
    };
    bestRow('q4_0-f32', 'sparq q4_0 matmul f32', () => sparq.matmulQuantized(x, matrices.q4_0, m, { out, precision: 'f32' }), matrices.q4_0);
    for (const [format, precision] of QMATMUL_OTHER_FORMATS) {
      if (!matrices[format]) continue;
      bestRow(`${format}-${precision}`, `sparq ${format} matmul ${precision}`, () => sparq.matmulQuantized(x, matrices[format], m, { out, precision }), matrices[format]);
    }
    if (layer) {
      bestRow('linear', 'sparq linearInt8', () => sparq.linearInt8(x, layer, m, { out }), null);
      const last = sparqRows[sparqRows.length - 1];
      if (last && last.key === key('sparq-linear')) {
        last.note = ['int8 weights per row (quantizeLinearInt8), for context', last.note].filter(Boolean).join('; ');
        if (gemv) Object.assign(last, { bytesPerCall: n * k, bytesWhat: 'int8 weights' });
      }
    }
    await table.run(sparqRows);
  }
  restoreSparqDefaults();
}

// ---------------------------------------------------------------------------
// Cold q4_0 GEMV: m = 1, 4096×4096, a different matrix each call, against a plain DRAM read

/** Random q4_0 blocks into `bytes`: random codes; each f16 scale gets exponent 5 (|d| in [2⁻¹⁰, 2⁻⁹)), random sign and mantissa. */
function fillRandomQ4_0(bytes, seed) {
  bytes.set(randomBytes(Uint8Array, bytes.length, seed));
  // Byte 1 of a block is the scale's high byte: sign (bit 7), exponent (bits 6…2), mantissa bits 9…8 (bits 1…0).
  for (let at = 0; at < bytes.length; at += Q4_0_BLOCK_BYTES) bytes[at + 1] = (bytes[at + 1] & 0x83) | (5 << 2);
}

async function qcoldGemv(tiers) {
  const k = 4096;
  const n = 4096;
  const matrixBytes = (n * k * Q4_0_BLOCK_BYTES) / 32;
  const count = Math.ceil(CONFIG.quant.coldBytes / matrixBytes);
  const threadCounts = CONFIG.quant.coldThreads;
  const tables = threadCounts.map(
    (t) => new Table(`qcold-gemv 1x${k}x${n} t${t}`, `q4_0, ${count} matrices, ${formatMiB(count * matrixBytes)} rotated; rate = weight bytes / median time`),
  );
  const candidates = [[DRAM_READ_LABEL, 'wasm'], ['ORT MatMulNBits level 4', 'MLAS'], ...tiers.map((tier) => ['sparq q4_0 matmul int8', tier])];
  if (!tables.some((table) => candidates.some(([label, tier]) => table.wants(label, tier)))) return;
  progress('setup qcold-gemv');
  console.log(
    `\n-- qcold-gemv 1x${k}x${n}: each call reads the next of ${count} q4_0 matrices (${formatMiB(count * matrixBytes)}, ${formatMiB(matrixBytes)} each);` +
      ` the DRAM read sums the same bytes, ${formatMiB(matrixBytes)} per call`,
  );

  // One buffer holds every matrix back to back: the DRAM read sums it in place, sparq copies
  // each matrix into its own QuantizedMatrix, ORT gets MatMulNBits models of the same bytes.
  let memory = null;
  let bytes = null;
  try {
    ({ memory, bytes } = quantPeers.readableMemory(count * matrixBytes));
  } catch (e) {
    console.log(`! ${DRAM_READ_LABEL}: ${e.message}; row left out`);
    bytes = new Uint8Array(count * matrixBytes);
  }
  const regions = Array.from({ length: count }, (_, i) => bytes.subarray(i * matrixBytes, (i + 1) * matrixBytes));
  regions.forEach((region, i) => fillRandomQ4_0(region, 3000 + i));
  // fromBytes copies; it takes no view of shared memory, so it gets a plain copy of each region.
  const matrices = sparq ? regions.map((region) => sparq.QuantizedMatrix.fromBytes('q4_0', n, k, region.slice())) : [];
  const wantsOrt = tables.some((table) => table.wants('ORT MatMulNBits level 4', 'MLAS'));
  progress('ORT models for qcold-gemv');
  const models = ort && wantsOrt ? regions.map((region) => quantPeers.matMulNBitsModelFromQ4_0({ n, k, accuracyLevel: 4, q4_0Bytes: region })) : [];
  const x = randomFloats(k, 19, -1, 1);
  const out = new Float32Array(n);
  const feeds = ort ? { A: new ort.Tensor('float32', x, [1, k]) } : null;

  // Checks: the read against a JS sum; sparq against ORT on matrix 0 (both quantize x to int8
  // per block of 32, with different rounding).
  if (memory) {
    const readThreads = Math.max(...threadCounts);
    const length = 2 ** 20;
    const made = await tryFirstCall(DRAM_READ_LABEL, async () => {
      const reader = await quantPeers.MemoryReader.open(memory, readThreads);
      try {
        return reader.read(matrixBytes - length, length) === quantPeers.sumWordsJs(bytes, matrixBytes - length, length);
      } finally {
        await reader.close();
      }
    });
    if (made) check(`${DRAM_READ_LABEL} vs JS sum (last MiB of matrix 0, ${readThreads} thread${readThreads > 1 ? 's' : ''})`, made.value ? 'exact' : 'DIFFERENT');
    if (!made || !made.value) memory = null; // no row for a read that is wrong or does not run
  }
  const ortY = models.length ? await ortOutput('ORT MatMulNBits level 4 (cold, matrix 0)', models[0], feeds) : null;
  const kernels = matrices.length
    ? distinctKernels(tiers, 'sparq q4_0 matmul int8', () => sparq.matmulQuantized(x.subarray(0, 64), sparq.quantize(randomFloats(16 * 64, 35, -1, 1), 16, 64, 'q4_0'), 1, { precision: 'int8' }))
    : [];
  const runnable = [];
  const agreement = [];
  for (const entry of kernels) {
    sparqBefore(entry.tier, 1)();
    if (!(await tryFirstCall(`sparq q4_0 matmul int8 ${entry.tier} (cold)`, () => sparq.matmulQuantized(x, matrices[0], 1, { out, precision: 'int8' })))) continue;
    runnable.push(entry);
    if (ortY) agreement.push(`${entry.kernel} on ${kernelTiersText(entry)} ${withinLimit(relativeDifference(out, ortY, n), 2e-2)}`);
  }
  if (agreement.length) check('sparq q4_0 matmul int8 vs ORT MatMulNBits level 4 on matrix 0, max|Δ|/max|y|', agreement.join('; '));

  for (const [blockIndex, threads] of threadCounts.entries()) {
    const table = tables[blockIndex];
    const key = (name) => `qcold/${threads}/${name}`;
    if (memory && table.wants(DRAM_READ_LABEL, 'wasm')) {
      const opened = await tryFirstCall(`${DRAM_READ_LABEL} t${threads}`, () => quantPeers.MemoryReader.open(memory, threads));
      if (opened) {
        const reader = opened.value;
        let next = 0;
        try {
          await table.run([
            {
              key: key('dram'),
              label: DRAM_READ_LABEL,
              tier: 'wasm',
              threads,
              fn: () => reader.read((next++ % count) * matrixBytes, matrixBytes),
              before: ortBefore,
              bytesPerCall: matrixBytes,
              unit: 'GB/s',
              note: threads > 1 ? `${threads} threads (${threads - 1} worker${threads > 2 ? 's' : ''}), 256 KiB chunks` : 'plain loads, no compute',
            },
          ]);
        } finally {
          await reader.close();
        }
      }
    }
    if (models.length && ortY && table.wants('ORT MatMulNBits level 4', 'MLAS')) {
      // One session per matrix; at T > 1 their idle pools would spin (see the int8 cold GEMV).
      const options = ortSessionOptions(threads, { spinning: threads === 1 });
      let next = 0;
      await withOrtSessions(`ORT qcold sessions t${threads}`, models, options, (sessions) =>
        table.run([
          {
            key: key('ort-l4'),
            label: 'ORT MatMulNBits level 4',
            tier: 'MLAS',
            threads,
            async: true,
            fn: () => sessions[next++ % count].run(feeds),
            before: ortBefore,
            bytesPerCall: matrixBytes,
            unit: 'GB/s',
            shareOf: { key: key('dram'), what: 'DRAM read' },
            note: threads > 1 ? `${count} sessions, intra-op spinning off` : `${count} sessions`,
          },
        ]),
      );
    }
    let next = 0;
    await table.run(
      runnable.map((entry) => {
        const row = kernelRow(entry, (tier) => key(`sparq-${tier}`));
        return {
          ...row,
          label: 'sparq q4_0 matmul int8',
          threads,
          fn: () => sparq.matmulQuantized(x, matrices[next++ % count], 1, { out, precision: 'int8' }),
          before: sparqBefore(entry.tier, threads),
          bytesPerCall: matrixBytes,
          unit: 'GB/s',
          ortKey: key('ort-l4'),
          shareOf: { key: key('dram'), what: 'DRAM read' },
        };
      }),
    );
  }
  restoreSparqDefaults();
}

module.exports = { qcoldGemv, qmatmulShape };
