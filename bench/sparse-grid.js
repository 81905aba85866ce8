'use strict';
// SpMV/SpMM over sparsity × pattern × n against own dense, ORT, a JS CSR loop and mathjs; the
// break-even sweep.

const peers = require('./sparse-peers');
const { MiB, SIZE, VARIANTS, afterWith, breakEven, buildSparse, checkSparse, currentDenseWeight, denseKey, denseRows, formatTime, distinctKernels, ensureDenseWeight, kernelFields, opName, pct, rowsWithin, sampling, state, timedFirstCall, times, tryLoad } = require('./sparse-common');

let mathjs = null; // { lib } or { error }, loaded when a point wants it

// ---------------------------------------------------------------------------
// spmv / spmm grid: sparsity × pattern × n

async function sparseGrid(tiers) {
  const { sparq, Table } = state.ctx;
  const G = state.CONFIG.grid;
  const points = [];
  for (const pattern of G.patterns) {
    for (const sparsity of G.sparsities) {
      for (const n of G.ns) {
        const name = `${pct(sparsity)} ${pattern}${n > 1 ? ` n${n}` : ''}`;
        const tables = G.threads.map((t) => new Table(`${opName(n)} ${name} t${t}`, null));
        points.push({ pattern, sparsity, n, tables, mathjs: G.mathjsPoints.includes(`${pct(sparsity)} ${pattern} n${n}`) });
      }
    }
  }
  const best = state.ctx.best;
  const candidateRows = (point) => [
    ['sparq linearF32 dense', best],
    ['ORT MatMul f32 dense', 'MLAS'],
    ['JS CSR loop', 'js'],
    ...(point.mathjs ? [['mathjs sparse × dense', 'js']] : []),
    ...VARIANTS.map(([, what]) => [`sparq ${opName(point.n)} ${what}`, tiers.join(' ')]),
  ];
  const wanted = points.filter((p) => p.tables.some((table) => candidateRows(p).some(([label, tier]) => table.wants(label, tier))));
  if (wanted.length === 0) return;

  // One timed row per distinct kernel for f32 u32; the other storages on the best tier.
  const probe = sparq ? sparq.CsrMatrix.fromArrays(4, 4, Int32Array.of(0, 1, 2, 3, 4), Int32Array.of(0, 1, 2, 3), Float32Array.of(1, 2, 3, 4)) : null;
  const kernelsOf = {
    spmv: probe ? distinctKernels(tiers, 'sparq spmv f32 u32', () => sparq.spmv(probe, new Float32Array(4)), sparq.lastSparseKernel) : [],
    spmm: probe ? distinctKernels(tiers, 'sparq spmm f32 u32', () => sparq.spmm(probe, new Float32Array(12), 3), sparq.lastSparseKernel) : [],
  };
  if (!mathjs && wanted.some((p) => p.mathjs)) mathjs = tryLoad('mathjs', peers.loadMathjs);

  // Matrices are built once per (pattern, sparsity) and serve every n.
  const byMatrix = new Map();
  for (const point of wanted) {
    const id = `${point.pattern}/${point.sparsity}`;
    if (!byMatrix.has(id)) byMatrix.set(id, []);
    byMatrix.get(id).push(point);
  }
  for (const group of byMatrix.values()) {
    const { pattern, sparsity } = group[0];
    const { csr, matrices } = buildSparse(sparsity, pattern, VARIANTS.map(([name]) => name));
    const skew = `rows: max ${csr.maxRow}, median ${csr.medianRow} entries`;
    console.log(`\n-- ${pct(sparsity)} ${pattern} [${SIZE}×${SIZE}]: nnz ${csr.nnz}, ${skew}` + (matrices['f32-u32'] ? `, f32 u32 ${(matrices['f32-u32'].byteLength / MiB).toFixed(1)} MiB` : ''));
    let mathMatrix = null;
    for (const point of group) await sparsePoint(point, csr, matrices, kernelsOf[opName(point.n)], () => {
      if (!mathMatrix && mathjs && mathjs.lib) mathMatrix = peers.mathjsSparse(mathjs.lib, csr);
      return mathMatrix;
    });
  }
  state.ctx.restoreSparqDefaults();
}

