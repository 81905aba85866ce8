'use strict';
// Blockwise quantization suites: shared helpers, quantize/dequantize throughput per format,
// and the accuracy table (not timed).

const onnx = require('./onnx-model');
const quantPeers = require('./quant-peers');
const { CONFIG } = require('./config');
const { Table, aliases, findResult, median, ort, ortBefore, ortOutput, ortSessionOptions, progress, reference, restoreSparqDefaults, selected, sparq, sparqBefore, tryFirstCall, withOrtSessions } = require('./harness');
const { check, compareInts, randomFloats, randomGaussian } = require('./data');

// ---------------------------------------------------------------------------
// Blockwise quantization (docs/quantization.md): shared helpers

const QUANT_FORMATS = ['q8_0', 'q4_0', 'q4_1', 'nf4', 'int8'];
// The matmul rows besides q4_0, each at its format's default precision.
const QMATMUL_OTHER_FORMATS = [
  ['q8_0', 'int8'],
  ['q4_1', 'int8'],
  ['nf4', 'f32'],
  ['int8', 'int8'],
];
const Q4_0_BLOCK_BYTES = 18; // per 32 weights
const DRAM_READ_LABEL = 'DRAM read (wasm i64x2 sum)';

/** The tier in a quantization kernel name, '<op>.<format>.<tier>'. */
function kernelTier(kernel) {
  return kernel ? kernel.slice(kernel.lastIndexOf('.') + 1) : null;
}

/**
 * The kernels the tiers run for one op, each listed once, in tier order: [{ tier (the first
 * tier that runs it), kernel, kernelTier, alsoFor (later tiers that run it too) }]. probe is a
 * small call of the same op, format and precision: the kernel choice does not depend on the
 * shape, so the big calls are checked and timed once per kernel, not once per tier. (The
 * activation quantizer of the int8 precision follows the tier too, but costs m·k of the m·n·k.)
 */
function distinctKernels(tiers, what, probe) {
  const byKernel = new Map();
  for (const tier of tiers) {
    sparq.setIsa(tier);
    try {
      probe();
    } catch (e) {
      console.log(`  skip   ${what} on ${tier}: ${String(e && e.message ? e.message : e).split('\n')[0]}`);
      continue;
    }
    const kernel = sparq.lastQuantKernel();
    const entry = byKernel.get(kernel);
    if (entry) entry.alsoFor.push(tier);
    else byKernel.set(kernel, { tier, kernel, kernelTier: kernelTier(kernel), alsoFor: [] });
  }
  sparq.setIsa(null);
  return [...byKernel.values()];
}

/** "scalar" or "scalar (also avx2, avx512)": the tiers a distinctKernels entry stands for. */
function kernelTiersText(entry) {
  return entry.alsoFor.length ? `${entry.tier} (also ${entry.alsoFor.join(', ')})` : entry.tier;
}

/**
 * Row fields for one distinctKernels entry: its key (named after the tier that ran), aliases
 * for the tiers it stands for, the tiers the filter sees, and after() reading the kernel.
 */
function kernelRow(entry, keyOf) {
  const key = keyOf(entry.kernelTier);
  for (const tier of [entry.tier, ...entry.alsoFor]) if (keyOf(tier) !== key) aliases.set(keyOf(tier), key);
  const asked = entry.kernelTier !== entry.tier ? `setIsa('${entry.tier}')` : '';
  const also = entry.alsoFor.length ? `same kernel on ${entry.alsoFor.join(', ')}` : '';
  return {
    key,
    tier: entry.kernelTier,
    selectTier: [entry.tier, ...entry.alsoFor].join(' '),
    after: quantKernelAfter,
    note: [asked, also].filter(Boolean).join('; '),
  };
}

/** After a quantization row: the kernel that ran and its tier. */
function quantKernelAfter() {
  const kernel = sparq.lastQuantKernel();
  return { tier: kernelTier(kernel), kernel };
}

/** RMS(a − b) / RMS(b) over the first `length` values (b may be a Float64Array). */
function relativeRms(a, b, length = b.length) {
  let error = 0;
  let norm = 0;
  for (let i = 0; i < length; i++) {
    error += (a[i] - b[i]) ** 2;
    norm += b[i] ** 2;
  }
  return norm === 0 ? Math.sqrt(error) : Math.sqrt(error / norm);
}

/** Y[rows×n] = X[rows×k] · W[n×k]ᵀ in f64. */
function matMulF64(x, w, rows, n, k) {
  const y = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += x[i * k + p] * w[j * k + p];
      y[i * n + j] = sum;
    }
  }
  return y;
}

