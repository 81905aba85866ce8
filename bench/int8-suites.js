'use strict';
// int8 GEMM suites: per shape and thread count, a cold GEMV from DRAM, and a tiny call.

const onnx = require('./onnx-model');
const { A_ZERO_POINT, CONFIG } = require('./config');
const { Table, formatOps, median, ort, ortBefore, ortBindingLoad, ortOutput, ortSessionOptions, progress, reference, restoreSparqDefaults, sparq, sparqAfter, sparqBefore, tryFirstCall, withOrtSessions } = require('./harness');
const { check, compareInts, jsGemmU8S8, jsRows, randomBytes, randomFloats, relativeDifference, transpose } = require('./data');

// ---------------------------------------------------------------------------
// int8 GEMM at one shape

const ORT_GEMM_OPS = [
  ['mmi', 'ORT MatMulInteger'],
  ['dqmm', 'ORT DynamicQuantizeMatMul'],
  ['f32', 'ORT MatMul f32'],
];

async function gemmShape(m, k, n, tiers) {
  const shape = `${m}x${k}x${n}`;
  const opsPerCall = 2 * m * n * k;
  const tables = CONFIG.threads.map((t) => new Table(`gemm ${shape} t${t}`, `${formatOps(opsPerCall)} per call`));
  const best = tiers[tiers.length - 1] ?? null;
  const candidates = [
    ...ORT_GEMM_OPS.map(([, label]) => [label, 'MLAS']),
    ...['TS reference gemmU8S8', 'TS reference linearInt8', 'JS triple loop'].map((label) => [label, 'js']),
    ...tiers.map((tier) => ['sparq gemmU8S8', tier]),
    ['sparq linearInt8', best ?? ''],
    ['sparq linearInt8 static', best ?? ''],
  ];
  if (!tables.some((table) => candidates.some(([label, tier]) => table.wants(label, tier)))) return;
  progress(`setup gemm ${shape}`);
  console.log(`\n-- gemm ${shape}: ${formatOps(opsPerCall)} per call`);

  // Operands. B is [n×k] (out × in) for sparq and the JS rows, transposed to [k×n] for ORT.
  const seed = m * 7919 + k * 104729 + n;
  const a = randomBytes(Uint8Array, m * k, seed);
  const b = randomBytes(Int8Array, n * k, seed + 1);
  const x = randomFloats(m * k, seed + 2, -1, 2);
  const wFloat = randomFloats(n * k, seed + 3, -1, 1);
  const bias = randomFloats(n, seed + 4, -0.5, 0.5);
  const rowsJs = jsRows(m, n, k);
  const reducedNote = rowsJs < m ? `JS rows time ${rowsJs} of ${m} rows; rate from that call` : '';
  const gemmOut = new Int32Array(m * n);
  const linearOut = new Float32Array(m * n);

  let packed = null;
  let layer = null;
  let staticLayer = null;
  let layerParts = null;
  if (sparq) {
    try {
      packed = sparq.packInt8(b, n, k);
      layer = sparq.quantizeLinearInt8(wFloat, n, k, { bias });
      layerParts = layer.toArrays();
      // The same layer with a static activation range (X is uniform in [−1, 1]): no per-row range pass.
      if (sparq.activationRange) staticLayer = sparq.quantizeLinearInt8(wFloat, n, k, { bias, activations: sparq.activationRange(-1, 1) });
    } catch (e) {
      console.log(`! sparq packing at ${shape} failed: ${e.message}`);
      packed = layer = layerParts = null;
    }
  }

  // ORT models. DynamicQuantizeMatMul gets sparq's own quantized weights and scales, so both
  // multiply the same int8 codes.
  const models = {};
  const feeds = {};
  if (ort) {
    models.mmi = onnx.matMulIntegerModel({ m, k, n, bKxN: transpose(b, n, k), aZeroPoint: 'input' });
    if (layerParts) {
      const { weight, scale } = layerParts;
      models.dqmm = onnx.dynamicQuantizeMatMulModel({ m, k, n, bKxN: transpose(weight, n, k), bScale: scale, bias });
    }
    models.f32 = onnx.matMulModel({ m, k, n, bKxN: transpose(wFloat, n, k) });
    const xTensor = new ort.Tensor('float32', x, [m, k]);
    feeds.mmi = { A: new ort.Tensor('uint8', a, [m, k]), a_zero_point: new ort.Tensor('uint8', Uint8Array.of(A_ZERO_POINT), []) };
    feeds.dqmm = { A: xTensor };
    feeds.f32 = { A: xTensor };
  }

  // Checks, before any timing.
  const ortOut = {};
  for (const [name, label] of ORT_GEMM_OPS) {
    if (models[name]) ortOut[name] = await ortOutput(label, models[name], feeds[name]);
  }
  progress(`TS reference outputs for gemm ${shape}`);
  const refGemm = reference ? reference.gemmU8S8(a.subarray(0, rowsJs * k), b, rowsJs, n, k, A_ZERO_POINT) : null;
  const refLinear =
    reference && layerParts
      ? reference.linearInt8(x.subarray(0, rowsJs * k), layerParts.weight, layerParts.scale, layerParts.bias, rowsJs, n, k)
      : null;
  const jsOut = new Int32Array(rowsJs * n);
  if (refGemm) {
    jsGemmU8S8(a, b, rowsJs, n, k, A_ZERO_POINT, jsOut);
    check(`JS triple loop vs TS reference (${rowsJs} rows)`, compareInts(jsOut, refGemm, rowsJs * n, n).text);
  }
  const gemmOptions = { aZeroPoint: A_ZERO_POINT, out: gemmOut };
  const linearOptions = { out: linearOut };
  const runnable = new Set(); // `${tier}/${threads}` pairs whose first call succeeded
  if (packed) {
    const agreement = [];
    for (const tier of tiers) {
      const perThreads = [];
      for (const threads of CONFIG.threads) {
        sparqBefore(tier, threads)();
        gemmOut.fill(0);
        if (!(await tryFirstCall(`sparq gemmU8S8 ${tier} t${threads}`, () => sparq.gemmU8S8(a, packed, m, gemmOptions)))) continue;
        runnable.add(`${tier}/${threads}`);
        const kernel = sparq.lastInt8GemmKernel ? sparq.lastInt8GemmKernel() : null;
        const versus = [];
        if (ortOut.mmi) versus.push(`ORT ${compareInts(gemmOut, ortOut.mmi, m * n, n).text}`);
        if (refGemm) versus.push(`ref ${compareInts(gemmOut, refGemm, rowsJs * n, n).text}`);
        const wrongKernel = kernel && !kernel.endsWith(`__${tier}`) ? ` (ran ${kernel}!)` : '';
        perThreads.push(`t${threads} ${versus.join(', ') || 'nothing to compare with'}${wrongKernel}`);
      }
      agreement.push(`${tier} ${perThreads.join(', ')}`);
    }
    check(`sparq gemmU8S8 vs ORT MatMulInteger (all ${m * n} int32) and TS reference (${rowsJs} rows)`, agreement.join('; '));
  }
  if (layer) {
    const perThreads = [];
    for (const threads of CONFIG.threads) {
      sparqBefore(best, threads)();
      if (!(await tryFirstCall(`sparq linearInt8 t${threads}`, () => sparq.linearInt8(x, layer, m, linearOptions)))) continue;
      runnable.add(`linear/${threads}`);
      const parts = [];
      if (ortOut.dqmm) parts.push(`vs ORT max|Δ|/max|y| ${relativeDifference(linearOut, ortOut.dqmm, m * n).toExponential(2)}`);
      if (refLinear) {
        const bits = new Int32Array(linearOut.buffer, 0, rowsJs * n);
        const refBits = new Int32Array(refLinear.buffer, 0, rowsJs * n);
        parts.push(`vs TS reference bits ${compareInts(bits, refBits, rowsJs * n, n).text}`);
      }
      perThreads.push(`t${threads} ${parts.join(', ')}`);
    }
    const why = m > 1 ? ' (activations: sparq per row, ORT per tensor)' : '';
    if (perThreads.length) check(`sparq linearInt8 ${best} vs ORT DynamicQuantizeMatMul${why}`, perThreads.join('; '));
  }

  // Timing, one table per thread count.
  const jsKey = (name) => `${shape}/js/${name}`; // single-threaded JS rows, timed once
  for (const [blockIndex, threads] of CONFIG.threads.entries()) {
    const table = tables[blockIndex];
    const key = (name) => `${shape}/${threads}/${name}`;

    if (blockIndex === 0) {
      const aRows = a.subarray(0, rowsJs * k);
      const xRows = x.subarray(0, rowsJs * k);
      const jsRowsOps = 2 * rowsJs * n * k;
      const rows = [];
      if (reference) {
        rows.push({
          key: jsKey('ref-gemm'),
          label: 'TS reference gemmU8S8',
          tier: 'js',
          threads: 1,
          fn: () => reference.gemmU8S8(aRows, b, rowsJs, n, k, A_ZERO_POINT),
          opsPerCall: jsRowsOps,
          unit: 'GOP/s',
          note: reducedNote,
        });
        if (layerParts) {
          const { weight, scale, bias: layerBias } = layerParts;
          rows.push({
            key: jsKey('ref-linear'),
            label: 'TS reference linearInt8',
            tier: 'js',
            threads: 1,
            fn: () => reference.linearInt8(xRows, weight, scale, layerBias, rowsJs, n, k),
            opsPerCall: jsRowsOps,
            unit: 'GOP/s',
            note: reducedNote,
          });
        }
      }
      rows.push({
        key: jsKey('js-loop'),
        label: 'JS triple loop',
        tier: 'js',
        threads: 1,
        fn: () => jsGemmU8S8(a, b, rowsJs, n, k, A_ZERO_POINT, jsOut),
        opsPerCall: jsRowsOps,
        unit: 'GOP/s',
        refKey: jsKey('ref-gemm'),
        note: reducedNote,
      });
      await table.run(rows);
    }

    for (const [name, label] of ORT_GEMM_OPS) {
      if (!ortOut[name] || !table.wants(label, 'MLAS')) continue;
      await withOrtSessions(`${label} t${threads}`, [models[name]], ortSessionOptions(threads), ([session]) =>
        table.run([
          {
            key: key(`ort-${name}`),
            label,
            tier: 'MLAS',
            threads,
            async: true,
            fn: () => session.run(feeds[name]),
            before: ortBefore,
            opsPerCall,
            unit: 'GOP/s',
            refKey: { mmi: jsKey('ref-gemm'), dqmm: jsKey('ref-linear') }[name],
            note: name === 'f32' ? 'float weights, for context' : '',
          },
        ]),
      );
    }

    const sparqRows = [];
    for (const tier of tiers.filter((t) => runnable.has(`${t}/${threads}`))) {
      sparqRows.push({
        key: key(`sparq-${tier}`),
        label: 'sparq gemmU8S8',
        tier,
        threads,
        fn: () => sparq.gemmU8S8(a, packed, m, gemmOptions),
        before: sparqBefore(tier, threads),
        after: sparqAfter(),
        opsPerCall,
        unit: 'GOP/s',
        refKey: jsKey('ref-gemm'),
        ortKey: key('ort-mmi'),
      });
    }
    if (runnable.has(`linear/${threads}`)) {
      sparqRows.push({
        key: key('sparq-linear'),
        label: 'sparq linearInt8',
        tier: best,
        threads,
        fn: () => sparq.linearInt8(x, layer, m, linearOptions),
        before: sparqBefore(best, threads),
        after: sparqAfter(),
        opsPerCall,
        unit: 'GOP/s',
        refKey: jsKey('ref-linear'),
        ortKey: key('ort-dqmm'),
      });
    }
    if (runnable.has(`linear/${threads}`) && staticLayer) {
      sparqRows.push({
        key: key('sparq-linear-static'),
        label: 'sparq linearInt8 static',
        tier: best,
        threads,
        fn: () => sparq.linearInt8(x, staticLayer, m, linearOptions),
        before: sparqBefore(best, threads),
        after: sparqAfter(),
        opsPerCall,
        unit: 'GOP/s',
        refKey: jsKey('ref-linear'),
        ortKey: key('ort-dqmm'),
      });
    }
    await table.run(sparqRows);
  }
  restoreSparqDefaults();
}

