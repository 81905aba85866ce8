'use strict';
// Dense f32 GEMM at one shape: linearF32 per kernel, gemmF32, ORT MatMul f32, tfjs-wasm, TS reference.

const peers = require('./sparse-peers');
const onnx = require('./onnx-model');
const { afterWith, distinctKernels, firstLine, kernelFields, loadTfjs, sampling, state, timedFirstCall, times, withinBound } = require('./sparse-common');

// ---------------------------------------------------------------------------
// Dense f32 at one shape: Y[m×n] = X[m×k]·Wᵀ, W [n×k]

async function denseShape([m, k, n], tiers) {
  const { sparq, reference, ort, Table } = state.ctx;
  const shape = `${m}x${k}x${n}`;
  const opsPerCall = 2 * m * n * k;
  const threadCounts = state.CONFIG.dense.threads;
  const tables = threadCounts.map((t) => new Table(`dense ${shape} t${t}`, `${(opsPerCall / 1e9).toFixed(2)} GFLOP per call; Y = X·Wᵀ, W [${n}×${k}] f32`));
  const best = tiers[tiers.length - 1] ?? '';
  const candidates = [
    ['TS reference linearF32', 'js'],
    ['tfjs-wasm matMul', 'wasm'],
    ['ORT MatMul f32', 'MLAS'],
    ...tiers.map((tier) => ['sparq linearF32', tier]),
    ['sparq gemmF32', best],
  ];
  if (!tables.some((table) => candidates.some(([label, tier]) => table.wants(label, tier)))) return;
  state.ctx.progress(`setup dense ${shape}`);
  console.log(`\n-- dense ${shape}: ${(opsPerCall / 1e9).toFixed(2)} GFLOP per call`);

  const seed = m * 7919 + k * 104729 + n + 41;
  const x = peers.uniformFloats(m * k, seed);
  const w = peers.uniformFloats(n * k, seed + 1);
  const wT = peers.transpose(w, n, k); // [k×n]: ORT's and tfjs's B, gemmF32's unpacked B
  const out = new Float32Array(m * n);
  // The TS reference computes m'×n' outputs, within its ops budget; its rate is per output.
  const refM = Math.max(1, Math.min(m, Math.floor(state.CONFIG.dense.refOps / (2 * n * k))));
  const refN = Math.max(1, Math.min(n, Math.floor(state.CONFIG.dense.refOps / (2 * refM * k))));
  const refOps = 2 * refM * refN * k;
  const refNote = refM < m || refN < n ? `times ${refM}×${refN} of the ${m}×${n} outputs; rate per output` : '';
  const xRef = x.subarray(0, refM * k);
  const wRef = w.subarray(0, refN * k);

  let packed = null;
  if (sparq) {
    try {
      packed = sparq.packF32(w, n, k);
    } catch (e) {
      console.log(`! sparq packF32 at ${shape} failed: ${firstLine(e)}`);
    }
  }
  const model = ort ? onnx.matMulModel({ m, k, n, bKxN: wT }) : null;
  const feeds = ort ? { A: new ort.Tensor('float32', x, [m, k]) } : null;

  // Checks, before timing: every kernel and thread count against the TS reference (its m'×n'
  // outputs, within the §3 bound) and ORT (all outputs).
  state.ctx.progress(`TS reference for dense ${shape}`);
  const yRef = reference ? reference.linearF32(xRef, wRef, refM, refN, k) : null;
  const bound = reference ? reference.linearF32Tolerance(xRef, wRef, refM, refN, k) : null;
  const yOrt = model ? await state.ctx.ortOutput('ORT MatMul f32', model, feeds) : null;
  const versus = (what) => {
    const parts = [];
    if (yRef) {
      // out is [m×n]; the reference block is its top-left refM×refN corner.
      const corner = new Float32Array(refM * refN);
      for (let i = 0; i < refM; i++) corner.set(out.subarray(i * n, i * n + refN), i * refN);
      parts.push(`ref ${withinBound(corner, yRef, bound, refM * refN, refN)}`);
    }
    if (yOrt) parts.push(`ORT max|Δ|/max|y| ${peers.relativeDifference(out, yOrt).toExponential(2)}`);
    return `${what} ${parts.join(', ') || 'ran'}`;
  };
  const linearKernels = packed
    ? distinctKernels(tiers, 'sparq linearF32', () => sparq.linearF32(peers.uniformFloats(64, 3), sparq.packF32(peers.uniformFloats(64 * 20, 4), 20, 64), 1), sparq.lastF32GemmKernel)
    : [];
  const runnable = new Set();
  const agreement = [];
  for (const entry of linearKernels) {
    for (const threads of threadCounts) {
      state.ctx.sparqBefore(entry.tier, threads)();
      out.fill(NaN);
      const made = await timedFirstCall(`dense/${shape}/${entry.tier}/${threads}`, `sparq linearF32 ${entry.tier} t${threads}`, () => sparq.linearF32(x, packed, m, { out }));
      if (!made) continue;
      runnable.add(`linear-${entry.tier}/${threads}`);
      agreement.push(versus(`${sparq.lastF32GemmKernel()} t${threads}`));
    }
  }
  if (sparq && best) {
    for (const threads of threadCounts) {
      state.ctx.sparqBefore(best, threads)();
      out.fill(NaN);
      const made = await timedFirstCall(`dense/${shape}/gemm/${threads}`, `sparq gemmF32 ${best} t${threads}`, () => sparq.gemmF32(x, wT, m, n, k, { out }));
      if (!made) continue;
      runnable.add(`gemm/${threads}`);
      agreement.push(versus(`gemmF32 ${sparq.lastF32GemmKernel()} t${threads}`));
    }
  }
  if (agreement.length) state.ctx.check(`sparq vs TS reference (${refM}×${refN} outputs, §3 bound) and ORT MatMul f32`, agreement.join('; '));

  // tfjs-wasm: loaded on first use; one thread in Node (see README).
  let tf = null;
  let tfjs = null; // what loadTfjs() gave: { tf, version, simd, threads }
  let tfA = null;
  let tfB = null;
  if (tables[0].wants('tfjs-wasm matMul', 'wasm')) {
    tfjs = await loadTfjs();
    if (tfjs.tf) {
      tf = tfjs.tf;
      tfA = tf.tensor2d(x, [m, k]);
      tfB = tf.tensor2d(wT, [k, n]);
      const made = await state.ctx.tryFirstCall('tfjs-wasm matMul', () => tf.tidy(() => tf.matMul(tfA, tfB).dataSync()));
      if (!made) tf = null;
      else if (yOrt) state.ctx.check('tfjs-wasm matMul vs ORT MatMul f32', `max|Δ|/max|y| ${peers.relativeDifference(made.value, yOrt).toExponential(2)}`);
    }
  }

  // At m = 1 the weight stream bounds the speed: those rows also show GB/s of W (f32).
  const weightBytes = m === 1 ? { bytesPerCall: 4 * n * k, bytesWhat: 'of W' } : {};
  const jsKey = (name) => `dense/${shape}/js/${name}`;
  for (const [blockIndex, threads] of threadCounts.entries()) {
    const table = tables[blockIndex];
    const key = (name) => `dense/${shape}/${threads}/${name}`;
    if (blockIndex === 0) {
      const rows = [];
      if (reference) {
        rows.push({
          key: jsKey('ref'),
          label: 'TS reference linearF32',
          tier: 'js',
          threads: 1,
          fn: () => reference.linearF32(xRef, wRef, refM, refN, k),
          before: state.ctx.ortBefore,
          opsPerCall: refOps,
          unit: 'GOP/s',
          note: refNote,
          bench: state.CONFIG.dense.bench,
        });
      }
      if (tf) {
        rows.push({
          key: jsKey('tfjs'),
          label: 'tfjs-wasm matMul',
          tier: 'wasm',
          threads: tfjs.threads,
          fn: () => {
            const c = tf.matMul(tfA, tfB);
            c.dataSync();
            c.dispose();
          },
          before: state.ctx.ortBefore,
          opsPerCall,
          unit: 'GOP/s',
          refKey: jsKey('ref'),
          ...weightBytes,
          note: `tfjs ${tfjs.version}, SIMD ${tfjs.simd ? 'on' : 'off'}, ${tfjs.threads} thread (no wasm threads in Node); output copied out (dataSync)`,
          bench: state.CONFIG.dense.bench,
        });
      }
      await table.run(rows);
    }
    if (yOrt && table.wants('ORT MatMul f32', 'MLAS')) {
      await state.ctx.withOrtSessions(`ORT MatMul f32 t${threads}`, [model], state.ctx.ortSessionOptions(threads), ([session]) =>
        table.run([
          {
            key: key('ort'),
            label: 'ORT MatMul f32',
            tier: 'MLAS',
            threads,
            async: true,
            fn: () => session.run(feeds),
            before: state.ctx.ortBefore,
            opsPerCall,
            unit: 'GOP/s',
            refKey: jsKey('ref'),
            ...weightBytes,
            note: 'B an initializer',
            bench: state.CONFIG.dense.bench,
          },
        ]),
      );
    }
    const sparqRows = [];
    for (const entry of linearKernels.filter((e) => runnable.has(`linear-${e.tier}/${threads}`))) {
      const fields = kernelFields(entry, (tier) => key(`sparq-${tier}`), sparq.lastF32GemmKernel);
      const { bench, note } = sampling(`dense/${shape}/${entry.tier}/${threads}`, state.CONFIG.dense.bench);
      sparqRows.push({
        ...fields,
        label: 'sparq linearF32',
        threads,
        fn: () => sparq.linearF32(x, packed, m, { out }),
        before: state.ctx.sparqBefore(entry.tier, threads),
        after: afterWith({ lastKernel: sparq.lastF32GemmKernel, fixedNote: ['W packed once', fields.kernelNote, note].filter(Boolean).join('; ') }),
        opsPerCall,
        unit: 'GOP/s',
        refKey: jsKey('ref'),
        ortKey: key('ort'),
        ...weightBytes,
        bench,
      });
    }
    if (runnable.has(`gemm/${threads}`)) {
      const { bench, note } = sampling(`dense/${shape}/gemm/${threads}`, state.CONFIG.dense.bench);
      sparqRows.push({
        key: key('gemm'),
        label: 'sparq gemmF32',
        tier: best,
        threads,
        fn: () => sparq.gemmF32(x, wT, m, n, k, { out }),
        before: state.ctx.sparqBefore(best, threads),
        after: afterWith({ lastKernel: sparq.lastF32GemmKernel, fixedNote: ['B [k×n] unpacked, read per call', note].filter(Boolean).join('; ') }),
        opsPerCall,
        unit: 'GOP/s',
        refKey: jsKey('ref'),
        ortKey: key('ort'),
        ...weightBytes,
        bench,
      });
    }
    await table.run(sparqRows);
  }
  if (tfA) {
    tfA.dispose();
    tfB.dispose();
  }
  state.ctx.restoreSparqDefaults();
}

module.exports = { denseShape };