async function sparsePoint({ pattern, sparsity, n, tables, mathjs: withMathjs }, csr, matrices, kernels, mathMatrix) {
  const { sparq } = state.ctx;
  const op = opName(n);
  const best = state.ctx.best;
  const point = `${pct(sparsity)} ${pattern}${n > 1 ? ` n${n}` : ''}`;
  state.ctx.progress(`setup ${op} ${point}`);
  const opsPerCall = 2 * SIZE * SIZE * n; // dense-equivalent work: the rate column of every row
  const effectiveOps = 2 * csr.nnz * n;
  const b = peers.uniformFloats(SIZE * n, 91 + n);
  const out = new Float32Array(SIZE * n);
  const call = (matrix) => (n === 1 ? () => sparq.spmv(matrix, b, { out }) : () => sparq.spmm(matrix, b, n, { out }));
  const ratios = (threads, self) => [
    [denseKey(n, threads, 'own'), 'own dense'],
    ...(self === 'mathjs' ? [] : [[`sp/${pattern}/${pct(sparsity)}/n${n}/mathjs`, 'mathjs']]),
    ...(self === 'js' ? [] : [[`sp/${pattern}/${pct(sparsity)}/n${n}/js`, 'JS']]),
  ];

  // Checks: every f32 u32 kernel and every storage on the best tier against the TS reference.
  const runnable = new Set();
  if (sparq) {
    const calls = [
      ...kernels.map((entry) => ({ variant: 'f32-u32', tier: entry.tier, run: () => call(matrices['f32-u32'])() })),
      ...VARIANTS.slice(1).map(([variant]) => ({ variant, tier: best, run: () => call(matrices[variant])() })),
    ];
    checkSparse(`sparq ${op} ${point}`, matrices, b, n, calls);
    for (const { variant, tier } of calls) {
      if (!matrices[variant]) continue;
      state.ctx.sparqBefore(tier, 1)();
      const id = `sp/${pattern}/${pct(sparsity)}/n${n}/${variant}/${tier}`;
      if (await timedFirstCall(id, `sparq ${op} ${variant} ${tier}`, () => call(matrices[variant])())) runnable.add(`${variant}/${tier}`);
    }
  }

  for (const [blockIndex, threads] of state.CONFIG.grid.threads.entries()) {
    const table = tables[blockIndex];
    const key = (name) => `sp/${pattern}/${pct(sparsity)}/n${n}/t${threads}/${name}`;
    await denseRows(table, n, threads, csr);
    if (blockIndex === 0) {
      // Single-threaded JavaScript peers, timed once per point.
      const rows = [];
      const jsRows = rowsWithin(csr.indptr, SIZE, n, state.CONFIG.grid.jsOps);
      const jsOut = new Float32Array(jsRows * n);
      const jsNnz = csr.indptr[jsRows];
      rows.push({
        key: `sp/${pattern}/${pct(sparsity)}/n${n}/js`,
        label: 'JS CSR loop',
        tier: 'js',
        threads: 1,
        fn:
          n === 1
            ? () => peers.jsSpmv(csr.indptr, csr.indices, csr.values, jsRows, b, jsOut)
            : () => peers.jsSpmm(csr.indptr, csr.indices, csr.values, jsRows, b, n, jsOut),
        before: state.ctx.ortBefore,
        after: afterWith({
          effectiveOps: 2 * jsNnz * n,
          ratios: ratios(threads, 'js'),
          fixedNote: jsRows < SIZE ? `times the first ${jsRows} of ${SIZE} rows (${jsNnz} entries); rate per entry` : 'f32 typed arrays, f64 sums',
        }),
        opsPerCall: (opsPerCall * jsNnz) / csr.nnz, // the slice's share of the dense-equivalent work
        unit: 'GOP/s',
        ortKey: denseKey(n, threads, 'ort'),
        bench: state.CONFIG.grid.bench,
      });
      const math = withMathjs && mathjs && mathjs.lib ? mathjs.lib : null;
      if (math && table.wants('mathjs sparse × dense', 'js')) {
        state.ctx.progress(`mathjs matrices ${point}`);
        const sparse = mathMatrix();
        const dense = peers.mathjsDense(math, b, SIZE, n);
        const made = await state.ctx.tryFirstCall(`mathjs ${point}`, () => math.multiply(sparse, dense));
        if (made) {
          const y = peers.mathjsToFloat32(math, made.value, SIZE, n);
          const reference = n === 1 ? peers.jsSpmv(csr.indptr, csr.indices, csr.values, SIZE, b, new Float32Array(SIZE)) : peers.jsSpmm(csr.indptr, csr.indices, csr.values, SIZE, b, n, new Float32Array(SIZE * n));
          state.ctx.check(`mathjs ${point} vs JS CSR loop`, `max|Δ|/max|y| ${peers.relativeDifference(y, reference).toExponential(2)}`);
          rows.push({
            key: `sp/${pattern}/${pct(sparsity)}/n${n}/mathjs`,
            label: 'mathjs sparse × dense',
            tier: 'js',
            threads: 1,
            fn: () => math.multiply(sparse, dense),
            before: state.ctx.ortBefore,
            after: afterWith({ effectiveOps, ratios: ratios(threads, 'mathjs'), fixedNote: `mathjs ${math.version} SparseMatrix (datatype number) × ${n === 1 ? 'vector' : 'DenseMatrix'}` }),
            opsPerCall,
            unit: 'GOP/s',
            ortKey: denseKey(n, threads, 'ort'),
            bench: state.CONFIG.grid.mathjsBench,
          });
        }
      }
      await table.run(rows);
    }

    // sparq: f32 u32 per kernel, the other storages on the best tier; at T > 1 the best tier only.
    const rows = [];
    const bestEntry = kernels.find((e) => e.tier === best || e.alsoFor.includes(best));
    for (const entry of threads === 1 ? kernels : kernels.filter((e) => e === bestEntry)) {
      if (!runnable.has(`f32-u32/${entry.tier}`)) continue;
      const fields = kernelFields(entry, (tier) => key(`f32-u32-${tier}`), sparq.lastSparseKernel);
      const { bench, note } = sampling(`sp/${pattern}/${pct(sparsity)}/n${n}/f32-u32/${entry.tier}`, state.CONFIG.grid.bench);
      rows.push({
        ...fields,
        label: `sparq ${op} f32 u32`,
        threads,
        fn: call(matrices['f32-u32']),
        before: state.ctx.sparqBefore(entry.tier, threads),
        after: afterWith({ lastKernel: sparq.lastSparseKernel, effectiveOps, ratios: ratios(threads), fixedNote: [fields.kernelNote, note].filter(Boolean).join('; ') }),
        opsPerCall,
        unit: 'GOP/s',
        ortKey: denseKey(n, threads, 'ort'),
        bench,
      });
    }
    for (const [variant, what] of threads === 1 ? VARIANTS.slice(1) : VARIANTS.slice(1, 2)) {
      if (!runnable.has(`${variant}/${best}`)) continue;
      rows.push({
        key: key(variant),
        label: `sparq ${op} ${what}`,
        tier: best,
        threads,
        fn: call(matrices[variant]),
        before: state.ctx.sparqBefore(best, threads),
        after: afterWith({ lastKernel: sparq.lastSparseKernel, effectiveOps, ratios: ratios(threads) }),
        opsPerCall,
        unit: 'GOP/s',
        ortKey: denseKey(n, threads, 'ort'),
        bench: state.CONFIG.grid.bench,
      });
    }
    await table.run(rows);
  }
}