// ---------------------------------------------------------------------------
// Cold GEMV: m = 1, k = n = 4096, a different weight matrix each call

async function coldGemv(tiers) {
  const k = 4096;
  const n = 4096;
  const count = CONFIG.coldMatrices;
  const bytesPerCall = n * k;
  const totalMiB = (count * bytesPerCall) / 2 ** 20;
  const tables = CONFIG.coldThreads.map(
    (t) => new Table(`cold-gemv 1x${k}x${n} t${t}`, `${count} matrices, ${totalMiB} MiB rotated; rate = weight bytes / median time`),
  );
  const candidates = [['ORT MatMulInteger', 'MLAS'], ...tiers.map((tier) => ['sparq gemmU8S8', tier])];
  if (!tables.some((table) => candidates.some(([label, tier]) => table.wants(label, tier)))) return;
  progress('setup cold-gemv');
  console.log(`\n-- cold-gemv 1x${k}x${n}: each call reads the next of ${count} matrices (${totalMiB} MiB of int8 weights)`);

  const a = randomBytes(Uint8Array, k, 17);
  const weights = Array.from({ length: count }, (_, i) => randomBytes(Int8Array, n * k, 1000 + i));
  const packed = sparq ? weights.map((w) => sparq.packInt8(w, n, k)) : [];
  const models = ort ? weights.map((w) => onnx.matMulIntegerModel({ m: 1, k, n, bKxN: transpose(w, n, k), aZeroPoint: 'input' })) : [];
  weights.length = 0; // the packed copies and the model bytes are all that is needed now
  const out = new Int32Array(n);
  const gemmOptions = { aZeroPoint: A_ZERO_POINT, out };
  const feeds = ort ? { A: new ort.Tensor('uint8', a, [1, k]), a_zero_point: new ort.Tensor('uint8', Uint8Array.of(A_ZERO_POINT), []) } : null;

  // Check: every tier against ORT on the first matrix.
  const ortY = ort ? await ortOutput('ORT MatMulInteger (cold, matrix 0)', models[0], feeds) : null;
  const runnable = [];
  for (const tier of tiers) {
    sparqBefore(tier, 1)();
    if (!(await tryFirstCall(`sparq gemmU8S8 ${tier} (cold)`, () => sparq.gemmU8S8(a, packed[0], 1, gemmOptions)))) continue;
    runnable.push(tier);
  }
  if (ortY && runnable.length) {
    const agreement = runnable.map((tier) => {
      sparqBefore(tier, 1)();
      sparq.gemmU8S8(a, packed[0], 1, gemmOptions);
      return `${tier} ${compareInts(out, ortY, n, n).text}`;
    });
    check('sparq gemmU8S8 vs ORT MatMulInteger on matrix 0', agreement.join(', '));
  }

  for (const [blockIndex, threads] of CONFIG.coldThreads.entries()) {
    const table = tables[blockIndex];
    const key = (name) => `cold/${threads}/${name}`;
    const ortRow = (sessions, name, note) => {
      let next = 0;
      return {
        key: key(name),
        label: 'ORT MatMulInteger',
        tier: 'MLAS',
        threads,
        async: true,
        fn: () => sessions[next++ % count].run(feeds),
        before: ortBefore,
        bytesPerCall,
        unit: 'GB/s',
        note,
      };
    };
    if (ortY && table.wants('ORT MatMulInteger', 'MLAS')) {
      if (threads > 1) {
        // With a pool per session, the idle sessions' spinning workers take the cores from
        // the one that runs; shown for context, not used for ratios.
        await withOrtSessions(`ORT cold sessions t${threads}`, models, ortSessionOptions(threads), (sessions) =>
          table.run([ortRow(sessions, 'ort-spinning', `${count} sessions, default spinning (context)`)]),
        );
      }
      const options = ortSessionOptions(threads, { spinning: threads === 1 });
      await withOrtSessions(`ORT cold sessions t${threads}`, models, options, (sessions) =>
        table.run([ortRow(sessions, 'ort-mmi', threads > 1 ? `${count} sessions, intra-op spinning off` : `${count} sessions`)]),
      );
    }
    let next = 0;
    await table.run(
      runnable.map((tier) => ({
        key: key(`sparq-${tier}`),
        label: 'sparq gemmU8S8',
        tier,
        threads,
        fn: () => sparq.gemmU8S8(a, packed[next++ % count], 1, gemmOptions),
        before: sparqBefore(tier, threads),
        after: sparqAfter(),
        bytesPerCall,
        unit: 'GB/s',
        ortKey: key('ort-mmi'),
      })),
    );
  }
  restoreSparqDefaults();
}

