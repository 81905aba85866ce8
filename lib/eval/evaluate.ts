/**
 * The evaluation harness every compression result is reported with (DESIGN.md §8): a USE-lite
 * variant against the f32 model on real data, with fixed seeded splits.
 *
 *   agreement   cosine of each of ≥ 2000 Brown sentences' embeddings to the f32 model's: mean, 1st
 *               percentile, worst
 *   spam        accuracy on held-out SpamAssassin e-mails of one logistic-regression probe trained
 *               once on the f32 model's embeddings of a train split, applied unchanged to the variant
 *   genre       Brown genre (15) of held-out documents by nearest centroid: a document is the mean
 *               of its sentences' embeddings, centroids come from the f32 model on train documents
 *   size        weight bytes of the dense layers
 *   speed       tokens/s at batch 1 and 32 on 1 and 2 threads, and where the time goes (per-op
 *               profile at batch 32)
 *
 * Splits: Brown documents are shuffled per genre with the seed and halved (the held-out half gets
 * the odd one); each document contributes its first `sentencesPerDocument` sentences of ≥ 4 words. E-mails
 * are shuffled with the seed: the first `emails` are held out, the next `trainEmails` train the probe.
 */
import { readBrown } from '../data/brown';
import { readSpamAssassin, type Email } from '../data/spam';
import { emptyProfile, UseLite, type EmbedProfile } from '../models/use-lite/model';
import { setThreads, threads as currentThreads } from '../runtime';
import { LogisticProbe } from './probe';
import { fail } from '../validate';
import { seededRandom, shuffled } from './random';

export interface EvaluationOptions {
  /** Seed of every split (default 1). */
  seed?: number;
  /** Sentences per Brown document (default 8: 250 held-out documents give 2000 sentences). */
  sentencesPerDocument?: number;
  /** Held-out e-mails (default 2000). */
  emails?: number;
  /** E-mails the probe is trained on (default 2000). */
  trainEmails?: number;
  /** Characters of each e-mail's text the model is given (default 1000, all that emailText keeps). */
  emailChars?: number;
  brownDir?: string;
  spamDir?: string;
  /** Called as the long steps advance. */
  onProgress?: (step: string, done: number, total: number) => void;
}

export interface SpeedOptions {
  /** Sentences timed (default 64 held-out Brown sentences). */
  sentences?: number;
  /** Seconds per setting, at least one pass (default 0.5). */
  seconds?: number;
  threads?: number[];
  batches?: number[];
}

export interface SpeedRow {
  batch: number;
  threads: number;
  tokensPerSecond: number;
}

export interface EvaluationResult {
  bytes: number;
  cosineMean: number;
  cosineP1: number;
  cosineMin: number;
  spamAccuracy: number;
  genreAccuracy: number;
  speed?: { rows: SpeedRow[]; tokens: number; profile: EmbedProfile };
}

interface Documents {
  genres: string[];
  sentences: string[];
  /** Document i is sentences [i·S, (i + 1)·S). */
  labels: Int32Array;
}

const BATCH = 32;

/** Sentences of a Brown document from this one on are calibration data, never evaluation data. */
export const CALIBRATION_FROM = 16;

/**
 * A seeded sample of real sentences for calibration (lib/compress), disjoint from every evaluation
 * split: Brown sentences of ≥ 4 words from the 17th on of each document, where the harness never
 * looks (it takes at most the first 16).
 */
export function calibrationSentences(opts: { count?: number; seed?: number; brownDir?: string } = {}): string[] {
  const { count = 256, seed = 1 } = opts;
  const pool = readBrown({ dir: opts.brownDir }).flatMap((d) => d.sentences.filter((sentence) => sentence.split(' ').length >= 4).slice(CALIBRATION_FROM));
  return shuffled(pool, seededRandom(seed + 104729)).slice(0, count);
}

/** What the harness measures: anything that embeds texts into unit rows of 512 (USE-lite, a distilled student). */
export interface Embedder {
  embed(texts: readonly string[]): Float32Array;
  readonly byteLength: number;
}

/** Embeddings of many texts, 32 at a time, with progress. */
function embedAll(model: Embedder, texts: string[], step: string, onProgress?: EvaluationOptions['onProgress']): Float32Array {
  const out = new Float32Array(texts.length * 512);
  for (let i = 0; i < texts.length; i += BATCH) {
    out.set(model.embed(texts.slice(i, i + BATCH)), i * 512);
    onProgress?.(step, Math.min(i + BATCH, texts.length), texts.length);
  }
  return out;
}

/** Per-document means of S consecutive rows, unit length. */
function documentVectors(embeddings: Float32Array, documents: number, s: number): Float32Array {
  const out = new Float32Array(documents * 512);
  for (let i = 0; i < documents; i++) {
    const v = out.subarray(i * 512, (i + 1) * 512);
    for (let t = 0; t < s; t++) for (let j = 0; j < 512; j++) v[j] = v[j]! + embeddings[(i * s + t) * 512 + j]!;
    normalize(v);
  }
  return out;
}

