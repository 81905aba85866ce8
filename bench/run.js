'use strict';
// Benchmarks of sparq's int8 GEMM family and blockwise quantization against onnxruntime-node
// (benchmark.js suites).
//
//   cd bench && npm install --ignore-scripts && node run.js [--quick] [--filter <regex>]
//       [--threads 1,2] [--json <file>] [--watchdog <seconds>]
//
// Suites: int8 GEMM per shape and thread count, a cold GEMV whose weights come from
// DRAM, and a tiny call; then quantize/dequantize per format, the fused quantized matmul,
// a cold q4_0 GEMV against a plain DRAM read, and an accuracy table. Each row is one
// benchmark.js benchmark; rates are computed from the median of its samples. See README.md
// for the columns. Then the dense f32 and sparse suites (sparse-suites.js) and the pool placement
// suite (pool-suites.js).
//
// Files: config.js (options, sizes), harness.js (watchdog, peers, rows and tables), data.js
// (operands, checks), int8-suites.js, quant-suites.js, qmatmul-suites.js, targets.js (verdicts).

const os = require('node:os');
const fs = require('node:fs');
const path = require('node:path');
const quantPeers = require('./quant-peers');
const { A_ZERO_POINT, CONFIG, args } = require('./config');
const { Table, aliases, findResult, ort, ortBefore, ortLoad, ortOutput, ortSessionOptions, progress, reference, restoreSparqDefaults, results, sparq, sparqBefore, sparqLoad, sparqTiers, tryFirstCall, withOrtSessions } = require('./harness');
const { check } = require('./data');
const { coldGemv, gemmShape, tinyCall } = require('./int8-suites');
const { accuracy, qaccuracy, quantizeSuites } = require('./quant-suites');
const { qcoldGemv, qmatmulShape } = require('./qmatmul-suites');
const { summary } = require('./targets');
const sparseSuites = require('./sparse-suites');
const poolSuites = require('./pool-suites');
const modelSuites = require('./model-suites');
const lowRankSuites = require('./lowrank-suites');
const clusterSuites = require('./cluster-suites');
const kquantSuites = require('./kquant-suites');

// ---------------------------------------------------------------------------

function loadText() {
  const [one, five] = os.loadavg();
  return `${one.toFixed(2)} (1 min), ${five.toFixed(2)} (5 min) on ${os.availableParallelism?.() ?? os.cpus().length} cores`;
}

async function main() {
  const started = Date.now();
  const tiers = sparqTiers();
  const defaultTier = sparq ? sparq.isa() : null;
  console.log('sparq benchmarks: int8 GEMM and blockwise quantization');
  console.log(`  node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.availableParallelism?.() ?? os.cpus().length}`);
  if (sparq) {
    const info = sparq.cpuInfo();
    const addon = process.env.SPARQ_NATIVE ? `, addon ${process.env.SPARQ_NATIVE} (SPARQ_NATIVE)` : '';
    console.log(`  sparq: built [${info.built.join(', ')}], supported [${info.supported.join(', ')}], default isa ${sparq.isa()}, ${sparq.threads()} threads${addon}`);
  } else {
    console.log(`  sparq: not loaded (${sparqLoad.error}); only peers run`);
  }
  console.log(`  onnxruntime-node: ${ort ? ort.env.versions?.node ?? 'loaded' : `not loaded (${ortLoad.error})`}`);
  console.log(
    `  mode: ${args.quick ? 'quick' : 'full'}; benchmark.js minSamples ${CONFIG.bench.minSamples}, maxTime ${CONFIG.bench.maxTime} s;` +
      ` a_zero_point ${A_ZERO_POINT}; JS rows capped at ${CONFIG.jsOpsBudget / 2 ** 20} Mi ops per call` +
      (args.filter ? `; filter /${args.filter.source}/i` : ''),
  );

  const loadBefore = os.loadavg()[0];
  console.log(`  load average before the run: ${loadText()} (other work on the machine skews timings, 2-thread rows most)`);

  for (const [m, k, n] of CONFIG.shapes) await gemmShape(m, k, n, tiers);
  await coldGemv(tiers);
  await tinyCall(tiers);
  await quantizeSuites(tiers);
  for (const spec of CONFIG.quant.matmul) await qmatmulShape(spec, tiers);
  await qcoldGemv(tiers);
  await qaccuracy();
  // Dense f32 and sparse CSR suites (sparse-suites.js), with the helpers above.
  await sparseSuites.run({ args, sparq, reference, ort, tiers, Table, check, tryFirstCall, progress, withOrtSessions, ortOutput,
    ortSessionOptions, ortBefore, sparqBefore, restoreSparqDefaults, findResult, aliases, quantPeers });
  // Where the pool's workers run (pool-suites.js): interleaved rounds per pinning mode and machine load.
  await poolSuites.run({ args, sparq, ort, quantPeers, ortSessionOptions, progress });
  // Low-rank layers against the dense ones they replace: the break-even ranks (lowrank-suites.js).
  await lowRankSuites.run({ args, sparq, progress });
  // Clustered weights on the lookup-table kernel: cold GEMV against a DRAM read, warm against the 4-bit formats (cluster-suites.js).
  await clusterSuites.run({ args, sparq, progress });
  // K-quants against ggml built from node-llama-cpp's prebuilt library (kquant-suites.js).
  await kquantSuites.run({ args, sparq, progress });
  // Universal Sentence Encoder-lite end to end against its own runtime (model-suites.js).
  await modelSuites.run({ args, sparq, progress });
  const targets = summary(defaultTier);
  if (loadBefore >= 0.5) {
    console.log(`  (the machine was busy before the run, load ${loadBefore.toFixed(2)}: rerun a doubtful suite alone with --filter)`);
  }
  console.log(`\n(total ${((Date.now() - started) / 1000).toFixed(0)} s; load average now ${loadText()}, this run included)`);

  if (args.json) {
    const file = path.resolve(args.json);
    const environment = {
      node: process.version,
      cpu: os.cpus()[0]?.model,
      sparq: sparq ? sparq.cpuInfo() : { error: sparqLoad.error },
      ort: ort ? ort.env.versions : { error: ortLoad.error },
      config: CONFIG,
      date: new Date().toISOString(),
      loadAverageAtEnd: os.loadavg(),
    };
    fs.writeFileSync(file, JSON.stringify({ environment, results, accuracy, targets }, null, 2));
    console.log(`results written to ${file}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