// ---------------------------------------------------------------------------
// Tiny call: 1×16×16, per-call overhead

async function tinyCall(tiers) {
  const m = 1;
  const k = 16;
  const n = 16;
  const tables = CONFIG.tinyThreads.map((t) => new Table(`tiny 1x${k}x${n} t${t}`, 'per-call overhead; rate is ns/call'));
  const candidates = [
    ['TS reference gemmU8S8', 'js'],
    ['JS triple loop', 'js'],
    ['ORT MatMulInteger session.run', 'MLAS'],
    ['ORT binding run() sync', 'MLAS'],
    ...tiers.map((tier) => ['sparq gemmU8S8', tier]),
  ];
  if (!tables.some((table) => candidates.some(([label, tier]) => table.wants(label, tier)))) return;
  progress('setup tiny');
  console.log(`\n-- tiny 1x${k}x${n}: per-call overhead`);
  const a = randomBytes(Uint8Array, m * k, 5);
  const b = randomBytes(Int8Array, n * k, 6);
  const out = new Int32Array(m * n);
  const packed = sparq ? sparq.packInt8(b, n, k) : null;
  const modelBytes = ort ? onnx.matMulIntegerModel({ m, k, n, bKxN: transpose(b, n, k), aZeroPoint: 'input' }) : null;
  const feeds = ort ? { A: new ort.Tensor('uint8', a, [m, k]), a_zero_point: new ort.Tensor('uint8', Uint8Array.of(A_ZERO_POINT), []) } : null;
  const gemmOptions = { aZeroPoint: A_ZERO_POINT, out };

  const ortY = ort ? await ortOutput('ORT MatMulInteger (tiny)', modelBytes, feeds) : null;
  const refY = reference ? reference.gemmU8S8(a, b, m, n, k, A_ZERO_POINT) : null;
  const runnable = [];
  const agreement = [];
  for (const tier of tiers) {
    sparqBefore(tier, 1)();
    if (!(await tryFirstCall(`sparq gemmU8S8 ${tier} (tiny)`, () => sparq.gemmU8S8(a, packed, m, gemmOptions)))) continue;
    runnable.push(tier);
    const versus = [];
    if (ortY) versus.push(`ORT ${compareInts(out, ortY, n, n).text}`);
    if (refY) versus.push(`ref ${compareInts(out, refY, n, n).text}`);
    agreement.push(`${tier} ${versus.join(', ')}`);
  }
  if (agreement.length) check('tiny: sparq gemmU8S8 vs ORT and TS reference', agreement.join('; '));

  for (const [blockIndex, threads] of CONFIG.tinyThreads.entries()) {
    const table = tables[blockIndex];
    const key = (name) => `tiny/${threads}/${name}`;
    if (blockIndex === 0) {
      const rows = [];
      if (reference) {
        rows.push({ key: 'tiny/js/ref', label: 'TS reference gemmU8S8', tier: 'js', threads: 1, fn: () => reference.gemmU8S8(a, b, m, n, k, A_ZERO_POINT), unit: 'ns/call' });
      }
      rows.push({
        key: 'tiny/js/loop',
        label: 'JS triple loop',
        tier: 'js',
        threads: 1,
        fn: () => jsGemmU8S8(a, b, m, n, k, A_ZERO_POINT, out),
        unit: 'ns/call',
        refKey: 'tiny/js/ref',
      });
      await table.run(rows);
    }
    if (ortY && table.wants('ORT MatMulInteger session.run', 'MLAS')) {
      await withOrtSessions(`ORT tiny session t${threads}`, [modelBytes], ortSessionOptions(threads), ([session]) =>
        table.run([
          {
            key: key('ort-mmi'),
            label: 'ORT MatMulInteger session.run',
            tier: 'MLAS',
            threads,
            async: true,
            fn: () => session.run(feeds),
            before: ortBefore,
            unit: 'ns/call',
            refKey: 'tiny/js/ref',
            note: 'public API (async)',
          },
        ]),
      );
    }
    // The binding's synchronous run, which session.run reaches after a setImmediate: ORT's
    // own per-call cost without the event-loop hop. A private API, shown for context.
    if (ortY && ortBindingLoad.lib && table.wants('ORT binding run() sync', 'MLAS')) {
      const made = await tryFirstCall('ORT binding run() sync', () => {
        const { binding, initOrt } = ortBindingLoad.lib;
        initOrt();
        const session = new binding.InferenceSession();
        session.loadModel(modelBytes.buffer, modelBytes.byteOffset, modelBytes.byteLength, ortSessionOptions(threads));
        session.run(feeds, { Y: null }, {});
        return session;
      });
      if (made) {
        const session = made.value;
        await table.run([
          {
            key: key('ort-sync'),
            label: 'ORT binding run() sync',
            tier: 'MLAS',
            threads,
            fn: () => session.run(feeds, { Y: null }, {}),
            before: ortBefore,
            unit: 'ns/call',
            refKey: 'tiny/js/ref',
            ortKey: key('ort-mmi'),
            note: 'private API, no setImmediate',
          },
        ]);
        if (session.dispose) session.dispose();
      }
    }
    await table.run(
      runnable.map((tier) => ({
        key: key(`sparq-${tier}`),
        label: 'sparq gemmU8S8',
        tier,
        threads,
        fn: () => sparq.gemmU8S8(a, packed, m, gemmOptions),
        before: sparqBefore(tier, threads),
        after: sparqAfter(),
        unit: 'ns/call',
        refKey: 'tiny/js/ref',
        ortKey: key('ort-mmi'),
      })),
    );
  }
  restoreSparqDefaults();
}

module.exports = { coldGemv, gemmShape, tinyCall };