/** Scales v to unit length in place (a zero vector stays zero). */
export function normalize(v: Float32Array): void {
  let squares = 0;
  for (const x of v) squares += x * x;
  const inverse = squares > 0 ? 1 / Math.sqrt(squares) : 0;
  for (let j = 0; j < v.length; j++) v[j] = v[j]! * inverse;
}

function dot(a: Float32Array, i: number, b: Float32Array, j: number): number {
  let sum = 0;
  for (let p = 0; p < 512; p++) sum += a[i * 512 + p]! * b[j * 512 + p]!;
  return sum;
}

export class Evaluation {
  readonly options: Required<Omit<EvaluationOptions, 'brownDir' | 'spamDir' | 'onProgress'>>;
  /** The held-out Brown sentences (cosine and genre). */
  readonly sentences: string[];
  /** The held-out e-mails' texts and labels. */
  readonly emails: string[];
  readonly spamLabels: Uint8Array;
  #reference?: EvaluationResult;
  readonly #referenceEmbeddings: Float32Array;
  readonly #probe: LogisticProbe;
  readonly #centroids: Float32Array;
  readonly #test: Documents;
  readonly #onProgress?: EvaluationOptions['onProgress'];

  private constructor(init: {
    options: Evaluation['options'];
    test: Documents;
    emails: string[];
    spamLabels: Uint8Array;
    referenceEmbeddings: Float32Array;
    probe: LogisticProbe;
    centroids: Float32Array;
    onProgress?: EvaluationOptions['onProgress'];
  }) {
    this.options = init.options;
    this.#test = init.test;
    this.sentences = init.test.sentences;
    this.emails = init.emails;
    this.spamLabels = init.spamLabels;
    this.#referenceEmbeddings = init.referenceEmbeddings;
    this.#probe = init.probe;
    this.#centroids = init.centroids;
    this.#onProgress = init.onProgress;
  }

  /** Reads the data, embeds the splits with the f32 model `reference`, trains the probe and centroids. */
  static prepare(reference: UseLite, opts: EvaluationOptions = {}): Evaluation {
    const options = { seed: 1, sentencesPerDocument: 8, emails: 2000, trainEmails: 2000, emailChars: 1000, ...opts };
    const { seed, sentencesPerDocument: s, onProgress } = options;
    if (!Number.isInteger(s) || s < 1 || s > CALIBRATION_FROM) {
      fail('range', 'Evaluation.prepare', 'sentencesPerDocument', `an integer in [1, ${CALIBRATION_FROM}] (later sentences are calibration data)`, s);
    }
    const random = seededRandom(seed);
    // Brown: per genre, shuffled documents halved.
    const byGenre = new Map<string, string[][]>();
    for (const document of readBrown({ dir: opts.brownDir })) {
      const sentences = document.sentences.filter((sentence) => sentence.split(' ').length >= 4).slice(0, s);
      if (sentences.length < s) continue;
      byGenre.set(document.genre, [...(byGenre.get(document.genre) ?? []), sentences]);
    }
    const genres = [...byGenre.keys()].sort();
    const split = (half: 0 | 1): Documents => {
      const sentences: string[] = [], labels: number[] = [];
      for (const [g, genre] of genres.entries()) {
        const documents = shuffled(byGenre.get(genre)!, seededRandom(seed * 7919 + g));
        const cut = Math.floor(documents.length / 2);
        for (const document of half === 0 ? documents.slice(0, cut) : documents.slice(cut)) {
          sentences.push(...document);
          labels.push(g);
        }
      }
      return { genres, sentences, labels: Int32Array.from(labels) };
    };
    const train = split(0), test = split(1);
    // E-mails: shuffled, held out first, then the probe's train split.
    const emails = shuffled(readSpamAssassin({ dir: opts.spamDir }), random);
    const text = (e: Email) => e.text.slice(0, options.emailChars);
    const held = emails.slice(0, options.emails), trainEmails = emails.slice(options.emails, options.emails + options.trainEmails);
    const spamLabels = Uint8Array.from(held, (e) => (e.spam ? 1 : 0));
    const trainLabels = Uint8Array.from(trainEmails, (e) => (e.spam ? 1 : 0));

    const trainDocs = documentVectors(embedAll(reference, train.sentences, 'f32: train documents', onProgress), train.labels.length, s);
    const centroids = new Float32Array(genres.length * 512);
    train.labels.forEach((g, i) => {
      for (let j = 0; j < 512; j++) centroids[g * 512 + j] = centroids[g * 512 + j]! + trainDocs[i * 512 + j]!;
    });
    for (let g = 0; g < genres.length; g++) normalize(centroids.subarray(g * 512, (g + 1) * 512));
    const probe = LogisticProbe.train(embedAll(reference, trainEmails.map(text), 'f32: train e-mails', onProgress), trainEmails.length, 512, trainLabels);
    const referenceEmbeddings = embedAll(reference, test.sentences, 'f32: held-out sentences', onProgress);
    const evaluation = new Evaluation({
      options: { seed, sentencesPerDocument: s, emails: options.emails, trainEmails: options.trainEmails, emailChars: options.emailChars },
      test,
      emails: held.map(text),
      spamLabels,
      referenceEmbeddings,
      probe,
      centroids,
      onProgress,
    });
    evaluation.#reference = evaluation.#measure(reference, referenceEmbeddings, 'f32');
    return evaluation;
  }

