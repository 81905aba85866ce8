/**
 * `sparq student`: a small student distilled from USE-lite on real sentences (lib/compress/student.ts),
 * measured with the demo's quick harness next to its teacher, timed against it, and the same student
 * trained as a spam classifier three ways: on labels alone (no teacher), on the teacher's logits
 * alone, and on both. Needs the demo's devDependencies (model, Brown, SpamAssassin).
 */
import { Student, trainStudent } from '../compress/student';
import { readSpamAssassin } from '../data/spam';
import { calibrationSentences, Evaluation, type EvaluationResult } from '../eval/evaluate';
import { LogisticProbe } from '../eval/probe';
import { seededRandom, shuffled } from '../eval/random';
import { loadUseLite } from '../models/use-lite/model';
import { setThreads, threads } from '../runtime';
import { Progress } from './progress';

const SUBSET = { sentencesPerDocument: 4, emails: 600, trainEmails: 600, emailChars: 400 };

function embedAll(embed: (texts: string[]) => Float32Array, texts: string[]): Float32Array {
  const out = new Float32Array(texts.length * 512);
  for (let i = 0; i < texts.length; i += 32) out.set(embed(texts.slice(i, i + 32)), i * 512);
  return out;
}

/** Median tokens/s of `embed` over the texts in batches of 32, one thread, 3 rounds. */
function tokensPerSecond(embed: (texts: string[]) => unknown, texts: string[], tokens: number): number {
  const before = threads();
  setThreads(1);
  try {
    const rates: number[] = [];
    for (let round = 0; round < 3; round++) {
      const t0 = performance.now();
      for (let i = 0; i < texts.length; i += 32) embed(texts.slice(i, i + 32));
      rates.push(tokens / ((performance.now() - t0) / 1000));
    }
    return rates.sort((a, b) => a - b)[1]!;
  } finally {
    setThreads(before);
  }
}