/** 'ok' or 'TOO LARGE' for an error against its limit, with the figure. */
function withinLimit(error, limit) {
  return `${error.toExponential(2)} ${error <= limit ? 'ok' : `TOO LARGE (limit ${limit})`}`;
}

// ---------------------------------------------------------------------------
// quantize / dequantize throughput, per format

async function quantizeSuites(tiers) {
  const threadCounts = CONFIG.quant.threads;
  const k = 4096;
  const rows = CONFIG.quant.elements / k;
  const elements = rows * k;
  const refRows = Math.min(rows, CONFIG.quant.refElements / k);
  const tableOf = new Map();
  for (const format of QUANT_FORMATS) {
    for (const t of threadCounts) {
      tableOf.set(`${format}/${t}`, new Table(`quantize ${format} t${t}`, `[${rows}×${k}] f32 = ${elements / 2 ** 20} Mi elements per call; rate = elements / median time`));
    }
  }
  const candidates = [
    ['TS reference quantize', 'js'],
    ['TS reference dequantize', 'js'],
    ['ORT DynamicQuantizeLinear', 'MLAS'],
    ...tiers.flatMap((tier) => [
      ['sparq quantize', tier],
      ['sparq dequantize', tier],
    ]),
  ];
  const formats = QUANT_FORMATS.filter((format) =>
    threadCounts.some((t) => candidates.some(([label, tier]) => tableOf.get(`${format}/${t}`).wants(label, tier))),
  );
  if (formats.length === 0) return;
  progress('setup quantize');
  console.log(
    `\n-- quantize: [${rows}×${k}] uniform f32 weights into each format and back` +
      (refRows < rows ? `; the TS reference does the first ${refRows} rows` : ''),
  );
  const w = randomFloats(elements, 31, -1, 1);
  const wRef = w.subarray(0, refRows * k);
  const dequantOut = new Float32Array(elements);
  const probeW = randomFloats(64, 32, -1, 1);
  const dqlModel = ort ? onnx.dynamicQuantizeLinearModel({ length: elements }) : null;
  const dqlFeeds = ort ? { x: new ort.Tensor('float32', w, [elements]) } : null;
  const ortKey = (threads) => `quantize/${threads}/ort-dql`;
  const refNote = refRows < rows ? `times ${refRows} of ${rows} rows; rate per element` : '';

  for (const format of formats) {
    // Checks: every kernel's bytes against the TS reference (first rows) and the first kernel
    // (all rows); every dequantize kernel's floats against the reference, bit for bit.
    progress(`TS reference quantize ${format}`);
    const refBytes = reference ? reference.quantize(wRef, refRows, k, format) : null;
    const refValues = refBytes ? reference.dequantize(refBytes, refRows, k, format) : null;
    let quantizeKernels = [];
    let dequantizeKernels = [];
    let matrix = null; // the first kernel's result: what the dequantize rows read
    if (sparq) {
      const probeMatrix = sparq.quantize(probeW, 1, 64, format);
      quantizeKernels = distinctKernels(tiers, `sparq quantize ${format}`, () => sparq.quantize(probeW, 1, 64, format));
      dequantizeKernels = distinctKernels(tiers, `sparq dequantize ${format}`, () => probeMatrix.dequantize());
      let firstBytes = null;
      const agreement = [];
      for (const entry of quantizeKernels) {
        sparqBefore(entry.tier, threadCounts[0])();
        const made = await tryFirstCall(`sparq quantize ${format} ${entry.tier}`, () => sparq.quantize(w, rows, k, format));
        if (!made) {
          entry.failed = true;
          continue;
        }
        const bytes = made.value.toBytes();
        const rowBytes = bytes.length / rows;
        const versus = [];
        if (refBytes) versus.push(`ref ${compareInts(bytes, refBytes, refBytes.length, rowBytes).text}`);
        if (firstBytes) versus.push(`${quantizeKernels[0].kernelTier} ${compareInts(bytes, firstBytes, bytes.length, rowBytes).text}`);
        agreement.push(`${entry.kernel} on ${kernelTiersText(entry)}: ${versus.join(', ') || 'nothing to compare with'}`);
        if (!matrix) {
          matrix = made.value;
          firstBytes = bytes;
        }
      }
      if (agreement.length) check(`sparq quantize ${format} bytes vs TS reference (${refRows} rows) and each other`, agreement.join('; '));
      const dequantAgreement = [];
      for (const entry of dequantizeKernels) {
        if (!matrix) break;
        sparqBefore(entry.tier, threadCounts[0])();
        if (!(await tryFirstCall(`sparq dequantize ${format} ${entry.tier}`, () => matrix.dequantize({ out: dequantOut })))) {
          entry.failed = true;
          continue;
        }
        const bits = new Int32Array(dequantOut.buffer, 0, refRows * k);
        const text = refValues ? compareInts(bits, new Int32Array(refValues.buffer), refRows * k, k).text : 'nothing to compare with';
        dequantAgreement.push(`${entry.kernel} on ${kernelTiersText(entry)}: ref bits ${text}`);
      }
      if (dequantAgreement.length) check(`sparq dequantize ${format} vs TS reference (${refRows} rows)`, dequantAgreement.join('; '));
    }

    for (const [blockIndex, threads] of threadCounts.entries()) {
      const table = tableOf.get(`${format}/${threads}`);
      const key = (name) => `quantize/${format}/${threads}/${name}`;
      const jsKey = (name) => `quantize/${format}/js/${name}`;
      if (blockIndex === 0 && reference) {
        const refElements = refRows * k;
        await table.run([
          {
            key: jsKey('ref-q'),
            label: 'TS reference quantize',
            tier: 'js',
            threads: 1,
            fn: () => reference.quantize(wRef, refRows, k, format),
            elementsPerCall: refElements,
            unit: 'Mel/s',
            bytesPerCall: 4 * refElements,
            bytesWhat: 'f32 in',
            note: refNote,
          },
          {
            key: jsKey('ref-dq'),
            label: 'TS reference dequantize',
            tier: 'js',
            threads: 1,
            fn: () => reference.dequantize(refBytes, refRows, k, format),
            elementsPerCall: refElements,
            unit: 'Mel/s',
            bytesPerCall: 4 * refElements,
            bytesWhat: 'f32 out',
            note: refNote,
          },
        ]);
      }
      // DynamicQuantizeLinear has no format: timed once per thread count, in the first table
      // that runs, and every format's quantize rows are compared with it.
      if (ort && !findResult(ortKey(threads)) && table.wants('ORT DynamicQuantizeLinear', 'MLAS')) {
        await withOrtSessions(`ORT DynamicQuantizeLinear t${threads}`, [dqlModel], ortSessionOptions(threads), ([session]) =>
          table.run([
            {
              key: ortKey(threads),
              label: 'ORT DynamicQuantizeLinear',
              tier: 'MLAS',
              threads,
              async: true,
              fn: () => session.run(dqlFeeds),
              before: ortBefore,
              elementsPerCall: elements,
              unit: 'Mel/s',
              bytesPerCall: 4 * elements,
              bytesWhat: 'f32 in',
              note: 'to u8, one scale per tensor; any format',
            },
          ]),
        );
      }
      const sparqRows = [];
      for (const entry of quantizeKernels.filter((e) => !e.failed)) {
        const row = kernelRow(entry, (tier) => key(`sparq-q-${tier}`));
        sparqRows.push({
          ...row,
          label: 'sparq quantize',
          threads,
          fn: () => sparq.quantize(w, rows, k, format),
          before: sparqBefore(entry.tier, threads),
          elementsPerCall: elements,
          unit: 'Mel/s',
          bytesPerCall: 4 * elements,
          bytesWhat: 'f32 in',
          refKey: jsKey('ref-q'),
          ortKey: ortKey(threads),
        });
      }
      for (const entry of dequantizeKernels.filter((e) => matrix && !e.failed)) {
        const row = kernelRow(entry, (tier) => key(`sparq-dq-${tier}`));
        sparqRows.push({
          ...row,
          label: 'sparq dequantize',
          threads,
          fn: () => matrix.dequantize({ out: dequantOut }),
          before: sparqBefore(entry.tier, threads),
          elementsPerCall: elements,
          unit: 'Mel/s',
          bytesPerCall: 4 * elements,
          bytesWhat: 'f32 out',
          refKey: jsKey('ref-dq'),
        });
      }
      await table.run(sparqRows);
    }
  }
  restoreSparqDefaults();
}