// ---------------------------------------------------------------------------
// Break-even: the sparsity from which sparse (best storage) beats own dense, per n

const SWEEP_VARIANTS = [
  ['f32-u16', 'f32 u16'],
  ['int8-u16', 'int8 u16'],
];

async function breakEvenSweep() {
  const B = state.CONFIG.breakEven;
  const { sparq, Table } = state.ctx;
  if (!B || !sparq) return;
  const best = state.ctx.best;
  // Self-contained: every row is timed here, in one pass, so the grid's rows (timed minutes
  // earlier, under other load) never mix in. Own dense is timed before and after the sweep.
  const table = new Table('break-even t1', `random pattern, 1 thread, ${best}; sparse = the faster of f32 u16 and int8 u16`);
  const sweepKey = (sparsity, n, variant) => `be/${pct(sparsity)}/n${n}/${variant}`;
  const denseAt = (n, when) => `be/dense/n${n}/${when}`;
  const label = (sparsity, n, what) => `sparq ${opName(n)} ${what} n${n} ${pct(sparsity)}`;
  const wants = B.sparsities.some((s) => B.ns.some((n) => SWEEP_VARIANTS.some(([, what]) => table.wants(label(s, n, what), best))));
  if (!wants) return;
  state.ctx.progress('setup break-even');
  console.log(`\n-- break-even: sparsity ${B.sparsities.map(pct).join(', ')} × n ${B.ns.join(', ')}, random pattern`);

  const operands = new Map(B.ns.map((n) => [n, { b: peers.uniformFloats(SIZE * n, 91 + n), xT: peers.uniformFloats(n * SIZE, 77 + n), out: new Float32Array(SIZE * n) }]));
  const denseRowsAt = async (when) => {
    const { packed } = currentDenseWeight();
    if (!packed) return;
    await table.run(
      B.ns.map((n) => {
        const { xT, out } = operands.get(n);
        return {
          key: denseAt(n, when),
          label: `sparq linearF32 dense n${n} (${when})`,
          tier: best,
          threads: 1,
          fn: () => sparq.linearF32(xT, packed, n, { out }),
          before: state.ctx.sparqBefore(best, 1),
          after: afterWith({ lastKernel: sparq.lastF32GemmKernel, fixedNote: `W [${SIZE}×${SIZE}] dense, packed once; Y = Bᵀ·Wᵀ` }),
          opsPerCall: 2 * SIZE * SIZE * n,
          unit: 'GOP/s',
          bench: B.bench,
        };
      }),
    );
  };

  for (const [index, sparsity] of B.sparsities.entries()) {
    const { csr, matrices } = buildSparse(sparsity, 'random', SWEEP_VARIANTS.map(([variant]) => variant));
    if (index === 0) {
      ensureDenseWeight(csr);
      await denseRowsAt('start');
    }
    for (const n of B.ns) {
      const { b, out } = operands.get(n);
      const call = (matrix) => (n === 1 ? () => sparq.spmv(matrix, b, { out }) : () => sparq.spmm(matrix, b, n, { out }));
      const todo = SWEEP_VARIANTS.filter(([variant, what]) => matrices[variant] && table.wants(label(sparsity, n, what), best));
      checkSparse(`sparq ${opName(n)} ${pct(sparsity)} random n${n}`, matrices, b, n, todo.map(([variant]) => ({ variant, tier: best, run: () => call(matrices[variant])() })));
      await table.run(
        todo.map(([variant, what]) => ({
          key: sweepKey(sparsity, n, variant),
          label: label(sparsity, n, what),
          tier: best,
          threads: 1,
          fn: call(matrices[variant]),
          before: state.ctx.sparqBefore(best, 1),
          after: afterWith({ lastKernel: sparq.lastSparseKernel, effectiveOps: 2 * csr.nnz * n, ratios: [[denseAt(n, 'start'), 'own dense']] }),
          opsPerCall: 2 * SIZE * SIZE * n,
          unit: 'GOP/s',
          bench: B.bench,
        })),
      );
    }
  }
  await denseRowsAt('end');

  // Speed-up over own dense per sparsity (dense time, the mean of the two dense rows, over the
  // time of the faster storage), and where it crosses 1.
  console.log('\n  break-even (sparse speed-up over own dense = dense time / sparse time):');
  for (const n of B.ns) {
    const dense = ['start', 'end'].map((when) => state.ctx.findResult(denseAt(n, when))).filter(Boolean);
    if (dense.length === 0) continue;
    const denseTime = dense.reduce((sum, r) => sum + r.median, 0) / dense.length;
    const points = [];
    for (const sparsity of B.sparsities) {
      const rows = SWEEP_VARIANTS.map(([variant]) => state.ctx.findResult(sweepKey(sparsity, n, variant))).filter(Boolean);
      if (rows.length) points.push({ sparsity, speedup: denseTime / Math.min(...rows.map((r) => r.median)) });
    }
    if (points.length === 0) continue;
    const text = breakEvenText(points);
    breakEven.set(n, text);
    console.log(`    n = ${n}: ${text.text}`);
    console.log(`      own dense ${dense.map((r) => formatTime(r.median)).join(' before, ')}${dense.length > 1 ? ' after the sweep (mean used)' : ''}`);
    console.log(`      ${points.map((p) => `${pct(p.sparsity)} ${times(p.speedup)}`).join(', ')}`);
  }
}

/** Where the speed-up first reaches 1 for good, linearly interpolated between sweep points. */
function breakEvenText(points) {
  const lastBelow = points.map((p) => p.speedup < 1).lastIndexOf(true);
  if (lastBelow < 0) return { sparsity: null, text: `sparse is faster at every swept sparsity (from ${pct(points[0].sparsity)}: ${times(points[0].speedup)})` };
  if (lastBelow === points.length - 1) {
    const last = points[points.length - 1];
    return { sparsity: null, text: `own dense is faster up to ${pct(last.sparsity)} (${times(last.speedup)} there): no break-even in the sweep` };
  }
  const [lo, hi] = [points[lastBelow], points[lastBelow + 1]];
  const at = lo.sparsity + ((1 - lo.speedup) * (hi.sparsity - lo.sparsity)) / (hi.speedup - lo.speedup);
  return { sparsity: at, text: `sparse beats own dense from ~${(100 * at).toFixed(0)}% sparsity (${times(lo.speedup)} at ${pct(lo.sparsity)}, ${times(hi.speedup)} at ${pct(hi.sparsity)})` };
}

module.exports = { breakEvenSweep, sparseGrid };