export function runStudent(opts: { sentences: number; epochs: number; hidden: number; progress: boolean; json: boolean }): void {
  const progress = new Progress(opts.progress);
  const onProgress = (step: string, done: number, total: number) => progress.update(step, done, total);
  const f32 = loadUseLite(), int8 = f32.withFormats({ format: 'int8' });
  const evaluation = Evaluation.prepare(f32, { ...SUBSET, onProgress });
  const { table, vocabulary, d } = f32.tokenEmbeddings();

  // The embedding student: cosine to the teacher on Brown sentences the harness never sees.
  const pool = calibrationSentences({ count: opts.sentences + 1000, seed: 2 });
  const trainTexts = pool.slice(0, opts.sentences), validTexts = pool.slice(opts.sentences);
  progress.update('teacher embeddings', 0, 1);
  const embedTeacher = (texts: string[]) => embedAll((t) => f32.embed(t), texts);
  const train = { texts: trainTexts, teacher: embedTeacher(trainTexts) }, validation = { texts: validTexts, teacher: embedTeacher(validTexts) };
  const student = new Student(f32.tokenizer, table, vocabulary, d, opts.hidden, 512);
  const t0 = performance.now();
  const record = trainStudent(student, train, {
    loss: 'cosine',
    epochs: opts.epochs,
    validation,
    onProgress: (epoch, done, total) => progress.update(`student: epoch ${epoch + 1}`, done, total),
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  const distilled = evaluation.evaluate(student, { label: 'student' });
  const quantized = evaluation.evaluate(int8, { label: 'int8' });

  // Spam classifiers of the same shape: labels only, the teacher's logits only, both.
  const held = new Set(evaluation.emails);
  const emails = shuffled(readSpamAssassin(), seededRandom(5))
    .map((e) => ({ text: e.text.slice(0, SUBSET.emailChars), spam: e.spam }))
    .filter((e) => !held.has(e.text))
    .slice(0, 2000);
  const cut = Math.floor(emails.length * 0.9);
  const labelsOf = (list: typeof emails) => Int32Array.from(list, (e) => (e.spam ? 1 : 0));
  const teacherEmbeddings = embedTeacher(emails.map((e) => e.text));
  const probe = LogisticProbe.train(teacherEmbeddings, emails.length, 512, Uint8Array.from(labelsOf(emails)));
  // The teacher's logits as two classes: [0, w·x + b].
  const logits = new Float32Array(emails.length * 2);
  for (let i = 0; i < emails.length; i++) {
    let z = probe.bias;
    for (let j = 0; j < 512; j++) z += probe.weights[j]! * teacherEmbeddings[i * 512 + j]!;
    logits[i * 2 + 1] = z;
  }
  const split = (from: number, to: number, alpha: number) => ({
    texts: emails.slice(from, to).map((e) => e.text),
    teacher: alpha < 1 ? logits.slice(from * 2, to * 2) : null,
    labels: alpha > 0 ? labelsOf(emails.slice(from, to)) : null,
  });
  const classifiers = ([['labels only (no teacher)', 1], ["teacher's logits only", 0], ['labels + teacher (α = 0.5, T = 2)', 0.5]] as const).map(([label, alpha]) => {
    const classifier = new Student(f32.tokenizer, table, vocabulary, d, opts.hidden, 2, 3);
    trainStudent(classifier, split(0, cut, alpha), {
      loss: 'distill',
      alpha,
      temperature: 2,
      epochs: opts.epochs,
      validation: split(cut, emails.length, alpha),
      onProgress: (epoch, done, total) => progress.update(`classifier (${label}): epoch ${epoch + 1}`, done, total),
    });
    const out = classifier.logits(evaluation.emails);
    let right = 0;
    evaluation.spamLabels.forEach((y, i) => (right += (out[i * 2 + 1]! > out[i * 2]! ? 1 : 0) === y ? 1 : 0));
    return { label, accuracy: right / evaluation.emails.length };
  });

  const timed = evaluation.sentences.slice(0, 256);
  const tokens = timed.reduce((sum, text) => sum + Math.min(128, f32.tokenizer.encode(text).length), 0);
  const speed = {
    f32: tokensPerSecond((t) => f32.embed(t), timed, tokens),
    int8: tokensPerSecond((t) => int8.embed(t), timed, tokens),
    student: tokensPerSecond((t) => student.embed(t), timed, tokens),
  };
  progress.done();
  const rows: Array<[string, EvaluationResult, number]> = [['USE-lite f32 (teacher)', evaluation.reference, speed.f32], ['USE-lite int8', quantized, speed.int8], ['student (distilled)', distilled, speed.student]];
  if (opts.json) {
    console.log(JSON.stringify({ options: opts, trainSeconds, record, rows: rows.map(([label, r, s]) => ({ label, ...r, tokensPerSecond: s })), classifiers }, null, 2));
    int8.dispose();
    return;
  }
  console.log(`A student distilled from USE-lite: mean of token embeddings → ${d}→${opts.hidden} ReLU → ${opts.hidden}→512`);
  console.log(`trained on ${opts.sentences} Brown sentences for ${record.trainLoss.length} epochs (best ${record.bestEpoch + 1}, validation cosine loss ${Math.min(...record.validationLoss).toFixed(4)}) in ${trainSeconds.toFixed(0)} s`);
  console.log('');
  console.log(`  ${''.padEnd(26)}${'MB'.padStart(7)}${'cos mean'.padStart(10)}${'cos p1'.padStart(9)}${'spam'.padStart(8)}${'genre'.padStart(8)}${'tok/s 1t'.padStart(10)}`);
  for (const [label, r, s] of rows) {
    console.log(`  ${label.padEnd(26)}${(r.bytes / 1e6).toFixed(2).padStart(7)}${r.cosineMean.toFixed(4).padStart(10)}${r.cosineP1.toFixed(4).padStart(9)}${`${(100 * r.spamAccuracy).toFixed(1)}%`.padStart(8)}${`${(100 * r.genreAccuracy).toFixed(1)}%`.padStart(8)}${s.toFixed(0).padStart(10)}`);
  }
  console.log('');
  console.log(`  spam classifiers of the student's shape (${cut} training e-mails, ${evaluation.emails.length} held out; the teacher's probe: ${(100 * evaluation.reference.spamAccuracy).toFixed(1)}%):`);
  for (const c of classifiers) console.log(`    ${c.label.padEnd(36)}${(100 * c.accuracy).toFixed(1)}%`);
  console.log(`  (the demo's quick harness: ${evaluation.sentences.length} held-out sentences; spam for the embedding rows is the teacher's probe applied unchanged)`);
  int8.dispose();
}