// ---------------------------------------------------------------------------
// Accuracy (not timed): weight RMSE per format; matmul error of both precisions

const accuracy = [];

async function qaccuracy() {
  if (!sparq || !selected('qaccuracy', QUANT_FORMATS.join(' '))) return;
  const { m, k, n } = CONFIG.quant.accuracy;
  progress('qaccuracy');
  const w = randomGaussian(n * k, 51);
  const x = randomGaussian(m * k, 52);
  const exact = matMulF64(x, w, m, n, k);
  let exactRms = 0;
  for (const v of exact) exactRms += v * v;
  exactRms = Math.sqrt(exactRms / exact.length);
  const cases = [
    ['q8_0', 32],
    ['q4_0', 32],
    ['q4_1', 32],
    ['nf4', 64],
    ['nf4', 32],
    ['int8', 64],
  ];
  const columns = [
    ['format', 6],
    ['block', 5],
    ['bits/w', 6],
    ['W RMSE', 9],
    ['W max|Δ|', 9],
    ['Y f32', 9],
    ['Y int8', 9],
    ['int8 vs f32', 11],
    ['f32 vs f64', 10],
    ['kernels', 0],
  ];
  const line = (cells) =>
    console.log(`  ${columns.map(([, width], i) => (width ? String(cells[i] ?? '').padEnd(width) : String(cells[i] ?? ''))).join('  ').trimEnd()}`);
  const e = (v) => (v === null || v === undefined ? '–' : v.toExponential(2));
  console.log(`\n== qaccuracy  (not timed, default tier ${sparq.isa()}; W [${n}×${k}] and X [${m}×${k}] ~ N(0, 1))`);
  console.log(`  W: dequantized vs original.  Y = X·Wᵀ: RMS(Δ) / RMS(Y) against the f64 product with the original W (RMS(Y) = ${exactRms.toFixed(1)}).`);
  console.log('  int8 vs f32: activation rounding alone; f32 vs f64: the f32 precision against the f64 product with the dequantized W.');
  line(columns.map(([name]) => name));
  for (const [format, blockSize] of cases) {
    progress(`qaccuracy ${format} b${blockSize}`);
    const made = await tryFirstCall(`qaccuracy ${format} block ${blockSize}`, () => {
      const matrix = sparq.quantize(w, n, k, format, { blockSize });
      const dequantized = matrix.dequantize();
      let sumSquares = 0;
      let maxError = 0;
      for (let i = 0; i < w.length; i++) {
        const d = Math.abs(dequantized[i] - w[i]);
        sumSquares += d * d;
        maxError = Math.max(maxError, d);
      }
      const kernels = [];
      const yF32 = sparq.matmulQuantized(x, matrix, m, { precision: 'f32' });
      kernels.push(sparq.lastQuantKernel());
      let yInt8 = null;
      if (format !== 'nf4') {
        yInt8 = sparq.matmulQuantized(x, matrix, m, { precision: 'int8' });
        kernels.push(sparq.lastQuantKernel());
      }
      const exactDequantized = matMulF64(x, dequantized, m, n, k);
      return {
        format,
        blockSize,
        bitsPerWeight: (8 * matrix.byteLength) / (n * k),
        weightRmse: Math.sqrt(sumSquares / w.length),
        weightMaxError: maxError,
        f32: relativeRms(yF32, exact),
        int8: yInt8 ? relativeRms(yInt8, exact) : null,
        int8VsF32: yInt8 ? relativeRms(yInt8, yF32) : null,
        f32VsDequantized: relativeRms(yF32, exactDequantized),
        kernels,
      };
    });
    if (!made) continue;
    const r = made.value;
    accuracy.push(r);
    line([format, blockSize, r.bitsPerWeight.toFixed(2), e(r.weightRmse), e(r.weightMaxError), e(r.f32), e(r.int8), e(r.int8VsF32), e(r.f32VsDequantized), r.kernels.join(', ')]);
  }
  // ORT MatMulNBits on the same q4_0 bytes: level 0 in the f32 column, level 4 in the int8 one.
  if (ort) {
    const q4_0Bytes = sparq.quantize(w, n, k, 'q4_0').toBytes();
    const feeds = { A: new ort.Tensor('float32', x, [m, k]) };
    const y0 = await ortOutput('ORT MatMulNBits level 0 (qaccuracy)', quantPeers.matMulNBitsModelFromQ4_0({ n, k, accuracyLevel: 0, q4_0Bytes }), feeds);
    const y4 = await ortOutput('ORT MatMulNBits level 4 (qaccuracy)', quantPeers.matMulNBitsModelFromQ4_0({ n, k, accuracyLevel: 4, q4_0Bytes }), feeds);
    if (y0 && y4) {
      const r = { format: 'q4_0', peer: 'ORT MatMulNBits', f32: relativeRms(y0, exact), int8: relativeRms(y4, exact), int8VsF32: relativeRms(y4, y0) };
      accuracy.push(r);
      line(['q4_0', 32, '', '', '', e(r.f32), e(r.int8), e(r.int8VsF32), '', 'ORT MatMulNBits: level 0 as f32, level 4 as int8']);
    }
  }
}

module.exports = { DRAM_READ_LABEL, Q4_0_BLOCK_BYTES, QMATMUL_OTHER_FORMATS, QUANT_FORMATS, accuracy, distinctKernels, kernelRow, kernelTiersText, matMulF64, qaccuracy, quantKernelAfter, quantizeSuites, withinLimit };