  /** The f32 model's own results on the same data (cosine 1; its spam and genre accuracy, size). */
  get reference(): EvaluationResult {
    return this.#reference!;
  }

  /** The variant's agreement with the f32 model, task accuracies, size, and (when asked) speed. */
  evaluate(variant: Embedder, opts: { speed?: boolean | SpeedOptions; label?: string } = {}): EvaluationResult {
    const label = opts.label ?? 'variant';
    const result = this.#measure(variant, embedAll(variant, this.sentences, `${label}: held-out sentences`, this.#onProgress), label);
    if (opts.speed) {
      if (!(variant instanceof UseLite)) fail('range', 'Evaluation.evaluate', 'options.speed', 'a UseLite model (speed is measured on its batches and threads)', 'another embedder');
      result.speed = measureSpeed(variant, this.sentences.slice(0, 64), opts.speed === true ? {} : opts.speed);
    }
    return result;
  }

  #measure(model: Embedder, embeddings: Float32Array, label: string): EvaluationResult {
    const count = this.sentences.length;
    const cosines = new Float64Array(count);
    const reference = this.#referenceEmbeddings;
    for (let i = 0; i < count; i++) {
      cosines[i] = dot(embeddings, i, reference, i) / Math.sqrt(dot(embeddings, i, embeddings, i) * dot(reference, i, reference, i));
    }
    const sorted = cosines.slice().sort();
    const documents = documentVectors(embeddings, this.#test.labels.length, this.options.sentencesPerDocument);
    let right = 0;
    this.#test.labels.forEach((g, i) => {
      let best = -1, bestScore = -Infinity;
      for (let c = 0; c < this.#test.genres.length; c++) {
        const score = dot(documents, i, this.#centroids, c);
        if (score > bestScore) [best, bestScore] = [c, score];
      }
      if (best === g) right++;
    });
    const emails = embedAll(model, this.emails, `${label}: held-out e-mails`, this.#onProgress);
    return {
      bytes: model.byteLength,
      cosineMean: cosines.reduce((a, b) => a + b, 0) / count,
      cosineP1: sorted[Math.floor(0.01 * (count - 1))]!,
      cosineMin: sorted[0]!,
      spamAccuracy: this.#probe.accuracy(emails, this.emails.length, this.spamLabels),
      genreAccuracy: right / this.#test.labels.length,
    };
  }
}

/** Tokens/s of `model` on `texts` per batch size and thread count, and a per-op profile at batch 32. */
export function measureSpeed(model: UseLite, texts: string[], opts: SpeedOptions = {}): NonNullable<EvaluationResult['speed']> {
  const { seconds = 0.5, threads = [1, 2], batches = [1, 32] } = opts;
  const sample = texts.slice(0, opts.sentences ?? 64);
  const tokens = sample.reduce((sum, text) => sum + Math.min(128, model.tokenizer.encode(text).length), 0);
  const before = currentThreads();
  const rows: SpeedRow[] = [];
  const pass = (batch: number, profile?: EmbedProfile) => {
    for (let i = 0; i < sample.length; i += batch) model.embed(sample.slice(i, i + batch), { profile });
  };
  try {
    for (const t of threads) {
      setThreads(t);
      for (const batch of batches) {
        pass(batch); // warm-up
        let passes = 0;
        const t0 = performance.now();
        do {
          pass(batch);
          passes++;
        } while (performance.now() - t0 < seconds * 1000);
        rows.push({ batch, threads: t, tokensPerSecond: (passes * tokens) / ((performance.now() - t0) / 1000) });
      }
    }
  } finally {
    setThreads(before);
  }
  const profile = emptyProfile();
  pass(32, profile);
  return { rows, tokens, profile };
}

/** {@link Evaluation.prepare} against `model`'s own f32 form, then {@link Evaluation.evaluate}. */
export function evaluate(model: UseLite, opts: EvaluationOptions & { speed?: boolean | SpeedOptions } = {}): EvaluationResult {
  const reference = model.withFormats({ format: 'f32' });
  try {
    return Evaluation.prepare(reference, opts).evaluate(model, { speed: opts.speed });
  } finally {
    reference.dispose();
  }
}
