'use strict';
// The target verdicts printed at the end of a run.

const { CONFIG, args } = require('./config');
const { findResult, formatRate, ort, results, sparq } = require('./harness');
const { QUANT_FORMATS } = require('./quant-suites');
const sparseSuites = require('./sparse-suites');

// ---------------------------------------------------------------------------
// Targets

/**
 * The targets, each judged on sparq's default tier (what setIsa(null) picks, normally the
 * best one the CPU runs); a faster non-default tier is mentioned alongside.
 */
function summary(defaultTier) {
  const ok = (r) => r && !r.error;
  const find = findResult;
  const lines = [];
  const verdict = (name, met, figures) => {
    // Under --filter, targets the run did not measure are left out rather than listed.
    if (met === null && args.filter) return;
    lines.push(`  ${met === null ? 'not measured' : met ? 'met    ' : 'NOT met'}  ${name}: ${figures}`);
  };
  const times = (x, y) => `×${(x / y).toFixed(2)}`;
  // The fastest sparq gemmU8S8 row under a key prefix, when it is not the default tier.
  const fasterTier = (prefix, row) => {
    const rows = results.filter((r) => ok(r) && r.key.startsWith(prefix) && /\/sparq-(?!linear)/.test(r.key));
    const fastest = rows.sort((x, y) => y.rate - x.rate)[0];
    return fastest && fastest !== row ? ` (fastest tier: ${fastest.tier})` : '';
  };

  // 1. 1 thread, shapes ≥ 512³: avx512vnni ≥ 1.15× ORT MatMulInteger.
  for (const [m, k, n] of CONFIG.shapes.filter(([m, k, n]) => m >= 512 && k >= 512 && n >= 512)) {
    const shape = `${m}x${k}x${n}`;
    const vnni = find(`${shape}/1/sparq-avx512vnni`);
    const peer = find(`${shape}/1/ort-mmi`);
    const name = `1 thread ${shape}: avx512vnni ≥ 1.15× ORT MatMulInteger`;
    if (!vnni || !peer) verdict(name, null, !vnni ? 'no avx512vnni row' : 'no ORT row');
    else verdict(name, vnni.rate / peer.rate >= 1.15, `${formatRate(vnni.rate)} vs ${formatRate(peer.rate)} GOP/s = ${times(vnni.rate, peer.rate)}`);
  }

  // 2. 2 threads ≥ 1.8× 1 thread, compute-bound shapes (m ≥ 8).
  for (const [m, k, n] of CONFIG.shapes.filter(([m]) => m >= 8)) {
    const shape = `${m}x${k}x${n}`;
    const one = find(`${shape}/1/sparq-${defaultTier}`);
    const two = find(`${shape}/2/sparq-${defaultTier}`);
    const name = `2 threads ≥ 1.8× 1 thread at ${shape}`;
    if (!one || !two) verdict(name, null, 'needs 1- and 2-thread sparq rows');
    else verdict(name, two.rate / one.rate >= 1.8, `${defaultTier} ${formatRate(two.rate)} vs ${formatRate(one.rate)} GOP/s = ${times(two.rate, one.rate)}`);
  }

  // 3. Cold GEMV ≥ 1.6× ORT.
  for (const threads of CONFIG.coldThreads) {
    const row = find(`cold/${threads}/sparq-${defaultTier}`);
    const peer = find(`cold/${threads}/ort-mmi`);
    const name = `cold GEMV ≥ 1.6× ORT MatMulInteger (${threads} thread${threads > 1 ? 's' : ''})`;
    if (!row || !peer) verdict(name, null, 'needs sparq and ORT cold rows');
    else
      verdict(
        name,
        row.rate / peer.rate >= 1.6,
        `${defaultTier} ${formatRate(row.rate)} vs ${formatRate(peer.rate)} GB/s = ${times(row.rate, peer.rate)}${fasterTier(`cold/${threads}/`, row)}`,
      );
  }

  // 4. Tiny call ≤ 1 µs.
  {
    const threads = CONFIG.tinyThreads[0];
    const row = find(`tiny/${threads}/sparq-${defaultTier}`);
    const peer = find(`tiny/${threads}/ort-mmi`);
    const name = `tiny 1×16×16 call ≤ 1 µs (${threads} thread${threads > 1 ? 's' : ''})`;
    if (!row) verdict(name, null, 'no sparq tiny row');
    else {
      const ortText = peer ? `; ORT session.run ${(peer.median * 1e9).toFixed(0)} ns` : '';
      verdict(name, row.median <= 1e-6, `${defaultTier} ${(row.median * 1e9).toFixed(0)} ns/call${fasterTier(`tiny/${threads}/`, row)}${ortText}`);
    }
  }

  // 5. AVX2 ≥ 150 GOP/s: best 1-thread GEMM shape (the 2-thread figure for context).
  {
    const bestAt = (threads) =>
      results
        .filter((r) => ok(r) && /^\d+x\d+x\d+\//.test(r.key) && r.key.endsWith(`/${threads}/sparq-avx2`))
        .sort((x, y) => y.rate - x.rate)[0];
    const one = bestAt(1);
    const two = bestAt(2);
    const name = 'avx2 ≥ 150 GOP/s (1 thread, best GEMM shape)';
    const shapeOf = (r) => r.key.split('/')[0];
    if (!one) verdict(name, null, 'no 1-thread avx2 GEMM row');
    else {
      const twoText = two ? `; 2 threads ${formatRate(two.rate)} GOP/s at ${shapeOf(two)}` : '';
      verdict(name, one.rate >= 150, `${formatRate(one.rate)} GOP/s at ${shapeOf(one)}${twoText}`);
    }
  }

  // Blockwise quantization. sparq's rows are keyed by the tier whose kernel ran; the default
  // tier's key resolves to the row of the kernel it runs.
  const fasterKernel = (prefix, row) => {
    const fastest = results.filter((r) => ok(r) && r.key.startsWith(prefix)).sort((x, y) => y.rate - x.rate)[0];
    return fastest && fastest !== row ? ` (fastest: ${fastest.kernel ?? fastest.tier} ${formatRate(fastest.rate)} ${fastest.unit})` : '';
  };
  const threadText = (threads) => `${threads} thread${threads > 1 ? 's' : ''}`;

  // 6. Q4_0 cold GEMV ≥ 85% of a plain DRAM read of the same bytes.
  for (const threads of CONFIG.quant.coldThreads) {
    const row = find(`qcold/${threads}/sparq-${defaultTier}`);
    const peer = find(`qcold/${threads}/dram`);
    const ortRow = find(`qcold/${threads}/ort-l4`);
    const name = `q4_0 cold GEMV ≥ 85% of DRAM read (${threadText(threads)})`;
    if (!row || !peer) verdict(name, null, 'needs sparq and DRAM read qcold rows');
    else {
      const ortText = ortRow ? `; ORT MatMulNBits level 4 ${formatRate(ortRow.rate)} GB/s` : '';
      verdict(
        name,
        row.rate >= 0.85 * peer.rate,
        `${row.kernel} ${formatRate(row.rate)} vs ${formatRate(peer.rate)} GB/s = ${((100 * row.rate) / peer.rate).toFixed(0)}%${ortText}${fasterKernel(`qcold/${threads}/sparq-`, row)}`,
      );
    }
  }

  // 7. Q4_0 GEMM at m = 128 ≥ 2.5× ORT MatMulNBits accuracy_level 4, 1 thread.
  for (const { shape: [m, k, n] } of CONFIG.quant.matmul.filter(({ shape }) => shape[0] === 128)) {
    const shape = `${m}x${k}x${n}`;
    const row = find(`qmm/${shape}/1/sparq-q4_0-int8-${defaultTier}`);
    const peer = find(`qmm/${shape}/1/ort-l4`);
    const name = `q4_0 GEMM ${shape} ≥ 2.5× ORT MatMulNBits level 4 (1 thread)`;
    if (!row || !peer) verdict(name, null, 'needs 1-thread sparq q4_0 int8 and ORT level 4 rows');
    else
      verdict(
        name,
        row.rate >= 2.5 * peer.rate,
        `${row.kernel} ${formatRate(row.rate)} vs ${formatRate(peer.rate)} GOP/s = ${times(row.rate, peer.rate)}${fasterKernel(`qmm/${shape}/1/sparq-q4_0-int8-`, row)}`,
      );
  }

  // 8. quantize ≥ 2× ORT DynamicQuantizeLinear, elements per second, each format.
  {
    const threads = CONFIG.quant.threads[0];
    const peer = find(`quantize/${threads}/ort-dql`);
    for (const format of QUANT_FORMATS) {
      const row = find(`quantize/${format}/${threads}/sparq-q-${defaultTier}`);
      const name = `quantize ${format} ≥ 2× ORT DynamicQuantizeLinear elements/s (${threadText(threads)})`;
      if (!row || !peer) verdict(name, null, 'needs sparq quantize and ORT DynamicQuantizeLinear rows');
      else
        verdict(
          name,
          row.rate >= 2 * peer.rate,
          `${row.kernel} ${formatRate(row.rate)} vs ${formatRate(peer.rate)} Mel/s = ${times(row.rate, peer.rate)}${fasterKernel(`quantize/${format}/${threads}/sparq-q-`, row)}`,
        );
    }
  }

  lines.push(...sparseSuites.verdicts(defaultTier));
  console.log('\n== targets');
  for (const line of lines) console.log(line);
  if (lines.length === 0) console.log('  (none measured in this run)');
  return lines;
}

module.exports = { summary };
