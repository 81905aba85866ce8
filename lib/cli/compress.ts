/**
 * `sparq compress [[IN] OUT] --recipe r.json`: USE-lite (the npm package's, or one sparq saved to IN)
 * compressed by a JSON recipe (lib/compress/compress.ts), a report per layer, then the result
 * through the evaluation harness's quick subset next to the package's f32 model (the demo's data
 * and columns); with OUT, the compressed model saved there (GGUF or safetensors,
 * lib/models/use-lite/file.ts). Needs the demo's devDependencies (model, Brown, SpamAssassin).
 */
import { readFileSync } from 'node:fs';
import { checkRecipe, compress } from '../compress/compress';
import { calibrationSentences, Evaluation } from '../eval/evaluate';
import { loadUseLite } from '../models/use-lite/model';
import { saveUseLite, withSavedWeights } from '../models/use-lite/file';
import { Progress } from './progress';

export function runCompress(opts: { recipe: string; calibration: number; progress: boolean; json: boolean; input?: string; out?: string }): void {
  let recipe;
  try {
    recipe = checkRecipe(JSON.parse(readFileSync(opts.recipe, 'utf8')));
  } catch (e) {
    throw new Error(`--recipe ${opts.recipe}: ${(e as Error).message}`);
  }
  const progress = new Progress(opts.progress);
  const onProgress = (step: string, done: number, total: number) => progress.update(step, done, total);
  const f32 = loadUseLite();
  const source = opts.input === undefined ? undefined : withSavedWeights(f32, opts.input);
  const t0 = performance.now();
  const { model, report } = compress(source ?? f32, recipe, calibrationSentences({ count: opts.calibration }), { onProgress });
  const seconds = (performance.now() - t0) / 1000;
  source?.dispose();
  if (opts.out !== undefined) saveUseLite(model, opts.out);
  const evaluation = Evaluation.prepare(f32, { sentencesPerDocument: 4, emails: 600, trainEmails: 600, emailChars: 400, onProgress });
  const result = evaluation.evaluate(model, { label: 'compressed' });
  progress.done();
  if (opts.json) {
    console.log(JSON.stringify({ input: opts.input ?? null, recipe, seconds, report, f32: evaluation.reference, result }, null, 2));
    return;
  }
  console.log(`USE-lite${opts.input ? ` from ${opts.input}` : ''} compressed by ${opts.recipe} in ${seconds.toFixed(1)} s (${opts.calibration} calibration sentences)${opts.out ? `, saved to ${opts.out}` : ''}`);
  console.log('');
  console.log(`  ${'layer'.padEnd(16)}${'shape'.padStart(10)}  ${'format'.padEnd(9)}${'sparsity'.padStart(9)}${'bits'.padStart(7)}${'recon'.padStart(8)}  steps`);
  for (const r of report) {
    console.log(`  ${r.layer.padEnd(16)}${`${r.n}×${r.k}`.padStart(10)}  ${r.format.padEnd(9)}${(100 * r.sparsity).toFixed(1).padStart(8)}%${r.bits.toFixed(2).padStart(7)}${r.reconstructionError.toFixed(4).padStart(8)}  ${r.methods.join(' → ')}`);
  }
  console.log('');
  console.log(`  ${''.padEnd(12)}${'MB'.padStart(7)}${'cos mean'.padStart(10)}${'cos p1'.padStart(9)}${'spam'.padStart(8)}${'genre'.padStart(8)}`);
  for (const [label, r] of [['f32', evaluation.reference], ['compressed', result]] as const) {
    console.log(`  ${label.padEnd(12)}${(r.bytes / 1e6).toFixed(2).padStart(7)}${r.cosineMean.toFixed(5).padStart(10)}${r.cosineP1.toFixed(5).padStart(9)}${`${(100 * r.spamAccuracy).toFixed(1)}%`.padStart(8)}${`${(100 * r.genreAccuracy).toFixed(1)}%`.padStart(8)}`);
  }
  console.log(`  (the demo's quick harness: ${evaluation.sentences.length} held-out sentences, ${evaluation.emails.length} e-mails; recon is ‖XWᵀ − XŴᵀ‖/‖XWᵀ‖ on the calibration data)`);
  model.dispose();
}
